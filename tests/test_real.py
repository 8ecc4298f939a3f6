"""KPIs on real data (UCI Online Retail), checked against an independent pandas computation.

Skipped when ../shared/real is absent. The invoice lines are shaped into canonical
orders and lines here (cancellations and non-product codes left out); the full reader
for this format is aovlab.io's job.
"""

import numpy as np
import pandas as pd
import pytest

from aovlab import ShopData, metrics

pytestmark = pytest.mark.real
NON_PRODUCT = {"POST", "DOT", "D", "M", "BANK CHARGES", "AMAZONFEE", "CRUK", "C2", "PADS", "S", "B"}


@pytest.fixture(scope="module")
def retail(real_retail):
    raw = pd.read_csv(real_retail, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    keep = (
        ~raw["InvoiceNo"].str.startswith(("C", "A"))
        & (raw["Quantity"] > 0)
        & (raw["UnitPrice"] > 0)
        & ~raw["StockCode"].isin(NON_PRODUCT)
    )
    return raw[keep].copy()


def test_month_and_country_kpis_match_pandas(retail):
    lines = pd.DataFrame(
        {
            "order_id": retail["InvoiceNo"],
            "sku": retail["StockCode"],
            "product": retail["Description"],
            "quantity": retail["Quantity"].astype(float),
            "unit_price": retail["UnitPrice"],
        }
    )
    orders = (
        retail.groupby("InvoiceNo", as_index=False)
        .agg(
            ordered_at=("InvoiceDate", "min"),
            customer_id=("CustomerID", "first"),
            country=("Country", "first"),
        )
        .rename(columns={"InvoiceNo": "order_id"})
    )
    shop = ShopData.from_frames(orders, lines, currency="GBP", timezone="Europe/London")
    by_month = metrics.kpis(shop, by="month").table.set_index("month")

    # Independent: revenue per invoice, straight from the raw rows.
    retail = retail.assign(
        value=retail["Quantity"] * retail["UnitPrice"], month=retail["InvoiceDate"].str[:7]
    )
    inv = retail.groupby("InvoiceNo").agg(
        value=("value", "sum"),
        units=("Quantity", "sum"),
        month=("month", "first"),
        country=("Country", "first"),
    )
    g = inv.groupby("month")
    np.testing.assert_array_equal(by_month["orders"], g.size())
    np.testing.assert_allclose(by_month["revenue"], g["value"].sum(), rtol=1e-9)
    np.testing.assert_allclose(by_month["aov"], g["value"].mean(), rtol=1e-9)
    np.testing.assert_allclose(by_month["median_order_value"], g["value"].median(), rtol=1e-9)
    np.testing.assert_allclose(by_month["upt"], g["units"].sum() / g.size(), rtol=1e-9)
    assert len(by_month) == 13  # Dec 2010 .. Dec 2011

    by_country = metrics.kpis(shop, by="country").table.set_index("country")
    c = inv.groupby("country")
    np.testing.assert_array_equal(by_country["orders"], c.size())
    np.testing.assert_allclose(by_country["aov"], c["value"].mean(), rtol=1e-9)
