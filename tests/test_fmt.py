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


# ------------------------------------------------------------------ the client's locale

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", ("1,500 orders", "2.46", "-2.46", ".", "Nov 24, 2026", "November 2026")),
        ("en-GB", ("1,500 orders", "2.46", "-2.46", ".", "24 Nov 2026", "November 2026")),
        ("de", ("1.500 orders", "2,46", "-2,46", ",", "24. Nov. 2026", "November 2026")),
        ("nl", ("1.500 orders", "2,46", "-2,46", ",", "24 nov 2026", "november 2026")),
        ("sv", (f"1{NBSP}500 orders", "2,46", "−2,46", ",", "24 nov. 2026", "november 2026")),
        ("nb", (f"1{NBSP}500 orders", "2,46", "−2,46", ",", "24. nov. 2026", "november 2026")),
    ],
)
def test_words_and_numbers_in_a_locale(tag, expected):
    import datetime as dt

    from aovlab import locales

    with locales.locale(tag):
        got = (
            fmt.counted(1500, "order"),
            fmt.number(2.456),
            fmt.number(-2.456),  # plain numbers take the locale's own minus sign
            fmt.decimal_sign(),
            fmt.date(dt.datetime(2026, 11, 24, 23, 59)),
            fmt.period_name("2026-11"),
        )
    assert got == expected


def test_money_rounds_alike_in_every_locale():
    from aovlab import locales

    # 2.675 is 2.67499... as a float: rounded as Python rounds it, whatever the locale
    assert fmt.money(2.675, "EUR") == "€2.67"
    with locales.locale("de"):
        assert fmt.money(2.675, "EUR") == f"2,67{NBSP}€"
        assert fmt.money(1_234_567.0, "EUR", short=True) == f"1,23m{NBSP}€"
