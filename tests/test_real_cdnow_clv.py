"""CLV on the published worked example: the CDNOW sample of 2,357 customers.

Fader, Hardie & Lee (2005, "Counting your customers the easy way") fit BG/NBD to the
1/10th CDNOW sample (customers who first bought in 1997Q1) with a 39-week calibration
period, 1997-01-01 to 1997-09-30: r = 0.243, α = 4.414, a = 0.793, b = 2.426,
LL = −9582.4. Fader & Hardie (2013, "The Gamma-Gamma model of monetary value") fit
Gamma-Gamma to its 946 repeat customers: p = 6.25, q = 3.74, γ = 15.44.

The ``lifetimes`` wheel (pinned, read without installing it; see test_real_cdnow.py)
ships the transactions (``CDNOW_sample.txt``) and the authors' per-customer summary
(``cdnow_customers_summary_with_transactions.csv``: x, t_x, T, zbar to two decimals).
Our engine's summary of the transactions must reproduce the authors' summary, and our
fits the published estimates to their printed precision.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from aovlab import ShopData
from aovlab.loyalty import lifetime as clv

pytestmark = pytest.mark.real

WHEEL = "Lifetimes-0.11.3-py3-none-any.whl"
WHEEL_SHA256 = "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8"
CACHE = Path(__file__).resolve().parent / ".cache"
HOW = (
    "CDNOW data not found: run `make test-data` (python -m pip download --no-deps "
    f"--only-binary=:all: lifetimes==0.11.3 -d tests/.cache) or set AOVLAB_CDNOW to {WHEEL}"
)
CALIBRATION_END, HOLDOUT_END = "1997-10-01", "1998-07-01"


def _member(name: str) -> str:
    given = os.environ.get("AOVLAB_CDNOW")
    path = Path(given) if given else CACHE / WHEEL
    if not path.exists() or path.suffix != ".whl":
        pytest.skip(HOW + (f" ({path} is not the wheel)" if given else ""))
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != WHEEL_SHA256:
        pytest.skip(f"{path} is not the pinned {WHEEL} (sha256 differs); " + HOW)
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        return wheel.read(f"lifetimes/datasets/{name}").decode()


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The transactions, independent of aovlab: sample id, day, dollars."""
    frame = pd.read_csv(
        io.StringIO(_member("CDNOW_sample.txt")),
        sep=r"\s+",
        header=None,
        names=["master_id", "id", "date", "cds", "dollars"],
        dtype={"master_id": str, "id": str, "date": str},
    )
    assert len(frame) == 6_919 and frame["id"].nunique() == 2_357
    frame["day"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    """The authors' calibration summary: ID, x, t_x, T, zbar."""
    frame = pd.read_csv(io.StringIO(_member("cdnow_customers_summary_with_transactions.csv")))
    frame["customer_id"] = frame["ID"].map(lambda i: f"{i:04d}")
    return frame.set_index("customer_id")


@pytest.fixture(scope="module")
def shop(raw) -> ShopData:
    orders = pl.DataFrame(
        {
            "order_id": [f"t{i:05d}" for i in range(len(raw))],
            "customer_id": raw["id"].tolist(),
            "ordered_at": raw["day"].dt.strftime("%Y-%m-%d").tolist(),
            "total": raw["dollars"].tolist(),
        }
    )
    # Eight transactions are worth $0.00; the authors count them as purchases.
    return ShopData.from_frames(orders, currency="USD", timezone="UTC", include_zero_value=True)


@pytest.fixture(scope="module")
def ours(shop) -> pd.DataFrame:
    s = clv.summary(shop, CALIBRATION_END, holdout_end=HOLDOUT_END, basis="total")
    return s.to_pandas().set_index("customer_id")


def test_summary_reproduces_the_authors_summary(ours, published):
    assert len(ours) == len(published) == 2_357
    both = published.merge(ours, left_index=True, right_index=True, suffixes=("", "_ours"))
    assert (both["x"] == both["x_ours"]).all()
    assert int(both["x"].sum()) == 2_457
    np.testing.assert_allclose(both["t_x_ours"], both["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(both["T_ours"], both["T"], atol=0.005 + 1e-9)
    # zbar is the mean of the repeat transactions (the first left out), to the cent.
    np.testing.assert_allclose(both["monetary_value"].fillna(0.0), both["zbar"], atol=0.005 + 1e-9)


def test_bgnbd_fit_is_the_published_one(ours, published):
    for data in (ours, published):  # our summary, and the authors' rounded one
        fit = clv.fit_bgnbd(data["x"], data["t_x"], data["T"])
        assert (round(fit.r, 3), round(fit.alpha, 3), round(fit.a, 3), round(fit.b, 3)) == (
            0.243,
            4.414,
            0.793,
            2.426,
        )
        assert round(fit.log_likelihood, 1) == -9582.4


def test_gamma_gamma_fit_is_the_published_one(ours, published):
    repeat = ours[ours["x"] > 0]
    fit = clv.fit_gamma_gamma(repeat["x"], repeat["monetary_value"])
    assert fit.customers == 946
    assert (round(fit.p, 2), round(fit.q, 2), round(fit.gamma, 2)) == (6.25, 3.74, 15.44)
    # The authors' zbar is rounded to the cent, which moves γ in its second decimal.
    rounded = published[published["x"] > 0]
    fit = clv.fit_gamma_gamma(rounded["x"], rounded["zbar"])
    assert (round(fit.p, 2), round(fit.q, 2)) == (6.25, 3.74)
    assert fit.gamma == pytest.approx(15.44, abs=0.01)


def test_holdout_counts_distinct_days_as_pandas_does(ours, raw):
    cal, hold = pd.Timestamp(CALIBRATION_END), pd.Timestamp(HOLDOUT_END)
    days = raw[(raw["day"] >= cal) & (raw["day"] < hold)].drop_duplicates(["id", "day"])
    expected = days.groupby("id").size().reindex(ours.index, fill_value=0)
    assert (ours["holdout_x"] == expected).all()
    assert int(ours["holdout_x"].sum()) == 1_882


def test_clv_on_cdnow_is_revenue_for_one_group(shop, ours):
    res = clv.clv(shop, CALIBRATION_END, HOLDOUT_END, basis="total")
    d = res.to_dict()
    assert (d["bgnbd"]["r"], d["bgnbd"]["a"]) == pytest.approx((0.2426, 0.7929), abs=5e-4)
    assert d["customers"] == 2_357 and d["margin_source"] == "revenue"
    assert [g["group"] for g in d["groups"]] == ["all"]
    assert d["holdout"]["actual_orders"] == 1_882
    fit = clv.fit_bgnbd(ours["x"], ours["t_x"], ours["T"])
    predicted = fit.conditional_expected(39, ours["x"], ours["t_x"], ours["T"]).sum()
    assert d["holdout"]["predicted_orders"] == pytest.approx(predicted, abs=0.01)
    assert "This is revenue, not margin" in res.headline
