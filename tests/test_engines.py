"""The same analyses on DuckDB and Spark: the same figures, checks in the engine, aggregates back.

Each analysis runs on the sample shop in polars (the reference), pandas, DuckDB and
(a few, as Spark is slow to start and to plan) Spark in local mode; the tables must
agree to 1e-9 relative and the headlines word for word. Every frame that comes back
from an engine is measured (``model.COLLECT_HOOKS``): none may have as many rows as
the shop has orders. Bundles and the free-shipping analyses have their own file,
tests/test_engines_bundles.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl
import pytest
from typer.testing import CliRunner

import aovlab
from aovlab import drivers, engines, loyalty, metrics, model, pricing, segments
from aovlab.cli import app
from aovlab.errors import AovlabInputError
from aovlab.io import converted

duckdb = pytest.importorskip("duckdb")

# pyspark 4.3 warns on every pandas conversion that it does not yet know pandas 3.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")

CASES: dict[str, Callable[[Any], Any]] = {
    "kpis by month": lambda s: metrics.kpis(s, by="month"),
    "kpis in a month": lambda s: metrics.kpis(s, when="2026-10"),
    "kpis by month and channel": lambda s: metrics.kpis(s, by=["month", "channel"]),
    "decompose": lambda s: drivers.decompose(s, "2026-10", "2026-09", by="channel"),
    "trend": lambda s: drivers.trend(s),
    "large orders": lambda s: drivers.large_orders(s, "2026-10", min_influence=0.004),
    "contributors": lambda s: drivers.contributors(s, "2026-10", "2026-09"),
    "breakdown": lambda s: segments.breakdown(s, "channel"),
    "breakdown of two": lambda s: segments.breakdown(s, "channel", "device", when="2026-10"),
    "compare": lambda s: segments.compare(s, "channel", "2026-10"),
    "new vs returning": lambda s: segments.new_vs_returning(s),
    "rfm": lambda s: segments.rfm(s),
    "targets": lambda s: segments.targets(s, "device", when="2026-08"),
    "top customers": lambda s: segments.top_customers(s, 5, period="2026-08"),
    "elasticity": lambda s: pricing.elasticity(s),
    "what-if": lambda s: pricing.whatif(s, elasticity=-1.2),
    "a/b test": lambda s: pricing.abtest(s),
    "loyalty effect": lambda s: loyalty.effect(s, n_boot=50),
    "loyalty impact": lambda s: loyalty.impact(s, cost_per_member=5.0, n_boot=50),
    "clv": lambda s: loyalty.clv(s, cac=25.0),
    "members": lambda s: loyalty.compare_members(s),
    "retention": lambda s: loyalty.retention(s),
}
#: Spark plans slowly: one case per analysis module.
SPARK_CASES = ("kpis by month", "decompose", "breakdown", "retention")


def as_polars(table: Any) -> pl.DataFrame:
    return nw.from_native(table, eager_only=True).to_polars()


def assert_same(expected: Any, got: Any) -> None:
    """Same tables (floats to 1e-9 relative), same headline."""
    a, b = as_polars(expected.table), as_polars(got.table)
    assert a.columns == b.columns
    assert a.height == b.height
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype.is_float() or y.dtype.is_float():
            x, y = x.cast(pl.Float64), y.cast(pl.Float64)
            assert (x.is_null() == y.is_null()).all(), c
            diff = ((x - y).abs() / (x.abs() + 1.0)).fill_null(0.0).fill_nan(0.0)
            assert (diff.max() or 0.0) <= 1e-9, (c, x.to_list()[:5], y.to_list()[:5])
        elif x.dtype == pl.Datetime or y.dtype == pl.Datetime:
            assert x.dt.epoch("us").to_list() == y.dt.epoch("us").to_list(), c
        else:
            assert x.cast(pl.String).to_list() == y.cast(pl.String).to_list(), c
    assert expected.headline == got.headline


@pytest.fixture(scope="module")
def shop() -> aovlab.ShopData:
    return aovlab.sample.load()


@pytest.fixture(scope="module")
def duck(shop: aovlab.ShopData) -> aovlab.ShopData:
    return shop.to_backend("duckdb")


@pytest.fixture(scope="module")
def reference(shop: aovlab.ShopData) -> dict[str, Any]:
    return {}


def _reference(cache: dict[str, Any], shop: aovlab.ShopData, name: str) -> Any:
    if name not in cache:
        cache[name] = CASES[name](shop)
    return cache[name]


@pytest.fixture
def collected() -> Iterator[list[int]]:
    """The row count of every frame an engine sends back during the test."""
    sizes: list[int] = []
    model.COLLECT_HOOKS.append(lambda frame: sizes.append(len(frame)))
    yield sizes
    model.COLLECT_HOOKS.pop()


@pytest.mark.parametrize("name", list(CASES))
def test_duckdb_gives_the_polars_figures_collecting_aggregates_only(
    name: str, shop: Any, duck: Any, reference: dict[str, Any], collected: list[int]
) -> None:
    expected = _reference(reference, shop, name)
    got = CASES[name](duck)
    assert_same(expected, got)
    assert collected, "nothing came back from the engine: the analysis did not run there"
    # Aggregates only: per period, segment, SKU-week or customer, never one row per order.
    assert max(collected) < shop.orders.height


@pytest.mark.parametrize("name", list(CASES))
def test_pandas_gives_the_polars_figures(name: str, shop: Any, reference: dict[str, Any]) -> None:
    got = CASES[name](shop.to_backend("pandas"))
    assert_same(_reference(reference, shop, name), got)


# --------------------------------------------------------------------------- Spark


def _spark_or_skip() -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed: Spark tests skipped")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (apt-get install default-jre-headless): Spark tests skipped")


@pytest.fixture(scope="module")
def spark_shop(shop: aovlab.ShopData) -> aovlab.ShopData:
    _spark_or_skip()
    return shop.to_backend("spark")


@pytest.mark.parametrize("name", SPARK_CASES)
def test_spark_gives_the_polars_figures(
    name: str, shop: Any, spark_shop: Any, reference: dict[str, Any], collected: list[int]
) -> None:
    got = CASES[name](spark_shop)
    assert_same(_reference(reference, shop, name), got)
    assert collected and max(collected) < shop.orders.height


def test_spark_session_reads_dates_in_the_shop_time_zone(spark_shop: Any) -> None:
    assert engines.session_timezone(spark_shop.orders) == "Europe/Stockholm"


# --------------------------------------------------------------------------- loading


@pytest.fixture(scope="module")
def folder(shop: aovlab.ShopData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("converted") / "shop"
    converted.write(shop, out)
    return out


def test_load_reads_a_converted_shop_into_duckdb(shop: Any, folder: Path) -> None:
    got = aovlab.load(orders=folder, engine="duckdb")
    assert got.backend == "duckdb"
    assert (got.currency, got.timezone) == ("EUR", "Europe/Stockholm")
    assert_same(metrics.kpis(shop, by="month"), metrics.kpis(got, by="month"))


def test_load_checks_parquet_files_in_duckdb_with_the_same_figures(
    shop: Any, folder: Path, tmp_path: Path
) -> None:
    # Parquet in parts (a folder of files), the way large shops arrive.
    orders = pl.read_parquet(folder / "orders.parquet").drop("units", "cogs")
    (tmp_path / "orders").mkdir()
    orders.head(10_000).write_parquet(tmp_path / "orders" / "part-0.parquet")
    orders.slice(10_000).write_parquet(tmp_path / "orders" / "part-1.parquet")
    (tmp_path / "shop.json").write_text(
        json.dumps({"currency": "EUR", "timezone": "Europe/Stockholm"})
    )
    got = aovlab.load(
        orders=tmp_path / "orders",
        lines=folder / "lines.parquet",
        traffic=folder / "traffic.parquet",
        engine="duckdb",
    )
    assert (got.currency, got.timezone) == ("EUR", "Europe/Stockholm")
    for name in ("kpis by month", "decompose"):
        assert_same(CASES[name](shop), CASES[name](got))
    glob = aovlab.load(
        orders=str(tmp_path / "orders" / "*.parquet"),
        lines=folder / "lines.parquet",
        traffic=folder / "traffic.parquet",
        engine="duckdb",
    )
    assert_same(metrics.kpis(shop, when="2026-10"), metrics.kpis(glob, when="2026-10"))


def test_an_engine_refuses_text_exports_with_the_way_to_convert_them() -> None:
    with pytest.raises(AovlabInputError) as err:
        aovlab.load(orders=aovlab.sample.DATA_DIR / "orders.csv", engine="duckdb")
    assert "is not Parquet" in str(err.value)
    assert "aovlab convert" in str(err.value)
    with pytest.raises(AovlabInputError, match="unknown engine"):
        aovlab.load(orders=aovlab.sample.DATA_DIR / "orders.csv", engine="oracle")


def test_cli_engine_duckdb_prints_the_polars_figures(folder: Path) -> None:
    runner = CliRunner()
    args = ["kpis", str(folder), "--by", "month", "--json"]
    polars_out = runner.invoke(app, args)
    duck_out = runner.invoke(app, [*args, "--engine", "duckdb"])
    assert polars_out.exit_code == 0 and duck_out.exit_code == 0, duck_out.output
    assert json.loads(duck_out.output) == json.loads(polars_out.output)
    bad = runner.invoke(
        app, ["kpis", str(aovlab.sample.DATA_DIR / "orders.csv"), "--engine", "duckdb"]
    )
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output


# --------------------------------------------------------------------------- checks


@pytest.fixture
def con() -> Any:
    return engines.connect_duckdb("Europe/Stockholm")


def relation(con: Any, frame: pl.DataFrame) -> Any:
    return con.from_arrow(frame.with_columns(pl.col(pl.Categorical).cast(pl.String)).to_arrow())


def test_from_frames_checks_duckdb_relations_and_gives_the_same_figures(
    shop: Any, con: Any, collected: list[int]
) -> None:
    got = aovlab.ShopData.from_frames(
        relation(con, shop.orders.drop("units", "cogs")),
        relation(con, shop.lines),
        relation(con, shop.customers),
        traffic=relation(con, shop.traffic),
        currency="EUR",
        timezone="Europe/Stockholm",
    )
    assert got.backend == "duckdb"
    assert_same(metrics.kpis(shop, by="month"), metrics.kpis(got, by="month"))
    assert max(collected) < shop.orders.height


def _orders() -> pl.DataFrame:
    at = pl.datetime(2026, 10, 1, 12, time_zone="Europe/Stockholm")
    return pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "merchandise": [100.0, 50.0, 80.0],
            "discount": [0.0, 5.0, 0.0],
            "status": ["paid", "Completed", None],
            "channel": ["web", "web", "app"],
        }
    ).with_columns(ordered_at=at)


def _lines() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": ["1", "2", "3", "9"],
            "sku": ["A", "B", "A", "C"],
            "quantity": [2.0, 1.0, 1.0, 1.0],
            "unit_price": [50.0, 50.0, 80.0, 10.0],
            "unit_cost": [20.0, None, 30.0, 5.0],
        }
    )


def test_checked_tables_fill_defaults_and_sum_lines_in_the_engine(con: Any) -> None:
    got = aovlab.ShopData.from_frames(
        relation(con, _orders()),
        relation(con, _lines()),
        currency="EUR",
        timezone="Europe/Stockholm",
    )
    orders = (
        nw.from_native(got.orders)
        .sort("order_id")
        .select("order_id", "status", "total", "test", "units", "cogs", "currency")
        .collect(backend="polars")
        .to_native()
    )
    assert orders.to_dicts() == [
        {
            "order_id": "1",
            "status": "paid",
            "total": 100.0,
            "test": False,
            "units": 2.0,
            "cogs": 40.0,
            "currency": "EUR",
        },
        {
            "order_id": "2",
            "status": "paid",
            "total": 45.0,
            "test": False,
            "units": 1.0,
            "cogs": None,
            "currency": "EUR",
        },
        {
            "order_id": "3",
            "status": "paid",
            "total": 80.0,
            "test": False,
            "units": 1.0,
            "cogs": 30.0,
            "currency": "EUR",
        },
    ]
    messages = [n.message for n in got.notes]
    assert any("1 line(s) belong to no known order" in m for m in messages)
    assert any("1 line(s) have no unit cost" in m for m in messages)


@pytest.mark.parametrize(
    ("change", "column", "problem", "example"),
    [
        (lambda o: o.with_columns(order_id=pl.lit("1")), "order_id", "repeated order ids", "1"),
        (
            lambda o: o.with_columns(merchandise=pl.Series([100.0, -5.0, 80.0])),
            "merchandise",
            "negative or non-finite",
            "-5.0",
        ),
        (
            lambda o: o.with_columns(status=pl.Series(["paid", "lost", None])),
            "status",
            "unknown statuses",
            "'lost'",
        ),
        (lambda o: o.drop("merchandise"), "merchandise", "missing a required column", None),
        (
            lambda o: o.with_columns(pl.col("ordered_at").dt.to_string()),
            "ordered_at",
            "wrong type",
            None,
        ),
    ],
)
def test_a_failed_check_names_the_column_and_example_rows(
    con: Any, change: Any, column: str, problem: str, example: str | None
) -> None:
    with pytest.raises(AovlabInputError) as err:
        aovlab.ShopData.from_frames(
            relation(con, change(_orders())), currency="EUR", timezone="Europe/Stockholm"
        )
    text = str(err.value)
    assert problem in text
    assert f"column '{column}'" in text
    if example is not None:
        assert example in text


def test_personal_values_never_reach_an_engine_shop(con: Any) -> None:
    orders = _orders().with_columns(
        note=pl.Series(["anna@example.com", "gift", "+46 70 123 45 67"]),
        email=pl.Series(["a@x.se", "b@x.se", "c@x.se"]),
        coupon=pl.Series(["SUMMER", "Storgatan 12", "SUMMER"]),
    )
    got = aovlab.ShopData.from_frames(
        relation(con, orders), currency="EUR", timezone="Europe/Stockholm"
    )
    table = nw.from_native(got.orders).collect(backend="polars").to_native()
    assert "email" not in table.columns  # a personal column, by its name
    assert "note" not in table.columns  # mostly personal values: left out
    assert table.sort("order_id")["coupon"].to_list() == [
        "SUMMER",
        "(personal data removed)",
        "SUMMER",
    ]
    everything = table.write_csv()
    assert "anna@example.com" not in everything and "Storgatan" not in everything
    ids = _orders().with_columns(customer_id=pl.Series(["a@x.se", None, "C1"]))
    with pytest.raises(AovlabInputError, match="customer ids that are emails"):
        aovlab.ShopData.from_frames(relation(con, ids), currency="EUR", timezone="Europe/Stockholm")


def test_a_session_in_another_time_zone_is_refused_with_the_line_that_sets_it() -> None:
    other = engines.connect_duckdb("UTC")
    with pytest.raises(AovlabInputError) as err:
        aovlab.ShopData.from_frames(
            relation(other, _orders()), currency="EUR", timezone="Europe/Stockholm"
        )
    assert "SET TimeZone = 'Europe/Stockholm'" in str(err.value)
    # Without a time zone given, the session's is the shop's.
    shop = aovlab.ShopData.from_frames(relation(other, _orders()), currency="EUR")
    assert shop.timezone == "UTC"


def test_an_engine_shop_stays_in_its_engine(duck: Any) -> None:
    with pytest.raises(AovlabInputError, match="stays in its engine"):
        duck.to_backend("polars")


def test_report_runs_its_notebooks_in_duckdb(folder: Path, tmp_path: Path) -> None:
    from aovlab import report, resources

    books = tmp_path / "notebooks"
    books.mkdir()
    shutil.copy(resources.notebooks() / "00_kpi_primer.ipynb", books)
    outcome = report.run(
        folder,
        month="2026-10",
        client="Lake",
        out=tmp_path / "out",
        notebooks=books,
        engine="duckdb",
    )
    assert [r.status for r in outcome.notebooks] == ["ok"]
    summary = json.loads((outcome.folder / "summary.json").read_text())
    assert summary["kpis"]["orders"] == 1590
    assert summary["kpis"]["aov"] == pytest.approx(120.92, abs=0.005)
    page = (outcome.folder / "00_kpi_primer.html").read_text()
    assert "120.92" in page


def test_zero_value_orders_leave_with_their_lines_and_only_orphans_are_reported(
    con: Any,
) -> None:
    orders = _orders().with_columns(merchandise=pl.Series([100.0, 0.0, 80.0]))
    orders = orders.with_columns(discount=pl.Series([0.0, 0.0, 0.0]))
    got = aovlab.ShopData.from_frames(
        relation(con, orders),
        relation(con, _lines()),
        currency="EUR",
        timezone="Europe/Stockholm",
    )
    lines = nw.from_native(got.lines).collect(backend="polars").to_native()
    assert sorted(lines["order_id"].to_list()) == ["1", "3"]
    zero = next(n for n in got.notes if "no merchandise value" in n.message)
    orphan = next(n for n in got.notes if "no known order" in n.message)
    assert (zero.count, zero.examples) == (1, ("2",))
    assert (orphan.count, orphan.examples) == (1, ("9",))  # order 2's line is not an orphan
    # The lines without cost counted are those that stay (order 2's is gone).
    assert not any("no unit cost" in n.message for n in got.notes)


def test_a_second_currency_is_refused(con: Any) -> None:
    orders = _orders().with_columns(currency=pl.Series(["EUR", "SEK", "eur "]))
    with pytest.raises(AovlabInputError) as err:
        aovlab.ShopData.from_frames(relation(con, orders), timezone="Europe/Stockholm")
    assert "more than one currency" in str(err.value) and "EUR, SEK" in str(err.value)
    one = _orders().with_columns(currency=pl.lit(" sek"))
    shop = aovlab.ShopData.from_frames(relation(con, one), timezone="Europe/Stockholm")
    assert shop.currency == "SEK"


def test_tax_in_prices_and_missing_lines_are_told_as_in_memory(shop: Any, con: Any) -> None:
    orders = shop.orders.drop("units", "cogs").with_columns(
        total=pl.col("merchandise") - pl.col("discount") + pl.col("shipping")
    )
    in_memory = aovlab.ShopData.from_frames(orders, currency="EUR", timezone="Europe/Stockholm")
    engine = aovlab.ShopData.from_frames(
        relation(con, orders), currency="EUR", timezone="Europe/Stockholm"
    )
    assert engine.tax_included is in_memory.tax_included is True
    assert [n.message for n in engine.notes] == [n.message for n in in_memory.notes]
    assert_same(metrics.kpis(in_memory, by="month"), metrics.kpis(engine, by="month"))


def test_notes_match_the_in_memory_load(shop: Any, con: Any) -> None:
    """Discounts above merchandise, totals and lines that do not add up: notes, not errors."""
    orders = shop.orders.drop("units", "cogs").with_columns(
        discount=pl.when(pl.col("order_id") == "100007")
        .then(pl.col("merchandise") + 5)
        .otherwise(pl.col("discount")),
        total=pl.when(pl.col("order_id") == "100009").then(1.0).otherwise(pl.col("total")),
        merchandise=pl.when(pl.col("order_id") == "100011")
        .then(pl.col("merchandise") + 3)
        .otherwise(pl.col("merchandise")),
    )
    lines = shop.lines.filter(pl.col("order_id") != "100013")
    in_memory = aovlab.ShopData.from_frames(
        orders, lines, currency="EUR", timezone="Europe/Stockholm"
    )
    engine = aovlab.ShopData.from_frames(
        relation(con, orders), relation(con, lines), currency="EUR", timezone="Europe/Stockholm"
    )
    assert len(in_memory.notes) >= 4
    assert sorted((n.message, n.count) for n in engine.notes) == sorted(
        (n.message, n.count) for n in in_memory.notes
    )
    assert_same(metrics.kpis(in_memory, by="month"), metrics.kpis(engine, by="month"))


def test_spark_dataframes_are_checked_in_spark(spark_shop: Any, con: Any) -> None:
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    assert spark is not None

    def frame(f: pl.DataFrame) -> Any:
        return spark.createDataFrame(f.to_pandas())

    got = aovlab.ShopData.from_frames(
        frame(_orders()), frame(_lines()), currency="EUR", timezone="Europe/Stockholm"
    )
    want = aovlab.ShopData.from_frames(
        relation(con, _orders()),
        relation(con, _lines()),
        currency="EUR",
        timezone="Europe/Stockholm",
    )
    assert got.backend == "spark"
    assert [n.message for n in got.notes] == [n.message for n in want.notes]
    assert_same(metrics.kpis(want), metrics.kpis(got))
    with pytest.raises(AovlabInputError, match="repeated order ids"):
        aovlab.ShopData.from_frames(
            frame(_orders().with_columns(order_id=pl.lit("1"))),
            currency="EUR",
            timezone="Europe/Stockholm",
        )
