"""KPIs and drivers on real data: the CDNOW master file (69,659 CD purchases, 1997-01 to
1998-06, US dollars), checked against independent pandas computations.

The file ships inside the ``lifetimes`` wheel on PyPI (pure Python, pinned below). It is
read straight out of the wheel, so lifetimes is never installed. The wheel is looked
for, in order, at ``$AOVLAB_CDNOW`` (the wheel or the extracted ``CDNOW_master.txt``) and
in ``tests/.cache/``, where ``make test-data`` puts it::

    python -m pip download --no-deps --only-binary=:all: lifetimes==0.11.3 -d tests/.cache

Without it the module is skipped with that command as the reason.

Each row (customer id, date YYYYMMDD, number of CDs, dollar value) becomes one order
with a made-up order id; the 80 rows worth $0.00 are zero-value orders and are left out
here, so the expected figures do not depend on how the loader treats them.
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

from aovlab import ShopData, drivers, metrics

pytestmark = pytest.mark.real

WHEEL = "Lifetimes-0.11.3-py3-none-any.whl"
WHEEL_SHA256 = "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8"
MEMBER = "lifetimes/datasets/CDNOW_master.txt"
CACHE = Path(__file__).resolve().parent / ".cache"
HOW = (
    "CDNOW data not found: run `make test-data` (python -m pip download --no-deps "
    f"--only-binary=:all: lifetimes==0.11.3 -d tests/.cache) or set AOVLAB_CDNOW to {WHEEL} "
    "or CDNOW_master.txt"
)


def _read_text() -> str:
    given = os.environ.get("AOVLAB_CDNOW")
    path = Path(given) if given else CACHE / WHEEL
    if not path.exists():
        pytest.skip(HOW + (f" ({path} does not exist)" if given else ""))
    if path.suffix == ".txt":
        return path.read_text()
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != WHEEL_SHA256:
        pytest.skip(f"{path} is not the pinned {WHEEL} (sha256 differs); " + HOW)
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        return wheel.read(MEMBER).decode()


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The raw rows, independent of aovlab: customer, day, CDs, dollars, made-up order id."""
    raw = pd.read_csv(
        io.StringIO(_read_text()), sep=r"\s+", dtype={"customer_id": str, "date": str}
    )
    assert list(raw.columns) == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert len(raw) == 69_659 and (raw["dollar_value"] == 0).sum() == 80
    raw = raw[raw["dollar_value"] > 0].reset_index(drop=True)
    raw["order_id"] = [f"cd{i:05d}" for i in range(len(raw))]
    raw["day"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    raw["month"] = raw["date"].str[:4] + "-" + raw["date"].str[4:6]
    # customer_type as the issue defines it: "new" for the customer's first order (two on
    # the first day: the smaller order id), else returning.
    first = raw.sort_values(["day", "order_id"]).groupby("customer_id")["order_id"].first()
    raw["customer_type"] = np.where(raw["order_id"].isin(first.to_numpy()), "new", "returning")
    return raw


@pytest.fixture(scope="module")
def cdnow_shop(cdnow) -> ShopData:
    orders = pl.DataFrame(
        {
            "order_id": cdnow["order_id"].tolist(),
            "customer_id": cdnow["customer_id"].tolist(),
            "ordered_at": cdnow["day"].dt.strftime("%Y-%m-%d").tolist(),
            "total": cdnow["dollar_value"].tolist(),
        }
    )
    return ShopData.from_frames(orders, currency="USD", timezone="UTC")


def test_monthly_kpis_match_pandas(cdnow_shop, cdnow):
    ours = metrics.kpis(cdnow_shop, by="month").to_dict()["rows"]
    g = cdnow.groupby("month")["dollar_value"]
    assert [r["month"] for r in ours] == list(g.size().index)
    assert len(ours) == 18
    assert [r["orders"] for r in ours] == g.size().tolist()
    assert [r["revenue"] for r in ours] == [round(v, 2) for v in g.sum()]
    assert [r["aov"] for r in ours] == [round(v, 2) for v in g.mean()]
    assert [r["median_order_value"] for r in ours] == [round(v, 2) for v in g.median()]


@pytest.mark.parametrize(
    ("baseline", "current"),
    [("1997-02", "1997-03"), ("1998-01", "1998-02")],
)
def test_month_pair_by_customer_type_matches_the_midpoint_formulas(
    cdnow_shop, cdnow, baseline, current
):
    res = drivers.decompose(cdnow_shop, current, baseline, by="customer_type")
    rows = cdnow[cdnow["month"].isin([baseline, current])]
    n = rows.groupby("month").size()
    aov = rows.groupby("month")["dollar_value"].mean()
    b, c = baseline, current
    d = res.to_dict()
    assert (d["baseline"]["orders"], d["current"]["orders"]) == (n[b], n[c])
    assert d["baseline"]["aov"] == round(aov[b], 2) and d["current"]["aov"] == round(aov[c], 2)
    assert res.change == pytest.approx(aov[c] - aov[b], rel=1e-12)

    seg = rows.groupby(["customer_type", "month"])["dollar_value"].agg(["size", "mean"])
    seg = seg.unstack("month")
    share = (seg["size"] / n).fillna(0.0)
    a0 = seg["mean"][b].fillna(seg["mean"][c])
    a1 = seg["mean"][c].fillna(seg["mean"][b])
    centre = (aov[b] + aov[c]) / 2
    mix = (share[c] - share[b]) * ((a0 + a1) / 2 - centre)
    rate = (a1 - a0) * (share[b] + share[c]) / 2
    ours = res.segments.to_pandas().set_index("customer_type")
    # CDNOW's customers all first bought in 1997Q1: in 1998 every order is a returning one.
    assert (
        set(ours.index)
        == set(seg.index)
        == ({"new", "returning"} if b.startswith("1997") else {"returning"})
    )
    np.testing.assert_allclose(ours.loc[seg.index, "mix"], mix, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.loc[seg.index, "rate"], rate, rtol=1e-9, atol=1e-9)
    assert res.effect("mix") == pytest.approx(mix.sum(), abs=1e-9)
    assert res.effect("rate") == pytest.approx(rate.sum(), abs=1e-9)

    # The headline reads right: direction, the segment behind each effect's sign.
    text = res.headline
    word = "rose" if d["change"] > 0 else "fell"
    assert text.startswith(f"AOV {word} ")
    assert f"in {b} to ${d['current']['aov']:,.2f} in {c}" in text
    assert "customer type values" not in text and "(missing)" not in text
    if abs(d["mix_effect"]) > 0.15 * (abs(d["mix_effect"]) + abs(d["rate_effect"])):
        lead = (mix if d["mix_effect"] > 0 else -mix).idxmax()
        moved = "rose" if share[c][lead] > share[b][lead] else "fell"
        assert f"The share of orders from {lead} customers, whose baskets are" in text
        assert f"{moved} from {share[b][lead]:.1%}".replace("%", " %") in text
    lead = (rate if d["rate_effect"] > 0 else -rate).idxmax()
    gap = a1[lead] - a0[lead]
    assert f"{lead} customers spent ${abs(gap):,.2f} {'more' if gap > 0 else 'less'}" in text or (
        "every customer type spent" in text
    )
    money = f"{'+' if d['rate_effect'] > 0 else '−'}${abs(d['rate_effect']):,.2f}"
    assert f"(rate {money})" in text
    if len(seg) == 1:
        assert "All orders came from one customer type (returning), so there is no mix" in text
    # No order of a CD shop moves a month's AOV by 2 %: nothing to name.
    assert d["large_orders"] == [] and "carr" not in text
