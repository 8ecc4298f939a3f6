from __future__ import annotations

from pathlib import Path

import pytest

import aovlab

ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = ROOT.parent / "shared" / "real"


@pytest.fixture(scope="session")
def shop():
    """The bundled sample shop, polars backend."""
    return aovlab.sample.load()


@pytest.fixture(scope="session")
def shop_pd():
    """The bundled sample shop, pandas backend."""
    return aovlab.sample.load("pandas")


@pytest.fixture(scope="session")
def real_retail() -> Path:
    path = SHARED_REAL / "online_retail_uci.csv.gz"
    if not path.exists():
        pytest.skip("../shared/real is absent")
    return path


#: UCI stock codes that are not products (postage, fees, manual adjustments).
NON_PRODUCT = {"POST", "DOT", "D", "M", "BANK CHARGES", "AMAZONFEE", "CRUK", "C2", "PADS", "S", "B"}


@pytest.fixture(scope="session")
def retail(real_retail):
    """UCI Online Retail's sales rows: no cancellations, returns, free or non-product lines."""
    import pandas as pd

    raw = pd.read_csv(real_retail, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    keep = (
        ~raw["InvoiceNo"].str.startswith(("C", "A"))
        & (raw["Quantity"] > 0)
        & (raw["UnitPrice"] > 0)
        & ~raw["StockCode"].isin(NON_PRODUCT)
    )
    return raw[keep].copy()


@pytest.fixture(scope="session")
def retail_shop(retail):
    """The sales rows as a shop: one order per invoice (its first time, customer, country)."""
    import pandas as pd

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
    return aovlab.ShopData.from_frames(orders, lines, currency="GBP", timezone="Europe/London")
