"""Invoice-line exports (UCI Online Retail style; common from ERPs and spreadsheets).

``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
Country``: one row per invoice line. What the reader does, each counted in the notes:

- invoices starting with ``C`` are cancellations/returns, not orders: left out, with
  their count and value reported (they carry no reference to the invoice they undo);
- invoices starting with ``A`` are bad-debt adjustments: left out;
- lines with a quantity of zero or less on ordinary invoices are stock corrections: left out;
- postage codes (``POST``, ``DOT``, ``C2``) become the order's shipping, discount lines
  (``D``) its discount, and other non-product codes (``M``, ``BANK CHARGES``,
  ``AMAZONFEE``, ``CRUK``, ``S``, ``B``) and gift vouchers (``gift_0001_20``) stay out
  of merchandise;
- invoices with no product line (postage or fees only) are not orders;
- customer numbers that went through a float (``17850.0``) become ``17850``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from aovlab import fmt
from aovlab.errors import AovlabInputError, Note
from aovlab.io.parse import TextFile, detect_dayfirst, parse_amounts, to_iso_dates
from aovlab.io.result import Read, headers, in_file

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
#: Gift vouchers (UCI's ``gift_0001_20``): money paid in advance, not merchandise.
GIFT_CARD = r"^GIFT[_ -]|^GIFTCARD|^VOUCHER"


#: Canonical columns and the export headers they come from (for error messages).
ORIGINS = {
    "orders": {
        "order_id": "InvoiceNo",
        "ordered_at": "InvoiceDate",
        "customer_id": "CustomerID",
        "country": "Country",
        "merchandise": "UnitPrice",
    },
    "lines": {
        "order_id": "InvoiceNo",
        "sku": "StockCode",
        "product": "Description",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
    },
}


def read(text: TextFile, options: dict[str, Any], source: str) -> Read:
    """Canonical orders and lines from an invoice-line export, and the reader's notes."""
    spelled = {COLUMNS.get(c.lower().replace(" ", ""), c): c.strip() for c in text.frame.columns}
    own = {**spelled, **headers(text.frame)}
    frame = text.frame.rename(
        {c: COLUMNS.get(c.lower().replace(" ", ""), c) for c in text.frame.columns}
    )
    if frame.height == 0:
        raise AovlabInputError(
            "has no rows", source=source, expected="invoice lines", found="a header only"
        )
    try:
        frame, mark = parse_amounts(
            frame,
            ["quantity", "price"],
            decimal=options.get("decimal"),
            source=source,
            table="invoice lines",
        )
    except AovlabInputError as err:
        raise in_file(err, own) from None
    frame = frame.with_row_index("__row").with_columns(
        (pl.col("__row").cast(pl.Int64) + 2).alias("__file_row")
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
        .when(code.is_in(NOT_MERCHANDISE) | code.str.contains(GIFT_CARD))
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
        pl.col("__file_row").min(),
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
            found=", ".join(f"{k}: {fmt.count(n)} line(s)" for k, n in kinds.iter_rows()),
        )
    lines = kept.filter(pl.col("kind") == "product").select(
        "__file_row",
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
        "non-product lines (manual, fees, samples, gift vouchers) kept out of merchandise",
    )
    no_products = per_invoice.filter(pl.col("products") == 0)
    if no_products.height:
        notes.append(
            Note(
                "info",
                "orders",
                f"{fmt.count(no_products.height)} invoice(s) without a product line (only postage, fees or corrections) are not orders",
                tuple(no_products["invoice"].sort().head(5).to_list()),
                no_products.height,
            )
        )
    # Lines of invoices that are all priced 0 go with their invoice (the model's
    # zero-value note counts those); the rest are free items on real orders.
    sold = orders.filter(pl.col("merchandise").abs() >= 0.005).select("order_id")
    free = lines.filter(pl.col("unit_price") == 0).join(sold, on="order_id", how="semi")
    if free.height:
        notes.append(
            Note(
                "info",
                "lines",
                f"{fmt.count(free.height)} product line(s) at price 0 kept",
                tuple(free["order_id"].head(5).to_list()),
                free.height,
            )
        )
    origins = {
        t: {c: own.get(h.lower(), own.get(h, h)) for c, h in m.items()} for t, m in ORIGINS.items()
    }
    return Read({"orders": orders, "lines": lines}, notes, origins)


def _count(notes: list[Note], rows: pl.DataFrame, what: str) -> None:
    if rows.height:
        invoices = rows["invoice"].n_unique()
        notes.append(
            Note(
                "info",
                "orders",
                f"{fmt.count(rows.height)} line(s) on {fmt.count(invoices)} invoice(s), value {fmt.number(rows['value'].sum(), 2)}: {what}",
                tuple(rows["invoice"].unique().sort().head(5).to_list()),
                rows.height,
            )
        )
