"""Confidence intervals for the mean of skewed, heavy-tailed values (AOV and the like).

Order values are right-skewed with a long tail: a few large baskets (one business
order of 50 jackets) carry much of a small segment's mean. The Student-t interval
assumes the mean is normally distributed; with skewed values it is not until there are
hundreds of them, and t then misses far more often above the true mean than below it.
Resampling does not cure this in small groups: BCa corrects the skew but is too narrow.

The policy (:func:`mean_intervals`) is the t interval corrected for skewness by Hall's
(1992) transformation of the t statistic (:func:`t_interval` with ``skew``). The
correction needs the count, mean, standard deviation and skewness of each group, which
an engine computes in the same group-by (narwhals/polars ``skew()``); with zero
skewness it is the t interval itself. Groups with fewer than :data:`BOOTSTRAP_BELOW`
values must come with their skewness or their raw values; larger groups without a
skewness get plain t, which covers as well from there on.

Coverage measured by ``bench/coverage.py`` (lognormal values, sigma 1, true mean
exp(0.5); the share of nominal 95 % intervals that contain it; BCa is
:func:`bootstrap_interval` on the first replications, the difference paired on those,
± one Monte-Carlo standard error; width is the mean width over t's on the same samples):

=======  ==================  ==========================  ======  ======  ================  =============  ==========
values   replications (BCa)  policy                      BCa     t       policy - BCa      width policy   width BCa
=======  ==================  ==========================  ======  ======  ================  =============  ==========
30       4,000 (4,000)       91.5 % (skew-corrected t)   87.5 %  87.5 %  +4.0 ± 0.3 pts    1.58           1.03
100      4,000 (4,000)       93.8 % (skew-corrected t)   92.7 %  92.0 %  +1.1 ± 0.2 pts    1.31           1.08
300      4,000 (2,000)       94.0 % (skew-corrected t)   93.3 %  93.2 %  +0.4 ± 0.2 pts    1.15           1.05
1,000    4,000 (1,000)       94.2 % (t)                  94.5 %  94.2 %  +0.2 ± 0.5 pts    1.00           1.01
5,000    4,000 (300)         94.8 % (t)                  94.0 %  94.8 %  +0.7 ± 0.7 pts    1.00           0.98
=======  ==================  ==========================  ======  ======  ================  =============  ==========

Skewed values cannot reach 95 % with 30 of them: every method misses mostly above the
mean, when the sample happens to hold too few of the rare large values that lift the
true mean. The skew-corrected interval cuts t's and BCa's shortfall at 30 values from
7.5 to 3.5 points, and is ahead of both up to 300; it is wider mostly above the mean,
and never more than about 2.5 times as wide as t (sample skewness is bounded by the
sample size). Its gain over t, paired on 40,000 replications each (``--threshold``),
is +1.9 points at 100 values, +0.7 at 300, +0.5 at 500, +0.1 ± 0.1 at 1,000 and none
from 2,000, hence ``BOOTSTRAP_BELOW = 1000``: larger groups need neither a skewness
nor their values.

Measured and not chosen (``--candidates``, 2,000 replications):

- Bootstrap-t (studentized bootstrap): on lognormal values the same coverage (91.8 %
  at 30, 93.2 % at 100) at a smaller mean width (1.27 and 1.12 times t). But on orders
  with rare business baskets (2 % of orders worth 50 baskets) its intervals are on
  average 3.4 times as wide as t's (9.4 times at the 95th percentile, some reaching
  beyond twice the largest order) for no more coverage than the skew-corrected
  interval (46.8 % against 49.0 % at 30, 85.2 % both at 100, whose widths are 1.56 and
  1.99): a resample without the large order has a tiny spread, and its t statistic
  explodes. (Those coverages are low for every method: a sample of 30 orders holds
  no business order at all about half the time.)
- BCa (:func:`bootstrap_interval`, ``scipy.stats.bootstrap``), as first proposed for
  small groups: the table above, no better than t at 30 values, and its jackknife costs
  O(n^2). It stays here for statistics whose moments an engine cannot give.

With symmetric heavy tails (100 + 20 x Student-t values with 3 degrees of freedom) the
sample skewness is noise, and the correction costs 2 to 3 points against plain t (92.5 %
against 95.2 % at 30 values, 94.0 % against 95.9 % at 100), as bootstrap-t does (92.1 %,
94.2 %) and BCa more (89.8 %, 93.2 %); order values are not symmetric.

The functions work on any values whose mean is wanted (order values, revenue per
visitor, spend per loyalty member): nothing here is specific to segments.

References: P. Hall (1992), On the removal of skewness by transformation, J. R. Statist.
Soc. B 54, 221-228; X.-H. Zhou and P. Dinh (2005), Nonparametric confidence intervals
for the one- and two-sample problems, Biostatistics (Hall's interval for skewed data).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from aovlab.errors import AovlabInputError

CONFIDENCE: float = 0.95
"""Default confidence level of every interval."""

BOOTSTRAP_BELOW: int = 1000
"""Groups with fewer values than this need their skewness (or values); larger ones may use t."""

SEED: int = 20_240_917
"""Seed of every resampling (:func:`bootstrap_interval`), so that reruns are identical."""

N_RESAMPLES: int = 4_999
"""Bootstrap resamples per interval: about 125 in each 2.5 % tail, a few ms per group."""

SKEW_T = "skew-corrected t"
"""Method name: t interval with Hall's skewness correction."""

T = "t"
"""Method name: Student-t interval from the group's count, mean and standard deviation."""

NONE = "none"
"""Method name: fewer than two values, no interval."""

# Resamples are processed in batches of about this many values (8 MB of float64).
_BATCH_VALUES = 1 << 20


def check_confidence(confidence: float) -> float:
    """``confidence`` if it is a level strictly between 0 and 1, else a clear error."""
    if not 0 < confidence < 1:
        raise AovlabInputError(
            "confidence level out of range",
            expected="a number strictly between 0 and 1, such as 0.95",
            found=repr(confidence),
        )
    return float(confidence)


def _values(values: Any) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if not np.isfinite(x).all():
        raise AovlabInputError(
            "values for a confidence interval must be numbers",
            expected="finite values (leave missing ones out first)",
            found=f"{int((~np.isfinite(x)).sum())} missing or infinite of {x.size}",
        )
    return x


def t_interval(
    n: Any,
    mean: Any,
    std: Any,
    confidence: float = CONFIDENCE,
    skew: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Student-t interval for means, vectorised, from aggregates an engine computes.

    Without ``skew``, ``scipy.stats.t.interval`` with ``n - 1`` degrees of freedom
    around ``mean``, scale ``std / sqrt(n)``. With ``skew``, the interval that inverts
    Hall's (1992) transformation of the t statistic ``T = (mean - mu) / se``::

        g(T) = T + a T^2 + a^2 T^3 / 3 + b,   a = gamma / (3 sqrt(n)),  b = gamma / (6 sqrt(n))

    where ``gamma`` is the sample skewness (third central moment over ``std**3``). ``g``
    is increasing, so ``|g(T)| <= t(n-1, (1 + confidence) / 2)`` gives ``mu`` between
    ``mean - se * g^-1(q)`` and ``mean - se * g^-1(-q)``: a right-skewed sample moves the
    interval up and stretches it above the mean. Zero skewness gives the t interval.

    Parameters
    ----------
    n, mean, std
        Count, mean and sample standard deviation (``ddof=1``) of each group: numpy
        arrays of one length, or scalars (broadcast together).
    confidence
        Confidence level, strictly between 0 and 1.
    skew
        Optional sample skewness of each group, ``m3 / m2**1.5`` with central moments
        ``m_k = mean((x - mean)**k)``: what narwhals/polars ``Expr.skew()`` and
        ``scipy.stats.skew`` give (DuckDB's ``skewness`` is the adjusted one, larger by
        ``sqrt(n * (n - 1)) / (n - 2)``). NaN entries get the plain t interval.

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds (float, the broadcast shape of the inputs). NaN where
        ``n < 2``; ``(mean, mean)`` where ``std`` is 0.

    Examples
    --------
    Four orders of 1, 2, 3 and 4 (mean 2.5, standard deviation 1.29) and a group of one:

    >>> low, high = t_interval(np.array([4, 1]), np.array([2.5, 7.0]), np.array([1.29099, 0.0]))
    >>> low.round(3), high.round(3)
    (array([0.446,   nan]), array([4.554,   nan]))

    Twelve orders, one of them a business order of 840 (mean 118.50, standard deviation
    227.42, skewness 3.01): t reaches below zero, the corrected interval does not, and
    reaches further up:

    >>> args = np.array([12]), np.array([118.5]), np.array([227.42])
    >>> [float(b[0].round(1)) for b in t_interval(*args)]
    [-26.0, 263.0]
    >>> [float(b[0].round(1)) for b in t_interval(*args, skew=np.array([3.0053]))]
    [22.4, 614.5]
    """
    confidence = check_confidence(confidence)
    n_, mean_, std_, skew_ = np.broadcast_arrays(
        np.asarray(n, dtype=float),
        np.asarray(mean, dtype=float),
        np.asarray(std, dtype=float),
        np.asarray(np.nan if skew is None else skew, dtype=float),
    )
    low = np.full(n_.shape, np.nan)
    high = np.full(n_.shape, np.nan)
    flat = (n_ >= 2) & (std_ == 0)
    low[flat] = high[flat] = mean_[flat]
    spread = (n_ >= 2) & (std_ > 0)
    plain = spread & np.isnan(skew_)
    low[plain], high[plain] = stats.t.interval(
        confidence, n_[plain] - 1, loc=mean_[plain], scale=std_[plain] / np.sqrt(n_[plain])
    )
    skewed = spread & ~np.isnan(skew_)
    k, m, s = n_[skewed], mean_[skewed], std_[skewed]
    # Hall's gamma uses std (ddof=1); skew uses the second central moment (ddof=0).
    gamma = skew_[skewed] * ((k - 1) / k) ** 1.5
    a, b = gamma / (3 * np.sqrt(k)), gamma / (6 * np.sqrt(k))
    q = stats.t.ppf((1 + confidence) / 2, k - 1)

    def g_inverse(y: np.ndarray) -> np.ndarray:
        # g(T) = ((1 + a T)^3 - 1) / (3 a) + b, so T = (c - 1) / a with c the cube root
        # of 1 + 3 a (y - b); written as 3 (y - b) / (c^2 + c + 1), exact at a = 0.
        c = np.cbrt(1 + 3 * a * (y - b))
        return 3 * (y - b) / (c * c + c + 1)

    se = s / np.sqrt(k)
    low[skewed] = m - se * g_inverse(q)
    high[skewed] = m - se * g_inverse(-q)
    return low, high


def bootstrap_interval(
    values: np.ndarray,
    confidence: float = CONFIDENCE,
    *,
    seed: int = SEED,
    n_resamples: int = N_RESAMPLES,
) -> tuple[float, float]:
    """BCa bootstrap interval for the mean of a sample, deterministic for a seed.

    ``scipy.stats.bootstrap`` (BCa, vectorised, in batches of about a million values).
    Not the policy's interval for means (:func:`mean_intervals` measures better, see the
    module notes), but the resampling interval for a statistic an engine cannot
    aggregate, and the reference the coverage test compares the policy with. No
    warnings are printed.

    Parameters
    ----------
    values
        The sample, in any order: it is sorted first, so that the same values give the
        same bounds however an engine ordered them. Must be finite.
    confidence
        Confidence level, strictly between 0 and 1.
    seed
        Seed of the resampling; the same seed and values give identical bounds.
    n_resamples
        Number of bootstrap resamples.

    Returns
    -------
    tuple of float
        Lower and upper bound. ``(nan, nan)`` for fewer than two values, ``(mean,
        mean)`` when all values are equal.

    Examples
    --------
    >>> values = np.array([42, 55, 61, 38, 70, 49, 58, 44, 66, 52, 47, 840.0])
    >>> low, high = bootstrap_interval(values)
    >>> round(low, 1), round(high, 1)
    (51.0, 381.0)
    >>> bootstrap_interval(values) == bootstrap_interval(values[::-1])
    True
    >>> bootstrap_interval(np.array([80.0])), bootstrap_interval(np.array([25.0, 25.0]))
    ((nan, nan), (25.0, 25.0))
    """
    confidence = check_confidence(confidence)
    x = np.sort(_values(values))
    if x.size < 2:
        return np.nan, np.nan
    if x[0] == x[-1]:
        return float(x[0]), float(x[0])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.bootstrap(
            (x,),
            np.mean,
            n_resamples=n_resamples,
            vectorized=True,
            confidence_level=confidence,
            method="BCa",
            batch=max(1, _BATCH_VALUES // x.size),
            rng=np.random.default_rng(seed),
        )
    low, high = res.confidence_interval
    return float(low), float(high)


def mean_intervals(
    n: Any,
    mean: Any,
    std: Any,
    samples: Mapping[int, np.ndarray],
    confidence: float = CONFIDENCE,
    *,
    seed: int = SEED,
    skew: Any = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Confidence intervals for each group's mean: skew-corrected t, or t when large.

    Each group with a skewness (given in ``skew``, or computed from ``samples[i]``)
    gets the skew-corrected t interval, every other group the t interval
    (:func:`t_interval`). A group with ``2 <= n[i] < BOOTSTRAP_BELOW`` must have one
    or the other.

    Parameters
    ----------
    n, mean, std
        Count, mean and sample standard deviation (``ddof=1``) of each group, as an
        engine's group-by gives them (arrays of one length).
    samples
        The raw values of group ``i`` at ``samples[i]``, for groups with fewer than
        :data:`BOOTSTRAP_BELOW` values and no ``skew``: collect the small groups'
        values only, or none when ``skew`` is given. A group's count, mean and
        standard deviation are then taken from its values.
    confidence
        Confidence level, strictly between 0 and 1.
    seed
        Accepted for callers of a resampling policy; these intervals involve no
        resampling, so reruns are identical whatever it is.
    skew
        Optional skewness of each group (``nw.col(x).skew()`` in the same group-by; see
        :func:`t_interval`). Where given (not NaN), no values are needed.

    Returns
    -------
    low, high : numpy.ndarray
        Bounds per group (NaN for groups with fewer than two values).
    methods : list of str
        Per group, ``"skew-corrected t"``, ``"t"`` or ``"none"`` (fewer than two
        values).

    Raises
    ------
    AovlabInputError
        When a small group has neither a skewness nor its values in ``samples``, or
        its values do not number ``n[i]``.

    Examples
    --------
    A segment of 12 orders (its values collected) and one of 2,000 (aggregates only):

    >>> small = np.array([42, 55, 61, 38, 70, 49, 58, 44, 66, 52, 47, 840.0])
    >>> n = np.array([12, 2_000])
    >>> mean = np.array([small.mean(), 96.40])
    >>> std = np.array([small.std(ddof=1), 71.15])
    >>> low, high, methods = mean_intervals(n, mean, std, {0: small})
    >>> low.round(1), high.round(1), methods
    (array([22.4, 93.3]), array([614.5,  99.5]), ['skew-corrected t', 't'])

    The same with the skewness from the engine instead of the values:

    >>> low, high, methods = mean_intervals(n, mean, std, {}, skew=np.array([3.0053, 1.2]))
    >>> low.round(1), high.round(1), methods
    (array([22.4, 93.3]), array([614.5,  99.6]), ['skew-corrected t', 'skew-corrected t'])
    """
    n_, mean_, std_, skew_ = (
        np.array(a, dtype=float)  # copies: small groups are filled in from their values
        for a in np.broadcast_arrays(
            np.asarray(n, dtype=float),
            np.asarray(mean, dtype=float),
            np.asarray(std, dtype=float),
            np.asarray(np.nan if skew is None else skew, dtype=float),
        )
    )
    need = np.flatnonzero((n_ >= 2) & (n_ < BOOTSTRAP_BELOW) & np.isnan(skew_))
    for i in need.tolist():
        if i not in samples:
            raise AovlabInputError(
                f"group {i} has {int(n_[i])} values, fewer than {BOOTSTRAP_BELOW}, "
                "and its interval is corrected for their skewness",
                expected=f"skew[{i}] or samples[{i}] (the group's values)",
                found="neither",
            )
        x = _values(samples[i])
        if x.size != n_[i]:
            raise AovlabInputError(
                f"group {i}'s values do not match its count",
                expected=f"{int(n_[i])} values",
                found=f"{x.size}",
            )
        mean_[i], std_[i] = x.mean(), x.std(ddof=1)
        with warnings.catch_warnings():
            # Values equal to 14 digits: scipy warns its skewness may be noise, and the
            # interval, a few cents wide, does not depend on it.
            warnings.simplefilter("ignore", RuntimeWarning)
            skew_[i] = stats.skew(x) if std_[i] > 0 else 0.0
    low, high = t_interval(n_, mean_, std_, confidence, skew=skew_)
    methods = [
        NONE if k < 2 else T if np.isnan(g) else SKEW_T
        for k, g in zip(n_.tolist(), skew_.tolist(), strict=True)
    ]
    return low, high, methods
