"""Co-purchase mining: literal tables, the planted pairs, mlxtend's figures, the guard."""

from __future__ import annotations

import json
import math
from itertools import combinations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aovlab import ShopData
from aovlab.bundles.baskets import baskets
from aovlab.bundles.pairs import PAIR_COLUMNS, TRIPLE_COLUMNS, bh_adjusted, fisher_greater, pairs
from aovlab.errors import AovlabInputError
from aovlab.sample import TRUTH

ALL = "2024-11..2026-10"  # the sample's whole span


def _shop(order_items: dict[str, list[str]], *, cancelled=(), native=pl.DataFrame, names=None):
    """One line per (order, item) listed, on 2026-03-0x; ``names`` maps a line to its product."""
    ids = list(order_items)
    orders = native(
        {
            "order_id": ids,
            "ordered_at": [f"2026-03-{i % 28 + 1:02d} 10:00" for i in range(len(ids))],
            "status": ["cancelled" if o in cancelled else "paid" for o in ids],
        }
    )
    rows = [(o, sku) for o, skus in order_items.items() for sku in skus]
    lines = native(
        {
            "order_id": [o for o, _ in rows],
            "sku": [s for _, s in rows],
            "product": [(names or {}).get((o, s), f"Product {s}") for o, s in rows],
            "category": [f"Cat {s.lower()}" for _, s in rows],
            "quantity": [1.0] * len(rows),
            "unit_price": [10.0] * len(rows),
        }
    )
    return ShopData.from_frames(orders, lines, currency="EUR")


TINY = {
    "1": ["A", "B", "B", "C"],  # B on two lines: counted once
    "2": ["A", "B"],
    "3": ["A", "C"],
    "4": ["B"],
    "5": ["B", "C"],
    "6": ["A", "B", "C"],
    "7": ["A", "B", "C", "A"],  # cancelled: does not count
}
NAMES = {("1", "A"): "Alpha", ("2", "A"): "Alpha", ("3", "A"): "Alpha (old)", ("7", "A"): "Old"}


def test_tiny_shop_literal_table():
    """N = 6 counted orders; A in 4, B in 5, C in 4; each pair in 3.

    lift AC = 3 * 6 / (4 * 4) = 1.125; AB = CB = 18 / 20 = 0.9. Orientation: a has fewer
    orders (C before B), a tie by name (A before C). Fisher one-sided: AC
    P(X >= 3 | N=6, 4, 4) = 1 - C(4,2)C(2,2)/C(6,4) = 9/15; AB and CB cannot be fewer
    than 3 (4 + 5 - 6), p = 1. BH over 3 pairs: 0.6 * 3 = 1.8 -> 1.
    """
    res = pairs(_shop(TINY, cancelled={"7"}, names=NAMES), when="2026-03", min_orders=1)
    t = res.table
    assert t.columns == list(PAIR_COLUMNS)
    assert t["a"].to_list() == ["A", "A", "C"]
    assert t["b"].to_list() == ["C", "B", "B"]
    assert t["a_product"].to_list() == ["Alpha", "Alpha", "Product C"]
    assert t["b_product"].to_list() == ["Product C", "Product B", "Product B"]
    assert t["orders"].to_list() == [3, 3, 3]
    assert t["orders_a"].to_list() == [4, 4, 4]
    assert t["orders_b"].to_list() == [4, 5, 5]
    assert t["support"].to_list() == [0.5, 0.5, 0.5]
    assert t["confidence_ab"].to_list() == [0.75, 0.75, 0.75]
    assert t["confidence_ba"].to_list() == [0.75, 0.6, 0.6]
    assert t["lift"].to_list() == pytest.approx([1.125, 0.9, 0.9], abs=1e-12)
    assert t["p_value"].to_list() == pytest.approx([0.6, 1.0, 1.0], abs=1e-12)
    assert t["p_adjusted"].to_list() == [1.0, 1.0, 1.0]
    assert t["significant"].to_list() == [False, False, False]
    assert (res.baskets, res.floor, res.family, res.significant) == (6, 1, 3, 0)
    assert res.items["item"].to_list() == ["B", "A", "C"]
    assert res.items["orders"].to_list() == [5, 4, 4]
    assert "No pair passes the significance guard out of 3 pairs" in res.headline
    d = res.to_dict()
    assert set(d) >= {"headline", "currency", "level", "period", "baskets", "pairs"}
    assert d["pairs"][0] == {
        "a": "A",
        "b": "C",
        "a_product": "Alpha",
        "b_product": "Product C",
        "orders": 3,
        "support": 0.5,
        "confidence_ab": 0.75,
        "confidence_ba": 0.75,
        "lift": 1.125,
        "p_value": 0.6,
        "significant": False,
    }
    json.dumps(d)


def test_floor_prunes_items_and_pairs():
    """min_orders 4: C (4) and A (4) stay, pairs (3) do not: an empty result, not an error."""
    res = pairs(_shop(TINY, cancelled={"7"}), when="2026-03", min_orders=4)
    assert res.table.height == 0 and res.table.columns == list(PAIR_COLUMNS)
    assert res.items["item"].to_list() == ["B", "A", "C"]
    assert res.headline.startswith("No two SKUs are bought together in at least 4 orders")
    assert "Pairs" in repr(res)
    res.chart().to_dict()
    res.heatmap().to_dict()
    # min_support as a share: ceil(0.7 * 6) = 5 orders: only B.
    res = pairs(_shop(TINY, cancelled={"7"}), when="2026-03", min_orders=1, min_support=0.7)
    assert res.floor == 5 and res.items["item"].to_list() == ["B"] and res.family == 0


def test_tiny_shop_triples_and_categories():
    res = pairs(_shop(TINY, cancelled={"7"}), when="2026-03", min_orders=1, size=3)
    t = res.table
    assert t.columns == list(TRIPLE_COLUMNS)
    # A, B, C together in orders 1 and 6: lift 2 * 6**2 / (4 * 4 * 5) = 0.9. Order: by
    # orders, then name (A 4, C 4, B 5). Every rule "two -> the third" has 2 / 3; a tie
    # goes to the rarest third item, A.
    row = t.row(0, named=True)
    assert t.height == 1
    assert [row[k] for k in ("a", "b", "c", "a_product", "b_product", "c_product")] == [
        "A",
        "C",
        "B",
        "Product A",
        "Product C",
        "Product B",
    ]
    assert (row["orders"], row["support"], row["then"]) == (2, 2 / 6, "A")
    assert row["confidence"] == pytest.approx(2 / 3, abs=1e-12)
    assert row["lift"] == pytest.approx(0.9, abs=1e-12)
    assert json.loads(json.dumps(res.to_dict()))["triples"][0]["orders"] == 2
    cat = pairs(_shop(TINY, cancelled={"7"}), when="2026-03", min_orders=1, level="category")
    assert cat.table["a"].to_list() == ["Cat a", "Cat a", "Cat c"]
    assert cat.table["a_product"].to_list() == ["Cat a", "Cat a", "Cat c"]
    assert cat.table["orders"].to_list() == [3, 3, 3]


def test_pandas_in_pandas_out_same_figures():
    pl_res = pairs(_shop(TINY, cancelled={"7"}), when="2026-03", min_orders=1)
    pd_res = pairs(_shop(TINY, cancelled={"7"}, native=pd.DataFrame), when="2026-03", min_orders=1)
    assert isinstance(pd_res.table, pd.DataFrame) and isinstance(pd_res.items, pd.DataFrame)
    pd.testing.assert_frame_equal(pd_res.table, pl_res.table.to_pandas(), check_dtype=False)
    assert pd_res.headline == pl_res.headline


def test_sample_pandas_matches_polars(shop, shop_pd):
    a = pairs(shop, when="2026-01..2026-06")
    b = pairs(shop_pd, when="2026-01..2026-06")
    assert isinstance(b.table, pd.DataFrame)
    pd.testing.assert_frame_equal(b.table, a.table.to_pandas(), check_dtype=False)
    assert a.headline == b.headline


# --------------------------------------------------------------------------- the sample


@pytest.mark.parametrize("when", [ALL, None])
def test_sample_recovers_the_planted_pairs(shop, when):
    res = pairs(shop, when=when)
    planted = {frozenset((p["a"], p["b"])) for p in TRUTH["pairs"]}
    rows = res.rows()
    top = rows[:3]
    assert {frozenset((r["a"], r["b"])) for r in top} == planted
    for r in top:
        assert r["lift"] > TRUTH["min_pair_lift"] and r["significant"]
        assert r["confidence_ab"] >= r["confidence_ba"]
    rest = [r for r in rows[3:] if r["significant"]]
    assert all(r["lift"] < TRUTH["min_pair_lift"] for r in rest)
    assert res.significant >= 3
    assert res.headline.startswith("Gas canister 230 g and Camp stove Mini are bought together")
    html = res._repr_html_()
    assert "<table" in html
    chart = res.chart().to_dict()
    assert "layer" in chart
    res.heatmap(top=10).to_dict()


def test_sample_all_data_figures(shop):
    """Over counted orders (cancelled ones left out): 29,287 baskets."""
    res = pairs(shop, when=ALL)
    first = res.rows()[0]
    assert (res.baskets, first["a"], first["b"], first["orders"]) == (
        29287,
        "CO-009",
        "CO-002",
        501,
    )
    assert first["lift"] == pytest.approx(23.47, abs=0.01)


def _mlxtend(shop, when, min_support, max_len):
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    lists = (
        baskets(shop, when=when)
        .collect()
        .to_native()
        .group_by("order_id")
        .agg(pl.col("item"))["item"]
        .to_list()
    )
    enc = TransactionEncoder()
    onehot = pd.DataFrame(enc.fit(lists).transform(lists), columns=enc.columns_)
    fi = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=max_len)
    return fi, association_rules(fi, num_itemsets=len(lists), metric="lift", min_threshold=0)


def test_agrees_with_mlxtend(shop):
    """Every pair and triple with support >= min_support, to 1e-9, and no other."""
    min_support = 0.002
    res = pairs(shop, when=ALL, min_support=min_support, min_orders=1)
    fi, rules = _mlxtend(shop, ALL, min_support, 3)
    pairs_ml = fi[fi["itemsets"].map(len) == 2]
    ours = {frozenset((r["a"], r["b"])): r for r in res.rows()}
    assert set(ours) == set(pairs_ml["itemsets"])
    assert len(ours) > 40
    for itemset, support in zip(pairs_ml["itemsets"], pairs_ml["support"], strict=True):
        assert abs(ours[itemset]["support"] - support) < 1e-9
    two = rules[(rules["antecedents"].map(len) == 1) & (rules["consequents"].map(len) == 1)]
    assert len(two) == 2 * len(ours)
    for ante, cons, conf, lift_ in zip(
        two["antecedents"], two["consequents"], two["confidence"], two["lift"], strict=True
    ):
        (x,), (y,) = ante, cons
        r = ours[frozenset((x, y))]
        assert abs((r["confidence_ab"] if r["a"] == x else r["confidence_ba"]) - conf) < 1e-9
        assert abs(r["lift"] - lift_) < 1e-9
        assert r["orders"] == round(r["support"] * res.baskets)
    triples = pairs(shop, when=ALL, min_support=min_support, min_orders=1, size=3)
    ml3 = fi[fi["itemsets"].map(len) == 3]
    ours3 = {frozenset((r["a"], r["b"], r["c"])): r for r in triples.rows()}
    assert set(ours3) == set(ml3["itemsets"]) and len(ours3) > 0
    for itemset, support in zip(ml3["itemsets"], ml3["support"], strict=True):
        assert abs(ours3[itemset]["support"] - support) < 1e-9
    # mlxtend's rules {x, y} -> z: our confidence is the best of the three rules.
    three = rules[rules["antecedents"].map(len) == 2]
    best = three.assign(
        key=[
            frozenset(a | c)
            for a, c in zip(three["antecedents"], three["consequents"], strict=True)
        ]
    )
    best = best.sort_values("confidence").groupby("key").tail(1)
    assert len(best) == len(ours3)
    for key, conf, cons in zip(best["key"], best["confidence"], best["consequents"], strict=True):
        r = ours3[key]
        assert abs(r["confidence"] - conf) < 1e-9
        # the rule's own lift (mlxtend): confidence / support of the item it predicts
        (then,) = cons
        assert r["then"] == then or abs(r["confidence"] - conf) < 1e-12


# --------------------------------------------------------------------------- the guard


def _null_shop(rng: np.random.Generator, months: int, per_month: int, items: int) -> ShopData:
    """Items bought independently of each other (popularity 3-25 %), a month per run."""
    chance = rng.uniform(0.03, 0.25, items)
    hit = rng.random((months * per_month, items)) < chance
    order, item = np.nonzero(hit)
    ids = np.unique(order)
    month = ids // per_month
    orders = pl.DataFrame(
        {
            "order_id": ids.astype(str),
            "ordered_at": [f"{2010 + m // 12}-{m % 12 + 1:02d}-15 10:00" for m in month],
        }
    )
    lines = pl.DataFrame(
        {
            "order_id": order.astype(str),
            "sku": [f"S{j:02d}" for j in item],
            "quantity": 1.0,
            "unit_price": 10.0,
        }
    )
    return ShopData.from_frames(orders, lines, currency="EUR")


def test_guard_holds_the_error_rate_on_independent_items():
    """80 shops of 1,000 orders and 25 independent items (300 pairs each).

    Under the complete null Benjamini-Hochberg holds the chance of any discovery at
    alpha (Fisher's discrete test makes it lower): about 4 runs of 80 at 5 %; 10 or
    more has probability 0.3 %. Without the adjustment nearly every run would report a
    pair (300 tests at 5 %), which the second assertion checks.
    """
    runs = 80
    shop = _null_shop(np.random.default_rng(20261203), runs, 1_000, 25)
    any_discovery = raw = 0
    for m in range(runs):
        res = pairs(shop, when=f"{2010 + m // 12}-{m % 12 + 1:02d}", min_orders=5)
        any_discovery += res.significant > 0
        raw += bool((res.table["p_value"] < 0.05).any())
    assert any_discovery <= 9, any_discovery
    assert raw >= 0.9 * runs, raw


@pytest.mark.parametrize("n", [12, 1_000, 30_000, 1_000_000])
def test_fisher_matches_scipy(n):
    """The vectorised tail against scipy's hypergeometric survival function."""
    from scipy import stats

    rng = np.random.default_rng(n)
    a = rng.integers(1, n // 3 + 2, 2_000)
    b = rng.integers(1, n // 3 + 2, 2_000)
    low, high = np.maximum(0, a + b - n), np.minimum(a, b)
    k = np.minimum(low + (rng.random(2_000) * (high - low + 1)).astype(int), high)
    k[:5] = high[:5]  # the far end of the tail
    ours, ref = fisher_greater(k, n, a, b), stats.hypergeom.sf(k - 1, n, a, b)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-300)


def test_bh_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, 40) ** 2
    full = np.concatenate([p, np.ones(60)])
    expected = multipletests(full, method="fdr_bh")[1][:40]
    np.testing.assert_allclose(bh_adjusted(p, 100), expected, rtol=1e-12)


# --------------------------------------------------------------------------- properties


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=1, max_size=5),
        min_size=3,
        max_size=30,
    )
)
def test_invariants_on_random_baskets(lists):
    shop = _shop({str(i): items for i, items in enumerate(lists)})
    res = pairs(shop, when="2026-03", min_orders=1, min_support=1e-6)
    sets = [set(x) for x in lists]
    n = len(sets)
    each = {i: sum(i in s for s in sets) for i in "ABCDE"}
    expected = {
        frozenset(p): sum(set(p) <= s for s in sets)
        for p in combinations("ABCDE", 2)
        if sum(set(p) <= s for s in sets) > 0
    }
    got = {frozenset((r["a"], r["b"])): r for r in res.rows()}
    assert {k: r["orders"] for k, r in got.items()} == expected
    assert res.baskets == n
    for r in got.values():
        assert r["orders_a"] == each[r["a"]] and r["orders_b"] == each[r["b"]]
        assert (r["orders_a"], r["a"]) <= (r["orders_b"], r["b"])
        assert math.isclose(r["confidence_ab"] * r["orders_a"], r["orders"])
        assert r["confidence_ab"] >= r["confidence_ba"]
        assert r["support"] <= min(r["orders_a"], r["orders_b"]) / n
        assert math.isclose(r["lift"], r["confidence_ab"] / (r["orders_b"] / n))
        assert math.isclose(r["lift"], r["confidence_ba"] / (r["orders_a"] / n))
        assert 0 <= r["p_value"] <= r["p_adjusted"] <= 1
    lifts = [r["lift"] for r in res.rows()]
    assert lifts == sorted(lifts, reverse=True)


# --------------------------------------------------------------------------- bad input


def test_bad_input():
    shop = _shop(TINY)
    for kwargs, where in [
        ({"min_support": 0}, "min_support"),
        ({"min_support": 1.5}, "min_support"),
        ({"min_orders": 0}, "min_orders"),
        ({"min_orders": 2.5}, "min_orders"),
        ({"size": 4}, "size"),
        ({"alpha": 1.0}, "alpha"),
        ({"top": 0}, "top"),
    ]:
        with pytest.raises(AovlabInputError, match=where) as err:
            pairs(shop, when="2026-03", **kwargs)
        assert "expected" in str(err.value) and "found" in str(err.value)
    with pytest.raises(AovlabInputError, match="unknown basket level") as err:
        pairs(shop, level="brand")
    assert "'sku' or 'category'" in str(err.value)
    with pytest.raises(AovlabInputError, match="no counted orders with items in 2025-01") as err:
        pairs(shop, when="2025-01")
    assert "2026-03-01 to 2026-03-07" in str(err.value)
    no_lines = ShopData.from_frames(
        pl.DataFrame({"order_id": ["1"], "ordered_at": ["2026-03-01"], "merchandise": [10.0]}),
        currency="EUR",
    )
    with pytest.raises(AovlabInputError, match="needs order lines"):
        pairs(no_lines)


def test_top_keeps_the_first_rows(shop):
    res = pairs(shop, top=2)
    assert res.table.height == 2 and res.significant >= 3
    assert f"{res.significant} pairs pass the significance guard" in res.headline


def test_does_not_change_the_callers_frames():
    orders = pd.DataFrame({"order_id": ["1", "2"], "ordered_at": ["2026-03-01", "2026-03-02"]})
    lines = pd.DataFrame(
        {"order_id": ["1", "1", "2"], "sku": ["A", "B", "A"], "quantity": 1.0, "unit_price": 5.0}
    )
    before = (orders.copy(), lines.copy())
    pairs(ShopData.from_frames(orders, lines, currency="EUR"), when="2026-03", min_orders=1)
    pd.testing.assert_frame_equal(orders, before[0])
    pd.testing.assert_frame_equal(lines, before[1])


# --------------------------------------------------------------------------- real data


@pytest.mark.real
def test_uci_2011_pairs_match_a_pandas_count(retail, retail_shop):
    res = pairs(retail_shop, when="2011", min_support=0.02, min_orders=20)
    # The same count by hand: 2011 invoices' distinct codes, a self-merge, a group-by.
    dated = retail.assign(at=pd.to_datetime(retail["InvoiceDate"]))
    first = dated.groupby("InvoiceNo")["at"].transform("min")
    b = dated[first.dt.year == 2011][["InvoiceNo", "StockCode"]].drop_duplicates()
    n = b["InvoiceNo"].nunique()
    floor = max(20, math.ceil(0.02 * n))
    counts = b["StockCode"].value_counts()
    b = b[b["StockCode"].isin(counts[counts >= floor].index)]
    m = b.merge(b, on="InvoiceNo")
    m = m[m["StockCode_x"] < m["StockCode_y"]]
    together = m.groupby(["StockCode_x", "StockCode_y"]).size()
    together = together[together >= floor]
    assert res.baskets == n and len(res.table) == len(together) > 20
    ours = {(min(r["a"], r["b"]), max(r["a"], r["b"])): r for r in res.rows()}
    for (x, y), k in together.items():
        r = ours[(x, y)]
        assert r["orders"] == k
        assert r["lift"] == pytest.approx(k * n / (counts[x] * counts[y]), rel=1e-12)


def test_the_scatter_stays_light_when_thousands_of_pairs_pass():
    """Real invoices (UCI) pass hundreds of thousands of pairs: Altair refuses > 5,000 rows."""
    import numpy as np

    from aovlab.bundles.pairs import MAX_POINTS

    rng = np.random.default_rng(1)
    orders, lines = [], []
    for i in range(3000):  # ten blocks of 40 SKUs, 12 from one block per order
        block = int(rng.integers(0, 10))
        for item in rng.choice(np.arange(block * 40, block * 40 + 40), size=12, replace=False):
            lines.append({"order_id": str(i), "sku": f"S{item}", "quantity": 1, "unit_price": 10.0})
        orders.append(
            {
                "order_id": str(i),
                "ordered_at": "2026-01-05 10:00",
                "merchandise": 120.0,
                "total": 120.0,
            }
        )
    shop = ShopData.from_frames(pl.DataFrame(orders), pl.DataFrame(lines), currency="EUR")
    found = pairs(shop, min_orders=5)
    assert found.significant > 5000
    spec = found.chart().to_dict()  # raised MaxRowsError before the cap
    datasets = spec["datasets"].values()
    assert max(len(rows) for rows in datasets) <= MAX_POINTS
    assert "the 200 with the highest lift that pass" in json.dumps(spec)
