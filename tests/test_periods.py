import datetime as dt

import narwhals.stable.v2 as nw
import pandas as pd
import polars as pl
import pytest

from aovlab import periods
from aovlab.errors import AovlabInputError


@pytest.mark.parametrize(
    ("text", "start", "end", "grain"),
    [
        ("2026-10", dt.date(2026, 10, 1), dt.date(2026, 11, 1), "month"),
        ("2026-12", dt.date(2026, 12, 1), dt.date(2027, 1, 1), "month"),
        ("2026Q4", dt.date(2026, 10, 1), dt.date(2027, 1, 1), "quarter"),
        ("2026-q1", dt.date(2026, 1, 1), dt.date(2026, 4, 1), "quarter"),
        ("2026", dt.date(2026, 1, 1), dt.date(2027, 1, 1), "year"),
        ("2026-10-05", dt.date(2026, 10, 5), dt.date(2026, 10, 6), "day"),
        ("2026-10-01..2026-10-15", dt.date(2026, 10, 1), dt.date(2026, 10, 16), "range"),
        ("2026-07..2026-08", dt.date(2026, 7, 1), dt.date(2026, 9, 1), "range"),
    ],
)
def test_parse_window(text, start, end, grain):
    w = periods.parse_window(text)
    assert (w.start, w.end, w.grain) == (start, end, grain)


@pytest.mark.parametrize(
    "bad", ["2026-13", "26-10", "October", "2026-10-32", "2026-10..2026-09", ""]
)
def test_parse_window_refuses(bad):
    with pytest.raises(AovlabInputError, match="expected"):
        periods.parse_window(bad)


@pytest.mark.parametrize(
    ("text", "previous"),
    [("2026-01", "2025-12"), ("2026Q1", "2025Q4"), ("2026", "2025"), ("2026-10-05", "2026-10-04")],
)
def test_previous(text, previous):
    assert periods.parse_window(text).previous().label == previous


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
def test_labels_use_local_calendar(native):
    tz = "Europe/Stockholm"
    # 23:30 UTC on 31 Oct is 00:30 on 1 Nov in Stockholm: the local month is November.
    utc = dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)
    frame = nw.from_native(native({"t": [utc]})).with_columns(nw.col("t").dt.convert_time_zone(tz))
    row = frame.select(
        d=periods.label("t", "day"),
        w=periods.label("t", "week"),
        m=periods.label("t", "month"),
        q=periods.label("t", "quarter"),
        y=periods.label("t", "year"),
    ).row(0)
    assert row == ("2026-11-01", "2026-W44", "2026-11", "2026Q4", "2026")


def test_within_is_half_open():
    tz = "Europe/Stockholm"
    from zoneinfo import ZoneInfo

    z = ZoneInfo(tz)
    times = [
        dt.datetime(2026, 9, 30, 23, 59, tzinfo=z),
        dt.datetime(2026, 10, 1, 0, 0, tzinfo=z),
        dt.datetime(2026, 10, 31, 23, 59, tzinfo=z),
        dt.datetime(2026, 11, 1, 0, 0, tzinfo=z),
    ]
    frame = nw.from_native(pl.DataFrame({"t": times}))
    kept = frame.filter(periods.within("t", periods.parse_window("2026-10"), tz))
    assert kept["t"].to_list() == times[1:3]
