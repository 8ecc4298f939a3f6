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
from aovlab.compare import small_frame
from aovlab.loyalty import base
from aovlab.loyalty.effect import N_BOOT, SEED, LoyaltyEffect, effect
from aovlab.loyalty.effect import _check as check_effect_parameters
from aovlab.loyalty.members import Members, compare_members
from aovlab.loyalty.programme import ProgrammeReturn, check_costs, programme_return
from aovlab.model import ShopData
from aovlab.results import Formats, Result, Section, Unavailable, attempt

__all__ = ["IMPACT_FORMATS", "GapSplit", "LoyaltyImpact", "gap_split", "impact"]

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
class GapSplit(Result):
    """Where the members' AOV gap comes from: selection (who joins) and the effect.

    ``table`` has one row per part (``gap_part``): the members - non-members gap in the
    period (a comparison), the members' gap after joining against customers who had
    not joined (yet) in the same months, and that gap split exactly into what was there
    before joining and what joining added, per order, with intervals where known.
    """

    period: str = ""
    naive_gap: float | None = None
    gap_after_joining: float | None = None
    selection: float | None = None
    effect: float | None = None
    effect_ci: tuple[float | None, float | None] = (None, None)
    confidence: float = 0.95
    formats: ClassVar[Formats] = IMPACT_FORMATS

    @property
    def selection_share(self) -> float | None:
        """The share of the gap after joining that was there before (None for a zero gap)."""
        if self.selection is None or not self.gap_after_joining:
            return None
        return self.selection / self.gap_after_joining

    def _headline(self) -> str:
        money, signed = fmt.in_currency(self.currency)
        parts = []
        if self.naive_gap is not None:
            parts.append(
                f"Members' orders were {money(abs(self.naive_gap))} "
                f"{'larger' if self.naive_gap >= 0 else 'smaller'} than non-members' in "
                f"{self.period}, but who joins is not random."
            )
        if self.gap_after_joining is not None and self.effect is not None:
            low, high = self.effect_ci
            gap = self.gap_after_joining
            parts.append(
                "Against customers who had not joined (yet) in the same months, members' "
                f"orders after joining were {money(abs(gap))} "
                f"{'larger' if gap >= 0 else 'smaller'}: {signed(self.selection)} of that "
                f"was there before they joined (who joins) and {signed(self.effect)} "
                f"({fmt.pct(self.confidence, digits=0)} interval {signed(low)} to "
                f"{signed(high)}) is what joining added."
            )
        return " ".join(parts)

    def chart(self) -> Any:
        """The parts of the gap as bars, the effect with its interval."""
        import altair as alt
        import narwhals.stable.v2 as nw

        from aovlab import charts

        frame = nw.from_native(self.table, eager_only=True).filter(~nw.col("per_order").is_null())
        data = charts._data(frame)
        y = alt.Y("gap_part:N", title=None, sort=None, axis=alt.Axis(labelLimit=420))
        bars = (
            alt.Chart(data)
            .mark_bar(color=charts.PALETTE[0])
            .encode(
                x=alt.X("per_order:Q", title=f"Per order ({self.currency or ''})"),
                y=y,
                tooltip=[
                    alt.Tooltip("gap_part:N", title=""),
                    alt.Tooltip("per_order:Q", format=",.2f"),
                ],
            )
        )
        rules = alt.Chart(data).mark_rule(color="#333333").encode(x="ci_low:Q", x2="ci_high:Q", y=y)
        return (bars + rules).properties(title="Where the members' AOV gap comes from")


def gap_split(members: Any, estimate: Any) -> GapSplit:
    """Split the members' AOV gap into selection (who joins) and the programme's effect.

    ``members`` is :func:`~aovlab.loyalty.members.compare_members`' result, ``estimate``
    :func:`~aovlab.loyalty.effect.effect`'s. Where the effect is not available, the
    split shows the comparison alone.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> split = gap_split(compare_members(shop), effect(shop, n_boot=50))
    >>> round(split.effect, 2) == round(split.gap_after_joining - split.selection, 2)
    True
    """
    from aovlab.errors import AovlabInputError

    if not isinstance(members, Members):
        raise AovlabInputError(
            "the gap split needs the member comparison",
            expected="the result of aovlab.loyalty.compare_members",
            found=str(getattr(members, "reason", "") or type(members).__name__),
        )
    naive = members.naive_aov_gap
    rows: dict[str, tuple[Any, Any, Any]] = {
        "naive_gap": (naive["estimate"], naive["ci_low"], naive["ci_high"]),
    }
    fields: dict[str, Any] = {}
    if isinstance(estimate, LoyaltyEffect):
        a = estimate.aov
        rows["gap_after_joining"] = (estimate.post_aov_gap, None, None)
        rows["selection"] = (estimate.selection, None, None)
        rows["effect"] = (a["effect"], a["ci_low"], a["ci_high"])
        fields = {
            "gap_after_joining": estimate.post_aov_gap,
            "selection": estimate.selection,
            "effect": a["effect"],
            "effect_ci": (a["ci_low"], a["ci_high"]),
            "confidence": estimate.confidence,
        }

    def col(i: int) -> list[float | None]:
        return [None if v[i] is None else float(v[i]) for v in rows.values()]

    import narwhals.stable.v2 as nw

    backend = nw.get_native_namespace(nw.from_native(members.table, eager_only=True))
    table = small_frame(
        {
            "gap_part": [_PARTS[k] for k in rows],
            "per_order": col(0),
            "ci_low": col(1),
            "ci_high": col(2),
        },
        backend,
    )
    return GapSplit(
        table=table.to_native(),
        currency=members.currency,
        period=members.period,
        naive_gap=naive["estimate"],
        **fields,
    )


@dataclass(repr=False)
class LoyaltyImpact(Result):
    """The comparison, the effect and the return together; ``table`` is the gap split."""

    members: Members | None = None
    effect: LoyaltyEffect | Unavailable | None = None
    programme: ProgrammeReturn | Unavailable | None = None
    split: GapSplit | None = None
    period: str = ""
    formats: ClassVar[Formats] = IMPACT_FORMATS

    def _headline(self) -> str:
        assert self.split is not None
        parts = [self.split.headline]
        eff = self.effect
        if isinstance(eff, LoyaltyEffect):
            f = eff.frequency
            parts.append(
                f"Joining changed their order rate by {fmt.pct(f['relative'], signed=True)} "
                f"({fmt.pct(f['relative_ci_low'], signed=True)} to "
                f"{fmt.pct(f['relative_ci_high'], signed=True)})."
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
        """``"members"`` (the comparison), ``"gap"``, ``"event"`` (months since joining), ``"return"``."""
        from aovlab.errors import AovlabInputError

        parts = {
            "members": self.members,
            "gap": self.split,
            "event": self.effect,
            "return": self.programme,
        }
        if kind not in parts:
            raise AovlabInputError(
                "unknown loyalty chart",
                expected="'members', 'gap', 'event' or 'return'",
                found=repr(kind),
            )
        part = parts[kind]
        assert part is not None
        return part.chart()

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON (see the issue): the comparison, the effects, selection, ROI."""
        assert self.members is not None and self.split is not None
        comparison = self.members.to_dict()
        eff = self.effect
        eff_d = eff.to_dict() if eff is not None else {}
        ret = self.programme
        ret_d = ret.to_dict() if ret is not None else {}
        available = isinstance(eff, LoyaltyEffect)

        def r(v: float | None, digits: int = 2) -> float | None:
            return None if v is None else round(v, digits)

        return {
            "headline": self.headline,
            "currency": self.currency,
            "period": self.period,
            "members": comparison["members"],
            "non_members": comparison["non_members"],
            "naive_aov_gap": comparison["naive_aov_gap"],
            "aov_effect": eff_d.get("aov_effect"),
            "frequency_effect": eff_d.get("frequency_effect"),
            "aov_gap_after_joining": r(self.split.gap_after_joining),
            "selection": r(self.split.selection),
            "selection_share": r(self.split.selection_share, 4),
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
    >>> res.to_dict()["roi"]["estimate"] > 0
    True
    """
    # Parameters are checked first: a wrong cost is the user's error, not "not available".
    check_costs(cost_per_member, fee, margin_rate)
    check_effect_parameters(pre_months, n_boot, "acquisition", 12)
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
    split = gap_split(members, est)
    return LoyaltyImpact(
        table=split.table,
        currency=shop.currency,
        members=members,
        effect=est,
        programme=programme,
        split=split,
        period=span.label,
    )
