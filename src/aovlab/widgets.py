"""Interactive controls that step aside when a notebook runs headless.

The kernel cannot tell that papermill runs it, so notebooks carry an explicit
``interactive`` parameter (the report passes ``False``). With ``interactive=True`` the
controls are ipywidgets; with ``False`` the same render function runs once with the
default of every control, so the output is static and lands in the HTML report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import altair as alt

from aovlab import charts, metrics
from aovlab.model import ShopData


def setup(interactive: bool) -> None:
    """Prepare a notebook: the house chart theme and a renderer fit for where it runs.

    ``interactive=True`` keeps Altair's default renderer (tooltips in JupyterLab);
    ``interactive=False`` renders charts to inline SVG with vl-convert, which opens with
    no network and is byte-for-byte deterministic.
    """
    alt.theme.enable(charts.THEME)
    alt.renderers.enable("default" if interactive else "svg")


def _default(control: Any) -> Any:
    if isinstance(control, Sequence) and not isinstance(control, str):
        first = control[0]
        return first[1] if isinstance(first, tuple) else first
    if hasattr(control, "value"):
        return control.value
    return control


def explore(render: Callable[..., Any], interactive: bool, **controls: Any) -> None:
    """Show ``render(**values)`` under ipywidgets controls, or once with the defaults.

    A control is a list of options (the first is the default), a list of
    ``(label, value)`` pairs, an ipywidgets widget, or a fixed value.
    """
    if interactive:
        from ipywidgets import interact

        interact(render, **controls)
        return
    render(**{name: _default(control) for name, control in controls.items()})


def show(*items: Any) -> None:
    """Display results and charts one after another (works inside and outside widgets)."""
    from IPython.display import display

    for item in items:
        display(item)


def kpi_explorer(shop: ShopData, interactive: bool, *, when: str | None = None) -> None:
    """KPIs by a chosen period and revenue basis, with the table, headline and chart."""

    def render(period: str, basis: str) -> None:
        result = metrics.kpis(shop, by=period, basis=basis, when=when)
        show(result, result.chart())

    explore(
        render,
        interactive,
        period=["month", "week", "quarter", "day"],
        basis=list(metrics.BASES),
    )


def dimension_explorer(shop: ShopData, interactive: bool, *, when: str | None = None) -> None:
    """KPIs split by a chosen order dimension (channel, device, country, ...)."""
    dims = [d for d in shop.dimensions if d not in ("ab_arm",)]

    def render(dimension: str, basis: str) -> None:
        result = metrics.kpis(shop, by=dimension, basis=basis, when=when)
        show(result, result.chart())

    explore(render, interactive, dimension=dims, basis=list(metrics.BASES))
