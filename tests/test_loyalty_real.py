"""Loyalty analyses on real data (UCI Online Retail invoices), against independent pandas.

Skipped when ../shared/real is absent. The invoices are shaped into canonical orders and
lines as in tests/test_real.py (cancellations and non-product codes left out); the
invoice dates are local times in Europe/London. There is no customers file: retention
has no member split and CLV no groups.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from aovlab.loyalty import lifetime
from aovlab.loyalty.lifetime import clv
from aovlab.loyalty.retention import retention

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def invoices(retail):
    """Independent: one row per registered customer's invoice, its local day and value."""
    r = retail[retail["CustomerID"].notna()]
    r = r.assign(value=r["Quantity"] * r["UnitPrice"])
    inv = r.groupby("InvoiceNo").agg(
        customer=("CustomerID", "first"), at=("InvoiceDate", "min"), value=("value", "sum")
    )
    inv["day"] = pd.to_datetime(inv["at"]).dt.normalize()
    inv["month"] = pd.to_datetime(inv["at"]).dt.to_period("M")
    return inv


def test_retention_matches_pandas_by_cohort(retail_shop, invoices):
    res = retention(retail_shop)
    d = res.to_dict()
    # The data ends on 2011-12-09: December is partial and left out.
    assert d["last_complete_month"] == "2011-11"
    assert d["partial_month"] == "2011-12"
    first = invoices.groupby("customer")["day"].min()
    cohort = first.dt.to_period("M")
    active = invoices[["customer", "month"]].drop_duplicates()
    active = active.assign(
        k=(active["month"] - active["customer"].map(cohort)).apply(lambda o: o.n)
    )
    later = invoices.assign(later=invoices["day"] > invoices["customer"].map(first))
    repeat = later.groupby("customer")["later"].any()
    last = pd.Period("2011-11", "M")
    expected = {}
    for c, members in cohort[cohort <= last].groupby(cohort[cohort <= last]):
        size = len(members)
        a = active[active["customer"].isin(members.index)]
        shares = [
            a.loc[a["k"] == k, "customer"].nunique() / size for k in range(1, (last - c).n + 1)
        ]
        expected[str(c)] = (size, repeat[members.index].mean(), shares)
    got = {row["cohort"]: row for row in d["cohorts"]}
    assert sorted(got) == sorted(expected)
    for c, (size, rate, shares) in expected.items():
        assert got[c]["customers"] == size
        assert got[c]["repeat_rate"] == pytest.approx(rate, abs=1e-6)
        observed = [v for v in got[c]["retention"] if v is not None]
        assert observed == pytest.approx(shares, abs=1e-6)
    assert "nan" not in res.headline.lower()


def test_clv_summary_matches_pandas(retail_shop, invoices):
    cal = dt.date(2011, 9, 1)
    s = lifetime.summary(retail_shop, cal, holdout_end="2011-12-01")
    s = s.to_pandas() if hasattr(s, "to_pandas") else s
    s = s.set_index("customer_id")
    days = invoices.groupby(["customer", "day"], as_index=False)["value"].sum()
    first = days.groupby("customer")["day"].min()
    days["first"] = days["customer"].map(first)
    cal_ts = pd.Timestamp(cal)
    before = days[days["day"] < cal_ts]
    known = first[first < cal_ts]
    assert sorted(s.index) == sorted(known.index)
    g = before.groupby("customer")
    x = g.size() - 1
    t_x = (g["day"].max() - first[g.size().index]).dt.days / 7
    age = ((cal_ts - pd.Timedelta(days=1)) - first[known.index]).dt.days / 7
    rep = before[before["day"] > before["first"]].groupby("customer")["value"].mean()
    hold = days[(days["day"] >= cal_ts) & (days["day"] < pd.Timestamp("2011-12-01"))]
    holdout_x = hold.groupby("customer").size().reindex(known.index, fill_value=0)
    assert (s["x"] == x.reindex(s.index)).all()
    np.testing.assert_allclose(s["t_x"], t_x.reindex(s.index), atol=1e-9)
    np.testing.assert_allclose(s["T"], age.reindex(s.index), atol=1e-9)
    np.testing.assert_allclose(s["monetary_value"], rep.reindex(s.index), rtol=1e-9)
    assert (s["holdout_x"] == holdout_x.reindex(s.index)).all()
    # A few customers by hand: 12347 ordered on 2010-12-07, 2011-01-26, 2011-04-07,
    # 2011-06-09 and 2011-08-02 before September (and again after).
    row = s.loc["12347.0"]
    assert row["x"] == 4
    assert row["t_x"] == pytest.approx((dt.date(2011, 8, 2) - dt.date(2010, 12, 7)).days / 7)
    assert row["T"] == pytest.approx((dt.date(2011, 8, 31) - dt.date(2010, 12, 7)).days / 7)


def test_clv_on_real_invoices_finite_and_checked_on_the_holdout(retail_shop):
    res = clv(retail_shop, "2011-09-01", "2011-12-01", cac=50.0)
    d = res.to_dict()

    def numbers(obj):
        if isinstance(obj, dict):
            for v in obj.values():
                yield from numbers(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from numbers(v)
        elif isinstance(obj, float):
            yield obj

    assert all(math.isfinite(v) for v in numbers(d))
    assert "nan" not in res.headline.lower()
    hold = d["holdout"]
    assert hold["actual_orders"] > 1000
    assert hold["predicted_orders"] == pytest.approx(hold["actual_orders"], rel=0.25)
    assert 0 < d["clv_12m"]["median"] < d["clv_12m"]["mean"]  # wholesalers: a long tail
    assert d["gamma_gamma"]["q"] > 1
