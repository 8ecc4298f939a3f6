"""What an export reader hands to the model."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from aovlab.errors import AovlabInputError, Note


class Read(NamedTuple):
    """Canonical tables from an export, the reader's notes, and where columns came from.

    ``origins`` maps each table's canonical column names to the export's own headers, so
    an error names the column the consultant sees; the tables carry ``__file_row``, the
    row of the file each canonical row came from (as a spreadsheet numbers it: the header
    is row 1).
    """

    tables: dict[str, pl.DataFrame]
    notes: list[Note]
    origins: dict[str, dict[str, str]]


def headers(frame: pl.DataFrame) -> dict[str, str]:
    """The export's own spelling of each header, by its lower-cased, trimmed name."""
    return {c.strip().lower(): c.strip() for c in frame.columns}


def in_file(err: AovlabInputError, own: dict[str, str]) -> AovlabInputError:
    """An error from parsing an export's text, naming the export's own column."""
    return AovlabInputError(
        err.problem,
        source=err.source,
        table=err.table,
        column=own.get(err.column or "", err.column),
        rows=err.rows,
        expected=err.expected,
        found=err.found,
        present=err.present,
        hint=err.hint,
        row_label="file row",
    )


def refuse_repeated_orders(
    frame: pl.DataFrame,
    key: str,
    column: str,
    source: str,
    *,
    heads: pl.Expr | None = None,
    item: str | None = None,
) -> None:
    """Refuse an order that appears again further down a line-item export.

    An order's rows come together; with ``heads`` (the rows that carry the order's own
    fields, Shopify's first row) only one may; with ``item`` (an item id) no item twice.
    Otherwise the order would be merged and its lines counted twice. ``frame`` has
    ``__row`` (position) and ``__file_row``; the error names the rows where the order
    appears again.
    """
    if _together(frame, key, heads=heads, item=item):
        return
    ordered = frame.select(
        key,
        "__row",
        "__file_row",
        *([item] if item else []),
        (heads if heads is not None else pl.lit(False)).alias("__head"),
    ).with_columns((pl.col("__row") - pl.col("__row").shift(1).over(key)).alias("__step"))
    again = (pl.col("__step") > 1).fill_null(False)
    again = again | (pl.col("__head") & (pl.col("__head").cum_sum().over(key) > 1))
    if item:
        again = again | pl.struct(key, item).is_duplicated() & (
            pl.int_range(pl.len()).over(key, item) > 0
        )
    repeats = ordered.filter(again)
    if repeats.height:
        names = repeats[key].unique(maintain_order=True)
        raise AovlabInputError(
            "has an order that appears more than once",
            source=source,
            table="orders",
            column=column,
            rows=repeats["__file_row"].head(50).to_list(),
            expected="each order's rows together"
            + (", its order fields on its first row only" if heads is not None else "")
            + (", each item once" if item else ""),
            found=", ".join(repr(n) for n in names.head(5).to_list())
            + (f" and {names.len() - 5} more" if names.len() > 5 else "")
            + " appear again further down (their lines would be counted twice)",
            hint="export the orders again, or remove the repeated rows",
            row_label="file row",
        )


def _together(frame: pl.DataFrame, key: str, *, heads: pl.Expr | None, item: str | None) -> bool:
    """True when no order appears again: the check of a clean export in one cheap pass.

    Without windows over the orders: each order's rows are one run (rows next to each
    other, ``__row`` going up by one) when there are as many runs as orders; an order
    has one head row when no two head rows share a run; no item repeats when the
    (order, item) pairs are all distinct. False says only "look closer": the full check
    in :func:`refuse_repeated_orders` then finds the rows, or nothing.
    """
    col = pl.col(key)
    row = pl.col("__row")
    first = pl.int_range(pl.len()) == 0
    start = first | col.ne_missing(col.shift(1)) | (row != row.shift(1) + 1).fill_null(True)
    run = start.cum_sum()
    # Every order once among the rows that start a run (the key is the same within one).
    checks = [(start.sum() == col.filter(start).n_unique()).alias("runs")]
    if heads is not None:
        in_heads = run.filter(heads.fill_null(False))
        checks.append((in_heads != in_heads.shift(1)).fill_null(True).all().alias("heads"))
    if item:
        checks.append((pl.struct(key, item).n_unique() == pl.len()).alias("items"))
    return all(frame.select(checks).row(0))
