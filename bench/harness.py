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


def measure(
    script: str, name: str, path: Path, repeat: int = 1, mem_limit_mb: float | None = None
) -> dict[str, Any]:
    """Best of ``repeat`` runs of ``script --child NAME --path PATH`` in fresh processes.

    Raises RuntimeError if a run fails or is killed over ``mem_limit_mb`` (see
    ``whole_process``).
    """
    runs = []
    for _ in range(repeat):
        out = whole_process(
            [sys.executable, script, "--child", name, "--path", str(path)],
            mem_limit_mb=mem_limit_mb,
        )
        runs.append(json.loads(out["stdout"].strip().splitlines()[-1]))
    return min(runs, key=lambda r: r["seconds"])


# Runs the command in a forked child of a small process and reports that child's own
# rusage. Python's subprocess starts children with vfork, and Linux then counts the
# parent's peak RSS into the child's ru_maxrss (the high-water mark of the memory the
# child had before exec): hundreds of MB from a benchmark that has generated data. This
# launcher is a bare `python -S` (about 10 MB), far below any contender's peak.
#
# With a memory limit, a watchdog thread reads the child's VmRSS every 50 ms and kills it
# once it is over the limit, before the kernel's OOM killer picks a process (maybe someone
# else's) on a shared machine. The main thread stays blocked in wait4, so the wall time is
# as exact as without the watchdog.
_LAUNCHER = """
import json, os, signal, sys, threading, time
out, limit_kb, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
over = []
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)


def watch():
    while True:
        try:
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
        except (OSError, StopIteration):
            return
        if rss > limit_kb:
            over.append(rss)
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)


if limit_kb:
    threading.Thread(target=watch, daemon=True).start()
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(out, "w") as f:
    json.dump(
        {
            "seconds": seconds,
            "maxrss_kb": usage.ru_maxrss,
            "exitcode": os.waitstatus_to_exitcode(status),
            "over_limit_kb": over[0] if over else None,
        },
        f,
    )
"""


def whole_process(
    argv: list[str],
    cwd: Path | None = None,
    mem_limit_mb: float | None = None,
    check: bool = True,
) -> dict[str, Any]:
    """Run ``argv`` as its own OS process: wall seconds, peak RSS (MB), stdout and stderr.

    Wall time is from fork to exit; the peak is the process's own ``ru_maxrss`` from
    ``os.wait4`` (per process, unlike ``RUSAGE_CHILDREN``, whose maximum over every child
    waited for so far cannot be taken apart by deltas).

    ``mem_limit_mb``: kill the process once its RSS is over this (checked every 50 ms).
    ``check``: raise if the process fails; otherwise the result says so in ``failure``
    (None when it exited 0): "out of memory (...)", "killed by signal N" or "exit N: ...".
    """
    import tempfile

    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile(suffix=".json") as usage,
    ):
        limit_kb = int(mem_limit_mb * 1024) if mem_limit_mb else 0
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, usage.name, str(limit_kb), *argv]
        code = subprocess.run(launcher, stdout=out, stderr=err, cwd=cwd).returncode
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        text = Path(usage.name).read_text()
        if code or not text:
            raise RuntimeError(f"launcher for {' '.join(argv)} exited {code}:\n{stderr[-2000:]}")
        measured = json.loads(text)
    exitcode, over = measured["exitcode"], measured["over_limit_kb"]
    failure = None
    if over is not None:
        failure = f"out of memory (killed at {over / 1024:,.0f} MB > limit {mem_limit_mb:,.0f} MB)"
    elif exitcode == -9:
        failure = "killed by signal 9 (the kernel's OOM killer?)"
    elif exitcode < 0:
        failure = f"killed by signal {-exitcode}"
    elif exitcode:
        last = stderr.strip().splitlines()[-1:] or ["no message"]
        failure = f"exit {exitcode}: {last[0][:200]}"
    if failure and check:
        raise RuntimeError(f"{' '.join(argv)}: {failure}\n{stderr[-2000:]}")
    return {
        "seconds": measured["seconds"],
        "peak_mb": measured["maxrss_kb"] / 1024,  # kilobytes on Linux
        "stdout": stdout,
        "stderr": stderr,
        "failure": failure,
    }
