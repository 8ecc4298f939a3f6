"""The KPI definitions. Every formula lives here once; everything else calls it.

The formulas work on plain numbers and on narwhals expressions alike, so the same
definition gives the worked example and the engine-side aggregation:

>>> round(aov(400_000, 4_234), 2)
94.47
>>> import narwhals.stable.v2 as nw
>>> expr = aov(nw.col("revenue"), nw.col("orders"))  # an engine expression

Revenue basis (``basis=``), per order; cancelled and test orders never count:

- ``net`` (default): merchandise - discount, excluding shipping and tax. What shop
  platforms report as AOV.
- ``gross``: merchandise before order-level discounts.
- ``total``: what the customer paid, shipping and tax included.

Refunds are not subtracted from any basis (AOV describes baskets as ordered); the
``refunded`` column stays available for analyses that need it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, overload

import narwhals.stable.v2 as nw

from aovlab import fmt, periods
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collect_all, collected, is_counted
from aovlab.results import Formats, Result

BASES: tuple[str, ...] = ("net", "total", "gross")

# --------------------------------------------------------------------------- formulas


def _ratio(num: Any, den: Any) -> Any:
    """Divide num by den: NaN for numbers and null for expressions when den is 0."""
    if isinstance(num, nw.Expr) or isinstance(den, nw.Expr):
        den_e = den if isinstance(den, nw.Expr) else nw.lit(den)
        num_e = num if isinstance(num, nw.Expr) else nw.lit(num)
        return nw.when(den_e != 0).then(num_e / den_e)
    return float(num) / float(den) if den else math.nan


def aov(revenue: Any, orders: Any) -> Any:
    """Average order value: AOV = revenue / orders.

    Worked examples: 400,000 / 4,234 = 94.47 and 10,000 / 100 = 100.00.

    >>> round(aov(400_000, 4_234), 2), aov(10_000, 100)
    (94.47, 100.0)
    """
    return _ratio(revenue, orders)


def upt(units: Any, orders: Any) -> Any:
    """Units per transaction: UPT = units / orders.

    >>> upt(250, 100)
    2.5
    """
    return _ratio(units, orders)


def aur(revenue: Any, units: Any) -> Any:
    """Average unit retail: AUR = revenue / units, so that AOV = UPT x AUR exactly.

    >>> a, u = aur(10_000, 250), upt(250, 100)
    >>> a, round(u * a, 10) == aov(10_000, 100)
    (40.0, True)
    """
    return _ratio(revenue, units)


def margin_per_order(revenue: Any, cogs: Any, orders: Any) -> Any:
    """Gross margin per order = (revenue - COGS) / orders.

    >>> margin_per_order(10_000, 6_000, 100)
    40.0
    """
    return _ratio(revenue - cogs, orders)


def conversion_rate(orders: Any, sessions: Any) -> Any:
    """Conversion rate = orders / sessions: 10,000 / 400,000 = 2.5 %.

    >>> conversion_rate(10_000, 400_000)
    0.025
    """
    return _ratio(orders, sessions)


def funnel_revenue(sessions: Any, conversion: Any, order_value: Any) -> Any:
    """Revenue = sessions x conversion rate x AOV: 400,000 x 2.5 % x 94.47 = 944,700.

    >>> round(funnel_revenue(400_000, 0.025, 94.47), 2)
    944700.0
    """
    return sessions * conversion * order_value


def purchase_frequency(orders: Any, customers: Any) -> Any:
    """Purchase frequency = orders / customers.

    >>> purchase_frequency(150, 100)
    1.5
    """
    return _ratio(orders, customers)


def repeat_rate(repeat_customers: Any, customers: Any) -> Any:
    """Repeat rate = customers with 2+ orders / customers.

    >>> repeat_rate(30, 120)
    0.25
    """
    return _ratio(repeat_customers, customers)


def clv_to_cac(clv: Any, cac: Any) -> Any:
    """CLV : CAC, a customer's lifetime value over the cost of acquiring one.

    The member comparison's historic CLV (margin per customer so far) and the CLV models'
    expected margin over a horizon both use it.

    >>> clv_to_cac(150.0, 50.0)
    3.0
    """
    return _ratio(clv, cac)


#: How far above the typical AOV / median ratio a period's ratio must be to be flagged.
GAP_THRESHOLD = 0.15


def typical_gap(gaps: Sequence[float | None]) -> float | None:
    """The typical AOV / median ratio over periods: their median (None under three periods).

    Order values are skewed, so AOV sits above the median in every period; only an
    unusually wide gap says that a few orders carry the mean (the outlier guard).

    >>> typical_gap([1.6, 1.7, 1.65, 2.4]), typical_gap([1.6, 1.7])
    (1.7, None)
    """
    finite = sorted(g for g in gaps if g is not None and math.isfinite(g))
    return finite[len(finite) // 2] if len(finite) >= 3 else None


def gap_flagged(gap: Any, typical: float, threshold: float = GAP_THRESHOLD) -> Any:
    """Whether a period's AOV / median ratio is more than ``threshold`` above the typical one.

    Works on numbers and on narwhals expressions.

    >>> gap_flagged(2.4, 1.7), gap_flagged(1.8, 1.7)
    (True, False)
    """
    return gap > typical * (1 + threshold)


def share(part: Any, whole: Any) -> Any:
    """Share of a total: part / whole.

    >>> share(25, 100)
    0.25
    """
    return _ratio(part, whole)


def order_revenue(basis: str = "net") -> nw.Expr:
    """The per-order revenue expression for a basis (``net``, ``gross`` or ``total``)."""
    if basis == "net":
        return nw.col("merchandise") - nw.col("discount")
    if basis == "gross":
        return nw.col("merchandise")
    if basis == "total":
        return nw.col("total")
    raise AovlabInputError(
        "unknown revenue basis", expected=f"one of {', '.join(BASES)}", found=repr(basis)
    )


def worked_examples() -> Any:
    """The source articles' worked examples, computed by the formulas above (a pandas frame).

    Examples
    --------
    >>> worked_examples()[["formula", "result"]].to_string(index=False)
    '...400,000 / 4,234...94.47...'
    """
    import pandas as pd

    n = fmt.count  # the figures in the formulas follow the locale too
    rows = [
        ("AOV = revenue / orders", f"{n(400_000)} / {n(4_234)}", aov(400_000, 4_234)),
        ("AOV = revenue / orders", f"{n(10_000)} / 100", aov(10_000, 100)),
        (
            "conversion rate = orders / sessions",
            f"{n(10_000)} / {n(400_000)}",
            conversion_rate(10_000, 400_000),
        ),
        (
            "revenue = sessions x CR x AOV",
            f"{n(400_000)} x {fmt.pct(0.025)} x {fmt.number(94.47)}",
            funnel_revenue(
                400_000, conversion_rate(10_000, 400_000), round(aov(400_000, 4_234), 2)
            ),
        ),
        (
            "AOV = UPT x AUR",
            f"{fmt.number(2.5, 1)} units x {fmt.number(40)}",
            upt(250, 100) * aur(10_000, 250),
        ),
    ]
    frame = pd.DataFrame(rows, columns=["metric", "formula", "value"])
    frame["result"] = [
        fmt.number(v) if i != 2 else fmt.pct(v) for i, v in enumerate(frame["value"])
    ]
    return frame.drop(columns="value").set_index("metric")


# --------------------------------------------------------------------------- order level


def pick_dimension(
    shop: ShopData, preferred: str | None = None, *, other_than: str | None = None
) -> str | None:
    """``preferred`` if the shop can be split by it, else the shop's first own dimension.

    Notebooks use it so that a section still runs on an export without that column;
    without any dimension of its own, the derived ``customer_type`` (None for a shop
    with no dimension at all). ``other_than`` is never picked (the first of a pair).

    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> pick_dimension(shop, "missing"), pick_dimension(shop, "channel", other_than="channel")
    ('channel', 'device')
    """
    from aovlab.dimensions import available

    dims = [d for d in available(shop) if d != other_than]
    if preferred in dims:
        return preferred
    own = [d for d in shop.dimensions if d != other_than]
    return own[0] if own else (dims[0] if dims else None)


def _keys(shop: ShopData, by: str | list[str | None] | tuple[str, ...] | None) -> list[str]:
    if by is None:
        return []
    keys = [by] if isinstance(by, str) else [k for k in by if k is not None]
    if len(keys) > 2:
        raise AovlabInputError(
            "too many dimensions",
            expected="at most two (a period and/or columns)",
            found=", ".join(keys),
        )
    from aovlab.dimensions import available

    dims = available(shop)
    for key in keys:
        if key not in periods.PERIODS and key not in dims:
            raise AovlabInputError(
                f"cannot group by '{key}'",
                table="orders",
                column=key,
                expected=f"a period ({', '.join(periods.PERIODS)}) or an order dimension: "
                + ", ".join(dims),
                found="no such column",
            )
    return keys


Windows = str | periods.Window | Sequence[str | periods.Window]


def in_windows(shop: ShopData, when: Windows, column: str = "ordered_at") -> nw.Expr:
    """A filter expression: ``column`` falls inside the window(s) ``when``."""
    items = [when] if isinstance(when, str | periods.Window) else list(when)
    parsed = sorted(
        (w if isinstance(w, periods.Window) else periods.parse_window(w) for w in items),
        key=lambda w: w.start,
    )
    # Adjacent or overlapping windows become one range: fewer comparisons per row.
    merged = [parsed[0]]
    for window in parsed[1:]:
        last = merged[-1]
        if window.start <= last.end:
            end = max(last.end, window.end)
            merged[-1] = periods.Window(last.start, end, f"{last.label}..{window.label}", "range")
        else:
            merged.append(window)
    expr = periods.within(column, merged[0], shop.timezone)
    for window in merged[1:]:
        expr = expr | periods.within(column, window, shop.timezone)
    return expr


@overload
def order_table(
    shop: ShopData,
    *,
    basis: str = ...,
    when: Windows | None = ...,
    by: list[str] | None = ...,
    lazy: Literal[False] = ...,
) -> nw.DataFrame[Any]: ...
@overload
def order_table(
    shop: ShopData,
    *,
    basis: str = ...,
    when: Windows | None = ...,
    by: list[str] | None = ...,
    lazy: Literal[True],
) -> nw.LazyFrame[Any]: ...
def order_table(
    shop: ShopData,
    *,
    basis: str = "net",
    when: Windows | None = None,
    by: list[str] | None = None,
    lazy: bool = False,
) -> nw.DataFrame[Any] | nw.LazyFrame[Any]:
    """Counted orders, one row each, with ``value`` on the basis, ``units`` and ``cogs``.

    Period keys in ``by`` become label columns (``month`` = ``2026-10``). ``units`` and
    ``cogs`` are null where unknown. ``when`` is a window or several (rows inside any
    of them). ``lazy=True`` returns a lazy frame, so a caller that aggregates right
    away lets the engine read only what it needs. This is the one place order-level
    facts are built.
    """
    columns = shop.columns("orders")
    keys = [k for k in by or [] if k not in periods.PERIODS]
    dims = [k for k in keys if k in columns]
    derived = [k for k in keys if k not in columns]
    needed = [
        "order_id",
        "customer_id",
        "ordered_at",
        "merchandise",
        "discount",
        "total",
        "status",
        "test",
        *(c for c in ("units", "cogs") if c in columns),
        *dims,
    ]
    # Only the columns needed are read (a converted shop's Parquet scan reads no others).
    frame: Any = shop.scan().select(*dict.fromkeys(needed)).filter(is_counted())
    if when is not None:
        frame = frame.filter(in_windows(shop, when))
    net = order_revenue("net")
    frame = frame.with_columns(
        order_revenue(basis).alias("value"),
        net.alias("net_value"),
        *(periods.label("ordered_at", k).alias(k) for k in by or [] if k in periods.PERIODS),
    )
    missing = nw.lit(None, dtype=nw.Float64())
    frame = frame.with_columns(
        (nw.col("units").cast(nw.Float64()) if "units" in columns else missing).alias("units"),
        (nw.col("cogs") if "cogs" in columns else missing).alias("cogs"),
    )
    # Segments are text, and an empty value a segment of its own, as dimensions.attach
    # makes them for drivers: by= groups alike everywhere.
    if dims:
        from aovlab.dimensions import MISSING

        schema = frame.collect_schema()
        frame = frame.with_columns(
            *(_as_text(d, schema[d]).fill_null(MISSING).alias(d) for d in dims)
        )
    if derived:
        from aovlab import dimensions

        for name in derived:  # customer_type, main_category, discount_used
            frame = dimensions.attach(shop, frame, name)
    return frame if lazy else frame.pipe(collected)


def _as_text(name: str, dtype: Any) -> nw.Expr:
    """A dimension as text; a flag reads ``true``/``false`` in every backend.

    (pandas writes a cast boolean as ``True``, polars as ``true``.)
    """
    col = nw.col(name)
    if dtype != nw.Boolean:
        return col.cast(nw.String())
    flag = nw.when(col).then(nw.lit("true")).otherwise(nw.lit("false"))
    return nw.when(col.is_null()).then(nw.lit(None, dtype=nw.String())).otherwise(flag)


# --------------------------------------------------------------------------- KPIs

KPI_FORMATS: Formats = {
    "orders": "count",
    "revenue": "money",
    "aov": "money",
    "median_order_value": "money",
    "trimmed_aov": "money",
    "top1pct_revenue_share": "share",
    "units": "quantity",
    "upt": "number",
    "aur": "money",
    "margin_per_order": "money",
    "cost_coverage": "share",
    "sessions": "count",
    "conversion_rate": "share",
}

#: The figures in every KPI row, in order.
KPI_FIGURES: tuple[str, ...] = (
    "orders",
    "revenue",
    "aov",
    "median_order_value",
    "trimmed_aov",
    "top1pct_revenue_share",
    "upt",
    "aur",
    "margin_per_order",
)


def top_count(n: nw.Expr, share: float) -> nw.Expr:
    """How many orders make the top ``share`` of ``n`` (a float count): ceil(n x share).

    At least one order for any share above 0, so the top 1 % of 40 orders is one order.
    """
    return (n * share).ceil()


def order_flags() -> list[nw.Expr]:
    """Per-order helper columns that :func:`order_sums` adds up (on an order table)."""
    return [
        nw.col("units").is_null().cast(nw.Int64()).alias("__no_units"),
        nw.col("cogs").is_null().cast(nw.Int64()).alias("__no_cogs"),
        nw.when(~nw.col("cogs").is_null())
        .then(nw.col("net_value"))
        .otherwise(0.0)
        .alias("__costed"),
    ]


def order_sums() -> list[nw.Expr]:
    """The sums behind every per-group KPI, for ``group_by(...).agg`` after :func:`order_flags`."""
    return [
        nw.len().alias("orders"),
        nw.col("value").sum().alias("revenue"),
        nw.col("units").sum().alias("units"),
        nw.col("__no_units").sum(),
        nw.col("cogs").sum().alias("cogs"),
        nw.col("__no_cogs").sum(),
        nw.col("net_value").sum().alias("__net"),
        nw.col("__costed").sum(),
    ]


def order_ratios() -> list[nw.Expr]:
    """AOV, UPT, AUR, margin per order and cost coverage from :func:`order_sums`.

    UPT and AUR only where every order's units are known, margin only where every
    order's cost is: a partial figure is never shown as a whole one.
    """
    all_units = nw.col("__no_units") == 0
    all_costs = nw.col("__no_cogs") == 0
    units = nw.when(all_units).then(nw.col("units"))
    return [
        nw.col("orders").cast(nw.Int64()),
        aov(nw.col("revenue"), nw.col("orders")).alias("aov"),
        units.alias("units"),
        upt(units, nw.col("orders")).alias("upt"),
        aur(nw.col("revenue"), units).alias("aur"),
        nw.when(all_costs)
        .then(margin_per_order(nw.col("__net"), nw.col("cogs"), nw.col("orders")))
        .alias("margin_per_order"),
        share(nw.col("__costed"), nw.col("__net")).alias("cost_coverage"),
    ]


def _aggregate(frame: Any, keys: list[str], *, trim: float, top: float, dates: bool = False) -> Any:
    """KPIs per group of ``keys`` (all rows when empty), computed in the engine.

    ``frame`` is eager or lazy, and so is the result; ``dates`` adds each group's first
    and last order time (``__first``, ``__last``).
    """
    group = keys or ["__all"]
    if not keys:
        frame = frame.with_columns(nw.lit("all").alias("__all"))
    # Window values once as columns: eager frames do not share repeated sub-expressions.
    frame = frame.with_columns(
        nw.len().over(*group).cast(nw.Float64()).alias("__n"),
        nw.col("value").rank(method="ordinal").over(*group).cast(nw.Float64()).alias("__rank"),
    )
    n, rank = nw.col("__n"), nw.col("__rank")
    # floor, not a cast: SQL engines round a float cast to an integer (79.5 -> 80).
    k_trim = (n * trim).floor()
    k_top = top_count(n, top)
    in_trim = (rank > k_trim) & (rank <= n - k_trim)
    in_top = (n - rank) < k_top
    frame = frame.with_columns(
        nw.when(in_trim).then(nw.col("value")).otherwise(0.0).alias("__trim_v"),
        in_trim.cast(nw.Int64()).alias("__trim_n"),
        nw.when(in_top).then(nw.col("value")).otherwise(0.0).alias("__top_v"),
        *order_flags(),
    )
    agg = frame.group_by(*group).agg(
        *order_sums(),
        nw.col("value").median().alias("median_order_value"),
        nw.col("__trim_v").sum(),
        nw.col("__trim_n").sum(),
        nw.col("__top_v").sum(),
        *(
            (
                nw.col("ordered_at").min().alias("__first"),
                nw.col("ordered_at").max().alias("__last"),
            )
            if dates
            else ()
        ),
    )
    out = agg.with_columns(
        *order_ratios(),
        _ratio(nw.col("__trim_v"), nw.col("__trim_n")).alias("trimmed_aov"),
        share(nw.col("__top_v"), nw.col("revenue")).alias("top1pct_revenue_share"),
    )
    columns = [
        *keys,
        "orders",
        "revenue",
        "aov",
        "median_order_value",
        "trimmed_aov",
        "top1pct_revenue_share",
        "units",
        "upt",
        "aur",
        "margin_per_order",
        "cost_coverage",
        *(("__first", "__last") if dates else ()),
    ]
    out = out.select(columns)
    return out.sort(keys) if keys else out


def _sessions(
    shop: ShopData, keys: list[str], when: str | periods.Window | None
) -> nw.DataFrame[Any] | None:
    """Sessions per group, when the traffic table can be split by these keys."""
    if shop.traffic is None:
        return None
    traffic = shop.scan("traffic")
    dims = [k for k in keys if k not in periods.PERIODS]
    if any(d not in shop.columns("traffic") for d in dims):
        return None
    if when is not None:
        window = when if isinstance(when, periods.Window) else periods.parse_window(when)
        traffic = traffic.filter(periods.within("date", window, shop.timezone))
    traffic = traffic.with_columns(
        *(periods.label("date", k).alias(k) for k in keys if k in periods.PERIODS),
        nw.lit("all").alias("__all"),
    )
    group = keys or ["__all"]
    return (
        traffic.group_by(*group)
        .agg(nw.col("sessions").sum())
        .with_columns(nw.col("sessions").cast(nw.Int64()))
        .pipe(collected)
    )


@dataclass(repr=False)
class KpiResult(Result):
    """KPIs overall, by period or by dimension(s): ``table``, ``headline``, ``chart()``.

    ``span`` says which orders the figures cover ("in 2026-10", "from ... to ...").
    """

    keys: list[str] = field(default_factory=list)
    basis: str = "net"
    span: str = ""
    formats: ClassVar[Formats] = KPI_FORMATS

    def _headline(self) -> str:
        return _headline(self)

    def chart(self) -> Any:
        """AOV with median (and trimmed AOV) by the first key, as an Altair chart."""
        from aovlab import charts

        return charts.kpi_chart(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain values: currency, basis, and one entry per row under ``rows``."""
        return {
            "currency": self.currency,
            "basis": self.basis,
            "keys": self.keys,
            "rows": self.rows(),
        }


def kpis(
    shop: ShopData,
    by: str | list[str | None] | None = None,
    *,
    basis: str = "net",
    when: str | None = None,
    trim: float = 0.05,
    top: float = 0.01,
) -> KpiResult:
    """Core KPIs overall, by period (day, week, month, quarter) or by one or two dimensions.

    Parameters
    ----------
    shop
        A loaded shop.
    by
        ``None`` (one row), a period name, an order column, or a pair such as
        ``["month", "channel"]``. Periods are calendar periods in the shop's time zone.
    basis
        Revenue basis: ``net`` (merchandise - discount), ``gross`` or ``total``.
    when
        Only orders inside this window (``2026-10``, ``2026Q3``, ``a..b``).
    trim
        Share cut from each end for ``trimmed_aov`` (``int(trim x n)`` orders, as
        ``scipy.stats.trim_mean``).
    top
        Share of largest orders for ``top1pct_revenue_share`` (at least one order).

    Returns
    -------
    KpiResult
        ``table`` (the input's backend) with orders, revenue, aov, median_order_value,
        trimmed_aov, top1pct_revenue_share, units, upt, aur, margin_per_order,
        cost_coverage, and sessions and conversion_rate where traffic allows.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> res = kpis(shop, when="2026-10")
    >>> row = res.rows()[0]
    >>> row["orders"], row["aov"], row["median_order_value"]
    (1590, 120.92, 72.9)
    >>> t = res.table  # unrounded: AOV = UPT x AUR holds exactly
    >>> abs(t["upt"][0] * t["aur"][0] - t["aov"][0]) < 1e-9
    True
    >>> kpis(shop, by="month").table.shape
    (24, 14)
    """
    return kpis_many(shop, [by], basis=basis, when=when, trim=trim, top=top)[0]


def kpis_many(
    shop: ShopData,
    bys: list[str | list[str | None] | None],
    *,
    basis: str = "net",
    when: str | None = None,
    trim: float = 0.05,
    top: float = 0.01,
) -> list[KpiResult]:
    """:func:`kpis` for several groupings at once (``[None, "month"]``), in one query.

    The engine reads and filters the orders once for all of them (polars collects the
    plans together); each result is the one :func:`kpis` gives.

    Examples
    --------
    >>> import aovlab
    >>> overall, monthly = kpis_many(aovlab.sample.load(), [None, "month"])
    >>> overall.table.shape, monthly.table.shape
    ((1, 13), (24, 14))
    """
    if not 0 <= trim < 0.5:
        raise AovlabInputError("trim is out of range", expected="0 <= trim < 0.5", found=repr(trim))
    if not 0 < top <= 1:
        raise AovlabInputError("top is out of range", expected="0 < top <= 1", found=repr(top))
    groupings = [_keys(shop, by) for by in bys]
    # Each plan reads, filters and aggregates the orders in the engine; only the rows
    # of each table come back.
    plans = [
        _aggregate(
            order_table(shop, basis=basis, when=when, by=keys, lazy=True),
            keys,
            trim=trim,
            top=top,
            dates=not keys and not when,
        )
        for keys in groupings
    ]
    return [
        _kpi_result(shop, table, keys, basis=basis, when=when)
        for table, keys in zip(collect_all(plans), groupings, strict=True)
    ]


def _kpi_result(
    shop: ShopData, table: nw.DataFrame[Any], keys: list[str], *, basis: str, when: str | None
) -> KpiResult:
    """A collected KPI table made a result: the span, sessions and conversion added."""
    if len(table) == 0:
        raise AovlabInputError(
            "no counted orders in the selection",
            table="orders",
            expected="at least one order that is not cancelled or a test"
            + (f" in {when}" if when else ""),
            found="none",
        )
    span = f"in {when}" if when else ""
    if "__first" in table.columns:
        first, last = table.select("__first", "__last").row(0)
        span = f"from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
        table = table.drop("__first", "__last")
    sessions = _sessions(shop, keys, when)
    if sessions is not None:
        if keys:
            table = table.join(sessions, on=keys, how="left")
        else:
            table = table.with_columns(
                nw.lit(int(sessions["sessions"][0])).cast(nw.Int64()).alias("sessions")
            )
        table = table.with_columns(
            conversion_rate(nw.col("orders"), nw.col("sessions")).alias("conversion_rate")
        )
    return KpiResult(
        table=table.to_native(), currency=shop.currency, keys=keys, basis=basis, span=span
    )


def _headline(result: KpiResult) -> str:
    rows = result.rows()
    cur = result.currency
    label = {"net": "net merchandise", "gross": "gross merchandise", "total": "total"}[result.basis]
    if not result.keys:
        r = rows[0]
        span = result.span
        return (
            f"{fmt.count(r['orders'])} orders {span} brought {fmt.money(r['revenue'], cur, short=True)} "
            f"{label} revenue: AOV {fmt.money(r['aov'], cur)}, median {fmt.money(r['median_order_value'], cur)}. "
            f"The top {fmt.pct(0.01, digits=0)} of orders carry {fmt.pct(r['top1pct_revenue_share'])} of revenue."
            + ("" if r["upt"] is not None else " UPT and AUR need order lines (or a units column).")
        )
    key = result.keys[0]
    if key in periods.PERIODS and len(result.keys) == 1:
        text = trend_sentence(rows, key, cur)
        if len(rows) == 1:
            return text
        gaps = [
            (share(r["aov"], r["median_order_value"]), r) for r in rows if r["median_order_value"]
        ]
        typical = typical_gap([g for g, _ in gaps])
        if typical is not None:
            gap, worst = max(gaps, key=lambda g: g[0])
            if gap_flagged(gap, typical):
                text += (
                    f" Mean and median part most in {worst[key]} (AOV {fmt.money(worst['aov'], cur)} vs "
                    f"median {fmt.money(worst['median_order_value'], cur)}): read its largest orders "
                    "before its AOV (the AOV drivers list them)."
                )
        return text
    if key in periods.PERIODS and len(result.keys) == 2:
        labels = sorted({r[key] for r in rows})
        if len(labels) == 2:
            return _pair_headline(rows, key, result.keys[1], labels, cur)
    from aovlab.dimensions import orders_of

    words = " and ".join(k if k in periods.PERIODS else fmt.dimension_label(k) for k in result.keys)
    ranked = sorted((r for r in rows if r["aov"] is not None), key=lambda r: r["aov"])
    lo, hi = ranked[0], ranked[-1]
    dims = [k for k in result.keys if k not in periods.PERIODS]
    when = [k for k in result.keys if k in periods.PERIODS]

    def name(r: dict[str, Any]) -> str:
        """A group as the subject of "... have the highest AOV"."""
        text = orders_of(dims[0], r[dims[0]]) if dims else "orders"
        if len(dims) == 2:
            text += f" ({fmt.dimension_label(dims[1])} {r[dims[1]]})"
        return text + "".join(f" in {r[k]}" for k in when)

    money = fmt.in_currency(cur)[0]
    if len(ranked) == 1:
        return (
            f"By {words}: {name(hi)}, the only group, has an AOV of {money(hi['aov'])} over "
            f"{fmt.counted(hi['orders'], 'order')}."
        )
    return (
        f"By {words}: {name(hi)} have the highest AOV ({money(hi['aov'])} over "
        f"{fmt.counted(hi['orders'], 'order')}) and {name(lo)} the lowest "
        f"({money(lo['aov'])} over {fmt.counted(lo['orders'], 'order')})."
    )


def trend_sentence(rows: Sequence[dict[str, Any]], key: str, currency: str | None) -> str:
    """The last period's AOV and median, and its change on the period before.

    >>> rows = [{"month": "2026-09", "aov": 115.77, "median_order_value": 70.1},
    ...         {"month": "2026-10", "aov": 120.92, "median_order_value": 72.9}]
    >>> trend_sentence(rows, "month", "EUR")
    'AOV in 2026-10 was €120.92 (median €72.90), up 4.4 % on 2026-09.'
    """
    money = fmt.in_currency(currency)[0]
    last = rows[-1]
    text = (
        f"AOV in {last[key]} was {money(last['aov'])} (median {money(last['median_order_value'])})"
    )
    if len(rows) < 2:
        return text + "."
    prev = rows[-2]
    change = share(last["aov"] - prev["aov"], prev["aov"])
    word = "up" if change > 0 else "down" if change < 0 else "unchanged"
    return text + f", {word} {fmt.pct(abs(change))} on {prev[key]}."


def _pair_headline(
    rows: list[dict[str, Any]], period: str, dim: str, labels: list[str], cur: str | None
) -> str:
    """Overall AOV change between two periods against each segment's own change."""
    before, after = labels

    def overall(label: str) -> float:
        part = [r for r in rows if r[period] == label]
        return aov(sum(r["revenue"] for r in part), sum(r["orders"] for r in part))

    a, b = overall(before), overall(after)
    seg: dict[Any, dict[str, float]] = {}
    for r in rows:
        seg.setdefault(r[dim], {})[r[period]] = r["aov"]
    changes = {
        s: v[after] / v[before] - 1 for s, v in seg.items() if v.get(before) and v.get(after)
    }
    up = [s for s, c in changes.items() if c > 0]
    down = [s for s, c in changes.items() if c < 0]
    one, many = fmt.dimension_label(dim), fmt.dimension_label(dim, plural=True)
    listed = ", ".join(f"{s} {fmt.pct(c, signed=True)}" for s, c in sorted(changes.items()))
    if round(b, 2) == round(a, 2):
        head = f"Overall AOV held at {fmt.money(b, cur)} from {before} to {after}"
    else:
        head = (
            f"Overall AOV {'rose' if b > a else 'fell'} from {fmt.money(a, cur)} in {before} to "
            f"{fmt.money(b, cur)} in {after} ({fmt.pct(share(b - a, a), signed=True)})"
        )
    if not changes:
        return f"{head}; no {one} has orders in both periods."
    if len(changes) == 1:
        ((s, c),) = changes.items()
        return f"{head}; the one {one} with orders in both, {s}, moved {fmt.pct(c, signed=True)}."
    same, other = (up, down) if b >= a else (down, up)
    other_verb = "fell" if b >= a else "rose"
    if round(b, 2) == round(a, 2):
        tail = f"while it rose in {len(up)} of {len(changes)} {many} and fell in {len(down)}"
    elif len(same) == len(changes):
        tail = f"as it did in every {one}"
    elif len(other) == len(changes):
        # Every segment moved the other way: the mix of orders carried the change.
        tail = f"while it {other_verb} in every {one}"
    else:
        tail = f"as it did in {len(same)} of {len(changes)} {many}"
    return f"{head} {tail}: {listed}."


# --------------------------------------------------------------------------- customers

CUSTOMER_FORMATS: Formats = {
    "customers": "count",
    "orders": "count",
    "purchase_frequency": "number",
    "repeat_rate": "share",
    "revenue_per_customer": "money",
    "clv_historic": "money",
    "clv_to_cac": "number",
}


NO_CUSTOMERS = (
    "No registered customers in this data: every order is a guest checkout, so purchase "
    "frequency, repeat rate and CLV cannot be computed."
)


@dataclass(repr=False)
class CustomerResult(Result):
    """Customer KPIs: frequency, repeat rate, historic CLV (margin per customer), CLV:CAC."""

    keys: list[str] = field(default_factory=list)
    cac: float | None = None
    formats: ClassVar[Formats] = CUSTOMER_FORMATS

    def _headline(self) -> str:
        return _customer_headline(self)

    def chart(self) -> Any:
        """Historic CLV by group as a bar chart."""
        from aovlab import charts

        return charts.bar_chart(self, "clv_historic" if self._has_clv() else "revenue_per_customer")

    def _has_clv(self) -> bool:
        frame = nw.from_native(self.table, eager_only=True)
        return frame["clv_historic"].null_count() < len(frame)


def customer_kpis(
    shop: ShopData,
    by: str | None = None,
    *,
    basis: str = "net",
    when: str | None = None,
    cac: float | None = None,
) -> CustomerResult:
    """Purchase frequency, repeat rate, revenue and historic CLV per registered customer.

    Guest orders (no customer_id) are left out. ``by`` is an order column taken from
    each customer's first order in the window (e.g. ``country``, ``channel``) or a column
    of the customers table (e.g. ``loyalty_member``). Historic CLV is the gross margin
    (net merchandise - COGS) per customer over the window; with ``cac`` given,
    ``clv_to_cac`` = historic CLV / CAC.

    Examples
    --------
    >>> import aovlab
    >>> res = customer_kpis(aovlab.sample.load(), cac=25.0)
    >>> print(res.headline)
    5,161 registered customers ordered 3.49 times each on average; 65.9 % ordered more
    than once, and each left €211.24 of gross margin (8.4x the CAC of €25.00).
    """
    keys = [by] if by else []
    frame = order_table(shop, basis=basis, when=when).filter(~nw.col("customer_id").is_null())
    if len(frame) == 0:
        # Every order is a guest checkout: an empty table that says so, not an error.
        empty = nw.from_dict(
            {k: [] for k in [*keys, *CUSTOMER_FORMATS]},
            schema={
                **{k: nw.String() for k in keys},
                **{
                    k: nw.Int64() if kind == "count" else nw.Float64()
                    for k, kind in CUSTOMER_FORMATS.items()
                },
            },
            backend=nw.get_native_namespace(frame),
        )
        return CustomerResult(table=empty.to_native(), currency=shop.currency, keys=keys, cac=cac)
    per_customer = (
        frame.with_columns(nw.col("cogs").is_null().cast(nw.Int64()).alias("__no_cogs"))
        .group_by("customer_id")
        .agg(
            nw.len().alias("orders"),
            nw.col("value").sum().alias("revenue"),
            nw.col("net_value").sum().alias("net"),
            nw.col("cogs").sum().alias("cogs"),
            nw.col("__no_cogs").sum(),
        )
    )
    if by:
        if shop.customers is not None and by in shop.columns("customers"):
            attrs = shop.frame("customers", ["customer_id", by])
        elif by in frame.columns:
            attrs = (
                frame.sort("ordered_at")
                .with_columns(
                    nw.col("ordered_at").rank(method="ordinal").over("customer_id").alias("__r")
                )
                .filter(nw.col("__r") == 1)
                .select("customer_id", by)
            )
        else:
            raise AovlabInputError(
                f"cannot group customers by '{by}'",
                column=by,
                expected="an order column or a customers column",
                found="no such column",
                present=frame.columns,
            )
        per_customer = per_customer.join(attrs, on="customer_id", how="left")
    group = keys or ["__all"]
    per_customer = per_customer.with_columns(
        nw.lit("all").alias("__all"),
        (nw.col("orders") >= 2).cast(nw.Int64()).alias("__repeat"),
    )
    agg = per_customer.group_by(*group).agg(
        nw.len().alias("customers"),
        nw.col("orders").sum(),
        nw.col("__repeat").sum(),
        nw.col("revenue").sum(),
        nw.col("net").sum(),
        nw.col("cogs").sum(),
        nw.col("__no_cogs").sum(),
    )
    clv = nw.when(nw.col("__no_cogs") == 0).then(
        margin_per_order(nw.col("net"), nw.col("cogs"), nw.col("customers"))
    )
    out = agg.with_columns(
        nw.col("customers").cast(nw.Int64()),
        nw.col("orders").cast(nw.Int64()),
        purchase_frequency(nw.col("orders"), nw.col("customers")).alias("purchase_frequency"),
        repeat_rate(nw.col("__repeat"), nw.col("customers")).alias("repeat_rate"),
        _ratio(nw.col("revenue"), nw.col("customers")).alias("revenue_per_customer"),
        clv.alias("clv_historic"),
    ).with_columns(
        (
            clv_to_cac(nw.col("clv_historic"), cac) if cac else nw.lit(None, dtype=nw.Float64())
        ).alias("clv_to_cac")
    )
    out = out.select(*keys, *CUSTOMER_FORMATS)
    out = out.sort(keys) if keys else out
    return CustomerResult(table=out.to_native(), currency=shop.currency, keys=keys, cac=cac)


def _customer_headline(result: CustomerResult) -> str:
    frame = nw.from_native(result.table, eager_only=True)
    if not len(frame):
        return NO_CUSTOMERS
    money = fmt.in_currency(result.currency)[0]
    keys, cac = result.keys, result.cac
    if not keys:
        named = next(frame.iter_rows(named=True))
        text = (
            f"{fmt.count(named['customers'])} registered customers ordered "
            f"{fmt.number(named['purchase_frequency'])} times each on average; "
            f"{fmt.pct(named['repeat_rate'])} ordered more than once"
        )
        if named["clv_historic"] is not None:
            text += f", and each left {money(named['clv_historic'])} of gross margin"
        if cac and named["clv_to_cac"] is not None:
            text += f" ({fmt.number(named['clv_to_cac'], 1)}x the CAC of {money(cac)})"
        return text + "."
    key = keys[0]
    ranked = sorted(frame.iter_rows(named=True), key=lambda r: r["revenue_per_customer"] or 0)
    return (
        f"By {fmt.dimension_label(key)}: {ranked[-1][key]} customers bring the most revenue "
        f"each ({money(ranked[-1]['revenue_per_customer'])}), {ranked[0][key]} the least "
        f"({money(ranked[0]['revenue_per_customer'])})."
    )
