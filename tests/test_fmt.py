"""aovlab.fmt: the words for counts, dimensions and periods in headlines."""

import pytest

from aovlab import fmt


@pytest.mark.parametrize(
    ("name", "one", "many"),
    [
        ("country", "country", "countries"),
        ("device", "device", "devices"),
        ("channel", "channel", "channels"),
        ("discount_code", "discount code", "discount codes"),
        ("customer_type", "customer type", "customer types"),
        ("main_category", "main category", "main categories"),
        ("store", "store", "stores"),
        ("category", "category", "categories"),
        ("ab_arm", "AB arm", "AB arms"),
        ("utm_source", "UTM source", "UTM sources"),
        ("shipping_class", "shipping class", "shipping classes"),
        ("day", "day", "days"),
        ("is_member", "group of is member", "groups of is member"),
        ("coupon_used", "group of coupon used", "groups of coupon used"),
        ("region2", "group of region2", "groups of region2"),
    ],
)
def test_dimension_label(name, one, many):
    assert fmt.dimension_label(name) == one
    assert fmt.dimension_label(name, plural=True) == many


def test_counted_never_says_one_orders():
    assert [fmt.counted(n, "order") for n in (0, 1, 2, 1500)] == [
        "0 orders",
        "1 order",
        "2 orders",
        "1,500 orders",
    ]
    assert fmt.counted(1, "order", words=True) == "one order"


def test_period_name():
    assert fmt.period_name("2011-11") == "November 2011"
    assert fmt.period_name("2011-13") == "2011-13"
    assert fmt.period_name("2026-W40") == "2026-W40"
