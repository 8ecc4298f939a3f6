"""A client's export read once and kept as canonical Parquet: the fast path for every run.

``aovlab convert EXPORT --out shop/`` (:func:`write`) reads and validates an export with
its read options and writes the validated canonical tables as ``shop/<table>.parquet``,
with a ``shop.json`` that names the shop, its currency and time zone, the read options,
the load's notes and the files it came from (by name). The same object is in each
Parquet file's metadata under ``aovlab``. ``aovlab.load(orders="shop/")`` (:func:`read`)
gives the same figures as loading the export, without parsing text again.

The tables were checked when the export was read, so reading the folder trusts them
when each file still has the rows and columns ``shop.json`` lists: the shop then holds
lazy Parquet scans, and each analysis reads only the columns it uses. A file that was
changed since (other columns or types, another row count) is checked again, like any
Parquet table.

Nothing secret or personal is written: the per-client salt is not kept (customer ids are
already its hashes), and personal columns and values were removed by the load.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from aovlab import __version__
from aovlab.errors import AovlabInputError, Note
from aovlab.model import ShopData

FORMAT = "aovlab-converted"
#: The version of the checks a converted folder passed. Bump it whenever the load's
#: checks change (a pattern of personal data, a rule for amounts): folders converted
#: before are then checked again when read, instead of being trusted.
CHECKS = 2
TABLES = ("orders", "lines", "customers", "catalog", "traffic")
META_FILE = "shop.json"


def is_converted(path: str | Path) -> bool:
    """Whether a path is a folder written by :func:`write`."""
    folder = Path(path)
    meta = folder / META_FILE
    if not (folder.is_dir() and meta.is_file() and (folder / "orders.parquet").is_file()):
        return False
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def write(
    shop: ShopData,
    out: str | Path,
    *,
    sources: dict[str, str] | None = None,
    read_options: dict[str, Any] | None = None,
) -> list[Path]:
    """Write a validated shop as canonical Parquet plus ``shop.json``; return the paths.

    ``sources`` names the files each table came from (only their names are kept);
    ``read_options`` the options it was read with (the salt is never kept).

    Examples
    --------
    >>> import tempfile, aovlab
    >>> shop = aovlab.sample.load()
    >>> folder = tempfile.mkdtemp()
    >>> [p.name for p in write(shop, folder)]
    ['orders.parquet', 'lines.parquet', 'customers.parquet', 'catalog.parquet', 'traffic.parquet', 'shop.json']
    >>> again = aovlab.load(orders=folder)
    >>> aovlab.metrics.kpis(again).rows() == aovlab.metrics.kpis(shop).rows()
    True
    """
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise AovlabInputError(
            "is a file", source=str(folder), expected="a folder to write into", found="a file"
        )
    folder.mkdir(parents=True, exist_ok=True)
    options = {k: v for k, v in (read_options or {}).items() if v is not None and k != "salt"}
    meta = {
        "format": FORMAT,
        "aovlab": __version__,
        "name": shop.name,
        "currency": shop.currency,
        "timezone": shop.timezone,
        "tax_included": shop.tax_included,
        "source_format": shop.format,
        "rows_read": shop.rows_read,
        "sources": {t: Path(p).name for t, p in (sources or {}).items()},
        "read_options": options,
        "notes": [
            {
                "level": n.level,
                "table": n.table,
                "message": n.message,
                "examples": list(n.examples),
                "count": n.count,
            }
            for n in shop.notes
        ],
    }
    natives: dict[str, pl.DataFrame] = {}
    for table in TABLES:
        frame = getattr(shop, table)
        if frame is None:
            continue
        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        # Categorical dimensions stay categoricals (Parquet keeps each text once).
        natives[table] = frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)
    meta["checks"] = CHECKS
    meta["tables"] = {
        table: {"rows": frame.height, "schema": _schema(frame.schema)}
        for table, frame in natives.items()
    }
    text = json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    written = []
    for table, native in natives.items():
        path = folder / f"{table}.parquet"
        native.write_parquet(path, metadata={"aovlab": text})
        written.append(path)
    (folder / META_FILE).write_text(text, encoding="utf-8")
    return [*written, folder / META_FILE]


def _schema(schema: Any) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in schema.items()}


def _unchanged(folder: Path, meta: dict[str, Any], text: str) -> bool:
    """Whether every table file is as :func:`write` left it.

    The folder must have passed the current checks (:data:`CHECKS`), and each file must
    still carry this folder's ``shop.json`` in its own metadata (a file rewritten by
    another tool does not), and the rows and columns recorded there. Reads only the
    Parquet footers.
    """
    recorded = meta.get("tables")
    if not isinstance(recorded, dict) or meta.get("checks") != CHECKS:
        return False  # written by an earlier aovlab, or checked by older rules: check again
    present = {t for t in TABLES if (folder / f"{t}.parquet").is_file()}
    if present != set(recorded):
        return False
    for table in present:
        file = folder / f"{table}.parquet"
        try:
            if pl.read_parquet_metadata(file).get("aovlab") != text:
                return False
            schema = _schema(pl.read_parquet_schema(file))
            rows = pl.scan_parquet(file).select(pl.len()).collect().item()
        except (pl.exceptions.PolarsError, OSError):
            return False
        if schema != recorded[table].get("schema") or rows != recorded[table].get("rows"):
            return False
    return True


def read(
    path: str | Path, *, backend: str | None = None, tables: Iterable[str] | None = None
) -> ShopData:
    """Load a folder written by :func:`write`: the same figures as the export it came from.

    The tables are lazy Parquet scans when the files are as written (see the module
    docstring), else read and checked again. ``tables``: only these (orders always);
    default every table in the folder.
    """
    folder = Path(path)
    wanted = set(TABLES) if tables is None else {"orders", *tables}
    text = (folder / META_FILE).read_text(encoding="utf-8")
    meta = json.loads(text)
    if _unchanged(folder, meta, text):
        trusted = ShopData(
            **{
                t: pl.scan_parquet(folder / f"{t}.parquet")
                for t in TABLES
                if t in wanted and (folder / f"{t}.parquet").is_file()
            },
            currency=meta.get("currency"),
            timezone=meta.get("timezone") or "UTC",
            tax_included=bool(meta.get("tax_included", False)),
            name=meta.get("name"),
            notes=tuple(_notes(meta)),
            format=meta.get("source_format", FORMAT),
            rows_read=meta.get("rows_read"),
        )
        return trusted.to_backend(backend) if backend else trusted
    frames: dict[str, Any] = {}
    for table in TABLES:
        file = folder / f"{table}.parquet"
        if table in wanted and file.is_file():
            frames[table] = pl.read_parquet(file)
    sources = {t: str(folder / f"{t}.parquet") for t in frames}
    shop = ShopData.from_frames(
        frames.pop("orders"),
        **frames,
        currency=meta.get("currency"),
        timezone=meta.get("timezone"),
        name=meta.get("name"),
        sources=sources,
        # The export's load already left out what it had to; keep what it kept.
        include_zero_value=True,
    )
    kept = _notes(meta)
    said = {(n.table, n.message) for n in kept}
    notes = (*kept, *(n for n in shop.notes if (n.table, n.message) not in said))
    shop = replace(
        shop,
        notes=notes,
        format=meta.get("source_format", FORMAT),
        rows_read=meta.get("rows_read"),
        tax_included=bool(meta.get("tax_included", shop.tax_included)),
    )
    return shop.to_backend(backend) if backend else shop


def _notes(meta: dict[str, Any]) -> list[Note]:
    return [
        Note(n["level"], n["table"], n["message"], tuple(n["examples"]), n["count"])
        for n in meta.get("notes", [])
    ]
