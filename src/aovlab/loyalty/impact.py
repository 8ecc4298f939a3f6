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
from aovlab.intervals import check_confidence
from aovlab.loyalty import base
from aovlab.loyalty.effect import N_BOOT, SEED, LoyaltyEffect, effect
from aovlab.loyalty.effect import check_options as check_effect_options
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
    "naive_gap": "Members vs non-members, the period",
    "gap_after_joining": "Members after joining vs not yet joined",
    "selection": "... there before joining (who joins)",
    "effect": "... added by joining (the effect)",
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
    selection_ci: tuple[float | None, float | None] = (None, None)
    selection_share_ci: tuple[float | None, float | None] = (None, None)
    confidence: float = 0.95
    formats: ClassVar[Formats] = IMPACT_FORMATS

    @property
    def selection_share(self) -> float | None:
        """The share of the members' gap after joining that was there before joining.

        The gap after joining compares members' orders after they joined with those of
        customers who had not joined (yet), in the same months: the naive comparison
        that the selection can be read from. The period comparison's gap
        (``naive_gap``) also counts members' orders from before they joined and other
        months, so it is no base for a share. None for a gap of zero.
        """
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
            s_low, s_high = self.selection_ci
            gap = self.gap_after_joining
            parts.append(
                "Against customers who had not joined (yet) in the same months, members' "
                f"orders after joining were {money(abs(gap))} "
                f"{'larger' if gap >= 0 else 'smaller'}: {signed(self.selection)} of that "
                f"({signed(s_low)} to {signed(s_high)}) was there before they joined (who "
                f"joins) and {signed(self.effect)} ({fmt.pct(self.confidence, digits=0)} "
                f"interval {signed(low)} to {signed(high)}) is what joining added."
            )
            if self.naive_gap is not None and abs(self.naive_gap) < abs(gap):
                parts.append(
                    "The period's comparison shows less because it also counts members' "
                    "orders from before they joined."
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
        return (bars + rules).properties(title="Where the members' AOV gap comes from", width=420)


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
            found="the member comparison is not available (its reason is given with it)"
            if getattr(members, "reason", None)
            else type(members).__name__,
        )
    naive = members.naive_aov_gap
    rows: dict[str, tuple[Any, Any, Any]] = {
        "naive_gap": (naive["estimate"], naive["ci_low"], naive["ci_high"]),
    }
    fields: dict[str, Any] = {}
    if isinstance(estimate, LoyaltyEffect):
        a = estimate.aov
        rows["gap_after_joining"] = (estimate.post_aov_gap, None, None)
        rows["selection"] = (estimate.selection, *estimate.selection_ci)
        rows["effect"] = (a["effect"], a["ci_low"], a["ci_high"])
        fields = {
            "gap_after_joining": estimate.post_aov_gap,
            "selection": estimate.selection,
            "effect": a["effect"],
            "effect_ci": (a["ci_low"], a["ci_high"]),
            "selection_ci": estimate.selection_ci,
            "selection_share_ci": estimate.selection_share_ci,
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
    """The comparison, the effect, the gap split and the return together.

    Each part is its own result, or :class:`~aovlab.results.Unavailable` saying why the
    data cannot answer it (no customers table, no join dates, no margin). ``table`` is
    the gap split's (empty where the comparison is not available).
    """

    members: Members | Unavailable | None = None
    effect: LoyaltyEffect | Unavailable | None = None
    programme: ProgrammeReturn | Unavailable | None = None
    split: GapSplit | Unavailable | None = None
    period: str = ""
    formats: ClassVar[Formats] = IMPACT_FORMATS

    @property
    def available(self) -> bool:
        """Whether the member comparison, the least this needs, could be made."""
        return isinstance(self.members, Members)

    def _headline(self) -> str:
        if not isinstance(self.split, GapSplit):
            return str(getattr(self.members, "headline", ""))
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
        """The answer: where the members' AOV gap comes from, and whether it pays.

        Each part's own tables are on the part (``members``, ``effect``, ``programme``).
        """
        out: list[Section] = []
        if isinstance(self.split, GapSplit):
            out.append(
                Section(self.table, self.formats, title="Where the members' AOV gap comes from")
            )
        if isinstance(self.programme, ProgrammeReturn):
            out += self.programme.sections()
        return out

    def chart(self, kind: str = "gap") -> Any:
        """``"gap"``, ``"members"`` (the comparison), ``"event"`` (months since joining), ``"return"``."""
        from aovlab.errors import AovlabInputError

        parts = {
            "gap": self.split,
            "members": self.members,
            "event": self.effect,
            "return": self.programme,
        }
        if kind not in parts:
            raise AovlabInputError(
                "unknown loyalty chart",
                expected="'gap', 'members', 'event' or 'return'",
                found=repr(kind),
            )
        part = parts[kind]
        assert part is not None
        return part.chart()

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON (see the issue): the comparison, the effects, selection, ROI."""
        comparison = self.members.to_dict() if isinstance(self.members, Members) else None
        eff = self.effect
        eff_d = eff.to_dict() if eff is not None else {}
        ret = self.programme
        ret_d = ret.to_dict() if ret is not None else {}
        available = isinstance(eff, LoyaltyEffect)
        split = self.split if isinstance(self.split, GapSplit) else None

        def r(v: float | None, digits: int = 2) -> float | None:
            return None if v is None else round(v, digits)

        return {
            "headline": self.headline,
            "currency": self.currency,
            "period": self.period,
            "members": comparison["members"] if comparison else None,
            "non_members": comparison["non_members"] if comparison else None,
            "naive_aov_gap": comparison["naive_aov_gap"] if comparison else None,
            "aov_effect": eff_d.get("aov_effect"),
            "frequency_effect": eff_d.get("frequency_effect"),
            "aov_gap_after_joining": r(split.gap_after_joining) if split else None,
            "selection": r(split.selection) if split else None,
            "selection_ci": [r(v) for v in split.selection_ci] if split else None,
            "selection_share": r(split.selection_share, 4) if split else None,
            "selection_share_ci": [r(v, 4) for v in split.selection_share_ci] if split else None,
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
    # Parameters are checked first: a wrong value is the user's error, not "not available".
    check_costs(cost_per_member, fee, margin_rate)
    check_effect_options(pre_months, n_boot, "acquisition", 12)
    check_confidence(confidence)
    span = base.window(shop, when)
    members = attempt(
        "Members and non-members", compare_members, shop, span, basis=basis, confidence=confidence
    )
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
    else:  # the effect says why; the return need not say it again
        programme = Unavailable(
            table=None,
            what="Whether the programme pays",
            reason="it needs the programme's effect (see above).",
        )
    split = attempt("Where the gap comes from", gap_split, members, est)
    if isinstance(split, GapSplit):
        table = split.table
    else:  # an empty split: the same columns, no rows
        import narwhals.stable.v2 as nw

        table = nw.from_dict(
            {"gap_part": [], "per_order": [], "ci_low": [], "ci_high": []},
            schema={
                "gap_part": nw.String(),
                "per_order": nw.Float64(),
                "ci_low": nw.Float64(),
                "ci_high": nw.Float64(),
            },
            backend=namespace(shop),
        ).to_native()
    return LoyaltyImpact(
        table=table,
        currency=shop.currency,
        members=members,
        effect=est,
        programme=programme,
        split=split,
        period=span.label,
    )
