"""Loyalty: what the programme really changed, retention, lifetime value, and whether it pays.

Every client with a loyalty programme asks whether members spend more; the honest
answer separates who joins from what joining does. Each function answers one question
on the shop's own orders and returns a :class:`~aovlab.results.Result`; only aggregates
leave the engine:

- :func:`compare_members`: members against non-members in a period (customers, AOV,
  orders, revenue and margin per customer, repeat rate), with intervals: a comparison;
- :func:`effect`: what joining changed, a difference-in-differences by joining cohort
  against customers who had not joined (yet), with a bootstrap over customers and the
  event-time view;
- :func:`gap_split`: the members' AOV gap split into selection (who joins) and effect;
- :func:`retention`: retention by first-order cohort, members against non-members;
- :func:`clv`: customer lifetime value, BG/NBD and Gamma-Gamma fitted by maximum
  likelihood, checked on a holdout; historic CLV by cohort; CLV : CAC;
- :func:`programme_return`: the incremental margin against the programme's cost;
- :func:`impact`: the comparison, the effect, the split and the return in one result
  (``aovlab loyalty`` on the command line);
- :func:`membership`: who is a member and since when, lazily.
"""

from __future__ import annotations

from aovlab.loyalty.base import membership
from aovlab.loyalty.effect import LoyaltyEffect, effect
from aovlab.loyalty.impact import GapSplit, LoyaltyImpact, gap_split, impact
from aovlab.loyalty.lifetime import Clv, clv
from aovlab.loyalty.members import Members, compare_members
from aovlab.loyalty.programme import ProgrammeReturn, programme_return
from aovlab.loyalty.retention import Retention, retention

__all__ = [
    "Clv",
    "GapSplit",
    "LoyaltyEffect",
    "LoyaltyImpact",
    "Members",
    "ProgrammeReturn",
    "Retention",
    "clv",
    "compare_members",
    "effect",
    "gap_split",
    "impact",
    "membership",
    "programme_return",
    "retention",
]
