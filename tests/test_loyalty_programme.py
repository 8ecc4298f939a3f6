"""The programme's return: a hand-worked case, intervals carried through, refusals."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest
from test_loyalty_effect import hand_shop

import aovlab
from aovlab.errors import AovlabInputError
from aovlab.loyalty.effect import effect
from aovlab.loyalty.programme import incremental_share, programme_return


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
def test_hand_worked_return(native):
    shop = hand_shop(native)
    est = effect(shop, pre_months=2, min_members=1, n_boot=20)
    # AOV effect 360 / 340 - 1, frequency effect 3 / 2 - 1 (tests/test_loyalty_effect.py):
    # (1 + a)(1 + f) = 540 / 340, so 1 - 340 / 540 = 200 / 540 of the member's revenue
    # after joining (May 240 + June 120 = 360) is the programme's: 133.33.
    assert incremental_share(est.aov["relative"], est.frequency["relative"]) == pytest.approx(
        200 / 540
    )
    ret = programme_return(shop, est, cost_per_member=10.0, fee=20.0, margin_rate=0.4)
    rows = {r["figure"]: r for r in ret.rows_named()}
    assert rows["incremental_revenue"]["estimate"] == pytest.approx(360 * 200 / 540)
    assert rows["incremental_margin"]["estimate"] == pytest.approx(0.4 * 360 * 200 / 540)
    assert rows["cost"]["estimate"] == 30.0  # 10 x 1 member + 20
    assert rows["net"]["estimate"] == pytest.approx(0.4 * 360 * 200 / 540 - 30)
    assert ret.roi == pytest.approx((0.4 * 360 * 200 / 540 - 30) / 30)
    assert ret.members == 1 and ret.margin_rate_source == "given"
    assert isinstance(ret.table, native)


@pytest.fixture(scope="module")
def sample():
    shop = aovlab.sample.load()
    return shop, effect(shop)


def test_intervals_are_carried_through_from_the_effect(sample):
    shop, est = sample
    ret = programme_return(shop, est, cost_per_member=5.0)
    rows = {r["figure"]: r for r in ret.rows_named()}
    for name in ("incremental_revenue", "incremental_margin", "net"):
        r = rows[name]
        assert r["ci_low"] < r["estimate"] < r["ci_high"], name
    # The margin interval is the revenue interval times the margin rate.
    assert rows["incremental_margin"]["ci_low"] == pytest.approx(
        rows["incremental_revenue"]["ci_low"] * ret.margin_rate
    )
    # Net = margin - cost, draw by draw; ROI = net / cost.
    assert rows["net"]["ci_high"] == pytest.approx(rows["incremental_margin"]["ci_high"] - ret.cost)
    assert ret.roi_ci[0] == pytest.approx(rows["net"]["ci_low"] / ret.cost)
    assert ret.cost == 5.0 * ret.members
    # The sample has unit costs: the margin rate is the members' own.
    assert ret.margin_rate_source == "unit costs" and 0.3 < ret.margin_rate < 0.7


def test_the_verdict_follows_the_interval(sample):
    shop, est = sample
    cheap = programme_return(shop, est, cost_per_member=1.0)
    dear = programme_return(shop, est, cost_per_member=500.0)
    assert cheap.headline.endswith("it pays.")
    assert dear.headline.endswith("it does not pay.")
    free = programme_return(shop, est)
    assert free.cost is None and free.roi is None
    assert "it pays as long as it costs less than €" in free.headline
    rows = {r["figure"]: r for r in free.rows_named()}
    even = rows["break_even_cost_per_member"]
    # Break-even: the incremental margin spread over every enrolled member.
    assert even["estimate"] == pytest.approx(rows["incremental_margin"]["estimate"] / free.members)
    assert even["ci_low"] < even["estimate"] < even["ci_high"]
    assert free.active_members < free.members
    d = cheap.to_dict()
    assert set(d["roi"]) == {"estimate", "ci_low", "ci_high"}
    assert d["net"]["estimate"] == pytest.approx(cheap.net["estimate"], abs=0.01)


def test_refusals():
    shop = hand_shop()
    est = effect(shop, pre_months=2, min_members=1, n_boot=20)
    with pytest.raises(AovlabInputError, match="needs unit costs or a margin rate"):
        programme_return(shop, est)
    with pytest.raises(AovlabInputError, match="cost_per_member must be an amount"):
        programme_return(shop, est, cost_per_member=-1, margin_rate=0.3)
    with pytest.raises(AovlabInputError, match="fee must be an amount"):
        programme_return(shop, est, fee=float("nan"), margin_rate=0.3)
    with pytest.raises(AovlabInputError, match="margin_rate is a share"):
        programme_return(shop, est, margin_rate=40)
    with pytest.raises(AovlabInputError, match="no member orders after joining in 2026-03"):
        programme_return(shop, est, when="2026-03", margin_rate=0.3)


def test_a_cost_of_zero_pays_when_the_margin_is_clearly_positive(sample):
    shop, est = sample
    free = programme_return(shop, est, fee=0.0)
    assert free.cost == 0.0 and free.roi is None
    assert free.headline.endswith("it pays.")
    assert free.to_dict()["roi"] is None


def test_only_dated_members_orders_from_the_month_after_joining_count(sample):
    import narwhals.stable.v2 as nw

    from aovlab.loyalty import base

    shop, est = sample
    ret = programme_return(shop, est)
    # Independently: dated members (joined before the period's end), orders in the period
    # in a month after their join month.
    span = base.window(shop, None)
    who = base.membership(shop, as_of=span).filter(
        nw.col("member") & ~nw.col("joined_at").is_null()
    )
    orders = base.customer_orders(shop, when=span).join(
        who.select("customer_id", "join_month"), on="customer_id"
    )
    revenue = orders.filter(nw.col("month") > nw.col("join_month")).select(nw.col("value").sum())
    assert ret.member_revenue == pytest.approx(revenue.collect().item())
