"""Customer-level views: RFM segments, the most valuable customers and the Pareto curve.

Every view starts from :func:`per_customer`: one row per registered customer with their
counted orders, revenue and first and last order, built lazily in the engine. Guest
checkouts (no ``customer_id``) have no history to score and are left out of the
customer rows; their revenue still counts in "all revenue". Only aggregates are
collected: a 5 x 5 grid for RFM, ``n`` rows and at most 100 curve points for the most
valuable customers. pandas in gives pandas out, polars in gives polars out.

RFM scores
----------
At an as-of date (default: the date of the last counted order), using the counted
orders up to the end of that day in the shop's time zone, each customer gets:

- ``recency_days``: whole calendar days from the last order's date to the as-of date;
- ``frequency``: counted orders;
- ``monetary``: revenue on the chosen basis.

Each becomes a quintile score from 1 to 5 where 5 is best (most recent, most orders,
most revenue). With ``n`` customers of whom ``worse`` are strictly worse on a measure,
the score is ``floor(5 x worse / n) + 1`` (:func:`quintile_score`). Equal values always
share a score (a tie is never split at a quintile boundary); the score never falls as
the measure improves; a customer scores 5 only when at least 80 % of customers are
strictly worse.

Frequency is heavily tied: most shops have many customers who ordered once. They all
get F = 1 however many they are, and the next score starts where the tie ends. When
60 % of customers ordered once, customers with two orders have 60 % strictly below
them and score F = 4: F = 2 and 3 stay empty, and the "quintiles" are not fifths.
That is deliberate: two customers who ordered the same number of times are never told
apart by an arbitrary tie-break. Recency ties are milder (customers whose last orders
fall on the same day) and monetary ties rare.

Named segments
--------------
:data:`RFM_SEGMENTS` names every (R, F) cell exactly once (a test proves it):

===================  ===  =====  =========================================
segment              R    F      what it means
===================  ===  =====  =========================================
champions            5    4-5    bought recently and often
loyal                3-4  4-5    buy often, a little less recently
potential_loyalists  4-5  2-3    recent, ordered a few times
new_customers        5    1      first order, very recently
promising            4    1      one recent order
need_attention       3    3      middling recency and frequency
about_to_sleep       3    1-2    few orders, fading
at_risk              1-2  3-4    used to buy often, not for a long time
cannot_lose          1-2  5      the most frequent buyers, gone quiet
hibernating          2    1-2    few orders, long ago
lost                 1    1-2    few orders, longest ago
===================  ===  =====  =========================================

M is scored and shown (the mean M score of each segment) but the names use R and F
only: revenue follows the number of orders closely (a customer's revenue is their
orders times their AOV, and AOV varies far less between customers than order counts
do), so a third axis would split the 25 cells into 125 that mostly agree, with
segments too small to act on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import narwhals.stable.v2 as nw

from aovlab import display, fmt, metrics, periods
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collect_all, collected, finite_or_none
from aovlab.results import Formats, Result, Section

__all__ = [
    "RFM_SEGMENTS",
    "RfmResult",
    "RfmSegment",
    "TopCustomers",
    "per_customer",
    "quintile_score",
    "rfm",
    "rfm_scores",
    "segment_of",
    "top_customers",
]

# --------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class RfmSegment:
    """A named RFM segment: the R and F score ranges it covers (inclusive), and why."""

    name: str
    label: str
    r: tuple[int, int]
    f: tuple[int, int]
    meaning: str
    action: str

    @property
    def rule(self) -> str:
        """The score rule in words: ``R5, F4-5``."""

        def span(letter: str, lo: int, hi: int) -> str:
            return f"{letter}{lo}" if lo == hi else f"{letter}{lo}-{hi}"

        return f"{span('R', *self.r)}, {span('F', *self.f)}"

    def cells(self) -> list[tuple[int, int]]:
        """The (R, F) cells the segment covers."""
        return [
            (r, f) for r in range(self.r[0], self.r[1] + 1) for f in range(self.f[0], self.f[1] + 1)
        ]


#: The named RFM segments, in the order results show them. Each (R, F) cell of the
#: 5 x 5 grid belongs to exactly one segment.
RFM_SEGMENTS: tuple[RfmSegment, ...] = (
    RfmSegment(
        "champions",
        "Champions",
        (5, 5),
        (4, 5),
        "bought recently and buy often",
        "reward them; ask for reviews and referrals; show new ranges first",
    ),
    RfmSegment(
        "loyal",
        "Loyal",
        (3, 4),
        (4, 5),
        "buy often, a little less recently than champions",
        "loyalty perks and bundles that raise the basket; keep them in touch",
    ),
    RfmSegment(
        "potential_loyalists",
        "Potential loyalists",
        (4, 5),
        (2, 3),
        "recent customers who have ordered a few times",
        "membership or a second-category offer to make the habit stick",
    ),
    RfmSegment(
        "new_customers",
        "New customers",
        (5, 5),
        (1, 1),
        "placed their first order very recently",
        "a good first delivery and onboarding; a reason for a second order",
    ),
    RfmSegment(
        "promising",
        "Promising",
        (4, 4),
        (1, 1),
        "one fairly recent order",
        "a timely second-order offer before they drift",
    ),
    RfmSegment(
        "need_attention",
        "Need attention",
        (3, 3),
        (3, 3),
        "middling recency and frequency",
        "personal recommendations; a limited-time offer",
    ),
    RfmSegment(
        "about_to_sleep",
        "About to sleep",
        (3, 3),
        (1, 2),
        "few orders, not for a while",
        "reminders of popular products; a modest incentive to return",
    ),
    RfmSegment(
        "at_risk",
        "At risk",
        (1, 2),
        (3, 4),
        "used to buy often, not for a long time",
        "win-back campaign with a personal note; find out why they left",
    ),
    RfmSegment(
        "cannot_lose",
        "Cannot lose",
        (1, 2),
        (5, 5),
        "the most frequent buyers, gone quiet",
        "reach out personally; the strongest win-back offer",
    ),
    RfmSegment(
        "hibernating",
        "Hibernating",
        (2, 2),
        (1, 2),
        "few orders, long ago",
        "low-cost reactivation (seasonal newsletter); do not discount deeply",
    ),
    RfmSegment(
        "lost",
        "Lost",
        (1, 1),
        (1, 2),
        "few orders, longest ago",
        "leave them to broad campaigns; spend the effort elsewhere",
    ),
)

_BY_NAME = {s.name: s for s in RFM_SEGMENTS}
_CELL: dict[tuple[int, int], str] = {cell: s.name for s in RFM_SEGMENTS for cell in s.cells()}
#: Lapsed customers who used to buy often: the headline counts them together.
_LAPSED = ("at_risk", "cannot_lose")


def segment_of(r: int, f: int) -> str:
    """The named segment of an (R, F) score pair.

    >>> segment_of(5, 5), segment_of(1, 5), segment_of(3, 2)
    ('champions', 'cannot_lose', 'about_to_sleep')
    """
    try:
        return _CELL[(r, f)]
    except KeyError:
        raise AovlabInputError(
            "is not an RFM score pair", expected="R and F from 1 to 5", found=f"R={r}, F={f}"
        ) from None


def quintile_score(column: str, *, higher_is_better: bool = True, scores: int = 5) -> nw.Expr:
    """A score from 1 to ``scores`` for ``column``: ``floor(scores x worse / n) + 1``.

    ``worse`` counts the rows strictly worse than this one (``rank(method="min") - 1``
    in the direction where higher is better), ``n`` the non-null rows. Equal values get
    equal scores, and the score never falls as the value improves. The arithmetic is on
    integers, so the boundaries are exact.

    Examples
    --------
    >>> import polars as pl
    >>> frame = nw.from_native(pl.DataFrame({"orders": [1, 1, 1, 1, 2, 2, 3, 5, 8, 9]}))
    >>> frame.select(quintile_score("orders"))["orders"].to_list()
    [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    >>> days = nw.from_native(pl.DataFrame({"days": [0, 3, 3, 40, 200]}))
    >>> days.select(quintile_score("days", higher_is_better=False))["days"].to_list()
    [5, 3, 3, 2, 1]
    """
    rank = nw.col(column).rank(method="min", descending=not higher_is_better).cast(nw.Int64())
    n = nw.col(column).count().cast(nw.Int64())
    return ((rank - 1) * scores) // n + 1


# --------------------------------------------------------------------------- per customer


def _as_of_date(as_of: str | dt.date) -> dt.date:
    """A date from a date, a datetime (its date as written) or a calendar window's last day."""
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    if isinstance(as_of, str):
        try:
            window = periods.parse_window(as_of)
        except AovlabInputError:
            pass
        else:
            return window.end - dt.timedelta(days=1)
    raise AovlabInputError(
        "as_of is not a date",
        expected="a date (2026-10-31), or a month, quarter or year (its last day: 2026-10)",
        found=repr(as_of),
    )


_EPOCH = dt.date(1970, 1, 1)


def _local_day(column: str, dtype: Any, timezone: str) -> nw.Expr:
    """Days since 1970-01-01 of a datetime column's date in the shop's calendar."""
    col = nw.col(column)
    tz = getattr(dtype, "time_zone", None)
    if tz is not None and tz != timezone:
        col = col.dt.convert_time_zone(timezone)
    return periods.day_number(col)  # of the local wall-clock date


def _local_date(value: Any, timezone: str) -> dt.date:
    """The date of a collected datetime in the shop's calendar."""
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(ZoneInfo(timezone))
    return value.date() if isinstance(value, dt.datetime) else value


def _customer_rows(orders: Any) -> Any:
    """One row per registered customer of counted orders (lazy in, lazy out)."""
    return (
        orders.filter(~nw.col("customer_id").is_null())
        .group_by("customer_id")
        .agg(
            nw.len().alias("orders"),
            nw.col("value").sum().alias("revenue"),
            nw.col("ordered_at").min().alias("first_order"),
            nw.col("ordered_at").max().alias("last_order"),
        )
        .with_columns(nw.col("orders").cast(nw.Int64()))
    )


def _cut(shop: ShopData, orders: Any, as_of: dt.date | None) -> Any:
    """Orders up to the end of the as-of day in the shop's time zone."""
    if as_of is None:
        return orders
    end = dt.datetime.combine(
        as_of + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(shop.timezone)
    )
    return orders.filter(nw.col("ordered_at").dt.convert_time_zone(shop.timezone) < nw.lit(end))


def per_customer(
    shop: ShopData,
    *,
    basis: str = "net",
    when: metrics.Windows | None = None,
    as_of: str | dt.date | None = None,
) -> nw.LazyFrame[Any]:
    """One row per registered customer: ``customer_id``, ``orders``, ``revenue``, first and last order.

    Counted orders only (not cancelled, not tests), inside ``when`` and up to the end of
    the ``as_of`` day in the shop's time zone; guest checkouts are left out.
    ``first_order`` and ``last_order`` are the order times. The frame is lazy: aggregate
    it, or collect it only when the per-customer rows themselves are wanted.

    Parameters
    ----------
    shop
        A loaded shop.
    basis
        Revenue basis: ``net`` (merchandise - discount), ``gross`` or ``total``.
    when
        Only orders inside this window (``2026-10``, ``2026Q3``, ``a..b``).
    as_of
        Only orders up to the end of this day (a date, ``2026-10-31``, or a month,
        quarter or year: its last day). ``None``: every order.

    Returns
    -------
    narwhals.LazyFrame
        ``customer_id``, ``orders``, ``revenue``, ``first_order``, ``last_order``.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> frame = per_customer(shop, as_of="2026-06")
    >>> frame.select(nw.len(), nw.col("orders").sum()).collect().row(0)
    (4362, 13659)
    """
    orders = metrics.order_table(shop, basis=basis, when=when, lazy=True)
    cut = None if as_of is None else _as_of_date(as_of)
    return _customer_rows(_cut(shop, orders, cut))


@dataclass(frozen=True)
class _Span:
    """The as-of date and the counted orders' first and last dates in the selection."""

    as_of: dt.date
    first: dt.date
    last: dt.date


def _span(
    shop: ShopData, orders: Any, as_of: str | dt.date | None, when: metrics.Windows | None
) -> _Span:
    """The as-of date, checked against the data's dates (one small query)."""
    first, last = (
        orders.select(
            nw.col("ordered_at").min().alias("first"), nw.col("ordered_at").max().alias("last")
        )
        .pipe(collected)
        .row(0)
    )
    if first is None:
        raise AovlabInputError(
            "no counted orders in the selection",
            table="orders",
            expected="at least one order that is not cancelled or a test"
            + (f" in {when}" if isinstance(when, str) else ""),
            found="none",
        )
    a, b = _local_date(first, shop.timezone), _local_date(last, shop.timezone)
    day = b if as_of is None else _as_of_date(as_of)
    if day < a:
        raise AovlabInputError(
            f"as_of {day} is before the first counted order",
            table="orders",
            expected=f"a date on or after {a}",
            found=f"{day}; the counted orders run from {a} to {b}",
        )
    return _Span(day, a, b)


def _scored_customers(
    shop: ShopData,
    *,
    as_of: str | dt.date | None,
    basis: str,
    when: metrics.Windows | None,
) -> tuple[Any, _Span]:
    """The scored customers (lazy) and the as-of date they are scored at."""
    orders = metrics.order_table(shop, basis=basis, when=when, lazy=True)
    span = _span(shop, orders, as_of, when)
    dtype = orders.collect_schema()["ordered_at"]
    # Orders after the as-of day are cut only when there are any.
    rows = _customer_rows(_cut(shop, orders, span.as_of if span.as_of < span.last else None))
    return _scored(rows, span.as_of, dtype, shop.timezone), span


def _scored(frame: Any, as_of: dt.date, dtype: Any, timezone: str) -> Any:
    """Per-customer rows with recency, R, F and M scores and the named segment (lazy)."""
    today = (as_of - _EPOCH).days
    frame = frame.with_columns(
        (nw.lit(today) - _local_day("last_order", dtype, timezone))
        .cast(nw.Int64())
        .alias("recency_days"),
    ).rename({"orders": "frequency", "revenue": "monetary"})
    frame = frame.with_columns(
        quintile_score("recency_days", higher_is_better=False).alias("r_score"),
        quintile_score("frequency").alias("f_score"),
        quintile_score("monetary").alias("m_score"),
    )
    cell = (nw.col("r_score") - 1) * 5 + nw.col("f_score") - 1
    names = {(r - 1) * 5 + f - 1: name for (r, f), name in _CELL.items()}
    # Every one of the 25 cells has a name; SQL engines still want a default spelled out.
    segment = cell.replace_strict(
        names, default=nw.lit(None, nw.String()), return_dtype=nw.String()
    )
    return frame.with_columns(segment.alias("segment"))


def rfm_scores(
    shop: ShopData,
    *,
    as_of: str | dt.date | None = None,
    basis: str = "net",
    when: metrics.Windows | None = None,
) -> nw.LazyFrame[Any]:
    """Each registered customer's RFM figures, scores and segment, as a lazy frame.

    The per-customer rows behind :func:`rfm`, for joining to a mailing list: collect
    them only when the rows themselves are wanted.

    Parameters
    ----------
    shop
        A loaded shop.
    as_of, basis, when
        As in :func:`rfm`.

    Returns
    -------
    narwhals.LazyFrame
        ``customer_id``, ``frequency``, ``monetary``, ``first_order``, ``last_order``,
        ``recency_days``, ``r_score``, ``f_score``, ``m_score``, ``segment``.

    Examples
    --------
    >>> import aovlab
    >>> scores = rfm_scores(aovlab.sample.load(), as_of="2026-10-31")
    >>> scores.filter(nw.col("segment") == "champions").select(nw.len()).collect().item()
    560
    """
    return _scored_customers(shop, as_of=as_of, basis=basis, when=when)[0]


# --------------------------------------------------------------------------- RFM result

RFM_FORMATS: Formats = {
    "customers": "count",
    "customer_share": "share",
    "revenue": "money",
    "revenue_share": "share",
    "aov": "money",
    "orders_per_customer": "number",
    "recency_days": "number",
    "monetary_score": "number",
}
GRID_FORMATS: Formats = {
    "r_score": "count",
    "f_score": "count",
    "customers": "count",
    "customer_share": "share",
    "orders": "count",
    "revenue": "money",
    "revenue_share": "share",
    "recency_days": "number",
    "monetary_score": "number",
}
#: The JSON keys of each segment (``rfm`` in :meth:`RfmResult.to_dict`).
RFM_KEYS: tuple[str, ...] = (
    "segment",
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "aov",
    "orders_per_customer",
    "recency_days",
    "monetary_score",
)

NO_CUSTOMERS = (
    "No registered customers in this data: every order is a guest checkout, so there is "
    "no customer history to score (RFM) or rank."
)


@dataclass(repr=False)
class RfmResult(Result):
    """Registered customers by RFM segment at an as-of date.

    ``table``: one row per named segment in :data:`RFM_SEGMENTS` order (empty segments
    included, with 0 customers): ``segment``, ``customers``, ``customer_share``,
    ``revenue``, ``revenue_share`` (of registered customers' revenue), ``aov``
    (revenue / orders), ``orders_per_customer``, ``recency_days`` (mean days since the
    last order) and ``monetary_score`` (mean M score). ``grid``: the 25 (R, F) cells
    with ``r_score``, ``f_score``, ``segment``, ``customers``, ``customer_share``,
    ``orders``, ``revenue``, ``revenue_share``, ``recency_days`` and ``monetary_score``.
    ``customers``, ``orders`` and ``revenue``: the registered customers' totals.
    """

    grid: Any = None
    as_of: dt.date | None = None
    basis: str = "net"
    customers: int = 0
    orders: int = 0
    revenue: float = 0.0
    formats: ClassVar[Formats] = RFM_FORMATS

    def _headline(self) -> str:
        return _rfm_headline(self)

    def segment(self, name: str) -> dict[str, Any]:
        """One segment's row, unrounded (``champions``, ``at_risk``, ...)."""
        if name not in _BY_NAME:
            raise AovlabInputError(
                "is not an RFM segment", expected=", ".join(_BY_NAME), found=repr(name)
            )
        frame = nw.from_native(self.table, eager_only=True).filter(nw.col("segment") == name)
        return next(frame.iter_rows(named=True)) if len(frame) else {}

    def sections(self) -> list[Section]:
        """The segments with their rules, by name; a note on how they are scored."""
        table = nw.from_native(self.table, eager_only=True)
        labels = {s.name: s.label for s in RFM_SEGMENTS}
        rules = {s.name: s.rule for s in RFM_SEGMENTS}
        shown = table.with_columns(
            nw.col("segment").replace_strict(rules, return_dtype=nw.String()).alias("rule"),
            nw.col("segment").replace_strict(labels, return_dtype=nw.String()),
        ).select("segment", "rule", *RFM_FORMATS)
        note = (
            f"R, F and M are scores from 1 to 5 (5: most recent, most orders, most revenue) "
            f"among the {fmt.count(self.customers)} registered customers, on their counted "
            f"orders up to {self.as_of}; customers with equal values share a score."
        )
        return [Section(shown.to_native(), self.formats, note=note)]

    def grid_rows(self) -> list[dict[str, Any]]:
        """The 25 cells of the grid as plain, rounded values."""
        frame = nw.from_native(self.grid, eager_only=True)
        return display.rounded_rows(frame, GRID_FORMATS)

    def to_dict(self) -> dict[str, Any]:
        """Plain values: ``as_of``, ``rfm`` (one entry per segment) and the ``grid``."""
        return {
            "headline": self.headline,
            "currency": self.currency,
            "basis": self.basis,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "customers": self.customers,
            "orders": self.orders,
            "revenue": _round(self.revenue, 2),
            "rfm": [{k: row[k] for k in RFM_KEYS} for row in self.rows()],
            "grid": self.grid_rows(),
        }

    def chart(self) -> Any:
        """The RFM grid: R against F, cells coloured by their share of customers, segments named."""
        from aovlab import charts

        return charts.rfm_grid(self)


def _round(value: Any, digits: int) -> float | None:
    v = finite_or_none(value)
    return None if v is None else round(v, digits)


def _cells_frame(backend: Any) -> nw.DataFrame[Any]:
    """The 25 (R, F) cells with their segment, R from 5 down, F from 1 up."""
    cells = sorted(_CELL.items(), key=lambda item: (-item[0][0], item[0][1]))
    return nw.from_dict(
        {
            "r_score": [r for (r, _), _ in cells],
            "f_score": [f for (_, f), _ in cells],
            "segment": [name for _, name in cells],
            "__cell": list(range(len(cells))),
        },
        schema={
            "r_score": nw.Int64(),
            "f_score": nw.Int64(),
            "segment": nw.String(),
            "__cell": nw.Int64(),
        },
        backend=backend,
    )


def _segment_order(backend: Any) -> nw.DataFrame[Any]:
    return nw.from_dict(
        {
            "segment": [s.name for s in RFM_SEGMENTS],
            "__order": list(range(len(RFM_SEGMENTS))),
        },
        schema={"segment": nw.String(), "__order": nw.Int64()},
        backend=backend,
    )


def _shares_and_means(frame: nw.DataFrame[Any], customers: int, revenue: float) -> Any:
    """Shares of the totals and per-customer means from summed columns."""
    n = nw.col("customers")
    return frame.with_columns(
        metrics.share(n, customers).alias("customer_share"),
        metrics.share(nw.col("revenue"), revenue).alias("revenue_share"),
        metrics.aov(nw.col("revenue"), nw.col("orders")).alias("aov"),
        metrics.purchase_frequency(nw.col("orders"), n).alias("orders_per_customer"),
        metrics.share(nw.col("__recency"), n).alias("recency_days"),
        metrics.share(nw.col("__m"), n).alias("monetary_score"),
    )


def rfm(
    shop: ShopData,
    *,
    as_of: str | dt.date | None = None,
    basis: str = "net",
    when: metrics.Windows | None = None,
) -> RfmResult:
    """Registered customers by RFM segment: who buys recently, often and much, and who lapsed.

    Each customer is scored 1-5 on recency, frequency and monetary value among all
    registered customers (quintiles in which ties share a score), then named by the
    (R, F) rules of :data:`RFM_SEGMENTS`; see the module notes for the rules and for
    what heavily tied frequencies do. Everything per customer stays in the engine;
    only the 25 grid cells are collected.

    Parameters
    ----------
    shop
        A loaded shop.
    as_of
        The date the customers are scored at: counted orders up to the end of that day
        (in the shop's time zone) count, and recency is measured to it. A date
        (``2026-10-31``) or a month, quarter or year (its last day). Default: the date
        of the last counted order.
    basis
        Revenue basis: ``net`` (merchandise - discount), ``gross`` or ``total``.
    when
        Only orders inside this window (``2026``, ``2025-11..2026-10``).

    Returns
    -------
    RfmResult
        ``table`` (one row per segment), ``grid`` (the 25 cells), ``headline``,
        ``chart()`` and ``to_dict()``.

    Raises
    ------
    AovlabInputError
        When there are no counted orders, or ``as_of`` is before the first of them.

    Examples
    --------
    >>> import aovlab
    >>> res = rfm(aovlab.sample.load())
    >>> print(res.headline)
    As of 2026-10-31, champions (recent, frequent buyers) are 10.9 % of the 5,161
    registered customers and bring 25.3 % of their revenue; 575 customers who used to
    buy often have lapsed (at risk or cannot lose: last order 248 days ago on average).
    >>> res.table.shape, res.grid.shape
    ((11, 9), (25, 10))
    """
    scored, span = _scored_customers(shop, as_of=as_of, basis=basis, when=when)
    # Plain sums only (casts after), so that pandas aggregates natively too.
    cells = scored.group_by("r_score", "f_score").agg(
        nw.len().alias("customers"),
        nw.col("frequency").sum().alias("orders"),
        nw.col("monetary").sum().alias("revenue"),
        nw.col("recency_days").sum().alias("__recency"),
        nw.col("m_score").sum().alias("__m"),
    )
    (collected,) = collect_all([cells])
    backend = nw.get_native_namespace(collected)
    grid = (
        _cells_frame(backend)
        .join(
            collected.with_columns(nw.col("r_score", "f_score").cast(nw.Int64())),
            on=["r_score", "f_score"],
            how="left",
        )
        .with_columns(
            nw.col("customers", "orders").fill_null(0).cast(nw.Int64()),
            nw.col("revenue", "__recency", "__m").fill_null(0.0).cast(nw.Float64()),
        )
        .sort("__cell")
    )
    customers = int(grid["customers"].sum())
    revenue = float(grid["revenue"].sum())
    by_segment = (
        grid.group_by("segment")
        .agg(nw.col("customers", "orders", "revenue", "__recency", "__m").sum())
        .join(_segment_order(backend), on="segment", how="left")
        .sort("__order")
    )
    table = _shares_and_means(by_segment, customers, revenue).select("segment", *RFM_FORMATS)
    grid = _shares_and_means(grid, customers, revenue).select(
        "r_score", "f_score", "segment", *list(GRID_FORMATS)[2:]
    )
    return RfmResult(
        table=nw.maybe_reset_index(table).to_native(),
        currency=shop.currency,
        grid=nw.maybe_reset_index(grid).to_native(),
        as_of=span.as_of,
        basis=basis,
        customers=customers,
        orders=int(grid["orders"].sum()),
        revenue=revenue,
    )


def _rfm_headline(res: RfmResult) -> str:
    if not res.customers:
        return NO_CUSTOMERS
    champ = res.segment("champions")
    text = (
        f"As of {res.as_of}, champions (recent, frequent buyers) are "
        f"{fmt.pct(champ['customer_share'])} of the {fmt.count(res.customers)} registered "
        f"customers and bring {fmt.pct(champ['revenue_share'])} of their revenue"
        if champ["customers"]
        else f"As of {res.as_of}, none of the {fmt.count(res.customers)} registered customers "
        "is a champion yet (recent and frequent)"
    )
    lapsed = [res.segment(name) for name in _LAPSED]
    n = sum(s["customers"] for s in lapsed)
    if not n:
        return text + "; no customer who used to buy often has lapsed."
    days = sum(s["recency_days"] * s["customers"] for s in lapsed if s["customers"]) / n
    return (
        text + f"; {fmt.counted(n, 'customer')} who used to buy often "
        f"{'has' if n == 1 else 'have'} lapsed (at risk or cannot lose: last order "
        f"{fmt.number(days, 0)} days ago on average)."
    )


# --------------------------------------------------------------------------- top customers

TOP_FORMATS: Formats = {
    "orders": "count",
    "revenue": "money",
    "revenue_share": "share",
    "cumulative_share": "share",
}
PARETO_FORMATS: Formats = {
    "top_pct": "share",
    "customers": "count",
    "customer_share": "share",
    "revenue": "money",
    "revenue_share": "share",
}
#: The share of customers the headline and the chart mark on the Pareto curve.
PARETO_MARK = 0.10


@dataclass(repr=False)
class TopCustomers(Result):
    """The customers who bring the most revenue, and the Pareto curve of all of them.

    ``table``: the top ``n`` registered customers, most revenue first (ties by
    ``customer_id``): ``customer_id`` (the pseudonymous id as loaded), ``orders``,
    ``revenue``, ``revenue_share`` and ``cumulative_share`` (of *all* counted revenue,
    guest checkouts included: what the shop took). ``pareto``: for k = 1..100, the top
    k % of registered customers, ``ceil(k x customers / 100)`` of them (at least one,
    as the KPIs' top 1 % of orders; with fewer than 100 customers, neighbouring
    points can hold the same customers), with ``top_pct`` (k / 100), ``customers``,
    ``customer_share``, ``revenue`` and ``revenue_share`` (cumulative, of registered
    customers' revenue: the curve ends at 100 % / 100 %). ``customers``: registered customers; ``revenue``: all counted
    revenue; ``customer_revenue``: the registered customers' part of it.
    """

    pareto: Any = None
    n: int = 20
    basis: str = "net"
    as_of: dt.date | None = None
    customers: int = 0
    revenue: float = 0.0
    customer_revenue: float = 0.0
    keys: list[str] = field(default_factory=lambda: ["customer_id"])
    #: Whether the display lists the top customers by id (False: the curve only).
    listed: bool = True
    formats: ClassVar[Formats] = TOP_FORMATS

    def _headline(self) -> str:
        return _top_headline(self)

    def top_share(self, share: float = PARETO_MARK) -> dict[str, Any]:
        """The Pareto point of the top ``share`` of customers, in whole percent (a row of ``pareto``).

        The top 10 % of 5,161 customers are ceil(516.1) = 517 of them. ``{}`` when
        there are no customers.
        """
        if not 0 < share <= 1:
            raise AovlabInputError(
                "share is out of range", expected="0 < share <= 1", found=repr(share)
            )
        k = max(1, round(share * 100))
        frame = nw.from_native(self.pareto, eager_only=True)
        frame = frame.filter((nw.col("top_pct") * 100).round(0).cast(nw.Int64()) == k)
        return next(frame.iter_rows(named=True)) if len(frame) else {}

    def sections(self) -> list[Section]:
        """The top customers (unless :meth:`without_ids`), and the Pareto curve at every 10 %."""
        if not self.customers:
            return []
        curve = nw.from_native(self.pareto, eager_only=True)
        tenths = curve.filter((nw.col("top_pct") * 100).round(0).cast(nw.Int64()) % 10 == 0)
        listed = [
            Section(self.table, self.formats, title=f"The top {self.n} customers by revenue:")
        ]
        return (listed if self.listed else []) + [
            Section(
                nw.maybe_reset_index(tenths).to_native(),
                PARETO_FORMATS,
                title="Share of registered customers' revenue by the top customers:",
            ),
        ]

    def without_ids(self) -> TopCustomers:
        """The same result, displayed as aggregates only: the headline and the Pareto curve.

        What a report shows: reports hold no customer ids, not even pseudonymous ones.
        ``table`` and :meth:`to_dict` still hold the top customers, for code.
        """
        return replace(self, listed=False)

    def pareto_rows(self) -> list[dict[str, Any]]:
        """The Pareto curve's points as plain, rounded values."""
        frame = nw.from_native(self.pareto, eager_only=True)
        return display.rounded_rows(frame, PARETO_FORMATS)

    def to_dict(self) -> dict[str, Any]:
        """Plain values: ``top_customers`` (one entry each) and the ``pareto`` points."""
        return {
            "headline": self.headline,
            "currency": self.currency,
            "basis": self.basis,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "customers": self.customers,
            "revenue": _round(self.revenue, 2),
            "customer_revenue": _round(self.customer_revenue, 2),
            "top_customers": self.rows(),
            "pareto": self.pareto_rows(),
        }

    def chart(self) -> Any:
        """The Pareto curve: share of customers against share of their revenue."""
        from aovlab import charts

        return charts.pareto_chart(self)

    def bar_chart(self) -> Any:
        """The top customers' revenue as bars."""
        from aovlab import charts

        return charts.bar_chart(self, "revenue")


def top_customers(
    shop: ShopData,
    n: int = 20,
    *,
    basis: str = "net",
    when: metrics.Windows | None = None,
    as_of: str | dt.date | None = None,
) -> TopCustomers:
    """The ``n`` customers with the most revenue, their share of it, and the Pareto curve.

    Customers are the registered ones, by the pseudonymous ``customer_id`` as loaded
    (no names or emails are ever joined). A top customer's ``revenue_share`` is of all
    counted revenue, guest checkouts included (what the shop took); the Pareto curve is
    among registered customers, so it ends at 100 % of their revenue. The ranking,
    the buckets of the curve and the sums run in the engine; only ``n`` rows and at
    most 100 points are collected.

    Parameters
    ----------
    shop
        A loaded shop.
    n
        How many customers to list (ties in revenue broken by ``customer_id``).
    basis
        Revenue basis: ``net`` (merchandise - discount), ``gross`` or ``total``.
    when
        Only orders inside this window.
    as_of
        Only orders up to the end of this day (as in :func:`rfm`). Default: all.

    Returns
    -------
    TopCustomers
        ``table`` (the top ``n``), ``pareto`` (the curve), ``headline``, ``chart()``
        (the curve), ``bar_chart()`` (the top customers) and ``to_dict()``.

    Examples
    --------
    >>> import aovlab
    >>> res = top_customers(aovlab.sample.load(), n=20)
    >>> print(res.headline)
    The top 10 % of registered customers (517 of 5,161) bring 37.9 % of their revenue;
    the top 20 customers bring 2.4 % of all revenue (guest checkouts included).
    >>> res.top_share(0.5)["revenue_share"]
    0.8...
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise AovlabInputError("n is out of range", expected="a whole number >= 1", found=repr(n))
    orders = metrics.order_table(shop, basis=basis, when=when, lazy=True)
    span = _span(shop, orders, as_of, when)
    orders = _cut(shop, orders, span.as_of if span.as_of < span.last else None)
    rows = _customer_rows(orders)
    top = (
        rows.select("customer_id", "orders", "revenue")
        .sort(["revenue", "customer_id"], descending=[True, False])
        .head(n)
    )
    # Rank by revenue, most first; which of several equal revenues ranks first changes
    # no bucket's sum, so the ordinal rank needs no tie-break here.
    rank = nw.col("revenue").rank(method="ordinal", descending=True).cast(nw.Int64())
    buckets = (
        rows.select("revenue")
        .with_columns(rank.alias("__i"), nw.len().cast(nw.Int64()).alias("__n"))
        .with_columns((((nw.col("__i") - 1) * 100) // nw.col("__n") + 1).alias("__k"))
        .group_by("__k")
        .agg(nw.len().alias("customers"), nw.col("revenue").sum())
    )
    total = orders.select(nw.col("value").sum().alias("revenue"))
    top_rows, counts, total_row = collect_all([top, buckets, total])
    all_revenue = float(total_row["revenue"][0] or 0.0)
    customers = int(counts["customers"].sum()) if len(counts) else 0
    # Every k from 1 to 100 (none without customers): the running sums over the
    # buckets give the top ceil(k x customers / 100) customers at each k.
    steps = nw.from_dict(
        {"__k": list(range(1, 101 if customers else 1))},
        schema={"__k": nw.Int64()},
        backend=nw.get_native_namespace(counts),
    )
    curve = (
        steps.join(counts.with_columns(nw.col("__k").cast(nw.Int64())), on="__k", how="left")
        .with_columns(
            nw.col("customers").fill_null(0).cast(nw.Int64()),
            nw.col("revenue").fill_null(0.0).cast(nw.Float64()),
        )
        .sort("__k")
        .with_columns(
            (nw.col("__k").cast(nw.Float64()) / 100).alias("top_pct"),
            nw.col("customers").cum_sum(),
            nw.col("revenue").cum_sum(),
        )
    )
    # The total is the curve's own last running sum, so that it ends at 100 %.
    customer_revenue = float(curve["revenue"][-1]) if customers else 0.0
    curve = curve.with_columns(
        metrics.share(nw.col("customers"), customers).alias("customer_share"),
        metrics.share(nw.col("revenue"), customer_revenue).alias("revenue_share"),
    ).select(*PARETO_FORMATS)
    top_rows = top_rows.with_columns(
        metrics.share(nw.col("revenue"), all_revenue).alias("revenue_share")
    ).with_columns(nw.col("revenue_share").cum_sum().alias("cumulative_share"))
    return TopCustomers(
        table=nw.maybe_reset_index(top_rows).to_native(),
        currency=shop.currency,
        pareto=nw.maybe_reset_index(curve).to_native(),
        n=n,
        basis=basis,
        as_of=span.as_of,
        customers=customers,
        revenue=all_revenue,
        customer_revenue=customer_revenue,
    )


def _top_headline(res: TopCustomers) -> str:
    if not res.customers:
        return NO_CUSTOMERS
    point = res.top_share(PARETO_MARK)
    listed = len(nw.from_native(res.table, eager_only=True))
    text = (
        f"The top {fmt.pct(PARETO_MARK, digits=0)} of registered customers "
        f"({fmt.count(point['customers'])} of {fmt.count(res.customers)}) bring "
        f"{fmt.pct(point['revenue_share'])} of their revenue"
    )
    frame = nw.from_native(res.table, eager_only=True)
    top = metrics.share(float(frame["revenue"].sum()), res.revenue) if res.revenue else None
    who = (
        f"the top {fmt.counted(listed, 'customer')}"
        if listed < res.customers
        else f"all {fmt.counted(listed, 'customer')}"
    )
    guests = round(res.revenue - res.customer_revenue, 2) != 0
    return (
        text
        + f"; {who} {'brings' if listed == 1 else 'bring'} {fmt.pct(top)} of "
        + ("all revenue (guest checkouts included)." if guests else "all revenue.")
    )
