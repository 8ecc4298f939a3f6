"""Invoice-line exports (UCI Online Retail style; common from ERPs and spreadsheets).

``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
Country``: one row per invoice line. What the reader does, each counted in the notes:

- invoices starting with ``C`` are cancellations/returns, not orders: left out, with
  their count and value reported (they carry no reference to the invoice they undo);
- invoices starting with ``A`` are bad-debt adjustments: left out;
- lines with a quantity of zero or less on ordinary invoices are stock corrections: left out;
- postage codes (``POST``, ``DOT``, ``C2``) become the order's shipping, discount lines
  (``D``) its discount, and other non-product codes (``M``, ``BANK CHARGES``,
  ``AMAZONFEE``, ``CRUK``, ``S``, ``B``) stay out of merchandise;
- invoices with no product line (postage or fees only) are not orders;
- customer numbers that went through a float (``17850.0``) become ``17850``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from aovlab.errors import AovlabInputError, Note
from aovlab.io.parse import TextFile, detect_dayfirst, parse_amounts, to_iso_dates

COLUMNS = {
    "invoiceno": "invoice",
    "stockcode": "code",
    "description": "description",
    "quantity": "quantity",
    "invoicedate": "date",
    "unitprice": "price",
    "customerid": "customer",
    "country": "country",
}
REQUIRED = ("InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice")
POSTAGE = ("POST", "DOT", "C2")
DISCOUNT = ("D",)
NOT_MERCHANDISE = ("M", "BANK CHARGES", "AMAZONFEE", "CRUK", "S", "B")


def read(
    text: TextFile, options: dict[str, Any], source: str
) -> tuple[dict[str, pl.DataFrame], list[Note]]:
    """Canonical orders and lines from an invoice-line export, and the reader's notes."""
    frame = text.frame.rename(
        {c: COLUMNS.get(c.lower().replace(" ", ""), c) for c in text.frame.columns}
    )
    if frame.height == 0:
        raise AovlabInputError(
            "has no rows", source=source, expected="invoice lines", found="a header only"
        )
    frame, mark = parse_amounts(
        frame,
        ["quantity", "price"],
        decimal=options.get("decimal"),
        source=source,
        table="invoice lines",
    )
    dayfirst = options.get("dayfirst")
    if dayfirst is None:
        dayfirst = detect_dayfirst(frame["date"], source, "InvoiceDate")
    if dayfirst is not None:
        frame = to_iso_dates(frame, "date", dayfirst)
    code = pl.col("code").str.strip_chars().str.to_uppercase()
    invoice = pl.col("invoice").str.strip_chars()
    customer = (
        pl.col("customer").str.strip_chars().str.replace(r"\.0+$", "")
        if "customer" in frame.columns
        else pl.lit(None, pl.String)
    )
    frame = frame.with_columns(
        invoice.alias("invoice"),
        code.alias("code"),
        customer.alias("customer"),
        (pl.col("quantity") * pl.col("price")).alias("value"),
        pl.when(invoice.str.starts_with("C"))
        .then(pl.lit("return"))
        .when(invoice.str.starts_with("A"))
        .then(pl.lit("adjustment"))
        .when(code.is_in(POSTAGE))
        .then(pl.lit("postage"))
        .when(code.is_in(DISCOUNT))
        .then(pl.lit("discount"))
        .when(code.is_in(NOT_MERCHANDISE))
        .then(pl.lit("other"))
        .when(pl.col("quantity") <= 0)
        .then(pl.lit("correction"))
        .otherwise(pl.lit("product"))
        .alias("kind"),
    )
    notes = [
        Note(
            "info",
            "orders",
            f"read as invoice lines; {', '.join([*text.detected, f'decimal {mark!r}'])}",
        )
    ]
    kept = frame.filter(~pl.col("kind").is_in(["return", "adjustment"]))
    per_invoice = kept.group_by("invoice").agg(
        pl.col("date").min().alias("ordered_at"),
        pl.col("customer").drop_nulls().first().alias("customer_id"),
        *(
            [pl.col("country").drop_nulls().first().alias("country")]
            if "country" in frame.columns
            else []
        ),
        pl.col("value").filter(pl.col("kind") == "product").sum().alias("merchandise"),
        (pl.col("kind") == "product").sum().alias("products"),
        pl.col("value").filter(pl.col("kind") == "postage").sum().alias("shipping"),
        (-pl.col("value").filter(pl.col("kind") == "discount").sum()).alias("discount"),
    )
    orders = (
        per_invoice.filter(pl.col("products") > 0)
        .drop("products")
        .rename({"invoice": "order_id"})
        .sort("ordered_at", "order_id")
    )
    if orders.height == 0:
        kinds = frame.group_by("kind").len().sort("kind")
        raise AovlabInputError(
            "has no orders",
            source=source,
            table="orders",
            expected="invoices with product lines (quantity > 0, not C or A invoices)",
            found=", ".join(f"{k}: {n:,} line(s)" for k, n in kinds.iter_rows()),
        )
    lines = kept.filter(pl.col("kind") == "product").select(
        pl.col("invoice").alias("order_id"),
        pl.col("code").alias("sku"),
        pl.col("description").str.strip_chars().alias("product")
        if "description" in frame.columns
        else pl.col("code").alias("product"),
        "quantity",
        pl.col("price").alias("unit_price"),
    )
    _count(
        notes,
        frame.filter(pl.col("kind") == "return"),
        "returns (C invoices) left out: they are not orders",
    )
    _count(
        notes,
        frame.filter(pl.col("kind") == "adjustment"),
        "bad-debt adjustments (A invoices) left out",
    )
    _count(
        notes,
        kept.filter(pl.col("kind") == "correction"),
        "stock corrections (quantity <= 0) left out",
    )
    _count(
        notes,
        kept.filter(pl.col("kind") == "other"),
        "non-product lines (manual, fees, samples) kept out of merchandise",
    )
    no_products = per_invoice.filter(pl.col("products") == 0)
    if no_products.height:
        notes.append(
            Note(
                "info",
                "orders",
                f"{no_products.height:,} invoice(s) without a product line (only postage, fees or corrections) are not orders",
                tuple(no_products["invoice"].sort().head(5).to_list()),
                no_products.height,
            )
        )
    free = lines.filter(pl.col("unit_price") == 0)
    if free.height:
        notes.append(
            Note(
                "info",
                "lines",
                f"{free.height:,} product line(s) at price 0 kept",
                tuple(free["order_id"].head(5).to_list()),
                free.height,
            )
        )
    return {"orders": orders, "lines": lines}, notes


def _count(notes: list[Note], rows: pl.DataFrame, what: str) -> None:
    if rows.height:
        invoices = rows["invoice"].n_unique()
        notes.append(
            Note(
                "info",
                "orders",
                f"{rows.height:,} line(s) on {invoices:,} invoice(s), value {rows['value'].sum():,.2f}: {what}",
                tuple(rows["invoice"].unique().sort().head(5).to_list()),
                rows.height,
            )
        )
