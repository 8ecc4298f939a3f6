"""WooCommerce "Customer/Order/Coupon Export", one row per item.

Order totals repeat on every item row of an order: they are taken once per
``order_id``. What the reader does:

- merchandise is the sum of ``item_subtotal`` (quantity x price before coupons); the
  unit price is ``item_subtotal / item_quantity``;
- ``discount_total`` is the discount, ``shipping_total`` plus ``fee_total`` the charges
  that are not merchandise (canonical ``shipping``), all taxes together the ``tax``;
- statuses: completed and processing are paid (partially refunded when some of the
  total was refunded), pending and on-hold pending, cancelled and failed cancelled;
- ``customer_id`` 0 is a guest: the customer falls back to a salted hash of
  ``billing_email``; no other billing or shipping field is read except the country;
- ``date`` is the store's local time.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from aovlab import fmt
from aovlab.errors import AovlabInputError, Note
from aovlab.io.parse import TextFile, parse_amounts
from aovlab.io.result import Read, headers, in_file, refuse_repeated_orders
from aovlab.model import STATUS_MAP, STATUS_SEPARATORS
from aovlab.privacy import DEFAULT_SALT, pseudonymise

REQUIRED = (
    "order_id",
    "date",
    "status",
    "order_total",
    "item_name",
    "item_quantity",
    "item_subtotal",
)
AMOUNTS = (
    "shipping_total",
    "shipping_tax_total",
    "fee_total",
    "fee_tax_total",
    "tax_total",
    "discount_total",
    "order_total",
    "refunded_total",
    "item_quantity",
    "item_subtotal",
)


#: Canonical columns and the export headers they come from (for error messages).
ORIGINS = {
    "orders": {
        "order_id": "order_id",
        "ordered_at": "date",
        "customer_id": "customer_id",
        "currency": "order_currency",
        "merchandise": "item_subtotal",
        "discount": "discount_total",
        "shipping": "shipping_total",
        "tax": "tax_total",
        "total": "order_total",
        "refunded": "refunded_total",
        "status": "status",
        "country": "billing_country",
    },
    "lines": {
        "order_id": "order_id",
        "sku": "item_sku",
        "product": "item_name",
        "quantity": "item_quantity",
        "unit_price": "item_subtotal",
    },
}


def read(text: TextFile, options: dict[str, Any], source: str) -> Read:
    """Canonical orders and lines from a WooCommerce item-row export, and the reader's notes."""
    own = headers(text.frame)
    frame = text.frame.rename({c: c.strip().lower() for c in text.frame.columns})
    if frame.height == 0:
        raise AovlabInputError(
            "has no rows", source=source, expected="item rows", found="a header only"
        )
    amounts = [c for c in AMOUNTS if c in frame.columns]
    try:
        frame, mark = parse_amounts(
            frame, amounts, decimal=options.get("decimal"), source=source, table="orders"
        )
    except AovlabInputError as err:
        raise in_file(err, own) from None
    frame = frame.with_row_index("__row").with_columns(
        (pl.col("__row").cast(pl.Int64) + 2).alias("__file_row"),
        pl.col("order_id").str.strip_chars(),
        pl.col("status").str.strip_chars().str.to_lowercase(),
    )
    notes = [
        Note(
            "info",
            "orders",
            f"read as a WooCommerce item export; {', '.join([*text.detected, f'decimal {mark!r}'])}",
        )
    ]

    def money(name: str) -> pl.Expr:
        return pl.col(name).fill_null(0.0) if name in frame.columns else pl.lit(0.0)

    mapped = (
        pl.col("status")
        .str.replace_all(STATUS_SEPARATORS, "_")
        .replace_strict(STATUS_MAP, default=None)
    )
    unknown = frame.filter(mapped.is_null())
    if unknown.height:
        raise AovlabInputError(
            "has unknown order statuses",
            source=source,
            table="orders",
            column="status",
            rows=unknown["__file_row"].head(50).to_list(),
            expected=", ".join(STATUS_MAP),
            found=", ".join(repr(v) for v in unknown["status"].unique().head(5).to_list()),
            row_label="file row",
        )
    refuse_repeated_orders(
        frame,
        "order_id",
        own.get("order_id", "order_id"),
        source,
        item="item_id" if "item_id" in frame.columns else None,
    )
    # Order fields repeat on each item row; they must agree within an order.
    order_fields = [
        c
        for c in ("date", "status", "order_total", "discount_total", "shipping_total", "tax_total")
        if c in frame.columns
    ]
    conflicts = (
        frame.group_by("order_id")
        .agg(*(pl.col(c).n_unique().alias(c) for c in order_fields))
        .filter(pl.any_horizontal(pl.col(c) > 1 for c in order_fields))
    )
    if conflicts.height:
        raise AovlabInputError(
            "repeats an order with different order fields",
            source=source,
            table="orders",
            column="order_id",
            expected="the same date, status and totals on every item row of an order",
            found=", ".join(repr(v) for v in conflicts["order_id"].head(5).to_list()),
        )
    salt = options.get("salt") or DEFAULT_SALT
    customer = (
        pl.col("customer_id").str.strip_chars()
        if "customer_id" in frame.columns
        else pl.lit(None, pl.String)
    )
    guest = customer.is_null() | customer.is_in(["0", ""])
    email = (
        pseudonymise(frame["billing_email"], salt)
        if "billing_email" in frame.columns
        else pl.Series([None] * frame.height, dtype=pl.String)
    )
    frame = frame.with_columns(
        pl.when(guest).then(pl.Series(email)).otherwise(customer).alias("__customer"),
    )
    status = mapped
    refunded = money("refunded_total")
    status = (
        pl.when((status == "paid") & (refunded > 0) & (refunded < money("order_total")))
        .then(pl.lit("partially_refunded"))
        .when((status == "paid") & (refunded > 0))
        .then(pl.lit("refunded"))
        .otherwise(status)
    )
    country = pl.coalesce(
        *(
            pl.col(c).str.strip_chars()
            for c in ("shipping_country", "billing_country")
            if c in frame.columns
        ),
        pl.lit(None, pl.String),
    )
    orders = frame.group_by("order_id", maintain_order=True).agg(
        pl.col("__file_row").first(),
        pl.col("date").first().str.strip_chars().alias("ordered_at"),
        pl.col("__customer").first().alias("customer_id"),
        *(
            [pl.col("order_currency").first().alias("currency")]
            if "order_currency" in frame.columns
            else []
        ),
        pl.col("item_subtotal").sum().alias("merchandise"),
        money("discount_total").first().alias("discount"),
        (money("shipping_total") + money("fee_total")).first().alias("shipping"),
        (money("tax_total") + money("shipping_tax_total") + money("fee_tax_total"))
        .first()
        .alias("tax"),
        money("order_total").first().alias("total"),
        refunded.first().alias("refunded"),
        status.first().alias("status"),
        *([pl.col("payment_method").first()] if "payment_method" in frame.columns else []),
        country.first().alias("country"),
    )
    lines = frame.select(
        "__file_row",
        "order_id",
        pl.coalesce(
            pl.col("item_sku").str.strip_chars()
            if "item_sku" in frame.columns
            else pl.lit(None, pl.String),
            pl.col("item_name").str.strip_chars(),
        ).alias("sku"),
        pl.col("item_name").str.strip_chars().alias("product"),
        pl.col("item_quantity").alias("quantity"),
        (pl.col("item_subtotal") / pl.col("item_quantity")).alias("unit_price"),
    )
    fees = (
        frame.group_by("order_id").agg(money("fee_total").first()).filter(pl.col("fee_total") > 0)
        if "fee_total" in frame.columns
        else None
    )
    if fees is not None and fees.height:
        notes.append(
            Note(
                "info",
                "orders",
                f"{fmt.count(fees.height)} order(s) carry fees, counted with shipping (charges that are not merchandise)",
                tuple(fees["order_id"].head(5).to_list()),
                fees.height,
            )
        )
    if not options.get("salt") and "billing_email" in frame.columns:
        notes.append(
            Note(
                "info",
                "customers",
                "guest customers are hashed emails with the default salt: set a salt per client",
            )
        )
    origins = {t: {c: own.get(h, h) for c, h in m.items()} for t, m in ORIGINS.items()}
    return Read({"orders": orders, "lines": lines}, notes, origins)
