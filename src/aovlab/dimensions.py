"""Order dimensions: the columns an export brings, and three that aovlab derives.

Any extra column of the orders table (channel, device, country, discount_code, ...)
splits orders as it is. Three more questions come up with every client, so they are
derived from the canonical tables when asked for by name:

- ``customer_type``: ``new`` for a customer's first counted order in the data (two
  orders at the same moment: the smaller order id is the first), ``returning`` for
  later ones, ``guest`` without a customer id. History before the export's first day
  is unknown, so early orders lean "new".
- ``main_category``: the category with the most line revenue in the order (ties go to
  the first name alphabetically); ``(no lines)`` when the order has none.
- ``discount_used``: ``discount`` when the order carries an order-level discount,
  else ``no discount``.
- ``loyalty_status`` (with a customers table that has ``loyalty_joined_at``):
  ``member`` for orders placed on or after the customer joined the programme,
  ``not a member`` for other registered customers' orders (including members'
  orders from before they joined), ``guest`` without a customer id.

An orders column of the same name wins over a derived one. Segment labels are text,
with ``(missing)`` for empty values, so every analysis can show and sort them.
"""

from __future__ import annotations

from typing import Any

import narwhals.stable.v2 as nw

from aovlab import fmt, periods
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collected, is_counted

DERIVED: dict[str, str] = {
    "customer_type": "new, returning or guest",
    "main_category": "the category with the most revenue in the order",
    "discount_used": "discount or no discount",
    "loyalty_status": "member, not a member or guest, at the time of the order",
}
MISSING = "(missing)"
#: How a derived dimension's segments read in a sentence: as who spends, and whose orders.
CUSTOMER_TYPES = {"new": "new customers", "returning": "returning customers", "guest": "guests"}
DISCOUNT_USED = {"discount": "orders with a discount", "no discount": "orders without a discount"}
LOYALTY_STATUS = {"member": "members", "not a member": "non-members", "guest": "guests"}
#: Derived dimensions whose segments read as people ("returning customers", "members").
_PEOPLE = {"customer_type": CUSTOMER_TYPES, "loyalty_status": LOYALTY_STATUS}


def segment_name(by: str, key: Any) -> str:
    """A segment as the subject of a sentence ("... spent more per order").

    >>> segment_name("customer_type", "new"), segment_name("discount_code", MISSING)
    ('new customers', 'orders without a discount code')
    >>> segment_name("device", "mobile")
    'mobile'
    """
    if key == MISSING:
        words = fmt.dimension_label(by)
        return f"orders without {fmt.article(words)} {words}"
    if by in _PEOPLE and key in _PEOPLE[by]:
        return _PEOPLE[by][str(key)]
    if by == "discount_used" and key in DISCOUNT_USED:
        return DISCOUNT_USED[str(key)]
    return str(key)


def orders_of(by: str, key: Any) -> str:
    """A segment's orders: "mobile orders", "orders from guests", "orders without a ...".

    >>> orders_of("device", "mobile"), orders_of("customer_type", "guest")
    ('mobile orders', 'orders from guests')
    """
    if key == MISSING or (by == "discount_used" and key in DISCOUNT_USED):
        return segment_name(by, key)
    if by in _PEOPLE and key in _PEOPLE[by]:
        return f"orders from {_PEOPLE[by][str(key)]}"
    if _is_number_or_flag(key):  # "0 orders" would read as no orders at all
        return f"orders with {by} = {key}"
    return f"{key} orders"


def _is_number_or_flag(key: Any) -> bool:
    """Whether a segment label is a number or true/false, which needs its dimension named.

    >>> [_is_number_or_flag(k) for k in ("0", "1.5", "true", "False", "mobile", "4G")]
    [True, True, True, True, False, False]
    """
    text = str(key).strip()
    if text.lower() in ("true", "false"):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def available(shop: ShopData) -> list[str]:
    """Every dimension ``by=`` accepts for this shop: its own columns, then derived ones.

    >>> import aovlab
    >>> available(aovlab.sample.load())
    ['channel', 'device', 'country', 'discount_code', 'ab_arm', 'customer_type', 'main_category',
     'discount_used', 'loyalty_status']
    """
    own = shop.dimensions
    derived = [d for d in DERIVED if d not in own and _derivable(shop, d)]
    return [*own, *derived]


def _derivable(shop: ShopData, name: str) -> bool:
    if name == "main_category":
        return shop.lines is not None
    if name == "loyalty_status":
        return shop.customers is not None and "loyalty_joined_at" in shop.columns("customers")
    return True


def check(shop: ShopData, name: str) -> str:
    """``name`` if the shop can be split by it; else a clear error listing what can."""
    if name in available(shop):
        return name
    if name in periods.PERIODS:
        found = f"'{name}' is a calendar period"
    elif name == "main_category":
        found = "main_category needs order lines"
    elif name == "loyalty_status":
        found = "loyalty_status needs a customers table with loyalty_joined_at"
    else:
        found = "no such column"
    raise AovlabInputError(
        f"cannot split orders by '{name}'",
        table="orders",
        column=name,
        expected="an order dimension: " + ", ".join(available(shop)),
        found=found,
    )


def attach(shop: ShopData, frame: Any, name: str, *, alias: str | None = None) -> Any:
    """Add the dimension ``name`` to ``frame`` as a text column ``alias`` (default: ``name``).

    ``frame`` holds orders with ``order_id``, ``customer_id``, ``ordered_at`` and
    ``discount`` (as :func:`aovlab.metrics.order_table` builds them). Works on eager and
    lazy narwhals frames; the derived dimensions join small aggregates, so the orders are
    read once.
    """
    check(shop, name)
    target = alias or name
    lazy = isinstance(frame, nw.LazyFrame)

    if name in shop.dimensions:
        column = nw.col(name)
    elif name == "customer_type":
        registered = (
            shop.scan()
            .filter(is_counted() & ~nw.col("customer_id").is_null())
            .select("customer_id", "ordered_at", "order_id")
        )
        earliest = registered.group_by("customer_id").agg(
            nw.col("ordered_at").min().alias("__first_at")
        )
        # The first order: the earliest moment, and the smaller id among orders then.
        first = (
            registered.join(earliest, on="customer_id")
            .filter(nw.col("ordered_at") == nw.col("__first_at"))
            .group_by("customer_id")
            .agg(nw.col("order_id").min().alias("__first_order"))
        )
        frame = frame.join(first if lazy else first.pipe(collected), on="customer_id", how="left")
        column = (
            nw.when(nw.col("customer_id").is_null())
            .then(nw.lit("guest"))
            .otherwise(
                nw.when(nw.col("order_id") == nw.col("__first_order"))
                .then(nw.lit("new"))
                .otherwise(nw.lit("returning"))
            )
        )
    elif name == "loyalty_status":
        joined = shop.scan("customers").select(
            "customer_id", nw.col("loyalty_joined_at").alias("__joined")
        )
        frame = frame.join(joined if lazy else joined.pipe(collected), on="customer_id", how="left")
        member = ~nw.col("__joined").is_null() & (nw.col("ordered_at") >= nw.col("__joined"))
        column = (
            nw.when(nw.col("customer_id").is_null())
            .then(nw.lit("guest"))
            .otherwise(nw.when(member).then(nw.lit("member")).otherwise(nw.lit("not a member")))
        )
    elif name == "main_category":
        if shop.lines is None:  # check() refuses this already; keep the type checker sure
            raise AovlabInputError("main_category needs order lines", column=name)
        by_category = (
            shop.scan("lines")
            .with_columns((nw.col("quantity") * nw.col("unit_price")).alias("__revenue"))
            .group_by("order_id", "category")
            .agg(nw.col("__revenue").sum())
        )
        top = (
            by_category.with_columns(
                nw.col("__revenue")
                .rank(method="min", descending=True)
                .over("order_id")
                .alias("__rank")
            )
            .filter(nw.col("__rank") == 1)
            .group_by("order_id")
            .agg(nw.col("category").min().alias("__main"))
        )
        frame = frame.join(top if lazy else top.pipe(collected), on="order_id", how="left")
        column = (
            nw.when(nw.col("__main").is_null())
            .then(nw.lit("(no lines)"))
            .otherwise(nw.col("__main"))
        )
    else:  # discount_used
        column = (
            nw.when(nw.col("discount") > 0)
            .then(nw.lit("discount"))
            .otherwise(nw.lit("no discount"))
        )
    frame = frame.with_columns(column.cast(nw.String()).fill_null(MISSING).alias(target))
    helpers = {
        "customer_type": ["__first_order"],
        "main_category": ["__main"],
        "loyalty_status": ["__joined"],
    }
    return frame.drop(*helpers[name]) if name in helpers and name not in shop.dimensions else frame
