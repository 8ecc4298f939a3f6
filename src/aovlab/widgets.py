"""Interactive controls that step aside when a notebook runs headless.

The kernel cannot tell that papermill runs it, so notebooks carry an explicit
``interactive`` parameter (the report passes ``False``). With ``interactive=True`` the
controls are ipywidgets; with ``False`` the same render function runs once with the
default of every control, so the output is static and lands in the HTML report.
``setup`` also picks how every displayed chart is drawn; neither way needs the network.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import altair as alt
import anywidget
import narwhals.stable.v2 as nw
import traitlets

from aovlab import charts, locales, metrics
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collected


def setup(interactive: bool, locale: str | None = None) -> None:
    """Prepare a notebook: the house chart theme and a renderer fit for where it runs.

    ``locale`` (``de``, ``sv``, ``en-GB``, ...; ``None``: ``en``) is the one every figure
    of the notebook is written in: headlines, tables and chart axes (see
    :mod:`aovlab.locales`). It is set for the whole kernel, so it lasts from cell to cell.

    Every Altair chart a cell displays goes through the renderer chosen here, so every
    notebook and every analysis gets it by calling ``setup`` once. Neither choice needs
    the network:

    - ``interactive=True``: the chart is a live widget (tooltips, redrawn inside
      ``interact`` outputs) drawn by vega from vl-convert's bundle, with a static SVG next
      to it for viewers without a widget manager (GitHub, nbviewer); see ``OfflineChart``.
    - ``interactive=False``: inline SVG from vl-convert, byte-for-byte deterministic
      (the report).
    """
    locales.set_locale(locale)
    alt.theme.enable(charts.THEME)
    if interactive:
        alt.renderers.register(OFFLINE_RENDERER, offline_renderer)
        alt.renderers.enable(OFFLINE_RENDERER)
    else:
        alt.renderers.enable("svg")


OFFLINE_RENDERER = "aovlab-offline"

# Both widgets find the chart module through one global promise on the page.
_SLOT_JS = """
function slot() {
  return (globalThis.__aovlabJupyterChart ??= (() => {
    let resolve;
    const promise = new Promise((r) => (resolve = r));
    return { promise, resolve, loading: false };
  })());
}
"""

# The ESM of the one loader widget per kernel: it imports Altair's JupyterChart module,
# bundled by vl-convert with vega, vega-lite and vega-embed (about 900 KB, no URL in it),
# once per page and hands it to every chart through a global promise.
_LOADER_ESM = (
    _SLOT_JS
    + """
export default {
  async initialize({ model }) {
    const s = slot();
    if (s.loading) return;
    s.loading = true;
    const url = URL.createObjectURL(new Blob([model.get("bundle")], { type: "text/javascript" }));
    try {
      s.resolve((await import(url)).default);
    } finally {
      URL.revokeObjectURL(url);
    }
  },
};
"""
)

# The ESM of each chart: wait for the module the loader brought, then let Altair's own
# JupyterChart code draw the chart.
_CHART_ESM = (
    _SLOT_JS
    + """
export default {
  async render({ model, el }) {
    const timeout = new Promise((r) => setTimeout(r, 60000));
    const chart = await Promise.race([slot().promise, timeout]);
    if (!chart) {
      el.textContent = "aovlab: the chart code did not load; run the notebook's setup cell again.";
      return;
    }
    return chart.render({ model, el });
  },
};
"""
)


class _ChartBundle(anywidget.AnyWidget):
    """Carries the offline chart module to the page; one per kernel, never displayed."""

    _esm = _LOADER_ESM
    bundle = traitlets.Unicode().tag(sync=True)


class OfflineChart(alt.JupyterChart):
    """``alt.JupyterChart`` whose vega code comes from the kernel's one ``_ChartBundle``.

    ``alt.JupyterChart.enable_offline()`` inlines the vega bundle into every chart's
    widget state: 900 KB per chart in the page and in a notebook saved with its widget
    state. Here each chart carries only its spec and a small loader.
    """

    _esm = _CHART_ESM


_bundle: _ChartBundle | None = None
#: The charts drawn by the ``explore`` renders in progress (see ``_closing_previous``).
_drawing: list[list[OfflineChart]] = []


def _ensure_bundle() -> None:
    """Open the kernel's ``_ChartBundle`` (again, if it was closed)."""
    global _bundle
    if _bundle is None or _bundle.comm is None:
        # Altair's own bundling through vl-convert; plain alt.JupyterChart is offline too.
        alt.JupyterChart.enable_offline()
        _bundle = _ChartBundle(bundle=alt.JupyterChart._esm)


def offline_renderer(
    spec: dict[str, Any], **metadata: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Altair renderer: an ``OfflineChart`` widget, with the chart as SVG beside it.

    JupyterLab shows the widget; a viewer with no widget manager (GitHub, nbviewer,
    nbconvert) falls back to the ``image/svg+xml`` output of the same bundle.
    """
    from altair.utils.mimebundle import spec_to_mimebundle

    _ensure_bundle()
    chart = OfflineChart(
        chart=alt.Chart.from_dict(spec), embed_options=metadata.get("embed_options")
    )
    for drawn in _drawing:
        drawn.append(chart)
    data, meta = chart._repr_mimebundle_() or ({}, {})
    data = {**data, **spec_to_mimebundle(spec, format="svg", mode="vega-lite")}
    return data, meta


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

        interact(_closing_previous(render), **controls)
        return
    render(**{name: _default(control) for name, control in controls.items()})


def _closing_previous(render: Callable[..., Any]) -> Callable[..., Any]:
    """``render`` that closes the chart widgets of its previous call once it has drawn anew.

    Every change of a control draws new charts; without this, the kernel and the page would
    keep every chart ever drawn.
    """
    previous: list[OfflineChart] = []

    @functools.wraps(render)
    def wrapped(**values: Any) -> Any:
        drawn: list[OfflineChart] = []
        _drawing.append(drawn)
        try:
            return render(**values)
        finally:
            _drawing.remove(drawn)
            for chart in previous:
                chart.close()
            previous[:] = drawn

    return wrapped


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
    from aovlab.dimensions import available

    dims = available(shop)  # the shop's own columns and the derived ones, as by= takes

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
    # A Dropdown whose value is None may show an empty box: the period before is a string.
    baseline_options = [("the period before", BEFORE), *((m, m) for m in months)]
    if baseline is not None:
        baseline_options.insert(0, (baseline, baseline))
    dims = dimensions.available(shop)
    dims = ([by] if by in dims else []) + [d for d in dims if d != by]

    def render(current: str, baseline: str, dimension: str) -> None:
        try:
            result = drivers.decompose(
                shop, current, None if baseline == BEFORE else baseline, by=dimension
            )
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


def segments_explorer(
    shop: ShopData,
    interactive: bool,
    *,
    period: str | None = None,
    by: str | None = None,
    by2: str | None = None,
    min_orders: int = 30,
) -> None:
    """AOV by a chosen dimension (or pair), for a chosen month or all data, with intervals.

    The controls start at the notebook's parameters.
    """
    from ipywidgets import IntSlider

    from aovlab import dimensions, segments

    dims = dimensions.available(shop)
    dims = ([by] if by in dims else []) + [d for d in dims if d != by]
    second = [("(none)", NONE)] + [(d, d) for d in dims]
    if by2 in dims:  # the notebook's choice first (the default), and only once
        second = [(by2, by2)] + [o for o in second if o[1] != by2]
    months = _months(shop)
    periods_ = [("all data", ALL)] + [(m, m) for m in months]
    if period is not None:
        periods_ = [(period, period)] + [o for o in periods_ if o[1] != period]
    slider = IntSlider(value=min_orders, min=1, max=500, step=1, description="min_orders")

    def render(dimension: str, dimension2: str, when: str, min_orders: int) -> None:
        try:
            result = segments.breakdown(
                shop,
                dimension,
                None if dimension2 == NONE else dimension2,
                when=None if when == ALL else when,
                min_orders=min_orders,
            )
        except AovlabInputError as exc:  # a bad pick in the controls: say why, keep going
            print(f"aovlab: {exc}")
            return
        show(result, result.chart())

    explore(
        render,
        interactive,
        dimension=dims,
        dimension2=second,
        when=periods_,
        min_orders=slider if interactive else min_orders,
    )


def pricing_explorer(
    shop: ShopData,
    interactive: bool,
    *,
    top: int = 5,
    change: float = 0.05,
    elasticity: Any = None,
    current_threshold: float | None = None,
    shipping_cost: float | None = None,
    top_up_share: float | None = None,
    when: str | None = None,
) -> None:
    """A price change on the best-sellers, a free-shipping threshold and the top-up share.

    The controls start at the notebook's parameters; the threshold starts 10 % above
    today's AOV and the top-up share at the one observed in the data (else 0.30).
    ``elasticity`` is a number, the notebook's estimate, or None (estimated here).
    """
    from ipywidgets import IntSlider

    from aovlab import pricing

    try:
        start = pricing.threshold(
            shop,
            current=current_threshold,
            shipping_cost=shipping_cost,
            top_up_share=top_up_share,
            when=when,
        )
    except AovlabInputError as exc:
        print(f"aovlab: {exc}")
        return
    aov = float(start.aov)
    # Whole numbers on every slider (per cent, currency units): a browser rounds a value
    # that is off its slider's steps and sends it back, which would draw everything twice.
    price_pct = round(change * 100)
    share_pct = round(float(start.top_up_share_used) * 100)
    first = round(aov * 1.1)
    wide = {"description_width": "initial"}
    price = IntSlider(value=price_pct, min=-20, max=20, description="price change (%)", style=wide)
    level = IntSlider(
        value=first,
        min=round(aov * 0.8),
        max=round(aov * 1.6),
        description="threshold",
        style=wide,
    )
    topping = IntSlider(value=share_pct, min=0, max=100, description="top-up share (%)", style=wide)

    def render(change: int, threshold: int, top_up_share: int) -> None:
        try:
            what = pricing.whatif(
                shop, top=top, change=change / 100, elasticity=elasticity, when=when
            )
            fee = pricing.threshold(
                shop,
                candidates=[float(threshold)],
                steps=0,
                current=current_threshold,
                shipping_cost=shipping_cost,
                top_up_share=top_up_share / 100,
                when=when,
            )
        except AovlabInputError as exc:  # a pick the data cannot answer: say why, keep going
            print(f"aovlab: {exc}")
            return
        show(what, what.chart(), fee, fee.chart())

    explore(
        render,
        interactive,
        change=price if interactive else price_pct,
        threshold=level if interactive else first,
        top_up_share=topping if interactive else share_pct,
    )


def bundle_explorer(
    shop: ShopData,
    interactive: bool,
    margin: Any,
    *,
    pairs: Any = None,
    choices: int = 30,
) -> None:
    """Pick a bundle's SKUs, its discount and the take rate; the margin curve follows.

    ``margin`` is the notebook's :class:`~aovlab.bundles.margin.BundleMargin` (its SKUs,
    discount, take rate, cost rate and period are where the controls start). The SKUs
    offered are ``pairs``' frequent items (the most ordered first), else the bundle's
    own. A new pick of SKUs asks the engine once; the discount and the take rate are
    recomputed from that pick's aggregates (``BundleMargin.at``), never from the rows.
    """
    from ipywidgets import IntSlider, Layout, SelectMultiple

    from aovlab.bundles.margin import bundle_margin

    if not hasattr(margin, "at"):  # the notebook's calculator could not run: say why
        print(f"aovlab: {margin.headline}")
        return
    start = tuple(margin.skus)
    # The bundle's own SKUs first (in view, with their names), then the most ordered.
    options = [
        (f"{sku} · {product}", sku) for sku, product in zip(start, margin.products, strict=True)
    ]
    items = getattr(pairs, "items", None)
    if items is not None and getattr(pairs, "level", "sku") == "sku":
        rows = nw.from_native(items, eager_only=True).sort("orders", descending=True)
        for row in rows.head(choices).iter_rows(named=True):
            if str(row["item"]) not in start:
                options.append((f"{row['item']} · {row['product']}", str(row["item"])))
    discount_pct = round(float(margin.discount) * 100)
    take_pct = round(float(margin.take_rate) * 100)
    wide = {"description_width": "initial"}
    picks = SelectMultiple(
        options=options,
        value=start,
        rows=8,
        description="SKUs (Ctrl/⌘-click for several)",
        style=wide,
        layout=Layout(width="40em"),
    )
    off = IntSlider(value=discount_pct, min=1, max=50, description="discount (%)", style=wide)
    take = IntSlider(value=take_pct, min=0, max=50, description="take rate (%)", style=wide)
    computed: dict[tuple[str, ...], Any] = {start: margin}

    def render(skus: tuple[str, ...], discount: int, take_rate: int) -> None:
        key = tuple(skus)
        try:
            if key not in computed:
                computed[key] = bundle_margin(
                    shop,
                    list(key),
                    discount=0.1,
                    cost_rate=margin.cost_rate,
                    take_rate=take_rate / 100,
                    when=margin.period,
                )
            result = computed[key].at(discount=discount / 100, take_rate=take_rate / 100)
        except AovlabInputError as exc:  # a pick the data cannot answer: say why, keep going
            print(f"aovlab: {exc}")
            return
        show(result, result.chart())

    explore(
        render,
        interactive,
        skus=picks if interactive else [("bundle", start)],
        discount=off if interactive else discount_pct,
        take_rate=take if interactive else take_pct,
    )


#: The segments explorer's options for "no second dimension" and "all the data".
NONE = "none"
ALL = "all"


#: The drivers explorer's baseline option for "the period before the current one".
BEFORE = "before"


def _months(shop: ShopData) -> list[str]:
    """The calendar months with counted orders, latest first."""
    from aovlab import periods
    from aovlab.model import is_counted

    labels = (
        shop.scan()
        .filter(is_counted())
        .select(periods.label("ordered_at", "month").alias("m"))
        .unique()
        .pipe(collected)["m"]
    )
    return sorted((str(m) for m in labels.to_list()), reverse=True)


#: The loyalty explorer's option for the CLV model's own default calibration end.
DEFAULT = "default"


def loyalty_explorer(
    shop: ShopData,
    interactive: bool,
    estimate: Any,
    *,
    current: str | None = None,
    calibration_end: str | None = None,
    cost_per_member: float | None = None,
    fee: float | None = None,
    margin_rate: float | None = None,
    cac: float | None = None,
) -> None:
    """The period, the CLV holdout's start and the cost per member.

    ``estimate`` is the notebook's :func:`aovlab.loyalty.effect` result (it uses all the
    data, so no control changes it). The period (12 months to a chosen month) redraws
    the member comparison and the programme's return; the holdout's start refits the CLV
    models' check (the CLV itself comes from all the data); the cost per member
    recomputes the return. Each period and holdout start is computed once and kept.
    Under the controls: the headlines and the charts (the tables are above).
    """
    from IPython.display import HTML
    from ipywidgets import Dropdown, FloatSlider, Layout

    from aovlab import loyalty, periods
    from aovlab.display import prose
    from aovlab.results import attempt

    months = _months(shop)
    if not months:
        print("aovlab: no counted orders to explore")
        return
    # Only whole 12-month windows inside the data (all months when it holds fewer).
    whole = months[: max(1, len(months) - 11)]
    end = current if current in months else months[0]
    wide = {"description_width": "initial"}
    period = Dropdown(
        options=[(f"the 12 months to {m}", m) for m in (whole if end in whole else months)],
        value=end,
        description="period",
        style=wide,
        layout=Layout(width="24em"),
    )
    starts = [(f"{m}-01", f"{m}-01") for m in months[1:]]
    chosen = calibration_end if calibration_end in dict(starts) else DEFAULT
    calibration = Dropdown(
        options=[("26 weeks before the data ends", DEFAULT), *starts],
        value=chosen,
        description="CLV holdout check from",
        style=wide,
        layout=Layout(width="28em"),
    )
    # No cost given: the slider starts at 0, read as "no cost" (the return then gives the
    # break-even cost); a report never shows a cost nobody stated.
    start_cost = float(cost_per_member) if cost_per_member is not None else 0.0
    first = attempt(
        "Whether the programme pays",
        loyalty.programme_return,
        shop,
        estimate,
        when=periods.trailing(end, 12),
        fee=fee,
        margin_rate=margin_rate,
    )
    even: list[dict[str, Any]] = getattr(first, "rows_named", list)()
    top = max(
        (r["ci_high"] or 0.0 for r in even if r["figure"] == "break_even_cost_per_member"),
        default=0.0,
    )
    # Half-unit steps: a stated cost on them (2.50) is kept exactly; the report (static)
    # uses the stated cost itself.
    cost = FloatSlider(
        value=round(start_cost * 2) / 2,
        min=0,
        max=float(max(50, round(start_cost * 2), round(top * 1.5))),
        step=0.5,
        description=f"cost per member ({shop.currency or ''})",
        style=wide,
        layout=Layout(width="36em"),
    )
    compared: dict[str, Any] = {}
    fitted: dict[str, Any] = {}

    def render(period: str, calibration: str, cost: float) -> None:
        span = periods.trailing(period, 12)
        if span not in compared:
            compared[span] = attempt("Members and non-members", loyalty.compare_members, shop, span)
        if calibration not in fitted:
            fitted[calibration] = attempt(
                "Customer lifetime value",
                loyalty.clv,
                shop,
                None if calibration == DEFAULT else calibration,
                cac=cac,
                margin_rate=margin_rate,
            )
        pays = attempt(
            "Whether the programme pays",
            loyalty.programme_return,
            shop,
            estimate,
            when=span,
            cost_per_member=float(cost) if cost or cost_per_member is not None else None,
            fee=fee,
            margin_rate=margin_rate,
        )
        members, value = compared[span], fitted[calibration]
        for result in (members, pays, value):
            show(HTML(f"<p>{prose(result.headline)}</p>"), result.chart())

    explore(
        render,
        interactive,
        period=period if interactive else end,
        calibration=calibration if interactive else chosen,
        cost=cost if interactive else start_cost,
    )
