"""Privacy on the whole report: a hostile Shopify export through every notebook.

Every personal column of the export is filled with values that carry a marker word
(names, emails, phones, billing and shipping addresses, company, notes holding an email,
a discount code that is an email); product names carry markup and spreadsheet formulas,
and so do channels and discount codes. The full report runs once (all six notebooks),
then every file it wrote is read: no marker anywhere (HTML, JSON, XLSX XML, executed
notebooks), no markup unescaped in any HTML (pages, and HTML outputs of the notebooks),
no formula in any spreadsheet cell.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path

import nbformat
import polars as pl
import pytest

import aovlab
from aovlab import report

pytestmark = pytest.mark.slow

#: Every personal value holds one of these (compared case-insensitively).
MARKERS = ("quorvath", "victim-mail", "privacygatan", "+46 70 555", "qz 9")

#: Product names that are markup or formulas, by SKU (best-sellers, so they are shown).
HOSTILE_PRODUCTS = {
    "AC-001": "<script>alert(1)</script>",
    "CA-001": "<img src=x onerror=alert(2)>",
    "FW-002": '=HYPERLINK("http://evil.test","click")',
    "BP-001": "+1+1",
    "JA-001": "@SUM(A1:A9)",
    "FW-003": "-2+3 <b>bold</b>",
    "FW-008": "<svg onload=alert(3)>",
}
MARKUP = ("<script>alert(1)</script>", "<img src=x onerror", "<svg onload", "<b>bold</b>")

#: Channels and discount codes that are formulas: they become segments and sheet rows.
FORMULA_CHANNELS = ('=HYPERLINK("http://evil.test","x")', "@SUM(A1:A2)", "+cmd|' /C calc'!A0")


def hostile_export(folder: Path) -> tuple[Path, Path]:
    """A small generated shop as a Shopify export with every personal column filled."""
    tables = aovlab.sample.generate(scale=0.2)
    names = pl.col("sku").replace_strict(HOSTILE_PRODUCTS, default=pl.col("product"))
    tables["lines"] = tables["lines"].with_columns(names.alias("product"))
    catalog = tables["catalog"].with_columns(names.alias("product"))
    rows = aovlab.sample.to_shopify(tables)
    n = pl.col("Id").cast(pl.Int64)
    head = pl.col("Financial Status").is_not_null()  # an order's first row

    def on_head(expr: pl.Expr) -> pl.Expr:
        return pl.when(head).then(expr).otherwise(pl.lit(None, pl.String))

    number = n.cast(pl.String)
    email = pl.col("Email")
    rows = rows.with_columns(
        # One address per customer, so the export still tells customers apart.
        pl.when(email.is_not_null())
        .then(email.str.replace("@example.com", ".quorvath@victim-mail.test", literal=True))
        .alias("Email"),
        pl.when(pl.col("Discount Code").is_not_null() & (n % 5 == 0))
        .then(pl.lit("vip.quorvath@victim-mail.test"))
        .when(pl.col("Discount Code").is_not_null() & (n % 7 == 0))
        .then(pl.lit("-2+3"))
        .otherwise(pl.col("Discount Code"))
        .alias("Discount Code"),
        pl.when(head & (n % 4 == 0))
        .then(pl.lit(FORMULA_CHANNELS[0]))
        .when(head & (n % 4 == 1))
        .then(pl.lit(FORMULA_CHANNELS[1]))
        .when(head & (n % 4 == 2))
        .then(pl.lit(FORMULA_CHANNELS[2]))
        .otherwise(pl.col("Source"))
        .alias("Source"),
    )
    personal = {
        "Billing Name": "Zelda Quorvath " + number,
        "Shipping Name": "Zelda Quorvath " + number,
        "Billing Street": "Privacygatan " + number + ", Quorvathby",
        "Shipping Street": "Privacygatan " + number + ", Quorvathby",
        "Billing Address1": "Privacygatan " + number,
        "Shipping Address1": "Privacygatan " + number,
        "Billing Address2": pl.lit("Lgh 1102 c/o Quorvath"),
        "Shipping Address2": pl.lit("Lgh 1102 c/o Quorvath"),
        "Billing Company": pl.lit("Quorvath Holding AB"),
        "Shipping Company": pl.lit("Quorvath Holding AB"),
        "Billing City": pl.lit("Quorvathby"),
        "Shipping City": pl.lit("Quorvathby"),
        "Billing Zip": "QZ 9" + number,
        "Shipping Zip": "QZ 9" + number,
        "Billing Province": pl.lit("Quorvathia"),
        "Shipping Province": pl.lit("Quorvathia"),
        "Billing Country": pl.lit("SE"),
        "Billing Phone": "+46 70 555 " + number,
        "Shipping Phone": "+46 70 555 " + number,
        "Phone": "+46 70 555 " + number,
        "Notes": "Ring Zelda på zq"
        + number
        + ".quorvath@victim-mail.test eller +46 70 555 "
        + number,
        "Note Attributes": "gift-message: Grattis Zelda Quorvath!",
    }
    rows = rows.with_columns(
        *(on_head(pl.lit(v) if isinstance(v, str) else v).alias(k) for k, v in personal.items())
    )
    export = folder / "orders_export.csv"
    rows.write_csv(export)
    catalog_path = folder / "catalog.csv"
    catalog.write_csv(catalog_path)
    return export, catalog_path


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    export, catalog = hostile_export(folder)
    # The export really is hostile: every marker is in it (else the test proves nothing).
    text = export.read_text(encoding="utf-8").lower()
    assert all(m in text for m in MARKERS)
    outcome = report.run(
        export,
        catalog=catalog,
        month=None,
        client="Privacy check",
        out=folder / "out",
        salt="privacy-test",
    )
    return outcome


def texts(folder: Path) -> dict[str, str]:
    """Every file of the report as text; a spreadsheet as its XML parts."""
    out: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                for part in book.namelist():
                    out[f"{path.name}:{part}"] = book.read(part).decode("utf-8")
        else:
            out[path.name] = path.read_bytes().decode("utf-8")
    return out


def test_every_notebook_ran(hostile_report):
    names = [n.name for n in hostile_report.notebooks]
    assert len(names) == 6, names
    assert not hostile_report.failed, [(n.name, n.error) for n in hostile_report.failed]


def test_no_personal_value_in_any_file(hostile_report):
    files = texts(hostile_report.folder)
    kinds = {Path(name.split(":")[0]).suffix for name in files}
    assert {".html", ".json", ".xlsx", ".ipynb"} <= kinds
    for name, text in files.items():
        lower = text.lower()
        # JSON and notebooks may escape characters: read them decoded too.
        decoded = (
            json.dumps(json.loads(text), ensure_ascii=False)
            if name.endswith((".json", ".ipynb"))
            else text
        )
        for marker in MARKERS:
            assert marker not in lower and marker not in decoded.lower(), (name, marker)
        assert "@victim" not in lower and "victim-mail" not in html.unescape(lower), name


def html_parts(folder: Path) -> dict[str, str]:
    """Every HTML text of the report: the pages and the HTML/SVG outputs of the notebooks."""
    parts = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.html")}
    for path in folder.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for c, cell in enumerate(nb.cells):
            for o, output in enumerate(cell.get("outputs", [])):
                for mime, value in output.get("data", {}).items():
                    if mime in ("text/html", "image/svg+xml", "text/markdown"):
                        parts[f"{path.name}:{c}:{o}:{mime}"] = "".join(value)
    return parts


def test_markup_is_escaped_in_every_html(hostile_report):
    parts = html_parts(hostile_report.folder)
    for name, text in parts.items():
        for bad in MARKUP:
            assert bad not in text, (name, bad)
        assert not re.search(
            r"<script(?![^>]*type=[\"']?(?:text/x-|application/(?:json|vnd)))",
            text.split("</head>", 1)[-1] if name.endswith(".html") else text,
        ), name
    pages = "".join(t for n, t in parts.items() if n.endswith(".html"))
    # The names did reach the pages, escaped (else the test proves nothing).
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages
    assert "&lt;img src=x onerror=alert(2)&gt;" in pages


def xlsx_strings(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as book:
        xml = book.read("xl/sharedStrings.xml").decode("utf-8")
        sheets = [book.read(p).decode("utf-8") for p in book.namelist() if "worksheets/" in p]
    for sheet in sheets:
        assert "<f>" not in sheet and "<f " not in sheet  # no formula cell at all
    found = re.findall(r"<t(?: [^>]*)?>(.*?)</t>", xml, flags=re.S)
    for sheet in sheets:
        found += re.findall(r"<is><t(?: [^>]*)?>(.*?)</t></is>", sheet, flags=re.S)
    return [html.unescape(s) for s in found]


def test_formulas_are_neutralised_in_every_spreadsheet_cell(hostile_report):
    books = list(hostile_report.folder.glob("*.xlsx"))
    assert books
    strings = [s for book in books for s in xlsx_strings(book)]
    for text in strings:
        assert report.safe_text(text) == text, text  # nothing a spreadsheet would run
        assert not re.match(r"\s*[=+\-@＝＋－＠]", text) or text.startswith("'"), text
    # The hostile channels did reach the spreadsheet, neutralised.
    assert "'" + FORMULA_CHANNELS[0] in strings
    assert "'" + FORMULA_CHANNELS[1] in strings
