"""Hostile and odd input to the price-sensitivity analyses and their commands.

Each case was found by trying the commands as a consultant would: no traceback, no
figure made up, and an error that names the option or column, what was expected and
what was found.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from aovlab import ShopData
from aovlab.cli import app
from aovlab.errors import AovlabInputError

ab = importlib.import_module("aovlab.pricing.abtest")
th = importlib.import_module("aovlab.pricing.threshold")

runner = CliRunner()
SAMPLE = str(Path(__file__).resolve().parents[1] / "data" / "sample")
VALUES = [50, 60, 70, 80, 90, 100, 110, 120]


def _cli(*args: str):
    return runner.invoke(app, list(args))


def _test_shop(arms: dict[str, list[float]], traffic: dict | None = None) -> ShopData:
    rows: dict[str, list] = {"order_id": [], "ordered_at": [], "merchandise": [], "ab_arm": []}
    for i, (arm, value) in enumerate((a, v) for a, vs in arms.items() for v in vs):
        rows["order_id"].append(str(i + 1))
        rows["ordered_at"].append(f"2026-05-{4 + i % 5:02d} 12:00")
        rows["merchandise"].append(float(value))
        rows["ab_arm"].append(arm)
    return ShopData.from_frames(
        pl.DataFrame(rows),
        traffic=None if traffic is None else pl.DataFrame(traffic),
        currency="EUR",
        timezone="Europe/Stockholm",
    )


# --------------------------------------------------------------------------- abtest


def test_an_arm_of_one_order_is_refused():
    with pytest.raises(AovlabInputError, match="too few orders in a test arm") as err:
        ab.abtest(_test_shop({"A": VALUES, "B": [70]}))
    assert "arm B: 1 order" in str(err.value)


def test_arms_with_stray_spaces_are_one_arm_each():
    res = ab.abtest(_test_shop({"A ": VALUES, " B": VALUES[::-1]}))
    assert (res.control, res.treatment) == ("A", "B")


def test_an_arm_called_control_is_the_control():
    res = ab.abtest(_test_shop({"treatment": VALUES, "control": VALUES[::-1]}))
    assert (res.control, res.treatment) == ("control", "treatment")


def test_three_arms_that_differ_in_capitals_are_pointed_out():
    with pytest.raises(AovlabInputError, match="has 3 arms") as err:
        ab.abtest(_test_shop({"A": VALUES, "a": VALUES, "B": VALUES}))
    assert "differ only in capitals: A and a" in str(err.value)


def test_traffic_whose_arms_are_named_otherwise_says_so():
    traffic = {"date": ["2026-05-04"] * 2, "arm": ["x", "y"], "sessions": [100, 100]}
    res = ab.abtest(_test_shop({"A": VALUES, "B": VALUES}, traffic))
    assert res.conversion is None
    assert "its 'arm' column holds x and y" in res.headline


def test_every_session_converting_is_no_crash():
    traffic = {"date": ["2026-05-04"] * 2, "arm": ["A", "B"], "sessions": [8, 8]}
    res = ab.abtest(_test_shop({"A": VALUES, "B": VALUES}, traffic))
    assert res.to_dict()["arms"][0]["conversion"] == 1.0


def test_a_window_without_orders_names_the_data_range():
    with pytest.raises(AovlabInputError, match="data runs from 2026-05-04 to 2026-05-08"):
        ab.abtest(_test_shop({"A": VALUES, "B": VALUES}), when="2025-01")


# --------------------------------------------------------------------------- threshold


def test_a_shop_of_one_price_has_no_threshold_and_no_crash():
    one = ShopData.from_frames(
        pl.DataFrame(
            {
                "order_id": [str(i) for i in range(200)],
                "ordered_at": [f"2026-01-{1 + i % 28:02d} 10:00" for i in range(200)],
                "merchandise": [19.0] * 200,
            }
        ),
        currency="EUR",
        timezone="Europe/Stockholm",
    )
    evidence = th.top_up_evidence(one)
    assert not evidence.to_dict()["detected"]
    assert evidence.headline.startswith("No free-shipping threshold found")
    res = th.threshold(one)
    assert res.to_dict()["observed_top_up_share"] is None
    assert "margin needs unit costs" in res.headline


# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["threshold", f"{SAMPLE}/orders.csv", "--candidates", "79,,89"], "an empty entry"),
        (["threshold", f"{SAMPLE}/orders.csv", "--candidates", "abc"], "not a list of numbers"),
        (["threshold", f"{SAMPLE}/orders.csv", "--current-threshold", "-5"], "--current-threshold"),
        (["threshold", f"{SAMPLE}/orders.csv", "--window", "1.5"], "--window"),
        (
            ["whatif", f"{SAMPLE}/orders.csv", "--lines", f"{SAMPLE}/lines.csv", "--change", "-1"],
            "--change",
        ),
        (
            ["whatif", f"{SAMPLE}/orders.csv", "--lines", f"{SAMPLE}/lines.csv", "--top", "0"],
            "--top",
        ),
        (
            [
                "whatif",
                f"{SAMPLE}/orders.csv",
                "--lines",
                f"{SAMPLE}/lines.csv",
                "--elasticity",
                "nan",
            ],
            "--elasticity",
        ),
        (["elasticity", f"{SAMPLE}/orders.csv"], "needs order lines"),
        (
            ["abtest", f"{SAMPLE}/orders.csv", "--variant-column", "nope"],
            "look like test arms: ab_arm",
        ),
        (["abtest", f"{SAMPLE}/orders.csv", "--expected-split", "1"], "--expected-split"),
    ],
)
def test_bad_options_exit_2_with_the_option_named(args, words):
    result = _cli(*args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


def test_threshold_json_counts_a_repeated_candidate_once():
    result = _cli("threshold", f"{SAMPLE}/orders.csv", "--candidates", "99,99", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["thresholds"]
    assert [r["threshold"] for r in rows].count(99.0) == 1
