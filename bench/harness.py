"""Run each contender in a fresh subprocess: its time without imports, and its own peak memory."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would carry the parent's)."""
    status = Path("/proc/self/status").read_text()
    return (
        int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        / 1024
    )


def child(run: Callable[[Path], Any], imports: list[str], path: Path) -> None:
    """Inside the subprocess: import, then time ``run(path)``; print one JSON line."""
    t0 = time.perf_counter()
    for module in imports:
        importlib.import_module(module)
    import_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = run(path)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "import_seconds": import_seconds,
                "peak_mb": peak_mb(),
                "result": result,
            }
        )
    )


def measure(script: str, name: str, path: Path, repeat: int = 1) -> dict[str, Any]:
    """Best of ``repeat`` runs of ``script --child NAME --path PATH`` in fresh processes."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, script, "--child", name, "--path", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return min(runs, key=lambda r: r["seconds"])
