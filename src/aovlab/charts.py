"""Altair chart builders and the one house theme. Charts get aggregates only.

Every builder takes a result and returns an ``alt.Chart`` made from ``result.table``;
none recomputes a figure.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import narwhals.stable.v2 as nw

from aovlab import periods

THEME = "aovlab"
PALETTE = ["#1f5f8b", "#e07a2e", "#5a9e6f", "#b5443b", "#7d6aa8", "#8c8c8c", "#c9a227", "#3aa6b9"]
FONT = "Liberation Sans, Helvetica, Arial, sans-serif"


@alt.theme.register(THEME, enable=True)
def theme() -> alt.theme.ThemeConfig:
    """The aovlab house theme: quiet grid, one palette, readable labels."""
    return {
        "config": {
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
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "top"},
            "title": {"fontSize": 14, "anchor": "start", "fontWeight": "bold"},
        }
    }


def kpi_chart(result: Any) -> alt.Chart:
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
            alt.Chart(long.to_native(), title=title)
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
                alt.Chart(table.select(*keys, "aov", "orders").to_native(), title=title)
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
                alt.Chart(table.select(*keys, "aov", "orders").to_native(), title=title)
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
            alt.Chart(long.to_native(), title=title)
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


def bar_chart(result: Any, measure: str) -> alt.Chart:
    """One bar per group of the result's keys for ``measure`` (a column of its table)."""
    table = nw.from_native(result.table, eager_only=True)
    keys = list(result.keys)
    if not keys:
        keys = ["group"]
        table = table.with_columns(nw.lit("all").alias("group"))
    key = keys[0]
    encode: dict[str, Any] = {
        "y": alt.Y(f"{key}:N", title=key, sort="-x"),
        "x": alt.X(f"{measure}:Q", title=f"{measure} ({result.currency or ''})"),
        "tooltip": [*keys, alt.Tooltip(f"{measure}:Q", format=",.2f")],
    }
    if len(keys) == 2:
        encode["color"] = alt.Color(f"{keys[1]}:N", title=keys[1])
        encode["yOffset"] = alt.YOffset(f"{keys[1]}:N")
    return (
        alt.Chart(table.select(*keys, measure).to_native(), title=measure)
        .mark_bar()
        .encode(**encode)
    )
