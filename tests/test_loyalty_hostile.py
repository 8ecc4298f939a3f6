"""An adversarial pass over the loyalty analyses: messy customers files, tiny shops,
odd orders and parameters, the command line, and privacy.

Each test pins a behaviour a consultant with a client's real export relies on: a clear
AovlabInputError naming the table/column (exit code 2 on the command line, no
traceback), or finite figures (never NaN/inf in a headline or JSON), and aggregates only.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

import aovlab
from aovlab.cli import app
from aovlab.errors import AovlabInputError
from aovlab.loyalty.effect import effect
from aovlab.loyalty.impact import impact
from aovlab.loyalty.lifetime import clv
from aovlab.loyalty.members import compare_members
from aovlab.loyalty.retention import retention

START = dt.datetime(2025, 1, 1)


def make_orders(
    n_cust: int = 40, months: int = 24, seed: int = 0, guests: int = 0, prefix: str = "C"
) -> dict[str, list[Any]]:
    """Registered customers ordering 1-7 times at random over ``months`` months."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str | None, str, float]] = []
    for c in range(n_cust):
        for _ in range(int(rng.integers(1, 8))):
            t = START + dt.timedelta(
                days=int(rng.integers(0, months * 30)), hours=int(rng.integers(0, 24))
            )
            rows.append(
                (str(len(rows) + 1), f"{prefix}{c}", t.isoformat(), float(rng.integers(10, 200)))
            )
    for _ in range(guests):
        t = START + dt.timedelta(days=int(rng.integers(0, months * 30)))
        rows.append((str(len(rows) + 1), None, t.isoformat(), 50.0))
    return {
        "order_id": [r[0] for r in rows],
        "customer_id": [r[1] for r in rows],
        "ordered_at": [r[2] for r in rows],
        "total": [r[3] for r in rows],
    }


def make_customers(
    n_cust: int = 40, member: Any = lambda i: i % 3 == 0, joined: Any = "2025-09-01", **extra: Any
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {
        "customer_id": [f"C{i}" for i in range(n_cust)],
        "loyalty_member": [member(i) for i in range(n_cust)],
    }
    if joined is not None:
        out["loyalty_joined_at"] = [joined if member(i) else None for i in range(n_cust)]
    for k, v in extra.items():
        out[k] = [v(i) for i in range(n_cust)]
    return out


def shop_of(orders: Any, customers: Any = None, tz: str = "Europe/Stockholm") -> aovlab.ShopData:
    o = pl.DataFrame(orders)
    c = pl.DataFrame(customers) if customers is not None else None
    return aovlab.ShopData.from_frames(o, customers=c, currency="EUR", timezone=tz)


def nonfinite(obj: Any, path: str = "$") -> list[str]:
    """JSON paths whose number is NaN or infinite."""
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in nonfinite(v, f"{path}.{k}")]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in nonfinite(v, f"{path}[{i}]")]
    if isinstance(obj, float) and not math.isfinite(obj):
        return [path]
    return []


BAD_WORDS = re.compile(r"\bnan\b|\binf\b|∞", re.IGNORECASE)


def assert_clean(res: Any) -> None:
    """Every number in to_dict() finite or None, no NaN/inf in the headline, JSON dumps."""
    d = res.to_dict()
    assert nonfinite(d) == []
    assert not BAD_WORDS.search(res.headline), res.headline
    json.dumps(d, allow_nan=False)


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


# --------------------------------------------------------------------------- tiny shops


def test_retention_one_partial_month_says_so_not_only_guests():
    # One month of registered orders, the data ending on the 30th of January: the
    # message used to say "only guest orders".
    s = shop_of(make_orders(months=1), make_customers(joined="2025-01-10"))
    with pytest.raises(AovlabInputError) as err:
        retention(s)
    text = str(err.value)
    assert "guest" not in text
    assert "2025-01" in text and "complete calendar month" in text


def test_effect_one_month_says_months_missing_not_every_customer_a_member():
    # 26 of 40 customers are non-members; the message used to say "every customer who
    # ordered is a member".
    s = shop_of(make_orders(months=1), make_customers(joined="2025-01-10"))
    with pytest.raises(AovlabInputError) as err:
        effect(s, n_boot=20)
    text = str(err.value)
    assert "every customer who ordered is a member" not in text
    assert "ordered_at" in text and "1 calendar month" in text


@pytest.mark.parametrize(
    "respell", [lambda x: " " + x.lower() + " ", lambda x: "h" + str(abs(hash(x)))]
)
def test_customers_ids_matching_no_order_named(respell):
    # Ids with other case and spaces, or hashed emails, against the orders' ids: the
    # comparison used to say "no loyalty members among the customers who ordered".
    cust = make_customers()
    cust["customer_id"] = [respell(x) for x in cust["customer_id"]]
    s = shop_of(make_orders(), cust)
    with pytest.raises(AovlabInputError) as err:
        compare_members(s)
    text = str(err.value)
    assert "customer_id" in text and "share no customer id" in text
    assert "c1 " not in text.lower()  # no id in the message
    # impact keeps going and says why (the command line exits 2 with this reason).
    res = impact(s, n_boot=20)
    assert not res.available and "share no customer id" in res.members.reason


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("pre_months", [0, -1, 1.5, "6", True, float("nan")])
def test_impact_refuses_bad_pre_months_instead_of_not_available(shop, pre_months):
    # impact used to swallow the effect's parameter error as "not available".
    with pytest.raises(AovlabInputError, match="pre_months"):
        impact(shop, pre_months=pre_months)


def test_impact_refuses_bad_n_boot(shop):
    with pytest.raises(AovlabInputError, match="n_boot"):
        impact(shop, n_boot=5)


@pytest.mark.parametrize(
    "name, value",
    [
        ("cost_per_member", -1.0),
        ("cost_per_member", float("nan")),
        ("fee", float("inf")),
        ("fee", "5"),
        ("margin_rate", True),
        ("margin_rate", 1.5),
    ],
)
def test_impact_cost_parameters_refused(shop, name, value):
    with pytest.raises(AovlabInputError, match=name):
        impact(shop, **{name: value})


@pytest.mark.parametrize("value", ["2026-03", "01/03/2026", "", "2030-01-01", "2000-01-01"])
def test_clv_calibration_end_refused(shop, value):
    with pytest.raises(AovlabInputError, match="calibration_end"):
        clv(shop, value)


def test_clv_calibration_end_datetime_and_spaces_read_as_the_day(shop):
    a = clv(shop, dt.datetime(2026, 3, 1, 12, 0)).to_dict()
    b = clv(shop, " 2026-03-01 ").to_dict()
    assert a["calibration_end"] == b["calibration_end"] == "2026-03-01"
    assert a["clv_12m"] == b["clv_12m"]


@pytest.mark.parametrize(
    "args, option",
    [
        (["loyalty", "--pre-months", "0"], "--pre-months"),
        (["loyalty", "--cost-per-member", "-5"], "--cost-per-member"),
        (["loyalty", "--cost-per-member", "nan"], "--cost-per-member"),
        (["loyalty", "--margin-rate", "1.5"], "--margin-rate"),
        (["loyalty", "--period", "2026-13"], "2026-13"),
        (["loyalty", "--period", "2026-05..2026-01"], "2026-05..2026-01"),
        (["clv", "--calibration-end", "2026-13-01"], "--calibration-end"),
        (
            ["clv", "--calibration-end", "2026-05-01", "--holdout-end", "2026-04-01"],
            "--holdout-end",
        ),
        (["clv", "--cac", "inf"], "--cac"),
        (["clv", "--horizon-months", "nan"], "--horizon-months"),
        (["retention", "--months", "0"], "--months"),
    ],
)
def test_cli_bad_parameters_exit_2_with_message(sample_files, args, option):
    orders, customers = sample_files
    res = CliRunner().invoke(app, [args[0], str(orders), "--customers", str(customers), *args[1:]])
    assert res.exit_code == 2, res.output
    assert option in res.output
    assert "Traceback" not in res.output


@pytest.fixture(scope="module")
def sample_files():
    root = aovlab.sample.DATA_DIR
    return root / "orders.csv", root / "customers.csv"


# --------------------------------------------------------------------------- CLV


def test_gamma_gamma_equivariant_in_the_currency_unit():
    # The same shop priced x1 and x1,000,000 (dong-sized amounts): the fitted mean value
    # per transaction and the CLV scale with the prices. gamma used to stop at the
    # log-parameter bound e^15 (x1e6: mean value 282.9 million instead of 118.4 million).
    tables = aovlab.sample.generate(scale=0.2, seed=1)
    money = ["merchandise", "total", "discount", "shipping", "tax", "refunded"]
    out = []
    for k in (1.0, 1e4, 1e6):
        orders = tables["orders"].with_columns([pl.col(c).cast(pl.Float64) * k for c in money])
        lines = tables["lines"].with_columns(
            pl.col("unit_price").cast(pl.Float64) * k, pl.col("unit_cost").cast(pl.Float64) * k
        )
        s = aovlab.ShopData.from_frames(
            orders,
            lines,
            customers=tables["customers"],
            currency="EUR",
            timezone="Europe/Stockholm",
        )
        out.append((k, clv(s).to_dict()))
    ref = out[0][1]
    for k, d in out[1:]:
        assert d["gamma_gamma"]["mean_value"] / k == pytest.approx(
            ref["gamma_gamma"]["mean_value"], rel=1e-3
        )
        assert d["clv_12m"]["mean"] / k == pytest.approx(ref["clv_12m"]["mean"], rel=1e-3)
        assert d["gamma_gamma"]["log_likelihood"] == pytest.approx(
            ref["gamma_gamma"]["log_likelihood"] - ref["gamma_gamma"]["customers"] * math.log(k),
            rel=1e-6,
        )


def test_clv_a_holdout_with_no_orders_is_refused_or_zero():
    # calibration end one day after the first order: too few customers to fit, said so.
    s = shop_of(make_orders())
    with pytest.raises(AovlabInputError, match=r"calibration_end|too few customers"):
        clv(s, "2025-01-03")


def test_clv_no_repeat_customers_refused_retention_zero():
    n = 100
    orders = {
        "order_id": [str(i) for i in range(n)],
        "customer_id": [f"C{i}" for i in range(n)],
        "ordered_at": [(START + dt.timedelta(days=5 * i)).isoformat() for i in range(n)],
        "total": [50.0 + i for i in range(n)],
    }
    s = shop_of(orders)
    with pytest.raises(AovlabInputError, match="repeat customers"):
        clv(s)
    res = retention(s)
    assert_clean(res)
    assert res.to_dict()["repeat_rate"] == 0.0


# --------------------------------------------------------------------------- customers files


@pytest.mark.parametrize(
    "flags",
    [
        ["yes", "no"],
        ["1", "0"],
        [1, 0],
        ["TRUE", ""],
        ["TRUE", None],
        [True, False],
    ],
)
def test_member_flag_spellings_give_the_same_comparison(flags):
    cust = make_customers(member=lambda i: i % 2 == 0, joined=None)
    cust["loyalty_member"] = [flags[i % 2] for i in range(40)]
    res = compare_members(shop_of(make_orders(), cust)).to_dict()
    ref = compare_members(
        shop_of(make_orders(), make_customers(member=lambda i: i % 2 == 0, joined=None))
    ).to_dict()
    assert res == ref


def test_duplicate_customer_ids_refused():
    cust = make_customers()
    cust["customer_id"][5] = "C1"
    with pytest.raises(AovlabInputError, match="customer_id"):
        shop_of(make_orders(), cust)


def test_join_dates_with_time_and_offset_read_in_the_shops_zone():
    # 23:30 at UTC-5 on 30 September is 06:30 on 1 October in Stockholm: an October joiner.
    cust = make_customers(joined="2025-09-30T23:30:00-05:00")
    m = aovlab.loyalty.membership(shop_of(make_orders(), cust)).collect().to_native()
    months = set(m.filter(pl.col("member"))["join_month"].to_list())
    assert months == {2025 * 12 + 9}


def test_every_analysis_clean_on_tiny_shops():
    # Few customers, a member or three: the bootstrap may have empty draws, but no NaN or
    # inf reaches a headline or the JSON.
    for n, seed, members in [(3, 0, 1), (5, 1, 2), (8, 2, 3), (12, 3, 1), (20, 4, 3)]:
        s = shop_of(
            make_orders(n, seed=seed),
            make_customers(n, member=lambda i, k=members: i < k, joined="2025-10-01"),
        )
        for fn in (
            lambda s: effect(s, n_boot=20, min_members=1),
            lambda s: impact(s, n_boot=20, cost_per_member=1.0, fee=5.0),
            compare_members,
            retention,
        ):
            try:
                res = fn(s)
            except AovlabInputError:
                continue
            assert_clean(res)
            res.chart()


# --------------------------------------------------------------------------- orders


def test_cancelled_test_and_zero_orders_change_nothing():
    base = pl.DataFrame(make_orders(60)).with_columns(
        pl.lit("paid").alias("status"), pl.lit(False).alias("test")
    )
    extra = pl.DataFrame(
        {
            "order_id": [f"x{i}" for i in range(4)],
            "customer_id": ["C1", "C2", "C3", "C77"],
            "ordered_at": ["2025-03-03T10:00:00"] * 4,
            "total": [500.0, 500.0, 0.0, 80.0],
            "status": ["cancelled", "paid", "paid", "voided"],
            "test": [False, True, False, False],
        }
    )
    cust = pl.DataFrame(make_customers(60))
    a = aovlab.ShopData.from_frames(
        base, customers=cust, currency="EUR", timezone="Europe/Stockholm"
    )
    b = aovlab.ShopData.from_frames(
        pl.concat([base, extra]), customers=cust, currency="EUR", timezone="Europe/Stockholm"
    )
    for fn in (compare_members, retention, lambda s: clv(s)):
        assert fn(a).to_dict() == fn(b).to_dict()


def test_midnight_orders_across_dst_fall_in_the_local_month():
    # Stockholm: 2025-03-30 (clocks forward) and 2025-10-26 (back). An order at 00:30 on
    # 1 April local time is 31 March in UTC: month 1 after a 31 March first order only
    # when months are local.
    cust_ids = [f"C{i}" for i in range(4)]
    orders = {
        "order_id": [str(i) for i in range(8)],
        "customer_id": ["C0", "C0", "C1", "C1", "C2", "C2", "C3", "C3"],
        "ordered_at": [
            "2025-03-31T23:30:00+02:00",
            "2025-04-01T00:30:00+02:00",  # 2025-03-31 22:30 UTC
            "2025-03-30T00:00:00+01:00",  # midnight on the DST day
            "2025-03-30T23:59:00+02:00",  # the same local day: not a repeat
            "2025-10-26T00:00:00+02:00",
            "2025-11-01T00:00:00+01:00",  # 2025-10-31 23:00 UTC: November local
            "2025-10-01T00:00:00+02:00",
            "2025-12-31T23:00:00+01:00",
        ],
        "total": [10.0] * 8,
    }
    s = shop_of(orders, {"customer_id": cust_ids, "loyalty_member": [True, False, True, False]})
    d = {c["cohort"]: c for c in retention(s, by_member=False).to_dict()["cohorts"]}
    assert d["2025-03"]["customers"] == 2
    assert d["2025-03"]["retention"][0] == 0.5  # C0 in April (local), C1 not
    assert d["2025-03"]["repeat_rate"] == 0.5  # C1's two orders on one local day
    assert d["2025-10"]["retention"][0] == 0.5  # C2 in November (local)
    assert d["2025-10"]["retention"][1] == 0.5  # C3 in December


def test_pandas_in_pandas_out_same_figures(shop, shop_pd):
    for fn in (
        lambda s: compare_members(s),
        lambda s: effect(s, n_boot=20),
        lambda s: retention(s, months=6),
    ):
        a, b = fn(shop), fn(shop_pd)
        assert isinstance(b.table, pd.DataFrame)
        assert a.to_dict() == b.to_dict()


def test_converted_shop_gives_identical_json(tmp_path):
    root = aovlab.sample.DATA_DIR
    out = tmp_path / "shop"
    common = ["--timezone", "Europe/Stockholm", "--currency", "EUR"]
    res = run_cli(
        "convert",
        str(root / "orders.csv"),
        "--lines",
        str(root / "lines.csv"),
        "--customers",
        str(root / "customers.csv"),
        "--out",
        str(out),
        *common,
    )
    assert res.exit_code == 0, res.output
    for args in (["retention"], ["loyalty", "--cost-per-member", "2"]):
        tables = ["--customers", str(root / "customers.csv")]
        if args[0] == "loyalty":
            tables += ["--lines", str(root / "lines.csv")]
        a = run_cli(args[0], str(root / "orders.csv"), *tables, *common, *args[1:], "--json")
        b = run_cli(args[0], str(out), *args[1:], "--json")
        assert a.exit_code == b.exit_code == 0, a.output + b.output
        assert json.loads(a.stdout) == json.loads(b.stdout)


# --------------------------------------------------------------------------- privacy


def test_no_id_email_name_or_phone_in_any_result():
    n = 120
    orders = make_orders(n, seed=3)
    orders["customer_id"] = [f"QXID{c[1:]}K" if c else None for c in orders["customer_id"]]
    cust = {
        "customer_id": [f"QXID{i}K" for i in range(n)],
        "loyalty_member": [i % 3 == 0 for i in range(n)],
        "loyalty_joined_at": ["2025-09-01" if i % 3 == 0 else None for i in range(n)],
        "email": [f"zelda{i}@qxmail.test" for i in range(n)],
        "name": [f"Zelda Zorro{i}" for i in range(n)],
        "phone": [f"+4670000{i:04d}" for i in range(n)],
        "signed_up_at": ["2025-01-01"] * n,
    }
    s = shop_of(orders, cust)
    results = [
        compare_members(s),
        effect(s, n_boot=20, min_members=5),
        impact(s, n_boot=20, cost_per_member=1.0),
        retention(s),
        clv(s, cac=20.0),
    ]
    for res in results:
        text = res.headline + json.dumps(res.to_dict(), default=str)
        text += json.dumps(res.chart().to_dict(), default=str)
        for section in res.sections():
            text += str(section)
        assert "QXID" not in text
        assert "qxmail" not in text and "Zelda" not in text and "+4670000" not in text


def test_bgnbd_prediction_without_dropout_is_the_nbd():
    # The fit on make_orders(60) (every customer buying at random, nobody dropping out):
    # the Gauss function overflowed and clv() refused with "out of numerical range".
    from aovlab.loyalty.lifetime import bgnbd_conditional_expected, bgnbd_p_alive

    params = (1.415e5, 3.269e6, 1.957e-4, 6.087e4)
    x, t_x, age = np.array([0.0, 3.0, 9.0]), np.array([0.0, 40.0, 90.0]), np.full(3, 100.0)
    got = bgnbd_conditional_expected(params, 52.0, x, t_x, age)
    nbd = (params[0] + x) * 52.0 / (params[1] + age) * bgnbd_p_alive(params, x, t_x, age)
    np.testing.assert_allclose(got, nbd, rtol=1e-6)
    # Where the formula is still finite, it agrees with the NBD to within p = a/(a+b).
    small = (5.0, 50.0, 1e-4, 1e3)
    np.testing.assert_allclose(
        bgnbd_conditional_expected(small, 52.0, x, t_x, np.full(3, 100.0)),
        (5.0 + x) * 52.0 / 150.0 * bgnbd_p_alive(small, x, t_x, np.full(3, 100.0)),
        rtol=1e-5,
    )
    res = clv(shop_of(make_orders(60), make_customers(60)))
    assert_clean(res)


def test_too_few_members_message_counts_consistently():
    # Members who signed up but never ordered are in the effect's panel (from their
    # sign-up); the message used to read "580 of 342 members who ordered".
    tables = aovlab.sample.generate(scale=0.2, seed=1)
    cust = tables["customers"]
    cust = pl.concat([cust, cust.with_columns(("X" + pl.col("customer_id")).alias("customer_id"))])
    s = aovlab.ShopData.from_frames(
        tables["orders"],
        tables["lines"],
        customers=cust,
        currency="EUR",
        timezone="Europe/Stockholm",
    )
    with pytest.raises(AovlabInputError) as err:
        effect(s, n_boot=20, min_members=10**6)
    found = re.findall(r"found:\s+([\d,]+) of ([\d,]+)", str(err.value))[0]
    used, listed = (int(v.replace(",", "")) for v in found)
    assert used <= listed


def test_a_shop_in_another_time_zone_counts_its_own_months():
    # New York: 22:30 on 31 March local is 1 April in UTC. C0's second order is in
    # April local (month 1); C1's is still March local (the first order's month).
    orders = {
        "order_id": ["1", "2", "3", "4", "5"],
        "customer_id": ["C0", "C0", "C1", "C1", "C2"],
        "ordered_at": [
            "2025-03-10T12:00:00-04:00",
            "2025-04-01T00:30:00-04:00",
            "2025-03-10T12:00:00-04:00",
            "2025-03-31T22:30:00-04:00",
            "2025-06-30T23:00:00-04:00",
        ],
        "total": [10.0] * 5,
    }
    s = shop_of(orders, tz="America/New_York")
    d = {c["cohort"]: c for c in retention(s, by_member=False).to_dict()["cohorts"]}
    assert d["2025-03"]["customers"] == 2
    assert d["2025-03"]["retention"][0] == 0.5
    assert d["2025-03"]["repeat_rate"] == 1.0


# --------------------------------------------------------------------------- not fixed here


def test_all_false_flag_message_does_not_deny_the_column():
    s = shop_of(make_orders(), make_customers(member=lambda i: False, joined=None))
    with pytest.raises(AovlabInputError) as err:
        compare_members(s)
    assert "found:    neither" not in str(err.value)


def test_every_customer_a_member_refused_naming_non_members():
    s = shop_of(make_orders(), make_customers(member=lambda i: True))
    with pytest.raises(AovlabInputError, match="no non-members"):
        compare_members(s)
    with pytest.raises(AovlabInputError, match="never joined"):
        effect(s, n_boot=20)


def test_guest_only_shop_refused_everywhere():
    orders = make_orders(5, guests=50)
    orders["customer_id"] = [None] * len(orders["customer_id"])
    s = shop_of(orders)
    for fn in (compare_members, retention, clv):
        with pytest.raises(AovlabInputError):
            fn(s)
    assert not impact(s, n_boot=20).available  # says why; the command exits 2


def test_email_ids_match_across_case_and_spaces_and_never_show():
    orders = make_orders(60)
    orders["customer_id"] = [f"zed{c}@qxmail.test" for c in orders["customer_id"]]
    cust = make_customers(60)
    cust["customer_id"] = [f" ZED{c}@QXmail.test " for c in cust["customer_id"]]
    s = shop_of(orders, cust)
    res = compare_members(s)
    assert res.group("member")["customers"] > 0
    text = res.headline + json.dumps(res.to_dict(), default=str) + str(res.sections())
    assert "qxmail" not in text.lower()
