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
    assert alt.renderers.active == "default"
