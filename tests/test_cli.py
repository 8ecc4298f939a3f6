import json

import pytest
from typer.testing import CliRunner

import aovlab
from aovlab.cli import JSON_KEYS, app

runner = CliRunner()
SAMPLE = aovlab.sample.DATA_DIR


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_kpis_json_has_the_documented_keys():
    result = run("kpis", SAMPLE / "orders.csv", "--json", "--by", "month")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"currency", "basis", *JSON_KEYS, "by"}
    assert payload["currency"] == "EUR" and payload["basis"] == "net"
    assert payload["upt"] is None and payload["margin_per_order"] is None  # no lines given
    assert [row["key"] for row in payload["by"]][:2] == ["2024-11", "2024-12"]
    assert all(set(row) == {"key", *JSON_KEYS} for row in payload["by"])
    assert sum(row["orders"] for row in payload["by"]) == payload["orders"]


def test_kpis_json_with_lines_and_catalog_matches_the_library(shop):
    result = run(
        "kpis",
        SAMPLE / "orders.csv",
        "--lines",
        SAMPLE / "lines.csv",
        "--json",
        "--when",
        "2026-10",
    )
    payload = json.loads(result.stdout)
    row = aovlab.metrics.kpis(shop, when="2026-10").rows()[0]
    assert {k: payload[k] for k in JSON_KEYS} == {k: row[k] for k in JSON_KEYS}


def test_kpis_table_output():
    result = run("kpis", SAMPLE / "orders.csv", "--by", "device", "--basis", "total")
    assert result.exit_code == 0
    assert "desktop" in result.stdout and "AOV €" in result.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("order_id,ordered_at\n1,2026-10-01\n", "no revenue column"),
        ("order_id,ordered_at,total\n1,2026-10-01,abc\n", "not amounts"),
        ("order_id,ordered_at,total\n1,01/10/2026,1\n", "--dayfirst"),
        ("", "is empty"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path, content, fragment):
    path = tmp_path / "orders.csv"
    path.write_text(content)
    result = run("kpis", path)
    assert result.exit_code == 2
    assert fragment in result.stderr and "Traceback" not in result.output + result.stderr


def test_bad_options_exit_2(tmp_path):
    assert run("kpis", SAMPLE / "orders.csv", "--basis", "brutto").exit_code == 2
    assert run("kpis", SAMPLE / "orders.csv", "--by", "colour").exit_code == 2
    assert run("kpis", SAMPLE / "orders.csv", "--when", "2026-13").exit_code == 2
    assert run("kpis", tmp_path / "missing.csv").exit_code == 2
    assert run("report").exit_code == 2


def test_sample_command_writes_the_files(tmp_path):
    result = run("sample", "--out", tmp_path, "--scale", "0.02")
    assert result.exit_code == 0
    assert {p.name for p in tmp_path.iterdir()} >= {
        "orders.csv",
        "lines.csv",
        "shop.json",
        "README.md",
    }
    assert aovlab.load(orders=tmp_path / "orders.csv").currency == "EUR"


def test_validate_exit_status_and_json(tmp_path):
    clean = run(
        "validate",
        SAMPLE / "orders.csv",
        "--lines",
        SAMPLE / "lines.csv",
        "--catalog",
        SAMPLE / "catalog.csv",
        "--json",
    )
    assert clean.exit_code == 0
    report = json.loads(clean.stdout)
    assert report["status"] == "clean" and report["format"] == "canonical"
    assert (report["rows"], report["orders"], report["lines"]) == (29_736, 29_736, 47_685)
    assert report["currency"] == "EUR" and report["first_order"].startswith("2024-11-01")
    warned = run("validate", SAMPLE / aovlab.sample.SHOPIFY_FILE)
    assert warned.exit_code == 1 and "shopify export, warnings" in warned.stdout
    assert "gift-card or tip" in warned.stdout and "no unit cost" in warned.stdout
    bad = tmp_path / "orders.csv"
    bad.write_text("order_id,ordered_at,total\n1,2026-10-01,1\n1,2026-10-02,2\n")
    broken = run("validate", bad, "--json")
    assert broken.exit_code == 2 and json.loads(broken.stdout)["status"] == "error"
    assert "duplicate order_id" in json.loads(broken.stdout)["error"]


DRIVER_KEYS = {"baseline", "current", "change", "upt_effect", "aur_effect"}
SEGMENT_KEYS = {
    "key",
    "baseline_orders",
    "baseline_aov",
    "current_orders",
    "current_aov",
    "mix",
    "rate",
}


def test_drivers_json_answers_the_same_as_the_library(shop):
    result = run(
        "drivers", SAMPLE / "orders.csv", "--lines", SAMPLE / "lines.csv", "--traffic",
        SAMPLE / "traffic.csv", "--current", "2026-08", "--baseline", "2026-07", "--by", "device",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert DRIVER_KEYS | {"mix_effect", "rate_effect", "segments"} <= set(payload)
    for which in ("baseline", "current"):
        assert {"orders", "revenue", "aov", "upt", "aur"} <= set(payload[which])
    assert all(set(s) == SEGMENT_KEYS for s in payload["segments"])
    assert payload == aovlab.drivers.decompose(shop, "2026-08", "2026-07", by="device").to_dict()
    assert round(payload["mix_effect"] + payload["rate_effect"], 2) == payload["change"]
    assert round(payload["upt_effect"] + payload["aur_effect"], 2) == payload["change"]
    assert payload["mix_effect"] < 0 < payload["rate_effect"]


def test_drivers_periods_default_baseline_and_ranges():
    result = run("drivers", SAMPLE / "orders.csv", "--current", "2026Q3", "--json")
    payload = json.loads(result.stdout)
    assert (payload["baseline"]["period"], payload["current"]["period"]) == ("2026Q2", "2026Q3")
    assert payload["upt_effect"] is None and "segments" not in payload  # no lines, no --by
    result = run("drivers", SAMPLE / "orders.csv", "--current", "2026-10-01..2026-10-15", "--json")
    payload = json.loads(result.stdout)
    assert payload["baseline"]["period"] == "2026-09-16..2026-09-30"
    result = run("drivers", SAMPLE / "orders.csv", "--json")  # the latest complete month
    assert json.loads(result.stdout)["current"]["period"] == "2026-10"


def test_drivers_prints_the_headline_and_tables():
    result = run(
        "drivers", SAMPLE / "orders.csv", "--lines", SAMPLE / "lines.csv", "--current", "2026-08",
        "--by", "device",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("AOV fell 4.1 % from €119.50 in 2026-07 to €114.65")
    assert "mobile" in result.stdout and "−€13.14" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--current", "2026-13"], "is not a calendar period"),
        (["--current", "2026Q3", "--baseline", "2026-08"], "overlap"),
        (["--current", "2030-01"], "no counted orders in the current period"),
        (["--current", "2026-08", "--by", "colour"], "cannot split orders by 'colour'"),
    ],
)
def test_drivers_bad_requests_exit_2(args, message):
    result = run("drivers", SAMPLE / "orders.csv", *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def assert_refused(result, *fragments):
    output = result.stdout + result.stderr
    assert result.exit_code == 2, output
    assert "Traceback" not in output and (
        result.exception is None or isinstance(result.exception, SystemExit)
    ), output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["kpis", "drivers", "validate"])
@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--sep", ";;", "is not one character"),
        ("--sep", "", "is not one character"),
        ("--currency", "EURO", "is not an ISO 4217 currency code"),
        ("--currency", "12", "is not an ISO 4217 currency code"),
        ("--currency", "€", "is not an ISO 4217 currency code"),
        ("--timezone", "Mars/Base", "is not a time zone"),
        ("--timezone", "../etc", "is not a time zone"),
        ("--timezone", "", "is not a time zone"),
    ],
)
def test_bad_read_options_are_refused_by_every_command(command, option, value, fragment):
    assert_refused(run(command, SAMPLE / "orders.csv", option, value), fragment, option)


@pytest.mark.parametrize(
    ("option", "value"), [("--currency", "EURO"), ("--timezone", "Mars/Base"), ("--sep", ";;")]
)
def test_report_refuses_bad_read_options_before_writing(tmp_path, option, value):
    result = run("report", "--sample", "--out", tmp_path / "o", option, value)
    assert_refused(result, option)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("scale", ["0", "-1", "nan", "inf", "0.00001"])
def test_sample_refuses_a_scale_that_is_not_a_size(tmp_path, scale):
    assert_refused(run("sample", "--out", tmp_path / "s", "--scale", scale), "--scale")
    assert not (tmp_path / "s").exists()


def test_sample_refuses_an_out_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("keep me")
    assert_refused(run("sample", "--out", tmp_path / "file", "--scale", "0.01"), "is a file")
    assert_refused(
        run("sample", "--out", tmp_path / "file" / "sub", "--scale", "0.01"), "cannot write"
    )
    assert (tmp_path / "file").read_text() == "keep me"


@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_report_refuses_an_out_that_is_not_a_folder(tmp_path, where):
    (tmp_path / "file").write_text("keep me")
    result = run("report", "--sample", "--month", "2026-10", "--out", tmp_path / where)
    assert_refused(result, "--out", str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "keep me"


def test_a_bug_ends_in_one_line_not_a_traceback(monkeypatch, capsys):
    import aovlab.cli as cli

    def broken():
        raise RuntimeError("planted\nsecond line")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 1
    captured = capsys.readouterr().err
    assert "internal error: RuntimeError: planted" in captured and "second line" not in captured
    assert "Traceback" not in captured
    monkeypatch.setenv("AOVLAB_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main()


def test_report_that_cannot_be_written_exits_2(tmp_path, monkeypatch):
    from aovlab import report

    def denied(new, final):
        raise PermissionError(13, "Permission denied", str(final))

    monkeypatch.setattr(report, "_replace_folder", denied)
    monkeypatch.setattr(report, "_run_notebook", lambda *a: report.NotebookRun("x", "ok"))
    result = run("report", "--sample", "--month", "2026-10", "--out", tmp_path / "o")
    assert_refused(result, "cannot write the report", "Permission denied")
    assert [p.name for p in (tmp_path / "o" / "client").iterdir()] == []


@pytest.mark.parametrize("sep", ["tab", "TAB", "\\t", "\t"])
def test_a_tab_separator_can_be_typed(tmp_path, sep):
    path = tmp_path / "orders.txt"
    path.write_text("order_id\tordered_at\ttotal\n1\t2026-10-01\t10\n")
    result = run("kpis", path, "--sep", sep, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["orders"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "0"], "--timeout"),
        (["--month", "2026Q3"], "month (--month): is not a month"),
    ],
)
def test_report_refuses_bad_report_options(tmp_path, args, message):
    result = run("report", "--sample", "--out", tmp_path / "o", *args)
    assert_refused(result, message)
    assert not (tmp_path / "o").exists()


def test_the_command_line_imports_no_notebook_machinery_or_pandas():
    """`aovlab --help` and `aovlab kpis` pay for what they use (polars), nothing more."""
    import subprocess
    import sys

    code = (
        "import sys, aovlab.cli, aovlab\n"
        "aovlab.metrics.kpis(aovlab.sample.load(), by='month')\n"
        "heavy = ('altair', 'papermill', 'nbconvert', 'jupyter_client', 'ipywidgets', 'pandas')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
