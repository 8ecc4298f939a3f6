"""Export formats, detected from the header; each reader returns canonical tables.

A format is recognised by the columns its header must have (compared without case or
spaces). ``format=`` forces one. An unknown header is refused with the formats tried
and the closest one's missing columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aovlab.errors import AovlabInputError
from aovlab.io import invoice, shopify, woocommerce
from aovlab.io.parse import head_text, read_text
from aovlab.io.result import Read
from aovlab.model import ShopData

Reader = Callable[[Any, dict[str, Any], str], Read]


@dataclass(frozen=True)
class Format:
    """A known export format: its name, the header columns that identify it, its reader."""

    name: str
    required: tuple[str, ...]
    read: Reader | None  # None: canonical files, read by aovlab.io.canonical
    description: str


def _key(column: str) -> str:
    return column.strip().lstrip("\ufeff").lower().replace(" ", "").replace("_", "")


FORMATS: tuple[Format, ...] = (
    Format("canonical", ("order_id", "ordered_at"), None, "aovlab's canonical orders table"),
    Format("shopify", shopify.REQUIRED, shopify.read, 'Shopify "Export orders" CSV'),
    Format(
        "woocommerce",
        woocommerce.REQUIRED,
        woocommerce.read,
        "WooCommerce order export, one row per item",
    ),
    Format(
        "invoice_lines",
        invoice.REQUIRED,
        invoice.read,
        "invoice lines (UCI Online Retail, ERP exports)",
    ),
)


def detect(columns: list[str], source: str, forced: str | None = None) -> Format:
    """The format whose required columns the header has (or the forced one, checked).

    >>> detect(["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice"], "x.csv").name
    'invoice_lines'
    """
    have = {_key(c) for c in columns}
    by_name = {f.name: f for f in FORMATS}
    if forced is not None and forced not in by_name:
        raise AovlabInputError(
            "unknown format",
            source=source,
            expected=f"one of {', '.join(by_name)}",
            found=repr(forced),
        )
    candidates = [by_name[forced]] if forced else list(FORMATS)
    for fmt in candidates:
        if all(_key(c) in have for c in fmt.required):
            return fmt
    # Closest: the most required columns present, then the fewest missing.
    closest = max(
        candidates,
        key=lambda f: (
            sum(_key(c) in have for c in f.required),
            -sum(_key(c) not in have for c in f.required),
        ),
    )
    missing = [c for c in closest.required if _key(c) not in have]
    raise AovlabInputError(
        "is not an export format aovlab knows" if not forced else f"is not a {forced} export",
        source=source,
        expected="the header of one of: "
        + "; ".join(f"{f.name} ({f.description})" for f in candidates),
        found=f"closest is {closest.name}, which also needs {', '.join(missing)}",
        present=columns,
    )


def is_canonical(path: str | Path) -> bool:
    """Whether a file's header has the canonical orders columns (cheap: reads the start)."""
    file = Path(path)
    if file.suffix.lower() in (".parquet", ".pq", ".xlsx"):
        return True  # binary tables: canonical (or mapped with column_map)
    try:
        text = head_text(file)
    except (OSError, AovlabInputError):
        return True  # let the canonical reader report what is wrong with the file
    first = next((line for line in text.splitlines() if line.strip()), "")
    keys = {_key(c.strip().strip('"')) for c in re.split(r"[,;\t|]", first)}
    return all(_key(c) in keys for c in FORMATS[0].required)


def read_export(
    path: str | Path,
    *,
    format: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    dayfirst: bool | None = None,
    currency: str | None = None,
    timezone: str | None = None,
    name: str | None = None,
    catalog: Any | None = None,
    customers: Any | None = None,
    traffic: Any | None = None,
    salt: str | None = None,
    include_zero_value: bool = False,
    sources: dict[str, str] | None = None,
) -> ShopData:
    r"""Read a platform or ERP export into a validated ShopData.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "erp.csv").write_text(
    ...     "InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country\n"
    ...     "1001;A1;Tält;2;23.11.2026 10:00;12,50;17850.0;Sweden\n"
    ...     "1001;POST;Postage;1;23.11.2026 10:00;5,00;17850.0;Sweden\n"
    ...     "C1002;A1;Tält;-1;24.11.2026 09:00;12,50;17850.0;Sweden\n",
    ...     encoding="cp1252",
    ... )
    >>> shop = read_export(folder / "erp.csv", currency="SEK", timezone="Europe/Stockholm")
    >>> shop.orders.select("order_id", "customer_id", "merchandise", "shipping", "total").row(0)
    ('1001', '17850', 25.0, 5.0, 30.0)
    """
    file = Path(path)
    text = read_text(file, sep=sep, encoding=encoding)
    fmt = detect(text.frame.columns, str(file), format)
    if fmt.read is None:
        raise AovlabInputError(
            "is a canonical orders file",
            source=str(file),
            expected="aovlab.load for canonical files",
            found="canonical columns",
        )
    options = {"decimal": decimal, "dayfirst": dayfirst, "salt": salt}
    tables, notes, origins = fmt.read(text, options, str(file))
    rows_read = text.frame.height
    del text  # the file's text columns: free them before the tables are validated
    shop = ShopData.from_frames(
        tables["orders"],
        tables.get("lines"),
        customers=customers,
        catalog=catalog,
        traffic=traffic,
        currency=currency,
        timezone=timezone,
        name=name,
        sources={**(sources or {}), "orders": str(file), "lines": str(file)},
        origins=origins,
        include_zero_value=include_zero_value,
        salt=salt,
    )
    return replace(shop, notes=(*notes, *shop.notes), format=fmt.name, rows_read=rows_read)
