"""The bundle margin calculator: a hand-worked shop, properties, the sample, bad input."""

from __future__ import annotations

import datetime as dt
import json
import math

import altair as alt
import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import aovlab
from aovlab import ShopData
from aovlab.bundles.baskets import lift
from aovlab.bundles.margin import MARGINS_COLUMNS, BundleMargin, bundle_margin, margins
from aovlab.cli import app
from aovlab.errors import AovlabInputError

BOOTS, SPRAY = "FW-003", "CA-001"
TENT, FOOTPRINT = "TE-001", "AC-009"
STOVE, GAS = "CO-002", "CO-009"

SAMPLE = aovlab.sample.DATA_DIR

ISSUE_KEYS = {
    "skus",
    "list_price",
    "bundle_price",
    "unit_cost",
    "margin_per_bundle",
    "margin_separately",
    "orders_with_all",
    "orders_with_some",
    "discount_given_away",
    "break_even_take_rate",
    "margin_change_per_1000_orders",
    "aov_change",
}


def _tiny_frames(native=pl.DataFrame, *, costs: bool = True) -> tuple[object, object]:
    """Three counted January orders and one cancelled one.

    1: 2 socks (A) at 10.00, cost 4.00, and a cap (B) at 30.00, cost 12.00: both items;
    2: 1 sock (A) at 13.00, cost 4.00: lacks the cap;
    3: a cap (B) at 30.00, cost 15.00, and a boot (C) at 50.00: lacks the socks;
    4: cancelled, socks, cap and a map (D, sold nowhere else): never counted.
    """
    orders = native(
        {
            "order_id": ["1", "2", "3", "4"],
            "ordered_at": [
                "2026-01-05 10:00",
                "2026-01-06 10:00",
                "2026-01-07 10:00",
                "2026-01-08 10:00",
            ],
            "merchandise": [50.0, 13.0, 80.0, 45.0],
            "status": ["paid", "paid", "paid", "cancelled"],
        }
    )
    lines = {
        "order_id": ["1", "1", "2", "3", "3", "4", "4", "4"],
        "sku": ["A", "B", "A", "B", "C", "A", "B", "D"],
        "product": ["Socks", "Cap", "Socks", "Cap", "Boot", "Socks", "Cap", "Map"],
        "quantity": [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "unit_price": [10.0, 30.0, 13.0, 30.0, 50.0, 10.0, 30.0, 5.0],
    }
    if costs:
        lines["unit_cost"] = [4.0, 12.0, 4.0, 15.0, 30.0, 99.0, 99.0, 99.0]
    return orders, native(lines)


def _tiny(native=pl.DataFrame, *, costs: bool = True) -> ShopData:
    orders, lines = _tiny_frames(native, costs=costs)
    return ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")


# --------------------------------------------------------------------------- hand-worked


def test_the_calculator_hand_worked_on_three_orders():
    res = bundle_margin(_tiny(), ["A", "B"], discount=0.10)
    assert res.period == "2025-02..2026-01"  # the 12 months to the last counted order
    assert res.months == 1  # ... of which the data covers January 2026 only
    # List prices: A (2 x 10 + 1 x 13) / 3 = 11.00; B (30 + 30) / 2 = 30.00 (order 4 is
    # cancelled: its prices and costs never count).
    assert res.table["list_price"].to_list() == pytest.approx([11.0, 30.0])
    # Unit costs: A (2 x 4 + 1 x 4) / 3 = 4.00; B (12 + 15) / 2 = 13.50.
    assert res.table["unit_cost"].to_list() == pytest.approx([4.0, 13.5])
    assert res.table["cost_source"].to_list() == ["order lines", "order lines"]
    assert res.table["product"].to_list() == ["Socks", "Cap"]
    # Orders holding A: 1 and 2; B: 1 and 3. Candidates lacking A: 2 - (2 - 1) = 1 (order 3).
    assert res.table["orders_with"].to_list() == [2, 2]
    assert res.table["orders_lacking"].to_list() == [1, 1]
    assert res.list_price == pytest.approx(41.0)  # 11 + 30
    assert res.bundle_price == pytest.approx(36.9)  # 41 x 0.9
    assert res.discount_per_bundle == pytest.approx(4.1)  # 41 - 36.9
    assert res.unit_cost == pytest.approx(17.5)  # 4 + 13.5
    assert res.margin_per_bundle == pytest.approx(19.4)  # 36.9 - 17.5
    assert res.margin_separately == pytest.approx(23.5)  # 41 - 17.5
    assert res.orders_with_all == 1  # order 1
    assert res.orders_with_some == 2  # orders 2 and 3
    assert res.orders == 3  # counted orders in the window
    assert res.discount_given_away == pytest.approx(4.1)  # 1 x 4.1
    assert res.discount_given_away_per_month == pytest.approx(4.1)  # one month with data
    # A candidate that converts: order 2 adds B (30 - 13.5 = 16.5), order 3 adds A
    # (11 - 4 = 7), each then gives 4.1 away: 16.5 + 7 - 2 x 4.1 = 15.3.
    assert res.margin_gained == pytest.approx(15.3)
    assert res.break_even_take_rate == pytest.approx(4.1 / 15.3)  # 0.268
    assert res.take_rate == 0.05
    assert res.margin_change == pytest.approx(-3.335)  # 0.05 x 15.3 - 4.1
    assert res.margin_change_per_1000_orders == pytest.approx(-3335 / 3)  # / 3 x 1000
    # AOV: 0.05 x (30 + 11 - 2 x 4.1) - 4.1 = 1.64 - 4.1 = -2.46 over 3 orders.
    assert res.aov_change == pytest.approx(-0.82)
    assert res.upt_change == pytest.approx(0.05 * 2 / 3)  # two missing units, 3 orders
    assert res.lift == pytest.approx(0.75)  # (1/3) / ((2/3) x (2/3))

    out = res.to_dict()
    assert set(out) >= ISSUE_KEYS
    assert json.loads(json.dumps(out)) == out
    assert out["skus"] == ["A", "B"]
    assert out["bundle_price"] == 36.9
    assert out["break_even_take_rate"] == 0.268
    assert out["margin_change_per_1000_orders"] == -1111.67
    assert [r["sku"] for r in out["items"]] == ["A", "B"]


def test_the_hand_worked_headline_and_a_price_instead_of_a_discount():
    res = bundle_margin(_tiny(), ["A", "B"], discount=0.10, when="2026-01")
    assert res.months == 1
    assert res.headline == (
        "A 10 % bundle of Socks and Cap (€36.90 instead of €41.00) gives away €4.10 in "
        "January 2026 on the 1 order that already has both; it pays when 27 % of the 2 "
        "orders with only one of them add the other. At a 5 % take rate margin falls by "
        "€1,112 per 1,000 orders and AOV changes by −€0.82."
    )
    priced = bundle_margin(_tiny(), ["A", "B"], price=36.9, when="2026-01")
    assert priced.discount == pytest.approx(0.10)
    assert priced.break_even_take_rate == pytest.approx(res.break_even_take_rate)
    assert priced.headline.startswith(
        "A bundle of Socks and Cap at €36.90 (instead of €41.00, 10 % off) gives away €4.10"
    )
    odd = bundle_margin(_tiny(), ["A", "B"], discount=0.125, take_rate=0.075, when="2026-01")
    assert odd.headline.startswith("A 12.5 % bundle of Socks and Cap (€35.88 instead of €41.00)")
    assert "At a 7.5 % take rate margin falls by" in odd.headline
    # At the list price nothing is given away; every taker adds margin.
    full = bundle_margin(_tiny(), ["A", "B"], price=41.0)
    assert full.discount_given_away == 0 and full.break_even_take_rate == 0
    assert "it pays when any of the 2 orders with only one of them" in full.headline
    assert full.margin_change == pytest.approx(0.05 * 23.5)  # 16.5 + 7, no discount


def test_a_bundle_that_never_pays_says_so():
    # At 60 % off: d = 24.6; G = 23.5 - 2 x 24.6 < 0.
    res = bundle_margin(_tiny(), ["A", "B"], discount=0.60)
    assert res.margin_gained == pytest.approx(23.5 - 2 * 24.6)
    assert res.break_even_take_rate is None
    assert "it never pays" in res.headline
    assert res.to_dict()["break_even_take_rate"] is None
    # At 30 % off it pays only above a take rate of 1: d = 12.3, G = 23.5 - 24.6 < 0 ...
    # at 25 %: d = 10.25, G = 3.0, break-even 10.25 / 3 = 3.42 > 1.
    res = bundle_margin(_tiny(), ["A", "B"], discount=0.25, when="2026-01")
    assert res.break_even_take_rate == pytest.approx(10.25 / 3.0)
    assert (
        "it does not pay even if all the 2 orders with only one of them add the other "
        "(break-even would need 3.4 times as many)"
    ) in res.headline
    assert isinstance(res.chart(), alt.LayerChart)


# --------------------------------------------------------------------------- properties


@st.composite
def _random_shop(draw):
    """Up to 12 counted orders over SKUs A-D, with random prices, quantities and costs."""
    n = draw(st.integers(1, 12))
    skus = ["A", "B", "C", "D"]
    price = st.sampled_from([5.0, 9.9, 10.0, 24.5, 30.0, 99.0])
    rows = []
    for i in range(n):
        basket = draw(st.lists(st.sampled_from(skus), min_size=1, max_size=4, unique=True))
        for sku in basket:
            p = draw(price)
            rows.append(
                (
                    str(i + 1),
                    sku,
                    float(draw(st.integers(1, 3))),
                    p,
                    round(p * draw(st.sampled_from([0.2, 0.5, 0.7])), 2),
                )
            )
    size = draw(st.integers(2, 3))
    return n, rows, tuple(skus[:size]), draw(st.sampled_from([0.05, 0.1, 0.15, 0.3]))


def _shop_from_rows(n: int, rows: list[tuple]) -> ShopData:
    lines = pl.DataFrame(
        rows,
        schema=["order_id", "sku", "quantity", "unit_price", "unit_cost"],
        orient="row",
    )
    merchandise = lines.group_by("order_id").agg(
        (pl.col("quantity") * pl.col("unit_price")).sum().alias("merchandise")
    )
    orders = pl.DataFrame(
        {
            "order_id": [str(i + 1) for i in range(n)],
            "ordered_at": [dt.datetime(2026, 1, 1 + i, 12) for i in range(n)],
        }
    ).join(merchandise, on="order_id")
    return ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_random_shop())
def test_break_even_times_candidates_times_gain_is_the_discount_given_away(case):
    n, rows, bundle, discount = case
    assume(all(any(r[1] == s for r in rows) for s in bundle))
    shop = _shop_from_rows(n, rows)
    res = bundle_margin(shop, list(bundle), discount=discount)
    # An independent count, order by order, in plain Python.
    frame = pl.DataFrame(rows, schema=["order_id", "sku", "q", "p", "c"], orient="row").filter(
        pl.col("sku").is_in(bundle)
    )
    sums = frame.group_by("sku").agg(
        ((pl.col("q") * pl.col("p")).sum() / pl.col("q").sum()).alias("L"),
        ((pl.col("q") * pl.col("c")).sum() / pl.col("q").sum()).alias("C"),
    )
    price = dict(zip(sums["sku"], sums["L"], strict=True))
    cost = dict(zip(sums["sku"], sums["C"], strict=True))
    d = sum(price.values()) * discount
    held: dict[str, set[str]] = {}
    for order_id, sku, *_ in rows:
        held.setdefault(order_id, set()).add(sku)
    with_all = with_some = 0
    gained = 0.0
    for items in held.values():
        present = items & set(bundle)
        if len(present) == len(bundle):
            with_all += 1
        elif present:
            with_some += 1
            gained += sum(price[s] - cost[s] for s in bundle if s not in present) - d
    assert (res.orders_with_all, res.orders_with_some, res.orders) == (with_all, with_some, n)
    assert res.discount_given_away == pytest.approx(with_all * d)
    assert res.margin_gained == pytest.approx(gained, abs=1e-9)
    if gained > 0:
        per_candidate = gained / with_some
        assert round(res.break_even_take_rate * with_some * per_candidate, 2) == round(
            res.discount_given_away, 2
        )
    else:
        assert res.break_even_take_rate is None
    # The margin change is 0 at the break-even take rate.
    if res.break_even_take_rate is not None and res.break_even_take_rate <= 1:
        assert res.at(take_rate=res.break_even_take_rate).margin_change == pytest.approx(
            0, abs=1e-9
        )


def test_at_equals_a_fresh_call(shop):
    res = bundle_margin(shop, [BOOTS, SPRAY], discount=0.10)
    settings_ = [
        {"take_rate": 0.2},
        {"discount": 0.05},
        {"price": 150.0, "take_rate": 0.1},
        {"discount": 0.25, "take_rate": 0.0},
    ]
    for change in settings_:
        fresh = bundle_margin(
            shop,
            [BOOTS, SPRAY],
            take_rate=change.get("take_rate", 0.05),
            **(
                {"price": change["price"]}
                if "price" in change
                else {"discount": change.get("discount", 0.10)}
            ),
        )
        moved = res.at(**change)
        assert moved.to_dict() == fresh.to_dict()
        assert moved.headline == fresh.headline
        assert moved.curve.equals(fresh.curve)
    # Unchanged settings are kept: a price stays a price.
    priced = bundle_margin(shop, [BOOTS, SPRAY], price=150.0)
    assert priced.at(take_rate=0.2).bundle_price == 150.0
    with pytest.raises(AovlabInputError, match="take_rate is out of range"):
        res.at(take_rate=1.5)
    with pytest.raises(AovlabInputError, match="above the bundle's list price"):
        res.at(price=500.0)


def test_at_needs_no_engine(shop, monkeypatch):
    res = bundle_margin(shop, [BOOTS, SPRAY], discount=0.10)
    import aovlab.bundles.margin as module

    def fail(*args, **kwargs):  # pragma: no cover - the test fails if it runs
        raise AssertionError("the engine was called")

    monkeypatch.setattr(module, "_collect", fail)
    monkeypatch.setattr(module, "baskets", fail)
    assert res.at(take_rate=0.3).margin_change > res.margin_change
    res.at(discount=0.2).chart().to_dict()


def test_margins_gives_the_calculators_numbers_for_each_bundle(shop):
    bundles = [(BOOTS, SPRAY), (TENT, FOOTPRINT), (STOVE, GAS), (BOOTS, SPRAY, "CA-002")]
    table = margins(shop, bundles, discount=0.10, take_rate=0.07)
    assert isinstance(table, pl.DataFrame)
    assert table.columns == list(MARGINS_COLUMNS)
    assert table["skus"].to_list() == ["+".join(b) for b in bundles]
    for row, bundle in zip(table.iter_rows(named=True), bundles, strict=True):
        one = bundle_margin(shop, list(bundle), discount=0.10, take_rate=0.07)
        assert row["list_price"] == one.list_price
        assert row["bundle_price"] == one.bundle_price
        assert row["margin_per_bundle"] == one.margin_per_bundle
        assert row["orders_with_all"] == one.orders_with_all
        assert row["orders_with_some"] == one.orders_with_some
        assert row["discount_given_away"] == one.discount_given_away
        assert row["break_even_take_rate"] == one.break_even_take_rate
        assert row["margin_change"] == one.margin_change
        assert row["margin_change_per_1000_orders"] == one.margin_change_per_1000_orders
        assert row["aov_change"] == one.aov_change
        assert row["margin_note"] is None
    assert margins(shop, []).columns == list(MARGINS_COLUMNS)
    assert len(margins(shop, [])) == 0


def test_margins_keeps_a_row_without_costs_and_refuses_unknown_skus():
    orders, lines = _tiny_frames()
    lines = lines.with_columns(
        pl.when(pl.col("sku") == "C").then(None).otherwise(pl.col("unit_cost")).alias("unit_cost")
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")
    table = margins(shop, [("A", "B"), ("B", "C")])
    assert table["margin_note"].to_list() == [None, "no unit cost for C (give cost_rate)"]
    second = table.row(1, named=True)
    assert second["margin_per_bundle"] is None and second["break_even_take_rate"] is None
    assert second["orders_with_all"] == 1 and second["list_price"] == pytest.approx(80.0)
    assert second["discount_given_away"] == pytest.approx(8.0)  # one order x 80 x 10 %
    assert table.row(0, named=True)["margin_per_bundle"] == pytest.approx(19.4)
    with pytest.raises(AovlabInputError, match="no unit cost for C"):
        bundle_margin(shop, ["B", "C"], discount=0.1)
    with pytest.raises(AovlabInputError, match="unknown SKU Z") as err:
        margins(shop, [("A", "B"), ("A", "Z")])
    assert "Z is not in the order lines at all" in str(err.value)


# --------------------------------------------------------------------------- the sample


def _counted_ids(shop: ShopData) -> pl.DataFrame:
    """Counted orders of 2025-11..2026-10 (local time), by hand."""
    local = shop.orders.with_columns(pl.col("ordered_at").dt.replace_time_zone(None).alias("t"))
    return local.filter(
        (pl.col("status") != "cancelled")
        & ~pl.col("test")
        & (pl.col("t") >= dt.datetime(2025, 11, 1))
        & (pl.col("t") < dt.datetime(2026, 11, 1))
    ).select("order_id")


def _independent(shop: ShopData, bundle: tuple[str, ...]) -> dict[str, object]:
    """Orders with all / some and list prices, by hand in polars on the raw tables."""
    counted = _counted_ids(shop)
    lines = shop.lines.join(counted, on="order_id").filter(pl.col("sku").is_in(bundle))
    present = lines.group_by("order_id").agg(pl.col("sku").n_unique().alias("n"))
    prices = lines.group_by("sku").agg(
        ((pl.col("quantity") * pl.col("unit_price")).sum() / pl.col("quantity").sum()).alias("p")
    )
    return {
        "all": present.filter(pl.col("n") == len(bundle)).height,
        "some": present.filter(pl.col("n") < len(bundle)).height,
        "orders": counted.height,
        "prices": dict(zip(prices["sku"], prices["p"], strict=True)),
    }


@pytest.mark.parametrize("bundle", [(BOOTS, SPRAY), (TENT, FOOTPRINT), (STOVE, GAS)])
def test_counts_and_list_prices_on_the_sample_match_a_hand_written_computation(shop, bundle):
    res = bundle_margin(shop, list(bundle), discount=0.10)
    expected = _independent(shop, bundle)
    assert res.orders_with_all == expected["all"]
    assert res.orders_with_some == expected["some"]
    assert res.orders == expected["orders"]
    prices = dict(zip(res.table["sku"], res.table["list_price"], strict=True))
    assert prices == pytest.approx(expected["prices"], rel=1e-12)
    # The planted pairs are bought together far more often than chance.
    assert res.lift > 5


def test_break_even_of_a_three_sku_bundle_on_the_sample(shop):
    bundle = (BOOTS, SPRAY, "CA-002")
    res = bundle_margin(shop, list(bundle), discount=0.10)
    expected = _independent(shop, bundle)
    assert (res.orders_with_all, res.orders_with_some) == (expected["all"], expected["some"])
    table = res.table
    price = np.array(table["list_price"].to_list())
    cost = np.array(table["unit_cost"].to_list())
    lacking = np.array(table["orders_lacking"].to_list())
    # Per SKU, the candidates lacking it counted again from the raw lines.
    counted = _counted_ids(shop)
    held = (
        shop.lines.join(counted, on="order_id")
        .filter(pl.col("sku").is_in(bundle))
        .group_by("order_id")
        .agg(pl.col("sku").unique())
        .filter(pl.col("sku").list.len() < 3)
    )
    for sku, n in zip(bundle, lacking, strict=True):
        assert n == held.filter(~pl.col("sku").list.contains(sku)).height
    d = price.sum() * 0.10
    gained = float((lacking * (price - cost)).sum()) - res.orders_with_some * d
    assert res.break_even_take_rate == pytest.approx(res.orders_with_all * d / gained)
    assert "that already have all three" in res.headline
    # Two orders hold all three: almost nothing is given away.
    assert res.break_even_take_rate < 0.0005
    assert "it pays when under 0.1 % of the" in res.headline
    assert "with only some of them add the rest" in res.headline
    assert res.lift == pytest.approx(
        lift(res.orders_with_all, list(table["orders_with"]), expected["orders"])
    )


def test_sample_headlines_read_the_numbers(shop):
    res = bundle_margin(shop, [BOOTS, SPRAY], discount=0.10)
    assert res.headline.startswith(
        "A 10 % bundle of Hiking boot Sarek and Waterproofing spray (€157.86 instead of "
        "€175.41) gives away €335 a month on the 19 orders a month that already have both; "
        "it pays when 4.7 % of the 131 orders a month with only one of them add the other."
    )
    stove = bundle_margin(shop, [STOVE, GAS], discount=0.10)
    # Most stove orders already hold the gas: the discount is mostly given away.
    assert stove.break_even_take_rate > 0.5
    assert stove.margin_change_per_1000_orders < 0
    assert "margin falls by" in stove.headline


def test_pandas_gives_the_same_figures_in_pandas(shop, shop_pd):
    pl_res = bundle_margin(shop, [TENT, FOOTPRINT], discount=0.10)
    pd_res = bundle_margin(shop_pd, [TENT, FOOTPRINT], discount=0.10)
    assert isinstance(pd_res.table, pd.DataFrame) and isinstance(pd_res.curve, pd.DataFrame)
    assert isinstance(pl_res.table, pl.DataFrame)
    assert pd_res.to_dict() == pl_res.to_dict()
    pd.testing.assert_frame_equal(pd_res.table, pl_res.table.to_pandas(), check_dtype=False)
    pl_table = margins(shop, [(TENT, FOOTPRINT), (BOOTS, SPRAY)])
    pd_table = margins(shop_pd, [(TENT, FOOTPRINT), (BOOTS, SPRAY)])
    assert isinstance(pd_table, pd.DataFrame)
    pd.testing.assert_frame_equal(
        pd_table.drop(columns="margin_note"),
        pl_table.drop("margin_note").to_pandas(),
        check_dtype=False,
    )


def test_the_chart_and_sections_are_built_from_the_aggregates(shop):
    res = bundle_margin(shop, [BOOTS, SPRAY], discount=0.10)
    spec = res.chart().to_dict()
    assert len(spec["layer"]) == 5  # zero line, curve, break-even rule and point, chosen point
    curve = res.curve
    assert curve.height == 61
    assert curve["take_rate"][0] == 0 and curve["take_rate"][-1] == pytest.approx(0.3)
    at_zero = curve["margin_change_per_1000_orders"][0]
    assert at_zero == pytest.approx(-res.discount_given_away / res.orders * 1000)
    # The curve crosses 0 at the break-even take rate.
    crossing = np.interp(
        0.0, curve["margin_change_per_1000_orders"].to_numpy(), curve["take_rate"].to_numpy()
    )
    assert crossing == pytest.approx(res.break_even_take_rate)
    wide = res.at(discount=0.3)
    assert wide.curve["take_rate"][-1] == pytest.approx(
        min(1.0, max(0.3, 2 * (wide.break_even_take_rate or 0)))
    )
    sections = res.sections()
    assert [s.title for s in sections] == [None, "The bundle's SKUs"]
    html = res._repr_html_()
    assert "Hiking boot Sarek" in html


def test_product_names_are_plain_text():
    orders, lines = _tiny_frames()
    lines = lines.with_columns(
        pl.when(pl.col("sku") == "A")
        .then(pl.lit("<b>Socks</b>\nnew"))
        .otherwise(pl.col("product"))
        .alias("product")
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")
    res = bundle_margin(shop, ["A", "B"], discount=0.1)
    assert "<b>Socks</b> new and Cap" in res.headline
    assert "<b>" not in res._repr_html_()


# --------------------------------------------------------------------------- bad input


def test_a_shop_without_unit_costs_needs_a_cost_rate():
    shop = _tiny(costs=False)
    with pytest.raises(AovlabInputError) as err:
        bundle_margin(shop, ["A", "B"], discount=0.10)
    text = str(err.value)
    assert "no unit cost for A, B" in text and "cost_rate" in text
    res = bundle_margin(shop, ["A", "B"], discount=0.10, cost_rate=0.5)
    assert res.table["cost_source"].to_list() == ["cost rate", "cost rate"]
    assert res.table["unit_cost"].to_list() == pytest.approx([5.5, 15.0])  # half of 11, 30
    assert res.margin_per_bundle == pytest.approx(36.9 - 20.5)
    # G = (11 - 5.5) + (30 - 15) - 2 x 4.1 = 12.3.
    assert res.margin_gained == pytest.approx(12.3)
    table = margins(shop, [("A", "B")], cost_rate=0.5)
    assert table["margin_per_bundle"].to_list() == [res.margin_per_bundle]
    assert table["break_even_take_rate"].to_list() == [res.break_even_take_rate]
    # A SKU whose lines carry a cost on some lines: the average over those lines.
    orders, lines = _tiny_frames()
    lines = lines.with_columns(
        pl.when(pl.col("order_id") == "3")
        .then(None)
        .otherwise(pl.col("unit_cost"))
        .alias("unit_cost")
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")
    partial = bundle_margin(shop, ["A", "B"], discount=0.10)
    assert partial.table["unit_cost"].to_list() == pytest.approx([4.0, 12.0])  # B: order 1
    # A stated cost rate never replaces the costs the lines carry.
    costed = bundle_margin(_tiny(), ["A", "B"], discount=0.10, cost_rate=0.9)
    assert costed.table["cost_source"].to_list() == ["order lines", "order lines"]


def test_unknown_skus_are_refused_naming_them():
    shop = _tiny()
    with pytest.raises(AovlabInputError) as err:
        bundle_margin(shop, ["A", "Q", "BB"], discount=0.1)
    text = str(err.value)
    assert "unknown SKUs Q, BB" in text
    assert "Q is not in the order lines at all" in text
    assert "did you mean B?" in text
    assert "expected: SKUs sold in the counted orders of 2025-02..2026-01: A, B, C" in text
    # Sold, but only in a cancelled order.
    with pytest.raises(AovlabInputError, match="unknown SKU D") as err:
        bundle_margin(shop, ["A", "D"], discount=0.1)
    assert "D is sold only outside 2025-02..2026-01 or in cancelled/test orders" in str(err.value)
    # A window without counted orders says where the data is.
    with pytest.raises(AovlabInputError, match="no counted orders in 2025-12") as err:
        bundle_margin(shop, ["A", "B"], discount=0.1, when="2025-12")
    assert "the data runs from 2026-01-05 to 2026-01-07" in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"skus": ["A"], "discount": 0.1}, "needs at least two SKUs"),
        ({"skus": "A,B", "discount": 0.1}, "must be a list of SKUs"),
        ({"skus": ["A", "A"], "discount": 0.1}, "lists a SKU twice"),
        ({"skus": ["A", "B"]}, "needs a price or a discount"),
        ({"skus": ["A", "B"], "discount": 0.1, "price": 30.0}, "needs a price or a discount"),
        ({"skus": ["A", "B"], "discount": 0.0}, "discount is out of range"),
        ({"skus": ["A", "B"], "discount": 1.0}, "discount is out of range"),
        ({"skus": ["A", "B"], "discount": True}, "discount is out of range"),
        ({"skus": ["A", "B"], "price": 0.0}, "price is out of range"),
        ({"skus": ["A", "B"], "price": -5.0}, "price is out of range"),
        ({"skus": ["A", "B"], "price": 41.5}, "price is above the bundle's list price"),
        ({"skus": ["A", "B"], "discount": 0.1, "take_rate": -0.1}, "take_rate is out of range"),
        ({"skus": ["A", "B"], "discount": 0.1, "take_rate": 1.1}, "take_rate is out of range"),
        ({"skus": ["A", "B"], "discount": 0.1, "cost_rate": 1.0}, "cost_rate is out of range"),
        (
            {"skus": ["A", "B"], "discount": 0.1, "cost_rate": float("nan")},
            "cost_rate is out of range",
        ),
    ],
)
def test_bad_parameters_are_refused_with_expected_and_found(kwargs, message):
    with pytest.raises(AovlabInputError, match=message) as err:
        bundle_margin(_tiny(), **kwargs)
    assert "expected:" in str(err.value) and "found:" in str(err.value)


def test_margins_bad_input():
    shop = _tiny()
    with pytest.raises(AovlabInputError, match="bundles must be a list"):
        margins(shop, "A+B")
    with pytest.raises(AovlabInputError, match="bundle 2 needs at least two SKUs"):
        margins(shop, [("A", "B"), ("A",)])
    with pytest.raises(AovlabInputError, match="discount is out of range"):
        margins(shop, [("A", "B")], discount=0)


def test_a_sku_sold_in_zero_units_is_refused():
    orders, lines = _tiny_frames()
    lines = lines.with_columns(
        pl.when(pl.col("sku") == "C").then(0.0).otherwise(pl.col("quantity")).alias("quantity")
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")
    with pytest.raises(AovlabInputError, match="no units sold of C"):
        bundle_margin(shop, ["B", "C"], discount=0.1)


def test_a_shop_without_lines_is_refused():
    orders, _ = _tiny_frames()
    shop = ShopData.from_frames(orders, currency="EUR", timezone="Europe/Stockholm")
    with pytest.raises(AovlabInputError, match="needs order lines"):
        bundle_margin(shop, ["A", "B"], discount=0.1)


def test_orders_without_lines_count_in_the_orders():
    orders, lines = _tiny_frames()
    extra = pl.DataFrame(
        {
            "order_id": ["5"],
            "ordered_at": ["2026-01-09 10:00"],
            "merchandise": [20.0],
            "status": ["paid"],
        }
    )
    shop = ShopData.from_frames(
        pl.concat([orders, extra]), lines, currency="EUR", timezone="Europe/Stockholm"
    )
    res = bundle_margin(shop, ["A", "B"], discount=0.10)
    assert res.orders == 4  # the order without lines counts in N ...
    assert res.lift == pytest.approx(0.75)  # ... not among the baskets
    assert res.aov_change == pytest.approx(-2.46 / 4)


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
def test_the_callers_frames_are_unchanged(native):
    orders, lines = _tiny_frames(native)
    before = (
        orders.copy() if native is pd.DataFrame else orders.clone(),
        lines.copy() if native is pd.DataFrame else lines.clone(),
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")
    res = bundle_margin(shop, ["A", "B"], discount=0.1)
    margins(shop, [("A", "B")])
    res.at(take_rate=0.5)
    if native is pd.DataFrame:
        pd.testing.assert_frame_equal(orders, before[0])
        pd.testing.assert_frame_equal(lines, before[1])
        assert isinstance(res.table, pd.DataFrame)
    else:
        assert orders.equals(before[0]) and lines.equals(before[1])
    assert isinstance(res, BundleMargin)
    assert not math.isnan(res.margin_change)


def test_bundle_margin_command_json(shop):
    result = CliRunner().invoke(
        app,
        [
            str(a)
            for a in (
                "bundle-margin",
                SAMPLE / "orders.csv",
                "--lines",
                SAMPLE / "lines.csv",
                "--skus",
                "FW-003,CA-001",
                "--discount",
                "0.1",
                "--json",
            )
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) >= ISSUE_KEYS
    library = bundle_margin(shop, ["FW-003", "CA-001"], discount=0.1).to_dict()
    assert {k: payload[k] for k in ISSUE_KEYS} == {k: library[k] for k in ISSUE_KEYS}
