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
