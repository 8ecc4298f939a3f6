"""Suggested bundles, the bundle commands, the explorer and the notebook without lines."""

import json

import nbformat
import papermill as pm
import polars as pl
import pytest
from typer.testing import CliRunner

import aovlab
from aovlab.bundles import bundle_margin, margins, pairs, suggest
from aovlab.cli import app
from aovlab.errors import AovlabInputError
from aovlab.report import NOTEBOOKS_DIR
from aovlab.results import Unavailable, attempt

SAMPLE = aovlab.sample.DATA_DIR
PLANTED = {frozenset((p["a"], p["b"])) for p in aovlab.sample.TRUTH["pairs"]}
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def found(shop):
    return pairs(shop)


@pytest.fixture(scope="module")
def suggested(shop, found):
    return suggest(shop, found)


def test_suggestions_are_the_significant_pairs_priced_and_ranked(shop, found, suggested):
    table = suggested.table
    passing = found.table.filter(pl.col("significant") & (pl.col("lift") > 1))
    assert set(zip(table["a"], table["b"], strict=True)) == set(
        zip(passing["a"], passing["b"], strict=True)
    )
    assert {frozenset(p) for p in zip(table["a"], table["b"], strict=True)} >= PLANTED
    ranked = table["margin_change_per_1000_orders"].to_list()
    assert ranked == sorted(ranked, reverse=True)
    # Each row is the calculator's own figure for that bundle at the same settings.
    for row in table.iter_rows(named=True):
        single = bundle_margin(shop, [row["a"], row["b"]], discount=0.10, take_rate=0.05)
        assert row["margin_change_per_1000_orders"] == pytest.approx(
            single.margin_change_per_1000_orders, abs=1e-9
        )
        assert row["break_even_take_rate"] == pytest.approx(single.break_even_take_rate)
        assert row["discount_given_away_per_month"] == pytest.approx(
            single.discount_given_away_per_month
        )
    assert suggested.best == [table["a"][0], table["b"][0]]


def test_suggestion_headline_quotes_the_top_row(suggested):
    top = suggested.table.row(0, named=True)
    text = suggested.headline
    assert top["a_product"] in text and top["b_product"] in text
    assert f"{top['lift']:.1f} times as often as chance" in text
    assert f"{round(top['break_even_take_rate'] * 100, 1):.1f} %" in text


def test_the_calculator_takes_the_top_suggestion(shop, suggested):
    res = bundle_margin(shop, suggested, discount=0.10)
    assert list(res.skus) == suggested.best
    missing = attempt("Suggested bundles", suggest, shop.to_backend("polars"), "not pairs")
    assert isinstance(missing, Unavailable) and "without pairs" in missing.reason
    refused = attempt("Bundle margin", bundle_margin, shop, missing, discount=0.1)
    assert isinstance(refused, Unavailable)
    assert "no bundle to evaluate" in refused.reason and "without pairs" in refused.reason


def test_no_suggestion_when_no_pair_beats_chance(shop):
    found = pairs(shop, level="sku", min_orders=400)  # only the strongest pair is counted
    none = pairs(shop, min_orders=10**6)
    res = suggest(shop, none)
    assert res.table.height == 0 and "no bundle is suggested" in res.headline
    with pytest.raises(AovlabInputError, match="no suggested bundle"):
        _ = res.best
    assert res.chart().to_dict()["mark"]["type"] == "text"
    assert suggest(shop, found).table.height == int(found.significant)


def test_suggest_refuses_category_pairs_and_bad_settings(shop):
    with pytest.raises(AovlabInputError, match="not of categories"):
        suggest(shop, pairs(shop, level="category"))
    with pytest.raises(AovlabInputError, match="discount"):
        suggest(shop, discount=1.5)
    with pytest.raises(AovlabInputError, match="take_rate"):
        suggest(shop, take_rate=-0.1)
    with pytest.raises(AovlabInputError, match="top"):
        suggest(shop, top=0)


def test_suggestions_in_pandas(shop_pd, suggested):
    res = suggest(shop_pd)
    assert type(res.table).__module__.startswith("pandas")
    assert res.table["margin_change_per_1000_orders"].tolist() == pytest.approx(
        suggested.table["margin_change_per_1000_orders"].to_list()
    )


def test_margins_has_a_monthly_give_away(shop):
    t = margins(shop, [("FW-003", "CA-001")])
    assert t["discount_given_away_per_month"][0] == pytest.approx(t["discount_given_away"][0] / 12)


# --------------------------------------------------------------------------- commands


def test_bundles_command_json(found):
    result = run("bundles", SAMPLE / "orders.csv", "--lines", SAMPLE / "lines.csv", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["baskets"] == found.baskets
    keys = {"a", "b", "orders", "support", "confidence_ab", "confidence_ba", "lift", "p_value"}
    assert payload["pairs"] and all(keys <= set(p) for p in payload["pairs"])
    lifts = [p["lift"] for p in payload["pairs"]]
    assert lifts == sorted(lifts, reverse=True)
    assert {frozenset((p["a"], p["b"])) for p in payload["pairs"][:3]} == PLANTED


def test_bundles_command_options():
    result = run(
        "bundles",
        SAMPLE / "orders.csv",
        "--lines",
        SAMPLE / "lines.csv",
        "--level",
        "category",
        "--period",
        "2026",
        "--min-orders",
        "50",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["level"] == "category" and payload["period"] == "2026"
    assert all(p["orders"] >= 50 for p in payload["pairs"])
    bad = run("bundles", SAMPLE / "orders.csv", "--lines", SAMPLE / "lines.csv", "--level", "x")
    assert bad.exit_code == 2 and "level" in bad.output and "Traceback" not in bad.output
    no_lines = run("bundles", SAMPLE / "orders.csv")
    assert no_lines.exit_code == 2 and "needs order lines" in no_lines.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--skus", "FW-003"], "--skus"),
        (["--skus", "FW-003,,CA-001", "--discount", "0.1"], "--skus"),
        (["--skus", "FW-003,CA-001"], "price or a discount"),
        (["--skus", "FW-003,CA-001", "--discount", "0.1", "--price", "150"], "both"),
        (["--skus", "FW-003,CA-001", "--discount", "1.2"], "--discount"),
        (["--skus", "FW-003,CA-001", "--discount", "0.1", "--take-rate", "2"], "--take-rate"),
        (["--skus", "FW-003,NOPE-1", "--discount", "0.1"], "NOPE-1"),
    ],
)
def test_bundle_margin_command_refusals(args, words):
    result = run("bundle-margin", SAMPLE / "orders.csv", "--lines", SAMPLE / "lines.csv", *args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


def test_bundle_margin_command_with_a_cost_rate_and_no_costs(tmp_path):
    lines = tmp_path / "lines.csv"
    pl.read_csv(SAMPLE / "lines.csv", infer_schema=False).drop("unit_cost").write_csv(lines)
    base = ["bundle-margin", SAMPLE / "orders.csv", "--lines", lines, "--skus", "FW-003,CA-001"]
    refused = run(*base, "--discount", "0.1")
    assert refused.exit_code == 2 and "cost" in refused.output
    given = run(*base, "--discount", "0.1", "--cost-rate", "0.5", "--json")
    assert given.exit_code == 0, given.output
    payload = json.loads(given.stdout)
    assert payload["unit_cost"] == pytest.approx(payload["list_price"] * 0.5, abs=0.01)


# --------------------------------------------------------------------------- explorer


def test_bundle_explorer_starts_on_the_bundle_and_follows_the_sliders(shop, found, monkeypatch):
    import ipywidgets

    from aovlab import widgets

    start = bundle_margin(shop, ["FW-003", "CA-001"], discount=0.10, take_rate=0.05)
    made = []
    monkeypatch.setattr(ipywidgets, "interact", lambda f, **controls: made.append((f, controls)))
    widgets.bundle_explorer(shop, True, start, pairs=found)
    render, controls = made[0]
    assert controls["skus"].value == ("FW-003", "CA-001")
    assert (controls["discount"].value, controls["take_rate"].value) == (10, 5)
    assert {"TE-001", "AC-009"} <= {value for _, value in controls["skus"].options}
    seen = []
    monkeypatch.setattr(widgets, "show", lambda *items: seen.extend(items))
    render(skus=("TE-001", "AC-009"), discount=20, take_rate=10)
    fresh = bundle_margin(shop, ["TE-001", "AC-009"], discount=0.20, take_rate=0.10)
    assert seen[0].to_dict() == fresh.to_dict()
    seen.clear()
    widgets.bundle_explorer(shop, False, start, pairs=found)
    assert seen[0].to_dict() == start.to_dict()


def test_bundle_explorer_says_why_without_a_bundle(capsys):
    from aovlab import widgets

    widgets.bundle_explorer(None, True, Unavailable(table=None, what="Bundle margin", reason="x"))
    assert "Bundle margin: not available" in capsys.readouterr().out


# --------------------------------------------------------------------------- notebook


@pytest.mark.slow
def test_bundle_notebook_on_an_order_level_export(tmp_path):
    """Without order lines every part says why, and the notebook still runs to the end."""
    book = NOTEBOOKS_DIR / "04_bundle_margin.ipynb"
    out = tmp_path / book.name
    pm.execute_notebook(
        str(book),
        str(out),
        parameters={"lines": None, "catalog": None, "interactive": False},
        kernel_name="python3",
        cwd=str(book.parent),
        progress_bar=False,
        execution_timeout=120,
    )
    nb = nbformat.read(out, as_version=4)
    text = "\n".join(
        o.get("data", {}).get("text/plain", "") + o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    for part in ("Bought together", "Suggested bundles", "Bundle margin"):
        assert f"{part}: not available." in text
    assert "Traceback" not in text
