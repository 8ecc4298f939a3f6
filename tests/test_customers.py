import datetime as dt
import json
import math
from collections import Counter

import altair as alt
import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from aovlab import ShopData, customers
from aovlab.errors import AovlabInputError

# --------------------------------------------------------------------- a tiny shop by hand


def tiny(native=pl.DataFrame):
    """Five registered customers, a guest and a cancelled order, in Stockholm time.

    B's last order is at 23:30 UTC on 30 October: 00:30 on the 31st in Stockholm, the
    last counted order, so the default as-of date is 2026-10-31 and B's recency is 0.
    """
    rows = [
        ("1", "A", "2026-10-30T10:00:00Z", 100.0, "paid"),
        ("2", "A", "2026-10-20T10:00:00Z", 50.0, "paid"),
        ("3", "A", "2026-09-01T10:00:00Z", 30.0, "paid"),
        ("4", "B", "2026-10-30T23:30:00Z", 40.0, "paid"),
        ("5", "B", "2026-08-01T10:00:00Z", 40.0, "paid"),
        ("6", "C", "2026-06-15T10:00:00Z", 500.0, "paid"),
        ("7", "C", "2026-10-31T10:00:00Z", 999.0, "cancelled"),
        ("8", "D", "2026-10-01T10:00:00Z", 20.0, "paid"),
        ("9", "E", "2026-01-10T10:00:00Z", 60.0, "paid"),
        ("10", "E", "2026-01-05T10:00:00Z", 60.0, "paid"),
        ("11", "E", "2025-12-01T10:00:00Z", 60.0, "paid"),
        ("12", "E", "2025-11-01T10:00:00Z", 60.0, "paid"),
        ("13", None, "2026-10-30T20:00:00Z", 25.0, "paid"),
    ]
    names = ["order_id", "customer_id", "ordered_at", "merchandise", "status"]
    orders = native({name: [row[i] for row in rows] for i, name in enumerate(names)})
    return ShopData.from_frames(orders, currency="EUR", timezone="Europe/Stockholm")


def scores_of(shop, **kwargs):
    frame = customers.rfm_scores(shop, **kwargs).collect()
    columns = ["customer_id", "recency_days", "frequency", "monetary"]
    columns += ["r_score", "f_score", "m_score", "segment"]
    return frame.sort("customer_id").select(columns).to_native()


def test_rfm_scores_by_hand():
    got = scores_of(tiny())
    # Recency to 2026-10-31: A 30 Oct (1 day), B 31 Oct local (0), C 15 Jun (138),
    # D 1 Oct (30), E 10 Jan (294). Scores: floor(5 x strictly worse / 5) + 1.
    expected = pl.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E"],
            "recency_days": [1, 0, 138, 30, 294],
            "frequency": [3, 2, 1, 1, 4],
            "monetary": [180.0, 80.0, 500.0, 20.0, 240.0],
            "r_score": [4, 5, 2, 3, 1],
            "f_score": [4, 3, 1, 1, 5],  # C and D tie on one order: both F1
            "m_score": [3, 2, 5, 1, 4],
            "segment": [
                "loyal",
                "potential_loyalists",
                "hibernating",
                "about_to_sleep",
                "cannot_lose",
            ],
        }
    )
    assert_frame_equal(got, expected, check_dtypes=False)


def test_rfm_table_by_hand():
    res = customers.rfm(tiny())
    assert res.as_of == dt.date(2026, 10, 31)
    assert (res.customers, res.orders, res.revenue) == (5, 11, 1020.0)
    z = 0.0
    expected = pl.DataFrame(
        {
            "segment": [s.name for s in customers.RFM_SEGMENTS],
            "customers": [0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0],
            "customer_share": [z, 0.2, 0.2, z, z, z, 0.2, z, 0.2, 0.2, z],
            "revenue": [z, 180.0, 80.0, z, z, z, 20.0, z, 240.0, 500.0, z],
            "revenue_share": [
                *(z, 180 / 1020, 80 / 1020, z, z, z, 20 / 1020, z, 240 / 1020, 500 / 1020, z)
            ],
            "aov": [None, 60.0, 40.0, None, None, None, 20.0, None, 60.0, 500.0, None],
            "orders_per_customer": [None, 3.0, 2.0, None, None, None, 1.0, None, 4.0, 1.0, None],
            "recency_days": [None, 1.0, 0.0, None, None, None, 30.0, None, 294.0, 138.0, None],
            "monetary_score": [None, 3.0, 2.0, None, None, None, 1.0, None, 4.0, 5.0, None],
        },
        schema_overrides={"customers": pl.Int64},
    )
    assert_frame_equal(res.table, expected)
    assert res.headline == (
        "As of 2026-10-31, none of the 5 registered customers is a champion yet (recent and "
        "frequent); 1 customer who used to buy often has lapsed (at risk or cannot lose: last "
        "order 294 days ago on average)."
    )
    grid = res.grid.filter(pl.col("customers") > 0).sort("r_score", "f_score")
    assert grid.select("r_score", "f_score", "segment", "customers").rows() == [
        (1, 5, "cannot_lose", 1),
        (2, 1, "hibernating", 1),
        (3, 1, "about_to_sleep", 1),
        (4, 4, "loyal", 1),
        (5, 3, "potential_loyalists", 1),
    ]
    assert res.grid.shape == (25, 10)


def test_as_of_cuts_the_orders_at_the_end_of_the_local_day():
    # Up to 15 October: A has only its 1 September order, B only 1 August.
    got = scores_of(tiny(), as_of="2026-10-15")
    assert got.select("customer_id", "recency_days", "frequency", "monetary").rows() == [
        ("A", 44, 1, 30.0),
        ("B", 75, 1, 40.0),
        ("C", 122, 1, 500.0),
        ("D", 14, 1, 20.0),
        ("E", 278, 4, 240.0),
    ]
    # Four customers tie on one order: all F1; E alone scores F5.
    assert got["f_score"].to_list() == [1, 1, 1, 1, 5]
    assert_frame_equal(scores_of(tiny(), as_of=dt.date(2026, 10, 15)), got)
    # A month means its last day; as_of after the data measures recency to it.
    assert customers.rfm(tiny(), as_of="2026-10").as_of == dt.date(2026, 10, 31)
    later = scores_of(tiny(), as_of="2026-11-30")
    assert later["recency_days"].to_list() == [31, 30, 168, 60, 324]
    # B's last order is 00:30 on 31 October in Stockholm: up to 30 October leaves it out.
    assert scores_of(tiny(), as_of="2026-10-30")["frequency"].to_list()[:2] == [3, 1]


def test_as_of_before_the_data_names_its_date_range():
    with pytest.raises(AovlabInputError) as err:
        customers.rfm(tiny(), as_of="2025-06-30")
    text = str(err.value)
    assert "as_of 2025-06-30 is before the first counted order" in text
    assert "the counted orders run from 2025-11-01 to 2026-10-31" in text
    with pytest.raises(AovlabInputError, match="2025-11-01 to 2026-10-31"):
        customers.top_customers(tiny(), as_of=dt.date(2024, 1, 1))
    with pytest.raises(AovlabInputError, match="as_of is not a date"):
        customers.rfm(tiny(), as_of="last tuesday")


def test_no_counted_orders_in_the_window_is_a_clear_error():
    with pytest.raises(AovlabInputError, match="no counted orders in the selection"):
        customers.rfm(tiny(), when="2024")


def test_top_customers_and_pareto_by_hand():
    res = customers.top_customers(tiny(), n=3)
    # All counted revenue: 1,020 from customers and 25 from the guest.
    assert (res.customers, res.customer_revenue, res.revenue) == (5, 1020.0, 1045.0)
    expected = pl.DataFrame(
        {
            "customer_id": ["C", "E", "A"],
            "orders": [1, 4, 3],
            "revenue": [500.0, 240.0, 180.0],
            "revenue_share": [500 / 1045, 240 / 1045, 180 / 1045],
            "cumulative_share": [500 / 1045, 740 / 1045, 920 / 1045],
        }
    )
    assert_frame_equal(res.table, expected)
    curve = res.pareto
    assert curve.shape == (100, 5)
    # The top k % are ceil(5k / 100) customers: one up to 20 %, two up to 40 %, ...
    at = {
        round(k * 100): (c, r) for k, c, r in curve.select("top_pct", "customers", "revenue").rows()
    }
    assert at[1] == at[20] == (1, 500.0)
    assert at[21] == (2, 740.0)
    assert at[60] == (3, 920.0)
    assert at[80] == (4, 1000.0)
    assert at[100] == (5, 1020.0)
    assert res.top_share(0.10)["customers"] == 1
    assert res.headline == (
        "The top 10 % of registered customers (1 of 5) bring 49.0 % of their revenue; the top "
        "3 customers bring 88.0 % of all revenue (guest checkouts included)."
    )
    everyone = customers.top_customers(tiny(), n=10)
    assert len(everyone.table) == 5
    assert everyone.headline.endswith(
        "; all 5 customers bring 97.6 % of all revenue (guest checkouts included)."
    )


def test_ties_are_broken_by_customer_id():
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2", "3", "4"],
            "customer_id": ["K9", "K1", "K5", "K2"],
            "ordered_at": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04"],
            "merchandise": [50.0, 50.0, 80.0, 50.0],
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR")
    assert customers.top_customers(shop, n=3).table["customer_id"].to_list() == ["K5", "K1", "K2"]
    # Equal revenue, equal M score; K5 has 3 of 4 below it (75 %, under the 80 % a 5
    # needs): M4. One order each: all F1.
    scores = scores_of(shop)
    assert scores["m_score"].to_list() == [1, 1, 4, 1]
    assert set(scores["f_score"].to_list()) == {1}


def test_n_must_be_a_positive_whole_number():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(AovlabInputError, match="n is out of range"):
            customers.top_customers(tiny(), n=bad)


# --------------------------------------------------------------------- the segment rules


def test_segment_rules_cover_every_cell_exactly_once():
    cells = Counter(cell for segment in customers.RFM_SEGMENTS for cell in segment.cells())
    assert set(cells) == {(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert set(cells.values()) == {1}
    names = [s.name for s in customers.RFM_SEGMENTS]
    assert len(names) == len(set(names)) == 11
    assert customers.segment_of(5, 4) == "champions"
    with pytest.raises(AovlabInputError):
        customers.segment_of(0, 6)


def test_the_module_notes_list_every_segment_with_its_rule():
    doc = customers.__doc__
    for s in customers.RFM_SEGMENTS:
        r = f"{s.r[0]}" if s.r[0] == s.r[1] else f"{s.r[0]}-{s.r[1]}"
        f = f"{s.f[0]}" if s.f[0] == s.f[1] else f"{s.f[0]}-{s.f[1]}"
        assert any(line.split()[:3] == [s.name, r, f] for line in doc.splitlines()), s.name


# --------------------------------------------------------------------- quintile scores


def _scores(values, higher_is_better, native=pl.DataFrame):
    frame = nw.from_native(native({"v": values}))
    out = frame.select(customers.quintile_score("v", higher_is_better=higher_is_better))
    return [int(v) for v in out["v"].to_list()]


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=60),
    higher_is_better=st.booleans(),
)
def test_quintile_scores_tie_equal_values_and_rise_with_the_value(values, higher_is_better):
    scores = _scores(values, higher_is_better)
    assert all(1 <= s <= 5 for s in scores)
    by_value: dict[int, set[int]] = {}
    for v, s in zip(values, scores, strict=True):
        by_value.setdefault(v, set()).add(s)
    assert all(len(s) == 1 for s in by_value.values())  # equal values, equal scores
    ordered = [next(iter(by_value[v])) for v in sorted(by_value, reverse=not higher_is_better)]
    assert ordered == sorted(ordered)  # better values never score lower
    # Independently: 5 x (values strictly worse) // n + 1.
    arr = np.array(values)
    worse = [(arr < v).sum() if higher_is_better else (arr > v).sum() for v in values]
    assert scores == [5 * w // len(values) + 1 for w in worse]
    assert _scores(values, higher_is_better, pd.DataFrame) == scores


def test_distinct_values_fill_the_quintiles_evenly():
    assert Counter(_scores(list(range(100)), True)) == {1: 20, 2: 20, 3: 20, 4: 20, 5: 20}


# --------------------------------------------------------------------- the sample shop


def _independent_customers(shop_pd, as_of=None):
    """Per customer from the pandas orders, without aovlab's code: recency, orders, revenue."""
    o = shop_pd.orders
    o = o[(o["status"] != "cancelled") & ~o["test"]]
    if as_of is not None:
        o = o[o["ordered_at"].dt.date <= as_of]
    last_day = o["ordered_at"].dt.date.max() if as_of is None else as_of
    total = (o["merchandise"] - o["discount"]).sum()
    o = o[o["customer_id"].notna()].assign(value=lambda d: d["merchandise"] - d["discount"])
    per = o.groupby("customer_id").agg(
        orders=("order_id", "size"), revenue=("value", "sum"), last=("ordered_at", "max")
    )
    per["recency"] = [(last_day - t.date()).days for t in per["last"]]
    return per, total


def _pandas_score(series, higher_is_better=True):
    ranks = series.rank(method="min", ascending=higher_is_better).astype(int)
    return (ranks - 1) * 5 // len(series) + 1


def test_rfm_matches_an_independent_pandas_computation(shop, shop_pd):
    per, _ = _independent_customers(shop_pd)
    r = _pandas_score(per["recency"], higher_is_better=False)
    f = _pandas_score(per["orders"])
    segments = [customers.segment_of(a, b) for a, b in zip(r, f, strict=True)]
    expected = Counter(segments)
    res = customers.rfm(shop)
    got = dict(res.table.select("segment", "customers").rows())
    assert got == {s.name: expected.get(s.name, 0) for s in customers.RFM_SEGMENTS}
    revenue = per.groupby(pd.Series(segments, index=per.index))["revenue"].sum()
    for name, value in res.table.select("segment", "revenue").rows():
        assert value == pytest.approx(revenue.get(name, 0.0), abs=1e-6)


def test_segments_add_up_to_all_registered_customers_and_their_revenue(shop):
    res = customers.rfm(shop, as_of="2026-06-30")
    per = customers.per_customer(shop, as_of="2026-06-30")
    n, revenue, orders = (
        per.select(nw.len(), nw.col("revenue").sum(), nw.col("orders").sum()).collect().row(0)
    )
    for table in (res.table, res.grid):
        assert table["customers"].sum() == n == res.customers
        assert table["revenue"].sum() == pytest.approx(revenue, abs=1e-6)
        assert table["customer_share"].sum() == pytest.approx(1.0)
        assert table["revenue_share"].sum() == pytest.approx(1.0)
    assert res.orders == orders
    assert res.as_of == dt.date(2026, 6, 30)


def test_pareto_curve_ends_at_one_and_bends_down(shop):
    curve = customers.top_customers(shop).pareto
    assert curve.shape == (100, 5)
    last = curve.row(-1, named=True)
    # polars divides by a scalar through its reciprocal: 5161 / 5161 can be 1 - 1e-16.
    ends = (last["top_pct"], last["customer_share"], last["revenue_share"])
    assert ends == pytest.approx((1.0, 1.0, 1.0), abs=1e-15)
    x, y = curve["customer_share"].to_numpy(), curve["revenue_share"].to_numpy()
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) >= 0)
    x, y = np.concatenate([[0.0], x]), np.concatenate([[0.0], y])
    slopes = np.diff(y) / np.diff(x)
    assert np.all(np.diff(slopes) <= 1e-9)  # concave: each step adds less per customer
    assert np.all(y >= x - 1e-12)  # never under the diagonal


def test_top_customers_match_an_independent_pandas_computation(shop, shop_pd):
    per, total = _independent_customers(shop_pd)
    per = per.reset_index().sort_values(["revenue", "customer_id"], ascending=[False, True])
    res = customers.top_customers(shop, n=25)
    table = res.table
    assert table["customer_id"].to_list() == per["customer_id"].head(25).tolist()
    assert table["orders"].to_list() == per["orders"].head(25).tolist()
    np.testing.assert_allclose(table["revenue"], per["revenue"].head(25), rtol=1e-12)
    np.testing.assert_allclose(table["revenue_share"], per["revenue"].head(25) / total, rtol=1e-9)
    assert res.revenue == pytest.approx(total)
    k = math.ceil(0.1 * len(per))
    point = res.top_share(0.10)
    assert point["customers"] == k
    assert point["revenue_share"] == pytest.approx(
        per["revenue"].head(k).sum() / per["revenue"].sum()
    )


def test_pandas_in_pandas_out_with_the_same_numbers(shop, shop_pd):
    a, b = customers.rfm(shop), customers.rfm(shop_pd)
    for native in (b.table, b.grid):
        assert isinstance(native, pd.DataFrame)
        assert list(native.index) == list(range(len(native)))
    assert_frame_equal(a.table, pl.from_pandas(b.table), check_dtypes=False)
    assert_frame_equal(a.grid, pl.from_pandas(b.grid), check_dtypes=False)
    assert a.headline == b.headline and a.to_dict() == b.to_dict()
    c, d = customers.top_customers(shop), customers.top_customers(shop_pd)
    assert isinstance(d.table, pd.DataFrame) and isinstance(d.pareto, pd.DataFrame)
    assert isinstance(c.table, pl.DataFrame) and isinstance(c.pareto, pl.DataFrame)
    assert_frame_equal(c.table, pl.from_pandas(d.table), check_dtypes=False)
    assert_frame_equal(c.pareto, pl.from_pandas(d.pareto), check_dtypes=False)
    assert c.headline == d.headline
    assert isinstance(customers.rfm_scores(shop_pd).collect().to_native(), pd.DataFrame)


def test_the_caller_shop_is_not_changed(shop):
    before = shop.orders.clone()
    customers.rfm(shop)
    customers.top_customers(shop)
    assert_frame_equal(shop.orders, before)


def test_json_has_the_keys_the_command_line_prints(shop):
    rfm = customers.rfm(shop, as_of="2026-09-30").to_dict()
    assert rfm["as_of"] == "2026-09-30"
    keys = {"segment", "customers", "customer_share", "revenue_share", "aov"}
    keys |= {"orders_per_customer", "recency_days"}
    assert [r["segment"] for r in rfm["rfm"]] == [s.name for s in customers.RFM_SEGMENTS]
    assert all(keys <= set(r) for r in rfm["rfm"])
    assert len(rfm["grid"]) == 25
    top = customers.top_customers(shop, n=5).to_dict()
    assert [set(r) for r in top["top_customers"]] == [
        {"customer_id", "orders", "revenue", "revenue_share", "cumulative_share"}
    ] * 5
    assert len(top["pareto"]) == 100
    json.dumps(rfm), json.dumps(top)


def test_sample_headlines(shop):
    assert customers.rfm(shop).headline.startswith("As of 2026-10-31, champions")
    assert customers.top_customers(shop).headline.startswith(
        "The top 10 % of registered customers (517 of 5,161) bring"
    )


# --------------------------------------------------------------------- guests only, charts


def guests_only(native=pl.DataFrame):
    orders = native(
        {
            "order_id": ["1", "2", "3"],
            "ordered_at": ["2026-09-01", "2026-09-02", "2026-10-01"],
            "total": [50.0, 70.0, 90.0],
        }
    )
    return ShopData.from_frames(orders, currency="EUR")


@pytest.mark.parametrize("native", [pl.DataFrame, pd.DataFrame])
def test_a_shop_of_guests_only_says_so(native):
    shop = guests_only(native)
    res = customers.rfm(shop)
    assert res.headline == customers.NO_CUSTOMERS
    assert res.customers == 0 and len(res.table) == 11
    assert list(nw.from_native(res.table)["customers"].to_list()) == [0] * 11
    top = customers.top_customers(shop)
    assert top.headline == customers.NO_CUSTOMERS
    assert len(top.table) == 0 and len(top.pareto) == 0
    for result in (res, top):
        json.dumps(result.to_dict())
        assert isinstance(result.chart(), alt.Chart)  # a chart that says why, not a crash
        assert "guest checkout" in result._repr_html_()


def test_charts_get_aggregates_only(shop):
    res = customers.rfm(shop)
    grid = res.chart()
    assert isinstance(grid, alt.LayerChart)
    for layer in grid.layer:
        assert len(nw.from_native(layer.data)) <= 25
    top = customers.top_customers(shop)
    curve = top.chart()
    for layer in curve.layer:
        assert len(nw.from_native(layer.data)) <= 101
    assert isinstance(top.bar_chart(), alt.Chart)
    spec = grid.to_dict()
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_displayed_tables_name_the_segments(shop):
    html = customers.rfm(shop)._repr_html_()
    assert "Champions" in html and "R5, F4-5" in html and "Days since last order" in html
    assert "Cannot lose" in html
    html = customers.top_customers(shop)._repr_html_()
    assert "The top 20 customers by revenue" in html


def test_without_ids_shows_aggregates_only(shop):
    """What a report shows: the headline and the Pareto curve, no customer's row or id."""
    top = customers.top_customers(shop, 20)
    ids = nw.from_native(top.table, eager_only=True)["customer_id"].to_list()
    assert all(i in top._repr_html_() for i in ids)
    plain = top.without_ids()
    html = plain._repr_html_()
    assert not any(i in html for i in ids)
    assert "Share of registered customers" in html
    assert plain.headline == top.headline and repr(plain) == repr(top)
    assert [s.title for s in plain.sections()] == [top.sections()[1].title]


# --------------------------------------------------------------------- real data


@pytest.mark.real
def test_pareto_on_real_retail_data_matches_pandas(retail, retail_shop):
    shop = retail_shop
    res = customers.top_customers(shop, n=10)

    # Independent: revenue per customer straight from the raw rows.
    known = retail[retail["CustomerID"].notna()]
    per = (known["Quantity"] * known["UnitPrice"]).groupby(known["CustomerID"]).sum()
    per = per.sort_values(ascending=False)
    k = math.ceil(0.1 * len(per))
    assert res.customers == len(per)
    point = res.top_share(0.10)
    assert point["customers"] == k
    assert point["revenue_share"] == pytest.approx(per.head(k).sum() / per.sum(), rel=1e-9)
    assert res.table["revenue"].to_list() == pytest.approx(per.head(10).tolist(), rel=1e-9)
    everything = (retail["Quantity"] * retail["UnitPrice"]).sum()
    assert res.revenue == pytest.approx(everything, rel=1e-9)
    segments = customers.rfm(shop)
    assert segments.customers == len(per)
    assert segments.table["revenue"].sum() == pytest.approx(per.sum(), rel=1e-9)
