"""Bundle margin calculator: what a proposed bundle at a price does to margin, AOV and UPT.

A bundle is two or more SKUs sold together, one unit of each, at a bundle price below
the sum of their list prices. It costs the discount on every order that would have
held every item anyway, and earns the margin of the items a share of the orders that
hold only some of them add. Everything is read from the counted orders (not cancelled,
not tests) of a window, by default the 12 months to the last counted order
(:func:`aovlab.bundles.baskets.window`).

**Definitions** (the bundle's SKUs ``s``; every formula is written once, below):

- list price of a SKU ``L_s`` = its average realised unit price in the window's counted
  lines, ``sum(quantity x unit_price) / sum(quantity)``; the bundle's list price
  ``L = sum(L_s)`` (one unit each). Line prices are before order-level discounts.
- unit cost ``C_s`` = the quantity-weighted average ``unit_cost`` of those lines (the
  load already fills line costs from a catalogue) over the lines that carry one; a SKU
  whose lines carry none costs ``cost_rate x L_s`` when ``cost_rate`` is given
  (``cost_source`` "cost rate"), else the calculator refuses, naming the SKUs.
- bundle price ``P`` = ``price``, or ``L x (1 - discount)``; the discount per bundle
  ``d = L - P``.
- ``margin_per_bundle = P - sum(C_s)``; ``margin_separately = L - sum(C_s)``.
- ``orders_with_all`` ``A``: counted orders in the window holding every SKU;
  ``orders_with_some`` ``S``: holding at least one but not all (the candidates the
  bundle can convert); ``orders`` ``N``: every counted order in the window, with or
  without lines (:func:`aovlab.metrics.order_table`); ``months`` ``M``: the calendar
  months of the window that the data covers (an export of one month read over the
  default 12 gives away its whole discount in that month). A candidate lacks ``s`` unless it holds it:
  ``lacking_s = S - (orders_with_s - A)``.
- ``discount_given_away = A x d`` over the window (``/ M`` a month): the orders that
  hold every item would get the discount for nothing.
- a candidate that converts adds the SKUs it lacks at list price and then buys the
  whole bundle at ``P``: it gains ``sum(L_s - C_s)`` over its missing SKUs ``- d``.
  Over all candidates ``G = sum_s lacking_s (L_s - C_s) - S x d``.
- at a take rate ``T`` (the share of candidates that convert):
  ``margin_change = T x G - A x d``, ``margin_change_per_1000_orders = margin_change /
  N x 1000``; the ``break_even_take_rate = A x d / G`` (none when ``G <= 0``: the
  bundle never pays; above 1 it does not pay even if every candidate converts).
- ``aov_change = (T x (sum_s lacking_s L_s - S x d) - A x d) / N`` (the number of
  orders is unchanged; on the net basis, with the caveat above about line prices);
  ``upt_change = T x sum_s lacking_s / N``.
- ``lift`` = :func:`aovlab.bundles.baskets.lift` of ``A`` against each SKU's
  ``orders_with_s`` over the window's baskets (orders with lines).

All counting happens in the engine, in one aggregation per call: the baskets of the
bundle's SKUs give, per order, how many of them it holds, and per SKU how many orders
hold it; only those per-SKU and per-bundle aggregates are collected.
:meth:`BundleMargin.at` recomputes every figure at another take rate, discount or price
from them, without the engine; :func:`margins` evaluates many bundles in one pass.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import narwhals.stable.v2 as nw
import numpy as np

from aovlab import fmt, metrics, periods
from aovlab.bundles.baskets import baskets, lift, require_lines, window
from aovlab.compare import namespace, no_counted_orders, small_frame
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collected, is_counted
from aovlab.results import Formats, Result, Section

__all__ = ["BUNDLE_FORMATS", "MARGINS_COLUMNS", "BundleMargin", "bundle_margin", "margins"]

#: How the per-SKU table of a :class:`BundleMargin` is shown.
BUNDLE_FORMATS: Formats = {
    "sku": "text",
    "product": "text",
    "list_price": "money",
    "unit_cost": "money",
    "cost_source": "text",
    "orders_with": "count",
    "orders_lacking": "count",
}

#: The columns of :func:`margins`, in order.
MARGINS_COLUMNS: tuple[str, ...] = (
    "skus",
    "list_price",
    "bundle_price",
    "margin_per_bundle",
    "orders_with_all",
    "orders_with_some",
    "discount_given_away",
    "discount_given_away_per_month",
    "break_even_take_rate",
    "margin_change",
    "margin_change_per_1000_orders",
    "aov_change",
    "margin_note",
)

#: Points on the margin curve.
_CURVE_POINTS = 61
#: How many known SKUs an unknown-SKU refusal lists.
_SHOWN = 8


# --------------------------------------------------------------------------- inputs


def _chosen(skus: Any) -> Any:
    """The SKUs themselves, or the top suggestion of :func:`~aovlab.bundles.suggest`.

    A notebook passes ``bundle_skus or suggestions``; suggestions that could not be made
    (an :class:`~aovlab.results.Unavailable`) are refused with their reason.
    """
    if isinstance(skus, Result):
        best = getattr(skus, "best", None)
        if best is None:
            raise AovlabInputError(
                "no bundle to evaluate",
                expected="SKUs, or suggested bundles to take the top one from",
                found=skus.headline,
            )
        return best
    return skus


def _check_skus(skus: Any, what: str = "a bundle") -> tuple[str, ...]:
    """The bundle's SKUs as text, or a clear error (a list of 2+ distinct SKUs)."""
    if isinstance(skus, str | bytes) or not isinstance(skus, Sequence):
        raise AovlabInputError(
            f"{what} must be a list of SKUs",
            expected='two or more SKUs, such as ["FW-003", "CA-001"]',
            found=repr(skus),
        )
    # A missing entry (None, "", "  ") is refused, not dropped: a bundle of three with
    # one lost would be priced as a bundle of two.
    items = tuple("" if s is None else str(s).strip() for s in skus)
    if any(not s for s in items):
        raise AovlabInputError(
            f"{what} has an empty SKU",
            expected='two or more SKUs, none empty, such as ["FW-003", "CA-001"]',
            found=repr(list(skus)),
        )
    twice = sorted({s for s in items if items.count(s) > 1})
    if twice:
        raise AovlabInputError(
            f"{what} lists a SKU twice",
            expected="each SKU once (a bundle holds one unit of each)",
            found=f"{', '.join(twice)} more than once in {list(items)!r}",
        )
    if len(items) < 2:
        raise AovlabInputError(
            f"{what} needs at least two SKUs",
            expected='two or more distinct SKUs, such as ["FW-003", "CA-001"]',
            found=repr(list(skus)),
        )
    return items


def _number(value: Any) -> bool:
    real = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    return real and math.isfinite(float(value))


def _check_offer(price: Any, discount: Any) -> tuple[float | None, float | None]:
    """Exactly one of ``price`` (above 0) and ``discount`` (between 0 and 1)."""
    if (price is None) == (discount is None):
        raise AovlabInputError(
            "a bundle needs a price or a discount",
            expected="exactly one of price= (an amount) and discount= (a share, such as 0.10)",
            found="both" if price is not None else "neither",
        )
    if discount is not None:
        if not _number(discount) or not 0 < discount < 1:
            raise AovlabInputError(
                "discount is out of range",
                expected="a share of the list price strictly between 0 and 1, such as 0.10",
                found=repr(discount),
            )
        return None, float(discount)
    if not _number(price) or price <= 0:
        raise AovlabInputError(
            "price is out of range",
            expected="a bundle price above 0",
            found=repr(price),
        )
    return float(price), None


def _check_take_rate(take_rate: Any) -> float:
    if not _number(take_rate) or not 0 <= take_rate <= 1:
        raise AovlabInputError(
            "take_rate is out of range",
            expected="the share of candidate orders that take the bundle, between 0 and 1, "
            "such as 0.05",
            found=repr(take_rate),
        )
    return float(take_rate)


def _check_cost_rate(cost_rate: Any) -> float | None:
    if cost_rate is None:
        return None
    if not _number(cost_rate) or not 0 <= cost_rate < 1:
        raise AovlabInputError(
            "cost_rate is out of range",
            expected="unit cost as a share of the list price, at least 0 and below 1, such as 0.55",
            found=repr(cost_rate),
        )
    return float(cost_rate)


def _check_price(price: float, list_price: float, skus: Sequence[str], currency: Any) -> None:
    if price > list_price + 1e-9:
        raise AovlabInputError(
            "price is above the bundle's list price",
            expected=f"a price up to {fmt.money(list_price, currency)}, the list price of "
            f"{' + '.join(skus)} (one unit each)",
            found=fmt.money(price, currency),
        )


def _months(span: periods.Window, first: Any = None, last: Any = None) -> int:
    """The calendar months of the window that the data covers (at least one).

    A window of 12 months over an export of one month gives away in that one month what
    it gives away in all: the monthly figures divide by the months with data in the
    window, from the first counted order's month to the last one's.
    """
    start, end = span.start, span.end - dt.timedelta(days=1)
    if first is not None and first.date() > start:
        start = first.date()
    if last is not None and last.date() < end:
        end = last.date()
    return max((end.year - start.year) * 12 + end.month - start.month + 1, 1)


# --------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class _Counts:
    """What one engine pass collects: per SKU, per bundle, and the totals."""

    sku: list[str]
    product: list[str]
    units: np.ndarray
    value: np.ndarray
    costed_units: np.ndarray
    cost: np.ndarray
    orders_with: np.ndarray
    with_all: np.ndarray  # per bundle
    with_any: np.ndarray  # per bundle
    orders: int
    basket_orders: int
    first: Any  # the first and last counted order of the whole data (None: none)
    last: Any


def _collect(shop: ShopData, bundles: Sequence[tuple[str, ...]], span: periods.Window) -> _Counts:
    """Per-SKU line sums and basket counts, per-bundle counts and totals: one collect.

    The bundle x SKU mapping is joined to the baskets of the bundles' SKUs; per bundle
    and order the number of its SKUs present tells orders with all from orders with
    some. Rows of the result: one per bundle and SKU (the SKU's figures repeat).
    """
    native = namespace(shop)
    union = sorted({s for b in bundles for s in b})
    mapping = nw.from_dict(
        {
            "bundle": [i for i, b in enumerate(bundles) for _ in b],
            "item": [s for b in bundles for s in b],
            "size": [len(b) for b in bundles for _ in b],
        },
        backend=native,
    ).lazy()
    items = baskets(shop, level="sku", when=span)
    inside = items.filter(nw.col("item").is_in(union))
    qty = nw.col("quantity").cast(nw.Float64())
    cost = nw.col("unit_cost").cast(nw.Float64())
    costed = ~nw.col("unit_cost").is_null()
    lines = (
        shop.scan("lines")
        .select(
            "order_id",
            nw.col("sku").alias("item"),
            nw.col("product").cast(nw.String()).alias("product"),
            qty.alias("q"),
            (qty * nw.col("unit_price").cast(nw.Float64())).alias("v"),
            nw.when(costed).then(qty).otherwise(0.0).alias("cq"),
            nw.when(costed).then(qty * cost).otherwise(0.0).alias("c"),
        )
        .filter(nw.col("item").is_in(union))
        .join(inside, on=["order_id", "item"], how="inner")
    )
    per_sku = lines.group_by("item").agg(
        nw.col("q").sum().alias("units"),
        nw.col("v").sum().alias("value"),
        nw.col("cq").sum().alias("costed_units"),
        nw.col("c").sum().alias("cost"),
        nw.col("product").min().alias("product"),
    )
    held = inside.group_by("item").agg(nw.len().alias("orders_with"))
    per_bundle = (
        inside.join(mapping, on="item", how="inner")
        .group_by("bundle", "order_id")
        .agg(nw.len().alias("n"), nw.col("size").max().alias("size"))
        .with_columns((nw.col("n") == nw.col("size")).cast(nw.Int64()).alias("all"))
        .group_by("bundle")
        .agg(nw.len().alias("with_any"), nw.col("all").sum().alias("with_all"))
    )
    counted = shop.scan().filter(is_counted())
    totals = (
        metrics.order_table(shop, when=span, lazy=True)
        .select(nw.len().alias("orders"))
        .join(items.select(nw.col("order_id").n_unique().alias("basket_orders")), how="cross")
        .join(
            counted.select(
                nw.col("ordered_at").min().alias("first"), nw.col("ordered_at").max().alias("last")
            ),
            how="cross",
        )
    )
    rows = (
        mapping.join(per_bundle, on="bundle", how="left")
        .join(per_sku, on="item", how="left")
        .join(held, on="item", how="left")
        .join(totals, how="cross")
        .sort("bundle", "item")
        .pipe(collected)
    )

    def floats(name: str) -> np.ndarray:
        # Rounded to 1e-6: the engine may add a sum's terms in any order, and those last
        # bits must not tell one bundle's call from another's (margins == bundle_margin).
        values = rows[name].cast(nw.Float64()).to_numpy().astype(float)
        return np.round(np.nan_to_num(values, nan=0.0), 6)

    item = [str(s) for s in rows["item"].to_list()]
    first = {s: item.index(s) for s in union}
    pick = np.array([first[s] for s in union], dtype=int)
    products = rows["product"].to_list()
    bundle = rows["bundle"].to_numpy().astype(int)
    n_bundles = len(bundles)
    with_all = np.zeros(n_bundles)
    with_any = np.zeros(n_bundles)
    with_all[bundle] = floats("with_all")
    with_any[bundle] = floats("with_any")
    return _Counts(
        sku=union,
        product=[
            str(products[i]) if products[i] is not None else union[k] for k, i in enumerate(pick)
        ],
        units=floats("units")[pick],
        value=floats("value")[pick],
        costed_units=floats("costed_units")[pick],
        cost=floats("cost")[pick],
        orders_with=floats("orders_with")[pick],
        with_all=with_all,
        with_any=with_any,
        orders=int(floats("orders")[0]) if len(rows) else 0,
        basket_orders=int(floats("basket_orders")[0]) if len(rows) else 0,
        first=rows["first"][0] if len(rows) else None,
        last=rows["last"][0] if len(rows) else None,
    )


def _refuse_unknown(shop: ShopData, unknown: list[str], span: periods.Window) -> AovlabInputError:
    """The error for SKUs never sold in the window's counted lines: where else they are."""
    elsewhere = set(
        shop.scan("lines")
        .filter(nw.col("sku").is_in(unknown))
        .select("sku")
        .unique()
        .pipe(collected)["sku"]
        .to_list()
    )
    known = sorted(
        str(s)
        for s in baskets(shop, level="sku", when=span)
        .select("item")
        .unique()
        .pipe(collected)["item"]
    )
    parts = []
    for sku in unknown:
        if sku in elsewhere:
            parts.append(f"{sku} is sold only outside {span.label} or in cancelled/test orders")
        else:
            # Capitals first (b for B), then a SKU holding a comma that a list split
            # (A and 1 for "A,1"), then spelling.
            close = (
                [k for k in known if k.casefold() == sku.casefold()]
                or [k for k in known if "," in k and sku in (p.strip() for p in k.split(","))]
                or difflib.get_close_matches(sku, known, n=3)
            )
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            parts.append(f"{sku} is not in the order lines at all{hint}")
    shown = ", ".join(known[:_SHOWN]) + (
        f" and {fmt.count(len(known) - _SHOWN)} more" if len(known) > _SHOWN else ""
    )
    return AovlabInputError(
        f"unknown SKU{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
        table="lines",
        column="sku",
        expected=f"SKUs sold in the counted orders of {span.label}: {shown or 'none'}",
        found="; ".join(parts),
    )


def _refuse_no_cost(skus: list[str], span: periods.Window) -> AovlabInputError:
    return AovlabInputError(
        f"no unit cost for {', '.join(skus)}",
        table="lines",
        column="unit_cost",
        expected="unit costs on the order lines or in a catalogue (--catalog), or a stated "
        "cost_rate (--cost-rate, such as 0.55: unit cost as a share of the list price)",
        found=f"no line of {', '.join(skus)} in {span.label} carries a unit cost",
    )


# --------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class _Aggregates:
    """Everything a bundle's figures are computed from (no engine needed any more)."""

    skus: tuple[str, ...]
    products: tuple[str, ...]
    list_prices: np.ndarray  # per SKU, L_s
    unit_costs: np.ndarray  # per SKU, C_s (NaN: unknown)
    cost_sources: tuple[str, ...]
    orders_with: np.ndarray  # per SKU
    with_all: int  # A
    with_some: int  # S
    orders: int  # N
    basket_orders: int
    months: int  # M

    @property
    def lacking(self) -> np.ndarray:
        """Candidates lacking each SKU: ``S - (orders_with_s - A)``."""
        return self.with_some - (self.orders_with - self.with_all)


@dataclass(frozen=True)
class _Figures:
    list_price: float
    bundle_price: float
    discount_per_bundle: float
    unit_cost: float
    margin_per_bundle: float
    margin_separately: float
    discount_given_away: float
    discount_given_away_per_month: float
    margin_gained: float  # G
    break_even_take_rate: float  # NaN when G <= 0
    margin_change: float
    margin_change_per_1000_orders: float
    aov_change: float
    upt_change: float
    lift: float


def _margin_change(take_rate: Any, gained: float, given_away: float) -> Any:
    """``T x G - A x d`` (numbers or arrays of take rates)."""
    return take_rate * gained - given_away


def _per_1000(change: Any, orders: int) -> Any:
    return change / orders * 1000 if orders else change * math.nan


def _figures(
    agg: _Aggregates, *, price: float | None, discount: float | None, take_rate: float
) -> _Figures:
    """Every figure of the module notes from the aggregates, once."""
    list_price = float(agg.list_prices.sum())
    bundle_price = price if price is not None else list_price * (1 - (discount or 0.0))
    d = list_price - bundle_price
    unit_cost = float(agg.unit_costs.sum())  # NaN when a SKU has no cost
    lacking = agg.lacking
    given_away = agg.with_all * d
    gained = float((lacking * (agg.list_prices - agg.unit_costs)).sum()) - agg.with_some * d
    change = _margin_change(take_rate, gained, given_away)
    n = agg.orders
    added_value = float((lacking * agg.list_prices).sum()) - agg.with_some * d
    return _Figures(
        list_price=list_price,
        bundle_price=bundle_price,
        discount_per_bundle=d,
        unit_cost=unit_cost,
        margin_per_bundle=bundle_price - unit_cost,
        margin_separately=list_price - unit_cost,
        discount_given_away=given_away,
        discount_given_away_per_month=given_away / agg.months,
        margin_gained=gained,
        break_even_take_rate=given_away / gained if gained > 0 else math.nan,
        margin_change=change,
        margin_change_per_1000_orders=_per_1000(change, n),
        aov_change=(take_rate * added_value - given_away) / n if n else math.nan,
        upt_change=take_rate * float(lacking.sum()) / n if n else math.nan,
        lift=float(lift(agg.with_all, list(agg.orders_with), agg.basket_orders))
        if agg.basket_orders and (agg.orders_with > 0).all()
        else math.nan,
    )


def _aggregates(
    counts: _Counts,
    bundle: int,
    skus: tuple[str, ...],
    cost_rate: float | None,
    months: int,
) -> _Aggregates:
    """The aggregates of bundle number ``bundle`` (SKU costs by ``cost_rate`` where none)."""
    where = [counts.sku.index(s) for s in skus]
    units = counts.units[where]
    list_prices = counts.value[where] / units
    costed = counts.costed_units[where]
    with np.errstate(invalid="ignore", divide="ignore"):
        line_costs = np.where(costed > 0, counts.cost[where] / costed, np.nan)
    has = costed > 0
    if cost_rate is not None:
        costs = np.where(has, line_costs, cost_rate * list_prices)
    else:
        costs = line_costs
    sources = tuple(
        "order lines" if h else "cost rate" if cost_rate is not None else "none" for h in has
    )
    with_all = int(counts.with_all[bundle])
    return _Aggregates(
        skus=skus,
        products=tuple(counts.product[i] for i in where),
        list_prices=list_prices,
        unit_costs=costs,
        cost_sources=sources,
        orders_with=counts.orders_with[where],
        with_all=with_all,
        with_some=int(counts.with_any[bundle]) - with_all,
        orders=counts.orders,
        basket_orders=counts.basket_orders,
        months=months,
    )


def _prepare(
    shop: ShopData, bundles: Sequence[tuple[str, ...]], when: str | periods.Window | None
) -> tuple[_Counts, periods.Window, int]:
    """One engine pass over the bundles; refuses unknown SKUs and an empty window."""
    require_lines(shop, "A bundle margin")
    span = window(shop, when)
    counts = _collect(shop, bundles, span)
    if not counts.orders:
        raise no_counted_orders(span.label, counts.first, counts.last)
    order = [s for b in bundles for s in b]
    unknown = [s for s, n in zip(counts.sku, counts.orders_with, strict=True) if not n > 0]
    if unknown:
        raise _refuse_unknown(shop, sorted(unknown, key=order.index), span)
    no_units = [s for s, u in zip(counts.sku, counts.units, strict=True) if not u > 0]
    if no_units:
        raise AovlabInputError(
            f"no units sold of {', '.join(sorted(no_units, key=order.index))}",
            table="lines",
            column="quantity",
            expected=f"lines with a quantity above 0 in {span.label} (the list price is the "
            "average price paid per unit)",
            found="a quantity of 0 on every line",
        )
    return counts, span, _months(span, counts.first, counts.last)


# --------------------------------------------------------------------------- results


def _curve(agg: _Aggregates, fig: _Figures, take_rate: float) -> dict[str, np.ndarray]:
    """Take rate 0 to max(0.3, 2 x break-even, 2 x take rate), capped at 1 (61 points)."""
    be = fig.break_even_take_rate
    top = max(0.3, 2 * take_rate, 2 * be if math.isfinite(be) else 0.0)
    rates = np.linspace(0.0, min(1.0, top), _CURVE_POINTS)
    change = _margin_change(rates, fig.margin_gained, fig.discount_given_away)
    return {"take_rate": rates, "margin_change_per_1000_orders": _per_1000(change, agg.orders)}


def _share(value: float) -> str:
    """A share as a whole percentage when it is one (10 %), else to one place (7.5 %)."""
    whole = abs(value * 100 - round(value * 100)) < 1e-6
    return fmt.pct(value, digits=0 if whole else 1)


def _plain(text: str) -> str:
    """A product name as plain text on one line (names are the client's, untrusted)."""
    return " ".join(str(text).split())


@dataclass(repr=False)
class BundleMargin(Result):
    """A bundle at a price: ``table`` has one row per SKU; every figure is a field.

    Money figures are in the shop's currency over the window (``period``); see the
    module notes for each definition.
    """

    skus: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    list_price: float = 0.0
    bundle_price: float = 0.0
    discount: float = 0.0
    discount_per_bundle: float = 0.0
    unit_cost: float = 0.0
    margin_per_bundle: float = 0.0
    margin_separately: float = 0.0
    orders_with_all: int = 0
    orders_with_some: int = 0
    orders: int = 0
    months: int = 1
    discount_given_away: float = 0.0
    discount_given_away_per_month: float = 0.0
    margin_gained: float = 0.0
    break_even_take_rate: float | None = None
    take_rate: float = 0.05
    margin_change: float = 0.0
    margin_change_per_1000_orders: float = 0.0
    aov_change: float = 0.0
    upt_change: float = 0.0
    lift: float | None = None
    period: str = ""
    price_given: bool = False
    cost_rate: float | None = None
    curve: Any = None
    aggregates: _Aggregates | None = field(default=None, repr=False)
    formats: ClassVar[Formats] = BUNDLE_FORMATS

    def at(
        self,
        take_rate: float | None = None,
        discount: float | None = None,
        price: float | None = None,
    ) -> BundleMargin:
        """The same bundle at another take rate, discount or price, without the engine.

        Unchanged settings are kept (a new ``discount`` replaces a price and vice versa).

        Examples
        --------
        >>> import aovlab
        >>> res = bundle_margin(aovlab.sample.load(), ["FW-003", "CA-001"], discount=0.10)
        >>> res.at(discount=0.05).break_even_take_rate < res.break_even_take_rate
        True
        """
        assert self.aggregates is not None
        agg = self.aggregates
        rate = self.take_rate if take_rate is None else _check_take_rate(take_rate)
        if price is None and discount is None:
            if self.price_given:
                price = self.bundle_price
            else:
                discount = self.discount
        new_price, new_discount = _check_offer(price, discount)
        if new_price is not None:
            _check_price(new_price, float(agg.list_prices.sum()), agg.skus, self.currency)
        backend = nw.get_native_namespace(nw.from_native(self.table, eager_only=True))
        return _result(
            agg,
            self.table,
            backend,
            price=new_price,
            discount=new_discount,
            take_rate=rate,
            currency=self.currency,
            period=self.period,
            cost_rate=self.cost_rate,
        )

    def _headline(self) -> str:
        return _bundle_headline(self)

    def context(self) -> dict[str, str]:
        """The period fills the labels of the counts and sums over it."""
        return {"period": self.period}

    def sections(self) -> list[Section]:
        """The bundle's figures, then its SKUs."""
        backend = nw.get_native_namespace(nw.from_native(self.table, eager_only=True))
        be = self.break_even_take_rate
        summary = nw.from_dict(
            {
                "list_price": [self.list_price],
                "bundle_price": [self.bundle_price],
                "margin_per_bundle": [self.margin_per_bundle],
                "margin_separately": [self.margin_separately],
                "orders_with_all": [self.orders_with_all],
                "orders_with_some": [self.orders_with_some],
                "discount_given_away": [self.discount_given_away],
                "discount_given_away_per_month": [self.discount_given_away_per_month],
                "break_even_take_rate": [be],
                "margin_change_per_1000_orders": [self.margin_change_per_1000_orders],
                "aov_change": [self.aov_change],
            },
            backend=backend,
        ).with_columns(nw.col("break_even_take_rate").cast(nw.Float64()))
        formats: Formats = {
            "list_price": "money",
            "bundle_price": "money",
            "margin_per_bundle": "money",
            "margin_separately": "money",
            "orders_with_all": "count",
            "orders_with_some": "count",
            "discount_given_away": "money",
            "discount_given_away_per_month": "money",
            "break_even_take_rate": "share",
            "margin_change_per_1000_orders": "change",
            "aov_change": "change",
        }
        note = (
            f"{self.period}, {fmt.counted(self.orders, 'counted order')}; at a take rate of "
            f"{_share(self.take_rate)} of the candidate orders. List prices are "
            "the average prices paid on the order lines, before order-level discounts."
        )
        return [
            Section(summary.to_native(), formats, note=note),
            Section(self.table, self.formats, title="The bundle's SKUs"),
        ]

    def chart(self) -> Any:
        """Margin change per 1,000 orders against the take rate, break-even marked."""
        import altair as alt

        from aovlab import charts

        curve = nw.from_native(self.curve, eager_only=True) if self.curve is not None else None
        if curve is None or not len(curve):
            return charts.message(self.headline)
        currency = self.currency or ""
        x = alt.X(
            "take_rate:Q",
            title="Take rate (share of candidate orders that take the bundle)",
            axis=alt.Axis(format=".0%"),
        )
        y = alt.Y(
            "margin_change_per_1000_orders:Q",
            title=f"Margin change per {fmt.count(1000)} orders ({currency})".replace(" ()", ""),
            axis=alt.Axis(format=",.0f"),
        )
        tooltip = [
            alt.Tooltip("take_rate:Q", format=".1%", title="take rate"),
            alt.Tooltip(
                "margin_change_per_1000_orders:Q",
                format=",.2f",
                title=f"per {fmt.count(1000)} orders",
            ),
        ]
        line = (
            alt.Chart(charts._data(curve))
            .mark_line(color=charts.PALETTE[0])
            .encode(x=x, y=y, tooltip=tooltip)
        )
        zero = (
            alt.Chart(charts._data(nw.from_dict({"y": [0.0]}, backend="pandas")))
            .mark_rule(color="#999999")
            .encode(y="y:Q")
        )
        layers: list[Any] = [zero, line]
        top = float(curve["take_rate"].max())
        be = self.break_even_take_rate
        if be is not None and be <= top:
            mark = nw.from_dict(
                {"take_rate": [be], "margin_change_per_1000_orders": [0.0], "what": ["break-even"]},
                backend="pandas",
            )
            base = alt.Chart(charts._data(mark))
            layers += [
                base.mark_rule(strokeDash=[4, 3], color=charts.PALETTE[3]).encode(x="take_rate:Q"),
                base.mark_point(filled=True, size=70, color=charts.PALETTE[3]).encode(
                    x=x, y=y, tooltip=["what:N", *tooltip]
                ),
            ]
        chosen = nw.from_dict(
            {
                "take_rate": [self.take_rate],
                "margin_change_per_1000_orders": [self.margin_change_per_1000_orders],
                "what": ["chosen take rate"],
            },
            backend="pandas",
        )
        layers.append(
            alt.Chart(charts._data(chosen))
            .mark_point(filled=True, size=90, color=charts.PALETTE[1])
            .encode(x=x, y=y, tooltip=["what:N", *tooltip])
        )
        title = " + ".join(self.products or self.skus)
        chosen_text = f"orange: the chosen {_share(self.take_rate)}"
        if be is None:
            subtitle = f"No take rate makes the bundle pay; {chosen_text}"
        elif be > top:
            subtitle = (
                f"It does not pay even if every candidate order takes it (break-even "
                f"{fmt.number(be, 1)} times the candidates); {chosen_text}"
            )
        else:
            subtitle = (
                f"Break-even at a take rate of {fmt.pct(be, digits=1)} (dashed); {chosen_text}"
            )
        return alt.layer(*layers).properties(
            title=alt.TitleParams(f"Bundle {title}: margin against take rate", subtitle=subtitle)
        )

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: the issue's keys, the settings and the per-SKU rows."""
        return {
            "headline": self.headline,
            "currency": self.currency,
            "period": self.period,
            "skus": list(self.skus),
            "list_price": _r(self.list_price, 2),
            "bundle_price": _r(self.bundle_price, 2),
            "discount": _r(self.discount, 4),
            "discount_per_bundle": _r(self.discount_per_bundle, 2),
            "unit_cost": _r(self.unit_cost, 2),
            "margin_per_bundle": _r(self.margin_per_bundle, 2),
            "margin_separately": _r(self.margin_separately, 2),
            "orders": self.orders,
            "months": self.months,
            "orders_with_all": self.orders_with_all,
            "orders_with_some": self.orders_with_some,
            "discount_given_away": _r(self.discount_given_away, 2),
            "discount_given_away_per_month": _r(self.discount_given_away_per_month, 2),
            "margin_gained_if_all_convert": _r(self.margin_gained, 2),
            "break_even_take_rate": _r(self.break_even_take_rate, 4),
            "take_rate": _r(self.take_rate, 4),
            "margin_change": _r(self.margin_change, 2),
            "margin_change_per_1000_orders": _r(self.margin_change_per_1000_orders, 2),
            "aov_change": _r(self.aov_change, 4),
            "upt_change": _r(self.upt_change, 6),
            "lift": _r(self.lift, 4),
            "items": self.rows(),
        }


def _r(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _result(
    agg: _Aggregates,
    table: Any,
    backend: Any,
    *,
    price: float | None,
    discount: float | None,
    take_rate: float,
    currency: str | None,
    period: str,
    cost_rate: float | None = None,
) -> BundleMargin:
    fig = _figures(agg, price=price, discount=discount, take_rate=take_rate)
    curve = small_frame(_curve(agg, fig, take_rate), backend).to_native()
    be = fig.break_even_take_rate
    return BundleMargin(
        table=table,
        currency=currency,
        skus=agg.skus,
        products=agg.products,
        list_price=fig.list_price,
        bundle_price=fig.bundle_price,
        discount=fig.discount_per_bundle / fig.list_price,
        discount_per_bundle=fig.discount_per_bundle,
        unit_cost=fig.unit_cost,
        margin_per_bundle=fig.margin_per_bundle,
        margin_separately=fig.margin_separately,
        orders_with_all=agg.with_all,
        orders_with_some=agg.with_some,
        orders=agg.orders,
        months=agg.months,
        discount_given_away=fig.discount_given_away,
        discount_given_away_per_month=fig.discount_given_away_per_month,
        margin_gained=fig.margin_gained,
        break_even_take_rate=be if math.isfinite(be) else None,
        take_rate=take_rate,
        margin_change=fig.margin_change,
        margin_change_per_1000_orders=fig.margin_change_per_1000_orders,
        aov_change=fig.aov_change,
        upt_change=fig.upt_change,
        lift=fig.lift if math.isfinite(fig.lift) else None,
        period=period,
        price_given=price is not None,
        cost_rate=cost_rate,
        curve=curve,
        aggregates=agg,
    )


def _money(value: float, currency: str | None, *, signed: bool = False) -> str:
    """Money for a headline: whole units from 100 up (cents are noise there)."""
    return fmt.money(value, currency, digits=0 if abs(value) >= 100 else 2, signed=signed)


def _bundle_headline(res: BundleMargin) -> str:
    money = fmt.in_currency(res.currency)[0]
    names = [_plain(p) for p in res.products]
    k = len(names)
    monthly = res.months >= 2
    per = " a month" if monthly else ""
    where = "" if monthly else f" in {fmt.period_name(res.period)}"

    def orders(n: float) -> str:
        value = n / res.months if monthly else n
        if value < 10 and round(value) != round(value, 1):
            return f"{fmt.number(value, 1)} orders"  # 2.5 orders a month, not 2 or 3
        return fmt.counted(round(value), "order")

    both = "both" if k == 2 else f"all {fmt.counted(k, 'item', words=True).split()[0]}"
    some = "only one of them add the other" if k == 2 else "only some of them add the rest"
    if res.price_given:
        offer = (
            f"A bundle of {fmt.listing(names)} at {money(res.bundle_price)} (instead of "
            f"{money(res.list_price)}, {_share(res.discount)} off)"
        )
    else:
        offer = (
            f"A {_share(res.discount)} bundle of {fmt.listing(names)} "
            f"({money(res.bundle_price)} instead of {money(res.list_price)})"
        )
    away = res.discount_given_away_per_month if monthly else res.discount_given_away
    text = (
        f"{offer} gives away {_money(away, res.currency)}{per}{where} on the "
        f"{orders(res.orders_with_all)}{per} that already "
        f"{'has' if orders(res.orders_with_all) == '1 order' else 'have'} {both}"
    )
    candidates = f"the {orders(res.orders_with_some)}{per} with {some}"
    be = res.break_even_take_rate
    if res.orders_with_some == 0:
        text += "; no order holds only some of them, so it has nobody to convert"
    elif be is None:
        text += (
            f"; it never pays: each of {candidates} would bring less margin than the "
            f"{money(res.discount_per_bundle)} discount"
        )
    elif be > 1:
        text += (
            f"; it does not pay even if all {candidates} (break-even would need "
            f"{fmt.number(be, 1)} times as many)"
        )
    else:
        if be == 0:
            share = "any"
        elif be < 0.0005:
            share = f"under {fmt.pct(0.001)}"
        else:
            share = fmt.pct(be, digits=0 if be >= 0.095 else 1)
        text += f"; it pays when {share} of {candidates}"
    change = res.margin_change_per_1000_orders
    verb = "rises" if change > 0 else "falls" if change < 0 else "does not change"
    amount = f" by {_money(abs(change), res.currency)}" if change else ""
    text += (
        f". At a {_share(res.take_rate)} take rate margin {verb}{amount} per "
        f"{fmt.count(1000)} orders and AOV changes by {fmt.money(res.aov_change, res.currency, signed=True)}."
    )
    return text


# --------------------------------------------------------------------------- analyses


def bundle_margin(
    shop: ShopData,
    skus: Sequence[str],
    *,
    price: float | None = None,
    discount: float | None = None,
    cost_rate: float | None = None,
    take_rate: float = 0.05,
    when: str | periods.Window | None = None,
) -> BundleMargin:
    """What a bundle of ``skus`` at ``price`` (or ``discount``) does to margin, AOV and UPT.

    Definitions in the module notes: the discount given away on the orders that already
    hold every item, against the margin of the items that a share ``take_rate`` of the
    orders holding only some of them add; the break-even take rate where the two match.

    Parameters
    ----------
    shop : ShopData
        A shop with order lines.
    skus : list of str, or Suggestions
        Two or more distinct SKUs, one unit of each in the bundle; or the result of
        :func:`~aovlab.bundles.suggest`, whose top suggestion is taken.
    price : float, optional
        The bundle price (at most its list price). Give this or ``discount``.
    discount : float, optional
        The discount off the list price as a share, between 0 and 1 (0.10 = 10 %).
    cost_rate : float, optional
        Unit cost as a share of list price, for SKUs whose lines carry no unit cost.
    take_rate : float
        The share of candidate orders that add the missing items (default 0.05).
    when : str or Window, optional
        The period; by default the 12 months to the last counted order.

    Returns
    -------
    BundleMargin

    Raises
    ------
    AovlabInputError
        A SKU never sold in the window, without a cost (and no ``cost_rate``), or a
        price, discount or rate out of range.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> res = bundle_margin(shop, ["FW-003", "CA-001"], discount=0.10)
    >>> res.orders_with_all, res.orders_with_some, round(res.list_price), round(res.bundle_price)
    (229, 1571, 175, 158)
    >>> round(res.break_even_take_rate, 3), round(res.margin_change_per_1000_orders)
    (0.047, 14)
    >>> sorted(res.to_dict())[:4]
    ['aov_change', 'break_even_take_rate', 'bundle_price', 'currency']
    """
    bundle = _check_skus(_chosen(skus))
    offer_price, offer_discount = _check_offer(price, discount)
    rate = _check_take_rate(take_rate)
    costs = _check_cost_rate(cost_rate)
    counts, span, months = _prepare(shop, [bundle], when)
    agg = _aggregates(counts, 0, bundle, costs, months)
    missing = [s for s, c in zip(agg.skus, agg.unit_costs, strict=True) if not math.isfinite(c)]
    if missing:
        raise _refuse_no_cost(missing, span)
    if not float(agg.list_prices.sum()) > 0:
        raise AovlabInputError(
            f"the bundle {' + '.join(bundle)} has no list price",
            table="lines",
            column="unit_price",
            expected=f"lines of {', '.join(bundle)} sold at a price above 0 in {span.label} "
            "(the list price is the average price paid per unit)",
            found="a unit price of 0 on every line",
        )
    if offer_price is not None:
        _check_price(offer_price, float(agg.list_prices.sum()), bundle, shop.currency)
    native = namespace(shop)
    table = small_frame(
        {
            "sku": list(agg.skus),
            "product": list(agg.products),
            "list_price": agg.list_prices.copy(),
            "unit_cost": agg.unit_costs.copy(),
            "cost_source": list(agg.cost_sources),
            "orders_with": agg.orders_with.astype(int).tolist(),
            "orders_lacking": agg.lacking.astype(int).tolist(),
        },
        native,
    ).to_native()
    return _result(
        agg,
        table,
        native,
        price=offer_price,
        discount=offer_discount,
        take_rate=rate,
        currency=shop.currency,
        period=span.label,
        cost_rate=costs,
    )


def margins(
    shop: ShopData,
    bundles: Sequence[Sequence[str]],
    *,
    discount: float = 0.10,
    take_rate: float = 0.05,
    cost_rate: float | None = None,
    when: str | periods.Window | None = None,
) -> Any:
    """The calculator's figures for many bundles at one discount, in one engine pass.

    The numbers are those of :func:`bundle_margin` for each bundle (the same formulas
    on the same aggregates). A bundle with a SKU that has no unit cost (and no
    ``cost_rate``) keeps its row: its margin figures are null and ``margin_note`` says
    why. An unknown SKU is refused.

    Parameters
    ----------
    shop : ShopData
        A shop with order lines.
    bundles : list of lists of str
        The bundles, such as the top pairs: ``[("FW-003", "CA-001"), ...]``.
    discount, take_rate, cost_rate, when
        As in :func:`bundle_margin` (the discount defaults to 10 %).

    Returns
    -------
    DataFrame
        In the shop's backend, one row per bundle in the order given, with the columns
        of :data:`MARGINS_COLUMNS` (``skus`` reads ``"A+B"``).

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> t = margins(shop, [("FW-003", "CA-001"), ("TE-001", "AC-009"), ("CO-002", "CO-009")])
    >>> t["skus"].to_list()
    ['FW-003+CA-001', 'TE-001+AC-009', 'CO-002+CO-009']
    >>> bool((t["orders_with_all"] > 50).all())
    True
    """
    if isinstance(bundles, str | bytes) or not isinstance(bundles, Sequence):
        raise AovlabInputError(
            "bundles must be a list of bundles",
            expected='a list of SKU lists, such as [("FW-003", "CA-001")]',
            found=repr(bundles),
        )
    checked = [_check_skus(b, f"bundle {i + 1}") for i, b in enumerate(bundles)]
    _, offer_discount = _check_offer(None, discount)
    rate = _check_take_rate(take_rate)
    costs = _check_cost_rate(cost_rate)
    native = namespace(shop)
    columns: dict[str, list[Any]] = {name: [] for name in MARGINS_COLUMNS}
    if checked:
        counts, _, months = _prepare(shop, checked, when)
        for i, bundle in enumerate(checked):
            agg = _aggregates(counts, i, bundle, costs, months)
            fig = _figures(agg, price=None, discount=offer_discount, take_rate=rate)
            no_cost = [s for s, c in zip(bundle, agg.unit_costs, strict=True) if math.isnan(c)]
            be = fig.break_even_take_rate
            costed: dict[str, Any] = {
                "margin_per_bundle": fig.margin_per_bundle,
                "break_even_take_rate": be if math.isfinite(be) else None,
                "margin_change": fig.margin_change,
                "margin_change_per_1000_orders": fig.margin_change_per_1000_orders,
            }
            if no_cost:
                costed = dict.fromkeys(costed)
                note: str | None = f"no unit cost for {', '.join(no_cost)} (give cost_rate)"
            elif not math.isfinite(be):
                note = "never pays: a converted order brings less margin than the discount"
            else:
                note = None
            row = {
                "skus": "+".join(bundle),
                "list_price": fig.list_price,
                "bundle_price": fig.bundle_price,
                "orders_with_all": agg.with_all,
                "orders_with_some": agg.with_some,
                "discount_given_away": fig.discount_given_away,
                "discount_given_away_per_month": fig.discount_given_away_per_month,
                "aov_change": fig.aov_change,
                "margin_note": note,
                **costed,
            }
            for name in MARGINS_COLUMNS:
                columns[name].append(row[name])
    floats = set(MARGINS_COLUMNS) - {"skus", "orders_with_all", "orders_with_some", "margin_note"}
    data: dict[str, Any] = {
        name: np.array([math.nan if v is None else v for v in values], dtype=float)
        if name in floats
        else values
        for name, values in columns.items()
    }
    frame = small_frame(data, native)
    return frame.with_columns(
        nw.col("skus").cast(nw.String()),
        nw.col("orders_with_all", "orders_with_some").cast(nw.Int64()),
        nw.col("margin_note").cast(nw.String()),
    ).to_native()
