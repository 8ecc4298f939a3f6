"""The exact, symmetric splits every analysis uses."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aovlab.splits import round_parts, shapley


@given(st.lists(st.integers(-(10**6), 10**6).map(lambda c: c / 1000), min_size=1, max_size=12))
def test_round_parts_add_up_to_the_rounded_total(parts):
    rounded = round_parts(parts)
    assert round(sum(rounded), 2) == round(sum(parts), 2)
    assert all(abs(r - p) < 0.01 + 1e-9 for r, p in zip(rounded, parts, strict=True))


@given(
    st.lists(st.floats(0.1, 1000), min_size=3, max_size=3),
    st.lists(st.floats(0.1, 1000), min_size=3, max_size=3),
)
def test_shapley_is_exact_and_symmetric(before, after):
    parts = shapley(before, after)
    whole = after[0] * after[1] * after[2] - before[0] * before[1] * before[2]
    assert sum(parts) == pytest.approx(whole, rel=1e-9, abs=1e-6)
    back = shapley(after, before)
    assert [-p for p in back] == pytest.approx(parts, rel=1e-9, abs=1e-6)


def test_two_factors_are_the_midpoint_rule():
    (dx, dy) = shapley([2.0, 10.0], [3.0, 12.0])
    assert (dx, dy) == (1 * (10 + 12) / 2, 2 * (2 + 3) / 2)


def test_comparison_core_refuses_overlapping_periods():
    from aovlab.compare import comparison
    from aovlab.errors import AovlabInputError

    with pytest.raises(AovlabInputError, match="overlap"):
        comparison("2026Q3", "2026-08")
