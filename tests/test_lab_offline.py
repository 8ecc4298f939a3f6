"""A person opens the drivers notebook in JupyterLab with no network: every chart draws.

JupyterLab runs on 127.0.0.1 in a temp copy of the notebooks; headless Chromium runs all
cells with every request that would leave loopback aborted (and a proxy that leads
nowhere), then changes a control of the drivers explorer and checks that its charts are
drawn again. Needs Debian's /usr/bin/chromium and the playwright package (its driver
only: never `playwright install`); `make test` installs Chromium where it can.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

from aovlab.report import NOTEBOOKS_DIR

CHROMIUM = Path("/usr/bin/chromium")
BOOK = "01_aov_drivers.ipynb"
ROOT = NOTEBOOKS_DIR.parent
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--proxy-server=127.0.0.1:9",  # leads nowhere: anything not bypassed fails
    "--proxy-bypass-list=127.0.0.1",
]
#: A chart drawn by vega-embed (svg or canvas renderer).
DRAWN = ".vega-embed svg.marks, .vega-embed canvas"
#: The charts the drivers explorer draws for one choice of its controls.
EXPLORER_CHARTS = 1


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; make test does it as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[dev]')"
    if not (ROOT / "data" / "sample" / "orders.csv").exists():
        return "the sample shop is missing (make sample)"
    return None


MISSING = _missing()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]


def _chart_cells(book: Path) -> int:
    """Code cells that display a chart as their value: ``... .chart(...)`` on the last line."""
    nb = nbformat.read(book, as_version=4)
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        and re.search(r"\.chart\([^)]*\)\s*$", cell.source.strip().splitlines()[-1])
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lab_home(tmp: Path) -> Path:
    """A temp copy of the notebooks with the sample data at ../data/sample, and Lab settings."""
    home = tmp / "home"
    (home / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOKS_DIR / BOOK, home / "notebooks" / BOOK)
    (home / "data").mkdir()
    (home / "data" / "sample").symlink_to(ROOT / "data" / "sample")
    # Draw every cell, also those scrolled out of view, so the charts can be counted.
    settings = tmp / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    notices = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    notices.mkdir(parents=True)
    (notices / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    return home


def _start_lab(tmp: Path, home: Path, port: int, token: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
    }
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.open_browser=False",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={home}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = (tmp / "lab.log").open("wb")
    lab = subprocess.Popen(args, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if lab.poll() is not None:
            pytest.fail(f"JupyterLab exited: {(tmp / 'lab.log').read_text()[-2000:]}")
        try:
            url = f"http://127.0.0.1:{port}/api/status?token={token}"
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return lab
        except OSError:
            time.sleep(0.3)
    lab.terminate()
    pytest.fail("JupyterLab did not answer within 60 s")


def _stop(lab: subprocess.Popen[bytes]) -> None:
    lab.terminate()
    try:
        lab.wait(timeout=20)
    except subprocess.TimeoutExpired:
        lab.kill()
        lab.wait(timeout=10)


# The notebook's kernel is idle and every code cell has run.
ALL_RUN = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel?.sessionContext?.session?.kernel;
  if (!panel?.content || kernel?.status !== "idle") return false;
  const cells = panel.content.widgets.filter((c) => c.model.type === "code");
  return cells.length > 0 && cells.every((c) => c.model.executionCount !== null);
}"""
KERNEL_IDLE = """() => {
  const panel = window.jupyterapp?.shell?.currentWidget;
  return panel?.sessionContext?.session?.kernel?.status === "idle";
}"""


def test_charts_draw_in_jupyterlab_without_network(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    home = _lab_home(tmp_path)
    port, token = _free_port(), "aovlab-offline-test"
    expected = _chart_cells(home / "notebooks" / BOOK) + EXPLORER_CHARTS
    assert expected >= 5
    left_loopback: list[str] = []

    def only_loopback(route) -> None:
        url = urlparse(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            left_loopback.append(route.request.url)
            route.abort()

    lab = _start_lab(tmp_path, home, port, token)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS, timeout=60_000
            )
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1400})
                page.set_default_timeout(60_000)
                page.on(
                    "request",
                    lambda r: (
                        None
                        if urlparse(r.url).scheme in ("data", "blob")
                        or urlparse(r.url).hostname == "127.0.0.1"
                        else left_loopback.append(r.url)
                    ),
                )
                page.route("**/*", only_loopback)
                page.goto(
                    f"http://127.0.0.1:{port}/lab/tree/notebooks/{BOOK}?token={token}",
                    wait_until="domcontentloaded",
                )
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
                page.wait_for_function(KERNEL_IDLE, timeout=90_000)
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_function(ALL_RUN, timeout=180_000, polling=500)
                # Until every chart is drawn, or one says it could not load its script.
                page.wait_for_function(
                    f"""() => document.querySelectorAll({DRAWN!r}).length >= {expected}
                      || document.body.innerText.includes("Error loading script")""",
                    timeout=60_000,
                )
                drawn = page.locator(DRAWN).count()
                text = page.locator("body").inner_text()
                assert "Error loading script" not in text
                assert "JavaScript Error" not in text
                assert drawn == expected, f"{drawn} charts drawn, {expected} expected"
                page.locator(".vega-embed").first.scroll_into_view_if_needed()
                page.screenshot(path=str(tmp_path / "charts.png"))

                # Change the explorer's dimension: its output is drawn again.
                explorer = page.locator(".widget-interact").last
                explorer.scroll_into_view_if_needed()
                charts = explorer.locator(DRAWN)
                assert charts.count() == EXPLORER_CHARTS
                before = explorer.locator(".widget-output").inner_text()
                chart_before = explorer.locator(".vega-embed").first.text_content()
                dropdown = explorer.locator(".widget-dropdown", has_text="dimension")
                select = dropdown.locator("select")
                options = select.locator("option").all_text_contents()
                assert len(options) > 1, options
                select.select_option(index=1)
                page.wait_for_function(
                    """([before]) => {
                      const out = [...document.querySelectorAll('.widget-interact')].at(-1)
                        .querySelector('.widget-output');
                      return out.innerText !== before
                        && out.querySelectorAll('.vega-embed svg.marks, .vega-embed canvas')
                          .length > 0;
                    }""",
                    arg=[before],
                    timeout=60_000,
                )
                page.wait_for_function(KERNEL_IDLE, timeout=60_000)
                page.wait_for_function(
                    """([n, sel]) => {
                      const out = [...document.querySelectorAll('.widget-interact')].at(-1);
                      return out.querySelectorAll(sel).length >= n;
                    }""",
                    arg=[EXPLORER_CHARTS, DRAWN],
                    timeout=60_000,
                )
                assert charts.count() == EXPLORER_CHARTS
                chart_after = explorer.locator(".vega-embed").first.text_content()
                assert chart_after != chart_before
                assert "Error loading script" not in page.locator("body").inner_text()
                explorer.locator(".vega-embed").first.scroll_into_view_if_needed()
                page.screenshot(path=str(tmp_path / "explorer.png"))
                print(f"\nscreenshots: {tmp_path / 'charts.png'}, {tmp_path / 'explorer.png'}")
            finally:
                browser.close()
    finally:
        _stop(lab)
    assert not left_loopback, left_loopback
    print(f"lab test: {time.monotonic() - started:.0f} s")
