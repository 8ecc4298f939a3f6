"""The loyalty programme in one answer: the naive gap, what joining caused, and whether it pays.

:func:`impact` runs the three questions a client asks, in the order a report reads them:

1. members against non-members in the period (:func:`~aovlab.loyalty.members.compare_members`),
   a comparison;
2. what joining changed (:func:`~aovlab.loyalty.effect.effect`), with the members' gap
   after joining split into what was there before they joined (selection: who joins)
   and what joining added;
3. the programme's incremental margin against its cost
   (:func:`~aovlab.loyalty.programme.programme_return`).

The comparison needs only the customers table's membership. The effect needs join
dates and members with history before joining, and the return needs the effect and a
margin; where the data cannot answer a part, that part is
:class:`~aovlab.results.Unavailable` and says why, and the rest still stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from aovlab import fmt, periods
from aovlab.compare import namespace, small_frame
from aovlab.loyalty import base
from aovlab.loyalty.effect import N_BOOT, SEED, LoyaltyEffect, effect
from aovlab.loyalty.members import Members, compare_members
from aovlab.loyalty.programme import ProgrammeReturn, programme_return
from aovlab.model import ShopData
from aovlab.results import Formats, Result, Section, Unavailable, attempt

__all__ = ["IMPACT_FORMATS", "LoyaltyImpact", "impact"]

#: How the gap decomposition is shown.
IMPACT_FORMATS: Formats = {
    "gap_part": "text",
    "per_order": "change",
    "ci_low": "change",
    "ci_high": "change",
}

_PARTS = {
    "naive_gap": "Members against non-members in the period (a comparison)",
    "gap_after_joining": "Members after joining against customers not (yet) joined, same months",
    "selection": "  of which there before joining (who joins)",
    "effect": "  of which joining added (the programme's effect)",
}


@dataclass(repr=False)
class LoyaltyImpact(Result):
    """The comparison, the effect and the return together; ``table`` splits the AOV gap."""

    members: Members | None = None
    effect: LoyaltyEffect | Unavailable | None = None
    programme: ProgrammeReturn | Unavailable | None = None
    period: str = ""
    formats: ClassVar[Formats] = IMPACT_FORMATS

    def _headline(self) -> str:
        assert self.members is not None
        gap = self.members.naive_aov_gap["estimate"]
        money = fmt.in_currency(self.currency)
        parts = [
            f"Members' orders were {money[0](abs(gap or 0.0))} "
            f"{'larger' if (gap or 0.0) >= 0 else 'smaller'} than non-members' in "
            f"{self.period}, but who joins is not random."
            if gap is not None
            else self.members.headline
        ]
        eff = self.effect
        if isinstance(eff, LoyaltyEffect) and eff.post_aov_gap is not None:
            gap, sel = eff.post_aov_gap, eff.selection or 0.0
            a = eff.aov
            parts.append(
                f"Against customers who had not joined (yet) in the same months, members' "
                f"orders after joining were {money[0](abs(gap))} "
                f"{'larger' if gap >= 0 else 'smaller'}: {money[1](sel)} of that was there "
                f"before they joined (who joins) and {money[1](a['effect'])} "
                f"({fmt.pct(eff.confidence, digits=0)} interval {money[1](a['ci_low'])} to "
                f"{money[1](a['ci_high'])}) is what joining added; joining changed their "
                f"order rate by {fmt.pct(eff.frequency['relative'], signed=True)} "
                f"({fmt.pct(eff.frequency['relative_ci_low'], signed=True)} to "
                f"{fmt.pct(eff.frequency['relative_ci_high'], signed=True)})."
            )
        elif eff is not None:
            parts.append(eff.headline)
        if self.programme is not None:
            parts.append(self.programme.headline)
        return " ".join(parts)

    def sections(self) -> list[Section]:
        """The gap split, then each part's own tables."""
        out = [Section(self.table, self.formats, title="Where the members' AOV gap comes from")]
        for part in (self.members, self.effect, self.programme):
            if part is not None and not isinstance(part, Unavailable):
                out += part.sections()
        return out

    def chart(self, kind: str = "members") -> Any:
        """``"members"`` (the comparison), ``"event"`` (months since joining), ``"return"``."""
        part = {"members": self.members, "event": self.effect, "return": self.programme}.get(kind)
        if kind not in ("members", "event", "return"):
            from aovlab.errors import AovlabInputError

            raise AovlabInputError(
                "unknown loyalty chart",
                expected="'members', 'event' or 'return'",
                found=repr(kind),
            )
        if part is None:
            from aovlab import charts

            return charts.message("Give the programme's cost to see whether it pays.")
        return part.chart()

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON (see the issue): the comparison, the effects, selection, ROI."""
        assert self.members is not None
        comparison = self.members.to_dict()
        eff = self.effect
        eff_d = eff.to_dict() if eff is not None else {}
        ret = self.programme
        ret_d = ret.to_dict() if ret is not None else {}
        available = isinstance(eff, LoyaltyEffect)
        return {
            "headline": self.headline,
            "currency": self.currency,
            "period": self.period,
            "members": comparison["members"],
            "non_members": comparison["non_members"],
            "naive_aov_gap": comparison["naive_aov_gap"],
            "aov_effect": eff_d.get("aov_effect"),
            "frequency_effect": eff_d.get("frequency_effect"),
            "selection_share": eff_d.get("selection_share"),
            "pre_joining_aov_gap": eff_d.get("pre_aov_gap"),
            "effect_available": available,
            "effect_reason": None if available or eff is None else eff_d.get("reason"),
            "roi": ret_d.get("roi") if isinstance(ret, ProgrammeReturn) else None,
            "programme": ret_d or None,
            "effect": eff_d or None,
            "comparison": comparison,
        }


def impact(
    shop: ShopData,
    when: str | periods.Window | None = None,
    *,
    cost_per_member: float | None = None,
    fee: float | None = None,
    margin_rate: float | None = None,
    pre_months: int = 6,
    basis: str = "net",
    n_boot: int = N_BOOT,
    seed: int = SEED,
    confidence: float = 0.95,
) -> LoyaltyImpact:
    """Members against non-members, the programme's effect and its return, in one result.

    Parameters
    ----------
    shop : ShopData
        A shop with a customers table (membership; join dates for the effect).
    when : str or Window, optional
        The period of the comparison and of the return (default: the 12 months to the
        last counted order). The effect uses all the data: it needs history.
    cost_per_member, fee, margin_rate : float, optional
        The programme's cost per member over the period, a fixed cost, and the margin
        rate where the shop has no unit costs (see :func:`programme_return`).
    pre_months, basis, n_boot, seed, confidence
        As for :func:`~aovlab.loyalty.effect.effect`.

    Returns
    -------
    LoyaltyImpact

    Examples
    --------
    >>> import aovlab
    >>> res = impact(aovlab.sample.load(), cost_per_member=5.0, n_boot=50)
    >>> print(res.headline[:60])
    Members' orders were €8.81 larger than non-members' in 2025-
    >>> sorted(res.to_dict())[:4]
    ['aov_effect', 'comparison', 'currency', 'effect']
    """
    span = base.window(shop, when)
    members = compare_members(shop, span, basis=basis, confidence=confidence)
    est = attempt(
        "The programme's effect",
        effect,
        shop,
        pre_months=pre_months,
        basis=basis,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
    )
    programme: ProgrammeReturn | Unavailable | None = None
    if isinstance(est, LoyaltyEffect):
        programme = attempt(
            "Whether the programme pays",
            programme_return,
            shop,
            est,
            when=span,
            cost_per_member=cost_per_member,
            fee=fee,
            margin_rate=margin_rate,
            basis=basis,
        )
    else:
        programme = Unavailable(
            table=None,
            what="Whether the programme pays",
            reason="it needs the programme's effect, which is not available",
        )
    naive = members.naive_aov_gap
    rows: dict[str, tuple[Any, Any, Any]] = {
        "naive_gap": (naive["estimate"], naive["ci_low"], naive["ci_high"]),
    }
    if isinstance(est, LoyaltyEffect):
        a = est.aov
        rows["gap_after_joining"] = (est.post_aov_gap, None, None)
        rows["selection"] = (est.selection, None, None)
        rows["effect"] = (a["effect"], a["ci_low"], a["ci_high"])

    def col(i: int) -> list[float | None]:
        return [None if v[i] is None else float(v[i]) for v in rows.values()]

    table = small_frame(
        {
            "gap_part": [_PARTS[k] for k in rows],
            "per_order": col(0),
            "ci_low": col(1),
            "ci_high": col(2),
        },
        namespace(shop),
    )
    return LoyaltyImpact(
        table=table.to_native(),
        currency=shop.currency,
        members=members,
        effect=est,
        programme=programme,
        period=span.label,
    )
