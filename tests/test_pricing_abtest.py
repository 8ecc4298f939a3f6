"""The price A/B test read-out: literal figures, independent computations, the planted
test, simulations of the error rates, the split check, pandas = polars, bad input."""

from __future__ import annotations

import dataclasses
import importlib
import json
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats import proportion as smp
from statsmodels.stats.power import tt_ind_solve_power

from aovlab import ShopData
from aovlab.errors import AovlabInputError
from aovlab.sample import TRUTH

# The module (the package may export the function under the same name).
ab = importlib.import_module("aovlab.pricing.abtest")

KEYS = {
    "arms",
    "aov",
    "conversion",
    "revenue_per_visitor",
    "srm_p_value",
    "sample_size_per_arm",
    "days_needed",
    "headline",
    "currency",
}


def _orders(values: dict[str | None, list[float]], days: int = 5) -> dict[str, list]:
    """Orders with the given values per arm, spread over ``days`` days from 2026-05-04."""
    rows: dict[str, list] = {"order_id": [], "ordered_at": [], "merchandise": [], "ab_arm": []}
    i = 0
    for arm, vals in values.items():
        for v in vals:
            rows["order_id"].append(str(i + 1))
            rows["ordered_at"].append(f"2026-05-{4 + i % days:02d} 12:00")
            rows["merchandise"].append(float(v))
            rows["ab_arm"].append(arm)
            i += 1
    return rows


def _traffic(sessions: dict[str | None, float], days: int = 5) -> dict[str, list]:
    """Sessions per arm spread evenly over the test's days (and a day without an arm)."""
    rows: dict[str, list] = {"date": [], "arm": [], "sessions": []}
    for arm, total in sessions.items():
        for d in range(days):
            rows["date"].append(f"2026-05-{4 + d:02d}")
            rows["arm"].append(arm)
            rows["sessions"].append(total / days)
    rows["date"].append("2026-06-01")  # outside the test: never counted
    rows["arm"].append("A")
    rows["sessions"].append(999.0)
    return rows


def _tiny(native=pl.DataFrame, *, traffic: bool = True) -> ShopData:
    """Arm A: 10, 20, 30, 40 (100 sessions); arm B: 20 .. 60 (120 sessions); a cancelled
    order and an order outside the test carry no weight."""
    orders = _orders({"A": [10, 20, 30, 40], "B": [20, 30, 40, 50, 60], None: [500]})
    orders["order_id"].append("99")
    orders["ordered_at"].append("2026-05-05 13:00")
    orders["merchandise"].append(1000.0)
    orders["ab_arm"].append("B")
    orders["status"] = ["paid"] * (len(orders["order_id"]) - 1) + ["cancelled"]
    tables = {"traffic": native(_traffic({"A": 100.0, "B": 120.0, None: 50.0}))} if traffic else {}
    return ShopData.from_frames(native(orders), currency="EUR", **tables)


# --------------------------------------------------------------------------- literal figures


def test_tiny_shop_literal_figures():
    res = ab.abtest(_tiny())
    assert res.control == "A" and res.treatment == "B"
    assert res.period == "2026-05-04..2026-05-08" and res.days == 5
    table = res.table
    assert isinstance(table, pl.DataFrame)
    assert table["arm"].to_list() == ["A", "B"]
    assert table["orders"].to_list() == [4, 5]
    assert table["sessions"].to_list() == [100.0, 120.0]
    assert table["aov"].to_list() == pytest.approx([25.0, 40.0])
    assert table["revenue"].to_list() == pytest.approx([100.0, 200.0])
    assert table["conversion"].to_list() == pytest.approx([0.04, 5 / 120])
    assert table["revenue_per_visitor"].to_list() == pytest.approx([1.0, 200 / 120])
    a = res.aov
    assert a["control"] == pytest.approx(25.0) and a["treatment"] == pytest.approx(40.0)
    assert a["diff"] == pytest.approx(15.0) and a["lift"] == pytest.approx(0.6)
    # Sessions 100 against 120 with an even split intended: chi-square 200 / 110.
    assert res.srm["basis"] == "sessions"
    assert res.srm["p_value"] == pytest.approx(stats.chi2.sf(200 / 110, 1))
    assert res.srm["control_share"] == pytest.approx(100 / 220)
    # Sample size: effect 0.05 x 25 over the pooled sd sqrt((3 x 166.67 + 4 x 250) / 7).
    effect = 0.05 * 25 / math.sqrt((3 * 500 / 3 + 4 * 250) / 7)
    n = math.ceil(tt_ind_solve_power(effect_size=effect, alpha=0.05, power=0.8))
    assert res.sample_size_per_arm == n
    normal = 2 * (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) ** 2 / effect**2
    assert n == pytest.approx(normal, rel=0.01)
    # Nine orders in five days: 1.8 a day for both arms together.
    assert res.days_needed == math.ceil(2 * n / 1.8)
    d = res.to_dict()
    assert set(d) == KEYS
    assert d["arms"] == [
        {
            "arm": "A",
            "orders": 4,
            "aov": 25.0,
            "sessions": 100,
            "conversion": 0.04,
            "revenue_per_visitor": 1.0,
        },
        {
            "arm": "B",
            "orders": 5,
            "aov": 40.0,
            "sessions": 120,
            "conversion": 0.041667,
            "revenue_per_visitor": 1.67,
        },
    ]
    assert set(d["aov"]) == set(ab.COMPARISON_KEYS)
    assert set(d["conversion"]) == set(d["revenue_per_visitor"]) == set(ab.COMPARISON_KEYS)
    assert d["aov"]["diff"] == 15.0 and d["aov"]["lift"] == 0.6
    json.dumps(d)


def test_tiny_shop_headline_reads_the_numbers():
    res = ab.abtest(_tiny())
    text = res.headline
    assert text.startswith("Arm B's AOV is 60.0 % higher than A's (€40.00 against €25.00; 95 % CI")
    assert f"p = {res.aov['p_value']:.2f}" in text and "not significant" in text
    assert "converts 4.2 % more sessions" in text
    assert "revenue per visitor: +66.7 %" in text
    assert f"needs about {ab._round_up(res.sample_size_per_arm):,} orders per arm" in text
    assert f"about {res.days_needed:,} days" in text
    assert "(the test has 4 and 5 in 5 days)" in text
    assert "mismatch" not in text


# --------------------------------------------------------------------------- independent


def _random_shop(native=pl.DataFrame, seed: int = 7) -> tuple[ShopData, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = np.round(rng.lognormal(4.3, 0.9, 60), 2)
    b = np.round(rng.lognormal(4.4, 0.9, 75), 2)
    orders = _orders({"ctl": a.tolist(), "new": b.tolist()}, days=20)
    traffic = _traffic({"ctl": 3000.0, "new": 2950.0}, days=20)
    shop = ShopData.from_frames(native(orders), traffic=native(traffic), currency="EUR")
    return shop, a, b


def test_aov_equals_scipy_welch_on_the_raw_values():
    shop, a, b = _random_shop()
    res = ab.abtest(shop, confidence=0.9)
    t = stats.ttest_ind(b, a, equal_var=False)
    ci = t.confidence_interval(confidence_level=0.9)
    assert res.aov["p_value"] == pytest.approx(t.pvalue, rel=1e-9)
    assert res.aov["diff"] == pytest.approx(b.mean() - a.mean(), rel=1e-12)
    assert res.aov["diff_ci_low"] == pytest.approx(ci.low, rel=1e-9)
    assert res.aov["diff_ci_high"] == pytest.approx(ci.high, rel=1e-9)
    # Per-arm AOV interval: the skew-corrected t of aovlab.intervals on the arm's values.
    from aovlab import intervals

    low, high = intervals.t_interval(
        np.array([a.size, b.size]),
        np.array([a.mean(), b.mean()]),
        np.array([a.std(ddof=1), b.std(ddof=1)]),
        0.9,
        skew=np.array([stats.skew(a), stats.skew(b)]),
    )
    assert res.table["aov_ci_low"].to_list() == pytest.approx(low.tolist(), rel=1e-9)
    assert res.table["aov_ci_high"].to_list() == pytest.approx(high.tolist(), rel=1e-9)


def test_lift_interval_is_where_welch_on_the_ratio_does_not_reject():
    shop, a, b = _random_shop(seed=11)
    res = ab.abtest(shop)
    low, high = 1 + res.aov["lift_ci_low"], 1 + res.aov["lift_ci_high"]
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size

    def t_stat(rho: float) -> float:
        return (b.mean() - rho * a.mean()) / math.sqrt(vb + rho**2 * va)

    grid = np.linspace(0.5, 2.0, 30001)
    df = (vb + (b.mean() / a.mean()) ** 2 * va) ** 2 / (
        vb**2 / (b.size - 1) + ((b.mean() / a.mean()) ** 2 * va) ** 2 / (a.size - 1)
    )
    kept = grid[np.abs([t_stat(r) for r in grid]) <= stats.t.ppf(0.975, df)]
    assert kept.min() == pytest.approx(low, abs=1e-4)
    assert kept.max() == pytest.approx(high, abs=1e-4)
    # At rho = 1 the test is the difference's: the interval holds 0 iff p >= 0.05.
    assert (low <= 1 <= high) == (res.aov["p_value"] >= 0.05)


def test_conversion_equals_statsmodels_on_the_counts():
    shop, a, b = _random_shop()
    res = ab.abtest(shop)
    args = (b.size, 2950, a.size, 3000)
    diff = smp.confint_proportions_2indep(*args, method="score", compare="diff")
    ratio = smp.confint_proportions_2indep(*args, method="score", compare="ratio")
    test = smp.test_proportions_2indep(*args, method="score", compare="diff")
    c = res.conversion
    assert c["control"] == pytest.approx(60 / 3000) and c["treatment"] == pytest.approx(75 / 2950)
    assert (c["diff_ci_low"], c["diff_ci_high"]) == pytest.approx(diff)
    assert (c["lift_ci_low"] + 1, c["lift_ci_high"] + 1) == pytest.approx(ratio)
    assert c["p_value"] == pytest.approx(test.pvalue)
    # Without the score method's small-sample correction the test is the pooled z-test.
    p = (a.size + b.size) / 5950
    z = (75 / 2950 - 60 / 3000) / math.sqrt(p * (1 - p) * (1 / 2950 + 1 / 3000))
    assert c["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=0.01)


def test_revenue_per_visitor_equals_welch_on_per_session_values():
    shop, a, b = _random_shop()
    res = ab.abtest(shop)
    # One order per converting session; every other session is worth 0.
    sa = np.concatenate([a, np.zeros(3000 - a.size)])
    sb = np.concatenate([b, np.zeros(2950 - b.size)])
    t = stats.ttest_ind(sb, sa, equal_var=False)
    r = res.revenue_per_visitor
    assert r["control"] == pytest.approx(sa.mean()) and r["treatment"] == pytest.approx(sb.mean())
    assert r["p_value"] == pytest.approx(t.pvalue, rel=1e-7)
    ci = t.confidence_interval()
    assert (r["diff_ci_low"], r["diff_ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-7)


# --------------------------------------------------------------------------- planted test


def test_recovers_the_planted_test(shop):
    truth = TRUTH["ab_test"]
    res = ab.abtest(shop)
    assert (res.control, res.treatment) == tuple(truth["arms"])
    assert res.period == f"{truth['start']}..{truth['end']}"
    assert res.aov["lift_ci_low"] <= truth["aov_lift_b"] <= res.aov["lift_ci_high"]
    conv = res.conversion
    assert conv["lift_ci_low"] <= truth["conversion_lift_b"] <= conv["lift_ci_high"]
    assert res.sessions_source == "arm"
    # The same window given explicitly gives the same read-out.
    again = ab.abtest(shop, when="2026-05")
    assert again.period == "2026-05" and again.aov == res.aov and again.days == res.days


def test_no_sample_ratio_mismatch_on_the_sample(shop):
    """The sample's sessions are split 50/50 (TRUTH["ab_test"]): no mismatch is flagged."""
    res = ab.abtest(shop)
    assert res.srm["basis"] == "sessions" and res.srm["p_value"] >= ab.SRM_ALPHA
    assert not res.srm_mismatch and not res.headline.startswith("Sample-ratio mismatch")


def test_variant_found_when_not_named(shop):
    assert ab.abtest(shop, None).variant == "ab_arm"
    plain = dataclasses.replace(shop, orders=shop.orders.drop("ab_arm"), traffic=None)
    with pytest.raises(AovlabInputError, match="no order column looks like a test's arms"):
        ab.abtest(plain, None)


def test_orders_split_evenly_on_the_sample_without_traffic(shop):
    res = ab.abtest(dataclasses.replace(shop, traffic=None))
    assert res.srm["basis"] == "orders" and res.srm["p_value"] >= ab.SRM_ALPHA
    assert res.conversion is None and res.revenue_per_visitor is None
    assert "need sessions per arm: the shop has no traffic table." in res.headline
    d = res.to_dict()
    assert d["conversion"] is None and d["revenue_per_visitor"] is None
    assert [r["sessions"] for r in d["arms"]] == [None, None]


# --------------------------------------------------------------------------- simulations


def _heavy(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    """Lognormal order values (sigma 1) and 1 % business orders worth 20 baskets."""
    x = rng.lognormal(np.log(80), 1.0, n)
    x[rng.random(n) < 0.01] *= 20
    return x * scale


def _side(x: np.ndarray) -> tuple[float, float, float]:
    return x.size, float(x.mean()), float(x.std(ddof=1))


def test_aa_tests_on_heavy_tails_are_significant_about_5_percent_of_the_time():
    rng = np.random.default_rng(20260504)
    runs = 1500
    p = np.array(
        [ab.welch(_side(_heavy(rng, 300)), _side(_heavy(rng, 300)))["p_value"] for _ in range(runs)]
    )
    rate = float((p < 0.05).mean())
    # 1,500 runs: one standard error is 0.6 points at 5 %; 15 % would be far outside.
    assert 0.025 <= rate <= 0.08, rate


def test_lift_interval_covers_a_planted_lift():
    rng = np.random.default_rng(31)
    runs = 1000
    hits = 0
    for _ in range(runs):
        out = ab.welch(_side(_heavy(rng, 300)), _side(_heavy(rng, 300, scale=1.05)))
        hits += out["lift_ci_low"] <= 0.05 <= out["lift_ci_high"]
    coverage = hits / runs
    assert 0.93 <= coverage <= 0.985, coverage


def test_full_read_outs_of_aa_shops_rarely_call_a_difference():
    rng = np.random.default_rng(5)
    significant = 0
    for _ in range(20):
        values = {"A": _heavy(rng, 200).round(2).tolist(), "B": _heavy(rng, 200).round(2).tolist()}
        shop = ShopData.from_frames(pl.DataFrame(_orders(values, days=14)), currency="EUR")
        res = ab.abtest(shop)
        significant += res.aov["p_value"] < 0.05
        assert res.srm["basis"] == "orders"
    assert significant <= 4  # at a 5 % rate, 5 or more in 20 happens 0.3 % of the time


# --------------------------------------------------------------------------- split check


def _split_shop(sessions_a: float, sessions_b: float) -> ShopData:
    rng = np.random.default_rng(3)
    values = {"A": _heavy(rng, 120).round(2).tolist(), "B": _heavy(rng, 110).round(2).tolist()}
    orders = pl.DataFrame(_orders(values, days=10))
    traffic = pl.DataFrame(_traffic({"A": sessions_a, "B": sessions_b}, days=10))
    return ShopData.from_frames(orders, traffic=traffic, currency="EUR")


def test_a_55_45_split_is_flagged_first():
    shop = _split_shop(5500.0, 4500.0)
    res = ab.abtest(shop)
    assert res.srm_mismatch and res.srm["p_value"] == pytest.approx(
        stats.chisquare([5500, 4500]).pvalue
    )
    assert res.headline.startswith(
        "Sample-ratio mismatch: arm A has 55.0 % of the sessions where 50 % was intended"
    )
    assert res.to_dict()["headline"].startswith("Sample-ratio mismatch")
    assert "Sample-ratio mismatch" in res._repr_html_().split("<table")[0]
    # The same counts with a 55/45 split intended are no mismatch.
    ok = ab.abtest(shop, expected_split=0.55)
    assert not ok.srm_mismatch and not ok.headline.startswith("Sample")
    assert ok.srm["p_value"] == pytest.approx(1.0)


def test_split_on_orders_says_conversion_shifts_them():
    rng = np.random.default_rng(4)
    values = {"A": _heavy(rng, 300).round(2).tolist(), "B": _heavy(rng, 200).round(2).tolist()}
    shop = ShopData.from_frames(pl.DataFrame(_orders(values)), currency="EUR")
    res = ab.abtest(shop)
    assert res.srm["basis"] == "orders" and res.srm_mismatch
    first = res.headline.split(". ")[0]
    assert "of the orders" in first and "a conversion difference also shifts orders" in first


# --------------------------------------------------------------------------- backends


def test_pandas_in_pandas_out_with_identical_figures(shop, shop_pd):
    res_pl, res_pd = ab.abtest(shop), ab.abtest(shop_pd)
    assert isinstance(res_pd.table, pd.DataFrame) and isinstance(res_pl.table, pl.DataFrame)
    assert res_pd.to_dict() == res_pl.to_dict()
    got = pl.from_pandas(res_pd.table)
    for column in res_pl.table.columns:
        if column == "arm":
            assert got[column].to_list() == res_pl.table[column].to_list()
        else:
            assert got[column].to_list() == pytest.approx(res_pl.table[column].to_list(), rel=1e-9)
    tiny_pd = ab.abtest(_tiny(pd.DataFrame))
    assert isinstance(tiny_pd.table, pd.DataFrame)
    assert tiny_pd.to_dict() == ab.abtest(_tiny()).to_dict()


def test_caller_data_is_not_mutated():
    orders = pd.DataFrame(_orders({"A": [10, 20], "B": [30, 40, 50]}))
    before = orders.copy()
    ab.abtest(ShopData.from_frames(orders, currency="EUR"))
    pd.testing.assert_frame_equal(orders, before)


# --------------------------------------------------------------------------- arms


def _three() -> ShopData:
    orders = _orders({"A": [10, 20, 30], "B": [20, 30, 40], "C": [40, 50, 60, 70]})
    return ShopData.from_frames(pl.DataFrame(orders), currency="EUR")


def test_three_arms_need_a_treatment_and_take_one():
    with pytest.raises(AovlabInputError, match="has 3 arms") as err:
        ab.abtest(_three())
    assert "arms A, B, C" in str(err.value)
    res = ab.abtest(_three(), treatment="C")
    assert (res.control, res.treatment) == ("A", "C")
    assert res.table["orders"].to_list() == [3, 4]
    res = ab.abtest(_three(), control="B", treatment="C")
    assert res.aov["control"] == pytest.approx(30.0) and res.aov["treatment"] == pytest.approx(55)
    res = ab.abtest(_three(), treatment="A")
    assert (res.control, res.treatment) == ("B", "A")
    assert ab.abtest(_tiny(), control="B").treatment == "A"


def test_variant_columns():
    from aovlab import sample

    assert ab.variant_columns(sample.load()) == ["ab_arm"]
    orders = _orders({"A": [10, 20], "B": [30, 40], None: [5] * 6})
    orders["device"] = ["mobile", "desktop"] * 5
    orders["bucket_x"] = ["1", "2"] * 5
    orders["promo"] = ["x", "y", None, None, None, None, None, None, None, None]
    orders["store"] = [str(i) for i in range(10)]
    shop = ShopData.from_frames(pl.DataFrame(orders), currency="EUR")
    # Named like a test first, then the emptier columns; device and store are not arms.
    assert ab.variant_columns(shop) == ["ab_arm", "bucket_x", "promo"]


# --------------------------------------------------------------------------- display


def test_sections_chart_and_repr():
    res = ab.abtest(_tiny())
    sections = res.sections()
    assert [s.title for s in sections[1:]] == [
        "AOV: B against A",
        "Conversion: B against A",
        "Revenue per visitor: B against A",
    ]
    assert "no sample-ratio mismatch" in sections[0].note
    assert sections[1].table["p_value"].to_list() == [f"{res.aov['p_value']:.2f}"]
    html = res._repr_html_()
    assert html.index("Arm B&#x27;s AOV") < html.index("<table")
    spec = res.chart().to_dict()
    assert len(spec["vconcat"]) == 4  # AOV, conversion, revenue per visitor, lifts
    lone = ab.abtest(_tiny(traffic=False))
    assert len(lone.chart().to_dict()["vconcat"]) == 2
    assert "sessions" not in lone.sections()[0].table.columns


def test_sessions_unknown_say_why():
    orders = pl.DataFrame(_orders({"A": [10, 20, 30], "B": [20, 30, 40]}))
    no_arm = pl.DataFrame({"date": ["2026-05-04"], "sessions": [100.0]})
    res = ab.abtest(ShopData.from_frames(orders, traffic=no_arm, currency="EUR"))
    assert res.conversion is None
    assert "the traffic table has no arm column (ab_arm, arm, variant)." in res.headline
    only_a = pl.DataFrame(_traffic({"A": 100.0}))
    res = ab.abtest(ShopData.from_frames(orders, traffic=only_a, currency="EUR"))
    assert res.conversion is None and res.srm["basis"] == "orders"
    assert "no sessions for arm B in 2026-05-04..2026-05-08." in res.headline


# --------------------------------------------------------------------------- bad input


def test_missing_variant_column_lists_the_columns():
    with pytest.raises(AovlabInputError, match="is not an order column") as err:
        ab.abtest(_tiny(), "arm_b")
    text = str(err.value)
    assert "column 'arm_b'" in text and "columns present:" in text and "ab_arm" in text
    assert "look like test arms: ab_arm" in text


def test_one_arm_and_no_arm_are_refused():
    shop = ShopData.from_frames(pl.DataFrame(_orders({"A": [1, 2, 3]})), currency="EUR")
    with pytest.raises(AovlabInputError, match="only one test arm") as err:
        ab.abtest(shop)
    assert "one arm: A" in str(err.value)
    with pytest.raises(AovlabInputError, match="no counted orders carry a test arm"):
        ab.abtest(_tiny(), when="2026-07")


def test_unknown_arms_are_refused():
    with pytest.raises(AovlabInputError, match="control arm is not in the data") as err:
        ab.abtest(_tiny(), control="Z")
    assert "one of the arms found: A, B" in str(err.value)
    with pytest.raises(AovlabInputError, match="same arm"):
        ab.abtest(_tiny(), control="A", treatment="A")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expected_split": 0}, "expected_split is out of range"),
        ({"expected_split": 1.0}, "expected_split is out of range"),
        ({"expected_split": 1.5}, "expected_split is out of range"),
        ({"expected_split": math.nan}, "expected_split is out of range"),
        ({"lift": 0}, "lift is out of range"),
        ({"lift": -0.05}, "lift is out of range"),
        ({"power": 1.2}, "power is out of range"),
        ({"power": 0}, "power is out of range"),
        ({"alpha": 0}, "alpha is out of range"),
        ({"alpha": 1}, "alpha is out of range"),
        ({"power": 0.04, "alpha": 0.05}, "power is not above the significance level"),
        ({"confidence": 1.0}, "confidence level out of range"),
        ({"basis": "gross_margin"}, "unknown revenue basis"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(AovlabInputError, match=message):
        ab.abtest(_tiny(), **kwargs)


def test_fewer_sessions_than_orders_is_refused():
    orders = pl.DataFrame(_orders({"A": [10, 20, 30], "B": [20, 30]}))
    traffic = pl.DataFrame(_traffic({"A": 2.0, "B": 50.0}))
    shop = ShopData.from_frames(orders, traffic=traffic, currency="EUR")
    with pytest.raises(AovlabInputError, match="fewer sessions than orders") as err:
        ab.abtest(shop)
    assert "arm A: 2 sessions, 3 orders" in str(err.value)
