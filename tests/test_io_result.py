"""The readers' check for orders that appear again: the quick pass agrees with the full one."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aovlab.errors import AovlabInputError
from aovlab.io.result import _together, refuse_repeated_orders

ROWS = st.lists(
    st.tuples(
        st.sampled_from(["#1", "#2", "#3", None]),
        st.booleans(),
        st.sampled_from(["a", "b", None]),
    ),
    min_size=1,
    max_size=12,
)


def _frame(rows):
    return (
        pl.DataFrame(
            {
                "key": [r[0] for r in rows],
                "head": [r[1] for r in rows],
                "item": [r[2] for r in rows],
            },
            schema={"key": pl.String, "head": pl.Boolean, "item": pl.String},
        )
        .with_row_index("__row")
        .with_columns((pl.col("__row").cast(pl.Int64) + 2).alias("__file_row"))
    )


def _full_check_passes(frame, heads, item):
    try:
        refuse_repeated_orders(frame, "key", "Key", "x.csv", heads=heads, item=item)
    except AovlabInputError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(rows=ROWS, use_heads=st.booleans(), use_item=st.booleans(), gap=st.booleans())
def test_the_quick_check_passes_only_what_the_full_check_passes(rows, use_heads, use_item, gap):
    frame = _frame(rows)
    if gap:  # rows left out before the check: __row no longer counts up by one
        frame = frame.filter(pl.col("__row") != 1)
    heads = pl.col("head") if use_heads else None
    item = "item" if use_item else None
    quick = _together(frame, "key", heads=heads, item=item)
    full = _full_check_passes(frame, heads, item)
    assert not quick or full
    if not gap:  # rows numbered one by one: the two agree exactly
        assert quick == full


def test_an_order_further_down_is_refused_with_its_rows():
    frame = _frame([("#1", True, "a"), ("#2", True, "a"), ("#1", False, "b")])
    with pytest.raises(AovlabInputError, match="appears more than once") as err:
        refuse_repeated_orders(frame, "key", "Key", "x.csv", heads=pl.col("head"))
    assert err.value.rows == [4]
