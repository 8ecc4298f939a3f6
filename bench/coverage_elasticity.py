"""Coverage of the elasticity interval with few SKUs whose price changed (issue 12).

Simulated shops: ``--skus`` SKUs x ``--weeks`` weeks; each SKU has its own level (mean
weekly units 5-150), every week a common shock (sd 0.2) and each SKU an AR(1) demand
wobble (rho 0.5, sd 0.1); ``changed`` SKUs step their price once, permanently, by 5-15 %
up or down at a random week (the others never change price; every price jitters by
rounding to cents); weekly units are negative binomial (size 5) around
exp(level + week + wobble + e x log price step), e = -1.2. The panel then goes through
the module's own rules (:func:`_steady`, :func:`_price_spread`, the 2 % threshold) and
one pyfixest feols, from which each candidate interval is read:

- ``crv1 t(G-1)``: CRV1, pyfixest's default t on clusters - 1 df (the module before);
- ``crv1 t(C-1)``: CRV1, t on (SKUs whose price changed - 1) df;
- ``crv3 t(G-1)``, ``crv3 t(C-1)``: the jackknife CRV3 errors, the same two df.

A wild cluster bootstrap (pyfixest ``wildboottest``) needs the ``wildboottest``
package, which the project does not install; it also gives a p-value, not an
interval (an interval needs test inversion, too slow here). Run once::

    PYTHONPATH=src python bench/coverage_elasticity.py --reps 400
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from scipy import stats

TRUTH = -1.2
METHODS = ("crv1 t(G-1)", "crv1 t(C-1)", "crv3 t(G-1)", "crv3 t(C-1)")


def simulate(seed: int, n_sku: int, n_weeks: int, changed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    level = rng.uniform(np.log(20), np.log(200), n_sku)
    week = rng.normal(0, 0.2, n_weeks)
    wobble = np.zeros((n_sku, n_weeks))
    eps = rng.normal(0, 0.1 * math.sqrt(1 - 0.25), (n_sku, n_weeks))
    wobble[:, 0] = rng.normal(0, 0.1, n_sku)
    for t in range(1, n_weeks):
        wobble[:, t] = 0.5 * wobble[:, t - 1] + eps[:, t]
    base = rng.uniform(10, 100, n_sku)
    step = np.ones((n_sku, n_weeks))
    for s in rng.choice(n_sku, changed, replace=False):
        at = rng.integers(n_weeks // 8, n_weeks - n_weeks // 8)
        step[s, at:] = 1 + rng.choice([-1, 1]) * rng.uniform(0.05, 0.15)
    price = np.round(base[:, None] * step, 2)
    mu = np.exp(level[:, None] + week[None, :] + wobble + TRUTH * np.log(step))
    size = 5.0
    units = rng.negative_binomial(size, size / (size + mu)).astype(float)
    return pd.DataFrame(
        {
            "sku": np.repeat([f"S{s:02d}" for s in range(n_sku)], n_weeks),
            "period": np.tile([f"W{t:03d}" for t in range(n_weeks)], n_sku),
            "category": "C",
            "units": units.ravel(),
            "price": price.ravel(),
        }
    ).query("units > 0")


def one(args: tuple[int, int, int, int, bool]) -> dict[str, float] | None:
    import pyfixest as pf

    from aovlab.pricing.elasticity import PRICE_VARIATION, _price_spread, _steady

    seed, n_sku, n_weeks, changed, crv3 = args
    panel = _steady(simulate(seed, n_sku, n_weeks, changed).reset_index(drop=True))
    spread = _price_spread(panel)
    varies = set(spread[spread > math.log1p(PRICE_VARIATION)].index)
    c, g = len(varies), panel["sku"].nunique()
    if c < 2:
        return None
    data = panel.assign(
        log_units=np.log(panel["units"]),
        log_price=np.log(panel["price"]) * panel["sku"].isin(varies),
    )
    out: dict[str, float] = {"changed": c, "skus": g}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols(
            "log_units ~ log_price | sku + period",
            data=data,
            vcov={"CRV1": "sku"},
            fixef_rm="none",
        )
        b = float(fit.coef()["log_price"])
        se1 = float(fit.se()["log_price"])
        se3 = math.nan
        if crv3:  # pyfixest refits once per SKU: about 1.4 s a replication
            fit.vcov({"CRV3": "sku"})
            se3 = float(fit.se()["log_price"])
    out["estimate"] = b
    for name, se, df in (
        ("crv1 t(G-1)", se1, g - 1),
        ("crv1 t(C-1)", se1, c - 1),
        ("crv3 t(G-1)", se3, g - 1),
        ("crv3 t(C-1)", se3, c - 1),
    ):
        half = stats.t.ppf(0.975, df) * se
        out[name] = float(abs(b - TRUTH) <= half)
        out[name + " width"] = 2 * half
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--skus", type=int, default=50)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--changed", default="3,5,8,12,30")
    parser.add_argument("--crv3", action="store_true", help="also the (slow) CRV3 errors")
    args = parser.parse_args()
    methods = METHODS if args.crv3 else METHODS[:2]
    print(
        f"{args.skus} SKUs x {args.weeks} weeks, {args.reps} replications per row, "
        f"true elasticity {TRUTH}; coverage of nominal 95 % (width relative to crv1 t(G-1))"
    )
    print(f"{'changed':>8} {'found':>6} " + " ".join(f"{m:>20}" for m in methods))
    with ProcessPoolExecutor() as pool:
        for changed in (int(c) for c in args.changed.split(",")):
            start = time.perf_counter()
            jobs = [
                (10_000 * changed + r, args.skus, args.weeks, changed, args.crv3)
                for r in range(args.reps)
            ]
            rows = [r for r in pool.map(one, jobs, chunksize=8) if r is not None]
            frame = pd.DataFrame(rows)
            base = frame["crv1 t(G-1) width"].mean()
            cells = []
            for m in methods:
                p = frame[m].mean()
                se = math.sqrt(p * (1 - p) / len(frame))
                cells.append(
                    f"{p * 100:5.1f}±{se * 100:3.1f} ({frame[m + ' width'].mean() / base:4.2f})"
                )
            print(
                f"{changed:>8} {frame['changed'].mean():6.1f} "
                + " ".join(f"{c:>20}" for c in cells)
                + f"   n={len(frame)} sd(est)={frame['estimate'].std():.3f} "
                f"{time.perf_counter() - start:.0f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
