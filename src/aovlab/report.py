"""The monthly report: every notebook run headless, converted to offline HTML, plus an index.

``run`` loads and validates the export once (bad input fails before any notebook runs),
executes each notebook in ``notebooks/`` with papermill (``interactive=False``), converts
it to HTML without code through a template that fetches nothing from a network, and
writes ``index.html``, ``summary.json`` and ``tables.xlsx``. A notebook that fails is
named in the index and the exit status; the others still land. Nothing time-dependent
is written, so a rerun gives the same files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw

from aovlab import __version__, display, fmt, locales, metrics, periods, resources
from aovlab.errors import AovlabInputError
from aovlab.io import load
from aovlab.io.canonical import shop_file
from aovlab.io.parse import check_currency, check_timezone
from aovlab.model import ShopData, collected
from aovlab.results import cell as format_cell

NOTEBOOKS_DIR = resources.notebooks()
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TABLES = ("orders", "lines", "customers", "catalog", "traffic")
SUMMARY_FIGURES = (*metrics.KPI_FIGURES, "sessions", "conversion_rate")


@dataclass
class NotebookRun:
    """What happened to one notebook in a report run.

    ``status`` is "ok", "failed" (``error`` says why) or "skipped": the data lacks what
    the notebook needs (``reason`` says what; its page says so and no kernel ran).
    ``findings`` are its results' :class:`aovlab.findings.Finding` as plain dicts.
    """

    name: str
    status: str
    title: str = ""
    html: str | None = None
    headlines: list[str] = field(default_factory=list)
    error: str | None = None
    reason: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status_line(self) -> str:
        """The status in one line: "ok", "skipped: needs ..." or "FAILED: <first line>".

        >>> NotebookRun("04_bundle_margin", "skipped", reason="needs order lines").status_line
        'skipped: needs order lines'
        """
        if self.status == "skipped":
            return f"skipped: {self.reason}"
        if self.status == "failed":
            return f"FAILED: {first_line(self.error or '')}"
        return self.status


@dataclass
class ReportOutcome:
    """Where the report went and how each notebook fared."""

    folder: Path
    index: Path
    notebooks: list[NotebookRun]
    #: Set when no month was asked for: says which month was chosen and why.
    month_note: str | None = None

    @property
    def failed(self) -> list[NotebookRun]:
        """The notebooks that failed (a skipped notebook is not a failure)."""
        return [n for n in self.notebooks if n.status == "failed"]

    @property
    def skipped(self) -> list[NotebookRun]:
        """The notebooks skipped because the data lacks what they need."""
        return [n for n in self.notebooks if n.status == "skipped"]


# --------------------------------------------------------------------------- helpers


#: Longest folder name a slug gives, in UTF-8 bytes (file systems allow 255).
SLUG_BYTES = 100


def slug(text: str) -> str:
    """A safe, readable folder name for a client, distinct for distinct names.

    Letters and digits of any script are kept (NFKC-normalised, lower case); everything
    else becomes ``-``. So two names share a slug only when they differ in case,
    punctuation or white space. A name with no letter or digit gets a short hash of
    itself, and a very long one is cut and marked with a hash of the whole name.

    >>> slug("Åre Outdoor AB / Sverige")
    'åre-outdoor-ab-sverige'
    >>> slug("Магазин Один"), slug("東京ストア"), slug("Ελληνικό")
    ('магазин-один', '東京ストア', 'ελληνικό')
    >>> slug("???")
    'client-a03b221c'
    """
    norm = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(c if unicodedata.category(c)[0] in "LNM" else "-" for c in norm)
    cleaned = re.sub(r"-+", "-", kept).strip("-")
    digest = hashlib.sha256(norm.encode("utf-8")).hexdigest()[:8]
    if not cleaned:
        return f"client-{digest}"
    if len(cleaned.encode("utf-8")) > SLUG_BYTES:
        cut = cleaned.encode("utf-8")[: SLUG_BYTES - 9].decode("utf-8", "ignore").strip("-")
        return f"{cut}-{digest}"
    return cleaned


#: Characters that make a spreadsheet read a text cell as a formula.
_FORMULA_START = ("=", "+", "-", "@")


def safe_text(value: Any) -> Any:
    r"""Neutralise spreadsheet formulas in text cells.

    A text whose first character is a tab or CR, or whose first character that is not
    white space (after NFKC normalisation, so a non-breaking space or a full-width
    ``＝`` counts) is ``=``, ``+``, ``-`` or ``@``, gets a leading apostrophe.

    >>> safe_text("=SUM(A1:A9)"), safe_text("-5"), safe_text("@cmd"), safe_text("Tent")
    ("'=SUM(A1:A9)", "'-5", "'@cmd", 'Tent')
    >>> safe_text(" =1+1"), safe_text("\u00a0+1"), safe_text("＝1"), safe_text("\n@x")
    ("' =1+1", "'\xa0+1", "'＝1", "'\n@x")
    """
    if not isinstance(value, str):
        return value
    if value[:1] in ("\t", "\r"):
        return "'" + value
    first = unicodedata.normalize("NFKC", value).lstrip()[:1]
    if first in _FORMULA_START:
        return "'" + value
    return value


def latest_complete_month(shop: ShopData) -> str:
    """The last calendar month the data covers to its final day.

    Examples
    --------
    >>> import aovlab
    >>> latest_complete_month(aovlab.sample.load())
    '2026-10'
    """
    last = shop.scan().select(nw.col("ordered_at").max()).pipe(collected).item()
    month = periods.parse_window(f"{last:%Y-%m}")
    if last.date() >= month.end - dt.timedelta(days=1):
        return month.label
    return month.previous().label


def save_results(path: str | None, *results: Any) -> None:
    """Write a notebook's headlines and findings to a JSON side file for the report's index.

    Notebooks call this last with their ``results_path`` parameter; ``None`` (a person
    running the notebook by hand) writes nothing. Each result gives its headline and its
    :func:`aovlab.findings.of` (a sentence and, for a priced decision, its margin effect
    per month); an analysis the data could not answer gives no finding.
    """
    if not path:
        return
    from aovlab import findings

    found = [f.to_dict() for f in map(findings.of, results) if f is not None]
    payload = {"headlines": [r.headline for r in results], "findings": found}
    Path(path).write_text(
        json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _figures(result: metrics.KpiResult) -> dict[str, Any]:
    row = result.rows()[0]
    return {k: row.get(k) for k in SUMMARY_FIGURES}


TREND_MONTHS = 13


def trend(shop: ShopData, month: str) -> metrics.KpiResult:
    """KPIs by month for the report's month and the 12 months before it (one aggregation)."""
    window = periods.parse_window(month)
    if window.grain != "month":
        raise AovlabInputError(
            "is not a month",
            source="month (--month)",
            expected="a calendar month, YYYY-MM such as 2026-10",
            found=month,
        )
    return metrics.kpis(shop, by="month", when=periods.trailing(window, TREND_MONTHS))


@dataclass(frozen=True)
class Stored:
    """Figures of earlier months that earlier reports wrote, and what was noted reading them."""

    months: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def stored_figures(client_folder: Path, month: str, currency: str | None) -> Stored:
    """The figures the report of the month before wrote: its month and its 13-month trend.

    Read from ``<client folder>/<month before>/summary.json`` when that report exists, so
    a monthly run whose export no longer covers the earlier months still compares with
    them. A file that cannot be read, or in another currency, is not used (and noted).
    """
    previous = periods.parse_window(month).previous().label
    path = client_folder / previous / "summary.json"
    if not path.is_file():
        return Stored()
    where = f"{previous}/summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = [*data.get("trend", []), {"month": data["month"], **data["kpis"]}]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return Stored(
            notes=(
                f"the report of {where} could not be read ({type(exc).__name__}): earlier "
                "months come from the data only",
            )
        )
    if data.get("currency") != currency or data.get("basis", "net") != "net":
        return Stored(
            notes=(
                f"the report of {where} is in {data.get('currency')} on a "
                f"{data.get('basis')} basis, not {currency} net: not used",
            )
        )
    months = {
        row["month"]: {k: _number(row.get(k)) for k in SUMMARY_FIGURES}
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("month"), str)
    }
    return Stored(months=months)


def year_before(month: str) -> str:
    """The same month a year earlier.

    >>> year_before("2026-10")
    '2025-10'
    """
    window = periods.parse_window(month)
    return f"{window.start.year - 1:04d}-{window.start.month:02d}"


def _changes(now: dict[str, Any], then: dict[str, Any]) -> dict[str, float | None]:
    """Each figure's relative change (None where the earlier one is zero)."""
    return {
        k: (round(metrics.share(now[k] - then[k], then[k]), 6) if then[k] else None)
        for k in SUMMARY_FIGURES
        if now.get(k) is not None and then.get(k) is not None
    }


def summary(
    shop: ShopData,
    month: str,
    monthly: metrics.KpiResult | None = None,
    stored: Stored | None = None,
) -> dict[str, Any]:
    """The key figures of a month, against the month before and the same month last year.

    ``monthly`` is :func:`trend` of the same month when the caller has it already;
    ``stored`` the figures of earlier reports (:func:`stored_figures`).

    Which source gives an earlier month's figures: the data, when it covers the whole
    month (its first order is on or before the month's first day); else the earlier
    report's summary.json; else none (the month is not compared, and a note says why).
    So a backfill over one long export and a run each month on that month's export give
    the same figures, and a month the export covers only in part never counts as whole.
    The trend holds the 13 months up to ``month`` that have figures.
    """
    monthly = monthly or trend(shop, month)
    stored = stored or Stored()
    window = periods.parse_window(month)
    current = metrics.kpis(shop, when=month)
    out: dict[str, Any] = {
        "month": window.label,
        "currency": shop.currency,
        "basis": "net",
        "headline": current.headline,
        "kpis": _figures(current),
    }
    first = shop.scan().select(nw.col("ordered_at").min()).pipe(collected).item()
    rows = {r["month"]: r for r in monthly.rows()}
    months: dict[str, dict[str, Any]] = {}
    for label in _month_labels(window):
        if label == window.label:
            months[label] = out["kpis"]
        elif label in rows and _covers(first, label):
            months[label] = {k: rows[label].get(k) for k in SUMMARY_FIGURES}
        elif label in stored.months:
            months[label] = stored.months[label]
    notes = [str(n) for n in shop.notes] + list(stored.notes)
    for key, label in (("previous", window.previous().label), ("year_ago", year_before(month))):
        figures = months.get(label)
        out[key] = {"month": label, "kpis": figures}
        if figures:
            out["change" if key == "previous" else "year_change"] = _changes(out["kpis"], figures)
        elif first is not None and not _covers(first, label):
            notes.append(
                f"{label} is not compared: the data begins on {first:%Y-%m-%d} and no earlier "
                "report in this client's folder has its figures"
            )
    out["trend"] = [{"month": m, **figures} for m, figures in months.items()]
    # The orders that each move this month's AOV by 2 % or more, whether or not the
    # month's mean/median gap is unusual: one large order must not distort the insight.
    from aovlab.drivers import large_orders

    large = large_orders(shop, window.label)
    out["large_orders"] = {"headline": large.headline, "orders": large.to_list()}
    out["notes"] = notes
    return out


def _covers(first: Any, label: str) -> bool:
    """Whether data whose first order is at ``first`` covers the whole month ``label``.

    >>> _covers(dt.datetime(2026, 9, 1, 0, 5), "2026-09"), _covers(dt.datetime(2026, 9, 2), "2026-09")
    (True, False)
    """
    return first is not None and first.date() <= periods.parse_window(label).start


def _month_labels(window: periods.Window) -> list[str]:
    """The labels of the trend's months, oldest first, ending with ``window``.

    >>> _month_labels(periods.parse_window("2026-02"))[:2], len(_month_labels(periods.parse_window("2026-02")))
    (['2025-02', '2025-03'], 13)
    """
    labels = [window]
    while len(labels) < TREND_MONTHS:
        labels.insert(0, labels[0].previous())
    return [w.label for w in labels]


def top_findings(runs: list[NotebookRun], n: int = 3) -> list[dict[str, Any]]:
    """The ``n`` most important findings across the notebooks, each with its page.

    Ranked by :func:`aovlab.findings.top`: by the size of their margin effect per month,
    those without one after.
    """
    from aovlab import findings

    pairs = [
        (run, findings.Finding(f["text"], _number(f.get("margin_per_month"))))
        for run in runs
        if run.status == "ok"
        for f in run.findings
        if isinstance(f.get("text"), str)
    ]
    return [
        {
            "text": found.text,
            "margin_per_month": found.margin_per_month,
            "notebook": run.name,
            "html": run.html,
        }
        for run, found in findings.top(pairs, n)
    ]


# --------------------------------------------------------------------------- notebooks


def _clean(nb: Any) -> None:
    """Drop run-time metadata (timestamps, durations, paths) so reruns are identical."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"  # papermill draws a random id


#: The parameters that tell a notebook which month to analyse (one of them is needed).
MONTH_PARAMETERS = ("month", "current")


class _BrokenNotebookError(Exception):
    """A notebook file that cannot be read or inspected (reported, not raised)."""


def _declared(path: Path) -> list[str]:
    """The parameters a notebook declares; _BrokenNotebookError when the file is not one."""
    import nbformat
    import papermill as pm

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # NotJSONError, validation errors, OSError, ...
        raise _BrokenNotebookError(f"cannot be read as a notebook: {_first_line(exc)}") from None
    if not nb.metadata.get("kernelspec", {}).get("name"):
        raise _BrokenNotebookError(
            "has no kernelspec in its metadata (open it in JupyterLab, choose the Python 3 "
            "kernel and save it)"
        )
    try:
        return list(pm.inspect_notebook(str(path)))
    except Exception as exc:
        raise _BrokenNotebookError(f"its parameters cannot be read: {_first_line(exc)}") from None


def _scrub_parameters(nb: Any, params: dict[str, Any]) -> None:
    """Rewrite papermill's injected parameters with file names instead of full paths.

    The executed notebook is part of the report: no folder of the consultant's machine
    may be in it. ``params`` are the parameters as the consultant gave them (the
    export's files and read options), not the shared copy the notebook read.
    """
    from papermill.translators import translate_parameters

    shown = {k: Path(v).name if k in _PATH_PARAMETERS and v else v for k, v in params.items()}
    # A client's salt (``aovlab report --config``) keys its customer ids: never written.
    options = shown.get("read_options")
    if isinstance(options, dict) and "salt" in options:
        shown["read_options"] = {**options, "salt": "(the client's salt: not kept)"}
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = translate_parameters("python3", "python", shown, "Parameters")


_PATH_PARAMETERS = frozenset(
    {*("orders", "lines", "customers", "catalog", "traffic"), "results_path"}
)


def _scrub(text: str, folders: list[str]) -> str:
    """Take local folders out of a text (``/a/b/orders.csv`` -> ``orders.csv``).

    >>> _scrub("read /a/b/orders.csv in /a/b, not /a/bc", ["/a/b"])
    'read orders.csv in ., not /a/bc'
    """
    for folder in folders:
        text = re.sub(
            re.escape(folder) + r"(?:/|(?![\w.-]))",
            lambda m: "" if m[0].endswith("/") else ".",
            text,
        )
    return text


def _scrub_outputs(nb: Any, folders: list[str]) -> None:
    """Local folders out of every cell output (notes, error messages, tracebacks)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _scrub(output["text"], folders)
            if "evalue" in output:
                output["evalue"] = _scrub(output["evalue"], folders)
                output["traceback"] = [_scrub(t, folders) for t in output.get("traceback", [])]
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and mime.startswith(("text/", "image/svg")):
                    output["data"][mime] = _scrub(value, folders)


def _kernel_transport() -> dict[str, Any]:
    """Kernels on local IPC sockets where the system has them (not Windows).

    Over TCP without keys, ipykernel 7 warns on every start that its traffic could be
    read by anyone on the machine: six warnings in a report's output, and true. IPC
    sockets are files only this user can open.
    """
    if os.name == "nt":
        return {}
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(transport="ipc", **kwargs)
            # The sockets in the user's runtime folder, not the notebooks' (maybe
            # read-only) working folder; a short name: a socket path has ~100 bytes.
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            self.ip = str(runtime / f"aovlab-{secrets.token_hex(6)}-ipc")

    return {"kernel_manager_class": IpcKernelManager}


def _run_notebook(
    path: Path,
    out: Path,
    parameters: dict[str, Any],
    timeout: int,
    folders: list[str],
    shop: ShopData | None = None,
    shown: dict[str, Any] | None = None,
) -> NotebookRun:
    """Run one notebook into ``out``; any failure is recorded in the result, never raised.

    ``folders`` are local folders to take out of everything written (see :func:`_scrub`).
    With ``shop``, a notebook whose declared needs (:func:`needs`) the data lacks is not
    run: it gets a page saying what it needs, and the status "skipped". ``shown``:
    parameters to show in the executed notebook instead of those it ran with (the
    export's files rather than the shared copy of the shop).
    """
    try:
        return _run_one(path, out, parameters, timeout, folders, shop, shown)
    except Exception as exc:  # writing its page or notebook failed: this one alone
        return NotebookRun(
            name=path.stem,
            status="failed",
            title=_title(path.stem),
            error=_scrub(_error_text(exc), folders),
        )


def _run_one(
    path: Path,
    out: Path,
    parameters: dict[str, Any],
    timeout: int,
    folders: list[str],
    shop: ShopData | None,
    shown: dict[str, Any] | None,
) -> NotebookRun:
    """:func:`_run_notebook`'s work; it may raise while writing the page."""
    import nbformat
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    name = path.stem
    executed = out / f"{name}.ipynb"
    side = out / f".{name}.results.json"
    run = NotebookRun(name=name, status="ok", title=_title(name))
    try:
        declared = set(_declared(path))
        source_nb = nbformat.read(path, as_version=4)
        run.title = _title(name, source_nb)
    except _BrokenNotebookError as exc:
        run.status, run.error = "failed", f"{path.name} {exc}"
        return run
    if shop is not None:
        try:
            lacking = missing(shop, needs(source_nb), parameters.get("month") or "")
        except AovlabInputError as exc:
            run.status, run.error = "failed", f"{path.name}: {exc}"
            return run
        if lacking:
            return _skip(run, source_nb, out, lacking)
    params = {k: v for k, v in {**parameters, "results_path": str(side)}.items() if k in declared}
    try:
        pm.execute_notebook(
            str(path),
            str(executed),
            parameters=params,
            kernel_name="python3",
            cwd=str(path.parent),
            execution_timeout=timeout,
            progress_bar=False,
            log_output=False,
            **_kernel_transport(),
        )
    except (pm.PapermillExecutionError, CellTimeoutError, DeadKernelError) as exc:
        run.status, run.error = "failed", _scrub(_error_text(exc), folders)
    except Exception as exc:  # a broken notebook must never lose the others
        run.status, run.error = "failed", _scrub(_error_text(exc), folders)
    if side.exists():
        with contextlib.suppress(ValueError, AttributeError):  # a side file half-written
            saved = json.loads(side.read_text(encoding="utf-8"))
            run.headlines = saved.get("headlines", [])
            run.findings = [f for f in saved.get("findings", []) if isinstance(f, dict)]
        side.unlink()
    if not executed.exists():
        return run
    nb = nbformat.read(executed, as_version=4)
    _clean(nb)
    _scrub_parameters(nb, {k: (shown or {}).get(k, v) for k, v in params.items()})
    _scrub_outputs(nb, folders)
    nbformat.write(nb, executed)
    run.html = _write_page(nb, out / f"{name}.html", run.title)
    # The executed notebook keeps every output but the charts' SVG, which its page holds:
    # drawn twice, they were a third of the report folder.
    _without_svg(nb)
    nbformat.write(nb, executed)
    return run


def _write_page(nb: Any, target: Path, title: str) -> str:
    """A notebook as an HTML page without code, through the report's own template."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="aovlab_report",
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    target.write_text(body, encoding="utf-8")
    return target.name


# --------------------------------------------------------------------------- needs

#: What a notebook may declare it needs (its metadata ``{"aovlab": {"needs": [...]}}``,
#: written by tools/build_notebooks.py), and where the data gets it.
NEEDS = {
    "lines": "order lines",
    "customer_ids": "customer ids on the orders",
    "previous_month": "the whole month before the report's month",
}


def needs(nb: Any) -> list[str]:
    """What a notebook declares it needs from the data (none: it runs on any export).

    >>> import nbformat
    >>> needs(nbformat.read(NOTEBOOKS_DIR / "04_bundle_margin.ipynb", as_version=4))
    ['lines']
    """
    declared = nb.metadata.get("aovlab", {}).get("needs", [])
    return [str(n) for n in declared] if isinstance(declared, list) else [str(declared)]


def missing(shop: ShopData, wanted: list[str], month: str) -> list[str]:
    """What of ``wanted`` the shop lacks for the report's ``month``, each in words.

    Empty when it has everything. An unknown need raises
    :class:`~aovlab.errors.AovlabInputError` (a notebook asking for what no export has).

    Examples
    --------
    >>> import aovlab, polars as pl
    >>> orders = pl.DataFrame({"order_id": ["1", "2"], "total": [10.0, 20.0],
    ...                        "ordered_at": ["2026-09-30 23:10", "2026-10-02 10:00"]})
    >>> shop = aovlab.ShopData.from_frames(orders, currency="EUR")
    >>> for reason in missing(shop, ["lines", "customer_ids", "previous_month"], "2026-10"):
    ...     print(reason)
    order lines: the data has none (give a lines file, --lines; Shopify and WooCommerce exports carry them)
    customer ids on the orders: the data has none (a customer_id column; a Shopify export's Email)
    the whole of 2026-09 to compare 2026-10 with: the data begins on 2026-09-30
    >>> missing(aovlab.sample.load(), ["lines", "customer_ids", "previous_month"], "2026-10")
    []
    """
    unknown = [w for w in wanted if w not in NEEDS]
    if unknown:
        raise AovlabInputError(
            "declares a need no export can meet",
            source="notebook metadata aovlab.needs",
            expected="some of " + ", ".join(NEEDS),
            found=", ".join(unknown),
        )
    reasons = []
    if "lines" in wanted and (
        shop.lines is None or not shop.scan("lines").select(nw.len()).pipe(collected).item()
    ):
        reasons.append(
            "order lines: the data has none (give a lines file, --lines; Shopify and "
            "WooCommerce exports carry them)"
        )
    if "customer_ids" in wanted:
        has_ids = "customer_id" in shop.columns("orders") and bool(
            shop.scan().select(nw.col("customer_id").count()).pipe(collected).item()
        )
        if not has_ids:
            reasons.append(
                "customer ids on the orders: the data has none (a customer_id column; a "
                "Shopify export's Email)"
            )
    if "previous_month" in wanted and month:
        before = periods.parse_window(month).previous()
        first = shop.scan().select(nw.col("ordered_at").min()).pipe(collected).item()
        if not _covers(first, before.label):
            begins = f"begins on {first:%Y-%m-%d}" if first is not None else "has no orders"
            reasons.append(
                f"the whole of {before.label} to compare {month} with: the data {begins}"
            )
    return reasons


def _skip(run: NotebookRun, nb: Any, out: Path, lacking: list[str]) -> NotebookRun:
    """A skipped notebook's page: its introduction, then what it needs and lacks."""
    from nbformat.v4 import new_markdown_cell, new_notebook

    intro = [c for c in nb.cells if c.cell_type == "markdown"][:1]
    reasons = "\n".join(f"- {r}" for r in lacking)
    page = new_notebook(
        cells=[
            *intro,
            new_markdown_cell(
                "## Skipped this month\n\nThis analysis did not run: the data lacks what it "
                f"needs.\n\n{reasons}\n\nGive the report these and the page fills in."
            ),
        ]
    )
    page.metadata = nb.metadata
    run.status = "skipped"
    run.reason = "needs " + "; ".join(lacking)
    run.html = _write_page(page, out / f"{run.name}.html", run.title)
    return run


def _without_svg(nb: Any) -> None:
    """Drop the SVG drawing of every chart output (its text and data stay)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and "image/svg+xml" in data:
                del data["image/svg+xml"]
                data.setdefault("text/plain", "(chart: see the HTML page)")


def _title(stem: str, nb: Any = None) -> str:
    """The notebook's first heading, else a title made from its file name."""
    for cell in getattr(nb, "cells", []):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
            break
    return re.sub(r"^\d+_", "", stem).replace("_", " ").capitalize()


#: How much of a notebook's error the index shows.
ERROR_CHARS = 2000


def _error_text(exc: BaseException) -> str:
    """The whole error of a failed notebook: its type and full message (capped).

    For an error raised in a cell (papermill's ``ename``/``evalue``) that is the cell's
    exception, e.g. an AovlabInputError with its expected/found lines.
    """
    ename = getattr(exc, "ename", None)
    if ename:
        text = f"{ename}: {getattr(exc, 'evalue', '')}".rstrip()
    else:
        message = str(exc).strip()
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # ANSI colours
    if len(text) > ERROR_CHARS:
        text = text[: ERROR_CHARS - 1] + "…"
    return text


def first_line(text: str, limit: int = 300) -> str:
    r"""The first line of an error that says something, cut to ``limit`` characters.

    >>> first_line("\nAovlabInputError: orders.csv (orders): file not found\n  expected: ...")
    'AovlabInputError: orders.csv (orders): file not found'
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else "failed"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _first_line(exc: BaseException) -> str:
    return first_line(str(exc)) if str(exc).strip() else type(exc).__name__


# --------------------------------------------------------------------------- outputs


def _write_tables(
    shop: ShopData, month: str, target: Path, monthly: metrics.KpiResult | None = None
) -> None:
    """The month's aggregate tables as a spreadsheet (text cells formula-neutralised)."""
    import xlsxwriter

    from aovlab.dimensions import available

    sheets: list[tuple[str, Any]] = [("KPIs by month", (monthly or trend(shop, month)).table)]
    for dim in available(shop)[:MAX_SHEETS]:  # whatever the client's export splits by
        table = metrics.kpis(shop, by=dim, when=month).table
        sheets.append((f"By {display.label(dim).lower()}", table))
    workbook = xlsxwriter.Workbook(
        str(target), {"strings_to_formulas": False, "strings_to_urls": False}
    )
    workbook.set_properties({"created": dt.datetime(2000, 1, 1)})
    cut: list[tuple[str, str, int]] = []  # sheet, cell, length before the cut
    # Cells keep their numbers; each kind of figure is shown as the report shows it.
    number_formats = {
        kind: workbook.add_format({"num_format": code})
        for kind, code in (
            ("money", "#,##0.00"),
            ("change", "+#,##0.00;-#,##0.00;0.00"),
            ("share", "0.0%"),
            ("count", "#,##0"),
            ("number", "0.00"),
            ("quantity", "#,##0.##"),
        )
    }
    try:
        for name, native in sheets:
            frame = nw.from_native(native, eager_only=True)
            sheet = workbook.add_worksheet(name[:31])
            for c, column in enumerate(frame.columns):
                header = display.label(str(column))
                sheet.write_string(0, c, _fit(safe_text(header), name, 0, c, cut))
            for r, row in enumerate(frame.iter_rows(), start=1):
                for c, value in enumerate(row):
                    if isinstance(value, str):
                        sheet.write_string(r, c, _fit(safe_text(value), name, r, c, cut))
                    elif value is None or (isinstance(value, float) and value != value):
                        sheet.write_blank(r, c, None)
                    else:
                        kind = metrics.KPI_FORMATS.get(frame.columns[c])
                        # 14 significant digits (cents up to a trillion): what an
                        # engine's parallel sums agree on run after run (their last bits
                        # depend on the order of addition).
                        number = float(f"{float(value):.14g}")
                        sheet.write_number(r, c, number, number_formats.get(kind or ""))
        if cut:
            notes = workbook.add_worksheet("notes")
            notes.write_string(0, 0, "sheet")
            notes.write_string(0, 1, "cell")
            notes.write_string(0, 2, "note")
            for r, (name, ref, length) in enumerate(cut, start=1):
                notes.write_string(r, 0, name[:31])
                notes.write_string(r, 1, ref)
                notes.write_string(
                    r,
                    2,
                    f"text of {length:,} characters cut to {EXCEL_CELL_CHARS:,} "
                    "(Excel's limit); it ends in …",
                )
    finally:
        workbook.close()


#: At most this many dimensions get a sheet of their own in tables.xlsx.
MAX_SHEETS = 12
#: The most characters an Excel cell holds.
EXCEL_CELL_CHARS = 32_767


def _fit(text: str, sheet: str, row: int, col: int, cut: list[tuple[str, str, int]]) -> str:
    """Text cut to Excel's cell limit with a trailing "…", the cut recorded in ``cut``."""
    if len(text) <= EXCEL_CELL_CHARS:
        return text
    from xlsxwriter.utility import xl_rowcol_to_cell

    cut.append((sheet, xl_rowcol_to_cell(row, col), len(text)))
    return text[: EXCEL_CELL_CHARS - 1] + "…"


#: The key figures on the index page, in order (labels from aovlab.display); a figure
#: the data cannot give (margin without unit costs, conversion without traffic) is left out.
_KEY_FIGURES = (
    "orders",
    "revenue",
    "aov",
    "median_order_value",
    "upt",
    "margin_per_order",
    "conversion_rate",
)


def _large_orders_html(data: dict[str, Any]) -> str:
    """The month's orders that each move its AOV by 2 % or more (none: nothing shown)."""
    large = data.get("large_orders") or {}
    if not large.get("orders"):
        return ""
    return f"<p class='large'>{display.prose(large['headline'])}</p>"


def _figures_html(data: dict[str, Any]) -> str:
    """The key figures with their change against the month before and a year before."""
    e = html.escape
    cur = data["currency"]
    compared = [
        (key, data[key]["month"], data.get(change) or {})
        for key, change in (("previous", "change"), ("year_ago", "year_change"))
    ]
    head = "".join(f"<th>vs {e(fmt.period_name(month))}</th>" for _, month, _ in compared)
    rows = []
    for key in _KEY_FIGURES:
        value = data["kpis"].get(key)
        if value is None:
            continue
        shown = format_cell(value, metrics.KPI_FORMATS.get(key, "number"), cur)
        deltas = "".join(
            f"<td>{e(fmt.pct(changes[key], signed=True)) if changes.get(key) is not None else '–'}</td>"
            for _, _, changes in compared
        )
        rows.append(
            f"<tr><th scope='row'>{e(display.label(key))}</th><td>{e(shown)}</td>{deltas}</tr>"
        )
    return (
        f"<table class='figures'><thead><tr><th></th><th>{e(fmt.period_name(data['month']))}</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _findings_html(data: dict[str, Any], runs: list[NotebookRun]) -> str:
    """The most important findings, one sentence each, each linking to its page."""
    # The page's short name: its title up to the colon ("Loyalty impact").
    titles = {r.name: (r.title or _title(r.name)).split(":")[0] for r in runs}
    items = []
    for found in data.get("findings", []):
        page = found.get("html")
        title = html.escape(titles.get(found.get("notebook", ""), ""))
        link = f" <a href='{html.escape(page)}'>({title})</a>" if page else ""
        items.append(f"<li>{display.prose(found['text'])}{link}</li>")
    if not items:
        return ""
    return f"<h2>What matters most</h2><ol class='findings'>{''.join(items)}</ol>"


def _trend_svg(data: dict[str, Any]) -> str:
    """The 13-month AOV and median chart as inline SVG (two months or more)."""
    rows = [r for r in data.get("trend", []) if r.get("aov") is not None]
    if len(rows) < 2:
        return ""
    from altair.utils.mimebundle import spec_to_mimebundle

    from aovlab import charts

    spec = charts.monthly_aov(rows, data["currency"]).to_dict()
    svg = spec_to_mimebundle(spec, format="svg", mode="vega-lite")["image/svg+xml"]
    return f"<figure class='chart'>{svg}</figure>"


def _pages_html(runs: list[NotebookRun]) -> str:
    """Every page with its status: ok (headlines folded), skipped and why, failed and how."""
    e = html.escape
    items = []
    for run in runs:
        title = e(run.title or _title(run.name))
        link = f"<a href='{e(run.html)}'>{title}</a>" if run.html else title
        if run.status == "ok":
            lines = "".join(f"<p>{display.prose(h)}</p>" for h in run.headlines)
            fold = f"<details><summary>headlines</summary>{lines}</details>" if lines else ""
            items.append(f"<li>{link} <span class='ok'>ok</span>{fold}</li>")
        elif run.status == "skipped":
            items.append(
                f"<li class='skipped'>{link} <strong>skipped</strong>: {e(run.reason or '')}</li>"
            )
        else:
            first = first_line(run.error) if run.error else ""
            items.append(
                f"<li class='failed'>{link} <strong>failed</strong>: {e(first)}"
                f"<details><summary>the whole error</summary><pre>{e(run.error or '')}</pre>"
                "</details></li>"
            )
    return f"<ul class='pages'>{''.join(items)}</ul>"


_INDEX_CSS = """
body { font-family: Liberation Sans, Helvetica, Arial, sans-serif; max-width: 960px;
  margin: 1.5em auto; color: #222; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 24px; margin-bottom: 0; } h2 { font-size: 18px; margin: 1.2em 0 0.4em; }
.sub { color: #666; margin-top: 4px; }
table.figures { border-collapse: collapse; margin: 1em 0; }
.figures th, .figures td { padding: 4px 12px 4px 0; text-align: right; border-bottom: 1px solid #eee; }
.figures th[scope=row] { text-align: left; font-weight: normal; color: #444; }
.figures thead th { color: #666; font-weight: normal; font-size: 13px; }
.figures tbody td:nth-child(2) { font-weight: bold; }
.findings li { margin-bottom: 0.5em; } .pages li { margin-bottom: 0.5em; }
.chart { margin: 1em 0; } .chart svg { max-width: 100%; height: auto; }
.ok { color: #5a9e6f; font-size: 13px; } .skipped { color: #6b5a2e; }
.failed { color: #b5443b; } details p { margin: 0.2em 0; color: #222; }
summary { color: #666; font-size: 13px; cursor: pointer; }
.failed pre { white-space: pre-wrap; background: #fbf1f0; padding: 6px 8px; color: #222; }
@media (max-width: 600px) {
  body { margin: 0.5em auto; padding: 0 0.6em; } h1 { font-size: 20px; }
  .figures th, .figures td { padding: 3px 6px 3px 0; font-size: 13px; }
}
@media print {
  body { max-width: none; margin: 0; font-size: 11pt; }
  a { color: inherit; text-decoration: none; }
  .figures, .chart, li { break-inside: avoid; }
  summary { display: none; }
}
"""


def _index_html(
    client: str, data: dict[str, Any], runs: list[NotebookRun], month_note: str | None = None
) -> str:
    """The index: a one-screen summary of the month, then the pages and their status."""
    e = html.escape
    cur = data["currency"]
    month = fmt.period_name(data["month"])
    notes = "".join(f"<li>{e(n)}</li>" for n in data.get("notes", []))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(client)}: AOV report {e(data["month"])}</title>
<style>{_INDEX_CSS}</style></head><body>
<h1>{e(client)}: average order value, {e(month)}</h1>
<p class="sub">Net merchandise basis, {e(str(cur))}. Generated by aovlab {e(__version__)}.</p>
{f'<p class="sub">{e(month_note)}</p>' if month_note else ""}
<p><strong>{display.prose(data["headline"])}</strong></p>
{_figures_html(data)}
{_large_orders_html(data)}
{_findings_html(data, runs)}
{_trend_svg(data)}
<h2>Pages</h2>
{_pages_html(runs)}
<p>Key figures: <a href="summary.json">summary.json</a>; tables: <a href="tables.xlsx">tables.xlsx</a>.</p>
{f"<h2>Data notes</h2><ul>{notes}</ul>" if notes else ""}
</body></html>
"""


def run(
    orders: str | Path,
    *,
    month: str | None,
    client: str,
    out: str | Path,
    lines: str | Path | None = None,
    customers: str | Path | None = None,
    catalog: str | Path | None = None,
    traffic: str | Path | None = None,
    notebooks: str | Path | None = None,
    timeout: int = 600,
    locale: str | None = None,
    progress: Callable[[str], None] | None = None,
    **read_options: Any,
) -> ReportOutcome:
    """Produce the report of one client and month in ``out/<client>/<month>/``.

    ``locale`` (``de``, ``sv``, ``en-GB``, ...) is how every figure and date of the report
    is written, its pages' headlines, tables and chart axes and the index; ``None``: the
    currency's (:func:`aovlab.locales.for_currency`). Every notebook gets it as its
    ``locale`` parameter.

    ``read_options`` (currency, timezone, format, sep, encoding, decimal, dayfirst) are
    passed to :func:`aovlab.load` here; the notebooks then read the shop it validated
    (see :func:`_shared_shop`), and their executed copies show the export's files and
    these options as their parameters. With ``engine="duckdb"`` or ``"spark"`` the
    data (Parquet) stays in the engine: each notebook loads it there and collects only
    aggregates. Raises
    :class:`~aovlab.errors.AovlabInputError` before running any notebook when the export
    does not validate. ``progress``, when given, is called with each notebook's name
    after it ran (``aovlab report --config`` shows it).
    """
    out_folder = _writable_folder(Path(out))
    check_currency(read_options.get("currency"))
    check_timezone(read_options.get("timezone"))
    if locale is not None:  # refused before anything is read or run
        locale = locales.check(locale, source="locale (--locale)")
    source = Path(notebooks) if notebooks else NOTEBOOKS_DIR
    books = _notebooks(source)
    paths = {
        "orders": orders,
        "lines": lines,
        "customers": customers,
        "catalog": catalog,
        "traffic": traffic,
    }
    given: dict[str, Any] = {k: str(Path(v).resolve()) for k, v in paths.items() if v is not None}
    read_options = {k: v for k, v in read_options.items() if v is not None}
    # The load's notes are written in the report's locale: the currency's when none is
    # given (from the options or shop.json; a currency only the export's rows give is
    # known once it is read, which is then read again in its locale).
    hint = read_options.get("currency") or shop_file(given["orders"]).get("currency")
    guess = locale or locales.for_currency(hint)
    with locales.locale(guess):
        shop = load(**given, **read_options)
    if (locale or locales.for_currency(shop.currency)) != guess and shop.notes:
        with locales.locale(locale or locales.for_currency(shop.currency)):
            shop = load(**given, **read_options)
    month_note = None
    if not month:
        month = latest_complete_month(shop)
        month_note = default_month_note(month, "--month")
    locale = locale or locales.for_currency(shop.currency)
    with locales.locale(locale):  # a headline is written when it is first read
        monthly = trend(shop, month)
        stored = stored_figures(out_folder / slug(client), month, shop.currency)
        data = summary(shop, month, monthly, stored)
    data["locale"] = locale
    # Absolute: notebooks run with their own folder as working directory.
    client_folder = out_folder / slug(client)
    folder = client_folder / data["month"]
    # The notebooks' copy of the shop: `shop` in a temporary folder, which the scrub
    # takes out of every output (an error names `shop/orders.parquet`).
    try:
        temporary = Path(tempfile.mkdtemp(prefix="aovlab-"))
    except OSError as exc:
        raise _no_temporary(exc) from None
    shared = temporary / "shop"
    try:
        client_folder.mkdir(parents=True, exist_ok=True)
        # Everything is written into a hidden sibling and moved into place at the end: a
        # run that dies leaves only `.<month>.partial-*`, never a half-new month folder.
        work = client_folder / f".{data['month']}.partial-{secrets.token_hex(4)}"
        work.mkdir()  # with the umask's permissions, unlike mkdtemp's 0700
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise _unwritable(out_folder, exc) from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    local = {str(Path(v).parent) for v in given.values()}
    local |= {str(source.resolve()), str(work), str(folder), str(Path(__file__).parents[1])}
    local |= {str(temporary), str(temporary.resolve())}
    local.add(sys.prefix)  # the virtual environment, in tracebacks
    folders = sorted((f for f in local if f.strip("/")), key=len, reverse=True)
    try:
        parameters = _shared_shop(shop, shared, given, read_options)
        # Notebooks name the report's month `month` (the primer) or `current` (the analyses).
        parameters.update(
            month=data["month"], current=data["month"], interactive=False, locale=locale
        )
        shown = {**{t: given.get(t) for t in TABLES}, "read_options": read_options}
        runs = []
        for book in books:
            runs.append(
                _run_notebook(book.resolve(), work, parameters, timeout, folders, shop, shown)
            )
            if progress is not None:
                progress(book.stem)
        data["client"] = client
        data["notebooks"] = [
            {
                "name": r.name,
                "status": r.status,
                "html": r.html,
                "headlines": r.headlines,
                "error": r.error,
                "reason": r.reason,
                "findings": r.findings,
            }
            for r in runs
        ]
        data["findings"] = top_findings(runs)
        data["notes"] = [_scrub(n, folders) for n in data["notes"]]  # notes may name files
        (work / "summary.json").write_text(
            json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        _write_tables(shop, data["month"], work / "tables.xlsx", monthly)
        with locales.locale(locale):
            page = _index_html(client, data, runs, month_note)
        (work / "index.html").write_text(page, encoding="utf-8")
        _replace_folder(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return ReportOutcome(
        folder=folder, index=folder / "index.html", notebooks=runs, month_note=month_note
    )


def _shared_shop(
    shop: ShopData, folder: Path, given: dict[str, Any], read_options: dict[str, Any]
) -> dict[str, Any]:
    """Write the validated shop once, as ``aovlab convert`` does; the notebooks' table parameters.

    Every notebook then reads these Parquet files (lazily, only the columns it uses)
    instead of parsing and checking the export again: at a million orders that was
    1.4 s a notebook. The folder holds what the shop holds (customer ids already
    pseudonymised, no salt) and lives outside the report folder; ``run`` removes it.
    """
    import polars as pl

    from aovlab.io import converted

    if read_options.get("engine") not in (None, "polars"):
        # The data stays where it is: every notebook reads it through the engine.
        return {**{t: given.get(t) for t in TABLES}, "read_options": dict(read_options)}
    try:
        converted.write(shop, folder, sources=given, read_options=read_options)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _no_temporary(exc) from None
    # Each table the shop has (a platform export's lines too) is named by its file in
    # the copy, so a notebook that loads only some tables (drivers: no customers) reads
    # only those, as it would from the export.
    tables: dict[str, Any] = {
        t: str(folder / f"{t}.parquet") if getattr(shop, t) is not None else None for t in TABLES
    }
    tables["orders"] = str(folder)
    return {**tables, "read_options": {}}


def _no_temporary(exc: BaseException) -> AovlabInputError:
    """The notebooks' copy of the shop could not be written (a full or locked TMPDIR)."""
    return AovlabInputError(
        "cannot hold the notebooks' copy of the shop",
        source="the temporary folder (TMPDIR)",
        expected="a writable temporary folder with room for the shop as Parquet",
        found=(getattr(exc, "strerror", None) or str(exc).splitlines()[0])[:200],
    )


def default_month_note(month: str, option: str) -> str:
    """What to say when the month was not given: which one was taken, and why.

    >>> default_month_note("2026-10", "--month")
    'month 2026-10: the latest month the data covers completely (choose another with --month)'
    """
    return (
        f"month {month}: the latest month the data covers completely (choose another with {option})"
    )


def _notebooks(source: Path) -> list[Path]:
    """The notebooks to run, in order; refuse any that would not know the report's month.

    A notebook that cannot be read is not refused here: it is reported as failed.
    """
    books = sorted(source.glob("[0-9][0-9]_*.ipynb"))
    if not books:
        raise AovlabInputError(
            "no notebooks to run",
            source=str(source),
            expected="files like 01_aov_drivers.ipynb",
            found="none",
        )
    for book in books:
        try:
            declared = _declared(book)
        except _BrokenNotebookError:
            continue
        if not set(declared) & set(MONTH_PARAMETERS):
            raise AovlabInputError(
                "declares no month parameter, so it would analyse another month than the report",
                source=str(book),
                expected="a parameter named "
                + " or ".join(MONTH_PARAMETERS)
                + " in the cell tagged 'parameters'",
                found=", ".join(declared) or "no parameters",
            )
    return books


def _writable_folder(out: Path) -> Path:
    """The reports folder, absolute; refused when it is a file or lies under one."""
    out = out.resolve()
    for path in (out, *out.parents):
        if path.exists():
            if not path.is_dir():
                raise AovlabInputError(
                    "is a file, not a folder" if path == out else f"lies under a file ({path})",
                    source=str(out),
                    expected="a folder to write reports into (--out), or a path where one can be made",
                    found=f"{path} is a file",
                )
            break
    return out


def _unwritable(out: Path, exc: OSError) -> AovlabInputError:
    return AovlabInputError(
        "cannot be written to",
        source=str(out),
        expected="a folder where reports can be written (--out)",
        found=exc.strerror or str(exc),
    )


def _replace_folder(new: Path, final: Path) -> None:
    """Move a finished report folder into place, replacing an older one as a whole."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{new.name.rsplit('-', 1)[-1]}")
        final.rename(old)
    try:
        new.rename(final)
    except OSError:
        if old is not None and not final.exists():
            old.rename(final)  # another run got there first: keep a whole folder in place
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
