"""Canonical CSV / Parquet files into a validated ShopData."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from aovlab import engines
from aovlab.engines import check_engine
from aovlab.errors import AovlabInputError
from aovlab.io import converted
from aovlab.io.parse import (
    check_currency,
    check_gzip,
    check_last_line,
    check_sep,
    check_timezone,
    detect_dayfirst,
    drop_blank_rows,
    head_text,
    parse_amounts,
    ragged_row,
    read_text,
    tail_text,
    to_iso_dates,
)
from aovlab.model import ORDER_COLUMNS, ShopData, backend_of

#: A small JSON file beside the orders file that names the shop, its currency and time
#: zone, e.g. ``{"name": "Nordic Trail", "currency": "EUR", "timezone": "Europe/Stockholm"}``.
SHOP_FILE = "shop.json"

PathOrFrame = str | Path | Any


def read_table(
    path: str | Path, table: str, *, dimensions: Iterable[str] | None = None, **options: Any
) -> pl.DataFrame:
    """Read one canonical table from CSV or Parquet.

    Plain UTF-8, comma-separated files take a fast typed read. Anything else (another
    separator or encoding, decimal commas, currency symbols, day-first dates) is read as
    text and parsed with what :mod:`aovlab.io.parse` can detect, or with ``options``
    (``sep``, ``encoding``, ``decimal``, ``dayfirst``); what it cannot decide is refused.
    ``dimensions``: for orders, see :func:`load` (a CSV or Parquet file reads only those
    columns; other files drop the rest after reading).
    """
    frame = _read_table(Path(path), table, options, dimensions)
    if dimensions is None or table != "orders":
        return frame
    keep = kept_columns(frame.columns, dimensions)
    return frame if keep is None or len(keep) == len(frame.columns) else frame.select(keep)


def kept_columns(header: Iterable[str], dimensions: Iterable[str]) -> list[str] | None:
    """The orders columns to read: the canonical ones and ``dimensions``; None for all.

    None when a dimension named is not in the header, so that whatever asks for it
    says what the file has. Names compare as the loader reads them (trimmed, lower case).

    >>> kept_columns(["Order_ID", "ordered_at", "channel", "device", "email"], ["channel"])
    ['Order_ID', 'ordered_at', 'channel']
    >>> kept_columns(["order_id", "channel"], ["colour"]) is None
    True
    >>> kept_columns(["order_id", "total", "total_duplicated_0"], []) is None
    True
    """
    columns = list(header)
    names = {c: c.strip().lstrip("\ufeff").lower() for c in columns}
    wanted = {d.strip().lower() for d in dimensions}
    if not wanted <= set(names.values()):
        return None
    # A header that names a column twice is an error the full read reports.
    if len(set(names.values())) < len(columns) or any("_duplicated_" in n for n in names.values()):
        return None
    return [c for c in columns if names[c] in ORDER_COLUMNS or names[c] in wanted]


def _read_table(
    path: Path, table: str, options: dict[str, Any], dimensions: Iterable[str] | None
) -> pl.DataFrame:
    check_sep(options.get("sep"))
    file = path
    if not file.exists():
        raise AovlabInputError(
            "file not found",
            source=str(file),
            table=table,
            expected="an existing file",
            found="nothing at that path",
        )
    if file.is_dir():
        raise AovlabInputError(
            "is a folder", source=str(file), table=table, expected="a file", found="a folder"
        )
    suffix = "".join(file.suffixes[-2:]).lower() if file.suffix == ".gz" else file.suffix.lower()
    try:
        if suffix in (".parquet", ".pq", ".xlsx"):
            mapped = options.get("column_map")
            if suffix != ".xlsx" and dimensions is not None and table == "orders" and not mapped:
                keep = kept_columns(pl.read_parquet_schema(file), dimensions)
                return pl.read_parquet(file, columns=keep)
            frame = pl.read_parquet(file) if suffix != ".xlsx" else _read_excel(file, table)
            if options.get("column_map"):
                frame = _apply_map(frame, options["column_map"], str(file))
            return frame
        if suffix in (".csv", ".txt", ".csv.gz"):
            if file.stat().st_size == 0:
                raise AovlabInputError(
                    "is empty",
                    source=str(file),
                    table=table,
                    expected="a header row and data rows",
                    found="0 bytes",
                )
            if _plain(file, options) and not options.get("column_map"):
                fast = _read_csv(file, table, dimensions)
                if fast is not None and not _needs_date_detection(fast):
                    return fast
            return _read_text_table(file, table, options)
    except AovlabInputError:
        raise
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, EOFError) as exc:
        if suffix == ".csv.gz":
            check_gzip(file)  # a cut or corrupt gzip says so, not "cannot be read"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        ragged = (
            ragged_row(file.read_text(encoding="utf-8", errors="replace"), ",")
            if suffix in (".csv", ".txt")
            else None
        )
        if ragged is not None:
            row, width, found = ragged
            raise AovlabInputError(
                "has a row with the wrong number of fields",
                row_label="file row",
                source=str(file),
                table=table,
                rows=[row],
                expected=f"{width} fields like the header",
                found=f"{found} fields",
                hint="a separator inside an unquoted value, or "
                "a decimal comma written without quotes",
            ) from None
        raise AovlabInputError(
            "cannot be read as a canonical table",
            source=str(file),
            table=table,
            expected=f"a UTF-8 CSV with a header row, or Parquet ({table})",
            found=first[:300],
        ) from None
    raise AovlabInputError(
        "has a file type aovlab cannot read",
        source=str(file),
        table=table,
        expected=".csv, .csv.gz, .parquet or .xlsx",
        found=repr(file.suffix or "(no suffix)"),
    )


#: Canonical columns that hold numbers: read typed first, which is fast on large files.
NUMERIC_COLUMNS = frozenset(
    {
        "merchandise",
        "discount",
        "shipping",
        "tax",
        "total",
        "refunded",
        "units",
        "cogs",
        "quantity",
        "unit_price",
        "unit_cost",
        "sessions",
    }
)


def _read_excel(file: Path, table: str) -> pl.DataFrame:
    """The first sheet of a workbook: numbers and dates keep the types Excel gave them."""
    try:
        frame = pl.read_excel(file, sheet_id=1)
    except Exception as exc:  # fastexcel raises its own error types
        raise AovlabInputError(
            "cannot be read as an Excel workbook",
            source=str(file),
            table=table,
            expected="an .xlsx file whose first sheet has a header row",
            found=str(exc).strip().splitlines()[0][:300]
            if str(exc).strip()
            else type(exc).__name__,
        ) from None
    return drop_blank_rows(frame.rename({c: str(c).strip() for c in frame.columns}))


def _plain(file: Path, options: dict[str, Any]) -> bool:
    """A UTF-8, comma-separated file with no option asking for anything else."""
    if options.get("encoding") not in (None, "utf-8", "utf8") or options.get("decimal") == ",":
        return False
    if options.get("sep") not in (None, ",") or options.get("dayfirst") is not None:
        return False
    try:
        text = head_text(file)
    except AovlabInputError:
        return False
    if not (file.suffix.lower() == ".gz" or _utf8(file)):
        return False
    first = text.splitlines()[0] if text else ""
    return first.count(",") >= max(first.count(";"), first.count("\t"))


def _needs_date_detection(frame: pl.DataFrame) -> bool:
    """A date column written day/month/year (or month/day/year) needs the text path."""
    for column in frame.columns:
        if column.strip().lower() in DATE_COLUMNS and frame.schema[column] == pl.String:
            first = frame[column].drop_nulls().head(1).to_list()
            if first and _DMY.match(first[0]):
                return True
    return False


_DMY = re.compile(r"^\s*\d{1,2}[./-]\d{1,2}[./-]\d{4}")


def _utf8(file: Path) -> bool:
    """Whether the file's first megabyte is UTF-8 (only that megabyte is read).

    A byte beyond it that is not UTF-8 still stops the typed read (polars refuses
    invalid UTF-8), which then falls back to the text path and its encoding detection.
    """
    with file.open("rb") as f:
        head = f.read(_UTF8_SAMPLE)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4 and len(head) == _UTF8_SAMPLE  # a cut character
    return True


_UTF8_SAMPLE = 1_000_000


def _read_csv(
    file: Path, table: str, dimensions: Iterable[str] | None = None
) -> pl.DataFrame | None:
    """Fast path: numeric canonical columns typed, the rest text; None if a number fails.

    Columns that repeat a few values on many rows (an order's channel, device or
    country; a line's product and category) are read as categoricals: a number per
    row and each text once, a fraction of the memory of text. With ``dimensions``
    (orders), the other dimension columns are not read at all.
    """
    header = pl.read_csv(file, n_rows=0, infer_schema=False, raise_if_empty=True).columns
    keep = (
        kept_columns(header, dimensions) if dimensions is not None and table == "orders" else None
    )
    names = {c: c.strip().lstrip("\ufeff").lower() for c in (keep or header)}
    typed: dict[str, Any] = {c: pl.Float64 for c, n in names.items() if n in NUMERIC_COLUMNS}
    repeated = _REPEATED.get(table)
    if repeated is not None:
        typed |= {c: pl.Categorical for c, n in names.items() if repeated(n)}
    options: dict[str, Any] = {"infer_schema": False, "encoding": "utf8", "raise_if_empty": True}
    if keep is not None and len(keep) < len(header):
        options["columns"] = keep
    try:
        frame = pl.read_csv(file, schema_overrides=typed or None, **options)
    except pl.exceptions.ComputeError:
        return None  # a number that is not plain, or bytes that are not UTF-8: text path
    unblank = drop_blank_rows(frame) if frame.null_count().sum_horizontal().item() else frame
    if "columns" in options and unblank.height < frame.height:
        # A row empty in the columns read may hold a value in one left out: read every
        # column, so that a row is only dropped when it is blank in the file.
        return _read_csv(file, table)
    if typed:
        tail = tail_text(file)  # of the decompressed text when gzipped
        check_last_line(tail, ",", len(header), frame.height, str(file))
    return unblank


DATE_COLUMNS = frozenset({"ordered_at", "date", "loyalty_joined_at", "signed_up_at"})

#: Per table, which columns are read as categoricals: an order's dimensions (every
#: column that is not canonical), a line's product and category.
_REPEATED = {
    "orders": lambda name: name not in ORDER_COLUMNS and name not in NUMERIC_COLUMNS,
    "lines": lambda name: name in ("product", "category"),
}


def _read_text_table(file: Path, table: str, options: dict[str, Any]) -> pl.DataFrame:
    """European text files: detected encoding, separator, decimal mark and date order."""
    text = read_text(file, sep=options.get("sep"), encoding=options.get("encoding"))
    frame = text.frame
    if options.get("column_map"):
        frame = _apply_map(frame, options["column_map"], str(file))
    numeric = [c for c in frame.columns if c.strip().lower() in NUMERIC_COLUMNS]
    if numeric:
        frame, _ = parse_amounts(
            frame, numeric, decimal=options.get("decimal"), source=str(file), table=table
        )
    for column in [c for c in frame.columns if c.strip().lower() in DATE_COLUMNS]:
        dayfirst = options.get("dayfirst")
        if dayfirst is None:
            dayfirst = detect_dayfirst(frame[column], str(file), column)
        if dayfirst is not None:
            frame = to_iso_dates(frame, column, dayfirst)
    return frame


def _apply_map(frame: Any, column_map: dict[str, str], source: str | None) -> Any:
    """Rename the file's headers to canonical names; the mapped headers must exist."""
    columns = [str(c) for c in frame.columns]
    by_key = {c.strip().lower(): c for c in columns}
    # A header twice ("Grand Total,Grand Total"; polars names the second one
    # "Grand Total_duplicated_0"): which one is the total cannot be told.
    keys = [re.sub(r"_duplicated_\d+$", "", c.strip().lower()) for c in columns]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise AovlabInputError(
            "has the same column more than once",
            source=source,
            table="orders",
            expected="each column once (which of the two would be meant?)",
            found=", ".join(f"'{k}' twice" for k in twice),
            present=[c for c in columns if not re.search(r"_duplicated_\d+$", c)],
        )
    renames = {}
    for canonical, header in column_map.items():
        found = by_key.get(header.strip().lower())
        if found is None:
            raise AovlabInputError(
                f"has no column '{header}' to map to {canonical}",
                source=source,
                table="orders",
                expected=f"a column named {header}",
                found="no such column",
                present=columns,
            )
        renames[found] = canonical
    return (
        frame.rename(renames) if isinstance(frame, pl.DataFrame) else frame.rename(columns=renames)
    )


_MAP_PAIR = re.compile(r'\s*(?P<name>\w+)\s*=\s*(?:"(?P<quoted>[^"]*)"|(?P<plain>[^,]*))\s*,?')


def parse_column_map(text: str) -> dict[str, str]:
    """Parse ``order_id=Order ID,ordered_at=Order Date`` (quotes allowed around headers).

    >>> parse_column_map('order_id=Order ID,total="Grand Total, EUR"')
    {'order_id': 'Order ID', 'total': 'Grand Total, EUR'}
    """
    mapping = {}
    position = 0
    for match in _MAP_PAIR.finditer(text):
        if text[position : match.start()].strip(", "):
            break
        header = match["quoted"] if match["quoted"] is not None else match["plain"].strip()
        if header:
            mapping[match["name"]] = header
        position = match.end()
    if not mapping or text[position:].strip(", "):
        raise AovlabInputError(
            "is not a column mapping",
            column="--map",
            expected="canonical=Header pairs separated by commas",
            found=repr(text[position:] or text),
        )
    return mapping


def shop_file(orders: Any) -> dict[str, Any]:
    """The shop.json beside the orders file: name, currency, timezone, salt (all text).

    Unknown keys are ignored; a known key with a value that is not text (``123``,
    ``["x"]``) or a currency that is not an ISO 4217 code is refused, naming the key.
    """
    if not isinstance(orders, str | Path):
        return {}
    meta = Path(orders).parent / SHOP_FILE
    if not meta.is_file():
        return {}
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AovlabInputError(
            "cannot be read", source=str(meta), expected="a JSON object", found=str(exc)
        ) from None
    if not isinstance(data, dict):
        raise AovlabInputError(
            "is not a JSON object", source=str(meta), expected="{...}", found=type(data).__name__
        )
    examples = {
        "name": '"Nordic Trail"',
        "currency": '"EUR" (an ISO 4217 code)',
        "timezone": '"Europe/Stockholm" (an IANA time zone)',
        "salt": "a secret text",
    }
    for key, example in examples.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise AovlabInputError(
                f"has a value for '{key}' that is not text",
                source=str(meta),
                expected=f"text, e.g. {example}",
                found=json.dumps(value, ensure_ascii=False)[:100],
            )
    if data.get("currency") is not None:
        check_currency(data["currency"], f"{meta}, 'currency'")
    if data.get("timezone") is not None:
        try:
            check_timezone(data["timezone"])
        except AovlabInputError:
            raise AovlabInputError(
                "has a 'timezone' that is not a time zone",
                source=str(meta),
                expected="an IANA time zone such as Europe/Stockholm, Europe/Berlin or UTC",
                found=json.dumps(data["timezone"], ensure_ascii=False)[:100],
            ) from None
    return data


def load(
    orders: PathOrFrame,
    lines: PathOrFrame | None = None,
    customers: PathOrFrame | None = None,
    catalog: PathOrFrame | None = None,
    traffic: PathOrFrame | None = None,
    *,
    currency: str | None = None,
    timezone: str | None = None,
    name: str | None = None,
    backend: str | None = None,
    format: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    dayfirst: bool | None = None,
    salt: str | None = None,
    column_map: dict[str, str] | None = None,
    include_zero_value: bool = False,
    dimensions: Iterable[str] | None = None,
    engine: str | None = None,
) -> ShopData:
    """Load canonical tables (paths or frames) into a validated :class:`ShopData`.

    Parameters
    ----------
    orders, lines, customers, catalog, traffic
        A path to a canonical CSV/Parquet file, or a pandas/polars frame.
    currency, timezone, name
        The shop's ISO 4217 currency, IANA time zone and display name. When omitted they
        come from a ``shop.json`` beside the orders file, then from the data (a
        ``currency`` column); the time zone falls back to UTC. Naive timestamps are read
        as local times in the time zone; timestamps with a UTC offset are converted to it.
    backend
        ``"polars"`` or ``"pandas"`` for the tables of the result. Default: the backend
        of frames passed in, else polars.
    format, sep, encoding, decimal, dayfirst
        For exports that are not canonical (their header is detected, see
        :mod:`aovlab.io.formats`): force a format, or settle what cannot be detected.
    salt
        The per-client secret that turns emails into stable pseudonymous customer ids
        (also read from ``shop.json``).
    column_map
        For order-level exports with headers no reader knows (Magento's grid, BigCommerce,
        spreadsheets): canonical name -> the file's header, e.g.
        ``{"order_id": "Order ID", "ordered_at": "Order Date", "total": "Grand Total"}``.
    include_zero_value
        Keep orders with no merchandise value (every line priced 0). By default they are
        left out, as they are not sales (stock adjustments, free replacements), and the
        notes say how many.
    dimensions
        The order columns to keep beside the canonical ones (default: every one). The
        others are not read from a canonical CSV or Parquet file at all, so they cost no
        time or memory, are not checked and appear in no result: the command line
        passes the one it groups by. If a name is not a column of the file, every
        column is read (an analysis asked for it then lists those there are). Frames,
        platform exports and converted shops ignore it.
    engine
        ``"polars"`` (default: in memory, the fastest for what fits), ``"duckdb"``
        (embedded; data larger than memory spills to disk) or ``"spark"``. With an
        engine, the tables are Parquet (files, folders, globs such as
        ``orders/*.parquet``, or a folder from ``aovlab convert``) or frames of that
        engine; they are checked there and stay there, and analyses collect only
        their aggregates (:mod:`aovlab.engines`).

    Examples
    --------
    >>> import aovlab
    >>> folder = aovlab.sample.DATA_DIR
    >>> shop = aovlab.load(orders=folder / "orders.csv", lines=folder / "lines.csv")
    >>> shop.currency, shop.timezone
    ('EUR', 'Europe/Stockholm')
    >>> aovlab.load(orders=folder / "nothing.csv")
    Traceback (most recent call last):
    ...
    aovlab.errors.AovlabInputError: .../nothing.csv (orders): file not found
      expected: an existing file
      found:    nothing at that path
    """
    check_currency(currency, "currency=")
    check_timezone(timezone, "timezone=")
    if engine is not None and check_engine(engine) != "polars":
        return engines.load(
            {
                "orders": orders,
                "lines": lines,
                "customers": customers,
                "catalog": catalog,
                "traffic": traffic,
            },
            engine=check_engine(engine),
            currency=currency,
            timezone=timezone,
            name=name,
            include_zero_value=include_zero_value,
        )
    if isinstance(orders, str | Path) and converted.is_converted(orders):
        named = {"lines": lines, "customers": customers, "catalog": catalog, "traffic": traffic}
        alongside = {t: v for t, v in named.items() if v is not None}
        # The folder's own table files may be named, to read those tables only.
        inside = {
            t
            for t, v in alongside.items()
            if isinstance(v, str | Path)
            and Path(v).resolve() == (Path(orders) / f"{t}.parquet").resolve()
        }
        if set(alongside) - inside:
            raise AovlabInputError(
                "is a converted shop with its tables inside",
                source=str(orders),
                expected="the folder alone (aovlab convert wrote every table into it), "
                "or with its own table files to read only those",
                found=f"{', '.join(sorted(set(alongside) - inside))} given as well",
            )
        tables = ("orders", *sorted(inside)) if inside else None
        return converted.read(orders, backend=backend, tables=tables)
    meta = shop_file(orders)
    if column_map:
        format = format or "canonical"
    if isinstance(orders, str | Path) and (
        format not in (None, "canonical") or not (column_map or is_canonical(orders))
    ):
        if lines is not None:
            raise AovlabInputError(
                "carries its own order lines",
                source=str(orders),
                expected="an export alone (its line items are read from it), or canonical "
                "orders with a lines file",
                found=f"a lines file as well: {lines}",
                hint="leave out --lines / lines= for platform exports",
            )
        extra = {"catalog": catalog, "customers": customers, "traffic": traffic}
        side_sources = {t: str(v) for t, v in extra.items() if isinstance(v, str | Path)}
        side: dict[str, Any] = {
            t: read_table(v, t, sep=sep, encoding=encoding, decimal=decimal, dayfirst=dayfirst)
            if isinstance(v, str | Path)
            else v
            for t, v in extra.items()
        }
        shop = read_export(
            orders,
            format=format,
            sep=sep,
            encoding=encoding,
            decimal=decimal,
            dayfirst=dayfirst,
            currency=currency or meta.get("currency"),
            timezone=timezone or meta.get("timezone"),
            name=name or meta.get("name"),
            salt=salt or meta.get("salt"),
            include_zero_value=include_zero_value,
            sources=side_sources,
            **side,
        )
        return shop.to_backend(backend) if backend else shop
    given = {
        "orders": orders,
        "lines": lines,
        "customers": customers,
        "catalog": catalog,
        "traffic": traffic,
    }
    sources: dict[str, str] = {}
    frames: dict[str, Any] = {}
    for table, value in given.items():
        if value is None:
            continue
        if isinstance(value, str | Path):
            sources[table] = str(value)
            frames[table] = read_table(
                value,
                table,
                dimensions=dimensions if table == "orders" and not column_map else None,
                sep=sep,
                encoding=encoding,
                decimal=decimal,
                dayfirst=dayfirst,
                column_map=column_map if table == "orders" else None,
            )
        else:
            frames[table] = value
    if column_map and "orders" not in sources:  # files were mapped as they were read
        frames["orders"] = _apply_map(frames["orders"], column_map, None)
    passed = [backend_of(f) for t, f in frames.items() if t not in sources]
    target = backend or (passed[0] if passed else "polars")
    if target == "pandas":
        frames = {t: (f.to_pandas() if t in sources else f) for t, f in frames.items()}
    elif target == "polars":
        frames = {
            t: (pl.from_pandas(f) if backend_of(f) == "pandas" else f) for t, f in frames.items()
        }
    else:
        raise AovlabInputError("unknown backend", expected="polars or pandas", found=repr(target))
    rows_read = len(frames["orders"])
    shop = ShopData.from_frames(
        frames.pop("orders"),
        **frames,
        currency=currency or meta.get("currency"),
        timezone=timezone or meta.get("timezone"),
        name=name or meta.get("name"),
        sources=sources,
        include_zero_value=include_zero_value,
        salt=salt or meta.get("salt"),
    )
    return replace(shop, rows_read=rows_read)


from aovlab.io.formats import is_canonical, read_export  # noqa: E402 - formats imports this module's siblings
