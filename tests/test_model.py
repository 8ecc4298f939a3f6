import datetime as dt

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aovlab
from aovlab import ShopData
from aovlab.errors import AovlabInputError


def orders_frame(native=pl.DataFrame, **overrides):
    data = {
        "order_id": ["A1", "A2", "A3"],
        "ordered_at": ["2026-10-01 10:00:00", "2026-10-02 11:00:00", "2026-10-03 12:00:00"],
        "merchandise": [100.0, 50.0, 20.0],
        "discount": [10.0, 0.0, 0.0],
        "shipping": [0.0, 5.0, 5.0],
        "tax": [22.5, 13.75, 6.25],
        "total": [112.5, 68.75, 31.25],
    }
    data.update(overrides)
    return native(data)


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
def test_three_column_spreadsheet_is_a_shop(native):
    frame = native(
        {"order_id": [1, 2], "ordered_at": ["2026-10-01", "2026-10-02"], "total": [10.0, 30.0]}
    )
    shop = ShopData.from_frames(frame, currency="EUR")
    assert shop.backend == ("polars" if native is pl.DataFrame else "pandas")
    row = aovlab.metrics.kpis(shop).rows()[0]
    assert (row["orders"], row["revenue"], row["aov"]) == (2, 40.0, 20.0)
    assert row["upt"] is None and row["margin_per_order"] is None


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
def test_caller_frames_are_never_mutated(native):
    orders = orders_frame(native)
    lines = native({"order_id": ["A1"], "sku": ["X"], "quantity": [2], "unit_price": [50.0]})
    before_o, before_l = (
        orders.clone() if native is pl.DataFrame else orders.copy(),
        (lines.clone() if native is pl.DataFrame else lines.copy()),
    )
    ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Berlin")
    if native is pl.DataFrame:
        assert orders.equals(before_o) and lines.equals(before_l)
    else:
        pd.testing.assert_frame_equal(orders, before_o)
        pd.testing.assert_frame_equal(lines, before_l)


def test_missing_required_column_lists_what_was_present():
    with pytest.raises(AovlabInputError) as info:
        ShopData.from_frames(
            pl.DataFrame({"id": ["1"], "ordered_at": ["2026-10-01"], "total": [1.0]})
        )
    text = str(info.value)
    assert "order_id" in text and "columns present: id, ordered_at, total" in text


def test_no_revenue_column():
    with pytest.raises(AovlabInputError, match="no revenue column"):
        ShopData.from_frames(pl.DataFrame({"order_id": ["1"], "ordered_at": ["2026-10-01"]}))


def test_duplicate_order_ids_name_rows_and_values():
    frame = orders_frame(order_id=["A1", "A2", "A1"])
    with pytest.raises(AovlabInputError) as info:
        ShopData.from_frames(frame)
    assert info.value.rows == [1, 3]
    assert "'A1'" in str(info.value)


def test_unparsable_dates_name_rows_and_values():
    frame = orders_frame(ordered_at=["2026-10-01", "23.10.2026", "yesterday"])
    with pytest.raises(AovlabInputError) as info:
        ShopData.from_frames(frame)
    assert info.value.column == "ordered_at" and info.value.rows == [2, 3]
    assert "'23.10.2026'" in str(info.value) and "ISO 8601" in str(info.value)


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
def test_non_numeric_money_is_refused(native):
    frame = orders_frame(native, total=["112.5", "68,75", "31.25"])
    with pytest.raises(AovlabInputError) as info:
        ShopData.from_frames(frame)
    assert info.value.column == "total" and info.value.rows == [2]
    assert "'68,75'" in str(info.value)


@pytest.mark.parametrize("column", ["discount", "shipping", "tax", "refunded"])
def test_negative_money_is_refused(column):
    frame = orders_frame(**{column: [0.0, -5.0, 0.0]})
    with pytest.raises(AovlabInputError, match="negative") as info:
        ShopData.from_frames(frame)
    assert info.value.rows == [2]


def test_mixed_currencies_are_refused():
    frame = orders_frame(currency=["EUR", "SEK", "EUR"])
    with pytest.raises(AovlabInputError, match="mixes currencies") as info:
        ShopData.from_frames(frame)
    assert "EUR (2 orders)" in str(info.value) and "SEK (1 orders)" in str(info.value)


def test_unknown_status_lists_allowed():
    with pytest.raises(AovlabInputError, match="unknown order statuses") as info:
        ShopData.from_frames(orders_frame(status=["paid", "teleported", "paid"]))
    assert "'teleported'" in str(info.value) and "partially_refunded" in str(info.value)


def test_platform_status_words_are_mapped():
    shop = ShopData.from_frames(orders_frame(status=["Complete", "Canceled", "Awaiting Payment"]))
    assert shop.orders["status"].to_list() == ["paid", "cancelled", "pending"]


def test_unknown_timezone():
    with pytest.raises(AovlabInputError, match="time zone"):
        ShopData.from_frames(orders_frame(), timezone="Mars/Olympus")


def test_parts_that_do_not_add_up_are_reported_not_fixed():
    frame = orders_frame(total=[112.5, 70.00, 31.25])
    shop = ShopData.from_frames(frame)
    (note,) = shop.warnings()
    assert note.count == 1 and note.examples == ("A2",)
    assert shop.orders["total"].to_list() == [112.5, 70.0, 31.25]


def test_tax_inclusive_totals_are_detected():
    frame = orders_frame(total=[90.0, 55.0, 25.0])
    shop = ShopData.from_frames(frame)
    assert shop.tax_included and not shop.warnings()


def test_lines_fill_merchandise_and_costs_come_from_the_catalog():
    orders = pl.DataFrame({"order_id": ["1", "2"], "ordered_at": ["2026-10-01", "2026-10-02"]})
    lines = pl.DataFrame(
        {
            "order_id": ["1", "1", "2"],
            "sku": ["a", "b", "a"],
            "quantity": [1, 2, 3],
            "unit_price": [10.0, 5.0, 10.0],
        }
    )
    catalog = pl.DataFrame({"sku": ["a", "b"], "unit_cost": [4.0, 2.0], "category": ["x", "y"]})
    shop = ShopData.from_frames(orders, lines, catalog=catalog)
    assert shop.orders["merchandise"].to_list() == [20.0, 30.0]
    assert shop.lines["unit_cost"].to_list() == [4.0, 2.0, 4.0]
    assert shop.lines["category"].to_list() == ["x", "y", "x"]
    table = aovlab.metrics.kpis(shop).table
    # revenue 50, COGS 4 + 4 + 12 = 20, two orders: margin per order 15.
    assert table.select("upt", "aur", "margin_per_order").row(0) == (3.0, 50 / 6, 15.0)


def test_lines_without_cost_are_reported_and_margin_is_withheld():
    orders = pl.DataFrame({"order_id": ["1", "2"], "ordered_at": ["2026-10-01", "2026-10-02"]})
    lines = pl.DataFrame(
        {
            "order_id": ["1", "2"],
            "sku": ["a", "b"],
            "quantity": [1, 1],
            "unit_price": [10.0, 30.0],
            "unit_cost": [4.0, None],
        }
    )
    shop = ShopData.from_frames(orders, lines)
    assert any("no unit cost" in n.message and n.examples == ("b",) for n in shop.warnings())
    row = aovlab.metrics.kpis(shop).rows()[0]
    assert row["margin_per_order"] is None and row["cost_coverage"] == 0.25


def test_orphan_lines_and_orders_without_lines_are_reported():
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2"],
            "ordered_at": ["2026-10-01", "2026-10-02"],
            "merchandise": [10.0, 5.0],
        }
    )
    lines = pl.DataFrame(
        {"order_id": ["1", "9"], "sku": ["a", "a"], "quantity": [1, 1], "unit_price": [10.0, 10.0]}
    )
    shop = ShopData.from_frames(orders, lines)
    messages = " | ".join(n.message for n in shop.warnings())
    assert "belong to no known order" in messages and "have no lines" in messages
    assert shop.lines["order_id"].to_list() == ["1"]
    assert aovlab.metrics.kpis(shop).rows()[0]["upt"] is None  # never a partial UPT


def test_offsets_and_naive_times_land_in_the_shop_time_zone():
    def local(values):
        frame = pl.DataFrame(
            {"order_id": [str(i) for i in range(len(values))], "ordered_at": values}
        ).with_columns(pl.lit(1.0).alias("total"))
        shop = ShopData.from_frames(frame, timezone="Europe/Stockholm")
        return [t.replace(tzinfo=None) for t in shop.orders["ordered_at"].to_list()]

    # 23:30 UTC on 31 Oct = 00:30 local on 1 Nov; every form of offset means the same.
    assert local(
        [
            "2026-10-31T23:30:00Z",
            "2026-11-01 01:30:00+02:00",
            "2026-11-01 01:30:00 +0200",
            "2026-11-01T01:30:00.000+0200",
            "2026-03-29T03:15:00+02:00",
        ]
    ) == [dt.datetime(2026, 11, 1, 0, 30)] * 4 + [dt.datetime(2026, 3, 29, 3, 15)]
    # Naive times are local already, with or without seconds and fractions.
    assert local(["2026-10-31 23:30:00", "2026-10-31T23:30:00.25", "2026-10-31 23:30"]) == [
        dt.datetime(2026, 10, 31, 23, 30),
        dt.datetime(2026, 10, 31, 23, 30, 0, 250000),
        dt.datetime(2026, 10, 31, 23, 30),
    ]


@pytest.mark.parametrize("backend", ["polars", "pandas"])
@pytest.mark.parametrize(
    ("values", "row", "message"),
    [
        # One rule for every row: an offset on some rows and not on others is refused.
        (["2026-10-03T14:22:05+02:00", "2026-10-31 23:30:00.5"], 2, "with and without a UTC"),
        (
            ["2026-10-03 14:22:05", "2026-10-03 14:22:05 +0200", "2026-10-04 10:00:00"],
            2,
            "with and without",
        ),
        (["2026-10-03 14:22:05+02:00", "2026-02-30 10:00:00+01:00"], 2, "do not exist"),
        (["2026-10-03", "03.10.2026"], 2, "cannot be read"),
        (["2026-03-29 02:30:00"], 1, "the hour the clocks skip"),
    ],
)
def test_date_times_are_read_by_one_rule_or_refused(backend, values, row, message):
    frame = pl.DataFrame(
        {"order_id": [str(i) for i in range(len(values))], "ordered_at": values}
    ).with_columns(pl.lit(1.0).alias("total"))
    native = frame.to_pandas() if backend == "pandas" else frame
    with pytest.raises(AovlabInputError, match=message) as err:
        ShopData.from_frames(native, timezone="Europe/Stockholm")
    assert err.value.rows == [row] and err.value.column == "ordered_at"


def test_cancelled_and_test_orders_never_count():
    frame = orders_frame(status=["paid", "cancelled", "refunded"], test=["no", "no", "yes"])
    row = aovlab.metrics.kpis(ShopData.from_frames(frame)).rows()[0]
    assert (row["orders"], row["revenue"]) == (1, 90.0)


def test_load_reads_shop_json_and_names_the_file_in_errors(tmp_path):
    (tmp_path / "shop.json").write_text(
        '{"currency": "SEK", "timezone": "Europe/Oslo", "name": "T"}'
    )
    (tmp_path / "orders.csv").write_text(
        "order_id,ordered_at,total\n1,2026-10-01,10\n2,2026-10-02,x\n"
    )
    with pytest.raises(AovlabInputError) as info:
        aovlab.load(orders=tmp_path / "orders.csv")
    assert str(tmp_path / "orders.csv") in str(info.value) and info.value.rows == [3]  # file row
    (tmp_path / "orders.csv").write_text(
        "order_id,ordered_at,total\n1,2026-10-01,10\n2,2026-10-02,20\n"
    )
    shop = aovlab.load(orders=tmp_path / "orders.csv", backend="pandas")
    assert (shop.currency, shop.timezone, shop.name, shop.backend) == (
        "SEK",
        "Europe/Oslo",
        "T",
        "pandas",
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b"order_id,ordered_at,total\n", "has no rows"),
        (
            b"order_id,ordered_at,total\n1,2026-10-01,1\n2,2026-10-01,1,5\n",
            "wrong number of fields",
        ),
        (b"\x00\x01\x02\xff\xfe binary", "not a text file"),
        ("order_id,ordered_at,total\n1,2026-10-01,1\n".encode("utf-16"), "is UTF-16 text"),
    ],
)
def test_unreadable_files_give_clear_errors(tmp_path, content, problem):
    path = tmp_path / "orders.csv"
    path.write_bytes(content)
    with pytest.raises(AovlabInputError, match=problem):
        aovlab.load(orders=path)


def test_bom_and_header_case_are_tolerated(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes("\ufeffOrder_ID, Ordered_At ,TOTAL\n1,2026-10-01,10\n".encode())
    assert aovlab.load(orders=path).orders["total"].to_list() == [10.0]


def test_parquet_round_trip(tmp_path, shop):
    shop.orders.write_parquet(tmp_path / "orders.parquet")
    again = aovlab.load(
        orders=tmp_path / "orders.parquet", currency="EUR", timezone="Europe/Stockholm"
    )
    assert again.orders.height == shop.orders.height
    orders_only = ShopData.from_frames(shop.orders, currency="EUR", timezone="Europe/Stockholm")
    assert aovlab.metrics.kpis(again).rows() == aovlab.metrics.kpis(orders_only).rows()


def test_backends_convert_both_ways(shop):
    assert shop.to_backend("pandas").to_backend("polars").orders.equals(shop.orders)


#: The offset spellings real exports use (Shopify writes "2026-10-03 14:22:05 +0200").
FORMS = {
    "iso": "{date}T{clock}{sign}{hh}:{mm}",
    "space": "{date} {clock}{sign}{hh}:{mm}",
    "shopify": "{date} {clock} {sign}{hh}{mm}",
    "compact": "{date}T{clock}{sign}{hh}{mm}",
}


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2060, 1, 1)),
            st.integers(-14 * 60, 14 * 60).map(lambda m: m - m % 15),
            st.sampled_from(list(FORMS)),
            st.booleans(),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_offset_forms_all_mean_the_same_instant(stamps):
    """Any mix of ISO offset spellings parses to the instant Python's datetime computes."""
    from zoneinfo import ZoneInfo

    from aovlab.model import parse_datetime_text

    def text(t, minutes, form, fraction):
        sign = "-" if minutes < 0 else "+"
        clock = f"{t:%H:%M:%S}" + (f".{t.microsecond:06d}" if fraction else "")
        return FORMS[form].format(
            date=f"{t:%Y-%m-%d}",
            clock=clock,
            sign=sign,
            hh=f"{abs(minutes) // 60:02d}",
            mm=f"{abs(minutes) % 60:02d}",
        )

    def expected(t, minutes, fraction):
        t = t if fraction else t.replace(microsecond=0)
        aware = t.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
        return aware.astimezone(ZoneInfo("Europe/Stockholm"))

    raw = pl.Series("t", [text(t, m, f, frac) for t, m, f, frac in stamps])
    parsed, problem = parse_datetime_text(raw, "Europe/Stockholm")
    assert problem is None, (raw.to_list(), problem)
    assert parsed.to_list() == [expected(t, m, frac) for t, m, _, frac in stamps]


def test_excel_workbooks_load_with_their_types(tmp_path):
    import xlsxwriter

    path = tmp_path / "orders.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet, when = book.add_worksheet("Orders"), book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, ["Order", "Placed", "Grand total", "Shop"])
    for row, (oid, day, total, where) in enumerate(
        [("A-1", 1, 12.5, "Åre"), ("A-2", 2, 7.25, "web")], start=1
    ):
        sheet.write_string(row, 0, oid)
        sheet.write_datetime(row, 1, dt.datetime(2026, 10, day, 10, 30), when)
        sheet.write_number(row, 2, total)
        sheet.write_string(row, 3, where)
    book.close()
    shop = aovlab.load(
        orders=path,
        column_map={"order_id": "Order", "ordered_at": "Placed", "total": "Grand total"},
        currency="EUR",
        timezone="Europe/Stockholm",
    )
    assert shop.orders.select("order_id", "total", "shop").rows() == [
        ("A-1", 12.5, "Åre"),
        ("A-2", 7.25, "web"),
    ]
    assert shop.orders["ordered_at"][0].isoformat() == "2026-10-01T10:30:00+02:00"
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(AovlabInputError, match="cannot be read as an Excel workbook"):
        aovlab.load(orders=tmp_path / "broken.xlsx")


def test_personal_columns_never_become_dimensions():
    frame = orders_frame(
        Email=["a@b.se"] * 3,
        billing_name=["Anna"] * 3,
        Phone=["+46"] * 3,
        shipping_address=["Gatan 1"] * 3,
        zip=["123"] * 3,
        channel=["web"] * 3,
        shipping_country=["SE"] * 3,
    )
    shop = ShopData.from_frames(frame)
    assert shop.dimensions == ["channel", "shipping_country"]
    assert any(
        "left out personal columns (email, billing_name, phone, shipping_address, zip)" in n.message
        for n in shop.notes
    )


def test_ids_and_statuses_given_as_categoricals_come_back_as_text():
    # Only dimensions (and a line's product and category) stay categoricals: a shop's
    # orders and lines still join on order_id as they did.
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2"],
            "customer_id": ["c1", None],
            "ordered_at": ["2026-10-01 10:00:00", "2026-10-02 11:00:00"],
            "merchandise": [20.0, 30.0],
            "status": ["paid", "refunded"],
            "channel": ["web", "app"],
        }
    ).with_columns(pl.col("order_id", "customer_id", "status", "channel").cast(pl.Categorical))
    lines = pl.DataFrame(
        {
            "order_id": ["1", "2"],
            "sku": ["A", "B"],
            "quantity": [1.0, 1.0],
            "unit_price": [20.0, 30.0],
        }
    ).with_columns(pl.col("sku").cast(pl.Categorical))
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    assert {
        c: shop.orders.schema[c] for c in ("order_id", "customer_id", "status")
    } == dict.fromkeys(("order_id", "customer_id", "status"), pl.String)
    assert shop.orders.schema["channel"] == pl.Categorical
    assert shop.lines.schema["sku"] == pl.String
    assert shop.lines.join(shop.orders.select("order_id"), on="order_id").height == 2
