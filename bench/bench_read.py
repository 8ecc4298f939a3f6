"""Read + validate a 1,000,000-line Shopify export: aovlab.load vs a plain polars.read_csv."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from harness import child, measure

CACHE = Path(__file__).resolve().parent / ".cache" / "shopify-1m"
FILE = CACHE / "orders_export.csv"
LINES = 1_000_000


def ensure_export() -> Path:
    if FILE.exists():
        return FILE
    from aovlab import sample

    base = sample.generate(scale=1.0)["lines"].height
    t0 = time.perf_counter()
    export = sample.to_shopify(sample.generate(scale=LINES / base))
    CACHE.mkdir(parents=True, exist_ok=True)
    export.write_csv(FILE)
    (CACHE / "shop.json").write_text(json.dumps({"currency": "EUR", "timezone": sample.TIMEZONE}))
    print(
        f"generated {export.height:,} Shopify rows in {time.perf_counter() - t0:.1f} s", flush=True
    )
    return FILE


def run_aovlab(path: Path) -> dict:
    import aovlab

    shop = aovlab.load(orders=path)
    return {"orders": shop.orders.height, "lines": shop.lines.height}


def run_polars(path: Path) -> dict:
    import polars as pl

    frame = pl.read_csv(path)
    return {"rows": frame.height}


CONTENDERS = {"aovlab": run_aovlab, "polars": run_polars}
IMPORTS = {"aovlab": ["aovlab"], "polars": ["polars"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child")
    parser.add_argument("--path", type=Path)
    args = parser.parse_args()
    if args.child:
        child(CONTENDERS[args.child], IMPORTS[args.child], args.path)
        return
    path = ensure_export()
    runs = {name: measure(__file__, name, path, args.repeat) for name in CONTENDERS}
    print(
        f"\nShopify export {path.stat().st_size / 1e6:,.0f} MB: {runs['polars']['result']['rows']:,} rows; "
        f"aovlab read {runs['aovlab']['result']['orders']:,} orders, {runs['aovlab']['result']['lines']:,} lines "
        f"(best of {args.repeat}, imports excluded)"
    )
    print(f"{'':8s} {'seconds':>9s} {'peak MB':>9s}")
    for name, run in runs.items():
        print(f"{name:8s} {run['seconds']:9.2f} {run['peak_mb']:9.0f}")
    ratio = runs["aovlab"]["seconds"] / runs["polars"]["seconds"]
    print(
        f"\naovlab / polars.read_csv = {ratio:.2f}x (goal <= 2x); aovlab peak {runs['aovlab']['peak_mb']:,.0f} MB (goal < 3,000)"
    )


if __name__ == "__main__":
    main()
