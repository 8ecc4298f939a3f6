"""The load's one-pass fast path gives what the step-by-step validation gives, or steps aside.

Whatever the tables, a load with the fast path and one without must return identical
tables and notes, or raise the same error: the fast path may only decline.
"""

from __future__ import annotations

import datetime as dt

import narwhals.stable.v2 as nw
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import aovlab
from aovlab import AovlabInputError, onepass
from aovlab.io import shopify
from aovlab.io.canonical import read_table
from aovlab.io.parse import read_text as read_text_file
from aovlab.model import ShopData, _Reading, offset_datetimes

SAMPLE = aovlab.sample.DATA_DIR


def both_ways(monkeypatch, orders, lines, **options):
    """(fast result or error text, step-by-step result or error text)."""
    out = []
    for enabled in (True, False):
        monkeypatch.setattr(onepass, "ENABLED", enabled)
        try:
            out.append(ShopData.from_frames(orders.clone(), lines.clone(), **options))
        except AovlabInputError as err:
            out.append(str(err))
    return out


def assert_same(fast, slow):
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
        return
    assert fast.notes == slow.notes
    assert fast.currency == slow.currency and fast.tax_included == slow.tax_included
    assert_frame_equal(fast.orders, slow.orders)
    assert_frame_equal(fast.lines, slow.lines)


def sample_frames():
    return read_table(SAMPLE / "orders.csv", "orders"), read_table(SAMPLE / "lines.csv", "lines")


def test_the_sample_shop_takes_the_fast_path_and_both_paths_agree(monkeypatch):
    orders, lines = sample_frames()
    ctx = _Reading(tz="Europe/Stockholm", notes=[])
    assert onepass.orders_and_lines(orders, lines, "EUR", ctx) is not None
    fast, slow = both_ways(monkeypatch, orders, lines, currency="EUR", timezone="Europe/Stockholm")
    assert_same(fast, slow)
    # The dimensions and product names are categoricals; analyses read them as text.
    assert fast.orders.schema["channel"] == pl.Categorical
    assert fast.lines.schema["product"] == pl.Categorical
    assert fast.scan().collect_schema()["channel"] == nw.String


ORDERS = pl.DataFrame(
    {
        "order_id": ["101", "102", "103", "104", "105", "106"],
        "customer_id": ["c1", None, "c2", "c1", "c3", None],
        "ordered_at": [f"2026-10-0{d}T10:00:00+02:00" for d in range(1, 7)],
        "merchandise": [50.0, 20.0, 35.5, 12.0, 80.0, 9.9],
        "discount": [5.0, 0.0, 0.0, 0.0, 10.0, 0.0],
        "shipping": [4.9, 4.9, 0.0, 4.9, 0.0, 4.9],
        "tax": [12.48, 6.23, 8.88, 4.23, 17.5, 3.7],
        "total": [62.38, 31.13, 44.38, 21.13, 87.5, 18.5],
        "status": ["paid", "paid", "refunded", "cancelled", "paid", None],
        "channel": ["web", "app", "web", "web", "app", "web"],
    }
)
LINES = pl.DataFrame(
    {
        "order_id": ["101", "101", "102", "103", "104", "105", "106"],
        "sku": ["A", "B", "A", "C", "B", "C", "D"],
        "product": ["Alpha", "Beta", "Alpha", "Gamma", "Beta", "Gamma", "Delta"],
        "category": ["x", "y", "x", "y", "y", "y", None],
        "quantity": [1.0, 2.0, 1.0, 1.0, 1.0, 2.0, 1.0],
        "unit_price": [30.0, 10.0, 20.0, 35.5, 12.0, 40.0, 9.9],
        "unit_cost": [12.0, 4.0, 8.0, 14.0, 5.0, 16.0, 4.0],
    }
)


def _set(frame, column, row, value):
    values = frame[column].to_list()
    values[row] = value
    return frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))


def _local(frame, second_order_at):
    """Local times (no offset), the second order's at ``second_order_at``."""
    local = frame.with_columns(pl.col("ordered_at").str.slice(0, 19))
    return _set(local, "ordered_at", 1, second_order_at)


# Each change makes the shop unusual in one way the loader has a rule for.
CHANGES = {
    "nothing": lambda o, ln: (o, ln),
    "tax included": lambda o, ln: (o.with_columns(pl.col("total") - pl.col("tax")), ln),
    "local dates": lambda o, ln: (o.with_columns(pl.col("ordered_at").str.slice(0, 19)), ln),
    "space-separated dates": lambda o, ln: (
        o.with_columns(pl.col("ordered_at").str.replace("T", " ")),
        ln,
    ),
    "text ids": lambda o, ln: (
        o.with_columns("A-" + pl.col("order_id")),
        ln.with_columns("A-" + pl.col("order_id")),
    ),
    "leading-zero ids": lambda o, ln: (
        o.with_columns("0" + pl.col("order_id")),
        ln.with_columns("0" + pl.col("order_id")),
    ),
    "no total": lambda o, ln: (o.drop("total"), ln),
    "no status": lambda o, ln: (o.drop("status"), ln),
    "no customers": lambda o, ln: (o.drop("customer_id"), ln),
    "test flags": lambda o, ln: (
        o.with_columns(pl.Series("test", ["no", "yes", None, "0", "1", "FALSE"])),
        ln,
    ),
    "test flags with other whitespace": lambda o, ln: (
        o.with_columns(pl.Series("test", ["no", "yes\r", None, "\u00a00", "1", "\r"])),
        ln,
    ),
    "test flags with spaces": lambda o, ln: (
        o.with_columns(pl.Series("test", ["no", " yes", "", "0 ", "1", "f"])),
        ln,
    ),
    "no unit costs": lambda o, ln: (o, ln.drop("unit_cost")),
    "no product names": lambda o, ln: (o, ln.drop("product", "category")),
    "a cost missing": lambda o, ln: (o, _set(ln, "unit_cost", 2, None)),
    "zero-value order": lambda o, ln: (
        _set(o, "merchandise", 5, 0.0),
        _set(ln, "unit_price", 6, 0.0),
    ),
    "an order without lines": lambda o, ln: (o, ln.filter(pl.col("order_id") != "103")),
    "a line of no order": lambda o, ln: (o, _set(ln, "order_id", 6, "999")),
    "merchandise off its lines": lambda o, ln: (_set(o, "merchandise", 0, 51.0), ln),
    "total off its parts": lambda o, ln: (_set(o, "total", 1, 99.0), ln),
    "discount above merchandise": lambda o, ln: (_set(o, "discount", 3, 20.0), ln),
    "future order": lambda o, ln: (_set(o, "ordered_at", 2, "2099-01-01T10:00:00+01:00"), ln),
    "repeated id": lambda o, ln: (_set(o, "order_id", 1, "101"), ln),
    "empty id": lambda o, ln: (_set(o, "order_id", 1, None), ln),
    "id with a space": lambda o, ln: (_set(o, "order_id", 1, " 102"), ln),
    "negative amount": lambda o, ln: (_set(o, "shipping", 1, -4.9), ln),
    "not finite": lambda o, ln: (_set(o, "tax", 1, float("inf")), ln),
    "unknown status": lambda o, ln: (_set(o, "status", 1, "Shipped"), ln),
    "mixed date forms": lambda o, ln: (_set(o, "ordered_at", 1, "2026-10-02 10:00"), ln),
    "date that does not exist": lambda o, ln: (
        _set(o, "ordered_at", 1, "2026-02-30T10:00:00+01:00"),
        ln,
    ),
    "date with a space after it": lambda o, ln: (
        _set(o, "ordered_at", 1, "2026-10-02T10:00:00+02:00 "),
        ln,
    ),
    "empty date": lambda o, ln: (_set(o, "ordered_at", 1, ""), ln),
    "offset without a colon": lambda o, ln: (
        _set(o, "ordered_at", 1, "2026-10-02T10:00:00+0200"),
        ln,
    ),
    "offset out of range": lambda o, ln: (
        _set(o, "ordered_at", 1, "2026-10-02T10:00:00+24:00"),
        ln,
    ),
    "offsets of every sign": lambda o, ln: (
        o.with_columns(
            pl.Series(
                "ordered_at",
                [
                    "2026-10-01T00:30:00-05:30",
                    "2026-10-02T23:59:59+14:00",
                    "2026-10-03T12:00:00-00:00",
                    "2026-10-04T12:00:00+00:45",
                    "2026-10-05T08:00:00-12:00",
                    "2026-10-06T08:00:00+02:00",
                ],
            )
        ),
        ln,
    ),
    "local time the clocks skip": lambda o, ln: (_local(o, "2026-03-29T02:30:00"), ln),
    "local time the clocks repeat": lambda o, ln: (_local(o, "2026-10-25T02:30:00"), ln),
    "email as customer id": lambda o, ln: (_set(o, "customer_id", 0, "anna@example.com"), ln),
    "phone in a dimension": lambda o, ln: (_set(o, "channel", 0, "+46 70 123 45 67"), ln),
    "email in a product name": lambda o, ln: (o, _set(ln, "product", 0, "Gift for bo@example.org")),
    "personal column": lambda o, ln: (o.with_columns(pl.lit("Anna").alias("first_name")), ln),
    "free-text column": lambda o, ln: (
        o.with_columns(pl.Series("note", [f"note {i}" for i in range(6)])),
        ln,
    ),
    "negative quantity": lambda o, ln: (o, _set(ln, "quantity", 0, -1.0)),
    "line without price": lambda o, ln: (o, _set(ln, "unit_price", 0, None)),
    "sku with a space": lambda o, ln: (o, _set(ln, "sku", 0, "A ")),
    "upper-case header": lambda o, ln: (o.rename({"channel": "Channel"}), ln),
    "dimension as an enum": lambda o, ln: (
        o.with_columns(pl.col("channel").cast(pl.Enum(["web", "app"]))),
        ln,
    ),
    "phone in an enum dimension": lambda o, ln: (
        _set(o, "channel", 0, "+46 70 123 45 67").with_columns(
            pl.col("channel").cast(pl.Enum(["+46 70 123 45 67", "web", "app"]))
        ),
        ln,
    ),
    "line column as an enum": lambda o, ln: (
        o,
        ln.with_columns(pl.Series("colour", list("rgrgrgr")).cast(pl.Enum(["r", "g"]))),
    ),
    "currency column": lambda o, ln: (o.with_columns(pl.lit("EUR").alias("currency")), ln),
    "currency in lower case": lambda o, ln: (o.with_columns(pl.lit(" eur").alias("currency")), ln),
    "currency other than given": lambda o, ln: (
        o.with_columns(pl.lit("SEK").alias("currency")),
        ln,
    ),
    "mixed currencies": lambda o, ln: (
        o.with_columns(pl.Series("currency", ["EUR", "SEK", "EUR", None, "EUR", ""])),
        ln,
    ),
    # A reader's rows of the file, which only error messages read.
    "file rows": lambda o, ln: (
        o.with_columns(pl.int_range(2, o.height + 2).alias("__file_row")),
        ln.with_columns(pl.int_range(2, ln.height + 2).alias("__file_row")),
    ),
    "file rows out of order": lambda o, ln: (
        o.with_columns(pl.int_range(o.height + 2, 2, -1).alias("__file_row")),
        ln.with_columns(pl.int_range(2, ln.height + 2).alias("__file_row")),
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("include_zero_value", [False, True])
def test_each_rule_gives_the_same_shop_or_error_either_way(monkeypatch, change, include_zero_value):
    orders, lines = CHANGES[change](ORDERS, LINES)
    fast, slow = both_ways(
        monkeypatch,
        orders,
        lines,
        currency="EUR",
        timezone="Europe/Stockholm",
        include_zero_value=include_zero_value,
    )
    assert_same(fast, slow)


def test_a_shopify_export_takes_the_fast_path_and_both_paths_agree(monkeypatch):
    """The reader's frames carry __file_row and a currency column; lines have no cost."""
    path = SAMPLE / "shopify_orders_export.csv"
    read = shopify.read(read_text_file(path), {}, str(path))
    orders, lines = read.tables["orders"], read.tables["lines"]
    assert {"__file_row", "currency"} <= set(orders.columns) and "unit_cost" not in lines.columns
    ctx = _Reading(tz="Europe/Stockholm", notes=[])
    assert onepass.orders_and_lines(orders, lines, None, ctx) is not None
    options = {"timezone": "Europe/Stockholm", "origins": read.origins}
    fast, slow = both_ways(monkeypatch, orders, lines, **options)
    assert_same(fast, slow)
    assert any("no unit cost" in n.message for n in fast.notes)
    loads = []
    for enabled in (True, False):
        monkeypatch.setattr(onepass, "ENABLED", enabled)
        loads.append(aovlab.load(orders=path, timezone="Europe/Stockholm"))
    assert_same(*loads)


def test_dimensions_read_as_categoricals_give_the_same_shop(monkeypatch):
    orders = ORDERS.with_columns(pl.col("channel").cast(pl.Categorical))
    lines = LINES.with_columns(pl.col("product", "category").cast(pl.Categorical))
    fast, slow = both_ways(monkeypatch, orders, lines, currency="EUR", timezone="UTC")
    assert_same(fast, slow)
    assert fast.orders.schema["channel"] == pl.Categorical


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.lists(st.sampled_from(sorted(CHANGES)), min_size=2, max_size=4, unique=True))
def test_combined_rules_give_the_same_shop_or_error_either_way(monkeypatch, changes):
    orders, lines = ORDERS, LINES
    for change in changes:
        try:
            orders, lines = CHANGES[change](orders, lines)
        except (pl.exceptions.PolarsError, IndexError, KeyError):
            return  # two changes that do not combine (one removed what the other edits)
    fast, slow = both_ways(monkeypatch, orders, lines, currency="EUR", timezone="Europe/Stockholm")
    assert_same(fast, slow)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2099, 12, 30)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
    st.sampled_from(["T", " "]),
    st.sampled_from(["UTC", "Europe/Stockholm", "America/St_Johns", "Asia/Kathmandu"]),
)
def test_offsets_read_apart_give_the_instant_polars_reads(local, minutes, sep, tz):
    sign = "-" if minutes < 0 else "+"
    text = (
        local.replace(microsecond=0).strftime(f"%Y-%m-%d{sep}%H:%M:%S")
        + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    )
    fmt = f"%Y-%m-%d{sep}%H:%M:%S%:z"
    frame = pl.DataFrame({"t": [text]})
    ours = nw.from_native(frame).select(offset_datetimes(nw.col("t"), fmt, tz))["t"].to_native()
    theirs = frame.select(
        pl.col("t").str.to_datetime(fmt, time_unit="us", time_zone="UTC").dt.convert_time_zone(tz)
    )["t"]
    assert ours.to_list() == theirs.to_list()
    assert ours.dtype == theirs.dtype
