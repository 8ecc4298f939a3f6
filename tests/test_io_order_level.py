"""Order-level exports (Magento's grid, BigCommerce, spreadsheets) through a column mapping."""

import json

import pytest
from typer.testing import CliRunner

import aovlab
from aovlab.cli import app
from aovlab.errors import AovlabInputError
from aovlab.io.canonical import parse_column_map

MAGENTO = (
    "ID;Purchase Date;Bill-to Name;Grand Total (Base);Grand Total (Purchased);Status;Customer Email\n"
    "000000101;05.10.2026 10:00;Anna S;1.250,00;1.250,00;complete;anna@example.com\n"
    "000000102;06.10.2026 12:30;Bo L;80,50;80,50;complete;bo@example.com\n"
)
MAP = {"order_id": "ID", "ordered_at": "Purchase Date", "total": "Grand Total (Purchased)"}


@pytest.fixture
def grid(tmp_path):
    path = tmp_path / "magento_orders.csv"
    path.write_bytes(MAGENTO.encode("cp1252"))
    return path


def test_mapped_order_level_export(grid):
    shop = aovlab.load(orders=grid, column_map=MAP, currency="EUR", timezone="Europe/Stockholm")
    assert shop.orders.select("order_id", "total").rows() == [
        ("000000101", 1250.0),
        ("000000102", 80.5),
    ]
    res = aovlab.metrics.kpis(shop)
    row = res.rows()[0]
    assert (row["orders"], row["revenue"], row["aov"], row["upt"]) == (2, 1330.5, 665.25, None)
    assert "UPT and AUR need order lines" in res.headline
    assert any("UPT, AUR, margin and bundles need lines" in n.message for n in shop.notes)


def test_a_mapped_header_that_is_missing_lists_the_columns(grid):
    with pytest.raises(AovlabInputError, match="no column 'Order Date'") as info:
        aovlab.load(orders=grid, column_map={**MAP, "ordered_at": "Order Date"})
    assert "Purchase Date" in str(info.value)


def test_cli_map(grid):
    result = CliRunner().invoke(
        app,
        [
            "kpis",
            str(grid),
            "--map",
            'order_id=ID,ordered_at=Purchase Date,total="Grand Total (Purchased)"',
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["revenue"] == 1330.5
    bad = CliRunner().invoke(app, ["kpis", str(grid), "--map", "order_id"])
    assert bad.exit_code == 2 and "not a column mapping" in bad.stderr


def test_parse_column_map():
    assert parse_column_map(" order_id = ID , total=Grand Total") == {
        "order_id": "ID",
        "total": "Grand Total",
    }
