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
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import narwhals.stable.v2 as nw

from aovlab import display
from aovlab.display import Formats, cell

__all__ = ["Formats", "Result", "Section", "Unavailable", "attempt", "cell"]


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
        return display.rounded_rows(self.table, self.formats)

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


@dataclass(repr=False)
class Unavailable(Result):
    """An analysis that the data cannot answer, and why (a notebook shows it and goes on).

    A client's export may lack what one part of a notebook needs (order lines for an
    elasticity, a variant column for a price test). The notebook and the report then
    show the reason in that part's place instead of stopping.
    """

    what: str = ""
    reason: str = ""

    def _headline(self) -> str:
        return f"{self.what}: not available. {self.reason}"

    def chart(self, *args: Any, **kwargs: Any) -> Any:
        """A chart that says why there is nothing to draw (whichever chart was asked for)."""
        from aovlab import charts

        return charts.message(f"{self.what}: not available")

    def sections(self) -> list[Section]:
        """Nothing to show under the headline."""
        return []

    def rows(self) -> list[dict[str, Any]]:
        """No rows."""
        return []

    def to_dict(self) -> dict[str, Any]:
        """The headline, and ``available`` false with the reason."""
        return {"headline": self.headline, "available": False, "reason": self.reason}

    def __repr__(self) -> str:
        return f"Unavailable({self.headline!r})"


def attempt(what: str, analysis: Any, *args: Any, **kwargs: Any) -> Any:
    """``analysis(*args, **kwargs)``, or :class:`Unavailable` saying why the data cannot answer.

    ``what`` names the analysis for a person ("Price elasticity"). Only
    :class:`~aovlab.errors.AovlabInputError` (what the data lacks, a parameter it cannot
    meet) becomes :class:`Unavailable`; a bug still raises.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> res = attempt("AOV by segment", aovlab.segments.breakdown, shop, "no_such_column")
    >>> print(res.headline)
    AOV by segment: not available. orders, column 'no_such_column': cannot split orders by
    'no_such_column'; expected: an order dimension: channel, ...; found: no such column
    """
    from aovlab.errors import AovlabInputError

    try:
        return analysis(*args, **kwargs)
    except AovlabInputError as exc:
        reason = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        reason = re.sub(r"(expected|found):\s+", r"\1: ", reason)
        return Unavailable(table=None, what=what, reason=reason)
