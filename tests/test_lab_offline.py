"""A person opens the drivers and the price notebooks in JupyterLab with no network.

JupyterLab runs on 127.0.0.1 in a temp copy of the notebooks (one server for the module);
for each notebook a fresh headless Chromium runs all cells with every request that would
leave loopback aborted (and a proxy that leads nowhere), checks every chart is drawn, then
moves the notebook's explorer controls (the drivers' dimension; the price change, the
threshold and the top-up share) and checks that its output and charts are drawn again. Needs Debian's /usr/bin/chromium and the playwright package (its driver
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import nbformat
import pytest

from aovlab.report import NOTEBOOKS_DIR

CHROMIUM = Path("/usr/bin/chromium")
DRIVERS = "01_aov_drivers.ipynb"
PRICING = "03_price_sensitivity.ipynb"
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
#: The charts each notebook's explorer draws for one choice of its controls.
EXPLORER_CHARTS = {DRIVERS: 1, PRICING: 2}


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
    for book in EXPLORER_CHARTS:
        shutil.copy(NOTEBOOKS_DIR / book, home / "notebooks" / book)
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


# Every chart drawn and the kernel idle, both for 1.5 s on end; or a script failed to load.
SETTLED = """([sel, n]) => {
  if (document.body.innerText.includes("Error loading script")) return true;
  const panel = window.jupyterapp.shell.currentWidget;
  const ok = panel?.sessionContext?.session?.kernel?.status === "idle"
    && document.querySelectorAll(sel).length >= n;
  if (!ok) { window.__aovlabSettled = undefined; return false; }
  window.__aovlabSettled ??= Date.now();
  return Date.now() - window.__aovlabSettled > 1500;
}"""
# The explorer's output (the last interact on the page) shows new text, and its charts.
REDRAWN = """([before, n]) => {
  const out = [...document.querySelectorAll('.widget-interact')].at(-1)
    .querySelector('.widget-output');
  return out.innerText !== before
    && out.querySelectorAll('.vega-embed svg.marks, .vega-embed canvas').length >= n;
}"""


@dataclass
class Lab:
    home: Path
    url: str
    shots: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One JupyterLab on 127.0.0.1 serving a temp copy of the notebooks."""
    tmp = tmp_path_factory.mktemp("lab")
    home = _lab_home(tmp)
    port, token = _free_port(), "aovlab-offline-test"
    server = _start_lab(tmp, home, port, token)
    try:
        yield Lab(home, f"http://127.0.0.1:{port}/lab/tree/notebooks/{{}}?token={token}", tmp)
    finally:
        _stop(server)


@contextmanager
def _offline_page(lab: Lab, book: str) -> Iterator[Any]:
    """A fresh headless Chromium on ``book`` with every non-loopback request aborted.

    Yields the page once all cells have run and every chart is drawn (the notebook's chart
    cells and its explorer's); fails if any request tried to leave loopback.
    """
    from playwright.sync_api import sync_playwright

    expected = _chart_cells(lab.home / "notebooks" / book) + EXPLORER_CHARTS[book]
    assert expected >= 5
    left_loopback: list[str] = []

    def loopback(url: str) -> bool:
        parts = urlparse(url)
        return parts.scheme in ("data", "blob") or parts.hostname == "127.0.0.1"

    def only_loopback(route: Any) -> None:
        if loopback(route.request.url):
            route.continue_()
        else:
            left_loopback.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS, timeout=60_000
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.set_default_timeout(60_000)
            page.on("request", lambda r: None if loopback(r.url) else left_loopback.append(r.url))
            page.route("**/*", only_loopback)
            page.goto(lab.url.format(book), wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
            page.wait_for_function(KERNEL_IDLE, timeout=90_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(ALL_RUN, timeout=180_000, polling=500)
            # Until every chart is drawn with the kernel idle for a while (a slider that
            # snaps its start value to its step sends it back and the explorer draws
            # again), or a chart says it could not load its script.
            page.wait_for_function(SETTLED, arg=[DRAWN, expected], timeout=60_000, polling=250)
            text = page.locator("body").inner_text()
            assert "Error loading script" not in text
            assert "JavaScript Error" not in text
            assert "Traceback" not in text
            # The chart cells draw; on start the explorer may hold (or leave outside its widget)
            # charts of a first draw (its start value snaps, so it draws twice): steps check it.
            outside = page.evaluate(
                "(sel) => [...document.querySelectorAll(sel)]"
                ".filter((c) => !c.closest('.widget-interact')).length",
                DRAWN,
            )
            assert outside >= expected - EXPLORER_CHARTS[book], outside
            drawn = page.locator(DRAWN).count()
            assert drawn >= expected, f"{drawn} charts drawn, {expected} expected"
            yield page
            assert "Error loading script" not in page.locator("body").inner_text()
        finally:
            browser.close()
    assert not left_loopback, left_loopback


def _redraw(page: Any, explorer: Any, book: str, act: Callable[[], None]) -> str:
    """Run ``act`` (a change of a control); wait until the explorer has drawn anew.

    Returns the explorer's new output text.
    """
    output = explorer.locator(".widget-output")
    before = output.inner_text()
    act()
    page.wait_for_function(REDRAWN, arg=[before, 1], timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.wait_for_function(REDRAWN, arg=[before, EXPLORER_CHARTS[book]], timeout=60_000)
    assert explorer.locator(DRAWN).count() == EXPLORER_CHARTS[book]
    return str(output.inner_text())


def _shoot(page: Any, locator: Any, path: Path) -> None:
    """A screenshot for a person to look at; it checks nothing, so it never fails a test.

    JupyterLab renders long notebooks in a window of cells: a cell scrolled far away may
    be detached while the page settles, and scrolling to it can time out.
    """
    from playwright.sync_api import Error as PlaywrightError

    try:
        locator.scroll_into_view_if_needed(timeout=5_000)
        page.screenshot(path=str(path))
    except PlaywrightError as exc:
        print(f"\nno screenshot {path.name}: {str(exc).splitlines()[0]}")
        return
    print(f"\nscreenshot: {path}")


def test_drivers_notebook_draws_without_network(lab: Lab):
    started = time.monotonic()
    with _offline_page(lab, DRIVERS) as page:
        _shoot(page, page.locator(".vega-embed").first, lab.shots / "01_charts.png")
        # Change the explorer's dimension: its output is drawn again.
        explorer = page.locator(".widget-interact").last
        explorer.scroll_into_view_if_needed()
        assert explorer.locator(DRAWN).count() == EXPLORER_CHARTS[DRIVERS]
        chart_before = explorer.locator(".vega-embed").first.text_content()
        select = explorer.locator(".widget-dropdown", has_text="dimension").locator("select")
        options = select.locator("option").all_text_contents()
        assert len(options) > 1, options
        _redraw(page, explorer, DRIVERS, lambda: select.select_option(index=1))
        assert explorer.locator(".vega-embed").first.text_content() != chart_before
        _shoot(page, explorer.locator(".vega-embed").first, lab.shots / "01_explorer.png")
    print(f"lab test, {DRIVERS}: {time.monotonic() - started:.0f} s")


def test_pricing_notebook_draws_without_network(lab: Lab):
    started = time.monotonic()
    with _offline_page(lab, PRICING) as page:
        cells = page.locator(".jp-CodeCell", has=page.locator(".vega-embed"))
        for i in range(cells.count()):
            _shoot(page, cells.nth(i), lab.shots / f"03_chart_cell_{i}.png")
        explorer = page.locator(".widget-interact").last
        explorer.scroll_into_view_if_needed()
        charts = explorer.locator(".vega-embed")
        assert charts.count() == EXPLORER_CHARTS[PRICING]
        _shoot(page, explorer, lab.shots / "03_explorer_start.png")
        # Each slider, one step to the right: the what-if or the threshold is computed anew.
        for name, chart in (("price change", 0), ("threshold", 1), ("top-up share", 1)):
            slider = explorer.locator(".widget-hslider", has_text=name)
            readout = slider.locator(".widget-readout").inner_text()
            drawn_before = charts.nth(chart).inner_html()
            before = explorer.locator(".widget-output").inner_text()

            def step(slider: Any = slider) -> None:
                slider.locator(".noUi-handle").focus()
                page.keyboard.press("ArrowRight")

            after = _redraw(page, explorer, PRICING, step)
            assert slider.locator(".widget-readout").inner_text() != readout, name
            assert after != before, name
            assert charts.nth(chart).inner_html() != drawn_before, name
            shot = lab.shots / f"03_explorer_{name.replace(' ', '_')}.png"
            _shoot(page, explorer, shot)
    print(f"lab test, {PRICING}: {time.monotonic() - started:.0f} s")
