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
from aovlab.errors import AovlabInputError
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


def drivers_explorer(
    shop: ShopData,
    interactive: bool,
    *,
    current: str,
    baseline: str | None = None,
    by: str | None = None,
) -> None:
    """Why AOV moved between two chosen months, split by a chosen dimension.

    The controls start at the notebook's parameters: ``current``, ``baseline`` (the
    month before when None) and ``by``.
    """
    from aovlab import dimensions, drivers, periods

    months = _months(shop)
    current_label = periods.parse_window(current).label
    first = [current_label] if current_label not in months else []
    current_options = first + sorted(months, key=lambda m: m != current_label)
    baseline_options = [("the period before", None), *((m, m) for m in months)]
    if baseline is not None:
        baseline_options.insert(0, (baseline, baseline))
    dims = dimensions.available(shop)
    dims = ([by] if by in dims else []) + [d for d in dims if d != by]

    def render(current: str, baseline: str | None, dimension: str) -> None:
        try:
            result = drivers.decompose(shop, current, baseline, by=dimension)
        except AovlabInputError as exc:  # a bad pick in the controls: say why, keep going
            print(f"aovlab: {exc}")
            return
        show(result, result.chart(), result.segment_table())

    explore(
        render,
        interactive,
        current=current_options,
        baseline=baseline_options,
        dimension=dims,
    )


def _months(shop: ShopData) -> list[str]:
    """The calendar months with counted orders, latest first."""
    import narwhals.stable.v2 as nw

    from aovlab import periods
    from aovlab.model import is_counted

    frame = nw.from_native(shop.orders, eager_only=True).filter(is_counted())
    labels = frame.select(periods.label("ordered_at", "month").alias("m"))["m"].unique()
    return sorted((str(m) for m in labels.to_list()), reverse=True)
