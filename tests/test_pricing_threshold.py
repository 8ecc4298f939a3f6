"""The free-shipping threshold simulator: exact figures, planted thresholds, simulations."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from aovlab import ShopData
from aovlab.errors import AovlabInputError
from aovlab.sample import TRUTH

# The module (aovlab.pricing.threshold is also the name of its function).
th = importlib.import_module("aovlab.pricing.threshold")

FS = TRUTH["free_shipping"]


def _tiny(native=pl.DataFrame, cogs: bool = True) -> ShopData:
    """Six orders; today's threshold is 50 (a fee of 5.00 below it)."""
    values = [10.0, 40.0, 45.0, 50.0, 60.0, 100.0]
    data = {
        "order_id": [str(i) for i in range(1, 7)],
        "ordered_at": [f"2026-01-0{i} 10:00" for i in range(1, 7)],
        "merchandise": values,
        "shipping": [5.0 if v < 50 else 0.0 for v in values],
    }
    if cogs:
        data["cogs"] = [0.6 * v for v in values]
    return ShopData.from_frames(native(data), currency="EUR", timezone="Europe/Stockholm")


def _row(res, t: float) -> dict:
    return next(r for r in res.rows() if abs(r["threshold"] - t) < 1e-9)


# --------------------------------------------------------------------------- exact figures


def test_tiny_shop_exact_figures():
    res = th.threshold(_tiny(), candidates=[50, 55], top_up_share=0.5, steps=1)
    assert res.aov == pytest.approx(305 / 6)
    at50 = _row(res, 50.0)
    # Within reach of 50 (window 20 %): 40 and 45; they add (10 + 5) x 0.5.
    assert at50["orders_within_reach"] == 2
    assert at50["share_within_reach"] == pytest.approx(2 / 6, abs=1e-4)
    assert at50["revenue_change"] == pytest.approx(7.5)
    assert at50["aov_after"] == pytest.approx((305 + 7.5) / 6, abs=0.01)
    # Fees today 15; under 50: 10 pays 5, 40 and 45 pay 5 unless they top up: 10.
    assert at50["shipping_cost_change"] == pytest.approx(5.0)
    # Margin rate 0.4: 0.4 x 7.5 - 5.
    assert at50["margin_change"] == pytest.approx(-2.0)
    at55 = _row(res, 55.0)
    # Within reach of 55: 45 and 50 (adds 10 + 5); 50 ships free today and starts
    # paying the typical fee (5.00) unless it tops up: fees 5 + 5 + 2.5 + 2.5 = 15.
    assert at55["orders_within_reach"] == 2
    assert at55["revenue_change"] == pytest.approx(7.5)
    assert at55["shipping_cost_change"] == pytest.approx(0.0)
    assert at55["margin_change"] == pytest.approx(3.0)
    assert res.top_up_share_used == 0.5


def test_zero_top_up_changes_revenue_by_nothing():
    res = th.threshold(_tiny(), candidates=[50, 55, 70], top_up_share=0.0)
    rows = res.rows()
    assert all(r["revenue_change"] == 0 for r in rows)
    assert all(r["aov_after"] == pytest.approx(res.aov, abs=0.01) for r in rows)


def test_without_costs_margin_is_null():
    res = th.threshold(_tiny(cogs=False), candidates=[50], top_up_share=0.5)
    assert all(r["margin_change"] is None for r in res.to_dict()["thresholds"])
    assert "margin needs unit costs" in res.headline


def test_revenue_change_matches_hand_written_numpy(shop):
    res = th.threshold(shop, candidates=[79, 99], top_up_share=0.4, when="2026-01..2026-06")
    frame = (
        shop.scan()
        .collect()
        .to_native()
        .filter(
            ~pl.col("status").is_in(["cancelled"])
            & ~pl.col("test")
            & (pl.col("ordered_at").dt.strftime("%Y-%m") >= "2026-01")
            & (pl.col("ordered_at").dt.strftime("%Y-%m") <= "2026-06")
        )
    )
    v = (frame["merchandise"] - frame["discount"]).to_numpy()

    def topped_up(t: float) -> float:
        reach = (v >= 0.8 * t) & (v < t)
        return 0.4 * (t - v[reach]).sum()

    # Changes are against today's threshold (79, found in the fees): its top-ups are
    # in the orders already.
    assert res.current_threshold == 79.0
    for t in (79.0, 99.0):
        reach = (v >= 0.8 * t) & (v < t)
        row = _row(res, t)
        assert row["orders_within_reach"] == int(reach.sum())
        assert row["revenue_change"] == pytest.approx(topped_up(t) - topped_up(79.0), abs=0.01)
    assert res.aov == pytest.approx(v.mean())


def test_spend_offer_exact():
    res = th.spend_offer(_tiny(), threshold=50, discount=5, top_up_share=0.5)
    # Above 50: 50, 60, 100 get 5 each (15); 40 and 45 within reach add 10 + 5.
    assert res.orders_above == 3 and res.orders_within_reach == 2
    assert res.discount_cost == pytest.approx(15.0)
    # Margin gained: 0.5 x (0.4 x 15 - 5 x 2) = -2; change -17; never breaks even.
    assert res.margin_change == pytest.approx(-17.0)
    assert res.break_even_share is None
    res = th.spend_offer(_tiny(), threshold=50, discount=1, top_up_share=0.5)
    # per share: 0.4 x 15 - 1 x 2 = 4; cost 3; break-even 0.75.
    assert res.break_even_share == pytest.approx(0.75)
    assert res.margin_change == pytest.approx(0.5 * 4 - 3)
    assert "breaks even if 75 %" in res.headline


# --------------------------------------------------------------------------- the sample


def test_sample_detects_79_and_recovers_the_share(shop):
    ev = th.top_up_evidence(shop, window=FS["top_up_window"])
    assert ev.detected and ev.threshold == FS["threshold_after"]
    assert ev.method == "reference"
    assert ev.ci_low < FS["top_up_share"] < ev.ci_high
    assert ev.top_up_share == pytest.approx(FS["top_up_share"], abs=0.1)
    assert ev.excess_mass > 0 and ev.missing_mass > 0
    d = ev.to_dict()
    assert d["threshold"] == 79.0 and d["detected"] is True and d["found_by"] == "fees"
    chart = ev.chart().to_dict()
    assert "layer" in chart
    assert len(nw_rows(ev.table)) < 5000


def test_sample_detects_49_before_the_change(shop):
    ev = th.top_up_evidence(shop, when="2024-11..2025-08", window=FS["top_up_window"])
    assert ev.detected and ev.threshold == FS["threshold_before"]
    assert ev.ci_low < FS["top_up_share"] < ev.ci_high
    assert ev.ci_low > 0  # the planted top-up is found, not just allowed


def test_sample_threshold_uses_the_observed_share(shop):
    res = th.threshold(shop)
    d = res.to_dict()
    assert set(d) == {
        "headline",
        "currency",
        "aov",
        "thresholds",
        "observed_top_up_share",
        "top_up_share_used",
        "current_threshold",
    }
    assert list(d["thresholds"][0]) == list(th.ROW_KEYS)
    assert d["current_threshold"] == 79.0
    assert d["observed_top_up_share"] == pytest.approx(d["top_up_share_used"], abs=1e-4)
    assert len(d["thresholds"]) == 12  # AOV +0 % to +50 %, and today's 79
    rules = [r for r in res.rows() if r["rule_of_thumb"]]
    assert {r["rule_of_thumb"] for r in rules} == set(th.RULES)
    json.dumps(d)
    json.dumps(th.top_up_evidence(shop).to_dict())
    assert "rule fits better" in res.headline
    assert "<table" in res._repr_html_()
    chart = res.chart().to_dict()
    assert "vconcat" in chart


@pytest.mark.parametrize("seed", [7, 11])
def test_generated_shops_recover_the_share(seed):
    tables = __import__("aovlab").sample.generate(scale=1.0, seed=seed)
    shop = ShopData.from_frames(
        tables["orders"], tables["lines"], currency="EUR", timezone="Europe/Stockholm"
    )
    ev = th.top_up_evidence(shop, window=FS["top_up_window"])
    assert ev.threshold == FS["threshold_after"]
    assert ev.ci_low < FS["top_up_share"] < ev.ci_high


# --------------------------------------------------------------------------- simulations


def _simulated(rng, share: float, t: float = 80.0, w: float = 16.0, n: int = 20_000):
    """Lognormal order values; a share of those within w below t top up past it."""
    v = rng.lognormal(np.log(75), 0.6, n)
    near = (v >= t - w) & (v < t) & (rng.random(n) < share)
    v[near] = t + rng.uniform(0, w, near.sum())
    ref = rng.lognormal(np.log(75), 0.6, n // 2)
    width = max(1, round(w / 6))
    edges = np.arange(max(1.0, t - 3 * w), t + 3 * w + 1e-9, width)
    return edges, np.histogram(v, edges)[0].astype(float), np.histogram(ref, edges)[0].astype(float)


@pytest.mark.parametrize("mode", ["reference", "smooth"])
@pytest.mark.parametrize("share", [0.4, 0.0])
def test_interval_coverage_by_simulation(mode, share):
    """About 95 % of nominal 95 % intervals hold the planted share (200 runs each).

    Over 200 runs a 95 % coverage gives 190 hits (sd 3); 80 % would give 160: the
    bound 88 % tells them apart.
    """
    rng = np.random.default_rng(20261203)
    hits, runs = 0, 200
    for _ in range(runs):
        edges, counts, ref = _simulated(rng, share)
        fit = th._estimate(edges, counts, 80.0, 16.0, 0.95, ref if mode == "reference" else None)
        assert fit is not None
        hits += fit.ci_low <= share <= fit.ci_high
    assert 0.88 <= hits / runs <= 1.0


def test_no_threshold_in_the_fees_is_not_detected():
    rng = np.random.default_rng(3)
    n = 3000
    days = pd.date_range("2025-01-01", periods=n, freq="3h")
    orders = pl.DataFrame(
        {
            "order_id": [str(i) for i in range(n)],
            "ordered_at": [str(d) for d in days],
            "merchandise": np.round(rng.lognormal(np.log(75), 0.6, n), 2),
            "shipping": np.full(n, 4.9),
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR", timezone="Europe/Stockholm")
    ev = th.top_up_evidence(shop)
    assert not ev.detected and ev.threshold is None and ev.top_up_share is None
    assert "No free-shipping threshold" in ev.headline
    res = th.threshold(shop)
    assert res.to_dict()["observed_top_up_share"] is None
    assert res.top_up_share_used == th.DEFAULT_TOP_UP_SHARE
    assert "assumed" in res.headline
    # Asked at a given threshold, the share found holds 0.
    ev = th.top_up_evidence(shop, current=80)
    assert ev.ci_low < 0 < ev.ci_high


def _scan_histogram(rng, share: float, t: float = 79.0, n: int = 20_000):
    v = rng.lognormal(np.log(75), 0.6, n)
    near = (v >= t - 15) & (v < t) & (rng.random(n) < share)
    v[near] = t + rng.uniform(0, 15, near.sum())
    per_unit = np.bincount(np.minimum(np.floor(v).astype(int), 400), minlength=401)
    return per_unit.astype(float), *np.percentile(v, [20, 95])


def test_bunching_scan_by_simulation():
    """Without fees to read, the scan finds a planted threshold and invents none.

    Measured over 60 runs each: 60 of 60 planted thresholds at 79 found (at 79), no
    threshold in 60 of 60 runs without one. Here 15 runs each.
    """
    rng = np.random.default_rng(11)
    found = [th._scan(*_scan_histogram(rng, 0.4), None, 0.95) for _ in range(15)]
    assert sum(f is not None and f[0] == 79.0 for f in found) >= 13
    empty = [th._scan(*_scan_histogram(rng, 0.0), None, 0.95) for _ in range(15)]
    assert sum(f is None for f in empty) >= 13


def test_sample_without_fees_falls_back_to_the_scan(shop):
    orders = shop.frame("orders").to_native().with_columns(pl.lit(0.0).alias("shipping"))
    nofee = ShopData.from_frames(
        orders, shop.frame("lines").to_native(), currency="EUR", timezone="Europe/Stockholm"
    )
    before = th.top_up_evidence(nofee, when="2024-11..2025-08")
    assert before.found_by == "bunching" and before.threshold == FS["threshold_before"]
    assert before.ci_low > 0
    # The recent regime's price-point lumps hide the 79 from a smooth fit: it says so.
    recent = th.top_up_evidence(nofee)
    assert recent.threshold is None and "no round number" in recent.headline
    assert recent.chart().to_dict()["mark"]["type"] == "text"


# --------------------------------------------------------------------------- backends, input


def nw_rows(table) -> list:
    import narwhals.stable.v2 as nw

    return list(nw.from_native(table, eager_only=True).iter_rows())


def test_pandas_in_pandas_out(shop, shop_pd):
    a = th.threshold(shop, top_up_share=0.4, candidates=[99])
    b = th.threshold(shop_pd, top_up_share=0.4, candidates=[99])
    assert isinstance(b.table, pd.DataFrame) and isinstance(a.table, pl.DataFrame)
    assert a.to_dict() == b.to_dict()
    ea, eb = th.top_up_evidence(shop, window=15), th.top_up_evidence(shop_pd, window=15)
    assert isinstance(eb.table, pd.DataFrame)
    assert ea.to_dict() == eb.to_dict()
    sa = th.spend_offer(shop, threshold=100, discount=10)
    sb = th.spend_offer(shop_pd, threshold=100, discount=10)
    assert sa.to_dict() == sb.to_dict()
    assert "layer" in eb.chart().to_dict() and "vconcat" in b.chart().to_dict()
    assert sb.chart().to_dict()["mark"]["type"] == "bar"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 1.2}, "window is out of range"),
        ({"window": 0}, "window is out of range"),
        ({"candidates": [-5]}, "candidate threshold is out of range"),
        ({"top_up_share": 1.5}, "top_up_share is out of range"),
        ({"when": "2030-01"}, "no counted orders in 2030-01"),
        ({"steps": 0}, "no threshold to evaluate"),
        ({"steps": -1}, "steps is out of range"),
    ],
)
def test_bad_inputs(kwargs, message):
    with pytest.raises(AovlabInputError, match=message):
        th.threshold(_tiny(), **kwargs)


def test_bad_inputs_evidence_and_offer():
    with pytest.raises(AovlabInputError, match="confidence"):
        th.top_up_evidence(_tiny(), confidence=1.5)
    with pytest.raises(AovlabInputError, match="no counted orders in 2030-01"):
        th.top_up_evidence(_tiny(), when="2030-01")
    with pytest.raises(AovlabInputError, match="discount is not below"):
        th.spend_offer(_tiny(), threshold=10, discount=20)


def test_caller_data_untouched():
    shop = _tiny(pd.DataFrame)
    before = shop.frame("orders").to_native().copy()
    th.threshold(shop, top_up_share=0.3, candidates=[50])
    th.top_up_evidence(shop, current=50)
    th.spend_offer(shop, threshold=50, discount=5)
    pd.testing.assert_frame_equal(shop.frame("orders").to_native(), before)
