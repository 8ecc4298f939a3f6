"""The sample shop is reproducible and carries every planted effect at its documented size."""

import polars as pl
import pytest

import aovlab
from aovlab import metrics
from aovlab.sample import TRUTH


@pytest.fixture(scope="module")
def tables(shop):
    orders = (
        pl.from_pandas(shop.orders.to_pandas())
        if not isinstance(shop.orders, pl.DataFrame)
        else shop.orders
    )
    counted = orders.filter(pl.col("status") != "cancelled").with_columns(
        (pl.col("merchandise") - pl.col("discount")).alias("net"),
        pl.col("ordered_at").dt.strftime("%Y-%m").alias("month"),
    )
    return counted, shop.lines


def test_files_are_regenerated_byte_for_byte(tmp_path):
    written = aovlab.sample.write(tmp_path)
    # + Shopify, WooCommerce, 3 European files, shop.json, README
    assert len(written) == len(aovlab.sample.FILES) + 7
    for path in written:
        name = path.relative_to(tmp_path)
        assert path.read_bytes() == (aovlab.sample.DATA_DIR / name).read_bytes(), name


def test_shape_of_the_shop(shop):
    summary = shop.summary()
    assert 28_000 <= summary["tables"]["orders"] <= 32_000
    assert summary["tables"]["catalog"] == 80
    assert shop.catalog["category"].n_unique() == 8
    assert set(shop.orders["country"].unique()) == {"SE", "NO", "DK", "DE", "NL", "UK"}
    assert shop.orders["customer_id"].null_count() > 0  # guests
    assert summary["first_order"][:7] == "2024-11" and summary["last_order"][:7] == "2026-10"
    assert shop.notes == ()  # every order reconciles


def test_large_orders_lift_the_mean_not_the_median(tables):
    counted, _ = tables
    big = TRUTH["large_orders"]
    month = counted.filter(pl.col("month") == big["month"]).sort("net", descending=True)
    assert month.head(big["count"])["order_id"].sort().to_list() == big["order_ids"]
    rest = month.slice(big["count"])
    assert month["net"].mean() > 1.15 * rest["net"].mean()
    assert abs(month["net"].median() / rest["net"].median() - 1) < 0.03


def test_mix_shift_every_device_up_overall_down(shop):
    mix = TRUTH["mix_shift"]
    table = metrics.kpis(
        shop, by=["month", mix["dimension"]], when=f"{mix['baseline']}..{mix['current']}"
    ).table
    wide = table.pivot(on="month", index=mix["dimension"], values="aov")
    assert (wide[mix["current"]] > wide[mix["baseline"]]).all()
    overall = metrics.kpis(shop, by="month", when=f"{mix['baseline']}..{mix['current']}").table
    assert overall["aov"][1] < overall["aov"][0]
    shares = table.with_columns(
        (pl.col("orders") / pl.col("orders").sum().over("month")).alias("share")
    )
    mobile = shares.filter(pl.col("device") == "mobile").sort("month")["share"].to_list()
    assert mobile[0] == pytest.approx(mix["share_before"]["mobile"], abs=0.04)
    assert mobile[1] == pytest.approx(mix["share_current"]["mobile"], abs=0.04)


def test_price_rise_on_the_best_sellers(shop):
    rise = TRUTH["price_rise"]
    lines = shop.lines.join(shop.orders.select("order_id", "ordered_at", "ab_arm"), on="order_id")
    lines = lines.filter(pl.col("ab_arm").is_null() & pl.col("sku").is_in(rise["skus"]))
    list_price = dict(shop.catalog.select("sku", "unit_price").iter_rows())
    cutoff = pl.lit(rise["date"]).str.to_date()
    after = lines.filter(pl.col("ordered_at").dt.date() >= cutoff)
    before = lines.filter(pl.col("ordered_at").dt.date() < cutoff)
    for sku in rise["skus"]:
        assert set(before.filter(pl.col("sku") == sku)["unit_price"]) == {list_price[sku]}
        assert set(after.filter(pl.col("sku") == sku)["unit_price"]) == {
            round(list_price[sku] * (1 + rise["rise"]), 2)
        }


def test_free_shipping_threshold(tables):
    counted, _ = tables
    fs = TRUTH["free_shipping"]
    after = counted.filter(pl.col("ordered_at").dt.date() >= pl.lit(fs["date"]).str.to_date())
    assert (after.filter(pl.col("net") >= fs["threshold_after"])["shipping"] == 0).all()
    assert (after.filter(pl.col("net") < fs["threshold_after"])["shipping"] > 0).all()
    # Bunching: baskets that top up pile up just above the threshold.
    t = fs["threshold_after"]
    below = after.filter((pl.col("net") >= t - 10) & (pl.col("net") < t)).height
    above = after.filter((pl.col("net") >= t) & (pl.col("net") < t + 10)).height
    assert above > 1.3 * below


def test_loyalty_members_spend_and_buy_more_after_joining(shop, tables):
    counted, _ = tables
    members = shop.customers.filter(pl.col("loyalty_member")).select(
        "customer_id", "loyalty_joined_at"
    )
    joined = counted.join(members, on="customer_id").with_columns(
        (pl.col("ordered_at") >= pl.col("loyalty_joined_at")).alias("after")
    )
    # Compare the same members before and after joining; the basket lift is planted at +12 %.
    aov = joined.group_by("after").agg(pl.col("net").mean()).sort("after")["net"].to_list()
    assert aov[1] / aov[0] == pytest.approx(1 + TRUTH["loyalty"]["aov_lift"], abs=0.06)
    # Joiners whose wait ends after the data are not members yet: the share sits below 35 %.
    share = members.height / shop.customers.height
    assert 0.7 * TRUTH["loyalty"]["join_share"] < share <= TRUTH["loyalty"]["join_share"]


def test_pairs_are_bought_together_far_more_than_chance(shop):
    lines = shop.lines.select("order_id", "sku").unique()
    n = lines["order_id"].n_unique()
    for pair in TRUTH["pairs"]:
        a = set(lines.filter(pl.col("sku") == pair["a"])["order_id"])
        b = set(lines.filter(pl.col("sku") == pair["b"])["order_id"])
        lift = (len(a & b) / n) / ((len(a) / n) * (len(b) / n))
        assert lift >= TRUTH["min_pair_lift"], pair


def test_ab_test_arms(shop, tables):
    counted, _ = tables
    ab = TRUTH["ab_test"]
    arms = (
        counted.filter(pl.col("ab_arm").is_not_null())
        .group_by("ab_arm")
        .agg(pl.len(), pl.col("net").mean(), pl.col("net").std().alias("sd"))
        .sort("ab_arm")
    )
    assert arms["ab_arm"].to_list() == ab["arms"]
    # About 680 orders per arm: the AOV ratio's standard error is some 6 % (delta method).
    ratio = arms["net"][1] / arms["net"][0]
    se = ratio * ((arms["sd"] / arms["net"]) ** 2 / arms["len"]).sum() ** 0.5
    assert abs(ratio - (1 + ab["aov_lift_b"])) < 2.5 * se < 0.2
    traffic = (
        shop.traffic.filter(pl.col("arm").is_not_null())
        .group_by("arm")
        .agg(pl.col("sessions").sum())
        .sort("arm")
    )
    cr = arms["len"] / traffic["sessions"]
    assert cr[1] / cr[0] == pytest.approx(1 + ab["conversion_lift_b"], abs=0.05)


def test_november_december_peak(shop):
    table = metrics.kpis(shop, by="month", when="2025-01..2025-12").table
    orders = dict(table.select("month", "orders").iter_rows())
    others = [v for k, v in orders.items() if k not in ("2025-11", "2025-12")]
    assert orders["2025-12"] > 1.5 * sum(others) / len(others)
    assert orders["2025-11"] > 1.3 * sum(others) / len(others)
