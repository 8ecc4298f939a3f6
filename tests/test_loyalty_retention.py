"""Retention by cohort: a hand-worked shop, an independent computation, members, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

import aovlab
from aovlab import ShopData
from aovlab.errors import AovlabInputError
from aovlab.loyalty.retention import HEATMAP_COHORTS, Retention, retention
from aovlab.model import EXCLUDED_STATUSES

TZ = "Europe/Stockholm"


def _orders(native=pl.DataFrame, extra_guests: int = 0):
    rows = [
        # c1: first order in January, again in February and April.
        ("1", "c1", "2026-01-10 12:00", 40.0, "paid", False),
        ("2", "c1", "2026-02-05 12:00", 20.0, "paid", False),
        ("3", "c1", "2026-04-20 12:00", 30.0, "paid", False),
        # c2: two orders on 31 January (local time; in UTC the first is on 30 January),
        # nothing after: one visit, not a repeat.
        ("4", "c2", "2026-01-31 00:30", 25.0, "paid", False),
        ("5", "c2", "2026-01-31 23:30", 35.0, "paid", False),
        # c3: first order in February, again just after midnight on 1 March (local time;
        # still February in UTC).
        ("6", "c3", "2026-02-15 09:00", 50.0, "paid", False),
        ("7", "c3", "2026-03-01 00:10", 15.0, "paid", False),
        # c4: a cancelled January order and a test order in March do not count; the first
        # counted order is on 28 February, the next in May (the partial month).
        ("9", "c4", "2026-01-20 12:00", 99.0, "cancelled", False),
        ("10", "c4", "2026-02-28 20:00", 60.0, "paid", False),
        ("11", "c4", "2026-03-05 12:00", 70.0, "paid", True),
        ("12", "c4", "2026-05-10 12:00", 80.0, "paid", False),
        # Guests: no cohort; the last one ends the data on 20 May.
        ("13", None, "2026-01-15 12:00", 10.0, "paid", False),
        ("14", None, "2026-05-20 12:00", 10.0, "paid", False),
    ]
    rows += [
        (f"g{i}", None, f"2026-0{1 + i % 4}-0{1 + i % 9} 12:00", 12.0, "paid", False)
        for i in range(extra_guests)
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


def _customers(native=pl.DataFrame):
    # c1 joined in January; c3 is flagged but joins on 1 June, after the data ends (not a
    # member yet); c2 is not a member; c4 is not in the table (a non-member).
    return native(
        {
            "customer_id": ["c1", "c2", "c3"],
            "loyalty_member": [True, False, True],
            "loyalty_joined_at": ["2026-01-01", None, "2026-06-01"],
        }
    )


def _shop(native=pl.DataFrame, customers=True, extra_guests=0) -> ShopData:
    return ShopData.from_frames(
        _orders(native, extra_guests),
        customers=_customers(native) if customers else None,
        currency="EUR",
        timezone=TZ,
    )


# The working. The data ends on 2026-05-20, so May is partial: the last complete month
# is April. Counted orders of registered customers (the cancelled order 9 and the test
# order 11 left out; the guests 13, 14 belong to no cohort):
#   c1: Jan, Feb, Apr  -> cohort 2026-01, active in months 1 (Feb) and 3 (Apr)
#   c2: Jan, Jan       -> cohort 2026-01, never again (same local day: not a repeat)
#   c3: Feb, Mar       -> cohort 2026-02, active in month 1 (Mar, in the shop's time
#                         zone: the order at 00:10 on 1 March is 28 February in UTC)
#   c4: Feb, May       -> cohort 2026-02 (not January: order 9 was cancelled), May is
#                         month 3, not observed; March's test order does not count
# Months since the first order run 1..3 (April - January).
#   2026-01 (c1, c2): month 1 = 1/2, month 2 = 0/2, month 3 = 1/2
#   2026-02 (c3, c4): month 1 = 1/2, month 2 = 0/2, month 3 = None (May, partial)
# Repeat on a later day: c1 yes, c2 no, c3 yes, c4 yes (May counts) -> 1/2, 2/2; 3/4.
# Curve (customer-weighted over observed cohorts): month 1 = 2/4, month 2 = 0/4,
# month 3 = 1/2 (January only).
# Members at the data's end: c1 only. Members: 1/1, 0/1, 1/1, repeat 1/1.
# Non-members c2 (Jan), c3, c4 (Feb): month 1 = (0 + 1)/3, month 2 = 0/3, month 3 =
# 0/1 (January's c2 only); repeat 2/3.
EXPECTED_COHORTS = [
    {"cohort": "2026-01", "customers": 2, "repeat_rate": 0.5, "retention": [0.5, 0.0, 0.5]},
    {"cohort": "2026-02", "customers": 2, "repeat_rate": 1.0, "retention": [0.5, 0.0, None]},
]


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
def test_four_customers_hand_worked(native):
    res = retention(_shop(native))
    assert isinstance(res, Retention)
    assert res.cohorts() == EXPECTED_COHORTS
    out = res.to_dict()
    assert out["cohorts"] == EXPECTED_COHORTS
    assert out["repeat_rate"] == 0.75
    assert out["retention"] == [0.5, 0.0, 0.5]
    assert out["members"] == {"customers": 1, "repeat_rate": 1.0, "retention": [1.0, 0.0, 1.0]}
    assert out["non_members"]["customers"] == 3
    assert out["non_members"]["repeat_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert out["non_members"]["retention"] == pytest.approx([1 / 3, 0.0, 0.0], abs=1e-6)
    assert out["last_complete_month"] == "2026-04" and out["partial_month"] == "2026-05"
    json.dumps(out)
    # The tidy table: the unobserved cell is null, not zero; the table is the input's backend.
    assert isinstance(res.table, native)
    cells = pl.from_pandas(res.table) if native is pd.DataFrame else res.table
    assert cells.columns == ["cohort", "months_since", "customers", "active", "share"]
    unseen = cells.filter((pl.col("cohort") == "2026-02") & (pl.col("months_since") == 3))
    assert unseen["active"].to_list() == [None] and unseen["share"].to_list() == [None]
    assert cells["active"].fill_null(-1).to_list() == [1, 0, 1, 1, 0, -1]


def test_partial_month_is_said_and_left_out():
    res = retention(_shop())
    assert (
        "2026-05 is a partial month (the data ends on 2026-05-20) and is left out" in res.headline
    )
    assert any("partial month" in n for n in res.notes)
    # Without the order of 20 May, the data ends on 10 May: still partial. Ending on the
    # last day of April makes April the last complete month with nothing left out.
    orders = _orders().filter(pl.col("ordered_at") < "2026-05-01")
    orders = pl.concat(
        [
            orders,
            orders.head(1).with_columns(
                order_id=pl.lit("30"),
                ordered_at=pl.lit("2026-04-30 23:00"),
                customer_id=pl.lit(None, pl.String),
            ),
        ]
    )
    full = retention(
        ShopData.from_frames(orders, customers=_customers(), currency="EUR", timezone=TZ)
    )
    assert full.partial_month is None and full.last_complete_month == "2026-04"
    assert "partial" not in full.headline
    # c4 is now in February's cohort without a later order: not a repeat.
    assert [c["repeat_rate"] for c in full.cohorts()] == [0.5, 0.5]


def test_guests_and_uncounted_orders_change_nothing():
    plain = retention(_shop())
    more = retention(_shop(extra_guests=12))
    assert plain.cohorts() == more.cohorts() and plain.groups == more.groups
    # c4's cancelled January order does not make it a January customer, and the test order
    # in March does not make it active in month 1.
    feb = plain.cohorts()[1]
    assert feb["customers"] == 2 and feb["retention"][0] == 0.5


def test_without_customers_table_no_split_and_a_note():
    res = retention(_shop(customers=False))
    assert not res.by_member
    assert any("No member split" in n for n in res.notes)
    out = res.to_dict()
    assert "members" not in out and out["cohorts"] == EXPECTED_COHORTS
    assert set(res.groups) == {"all"}
    assert retention(_shop(), by_member=False).to_dict().keys() == out.keys()
    assert res.chart("curve").to_dict()["mark"]["type"] == "line"


def test_months_caps_the_curves():
    res = retention(_shop(), months=2)
    assert [c["retention"] for c in res.cohorts()] == [[0.5, 0.0], [0.5, 0.0]]
    assert res.curve("member") == [1.0, 0.0]


@pytest.mark.parametrize("months", [0, -1, 1.5, True, "3"])
def test_bad_months_refused(months):
    with pytest.raises(AovlabInputError, match="months"):
        retention(_shop(), months=months)


def test_only_guests_refused():
    orders = _orders().with_columns(customer_id=pl.lit(None, pl.String))
    shop = ShopData.from_frames(orders, currency="EUR", timezone=TZ)
    with pytest.raises(AovlabInputError, match="no registered customer") as err:
        retention(shop)
    assert "customer_id" in str(err.value)


def test_bad_chart_kind_and_nothing_to_draw():
    with pytest.raises(AovlabInputError, match="heatmap"):
        retention(_shop()).chart("pie")
    # A single month of data (ending on its last day): no month after the first is observed.
    orders = _orders().filter(pl.col("ordered_at") < "2026-02-01")
    orders = pl.concat(
        [
            orders,
            orders.head(1).with_columns(
                order_id=pl.lit("31"), ordered_at=pl.lit("2026-01-31 20:00")
            ),
        ]
    )
    res = retention(ShopData.from_frames(orders, currency="EUR", timezone=TZ))
    assert res.cohorts()[0]["retention"] == [None]
    assert res.chart().to_dict()["mark"]["type"] == "text"
    assert res.chart("curve").to_dict()["mark"]["type"] == "text"


# --------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sample_res(shop):
    return retention(shop)


def _by_hand(shop_pd: ShopData) -> tuple[dict[str, list[float | None]], dict[str, float], float]:
    """Cohort retention and repeat rates in plain pandas, from the orders table itself."""
    o = shop_pd.orders
    o = o[~o["status"].isin(EXCLUDED_STATUSES) & ~o["test"].astype(bool) & o["customer_id"].notna()]
    t = o["ordered_at"]
    month = t.dt.year * 12 + t.dt.month - 1
    frame = pd.DataFrame(
        {"c": o["customer_id"].to_numpy(), "m": month.to_numpy(), "d": t.dt.date.to_numpy()}
    )
    cohort = frame.groupby("c")["m"].min()
    last = shop_pd.orders.loc[
        ~shop_pd.orders["status"].isin(EXCLUDED_STATUSES) & ~shop_pd.orders["test"].astype(bool),
        "ordered_at",
    ].max()
    last_month = last.year * 12 + last.month - 1
    last_complete = last_month if last.is_month_end else last_month - 1
    cohort = cohort[cohort <= last_complete]
    horizon = int(last_complete - cohort.min())
    act = frame[["c", "m"]].drop_duplicates()
    act = act[act["c"].isin(cohort.index)]
    act["k"] = act["m"] - act["c"].map(cohort)
    sizes = cohort.value_counts()
    out: dict[str, list[float | None]] = {}
    for c in sorted(sizes.index):
        row: list[float | None] = []
        for k in range(1, horizon + 1):
            if c + k > last_complete:
                row.append(None)
            else:
                row.append(
                    ((act["m"] == c + k) & (act["k"] == k) & (act["c"].map(cohort) == c)).sum()
                    / sizes[c]
                )
        out[f"{c // 12:04d}-{c % 12 + 1:02d}"] = row
    days = frame[frame["c"].isin(cohort.index)].groupby("c")["d"].nunique()
    repeat = (days >= 2).groupby(cohort).mean()
    rates = {f"{c // 12:04d}-{c % 12 + 1:02d}": float(v) for c, v in repeat.items()}
    return out, rates, float((days >= 2).mean())


def test_sample_matches_an_independent_pandas_computation(sample_res, shop_pd):
    cells, rates, overall = _by_hand(shop_pd)
    got = sample_res.cohorts()
    assert [c["cohort"] for c in got] == list(cells)
    for c in got:
        want = cells[c["cohort"]]
        assert [v is None for v in c["retention"]] == [v is None for v in want]
        for a, b in zip(c["retention"], want, strict=True):
            if b is not None:
                assert a == pytest.approx(b, abs=1e-6)
        assert c["repeat_rate"] == pytest.approx(rates[c["cohort"]], abs=1e-6)
    assert sample_res.groups["all"]["repeat_rate"] == pytest.approx(overall)


def test_sample_pandas_equals_polars(sample_res, shop_pd):
    res_pd = retention(shop_pd)
    assert isinstance(res_pd.table, pd.DataFrame) and isinstance(sample_res.table, pl.DataFrame)
    assert res_pd.to_dict() == sample_res.to_dict()


def test_sample_members_retain_better(sample_res):
    # Members order at a 25 % higher rate after joining (sample.TRUTH): their curve lies
    # above the non-members' on average and their repeat rate is higher.
    members, others = sample_res.curve("member"), sample_res.curve("non_member")
    first_year = [a - b for a, b in zip(members[:12], others[:12], strict=True)]
    assert np.mean(first_year) > 0.01
    assert sum(d > 0 for d in first_year) >= 9
    g = sample_res.groups
    assert g["member"]["repeat_rate"] > g["non_member"]["repeat_rate"]
    assert g["member"]["customers"] + g["non_member"]["customers"] == g["all"]["customers"]
    assert "Members (membership at the data's end) retained better" in sample_res.headline


def test_members_retain_better_on_another_generated_shop():
    tables = aovlab.sample.generate(scale=1.0, seed=5)
    shop = ShopData.from_frames(
        tables["orders"], customers=tables["customers"], currency="EUR", timezone=TZ
    )
    res = retention(shop)
    diffs = np.array(res.curve("member")[:12]) - np.array(res.curve("non_member")[:12])
    assert diffs.mean() > 0.01
    assert res.groups["member"]["repeat_rate"] > res.groups["non_member"]["repeat_rate"]


def test_sample_charts_and_display(sample_res):
    heat = sample_res.chart().to_dict()
    assert heat["mark"]["type"] == "rect"
    values = next(iter(heat["datasets"].values()))
    assert len({v["cohort"] for v in values}) <= HEATMAP_COHORTS
    assert all(v["share"] is not None for v in values)
    curve = sample_res.chart("curve").to_dict()
    groups = {v["who"] for v in next(iter(curve["datasets"].values()))}
    assert groups == {"Members", "Non-members"}
    assert "<table" in sample_res._repr_html_()
    assert sample_res.headline.startswith("Of 5,161 customers whose first order was in 2024-11")
