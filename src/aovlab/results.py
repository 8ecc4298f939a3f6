"""The small result objects analyses return: a table, a headline and a chart."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import narwhals.stable.v2 as nw

from aovlab import fmt

#: How a column is shown: money, share (a fraction shown as %), count, number, text.
Formats = dict[str, str]


def cell(value: Any, kind: str, currency: str | None) -> str:
    """One value formatted for display by its kind."""
    if kind == "money":
        return fmt.money(value, currency)
    if kind == "share":
        return fmt.pct(value)
    if kind == "count":
        return fmt.count(value)
    if kind == "number":
        return fmt.number(value)
    return "" if value is None else str(value)


def table_html(table: Any, formats: Formats, currency: str | None, *, max_rows: int = 60) -> str:
    """An escaped HTML table of a small aggregate frame (client text is never trusted)."""
    frame = nw.from_native(table, eager_only=True)
    columns = frame.columns
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in frame.head(max_rows).iter_rows(named=True):
        tds = []
        for c in columns:
            kind = formats.get(c, "text")
            align = "left" if kind == "text" else "right"
            text = html.escape(cell(row[c], kind, currency))
            tds.append(f"<td style='text-align:{align}'>{text}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    more = (
        f"<p><em>{len(frame) - max_rows:,} more rows not shown</em></p>"
        if len(frame) > max_rows
        else ""
    )
    return (
        "<table class='aovlab-table'><thead><tr>"
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
        + more
    )


@dataclass
class Result:
    """Base of every analysis result: ``table`` (native frame), ``headline`` and ``chart()``."""

    table: Any
    headline: str
    currency: str | None = None
    formats: Formats = field(default_factory=dict)

    def chart(self) -> Any:  # pragma: no cover - every subclass defines it
        """The result's chart (an ``alt.Chart`` built from ``table`` only)."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return (
            f"<div class='aovlab-result'><p><strong>{html.escape(self.headline)}</strong></p>"
            + table_html(self.table, self.formats, self.currency)
            + "</div>"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.headline!r}, {len(nw.from_native(self.table))} rows)"
