"""The monthly report: every notebook run headless, converted to offline HTML, plus an index.

``run`` loads and validates the export once (bad input fails before any notebook runs),
executes each notebook in ``notebooks/`` with papermill (``interactive=False``), converts
it to HTML without code through a template that fetches nothing from a network, and
writes ``index.html``, ``summary.json`` and ``tables.xlsx``. A notebook that fails is
named in the index and the exit status; the others still land. Nothing time-dependent
is written, so a rerun gives the same files.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw

from aovlab import __version__, fmt, metrics, periods
from aovlab.errors import AovlabInputError
from aovlab.io import load
from aovlab.model import ShopData
from aovlab.results import cell as format_cell

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TABLES = ("orders", "lines", "customers", "catalog", "traffic")
SUMMARY_FIGURES = (*metrics.KPI_FIGURES, "sessions", "conversion_rate")


@dataclass
class NotebookRun:
    """What happened to one notebook in a report run."""

    name: str
    status: str  # "ok" or "failed"
    title: str = ""
    html: str | None = None
    headlines: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class ReportOutcome:
    """Where the report went and how each notebook fared."""

    folder: Path
    index: Path
    notebooks: list[NotebookRun]

    @property
    def failed(self) -> list[NotebookRun]:
        """The notebooks that did not run through."""
        return [n for n in self.notebooks if n.status != "ok"]


# --------------------------------------------------------------------------- helpers


def slug(text: str) -> str:
    """A safe folder name for a client.

    >>> slug("Åre Outdoor AB / Sverige")
    'are-outdoor-ab-sverige'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", ascii_text).strip("-").lower()
    return cleaned or "client"


def safe_text(value: Any) -> Any:
    r"""Neutralise spreadsheet formulas in text cells (``=``, ``+``, ``-``, ``@``, tab, CR).

    >>> safe_text("=SUM(A1:A9)"), safe_text("-5"), safe_text("@cmd"), safe_text("Tent")
    ("'=SUM(A1:A9)", "'-5", "'@cmd", 'Tent')
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
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
    last = nw.from_native(shop.orders, eager_only=True)["ordered_at"].max()
    month = periods.parse_window(f"{last:%Y-%m}")
    if last.date() >= month.end - dt.timedelta(days=1):
        return month.label
    return month.previous().label


def save_results(path: str | None, *results: Any) -> None:
    """Write a notebook's headlines to a JSON side file for the report's index.

    Notebooks call this last with their ``results_path`` parameter; ``None`` (a person
    running the notebook by hand) writes nothing.
    """
    if not path:
        return
    payload = {"headlines": [r.headline for r in results]}
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
        raise AovlabInputError("is not a month", column="month", expected="YYYY-MM", found=month)
    return metrics.kpis(shop, by="month", when=periods.trailing(window, TREND_MONTHS))


def summary(shop: ShopData, month: str, monthly: metrics.KpiResult | None = None) -> dict[str, Any]:
    """The key figures of a month, the month before, and the last 13 months' trend.

    ``monthly`` is :func:`trend` of the same month when the caller has it already.
    """
    monthly = monthly or trend(shop, month)
    window = periods.parse_window(month)
    current = metrics.kpis(shop, when=month)
    out: dict[str, Any] = {
        "month": window.label,
        "currency": shop.currency,
        "basis": "net",
        "headline": current.headline,
        "kpis": _figures(current),
    }
    previous = window.previous()
    rows = {r["month"]: r for r in monthly.rows()}
    before = (
        {k: rows[previous.label].get(k) for k in SUMMARY_FIGURES}
        if previous.label in rows
        else None
    )
    out["previous"] = {"month": previous.label, "kpis": before}
    if before:
        out["change"] = {
            k: (
                round(metrics.share(out["kpis"][k] - before[k], before[k]), 6)
                if before[k]
                else None
            )
            for k in SUMMARY_FIGURES
            if out["kpis"].get(k) is not None and before.get(k) is not None
        }
    out["trend"] = [
        {k: r[k] for k in ("month", "orders", "revenue", "aov", "median_order_value")}
        for r in rows.values()
    ]
    out["notes"] = [str(n) for n in shop.notes]
    return out


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


def _run_notebook(path: Path, out: Path, parameters: dict[str, Any], timeout: int) -> NotebookRun:
    import nbformat
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbconvert import HTMLExporter

    name = path.stem
    executed = out / f"{name}.ipynb"
    side = out / f".{name}.results.json"
    declared = {p for p in pm.inspect_notebook(str(path))}
    params = {k: v for k, v in {**parameters, "results_path": str(side)}.items() if k in declared}
    run = NotebookRun(name=name, status="ok", title=_title(name, nbformat.read(path, as_version=4)))
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
        )
    except (pm.PapermillExecutionError, CellTimeoutError, DeadKernelError) as exc:
        run.status, run.error = "failed", _short_error(exc)
    except Exception as exc:  # a broken notebook must never lose the others
        run.status, run.error = "failed", _short_error(exc)
    if side.exists():
        run.headlines = json.loads(side.read_text(encoding="utf-8")).get("headlines", [])
        side.unlink()
    if not executed.exists():
        return run
    nb = nbformat.read(executed, as_version=4)
    _clean(nb)
    nbformat.write(nb, executed)
    exporter = HTMLExporter(
        template_name="aovlab_report",
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": run.title}})
    target = out / f"{name}.html"
    target.write_text(body, encoding="utf-8")
    run.html = target.name
    return run


def _title(stem: str, nb: Any = None) -> str:
    """The notebook's first heading, else a title made from its file name."""
    for cell in getattr(nb, "cells", []):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
            break
    return re.sub(r"^\d+_", "", stem).replace("_", " ").capitalize()


def _short_error(exc: BaseException) -> str:
    text = str(exc).strip()
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        text = f"{ename}: {evalue}"
    lines = [line for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:500]


# --------------------------------------------------------------------------- outputs


def _write_tables(
    shop: ShopData, month: str, target: Path, monthly: metrics.KpiResult | None = None
) -> None:
    """The month's aggregate tables as a spreadsheet (text cells formula-neutralised)."""
    import xlsxwriter

    sheets: list[tuple[str, Any]] = [("kpis by month", (monthly or trend(shop, month)).table)]
    for dim in ("channel", "device", "country"):
        if dim in shop.dimensions:
            sheets.append((f"by {dim}", metrics.kpis(shop, by=dim, when=month).table))
    workbook = xlsxwriter.Workbook(
        str(target), {"strings_to_formulas": False, "strings_to_urls": False}
    )
    workbook.set_properties({"created": dt.datetime(2000, 1, 1)})
    try:
        for name, native in sheets:
            frame = nw.from_native(native, eager_only=True)
            sheet = workbook.add_worksheet(name[:31])
            for c, column in enumerate(frame.columns):
                sheet.write_string(0, c, column)
            for r, row in enumerate(frame.iter_rows(), start=1):
                for c, value in enumerate(row):
                    if isinstance(value, str):
                        sheet.write_string(r, c, safe_text(value))
                    elif value is None or (isinstance(value, float) and value != value):
                        sheet.write_blank(r, c, None)
                    else:
                        sheet.write_number(r, c, float(value))
    finally:
        workbook.close()


_KPI_LABELS = {
    "orders": "Orders",
    "revenue": "Revenue",
    "aov": "AOV",
    "median_order_value": "Median order",
    "trimmed_aov": "Trimmed AOV",
    "upt": "Units / order",
    "aur": "Revenue / unit",
    "margin_per_order": "Margin / order",
    "conversion_rate": "Conversion",
}


def _index_html(client: str, data: dict[str, Any], runs: list[NotebookRun]) -> str:
    e = html.escape
    cur = data["currency"]
    cards = []
    for key, label in _KPI_LABELS.items():
        value = data["kpis"].get(key)
        shown = format_cell(value, metrics.KPI_FORMATS.get(key, "number"), cur)
        change = data.get("change", {}).get(key)
        delta = (
            f"<div class='delta'>{e(fmt.pct(change, signed=True))} vs {e(data['previous']['month'])}</div>"
            if change is not None
            else ""
        )
        cards.append(
            f"<div class='card'><div class='label'>{e(label)}</div><div class='value'>{e(shown)}</div>{delta}</div>"
        )
    items = []
    for run in runs:
        title = e(run.title or _title(run.name))
        link = f"<a href='{e(run.html)}'>{title}</a>" if run.html else title
        if run.status == "ok":
            lines = "".join(f"<p>{e(h)}</p>" for h in run.headlines)
            items.append(f"<li>{link}{lines}</li>")
        else:
            items.append(
                f"<li class='failed'>{link} <strong>failed</strong>: <code>{e(run.error or '')}</code></li>"
            )
    notes = "".join(f"<li>{e(n)}</li>" for n in data.get("notes", []))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(client)}: AOV report {e(data["month"])}</title>
<style>
body {{ font-family: Liberation Sans, Helvetica, Arial, sans-serif; max-width: 960px; margin: 2em auto; color: #222; padding: 0 1em; }}
h1 {{ font-size: 24px; margin-bottom: 0; }} .sub {{ color: #666; margin-top: 4px; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 1.5em 0; }}
.card {{ border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; min-width: 130px; }}
.label {{ color: #666; font-size: 12px; }} .value {{ font-size: 20px; font-weight: bold; }}
.delta {{ color: #666; font-size: 12px; }} li {{ margin-bottom: 0.8em; }} li p {{ margin: 0.2em 0; }}
.failed {{ color: #b5443b; }}
</style></head><body>
<h1>{e(client)}: average order value, {e(data["month"])}</h1>
<p class="sub">Net merchandise basis, {e(str(cur))}. Generated by aovlab {e(__version__)}.</p>
<p><strong>{e(data["headline"])}</strong></p>
<div class="cards">{"".join(cards)}</div>
<h2>Analyses</h2>
<ul>{"".join(items)}</ul>
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
    **read_options: Any,
) -> ReportOutcome:
    """Produce the report of one client and month in ``out/<client>/<month>/``.

    ``read_options`` (currency, timezone, format, sep, encoding, decimal, dayfirst) are
    passed to :func:`aovlab.load` here and, as the ``read_options`` parameter, to every
    notebook, so each reads the export the same way. Raises
    :class:`~aovlab.errors.AovlabInputError` before running any notebook when the export
    does not validate.
    """
    paths = {
        "orders": orders,
        "lines": lines,
        "customers": customers,
        "catalog": catalog,
        "traffic": traffic,
    }
    given: dict[str, Any] = {k: str(Path(v).resolve()) for k, v in paths.items() if v is not None}
    read_options = {k: v for k, v in read_options.items() if v is not None}
    shop = load(**given, **read_options)
    month = month or latest_complete_month(shop)
    monthly = trend(shop, month)
    data = summary(shop, month, monthly)
    # Absolute: notebooks run with their own folder as working directory.
    folder = Path(out).resolve() / slug(client) / data["month"]
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(notebooks) if notebooks else NOTEBOOKS_DIR
    books = sorted(source.glob("[0-9][0-9]_*.ipynb"))
    if not books:
        raise AovlabInputError(
            "no notebooks to run",
            source=str(source),
            expected="files like 01_aov_drivers.ipynb",
            found="none",
        )
    parameters: dict[str, Any] = {t: given.get(t) for t in TABLES}
    # Notebooks name the report's month `month` (the primer) or `current` (the analyses).
    parameters.update(
        month=data["month"], current=data["month"], interactive=False, read_options=read_options
    )
    runs = [_run_notebook(book.resolve(), folder, parameters, timeout) for book in books]
    data["client"] = client
    data["notebooks"] = [
        {
            "name": r.name,
            "status": r.status,
            "html": r.html,
            "headlines": r.headlines,
            "error": r.error,
        }
        for r in runs
    ]
    (folder / "summary.json").write_text(
        json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    _write_tables(shop, data["month"], folder / "tables.xlsx", monthly)
    index = folder / "index.html"
    index.write_text(_index_html(client, data, runs), encoding="utf-8")
    return ReportOutcome(folder=folder, index=index, notebooks=runs)
