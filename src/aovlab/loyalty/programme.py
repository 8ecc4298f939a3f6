"""Whether the programme pays: its incremental margin against what it costs.

The incremental margin of a period is what the members' orders after joining earned
beyond what the same members would have earned had they not joined. With the estimated
relative effects on AOV (``a``) and on order frequency (``f``) from
:func:`aovlab.loyalty.effect`, members' revenue after joining ``R`` would have been
``R / ((1 + a) (1 + f))`` without the programme, so::

    incremental revenue = R * (1 - 1 / ((1 + a) * (1 + f)))
    incremental margin  = incremental revenue * margin rate
    cost                = cost per member * members + fee
    net                 = incremental margin - cost;   ROI = net / cost

The margin rate is the members' gross margin over their revenue in the period (from
unit costs), or ``margin_rate`` where the shop has none. Every bootstrap draw of the
effect gives one draw of each figure, so the interval is carried through to the ROI.

Members in the period are those who joined before its end; ``cost_per_member`` is the
programme's cost per member over the period (points or discounts redeemed), ``fee`` a
fixed cost over the period (software, staff).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import narwhals.stable.v2 as nw
import numpy as np

from aovlab import fmt, periods
from aovlab.compare import namespace, small_frame
from aovlab.errors import AovlabInputError
from aovlab.loyalty import base
from aovlab.loyalty.effect import LoyaltyEffect
from aovlab.model import ShopData, collected
from aovlab.results import Formats, Result, Section

__all__ = [
    "RETURN_FORMATS",
    "ProgrammeReturn",
    "check_costs",
    "incremental_share",
    "programme_return",
]

#: How the programme's return is shown.
RETURN_FORMATS: Formats = {
    "figure": "text",
    "estimate": "money",
    "ci_low": "money",
    "ci_high": "money",
}


def incremental_share(aov_effect: Any, frequency_effect: Any) -> Any:
    """The share of members' revenue the programme added: ``1 - 1 / ((1 + a) (1 + f))``.

    Works on numbers and numpy arrays (one value per bootstrap draw).

    >>> round(incremental_share(0.12, 0.25), 4)  # revenue x 1.4: 0.4 / 1.4 of it is new
    0.2857
    >>> incremental_share(0.0, 0.0)
    0.0
    """
    return 1 - 1 / ((1 + aov_effect) * (1 + frequency_effect))


@dataclass(repr=False)
class ProgrammeReturn(Result):
    """The programme's incremental revenue and margin in a period, its cost, net and ROI."""

    period: str = ""
    members: int = 0
    active_members: int = 0
    member_revenue: float = 0.0
    margin_rate: float = 0.0
    margin_rate_source: str = "unit costs"
    cost: float | None = None
    roi: float | None = None
    roi_ci: tuple[float | None, float | None] = (None, None)
    confidence: float = 0.95
    formats: ClassVar[Formats] = RETURN_FORMATS

    def _figure(self, name: str) -> dict[str, Any]:
        frame = nw.from_native(self.table, eager_only=True)
        return frame.filter(nw.col("figure") == name).rows(named=True)[0]

    @property
    def incremental_margin(self) -> dict[str, Any]:
        """Estimate and interval of the incremental margin."""
        return self._figure("incremental_margin")

    @property
    def net(self) -> dict[str, Any] | None:
        """Estimate and interval of the net return (None without a cost)."""
        return None if self.cost is None else self._figure("net")

    def _headline(self) -> str:
        money = fmt.in_currency(self.currency)[0]
        m = self.incremental_margin
        level = fmt.pct(self.confidence, digits=4, trim=True)
        text = (
            f"In {fmt.period_name(self.period)}, the programme added "
            f"{money(m['estimate'])} of margin ({level} interval {money(m['ci_low'])} to "
            f"{money(m['ci_high'])}) on members' {money(self.member_revenue)} of revenue "
            f"after joining"
        )
        if self.cost is None:
            b = self._figure("break_even_cost_per_member")
            return (
                f"{text}: it pays as long as it costs less than {money(b['estimate'])} a "
                f"member over the period ({money(b['ci_low'])} to {money(b['ci_high'])}; "
                f"{fmt.count(self.members)} members)."
            )
        net = self.net or {}
        low, high = self.roi_ci
        # The verdict reads the net's interval (an ROI has none at a cost of zero).
        verdict = (
            "it pays"
            if (net.get("ci_low") is not None and net["ci_low"] > 0)
            else "it does not pay"
            if (net.get("ci_high") is not None and net["ci_high"] < 0)
            else "whether it pays is within the uncertainty"
        )
        return (
            f"{text}, against {money(self.cost)} of cost: net "
            f"{fmt.money(net['estimate'], self.currency, signed=True)}, ROI "
            f"{fmt.pct(self.roi, signed=True)} ({fmt.pct(low, signed=True)} to "
            f"{fmt.pct(high, signed=True)}): {verdict}."
        )

    def sections(self) -> list[Section]:
        """The figures with their intervals, and how they were computed."""
        note = (
            f"{fmt.count(self.members)} members enrolled by the period's end ({fmt.count(self.active_members)} "
            "of them ordered after joining in it): the cost counts every enrolled member. The "
            "effect, estimated on the members with history before joining, is applied to every "
            "dated member's orders from the month after joining. "
            "Margin rate "
            f"{fmt.pct(self.margin_rate)} ({self.margin_rate_source}). Incremental revenue = "
            "members' revenue after joining x (1 - 1 / ((1 + AOV effect) x (1 + frequency "
            "effect)))."
        )
        if self.roi is not None:
            low, high = self.roi_ci
            note += (
                f" ROI {fmt.pct(self.roi, signed=True)} ({fmt.pct(low, signed=True)} to "
                f"{fmt.pct(high, signed=True)})."
            )
        return [Section(self.table, self.formats, note=note)]

    def chart(self) -> Any:
        """Incremental margin against cost, with intervals."""
        import altair as alt

        from aovlab import charts
        from aovlab.display import in_words

        frame = nw.from_native(self.table, eager_only=True).filter(
            nw.col("figure").is_in(["incremental_margin", "cost", "net"])
        )
        frame = in_words(frame, "figure")
        data = charts._data(frame)
        x = alt.X("estimate:Q", title=f"Over the period ({self.currency or ''})")
        y = alt.Y("figure:N", title=None, sort=None)
        bars = alt.Chart(data).mark_bar(color=charts.PALETTE[0]).encode(x=x, y=y)
        rules = alt.Chart(data).mark_rule(color="#333333").encode(x="ci_low:Q", x2="ci_high:Q", y=y)
        return (bars + rules).properties(title="The programme's margin against its cost", width=520)

    def to_dict(self) -> dict[str, Any]:
        """Each figure with its interval, and ``roi`` (estimate, ci_low, ci_high)."""
        figures = {
            row["figure"]: {
                k: (None if row[k] is None else round(float(row[k]), 2))
                for k in ("estimate", "ci_low", "ci_high")
            }
            for row in self.rows_named()
        }

        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {
            "headline": self.headline,
            "currency": self.currency,
            "period": self.period,
            "members": self.members,
            "margin_rate": round(self.margin_rate, 4),
            **figures,
            "roi": None
            if self.roi is None
            else {
                "estimate": r(self.roi),
                "ci_low": r(self.roi_ci[0]),
                "ci_high": r(self.roi_ci[1]),
            },
        }

    def rows_named(self) -> list[dict[str, Any]]:
        """The table's rows as dicts (unrounded)."""
        return nw.from_native(self.table, eager_only=True).rows(named=True)


def _nonnegative(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise AovlabInputError(
            f"{name} must be an amount of at least 0",
            expected="a finite number >= 0",
            found=repr(value),
        )
    return float(value)


def check_costs(
    cost_per_member: Any, fee: Any, margin_rate: Any
) -> tuple[float | None, float | None, float | None]:
    """The programme's cost parameters checked: amounts of at least 0, a rate from 0 to 1.

    >>> check_costs(5, None, 0.4)
    (5.0, None, 0.4)
    """
    per_member = _nonnegative("cost_per_member", cost_per_member)
    fixed = _nonnegative("fee", fee)
    rate = _nonnegative("margin_rate", margin_rate)
    if rate is not None and rate > 1:
        raise AovlabInputError(
            "margin_rate is a share of revenue",
            expected="a number from 0 to 1",
            found=repr(margin_rate),
        )
    return per_member, fixed, rate


def _member_sums(shop: ShopData, span: periods.Window, basis: str) -> dict[str, float]:
    """Members' revenue after joining in the window, its net and cost, and the members."""
    who = base.membership(shop, as_of=span).filter(nw.col("member"))
    orders = base.customer_orders(shop, basis=basis, when=span).join(
        who.select("customer_id", "joined_at"), on="customer_id", how="inner"
    )
    # As the effect measures it: dated members' orders from the month after they joined
    # (an undated member's orders cannot be told apart; the joining month is left out).
    after = orders.filter(
        ~nw.col("joined_at").is_null()
        & (base.month_number("ordered_at") > base.month_number("joined_at"))
    )
    costed = ~nw.col("cogs").is_null()
    sums = after.select(
        nw.col("value").sum().alias("revenue"),
        nw.when(costed).then(nw.col("value")).otherwise(0.0).sum().alias("costed_revenue"),
        nw.when(costed).then(nw.col("net_value")).otherwise(0.0).sum().alias("costed_net"),
        nw.col("cogs").sum().alias("cogs"),
    )
    members = who.select(nw.len().alias("members"))
    active = after.select(nw.col("customer_id").n_unique().alias("active"))
    got, count, ordered = (frame.pipe(collected) for frame in (sums, members, active))
    out = {k: float(v or 0.0) for k, v in got.rows(named=True)[0].items()}
    out["members"] = float(count.item())
    out["active"] = float(ordered.item())
    return out


def programme_return(
    shop: ShopData,
    estimate: LoyaltyEffect,
    *,
    when: str | periods.Window | None = None,
    cost_per_member: float | None = None,
    fee: float | None = None,
    margin_rate: float | None = None,
    basis: str = "net",
) -> ProgrammeReturn:
    """The programme's incremental margin in a period against its cost: net and ROI.

    Parameters
    ----------
    shop : ShopData
        The shop the effect was estimated on.
    estimate : LoyaltyEffect
        The programme's effect (:func:`aovlab.loyalty.effect`); its bootstrap draws carry
        the interval through.
    when : str or Window, optional
        The period; by default the 12 months to the last counted order.
    cost_per_member, fee : float, optional
        The programme's cost per member over the period and a fixed cost over it.
    margin_rate : float, optional
        Gross margin over revenue, used when the shop has no unit costs.
    basis : str
        Revenue basis, as for the effect.

    Examples
    --------
    >>> import aovlab
    >>> from aovlab.loyalty.effect import effect
    >>> shop = aovlab.sample.load()
    >>> ret = programme_return(shop, effect(shop, n_boot=50), cost_per_member=5.0)
    >>> ret.members, round(ret.margin_rate, 2)
    (2885, 0.51)
    """
    if not isinstance(estimate, LoyaltyEffect):  # e.g. Unavailable: say why, in its words
        raise AovlabInputError(
            "whether the programme pays needs the programme's effect",
            expected="the result of aovlab.loyalty.effect",
            found=str(getattr(estimate, "reason", "") or type(estimate).__name__),
        )
    span = base.window(shop, when)
    per_member, fixed, given_rate = check_costs(cost_per_member, fee, margin_rate)
    sums = _member_sums(shop, span, basis)
    if sums["revenue"] <= 0:
        raise AovlabInputError(
            f"no member orders after joining in {span.label}",
            table="orders",
            expected="counted orders by members placed after they joined",
            found="none",
        )
    if sums["costed_revenue"] > 0:
        rate = (sums["costed_net"] - sums["cogs"]) / sums["costed_revenue"]
        covered = sums["costed_revenue"] / sums["revenue"]
        source = "unit costs" + (
            "" if covered > 0.999 else f", {fmt.pct(covered)} of revenue costed"
        )
    elif given_rate is not None:
        rate, source = given_rate, "given"
    else:
        raise AovlabInputError(
            "the programme's margin needs unit costs or a margin rate",
            table="lines",
            column="unit_cost",
            expected="unit costs on the lines (or a catalogue), or a margin rate "
            "(margin_rate=; --margin-rate on the command line)",
            found="no unit cost on any member order",
        )
    members = int(sums["members"])
    revenue = sums["revenue"]
    a, f = estimate.aov["relative"], estimate.frequency["relative"]
    share = float(incremental_share(a, f))
    draws = np.asarray(estimate.draws)
    draw_share = incremental_share(draws[:, 1], draws[:, 3]) if len(draws) else np.array([share])
    alpha = (1 - estimate.confidence) / 2

    def interval(values: np.ndarray) -> tuple[float, float]:
        finite = values[np.isfinite(values)]
        if not len(finite):
            return float("nan"), float("nan")
        return float(np.quantile(finite, alpha)), float(np.quantile(finite, 1 - alpha))

    inc_rev = revenue * share
    inc_margin = inc_rev * rate
    rows = {
        "incremental_revenue": (inc_rev, *interval(revenue * draw_share)),
        "incremental_margin": (inc_margin, *interval(revenue * draw_share * rate)),
    }
    if members:
        # The cost per member at which margin and cost match (after any fixed fee).
        rows["break_even_cost_per_member"] = (
            (inc_margin - (fixed or 0.0)) / members,
            *interval((revenue * draw_share * rate - (fixed or 0.0)) / members),
        )
    cost = None
    roi: float | None = None
    roi_ci: tuple[float | None, float | None] = (None, None)
    if per_member is not None or fixed is not None:
        cost = (per_member or 0.0) * members + (fixed or 0.0)
        net_draws = revenue * draw_share * rate - cost
        rows["cost"] = (cost, cost, cost)
        rows["net"] = (inc_margin - cost, *interval(net_draws))
        if cost > 0:
            roi = (inc_margin - cost) / cost
            roi_ci = interval(net_draws / cost)
    table = small_frame(
        {
            "figure": list(rows),
            "estimate": np.array([v[0] for v in rows.values()]),
            "ci_low": np.array([v[1] for v in rows.values()]),
            "ci_high": np.array([v[2] for v in rows.values()]),
        },
        namespace(shop),
    )
    return ProgrammeReturn(
        table=table.to_native(),
        currency=shop.currency,
        period=span.label,
        members=members,
        active_members=int(sums["active"]),
        member_revenue=revenue,
        margin_rate=rate,
        margin_rate_source=source,
        cost=cost,
        roi=roi,
        roi_ci=roi_ci,
        confidence=estimate.confidence,
    )
