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
from aovlab.io.parse import check_currency, check_timezone
from aovlab.model import ShopData
from aovlab.results import cell as format_cell

NOTEBOOKS_DIR = resources.notebooks()
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
    #: Set when no month was asked for: says which month was chosen and why.
    month_note: str | None = None

    @property
    def failed(self) -> list[NotebookRun]:
        """The notebooks that did not run through."""
        return [n for n in self.notebooks if n.status != "ok"]


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
    last = shop.scan().select(nw.col("ordered_at").max()).collect().item()
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
        raise AovlabInputError(
            "is not a month",
            source="month (--month)",
            expected="a calendar month, YYYY-MM such as 2026-10",
            found=month,
        )
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
    # The orders that each move this month's AOV by 2 % or more, whether or not the
    # month's mean/median gap is unusual: one large order must not distort the insight.
    from aovlab.drivers import large_orders

    large = large_orders(shop, window.label)
    out["large_orders"] = {"headline": large.headline, "orders": large.to_list()}
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


def _run_notebook(
    path: Path,
    out: Path,
    parameters: dict[str, Any],
    timeout: int,
    folders: list[str],
    given: dict[str, Any] | None = None,
) -> NotebookRun:
    """Run one notebook into ``out``; any failure is recorded in the result, never raised.

    ``folders`` are local folders to take out of everything written (see :func:`_scrub`);
    ``given``: parameters to show in the executed notebook instead of those it ran
    with (the export's files rather than the shared copy of the shop).
    """
    import nbformat
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbconvert import HTMLExporter

    name = path.stem
    executed = out / f"{name}.ipynb"
    side = out / f".{name}.results.json"
    run = NotebookRun(name=name, status="ok", title=_title(name))
    try:
        declared = set(_declared(path))
        run.title = _title(name, nbformat.read(path, as_version=4))
    except _BrokenNotebookError as exc:
        run.status, run.error = "failed", f"{path.name} {exc}"
        return run
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
        )
    except (pm.PapermillExecutionError, CellTimeoutError, DeadKernelError) as exc:
        run.status, run.error = "failed", _scrub(_error_text(exc), folders)
    except Exception as exc:  # a broken notebook must never lose the others
        run.status, run.error = "failed", _scrub(_error_text(exc), folders)
    if side.exists():
        with contextlib.suppress(ValueError, AttributeError):  # a side file half-written
            run.headlines = json.loads(side.read_text(encoding="utf-8")).get("headlines", [])
        side.unlink()
    if not executed.exists():
        return run
    nb = nbformat.read(executed, as_version=4)
    _clean(nb)
    _scrub_parameters(nb, {k: (given or {}).get(k, v) for k, v in params.items()})
    _scrub_outputs(nb, folders)
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
    # The executed notebook keeps every output but the charts' SVG, which its page holds:
    # drawn twice, they were a third of the report folder.
    _without_svg(nb)
    nbformat.write(nb, executed)
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


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]


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


#: The key figures on the index page, in order (labels from aovlab.display).
_KEY_FIGURES = (
    "orders",
    "revenue",
    "aov",
    "median_order_value",
    "trimmed_aov",
    "upt",
    "aur",
    "margin_per_order",
    "conversion_rate",
)


def _large_orders_html(data: dict[str, Any]) -> str:
    """The month's orders that each move its AOV by 2 % or more (none: nothing shown)."""
    large = data.get("large_orders") or {}
    if not large.get("orders"):
        return ""
    return f"<p class='large'>{display.prose(large['headline'])}</p>"


def _index_html(
    client: str, data: dict[str, Any], runs: list[NotebookRun], month_note: str | None = None
) -> str:
    e = html.escape
    cur = data["currency"]
    cards = []
    for key in _KEY_FIGURES:
        label = display.label(key)
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
            lines = "".join(f"<p>{display.prose(h)}</p>" for h in run.headlines)
            items.append(f"<li>{link}{lines}</li>")
        else:
            items.append(
                f"<li class='failed'>{link} <strong>failed</strong>:<pre>{e(run.error or '')}</pre></li>"
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
.failed pre {{ white-space: pre-wrap; background: #fbf1f0; padding: 6px 8px; color: #222; }}
</style></head><body>
<h1>{e(client)}: average order value, {e(data["month"])}</h1>
<p class="sub">Net merchandise basis, {e(str(cur))}. Generated by aovlab {e(__version__)}.</p>
{f'<p class="sub">{e(month_note)}</p>' if month_note else ""}
<p><strong>{display.prose(data["headline"])}</strong></p>
{_large_orders_html(data)}
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
    passed to :func:`aovlab.load` here and, as the ``read_options`` parameter, to every
    notebook, so each reads the export the same way. Raises
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
    shop = load(**given, **read_options)
    month_note = None
    if not month:
        month = latest_complete_month(shop)
        month_note = default_month_note(month, "--month")
    locale = locale or locales.for_currency(shop.currency)
    with locales.locale(locale):  # a headline is written when it is first read
        monthly = trend(shop, month)
        data = summary(shop, month, monthly)
    data["locale"] = locale
    # Absolute: notebooks run with their own folder as working directory.
    client_folder = out_folder / slug(client)
    folder = client_folder / data["month"]
    try:
        client_folder.mkdir(parents=True, exist_ok=True)
        # Everything is written into a hidden sibling and moved into place at the end: a
        # run that dies leaves only `.<month>.partial-*`, never a half-new month folder.
        work = client_folder / f".{data['month']}.partial-{secrets.token_hex(4)}"
        work.mkdir()  # with the umask's permissions, unlike mkdtemp's 0700
    except OSError as exc:
        raise _unwritable(out_folder, exc) from None
    # The notebooks' copy of the shop: `shop` in a temporary folder, which the scrub
    # takes out of every output (an error names `shop/orders.parquet`).
    temporary = Path(tempfile.mkdtemp(prefix="aovlab-"))
    shared = temporary / "shop"
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
            runs.append(_run_notebook(book.resolve(), work, parameters, timeout, folders, shown))
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
            }
            for r in runs
        ]
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
    from aovlab.io import converted

    try:
        converted.write(shop, folder, sources=given, read_options=read_options)
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    tables: dict[str, Any] = {t: None for t in TABLES}
    tables["orders"] = str(folder)
    return {**tables, "read_options": {}}


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
