"""Who is a member, since when, and the calendar-month arithmetic the loyalty analyses share.

Every loyalty analysis reads the customers table through :func:`membership` and the
registered customers' counted orders through :func:`customer_orders`, both lazily:

- a customer is a **member** when the customers table says ``loyalty_member`` is true
  or gives a ``loyalty_joined_at`` date (an export with only the date has members too);
  everyone else in the table, and every registered customer missing from it, is a
  **non-member**;
- a member's **join month** is the calendar month of ``loyalty_joined_at`` in the
  shop's time zone (null when the export has no date for them);
- months are counted as integers, ``year * 12 + month - 1`` (:func:`month_number`), so
  "months since joining" and "months since the first order" are plain differences;
  :func:`month_text` turns one back into ``2026-10``.

Guest checkouts (no ``customer_id``) belong to no customer and are left out of every
loyalty figure.
"""

from __future__ import annotations

from typing import Any

import narwhals.stable.v2 as nw

from aovlab import metrics, periods
from aovlab.compare import window
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collected

__all__ = [
    "customer_orders",
    "has_join_dates",
    "membership",
    "month_number",
    "month_text",
    "require_customers",
    "window",
]


def require_customers(shop: ShopData, what: str) -> None:
    """A clear error when the shop has no customers table saying who is a member.

    >>> import aovlab
    >>> require_customers(aovlab.sample.load(), "The member comparison")  # no error
    """
    if shop.customers is None:
        raise AovlabInputError(
            f"{what} needs a customers table",
            table="customers",
            expected="a customers table with customer_id and loyalty_member and/or "
            "loyalty_joined_at (load it with customers=...; --customers on the command line)",
            found="no customers table",
        )
    columns = shop.columns("customers")
    if "loyalty_joined_at" not in columns and not _has_flag_column(shop):
        raise AovlabInputError(
            f"{what} needs to know who is a loyalty member",
            table="customers",
            expected="a column loyalty_member (true/false) or loyalty_joined_at (a date)",
            found="no loyalty_joined_at column, and loyalty_member false (or missing) on every row",
            present=columns,
        )


def _has_flag_column(shop: ShopData) -> bool:
    # The reader adds loyalty_member = false when the export has no such column; a
    # table whose flag is false throughout and has no dates says nothing about members.
    if shop.customers is None:
        return False
    flag = shop.scan("customers").select(nw.col("loyalty_member").any()).pipe(collected).item()
    return bool(flag)


def has_join_dates(shop: ShopData) -> bool:
    """Whether the customers table carries a ``loyalty_joined_at`` column."""
    return shop.customers is not None and "loyalty_joined_at" in shop.columns("customers")


def month_number(column: str | nw.Expr) -> nw.Expr:
    """A datetime's calendar month as an integer, ``year * 12 + month - 1``.

    Datetimes are in the shop's time zone, so the month is the shop's local month.

    >>> import polars as pl, datetime as dt
    >>> frame = nw.from_native(pl.DataFrame({"t": [dt.datetime(2026, 10, 31)]}))
    >>> frame.select(month_number("t")).item(), month_text(24321)
    (24321, '2026-10')
    """
    expr = nw.col(column) if isinstance(column, str) else column
    # No cast: pandas holds a null month as NaN, which an integer column cannot.
    return expr.dt.year() * 12 + expr.dt.month() - 1


def month_text(number: int) -> str:
    """The ``YYYY-MM`` label of a month number (:func:`month_number`).

    >>> month_text(2026 * 12 + 9)
    '2026-10'
    """
    year, month = divmod(int(number), 12)
    return f"{year:04d}-{month + 1:02d}"


def membership(shop: ShopData, as_of: periods.Window | None = None) -> nw.LazyFrame[Any]:
    """Each customer in the customers table: ``customer_id``, ``member``, ``joined_at``, ``join_month``.

    With ``as_of`` a window, a member whose join date falls after the window's end is
    not a member yet (``member`` false). ``join_month`` is null for non-members and for
    members without a date.

    >>> import aovlab
    >>> m = membership(aovlab.sample.load()).collect()
    >>> m.columns, int(m["member"].sum())
    (['customer_id', 'member', 'joined_at', 'join_month'], 2885)
    """
    require_customers(shop, "A loyalty analysis")
    columns = shop.columns("customers")
    frame = shop.scan("customers")
    joined = (
        nw.col("loyalty_joined_at")
        if "loyalty_joined_at" in columns
        else nw.lit(None, dtype=nw.Datetime("us", shop.timezone))
    )
    member = nw.col("loyalty_member").fill_null(False) | ~joined.is_null()
    if as_of is not None:
        end = as_of.bounds(shop.timezone)[1]
        member = member & (joined.is_null() | (joined < nw.lit(end)))
    out = frame.select(
        nw.col("customer_id"), member.alias("member"), joined.alias("joined_at")
    ).with_columns(
        nw.when(nw.col("member")).then(month_number("joined_at")).alias("join_month"),
    )
    return out.with_columns(nw.when(nw.col("member")).then(nw.col("joined_at")).alias("joined_at"))


def customer_orders(
    shop: ShopData, *, basis: str = "net", when: periods.Window | None = None
) -> nw.LazyFrame[Any]:
    """Registered customers' counted orders, lazily.

    Columns: ``customer_id``, ``ordered_at``, ``month`` (:func:`month_number`), ``value``
    (revenue on the basis), ``net_value`` and ``cogs`` (null where unknown).

    >>> import aovlab
    >>> o = customer_orders(aovlab.sample.load()).collect()
    >>> o.columns
    ['customer_id', 'ordered_at', 'month', 'value', 'net_value', 'cogs']
    """
    frame = metrics.order_table(shop, basis=basis, when=when, lazy=True)
    return frame.filter(~nw.col("customer_id").is_null()).select(
        "customer_id",
        "ordered_at",
        month_number("ordered_at").alias("month"),
        "value",
        "net_value",
        "cogs",
    )
