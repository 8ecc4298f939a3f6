"""Calendar periods in the shop's time zone: labels for grouping and windows for filtering.

A *period* is a grain (``day``, ``week``, ``month``, ``quarter``, ``year``) used to group
orders; a *window* is a stretch of calendar time written the way people say it:
``2026-10`` (a month), ``2026Q3`` (a quarter), ``2026`` (a year), ``2026-10-01`` (a day),
``2026-10-01..2026-10-15`` or ``2026-07..2026-08`` (inclusive ranges).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import narwhals.stable.v2 as nw

from aovlab.errors import AovlabInputError

PERIODS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")

_FORMATS = {"day": "%Y-%m-%d", "week": "%G-W%V", "month": "%Y-%m", "year": "%Y"}


def label(column: str, period: str) -> nw.Expr:
    """Return an expression labelling a datetime column by calendar period.

    Labels sort in time order: ``2026-10-03``, ``2026-W40``, ``2026-10``, ``2026Q4``,
    ``2026``. Weeks are ISO weeks (Monday first). The column's own time zone is used,
    so a tz-aware ``ordered_at`` is labelled in the shop's local calendar.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"t": [dt.datetime(2026, 10, 3, 12)]})
    >>> nw.from_native(df).select(
    ...     m=label("t", "month"), q=label("t", "quarter"), w=label("t", "week")
    ... ).row(0)
    ('2026-10', '2026Q4', '2026-W40')
    """
    if period not in PERIODS:
        raise AovlabInputError(
            "unknown period",
            expected=f"one of {', '.join(PERIODS)}",
            found=repr(period),
        )
    col = nw.col(column)
    if period == "quarter":
        quarter = ((col.dt.month() - 1) // 3 + 1).cast(nw.String())
        return nw.concat_str([col.dt.to_string("%Y"), nw.lit("Q"), quarter])
    return col.dt.to_string(_FORMATS[period])


@dataclass(frozen=True)
class Window:
    """A stretch of calendar days ``[start, end)`` with the label it was written as."""

    start: dt.date
    end: dt.date
    label: str
    grain: str

    @property
    def days(self) -> int:
        """Length in days."""
        return (self.end - self.start).days

    def bounds(self, timezone: str) -> tuple[dt.datetime, dt.datetime]:
        """Start and end as tz-aware datetimes at local midnight in ``timezone``."""
        tz = ZoneInfo(timezone)
        return (
            dt.datetime.combine(self.start, dt.time(), tzinfo=tz),
            dt.datetime.combine(self.end, dt.time(), tzinfo=tz),
        )

    def previous(self) -> Window:
        """The window just before this one, of the same grain and length.

        Examples
        --------
        >>> parse_window("2026-03").previous().label
        '2026-02'
        >>> parse_window("2026Q1").previous().label
        '2025Q4'
        >>> parse_window("2026-10-01..2026-10-15").previous().label
        '2026-09-16..2026-09-30'
        """
        if self.grain == "month":
            y, m = self.start.year, self.start.month - 1
            if m == 0:
                y, m = y - 1, 12
            return parse_window(f"{y:04d}-{m:02d}")
        if self.grain == "quarter":
            q = (self.start.month - 1) // 3
            y = self.start.year - (q == 0)
            return parse_window(f"{y:04d}Q{(q - 1) % 4 + 1}")
        if self.grain == "year":
            return parse_window(f"{self.start.year - 1:04d}")
        start = self.start - dt.timedelta(days=self.days)
        last = self.start - dt.timedelta(days=1)
        text = start.isoformat() if self.days == 1 else f"{start}..{last}"
        return parse_window(text)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_window(text: str) -> Window:
    """Parse ``2026-10``, ``2026Q3``, ``2026``, ``2026-10-01`` or an inclusive ``a..b`` range.

    Examples
    --------
    >>> w = parse_window("2026-10")
    >>> (w.start.isoformat(), w.end.isoformat(), w.days)
    ('2026-10-01', '2026-11-01', 31)
    >>> parse_window("2026-07..2026-08").days
    62
    >>> parse_window("2026-13")
    Traceback (most recent call last):
    ...
    aovlab.errors.AovlabInputError: the period '2026-13' is not a calendar period
      expected: a month (2026-10), quarter (2026Q3), year (2026), day (2026-10-01) or a range a..b
      found:    '2026-13'
    """
    raw = str(text).strip()
    try:
        if ".." in raw:
            left, right = (part.strip() for part in raw.split("..", 1))
            a, b = parse_window(left), parse_window(right)
            if b.end <= a.start:
                raise AovlabInputError(
                    f"the range '{raw}' ends before it starts",
                    expected="a..b with a before b",
                    found=raw,
                )
            return Window(a.start, b.end, f"{left}..{right}", "range")
        if m := _MONTH.match(raw):
            y, mo = int(m[1]), int(m[2])
            start = dt.date(y, mo, 1)
            end = dt.date(y + (mo == 12), mo % 12 + 1, 1)
            return Window(start, end, raw, "month")
        if m := _QUARTER.match(raw):
            y, q = int(m[1]), int(m[2])
            start = dt.date(y, 3 * q - 2, 1)
            end = dt.date(y + (q == 4), (3 * q) % 12 + 1, 1)
            return Window(start, end, f"{y}Q{q}", "quarter")
        if m := _YEAR.match(raw):
            y = int(m[1])
            return Window(dt.date(y, 1, 1), dt.date(y + 1, 1, 1), raw, "year")
        if m := _DAY.match(raw):
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            return Window(day, day + dt.timedelta(days=1), raw, "day")
    except ValueError as exc:
        if isinstance(exc, AovlabInputError):
            raise
    raise AovlabInputError(
        f"the period '{raw}' is not a calendar period",
        expected="a month (2026-10), quarter (2026Q3), year (2026), day (2026-10-01) or a range a..b",
        found=repr(raw),
    )


def within(column: str, window: Window, timezone: str) -> nw.Expr:
    """Return a filter expression: ``column`` (tz-aware) falls inside ``window``.

    The bounds are local midnights in ``timezone``, as tz-aware datetime literals, which
    every engine compares with its own timestamps (DuckDB and Spark have no
    ``dt.timestamp`` in narwhals; in polars the literal costs about 0.6 ms a query).
    The column is seen in ``timezone`` first: polars compares only datetimes of one
    zone (for it, a change of zone is metadata), and an engine's session is already in
    the shop's.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"t": [dt.datetime(2026, 9, 30, 22, 30), dt.datetime(2026, 10, 31, 23)]})
    >>> df = df.with_columns(pl.col("t").dt.replace_time_zone("UTC"))
    >>> w = parse_window("2026-10")
    >>> nw.from_native(df).select(within("t", w, "Europe/Stockholm")).to_native()["t"].to_list()
    [True, False]
    """
    start, end = window.bounds(timezone)
    col = nw.col(column).dt.convert_time_zone(timezone)
    return (col >= nw.lit(start)) & (col < nw.lit(end))


def day_number(expr: nw.Expr) -> nw.Expr:
    """Days since 1970-01-01 of a datetime's (or date's) calendar day, as an integer.

    The day is the column's own: a tz-aware datetime's local date. Computed from its
    year and day of the year with integer arithmetic only, which every engine has (SQL
    engines have no microseconds-since-epoch in narwhals, and subtract dates as
    integers where polars makes a duration).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"d": [dt.date(1970, 1, 1), dt.date(2000, 3, 1), dt.date(2026, 10, 31)]})
    >>> nw.from_native(df).select(day_number(nw.col("d"))).to_native()["d"].to_list()
    [0, 11017, 20757]
    >>> [(d - dt.date(1970, 1, 1)).days for d in df["d"]]
    [0, 11017, 20757]
    """
    year = expr.dt.year().cast(nw.Int64())
    before = year - 1
    # Days of the years 1970 .. year-1: 365 each plus the leap days (Gregorian rules).
    leap = before // 4 - before // 100 + before // 400 - 477  # 477 leap days before 1970
    return (year - 1970) * 365 + leap + expr.dt.ordinal_day().cast(nw.Int64()) - 1


def epoch_us(moment: dt.datetime) -> int:
    """Microseconds since 1970-01-01 UTC of a tz-aware datetime, exactly.

    >>> epoch_us(dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.timezone.utc))
    1000000
    """
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def with_previous(text: str) -> str:
    """A window together with the one before it, as a range.

    >>> with_previous("2026-08")
    '2026-07..2026-08'
    """
    window = parse_window(text)
    return f"{window.previous().label}..{window.label}"


def trailing(text: str | Window, count: int = 13) -> str:
    """The ``count`` calendar months up to and including the month ``text`` ends in.

    A trend for a month, a quarter or a date range: it always ends with the month that
    holds the window's last day.

    >>> trailing("2026-08")
    '2025-08..2026-08'
    >>> trailing("2026Q3", 3), trailing("2026-10-01..2026-10-15", 2)
    ('2026-07..2026-09', '2026-09..2026-10')
    """
    if count < 1:
        raise AovlabInputError("count is out of range", expected="count >= 1", found=repr(count))
    window = text if isinstance(text, Window) else parse_window(text)
    last_day = window.end - dt.timedelta(days=1)
    end = parse_window(f"{last_day:%Y-%m}")
    start = end
    for _ in range(count - 1):
        start = start.previous()
    return f"{start.label}..{end.label}"
