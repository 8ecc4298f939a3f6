import altair as alt
import narwhals.stable.v2 as nw
import pytest

from aovlab import charts, metrics, widgets


@pytest.mark.parametrize(
    "by", [None, "month", "device", ["month", "device"], ["device", "channel"]]
)
def test_charts_use_only_the_result_table(shop, by):
    res = metrics.kpis(shop, by=by)
    chart = res.chart()
    assert isinstance(chart, alt.Chart)
    data = nw.from_native(chart.data)
    assert len(data) <= 3 * len(nw.from_native(res.table))  # aggregates, never orders
    spec = chart.to_dict()
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_theme_is_registered_and_enabled():
    assert alt.theme.active == charts.THEME


def test_customer_chart(shop):
    assert isinstance(metrics.customer_kpis(shop, by="loyalty_member").chart(), alt.Chart)


def test_result_html_escapes_client_text(shop):
    import polars as pl

    orders = pl.DataFrame(
        {
            "order_id": ["1"],
            "ordered_at": ["2026-10-01"],
            "total": [5.0],
            "channel": ["<img src=x onerror=alert(1)>"],
        }
    )
    res = metrics.kpis(metrics.ShopData.from_frames(orders), by="channel")
    html = res._repr_html_()
    assert "<img" not in html and "&lt;img" in html


def test_static_widgets_render_with_defaults(shop, monkeypatch):
    seen = []
    monkeypatch.setattr(widgets, "show", lambda *items: seen.extend(items))
    widgets.kpi_explorer(shop, interactive=False)
    assert seen[0].keys == ["month"] and seen[0].basis == "net"
    seen.clear()
    widgets.dimension_explorer(shop, interactive=False, when="2026-10")
    assert seen[0].keys == [shop.dimensions[0]]


def test_explore_defaults():
    calls = []
    widgets.explore(
        lambda a, b, c: calls.append((a, b, c)), False, a=["x", "y"], b=[("label", 3)], c=7
    )
    assert calls == [("x", 3, 7)]


def test_setup_switches_renderer():
    widgets.setup(False)
    assert alt.renderers.active == "svg"
    widgets.setup(True)
    assert alt.renderers.active == widgets.OFFLINE_RENDERER


# --------------------------------------------------------------------- drivers


def _datasets(chart) -> list:
    parts = [chart, *(getattr(chart, "layer", None) or [])]
    return [nw.from_native(p.data) for p in parts if p.data is not alt.Undefined]


@pytest.fixture(scope="module")
def driver_results(shop):
    from aovlab import drivers

    return (
        drivers.decompose(shop, "2026-08", by="device"),
        drivers.contributors(shop, "2026-08"),
        drivers.trend(shop),
    )


def test_driver_charts_are_built_from_aggregates(driver_results):
    import vl_convert as vlc

    decomposition, contrib, trend = driver_results
    charts_ = [
        decomposition.chart(),
        decomposition.chart("upt_aur"),
        decomposition.chart("revenue"),
        decomposition.segment_table().chart(),
        contrib.chart(),
        contrib.chart("products"),
        trend.chart(),
    ]
    for chart in charts_:
        spec = chart.to_dict()
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        assert all(len(d) <= 100 for d in _datasets(chart))  # never raw orders
    svg = vlc.vegalite_to_svg(decomposition.chart().to_json())
    assert "mix" in svg and "2026-07" in svg and "2026-08" in svg


def test_waterfall_steps_add_up(driver_results):
    decomposition = driver_results[0]
    steps = _datasets(decomposition.chart())[0]
    labels = steps["step"].to_list()
    assert labels == ["2026-07", "mix", "rate", "2026-08"]
    moves = steps.filter(nw.col("kind") != "total")
    # The floating bars step from the baseline AOV to the current one, in the rounded
    # figures the labels show: 119.50 - 13.14 + 8.29 = 114.65.
    assert moves["high"].to_list() == pytest.approx([119.50, 114.65], abs=1e-9)
    assert moves["low"].to_list() == pytest.approx([106.36, 106.36], abs=1e-9)


def test_driver_html_escapes_client_text():
    import polars as pl

    from aovlab import ShopData, drivers

    evil = "<script>alert(1)</script>"
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "ordered_at": ["2025-09-01", "2025-10-01", "2025-10-02"],
            "channel": [evil, evil, "web"],
        }
    )
    lines = pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "sku": ["a", "a", "b"],
            "product": [evil, evil, "ok"],
            "category": [evil, evil, "ok"],
            "quantity": [1, 2, 1],
            "unit_price": [10.0, 10.0, 5.0],
        }
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    d = drivers.decompose(shop, "2025-10", by="channel")
    c = drivers.contributors(shop, "2025-10")
    for html in (
        d._repr_html_(),
        d.segment_table()._repr_html_(),
        c._repr_html_(),
        drivers.what_next(d, c)._repr_html_(),
    ):
        assert "<script" not in html


def test_drivers_explorer_renders_the_parameters_statically(shop, monkeypatch):
    seen = []
    monkeypatch.setattr(widgets, "show", lambda *items: seen.extend(items))
    widgets.drivers_explorer(shop, interactive=False, current="2026-08", by="channel")
    assert (seen[0].current, seen[0].baseline, seen[0].by) == ("2026-08", "2026-07", "channel")
