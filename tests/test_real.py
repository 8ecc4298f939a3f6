"""KPIs on real data (UCI Online Retail), checked against an independent pandas computation.

Skipped when ../shared/real is absent. The invoice lines are shaped into canonical
orders and lines here (cancellations and non-product codes left out); the full reader
for this format is aovlab.io's job.
"""

import json

import numpy as np
import pytest

import aovlab
from aovlab import drivers, metrics

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def invoices(retail):
    """Independent: revenue and units per invoice, straight from the raw rows."""
    retail = retail.assign(
        value=retail["Quantity"] * retail["UnitPrice"], month=retail["InvoiceDate"].str[:7]
    )
    return retail.groupby("InvoiceNo").agg(
        value=("value", "sum"),
        units=("Quantity", "sum"),
        month=("month", "first"),
        country=("Country", "first"),
    )


def test_month_and_country_kpis_match_pandas(retail_shop, invoices):
    shop, inv = retail_shop, invoices
    by_month = metrics.kpis(shop, by="month").table.set_index("month")
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


def test_month_pair_by_country_matches_an_independent_split(retail_shop, invoices):
    """2011-10 -> 2011-11 by country, against the midpoint formulas written out in pandas."""
    res = drivers.decompose(retail_shop, "2011-11", by="country")
    assert res.baseline == "2011-10"
    inv = invoices[invoices["month"].isin(["2011-10", "2011-11"])]
    n = inv.groupby("month").size()
    aov = inv.groupby("month")["value"].mean()
    upt = inv.groupby("month")["units"].sum() / n
    aur = inv.groupby("month")["value"].sum() / inv.groupby("month")["units"].sum()
    b, c = "2011-10", "2011-11"
    assert res.change == pytest.approx(aov[c] - aov[b], rel=1e-12)
    assert res.effect("upt") == pytest.approx((upt[c] - upt[b]) * (aur[b] + aur[c]) / 2, rel=1e-9)
    assert res.effect("aur") == pytest.approx((aur[c] - aur[b]) * (upt[b] + upt[c]) / 2, rel=1e-9)

    seg = inv.groupby(["country", "month"])["value"].agg(["size", "mean"]).unstack("month")
    share = (seg["size"] / n).fillna(0.0)
    a0 = seg["mean"][b].fillna(seg["mean"][c])  # absent: the other period's AOV
    a1 = seg["mean"][c].fillna(seg["mean"][b])
    centre = (aov[b] + aov[c]) / 2
    mix = (share[c] - share[b]) * ((a0 + a1) / 2 - centre)
    rate = (a1 - a0) * (share[b] + share[c]) / 2
    ours = res.segments.set_index("country")  # pandas in, pandas out
    assert set(ours.index) == set(seg.index)
    np.testing.assert_allclose(ours.loc[seg.index, "mix"], mix, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.loc[seg.index, "rate"], rate, rtol=1e-9, atol=1e-9)
    assert res.effect("mix") + res.effect("rate") == pytest.approx(res.change, abs=1e-9)
    assert (ours["baseline_orders"].sum(), ours["current_orders"].sum()) == (n[b], n[c])


def test_november_2011_names_its_two_large_invoices(retail_shop, invoices):
    """Each invoice that alone moves 2011-11's AOV by 2 % or more, computed in pandas."""
    month = invoices[invoices["month"] == "2011-11"]["value"]
    n, a = len(month), month.mean()
    shift = (month - a) / (n - 1)
    big = month[shift >= 0.02 * a].sort_values(ascending=False)
    assert len(big) == 2 and big.iloc[0] > 50_000 and big.iloc[1] > 50_000
    res = drivers.large_orders(retail_shop, "2011-11")
    assert res.order_ids == list(big.index)
    assert res.table["value"].tolist() == pytest.approx(big.tolist(), rel=1e-12)
    assert res.table["share_of_revenue"].tolist() == pytest.approx(
        (big / month.sum()).tolist(), rel=1e-12
    )
    without_each = [(month.sum() - v) / (n - 1) for v in big]
    assert res.table["aov_without"].tolist() == pytest.approx(without_each, rel=1e-12)
    assert res.aov_without_all == pytest.approx(month.drop(big.index).mean(), rel=1e-12)
    # The decomposition names them although the month's mean/median gap is not flagged.
    dec = drivers.decompose(retail_shop, "2011-11", by="country")
    assert dec.to_dict()["large_orders"] == res.to_list()
    assert f"Two orders carry £{a - month.drop(big.index).mean():,.2f} of November 2011" in (
        dec.headline
    )
    # The total rate effect is negative: the rate clause names a country that spent less.
    assert dec.to_dict()["rate_effect"] < 0
    assert " less per order, as did " in dec.headline and "country values" not in dec.headline


@pytest.mark.slow
def test_the_november_2011_report_names_its_two_big_invoices(real_retail, tmp_path):
    """Two invoices of about £52,900 and £50,700 carry ~£37 of November's AOV."""
    outcome = aovlab.report.run(
        real_retail,
        month="2011-11",
        client="UCI Online Retail",
        out=tmp_path,
        currency="GBP",
        timezone="Europe/London",
    )
    assert not outcome.failed, [r.error for r in outcome.failed]
    index = outcome.index.read_text(encoding="utf-8")
    for named in ("574941 (£52,940.94", "576365 (£50,653.91"):
        assert aovlab.display.prose(named) in index
    data = json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8"))
    assert [o["order_id"] for o in data["large_orders"]["orders"]] == ["574941", "576365"]
    drivers_page = (outcome.folder / "01_aov_drivers.html").read_text(encoding="utf-8")
    assert "574941" in drivers_page and "576365" in drivers_page


def test_2011_breakdown_by_country_matches_an_independent_split(retail_shop, invoices):
    """UCI invoices of 2011 by country: orders, AOV, median, shares; small countries merged."""
    from aovlab import segments

    res = segments.breakdown(retail_shop, "country", when="2011", min_orders=30)
    inv = invoices[invoices["month"].str.startswith("2011")]
    g = inv.groupby("country")["value"]
    n, mean, median = g.size(), g.mean(), g.median()
    big = n[n >= 30].index
    table = res.table.set_index("country")
    shown = table.loc[[c for c in table.index if not c.startswith("Other (")]]
    assert sorted(shown.index) == sorted(big)
    np.testing.assert_array_equal(shown["orders"], n[shown.index])
    np.testing.assert_allclose(shown["aov"], mean[shown.index], rtol=1e-9)
    np.testing.assert_allclose(shown["median_order_value"], median[shown.index], rtol=1e-9)
    np.testing.assert_allclose(shown["share"], n[shown.index] / len(inv), rtol=1e-12)
    np.testing.assert_allclose(shown["aov_index"], 100 * mean[shown.index] / inv["value"].mean())
    other = table.loc[[c for c in table.index if c.startswith("Other (")]].iloc[0]
    small = inv[~inv["country"].isin(big)]["value"]
    assert other["orders"] == len(small) and other["segments_merged"] == (n < 30).sum()
    assert other["aov"] == pytest.approx(small.mean(), rel=1e-9)
    # Each interval from the segment's own moments, computed here with scipy: the UK's
    # invoices are so skewed that its interval reaches further above the AOV than below.
    from scipy import stats

    from aovlab import intervals

    for country in ("United Kingdom", "Germany", "France"):
        v = inv[inv["country"] == country]["value"].to_numpy()
        low, high = intervals.t_interval(len(v), v.mean(), v.std(ddof=1), skew=stats.skew(v))
        assert table.loc[country, "aov_ci_low"] == pytest.approx(float(low), rel=1e-9)
        assert table.loc[country, "aov_ci_high"] == pytest.approx(float(high), rel=1e-9)
    uk = table.loc["United Kingdom"]
    assert uk["aov_ci_high"] - uk["aov"] > uk["aov"] - uk["aov_ci_low"]
