"""Why AOV moved: the trend with its outlier guard, exact decompositions, contributors.

One function per question:

- :func:`trend`: AOV, median and trimmed AOV by period. Periods where mean and median
  part ways are flagged, with the orders that pull the mean and the AOV without them.
- :func:`decompose`: the change between a baseline and a current period, split into
  items per order (UPT) and price per item (AUR); into *mix* (where the orders came
  from) and *rate* (what each segment spends) over any dimension; and revenue into
  orders and AOV, or sessions, conversion and AOV when traffic is known.
- :func:`contributors`: categories and products whose revenue per order moved, split
  into volume and price; discount codes; the top 1 % of orders' share of the change.
- :func:`what_next`: where to look next, from the largest effect.

Every split is exact and symmetric. A quantity that is a product of factors
(AOV = UPT x AUR, a segment's part of AOV = its share x its AOV, revenue = sessions x
conversion x AOV) changes by the sum of its factors' Shapley effects
(:func:`shapley`): the parts add up to the change with no residual, and swapping the
periods negates every part.

Mix and rate for segment i, with order shares s and segment AOVs a (bars are the
averages of the two periods, A the overall AOVs)::

    mix_i  = (s1_i - s0_i) x (abar_i - Abar)
    rate_i = (a1_i - a0_i) x sbar_i

The shares sum to one in both periods, so subtracting Abar leaves the mix total
unchanged; it makes each segment's mix readable: more orders from a segment that
spends less than average is a negative contribution. A segment absent from one period
takes its other period's AOV there (it then has no rate effect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import narwhals.stable.v2 as nw
import numpy as np

from aovlab import dimensions, fmt, metrics, periods
from aovlab.compare import (
    Sides,
    comparison,
    labelled,
    namespace,
    period_sums,
    require_orders,
    small_frame,
)
from aovlab.errors import AovlabInputError
from aovlab.model import (
    ShopData,
    collect_all,
    collected,
    finite_or_none,
    minor_unit,
    settled,
)
from aovlab.results import Formats, Result, Section
from aovlab.splits import round_parts, shapley

# --------------------------------------------------------------------------- decompose

DECOMPOSITION_FORMATS: Formats = {"effect": "change", "share_of_change": "share"}
PERIOD_FORMATS: Formats = {
    "orders": "count",
    "revenue": "money",
    "units": "quantity",
    "aov": "money",
    "upt": "number",
    "aur": "money",
    "sessions": "count",
    "conversion_rate": "share",
}
SEGMENT_FORMATS: Formats = {
    "baseline_orders": "count",
    "current_orders": "count",
    "baseline_share": "share",
    "current_share": "share",
    "baseline_aov": "money",
    "current_aov": "money",
    "mix": "change",
    "rate": "change",
    "contribution": "change",
}
SPLITS: dict[str, tuple[str, ...]] = {
    "upt_aur": ("upt", "aur"),
    "mix_rate": ("mix", "rate"),
    "orders_aov": ("orders", "aov"),
    "funnel": ("sessions", "conversion", "aov"),
}


@dataclass(repr=False)
class Decomposition(Result):
    """AOV and revenue change between two periods, split exactly.

    ``table`` holds one row per effect (``split``, ``part``, ``effect``,
    ``share_of_change``); ``periods`` the figures of both periods; ``segments`` (with
    ``by``) each segment's orders, share and AOV in both periods with its ``mix`` and
    ``rate`` contributions. ``figures`` keeps the unrounded numbers.
    """

    periods: Any = None
    segments: Any = None
    by: str | None = None
    basis: str = "net"
    baseline: str = ""
    current: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    digits: int = 2
    large_orders: LargeOrders | None = None
    formats: ClassVar[Formats] = DECOMPOSITION_FORMATS

    def _headline(self) -> str:
        return _decomposition_headline(self)

    def context(self) -> dict[str, str]:
        """The compared periods, for the column labels."""
        return {"baseline": self.baseline, "current": self.current}

    def sections(self) -> list[Section]:
        """Both periods' figures, the effects, and the current period's large orders."""
        backend = nw.get_native_namespace(nw.from_native(self.table, eager_only=True))
        effects = self.effects()
        shown = nw.from_dict(
            {k: [e[k] for e in effects] for k in ("split", "part", "effect", "share_of_change")},
            backend=backend,
        )
        out = [Section(self.periods, PERIOD_FORMATS), Section(shown.to_native(), self.formats)]
        if self.large_orders is not None and self.large_orders.order_ids:
            out.append(
                Section(
                    self.large_orders.table,
                    LARGE_ORDER_FORMATS,
                    note=self.large_orders.headline,
                )
            )
        return out

    def effect(self, part: str, split: str | None = None) -> float | None:
        """One effect's unrounded value (``upt``, ``aur``, ``mix``, ``rate``, ``orders``, ...)."""
        for row in nw.from_native(self.table, eager_only=True).iter_rows(named=True):
            if row["part"] == part and (split is None or row["split"] == split):
                return float(row["effect"])
        return None

    @property
    def change(self) -> float:
        """Current AOV minus baseline AOV."""
        return float(self.figures["current"]["aov"] - self.figures["baseline"]["aov"])

    def chart(self, split: str | None = None) -> Any:
        """A waterfall from the baseline figure through the effects to the current one.

        ``split``: ``mix_rate`` (the default with ``by``), ``upt_aur`` (the default
        without), ``orders_aov``, ``funnel``, or ``revenue`` (funnel when traffic is
        known, else orders and AOV).
        """
        from aovlab import charts

        return charts.waterfall(self, split or ("mix_rate" if self.by else "upt_aur"))

    def segment_table(self) -> SegmentTable:
        """The segments with their mix and rate contributions, as a displayable result."""
        if self.segments is None:
            empty = nw.from_dict(
                {"segment": []}, backend=nw.get_native_namespace(nw.from_native(self.table))
            )
            return SegmentTable(table=empty.to_native(), currency=self.currency, by="segment")
        d = self.to_dict()
        return SegmentTable(
            table=self.segments,
            currency=self.currency,
            by=self.by or "",
            mix=d["mix_effect"],
            rate=d["rate_effect"],
            baseline=self.baseline,
            current=self.current,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain, rounded values; every group of parts adds up to its total to the cent."""
        d = self.digits
        f = self.figures
        out: dict[str, Any] = {
            "currency": self.currency,
            "basis": self.basis,
            "by": self.by,
        }
        for which in ("baseline", "current"):
            fig = f[which]
            out[which] = {
                "period": fig["period"],
                "orders": int(fig["orders"]),
                "revenue": _round(fig["revenue"], d),
                "aov": _round(fig["aov"], d),
                "upt": _round(fig["upt"], 6),
                "aur": _round(fig["aur"], d),
            }
            if "sessions" in fig:
                out[which]["sessions"] = fig["sessions"]
                out[which]["conversion_rate"] = _round(fig["conversion_rate"], 6)
        change = f["change"]
        out["change"] = _round(change, d)
        out["change_pct"] = _round(metrics.share(change, f["baseline"]["aov"]), 6)
        if f.get("upt") is not None:
            out["upt_effect"], out["aur_effect"] = round_parts(
                [f["upt"], f["aur"]], out["change"], d
            )
        else:
            out["upt_effect"] = out["aur_effect"] = None
        rev_change = _round(f["revenue_change"], d)
        out["revenue_change"] = rev_change
        out["orders_effect"], out["aov_effect"] = round_parts(
            [f["orders_effect"], f["aov_effect"]], rev_change, d
        )
        if f.get("funnel"):
            names = ("sessions_effect", "conversion_effect", "funnel_aov_effect")
            out.update(zip(names, round_parts(f["funnel"], rev_change, d), strict=True))
        if self.by:
            mix, rate = round_parts([f["mix"], f["rate"]], out["change"], d)
            out["mix_effect"], out["rate_effect"] = mix, rate
            rows = list(nw.from_native(self.segments, eager_only=True).iter_rows(named=True))
            mixes = round_parts([r["mix"] for r in rows], mix, d)
            rates = round_parts([r["rate"] for r in rows], rate, d)
            out["segments"] = [
                {
                    "key": r[self.by],
                    "baseline_orders": int(r["baseline_orders"]),
                    "baseline_aov": _round(r["baseline_aov"], d),
                    "current_orders": int(r["current_orders"]),
                    "current_aov": _round(r["current_aov"], d),
                    "mix": m,
                    "rate": t,
                }
                for r, m, t in zip(rows, mixes, rates, strict=True)
            ]
        out["large_orders"] = self.large_orders.to_list(d) if self.large_orders else []
        return out

    def effects(self) -> list[dict[str, Any]]:
        """The effects rounded as in ``to_dict`` (each split adds up to the cent)."""
        d = self.to_dict()
        rows = nw.from_native(self.table, eager_only=True).iter_rows(named=True)
        return [
            {
                "split": r["split"],
                "part": r["part"],
                # The JSON names each effect by its part; the funnel's AOV part apart.
                "effect": d[
                    "funnel_aov_effect"
                    if r["split"] == "funnel" and r["part"] == "aov"
                    else f"{r['part']}_effect"
                ],
                "share_of_change": r["share_of_change"],
            }
            for r in rows
        ]


@dataclass(repr=False)
class SegmentTable(Result):
    """A decomposition's segments: orders, share and AOV in both periods, mix and rate.

    ``mix`` and ``rate`` are the rounded totals the headline quotes (None: no dimension).
    """

    by: str = ""
    mix: float | None = None
    rate: float | None = None
    baseline: str = ""
    current: str = ""
    formats: ClassVar[Formats] = SEGMENT_FORMATS

    def _headline(self) -> str:
        if self.mix is None or self.rate is None:
            return "No mix/rate split: the orders have no dimension to split by."
        rows = list(nw.from_native(self.table, eager_only=True).iter_rows(named=True))
        return _mix_sentence(rows, self.by, self.mix, self.rate, self.currency)

    def context(self) -> dict[str, str]:
        """The compared periods, for the column labels."""
        return {"baseline": self.baseline, "current": self.current}

    def chart(self) -> Any:
        """Each segment's mix and rate contribution, as bars."""
        from aovlab import charts

        return charts.segment_chart(self)


def _round(value: Any, digits: int) -> float | None:
    v = finite_or_none(value)
    return None if v is None else round(v, digits)


def _sessions(shop: ShopData, window: periods.Window) -> int | None:
    frame = metrics._sessions(shop, [], window)
    if frame is None or len(frame) == 0:
        return None
    value = frame["sessions"][0]
    return int(value) if value else None


def decompose(
    shop: ShopData,
    current: str | periods.Window,
    baseline: str | periods.Window | None = None,
    *,
    by: str | None = None,
    basis: str = "net",
) -> Decomposition:
    """Split the change in AOV (and revenue) between two periods exactly.

    Parameters
    ----------
    shop
        A loaded shop.
    current, baseline
        Periods: a month (``2026-10``), a quarter (``2026Q3``), a year, a day or a range
        (``2026-10-01..2026-10-15``). The baseline defaults to the period of the same
        length just before ``current``.
    by
        An order dimension (``channel``, ``device``, ``country``, ``customer_type``,
        ``main_category``, ``discount_used``, ...) for the mix/rate split.
    basis
        Revenue basis: ``net`` (default), ``gross`` or ``total``.

    Returns
    -------
    Decomposition
        ``table`` of effects, ``periods``, ``segments``, ``headline``, ``chart()``.

    Examples
    --------
    >>> import aovlab
    >>> res = decompose(aovlab.sample.load(), "2026-08", by="device")
    >>> print(res.headline)
    AOV fell 4.1 % from €119.50 in 2026-07 to €114.65 in 2026-08. The share of mobile
    orders, whose baskets are smaller than average, rose from 34.7 % to 63.2 % (mix
    −€13.14), while every device spent more per order (rate +€8.29). Baskets held more
    items (UPT +€13.67) at lower prices per item (AUR −€18.52).
    >>> d = res.to_dict()
    >>> d["change"], d["mix_effect"], d["rate_effect"], d["upt_effect"], d["aur_effect"]
    (-4.85, -13.14, 8.29, 13.67, -18.52)
    >>> d["large_orders"]  # no order alone moves August's AOV by 2 % (see large_orders)
    []
    """
    p = comparison(current, baseline)
    keys, sums = period_sums(
        labelled(shop, p, basis=basis, by=by),
        "__segment" if by else None,
        {
            "orders": nw.len(),
            "revenue": nw.col("value").sum(),
            "units": nw.col("units").sum(),
            "with_units": nw.col("units").count(),
        },
    )
    require_orders(shop, p, sums["orders"])
    backend = namespace(shop)
    figures: dict[str, Any] = {}
    for i, which, window in ((0, "baseline", p.baseline), (1, "current", p.current)):
        n, revenue = float(sums["orders"][i].sum()), float(sums["revenue"][i].sum())
        total_units = float(sums["units"][i].sum())
        # UPT and AUR only when every order's units are known.
        units = total_units if total_units and n == sums["with_units"][i].sum() else None
        fig: dict[str, Any] = {
            "period": window.label,
            "orders": int(n),
            "revenue": revenue,
            "units": units,
            "aov": metrics.aov(revenue, n),
            "upt": metrics.upt(units, n) if units else None,
            "aur": metrics.aur(revenue, units) if units else None,
        }
        if shop.traffic is not None:
            sessions = _sessions(shop, window)
            fig["sessions"] = sessions
            fig["conversion_rate"] = metrics.conversion_rate(n, sessions) if sessions else None
        figures[which] = fig
    b, c = figures["baseline"], figures["current"]
    figures["change"] = c["aov"] - b["aov"]
    figures["revenue_change"] = c["revenue"] - b["revenue"]
    effects: list[tuple[str, str, float]] = []
    if b["upt"] is not None and c["upt"] is not None:
        figures["upt"], figures["aur"] = shapley([b["upt"], b["aur"]], [c["upt"], c["aur"]])
        effects += [("upt_aur", "upt", figures["upt"]), ("upt_aur", "aur", figures["aur"])]
    segments = None
    if by:
        parts = _mix_rate(sums["orders"], sums["revenue"], b["aov"], c["aov"])
        segments = _segments(keys, sums["orders"], parts, by, backend)
        figures["mix"], figures["rate"] = float(parts["mix"].sum()), float(parts["rate"].sum())
        effects += [("mix_rate", "mix", figures["mix"]), ("mix_rate", "rate", figures["rate"])]
    figures["orders_effect"], figures["aov_effect"] = shapley(
        [b["orders"], b["aov"]], [c["orders"], c["aov"]]
    )
    effects += [
        ("orders_aov", "orders", figures["orders_effect"]),
        ("orders_aov", "aov", figures["aov_effect"]),
    ]
    if b.get("conversion_rate") and c.get("conversion_rate"):
        figures["funnel"] = shapley(
            [b["sessions"], b["conversion_rate"], b["aov"]],
            [c["sessions"], c["conversion_rate"], c["aov"]],
        )
        effects += [
            ("funnel", part, value)
            for part, value in zip(SPLITS["funnel"], figures["funnel"], strict=True)
        ]
    whole = {
        "upt_aur": figures["change"],
        "mix_rate": figures["change"],
        "orders_aov": figures["revenue_change"],
        "funnel": figures["revenue_change"],
    }
    table = nw.from_dict(
        {
            "split": [e[0] for e in effects],
            "part": [e[1] for e in effects],
            "effect": [float(e[2]) for e in effects],
            "share_of_change": [metrics.share(e[2], whole[e[0]]) for e in effects],
        },
        backend=backend,
    )
    shown = [k for k in PERIOD_FORMATS if k in b]
    period_table = nw.from_dict(
        {
            "period": ["baseline", "current"],
            "label": [b["period"], c["period"]],
            **{k: [b[k], c[k]] for k in shown},
        },
        backend=backend,
    )
    return Decomposition(
        table=table.to_native(),
        currency=shop.currency,
        periods=period_table.to_native(),
        segments=segments,
        by=by,
        basis=basis,
        baseline=p.baseline.label,
        current=p.current.label,
        figures=figures,
        digits=minor_unit(shop.currency),
        large_orders=large_orders(shop, p.current, basis=basis),
    )


def _mix_rate(orders: Sides, revenue: Sides, a0_all: float, a1_all: float) -> dict[str, Any]:
    """Each segment's share, AOV, mix and rate (vectorised over the segments)."""
    (o0, o1), (r0, r1) = orders, revenue
    with np.errstate(divide="ignore", invalid="ignore"):
        s0, s1 = o0 / o0.sum(), o1 / o1.sum()
        a0 = np.where(o0 > 0, r0 / o0, np.nan)
        a1 = np.where(o1 > 0, r1 / o1, np.nan)
    # A segment absent from one period takes its other period's AOV there.
    f0, f1 = np.where(np.isnan(a0), a1, a0), np.where(np.isnan(a1), a0, a1)
    mix, rate = shapley([s0, f0], [s1, f1])
    mix = mix - (s1 - s0) * (a0_all + a1_all) / 2
    return {"s0": s0, "s1": s1, "a0": a0, "a1": a1, "mix": mix, "rate": rate}


def _segments(keys: np.ndarray, orders: Sides, parts: dict[str, Any], by: str, backend: Any) -> Any:
    """The segment table as shown: largest segments first (a native frame)."""
    o0, o1 = orders
    order = np.lexsort((keys, -(o0 + o1)))
    frame = small_frame(
        {
            by: keys[order].tolist(),
            "baseline_orders": o0[order].astype(np.int64),
            "baseline_share": parts["s0"][order],
            "baseline_aov": parts["a0"][order],
            "current_orders": o1[order].astype(np.int64),
            "current_share": parts["s1"][order],
            "current_aov": parts["a1"][order],
            "mix": parts["mix"][order],
            "rate": parts["rate"][order],
            "contribution": (parts["mix"] + parts["rate"])[order],
        },
        backend,
    )
    return _native(frame)


def _direction(change: float) -> str:
    return "rose" if change > 0 else "fell" if change < 0 else "held"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _decomposition_headline(res: Decomposition) -> str:
    """Computed from the rounded figures of ``to_dict``, so text and JSON agree to the cent."""
    d, cur = res.to_dict(), res.currency
    b, c = d["baseline"], d["current"]

    money, signed = fmt.in_currency(cur)

    if d["change"] == 0:
        text = f"AOV held at {money(c['aov'])} in {c['period']} against {b['period']}."
    else:
        pct = abs(d["change_pct"])
        size = (
            fmt.pct(pct)
            if round(pct * 100, 1)
            else f"{money(abs(d['change']))} (less than {fmt.pct(0.001)})"
        )
        text = (
            f"AOV {_direction(d['change'])} {size} "
            f"from {money(b['aov'])} in {b['period']} to {money(c['aov'])} in {c['period']}."
        )
    carried = res.large_orders.brief() if res.large_orders is not None else ""
    if carried:
        text += " " + carried
    if res.by and res.segments is not None:
        rows = list(nw.from_native(res.segments, eager_only=True).iter_rows(named=True))
        text += " " + _mix_sentence(rows, res.by, d["mix_effect"], d["rate_effect"], cur)
    if d["upt_effect"] is not None:
        upt, aur = d["upt_effect"], d["aur_effect"]
        items = "more items" if upt > 0 else "fewer items" if upt < 0 else "as many items"
        prices = "higher" if aur > 0 else "lower" if aur < 0 else "unchanged"
        text += (
            f" Baskets held {items} (UPT {signed(upt)}) at {prices} prices per item "
            f"(AUR {signed(aur)})."
        )
    else:
        text += " UPT and AUR need order lines (or a units column)."
    return text


def _mix_sentence(
    rows: list[dict[str, Any]], by: str, mix: float, rate: float, cur: str | None
) -> str:
    """Which segment drove the mix effect, and which drove the rate effect.

    Each effect is explained by the segment that contributed most in the effect's own
    direction, in words that match its sign.
    """
    money, signed = fmt.in_currency(cur)

    def spent(gap: float) -> str:
        if round(gap, 2) == 0:
            return "spent the same per order"
        return f"spent {money(abs(gap))} {'more' if gap > 0 else 'less'} per order"

    one, many = fmt.dimension_label(by), fmt.dimension_label(by, plural=True)
    both = [r for r in rows if r["baseline_orders"] and r["current_orders"]]
    if len(rows) == 1:
        r = rows[0]
        if r[by] == dimensions.MISSING:
            return (
                f"No order has {fmt.article(one)} {one}, so there is nothing to split by: "
                f"the whole change is rate ({signed(rate)})."
            )
        return (
            f"All orders came from one {one} ({r[by]}), so there is no mix effect: "
            f"{dimensions.segment_name(by, r[by])} {spent(r['current_aov'] - r['baseline_aov'])} "
            f"(rate {signed(rate)})."
        )
    small = 0.15 * (abs(mix) + abs(rate))
    if abs(mix) <= small:
        mix_part = f"The mix of {many} barely moved AOV (mix {signed(mix)})"
    else:
        # The segment that pushed the mix effect's way most.
        top = max(rows, key=lambda r: r["mix"] if mix > 0 else -r["mix"])
        moved = top["current_share"] - top["baseline_share"]
        # A segment's mix is (its share's change) x (its AOV against the average).
        smaller = (top["mix"] < 0) == (moved > 0)
        mix_part = (
            f"The share of {dimensions.orders_of(by, top[by])}, whose baskets are "
            f"{'smaller' if smaller else 'larger'} than average, {_direction(moved)} from "
            f"{fmt.pct(top['baseline_share'])} to {fmt.pct(top['current_share'])} "
            f"(mix {signed(mix)})"
        )
    up = [r for r in both if r["current_aov"] > r["baseline_aov"]]
    down = [r for r in both if r["current_aov"] < r["baseline_aov"]]
    if abs(rate) <= small or not both:
        rate_part = f"what each {one} spends barely moved AOV (rate {signed(rate)})"
    elif len(both) == 1:
        only = both[0]
        rate_part = (
            f"{dimensions.segment_name(by, only[by])}, the only {one} with orders in both periods, "
            f"{spent(only['current_aov'] - only['baseline_aov'])} (rate {signed(rate)})"
        )
    elif len(up) == len(both):
        rate_part = f"every {one} spent more per order (rate {signed(rate)})"
    elif len(down) == len(both):
        rate_part = f"every {one} spent less per order (rate {signed(rate)})"
    else:
        # The segment whose rate contribution pushed the total rate effect's way most.
        lead = max(both, key=lambda r: r["rate"] if rate > 0 else -r["rate"])
        gap = lead["current_aov"] - lead["baseline_aov"]
        same = [r for r in (up if gap > 0 else down) if r is not lead]
        opposite = len(down if gap > 0 else up)
        others = len(both) - 1
        if len(same) == others:
            company = f"as did every other {one}"
        elif same:
            company = f"as did {len(same)} of the other {fmt.counted(others, one, many)}"
        elif others == 1:
            company = f"though the other {one} spent {'less' if gap > 0 else 'more'}"
        elif opposite == others:
            company = f"though the other {others} {many} spent {'less' if gap > 0 else 'more'}"
        else:
            company = f"the only {one} that did"
        rate_part = (
            f"{dimensions.segment_name(by, lead[by])} {spent(gap)}, {company} (rate {signed(rate)})"
        )
    joiner = "while" if (mix < 0) != (rate < 0) and mix and rate else "and"
    return f"{mix_part}, {joiner} {rate_part}."


# --------------------------------------------------------------------------- large orders

LARGE_ORDER_FORMATS: Formats = {
    "value": "money",
    "share_of_revenue": "share",
    "mean_shift": "money",
    "aov_without": "money",
}


def mean_shift(value: Any, aov: Any, orders: Any) -> Any:
    """How far one order moves its period's AOV: ``(value - aov) / (orders - 1)``.

    Without order k, a period of n orders with AOV a has AOV ``(n x a - v_k) / (n - 1)``;
    the difference to a is ``(v_k - a) / (n - 1)``. Works on numbers and on narwhals
    expressions. Four orders of 10, 20, 30 and 140 (AOV 50): without the 140 the AOV
    is 20, so that order moves it by 30.

    >>> mean_shift(140.0, 50.0, 4)
    30.0
    >>> (10 + 20 + 30) / 3
    20.0
    """
    return (value - aov) / (orders - 1)


def _large_order_rows(orders: Any, key: str, min_influence: float, max_orders: int) -> Any:
    """The orders that each move their period's AOV by ``min_influence`` or more.

    ``orders`` (eager or lazy, and so is the result): one row per counted order with
    ``key`` (the period), ``order_id`` and ``value``. Returns at most ``max_orders`` per period, largest first, with
    ``share_of_revenue``, ``mean_shift`` (:func:`mean_shift`), ``aov_without`` (the
    period's AOV without that order alone), the period's ``__n``, ``__rev`` and
    ``__aov``, and ``__qualifying`` (how many orders qualify before the cut). The one
    place the rule is applied: :func:`large_orders` and :func:`trend` both use it.
    """
    per_period = (
        orders.group_by(key)
        .agg(nw.len().alias("__n"), nw.col("value").sum().alias("__rev"))
        .with_columns(nw.col("__n").cast(nw.Float64()))
    )
    per_period = per_period.with_columns(metrics.aov(nw.col("__rev"), nw.col("__n")).alias("__aov"))
    return (
        orders.select(key, "order_id", "value")
        .join(per_period, on=key, how="left")
        .filter(nw.col("__n") > 1)
        .with_columns(
            mean_shift(nw.col("value"), nw.col("__aov"), nw.col("__n")).alias("mean_shift")
        )
        .filter(nw.col("mean_shift") >= min_influence * nw.col("__aov"))
        .with_columns(
            nw.col("value").rank(method="ordinal", descending=True).over(key).alias("__rank"),
            nw.len().over(key).alias("__qualifying"),
            metrics.share(nw.col("value"), nw.col("__rev")).alias("share_of_revenue"),
            (nw.col("__aov") - nw.col("mean_shift")).alias("aov_without"),
        )
        .filter(nw.col("__rank") <= max_orders)
        .sort([key, "value", "order_id"], descending=[False, True, False])
        .drop("__rank")
    )


@dataclass(repr=False)
class LargeOrders(Result):
    """The orders of one period that each move its AOV by ``min_influence`` or more.

    ``table``: ``order_id``, ``value``, ``share_of_revenue``, ``mean_shift`` (how much
    the AOV falls without that order alone) and ``aov_without`` (the AOV without it),
    largest first. ``aov_without_all``: the period's AOV without every listed order.
    No customer data is carried.
    """

    period: str = ""
    basis: str = "net"
    orders: int = 0
    revenue: float = 0.0
    aov: float = math.nan
    aov_without_all: float | None = None
    min_influence: float = 0.02
    more: int = 0
    keys: list[str] = field(default_factory=lambda: ["order_id"])
    largest: tuple[str, float, float] | None = None
    formats: ClassVar[Formats] = LARGE_ORDER_FORMATS

    def _headline(self) -> str:
        return _large_orders_headline(self, self.largest)

    def brief(self) -> str:
        """The short sentence a decomposition's headline quotes ("" when none is listed).

        "Two orders carry £37.30 of November 2011's AOV: 574941 (£52,940.94) and 576365
        (£50,653.91); without them, AOV would be £492.60."
        """
        rows = list(nw.from_native(self.table, eager_only=True).iter_rows(named=True))
        if not rows or self.aov_without_all is None:
            return ""
        money = fmt.in_currency(self.currency)[0]
        cut = 4 if len(rows) + self.more == 4 else 3
        shown = [f"{r['order_id']} ({money(r['value'])})" for r in rows[:cut]]
        rest = len(rows) + self.more - len(shown)
        if rest:
            shown.append(fmt.counted(rest, "more", "more"))
        many = fmt.counted(len(rows), "order", words=True)
        verb, them = ("carries", "it") if len(rows) == 1 else ("carry", "them")
        return (
            f"{_capital(many)} {verb} {money(self.carried)} of "
            f"{fmt.period_name(self.period)}'s AOV: {fmt.listing(shown)}; without {them}, AOV "
            f"would be {money(self.aov_without_all)}."
        )

    def sections(self) -> list[Section]:
        """The listed orders (none: the sentence says so, no empty table)."""
        return [Section(self.table, self.formats)] if self.order_ids else []

    @property
    def order_ids(self) -> list[str]:
        """The listed orders' ids, largest first."""
        return [str(v) for v in nw.from_native(self.table, eager_only=True)["order_id"].to_list()]

    @property
    def carried(self) -> float:
        """How much of the period's AOV the listed orders carry together (0 when none)."""
        return 0.0 if self.aov_without_all is None else self.aov - self.aov_without_all

    def to_list(self, digits: int = 2) -> list[dict[str, Any]]:
        """Plain, rounded rows: order_id, value, share_of_revenue, aov_without."""
        return [
            {
                "order_id": str(r["order_id"]),
                "value": _round(r["value"], digits),
                "share_of_revenue": _round(r["share_of_revenue"], 6),
                "aov_without": _round(r["aov_without"], digits),
            }
            for r in nw.from_native(self.table, eager_only=True).iter_rows(named=True)
        ]

    def chart(self) -> Any:
        """The listed orders' values as bars."""
        from aovlab import charts

        return charts.bar_chart(self, "value")


def large_orders(
    shop: ShopData,
    when: str | periods.Window,
    *,
    basis: str = "net",
    min_influence: float = 0.02,
    max_orders: int = 10,
) -> LargeOrders:
    """The orders that alone move a period's AOV by ``min_influence`` (2 %) or more.

    AOV is a mean, and one business order moves a mean. An order of value v in a period
    of n orders with AOV a moves it by ``(v - a) / (n - 1)`` (:func:`mean_shift`); every
    order that moves it by at least ``min_influence`` x a is listed (at most
    ``max_orders``, largest first) with its share of the period's revenue and the AOV
    without it, and the AOV without all of them. This holds whether or not the period's
    mean/median gap is unusual (:func:`trend` flags those).

    Parameters
    ----------
    shop
        A loaded shop.
    when
        The period: ``2026-10``, ``2026Q3``, ``2026-10-01..2026-10-15``.
    basis
        Revenue basis: ``net`` (default), ``gross`` or ``total``.
    min_influence
        The share of the period's AOV an order must move on its own to be listed.
    max_orders
        At most this many orders.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> res = large_orders(shop, "2025-04")
    >>> print(res.headline)
    Four orders each move April 2025's AOV by 2 % or more: 104735 (€7,475.00, 6.4 % of
    revenue; AOV €126.97 without it), 104592 (€7,160.00, 6.2 % of revenue; AOV €127.33
    without it), 105165 (€4,770.00, 4.1 % of revenue; AOV €130.12 without it) and 104982
    (€4,740.00, 4.1 % of revenue; AOV €130.16 without it). Without all four, AOV is
    €107.92 instead of €135.52.
    >>> res.to_list()[0]
    {'order_id': '104735', 'value': 7475.0, 'share_of_revenue': 0.064211, 'aov_without': 126.97}
    >>> print(large_orders(shop, "2026-08").headline)
    No single order moves August 2026's AOV by 2 % or more; the largest, 125224 (€1,198.50),
    moves it by €0.67 (0.6 %).
    """
    if not 0.0 < min_influence < 1.0:
        raise AovlabInputError(
            "min_influence is out of range",
            expected="0 < min_influence < 1",
            found=repr(min_influence),
        )
    if max_orders < 1:
        raise AovlabInputError(
            "max_orders is out of range", expected="1 or more", found=repr(max_orders)
        )
    window = when if isinstance(when, periods.Window) else periods.parse_window(when)
    orders = (
        metrics.order_table(shop, basis=basis, when=window, lazy=True)
        .select("order_id", "value")
        .with_columns(nw.lit(window.label).alias("__period"))
    )
    # Three small results from one pass: the period's sums, the listed orders and the
    # largest order (for the sentence when none is listed); no order table comes back.
    totals, rows, top = collect_all(
        [
            orders.select(nw.len().alias("n"), nw.col("value").sum().alias("revenue")),
            _large_order_rows(orders, "__period", min_influence, max_orders),
            orders.filter(nw.col("value") == nw.col("value").max())
            .sort("order_id")
            .head(1)
            .select("order_id", "value"),
        ]
    )
    n = int(totals["n"][0])
    revenue = float(totals["revenue"][0] or 0.0) if n else 0.0
    aov = metrics.aov(revenue, n) if n else math.nan
    table = rows.select("order_id", "value", "share_of_revenue", "mean_shift", "aov_without")
    listed = len(table)
    without_all = (
        metrics.aov(revenue - float(table["value"].sum()), n - listed)
        if listed and n > listed
        else None
    )
    largest = None
    if not listed and n > 1:
        top_id, top_value = top.row(0)
        largest = (str(top_id), float(top_value), float(mean_shift(float(top_value), aov, n)))
    return LargeOrders(
        table=_native(table),
        currency=shop.currency,
        period=window.label,
        basis=basis,
        orders=n,
        revenue=revenue,
        aov=aov,
        aov_without_all=finite_or_none(without_all),
        min_influence=min_influence,
        more=int(rows["__qualifying"].max()) - listed if listed else 0,
        largest=largest,
    )


def _large_orders_headline(res: LargeOrders, largest: tuple[str, float, float] | None) -> str:
    cur = res.currency
    whose = f"{fmt.period_name(res.period)}'s AOV"
    by = f"by {fmt.pct(res.min_influence, digits=0)} or more"
    rows = list(nw.from_native(res.table, eager_only=True).iter_rows(named=True))
    if not rows:
        if not res.orders:
            return f"No counted orders in {fmt.period_name(res.period)}."
        text = f"No single order moves {whose} {by}"
        if largest is not None:
            order_id, value, shift = largest
            text += (
                f"; the largest, {order_id} ({fmt.money(value, cur)}), moves it by "
                f"{fmt.money(shift, cur)} ({fmt.pct(metrics.share(shift, res.aov))})"
            )
        return text + "."
    items = [
        f"{r['order_id']} ({fmt.money(r['value'], cur)}, {fmt.pct(r['share_of_revenue'])} of "
        f"revenue; AOV {fmt.money(r['aov_without'], cur)} without it)"
        for r in rows
    ]
    listed = fmt.listing(items)
    if len(rows) == 1 and not res.more and res.aov_without_all is not None:
        r = rows[0]
        return (
            f"One order moves {whose} {by}: {r['order_id']} ({fmt.money(r['value'], cur)}, "
            f"{fmt.pct(r['share_of_revenue'])} of revenue); without it, AOV is "
            f"{fmt.money(res.aov_without_all, cur)} instead of {fmt.money(res.aov, cur)}."
        )
    if len(rows) == 1 and not res.more:
        head = f"One order moves {whose} {by}: {listed}."
    else:
        many = fmt.counted(len(rows) + res.more, "order", words=True)
        head = f"{many[0].upper()}{many[1:]} each move {whose} {by}" + (
            f"; the {'' if len(rows) == 1 else f'{len(rows)} '}largest: {listed}."
            if res.more
            else f": {listed}."
        )
    them = (
        "it"
        if len(rows) == 1
        else "both"
        if len(rows) == 2
        else f"all {fmt.counted(len(rows), 'order', words=True).split()[0]}"
    )
    if res.aov_without_all is None:
        return head + f" They are all of {fmt.period_name(res.period)}'s orders."
    return (
        head + f" Without {them}, AOV is {fmt.money(res.aov_without_all, cur)} instead of "
        f"{fmt.money(res.aov, cur)}."
    )


# --------------------------------------------------------------------------- trend

TREND_FORMATS: Formats = {
    **metrics.KPI_FORMATS,
    "gap": "number",
    "flagged": "flag",
    "outlier_orders": "count",
    "aov_without_outliers": "money",
}
OUTLIER_FORMATS: Formats = {
    "value": "money",
    "share_of_revenue": "share",
    "mean_shift": "money",
}


@dataclass(repr=False)
class TrendResult(Result):
    """AOV by period with the outlier guard.

    ``table``: one row per period with orders, revenue, aov, median_order_value,
    trimmed_aov, ``gap`` (AOV / median), ``flagged``, ``outlier_orders`` and
    ``aov_without_outliers``. ``outliers``: for flagged periods and the latest one, the orders that each
    move the period's AOV by at least ``min_influence`` (order_id, value, share of the
    period's revenue, and ``mean_shift``: how much AOV falls without that order alone).
    """

    outliers: Any = None
    key: str = "month"
    basis: str = "net"
    typical_gap: float | None = None
    threshold: float = metrics.GAP_THRESHOLD
    min_influence: float = 0.02
    formats: ClassVar[Formats] = TREND_FORMATS

    def _headline(self) -> str:
        return _trend_headline(self)

    def sections(self) -> list[Section]:
        """The orders that carry flagged periods and the latest one, then the periods."""
        title = (
            "Orders that each move their period's AOV by "
            f"{fmt.pct(self.min_influence, digits=0)} or more:"
        )
        listed = len(nw.from_native(self.outliers, eager_only=True))
        return [
            *([Section(self.outliers, OUTLIER_FORMATS, title=title)] if listed else []),
            Section(self.table, self.formats),
        ]

    @property
    def flagged(self) -> list[str]:
        """The flagged periods' labels."""
        frame = nw.from_native(self.table, eager_only=True)
        return [str(v) for v in frame.filter(nw.col("flagged"))[self.key].to_list()]

    def outlier_ids(self, period: str | None = None) -> list[str]:
        """Order ids listed for a flagged period (all flagged periods when None)."""
        frame = nw.from_native(self.outliers, eager_only=True)
        if period is not None:
            frame = frame.filter(nw.col(self.key) == period)
        return [str(v) for v in frame["order_id"].to_list()]

    def chart(self) -> Any:
        """Mean, median and trimmed AOV by period; flagged periods marked."""
        from aovlab import charts

        return charts.trend_chart(self)


def trend(
    shop: ShopData,
    by: str = "month",
    *,
    when: str | None = None,
    basis: str = "net",
    threshold: float = metrics.GAP_THRESHOLD,
    min_influence: float = 0.02,
    max_orders: int = 10,
) -> TrendResult:
    """AOV, median and trimmed AOV by period, flagging periods a few orders distort.

    A period is *flagged* when its AOV / median ratio exceeds the typical ratio (the
    median over all periods shown) by more than ``threshold``: order values are skewed,
    so AOV sits above the median everywhere, and only an unusual gap means a few orders
    carry the mean. For each flagged period the orders that each move its AOV by at
    least ``min_influence`` are listed (at most ``max_orders``, largest first), with
    the AOV without them.

    Parameters
    ----------
    shop
        A loaded shop.
    by
        The period: ``day``, ``week``, ``month`` (default), ``quarter`` or ``year``.
    when
        Only this window, e.g. ``aovlab.periods.trailing("2026-10", 13)``.
    basis
        Revenue basis: ``net`` (default), ``gross`` or ``total``.
    threshold
        How far above the typical AOV / median ratio a period must be to be flagged.
    min_influence
        The share of the period's AOV an order must move on its own to be listed.
    max_orders
        At most this many orders per flagged period.

    Examples
    --------
    >>> import aovlab
    >>> res = trend(aovlab.sample.load())
    >>> res.flagged, res.outlier_ids("2025-04")
    (['2025-04'], ['104735', '104592', '105165', '104982'])
    >>> print(res.headline)
    AOV in 2026-10 was €120.92 (median €72.90), up 4.4 % on 2026-09. Mean and median part
    ways in 2025-04 (AOV €135.52 against a median of €68.80): 4 orders each move its AOV by
    2 % or more; without them it is €107.92.
    """
    if by not in periods.PERIODS:
        raise AovlabInputError(
            "a trend runs over calendar periods",
            expected=f"one of {', '.join(periods.PERIODS)}",
            found=repr(by),
        )
    for name, value, low, high in (
        ("threshold", threshold, 0.0, math.inf),
        ("min_influence", min_influence, 0.0, 1.0),
    ):
        if not low < value < high:
            raise AovlabInputError(
                f"{name} is out of range", expected=f"{low} < {name} < {high}", found=repr(value)
            )
    kpis = metrics.kpis(shop, by=by, basis=basis, when=when)
    table = nw.from_native(kpis.table, eager_only=True).select(
        by,
        "orders",
        "revenue",
        "aov",
        "median_order_value",
        "trimmed_aov",
        "top1pct_revenue_share",
    )
    table = table.with_columns(
        metrics.share(nw.col("aov"), nw.col("median_order_value")).alias("gap")
    )
    typical = metrics.typical_gap(table["gap"].to_list())
    flag = (
        metrics.gap_flagged(nw.col("gap"), typical, threshold).fill_null(False)
        if typical is not None
        else nw.lit(False)
    )
    table = table.with_columns(flag.alias("flagged"))
    flagged = [str(v) for v in table.filter(nw.col("flagged"))[by].to_list()]
    orders = metrics.order_table(shop, basis=basis, when=when, by=[by], lazy=True)
    # The flagged periods, and the latest one whether or not it is flagged: one large
    # order must not distort the period being read. Only the listed orders come back.
    latest = [str(table[by].max())]
    outliers = _large_order_rows(
        orders.filter(nw.col(by).is_in([*flagged, *latest])), by, min_influence, max_orders
    ).pipe(collected)
    counts = outliers.group_by(by).agg(
        nw.len().alias("outlier_orders"), nw.col("value").sum().alias("__out")
    )
    outliers = outliers.select(by, "order_id", "value", "share_of_revenue", "mean_shift")
    table = (
        table.join(counts, on=by, how="left")
        .with_columns(
            nw.col("outlier_orders").fill_null(0).cast(nw.Int64()),
            nw.col("__out").fill_null(0.0),
        )
        .with_columns(
            metrics.aov(
                nw.col("revenue") - nw.col("__out"), nw.col("orders") - nw.col("outlier_orders")
            ).alias("aov_without_outliers")
        )
        .drop("__out")
        .sort(by)
    )
    return TrendResult(
        table=table.to_native(),
        currency=shop.currency,
        outliers=outliers.to_native(),
        key=by,
        basis=basis,
        typical_gap=typical,
        threshold=threshold,
        min_influence=min_influence,
    )


def _trend_headline(res: TrendResult) -> str:
    cur, key = res.currency, res.key
    rows = list(nw.from_native(res.table, eager_only=True).iter_rows(named=True))
    text = metrics.trend_sentence(rows, key, cur)
    if res.typical_gap is None:
        return (
            text + f" With fewer than three {key}s there is no typical mean-to-median gap to judge "
            "outliers by."
        )
    flagged = [r for r in rows if r["flagged"]]
    if not flagged:
        return (
            text
            + f" Mean and median move together in every {key}: no handful of orders distorts AOV."
        )
    parts = []
    for r in flagged[:3]:
        n = r["outlier_orders"]
        about = (
            (
                f"{fmt.counted(n, 'order')} each move its AOV by "
                f"{fmt.pct(res.min_influence, digits=0)} or more; without them it is "
                if n > 1
                else f"1 order moves its AOV by {fmt.pct(res.min_influence, digits=0)} or "
                "more; without it, AOV is "
            )
            + fmt.money(r["aov_without_outliers"], cur)
            if n
            else f"no single order moves its AOV by {fmt.pct(res.min_influence, digits=0)}: "
            "many large orders lift the mean together"
        )
        parts.append(
            f"{r[key]} (AOV {fmt.money(r['aov'], cur)} against a median of "
            f"{fmt.money(r['median_order_value'], cur)}): {about}"
        )
    more = f" (and {len(flagged) - 3} more)" if len(flagged) > 3 else ""
    return text + " Mean and median part ways in " + "; in ".join(parts) + more + "."


# --------------------------------------------------------------------------- contributors

CONTRIBUTOR_FORMATS: Formats = {
    "baseline_per_order": "money",
    "current_per_order": "money",
    "change": "change",
    "volume": "change",
    "price": "change",
    "baseline_units_per_order": "number",
    "current_units_per_order": "number",
    "baseline_unit_price": "money",
    "current_unit_price": "money",
}
CODE_FORMATS: Formats = SEGMENT_FORMATS
DISCOUNTS = "(order discounts)"
#: A category row's figures besides its name, in table order.
CATEGORY_FIGURES = ("baseline_per_order", "current_per_order", "volume", "price")
OTHER_PRODUCTS = "(all other products)"
NO_CODE = "(no code)"


@dataclass(repr=False)
class Contributors(Result):
    """What moved revenue per order between two periods.

    ``table``: one row per category with its revenue per order in both periods, the
    ``change`` and its split into ``volume`` (units per order) and ``price`` (revenue
    per unit), plus rows for order discounts and anything outside the order lines; the
    ``change`` column adds up to the AOV change. ``products``: the ``top`` products by
    size of change and one row for all others (adds up the same way). ``codes``: the
    mix/rate split over discount codes, when the orders carry them. ``top_orders``:
    the largest ``share`` of orders' part in the change.
    """

    products: Any = None
    codes: Any = None
    top_orders: dict[str, Any] = field(default_factory=dict)
    baseline: str = ""
    current: str = ""
    basis: str = "net"
    change: float = 0.0
    formats: ClassVar[Formats] = CONTRIBUTOR_FORMATS

    def _headline(self) -> str:
        return _contributors_headline(self, self.change)

    def context(self) -> dict[str, str]:
        """The compared periods, for the column labels."""
        return {"baseline": self.baseline, "current": self.current}

    def sections(self) -> list[Section]:
        """Categories, the products that moved most, and discount codes."""
        out = [Section(self.table, self.formats, title="Revenue per order by category:")]
        if self.products is not None:
            shown = nw.from_native(self.products, eager_only=True).select(
                "sku",
                "product",
                "baseline_per_order",
                "current_per_order",
                "change",
                "volume",
                "price",
            )
            out.append(
                Section(
                    shown.to_native(),
                    self.formats,
                    title="Products whose revenue per order moved most:",
                )
            )
        if self.codes is not None:
            out.append(
                Section(
                    self.codes, CODE_FORMATS, title="Discount codes (mix and rate of their orders):"
                )
            )
        return out

    def chart(self, what: str = "categories") -> Any:
        """Each category's (or product's) change per order, split into volume and price."""
        from aovlab import charts

        return charts.contributors_chart(self, what)


def _native(frame: nw.DataFrame[Any]) -> Any:
    return nw.maybe_reset_index(frame).to_native()


def _per_order_split(
    lines: nw.DataFrame[Any], key: str, n0: float, n1: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Revenue per order by ``key`` in both periods, split into volume and price."""
    keys, sums = period_sums(
        lines, key, {"units": nw.col("quantity").sum(), "revenue": nw.col("__revenue").sum()}
    )
    (u0, u1), (r0, r1) = sums["units"], sums["revenue"]
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(u0 > 0, r0 / u0, np.nan)
        p1 = np.where(u1 > 0, r1 / u1, np.nan)
    # Absent from one period: that period takes the other's price (no price effect).
    f0, f1 = np.where(np.isnan(p0), p1, p0), np.where(np.isnan(p1), p0, p1)
    volume, price = shapley([u0 / n0, f0], [u1 / n1, f1])
    return keys, {
        "baseline_units_per_order": u0 / n0,
        "current_units_per_order": u1 / n1,
        "baseline_unit_price": p0,
        "current_unit_price": p1,
        "baseline_per_order": r0 / n0,
        "current_per_order": r1 / n1,
        "change": r1 / n1 - r0 / n0,
        "volume": volume,
        "price": price,
    }


def contributors(
    shop: ShopData,
    current: str | periods.Window,
    baseline: str | periods.Window | None = None,
    *,
    basis: str = "net",
    top: int = 10,
    share: float = 0.01,
) -> Contributors:
    """Categories, products, discount codes and the largest orders behind an AOV change.

    Revenue per order of a category (or product) is its line revenue divided by all
    orders of the period; it is units per order x revenue per unit, so its change splits
    exactly into a *volume* and a *price* effect (:func:`shapley`). Over all categories,
    plus order discounts (net basis) and anything outside the lines, the changes add up
    to the AOV change.

    Parameters
    ----------
    shop
        A loaded shop.
    current, baseline
        Periods as in :func:`decompose`.
    basis
        Revenue basis: ``net`` (default), ``gross`` or ``total``.
    top
        Products listed by size of change; the rest share one row.
    share
        The share of largest orders whose part in the change is measured (default 1 %).

    Examples
    --------
    >>> import aovlab
    >>> res = contributors(aovlab.sample.load(), "2026-03")
    >>> print(res.headline)
    Per order, Tents added most (+€6.32) and Footwear took away most (−€5.43) from 2026-02
    to 2026-03. The top 1 % of orders (13 in 2026-03) account for +€0.46 of the +€7.08
    change.
    """
    if not 0 < share < 1:
        raise AovlabInputError("share is out of range", expected="0 < share < 1", found=repr(share))
    p = comparison(current, baseline)
    orders = settled(
        shop,
        labelled(shop, p, basis=basis).select(
            "order_id", "__current", "value", "merchandise", "discount"
        ),
    )
    _, t = period_sums(
        orders,
        None,
        {
            "orders": nw.len(),
            **{c: nw.col(c).sum() for c in ("value", "merchandise", "discount")},
        },
    )
    n0, n1 = require_orders(shop, p, t["orders"])
    (v0,), (v1,) = t["value"]
    a0, a1 = v0 / n0, v1 / n1
    change = a1 - a0
    backend = namespace(shop)

    # Rows: (category, baseline per order, current per order, volume, price).
    rows: list[tuple[str, float, float, float | None, float | None]] = []
    products = None
    if shop.lines is not None:
        lines = shop.scan("lines").select(
            "order_id", "sku", "product", "category", "quantity", "unit_price"
        )
        joined = settled(
            shop,
            lines.drop("product").join(
                orders.lazy().select("order_id", "__current"), on="order_id", how="inner"
            ),
        )
        joined = joined.with_columns((nw.col("quantity") * nw.col("unit_price")).alias("__revenue"))
        cats, split = _per_order_split(joined, "category", n0, n1)
        order = np.lexsort((cats, -split["change"]))
        rows += zip(
            cats[order].tolist(),
            *(split[c][order].tolist() for c in CATEGORY_FIGURES),
            strict=True,
        )
        skus, split = _per_order_split(joined, "sku", n0, n1)
        names = (
            lines.group_by("sku")
            .agg(nw.col("product").min(), nw.col("category").min())
            .pipe(collected)
        )
        by_sku = small_frame({"sku": skus.tolist(), **split}, backend)
        products = _top_products(by_sku.join(names, on="sku", how="left"), top)
    else:
        (m0,), (m1,) = t["merchandise"]
        rows.append(("(merchandise; no order lines given)", m0 / n0, m1 / n1, None, None))
    if basis != "gross":
        (d0,), (d1,) = t["discount"]
        rows.append((DISCOUNTS, -d0 / n0, -d1 / n1, None, None))
    residual = change - sum(r[2] - r[1] for r in rows)
    if abs(residual) >= 0.5 * 10 ** -minor_unit(shop.currency):
        label = "(shipping, tax and other charges)" if basis == "total" else "(not in order lines)"
        rows.append((label, 0.0, residual, None, None))
    table = small_frame(
        {
            "category": [r[0] for r in rows],
            "baseline_per_order": [r[1] for r in rows],
            "current_per_order": [r[2] for r in rows],
            "change": [r[2] - r[1] for r in rows],
            "volume": np.array([np.nan if r[3] is None else r[3] for r in rows]),
            "price": np.array([np.nan if r[4] is None else r[4] for r in rows]),
        },
        backend,
    )

    codes = None
    if "discount_code" in shop.dimensions:
        by_code = decompose(shop, p.current, p.baseline, by="discount_code", basis=basis)
        codes_frame = nw.from_native(by_code.segments, eager_only=True)
        codes = _native(
            codes_frame.with_columns(
                nw.when(nw.col("discount_code") == dimensions.MISSING)
                .then(nw.lit(NO_CODE))
                .otherwise(nw.col("discount_code"))
                .alias("discount_code")
            )
        )

    top_orders = _top_orders(orders, share, n0, n1, a0, a1)
    return Contributors(
        table=_native(table),
        currency=shop.currency,
        products=None if products is None else _native(products),
        codes=codes,
        top_orders=top_orders,
        baseline=p.baseline.label,
        current=p.current.label,
        basis=basis,
        change=change,
    )


def _top_products(frame: nw.DataFrame[Any], top: int) -> nw.DataFrame[Any]:
    columns = [
        "sku",
        "product",
        "category",
        "baseline_units_per_order",
        "current_units_per_order",
        "baseline_unit_price",
        "current_unit_price",
        "baseline_per_order",
        "current_per_order",
        "change",
        "volume",
        "price",
    ]
    ranked = frame.with_columns(nw.col("change").abs().alias("__size")).sort(
        ["__size", "sku"], descending=[True, False]
    )
    head = ranked.head(top).select(columns)
    rest = ranked.tail(max(0, len(ranked) - top))
    if len(rest) == 0:
        return head
    other = rest.select(
        nw.lit(OTHER_PRODUCTS).alias("sku"),
        nw.lit(f"({fmt.count(len(rest))} other products)").alias("product"),
        nw.lit(None, dtype=nw.String()).alias("category"),
        *(nw.col(c).sum() for c in ("baseline_units_per_order", "current_units_per_order")),
        nw.lit(None, dtype=nw.Float64()).alias("baseline_unit_price"),
        nw.lit(None, dtype=nw.Float64()).alias("current_unit_price"),
        *(
            nw.col(c).sum()
            for c in ("baseline_per_order", "current_per_order", "change", "volume", "price")
        ),
    )
    return nw.concat([head, other.select(columns)])


def _top_orders(
    orders: nw.DataFrame[Any], share: float, n0: float, n1: float, a0: float, a1: float
) -> dict[str, Any]:
    """The largest ``share`` of orders in each period and their part in the AOV change."""
    n = nw.len().over("__current").cast(nw.Float64())
    ranked = orders.with_columns(
        nw.col("value").rank(method="ordinal", descending=True).over("__current").alias("__rank"),
        metrics.top_count(n, share).alias("__k"),
    ).filter(nw.col("__rank") <= nw.col("__k"))
    _, tops = period_sums(ranked, None, {"count": nw.len(), "value": nw.col("value").sum()})
    (k0,), (k1,) = tops["count"]
    (t0,), (t1,) = tops["value"]
    w0 = metrics.aov(a0 * n0 - t0, n0 - k0)
    w1 = metrics.aov(a1 * n1 - t1, n1 - k1)
    change_without = w1 - w0 if math.isfinite(w0) and math.isfinite(w1) else None
    return {
        "share": share,
        "baseline_count": int(k0),
        "current_count": int(k1),
        "baseline_aov_without": finite_or_none(w0),
        "current_aov_without": finite_or_none(w1),
        "change_without": change_without,
        "influence": None if change_without is None else (a1 - a0) - change_without,
    }


def _contributors_headline(res: Contributors, change: float) -> str:
    cur = res.currency

    _, signed = fmt.in_currency(cur)

    rows = [
        r
        for r in nw.from_native(res.table, eager_only=True).iter_rows(named=True)
        if not str(r["category"]).startswith("(")
    ]
    text = ""
    if rows:
        up = max(rows, key=lambda r: r["change"])
        down = min(rows, key=lambda r: r["change"])
        pieces = []
        if up["change"] > 0:
            pieces.append(f"{up['category']} added most ({signed(up['change'])})")
        if down["change"] < 0:
            pieces.append(f"{down['category']} took away most ({signed(down['change'])})")
        if pieces:
            text = f"Per order, {' and '.join(pieces)} from {res.baseline} to {res.current}. "
    t = res.top_orders
    if t.get("influence") is not None:
        pct = fmt.pct(t["share"], digits=0 if t["share"] * 100 == int(t["share"] * 100) else 1)
        text += (
            f"The top {pct} of orders ({t['current_count']} in {res.current}) account for "
            f"{signed(t['influence'])} of the {signed(change)} change."
        )
    return text.strip()


# --------------------------------------------------------------------------- next steps


@dataclass(repr=False)
class NextSteps(Result):
    """A few plain-language pointers computed from the largest effects.

    ``table`` has one ``next_step`` per row, the largest effect first; the headline is
    the first, and the display lists the others under it.
    """

    formats: ClassVar[Formats] = {"next_step": "text"}

    @property
    def items(self) -> list[str]:
        """The pointers, the largest effect first."""
        return [str(v) for v in nw.from_native(self.table, eager_only=True)["next_step"]]

    def _headline(self) -> str:
        return self.items[0] if self.items else ""

    def sections(self) -> list[Section]:
        """The pointers after the first."""
        return [
            Section(nw.from_native(self.table, eager_only=True).tail(-1).to_native(), self.formats)
        ]

    def chart(self) -> Any:
        """Pointers have no chart: a text chart that says so."""
        from aovlab import charts

        return charts.message("Where to look next is a list, not a chart.")

    def __str__(self) -> str:
        return "\n".join(f"- {item}" for item in self.items)

    def __repr__(self) -> str:
        return str(self)


def what_next(
    decomposition: Decomposition,
    contributors: Contributors | None = None,
    trend: TrendResult | None = None,
) -> NextSteps:
    """Where to look next: one pointer per finding, the largest effect first.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> print(what_next(decompose(shop, "2026-08", by="device")))
    - Items per order moved AOV by +€13.67 and price per item by −€18.52: cheaper items were added to baskets. The contributors show which products.
    - Where orders came from moved AOV more than what each device spends (mix −€13.14, rate +€8.29): the share of mobile orders rose from 34.7 % to 63.2 %. Compare what each device buys in the segment breakdown, and check whether the shift is a campaign or lasting.
    """
    d = decomposition.to_dict()
    cur = decomposition.currency
    dim = decomposition.by or "segment"
    by = fmt.dimension_label(dim)

    _, signed = fmt.in_currency(cur)

    found: list[tuple[float, str]] = []
    rows = (
        []
        if decomposition.segments is None
        else list(nw.from_native(decomposition.segments, eager_only=True).iter_rows(named=True))
    )
    if len(rows) > 1 and d["change"] != 0:
        mix, rate = d["mix_effect"], d["rate_effect"]
        if abs(mix) >= abs(rate):
            # The segment that pushed the mix effect's way most.
            top = max(rows, key=lambda r: r["mix"] if mix > 0 else -r["mix"])
            found.append(
                (
                    abs(mix),
                    f"Where orders came from moved AOV more than what each {by} spends "
                    f"(mix {signed(mix)}, rate {signed(rate)}): the share of "
                    f"{dimensions.orders_of(dim, top[dim])} "
                    f"{_direction(top['current_share'] - top['baseline_share'])} from "
                    f"{fmt.pct(top['baseline_share'])} to {fmt.pct(top['current_share'])}. Compare "
                    f"what each {by} buys in the segment breakdown, and check whether the shift "
                    "is a campaign or lasting.",
                )
            )
        else:
            top = max(rows, key=lambda r: r["rate"] if rate > 0 else -r["rate"])
            found.append(
                (
                    abs(rate),
                    f"What each {by} spends moved AOV more than where orders came from "
                    f"(rate {signed(rate)}, mix {signed(mix)}), above all "
                    f"{dimensions.segment_name(dim, top[dim])} ({signed(top['rate'])}). The contributors name the "
                    "categories and products behind it.",
                )
            )
    if d["upt_effect"] is not None and d["change"] != 0:
        upt, aur = d["upt_effect"], d["aur_effect"]
        if (upt > 0) != (aur > 0) and min(abs(upt), abs(aur)) > 0.25 * abs(d["change"]):
            what = (
                "cheaper items were added to baskets"
                if upt > 0
                else "baskets held fewer, dearer items"
            )
            text = (
                f"Items per order moved AOV by {signed(upt)} and price per item by {signed(aur)}: "
                f"{what}. The contributors show which products."
            )
        elif abs(upt) >= abs(aur):
            text = (
                f"Items per order moved AOV more than price per item (UPT {signed(upt)}, "
                f"AUR {signed(aur)}). Bundles, add-ons and the "
                "free-shipping threshold are the levers for basket size."
            )
        else:
            text = (
                f"Price per item moved AOV more than items per order (AUR {signed(aur)}, "
                f"UPT {signed(upt)})."
            )
            if contributors is not None and contributors.products is not None:
                products = [
                    r
                    for r in nw.from_native(contributors.products, eager_only=True).iter_rows(
                        named=True
                    )
                    if r["sku"] != OTHER_PRODUCTS
                ]
                if products:
                    lead = max(products, key=lambda r: abs(r["price"]))
                    text += (
                        f" The largest price effect is {lead['product']} ({signed(lead['price'])} "
                        "per order);"
                    )
            text += " test before moving prices further (price-sensitivity notebook)."
        found.append((max(abs(upt), abs(aur)), text))
    if contributors is not None:
        t = contributors.top_orders
        if (
            t.get("influence") is not None
            and d["change"]
            and abs(t["influence"]) > 0.3 * abs(d["change"])
        ):
            found.append(
                (
                    abs(t["influence"]),
                    f"The top {fmt.pct(t['share'], digits=0)} of orders account for "
                    f"{signed(t['influence'])} of the {signed(d['change'])} change: look at the "
                    "largest orders before acting on the average.",
                )
            )
        rows = list(nw.from_native(contributors.table, eager_only=True).iter_rows(named=True))
        cats = [r for r in rows if not str(r["category"]).startswith("(")]
        if cats:
            big = max(cats, key=lambda r: abs(r["change"]))
            how = "volume" if abs(big["volume"]) >= abs(big["price"]) else "price"
            found.append(
                (
                    abs(big["change"]),
                    f"{big['category']} moved most per order ({signed(big['change'])}), mostly "
                    f"through {how} ({signed(big[how])}).",
                )
            )
    large = decomposition.large_orders
    named = large is not None and large.aov_without_all is not None and bool(large.order_ids)
    if large is not None and named:
        found.append(
            (
                math.inf,
                large.brief()
                + " Read the AOV without them, and check whether such orders recur, before "
                "acting on the average.",
            )
        )
    if trend is not None:
        # The current period's large orders are named above when there are any.
        which = [
            p
            for p in (decomposition.baseline, decomposition.current)
            if p in trend.flagged and not (named and p == decomposition.current)
        ]
        if which:
            found.append(
                (
                    math.inf,
                    f"Mean and median part ways in {' and '.join(which)}: a few large orders "
                    "carry the average there, so read the median and the AOV without them too.",
                )
            )
    if not found:
        found.append(
            (
                0.0,
                f"AOV moved by {signed(d['change'])} with no single effect standing out; watch "
                "the trend for another period before acting.",
            )
        )
    items = [text for _, text in sorted(found, key=lambda f: -f[0])]
    backend = nw.get_native_namespace(nw.from_native(decomposition.table, eager_only=True))
    table = nw.from_dict({"next_step": items}, backend=backend)
    return NextSteps(table=table.to_native(), currency=decomposition.currency)
