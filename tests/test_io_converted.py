"""aovlab convert: an export read once, kept as canonical Parquet, the same figures after."""

import json

import pytest
from typer.testing import CliRunner

import aovlab
from aovlab.cli import app

SAMPLE = aovlab.sample.DATA_DIR


@pytest.mark.parametrize(
    ("export", "extra"),
    [
        ("shopify_orders_export.csv", ["--traffic", str(SAMPLE / "traffic.csv")]),
        ("woocommerce_orders_export.csv", []),
        (
            "orders.csv",
            ["--lines", str(SAMPLE / "lines.csv"), "--catalog", str(SAMPLE / "catalog.csv")],
        ),
    ],
)
def test_a_converted_shop_gives_the_same_figures(tmp_path, export, extra):
    runner = CliRunner()
    out = tmp_path / "shop"
    done = runner.invoke(app, ["convert", str(SAMPLE / export), *extra, "--out", str(out)])
    assert done.exit_code == 0, done.stdout + done.stderr
    assert (out / "orders.parquet").is_file() and (out / "shop.json").is_file()
    args = ["--json", "--by", "month"]
    before = runner.invoke(app, ["kpis", str(SAMPLE / export), *extra, *args])
    after = runner.invoke(app, ["kpis", str(out), *args])
    assert json.loads(after.stdout) == json.loads(before.stdout)
    # drivers reads lines and traffic (no catalogue): compare without it.
    side = extra[:2] if "--catalog" in extra else extra
    for by in ("country", "customer_type"):
        a = runner.invoke(app, ["drivers", str(out), "--current", "2026-08", "--by", by, "--json"])
        b = runner.invoke(
            app,
            ["drivers", str(SAMPLE / export), *side, "--current", "2026-08", "--by", by, "--json"],
        )
        assert a.exit_code == b.exit_code == 0, a.stderr + b.stderr
        assert json.loads(a.stdout) == json.loads(b.stdout)


def test_the_metadata_keeps_notes_and_options_but_no_salt_or_path(tmp_path):
    export = tmp_path / "in" / "orders_export.csv"
    export.parent.mkdir()
    export.write_bytes((SAMPLE / "shopify_orders_export.csv").read_bytes())
    (export.parent / "shop.json").write_text(
        json.dumps({"name": "Client AB", "currency": "EUR", "salt": "s3cret-salt"}),
        encoding="utf-8",
    )
    out = tmp_path / "shop"
    result = CliRunner().invoke(app, ["convert", str(export), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    meta = json.loads((out / "shop.json").read_text(encoding="utf-8"))
    assert meta["format"] == "aovlab-converted" and meta["name"] == "Client AB"
    assert meta["sources"] == {"orders": "orders_export.csv"}
    assert any("gift-card" in n["message"] for n in meta["notes"])
    text = "".join(p.read_bytes().decode("latin-1") for p in out.iterdir())
    assert "s3cret-salt" not in text and str(tmp_path) not in text
    assert "@example.com" not in text  # customers are hashes, emails are gone
    shop = aovlab.load(orders=out)
    assert shop.format == "shopify" and shop.name == "Client AB"
    assert any("gift-card" in str(n) for n in shop.notes)


def test_a_converted_folder_takes_no_other_tables(tmp_path):
    aovlab.io.converted.write(aovlab.sample.load(), tmp_path)
    with pytest.raises(aovlab.AovlabInputError, match="converted shop"):
        aovlab.load(orders=tmp_path, lines=SAMPLE / "lines.csv")


def test_an_unchanged_folder_is_read_lazily_and_a_changed_one_is_checked_again(tmp_path):
    import polars as pl

    shop = aovlab.sample.load()
    aovlab.io.converted.write(shop, tmp_path)
    again = aovlab.load(orders=tmp_path)
    assert isinstance(again.orders, pl.LazyFrame) and isinstance(again.lines, pl.LazyFrame)
    assert again.summary()["tables"] == shop.summary()["tables"]
    # Edited by hand: a negative amount is refused as from any other file.
    orders = pl.read_parquet(tmp_path / "orders.parquet")
    orders.with_columns(
        pl.when(pl.col("order_id") == orders["order_id"][3])
        .then(-5.0)
        .otherwise(pl.col("merchandise"))
        .alias("merchandise")
    ).write_parquet(tmp_path / "orders.parquet")
    with pytest.raises(aovlab.AovlabInputError, match="negative amounts") as err:
        aovlab.load(orders=tmp_path)
    assert "orders.parquet" in str(err.value)
    # Rows removed: checked again, then loaded in memory.
    orders.head(100).write_parquet(tmp_path / "orders.parquet")
    cut = aovlab.load(orders=tmp_path)
    assert isinstance(cut.orders, pl.DataFrame) and cut.summary()["tables"]["orders"] == 100


def test_a_folder_checked_by_older_rules_is_checked_again(tmp_path, monkeypatch):
    import polars as pl

    aovlab.io.converted.write(aovlab.sample.load(), tmp_path)
    assert isinstance(aovlab.load(orders=tmp_path).orders, pl.LazyFrame)
    # The load's checks changed since the folder was written: it is not trusted.
    monkeypatch.setattr(aovlab.io.converted, "CHECKS", aovlab.io.converted.CHECKS + 1)
    again = aovlab.load(orders=tmp_path)
    assert isinstance(again.orders, pl.DataFrame)
    assert again.summary()["tables"]["orders"] == aovlab.sample.load().summary()["tables"]["orders"]


def test_naming_the_folders_own_table_files_reads_only_those(tmp_path):
    shop = aovlab.sample.load()
    folder = tmp_path / "shop"
    aovlab.io.converted.write(shop, folder)
    some = aovlab.load(orders=folder, lines=folder / "lines.parquet")
    tables = aovlab.model.TABLES
    assert [t for t in tables if getattr(some, t) is not None] == ["orders", "lines"]
    every = aovlab.load(orders=folder)
    assert [t for t in tables if getattr(every, t) is not None] == list(tables)
    with pytest.raises(aovlab.AovlabInputError, match="with its own table files"):
        aovlab.load(orders=folder, lines=aovlab.sample.DATA_DIR / "lines.csv")
