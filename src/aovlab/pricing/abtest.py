"""The read-out of a price A/B test: AOV, conversion and revenue per visitor per arm.

A price change is run as a test, not on faith: orders carry the arm they were shown
(a variant column such as ``ab_arm``), and the traffic table, where it has a column for
the arm, the sessions each arm received. :func:`abtest` compares two arms:

- **sample-ratio mismatch** first: a chi-square test of the arms' sessions (what is
  randomised) against the intended split, or of their orders when sessions are unknown.
  A mismatch (p < 0.01) opens the headline, because a broken split makes every other
  figure suspect;
- **AOV** per arm with its interval (the skew-corrected t of :mod:`aovlab.intervals`),
  the difference with Welch's t-test and interval, and the relative lift with Fieller's
  interval for a ratio of means (it agrees with Welch's p-value);
- **conversion** (orders / sessions) per arm, compared as two proportions (score
  interval and test of statsmodels, on the difference and on the ratio);
- **revenue per visitor** (revenue / sessions) per arm, compared like AOV on per-session
  values that are 0 for a session without an order;
- the **sample size** per arm a test needs to detect a given relative AOV lift, from the
  observed variance (statsmodels power for the two-sample t-test), and how many days
  that takes at the test's own order rate.

Every figure comes from one engine aggregation per arm: orders, revenue and the sums of
squared and cubed order values (and the first and last order), plus the sessions per
arm from the traffic. No order value leaves the engine; the statistics run on those few
numbers. Welch covers as well as the issue asks of a bootstrap, without resampling:
on heavy-tailed order values (lognormal, sigma 1, with 1 % business orders worth 20
baskets; ``tests/test_pricing_abtest.py``) A/A tests of 300 orders per arm are called
significant in 4.1 % of 1,500 runs, and the lift's 95 % interval holds a planted 5 %
lift in 96.3 % of 1,000 runs. The difference of two means is far less skewed than
either mean: the arms' skewness cancels.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import narwhals.stable.v2 as nw
import numpy as np
from scipy import stats

from aovlab import fmt, intervals, metrics, periods
from aovlab.compare import counted_span, small_frame
from aovlab.dimensions import MISSING
from aovlab.errors import AovlabInputError
from aovlab.model import ShopData, collected, finite_or_none, is_counted
from aovlab.results import Formats, Result, Section

__all__ = [
    "ARM_FORMATS",
    "COMPARISON_KEYS",
    "SRM_ALPHA",
    "TRAFFIC_ARM_COLUMNS",
    "AbTest",
    "abtest",
    "moments",
    "proportions",
    "variant_columns",
    "welch",
]

#: A sample-ratio mismatch is flagged below this p-value.
SRM_ALPHA = 0.01
#: Columns of the traffic table read as the test arm (after the variant's own name).
TRAFFIC_ARM_COLUMNS: tuple[str, ...] = ("arm", "variant")
#: Names that suggest a column holds test arms (:func:`variant_columns`).
#: Dimensions known to be something else than a test arm, however empty.
_NOT_ARMS = frozenset(
    ("channel", "device", "country", "discount_code", "customer_type", "utm_source", "utm_medium")
)
#: Arm names read as the control when none is named.
_CONTROL_NAMES = frozenset(("control", "ctrl", "baseline", "original", "default", "kontroll"))
_TEST_WORDS = ("arm", "variant", "test", "experiment", "ab", "bucket", "treatment", "group")

ARM_FORMATS: Formats = {
    "arm": "text",
    "orders": "count",
    "sessions": "count",
    "conversion": "share",
    "conversion_ci_low": "share",
    "conversion_ci_high": "share",
    "aov": "money",
    "aov_ci_low": "money",
    "aov_ci_high": "money",
    "revenue": "money",
    "revenue_per_visitor": "money",
    "revenue_per_visitor_ci_low": "money",
    "revenue_per_visitor_ci_high": "money",
}
#: The keys of one comparison (``to_dict()["aov"]`` and the like), in order.
COMPARISON_KEYS: tuple[str, ...] = (
    "control",
    "treatment",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "lift",
    "lift_ci_low",
    "lift_ci_high",
    "p_value",
)
_MEASURES = {
    "aov": "AOV",
    "conversion": "conversion",
    "revenue_per_visitor": "revenue per visitor",
}


# --------------------------------------------------------------------------- statistics


def welch(
    control: tuple[float, float, float],
    treatment: tuple[float, float, float],
    confidence: float = intervals.CONFIDENCE,
) -> dict[str, float]:
    """Compare two means from each side's (count, mean, standard deviation).

    The difference ``treatment - control`` with Welch's interval and p-value
    (``scipy.stats.ttest_ind_from_stats(equal_var=False)``), and the relative lift
    ``treatment / control - 1`` with Fieller's interval for the ratio of two means: the
    ratios ``rho`` that Welch's test of ``m_t - rho m_c = 0`` does not reject (standard
    error ``sqrt(v_t + rho^2 v_c)``, ``v = s^2 / n``). At ``rho = 1`` that test is the
    difference's own, so the lift's interval leaves out 0 exactly when the p-value is
    below ``1 - confidence``; it is asymmetric, as a ratio's uncertainty is, and
    unbounded (NaN) when the control's mean is itself not clearly above 0.

    Measured on heavy-tailed order values (lognormal, sigma 1, 1 % business orders of
    20 baskets; 4,000 runs): Fieller's 95 % interval holds the true lift in 96.7 % of
    runs at 100 and at 300 orders per arm, where the delta method on the log of the
    ratio holds it in 92.2 % and 93.3 %.

    Examples
    --------
    >>> out = welch((100, 50.0, 20.0), (120, 55.0, 25.0))
    >>> {k: round(v, 3) for k, v in out.items() if k in ("diff", "lift", "p_value")}
    {'diff': 5.0, 'lift': 0.1, 'p_value': 0.101}
    """
    (n_c, m_c, s_c), (n_t, m_t, s_t) = control, treatment
    out = dict.fromkeys(COMPARISON_KEYS, math.nan)
    out.update(control=m_c, treatment=m_t, diff=m_t - m_c)
    if min(n_c, n_t) < 2:
        return out
    v_c, v_t = s_c**2 / n_c, s_t**2 / n_t
    se = math.sqrt(v_c + v_t)
    if se > 0:
        df = se**4 / (v_c**2 / (n_c - 1) + v_t**2 / (n_t - 1))
        q = float(stats.t.ppf((1 + confidence) / 2, df))
        out.update(diff_ci_low=out["diff"] - q * se, diff_ci_high=out["diff"] + q * se)
        out["p_value"] = float(
            stats.ttest_ind_from_stats(m_t, s_t, n_t, m_c, s_c, n_c, equal_var=False).pvalue
        )
    if m_c > 0:
        out["lift"] = m_t / m_c - 1
        low, high = _fieller(m_c, v_c, n_c, m_t, v_t, n_t, confidence)
        out.update(lift_ci_low=low - 1, lift_ci_high=high - 1)
    return out


def _fieller(
    m_c: float, v_c: float, n_c: float, m_t: float, v_t: float, n_t: float, confidence: float
) -> tuple[float, float]:
    """Fieller's interval for ``m_t / m_c`` (variances of the means ``v``), Welch's df.

    The roots of ``(m_t - rho m_c)^2 = q^2 (v_t + rho^2 v_c)``; NaN when the set of
    ratios not rejected is not a bounded interval (``m_c^2 <= q^2 v_c``).

    >>> [round(b, 4) for b in _fieller(100.0, 4.0, 100, 110.0, 4.0, 100, 0.95)]
    [1.043, 1.1604]
    """
    if v_c + v_t <= 0:
        return m_t / m_c, m_t / m_c
    ratio = m_t / m_c
    a_c = ratio**2 * v_c  # the control's part of the variance at the estimate
    df = (v_t + a_c) ** 2 / (v_t**2 / (n_t - 1) + a_c**2 / (n_c - 1))
    q2 = float(stats.t.ppf((1 + confidence) / 2, df)) ** 2
    a = m_c**2 - q2 * v_c
    b = m_t * m_c
    c = m_t**2 - q2 * v_t
    disc = b * b - a * c
    if a <= 0 or disc < 0:
        return math.nan, math.nan
    root = math.sqrt(disc)
    return (b - root) / a, (b + root) / a


def proportions(
    control: tuple[float, float],
    treatment: tuple[float, float],
    confidence: float = intervals.CONFIDENCE,
) -> dict[str, float]:
    """Compare two proportions from each side's (successes, trials).

    statsmodels' score (Miettinen-Nurminen) interval and test: the difference
    ``p_t - p_c`` (``confint_proportions_2indep`` and ``test_proportions_2indep``,
    ``compare="diff"``) and the ratio ``p_t / p_c`` (``compare="ratio"``), whose
    interval minus 1 is the lift's. The p-value is the score test of no difference.

    Examples
    --------
    >>> out = proportions((200, 10_000), (180, 10_000))
    >>> round(out["diff"], 4), round(out["lift"], 2), round(out["p_value"], 2)
    (-0.002, -0.1, 0.3)
    """
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    (x_c, n_c), (x_t, n_t) = control, treatment
    p_c, p_t = x_c / n_c, x_t / n_t
    out = dict.fromkeys(COMPARISON_KEYS, math.nan)
    out.update(control=p_c, treatment=p_t, diff=p_t - p_c)
    alpha = 1 - confidence
    args = (x_t, n_t, x_c, n_c)
    # A degenerate pair (every session converting in both arms) has no score interval:
    # its figures stay NaN ("n/a") rather than stopping the read-out.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            low, high = confint_proportions_2indep(
                *args, method="score", compare="diff", alpha=alpha
            )
            out.update(diff_ci_low=float(low), diff_ci_high=float(high))
        except (ValueError, ZeroDivisionError, FloatingPointError):
            pass
        try:
            test = test_proportions_2indep(*args, method="score", compare="diff")
            out["p_value"] = float(test.pvalue)
        except (ValueError, ZeroDivisionError, FloatingPointError):
            pass
        if p_c > 0:
            out["lift"] = p_t / p_c - 1
            if p_t > 0:
                try:
                    low, high = confint_proportions_2indep(
                        *args, method="score", compare="ratio", alpha=alpha
                    )
                    out.update(lift_ci_low=float(low) - 1, lift_ci_high=float(high) - 1)
                except (ValueError, ZeroDivisionError, FloatingPointError):
                    pass
    for key in ("diff_ci_low", "diff_ci_high", "lift_ci_low", "lift_ci_high", "p_value"):
        if not math.isfinite(out[key]):
            out[key] = math.nan
    return out


def moments(n: np.ndarray, s1: np.ndarray, s2: np.ndarray, s3: np.ndarray) -> tuple[Any, ...]:
    """Mean, standard deviation (ddof=1) and skewness (``m3 / m2**1.5``) from power sums.

    ``n`` values, ``s1 = sum(x)``, ``s2 = sum(x**2)``, ``s3 = sum(x**3)``: what an engine
    aggregates in one pass (the A/B read-out and the member comparison use it).

    >>> [round(float(v), 4) for v in moments(np.array(3.0), np.array(6.0), np.array(14.0), np.array(36.0))]
    [2.0, 1.0, 0.0]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        m2 = np.maximum(s2 / n - mean**2, 0.0)
        m3 = s3 / n - 3 * mean * s2 / n + 2 * mean**3
        std = np.sqrt(m2 * n / (n - 1))
        skew = np.where(m2 > 0, m3 / m2**1.5, 0.0)
    return mean, std, skew


# --------------------------------------------------------------------------- result


@dataclass(repr=False)
class AbTest(Result):
    """A price test read out: one row per arm (control first) and the comparisons.

    ``table``: ``arm``, ``orders``, ``sessions``, ``conversion`` (with its interval),
    ``aov`` (with ``aov_ci_low``, ``aov_ci_high``), ``revenue``, ``revenue_per_visitor``
    (with its interval); sessions and what needs them are null when the traffic has no
    sessions per arm. ``aov``, ``conversion`` and ``revenue_per_visitor`` hold the
    comparisons (treatment against control: :data:`COMPARISON_KEYS`); ``srm`` the
    sample-ratio check.
    """

    variant: str = "ab_arm"
    control: str = ""
    treatment: str = ""
    period: str = ""
    days: int = 0
    confidence: float = intervals.CONFIDENCE
    aov: dict[str, float] = field(default_factory=dict)
    conversion: dict[str, float] | None = None
    revenue_per_visitor: dict[str, float] | None = None
    srm: dict[str, Any] = field(default_factory=dict)
    target_lift: float = 0.05
    power: float = 0.8
    alpha: float = 0.05
    sample_size_per_arm: int | None = None
    days_needed: int | None = None
    sessions_source: str | None = None
    sessions_note: str | None = None
    formats: ClassVar[Formats] = ARM_FORMATS

    def _headline(self) -> str:
        return _headline(self)

    @property
    def srm_mismatch(self) -> bool:
        """Whether the arms' sizes differ from the intended split (p < :data:`SRM_ALPHA`)."""
        p = self.srm.get("p_value")
        return p is not None and p < SRM_ALPHA

    def comparisons(self) -> dict[str, dict[str, float] | None]:
        """The three comparisons by name (``None`` where sessions are unknown)."""
        return {
            "aov": self.aov,
            "conversion": self.conversion,
            "revenue_per_visitor": self.revenue_per_visitor,
        }

    def sections(self) -> list[Section]:
        """The arms (with the split check as a note) and one table per comparison."""
        srm = self.srm
        note = (
            f"{_srm_sentence(self)}"
            if self.srm_mismatch
            else f"Split check: {_arm_name(self.control)} has {fmt.pct(srm['control_share'])} of the "
            f"{srm['basis']} (intended {fmt.pct(srm['expected_split'], digits=0)}; "
            f"chi-square {_p(srm['p_value'])}): no sample-ratio mismatch."
        )
        shown = [c for c in ARM_FORMATS if "_ci_" not in c or c.startswith("aov")]
        table = nw.from_native(self.table, eager_only=True).select(*shown)
        if self.sessions_source is None:
            shown = [c for c in shown if c not in ("sessions", "conversion", "revenue_per_visitor")]
            table = table.select(*shown)
        out = [Section(table.to_native(), {c: ARM_FORMATS[c] for c in shown}, note=note)]
        backend = nw.get_native_namespace(table)
        for name, comp in self.comparisons().items():
            if comp is None:
                continue
            kind = "share" if name == "conversion" else "money"
            forms: Formats = {
                "control": kind,
                "treatment": kind,
                "difference": "share" if kind == "share" else "change",
                "difference_from": "share" if kind == "share" else "change",
                "difference_to": "share" if kind == "share" else "change",
                "lift": "share",
                "lift_from": "share",
                "lift_to": "share",
                "p_value": "number",
            }
            values = dict(zip(forms, (comp[k] for k in COMPARISON_KEYS), strict=True))
            figures: dict[str, Any] = {k: np.array([v], dtype=float) for k, v in values.items()}
            # The p-value as a person reads it ("0.045", "< 0.001"); JSON keeps the number.
            figures["p_value"] = [_p(comp["p_value"]).removeprefix("p ").removeprefix("= ")]
            frame = small_frame(figures, backend)
            title = f"{_MEASURES[name][:1].upper()}{_MEASURES[name][1:]}: {self.treatment} against {self.control}"
            out.append(Section(frame.to_native(), {**forms, "p_value": "text"}, title=title))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: arms, aov, conversion, revenue_per_visitor, srm_p_value, ...

        ``arms`` lists the control first; in each comparison ``control`` and
        ``treatment`` are the two arms' figures, ``diff`` and ``lift`` the treatment's
        against the control's. ``conversion`` and ``revenue_per_visitor`` are null when
        sessions per arm are unknown.
        """
        arms = [
            {
                k: row[k]
                for k in ("arm", "orders", "aov", "sessions", "conversion", "revenue_per_visitor")
            }
            for row in self.rows()
        ]
        return {
            "arms": arms,
            "aov": _rounded(self.aov, money=True),
            "conversion": _rounded(self.conversion, money=False),
            "revenue_per_visitor": _rounded(self.revenue_per_visitor, money=True),
            "srm_p_value": _p_round(self.srm.get("p_value")),
            "sample_size_per_arm": self.sample_size_per_arm,
            "days_needed": self.days_needed,
            "headline": self.headline,
            "currency": self.currency,
        }

    def chart(self) -> Any:
        """Each arm's AOV (conversion, revenue per visitor) with its interval, and the lifts."""
        import altair as alt

        from aovlab.charts import PALETTE, _data, message

        table = nw.from_native(self.table, eager_only=True)
        if not len(table):  # pragma: no cover - abtest never returns an empty table
            return message("No arms to show.")
        panels = []
        measures = ["aov"] + (["conversion", "revenue_per_visitor"] if self.sessions_source else [])
        for name in measures:
            fmt_ = ".2%" if name == "conversion" else ",.2f"
            title = _MEASURES[name] if name != "aov" else "AOV"
            unit = "" if name == "conversion" else f" ({self.currency or ''})"
            data = _data(
                table.select(
                    "arm",
                    nw.col(name).alias("value"),
                    nw.col(f"{name}_ci_low").alias("low"),
                    nw.col(f"{name}_ci_high").alias("high"),
                )
            )
            base = alt.Chart(data, title=f"{title[:1].upper()}{title[1:]} per arm")
            y = alt.Y("arm:N", title=None, sort=[self.control, self.treatment])
            axis = alt.Axis(
                format=".2%" if name == "conversion" else ",.2f",
                title=f"{title[:1].upper()}{title[1:]}{unit}",
                tickCount=5,
            )
            whisker = base.mark_rule(color=PALETTE[0], strokeWidth=2).encode(
                y=y, x=alt.X("low:Q", axis=axis, scale=alt.Scale(zero=False)), x2="high:Q"
            )
            point = base.mark_point(filled=True, size=70, color=PALETTE[0]).encode(
                y=y,
                x="value:Q",
                tooltip=[
                    alt.Tooltip("arm:N"),
                    alt.Tooltip("value:Q", format=fmt_, title=title),
                    alt.Tooltip("low:Q", format=fmt_, title="interval from"),
                    alt.Tooltip("high:Q", format=fmt_, title="interval to"),
                ],
            )
            panels.append((whisker + point).properties(height=alt.Step(28), width=300))
        comps = {k: v for k, v in self.comparisons().items() if v is not None}
        lifts = nw.from_dict(
            {
                "measure": [_MEASURES[k] for k in comps],
                "lift": [_nan_none(v["lift"]) for v in comps.values()],
                "low": [_nan_none(v["lift_ci_low"]) for v in comps.values()],
                "high": [_nan_none(v["lift_ci_high"]) for v in comps.values()],
                "zero": [0.0] * len(comps),
            },
            backend=nw.get_native_namespace(table),
        )
        base = alt.Chart(
            _data(lifts), title=f"{self.treatment} against {self.control}, with intervals"
        )
        y = alt.Y("measure:N", title=None, sort=list(lifts["measure"]))
        forest = (
            base.mark_rule(color=PALETTE[1], strokeWidth=2).encode(
                y=y, x=alt.X("low:Q", axis=alt.Axis(format="+.0%", title="lift")), x2="high:Q"
            )
            + base.mark_point(filled=True, size=70, color=PALETTE[1]).encode(
                y=y,
                x="lift:Q",
                tooltip=[
                    alt.Tooltip("measure:N"),
                    alt.Tooltip("lift:Q", format="+.1%"),
                    alt.Tooltip("low:Q", format="+.1%", title="interval from"),
                    alt.Tooltip("high:Q", format="+.1%", title="interval to"),
                ],
            )
            + base.mark_rule(color="#999999", strokeDash=[4, 3]).encode(x="zero:Q")
        ).properties(height=alt.Step(28), width=300)
        return alt.vconcat(*panels, forest)


def _nan_none(value: Any) -> float | None:
    return finite_or_none(value)


def _p_round(p: Any) -> float | None:
    """A p-value for JSON: four significant figures (a tiny one stays non-zero)."""
    value = finite_or_none(p)
    return None if value is None else float(f"{value:.4g}")


def _rounded(comp: dict[str, float] | None, *, money: bool) -> dict[str, float | None] | None:
    if comp is None:
        return None
    out: dict[str, float | None] = {}
    for key in COMPARISON_KEYS:
        value = finite_or_none(comp[key])
        if key == "p_value":
            out[key] = _p_round(value)
        elif value is None:
            out[key] = None
        elif money and not key.startswith("lift"):
            out[key] = round(value, 2)
        else:
            out[key] = round(value, 6)
    return out


# --------------------------------------------------------------------------- headline


def _p(p: Any) -> str:
    """A p-value as a headline quotes it: ``p = 0.021``, ``p = 0.006``, ``p < 0.001``.

    >>> _p(0.0213), _p(0.0064), _p(3e-9), _p(0.31)
    ('p = 0.021', 'p = 0.006', 'p < 0.001', 'p = 0.31')
    """
    if p is None or not math.isfinite(p):
        return "p n/a"
    if p < 0.001:
        return f"p < {fmt.number(0.001, 3)}"
    return f"p = {fmt.number(p, 3 if p < 0.1 else 2)}"


def _arm_name(label: str) -> str:
    """An arm as a sentence names it: "arm B" (a label saying it is an arm stays as it is)."""
    lowered = label.lower()
    return (
        label if lowered.startswith(("arm", "variant", "control", "treatment")) else f"arm {label}"
    )


def _arm_ref(label: str) -> str:
    """An arm named after another in a sentence: "A", but "arm 1" for a label without letters.

    >>> _arm_ref("A"), _arm_ref("2"), _arm_ref("control")
    ('A', 'arm 2', 'control')
    """
    return label if any(ch.isalpha() for ch in label) else f"arm {label}"


def _ci(comp: dict[str, float], confidence: float, *, label: bool = True) -> str:
    level = f"{fmt.pct(confidence, digits=0)} CI " if label else "CI "
    if not (math.isfinite(comp["lift_ci_low"]) and math.isfinite(comp["lift_ci_high"])):
        return f"{level}unbounded: too few orders to bound it"
    return (
        f"{level}{fmt.pct(comp['lift_ci_low'], signed=True)} to "
        f"{fmt.pct(comp['lift_ci_high'], signed=True)}"
    )


def _significant(comp: dict[str, float], confidence: float) -> bool:
    p = comp["p_value"]
    return math.isfinite(p) and p < 1 - confidence


def _srm_sentence(res: AbTest) -> str:
    srm = res.srm
    what = srm["basis"]
    caveat = (
        ""
        if what == "sessions"
        else " (sessions per arm are unknown; a conversion difference also shifts orders)"
    )
    return (
        f"Sample-ratio mismatch: {_arm_name(res.control)} has {fmt.pct(srm['control_share'])} "
        f"of the {what} where {fmt.pct(srm['expected_split'], digits=0)} was intended "
        f"(chi-square {_p(srm['p_value'])}){caveat}, so the split itself is off and every "
        "figure below is suspect."
    )


def _round_up(n: int, digits: int = 2) -> int:
    """``n`` rounded up to ``digits`` significant figures (2,251 -> 2,300).

    >>> _round_up(2251), _round_up(87), _round_up(1)
    (2300, 87, 1)
    """
    if n < 10**digits:
        return n
    step = 10 ** (len(str(n)) - digits)
    return -(-n // step) * step


def _headline(res: AbTest) -> str:
    c, t = res.control, res.treatment
    a = res.aov
    parts: list[str] = []
    if res.srm_mismatch:
        parts.append(_srm_sentence(res))
    lift = a["lift"]
    sig = _significant(a, res.confidence)
    if math.isfinite(lift):
        word = "higher" if lift >= 0 else "lower"
        text = (
            f"{_arm_name(t)[:1].upper()}{_arm_name(t)[1:]}'s AOV is "
            f"{fmt.pct(abs(lift))} {word} than {_arm_ref(c)}'s "
            f"({fmt.money(a['treatment'], res.currency)} against {fmt.money(a['control'], res.currency)}"
            f"; {_ci(a, res.confidence)}, {_p(a['p_value'])}"
            + ("" if sig else ", not significant")
            + ")"
        )
    else:  # the control's AOV is 0: a lift has no base
        text = (
            f"The AOV of {_arm_name(t)} ({fmt.money(a['treatment'], res.currency)}) cannot "
            f"be compared with {_arm_ref(c)}'s as a lift: {_arm_ref(c)}'s AOV is "
            f"{fmt.money(a['control'], res.currency)}"
        )
    conv, rpv = res.conversion, res.revenue_per_visitor
    if conv is not None and rpv is not None and math.isfinite(conv["lift"]):
        opposite = (conv["lift"] < 0) != (lift < 0)
        more = "more" if conv["lift"] >= 0 else "fewer"
        text += (
            f", {'but' if opposite else 'and'} it converts {fmt.pct(abs(conv['lift']))} {more} "
            f"sessions ({_ci(conv, res.confidence, label=False)}, {_p(conv['p_value'])}"
            + ("" if _significant(conv, res.confidence) else ", not significant")
            + f"); revenue per visitor: {fmt.pct(rpv['lift'], signed=True)} "
            f"({_ci(rpv, res.confidence, label=False)}, {_p(rpv['p_value'])}"
            + ("" if _significant(rpv, res.confidence) else ", not significant")
            + ")."
        )
    else:
        why = f": {res.sessions_note}" if res.sessions_note else ""
        text += f". Conversion and revenue per visitor need sessions per arm{why}."
    parts.append(text)
    if res.sample_size_per_arm is not None:
        sentence = (
            f"Detecting a {fmt.pct(res.target_lift, digits=0)} AOV lift "
            f"({fmt.pct(res.power, digits=0)} power, {fmt.pct(res.alpha, digits=0)} "
            f"significance) needs about {fmt.count(_round_up(res.sample_size_per_arm))} "
            "orders per arm"
        )
        if res.days_needed is not None:
            sentence += f", about {fmt.counted(res.days_needed, 'day')} at this test's order rate"
        n_c, n_t = nw.from_native(res.table, eager_only=True)["orders"].to_list()
        sentence += (
            f" (the test has {fmt.count(n_c)} and {fmt.count(n_t)} in "
            f"{fmt.counted(res.days, 'day')})."
        )
        parts.append(sentence)
    return " ".join(parts)


# --------------------------------------------------------------------------- the read-out


def _check(name: str, value: Any, low: float, high: float, expected: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low < value < high
    if not ok or not math.isfinite(value):
        raise AovlabInputError(f"{name} is out of range", expected=expected, found=repr(value))
    return float(value)


def _arms(
    per: nw.DataFrame[Any], variant: str, control: str | None, treatment: str | None, when: Any
) -> tuple[str, str]:
    """The control and treatment arms among those found (sorted), or a clear error."""
    found = sorted(str(a) for a in per[variant].to_list())
    listed = ", ".join(found)
    where = f" in {when.label if isinstance(when, periods.Window) else when}" if when else ""
    if not found:
        raise AovlabInputError(
            f"no counted orders carry a test arm{where}",
            table="orders",
            column=variant,
            expected="orders with the arm they were shown (e.g. A and B)",
            found="the column is empty for every counted order" + where,
        )
    if len(found) == 1:
        raise AovlabInputError(
            "has only one test arm: there is nothing to compare",
            table="orders",
            column=variant,
            expected="two arms or more (e.g. A and B)",
            found=f"one arm: {listed}",
        )
    for name, given in (("control", control), ("treatment", treatment)):
        if given is not None and str(given) not in found:
            raise AovlabInputError(
                f"the {name} arm is not in the data",
                table="orders",
                column=variant,
                expected=f"one of the arms found: {listed}",
                found=repr(given),
            )
    if control is not None and treatment is not None and str(control) == str(treatment):
        raise AovlabInputError(
            "control and treatment are the same arm",
            table="orders",
            column=variant,
            expected=f"two different arms among {listed}",
            found=repr(control),
        )
    if len(found) > 2 and treatment is None:
        folded: dict[str, list[str]] = {}
        for a in found:
            folded.setdefault(a.casefold(), []).append(a)
        alike = [" and ".join(v) for v in folded.values() if len(v) > 1]
        raise AovlabInputError(
            f"has {len(found)} arms: say which one to compare with the control",
            table="orders",
            column=variant,
            expected="the treatment arm named (treatment=, --treatment on the command line; "
            "the control is control=, else the first in sorted order)",
            found=f"arms {listed}",
            hint=f"arms that differ only in capitals: {'; '.join(alike)}: write each arm "
            "one way in the export"
            if alike
            else None,
        )
    if control is None:
        # An arm called control (or baseline ...) is the control, wherever it sorts.
        named = [a for a in found if a.casefold() in _CONTROL_NAMES and a != treatment]
        control = (
            named[0]
            if len(named) == 1
            else next(a for a in found if a != (None if treatment is None else str(treatment)))
        )
    if treatment is None:
        treatment = next(a for a in found if a != str(control))
    return str(control), str(treatment)


def _has_orders(shop: ShopData, window: periods.Window) -> bool:
    """Whether ``window`` holds any counted order (with an arm or not)."""
    counted = (
        shop.scan()
        .filter(is_counted(), periods.within("ordered_at", window, shop.timezone))
        .select(nw.len())
        .pipe(collected)
        .item()
    )
    return bool(counted)


def _data_span(shop: ShopData) -> str:
    """Where the counted orders are, for an error about a window without any."""
    first, last = counted_span(shop)
    if first is None:
        return "the shop has none"
    return f"the data runs from {first:%Y-%m-%d} to {last:%Y-%m-%d}"


def _traffic_arm(shop: ShopData, variant: str) -> str | None:
    """The traffic table's column holding the arm, if there is one."""
    if shop.traffic is None:
        return None
    columns = shop.columns("traffic")
    return next((c for c in (variant, *TRAFFIC_ARM_COLUMNS) if c in columns), None)


def abtest(
    shop: ShopData,
    variant: str | None = "ab_arm",
    *,
    control: str | None = None,
    treatment: str | None = None,
    expected_split: float = 0.5,
    when: str | periods.Window | None = None,
    lift: float = 0.05,
    power: float = 0.8,
    alpha: float = 0.05,
    confidence: float = intervals.CONFIDENCE,
    basis: str = "net",
) -> AbTest:
    """Read out a price A/B test: AOV, conversion and revenue per visitor per arm.

    Orders are the counted orders (not cancelled, not tests) whose ``variant`` column is
    filled (an arm's surrounding spaces are not part of its name). ``when`` defaults to
    the test's own span, from the first to the last day with an arm. The control is
    ``control``, else an arm named control (or baseline, original ...), else the first
    arm in sorted order; with more than two arms ``treatment`` must be named.

    Sessions per arm come from the traffic table when it has a column named like the
    variant, ``arm`` or ``variant``, summed over the test's days. Conversion is orders /
    sessions; revenue per visitor is revenue / sessions, whose spread assumes one order
    per converting session (each session's value is its order's, or 0): the variance
    comes from the arm's sum and sum of squares of order values over its sessions.

    Parameters
    ----------
    shop
        The shop.
    variant
        The order column holding each order's test arm; None: the first of
        :func:`variant_columns` (an error when no column looks like one).
    control, treatment
        The arms to compare (treatment against control).
    expected_split
        The control's intended share of the two arms' traffic (0.5: an even split).
    when
        The test window (default: first to last day with an arm).
    lift, power, alpha
        The relative AOV lift a test should detect, with this power at this
        significance level (two-sided), for the sample size.
    confidence
        Level of every interval; a difference is called significant when its p-value is
        below ``1 - confidence``.
    basis
        Revenue basis of an order's value (``net``, ``gross``, ``total``).

    Returns
    -------
    AbTest
        One row per arm (control first), the AOV, conversion and revenue-per-visitor
        comparisons, the sample-ratio check, the sample size and the days it takes.

    Examples
    --------
    >>> import aovlab
    >>> res = abtest(aovlab.sample.load())
    >>> res.control, res.treatment, res.period, res.sessions_source
    ('A', 'B', '2026-05-04..2026-05-31', 'arm')
    >>> [row["orders"] for row in res.to_dict()["arms"]]
    [697, 655]
    """
    expected_split = _check(
        "expected_split",
        expected_split,
        0,
        1,
        "the control's intended share of traffic, strictly between 0 and 1 (0.5: even split)",
    )
    lift = _check("lift", lift, 0, math.inf, "a relative AOV lift above 0, such as 0.05")
    power = _check("power", power, 0, 1, "a probability strictly between 0 and 1, such as 0.8")
    alpha = _check(
        "alpha", alpha, 0, 1, "a significance level strictly between 0 and 1, such as 0.05"
    )
    if power <= alpha:
        raise AovlabInputError(
            "power is not above the significance level",
            expected=f"power above alpha ({alpha:g}), such as 0.8",
            found=repr(power),
        )
    confidence = intervals.check_confidence(confidence)
    columns = shop.columns("orders")
    if variant is None:
        found = variant_columns(shop)
        if not found:
            raise AovlabInputError(
                "no order column looks like a test's arms",
                table="orders",
                expected="a column naming each tested order's arm (2 to 5 values, such as "
                "ab_arm with A and B): name it with variant=",
                found="none",
                present=columns,
            )
        variant = found[0]
    if variant not in columns:
        suggested = variant_columns(shop)
        raise AovlabInputError(
            "is not an order column",
            table="orders",
            column=variant,
            expected="the column holding each order's test arm",
            found="no such column",
            present=columns,
            hint=f"columns that look like test arms: {', '.join(suggested)}" if suggested else None,
        )
    window = (
        when if when is None or isinstance(when, periods.Window) else periods.parse_window(when)
    )
    frame = metrics.order_table(shop, basis=basis, when=window, by=[variant], lazy=True)
    value = nw.col("value")
    # " B" and "B" are one arm (a spreadsheet's stray space); an arm of spaces is none.
    arm = nw.col(variant).cast(nw.String()).str.strip_chars()
    per = (
        frame.with_columns(arm.alias(variant))
        .filter((nw.col(variant) != MISSING) & (nw.col(variant) != ""))
        .with_columns((value**2).alias("__sq"), (value**3).alias("__cube"))
        .group_by(variant)
        .agg(
            nw.len().alias("orders"),
            value.sum().alias("revenue"),
            nw.col("__sq").sum().alias("sum_sq"),
            nw.col("__cube").sum().alias("sum_cube"),
            nw.col("ordered_at").min().alias("first"),
            nw.col("ordered_at").max().alias("last"),
        )
        .pipe(collected)
    )
    if not len(per) and window is not None and not _has_orders(shop, window):
        raise AovlabInputError(
            f"no counted orders carry a test arm in {window.label}",
            table="orders",
            column=variant,
            expected=f"orders in {window.label} with the arm they were shown (e.g. A and B)",
            found=f"no counted orders at all in {window.label}: {_data_span(shop)}",
        )
    c_arm, t_arm = _arms(per, variant, control, treatment, window)
    rows = {str(r[variant]): r for r in per.iter_rows(named=True)}
    pair = [rows[c_arm], rows[t_arm]]
    few = [r for r in pair if r["orders"] < 2]
    if few:
        raise AovlabInputError(
            "has too few orders in a test arm to compare",
            table="orders",
            column=variant,
            expected="at least 2 counted orders in each arm (a mean and its spread)",
            found=", ".join(
                f"arm {r[variant]}: {fmt.counted(int(r['orders']), 'order')}" for r in few
            )
            + (f" in {window.label}" if window is not None else ""),
        )
    first = min(r["first"] for r in pair).date()
    last = max(r["last"] for r in pair).date()
    days = (last - first).days + 1
    span = periods.parse_window(f"{first:%Y-%m-%d}..{last:%Y-%m-%d}")
    if window is None:
        window = span

    n = np.array([float(r["orders"]) for r in pair])
    revenue = np.array([float(r["revenue"]) for r in pair])
    s2 = np.array([float(r["sum_sq"]) for r in pair])
    s3 = np.array([float(r["sum_cube"]) for r in pair])
    mean, std, skew = moments(n, revenue, s2, s3)
    aov_low, aov_high = intervals.t_interval(n, mean, std, confidence, skew=skew)
    aov = welch((n[0], mean[0], std[0]), (n[1], mean[1], std[1]), confidence)

    sessions, source, sessions_note = _sessions(shop, variant, window, (c_arm, t_arm), n)
    nan2 = np.full(2, np.nan)
    conversion = rpv = None
    conv, conv_low, conv_high, rpv_mean, rpv_low, rpv_high = (nan2,) * 6
    if sessions is not None:
        from statsmodels.stats.proportion import proportion_confint

        conv = n / sessions
        conv_low, conv_high = (
            np.asarray(b, dtype=float)
            for b in proportion_confint(n, sessions, alpha=1 - confidence, method="wilson")
        )
        conversion = proportions((n[0], sessions[0]), (n[1], sessions[1]), confidence)
        rpv_mean, rpv_std, rpv_skew = moments(sessions, revenue, s2, s3)
        rpv_low, rpv_high = intervals.t_interval(
            sessions, rpv_mean, rpv_std, confidence, skew=rpv_skew
        )
        rpv = welch(
            (sessions[0], rpv_mean[0], rpv_std[0]),
            (sessions[1], rpv_mean[1], rpv_std[1]),
            confidence,
        )
        srm_counts, srm_basis = sessions, "sessions"
    else:
        srm_counts, srm_basis = n, "orders"
    total = float(srm_counts.sum())
    srm_p = float(
        stats.chisquare(
            srm_counts, f_exp=[total * expected_split, total * (1 - expected_split)]
        ).pvalue
    )
    srm = {
        "basis": srm_basis,
        "p_value": srm_p,
        "control_share": float(srm_counts[0] / total),
        "expected_split": expected_split,
    }

    size, days_needed = _sample_size(n, mean, std, lift, power, alpha, days)
    columns_out = {
        "arm": [c_arm, t_arm],
        "orders": n.astype(int),
        "sessions": sessions if sessions is not None else nan2,
        "conversion": conv,
        "conversion_ci_low": conv_low,
        "conversion_ci_high": conv_high,
        "aov": mean,
        "aov_ci_low": aov_low,
        "aov_ci_high": aov_high,
        "revenue": revenue,
        "revenue_per_visitor": rpv_mean,
        "revenue_per_visitor_ci_low": rpv_low,
        "revenue_per_visitor_ci_high": rpv_high,
    }
    return AbTest(
        table=small_frame(columns_out, nw.get_native_namespace(per)).to_native(),
        currency=shop.currency,
        variant=variant,
        control=c_arm,
        treatment=t_arm,
        period=span.label if when is None else str(window.label),
        days=days,
        confidence=confidence,
        aov=aov,
        conversion=conversion,
        revenue_per_visitor=rpv,
        srm=srm,
        target_lift=lift,
        power=power,
        alpha=alpha,
        sample_size_per_arm=size,
        days_needed=days_needed,
        sessions_source=source,
        sessions_note=sessions_note,
    )


def _sessions(
    shop: ShopData,
    variant: str,
    window: periods.Window,
    arms: tuple[str, str],
    orders: np.ndarray,
) -> tuple[np.ndarray | None, str | None, str | None]:
    """Sessions of the two arms in the test's days, summed in the engine.

    Returns the sessions, the traffic column they come from, and when they are unknown
    (None, None) the reason, in words.
    """
    if shop.traffic is None:
        return None, None, "the shop has no traffic table"
    column = _traffic_arm(shop, variant)
    if column is None:
        names = ", ".join(dict.fromkeys((variant, *TRAFFIC_ARM_COLUMNS)))
        return None, None, f"the traffic table has no arm column ({names})"
    got = (
        shop.scan("traffic")
        .filter(periods.within("date", window, shop.timezone))
        .with_columns(nw.col(column).cast(nw.String()).str.strip_chars().alias(column))
        .filter(~nw.col(column).is_null() & (nw.col(column) != ""))
        .group_by(column)
        .agg(nw.col("sessions").sum())
        .pipe(collected)
    )
    found = {str(r[column]): float(r["sessions"] or 0) for r in got.iter_rows(named=True)}
    sessions = np.array([found.get(a, 0.0) for a in arms])
    missing = [a for a, n in zip(arms, sessions, strict=True) if not n > 0]
    if missing:
        which = fmt.listing([f"arm {a}" for a in missing])
        note = f"the traffic table has no sessions for {which} in {window.label}"
        if not any(a in found for a in arms):
            held = sorted(found)
            note += (
                f" (its '{column}' column holds {fmt.listing(held[:5])}"
                + (f" and {len(held) - 5} more" if len(held) > 5 else "")
                + ": name the arms alike in both files)"
                if held
                else f" (its '{column}' column is empty then)"
            )
        return None, None, note
    short = [a for a, s, o in zip(arms, sessions, orders, strict=True) if s < o]
    if short:
        i = arms.index(short[0])
        raise AovlabInputError(
            "has fewer sessions than orders for a test arm",
            table="traffic",
            column=column,
            expected="at least as many sessions as orders in each arm",
            found=f"arm {short[0]}: {fmt.count(sessions[i])} sessions, "
            f"{fmt.count(orders[i])} orders in {window.label}",
        )
    return sessions, column, None


def _sample_size(
    n: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    lift: float,
    power: float,
    alpha: float,
    days: int,
) -> tuple[int | None, int | None]:
    """Orders per arm to detect ``lift`` on the control's AOV, and the days they take."""
    from statsmodels.stats.power import tt_ind_solve_power

    pooled = math.sqrt(((n[0] - 1) * std[0] ** 2 + (n[1] - 1) * std[1] ** 2) / (n.sum() - 2))
    if not (pooled > 0 and mean[0] > 0):
        return None, None
    effect = lift * mean[0] / pooled
    size = math.ceil(
        float(
            tt_ind_solve_power(
                effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided"
            )
        )
    )
    rate = float(n.sum()) / days
    return size, math.ceil(2 * size / rate)


# --------------------------------------------------------------------------- candidates


def variant_columns(shop: ShopData) -> list[str]:
    """Order columns that look like test arms, the likeliest first.

    A column qualifies with 2 to 5 distinct values among its filled cells and either a
    name that says test (``arm``, ``variant``, ``test``, ``experiment``, ``ab`` ...) or
    mostly empty cells (a test runs for a few weeks of the data), unless it is a known
    dimension of another kind (``discount_code``, ``channel`` ...). Columns whose names
    say test come first, then the emptier ones. One engine pass over the order columns
    beyond the canonical ones.

    Examples
    --------
    >>> import aovlab
    >>> variant_columns(aovlab.sample.load())
    ['ab_arm']
    """
    dims = shop.dimensions
    if not dims:
        return []
    stats_ = (
        shop.scan()
        .filter(is_counted())
        .select(
            nw.len().alias("__rows"),
            *(nw.col(c).n_unique().alias(f"u_{i}") for i, c in enumerate(dims)),
            *(nw.col(c).null_count().alias(f"n_{i}") for i, c in enumerate(dims)),
        )
        .pipe(collected)
        .rows(named=True)[0]
    )
    rows = stats_["__rows"] or 1
    found = []
    for i, c in enumerate(dims):
        nulls = int(stats_[f"n_{i}"])
        distinct = int(stats_[f"u_{i}"]) - (nulls > 0)
        words = [w for w in c.lower().replace("-", "_").replace(" ", "_").split("_") if w]
        named = any(w in _TEST_WORDS or w.startswith(("variant", "experiment")) for w in words)
        empty = nulls / rows
        if 2 <= distinct <= 5 and (named or (empty >= 0.5 and c not in _NOT_ARMS)):
            found.append((not named, -empty, c))
    return [c for *_, c in sorted(found)]
