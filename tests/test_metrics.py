import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from scipy import stats

import aovlab
from aovlab import ShopData, metrics
from aovlab.errors import AovlabInputError

# --------------------------------------------------------------------- worked examples


def test_worked_examples_hold_exactly():
    assert round(metrics.aov(400_000, 4_234), 2) == 94.47
    assert metrics.aov(10_000, 100) == 100.00
    assert metrics.conversion_rate(10_000, 400_000) == 0.025
    assert round(metrics.funnel_revenue(400_000, 0.025, 94.47), 2) == 944_700.00
    assert metrics.upt(250, 100) * metrics.aur(10_000, 250) == metrics.aov(10_000, 100)


def test_zero_denominators_give_nan_not_an_error():
    assert math.isnan(metrics.aov(10.0, 0))
    assert math.isnan(metrics.conversion_rate(5, 0))


def test_worked_examples_table():
    table = metrics.worked_examples()
    assert table["result"].tolist() == ["94.47", "100.00", "2.5 %", "944,700.00", "100.00"]


def test_aov_of_the_worked_example_as_a_shop():
    # 4,234 orders summing to exactly 400,000: one order of 400,000 - 4,233 x 94 carries the rest.
    values = [94.0] * 4_233 + [400_000 - 94.0 * 4_233]
    orders = pl.DataFrame(
        {
            "order_id": [str(i) for i in range(4_234)],
            "ordered_at": ["2026-10-01"] * 4_234,
            "merchandise": values,
        }
    )
    row = metrics.kpis(ShopData.from_frames(orders, currency="GBP")).rows()[0]
    assert (row["orders"], row["revenue"], row["aov"]) == (4_234, 400_000.0, 94.47)


# --------------------------------------------------------------------- literal frames


def tiny(native=pl.DataFrame):
    orders = native(
        {
            "order_id": ["1", "2", "3", "4", "5"],
            "ordered_at": ["2026-09-10", "2026-09-20", "2026-10-05", "2026-10-06", "2026-10-07"],
            "merchandise": [100.0, 60.0, 50.0, 30.0, 200.0],
            "discount": [10.0, 0.0, 0.0, 0.0, 0.0],
            "shipping": [0.0, 5.0, 5.0, 5.0, 0.0],
            "channel": ["web", "app", "web", "app", "web"],
            "status": ["paid", "paid", "paid", "paid", "cancelled"],
        }
    )
    lines = native(
        {
            "order_id": ["1", "1", "2", "3", "4", "5"],
            "sku": ["a", "b", "a", "c", "c", "a"],
            "quantity": [1, 2, 1, 1, 3, 4],
            "unit_price": [40.0, 30.0, 60.0, 50.0, 10.0, 50.0],
            "unit_cost": [20.0, 10.0, 30.0, 20.0, 4.0, 20.0],
        }
    )
    return ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")


def test_kpis_by_month_literal():
    table = metrics.kpis(tiny(), by="month").table
    expected = pl.DataFrame(
        {
            "month": ["2026-09", "2026-10"],
            "orders": [2, 2],
            "revenue": [150.0, 80.0],
            "aov": [75.0, 40.0],
            "median_order_value": [75.0, 40.0],
            "trimmed_aov": [75.0, 40.0],
            "top1pct_revenue_share": [90 / 150, 50 / 80],
            "units": [4.0, 4.0],
            "upt": [2.0, 2.0],
            "aur": [37.5, 20.0],
            # margin on net merchandise: (90 + 60 - 40 - 30) / 2 and (50 + 30 - 20 - 12) / 2
            "margin_per_order": [40.0, 24.0],
            "cost_coverage": [1.0, 1.0],
        }
    )
    assert_frame_equal(table, expected)


def test_kpis_by_channel_pandas_literal():
    table = metrics.kpis(tiny(pd.DataFrame), by="channel", basis="total").table
    assert isinstance(table, pd.DataFrame)
    expected = pd.DataFrame(
        {
            "channel": ["app", "web"],
            "orders": [2, 2],
            "revenue": [100.0, 145.0],
            "aov": [50.0, 72.5],
        }
    )
    got = table[["channel", "orders", "revenue", "aov"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


@pytest.mark.parametrize(("basis", "revenue"), [("net", 230.0), ("gross", 240.0), ("total", 245.0)])
def test_revenue_basis(basis, revenue):
    assert metrics.kpis(tiny(), basis=basis).rows()[0]["revenue"] == revenue


def test_unknown_inputs_are_refused(shop):
    with pytest.raises(AovlabInputError, match="basis"):
        metrics.kpis(shop, basis="netto")
    with pytest.raises(AovlabInputError, match="cannot group by 'colour'") as info:
        metrics.kpis(shop, by="colour")
    assert "device" in str(info.value)
    with pytest.raises(AovlabInputError, match="no counted orders"):
        metrics.kpis(shop, when="2019-01")
    with pytest.raises(AovlabInputError, match="at most two"):
        metrics.kpis(shop, by=["month", "device", "country"])


# --------------------------------------------------------------------- independent computations


def test_month_figures_match_an_independent_pandas_computation(shop):
    raw = pd.read_csv(aovlab.sample.DATA_DIR / "orders.csv", dtype={"order_id": str})
    raw = raw[raw["status"] != "cancelled"]
    raw["month"] = raw["ordered_at"].str[:7]  # offsets are local: the text's month is local
    raw["value"] = raw["merchandise"] - raw["discount"]
    g = raw.groupby("month")["value"]
    trimmed = g.apply(lambda v: stats.trim_mean(v, 0.05))
    table = metrics.kpis(shop, by="month").table.to_pandas().set_index("month")
    np.testing.assert_array_equal(table["orders"], g.size())
    np.testing.assert_allclose(table["revenue"], g.sum(), rtol=1e-12)
    np.testing.assert_allclose(table["aov"], g.mean(), rtol=1e-12)
    np.testing.assert_allclose(table["median_order_value"], g.median(), rtol=1e-12)
    np.testing.assert_allclose(table["trimmed_aov"], trimmed, rtol=1e-12)
    top = g.apply(lambda v: np.sort(v.to_numpy())[::-1][: math.ceil(len(v) * 0.01)].sum() / v.sum())
    np.testing.assert_allclose(table["top1pct_revenue_share"], top, rtol=1e-12)


def test_pandas_and_polars_give_the_same_numbers(shop, shop_pd):
    for by in (None, "month", "week", ["quarter", "channel"], "country"):
        a = metrics.kpis(shop, by=by).table
        b = metrics.kpis(shop_pd, by=by).table
        assert isinstance(a, pl.DataFrame) and isinstance(b, pd.DataFrame)
        assert_frame_equal(a, pl.from_pandas(b), check_dtypes=False, abs_tol=1e-9)


def test_conversion_rate_joins_sessions_by_period_and_channel(shop):
    table = metrics.kpis(shop, by=["month", "channel"], when="2026-10").table
    traffic = pl.read_csv(aovlab.sample.DATA_DIR / "traffic.csv")
    oct_sessions = (
        traffic.filter(pl.col("date").str.starts_with("2026-10"))
        .group_by("channel")
        .agg(pl.col("sessions").sum())
    )
    joined = table.join(oct_sessions, on="channel", suffix="_raw")
    assert (joined["sessions"] == joined["sessions_raw"]).all()
    assert ((joined["conversion_rate"] - joined["orders"] / joined["sessions"]).abs() < 1e-15).all()


def test_revenue_equals_sessions_times_cr_times_aov(shop):
    row = metrics.kpis(shop, when="2026-10").table.row(0, named=True)
    assert metrics.funnel_revenue(
        row["sessions"], row["conversion_rate"], row["aov"]
    ) == pytest.approx(row["revenue"], rel=1e-12)


def test_customer_kpis_match_an_independent_computation(shop):
    res = metrics.customer_kpis(shop, cac=40.0)
    row = res.table.row(0, named=True)
    orders = pl.read_csv(
        aovlab.sample.DATA_DIR / "orders.csv", schema_overrides={"order_id": pl.String}
    )
    counted = orders.filter((pl.col("status") != "cancelled") & pl.col("customer_id").is_not_null())
    per = counted.group_by("customer_id").len()
    assert row["customers"] == per.height
    assert row["orders"] == counted.height
    assert row["purchase_frequency"] == counted.height / per.height
    assert row["repeat_rate"] == (per["len"] >= 2).sum() / per.height
    assert row["clv_to_cac"] == pytest.approx(row["clv_historic"] / 40.0)
    members = metrics.customer_kpis(shop, by="loyalty_member").table
    assert members["customers"].sum() == per.height


# --------------------------------------------------------------------- properties


@st.composite
def shops(draw):
    n = draw(st.integers(1, 40))
    values = draw(
        st.lists(
            st.floats(0.01, 5_000, allow_nan=False).map(lambda v: round(v, 2)),
            min_size=n,
            max_size=n,
        )
    )
    qty = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 400), min_size=n, max_size=n))
    status = draw(
        st.lists(st.sampled_from(["paid", "paid", "refunded", "cancelled"]), min_size=n, max_size=n)
    )
    channel = draw(st.lists(st.sampled_from(["web", "app", "pos"]), min_size=n, max_size=n))
    ids = [str(i) for i in range(n)]
    base = pl.date(2025, 1, 1)
    orders = (
        pl.DataFrame({"order_id": ids, "d": days, "status": status, "channel": channel})
        .with_columns(
            (base + pl.duration(days=pl.col("d"))).cast(pl.Datetime("us")).alias("ordered_at")
        )
        .drop("d")
    )
    lines = pl.DataFrame(
        {
            "order_id": ids,
            "sku": ["x"] * n,
            "quantity": qty,
            "unit_price": [round(v / q, 4) for v, q in zip(values, qty, strict=True)],
        }
    )
    return ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")


PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(shops())
def test_aov_times_orders_is_revenue_and_upt_times_aur_is_aov(s):
    counted = s.orders.filter(pl.col("status") != "cancelled")
    if counted.height == 0:
        with pytest.raises(AovlabInputError):
            metrics.kpis(s)
        return
    for by in (None, "month", "channel"):
        t = metrics.kpis(s, by=by).table
        assert (
            (t["aov"] * t["orders"] - t["revenue"]).abs() <= 1e-9 * (1 + t["revenue"].abs())
        ).all()
        assert (
            (t["upt"] * t["aur"] - t["aov"]).fill_null(0).abs() <= 1e-9 * (1 + t["aov"].abs())
        ).all()
        assert (t["median_order_value"] <= t.select(pl.col("revenue")).to_series()).all()


@PROPS
@given(shops(), st.sampled_from(["day", "week", "month", "quarter", "year"]))
def test_periods_add_up_to_the_whole(s, period):
    if s.orders.filter(pl.col("status") != "cancelled").height == 0:
        return
    whole = metrics.kpis(s).table.row(0, named=True)
    parts = metrics.kpis(s, by=period).table
    assert parts["orders"].sum() == whole["orders"]
    assert parts["revenue"].sum() == pytest.approx(whole["revenue"], abs=1e-6)
    assert parts["units"].sum() == whole["units"]


@PROPS
@given(shops())
def test_cancelled_orders_never_count(s):
    counted = s.orders.filter(pl.col("status") != "cancelled")
    if counted.height == 0:
        return
    row = metrics.kpis(s).table.row(0, named=True)
    assert row["orders"] == counted.height
    assert row["revenue"] == pytest.approx(counted["merchandise"].sum() - counted["discount"].sum())
    # Changing a cancelled order's amount changes nothing.
    bumped = s.orders.with_columns(
        pl.when(pl.col("status") == "cancelled")
        .then(pl.col("merchandise") * 10 + 1)
        .otherwise(pl.col("merchandise"))
        .alias("merchandise")
    )
    again = metrics.kpis(ShopData.from_frames(bumped, currency="EUR")).table.row(0, named=True)
    assert again["revenue"] == pytest.approx(row["revenue"])


@PROPS
@given(
    st.lists(
        st.floats(0, 10_000, allow_nan=False).map(lambda v: round(v, 2)), min_size=1, max_size=300
    ),
    st.sampled_from([0.0, 0.05, 0.1, 0.25]),
)
def test_trimmed_aov_is_scipy_trim_mean(values, trim):
    orders = pl.DataFrame(
        {
            "order_id": [str(i) for i in range(len(values))],
            "ordered_at": ["2026-10-01"] * len(values),
            "merchandise": values,
        }
    )
    shop = ShopData.from_frames(orders, include_zero_value=True)
    row = metrics.kpis(shop, trim=trim).table.row(0, named=True)
    assert row["trimmed_aov"] == pytest.approx(stats.trim_mean(values, trim), rel=1e-9, abs=1e-9)
    assert row["median_order_value"] == pytest.approx(float(np.median(values)))


def test_pair_headline_names_the_mix_paradox():
    # Sep: web 8 x 100, app 2 x 50 (AOV 90); Oct: web 2 x 110, app 8 x 55 (AOV 66).
    values = [100.0] * 8 + [50.0] * 2 + [110.0] * 2 + [55.0] * 8
    channel = ["web"] * 8 + ["app"] * 2 + ["web"] * 2 + ["app"] * 8
    dates = ["2026-09-15"] * 10 + ["2026-10-15"] * 10
    orders = pl.DataFrame(
        {
            "order_id": [str(i) for i in range(20)],
            "ordered_at": dates,
            "merchandise": values,
            "channel": channel,
        }
    )
    res = metrics.kpis(ShopData.from_frames(orders, currency="EUR"), by=["month", "channel"])
    assert res.headline == (
        "Overall AOV fell from €90.00 in 2026-09 to €66.00 in 2026-10 (−26.7 %) "
        "while it rose in every channel: app +10.0 %, web +10.0 %."
    )


def _pair(values, channel):
    half = len(values) // 2
    orders = pl.DataFrame(
        {
            "order_id": [str(i) for i in range(len(values))],
            "ordered_at": ["2026-09-15"] * half + ["2026-10-15"] * half,
            "merchandise": values,
            "channel": channel,
        }
    )
    return metrics.kpis(ShopData.from_frames(orders, currency="EUR"), by=["month", "channel"])


def test_pair_headline_counts_the_segments_that_moved_with_the_whole():
    # AOV falls; web rises, app and shop fall.
    res = _pair(
        [100.0, 50.0, 40.0, 110.0, 30.0, 20.0],
        ["web", "app", "shop", "web", "app", "shop"],
    )
    assert res.headline == (
        "Overall AOV fell from €63.33 in 2026-09 to €53.33 in 2026-10 (−15.8 %) as it did in "
        "2 of 3 channels: app −40.0 %, shop −50.0 %, web +10.0 %."
    )
    # Every segment rises with the whole: no "3 of 3 ... values".
    res = _pair([100.0, 50.0, 110.0, 60.0], ["web", "app", "web", "app"])
    assert res.headline == (
        "Overall AOV rose from €75.00 in 2026-09 to €85.00 in 2026-10 (+13.3 %) as it did in "
        "every channel: app +20.0 %, web +10.0 %."
    )
    # Held overall.
    res = _pair([100.0, 50.0, 90.0, 60.0], ["web", "app", "web", "app"])
    assert res.headline == (
        "Overall AOV held at €75.00 from 2026-09 to 2026-10 while it rose in 1 of 2 channels "
        "and fell in 1: app +20.0 %, web −10.0 %."
    )


def test_customer_kpis_of_a_guest_only_shop():
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "ordered_at": ["2026-09-01", "2026-09-02", "2026-10-01"],
            "total": [50.0, 70.0, 90.0],
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR", timezone="UTC")
    res = metrics.customer_kpis(shop)
    assert res.headline == (
        "No registered customers in this data: every order is a guest checkout, so purchase "
        "frequency, repeat rate and CLV cannot be computed."
    )
    assert len(res.table) == 0
    assert list(res.table.columns) == list(metrics.CUSTOMER_FORMATS)
    assert "<table" in res._repr_html_()
    pandas = metrics.customer_kpis(ShopData.from_frames(orders.to_pandas()))
    assert isinstance(pandas.table, pd.DataFrame) and pandas.headline == res.headline


@pytest.mark.parametrize("by", ["customer_type", "main_category", "discount_used"])
def test_derived_dimensions_split_kpis_as_they_split_drivers(shop, by):
    """by= means the same in metrics.kpis as in drivers.decompose."""
    table = metrics.kpis(shop, by=by, when="2026-08").table
    segments = aovlab.drivers.decompose(shop, "2026-08", by=by).segments
    kpis = dict(zip(table[by].to_list(), table["orders"].to_list(), strict=True))
    drivers = dict(zip(segments[by].to_list(), segments["current_orders"].to_list(), strict=True))
    assert kpis == {k: v for k, v in drivers.items() if v}
