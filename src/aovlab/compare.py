"""The comparison core: two periods, their orders, and per-period sums in the engine.

An analysis that compares a current period with a baseline (drivers, segments, pricing,
loyalty) builds on these pieces:

- :func:`comparison` parses the two windows (the baseline defaults to the period of
  the same length just before) and refuses overlapping ones;
- :func:`labelled` gives the counted orders of both windows, lazily, with
  ``__current`` telling them apart and an optional dimension attached;
- :func:`period_sums` aggregates any sums by period and key in the engine and hands
  back the few aggregates as numpy arrays, baseline and current side by side;
- :func:`require_orders` turns an empty period into a clear error naming the data's
  date range;
- :func:`small_frame` builds a result table in the caller's backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np

from aovlab import dimensions, metrics, periods
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collected


@dataclass(frozen=True)
class Periods:
    """The baseline and current windows of a comparison."""

    baseline: periods.Window
    current: periods.Window


def comparison(current: str | periods.Window, baseline: str | periods.Window | None) -> Periods:
    """The baseline and current windows; the baseline defaults to the period just before.

    >>> p = comparison("2026-08", None)
    >>> p.baseline.label, p.current.label
    ('2026-07', '2026-08')
    """
    cur = current if isinstance(current, periods.Window) else periods.parse_window(current)
    base = (
        cur.previous()
        if baseline is None
        else baseline
        if isinstance(baseline, periods.Window)
        else periods.parse_window(baseline)
    )
    if base.start < cur.end and cur.start < base.end:
        raise AovlabInputError(
            "the baseline and current periods overlap",
            expected="two separate periods (the baseline defaults to the one before current)",
            found=f"baseline {base.label} ({base.start}..{base.end}), current {cur.label} "
            f"({cur.start}..{cur.end})",
        )
    return Periods(base, cur)


def labelled(shop: ShopData, p: Periods, *, basis: str, by: str | None = None) -> Any:
    """Counted orders of both windows (lazy), ``__current`` true in the current one.

    With ``by``, the dimension is attached as ``__segment``.
    """
    own = [by] if by in shop.dimensions else []
    frame = metrics.order_table(shop, basis=basis, when=[p.baseline, p.current], by=own, lazy=True)
    # The rows are inside one of two separate windows: one bound tells them apart.
    at = nw.col("ordered_at").dt.convert_time_zone(shop.timezone)
    if p.current.start > p.baseline.start:
        is_current = at >= nw.lit(p.current.bounds(shop.timezone)[0])
    else:
        is_current = at < nw.lit(p.baseline.bounds(shop.timezone)[0])
    frame = frame.with_columns(is_current.alias("__current"))
    return dimensions.attach(shop, frame, by, alias="__segment") if by else frame


Sides = tuple[np.ndarray, np.ndarray]


def period_sums(
    frame: Any, key: str | None, sums: dict[str, nw.Expr]
) -> tuple[np.ndarray, dict[str, Sides]]:
    """Aggregate rows labelled ``__current`` by period and ``key`` in the engine.

    Returns the keys (sorted) and, for each of ``sums``, its baseline and current values
    per key as numpy arrays (0 where a key has no rows in a period). What follows in
    the analyses works on these few aggregate values.
    """
    if key is None:
        key = "__all"
        frame = frame.with_columns(nw.lit("all").alias(key))
    grouped = frame.group_by("__current", key).agg(*(e.alias(n) for n, e in sums.items()))
    if isinstance(grouped, nw.LazyFrame):
        grouped = grouped.pipe(collected)
    current = grouped["__current"].to_numpy().astype(int)
    keys, where = np.unique(grouped[key].to_numpy().astype(str), return_inverse=True)
    out: dict[str, Sides] = {}
    for name in sums:
        values = np.nan_to_num(grouped[name].to_numpy().astype(float), nan=0.0)
        sides = np.zeros((2, len(keys)))
        np.add.at(sides, (current, where), values)
        out[name] = (sides[0], sides[1])
    return keys, out


def require_orders(shop: ShopData, p: Periods, orders: Sides) -> tuple[float, float]:
    """The two periods' order counts; a clear error when either has none."""
    n0, n1 = float(orders[0].sum()), float(orders[1].sum())
    for n, which, window in ((n1, "current", p.current), (n0, "baseline", p.baseline)):
        if not n:
            first, last = (
                shop.scan()
                .select(nw.col("ordered_at").min().alias("a"), nw.col("ordered_at").max())
                .pipe(collected)
                .row(0)
            )
            raise AovlabInputError(
                f"no counted orders in the {which} period {window.label}",
                table="orders",
                expected=f"orders in {window.label} that are not cancelled or tests",
                found=f"none; the data runs from {first:%Y-%m-%d} to {last:%Y-%m-%d}",
            )
    return n0, n1


def small_frame(columns: dict[str, Any], backend: Any) -> nw.DataFrame[Any]:
    """A small result frame from lists and numpy arrays; NaN in a float array becomes null."""
    data: dict[str, Any] = {}
    empty: list[str] = []
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype.kind == "f":
            values = [None if math.isnan(v) else v for v in values.tolist()]
            empty += [name] if all(v is None for v in values) else []
        data[name] = values
    frame = nw.from_dict(data, backend=backend)
    return frame.with_columns(nw.col(*empty).cast(nw.Float64())) if empty else frame


def namespace(shop: ShopData) -> Any:
    """The library of result tables: pandas for a pandas shop, else polars.

    A DuckDB or Spark shop's results are polars frames, as their aggregates come back
    (:func:`aovlab.model.collected`). Nothing is read.
    """
    if shop.backend == "pandas":
        import pandas

        return pandas
    import polars

    return polars


def counted_span(shop: ShopData) -> tuple[Any, Any]:
    """The first and last counted order's time (None, None without any): one aggregation."""
    from aovlab.model import is_counted

    first, last = (
        shop.scan()
        .filter(is_counted())
        .select(nw.col("ordered_at").min().alias("a"), nw.col("ordered_at").max().alias("b"))
        .pipe(collected)
        .row(0)
    )
    return first, last


def no_counted_orders(label: str, first: Any, last: Any) -> AovlabInputError:
    """The error for a window without counted orders, naming the data's own span.

    ``first`` and ``last`` are the first and last counted order's time
    (:func:`counted_span`), None when there is none at all.

    >>> import datetime as dt
    >>> print(no_counted_orders("2030-01", dt.datetime(2024, 11, 1), dt.datetime(2026, 10, 31)))
    orders: no counted orders in 2030-01
      expected: orders in 2030-01 that are not cancelled or tests
      found:    none; the data runs from 2024-11-01 to 2026-10-31
    """
    return AovlabInputError(
        f"no counted orders in {label}",
        table="orders",
        expected=f"orders in {label} that are not cancelled or tests",
        found=f"none; the data runs from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
        if first is not None
        else "no counted orders at all",
    )


def last_year(shop: ShopData) -> str:
    """The 12 calendar months ending with the last counted order's month (``a..b``).

    The default window of the analyses that describe the shop as it is now; a clear
    error when the shop has no counted order.
    """
    last = counted_span(shop)[1]
    if last is None:
        raise AovlabInputError(
            "no counted orders",
            table="orders",
            expected="orders that are not cancelled or tests",
            found="none",
        )
    return periods.trailing(f"{last:%Y-%m}", 12)


def window(shop: ShopData, when: str | periods.Window | None) -> periods.Window:
    """The window asked for; by default the 12 months to the last counted order."""
    if isinstance(when, periods.Window):
        return when
    return periods.parse_window(last_year(shop) if when is None else when)
