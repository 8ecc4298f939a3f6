"""Many clients, every month: ``aovlab report --config clients.toml``.

A TOML config lists the clients (name, export files, read options, currency, locale,
time zone, salt, months). :func:`read_config` checks all of it before anything runs and
refuses, naming the config file, the client and the key, what was expected and what was
found. :func:`run` then runs every client-month through :func:`aovlab.report.run`
(one folder per client and month, ``OUT/<client-slug>/<month>/``): clients in parallel
processes, up to ``jobs`` at a time; a client's months one after the other, oldest
first, so each month's ``summary.json`` exists when the next month runs. A broken export
or a failing notebook is recorded and never stops the others. At the end
:func:`write_index` writes ``OUT/index.html`` (every client with its months, headline
figures, status and links) and ``OUT/runs.json``, each into a temporary file moved into
place, byte-identical on a rerun.

The config::

    notebooks = "notebooks"          # optional: the folder of notebooks to run

    [defaults]                       # optional: any client key but name, orders and salt
    timezone = "Europe/Stockholm"

    [[clients]]
    name = "Sample Shop"
    orders = "orders.csv"            # relative paths: from the config's folder
    lines = "lines.csv"
    months = "2026-01..2026-10"      # default: the latest complete month
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import html
import json
import os
import re
import secrets
import signal
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aovlab import __version__, fmt
from aovlab.errors import AovlabInputError
from aovlab.report import first_line

#: The files of a client, as ``aovlab report`` takes them (orders is required).
FILE_KEYS = ("orders", "lines", "customers", "catalog", "traffic")

#: Every key a ``[[clients]]`` table may have, with what its value must be.
CLIENT_KEYS: dict[str, str] = {
    "name": "the client's name as the report shows it (text)",
    "orders": "the orders file or export (a path)",
    "lines": "the order lines file (a path)",
    "customers": "the customers file (a path)",
    "catalog": "the catalogue with unit costs (a path)",
    "traffic": "the daily sessions file (a path)",
    "format": "an export format",
    "map": 'a column map as --map takes it ("order_id=Order ID,total=Grand Total") '
    "or a table of canonical name = header",
    "sep": "one field separator character: ',' ';' '|' or 'tab'",
    "decimal": "the decimal mark of amounts: '.' or ','",
    "dayfirst": "true (03/04/2026 is 3 April) or false (March 4)",
    "encoding": "a text encoding such as utf-8 or cp1252",
    "include_zero_value": "true to keep orders with no merchandise value",
    "currency": "an ISO 4217 code such as EUR, SEK, GBP",
    "locale": "a locale such as sv, de, nl, nb or en-GB",
    "timezone": "an IANA time zone such as Europe/Stockholm",
    "salt": "the client's secret text that keys customer ids",
    "months": "a month (2026-10), a range (2026-01..2026-10) or a list of them",
}

#: The keys of the config's top level.
TOP_KEYS: dict[str, str] = {
    "notebooks": "the folder of notebooks to run (a path)",
    "defaults": "a table of client keys every client gets unless it sets its own",
    "clients": "the clients, as [[clients]] tables",
}

#: Keys a ``[defaults]`` table may not have: they belong to one client only.
#: Keys each client must give itself (a salt is a secret of its own per client).
_NOT_DEFAULTS = ("name", "orders", "salt")

_MONTH = re.compile(r"(\d{4})-(\d{2})")


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Client:
    """One client of a config, checked: absolute paths and load options."""

    name: str
    slug: str
    #: The client's files (orders, lines, ...), absolute.
    files: dict[str, str]
    #: Keyword arguments of :func:`aovlab.load` (currency, timezone, sep, salt, ...).
    read_options: dict[str, Any]
    locale: str | None
    #: The months to run, ascending; ``(None,)``: the latest complete month.
    months: tuple[str | None, ...]


@dataclass(frozen=True)
class Config:
    """A checked clients config."""

    path: Path
    clients: tuple[Client, ...]
    notebooks: Path | None = None


class ConfigError(AovlabInputError):
    """Every problem of a config, each naming the file, the client and the key."""

    def __init__(self, problems: Sequence[AovlabInputError]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(
            first.problem,
            source=first.source,
            expected=first.expected,
            found=first.found,
            hint=first.hint,
        )

    def _format(self) -> str:
        parts = [str(p) for p in getattr(self, "problems", [])]
        if len(parts) > 1:
            parts.insert(0, f"{len(parts)} problems in the config; nothing was run:")
        return "\n".join(parts)


def _suggest(key: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _kind(value: Any) -> str:
    """What a TOML value is, in words (never the value itself: it may be a secret)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def parse_months(value: Any, source: str = "months") -> tuple[str, ...]:
    """The months a ``months`` value names, ascending and each once.

    A month ``YYYY-MM``, a range ``YYYY-MM..YYYY-MM`` (both ends included) or a list of
    months and ranges.

    Examples
    --------
    >>> parse_months("2025-11..2026-02")
    ('2025-11', '2025-12', '2026-01', '2026-02')
    >>> parse_months(["2026-10", "2026-01..2026-02", "2026-01"])
    ('2026-01', '2026-02', '2026-10')
    >>> parse_months("2026-10..2026-01")
    Traceback (most recent call last):
    ...
    aovlab.errors.AovlabInputError: months: is not a month range: it ends before it starts
      expected: YYYY-MM..YYYY-MM from the earlier month to the later, e.g. 2026-01..2026-10
      found:    2026-10..2026-01
    """
    items = value if isinstance(value, list) else [value]
    if not items:
        raise AovlabInputError(
            "names no month",
            source=source,
            expected=CLIENT_KEYS["months"] + " (leave it out for the latest complete month)",
            found="an empty list",
        )
    months: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise AovlabInputError(
                "is not a month",
                source=source,
                expected=CLIENT_KEYS["months"],
                found=_kind(item),
            )
        text = item.strip()
        ends = [e.strip() for e in text.split("..")] if ".." in text else [text]
        if len(ends) > 2:
            raise AovlabInputError(
                "is not a month range",
                source=source,
                expected="YYYY-MM..YYYY-MM, e.g. 2026-01..2026-10",
                found=_unquoted(item),
            )
        indices = [_month_index(e, item, source) for e in ends]
        if indices[-1] < indices[0]:
            raise AovlabInputError(
                "is not a month range: it ends before it starts",
                source=source,
                expected="YYYY-MM..YYYY-MM from the earlier month to the later, "
                "e.g. 2026-01..2026-10",
                found=_unquoted(item),
            )
        months.update(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(indices[0], indices[-1] + 1))
    return tuple(sorted(months))


def _unquoted(text: str) -> str:
    # Quoted digits and dashes read as a phone number to the error's redaction.
    return text if text.strip() else repr(text)


def _month_index(text: str, item: str, source: str) -> int:
    match = _MONTH.fullmatch(text)
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise AovlabInputError(
            "is not a month" if ".." not in item else "is not a month range",
            source=source,
            expected="YYYY-MM with a month 01 to 12 (2026-10), or a range 2026-01..2026-10",
            found=_unquoted(item),
        )
    return int(match[1]) * 12 + int(match[2]) - 1


def read_config(path: str | Path, *, months: str | None = None) -> Config:
    r"""Read and check a clients config; every problem at once, before anything runs.

    ``months`` (the ``--months`` option) replaces every client's months.

    Raises
    ------
    ConfigError
        Naming the config file, the client and the key, what was expected and found.

    Examples
    --------
    >>> import aovlab, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "clients.toml").write_text(
    ...     '[[clients]]\nname = "Acme AB"\norders = "' + str(aovlab.sample.DATA_DIR / "orders.csv")
    ...     + '"\nmonths = "2026-09..2026-10"\nsepp = ";"\n'
    ... )
    >>> read_config(folder / "clients.toml")
    Traceback (most recent call last):
    ...
    aovlab.clients.ConfigError: .../clients.toml, client 'Acme AB', key 'sepp': unknown key
      expected: one of name, orders, lines, customers, catalog, traffic, format, map, sep, ...
      found:    sepp
      hint: did you mean 'sep'?
    >>> _ = (folder / "clients.toml").write_text(
    ...     '[[clients]]\nname = "Acme AB"\norders = "' + str(aovlab.sample.DATA_DIR / "orders.csv")
    ...     + '"\nmonths = "2026-09..2026-10"\nsep = ";"\n'
    ... )
    >>> config = read_config(folder / "clients.toml")
    >>> [(c.name, c.slug, c.months, c.read_options) for c in config.clients]
    [('Acme AB', 'acme-ab', ('2026-09', '2026-10'), {'sep': ';'})]
    """
    config_path = Path(path)
    shown = str(path)
    try:
        raw = config_path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [
                AovlabInputError(
                    "cannot be read",
                    source=shown,
                    expected="a clients config (TOML) such as data/sample/clients.toml",
                    found=exc.strerror or str(exc),
                )
            ]
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(
            [
                AovlabInputError(
                    "is not UTF-8 text",
                    source=shown,
                    expected="a TOML file saved as UTF-8",
                    found="bytes that are not UTF-8",
                )
            ]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [
                AovlabInputError(
                    "is not valid TOML",
                    source=shown,
                    expected='TOML, e.g. [[clients]] then name = "Acme AB" and '
                    'orders = "acme/orders.csv"',
                    found=str(exc),
                )
            ]
        ) from None
    return _check(data, config_path, shown, months)


def _check(data: dict[str, Any], config_path: Path, shown: str, months: str | None) -> Config:
    from aovlab.report import slug

    base = config_path.resolve().parent
    problems: list[AovlabInputError] = []

    def problem(where: str, text: str, expected: str, found: str, hint: str | None = None) -> None:
        problems.append(
            AovlabInputError(
                text, source=f"{shown}{where}", expected=expected, found=found, hint=hint
            )
        )

    for key in data:
        if key not in TOP_KEYS:
            hint = _suggest(key, TOP_KEYS)
            if key in CLIENT_KEYS:
                hint = f"'{key}' belongs in a [[clients]] table, or in [defaults] for every client"
            problem(
                f", key '{key}'",
                "unknown key",
                f"one of {', '.join(TOP_KEYS)}",
                key,
                hint,
            )
    cli_months: tuple[str, ...] | None = None
    if months is not None:
        try:
            cli_months = parse_months(months, source="--months")
        except AovlabInputError as exc:
            raise ConfigError([exc]) from None
    notebooks = None
    if "notebooks" in data:
        value = data["notebooks"]
        if not isinstance(value, str) or not value.strip():
            problem(", key 'notebooks'", "is not a folder", TOP_KEYS["notebooks"], _kind(value))
        else:
            notebooks = (base / value).resolve()
            if not notebooks.is_dir():
                problem(
                    ", key 'notebooks'",
                    "folder not found",
                    "an existing folder of notebooks (relative paths are read from the "
                    "config's folder)",
                    f"nothing at {notebooks}"
                    if not notebooks.exists()
                    else f"{notebooks} is a file",
                )
    defaults: dict[str, Any] = {}
    if "defaults" in data:
        if not isinstance(data["defaults"], dict):
            problem(
                ", key 'defaults'", "is not a table", TOP_KEYS["defaults"], _kind(data["defaults"])
            )
        else:
            defaults = data["defaults"]
            allowed = [k for k in CLIENT_KEYS if k not in _NOT_DEFAULTS]
            for key in defaults:
                if key in _NOT_DEFAULTS:
                    problem(
                        f", [defaults], key '{key}'",
                        "belongs to one client",
                        f"one of {', '.join(allowed)}",
                        key,
                        f"set '{key}' in each [[clients]] table",
                    )
                elif key not in CLIENT_KEYS:
                    problem(
                        f", [defaults], key '{key}'",
                        "unknown key",
                        f"one of {', '.join(allowed)}",
                        key,
                        _suggest(key, allowed),
                    )
    listed = data.get("clients")
    if not isinstance(listed, list) or not listed:
        if listed is None or listed == []:
            problem(
                "",
                "lists no clients",
                'at least one [[clients]] table with name = "..." and orders = "..."',
                "no [[clients]] table" if listed is None else "an empty list of clients",
            )
        else:
            problem(
                ", key 'clients'", "is not a list of clients", TOP_KEYS["clients"], _kind(listed)
            )
        raise ConfigError(problems)
    clients: list[Client] = []
    names: dict[str, int] = {}
    slugs: dict[str, tuple[int, str]] = {}
    for number, entry in enumerate(listed, start=1):
        if not isinstance(entry, dict):
            problem(f", client #{number}", "is not a table", "a [[clients]] table", _kind(entry))
            continue
        name = entry.get("name")
        if isinstance(name, str) and name.strip():
            name = name.strip()
            label = f", client '{name}'"
        else:
            label = f", client #{number}"
            problem(
                f"{label}, key 'name'",
                "is missing" if name is None else "is not a name",
                CLIENT_KEYS["name"],
                "no name"
                if name is None
                else _kind(name)
                if not isinstance(name, str)
                else "empty text",
            )
            name = None
        before = len(problems)
        for key in entry:
            if key not in CLIENT_KEYS:
                problem(
                    f"{label}, key '{key}'",
                    "unknown key",
                    f"one of {', '.join(CLIENT_KEYS)}",
                    key,
                    _suggest(key, CLIENT_KEYS),
                )
        merged = {**{k: v for k, v in defaults.items() if k in CLIENT_KEYS}, **entry}
        files: dict[str, str] = {}
        if "orders" not in entry:
            problem(f"{label}, key 'orders'", "is missing", CLIENT_KEYS["orders"], "no orders")
        for key in FILE_KEYS:
            if key not in merged:
                continue
            value = merged[key]
            where = f"{label}, key '{key}'"
            if not isinstance(value, str) or not value.strip():
                problem(where, "is not a path", CLIENT_KEYS[key], _kind(value))
                continue
            file = (base / value).resolve()
            if not file.exists():
                problem(
                    where,
                    "file not found",
                    "an existing file (relative paths are read from the config's folder)",
                    f"nothing at {file}",
                )
            elif file.is_dir() and key != "orders":  # orders may be a converted folder
                problem(where, "is a folder", "a file", str(file))
            else:
                files[key] = str(file)
        options = {}
        for key in (k for k in CLIENT_KEYS if k not in ("name", "months", *FILE_KEYS)):
            if key in merged:
                try:
                    # `map` as --map names it; aovlab.load calls it column_map.
                    options["column_map" if key == "map" else key] = _option(key, merged[key])
                except AovlabInputError as exc:
                    problem(
                        f"{label}, key '{key}'",
                        exc.problem,
                        exc.expected or CLIENT_KEYS[key],
                        exc.found or "",
                        exc.hint,
                    )
        client_months: tuple[str | None, ...] = (None,)
        if cli_months is not None:
            client_months = cli_months
        elif "months" in merged:
            try:
                client_months = parse_months(
                    merged["months"], source=f"{shown}{label}, key 'months'"
                )
            except AovlabInputError as exc:
                problems.append(exc)
        if name is not None:
            if name in names:
                problem(
                    f"{label}, key 'name'",
                    "names a client twice",
                    "each client once",
                    f"clients #{names[name]} and #{number} are both called '{name}'",
                )
            else:
                names[name] = number
                folder = slug(name)
                if folder in slugs:
                    other_number, other = slugs[folder]
                    problem(
                        f"{label}, key 'name'",
                        "would share a report folder with another client",
                        "names that differ in more than case, punctuation or spaces",
                        f"'{other}' (#{other_number}) and '{name}' (#{number}) both write to {folder}/",
                    )
                slugs.setdefault(folder, (number, name))
        if name is None or len(problems) > before:
            continue
        locale = options.pop("locale", None)
        clients.append(
            Client(
                name=name,
                slug=slug(name),
                files=files,
                read_options=options,
                locale=locale,
                months=client_months,
            )
        )
    if problems:
        raise ConfigError(problems)
    return Config(path=config_path, clients=tuple(clients), notebooks=notebooks)


def _option(key: str, value: Any) -> Any:
    """A checked read option (the form :func:`aovlab.load` takes); AovlabInputError else."""
    from aovlab.io.canonical import parse_column_map
    from aovlab.io.formats import FORMATS
    from aovlab.io.parse import check_currency, check_sep, check_timezone

    def wrong(problem: str, found: str) -> AovlabInputError:
        return AovlabInputError(problem, expected=CLIENT_KEYS[key], found=found)

    if key in ("dayfirst", "include_zero_value"):
        if not isinstance(value, bool):
            raise wrong("is not true or false", _kind(value))
        return value
    if key == "map" and isinstance(value, dict):
        if not value or not all(isinstance(v, str) and v for v in value.values()):
            raise wrong("is not a column map", "a table whose values are not all headers (text)")
        return dict(value)
    if not isinstance(value, str):
        raise wrong("is not text", _kind(value))
    if key == "salt":
        if not value:
            raise wrong("is empty", "empty text")
        return value
    if key == "map":
        try:
            return parse_column_map(value)
        except AovlabInputError as exc:
            raise wrong("is not a column map", exc.found or repr(value)) from None
    if key == "format":
        names = [f.name for f in FORMATS]
        if value not in names:
            raise AovlabInputError(
                "unknown format",
                expected=f"one of {', '.join(names)}",
                found=repr(value),
                hint=_suggest(value, names),
            )
        return value
    if key == "sep":
        sep = "\t" if value.lower() in ("\\t", "tab") else value
        try:
            return check_sep(sep)
        except AovlabInputError as exc:
            raise wrong(exc.problem, exc.found or repr(value)) from None
    if key == "decimal":
        if value not in (".", ","):
            raise wrong("is not a decimal mark", repr(value))
        return value
    if key == "encoding":
        try:
            codecs.lookup(value)
        except LookupError:
            raise wrong("is not a text encoding", repr(value)) from None
        return value
    if key == "currency":
        try:
            return check_currency(value)
        except AovlabInputError as exc:
            raise wrong(exc.problem, exc.found or repr(value)) from None
    if key == "timezone":
        try:
            return check_timezone(value)
        except AovlabInputError as exc:
            raise wrong(exc.problem, exc.found or repr(value)) from None
    if key == "locale":
        return _check_locale(value)
    raise AssertionError(key)  # pragma: no cover - every key is handled above


def _check_locale(value: str) -> str:
    """A locale Babel knows (``sv``, ``de``, ``en-GB``, ``nb``), as :func:`aovlab.locales.check` reads it."""
    from aovlab import locales

    try:
        return locales.check(value)
    except AovlabInputError:
        raise AovlabInputError(
            "is not a locale",
            expected=CLIENT_KEYS["locale"],
            found=repr(value),
        ) from None


# --------------------------------------------------------------------------- running


@dataclass
class MonthRun:
    """What happened to one client-month."""

    client: str
    slug: str
    #: The month run; None when it was to be the latest complete month and the run
    #: failed before that was known.
    month: str | None
    status: str  # "ok" or "failed"
    #: The report folder, relative to the reports folder (None: nothing was written).
    folder: str | None = None
    #: What failed: ``{"notebook": name or None (the export, the month), "error": line}``.
    errors: list[dict[str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    """One client's work, as a worker process gets it."""

    client: Client
    out: str
    notebooks: str | None
    timeout: int
    config_dir: str


_QUEUE: Any = None
_STOP: Any = None


def _worker_init(queue: Any, stop: Any) -> None:
    """A worker process: events go to ``queue``; Ctrl-C is for the main process to pass on.

    ``stop`` (an Event) set: no further month starts.
    """
    global _QUEUE, _STOP
    _QUEUE, _STOP = queue, stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The kernels' start-up chatter (they inherit this stderr) would bury the progress;
    # whatever fails is reported through the queue instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _emit(*event: Any) -> None:
    if _QUEUE is not None:
        _QUEUE.put(event)


def _interrupt(signum: int, frame: Any) -> None:
    # Once: a second Ctrl-C must not cut report.run's cleaning up of its partial folder.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _run_client(job: _Job) -> list[MonthRun]:
    """Every month of one client, in order; each failure recorded, never raised."""
    from aovlab import report

    client = job.client
    extra: dict[str, Any] = {"locale": client.locale}
    records: list[MonthRun] = []
    for month in client.months:
        if _STOP is not None and _STOP.is_set():
            break
        _emit("start", client.name, month, os.getpid())
        record = MonthRun(client=client.name, slug=client.slug, month=month, status="ok")
        extra["progress"] = lambda name, m=month: _emit("notebook", client.name, m, name)
        in_worker = _STOP is not None  # a worker process (not a test calling this)
        if in_worker:
            signal.signal(signal.SIGINT, _interrupt)
        arguments: dict[str, Any] = {
            **{k: v for k, v in client.files.items() if k != "orders"},
            **extra,
            **client.read_options,
        }
        try:
            asked = month
            for attempt in range(KERNEL_START_RETRIES + 1):
                outcome = report.run(
                    client.files["orders"],
                    month=asked,
                    client=client.name,
                    out=job.out,
                    notebooks=job.notebooks,
                    timeout=job.timeout,
                    **arguments,
                )
                if not any(_kernel_did_not_start(b.error) for b in outcome.failed):
                    break
                if attempt < KERNEL_START_RETRIES:
                    asked = outcome.folder.name  # "the latest month" is known now
                    _emit("retry", client.name, month)
        except KeyboardInterrupt:
            _emit("interrupted", client.name, month)
            return records
        except AovlabInputError as exc:
            record.status = "failed"
            record.errors.append({"notebook": None, "error": _local(first_line(str(exc)), job)})
        except OSError as exc:
            record.status = "failed"
            where = _local(str(exc.filename or job.out), job)
            record.errors.append(
                {
                    "notebook": None,
                    "error": f"cannot write the report ({where}): {exc.strerror or exc}",
                }
            )
        except Exception as exc:  # a bug: reported for this client-month, the rest go on
            record.status = "failed"
            text = f"{type(exc).__name__}: {first_line(str(exc))}"
            record.errors.append({"notebook": None, "error": _local(text, job)})
        else:
            record.month = outcome.folder.name
            record.folder = f"{outcome.folder.parent.name}/{outcome.folder.name}"
            for book in outcome.failed:
                record.status = "failed"
                record.errors.append({"notebook": book.name, "error": first_line(book.error or "")})
        finally:
            if in_worker:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
        records.append(record)
        _emit("done", asdict(record))
    return records


#: How many times a month runs again when a notebook's kernel did not start. That is no
#: fault of the client's: jupyter_client picks free ports for a kernel before the kernel
#: binds them, and another kernel starting at the same moment (a parallel client) can
#: take one in between ("Address already in use"; about one start in 70 with two jobs
#: on two busy cores).
KERNEL_START_RETRIES = 2

_KERNEL_START_ERRORS = ("Kernel died before replying to kernel_info", "Kernel didn't respond in")


def _kernel_did_not_start(error: str | None) -> bool:
    """Whether a notebook failed because its kernel never started (worth a second try).

    >>> _kernel_did_not_start("RuntimeError: Kernel died before replying to kernel_info")
    True
    >>> _kernel_did_not_start("AovlabInputError: orders.csv (orders): file not found")
    False
    """
    return any(text in (error or "") for text in _KERNEL_START_ERRORS)


def _local(text: str, job: _Job) -> str:
    """An error without local folders, the same on a rerun.

    The config's folder goes (its paths read as the config writes them), and so do the
    reports folder and the temporary folder (:func:`aovlab.report._scrub`), and the
    random part of a partial folder's name.
    """
    from aovlab.report import _scrub

    folders = [job.config_dir, str(Path(job.out).resolve()), job.out, tempfile.gettempdir()]
    text = _scrub(text, sorted({f for f in folders if f.strip("/")}, key=len, reverse=True))
    return re.sub(r"(\.\d{4}-\d{2}\.partial)-[0-9a-f]{8}", r"\1", text)


class InterruptedRunError(Exception):
    """The run was stopped with Ctrl-C; ``done`` client-months had landed."""

    def __init__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        super().__init__(
            f"interrupted: {done} of {total} client-month reports done; no half-written "
            "report folder is left, and the clients index was not rewritten"
        )


#: Called with each event of a run: ("start", client, month, pid),
#: ("notebook", client, month, name), ("done", MonthRun), ("interrupted", client, month).
Listener = Callable[[tuple[Any, ...]], None]

#: Seconds a worker gets, after Ctrl-C, to remove its partial folder and stop.
STOP_SECONDS = 30


@dataclass
class RunOutcome:
    """A whole config run: every client-month, and where the clients index went."""

    runs: list[MonthRun]
    index: Path
    runs_json: Path

    @property
    def failed(self) -> list[MonthRun]:
        """The client-months with a failure (a broken export, a failed notebook)."""
        return [r for r in self.runs if r.status != "ok"]


def notebook_count(notebooks: Path | None) -> int:
    """How many notebooks each client-month runs (checks the folder as report.run will)."""
    from aovlab import report

    return len(report._notebooks(notebooks or report.NOTEBOOKS_DIR))


def run(
    config: Config,
    *,
    out: str | Path,
    jobs: int | None = None,
    notebooks: str | Path | None = None,
    timeout: int = 600,
    listener: Listener | None = None,
) -> RunOutcome:
    """Run every client-month of a config, then write the clients index and runs.json.

    Clients run in parallel processes, up to ``jobs`` (default: the cores); a client's
    months run in order, oldest first. ``notebooks`` replaces the config's folder of
    notebooks. Raises :class:`InterruptedRunError` on Ctrl-C, after the running reports have
    removed their partial folders.
    """
    import multiprocessing
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
    from concurrent.futures import wait as wait_futures

    from aovlab.report import _writable_folder

    out_folder = _writable_folder(Path(out))
    books = Path(notebooks).resolve() if notebooks else config.notebooks
    workers = max(1, min(jobs or os.cpu_count() or 1, len(config.clients)))
    total = sum(len(c.months) for c in config.clients)
    config_dir = str(config.path.resolve().parent)
    # Spawned, not forked: the parent may hold polars' thread pool, which a fork copies
    # half-way.
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    stop = context.Event()
    #: What the workers said as they went (for the display, and for a worker that died).
    reported: dict[str, list[MonthRun]] = {c.name: [] for c in config.clients}
    results: dict[str, list[MonthRun]] = {}
    busy: dict[int, str] = {}

    def handle(event: tuple[Any, ...]) -> None:
        if event[0] == "start":
            busy[event[3]] = event[1]
        elif event[0] == "done":
            record = MonthRun(**event[1])
            reported[record.client].append(record)
            event = ("done", record)
        if listener is not None:
            listener(event)

    def drain(block: float | None = None) -> None:
        try:
            handle(events.get(timeout=block) if block else events.get_nowait())
            while True:
                handle(events.get_nowait())
        except queue_mod.Empty:
            pass

    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_worker_init,
        initargs=(events, stop),
    )
    futures: dict[Future[list[MonthRun]], Client] = {}
    try:
        for client in config.clients:
            job = _Job(client, str(out_folder), str(books) if books else None, timeout, config_dir)
            futures[pool.submit(_run_client, job)] = client
        pending = set(futures)
        while pending:
            done, pending = wait_futures(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for future in done:
                client = futures[future]
                results[client.name] = _result(future, client, reported, drain)
        pool.shutdown(wait=True)
        drain()
    except KeyboardInterrupt:
        stop.set()
        _stop(futures, busy, drain)
        landed = sum(r.folder is not None for v in reported.values() for r in v)
        raise InterruptedRunError(landed, total) from None
    finally:
        # Wait for the pool's manager thread to end (after Ctrl-C, _stop has ended or
        # killed the workers): one left running when the interpreter exits can print a
        # traceback from concurrent.futures' exit hook (its wake-up pipe already closed).
        with contextlib.suppress(KeyboardInterrupt):
            pool.shutdown(wait=True, cancel_futures=True)
    runs = [r for c in config.clients for r in results[c.name]]
    index, runs_json = write_index(out_folder, config, runs)
    return RunOutcome(runs=runs, index=index, runs_json=runs_json)


def _result(
    future: Any, client: Client, reported: dict[str, list[MonthRun]], drain: Any
) -> list[MonthRun]:
    """A client's months as its worker returned them.

    If the worker died: what it said before, and each month it never reported, failed
    with the reason.
    """
    try:
        return list(future.result())
    except Exception as exc:  # BrokenProcessPool: a worker killed by the system
        error = (
            f"the process running this client stopped: {type(exc).__name__}: {first_line(str(exc))}"
        )
    drain(0.5)  # the last events of the dead worker, if any are on their way
    records = list(reported[client.name])
    if records and client.months == (None,):
        return records
    have = {r.month for r in records}
    for month in client.months:
        if month not in have:
            records.append(
                MonthRun(
                    client=client.name,
                    slug=client.slug,
                    month=month,
                    status="failed",
                    errors=[{"notebook": None, "error": error}],
                )
            )
    return sorted(records, key=_month_key)


def _stop(futures: dict[Any, Client], busy: dict[int, str], drain: Any) -> None:
    """After Ctrl-C: no new client-month starts; running ones clean up, then stop."""
    for future in futures:
        future.cancel()
    # Workers ignore SIGINT while idle (no traceback from the pool's own code); a running
    # report gets it here (if the terminal did not send it already), removes its partial
    # folder and returns.
    for pid in busy:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_SECONDS
    running = [f for f in futures if not f.done()]
    while running and time.monotonic() < deadline:
        try:
            time.sleep(0.2)
            with contextlib.suppress(Exception):
                drain()
        except KeyboardInterrupt:  # asked again: stop waiting
            break
        running = [f for f in running if not f.done()]
    stuck = {futures[f].name for f in running}
    for pid, name in busy.items():
        if name in stuck:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- the index


def _summary(out: Path, folder: str) -> dict[str, Any] | None:
    try:
        data = json.loads((out / folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _figures(data: dict[str, Any] | None) -> dict[str, Any]:
    """The headline figures of a month's summary.json (None where it has none)."""
    data = data or {}
    kpis, change, previous = (_part(data, k, dict) for k in ("kpis", "change", "previous"))
    return {
        "currency": data.get("currency"),
        "orders": kpis.get("orders"),
        "revenue": kpis.get("revenue"),
        "aov": kpis.get("aov"),
        "aov_change": change.get("aov"),
        "previous_month": previous.get("month"),
    }


def _part(data: dict[str, Any], key: str, kind: type) -> Any:
    """``data[key]`` when it is of ``kind`` (a summary.json written by another version)."""
    value = data.get(key)
    return value if isinstance(value, kind) else kind()


def _earlier(out: Path, client: Client, ran: set[str]) -> list[MonthRun]:
    """Months of a client already in the reports folder from earlier runs."""
    folder = out / client.slug
    if not folder.is_dir():
        return []
    found = []
    for month in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        if (
            month in ran
            or not _MONTH.fullmatch(month)
            or not (folder / month / "summary.json").is_file()
        ):
            continue
        data = _summary(out, f"{client.slug}/{month}") or {}
        books = _part(data, "notebooks", list)
        errors: list[dict[str, str | None]] = [
            {"notebook": str(b.get("name")), "error": first_line(str(b.get("error") or ""))}
            for b in books
            if isinstance(b, dict) and b.get("status") == "failed"
        ]
        found.append(
            MonthRun(
                client=client.name,
                slug=client.slug,
                month=month,
                status="failed" if errors else "ok",
                folder=f"{client.slug}/{month}",
                errors=errors,
            )
        )
    return found


def _order(config: Config) -> list[Client]:
    return sorted(config.clients, key=lambda c: (c.name.casefold(), c.name))


def _month_key(run: MonthRun) -> str:
    return run.month or ""


def runs_data(out: Path, config: Config, runs: list[MonthRun]) -> dict[str, Any]:
    """The machine-readable record of a run (what runs.json holds): no paths but relative ones."""
    by_client: dict[str, list[MonthRun]] = {}
    for record in runs:
        by_client.setdefault(record.client, []).append(record)
    clients = []
    for client in _order(config):
        mine = sorted(by_client.get(client.name, []), key=_month_key)
        months = []
        for record in mine:
            entry = asdict(record)
            del entry["client"], entry["slug"]
            entry["index"] = f"{record.folder}/index.html" if record.folder else None
            entry["figures"] = _figures(_summary(out, record.folder)) if record.folder else None
            months.append(entry)
        clients.append(
            {
                "name": client.name,
                "slug": client.slug,
                "status": "ok" if all(r.status == "ok" for r in mine) else "failed",
                "months": months,
            }
        )
    failed = sum(r.status != "ok" for r in runs)
    return {
        "aovlab": __version__,
        "config": config.path.name,
        "status": "failed" if failed else "ok",
        "reports": {"total": len(runs), "ok": len(runs) - failed, "failed": failed},
        "clients": clients,
    }


def _write_atomic(target: Path, text: str) -> None:
    """Write a file whole or not at all: into a hidden temporary file, then moved."""
    temporary = target.with_name(f".{target.name}.partial-{secrets.token_hex(4)}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def write_index(out: str | Path, config: Config, runs: list[MonthRun]) -> tuple[Path, Path]:
    """Write ``out/index.html`` and ``out/runs.json`` (each atomically); their paths.

    The index lists each client (by name) with this run's months and the months earlier
    runs left in ``out``; the same runs give the same bytes.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> acme = Client("Acme AB", "acme-ab", {}, {}, None, (None,))
    >>> config = Config(Path("clients.toml"), (acme,))
    >>> broken = MonthRun(
    ...     "Acme AB", "acme-ab", None, "failed",
    ...     errors=[{"notebook": None, "error": "orders.csv: <not> an export"}],
    ... )
    >>> index, runs = write_index(folder, config, [broken])
    >>> json.loads(runs.read_text())["reports"]
    {'failed': 1, 'ok': 0, 'total': 1}
    >>> "orders.csv: &lt;not&gt; an export" in index.read_text()
    True
    >>> before = index.read_bytes()
    >>> write_index(folder, config, [broken])[0].read_bytes() == before
    True
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    data = runs_data(folder, config, runs)
    runs_json = folder / "runs.json"
    _write_atomic(runs_json, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    index = folder / "index.html"
    _write_atomic(index, _index_html(folder, config, runs))
    return index, runs_json


_STYLE = """
body { font-family: Liberation Sans, Helvetica, Arial, sans-serif; max-width: 960px; margin: 2em auto; color: #222; padding: 0 1em; }
h1 { font-size: 24px; margin-bottom: 0; } .sub { color: #666; margin-top: 4px; }
h2 { font-size: 18px; margin: 1.6em 0 0.4em; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 1.5em 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; min-width: 130px; }
.label { color: #666; font-size: 12px; } .value { font-size: 20px; font-weight: bold; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { color: #666; font-weight: normal; font-size: 12px; }
td.num { text-align: right; white-space: nowrap; } th.num { text-align: right; }
td.month { white-space: nowrap; }
.failed { color: #b5443b; } .ok { color: #2e7d32; } .earlier { color: #666; }
.failed pre { white-space: pre-wrap; background: #fbf1f0; padding: 6px 8px; color: #222; margin: 4px 0 0; font-size: 12px; }
@media (max-width: 600px) { body { margin: 1em auto; } table { font-size: 13px; } th, td { padding: 4px 5px; }
  .card { min-width: 80px; padding: 6px 10px; } .value { font-size: 17px; } }
@media print { body { max-width: none; margin: 0; } a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; } tr { break-inside: avoid; } .wide { overflow: visible; } }
"""


def _index_html(out: Path, config: Config, runs: list[MonthRun]) -> str:
    e = html.escape
    by_client: dict[str, list[MonthRun]] = {}
    for record in runs:
        by_client.setdefault(record.client, []).append(record)
    failed = sum(r.status != "ok" for r in runs)
    sections = []
    overview = []
    for client in _order(config):
        mine = by_client.get(client.name, [])
        ran = {r.month for r in mine if r.month}
        rows = sorted(
            [(r, True) for r in mine] + [(r, False) for r in _earlier(out, client, ran)],
            key=lambda item: _month_key(item[0]),
            reverse=True,
        )
        client_ok = all(r.status == "ok" for r in mine)
        status = (
            "<span class='ok'>ok</span>"
            if client_ok
            else f"<span class='failed'>{sum(r.status != 'ok' for r in mine)} failed</span>"
        )
        anchor = f"client-{e(client.slug)}"
        latest = next((r for r, _ in rows if r.folder), None)
        latest_figures = _figures(_summary(out, latest.folder)) if latest and latest.folder else {}
        overview.append(
            "<tr>"
            f"<td><a href='#{anchor}'>{e(client.name)}</a></td>"
            f"<td class='month'>{e(latest.month or '') if latest else '–'}</td>"
            + _figure_cells(latest_figures)
            + f"<td>{status}</td></tr>"
        )
        body = []
        for record, this_run in rows:
            figures = _figures(_summary(out, record.folder)) if record.folder else {}
            month = e(record.month or "latest complete month")
            link = (
                f"<a href='{e(quote(record.folder + '/index.html'))}'>{month}</a>"
                if record.folder
                else month
            )
            if record.status == "ok":
                state = "ok" if this_run else "ok (earlier run)"
                css = "ok" if this_run else "earlier"
            else:
                what = (
                    "report not written"
                    if not record.folder
                    else (
                        f"{len(record.errors)} notebook{'s' if len(record.errors) != 1 else ''} failed"
                    )
                )
                state, css = (f"failed: {what}", "failed")
                if not this_run:
                    state += " (earlier run)"
            errors = "".join(
                f"<pre>{e(str(err['notebook']) + ': ' if err.get('notebook') else '')}"
                f"{e(str(err.get('error') or ''))}</pre>"
                for err in record.errors
            )
            body.append(
                f"<tr><td class='month'>{link}</td>"
                + _figure_cells(figures)
                + f"<td class='{css}'>{e(state)}{errors}</td></tr>"
            )
        sections.append(
            f"<h2 id='{anchor}'>{e(client.name)}</h2>"
            "<div class='wide'><table><thead><tr><th>Month</th><th class='num'>Orders</th>"
            "<th class='num'>AOV</th><th class='num'>AOV change</th><th>Status</th></tr>"
            f"</thead><tbody>{''.join(body)}</tbody></table></div>"
        )
    cards = "".join(
        f"<div class='card'><div class='label'>{e(label)}</div><div class='value'>{e(value)}</div></div>"
        for label, value in (
            ("Clients", fmt.count(len(config.clients))),
            ("Reports this run", fmt.count(len(runs))),
            ("Failed", fmt.count(failed)),
        )
    )
    title = "Clients: monthly AOV reports"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{e(title)}</h1>
<p class="sub">From {e(config.path.name)}: {fmt.count(len(config.clients))} clients. Net merchandise basis, each in its own currency. Generated by aovlab {e(__version__)}.</p>
<div class="cards">{cards}</div>
<p class="sub">Each client's latest report; AOV change is against the month before.</p>
<div class="wide"><table><thead><tr><th>Client</th><th>Month</th><th class='num'>Orders</th><th class='num'>AOV</th><th class='num'>AOV change</th><th>This run</th></tr></thead>
<tbody>{"".join(overview)}</tbody></table></div>
{"".join(sections)}
<p>Machine-readable: <a href="runs.json">runs.json</a>.</p>
</body></html>
"""


def _figure_cells(figures: dict[str, Any]) -> str:
    e = html.escape
    if not figures:
        return "<td class='num'>–</td>" * 3
    cur = figures.get("currency")
    change = figures.get("aov_change")
    shown_change = fmt.pct(change, signed=True) if change is not None else "–"
    return (
        f"<td class='num'>{e(fmt.count(figures.get('orders')))}</td>"
        f"<td class='num'>{e(fmt.money(figures.get('aov'), cur))}</td>"
        f"<td class='num'>{e(shown_change)}</td>"
    )


# --------------------------------------------------------------------------- command


def command(
    config_path: str | Path,
    *,
    out: str | Path,
    jobs: int | None = None,
    months: str | None = None,
    notebooks: str | Path | None = None,
    timeout: int = 600,
    quiet: bool = False,
    as_json: bool = False,
) -> int:
    """``aovlab report --config``: check the config, run it, say how it went; the exit status.

    Progress goes to stderr (``quiet``: only the failures); stdout gets the clients
    index's path, or with ``as_json`` one JSON object and nothing else. Raises
    :class:`ConfigError` (or AovlabInputError for the notebooks or reports folder)
    before anything runs, and :class:`InterruptedRunError` on Ctrl-C.
    """
    import sys

    from rich.console import Console

    config = read_config(config_path, months=months)
    books = Path(notebooks) if notebooks else config.notebooks
    per_month = notebook_count(books)
    total = sum(len(c.months) for c in config.clients)
    err = Console(stderr=True)
    display = _Display(err, config, per_month, total) if not quiet else None

    def listener(event: tuple[Any, ...]) -> None:
        if event[0] == "done" and quiet and event[1].status != "ok":
            for line in _failure_lines(event[1]):
                err.print(f"aovlab: {line}", markup=False, highlight=False, soft_wrap=True)
        if display is not None:
            display.update(event)

    started = time.monotonic()
    try:
        if display is not None:
            display.start()
        outcome = run(
            config, out=out, jobs=jobs, notebooks=notebooks, timeout=timeout, listener=listener
        )
    finally:
        if display is not None:
            display.stop()
    failed = outcome.failed
    if not quiet:
        seconds = time.monotonic() - started
        err.print(
            f"{len(config.clients)} clients, {len(outcome.runs)} reports: "
            f"{len(outcome.runs) - len(failed)} ok, {len(failed)} failed "
            f"in {seconds:.0f} s; details in {outcome.runs_json}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if as_json:
        data = json.loads(outcome.runs_json.read_text(encoding="utf-8"))
        data["index"] = str(outcome.index.resolve())
        data["out"] = str(outcome.index.parent.resolve())
        for client in data["clients"]:
            for month in client["months"]:
                if month["folder"]:
                    month["folder"] = str((outcome.index.parent / month["folder"]).resolve())
                if month["index"]:
                    month["index"] = str((outcome.index.parent / month["index"]).resolve())
        sys.stdout.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")
    else:
        sys.stdout.write(f"{outcome.index.resolve()}\n")
    sys.stdout.flush()
    return 1 if failed else 0


def _failure_lines(record: MonthRun) -> list[str]:
    """One line per failure of a client-month: client, month, notebook, the error."""
    month = record.month or "latest month"
    return [
        f"{record.client} {month}: "
        + (f"{err['notebook']} failed: " if err.get("notebook") else "failed: ")
        + str(err.get("error") or "")
        for err in record.errors
    ]


class _Display:
    """Progress on stderr: clients and notebooks done, what runs now, elapsed time.

    One line for each client-month running now: its notebooks done, the last one's name.
    """

    def __init__(self, console: Any, config: Config, per_month: int, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.per_month = per_month
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.clients_left = {c.name: len(c.months) for c in config.clients}
        self.clients = self.progress.add_task("clients", total=len(config.clients))
        self.books = self.progress.add_task("notebooks", total=total * per_month)
        #: The running client-months: their line's task and notebooks done.
        self.running: dict[tuple[str, str | None], tuple[Any, int]] = {}

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()

    def _finish(self, key: tuple[str, str | None]) -> None:
        """Take a client-month's line away; count the notebooks it did not run as done."""
        if key not in self.running and key[1] is not None:
            key = (key[0], None)  # asked as "the latest month": named only once done
        task, done = self.running.pop(key, (None, 0))
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self.books, self.per_month - done)

    def update(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "start":
            key = (event[1], event[2])
            task = self.progress.add_task(
                f"  {event[1]} {event[2] or 'latest month'}", total=self.per_month
            )
            self.running[key] = (task, 0)
        elif kind == "notebook":
            key = (event[1], event[2])
            task, done = self.running.get(key, (None, 0))
            if task is not None:
                self.running[key] = (task, done + 1)
                self.progress.update(
                    task,
                    advance=1,
                    description=f"  {event[1]} {event[2] or 'latest month'}: {event[3]}",
                )
            self.progress.advance(self.books)
        elif kind == "retry":  # the month runs again: its notebooks count again
            key = (event[1], event[2])
            task, done = self.running.get(key, (None, 0))
            if task is not None:
                self.running[key] = (task, 0)
                self.progress.update(
                    task,
                    completed=0,
                    description=f"  {event[1]} {event[2] or 'latest month'}: again (a kernel did not start)",
                )
            self.progress.advance(self.books, -done)
        elif kind == "interrupted":
            self._finish((event[1], event[2]))
        elif kind == "done":
            record: MonthRun = event[1]
            self._finish((record.client, record.month))
            if record.status == "ok":
                self.console.print(
                    f"ok      {record.client} {record.month}", markup=False, highlight=False
                )
            else:
                for line in _failure_lines(record):
                    self.console.print(
                        f"FAILED  {line}",
                        style="red",
                        markup=False,
                        highlight=False,
                        soft_wrap=True,
                    )
            self.clients_left[record.client] -= 1
            if not self.clients_left[record.client]:
                self.progress.advance(self.clients)
