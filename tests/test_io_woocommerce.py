import pytest

import aovlab
from aovlab.errors import AovlabInputError

HEADER = (
    "order_id,order_number,date,status,shipping_total,shipping_tax_total,fee_total,fee_tax_total,tax_total,"
    "discount_total,order_total,refunded_total,order_currency,payment_method,customer_id,billing_first_name,"
    "billing_email,billing_phone,billing_country,item_name,item_sku,item_quantity,item_subtotal"
)
ROWS = [
    # two items: order totals repeat on both rows and count once; a payment fee goes with shipping
    "501,501,2026-10-05 12:00:00,completed,4.90,1.23,2.00,0.50,20.00,10.00,118.63,0.00,EUR,stripe,17,Anna,anna@example.com,+4670,SE,Tält Fjäll,T1,1,80.00",
    "501,501,2026-10-05 12:00:00,completed,4.90,1.23,2.00,0.50,20.00,10.00,118.63,0.00,EUR,stripe,17,Anna,anna@example.com,+4670,SE,Strumpor,S1,2,20.00",
    # a guest (customer 0) falls back to the billing email; partially refunded
    "502,502,2026-10-06 09:00:00,processing,0.00,0.00,0.00,0.00,10.00,0.00,60.00,15.00,EUR,paypal,0,Bo,Bo@Example.com,,NO,Jacka,J1,1,50.00",
    "503,503,2026-10-07 09:00:00,failed,0.00,0.00,0.00,0.00,2.00,0.00,12.00,0.00,EUR,paypal,0,,,,DE,Strumpor,S1,1,10.00",
]


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "woo.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def test_woocommerce_item_rows(export):
    shop = aovlab.load(orders=export, timezone="Europe/Berlin", salt="client")
    rows = shop.orders.select(
        "order_id",
        "status",
        "merchandise",
        "discount",
        "shipping",
        "tax",
        "total",
        "refunded",
        "country",
    ).rows()
    assert rows == [
        ("501", "paid", 100.0, 10.0, 6.9, 21.73, 118.63, 0.0, "SE"),
        ("502", "partially_refunded", 50.0, 0.0, 0.0, 10.0, 60.0, 15.0, "NO"),
        ("503", "cancelled", 10.0, 0.0, 0.0, 2.0, 12.0, 0.0, "DE"),
    ]
    assert not [n for n in shop.warnings() if "add up" in n.message]
    ids = shop.orders["customer_id"].to_list()
    assert ids[0] == "17" and ids[1].startswith("c-") and ids[2] is None
    assert shop.lines.select("sku", "quantity", "unit_price").rows() == [
        ("T1", 1.0, 80.0),
        ("S1", 2.0, 10.0),
        ("J1", 1.0, 50.0),
        ("S1", 1.0, 10.0),
    ]
    text = str(shop.orders.to_dicts()) + str(shop.notes)
    assert "Anna" not in text and "example.com" not in text and "+4670" not in text
    assert any("carry fees" in str(n) for n in shop.notes)
    row = aovlab.metrics.kpis(shop).rows()[0]
    assert (row["orders"], row["revenue"]) == (2, 140.0)


def test_conflicting_repeated_totals_are_refused(tmp_path):
    path = tmp_path / "woo.csv"
    path.write_text(HEADER + "\n" + ROWS[0] + "\n" + ROWS[1].replace("118.63", "120.00") + "\n")
    with pytest.raises(AovlabInputError, match="different order fields") as info:
        aovlab.load(orders=path)
    assert "'501'" in str(info.value)


def test_unknown_status_is_refused(tmp_path):
    path = tmp_path / "woo.csv"
    path.write_text(HEADER + "\n" + ROWS[2].replace("processing", "teleported") + "\n")
    with pytest.raises(AovlabInputError, match="unknown order statuses"):
        aovlab.load(orders=path)
