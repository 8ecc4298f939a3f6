"""The canonical tables every reader produces and every analysis reads.

``orders`` has one row per order; only ``order_id``, ``ordered_at`` and one revenue
column (``merchandise`` or ``total``) are required, so a three-column spreadsheet is a
valid shop. Every other canonical column has a documented default (see
:data:`ORDER_COLUMNS`); any further column is kept as a dimension (channel, device,
country, discount_code, ...).

``ShopData.from_frames`` validates and normalises pandas or polars frames without
touching the caller's objects; the result keeps the caller's backend, so pandas in gives
pandas out and polars in gives polars out.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import narwhals.stable.v2 as nw
import polars as pl
from narwhals.dependencies import is_pandas_dataframe

from aovlab import fmt
from aovlab.errors import AovlabInputError, Note
from aovlab.privacy import (
    DEFAULT_SALT,
    REDACTED,
    hash_id,
    is_personal_column,
    personal_values,
)

#: Order statuses the model knows. ``cancelled`` orders are never counted.
STATUSES: tuple[str, ...] = ("paid", "partially_refunded", "refunded", "cancelled", "pending")
EXCLUDED_STATUSES: tuple[str, ...] = ("cancelled",)
#: Platform status words (Magento, BigCommerce, WooCommerce, spreadsheets) and their status.
STATUS_SYNONYMS: dict[str, str] = {
    "complete": "paid",
    "completed": "paid",
    "processing": "paid",
    "shipped": "paid",
    "partially_shipped": "paid",
    "awaiting_fulfillment": "paid",
    "awaiting_shipment": "paid",
    "awaiting_pickup": "paid",
    "closed": "refunded",
    "canceled": "cancelled",
    "declined": "cancelled",
    "failed": "cancelled",
    "voided": "cancelled",
    "holded": "pending",
    "on_hold": "pending",
    "pending_payment": "pending",
    "awaiting_payment": "pending",
    "authorized": "pending",
    "partially_paid": "pending",
}
#: Every status word aovlab understands -> its canonical status. Readers and the model
#: map statuses through this one table, after lower-casing and joining words with "_".
STATUS_MAP: dict[str, str] = {**{s: s for s in STATUSES}, **STATUS_SYNONYMS}
STATUS_SEPARATORS = r"[\s-]+"

#: Canonical order columns and what they default to when absent.
ORDER_COLUMNS: dict[str, str] = {
    "order_id": "required; text, unique",
    "ordered_at": "required; date-time, read in the shop's time zone",
    "merchandise": "sum of quantity x unit price before order discounts; "
    "default: the lines' sum, else total - shipping - tax + discount",
    "total": "what the customer paid; default: merchandise - discount + shipping + tax",
    "customer_id": "default: empty (guest checkout)",
    "currency": "default: the shop's currency",
    "discount": "order-level discount, >= 0; default 0",
    "shipping": "shipping charged, >= 0; default 0",
    "tax": "tax, >= 0; default 0",
    "refunded": "amount refunded so far, >= 0; default 0",
    "status": f"one of {', '.join(STATUSES)} (platform words such as complete, shipped or "
    "canceled are mapped); default paid",
    "units": "items in the order; from the lines when given, else this column (order-level exports)",
    "cogs": "cost of goods of the order, >= 0; from the lines' unit costs when given "
    "(empty when any line lacks one), else this column",
    "test": "true for test orders, which are never counted; default false",
}
#: Canonical text columns that stay text even when given as categoricals.
_TEXT_KEYS = frozenset({*ORDER_COLUMNS, "sku"})
#: A shop's tables, in the order they are read.
TABLES: tuple[str, ...] = ("orders", "lines", "customers", "catalog", "traffic")
MONEY: tuple[str, ...] = ("merchandise", "discount", "shipping", "tax", "total", "refunded")
NON_NEGATIVE: tuple[str, ...] = ("discount", "shipping", "tax", "refunded")
DEFAULT_TIMEZONE = "UTC"
_MINOR_UNITS = {"JPY": 0, "ISK": 0, "KRW": 0, "CLP": 0, "BHD": 3, "KWD": 3, "JOD": 3}
_MAX_EXAMPLES = 5


def minor_unit(currency: str | None) -> int:
    """Decimal places of a currency's minor unit (2 unless ISO 4217 says otherwise).

    >>> minor_unit("EUR"), minor_unit("JPY")
    (2, 0)
    """
    return _MINOR_UNITS.get((currency or "").upper(), 2)


def backend_of(frame: Any) -> str:
    """The library holding a native table: ``"polars"``, ``"pandas"``, ``"duckdb"``, ``"spark"``.

    A clear error for anything else. DuckDB relations and Spark DataFrames are told by
    their type's module, so neither library is imported to ask.
    """
    if isinstance(frame, pl.DataFrame | pl.LazyFrame):
        return "polars"
    if is_pandas_dataframe(frame):  # without importing pandas on the polars path
        return "pandas"
    kind = type(frame)
    if kind.__module__.startswith("duckdb") and kind.__name__ == "DuckDBPyRelation":
        return "duckdb"
    if kind.__module__.startswith("pyspark.sql") and kind.__name__ == "DataFrame":
        return "spark"
    raise AovlabInputError(
        "is not a data frame",
        expected="a pandas.DataFrame, polars.DataFrame, DuckDB relation or Spark DataFrame",
        found=kind.__name__,
    )


#: Engines that keep the tables where they are: every query runs in the engine, and only
#: what it returns (aggregates) comes back, as a polars frame.
ENGINES = ("duckdb", "spark")


def collected(frame: nw.LazyFrame[Any]) -> nw.DataFrame[Any]:
    """A lazy query's result, in memory: polars for polars and for the engines, else pandas.

    DuckDB and Spark would hand back pyarrow tables, on which some of the narwhals
    operations the analyses use on their (small) results are not implemented.
    """
    impl = frame.implementation
    if impl.is_polars() or impl.is_pandas_like():
        return frame.collect()
    out = frame.collect(backend="polars")
    for hook in COLLECT_HOOKS:
        hook(out)
    return out


#: Called with every frame that comes back from an engine (tests check their size).
COLLECT_HOOKS: list[Any] = []


def settled(shop: ShopData, frame: nw.LazyFrame[Any]) -> Any:
    """An intermediate an analysis queries several times: in memory, or left in the engine.

    polars and pandas shops compute it once and query the result (a frame in memory
    is cheap to reuse); a DuckDB or Spark shop keeps it a lazy query, so that rows stay
    in the engine and only aggregates come back.
    """
    return frame if shop.backend in ENGINES else collected(frame)


@dataclass(frozen=True, repr=False)
class ShopData:
    """A shop's canonical tables plus its currency and time zone.

    Build it with :func:`aovlab.load` (files) or :meth:`ShopData.from_frames` (frames);
    both validate. The tables are native frames of one backend: in memory after a load
    (parsed and checked once), or lazy Parquet scans for a shop written by
    ``aovlab convert`` (only the columns a query asks for are read). Analyses go
    through :meth:`scan`, which is lazy in both cases, and collect only their
    aggregates.

    Examples
    --------
    >>> import aovlab
    >>> shop = aovlab.sample.load()
    >>> shop.currency, shop.timezone, shop.backend
    ('EUR', 'Europe/Stockholm', 'polars')
    """

    orders: Any
    lines: Any | None = None
    customers: Any | None = None
    catalog: Any | None = None
    traffic: Any | None = None
    currency: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    tax_included: bool = False
    name: str | None = None
    notes: tuple[Note, ...] = field(default_factory=tuple)
    format: str = "canonical"
    rows_read: int | None = None

    @property
    def backend(self) -> str:
        """The dataframe library the tables use."""
        return backend_of(self.orders)

    @property
    def dimensions(self) -> list[str]:
        """Order columns usable with ``by=`` besides the canonical ones."""
        return list(self._dimensions)

    @cached_property
    def _dimensions(self) -> tuple[str, ...]:
        # The tables never change after validation, so their columns are read once.
        canonical = set(ORDER_COLUMNS)
        return tuple(c for c in self.columns("orders") if c not in canonical)

    @property
    def has_units(self) -> bool:
        """Whether item counts are known (lines, or a ``units`` column)."""
        return self.lines is not None or "units" in self.columns("orders")

    def columns(self, table: str = "orders") -> list[str]:
        """A table's column names, read from its schema (nothing is collected)."""
        return list(nw.from_native(self._table(table)).columns)

    def scan(self, table: str = "orders") -> nw.LazyFrame[Any]:
        """A table as a narwhals lazy frame: queries on it read only what they use.

        Examples
        --------
        >>> import aovlab, narwhals.stable.v2 as nw
        >>> shop = aovlab.sample.load()
        >>> shop.scan().group_by("channel").agg(nw.len()).collect().shape
        (5, 2)
        """
        frame = nw.from_native(self._table(table))
        lazy = frame if isinstance(frame, nw.LazyFrame) else frame.lazy()
        # Dimensions kept as categoricals (to save memory) are text to every analysis;
        # only the columns a query uses are converted.
        categorical = [c for c, t in lazy.collect_schema().items() if t == nw.Categorical]
        if categorical:
            lazy = lazy.with_columns(*(nw.col(c).cast(nw.String()) for c in categorical))
        return lazy

    def frame(
        self, table: str = "orders", columns: Iterable[str] | None = None
    ) -> nw.DataFrame[Any]:
        """A table (only ``columns``, when given) as an eager narwhals frame.

        For analyses that need rows rather than aggregates; prefer :meth:`scan`.
        """
        frame = self.scan(table)
        if columns is not None:
            frame = frame.select(*columns)
        return frame.pipe(collected)

    def _table(self, table: str) -> Any:
        if table not in TABLES:
            raise AovlabInputError(
                "is not a table of a shop", expected=", ".join(TABLES), found=repr(table)
            )
        native = getattr(self, table)
        if native is None:
            raise AovlabInputError(
                "is not loaded",
                table=table,
                expected=f"a {table} table (load it with {table}=...)",
                found="none",
            )
        return native

    def warnings(self) -> list[Note]:
        """The notes that may affect numbers."""
        return [n for n in self.notes if n.level == "warning"]

    def to_backend(self, backend: str) -> ShopData:
        """The same shop with every table in ``"pandas"``, ``"polars"``, ``"duckdb"`` or ``"spark"``.

        DuckDB and Spark get the tables as they are (already checked), in a session set
        to the shop's time zone: :func:`aovlab.engines.connect_duckdb`,
        :func:`aovlab.engines.spark_session`.
        """
        if backend in ENGINES:
            from aovlab import engines

            return engines.to_engine(self, backend)
        if backend not in ("pandas", "polars"):
            raise AovlabInputError(
                "unknown backend",
                expected="pandas, polars, duckdb or spark",
                found=repr(backend),
            )
        if self.backend in ENGINES:
            raise AovlabInputError(
                "stays in its engine",
                expected="analyses on the engine's tables (only their aggregates come back)",
                found=f"a {self.backend} shop asked for {backend} tables",
            )

        def convert(frame: Any) -> Any:
            if frame is None or backend_of(frame) == backend:
                return frame
            if backend == "pandas":
                return (
                    frame.collect().to_pandas()
                    if isinstance(frame, pl.LazyFrame)
                    else frame.to_pandas()
                )
            return pl.from_pandas(frame)

        return replace(
            self,
            orders=convert(self.orders),
            lines=convert(self.lines),
            customers=convert(self.customers),
            catalog=convert(self.catalog),
            traffic=convert(self.traffic),
        )

    def summary(self) -> dict[str, Any]:
        """Rows per table, date range and the load's notes, as plain values."""
        first, last, customers = (
            self.scan()
            .select(
                nw.col("ordered_at").min().alias("a"),
                nw.col("ordered_at").max().alias("b"),
                # Distinct ids, null not one of them (drop_nulls has no SQL form).
                (
                    nw.col("customer_id").n_unique()
                    - (nw.col("customer_id").null_count() > 0).cast(nw.Int64())
                ).alias("c"),
            )
            .pipe(collected)
            .row(0)
        )
        tables = {
            name: int(self.scan(name).select(nw.len()).pipe(collected).item())
            for name in TABLES
            if getattr(self, name) is not None
        }
        return {
            "name": self.name,
            "format": self.format,
            "rows_read": self.rows_read,
            "customers": customers,
            "currency": self.currency,
            "timezone": self.timezone,
            "tax_included": self.tax_included,
            "first_order": first.isoformat() if first is not None else None,
            "last_order": last.isoformat() if last is not None else None,
            "tables": tables,
            "notes": [str(n) for n in self.notes],
        }

    def __repr__(self) -> str:
        s = self.summary()
        tables = ", ".join(f"{k}={fmt.count(v)}" for k, v in s["tables"].items())
        return (
            f"ShopData({s['name'] or 'unnamed shop'}: {tables}; {s['currency']}, "
            f"{s['timezone']}; {s['first_order']} .. {s['last_order']}; "
            f"{len(self.notes)} note(s))"
        )

    def _repr_html_(self) -> str:
        s = self.summary()
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{fmt.count(v)}</td></tr>"
            for k, v in s["tables"].items()
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in s["notes"])
        return (
            f"<div><strong>{html.escape(s['name'] or 'Shop')}</strong> "
            f"({html.escape(str(s['currency']))}, {html.escape(s['timezone'])}), "
            f"orders from {html.escape(str(s['first_order'])[:10])} "
            f"to {html.escape(str(s['last_order'])[:10])}"
            f"<table><tr><th>table</th><th>rows</th></tr>{rows}</table>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )

    @classmethod
    def from_frames(
        cls,
        orders: Any,
        lines: Any | None = None,
        customers: Any | None = None,
        catalog: Any | None = None,
        traffic: Any | None = None,
        *,
        currency: str | None = None,
        timezone: str | None = None,
        name: str | None = None,
        sources: Mapping[str, str] | None = None,
        origins: Mapping[str, Mapping[str, str]] | None = None,
        include_zero_value: bool = False,
        salt: str | None = None,
    ) -> ShopData:
        """Validate and normalise native frames into a ShopData.

        The frames are copied, never changed. ``sources`` names the file each table came
        from, so errors can point at it (rows are then numbered as a spreadsheet shows
        them: the header is row 1); ``origins`` maps canonical column names back to an
        export's own (``{"lines": {"quantity": "Lineitem quantity"}}``), and a
        ``__file_row`` column, where a reader adds one, gives each row's line in the file.

        Orders with no merchandise value (every line priced 0, or merchandise 0) are not
        sales: they are left out, with a note, unless ``include_zero_value``. Values that
        look like personal data are removed whatever their column is called (see
        :mod:`aovlab.privacy`); ``salt`` keys the hash that replaces customer ids
        written as emails.

        Examples
        --------
        >>> import pandas as pd
        >>> orders = pd.DataFrame({
        ...     "order_id": ["1", "2"],
        ...     "ordered_at": ["2026-10-01 10:00", "2026-10-02 11:30"],
        ...     "total": [50.0, 70.0],
        ... })
        >>> shop = ShopData.from_frames(orders, currency="EUR", timezone="Europe/Berlin")
        >>> shop.backend, list(shop.orders["merchandise"])
        ('pandas', [50.0, 70.0])
        >>> list(orders.columns)  # the caller's frame is unchanged
        ['order_id', 'ordered_at', 'total']
        """
        sources = dict(sources or {})
        backend = backend_of(orders)
        frames = {
            "lines": lines,
            "customers": customers,
            "catalog": catalog,
            "traffic": traffic,
        }
        for table, frame in frames.items():
            if frame is not None and backend_of(frame) != backend:
                raise AovlabInputError(
                    "mixes dataframe libraries",
                    table=table,
                    expected=f"a {backend} frame like orders",
                    found=f"a {backend_of(frame)} frame",
                )
        if backend in ENGINES:
            from aovlab import engines

            return engines.from_engine_frames(
                orders,
                **frames,
                currency=currency,
                timezone=timezone,
                name=name,
                sources=sources,
                include_zero_value=include_zero_value,
            )
        tz = _check_timezone(timezone or DEFAULT_TIMEZONE)
        notes: list[Note] = []
        origins = {t: dict(m) for t, m in (origins or {}).items()}
        ctx = _Reading(
            tz=tz,
            notes=notes,
            file_tables=frozenset(sources),
            include_zero_value=include_zero_value,
            salt=salt,
        )
        from aovlab import onepass

        try:
            catalog_nw = _catalog(catalog, ctx) if catalog is not None else None
            fast = (
                onepass.orders_and_lines(orders, lines, currency, ctx)
                if catalog is None and lines is not None
                else None
            )
            lines_nw: nw.DataFrame[Any] | None
            if fast is not None:
                orders_nw, lines_nw, currency, tax_included, found = fast
                notes.extend(found)
            else:
                lines_nw = _lines(lines, catalog_nw, ctx) if lines is not None else None
                orders_nw, currency, tax_included, matched, dropped = _orders(
                    orders, lines_nw, currency, ctx
                )
                if lines_nw is not None:
                    lines_nw = _check_line_orders(lines_nw, orders_nw, notes, matched, dropped)
            customers_nw = _customers(customers, ctx) if customers is not None else None
            if customers_nw is not None:
                _check_customer_ids(customers_nw, orders_nw, notes)
            traffic_nw = _traffic(traffic, ctx) if traffic is not None else None
        except AovlabInputError as err:
            table = err.table or ""
            if table in sources and not err.source:
                own = origins.get(table, {}).get(err.column or "")
                raise err.with_source(
                    sources[table],
                    column=own,
                    row_label="file row",
                ) from None
            raise

        if lines_nw is None and "units" not in orders_nw.columns:
            notes.append(
                Note(
                    "info",
                    "orders",
                    "no order lines and no units column: UPT, AUR, margin and bundles need lines",
                )
            )

        def native(frame: nw.DataFrame[Any] | None, given: Any = None) -> Any:
            if frame is None:
                return None
            # Columns given as categoricals (a fast read's dimensions) stay categoricals;
            # ids, statuses and SKUs are text as always (orders and lines join on them).
            categorical = (
                [c for c, t in nw.from_native(given).schema.items() if t == nw.Categorical]
                if given is not None
                else []
            )
            back = [
                c for c in categorical if frame.schema.get(c) == nw.String and c not in _TEXT_KEYS
            ]
            if back:
                frame = frame.with_columns(*(nw.col(c).cast(nw.Categorical()) for c in back))
            return frame.to_native()

        return cls(
            orders=native(orders_nw, orders),
            lines=native(lines_nw, lines),
            customers=native(customers_nw),
            catalog=native(catalog_nw),
            traffic=native(traffic_nw),
            currency=currency,
            timezone=tz,
            tax_included=tax_included,
            name=name,
            notes=tuple(notes),
        )


# --------------------------------------------------------------------------- helpers


def _check_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise AovlabInputError(
            "unknown time zone",
            expected="an IANA time zone such as Europe/Stockholm or UTC",
            found=repr(tz),
        ) from None
    return tz


@dataclass(frozen=True)
class _Reading:
    """What every table's validation needs to know about the load it is part of."""

    tz: str
    notes: list[Note]
    file_tables: frozenset[str] = frozenset()
    include_zero_value: bool = False
    salt: str | None = None


#: polars names a repeated header ``total_duplicated_0``: the file had ``total`` twice.
_DUPLICATED = re.compile(r"^(?P<base>.+)_duplicated_\d+$")


def _frame(native: Any, table: str, ctx: _Reading) -> nw.DataFrame[Any]:
    """The table as narwhals, names normalised, with ``__row``: each row's number as shown.

    Rows from a file are numbered as a spreadsheet shows them (the header is row 1), or
    by the reader's ``__file_row``; rows of a frame count from 1.
    """
    if isinstance(native, pl.LazyFrame):
        native = native.collect()
    frame = nw.from_native(native, eager_only=True)
    # Categorical columns (a fast read's dimensions) are checked as the text they are.
    categorical = [c for c, t in frame.schema.items() if t in (nw.Categorical, nw.Enum)]
    if categorical:
        frame = frame.with_columns(*(nw.col(c).cast(nw.String()) for c in categorical))
    if len(frame) == 0:
        raise AovlabInputError(
            "has no rows", table=table, expected="at least one row", found="an empty table"
        )
    # Column names: trim stray spaces and a UTF-8 BOM, compare case-insensitively.
    renames = {c: str(c).strip().lstrip("\ufeff").lower() for c in frame.columns}
    lowered = list(renames.values())
    dupes = sorted({c for c in lowered if lowered.count(c) > 1})
    dupes += sorted(
        {m["base"] for c in lowered if (m := _DUPLICATED.match(c)) and m["base"] in lowered}
    )
    if dupes:
        raise AovlabInputError(
            "has the same column more than once",
            table=table,
            expected="each column once (which of the two would be meant?)",
            found=", ".join(f"'{d}' twice" for d in dupes),
            present=[str(c) for c in frame.columns if c != "__file_row"],
        )
    frame = frame.rename(renames)
    if "__file_row" in frame.columns:
        return frame.rename({"__file_row": "__row"}).with_columns(nw.col("__row").cast(nw.Int64()))
    first = 2 if table in ctx.file_tables else 1
    return frame.with_row_index("__row", order_by=None).with_columns(
        (nw.col("__row").cast(nw.Int64()) + first).alias("__row")
    )


def _drop_personal(
    frame: nw.DataFrame[Any],
    table: str,
    ctx: _Reading,
    *,
    keep: Iterable[str] = (),
    products: Iterable[str] = (),
) -> nw.DataFrame[Any]:
    """Leave out personal columns and values (see :mod:`aovlab.privacy`), with notes.

    Columns named as personal are dropped; text columns (other than ``keep``) are scanned
    for values that look like emails, phones or street addresses: such values are
    removed, and a column made mostly of them is dropped. ``products`` (product names,
    categories) are checked for emails and phone numbers only.
    """
    kept = set(keep)
    by_name = [
        c
        for c in frame.columns
        if c not in kept and not c.startswith("__") and is_personal_column(c)
    ]
    if by_name:
        ctx.notes.append(
            Note(
                "info",
                table,
                f"left out personal columns ({', '.join(by_name)}): reports never show them",
            )
        )
        frame = frame.drop(*by_name)
    text = [
        c
        for c, dtype in frame.schema.items()
        if dtype == nw.String and c not in kept and not c.startswith("__")
    ]
    if not text:
        return frame
    plain = set(products)
    # The patterns run over each column's distinct values, not every row: a column of
    # three million rows holds a few hundred product names or five channels.
    flagged: dict[str, list[str]] = {}
    for c in text:
        values = frame.select(nw.col(c).unique()).drop_nulls()
        hits = personal_values(values, c, addresses=c not in plain)[c].to_list()
        if hits:
            flagged[c] = hits
    if not flagged:
        return frame
    counts = frame.select(
        *(nw.col(c).is_in(v).sum().alias(c) for c, v in flagged.items()),
        *(nw.col(c).count().alias(f"__n_{c}") for c in flagged),
    ).row(0)
    found = dict(zip(flagged, counts[: len(flagged)], strict=True))
    present = dict(zip(flagged, counts[len(flagged) :], strict=True))
    dropped = [c for c in flagged if found[c] * 2 > present[c]]
    cleaned = [c for c in flagged if c not in dropped]
    if dropped:
        frame = frame.drop(*dropped)
    if cleaned:
        frame = frame.with_columns(
            *(
                nw.when(nw.col(c).is_in(flagged[c]))
                .then(nw.lit(REDACTED))
                .otherwise(nw.col(c))
                .alias(c)
                for c in cleaned
            )
        )
    if dropped or cleaned:
        parts = [f"{c} ({fmt.count(int(found[c]))} values: column left out)" for c in dropped] + [
            f"{c} ({fmt.count(int(found[c]))} values removed)" for c in cleaned
        ]
        ctx.notes.append(
            Note(
                "warning",
                table,
                "values that look like emails, phone numbers or street addresses are "
                "personal data and never reach a report: " + "; ".join(parts),
                count=sum(int(found[c]) for c in dropped + cleaned),
            )
        )
    return frame


def _drop_free_text(frame: nw.DataFrame[Any], table: str, ctx: _Reading) -> nw.DataFrame[Any]:
    """A text column that names orders or people (names, notes, ids) is not a dimension.

    Dropped when it has at least :data:`_FREE_TEXT_MIN` values and nearly one per order
    (more than half of its filled rows distinct) or nearly one per customer (as many
    values as half the customers): a names column repeats with repeat customers, so
    only the second test catches it.
    """
    text = free_text_columns(frame)
    if not text:
        return frame
    has_customers = "customer_id" in frame.columns
    stats = frame.select(
        *(nw.col(c).n_unique().alias(c) for c in text),
        *(nw.col(c).count().alias(f"__n_{c}") for c in text),
        (nw.col("customer_id").drop_nulls().n_unique() if has_customers else nw.lit(0)).alias(
            "__customers"
        ),
    ).row(0)
    distinct = dict(zip(text, stats[: len(text)], strict=True))
    present = dict(zip(text, stats[len(text) : 2 * len(text)], strict=True))
    customers = int(stats[-1] or 0)
    wide = [c for c in text if is_free_text(distinct[c], present[c], customers)]
    if wide:
        ctx.notes.append(
            Note(
                "info",
                table,
                "left out columns with nearly one value per order or per customer, which "
                "split nothing and may name people: "
                + ", ".join(
                    f"{c} ({fmt.count(distinct[c])} values in {fmt.count(present[c])} orders, "
                    f"{fmt.count(customers)} customers)"
                    for c in wide
                ),
            )
        )
        frame = frame.drop(*wide)
    return frame


def free_text_columns(frame: nw.DataFrame[Any]) -> list[str]:
    """The orders' text columns that could be free text: those not canonical."""
    return [
        c
        for c, dtype in frame.schema.items()
        if dtype in (nw.String, nw.Categorical)
        and c not in ORDER_COLUMNS
        and not c.startswith("__")
    ]


def is_free_text(distinct: int, present: int, customers: int) -> bool:
    """Whether a column of ``distinct`` values in ``present`` filled rows is free text."""
    return distinct >= _FREE_TEXT_MIN and (
        distinct > _FREE_TEXT_SHARE * present
        or bool(customers and distinct >= _FREE_TEXT_SHARE * customers)
    )


#: A text column is free text (not a dimension) when it has at least this many distinct
#: values and they are more than this share of its filled rows, or at least this share
#: of the shop's customers.
_FREE_TEXT_MIN = 20
_FREE_TEXT_SHARE = 0.5


def _pseudonymise_emails(frame: nw.DataFrame[Any], table: str, ctx: _Reading) -> nw.DataFrame[Any]:
    """Customer ids written as email addresses become keyed hashes (stable per salt)."""
    if "customer_id" not in frame.columns or frame.schema["customer_id"] != nw.String:
        return frame
    ids = frame.select(nw.col("customer_id").unique()).drop_nulls()
    emails = personal_values(ids, "customer_id", addresses=False)["customer_id"].to_list()
    if not emails:
        return frame
    mapping = {e: hash_id(e, ctx.salt or DEFAULT_SALT) for e in emails}
    ctx.notes.append(
        Note(
            "info",
            table,
            f"{fmt.count(len(mapping))} customer id(s) were email addresses or phone numbers: replaced "
            "by keyed hashes"
            + ("" if ctx.salt else " with the default salt (set a salt per client)"),
            count=len(mapping),
        )
    )
    return frame.with_columns(
        nw.col("customer_id").replace_strict(mapping, default=nw.col("customer_id"))
    )


def _require(frame: nw.DataFrame[Any], table: str, required: Iterable[str]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise AovlabInputError(
            f"is missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            table=table,
            column=missing[0],
            expected=f"columns {', '.join(required)}",
            found=f"no column named {', '.join(missing)}",
            present=[c for c in frame.columns if c != "__row"],
        )


def _rows(frame: nw.DataFrame[Any], mask: nw.Expr) -> list[int]:
    """The row numbers (as :func:`_frame` numbered them) where ``mask`` holds."""
    return [int(r) for r in frame.filter(mask)["__row"].head(50).to_list()]


def _values(frame: nw.DataFrame[Any], mask: nw.Expr, column: str) -> list[str]:
    return [repr(v) for v in frame.filter(mask)[column].head(_MAX_EXAMPLES).to_list()]


def _text_expr(frame: nw.DataFrame[Any], column: str) -> nw.Expr:
    col = nw.col(column)
    dtype = frame.schema[column]
    if dtype == nw.String:
        text = col.str.strip_chars()
        return nw.when(text != "").then(text).alias(column)
    if dtype.is_float():
        # Ids that went through a float column (17850.0) become 17850.
        as_int = col.cast(nw.Int64())
        return (
            nw.when(col == as_int)
            .then(as_int.cast(nw.String()))
            .otherwise(col.cast(nw.String()))
            .alias(column)
        )
    return col.cast(nw.String()).alias(column)


def _needs_trim(column: str) -> nw.Expr:
    col = nw.col(column)
    edge = (
        col.str.starts_with(" ")
        | col.str.ends_with(" ")
        | col.str.starts_with("\t")
        | col.str.ends_with("\t")
        | (col.str.len_chars() == 0)
    )
    return edge.fill_null(False).any().alias(column)


def _as_text(frame: nw.DataFrame[Any], *columns: str) -> nw.DataFrame[Any]:
    """Text columns trimmed, empty values as null; clean text columns are left as they are."""
    present = [c for c in columns if c in frame.columns]
    text = [c for c in present if frame.schema[c] == nw.String]
    dirty = set(text)
    if text:
        flags = frame.select(*(_needs_trim(c) for c in text)).row(0)
        dirty = {c for c, flag in zip(text, flags, strict=True) if flag}
    todo = [c for c in present if c not in text or c in dirty]
    return frame.with_columns(*(_text_expr(frame, c) for c in todo)) if todo else frame


def _numeric(
    frame: nw.DataFrame[Any], table: str, column: str, *, non_negative: bool = False
) -> nw.DataFrame[Any]:
    dtype = frame.schema[column]
    col = nw.col(column)
    if dtype == nw.String:
        text = col.str.strip_chars()
        frame = frame.with_columns(nw.when(text == "").then(None).otherwise(text).alias(column))
        flagged = frame.with_columns(_cast_float_lenient(frame, column).alias("__parsed"))
        mask = ~nw.col(column).is_null() & nw.col("__parsed").is_null()
        if flagged.filter(mask).shape[0]:
            raise AovlabInputError(
                "has values that are not numbers",
                table=table,
                column=column,
                rows=_rows(flagged, mask),
                expected="plain numbers with a decimal point, like 1234.56",
                found=", ".join(_values(flagged, mask, column)),
                hint="canonical files use a decimal point and no currency symbols "
                "(1234.56, not 1.234,56 kr)",
            )
        frame = flagged.with_columns(nw.col("__parsed").alias(column)).drop("__parsed")
    elif dtype.is_numeric() or dtype == nw.Boolean:
        frame = frame.with_columns(col.cast(nw.Float64()))
    else:
        raise AovlabInputError(
            "is not numeric",
            table=table,
            column=column,
            expected="numbers",
            found=f"a column of type {dtype}",
        )
    finite = nw.col(column).is_null() | nw.col(column).is_finite()
    if frame.filter(~finite).shape[0]:
        raise AovlabInputError(
            "has values that are not finite numbers",
            table=table,
            column=column,
            rows=_rows(frame, ~finite),
            expected="finite numbers",
            found=", ".join(_values(frame, ~finite, column)),
        )
    if non_negative:
        negative = nw.col(column) < 0
        if frame.filter(negative).shape[0]:
            raise AovlabInputError(
                "has negative amounts where none are possible",
                table=table,
                column=column,
                rows=_rows(frame, negative),
                expected="amounts >= 0",
                found=", ".join(_values(frame, negative, column)),
                hint="a return or refund is not an order: leave it out, or keep the order "
                "as sold with its refunded amount in 'refunded'"
                if column in ("merchandise", "total")
                else None,
            )
    return frame


def _cast_float_lenient(frame: nw.DataFrame[Any], column: str) -> nw.Series[Any]:
    """Strings to Float64 where they parse, null where they do not (backend-specific)."""
    native = frame.to_native()
    if isinstance(native, pl.DataFrame):
        series = native[column].cast(pl.Float64, strict=False).alias("__p")
        return nw.from_native(series, series_only=True)
    import pandas as pd

    values = pd.to_numeric(native[column], errors="coerce").astype("float64")
    return nw.from_native(values.rename("__p").reset_index(drop=True), series_only=True)


def _datetimes(frame: nw.DataFrame[Any], table: str, column: str, tz: str) -> nw.DataFrame[Any]:
    """Parse/convert a column to tz-aware datetimes in ``tz``; error on what does not parse.

    Text is read by one rule that must fit every row (:func:`parse_datetime_text`):
    either every value carries a UTC offset, or none does.
    """
    dtype = frame.schema[column]
    if dtype == nw.Date:
        frame = frame.with_columns(nw.col(column).cast(nw.Datetime()))
        dtype = frame.schema[column]
    if dtype == nw.String:
        native = frame.to_native()
        raw = native[column]
        polars_in = isinstance(raw, pl.Series)
        series = raw if polars_in else pl.from_pandas(raw.astype("string")).alias(column)
        parsed, problem = parse_datetime_text(series, tz)
        if problem is not None:
            mask, what, expected, found, hint = problem
            flagged = frame.with_columns(
                nw.new_series("__bad", mask.to_list(), backend=frame.implementation)
            )
            raise AovlabInputError(
                what,
                table=table,
                column=column,
                rows=_rows(flagged, nw.col("__bad")),
                expected=expected,
                found=found,
                hint=hint,
            )
        values: Any = parsed if polars_in else parsed.to_pandas()
        return frame.with_columns(nw.new_series(column, values, backend=frame.implementation))
    if not isinstance(dtype, nw.Datetime):
        raise AovlabInputError(
            "is not a date-time column",
            table=table,
            column=column,
            expected="date-times",
            found=f"a column of type {dtype}",
        )
    col = nw.col(column)
    if dtype.time_zone is None:
        return frame.with_columns(col.dt.replace_time_zone(tz))
    return frame.with_columns(col.dt.convert_time_zone(tz))


#: ISO 8601 date-times as exports write them: a date, optionally a time (``T`` or a
#: space; seconds and fractions optional), optionally an offset (``Z``, ``+02:00``,
#: ``+0200``, ``+02``, with or without a space before it).
_ISO = (
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{1,2}:\d{2})(:\d{2}(?:\.\d{1,9})?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_PARSE_NAIVE = "%Y-%m-%d %H:%M:%S%.f"
_PARSE_AWARE = "%Y-%m-%d %H:%M:%S%.f%:z"
_ISO_EXPECTED = (
    "ISO 8601 date-times like 2026-10-03 14:22:05 or 2026-10-03T14:22:05+02:00, the same "
    "form on every row"
)
#: (rows mask, problem, expected, found, hint) when text cannot be read by one rule.
DatetimeProblem = tuple[pl.Series, str, str, str, str | None]


def _examples(text: pl.Series, mask: pl.Series, n: int = _MAX_EXAMPLES) -> str:
    return ", ".join(repr(v) for v in text.filter(mask).head(n).to_list())


def parse_datetime_text(raw: pl.Series, tz: str) -> tuple[pl.Series, DatetimeProblem | None]:
    """Read ISO date-time text by one rule that fits every row, into ``tz``.

    Every value carries a UTC offset (converted to ``tz``) or none does (read as local
    time in ``tz``); a file that mixes the two, a value that is not ISO 8601, a date that
    does not exist, or a local time inside a daylight-saving gap is a problem, returned
    with the rows it concerns (nothing is guessed). A local time in the hour the clocks
    repeat in autumn is read as the first of the two, as a shop's clock records it.

    Examples
    --------
    >>> s = pl.Series(["2026-10-03T14:22:05+02:00", "2026-10-04 09:00:00 +0200", "2026-10-05Z"])
    >>> parsed, problem = parse_datetime_text(s, "Europe/Stockholm")
    >>> [str(v) for v in parsed.to_list()], problem
    (['2026-10-03 14:22:05+02:00', '2026-10-04 09:00:00+02:00', '2026-10-05 02:00:00+02:00'], None)
    >>> _, problem = parse_datetime_text(
    ...     pl.Series(["2026-10-03 14:22:05+02:00", "2026-10-31 23:30:00.5"]), "UTC"
    ... )
    >>> problem[1], problem[0].to_list()
    ('mixes date-times with and without a UTC offset', [False, True])
    """
    fast = _parse_uniform(raw, tz)
    if fast is not None:
        return fast.alias(raw.name), None
    text = raw.cast(pl.String).str.strip_chars()
    text = pl.select(pl.when(text != "").then(text)).to_series()
    parts = text.str.extract_groups(_ISO)
    date, hm, sec, offset = (parts.struct.field(str(i)) for i in range(1, 5))
    given = text.is_not_null()
    unreadable = given & date.is_null()
    if unreadable.any():
        return text, (
            unreadable,
            "has dates that cannot be read",
            _ISO_EXPECTED,
            _examples(text, unreadable),
            "canonical files use ISO 8601 dates (2026-11-23), not day-first ones (23.11.2026)",
        )
    aware = given & offset.is_not_null()
    naive = given & offset.is_null()
    n_aware, n_naive = int(aware.sum()), int(naive.sum())
    if n_aware and n_naive:
        minority = naive if n_naive <= n_aware else aware
        return text, (
            minority,
            "mixes date-times with and without a UTC offset",
            "one form on every row: every value with an offset (2026-10-03 14:22:05+02:00), "
            "or none (local times in the shop's time zone)",
            f"{fmt.count(n_aware)} value(s) with an offset and {fmt.count(n_naive)} without, e.g. "
            + _examples(text, minority, 3),
            "export the file again with one date format",
        )
    off = pl.select(
        pl.when(offset == "Z")
        .then(pl.lit("+00:00"))
        .when(offset.str.len_chars() > 3)
        .then(offset.str.slice(0, 3) + pl.lit(":") + offset.str.slice(-2))
        .otherwise(offset + pl.lit(":00"))
    ).to_series()
    normal = pl.select(
        pl.concat_str(
            [
                date,
                pl.lit(" "),
                hm.str.zfill(5).fill_null("00:00"),  # 8:05 -> 08:05
                sec.fill_null(":00"),
                off.fill_null(""),
            ]
        )
    ).to_series()
    if n_aware:
        parsed = normal.str.to_datetime(
            _PARSE_AWARE, strict=False, time_zone="UTC", time_unit="us"
        ).dt.convert_time_zone(tz)
        impossible = given & parsed.is_null()
        gap = impossible & False
    else:
        local = normal.str.to_datetime(_PARSE_NAIVE, strict=False, time_unit="us")
        parsed = local.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        impossible = given & local.is_null()
        gap = given & local.is_not_null() & parsed.is_null()
    if impossible.any():
        return text, (
            impossible,
            "has dates that do not exist",
            "real calendar dates and times",
            _examples(text, impossible),
            None,
        )
    if gap.any():
        return text, (
            gap,
            f"has local times that do not exist in {tz} (the hour the clocks skip)",
            f"local times in {tz}, or values with their UTC offset",
            _examples(text, gap),
            "if the times are UTC, pass timezone='UTC' / --timezone UTC",
        )
    return parsed.alias(raw.name), None


_UNIFORM = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"), "%Y-%m-%dT%H:%M:%S%:z"),
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"), "%Y-%m-%d %H:%M:%S%:z"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"), "%Y-%m-%dT%H:%M:%S"),
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "%Y-%m-%d"),
)


def uniform_format(raw: Any) -> str | None:
    """The strptime format of the one exact ISO form the first value has, or None.

    ``raw``: a polars or narwhals series of date-time text.
    """
    first = next((str(v).strip() for v in raw.drop_nulls().head(100) if str(v).strip()), None)
    if first is None:
        return None
    return next((fmt for pattern, fmt in _UNIFORM if pattern.match(first)), None)


#: Every UTC offset ``+hh:mm`` / ``-hh:mm`` there can be, in microseconds east of UTC.
_OFFSETS = {
    f"{sign}{h:02d}:{m:02d}": (1 if sign == "+" else -1) * (h * 60 + m) * 60_000_000
    for sign in "+-"
    for h in range(24)
    for m in range(60)
}


def offset_datetimes(text: nw.Expr, fmt: str, tz: str) -> nw.Expr:
    """Text in one exact ISO form with a UTC offset (``fmt`` ends in ``%:z``), as times in ``tz``.

    Each value is read as its local part and its offset apart: the offset is looked up
    in a table of every ``±hh:mm``, which is three times faster than parsing it with
    ``%:z`` (polars reads each offset on its own) and gives the same instant. A value
    whose offset is not ``±hh:mm`` at the end becomes null; a local part that does not
    parse stops the query with an error.

    Examples
    --------
    >>> import polars as pl
    >>> df = nw.from_native(pl.DataFrame({"t": ["2026-10-03T14:22:05+02:00", "2026-10-03T23:59:59-05:30"]}))
    >>> when = offset_datetimes(nw.col("t"), "%Y-%m-%dT%H:%M:%S%:z", "UTC")
    >>> [str(v) for v in df.select(when)["t"]]
    ['2026-10-03 12:22:05+00:00', '2026-10-04 05:29:59+00:00']
    """
    width = len("2026-10-03T14:22:05")
    local = text.str.slice(0, width).str.to_datetime(fmt.removesuffix("%:z"))
    offset = text.str.slice(width).replace_strict(
        list(_OFFSETS), list(_OFFSETS.values()), default=None, return_dtype=nw.Int64()
    )
    instant = local.cast(nw.Datetime("us")).cast(nw.Int64()) - offset
    return instant.cast(nw.Datetime("us")).dt.replace_time_zone("UTC").dt.convert_time_zone(tz)


def _parse_uniform(raw: pl.Series, tz: str) -> pl.Series | None:
    """The fast path: every value in the one exact form the first value has, else None.

    One lazy query trims, parses and converts (polars spreads it over the cores); the
    general rule decides whenever a single value has another form.
    """
    fmt = uniform_format(raw)
    if fmt is None:
        return None
    if fmt.endswith("%:z"):
        try:
            aware = (
                nw.from_native(pl.LazyFrame({"t": raw.cast(pl.String)}))
                .select(
                    offset_datetimes(nw.col("t").str.strip_chars(), fmt, tz).alias("v"),
                    nw.col("t").is_null().sum().alias("n"),
                )
                .collect()
                .to_native()
            )
        except (pl.exceptions.PolarsError, ValueError):
            return None  # a value of another form (or empty): the general rule says which
        found = aware["v"]
        return found if found.null_count() == aware["n"][0] else None
    stripped = pl.col("t").cast(pl.String).str.strip_chars()
    text = pl.when(stripped != "").then(stripped)
    parsed = text.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone(
        tz, ambiguous="earliest", non_existent="null"
    )
    out = pl.LazyFrame({"t": raw}).select(parsed.alias("v"), text.null_count().alias("n")).collect()
    values = out["v"]
    # A value of another form (or, for local times, inside the clocks' skipped hour)
    # parses to null: the general rule then says which and where.
    return values if values.null_count() == out["n"][0] else None


def _status(frame: nw.DataFrame[Any], table: str) -> nw.DataFrame[Any]:
    if "status" not in frame.columns:
        return frame.with_columns(nw.lit("paid").alias("status"))
    known = (nw.col("status").is_in(list(STATUSES)) | nw.col("status").is_null()).all()
    if frame.select(known).item():
        return frame.with_columns(nw.col("status").fill_null("paid"))
    status = nw.col("status").str.to_lowercase().str.replace_all(STATUS_SEPARATORS, "_")
    status = status.replace_strict(STATUS_MAP, default=status)
    frame = frame.with_columns(status.fill_null("paid").alias("status"))
    unknown = ~nw.col("status").is_in(list(STATUSES))
    if frame.filter(unknown).shape[0]:
        found = sorted(set(frame.filter(unknown)["status"].head(1000).to_list()))
        raise AovlabInputError(
            "has unknown order statuses",
            table=table,
            column="status",
            rows=_rows(frame, unknown),
            expected=f"one of {', '.join(STATUSES)}",
            found=", ".join(repr(s) for s in found[:_MAX_EXAMPLES]),
            hint="map the platform's statuses to these before loading",
        )
    return frame


#: The words a yes/no column may hold (after lower-casing).
TRUTHY = ["true", "1", "yes", "y", "t"]
FALSY = ["false", "0", "no", "n", "f"]


def _flag(frame: nw.DataFrame[Any], column: str, table: str) -> nw.DataFrame[Any]:
    dtype = frame.schema[column]
    if dtype == nw.Boolean:
        return frame.with_columns(nw.col(column).fill_null(False))
    frame = _as_text(frame, column)
    text = nw.col(column).str.to_lowercase()
    bad = ~text.is_null() & ~text.is_in(TRUTHY + FALSY)
    if frame.filter(bad).shape[0]:
        raise AovlabInputError(
            "has values that are not yes/no",
            table=table,
            column=column,
            rows=_rows(frame, bad),
            expected="true/false, yes/no or 1/0",
            found=", ".join(_values(frame, bad, column)),
        )
    return frame.with_columns(text.is_in(TRUTHY).fill_null(False).alias(column))


def _unique_key(frame: nw.DataFrame[Any], table: str, key: str) -> None:
    nulls, distinct = frame.select(
        nw.col(key).null_count().alias("n"), nw.col(key).n_unique().alias("u")
    ).row(0)
    if not nulls and distinct == len(frame):
        return
    missing = nw.col(key).is_null()
    if nulls:
        raise AovlabInputError(
            f"has rows without {key}",
            table=table,
            column=key,
            rows=_rows(frame, missing),
            expected=f"a {key} on every row",
            found="empty values",
        )
    dup = nw.col(key).is_duplicated()
    if frame.filter(dup).shape[0]:
        raise AovlabInputError(
            f"has duplicate {key} values",
            table=table,
            column=key,
            rows=_rows(frame, dup),
            expected=f"each {key} once",
            found=", ".join(dict.fromkeys(_values(frame.sort("__row"), dup, key))),
            hint="line-item exports repeat the order on every row: load them as lines",
        )


def _round_money(
    frame: nw.DataFrame[Any], columns: Iterable[str], digits: int
) -> nw.DataFrame[Any]:
    return frame.with_columns(*(nw.col(c).round(digits) for c in columns if c in frame.columns))


# --------------------------------------------------------------------------- tables


def _orders(
    native: Any,
    lines: nw.DataFrame[Any] | None,
    currency: str | None,
    ctx: _Reading,
) -> tuple[nw.DataFrame[Any], str | None, bool, int, nw.DataFrame[Any] | None]:
    """Validate and complete the orders table.

    Also returns how many lines matched an order, and the ids of the orders left out for
    having no merchandise value (None when none were).
    """
    frame, currency, have = _order_columns(native, lines, currency, ctx)
    frame, matched = _line_facts(frame, lines)
    frame, dropped = _merchandise(frame, lines, currency, have, ctx)
    frame, tax_included = _reconcile(frame, lines, have, ctx.notes)
    frame = _round_money(frame, (*MONEY, "cogs"), minor_unit(currency))
    _future_dates(frame, ctx.tz, ctx.notes)
    # Rows are still in file order: nothing above reorders them (the line facts were
    # aligned by row number).
    canonical_first = [c for c in ORDER_COLUMNS if c in frame.columns]
    rest = [c for c in frame.columns if c not in canonical_first and not c.startswith("__")]
    return frame.select(*canonical_first, *rest), currency, tax_included, matched, dropped


def _order_columns(
    native: Any, lines: nw.DataFrame[Any] | None, currency: str | None, ctx: _Reading
) -> tuple[nw.DataFrame[Any], str | None, set[str]]:
    """Step 1: the orders' own columns checked and typed, defaults filled.

    Returns the frame, the currency and the columns the file itself had.
    """
    table, tz = "orders", ctx.tz
    frame = _frame(native, table, ctx)
    if "revenue" in frame.columns and not {"merchandise", "total"} & set(frame.columns):
        frame = frame.rename({"revenue": "total"})
    _require(frame, table, ["order_id", "ordered_at"])
    frame = _drop_personal(
        frame, table, ctx, keep=("order_id", "customer_id", "ordered_at", "status", "currency")
    )
    if not {"merchandise", "total"} & set(frame.columns) and lines is None:
        raise AovlabInputError(
            "has no revenue column",
            table=table,
            column="merchandise",
            expected="a column merchandise or total (or order lines to sum)",
            found="neither",
            present=[c for c in frame.columns if c != "__row"],
        )
    frame = _as_text(frame, "order_id", "customer_id", "status", "currency")
    frame = _pseudonymise_emails(frame, table, ctx)
    frame = _drop_free_text(frame, table, ctx)
    _unique_key(frame, table, "order_id")
    frame = _datetimes(frame, table, "ordered_at", tz)
    if "customer_id" not in frame.columns:
        frame = frame.with_columns(nw.lit(None, dtype=nw.String()).alias("customer_id"))
    for column in MONEY:
        if column in frame.columns:
            frame = _numeric(frame, table, column, non_negative=True)
    for column in ("units", "cogs"):
        if column in frame.columns:
            frame = _numeric(frame, table, column, non_negative=True)
    currency = _currency(frame, currency, table)
    frame = frame.with_columns(nw.lit(currency, dtype=nw.String()).alias("currency"))
    frame = _status(frame, table)
    if "test" in frame.columns:
        frame = _flag(frame, "test", table)
    else:
        frame = frame.with_columns(nw.lit(False).alias("test"))

    have = set(frame.columns)
    zero = nw.lit(0.0)
    frame = frame.with_columns(
        *(zero.alias(c) for c in NON_NEGATIVE if c not in have),
    ).with_columns(*(nw.col(c).fill_null(0.0) for c in NON_NEGATIVE))
    return frame, currency, have


def _line_facts(
    frame: nw.DataFrame[Any], lines: nw.DataFrame[Any] | None
) -> tuple[nw.DataFrame[Any], int]:
    """Step 2: each order's merchandise, units, cost and line count from its lines.

    Also returns how many lines found their order.
    """
    matched = 0
    if lines is not None:
        # One pass over the lines gives every per-order fact the analyses need: the lines
        # are summed per order first, then the sums joined to the orders and put back in
        # file order. Ids that are all plain integers are matched as integers, which is
        # several times faster than matching text.
        aligned = aligned_line_sums(frame.lazy(), lines.lazy(), _join_key(frame, lines)).collect()
        matched = int(aligned["__n_lines"].sum() or 0)
        frame = frame.sort("__row").with_columns(
            *(aligned[c] for c in ("__line_merch", "__n_lines", "units", "cogs"))
        )
    else:
        frame = frame.with_columns(
            nw.lit(None, dtype=nw.Float64()).alias("__line_merch"),
            nw.lit(None, dtype=nw.Float64()).alias("__n_lines"),
        )
    return frame, matched


def aligned_line_sums(orders: Any, lines: Any, key: nw.Expr) -> Any:
    """Each order's line facts, one row per order in ``__row`` (file) order.

    ``orders`` and ``lines`` are lazy; ``key`` reads ``order_id`` on both (see
    :func:`_join_key`). Columns: ``__key``, ``__line_merch`` (sum of quantity x unit
    price), ``__n_lines``, ``units`` and ``cogs`` (null when a line has no unit cost), all
    null for an order without lines. The lines are summed per order first; the join and
    sort then run on two narrow columns.
    """
    col = nw.col
    sums = (
        lines.select(
            key.alias("__key"),
            "quantity",
            (col("quantity") * col("unit_price")).alias("__value"),
            (col("quantity") * col("unit_cost")).alias("__cogs"),
            col("unit_cost").is_null().cast(nw.Int64()).alias("__no_cost"),
        )
        .group_by("__key")
        .agg(
            col("__value").sum().alias("__line_merch"),
            nw.len().alias("__n_lines"),
            col("quantity").sum().alias("units"),
            col("__cogs").sum(),
            col("__no_cost").sum(),
        )
    )
    return (
        orders.select("__row", key.alias("__key"))
        .join(sums, on="__key", how="left")
        .sort("__row")
        .select(
            "__key",
            "__line_merch",
            col("__n_lines").cast(nw.Float64()),
            "units",
            nw.when(col("__no_cost") == 0).then(col("__cogs")).alias("cogs"),
        )
    )


#: An id written as a plain integer that fits Int64: no sign, no leading zero.
PLAIN_ID = r"^(?:0|[1-9][0-9]{0,17})$"


def _join_key(orders: nw.DataFrame[Any], lines: nw.DataFrame[Any]) -> nw.Expr:
    """``order_id`` as an integer where every id on both sides is one, else as text.

    Only ids written as plain integers (``100234``, no sign, no leading zero) qualify, so
    two different texts never become the same number.
    """
    plain = nw.col("order_id").str.contains(PLAIN_ID).all()
    if all(
        t.schema["order_id"] == nw.String and bool(t.select(plain).item()) for t in (orders, lines)
    ):
        return nw.col("order_id").cast(nw.Int64())
    return nw.col("order_id")


def _merchandise(
    frame: nw.DataFrame[Any],
    lines: nw.DataFrame[Any] | None,
    currency: str | None,
    have: set[str],
    ctx: _Reading,
) -> tuple[nw.DataFrame[Any], nw.DataFrame[Any] | None]:
    """Step 3: merchandise on every order (given, from the lines or from the total).

    Refuses orders without one or with a negative one derived from the total, and leaves
    out orders with no merchandise value (returned as ``dropped``).
    """
    table, notes = "orders", ctx.notes
    from_total = nw.col("total") - nw.col("shipping") - nw.col("tax") + nw.col("discount")
    if "merchandise" not in have:
        source = nw.col("__line_merch") if lines is not None else from_total
        if lines is not None and "total" in have:
            source = nw.col("__line_merch").fill_null(from_total)
        frame = frame.with_columns(source.alias("merchandise"))
        notes.append(
            Note(
                "info",
                table,
                "no merchandise column: taken from "
                + ("the lines" if lines is not None else "total - shipping - tax + discount"),
            )
        )
    missing_value = nw.col("merchandise").is_null()
    if frame.filter(missing_value).shape[0]:
        raise AovlabInputError(
            "has orders without a revenue amount",
            table=table,
            column="merchandise" if "merchandise" in have else "total",
            rows=_rows(frame, missing_value),
            expected="an amount on every order",
            found="empty values",
        )
    if "merchandise" not in have and lines is None:
        negative = nw.col("merchandise") < -0.5 * 10 ** -minor_unit(currency)
        if frame.filter(negative).shape[0]:
            raise AovlabInputError(
                "has orders whose total is less than their shipping and tax",
                table=table,
                column="total",
                rows=_rows(frame, negative),
                expected="total >= shipping + tax - discount (merchandise is what is left)",
                found="a negative merchandise value: "
                + ", ".join(_values(frame, negative, "merchandise")),
                hint="give the merchandise column, or check the total and shipping columns",
            )
    origin = "merchandise" if "merchandise" in have else "lines" if lines is not None else "total"
    frame, dropped = _zero_value(frame, table, ctx, origin, currency)
    return frame, dropped


def _reconcile(
    frame: nw.DataFrame[Any], lines: nw.DataFrame[Any] | None, have: set[str], notes: list[Note]
) -> tuple[nw.DataFrame[Any], bool]:
    """Step 4: totals against their parts and merchandise against the lines, as notes.

    Detects tax-inclusive prices; nothing is changed but a missing total. Returns the
    frame and whether tax is included in prices.
    """
    table = "orders"
    exclusive = nw.col("merchandise") - nw.col("discount") + nw.col("shipping") + nw.col("tax")
    tax_included = False
    tolerance = 0.01 * nw.col("__n_lines").fill_null(1.0) + 1e-9
    if "total" not in have:
        frame = frame.with_columns(exclusive.alias("total"))
    elif "merchandise" in have:
        inclusive = nw.col("merchandise") - nw.col("discount") + nw.col("shipping")
        off_ex = (exclusive - nw.col("total")).abs() > tolerance
        off_in = (inclusive - nw.col("total")).abs() > tolerance
        given = ~nw.col("total").is_null()
        n_ex, n_in, n_tax = frame.select(
            (given & off_ex).sum().alias("ex"),
            (given & off_in).sum().alias("in"),
            (nw.col("tax") > 0).sum().alias("tax"),
        ).row(0)
        if n_tax and n_in < n_ex:
            tax_included, off = True, off_in
            notes.append(TAX_INCLUDED_NOTE)
        else:
            off = off_ex
        bad = frame.filter(given & off) if min(n_ex, n_in) else frame.head(0)
        if bad.shape[0]:
            notes.append(
                Note(
                    "warning",
                    table,
                    f"{fmt.count(bad.shape[0])} order(s) whose parts do not add up to their total "
                    "(merchandise - discount + shipping"
                    + (")" if tax_included else " + tax)")
                    + "; kept as exported",
                    tuple(bad["order_id"].head(_MAX_EXAMPLES).to_list()),
                    bad.shape[0],
                )
            )
        frame = frame.with_columns(nw.col("total").fill_null(exclusive))
    if lines is not None and "merchandise" in have:
        off = (nw.col("__line_merch") - nw.col("merchandise")).abs() > tolerance
        bad = frame.filter(~nw.col("__line_merch").is_null() & off)
        if bad.shape[0]:
            notes.append(
                Note(
                    "warning",
                    table,
                    f"{fmt.count(bad.shape[0])} order(s) whose merchandise differs from the sum of their lines",
                    tuple(bad["order_id"].head(_MAX_EXAMPLES).to_list()),
                    bad.shape[0],
                )
            )
    if lines is not None:
        no_lines = frame.filter(nw.col("__line_merch").is_null())
        if no_lines.shape[0]:
            notes.append(
                Note(
                    "warning",
                    table,
                    f"{fmt.count(no_lines.shape[0])} order(s) have no lines: their units, UPT, AUR and "
                    "margin are unknown",
                    tuple(no_lines["order_id"].head(_MAX_EXAMPLES).to_list()),
                    no_lines.shape[0],
                )
            )
    over = nw.col("discount") > nw.col("merchandise") + 1e-9
    overdrawn = frame.filter(over)
    if overdrawn.shape[0]:
        notes.append(
            Note(
                "warning",
                table,
                f"{fmt.count(overdrawn.shape[0])} order(s) have a discount larger than their merchandise "
                "(a shipping discount counted with the order's?): their net revenue is "
                "negative, which lowers AOV on the net basis",
                tuple(overdrawn["order_id"].head(_MAX_EXAMPLES).to_list()),
                overdrawn.shape[0],
            )
        )
    return frame, tax_included


TAX_INCLUDED_NOTE = Note(
    "info", "orders", "tax is included in prices: total = merchandise - discount + shipping"
)


def _future_dates(frame: nw.DataFrame[Any], tz: str, notes: list[Note]) -> None:
    """Step 5: orders dated in the future are noted (a wrong date format or clock?)."""
    future = frame.filter(
        nw.col("ordered_at") > dt.datetime.now(ZoneInfo(tz)) + dt.timedelta(days=1)
    )
    if future.shape[0]:
        notes.append(
            Note(
                "warning",
                "orders",
                f"{fmt.count(future.shape[0])} order(s) are dated in the future: a wrong date format or clock?",
                tuple(future["order_id"].head(_MAX_EXAMPLES).to_list()),
                future.shape[0],
            )
        )


def _currency(frame: nw.DataFrame[Any], currency: str | None, table: str) -> str | None:
    given = currency.strip().upper() if currency else None
    if "currency" not in frame.columns:
        return given
    found = sorted({str(c).upper() for c in frame["currency"].drop_nulls().unique().to_list()})
    if len(found) > 1:
        counts = frame.group_by("currency").agg(nw.len()).sort("currency")
        shown = ", ".join(f"{c} ({fmt.count(n)} orders)" for c, n in counts.iter_rows())
        raise AovlabInputError(
            "mixes currencies",
            table=table,
            column="currency",
            expected="one currency per shop (AOV across currencies is meaningless)",
            found=shown,
            hint="split the export by currency and load each part on its own",
        )
    if given and found and found[0] != given:
        raise AovlabInputError(
            "has a different currency than the one given",
            table=table,
            column="currency",
            expected=given,
            found=found[0],
        )
    return given or (found[0] if found else None)


def _lines(native: Any, catalog: nw.DataFrame[Any] | None, ctx: _Reading) -> nw.DataFrame[Any]:
    table = "lines"
    frame = _frame(native, table, ctx)
    _require(frame, table, ["order_id", "quantity", "unit_price"])
    frame = _drop_personal(
        frame, table, ctx, keep=("order_id", "sku"), products=("product", "category")
    )
    if "sku" not in frame.columns and "product" not in frame.columns:
        _require(frame, table, ["sku"])
    frame = _as_text(frame, "order_id", "sku", "product", "category")
    missing = nw.col("order_id").is_null()
    if frame.filter(missing).shape[0]:
        raise AovlabInputError(
            "has lines without order_id",
            table=table,
            column="order_id",
            rows=_rows(frame, missing),
            expected="an order_id on every line",
            found="empty values",
        )
    if "sku" not in frame.columns:
        frame = frame.with_columns(nw.col("product").alias("sku"))
    if "product" not in frame.columns:
        frame = frame.with_columns(nw.col("sku").alias("product"))
    frame = _numeric(frame, table, "quantity", non_negative=True)
    frame = _numeric(frame, table, "unit_price", non_negative=True)
    if frame.filter(nw.col("quantity").is_null() | nw.col("unit_price").is_null()).shape[0]:
        mask = nw.col("quantity").is_null() | nw.col("unit_price").is_null()
        raise AovlabInputError(
            "has lines without quantity or unit_price",
            table=table,
            column="quantity",
            rows=_rows(frame, mask),
            expected="both on every line",
            found="empty values",
        )
    if "unit_cost" in frame.columns:
        frame = _numeric(frame, table, "unit_cost", non_negative=True)
    else:
        frame = frame.with_columns(nw.lit(None, dtype=nw.Float64()).alias("unit_cost"))
    if "category" not in frame.columns:
        frame = frame.with_columns(nw.lit(None, dtype=nw.String()).alias("category"))
    if catalog is not None:
        cat = catalog.select(
            "sku",
            nw.col("unit_cost").alias("__cat_cost"),
            nw.col("category").alias("__cat_category"),
        )
        frame = (
            frame.join(cat, on="sku", how="left")
            .sort("__row")  # joins do not keep row order
            .with_columns(
                nw.col("unit_cost").fill_null(nw.col("__cat_cost")),
                nw.col("category").fill_null(nw.col("__cat_category")),
            )
        )
    frame = frame.with_columns(nw.col("category").fill_null("(none)"))
    keep = ["order_id", "sku", "product", "category", "quantity", "unit_price", "unit_cost"]
    rest = [c for c in frame.columns if c not in keep and not c.startswith("__")]
    return frame.select(*keep, *rest, "__row")


def _zero_value(
    frame: nw.DataFrame[Any], table: str, ctx: _Reading, source: str, currency: str | None
) -> tuple[nw.DataFrame[Any], nw.DataFrame[Any] | None]:
    """Leave out orders with no merchandise value (not sales), unless asked to keep them.

    No value means below half the currency's minor unit: 0.004 EUR is 0.00 EUR.
    ``source`` says where merchandise came from (``merchandise``, ``lines``, ``total``).
    """
    zero = nw.col("merchandise").abs() < 0.5 * 10 ** -minor_unit(currency)
    if ctx.include_zero_value:
        return frame, None
    gone = frame.filter(zero)
    if not gone.shape[0]:
        return frame, None
    kept = frame.filter(~zero)
    where = {
        "merchandise": "merchandise 0",
        "lines": "every line priced 0",
        "total": "total 0 beyond shipping and tax",
    }[source]
    if not kept.shape[0]:
        raise AovlabInputError(
            "has no order with a merchandise value",
            table=table,
            column="merchandise"
            if source == "merchandise"
            else "total"
            if source == "total"
            else None,
            expected="orders whose items are worth more than 0",
            found=f"{fmt.count(gone.shape[0])} order(s), all with {where}",
            hint="include_zero_value=True / --include-zero-value counts free orders too",
        )
    ctx.notes.append(
        Note(
            "info",
            table,
            f"{fmt.count(gone.shape[0])} order(s) with no merchandise value ({where}: stock "
            "adjustments, free replacements) are not sales: left out of orders, AOV and every "
            "analysis (include_zero_value=True / --include-zero-value keeps them)",
            tuple(gone["order_id"].head(_MAX_EXAMPLES).to_list()),
            gone.shape[0],
        )
    )
    return kept, gone.select("order_id")


def _check_line_orders(
    lines: nw.DataFrame[Any],
    orders: nw.DataFrame[Any],
    notes: list[Note],
    matched: int,
    dropped: nw.DataFrame[Any] | None = None,
) -> nw.DataFrame[Any]:
    """Report and leave out lines of unknown orders (``matched`` lines found an order).

    Lines of the orders left out for having no merchandise value (``dropped``) go with
    them; their note already counts them.
    """
    if dropped is not None:
        before = len(lines)
        lines = lines.join(dropped, on="order_id", how="anti")
        matched -= before - len(lines)
    orphans = (
        lines.join(orders.select("order_id"), on="order_id", how="anti")
        if matched < len(lines)
        else lines.head(0)
    )
    if orphans.shape[0]:
        notes.append(
            Note(
                "warning",
                "lines",
                f"{fmt.count(orphans.shape[0])} line(s) belong to no known order and are left out",
                tuple(orphans["order_id"].unique().sort().head(_MAX_EXAMPLES).to_list()),
                orphans.shape[0],
            )
        )
        lines = lines.join(orders.select("order_id"), on="order_id", how="semi")
    # Counted on the lines that stay: those of orders left out are not the shop's lines.
    note = no_cost_note(lines)
    if note is not None:
        notes.append(note)
    return _round_money(lines, ["unit_price", "unit_cost"], 4).drop("__row")


def no_cost_note(lines: nw.DataFrame[Any]) -> Note | None:
    """The warning for lines without a unit cost (None when every line has one)."""
    no_cost = lines.filter(nw.col("unit_cost").is_null())
    if not no_cost.shape[0]:
        return None
    skus = no_cost["sku"].unique().sort().head(_MAX_EXAMPLES).to_list()
    return Note(
        "warning",
        "lines",
        f"{fmt.count(no_cost.shape[0])} line(s) have no unit cost: margin figures leave them out "
        "and say how much revenue they cover",
        tuple(str(s) for s in skus),
        no_cost.shape[0],
    )


def _catalog(native: Any, ctx: _Reading) -> nw.DataFrame[Any]:
    table = "catalog"
    frame = _frame(native, table, ctx)
    frame = _drop_personal(frame, table, ctx, keep=("sku",), products=("product", "category"))
    _require(frame, table, ["sku"])
    frame = _as_text(frame, "sku")
    _unique_key(frame, table, "sku")
    for column in ("product", "category"):
        if column in frame.columns:
            frame = _as_text(frame, column)
        else:
            frame = frame.with_columns(nw.lit(None, dtype=nw.String()).alias(column))
    if "unit_cost" in frame.columns:
        frame = _numeric(frame, table, "unit_cost", non_negative=True)
    else:
        frame = frame.with_columns(nw.lit(None, dtype=nw.Float64()).alias("unit_cost"))
    if "unit_price" in frame.columns:
        frame = _numeric(frame, table, "unit_price", non_negative=True)
    return frame.drop("__row")


def _customers(native: Any, ctx: _Reading) -> nw.DataFrame[Any]:
    table = "customers"
    tz = ctx.tz
    frame = _frame(native, table, ctx)
    _require(frame, table, ["customer_id"])
    frame = _drop_personal(
        frame, table, ctx, keep=("customer_id", "loyalty_joined_at", "signed_up_at")
    )
    frame = _as_text(frame, "customer_id")
    frame = _pseudonymise_emails(frame, table, ctx)
    _unique_key(frame, table, "customer_id")
    if "loyalty_member" in frame.columns:
        frame = _flag(frame, "loyalty_member", table)
    else:
        frame = frame.with_columns(nw.lit(False).alias("loyalty_member"))
    for column in ("loyalty_joined_at", "signed_up_at"):
        if column in frame.columns:
            frame = _datetimes(frame, table, column, tz)
    return frame.drop("__row")


def _check_customer_ids(
    customers: nw.DataFrame[Any], orders: nw.DataFrame[Any], notes: list[Note]
) -> None:
    """Say so when the customers table and the orders do not share their ids."""
    ids = orders.select("customer_id").filter(~nw.col("customer_id").is_null()).unique()
    matched = customers.join(ids, on="customer_id", how="semi").shape[0]
    if matched == 0 and customers.shape[0]:
        notes.append(
            Note(
                "warning",
                "customers",
                f"none of the {fmt.count(customers.shape[0])} customers has an order: the customers "
                "file and the orders use different ids (a Shopify export's customers are "
                "hashed emails: give the customers file an email column as customer_id)",
                tuple(str(v) for v in customers["customer_id"].head(_MAX_EXAMPLES).to_list()),
                customers.shape[0],
            )
        )


def _traffic(native: Any, ctx: _Reading) -> nw.DataFrame[Any]:
    table = "traffic"
    tz = ctx.tz
    frame = _frame(native, table, ctx)
    _require(frame, table, ["date", "sessions"])
    frame = _datetimes(frame, table, "date", tz)
    frame = _numeric(frame, table, "sessions", non_negative=True)
    for column in frame.columns:
        if column not in ("date", "sessions", "__row") and frame.schema[column] != nw.String:
            frame = _as_text(frame, column)
    return frame.drop("__row")


def collect_all(plans: list[Any]) -> list[nw.DataFrame[Any]]:
    """Collect narwhals lazy frames together where the engine can share their work.

    polars runs them as one job (common scans computed once, the plans in parallel);
    other engines collect them one by one.
    """
    natives = [plan.to_native() for plan in plans]
    if len(natives) > 1 and all(isinstance(n, pl.LazyFrame) for n in natives):
        return [nw.from_native(f, eager_only=True) for f in pl.collect_all(natives)]
    return [collected(plan) for plan in plans]


def is_counted() -> nw.Expr:
    """Orders that count in every KPI: not cancelled and not test orders."""
    return ~nw.col("status").is_in(list(EXCLUDED_STATUSES)) & ~nw.col("test")


def finite_or_none(value: Any) -> float | None:
    """A float, or None for null/NaN/inf (for JSON and display)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
