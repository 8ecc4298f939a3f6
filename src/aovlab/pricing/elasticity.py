"""Price elasticity from the shop's own price changes, and the best-seller what-if.

- :func:`elasticity`: how units respond to price, estimated on a SKU x period panel
  (log-log, SKU and period fixed effects, errors clustered by SKU), overall and per
  category where a category has enough SKUs whose price changed;
- :func:`whatif`: what raising (or cutting) the best-sellers' prices by a few per cent
  does to their units, revenue and margin, and to AOV, with an estimated or given
  elasticity.

Only the panel (one row per SKU and period) and per-SKU sums leave the engine; the
regressions (``pyfixest``) run on those aggregates.

*The elasticity's interval.* Only the SKUs whose price changed carry the slope, so the
clustered (CRV1) standard error is read against t on (SKUs whose price changed - 1)
degrees of freedom, not pyfixest's default (all SKUs - 1). Coverage measured by
``bench/coverage_elasticity.py`` (50 SKUs x 52 weeks, negative binomial weekly units
with common weekly shocks and an AR(1) wobble per SKU, each changed SKU one permanent
5-15 % step at a random week, elasticity -1.2, through this module's panel rules; the
share of nominal 95 % intervals holding -1.2, ± one Monte-Carlo standard error; width
relative to the default's):

=======  =====  ================  ==============================  ================  ================
changed  runs   CRV1, t(all - 1)  CRV1, t(changed - 1) (chosen)   CRV3, t(all - 1)  CRV3, t(changed - 1)
=======  =====  ================  ==============================  ================  ================
3        600    75.3 ± 1.8 %      92.3 ± 1.1 % (width 2.14)       85 ± 3.6 % (1.74)  97 ± 1.7 % (3.72)
5        600    82.2 ± 1.6 %      92.7 ± 1.1 % (1.38)             94 ± 2.4 % (1.35)  99 ± 1.0 % (1.86)
8        600    88.0 ± 1.3 %      93.0 ± 1.0 % (1.18)             91 ± 2.9 % (1.21)  95 ± 2.2 % (1.43)
12       600    91.0 ± 1.2 %      93.3 ± 1.0 % (1.10)             90 ± 3.0 % (1.15)  92 ± 2.7 % (1.26)
30       600    94.8 ± 0.9 %      95.3 ± 0.9 % (1.02)             97 ± 1.7 % (1.07)  97 ± 1.7 % (1.09)
=======  =====  ================  ==============================  ================  ================

(CRV3, pyfixest's leave-one-SKU-out jackknife, on the first 100 runs of each row,
where the chosen interval held 88, 95, 92, 90 and 96 %: CRV3 refits the model once
per SKU, about 1.4 s a fit against 0.03 s.) The chosen interval holds
92-95 % from 3 changed SKUs on, with little extra width once a dozen SKUs changed
price; CRV3 on the same t is no closer to 95 % at a fiftieth of the speed, and CRV3 on
t(changed - 1) over-covers with intervals up to 3.7 times as wide. A wild cluster
bootstrap (pyfixest ``wildboottest``) needs the ``wildboottest`` package, which is not
installed, and gives a p-value rather than an interval: not measured. Fewer than 3
changed SKUs are refused (``min_skus``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import narwhals.stable.v2 as nw
import numpy as np

from aovlab import fmt, intervals, metrics, periods
from aovlab.compare import last_year, namespace, small_frame
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collect_all, collected, finite_or_none
from aovlab.results import Formats, Result, Section, Unavailable

__all__ = [
    "FEW_SKUS",
    "MIN_COVERAGE",
    "PANEL_PERIODS",
    "PRICE_VARIATION",
    "Elasticity",
    "WhatIf",
    "elasticity",
    "whatif",
]

#: The period grains the elasticity panel can use.
PANEL_PERIODS: tuple[str, ...] = ("week", "month")
#: How far (as a share) a SKU's price must move beyond the common period effects to count
#: as a price change.
PRICE_VARIATION = 0.02
#: The share of its periods a SKU must sell in to enter the elasticity panel.
MIN_COVERAGE = 0.9
#: Below this many SKUs whose price changed, the headline says why the interval is wide
#: (its t critical value has that many SKUs less one degrees of freedom).
FEW_SKUS = 10
#: The label of the overall row in :attr:`Elasticity.table`.
ALL = "All categories"
#: The label of a total row in :attr:`WhatIf.table`.
TOTAL = "Total"

# --------------------------------------------------------------------------- shared


def _require_lines(shop: ShopData, what: str) -> None:
    if shop.lines is None:
        raise AovlabInputError(
            f"{what} needs order lines",
            table="lines",
            expected="a lines table with sku, quantity and unit_price (load it with lines=...; "
            "--lines on the command line)",
            found="no lines table",
        )


def _window(when: str | periods.Window | None) -> periods.Window | None:
    if when is None or isinstance(when, periods.Window):
        return when
    return periods.parse_window(when)


def _span(window: periods.Window | None) -> str:
    return "all data" if window is None else window.label


def _backend(shop: ShopData) -> Any:
    return namespace(shop)


def _counted_lines(shop: ShopData, window: periods.Window | None, *extra: nw.Expr) -> Any:
    """Lines of counted orders in ``window`` (lazy), with ``extra`` order columns."""
    orders = metrics.order_table(shop, when=window, lazy=True).select("order_id", *extra)
    lines = shop.scan("lines").filter(~nw.col("sku").is_null())
    return lines.join(orders, on="order_id", how="inner")


def _whole(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise AovlabInputError(
            f"{name} is out of range",
            expected=f"a whole number, {minimum} or more",
            found=repr(value),
        )
    return int(value)


def _pct_words(share: float) -> str:
    """A share as "5 %" or "7.5 %" (no trailing zero)."""
    return fmt.pct(share, trim=True)


# --------------------------------------------------------------------------- the panel


def _panel(shop: ShopData, period: str, window: periods.Window | None) -> Any:
    """Units, average unit price and category per SKU and period, as a pandas frame.

    Built in the engine from the counted orders' lines; only the panel is collected.
    SKU-periods without units (or priced 0) have no logarithm and are left out.
    """
    col = nw.col
    frame = _counted_lines(shop, window, periods.label("ordered_at", period).alias("period"))
    panel = (
        frame.with_columns((col("quantity") * col("unit_price")).alias("__value"))
        .group_by("sku", "period")
        .agg(
            col("quantity").sum().alias("units"),
            col("__value").sum(),
            col("category").min(),
        )
        .filter((col("units") > 0) & (col("__value") > 0))
        .with_columns((col("__value") / col("units")).alias("price"))
        .select("sku", "period", "category", "units", "price")
        .pipe(collected)
    )
    out = panel.to_pandas().sort_values(["sku", "period"], ignore_index=True)
    out["units"] = out["units"].astype(float)
    out["price"] = out["price"].astype(float)
    # A SKU's category: the first it is listed under (one per SKU).
    out["category"] = out.groupby("sku")["category"].transform("min").fillna("(none)")
    out["sku"] = out["sku"].astype(str)
    out["period"] = out["period"].astype(str)
    return out


def _steady(panel: Any) -> Any:
    """The panel's rows of SKUs sold in at least :data:`MIN_COVERAGE` of their periods.

    A SKU's periods run from the first to the last in which it sold (a SKU launched or
    dropped during the window keeps its own span); a SKU sold in one period only says
    nothing about price response.
    """
    import pandas as pd

    index = pd.Series(pd.factorize(panel["period"], sort=True)[0], index=panel.index)
    grouped = index.groupby(panel["sku"])
    span = grouped.transform("max") - grouped.transform("min") + 1
    sold = grouped.transform("size")
    keep = (sold > 1) & (sold >= MIN_COVERAGE * span)
    return panel[keep].reset_index(drop=True)


def _price_spread(panel: Any) -> Any:
    """Each SKU's price movement beyond its usual price and the common movement (a Series).

    Log price, SKUs x periods, less each SKU's and each period's effect fitted by median
    polish (Tukey's two-way fit with medians in place of means), and per SKU the spread
    between the residual's 10th and 90th percentile over its periods, in log points
    (0.02 ~ 2 %). With medians the common movement is the typical SKU's: a change that
    a minority of SKUs make is theirs, never spread over the others as a mean would.
    """
    import pandas as pd

    skus, row = np.unique(panel["sku"].to_numpy(str), return_inverse=True)
    _, col = np.unique(panel["period"].to_numpy(str), return_inverse=True)
    resid = np.full((len(skus), int(col.max()) + 1), np.nan)
    resid[row, col] = np.log(panel["price"].to_numpy(float))
    for _ in range(50):
        rows = np.nanmedian(resid, axis=1)
        resid = resid - rows[:, None]
        cols = np.nanmedian(resid, axis=0)
        resid = resid - cols[None, :]
        if max(np.abs(rows).max(), np.abs(cols).max()) < 1e-12:
            break
    spread = np.nanquantile(resid, 0.9, axis=1) - np.nanquantile(resid, 0.1, axis=1)
    return pd.Series(spread, index=skus)


# --------------------------------------------------------------------------- elasticity

ELASTICITY_FORMATS: Formats = {
    "category": "text",
    "elasticity": "number",
    "ci_low": "number",
    "ci_high": "number",
    "skus": "count",
}


@dataclass(repr=False)
class Elasticity(Result):
    """Own-price elasticity of units: overall and per category, with intervals.

    ``table`` has one row per category (elasticity null where the category has too few
    SKUs whose price changed) and the overall row (``All categories``) last.
    """

    elasticity: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    std_error: float = math.nan
    skus_with_variation: int = 0
    skus: int = 0
    skus_sparse: int = 0
    periods: int = 0
    method: str = ""
    confidence: float = 0.95
    period: str = "week"
    window: str = "all data"
    min_category_skus: int = 2
    varying: list[str] = field(default_factory=list)
    formats: ClassVar[Formats] = ELASTICITY_FORMATS

    def _headline(self) -> str:
        return _elasticity_headline(self)

    def by_category(self) -> list[dict[str, Any]]:
        """The category rows (not the overall row) as plain values."""
        return [r for r in self.rows() if r["category"] != ALL]

    def sections(self) -> list[Section]:
        """The table, with a note on what counts as a price change and what is not shown."""
        thin = [r for r in self.by_category() if r["elasticity"] is None]
        note = (
            f"A SKU's price counts as changed when it moves by more than "
            f"{_pct_words(PRICE_VARIATION)} beyond the SKU's usual price and the "
            f"{self.period}'s common movement (between the 10th and 90th percentile of its "
            f"{self.period}s): {self.skus_with_variation} of {self.skus} SKUs."
        )
        if self.skus_sparse:
            note += (
                f" {fmt.counted(self.skus_sparse, 'SKU')} sold in fewer than "
                f"{_pct_words(MIN_COVERAGE)} of {self.period}s are left out (a log-log model "
                f"cannot see the {self.period}s without sales)."
            )
        if thin:
            listed = fmt.listing([f"{r['category']} ({r['skus']})" for r in thin])
            note += (
                f" Not estimated, fewer than {self.min_category_skus} SKUs whose price "
                f"changed: {listed}."
            )
        # The categories not estimated are named in the note, not shown as rows of n/a.
        table = nw.from_native(self.table, eager_only=True)
        shown = table.filter(~nw.col("elasticity").is_null())
        return [Section(shown.to_native(), self.formats, note=note)]

    def chart(self) -> Any:
        """Elasticity by category with its interval; the overall estimate as a reference."""
        return _elasticity_chart(self)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: the estimate, its interval, the sample and the categories."""
        return {
            "headline": self.headline,
            "currency": self.currency,
            "elasticity": _round(self.elasticity),
            "ci_low": _round(self.ci_low),
            "ci_high": _round(self.ci_high),
            "skus_with_variation": self.skus_with_variation,
            "periods": self.periods,
            "method": self.method,
            "by_category": [
                {k: r[k] for k in ("category", "elasticity", "ci_low", "ci_high", "skus")}
                for r in self.by_category()
            ],
        }


def _round(value: float) -> float | None:
    number = finite_or_none(value)
    return None if number is None else round(number, 6)


def elasticity(
    shop: ShopData,
    *,
    period: str = "week",
    when: str | None = None,
    min_skus: int = 3,
    min_category_skus: int = 2,
    confidence: float = 0.95,
) -> Elasticity:
    """Own-price elasticity of units, from the price changes in the shop's own data.

    The panel is built in the engine from the counted orders' lines: per SKU and
    ``period`` (``week`` or ``month``) the units sold and the average unit price
    (sum of quantity x unit price / sum of quantity). Then, with ``pyfixest``::

        log(units) ~ log(price) | sku + period

    by OLS, standard errors clustered by SKU (CRV1) and a t interval at ``confidence``.
    The SKU effects take out each SKU's usual level, the period effects anything that
    moves every SKU together (Christmas, a promotion week, a shop-wide price test), so
    only a SKU's price moving against the others is read as price response.

    A SKU-period with no units sold has no logarithm: it is absent from the panel
    (there are no lines for it) and a log-log model cannot use it; so is one whose lines
    are all priced 0. For a slow seller those absent periods are its slow ones, so its
    mean log units move less than its demand does: it would flatten the period effects
    it helps estimate and pull the slope towards 0 (on the sample's weekly panel, from
    -1.2 to -0.4). Only SKUs sold in at least 90 % of their periods (from their first
    to their last sale, :data:`MIN_COVERAGE`) enter the panel; the others are counted
    as ``skus_sparse``. Monthly periods keep more SKUs.

    *Which SKUs changed price.* Log price is split into SKU and period effects like the
    model's, fitted by medians (median polish); a SKU's price counts as changed when its
    residual moves by more than 2 % (:data:`PRICE_VARIATION`; the spread between the
    residual's 10th and 90th percentile over the SKU's periods). The period effects
    absorb a change that lifts every SKU at once: in the sample, the May 2026 A/B test
    raises every SKU's weekly average price a little for four weeks, which must not
    count. Medians, not means: with means, twelve SKUs raising prices together would
    move the period effects and make every other SKU look as if its price fell. The percentiles (not
    the range) matter: a SKU bought a few times a week has a weekly average that jumps
    with whichever arm happened to buy it, which would make 61 of the sample's 80 SKUs
    "vary" by max - min; a change must last for a tenth of a SKU's periods to count.
    Movements below the threshold are noise (a test's mix, rounding), not price changes,
    and would bias the slope towards 0 (a week in which more arm-B customers happen to
    buy a SKU has both more units and a higher average price): only the prices of the
    SKUs that changed enter the slope; the others inform the period effects (their log
    price is held at its SKU mean, which the SKU effect absorbs).

    *How sure.* Clustered errors need many clusters that carry the variation, and only
    the SKUs whose price changed carry it: the interval is the CRV1 error times the t
    critical value on (SKUs whose price changed - 1) degrees of freedom (per category,
    that category's changed SKUs - 1). On simulated shops it held the true elasticity
    in 92-95 % of runs from 3 to 30 changed SKUs of 50 (92.7 % with 5, the sample's
    situation, where pyfixest's default t on all SKUs less one held it in 82 %; the
    table in the module docstring). Below :data:`FEW_SKUS` SKUs whose price changed
    the headline says why the interval is wide.

    *Per category*: one regression with a slope per category that has at least
    ``min_category_skus`` SKUs whose price changed (and one shared slope for the
    changed SKUs of the other categories), with the same shared SKU and period effects
    and clustering. Shared period effects use every SKU to learn the season, which a
    regression per category (often ten SKUs or fewer) could not; a category with too
    few changed SKUs is listed, not estimated.

    Parameters
    ----------
    shop : ShopData
        The shop; it needs order lines.
    period : str
        ``week`` (default) or ``month``.
    when : str, optional
        Only this window (``2025-11..2026-10``); all data by default.
    min_skus : int
        Refuse when fewer SKUs than this changed price (default 3).
    min_category_skus : int
        Estimate a category's elasticity only with this many changed SKUs (default 2).
    confidence : float
        Level of the intervals (default 0.95).

    Returns
    -------
    Elasticity

    Raises
    ------
    AovlabInputError
        No lines, no positive unit prices, or fewer than ``min_skus`` SKUs whose price
        changed ("prices never vary within a SKU: ...").

    Examples
    --------
    >>> import aovlab
    >>> res = elasticity(aovlab.sample.load())
    >>> res.skus_with_variation, res.periods, res.ci_low < -1.2 < res.ci_high
    (5, 105, True)
    >>> res.headline.split(" (")[0]
    'A 10 % price rise loses about 11 % of units'
    """
    if period not in PANEL_PERIODS:
        raise AovlabInputError(
            "unknown period for the elasticity panel",
            expected=f"one of {', '.join(PANEL_PERIODS)}",
            found=repr(period),
        )
    min_skus = _whole(min_skus, "min_skus")
    min_category_skus = _whole(min_category_skus, "min_category_skus")
    confidence = intervals.check_confidence(confidence)
    _require_lines(shop, "an elasticity")
    window = _window(when)
    panel = _panel(shop, period, window)
    if panel.empty:
        raise AovlabInputError(
            "no units sold at a positive price",
            table="lines",
            column="unit_price",
            expected="lines of counted orders with quantity and unit_price above 0"
            + (f" in {window.label}" if window else ""),
            found="none",
        )
    listed = int(panel["sku"].nunique())
    panel = _steady(panel)
    spread = _price_spread(panel) if not panel.empty else None
    total = int(panel["sku"].nunique())
    varies = (
        spread[spread > math.log1p(PRICE_VARIATION)].index.tolist() if spread is not None else []
    )
    if len(varies) < min_skus:
        problem = (
            "prices never vary within a SKU"
            if not varies
            else f"too few SKUs changed price to estimate an elasticity (at least {min_skus})"
        )
        raise AovlabInputError(
            problem,
            table="lines",
            column="unit_price",
            expected=f"at least {min_skus} SKUs whose average unit price moves by more than "
            f"{_pct_words(PRICE_VARIATION)} beyond the common {period} effects",
            found=f"{len(varies)} of {total} SKUs changed price by more than "
            f"{_pct_words(PRICE_VARIATION)} beyond the common period effects",
        )
    fit = _fit(panel, set(varies), min_category_skus, confidence)
    est, low, high, se = fit["overall"]
    rows = fit["categories"]
    columns = {
        "category": [r[0] for r in rows] + [ALL],
        "elasticity": np.array([r[1] for r in rows] + [est], dtype=float),
        "ci_low": np.array([r[2] for r in rows] + [low], dtype=float),
        "ci_high": np.array([r[3] for r in rows] + [high], dtype=float),
        "skus": [r[4] for r in rows] + [len(varies)],
    }
    method = (
        f"OLS of log(units) on log(average unit price) with SKU and {period} fixed "
        f"effects (pyfixest feols), standard errors clustered by SKU (CRV1), "
        f"{fmt.pct(confidence, digits=4, trim=True)} t interval on {len(varies) - 1} degrees of freedom "
        f"(SKUs whose price changed - 1); prices of SKUs that did not change price held "
        f"at their mean"
    )
    return Elasticity(
        table=small_frame(columns, _backend(shop)).to_native(),
        currency=shop.currency,
        elasticity=est,
        ci_low=low,
        ci_high=high,
        std_error=se,
        skus_with_variation=len(varies),
        skus=total,
        skus_sparse=listed - total,
        periods=int(panel["period"].nunique()),
        method=method,
        confidence=confidence,
        period=period,
        window=_span(window),
        min_category_skus=min_category_skus,
        varying=sorted(varies),
    )


def _critical(confidence: float, carriers: int) -> float:
    """The t critical value on (SKUs whose price changed - 1) degrees of freedom.

    Only the SKUs whose price changed carry the slope; clustered errors with few of them
    behave like a t statistic on that many clusters less one, not on all the SKUs'.

    >>> round(_critical(0.95, 5), 3)  # t(4), against t(50) = 2.009 on 51 SKUs
    2.776
    """
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, max(carriers - 1, 1)))


def _fit(panel: Any, varies: set[str], min_category_skus: int, confidence: float) -> Any:
    """The overall and per-category regressions on the panel (pyfixest feols)."""
    import warnings

    import pyfixest as pf

    data = panel.assign(
        log_units=np.log(panel["units"]),
        log_price=np.log(panel["price"]) * panel["sku"].isin(varies),
    )

    def estimate(
        formula: str, names: list[str], carriers: list[int]
    ) -> list[tuple[float, float, float, float]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = pf.feols(
                formula, data=data, vcov={"CRV1": "sku"}, fixef_rm="none", copy_data=False
            )
        coef, se = model.coef(), model.se()
        out = []
        for name, n in zip(names, carriers, strict=True):
            b, s = float(coef[name]), float(se[name])
            half = _critical(confidence, n) * s
            out.append((b, b - half, b + half, s))
        return out

    per_sku = data.drop_duplicates("sku")
    changed = per_sku[per_sku["sku"].isin(varies)].groupby("category").size()
    overall = estimate("log_units ~ log_price | sku + period", ["log_price"], [len(varies)])[0]
    categories = sorted(per_sku["category"].unique().tolist())
    shown = [c for c in categories if changed.get(c, 0) >= min_category_skus]
    slopes = {f"lp_{i}": c for i, c in enumerate(shown)}
    for name, category in slopes.items():
        data[name] = data["log_price"] * (data["category"] == category)
    rest = int(changed.drop(shown).sum()) if shown else 0
    terms = list(slopes)
    if rest:
        data["lp_rest"] = data["log_price"] * ~data["category"].isin(shown)
        terms.append("lp_rest")
    fits = (
        dict(
            zip(
                slopes.values(),
                estimate(
                    f"log_units ~ {' + '.join(terms)} | sku + period",
                    list(slopes),
                    [int(changed[c]) for c in slopes.values()],
                ),
                strict=True,
            )
        )
        if slopes
        else {}
    )
    rows = []
    for category in categories:
        est = fits.get(category, (math.nan,) * 4)
        rows.append((category, est[0], est[1], est[2], int(changed.get(category, 0))))
    return {"overall": overall, "categories": rows}


def _elasticity_headline(res: Elasticity) -> str:
    e, low, high = res.elasticity, res.ci_low, res.ci_high
    change = 1.1**e - 1
    level = fmt.pct(res.confidence, digits=4, trim=True)
    moved = "loses" if change < 0 else "gains"
    source = (
        f"elasticity {fmt.number(e)}, {level} CI {fmt.number(low)} to {fmt.number(high)}; "
        f"from {fmt.counted(res.skus_with_variation, 'SKU')} whose prices changed, "
        f"{fmt.counted(res.periods, res.period)}"
    )
    few = (
        f" Only {fmt.counted(res.skus_with_variation, 'SKU', words=True)} changed price, so "
        f"the interval is wide: it allows for that (t on "
        f"{res.skus_with_variation - 1} degrees of freedom)."
        if res.skus_with_variation < FEW_SKUS
        else ""
    )
    ten = fmt.pct(0.10, digits=0)
    if low <= 0 <= high:
        return (
            f"The data cannot tell whether price moves units: at the estimate a {ten} price "
            f"rise {moved} about {fmt.pct(abs(change), digits=0)} of units ({source}).{few}"
        )
    text = f"A {ten} price rise {moved} about {fmt.pct(abs(change), digits=0)} of units ({source})."
    if e > 0:
        return (
            text + " Units rising with price is unusual: something else that moved with the "
            "prices (a launch, a campaign) may be in the estimate." + few
        )
    if low < -1 < high:
        text += (
            " Whether demand is elastic the interval cannot say: it holds -1, so a price "
            "rise may raise or lower revenue."
        )
    elif e < -1:
        text += " Demand is elastic (below -1): a price rise lowers revenue."
    else:
        text += " Demand is inelastic (between -1 and 0): a price rise raises revenue."
    return text + few


def _elasticity_chart(res: Elasticity) -> Any:
    import altair as alt

    from aovlab import charts

    table = nw.from_native(res.table, eager_only=True).filter(~nw.col("elasticity").is_null())
    if not len(table):  # pragma: no cover - the overall row is always estimated
        return charts.message("No elasticity could be estimated.")
    data = charts._data(table.select("category", "elasticity", "ci_low", "ci_high", "skus"))
    order = table["category"].to_list()
    y = alt.Y("category:N", title=None, sort=order)
    tooltip = [
        alt.Tooltip("category:N", title="category"),
        alt.Tooltip("elasticity:Q", format=".2f"),
        alt.Tooltip("ci_low:Q", format=".2f", title="interval from"),
        alt.Tooltip("ci_high:Q", format=".2f", title="interval to"),
        alt.Tooltip("skus:Q", title="SKUs whose price changed"),
    ]
    colour = alt.condition(
        alt.datum.category == ALL, alt.value(charts.PALETTE[1]), alt.value(charts.PALETTE[0])
    )
    base = alt.Chart(
        data,
        title=f"Price elasticity of units by category, with its {fmt.pct(res.confidence, digits=4, trim=True)} interval",
    )
    whisker = base.mark_rule(strokeWidth=2).encode(
        y=y,
        x=alt.X("ci_low:Q", title="elasticity (% units per % price)"),
        x2="ci_high:Q",
        color=colour,
    )
    point = base.mark_point(filled=True, size=70).encode(
        y=y, x="elasticity:Q", tooltip=tooltip, color=colour
    )
    ref = nw.from_dict({"elasticity": [res.elasticity]}, backend=nw.get_native_namespace(table))
    overall = (
        alt.Chart(charts._data(ref))
        .mark_rule(color=charts.PALETTE[1], strokeDash=[4, 3])
        .encode(x="elasticity:Q")
    )
    return (whisker + point + overall).properties(height=alt.Step(22))


_estimate = elasticity


# --------------------------------------------------------------------------- what-if

WHATIF_FORMATS: Formats = {
    "change": "share",
    "sku": "text",
    "product": "text",
    "units_before": "quantity",
    "units_after": "count",
    "price_before": "money",
    "price_after": "money",
    "unit_cost": "money",
    "revenue_before": "money",
    "revenue_after": "money",
    "margin_before": "money",
    "margin_after": "money",
    "margin_change": "change",
    "volume_effect": "change",
    "price_effect": "change",
}


#: The what-if columns a person sees under the headline (``table`` has them all).
WHATIF_SHOWN = (
    "change",
    "sku",
    "product",
    "units_before",
    "units_after",
    "price_before",
    "price_after",
    "margin_before",
    "margin_after",
    "margin_change",
)


@dataclass(repr=False)
class WhatIf(Result):
    """The best-sellers' units, revenue, margin and AOV before and after a price change.

    ``table`` has, per change, one row per SKU and a ``Total`` row; ``scenarios`` holds
    the totals per change (``before``/``after`` with units, revenue, margin, aov);
    ``before``/``after`` are those of the first change.
    """

    skus: list[str] = field(default_factory=list)
    changes: list[float] = field(default_factory=list)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    elasticity: float = math.nan
    elasticity_source: str = "given"
    top: int = 5
    period: str = ""
    default_period: bool = True
    orders: int = 0
    missing_costs: int = 0
    formats: ClassVar[Formats] = WHATIF_FORMATS

    @property
    def before(self) -> dict[str, Any]:
        """Totals before the (first) change: units, revenue, margin, aov."""
        return dict(self.scenarios[0]["before"])

    @property
    def after(self) -> dict[str, Any]:
        """Totals after the (first) change: units, revenue, margin, aov."""
        return dict(self.scenarios[0]["after"])

    def _headline(self) -> str:
        return _whatif_headline(self)

    def sections(self) -> list[Section]:
        """The per-SKU table with the assumptions in a note."""
        window = (
            f"the 12 months ending with the last order's month ({self.period})"
            if self.default_period
            else self.period
        )
        note = (
            f"Sales of {window}; elasticity {fmt.number(self.elasticity)} "
            f"({self.elasticity_source}): units after = units x (1 + change) ^ elasticity. "
            "Orders are assumed unchanged (fewer units are items dropped from baskets, not "
            "lost orders), so AOV after = (revenue + these SKUs' revenue change) / orders. "
            "Revenue is at line prices, before order discounts."
        )
        if self.missing_costs:
            note += (
                f" {fmt.counted(self.missing_costs, 'SKU')} without unit cost: margin "
                "cannot be shown."
            )
        # A page has room for the figures a reader weighs; `table` keeps them all.
        shown = nw.from_native(self.table, eager_only=True).select(*WHATIF_SHOWN)
        return [Section(shown.to_native(), self.formats, note=note)]

    def chart(self) -> Any:
        """A waterfall per change: margin before, volume effect, price effect, margin after."""
        return _whatif_chart(self)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: skus, before, after, margin_change (first change), changes."""
        first = self.scenarios[0]
        out: dict[str, Any] = {
            "headline": self.headline,
            "currency": self.currency,
            "period": self.period,
            "skus": list(self.skus),
            "elasticity": _round(self.elasticity),
            "change": first["change"],
            "before": _totals(first["before"]),
            "after": _totals(first["after"]),
            "margin_change": _money(first["margin_change"]),
        }
        if len(self.scenarios) > 1:
            out["changes"] = [
                {
                    "change": s["change"],
                    "before": _totals(s["before"]),
                    "after": _totals(s["after"]),
                    "margin_change": _money(s["margin_change"]),
                }
                for s in self.scenarios
            ]
        return out


def _money(value: Any) -> float | None:
    number = finite_or_none(value)
    return None if number is None else round(number, 2)


def _totals(values: dict[str, Any]) -> dict[str, Any]:
    units = finite_or_none(values["units"])
    return {
        "units": None if units is None else round(units, 6),
        "revenue": _money(values["revenue"]),
        "margin": _money(values["margin"]),
        "aov": _money(values["aov"]),
    }


def _changes(change: float | Sequence[float]) -> list[float]:
    items = [change] if isinstance(change, int | float) else list(change)
    bad = [
        c
        for c in items
        if isinstance(c, bool)
        or not isinstance(c, int | float | np.floating | np.integer)
        or not math.isfinite(c)
        or c <= -1
    ]
    if not items or bad:
        raise AovlabInputError(
            "price change out of range",
            expected="one or more finite shares above -1, such as 0.05 for +5 % or -0.1 for a "
            "10 % cut",
            found=repr(change),
        )
    return [float(c) for c in items]


def _elasticity_of(shop: ShopData, given: float | Elasticity | None) -> tuple[float, str]:
    if isinstance(given, Elasticity):
        return float(given.elasticity), (
            f"estimated, {fmt.pct(given.confidence, digits=4, trim=True)} CI {fmt.number(given.ci_low)} to "
            f"{fmt.number(given.ci_high)}"
        )
    if isinstance(given, Unavailable):  # the notebook's estimate, which the data refused
        raise AovlabInputError(
            "cannot estimate an elasticity for the what-if",
            found=given.reason,
            expected="an elasticity estimated from the shop's price changes, or one given",
            hint="pass one, e.g. whatif(shop, elasticity=-1.2) (--elasticity -1.2; "
            "assumed_elasticity in the notebook)",
        )
    if given is None:
        try:
            res = _estimate(shop)
        except AovlabInputError as err:
            raise AovlabInputError(
                "cannot estimate an elasticity for the what-if",
                table=err.table,
                column=err.column,
                expected=err.expected,
                found=err.found,
                hint="pass one, e.g. whatif(shop, elasticity=-1.2) (--elasticity -1.2)",
            ) from err
        return _elasticity_of(shop, res)
    if isinstance(given, bool) or not isinstance(given, int | float | np.floating | np.integer):
        raise AovlabInputError(
            "elasticity is not a number",
            expected="a number such as -1.2, an Elasticity result, or None to estimate it",
            found=repr(given),
        )
    if not math.isfinite(given):
        raise AovlabInputError(
            "elasticity is not finite", expected="a number such as -1.2", found=repr(given)
        )
    return float(given), "given"


def _default_window(shop: ShopData) -> periods.Window:
    return periods.parse_window(last_year(shop))


def whatif(
    shop: ShopData,
    *,
    top: int = 5,
    change: float | Sequence[float] = (0.05, 0.10),
    elasticity: float | Elasticity | None = None,
    when: str | None = None,
) -> WhatIf:
    """What raising (or cutting) the best-sellers' prices does to units, revenue, margin, AOV.

    The best-sellers are the ``top`` SKUs by units sold in ``when``; by default the 12
    calendar months ending with the month of the last counted order. Per SKU, from
    engine sums over the counted orders' lines: units, revenue (units x average unit
    price, at line prices before order discounts), unit cost (the average ``unit_cost``
    of its lines that have one; none: the SKU's margin is null and the headline says
    margin cannot be shown) and margin = revenue - units x unit cost.

    For each price change x (0.05 = +5 %, -0.1 = a 10 % cut) and elasticity e::

        units after   = units x (1 + x) ** e
        price after   = price x (1 + x)
        revenue after = units after x price after
        margin after  = revenue after - units after x unit cost

    The margin change splits into a volume effect, (units after - units) x (price -
    unit cost), and a price effect, units after x price x x.

    *Orders are assumed unchanged*: the units lost are items dropped from baskets, not
    lost orders, so AOV before = the window's revenue (net basis) / orders and AOV
    after = (that revenue + these SKUs' revenue change) / orders.

    Parameters
    ----------
    shop : ShopData
        The shop; it needs order lines.
    top : int
        How many best-sellers (default 5).
    change : float or sequence of float
        The price change(s), each above -1 (default 5 % and 10 %).
    elasticity : float, Elasticity or None
        A number, an :func:`elasticity` result, or None to estimate it with
        :func:`elasticity` on all the shop's data.
    when : str, optional
        The window whose sales are changed (default: the last 12 months, see above).

    Returns
    -------
    WhatIf

    Examples
    --------
    >>> import aovlab
    >>> res = whatif(aovlab.sample.load(), elasticity=-1.2)
    >>> res.skus, res.period
    (['AC-001', 'CA-001', 'FW-002', 'BP-001', 'JA-001'], '2025-11..2026-10')
    >>> round(res.after["units"] / res.before["units"], 4) == round(1.05**-1.2, 4)
    True
    """
    _require_lines(shop, "the best-seller what-if")
    top = _whole(top, "top")
    changes = _changes(change)
    e, source = _elasticity_of(shop, elasticity)
    given = _window(when)
    window = given if given is not None else _default_window(shop)
    col = nw.col
    orders = metrics.order_table(shop, when=window, lazy=True)
    totals = orders.select(nw.len().alias("orders"), col("net_value").sum().alias("revenue"))
    costed = ~col("unit_cost").is_null()
    per_sku = (
        _counted_lines(shop, window)
        .with_columns(
            (col("quantity") * col("unit_price")).alias("__revenue"),
            nw.when(costed).then(col("quantity") * col("unit_cost")).otherwise(0.0).alias("__cost"),
            nw.when(costed).then(col("quantity")).otherwise(0.0).alias("__costed"),
        )
        .group_by("sku")
        .agg(
            col("quantity").sum().alias("units"),
            col("__revenue").sum(),
            col("__cost").sum(),
            col("__costed").sum(),
            col("product").min(),
        )
        .filter(col("units") > 0)
        .sort(["units", "sku"], descending=[True, False])
        .head(top)
    )
    shop_totals, best = collect_all([totals, per_sku])
    n_orders = int(shop_totals["orders"][0])
    if not n_orders or not len(best):
        raise AovlabInputError(
            f"no units sold in {window.label}",
            table="lines",
            expected=f"lines of counted orders in {window.label}",
            found="none" if not n_orders else "orders without lines",
        )
    revenue_shop = float(shop_totals["revenue"][0] or 0.0)
    skus = [str(s) for s in best["sku"].to_list()]
    products = [
        str(p) if p is not None else s for p, s in zip(best["product"].to_list(), skus, strict=True)
    ]
    units = best["units"].to_numpy().astype(float)
    revenue = best["__revenue"].to_numpy().astype(float)
    covered = best["__costed"].to_numpy().astype(float)
    cost_sum = best["__cost"].to_numpy().astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_cost = np.where(covered > 0, cost_sum / covered, np.nan)
    price = revenue / units
    missing = int(np.isnan(unit_cost).sum())
    columns: dict[str, list[Any]] = {k: [] for k in WHATIF_FORMATS}
    scenarios = []
    aov_before = metrics.aov(revenue_shop, n_orders)
    for x in changes:
        units_after = units * (1 + x) ** e
        price_after = price * (1 + x)
        revenue_after = units_after * price_after
        margin_before = revenue - units * unit_cost
        margin_after = revenue_after - units_after * unit_cost
        volume = (units_after - units) * (price - unit_cost)
        price_effect = units_after * price * x

        def total(values: np.ndarray) -> float:
            return float(values.sum()) if not np.isnan(values).any() else math.nan

        block: dict[str, list[Any]] = {
            "change": [x] * (len(skus) + 1),
            "sku": [*skus, TOTAL],
            "product": [*products, fmt.counted(len(skus), "best-seller")],
            "units_before": [*units, units.sum()],
            "units_after": [*units_after, units_after.sum()],
            "price_before": [*price, math.nan],
            "price_after": [*price_after, math.nan],
            "unit_cost": [*unit_cost, math.nan],
            "revenue_before": [*revenue, revenue.sum()],
            "revenue_after": [*revenue_after, revenue_after.sum()],
            "margin_before": [*margin_before, total(margin_before)],
            "margin_after": [*margin_after, total(margin_after)],
            "margin_change": [*(margin_after - margin_before), total(margin_after - margin_before)],
            "volume_effect": [*volume, total(volume)],
            "price_effect": [*price_effect, total(price_effect)],
        }
        for k, v in block.items():
            columns[k].extend(v)
        revenue_change = float(revenue_after.sum() - revenue.sum())
        scenarios.append(
            {
                "change": x,
                "before": {
                    "units": float(units.sum()),
                    "revenue": float(revenue.sum()),
                    "margin": total(margin_before),
                    "aov": aov_before,
                },
                "after": {
                    "units": float(units_after.sum()),
                    "revenue": float(revenue_after.sum()),
                    "margin": total(margin_after),
                    "aov": metrics.aov(revenue_shop + revenue_change, n_orders),
                },
                "margin_change": total(margin_after - margin_before),
                "volume_effect": total(volume),
                "price_effect": total(price_effect),
            }
        )
    frame = small_frame(
        {
            k: np.array(v, dtype=float) if WHATIF_FORMATS[k] not in ("text",) else v
            for k, v in columns.items()
        },
        _backend(shop),
    )
    return WhatIf(
        table=frame.to_native(),
        currency=shop.currency,
        skus=skus,
        changes=changes,
        scenarios=scenarios,
        elasticity=e,
        elasticity_source=source,
        top=top,
        period=window.label,
        default_period=when is None,
        orders=n_orders,
        missing_costs=missing,
    )


def _whatif_headline(res: WhatIf) -> str:
    n = len(res.skus)
    whose = "the best-seller's price" if n == 1 else f"the {n} best-sellers' prices"
    signs = {x > 0 for x in res.changes}
    verb = "Raising" if signs == {True} else "Cutting" if signs == {False} else "Changing"
    plain = verb != "Changing"

    def by(x: float) -> str:
        return _pct_words(abs(x)) if plain else fmt.pct(x, signed=True, digits=1)

    window = (
        f"on the last 12 months' sales ({res.period})"
        if res.default_period
        else f"on the sales of {res.period}"
    )
    has_margin = not res.missing_costs
    what = "margin" if has_margin else "revenue"
    parts = []
    for i, s in enumerate(res.scenarios):
        before, after = s["before"], s["after"]
        delta = s["margin_change"] if has_margin else after["revenue"] - before["revenue"]
        base = before["margin"] if has_margin else before["revenue"]
        rel = fmt.pct(delta / base if base else math.nan, signed=True)
        units = after["units"] / before["units"] - 1
        aov = fmt.pct(after["aov"] / before["aov"] - 1 if before["aov"] else math.nan, signed=True)
        amount = fmt.money(abs(delta), res.currency, digits=0 if abs(delta) >= 100 else 2)
        gain = f"add {amount}" if delta > 0 else f"lose {amount}" if delta < 0 else "change nothing"
        fewer = (
            f"{fmt.pct(abs(units))} {'fewer' if units < 0 else 'more'} units"
            if round(units, 3)
            else "as many units"
        )
        if i == 0:
            parts.append(
                f"{verb} {whose} by {by(s['change'])} would {gain} of {what} {window}, {rel} on "
                f"them, while they sell {fewer} (AOV {aov})"
            )
        else:
            parts.append(f"by {by(s['change'])} it would {gain} ({rel}) with {fewer} (AOV {aov})")
    text = "; ".join(parts) + "."
    text += f" Elasticity {fmt.number(res.elasticity)} ({res.elasticity_source})."
    if not has_margin:
        text = (
            f"Margin cannot be shown: {res.missing_costs} of the {n} best-sellers have no unit "
            f"cost in the lines. " + text
        )
    return text


def _whatif_chart(res: WhatIf) -> Any:
    import altair as alt

    from aovlab import charts

    has_margin = not res.missing_costs
    what = "margin" if has_margin else "revenue"
    rows: list[dict[str, Any]] = []
    for s in res.scenarios:
        scenario = f"{fmt.pct(s['change'], signed=True, digits=1)} price"
        start = s["before"][what]
        end = s["after"][what]
        if has_margin:
            volume, price = s["volume_effect"], s["price_effect"]
        else:
            price = s["after"]["revenue"] - s["after"]["revenue"] / (1 + s["change"])
            volume = end - start - price
        steps = [
            ("Before", "total", 0.0, start, start),
            (
                "Units",
                "increase" if volume > 0 else "decrease",
                start,
                start + volume,
                volume,
            ),
            ("Price", "increase" if price > 0 else "decrease", start + volume, end, price),
            ("After", "total", 0.0, end, end),
        ]
        for i, (step, kind, a, b, amount) in enumerate(steps):
            rows.append(
                {
                    "scenario": scenario,
                    "step": step,
                    "kind": kind,
                    "low": min(a, b),
                    "high": max(a, b),
                    "label": fmt.money(amount, res.currency, short=True, signed=kind != "total"),
                    "order": i,
                }
            )
    frame = nw.from_dict(
        {k: [r[k] for r in rows] for k in rows[0]},
        backend=nw.get_native_namespace(nw.from_native(res.table, eager_only=True)),
    )
    order = [r["step"] for r in rows[:4]]
    base = alt.Chart().encode(
        x=alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelLimit=160))
    )
    bars = base.mark_bar(size=40).encode(
        y=alt.Y("low:Q", title=f"{what} ({res.currency or ''})", axis=alt.Axis(format=",.0f")),
        y2="high:Q",
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(
                domain=["total", "increase", "decrease"],
                range=[charts.PALETTE[5], charts.PALETTE[2], charts.PALETTE[3]],
            ),
            legend=None,
        ),
        tooltip=["scenario:N", "step:N", "label:N"],
    )
    labels = base.mark_text(dy=-8, fontSize=11).encode(y="high:Q", text="label:N")
    n = len(res.skus)
    title = f"The {n} best-sellers' {what}: before, the units effect, the price effect, after"
    return (
        alt.layer(bars, labels, data=charts._data(frame))
        .properties(width=alt.Step(90))
        .facet(column=alt.Column("scenario:N", title=None, sort=[r["scenario"] for r in rows[::4]]))
        .properties(title=title)
    )
