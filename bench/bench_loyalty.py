"""Loyalty analyses on a 1,000,000-order shop, each against hand-written polars (issue 14).

Data: ``aovlab.sample.generate(scale=33, seed=SEED)``, about 1,000,000 orders and
297,000 registered customers with the sample's planted loyalty effects (members join at
random; after joining, baskets 12 % larger and order rate 25 % higher), written once as
Parquet to bench/.cache/loyalty-1m/ (orders, customers, lines, catalog, shop.json).

Cases, each timed on its own:

- ``effect``: ``aovlab.loyalty.effect(shop)``, the staggered difference-in-differences
  with its 200-draw bootstrap over customers;
- ``retention``: ``aovlab.loyalty.retention(shop)``;
- ``members``: ``aovlab.loyalty.compare_members(shop)`` (the default window: the 12
  months to the last counted order);
- ``clv``: ``aovlab.loyalty.clv(shop)``: BG/NBD + Gamma-Gamma by maximum likelihood on
  the calibration window, the holdout check, the refit on all data, historic CLV;
- ``impact``: ``aovlab.loyalty.impact(shop, cost_per_member=5)`` (comparison, effect,
  gap split and programme return in one call).

Contenders, each run in its own fresh subprocess (``harness.whole_process``: wall time
from fork to exit, the process's own peak RSS), round robin, best of ``--repeat``:

- ``aovlab``: reads the Parquet files with polars and builds the shop with
  ``aovlab.ShopData.from_frames`` (orders and customers; lines and catalog too for the
  cases that use margin: members, clv, impact). The **in-process time is the analysis
  call only**: reading and validating the shop (``load_s``) is not in it; it is in the
  whole-process time, with interpreter start and imports.
- ``polars``: hand-written polars of the aggregates each case needs, on the same
  in-memory frames (reading the Parquet is likewise outside the in-process time):

  - effect: counted registered orders grouped by customer and month (orders, net
    revenue), each customer's first month, joined to the customers' join months;
  - retention: each customer's cohort (first-order month) and first day, distinct
    customer-months since the cohort, counted by cohort x months since x membership,
    and the repeat flag (an order on a later day);
  - members: per-customer then per-group sums over the 12 months to the last order
    (customers, orders, revenue and its square, margin from the lines' costs, repeat
    customers);
  - clv: the per-customer x / t_x / T / monetary-value summary (distinct order days) at
    the calibration end (26 weeks before the data's end), with the holdout's repeat days,
    and again at the data's end (the refit);
  - impact: the effect's and the members' aggregates in one ``collect_all``.

  The hand-written side stops at the aggregates: no statistics, no bootstrap, no fit, no
  result table. The ratio aovlab / hand-written is thus what the analysis costs above
  the data it must read.
- ``aovlab-blas1`` (only when named in ``--contenders``): aovlab in a process started
  with ``OPENBLAS_NUM_THREADS=1``, to show what OpenBLAS's threads cost the fits.

Each run also records the figures the case produced, so the benchmark doubles as a
recovery check at scale (the effect's relative AOV and frequency estimates with their
intervals against the planted +12 % / +25 %; the CLV holdout's predicted and actual
repeat orders). Results go to bench/.cache/loyalty_results.json and a markdown table to
bench/.cache/loyalty.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from harness import peak_mb, whole_process

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
FOLDER = CACHE / "loyalty-1m"
SCALE = 33
SEED = 14
CASES = ("effect", "retention", "members", "clv", "impact")
CONTENDERS = ("aovlab", "polars")
#: Not run by default: aovlab with OpenBLAS on one thread (``--contenders aovlab,aovlab-blas1,polars``).
#: On a busy 2-core machine each L-BFGS-B step's small BLAS calls wait for OpenBLAS's
#: threads; this shows what limiting them (threadpoolctl around the fits) would gain.
BLAS1 = "aovlab-blas1"
#: The cases that use margin (unit costs): their shop also loads lines and catalog.
MARGIN_CASES = ("members", "clv", "impact")


# --------------------------------------------------------------------------- data


def ensure_shop() -> Path:
    """Generate the 1 M-order shop once and write it as Parquet."""
    if (FOLDER / "shop.json").exists():
        return FOLDER
    from aovlab import sample

    t0 = time.perf_counter()
    tables = sample.generate(scale=SCALE, seed=SEED)
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name in ("orders", "customers", "lines", "catalog"):
        tables[name].write_parquet(FOLDER / f"{name}.parquet")
    meta = {
        "currency": sample.CURRENCY,
        "timezone": sample.TIMEZONE,
        "scale": SCALE,
        "seed": SEED,
        "orders": tables["orders"].height,
        "customers": tables["customers"].height,
        "lines": tables["lines"].height,
    }
    (FOLDER / "shop.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(
        f"generated {meta['orders']:,} orders, {meta['customers']:,} customers, "
        f"{meta['lines']:,} lines in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return FOLDER


def _read(folder: Path, names: tuple[str, ...]) -> dict[str, Any]:
    import polars as pl

    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in names}


# --------------------------------------------------------------------------- aovlab


def _effect_figures(d: dict[str, Any]) -> dict[str, Any]:
    keys = ("estimate", "ci_low", "ci_high", "relative", "relative_ci_low", "relative_ci_high")
    return {
        "aov_effect": {k: d["aov_effect"][k] for k in keys},
        "frequency_effect": {k: d["frequency_effect"][k] for k in keys},
        "members_used": d.get("members_used"),
        "cohorts": d.get("cohorts"),
        "pre_aov_gap": d.get("pre_aov_gap"),
        "selection": d.get("selection"),
    }


def figures(case: str, res: Any) -> dict[str, Any]:
    """The figures worth keeping from a case's result (its ``to_dict``)."""
    d = res.to_dict()
    if case == "effect":
        return _effect_figures(d)
    if case == "retention":
        return {
            "cohorts": len(d["cohorts"]),
            "customers": sum(c["customers"] for c in d["cohorts"]),
            "repeat_rate": d["repeat_rate"],
            "month_1": d["retention"][0],
            "members_month_1": d["members"]["retention"][0] if d.get("members") else None,
            "non_members_month_1": (
                d["non_members"]["retention"][0] if d.get("non_members") else None
            ),
        }
    if case == "members":
        keep = ("customers", "orders", "aov", "orders_per_customer", "margin_per_customer")
        return {
            "period": d["period"],
            "members": {k: d["members"][k] for k in keep},
            "non_members": {k: d["non_members"][k] for k in keep},
            "naive_aov_gap": d["naive_aov_gap"],
        }
    if case == "clv":
        return {
            "calibration_end": d["calibration_end"],
            "customers": d["customers"],
            "bgnbd": d["bgnbd"],
            "gamma_gamma": d["gamma_gamma"],
            "holdout": {
                k: d["holdout"][k]
                for k in ("customers", "predicted_orders", "actual_orders", "relative_error")
            },
            "clv_12m": d["clv_12m"],
        }
    return {
        **_effect_figures(d),
        "naive_aov_gap": d["naive_aov_gap"],
        "selection_share": d["selection_share"],
        "roi": d["roi"],
    }


def run_aovlab(case: str, folder: Path) -> dict[str, Any]:
    from aovlab import ShopData, loyalty

    meta = json.loads((folder / "shop.json").read_text())
    t0 = time.perf_counter()
    names = ("orders", "customers") + (("lines", "catalog") if case in MARGIN_CASES else ())
    frames = _read(folder, names)
    shop = ShopData.from_frames(
        frames["orders"],
        frames.get("lines"),
        customers=frames["customers"],
        catalog=frames.get("catalog"),
        currency=meta["currency"],
        timezone=meta["timezone"],
    )
    del frames
    load = time.perf_counter() - t0
    call = {
        "effect": lambda: loyalty.effect(shop),
        "retention": lambda: loyalty.retention(shop),
        "members": lambda: loyalty.compare_members(shop),
        "clv": lambda: loyalty.clv(shop),
        "impact": lambda: loyalty.impact(shop, cost_per_member=5),
    }[case]
    t0 = time.perf_counter()
    res = call()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "load_s": load, "figures": figures(case, res)}


# --------------------------------------------------------------------------- hand-written


def _counted(orders: Any) -> Any:
    """Registered customers' counted orders: day, month number, net value (lazy)."""
    import polars as pl

    return (
        orders.lazy()
        .filter(
            (pl.col("status") != "cancelled")
            & (pl.col("merchandise") > 0)
            & pl.col("customer_id").is_not_null()
        )
        .select(
            "order_id",
            "customer_id",
            pl.col("ordered_at").dt.date().alias("day"),
            (pl.col("ordered_at").dt.year() * 12 + pl.col("ordered_at").dt.month() - 1).alias(
                "month"
            ),
            (pl.col("merchandise") - pl.col("discount")).alias("value"),
        )
    )


def _join_months(customers: Any) -> Any:
    import polars as pl

    joined = pl.col("loyalty_joined_at").str.to_date(strict=False)
    return customers.lazy().select(
        "customer_id",
        pl.col("loyalty_member").fill_null(False).alias("member"),
        (joined.dt.year() * 12 + joined.dt.month() - 1).alias("join_month"),
    )


def _effect_plan(frames: dict[str, Any]) -> Any:
    import polars as pl

    o = _counted(frames["orders"])
    cells = o.group_by("customer_id", "month").agg(
        pl.len().alias("orders"), pl.col("value").sum().alias("revenue")
    )
    firsts = o.group_by("customer_id").agg(pl.col("month").min().alias("first"))
    return cells.join(firsts, on="customer_id").join(
        _join_months(frames["customers"]), on="customer_id", how="left"
    )


def _members_plan(frames: dict[str, Any]) -> Any:
    import polars as pl

    o = _counted(frames["orders"])
    last = o.select(pl.col("month").max()).collect().item()
    cost = (
        frames["lines"]
        .lazy()
        .group_by("order_id")
        .agg((pl.col("quantity") * pl.col("unit_cost")).sum().alias("cogs"))
    )
    per_customer = (
        o.filter(pl.col("month") > last - 12)
        .join(cost, on="order_id", how="left")
        .group_by("customer_id")
        .agg(
            pl.len().alias("orders"),
            pl.col("value").sum().alias("revenue"),
            (pl.col("value") ** 2).sum().alias("revenue_sq"),
            (pl.col("value") - pl.col("cogs")).sum().alias("margin"),
            (pl.col("day").n_unique() > 1).alias("repeat"),
        )
        .join(_join_months(frames["customers"]), on="customer_id", how="left")
        .with_columns(pl.col("member").fill_null(False))
    )
    return per_customer.group_by("member").agg(
        pl.len().alias("customers"),
        pl.col("orders").sum(),
        (pl.col("orders") ** 2).sum().alias("orders_sq"),
        pl.col("revenue").sum(),
        pl.col("revenue_sq").sum(),
        (pl.col("revenue") ** 2).sum().alias("revenue_per_customer_sq"),
        pl.col("margin").sum(),
        (pl.col("margin") ** 2).sum().alias("margin_sq"),
        pl.col("repeat").sum().alias("repeat_customers"),
    )


def _rfm(days: Any, end: Any, label: str) -> Any:
    """x, t_x, T (weeks) and the mean repeat value per customer, orders before ``end``."""
    import polars as pl

    before = days.filter(pl.col("day") < end)
    first = pl.col("day").min()
    return (
        before.group_by("customer_id")
        .agg(
            (pl.len() - 1).alias("x"),
            ((pl.col("day").max() - first).dt.total_days() / 7).alias("t_x"),
            ((pl.lit(end) - pl.duration(days=1) - first).dt.total_days() / 7).alias("T"),
            (pl.col("value").sum() - pl.col("value").sort_by("day").first()).alias("repeat_v"),
        )
        .with_columns(
            pl.when(pl.col("x") > 0).then(pl.col("repeat_v") / pl.col("x")).alias("monetary")
        )
        .drop("repeat_v")
        .with_columns(pl.lit(label).alias("fit"))
    )


def run_polars(case: str, folder: Path) -> dict[str, Any]:
    import datetime as dt

    import polars as pl

    t0 = time.perf_counter()
    names = ("orders", "customers") + (("lines",) if case in ("members", "impact") else ())
    frames = _read(folder, names)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    if case == "effect":
        out = {"customer_months": _effect_plan(frames).collect()}
    elif case == "retention":
        o = _counted(frames["orders"])
        firsts = o.group_by("customer_id").agg(
            pl.col("month").min().alias("cohort"), pl.col("day").min().alias("first_day")
        )
        people = firsts.join(_join_months(frames["customers"]), on="customer_id", how="left")
        active = (
            o.select("customer_id", "month")
            .unique()
            .join(people, on="customer_id")
            .with_columns((pl.col("month") - pl.col("cohort")).alias("since"))
            .group_by("cohort", "member", "since")
            .len()
        )
        repeat = (
            o.join(firsts, on="customer_id")
            .group_by("customer_id")
            .agg((pl.col("day") > pl.col("first_day")).any().alias("repeat"))
            .join(people, on="customer_id")
            .group_by("cohort", "member")
            .agg(pl.len().alias("customers"), pl.col("repeat").sum())
        )
        a, r = pl.collect_all([active, repeat])
        out = {"cells": a, "cohorts": r}
    elif case == "members":
        out = {"groups": _members_plan(frames).collect()}
    elif case == "clv":
        o = _counted(frames["orders"])
        days = o.group_by("customer_id", "day").agg(pl.col("value").sum())
        end = o.select(pl.col("day").max()).collect().item() + dt.timedelta(days=1)
        cal = end - dt.timedelta(weeks=26)
        holdout = (
            days.filter((pl.col("day") >= cal) & (pl.col("day") < end))
            .group_by("customer_id")
            .agg(pl.len().alias("holdout_x"))
        )
        calibration = _rfm(days, cal, "calibration").join(holdout, on="customer_id", how="left")
        refit = _rfm(days, end, "refit")
        c, f = pl.collect_all([calibration, refit])
        out = {"calibration": c, "refit": f}
    else:  # impact: the effect's and the comparison's aggregates in one run
        e, m = pl.collect_all([_effect_plan(frames), _members_plan(frames)])
        out = {"customer_months": e, "groups": m}
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "load_s": load,
        "figures": {name: frame.height for name, frame in out.items()},
    }


# --------------------------------------------------------------------------- processes

IMPORTS = {
    "aovlab": ["polars", "aovlab", "aovlab.loyalty", "scipy.optimize", "scipy.special"],
    "polars": ["polars"],
}


def child(contender: str, case: str, folder: Path) -> None:
    """Inside the subprocess: import, load, run the case, print one JSON line."""
    import importlib

    t0 = time.perf_counter()
    for module in IMPORTS[contender]:
        importlib.import_module(module)
    imports = time.perf_counter() - t0
    run = run_aovlab if contender == "aovlab" else run_polars
    out = run(case, folder)
    print(json.dumps({**out, "import_seconds": imports, "peak_mb": peak_mb()}), flush=True)


def one_run(contender: str, case: str, folder: Path, mem_mb: float) -> dict[str, Any]:
    argv = [
        *(["env", "OPENBLAS_NUM_THREADS=1"] if contender == BLAS1 else []),
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "aovlab" if contender == BLAS1 else contender,
        "--case",
        case,
        "--path",
        str(folder),
    ]
    out = whole_process(argv, mem_limit_mb=mem_mb, check=False)
    if out["failure"]:
        return {"failure": out["failure"], "whole_s": out["seconds"], "peak_mb": out["peak_mb"]}
    inside = json.loads(out["stdout"].strip().splitlines()[-1])
    return {**inside, "whole_s": out["seconds"], "peak_mb": out["peak_mb"]}


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Best of the runs: least in-process and least whole-process time, each on its own."""
    ok = [r for r in runs if "failure" not in r]
    if not ok:
        return runs[0]
    fastest = min(ok, key=lambda r: r["seconds"])
    return {
        **fastest,
        "whole_s": min(r["whole_s"] for r in ok),
        "peak_mb": max(r["peak_mb"] for r in ok),
        "runs_s": [round(r["seconds"], 3) for r in ok],
        "runs_whole_s": [round(r["whole_s"], 3) for r in ok],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mem-limit-mb", type=float, default=8000)
    parser.add_argument("--child")
    parser.add_argument("--case")
    parser.add_argument("--path", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.case, args.path)
        return
    folder = ensure_shop()
    cases = args.cases.split(",")
    contenders = args.contenders.split(",")
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for round_ in range(args.repeat):  # round robin: noise hits every contender alike
        for case in cases:
            for name in contenders:
                r = one_run(name, case, folder, args.mem_limit_mb)
                runs.setdefault((case, name), []).append(r)
                shown = r.get("failure") or f"{r['seconds']:.2f} s in process"
                print(
                    f"round {round_ + 1} {case} {name}: {shown}, {r['whole_s']:.2f} s whole, "
                    f"{r['peak_mb']:,.0f} MB",
                    flush=True,
                )
    results_path = CACHE / "loyalty_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for (case, name), rs in runs.items():
        results.setdefault(case, {})[name] = {
            **best(rs),
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "load_average": os.getloadavg()[0],
        }
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results, json.loads((folder / "shop.json").read_text()))
    (CACHE / "loyalty.md").write_text(table)
    print(table)
    for case in cases:
        for name in contenders:
            if name != "polars" and name in results.get(case, {}):
                print(case, name, json.dumps(results[case][name].get("figures")), flush=True)


def markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"Shop: {meta['orders']:,} orders, {meta['customers']:,} customers "
        f"(scale {meta['scale']}, seed {meta['seed']}).",
        "",
        "| case | aovlab in process s | load s | whole process s | peak MB "
        "| hand-written in process s | whole process s | peak MB | ratio in process "
        "| ratio whole process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in CASES:
        rows = results.get(case)
        if not rows:
            continue
        a, p = rows.get("aovlab", {}), rows.get("polars", {})

        def cells(r: dict[str, Any], load: bool) -> list[str]:
            if not r:
                return ["", "", "", ""][: 4 if load else 3]
            if "failure" in r:
                return [
                    f"failed: {r['failure']}",
                    *([""] if load else []),
                    f"{r['whole_s']:.1f}",
                    f"{r['peak_mb']:,.0f}",
                ]
            out = [f"{r['seconds']:.2f}"]
            if load:
                out.append(f"{r['load_s']:.2f}")
            return [*out, f"{r['whole_s']:.2f}", f"{r['peak_mb']:,.0f}"]

        ratio = ["", ""]
        if a and p and "failure" not in a and "failure" not in p:
            ratio = [f"{a['seconds'] / p['seconds']:.1f}x", f"{a['whole_s'] / p['whole_s']:.2f}x"]
        lines.append("| " + " | ".join([case, *cells(a, True), *cells(p, False), *ratio]) + " |")
        one = rows.get(BLAS1)
        if one:
            ratio = ["", ""]
            if p and "failure" not in one and "failure" not in p:
                ratio = [
                    f"{one['seconds'] / p['seconds']:.1f}x",
                    f"{one['whole_s'] / p['whole_s']:.2f}x",
                ]
            label = f"{case} (aovlab, OPENBLAS_NUM_THREADS=1)"
            lines.append(
                "| " + " | ".join([label, *cells(one, True), *cells(p, False), *ratio]) + " |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
