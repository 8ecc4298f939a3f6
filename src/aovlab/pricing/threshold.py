"""Free-shipping and spend thresholds: where a threshold pays, and what the shop's history says.

Three questions, each answered from a histogram of order values built in the engine
(no order leaves it):

- :func:`threshold`: for candidate free-shipping thresholds (today's AOV +0 % to +50 %
  and any passed), how many orders sit just below each, and what AOV, revenue,
  shipping fees and margin do if a share of them top up to it. The seeds' two rules
  of thumb ("5-10 % above AOV", "about 30 % above AOV") are rows of the same table.
- :func:`top_up_evidence`: where a threshold exists, the share of the orders just
  below it that topped up, observed in the client's own history, with an interval.
- :func:`spend_offer`: a spend-threshold discount ("€10 off over €100"): the discount
  given away on orders already above it against the margin of the orders it pulls up.

Order value is net merchandise (merchandise - discount), the basis free shipping is
granted on. The default window ``when`` is the 12 calendar months ending with the
month of the last counted order: the threshold regime in force now.

**The threshold model** (:func:`threshold`, per candidate ``t``, window ``w``, top-up
share ``s``). The orders *within reach* are those worth ``t (1 - w) <= v < t``. A
share ``s`` of them tops up to exactly ``t`` (each adds ``t - v`` of merchandise);
the others stay as they are; nothing else changes (no order is lost or gained).
Where today's threshold is known (given or found, see below) it is a row of the table
and every change is taken against that row: its top-ups are already in the orders
observed, so its own changes are 0 (the figures below less that row's).

- ``revenue_change`` = ``s x sum(t - v)`` over the orders within reach;
- ``aov_after`` = (revenue + ``revenue_change``) / orders;
- shipping: every order at or above ``t`` (and every order that tops up) ships free;
  every other order pays what it paid today (the order's ``shipping`` column), except
  an order that ships free today *because of today's threshold* (worth at least it,
  and below ``t``), which starts paying the typical fee: the median fee paid today
  (``shipping_cost`` when no order paid a fee). Orders that ship free below today's
  threshold (a code, a promotion) stay free; with no threshold known, the orders
  worth more than every order that paid a fee count as shipping free because of
  their value (every order, when none paid a fee). ``shipping_cost_change`` is the **net shipping money the shop gives
  up**: fees collected today minus fees collected under ``t`` (negative when the shop
  collects more). The shop's own cost per parcel is paid on every order either way,
  so it cancels out of the change;
- ``margin_change`` = gross margin on the added merchandise (at the shop's observed
  margin rate, 1 - COGS / net merchandise over the orders whose costs are known)
  - ``shipping_cost_change``; null without unit costs.

**The observed top-up share** (:func:`top_up_evidence`). The threshold is

1. ``current`` when given;
2. else read from the orders' shipping fees: per month, the lowest one-unit value bin
   from which at least 97 % of the orders ship free (that bin too) while at least
   half of the orders in the three bins below pay a fee; the window's threshold is the
   one of most of its orders. A fee column is a far surer witness than the shape of
   the histogram;
3. else (no fees in the export) detected as a bunching of orders just above a round
   number: every multiple of 5 and every value ending in 9 between the 20th and 95th
   percentiles of order value is tried with the smooth fit below; the one whose
   top-up share is largest against its standard error, with excess mass above it,
   counts if that ratio passes a one-sided Bonferroni bound for the number tried.

Around a threshold ``T`` with top-up window ``W`` (default 20 % of ``T``) the orders
per bin are compared with a counterfactual fitted outside the affected region
``[T - W, T + 1.5 W)`` (top-ups overshoot: an added item rarely lands exactly on the
threshold; the sample's socks carry an order up to 1.4 W above it), over
``[T - 3W, T + 3W)``:

- where the shop's history has months under a *different* threshold (more than ``W``
  away) or none, the counterfactual is those months' histogram scaled by a smooth
  factor: a Poisson regression of this regime's counts on a straight line in log
  value, with the log of the reference counts as offset (a difference in bunching).
  Order values cluster at the catalogue's price points (a one-item order is worth a
  list price), so a histogram is lumpy at the scale of ``W``; the reference carries
  the same lumps and divides most of them out, where a smooth curve through a lumpy
  histogram does not (on the sample shop a smooth fit reads about 0.1 at 79 where
  0.4 is planted, the reference reads 0.35);
- otherwise a smooth counterfactual: a Poisson regression of the counts on a
  quadratic in log value (exact for lognormal order values), as in the bunching
  literature (Chetty et al. 2011; Kleven and Waseem 2013).

Bins are ``max(1, round(W / 6))`` wide (six to eight bins inside the window): narrow
enough to follow the curve, wide enough to hold tens of orders each and to blur
neighbouring price points. The observed top-up share is the missing mass in
``[T - W, T)`` over the counterfactual mass there. Its interval is the delta method:
each bin's variance is its Poisson noise plus the reference's (scaled by the fitted
factor), times a dispersion estimated from the residuals outside the region (so the
price-point lumps the reference does not remove widen the interval instead of
pretending precision); the coefficients' covariance is the matching sandwich; a t
quantile with the fit's residual degrees of freedom. Measured coverage of nominal 95 %
intervals over 1,000 simulated shops each (20,000 lognormal order values, ``T`` = 80,
``W`` = 16; a reference of 10,000 values without a threshold): 97.1 % (reference) and
95.8 % (smooth) with a planted share of 0.4; 96.4 % and 96.9 % with none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import narwhals.stable.v2 as nw
import numpy as np

from aovlab import fmt, intervals, metrics, periods
from aovlab.compare import counted_span, last_year, namespace, no_counted_orders, small_frame
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collected, is_counted
from aovlab.results import Formats, Result, Section

__all__ = [
    "DEFAULT_TOP_UP_SHARE",
    "RULES",
    "SpendOffer",
    "Threshold",
    "TopUpEvidence",
    "spend_offer",
    "threshold",
    "top_up_evidence",
]

#: The top-up share assumed when the shop's history shows none (the issue's default).
DEFAULT_TOP_UP_SHARE = 0.30
#: The seeds' rules of thumb: label -> the percentages above AOV they name.
RULES: dict[str, tuple[float, ...]] = {
    "5-10 % above AOV": (0.05, 0.10),
    "about 30 % above AOV": (0.30,),
}
#: Cent bins of the sweep reach this many times the largest threshold examined.
_CAP_FACTOR = 2.0
#: A month's orders from its threshold up ship free at least this often.
_FREE_FROM = 0.97
#: ... and the orders in the bins just below it pay at least this often.
_PAID_BELOW = 0.5
#: Orders needed in the region around a threshold for the evidence.
_MIN_EVIDENCE_ORDERS = 30
#: The affected region above a threshold, in windows (top-ups overshoot it).
_ABOVE = 1.5
#: The fit reaches this many windows on either side of the threshold.
_SPAN = 3.0


# --------------------------------------------------------------------------- inputs


def _check_window(window: float, name: str = "window") -> float:
    if isinstance(window, bool) or not isinstance(window, int | float) or not 0 < window < 1:
        raise AovlabInputError(
            f"{name} is out of range",
            expected="a share of the threshold strictly between 0 and 1, such as 0.20",
            found=repr(window),
        )
    return float(window)


def _check_share(share: float | None) -> float | None:
    if share is None:
        return None
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise AovlabInputError(
            "top_up_share is out of range",
            expected="a share of the orders within reach between 0 and 1, such as 0.30",
            found=repr(share),
        )
    return float(share)


def _check_amount(value: float | None, name: str, *, positive: bool = True) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        raise AovlabInputError(
            f"{name} is out of range",
            expected=f"an amount {'above' if positive else 'of'} 0{' or more' if not positive else ''}",
            found=repr(value),
        )
    return float(value)


def _check_candidates(candidates: Sequence[float] | None) -> list[float]:
    if candidates is None:
        return []
    if isinstance(candidates, str | bytes) or not isinstance(candidates, Sequence):
        raise AovlabInputError(
            "candidates must be a list of thresholds",
            expected="amounts above 0, such as [79, 89, 99]",
            found=repr(candidates),
        )
    return [_check_amount(c, "a candidate threshold") for c in candidates]  # type: ignore[misc]


def _check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise AovlabInputError(
            "steps is out of range",
            expected="a whole number of AOV steps, 0 or more (default 11: +0 % to +50 %; "
            "0: only the candidates passed)",
            found=repr(steps),
        )
    return steps


def _default_when(shop: ShopData, when: str | None) -> str:
    """``when`` or the 12 months ending with the month of the last counted order."""
    if when is not None:
        periods.parse_window(when)
        return when
    return last_year(shop)


def _no_orders(shop: ShopData, when: str) -> AovlabInputError:
    return no_counted_orders(when, *counted_span(shop))


# --------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class _Bins:
    """One-cent bins of order value (and the orders above the cap, as one row).

    ``value`` is each bin's mean order value (exactly the cent below the cap).
    """

    value: np.ndarray
    orders: np.ndarray
    value_sum: np.ndarray
    fee_sum: np.ndarray
    free: np.ndarray
    cap: float
    total_orders: int
    total_value: float
    fee_paid_median: float | None
    margin_rate: float | None
    costed_share: float


def _orders(shop: ShopData, when: str | None) -> Any:
    """Counted orders (lazy) with ``v`` (net merchandise) and ``fee`` (shipping charged)."""
    columns = shop.columns("orders")
    frame = shop.scan().filter(is_counted())
    if when is not None:
        frame = frame.filter(metrics.in_windows(shop, when))
    cogs = nw.col("cogs") if "cogs" in columns else nw.lit(None, dtype=nw.Float64())
    return frame.select(
        "ordered_at",
        metrics.order_revenue("net").alias("v"),
        nw.col("shipping").cast(nw.Float64()).alias("fee"),
        cogs.cast(nw.Float64()).alias("cogs"),
    )


def _sweep_bins(shop: ShopData, when: str, top: float) -> _Bins:
    """The cent histogram of ``when``'s orders up to ``top`` x 2, and the totals."""
    frame = _orders(shop, when)
    totals = frame.select(
        nw.len().alias("n"),
        nw.col("v").sum().alias("v"),
        nw.when(nw.col("fee") > 0).then(nw.col("fee")).median().alias("fee_median"),
        nw.when(~nw.col("cogs").is_null()).then(nw.col("v")).otherwise(0.0).sum().alias("cv"),
        nw.col("cogs").sum().alias("c"),
    ).pipe(collected)
    n, total, fee_median, costed, cogs = totals.row(0)
    if not n:
        raise _no_orders(shop, when)
    cap = max(top, 1.0) * _CAP_FACTOR
    cap_cents = round(cap * 100)
    cents = (nw.col("v") * 100).round(0).cast(nw.Int64())
    capped = nw.when(cents < cap_cents).then(cents).otherwise(cap_cents)
    grouped = (
        frame.with_columns(capped.alias("__c"), (nw.col("fee") == 0).cast(nw.Int64()).alias("__f"))
        .group_by("__c")
        .agg(
            nw.len().alias("orders"),
            nw.col("v").sum().alias("value"),
            nw.col("fee").sum().alias("fee"),
            nw.col("__f").sum().alias("free"),
        )
        .sort("__c")
        .pipe(collected)
    )

    def floats(name: str) -> np.ndarray:
        return np.asarray(grouped[name].cast(nw.Float64()).to_numpy(), dtype=float)

    orders = floats("orders")
    value_sum = floats("value")
    margin_rate = (1 - cogs / costed) if costed and cogs is not None and costed > 0 else None
    return _Bins(
        value=value_sum / orders,
        orders=orders,
        value_sum=value_sum,
        fee_sum=floats("fee"),
        free=floats("free"),
        cap=cap,
        total_orders=int(n),
        total_value=float(total),
        fee_paid_median=float(fee_median) if fee_median is not None else None,
        margin_rate=margin_rate,
        costed_share=float(costed / total) if total else 0.0,
    )


@dataclass(frozen=True)
class _Monthly:
    """Orders per month and 1-unit value bin (bin i = [i, i + 1)), free and paid."""

    months: list[str]
    orders: np.ndarray  # months x bins
    free: np.ndarray  # months x bins
    cap: int


def _monthly_bins(shop: ShopData, cap: float) -> _Monthly:
    """The whole history's orders per month and one-unit bin up to ``cap`` (then one bin)."""
    top = math.ceil(cap)
    value_bin = nw.col("v").floor().cast(nw.Int64())
    capped = nw.when(value_bin < top).then(value_bin).otherwise(top)
    grouped = (
        _orders(shop, None)
        .with_columns(
            periods.label("ordered_at", "month").alias("__m"),
            nw.when(capped < 0).then(0).otherwise(capped).alias("__b"),
            (nw.col("fee") == 0).cast(nw.Int64()).alias("__f"),
        )
        .group_by("__m", "__b")
        .agg(nw.len().alias("orders"), nw.col("__f").sum().alias("free"))
        .pipe(collected)
    )
    months, where = np.unique(grouped["__m"].to_numpy().astype(str), return_inverse=True)
    bins = grouped["__b"].to_numpy().astype(int)
    orders = np.zeros((len(months), top + 1))
    free = np.zeros((len(months), top + 1))
    np.add.at(orders, (where, bins), grouped["orders"].to_numpy().astype(float))
    np.add.at(free, (where, bins), grouped["free"].to_numpy().astype(float))
    return _Monthly(list(months), orders, free, top)


# --------------------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class _Sweep:
    orders_within_reach: np.ndarray
    gap: np.ndarray  # sum of (t - v) over the orders within reach
    revenue_change: np.ndarray
    aov_after: np.ndarray
    shipping_cost_change: np.ndarray
    margin_change: np.ndarray
    orders_above: np.ndarray


def _sweep(
    bins: _Bins,
    thresholds: np.ndarray,
    share: float,
    window: float,
    *,
    typical_fee: float,
    free_from: float = 0.0,
) -> _Sweep:
    """Every candidate evaluated on the cent bins at once (candidates x bins arrays).

    ``free_from``: orders that ship free today from this value up ship free because of
    today's threshold, and start paying ``typical_fee`` below a higher one; cheaper
    orders that ship free today (a promotion, a free-shipping code) stay free.
    """
    t = thresholds[:, None]
    v = bins.value[None, :]
    n = bins.orders[None, :]
    # Cents: a tolerance far below one keeps t x (1 - w) = 40.00 inside the reach.
    reach = (v >= t * (1 - window) - 1e-9) & (v < t)
    below = v < t
    within = (reach * n).sum(axis=1)
    gap = (reach * n * (t - v)).sum(axis=1)
    revenue_change = share * gap
    aov_after = (bins.total_value + revenue_change) / bins.total_orders
    # Fees under t: orders below t that do not top up pay today's fee, or the typical
    # fee if they ship free today; everything at or above t ships free.
    stay = np.where(reach, 1 - share, 1.0) * below
    newly_paying = bins.free * (bins.value >= free_from - 1e-9)
    fee_after = (stay * (bins.fee_sum[None, :] + newly_paying[None, :] * typical_fee)).sum(axis=1)
    shipping_cost_change = bins.fee_sum.sum() - fee_after
    if bins.margin_rate is None:
        margin = np.full(len(thresholds), np.nan)
    else:
        margin = bins.margin_rate * revenue_change - shipping_cost_change
    above = ((v >= t) * n).sum(axis=1)
    return _Sweep(within, gap, revenue_change, aov_after, shipping_cost_change, margin, above)


def _against_today(
    bins: _Bins, sweep: _Sweep, thresholds: np.ndarray, today: float | None
) -> _Sweep:
    """The sweep's changes against today's threshold, which is among ``thresholds``.

    The orders observed under today's threshold already hold its top-ups: simulating
    them again at that threshold would count them twice. Every change is therefore
    taken against the simulated row of today's threshold, whose changes become 0.
    Without a known threshold the changes stay against the orders as observed.
    """
    if today is None:
        return sweep
    at = int(np.flatnonzero(thresholds == today)[0])
    revenue = sweep.revenue_change - sweep.revenue_change[at]
    return dataclasses.replace(
        sweep,
        revenue_change=revenue,
        aov_after=(bins.total_value + revenue) / bins.total_orders,
        shipping_cost_change=sweep.shipping_cost_change - sweep.shipping_cost_change[at],
        margin_change=sweep.margin_change - sweep.margin_change[at],
    )


# --------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class _Fit:
    """The top-up share around one threshold, from binned counts."""

    share: float
    ci_low: float
    ci_high: float
    missing: float
    excess: float
    counterfactual: float
    observed: float
    dispersion: float
    edges: np.ndarray
    counts: np.ndarray
    fitted: np.ndarray
    fit_bins: np.ndarray


def _estimate(
    edges: np.ndarray,
    counts: np.ndarray,
    threshold: float,
    window: float,
    confidence: float,
    reference: np.ndarray | None = None,
    excluded: np.ndarray | None = None,
) -> _Fit | None:
    """The top-up share from binned counts around ``threshold`` (``window`` wide below).

    ``reference``: counts of the same bins in months without this threshold (their log
    is the offset, and a straight line the smooth factor); without it, log counts are
    quadratic in value. ``excluded``: bins left out of the fit besides the affected
    region (a reference's own threshold region). None when there is too little to fit.
    """
    import statsmodels.api as sm
    from scipy import stats

    lo, hi = edges[:-1], edges[1:]
    # Log value: a lognormal's log density is exactly quadratic in it.
    x = np.log((lo + hi) / 2 / threshold) * threshold / window
    eps = 1e-9
    region = (lo >= threshold - window - eps) & (hi <= threshold + _ABOVE * window + eps)
    below = (lo >= threshold - window - eps) & (hi <= threshold + eps)
    above = region & ~below
    degree = 1 if reference is not None else 2
    design = np.vander(x, degree + 1, increasing=True)
    offset = np.log(np.maximum(reference, 1e-300)) if reference is not None else np.zeros(len(x))
    usable = ~region & (reference > 0 if reference is not None else True)
    if excluded is not None:
        usable &= ~excluded
    if usable.sum() < degree + 3 or counts[usable].sum() < _MIN_EVIDENCE_ORDERS:
        return None
    if reference is not None and (reference[below] <= 0).all():
        return None
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            model = sm.GLM(
                counts[usable],
                design[usable],
                family=sm.families.Poisson(),
                offset=offset[usable],
            ).fit()
        except (ValueError, np.linalg.LinAlgError):
            # Lumpy counts (a shop of a few price points) can make the fit diverge:
            # nothing to read, not a crash.
            return None
        df = float(model.df_resid)
        eta = design @ model.params + offset
        fitted = np.exp(eta)
    if not (np.isfinite(model.params).all() and np.isfinite(fitted).all()):
        return None
    # Each bin's variance: its own Poisson noise and, with a reference, the reference's
    # scaled by the fitted factor k (c - k r has variance mu + k^2 r). The dispersion
    # is the residual variance over that, outside the region: price-point lumps that
    # the reference does not divide out widen the interval.
    factor = np.exp(eta - offset)
    variance = fitted + (factor**2 * reference if reference is not None else 0.0)
    fit_x, fit_mu, fit_var = design[usable], fitted[usable], variance[usable]
    residual = counts[usable] - fit_mu
    dispersion = max(1.0, float((residual**2 / fit_var).sum()) / df) if df > 0 else 1.0
    # Sandwich covariance of the fitted coefficients under that variance.
    try:
        bread = np.linalg.inv(fit_x.T @ (fit_mu[:, None] * fit_x))
    except np.linalg.LinAlgError:
        return None
    meat = fit_x.T @ ((dispersion * fit_var)[:, None] * fit_x)
    cov = bread @ meat @ bread
    expected = float(fitted[below].sum())
    observed = float(counts[below].sum())
    if expected <= 0 or not math.isfinite(expected):
        return None
    share = 1 - observed / expected
    grad = (fitted[below][:, None] * design[below]).sum(axis=0)
    var_expected = float(grad @ cov @ grad)
    if reference is not None:
        # The reference's own noise inside the region, scaled as the counterfactual is.
        var_expected += dispersion * float((factor[below] ** 2 * reference[below]).sum())
    var_share = dispersion * observed / expected**2 + observed**2 * var_expected / expected**4
    quantile = float(stats.t.ppf(0.5 + confidence / 2, max(df, 1.0)))
    half = quantile * math.sqrt(var_share)
    if not (math.isfinite(share) and math.isfinite(half)):
        return None
    return _Fit(
        share=share,
        ci_low=share - half,
        ci_high=share + half,
        missing=expected - observed,
        excess=float(counts[above].sum() - fitted[above].sum()),
        counterfactual=expected,
        observed=observed,
        dispersion=dispersion,
        edges=edges,
        counts=counts,
        fitted=fitted,
        fit_bins=usable,
    )


def _month_thresholds(monthly: _Monthly) -> list[float | None]:
    """Each month's free-shipping threshold read from its fees, None where there is none.

    The lowest bin edge from which at least 97 % of the month's orders ship free, while
    at least half of the orders in the three bins below it pay a fee.
    """
    out: list[float | None] = []
    for orders, free in zip(monthly.orders, monthly.free, strict=True):
        paid = orders - free
        if orders.sum() == 0 or free.sum() == 0 or paid.sum() == 0:
            out.append(None)
            continue
        # Free share of the orders from each bin upwards.
        tail_orders = np.cumsum(orders[::-1])[::-1]
        tail_free = np.cumsum(free[::-1])[::-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = tail_free / tail_orders >= _FREE_FROM
        found = None
        with np.errstate(invalid="ignore", divide="ignore"):
            own = free / orders >= _FREE_FROM
        for b in np.nonzero(ok & own & (orders > 0))[0]:
            lo = max(0, b - 3)
            before_orders = orders[lo:b].sum()
            if before_orders and paid[lo:b].sum() / before_orders >= _PAID_BELOW:
                found = float(b)
                break
        out.append(found)
    return out


def _default_window(threshold: float, window: float | None) -> float:
    if window is None:
        return 0.20 * threshold
    w = _check_amount(window, "window")
    assert w is not None
    return w


@dataclass(frozen=True)
class _Found:
    """What :func:`_evidence` found: the fit, the threshold and how it was found."""

    fit: _Fit | None
    threshold: float | None
    found_by: str  # "given", "fees", "bunching" or "none"
    method: str  # "reference", "smooth" or "none"
    window: float | None
    months: list[str]
    note: str


def _grid(current: float, w: float, cap: int) -> tuple[np.ndarray, int]:
    """Bin edges (on the one-unit grid, ``T`` an edge) over ``[T - 3W, T + 3W)``."""
    width = max(1, round(w / 6))
    steps_below = math.floor(min(current, _SPAN * w) / width)
    lo = current - steps_below * width
    edges = np.arange(lo, current + _SPAN * w + 1e-9, width, dtype=float)
    return edges[edges <= cap], width


def _rebin(per_unit: np.ndarray, edges: np.ndarray, width: int) -> np.ndarray:
    """One-unit bin counts summed into the bins starting at ``edges[:-1]``."""
    starts = edges[:-1].astype(int)
    return np.array([per_unit[s : s + width].sum() for s in starts], dtype=float)


def _scan(
    per_unit: np.ndarray,
    low: float,
    high: float,
    window: float | None,
    confidence: float,
) -> tuple[float, _Fit] | None:
    """Bunching above a round number: the clearest one, if it is clear enough.

    Candidates are the multiples of 5 and the values ending in 9 (19, 29, ...) between
    ``low`` and ``high`` (the 20th and 95th percentiles of order value). At each, the
    smooth fit's top-up share over its standard error is the evidence; the best
    candidate with excess mass above it counts if that ratio passes the one-sided
    Bonferroni bound for the number of candidates at 1 - ``confidence``.
    """
    from scipy import stats

    cap = len(per_unit) - 1
    candidates = sorted(
        {float(c) for c in range(5, cap, 5) if low <= c <= high}
        | {float(c) for c in range(9, cap, 10) if low <= c <= high}
    )
    best: tuple[float, float, _Fit] | None = None
    for t in candidates:
        w = _default_window(t, window)
        edges, width = _grid(t, w, cap)
        if len(edges) < 8:
            continue
        fit = _estimate(edges, _rebin(per_unit, edges, width), t, w, confidence)
        if fit is None or fit.excess <= 0 or fit.share <= 0:
            continue
        z = fit.share / max(fit.ci_high - fit.share, 1e-12)
        if best is None or z > best[0]:
            best = (z, t, fit)
    if best is None or not candidates:
        return None
    # The fits' half-widths are t quantiles times the error: back to a z-like ratio.
    bound = stats.norm.ppf(1 - (1 - confidence) / len(candidates)) / stats.norm.ppf(
        0.5 + confidence / 2
    )
    return (best[1], best[2]) if best[0] > bound else None


def _evidence(
    shop: ShopData,
    when: str,
    current: float | None,
    window: float | None,
    confidence: float,
) -> _Found:
    """The fit around the shop's threshold, given, read from the fees or detected."""
    cap = 4 * (current or 0.0)
    frame = _orders(shop, when)
    low, high, quick, paying = (
        frame.select(
            nw.col("v").quantile(0.20, "nearest").alias("a"),
            nw.col("v").quantile(0.95, "nearest").alias("b"),
            nw.col("v").quantile(0.99, "nearest").alias("c"),
            (nw.col("fee") > 0).cast(nw.Int64()).sum().alias("d"),
        )
        .pipe(collected)
        .row(0)
    )
    cap = max(cap, 2 * float(quick or 0.0), 10.0)
    monthly = _monthly_bins(shop, cap)
    window_months = set(_months_of(when))
    inside = [i for i, m in enumerate(monthly.months) if m in window_months]
    if not inside or monthly.orders[inside].sum() == 0:
        raise _no_orders(shop, when)
    found = _month_thresholds(monthly)
    found_by = "given"
    if current is None:
        weights: dict[float, float] = {}
        for i in inside:
            t_month = found[i]
            if t_month is not None:
                weights[t_month] = weights.get(t_month, 0.0) + float(monthly.orders[i].sum())
        if weights:
            current = max(weights, key=lambda k: weights[k])
            found_by = "fees"
        elif paying:
            # Orders pay shipping fees, and no value makes them ship free: whatever
            # bunching the histogram shows, it is not a free-shipping threshold.
            note = (
                "the orders' shipping fees show no value from which orders ship free "
                "(a bunching of order values is not read as a threshold when fees are known)"
            )
            return _Found(None, None, "none", "none", None, [], note)
        else:
            scanned = _scan(monthly.orders[inside].sum(axis=0), low, high, window, confidence)
            if scanned is None:
                note = (
                    "the orders' shipping fees show no threshold, and no round number has "
                    "a clear bunching of orders just above it"
                )
                return _Found(None, None, "none", "none", None, [], note)
            t_scan, scan_fit = scanned
            months = [monthly.months[i] for i in inside]
            note = "against a smooth curve fitted outside the affected region"
            return _Found(
                scan_fit,
                t_scan,
                "bunching",
                "smooth",
                _default_window(t_scan, window),
                months,
                note,
            )
    # The evidence works on one-unit bins: a threshold of 49.90 is examined at 50.
    at = float(round(current))
    w = _default_window(at, window)

    def differs(t_month: float | None, by: float) -> bool:
        return t_month is not None and abs(t_month - at) > by

    # This regime: the window's months under this threshold (or none read, if given).
    regime = [i for i in inside if found[i] is not None and not differs(found[i], 1.0)]
    if found_by == "given":
        regime += [i for i in inside if found[i] is None]
    regime = sorted(regime) or inside
    # The reference: months whose threshold (if any) is more than W away.
    others = [
        i
        for i in range(len(monthly.months))
        if i not in regime and (found[i] is None or differs(found[i], w))
    ]
    edges, width = _grid(at, w, monthly.cap)
    months = [monthly.months[i] for i in regime]
    if len(edges) < 8:
        return _Found(None, at, found_by, "none", w, months, "too few value bins around it")
    counts = _rebin(monthly.orders[regime].sum(axis=0), edges, width)
    fit: _Fit | None = None
    method = "smooth"
    if others:
        reference = _rebin(monthly.orders[others].sum(axis=0), edges, width)
        if reference.sum() >= _MIN_EVIDENCE_ORDERS:
            fit = _estimate(edges, counts, at, w, confidence, reference)
            method = "reference"
    if fit is None:
        method = "smooth"
        fit = _estimate(edges, counts, at, w, confidence)
    note = (
        "compared with the months under another threshold"
        if method == "reference"
        else "against a smooth curve fitted outside the affected region"
    )
    return _Found(fit, at, found_by, method if fit else "none", w, months, note)


def _months_of(when: str) -> list[str]:
    window = periods.parse_window(when)
    out, day = [], window.start.replace(day=1)
    while day < window.end:
        out.append(f"{day:%Y-%m}")
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return out


# --------------------------------------------------------------------------- results

THRESHOLD_FORMATS: Formats = {
    "threshold": "money",
    "above_aov_pct": "share",
    "orders_within_reach": "count",
    "share_within_reach": "share",
    "aov_after": "money",
    "revenue_change": "change",
    "shipping_cost_change": "money",
    "margin_change": "change",
    "top_up_share": "share",
    "rule_of_thumb": "text",
}
#: The figures of every threshold row in the CLI's JSON.
ROW_KEYS: tuple[str, ...] = (
    "threshold",
    "above_aov_pct",
    "orders_within_reach",
    "share_within_reach",
    "aov_after",
    "revenue_change",
    "shipping_cost_change",
    "margin_change",
)


_FOUND_BY = {
    "given": "as given",
    "fees": "read from the shipping fees",
    "bunching": "detected as a bunching of orders just above it",
}


@dataclass(repr=False)
class TopUpEvidence(Result):
    """The observed top-up share around a threshold: ``table`` holds the histogram and fit."""

    threshold: float | None = None
    detected: bool = False
    found_by: str = "none"
    top_up_share: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    missing_mass: float | None = None
    excess_mass: float | None = None
    counterfactual_mass: float | None = None
    window: float | None = None
    bins: int = 0
    method: str = "none"
    dispersion: float | None = None
    confidence: float = 0.95
    period: str = ""
    months: list[str] = field(default_factory=list)
    note: str = ""
    formats: ClassVar[Formats] = {
        "bin_start": "money",
        "bin_end": "money",
        "bin_mid": "money",
        "orders": "count",
        "counterfactual": "number",
        "in_fit": "flag",
    }

    def _headline(self) -> str:
        money = fmt.in_currency(self.currency)[0]
        how = _FOUND_BY.get(self.found_by, "")
        if self.threshold is None:
            return f"No free-shipping threshold found in {self.period}: {self.note}."
        if self.top_up_share is None:
            return (
                f"The free-shipping threshold of {money(self.threshold)} "
                f"({how}) has "
                f"too few orders around it to measure how many top up."
            )
        return (
            f"Of the orders that would have fallen within {money(self.window)} below the "
            f"{money(self.threshold)} free-shipping threshold ({how}), about "
            f"{fmt.pct(self.top_up_share, digits=0)} topped up to reach it "
            f"({fmt.pct(self.confidence, digits=0)} interval {fmt.pct(self.ci_low, digits=0)} "
            f"to {fmt.pct(self.ci_high, digits=0)}; {self.note}, {self.period})."
        )

    def sections(self) -> list[Section]:
        """The share with its interval and the masses behind it (the bins are the chart's)."""
        if self.threshold is None:
            return []
        frame = nw.from_dict(
            {
                "threshold": [self.threshold],
                "window": [self.window],
                "top_up_share": [self.top_up_share],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "missing_mass": [self.missing_mass],
                "excess_mass": [self.excess_mass],
            },
            backend=nw.get_native_namespace(nw.from_native(self.table, eager_only=True)),
        )
        formats: Formats = {
            "threshold": "money",
            "window": "money",
            "top_up_share": "share",
            "ci_low": "share",
            "ci_high": "share",
            "missing_mass": "count",
            "excess_mass": "count",
        }
        return [Section(frame.to_native(), formats)]

    def chart(self) -> Any:
        """The histogram around the threshold (bars) and the counterfactual fit (line)."""
        import altair as alt

        from aovlab import charts

        frame = nw.from_native(self.table, eager_only=True)
        if self.threshold is None or not len(frame):
            return charts.message(self.headline)
        data = charts._data(frame)
        base = alt.Chart(data)
        bars = (
            base.transform_calculate(
                region="datum.in_fit ? 'outside it: the fit' : 'where orders top up'"
            )
            .mark_bar(opacity=0.6)
            .encode(
                x=alt.X(
                    "bin_start:Q",
                    title=f"Order value ({self.currency or ''})",
                    scale=alt.Scale(zero=False),
                ),
                x2="bin_end:Q",
                y=alt.Y("orders:Q", title="Orders"),
                y2=alt.datum(0),
                color=alt.Color("region:N", title="Order values"),
            )
        )
        line = base.mark_line(color="#b5443b").encode(x="bin_mid:Q", y="counterfactual:Q")
        rule = (
            alt.Chart(charts._data(nw.from_dict({"t": [self.threshold]}, backend="polars")))
            .mark_rule(strokeDash=[4, 3])
            .encode(x="t:Q")
        )
        return alt.layer(bars, line, rule).properties(
            title=alt.TitleParams(
                f"Order values around the {fmt.money(self.threshold, self.currency)} threshold",
                subtitle="Bars: orders; line: the orders expected without the threshold",
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values: the threshold, the share with its interval and the masses."""
        return {
            "headline": self.headline,
            "currency": self.currency,
            "threshold": self.threshold,
            "detected": self.detected,
            "found_by": self.found_by,
            "top_up_share": _r(self.top_up_share, 4),
            "ci_low": _r(self.ci_low, 4),
            "ci_high": _r(self.ci_high, 4),
            "missing_mass": _r(self.missing_mass, 1),
            "excess_mass": _r(self.excess_mass, 1),
            "window": _r(self.window, 2),
            "bins": self.bins,
            "method": self.method,
            "period": self.period,
        }


@dataclass(repr=False)
class Threshold(Result):
    """Candidate free-shipping thresholds: ``table`` has one row per candidate."""

    aov: float = 0.0
    orders: int = 0
    top_up_share_used: float = DEFAULT_TOP_UP_SHARE
    top_up_source: str = "default"
    observed_top_up_share: float | None = None
    observed_ci: tuple[float, float] | None = None
    current_threshold: float | None = None
    window: float = 0.20
    margin_rate: float | None = None
    period: str = ""
    histogram: Any = None
    #: The fee an order newly below a threshold pays (0: unknown, no order pays one).
    new_fee: float = 0.0
    formats: ClassVar[Formats] = THRESHOLD_FORMATS

    def _headline(self) -> str:
        return _threshold_headline(self)

    def sections(self) -> list[Section]:
        """The candidates, with a note on the model."""
        note = (
            f"Orders within reach: worth {fmt.pct(1 - self.window, digits=0)} of a threshold "
            f"up to it; {fmt.pct(self.top_up_share_used, digits=0)} of them top up "
            f"({self.top_up_source}). Shipping: net fees the shop gives up."
        )
        # The share is the same on every row: it is in the note.
        shown = nw.from_native(self.table, eager_only=True).drop("top_up_share")
        return [Section(shown.to_native(), self.formats, note=note)]

    def chart(self) -> Any:
        """The order-value histogram with the candidates marked, over the margin curve."""
        import altair as alt

        from aovlab import charts

        table = nw.from_native(self.table, eager_only=True)
        hist = nw.from_native(self.histogram, eager_only=True)
        if not len(table):
            return charts.message(self.headline)
        axis = alt.X("threshold:Q", title=f"Order value / threshold ({self.currency or ''})")
        bars = (
            alt.Chart(charts._data(hist))
            .mark_bar(opacity=0.5, color="#8c8c8c")
            .encode(
                x=alt.X(
                    "bin_start:Q",
                    title=f"Order value ({self.currency or ''})",
                    scale=alt.Scale(zero=False),
                ),
                x2="bin_end:Q",
                y=alt.Y("orders:Q", title="Orders"),
                y2=alt.datum(0),
            )
        )
        candidates = alt.Chart(charts._data(table.select("threshold", "rule_of_thumb")))
        marks = alt.layer(
            candidates.mark_rule(color="#1f5f8b").encode(
                x="threshold:Q", tooltip=["threshold:Q", "rule_of_thumb:N"]
            ),
            candidates.mark_text(angle=270, align="left", dx=4, dy=-4, fontSize=10).encode(
                x="threshold:Q", y=alt.value(4), text=alt.Text("threshold:Q", format=".0f")
            ),
        )
        top = alt.layer(bars, marks).properties(height=220, title="Order values and candidates")
        if table["margin_change"].null_count() == len(table):
            measure, title = "revenue_change", "Revenue change (margin needs unit costs)"
        else:
            measure, title = "margin_change", "Margin change"
        curve = (
            alt.Chart(charts._data(table.select("threshold", measure, "rule_of_thumb")))
            .mark_line(point=True)
            .encode(x=axis, y=alt.Y(f"{measure}:Q", title=title), tooltip=["rule_of_thumb:N"])
            .properties(height=200)
        )
        return alt.vconcat(top, curve)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: aov, thresholds, observed_top_up_share and the settings used."""
        rows = [{k: row[k] for k in ROW_KEYS} for row in self.rows()]
        return {
            "headline": self.headline,
            "currency": self.currency,
            "aov": _r(self.aov, 2),
            "thresholds": rows,
            "observed_top_up_share": _r(self.observed_top_up_share, 4),
            "top_up_share_used": _r(self.top_up_share_used, 4),
            "current_threshold": self.current_threshold,
        }


@dataclass(repr=False)
class SpendOffer(Result):
    """A spend-threshold discount: cost on orders already above, margin from those pulled up."""

    threshold: float = 0.0
    discount: float = 0.0
    top_up_share: float = DEFAULT_TOP_UP_SHARE
    top_up_source: str = "default"
    orders_above: int = 0
    orders_within_reach: int = 0
    discount_cost: float = 0.0
    margin_gained: float | None = None
    margin_change: float | None = None
    revenue_change: float = 0.0
    break_even_share: float | None = None
    period: str = ""
    formats: ClassVar[Formats] = {
        "threshold": "money",
        "discount": "money",
        "orders_above": "count",
        "orders_within_reach": "count",
        "top_up_share": "share",
        "discount_cost": "money",
        "margin_gained": "money",
        "margin_change": "change",
        "revenue_change": "change",
        "break_even_share": "share",
    }

    def _headline(self) -> str:
        money = fmt.in_currency(self.currency)[0]
        offer = f"'{money(self.discount)} off over {money(self.threshold)}'"
        if self.margin_change is None:
            return (
                f"{offer} would give {_amount(self.discount_cost, self.currency)} away on "
                f"{fmt.count(self.orders_above)} orders already above it ({self.period}); "
                f"what the orders it pulls up earn needs unit costs."
            )
        verdict = "pays" if self.margin_change > 0 else "does not pay"
        tail = (
            f"it breaks even if {fmt.pct(self.break_even_share, digits=0)} of them top up"
            if self.break_even_share is not None and self.break_even_share <= 1
            else "no top-up share makes it pay"
        )
        return (
            f"{offer} {verdict}: {_amount(self.margin_change, self.currency, signed=True)} of "
            f"margin ({self.period}) if {fmt.pct(self.top_up_share, digits=0)} of the "
            f"{fmt.count(self.orders_within_reach)} orders within reach top up "
            f"({self.top_up_source}), against {_amount(self.discount_cost, self.currency)} given "
            f"to {fmt.count(self.orders_above)} orders already above it; {tail}."
        )

    def chart(self) -> Any:
        """The discount's cost against the margin it brings, as two bars."""
        import altair as alt

        from aovlab import charts

        if self.margin_gained is None:
            return charts.message(self.headline)
        data = nw.from_dict(
            {
                "part": ["discount on orders already above", "margin from orders pulled up"],
                "amount": [-self.discount_cost, self.margin_gained],
            },
            backend="pandas",
        )
        return (
            alt.Chart(charts._data(data))
            .mark_bar()
            .encode(
                y=alt.Y("part:N", title=None),
                x=alt.X("amount:Q", title=f"Margin ({self.currency or ''})"),
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values: the offer, the orders it touches, its cost, gain and break-even."""
        row = self.rows()[0]
        return {"headline": self.headline, "currency": self.currency, **row}


def _r(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


# --------------------------------------------------------------------------- analyses


def top_up_evidence(
    shop: ShopData,
    *,
    current: float | None = None,
    when: str | None = None,
    window: float | None = None,
    confidence: float = 0.95,
) -> TopUpEvidence:
    """The share of orders just below a free-shipping threshold that topped up to it.

    The threshold is ``current`` or, without it, detected from the orders' shipping
    fees (the value from which the orders of ``when``'s months ship free). Around it,
    the orders per value bin are compared with a counterfactual fitted outside the
    affected region (see the module notes): the missing mass in ``[T - W, T)`` over
    the counterfactual mass there is the observed top-up share.

    Parameters
    ----------
    shop : ShopData
        The shop (orders with ``shipping``; ``merchandise`` and ``discount``).
    current : float, optional
        The threshold in force; detected from the shipping fees when omitted.
    when : str, optional
        The period; default the 12 months ending with the last counted order's month.
    window : float, optional
        The top-up window ``W`` in money (orders worth ``T - W`` up to ``T``); default
        20 % of the threshold.
    confidence : float
        The interval's level.

    Returns
    -------
    TopUpEvidence

    Examples
    --------
    >>> import aovlab
    >>> ev = top_up_evidence(aovlab.sample.load(), window=15)
    >>> ev.threshold, ev.detected, ev.ci_low < 0.4 < ev.ci_high
    (79.0, True, True)
    """
    confidence = intervals.check_confidence(confidence)
    current = _check_amount(current, "current")
    if window is not None:
        _check_amount(window, "window")
    period = _default_when(shop, when)
    found = _evidence(shop, period, current, window, confidence)
    return _evidence_result(shop, period, found, confidence)


def _evidence_result(
    shop: ShopData, period: str, found: _Found, confidence: float
) -> TopUpEvidence:
    fit, t, w, months, note = found.fit, found.threshold, found.window, found.months, found.note
    detected = found.found_by in ("fees", "bunching")
    native = namespace(shop)
    if fit is None:
        table = small_frame(
            {
                "bin_start": np.array([], float),
                "bin_end": np.array([], float),
                "bin_mid": np.array([], float),
                "orders": np.array([], int),
                "counterfactual": np.array([], float),
                "in_fit": np.array([], bool),
            },
            native,
        )
        return TopUpEvidence(
            table=table.to_native(),
            currency=shop.currency,
            threshold=t,
            detected=detected,
            found_by=found.found_by,
            window=w,
            method="none",
            confidence=confidence,
            period=period,
            months=months,
            note=note,
        )
    edges = fit.edges
    table = small_frame(
        {
            "bin_start": edges[:-1].copy(),
            "bin_end": edges[1:].copy(),
            "bin_mid": (edges[:-1] + edges[1:]) / 2,
            "orders": fit.counts.astype(int),
            "counterfactual": fit.fitted,
            "in_fit": fit.fit_bins.tolist(),
        },
        native,
    )
    return TopUpEvidence(
        table=table.to_native(),
        currency=shop.currency,
        threshold=t,
        detected=detected,
        found_by=found.found_by,
        top_up_share=fit.share,
        ci_low=fit.ci_low,
        ci_high=fit.ci_high,
        missing_mass=fit.missing,
        excess_mass=fit.excess,
        counterfactual_mass=fit.counterfactual,
        window=w,
        bins=len(edges) - 1,
        method=found.method,
        dispersion=fit.dispersion,
        confidence=confidence,
        period=period,
        months=months,
        note=note,
    )


def _share_to_use(
    shop: ShopData, period: str, given: float | None, current: float | None
) -> tuple[float, str, TopUpEvidence]:
    """The top-up share: given, else observed in the shop's history, else the default.

    The evidence is looked at either way: the observed share is reported beside a
    given one.
    """
    evidence = top_up_evidence(shop, current=current, when=period)
    if given is not None:
        return given, "as given", evidence
    if evidence.top_up_share is not None:
        share = min(1.0, max(0.0, evidence.top_up_share))
        return share, "as observed at the current threshold", evidence
    return DEFAULT_TOP_UP_SHARE, "assumed: no threshold in the data to observe", evidence


def threshold(
    shop: ShopData,
    *,
    candidates: Sequence[float] | None = None,
    current: float | None = None,
    shipping_cost: float | None = None,
    top_up_share: float | None = None,
    window: float = 0.20,
    when: str | None = None,
    steps: int = 11,
) -> Threshold:
    """What candidate free-shipping thresholds do to AOV, revenue, shipping and margin.

    Candidates are today's AOV x (1 + 0 %, 5 %, ... ) (``steps`` of them; 11 reach
    +50 %) and any ``candidates`` passed. The model is in the module notes: a share of
    the orders within ``window`` below a threshold tops up to it.

    Parameters
    ----------
    shop : ShopData
        The shop (orders with ``shipping``; ``cogs`` for the margin).
    candidates : list of float, optional
        Thresholds to evaluate besides the AOV steps.
    current : float, optional
        Today's threshold; detected from the shipping fees when omitted.
    shipping_cost : float, optional
        The shop's cost per parcel: used as the fee a newly paying order pays when no
        order pays a fee today (the shop's cost itself is paid either way).
    top_up_share : float, optional
        The share of orders within reach that top up; default the share observed at
        the current threshold (:func:`top_up_evidence`), else 0.30.
    window : float
        The reach as a share of the threshold (default 0.20).
    when : str, optional
        Default: the 12 months ending with the last counted order's month.
    steps : int
        How many AOV steps of 5 %.

    Returns
    -------
    Threshold

    Examples
    --------
    >>> import aovlab
    >>> res = threshold(aovlab.sample.load(), top_up_share=0.4, candidates=[99])
    >>> [(r["threshold"], r["margin_change"]) for r in res.to_dict()["thresholds"][:2]]
    [(79.0, 0.0), (99.0, 8571.01)]
    """
    window = _check_window(window)
    extra = _check_candidates(candidates)
    share = _check_share(top_up_share)
    current = _check_amount(current, "current")
    shipping_cost = _check_amount(shipping_cost, "shipping_cost", positive=False)
    steps = _check_steps(steps)
    period = _default_when(shop, when)
    frame = _orders(shop, period)
    totals = frame.select(nw.len().alias("n"), nw.col("v").sum().alias("v")).pipe(collected).row(0)
    if not totals[0]:
        raise _no_orders(shop, period)
    aov = float(totals[1]) / totals[0]
    pcts = [0.05 * k for k in range(steps)]
    # Thresholds a shop would set: whole currency units.
    values = [float(round(aov * (1 + p))) for p in pcts] + extra
    if not values:
        raise AovlabInputError(
            "no threshold to evaluate",
            expected="candidates, or steps of 1 or more",
            found="steps=0 and no candidates",
        )
    used, source, evidence = _share_to_use(shop, period, share, current)
    t_now = current if current is not None else evidence.threshold
    if t_now is not None:
        values.append(float(t_now))  # today's threshold: the row every change starts from
    thresholds = np.array(sorted(set(values)), dtype=float)
    bins = _sweep_bins(shop, period, float(thresholds.max()))
    typical = bins.fee_paid_median if bins.fee_paid_median is not None else (shipping_cost or 0.0)
    # Who ships free because of a threshold: the orders from today's threshold up; with
    # none known, those worth more than every order that paid a fee (none paid: all).
    # Orders that ship free below that do so for another reason (a code, a promotion).
    paid = bins.fee_sum > 0
    if t_now is not None:
        free_from = float(t_now)
    else:
        free_from = float(bins.value[paid].max()) + 0.005 if paid.any() else 0.0
    sweep = _sweep(bins, thresholds, used, window, typical_fee=typical, free_from=free_from)
    result = _against_today(bins, sweep, thresholds, t_now)
    above = thresholds / aov - 1
    rules = _rules(above)
    native = namespace(shop)
    table = small_frame(
        {
            "threshold": thresholds,
            "above_aov_pct": above,
            "orders_within_reach": result.orders_within_reach.round().astype(int),
            "share_within_reach": result.orders_within_reach / bins.total_orders,
            "aov_after": result.aov_after,
            "revenue_change": result.revenue_change,
            "shipping_cost_change": result.shipping_cost_change,
            "margin_change": result.margin_change,
            "top_up_share": np.full(len(thresholds), used),
            "rule_of_thumb": rules,
        },
        native,
    )
    observed = evidence.top_up_share
    ci = (
        (evidence.ci_low, evidence.ci_high)
        if evidence.ci_low is not None and evidence.ci_high is not None
        else None
    )
    return Threshold(
        table=table.to_native(),
        currency=shop.currency,
        aov=aov,
        orders=bins.total_orders,
        top_up_share_used=used,
        top_up_source=source,
        observed_top_up_share=observed,
        observed_ci=ci,
        current_threshold=t_now,
        window=window,
        margin_rate=bins.margin_rate,
        period=period,
        histogram=_histogram(bins, thresholds, window, native).to_native(),
        new_fee=typical,
    )


def _rules(above: np.ndarray) -> list[str]:
    """Each rule of thumb on the candidate nearest each percentage it names."""
    out = [""] * len(above)
    for label, pcts in RULES.items():
        for p in pcts:
            i = int(np.argmin(np.abs(above - p)))
            if abs(above[i] - p) <= 0.025:
                out[i] = label
    return out


def _histogram(bins: _Bins, thresholds: np.ndarray, window: float, native: Any) -> Any:
    """Orders per bin over the candidates' range, for the chart (at most 200 bins)."""
    lo = float(thresholds.min()) * (1 - 2 * window)
    hi = float(thresholds.max()) * (1 + window)
    width = max(0.5, round((hi - lo) / 100 * 2) / 2)
    edges = np.arange(math.floor(lo / width) * width, hi + width, width)
    counts, _ = np.histogram(bins.value, bins=edges, weights=bins.orders)
    return small_frame(
        {"bin_start": edges[:-1].copy(), "bin_end": edges[1:].copy(), "orders": counts.astype(int)},
        native,
    )


def _amount(value: float, currency: str | None, *, signed: bool = False) -> str:
    """Money for a headline: whole units from 100 up (cents are noise there)."""
    digits = 0 if abs(value) >= 100 else 2
    return fmt.money(value, currency, digits=digits, signed=signed)


def _threshold_headline(res: Threshold) -> str:
    money = fmt.in_currency(res.currency)[0]
    frame = nw.from_native(res.table, eager_only=True)
    rows = list(frame.iter_rows(named=True))
    margin = res.margin_rate is not None

    def score(row: dict[str, Any]) -> float:
        # Without unit costs the shipping fees given up still count against revenue.
        if margin:
            return float(row["margin_change"])
        return float(row["revenue_change"] - row["shipping_cost_change"])

    def place(row: dict[str, Any]) -> str:
        pct = row["above_aov_pct"]
        if round(pct, 2) == 0:
            return f"today's AOV of {money(res.aov)}"
        side = "above" if pct >= 0 else "below"
        return f"{fmt.pct(abs(pct), digits=0)} {side} today's AOV of {money(res.aov)}"

    best = max(rows, key=score)
    gain = score(best)
    what = "margin" if margin else "revenue net of shipping fees (margin needs unit costs)"
    today = res.current_threshold
    within = fmt.counted(int(best["orders_within_reach"]), "order")
    share = f"{fmt.pct(res.top_up_share_used, digits=0)} of the orders within reach"
    others = [r for r in rows if today is None or r["threshold"] != today]
    if today is not None and best["threshold"] == today and others:
        runner = max(others, key=score)
        text = (
            f"Today's free-shipping threshold of {money(today)} does best in {res.period}: "
            f"the next best of the {len(rows)} candidates, {money(runner['threshold'])} "
            f"({place(runner)}), would change {what} by "
            f"{_amount(score(runner), res.currency, signed=True)} if {share} top up "
            f"({res.top_up_source})"
        )
    elif gain > 0:
        text = (
            f"A free-shipping threshold of {money(best['threshold'])} ({place(best)}) would add "
            f"{_amount(gain, res.currency)} of {what} in {res.period} if "
            f"{fmt.pct(res.top_up_share_used, digits=0)} of the {within} within reach top up "
            f"({res.top_up_source}), the best of the {len(rows)} candidates"
        )
    else:
        text = (
            f"No candidate threshold adds {what} in {res.period}: the least costly of the "
            f"{len(rows)}, {money(best['threshold'])} ({place(best)}), would change it by "
            f"{_amount(gain, res.currency, signed=True)} if "
            f"{fmt.pct(res.top_up_share_used, digits=0)} of the {within} within reach top up "
            f"({res.top_up_source})"
        )
    fees = best["shipping_cost_change"]
    if fees is not None and fees < 0 and gain > 0:
        text += (
            f" ({_amount(-fees, res.currency)} of it shipping fees from orders that ship free "
            f"today and would pay, if none of them is lost)"
        )
    ruled = {label: [r for r in rows if r["rule_of_thumb"] == label] for label in RULES}
    if all(ruled.values()):
        scores = {label: max(score(r) for r in rs) for label, rs in ruled.items()}
        first, second = sorted(scores, key=lambda k: scores[k], reverse=True)
        verb = "fits better than" if scores[first] > 0 else "loses less than"
        text += f"; the '{first}' rule {verb} '{second}'"
    if res.observed_top_up_share is not None and res.observed_ci is not None:
        text += (
            f". At today's {money(res.current_threshold)} threshold "
            f"{fmt.pct(res.observed_top_up_share, digits=0)} of the orders within reach topped "
            f"up (interval {fmt.pct(res.observed_ci[0], digits=0)} to "
            f"{fmt.pct(res.observed_ci[1], digits=0)})"
        )
    if res.new_fee == 0 and today is None:
        text += (
            f". No order pays for shipping in {res.period}, so the fees that orders below a "
            "new threshold would pay are not counted: give the fee as shipping_cost "
            "(--shipping-cost)"
        )
    return text + "."


def spend_offer(
    shop: ShopData,
    *,
    threshold: float,
    discount: float,
    top_up_share: float | None = None,
    window: float = 0.20,
    when: str | None = None,
) -> SpendOffer:
    """A spend-threshold discount ("€10 off over €100"): what it costs and what it brings.

    Orders already at or above ``threshold`` get ``discount`` for nothing (its cost);
    a share of the orders within reach (worth ``threshold x (1 - window)`` up to it) top
    up to the threshold: each adds ``threshold - v`` of merchandise, earning the margin
    rate on it, and takes the discount too. ``margin_change`` = ``s x sum(r (t - v) -
    d)`` - ``d x orders above``; the break-even share is where that is 0.

    Examples
    --------
    >>> import aovlab
    >>> res = spend_offer(aovlab.sample.load(), threshold=100, discount=10, top_up_share=0.3)
    >>> res.orders_above > res.orders_within_reach
    True
    """
    window = _check_window(window)
    share = _check_share(top_up_share)
    t = _check_amount(threshold, "threshold")
    d = _check_amount(discount, "discount")
    assert t is not None and d is not None
    if d >= t:
        raise AovlabInputError(
            "the discount is not below the threshold",
            expected="a discount smaller than the spend threshold",
            found=f"discount {d}, threshold {t}",
        )
    period = _default_when(shop, when)
    bins = _sweep_bins(shop, period, t)
    if share is None:
        share, source = DEFAULT_TOP_UP_SHARE, "assumed"
    else:
        source = "as given"
    sweep = _sweep(bins, np.array([t]), share, window, typical_fee=0.0)
    n_above = float(sweep.orders_above[0])
    n_reach = float(sweep.orders_within_reach[0])
    gap = float(sweep.gap[0])
    cost = d * n_above
    revenue = share * gap - d * (n_above + share * n_reach)
    rate = bins.margin_rate
    if rate is None:
        gained = change = breakeven = None
    else:
        per_share = rate * gap - d * n_reach
        gained = share * per_share
        change = gained - cost
        breakeven = cost / per_share if per_share > 0 else None
    native = namespace(shop)
    table = small_frame(
        {
            "threshold": [t],
            "discount": [d],
            "orders_above": [round(n_above)],
            "orders_within_reach": [round(n_reach)],
            "top_up_share": [share],
            "discount_cost": [cost],
            "margin_gained": np.array([np.nan if gained is None else gained]),
            "margin_change": np.array([np.nan if change is None else change]),
            "revenue_change": [revenue],
            "break_even_share": np.array([np.nan if breakeven is None else breakeven]),
        },
        native,
    )
    return SpendOffer(
        table=table.to_native(),
        currency=shop.currency,
        threshold=t,
        discount=d,
        top_up_share=share,
        top_up_source=source,
        orders_above=round(n_above),
        orders_within_reach=round(n_reach),
        discount_cost=cost,
        margin_gained=gained,
        margin_change=change,
        revenue_change=revenue,
        break_even_share=breakeven,
        period=period,
    )
