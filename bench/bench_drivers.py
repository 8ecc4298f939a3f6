"""The full AOV decomposition between two months of a 1,000,000-order shop.

aovlab.drivers.decompose (UPT/AUR, mix/rate over a 20-segment dimension, orders/AOV)
against a hand-written polars version of the same sums, both on the same loaded shop
(loading is bench_kpis.py's business). Each contender runs ``--repeat`` times,
alternating, and the best time counts.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import polars as pl
from bench_kpis import TZ, ensure_shop

#: Two months (about 107,000 orders), and the whole shop year over year.
CASES = [("2026-08", "2026-07"), ("2025-11..2026-10", "2024-11..2025-10")]
SEGMENTS = 20


def hand_written(orders: pl.DataFrame, current: str, baseline: str) -> dict:
    """The same split, written directly in polars: one filter, one group_by, small maths."""
    from aovlab.periods import parse_window

    start = pl.lit(parse_window(baseline).bounds(TZ)[0])
    middle, end = (pl.lit(b) for b in parse_window(current).bounds(TZ))
    t = pl.col("ordered_at")
    seg = (
        orders.lazy()
        .filter((pl.col("status") != "cancelled") & ~pl.col("test") & (t >= start) & (t < end))
        .group_by((t >= middle).alias("current"), "store")
        .agg(
            pl.len().alias("n"),
            (pl.col("merchandise") - pl.col("discount")).sum().alias("rev"),
            pl.col("units").sum().alias("units"),
        )
        .collect()
    )
    tot = seg.group_by("current").agg(pl.col("n", "rev", "units").sum()).sort("current")
    n0, n1 = tot["n"].to_list()
    r0, r1 = tot["rev"].to_list()
    u0, u1 = tot["units"].to_list()
    a0, a1 = r0 / n0, r1 / n1
    upt0, upt1, aur0, aur1 = u0 / n0, u1 / n1, r0 / u0, r1 / u1
    wide = (
        seg.with_columns(
            (pl.col("n") / pl.when(pl.col("current")).then(n1).otherwise(n0)).alias("s")
        )
        .with_columns((pl.col("rev") / pl.col("n")).alias("a"))
        .pivot(on="current", index="store", values=["s", "a"])
        .fill_null(0.0)
    )
    centre = (a0 + a1) / 2
    parts = wide.select(
        (
            (pl.col("s_true") - pl.col("s_false"))
            * ((pl.col("a_false") + pl.col("a_true")) / 2 - centre)
        )
        .sum()
        .alias("mix"),
        ((pl.col("a_true") - pl.col("a_false")) * (pl.col("s_false") + pl.col("s_true")) / 2)
        .sum()
        .alias("rate"),
    ).row(0, named=True)
    return {
        "change": a1 - a0,
        "upt": (upt1 - upt0) * (aur0 + aur1) / 2,
        "aur": (aur1 - aur0) * (upt0 + upt1) / 2,
        "mix": parts["mix"],
        "rate": parts["rate"],
        "orders": (n1 - n0) * (a0 + a1) / 2,
    }


def with_aovlab(shop, current: str, baseline: str) -> dict:
    from aovlab import drivers

    res = drivers.decompose(shop, current, baseline, by="store")
    return {
        "change": res.change,
        **{k: res.effect(k) for k in ("upt", "aur", "mix", "rate", "orders")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import aovlab

    folder = ensure_shop()
    t0 = time.perf_counter()
    shop = aovlab.load(orders=folder / "orders.csv", lines=folder / "lines.csv")
    orders = shop.orders.with_columns(
        ("store-" + (pl.col("order_id").hash(seed=1) % SEGMENTS).cast(pl.String)).alias("store")
    )
    shop = replace(shop, orders=orders)
    print(f"loaded {orders.height:,} orders in {time.perf_counter() - t0:.1f} s (not timed)")
    for current, baseline in CASES:
        compare(shop, orders, current, baseline, args.repeat)


def compare(shop, orders: pl.DataFrame, current: str, baseline: str, repeat: int) -> None:
    with_aovlab(shop, current, baseline)  # warm-up: first calls pay one-off costs
    hand_written(orders, current, baseline)
    best = {"aovlab": float("inf"), "polars": float("inf")}
    results = {}
    contenders = {
        "aovlab": lambda: with_aovlab(shop, current, baseline),
        "polars": lambda: hand_written(orders, current, baseline),
    }
    for _ in range(repeat):
        for name, run in contenders.items():
            t0 = time.perf_counter()
            results[name] = run()
            best[name] = min(best[name], time.perf_counter() - t0)
    ours, ref = results["aovlab"], results["polars"]
    for key, value in ref.items():
        assert abs(ours[key] - value) <= 1e-9 * max(1.0, abs(value)), (key, ours[key], value)
    n = shop_orders_in(shop, current, baseline)
    print(
        f"\ndecompose {baseline} -> {current} ({n:,} orders, {SEGMENTS} segments), best of {repeat}"
    )
    print(f"{'':10s} {'seconds':>9s}")
    for name, seconds in best.items():
        print(f"{name:10s} {seconds:9.3f}")
    ratio = best["aovlab"] / best["polars"]
    print(
        f"aovlab / polars = {ratio:.2f}x (goal <= 1.5x); aovlab {best['aovlab']:.3f} s (goal < 2 s)"
    )
    print(
        f"AOV change {ours['change']:+.4f} = UPT {ours['upt']:+.4f} + AUR {ours['aur']:+.4f}"
        f" = mix {ours['mix']:+.4f} + rate {ours['rate']:+.4f}"
    )


def shop_orders_in(shop, current: str, baseline: str) -> int:
    from aovlab import drivers

    res = drivers.decompose(shop, current, baseline)
    return res.figures["baseline"]["orders"] + res.figures["current"]["orders"]


if __name__ == "__main__":
    main()
