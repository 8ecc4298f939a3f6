"""Hostile and odd input to the bundle analyses and their commands.

Each case was found by trying ``aovlab.bundles`` and ``aovlab bundles`` /
``aovlab bundle-margin`` as a consultant would on a messy client export: no
traceback, no figure made up, client text escaped where it becomes HTML, and an error
that names the option or column, what was expected and what was found.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

from aovlab import ShopData
from aovlab.bundles import bundle_margin, margins, pairs, suggest
from aovlab.cli import app
from aovlab.errors import AovlabInputError
from aovlab.report import safe_text

runner = CliRunner()
BASKETS = [["A", "B"]] * 30 + [["A"]] * 10 + [["B", "C"]] * 10 + [["C"]] * 20


def _cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _no_nan(token: str) -> None:
    raise ValueError(f"{token} in JSON")


def _json(output: str) -> dict:
    """The command's JSON, refusing NaN and Infinity (not JSON)."""
    return json.loads(output, parse_constant=_no_nan)


def _frames(
    baskets: list[list[str]],
    *,
    names: dict[str, str] | None = None,
    price: float = 10.0,
    quantity: float = 1.0,
    cost: bool = True,
    sku: bool = True,
    native=pl.DataFrame,
):
    """One January order per basket; each item one unit at ``price``, cost 4.00."""
    orders: dict[str, list] = {"order_id": [], "ordered_at": [], "merchandise": []}
    lines: dict[str, list] = {
        "order_id": [],
        "sku": [],
        "product": [],
        "quantity": [],
        "unit_price": [],
    }
    for i, basket in enumerate(baskets):
        orders["order_id"].append(str(i + 1))
        orders["ordered_at"].append(f"2026-01-{1 + i % 28:02d} 10:00")
        orders["merchandise"].append(price * quantity * len(basket) or 1.0)
        for item in basket:
            lines["order_id"].append(str(i + 1))
            lines["sku"].append(item)
            lines["product"].append((names or {}).get(item, f"P {item}"))
            lines["quantity"].append(quantity)
            lines["unit_price"].append(price)
    if cost:
        lines["unit_cost"] = [4.0] * len(lines["sku"])
    if not sku:
        del lines["sku"]
    return native(orders), native(lines)


def _shop(baskets: list[list[str]] = BASKETS, **kwargs) -> ShopData:
    orders, lines = _frames(baskets, **kwargs)
    return ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")


def _is_message(chart, text: str | None = None) -> bool:
    spec = chart.to_dict()
    mark = spec.get("mark")
    kind = mark.get("type") if isinstance(mark, dict) else mark
    return kind == "text" and (text is None or text in json.dumps(spec, ensure_ascii=False))


# --------------------------------------------------------------------------- hostile names

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.invalid","click")'
LONG = "Ünïcødé ☃ tent " + "x" * 300


@pytest.fixture(scope="module")
def named():
    shop = _shop(names={"A": SCRIPT, "B": FORMULA, "C": LONG})
    found = pairs(shop, min_orders=2)
    return shop, found


def test_html_in_product_names_is_escaped_in_the_notebook_display(named):
    shop, found = named
    results = [found, bundle_margin(shop, ["A", "B"], discount=0.1), suggest(shop, found)]
    for res in results:
        assert SCRIPT in res.headline  # the headline is plain text: the name as given
        shown = res._repr_html_()
        assert "<script>" not in shown, type(res).__name__
        assert "&lt;script&gt;" in shown, type(res).__name__


def test_formula_and_long_unicode_names_are_kept_verbatim(named):
    shop, found = named
    row = found.rows()[0]
    assert (row["a_product"], row["b_product"]) == (SCRIPT, FORMULA)
    assert LONG in found.items["product"].to_list()
    # A spreadsheet would run it: the report neutralises such cells when it writes them.
    assert safe_text(row["b_product"]) == "'" + FORMULA
    assert all(safe_text(f"{c}x") == f"'{c}x" for c in "=+-@")
    res = bundle_margin(shop, ["B", "C"], discount=0.1)
    assert res.products == (FORMULA, LONG)
    assert LONG in res.headline
    assert json.loads(json.dumps(res.chart().to_dict(), ensure_ascii=False))


def test_skus_with_stray_spaces_are_one_sku_and_capitals_are_another():
    shop = _shop([["A ", "B"]] * 15 + [["A", "B"]] * 15 + [["a"]] * 10 + [["C"]] * 5)
    found = pairs(shop, min_orders=2)
    assert sorted(found.items["item"].to_list()) == ["A", "B", "C", "a"]
    assert found.rows()[0]["orders"] == 30  # "A " and "A" in one basket count
    spaced = bundle_margin(shop, [" A", "B "], discount=0.1)
    assert spaced.skus == ("A", "B") and spaced.orders_with_all == 30
    lower = bundle_margin(shop, ["a", "B"], discount=0.1)
    assert (lower.orders_with_all, lower.orders_with_some) == (0, 40)
    with pytest.raises(AovlabInputError, match="unknown SKU b") as err:
        bundle_margin(shop, ["A", "b"], discount=0.1)
    assert "b is not in the order lines at all (did you mean B?)" in str(err.value)


def test_a_sku_with_two_product_names_takes_the_most_common():
    orders, lines = _frames([["A", "B"]] * 40)
    lines = lines.with_columns(
        pl.when((pl.col("sku") == "A") & (pl.col("order_id").cast(pl.Int64) <= 10))
        .then(pl.lit("Old name"))
        .when(pl.col("sku") == "A")
        .then(pl.lit("New name"))
        .otherwise(pl.col("product"))
        .alias("product")
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    assert pairs(shop, min_orders=2).rows()[0]["a_product"] == "New name"
    assert bundle_margin(shop, ["A", "B"], discount=0.1).products == ("New name", "P B")


def test_without_a_sku_column_the_product_is_the_item():
    found = pairs(_shop(sku=False), min_orders=2)
    assert sorted(found.items["item"].to_list()) == ["P A", "P B", "P C"]
    assert (found.rows()[0]["a"], found.rows()[0]["b"]) == ("P A", "P B")


@pytest.fixture
def csv_export(tmp_path: Path) -> tuple[Path, Path]:
    """40 orders of SKU 00123 with SKU "A,1", 20 of SKU 123: leading zeros and a comma."""
    orders = ["order_id,ordered_at,merchandise"]
    lines = ["order_id,sku,product,quantity,unit_price,unit_cost"]
    for i in range(60):
        orders.append(f"{i},2026-01-{1 + i % 28:02d} 10:00,{20 if i < 40 else 10}")
        if i < 40:
            lines += [f"{i},00123,Zero,1,10,4", f'{i},"A,1",Comma,1,10,4']
        else:
            lines.append(f"{i},123,Plain,1,10,4")
    (tmp_path / "orders.csv").write_text("\n".join(orders) + "\n", encoding="utf-8")
    (tmp_path / "lines.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "orders.csv", tmp_path / "lines.csv"


def test_csv_skus_keep_leading_zeros_and_commas(csv_export):
    orders, lines = csv_export
    result = _cli("bundles", orders, "--lines", lines, "--min-orders", "2", "--json")
    assert result.exit_code == 0, result.output
    (pair,) = _json(result.output)["pairs"]
    assert {pair["a"], pair["b"]} == {"00123", "A,1"}
    result = _cli(
        "bundle-margin", orders, "--lines", lines, "--skus", "00123,123", "--discount", "0.1",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = _json(result.output)
    assert out["skus"] == ["00123", "123"]
    assert (out["orders_with_all"], out["orders_with_some"]) == (0, 60)


def test_a_sku_with_a_comma_on_the_command_line_is_a_clear_refusal(csv_export):
    orders, lines = csv_export
    result = _cli(
        "bundle-margin", orders, "--lines", lines, "--skus", "00123,A,1", "--discount", "0.1"
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "unknown SKUs A, 1" in result.output
    assert "00123, 123, A,1" in result.output  # the SKUs there are, the comma one among them
    assert "1 is not in the order lines at all (did you mean A,1?)" in result.output


# --------------------------------------------------------------------------- degenerate shops


def test_one_order_is_no_discovery_and_no_bundle():
    shop = _shop([["A", "B"]])
    found = pairs(shop, min_orders=1)
    (row,) = found.rows()
    assert (row["lift"], row["p_value"], row["significant"]) == (1.0, 1.0, False)
    assert found.headline.startswith("No pair passes the significance guard")
    assert "1 order," in found.headline
    none = suggest(shop, found)
    assert none.to_dict()["suggestions"] == []
    assert "(the one pair tested does not pass)" in none.headline
    assert _is_message(none.chart())
    res = bundle_margin(shop, ["A", "B"], discount=0.1)
    assert (res.orders_with_all, res.orders_with_some, res.break_even_take_rate) == (1, 0, None)
    assert "nobody to convert" in res.headline
    assert _json(json.dumps(res.to_dict()))["break_even_take_rate"] is None


def test_single_item_orders_have_no_pairs_and_message_charts():
    found = pairs(_shop([["A"], ["B"], ["C"]] * 5), min_orders=1)
    assert found.rows() == []
    assert found.headline == (
        "No two SKUs are bought together in at least 1 order (15 orders, 2025-02..2026-01; "
        "3 SKUs reach that many on their own): nothing to report."
    )
    assert _is_message(found.chart("scatter"), "No two SKUs")
    assert _is_message(found.heatmap())
    assert _json(json.dumps(found.to_dict()))["pairs"] == []


def test_one_sku_reaching_the_floor_is_said_in_the_singular():
    found = pairs(_shop([["A", "B"]] * 3 + [["A"]] * 30), min_orders=20)
    assert "1 SKU reaches that many on their own" in found.headline


def test_every_order_with_the_same_two_items_is_exactly_chance():
    (row,) = pairs(_shop([["A", "B"]] * 25), min_orders=2).rows()
    assert (row["support"], row["confidence_ab"], row["confidence_ba"]) == (1.0, 1.0, 1.0)
    assert (row["lift"], row["p_value"], row["significant"]) == (1.0, 1.0, False)


def test_an_item_in_every_order_has_lift_one_with_everything():
    found = pairs(_shop([["A", "B"], ["A", "C"], ["A"], ["A", "B"]] * 10), min_orders=2)
    with_a = [r for r in found.rows() if "A" in (r["a"], r["b"])]
    assert len(with_a) == 2
    assert all(r["lift"] == 1.0 and r["p_value"] == 1.0 for r in with_a)
    assert not any(r["significant"] for r in found.rows())


def test_a_window_without_orders_or_without_lines_names_the_data_range():
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "ordered_at": ["2026-01-05 10:00", "2026-01-06 10:00", "2026-03-05 10:00"],
            "merchandise": [20.0, 20.0, 20.0],
        }
    )
    lines = pl.DataFrame(
        {
            "order_id": ["1", "1", "2", "2"],
            "sku": ["A", "B", "A", "B"],
            "product": ["a", "b", "a", "b"],
            "quantity": [1.0] * 4,
            "unit_price": [10.0] * 4,
            "unit_cost": [4.0] * 4,
        }
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    for when in ("2030-01", "2026-03"):  # the future; a month whose order has no lines
        with pytest.raises(AovlabInputError, match=f"no counted orders with items in {when}") as e:
            pairs(shop, when=when)
        assert "counted orders run from 2026-01-05 to 2026-03-05" in str(e.value)
        with pytest.raises(AovlabInputError, match=f"no counted orders with items in {when}"):
            suggest(shop, when=when)
    with pytest.raises(AovlabInputError, match="no counted orders in 2030-01"):
        bundle_margin(shop, ["A", "B"], discount=0.1, when="2030-01")
    with pytest.raises(AovlabInputError, match="unknown SKUs A, B") as err:
        bundle_margin(shop, ["A", "B"], discount=0.1, when="2026-03")
    assert "A is sold only outside 2026-03 or in cancelled/test orders" in str(err.value)


def test_lines_of_cancelled_and_test_orders_only_are_no_baskets():
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "ordered_at": ["2026-01-05 10:00"] * 3,
            "merchandise": [20.0] * 3,
            "status": ["cancelled", "paid", "paid"],
            "test": [False, True, False],
        }
    )
    lines = pl.DataFrame(
        {
            "order_id": ["1", "1", "2", "2"],
            "sku": ["A", "B", "A", "B"],
            "product": ["a", "b", "a", "b"],
            "quantity": [1.0] * 4,
            "unit_price": [10.0] * 4,
        }
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    with pytest.raises(AovlabInputError, match="no counted orders with items"):
        pairs(shop, min_orders=1)
    with pytest.raises(AovlabInputError, match="unknown SKUs A, B") as err:
        bundle_margin(shop, ["A", "B"], discount=0.1)
    assert "in cancelled/test orders" in str(err.value)


def test_lines_of_quantity_zero_are_refused_by_the_calculator():
    shop = _shop(quantity=0.0)
    with pytest.raises(AovlabInputError, match="no units sold of A, B") as err:
        bundle_margin(shop, ["A", "B"], discount=0.1)
    assert "column 'quantity'" in str(err.value)
    with pytest.raises(AovlabInputError, match="no units sold"):
        suggest(shop, pairs(shop, min_orders=2))


def test_a_bundle_of_items_always_given_away_is_refused_not_divided_by_zero():
    shop = _shop(price=0.0)
    for offer in ({"discount": 0.1}, {"price": 1.0}):
        with pytest.raises(AovlabInputError, match="the bundle A \\+ B has no list price") as e:
            bundle_margin(shop, ["A", "B"], **offer)
        assert "column 'unit_price'" in str(e.value)
        assert "a unit price of 0 on every line" in str(e.value)
    # Free items still form baskets: a gift bought with something is a co-purchase.
    assert pairs(shop, min_orders=2).rows()[0]["orders"] == 30


def test_a_shop_without_unit_costs():
    shop = _shop(cost=False)
    with pytest.raises(AovlabInputError, match="no unit cost for A, B") as err:
        bundle_margin(shop, ["A", "B"], discount=0.1)
    assert "cost_rate" in str(err.value) and "column 'unit_cost'" in str(err.value)
    table = margins(shop, [["A", "B"], ["B", "C"]])
    assert table["margin_note"].to_list() == [
        "no unit cost for A, B (give cost_rate)",
        "no unit cost for B, C (give cost_rate)",
    ]
    assert table["margin_per_bundle"].is_nan().all()
    assert table["orders_with_all"].to_list() == [30, 10]
    none = suggest(shop, pairs(shop, min_orders=2))
    assert none.headline.endswith("none has unit costs to price a bundle (give a cost rate)")
    assert _json(json.dumps(none.to_dict()))["suggestions"] == []
    costed = bundle_margin(shop, ["A", "B"], discount=0.1, cost_rate=0.4)
    assert costed.unit_cost == pytest.approx(8.0)


@pytest.mark.parametrize(("cost", "words"), [(-1.0, "negative"), (math.nan, "not finite")])
def test_negative_or_nan_costs_are_refused_by_the_loader(cost, words):
    orders, lines = _frames([["A", "B"]] * 3)
    lines = lines.with_columns(pl.Series("unit_cost", [cost] + [4.0] * (len(lines) - 1)))
    with pytest.raises(AovlabInputError, match=words) as err:
        bundle_margin(ShopData.from_frames(orders, lines, currency="EUR"), ["A", "B"], discount=0.1)
    assert "'unit_cost'" in str(err.value)


# --------------------------------------------------------------------------- parameters


@pytest.fixture(scope="module")
def small():
    return _shop()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"min_support": 0}, "min_support"),
        ({"min_support": 1.5}, "min_support"),
        ({"min_support": math.nan}, "min_support"),
        ({"min_support": "0.1"}, "min_support"),
        ({"min_support": True}, "min_support"),
        ({"min_orders": 0}, "min_orders"),
        ({"min_orders": 2.5}, "min_orders"),
        ({"min_orders": True}, "min_orders"),
        ({"min_orders": np.bool_(True)}, "min_orders"),
        ({"min_orders": np.float64(2.0)}, "min_orders"),
        ({"size": 4}, "size"),
        ({"alpha": 0}, "alpha"),
        ({"alpha": 1}, "alpha"),
        ({"alpha": math.nan}, "alpha"),
        ({"top": 0}, "top"),
    ],
)
def test_pairs_parameters_out_of_range(small, kwargs, name):
    with pytest.raises(AovlabInputError, match=f"^{name} is out of range") as err:
        pairs(small, **kwargs)
    assert f"found:    {kwargs[name]!r}" in str(err.value)


def test_pairs_take_numpy_numbers_like_python_ones(small):
    plain = pairs(small, min_orders=2, min_support=0.1, top=2)
    numpyish = pairs(
        small,
        min_orders=np.int64(2),
        min_support=np.float32(0.1),
        alpha=np.float32(0.05),
        size=np.int64(2),
        top=np.int32(2),
    )
    assert numpyish.rows() == plain.rows() and len(plain.rows()) == 2
    out = _json(json.dumps(numpyish.to_dict()))
    assert (out["min_orders"], type(numpyish.size)) == (2, int)
    assert suggest(small, plain, top=np.int64(1)).table.height == 1


def test_min_support_one_keeps_only_items_in_every_order(small):
    found = pairs(small, min_support=1, min_orders=1)
    assert found.floor == 70 and found.rows() == []
    assert "0 SKUs reach that many" in found.headline


def test_level_ignores_capitals_and_names_itself_when_unknown(small):
    assert pairs(small, level="SKU", min_orders=2).level == "sku"
    assert pairs(small, level=" Sku ", min_orders=2).rows() == pairs(small, min_orders=2).rows()
    with pytest.raises(AovlabInputError, match=r"^level is an unknown basket level") as err:
        pairs(small, level="brand")
    assert "'sku' or 'category'" in str(err.value)


def test_categories_of_a_shop_without_them_are_refused(small):
    with pytest.raises(AovlabInputError, match="level='category' needs categories") as err:
        pairs(small, level="category", min_orders=2)
    assert "no line of the 70 orders in 2025-02..2026-01 has a category" in str(err.value)
    orders, lines = _frames(BASKETS)
    some = lines.with_columns(
        pl.when(pl.col("sku") == "A").then(pl.lit("Shoes")).otherwise(None).alias("category")
    )
    found = pairs(ShopData.from_frames(orders, some, currency="EUR"), level="category")
    assert sorted(found.items["item"].to_list()) == ["(none)", "Shoes"]


@pytest.mark.parametrize("when", ["2026-13", "January", "2026-01..2025-13"])
def test_a_malformed_period_is_refused(small, when):
    with pytest.raises(AovlabInputError, match="not a calendar period"):
        pairs(small, when=when)
    with pytest.raises(AovlabInputError, match="not a calendar period"):
        bundle_margin(small, ["A", "B"], discount=0.1, when=when)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"discount": 0}, "discount is out of range"),
        ({"discount": 1}, "discount is out of range"),
        ({"discount": math.nan}, "discount is out of range"),
        ({"discount": math.inf}, "discount is out of range"),
        ({"discount": "0.1"}, "discount is out of range"),
        ({"price": math.inf}, "price is out of range"),
        ({"price": math.nan}, "price is out of range"),
        ({"price": 20.01}, "price is above the bundle's list price"),
        ({"discount": 0.1, "take_rate": math.nan}, "take_rate is out of range"),
        ({"discount": 0.1, "take_rate": math.inf}, "take_rate is out of range"),
        ({"discount": 0.1, "take_rate": 1.0001}, "take_rate is out of range"),
        ({"discount": 0.1, "cost_rate": -0.1}, "cost_rate is out of range"),
    ],
)
def test_offer_and_rates_out_of_range(small, kwargs, words):
    with pytest.raises(AovlabInputError, match=words) as err:
        bundle_margin(small, ["A", "B"], **kwargs)
    assert "expected:" in str(err.value) and "found:" in str(err.value)


def test_take_rate_boundaries_and_numpy_numbers(small):
    none = bundle_margin(small, ["A", "B"], discount=0.1, take_rate=0)
    every = bundle_margin(small, ["A", "B"], discount=0.1, take_rate=1)
    numpyish = bundle_margin(small, ["A", "B"], discount=np.float32(0.1), take_rate=np.float64(0))
    assert none.margin_change == pytest.approx(-none.discount_given_away)
    gained = every.to_dict()["margin_gained_if_all_convert"]
    assert every.margin_change == pytest.approx(gained - every.discount_given_away)
    assert gained > 0
    assert numpyish.to_dict() == none.to_dict()
    assert _json(json.dumps(numpyish.to_dict()))["take_rate"] == 0.0


def test_a_bundle_at_its_list_price_gives_nothing_away(small):
    res = bundle_margin(small, ["A", "B"], price=20.0)
    assert (res.discount, res.discount_given_away, res.break_even_take_rate) == (0.0, 0.0, 0.0)
    assert res.margin_per_bundle == res.margin_separately == 12.0
    assert "(instead of €20.00, 0 % off) gives away €0.00" in res.headline
    assert "it pays when any of" in res.headline


def test_a_bundle_listing_a_sku_twice_is_refused(small):
    with pytest.raises(AovlabInputError, match="lists a SKU twice"):
        bundle_margin(small, ["A", "A"], discount=0.1)
    with pytest.raises(AovlabInputError, match="lists a SKU twice"):
        bundle_margin(small, ["A", " A "], discount=0.1)  # the same once stripped
    with pytest.raises(AovlabInputError, match="bundle 2 lists a SKU twice"):
        margins(small, [["A", "B"], ["C", "C"]])


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_an_empty_sku_in_a_bundle_is_refused_not_dropped(small, empty):
    with pytest.raises(AovlabInputError, match=r"^a bundle has an empty SKU") as err:
        bundle_margin(small, ["A", "B", empty], discount=0.1)
    assert repr(["A", "B", empty]) in str(err.value)
    with pytest.raises(AovlabInputError, match=r"^bundle 1 has an empty SKU"):
        margins(small, [["A", empty]])


def test_a_bundle_of_ten_skus():
    skus = [f"S{j}" for j in range(10)]
    shop = _shop([skus] * 30 + [["S0"]] * 5)
    res = bundle_margin(shop, skus, discount=0.1)
    assert (res.list_price, res.bundle_price) == (100.0, 90.0)
    assert (res.orders_with_all, res.orders_with_some) == (30, 5)
    assert "already have all ten" in res.headline and "P S9" in res.headline


def test_an_export_of_one_month_gives_away_per_month_what_it_gives_away(small):
    res = bundle_margin(small, ["A", "B"], discount=0.1)  # every order is in January 2026
    assert res.discount_given_away == 60.0  # 30 orders x 2.00
    assert res.discount_given_away_per_month == 60.0


# --------------------------------------------------------------------------- backends


def test_pandas_in_gives_pandas_out_with_the_same_figures():
    orders, lines = _frames(BASKETS, native=pd.DataFrame)
    before = (orders.copy(), lines.copy())
    pshop = ShopData.from_frames(orders, lines, currency="EUR", timezone="Europe/Stockholm")
    qshop = _shop()
    found_p, found_q = pairs(pshop, min_orders=2), pairs(qshop, min_orders=2)
    assert isinstance(found_p.table, pd.DataFrame) and isinstance(found_p.items, pd.DataFrame)
    pd.testing.assert_frame_equal(found_p.table, found_q.table.to_pandas())
    bundles = [["A", "B"], ["B", "C"]]
    table_p, table_q = margins(pshop, bundles), margins(qshop, bundles)
    assert isinstance(table_p, pd.DataFrame)
    assert table_p.to_dict("list") == table_q.to_pandas().to_dict("list")
    sug_p, sug_q = suggest(pshop, found_p), suggest(qshop, found_q)
    assert isinstance(sug_p.table, pd.DataFrame)
    assert sug_p.to_dict() == sug_q.to_dict()
    res_p = bundle_margin(pshop, ["A", "B"], discount=0.1)
    assert isinstance(res_p.table, pd.DataFrame)
    assert res_p.to_dict() == bundle_margin(qshop, ["A", "B"], discount=0.1).to_dict()
    # The caller's frames are untouched.
    pd.testing.assert_frame_equal(orders, before[0])
    pd.testing.assert_frame_equal(lines, before[1])


def test_pandas_categorical_numeric_and_missing_skus():
    orders, lines = _frames(BASKETS, native=pd.DataFrame)
    lines["sku"] = lines["sku"].astype("category")
    lines["quantity"] = lines["quantity"].astype("Int64")
    lines.loc[0, "sku"] = np.nan  # a line without a SKU joins no basket
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    assert pairs(shop, min_orders=2).rows()[0]["orders"] == 29
    assert bundle_margin(shop, ["A", "B"], discount=0.1).orders_with_all == 29
    orders, lines = _frames(BASKETS, native=pd.DataFrame)
    lines["sku"] = lines["sku"].map({"A": 1, "B": 2, "C": 3})  # read as integers
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    row = pairs(shop, min_orders=2).rows()[0]
    assert (row["a"], row["b"]) == ("1", "2")
    assert bundle_margin(shop, [1, 2], discount=0.1).skus == ("1", "2")


def test_the_callers_polars_frames_are_untouched():
    orders, lines = _frames(BASKETS)
    before = (orders.clone(), lines.clone())
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    suggest(shop, pairs(shop, min_orders=2))
    bundle_margin(shop, ["A", "B"], discount=0.1)
    assert orders.equals(before[0]) and lines.equals(before[1])


# --------------------------------------------------------------------------- commands


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("export")
    orders, lines = _frames(BASKETS)
    orders.write_csv(folder / "orders.csv")
    lines.write_csv(folder / "lines.csv")
    return str(folder / "orders.csv"), str(folder / "lines.csv")


BAD_BUNDLES = [
    (["--min-support", "0"], "--min-support: is out of range"),
    (["--min-support", "nan"], "--min-support: is out of range"),
    (["--min-support", "1.5"], "--min-support: is out of range"),
    (["--min-orders", "0"], "--min-orders: is out of range"),
    (["--min-orders", "2.5"], "'--min-orders'"),
    (["--level", "brand"], "--level: is an unknown basket level"),
    (["--level", "category"], "level='category' needs categories"),
    (["--period", "2026-13"], "not a calendar period"),
    (["--period", "2030-01"], "no counted orders with items in 2030-01"),
]

BAD_MARGIN = [
    (["--skus", "A"], "--skus: is not a list of two or more different SKUs"),
    (["--skus", "A,A", "--discount", "0.1"], "--skus: is not a list of two"),
    (["--skus", "A,,B", "--discount", "0.1"], "--skus: is not a list of two"),
    (["--skus", "A,B"], "needs a price or a discount"),
    (["--skus", "A,B", "--discount", "0.1", "--price", "5"], "needs a price or a discount"),
    (["--skus", "A,B", "--discount", "1"], "--discount: is out of range"),
    (["--skus", "A,B", "--discount", "nan"], "--discount: is out of range"),
    (["--skus", "A,B", "--price", "-1"], "--price: is out of range"),
    (["--skus", "A,B", "--price", "inf"], "--price: is out of range"),
    (["--skus", "A,B", "--price", "25"], "--price: is above the bundle's list price"),
    (["--skus", "A,B", "--discount", "0.1", "--take-rate", "inf"], "--take-rate: is out"),
    (["--skus", "A,B", "--discount", "0.1", "--take-rate", "-0.1"], "--take-rate: is out"),
    (["--skus", "A,B", "--discount", "0.1", "--cost-rate", "1"], "--cost-rate: is out"),
    (["--skus", "A,b", "--discount", "0.1"], "unknown SKU b"),
    (["--skus", "A,B", "--discount", "0.1", "--period", "2030-01"], "no counted orders"),
]


@pytest.mark.parametrize(("args", "words"), BAD_BUNDLES)
def test_bad_bundles_options_exit_2_with_the_option_named(export, args, words):
    orders, lines = export
    result = _cli("bundles", orders, "--lines", lines, *args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("args", "words"), BAD_MARGIN)
def test_bad_bundle_margin_options_exit_2_with_the_option_named(export, args, words):
    orders, lines = export
    result = _cli("bundle-margin", orders, "--lines", lines, *args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
    assert "expected" in result.output or "Invalid value" in result.output


def test_the_commands_without_lines_say_so(export):
    orders, _ = export
    for args in (["bundles", orders], ["bundle-margin", orders, "--skus", "A,B", "--price", "9"]):
        result = _cli(*args)
        assert result.exit_code == 2, result.output
        assert "needs order lines" in result.output and "--lines" in result.output


def test_terminal_markup_in_product_names_is_printed_as_text(tmp_path):
    orders, lines = _frames(BASKETS, names={"A": "[/]", "B": "[bold red]Boots[/bold red]"})
    orders.write_csv(tmp_path / "orders.csv")
    lines.write_csv(tmp_path / "lines.csv")
    o, ln = tmp_path / "orders.csv", tmp_path / "lines.csv"
    for args in (
        ["bundles", o, "--lines", ln, "--min-orders", "2"],
        ["bundle-margin", o, "--lines", ln, "--skus", "A,B", "--discount", "0.1"],
    ):
        result = _cli(*args)
        assert result.exit_code == 0, result.output
        assert "[/] and [bold red]Boots[/bold red]" in result.output


def test_json_of_degenerate_shops_is_strict_json(tmp_path):
    orders, lines = _frames([["A", "B"]])  # one order: lift 1, nobody to convert
    orders.write_csv(tmp_path / "orders.csv")
    lines.write_csv(tmp_path / "lines.csv")
    o, ln = tmp_path / "orders.csv", tmp_path / "lines.csv"
    result = _cli("bundles", o, "--lines", ln, "--min-orders", "1", "--json")
    assert result.exit_code == 0, result.output
    (pair,) = _json(result.output)["pairs"]
    assert (pair["lift"], pair["p_value"], pair["significant"]) == (1.0, 1.0, False)
    result = _cli("bundle-margin", o, "--lines", ln, "--skus", "A,B", "--price", "20", "--json")
    assert result.exit_code == 0, result.output
    out = _json(result.output)
    assert (out["orders_with_some"], out["break_even_take_rate"]) == (0, None)
    assert out["discount_given_away"] == 0.0
    result = _cli(
        "bundles", o, "--lines", ln, "--min-orders", "1", "--triples", "--level", "SKU", "--json"
    )
    assert result.exit_code == 0, result.output
    assert _json(result.output)["triples"] == []
