"""Load + monthly KPIs on a 1,000,000-order shop: aovlab vs hand-written polars vs pandas."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from harness import child, measure

CACHE = Path(__file__).resolve().parent / ".cache" / "shop-1m"
ORDERS = 1_000_000
TZ = "Europe/Stockholm"


def ensure_shop() -> Path:
    if (CACHE / "orders.csv").exists():
        return CACHE
    import polars as pl

    import aovlab

    base = aovlab.sample.generate(scale=1.0)["orders"].height
    t0 = time.perf_counter()
    aovlab.sample.write(CACHE, scale=ORDERS / base)
    n = pl.scan_csv(CACHE / "orders.csv").select(pl.len()).collect().item()
    print(f"generated {n:,} orders in {time.perf_counter() - t0:.1f} s -> {CACHE}", flush=True)
    return CACHE


def run_aovlab(folder: Path) -> dict:
    import aovlab

    shop = aovlab.load(orders=folder / "orders.csv", lines=folder / "lines.csv")
    table = aovlab.metrics.kpis(shop, by="month").table
    return {r["month"]: (r["orders"], r["revenue"], r["aov"]) for r in table.iter_rows(named=True)}


def run_polars(folder: Path) -> dict:
    import polars as pl

    orders = (
        pl.scan_csv(
            folder / "orders.csv",
            schema_overrides={"order_id": pl.String, "customer_id": pl.String},
        )
        .filter(pl.col("status") != "cancelled")
        .select(
            "order_id",
            (pl.col("merchandise") - pl.col("discount")).alias("value"),
            pl.col("ordered_at")
            .str.to_datetime("%Y-%m-%dT%H:%M:%S%z", time_zone="UTC")
            .dt.convert_time_zone(TZ)
            .dt.strftime("%Y-%m")
            .alias("month"),
        )
    )
    units = (
        pl.scan_csv(folder / "lines.csv", schema_overrides={"order_id": pl.String})
        .group_by("order_id")
        .agg(pl.col("quantity").sum().alias("units"))
    )
    n = pl.len().over("month")
    rank = pl.col("value").rank("ordinal").over("month")
    k = (n * 0.05).floor()
    table = (
        orders.join(units, on="order_id", how="left")
        .with_columns(
            pl.when((rank > k) & (rank <= n - k)).then(pl.col("value")).alias("trim"),
            pl.when(n - rank < (n * 0.01).ceil()).then(pl.col("value")).alias("top"),
        )
        .group_by("month")
        .agg(
            pl.len().alias("orders"),
            pl.col("value").sum().alias("revenue"),
            pl.col("value").median().alias("median"),
            pl.col("trim").mean().alias("trimmed_aov"),
            pl.col("top").sum().alias("top"),
            pl.col("units").sum().alias("units"),
        )
        .with_columns(
            (pl.col("revenue") / pl.col("orders")).alias("aov"),
            (pl.col("top") / pl.col("revenue")).alias("top_share"),
            (pl.col("units") / pl.col("orders")).alias("upt"),
            (pl.col("revenue") / pl.col("units")).alias("aur"),
        )
        .sort("month")
        .collect()
    )
    return {r["month"]: (r["orders"], r["revenue"], r["aov"]) for r in table.iter_rows(named=True)}


def run_pandas(folder: Path) -> dict:
    import numpy as np
    import pandas as pd
    from scipy import stats

    orders = pd.read_csv(folder / "orders.csv", dtype={"order_id": str, "customer_id": str})
    lines = pd.read_csv(folder / "lines.csv", dtype={"order_id": str})
    orders = orders[orders["status"] != "cancelled"].copy()
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"], utc=True).dt.tz_convert(TZ)
    orders["month"] = orders["ordered_at"].dt.strftime("%Y-%m")
    orders["value"] = orders["merchandise"] - orders["discount"]
    units = lines.groupby("order_id")["quantity"].sum().rename("units")
    orders = orders.join(units, on="order_id")
    g = orders.groupby("month")
    table = pd.DataFrame(
        {
            "orders": g.size(),
            "revenue": g["value"].sum(),
            "median": g["value"].median(),
            "trimmed_aov": g["value"].apply(lambda v: stats.trim_mean(v, 0.05)),
            "top_share": g["value"].apply(
                lambda v: np.sort(v.to_numpy())[::-1][: int(np.ceil(len(v) * 0.01))].sum() / v.sum()
            ),
            "units": g["units"].sum(),
        }
    )
    table["aov"] = table["revenue"] / table["orders"]
    table["upt"] = table["units"] / table["orders"]
    table["aur"] = table["revenue"] / table["units"]
    return {m: (int(r.orders), float(r.revenue), float(r.aov)) for m, r in table.iterrows()}


CONTENDERS = {"aovlab": run_aovlab, "polars": run_polars, "pandas": run_pandas}


IMPORTS = {"aovlab": ["aovlab"], "polars": ["polars"], "pandas": ["pandas", "numpy", "scipy.stats"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child")
    parser.add_argument("--path", type=Path)
    args = parser.parse_args()
    if args.child:
        child(CONTENDERS[args.child], IMPORTS[args.child], args.path)
        return
    folder = ensure_shop()
    runs = {}
    for name in CONTENDERS:
        best = measure(__file__, name, folder, args.repeat)
        runs[name] = best
    reference = runs["polars"]["result"]
    for name, run in runs.items():
        for month, (orders, revenue, aov) in reference.items():
            got = run["result"][month]
            assert (
                got[0] == orders
                and abs(got[1] - revenue) < 1e-6 * revenue
                and abs(got[2] - aov) < 1e-9 * aov
            ), (name, month, got)
    n = sum(v[0] for v in reference.values())
    print(
        f"\nload + monthly KPIs, {n:,} counted orders ({len(reference)} months), best of {args.repeat}"
    )
    print("(seconds exclude importing the libraries, shown apart)")
    print(f"{'':10s} {'seconds':>9s} {'peak MB':>9s} {'vs polars':>10s} {'import s':>9s}")
    for name, run in runs.items():
        ratio = run["seconds"] / runs["polars"]["seconds"]
        print(
            f"{name:10s} {run['seconds']:9.2f} {run['peak_mb']:9.0f} {ratio:9.2f}x {run['import_seconds']:9.2f}"
        )
    a, p, d = (runs[k]["seconds"] for k in ("aovlab", "polars", "pandas"))
    print(
        f"\naovlab / polars = {a / p:.2f}x (goal <= 1.5x); pandas / aovlab = {d / a:.1f}x (goal >= 5x)"
    )


if __name__ == "__main__":
    main()
