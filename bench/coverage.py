"""Coverage of aovlab.intervals' policy against BCa and t, by simulation; prints markdown.

Lognormal values with sigma 1 (true mean exp(0.5)) in groups of 30 to 5,000. Each
replication is one group; the policy runs as a caller runs it, ``mean_intervals`` with
the raw values of groups under ``BOOTSTRAP_BELOW``. BCa is ``bootstrap_interval``
(``scipy.stats.bootstrap``), on the first replications only where it is slow (its
jackknife is O(n^2)). Every method sees the same samples, so their differences are
paired. Width is each method's mean interval width over t's on the same samples.

``--candidates`` adds the methods measured and not chosen (bootstrap-t, plain BCa) on
lognormal values, on orders with rare business baskets (98 % lognormal around 50, sigma
0.6; 2 % lognormal around 2,500, sigma 0.3: 50 times a basket) and on symmetric values
with heavy tails (100 + 20 x a Student-t with 3 degrees of freedom).

    .venv/bin/python bench/coverage.py                 # the table in aovlab/intervals.py
    .venv/bin/python bench/coverage.py --reps 1000     # a quicker, rougher look
    .venv/bin/python bench/coverage.py --candidates    # also the methods not chosen
    .venv/bin/python bench/coverage.py --threshold     # where the skew correction stops paying
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats

from aovlab import intervals

SIZES = (30, 100, 300, 1000, 5000)
TRUE_MEAN = float(np.exp(0.5))
# BCa replications per size at --reps 4000 (scaled with --reps): its cost grows as n^2.
BCA_REPS = {30: 4000, 100: 4000, 300: 2000, 1000: 1000, 5000: 300}

Interval = tuple[np.ndarray, np.ndarray]


def policy(x: np.ndarray) -> tuple[Interval, list[str]]:
    """mean_intervals on replications x (one group per row), as a caller would call it."""
    size = x.shape[1]
    n = np.full(x.shape[0], size)
    small = size < intervals.BOOTSTRAP_BELOW
    samples = {i: row for i, row in enumerate(x)} if small else {}
    low, high, methods = intervals.mean_intervals(n, x.mean(1), x.std(1, ddof=1), samples)
    return (low, high), methods


def t(x: np.ndarray) -> Interval:
    return intervals.t_interval(x.shape[1], x.mean(1), x.std(1, ddof=1))


def bca(x: np.ndarray) -> Interval:
    bounds = np.array([intervals.bootstrap_interval(row) for row in x])
    return bounds[:, 0], bounds[:, 1]


def bootstrap_t(x: np.ndarray, n_resamples: int = 1999, seed: int = 1) -> Interval:
    """Studentized bootstrap, vectorised over replications (scipy's percentile of t*)."""
    size = x.shape[1]
    mean, std = x.mean(1), x.std(1, ddof=1)
    low, high = np.empty(len(x)), np.empty(len(x))
    chunk = max(1, 4_000_000 // (n_resamples * size))
    for i in range(0, len(x), chunk):
        part = x[i : i + chunk]
        m = mean[i : i + chunk, None]

        def studentized(y: np.ndarray, axis: int = -1, m: np.ndarray = m) -> np.ndarray:
            return (y.mean(axis) - m) / (y.std(axis, ddof=1) / np.sqrt(size))

        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap(
                (part,),
                studentized,
                axis=-1,
                n_resamples=n_resamples,
                method="percentile",
                batch=max(1, 200_000 // size),
                rng=np.random.default_rng(seed + i),
            )
        se = std[i : i + chunk] / np.sqrt(size)
        low[i : i + chunk] = mean[i : i + chunk] - se * res.confidence_interval.high
        high[i : i + chunk] = mean[i : i + chunk] - se * res.confidence_interval.low
    return low, high


def covered(iv: Interval, true: float) -> np.ndarray:
    return (iv[0] <= true) & (true <= iv[1])


def pct(share: float) -> str:
    return f"{100 * share:.1f} %"


def main_table(reps: int) -> list[str]:
    rows = [
        "| values | replications (BCa) | policy | BCa | t | policy - BCa on the same samples "
        "| width policy / t | width BCa / t |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in SIZES:
        rng = np.random.default_rng(2024 + size)
        x = rng.lognormal(0.0, 1.0, size=(reps, size))
        (p, methods), ti = policy(x), t(x)
        k = max(50, BCA_REPS[size] * reps // 4000)
        b = bca(x[:k])
        width_t = ti[1] - ti[0]
        method = max(set(methods), key=methods.count)
        policy_covers, bca_covers = covered(p, TRUE_MEAN), covered(b, TRUE_MEAN)
        d = policy_covers[:k].astype(float) - bca_covers
        rows.append(
            f"| {size:,} | {reps:,} ({k:,}) | {pct(policy_covers.mean())} ({method}) "
            f"| {pct(bca_covers.mean())} | {pct(covered(ti, TRUE_MEAN).mean())} "
            f"| {100 * d.mean():+.1f} ± {100 * d.std() / np.sqrt(k):.1f} points "
            f"| {np.mean(p[1] - p[0]) / width_t.mean():.2f} "
            f"| {np.mean(b[1] - b[0]) / width_t[:k].mean():.2f} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def business(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, float]:
    p = 0.02
    basket = rng.lognormal(np.log(50), 0.6, size=shape)
    large = rng.lognormal(np.log(2500), 0.3, size=shape)
    true = (1 - p) * 50 * np.exp(0.6**2 / 2) + p * 2500 * np.exp(0.3**2 / 2)
    return np.where(rng.random(shape) < p, large, basket), float(true)


def candidates_table(reps: int) -> list[str]:
    rows = [
        "| values | data | method | coverage | width / t (mean) | width / t (95th pct) "
        "| upper bound > 2 x largest value |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    methods: dict[str, Callable[[np.ndarray], Interval]] = {
        "policy": lambda x: policy(x)[0],
        "t": t,
        "BCa": bca,
        "bootstrap-t": bootstrap_t,
    }
    for size in (30, 100):
        for data in ("lognormal", "business orders", "symmetric, heavy tails"):
            rng = np.random.default_rng(7 + size)
            if data == "lognormal":
                x, true = rng.lognormal(0.0, 1.0, size=(reps, size)), TRUE_MEAN
            elif data == "business orders":
                x, true = business(rng, (reps, size))
            else:  # Student-t with 3 degrees of freedom around 100
                x, true = 100 + 20 * rng.standard_t(3, size=(reps, size)), 100.0
            width_t = np.diff(t(x), axis=0)[0]
            for name, method in methods.items():
                iv = method(x)
                ratio = (iv[1] - iv[0]) / width_t
                rows.append(
                    f"| {size} | {data} | {name} | {pct(covered(iv, true).mean())} "
                    f"| {ratio.mean():.2f} | {np.percentile(ratio, 95):.2f} "
                    f"| {pct(np.mean(iv[1] > 2 * x.max(1)))} |"
                )
                print(rows[-1], file=sys.stderr, flush=True)
    return rows


def threshold_table(reps: int) -> list[str]:
    """Skew-corrected t against plain t by size: where the correction stops paying."""
    rows = [
        "| values | replications | t | skew-corrected t | gain, paired | width / t |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size in (100, 300, 500, 1000, 2000, 5000):
        rng = np.random.default_rng(99 + size)
        d, width, plain_covers = [], [], []
        for start in range(0, reps, 2000):
            x = rng.lognormal(0.0, 1.0, size=(min(2000, reps - start), size))
            args = (size, x.mean(1), x.std(1, ddof=1))
            plain, skewed = t(x), intervals.t_interval(*args, skew=stats.skew(x, axis=1))
            plain_covers.append(covered(plain, TRUE_MEAN))
            d.append(covered(skewed, TRUE_MEAN).astype(float) - plain_covers[-1])
            width.append((skewed[1] - skewed[0]) / (plain[1] - plain[0]).mean())
        gain, base = np.concatenate(d), np.concatenate(plain_covers)
        rows.append(
            f"| {size:,} | {reps:,} | {pct(base.mean())} | {pct(base.mean() + gain.mean())} "
            f"| {100 * gain.mean():+.2f} ± {100 * gain.std() / np.sqrt(len(gain)):.2f} points "
            f"| {np.concatenate(width).mean():.2f} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000, help="replications per size")
    parser.add_argument("--candidates", action="store_true", help="also the methods not chosen")
    parser.add_argument(
        "--threshold", action="store_true", help="only skew-corrected t vs t by size (40,000 each)"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"Nominal {pct(intervals.CONFIDENCE)}; BOOTSTRAP_BELOW = {intervals.BOOTSTRAP_BELOW}.\n")
    if args.threshold:
        print("\n".join(threshold_table(40_000)) + "\n")
        print(f"({time.perf_counter() - start:.0f} s)")
        return
    tables = [main_table(args.reps)]
    if args.candidates:
        tables.append(candidates_table(min(args.reps, 2000)))
    for table in tables:
        print("\n".join(table) + "\n")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
