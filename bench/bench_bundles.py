"""Co-purchase pairs: aovlab.bundles.pairs vs mlxtend fpgrowth vs a polars self-join.

Two data sets, each contender in its own fresh subprocess (its own peak memory), best of
``--repeat`` runs:

- ``uci``: the real UCI Online Retail invoice lines (../shared/real, skipped with a
  message when absent): cancellations and non-product codes left out, about 20,000
  invoices and 4,000 SKUs;
- ``synthetic``: 1,000,000 orders over 20,000 SKUs (Zipf popularity, 1 + Poisson(1.5)
  distinct SKUs per order, three planted pairs), generated here with numpy and polars
  and cached under bench/.cache/bundles-synthetic/.

Every contender starts from the same parquet files (orders and lines) and finds the pairs
with support >= ``--min-support`` (the same floor: ``ceil(min_support * N)`` orders):

- ``aovlab``: ``ShopData.from_frames`` (not in the in-process time; it is in the whole
  process) then ``pairs(shop, when=<all data>, min_support=..., min_orders=1)``;
- ``mlxtend``: the baskets as lists, ``TransactionEncoder`` to the one-hot frame (dense,
  as its documentation does it), ``fpgrowth(max_len=2)`` and ``association_rules``;
- ``mlxtend-sparse``: the same with a sparse one-hot frame (``transform(sparse=True)``);
- ``polars``: hand-written: distinct (order, SKU), item counts, frequent items, a
  self-join on the order, ``a < b``, group-by, the floor.

Each run is killed over ``--mem-limit-mb`` (default 8,000) or ``--time-limit`` seconds
(default 300) and reported as failed. The pair counts are checked equal across the
contenders that finish. Results go to bench/.cache/bundles_results.json and a markdown
table to bench/.cache/bundles.md.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any

from harness import peak_mb, whole_process

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
REAL = HERE.parent.parent / "shared" / "real" / "online_retail_uci.csv.gz"
NON_PRODUCT = {"POST", "DOT", "D", "M", "BANK CHARGES", "AMAZONFEE", "CRUK", "C2", "PADS", "S", "B"}
SYNTHETIC_ORDERS, SYNTHETIC_SKUS = 1_000_000, 20_000
PLANTED = [(3, 40, 0.5), (10, 120, 0.6), (25, 400, 0.5)]  # SKU ranks: a, b, P(b | a)


# --------------------------------------------------------------------------- data


def ensure_uci() -> Path | None:
    folder = CACHE / "bundles-uci"
    if (folder / "lines.parquet").exists():
        return folder
    if not REAL.exists():
        return None
    import polars as pl

    raw = pl.read_csv(
        REAL,
        schema_overrides={"InvoiceNo": pl.String, "StockCode": pl.String, "CustomerID": pl.String},
    )
    keep = raw.filter(
        ~pl.col("InvoiceNo").str.starts_with("C")
        & ~pl.col("InvoiceNo").str.starts_with("A")
        & (pl.col("Quantity") > 0)
        & (pl.col("UnitPrice") > 0)
        & ~pl.col("StockCode").is_in(sorted(NON_PRODUCT))
    )
    lines = keep.select(
        pl.col("InvoiceNo").alias("order_id"),
        pl.col("StockCode").alias("sku"),
        pl.col("Description").alias("product"),
        pl.col("Quantity").cast(pl.Float64).alias("quantity"),
        pl.col("UnitPrice").alias("unit_price"),
    )
    orders = keep.group_by("InvoiceNo").agg(pl.col("InvoiceDate").min().alias("ordered_at"))
    orders = orders.rename({"InvoiceNo": "order_id"}).sort("order_id")
    folder.mkdir(parents=True, exist_ok=True)
    orders.write_parquet(folder / "orders.parquet")
    lines.write_parquet(folder / "lines.parquet")
    (folder / "shop.json").write_text(json.dumps({"currency": "GBP", "timezone": "Europe/London"}))
    return folder


def ensure_synthetic() -> Path:
    """1 M orders, 20,000 SKUs (Zipf, exponent 1), three planted pairs; one line per SKU."""
    folder = CACHE / "bundles-synthetic"
    if (folder / "lines.parquet").exists():
        return folder
    import numpy as np
    import polars as pl

    t0 = time.perf_counter()
    rng = np.random.default_rng(13)
    n, k = SYNTHETIC_ORDERS, SYNTHETIC_SKUS
    weight = 1 / np.arange(1, k + 1)
    weight /= weight.sum()
    size = 1 + rng.poisson(1.5, n)
    order = np.repeat(np.arange(n), size)
    sku = rng.choice(k, size=len(order), p=weight)
    extra_o, extra_s = [], []
    for a, b, p in PLANTED:
        has = np.unique(order[sku == a])
        add = has[rng.random(len(has)) < p]
        extra_o.append(add)
        extra_s.append(np.full(len(add), b))
    order = np.concatenate([order, *extra_o])
    sku = np.concatenate([sku, *extra_s])
    lines = (
        pl.DataFrame({"o": order, "s": sku})
        .unique()
        .sort("o", "s")
        .select(
            pl.format("O{}", pl.col("o")).alias("order_id"),
            pl.format("SKU-{}", pl.col("s").cast(pl.String).str.zfill(5)).alias("sku"),
            pl.format("Product {}", pl.col("s")).alias("product"),
            pl.lit(1.0).alias("quantity"),
            (10.0 + pl.col("s") % 90).cast(pl.Float64).alias("unit_price"),
        )
    )
    start = np.datetime64("2025-11-01T00:00:00")
    seconds = np.sort(rng.integers(0, 364 * 86400, n))
    orders = pl.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "ordered_at": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    orders.write_parquet(folder / "orders.parquet")
    lines.write_parquet(folder / "lines.parquet")
    (folder / "shop.json").write_text(json.dumps({"currency": "EUR", "timezone": "UTC"}))
    print(
        f"generated {n:,} orders, {lines.height:,} lines in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return folder


# --------------------------------------------------------------------------- contenders


def _lines(folder: Path) -> Any:
    import polars as pl

    return pl.read_parquet(folder / "lines.parquet", columns=["order_id", "sku"])


def run_aovlab(folder: Path, min_support: float) -> tuple[float, dict]:
    import polars as pl

    from aovlab import ShopData
    from aovlab.bundles.pairs import pairs

    meta = json.loads((folder / "shop.json").read_text())
    shop = ShopData.from_frames(
        pl.read_parquet(folder / "orders.parquet"),
        pl.read_parquet(folder / "lines.parquet"),
        currency=meta["currency"],
        timezone=meta["timezone"],
    )
    t0 = time.perf_counter()
    res = pairs(shop, when="2000-01..2030-12", min_support=min_support, min_orders=1)
    seconds = time.perf_counter() - t0
    t = res.table
    return seconds, {
        "baskets": res.baskets,
        "items": res.items.height,
        "pairs": t.height,
        "orders_sum": int(t["orders"].sum()),
        "significant": res.significant,
        "top": [t["a"][0], t["b"][0]] if t.height else None,
    }


def _basket_lists(folder: Path) -> list[list[str]]:
    import polars as pl

    grouped = _lines(folder).unique().group_by("order_id").agg(pl.col("sku"))
    return grouped["sku"].to_list()


def _mlxtend(folder: Path, min_support: float, sparse: bool) -> tuple[float, dict]:
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    t0 = time.perf_counter()
    lists = _basket_lists(folder)
    enc = TransactionEncoder().fit(lists)
    if sparse:
        onehot = pd.DataFrame.sparse.from_spmatrix(
            enc.transform(lists, sparse=True), columns=enc.columns_
        )
    else:
        onehot = pd.DataFrame(enc.transform(lists), columns=enc.columns_)
    fi = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=2)
    rules = association_rules(fi, num_itemsets=len(lists), metric="lift", min_threshold=0)
    seconds = time.perf_counter() - t0
    two = fi[fi["itemsets"].map(len) == 2]
    return seconds, {
        "baskets": len(lists),
        "items": int((fi["itemsets"].map(len) == 1).sum()),
        "pairs": len(two),
        "orders_sum": round(float((two["support"] * len(lists)).sum())),
        "rules": len(rules),
    }


def run_mlxtend(folder: Path, min_support: float) -> tuple[float, dict]:
    return _mlxtend(folder, min_support, sparse=False)


def run_mlxtend_sparse(folder: Path, min_support: float) -> tuple[float, dict]:
    return _mlxtend(folder, min_support, sparse=True)


def run_polars(folder: Path, min_support: float) -> tuple[float, dict]:
    import polars as pl

    t0 = time.perf_counter()
    b = _lines(folder).lazy().unique()
    n = b.select(pl.col("order_id").n_unique()).collect().item()
    floor = math.ceil(min_support * n)
    frequent = b.group_by("sku").len().filter(pl.col("len") >= floor).select("sku")
    fb = b.join(frequent, on="sku")
    counted = (
        fb.join(fb, on="order_id", suffix="_b")
        .filter(pl.col("sku") < pl.col("sku_b"))
        .group_by("sku", "sku_b")
        .len()
        .filter(pl.col("len") >= floor)
        .collect()
    )
    seconds = time.perf_counter() - t0
    return seconds, {
        "baskets": n,
        "items": frequent.collect().height,
        "pairs": counted.height,
        "orders_sum": int(counted["len"].sum()),
    }


CONTENDERS = {
    "aovlab": run_aovlab,
    "mlxtend": run_mlxtend,
    "mlxtend-sparse": run_mlxtend_sparse,
    "polars": run_polars,
}
IMPORTS = {
    "aovlab": ["aovlab", "aovlab.bundles.pairs", "scipy.stats", "scipy.sparse"],
    "mlxtend": ["pandas", "mlxtend.frequent_patterns", "mlxtend.preprocessing"],
    "mlxtend-sparse": ["pandas", "mlxtend.frequent_patterns", "mlxtend.preprocessing"],
    "polars": ["polars"],
}


def child(name: str, folder: Path, min_support: float, time_limit: int) -> None:
    """Inside the subprocess: import, run, print one JSON line (killed at the time limit)."""
    import importlib

    signal.alarm(time_limit)  # SIGALRM's default action ends the process
    t0 = time.perf_counter()
    for module in IMPORTS[name]:
        importlib.import_module(module)
    imports = time.perf_counter() - t0
    seconds, result = CONTENDERS[name](folder, min_support)
    out = {"seconds": seconds, "import_seconds": imports, "peak_mb": peak_mb(), "result": result}
    print(json.dumps(out), flush=True)


# --------------------------------------------------------------------------- main


def measure(
    name: str, folder: Path, min_support: float, repeat: int, mem_mb: float, time_limit: int
) -> dict[str, Any]:
    """Best of ``repeat`` whole processes (wall and peak) with the in-process time inside."""
    runs = []
    for _ in range(repeat):
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            name,
            "--path",
            str(folder),
            "--min-support",
            str(min_support),
            "--time-limit",
            str(time_limit),
        ]
        out = whole_process(argv, mem_limit_mb=mem_mb, check=False)
        if out["failure"]:
            failure = out["failure"]
            if "signal 14" in failure:
                failure = f"over {time_limit} s"
            return {"failure": failure, "whole_s": out["seconds"], "peak_mb": out["peak_mb"]}
        inside = json.loads(out["stdout"].strip().splitlines()[-1])
        runs.append({"whole_s": out["seconds"], "peak_mb": out["peak_mb"], **inside})
        if out["seconds"] > 60:
            break  # one run of a slow contender is enough
    return min(runs, key=lambda r: r["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="uci,synthetic")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--min-support", type=float, default=0.001)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mem-limit-mb", type=float, default=8000)
    parser.add_argument("--time-limit", type=int, default=300)
    parser.add_argument("--child")
    parser.add_argument("--path", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.min_support, args.time_limit)
        return
    results_path = CACHE / "bundles_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for data in args.data.split(","):
        folder = ensure_uci() if data == "uci" else ensure_synthetic()
        if folder is None:
            print(f"{data}: skipped, {REAL} is absent")
            continue
        for name in args.contenders.split(","):
            row = measure(
                name, folder, args.min_support, args.repeat, args.mem_limit_mb, args.time_limit
            )
            results.setdefault(f"{data} @ {args.min_support:g}", {})[name] = {
                **row,
                "min_support": args.min_support,
                "date": time.strftime("%Y-%m-%d"),
            }
            print(data, name, json.dumps(row), flush=True)
        done = {
            k: v["result"]
            for k, v in results[f"{data} @ {args.min_support:g}"].items()
            if "result" in v and "seconds" in v
        }
        counts = {k: (r["baskets"], r["pairs"], r["orders_sum"]) for k, r in done.items()}
        assert len(set(counts.values())) <= 1, counts
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (CACHE / "bundles.md").write_text(table)
    print(table)


def markdown(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| data @ min support | contender | in process s | whole process s | peak MB | pairs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for data, rows in results.items():
        for name, r in rows.items():
            if "failure" in r:
                lines.append(
                    f"| {data} | {name} | failed: {r['failure']} | {r['whole_s']:.1f} "
                    f"| {r['peak_mb']:,.0f} | |"
                )
                continue
            res = r["result"]
            lines.append(
                f"| {data} ({res['items']:,} frequent SKUs) | {name} "
                f"| {r['seconds']:.2f} | {r['whole_s']:.2f} | {r['peak_mb']:,.0f} "
                f"| {res['pairs']:,} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
