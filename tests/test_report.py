"""The monthly report end to end: offline HTML, summary, failures isolated, reruns identical."""

import html
import json
import re
import tempfile
import zipfile
from pathlib import Path

import nbformat
import polars as pl
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import aovlab
from aovlab import display, report

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
        month=kwargs.pop("month", None),
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
        assert all(display.prose(h) in index for h in run.headlines)


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
        "import aovlab\nshop = aovlab.load(orders=orders)\nprint(len(shop.frame()))",
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


def test_notebooks_read_the_export_once_checked_and_the_copy_goes(tmp_path, monkeypatch):
    """Each notebook gets the shop the report validated, as Parquet, not the export again."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(
        books / "01_shop.ipynb",
        "import json, aovlab\nshop = aovlab.load(orders=orders)\n"
        "print(json.dumps([aovlab.io.converted.is_converted(orders), len(shop.frame()),"
        " sorted(t for t in aovlab.model.TABLES if getattr(shop, t) is not None)]))",
    )
    outcome = sample_report(tmp_path / "out", notebooks=books)
    nb = nbformat.read(outcome.folder / "01_shop.ipynb", as_version=4)
    printed = json.loads(nb.cells[-1].outputs[0]["text"])
    assert printed == [True, 29736, ["catalog", "customers", "lines", "orders", "traffic"]]
    assert list((tmp_path / "tmp").iterdir()) == []  # the shared copy is removed


def test_a_notebook_reads_the_tables_it_loads_from_the_copy(tmp_path):
    """A platform export's own lines reach a notebook that loads lines, customers do not
    reach one that does not load them."""
    books = tmp_path / "books"
    books.mkdir()
    body = (
        "import json, aovlab\nshop = aovlab.load(orders=orders, lines=lines, traffic=traffic)\n"
        "print(json.dumps([t for t in aovlab.model.TABLES if getattr(shop, t) is not None]))"
    )
    tiny_notebook(books / "01_tables.ipynb", body)
    nb = nbformat.read(books / "01_tables.ipynb", as_version=4)
    nb.cells[1].source += "\nlines = None\ntraffic = None"
    nbformat.write(nb, books / "01_tables.ipynb")
    outcome = report.run(
        SAMPLE / "shopify_orders_export.csv",
        traffic=SAMPLE / "traffic.csv",
        customers=SAMPLE / "customers.csv",
        month="2026-10",
        client="Shopify",
        out=tmp_path / "out",
        notebooks=books,
    )
    executed = nbformat.read(outcome.folder / "01_tables.ipynb", as_version=4)
    assert json.loads(executed.cells[-1].outputs[0]["text"]) == ["orders", "lines", "traffic"]


def test_the_loads_notes_are_in_the_locale_of_the_shop_json_currency(tmp_path, monkeypatch):
    """A SEK shop (its shop.json) is reported in Swedish, its notes too, read once."""
    data = copy_sample(tmp_path / "data")
    lines = pl.read_csv(data / "lines.csv").with_columns(
        pl.lit(None, dtype=pl.Float64).alias("unit_cost")
    )
    lines.write_csv(data / "lines.csv")
    (data / "shop.json").write_text('{"currency": "SEK", "timezone": "Europe/Stockholm"}')
    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(books / "01_x.ipynb", "print('x')")
    loads = []
    real_load = report.load
    monkeypatch.setattr(report, "load", lambda **kw: loads.append(kw) or real_load(**kw))
    outcome = report.run(
        data / "orders.csv",
        lines=data / "lines.csv",
        month="2026-10",
        client="C",
        out=tmp_path / "out",
        notebooks=books,
    )
    summary = json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["locale"] == "sv" and len(loads) == 1
    assert any("47\u00a0685 line(s) have no unit cost" in n for n in summary["notes"])


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
    assert display.prose(run.headlines[0]) in outcome.index.read_text(encoding="utf-8")


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


# --------------------------------------------------------------------------- robustness


def test_slugs_keep_every_script_and_never_collide():
    names = ["Магазин Один", "東京ストア", "Ελληνικό", "Магазин Два", "???", "!!!", "Sample Shop"]
    slugs = [report.slug(n) for n in names]
    assert slugs[:4] == ["магазин-один", "東京ストア", "ελληνικό", "магазин-два"]
    assert len(set(slugs)) == len(slugs)
    assert report.slug("???") == report.slug("???") and report.slug("???").startswith("client-")
    assert report.slug("Sample  Shop!") == report.slug("sample-shop") == "sample-shop"
    assert report.slug("Åre") != report.slug("Are")
    long = report.slug("Ä" * 300)
    assert len(long.encode()) <= report.SLUG_BYTES and long != report.slug("Ä" * 299)
    assert all("/" not in s and not s.startswith(".") for s in slugs)


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        " =1+1",
        "\n=1+1",
        "\t=1",
        "\r=1",
        "\u00a0=1",
        "\u3000+1",
        "＝1+1",
        "＋1",
        "－1",
        "＠SUM(A1)",
        "-5",
        "  @x",
    ],
)
def test_safe_text_neutralises_hidden_formulas(text):
    assert report.safe_text(text) == "'" + text


def test_safe_text_leaves_plain_text_and_numbers():
    assert report.safe_text("Tent = good") == "Tent = good"
    assert report.safe_text(-5.0) == -5.0 and report.safe_text(None) is None


def test_long_text_cells_are_cut_with_a_note(tmp_path):
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2"],
            "ordered_at": ["2026-10-01", "2026-10-02"],
            "total": [10.0, 20.0],
            "channel": ["x" * 40_000, " =cmd"],
        }
    )
    shop = aovlab.ShopData.from_frames(orders, currency="EUR")
    target = tmp_path / "t.xlsx"
    report._write_tables(shop, "2026-10", target)
    book = zipfile.ZipFile(target)
    strings = book.read("xl/sharedStrings.xml").decode()
    assert "x" * 32_766 + "…" in strings and "x" * 32_767 not in strings
    assert "' =cmd" in strings or "&apos; =cmd" in strings
    names = book.read("xl/workbook.xml").decode()
    assert 'name="notes"' in names
    assert "cut to 32,767" in strings and "By channel" in strings


def copy_sample(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("orders.csv", "lines.csv", "shop.json"):
        (folder / name).write_bytes((SAMPLE / name).read_bytes())
    return folder


def test_broken_notebook_files_fail_alone(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    (books / "01_corrupt.ipynb").write_text('{"cells": [', encoding="utf-8")
    tiny_notebook(books / "02_no_kernel.ipynb", "print('x')")
    nb = nbformat.read(books / "02_no_kernel.ipynb", as_version=4)
    del nb.metadata["kernelspec"]
    nbformat.write(nb, books / "02_no_kernel.ipynb")
    tiny_notebook(books / "03_after.ipynb", "print('still here')")
    outcome = sample_report(tmp_path / "out", notebooks=books)
    status = {n.name: (n.status, n.error) for n in outcome.notebooks}
    assert status["03_after"] == ("ok", None)
    assert "cannot be read as a notebook" in status["01_corrupt"][1]
    assert "no kernelspec" in status["02_no_kernel"][1]
    index = outcome.index.read_text(encoding="utf-8")
    assert "01_corrupt.ipynb cannot be read as a notebook" in index
    assert "02_no_kernel.ipynb has no kernelspec" in index
    for name in ("03_after.html", "summary.json", "tables.xlsx", "index.html"):
        assert (outcome.folder / name).exists(), name


def test_a_notebook_without_a_month_parameter_is_refused(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(books / "01_fine.ipynb", "print(month)")
    nb = nbformat.read(books / "01_fine.ipynb", as_version=4)
    nb.cells[1].source = "orders = None\nperiod = None\nresults_path = None"
    nbformat.write(nb, books / "02_no_month.ipynb")
    with pytest.raises(aovlab.AovlabInputError, match="declares no month parameter") as info:
        sample_report(tmp_path / "out", notebooks=books)
    assert "02_no_month.ipynb" in str(info.value) and "month or current" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_the_whole_error_of_a_failed_notebook_is_shown(tmp_path):
    from typer.testing import CliRunner

    from aovlab.cli import app

    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(
        books / "01_input.ipynb",
        "import aovlab\nraise aovlab.AovlabInputError('is wrong <here>', column='x', "
        "expected='a good thing', found='a bad one', hint='h' * 5000)",
    )
    result = CliRunner().invoke(
        app,
        ["report", "--sample", "--out", str(tmp_path / "o"), "--notebooks", str(books)],
    )
    assert result.exit_code == 1
    assert "01_input: FAILED: AovlabInputError: column 'x': is wrong <here>" in result.stderr
    assert "a good thing" not in result.stderr  # the CLI prints the first line
    index = Path(result.stdout.strip()).read_text(encoding="utf-8")
    shown = re.search(r"<pre>(.*?)</pre>", index, re.S)[1]
    assert "column &#x27;x&#x27;: is wrong &lt;here&gt;" in shown
    assert "expected: a good thing" in shown and "found:    a bad one" in shown
    assert len(shown) < 2_100 and shown.endswith("…")


def test_the_default_month_is_said_to_be_a_default(tmp_path):
    from typer.testing import CliRunner

    from aovlab.cli import app

    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(books / "01_fine.ipynb", "print(month)")
    note = (
        "month 2026-10: the latest month the data covers completely (choose another with --month)"
    )
    args = ["report", "--sample", "--out", str(tmp_path / "o"), "--notebooks", str(books)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert note in result.stderr
    assert note in Path(result.stdout.strip()).read_text(encoding="utf-8")
    given = CliRunner().invoke(app, [*args, "--month", "2026-09"])
    assert given.exit_code == 0 and "latest month" not in given.stderr
    assert "latest month" not in Path(given.stdout.strip()).read_text(encoding="utf-8")
    drivers = CliRunner().invoke(app, ["drivers", str(SAMPLE / "orders.csv"), "--json"])
    assert drivers.exit_code == 0
    assert note.replace("--month", "--current") in drivers.stderr
    assert json.loads(drivers.stdout)["current"]["period"] == "2026-10"
    given = CliRunner().invoke(app, ["drivers", str(SAMPLE / "orders.csv"), "--current", "2026-09"])
    assert "latest month" not in given.stderr


def test_no_local_path_in_any_report_file(tmp_path):
    data = copy_sample(tmp_path / "consultant" / "client data")
    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(books / "01_prints.ipynb", "print(orders)\nprint(results_path)")
    tiny_notebook(books / "02_fails.ipynb", "open(orders + '.missing')")
    outcome = report.run(
        data / "orders.csv",
        lines=data / "lines.csv",
        month=None,
        client="C",
        out=tmp_path / "o",
        notebooks=books,
    )
    assert [n.status for n in outcome.notebooks] == ["ok", "failed"]
    nb = nbformat.read(outcome.folder / "01_prints.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    # The parameters shown are the export's files; the notebook read the report's
    # shared copy of the checked shop, whose temporary folder is named nowhere.
    assert 'orders = "orders.csv"' in injected.source
    assert nb.cells[-1].outputs[0]["text"] == "shop\n.01_prints.results.json\n"
    for path in outcome.folder.iterdir():
        text = path.read_bytes().decode("utf-8", "ignore")
        for local in (str(data), str(tmp_path), str(books), tempfile.gettempdir() + "/"):
            assert local not in text, (path.name, local)
    assert "No such file or directory: 'shop.missing'" in outcome.notebooks[1].error
    assert str(tmp_path) not in outcome.notebooks[1].error
    assert tempfile.gettempdir() + "/" not in outcome.notebooks[1].error


def test_a_run_that_dies_leaves_the_old_report_or_none(tmp_path, monkeypatch):
    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(books / "01_a.ipynb", "print(month)")
    tiny_notebook(books / "02_b.ipynb", "print('b')")
    out = tmp_path / "out"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # after the notebooks wrote their files

    with monkeypatch.context() as patch:
        patch.setattr(report, "_write_tables", killed)
        with pytest.raises(KeyboardInterrupt):
            sample_report(out, notebooks=books, month="2026-10")
    client = out / "sample-shop"
    assert not (client / "2026-10").exists()
    assert [p.name for p in client.iterdir()] == []  # the partial folder is gone too
    first = sample_report(out, notebooks=books, month="2026-10")
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    tiny_notebook(books / "03_new.ipynb", "print('new')")
    with monkeypatch.context() as patch:
        patch.setattr(report, "_write_tables", killed)
        with pytest.raises(KeyboardInterrupt):
            sample_report(out, notebooks=books, month="2026-10")
    assert {p.name: p.read_bytes() for p in first.folder.iterdir()} == before
    assert [p.name for p in client.iterdir()] == ["2026-10"]
    (books / "03_new.ipynb").unlink()
    again = sample_report(out, notebooks=books, month="2026-10")
    assert {p.name: p.read_bytes() for p in again.folder.iterdir()} == before


def test_a_partial_folder_is_hidden_and_marked(tmp_path, monkeypatch):
    books = tmp_path / "books"
    books.mkdir()
    tiny_notebook(books / "01_a.ipynb", "print(month)")
    seen = []

    def look(shop, month, target, monthly=None):
        seen.append(target.parent)
        raise RuntimeError("stop")

    monkeypatch.setattr(report, "_write_tables", look)
    with pytest.raises(RuntimeError):
        sample_report(tmp_path / "out", notebooks=books, month="2026-10")
    (partial,) = seen
    assert partial.name.startswith(".2026-10.partial-")
    assert partial.parent == tmp_path / "out" / "sample-shop"


@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_out_must_be_a_folder(tmp_path, where):
    (tmp_path / "file").write_text("keep")
    with pytest.raises(aovlab.AovlabInputError, match="--out"):
        sample_report(tmp_path / where, month="2026-10")
    assert (tmp_path / "file").read_text() == "keep"


def test_replacing_a_folder_keeps_a_whole_one_when_the_move_fails(tmp_path, monkeypatch):
    final, new = tmp_path / "2026-10", tmp_path / ".2026-10.partial-ab12"
    final.mkdir()
    (final / "index.html").write_text("old")
    new.mkdir()
    (new / "index.html").write_text("new")
    report._replace_folder(new, final)
    assert (final / "index.html").read_text() == "new" and not new.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["2026-10"]
    again = tmp_path / ".2026-10.partial-cd34"
    again.mkdir()
    real_rename = Path.rename

    def refuse(self, target):
        if self == again:
            raise OSError(39, "Directory not empty")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", refuse)
    with pytest.raises(OSError):
        report._replace_folder(again, final)
    assert (final / "index.html").read_text() == "new"


def test_pages_carry_a_small_stylesheet_with_print_and_phone_rules(outcome):
    """Not JupyterLab's 260 KB of CSS on every page: the report folder has a size budget."""
    for run in outcome.notebooks:
        page = (outcome.folder / run.html).read_text(encoding="utf-8")
        css = "".join(re.findall(r"<style[^>]*>(.*?)</style>", page, flags=re.S))
        assert len(css) < 10_000, (run.name, len(css))
        assert "@media print" in css and "max-width: 600px" in css
        assert 'name="viewport"' in page


def test_the_report_folder_stays_within_its_budget(outcome):
    """Issue 15's budget: under 3 MB; the executed notebooks keep their outputs but the
    charts' SVG, which their pages hold."""
    size = sum(p.stat().st_size for p in outcome.folder.rglob("*") if p.is_file())
    assert size < 3_000_000, size
    for run in outcome.notebooks:
        nb = nbformat.read(outcome.folder / f"{run.name}.ipynb", as_version=4)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert outputs and not any("image/svg+xml" in o.get("data", {}) for o in outputs)
        assert any("text/html" in o.get("data", {}) for o in outputs)  # the tables stay


# --------------------------------------------------------------------------- issue 15: index


def test_the_index_is_a_one_screen_summary(outcome, shop):
    data = json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8"))
    index = outcome.index.read_text(encoding="utf-8")
    # Key figures against the month before and the same month a year before.
    year = aovlab.metrics.kpis(shop, when="2025-10").rows()[0]
    assert data["year_ago"]["month"] == "2025-10"
    assert data["year_ago"]["kpis"]["aov"] == year["aov"]
    assert data["year_change"]["aov"] == pytest.approx(
        data["kpis"]["aov"] / year["aov"] - 1, abs=1e-6
    )
    assert "vs September 2026" in index and "vs October 2025" in index
    head = re.search(r"<table class='figures'>(.*?)</table>", index, re.S)[0]
    for label in ("Orders", "AOV", "Median order", "Units per order", "Margin per order"):
        assert re.search(rf">{label}</th>", head, re.I), label
    # The three findings with a margin effect, largest first, each linking to its page.
    found = data["findings"]
    assert len(found) == 3
    margins = [abs(f["margin_per_month"]) for f in found]
    assert margins == sorted(margins, reverse=True) and all(m > 0 for m in margins)
    every = [f for n in data["notebooks"] for f in n["findings"] if f["margin_per_month"]]
    assert margins[0] == max(abs(f["margin_per_month"]) for f in every)
    listed = re.search(r"<ol class='findings'>(.*?)</ol>", index, re.S)[1]
    for f in found:
        assert display.prose(f["text"]) in listed and f"href='{f['html']}'" in listed
    # The 13-month chart, drawn offline from the monthly figures.
    assert index.count("<svg") == 1 and len(data["trend"]) == 13
    assert "max-width: 600px" in index and "@media print" in index


def test_a_notebook_whose_data_is_missing_is_skipped_without_a_kernel(tmp_path):
    """Orders of one month, no lines, no customer ids: the three notebooks that need them
    are skipped (no kernel starts), each page says what it needs, the index says why."""
    books = tmp_path / "books"
    books.mkdir()
    for name in ("01_aov_drivers", "04_bundle_margin", "05_loyalty_impact"):
        (books / f"{name}.ipynb").write_bytes((report.NOTEBOOKS_DIR / f"{name}.ipynb").read_bytes())
    orders = pl.read_csv(SAMPLE / "orders.csv", infer_schema=False)
    month = orders.filter(pl.col("ordered_at").str.starts_with("2026-10")).drop("customer_id")
    month.write_csv(tmp_path / "orders.csv")
    (tmp_path / "shop.json").write_bytes((SAMPLE / "shop.json").read_bytes())  # time zone
    outcome = report.run(
        tmp_path / "orders.csv", month="2026-10", client="C", out=tmp_path / "o", notebooks=books
    )
    assert not outcome.failed
    reasons = {n.name: n.reason for n in outcome.notebooks if n.status == "skipped"}
    assert reasons == {
        "01_aov_drivers": "needs the whole of 2026-09 to compare 2026-10 with: the data begins on 2026-10-01",
        "04_bundle_margin": "needs order lines: the data has none (give a lines file, --lines; "
        "Shopify and WooCommerce exports carry them)",
        "05_loyalty_impact": "needs customer ids on the orders: the data has none (a "
        "customer_id column; a Shopify export's Email)",
    }
    assert sorted(p.name for p in outcome.folder.iterdir()) == [
        "01_aov_drivers.html",
        "04_bundle_margin.html",
        "05_loyalty_impact.html",
        "index.html",
        "summary.json",
        "tables.xlsx",
    ]  # no executed notebook: none ran
    page = (outcome.folder / "04_bundle_margin.html").read_text(encoding="utf-8")
    assert "Skipped this month" in page and "order lines: the data has none" in page
    assert "Bundle margin" in page  # the notebook's own introduction
    index = outcome.index.read_text(encoding="utf-8")
    for run in outcome.notebooks:
        assert f"href='{run.html}'" in index
        assert html.escape(run.reason) in index
    data = json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8"))
    assert [(n["status"], n["reason"]) for n in data["notebooks"]] == [
        ("skipped", r) for r in reasons.values()
    ]
    # The month before is not in the data: not compared, and the index says why.
    assert data["previous"]["kpis"] is None and "change" not in data
    assert any("2026-09 is not compared" in n for n in data["notes"])


def test_unknown_needs_fail_that_notebook_only(tmp_path, shop):
    with pytest.raises(aovlab.AovlabInputError, match="declares a need no export can meet"):
        report.missing(shop, ["lines", "a_crystal_ball"], "2026-10")
    assert report.missing(shop, ["lines", "customer_ids", "previous_month"], "2026-10") == []
    assert report.missing(shop, ["previous_month"], "2024-11") == [
        "the whole of 2024-10 to compare 2024-11 with: the data begins on 2024-11-01"
    ]


def skipped_only(folder: Path) -> Path:
    """A notebook folder whose one notebook needs lines: with an orders-only export the
    report runs no kernel at all (a fast end-to-end run)."""
    folder.mkdir()
    tiny_notebook(folder / "01_lines.ipynb", "print(month)")
    nb = nbformat.read(folder / "01_lines.ipynb", as_version=4)
    nb.metadata["aovlab"] = {"needs": ["lines"]}
    nbformat.write(nb, folder / "01_lines.ipynb")
    return folder


def test_a_monthly_run_and_a_backfill_give_the_same_figures(tmp_path):
    """The data wins for every month it covers whole; the report of the month before fills
    in what the export no longer covers; a month the export covers in part never counts."""
    books = skipped_only(tmp_path / "books")
    orders = pl.read_csv(SAMPLE / "orders.csv", infer_schema=False)
    # A monthly export: from the middle of September (a part month) to the end of October.
    recent = orders.filter(pl.col("ordered_at") >= "2026-09-15")
    recent.write_csv(tmp_path / "recent.csv")
    (tmp_path / "shop.json").write_bytes((SAMPLE / "shop.json").read_bytes())  # time zone

    def run(path: Path, month: str, out: str) -> dict:
        outcome = report.run(path, month=month, client="C", out=tmp_path / out, notebooks=books)
        assert [n.status for n in outcome.notebooks] == ["skipped"]
        return json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8"))

    backfill = [run(SAMPLE / "orders.csv", m, "backfill") for m in ("2026-09", "2026-10")][-1]
    # The monthly client: September's report was made from September's export (here the
    # full history), October's from the recent export only.
    run(SAMPLE / "orders.csv", "2026-09", "monthly")
    monthly = run(tmp_path / "recent.csv", "2026-10", "monthly")
    for key in ("kpis", "previous", "change", "year_ago", "year_change", "trend"):
        assert monthly[key] == backfill[key], key
    assert len(monthly["trend"]) == 13 and monthly["year_ago"]["kpis"] is not None
    # Without September's report the recent export alone compares with nothing.
    alone = run(tmp_path / "recent.csv", "2026-10", "alone")
    assert alone["previous"]["kpis"] is None and alone["year_ago"]["kpis"] is None
    assert [t["month"] for t in alone["trend"]] == ["2026-10"]
    assert any(
        "2026-09 is not compared: the data begins on 2026-09-15 and no earlier report" in n
        for n in alone["notes"]
    )


def test_an_earlier_summary_in_another_currency_or_broken_is_not_used(tmp_path):
    folder = tmp_path / "c"
    (folder / "2026-09").mkdir(parents=True)
    target = folder / "2026-09" / "summary.json"
    target.write_text('{"month": "2026-09", "currency": "SEK", "basis": "net", "kpis": {}}')
    stored = report.stored_figures(folder, "2026-10", "EUR")
    assert stored.months == {} and "in SEK on a net basis, not EUR net: not used" in stored.notes[0]
    target.write_text("{not json")
    stored = report.stored_figures(folder, "2026-10", "EUR")
    assert stored.months == {} and "could not be read (JSONDecodeError)" in stored.notes[0]
    assert report.stored_figures(folder, "2026-08", "EUR") == report.Stored()
    target.write_text(
        '{"month": "2026-09", "currency": "EUR", "kpis": {"aov": 10.5, "orders": true},'
        ' "trend": [{"month": "2025-10", "aov": "=1+1"}, 7]}'
    )
    stored = report.stored_figures(folder, "2026-10", "EUR")
    assert stored.months["2026-09"]["aov"] == 10.5 and stored.months["2026-09"]["orders"] is None
    assert stored.months["2025-10"]["aov"] is None and set(stored.months) == {"2025-10", "2026-09"}


def test_the_index_escapes_everything_it_shows(shop):
    data = report.summary(shop, "2026-10")
    data["findings"] = [
        {
            "text": 'A 10 % bundle of <script>alert(1)</script> and =HYPERLINK("x") pays.',
            "margin_per_month": 10.0,
            "notebook": "04_x",
            "html": "04_x.html'><script>",
        }
    ]
    runs = [
        report.NotebookRun("04_x", "ok", title="<b>Bundles</b>: t", html="04_x.html"),
        report.NotebookRun(
            "05_y", "skipped", title="L", html="05_y.html", reason="needs <i>it</i>"
        ),
        report.NotebookRun("06_z", "failed", title="Z", error="Boom <img src=x onerror=1>\nmore"),
    ]
    page = report._index_html("<svg onload=alert(2)>", data, runs)
    body = page.split("</head>", 1)[1]
    for raw in ("<script>", "<b>Bundles", "<i>it</i>", "<img src=x", "<svg onload", "'><script>"):
        assert raw not in body, raw
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "(&lt;b&gt;Bundles&lt;/b&gt;)" in body
    )
    assert "<strong>skipped</strong>: needs &lt;i&gt;it&lt;/i&gt;" in body
    assert "<strong>failed</strong>: Boom &lt;img src=x onerror=1&gt;<details>" in body
    assert body.count("<svg") == 1  # the trend chart only


def _browser_missing() -> str | None:
    if not Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium is missing (apt-get install chromium; make test does it as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[dev]')"
    return None


@pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))
def test_every_chart_draws_offline_on_every_page(outcome):
    """Each page opened in Chromium with nothing but the file: every chart is drawn."""
    from urllib.parse import urlparse

    from playwright.sync_api import sync_playwright

    pages = sorted(outcome.folder.glob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "01_aov_drivers.html"}
    # The charts each page should show: the notebook's chart outputs (its .ipynb keeps
    # their text, its page their SVG), and the index's 13-month chart.
    expected = {"index.html": 1}
    for book in outcome.folder.glob("*.ipynb"):
        nb = nbformat.read(book, as_version=4)
        expected[f"{book.stem}.html"] = sum(
            o.get("data", {}).get("text/plain", "").startswith("alt.")
            for c in nb.cells
            for o in c.get("outputs", [])
        )
    assert expected["01_aov_drivers.html"] >= 5 and sum(expected.values()) >= 30
    outside: list[str] = []

    def only_the_file(route) -> None:
        if urlparse(route.request.url).scheme in ("file", "data", "blob"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    drawn: dict[str, list[dict]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.route("**/*", only_the_file)
            for html_file in pages:
                page.goto(html_file.as_uri(), wait_until="load")
                # A chart is an SVG image (notebook pages) or an inline SVG (the index):
                # drawn when the browser decoded it to a real size, with marks inside.
                drawn[html_file.name] = page.evaluate(
                    """() => [
                        ...[...document.querySelectorAll('img[src^="data:image/svg+xml"]')].map(
                            i => ({width: i.complete ? i.naturalWidth : 0,
                                   height: i.complete ? i.naturalHeight : 0,
                                   marks: atob(i.src.split(',')[1]).includes('class="mark-')})),
                        ...[...document.querySelectorAll('svg')]
                            .filter(s => s.querySelector('g[class*="mark-"]'))
                            .map(s => ({width: s.getBoundingClientRect().width,
                                        height: s.getBoundingClientRect().height,
                                        marks: true})),
                    ]""",
                )
        finally:
            browser.close()
    assert outside == []
    for name, charts in drawn.items():
        assert len(charts) == expected.get(name, 0), name
        for chart in charts:
            assert chart["width"] > 50 and chart["height"] > 50 and chart["marks"], name
