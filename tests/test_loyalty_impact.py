"""The gap split, the combined impact, and the loyalty commands (JSON keys, exit codes)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from test_loyalty_effect import selection_shop
from typer.testing import CliRunner

import aovlab
from aovlab import ShopData
from aovlab.cli import app
from aovlab.errors import AovlabInputError
from aovlab.loyalty import compare_members, effect, gap_split, impact
from aovlab.results import Unavailable

SAMPLE = Path(aovlab.sample.__file__).resolve().parents[2] / "data" / "sample"
runner = CliRunner()


@pytest.fixture(scope="module")
def shop():
    return aovlab.sample.load()


@pytest.fixture(scope="module")
def full(shop):
    return impact(shop, cost_per_member=5.0, n_boot=50)


def test_the_gap_after_joining_splits_exactly_into_selection_and_effect(full):
    split = full.split
    assert split.selection + split.effect == pytest.approx(split.gap_after_joining)
    assert split.selection_share == pytest.approx(split.selection / split.gap_after_joining)
    assert split.naive_gap == full.members.naive_aov_gap["estimate"]
    assert split.effect == full.effect.aov["effect"]


def test_selection_dominates_when_heavy_buyers_join():
    shop = selection_shop(11)
    split = gap_split(compare_members(shop), effect(shop, n_boot=40))
    # The planted effect is 10 % of a basket near 80-110: most of the gap is who joins.
    assert split.selection_share > 0.4
    assert split.selection > split.effect > 0
    assert "was there before they joined" in split.headline


def test_gap_split_with_the_effect_unavailable_shows_the_comparison(shop):
    members = compare_members(shop)
    missing = Unavailable(table=None, what="The programme's effect", reason="no join dates")
    split = gap_split(members, missing)
    assert split.effect is None and split.gap_after_joining is None
    assert len(split.table) == 1 and split.headline.startswith("Members' orders were")
    with pytest.raises(AovlabInputError, match="needs the member comparison"):
        gap_split(missing, missing)


def test_impact_keys_are_the_issues(full):
    d = full.to_dict()
    for group in ("members", "non_members"):
        assert {
            "customers",
            "orders",
            "aov",
            "orders_per_customer",
            "revenue_per_customer",
        } <= set(d[group])
    for key in ("naive_aov_gap", "aov_effect", "frequency_effect"):
        assert {"estimate", "ci_low", "ci_high"} <= set(d[key])
    assert isinstance(d["selection_share"], float)
    assert set(d["roi"]) == {"estimate", "ci_low", "ci_high"}
    assert d["effect_available"] is True and d["effect_reason"] is None
    json.dumps(d)  # plain values only


def test_impact_without_join_dates_keeps_the_comparison(shop):
    no_dates = ShopData.from_frames(
        shop.orders,
        shop.lines,
        customers=shop.customers.drop("loyalty_joined_at"),
        currency="EUR",
        timezone=shop.timezone,
    )
    res = impact(no_dates, n_boot=20)
    d = res.to_dict()
    assert d["effect_available"] is False and "loyalty_joined_at" in d["effect_reason"]
    assert d["aov_effect"] is None and d["roi"] is None
    assert d["naive_aov_gap"]["estimate"] == pytest.approx(8.81, abs=0.01)
    assert "not available" in res.headline


def test_impact_refuses_bad_costs_before_running(shop):
    with pytest.raises(AovlabInputError, match="cost_per_member must be an amount"):
        impact(shop, cost_per_member=-1)
    with pytest.raises(AovlabInputError, match="margin_rate is a share"):
        impact(shop, margin_rate=1.5)


def test_impact_pandas_gives_pandas(shop):
    res = impact(shop.to_backend("pandas"), n_boot=20)
    assert isinstance(res.table, pd.DataFrame) and isinstance(res.members.table, pd.DataFrame)
    pol = impact(shop, n_boot=20)
    assert isinstance(pol.table, pl.DataFrame)
    assert res.to_dict()["aov_effect"] == pol.to_dict()["aov_effect"]


def test_impact_charts(full):
    for kind in ("members", "gap", "event", "return"):
        assert full.chart(kind).to_dict()
    with pytest.raises(AovlabInputError, match="unknown loyalty chart"):
        full.chart("pie")


# --------------------------------------------------------------------------- commands


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def finite(value):
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


def test_loyalty_command_json():
    result = run(
        "loyalty",
        SAMPLE / "orders.csv",
        "--lines",
        SAMPLE / "lines.csv",
        "--customers",
        SAMPLE / "customers.csv",
        "--cost-per-member",
        "5",
        "--json",
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["members"]["customers"] == 1574 and d["non_members"]["customers"] == 3004
    assert d["roi"]["estimate"] > 0 and finite(d)
    assert d["aov_effect"]["ci_low"] < d["aov_effect"]["estimate"] < d["aov_effect"]["ci_high"]


def test_clv_and_retention_commands_json():
    result = run(
        "clv", SAMPLE / "orders.csv", "--calibration-end", "2026-05-01", "--cac", "25", "--json"
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert set(d["bgnbd"]) >= {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(d["gamma_gamma"]) >= {"p", "q", "gamma"}
    assert set(d["holdout"]) >= {"predicted_orders", "actual_orders"}
    assert set(d["clv_12m"]) >= {"mean", "median", "total"} and d["customers"] > 0
    result = run("retention", SAMPLE / "orders.csv", "--json")
    assert result.exit_code == 0, result.output
    cohorts = json.loads(result.stdout)["cohorts"]
    assert cohorts[0]["cohort"] == "2024-11" and {"customers", "retention"} <= set(cohorts[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["loyalty"], "needs a customers table"),
        (
            ["loyalty", "--customers", SAMPLE / "customers.csv", "--cost-per-member", "-3"],
            "--cost-per-member: must be an amount of at least 0",
        ),
        (
            ["loyalty", "--customers", SAMPLE / "customers.csv", "--pre-months", "0"],
            "--pre-months",
        ),
        (["clv", "--calibration-end", "2026-13-01"], "--calibration-end: is not a date"),
        (["clv", "--cac", "-5"], "--cac"),
        (["retention", "--months", "0"], "--months"),
    ],
)
def test_bad_options_exit_2_with_the_option_named(args, message):
    command, *rest = args
    result = run(command, SAMPLE / "orders.csv", *rest)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stdout == ""
    assert "Traceback" not in result.output
