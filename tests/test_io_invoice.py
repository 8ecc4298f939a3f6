import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

import aovlab
from aovlab.cli import app
from aovlab.errors import AovlabInputError

ERP = """InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country
1001;TENT1;Tält Fjäll 2;1;23.11.2026 10:00;299,00;17850.0;Sweden
1001;SOCK;Strumpor;3;23.11.2026 10:00;9,50;17850.0;Sweden
1001;POST;Porto;1;23.11.2026 10:00;5,90;17850.0;Sweden
1001;D;Rabatt;-1;23.11.2026 10:00;20,00;17850.0;Sweden
1002;SOCK;Strumpor;2;24.11.2026 09:30;9,50;;Norway
1002;M;Manual;1;24.11.2026 09:30;15,00;;Norway
C1003;TENT1;Tält Fjäll 2;-1;25.11.2026 08:00;299,00;17850.0;Sweden
A1004;B;Adjust bad debt;1;25.11.2026 08:00;100,00;;Sweden
1005;SOCK;Strumpor;-12;26.11.2026 08:00;0,00;;Sweden
1006;POST;Porto;1;26.11.2026 12:00;5,90;12345.0;Sweden
1007;SOCK;Strumpor;1;01.12.2026 12:00;9,50;12345.0;Sweden
"""


@pytest.fixture
def erp(tmp_path):
    path = tmp_path / "erp.csv"
    path.write_bytes(ERP.encode("cp1252"))
    return path


def test_invoice_lines_become_orders(erp):
    shop = aovlab.load(orders=erp, currency="SEK", timezone="Europe/Stockholm")
    orders = shop.orders.select(
        "order_id", "customer_id", "country", "merchandise", "discount", "shipping", "total"
    )
    assert orders.rows() == [
        ("1001", "17850", "Sweden", 327.5, 20.0, 5.9, 313.4),
        ("1002", None, "Norway", 19.0, 0.0, 0.0, 19.0),
        ("1007", "12345", "Sweden", 9.5, 0.0, 0.0, 9.5),
    ]
    assert shop.lines["product"].to_list() == ["Tält Fjäll 2", "Strumpor", "Strumpor", "Strumpor"]
    assert [t.replace(tzinfo=None).isoformat() for t in shop.orders["ordered_at"]] == [
        "2026-11-23T10:00:00",
        "2026-11-24T09:30:00",
        "2026-12-01T12:00:00",
    ]
    text = "\n".join(str(n) for n in shop.notes)
    for fragment in (
        "encoding cp1252",
        "separator ';'",
        "decimal ','",
        "1 line(s) on 1 invoice(s), value -299.00: returns",
        "bad-debt adjustments",
        "stock corrections",
        "non-product lines",
        "2 invoice(s) without a product line",
    ):
        assert fragment in text, fragment
    row = aovlab.metrics.kpis(shop).rows()[0]
    assert (row["orders"], row["revenue"], row["aov"]) == (3, 336.0, 112.0)
    assert row["upt"] == pytest.approx(7 / 3)


def test_unknown_header_lists_formats_and_the_closest(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("InvoiceNo,StockCode,Qty,Date,Price\n1,a,1,2026-10-01,1\n")
    with pytest.raises(AovlabInputError, match="not an export format") as info:
        aovlab.load(orders=path)
    text = str(info.value)
    assert "invoice_lines" in text and "canonical" in text
    assert "closest is invoice_lines, which also needs Quantity, InvoiceDate, UnitPrice" in text


def test_forced_format_is_checked(erp):
    with pytest.raises(AovlabInputError, match="unknown format"):
        aovlab.load(orders=erp, format="magento")


def test_cli_reads_the_export_with_options(erp):
    result = CliRunner().invoke(app, ["kpis", str(erp), "--currency", "SEK", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["orders"], payload["revenue"], payload["currency"]) == (3, 336.0, "SEK")
    ambiguous = erp.with_name("us.csv")
    ambiguous.write_text(
        "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice\n1,A,1,03/04/2026 10:00,2.50\n2,A,1,05/06/2026,2.50\n"
    )
    result = CliRunner().invoke(app, ["kpis", str(ambiguous)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--dayfirst" in result.stderr or "dayfirst=True" in result.stderr
    result = CliRunner().invoke(
        app, ["kpis", str(ambiguous), "--monthfirst", "--json", "--by", "month"]
    )
    assert [row["key"] for row in json.loads(result.stdout)["by"]] == ["2026-03", "2026-05"]


# --------------------------------------------------------------------- real data

NON_PRODUCT = {"POST", "DOT", "C2", "D", "M", "BANK CHARGES", "AMAZONFEE", "CRUK", "S", "B"}


@pytest.mark.real
def test_uci_online_retail_matches_an_independent_computation(real_retail):
    shop = aovlab.load(orders=real_retail, currency="GBP", timezone="Europe/London")
    raw = pd.read_csv(real_retail, dtype={"InvoiceNo": str, "StockCode": str})
    code = raw["StockCode"].str.upper().str.strip()
    product = (
        ~raw["InvoiceNo"].str.startswith(("C", "A"))
        & ~code.isin(NON_PRODUCT)
        & ~code.str.startswith("GIFT_")  # gift vouchers are not merchandise
        & (raw["Quantity"] > 0)
    )
    rows = raw[product].assign(value=lambda d: d["Quantity"] * d["UnitPrice"])
    invoices = rows.groupby("InvoiceNo").agg(
        value=("value", "sum"),
        month=("InvoiceDate", lambda s: s.min()[:7]),
        country=("Country", "first"),
    )
    invoices["value"] = invoices["value"].round(2)  # money is kept to the cent per order
    # An invoice whose product lines are all priced 0 is a stock adjustment, not a sale.
    free = invoices["value"] == 0
    assert free.sum() == 765 and len(invoices) - free.sum() == 19_773
    invoices = invoices[~free]
    assert len(shop.orders) == len(invoices)
    whole = aovlab.metrics.kpis(shop).rows()[0]
    assert (whole["orders"], whole["aov"]) == (19_773, 519.47)
    assert whole["aov"] == round(invoices["value"].mean(), 2)
    by_month = aovlab.metrics.kpis(shop, by="month").table.to_pandas().set_index("month")
    g = invoices.groupby("month")["value"]
    np.testing.assert_array_equal(by_month["orders"], g.size())
    np.testing.assert_allclose(by_month["revenue"], g.sum(), rtol=1e-9)
    np.testing.assert_allclose(by_month["aov"], g.mean(), rtol=1e-9)
    by_country = aovlab.metrics.kpis(shop, by="country").table.to_pandas().set_index("country")
    c = invoices.groupby("country")["value"]
    np.testing.assert_array_equal(by_country["orders"], c.size())
    np.testing.assert_allclose(by_country["aov"], c.mean(), rtol=1e-9)
    # The returns are reported, not silently dropped.
    assert any("9,288 line(s) on 3,836 invoice(s)" in str(n) for n in shop.notes)
    assert any("765 order(s) with no merchandise value" in str(n) for n in shop.notes)
    kept = aovlab.load(
        orders=real_retail, currency="GBP", timezone="Europe/London", include_zero_value=True
    )
    assert len(kept.orders) == 19_773 + 765
    assert pl.Series(shop.orders["customer_id"].drop_nulls().head(1)).str.contains(r"\.").sum() == 0
