"""The load's fast path: clean canonical orders and lines checked in one pass.

Most loads are of clean tables: every number parses, no id repeats, no value looks like
personal data, every line finds its order. For them the checks of
:meth:`aovlab.model.ShopData.from_frames` reduce to counts that must be zero, and the
engine can compute every one of those counts, and build the validated tables, in two
lazy queries that it runs in parallel instead of a few dozen separate passes:

1. a *profile* of the raw tables (stray spaces, empty ids, repeated ids, numbers that
   are not finite or are negative, unknown statuses, distinct values that look
   personal, how many distinct values each text column has);
2. the validated *tables* (dates parsed in the shop's time zone, defaults filled, each
   order's units, cost and merchandise from its lines) with the counts behind every
   note the load can write (orders with no merchandise value, totals that do not add
   up, lines of unknown orders, ...).

Whenever a count is not zero, or a table has a shape this path does not handle (a
catalogue, personal columns, order-level units, ...), it returns ``None`` and the
step-by-step validation in :mod:`aovlab.model` runs instead: it finds the same problem,
names its rows and writes the same error or note as always. This path never raises an
error, and writes only two notes, with the step-by-step path's own code: tax included
in prices, and lines without a unit cost. So what a user reads is the same either way;
``tests/test_onepass.py`` checks that both paths give identical tables and notes.

A reader's ``__file_row`` (each row's line in its export, for error messages) is left
out here: this path names no rows. The orders must be in file order, as the
step-by-step path puts them.

Written with narwhals' lazy API; polars runs the two queries with ``collect_all``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import narwhals.stable.v2 as nw
import polars as pl

from aovlab.errors import Note
from aovlab.model import (
    FALSY,
    MONEY,
    NON_NEGATIVE,
    ORDER_COLUMNS,
    PLAIN_ID,
    STATUSES,
    TAX_INCLUDED_NOTE,
    TRUTHY,
    _needs_trim,
    _Reading,
    aligned_line_sums,
    collect_all,
    free_text_columns,
    is_free_text,
    minor_unit,
    no_cost_note,
    offset_datetimes,
    uniform_format,
)
from aovlab.privacy import is_personal_column, personal_values

#: Set to False to always take the step-by-step path (the tests compare the two).
ENABLED = True

_ORDER_TEXT = ("order_id", "customer_id", "status")
_LINE_TEXT = ("order_id", "sku", "product", "category")
_LINE_NUMBERS = ("quantity", "unit_price", "unit_cost")
#: Each row's line in the export it was read from (see :class:`aovlab.io.result.Read`).
_FILE_ROW = "__file_row"

Tables = tuple[nw.DataFrame[Any], nw.DataFrame[Any], str | None, bool, list[Note]]


def orders_and_lines(orders: Any, lines: Any, currency: str | None, ctx: _Reading) -> Tables | None:
    """Validated orders and lines, the currency, tax-inclusiveness and notes; or None.

    None means: let the step-by-step validation decide (see the module docstring).
    """
    if not ENABLED or not _handled(orders, lines):
        return None
    o = nw.from_native(orders.drop(_FILE_ROW, strict=False), eager_only=True)
    ln = nw.from_native(lines.drop(_FILE_ROW, strict=False), eager_only=True)
    profile = _profile(o, ln)
    if profile is None:
        return None
    integer_ids, parse, found = profile
    given = currency.strip().upper() if currency else None
    # The currency column as the step-by-step path reads it: one currency, the one given.
    if len(found) > 1 or (given and found and found[0] != given):
        return None
    given = given or (found[0] if found else None)
    built = _build(o, ln, given, ctx, integer_ids=integer_ids, parse=parse)
    if built is None:
        return None
    frame, line_frame, tax_included = built
    notes = [TAX_INCLUDED_NOTE] if tax_included else []
    no_cost = no_cost_note(line_frame)
    if no_cost is not None:
        notes.append(no_cost)
    return frame, line_frame, given, tax_included, notes


# --------------------------------------------------------------------------- shape


def _handled(orders: Any, lines: Any) -> bool:
    """Whether the tables have the shape this path handles (polars, canonical names)."""
    if not (isinstance(orders, pl.DataFrame) and isinstance(lines, pl.DataFrame)):
        return False
    if orders.height == 0 or lines.height == 0:
        return False
    for frame in (orders, lines):
        names = [c for c in frame.columns if c != _FILE_ROW]
        if any(c != c.strip().lstrip("\ufeff").lower() or c.startswith("__") for c in names):
            return False
        if _FILE_ROW in frame.columns and not frame.schema[_FILE_ROW].is_integer():
            return False
        if any("_duplicated_" in c for c in names):
            return False
        if any(is_personal_column(c) for c in names if c not in ORDER_COLUMNS):
            return False
        # Enum columns are text to the step-by-step path (scanned for personal data and
        # free text, and given back as String); this path would copy them unchecked.
        if any(isinstance(t, pl.Enum) for t in frame.schema.values()):
            return False
    o, ln = orders.schema, lines.schema
    if not {"order_id", "ordered_at", "merchandise"} <= set(o):
        return False
    if {"units", "cogs", "revenue"} & set(o):
        return False
    if _FILE_ROW in o and not _ascending(orders[_FILE_ROW]):
        return False
    if o["order_id"] != pl.String or o["ordered_at"] != pl.String:
        return False
    if any(o[c] != pl.Float64 for c in MONEY if c in o):
        return False
    if any(o[c] != pl.String for c in ("customer_id", "status", "currency") if c in o):
        return False
    if "test" in o and o["test"] not in (pl.String, pl.Boolean):
        return False
    if not {"order_id", "sku", "quantity", "unit_price"} <= set(ln):
        return False
    if any(ln[c] != pl.String for c in ("order_id", "sku")):
        return False
    if any(ln[c] not in (pl.String, pl.Categorical) for c in ("product", "category") if c in ln):
        return False
    return all(ln[c] == pl.Float64 for c in _LINE_NUMBERS if c in ln)


def _ascending(rows: pl.Series) -> bool:
    """File rows that only go up: the step-by-step path keeps (sorts) orders so."""
    return rows.null_count() == 0 and bool((rows.diff().drop_nulls() > 0).all())


# --------------------------------------------------------------------------- pass 1


def _text_columns(frame: nw.DataFrame[Any]) -> list[str]:
    return [c for c, t in frame.schema.items() if t in (nw.String, nw.Categorical)]


def _string(frame: nw.DataFrame[Any], column: str) -> bool:
    return frame.schema[column] == nw.String


def _profile(o: nw.DataFrame[Any], ln: nw.DataFrame[Any]) -> tuple[bool, str, list[str]] | None:
    """Pass 1: every check on the raw tables; (integer ids?, date format, currencies) or None.

    The currencies are those of a currency column, trimmed and upper-cased, sorted.
    """
    parse = uniform_format(o["ordered_at"])
    if parse is None:
        return None
    order_text = _text_columns(o)
    line_text = _text_columns(ln)
    money = [c for c in MONEY if c in o.columns]
    numbers = [c for c in _LINE_NUMBERS if c in ln.columns]
    col = nw.col
    checks = [
        *(_needs_trim(c).alias(f"trim_{c}") for c in _ORDER_TEXT if c in o.columns),
        col("order_id").null_count().alias("no_id"),
        col("order_id").str.contains(PLAIN_ID).all().alias("plain_ids"),
        col("merchandise").null_count().alias("no_merchandise"),
        *(
            ((~(col(c).is_null() | col(c).is_finite())) | (col(c) < 0)).sum().alias(c)
            for c in money
        ),
    ]
    if "status" in o.columns:
        known = col("status").is_in(list(STATUSES)) | col("status").is_null()
        checks.append((~known).sum().alias("unknown_status"))
    if "test" in o.columns and o.schema["test"] == nw.String:
        # As model._flag reads it: trimmed only when a value has a space or tab at an
        # edge (or is empty), which sends the table to the step-by-step path; so a
        # clean column's values are compared as they are ("yes\r" is not yes/no).
        checks.append(_needs_trim("test").alias("trim_test"))
        text = col("test").str.to_lowercase()
        bad = ~text.is_null() & ~text.is_in(TRUTHY + FALSY)
        checks.append(bad.sum().alias("bad_test"))
    wide = free_text_columns(o)
    stats = [
        *(col(c).n_unique().alias(f"distinct_{c}") for c in wide),
        *(col(c).count().alias(f"present_{c}") for c in wide),
        (
            col("customer_id").drop_nulls().n_unique() if "customer_id" in o.columns else nw.lit(0)
        ).alias("customers"),
    ]
    line_checks = [
        *(
            _needs_trim(c).alias(f"trim_{c}")
            for c in _LINE_TEXT
            if c in ln.columns and _string(ln, c)
        ),
        col("order_id").null_count().alias("no_id"),
        col("order_id").str.contains(PLAIN_ID).all().alias("plain_ids"),
        *(col(c).null_count().alias(f"no_{c}") for c in ("quantity", "unit_price")),
        *(
            ((~(col(c).is_null() | col(c).is_finite())) | (col(c) < 0)).sum().alias(c)
            for c in numbers
        ),
    ]
    # Distinct values that look like personal data, per column (none may be found).
    # The patterns run on the distinct values once they are collected: in the query,
    # the engine would push the filter below the ``unique`` and test every row.
    keep = {"order_id", "customer_id", "ordered_at", "status", "currency"}
    scans = [(o, c, True) for c in order_text if c not in keep] + [
        (ln, c, c not in ("product", "category")) for c in line_text if c not in ("order_id", "sku")
    ]
    if "customer_id" in o.columns:
        scans.append((o, "customer_id", False))
    currencies = []
    if "currency" in o.columns:
        text = col("currency").str.strip_chars()
        currencies.append(o.lazy().select(nw.when(text != "").then(text).alias("c")).unique())
    results = collect_all(
        [
            o.lazy().select(*checks, *stats),
            ln.lazy().select(*line_checks),
            *currencies,
            *(frame.lazy().select(c).unique() for frame, c, _ in scans),
        ]
    )
    order_row, line_row = results[0].rows(named=True)[0], results[1].rows(named=True)[0]
    found = (
        sorted({str(c).upper() for c in results[2]["c"].drop_nulls().to_list()})
        if currencies
        else []
    )
    distinct_values = results[2 + len(currencies) :]
    for values, (frame, c, addresses) in zip(distinct_values, scans, strict=True):
        distinct = values.with_columns(nw.col(c).cast(nw.String()))
        if personal_values(distinct, c, addresses=addresses).shape[0]:
            return None
        # A categorical's values are checked here, once each, for stray spaces.
        if (
            frame is ln
            and c in _LINE_TEXT
            and not _string(ln, c)
            and distinct.select(_needs_trim(c)).item()
        ):
            return None
    flags = {k: v for k, v in order_row.items() if not k.startswith(("distinct_", "present_"))}
    flags.pop("customers")
    plain = bool(flags.pop("plain_ids")) and bool(line_row.pop("plain_ids"))
    if any(bool(v) for v in (*flags.values(), *line_row.values())):
        return None
    customers = int(order_row["customers"] or 0)
    for c in wide:
        distinct, present = order_row[f"distinct_{c}"], order_row[f"present_{c}"]
        if is_free_text(distinct, present, customers):
            return None
    return plain, parse, found


# --------------------------------------------------------------------------- pass 2


def _build(
    o: nw.DataFrame[Any],
    ln: nw.DataFrame[Any],
    currency: str | None,
    ctx: _Reading,
    *,
    integer_ids: bool,
    parse: str,
) -> tuple[nw.DataFrame[Any], nw.DataFrame[Any], bool] | None:
    """Pass 2: the validated tables and the counts behind every note (all must be 0)."""
    col = nw.col
    key = col("order_id").cast(nw.Int64()) if integer_ids else col("order_id")
    have = set(o.columns)
    digits = minor_unit(currency)
    half_unit = 0.5 * 10**-digits

    if parse.endswith("%:z"):
        # Values are read as they are, without trimming: a space or an empty value
        # stops the strict parse, and the step-by-step path reads it by its rules.
        text = col("ordered_at")
        when = offset_datetimes(text, parse, ctx.tz)
    else:
        stripped = col("ordered_at").str.strip_chars()
        text = nw.when(stripped != "").then(stripped)
        when = text.str.to_datetime(parse).dt.replace_time_zone(ctx.tz)

    lines = ln.lazy().with_columns(
        *(() if "product" in ln.columns else (col("sku").alias("product"),)),
        *(
            ()
            if "unit_cost" in ln.columns
            else (nw.lit(None, dtype=nw.Float64()).alias("unit_cost"),)
        ),
        *(
            (col("category").fill_null("(none)"),)
            if "category" in ln.columns
            else (nw.lit("(none)", dtype=nw.String()).alias("category"),)
        ),
    )
    # Each order's line sums, in file order, set beside the wide table (no reordering).
    aligned = aligned_line_sums(o.with_row_index("__row").lazy(), lines, key)
    orders = (
        o.lazy()
        .with_columns(
            when.alias("ordered_at"),
            (~text.is_null()).alias("__dated"),
            *(
                ()
                if "customer_id" in have
                else (nw.lit(None, dtype=nw.String()).alias("customer_id"),)
            ),
            nw.lit(currency, dtype=nw.String()).alias("currency"),
            (col("status").fill_null("paid") if "status" in have else nw.lit("paid")).alias(
                "status"
            ),
            _test_flag(o).alias("test"),
            *(nw.lit(0.0).alias(c) for c in NON_NEGATIVE if c not in have),
        )
        .with_columns(*(col(c).fill_null(0.0) for c in NON_NEGATIVE))
    )
    exclusive = col("merchandise") - col("discount") + col("shipping") + col("tax")
    inclusive = col("merchandise") - col("discount") + col("shipping")
    tolerance = 0.01 * col("__n_lines").fill_null(1.0) + 1e-9
    horizon = dt.datetime.now(ZoneInfo(ctx.tz)) + dt.timedelta(days=1)
    counts = [
        (col("ordered_at").is_null() & col("__dated")).sum().alias("unparsed"),
        (col("ordered_at") > horizon).sum().alias("future"),
        (col("discount") > col("merchandise") + 1e-9).sum().alias("overdrawn"),
        col("__line_merch").is_null().sum().alias("no_lines"),
        (
            ~col("__line_merch").is_null()
            & ((col("__line_merch") - col("merchandise")).abs() > tolerance)
        )
        .sum()
        .alias("off_lines"),
        col("__n_lines").sum().alias("matched"),
        (col("__key").n_unique() != nw.len()).alias("repeated"),
        (col("merchandise").abs() < half_unit).sum().alias("zero_value"),
    ]
    if "total" in have:
        given = ~col("total").is_null()
        counts += [
            (given & ((exclusive - col("total")).abs() > tolerance)).sum().alias("off_ex"),
            (given & ((inclusive - col("total")).abs() > tolerance)).sum().alias("off_in"),
            (col("tax") > 0).sum().alias("taxed"),
        ]
    line_counts = [nw.len().alias("lines")]
    try:
        # Strict parsing: a date of another form, or a local time the clocks skip or
        # repeat, stops the query, and the step-by-step path reads it by its rules.
        frame, sums_in_order, line_frame = collect_all([orders, aligned, lines])
    except (pl.exceptions.PolarsError, ValueError):
        return None
    frame = frame.with_columns(*(sums_in_order[c] for c in sums_in_order.columns))
    # The counts read the collected tables (in memory: one fast parallel select each).
    n = frame.select(*counts).rows(named=True)[0]
    n_lines = line_frame.select(*line_counts).rows(named=True)[0]
    if n["repeated"]:
        return None
    notes = ["unparsed", "future", "overdrawn", "no_lines", "off_lines"]
    if any(int(n[k] or 0) for k in notes):
        return None
    if int(n["zero_value"] or 0) and not ctx.include_zero_value:
        return None
    if int(n["matched"] or 0) != int(n_lines["lines"]):
        return None
    tax_included = False
    if "total" in have:
        n_ex, n_in, n_tax = int(n["off_ex"]), int(n["off_in"]), int(n["taxed"])
        tax_included = bool(n_tax and n_in < n_ex)
        if min(n_ex, n_in):
            return None
        frame = frame.with_columns(col("total").fill_null(exclusive))
    else:
        frame = frame.with_columns(exclusive.alias("total"))
    canonical = [c for c in ORDER_COLUMNS if c in frame.columns]
    rest = [c for c in frame.columns if c not in canonical and not c.startswith("__")]
    frame = _rounded(frame.select(*canonical, *rest), [*MONEY, "cogs"], digits)
    keep = ["order_id", "sku", "product", "category", "quantity", "unit_price", "unit_cost"]
    extra = [c for c in line_frame.columns if c not in keep]
    line_frame = _rounded(line_frame.select(*keep, *extra), ["unit_price", "unit_cost"], 4)
    return frame, line_frame, tax_included


def _rounded(frame: nw.DataFrame[Any], columns: list[str], digits: int) -> nw.DataFrame[Any]:
    """Money rounded as the step-by-step path rounds it.

    Columns already rounded (as a file's amounts usually are) are left as they are,
    which saves a copy of each.
    """
    col = nw.col
    off = frame.select(*((col(c).round(digits) != col(c)).any().alias(c) for c in columns))
    todo = [c for c, needed in zip(columns, off.row(0), strict=True) if needed]
    return frame.with_columns(*(col(c).round(digits) for c in todo)) if todo else frame


def _test_flag(o: nw.DataFrame[Any]) -> nw.Expr:
    if "test" not in o.columns:
        return nw.lit(False)
    if o.schema["test"] == nw.Boolean:
        return nw.col("test").fill_null(False)
    text = nw.col("test").str.to_lowercase()  # clean: see the profile's trim_test
    return text.is_in(TRUTHY).fill_null(False)
