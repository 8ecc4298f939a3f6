"""Exact, symmetric splits of a change: one effect per factor, parts that add up.

A quantity that is a product of factors (AOV = UPT x AUR, a segment's part of AOV = its
share x its AOV, revenue = sessions x conversion x AOV) changes by the sum of its
factors' Shapley effects (:func:`shapley`): the parts add up to the change with no
residual, and swapping the periods negates every part. :func:`round_parts` rounds such
parts so that the shown figures still add up to the shown total, to the cent.

Every analysis that explains a change (drivers, segments, pricing, loyalty) splits it
with these two functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

from aovlab.errors import AovlabInputError


def shapley(before: Sequence[Any], after: Sequence[Any]) -> list[Any]:
    """Split the change of a product of factors into one exact, symmetric effect per factor.

    Each factor's effect is its change times the other factors' values averaged over
    every order in which the factors could have changed one at a time (the Shapley
    value). The effects add up to ``prod(after) - prod(before)`` exactly, and swapping
    ``before`` and ``after`` negates each. For two factors this is the midpoint rule
    ``dx * (y0 + y1) / 2 + dy * (x0 + x1) / 2``. Works on numbers and on narwhals
    expressions.

    Examples
    --------
    AOV = UPT x AUR going from 2 items at 10.00 to 3 items at 12.00 (20.00 -> 36.00):

    >>> shapley([2.0, 10.0], [3.0, 12.0])
    [11.0, 5.0]

    Revenue = sessions x conversion x AOV, from the worked example 400,000 x 2.5 % x
    94.47 = 944,700 to 420,000 x 2.4 % x 97.00 = 977,760:

    >>> parts = shapley([400_000, 0.025, 94.47], [420_000, 0.024, 97.00])
    >>> [round(p, 2) for p in parts], round(sum(parts), 2)
    ([46905.93, -39255.57, 25409.63], 33060.0)
    """
    if len(before) != len(after) or not before:
        raise AovlabInputError(
            "shapley needs the same factors in both periods",
            expected="two equally long, non-empty sequences",
            found=f"{len(before)} and {len(after)} factors",
        )
    n = len(before)
    effects = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        weight_sum: Any = 0.0
        for k in range(n):
            weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            for changed in combinations(others, k):
                term: Any = weight
                for j in others:
                    term = term * (after[j] if j in changed else before[j])
                weight_sum = weight_sum + term
        effects.append((after[i] - before[i]) * weight_sum)
    return effects


def round_parts(parts: Sequence[float], total: float | None = None, digits: int = 2) -> list[float]:
    """Round parts so that they still add up to their (rounded) total.

    Each part is rounded down in the last digit, then the units left over go to the
    parts with the largest remainders. A table of effects then adds up to the cent.

    >>> round_parts([1.005, 1.005, 1.005])
    [1.01, 1.0, 1.0]
    >>> round_parts([0.333, 0.333, 0.334], total=1.0)
    [0.33, 0.33, 0.34]
    """
    scale = 10**digits
    target = round(round(sum(parts) if total is None else total, digits) * scale)
    floors = [math.floor(p * scale + 1e-9) for p in parts]
    remainders = sorted(
        range(len(parts)), key=lambda i: (parts[i] * scale - floors[i], -i), reverse=True
    )
    missing = target - sum(floors)
    for i in remainders[: max(0, missing)]:
        floors[i] += 1
    for i in list(reversed(remainders))[: max(0, -missing)]:
        floors[i] -= 1
    return [f / scale for f in floors]
