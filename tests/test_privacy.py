"""Personal data stops at the reader, whatever its column is called."""

import json

import narwhals.stable.v2 as nw
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import aovlab
from aovlab import ShopData, privacy
from aovlab.cli import app
from aovlab.privacy import REDACTED, is_personal_column, looks_personal

PEOPLE = ["anna.berg@example.com", "+46 70 123 45 67", "Storgatan 12", "Anna Berg", "Umeå"]


def crm_orders(n: int = 40) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": [str(i) for i in range(n)],
            "ordered_at": ["2026-10-01 10:00"] * n,
            "total": [10.0 + i for i in range(n)],
            "Customer Name": [f"Person {i}" for i in range(n)],
            "Full Name": ["Anna Berg"] * n,
            "Billing Name": ["Anna Berg"] * n,
            "Order Notes": ["leave at door"] * n,
            "Ship To": ["Storgatan 12"] * n,
            "company": ["Berg AB"] * n,
            "city": ["Umeå"] * n,
            "channel": ["web", "app"] * (n // 2),
            # Codes a person typed: one is an email, one a phone number.
            "discount_code": ["anna.berg@example.com", "+46 70 123 45 67"]
            + ["WELCOME10"] * (n - 2),
            # A note field with one value per order is free text, not a dimension.
            "reference": [f"ref {i} for Anna" for i in range(n)],
        }
    )


def test_crm_columns_never_become_dimensions():
    shop = ShopData.from_frames(crm_orders(), currency="EUR")
    assert shop.dimensions == ["channel", "discount_code"]
    codes = set(shop.orders["discount_code"].to_list())
    assert codes == {"WELCOME10", REDACTED}
    notes = " ".join(str(n) for n in shop.notes)
    assert "customer name, full name, billing name, order notes, ship to, company, city" in notes
    assert "discount_code (2 values removed)" in notes
    assert "reference (40 values in 40 orders, 0 customers)" in notes
    for value in PEOPLE:
        assert value not in notes


def test_the_default_split_is_never_a_person():
    shop = ShopData.from_frames(crm_orders(), currency="EUR")
    assert aovlab.metrics.pick_dimension(shop) == "channel"
    table = aovlab.metrics.kpis(shop, by="discount_code")
    shown = json.dumps(table.to_dict(), ensure_ascii=False) + table.headline
    for value in PEOPLE:
        assert value not in shown


def test_customer_ids_written_as_emails_are_hashed_with_the_salt():
    orders = pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "ordered_at": ["2026-10-01"] * 3,
            "total": [10.0, 20.0, 30.0],
            "customer_id": ["Anna@Example.com", "anna@example.com ", "K-17"],
        }
    )
    a = ShopData.from_frames(orders, salt="client-1")
    b = ShopData.from_frames(orders, salt="client-2")
    ids = a.orders["customer_id"].to_list()
    assert ids[0] == ids[1] and ids[0].startswith("c-") and ids[2] == "K-17"
    assert b.orders["customer_id"][0] != ids[0]
    assert "example.com" not in repr(a) + " ".join(str(n) for n in a.notes)


def test_product_names_that_hold_contact_details_are_removed():
    orders = pl.DataFrame({"order_id": ["1"], "ordered_at": ["2026-10-01"]})
    lines = pl.DataFrame(
        {
            "order_id": ["1", "1"],
            "sku": ["A", "CUSTOM"],
            "product": ["Tent Fjäll 2", "Engraving for anna.berg@example.com"],
            "quantity": [1, 1],
            "unit_price": [100.0, 10.0],
        }
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    assert shop.lines["product"].to_list() == ["Tent Fjäll 2", REDACTED]
    assert shop.orders["merchandise"].to_list() == [110.0]  # the money stays


def test_the_pandas_path_removes_the_same_values():
    native = crm_orders().to_pandas()
    shop = ShopData.from_frames(native, currency="EUR")
    assert list(shop.orders.columns).count("discount_code") == 1
    assert set(shop.orders["discount_code"]) == {"WELCOME10", REDACTED}
    assert list(native.columns)[3] == "Customer Name"  # the caller's frame is unchanged


@pytest.mark.parametrize(
    ("name", "personal"),
    [
        ("Billing Name", True),
        ("shipping_name", True),
        ("Kundnamn", True),
        ("Leveransadress", True),
        ("Vorname", True),
        ("Klantnaam", True),
        ("Remarks", True),
        ("E-Mail", True),
        ("Phone", True),
        ("Order Notes", True),
        ("Note Attributes", True),
        ("Ship To", True),
        ("company", True),
        ("City", True),
        ("Postnummer", True),
        ("campaign_name", False),
        ("store", False),
        ("country", False),
        ("discount_code", False),
    ],
)
def test_personal_column_names(name, personal):
    assert is_personal_column(name) is personal


def test_validate_names_what_was_dropped(tmp_path):
    path = tmp_path / "crm.csv"
    crm_orders().write_csv(path)
    result = CliRunner().invoke(app, ["validate", str(path), "--json"])
    report = json.loads(result.stdout)
    assert report["status"] == "warnings"  # values were removed: say so, not "clean"
    messages = " ".join(n["message"] for n in report["notes"])
    assert "order notes" in messages and "discount_code" in messages
    assert not any(looks_personal(v) for v in result.stdout.split('"'))


def test_phone_numbers_and_addresses_in_any_dimension_are_removed():
    values = [
        "555-123-4567",
        "(0)20 7946 0958",
        "0701234567",
        "12 High Street London",
        "Hauptstraße 5 Berlin",
        "Storgatan 12 lgh 1101",
        "Baker Street 221B",
        "(555) 123-4567",
    ]
    n = len(values)
    orders = pl.DataFrame(
        {
            "order_id": [str(i) for i in range(2 * n)],
            "ordered_at": ["2026-10-01"] * (2 * n),
            "total": [10.0] * (2 * n),
            "tags": values + ["vip"] * n,
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR")
    assert set(shop.orders["tags"].to_list()) == {REDACTED, "vip"}


def test_product_names_are_checked_for_contacts_only():
    orders = pl.DataFrame({"order_id": ["1"], "ordered_at": ["2026-10-01"]})
    names = ["Seagate 2 TB Hard Drive", "21 Jump Street", "Mario Kart 8 Rainbow Road"]
    lines = pl.DataFrame(
        {
            "order_id": ["1"] * 3,
            "sku": ["A", "B", "C"],
            "product": names,
            "quantity": [1, 1, 1],
            "unit_price": [1.0, 2.0, 3.0],
        }
    )
    shop = ShopData.from_frames(orders, lines, currency="EUR")
    assert shop.lines["product"].to_list() == names


@pytest.mark.parametrize(
    "content",
    [
        "order_id,ordered_at,total\n1,2026-10-01,100\n2,2026-10-02,anna@example.com\n",
        "order_id,ordered_at,total\n1,+46 70 123 45 67,100\n",
        "1,anna@example.com,Anna Svensson,+46 70 123 45 67,2026-10-01,100\n",
    ],
)
def test_error_messages_never_quote_personal_values(tmp_path, content):
    path = tmp_path / "orders.csv"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["kpis", str(path), "--json", "--currency", "EUR"])
    assert result.exit_code == 2
    for value in ("anna@example.com", "+46 70 123 45 67"):
        assert value not in result.stderr + result.stdout
    assert "(personal data)" in result.stderr


def test_a_names_column_that_repeats_with_repeat_customers_is_not_a_dimension():
    """200 orders from 50 customers: the names repeat, so they are only 25 % of the rows."""
    names = [f"Person {i} Svensson" for i in range(50)]
    orders = pl.DataFrame(
        {
            "order_id": [str(i) for i in range(200)],
            "ordered_at": ["2026-10-01"] * 200,
            "total": [10.0 + i for i in range(200)],
            "customer_id": [f"K{i % 50}" for i in range(200)],
            "Mottagare": [names[i % 50] for i in range(200)],
            "label": [f"Person {i % 50}" for i in range(200)],
            "channel": ["web", "app"] * 100,
        }
    )
    shop = ShopData.from_frames(orders, currency="EUR")
    assert shop.dimensions == ["channel"]


@pytest.mark.parametrize("addresses", [True, False])
def test_the_engine_rule_and_the_python_rule_agree(addresses):
    """privacy.personal (in the engine) and looks_personal (for messages) are one rule."""
    import narwhals.stable.v2 as nw

    from aovlab.privacy import personal

    values = [
        *PEOPLE,
        "555-123-4567",
        "0701234567",
        "0012345678905",
        "12 High Street London",
        "Seagate 2 TB Hard Drive",
        "2026-10-03",
        "20261124",
        "01 23 45",
        "WELCOME10",
        "Via Roma 12",
        "call 0046 8 123 456 78 please",
    ]
    frame = nw.from_native(pl.DataFrame({"v": values}), eager_only=True)
    engine = frame.select(personal("v", addresses=addresses))["v"].to_list()
    assert engine == [looks_personal(v, addresses=addresses) for v in values]


_SAMPLES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789 +-().@abcxyz", max_size=30),
    st.sampled_from(
        [
            "anna@example.com",
            "+46 70 123 45 67",
            "070-123 45 67",
            "0701234567",
            "(0)20 7946 0958",
            "12 High Street",
            "Storgatan 12 lgh 1101",
            "call 0046 8 123 456 78 please",
            "Via Roma 12",
            "C000123",
            "Whey +1000",
            "+46 70 12",
            "call 001 2 3 4",
            "(001 2 3 4)",
            "c-1823495aab719da8",  # a hashed email: letters, digits, no + or 00
            "c-0012345678abcdef",
            "ref 070-123 45 67",
            "+46701234567x",
        ]
    ),
    st.builds(lambda h: "c-" + h, st.text(alphabet="0123456789abcdef+ ", max_size=16)),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_SAMPLES, min_size=1, max_size=20), addresses=st.booleans())
def test_the_cheap_prefilter_keeps_every_value_the_patterns_flag(values, addresses):
    frame = nw.from_native(pl.DataFrame({"v": values}, schema={"v": pl.String}))
    flagged = frame.select(privacy.personal("v", addresses=addresses))["v"].to_list()
    kept = frame.select(privacy.could_be_personal("v", addresses=addresses))["v"].to_list()
    assert all(k for f, k in zip(flagged, kept, strict=True) if f)


# Short international numbers: PHONE_INTL needs only four digits after a "+" (six after
# "00"), fewer than the seven a whole phone number has.
@pytest.mark.parametrize("value", ["Whey +1000", "+46 70 12", "call 001 2 3 4", "(001 2 3 4)"])
@pytest.mark.parametrize("addresses", [False, True])
def test_the_prefilter_keeps_short_international_numbers(value, addresses):
    assert looks_personal(value, addresses=addresses)
    frame = nw.from_native(pl.DataFrame({"v": [value]}))
    assert frame.select(privacy.could_be_personal("v", addresses=addresses)).item()
