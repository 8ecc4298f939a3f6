"""Each analysis of aovlab against a hand-written polars version, at 1 M and 10 M orders.

The shops are bench_process.py's (bench/.cache/process-<N>m/, generated once by its
``ensure_shop`` and shared with it), loaded once per size with ``aovlab.load`` (not
timed), with a 20-value dimension ``store`` added. Each analysis then runs on that one
loaded shop, aovlab's function and the hand-written polars version alternating in this
process, ``--repeat`` times, the best time counting, after checking they give the same
figures.

Built so far: ``drivers.decompose`` (the AOV decomposition), the segment breakdown
(``segments.breakdown`` with its intervals, ``segments.rfm``), pricing and the bundles'
pairs (``bundles.pairs.pairs``). Loyalty needs a shop with customers and is measured by
bench_loyalty.py; bench/README.md's table carries its rows. The breakdown's hand-written version computes the same intervals from
the same per-segment moments, and the time they take is printed as a share. Results accumulate by analysis, case and size in
bench/.cache/analyses_results.json (``--sizes 1`` then ``--sizes 10`` keeps both), and
the markdown table of all of them is printed and written to bench/.cache/analyses.md.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
from bench_process import CACHE, ensure_shop, git_commit, now

RESULTS = CACHE / "analyses_results.json"
MARKDOWN = CACHE / "analyses.md"
SEGMENTS = 20


# --------------------------------------------------------------------------- drivers


def hand_written(orders: pl.DataFrame, current: str, baseline: str, tz: str) -> dict:
    """The same split, written directly in polars: one filter, one group_by, small maths."""
    from aovlab.periods import parse_window

    start = pl.lit(parse_window(baseline).bounds(tz)[0])
    middle, end = (pl.lit(b) for b in parse_window(current).bounds(tz))
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


def with_aovlab(shop: Any, current: str, baseline: str) -> dict:
    from aovlab import drivers

    res = drivers.decompose(shop, current, baseline, by="store")
    return {
        "change": res.change,
        **{k: res.effect(k) for k in ("upt", "aur", "mix", "rate", "orders")},
    }


def same_effects(ours: dict, ref: dict) -> None:
    for key, value in ref.items():
        assert abs(ours[key] - value) <= 1e-9 * max(1.0, abs(value)), (key, ours[key], value)


def orders_in(shop: Any, current: str, baseline: str) -> int:
    from aovlab import drivers

    res = drivers.decompose(shop, current, baseline)
    return res.figures["baseline"]["orders"] + res.figures["current"]["orders"]


def decompose_case(current: str, baseline: str) -> Case:
    return Case(
        label=f"{baseline} -> {current}, {SEGMENTS} stores",
        aovlab=lambda shop: with_aovlab(shop, current, baseline),
        hand=lambda shop: hand_written(shop.orders, current, baseline, shop.timezone),
        agree=same_effects,
        orders=lambda shop: orders_in(shop, current, baseline),
    )


# --------------------------------------------------------------------------- segments


def hand_breakdown(orders: pl.DataFrame, keys: list[str], when: str | None, tz: str) -> dict:
    """The breakdown's aggregates in polars, then the same intervals from their moments.

    Returns the figures per segment and the seconds spent on the intervals (their share
    of the time is reported: they work on the per-segment aggregates only).
    """
    from aovlab import intervals
    from aovlab.periods import parse_window

    t0 = time.perf_counter()
    lf = orders.lazy().filter((pl.col("status") != "cancelled") & ~pl.col("test"))
    if when is not None:
        start, end = (pl.lit(b) for b in parse_window(when).bounds(tz))
        lf = lf.filter((pl.col("ordered_at") >= start) & (pl.col("ordered_at") < end))
    lf = lf.with_columns(
        (pl.col("merchandise") - pl.col("discount")).alias("v"),
        pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator="|").alias("k"),
    )
    figures = [
        pl.len().alias("n"),
        pl.col("v").sum().alias("rev"),
        pl.col("v").std().alias("sd"),
        pl.col("v").skew().alias("skew"),
        pl.col("v").median().alias("med"),
        pl.col("units").sum().alias("units"),
        pl.col("cogs").sum().alias("cogs"),
    ]
    # Per segment and for the whole (the shares and the index need the whole).
    seg, _whole = pl.collect_all([lf.group_by("k").agg(*figures).sort("k"), lf.select(*figures)])
    t1 = time.perf_counter()
    low, high, _ = intervals.mean_intervals(
        seg["n"].to_numpy(),
        (seg["rev"] / seg["n"]).to_numpy(),
        seg["sd"].to_numpy(),
        {},
        skew=seg["skew"].to_numpy(),
    )
    spent = time.perf_counter() - t1
    return {
        "keys": seg["k"].to_list(),
        "orders": seg["n"].to_list(),
        "aov": (seg["rev"] / seg["n"]).to_list(),
        "median": seg["med"].to_list(),
        "low": low.tolist(),
        "high": high.tolist(),
        "intervals_s": spent,
        "total_s": time.perf_counter() - t0,
    }


def with_segments(shop: Any, keys: list[str], when: str | None) -> dict:
    from aovlab import segments

    res = segments.breakdown(shop, *keys, when=when, min_orders=1)
    t = res.table.with_columns(
        pl.concat_str([pl.col(k) for k in keys], separator="|").alias("k")
    ).sort("k")
    return {
        "keys": t["k"].to_list(),
        "orders": t["orders"].to_list(),
        "aov": t["aov"].to_list(),
        "median": t["median_order_value"].to_list(),
        "low": t["aov_ci_low"].to_list(),
        "high": t["aov_ci_high"].to_list(),
    }


def same_segments(ours: dict, ref: dict) -> None:
    assert ours["keys"] == ref["keys"] and ours["orders"] == ref["orders"]
    for name in ("aov", "median", "low", "high"):
        for a, b in zip(ours[name], ref[name], strict=True):
            assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (name, a, b)


def breakdown_case(keys: list[str], when: str | None) -> Case:
    return Case(
        label=f"breakdown by {' x '.join(keys)}, {when or 'all data'}, with intervals",
        aovlab=lambda shop: with_segments(shop, keys, when),
        hand=lambda shop: hand_breakdown(shop.orders, keys, when, shop.timezone),
        agree=same_segments,
        orders=lambda shop: int(sum(with_segments(shop, keys, when)["orders"])),
    )


def hand_rfm(orders: pl.DataFrame) -> pl.DataFrame:
    """RFM's 25 grid cells in polars: per customer, quintile scores, cells."""
    from aovlab import customers

    def score(col: str, desc: bool) -> pl.Expr:
        r = pl.col(col).rank("min", descending=desc).cast(pl.Int64)
        return ((r - 1) * 5) // pl.col(col).count().cast(pl.Int64) + 1

    segment = {
        (r - 1) * 5 + f - 1: customers.segment_of(r, f) for r in range(1, 6) for f in range(1, 6)
    }
    lf = orders.lazy().filter((pl.col("status") != "cancelled") & ~pl.col("test"))
    as_of = lf.select(pl.col("ordered_at").max()).collect().item().date()
    return (
        lf.filter(pl.col("customer_id").is_not_null())
        .group_by("customer_id")
        .agg(
            pl.len().alias("f"),
            (pl.col("merchandise") - pl.col("discount")).sum().alias("m"),
            pl.col("ordered_at").max().alias("last"),
        )
        .with_columns((pl.lit(as_of) - pl.col("last").dt.date()).dt.total_days().alias("rec"))
        .with_columns(score("rec", True).alias("R"), score("f", False).alias("F"))
        .with_columns(
            ((pl.col("R") - 1) * 5 + pl.col("F") - 1)
            .replace_strict(segment, return_dtype=pl.String)
            .alias("seg")
        )
        .group_by("R", "F")
        .agg(pl.len().alias("n"), pl.col("m").sum())
        .sort("R", "F")
        .collect()
    )


def with_rfm(shop: Any) -> pl.DataFrame:
    from aovlab import segments

    grid = segments.rfm(shop).grid
    return grid.filter(pl.col("customers") > 0).sort("r_score", "f_score")


def same_rfm(ours: pl.DataFrame, ref: pl.DataFrame) -> None:
    assert ours["customers"].to_list() == ref["n"].to_list()
    for a, b in zip(ours["revenue"].to_list(), ref["m"].to_list(), strict=True):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (a, b)


def rfm_case() -> Case:
    return Case(
        label="RFM of every customer (25 cells)",
        aovlab=with_rfm,
        hand=lambda shop: hand_rfm(shop.orders),
        agree=same_rfm,
        orders=lambda shop: int(with_rfm(shop)["orders"].sum()),
    )


# --------------------------------------------------------------------------- pricing

#: The A/B read-out's window at every bench size (the sample's planted test).
AB_WINDOW = "2026-05-04..2026-05-31"
#: The threshold sweep's 50 candidates, its reach and top-up share, over the last year.
SWEEP = [float(t) for t in range(60, 160, 2)]
SWEEP_WINDOW, SWEEP_SHARE, SWEEP_YEAR = 0.20, 0.40, "2025-11..2026-10"
SWEEP_TODAY = 79.0  # the sample's free-shipping threshold in that year


def counted(orders: pl.DataFrame, when: str, tz: str) -> pl.LazyFrame:
    """Counted orders of a window with their net value ``v``, in polars."""
    from aovlab.periods import parse_window

    start, end = (pl.lit(b) for b in parse_window(when).bounds(tz))
    return (
        orders.lazy()
        .filter((pl.col("status") != "cancelled") & ~pl.col("test"))
        .filter((pl.col("ordered_at") >= start) & (pl.col("ordered_at") < end))
        .with_columns((pl.col("merchandise") - pl.col("discount")).alias("v"))
    )


def hand_elasticity(shop: Any) -> dict:
    """The weekly SKU panel in polars, then the same statistics as aovlab's (pyfixest)."""
    import math

    el = importlib.import_module("aovlab.pricing.elasticity")
    counted_ids = (
        shop.orders.lazy()
        .filter((pl.col("status") != "cancelled") & ~pl.col("test"))
        .select("order_id", pl.col("ordered_at").dt.truncate("1w").alias("period"))
    )
    panel = (
        shop.lines.lazy()
        .join(counted_ids, on="order_id")
        .group_by("sku", "period")
        .agg(
            pl.col("quantity").sum().alias("units"),
            (pl.col("quantity") * pl.col("unit_price")).sum().alias("value"),
            pl.col("category").cast(pl.String).min(),
        )
        .filter((pl.col("units") > 0) & (pl.col("value") > 0))
        .select(
            pl.col("sku").cast(pl.String),
            pl.col("period").cast(pl.String),
            "category",
            pl.col("units").cast(pl.Float64),
            (pl.col("value") / pl.col("units")).alias("price"),
        )
        .sort("sku", "period")
        .collect()
        .to_pandas()
    )
    panel = el._steady(panel)
    spread = el._price_spread(panel)
    varies = set(spread[spread > math.log1p(el.PRICE_VARIATION)].index)
    est, low, high, _ = el._fit(panel, varies, 2, 0.95)["overall"]
    return {"elasticity": est, "low": low, "high": high, "skus": len(varies)}


def with_elasticity(shop: Any) -> dict:
    res = importlib.import_module("aovlab.pricing.elasticity").elasticity(shop)
    return {
        "elasticity": res.elasticity,
        "low": res.ci_low,
        "high": res.ci_high,
        "skus": res.skus_with_variation,
    }


def same_elasticity(ours: dict, ref: dict) -> None:
    assert ours["skus"] == ref["skus"], (ours, ref)
    for key in ("elasticity", "low", "high"):
        assert abs(ours[key] - ref[key]) <= 1e-9 * max(1.0, abs(ref[key])), (key, ours, ref)


def hand_abtest(orders: pl.DataFrame, tz: str) -> dict:
    """Per-arm count, sum and sum of squares in polars, then Welch's test in scipy."""
    from scipy import stats

    arms = (
        counted(orders, AB_WINDOW, tz)
        .filter(pl.col("ab_arm").is_not_null())
        .group_by("ab_arm")
        .agg(pl.len().alias("n"), pl.col("v").sum().alias("s"), (pl.col("v") ** 2).sum().alias("q"))
        .sort("ab_arm")
        .collect()
    )
    n, s, q = (arms[c].to_numpy().astype(float) for c in ("n", "s", "q"))
    mean = s / n
    sd = ((q - n * mean**2) / (n - 1)) ** 0.5
    test = stats.ttest_ind_from_stats(mean[1], sd[1], n[1], mean[0], sd[0], n[0], equal_var=False)
    return {"orders": n.tolist(), "diff": mean[1] - mean[0], "p": float(test.pvalue)}


def with_abtest(shop: Any) -> dict:
    from aovlab import pricing

    res = pricing.abtest(shop, "ab_arm", when=AB_WINDOW).to_dict()
    return {
        "orders": [float(a["orders"]) for a in res["arms"]],
        "diff": res["aov"]["diff"],
        "p": res["aov"]["p_value"],
    }


def same_abtest(ours: dict, ref: dict) -> None:
    assert ours["orders"] == ref["orders"], (ours, ref)
    assert abs(ours["diff"] - ref["diff"]) <= 0.005, (ours, ref)  # to_dict rounds to the cent
    assert abs(ours["p"] - ref["p"]) <= 1e-3 * max(1.0, ref["p"]) + 1e-4, (ours, ref)


def hand_sweep(orders: pl.DataFrame, tz: str) -> dict:
    """Orders within reach of each candidate and the top-up revenue, one polars select.

    Changes are against today's threshold (the sample's planted one), as aovlab's are.
    """
    lf = counted(orders, SWEEP_YEAR, tz)
    v = pl.col("v")
    exprs = [pl.len().alias("n"), v.sum().alias("r")]
    for i, t in enumerate([*SWEEP, SWEEP_TODAY]):
        near = (v >= round(t * (1 - SWEEP_WINDOW), 2) - 0.005) & (v < t)  # in cents
        exprs += [near.sum().alias(f"k{i}"), (t - v).filter(near).sum().alias(f"g{i}")]
    row = lf.select(exprs).collect().row(0, named=True)
    today = SWEEP_SHARE * row[f"g{len(SWEEP)}"]
    gain = [SWEEP_SHARE * row[f"g{i}"] - today for i in range(len(SWEEP))]
    return {
        "within": [row[f"k{i}"] for i in range(len(SWEEP))],
        "revenue_change": gain,
        "aov_after": [(row["r"] + g) / row["n"] for g in gain],
    }


def with_threshold(shop: Any) -> dict:
    from aovlab import pricing

    res = pricing.threshold(
        shop,
        candidates=SWEEP,
        steps=0,
        current=SWEEP_TODAY,
        top_up_share=SWEEP_SHARE,
        when=SWEEP_YEAR,
    ).to_dict()
    rows = [r for r in res["thresholds"] if r["threshold"] in SWEEP]  # less today's row
    return {
        "within": [r["orders_within_reach"] for r in rows],
        "revenue_change": [r["revenue_change"] for r in rows],
        "aov_after": [r["aov_after"] for r in rows],
    }


def same_sweep(ours: dict, ref: dict) -> None:
    assert ours["within"] == ref["within"], (ours["within"][:5], ref["within"][:5])
    for name in ("revenue_change", "aov_after"):
        for a, b in zip(ours[name], ref[name], strict=True):
            assert abs(a - b) <= 0.01 + 1e-9 * abs(b), (name, a, b)


# --------------------------------------------------------------------------- bundles

#: The co-purchase case: the default last year, the default floor (0.1 % and 20 orders).
PAIRS_YEAR = "2025-11..2026-10"


def hand_pairs(shop: Any) -> dict:
    """Pair counts of the year's counted orders in polars: a self-join, then the lift."""
    b = (
        shop.lines.lazy()
        .select("order_id", pl.col("sku").cast(pl.String))
        .join(counted(shop.orders, PAIRS_YEAR, shop.timezone).select("order_id"), on="order_id")
        .filter(pl.col("sku").is_not_null())
        .unique()
    )
    n = b.select(pl.col("order_id").n_unique()).collect().item()
    floor = max(20, int(-(-0.001 * n // 1)))
    each = b.group_by("sku").len().filter(pl.col("len") >= floor).collect()
    fb = b.join(each.lazy().select("sku"), on="sku")
    found = (
        fb.join(fb, on="order_id", suffix="_b")
        .filter(pl.col("sku") < pl.col("sku_b"))
        .group_by("sku", "sku_b")
        .len()
        .filter(pl.col("len") >= floor)
        .join(each.lazy().rename({"len": "na"}), on="sku")
        .join(each.lazy().rename({"sku": "sku_b", "len": "nb"}), on="sku_b")
        .with_columns(pl.col("len", "na", "nb").cast(pl.Float64))  # u32 products overflow
        .with_columns((pl.col("len") * n / (pl.col("na") * pl.col("nb"))).alias("lift"))
        .sort("sku", "sku_b")
        .collect()
    )
    return {
        "n": n,
        "pairs": list(zip(found["sku"], found["sku_b"], strict=True)),
        "orders": found["len"].cast(pl.Int64).to_list(),
        "lift": found["lift"].to_list(),
    }


def with_pairs(shop: Any) -> dict:
    from aovlab.bundles.pairs import pairs

    res = pairs(shop, when=PAIRS_YEAR)
    t = res.table.with_columns(
        pl.min_horizontal("a", "b").alias("x"), pl.max_horizontal("a", "b").alias("y")
    ).sort("x", "y")
    return {
        "n": res.baskets,
        "pairs": list(zip(t["x"], t["y"], strict=True)),
        "orders": t["orders"].to_list(),
        "lift": t["lift"].to_list(),
    }


def same_pairs(ours: dict, ref: dict) -> None:
    assert ours["n"] == ref["n"] and ours["pairs"] == ref["pairs"], (ours["n"], ref["n"])
    assert ours["orders"] == ref["orders"]
    for a, b in zip(ours["lift"], ref["lift"], strict=True):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (a, b)


# --------------------------------------------------------------------------- registry


@dataclass
class Case:
    """One timed comparison: aovlab's call and the hand-written one on the loaded shop."""

    label: str
    aovlab: Callable[[Any], Any]
    hand: Callable[[Any], Any]
    agree: Callable[[Any, Any], None]  # raises unless both results are the same figures
    orders: Callable[[Any], int]  # orders the case covers (for the table)


#: Analysis -> its cases; an empty list is an analysis not built yet (a placeholder row).
ANALYSES: dict[str, list[Case]] = {
    "drivers.decompose": [
        # Two months (about 106,000 orders at 1 M), and the whole shop year over year.
        decompose_case("2026-08", "2026-07"),
        decompose_case("2025-11..2026-10", "2024-11..2025-10"),
    ],
    "segments": [
        # 20 stores over all data, and store x device in one month (60 cells of ~900).
        breakdown_case(["store"], None),
        breakdown_case(["store", "device"], "2026-08"),
        rfm_case(),
    ],
    "pricing": [
        # The elasticity over every SKU's weekly panel (two years: 80 SKUs x 105 weeks),
        Case(
            label="elasticity, weekly panel of every SKU, all data",
            aovlab=with_elasticity,
            hand=hand_elasticity,
            agree=same_elasticity,
            orders=lambda shop: int(
                shop.orders.lazy()
                .filter((pl.col("status") != "cancelled") & ~pl.col("test"))
                .select(pl.len())
                .collect()
                .item()
            ),
        ),
        # the A/B read-out of the planted test (a month: about 45,000 orders at 1 M) and a
        # sweep of 50 free-shipping thresholds over the last year.
        Case(
            label=f"abtest, {AB_WINDOW}",
            aovlab=with_abtest,
            hand=lambda shop: hand_abtest(shop.orders, shop.timezone),
            agree=same_abtest,
            orders=lambda shop: int(sum(with_abtest(shop)["orders"])),
        ),
        Case(
            label=f"threshold sweep, {len(SWEEP)} candidates, {SWEEP_YEAR}",
            aovlab=with_threshold,
            hand=lambda shop: hand_sweep(shop.orders, shop.timezone),
            agree=same_sweep,
            orders=lambda shop: int(
                counted(shop.orders, SWEEP_YEAR, shop.timezone).select(pl.len()).collect().item()
            ),
        ),
    ],
    "bundles": [
        # Pairs of SKUs over the last year's counted orders (about 600,000 at 1 M), with
        # the guard; against a polars self-join of the same counts and lifts.
        Case(
            label=f"pairs, {PAIRS_YEAR}",
            aovlab=with_pairs,
            hand=hand_pairs,
            agree=same_pairs,
            orders=lambda shop: int(with_pairs(shop)["n"]),
        ),
    ],
}


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1", help="shop sizes in millions of orders: 1,10")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON merged into")
    parser.add_argument("--markdown", type=Path, default=MARKDOWN, help="table written to")
    args = parser.parse_args()
    import aovlab

    for size in (float(s) for s in args.sizes.split(",")):
        folder = ensure_shop(size)
        meta = json.loads((folder / "shop.json").read_text())
        t0 = time.perf_counter()
        shop = aovlab.load(
            orders=folder / "orders.csv",
            lines=folder / "lines.csv",
            currency=meta["currency"],
            timezone=meta["timezone"],
        )
        orders = shop.orders.with_columns(
            ("store-" + (pl.col("order_id").hash(seed=1) % SEGMENTS).cast(pl.String)).alias("store")
        )
        shop = replace(shop, orders=orders)
        del orders
        print(
            f"\n{size:g} M: loaded {shop.orders.height:,} orders from {folder} in "
            f"{time.perf_counter() - t0:.1f} s (not timed)",
            flush=True,
        )
        rows = []
        for analysis, cases in ANALYSES.items():
            for case in cases:
                row = compare(shop, case, args.repeat)
                rows.append({"analysis": analysis, "case": case.label, "millions": size, **row})
        save_results(args.results, rows)
        del shop
        gc.collect()
    table = markdown(load_results(args.results))
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(table)
    print(f"\n{table}\nwrote {args.markdown} and {args.results}")
    print("goal per row: aovlab within 1.5x of the hand-written version (and under 2 s at 1 M)")


def compare(shop: Any, case: Case, repeat: int) -> dict[str, Any]:
    """Best of ``repeat`` alternating runs of both, after a warm-up and the check."""
    ours, ref = case.aovlab(shop), case.hand(shop)  # warm-up: first calls pay one-off costs
    case.agree(ours, ref)
    best = {"aovlab": float("inf"), "hand": float("inf")}
    for _ in range(repeat):
        for name, run in (("aovlab", case.aovlab), ("hand", case.hand)):
            t0 = time.perf_counter()
            result = run(shop)
            best[name] = min(best[name], time.perf_counter() - t0)
            if name == "aovlab":
                ours = result
            else:
                ref = result
    case.agree(ours, ref)
    ratio, n = best["aovlab"] / best["hand"], case.orders(shop)
    print(
        f"{case.label} ({n:,} orders), best of {repeat}: "
        f"aovlab {best['aovlab']:.3f} s, hand-written {best['hand']:.3f} s, {ratio:.2f}x"
    )
    if isinstance(ref, dict) and "intervals_s" in ref:
        share = ref["intervals_s"] / ref["total_s"]
        print(f"  intervals: {ref['intervals_s']:.4f} s, {share:.0%} of the hand-written run")
    if isinstance(ours, dict) and "change" in ours:
        print(
            f"  AOV change {ours['change']:+.4f} = UPT {ours['upt']:+.4f} + AUR {ours['aur']:+.4f}"
            f" = mix {ours['mix']:+.4f} + rate {ours['rate']:+.4f}"
        )
    return {
        "orders": n,
        "aovlab_s": best["aovlab"],
        "hand_s": best["hand"],
        "ratio": ratio,
        "repeat": repeat,
        "date": now(),
        **git_commit(),
    }


# --------------------------------------------------------------------------- results


def load_results(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text())["rows"] if path.exists() else []


def save_results(path: Path, rows: list[dict[str, Any]]) -> None:
    """Merge rows into ``path``: one row per analysis, case and size, the newest kept."""

    def key(r: dict[str, Any]) -> tuple[str, str, float]:
        return r["analysis"], r["case"], r["millions"]

    merged = {key(r): r for r in load_results(path)} | {key(r): r for r in rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": list(merged.values())}, indent=2) + "\n")


def markdown(rows: list[dict[str, Any]]) -> str:
    """One row per analysis (case) and size, in ANALYSES order; placeholders for the rest."""
    sizes = sorted({r["millions"] for r in rows}) or [1.0]
    lines = [
        "| analysis | size | aovlab s | hand-written s | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    by_key = {(r["analysis"], r["case"], r["millions"]): r for r in rows}
    for analysis, cases in ANALYSES.items():
        for size in sizes:
            if not cases:
                lines.append(f"| {analysis} | {size:g} M | not built yet | | |")
            for case in cases:
                r = by_key.get((analysis, case.label, size))
                name = f"{analysis} ({case.label})"
                if r is None:
                    lines.append(f"| {name} | {size:g} M | not run | | |")
                    continue
                lines.append(
                    f"| {name} | {size:g} M ({r['orders']:,} orders) | {r['aovlab_s']:.3f} "
                    f"| {r['hand_s']:.3f} | {r['ratio']:.2f}x |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
