"""Shops whose tables stay in an engine: DuckDB (embedded, spills to disk) or Spark.

A shop loaded with ``engine="duckdb"`` or ``engine="spark"`` (or built with
:meth:`aovlab.ShopData.from_frames` from DuckDB relations or Spark DataFrames) keeps
its tables where they are. The canonical checks run in the engine as one aggregation
per table (only the counts come back, and a few example rows when a check fails); the
validated tables are lazy queries over the data (defaults filled, each order's units
and cost of goods from its lines, amounts rounded to the currency's minor unit); every
analysis then aggregates in the engine through narwhals and collects only its
per-period, per-segment or per-SKU rows, as polars frames
(:func:`aovlab.model.collected`).

Calendar periods are the engine session's: DuckDB's ``TimeZone`` setting, Spark's
``spark.sql.session.timeZone``. A connection made here is set to the shop's time zone;
tables of a session in another zone are refused with the line that sets it.

No figure is approximate: medians and quantiles are the engines' exact functions
(DuckDB's ``quantile_cont``, Spark's ``median`` and ``percentile``), trimmed means
and top shares come from exact ranks, and what needs rows (bootstraps, the BG/NBD
fit) gets per-customer summaries, never orders.

Examples
--------
>>> import aovlab
>>> shop = aovlab.sample.load().to_backend("duckdb")
>>> shop.backend
'duckdb'
>>> aovlab.metrics.kpis(shop, when="2026-10").rows()[0]["aov"]
120.92
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw

from aovlab.errors import AovlabInputError, Note

#: Where the tables of a shop can live; polars (in memory) is the default and the
#: fastest for what fits in memory.
ENGINES: tuple[str, ...] = ("polars", "duckdb", "spark")

_MAX_EXAMPLES = 5


def check_engine(engine: str) -> str:
    """The engine's name, or a clear error listing the ones there are."""
    name = str(engine).strip().lower()
    if name not in ENGINES:
        raise AovlabInputError(
            "unknown engine", expected=f"one of {', '.join(ENGINES)}", found=repr(engine)
        )
    return name


# --------------------------------------------------------------------------- sessions


def connect_duckdb(
    timezone: str,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: str | Path | None = None,
) -> Any:
    """A DuckDB connection set to the shop's time zone (in memory; spills to disk).

    ``memory_limit`` (``"4GB"``), ``threads`` and ``temp_directory`` default to the
    environment variables ``AOVLAB_DUCKDB_MEMORY``, ``AOVLAB_DUCKDB_THREADS`` and
    ``AOVLAB_DUCKDB_TEMP``, else DuckDB's own defaults (80 % of memory, every core, a
    ``.tmp`` folder).
    """
    import duckdb

    from aovlab.model import _check_timezone

    tz = _check_timezone(timezone)
    config: dict[str, Any] = {}
    memory_limit = memory_limit or os.environ.get("AOVLAB_DUCKDB_MEMORY")
    threads = threads or _int_env("AOVLAB_DUCKDB_THREADS")
    temp_directory = temp_directory or os.environ.get("AOVLAB_DUCKDB_TEMP")
    if memory_limit:
        config["memory_limit"] = str(memory_limit)
    if threads:
        config["threads"] = int(threads)
    if temp_directory:
        config["temp_directory"] = str(temp_directory)
    try:
        con = duckdb.connect(config=config)
        # After connecting: the zone needs ICU, which DuckDB loads with the connection.
        con.execute(f"SET TimeZone = '{tz}'")  # a checked IANA name: no quote in it
        return con
    except duckdb.Error as exc:
        raise AovlabInputError(
            "DuckDB refused the settings",
            expected="a memory limit such as 4GB, a number of threads, a writable folder",
            found=str(exc).splitlines()[0],
        ) from None


def _int_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else None


def spark_session(timezone: str) -> Any:
    """A Spark session in the shop's time zone: ``SPARK_MASTER`` if set, else ``local[2]``.

    On a cluster, submit with ``spark-submit`` (which sets ``spark.master``) or set
    ``SPARK_MASTER=spark://host:7077``; an existing session is reused, with its time
    zone set to the shop's.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise AovlabInputError(
            "Spark is not installed",
            expected="pyspark (pip install pyspark) and a Java runtime",
            found="no module pyspark",
        ) from None
    from aovlab.model import _check_timezone

    tz = _check_timezone(timezone)
    builder = SparkSession.builder.appName("aovlab")
    master = os.environ.get("SPARK_MASTER")
    if master or not _active_spark():
        builder = builder.master(master or "local[2]")
    session = (
        builder.config("spark.sql.session.timeZone", tz)
        # Aggregates are small: a few shuffle partitions plan and run faster than 200.
        .config("spark.sql.shuffle.partitions", os.environ.get("AOVLAB_SPARK_PARTITIONS", "4"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.conf.set("spark.sql.session.timeZone", tz)
    session.sparkContext.setLogLevel(os.environ.get("AOVLAB_SPARK_LOG", "ERROR"))
    return session


def _active_spark() -> bool:
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() is not None


def session_timezone(native: Any) -> str:
    """The time zone an engine table's session reads calendar dates in."""
    from aovlab.model import backend_of

    kind = backend_of(native)
    if kind == "duckdb":
        name = f"__aovlab_{uuid.uuid4().hex[:8]}"
        return str(native.query(name, "select current_setting('TimeZone')").fetchall()[0][0])
    if kind == "spark":
        return str(native.sparkSession.conf.get("spark.sql.session.timeZone"))
    raise AovlabInputError(
        "is not an engine table", expected="a DuckDB relation or Spark DataFrame"
    )


# --------------------------------------------------------------------------- reading


def read_tables(
    files: Mapping[str, str | Path], engine: str, timezone: str, *, session: Any = None
) -> dict[str, Any]:
    """Each table's Parquet file(s) as an engine table, read lazily (nothing is loaded).

    A path may be a file, a folder of Parquet files or a glob (``orders/*.parquet``).
    """
    tables: dict[str, Any] = {}
    for table, path in files.items():
        pattern = _parquet_pattern(table, path)
        if engine == "duckdb":
            import duckdb

            con = session if session is not None else connect_duckdb(timezone)
            session = con
            try:
                tables[table] = con.read_parquet(pattern)
            except duckdb.Error as exc:
                raise AovlabInputError(
                    "cannot be read as Parquet",
                    source=str(path),
                    table=table,
                    expected="Parquet files",
                    found=str(exc).splitlines()[0],
                ) from None
        else:
            spark = session if session is not None else spark_session(timezone)
            session = spark
            tables[table] = spark.read.parquet(pattern)
    return tables


def _parquet_pattern(table: str, path: str | Path) -> str:
    text = str(path)
    if any(ch in text for ch in "*?[") or "://" in text:
        return text  # a glob, or a URI the engine reads itself (s3://, s3a://, hdfs://)
    p = Path(text)
    if p.is_dir():
        if not any(p.glob("*.parquet")):
            raise AovlabInputError(
                "has no Parquet files",
                source=text,
                table=table,
                expected="a Parquet file, a folder of .parquet files or a glob",
                found="a folder without .parquet files",
            )
        return str(p / "*.parquet")
    if not p.exists():
        raise AovlabInputError(
            "file not found", source=text, table=table, expected="an existing file", found="nothing"
        )
    if p.suffix.lower() != ".parquet":
        raise AovlabInputError(
            "is not Parquet",
            source=text,
            table=table,
            expected="Parquet for the DuckDB and Spark engines (convert a CSV or spreadsheet "
            "export once with `aovlab convert EXPORT --out shop/`)",
            found=f"a {p.suffix or 'file without extension'} file",
        )
    return text


# --------------------------------------------------------------------------- checks


def from_engine_frames(
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
    include_zero_value: bool = False,
) -> Any:
    """:meth:`aovlab.ShopData.from_frames` for DuckDB relations or Spark DataFrames.

    Checks in the engine, then a shop of lazy engine tables (see the module docstring).
    """
    from aovlab.model import ShopData, _check_timezone

    zone = session_timezone(orders)
    if timezone is not None and _check_timezone(timezone) != zone:
        raise AovlabInputError(
            "the engine's session reads dates in another time zone",
            table="orders",
            expected=f"the shop's time zone {timezone}: "
            + _set_zone_hint(orders, _check_timezone(timezone)),
            found=zone,
        )
    sources = dict(sources or {})
    notes: list[Note] = []
    o = _named(nw.from_native(orders), "orders", sources, notes)
    ln = _named(nw.from_native(lines), "lines", sources, notes) if lines is not None else None
    o_checked, cur, zero, taxed = _orders(o, currency, zone, sources, notes, include_zero_value)
    ln_checked = _lines(ln, o_checked, o, zero, sources, notes) if ln is not None else None
    if ln_checked is not None:
        o_checked = _with_line_sums(o_checked, ln_checked, notes)
    elif "units" not in o_checked.columns:
        notes.append(
            Note(
                "info",
                "orders",
                "no order lines and no units column: UPT, AUR, margin and bundles need lines",
            )
        )

    def native(frame: Any) -> Any:
        return frame.to_native() if frame is not None else None

    return ShopData(
        orders=o_checked.to_native(),
        lines=native(ln_checked),
        customers=native(_customers(customers, sources, notes)),
        catalog=native(_catalog(catalog, sources, notes)),
        traffic=native(_traffic(traffic, sources, notes)),
        currency=cur,
        timezone=zone,
        tax_included=taxed,
        name=name,
        notes=tuple(notes),
    )


def _set_zone_hint(native: Any, tz: str) -> str:
    from aovlab.model import backend_of

    if backend_of(native) == "duckdb":
        return f"run con.execute(\"SET TimeZone = '{tz}'\") on its connection first"
    return f'run spark.conf.set("spark.sql.session.timeZone", "{tz}") first'


def _where(table: str, sources: Mapping[str, str]) -> dict[str, Any]:
    return {"table": table, "source": sources.get(table)}


def _named(frame: Any, table: str, sources: Mapping[str, str], notes: list[Note]) -> Any:
    """Column names trimmed and lower-cased; personal columns left out, with a note."""
    from aovlab.model import ORDER_COLUMNS
    from aovlab.privacy import is_personal_column

    names = {c: str(c).strip().lstrip("\ufeff").lower() for c in frame.columns}
    seen: dict[str, str] = {}
    for original, clean in names.items():
        if clean in seen:
            raise AovlabInputError(
                "has the same column more than once",
                **_where(table, sources),
                expected="each column once",
                found=f"'{seen[clean]}' and '{original}'",
                present=list(frame.columns),
            )
        seen[clean] = original
    frame = frame.rename({c: n for c, n in names.items() if c != n})
    keep = set(ORDER_COLUMNS) | {"sku", "product", "category", "quantity", "unit_price"}
    keep |= {"unit_cost", "date", "sessions", "loyalty_member", "loyalty_joined_at"}
    keep |= {"signed_up_at"}
    personal = [c for c in frame.columns if c not in keep and is_personal_column(c)]
    if personal:
        notes.append(
            Note(
                "info",
                table,
                f"left out {len(personal)} column(s) that hold personal data",
                tuple(personal[:_MAX_EXAMPLES]),
                len(personal),
            )
        )
        frame = frame.drop(*personal)
    return frame


def _text_to_scan(frame: Any) -> list[str]:
    """Text columns whose values are scanned for personal data (not ids, codes, flags)."""
    skip = {"order_id", "ordered_at", "status", "currency", "sku", "test"}
    schema = frame.collect_schema()
    return [c for c, d in schema.items() if _kind(d) == "text" and c not in skip]


def _personal_hit(column: str) -> nw.Expr:
    from aovlab.privacy import could_be_personal, personal

    addresses = column not in ("product", "category", "customer_id")
    return could_be_personal(column, addresses=addresses) & personal(column, addresses=addresses)


def _personal_counts(text: list[str]) -> list[nw.Expr]:
    """Per text column: values that look personal, and values present (for the profile)."""
    return [
        *(_personal_hit(c).cast(nw.Int64()).sum().alias(f"__pd_{c}") for c in text),
        *(nw.col(c).count().alias(f"__pn_{c}") for c in text),
    ]


def _private(
    frame: Any,
    table: str,
    text: list[str],
    counts: Mapping[str, Any],
    sources: Mapping[str, str],
    notes: list[Note],
) -> Any:
    """Personal values (counted in the profile): ids refused, other text removed, with a note.

    As the in-memory load does (:func:`aovlab.model._drop_personal`): values of a text
    column that look like emails, phone numbers or street addresses are replaced, and a
    column made mostly of them is left out; product names and categories are checked
    for emails and phone numbers only. Customer ids written as emails are refused: the
    in-memory load replaces them by keyed hashes, which the engines cannot compute.
    """
    from aovlab import fmt
    from aovlab.privacy import REDACTED

    found = {c: int(counts[f"__pd_{c}"] or 0) for c in text if counts[f"__pd_{c}"]}
    if "customer_id" in found:
        raise AovlabInputError(
            "has customer ids that are emails or phone numbers",
            **_where(table, sources),
            column="customer_id",
            expected="pseudonymous ids (load with engine='polars', which replaces them by "
            "keyed hashes with the client's salt, or hash them in the engine first)",
            found=f"{found['customer_id']:,} such values",
        )
    if not found:
        return frame
    dropped = [c for c in found if found[c] * 2 > int(counts[f"__pn_{c}"] or 0)]
    cleaned = [c for c in found if c not in dropped]
    frame = frame.drop(*dropped) if dropped else frame
    if cleaned:
        frame = frame.with_columns(
            *(
                nw.when(_personal_hit(c)).then(nw.lit(REDACTED)).otherwise(nw.col(c)).alias(c)
                for c in cleaned
            )
        )
    parts = [f"{c} ({fmt.count(found[c])} values: column left out)" for c in dropped] + [
        f"{c} ({fmt.count(found[c])} values removed)" for c in cleaned
    ]
    notes.append(
        Note(
            "warning",
            table,
            "values that look like emails, phone numbers or street addresses are "
            "personal data and never reach a report: " + "; ".join(parts),
            count=sum(found.values()),
        )
    )
    return frame


def _require(frame: Any, table: str, columns: list[str], sources: Mapping[str, str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AovlabInputError(
            "is missing a required column",
            **_where(table, sources),
            column=missing[0],
            expected="columns " + ", ".join(columns),
            found="no such column",
            present=list(frame.columns),
        )


def _kind(dtype: Any) -> str:
    if dtype.is_numeric():
        return "number"
    if dtype in (nw.String, nw.Categorical, nw.Enum):
        return "text"
    if dtype == nw.Boolean:
        return "flag"
    if dtype in (nw.Datetime, nw.Date):
        return "date"
    return str(dtype)


def _expect(
    frame: Any, table: str, column: str, kinds: tuple[str, ...], sources: Mapping[str, str]
) -> None:
    kind = _kind(frame.collect_schema()[column])
    if kind not in kinds:
        raise AovlabInputError(
            "has the wrong type",
            **_where(table, sources),
            column=column,
            expected=" or ".join(kinds),
            found=f"{kind} values",
        )


def _fail_if(
    frame: Any,
    counts: dict[str, int],
    checks: list[tuple[str, nw.Expr, str, str, str]],
    table: str,
    sources: Mapping[str, str],
    key: str,
) -> None:
    """Raise for the first check whose count is not zero, with a few example rows."""
    for label, bad, column, problem, expected in checks:
        n = int(counts[label] or 0)
        if not n:
            continue
        shown = [key, column] if column != key else [key]
        examples = frame.filter(bad).select(*shown).head(_MAX_EXAMPLES)
        rows = examples.pipe(_collected).rows()
        listed = "; ".join(
            ", ".join(f"{c} {v!r}" for c, v in zip(shown, r, strict=True)) for r in rows
        )
        raise AovlabInputError(
            problem,
            **_where(table, sources),
            column=column,
            expected=expected,
            found=f"{n:,} row(s), e.g. {listed}",
        )


def _collected(frame: Any) -> Any:
    from aovlab.model import collected

    return collected(frame)


def _currency_counts(o: Any) -> list[nw.Expr]:
    """The currency column's distinct values, as the profile's aggregates (first and last)."""
    if "currency" not in o.columns:
        return []
    clean = nw.col("currency").cast(nw.String()).str.strip_chars().str.to_uppercase()
    code = nw.when(clean != "").then(clean)
    return [
        code.min().alias("__cur_min"),
        code.max().alias("__cur_max"),
    ]


def _tax_counts(o: Any) -> list[nw.Expr]:
    """Totals that add up with tax on top and without it (is tax in the prices?)."""
    have = set(o.columns)
    if not {"total", "tax"} <= have:
        return []
    col = nw.col
    base = col("merchandise")
    if "discount" in have:
        base = base - col("discount").fill_null(0.0)
    if "shipping" in have:
        base = base + col("shipping").fill_null(0.0)
    given = ~col("total").is_null()
    off_ex = given & ((base + col("tax").fill_null(0.0) - col("total")).abs() > 0.01)
    off_in = given & ((base - col("total")).abs() > 0.01)
    return [
        off_ex.cast(nw.Int64()).sum().alias("__off_ex"),
        off_in.cast(nw.Int64()).sum().alias("__off_in"),
        (col("tax") > 0).cast(nw.Int64()).sum().alias("__taxed"),
    ]


def _tax_included(counts: Mapping[str, Any]) -> bool:
    """As the in-memory load tells: some orders taxed, and fewer totals off without tax."""
    if "__taxed" not in counts:
        return False
    return bool(counts["__taxed"]) and int(counts["__off_in"] or 0) < int(counts["__off_ex"] or 0)


def _currency(
    counts: Mapping[str, Any], given: str | None, sources: Mapping[str, str]
) -> str | None:
    code = given.strip().upper() if given else None
    if "__cur_min" not in counts or counts["__cur_min"] is None:
        return code
    found = sorted({counts["__cur_min"], counts["__cur_max"]})
    if len(found) > 1 or (code and found[0] != code):
        raise AovlabInputError(
            "has more than one currency" if len(found) > 1 else "is in another currency",
            **_where("orders", sources),
            column="currency",
            expected=f"one currency{f' ({code})' if code else ''} per shop",
            found=", ".join(found),
        )
    return code or found[0]


def _orders(
    o: Any,
    given_currency: str | None,
    zone: str,
    sources: Mapping[str, str],
    notes: list[Note],
    include_zero_value: bool,
) -> tuple[Any, str | None, int, bool]:
    """The orders checked in one aggregation; the lazy validated table, currency, zero-value orders.

    The one query counts every check's failures, the personal values of each text
    column, the distinct order ids and currencies and the orders without merchandise
    value; only when a count asks for it does another query fetch example rows.
    """
    from aovlab import fmt
    from aovlab.model import MONEY, NON_NEGATIVE, STATUS_MAP, TAX_INCLUDED_NOTE, minor_unit

    table = "orders"
    _require(o, table, ["order_id", "ordered_at", "merchandise"], sources)
    _expect(o, table, "order_id", ("text", "number"), sources)
    _expect(o, table, "ordered_at", ("date",), sources)
    money = [c for c in MONEY if c in o.columns]
    for c in money:
        _expect(o, table, c, ("number",), sources)
    if "status" in o.columns:
        _expect(o, table, "status", ("text",), sources)
    if "test" in o.columns:
        _expect(o, table, "test", ("flag",), sources)
    col = nw.col
    schema = o.collect_schema()
    if (
        schema["ordered_at"] == nw.Datetime
        and getattr(schema["ordered_at"], "time_zone", None) is None
    ):
        # A local time without a zone: read in the shop's (the session's) time zone.
        o = o.with_columns(col("ordered_at").dt.replace_time_zone(zone))
    elif schema["ordered_at"] == nw.Date:
        o = o.with_columns(col("ordered_at").cast(nw.Datetime("us")).dt.replace_time_zone(zone))
    o = o.with_columns(col("order_id").cast(nw.String()).alias("order_id"))
    status = (
        col("status")
        .cast(nw.String())
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(r"[\s-]+", "_")
        if "status" in o.columns
        else None
    )
    checks: list[tuple[str, nw.Expr, str, str, str]] = [
        (
            "no_id",
            col("order_id").is_null(),
            "order_id",
            "has empty order ids",
            "an id on every order",
        ),
        (
            "no_date",
            col("ordered_at").is_null(),
            "ordered_at",
            "has orders without a date",
            "a date-time on every order",
        ),
        (
            "no_merch",
            col("merchandise").is_null(),
            "merchandise",
            "has orders without a merchandise value",
            "a number on every order",
        ),
    ]
    for c in money:
        bad = ~col(c).is_null() & (col(c).is_nan() | (col(c).abs() == float("inf")) | (col(c) < 0))
        checks.append((f"bad_{c}", bad, c, "has negative or non-finite amounts", "amounts >= 0"))
    if status is not None:
        known = status.is_null() | status.is_in(list(STATUS_MAP))
        checks.append(
            (
                "bad_status",
                ~known,
                "status",
                "has unknown statuses",
                "one of " + ", ".join(sorted(set(STATUS_MAP.values()))),
            )
        )
    over = col("discount") > col("merchandise") + 1e-9 if "discount" in o.columns else nw.lit(False)
    text = _text_to_scan(o)
    if text:
        o = o.with_columns(*(col(c).cast(nw.String()) for c in text))
    aggregates = [bad.cast(nw.Int64()).sum().alias(label) for label, bad, *_ in checks]
    aggregates += [
        nw.len().alias("__n"),
        col("order_id").n_unique().alias("__distinct"),
        # Orders without merchandise value, for each minor unit a currency may have.
        *(
            (col("merchandise").abs() < 0.5 * 10**-d).cast(nw.Int64()).sum().alias(f"__zero{d}")
            for d in (0, 2, 3)
        ),
        *_personal_counts(text),
        *_currency_counts(o),
        *_tax_counts(o),
        over.cast(nw.Int64()).sum().alias("__overdrawn"),
    ]
    counts = o.select(*aggregates).pipe(_collected).rows(named=True)[0]
    currency = _currency(counts, given_currency, sources)
    o = _private(o, table, text, counts, sources, notes)
    _fail_if(o, counts, checks, table, sources, "order_id")
    if int(counts["__distinct"]) != int(counts["__n"]):
        repeated = (
            o.group_by("order_id").agg(nw.len().alias("n")).filter(col("n") > 1).head(_MAX_EXAMPLES)
        )
        ids = repeated.pipe(_collected)["order_id"].to_list()
        raise AovlabInputError(
            "has repeated order ids",
            **_where(table, sources),
            column="order_id",
            expected="each order once",
            found=f"{int(counts['__n']) - int(counts['__distinct']):,} repeats, e.g. "
            + ", ".join(map(str, ids)),
        )
    digits = minor_unit(currency)
    zero = int(counts[f"__zero{digits}"] or 0)
    if zero and not include_zero_value:
        none = col("merchandise").abs() < 0.5 * 10**-digits
        if zero == int(counts["__n"]):
            raise AovlabInputError(
                "has no order with a merchandise value",
                **_where(table, sources),
                column="merchandise",
                expected="orders whose items are worth more than 0",
                found=f"{fmt.count(zero)} order(s), all with merchandise 0",
                hint="include_zero_value=True / --include-zero-value counts free orders too",
            )
        shown = o.filter(none).select("order_id").head(_MAX_EXAMPLES).pipe(_collected)
        notes.append(
            Note(
                "info",
                table,
                f"{fmt.count(zero)} order(s) with no merchandise value (merchandise 0: stock "
                "adjustments, free replacements) are not sales: left out of orders, AOV and "
                "every analysis (include_zero_value=True / --include-zero-value keeps them)",
                tuple(map(str, shown["order_id"].to_list())),
                zero,
            )
        )
        o = o.filter(~none)
    else:
        zero = 0
    taxed = _tax_included(counts)
    if taxed:
        notes.append(TAX_INCLUDED_NOTE)
    if "__taxed" in counts and min(int(counts["__off_ex"] or 0), int(counts["__off_in"] or 0)):

        def part(c: str) -> nw.Expr:
            return col(c).fill_null(0.0) if c in o.columns else nw.lit(0.0)

        parts = col("merchandise") - part("discount") + part("shipping")
        parts = parts if taxed else parts + part("tax")
        off = ~col("total").is_null() & ((parts - col("total")).abs() > 0.01)
        n = int(counts["__off_in" if taxed else "__off_ex"])
        notes.append(
            Note(
                "warning",
                table,
                f"{fmt.count(n)} order(s) whose parts do not add up to their total "
                "(merchandise - discount + shipping"
                + (")" if taxed else " + tax")
                + ("" if taxed else ")")
                + "; kept as exported",
                _examples(o, off),
                n,
            )
        )
    overdrawn = int(counts["__overdrawn"] or 0)
    if overdrawn:
        notes.append(
            Note(
                "warning",
                table,
                f"{fmt.count(overdrawn)} order(s) have a discount larger than their merchandise "
                "(a shipping discount counted with the order's?): their net revenue is "
                "negative, which lowers AOV on the net basis",
                _examples(o, over),
                overdrawn,
            )
        )
    fills = [
        col(c).fill_null(0.0) if c in o.columns else nw.lit(0.0).alias(c) for c in NON_NEGATIVE
    ]
    o = o.with_columns(*fills)
    exclusive = col("merchandise") - col("discount") + col("shipping") + col("tax")
    o = o.with_columns(
        (col("total").fill_null(exclusive) if "total" in o.columns else exclusive).alias("total"),
        (
            status.replace_strict(STATUS_MAP, default=status, return_dtype=nw.String()).fill_null(
                "paid"
            )
            if status is not None
            else nw.lit("paid")
        ).alias("status"),
        (col("test").fill_null(False) if "test" in o.columns else nw.lit(False)).alias("test"),
        nw.lit(currency, dtype=nw.String()).alias("currency"),
        (
            col("customer_id").cast(nw.String())
            if "customer_id" in o.columns
            else nw.lit(None, dtype=nw.String())
        ).alias("customer_id"),
    )
    o = o.with_columns(*(col(c).round(digits) for c in MONEY))
    return o, currency, zero, taxed


def _examples(frame: Any, where: nw.Expr, column: str = "order_id") -> tuple[str, ...]:
    """A few values of ``column`` in the rows ``where`` holds (for a note)."""
    rows = frame.filter(where).select(column).head(_MAX_EXAMPLES).pipe(_collected)
    return tuple(str(v) for v in rows[column].to_list())


def _lines(
    ln: Any,
    orders: Any,
    raw: Any,
    zero: int,
    sources: Mapping[str, str],
    notes: list[Note],
) -> Any:
    """The lines checked in one aggregation (joined to the checked orders' ids); lazy.

    ``orders`` are the checked orders (those without merchandise value already left
    out, ``zero`` of them), ``raw`` the orders as given: a line of an order left out
    goes with it, without a note; a line of no order at all is counted, named and left
    out, as in memory.
    """
    from aovlab import fmt

    table = "lines"
    _require(ln, table, ["order_id", "sku", "quantity", "unit_price"], sources)
    for c in ("quantity", "unit_price", *(["unit_cost"] if "unit_cost" in ln.columns else [])):
        _expect(ln, table, c, ("number",), sources)
    col = nw.col
    ln = ln.with_columns(col("order_id").cast(nw.String()), col("sku").cast(nw.String()))
    checks: list[tuple[str, nw.Expr, str, str, str]] = [
        (
            "no_id",
            col("order_id").is_null(),
            "order_id",
            "has lines without an order id",
            "an order id on every line",
        ),
        ("no_sku", col("sku").is_null(), "sku", "has lines without a SKU", "a SKU on every line"),
    ]
    for c in ("quantity", "unit_price"):
        bad = col(c).is_null() | col(c).is_nan() | (col(c) < 0) | (col(c).abs() == float("inf"))
        checks.append(
            (f"bad_{c}", bad, c, "has empty, negative or non-finite values", "numbers >= 0")
        )
    if "unit_cost" in ln.columns:
        bad = ~col("unit_cost").is_null() & (col("unit_cost").is_nan() | (col("unit_cost") < 0))
        checks.append(
            ("bad_unit_cost", bad, "unit_cost", "has negative unit costs", "numbers >= 0")
        )
    else:
        ln = ln.with_columns(nw.lit(None, dtype=nw.Float64()).alias("unit_cost"))
    text = _text_to_scan(ln)
    if text:
        ln = ln.with_columns(*(col(c).cast(nw.String()) for c in text))
    # Whether each line's order is among the checked ones, in the same query.
    known = orders.select("order_id").unique().with_columns(nw.lit(True).alias("__known"))
    profiled = ln.join(known, on="order_id", how="left")
    kept = ~col("__known").is_null()
    counts = (
        profiled.select(
            *(b.cast(nw.Int64()).sum().alias(label) for label, b, *_ in checks),
            (~kept).cast(nw.Int64()).sum().alias("__outside"),
            (kept & col("unit_cost").is_null()).cast(nw.Int64()).sum().alias("__no_cost"),
            *_personal_counts(text),
        )
        .pipe(_collected)
        .rows(named=True)[0]
    )
    ln = _private(ln, table, text, counts, sources, notes)
    _fail_if(ln, counts, checks, table, sources, "order_id")
    outside = int(counts["__outside"] or 0)
    if outside:
        # Lines of the orders left out for no merchandise value go with them unreported;
        # only with such orders does telling them apart take a query of its own.
        every = raw.select(col("order_id").cast(nw.String())).unique()
        orphans = ln.join(every if zero else orders.select("order_id"), on="order_id", how="anti")
        n = int(orphans.select(nw.len()).pipe(_collected).item()) if zero else outside
        if n:
            shown = (
                orphans.select("order_id")
                .unique()
                .sort("order_id")
                .head(_MAX_EXAMPLES)
                .pipe(_collected)["order_id"]
            )
            notes.append(
                Note(
                    "warning",
                    table,
                    f"{fmt.count(n)} line(s) belong to no known order and are left out",
                    tuple(map(str, shown.to_list())),
                    n,
                )
            )
        ln = ln.join(orders.select("order_id"), on="order_id", how="semi")
    ln = ln.with_columns(
        *(() if "product" in ln.columns else (col("sku").alias("product"),)),
        (
            col("category").cast(nw.String()).fill_null("(none)")
            if "category" in ln.columns
            else nw.lit("(none)")
        ).alias("category"),
    )
    ln = ln.with_columns(col("unit_price").round(4), col("unit_cost").round(4))
    no_cost = int(counts["__no_cost"] or 0)
    if no_cost:
        skus = (
            profiled.filter(kept & col("unit_cost").is_null())
            .select("sku")
            .unique()
            .sort("sku")
            .head(_MAX_EXAMPLES)
            .pipe(_collected)["sku"]
        )
        notes.append(
            Note(
                "warning",
                "lines",
                f"{fmt.count(no_cost)} line(s) have no unit cost: margin figures leave them "
                "out and say how much revenue they cover",
                tuple(map(str, skus.to_list())),
                no_cost,
            )
        )
    return ln


def _with_line_sums(o: Any, ln: Any, notes: list[Note]) -> Any:
    """Each order's units and cost of goods from its lines (null cost when a line lacks one).

    One query over the joined view counts, as the in-memory load notes them, the orders
    without lines and those whose merchandise differs from their lines' sum.
    """
    from aovlab import fmt

    col = nw.col
    sums = ln.group_by("order_id").agg(
        col("quantity").sum().alias("__units"),
        (col("quantity") * col("unit_cost")).sum().alias("__cogs"),
        col("unit_cost").is_null().cast(nw.Int64()).sum().alias("__no_cost"),
        (col("quantity") * col("unit_price")).sum().alias("__line_merch"),
        nw.len().alias("__n_lines"),
    )
    o = o.drop(*(c for c in ("units", "cogs") if c in o.columns))
    joined = o.join(sums, on="order_id", how="left")
    no_lines = col("__line_merch").is_null()
    tolerance = 0.01 * col("__n_lines").cast(nw.Float64()) + 1e-9
    off = ~no_lines & ((col("__line_merch") - col("merchandise")).abs() > tolerance)
    n_off, n_none = (
        joined.select(
            off.cast(nw.Int64()).sum().alias("off"), no_lines.cast(nw.Int64()).sum().alias("none")
        )
        .pipe(_collected)
        .row(0)
    )
    if n_off:
        notes.append(
            Note(
                "warning",
                "orders",
                f"{fmt.count(int(n_off))} order(s) whose merchandise differs from the sum of their lines",
                _examples(joined, off),
                int(n_off),
            )
        )
    if n_none:
        notes.append(
            Note(
                "warning",
                "orders",
                f"{fmt.count(int(n_none))} order(s) have no lines: their units, UPT, AUR and "
                "margin are unknown",
                _examples(joined, no_lines),
                int(n_none),
            )
        )
    return joined.with_columns(
        col("__units").cast(nw.Float64()).alias("units"),
        nw.when(col("__no_cost") == 0).then(col("__cogs").round(2)).alias("cogs"),
    ).drop("__units", "__cogs", "__no_cost", "__line_merch", "__n_lines")


def _customers(native: Any, sources: Mapping[str, str], notes: list[Note]) -> Any:
    if native is None:
        return None
    frame = _named(nw.from_native(native), "customers", sources, notes)
    _require(frame, "customers", ["customer_id"], sources)
    frame = frame.with_columns(nw.col("customer_id").cast(nw.String()))
    _unique(frame, "customers", "customer_id", sources)
    if "loyalty_member" in frame.columns:
        _expect(frame, "customers", "loyalty_member", ("flag",), sources)
        frame = frame.with_columns(nw.col("loyalty_member").fill_null(False))
    else:
        frame = frame.with_columns(nw.lit(False).alias("loyalty_member"))
    return frame


def _catalog(native: Any, sources: Mapping[str, str], notes: list[Note]) -> Any:
    if native is None:
        return None
    frame = _named(nw.from_native(native), "catalog", sources, notes)
    _require(frame, "catalog", ["sku"], sources)
    frame = frame.with_columns(nw.col("sku").cast(nw.String()))
    _unique(frame, "catalog", "sku", sources)
    return frame


def _traffic(native: Any, sources: Mapping[str, str], notes: list[Note]) -> Any:
    if native is None:
        return None
    frame = _named(nw.from_native(native), "traffic", sources, notes)
    _require(frame, "traffic", ["date", "sessions"], sources)
    _expect(frame, "traffic", "date", ("date",), sources)
    _expect(frame, "traffic", "sessions", ("number",), sources)
    return frame.with_columns(nw.col("sessions").cast(nw.Float64()))


def _unique(frame: Any, table: str, key: str, sources: Mapping[str, str]) -> None:
    n, distinct = (
        frame.select(nw.len().alias("n"), nw.col(key).n_unique().alias("d")).pipe(_collected).row(0)
    )
    if n != distinct:
        raise AovlabInputError(
            f"has repeated {key} values",
            **_where(table, sources),
            column=key,
            expected=f"each {key} once",
            found=f"{n - distinct:,} repeats",
        )


def to_engine(shop: Any, engine: str, *, session: Any = None) -> Any:
    """A checked shop's tables handed to DuckDB or Spark (see ``ShopData.to_backend``)."""
    from dataclasses import replace

    import polars as pl

    from aovlab.model import TABLES, backend_of

    if backend_of(shop.orders) == engine:
        return shop

    def arrow(frame: Any) -> Any:
        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        if not isinstance(frame, pl.DataFrame):
            frame = pl.from_pandas(frame)
        # Dictionary columns (categorical dimensions) as plain text in the engine.
        return frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String)).to_arrow()

    if engine == "duckdb":
        con = session if session is not None else connect_duckdb(shop.timezone)
        made = {
            t: con.from_arrow(arrow(getattr(shop, t)))
            for t in TABLES
            if getattr(shop, t) is not None
        }
    else:
        spark = session if session is not None else spark_session(shop.timezone)
        made = {
            t: spark.createDataFrame(arrow(getattr(shop, t)).to_pandas())
            for t in TABLES
            if getattr(shop, t) is not None
        }
    return replace(shop, **made)


def load(
    given: Mapping[str, Any],
    *,
    engine: str,
    currency: str | None = None,
    timezone: str | None = None,
    name: str | None = None,
    include_zero_value: bool = False,
) -> Any:
    """:func:`aovlab.load` with ``engine="duckdb"`` or ``"spark"``: the tables stay in the engine.

    ``given``: each table's path (a Parquet file, a folder of Parquet files, a glob, or
    a folder written by ``aovlab convert``) or frame. Frames of pandas or polars are
    checked in memory, then handed to the engine.
    """
    from aovlab.io import converted
    from aovlab.io.canonical import shop_file
    from aovlab.model import ShopData, backend_of

    orders = given["orders"]
    if not isinstance(orders, str | Path):
        frames = {t: v for t, v in given.items() if v is not None}
        if backend_of(orders) in ENGINES:
            return ShopData.from_frames(
                frames.pop("orders"),
                **frames,
                currency=currency,
                timezone=timezone,
                name=name,
                include_zero_value=include_zero_value,
            )
        shop = ShopData.from_frames(
            frames.pop("orders"),
            **frames,
            currency=currency,
            timezone=timezone,
            name=name,
            include_zero_value=include_zero_value,
        )
        return to_engine(shop, engine)
    if converted.is_converted(orders):
        return _converted(Path(orders), engine, timezone)
    meta = _meta(orders, shop_file)
    zone = timezone or meta.get("timezone") or "UTC"
    session = connect_duckdb(zone) if engine == "duckdb" else spark_session(zone)
    files = {t: v for t, v in given.items() if v is not None}
    if any(not isinstance(v, str | Path) for v in files.values()):
        raise AovlabInputError(
            "mixes files and frames",
            expected="every table as a path, or every table as a frame",
            found=", ".join(f"{t}: {type(v).__name__}" for t, v in files.items()),
        )
    tables = read_tables(files, engine, zone, session=session)
    return from_engine_frames(
        tables.pop("orders"),
        **tables,
        currency=currency or meta.get("currency"),
        timezone=zone,
        name=name or meta.get("name"),
        sources={t: str(v) for t, v in files.items()},
        include_zero_value=include_zero_value,
    )


def _meta(orders: str | Path, shop_file: Any) -> dict[str, Any]:
    """The shop.json beside the orders (a file's or a glob's folder, or a parts folder's own).

    A folder of parts (``shop/orders/*.parquet``) may keep it inside, or one level up.
    """
    text = str(orders)
    folder = Path(text).parent if any(ch in text for ch in "*?[") else Path(text)
    if folder.is_dir():
        return dict(shop_file(folder / "x")) or dict(shop_file(folder))
    return dict(shop_file(orders))


def _converted(folder: Path, engine: str, timezone: str | None) -> Any:
    """A folder written by ``aovlab convert``, its Parquet files read by the engine.

    Trusted as :func:`aovlab.io.converted.read` trusts it (the files are as written);
    else checked again in the engine.
    """
    import json

    from aovlab.io import converted
    from aovlab.model import ShopData

    text = (folder / converted.META_FILE).read_text(encoding="utf-8")
    meta = json.loads(text)
    zone = timezone or meta.get("timezone") or "UTC"
    session = connect_duckdb(zone) if engine == "duckdb" else spark_session(zone)
    files = {
        t: folder / f"{t}.parquet" for t in converted.TABLES if (folder / f"{t}.parquet").is_file()
    }
    tables = read_tables(files, engine, zone, session=session)
    if converted._unchanged(folder, meta, text):
        return ShopData(
            **tables,
            currency=meta.get("currency"),
            timezone=zone,
            tax_included=bool(meta.get("tax_included", False)),
            name=meta.get("name"),
            notes=tuple(converted._notes(meta)),
            format=meta.get("source_format", converted.FORMAT),
            rows_read=meta.get("rows_read"),
        )
    return from_engine_frames(
        tables.pop("orders"),
        **tables,
        currency=meta.get("currency"),
        timezone=zone,
        name=meta.get("name"),
        sources={t: str(f) for t, f in files.items()},
        include_zero_value=True,
    )
