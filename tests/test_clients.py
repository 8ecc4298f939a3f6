"""`aovlab report --config`: the clients config, its refusals, runs of many clients, the index."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from typer.testing import CliRunner

import aovlab
from aovlab import clients, report
from aovlab.cli import app
from aovlab.errors import AovlabInputError

SAMPLE = aovlab.sample.DATA_DIR
SHIPPED = SAMPLE / "clients.toml"
runner = CliRunner()


def cli(*args):
    return runner.invoke(app, ["report", *[str(a) for a in args]])


def config(folder: Path, text: str) -> Path:
    """A config in ``folder`` whose clients' files exist (empty unless given)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("acme/orders.csv", "acme/lines.csv", "beta/orders.csv"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).touch()
    path = folder / "clients.toml"
    path.write_text(text, encoding="utf-8")
    return path


ACME = '[[clients]]\nname = "Acme AB"\norders = "acme/orders.csv"\n'


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(clients.ConfigError) as caught:
        clients.read_config(config(tmp_path, text))
    return str(caught.value)


# --------------------------------------------------------------------------- config


def test_shipped_config_reads_three_ways_of_one_shop():
    got = clients.read_config(SHIPPED)
    assert [(c.name, c.slug) for c in got.clients] == [
        ("Sample Shop", "sample-shop"),
        ("Sample Shop (Shopify export)", "sample-shop-shopify-export"),
        ("Sample Shop (Nordic spreadsheet)", "sample-shop-nordic-spreadsheet"),
    ]
    canonical, shopify, nordic = got.clients
    assert canonical.files == {t: str(SAMPLE / f"{t}.csv") for t in clients.FILE_KEYS}
    assert shopify.files == {
        "orders": str(SAMPLE / "shopify_orders_export.csv"),
        "catalog": str(SAMPLE / "catalog.csv"),
    }
    assert nordic.files == {
        "orders": str(SAMPLE / "european" / "orders.csv"),
        "lines": str(SAMPLE / "european" / "lines.csv"),
    }
    assert nordic.read_options == {
        "sep": ";",
        "decimal": ",",
        "encoding": "cp1252",
        "dayfirst": True,
        "currency": "EUR",
        "timezone": "Europe/Stockholm",
    }
    assert shopify.read_options["format"] == "shopify"
    assert (canonical.locale, shopify.locale, nordic.locale) == ("en-GB", "de", "sv")
    assert all(c.months == (None,) for c in got.clients)  # the latest complete month


def test_paths_are_read_from_the_config_folder_and_defaults_apply(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the config's folder
    path = config(
        tmp_path / "cfg",
        'notebooks = "."\n[defaults]\ntimezone = "Europe/Oslo"\nsep = "tab"\nmonths = "2026-10"\n'
        + ACME
        + 'lines = "acme/lines.csv"\nmap = "order_id=Order ID, total=\\"Grand Total, EUR\\""\n'
        '[[clients]]\nname = "Beta"\norders = "beta/orders.csv"\ntimezone = "UTC"\n'
        'months = ["2026-02", "2025-12..2026-01"]\nmap = { order_id = "Nr" }\n',
    )
    acme, beta = clients.read_config(path).clients
    assert acme.files == {
        "orders": str(tmp_path / "cfg/acme/orders.csv"),
        "lines": str(tmp_path / "cfg/acme/lines.csv"),
    }
    assert acme.read_options == {
        "timezone": "Europe/Oslo",
        "sep": "\t",
        "column_map": {"order_id": "Order ID", "total": "Grand Total, EUR"},
    }
    assert beta.read_options == {"timezone": "UTC", "sep": "\t", "column_map": {"order_id": "Nr"}}
    assert acme.months == ("2026-10",)
    assert beta.months == ("2025-12", "2026-01", "2026-02")
    assert clients.read_config(path).notebooks == tmp_path / "cfg"
    # --months replaces every client's months
    assert {c.months for c in clients.read_config(path, months="2026-09..2026-10").clients} == {
        ("2026-09", "2026-10")
    }


REFUSALS = [
    (ACME + 'sepp = ";"\n', ["client 'Acme AB', key 'sepp': unknown key", "did you mean 'sep'?"]),
    (
        ACME.replace("[[clients]]", "[[client]]"),
        ["key 'client': unknown key", "did you mean 'clients'?", "lists no clients"],
    ),
    ('currency = "EUR"\n' + ACME, ["key 'currency': unknown key", "in [defaults] for every"]),
    (
        '[[clients]]\nname = "Acme AB"\norders = "acme/orderz.csv"\n',
        ["client 'Acme AB', key 'orders': file not found", "nothing at ", "acme/orderz.csv"],
    ),
    ('[[clients]]\nname = "Acme AB"\n', ["client 'Acme AB', key 'orders': is missing"]),
    (ACME + 'lines = "acme"\n', ["key 'lines': is a folder"]),
    ('[[clients]]\norders = "acme/orders.csv"\n', ["client #1, key 'name': is missing"]),
    (
        ACME + 'months = "2026-10..2026-01"\n',
        [
            "client 'Acme AB', key 'months': is not a month range: it ends before it starts",
            "found:    2026-10..2026-01",
        ],
    ),
    (ACME + 'months = "2026-13"\n', ["key 'months': is not a month", "found:    2026-13"]),
    (ACME + 'months = "2026-01..2026-03..2026-05"\n', ["key 'months': is not a month range"]),
    (ACME + "months = []\n", ["key 'months': names no month"]),
    (ACME + "months = [202610]\n", ["key 'months': is not a month", "found:    a number"]),
    (ACME + ACME, ["names a client twice", "clients #1 and #2 are both called 'Acme AB'"]),
    (
        ACME + ACME.replace("Acme AB", "acme-ab"),
        ["would share a report folder", "'Acme AB' (#1) and 'acme-ab' (#2) both write to acme-ab/"],
    ),
    ('notebooks = "nb"\n', ["lists no clients", "no [[clients]] table"]),
    ("clients = []\n", ["lists no clients", "an empty list of clients"]),
    ('clients = "Acme"\n', ["key 'clients': is not a list of clients"]),
    ("[[clients]\nname = 1\n", ["is not valid TOML", "line 1"]),
    (ACME + 'currency = "€"\n', ["key 'currency': is not an ISO 4217 currency code"]),
    (ACME + 'timezone = "Mars/Base"\n', ["key 'timezone': is not a time zone"]),
    (ACME + 'sep = ";;"\n', ["key 'sep': is not one character"]),
    (ACME + 'decimal = "·"\n', ["key 'decimal': is not a decimal mark"]),
    (ACME + 'dayfirst = "yes"\n', ["key 'dayfirst': is not true or false", "found:    text"]),
    (ACME + 'format = "shopfy"\n', ["key 'format': unknown format", "did you mean 'shopify'?"]),
    (ACME + 'locale = "xx-YY"\n', ["key 'locale': is not a locale", "sv, de, nl, nb or en-GB"]),
    (ACME + 'encoding = "utf-9"\n', ["key 'encoding': is not a text encoding"]),
    (ACME + 'map = "nonsense"\n', ["key 'map': is not a column map"]),
    (ACME + "salt = 20261123\n", ["key 'salt': is not text", "found:    a number"]),
    ('[defaults]\nname = "X"\n' + ACME, ["[defaults], key 'name': belongs to one client"]),
    ('[defaults]\ncurrncy = "EUR"\n' + ACME, ["[defaults], key 'currncy'", "'currency'?"]),
    ('notebooks = "missing"\n' + ACME, ["key 'notebooks': folder not found"]),
]


@pytest.mark.parametrize(("text", "fragments"), REFUSALS)
def test_every_refusal_names_the_file_the_client_and_the_key(tmp_path, text, fragments):
    message = refusal(tmp_path, text)
    assert "clients.toml" in message
    for fragment in fragments:
        assert fragment in message, message
    assert "20261123" not in message  # a salt is never echoed


def test_every_problem_at_once(tmp_path):
    message = refusal(tmp_path, ACME + 'sepp = ";"\ncurrency = "euro"\n' + ACME)
    assert message.startswith("3 problems in the config; nothing was run:")
    assert "key 'sepp'" in message and "key 'currency'" in message and "twice" in message


def test_unreadable_config(tmp_path):
    with pytest.raises(clients.ConfigError, match=r"nothing\.toml: cannot be read"):
        clients.read_config(tmp_path / "nothing.toml")
    (tmp_path / "latin.toml").write_bytes(b'[[clients]]\nname = "K\xf6ln"\n')
    with pytest.raises(clients.ConfigError, match=r"latin\.toml: is not UTF-8 text"):
        clients.read_config(tmp_path / "latin.toml")


@pytest.mark.parametrize(
    ("value", "months"),
    [
        ("2026-10", ("2026-10",)),
        (" 2025-11 .. 2026-02 ", ("2025-11", "2025-12", "2026-01", "2026-02")),
        ("2026-01..2026-01", ("2026-01",)),
        (["2026-03", "2026-01..2026-02", "2026-02"], ("2026-01", "2026-02", "2026-03")),
    ],
)
def test_month_ranges_expand_in_order(value, months):
    assert clients.parse_months(value) == months


def test_a_long_backfill_has_every_month_once():
    months = clients.parse_months("2024-11..2026-10")
    assert len(months) == 24 and months[0] == "2024-11" and months[-1] == "2026-10"
    assert list(months) == sorted(set(months))


@pytest.mark.parametrize(
    "value", ["2026-1", "26-10", "2026-00", "2026/10", "", "latest", "0000-05"]
)
def test_bad_months_are_refused(value):
    with pytest.raises(AovlabInputError, match="is not a month"):
        clients.parse_months(value, source="--months")


# --------------------------------------------------------------------------- the command


def test_command_refuses_a_broken_config_with_exit_2(tmp_path):
    path = config(tmp_path, ACME + 'months = "2026-10..2026-01"\n')
    result = cli("--config", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "client 'Acme AB', key 'months': is not a month range" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written
    bad = cli("--config", config(tmp_path, ACME), "--months", "2026-13", "--out", tmp_path / "o")
    assert bad.exit_code == 2 and "--months: is not a month" in bad.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--orders", "x.csv"], "drop --orders"),
        (["--month", "2026-10"], "drop --month (use --months for the months)"),
        (["--sample", "--sep", ";"], "drop --sample, --sep"),
        (["--client", "Acme"], "drop --client"),
        (["--jobs", "0"], "--jobs is how many clients run at once: 1 or more, not 0"),
    ],
)
def test_config_refuses_single_client_options(tmp_path, args, fragment):
    result = cli("--config", config(tmp_path, ACME), *args)
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr


@pytest.mark.parametrize(
    "flag", [["--jobs", "2"], ["--quiet"], ["--json"], ["--months", "2026-10"]]
)
def test_config_options_need_a_config(flag):
    result = cli("--sample", *flag)
    assert result.exit_code == 2 and "go with --config CLIENTS.toml" in result.stderr


def test_a_clients_months_run_in_order_and_a_failure_stops_none(tmp_path, monkeypatch):
    """One worker's job, run here with report.run replaced: oldest month first."""
    calls, events = [], []

    def fake_run(orders, *, month, client, out, progress=None, **options):
        calls.append((month, options))
        if month == "2026-02":
            raise AovlabInputError("no orders in this month", source=f"{tmp_path}/acme/orders.csv")
        folder = Path(out) / report.slug(client) / month
        folder.mkdir(parents=True)
        progress("00_kpi_primer")
        books = [report.NotebookRun("00_kpi_primer", "ok")]
        if month == "2026-03":
            books.append(
                report.NotebookRun("01_drivers", "failed", error="\nValueError: boom\nmore")
            )
        return report.ReportOutcome(folder=folder, index=folder / "index.html", notebooks=books)

    class Queue:
        def put(self, event):
            events.append(event)

    monkeypatch.setattr(report, "run", fake_run)
    monkeypatch.setattr(clients, "_QUEUE", Queue())
    path = config(tmp_path, ACME + 'months = "2026-01..2026-03"\nlocale = "sv"\nsalt = "s"\n')
    client = clients.read_config(path).clients[0]
    job = clients._Job(client, str(tmp_path / "out"), None, 60, str(tmp_path))
    records = clients._run_client(job)
    assert [c[0] for c in calls] == ["2026-01", "2026-02", "2026-03"]
    assert calls[0][1]["salt"] == "s" and calls[0][1]["locale"] == "sv"
    assert [(r.month, r.status, r.folder) for r in records] == [
        ("2026-01", "ok", "acme-ab/2026-01"),
        ("2026-02", "failed", None),
        ("2026-03", "failed", "acme-ab/2026-03"),
    ]
    # the error's first line, the config's folder taken out of it
    assert records[1].errors == [
        {"notebook": None, "error": "acme/orders.csv: no orders in this month"}
    ]
    assert records[2].errors == [{"notebook": "01_drivers", "error": "ValueError: boom"}]
    assert [e[0] for e in events] == [
        *("start", "notebook", "done"),
        *("start", "done"),  # the export failed: no notebook ran
        *("start", "notebook", "done"),
    ]
    assert events[1] == ("notebook", "Acme AB", "2026-01", "00_kpi_primer")


def test_a_kernel_that_did_not_start_runs_the_month_again(tmp_path, monkeypatch):
    """Another kernel took a port in between: the month runs again, up to twice more."""
    calls, events = [], []

    def fake_run(orders, *, month, client, out, progress=None, **options):
        calls.append(month)
        folder = Path(out) / report.slug(client) / "2026-10"
        folder.mkdir(parents=True, exist_ok=True)
        error = "RuntimeError: Kernel died before replying to kernel_info"
        books = [
            report.NotebookRun(
                "00_kpi_primer",
                "failed" if len(calls) < 3 else "ok",
                error=error if len(calls) < 3 else None,
            )
        ]
        if client == "Beta":  # a real failure is not tried again
            books = [report.NotebookRun("01_x", "failed", error="ValueError: boom")]
        return report.ReportOutcome(folder=folder, index=folder / "index.html", notebooks=books)

    monkeypatch.setattr(report, "run", fake_run)
    monkeypatch.setattr(
        clients, "_QUEUE", type("Q", (), {"put": lambda self, e: events.append(e)})()
    )
    acme, beta = clients.read_config(
        config(tmp_path, ACME + '[[clients]]\nname = "Beta"\norders = "beta/orders.csv"\n')
    ).clients
    (record,) = clients._run_client(
        clients._Job(acme, str(tmp_path / "o"), None, 60, str(tmp_path))
    )
    # asked for the latest month; the runs again ask for the month the first one chose
    assert calls == [None, "2026-10", "2026-10"] and record.status == "ok"
    assert [e[0] for e in events] == ["start", "retry", "retry", "done"]
    calls.clear()
    (record,) = clients._run_client(
        clients._Job(beta, str(tmp_path / "o"), None, 60, str(tmp_path))
    )
    assert calls == [None] and record.errors == [{"notebook": "01_x", "error": "ValueError: boom"}]


def test_index_lists_earlier_months_and_escapes_names(tmp_path):
    path = config(tmp_path, ACME.replace("Acme AB", "<b>Acme</b> & Co"))
    cfg = clients.read_config(path)
    out = tmp_path / "out"
    earlier = out / "b-acme-b-co" / "2026-09"
    earlier.mkdir(parents=True)
    (earlier / "summary.json").write_text(
        json.dumps(
            {
                "currency": "CHF",
                "kpis": {"orders": 1234, "aov": 456.5},
                "change": {"aov": -0.0312},
                "notebooks": [{"name": "01_x", "status": "failed", "error": "KeyError: 'sku'"}],
            }
        )
    )
    run = clients.MonthRun(
        client="<b>Acme</b> & Co",
        slug="b-acme-b-co",
        month="2026-10",
        status="failed",
        errors=[{"notebook": None, "error": "orders.csv: <script>x</script>"}],
    )
    index, runs_json = clients.write_index(out, cfg, [run])
    page = index.read_text(encoding="utf-8")
    assert "<b>Acme</b>" not in page and "&lt;b&gt;Acme&lt;/b&gt; &amp; Co" in page
    assert "<script>" not in page and "orders.csv: &lt;script&gt;x&lt;/script&gt;" in page
    assert "href='b-acme-b-co/2026-09/index.html'" in page
    assert "1,234" in page and "456.50 CHF" in page and "−3.1 %" in page
    assert (
        "failed: 1 notebook failed (earlier run)" in page
        and "01_x: KeyError: &#x27;sku&#x27;" in page
    )
    assert "failed: report not written" in page
    section = page.split("<h2 id=")[1]
    assert section.index("2026-10") < section.index("2026-09")  # the latest month first
    data = json.loads(runs_json.read_text(encoding="utf-8"))
    assert data["status"] == "failed" and data["reports"] == {"total": 1, "ok": 0, "failed": 1}
    assert data["clients"][0]["months"][0]["folder"] is None
    assert not list(out.glob(".*partial*"))  # the temporary files were moved into place


# --------------------------------------------------------------------------- real runs

SALT = "salt-8f3e2a-of-zeta"
#: A notebook that only needs a kernel: the report machinery without an analysis.
TINY = [new_markdown_cell("# Tiny"), new_code_cell("print(month)")]
#: One that takes its time, to be interrupted.
SLEEPY = [new_markdown_cell("# Sleepy"), new_code_cell("import time\ntime.sleep(120)")]


def notebook_folder(folder: Path, name: str, cells: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    parameters = new_code_cell(
        "month = None\nresults_path = None\nread_options = {}", metadata={"tags": ["parameters"]}
    )
    nb = new_notebook(cells=[cells[0], parameters, *cells[1:]])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / name)
    return folder


def broken_client(folder: Path) -> str:
    (folder / "broken").mkdir(parents=True, exist_ok=True)
    (folder / "broken" / "orders.csv").write_text("Bestellnummer;Datum;Summe\n1;gestern;viel\n")
    return '[[clients]]\nname = "Broken Shop"\norders = "broken/orders.csv"\n'


@pytest.mark.slow
def test_shipped_config_with_a_broken_client(tmp_path):
    """The three sample clients land (primer only, two at a time); a broken one is reported."""
    books = tmp_path / "notebooks"
    books.mkdir()
    shutil.copy(report.NOTEBOOKS_DIR / "00_kpi_primer.ipynb", books)
    text = SHIPPED.read_text(encoding="utf-8")
    for name in ("orders", "lines", "customers", "catalog", "traffic", "shopify_orders_export"):
        text = text.replace(f'"{name}.csv"', f'"{SAMPLE / name}.csv"')
    text = text.replace('"european/', f'"{SAMPLE}/european/')
    path = tmp_path / "clients.toml"
    path.write_text(text + broken_client(tmp_path), encoding="utf-8")
    out = tmp_path / "reports"
    result = cli("--config", path, "--notebooks", books, "--out", out, "--jobs", "2")
    assert result.exit_code == 1, result.stderr
    assert result.stdout == f"{out / 'index.html'}\n"
    error = "broken/orders.csv: is not an export format aovlab knows"
    assert f"Broken Shop latest month: failed: {error}" in result.stderr
    assert "4 clients, 4 reports: 3 ok, 1 failed" in result.stderr
    data = json.loads((out / "runs.json").read_text(encoding="utf-8"))
    by_name = {c["name"]: c for c in data["clients"]}
    assert list(by_name) == sorted(by_name)  # by name
    assert by_name["Broken Shop"]["months"] == [
        {
            "month": None,
            "status": "failed",
            "folder": None,
            "index": None,
            "figures": None,
            "errors": [{"notebook": None, "error": error}],
        }
    ]
    orders = set()
    for name in ("Sample Shop", "Sample Shop (Shopify export)", "Sample Shop (Nordic spreadsheet)"):
        (month,) = by_name[name]["months"]
        assert month["status"] == "ok" and month["month"] == "2026-10", month
        assert (out / month["index"]).is_file()
        assert not list((out / month["folder"]).parent.glob(".*"))  # no partial folder left
        orders.add((month["figures"]["orders"], round(month["figures"]["aov"], 6)))
    assert len(orders) == 1  # one shop, three exports: the same figures
    page = (out / "index.html").read_text(encoding="utf-8")
    assert error in page and "Broken Shop" in page and "failed: report not written" in page
    assert "href='sample-shop-nordic-spreadsheet/2026-10/index.html'" in page
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from a network
    assert str(tmp_path) not in page + json.dumps(data)  # no local folder named


@pytest.mark.slow
def test_rerun_is_byte_identical_and_json_is_one_object(tmp_path):
    books = notebook_folder(tmp_path / "notebooks", "00_tiny.ipynb", TINY)
    orders = SAMPLE / "orders.csv"
    path = tmp_path / "clients.toml"
    path.write_text(
        f'notebooks = "notebooks"\n[[clients]]\nname = "Zeta"\norders = "{orders}"\n'
        f'months = "2026-09..2026-10"\nsalt = "{SALT}"\n'
        f'[[clients]]\nname = "Alpha"\norders = "{orders}"\n' + broken_client(tmp_path),
        encoding="utf-8",
    )
    out = tmp_path / "reports"
    events: list = []
    first = clients.run(clients.read_config(path), out=out, jobs=2, listener=events.append)
    assert [(r.client, r.month) for r in first.failed] == [("Broken Shop", None)]
    # report.run's progress hook: each notebook, as it finishes, in month order
    assert sorted(e[1:] for e in events if e[0] == "notebook") == [
        ("Alpha", None, "00_tiny"),
        ("Zeta", "2026-09", "00_tiny"),
        ("Zeta", "2026-10", "00_tiny"),
    ]
    zeta_months = [e[1].month for e in events if e[0] == "done" and e[1].client == "Zeta"]
    assert zeta_months == ["2026-09", "2026-10"]
    before = {p: (out / p).read_bytes() for p in ("index.html", "runs.json")}
    second = cli("--config", path, "--out", out, "--json", "--quiet", "--jobs", "2")
    assert second.exit_code == 1
    assert {p: (out / p).read_bytes() for p in before} == before
    # --quiet: the failure only; --json: one object on stdout, nothing else
    assert second.stderr == (
        "aovlab: Broken Shop latest month: failed: broken/orders.csv: is not an export "
        "format aovlab knows\n"
    )
    payload = json.loads(second.stdout)
    assert payload["index"] == str(out / "index.html") and payload["status"] == "failed"
    assert [c["name"] for c in payload["clients"]] == ["Alpha", "Broken Shop", "Zeta"]
    zeta = payload["clients"][2]["months"]
    assert [(m["month"], m["status"], m["folder"]) for m in zeta] == [
        ("2026-09", "ok", str(out / "zeta" / "2026-09")),
        ("2026-10", "ok", str(out / "zeta" / "2026-10")),
    ]
    assert zeta[1]["figures"]["previous_month"] == "2026-09"
    assert books.is_dir() and not list(out.glob(".*"))
    # the salt reached the notebooks (read_options) but no file keeps it
    executed = (out / "zeta" / "2026-10" / "00_tiny.ipynb").read_text(encoding="utf-8")
    assert "the client's salt: not kept" in executed
    assert not [p for p in out.rglob("*") if p.is_file() and SALT.encode() in p.read_bytes()]


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_no_half_written_report(tmp_path):
    notebook_folder(tmp_path / "notebooks", "00_sleepy.ipynb", SLEEPY)
    orders = SAMPLE / "orders.csv"
    path = tmp_path / "clients.toml"
    path.write_text(
        f'notebooks = "notebooks"\n[[clients]]\nname = "Alpha"\norders = "{orders}"\n'
        f'months = "2026-08..2026-10"\n[[clients]]\nname = "Beta"\norders = "{orders}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "reports"
    command = [sys.executable, "-m", "aovlab.cli", "report", "--config", str(path)]
    process = subprocess.Popen(
        [*command, "--out", str(out), "--jobs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
        env={**os.environ, "PYTHONPATH": str(Path(aovlab.__file__).parents[1])},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not list(out.glob("*/.*.partial-*/*.ipynb")):
            time.sleep(0.3)
        assert list(out.glob("*/.*.partial-*")), "the notebook never started"
        time.sleep(1)
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert stdout == ""
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        "aovlab: interrupted: 0 of 4 client-month reports done; no half-written report "
        "folder is left, and the clients index was not rewritten"
    )
    assert [p.relative_to(out).as_posix() for p in out.rglob("*")] == ["alpha"]


def test_the_readme_example_is_a_valid_config(tmp_path):
    """Every key of the README's example is one read_config takes, with the value it shows."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = readme.split("#### Many clients", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    for name in ("are/orders_export.csv", "are/lines.csv", "are/catalog.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    message = refusal(tmp_path, example)
    assert "client 'Berlin Bikes GmbH', key 'orders': file not found" in message
    assert message.count("expected:") == 1  # the Berlin export only
    (tmp_path / "berlin").mkdir()
    (tmp_path / "berlin" / "Bestellungen.csv").touch()
    are, berlin = clients.read_config(tmp_path / "clients.toml").clients
    assert (are.slug, are.locale, are.months) == ("åre-outdoor-ab", "sv", ("2026-10",))
    assert are.read_options["salt"] == "a-secret-of-this-client"
    assert berlin.read_options == {
        "format": "canonical",
        "column_map": {"order_id": "Bestellnummer", "ordered_at": "Datum", "total": "Summe"},
        "sep": ";",
        "decimal": ",",
        "dayfirst": True,
        "encoding": "cp1252",
        "include_zero_value": False,
        "currency": "EUR",
        "timezone": "Europe/Stockholm",
    }
    assert berlin.months[0] == "2026-01" and len(berlin.months) == 10
    # every option is one aovlab.load takes (report.run passes them on)
    assert set(berlin.read_options) | set(are.read_options) <= set(
        inspect.signature(aovlab.load).parameters
    )


def test_a_salt_is_not_shared_by_every_client(tmp_path):
    text = refusal(tmp_path, '[defaults]\nsalt = "the-secret"\n\n' + ACME)
    assert "[defaults], key 'salt'" in text and "belongs to one client" in text
    assert "the-secret" not in text
