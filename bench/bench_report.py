"""The monthly report as a consultant runs it: one large client, and ten clients in one run.

```console
.venv/bin/python bench/bench_report.py                       # both cases
.venv/bin/python bench/bench_report.py --cases large --repeat 2
.venv/bin/python bench/bench_report.py --cases clients --jobs 2
```

- **large**: the sample shop generated at about 1,000,000 orders (``--large-scale``,
  every table: orders, lines, customers, catalog, traffic) as canonical CSVs in
  ``bench/.cache/report-1m/``; ``aovlab report`` over all six notebooks for one month,
  timed as a whole process (what the consultant waits for, with its peak memory; each
  notebook's kernel is a process of its own and not in that peak). Then the same run
  in process with where the time goes: the export's load, writing the notebooks' shared
  copy, and per notebook the kernel start (papermill's run minus its cells), each cell
  (the imports, the load, the analyses) and the conversion to HTML.
- **clients**: ten shops of about 100,000 orders each (``--clients``,
  ``--client-scale``, their own seeds) in ``bench/.cache/report-clients/`` and a config
  listing them; ``aovlab report --config`` with ``--jobs`` (default 2) as one process.
- Goals (issue 15): under 90 s for the large client, under 3 minutes for the ten clients
  on 2 cores.
- Writes ``bench/.cache/report_results.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from harness import whole_process

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
AOVLAB = str(Path(sys.executable).parent / "aovlab")
MONTH = "2026-10"
TABLES = ("orders", "lines", "customers", "catalog", "traffic")


def write_shop(folder: Path, scale: float, seed: int) -> dict[str, Any]:
    """The sample shop at ``scale`` as canonical CSVs (generated once, then cached)."""
    meta_file = folder / "shop.json"
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if meta.get("scale") == scale and meta.get("seed") == seed:
            return meta
    import polars as pl

    from aovlab import sample

    t0 = time.perf_counter()
    tables = sample.generate(scale=scale, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    orders = tables["orders"].with_columns(
        pl.col("ordered_at").dt.to_string("%Y-%m-%dT%H:%M:%S%:z")
    )
    for name in TABLES:
        frame = orders if name == "orders" else tables[name]
        frame.write_csv(folder / f"{name}.csv", float_precision=2, line_terminator="\n")
    meta = {
        "name": f"Bench shop {seed}",
        "currency": sample.CURRENCY,
        "timezone": sample.TIMEZONE,
        "scale": scale,
        "seed": seed,
        "orders": tables["orders"].height,
        "lines": tables["lines"].height,
        "customers": tables["customers"].height,
    }
    meta_file.write_text(json.dumps(meta, indent=2) + "\n")
    print(
        f"generated {folder.name}: {meta['orders']:,} orders in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    return meta


def tables_of(folder: Path) -> list[str]:
    return [a for t in TABLES for a in (f"--{t}", str(folder / f"{t}.csv"))]


def large_whole(folder: Path, out: Path) -> dict[str, Any]:
    argv = [AOVLAB, "report", *tables_of(folder), "--month", MONTH, "--client", "Large"]
    run = whole_process([*argv, "--out", str(out)], check=False)
    return {"seconds": run["seconds"], "peak_mb": run["peak_mb"], "failure": run["failure"]}


def large_in_process(folder: Path, out: Path) -> dict[str, Any]:
    """Run in a fresh process; returns where the time went (see ``_profile_child``)."""
    code = subprocess.run(
        [sys.executable, __file__, "--profile-child", str(folder), str(out)],
        capture_output=True,
        text=True,
    )
    if code.returncode:
        raise RuntimeError(code.stderr[-3000:])
    return json.loads(code.stdout.strip().splitlines()[-1])


def _profile_child(folder: Path, out: Path) -> None:
    """Inside a fresh process: report.run with each step timed."""
    t0 = time.perf_counter()
    import papermill
    from nbconvert import HTMLExporter

    from aovlab import report

    imports = time.perf_counter() - t0
    steps: dict[str, float] = {}
    books: list[dict[str, Any]] = []

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                steps[name] = steps.get(name, 0.0) + time.perf_counter() - t

        return wrapper

    report.load = timed("load and check the export", report.load)
    report._shared_shop = timed("write the notebooks' copy", report._shared_shop)
    execute = papermill.execute_notebook

    def execute_timed(path: str, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        nb = execute(path, *args, **kwargs)
        wall = time.perf_counter() - t
        cells = []
        for cell in nb.cells:
            duration = cell.metadata.get("papermill", {}).get("duration")
            if cell.cell_type == "code" and duration is not None:
                code = [ln for ln in cell.source.splitlines() if ln.strip() and ln[0] != "#"]
                first = code[0] if code else ""
                cells.append({"source": first[:70], "seconds": float(duration)})
        books.append({"notebook": Path(path).stem, "wall": wall, "cells": cells})
        return nb

    papermill.execute_notebook = execute_timed
    convert = HTMLExporter.from_notebook_node

    def convert_timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return convert(self, *args, **kwargs)
        finally:
            books[-1]["html"] = time.perf_counter() - t

    HTMLExporter.from_notebook_node = convert_timed  # type: ignore[method-assign]
    t0 = time.perf_counter()
    paths = {t: folder / f"{t}.csv" for t in TABLES}
    outcome = report.run(paths.pop("orders"), month=MONTH, client="Large", out=out, **paths)
    total = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "imports": imports,
                "total": total,
                "steps": steps,
                "notebooks": books,
                "status": {n.name: n.status for n in outcome.notebooks},
                "folder_bytes": sum(p.stat().st_size for p in outcome.folder.rglob("*")),
            }
        )
    )


def clients_whole(count: int, scale: float, jobs: int, out: Path) -> dict[str, Any]:
    root = CACHE / "report-clients"
    lines = []
    orders = 0
    for i in range(count):
        folder = root / f"client-{i + 1:02d}"
        meta = write_shop(folder, scale, seed=100 + i)
        orders += meta["orders"]
        lines.append(f'[[clients]]\nname = "Client {i + 1:02d}"\nmonths = "{MONTH}"')
        lines += [f'{t} = "{folder / f"{t}.csv"}"' for t in TABLES]
        lines.append("")
    config = root / "clients.toml"
    config.write_text("\n".join(lines))
    help_text = subprocess.run([AOVLAB, "report", "--help"], capture_output=True, text=True)
    if "--config" not in help_text.stdout:
        return {"failure": "aovlab report has no --config yet"}
    argv = [AOVLAB, "report", "--config", str(config), "--jobs", str(jobs), "--quiet"]
    run = whole_process([*argv, "--out", str(out)], check=False)
    return {
        "seconds": run["seconds"],
        "peak_mb": run["peak_mb"],
        "failure": run["failure"],
        "orders": orders,
        "stderr": run["stderr"][-500:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="large,clients")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--large-scale", type=float, default=33.0)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--client-scale", type=float, default=3.3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--profile-child", nargs=2, metavar=("FOLDER", "OUT"))
    args = parser.parse_args()
    if args.profile_child:
        _profile_child(Path(args.profile_child[0]), Path(args.profile_child[1]))
        return
    cases = args.cases.split(",")
    saved = CACHE / "report_results.json"
    # Each case keeps its last run (with its date and load), so cases run apart add up.
    results: dict[str, Any] = json.loads(saved.read_text()) if saved.exists() else {}
    when = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg()[0],
    }
    if "large" in cases:
        folder = CACHE / "report-1m"
        meta = write_shop(folder, args.large_scale, seed=15)
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as out:
                runs.append(large_whole(folder, Path(out)))
        best = min(runs, key=lambda r: r["seconds"])
        with tempfile.TemporaryDirectory() as out:
            profile = large_in_process(folder, Path(out))
        results["large"] = {**when, "orders": meta["orders"], "whole": best, "profile": profile}
        print(f"\nlarge client, {meta['orders']:,} orders, six notebooks (best of {args.repeat}):")
        print(
            f"  whole process {best['seconds']:.1f} s, peak {best['peak_mb']:,.0f} MB"
            + (f", FAILED: {best['failure']}" if best["failure"] else "")
        )
        print(f"  in process {profile['total']:.1f} s (+ imports {profile['imports']:.1f} s):")
        for step, seconds in profile["steps"].items():
            print(f"    {step:38s} {seconds:6.1f} s")
        for book in profile["notebooks"]:
            cells = sum(c["seconds"] for c in book["cells"])
            print(
                f"    {book['notebook']:38s} {book['wall'] + book.get('html', 0):6.1f} s:"
                f" kernel start {book['wall'] - cells:.1f}, cells {cells:.1f},"
                f" HTML {book.get('html', 0):.1f}"
            )
            for cell in sorted(book["cells"], key=lambda c: -c["seconds"])[:3]:
                print(f"      {cell['seconds']:5.1f} s  {cell['source']}")
        print(f"  status: {profile['status']}; folder {profile['folder_bytes'] / 1e6:.1f} MB")
    if "clients" in cases:
        with tempfile.TemporaryDirectory() as out:
            ran = clients_whole(args.clients, args.client_scale, args.jobs, Path(out))
        results["clients"] = {**when, "clients": args.clients, "jobs": args.jobs, **ran}
        if ran.get("failure") and "seconds" not in ran:
            print(f"\nclients: {ran['failure']}")
        else:
            print(
                f"\n{args.clients} clients, {ran['orders']:,} orders in all, --jobs {args.jobs}:"
                f" {ran['seconds']:.1f} s, peak {ran['peak_mb']:,.0f} MB"
                + (f", FAILED: {ran['failure']}" if ran["failure"] else "")
            )
    CACHE.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {saved}")


if __name__ == "__main__":
    main()
