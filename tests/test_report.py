"""The monthly report end to end: offline HTML, summary, failures isolated, reruns identical."""

import json
import re
import zipfile
from pathlib import Path

import nbformat
import polars as pl
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import aovlab
from aovlab import report

pytestmark = pytest.mark.slow
SAMPLE = aovlab.sample.DATA_DIR
CDN = re.compile(
    r"jsdelivr|unpkg|cdnjs|googleapis|<script[^>]+src=|<link[^>]+href=[\"']https?:", re.I
)


def sample_report(out: Path, **kwargs):
    return report.run(
        SAMPLE / "orders.csv",
        lines=SAMPLE / "lines.csv",
        customers=SAMPLE / "customers.csv",
        catalog=SAMPLE / "catalog.csv",
        traffic=SAMPLE / "traffic.csv",
        month=None,
        client=kwargs.pop("client", "Sample Shop"),
        out=out,
        **kwargs,
    )


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return sample_report(tmp_path_factory.mktemp("reports"))


def test_every_notebook_lands_as_offline_html(outcome):
    books = sorted(p.stem for p in report.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert [n.name for n in outcome.notebooks] == books
    assert not outcome.failed
    assert outcome.folder.parts[-2:] == ("sample-shop", "2026-10")
    for run in outcome.notebooks:
        page = (outcome.folder / run.html).read_text(encoding="utf-8")
        assert page.count('data-mime-type="image/svg+xml"') >= 2, run.name  # charts, inline
        assert not CDN.search(page), CDN.search(page)
        assert "import aovlab" not in page  # no code in the report
        assert "Traceback" not in page
    index = outcome.index.read_text(encoding="utf-8")
    assert not CDN.search(index)
    for run in outcome.notebooks:
        assert f"href='{run.html}'" in index
        assert all(h.replace("'", "&#x27;") in index for h in run.headlines)


def test_summary_has_the_key_figures(outcome, shop):
    data = json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8"))
    assert (
        data["month"] == "2026-10" and data["client"] == "Sample Shop" and data["currency"] == "EUR"
    )
    row = aovlab.metrics.kpis(shop, when="2026-10").rows()[0]
    assert {k: data["kpis"][k] for k in aovlab.metrics.KPI_FIGURES} == {
        k: row[k] for k in aovlab.metrics.KPI_FIGURES
    }
    assert data["previous"]["month"] == "2026-09"
    assert len(data["trend"]) == 13 and data["trend"][-1]["month"] == "2026-10"
    assert data["change"]["aov"] == pytest.approx(
        row["aov"] / data["previous"]["kpis"]["aov"] - 1, abs=1e-4
    )


def test_no_customer_data_in_the_report(outcome):
    for path in outcome.folder.iterdir():
        text = path.read_bytes().decode("utf-8", "ignore")
        assert not re.search(r"\bC1\d{5}\b", text), path.name  # pseudonymous ids stay out too
        for at in re.finditer("@", text):  # no email addresses (look around each @ only)
            around = text[max(0, at.start() - 64) : at.start() + 64]
            assert not re.search(r"[\w.+-]@[\w-]+\.[a-z]{2,}\b", around), (path.name, around)


def test_a_rerun_gives_the_same_files(outcome):
    before = {p.name: p.read_bytes() for p in outcome.folder.iterdir()}
    again = sample_report(outcome.folder.parents[1])
    assert again.folder == outcome.folder
    after = {p.name: p.read_bytes() for p in again.folder.iterdir()}
    assert sorted(after) == sorted(before)
    for name, content in before.items():
        assert after[name] == content, name


def test_spreadsheet_neutralises_formulas(tmp_path):
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "ordered_at": ["2026-10-01", "2026-10-02", "2026-10-03"],
            "total": [10.0, 20.0, 30.0],
            "channel": ['=HYPERLINK("http://evil")', "+cmd", "<b>web</b>"],
        }
    )
    shop = aovlab.ShopData.from_frames(orders, currency="EUR")
    target = tmp_path / "t.xlsx"
    report._write_tables(shop, "2026-10", target)
    strings = zipfile.ZipFile(target).read("xl/sharedStrings.xml").decode()
    assert "&apos;=HYPERLINK" in strings or "'=HYPERLINK" in strings
    assert "'+cmd" in strings
    assert "<f>" not in zipfile.ZipFile(target).read("xl/worksheets/sheet2.xml").decode()


def tiny_notebook(path: Path, body: str) -> None:
    params = new_code_cell(
        "orders = None\nmonth = None\ninteractive = True\nresults_path = None",
        metadata={"tags": ["parameters"]},
    )
    nb = new_notebook(cells=[new_markdown_cell("# t"), params, new_code_cell(body)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def test_a_failing_notebook_is_named_and_the_others_land(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(
        books / "01_fine.ipynb",
        "import aovlab\nshop = aovlab.load(orders=orders)\nprint(len(shop.orders))",
    )
    tiny_notebook(books / "02_broken.ipynb", "raise RuntimeError('planted failure')")
    tiny_notebook(books / "03_after.ipynb", "print('still here')")
    outcome = sample_report(
        tmp_path / "out", notebooks=books, client="<script>alert(1)</script> AB"
    )
    status = {n.name: n.status for n in outcome.notebooks}
    assert status == {"01_fine": "ok", "02_broken": "failed", "03_after": "ok"}
    assert "planted failure" in outcome.failed[0].error
    index = outcome.index.read_text(encoding="utf-8")
    assert "02_broken" not in index or "failed" in index
    assert "<script>alert(1)</script>" not in index and "&lt;script&gt;" in index
    assert (outcome.folder / "03_after.html").exists()


def test_bad_export_fails_before_any_notebook(tmp_path):
    bad = tmp_path / "orders.csv"
    bad.write_text("order_id,ordered_at,total\n1,2026-10-01,1\n1,2026-10-02,2\n")
    with pytest.raises(aovlab.AovlabInputError, match="duplicate order_id"):
        report.run(bad, month="2026-10", client="x", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_report_prints_the_index_and_exit_status(tmp_path):
    from typer.testing import CliRunner

    from aovlab.cli import app

    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(books / "01_broken.ipynb", "1/0")
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--sample",
            "--client",
            "T",
            "--out",
            str(tmp_path / "o"),
            "--notebooks",
            str(books),
        ],
    )
    assert result.exit_code == 1
    assert result.stdout.strip().endswith("index.html")
    assert "ZeroDivisionError" in result.stderr


def test_relative_out_folder_and_headlines_reach_the_index(tmp_path, monkeypatch):
    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(
        books / "01_headline.ipynb",
        "import aovlab\nres = aovlab.metrics.kpis(aovlab.load(orders=orders), when=month)\n"
        "aovlab.report.save_results(results_path, res)",
    )
    monkeypatch.chdir(tmp_path)
    outcome = sample_report(Path("relative"), notebooks=books)
    assert not outcome.failed, outcome.failed
    assert outcome.folder == tmp_path / "relative" / "sample-shop" / "2026-10"
    (run,) = outcome.notebooks
    assert run.headlines and run.headlines[0].startswith("1,590 orders in 2026-10")
    assert run.headlines[0] in outcome.index.read_text(encoding="utf-8")


def test_report_on_a_shopify_export(tmp_path):
    outcome = report.run(
        SAMPLE / aovlab.sample.SHOPIFY_FILE,
        catalog=SAMPLE / "catalog.csv",
        month="2026-10",
        client="Shopify client",
        out=tmp_path,
        salt="client-secret",
    )
    assert not outcome.failed, [n.error for n in outcome.failed]
    data = json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8"))
    canonical = aovlab.metrics.kpis(aovlab.sample.load(), when="2026-10").rows()[0]
    assert data["kpis"]["aov"] == canonical["aov"] and data["kpis"]["orders"] == canonical["orders"]
    for path in outcome.folder.iterdir():
        assert b"@example.com" not in path.read_bytes(), path.name
