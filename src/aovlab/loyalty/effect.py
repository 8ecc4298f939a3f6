"""What joining the programme changed: a difference-in-differences by joining cohort.

Members spend more than non-members, but the customers who join are seldom a random
draw: heavy buyers join more often. :func:`effect` compares each member with *their own*
history and with customers who had not joined (yet) over the same calendar months:

Design
------
- **Months.** Each registered customer's orders are counted by calendar month (in the
  shop's time zone). A customer's history starts the month *after* they entered: their
  sign-up (``signed_up_at`` in the customers table) or their first counted order,
  whichever came first. The entry month is left out because it is busy by construction
  (a customer enters the data by ordering, and many sign up at their first checkout).
- **Cohorts.** Members are grouped by the month they joined, ``g``. A member counts
  (is *treated*) when their history covers the ``pre_months`` months before ``g`` (the
  *base*); members without a join date, or with less history, are left out and counted.
- **Controls.** For cohort ``g`` in month ``t``, the controls are the customers who had
  not joined by then: never-members and members who join after ``max(g, t)``, with the
  same history requirement (Callaway & Sant'Anna's not-yet-treated comparison group, so
  staggered joining never uses an earlier joiner as a control).
- **Counterfactual.** Effects are multiplicative (seasonality and customers' own order
  rates multiply, so parallel trends hold in ratios, not in levels). For every cohort,
  month and acquisition stratum, the members' orders had they not joined are their base
  orders times the controls' growth from the same base months to ``t``::

      orders0(g, t) = orders_members(g, base) * orders_controls(t) / orders_controls(base)
      aov0(g, t)    = aov_members(g, base)    * aov_controls(t)    / aov_controls(base)

  With ``match="acquisition"`` (the default) the strata are the customers' first-order
  months, so members are compared with controls of the same age as customers (repeat
  rates fall with time since the first order in most shops); ``match="none"`` pools them.
- **The joining month is left out.** Members often join with an order, which would
  count that order as the programme's doing. Effects are measured from the month after.
- **Estimates** pool every cohort and month after joining, weighted by what happened:
  the AOV effect is ``sum(revenue) / sum(orders * aov0) - 1`` (in money: the difference
  per member order), the frequency effect ``sum(orders) / sum(orders0) - 1`` (in orders
  per member and year).
- **Intervals**: a bootstrap over customers (customers drawn with replacement, a fixed
  seed), on the customer-month aggregates, never on orders; percentile intervals.

The event-time view gives the same pooled figures by months since joining, from
``-pre_months`` to ``horizon`` months after. The counterfactual is anchored on the base
months, so there the two agree in total by construction: the base months show how
steady the members were before joining, not a test of parallel trends.

Only customer-month aggregates leave the engine (at most one row per customer and month
with an order); everything after is small numpy arithmetic.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import narwhals.stable.v2 as nw
import numpy as np

from aovlab import display, fmt
from aovlab.compare import namespace, small_frame
from aovlab.errors import AovlabInputError
from aovlab.intervals import check_confidence
from aovlab.loyalty import base
from aovlab.model import ShopData, collect_all, finite_or_none
from aovlab.results import Formats, Result, Section

__all__ = ["EFFECT_FORMATS", "EVENT_FORMATS", "FIGURES", "LoyaltyEffect", "check_options", "effect"]

Match = Literal["acquisition", "none"]

#: How the effect summary is shown.
EFFECT_FORMATS: Formats = {
    "measure": "text",
    "members": "number",
    "counterfactual": "number",
    "effect": "number",
    "ci_low": "number",
    "ci_high": "number",
    "relative": "share",
    "relative_ci_low": "share",
    "relative_ci_high": "share",
}

#: How the event-time table is shown.
EVENT_FORMATS: Formats = {
    "months_since_joining": "count",
    "members": "count",
    "aov": "money",
    "aov_counterfactual": "money",
    "aov_effect": "share",
    "aov_ci_low": "share",
    "aov_ci_high": "share",
    "orders_per_member_year": "number",
    "orders_counterfactual": "number",
    "frequency_effect": "share",
    "frequency_ci_low": "share",
    "frequency_ci_high": "share",
}

#: The fewest members with enough history before joining for an estimate.
MIN_MEMBERS = 30
#: Bootstrap replicates and seed.
N_BOOT = 200
SEED = 20261203


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class _Panel:
    """Customer-month aggregates as arrays, ready for weighted sums.

    Months are indexes ``0..T-1`` from the first customer's first order month.
    Join index ``j``: 0 joined before the data starts, ``m + 1`` joined in month ``m``,
    ``T + 1`` never (or not within the data). ``s``: the month a customer's history
    starts (the month after their first order).
    """

    first_month: int
    months: int
    cust_cell: np.ndarray  # j * T + s per customer
    row_cust: np.ndarray  # customer index per customer-month row
    row_key: np.ndarray  # (j * T + s) * T + t per row
    row_orders: np.ndarray
    row_revenue: np.ndarray
    undated: int  # members without a join date (left out)
    members: int  # members in the customers table with a first order
    # Dated members in the panel: with a first order or a sign-up date (a member who
    # signed up and never ordered has a history of zero orders).
    listed: int = 0


def _panel(shop: ShopData, basis: str) -> _Panel:
    orders = base.customer_orders(shop, basis=basis)
    firsts = orders.group_by("customer_id").agg(nw.col("month").min().alias("first"))
    who = base.membership(shop).select("customer_id", "member", "join_month")
    if "signed_up_at" in shop.columns("customers"):
        signup = shop.scan("customers").select(
            "customer_id", base.month_number("signed_up_at").alias("signup")
        )
        who = who.join(signup, on="customer_id", how="left")
    else:
        who = who.with_columns(nw.lit(None, dtype=nw.Int64()).alias("signup"))
    # Every customer who ordered or is in the customers table; the history starts the
    # month after the earlier of the sign-up and the first order.
    people = (
        firsts.join(who, on="customer_id", how="full")
        .with_columns(nw.coalesce("customer_id", "customer_id_right").alias("customer_id"))
        .with_columns(
            nw.when(nw.col("signup").is_null() | (nw.col("first") < nw.col("signup")))
            .then(nw.col("first"))
            .otherwise(nw.col("signup"))
            .alias("entry"),
            nw.col("member").fill_null(False),
            (~nw.col("first").is_null()).alias("ordered"),
        )
        .filter(~nw.col("entry").is_null())
        .with_row_index("i", order_by="customer_id")
    )
    cells = (
        orders.group_by("customer_id", "month")
        .agg(nw.len().alias("orders"), nw.col("value").sum().alias("revenue"))
        .join(people.select("customer_id", "i", "entry"), on="customer_id", how="inner")
        .filter(nw.col("month") > nw.col("entry"))
        .select("i", "month", "orders", "revenue")
        .sort("i", "month")  # a fixed order of the sums: reruns give the same last bits
    )
    who_, rows = collect_all(
        [people.select("i", "entry", "member", "join_month", "ordered").sort("i"), cells]
    )
    ordered = who_["ordered"].to_numpy().astype(bool)
    if not ordered.any():
        raise AovlabInputError(
            "the programme's effect needs registered customers' orders",
            table="orders",
            expected="counted orders with a customer_id",
            found="none (every counted order is a guest checkout)",
        )
    entry = who_["entry"].to_numpy().astype(np.int64)
    member = who_["member"].to_numpy().astype(bool)
    join = np.asarray(who_["join_month"].to_numpy(), dtype=float)
    m0 = int(entry.min())
    last = int(rows["month"].max()) if len(rows) else int(entry.max())
    t_count = max(last - m0 + 1, 1)
    dated = member & ~np.isnan(join)
    undated = member & np.isnan(join)
    j = np.full(len(entry), t_count + 1, dtype=np.int64)  # never
    jm = np.where(dated, join, m0).astype(np.int64) - m0
    j[dated] = np.clip(jm[dated] + 1, 0, t_count + 1)
    s = entry - m0 + 1
    keep = ~undated & (s < t_count)
    cust_cell = np.where(keep, j * t_count + np.minimum(s, t_count - 1), -1)
    row_cust = rows["i"].to_numpy().astype(np.int64)
    row_t = rows["month"].to_numpy().astype(np.int64) - m0
    row_cell = cust_cell[row_cust]
    ok = row_cell >= 0
    return _Panel(
        first_month=m0,
        months=t_count,
        cust_cell=cust_cell,
        row_cust=row_cust[ok],
        row_key=row_cell[ok] * t_count + row_t[ok],
        row_orders=rows["orders"].to_numpy().astype(float)[ok],
        # A multi-threaded engine adds a month's orders in any order; rounding keeps those
        # last bits out of the figures, so a rerun gives identical results.
        row_revenue=np.round(rows["revenue"].to_numpy().astype(float), 6)[ok],
        undated=int((undated & ordered).sum()),
        members=int((member & ordered).sum()),
        listed=int((member & (cust_cell >= 0)).sum()),
    )


def _sums(panel: _Panel, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers ``N[j, s]``, orders and revenue ``O[j, s, t]``, weighted by customer."""
    t_count = panel.months
    cells = (t_count + 2) * t_count
    keep = panel.cust_cell >= 0
    w_cust = np.ones(len(panel.cust_cell)) if weights is None else weights
    n = np.bincount(panel.cust_cell[keep], weights=w_cust[keep], minlength=cells)
    w_row = 1.0 if weights is None else weights[panel.row_cust]
    o = np.bincount(panel.row_key, weights=panel.row_orders * w_row, minlength=cells * t_count)
    r = np.bincount(panel.row_key, weights=panel.row_revenue * w_row, minlength=cells * t_count)
    shape = (t_count + 2, t_count, t_count)
    return n.reshape(t_count + 2, t_count), o.reshape(shape), r.reshape(shape)


# --------------------------------------------------------------------------- the estimator


@dataclass(frozen=True)
class _Grid:
    """Index arrays over (cohort g, stratum s, month t) for the vectorised estimator."""

    g: np.ndarray
    s: np.ndarray
    t: np.ndarray
    k: np.ndarray  # controls: join index >= k
    valid: np.ndarray  # s has the base before g; t within the data


def _grid(t_count: int, pre: int, match: Match) -> _Grid:
    g, s, t = np.meshgrid(np.arange(t_count), np.arange(t_count), np.arange(t_count), indexing="ij")
    # With match="none", one pooled stratum per cohort: everyone whose history starts by
    # g - pre (the sums are cumulated over s, so s = g - pre stands for all of them).
    valid = s == g - pre if match == "none" else s <= g - pre
    # Only cohorts with a month after joining in the data (the estimate's members).
    valid &= (g - pre >= 0) & (s >= 0) & (g <= t_count - 2)
    k = np.maximum(t, g) + 2
    return _Grid(g=g, s=s, t=t, k=k, valid=valid)


@dataclass(frozen=True)
class _Cells:
    """Actual and counterfactual sums per (g, s, t) cell, flattened to the valid cells."""

    e: np.ndarray  # months since joining
    n: np.ndarray  # treated customers
    orders: np.ndarray
    orders0: np.ndarray  # NaN where the counterfactual is undefined
    revenue: np.ndarray
    revenue0: np.ndarray  # orders * aov0; NaN where undefined
    at_controls_aov: np.ndarray  # orders * the controls' AOV in the month; NaN where none


def _cells(
    n: np.ndarray, o: np.ndarray, r: np.ndarray, grid: _Grid, pre: int, match: Match
) -> _Cells:
    if match == "none":
        n, o, r = np.cumsum(n, axis=1), np.cumsum(o, axis=1), np.cumsum(r, axis=1)
    # Controls: every join index from k on (k <= T + 1, the never-members).
    ro = np.cumsum(o[::-1], axis=0)[::-1]
    rr = np.cumsum(r[::-1], axis=0)[::-1]
    # Sums over the base months [g - pre, g - 1] by cumulating over t.
    zero_t = np.zeros((*o.shape[:2], 1))
    co, cr = (
        np.concatenate([zero_t, np.cumsum(o, 2)], 2),
        np.concatenate([zero_t, np.cumsum(r, 2)], 2),
    )
    cro = np.concatenate([zero_t, np.cumsum(ro, 2)], 2)
    crr = np.concatenate([zero_t, np.cumsum(rr, 2)], 2)
    v = grid.valid
    g, s, t, k = grid.g[v], grid.s[v], grid.t[v], grid.k[v]
    j = g + 1
    lo, hi = g - pre, g  # base months lo .. hi - 1
    nt = n[j, s]
    ot, rt = o[j, s, t], r[j, s, t]
    ot_base, rt_base = co[j, s, hi] - co[j, s, lo], cr[j, s, hi] - cr[j, s, lo]
    oc, rc = ro[k, s, t], rr[k, s, t]
    oc_base, rc_base = cro[k, s, hi] - cro[k, s, lo], crr[k, s, hi] - crr[k, s, lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        orders0 = np.where(oc_base > 0, ot_base * oc / oc_base, np.nan)
        aov0 = (rt_base / ot_base) * (rc / oc) / (rc_base / oc_base)
        ok = (ot_base > 0) & (oc > 0) & (oc_base > 0) & (rc_base > 0)
        revenue0 = np.where(ok, ot * aov0, np.nan)
        at_controls = np.where(oc > 0, ot * rc / oc, np.nan)
    return _Cells(
        e=t - g,
        n=nt,
        orders=ot,
        orders0=orders0,
        revenue=rt,
        revenue0=revenue0,
        at_controls_aov=at_controls,
    )


@dataclass(frozen=True)
class _Pooled:
    """Pooled estimates over the months after joining (and by event time)."""

    orders: float
    orders0: float
    member_months: float
    revenue: float
    revenue0: float
    aov_orders: float  # orders in the cells where the AOV counterfactual is defined
    at_controls: float  # those orders at the controls' AOV of their month and stratum


def _pool(c: _Cells, mask: np.ndarray) -> _Pooled:
    f = mask & ~np.isnan(c.orders0)
    a = mask & ~np.isnan(c.revenue0)
    return _Pooled(
        orders=float(c.orders[f].sum()),
        orders0=float(c.orders0[f].sum()),
        member_months=float(c.n[f].sum()),
        revenue=float(c.revenue[a].sum()),
        revenue0=float(c.revenue0[a].sum()),
        aov_orders=float(c.orders[a].sum()),
        at_controls=float(np.nansum(c.at_controls_aov[a])),
    )


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


#: The figures :func:`_estimates` returns, in order (frequency per member and year).
FIGURES = (
    "aov_effect",
    "aov_relative",
    "frequency_effect",
    "frequency_relative",
    "aov",
    "aov_counterfactual",
    "frequency",
    "frequency_counterfactual",
    "gap_after_joining",
    "selection",
)


def _estimates(p: _Pooled) -> np.ndarray:
    """The pooled figures named by :data:`FIGURES`.

    The members' AOV after joining minus the controls' AOV in the same months and strata
    (per member order) is the gap after joining; it splits exactly into the effect
    (members' AOV minus their counterfactual) and selection (the counterfactual minus
    the controls': what was there before joining, carried by the controls' trend).
    """
    aov = _ratio(p.revenue, p.aov_orders)
    aov0 = _ratio(p.revenue0, p.aov_orders)
    controls = _ratio(p.at_controls, p.aov_orders)
    freq = 12 * _ratio(p.orders, p.member_months)
    freq0 = 12 * _ratio(p.orders0, p.member_months)
    return np.array(
        [
            aov - aov0,
            _ratio(p.revenue, p.revenue0) - 1,
            freq - freq0,
            _ratio(p.orders, p.orders0) - 1,
            aov,
            aov0,
            freq,
            freq0,
            aov - controls,
            aov0 - controls,
        ]
    )


def _event_pools(c: _Cells, events: np.ndarray) -> list[_Pooled]:
    """The cells pooled by months since joining, one pool per event time."""
    return [_pool(c, c.e == e) for e in events]


def _event_estimates(c: _Cells, events: np.ndarray) -> np.ndarray:
    """Per event time: the figures of :func:`_estimates`, shape (len(events), len(FIGURES))."""
    return np.array([_estimates(p) for p in _event_pools(c, events)])


def _treated(panel: _Panel, pre: int) -> tuple[int, int]:
    """Members with ``pre`` months of history before joining and a month after, and cohorts."""
    t_count = panel.months
    cell = panel.cust_cell[panel.cust_cell >= 0]
    j, s = cell // t_count, cell % t_count
    g = j - 1
    ok = (j >= 1) & (j <= t_count) & (s <= g - pre) & (g + 1 <= t_count - 1)
    return int(ok.sum()), int(np.unique(g[ok]).size)


# --------------------------------------------------------------------------- the result


@dataclass(repr=False)
class LoyaltyEffect(Result):
    """The programme's estimated effect on AOV and order frequency, with the event-time view.

    ``table`` has one row per measure (``aov``: money per member order;
    ``orders_per_member_year``), with the members' figure, the counterfactual (what the
    same members would have done had they not joined), the effect and its interval,
    and the relative effect and its interval. ``event_time`` has the same by months
    since joining.
    """

    event_time: Any = None
    members_used: int = 0
    cohorts: int = 0
    members_total: int = 0
    undated: int = 0
    pre_months: int = 6
    match: str = "acquisition"
    n_boot: int = N_BOOT
    seed: int = SEED
    confidence: float = 0.95
    draws: np.ndarray = field(default_factory=lambda: np.empty((0, 8)))
    pre_aov_gap: float | None = None
    post_aov_gap: float | None = None
    selection_ci: tuple[float | None, float | None] = (None, None)
    selection_share_ci: tuple[float | None, float | None] = (None, None)
    formats: ClassVar[Formats] = EFFECT_FORMATS

    def _row(self, measure: str) -> dict[str, Any]:
        frame = nw.from_native(self.table, eager_only=True)
        return frame.filter(nw.col("measure") == measure).rows(named=True)[0]

    @property
    def aov(self) -> dict[str, Any]:
        """The AOV row: members, counterfactual, effect (money per order), intervals."""
        return self._row("aov")

    @property
    def selection(self) -> float | None:
        """The part of the members' post-joining AOV gap that was there before: gap - effect.

        After joining, members' orders differ from those of customers who had not joined
        in the same months by :attr:`post_aov_gap`; the estimated effect is the part
        joining added, the rest (this) is who joins.
        """
        effect = self.aov["effect"]
        if self.post_aov_gap is None or effect is None:
            return None
        return self.post_aov_gap - effect

    @property
    def selection_share(self) -> float | None:
        """:attr:`selection` as a share of the post-joining gap (None for a gap of zero)."""
        sel = self.selection
        if sel is None or not self.post_aov_gap:
            return None
        return sel / self.post_aov_gap

    @property
    def frequency(self) -> dict[str, Any]:
        """The frequency row (orders per member and year)."""
        return self._row("orders_per_member_year")

    def _headline(self) -> str:
        return _headline(self)

    def sections(self) -> list[Section]:
        """The effect summary, then the event-time table."""
        note = (
            f"{fmt.count(self.members_used)} members in {self.cohorts} joining cohorts with "
            f"{self.pre_months} months of history before joining; compared with customers "
            "who had not joined (yet) in the same months"
            + (", of the same first-order month" if self.match == "acquisition" else "")
            + f". Intervals: {fmt.pct(self.confidence, digits=4, trim=True)} bootstrap over customers "
            f"({self.n_boot} draws, seed {self.seed}). The joining month is left out."
        )
        money, signed = fmt.in_currency(self.currency)

        def rate(v: Any, sign: bool = False) -> str:
            if v is None:
                return "n/a"
            return fmt.number(v, signed=sign)

        rows: dict[str, list[str]] = {
            "measure": [],
            "members": [],
            "had_they_not_joined": [],
            "effect": [],
            "relative": [],
        }
        for name, row, plain, sign in (
            ("AOV", self.aov, money, signed),
            (
                "Orders per member a year",
                self.frequency,
                rate,
                lambda v: rate(v, True),
            ),
        ):
            rows["measure"].append(name)
            rows["members"].append(plain(row["members"]))
            rows["had_they_not_joined"].append(plain(row["counterfactual"]))
            rows["effect"].append(
                f"{sign(row['effect'])} ({sign(row['ci_low'])} to {sign(row['ci_high'])})"
            )
            rows["relative"].append(
                f"{fmt.pct(row['relative'], signed=True)} "
                f"({fmt.pct(row['relative_ci_low'], signed=True)} to "
                f"{fmt.pct(row['relative_ci_high'], signed=True)})"
            )
        shown = small_frame(rows, nw.get_native_namespace(nw.from_native(self.table)))
        return [
            Section(shown.to_native(), dict.fromkeys(rows, "text"), note=note),
            Section(self.event_time, EVENT_FORMATS, title="By months since joining"),
        ]

    def chart(self) -> Any:
        """AOV and orders per member a year by months since joining, members vs counterfactual."""
        return _event_chart(self)

    def to_dict(self) -> dict[str, Any]:
        """``aov_effect`` and ``frequency_effect`` (estimate, ci_low, ci_high, relative ...)."""
        aov, freq = self.aov, self.frequency

        def pack(row: dict[str, Any]) -> dict[str, Any]:
            def num(v: Any) -> float | None:
                return None if v is None else round(float(v), 4)

            return {
                "estimate": num(row["effect"]),
                "ci_low": num(row["ci_low"]),
                "ci_high": num(row["ci_high"]),
                "relative": None if row["relative"] is None else round(row["relative"], 4),
                "relative_ci_low": None
                if row["relative_ci_low"] is None
                else round(row["relative_ci_low"], 4),
                "relative_ci_high": None
                if row["relative_ci_high"] is None
                else round(row["relative_ci_high"], 4),
            }

        return {
            "headline": self.headline,
            "currency": self.currency,
            "aov_effect": pack(aov),
            "frequency_effect": {**pack(freq), "unit": "orders per member per year"},
            "members_used": self.members_used,
            "cohorts": self.cohorts,
            "pre_months": self.pre_months,
            "pre_aov_gap": None if self.pre_aov_gap is None else round(self.pre_aov_gap, 2),
            "post_aov_gap": None if self.post_aov_gap is None else round(self.post_aov_gap, 2),
            "selection": None if self.selection is None else round(self.selection, 2),
            "selection_ci": [None if v is None else round(v, 2) for v in self.selection_ci],
            "selection_share_ci": [
                None if v is None else round(v, 4) for v in self.selection_share_ci
            ],
            "selection_share": None
            if self.selection_share is None
            else round(self.selection_share, 4),
            "bootstrap": {"draws": self.n_boot, "seed": self.seed, "confidence": self.confidence},
            "event_time": display.rounded_rows(self.event_time, EVENT_FORMATS),
        }


def _event_chart(res: LoyaltyEffect) -> Any:
    import altair as alt

    from aovlab import charts

    table = nw.from_native(res.event_time, eager_only=True)
    panels = []
    for actual, counterfactual, title, fmt_ in (
        ("aov", "aov_counterfactual", f"AOV ({res.currency or ''})", ",.2f"),
        (
            "orders_per_member_year",
            "orders_counterfactual",
            "Orders per member a year",
            ",.2f",
        ),
    ):
        long = (
            table.select("months_since_joining", actual, counterfactual)
            .rename({actual: "Members", counterfactual: "Had they not joined"})
            .unpivot(index="months_since_joining", variable_name="who", value_name="value")
        )
        base_ = alt.Chart(charts._data(long), title=title)
        lines = base_.mark_line(point=True).encode(
            x=alt.X("months_since_joining:Q", title="Months since joining"),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "who:N",
                title=None,
                scale=alt.Scale(
                    domain=["Members", "Had they not joined"],
                    range=[charts.PALETTE[0], charts.PALETTE[5]],
                ),
            ),
            # The same field and title as the colour: one legend shows both.
            strokeDash=alt.StrokeDash(
                "who:N",
                title=None,
                scale=alt.Scale(domain=["Members", "Had they not joined"], range=[[1, 0], [4, 3]]),
            ),
            tooltip=[
                alt.Tooltip("months_since_joining:Q", title="Months since joining"),
                alt.Tooltip("who:N", title=""),
                alt.Tooltip("value:Q", title=title, format=fmt_),
            ],
        )
        joined = (
            alt.Chart(
                charts._data(nw.from_dict({"x": [0]}, backend=nw.get_native_namespace(table)))
            )
            .mark_rule(color=charts.PALETTE[5], strokeDash=[2, 2])
            .encode(x="x:Q")
        )
        panels.append((lines + joined).properties(width=300, height=220))
    return alt.hconcat(*panels).properties(
        title="Members against what they would have done had they not joined (month 0: joining)"
    )


def _headline(res: LoyaltyEffect) -> str:
    aov, freq = res.aov, res.frequency
    signed = fmt.in_currency(res.currency)[1]
    level = fmt.pct(res.confidence, digits=4, trim=True)

    def pct(v: Any) -> str:
        return fmt.pct(v, signed=True)

    per_year = freq["effect"]
    text = (
        f"Joining changed members' orders by {signed(aov['effect'])} "
        f"({pct(aov['relative'])}; {level} interval {signed(aov['ci_low'])} to "
        f"{signed(aov['ci_high'])}) and their order rate by {pct(freq['relative'])} "
        f"({pct(freq['relative_ci_low'])} to {pct(freq['relative_ci_high'])}; "
        f"{fmt.number(per_year, signed=True)} orders a "
        "member a year), against customers who had not joined (yet) in the same months; "
        f"{fmt.count(res.members_used)} members with {res.pre_months} months of history before joining."
    )
    return text


# --------------------------------------------------------------------------- the function


def check_options(
    pre_months: Any, n_boot: Any, match: Any, horizon: Any
) -> tuple[int, int, Match, int]:
    """The effect's options checked: whole numbers in range and a known comparison.

    >>> check_options(6, 200, "acquisition", 12)
    (6, 200, 'acquisition', 12)
    """

    def whole(name: str, value: Any, lo: int) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise AovlabInputError(
                f"{name} must be a whole number of at least {lo}",
                expected=f"an integer >= {lo}",
                found=repr(value),
            )
        return int(value)

    pre = whole("pre_months", pre_months, 1)
    boot = whole("n_boot", n_boot, 20)
    hor = whole("horizon", horizon, 1)
    if match not in ("acquisition", "none"):
        raise AovlabInputError(
            "match is an unknown comparison", expected="'acquisition' or 'none'", found=repr(match)
        )
    return pre, boot, match, hor


def effect(
    shop: ShopData,
    *,
    pre_months: int = 6,
    horizon: int = 12,
    match: Match = "acquisition",
    basis: str = "net",
    n_boot: int = N_BOOT,
    seed: int = SEED,
    confidence: float = 0.95,
    min_members: int = MIN_MEMBERS,
) -> LoyaltyEffect:
    """The programme's effect on members' AOV and order frequency (difference-in-differences).

    See the module notes for the design: each joining cohort against customers who had
    not joined (yet) in the same calendar months, in ratios, from the month after
    joining, with a bootstrap over customers.

    Parameters
    ----------
    shop : ShopData
        A shop with a customers table giving ``loyalty_joined_at``.
    pre_months : int
        Months of history a member needs before their join month (the base).
    horizon : int
        Months after joining shown in the event-time view (the estimate pools them all).
    match : {"acquisition", "none"}
        Compare members with controls of the same first-order month, or pool them.
    basis : str
        Revenue basis (``net``, ``total`` or ``gross``).
    n_boot, seed, confidence
        Bootstrap draws, their seed, and the interval's confidence.
    min_members : int
        Refuse with fewer members than this with enough history.

    Returns
    -------
    LoyaltyEffect

    Examples
    --------
    >>> import aovlab
    >>> res = effect(aovlab.sample.load(), n_boot=50)
    >>> round(res.aov["relative"], 2), round(res.frequency["relative"], 2)
    (0.15, 0.29)
    """
    pre, boot, match, hor = check_options(pre_months, n_boot, match, horizon)
    confidence = check_confidence(confidence)
    base.require_customers(shop, "The programme's effect")
    if not base.has_join_dates(shop):
        raise AovlabInputError(
            "the programme's effect needs the date each member joined",
            table="customers",
            column="loyalty_joined_at",
            expected="a loyalty_joined_at column with each member's join date",
            found="no such column",
            present=shop.columns("customers"),
        )
    panel = _panel(shop, basis)
    t_count = panel.months
    if panel.members == 0:
        raise AovlabInputError(
            "the programme's effect needs members",
            table="customers",
            expected="customers with loyalty_member true or a loyalty_joined_at date",
            found="no member among the customers who ordered",
        )
    if panel.members == panel.undated:
        raise AovlabInputError(
            "the programme's effect needs the date each member joined",
            table="customers",
            column="loyalty_joined_at",
            expected="join dates for members",
            found=f"none of the {fmt.count(panel.members)} members who ordered has a join date",
        )
    controls = int(
        np.sum((panel.cust_cell >= 0) & (panel.cust_cell // max(t_count, 1) == t_count + 1))
    )
    if controls == 0 and t_count < 2:
        # Non-members may well have ordered: with one month of data nobody has a month
        # of history after their first, so nobody can be compared.
        raise AovlabInputError(
            "the programme's effect needs months of history before and after joining",
            table="orders",
            column="ordered_at",
            expected=f"registered customers' orders over {pre + 2} calendar months or more",
            found=f"orders in {t_count} calendar month ({base.month_text(panel.first_month)})",
        )
    if controls == 0:
        raise AovlabInputError(
            "the programme's effect needs customers who never joined",
            table="customers",
            expected="non-members among the customers who ordered (the comparison group)",
            found="every customer who ordered is a member",
        )
    used, cohorts = _treated(panel, pre)
    if used < min_members:
        raise AovlabInputError(
            "too few members with history before joining",
            table="customers",
            column="loyalty_joined_at",
            expected=f"at least {min_members} members whose orders start {pre} months or more "
            "before the month they joined, with a month of data after it",
            found=f"{fmt.count(used)} of {fmt.count(panel.listed)} members with a join date "
            f"({fmt.count(panel.members)} members ordered)"
            + (f" ({fmt.count(panel.undated)} without a join date)" if panel.undated else ""),
        )

    grid = _grid(t_count, pre, match)
    events = np.arange(-pre, hor + 1)
    cells = _cells(*_sums(panel, None), grid, pre, match)
    post = cells.e >= 1
    point = _estimates(_pool(cells, post))
    if not (np.isfinite(point[1]) and np.isfinite(point[3])):
        raise AovlabInputError(
            "the programme's effect has no comparison customers",
            table="customers",
            expected="never-joined or not-yet-joined customers with orders over the joining "
            f"cohorts' {pre} base months and after them"
            + (", of the same first-order month" if match == "acquisition" else ""),
            found=f"{fmt.count(used)} members with history, but no such customers to compare them with",
        )
    event_pools = _event_pools(cells, events)
    event_point = np.array([_estimates(p) for p in event_pools])
    # Members against the controls' AOV before joining (every month before, not only the
    # base months): who joins, as measured then.
    pre_gap = _gap(cells, cells.e < 0)

    rng = np.random.default_rng(seed)
    n_cust = len(panel.cust_cell)
    draws = np.empty((boot, len(FIGURES)))
    event_draws = np.empty((boot, len(events), len(FIGURES)))
    for b in range(boot):
        weights = np.bincount(rng.integers(0, n_cust, n_cust), minlength=n_cust).astype(float)
        c = _cells(*_sums(panel, weights), grid, pre, match)
        draws[b] = _estimates(_pool(c, c.e >= 1))
        event_draws[b] = _event_estimates(c, events)
    alpha = (1 - confidence) / 2
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN event month
        low = np.nanquantile(draws, alpha, axis=0)
        high = np.nanquantile(draws, 1 - alpha, axis=0)
        ev_low = np.nanquantile(event_draws, alpha, axis=0)
        ev_high = np.nanquantile(event_draws, 1 - alpha, axis=0)

    backend = namespace(shop)
    table = small_frame(
        {
            "measure": ["aov", "orders_per_member_year"],
            "members": np.array([point[4], point[6]]),
            "counterfactual": np.array([point[5], point[7]]),
            "effect": np.array([point[0], point[2]]),
            "ci_low": np.array([low[0], low[2]]),
            "ci_high": np.array([high[0], high[2]]),
            "relative": np.array([point[1], point[3]]),
            "relative_ci_low": np.array([low[1], low[3]]),
            "relative_ci_high": np.array([high[1], high[3]]),
        },
        backend,
    )
    counts = np.array([p.member_months for p in event_pools])
    event_table = small_frame(
        {
            "months_since_joining": events.tolist(),
            "members": counts.round().astype(int).tolist(),
            "aov": event_point[:, 4],
            "aov_counterfactual": event_point[:, 5],
            "aov_effect": event_point[:, 1],
            "aov_ci_low": ev_low[:, 1],
            "aov_ci_high": ev_high[:, 1],
            "orders_per_member_year": event_point[:, 6],
            "orders_counterfactual": event_point[:, 7],
            "frequency_effect": event_point[:, 3],
            "frequency_ci_low": ev_low[:, 3],
            "frequency_ci_high": ev_high[:, 3],
        },
        backend,
    )
    return LoyaltyEffect(
        table=table.to_native(),
        currency=shop.currency,
        event_time=event_table.to_native(),
        members_used=used,
        cohorts=cohorts,
        members_total=panel.members,
        undated=panel.undated,
        pre_months=pre,
        match=match,
        n_boot=boot,
        seed=seed,
        confidence=confidence,
        draws=draws,
        pre_aov_gap=pre_gap,
        post_aov_gap=finite_or_none(point[8]),
        selection_ci=(finite_or_none(low[9]), finite_or_none(high[9])),
        selection_share_ci=_share_interval(draws, confidence),
    )


def _share_interval(draws: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """The percentile interval of selection / gap after joining over the bootstrap draws.

    None when the gap's own interval holds zero: a share of a gap that may be nothing
    means nothing.
    """
    alpha = (1 - confidence) / 2
    gap, sel = draws[:, 8], draws[:, 9]
    ok = np.isfinite(gap) & np.isfinite(sel)
    if not ok.any():
        return None, None
    g_low, g_high = np.quantile(gap[ok], [alpha, 1 - alpha])
    if g_low <= 0 <= g_high:
        return None, None
    share = sel[ok] / gap[ok]
    low, high = np.quantile(share, [alpha, 1 - alpha])
    return float(low), float(high)


def _gap(c: _Cells, mask: np.ndarray) -> float | None:
    """Members' AOV minus the controls' in the same months and strata, per member order.

    The controls' AOV of each month is weighted by the members' orders in it. None
    without a month to compare.
    """
    mask = mask & ~np.isnan(c.at_controls_aov)
    orders = float(c.orders[mask].sum())
    if not orders:
        return None
    return (float(c.revenue[mask].sum()) - float(c.at_controls_aov[mask].sum())) / orders
