"""The one error type for bad input, and the notes a load leaves behind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


class AovlabInputError(ValueError):
    """Input that aovlab cannot read or trust.

    The message names where the problem is (file, table, column, rows), what was
    expected and what was found, and the columns that were present, so that a
    consultant can fix the export without reading code.

    Examples
    --------
    >>> err = AovlabInputError(
    ...     "is missing",
    ...     table="orders",
    ...     column="order_id",
    ...     expected="a column named order_id",
    ...     found="no such column",
    ...     present=["id", "date"],
    ... )
    >>> print(err)
    orders, column 'order_id': is missing
      expected: a column named order_id
      found:    no such column
      columns present: id, date
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        table: str | None = None,
        column: str | None = None,
        rows: Sequence[int] | None = None,
        expected: str | None = None,
        found: str | None = None,
        present: Iterable[str] | None = None,
        hint: str | None = None,
        row_label: str = "row",
    ) -> None:
        self.problem = problem
        self.source = source
        self.table = table
        self.column = column
        self.rows = list(rows) if rows is not None else None
        self.expected = expected
        self.found = found
        self.present = list(present) if present is not None else None
        self.hint = hint
        self.row_label = row_label
        super().__init__(self._format())

    def where(self) -> str:
        """Where the problem is, as a short phrase ("orders.csv (orders), column 'x', rows 3, 9")."""
        parts = []
        if self.source and self.table:
            parts.append(f"{self.source} ({self.table})")
        elif self.source or self.table:
            parts.append(str(self.source or self.table))
        if self.column:
            parts.append(f"column '{self.column}'")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" and {len(self.rows) - 5} more" if len(self.rows) > 5 else ""
            parts.append(f"{self.row_label}{'s' if len(self.rows) > 1 else ''} {shown}{more}")
        return ", ".join(parts)

    def with_source(
        self,
        source: str,
        *,
        column: str | None = None,
        row_label: str | None = None,
    ) -> AovlabInputError:
        """The same error naming the file it came from (and the file's own column name)."""
        return AovlabInputError(
            self.problem,
            source=source,
            table=self.table,
            column=column or self.column,
            rows=self.rows,
            expected=self.expected,
            found=self.found,
            present=self.present,
            hint=self.hint,
            row_label=row_label or self.row_label,
        )

    def _format(self) -> str:
        # An error quotes what it found in the file; never a person's email or phone.
        from aovlab.privacy import redact

        where = self.where()
        lines = [f"{where}: {self.problem}" if where else self.problem]
        if self.expected is not None:
            lines.append(f"  expected: {self.expected}")
        if self.found is not None:
            lines.append(f"  found:    {redact(self.found)}")
        if self.present is not None:
            shown = ", ".join(redact(c) for c in self.present) or "(none)"
            lines.append(f"  columns present: {shown}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Note:
    """Something a load noticed and reported instead of silently fixing.

    ``level`` is ``"warning"`` (numbers may be affected: read it) or ``"info"``.
    """

    level: str
    table: str
    message: str
    examples: tuple[str, ...] = field(default_factory=tuple)
    count: int = 0

    def __str__(self) -> str:
        text = f"[{self.level}] {self.table}: {self.message}"
        if self.examples:
            text += f" (e.g. {', '.join(self.examples)})"
        return text
