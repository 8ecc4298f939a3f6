"""Orders as baskets: each counted order's distinct items, lazily, in the engine.

The one definition the co-purchase mining and the bundle margin calculator share:

- an order counts as in every other analysis (:func:`aovlab.model.is_counted`: not
  cancelled, not a test) and lies in the window;
- an item is a SKU (``level="sku"``) or a category (``level="category"``), counted
  once per order however many lines or units carry it;
- lines without a SKU never form a basket item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import narwhals.stable.v2 as nw

from aovlab import metrics, periods
from aovlab.compare import window
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData

__all__ = ["LEVELS", "Level", "baskets", "check_level", "lift", "require_lines", "window"]

Level = Literal["sku", "category"]
#: The item levels baskets can be built at.
LEVELS: tuple[str, ...] = ("sku", "category")


def lift(together: Any, each: Sequence[Any], orders: Any) -> Any:
    """Lift of items bought together: how many times more often than if bought independently.

    ``lift = support(all) / prod(support(item))`` with ``support = count / orders``, i.e.
    ``together * orders**(k-1) / prod(each)`` for ``k`` items. Works on numbers and numpy
    arrays alike (the pair miner and the bundle calculator both call it).

    Worked example: 1,000 orders, 100 with boots, 200 with spray, 60 with both:
    ``0.06 / (0.1 * 0.2) = 3.0``.

    >>> lift(60, [100, 200], 1_000)
    3.0
    >>> lift(10, [50, 40, 20], 1_000)  # three items: 0.01 / (0.05 * 0.04 * 0.02)
    250.0
    """
    result = together / orders
    for count in each:
        result = result / (count / orders)
    return result


def require_lines(shop: ShopData, what: str) -> None:
    """A clear error when the shop has no order lines (baskets need them)."""
    if shop.lines is None:
        raise AovlabInputError(
            f"{what} needs order lines",
            table="lines",
            expected="a lines table with order_id, sku, quantity and unit_price (load it "
            "with lines=...; --lines on the command line)",
            found="no lines table",
        )


def check_level(level: Any) -> str:
    """``level`` in lower case (``"SKU"`` is ``"sku"``), or a clear error naming the levels."""
    named = level.strip().lower() if isinstance(level, str) else level
    if named not in LEVELS:
        raise AovlabInputError(
            "level is an unknown basket level",
            expected=" or ".join(repr(x) for x in LEVELS),
            found=repr(level),
        )
    return str(named)


def baskets(shop: ShopData, *, level: str = "sku", when: str | periods.Window | None = None) -> Any:
    """Each counted order's distinct items in the window: a lazy ``(order_id, item)`` frame.

    Parameters
    ----------
    shop : ShopData
        A shop with order lines.
    level : {"sku", "category"}
        What an item is.
    when : str or Window, optional
        The period (``2026-10``, ``2026Q3``, ``2025-11..2026-10``); by default the 12
        months to the last counted order.

    Returns
    -------
    narwhals.LazyFrame
        Columns ``order_id`` and ``item`` (text), one row per order and item.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> b = baskets(shop, when="2026-10").collect()
    >>> b.columns, b["order_id"].n_unique() == metrics.kpis(shop, when="2026-10").table["orders"][0]
    (['order_id', 'item'], True)
    """
    require_lines(shop, "A basket analysis")
    column = check_level(level)
    span = window(shop, when)
    orders = metrics.order_table(shop, when=span, lazy=True).select("order_id")
    lines = (
        shop.scan("lines")
        .select("order_id", nw.col(column).alias("item"))
        .filter(~nw.col("item").is_null())
    )
    return lines.join(orders, on="order_id", how="inner").unique(["order_id", "item"])
