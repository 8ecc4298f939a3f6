"""The result every analysis returns: a table, a headline computed from it, a chart, JSON.

An analysis is a pure function of a :class:`~aovlab.model.ShopData` and parameters that
returns a subclass of :class:`Result`:

- ``table``: a tidy frame in the input's backend, with machine column names for code;
- ``headline``: one or two sentences *computed from the numbers* by the result itself
  (subclasses implement ``_headline``; nothing assigns it afterwards);
- ``chart()``: an ``alt.Chart`` built from the result's aggregates, never recomputing;
- ``to_dict()``: plain, rounded values for JSON;
- ``sections()``: what a person sees under the headline, as declared tables; the
  notebook display (``_repr_html_``) is built from them by :mod:`aovlab.display`, with
  human labels and formatted cells, so no result writes its own HTML.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import narwhals.stable.v2 as nw

from aovlab import display
from aovlab.display import Formats, cell

__all__ = ["Formats", "Result", "Section", "cell"]


@dataclass(frozen=True)
class Section:
    """A table shown under a result's headline, with an optional title and note."""

    table: Any
    formats: Formats
    title: str | None = None
    note: str | None = None


@dataclass(repr=False)
class Result:
    """Base of every analysis result: ``table``, ``headline``, ``chart()``, ``to_dict()``."""

    table: Any
    currency: str | None = None

    #: How each column of ``table`` is shown (see :mod:`aovlab.display`).
    formats: ClassVar[Formats] = {}

    @cached_property
    def headline(self) -> str:
        """One or two sentences computed from the result's numbers."""
        return self._headline()

    def _headline(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def chart(self) -> Any:  # pragma: no cover - every subclass defines it
        """The result's chart (an ``alt.Chart`` built from its aggregates only)."""
        raise NotImplementedError

    def context(self) -> dict[str, str]:
        """Words that fill the column labels (the periods a result compares)."""
        return {}

    def sections(self) -> list[Section]:
        """The tables a person sees under the headline (default: ``table``)."""
        return [Section(self.table, self.formats)]

    def rows(self) -> list[dict[str, Any]]:
        """``table`` as plain dicts, figures rounded for display and JSON."""
        frame = nw.from_native(self.table, eager_only=True)
        return [display.rounded(row, self.formats) for row in frame.iter_rows(named=True)]

    def to_dict(self) -> dict[str, Any]:
        """Plain values: the headline, the currency and the table's rows."""
        return {"headline": self.headline, "currency": self.currency, "rows": self.rows()}

    def _repr_html_(self) -> str:
        parts = [
            f"<div class='aovlab-result'><p><strong>{display.prose(self.headline)}</strong></p>"
        ]
        context = self.context()
        for section in self.sections():
            if section.title:
                parts.append(f"<p>{html.escape(section.title)}</p>")
            if section.note:
                parts.append(f"<p>{display.prose(section.note)}</p>")
            parts.append(
                display.table_html(section.table, section.formats, self.currency, context=context)
            )
        return "".join(parts) + "</div>"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.headline!r}, {len(nw.from_native(self.table))} rows)"
