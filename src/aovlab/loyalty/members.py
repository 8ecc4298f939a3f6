"""Members against non-members in one window: a comparison, with intervals, not an effect.

:func:`compare_members` splits the registered customers who placed at least one counted
order in the window by loyalty membership at the window's end, and gives per group:
customers, orders, AOV, orders per customer, revenue per customer, margin per customer
and repeat rate (share with two or more orders in the window), each with a confidence
interval, and the member - non-member gap of each.

The gap is **not** what the programme did: who joins is not random (heavy buyers join
more often), so the naive gap mixes the programme's effect with selection. The
difference-in-differences in :mod:`aovlab.loyalty.effect` separates the two; the
headline says so.

**Intervals.** The customer is the unit: one customer's orders are not independent (a
big spender's baskets are all big), so an interval that treats orders as independent
is too narrow. Every interval here is computed from per-group power sums of per-customer
figures, which the engine aggregates in one query (no order and no customer leaves it):

- AOV is a ratio estimator, ``sum r_i / sum n_i`` over customers ``i`` (``r`` revenue,
  ``n`` orders). Its delta-method (cluster-robust, "linearised") standard error is
  ``sqrt(s^2 / N) / mean(n)`` with ``s^2`` the sample variance of the residuals
  ``r_i - AOV n_i``; it needs only ``N``, ``sum r``, ``sum n``, ``sum r^2``, ``sum n^2``
  and ``sum r n`` (:func:`ratio_interval`); it is the cluster-robust standard error of
  statsmodels' OLS on the orders with customers as clusters (the tests check this on
  the sample). Chosen over a bootstrap over customers because it needs no resampling
  and no per-customer row outside the engine, for the same answer: on the sample's
  last 12 months a percentile bootstrap over customers (4,999 resamples) gives members
  €123.74 to €131.43 and non-members €115.72 to €121.76, this interval €123.62 to
  €131.42 and €115.71 to €121.72 (standard errors 1.999 and 1.990, 1.530 and 1.533).
  Coverage measured by simulation in
  ``tests/test_loyalty_members.py`` (2,000 runs; gamma-distributed order rates,
  customer-level basket means, lognormal orders): 94.0 % at 400 customers and 92.6 %
  at 50, where a t interval that treats the orders as independent holds the true AOV
  in 82.5 % of runs.
- Orders, revenue and margin per customer are plain means over customers: the
  skew-corrected t interval of :func:`aovlab.intervals.mean_intervals`, from each
  group's count, mean, standard deviation and skewness (power sums up to cubes).
- Repeat rate: Wilson's interval (``statsmodels``).
- Gaps: Welch's interval for a difference of means (:func:`aovlab.pricing.abtest.welch`;
  for AOV with the delta-method standard errors), the score interval for the difference
  of repeat rates (:func:`aovlab.pricing.abtest.proportions`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import narwhals.stable.v2 as nw
import numpy as np
from scipy import stats

from aovlab import fmt, intervals, metrics, periods
from aovlab.compare import counted_span, namespace, no_counted_orders, small_frame
from aovlab.display import VALUE_WORDS
from aovlab.errors import AovlabInputError
from aovlab.loyalty import base
from aovlab.model import ShopData, collected, finite_or_none
from aovlab.pricing.abtest import moments as power_moments
from aovlab.pricing.abtest import proportions, welch
from aovlab.results import Formats, Result, Section

__all__ = [
    "GROUPS",
    "MEASURES",
    "Members",
    "compare_members",
    "ratio_interval",
]

#: The two groups, in table order.
GROUPS: tuple[str, ...] = ("member", "non_member")

#: The measures compared, each with its interval columns ``<measure>_ci_low/_ci_high``.
MEASURES: tuple[str, ...] = (
    "aov",
    "orders_per_customer",
    "revenue_per_customer",
    "margin_per_customer",
    "repeat_rate",
)

_MEASURE_WORDS = {
    "aov": "AOV",
    "orders_per_customer": "Orders per customer",
    "revenue_per_customer": "Revenue per customer",
    "margin_per_customer": "Margin per customer",
    "repeat_rate": "Repeat rate",
}
_KINDS = {
    "aov": "money",
    "orders_per_customer": "number",
    "revenue_per_customer": "money",
    "margin_per_customer": "money",
    "repeat_rate": "share",
}

MEMBER_FORMATS: Formats = {
    "group": "text",
    "customers": "count",
    "orders": "count",
    "repeat_customers": "count",
    **{f"{m}{suffix}": _KINDS[m] for m in MEASURES for suffix in ("", "_ci_low", "_ci_high")},
}

GAP_FORMATS: Formats = {
    "measure": "text",
    "member": "number",
    "non_member": "number",
    "gap": "number",
    "ci_low": "number",
    "ci_high": "number",
}


# --------------------------------------------------------------------------- intervals


def ratio_interval(
    customers: Any,
    sum_y: Any,
    sum_x: Any,
    sum_yy: Any,
    sum_xx: Any,
    sum_xy: Any,
    confidence: float = intervals.CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A ratio of sums over clusters, ``sum y / sum x``, with its delta-method interval.

    The clusters (customers) are the independent units: ``y_i`` and ``x_i`` are one
    customer's revenue and orders, and AOV is ``R = sum y / sum x``. The linearised
    (cluster-robust) variance is ``s^2 / (N mean(x)^2)``, where ``s^2`` is the sample
    variance (``ddof=1``) of ``y_i - R x_i``, written with power sums so that an engine
    can give them::

        s^2 = (sum y^2 - 2 R sum xy + R^2 sum x^2) / (N - 1)

    The interval is ``R ± t(N - 1) se``.

    Parameters
    ----------
    customers, sum_y, sum_x, sum_yy, sum_xx, sum_xy
        Per group: the number of clusters and the sums over them (arrays or scalars).
    confidence
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    estimate, se, low, high : numpy.ndarray
        The ratio, its standard error and the bounds (NaN under two clusters).

    Examples
    --------
    Three customers: 1 order of 10, 2 orders worth 50 in all, 1 order of 30. AOV is
    90 / 4 = 22.5; the residuals are -12.5, 5 and 7.5, so ``s^2`` = 237.5 / 2 = 118.75
    and se = sqrt(118.75 / 3) / (4 / 3) = 4.7186; t(2) = 4.303:

    >>> est, se, low, high = ratio_interval(3, 90.0, 4.0, 3500.0, 6.0, 140.0)
    >>> float(est[0]), round(float(se[0]), 4), round(float(low[0]), 2), round(float(high[0]), 2)
    (22.5, 4.7186, 2.2, 42.8)
    """
    confidence = intervals.check_confidence(confidence)
    n, y, x, yy, xx, xy = (
        np.atleast_1d(np.asarray(a, dtype=float))
        for a in (customers, sum_y, sum_x, sum_yy, sum_xx, sum_xy)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(x > 0, y / np.where(x > 0, x, 1.0), np.nan)
        resid = np.maximum(yy - 2 * est * xy + est**2 * xx, 0.0) / (n - 1)
        se = np.where(n >= 2, np.sqrt(resid / n) / (x / n), np.nan)
        q = stats.t.ppf((1 + confidence) / 2, np.maximum(n - 1, 1))
    return est, se, est - q * se, est + q * se


# --------------------------------------------------------------------------- result


@dataclass(repr=False)
class Members(Result):
    """Members against non-members in one window: a comparison, not the programme's effect.

    ``table``: one row per group (``member``, ``non_member``) with ``customers``,
    ``orders``, ``repeat_customers`` and each of :data:`MEASURES` with its interval
    (``aov_ci_low``, ``aov_ci_high``, ...); ``margin_per_customer`` is null where unit
    costs are unknown for some of a group's orders. ``gaps``: per measure, member -
    non-member with its interval (``measure``, ``member``, ``non_member``, ``gap``,
    ``ci_low``, ``ci_high``). ``naive_aov_gap`` is the AOV row of ``gaps``.
    """

    gaps: Any = None
    period: str = ""
    basis: str = "net"
    confidence: float = intervals.CONFIDENCE
    formats: ClassVar[Formats] = MEMBER_FORMATS

    def _headline(self) -> str:
        return _headline(self)

    def group(self, name: str) -> dict[str, Any]:
        """One group's row as plain values (``"member"`` or ``"non_member"``)."""
        for row in self.rows():
            if row["group"] == name:
                return row
        raise KeyError(name)

    def gap(self, measure: str) -> dict[str, Any]:
        """One measure's gap, member - non-member: ``estimate``, ``ci_low``, ``ci_high``."""
        frame = nw.from_native(self.gaps, eager_only=True)
        for row in frame.iter_rows(named=True):
            if row["measure"] == measure:
                digits = 6 if _KINDS[measure] in ("share", "number") else 2
                return {
                    "estimate": _round(row["gap"], digits),
                    "ci_low": _round(row["ci_low"], digits),
                    "ci_high": _round(row["ci_high"], digits),
                }
        raise KeyError(measure)

    @property
    def naive_aov_gap(self) -> dict[str, Any]:
        """Members' AOV minus non-members' with its interval (a comparison, not an effect)."""
        return self.gap("aov")

    def sections(self) -> list[Section]:
        """One row per measure: members, non-members and the gap, each with its interval."""
        table = nw.from_native(self.table, eager_only=True)
        groups = {row["group"]: row for row in table.iter_rows(named=True)}
        gaps = {
            row["measure"]: row
            for row in nw.from_native(self.gaps, eager_only=True).iter_rows(named=True)
        }
        level = fmt.pct(self.confidence, digits=0)

        def shown(kind: str, value: Any, low: Any, high: Any, signed: bool = False) -> str:
            def one(v: Any, sign: bool = False) -> str:
                if kind == "money":
                    return fmt.money(v, self.currency, signed=sign)
                if kind == "share" and sign:  # a difference of two rates: points
                    return "n/a" if v is None else fmt.number(v * 100, 1, signed=True)
                if kind == "share":
                    return fmt.pct(v)
                return fmt.number(v, signed=sign)

            if value is None:
                return "n/a"
            points = " points" if kind == "share" and signed else ""
            return f"{one(value, signed)}{points} ({one(low, signed)} to {one(high, signed)})"

        rows: dict[str, list[str]] = {
            "measure": [],
            "members_figure": [],
            "non_members_figure": [],
            "gap_figure": [],
        }
        for m in MEASURES:
            kind = _KINDS[m]
            rows["measure"].append(_MEASURE_WORDS[m])
            for group, key in (("member", "members_figure"), ("non_member", "non_members_figure")):
                g = groups.get(group, {})
                rows[key].append(shown(kind, g.get(m), g.get(f"{m}_ci_low"), g.get(f"{m}_ci_high")))
            gap = gaps.get(m, {})
            rows["gap_figure"].append(
                shown(kind, gap.get("gap"), gap.get("ci_low"), gap.get("ci_high"), signed=True)
            )
        counts = (
            f"{fmt.count(groups.get('member', {}).get('customers'))} members and "
            f"{fmt.count(groups.get('non_member', {}).get('customers'))} non-members ordered in "
            f"{self.period}; membership at the period's end. In brackets: the {level} interval. "
            "A comparison: who joins is not random."
        )
        shown_table = small_frame(rows, _namespace_of(table))
        return [
            Section(
                shown_table.to_native(),
                {k: "text" for k in rows},
                title=f"Members and non-members, {self.period}",
                note=counts,
            )
        ]

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: ``members``, ``non_members``, ``naive_aov_gap`` and every gap."""
        return {
            "headline": self.headline,
            "currency": self.currency,
            "period": self.period,
            "basis": self.basis,
            "confidence": self.confidence,
            "members": _without_group(self.group("member")),
            "non_members": _without_group(self.group("non_member")),
            "naive_aov_gap": self.naive_aov_gap,
            "gaps": {m: self.gap(m) for m in MEASURES},
        }

    def chart(self) -> Any:
        """Each measure for members and non-members: the point with its interval, one row each.

        One small panel per measure, each on its own axis in its own unit (money with
        the currency, the repeat rate in per cent).
        """
        import altair as alt

        from aovlab import charts

        table = nw.from_native(self.table, eager_only=True)
        words = VALUE_WORDS["group"]
        order = ["Members", "Non-members"]
        panels = []
        for m in MEASURES:
            rows: dict[str, list[Any]] = {"group": [], "value": [], "low": [], "high": []}
            for row in table.iter_rows(named=True):
                if row[m] is None:
                    continue
                rows["group"].append(words.get(row["group"], row["group"]))
                rows["value"].append(row[m])
                rows["low"].append(row[f"{m}_ci_low"])
                rows["high"].append(row[f"{m}_ci_high"])
            if not rows["group"]:
                continue
            kind = _KINDS[m]
            unit = (
                f" ({self.currency})"
                if kind == "money" and self.currency
                else (" (%)" if kind == "share" else "")
            )
            form = ".0%" if kind == "share" else (",.0f" if kind == "money" else ",.2f")
            data = charts._data(small_frame(rows, _namespace_of(table)))
            y = alt.Y("group:N", title=None, sort=order)
            color = alt.Color("group:N", title=None, sort=order)
            x = alt.X(
                "low:Q",
                title=_MEASURE_WORDS[m] + unit,
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=form, tickCount=5),
            )
            whisker = (
                alt.Chart(data).mark_rule(strokeWidth=2).encode(y=y, x=x, x2="high:Q", color=color)
            )
            point = (
                alt.Chart(data)
                .mark_point(filled=True, size=70)
                .encode(
                    y=y,
                    x="value:Q",
                    color=color,
                    tooltip=[
                        alt.Tooltip("group:N", title=""),
                        alt.Tooltip("value:Q", format=form, title=_MEASURE_WORDS[m]),
                        alt.Tooltip("low:Q", format=form, title="interval from"),
                        alt.Tooltip("high:Q", format=form, title="interval to"),
                    ],
                )
            )
            panels.append(alt.layer(whisker, point).properties(width=420, height=alt.Step(20)))
        if not panels:
            return charts.message("No members or non-members to compare.")
        return alt.vconcat(*panels, spacing=14).properties(
            title=f"Members and non-members, {self.period}, {fmt.pct(self.confidence, digits=0)} "
            "intervals"
        )


def _namespace_of(frame: nw.DataFrame[Any]) -> Any:
    """The dataframe library of a result table."""
    return nw.get_native_namespace(frame)


def _round(value: Any, digits: int) -> float | None:
    v = finite_or_none(value)
    return None if v is None else round(v, digits)


def _without_group(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "group"}


# --------------------------------------------------------------------------- the analysis


def _require_shared_ids(shop: ShopData) -> None:
    """A clear error when no id in the customers table is a customer_id of the orders."""
    ids = base.customer_orders(shop).select("customer_id").unique()
    table = shop.scan("customers").select("customer_id")
    listed, matched = (
        int(v)
        for v in nw.concat(
            [
                table.select(nw.len().alias("n")),
                table.join(ids, on="customer_id", how="semi").select(nw.len().alias("n")),
            ]
        )
        .pipe(collected)["n"]
        .to_list()
    )
    if listed and not matched:
        raise AovlabInputError(
            "the customers table and the orders share no customer id",
            table="customers",
            column="customer_id",
            expected="the customer_id values the orders use (same spelling, case and spaces)",
            found=f"none of the {fmt.count(listed)} customers' ids is a customer_id in the orders "
            "(hashed emails against order ids?)",
        )


def compare_members(
    shop: ShopData,
    when: str | periods.Window | None = None,
    *,
    basis: str = "net",
    confidence: float = intervals.CONFIDENCE,
) -> Members:
    """Members against non-members in a window: per-customer figures with intervals, and the gaps.

    The customers compared are the registered customers with at least one counted order
    in ``when`` (default: the 12 months to the last counted order), split by membership
    at the window's end (:func:`aovlab.loyalty.base.membership`); a customer missing from
    the customers table is a non-member. Guest orders are left out.

    Parameters
    ----------
    shop
        The shop, with a customers table saying who is a member.
    when
        The window (``2026``, ``2025-11..2026-10``, a :class:`~aovlab.periods.Window`).
    basis
        Revenue basis of AOV and revenue per customer (``net``, ``gross``, ``total``);
        margin is always net merchandise minus cost.
    confidence
        Confidence level of every interval.

    Returns
    -------
    Members
        The two groups' figures with intervals, the gaps, a headline and a chart.

    Raises
    ------
    AovlabInputError
        Without a customers table or membership information, without counted registered
        orders in the window, or when the window's customers are all members or none is.

    Examples
    --------
    >>> import aovlab
    >>> res = compare_members(aovlab.sample.load())
    >>> m, n = res.group("member"), res.group("non_member")
    >>> m["customers"], n["customers"], round(m["aov"]), round(n["aov"])
    (1574, 3004, 128, 119)
    >>> gap = res.naive_aov_gap
    >>> gap["ci_low"] > 0
    True
    """
    confidence = intervals.check_confidence(confidence)
    base.require_customers(shop, "The member comparison")
    window = base.window(shop, when)
    sums = _group_sums(shop, window, basis)
    if not sums or sum(s["customers"] for s in sums.values()) == 0:
        raise no_counted_orders(f"{window.label} from registered customers", *counted_span(shop))
    if "member" not in sums:
        _require_shared_ids(shop)
    for group, words in (("member", "loyalty members"), ("non_member", "non-members")):
        if group not in sums:
            other = "non_member" if group == "member" else "member"
            raise AovlabInputError(
                f"no {words} among the customers who ordered in {window.label}",
                table="customers",
                column="loyalty_member",
                expected=f"both loyalty members and non-members among the registered "
                f"customers with counted orders in {window.label}",
                found=f"{fmt.count(sums[other]['customers'])} customers, all "
                f"{'non-members' if group == 'member' else 'members'}",
            )
    columns, gaps = _figures(sums, confidence)
    backend = namespace(shop)
    return Members(
        table=small_frame(columns, backend).to_native(),
        currency=shop.currency,
        gaps=small_frame(gaps, backend).to_native(),
        period=window.label,
        basis=basis,
        confidence=confidence,
    )


#: The per-group power sums the engine returns (per-customer ``n`` orders, ``r`` revenue,
#: ``m`` margin).
_SUMS = ("n", "nn", "nnn", "r", "rr", "rrr", "rn", "m", "mm", "mmm", "repeat", "no_cogs")


def _group_sums(shop: ShopData, window: periods.Window, basis: str) -> dict[str, dict[str, float]]:
    """Per group, the customer count and the power sums of per-customer figures: one query."""
    orders = base.customer_orders(shop, basis=basis, when=window).with_columns(
        (nw.col("net_value") - nw.col("cogs")).alias("__margin"),
        nw.col("cogs").is_null().cast(nw.Int64()).alias("__no_cogs"),
    )
    per = orders.group_by("customer_id").agg(
        nw.len().alias("n"),
        nw.col("value").sum().alias("r"),
        nw.col("__margin").sum().alias("m"),
        nw.col("__no_cogs").sum().alias("no_cogs"),
    )
    per = per.join(
        base.membership(shop, as_of=window).select("customer_id", "member"),
        on="customer_id",
        how="left",
    ).with_columns(
        nw.col("member").fill_null(False),
        nw.col("n").cast(nw.Float64()),
    )
    per = per.with_columns(
        (nw.col("n") * nw.col("n")).alias("nn"),
        (nw.col("n") ** 3).alias("nnn"),
        (nw.col("r") * nw.col("r")).alias("rr"),
        (nw.col("r") ** 3).alias("rrr"),
        (nw.col("r") * nw.col("n")).alias("rn"),
        (nw.col("m") * nw.col("m")).alias("mm"),
        (nw.col("m") ** 3).alias("mmm"),
        (nw.col("n") >= 2).cast(nw.Int64()).alias("repeat"),
    )
    grouped = (
        per.group_by("member")
        .agg(nw.len().alias("customers"), *(nw.col(s).sum() for s in _SUMS))
        .pipe(collected)
    )
    out: dict[str, dict[str, float]] = {}
    for row in grouped.iter_rows(named=True):
        key = "member" if row["member"] else "non_member"
        out[key] = {k: float(v) if v is not None else 0.0 for k, v in row.items() if k != "member"}
    return out


def _figures(
    sums: dict[str, dict[str, float]], confidence: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The table's columns and the gaps, from the two groups' power sums."""
    from statsmodels.stats.proportion import proportion_confint

    def arr(key: str) -> np.ndarray:
        return np.array([sums[g][key] for g in GROUPS], dtype=float)

    n_cust, orders = arr("customers"), arr("n")
    aov, aov_se, aov_low, aov_high = ratio_interval(
        n_cust, arr("r"), orders, arr("rr"), arr("nn"), arr("rn"), confidence
    )
    columns: dict[str, Any] = {
        "group": list(GROUPS),
        "customers": n_cust.astype(int),
        "orders": orders.astype(int),
        "repeat_customers": arr("repeat").astype(int),
        "aov": aov,
        "aov_ci_low": aov_low,
        "aov_ci_high": aov_high,
    }
    moments: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for measure, key in (
        ("orders_per_customer", "n"),
        ("revenue_per_customer", "r"),
        ("margin_per_customer", "m"),
    ):
        mean, std, skew = power_moments(n_cust, arr(key), arr(key * 2), arr(key * 3))
        low, high, _ = intervals.mean_intervals(n_cust, mean, std, {}, confidence, skew=skew)
        if measure == "margin_per_customer":
            # A partial margin is never shown as a whole one: null where costs are missing.
            known = np.where(arr("no_cogs") == 0, 1.0, np.nan)
            mean, std, low, high = mean * known, std * known, low * known, high * known
        columns.update({measure: mean, f"{measure}_ci_low": low, f"{measure}_ci_high": high})
        moments[measure] = (mean, std)
    repeat = arr("repeat")
    rate = np.array([metrics.repeat_rate(k, c) for k, c in zip(repeat, n_cust, strict=True)])
    r_low, r_high = (
        np.asarray(b, dtype=float)
        for b in proportion_confint(repeat, n_cust, alpha=1 - confidence, method="wilson")
    )
    columns.update(repeat_rate=rate, repeat_rate_ci_low=r_low, repeat_rate_ci_high=r_high)

    gap_rows: dict[str, list[Any]] = {k: [] for k in GAP_FORMATS}
    # Welch compares control (non-members, index 1) with treatment (members, index 0).
    comparisons = {
        "aov": welch(
            (n_cust[1], aov[1], aov_se[1] * math.sqrt(n_cust[1])),
            (n_cust[0], aov[0], aov_se[0] * math.sqrt(n_cust[0])),
            confidence,
        ),
        **{
            m: welch(
                (n_cust[1], moments[m][0][1], moments[m][1][1]),
                (n_cust[0], moments[m][0][0], moments[m][1][0]),
                confidence,
            )
            for m in ("orders_per_customer", "revenue_per_customer", "margin_per_customer")
        },
        "repeat_rate": proportions((repeat[1], n_cust[1]), (repeat[0], n_cust[0]), confidence),
    }
    for measure in MEASURES:
        c = comparisons[measure]
        gap_rows["measure"].append(measure)
        gap_rows["member"].append(finite_or_none(c["treatment"]))
        gap_rows["non_member"].append(finite_or_none(c["control"]))
        gap_rows["gap"].append(finite_or_none(c["diff"]))
        gap_rows["ci_low"].append(finite_or_none(c["diff_ci_low"]))
        gap_rows["ci_high"].append(finite_or_none(c["diff_ci_high"]))
    gaps = {
        k: v if k == "measure" else np.array([np.nan if x is None else x for x in v], dtype=float)
        for k, v in gap_rows.items()
    }
    return columns, gaps


# --------------------------------------------------------------------------- headline


def _headline(res: Members) -> str:
    money = fmt.in_currency(res.currency)[0]
    m, n = res.group("member"), res.group("non_member")
    gap = res.naive_aov_gap
    level = fmt.pct(res.confidence, digits=0)
    if gap["estimate"] is None:
        return f"Members and non-members, {res.period}: no AOV to compare."
    word = "larger" if gap["estimate"] >= 0 else "smaller"
    text = (
        f"Members' orders were {money(abs(gap['estimate']))} {word} than non-members' in "
        f"{res.period} ({money(m['aov'])} against {money(n['aov'])}; {level} interval of the "
        f"gap {money(gap['ci_low'])} to {money(gap['ci_high'])})"
    )
    text += (
        f", and members ordered {fmt.number(m['orders_per_customer'])} times each against "
        f"{fmt.number(n['orders_per_customer'])}"
    )
    text += (
        f" ({fmt.count(m['customers'])} members, {fmt.count(n['customers'])} non-members). "
        "This is a comparison, not the programme's effect: who joins is not random "
        "(see the programme's effect)."
    )
    return text
