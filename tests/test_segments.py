"""The segment breakdown: literal tables, invariants, planted effects, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from aovlab import ShopData, intervals, segments
from aovlab.cli import app
from aovlab.errors import AovlabInputError
from aovlab.sample import TRUTH


def _tiny(native=pl.DataFrame) -> ShopData:
    """Seven orders on two channels; one registered customer orders twice at one moment."""
    orders = native(
        {
            "order_id": ["1", "2", "3", "4", "5", "6", "7"],
            "customer_id": ["c1", "c1", "c2", None, "c2", "c3", "c3"],
            "ordered_at": [
                "2026-01-05 10:00",
                "2026-01-05 10:00",
                "2026-01-06 09:00",
                "2026-01-07 12:00",
                "2026-02-01 08:00",
                "2026-02-02 08:00",
                "2026-02-03 08:00",
            ],
            "merchandise": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0],
            "channel": ["web", "web", "app", "web", "app", "web", "shop"],
        }
    )
    return ShopData.from_frames(orders, currency="EUR", timezone="Europe/Stockholm")


def test_breakdown_literal_table_with_other_row():
    res = segments.breakdown(_tiny(), "channel", min_orders=1)
    assert res.table["channel"].to_list() == ["web", "app", "shop"]
    res = segments.breakdown(_tiny(), "channel", min_orders=2)
    table = res.table.drop("aov_ci_low", "aov_ci_high", "interval", "upt", "aur")
    expected = pl.DataFrame(
        {
            "channel": ["web", "Other (2 segments)"],
            "orders": [4, 3],
            "share": [4 / 7, 3 / 7],
            "revenue": [130.0, 150.0],
            "revenue_share": [130 / 280, 150 / 280],
            "aov": [32.5, 50.0],
            "median_order_value": [30.0, 50.0],
            "margin_per_order": [None, None],
            "cost_coverage": [0.0, 0.0],
            "aov_index": [100 * 32.5 / 40, 125.0],
            "segments_merged": [1, 2],
        },
        schema_overrides={"margin_per_order": pl.Float64},
    )
    assert_frame_equal(table, expected)
    assert res.overall["orders"] == 7 and res.overall["aov"] == pytest.approx(40.0)
    # Neither the lone "shop" order nor app's two are shown on their own.
    assert "shop" not in res.table["channel"].to_list()
    assert res.to_dict()["segments"][-1]["key"] == "Other"
    assert res.to_dict()["segments"][-1]["segments_merged"] == 2


def test_new_vs_returning_breaks_same_moment_ties_by_order_id():
    res = segments.breakdown(_tiny(), "customer_type", min_orders=1)
    got = dict(zip(res.table["customer_type"], res.table["orders"], strict=True))
    # c1's orders 1 and 2 share a moment: 1 is new, 2 returning; c2: 3 new, 5
    # returning; c3: 6 new, 7 returning; order 4 is a guest.
    assert got == {"new": 3, "returning": 3, "guest": 1}
    rev = dict(zip(res.table["customer_type"], res.table["revenue"], strict=True))
    assert rev == {"new": 100.0, "returning": 140.0, "guest": 40.0}


def test_pandas_in_pandas_out(shop, shop_pd):
    a = segments.breakdown(shop, "device", when="2026-08")
    b = segments.breakdown(shop_pd, "device", when="2026-08")
    assert isinstance(a.table, pl.DataFrame) and isinstance(b.table, pd.DataFrame)
    assert_frame_equal(a.table, pl.from_pandas(b.table), check_dtypes=False)
    assert a.headline == b.headline
    assert isinstance(segments.compare(shop_pd, "device", "2026-08").table, pd.DataFrame)
    assert isinstance(segments.new_vs_returning(shop_pd, when="2026Q3").table, pd.DataFrame)
    assert isinstance(segments.targets(shop_pd, "channel").table, pd.DataFrame)


def test_one_segment_dimension_returns_the_overall_figures(shop):
    res = segments.breakdown(shop, "ab_arm", when="2026-01")  # no test running: all missing
    assert len(res.table) == 1
    row = res.table.row(0, named=True)
    for figure in ("orders", "revenue", "aov", "aov_ci_low", "aov_ci_high", "median_order_value"):
        assert row[figure] == pytest.approx(res.overall[figure], rel=1e-12), figure
    assert row["share"] == 1.0 and row["aov_index"] == pytest.approx(100.0)


@settings(max_examples=25, deadline=None)
@given(min_orders=st.integers(1, 3000), when=st.sampled_from([None, "2026-08", "2025Q4"]))
def test_merged_segments_add_up_to_the_whole(shop, min_orders, when):
    res = segments.breakdown(shop, "discount_code", "device", when=when, min_orders=min_orders)
    table = res.table
    assert table["orders"].sum() == res.overall["orders"]
    assert table["revenue"].sum() == pytest.approx(res.overall["revenue"], rel=1e-12)
    assert table["share"].sum() == pytest.approx(1.0)
    shown = table.filter(~pl.col("discount_code").str.starts_with("Other ("))
    assert (shown["orders"] >= min_orders).all()
    assert table["segments_merged"].sum() == res.overall["segments_merged"]


def test_intervals_contain_the_aov_and_rerun_identically(shop):
    res = segments.breakdown(shop, "discount_code")
    t = res.table
    assert (t["aov_ci_low"] <= t["aov"]).all() and (t["aov"] <= t["aov_ci_high"]).all()
    assert set(t["interval"]) == {intervals.SKEW_T}
    # Skewed order values: each interval reaches further above the AOV than below it.
    assert ((t["aov_ci_high"] - t["aov"]) > (t["aov"] - t["aov_ci_low"])).all()
    assert_frame_equal(t, segments.breakdown(shop, "discount_code").table)


def test_intervals_match_the_values_computed_outside(shop):
    """The engine's moments give the interval the values themselves give."""
    res = segments.breakdown(shop, "device", when="2026-08")
    orders = shop.orders.filter(
        (pl.col("ordered_at").dt.strftime("%Y-%m") == "2026-08") & (pl.col("status") != "cancelled")
    ).filter(~pl.col("test"))
    for row in res.rows():
        values = (
            orders.filter(pl.col("device") == row["device"])
            .select(pl.col("merchandise") - pl.col("discount"))
            .to_series()
            .to_numpy()
        )
        low, high, _ = intervals.mean_intervals(
            np.array([len(values)]),
            np.array([values.mean()]),
            np.array([values.std(ddof=1)]),
            {0: values} if len(values) < intervals.BOOTSTRAP_BELOW else {},
            skew=None
            if len(values) < intervals.BOOTSTRAP_BELOW
            else np.array([float(pl.Series(values).skew())]),
        )
        assert row["aov_ci_low"] == pytest.approx(low[0], abs=0.006)
        assert row["aov_ci_high"] == pytest.approx(high[0], abs=0.006)


def _ratio_interval(a: dict, b: dict) -> tuple[float, float]:
    """A conservative interval for AOV(a) / AOV(b) from the two intervals."""
    return a["aov_ci_low"] / b["aov_ci_high"], a["aov_ci_high"] / b["aov_ci_low"]


def test_recovers_the_planted_device_gap(shop):
    """Device baskets are planted at 62 % (mobile) and 90 % (tablet) of desktop's."""
    factor = TRUTH["mix_shift"]["basket_factor"]
    res = segments.breakdown(shop, "device", when="2025")
    row = {r["device"]: r for r in res.rows()}
    for device in ("mobile", "tablet"):
        low, high = _ratio_interval(row[device], row["desktop"])
        assert low < factor[device] < high, device
        assert row[device]["aov"] < row["desktop"]["aov"]
        assert row[device]["upt"] / row["desktop"]["upt"] == pytest.approx(factor[device], abs=0.05)


def test_recovers_the_planted_member_lift(shop):
    """Members' baskets are planted 12 % larger after they join."""
    lift = 1 + TRUTH["loyalty"]["aov_lift"]
    res = segments.breakdown(shop, "loyalty_status", when="2025-09..2026-10")
    row = {r["loyalty_status"]: r for r in res.rows()}
    low, high = _ratio_interval(row["member"], row["not a member"])
    assert low < lift < high
    assert row["member"]["aov"] > row["not a member"]["aov"]
    assert res.headline.startswith("Members spend")


def test_channels_with_no_planted_gap_stay_close_to_the_whole(shop):
    """Channels are drawn independently of basket size: none is far from the average."""
    res = segments.breakdown(shop, "channel")
    device = segments.breakdown(shop, "device")
    spread = [abs(r["aov_index"] - 100) for r in res.rows()]
    assert max(spread) < 10 < max(abs(r["aov_index"] - 100) for r in device.rows())


def test_compare_two_periods_recovers_the_mix_shift(shop):
    shift = TRUTH["mix_shift"]
    res = segments.compare(shop, "device", shift["current"])
    row = {r["device"]: r for r in res.rows()}
    assert res.baseline == shift["baseline"]
    for device, share in shift["share_current"].items():
        assert row[device]["current_share"] == pytest.approx(share, abs=0.04)
        assert row[device]["baseline_share"] == pytest.approx(
            shift["share_before"][device], abs=0.04
        )
    # The summer add-on raises every device's AOV while the mix pulls the total down.
    assert all(r["aov_change"] > 0 for r in row.values())
    assert res.overall["current_aov"] < res.overall["baseline_aov"]
    assert "share of mobile orders grew" in res.headline


def test_compare_merges_a_segment_small_in_either_period(shop):
    res = segments.compare(shop, "discount_code", "2025-11", min_orders=40)
    keys = res.table["discount_code"].to_list()
    # BLACKFRIDAY20 only runs in November: small in October, so merged in both.
    assert "BLACKFRIDAY20" not in keys
    assert keys[-1].startswith("Other (")
    assert res.table["current_orders"].sum() == res.overall["current_orders"]
    assert res.table["baseline_orders"].sum() == res.overall["baseline_orders"]


def test_one_small_segment_is_never_alone_in_other():
    """Other must hide what it merges: two segments or more, min_orders orders or more."""
    res = segments.breakdown(_tiny(), "channel", min_orders=2)
    # "shop" (1 order) alone in Other would show its order: app (2 orders) joins it.
    assert res.table["channel"].to_list() == ["web", "Other (2 segments)"]
    assert res.table["orders"].to_list() == [4, 3]
    every = segments.breakdown(_tiny(), "channel", min_orders=4)
    assert every.table["channel"].to_list() == ["Other (3 segments)"]  # web alone would tell


def test_new_vs_returning_by_month(shop):
    res = segments.new_vs_returning(shop, when="2026Q3")
    t = res.table
    assert t["month"].unique().sort().to_list() == ["2026-07", "2026-08", "2026-09"]
    shares = t.group_by("month").agg(pl.col("share").sum())["share"]
    assert np.allclose(shares.to_numpy(), 1.0)
    assert res.headline.startswith("Returning customers spend")


def test_targets_against_one_shop_wide_target(shop):
    res = segments.targets(shop, "device", when="2026-08", uplift=0.1)
    t = res.table
    assert np.allclose(t["target_aov"].to_numpy(), t["aov"].to_numpy() * 1.1)
    assert res.mix_target == pytest.approx(float((t["share"] * t["target_aov"]).sum()))
    best = segments.targets(shop, "device", when="2026-08", method="best_quarter")
    b = best.table
    assert (b["target_aov"] >= b["aov"] - 1e-9).all()
    assert set(b["best_quarter"].drop_nulls().to_list()) <= {
        "2025Q3",
        "2025Q4",
        "2026Q1",
        "2026Q2",
        "2026Q3",
    }


def test_unknown_dimension_lists_the_available_ones(shop):
    with pytest.raises(AovlabInputError) as info:
        segments.breakdown(shop, "colour")
    assert "channel, device, country" in str(info.value) and "colour" in str(info.value)


def test_empty_period_says_which_periods_exist(shop):
    with pytest.raises(AovlabInputError) as info:
        segments.breakdown(shop, "device", when="2030-01")
    text = str(info.value)
    assert "2030-01" in text and "2024-11 to 2026-10" in text


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"min_orders": 0}, "min_orders"),
        ({"confidence": 1.5}, "confidence"),
        ({"basis": "gros"}, "basis"),
        ({"by2": "device"}, "same"),
    ],
)
def test_bad_parameters_say_what_is_expected(shop, kwargs, word):
    with pytest.raises(AovlabInputError) as info:
        segments.breakdown(shop, "device", **kwargs)
    assert word in str(info.value)


def test_no_order_value_leaves_the_engine(shop, monkeypatch):
    """The intervals come from each segment's moments, computed in the group-by."""
    calls: list[dict] = []
    real = intervals.mean_intervals

    def spy(n, mean, std, samples, *args, **kwargs):
        calls.append({"samples": samples, "skew": kwargs.get("skew")})
        return real(n, mean, std, samples, *args, **kwargs)

    monkeypatch.setattr(intervals, "mean_intervals", spy)
    segments.breakdown(shop, "discount_code", "device", min_orders=50)
    segments.new_vs_returning(shop, when="2026")
    assert calls and all(c["samples"] == {} and c["skew"] is not None for c in calls)


def test_cli_segments_json(tmp_path, shop):
    from conftest import ROOT
    from typer.testing import CliRunner

    folder = ROOT / "data" / "sample"
    out = CliRunner().invoke(
        app,
        [
            "segments",
            str(folder / "orders.csv"),
            "--by",
            "device",
            "--period",
            "2026-08",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["by"] == ["device"] and payload["min_orders"] == 30
    first = payload["segments"][0]
    for key in (
        "key",
        "orders",
        "share",
        "revenue",
        "revenue_share",
        "aov",
        "aov_ci_low",
        "aov_ci_high",
        "median_order_value",
        "upt",
        "aur",
        "aov_index",
    ):
        assert key in first and (key == "key" or key in payload["overall"]), key
    assert first["key"] == "mobile"
    bad = CliRunner().invoke(app, ["segments", str(folder / "orders.csv"), "--by", "colour"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_cli_rfm_json_has_the_documented_keys():
    from conftest import ROOT
    from typer.testing import CliRunner

    orders = ROOT / "data" / "sample" / "orders.csv"
    out = CliRunner().invoke(
        app, ["segments", str(orders), "--rfm", "--as-of", "2026-10-31", "--top", "5", "--json"]
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["as_of"] == "2026-10-31"
    assert set(payload["rfm"][0]) >= {
        "segment",
        "customers",
        "customer_share",
        "revenue_share",
        "aov",
        "orders_per_customer",
        "recency_days",
    }
    assert len(payload["top_customers"]) == 5
    assert set(payload["top_customers"][0]) >= {"customer_id", "orders", "revenue", "revenue_share"}
    assert sum(s["customers"] for s in payload["rfm"]) == payload["customers"]


def test_cli_rfm_json_totals_are_the_registered_customers():
    """customers, orders and revenue describe the same people: the registered customers.

    The RFM and top-customer results both have a ``revenue``: RFM's (registered
    customers) must not be overwritten by the top customers' (every order, guests too).
    """
    from conftest import ROOT
    from typer.testing import CliRunner

    orders = ROOT / "data" / "sample" / "orders.csv"
    out = CliRunner().invoke(app, ["segments", str(orders), "--rfm", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert sum(s["revenue"] for s in payload["rfm"]) == pytest.approx(payload["revenue"], abs=0.1)
    assert sum(s["orders"] for s in payload["grid"]) == payload["orders"]
    assert payload["customer_revenue"] == payload["revenue"]
    assert payload["all_revenue"] > payload["revenue"]  # guest checkouts too
    top = payload["top_customers"][0]
    assert top["revenue_share"] == pytest.approx(top["revenue"] / payload["all_revenue"], abs=1e-6)


def test_rfm_as_of_defaults_to_the_period_end(shop):
    a = segments.rfm(shop, period="2026-08")
    b = segments.rfm(shop, as_of="2026-08-31")
    assert a.to_dict() == b.to_dict()


def _shuffled_pair() -> tuple[ShopData, ShopData, ShopData]:
    """One shop three ways: polars, the same rows reversed, and pandas."""
    rng = np.random.default_rng(7)
    n = 400
    frame = pl.DataFrame(
        {
            "order_id": [f"o{i:04d}" for i in range(n)],
            "customer_id": [f"c{i % 90}" if i % 5 else None for i in range(n)],
            "ordered_at": [f"2026-{1 + i // 100:02d}-{1 + i % 28:02d} 10:00" for i in range(n)],
            "merchandise": np.round(rng.gamma(2.0, 50.0, n), 2),
            "channel": rng.choice(["web", "app"], n).tolist(),
        }
    )
    make = lambda native: ShopData.from_frames(native, currency="EUR")  # noqa: E731
    return make(frame), make(frame.reverse()), make(frame.to_pandas())


def test_intervals_do_not_depend_on_the_order_of_the_rows():
    """The resampling intervals see each segment's values, not the engine's row order.

    The order of rows out of a join (customer_type) differs between pandas and polars
    and between polars runs; a report must come out the same every time.
    """
    shop, reversed_, shop_pd = _shuffled_pair()

    def figures(s: ShopData) -> list[dict]:
        return [
            segments.breakdown(s, "channel").to_dict(),
            segments.breakdown(s, "customer_type", "channel").to_dict(),
            segments.new_vs_returning(s).to_dict(),
            segments.compare(s, "customer_type", "2026-04").to_dict(),
        ]

    expected = figures(shop)
    assert figures(reversed_) == expected
    assert figures(shop_pd) == expected


def test_cli_prints_segment_names_as_they_are_never_as_markup(tmp_path):
    """Brackets in a dimension's values are text: never styled, never a traceback."""
    from typer.testing import CliRunner

    n = 120
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "ordered_at": [f"2026-03-{1 + i % 28:02d} 10:00" for i in range(n)],
            "merchandise": [200.0 + i if i % 3 == 0 else 50.0 + i for i in range(n)],
            "channel": [
                ["[bold]loud[/bold]", "[/]", "[link=http://x.example]web[/link]"][i % 3]
                for i in range(n)
            ],
        }
    )
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False)
    out = CliRunner().invoke(app, ["segments", str(path), "--by", "channel", "--currency", "EUR"])
    assert out.exit_code == 0, (out.output, out.exception)
    assert "[bold]loud[/bold] orders have the highest AOV" in out.stdout
    assert "[/] orders the lowest" in out.stdout
    bad = CliRunner().invoke(app, ["segments", str(path), "--by", "[/]", "--currency", "EUR"])
    assert bad.exit_code == 2, (bad.output, bad.exception)
    assert "cannot split orders by '[/]'" in bad.output


def test_compare_headline_when_every_segment_fell():
    """A fall is never called 'most upwards'."""
    n = 40
    orders = pl.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(4 * n)],
            "ordered_at": [
                f"2026-0{1 + i // (2 * n)}-{1 + i % 28:02d} 10:00" for i in range(4 * n)
            ],
            # January: web 100, app 200; February: web 90, app 150.
            "merchandise": [100.0] * n + [200.0] * n + [90.0] * n + [150.0] * n,
            "channel": (["web"] * n + ["app"] * n) * 2,
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR")
    res = segments.compare(shop, "channel", "2026-02", min_orders=10)
    assert "upwards" not in res.headline
    assert "App orders fell most (−€50.00), web orders least (−€10.00)." in res.headline


def test_headline_counts_read_as_numbers_and_name_the_pair():
    shop = _tiny()
    one = segments.breakdown(shop, "channel", when="2026-01-07")
    assert "over 1 order (2026-01-07)" in one.headline
    many = segments.breakdown(shop, "channel", min_orders=1_000_000)
    assert "fewer than 1,000,000 orders" in many.headline
    pair = segments.breakdown(shop, "channel", "customer_type")
    assert "every channel × customer type segment has fewer than 30 orders" in pair.headline


def test_a_boolean_dimension_reads_the_same_from_pandas_and_polars():
    """A loyalty flag as True/False: the same segment labels whatever the backend."""
    n = 90
    orders = {
        "order_id": [f"o{i}" for i in range(n)],
        "ordered_at": [f"2026-03-{1 + i % 28:02d} 10:00" for i in range(n)],
        "merchandise": [40.0 + i for i in range(n)],
        "member": [i % 3 == 0 for i in range(n)],
    }
    a = segments.breakdown(ShopData.from_frames(pl.DataFrame(orders), currency="EUR"), "member")
    b = segments.breakdown(ShopData.from_frames(pd.DataFrame(orders), currency="EUR"), "member")
    assert a.to_dict() == b.to_dict()
    assert [r["member"] for r in a.rows()] == ["false", "true"]


def test_explorer_lists_each_period_and_dimension_once(shop, monkeypatch):
    """The notebook's period and second dimension come first, and only once."""
    from aovlab import widgets

    seen: dict = {}
    monkeypatch.setattr(widgets, "explore", lambda render, interactive, **c: seen.update(c))
    widgets.segments_explorer(shop, True, period="2026-10", by="channel", by2="device")
    when = [label for label, _ in seen["when"]]
    second = [label for label, _ in seen["dimension2"]]
    assert when[0] == "2026-10" and len(when) == len(set(when))
    assert second[0] == "device" and len(second) == len(set(second))


def test_compare_keeps_a_segment_named_other_apart_from_the_merged_ones():
    """'Other' is a common value of its own (a country, a channel); small segments merge apart."""
    n = 360
    channel = [("web", "Other", "tiny1", "tiny2", "web", "Other")[i % 6] for i in range(n)]
    orders = pl.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "ordered_at": [f"2026-0{1 + i // (n // 2)}-{1 + i % 28:02d} 10:00" for i in range(n)],
            "merchandise": [50.0 + (i % 6) * 10 for i in range(n)],
            "channel": channel,
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR")
    res = segments.compare(shop, "channel", "2026-02", min_orders=40)
    rows = {r["channel"]: r for r in res.rows()}
    assert set(rows) == {"web", "Other", "Other (2 segments)"}
    assert rows["Other"]["current_orders"] == 60 and rows["Other"]["segments_merged"] == 1
    assert rows["Other (2 segments)"]["current_orders"] == 60
    assert rows["Other (2 segments)"]["segments_merged"] == 2
    assert sum(r["current_orders"] for r in rows.values()) == 180
    assert sum(r["baseline_orders"] for r in rows.values()) == 180


def test_compare_keeps_a_segment_that_stopped_in_the_merged_row():
    """A channel with orders only in the baseline is merged, not dropped: both periods add up."""
    n = 240
    channel = [("web", "app")[i % 2] for i in range(n)]
    for i in range(0, 60, 6):
        channel[i] = "fax"  # ten January orders, none in February
        channel[i + 60] = "phone"  # ten more, from another channel that stopped
    orders = pl.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "ordered_at": [f"2026-0{1 + i // 120}-{1 + i % 28:02d} 10:00" for i in range(n)],
            "merchandise": [50.0 + i % 7 for i in range(n)],
            "channel": channel,
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR")
    res = segments.compare(shop, "channel", "2026-02", min_orders=10)
    rows = {r["channel"]: r for r in res.rows()}
    assert sum(r["baseline_orders"] for r in rows.values()) == 120
    assert sum(r["current_orders"] for r in rows.values()) == 120
    other = rows["Other (2 segments)"]
    assert other["baseline_orders"] == 20 and other["current_orders"] == 0
    assert other["current_aov"] is None and other["baseline_aov"] is not None
    assert res.table["baseline_share"].sum() == pytest.approx(1.0)
    res.chart().to_dict()  # the chart copes with a period without the segment


def test_headline_names_a_number_or_flag_segment_with_its_dimension():
    """A 0/1 loyalty flag: '0 orders have the highest AOV' would read as no orders."""
    n = 90
    orders = pl.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "ordered_at": [f"2026-03-{1 + i % 28:02d} 10:00" for i in range(n)],
            "merchandise": [100.0 + 50 * (i % 2) for i in range(n)],
            "loyalty": [i % 2 for i in range(n)],
            "vip": [i % 2 == 1 for i in range(n)],
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR")
    res = segments.breakdown(shop, "loyalty")
    assert res.headline.startswith("Orders with loyalty = 1 have the highest AOV (€150.00")
    assert "; orders with loyalty = 0 the lowest (€100.00" in res.headline
    assert "Orders with vip = true have" in segments.breakdown(shop, "vip").headline
