"""Shopify "Export orders" CSV (every header variant that has the columns used here).

One row per line item; rows 2+ of an order fill only the line columns, so order fields
come from each order's first row. What the reader does:

- ``Created at`` (``2026-10-03 14:22:05 +0200``, the offset changing with daylight
  saving) is the order time; ``Paid at`` is blank for pending orders and not used;
- Financial Status and ``Cancelled at`` become the status: cancelled when ``Cancelled
  at`` is set or the payment was voided; pending/authorized/partially_paid are pending;
- gift cards and tips (lines that need no shipping and are named as such) are not
  merchandise: they stay out of the lines and their amount is taken out of the total;
- the customer is a salted hash of the lower-cased Email (blank: a guest). Names,
  addresses, phones, notes and the email itself are never read into the tables;
- Source becomes ``channel``, the shipping (else billing) country ``country``, the
  discount code ``discount_code``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from aovlab import fmt
from aovlab.errors import AovlabInputError, Note
from aovlab.io.parse import TextFile, parse_amounts
from aovlab.io.result import Read, headers, in_file, refuse_repeated_orders
from aovlab.model import STATUS_MAP, STATUS_SEPARATORS
from aovlab.privacy import DEFAULT_SALT, clean_email, hash_each, hashed_distinct

REQUIRED = (
    "Name",
    "Financial Status",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Total",
)
AMOUNTS = (
    "subtotal",
    "shipping",
    "taxes",
    "total",
    "discount amount",
    "lineitem price",
    "refunded amount",
)
_NOT_MERCHANDISE = r"(?i)gift ?card|presentkort|gavekort|geschenkgutschein|geschenkkarte|cadeaukaart|cadeaubon|\btips?\b|dricks"

#: "Created at" as Shopify writes it: a local time and its UTC offset.
_SHOPIFY_TIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$"

#: Canonical columns and the export headers they come from (for error messages).
ORIGINS = {
    "orders": {
        "order_id": "Name",
        "customer_id": "Email",
        "ordered_at": "Created at",
        "currency": "Currency",
        "merchandise": "Lineitem price",
        "discount": "Discount Amount",
        "shipping": "Shipping",
        "tax": "Taxes",
        "total": "Total",
        "refunded": "Refunded Amount",
        "status": "Financial Status",
        "channel": "Source",
        "country": "Shipping Country",
        "discount_code": "Discount Code",
    },
    "lines": {
        "order_id": "Name",
        "sku": "Lineitem sku",
        "product": "Lineitem name",
        "quantity": "Lineitem quantity",
        "unit_price": "Lineitem price",
    },
}


def read(text: TextFile, options: dict[str, Any], source: str) -> Read:
    """Canonical orders and lines from a Shopify orders export, and the reader's notes."""
    raw = text.frame
    if raw.height == 0:
        raise AovlabInputError(
            "has no rows", source=source, expected="order rows", found="a header only"
        )
    own = headers(raw)
    names = {c: c.strip().lower() for c in raw.columns}
    frame = raw.rename(names)
    amounts = [c for c in AMOUNTS if c in frame.columns]
    try:
        frame, mark = parse_amounts(
            frame,
            [*amounts, "lineitem quantity"],
            decimal=options.get("decimal"),
            source=source,
            table="orders",
        )
    except AovlabInputError as err:
        raise in_file(err, own) from None
    salt = options.get("salt") or DEFAULT_SALT
    notes = [
        Note(
            "info",
            "orders",
            f"read as a Shopify orders export; {', '.join([*text.detected, f'decimal {mark!r}'])}",
        )
    ]
    if not options.get("salt"):
        notes.append(
            Note(
                "info",
                "customers",
                "customer ids are hashed emails with the default salt: set a salt per client",
            )
        )

    present = set(frame.columns)

    def text_col(name: str) -> pl.Expr:
        return pl.col(name).str.strip_chars() if name in present else pl.lit(None, pl.String)

    requires = text_col("lineitem requires shipping").str.to_lowercase()
    line_name = text_col("lineitem name")
    # Gift cards and tips by name: the pattern runs on each distinct name once.
    line_names = frame.select(line_name.unique().alias("n"))["n"]
    gift_names = line_names.filter(line_names.str.contains(_NOT_MERCHANDISE))
    marker = next((c for c in ("financial status", "total") if c in frame.columns), None)
    heads = pl.col(marker).cast(pl.String).str.strip_chars().fill_null("") != "" if marker else None
    # Every row's own fields, computed once and read by each of the queries below.
    name = pl.col("name")
    base = (
        frame.lazy()
        .with_row_index("__row")
        .with_columns(
            (pl.col("__row").cast(pl.Int64) + 2).alias("__file_row"),
            name.str.strip_chars().alias("name"),
            ((requires == "false") & line_name.is_in(gift_names.implode()).fill_null(False))
            .fill_null(False)
            .alias("__not_merch"),
            (pl.col("lineitem quantity") * pl.col("lineitem price")).alias("__value"),
        )
        # An order's first row: the rows of an order come together (checked below), so
        # its rows are a run of the same name, numbered by __run in file order.
        .with_columns(
            ((pl.int_range(pl.len()) == 0) | name.ne_missing(name.shift(1))).alias("__start")
        )
        .with_columns(pl.col("__start").cum_sum().set_sorted().alias("__run"))
        .collect()
        .lazy()
    )
    # The customer is an order's first email: gathered as written, then each distinct
    # one cleaned and hashed once (see _customer_ids): the hash never sees a row.
    raw_email = pl.col("email") if "email" in frame.columns else pl.lit(None, pl.String)
    country = pl.coalesce(text_col("shipping country"), text_col("billing country"))
    # An order's own fields are those of its first row; its customer is its first email
    # and its merchandise the sum of its lines (gift cards and tips apart).
    firsts = [
        pl.col("__row"),
        pl.col("__file_row"),
        pl.col("created at").alias("ordered_at"),
        *(
            pl.col(c)
            for c in (
                "financial status",
                "cancelled at",
                "currency",
                "subtotal",
                "shipping",
                "taxes",
                "total",
                "discount amount",
                "refunded amount",
                "discount code",
                "source",
            )
            if c in frame.columns
        ),
        country.alias("country"),
    ]
    gathered = [
        raw_email.drop_nulls().first().alias("__raw_email"),
        pl.col("__value").filter(~pl.col("__not_merch")).sum().alias("merchandise"),
        pl.col("__value").filter(pl.col("__not_merch")).sum().alias("__excluded"),
    ]
    # Lines: only the columns used are filtered (the export has dozens).
    lines_query = base.filter(~pl.col("__not_merch")).select(
        "__file_row",
        pl.col("name").alias("order_id"),
        pl.coalesce(text_col("lineitem sku"), line_name).alias("sku"),
        line_name.alias("product"),
        pl.col("lineitem quantity").alias("quantity"),
        pl.col("lineitem price").alias("unit_price"),
    )
    # The repeated-order check of a clean export (result._together, on the runs
    # numbered above): each order once among the first rows of the runs, its names
    # compared by their 64-bit hash (a collision can only send a clean export to the
    # full check), and no two rows with order fields in one run.
    start, run = pl.col("__start"), pl.col("__run")
    checks = [(start.sum() == name.filter(start).hash().n_unique()).alias("runs")]
    if heads is not None:
        in_heads = run.filter(heads.fill_null(False))
        checks.append((in_heads != in_heads.shift(1)).fill_null(True).all().alias("heads"))
    # One run of the engine: the check, each order's first row, its sums (grouped by
    # run: adjacent rows, no hashing of names), the lines, the gift cards and tips.
    together, head_rows, sums, lines, excluded = pl.collect_all(
        [
            base.select(checks),
            base.filter(start).select("name", *firsts),
            base.group_by("__run", maintain_order=True).agg(gathered),
            lines_query,
            base.filter("__not_merch").select("name", "__value"),
        ]
    )
    key = "__run"
    if all(together.row(0)):
        first = pl.concat([head_rows, sums.drop("__run")], how="horizontal")
    else:  # an order's rows apart, or two first rows: named by the full check
        rows = base.collect()
        refuse_repeated_orders(rows, "name", own.get("name", "Name"), source, heads=heads)
        key = "name"
        first = rows.group_by(key, maintain_order=True).agg(*(e.first() for e in firsts), *gathered)
    del head_rows, sums
    first = first.with_columns(_customer_ids(first["__raw_email"], base, key, salt))
    del base, frame  # the rows: only the orders are read from here on
    status = (
        text_col("financial status")
        .str.to_lowercase()
        .str.replace_all(STATUS_SEPARATORS, "_")
        .replace_strict(STATUS_MAP, default=None)
    )
    if "financial status" in first.columns:
        # A handful of words: each read once, then set on every order.
        words = first.select(pl.col("financial status").unique())
        words = words.with_columns(status.alias("__status"))
        status = pl.col("financial status").replace_strict(
            words["financial status"], words["__status"], default=None
        )
    cancelled = text_col("cancelled at").is_not_null() & (text_col("cancelled at") != "")
    # "2026-10-03 14:22:05 +0200" -> "2026-10-03 14:22:05+02:00" for the model's parser:
    # by slicing when every value has that form, else by the pattern.
    stripped = pl.col("ordered_at").str.strip_chars()
    created = stripped.str.replace(r" ([+-]\d{2}):?(\d{2})$", "${1}:${2}")
    if first.select(stripped.str.contains(_SHOPIFY_TIME).all()).item():
        created = pl.concat_str(
            stripped.str.slice(0, 19),
            stripped.str.slice(20, 3),
            pl.lit(":"),
            stripped.str.slice(23, 2),
        )
    staged = first.lazy().with_columns(status.alias("__status"), cancelled.alias("__cancelled"))
    unknown, orders = pl.collect_all(
        [
            staged.filter(pl.col("__status").is_null() & ~pl.col("__cancelled"))
            .select("__file_row", "financial status")
            .head(50),
            staged.select(
                "__file_row",
                pl.col("name").alias("order_id"),
                pl.col("customer_id"),
                created.alias("ordered_at"),
                *([pl.col("currency")] if "currency" in first.columns else []),
                pl.col("merchandise"),
                pl.col("discount amount").fill_null(0.0).alias("discount")
                if "discount amount" in first.columns
                else pl.lit(0.0).alias("discount"),
                pl.col("shipping").fill_null(0.0)
                if "shipping" in first.columns
                else pl.lit(0.0).alias("shipping"),
                pl.col("taxes").fill_null(0.0).alias("tax")
                if "taxes" in first.columns
                else pl.lit(0.0).alias("tax"),
                (pl.col("total") - pl.col("__excluded")).alias("total"),
                pl.col("refunded amount").fill_null(0.0).alias("refunded")
                if "refunded amount" in first.columns
                else pl.lit(0.0).alias("refunded"),
                pl.when(pl.col("__cancelled"))
                .then(pl.lit("cancelled"))
                .otherwise(pl.col("__status"))
                .alias("status"),
                *([pl.col("source").alias("channel")] if "source" in first.columns else []),
                pl.col("country"),
                *(
                    [pl.col("discount code").alias("discount_code")]
                    if "discount code" in first.columns
                    else []
                ),
            ),
        ]
    )
    if unknown.height:
        raise AovlabInputError(
            "has unknown financial statuses",
            source=source,
            table="orders",
            column="Financial Status",
            rows=unknown["__file_row"].to_list(),
            expected=", ".join(STATUS_MAP),
            found=", ".join(repr(v) for v in unknown["financial status"].head(5).to_list()),
            row_label="file row",
        )
    if excluded.height:
        notes.append(
            Note(
                "info",
                "orders",
                f"{fmt.count(excluded.height)} gift-card or tip line(s), value {fmt.number(excluded['__value'].sum(), 2)}, are not merchandise "
                "and are taken out of their orders' totals",
                tuple(excluded["name"].head(5).to_list()),
                excluded.height,
            )
        )
    origins = {t: {c: own.get(h.lower(), h) for c, h in m.items()} for t, m in ORIGINS.items()}
    return Read({"orders": orders, "lines": lines}, notes, origins)


def _customer_ids(
    raw: pl.Series, rows: pl.LazyFrame, key: str, salt: str, *, by_text: bool = False
) -> pl.Series:
    """Each order's customer id from its first email as written (``raw``, one per order).

    Each distinct email is cleaned (:func:`aovlab.privacy.clean_email`) and hashed
    (:func:`aovlab.privacy.hash_each`) once, and the ids are set on the orders by
    a join that keeps their order. The emails are found distinct, and joined, by the
    engine's 64-bit hash of each (integers: no string hashing twice); the join is then
    checked to have matched each order's own email, and all is done again ``by_text``
    if two emails' hashes collided. An order whose first email is blank has the first
    non-blank one as its customer: then every row's email is cleaned and the orders'
    rows (``rows``, grouped by ``key`` in file order) are gathered again.
    """
    email = pl.col("raw")
    frame = raw.to_frame("raw").with_columns((email if by_text else email.hash()).alias("key"))
    distinct = frame.filter(pl.col("key").is_first_distinct() & email.is_not_null())
    distinct = distinct.with_columns(clean_email("raw").alias("clean"))
    if distinct["clean"].null_count():
        clean = (
            rows.group_by(key, maintain_order=True)
            .agg(clean_email("email").drop_nulls().first())
            .collect()["email"]
        )
        ids = hashed_distinct(clean, salt).rename({"value": "key"})
        return _mapped(clean.to_frame("key"), ids)
    table = distinct.select("key", hash_each(distinct["clean"], salt), "raw")
    joined = frame.join(table, on="key", how="left", maintain_order="left")
    if by_text or joined["raw"].eq_missing(joined["raw_right"]).all():
        return joined["id"].alias("customer_id")
    return _customer_ids(raw, rows, key, salt, by_text=True)


def _mapped(values: pl.DataFrame, table: pl.DataFrame) -> pl.Series:
    """``table``'s ``id`` for each row of ``values`` (matched on ``key``; none: null)."""
    joined = values.join(table, on="key", how="left", maintain_order="left")
    return joined["id"].alias("customer_id")
