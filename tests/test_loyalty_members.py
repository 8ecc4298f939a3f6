"""Members against non-members: literal figures, independent intervals, coverage, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import stats

from aovlab import ShopData
from aovlab.errors import AovlabInputError
from aovlab.loyalty.members import MEASURES, Members, compare_members, ratio_interval
from aovlab.model import EXCLUDED_STATUSES

TZ = "Europe/Stockholm"
WINDOW = "2026-01..2026-03"


def _orders(native=pl.DataFrame):
    rows = [
        ("1", "m1", "2026-01-05 10:00", 10.0, "paid", False),
        ("2", "m1", "2026-02-10 10:00", 30.0, "paid", False),
        ("3", "m1", "2026-02-11 10:00", 500.0, "cancelled", False),  # not counted
        ("4", "m2", "2026-03-03 10:00", 50.0, "paid", False),
        ("5", "m2", "2025-12-20 10:00", 70.0, "paid", False),  # before the window
        ("6", "m2", "2026-03-04 10:00", 900.0, "paid", True),  # a test order
        ("7", "n1", "2026-01-07 10:00", 20.0, "paid", False),
        ("8", "n2", "2026-01-08 10:00", 10.0, "paid", False),
        ("9", "n2", "2026-02-08 10:00", 10.0, "paid", False),
        ("10", "n2", "2026-03-08 10:00", 40.0, "paid", False),
        ("11", "n3", "2026-02-20 10:00", 60.0, "paid", False),  # not in the customers table
        ("12", "m3", "2026-03-30 10:00", 30.0, "paid", False),  # joins after the window
        ("13", None, "2026-02-01 10:00", 1000.0, "paid", False),  # a guest
    ]
    cols = list(zip(*rows, strict=True))
    return native(
        {
            "order_id": list(cols[0]),
            "customer_id": list(cols[1]),
            "ordered_at": list(cols[2]),
            "merchandise": list(cols[3]),
            "status": list(cols[4]),
            "test": list(cols[5]),
        }
    )


def _customers(native=pl.DataFrame, member=(True, True, False, False, True), joined=None):
    return native(
        {
            "customer_id": ["m1", "m2", "n1", "n2", "m3"],
            "loyalty_member": list(member),
            "loyalty_joined_at": list(
                joined or ["2025-12-01", "2026-01-20", None, None, "2026-04-15"]
            ),
        }
    )


def _shop(native=pl.DataFrame, customers=None) -> ShopData:
    return ShopData.from_frames(
        _orders(native),
        customers=_customers(native) if customers is None else customers,
        currency="EUR",
        timezone=TZ,
    )


# The working, 2026-01..2026-03 (counted orders of registered customers; the cancelled,
# test, guest and December orders left out):
#   members m1 (10 + 30) and m2 (50): 2 customers, 3 orders, 90 -> AOV 30, 1.5 orders
#   and 45 revenue per customer, 1 of 2 ordered twice;
#   non-members n1 (20), n2 (10 + 10 + 40), n3 (60, not in the customers table) and m3
#   (30, joins on 15 April, after the window): 4 customers, 6 orders, 170 -> AOV
#   28.3333, 1.5 orders and 42.5 revenue per customer, 1 of 4 repeats.
# AOV residuals r - AOV n: members -20, +20 (s^2 = 800, se = sqrt(800 / 2) / 1.5);
# non-members -8.333, -25, +31.667, +1.667 (s^2 = 1700 / 3, se = sqrt(s^2 / 4) / 1.5).


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
def test_tiny_shop_literal(native):
    res = compare_members(_shop(native), WINDOW)
    assert isinstance(res, Members) and isinstance(res.table, native)
    out = res.to_dict()
    m, n = out["members"], out["non_members"]
    assert {k: m[k] for k in ("customers", "orders", "repeat_customers")} == {
        "customers": 2,
        "orders": 3,
        "repeat_customers": 1,
    }
    assert (m["aov"], m["orders_per_customer"], m["revenue_per_customer"]) == (30.0, 1.5, 45.0)
    assert m["repeat_rate"] == 0.5
    assert (n["customers"], n["orders"], n["aov"]) == (4, 6, 28.33)
    assert (n["orders_per_customer"], n["revenue_per_customer"], n["repeat_rate"]) == (
        1.5,
        42.5,
        0.25,
    )
    # No unit costs: no margin, never a partial one.
    assert m["margin_per_customer"] is None and n["margin_per_customer_ci_low"] is None
    assert out["naive_aov_gap"]["estimate"] == 1.67
    assert out["period"] == WINDOW
    json.dumps(out)


def test_tiny_shop_aov_interval_by_hand():
    res = compare_members(_shop(), WINDOW)
    t_m, t_n = stats.t.ppf(0.975, 1), stats.t.ppf(0.975, 3)
    se_m = np.sqrt(800 / 2) / 1.5
    se_n = np.sqrt(1700 / 3 / 4) / 1.5
    m, n = res.group("member"), res.group("non_member")
    assert m["aov_ci_low"] == pytest.approx(round(30 - t_m * se_m, 2))
    assert m["aov_ci_high"] == pytest.approx(round(30 + t_m * se_m, 2))
    assert n["aov_ci_low"] == pytest.approx(round(170 / 6 - t_n * se_n, 2))
    # The gap: Welch on the two standard errors.
    v_m, v_n = se_m**2, se_n**2
    df = (v_m + v_n) ** 2 / (v_m**2 / 1 + v_n**2 / 3)
    half = stats.t.ppf(0.975, df) * np.sqrt(v_m + v_n)
    gap = res.naive_aov_gap
    assert gap["ci_low"] == pytest.approx(round(30 - 170 / 6 - half, 2))
    assert gap["ci_high"] == pytest.approx(round(30 - 170 / 6 + half, 2))


def test_tiny_shop_headline_and_chart():
    res = compare_members(_shop(), WINDOW)
    assert res.headline.startswith(
        "Members' orders were €1.67 larger than non-members' in 2026-01..2026-03 "
        "(€30.00 against €28.33; 95 % interval of the gap"
    )
    assert "not the programme's effect: who joins is not random" in res.headline
    chart = res.chart().to_dict()
    # One panel per measure with costs known for neither group's margin: four panels,
    # each titled by its measure and unit.
    titles = [p["layer"][0]["encoding"]["x"]["title"] for p in chart["vconcat"]]
    assert titles == [
        "AOV (EUR)",
        "Orders per customer",
        "Revenue per customer (EUR)",
        "Repeat rate (%)",
    ]
    assert "<table" in res._repr_html_()


def test_ratio_interval_literal():
    est, se, low, high = ratio_interval(3, 90.0, 4.0, 3500.0, 6.0, 140.0)
    assert est[0] == 22.5
    assert se[0] == pytest.approx(np.sqrt(237.5 / 2 / 3) / (4 / 3))
    assert (low[0], high[0]) == pytest.approx(
        stats.t.interval(0.95, 2, loc=22.5, scale=np.sqrt(237.5 / 2 / 3) / (4 / 3))
    )
    assert np.isnan(ratio_interval(1, 10.0, 1.0, 100.0, 1.0, 10.0)[1][0])


# --------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sample_res(shop):
    return compare_members(shop)


def _sample_by_hand(shop_pd: ShopData) -> pd.DataFrame:
    """Counted registered orders in the default window, with membership, in plain pandas."""
    o = shop_pd.orders
    t = o["ordered_at"]
    start = pd.Timestamp("2025-11-01", tz=TZ)
    end = pd.Timestamp("2026-11-01", tz=TZ)
    keep = (
        ~o["status"].isin(EXCLUDED_STATUSES)
        & ~o["test"].astype(bool)
        & o["customer_id"].notna()
        & (t >= start)
        & (t < end)
    )
    o = o[keep]
    c = shop_pd.customers
    joined = c["loyalty_joined_at"]
    member = (c["loyalty_member"].astype(bool) | joined.notna()) & (joined.isna() | (joined < end))
    members = set(c.loc[member, "customer_id"])
    return pd.DataFrame(
        {
            "customer": o["customer_id"].to_numpy(),
            "value": (o["merchandise"] - o["discount"].fillna(0)).to_numpy(),
            "member": o["customer_id"].isin(members).to_numpy(),
        }
    )


def test_sample_matches_statsmodels_cluster_robust(sample_res, shop_pd):
    import statsmodels.api as sm
    from statsmodels.stats.proportion import proportion_confint

    frame = _sample_by_hand(shop_pd)
    for flag, name in ((True, "member"), (False, "non_member")):
        part = frame[frame["member"] == flag]
        groups = pd.factorize(part["customer"])[0]
        fit = sm.OLS(part["value"].to_numpy(), np.ones(len(part))).fit(
            cov_type="cluster", cov_kwds={"groups": groups}
        )
        row = sample_res.group(name)
        customers = part["customer"].nunique()
        assert row["customers"] == customers and row["orders"] == len(part)
        assert row["aov"] == pytest.approx(fit.params[0], abs=0.006)
        half = stats.t.ppf(0.975, customers - 1) * fit.bse[0]
        assert row["aov_ci_low"] == pytest.approx(fit.params[0] - half, abs=0.006)
        assert row["aov_ci_high"] == pytest.approx(fit.params[0] + half, abs=0.006)
        per = part.groupby("customer")["value"].agg(["size", "sum"])
        assert row["orders_per_customer"] == pytest.approx(per["size"].mean(), abs=1e-6)
        assert row["revenue_per_customer"] == pytest.approx(per["sum"].mean(), abs=0.006)
        repeat = int((per["size"] >= 2).sum())
        low, high = proportion_confint(repeat, customers, method="wilson")
        assert row["repeat_customers"] == repeat
        assert (row["repeat_rate_ci_low"], row["repeat_rate_ci_high"]) == pytest.approx(
            (low, high), abs=1e-6
        )


def test_sample_pandas_equals_polars(sample_res, shop_pd):
    res_pd = compare_members(shop_pd)
    assert isinstance(res_pd.table, pd.DataFrame) and isinstance(sample_res.table, pl.DataFrame)
    assert res_pd.to_dict() == sample_res.to_dict()


def test_sample_members_spend_more_per_order_and_order_more(sample_res):
    # Members joined at random and, after joining, buy 12 % larger baskets 25 % more often
    # (sample.TRUTH): the naive gaps are positive, the AOV gap no larger than the planted
    # 12 % allows (some of the members' orders in the window came before they joined).
    out = sample_res.to_dict()
    gap, non = out["naive_aov_gap"], out["non_members"]["aov"]
    assert gap["ci_low"] > 0 and gap["ci_low"] < 0.12 * non
    assert out["gaps"]["orders_per_customer"]["ci_low"] > 0
    assert out["gaps"]["repeat_rate"]["ci_low"] > 0
    for key in ("members", "non_members"):
        group = out[key]
        for m in MEASURES:
            assert group[f"{m}_ci_low"] < group[m] < group[f"{m}_ci_high"]
    assert out["members"]["margin_per_customer"] is not None
    assert sample_res.headline.startswith("Members' orders were €8.81 larger than non-members'")
    panels = sample_res.chart().to_dict()["vconcat"]
    assert len(panels) == 5  # every measure, two groups each


# --------------------------------------------------------------------------- simulation


def test_aov_interval_coverage_by_simulation():
    """The cluster interval holds the true AOV ~95 % of the time; an orders-as-independent one does not.

    400 customers per run; 1 + Poisson(gamma(0.7) rate) orders each; each customer's own
    mean basket (lognormal, sigma 0.5) and lognormal orders around it (sigma 0.6). The
    true AOV (the ratio of expected revenue to expected orders) is the mean basket,
    exp(4 + 0.5^2 / 2), since basket and frequency are drawn independently.
    """
    rng = np.random.default_rng(20_261_203)
    runs, n = 2000, 400
    truth = np.exp(4 + 0.5**2 / 2)
    held = naive = 0
    for _ in range(runs):
        orders = 1 + rng.poisson(rng.gamma(0.7, 2.0, n))
        own = np.exp(rng.normal(4, 0.5, n))
        who = np.repeat(np.arange(n), orders)
        values = own[who] * np.exp(rng.normal(-0.18, 0.6, who.size))
        revenue = np.bincount(who, values, n)
        _, _, low, high = ratio_interval(
            n,
            revenue.sum(),
            orders.sum(),
            (revenue**2).sum(),
            (orders**2.0).sum(),
            (revenue * orders).sum(),
        )
        held += bool(low[0] <= truth <= high[0])
        lo, hi = stats.t.interval(
            0.95,
            values.size - 1,
            loc=values.mean(),
            scale=values.std(ddof=1) / np.sqrt(values.size),
        )
        naive += bool(lo <= truth <= hi)
    # +- 2 Monte-Carlo standard errors (0.5 points each) around 95 %.
    assert 0.93 <= held / runs <= 0.97
    assert naive / runs < 0.88


# --------------------------------------------------------------------------- bad input


def test_no_customers_table_refused():
    shop = ShopData.from_frames(_orders(), currency="EUR", timezone=TZ)
    with pytest.raises(AovlabInputError, match="customers table"):
        compare_members(shop, WINDOW)


def test_customers_without_membership_refused():
    customers = pl.DataFrame({"customer_id": ["m1", "n1"], "country": ["SE", "SE"]})
    with pytest.raises(AovlabInputError, match="loyalty member") as err:
        compare_members(_shop(customers=customers), WINDOW)
    assert "loyalty_joined_at" in str(err.value)


def test_no_members_refused():
    customers = _customers(member=(False,) * 5, joined=[None] * 4 + ["2026-04-15"])
    with pytest.raises(AovlabInputError, match="no loyalty members") as err:
        compare_members(_shop(customers=customers), WINDOW)
    assert "6 customers, all non-members" in str(err.value)


def test_no_non_members_refused():
    customers = pl.DataFrame(
        {
            "customer_id": ["m1", "m2", "n1", "n2", "n3", "m3"],
            "loyalty_member": [True] * 6,
        }
    )
    with pytest.raises(AovlabInputError, match="no non-members") as err:
        compare_members(_shop(customers=customers), WINDOW)
    assert "all members" in str(err.value)


def test_empty_window_refused():
    with pytest.raises(AovlabInputError, match="no counted orders in 2030-01") as err:
        compare_members(_shop(), "2030-01")
    assert "the data runs from 2025-12-20 to 2026-03-30" in str(err.value)


def test_bad_confidence_refused():
    with pytest.raises(AovlabInputError, match="confidence"):
        compare_members(_shop(), WINDOW, confidence=95)
