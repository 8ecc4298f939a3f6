"""Reading canonical files: only the order dimensions asked for (io.canonical)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import aovlab
from aovlab import AovlabInputError, metrics
from aovlab.io.canonical import kept_columns, read_table

SAMPLE = aovlab.sample.DATA_DIR


def kpis_by(shop, by):
    return metrics.kpis(shop, by=by).table


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_load_with_one_dimension_reads_only_it_and_gives_the_same_figures(tmp_path, suffix):
    orders = pl.read_csv(SAMPLE / "orders.csv", infer_schema=False)
    path = tmp_path / f"orders.{suffix}"
    # A column of emails: a full load reads and scans it, then leaves it out with a
    # note; a load of one dimension never reads it.
    orders = orders.with_columns(pl.format("{}@example.com", pl.col("order_id")).alias("contact"))
    getattr(orders, f"write_{suffix}")(path)
    lines = SAMPLE / "lines.csv"
    where = {"currency": "EUR", "timezone": "Europe/Stockholm"}
    shop = aovlab.load(orders=path, lines=lines, dimensions=["channel"], **where)
    assert shop.columns("orders")[-1] == "channel"
    assert "device" not in shop.columns("orders") and "contact" not in shop.columns("orders")
    full = aovlab.load(orders=SAMPLE / "orders.csv", lines=lines)
    assert_frame_equal(kpis_by(shop, "channel"), kpis_by(full, "channel"))
    assert_frame_equal(kpis_by(shop, "month"), kpis_by(full, "month"))
    assert shop.notes == full.notes
    none = aovlab.load(orders=path, lines=lines, dimensions=[], **where)
    assert not {"channel", "contact"} & set(none.columns("orders"))


def test_a_dimension_the_file_lacks_reads_every_column(tmp_path):
    shop = aovlab.load(orders=SAMPLE / "orders.csv", dimensions=["colour"])
    assert {"channel", "device", "country"} <= set(shop.dimensions)
    with pytest.raises(AovlabInputError, match="cannot group by 'colour'") as info:
        metrics.kpis(shop, by="colour")
    assert "channel, device" in str(info.value)


def test_a_row_blank_in_the_columns_read_is_kept_when_the_file_has_a_value(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,ordered_at,merchandise,channel,device\n"
        "1,2026-10-01T10:00:00+02:00,10.00,web,app\n"
        ",,,,desktop\n"
    )
    with pytest.raises(AovlabInputError) as projected:
        aovlab.load(orders=path, dimensions=["channel"])
    with pytest.raises(AovlabInputError) as full:
        aovlab.load(orders=path)
    assert str(projected.value) == str(full.value)
    # A line blank in every column is a blank line, either way.
    path.write_text(
        "order_id,ordered_at,merchandise,channel,device\n"
        "1,2026-10-01T10:00:00+02:00,10.00,web,app\n"
        ",,,,\n"
    )
    assert len(aovlab.load(orders=path, dimensions=["channel"]).frame()) == 1


def test_kept_columns_compare_names_as_the_loader_reads_them():
    header = [" Order_ID", "\ufeffordered_at", "MERCHANDISE", "Channel ", "device"]
    assert kept_columns(header, ["channel"]) == [
        " Order_ID",
        "\ufeffordered_at",
        "MERCHANDISE",
        "Channel ",
    ]
    assert kept_columns(header, []) == [" Order_ID", "\ufeffordered_at", "MERCHANDISE"]


def test_other_tables_and_text_files_are_read_whole(tmp_path):
    lines = read_table(SAMPLE / "lines.csv", "lines", dimensions=[])
    assert "product" in lines.columns
    european = Path(SAMPLE / "european")
    orders_file = next(european.glob("*order*"))
    read = read_table(orders_file, "orders", dimensions=[], sep=";", decimal=",")
    assert len(read.columns) < len(read_table(orders_file, "orders", sep=";", decimal=",").columns)
