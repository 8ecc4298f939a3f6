"""What is bought together: pairs (and triples) of items over orders as baskets.

:func:`pairs` counts, over the counted orders of a window (each order a basket of its
distinct SKUs or categories, :func:`aovlab.bundles.baskets.baskets`), how many orders
hold each pair of items, and reports for each pair

- ``orders`` (together), ``orders_a``, ``orders_b`` (each alone or not),
  ``support = orders / N`` (N: orders with at least one item in the window),
- ``confidence_ab = orders / orders_a`` (the share of ``a``'s orders that hold ``b``) and
  ``confidence_ba = orders / orders_b``; ``a`` is the item with fewer orders (ties: the
  smaller name), so ``confidence_ab >= confidence_ba``,
- ``lift`` (:func:`aovlab.bundles.baskets.lift`: how many times as often as if the two
  were bought independently),
- a **significance guard**: ``p_value`` is the one-sided Fisher exact test for a
  positive association (``scipy.stats.hypergeom.sf(orders - 1, N, orders_a, orders_b)``:
  the chance of at least that many orders together if the two were independent, given
  each one's orders); ``p_adjusted`` is Benjamini-Hochberg's over the family of *all*
  pairs of frequent items, ``F * (F - 1) / 2`` for ``F`` frequent items, where a pair
  that is not counted (below the floor, or never bought together) enters with p = 1
  (which can only make the adjustment stricter); ``significant`` is
  ``p_adjusted < alpha`` and ``orders >= min_orders``. A pair seen twice in a small shop,
  or one of thousands of pairs of popular items that meet by chance, is not a discovery.

Apriori floor: an itemset is kept when its orders reach
``max(min_orders, ceil(min_support * N))`` (``min_support`` is a support, as in
mlxtend's ``fpgrowth``, whose count threshold is the same ``ceil``). Items below the floor
are dropped first, pairs are counted among the frequent items only, and triples
(``size=3``) among the items of frequent pairs only; the figures agree exactly with
``mlxtend.frequent_patterns.fpgrowth`` + ``association_rules`` (tests/test_bundles_pairs.py).

How the pairs are counted: a sparse order x item incidence matrix ``X`` of the frequent
items only (the engine joins the baskets to the items' codes and numbers the orders; two
integer columns come back, never a dense order x item frame) and the product ``X.T @ X``
(scipy.sparse), whose upper triangle at the floor is the pair table; triples are
``P.T @ X`` with ``P`` the orders x frequent-pair incidence. The engine self-join (the
frequent items' baskets joined to themselves on ``order_id``, ``a < b``, grouped by
pair) was the first version and was measured against it (bench/bench_bundles.py, 2
shared cores, 2026-12-03, the self-join written directly in polars): on the UCI invoices
(19,773 invoices, 2,832 SKUs at 0.1 % support, 345,844 pairs; invoices of up to 1,109
SKUs make the self-join tens of millions of rows) the self-join took 8.3 s and 1.6 GB,
this whole call 1.8 s (443 MB for the whole process, loading included); on 1,000,000
synthetic orders of 2.5 SKUs each (240 frequent SKUs of 20,000) the self-join 1.2 s, this
call 1.9 s; on the sample shop at 1 M orders (bench_drivers.py, last year) 1.6 s
against 0.76 s. The sparse product was kept: never far behind on small baskets, much
faster on large ones, and its memory is bounded by the frequent items (the join holds
every pair of lines of each order at once). mlxtend's fpgrowth, for comparison, takes
96 s on UCI at 1 % support and does not finish at 0.1 % (over 300 s; out of 8 GB on the
1 M-order shop).

What the guard is not: Fisher's test asks whether two items meet more often than if
orders were exchangeable draws; in a shop whose baskets vary a lot in size (UCI's
wholesale invoices: 338,864 of its 345,844 pairs pass) every pair of popular items meets
more often than that, so read the lift and the orders with it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import narwhals.stable.v2 as nw
import numpy as np

from aovlab import fmt, metrics, periods
from aovlab.bundles.baskets import baskets, check_level, lift, require_lines, window
from aovlab.compare import counted_span, namespace, small_frame
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collect_all
from aovlab.results import Formats, Result, Section

__all__ = ["PAIR_COLUMNS", "TRIPLE_COLUMNS", "Pairs", "pairs"]

#: The pair table's columns, in order.
PAIR_COLUMNS: tuple[str, ...] = (
    "a",
    "b",
    "a_product",
    "b_product",
    "orders",
    "orders_a",
    "orders_b",
    "support",
    "confidence_ab",
    "confidence_ba",
    "lift",
    "p_value",
    "p_adjusted",
    "significant",
)
#: The triple table's columns (``size=3``), in order.
TRIPLE_COLUMNS: tuple[str, ...] = (
    "a",
    "b",
    "c",
    "a_product",
    "b_product",
    "c_product",
    "orders",
    "support",
    "confidence",
    "then",
    "lift",
)

PAIR_FORMATS: Formats = {
    "a": "text",
    "b": "text",
    "c": "text",
    "a_product": "text",
    "b_product": "text",
    "c_product": "text",
    "orders": "count",
    "orders_a": "count",
    "orders_b": "count",
    "support": "share",
    "confidence_ab": "share",
    "confidence_ba": "share",
    "confidence": "share",
    "then": "text",
    "lift": "number",
    "p_value": "p",
    "p_adjusted": "p",
    "significant": "flag",
}
#: The most pairs the scatter draws: half the strongest passing ones, half the most ordered.
MAX_POINTS = 400
#: How many pairs and items a person sees under the headline (all stay in ``table``).
SHOWN = 25
ITEM_FORMATS: Formats = {"item": "text", "product": "text", "orders": "count", "support": "share"}

#: Labels of the pairs in the scatter chart: the top significant pairs by lift.
LABELLED = 5


# --------------------------------------------------------------------------- checks


def _check(min_support: Any, min_orders: Any, size: Any, alpha: Any, top: Any) -> None:
    def bad(name: str, expected: str, value: Any) -> AovlabInputError:
        return AovlabInputError(f"{name} is out of range", expected=expected, found=repr(value))

    number = numbers.Real  # numpy floats and ints too; bools are refused below
    whole = numbers.Integral
    if isinstance(min_support, bool | np.bool_) or not isinstance(min_support, number):
        raise bad(
            "min_support", "a share of orders, 0 < min_support <= 1 (e.g. 0.001)", min_support
        )
    if not 0 < float(min_support) <= 1:
        raise bad(
            "min_support", "a share of orders, 0 < min_support <= 1 (e.g. 0.001)", min_support
        )
    if (
        isinstance(min_orders, bool | np.bool_)
        or not isinstance(min_orders, whole)
        or min_orders < 1
    ):
        raise bad("min_orders", "a whole number of orders, 1 or more (default 20)", min_orders)
    if isinstance(size, bool | np.bool_) or size not in (2, 3):
        raise bad("size", "2 (pairs) or 3 (triples)", size)
    if (
        isinstance(alpha, bool | np.bool_)
        or not isinstance(alpha, number)
        or not 0 < float(alpha) < 1
    ):
        raise bad("alpha", "a significance level, 0 < alpha < 1 (default 0.05)", alpha)
    if top is not None and (
        isinstance(top, bool | np.bool_) or not isinstance(top, whole) or top < 1
    ):
        raise bad("top", "None (every pair) or a whole number of rows, 1 or more", top)


def floor_of(min_support: float, min_orders: int, n: int) -> int:
    """The orders an itemset needs to be kept: ``max(min_orders, ceil(min_support * N))``.

    >>> floor_of(0.001, 20, 29_736), floor_of(0.01, 1, 250)
    (30, 3)
    """
    return max(int(min_orders), math.ceil(min_support * n))


# --------------------------------------------------------------------------- statistics


def fisher_greater(together: Any, n: int, each_a: Any, each_b: Any) -> np.ndarray:
    """One-sided Fisher exact p-value for a positive association of two items.

    The chance of at least ``together`` orders holding both when the ``each_b`` orders of
    ``b`` fall at random among ``n`` orders, ``each_a`` of which hold ``a``: the
    hypergeometric upper tail, ``scipy.stats.hypergeom.sf(together - 1, n, each_a,
    each_b)``, computed here vectorised (scipy sums each tail in a Python loop: 21 s
    for the 345,844 pairs of the UCI invoices, against 0.1 s here). Above the mean the
    tail is summed upwards from ``together`` (the terms shrink at least geometrically);
    at or below it, one minus the lower tail summed downwards from ``together - 1``. The
    first term comes from log-gamma functions, each next one from the ratio of
    neighbouring probabilities; a sum stops when its terms are below 1e-17 of it.

    >>> from scipy import stats
    >>> p = fisher_greater(np.array([8]), 100, np.array([10]), np.array([20]))
    >>> bool(np.isclose(p[0], stats.fisher_exact([[8, 2], [12, 78]], "greater").pvalue))
    True
    """
    from scipy.special import gammaln

    k = np.atleast_1d(np.asarray(together, dtype=float))
    a = np.broadcast_to(np.asarray(each_a, dtype=float), k.shape)
    b = np.broadcast_to(np.asarray(each_b, dtype=float), k.shape)
    total = float(n)
    low, high = np.maximum(0.0, a + b - total), np.minimum(a, b)

    def log_pmf(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        def log_choose(m: np.ndarray | float, j: np.ndarray) -> np.ndarray:
            return gammaln(m + 1) - gammaln(j + 1) - gammaln(m - j + 1)

        return log_choose(a, x) + log_choose(total - a, b - x) - log_choose(total, b)

    def tail(start: np.ndarray, a: np.ndarray, b: np.ndarray, end: np.ndarray, up: bool) -> Any:
        """Sum of the probabilities from ``start`` to ``end`` (inclusive), one way."""
        term = np.exp(log_pmf(start, a, b))
        acc = term.copy()
        x = start.copy()
        live = np.flatnonzero((x != end) & (term > 0))
        while len(live):
            xs, aa, bb = x[live], a[live], b[live]
            if up:
                ratio = (aa - xs) * (bb - xs) / ((xs + 1) * (total - aa - bb + xs + 1))
                x[live] = xs + 1
            else:
                ratio = xs * (total - aa - bb + xs) / ((aa - xs + 1) * (bb - xs + 1))
                x[live] = xs - 1
            term[live] *= ratio
            acc[live] += term[live]
            done = (x[live] == end[live]) | (term[live] <= 1e-17 * acc[live])
            live = live[~done]
        return acc

    p = np.ones_like(k)
    inside = (k > low) & (k <= high)
    p[k > high] = 0.0
    upper = inside & (k > a * b / total)
    lower = inside & ~upper
    if upper.any():
        i = np.flatnonzero(upper)
        p[i] = tail(k[i], a[i], b[i], high[i], up=True)
    if lower.any():
        i = np.flatnonzero(lower)
        p[i] = 1.0 - tail(k[i] - 1, a[i], b[i], low[i], up=False)
    return np.clip(p, 0.0, 1.0)


def bh_adjusted(p: np.ndarray, family: int) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values of ``p`` within a family of ``family`` tests.

    The tests of the family not in ``p`` count with p = 1 (they rank last and cannot lower
    an adjusted value).

    >>> bh_adjusted(np.array([0.01, 0.04, 0.03]), 3).round(3).tolist()
    [0.03, 0.04, 0.04]
    >>> bh_adjusted(np.array([0.01]), 10).tolist()
    [0.1]
    """
    p = np.asarray(p, dtype=float)
    if not len(p):
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * max(family, len(p)) / np.arange(1, len(p) + 1)
    ranked = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty_like(ranked)
    out[order] = ranked
    return np.maximum(out, p)  # never below the raw value (m / rank >= 1; rounding aside)


# --------------------------------------------------------------------------- result


@dataclass(repr=False)
class Pairs(Result):
    """Items bought together: ``table`` (pairs or triples by lift), ``items``, ``headline``.

    ``baskets`` is N, the orders with at least one item in the window; ``items`` the
    frequent items (``item``, ``product``, ``orders``, ``support``); ``floor`` the orders
    an itemset needed; ``family`` the pairs of frequent items the guard adjusts over.
    """

    items: Any = None
    baskets: int = 0
    level: str = "sku"
    period: str = ""
    size: int = 2
    min_support: float = 0.001
    min_orders: int = 20
    alpha: float = 0.05
    floor: int = 0
    family: int = 0
    significant: int = 0
    formats: ClassVar[Formats] = PAIR_FORMATS
    item_formats: ClassVar[Formats] = ITEM_FORMATS

    def _headline(self) -> str:
        return _headline(self)

    def sections(self) -> list[Section]:
        """The strongest pairs (or triples) by lift, then the most ordered frequent items.

        A person sees the first :data:`SHOWN` rows of each, without the per-item order
        counts and raw p-values (they stay in ``table`` and the JSON).
        """
        word = "triples" if self.size == 3 else "pairs"
        what = "SKUs" if self.level == "sku" else "categories"
        hidden = {"orders_a", "orders_b", "p_value", "confidence_ba"}
        pairs_shown = nw.from_native(self.table, eager_only=True)
        items_shown = nw.from_native(self.items, eager_only=True).sort("orders", descending=True)
        n_pairs, n_items = pairs_shown.shape[0], items_shown.shape[0]
        keep = [c for c in pairs_shown.columns if c not in hidden]
        return [
            Section(
                pairs_shown.select(keep).head(SHOWN).to_native(),
                {c: f for c, f in self.formats.items() if c in keep},
                title=f"{word.capitalize()} by lift ({self.period})",
                note=None
                if n_pairs <= SHOWN
                else f"The {SHOWN} {word} with the highest lift, of {fmt.count(n_pairs)}.",
            ),
            Section(
                items_shown.head(SHOWN).to_native(),
                self.item_formats,
                title=f"{what[:1].upper()}{what[1:]} in at least {fmt.counted(self.floor, 'order')}",
                note=None
                if n_items <= SHOWN
                else f"The {SHOWN} most ordered of {fmt.count(n_items)}.",
            ),
        ]

    def rows(self) -> list[dict[str, Any]]:
        """``table`` as plain dicts (unrounded)."""
        return list(nw.from_native(self.table, eager_only=True).iter_rows(named=True))

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: headline, currency, level, period, baskets, pairs (or triples)."""
        out: dict[str, Any] = {
            "headline": self.headline,
            "currency": self.currency,
            "level": self.level,
            "period": self.period,
            "baskets": int(self.baskets),
            "min_support": self.min_support,
            "min_orders": self.min_orders,
            "alpha": self.alpha,
        }
        if self.size == 3:
            out["triples"] = [
                {
                    **{k: r[k] for k in ("a", "b", "c", "a_product", "b_product", "c_product")},
                    "orders": int(r["orders"]),
                    "support": round(r["support"], 6),
                    "confidence": round(r["confidence"], 6),
                    "then": r["then"],
                    "lift": round(r["lift"], 3),
                }
                for r in self.rows()
            ]
            return out
        out["pairs"] = [
            {
                "a": r["a"],
                "b": r["b"],
                "a_product": r["a_product"],
                "b_product": r["b_product"],
                "orders": int(r["orders"]),
                "support": round(r["support"], 6),
                "confidence_ab": round(r["confidence_ab"], 6),
                "confidence_ba": round(r["confidence_ba"], 6),
                "lift": round(r["lift"], 3),
                "p_value": _significant_digits(r["p_value"]),
                "significant": bool(r["significant"]),
            }
            for r in self.rows()
        ]
        return out

    def chart(self, kind: str = "scatter", top: int = 12) -> Any:
        """The scatter (default) or the heat map of this result's pairs.

        ``"scatter"``: support against lift (log-log), sized by orders, the top passing
        pairs named; ``"heatmap"``: lift between the ``top`` items by orders (see
        :meth:`heatmap`).
        """
        if kind == "heatmap":
            return _heatmap(self, top)
        if kind != "scatter":
            raise AovlabInputError(
                "unknown chart", expected="'scatter' or 'heatmap'", found=repr(kind)
            )
        return _scatter(self)

    def heatmap(self, top: int = 12) -> Any:
        """Lift between the ``top`` items by orders, from this result's own pairs.

        Cells without a counted pair are grey (below the floor or never together).
        """
        return _heatmap(self, top)

    def __repr__(self) -> str:
        return f"Pairs({self.headline!r}, {len(nw.from_native(self.table))} rows)"


def _columns(table: Any) -> list[str]:
    return list(nw.from_native(table, eager_only=True).columns)


def _significant_digits(value: float, digits: int = 4) -> float:
    if not value or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits}g}")


# --------------------------------------------------------------------------- the analysis


def pairs(
    shop: ShopData,
    *,
    level: str = "sku",
    when: str | periods.Window | None = None,
    min_support: float = 0.001,
    min_orders: int = 20,
    size: int = 2,
    alpha: float = 0.05,
    top: int | None = None,
) -> Pairs:
    """Pairs (or triples) of items bought together, by lift, with a significance guard.

    Parameters
    ----------
    shop : ShopData
        A shop with order lines.
    level : {"sku", "category"}
        What an item is.
    when : str or Window, optional
        The period (``2026-10``, ``2026Q3``, ``2025-11..2026-10``); by default the 12
        months to the last counted order.
    min_support : float
        The smallest support (share of orders) an item, pair or triple needs (as in
        mlxtend), 0 < min_support <= 1.
    min_orders : int
        The fewest orders an item, pair or triple needs, whatever its support.
    size : {2, 3}
        Pairs, or triples (among the items of frequent pairs).
    alpha : float
        The false discovery rate of the significance guard (Benjamini-Hochberg).
    top : int, optional
        Keep only the first ``top`` rows by lift (the guard still adjusts over all pairs).

    Returns
    -------
    Pairs
        ``table`` in the shop's backend: ``a, b, a_product, b_product, orders, orders_a,
        orders_b, support, confidence_ab, confidence_ba, lift, p_value, p_adjusted,
        significant`` by lift descending (ties: orders descending, a, b); for ``size=3``
        ``a, b, c, a_product, b_product, c_product, orders, support, confidence, then,
        lift``, where ``confidence`` is the best rule "two items -> the third" and
        ``then`` the item it predicts. ``items`` holds the frequent items.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> res = pairs(shop, when="2024-11..2026-10")
    >>> [(r["a"], r["b"], r["orders"], round(r["lift"], 1)) for r in res.rows()[:3]]
    [('CO-009', 'CO-002', 501, 23.5), ('TE-001', 'AC-009', 276, 16.6), ('FW-003', 'CA-001', 369, 6.9)]
    >>> res.baskets, res.floor, res.family
    (29287, 30, 3160)
    >>> triples = pairs(shop, when="2024-11..2026-10", size=3, min_support=0.0005, min_orders=5)
    >>> len(triples.rows()) > 0
    True
    """
    require_lines(shop, "Finding what sells together")
    level = check_level(level)
    _check(min_support, min_orders, size, alpha, top)
    span = window(shop, when)
    basket = baskets(shop, level=level, when=span)
    counts, total = collect_all(
        [
            basket.group_by("item").agg(nw.len().alias("orders")),
            basket.select(nw.col("order_id").n_unique().alias("n")),
        ]
    )
    n = int(total["n"][0] or 0)
    if not n:
        _empty_window(shop, span)
    floor = floor_of(min_support, min_orders, n)
    names = np.asarray(counts["item"].to_list(), dtype=object)
    if level == "category" and set(names.tolist()) == {"(none)"}:
        raise AovlabInputError(
            "level='category' needs categories",
            table="lines",
            column="category",
            expected="a category on the order lines or in a catalogue (--catalog)",
            found=f"no line of the {fmt.count(n)} orders in {span.label} has a category",
        )
    each = counts["orders"].to_numpy().astype(np.int64)
    keep = each >= floor
    order = np.lexsort((names[keep].astype(str), -each[keep]))
    items, item_orders = names[keep][order], each[keep][order]
    backend = namespace(shop)
    listed = items.tolist()
    # The SKUs' names and the incidence of the frequent items: one job where the engine
    # can share the scans.
    plans = [_products_plan(shop, level, span, listed), _incidence_plan(basket, listed, backend)]
    done = iter(collect_all([p for p in plans if p is not None]))
    named, incidence = (next(done) if p is not None else None for p in plans)
    products = _products(named, listed)
    items_table = small_frame(
        {
            "item": listed,
            "product": [products[i] for i in listed],
            "orders": item_orders.astype(np.int64),
            "support": item_orders / n,
        },
        backend,
    ).to_native()
    family = len(items) * (len(items) - 1) // 2
    matrix = _incidence(incidence, listed)
    found = (
        _count_pairs(matrix, items.tolist(), floor)
        if matrix is not None
        else {"x": np.zeros(0, object), "y": np.zeros(0, object), "orders": np.zeros(0, np.int64)}
    )
    count_of = dict(zip(items.tolist(), item_orders.tolist(), strict=True))
    table, significant = _pair_table(found, count_of, products, n, family, min_orders, alpha)
    if size == 3:
        table = _triple_table(matrix, items.tolist(), table, count_of, products, n, floor)
    if top is not None:
        table = {k: v[:top] for k, v in table.items()}
    return Pairs(
        table=small_frame(table, backend).to_native(),
        currency=shop.currency,
        items=items_table,
        baskets=n,
        level=level,
        period=span.label,
        size=int(size),
        min_support=float(min_support),
        min_orders=int(min_orders),
        alpha=float(alpha),
        floor=floor,
        family=family,
        significant=significant,
    )


def _empty_window(shop: ShopData, span: periods.Window) -> None:
    first, last = counted_span(shop)
    raise AovlabInputError(
        f"no counted orders with items in {span.label}",
        table="orders",
        expected=f"orders in {span.label} that are not cancelled or tests, with order lines",
        found=(
            f"none; the data's counted orders run from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
            if first is not None
            else "no counted orders at all"
        ),
    )


def _products_plan(shop: ShopData, level: str, span: periods.Window, items: list[str]) -> Any:
    """Lines per SKU and product name on the window's counted orders (None for categories)."""
    if level != "sku" or not items:
        return None
    orders = metrics.order_table(shop, when=span, lazy=True).select("order_id")
    return (
        shop.scan("lines")
        .select("order_id", "sku", "product")
        .filter(nw.col("sku").is_in(items) & ~nw.col("product").is_null())
        .join(orders, on="order_id", how="inner")
        .group_by("sku", "product")
        .agg(nw.len().alias("n"))
    )


def _products(named: Any, items: list[str]) -> dict[str, str]:
    """Each SKU's most frequent product name on the window's lines (ties: the smaller)."""
    out = {str(i): str(i) for i in items}
    if named is None:
        return out
    rows = sorted(named.iter_rows(), key=lambda r: (r[0], -r[2], r[1]))
    seen: set[str] = set()
    for sku, product, _ in rows:
        if sku not in seen:
            seen.add(sku)
            out[sku] = product
    return out


def _incidence_plan(basket: Any, items: list[str], backend: Any) -> Any:
    """The frequent items' (order number, item code) pairs, lazily (None under two items).

    The engine joins the baskets to the items' codes and numbers the orders (a dense
    rank); only those two integer columns come back, never an order x item frame.
    """
    if len(items) < 2:
        return None
    codes = nw.from_dict({"item": items, "__code": np.arange(len(items))}, backend=backend)
    return basket.join(codes.lazy(), on="item", how="inner").select(
        (nw.col("order_id").rank(method="dense").cast(nw.Int64()) - 1).alias("__row"), "__code"
    )


def _incidence(frame: Any, items: list[str]) -> Any:
    """The sparse order x item incidence matrix of the frequent items (CSC, int32 ones)."""
    from scipy import sparse

    if frame is None:
        return None
    rows = frame["__row"].to_numpy().astype(np.int64)
    cols = frame["__code"].to_numpy().astype(np.int64)
    shape = (int(rows.max()) + 1 if len(rows) else 0, len(items))
    ones = np.ones(len(rows), dtype=np.int32)
    return sparse.csc_matrix((ones, (rows, cols)), shape=shape)


def _count_pairs(matrix: Any, items: list[str], floor: int) -> dict[str, Any]:
    """Orders per pair of frequent items (``x < y`` by name) at the floor: ``X.T @ X``."""
    together = (matrix.T @ matrix).tocoo()
    names = np.asarray(items, dtype=object)
    first, second, count = together.row, together.col, together.data
    keep = (first < second) & (count >= floor)
    x, y = names[first[keep]], names[second[keep]]
    swap = y.astype(str) < x.astype(str)
    return {
        "x": np.where(swap, y, x),
        "y": np.where(swap, x, y),
        "orders": count[keep].astype(np.int64),
    }


def _pair_table(
    found: dict[str, Any],
    count_of: dict[str, int],
    products: dict[str, str],
    n: int,
    family: int,
    min_orders: int,
    alpha: float,
) -> tuple[dict[str, Any], int]:
    """The pair columns from the counted pairs: orientation, ratios, the guard, the order."""
    x, y, together = found["x"], found["y"], found["orders"]
    nx = np.array([count_of[i] for i in x], dtype=np.int64)
    ny = np.array([count_of[i] for i in y], dtype=np.int64)
    # a: fewer orders (x < y already breaks a tie by name).
    swap = ny < nx
    a, b = np.where(swap, y, x), np.where(swap, x, y)
    na, nb = np.where(swap, ny, nx), np.where(swap, nx, ny)
    p = fisher_greater(together, n, na, nb) if len(together) else np.zeros(0)
    adjusted = bh_adjusted(p, family)
    lifts = np.asarray(lift(together.astype(float), [na, nb], n), dtype=float)
    significant = (adjusted < alpha) & (together >= min_orders)
    order = np.lexsort((b.astype(str), a.astype(str), -together, -lifts))
    columns = {
        "a": a[order].tolist(),
        "b": b[order].tolist(),
        "a_product": [products[i] for i in a[order]],
        "b_product": [products[i] for i in b[order]],
        "orders": together[order],
        "orders_a": na[order],
        "orders_b": nb[order],
        "support": together[order] / n,
        "confidence_ab": together[order] / na[order],
        "confidence_ba": together[order] / nb[order],
        "lift": lifts[order],
        "p_value": p[order],
        "p_adjusted": adjusted[order],
        "significant": significant[order].tolist(),
    }
    return columns, int(significant.sum())


def _triple_table(
    matrix: Any,
    items: list[str],
    pair_columns: dict[str, Any],
    count_of: dict[str, int],
    products: dict[str, str],
    n: int,
    floor: int,
) -> dict[str, Any]:
    """Triples among the items of frequent pairs, by lift: ``P.T @ X``.

    ``P`` is the orders x frequent pairs incidence (the elementwise product of the pair's
    two columns of ``X``); ``P.T @ X`` counts each frequent pair's orders with every third
    item, kept when the third comes after both in the items' order (each triple once).
    """
    pair_orders = {
        frozenset((a, b)): int(k)
        for a, b, k in zip(
            pair_columns["a"], pair_columns["b"], pair_columns["orders"], strict=True
        )
    }
    empty: dict[str, Any] = {c: [] for c in TRIPLE_COLUMNS}
    empty |= {"orders": np.zeros(0, dtype=np.int64), "support": np.zeros(0)}
    if matrix is None or not pair_orders:
        return empty
    code = {item: i for i, item in enumerate(items)}
    ends = np.array(
        [
            sorted((code[a], code[b]))
            for a, b in zip(pair_columns["a"], pair_columns["b"], strict=True)
        ]
    )
    first, second = ends[:, 0], ends[:, 1]
    both = matrix[:, first].multiply(matrix[:, second]).tocsc()
    counts = (both.T @ matrix).tocoo()
    keep = (counts.col > second[counts.row]) & (counts.data >= floor)
    names = np.asarray(items, dtype=object)
    found = zip(
        names[first[counts.row[keep]]],
        names[second[counts.row[keep]]],
        names[counts.col[keep]],
        counts.data[keep].tolist(),
        strict=True,
    )
    rows = []
    for x, y, z, k in found:
        trio = sorted((x, y, z), key=lambda i: (count_of[i], i))
        each = [count_of[i] for i in trio]
        # The best rule "two items -> the third": the pair whose orders most often hold
        # the third (every sub-pair of a triple at the floor is a frequent pair); a tie
        # goes to the rarer third item (the higher lift).
        rules = [
            (k / pair_orders[frozenset(set(trio) - {then})], -at) for at, then in enumerate(trio)
        ]
        confidence, at = max(rules)
        then = trio[-at]
        rows.append((*trio, int(k), float(lift(float(k), each, n)), confidence, then))
    rows.sort(key=lambda r: (-r[4], -r[3], r[0], r[1], r[2]))
    if not rows:
        return empty | {"orders": np.zeros(0, dtype=np.int64), "support": np.zeros(0)}
    a, b, c, k_, lifts, conf, then = (list(col) for col in zip(*rows, strict=True))
    k = np.asarray(k_, dtype=np.int64)
    return {
        "a": a,
        "b": b,
        "c": c,
        "a_product": [products[i] for i in a],
        "b_product": [products[i] for i in b],
        "c_product": [products[i] for i in c],
        "orders": k,
        "support": k / n,
        "confidence": np.asarray(conf, dtype=float),
        "then": then,
        "lift": np.asarray(lifts, dtype=float),
    }


# --------------------------------------------------------------------------- headline


def _headline(res: Pairs) -> str:
    rows = res.rows()
    noun = "SKU" if res.level == "sku" else "category"
    nouns = "SKUs" if res.level == "sku" else "categories"
    n_items = len(nw.from_native(res.items, eager_only=True))
    where = f"{fmt.counted(res.baskets, 'order')}, {res.period}"
    if res.size == 3:
        if not rows:
            return (
                f"No three {nouns} are bought together in at least "
                f"{fmt.counted(res.floor, 'order')} ({where})."
            )
        top = rows[0]
        names = [top[f"{k}_product"] for k in "abc"]
        return (
            f"{names[0]}, {names[1]} and {names[2]} are bought together "
            f"{fmt.number(top['lift'], 1)} times as often as chance "
            f"({fmt.counted(top['orders'], 'order')}; {fmt.pct(top['confidence'], digits=0)} of "
            f"the orders with the other two include {_product(res, top['then'], top)}). "
            f"{fmt.counted(len(rows), 'triple')} of {nouns} reach "
            f"{fmt.counted(res.floor, 'order')} ({where})."
        )
    if n_items < 2 or not rows:
        return (
            f"No two {nouns} are bought together in at least {fmt.counted(res.floor, 'order')} "
            f"({where}; {fmt.counted(n_items, noun, nouns)} "
            f"{'reaches' if n_items == 1 else 'reach'} that many on their own): "
            "nothing to report."
        )
    guard = (
        f"out of {fmt.counted(res.family, 'pair')} of the "
        f"{fmt.counted(n_items, noun, nouns)} in at least {fmt.counted(res.floor, 'order')} "
        f"({where}; Fisher's test, {fmt.pct(res.alpha, digits=0)} false discovery rate)"
    )
    passing = [r for r in rows if r["significant"]]
    count = f"{fmt.counted(res.significant, 'pair')} {'passes' if res.significant == 1 else 'pass'}"
    if not res.significant:
        best = rows[0]
        within = (
            "is within what chance gives"
            if best["lift"] > 1
            else f"is no more than chance; no two {nouns} are bought together more often than apart"
        )
        return (
            f"No pair passes the significance guard {guard}: the highest lift, "
            f"{best['a_product']} and {best['b_product']} ({fmt.number(best['lift'], 1)}, "
            f"{fmt.counted(best['orders'], 'order')}), {within}."
        )
    if not passing:  # ``top`` cut the table before its first passing pair
        return f"{count} the significance guard {guard}."
    top = passing[0]
    return (
        f"{top['a_product']} and {top['b_product']} are bought together "
        f"{fmt.number(top['lift'], 1)} times as often as chance "
        f"({fmt.counted(top['orders'], 'order')}; {fmt.pct(top['confidence_ab'], digits=0)} of "
        f"orders with {top['a_product']} include {top['b_product']}). "
        f"{count} the significance guard {guard}."
    )


def _product(res: Pairs, item: str, row: dict[str, Any]) -> str:
    for k in "abc":
        if row[k] == item:
            return str(row[f"{k}_product"])
    return item


# --------------------------------------------------------------------------- charts


def _scatter(res: Pairs) -> Any:
    import altair as alt

    from aovlab import charts

    table = nw.from_native(res.table, eager_only=True)
    if not len(table) or res.size != 2:
        return charts.message(res.headline if not len(table) else "Triples: see the table")
    data = table.select(
        "a_product",
        "b_product",
        "orders",
        "support",
        "confidence_ab",
        "lift",
        "p_adjusted",
        nw.when(nw.col("significant"))
        .then(nw.lit("passes the guard"))
        .otherwise(nw.lit("could be chance"))
        .alias("guard"),
        nw.concat_str([nw.col("a_product"), nw.col("b_product")], separator=" + ").alias("pair"),
    )
    drawn = len(data)
    half = MAX_POINTS // 2
    if drawn > MAX_POINTS:  # a light chart: the strongest passing pairs and the most ordered
        passing = nw.col("guard") == "passes the guard"
        data = (
            data.with_columns(
                nw.col("orders").rank("ordinal", descending=True).alias("__by_orders"),
                nw.when(passing).then(nw.col("lift")).otherwise(None).alias("__lift"),
            )
            .with_columns(nw.col("__lift").rank("ordinal", descending=True).alias("__by_lift"))
            .filter((nw.col("__by_orders") <= half) | (nw.col("__by_lift") <= half))
            .drop("__by_orders", "__lift", "__by_lift")
        )
    note = (
        ""
        if drawn <= MAX_POINTS
        else f"; of {fmt.count(drawn)} pairs, the {half} with the highest lift that pass and "
        f"the {half} most ordered"
    )
    labelled = (
        data.filter(nw.col("guard") == "passes the guard")
        .head(LABELLED)
        .with_columns(nw.col("pair").alias("label"))
    )
    x = alt.X("support:Q", title="support (share of orders)", scale=alt.Scale(type="log"))
    y = alt.Y("lift:Q", title="lift (x chance)", scale=alt.Scale(type="log"))
    points = (
        alt.Chart(
            charts._data(data),
            title=f"Pairs bought together, {res.period} ({fmt.count(res.baskets)} orders{note})",
        )
        .mark_circle(opacity=0.7)
        .encode(
            x=x,
            y=y,
            size=alt.Size("orders:Q", title="orders together"),
            color=alt.Color(
                "guard:N",
                title=None,
                scale=alt.Scale(
                    domain=["passes the guard", "could be chance"],
                    range=[charts.PALETTE[1], charts.PALETTE[5]],
                ),
            ),
            tooltip=[
                alt.Tooltip("pair:N"),
                alt.Tooltip("orders:Q", format=","),
                alt.Tooltip("support:Q", format=".2%"),
                alt.Tooltip("confidence_ab:Q", format=".1%", title="confidence"),
                alt.Tooltip("lift:Q", format=".2f"),
                alt.Tooltip("p_adjusted:Q", format=".2g", title="adjusted p"),
            ],
        )
    )
    labels = (
        alt.Chart(charts._data(labelled))
        .mark_text(align="left", dx=8, fontSize=11)
        .encode(x=x, y=y, text="label:N")
    )
    rule = alt.Chart(charts._data(nw.from_dict({"one": [1.0]}, backend=_native_ns(table))))
    chance = rule.mark_rule(color=charts.PALETTE[5], strokeDash=[4, 3]).encode(y="one:Q")
    return alt.layer(chance, points, labels).properties(width=560, height=380)


def _heatmap(res: Pairs, top: int) -> Any:
    import altair as alt

    from aovlab import charts

    table = nw.from_native(res.table, eager_only=True)
    every = nw.from_native(res.items, eager_only=True).sort("orders", descending=True)
    # The items of the strongest passing pairs first (a planted tent and its footprint
    # may not be among the most ordered), then the most ordered, ``top`` in all.
    strong = table.filter(nw.col("significant") & (nw.col("lift") > 1)) if len(table) else table
    first: list[str] = []
    for a, b in strong.select("a", "b").iter_rows() if len(strong) else []:
        first += [x for x in (str(a), str(b)) if x not in first]
    first = first[: max(top - 2, 2)] if len(first) > top else first
    chosen_keys = first + [k for k in map(str, every["item"].to_list()) if k not in first]
    items = (
        every.filter(nw.col("item").is_in(chosen_keys[:top]))
        .with_columns(
            nw.col("item")
            .replace_strict(chosen_keys[:top], list(range(len(chosen_keys[:top]))))
            .alias("__order")
        )
        .sort("__order")
        .drop("__order")
    )
    if len(items) < 2 or res.size != 2 or not len(table):
        # No pair counted: a grey grid with nothing on it says less than the headline.
        return charts.message(
            "Triples: the heat map shows pairs only"
            if res.size != 2 and len(items) >= 2
            else res.headline
        )
    names = items["product"].to_list()
    keys = items["item"].to_list()
    name_of = dict(zip(keys, names, strict=True))
    chosen = set(keys)
    sub = table.filter(nw.col("a").is_in(keys) & nw.col("b").is_in(keys))
    rows: dict[str, list[Any]] = {"row": [], "column": [], "lift": [], "orders": []}
    for r in sub.iter_rows(named=True):
        for one, other in ((r["a"], r["b"]), (r["b"], r["a"])):
            rows["row"].append(name_of[one])
            rows["column"].append(name_of[other])
            rows["lift"].append(float(r["lift"]))
            rows["orders"].append(int(r["orders"]))
    backend = _native_ns(table)
    grid = nw.from_dict(
        {
            "row": [name_of[i] for i in keys for j in keys if i != j and i in chosen],
            "column": [name_of[j] for i in keys for j in keys if i != j and i in chosen],
        },
        backend=backend,
    )
    cells = nw.from_dict(rows, backend=backend).with_columns(nw.col("lift").cast(nw.Float64()))
    axis_x = alt.X("column:N", title=None, sort=names, axis=alt.Axis(labelAngle=-40))
    axis_y = alt.Y("row:N", title=None, sort=names)
    what = "SKUs" if res.level == "sku" else "categories"
    background = (
        alt.Chart(
            charts._data(grid),
            title=f"Lift between {len(keys)} {what}: those of the strongest pairs, then the "
            f"most ordered, {res.period}",
        )
        .mark_rect(color="#eeeeee")
        .encode(x=axis_x, y=axis_y)
    )
    shaded = (
        alt.Chart(charts._data(cells))
        .mark_rect()
        .encode(
            x=axis_x,
            y=axis_y,
            color=alt.Color(
                "lift:Q",
                title="lift",
                # Diverging around 1 (chance): blue below, orange above.
                scale=alt.Scale(type="log", scheme="blueorange", domainMid=1),
            ),
            tooltip=[
                alt.Tooltip("row:N", title="item"),
                alt.Tooltip("column:N", title="with"),
                alt.Tooltip("lift:Q", format=".2f"),
                alt.Tooltip("orders:Q", format=",", title="orders together"),
            ],
        )
    )
    return alt.layer(background, shaded).properties(width=alt.Step(28), height=alt.Step(22))


def _native_ns(frame: nw.DataFrame[Any]) -> Any:
    return nw.get_native_namespace(frame)
