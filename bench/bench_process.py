"""The whole process as a user runs it: `aovlab kpis --json --by month` vs hand-written queries.

Each contender runs as its own OS process (interpreter start, imports, reading, the
figures, JSON out, exit), timed from outside: wall seconds and the process's own peak
RSS, best of ``--repeat``. The hand-written contenders are small scripts written into
bench/.cache/scripts/ from the functions below (``inspect.getsource``), so the code that
is timed is the code that is linted here. With ``--parquet`` (the default) a second pair
reads what `aovlab convert` wrote: aovlab on the converted folder and polars scanning
its Parquet. Results accumulate by size in bench/.cache/process_results.json, drawn in
bench/growth.svg.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import inspect
import io
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from harness import child, measure, whole_process

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
SCRIPTS = CACHE / "scripts"
RESULTS = CACHE / "process_results.json"
GROWTH_SVG = HERE / "growth.svg"
BIN = Path(sys.executable).parent
AOVLAB = BIN / "aovlab"


# --------------------------------------------------------------------------- data


def ensure_shop(millions: float) -> Path:
    """orders.csv, lines.csv and shop.json of the sample shop at ``millions`` M orders.

    Written as ``aovlab.sample.write`` writes them (same generator, same formatting),
    without the export formats it also writes, which this benchmark does not read. The
    generator stops at scale 100 (about 3 M orders), so a larger shop is that many
    generated shops, each with its own seed and order ids moved past the previous ones,
    appended one after the other (each a full 24 months of the same calendar).
    """
    folder = CACHE / f"process-{millions:g}m"
    if (folder / "orders.csv").exists() and (folder / "lines.csv").exists():
        return folder
    import math

    import polars as pl

    from aovlab import sample

    base = sample.generate(scale=1.0)["orders"].height
    scale = millions * 1e6 / base
    parts = math.ceil(scale / sample.SCALES[1])
    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shop.json").write_text(
        json.dumps(
            {"name": sample.NAME, "currency": sample.CURRENCY, "timezone": sample.TIMEZONE},
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    n_orders = n_lines = 0
    partial = {name: folder / f"{name}.csv.partial" for name in ("orders", "lines")}
    with partial["orders"].open("wb") as orders_out, partial["lines"].open("wb") as lines_out:
        for part in range(parts):
            tables = sample.generate(scale=scale / parts, seed=sample.SEED + part)
            moved = (pl.col("order_id").cast(pl.Int64) + part * 100_000_000).cast(pl.String)
            orders = tables["orders"].with_columns(
                moved, pl.col("ordered_at").dt.to_string("%Y-%m-%dT%H:%M:%S%:z")
            )
            lines = tables["lines"].with_columns(moved)
            for frame, out in ((orders, orders_out), (lines, lines_out)):
                frame.write_csv(
                    out, include_header=part == 0, float_precision=2, line_terminator="\n"
                )
            n_orders, n_lines = n_orders + orders.height, n_lines + lines.height
            # Free this part before the next is generated: one part in memory at a time.
            del tables, orders, lines
    partial["lines"].rename(folder / "lines.csv")
    partial["orders"].rename(folder / "orders.csv")  # last: marks a complete folder
    print(
        f"generated {n_orders:,} orders, {n_lines:,} lines ({parts} part(s)) in "
        f"{time.perf_counter() - t0:.1f} s -> {folder}",
        flush=True,
    )
    return folder


# --------------------------------------------------------------------------- contenders
# Every hand-written contender computes, per group (each month, and "all"), the sums
# that `finish` turns into the figures of `aovlab kpis --json`: orders, revenue (net =
# merchandise - discount), median, trimmed mean (int(5 % x n) orders cut at each end),
# the revenue of the top ceil(1 % x n) orders, units and COGS with how many orders lack
# them. Counted orders: not cancelled, not test, merchandise above 0.00.


def finish(currency: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON of `aovlab kpis --json --by month` from per-group sums (key "all" = overall)."""

    def figures(r: dict[str, Any]) -> dict[str, Any]:
        n, revenue = int(r["orders"]), float(r["revenue"])
        units = None if r["units_missing"] else float(r["units"])
        cogs = None if r["cogs_missing"] else float(r["cogs"])
        raw = {
            "revenue": revenue,
            "aov": revenue / n,
            "median_order_value": r["median"],
            "trimmed_aov": r["trimmed"],
            "top1pct_revenue_share": r["top"] / revenue if revenue else None,
            "upt": units / n if units is not None else None,
            "aur": revenue / units if units else None,
            "margin_per_order": (revenue - cogs) / n if cogs is not None else None,
        }
        out: dict[str, Any] = {"orders": n}
        for k, v in raw.items():
            digits = 6 if k in ("top1pct_revenue_share", "upt") else 2
            out[k] = None if v is None or v != v else round(float(v), digits)
        return out

    overall = next(r for r in rows if r["key"] == "all")
    by = sorted((r for r in rows if r["key"] != "all"), key=lambda r: r["key"])
    return {
        "currency": currency,
        "basis": "net",
        **figures(overall),
        "by": [{"key": r["key"], **figures(r)} for r in by],
    }


def polars_figures(orders: Any, lines: Any, currency: str) -> dict[str, Any]:
    """The figures in one polars plan, from two LazyFrames whatever their source.

    ``orders``: the counted orders as order_id, value (net), key (month in the shop's time
    zone); ``lines``: order_id, quantity, unit_cost. Shared by the CSV and the Parquet
    polars contenders, so that they differ only in how they read.
    """
    import polars as pl

    per_order = lines.group_by("order_id").agg(
        pl.col("quantity").sum().alias("units"),
        (pl.col("quantity") * pl.col("unit_cost")).sum().round(2).alias("cogs"),
        pl.col("unit_cost").is_null().sum().alias("no_cost"),
    )
    base = orders.join(per_order, on="order_id", how="left").select(
        "key",
        "value",
        "units",
        pl.when(pl.col("no_cost") == 0).then(pl.col("cogs")).alias("cogs"),
    )

    def sums(frame: pl.LazyFrame) -> pl.LazyFrame:
        n = pl.len().over("key")
        rank = pl.col("value").rank("ordinal").over("key")
        k = (n * 0.05).floor()
        return (
            frame.with_columns(
                pl.when((rank > k) & (rank <= n - k)).then(pl.col("value")).alias("trim"),
                pl.when(n - rank < (n * 0.01).ceil()).then(pl.col("value")).alias("top"),
            )
            .group_by("key")
            .agg(
                pl.len().alias("orders"),
                pl.col("value").sum().alias("revenue"),
                pl.col("value").median().alias("median"),
                pl.col("trim").mean().alias("trimmed"),
                pl.col("top").sum(),
                pl.col("units").sum(),
                pl.col("units").null_count().alias("units_missing"),
                pl.col("cogs").sum(),
                pl.col("cogs").null_count().alias("cogs_missing"),
            )
        )

    by_month, overall = pl.collect_all(
        [sums(base), sums(base.with_columns(pl.lit("all").alias("key")))]
    )
    return finish(currency, [*by_month.to_dicts(), *overall.to_dicts()])


def polars_lazy(folder: Path) -> dict[str, Any]:
    """Hand-written polars: two lazy scans (needed columns, right dtypes), one plan."""
    import polars as pl

    meta = json.loads((folder / "shop.json").read_text())
    with open(folder / "orders.csv") as f:
        has_test = "test" in f.readline().rstrip("\n").split(",")
    counted = (pl.col("status") != "cancelled") & (pl.col("merchandise") >= 0.005)
    if has_test:
        counted &= ~pl.col("test")
    orders = (
        pl.scan_csv(
            folder / "orders.csv",
            schema_overrides={
                "order_id": pl.Int64,
                "ordered_at": pl.String,
                "merchandise": pl.Float64,
                "discount": pl.Float64,
                "status": pl.String,
                **({"test": pl.Boolean} if has_test else {}),
            },
        )
        .filter(counted)
        .select(
            "order_id",
            (pl.col("merchandise") - pl.col("discount")).alias("value"),
            pl.col("ordered_at")
            .str.to_datetime("%Y-%m-%dT%H:%M:%S%z", time_zone="UTC")
            .dt.convert_time_zone(meta["timezone"])
            .dt.strftime("%Y-%m")
            .alias("key"),
        )
    )
    lines = pl.scan_csv(
        folder / "lines.csv",
        schema_overrides={"order_id": pl.Int64, "quantity": pl.Int64, "unit_cost": pl.Float64},
    )
    return polars_figures(orders, lines, meta["currency"])


def polars_parquet(folder: Path) -> dict[str, Any]:
    """Hand-written polars on `aovlab convert`'s Parquet: two scan_parquet, the same plan."""
    import polars as pl

    meta = json.loads((folder / "shop.json").read_text())
    scan = pl.scan_parquet(folder / "orders.parquet")
    counted = (pl.col("status") != "cancelled") & (pl.col("merchandise") >= 0.005)
    if "test" in scan.collect_schema().names():
        counted &= ~pl.col("test").fill_null(False)
    orders = scan.filter(counted).select(
        "order_id",
        (pl.col("merchandise") - pl.col("discount")).alias("value"),
        # Stored as an instant with the shop's zone; converting is a no-op then.
        pl.col("ordered_at")
        .dt.convert_time_zone(meta["timezone"])
        .dt.strftime("%Y-%m")
        .alias("key"),
    )
    lines = pl.scan_parquet(folder / "lines.parquet").select("order_id", "quantity", "unit_cost")
    return polars_figures(orders, lines, meta["currency"])


def duckdb_sql(folder: Path) -> dict[str, Any]:
    """DuckDB: one SQL query over both CSVs (per month and overall via UNION ALL)."""
    import duckdb

    meta = json.loads((folder / "shop.json").read_text())
    with open(folder / "orders.csv") as f:
        has_test = "test" in f.readline().rstrip("\n").split(",")
    orders_csv, lines_csv = (
        str(folder / name).replace("'", "''") for name in ("orders.csv", "lines.csv")
    )
    tz = meta["timezone"].replace("'", "''")
    test = "AND NOT test" if has_test else ""

    def agg(n: str, rk: str) -> str:
        return f"""
            count(*) AS orders,
            sum(value) AS revenue,
            median(value) AS median,
            avg(value) FILTER (WHERE {rk} > floor({n} * 0.05)
                               AND {rk} <= {n} - floor({n} * 0.05)) AS trimmed,
            coalesce(sum(value) FILTER (WHERE {n} - {rk} < ceil({n} * 0.01)), 0) AS top,
            sum(units) AS units,
            count(*) - count(units) AS units_missing,
            sum(cogs) AS cogs,
            count(*) - count(cogs) AS cogs_missing
        """

    query = f"""
    WITH o AS (
        SELECT order_id, merchandise - discount AS value,
               strftime(timezone('{tz}', ordered_at), '%Y-%m') AS month
        FROM read_csv('{orders_csv}', header = true, types = {{
            'order_id': 'BIGINT', 'ordered_at': 'TIMESTAMPTZ', 'merchandise': 'DOUBLE',
            'discount': 'DOUBLE', 'status': 'VARCHAR'}})
        WHERE status <> 'cancelled' AND merchandise >= 0.005 {test}
    ), l AS (
        SELECT order_id, sum(quantity) AS units, round(sum(quantity * unit_cost), 2) AS cogs,
               count(*) - count(unit_cost) AS no_cost
        FROM read_csv('{lines_csv}', header = true, types = {{
            'order_id': 'BIGINT', 'quantity': 'BIGINT', 'unit_cost': 'DOUBLE'}})
        GROUP BY order_id
    ), j AS (
        SELECT o.month, o.value, l.units, CASE WHEN l.no_cost = 0 THEN l.cogs END AS cogs,
               count(*) OVER (PARTITION BY o.month) AS n,
               row_number() OVER (PARTITION BY o.month ORDER BY o.value) AS rk,
               count(*) OVER () AS n_all,
               row_number() OVER (ORDER BY o.value) AS rk_all
        FROM o LEFT JOIN l USING (order_id)
    )
    SELECT month AS key, {agg("n", "rk")} FROM j GROUP BY month
    UNION ALL
    SELECT 'all' AS key, {agg("n_all", "rk_all")} FROM j
    """
    con = duckdb.connect()
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return finish(meta["currency"], rows)


def pandas_plain(folder: Path) -> dict[str, Any]:
    """Plain pandas: read_csv (needed columns), to_datetime, groupby."""
    import numpy as np
    import pandas as pd

    meta = json.loads((folder / "shop.json").read_text())
    with open(folder / "orders.csv") as f:
        has_test = "test" in f.readline().rstrip("\n").split(",")
    cols = ["order_id", "ordered_at", "merchandise", "discount", "status"]
    orders = pd.read_csv(
        folder / "orders.csv",
        usecols=cols + (["test"] if has_test else []),
        dtype={"order_id": "int64", "merchandise": "float64", "discount": "float64"},
    )
    counted = (orders["status"] != "cancelled") & (orders["merchandise"] >= 0.005)
    if has_test:
        counted &= ~orders["test"].astype(bool)
    orders = orders[counted]
    local = pd.to_datetime(orders["ordered_at"], utc=True, format="ISO8601").dt.tz_convert(
        meta["timezone"]
    )
    orders = pd.DataFrame(
        {
            "order_id": orders["order_id"].to_numpy(),
            "value": (orders["merchandise"] - orders["discount"]).to_numpy(),
            "key": local.dt.strftime("%Y-%m").to_numpy(),
        }
    )
    lines = pd.read_csv(
        folder / "lines.csv",
        usecols=["order_id", "quantity", "unit_cost"],
        dtype={"order_id": "int64", "quantity": "int64", "unit_cost": "float64"},
    )
    lines["cogs"] = lines["quantity"] * lines["unit_cost"]
    lines["no_cost"] = lines["unit_cost"].isna()
    per_order = lines.groupby("order_id").agg(
        units=("quantity", "sum"), cogs=("cogs", "sum"), no_cost=("no_cost", "sum")
    )
    per_order["cogs"] = per_order["cogs"].round(2).where(per_order["no_cost"] == 0)
    orders = orders.join(per_order[["units", "cogs"]], on="order_id")

    def sums(frame: pd.DataFrame) -> list[dict[str, Any]]:
        frame = frame.sort_values(["key", "value"], kind="stable")
        g = frame.groupby("key", sort=False)
        n = g["value"].transform("size").to_numpy()
        rank = g.cumcount().to_numpy() + 1
        k = np.floor(n * 0.05)
        frame = frame.assign(
            trim=frame["value"].where((rank > k) & (rank <= n - k)),
            top=frame["value"].where(n - rank < np.ceil(n * 0.01), 0.0),
        )
        table = frame.groupby("key").agg(
            orders=("value", "size"),
            revenue=("value", "sum"),
            median=("value", "median"),
            trimmed=("trim", "mean"),
            top=("top", "sum"),
            units=("units", "sum"),
            units_missing=("units", lambda s: s.isna().sum()),
            cogs=("cogs", "sum"),
            cogs_missing=("cogs", lambda s: s.isna().sum()),
        )
        return [{"key": key, **row} for key, row in table.to_dict("index").items()]

    rows = sums(orders) + sums(orders.assign(key="all"))
    return finish(meta["currency"], rows)


def aovlab_cli(folder: Path) -> dict[str, Any]:
    """In-process only: the CLI's own `kpis` function (load + both kpis calls + JSON)."""
    from aovlab import cli

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        cli.kpis(folder / "orders.csv", lines=folder / "lines.csv", by="month", as_json=True)
    return json.loads(buffer.getvalue())


def aovlab_parquet(folder: Path) -> dict[str, Any]:
    """In-process only: the CLI's `kpis` on the converted folder (load + kpis + JSON)."""
    from aovlab import cli

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        cli.kpis(folder, by="month", as_json=True)
    return json.loads(buffer.getvalue())


HAND_WRITTEN = {"polars lazy": polars_lazy, "duckdb SQL": duckdb_sql, "pandas": pandas_plain}
PARQUET_HAND_WRITTEN = {"polars parquet": polars_parquet}
IN_PROCESS = {
    "aovlab": aovlab_cli,
    **HAND_WRITTEN,
    "aovlab parquet": aovlab_parquet,
    **PARQUET_HAND_WRITTEN,
}
IMPORTS = {
    "aovlab": ["aovlab.cli"],
    "polars lazy": ["polars"],
    "duckdb SQL": ["duckdb"],
    "pandas": ["pandas", "numpy"],
    "aovlab parquet": ["aovlab.cli"],
    "polars parquet": ["polars"],
}
PARQUET = ("aovlab parquet", "polars parquet")
REFERENCE = "polars lazy"  # the ratios' denominator
#: What each contender's ratio "same input" is taken to: the hand-written polars query
#: reading the same files (CSV or the converted Parquet).
SAME_INPUT = {name: REFERENCE for name in IN_PROCESS} | {name: "polars parquet" for name in PARQUET}
#: --skip names (no spaces, for the shell) -> contender.
SKIP_NAMES = {
    "aovlab": "aovlab",
    "polars": "polars lazy",
    "duckdb": "duckdb SQL",
    "pandas": "pandas",
    "aovlab-parquet": "aovlab parquet",
    "polars-parquet": "polars parquet",
}
#: Module-level helpers a generated script carries when the contender calls them.
HELPERS = (finish, polars_figures)


def write_script(fn: Any) -> Path:
    """A stand-alone script: stdlib imports, the helpers it calls, the contender, a main line."""
    SCRIPTS.mkdir(parents=True, exist_ok=True)
    path = SCRIPTS / f"{fn.__name__}.py"
    body = inspect.getsource(fn)
    needed = [h for h in HELPERS if h is finish or f"{h.__name__}(" in body]
    helpers = "\n\n".join(inspect.getsource(h) for h in needed)
    text = (
        f'"""Written by bench/bench_process.py: {inspect.getdoc(fn)}"""\n\n'
        "from __future__ import annotations\n\n"
        "import json\nimport sys\nfrom pathlib import Path\nfrom typing import Any\n\n\n"
        f"{helpers}\n\n{body}\n\n"
        f"sys.stdout.write(json.dumps({fn.__name__}(Path(sys.argv[1]))) + '\\n')\n"
    )
    path.write_text(text)
    return path


def commands(folder: Path, duckdb_ok: bool) -> dict[str, list[str]]:
    """argv of each CSV contender's whole process."""
    out = {
        "aovlab": [
            str(AOVLAB),
            "kpis",
            str(folder / "orders.csv"),
            "--lines",
            str(folder / "lines.csv"),
            "--json",
            "--by",
            "month",
        ]
    }
    for name, fn in HAND_WRITTEN.items():
        if name == "duckdb SQL" and not duckdb_ok:
            continue
        out[name] = [sys.executable, str(write_script(fn)), str(folder)]
    return out


def parquet_commands(converted: Path) -> dict[str, list[str]]:
    """argv of the Parquet pair's whole processes, on `aovlab convert`'s folder."""
    out = {"aovlab parquet": [str(AOVLAB), "kpis", str(converted), "--json", "--by", "month"]}
    for name, fn in PARQUET_HAND_WRITTEN.items():
        out[name] = [sys.executable, str(write_script(fn)), str(converted)]
    return out


def have_duckdb() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        print(
            "duckdb SQL: skipped, duckdb is not installed in this environment "
            "(benchmark-only: `.venv/bin/pip install duckdb`, not in requirements.lock)"
        )
        return False
    return True


# --------------------------------------------------------------------------- parquet


def source_key() -> dict[str, str]:
    """What `aovlab convert`'s output depends on: aovlab's source files and polars.

    A hash of the content of every file of the aovlab package that runs (the venv's
    editable install, src/aovlab), so an uncommitted change to the loader redoes the
    conversion as surely as a new commit; a commit that leaves src/aovlab alone does not.
    """
    import hashlib
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("aovlab")
    assert spec is not None and spec.origin is not None, "aovlab is not installed"
    src = Path(spec.origin).parent
    digest = hashlib.sha256()
    for path in sorted(p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(src).as_posix().encode() + b"\0" + path.read_bytes())
    # Not the path: /work/main's bench/.cache links its shops to another clone's, and the
    # same source there should find the same conversion.
    return {
        "aovlab_source_sha256": digest.hexdigest(),
        "polars": importlib.metadata.version("polars"),
    }


def ensure_converted(folder: Path, mem_limit_mb: float | None) -> tuple[Path | None, dict]:
    """``folder/converted`` by `aovlab convert` (cached), and how it was made or failed.

    Redone when aovlab's source (or polars) changed since: the key is written to
    ``folder/converted.stamp.json`` beside the folder, after a conversion that succeeded.
    """
    out, stamp = folder / "converted", folder / "converted.stamp.json"
    key = source_key()
    if out.is_dir() and stamp.exists():
        info = json.loads(stamp.read_text())
        if info.get("key") == key:
            return out, info | {"cached": True}
    meta = json.loads((folder / "shop.json").read_text())
    partial = folder / "converted.partial"
    for old in (partial, out):
        if old.exists():
            shutil.rmtree(old)
    stamp.unlink(missing_ok=True)
    argv = [
        str(AOVLAB),
        "convert",
        str(folder / "orders.csv"),
        "--lines",
        str(folder / "lines.csv"),
        "--currency",
        meta["currency"],
        "--timezone",
        meta["timezone"],
        "--out",
        str(partial),
    ]
    print(f"converting {folder.name} to Parquet: aovlab {' '.join(argv[1:])}", flush=True)
    r = whole_process(argv, mem_limit_mb=mem_limit_mb, check=False)
    if r["failure"]:
        print(f"  aovlab convert failed at {folder.name}: {r['failure']}", flush=True)
        if partial.exists():
            shutil.rmtree(partial)
        return None, {"failure": r["failure"], "seconds": r["seconds"], "peak_mb": r["peak_mb"]}
    partial.rename(out)
    info = {
        "key": key,
        "date": now(),
        **git_commit(),
        "seconds": r["seconds"],
        "peak_mb": r["peak_mb"],
        "parquet_mb": sum(p.stat().st_size for p in out.glob("*.parquet")) / 1e6,
    }
    stamp.write_text(json.dumps(info, indent=2) + "\n")
    print(
        f"  converted in {r['seconds']:.1f} s, peak {r['peak_mb']:,.0f} MB, "
        f"{info['parquet_mb']:,.0f} MB of Parquet -> {out}",
        flush=True,
    )
    return out, info | {"cached": False}


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def git_commit() -> dict[str, Any]:
    """The commit of this working tree, and whether src/ or bench/ differ from it."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(HERE.parent), *args], capture_output=True, text=True
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "src", "bench")),
    }


# --------------------------------------------------------------------------- checks


def check(results: dict[str, dict[str, Any]], against: str = "aovlab") -> None:
    """Orders, revenue and AOV per month and overall agree to the cent, or stop loudly.

    Every contender against ``against`` (aovlab on the CSV, the figures every other
    contender must give, whatever it reads).
    """
    ref = results[against]
    problems = []

    def rows(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {"all": payload, **{r["key"]: r for r in payload["by"]}}

    want = rows(ref)
    for name, payload in results.items():
        got = rows(payload)
        if set(got) != set(want):
            problems.append(f"{name}: keys {sorted(set(got) ^ set(want))} differ from {against}")
            continue
        for key, row in want.items():
            other = got[key]
            if other["orders"] != row["orders"]:
                problems.append(f"{name} {key}: orders {other['orders']} != {row['orders']}")
            for fig in ("revenue", "aov"):
                # A sum of 25 M doubles carries rounding of its own, which depends on
                # the order of addition: DuckDB's revenue over 25 M orders is 4 cents
                # off the exact integer-cent sum (2,900,240,184.56, which aovlab gives).
                # Allow what double precision allows, a few parts in 1e15 per order.
                tol = max(0.0051, abs(row[fig]) * 4e-16 * row["orders"] ** 0.5 * 10)
                if abs(other[fig] - row[fig]) > tol:
                    problems.append(f"{name} {key}: {fig} {other[fig]} != {against} {row[fig]}")
            # The other figures: reported, not fatal (definitions are the same, but a cent
            # may round the other way).
            for fig in (
                "median_order_value",
                "trimmed_aov",
                "top1pct_revenue_share",
                "upt",
                "aur",
                "margin_per_order",
            ):
                a, b = other[fig], row[fig]
                tol = 2e-6 if fig in ("top1pct_revenue_share", "upt") else 0.0101
                if (a is None) != (b is None) or (a is not None and abs(a - b) > tol):
                    print(f"note: {name} {key}: {fig} {a} vs {against} {b}")
    if problems:
        raise SystemExit("CONTENDERS DISAGREE:\n  " + "\n  ".join(problems[:40]))


# --------------------------------------------------------------------------- profile


def profile(folder: Path) -> None:
    """Where aovlab's whole process spends its time: start-up, imports, load, kpis, exit."""
    argv = commands(folder, duckdb_ok=False)["aovlab"]
    startup = min(whole_process([sys.executable, "-c", "pass"])["seconds"] for _ in range(3))
    whole = min(whole_process(argv)["seconds"] for _ in range(2))
    traced = whole_process([sys.executable, "-X", "importtime", *argv])
    imports = []
    for line in traced["stderr"].splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:") :].split("|")
        imports.append((int(self_us), int(cum_us), name.rstrip()))
    top_level = [(c, n.strip()) for _, c, n in imports if not n.startswith("  ")]
    # Nesting is two spaces a level: show the top three levels (aovlab.cli and what it pulls).
    shallow = [(c, n.rstrip()) for _, c, n in imports if len(n) - len(n.lstrip()) <= 5]
    by_package: dict[str, int] = {}
    for self_us, _, name in imports:
        root = name.strip().split(".")[0]
        by_package[root] = by_package.get(root, 0) + self_us
    phases = json.loads(
        whole_process([sys.executable, __file__, "--phases", "--path", str(folder)])["stdout"]
    )
    total_imports = sum(c for c, _ in top_level) / 1e6
    print(f"\nwhere `aovlab kpis --json --by month` spends its time ({folder.name})")
    print(f"  whole process (best of 2)        {whole:7.2f} s")
    print(f"  interpreter start (python -c '') {startup:7.2f} s")
    print(f"  imports (-X importtime, summed)  {total_imports:7.2f} s")
    print(f"    of which imported by aovlab.cli: {phases['import']:.2f} s measured in-process")
    print(f"  load (read + validate + reconcile){phases['load']:6.2f} s")
    print(f"  kpis (overall + by month)        {phases['kpis']:7.2f} s")
    print(f"  rows + JSON                      {phases['json']:7.2f} s")
    rest = whole - startup - sum(phases[k] for k in ("import", "load", "kpis", "json"))
    print(f"  rest = whole - the above (exit, noise){rest:5.2f} s")
    print(f"  peak RSS {phases['peak_mb']:.0f} MB")
    print("\n  imports by package (self time, -X importtime; inflated by the tracing):")
    for root, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {root:24s} {us / 1e6:6.3f} s")
    print("\n  heaviest imports, three levels deep (cumulative, inflated by the tracing):")
    for cum, name in sorted(shallow, reverse=True)[:15]:
        print(f"    {name[1:]:44s} {cum / 1e6:6.3f} s")
    print("\n  load + kpis under cProfile, aovlab functions by cumulative time:")
    print(phases["cprofile"])


def phases(folder: Path) -> None:
    """Child of --profile: the CLI's steps timed one by one in one process."""
    import cProfile
    import pstats

    t0 = time.perf_counter()
    from aovlab import cli, metrics

    out: dict[str, Any] = {"import": time.perf_counter() - t0}

    def run() -> None:
        t = time.perf_counter()
        shop = cli._load(
            folder / "orders.csv",
            dict(lines=folder / "lines.csv", customers=None, catalog=None, traffic=None),
            cli._read_options(
                {
                    **dict.fromkeys(("currency", "timezone", "fmt", "sep", "encoding")),
                    **dict.fromkeys(("decimal", "dayfirst", "column_map")),
                    "include_zero_value": False,
                }
            ),
        )
        out["load"], t = time.perf_counter() - t, time.perf_counter()
        # As the CLI does: both tables (overall, by month) in one kpis_many.
        overall, grouped = metrics.kpis_many(shop, [None, "month"], basis="net")
        out["kpis"], t = time.perf_counter() - t, time.perf_counter()
        payload = {"currency": shop.currency, **cli._figures(overall.rows()[0])}
        payload["by"] = [cli._figures(r) for r in grouped.rows()]
        json.dumps(payload)
        out["json"] = time.perf_counter() - t

    run()
    from harness import peak_mb

    out["peak_mb"] = peak_mb()
    timings = dict(out)
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
    stats.print_stats("aovlab", 25)
    body = text.getvalue()
    body = body[body.find("   ncalls") :]
    timings["cprofile"] = "\n".join("    " + line for line in body.rstrip().splitlines())
    print(json.dumps(timings))


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,3", help="shop sizes in millions of orders")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--parquet",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the Parquet pair on `aovlab convert`'s folder (converted once per "
        "size and aovlab source, cached)",
    )
    parser.add_argument(
        "--skip",
        default="",
        help=f"contenders not to run, comma-separated: {', '.join(SKIP_NAMES)}",
    )
    parser.add_argument(
        "--mem-limit-gb",
        type=float,
        help="kill a process whose RSS goes over this and report it out of memory "
        "(default: 90 %% of the memory available at start; 0: no limit)",
    )
    parser.add_argument("--profile", action="store_true", help="where aovlab's process spends")
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process view")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="JSON the results are merged into, by size"
    )
    parser.add_argument("--svg", type=Path, default=GROWTH_SVG, help="growth plot to write")
    parser.add_argument(
        "--plot-only", action="store_true", help="redraw --svg from --results, measure nothing"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--phases", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(IN_PROCESS[args.child], IMPORTS[args.child], args.path)
        return
    if args.phases:
        phases(args.path)
        return
    if args.plot_only:
        plot(args.results, args.svg)
        return

    unknown = [s for s in args.skip.split(",") if s and s not in SKIP_NAMES]
    if unknown:
        parser.error(f"--skip {','.join(unknown)}: not one of {', '.join(SKIP_NAMES)}")
    skip = {SKIP_NAMES[s] for s in args.skip.split(",") if s}
    if args.mem_limit_gb is None:
        limit: float | None = available_mb() * 0.9
    else:
        limit = args.mem_limit_gb * 1024 or None
    print(
        f"memory limit per process: {f'{limit:,.0f} MB' if limit else 'none'}"
        " (over it: killed, reported out of memory)"
    )
    sizes = [float(s) for s in args.sizes.split(",")]
    folders = {s: ensure_shop(s) for s in sizes}
    duckdb_ok = have_duckdb()
    for size, folder in folders.items():
        entry = run_size(
            size,
            folder,
            repeat=args.repeat,
            duckdb_ok=duckdb_ok,
            skip=skip,
            parquet=args.parquet,
            in_process=not args.no_in_process,
            limit=limit,
        )
        print_size(entry)
        save_results(args.results, entry)  # after each size: a long run keeps what it did
    print(f"\nwrote {args.results}")
    plot(args.results, args.svg)
    if args.profile:
        profile(folders[sizes[-1]])


def available_mb() -> float:
    """MemAvailable now, in MB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def run_size(
    size: float,
    folder: Path,
    *,
    repeat: int,
    duckdb_ok: bool,
    skip: set[str],
    parquet: bool,
    in_process: bool,
    limit: float | None,
) -> dict[str, Any]:
    """Every contender at one size: whole process round robin, check, in-process view."""
    load_start = os.getloadavg()[0]
    argvs = commands(folder, duckdb_ok)
    status: dict[str, str] = {}  # contender -> why it has no figures
    if not duckdb_ok:
        status["duckdb SQL"] = "not run: duckdb is not installed"
    convert: dict[str, Any] | None = None
    targets = dict.fromkeys(IN_PROCESS, folder)
    if parquet and not set(PARQUET) <= skip:
        converted, convert = ensure_converted(folder, limit)
        if converted is None:
            status |= dict.fromkeys(PARQUET, f"not run: aovlab convert {convert['failure']}")
        else:
            argvs |= parquet_commands(converted)
            targets |= dict.fromkeys(PARQUET, converted)
    elif parquet:
        status |= dict.fromkeys(PARQUET, "skipped (--skip)")
    for name in skip & set(argvs):
        status[name] = "skipped (--skip)"

    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in argvs if name not in status}
    results: dict[str, dict[str, Any]] = {}
    # Round robin, so that what else runs on the machine hits every contender alike. A
    # contender that fails (or is killed over the memory limit) is not run again.
    for _ in range(repeat):
        for name in runs:
            if name in status:
                continue
            r = whole_process(argvs[name], mem_limit_mb=limit, check=False)
            if r["failure"] is None and name not in results:
                try:
                    results[name] = json.loads(r["stdout"])
                except json.JSONDecodeError:
                    r["failure"] = f"printed no JSON: {r['stdout'][:100]!r}"
            if r["failure"]:
                status[name] = r["failure"]
                print(f"{size:g} M {name}: {r['failure']}", flush=True)
                continue
            runs[name].append(r)
    best = {n: min(rs, key=lambda r: r["seconds"]) for n, rs in runs.items() if n not in status}
    results = {n: results[n] for n in best}
    against = next((n for n in ("aovlab", REFERENCE, *best) if n in results), None)
    if against is not None:
        check(results, against)

    inproc: dict[str, dict[str, Any]] = {}
    if in_process:
        for name in best:
            try:
                inproc[name] = measure(__file__, name, targets[name], repeat, limit)
            except RuntimeError as e:
                inproc[name] = {"failure": str(e).splitlines()[0][:300]}
                print(f"{size:g} M {name} in-process: {inproc[name]['failure']}", flush=True)

    def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> float | None:
        if not a or not b or key not in a or key not in b:
            return None
        return a[key] / b[key]

    rows = []
    for name in IN_PROCESS:
        row: dict[str, Any] = {
            "contender": name,
            "input": "Parquet" if name in PARQUET else "CSV",
        }
        if name in best:
            r, same = best[name], SAME_INPUT[name]
            row |= {
                "status": "ok",
                "wall_s": r["seconds"],
                "peak_mb": r["peak_mb"],
                "ratio": ratio(r, best.get(REFERENCE), "seconds"),
                "ratio_same_input": ratio(r, best.get(same), "seconds"),
                "all_wall_s": [x["seconds"] for x in runs[name]],
            }
            ip = inproc.get(name)
            if ip and "failure" in ip:
                row["in_process_failure"] = ip["failure"]
            elif ip:
                row |= {
                    "in_process_s": ip["seconds"],
                    "in_process_import_s": ip["import_seconds"],
                    "in_process_peak_mb": ip["peak_mb"],
                    "in_process_ratio": ratio(ip, inproc.get(REFERENCE), "seconds"),
                    "in_process_ratio_same_input": ratio(ip, inproc.get(same), "seconds"),
                }
        elif name in status:
            row["status"] = status[name]
        else:
            continue  # not part of this run (--no-parquet)
        rows.append(row)
    entry: dict[str, Any] = {
        "millions": size,
        "orders": (
            sum(r["orders"] for r in results[against]["by"]) if against is not None else None
        ),
        "orders_csv_mb": (folder / "orders.csv").stat().st_size / 1e6,
        "lines_csv_mb": (folder / "lines.csv").stat().st_size / 1e6,
        "date": now(),
        **git_commit(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "repeat": repeat,
        "mem_limit_mb": limit,
        "loadavg": [load_start, os.getloadavg()[0]],
        "aovlab_vs_polars": {
            "csv": ratio(best.get("aovlab"), best.get(REFERENCE), "seconds"),
            "parquet": ratio(best.get("aovlab parquet"), best.get("polars parquet"), "seconds"),
        },
        "contenders": rows,
    }
    if convert is not None:
        entry["convert"] = {k: v for k, v in convert.items() if k != "key"}
    return entry


def print_size(entry: dict[str, Any]) -> None:
    orders = f"{entry['orders']:,} counted orders" if entry["orders"] else "no figures"
    print(
        f"\n{entry['millions']:g} M: {orders}, whole process, best of {entry['repeat']}; "
        "in-process = load + figures after imports"
    )
    convert = entry.get("convert")
    if convert and "failure" not in convert:
        print(
            f"Parquet: {convert['parquet_mb']:,.0f} MB by `aovlab convert` "
            f"({'cached, ' if convert.get('cached') else ''}made in {convert['seconds']:.1f} s, "
            f"peak {convert['peak_mb']:,.0f} MB; not in the times below)"
        )
    # "vs polars": to the hand-written polars query on the same input (CSV or Parquet);
    # "vs pl CSV": to polars lazy on the CSVs, the reference of every row.
    head = (
        f"{'size':>5s} {'contender':14s} {'input':7s} {'wall s':>7s} {'peak MB':>8s} "
        f"{'vs polars':>9s} {'vs pl CSV':>9s}"
    )
    print(head + f" | {'in-proc s':>9s} {'import s':>8s} {'peak MB':>8s} {'vs polars':>9s}")

    def x(v: float | None) -> str:
        return f"{v:8.2f}x" if v is not None else f"{'-':>9s}"

    for row in entry["contenders"]:
        start = f"{entry['millions']:>4g}M {row['contender']:14s} {row['input']:7s}"
        if row["status"] != "ok":
            print(f"{start} {row['status']}")
            continue
        line = (
            f"{start} {row['wall_s']:7.2f} {row['peak_mb']:8.0f} "
            f"{x(row['ratio_same_input'])} {x(row['ratio'])}"
        )
        if "in_process_s" in row:
            line += (
                f" | {row['in_process_s']:9.2f} {row['in_process_import_s']:8.2f} "
                f"{row['in_process_peak_mb']:8.0f} {x(row['in_process_ratio_same_input'])}"
            )
        elif "in_process_failure" in row:
            line += f" | in-process: {row['in_process_failure']}"
        print(line)
    pair = entry["aovlab_vs_polars"]
    print(
        "aovlab / hand-written polars, whole process: "
        + ", ".join(
            f"{k} {x(v).strip()}" for k, v in (("CSV", pair["csv"]), ("Parquet", pair["parquet"]))
        )
        + f"; load average {entry['loadavg'][0]:.2f} -> {entry['loadavg'][1]:.2f}"
    )


# --------------------------------------------------------------------------- results


def load_results(path: Path) -> dict[str, Any]:
    """The accumulated results: {"sizes": {"1": entry, "3": entry, ...}}.

    A file from before results accumulated (one run's report, its sizes a list) is read
    as that run's entries, each given the run's date; their commit is unknown (None).
    """
    if not path.exists():
        return {"sizes": {}}
    data = json.loads(path.read_text())
    if isinstance(data.get("sizes"), list):
        old, data = data, {"sizes": {}}
        for e in old["sizes"]:
            data["sizes"][f"{e['millions']:g}"] = {
                **e,
                "date": old.get("date"),
                "commit": None,
                "dirty": None,
                "machine": old.get("machine"),
                "repeat": old.get("repeat"),
                "loadavg": [old["loadavg_start"][0], old["loadavg_end"][0]],
                "aovlab_vs_polars": {
                    "csv": next(c["ratio"] for c in e["contenders"] if c["contender"] == "aovlab"),
                    "parquet": None,
                },
                "contenders": [
                    {"input": "CSV", "status": "ok", "ratio_same_input": c["ratio"], **c}
                    for c in e["contenders"]
                ],
            }
    return data


def save_results(path: Path, entry: dict[str, Any]) -> None:
    """Merge one size's entry into ``path`` (replacing that size's previous entry)."""
    data = load_results(path)
    data["sizes"][f"{entry['millions']:g}"] = entry
    data["sizes"] = dict(sorted(data["sizes"].items(), key=lambda kv: float(kv[0])))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(data, indent=2) + "\n")
    partial.replace(path)


#: Contender -> (line label, input) on the growth plot.
LABELS = {
    "aovlab": ("aovlab CLI", "CSV"),
    "polars lazy": ("polars lazy", "CSV"),
    "duckdb SQL": ("DuckDB SQL", "CSV"),
    "pandas": ("pandas", "CSV"),
    "aovlab parquet": ("aovlab CLI", "Parquet"),
    "polars parquet": ("polars lazy", "Parquet"),
}


def plot(results: Path, svg: Path) -> None:
    """Wall time and peak memory against orders, a line per contender, from ``results``."""
    import altair as alt

    data = load_results(results)
    points, missing, measured = [], [], {}
    for e in data["sizes"].values():
        size = f"{e['millions']:g} M"
        commit = (e.get("commit") or "unknown")[:7] + (" + changes" if e.get("dirty") else "")
        when = f"{(e.get('date') or '?')[:10]}, commit {commit}"
        measured.setdefault(when, []).append(size)
        for c in e["contenders"]:
            tool, source = LABELS[c["contender"]]
            if c.get("status", "ok") == "ok":
                points.append(
                    {
                        "orders": e["millions"],
                        "contender": tool,
                        "input": source,
                        "wall": round(c["wall_s"], 2),
                        "peak": round(c["peak_mb"]),
                    }
                )
            else:
                missing.append(f"{tool} ({source}) at {size}: {c['status'].split(' (')[0]}")
    if not points:
        print(f"no results in {results}: no plot")
        return
    subtitle = [
        "Whole process, best of the runs; "
        + "; ".join(f"{', '.join(s)}: {w}" for w, s in measured.items()),
        *(["Not measured: " + "; ".join(missing)] if missing else []),
    ]
    sizes = sorted({p["orders"] for p in points})
    tools = list(dict.fromkeys(t for t, _ in LABELS.values()))
    inputs = [i for i in ("CSV", "Parquet") if any(p["input"] == i for p in points)]
    reads = "reads (dashed: Parquet)" if "Parquet" in inputs else "reads"
    base = alt.Chart(alt.Data(values=points)).encode(
        x=alt.X(
            "orders:Q",
            title="orders (millions)",
            axis=alt.Axis(values=sizes, format="~g"),
            scale=alt.Scale(zero=True),
        ),
        color=alt.Color("contender:N", title="contender", scale=alt.Scale(domain=tools)),
        strokeDash=alt.StrokeDash(
            "input:N",
            title=reads,
            scale=alt.Scale(domain=inputs, range=[[1, 0], [6, 3]][: len(inputs)]),
        ),
        shape=alt.Shape("input:N", title=reads, scale=alt.Scale(domain=inputs)),
        detail="input:N",
    )
    panel = {"width": 330, "height": 260}
    wall = (
        base.mark_line(point=True)
        .encode(y=alt.Y("wall:Q", title="wall time (s)"))
        .properties(title="Wall time", **panel)
    )
    peak = (
        base.mark_line(point=True)
        .encode(y=alt.Y("peak:Q", title="peak memory (MB)"))
        .properties(title="Peak memory (RSS)", **panel)
    )
    chart = alt.hconcat(wall, peak).properties(
        title=alt.TitleParams(
            "aovlab kpis --json --by month vs hand-written queries, by shop size",
            subtitle=subtitle,
            anchor="start",
        )
    )
    svg.parent.mkdir(parents=True, exist_ok=True)
    chart.save(str(svg), format="svg")
    print(f"wrote {svg}")


if __name__ == "__main__":
    main()
