"""Altair chart builders and the one house theme. Charts get aggregates only.

Every builder takes a result and returns an ``alt.Chart`` made from ``result.table``;
none recomputes a figure.

Axes, legends and tooltips write numbers and dates in the current locale
(:mod:`aovlab.locales`): the theme adds Vega's ``config.locale`` (d3's number and time
definitions, built from Babel's data) when the chart is drawn. It travels in the spec
itself, so every way a chart is drawn follows it: the report's SVG (vl-convert), the
live widget in JupyterLab (vega-embed) and a chart saved to HTML. In ``de`` an axis
reads "1.234"; in the default ``en`` the spec carries no locale and is as before.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, cast

import altair as alt
import narwhals.stable.v2 as nw

from aovlab import locales, periods

if TYPE_CHECKING:  # the results import this module lazily; types only
    from aovlab.customers import RfmResult, TopCustomers
    from aovlab.drivers import Contributors, Decomposition, SegmentTable, TrendResult
    from aovlab.metrics import KpiResult
    from aovlab.results import Result
    from aovlab.segments import Breakdown, NewVsReturning, SegmentChange, Targets

THEME = "aovlab"
PALETTE = ["#1f5f8b", "#e07a2e", "#5a9e6f", "#b5443b", "#7d6aa8", "#8c8c8c", "#c9a227", "#3aa6b9"]
FONT = "Liberation Sans, Helvetica, Arial, sans-serif"


def _data(frame: nw.DataFrame[Any]) -> Any:
    """The chart's data, its floats rounded to 6 places.

    A multi-threaded engine may add a sum's terms in any order; rounding keeps those last
    bits out of the rendered SVG, so a rerun of a report gives the same bytes.
    """
    floats = [c for c, t in frame.schema.items() if t in (nw.Float64, nw.Float32)]
    return frame.with_columns(nw.col(*floats).round(6)).to_native() if floats else frame.to_native()


@alt.theme.register(THEME, enable=True)
def theme() -> alt.theme.ThemeConfig:
    """The aovlab house theme: quiet grid, one palette, readable labels, the locale's numbers.

    Altair calls it each time a chart becomes a spec, so the locale is the one current
    when the chart is drawn.
    """
    config: dict[str, Any] = {
        "view": {"continuousWidth": 640, "continuousHeight": 280, "stroke": None},
        "font": FONT,
        "range": {"category": PALETTE},
        "axis": {
            "labelFontSize": 11,
            "titleFontSize": 12,
            "titleFontWeight": "normal",
            "gridColor": "#e6e6e6",
            "domainColor": "#999999",
            "tickColor": "#999999",
        },
        "legend": {
            "labelFontSize": 11,
            "titleFontSize": 12,
            "orient": "top",
            "labelLimit": 320,
        },
        "title": {"fontSize": 14, "anchor": "start", "fontWeight": "bold"},
    }
    tag = locales.current()
    if tag != locales.DEFAULT:
        config["locale"] = copy.deepcopy(locales.vega_locale(tag))
    return cast("alt.theme.ThemeConfig", {"config": config})


def kpi_chart(result: KpiResult) -> alt.Chart:
    """AOV, median and trimmed AOV by the result's first key (a line over periods, else bars).

    With two keys the second one colours the lines (or groups the bars).
    """
    table = nw.from_native(result.table, eager_only=True)
    keys = list(result.keys)
    currency = result.currency or ""
    title = f"AOV ({result.basis} basis, {currency})".strip()
    if not keys:
        long = table.select("aov", "median_order_value", "trimmed_aov").unpivot(
            variable_name="measure", value_name="value"
        )
        return (
            alt.Chart(_data(long), title=title)
            .mark_bar()
            .encode(
                x=alt.X("value:Q", title=currency, axis=alt.Axis(format=",.2f")),
                y=alt.Y("measure:N", title=None, sort=None),
                tooltip=["measure:N", alt.Tooltip("value:Q", format=",.2f")],
            )
        )
    key = keys[0]
    if key in periods.PERIODS:
        if len(keys) == 2 and table[key].n_unique() <= 3:
            # Few periods: one group of bars per segment, so each segment's change shows.
            return (
                alt.Chart(_data(table.select(*keys, "aov", "orders")), title=title)
                .mark_bar()
                .encode(
                    x=alt.X(f"{keys[1]}:N", title=keys[1]),
                    xOffset=alt.XOffset(f"{key}:O"),
                    y=alt.Y("aov:Q", title=f"AOV ({currency})", axis=alt.Axis(format=",.0f")),
                    color=alt.Color(f"{key}:O", title=None),
                    tooltip=[*keys, alt.Tooltip("aov:Q", format=",.2f"), "orders:Q"],
                )
                .properties(width=alt.Step(28))
            )
        if len(keys) == 2:
            return (
                alt.Chart(_data(table.select(*keys, "aov", "orders")), title=title)
                .mark_line(point=True)
                .encode(
                    x=alt.X(f"{key}:O", title=None),
                    y=alt.Y("aov:Q", title=f"AOV ({currency})", axis=alt.Axis(format=",.0f")),
                    color=alt.Color(f"{keys[1]}:N", title=keys[1]),
                    tooltip=[*keys, alt.Tooltip("aov:Q", format=",.2f"), "orders:Q"],
                )
            )
        long = table.select(key, "aov", "median_order_value", "trimmed_aov").unpivot(
            index=key, variable_name="measure", value_name="value"
        )
        return (
            alt.Chart(_data(long), title=title)
            .mark_line(point=True)
            .encode(
                x=alt.X(f"{key}:O", title=None),
                y=alt.Y("value:Q", title=currency, axis=alt.Axis(format=",.0f")),
                color=alt.Color(
                    "measure:N",
                    title=None,
                    sort=["aov", "median_order_value", "trimmed_aov"],
                    legend=alt.Legend(
                        labelExpr="{'aov': 'mean (AOV)', 'median_order_value': 'median', 'trimmed_aov': 'trimmed mean'}[datum.label]"
                    ),
                ),
                tooltip=[key, "measure:N", alt.Tooltip("value:Q", format=",.2f")],
            )
        )
    return bar_chart(result, "aov")


def bar_chart(result: Result, measure: str) -> alt.Chart:
    """One bar per group of the result's keys for ``measure`` (a column of its table)."""
    from aovlab.display import label

    table = nw.from_native(result.table, eager_only=True)
    keys = list(getattr(result, "keys", []))  # the groups a result is split by
    if not keys:
        keys = ["group"]
        table = table.with_columns(nw.lit("all").alias("group"))
    key = keys[0]
    encode: dict[str, Any] = {
        "y": alt.Y(f"{key}:N", title=label(key), sort="-x"),
        "x": alt.X(f"{measure}:Q", title=f"{label(measure)} ({result.currency or ''})"),
        "tooltip": [*keys, alt.Tooltip(f"{measure}:Q", format=",.2f")],
    }
    if len(keys) == 2:
        encode["color"] = alt.Color(f"{keys[1]}:N", title=keys[1])
        encode["yOffset"] = alt.YOffset(f"{keys[1]}:N")
    return alt.Chart(_data(table.select(*keys, measure)), title=measure).mark_bar().encode(**encode)


# --------------------------------------------------------------------------- drivers

_MEASURE_LABELS = (
    "{'aov': 'mean (AOV)', 'median_order_value': 'median', 'trimmed_aov': 'trimmed mean', "
    "'aov_without_outliers': 'AOV without flagged orders'}[datum.label]"
)
UP, DOWN, TOTAL = "#5a9e6f", "#b5443b", "#1f5f8b"


def trend_chart(result: TrendResult) -> alt.LayerChart | alt.FacetChart:
    """Mean, median and trimmed AOV by period; flagged periods ringed, with AOV without them."""
    table = nw.from_native(result.table, eager_only=True)
    key = result.key
    currency = result.currency or ""
    long = table.select(key, "aov", "median_order_value", "trimmed_aov").unpivot(
        index=key, variable_name="measure", value_name="value"
    )
    order = ["aov", "median_order_value", "trimmed_aov", "aov_without_outliers"]
    lines = (
        alt.Chart(_data(long), title=f"AOV, median and trimmed mean by {key} ({currency})")
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{key}:O", title=None),
            y=alt.Y("value:Q", title=currency, axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                "measure:N",
                title=None,
                sort=order,
                scale=alt.Scale(
                    domain=order, range=[PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]]
                ),
                legend=alt.Legend(labelExpr=_MEASURE_LABELS),
            ),
            tooltip=[key, "measure:N", alt.Tooltip("value:Q", format=",.2f")],
        )
    )
    flagged = table.filter(nw.col("flagged")).select(key, "aov", "aov_without_outliers")
    rings = (
        alt.Chart(_data(flagged))
        .mark_point(size=260, strokeWidth=2, color=DOWN)
        .encode(
            x=alt.X(f"{key}:O"),
            y=alt.Y("aov:Q"),
            tooltip=[key, alt.Tooltip("aov:Q", format=",.2f", title="AOV (flagged)")],
        )
    )
    without = (
        alt.Chart(
            _data(
                flagged.select(key, nw.col("aov_without_outliers").alias("value")).with_columns(
                    nw.lit("aov_without_outliers").alias("measure")
                )
            )
        )
        .mark_point(shape="diamond", size=90, filled=True)
        .encode(
            x=alt.X(f"{key}:O"),
            y=alt.Y("value:Q"),
            color=alt.Color("measure:N", sort=order),
            tooltip=[
                key,
                alt.Tooltip("value:Q", format=",.2f", title="AOV without flagged orders"),
            ],
        )
    )
    return alt.layer(lines, rings, without)


_PART_LABELS = {
    "upt": "UPT",
    "aur": "AUR",
    "mix": "mix",
    "rate": "rate",
    "orders": "orders",
    "aov": "AOV",
    "sessions": "sessions",
    "conversion": "conversion",
}


def waterfall(result: Decomposition, split: str) -> alt.LayerChart | alt.FacetChart | alt.Chart:
    """From the baseline figure through each effect of ``split`` to the current figure."""
    from aovlab import fmt

    d = result.to_dict()
    if split == "revenue":
        split = "funnel" if any(e["split"] == "funnel" for e in result.effects()) else "orders_aov"
    rows = [e for e in result.effects() if e["split"] == split]
    if not rows:
        why = {
            "upt_aur": "UPT and AUR need order lines (or a units column).",
            "mix_rate": "The mix/rate split needs a dimension (by=...), and these orders have none.",
            "funnel": "The sessions/conversion split needs a traffic table covering both periods.",
        }
        return message(why.get(split, f"This decomposition has no '{split}' split."))
    measure = "aov" if split in ("upt_aur", "mix_rate") else "revenue"
    start, end = d["baseline"][measure], d["current"][measure]
    currency = result.currency
    steps = [(d["baseline"]["period"], "total", 0.0, start, start)]
    level = start
    for row in rows:
        new = level + row["effect"]
        kind = "increase" if row["effect"] > 0 else "decrease"
        steps.append((_PART_LABELS.get(row["part"], row["part"]), kind, level, new, row["effect"]))
        level = new
    steps.append((d["current"]["period"], "total", 0.0, end, end))
    levels = [s[3] for s in steps] + [s[2] for s in steps[1:-1]]
    lo, hi = min(levels), max(levels)
    pad = (hi - lo) * 0.35 or abs(hi) * 0.05 or 1.0
    floor = max(0.0, lo - pad) if lo >= 0 else lo - pad
    data = [
        {
            "step": label,
            "kind": kind,
            "low": floor if kind == "total" else min(a, b),
            "high": b if kind == "total" else max(a, b),
            "label": fmt.money(
                amount, currency, short=measure == "revenue", signed=kind != "total"
            ),
            "order": i,
        }
        for i, (label, kind, a, b, amount) in enumerate(steps)
    ]
    frame = _data(
        nw.from_dict(
            {k: [row[k] for row in data] for k in data[0]},
            backend=nw.get_native_namespace(nw.from_native(result.table, eager_only=True)),
        )
    )
    title = {
        "upt_aur": "AOV change: items per order (UPT) and price per item (AUR)",
        "mix_rate": f"AOV change: where orders came from (mix) and what each {result.by} "
        "spends (rate)",
        "orders_aov": "Revenue change: orders and AOV",
        "funnel": "Revenue change: sessions, conversion and AOV",
    }[split]
    order = [row["step"] for row in data]
    base = alt.Chart(frame, title=title).encode(
        x=alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelLimit=160))
    )
    bars = base.mark_bar(size=46).encode(
        y=alt.Y(
            "low:Q",
            title=f"{measure.upper() if measure == 'aov' else measure} ({currency or ''})",
            scale=alt.Scale(zero=False, domain=[floor, hi + pad * 0.4]),
            axis=alt.Axis(format=",.0f"),
        ),
        y2="high:Q",
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=["total", "increase", "decrease"], range=[TOTAL, UP, DOWN]),
            legend=None,
        ),
        tooltip=["step:N", "label:N"],
    )
    labels = base.mark_text(dy=-8, fontSize=12).encode(y="high:Q", text="label:N")
    return alt.layer(bars, labels).properties(width=alt.Step(120))


def segment_chart(result: SegmentTable) -> alt.Chart:
    """Mix and rate contribution of each segment (the largest 20 by contribution)."""
    table = nw.from_native(result.table, eager_only=True)
    by = result.by
    if len(table) == 0:
        return message(result.headline or "No segments to show.")
    top = (
        table.with_columns(nw.col("contribution").abs().alias("__size"))
        .sort("__size", descending=True)
        .head(20)
    )
    long = top.select(by, "mix", "rate").unpivot(
        index=by, variable_name="part", value_name="effect"
    )
    currency = result.currency or ""
    return (
        alt.Chart(_data(long), title=f"Each {by}'s part in the AOV change")
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=None, sort=top[by].to_list()),
            yOffset=alt.YOffset("part:N"),
            x=alt.X("effect:Q", title=f"effect on AOV ({currency})", axis=alt.Axis(format=",.2f")),
            color=alt.Color(
                "part:N",
                title=None,
                scale=alt.Scale(domain=["mix", "rate"], range=[PALETTE[1], PALETTE[0]]),
                legend=alt.Legend(
                    labelExpr="{'mix': 'mix (share of orders)', 'rate': 'rate (AOV within)'}[datum.label]"
                ),
            ),
            tooltip=[by, "part:N", alt.Tooltip("effect:Q", format=",.2f")],
        )
        .properties(height=alt.Step(14))
    )


def contributors_chart(result: Contributors, what: str = "categories") -> alt.Chart:
    """Change in revenue per order by category (or product), split into volume and price."""
    if what == "products":
        if result.products is None:
            return message("Products need order lines; this export has none.")
        frame = nw.from_native(result.products, eager_only=True)
        frame = frame.with_columns(nw.col("product").alias("name"))
    else:
        frame = nw.from_native(result.table, eager_only=True)
        frame = frame.with_columns(nw.col("category").alias("name"))
    frame = frame.with_columns(
        nw.when(nw.col("volume").is_null()).then(nw.col("change")).otherwise(0.0).alias("other"),
        nw.col("volume").fill_null(0.0),
        nw.col("price").fill_null(0.0),
    )
    order = frame.sort("change", descending=True)["name"].to_list()
    long = frame.select("name", "volume", "price", "other").unpivot(
        index="name", variable_name="part", value_name="effect"
    )
    currency = result.currency or ""
    title = (
        f"Revenue per order by {'product' if what == 'products' else 'category'}, "
        f"{result.baseline} to {result.current}"
    )
    return (
        alt.Chart(_data(long), title=title)
        .mark_bar()
        .encode(
            y=alt.Y("name:N", title=None, sort=order),
            x=alt.X(
                "effect:Q", title=f"change per order ({currency})", axis=alt.Axis(format=",.2f")
            ),
            color=alt.Color(
                "part:N",
                title=None,
                scale=alt.Scale(
                    domain=["volume", "price", "other"], range=[PALETTE[0], PALETTE[1], PALETTE[5]]
                ),
                legend=alt.Legend(
                    labelExpr="{'volume': 'volume (units per order)', 'price': 'price (per unit)', "
                    "'other': 'discounts and other'}[datum.label]"
                ),
            ),
            tooltip=["name:N", "part:N", alt.Tooltip("effect:Q", format=",.2f")],
        )
        .properties(height=alt.Step(18))
    )


# --------------------------------------------------------------------------- segments


def _money_axis(currency: str | None) -> alt.Axis:
    return alt.Axis(format=",.0f", title=f"AOV ({currency or ''})")


def segment_aov_chart(result: Breakdown) -> alt.LayerChart:
    """Each segment's AOV with its interval as a whisker, and the overall AOV as a line."""
    from aovlab.display import label

    table = nw.from_native(result.table, eager_only=True)
    by = result.by[0]
    data = _data(table.select(by, "orders", "share", "aov", "aov_ci_low", "aov_ci_high"))
    order = table[by].to_list()
    y = alt.Y(f"{by}:N", title=label(by), sort=order)
    tooltip = [
        alt.Tooltip(f"{by}:N", title=label(by)),
        alt.Tooltip("orders:Q", format=","),
        alt.Tooltip("share:Q", format=".1%", title="share of orders"),
        alt.Tooltip("aov:Q", format=",.2f", title="AOV"),
        alt.Tooltip("aov_ci_low:Q", format=",.2f", title="interval from"),
        alt.Tooltip("aov_ci_high:Q", format=",.2f", title="interval to"),
    ]
    base = alt.Chart(data, title=f"AOV by {label(by).lower()}, with its interval")
    whisker = base.mark_rule(color=PALETTE[0], strokeWidth=2).encode(
        y=y, x=alt.X("aov_ci_low:Q", axis=_money_axis(result.currency)), x2="aov_ci_high:Q"
    )
    point = base.mark_point(filled=True, size=70, color=PALETTE[0]).encode(
        y=y, x="aov:Q", tooltip=tooltip
    )
    overall = (
        alt.Chart(
            _data(
                nw.from_dict(
                    {"aov": [result.overall["aov"]]}, backend=nw.get_native_namespace(table)
                )
            )
        )
        .mark_rule(color=PALETTE[1], strokeDash=[4, 3])
        .encode(x="aov:Q", tooltip=[alt.Tooltip("aov:Q", format=",.2f", title="overall AOV")])
    )
    return (whisker + point + overall).properties(height=alt.Step(22))


def heatmap(result: Breakdown) -> alt.LayerChart | alt.Chart:
    """AOV index for each pair of segments (small cells merged into Other are left out)."""
    from aovlab.display import label

    table = nw.from_native(result.table, eager_only=True)
    a, b = result.by
    # The merged small cells have no place on the grid.
    merged = nw.col(a).str.starts_with("Other (") & (nw.col(a) == nw.col(b))
    cells = table.filter(~merged).select(a, b, "orders", "aov", "aov_index")
    if len(cells) == 0:
        return message(
            f"Every pair of {label(a).lower()} and {label(b).lower()} has fewer than "
            f"{result.min_orders} orders: nothing to map."
        )
    base = alt.Chart(
        _data(cells), title=f"AOV index by {label(a).lower()} and {label(b).lower()} (100 = all)"
    ).encode(
        x=alt.X(f"{b}:O", title=label(b), axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y(f"{a}:N", title=label(a)),
        tooltip=[
            alt.Tooltip(f"{a}:N", title=label(a)),
            alt.Tooltip(f"{b}:O", title=label(b)),
            alt.Tooltip("orders:Q", format=","),
            alt.Tooltip("aov:Q", format=",.2f", title="AOV"),
            alt.Tooltip("aov_index:Q", format=".0f", title="AOV index"),
        ],
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "aov_index:Q",
            title="AOV index",
            scale=alt.Scale(scheme="blueorange", domainMid=100),
        )
    )
    text = base.mark_text(fontSize=11).encode(text=alt.Text("aov_index:Q", format=".0f"))
    return (rect + text).properties(width=alt.Step(64), height=alt.Step(30))


def segment_change_chart(result: SegmentChange) -> alt.Chart:
    """Each segment's AOV in the baseline and the current period."""
    from aovlab.display import label

    table = nw.from_native(result.table, eager_only=True)
    by = result.by
    long = table.select(by, "baseline_aov", "current_aov").unpivot(
        index=by, variable_name="period", value_name="aov"
    )
    long = long.with_columns(
        nw.when(nw.col("period") == "baseline_aov")
        .then(nw.lit(result.baseline))
        .otherwise(nw.lit(result.current))
        .alias("period")
    )
    return (
        alt.Chart(
            _data(long), title=f"AOV by {label(by).lower()}: {result.baseline} and {result.current}"
        )
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=label(by), sort=table[by].to_list()),
            yOffset=alt.YOffset("period:N", sort=[result.baseline, result.current]),
            x=alt.X("aov:Q", axis=_money_axis(result.currency)),
            color=alt.Color(
                "period:N",
                title=None,
                scale=alt.Scale(
                    domain=[result.baseline, result.current], range=[PALETTE[5], PALETTE[0]]
                ),
            ),
            tooltip=[by, "period:N", alt.Tooltip("aov:Q", format=",.2f", title="AOV")],
        )
        .properties(height=alt.Step(12))
    )


def new_vs_returning_chart(result: NewVsReturning) -> alt.VConcatChart:
    """AOV of new, returning and guest orders by period, above their share of orders."""
    table = nw.from_native(result.table, eager_only=True)
    period = result.period
    data = _data(table.select(period, "customer_type", "orders", "share", "aov"))
    color = alt.Color(
        "customer_type:N",
        title=None,
        scale=alt.Scale(domain=["new", "returning", "guest"], range=PALETTE[:3]),
    )
    x = alt.X(f"{period}:O", title=None)
    aov = (
        alt.Chart(data, title="AOV of new, returning and guest orders")
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("aov:Q", axis=_money_axis(result.currency), scale=alt.Scale(zero=False)),
            color=color,
            tooltip=[period, "customer_type:N", alt.Tooltip("aov:Q", format=",.2f")],
        )
        .properties(height=220)
    )
    share = (
        alt.Chart(data, title="Share of orders")
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("share:Q", stack="normalize", axis=alt.Axis(format="%"), title=None),
            color=color,
            tooltip=[period, "customer_type:N", alt.Tooltip("share:Q", format=".1%"), "orders:Q"],
        )
        .properties(height=120)
    )
    return alt.vconcat(aov, share)


def targets_chart(result: Targets) -> alt.LayerChart:
    """Each segment's AOV and its target, with the single shop-wide target as a line."""
    from aovlab.display import label

    table = nw.from_native(result.table, eager_only=True)
    by = result.by
    long = table.select(by, "aov", "target_aov").unpivot(
        index=by, variable_name="what", value_name="value"
    )
    bars = (
        alt.Chart(_data(long), title=f"AOV and target by {label(by).lower()}")
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=label(by), sort=table[by].to_list()),
            yOffset=alt.YOffset("what:N", sort=["aov", "target_aov"]),
            x=alt.X("value:Q", axis=_money_axis(result.currency)),
            color=alt.Color(
                "what:N",
                title=None,
                scale=alt.Scale(domain=["aov", "target_aov"], range=[PALETTE[0], PALETTE[2]]),
                legend=alt.Legend(
                    labelExpr="{'aov': 'AOV now', 'target_aov': 'its own target'}[datum.label]"
                ),
            ),
            tooltip=[by, "what:N", alt.Tooltip("value:Q", format=",.2f")],
        )
        .properties(height=alt.Step(12))
    )
    line = (
        alt.Chart(
            _data(
                nw.from_dict(
                    {"target": [result.shop_wide_target]}, backend=nw.get_native_namespace(table)
                )
            )
        )
        .mark_rule(color=PALETTE[1], strokeDash=[4, 3])
        .encode(
            x="target:Q", tooltip=[alt.Tooltip("target:Q", format=",.2f", title="shop-wide target")]
        )
    )
    return bars + line


# --------------------------------------------------------------------------- customers


def rfm_grid(result: RfmResult) -> alt.LayerChart | alt.FacetChart | alt.Chart:
    """The RFM grid: F across, R up; cells shaded by their share of customers, segments named.

    Each named segment is outlined over the cells it covers and labelled with its share
    of customers and of revenue. Built from the result's 25 cells and 11 segment rows.
    """
    from aovlab.customers import RFM_SEGMENTS

    if not result.customers:
        return message(result.headline)
    backend = nw.get_native_namespace(nw.from_native(result.grid, eager_only=True))
    cells = nw.from_native(result.grid, eager_only=True).select(
        "r_score", "f_score", "segment", "customers", "customer_share", "revenue_share"
    )
    cells = cells.with_columns(
        (nw.col("f_score") - 0.5).alias("x"),
        (nw.col("f_score") + 0.5).alias("x2"),
        (nw.col("r_score") - 0.5).alias("y"),
        (nw.col("r_score") + 0.5).alias("y2"),
    )
    spans = nw.from_dict(
        {
            "segment": [s.name for s in RFM_SEGMENTS],
            "name": [s.label for s in RFM_SEGMENTS],
            "rule": [s.rule for s in RFM_SEGMENTS],
            "x": [s.f[0] - 0.5 for s in RFM_SEGMENTS],
            "x2": [s.f[1] + 0.5 for s in RFM_SEGMENTS],
            "y": [s.r[0] - 0.5 for s in RFM_SEGMENTS],
            "y2": [s.r[1] + 0.5 for s in RFM_SEGMENTS],
        },
        backend=backend,
    )
    segments = (
        nw.from_native(result.table, eager_only=True)
        .select("segment", "customers", "customer_share", "revenue_share")
        .join(spans, on="segment", how="left")
        .with_columns(
            ((nw.col("x") + nw.col("x2")) / 2).alias("cx"),
            ((nw.col("y") + nw.col("y2")) / 2).alias("cy"),
        )
    )
    axis = alt.Axis(values=[1, 2, 3, 4, 5], format="d", grid=False)
    x = alt.X(
        "x:Q",
        title="F: frequency score (5 = most orders)",
        scale=alt.Scale(domain=[0.5, 5.5]),
        axis=axis,
    )
    y = alt.Y(
        "y:Q",
        title="R: recency score (5 = most recent)",
        scale=alt.Scale(domain=[0.5, 5.5]),
        axis=axis,
    )
    title = f"Customers by RFM segment on {result.as_of}"
    shade = (
        alt.Chart(_data(cells), title=title)
        .mark_rect()
        .encode(
            x=x,
            x2="x2:Q",
            y=y,
            y2="y2:Q",
            color=alt.Color(
                "customer_share:Q",
                title="share of customers",
                # Light to mid blue, so the segment names stay readable on every cell.
                scale=alt.Scale(range=["#f4f7fb", "#6f9fc8"]),
                legend=alt.Legend(format=".0%"),
            ),
            tooltip=[
                alt.Tooltip("r_score:Q", title="R"),
                alt.Tooltip("f_score:Q", title="F"),
                "segment:N",
                alt.Tooltip("customers:Q", format=","),
                alt.Tooltip("customer_share:Q", format=".1%"),
                alt.Tooltip("revenue_share:Q", format=".1%"),
            ],
        )
    )
    base = alt.Chart(_data(segments))
    outline = base.mark_rect(fill=None, stroke="white", strokeWidth=3).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q"
    )
    names = base.mark_text(dy=-12, fontSize=12, fontWeight="bold", color="#222222").encode(
        x=alt.X("cx:Q"), y=alt.Y("cy:Q"), text="name:N"
    )
    shares = base.transform_calculate(
        customers_text="format(datum.customer_share, '.1%') + ' of customers'",
        revenue_text="format(datum.revenue_share, '.1%') + ' of revenue'",
    )
    figures = [
        shares.mark_text(dy=dy, fontSize=10, color="#222222").encode(
            x=alt.X("cx:Q"), y=alt.Y("cy:Q"), text=f"{field}:N"
        )
        for dy, field in ((3, "customers_text"), (16, "revenue_text"))
    ]
    return alt.layer(shade, outline, names, *figures).properties(width=600, height=400)


def pareto_chart(result: TopCustomers) -> alt.LayerChart | alt.FacetChart | alt.Chart:
    """The Pareto curve: the top x % of customers against their share of revenue.

    The diagonal is what equal customers would give; the top 10 % is marked.
    """
    from aovlab import fmt
    from aovlab.customers import PARETO_MARK

    if not result.customers:
        return message(result.headline)
    curve = nw.from_native(result.pareto, eager_only=True).select(
        "top_pct", "customers", "customer_share", "revenue_share"
    )
    backend = nw.get_native_namespace(curve)
    start = nw.from_dict(
        {"top_pct": [0.0], "customers": [0], "customer_share": [0.0], "revenue_share": [0.0]},
        schema=curve.schema,
        backend=backend,
    )
    curve = nw.concat([start, curve])
    mark = result.top_share(PARETO_MARK)
    point = nw.from_dict(
        {
            "customer_share": [mark["customer_share"]],
            "revenue_share": [mark["revenue_share"]],
            "label": [
                f"top {fmt.pct(PARETO_MARK, digits=0)}: {fmt.pct(mark['revenue_share'])} of revenue"
            ],
        },
        backend=backend,
    )
    diagonal = nw.from_dict(
        {"customer_share": [0.0, 1.0], "revenue_share": [0.0, 1.0]}, backend=backend
    )
    x = alt.X(
        "customer_share:Q",
        title="share of customers (largest first)",
        axis=alt.Axis(format="%"),
        scale=alt.Scale(domain=[0, 1]),
    )
    y = alt.Y(
        "revenue_share:Q",
        title="share of their revenue",
        axis=alt.Axis(format="%"),
        scale=alt.Scale(domain=[0, 1]),
    )
    title = f"Share of revenue by the top customers ({fmt.count(result.customers)} registered)"
    line = (
        alt.Chart(_data(curve), title=title)
        .mark_line(color=PALETTE[0], strokeWidth=2)
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("top_pct:Q", format=".0%", title="top"),
                alt.Tooltip("customers:Q", format=","),
                alt.Tooltip("revenue_share:Q", format=".1%", title="share of revenue"),
            ],
        )
    )
    equal = (
        alt.Chart(_data(diagonal))
        .mark_line(color=PALETTE[5], strokeDash=[4, 4])
        .encode(x="customer_share:Q", y="revenue_share:Q")
    )
    dot = alt.Chart(_data(point)).mark_point(size=90, filled=True, color=PALETTE[1])
    dot = dot.encode(x="customer_share:Q", y="revenue_share:Q")
    text = (
        alt.Chart(_data(point))
        .mark_text(align="left", dx=8, dy=10, fontSize=12)
        .encode(x="customer_share:Q", y="revenue_share:Q", text="label:N")
    )
    return alt.layer(equal, line, dot, text).properties(width=480, height=360)


def message(text: str) -> alt.Chart:
    """A chart that says, in words, why there is nothing to draw (notebooks never break)."""
    import pandas as pd

    return (
        alt.Chart(pd.DataFrame({"text": [text]}))
        .mark_text(align="left", fontSize=13, color="#666666")
        .encode(text="text:N")
        .properties(width=640, height=40)
    )


def monthly_aov(rows: list[dict[str, Any]], currency: str | None) -> alt.Chart:
    """AOV and median order value by month from monthly figures (the report index's chart).

    ``rows`` are plain dicts with ``month``, ``aov`` and ``median_order_value`` (a
    summary's trend): aggregates only, months without a figure left out.

    >>> chart = monthly_aov([{"month": "2026-10", "aov": 120.92, "median_order_value": 72.9}], "EUR")
    >>> [v["measure"] for v in chart.to_dict()["data"]["values"]]
    ['AOV', 'Median order value']
    """
    measures = (("aov", "AOV"), ("median_order_value", "Median order value"))
    values = [
        {"month": r["month"], "measure": name, "value": round(float(r[key]), 2)}
        for r in rows
        for key, name in measures
        if r.get(key) is not None
    ]
    return (
        alt.Chart(alt.Data(values=values), title=f"AOV and median by month ({currency or ''})")
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("value:Q", title=currency or None, axis=alt.Axis(format=",.0f")),
            color=alt.Color("measure:N", title=None, sort=[name for _, name in measures]),
        )
        .properties(width=560, height=200)
    )
