"""The ``aovlab`` command: KPIs, the sample shop and the monthly report.

Bad input ends with exit status 2 and a short message naming the problem, never a
traceback.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aovlab import metrics
from aovlab.display import cell, label, shown
from aovlab.engines import check_engine
from aovlab.errors import AovlabInputError
from aovlab.fmt import money as fmt_money
from aovlab.io.canonical import parse_column_map
from aovlab.io.parse import check_currency, check_sep, check_timezone

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Average order value analytics for e-commerce exports.",
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

#: The figures of `aovlab kpis --json`, overall and per `by` key.
JSON_KEYS = metrics.KPI_FIGURES

Opt = typer.Option


def _fail(message: str, code: int = 2) -> typer.Exit:
    # Messages quote the user's values (a column, a segment): text, never Rich markup.
    err.print(f"[bold red]aovlab:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _note(note: Any) -> None:
    """A data note on stderr (it may quote values from the export: never markup)."""
    err.print(f"[yellow]note:[/] {escape(str(note))}", highlight=False, soft_wrap=True)


def _console() -> Console:
    """The console for headlines and tables, which hold the export's own values.

    A channel named ``[/]`` is printed as text, never read as Rich markup.
    """
    return Console(width=None if sys.stdout.isatty() else 200, markup=False)


# Options shared by every command that reads an export: declared once.
LinesOpt = Annotated[Path | None, Opt("--lines", help="Order lines file.")]
CustomersOpt = Annotated[Path | None, Opt("--customers", help="Customers file.")]
CatalogOpt = Annotated[Path | None, Opt("--catalog", help="Catalogue with unit costs.")]
TrafficOpt = Annotated[Path | None, Opt("--traffic", help="Daily sessions file.")]
CurrencyOpt = Annotated[
    str | None, Opt("--currency", help="ISO 4217 currency, if the file has none.")
]
TimezoneOpt = Annotated[str | None, Opt("--timezone", help="The shop's IANA time zone.")]
FormatOpt = Annotated[
    str | None, Opt("--format", help="Force an export format (see aovlab.io.formats).")
]
SepOpt = Annotated[
    str | None,
    Opt("--sep", help="Field separator, when it cannot be detected: , ; | or tab."),
]
EncodingOpt = Annotated[str | None, Opt("--encoding", help="Text encoding, e.g. utf-8 or cp1252.")]
DecimalOpt = Annotated[str | None, Opt("--decimal", help="Decimal mark of amounts: '.' or ','.")]
DayfirstOpt = Annotated[
    bool | None,
    Opt("--dayfirst/--monthfirst", help="Order of day and month in dates like 03/04/2026."),
]
MapOpt = Annotated[
    str | None,
    Opt("--map", help="For unknown headers: order_id=Order ID,ordered_at=Date,total=Grand Total"),
]
JsonOpt = Annotated[bool, Opt("--json", help="One JSON object on stdout.")]
EngineOpt = Annotated[
    str | None,
    Opt(
        "--engine",
        help="Where the data is aggregated: polars (default, in memory), duckdb (embedded, "
        "larger than memory; Parquet input) or spark (SPARK_MASTER, else local[2]).",
    ),
]
ZeroOpt = Annotated[
    bool,
    Opt(
        "--include-zero-value",
        help="Count orders with no merchandise value (every line priced 0); by default they "
        "are left out as they are not sales.",
    ),
]


def _read_options(command: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of aovlab.load from a command's shared read options (checked).

    Every command that reads an export declares the same options (``CurrencyOpt``,
    ``SepOpt``, ... above) and passes its ``locals()``: the options are read here, once.
    """
    currency, timezone, fmt = command["currency"], command["timezone"], command["fmt"]
    sep, encoding, decimal = command["sep"], command["encoding"], command["decimal"]
    dayfirst, column_map = command["dayfirst"], command["column_map"]
    include_zero_value = command["include_zero_value"]
    engine = command.get("engine")
    if sep is not None and sep.lower() in ("\\t", "tab"):  # a tab is hard to type in a shell
        sep = "\t"
    check_sep(sep)
    check_currency(currency)
    check_timezone(timezone)
    return {
        "currency": currency,
        "timezone": timezone,
        "format": fmt,
        "sep": sep,
        "encoding": encoding,
        "decimal": decimal,
        "dayfirst": dayfirst,
        "column_map": parse_column_map(column_map) if column_map else None,
        "include_zero_value": include_zero_value,
        **({"engine": check_engine(engine)} if engine else {}),
    }


def _load(orders: Path, tables: dict[str, Any], read: dict[str, Any]) -> Any:
    """The one way every command reads an export and its side files (a ShopData).

    ``read`` comes from :func:`_read_options`; bad input raises AovlabInputError, which
    each command turns into exit status 2 with the message.
    """
    from aovlab.io import load

    return load(orders=orders, **tables, **read)


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    """The documented figures, with sessions and conversion where traffic was given."""
    extra = [k for k in ("sessions", "conversion_rate") if k in row]
    return {k: row.get(k) for k in (*JSON_KEYS, *extra)}


@app.command()
def kpis(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    lines: LinesOpt = None,
    customers: CustomersOpt = None,
    catalog: CatalogOpt = None,
    traffic: TrafficOpt = None,
    by: Annotated[
        str | None, Opt(help="month, week, day, quarter, or an order column (e.g. channel).")
    ] = None,
    basis: Annotated[str, Opt(help="Revenue basis: net, total or gross.")] = "net",
    when: Annotated[str | None, Opt(help="Only this period: 2026-10, 2026Q3, a..b.")] = None,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Core KPIs of an export: AOV, median, trimmed AOV, UPT, AUR, margin per order."""
    from aovlab.periods import PERIODS

    try:
        shop = _load(
            orders,
            dict(lines=lines, customers=customers, catalog=catalog, traffic=traffic),
            # Only the dimension grouped by is read; the figures use no other.
            {**_read_options(locals()), "dimensions": [by] if by and by not in PERIODS else []},
        )
        overall, *rest = metrics.kpis_many(
            shop, [None, *([by] if by else [])], basis=basis, when=when
        )
        grouped = rest[0] if rest else None
    except AovlabInputError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        payload: dict[str, Any] = {"currency": shop.currency, "basis": basis}
        payload.update(_figures(overall.rows()[0]))
        if grouped is not None:
            payload["by"] = [
                {"key": " / ".join(str(row[k]) for k in grouped.keys), **_figures(row)}
                for row in grouped.rows()
            ]
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    console = _console()
    console.print(overall.headline, highlight=False, soft_wrap=True)
    for note in shop.warnings():
        _note(note)
    shown = grouped or overall
    table = Table(show_edge=False, header_style="bold")
    columns = [*shown.keys, *_figures(shown.rows()[0])]
    for column in columns:
        table.add_column(label(column), justify="left" if column in shown.keys else "right")
    for row in shown.rows():
        table.add_row(
            *(cell(row[c], metrics.KPI_FORMATS.get(c, "text"), shop.currency) for c in columns)
        )
    console.print(table)


@app.command()
def drivers(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    current: Annotated[
        str | None,
        Opt(
            help="Period to explain: 2026-10, 2026Q3 or 2026-10-01..2026-10-15. "
            "Default: the latest complete month."
        ),
    ] = None,
    baseline: Annotated[
        str | None, Opt(help="Period to compare with. Default: the one just before, same length.")
    ] = None,
    by: Annotated[
        str | None,
        Opt(
            help="Dimension for the mix/rate split: channel, device, country, customer_type, "
            "main_category, discount_used, ..."
        ),
    ] = None,
    lines: LinesOpt = None,
    traffic: TrafficOpt = None,
    basis: Annotated[str, Opt(help="Revenue basis: net, total or gross.")] = "net",
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Why AOV moved between two periods: UPT/AUR, mix/rate and revenue splits, exact."""
    from aovlab import drivers as drivers_mod
    from aovlab.report import default_month_note, latest_complete_month

    try:
        shop = _load(
            orders,
            dict(lines=lines, traffic=traffic),
            _read_options(locals()),
        )
        if current is None:
            current = latest_complete_month(shop)
            err.print(default_month_note(current, "--current"), highlight=False, soft_wrap=True)
        result = drivers_mod.decompose(shop, current, baseline, by=by, basis=basis)
    except AovlabInputError as exc:
        raise _fail(str(exc)) from None
    payload = result.to_dict()
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    console = _console()
    console.print(result.headline, highlight=False, soft_wrap=True)
    for note in shop.warnings():
        _note(note)
    cur = shop.currency
    figures = Table(show_edge=False, header_style="bold")
    for column in ("", payload["baseline"]["period"], payload["current"]["period"]):
        figures.add_column(column, justify="right" if column else "left")
    for key in ("orders", "revenue", "aov", "upt", "aur", "sessions", "conversion_rate"):
        if key in payload["baseline"]:
            kind = drivers_mod.PERIOD_FORMATS.get(key, "number")
            figures.add_row(
                label(key), *(cell(payload[w][key], kind, cur) for w in ("baseline", "current"))
            )
    console.print(figures)
    effects = Table(show_edge=False, header_style="bold")
    for column in ("split", "part", "effect"):
        effects.add_column(label(column), justify="right" if column == "effect" else "left")
    for row in result.effects():
        effects.add_row(
            shown("split", row["split"]),
            shown("part", row["part"]),
            fmt_money(row["effect"], cur, signed=True),
        )
    console.print(effects)
    if by:
        segments = Table(show_edge=False, header_style="bold")
        columns = (
            "key",
            "baseline_orders",
            "baseline_aov",
            "current_orders",
            "current_aov",
            "mix",
            "rate",
        )
        for column in columns:
            segments.add_column(
                label(by if column == "key" else column, result.context()),
                justify="left" if column == "key" else "right",
            )
        for row in payload["segments"]:
            segments.add_row(
                *(cell(row[c], drivers_mod.SEGMENT_FORMATS.get(c, "text"), cur) for c in columns)
            )
        console.print(segments)
    if result.large_orders is not None:
        # The current period's large orders (order ids only; never customer data).
        console.print(result.large_orders.headline, highlight=False, soft_wrap=True)


@app.command()
def segments(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    by: Annotated[
        str | None,
        Opt(
            help="Dimension to split by: channel, device, country, customer_type, "
            "main_category, discount_used, loyalty_status, ... (default: the first column)."
        ),
    ] = None,
    by2: Annotated[
        str | None, Opt("--by2", help="A second dimension (or month, quarter, ...): every pair.")
    ] = None,
    period: Annotated[
        str | None, Opt(help="Only this period: 2026-10, 2026Q3, 2026 or a..b. Default: all.")
    ] = None,
    min_orders: Annotated[
        int, Opt("--min-orders", help="Segments with fewer orders are merged into Other.")
    ] = 30,
    rfm: Annotated[
        bool, Opt("--rfm", help="RFM segments and the most valuable customers instead.")
    ] = False,
    as_of: Annotated[
        str | None, Opt("--as-of", help="RFM as of this date (default: the last order's day).")
    ] = None,
    top: Annotated[int, Opt(help="How many of the most valuable customers to list.")] = 20,
    lines: LinesOpt = None,
    customers: CustomersOpt = None,
    catalog: CatalogOpt = None,
    basis: Annotated[str, Opt(help="Revenue basis: net, total or gross.")] = "net",
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who buys what: AOV by segment with intervals, or RFM and the most valuable customers."""
    from aovlab import segments as segments_mod

    try:
        shop = _load(
            orders,
            dict(lines=lines, customers=customers, catalog=catalog),
            _read_options(locals()),
        )
        if rfm:
            scored = segments_mod.rfm(shop, as_of=as_of, basis=basis, when=period)
            best = segments_mod.top_customers(shop, top, as_of=as_of, basis=basis, when=period)
            results: list[Any] = [scored, best]
        else:
            dimension = by or metrics.pick_dimension(shop)
            if dimension is None:
                raise AovlabInputError(
                    "nothing to split the orders by",
                    expected="an order column such as channel or device, or customer ids",
                    found="no dimension in this export",
                )
            results = [
                segments_mod.breakdown(
                    shop, dimension, by2, when=period, basis=basis, min_orders=min_orders
                )
            ]
    except AovlabInputError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        payload: dict[str, Any] = {}
        dicts = [result.to_dict() for result in results]
        for entry in dicts:
            # The first result's figures win: with --rfm, customers, orders and revenue
            # are the registered customers' (the top customers' revenue is all orders').
            for key, value in entry.items():
                payload.setdefault(key, value)
        if rfm:
            payload["all_revenue"] = dicts[1]["revenue"]
        payload["headline"] = " ".join(r.headline for r in results)
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    _show(shop, results)


def _show(shop: Any, results: list[Any]) -> None:
    """The data notes, then each result's headline and tables, on the terminal."""
    console = _console()
    for note in shop.warnings():
        _note(note)
    for result in results:
        console.print(result.headline, highlight=False, soft_wrap=True)
        for section in result.sections():
            if section.title:
                console.print(section.title, highlight=False)
            if section.note:
                console.print(section.note, highlight=False, soft_wrap=True)
            console.print(_rich_table(section.table, section.formats, shop.currency))


def _numbers(text: str | None, option: str) -> list[float] | None:
    """A comma-separated list of numbers from an option (``79,89,99``), checked.

    An empty entry (``79,,89``) is refused, not skipped: it is a typo whose intent is
    unknown. A number given twice counts once.
    """
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise AovlabInputError(
            "is not a list of numbers",
            source=option,
            expected="finite numbers separated by commas, such as 79,89,99 or 0.05,0.10",
            found=repr(text) + (" (an empty entry)" if "" in parts else ""),
        )
    return list(dict.fromkeys(values))


def _as_options(exc: AovlabInputError, names: dict[str, str]) -> AovlabInputError:
    """A library error about a parameter (``current is out of range``) as the option.

    The library names its keyword arguments; a person at the terminal typed options.
    """
    for name, option in names.items():
        if exc.problem.startswith(f"{name} ") and not exc.source:
            return AovlabInputError(
                exc.problem[len(name) + 1 :],
                source=option,
                table=exc.table,
                column=exc.column,
                rows=exc.rows,
                expected=exc.expected,
                found=exc.found,
                present=exc.present,
                hint=exc.hint,
            )
    return exc


def _emit(shop: Any, result: Any, as_json: bool) -> None:
    """One result as one JSON object on stdout, or its headline and tables."""
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    else:
        _show(shop, [result])


PeriodOpt = Annotated[
    str | None, Opt("--when", help="Only this period: 2026-10, 2026Q3, 2026 or a..b.")
]


@app.command()
def elasticity(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    lines: LinesOpt = None,
    period: Annotated[str, Opt(help="Panel period: week or month.")] = "week",
    when: PeriodOpt = None,
    min_skus: Annotated[
        int, Opt("--min-skus", help="Fewest SKUs whose price changed to estimate anything.")
    ] = 3,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """How units respond to price: elasticity from the shop's own price changes."""
    from aovlab import pricing

    try:
        shop = _load(orders, dict(lines=lines), _read_options(locals()))
        result = pricing.elasticity(shop, period=period, when=when, min_skus=min_skus)
    except AovlabInputError as exc:
        raise _fail(str(_as_options(exc, {"min_skus": "--min-skus"}))) from None
    _emit(shop, result, as_json)


@app.command()
def whatif(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    lines: LinesOpt = None,
    catalog: CatalogOpt = None,
    top: Annotated[int, Opt(help="How many best-sellers (by units) to reprice.")] = 5,
    change: Annotated[
        str, Opt(help="Price change(s) as fractions: 0.05, or 0.05,0.10; -0.05 is a cut.")
    ] = "0.05,0.10",
    elasticity_: Annotated[
        float | None,
        Opt("--elasticity", help="Own-price elasticity to use (default: estimated from the data)."),
    ] = None,
    when: PeriodOpt = None,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What a price change on the best-sellers does to units, revenue, margin and AOV."""
    from aovlab import pricing

    try:
        changes = _numbers(change, "--change") or []
        shop = _load(orders, dict(lines=lines, catalog=catalog), _read_options(locals()))
        result = pricing.whatif(
            shop,
            top=top,
            change=changes[0] if len(changes) == 1 else changes,
            elasticity=elasticity_,
            when=when,
        )
    except AovlabInputError as exc:
        names = {"top": "--top", "price change": "--change", "elasticity": "--elasticity"}
        raise _fail(str(_as_options(exc, names))) from None
    _emit(shop, result, as_json)


@app.command()
def abtest(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    variant_column: Annotated[
        str, Opt("--variant-column", help="The order column naming each order's test arm.")
    ] = "ab_arm",
    control: Annotated[
        str | None, Opt(help="The control arm (default: an arm named control, else the first).")
    ] = None,
    treatment: Annotated[
        str | None, Opt(help="The arm compared with control, when there are more than two.")
    ] = None,
    traffic: TrafficOpt = None,
    expected_split: Annotated[
        float, Opt("--expected-split", help="Control's intended share of the traffic.")
    ] = 0.5,
    lift: Annotated[
        float, Opt(help="Relative AOV lift a test should detect (sample size per arm).")
    ] = 0.05,
    when: PeriodOpt = None,
    basis: Annotated[str, Opt(help="Revenue basis: net, total or gross.")] = "net",
    lines: LinesOpt = None,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A price test's read-out: AOV, conversion and revenue per visitor per arm."""
    from aovlab import pricing

    try:
        shop = _load(orders, dict(lines=lines, traffic=traffic), _read_options(locals()))
        result = pricing.abtest(
            shop,
            variant_column,
            control=control,
            treatment=treatment,
            expected_split=expected_split,
            when=when,
            lift=lift,
            basis=basis,
        )
    except AovlabInputError as exc:
        names = {"expected_split": "--expected-split", "lift": "--lift"}
        raise _fail(str(_as_options(exc, names))) from None
    _emit(shop, result, as_json)


@app.command()
def threshold(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    lines: LinesOpt = None,
    catalog: CatalogOpt = None,
    current_threshold: Annotated[
        float | None,
        Opt("--current-threshold", help="Today's free-shipping threshold (default: detected)."),
    ] = None,
    shipping_cost: Annotated[
        float | None, Opt("--shipping-cost", help="What shipping one order costs the shop.")
    ] = None,
    candidates: Annotated[
        str | None, Opt(help="Thresholds to try besides AOV +0..50 %: 79,89,99.")
    ] = None,
    top_up_share: Annotated[
        float | None,
        Opt(
            "--top-up-share",
            help="Share of orders within reach that top up (default: observed, else 0.30).",
        ),
    ] = None,
    window: Annotated[
        float, Opt(help="Within reach: this fraction of the threshold below it.")
    ] = 0.20,
    when: PeriodOpt = None,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Where a free-shipping threshold pays: orders within reach, AOV, shipping and margin."""
    from aovlab import pricing

    try:
        tried = _numbers(candidates, "--candidates")
        shop = _load(orders, dict(lines=lines, catalog=catalog), _read_options(locals()))
        result = pricing.threshold(
            shop,
            candidates=tried,
            current=current_threshold,
            shipping_cost=shipping_cost,
            top_up_share=top_up_share,
            window=window,
            when=when,
        )
    except AovlabInputError as exc:
        names = {
            "current": "--current-threshold",
            "shipping_cost": "--shipping-cost",
            "top_up_share": "--top-up-share",
            "window": "--window",
            "a candidate threshold": "--candidates",
        }
        raise _fail(str(_as_options(exc, names))) from None
    _emit(shop, result, as_json)


# The bundle commands take --period as the issue names it; --when as every other command.
BundlePeriodOpt = Annotated[
    str | None,
    Opt(
        "--period",
        "--when",
        help="The period: 2026-10, 2026Q3, 2026 or a..b (default: the "
        "12 months to the last order).",
    ),
]


def _skus(text: str) -> list[str]:
    """The SKUs of ``--skus A,B[,C]``, checked: no empty entry, none twice."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) < 2 or "" in parts or len(set(parts)) < len(parts):
        raise AovlabInputError(
            "is not a list of two or more different SKUs",
            source="--skus",
            expected="SKUs separated by commas, such as FW-003,CA-001",
            found=repr(text),
        )
    return parts


@app.command()
def bundles(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    lines: LinesOpt = None,
    catalog: CatalogOpt = None,
    min_support: Annotated[
        float, Opt("--min-support", help="Least share of orders a pair must be in.")
    ] = 0.001,
    min_orders: Annotated[
        int, Opt("--min-orders", help="Least number of orders a pair must be in.")
    ] = 20,
    level: Annotated[str, Opt(help="What an item is: sku or category.")] = "sku",
    triples: Annotated[bool, Opt("--triples", help="Items bought three together.")] = False,
    when: BundlePeriodOpt = None,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What is bought together more often than chance: pairs with support, confidence, lift."""
    from aovlab.bundles.pairs import pairs

    try:
        shop = _load(orders, dict(lines=lines, catalog=catalog), _read_options(locals()))
        result = pairs(
            shop,
            level=level,
            when=when,
            min_support=min_support,
            min_orders=min_orders,
            size=3 if triples else 2,
        )
    except AovlabInputError as exc:
        names = {
            "min_support": "--min-support",
            "min_orders": "--min-orders",
            "level": "--level",
        }
        raise _fail(str(_as_options(exc, names))) from None
    _emit(shop, result, as_json)


@app.command("bundle-margin")
def bundle_margin(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    skus: Annotated[str, Opt("--skus", help="The bundle's SKUs: A,B[,C].")],
    lines: LinesOpt = None,
    catalog: CatalogOpt = None,
    price: Annotated[float | None, Opt(help="The bundle's price.")] = None,
    discount: Annotated[
        float | None, Opt(help="The bundle's discount on its list price, as a fraction: 0.1.")
    ] = None,
    cost_rate: Annotated[
        float | None,
        Opt("--cost-rate", help="Unit cost as a share of price, for SKUs without a cost."),
    ] = None,
    take_rate: Annotated[
        float,
        Opt("--take-rate", help="Share of orders with some of the items that take the bundle."),
    ] = 0.05,
    when: BundlePeriodOpt = None,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What a bundle at a price does to margin: the discount given away and the break-even."""
    from aovlab.bundles.margin import bundle_margin as calculate

    try:
        items = _skus(skus)
        shop = _load(orders, dict(lines=lines, catalog=catalog), _read_options(locals()))
        result = calculate(
            shop,
            items,
            price=price,
            discount=discount,
            cost_rate=cost_rate,
            take_rate=take_rate,
            when=when,
        )
    except AovlabInputError as exc:
        names = {
            "price": "--price",
            "discount": "--discount",
            "cost_rate": "--cost-rate",
            "take_rate": "--take-rate",
        }
        raise _fail(str(_as_options(exc, names))) from None
    _emit(shop, result, as_json)


@app.command()
def loyalty(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    lines: LinesOpt = None,
    customers: Annotated[
        Path | None,
        Opt(
            "--customers",
            help="Customers file with loyalty_member and/or loyalty_joined_at (and "
            "signed_up_at, if known).",
        ),
    ] = None,
    catalog: CatalogOpt = None,
    when: BundlePeriodOpt = None,
    cost_per_member: Annotated[
        float | None,
        Opt("--cost-per-member", help="The programme's cost per member over the period."),
    ] = None,
    fee: Annotated[float | None, Opt(help="A fixed cost of the programme over the period.")] = None,
    margin_rate: Annotated[
        float | None,
        Opt("--margin-rate", help="Gross margin as a share of revenue, without unit costs."),
    ] = None,
    pre_months: Annotated[
        int, Opt("--pre-months", help="Months of history a member needs before joining.")
    ] = 6,
    basis: Annotated[str, Opt(help="Revenue basis: net, total or gross.")] = "net",
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Members against non-members, what joining changed, and whether the programme pays."""
    from aovlab.loyalty.impact import impact

    try:
        shop = _load(
            orders,
            dict(lines=lines, customers=customers, catalog=catalog),
            _read_options(locals()),
        )
        result = impact(
            shop,
            when,
            cost_per_member=cost_per_member,
            fee=fee,
            margin_rate=margin_rate,
            pre_months=pre_months,
            basis=basis,
        )
    except AovlabInputError as exc:
        names = {
            "cost_per_member": "--cost-per-member",
            "fee": "--fee",
            "margin_rate": "--margin-rate",
            "pre_months": "--pre-months",
        }
        raise _fail(str(_as_options(exc, names))) from None
    if not result.available:  # not even the member comparison: the data lacks what it needs
        raise _fail(
            str(getattr(result.members, "reason", "the member comparison is not available"))
        )
    _emit(shop, result, as_json)


@app.command()
def clv(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    calibration_end: Annotated[
        str | None,
        Opt(
            "--calibration-end",
            help="First day of the holdout, YYYY-MM-DD: the models are fit on the orders "
            "before it (default: 26 weeks before the data ends).",
        ),
    ] = None,
    holdout_end: Annotated[
        str | None,
        Opt("--holdout-end", help="The day after the holdout (default: after the last order)."),
    ] = None,
    lines: LinesOpt = None,
    customers: Annotated[
        Path | None,
        Opt("--customers", help="Customers file (members against non-members when given)."),
    ] = None,
    catalog: CatalogOpt = None,
    cac: Annotated[
        float | None, Opt(help="Acquisition cost per new customer, for CLV : CAC.")
    ] = None,
    margin_rate: Annotated[
        float | None,
        Opt("--margin-rate", help="Gross margin as a share of revenue, without unit costs."),
    ] = None,
    horizon_months: Annotated[
        float, Opt("--horizon-months", help="The CLV horizon in months.")
    ] = 12,
    basis: Annotated[str, Opt(help="Revenue basis: net, total or gross.")] = "net",
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Customer lifetime value: BG/NBD and Gamma-Gamma, checked on a holdout; CLV : CAC."""
    from aovlab.loyalty.lifetime import clv as lifetime_value

    try:
        shop = _load(
            orders,
            dict(lines=lines, customers=customers, catalog=catalog),
            _read_options(locals()),
        )
        result = lifetime_value(
            shop,
            calibration_end,
            holdout_end,
            horizon_months=horizon_months,
            cac=cac,
            margin_rate=margin_rate,
            basis=basis,
        )
    except AovlabInputError as exc:
        names = {
            "calibration_end": "--calibration-end",
            "holdout_end": "--holdout-end",
            "cac": "--cac",
            "margin_rate": "--margin-rate",
            "horizon_months": "--horizon-months",
        }
        raise _fail(str(_as_options(exc, names))) from None
    _emit(shop, result, as_json)


@app.command()
def retention(
    orders: Annotated[Path, typer.Argument(help="Orders file or export (CSV, Parquet, Excel).")],
    lines: LinesOpt = None,
    customers: Annotated[
        Path | None,
        Opt("--customers", help="Customers file (members against non-members when given)."),
    ] = None,
    months: Annotated[
        int | None, Opt(help="Months since the first order to show (default: all).")
    ] = None,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Retention by first-order cohort: who orders again 1, 2, ... months later."""
    from aovlab.loyalty.retention import retention as cohorts

    try:
        # Lines are read (and checked) like every command's, though retention needs none:
        # the same files as `aovlab loyalty` work here.
        shop = _load(orders, dict(lines=lines, customers=customers), _read_options(locals()))
        result = cohorts(shop, months=months)
    except AovlabInputError as exc:
        raise _fail(str(_as_options(exc, {"months": "--months"}))) from None
    _emit(shop, result, as_json)


def _rich_table(native: Any, formats: dict[str, str], currency: str | None) -> Table:
    """A result section as a terminal table: human labels, formatted cells."""
    import narwhals.stable.v2 as nw

    frame = nw.from_native(native, eager_only=True)
    columns = frame.columns
    table = Table(show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(label(column), justify="right" if column in formats else "left")
    for row in frame.iter_rows(named=True):
        table.add_row(*(cell(shown(c, row[c]), formats.get(c, "text"), currency) for c in columns))
    return table


@app.command()
def validate(
    orders: Annotated[Path, typer.Argument(help="The export to check.")],
    lines: LinesOpt = None,
    catalog: CatalogOpt = None,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Say what was read from an export and what was dropped or doubtful.

    Exit status: 0 clean, 1 warnings (numbers may be affected: read them), 2 errors.
    """
    report: dict[str, Any] = {"file": str(orders)}
    try:
        shop = _load(
            orders,
            dict(lines=lines, catalog=catalog),
            _read_options(locals()),
        )
    except AovlabInputError as exc:
        report.update(status="error", error=str(exc))
        if as_json:
            sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
            raise typer.Exit(2) from None
        raise _fail(str(exc)) from None
    summary = shop.summary()
    report.update(
        status="warnings" if shop.warnings() else "clean",
        format=summary["format"],
        rows=summary["rows_read"],
        orders=summary["tables"]["orders"],
        lines=summary["tables"].get("lines"),
        first_order=summary["first_order"],
        last_order=summary["last_order"],
        currency=summary["currency"],
        timezone=summary["timezone"],
        tax_included=summary["tax_included"],
        customers=summary["customers"],
        notes=[
            {
                "level": n.level,
                "table": n.table,
                "message": n.message,
                "count": n.count,
                "examples": list(n.examples),
            }
            for n in shop.notes
        ],
    )
    code = 1 if shop.warnings() else 0
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        raise typer.Exit(code)
    console = Console(width=None if sys.stdout.isatty() else 200)  # styled: values escaped
    console.print(
        f"[bold]{escape(str(orders))}[/]: {report['format']} export, {report['status']}",
        highlight=False,
    )
    for key in (
        "rows",
        "orders",
        "lines",
        "customers",
        "first_order",
        "last_order",
        "currency",
        "timezone",
        "tax_included",
    ):
        value = report[key]
        shown = (
            f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
        )
        console.print(f"  {key.replace('_', ' '):13s} {shown}", highlight=False)
    for note in shop.notes:
        style = "yellow" if note.level == "warning" else "dim"
        console.print(
            f"  [{style}]{note.level}[/] {escape(f'{note.table}: {note.message}')}",
            highlight=False,
            soft_wrap=True,
        )
        if note.examples:
            console.print(
                f"      e.g. {', '.join(note.examples)}",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )
    raise typer.Exit(code)


@app.command()
def convert(
    orders: Annotated[Path, typer.Argument(help="Orders file or export to convert.")],
    out: Annotated[Path, Opt("--out", help="Folder to write the canonical Parquet shop into.")],
    lines: LinesOpt = None,
    customers: CustomersOpt = None,
    catalog: CatalogOpt = None,
    traffic: TrafficOpt = None,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
) -> None:
    """Read an export once and keep it as canonical Parquet: later runs skip the parse.

    Every command takes the folder in place of the export (``aovlab kpis shop/``) and
    gives the same figures. The folder's shop.json keeps the read options and the notes.
    """
    from aovlab.io import converted

    tables = dict(lines=lines, customers=customers, catalog=catalog, traffic=traffic)
    try:
        read = _read_options(locals())
        shop = _load(orders, tables, read)
        sources = {"orders": str(orders), **{t: str(v) for t, v in tables.items() if v}}
        written = converted.write(shop, out, sources=sources, read_options=read)
    except AovlabInputError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(
            f"--out {out}: cannot write the converted shop ({exc.strerror or exc})"
        ) from None
    for note in shop.warnings():
        _note(note)
    for path in written:
        typer.echo(str(path))


@app.command()
def sample(
    out: Annotated[Path, Opt(help="Folder to write the sample shop into.")] = Path("data/sample"),
    scale: Annotated[
        float, Opt(help="Size relative to the bundled shop (1 = ~30,000 orders).")
    ] = 1.0,
) -> None:
    """Write the synthetic sample shop (byte-for-byte reproducible)."""
    import math

    from aovlab import sample as sample_mod

    if not (math.isfinite(scale) and sample_mod.SCALES[0] <= scale <= sample_mod.SCALES[1]):
        low, high = sample_mod.SCALES
        raise _fail(
            f"--scale must be a number from {low:g} to {high:g} "
            f"(1 = ~30,000 orders, 0.1 = ~3,000); got {scale:g}"
        )
    if out.exists() and not out.is_dir():
        raise _fail(f"--out {out}: is a file; give a folder to write the sample shop into")
    try:
        written = sample_mod.write(out, scale=scale)
    except OSError as exc:
        raise _fail(
            f"--out {out}: cannot write the sample shop there ({exc.strerror or exc})"
        ) from None
    for path in written:
        typer.echo(str(path))


@app.command()
def report(
    orders: Annotated[Path | None, Opt(help="Orders file or export.")] = None,
    lines: LinesOpt = None,
    customers: CustomersOpt = None,
    catalog: CatalogOpt = None,
    traffic: TrafficOpt = None,
    month: Annotated[str | None, Opt(help="YYYY-MM; default: the latest complete month.")] = None,
    client: Annotated[str, Opt(help="Client name shown in the report.")] = "Client",
    out: Annotated[
        Path, Opt(help="Reports folder; the report goes to OUT/<client>/<month>/.")
    ] = Path("reports"),
    use_sample: Annotated[bool, Opt("--sample", help="Report on the bundled sample shop.")] = False,
    currency: CurrencyOpt = None,
    timezone: TimezoneOpt = None,
    fmt: FormatOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    decimal: DecimalOpt = None,
    dayfirst: DayfirstOpt = None,
    column_map: MapOpt = None,
    include_zero_value: ZeroOpt = False,
    engine: EngineOpt = None,
    notebooks: Annotated[Path | None, Opt(help="Folder of notebooks to run.")] = None,
    timeout: Annotated[int, Opt(help="Seconds a notebook cell may run.")] = 600,
    locale: Annotated[
        str | None,
        Opt(
            help="How figures and dates are written: de, sv, nb, nl, en-GB, ... "
            "(default: the currency's; English for EUR)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        Opt(
            help="Clients config (TOML): run every client and month it lists (README).",
            dir_okay=False,
        ),
    ] = None,
    months: Annotated[
        str | None,
        Opt(help="With --config: the months for every client, 2026-10 or 2026-01..2026-10."),
    ] = None,
    jobs: Annotated[
        int | None, Opt(help="With --config: clients run at once (default: the cores).")
    ] = None,
    quiet: Annotated[
        bool, Opt("--quiet", help="With --config: print only failures and the index path.")
    ] = False,
    as_json: Annotated[
        bool, Opt("--json", help="With --config: one JSON object of every client-month on stdout.")
    ] = False,
) -> None:
    """Run every notebook for one client and month into a folder of offline HTML.

    With --config, every client and month of a clients config, into one clients index.
    """
    from aovlab import report as report_mod
    from aovlab import sample as sample_mod

    if config is not None or months is not None or jobs is not None or quiet or as_json:
        _report_clients(locals())
        return
    if use_sample:
        base = sample_mod.DATA_DIR
        orders, lines, customers = base / "orders.csv", base / "lines.csv", base / "customers.csv"
        catalog, traffic = base / "catalog.csv", base / "traffic.csv"
    if orders is None:
        raise _fail("give --orders EXPORT (or --sample for the bundled sample shop)")
    if timeout < 1:
        raise _fail(f"--timeout is the seconds a notebook cell may run: 1 or more, not {timeout}")
    try:
        outcome = report_mod.run(
            orders,
            lines=lines,
            customers=customers,
            catalog=catalog,
            traffic=traffic,
            month=month,
            client=client,
            out=out,
            notebooks=notebooks,
            **_read_options(locals()),
            timeout=timeout,
            locale=locale,
        )
    except AovlabInputError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:  # a full disk, a folder another run holds, permissions
        where = exc.filename or out
        raise _fail(f"cannot write the report ({where}): {exc.strerror or exc}") from None
    if outcome.month_note:
        err.print(outcome.month_note, highlight=False, soft_wrap=True)
    for run in outcome.notebooks:
        err.print(f"  {run.name}: {run.status_line}", highlight=False, soft_wrap=True)
    typer.echo(str(outcome.index.resolve()))
    if outcome.failed:
        raise typer.Exit(1)


#: Options of `report` that name one client's export: the config holds them instead.
_ONE_CLIENT = {
    "orders": "--orders",
    "lines": "--lines",
    "customers": "--customers",
    "catalog": "--catalog",
    "traffic": "--traffic",
    "month": "--month",
    "use_sample": "--sample",
    "currency": "--currency",
    "timezone": "--timezone",
    "fmt": "--format",
    "sep": "--sep",
    "encoding": "--encoding",
    "decimal": "--decimal",
    "dayfirst": "--dayfirst/--monthfirst",
    "column_map": "--map",
    "include_zero_value": "--include-zero-value",
    "locale": "--locale",
}


def _report_clients(options: dict[str, Any]) -> None:
    """`aovlab report --config`: every client of a config (see aovlab.clients)."""
    from aovlab import clients

    if options["config"] is None:
        given = [
            flag
            for name, flag in (("months", "--months"), ("jobs", "--jobs"), ("quiet", "--quiet"))
            if options[name]
        ] + (["--json"] if options["as_json"] else [])
        raise _fail(f"{', '.join(given)} go with --config CLIENTS.toml (a run of many clients)")
    clash = [flag for name, flag in _ONE_CLIENT.items() if options[name] not in (None, False)]
    if options["client"] != "Client":
        clash.append("--client")
    if clash:
        raise _fail(
            f"--config takes each client's files and options from the config; "
            f"drop {', '.join(clash)}"
            + (" (use --months for the months)" if "--month" in clash else "")
        )
    if options["jobs"] is not None and options["jobs"] < 1:
        raise _fail(f"--jobs is how many clients run at once: 1 or more, not {options['jobs']}")
    if options["timeout"] < 1:
        raise _fail(
            f"--timeout is the seconds a notebook cell may run: 1 or more, not {options['timeout']}"
        )
    try:
        code = clients.command(
            options["config"],
            out=options["out"],
            jobs=options["jobs"],
            months=options["months"],
            notebooks=options["notebooks"],
            timeout=options["timeout"],
            quiet=options["quiet"],
            as_json=options["as_json"],
        )
    except AovlabInputError as exc:
        raise _fail(str(exc)) from None
    except clients.InterruptedRunError as exc:
        raise _fail(str(exc), 130) from None
    except KeyboardInterrupt:  # before the clients started, or while the index was written
        raise _fail("interrupted; no half-written report or index is left", 130) from None
    except OSError as exc:  # the reports folder: full, read-only, taken
        where = exc.filename or options["out"]
        raise _fail(f"cannot write the clients index ({where}): {exc.strerror or exc}") from None
    raise typer.Exit(code)


def main() -> None:
    """Entry point of the ``aovlab`` script.

    A bug still ends in one line, not a traceback; ``AOVLAB_DEBUG=1`` shows the traceback.
    """
    import os

    try:
        app()
    except AovlabInputError as exc:  # pragma: no cover - commands catch their own
        err.print(f"aovlab: {exc}", highlight=False, markup=False)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("AOVLAB_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[:1]
        err.print(
            f"aovlab: internal error: {type(exc).__name__}"
            + (f": {message[0][:300]}" if message else "")
            + " (this is a bug: rerun with AOVLAB_DEBUG=1 for the details and report it)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
