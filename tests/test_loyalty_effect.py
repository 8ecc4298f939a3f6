"""The programme's effect: a hand-worked shop, recovery, selection, coverage, refusals."""

from __future__ import annotations

import datetime as dt

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import polars as pl
import pytest

import aovlab
from aovlab import ShopData
from aovlab.errors import AovlabInputError
from aovlab.loyalty.effect import effect

TZ = "Europe/Stockholm"


def at(y: int, m: int, d: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, 12, 0)


def hand_shop(native=pl.DataFrame, extra=(), extra_signup="2025-12-01", **changes) -> ShopData:
    """One member who joins in April 2026, one never-member; both signed up in December.

    Member M1: Feb 100, Mar 100 (base), joins 15 Apr, May 120 + 120, Jun 120.
    Control C1: Feb 50, Mar 50, May 55, Jun 60.
    """
    rows = [
        ("o1", "M1", at(2026, 2), 100.0),
        ("o2", "M1", at(2026, 3), 100.0),
        ("o3", "M1", at(2026, 5, 3), 120.0),
        ("o4", "M1", at(2026, 5, 20), 120.0),
        ("o5", "M1", at(2026, 6), 120.0),
        ("o6", "C1", at(2026, 2), 50.0),
        ("o7", "C1", at(2026, 3), 50.0),
        ("o8", "C1", at(2026, 5), 55.0),
        ("o9", "C1", at(2026, 6), 60.0),
        *extra,
    ]
    orders = native(
        {
            "order_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "ordered_at": [r[2] for r in rows],
            "merchandise": [r[3] for r in rows],
            "status": ["paid"] * len(rows),
        }
    )
    customers = {
        "customer_id": ["M1", "C1"],
        "signed_up_at": ["2025-12-01", "2025-12-01"],
        "loyalty_member": [True, False],
        "loyalty_joined_at": ["2026-04-15", None],
    }
    customers.update(changes)
    for name in {r[1] for r in extra} - {"M1", "C1"}:  # never-members
        for column, value in (("customer_id", name), ("signed_up_at", extra_signup)):
            customers[column] = [*customers[column], value]
        customers["loyalty_member"] = [*customers["loyalty_member"], False]
        customers["loyalty_joined_at"] = [*customers["loyalty_joined_at"], None]
    return ShopData.from_frames(orders, customers=native(customers), currency="EUR", timezone=TZ)


def row(res, measure):
    frame = nw.from_native(res.table, eager_only=True)
    return frame.filter(nw.col("measure") == measure).rows(named=True)[0]


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
@pytest.mark.parametrize("match", ["acquisition", "none"])
def test_hand_worked_difference_in_differences(native, match):
    res = effect(hand_shop(native), pre_months=2, min_members=1, n_boot=20, match=match)
    # Base (Feb, Mar): member 2 orders for 200 (AOV 100); control 2 orders for 100 (50).
    # May: control 1 order of 55 -> orders0 = 2 * 1 / 2 = 1, aov0 = 100 * 55 / 50 = 110.
    # Jun: control 1 order of 60 -> orders0 = 1, aov0 = 100 * 60 / 50 = 120.
    # Member: 3 orders for 360 over 2 member-months; counterfactual 2 orders, and
    # revenue at the counterfactual AOV 2 * 110 + 1 * 120 = 340.
    aov, freq = row(res, "aov"), row(res, "orders_per_member_year")
    assert aov["members"] == pytest.approx(120.0)
    assert aov["counterfactual"] == pytest.approx(340 / 3)
    assert aov["effect"] == pytest.approx(120 - 340 / 3)
    assert aov["relative"] == pytest.approx(360 / 340 - 1)
    # Per member and year: 1.5 and 1.0 orders a member-month are 18 and 12 a year.
    assert freq["members"] == pytest.approx(18.0)
    assert freq["counterfactual"] == pytest.approx(12.0)
    assert freq["effect"] == pytest.approx(6.0)
    assert freq["relative"] == pytest.approx(0.5)
    # Before joining the member's orders were 100 against the control's 50; after
    # joining 120 against the control's (55 + 60) / 2 weighted by the member's orders
    # (2 in May at 55, 1 in June at 60): 120 - 170 / 3. Of that, the counterfactual
    # 340 / 3 minus the controls' 170 / 3 was there before (selection).
    assert res.pre_aov_gap == pytest.approx(50.0)
    assert res.post_aov_gap == pytest.approx(120 - 170 / 3)
    assert res.selection == pytest.approx(340 / 3 - 170 / 3)
    assert res.members_used == 1 and res.cohorts == 1
    assert isinstance(res.table, native)
    ev = nw.from_native(res.event_time, eager_only=True)
    assert ev["months_since_joining"].to_list() == list(range(-2, 13))
    may = ev.filter(nw.col("months_since_joining") == 1).rows(named=True)[0]
    assert may["aov"] == pytest.approx(120.0) and may["aov_counterfactual"] == pytest.approx(110.0)
    assert may["orders_per_member_year"] == 24 and may["orders_counterfactual"] == 12
    # The joining month (April, no orders) is shown but not in the estimate.
    april = ev.filter(nw.col("months_since_joining") == 0).rows(named=True)[0]
    assert april["orders_per_member_year"] == 0


def test_a_later_joiner_is_a_control_only_before_joining():
    # C1 joins in June: a control for the April cohort in May (not yet joined), not in
    # June. N1 never joins: Feb 50, Mar 50, no order in May, two in June.
    extra = [
        ("n1", "N1", at(2026, 2), 50.0),
        ("n2", "N1", at(2026, 3), 50.0),
        ("n3", "N1", at(2026, 6, 5), 50.0),
        ("n4", "N1", at(2026, 6, 25), 50.0),
    ]
    res = effect(
        hand_shop(
            extra=extra,
            loyalty_member=[True, True],
            loyalty_joined_at=["2026-04-15", "2026-06-02"],
        ),
        pre_months=2,
        min_members=1,
        n_boot=20,
    )
    freq = row(res, "orders_per_member_year")
    # May: controls C1 + N1, base 4 orders, May 1 -> orders0 = 2 * 1 / 4 = 0.5.
    # June: N1 alone, base 2, June 2 -> orders0 = 2 * 2 / 2 = 2 (with C1 it would be 1.5).
    assert freq["members"] == pytest.approx(12 * 1.5)
    assert freq["counterfactual"] == pytest.approx(12 * 1.25)
    # C1's own cohort (June) has no month after joining in the data: not counted.
    assert res.members_used == 1 and res.cohorts == 1


# --------------------------------------------------------------------------- recovery


@pytest.fixture(scope="module")
def sample_effect():
    return effect(aovlab.sample.load())


def test_recovers_the_sample_shops_planted_effects(sample_effect):
    truth = aovlab.sample.TRUTH["loyalty"]
    aov, freq = sample_effect.aov, sample_effect.frequency
    assert aov["relative_ci_low"] < truth["aov_lift"] < aov["relative_ci_high"]
    assert freq["relative_ci_low"] < truth["frequency_lift"] < freq["relative_ci_high"]
    # Both are clearly positive: the intervals exclude zero.
    assert aov["relative_ci_low"] > 0 and freq["relative_ci_low"] > 0
    # Members join at random in the sample: no selection to speak of before joining.
    assert abs(sample_effect.pre_aov_gap) < 0.05 * aov["counterfactual"]
    assert sample_effect.members_used > 1000


def test_the_headline_and_json(sample_effect):
    text = sample_effect.headline
    assert text.startswith("Joining changed members' orders by +€")
    assert "95 % interval" in text and "members with 6 months of history" in text
    d = sample_effect.to_dict()
    assert set(d["aov_effect"]) >= {"estimate", "ci_low", "ci_high"}
    assert d["frequency_effect"]["unit"] == "orders per member per year"
    assert d["frequency_effect"]["estimate"] == pytest.approx(
        sample_effect.frequency["effect"], abs=1e-3
    )
    assert len(d["event_time"]) == 6 + 12 + 1


def test_same_seed_same_interval_and_pandas_equals_polars():
    shop = selection_shop(3, n=1500)
    a = effect(shop, n_boot=30, seed=7)
    b = effect(shop, n_boot=30, seed=7)
    assert a.aov == b.aov and a.frequency == b.frequency
    p = effect(shop.to_backend("pandas"), n_boot=30, seed=7)
    for key in ("effect", "ci_low", "ci_high", "relative"):
        assert p.aov[key] == pytest.approx(a.aov[key])
        assert p.frequency[key] == pytest.approx(a.frequency[key])
    assert isinstance(p.table, pd.DataFrame)


# --------------------------------------------------------------------------- selection


def selection_shop(
    seed: int,
    *,
    n: int = 3000,
    months: int = 24,
    launch: int = 8,
    aov_lift: float = 0.10,
    rate_lift: float = 0.20,
    selection: float = 1.5,
) -> ShopData:
    """Heavy buyers join more often; joining multiplies basket and order rate by known amounts.

    Customers differ in order rate (gamma) and in typical basket (lognormal). The chance
    of joining rises with both (a logistic in their standardised logs, slope
    ``selection``). December sells 40 % more orders, 10 % larger. A member is treated
    from their join month on; the estimator leaves that month out.
    """
    rng = np.random.default_rng(seed)
    rate = rng.gamma(1.0, 0.25, n)
    value = np.exp(rng.normal(np.log(80.0), 0.35, n))
    z = (np.log(rate) - np.log(rate).mean()) / np.log(rate).std()
    z += (np.log(value) - np.log(value).mean()) / np.log(value).std()
    joins = rng.random(n) < 1 / (1 + np.exp(-(-1.0 + selection * z / 2)))
    entry = rng.integers(0, months - 4, n)
    join = np.maximum(entry + 1, launch) + rng.geometric(1 / 5, n) - 1
    member = joins & (join < months)
    join = np.where(member, join, months + 99)
    month = np.arange(months)
    december = (month % 12) == 11
    treated = month[None, :] >= join[:, None]
    live = month[None, :] >= entry[:, None]
    mean = rate[:, None] * (1 + 0.4 * december)[None, :] * np.where(treated, 1 + rate_lift, 1.0)
    counts = rng.poisson(mean * live)
    cust, mon = np.nonzero(counts)
    reps = counts[cust, mon]
    cust, mon = np.repeat(cust, reps), np.repeat(mon, reps)
    basket = value[cust] * (1 + 0.1 * december[mon]) * np.where(treated[cust, mon], 1 + aov_lift, 1)
    basket = basket * np.exp(rng.normal(-0.125, 0.5, len(cust)))
    day = rng.integers(1, 29, len(cust))
    start = np.datetime64("2024-01", "M")
    when = (start + mon).astype("datetime64[D]") + (day - 1)
    ids = np.char.add("K", np.arange(n).astype(str))
    orders = pl.DataFrame(
        {
            "order_id": np.char.add("o", np.arange(len(cust)).astype(str)),
            "customer_id": ids[cust],
            "ordered_at": when.astype("datetime64[us]") + np.timedelta64(12, "h"),
            "merchandise": np.round(basket, 2),
            "status": "paid",
        }
    )
    join_day = (start + np.minimum(join, months - 1)).astype("datetime64[D]") + rng.integers(
        0, 28, n
    )
    customers = pl.DataFrame(
        {
            "customer_id": ids,
            "signed_up_at": (start + entry).astype("datetime64[D]").astype(str),
            "loyalty_member": member,
            "loyalty_joined_at": pl.Series(join_day.astype(str)).zip_with(
                pl.Series(member), pl.Series([None] * n, dtype=pl.String)
            ),
        }
    )
    return ShopData.from_frames(orders, customers=customers, currency="EUR", timezone=TZ)


def naive_relative_gap(shop: ShopData) -> float:
    orders = shop.orders.join(
        shop.customers.select("customer_id", "loyalty_member"), on="customer_id"
    )
    aov = orders.group_by("loyalty_member").agg(pl.col("merchandise").mean())
    by = dict(zip(aov["loyalty_member"], aov["merchandise"], strict=True))
    return by[True] / by[False] - 1


def test_selection_the_naive_gap_is_far_above_the_truth_and_the_estimate_holds_it():
    shop = selection_shop(11)
    naive = naive_relative_gap(shop)
    assert naive > 0.25  # members' orders are far larger than non-members'...
    res = effect(shop, n_boot=100)
    aov, freq = res.aov, res.frequency
    # ... but joining made them 10 % larger and 20 % more frequent.
    assert aov["relative_ci_low"] < 0.10 < aov["relative_ci_high"]
    assert freq["relative_ci_low"] < 0.20 < freq["relative_ci_high"]
    assert aov["relative_ci_high"] < naive
    # The selection is visible before joining: members' orders were already larger.
    assert res.pre_aov_gap > 10


def test_interval_coverage_and_false_positives_by_simulation():
    # 30 shops with the planted effects, 30 without: the 90 % intervals should hold the
    # truth in about 27 of 30 (a binomial 90 % range is 24-30), and exclude zero for a
    # null effect in about 3 of 30.
    covered_aov = covered_freq = false_aov = false_freq = 0
    runs = 30
    for seed in range(runs):
        res = effect(selection_shop(100 + seed, n=1500), n_boot=60, confidence=0.90)
        covered_aov += res.aov["relative_ci_low"] < 0.10 < res.aov["relative_ci_high"]
        covered_freq += res.frequency["relative_ci_low"] < 0.20 < res.frequency["relative_ci_high"]
        null = effect(
            selection_shop(500 + seed, n=1500, aov_lift=0.0, rate_lift=0.0),
            n_boot=60,
            confidence=0.90,
        )
        false_aov += not (null.aov["relative_ci_low"] < 0 < null.aov["relative_ci_high"])
        false_freq += not (
            null.frequency["relative_ci_low"] < 0 < null.frequency["relative_ci_high"]
        )
    assert covered_aov >= 23 and covered_freq >= 23, (covered_aov, covered_freq)
    assert false_aov <= 7 and false_freq <= 7, (false_aov, false_freq)


# --------------------------------------------------------------------------- refusals


def test_refuses_without_customers_or_join_dates():
    shop = aovlab.sample.load()
    no_customers = ShopData.from_frames(shop.orders, currency="EUR", timezone=TZ)
    with pytest.raises(AovlabInputError, match="needs a customers table"):
        effect(no_customers)
    flags_only = ShopData.from_frames(
        shop.orders,
        customers=shop.customers.drop("loyalty_joined_at"),
        currency="EUR",
        timezone=TZ,
    )
    with pytest.raises(AovlabInputError, match="needs the date each member joined") as exc:
        effect(flags_only)
    assert "loyalty_joined_at" in str(exc.value)


NO_DATES = pl.Series([None, None], dtype=pl.String)


def test_refuses_without_members_or_non_members():
    with pytest.raises(AovlabInputError, match="needs members"):
        effect(
            hand_shop(loyalty_member=[False, False], loyalty_joined_at=NO_DATES),
            min_members=1,
        )
    with pytest.raises(AovlabInputError, match="customers who never joined"):
        effect(
            hand_shop(loyalty_member=[True, True], loyalty_joined_at=["2026-04-15", "2026-01-01"]),
            pre_months=2,
            min_members=1,
        )
    with pytest.raises(AovlabInputError, match="none of the 1 members who ordered has a join date"):
        effect(hand_shop(loyalty_joined_at=NO_DATES), min_members=1)


def test_refuses_too_few_members_with_history():
    with pytest.raises(AovlabInputError, match="too few members with history") as exc:
        effect(hand_shop(), pre_months=2)
    assert "at least 30 members" in str(exc.value) and "found:    1 of 1" in str(exc.value)
    # Joining in the first month of history leaves no base at all.
    with pytest.raises(AovlabInputError, match="too few members"):
        effect(hand_shop(), pre_months=4, min_members=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pre_months": 0}, "pre_months must be a whole number"),
        ({"pre_months": 2.5}, "pre_months must be a whole number"),
        ({"n_boot": 5}, "n_boot must be a whole number of at least 20"),
        ({"horizon": True}, "horizon must be"),
        ({"match": "cohort"}, "match is an unknown comparison"),
        ({"confidence": 1.5}, "confidence"),
    ],
)
def test_refuses_bad_parameters(kwargs, message):
    with pytest.raises(AovlabInputError, match=message):
        effect(hand_shop(), **kwargs)


def test_chart_is_built_from_the_event_table_only(sample_effect):
    spec = sample_effect.chart().to_dict()
    assert len(spec["hconcat"]) == 2
    text = str(spec)
    assert "Had they not joined" in text and "Months since joining" in text


def test_refuses_when_no_customer_is_comparable():
    # Members who came in in December and join in April; never-members who came in only
    # in March: no control has history over the members' base months (Feb, Mar) in the
    # same stratum, so no figure can be computed. Used to return n/a everywhere.
    late = [
        ("x1", "N1", at(2026, 3, 20), 50.0),
        ("x2", "N1", at(2026, 5), 50.0),
        ("x3", "N1", at(2026, 6), 50.0),
    ]
    shop = hand_shop(
        extra=late,
        extra_signup="2026-03-01",
        loyalty_member=[True, True],
        loyalty_joined_at=["2026-04-15", "2026-04-20"],
    )
    with pytest.raises(AovlabInputError, match="no comparison customers") as exc:
        effect(shop, pre_months=2, min_members=1, n_boot=20)
    assert "of the same first-order month" in str(exc.value)


def test_selection_share_has_an_interval_only_when_the_gap_is_clear():
    res = effect(selection_shop(11), n_boot=60)
    low, high = res.selection_share_ci
    assert low is not None and low < res.selection_share < high
