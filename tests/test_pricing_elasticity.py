"""Price elasticity and the best-seller what-if: recovery, simulation, literal figures, errors."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from aovlab import ShopData
from aovlab.errors import AovlabInputError
from aovlab.pricing.elasticity import ALL, TOTAL, Elasticity, elasticity, whatif
from aovlab.sample import TRUTH

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def weekly(shop) -> Elasticity:
    return elasticity(shop)


def _panel_shop(
    rng: np.random.Generator,
    *,
    e: float = -1.5,
    n_sku: int = 30,
    n_weeks: int = 26,
    varying: int = 12,
    noise: float = 0.15,
    native=pl.DataFrame,
) -> ShopData:
    """One order per SKU and week whose quantity follows a known elasticity.

    log units = SKU level + week effect + e x log price + noise; the first ``varying``
    SKUs change price once (5-15 % up or down) at a random week, the others never.
    """
    level = rng.uniform(np.log(100), np.log(300), n_sku)
    week = rng.normal(0, 0.2, n_weeks)
    base = rng.uniform(10, 100, n_sku)
    step = np.ones((n_sku, n_weeks))
    for s in range(varying):
        at = rng.integers(4, n_weeks - 4)
        step[s, at:] = 1 + rng.choice([-1, 1]) * rng.uniform(0.05, 0.15)
    price = np.round(base[:, None] * step, 2)
    units = np.rint(
        np.exp(
            level[:, None]
            + week[None, :]
            + e * np.log(price)
            - e * np.log(base)[:, None]
            + rng.normal(0, noise, (n_sku, n_weeks))
        )
    )
    sku = np.repeat([f"S{s:02d}" for s in range(n_sku)], n_weeks)
    days = np.tile(np.arange(n_weeks) * 7 + 2, n_sku)  # Wednesdays from 2025-01-08
    start = dt.datetime(2025, 1, 6, 12)
    ids = [str(i + 1) for i in range(len(sku))]
    qty, unit_price = units.ravel(), price.ravel()
    orders = native(
        {
            "order_id": ids,
            "ordered_at": [start + dt.timedelta(days=int(d)) for d in days],
            "merchandise": qty * unit_price,
        }
    )
    lines = native(
        {
            "order_id": ids,
            "sku": list(sku),
            "category": [f"C{int(s[1:]) % 3}" for s in sku],
            "quantity": qty,
            "unit_price": unit_price,
            "unit_cost": unit_price * 0.5,
        }
    )
    return ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")


def _tiny(native=pl.DataFrame, *, costs: bool = True) -> ShopData:
    """Four January orders: A sells 3 units at 10, B 2 at 20, C 2 at 50."""
    orders = native(
        {
            "order_id": ["1", "2", "3", "4"],
            "ordered_at": [
                "2026-01-05 10:00",
                "2026-01-06 10:00",
                "2026-01-07 10:00",
                "2026-01-08 10:00",
            ],
            "merchandise": [40.0, 10.0, 70.0, 50.0],
        }
    )
    lines = {
        "order_id": ["1", "1", "2", "3", "3", "4"],
        "sku": ["A", "B", "A", "B", "C", "C"],
        "product": ["Socks", "Cap", "Socks", "Cap", "Boot", "Boot"],
        "quantity": [2.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "unit_price": [10.0, 20.0, 10.0, 20.0, 50.0, 50.0],
    }
    if costs:
        lines["unit_cost"] = [4.0, 5.0, 4.0, 5.0, 30.0, 30.0]
    return ShopData.from_frames(orders, native(lines), currency="EUR", timezone="Europe/Stockholm")


# --------------------------------------------------------------------------- recovery


def test_sample_recovers_the_planted_price_rise(weekly):
    truth = TRUTH["price_rise"]
    assert weekly.ci_low < truth["elasticity"] < weekly.ci_high
    assert weekly.skus_with_variation == 5
    assert weekly.varying == sorted(truth["skus"])
    assert weekly.periods == 105
    assert weekly.ci_high < 0  # the data can tell that price moves units
    # Accessories holds two of the planted SKUs: the only category estimated.
    rows = {r["category"]: r for r in weekly.rows()}
    assert rows["Accessories"]["skus"] == 2 and rows["Accessories"]["elasticity"] is not None
    assert all(r["elasticity"] is None for c, r in rows.items() if c not in ("Accessories", ALL))
    assert rows[ALL]["elasticity"] == pytest.approx(weekly.elasticity)


def test_sample_monthly_recovers_too(shop):
    res = elasticity(shop, period="month")
    assert res.ci_low < -1.2 < res.ci_high
    assert res.skus_with_variation == 5 and res.periods == 24
    assert "24 months" in res.headline


def test_headline_reads_the_numbers(weekly):
    e = weekly.elasticity
    loss = round(abs(1.1**e - 1) * 100)
    assert weekly.headline.startswith(f"A 10 % price rise loses about {loss} % of units")
    assert f"elasticity {e:.2f}" in weekly.headline
    assert f"95 % CI {weekly.ci_low:.2f} to {weekly.ci_high:.2f}" in weekly.headline
    assert "5 SKUs whose prices changed, 105 weeks" in weekly.headline
    # The interval holds -1: elastic or not, the data cannot say.
    assert weekly.ci_low < -1 < weekly.ci_high and "holds -1" in weekly.headline
    # Five SKUs are few clusters: the interval's t has 4 degrees of freedom, and says so.
    assert weekly.headline.endswith(
        "Only five SKUs changed price, so the interval is wide: it allows for that (t on 4 "
        "degrees of freedom)."
    )


def test_headline_says_when_the_interval_holds_zero():
    res = Elasticity(
        table=None, elasticity=-0.3, ci_low=-1.1, ci_high=0.5, skus_with_variation=4, periods=20
    )
    assert res.headline.startswith("The data cannot tell whether price moves units")
    res = Elasticity(
        table=None, elasticity=-0.5, ci_low=-0.8, ci_high=-0.2, skus_with_variation=4, periods=20
    )
    assert "inelastic" in res.headline and "raises revenue" in res.headline
    res = Elasticity(
        table=None, elasticity=-2.0, ci_low=-2.5, ci_high=-1.5, skus_with_variation=4, periods=20
    )
    assert "Demand is elastic" in res.headline and "lowers revenue" in res.headline
    assert "loses about 17 % of units" in res.headline  # 1.1 ** -2 - 1 = -17.4 %


def test_to_dict_has_the_cli_keys(weekly):
    d = weekly.to_dict()
    assert set(d) == {
        "elasticity",
        "ci_low",
        "ci_high",
        "skus_with_variation",
        "periods",
        "method",
        "by_category",
        "headline",
        "currency",
    }
    assert d["skus_with_variation"] == 5 and d["currency"] == "EUR"
    assert "pyfixest feols" in d["method"] and "clustered by SKU (CRV1)" in d["method"]
    assert "t interval on 4 degrees of freedom (SKUs whose price changed - 1)" in d["method"]
    assert len(d["by_category"]) == 8
    assert set(d["by_category"][0]) == {"category", "elasticity", "ci_low", "ci_high", "skus"}
    json.dumps(d)


def test_elasticity_chart_and_sections(weekly):
    spec = weekly.chart().to_dict()
    assert "layer" in spec
    note = weekly.sections()[0].note
    assert "5 of 51 SKUs" in note and "Not estimated" in note
    assert "<table" in weekly._repr_html_()


# --------------------------------------------------------------------------- simulation


def test_simulated_shops_recover_the_elasticity_with_nominal_coverage():
    truth, runs = -1.5, 30
    estimates, errors, covered = [], [], 0
    for k in range(runs):
        shop = _panel_shop(np.random.default_rng(1000 + k), e=truth)
        res = elasticity(shop, min_category_skus=100)  # the overall slope only
        assert res.skus_with_variation == 12 and res.skus == 30
        estimates.append(res.elasticity)
        errors.append(res.std_error)
        covered += res.ci_low < truth < res.ci_high
    estimates_ = np.array(estimates)
    # Unbiased: the mean of the estimates within 3.5 of its standard errors of the truth.
    assert abs(estimates_.mean() - truth) < 3.5 * estimates_.std(ddof=1) / math.sqrt(runs)
    # Honest intervals through the whole path: coverage near 95 % (fewer than 25 of 30
    # has probability 1.6 % at 93 %), and the standard errors match the estimates' spread
    # (neither much too wide nor too narrow). The coverage itself is tested on 200 runs
    # per regime below.
    assert covered >= 25
    assert 0.75 < np.mean(errors) / estimates_.std(ddof=1) < 1.33
    assert "degrees of freedom" not in res.headline  # twelve SKUs changed price


def _weekly_panel(
    rng: np.random.Generator, *, n_sku: int, changed: int, n_weeks: int = 26, e: float = -1.2
) -> pd.DataFrame:
    """A SKU x week panel (the module's ``_panel`` shape) with negative binomial units.

    Mean weekly units 20-200 per SKU, a common weekly shock (sd 0.2), an AR(1) wobble per
    SKU (rho 0.5, sd 0.1); ``changed`` SKUs step their price once by 5-15 % up or down
    at a random week, the others keep theirs. As ``bench/coverage_elasticity.py``.
    """
    level = rng.uniform(np.log(20), np.log(200), n_sku)
    week = rng.normal(0, 0.2, n_weeks)
    wobble = np.zeros((n_sku, n_weeks))
    wobble[:, 0] = rng.normal(0, 0.1, n_sku)
    for t in range(1, n_weeks):
        wobble[:, t] = 0.5 * wobble[:, t - 1] + rng.normal(0, 0.1 * math.sqrt(0.75), n_sku)
    step = np.ones((n_sku, n_weeks))
    for s in rng.choice(n_sku, changed, replace=False):
        step[s, rng.integers(3, n_weeks - 3) :] = 1 + rng.choice([-1, 1]) * rng.uniform(0.05, 0.15)
    price = np.round(rng.uniform(10, 100, n_sku)[:, None] * step, 2)
    mu = np.exp(level[:, None] + week[None, :] + wobble + e * np.log(step))
    units = rng.negative_binomial(5.0, 5.0 / (5.0 + mu)).astype(float)
    panel = pd.DataFrame(
        {
            "sku": np.repeat([f"S{s:02d}" for s in range(n_sku)], n_weeks),
            "period": np.tile([f"W{t:02d}" for t in range(n_weeks)], n_sku),
            "category": "C",
            "units": units.ravel(),
            "price": price.ravel(),
        }
    )
    return panel[panel["units"] > 0].reset_index(drop=True)


def _covered(changed: int, n_sku: int, runs: int, e: float = -1.2) -> tuple[int, list[int]]:
    """Runs whose interval holds ``e``, through the module's own panel rules and fit."""
    from aovlab.pricing.elasticity import PRICE_VARIATION, _fit, _price_spread, _steady

    covered, found = 0, []
    for k in range(runs):
        panel = _steady(
            _weekly_panel(np.random.default_rng([changed, k]), n_sku=n_sku, changed=changed)
        )
        spread = _price_spread(panel)
        varies = set(spread[spread > math.log1p(PRICE_VARIATION)].index)
        found.append(len(varies))
        _, low, high, _ = _fit(panel, varies, 100, 0.95)["overall"]
        covered += low < e < high
    return covered, found


@pytest.mark.parametrize(("changed", "n_sku"), [(5, 50), (12, 30)])
def test_intervals_hold_their_level_with_few_and_with_more_changed_skus(changed, n_sku):
    """Coverage of the 95 % interval, 180 simulated panels each (negative binomial units).

    Measured by ``bench/coverage_elasticity.py`` (600 runs, 52 weeks): 92.7 % with 5 of
    50 SKUs changing price, 93.3 % with 12 of 50 (pyfixest's default t on all SKUs less
    one: 82 % with 5). At 93 %, 160 or more of 180 is missed with probability 1.5 %; at
    85 % it is reached with probability 8 %, at 80 % with 0.1 %.
    """
    covered, found = _covered(changed, n_sku, runs=180)
    assert np.mean(np.array(found) == changed) > 0.95  # the median polish finds the steps
    assert covered >= 160


def test_per_category_slopes_recover_each_category():
    res = elasticity(_panel_shop(np.random.default_rng(7), e=-1.0, n_sku=45, varying=30))
    rows = {r["category"]: r for r in res.rows()}
    for c in ("C0", "C1", "C2"):
        assert rows[c]["skus"] == 10
        assert rows[c]["ci_low"] < -1.0 < rows[c]["ci_high"]


# --------------------------------------------------------------------------- independent


def test_estimate_equals_statsmodels_dummies_on_the_same_panel(shop, weekly):
    import statsmodels.formula.api as smf

    # The panel by hand, in polars: counted orders' lines per SKU and ISO week.
    orders = shop.orders.filter(pl.col("status") != "cancelled", ~pl.col("test")).select(
        "order_id", pl.col("ordered_at").dt.strftime("%G-W%V").alias("period")
    )
    panel = (
        shop.lines.join(orders, on="order_id")
        .group_by("sku", "period")
        .agg(
            pl.col("quantity").sum().alias("units"),
            (pl.col("quantity") * pl.col("unit_price")).sum().alias("value"),
        )
        .with_columns(pl.col("period").rank("dense").over(pl.lit(1)).alias("t"))
    )
    # SKUs sold in at least 90 % of the weeks from their first sale to their last.
    steady = panel.filter(
        pl.len().over("sku") >= 0.9 * (pl.col("t").max() - pl.col("t").min() + 1).over("sku")
    ).to_pandas()
    assert steady["sku"].nunique() == weekly.skus
    steady["log_units"] = np.log(steady["units"])
    steady["x"] = np.log(steady["value"] / steady["units"]) * steady["sku"].isin(weekly.varying)
    fit = smf.ols("log_units ~ x + C(sku) + C(period)", data=steady).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(steady["sku"])[0]}
    )
    assert fit.params["x"] == pytest.approx(weekly.elasticity, rel=1e-8)
    # statsmodels counts every dummy in its small-sample factor, pyfixest leaves out
    # the SKU effects nested in the SKU clusters: the same errors up to that factor.
    n, k_all = len(steady), fit.df_model + 1
    k_nested = k_all - (steady["sku"].nunique() - 1)
    factor = math.sqrt((n - k_all) / (n - k_nested))
    assert fit.bse["x"] * factor == pytest.approx(weekly.std_error, rel=1e-6)


# --------------------------------------------------------------------------- refusals


def test_flat_prices_are_refused_with_a_clear_message():
    shop = _panel_shop(np.random.default_rng(3), varying=0)
    with pytest.raises(AovlabInputError) as err:
        elasticity(shop)
    text = str(err.value)
    assert "prices never vary within a SKU" in text
    assert "0 of 30 SKUs changed price by more than 2 % beyond the common period effects" in text


def test_too_few_varying_skus_are_refused(shop):
    with pytest.raises(AovlabInputError, match="too few SKUs changed price") as err:
        elasticity(shop, min_skus=6)
    assert "5 of 51 SKUs" in str(err.value)
    small = _panel_shop(np.random.default_rng(4), varying=2)
    with pytest.raises(AovlabInputError, match="2 of 30 SKUs"):
        elasticity(small)


def test_a_shop_wide_price_change_is_not_price_variation():
    """Every SKU 10 % dearer from one week on: the period effects take it, nothing varies."""
    shop = _panel_shop(np.random.default_rng(5), varying=0)
    lines = shop.lines.join(shop.orders.select("order_id", "ordered_at"), on="order_id")
    later = pl.col("ordered_at") >= pl.lit(dt.datetime(2025, 3, 1)).dt.replace_time_zone(
        "Europe/Stockholm"
    )
    lines = lines.with_columns(
        pl.when(later).then(pl.col("unit_price") * 1.1).otherwise(pl.col("unit_price"))
    ).drop("ordered_at")
    moved = ShopData.from_frames(
        shop.orders.drop("merchandise", "total"), lines, currency="EUR", timezone="Europe/Stockholm"
    )
    with pytest.raises(AovlabInputError, match="prices never vary within a SKU"):
        elasticity(moved)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"period": "day"}, "unknown period"),
        ({"period": "quarter"}, "unknown period"),
        ({"min_skus": 0}, "min_skus is out of range"),
        ({"confidence": 1.5}, "confidence level out of range"),
    ],
)
def test_elasticity_bad_inputs(shop, kwargs, match):
    with pytest.raises(AovlabInputError, match=match):
        elasticity(shop, **kwargs)


def test_no_lines_is_refused():
    orders = pl.DataFrame(
        {"order_id": ["1"], "ordered_at": ["2026-01-05 10:00"], "merchandise": [10.0]}
    )
    shop = ShopData.from_frames(orders, currency="EUR")
    with pytest.raises(AovlabInputError, match="needs order lines"):
        elasticity(shop)
    with pytest.raises(AovlabInputError, match="needs order lines"):
        whatif(shop, elasticity=-1.0)


def test_an_empty_window_is_refused(shop):
    with pytest.raises(AovlabInputError, match="no units sold at a positive price"):
        elasticity(shop, when="2030")


# --------------------------------------------------------------------------- what-if


def test_whatif_literal_figures_on_a_tiny_shop():
    res = whatif(_tiny(), top=2, change=0.1, elasticity=-2.0)
    assert res.skus == ["A", "B"]  # B and C sell 2 units each: the tie goes by SKU
    assert res.period == "2025-02..2026-01"
    t = res.table
    a = t.filter(pl.col("sku") == "A").row(0, named=True)
    assert a["units_after"] == pytest.approx(3 / 1.21)
    assert a["price_after"] == pytest.approx(11.0)
    assert a["revenue_before"] == pytest.approx(30.0)
    assert a["revenue_after"] == pytest.approx(30 / 1.1)
    assert a["margin_before"] == pytest.approx(18.0)
    assert a["margin_after"] == pytest.approx(3 / 1.21 * 7)
    assert a["volume_effect"] + a["price_effect"] == pytest.approx(a["margin_change"])
    assert res.before == pytest.approx({"units": 5.0, "revenue": 70.0, "margin": 48.0, "aov": 42.5})
    assert res.after == pytest.approx(
        {
            "units": 5 / 1.21,
            "revenue": 70 / 1.1,
            "margin": 3 / 1.21 * 7 + 2 / 1.21 * 17,
            "aov": (170 - (70 - 70 / 1.1)) / 4,
        }
    )
    d = res.to_dict()
    assert d["margin_change"] == round(3 / 1.21 * 7 + 2 / 1.21 * 17 - 48, 2)
    assert d["skus"] == ["A", "B"] and d["change"] == 0.1 and "changes" not in d
    assert d["before"] == {"units": 5.0, "revenue": 70.0, "margin": 48.0, "aov": 42.5}
    assert res.headline.startswith(
        "Raising the 2 best-sellers' prices by 10 % would lose €2.55 of margin on the last "
        "12 months' sales (2025-02..2026-01), −5.3 % on them, while they sell 17.4 % fewer "
        "units (AOV −3.7 %)."
    )


def test_whatif_elasticity_zero_changes_revenue_by_exactly_the_price_change(shop):
    res = whatif(shop, elasticity=0.0, change=(0.05, -0.1))
    t = res.table
    assert (t["units_after"] == t["units_before"]).all()
    for x in (0.05, -0.1):
        part = t.filter(pl.col("change") == x)
        np.testing.assert_allclose(part["revenue_after"], (1 + x) * part["revenue_before"])
        total = part.filter(pl.col("sku") == TOTAL)
        assert total["revenue_after"][0] == pytest.approx((1 + x) * total["revenue_before"][0])
        assert total["margin_change"][0] == pytest.approx(x * total["revenue_before"][0])
    assert "Changing the 5 best-sellers' prices by +5.0 %" in res.headline
    assert "as many units" in res.headline


def test_whatif_units_follow_the_elasticity_exactly(shop):
    res = whatif(shop, elasticity=-1.2, change=[0.05, 0.10], top=3)
    t = res.table.filter(pl.col("sku") != TOTAL)
    np.testing.assert_allclose(
        t["units_after"], t["units_before"] * (1 + t["change"]) ** -1.2, rtol=1e-12
    )
    assert len(res.skus) == 3 and len(res.table) == 8
    d = res.to_dict()
    assert [c["change"] for c in d["changes"]] == [0.05, 0.10]
    assert d["after"] == d["changes"][0]["after"]
    assert set(d["before"]) == {"units", "revenue", "margin", "aov"}
    assert "by 10 % it would" in res.headline
    json.dumps(d)


def test_whatif_top_sellers_match_hand_written_polars(shop):
    res = whatif(shop, elasticity=-1.0, change=0.05, when="2026-01..2026-06")
    orders = shop.orders.filter(
        pl.col("status") != "cancelled",
        pl.col("ordered_at").dt.strftime("%Y-%m").is_between(pl.lit("2026-01"), pl.lit("2026-06")),
    )
    per_sku = (
        shop.lines.join(orders.select("order_id"), on="order_id")
        .group_by("sku")
        .agg(pl.col("quantity").sum(), (pl.col("quantity") * pl.col("unit_price")).sum().alias("r"))
        .sort(["quantity", "sku"], descending=[True, False])
        .head(5)
    )
    assert res.skus == per_sku["sku"].to_list()
    assert res.before["units"] == pytest.approx(per_sku["quantity"].sum())
    assert res.before["revenue"] == pytest.approx(per_sku["r"].sum())
    net = (orders["merchandise"] - orders["discount"]).sum()
    assert res.before["aov"] == pytest.approx(net / len(orders))
    assert "on the sales of 2026-01..2026-06" in res.headline


def test_whatif_estimates_the_elasticity_when_not_given(shop, weekly):
    res = whatif(shop, change=0.05)
    assert res.elasticity == pytest.approx(weekly.elasticity)
    assert "estimated, 95 % CI" in res.headline
    given = whatif(shop, change=0.05, elasticity=weekly)
    assert given.to_dict() == res.to_dict()


def test_whatif_refuses_to_estimate_on_flat_prices_and_says_to_pass_one():
    with pytest.raises(AovlabInputError, match="pass one") as err:
        whatif(_panel_shop(np.random.default_rng(3), varying=0))
    assert "prices never vary" in str(err.value) or "0 of 30" in str(err.value)


def test_whatif_margin_is_null_without_costs():
    res = whatif(_tiny(costs=False), top=2, change=0.1, elasticity=-2.0)
    assert res.before["margin"] is None or math.isnan(res.before["margin"])
    assert res.table["margin_before"].null_count() == len(res.table)
    assert res.to_dict()["margin_change"] is None
    assert res.headline.startswith("Margin cannot be shown: 2 of the 2 best-sellers have no unit")
    assert "of revenue" in res.headline
    res.chart().to_dict()


def test_whatif_chart_is_a_waterfall_per_change(shop):
    res = whatif(shop, elasticity=-1.2)
    spec = res.chart().to_dict()
    assert "facet" in spec
    values = next(iter(spec["datasets"].values()))
    assert len(values) == 8 and {v["scenario"] for v in values} == {"+5.0 % price", "+10.0 % price"}
    first = res.scenarios[0]
    after = [v for v in values if v["step"] == "After" and v["scenario"] == "+5.0 % price"]
    assert after[0]["high"] == pytest.approx(first["after"]["margin"], abs=1e-6)
    assert "Orders are assumed unchanged" in res.sections()[0].note


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top": 0}, "top is out of range"),
        ({"top": 2.5}, "top is out of range"),
        ({"change": -1.0}, "price change out of range"),
        ({"change": [0.05, -1.5]}, "price change out of range"),
        ({"change": float("nan")}, "price change out of range"),
        ({"change": []}, "price change out of range"),
        ({"elasticity": float("inf")}, "elasticity is not finite"),
        ({"elasticity": "high"}, "elasticity is not a number"),
        ({"when": "2030"}, "no units sold in 2030"),
    ],
)
def test_whatif_bad_inputs(kwargs, match):
    args = {"elasticity": -1.0, **kwargs}
    with pytest.raises(AovlabInputError, match=match):
        whatif(_tiny(), **args)


# --------------------------------------------------------------------------- backends


def test_pandas_in_pandas_out_with_identical_figures(shop, shop_pd, weekly):
    res = elasticity(shop_pd)
    assert isinstance(res.table, pd.DataFrame)
    assert res.to_dict() == weekly.to_dict()
    w_pl, w_pd = whatif(shop, elasticity=-1.2), whatif(shop_pd, elasticity=-1.2)
    assert isinstance(w_pd.table, pd.DataFrame)
    assert w_pd.to_dict() == w_pl.to_dict()
    pd.testing.assert_frame_equal(w_pd.table, w_pl.table.to_pandas(), check_dtype=False)


def test_tiny_shop_pandas_equals_polars():
    a = whatif(_tiny(pd.DataFrame), top=2, change=0.1, elasticity=-2.0)
    b = whatif(_tiny(), top=2, change=0.1, elasticity=-2.0)
    assert isinstance(a.table, pd.DataFrame) and a.to_dict() == b.to_dict()


def test_the_callers_frames_are_not_changed():
    shop = _tiny(pd.DataFrame)
    before = shop.lines.copy()
    whatif(shop, top=2, change=0.1, elasticity=-2.0)
    pd.testing.assert_frame_equal(shop.lines, before)


def test_when_restricts_the_panel(shop):
    res = elasticity(shop, period="month", when="2025-09..2026-10")
    assert res.periods == 14 and res.window == "2025-09..2026-10"
    assert res.skus_with_variation == 5
    # Before the rise no price changed: nothing to estimate from.
    with pytest.raises(AovlabInputError, match="prices never vary within a SKU"):
        elasticity(shop, period="month", when="2024-11..2026-02")
