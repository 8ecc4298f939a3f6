import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from aovlab import intervals
from aovlab.errors import AovlabInputError
from aovlab.intervals import (
    BOOTSTRAP_BELOW,
    CONFIDENCE,
    SEED,
    bootstrap_interval,
    mean_intervals,
    t_interval,
)

# A small segment: eleven ordinary baskets and one business order.
SMALL = np.array([42, 55, 61, 38, 70, 49, 58, 44, 66, 52, 47, 840.0])


def aggregates(x):
    return len(x), x.mean(), x.std(ddof=1), stats.skew(x)


# ------------------------------------------------------------------------ t interval


def test_t_interval_on_known_numbers_against_scipy():
    # 1, 2, 3, 4: mean 2.5, std sqrt(5/3); t(3, 0.975) = 3.182, half-width 2.054.
    std = math.sqrt(5 / 3)
    low, high = t_interval(np.array([4]), np.array([2.5]), np.array([std]))
    expected = stats.t.interval(0.95, 3, loc=2.5, scale=std / 2)
    assert (low[0], high[0]) == pytest.approx(expected, abs=1e-12)
    assert (round(low[0], 3), round(high[0], 3)) == (0.446, 4.554)
    low90, high90 = t_interval(4, 2.5, std, confidence=0.90)
    assert (float(low90), float(high90)) == pytest.approx((2.5 - 1.519, 2.5 + 1.519), abs=1e-3)


def test_t_interval_is_vectorised_with_nan_below_two_values():
    n = np.array([10, 1, 0, 5, 200])
    mean = np.array([100.0, 80.0, np.nan, 30.0, 95.0])
    std = np.array([40.0, np.nan, np.nan, 0.0, 60.0])
    low, high = t_interval(n, mean, std)
    assert np.isnan(low[1:3]).all() and np.isnan(high[1:3]).all()
    assert (low[3], high[3]) == (30.0, 30.0)
    for i in (0, 4):
        expected = stats.t.interval(0.95, n[i] - 1, loc=mean[i], scale=std[i] / np.sqrt(n[i]))
        assert (low[i], high[i]) == pytest.approx(expected, abs=1e-12)


def test_zero_skewness_gives_the_t_interval():
    n, mean, std = (
        np.array([12, 40, 3000]),
        np.array([118.5, 60.0, 96.4]),
        np.array([227.4, 35.0, 71.2]),
    )
    plain = t_interval(n, mean, std)
    corrected = t_interval(n, mean, std, skew=np.zeros(3))
    np.testing.assert_allclose(corrected, plain, rtol=1e-12)


def test_skew_correction_inverts_halls_transformation():
    # Independently: solve g(T) = +-q for the t statistic with a root finder.
    n, mean, std, skew = aggregates(SMALL)
    gamma = skew * ((n - 1) / n) ** 1.5
    q = stats.t.ppf(0.975, n - 1)

    def g(t):
        return (
            t
            + gamma / (3 * math.sqrt(n)) * t**2
            + gamma**2 / (27 * n) * t**3
            + gamma / (6 * math.sqrt(n))
        )

    t_upper, t_lower = (optimize.brentq(lambda t, y=y: g(t) - y, -100, 100) for y in (q, -q))
    se = std / math.sqrt(n)
    low, high = t_interval(n, mean, std, skew=skew)
    assert (float(low), float(high)) == pytest.approx(
        (mean - se * t_upper, mean - se * t_lower), rel=1e-9
    )
    assert (round(float(low), 1), round(float(high), 1)) == (22.4, 614.5)
    # Right skew: further above the mean than below it, and not below zero (t is).
    assert high - mean > 3 * (mean - low)
    assert float(t_interval(n, mean, std)[0]) < 0 < float(low)


def test_left_skew_mirrors_right_skew():
    n, mean, std, skew = aggregates(SMALL)
    low, high = t_interval(n, mean, std, skew=skew)
    mirror_low, mirror_high = t_interval(n, -mean, std, skew=-skew)
    assert (float(mirror_low), float(mirror_high)) == pytest.approx((-float(high), -float(low)))


def test_nan_skewness_falls_back_to_t():
    low, high = t_interval(
        np.array([12, 12]),
        np.array([118.5, 118.5]),
        np.array([227.4, 227.4]),
        skew=np.array([np.nan, 3.0]),
    )
    assert (low[0], high[0]) == pytest.approx(tuple(float(b) for b in t_interval(12, 118.5, 227.4)))
    assert high[1] > high[0]


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95, -0.5])
def test_confidence_must_be_a_share(confidence):
    with pytest.raises(AovlabInputError, match="confidence"):
        t_interval(10, 1.0, 1.0, confidence)
    with pytest.raises(AovlabInputError, match="confidence"):
        bootstrap_interval(SMALL, confidence)


# ----------------------------------------------------------------- bootstrap interval


def test_bootstrap_is_deterministic_and_ignores_order():
    first = bootstrap_interval(SMALL)
    assert bootstrap_interval(SMALL) == first
    assert bootstrap_interval(np.random.default_rng(1).permutation(SMALL)) == first
    assert bootstrap_interval(SMALL, seed=SEED + 1) != first
    assert first[0] < SMALL.mean() < first[1]


def test_bootstrap_edge_cases_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(math.isnan(b) for b in bootstrap_interval(np.array([])))
        assert all(math.isnan(b) for b in bootstrap_interval(np.array([80.0])))
        assert bootstrap_interval(np.array([25.0] * 7)) == (25.0, 25.0)
        low, high = bootstrap_interval(np.array([20.0] * 29 + [60.0]))  # nearly all equal
        assert 20.0 <= low <= high
        low, high = bootstrap_interval(np.array([10.0, 30.0]))
        assert 10.0 <= low <= 20.0 <= high <= 30.0


def test_bootstrap_refuses_missing_values():
    with pytest.raises(AovlabInputError, match="finite"):
        bootstrap_interval(np.array([1.0, np.nan, 3.0]))


def test_bootstrap_takes_milliseconds():
    # Cheap enough for 100 groups; not a benchmark, a guard against O(n^2) slips.
    import time

    x = np.random.default_rng(2).lognormal(size=BOOTSTRAP_BELOW - 1)
    start = time.perf_counter()
    bootstrap_interval(x)
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- policy


def test_policy_picks_skew_corrected_below_the_threshold_and_t_above():
    rng = np.random.default_rng(3)
    small, edge, large = (
        rng.lognormal(4, 0.8, size) for size in (30, BOOTSTRAP_BELOW - 1, BOOTSTRAP_BELOW)
    )
    groups = [small, edge, large]
    n = np.array([len(g) for g in groups])
    mean = np.array([g.mean() for g in groups])
    std = np.array([g.std(ddof=1) for g in groups])
    low, high, methods = mean_intervals(n, mean, std, {0: small, 1: edge})
    assert methods == ["skew-corrected t", "skew-corrected t", "t"]
    for i in (0, 1):
        expected = t_interval(*aggregates(groups[i])[:3], skew=stats.skew(groups[i]))
        assert (low[i], high[i]) == pytest.approx(tuple(float(b) for b in expected))
    assert (low[2], high[2]) == pytest.approx(
        tuple(float(b) for b in t_interval(n[2], mean[2], std[2]))
    )


def test_policy_with_skewness_from_the_engine_needs_no_values():
    n, mean, std, skew = aggregates(SMALL)
    from_values = mean_intervals(np.array([n]), np.array([mean]), np.array([std]), {0: SMALL})
    from_skew = mean_intervals(
        np.array([n]), np.array([mean]), np.array([std]), {}, skew=np.array([skew])
    )
    np.testing.assert_allclose(from_values[:2], from_skew[:2], rtol=1e-12)
    assert from_values[2] == from_skew[2] == ["skew-corrected t"]


def test_policy_small_groups_edge_cases():
    n = np.array([0, 1, 2, 5])
    mean = np.array([np.nan, 80.0, 20.0, 25.0])
    std = np.array([np.nan, np.nan, 14.142, 0.0])
    samples = {1: np.array([80.0]), 2: np.array([10.0, 30.0]), 3: np.array([25.0] * 5)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high, methods = mean_intervals(n, mean, std, samples)
    assert np.isnan(low[:2]).all() and np.isnan(high[:2]).all()
    assert methods[:2] == ["none", "none"]
    assert (low[2], high[2]) == pytest.approx(
        tuple(float(b) for b in t_interval(2, 20.0, math.sqrt(200)))
    )
    assert (low[3], high[3]) == (25.0, 25.0)


def test_policy_is_deterministic_whatever_the_order_of_values():
    n, mean, std, _ = aggregates(SMALL)
    args = np.array([n]), np.array([mean]), np.array([std])
    first = mean_intervals(*args, {0: SMALL})
    again = mean_intervals(*args, {0: SMALL[::-1]})
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_policy_refuses_a_small_group_without_values_or_skewness():
    with pytest.raises(AovlabInputError, match=r"samples\[1\]"):
        mean_intervals(np.array([5000, 12]), np.array([90.0, 118.5]), np.array([70.0, 227.4]), {})
    with pytest.raises(AovlabInputError, match="12 values"):
        mean_intervals(np.array([12]), np.array([118.5]), np.array([227.4]), {0: SMALL[:5]})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(0.01, 50_000, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 2)),
        min_size=2,
        max_size=80,
    )
)
def test_the_interval_contains_the_mean(values):
    x = np.array(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high, _ = mean_intervals(
            np.array([len(x)]), np.array([x.mean()]), np.array([x.std(ddof=1)]), {0: x}
        )
        b_low, b_high = bootstrap_interval(x, n_resamples=999)
    assert low[0] <= x.mean() * (1 + 1e-12) and x.mean() * (1 - 1e-12) <= high[0]
    assert b_low <= x.mean() * (1 + 1e-12) and x.mean() * (1 - 1e-12) <= b_high


# ------------------------------------------------------------------ coverage simulation
# Lognormal values, sigma 1 (true mean exp(0.5)); each replication is one group. The
# policy runs as a caller runs it (values of the small groups); t on every replication;
# BCa (scipy.stats.bootstrap, 999 resamples, vectorised) on the first ones, as many as
# its O(n^2) jackknife allows in the time. All see the same samples, so the policy's
# shortfall against each is a paired difference, allowed 3 of its Monte-Carlo standard
# errors. Floors: bench/coverage.py's measurement (see aovlab/intervals.py) minus about
# 3 standard errors at these replications.

TRUE_MEAN = math.exp(0.5)
# size: (replications, of which BCa, floor for the policy)
COVERAGE = {
    30: (4000, 2000, 0.90),
    100: (4000, 1000, 0.925),
    300: (3000, 600, 0.925),
    1000: (2000, 400, 0.93),
    5000: (2000, 100, 0.93),
}


def bca_vectorised(x):
    # batch bounds the memory of the resamples and of the jackknife (about 16 MB here).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap(
            (x,),
            np.mean,
            axis=-1,
            n_resamples=999,
            method="BCa",
            batch=max(1, 2_000_000 // x.size),
            rng=np.random.default_rng(11),
        )
    return res.confidence_interval.low, res.confidence_interval.high


def covered(low, high):
    return (low <= TRUE_MEAN) & (high >= TRUE_MEAN)


def at_least_as_good(policy, other):
    """Paired: the policy's coverage is not below the other's by more than 3 standard errors."""
    d = policy.astype(float) - other.astype(float)
    se = d.std() / math.sqrt(len(d))
    return (
        d.mean() >= -3 * se,
        f"{policy.mean():.3f} vs {other.mean():.3f} (se of difference {se:.4f})",
    )


@pytest.mark.parametrize("size", list(COVERAGE))
def test_coverage_on_lognormal_values(size):
    reps, reps_bca, floor = COVERAGE[size]
    x = np.random.default_rng(size).lognormal(0.0, 1.0, size=(reps, size))
    n, mean, std = np.full(reps, size), x.mean(1), x.std(1, ddof=1)
    samples = {i: row for i, row in enumerate(x)} if size < BOOTSTRAP_BELOW else {}
    low, high, methods = mean_intervals(n, mean, std, samples)
    assert set(methods) == {"skew-corrected t" if size < BOOTSTRAP_BELOW else "t"}
    policy = covered(low, high)
    t_cov = covered(*t_interval(n, mean, std))
    bca_cov = covered(*bca_vectorised(x[:reps_bca]))

    assert policy.mean() >= floor, f"policy covers {policy.mean():.3f} < {floor}"
    ok, detail = at_least_as_good(policy, t_cov)
    assert ok, f"below t: {detail}"
    ok, detail = at_least_as_good(policy[:reps_bca], bca_cov)
    assert ok, f"below BCa: {detail}"
    # Not absurdly wide: on average at most 1.75 times the width of t (measured: 1.58 at 30).
    t_low, t_high = t_interval(n, mean, std)
    assert np.mean(high - low) <= 1.75 * np.mean(t_high - t_low)


def test_defaults():
    assert CONFIDENCE == 0.95
    assert isinstance(intervals.SEED, int) and isinstance(BOOTSTRAP_BELOW, int)
