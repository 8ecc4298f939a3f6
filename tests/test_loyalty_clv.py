"""CLV: the customer summary on a hand-made shop, the BG/NBD and Gamma-Gamma formulas
against simulation and an independent form, parameter recovery, the holdout on the
sample shop, the result, and bad inputs. (The published CDNOW example is in
test_real_cdnow_clv.py.)"""

from __future__ import annotations

import datetime as dt
import json

import altair as alt
import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import special

from aovlab import ShopData, metrics
from aovlab.errors import AovlabInputError
from aovlab.loyalty import lifetime as clv

CDNOW = (0.243, 4.414, 0.793, 2.426)  # Fader, Hardie & Lee (2005)


# --------------------------------------------------------------------------- helpers


def simulate_bgnbd(rng, n, params, weeks, t_hold=0.0):
    """Customers from BG/NBD, observed for T weeks and then a holdout of t_hold weeks.

    λ ~ Gamma(r, α), p ~ Beta(a, b); the customer makes K ~ Geometric(p) repeat
    purchases before dropping out (the drop-out follows a purchase). N Poisson(λ(T+t))
    arrivals while alive, N1 of them before T; the x-th arrival before T is the T·Beta(x,
    N1−x+1) order statistic of uniform times. Returns x, t_x, T, holdout count, alive at T.
    """
    r, alpha, a, b = params
    age = np.broadcast_to(np.asarray(weeks, float), (n,)).copy()
    lam = rng.gamma(r, 1 / alpha, n)
    k = rng.geometric(rng.beta(a, b, n))
    total = rng.poisson(lam * (age + t_hold))
    first = rng.binomial(total, age / (age + t_hold)) if t_hold else total
    x = np.minimum(k, first)
    t_x = np.where(x > 0, age * rng.beta(np.maximum(x, 1), np.maximum(first - x + 1, 1)), 0.0)
    hold = np.where(k > first, np.minimum(k, total) - first, 0)
    return x.astype(float), t_x, age, hold, k > first


def simulate_gamma_gamma(rng, n, params):
    """Repeat customers: x ≥ 1 transactions with mean m ~ Gamma(px, rate xν), ν ~ Gamma(q, γ)."""
    p, q, g = params
    x = 1 + rng.poisson(2.0, n)
    nu = rng.gamma(q, 1 / g, n)
    return x.astype(float), rng.gamma(p * x, 1 / (x * nu))


def log_se(loglik, estimate, step=1e-4):
    """Standard errors of the log-parameters from the observed information (finite differences
    of the summed log-likelihood, which is independent of the fit's analytic gradient)."""
    theta = np.log(np.asarray(estimate, float))
    k = len(theta)
    hess = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * step, np.eye(k)[j] * step

            def f(d):
                return loglik(tuple(np.exp(theta + d)))

            hess[i, j] = (f(e_i + e_j) - f(e_i - e_j) - f(-e_i + e_j) + f(-e_i - e_j)) / (
                4 * step * step
            )
    return np.sqrt(np.diag(np.linalg.inv(-hess)))


def _tiny(native=pl.DataFrame, customers=None) -> ShopData:
    """Three customers and a guest, in Stockholm time (UTC+1 in winter).

    c1 orders twice on 5 January (one transaction worth 30), then on 19 January (40)
    and 2 February (60). c2 orders on 12 January and at 00:30 on 13 January (the 12th
    in UTC, the 13th in Stockholm: two days), and on 20 February (in the holdout).
    c3 orders once, on 26 January.
    """
    orders = native(
        {
            "order_id": [str(i) for i in range(1, 10)],
            "customer_id": ["c1", "c1", "c1", "c1", "c2", "c2", "c2", "c3", None],
            "ordered_at": [
                "2026-01-05 10:00",
                "2026-01-05 23:30",
                "2026-01-19 09:00",
                "2026-02-02 12:00",
                "2026-01-12 08:00",
                "2026-01-13 00:30",
                "2026-02-20 10:00",
                "2026-01-26 15:00",
                "2026-01-20 11:00",
            ],
            "merchandise": [20.0, 10.0, 40.0, 60.0, 50.0, 70.0, 25.0, 80.0, 99.0],
        }
    )
    return ShopData.from_frames(
        orders, customers=customers, currency="EUR", timezone="Europe/Stockholm"
    )


# --------------------------------------------------------------------------- the summary


def test_summary_literal_three_customers():
    s = clv.summary(_tiny(), "2026-02-09", holdout_end="2026-03-01")
    assert isinstance(s, pl.DataFrame)
    expected = pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "first_order": [dt.date(2026, 1, 5), dt.date(2026, 1, 12), dt.date(2026, 1, 26)],
            "x": [2, 1, 0],
            # The calibration's last day is 8 February.
            "t_x": [28 / 7, 1 / 7, 0.0],
            "T": [34 / 7, 27 / 7, 13 / 7],
            "monetary_value": [(40 + 60) / 2, 70.0, None],
            "holdout_x": [0, 1, 0],
            "margin_rate": [None, None, None],
        },
        schema_overrides={"margin_rate": pl.Float64},
    )
    assert s.equals(expected)
    # pandas in, pandas out, with the same figures.
    s_pd = clv.summary(_tiny(pd.DataFrame), "2026-02-09", holdout_end="2026-03-01")
    assert isinstance(s_pd, pd.DataFrame)
    assert s_pd["x"].tolist() == [2, 1, 0]
    np.testing.assert_allclose(s_pd["T"], [34 / 7, 27 / 7, 13 / 7])
    # Without a holdout: no holdout column; c3 (first order 26 January) is not in yet.
    s = clv.summary(_tiny(), "2026-01-20")
    assert s.columns == [
        "customer_id",
        "first_order",
        "x",
        "t_x",
        "T",
        "monetary_value",
        "margin_rate",
    ]
    assert s["customer_id"].to_list() == ["c1", "c2"] and s["x"].to_list() == [1, 1]


def test_summary_on_the_sample_matches_hand_written_polars(shop):
    cal, hold = dt.date(2026, 5, 1), dt.date(2026, 11, 1)
    s = clv.summary(shop, cal, holdout_end=hold).sort("customer_id")
    orders = metrics.order_table(shop).to_native()
    days = (
        orders.filter(pl.col("customer_id").is_not_null())
        .with_columns(pl.col("ordered_at").dt.date().alias("day"))
        .filter(pl.col("day") < hold)
        .group_by("customer_id", "day")
        .agg(pl.col("value").sum(), (pl.col("net_value") - pl.col("cogs")).sum().alias("m"))
        .sort("customer_id", "day")
    )
    cal_days = days.filter(pl.col("day") < cal)
    per = (
        cal_days.group_by("customer_id")
        .agg(
            (pl.len() - 1).alias("x"),
            ((pl.col("day").max() - pl.col("day").min()).dt.total_days() / 7).alias("t_x"),
            ((pl.lit(cal) - pl.col("day").min()).dt.total_days() - 1).alias("age_days"),
            pl.col("value").slice(1).mean().alias("monetary_value"),
            (pl.col("m").sum() / pl.col("value").sum()).alias("margin_rate"),
        )
        .join(
            days.filter(pl.col("day") >= cal).group_by("customer_id").agg(pl.len().alias("h")),
            on="customer_id",
            how="left",
        )
        .sort("customer_id")
    )
    assert s["customer_id"].to_list() == per["customer_id"].to_list()
    assert s["x"].to_list() == per["x"].to_list()
    np.testing.assert_allclose(s["t_x"], per["t_x"], atol=1e-12)
    np.testing.assert_allclose(s["T"], per["age_days"] / 7, atol=1e-12)
    np.testing.assert_allclose(
        s["monetary_value"].fill_null(-1), per["monetary_value"].fill_null(-1), rtol=1e-12
    )
    np.testing.assert_allclose(s["margin_rate"], per["margin_rate"], rtol=1e-9)
    assert s["holdout_x"].to_list() == per["h"].fill_null(0).to_list()


# --------------------------------------------------------------------------- formulas


def test_conditional_expectation_equals_the_untransformed_formula():
    """The Euler-transformed form against FHL's eq. 10 written out, where it does not overflow."""
    r, alpha, a, b = CDNOW
    for x, t_x, age, t in [
        (0, 0, 38.86, 39),
        (2, 30.43, 38.86, 39),
        (7, 20, 60, 52),
        (30, 50, 60, 520),
    ]:
        z = t / (alpha + age + t)
        raw = (
            (a + b + x - 1)
            / (a - 1)
            * (
                1
                - ((alpha + age) / (alpha + age + t)) ** (r + x)
                * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
            )
        )
        if x > 0:
            raw /= 1 + a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x)
        assert clv.bgnbd_conditional_expected(CDNOW, t, x, t_x, age) == pytest.approx(raw, rel=1e-9)
    # A new customer (FHL eq. 9), and a frequent buyer where eq. 10 overflows (nan).
    new = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + 39)) ** r * special.hyp2f1(r, b, a + b - 1, 39 / (alpha + 39)))
    )
    assert clv.bgnbd_expected(CDNOW, 39) == pytest.approx(new, rel=1e-9)
    big = clv.bgnbd_conditional_expected(CDNOW, 52, [300, 2000], [99.0, 99.0], [100.0, 100.0])
    assert np.all(np.isfinite(big)) and 0 < big[1] < big[0] < (r + 300) / (alpha + 100) * 52


@pytest.mark.parametrize(
    "params", [CDNOW, (0.9, 14.2, 1e6, 3e6)], ids=["cdnow", "one-dropout-probability"]
)
def test_predictions_match_simulated_customers(params):
    """E[X(t)], E[Y(t) | x, t_x, T] and P(alive) against customers simulated from the model.

    The second set is a fit where every customer shares one drop-out probability (a and
    b huge, p = 0.25): there the transformed 2F1 overflows and the limit form is used.
    """
    rng = np.random.default_rng(14)
    n, age, t = 200_000, 39.0, 39.0
    x, t_x, age_, hold, alive = simulate_bgnbd(rng, n, params, age, t_hold=t)
    # A new customer's repeat transactions in (0, 39].
    assert x.mean() == pytest.approx(clv.bgnbd_expected(params, age), abs=4 * x.std() / np.sqrt(n))
    predicted = clv.bgnbd_conditional_expected(params, t, x, t_x, age_)
    assert np.all(np.isfinite(predicted))
    p_alive = clv.bgnbd_p_alive(params, x, t_x, age_)
    for lo, hi in [(0, 0), (1, 1), (2, 3), (4, 7), (8, 10_000)]:
        pick = (x >= lo) & (x <= hi)
        m = pick.sum()
        assert m > 1_000
        se = hold[pick].std() / np.sqrt(m)
        assert abs(predicted[pick].mean() - hold[pick].mean()) < 4 * se, (lo, hi)
        se = alive[pick].std() / np.sqrt(m)
        assert abs(p_alive[pick].mean() - alive[pick].mean()) < 4 * se + 1e-3, (lo, hi)


def test_gamma_gamma_value_is_the_posterior_mean():
    """E[M | x, m] (Fader & Hardie 2013, eq. 5) against simulated customers' true mean spend."""
    rng = np.random.default_rng(5)
    p, q, g = 6.25, 3.74, 15.44
    x, m = simulate_gamma_gamma(rng, 400_000, (p, q, g))
    # Redraw to know each customer's ν: the true mean spend is p / ν.
    nu = rng.gamma(q, 1 / g, 400_000)
    m = rng.gamma(p * x, 1 / (x * nu))
    predicted = clv.gamma_gamma_conditional_value((p, q, g), x, m)
    for lo, hi in [(0, 20), (20, 35), (35, 1e9)]:
        pick = (m >= lo) & (m < hi)
        truth = p / nu[pick]
        assert abs(predicted[pick].mean() - truth.mean()) < 4 * truth.std() / np.sqrt(pick.sum())
    assert clv.gamma_gamma_conditional_value((p, q, g), 0, np.nan) == pytest.approx(p * g / (q - 1))


# --------------------------------------------------------------------------- recovery


def test_bgnbd_recovers_known_parameters():
    """30,000 simulated customers, ages 4-78 weeks: each parameter within 4 standard errors
    (from the observed information), and those errors small enough (under 12 % on the log
    scale) that a mis-specified likelihood would miss: e.g. using t_x in place of T in the
    first term moves α and r by far more than that."""
    rng = np.random.default_rng(2005)
    truth = (0.6, 8.0, 0.8, 2.5)
    ages = rng.uniform(4, 78, 30_000)
    x, t_x, age_, _, _ = simulate_bgnbd(rng, 30_000, truth, ages)
    fit = clv.fit_bgnbd(x, t_x, age_)
    se = log_se(lambda th: clv.bgnbd_log_likelihood(th, x, t_x, age_).sum(), fit.params)
    assert np.all(se < 0.12)
    z = (np.log(fit.params) - np.log(truth)) / se
    assert np.all(np.abs(z) < 4), (fit, se)
    assert fit.log_likelihood == pytest.approx(
        clv.bgnbd_log_likelihood(fit.params, x, t_x, age_).sum(), rel=1e-12
    )


def test_gamma_gamma_recovers_known_parameters():
    rng = np.random.default_rng(2013)
    truth = (6.25, 3.74, 15.44)
    x, m = simulate_gamma_gamma(rng, 20_000, truth)
    fit = clv.fit_gamma_gamma(x, m)
    se = log_se(lambda th: clv.gamma_gamma_log_likelihood(th, x, m).sum(), fit.params)
    assert np.all(se < 0.12)
    assert np.all(np.abs((np.log(fit.params) - np.log(truth)) / se) < 4), (fit, se)
    assert fit.mean_value == pytest.approx(6.25 * 15.44 / 2.74, rel=0.05)


# --------------------------------------------------------------------------- the analysis


@pytest.fixture(scope="module")
def res(shop):
    return clv.clv(shop, cac=25.0)


def test_holdout_on_the_sample_is_within_ten_percent(res):
    h = res.holdout
    assert (res.calibration_end, res.holdout_end, h["weeks"]) == ("2026-05-03", "2026-11-01", 26)
    assert abs(h["predicted_orders"] / h["actual_orders"] - 1) < 0.10
    table = res.holdout_table
    assert table["frequency"].to_list() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].sum() == h["customers"]
    assert table["actual_orders"].sum() == h["actual_orders"]
    assert table["predicted_orders"].sum() == pytest.approx(h["predicted_orders"], abs=0.01)
    # More repeat orders before the holdout, more in it: predicted and actual.
    for col in ("predicted_per_customer", "actual_per_customer"):
        assert table[col][-1] > 2 * table[col][0]


def test_clv_groups_add_up_and_match_independent_figures(res, shop):
    rows = {r["group"]: r for r in res.rows()}
    assert list(rows) == ["member", "non_member", "all"]
    members = shop.customers.filter(pl.col("loyalty_member"))["customer_id"]
    registered = metrics.order_table(shop)["customer_id"].drop_nulls().unique()
    assert rows["member"]["customers"] == registered.is_in(members.implode()).sum()
    assert rows["member"]["customers"] + rows["non_member"]["customers"] == 5_161
    total = rows["member"]["clv_total"] + rows["non_member"]["clv_total"]
    assert rows["all"]["clv_total"] == pytest.approx(total, abs=0.02)
    # Historic CLV per customer: the same as the customer KPIs' gross margin per customer.
    kpi = metrics.customer_kpis(shop, when="2024-11..2026-10").rows()[0]
    assert rows["all"]["historic_clv"] == pytest.approx(kpi["clv_historic"], abs=0.01)
    assert rows["all"]["clv_to_cac"] == pytest.approx(rows["all"]["clv_mean"] / 25.0, abs=1e-3)
    # The planted effect: members order 25 % more often after joining and spend 12 % more.
    assert rows["member"]["clv_mean"] > rows["non_member"]["clv_mean"]
    # The histogram holds every customer once per group.
    dist = res.distribution
    for name, row in rows.items():
        part = dist.filter(pl.col("group") == name)
        assert part["customers"].sum() == row["customers"]
        assert part["share"].sum() == pytest.approx(1.0)
    hist = res.historic
    assert hist.filter(pl.col("group") == "all")["customers"].sum() == 5_161


def test_to_dict_headline_and_charts(res):
    d = json.loads(json.dumps(res.to_dict()))
    assert {"bgnbd", "gamma_gamma", "customers", "holdout", "clv_12m"} <= set(d)
    assert set(d["bgnbd"]) >= {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(d["gamma_gamma"]) >= {"p", "q", "gamma"}
    assert set(d["holdout"]) >= {"predicted_orders", "actual_orders"}
    assert set(d["clv_12m"]) == {"mean", "median", "total"}
    assert d["customers"] == 5_161 and d["margin_source"] == "costs"
    money = metrics.fmt.in_currency("EUR")[0]
    text = res.headline
    assert text.startswith("Over the next 12 months each of 5,161 customers")
    assert money(d["clv_12m"]["mean"]) in text and money(d["clv_12m"]["median"]) in text
    assert f"against {d['holdout']['actual_orders']:,} actual" in text
    assert "CLV : CAC is" in text
    rows = {r["group"]: r for r in d["groups"]}
    assert (
        f"members {money(rows['member']['clv_mean'])}, non-members "
        f"{money(rows['non_member']['clv_mean'])} (a comparison, not the programme's effect)"
    ) in text
    assert isinstance(res.chart(), alt.FacetChart) and isinstance(res.chart("holdout"), alt.Chart)
    spec = res.chart().to_dict()
    assert spec["spec"]["mark"]["type"] == "bar" and "facet" in spec
    assert len(res.sections()) == 3 and "<table" in res._repr_html_()
    with pytest.raises(AovlabInputError, match="unknown CLV chart"):
        res.chart("pie")


def test_pandas_gives_pandas_with_the_same_figures(res, shop_pd):
    res_pd = clv.clv(shop_pd, cac=25.0)
    assert isinstance(res_pd.table, pd.DataFrame) and isinstance(res_pd.historic, pd.DataFrame)
    assert isinstance(res_pd.distribution, pd.DataFrame)
    assert res_pd.to_dict() == res.to_dict()


def test_pandas_without_customers_table_gives_pandas(shop, shop_pd):
    def bare(s):
        return ShopData.from_frames(s.orders, s.lines, currency="EUR", timezone=s.timezone)

    res_pl, res_pd = clv.clv(bare(shop), "2026-05-03"), clv.clv(bare(shop_pd), "2026-05-03")
    for name in ("table", "holdout_table", "distribution", "historic"):
        assert isinstance(getattr(res_pd, name), pd.DataFrame)
        assert isinstance(getattr(res_pl, name), pl.DataFrame)
    # Equal to the last digit: the engines' money sums are taken to a millionth before
    # the fits, so the order of additions does not move them.
    assert res_pd.to_dict() == res_pl.to_dict()


def test_without_customers_table_everyone_is_one_group(shop):
    tables = {"orders": shop.orders, "lines": shop.lines}
    bare = ShopData.from_frames(
        tables["orders"], tables["lines"], currency="EUR", timezone=shop.timezone
    )
    out = clv.clv(bare, "2026-05-03")
    assert [r["group"] for r in out.rows()] == ["all"]
    assert "members" not in out.headline


def test_before_the_programme_there_are_no_members(shop):
    # The programme launched on 2025-06-01: nobody is a member by 2025-05-01.
    out = clv.clv(shop, "2025-03-01", "2025-05-01")
    assert [r["group"] for r in out.rows()] == ["non_member", "all"]
    assert out.group("non_member")["customers"] == out.group("all")["customers"]
    assert "members" not in out.headline
    assert set(out.distribution["group"].to_list()) == {"non_member", "all"}


def test_margin_rate_given_and_revenue(shop):
    base = clv.clv(shop, "2026-05-03", margin_rate=1.0)
    half = clv.clv(shop, "2026-05-03", margin_rate=0.5)
    assert half.margin_source == "given"
    assert half.group("all")["clv_mean"] == pytest.approx(
        base.group("all")["clv_mean"] / 2, abs=0.01
    )
    assert "Margin at the given rate of 50.0 % of revenue" in half.headline
    longer = clv.clv(shop, "2026-05-03", horizon_months=24)
    assert "clv_24m" in longer.to_dict()
    short = clv.clv(shop, "2026-05-03")
    assert longer.group("all")["clv_mean"] > 1.8 * short.group("all")["clv_mean"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calibration_end": "2026-13-45"}, "calibration_end is not a date"),
        ({"calibration_end": "May 2026"}, "calibration_end is not a date"),
        ({"calibration_end": "2020-01-01"}, "calibration_end is outside the data"),
        ({"calibration_end": "2027-01-01"}, "calibration_end is outside the data"),
        (
            {"calibration_end": "2026-05-01", "holdout_end": "2026-04-01"},
            "would end before it starts",
        ),
        ({"calibration_end": "2026-05-01", "holdout_end": "2027-01-01"}, "past the end"),
        ({"horizon_months": 0}, "horizon_months is out of range"),
        ({"cac": -5.0}, "cac is out of range"),
        ({"margin_rate": 1.5}, "margin_rate is out of range"),
        ({"basis": "profit"}, "basis"),
    ],
)
def test_bad_inputs_are_refused(shop, kwargs, message):
    with pytest.raises(AovlabInputError, match=message) as err:
        clv.clv(shop, **kwargs)
    assert "expected" in str(err.value)


def test_too_few_customers_and_no_repeat_customers():
    with pytest.raises(AovlabInputError, match="too few customers") as err:
        clv.clv(_tiny(), "2026-02-09")
    assert "found:    3 customers, 2 repeat customers" in str(err.value)
    # 40 customers who never come back: nothing to fit the spend model on.
    orders = pl.DataFrame(
        {
            "order_id": [str(i) for i in range(41)],
            "customer_id": [f"c{i}" for i in range(40)] + ["c0"],
            "ordered_at": [f"2026-01-{1 + i % 28:02d} 10:00" for i in range(40)] + ["2026-03-01"],
            "merchandise": [50.0] * 41,
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR", timezone="UTC")
    with pytest.raises(AovlabInputError, match="too few customers") as err:
        clv.clv(shop, "2026-02-15")
    assert "0 repeat customers" in str(err.value)


def test_non_convergence_is_reported(monkeypatch):
    real = clv.optimize.minimize

    def two_steps(*args, **kwargs):
        kwargs["options"] = {**kwargs["options"], "maxiter": 2}
        return real(*args, **kwargs)

    monkeypatch.setattr(clv.optimize, "minimize", two_steps)
    rng = np.random.default_rng(1)
    x, t_x, age_, _, _ = simulate_bgnbd(rng, 2_000, CDNOW, 39.0)
    with pytest.raises(AovlabInputError, match="the BG/NBD fit did not converge") as err:
        clv.fit_bgnbd(x, t_x, age_)
    assert "ITERATIONS REACHED LIMIT" in str(err.value)


def test_the_headline_warns_when_the_holdout_check_is_far_off(shop):
    # Two weeks of calibration against 23 months of holdout: the prediction is far off
    # and the headline says to treat the CLV with caution.
    res = clv.clv(shop, "2024-11-15")
    assert abs(res.holdout["relative_error"]) > clv.CAUTION
    assert "treat the CLV with caution" in res.headline
    fine = clv.clv(shop)
    assert "caution" not in fine.headline
    # Without a CAC: the most a new customer may cost to pay back within the horizon.
    assert "CLV : CAC is 1 at a CAC of €" in fine.headline
    assert fine.to_dict()["clv"] == fine.to_dict()["clv_12m"]
    short = clv.clv(shop, "2026-10-25")
    assert "-day holdout" in short.headline and "checks little" in short.headline
