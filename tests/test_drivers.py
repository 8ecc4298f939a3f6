"""aovlab.drivers: exact splits pinned to a hand-worked shop, properties on random shops,
recovery of the sample shop's planted effects, and both backends."""

import json
from fractions import Fraction

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from aovlab import ShopData, drivers
from aovlab.errors import AovlabInputError
from aovlab.sample import TRUTH

# --------------------------------------------------------------------- a hand-worked shop


def worked(native=pl.DataFrame) -> ShopData:
    """September: web 100 (2 units), web 60 (1), app 40 (1).
    October: web 120 (3 units), app 30 (1), app 60 (2), app 40 (1)."""
    orders = native(
        {
            "order_id": list("ABCDEFG"),
            "ordered_at": [
                "2025-09-03 12:00",
                "2025-09-10 12:00",
                "2025-09-20 12:00",
                "2025-10-02 12:00",
                "2025-10-09 12:00",
                "2025-10-15 12:00",
                "2025-10-28 12:00",
            ],
            "channel": ["web", "web", "app", "web", "app", "app", "app"],
        }
    )
    lines = native(
        {
            "order_id": list("ABCDEFG"),
            "sku": ["x", "y", "x", "x", "y", "z", "y"],
            "category": ["Boots", "Socks", "Boots", "Boots", "Socks", "Tents", "Socks"],
            "quantity": [2, 1, 1, 3, 1, 2, 1],
            "unit_price": [50.0, 60.0, 40.0, 40.0, 30.0, 30.0, 40.0],
        }
    )
    return ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")


def test_worked_example_by_hand():
    res = drivers.decompose(worked(), "2025-10", by="channel")
    # Baseline: 3 orders, 200.00, 4 units; current: 4 orders, 250.00, 7 units.
    a0, a1 = Fraction(200, 3), Fraction(250, 4)
    u0, u1, r0, r1 = Fraction(4, 3), Fraction(7, 4), Fraction(200, 4), Fraction(250, 7)
    upt = (u1 - u0) * (r0 + r1) / 2
    aur = (r1 - r0) * (u0 + u1) / 2
    assert upt + aur == a1 - a0
    assert res.effect("upt") == pytest.approx(float(upt), abs=1e-12)  # +17.857
    assert res.effect("aur") == pytest.approx(float(aur), abs=1e-12)  # -22.024
    # web: 2/3 of orders at 80.00 -> 1/4 at 120.00; app: 1/3 at 40.00 -> 3/4 at 43.33.
    centre = (a0 + a1) / 2
    web_mix = (Fraction(1, 4) - Fraction(2, 3)) * ((Fraction(80) + Fraction(120)) / 2 - centre)
    web_rate = (Fraction(120) - Fraction(80)) * (Fraction(2, 3) + Fraction(1, 4)) / 2
    app_mix = (Fraction(3, 4) - Fraction(1, 3)) * ((Fraction(40) + Fraction(130, 3)) / 2 - centre)
    app_rate = (Fraction(130, 3) - Fraction(40)) * (Fraction(1, 3) + Fraction(3, 4)) / 2
    assert web_mix + web_rate + app_mix + app_rate == a1 - a0
    expected = pl.DataFrame(
        {
            "channel": ["app", "web"],
            "baseline_orders": [1, 2],
            "baseline_share": [1 / 3, 2 / 3],
            "baseline_aov": [40.0, 80.0],
            "current_orders": [3, 1],
            "current_share": [0.75, 0.25],
            "current_aov": [130 / 3, 120.0],
            "mix": [float(app_mix), float(web_mix)],
            "rate": [float(app_rate), float(web_rate)],
            "contribution": [float(app_mix + app_rate), float(web_mix + web_rate)],
        }
    )
    assert_frame_equal(res.segments, expected, abs_tol=1e-12)
    d = res.to_dict()
    assert d["baseline"] == {
        "period": "2025-09",
        "orders": 3,
        "revenue": 200.0,
        "aov": 66.67,
        "upt": 1.333333,
        "aur": 50.0,
    }
    assert (d["change"], d["upt_effect"], d["aur_effect"]) == (-4.17, 17.86, -22.03)
    assert (d["mix_effect"], d["rate_effect"]) == (-24.31, 20.14)
    assert [s["mix"] for s in d["segments"]] == [-9.55, -14.76]
    assert [s["rate"] for s in d["segments"]] == [1.81, 18.33]
    # Revenue 200 -> 250: orders effect 1 x (66.67 + 62.50) / 2, AOV effect -4.17 x 3.5.
    assert res.effect("orders") == pytest.approx(float((a0 + a1) / 2), abs=1e-9)
    assert res.effect("aov", "orders_aov") == pytest.approx(
        float((a1 - a0) * Fraction(7, 2)), abs=1e-9
    )
    assert res.headline == (
        "AOV fell 6.2 % from €66.67 in 2025-09 to €62.50 in 2025-10. One order carries €19.17 "
        "of October 2025's AOV: D (€120.00); without it, AOV would be €43.33. The share of web "
        "orders, whose baskets are larger than average, fell from 66.7 % to 25.0 % (mix "
        "−€24.31), while every channel spent more per order (rate +€20.14). Baskets held more "
        "items (UPT +€17.86) at lower prices per item (AUR −€22.03)."
    )


def test_worked_example_contributors_add_up():
    res = drivers.contributors(worked(), "2025-10")
    table = res.table.sort("category")
    # Boots: 3 units at 140 / 3 orders -> 3 units at 120 / 4 orders.
    boots = table.filter(pl.col("category") == "Boots").row(0, named=True)
    assert boots["baseline_per_order"] == pytest.approx(140 / 3)
    assert boots["current_per_order"] == pytest.approx(30.0)
    assert boots["volume"] + boots["price"] == pytest.approx(boots["change"])
    # Tents only in October: all volume, no price effect.
    tents = table.filter(pl.col("category") == "Tents").row(0, named=True)
    assert (tents["volume"], tents["price"]) == (pytest.approx(15.0), 0.0)
    assert table["change"].sum() == pytest.approx(62.5 - 200 / 3, abs=1e-9)
    assert res.products["change"].sum() == pytest.approx(62.5 - 200 / 3, abs=1e-9)
    assert res.codes is None  # no discount_code column


def test_pandas_in_pandas_out():
    pd_res = drivers.decompose(worked(pd.DataFrame), "2025-10", by="channel")
    pl_res = drivers.decompose(worked(), "2025-10", by="channel")
    assert isinstance(pd_res.segments, pd.DataFrame) and isinstance(pd_res.table, pd.DataFrame)
    assert isinstance(pl_res.segments, pl.DataFrame)
    assert pd_res.to_dict() == pl_res.to_dict()
    assert pd_res.headline == pl_res.headline
    c = drivers.contributors(worked(pd.DataFrame), "2025-10")
    assert isinstance(c.table, pd.DataFrame) and isinstance(c.products, pd.DataFrame)
    assert list(c.table.index) == list(range(len(c.table)))


def test_the_sample_shop_agrees_across_backends(shop, shop_pd):
    for s in (shop, shop_pd):
        assert (
            drivers.decompose(s, "2026-08", by="device").to_dict()
            == drivers.decompose(shop, "2026-08", by="device").to_dict()
        )
    a, b = drivers.trend(shop), drivers.trend(shop_pd)
    assert isinstance(b.table, pd.DataFrame) and isinstance(b.outliers, pd.DataFrame)
    assert a.headline == b.headline and a.outlier_ids() == b.outlier_ids()
    ca, cb = drivers.contributors(shop, "2026-08"), drivers.contributors(shop_pd, "2026-08")
    assert ca.headline == cb.headline
    pd.testing.assert_frame_equal(
        ca.table.to_pandas(), cb.table, check_dtype=False, check_exact=False
    )


# --------------------------------------------------------------------- errors


def test_bad_requests_say_what_was_expected(shop):
    with pytest.raises(AovlabInputError, match="overlap") as info:
        drivers.decompose(shop, "2026Q3", "2026-08")
    assert "baseline 2026-08" in str(info.value)
    with pytest.raises(AovlabInputError, match="no counted orders in the current period 2030-01"):
        drivers.decompose(shop, "2030-01")
    with pytest.raises(AovlabInputError, match="baseline period 2024-10") as info:
        drivers.decompose(shop, "2024-11")
    assert "2024-11-01 to 2026-10-31" in str(info.value)
    with pytest.raises(AovlabInputError, match="cannot split orders by 'colour'") as info:
        drivers.decompose(shop, "2026-08", by="colour")
    assert "customer_type" in str(info.value) and "device" in str(info.value)
    with pytest.raises(AovlabInputError, match="calendar period"):
        drivers.decompose(shop, "2026-08", by="month")
    with pytest.raises(AovlabInputError, match="calendar periods"):
        drivers.trend(shop, by="channel")
    with pytest.raises(AovlabInputError, match="threshold"):
        drivers.trend(shop, threshold=0)


def test_without_lines_or_dimensions_the_splits_say_so():
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "ordered_at": ["2025-09-01", "2025-10-01", "2025-10-02"],
            "total": [50.0, 70.0, 90.0],
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR")
    res = drivers.decompose(shop, "2025-10")
    assert res.to_dict()["upt_effect"] is None
    assert "UPT and AUR need order lines" in res.headline
    assert res.segment_table().headline.startswith("No mix/rate split")
    assert (
        res.chart("mix_rate").to_dict()["mark"]["type"] == "text"
    )  # a chart that says why, not an error
    c = drivers.contributors(shop, "2025-10")
    assert c.table["category"].to_list() == [
        "(merchandise; no order lines given)",
        "(order discounts)",
    ]
    assert c.table["change"].sum() == pytest.approx(30.0)
    assert c.chart("products").to_dict()["mark"]["type"] == "text"


# --------------------------------------------------------------------- properties


@st.composite
def two_month_shops(draw, max_segments=4):
    n = draw(st.integers(2, 30))
    cents = draw(st.lists(st.integers(1, 20_000), min_size=n, max_size=n))
    units = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    month = draw(st.lists(st.sampled_from(["2025-09", "2025-10"]), min_size=n, max_size=n))
    month[0], month[1] = "2025-09", "2025-10"  # both periods have orders
    day = draw(st.lists(st.integers(1, 28), min_size=n, max_size=n))
    segment = draw(
        st.lists(
            st.sampled_from(["a", "b", "c", "d"][: draw(st.integers(1, max_segments))]),
            min_size=n,
            max_size=n,
        )
    )
    ids = [str(i) for i in range(n)]
    orders = pl.DataFrame(
        {
            "order_id": ids,
            "ordered_at": [f"{m}-{d:02d} 12:00" for m, d in zip(month, day, strict=True)],
            "segment": segment,
        }
    )
    lines = pl.DataFrame(
        {
            "order_id": ids,
            "sku": ["s"] * n,
            "quantity": units,
            "unit_price": [c / 100 for c in cents],
        }
    )
    return orders, lines


def _shop(frames, price_factor=1):
    orders, lines = frames
    lines = lines.with_columns(pl.col("unit_price") * price_factor)
    return ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")


PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(two_month_shops())
def test_parts_add_up_to_the_whole(frames):
    res = drivers.decompose(_shop(frames), "2025-10", by="segment")
    change = res.change
    scale = 1e-9 * max(1.0, abs(res.figures["baseline"]["aov"]))
    assert res.effect("upt") + res.effect("aur") == pytest.approx(change, abs=scale)
    assert res.effect("mix") + res.effect("rate") == pytest.approx(change, abs=scale)
    seg = res.segments
    assert seg["mix"].sum() == pytest.approx(res.effect("mix"), abs=scale)
    assert seg["contribution"].sum() == pytest.approx(change, abs=scale)
    revenue = res.figures["revenue_change"]
    assert res.effect("orders") + res.effect("aov", "orders_aov") == pytest.approx(
        revenue, abs=1e-9 * max(1.0, abs(res.figures["baseline"]["revenue"]))
    )
    # Rounded for display and JSON, every group still adds up to the cent.
    d = res.to_dict()
    assert round(d["upt_effect"] + d["aur_effect"], 2) == d["change"]
    assert round(d["mix_effect"] + d["rate_effect"], 2) == d["change"]
    assert round(sum(s["mix"] for s in d["segments"]), 2) == d["mix_effect"]
    assert round(sum(s["rate"] for s in d["segments"]), 2) == d["rate_effect"]
    assert round(d["orders_effect"] + d["aov_effect"], 2) == d["revenue_change"]


@PROPS
@given(two_month_shops())
def test_swapping_the_periods_negates_every_part(frames):
    shop = _shop(frames)
    forward = drivers.decompose(shop, "2025-10", "2025-09", by="segment")
    backward = drivers.decompose(shop, "2025-09", "2025-10", by="segment")
    for a, b in zip(
        forward.table.iter_rows(named=True), backward.table.iter_rows(named=True), strict=True
    ):
        assert (a["split"], a["part"]) == (b["split"], b["part"])
        assert a["effect"] == pytest.approx(-b["effect"], abs=1e-9 * max(1.0, abs(a["effect"])))
    f = forward.segments.sort("segment")
    b = backward.segments.sort("segment")
    assert f["mix"].to_list() == pytest.approx((-b["mix"]).to_list(), abs=1e-9)
    assert f["rate"].to_list() == pytest.approx((-b["rate"]).to_list(), abs=1e-9)


@PROPS
@given(two_month_shops(max_segments=1))
def test_one_segment_has_no_mix(frames):
    res = drivers.decompose(_shop(frames), "2025-10", by="segment")
    assert res.effect("mix") == pytest.approx(0.0, abs=1e-9)
    assert res.effect("rate") == pytest.approx(res.change, abs=1e-9 * max(1.0, abs(res.change)))


@PROPS
@given(two_month_shops(), st.sampled_from([2, 3, 10]))
def test_scaling_prices_scales_aur_not_upt(frames, k):
    # Whole k: prices in cents stay in cents (amounts are rounded to the cent at load).
    base = drivers.decompose(_shop(frames), "2025-10")
    scaled = drivers.decompose(_shop(frames, k), "2025-10")
    for which in ("baseline", "current"):
        b, s = base.figures[which], scaled.figures[which]
        assert s["upt"] == b["upt"]
        assert s["aur"] == pytest.approx(k * b["aur"], rel=1e-9)
    # Both effects are money, so both scale by k; their split between UPT and AUR holds.
    assert scaled.effect("upt") == pytest.approx(k * base.effect("upt"), rel=1e-9, abs=1e-9)
    assert scaled.effect("aur") == pytest.approx(k * base.effect("aur"), rel=1e-9, abs=1e-9)


# --------------------------------------------------------------------- recovery


def test_mix_shift_is_a_negative_mix_and_a_positive_rate(shop):
    plant = TRUTH["mix_shift"]
    res = drivers.decompose(shop, plant["current"], by=plant["dimension"])
    assert res.baseline == plant["baseline"]  # the default baseline is the month before
    seg = {r["device"]: r for r in res.segments.iter_rows(named=True)}
    figures = res.figures
    centre = (figures["baseline"]["aov"] + figures["current"]["aov"]) / 2
    # The planted size: the planted share shift priced at each device's observed AOV.
    planted_mix = sum(
        (plant["share_current"][k] - plant["share_before"][k])
        * ((seg[k]["baseline_aov"] + seg[k]["current_aov"]) / 2 - centre)
        for k in plant["share_before"]
    )
    assert planted_mix < -10
    assert res.effect("mix") == pytest.approx(planted_mix, abs=2.5)
    # The planted rate: one 15.00 add-on on half of the orders, +7.50 per order.
    planted_rate = plant["rate_addon_share"] * 15.0
    assert res.effect("rate") == pytest.approx(planted_rate, abs=1.5)
    assert all(r["rate"] > 0 for r in seg.values())
    assert "every device spent more per order" in res.headline


def test_the_large_order_month_is_flagged_with_exactly_the_planted_orders(shop):
    big = TRUTH["large_orders"]
    res = drivers.trend(shop)
    assert res.flagged == [big["month"]]
    assert sorted(res.outlier_ids(big["month"])) == big["order_ids"]
    row = res.table.filter(pl.col("month") == big["month"]).row(0, named=True)
    # Independently: the month's orders without the planted ones, straight from the table.
    rest = shop.orders.filter(
        (pl.col("ordered_at").dt.strftime("%Y-%m") == big["month"])
        & (pl.col("status") != "cancelled")
        & ~pl.col("order_id").is_in(big["order_ids"])
    ).select((pl.col("merchandise") - pl.col("discount")).mean())
    assert row["aov_without_outliers"] == pytest.approx(rest.item(), rel=1e-12)
    assert row["outlier_orders"] == big["count"]
    out = res.outliers
    assert out["share_of_revenue"].sum() == pytest.approx(
        out["value"].sum() / row["revenue"], rel=1e-12
    )


def test_the_best_seller_price_rise_is_an_aur_effect(shop):
    rise = TRUTH["price_rise"]
    month = rise["date"][:7]
    res = drivers.decompose(shop, month)
    assert res.effect("aur") > 0 and res.effect("aur") > abs(res.effect("upt"))
    products = drivers.contributors(shop, month, top=200).products
    best = products.filter(pl.col("sku").is_in(rise["skus"]))
    rest = products.filter(~pl.col("sku").is_in(rise["skus"]))
    # Only the best-sellers changed price: every other product's price effect is zero.
    assert rest["price"].abs().max() < 1e-9
    # Each best-seller's price effect: its price change times its average units per order.
    expected = (pl.col("current_unit_price") - pl.col("baseline_unit_price")) * (
        (pl.col("baseline_units_per_order") + pl.col("current_units_per_order")) / 2
    )
    assert best["price"].to_list() == pytest.approx(best.select(expected).to_series().to_list())
    ratio = best["current_unit_price"] / best["baseline_unit_price"]
    assert ratio.to_list() == pytest.approx([1 + rise["rise"]] * len(rise["skus"]), abs=0.001)


def test_derived_dimensions(shop):
    res = drivers.decompose(shop, "2026-08", by="customer_type")
    assert set(res.segments["customer_type"]) == {"new", "returning", "guest"}
    main = drivers.decompose(shop, "2026-08", by="main_category")
    assert set(main.segments["main_category"]) == set(shop.catalog["category"])
    used = drivers.decompose(shop, "2026-08", by="discount_used")
    assert set(used.segments["discount_used"]) == {"discount", "no discount"}
    total = res.figures["baseline"]["orders"]
    for r in (res, main, used):
        assert r.segments["baseline_orders"].sum() == total


def test_contributors_on_the_sample(shop):
    res = drivers.contributors(shop, "2026-08")
    assert res.table["change"].sum() == pytest.approx(
        drivers.decompose(shop, "2026-08").change, abs=1e-9
    )
    codes = res.codes
    assert "(no code)" in codes["discount_code"].to_list()
    assert codes["contribution"].sum() == pytest.approx(res.table["change"].sum(), abs=1e-9)
    top = res.top_orders
    assert top["current_count"] == 17  # ceil(1 % of 1,624 orders)
    assert top["influence"] == pytest.approx(
        res.table["change"].sum() - top["change_without"], abs=1e-9
    )


def test_what_next_leads_with_the_largest_finding(shop):
    t = drivers.trend(shop)
    d = drivers.decompose(shop, TRUTH["large_orders"]["month"], by="device")
    steps = drivers.what_next(d, drivers.contributors(shop, d.current), t)
    # The month's large orders are named (and its flag not repeated) before anything else.
    assert steps.items[0].startswith("Four orders carry €27.61 of April 2025's AOV: 104735")
    assert not any("Mean and median part ways in 2025-04" in s for s in steps.items)
    assert "top 1 % of orders" in steps.items[1]
    mix = drivers.decompose(shop, "2026-08", by="device")
    assert any("share of mobile orders rose" in s for s in drivers.what_next(mix).items)


# --------------------------------------------------------------------- large orders


def _month_shop(values: dict[str, list[float]], segments=None, currency="EUR") -> ShopData:
    """One order per value: ``{"2025-09": [...], "2025-10": [...]}``; ids m-i (10-i for October).

    ``segments``: the same shape, a ``channel`` per order.
    """
    rows = [
        (f"{m[-2:]}-{i}", f"{m}-{i % 27 + 1:02d} 12:00", v, (segments or {}).get(m, [None] * 99)[i])
        for m, vs in values.items()
        for i, v in enumerate(vs)
    ]
    frame = {
        "order_id": [r[0] for r in rows],
        "ordered_at": [r[1] for r in rows],
        "customer_id": [f"c{i}" for i in range(len(rows))],
        "total": [r[2] for r in rows],
    }
    if segments:
        frame["channel"] = [r[3] for r in rows]
    return ShopData.from_frames(pl.DataFrame(frame), currency=currency, timezone="UTC")


def test_large_orders_by_hand():
    # October: ten orders, AOV 1,000 / 10 = 100.00 ... with two large ones.
    october = [500.0, 300.0, 40.0, 30.0, 30.0, 30.0, 20.0, 20.0, 15.0, 15.0]
    shop = _month_shop({"2025-09": [50.0, 60.0, 70.0], "2025-10": october})
    res = drivers.large_orders(shop, "2025-10")
    n, a = 10, 100.0
    # One order's mean shift is (v - a) / (n - 1): 500 -> 400 / 9, 300 -> 200 / 9,
    # 40 -> negative. 2 % of 100.00 is 2.00, so two orders are named.
    assert drivers.mean_shift(500.0, a, n) == pytest.approx(400 / 9)
    assert res.order_ids == ["10-0", "10-1"]
    assert res.table["mean_shift"].to_list() == pytest.approx([400 / 9, 200 / 9])
    # The AOV without one order, computed directly.
    assert res.table["aov_without"].to_list() == pytest.approx([500 / 9, 700 / 9])
    assert res.table["share_of_revenue"].to_list() == pytest.approx([0.5, 0.3])
    assert res.aov_without_all == pytest.approx(200 / 8)
    assert res.carried == pytest.approx(75.0)
    assert res.headline == (
        "Two orders each move October 2025's AOV by 2 % or more: 10-0 (€500.00, 50.0 % of "
        "revenue; AOV €55.56 without it) and 10-1 (€300.00, 30.0 % of revenue; AOV €77.78 "
        "without it). Without both, AOV is €25.00 instead of €100.00."
    )
    assert res.to_list() == [
        {"order_id": "10-0", "value": 500.0, "share_of_revenue": 0.5, "aov_without": 55.56},
        {"order_id": "10-1", "value": 300.0, "share_of_revenue": 0.3, "aov_without": 77.78},
    ]
    # Order ids only: customer ids never travel with the large orders.
    assert set(res.table.columns) == {
        "order_id",
        "value",
        "share_of_revenue",
        "mean_shift",
        "aov_without",
    }
    # A higher bar names only the first; max_orders cuts the list.
    assert drivers.large_orders(shop, "2025-10", min_influence=0.3).order_ids == ["10-0"]
    one = drivers.large_orders(shop, "2025-10", max_orders=1)
    assert one.order_ids == ["10-0"] and one.more == 1
    assert one.headline.startswith(
        "Two orders each move October 2025's AOV by 2 % or more; the largest: 10-0 (€500.00"
    )
    # The decomposition carries them, in its headline, its JSON and its next steps.
    dec = drivers.decompose(shop, "2025-10")
    assert dec.large_orders is not None and dec.large_orders.order_ids == ["10-0", "10-1"]
    assert dec.to_dict()["large_orders"] == res.to_list()
    assert (
        "Two orders carry €75.00 of October 2025's AOV: 10-0 (€500.00) and 10-1 (€300.00); "
        "without them, AOV would be €25.00." in dec.headline
    )
    assert "customer" not in str(dec.to_dict()["large_orders"])
    assert drivers.what_next(dec).items[0].startswith("Two orders carry €75.00")


def test_no_large_orders_say_so():
    shop = _month_shop({"2025-09": [50.0, 60.0], "2025-10": [100.0] * 50 + [101.0]})
    res = drivers.large_orders(shop, "2025-10")
    assert res.order_ids == [] and res.aov_without_all is None and res.carried == 0.0
    assert res.headline == (
        "No single order moves October 2025's AOV by 2 % or more; the largest, 10-50 "
        "(€101.00), moves it by €0.02 (0.0 %)."
    )
    dec = drivers.decompose(shop, "2025-10")
    assert dec.to_dict()["large_orders"] == []
    assert "carr" not in dec.headline


def test_trend_and_large_orders_apply_one_rule(shop):
    t = drivers.trend(shop)
    for month in t.flagged:
        assert t.outlier_ids(month) == drivers.large_orders(shop, month).order_ids


def test_the_cli_json_carries_the_large_orders(tmp_path):
    from typer.testing import CliRunner

    from aovlab.cli import app

    october = [500.0, 300.0, 40.0, 30.0, 30.0, 30.0, 20.0, 20.0, 15.0, 15.0]
    shop = _month_shop({"2025-09": [50.0, 60.0, 70.0], "2025-10": october})
    path = tmp_path / "orders.csv"
    shop.orders.select("order_id", "ordered_at", "customer_id", "total").write_csv(path)
    args = ["drivers", str(path), "--current", "2025-10", "--currency", "EUR"]
    result = CliRunner().invoke(app, [*args, "--timezone", "UTC", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [o["order_id"] for o in payload["large_orders"]] == ["10-0", "10-1"]
    assert set(payload["large_orders"][0]) == {
        "order_id",
        "value",
        "share_of_revenue",
        "aov_without",
    }
    assert not any(c in result.stdout for c in ("c0", "c3", "customer_id"))
    text = CliRunner().invoke(app, [*args, "--timezone", "UTC"])
    assert "Two orders each move October 2025's AOV by 2 % or more" in text.stdout


# --------------------------------------------------------------------- sentences


def test_the_rate_clause_names_the_segment_behind_its_sign():
    # web spends a little more, app a lot less: the total rate is negative and app drove it.
    shop = _month_shop(
        {"2025-09": [100.0, 100.0, 50.0, 50.0], "2025-10": [110.0, 110.0, 20.0, 20.0]},
        segments={"2025-09": ["web", "web", "app", "app"], "2025-10": ["web", "web", "app", "app"]},
    )
    res = drivers.decompose(shop, "2025-10", by="channel")
    d = res.to_dict()
    assert (d["mix_effect"], d["rate_effect"]) == (0.0, -10.0)
    assert res.segment_table().headline == (
        "The mix of channels barely moved AOV (mix €0.00), and app spent €30.00 less per order, "
        "though the other channel spent more (rate −€10.00)."
    )


def test_one_segment_and_missing_values_read_right():
    shop = _month_shop(
        {"2025-09": [100.0, 50.0], "2025-10": [90.0, 40.0]},
        segments={"2025-09": ["web", "web"], "2025-10": ["web", "web"]},
    )
    res = drivers.decompose(shop, "2025-10", by="channel")
    assert res.segment_table().headline == (
        "All orders came from one channel (web), so there is no mix effect: web spent €10.00 "
        "less per order (rate −€10.00)."
    )
    blank = _month_shop(
        {"2025-09": [100.0, 50.0], "2025-10": [90.0, 40.0]},
        segments={"2025-09": [None, None], "2025-10": [None, None]},
    )
    assert drivers.decompose(blank, "2025-10", by="channel").segment_table().headline == (
        "No order has a channel, so there is nothing to split by: the whole change is rate "
        "(−€10.00)."
    )


def test_sample_headlines_use_plain_words(shop):
    channel = drivers.decompose(shop, "2026-03", by="channel").headline
    assert (
        "The mix of channels barely moved AOV (mix −€0.33), while organic spent €17.75 more "
        "per order, as did 3 of the other 4 channels (rate +€7.41)." in channel
    )
    codes = drivers.decompose(shop, "2026-03", by="discount_code").headline
    assert "orders without a discount code spent €7.96 more per order, though the other " in codes
    types = drivers.decompose(shop, "2026-03", by="customer_type").headline
    assert "returning customers spent €13.73 more per order, as did 1 of the other 2" in types
    used = drivers.decompose(shop, "2026-08", by="discount_used").headline
    assert "The share of orders with a discount, whose baskets are smaller than average" in used
    for text in (channel, codes, types, used):
        assert " values" not in text and "(missing)" not in text and "1 orders" not in text
