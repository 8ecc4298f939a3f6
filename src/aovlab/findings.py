"""Findings for the report's index: one sentence per result and its effect on margin.

The index of a monthly report leads with the three most important findings across all
analyses, ranked by their effect on margin. Each notebook hands its results to
:func:`aovlab.report.save_results`, which keeps one :class:`Finding` per result:

- a result that prices a decision (a price rise on the best-sellers, a free-shipping
  threshold, a spend-threshold offer, a bundle, the loyalty programme) gets a sentence of
  its own and ``margin_per_month``: its margin change spread over the months of the
  analysis's period, so that effects measured over different periods compare;
- any other result gets the first sentence of its headline and no margin effect;
- an analysis the data could not answer gives no finding.

:func:`top` ranks them: findings with a margin effect first, the largest in absolute
value first (a loss to avoid counts as much as a gain of the same size), then the others
in the order the notebooks gave them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aovlab import fmt, periods
from aovlab.errors import AovlabInputError

__all__ = ["Finding", "of", "per_month", "top"]


@dataclass(frozen=True)
class Finding:
    """One sentence computed from a result, and its margin effect per month (if any)."""

    text: str
    margin_per_month: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON, the margin rounded to cents.

        >>> Finding("x", 12.3456).to_dict()
        {'text': 'x', 'margin_per_month': 12.35}
        """
        margin = None if self.margin_per_month is None else round(self.margin_per_month, 2)
        return {"text": self.text, "margin_per_month": margin}


def months_in(period: str) -> float | None:
    """How many calendar months a period label spans (whole months counted exactly).

    >>> months_in("2025-11..2026-10"), months_in("2026Q3"), months_in("2026-10")
    (12, 3, 1)
    >>> round(months_in("2026-10-01..2026-10-15"), 3), months_in("not a period")
    (0.493, None)
    """
    try:
        window = periods.parse_window(period)
    except AovlabInputError:
        return None
    start, end = window.start, window.end
    if start.day == 1 and end.day == 1:
        return (end.year - start.year) * 12 + end.month - start.month
    return window.days / (365.2425 / 12)


def per_month(amount: Any, period: str) -> float | None:
    """An amount over a period as an amount per month (None when either is unknown).

    >>> per_month(18_000, "2025-11..2026-10"), per_month(None, "2026-10")
    (1500.0, None)
    """
    months = months_in(period)
    if amount is None or not months:
        return None
    return float(amount) / months


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9'\"€£$(])")


def first_sentence(text: str) -> str:
    """The first sentence of a headline (decimals and abbreviations are not cut).

    >>> first_sentence("AOV rose 4.4 % to €120.92. The mix barely moved.")
    'AOV rose 4.4 % to €120.92.'
    """
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]


def _money(value: float, currency: str | None) -> str:
    return fmt.money(abs(value), currency, digits=0)


def _whatif(result: Any) -> Finding | None:
    data = result.to_dict()
    # Several price changes tried: each in "changes"; one: its figures at the top level.
    tried = data.get("changes") or [data]
    options = [c for c in tried if c.get("margin_change") is not None and "change" in c]
    if not options:
        return None
    best = max(options, key=lambda c: c["margin_change"])
    monthly = per_month(best["margin_change"], data.get("period", ""))
    if monthly is None:
        return None
    units = best["after"]["units"] / best["before"]["units"] - 1 if best["before"]["units"] else 0
    skus = len(data.get("skus", []))
    verb = "add" if monthly >= 0 else "lose"
    move = "Raising" if best["change"] >= 0 else "Cutting"
    change = fmt.pct(abs(best["change"]), digits=0)
    return Finding(
        f"{move} the {skus} best-sellers' prices by {change} would {verb} about "
        f"{_money(monthly, result.currency)} of margin a month, with "
        f"{fmt.pct(abs(units))} {'fewer' if units < 0 else 'more'} units sold.",
        monthly,
    )


def _threshold(result: Any) -> Finding | None:
    rows = [r for r in result.to_dict().get("thresholds", []) if r.get("margin_change") is not None]
    monthly_best = None
    if rows:
        best = max(rows, key=lambda r: r["margin_change"])
        monthly_best = per_month(best["margin_change"], result.period)
    if monthly_best is None or not rows:
        return None
    if monthly_best <= 0:
        return Finding(
            f"None of the {len(rows)} free-shipping thresholds tried would add margin.",
            monthly_best,
        )
    return Finding(
        f"A free-shipping threshold of {fmt.money(best['threshold'], result.currency)} would "
        f"add about {_money(monthly_best, result.currency)} of margin a month if "
        f"{fmt.pct(result.top_up_share_used, digits=0)} of the orders within reach top up.",
        monthly_best,
    )


def _offer(result: Any) -> Finding | None:
    monthly = per_month(result.margin_change, result.period)
    if monthly is None:
        return None
    offer = (
        f"'{fmt.money(result.discount, result.currency)} off over "
        f"{fmt.money(result.threshold, result.currency)}'"
    )
    verb = "add" if monthly >= 0 else "cost"
    return Finding(
        f"The offer {offer} would {verb} about {_money(monthly, result.currency)} of margin "
        f"a month if {fmt.pct(result.top_up_share, digits=0)} of the orders within reach top "
        "up.",
        monthly,
    )


def _bundle(result: Any) -> Finding | None:
    data = result.to_dict()
    # A month as the bundle's own figures count it: the months of the window with data.
    change, months = result.margin_change, result.months
    if change is None or not months:
        return None
    monthly = float(change) / months
    names = " and ".join(str(i.get("product") or i.get("sku")) for i in data.get("items", []))
    verb = "add" if monthly >= 0 else "lose"
    discount = data.get("discount")
    what = f"A {fmt.pct(discount, digits=0)} bundle" if discount is not None else "A bundle"
    return Finding(
        f"{what} of {names} would {verb} about {_money(monthly, result.currency)} of margin "
        f"a month at a {fmt.pct(data.get('take_rate'), digits=0)} take rate (it pays from "
        f"{fmt.pct(data.get('break_even_take_rate'))}).",
        monthly,
    )


def _programme(result: Any) -> Finding | None:
    from aovlab.loyalty.programme import ProgrammeReturn

    programme = getattr(result, "programme", result)
    if not isinstance(programme, ProgrammeReturn):
        return None
    money = programme.currency
    net = programme.net
    figure = net if net is not None else programme.incremental_margin
    monthly = per_month(figure["estimate"], programme.period)
    low, high = (per_month(figure[k], programme.period) for k in ("ci_low", "ci_high"))
    if monthly is None:
        return None
    interval = (
        f" (95 % interval {fmt.money(low, money, digits=0)} to {fmt.money(high, money, digits=0)})"
        if low is not None and high is not None
        else ""
    )
    if net is not None:
        return Finding(
            f"After its cost, the loyalty programme {'earns' if monthly >= 0 else 'loses'} "
            f"about {_money(monthly, money)} of margin a month{interval}.",
            monthly,
        )
    return Finding(
        f"The loyalty programme adds about {_money(monthly, money)} of margin a month"
        f"{interval}, before its own cost.",
        monthly,
    )


#: The results that price a decision: (module, class, how to price one).
_PRICERS: tuple[tuple[str, str, Callable[[Any], Finding | None]], ...] = (
    ("aovlab.pricing.elasticity", "WhatIf", _whatif),
    ("aovlab.pricing.threshold", "Threshold", _threshold),
    ("aovlab.pricing.threshold", "SpendOffer", _offer),
    ("aovlab.bundles.margin", "BundleMargin", _bundle),
    ("aovlab.loyalty.impact", "LoyaltyImpact", _programme),
    ("aovlab.loyalty.programme", "ProgrammeReturn", _programme),
)


def _pricer(result: Any) -> Callable[[Any], Finding | None] | None:
    """How to price ``result``, if it prices a decision.

    A result of one of these classes means its module is imported; the others are not
    imported here (pricing would bring pyfixest and numba into every notebook's kernel).
    """
    for module, name, price in _PRICERS:
        kind = getattr(sys.modules.get(module), name, None)
        if kind is not None and isinstance(result, kind):
            return price
    return None


def of(result: Any) -> Finding | None:
    """The finding of one result: priced when it prices a decision, else its first sentence.

    None for an analysis the data could not answer, and for the month's KPIs (the index
    shows those as its key figures).

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> offer = aovlab.pricing.spend_offer(shop, threshold=100.0, discount=10.0,
    ...                                    when="2025-11..2026-10")
    >>> f = of(offer)
    >>> print(f.text)
    The offer '€10.00 off over €100.00' would cost about €6,605 of margin a month if 30 % of
    the orders within reach top up.
    >>> round(f.margin_per_month)
    -6605
    """
    from aovlab.metrics import KpiResult
    from aovlab.results import Result, Unavailable

    if not isinstance(result, Result) or isinstance(result, (Unavailable, KpiResult)):
        return None
    price = _pricer(result)
    found = price(result) if price is not None else None
    if found is not None:
        return found
    headline = result.headline
    return Finding(first_sentence(headline)) if headline else None


def top(findings: Iterable[tuple[Any, Finding]], n: int = 3) -> list[tuple[Any, Finding]]:
    """The ``n`` most important findings, each with what it came from.

    Findings with a margin effect come first, the largest in absolute value first; the
    others follow in the order given.

    >>> found = [("a", Finding("small", 10.0)), ("b", Finding("none")),
    ...          ("c", Finding("loss", -500.0)), ("d", Finding("gain", 200.0))]
    >>> [k for k, _ in top(found)]
    ['c', 'd', 'a']
    >>> [k for k, _ in top(found[:2])]
    ['a', 'b']
    """
    ranked = sorted(
        enumerate(findings),
        key=lambda item: (
            item[1][1].margin_per_month is None,
            -abs(item[1][1].margin_per_month or 0.0),
            item[0],
        ),
    )
    return [pair for _, pair in ranked[:n]]
