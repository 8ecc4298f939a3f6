import polars as pl
import pytest

import aovlab
from aovlab.errors import AovlabInputError
from aovlab.privacy import hash_id, hashed_distinct, pseudonymise

HEADER = (
    "Name,Email,Financial Status,Paid at,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,"
    "Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,"
    "Lineitem requires shipping,Billing Name,Billing Zip,Billing Phone,Shipping Country,Notes,"
    "Note Attributes,Cancelled at,Refunded Amount,Source"
)
# Tax-inclusive EU store: Total = Subtotal + Shipping; Taxes are informational.
ROWS = [
    # two lines, a multi-line quoted note, a '-prefixed zip, summer time (+0200)
    "#1001,Anna@Example.com,paid,2026-10-24 10:00:00 +0200,EUR,90.00,5.00,19.00,95.00,AUTUMN10,10.00,"
    "2026-10-24 10:00:00 +0200,2,Tent peg set,25.00,PEG,true,Anna Svensson,'01234,+46 70 123 45 67,SE,"
    '"Leave at door\nthanks",gift: no,,0.00,web',
    "#1001,Anna@Example.com,,,,,,,,,,2026-10-24 10:00:00 +0200,1,Head torch,50.00,LAMP,true,,,,,,,,,",
    # winter time (+0100) after the DST change; a gift card and a tip are not merchandise
    "#1002,,paid,2026-10-26 09:00:00 +0100,EUR,60.00,0.00,12.00,100.00,,0.00,2026-10-26 09:00:00 +0100,"
    "1,Rain jacket,60.00,JACKET,true,,,,NO,,,,0.00,pos",
    "#1002,,,,,,,,,,,2026-10-26 09:00:00 +0100,1,Gift Card,30.00,,false,,,,,,,,,",
    "#1002,,,,,,,,,,,2026-10-26 09:00:00 +0100,1,Tip,10.00,,false,,,,,,,,,",
    # refunded; cancelled; voided; pending with blank Paid at
    "#1003,bo@example.com,refunded,2026-10-27 12:00:00 +0100,EUR,40.00,0.00,8.00,40.00,,0.00,"
    "2026-10-27 12:00:00 +0100,1,Socks,40.00,SOCK,true,,,,SE,,,,40.00,web",
    "#1004,bo@example.com,refunded,2026-10-27 13:00:00 +0100,EUR,40.00,0.00,8.00,40.00,,0.00,"
    "2026-10-27 13:00:00 +0100,1,Socks,40.00,SOCK,true,,,,SE,,,2026-10-27 14:00:00 +0100,40.00,web",
    "#1005,cy@example.com,voided,,EUR,40.00,0.00,8.00,40.00,,0.00,2026-10-28 08:00:00 +0100,"
    "1,Socks,40.00,SOCK,true,,,,DE,,,,0.00,web",
    "#1006,cy@example.com,pending,,EUR,40.00,0.00,8.00,40.00,,0.00,2026-10-29 08:00:00 +0100,"
    "1,Socks,40.00,SOCK,true,,,,DE,,,,0.00,shopify_draft_order",
]


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "orders_export.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def test_shopify_quirks(export):
    shop = aovlab.load(orders=export, timezone="Europe/Stockholm", salt="client-1")
    orders = shop.orders.select(
        "order_id",
        "status",
        "merchandise",
        "discount",
        "shipping",
        "total",
        "refunded",
        "channel",
        "country",
    )
    assert orders.rows() == [
        ("#1001", "paid", 100.0, 10.0, 5.0, 95.0, 0.0, "web", "SE"),
        ("#1002", "paid", 60.0, 0.0, 0.0, 60.0, 0.0, "pos", "NO"),
        ("#1003", "refunded", 40.0, 0.0, 0.0, 40.0, 40.0, "web", "SE"),
        ("#1004", "cancelled", 40.0, 0.0, 0.0, 40.0, 40.0, "web", "SE"),
        ("#1005", "cancelled", 40.0, 0.0, 0.0, 40.0, 0.0, "web", "DE"),
        ("#1006", "pending", 40.0, 0.0, 0.0, 40.0, 0.0, "shopify_draft_order", "DE"),
    ]
    assert shop.tax_included
    assert [n.message for n in shop.warnings()] == [
        "7 line(s) have no unit cost: margin figures leave them out and say how much revenue they cover"
    ]  # every total reconciles once the gift card and tip are taken out
    local = [t.strftime("%Y-%m-%d %H:%M %Z") for t in shop.orders["ordered_at"][:2]]
    assert local == ["2026-10-24 10:00 CEST", "2026-10-26 09:00 CET"]
    assert shop.lines["sku"].to_list() == ["PEG", "LAMP", "JACKET", "SOCK", "SOCK", "SOCK", "SOCK"]
    ids = shop.orders["customer_id"].to_list()
    assert ids[0] == pseudonymise(pl.Series(["anna@example.com"]), "client-1")[0] and ids[1] is None
    assert ids[2] == ids[3] and ids[0] != ids[2]
    assert any("2 gift-card or tip line(s), value 40.00" in str(n) for n in shop.notes)
    row = aovlab.metrics.kpis(shop).rows()[0]  # cancelled and voided orders never count
    assert (row["orders"], row["revenue"], row["upt"]) == (4, 230.0, 1.5)


def test_no_personal_data_reaches_the_tables(export):
    shop = aovlab.load(orders=export, timezone="Europe/Stockholm")
    text = str(shop.orders.to_dicts()) + str(shop.lines.to_dicts()) + str(shop.notes)
    for secret in ("Anna", "anna@", "Svensson", "01234", "+46", "Leave at door", "gift: no"):
        assert secret not in text, secret


def test_salt_keeps_ids_stable_per_client():
    emails = pl.Series(["a@x.se", "b@x.se"])
    assert pseudonymise(emails, "one").to_list() == pseudonymise(emails, "one").to_list()
    assert set(pseudonymise(emails, "one")).isdisjoint(pseudonymise(emails, "two"))


def test_an_orders_customer_is_its_first_non_blank_email(tmp_path):
    # The email is hashed once per distinct value: case and spaces do not make another
    # customer, and a blank first email gives way to the order's next one.
    first, second = ROWS[0].replace("Anna@Example.com", "  ", 1), ROWS[1]
    other = ROWS[5].replace("bo@example.com", " ANNA@example.COM ", 1)
    path = tmp_path / "x.csv"
    path.write_text(HEADER + "\n" + "\n".join([first, second, ROWS[2], other]) + "\n")
    shop = aovlab.load(orders=path, timezone="Europe/Stockholm", salt="client-1")
    anna = hash_id("anna@example.com", "client-1")
    assert shop.orders["customer_id"].to_list() == [anna, None, anna]


def test_colliding_engine_hashes_give_the_same_tables(export, monkeypatch):
    # Names and emails are compared by the engine's 64-bit hash first: were every hash
    # the same, the reader would find out and compare the text instead.
    shop = aovlab.load(orders=export, timezone="Europe/Stockholm", salt="client-1")
    monkeypatch.setattr(pl.Expr, "hash", lambda self, *a, **k: pl.lit(7, dtype=pl.UInt64))
    again = aovlab.load(orders=export, timezone="Europe/Stockholm", salt="client-1")
    assert again.orders.equals(shop.orders) and again.lines.equals(shop.lines)
    assert again.orders["customer_id"].null_count() == 1


def test_distinct_emails_are_hashed_as_hash_id_hashes_them():
    values = ["a@x.se", " B@X.SE", "\x1cc@x.se\x1c", "İ@x.tr", "ΣΑΣ@x.gr", "x" * 300 + "@y.se"]
    table = hashed_distinct(pl.Series(values), "k")
    assert dict(table.rows()) == {v: hash_id(v, "k") for v in values}


def test_unknown_financial_status_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(HEADER + "\n" + ROWS[2].replace(",paid,", ",chargeback,", 1) + "\n")
    with pytest.raises(AovlabInputError, match="unknown financial statuses") as info:
        aovlab.load(orders=path)
    assert "'chargeback'" in str(info.value)


def test_sample_shop_as_shopify_export_gives_the_same_kpis(shop):
    export = aovlab.load(
        orders=aovlab.sample.DATA_DIR / aovlab.sample.SHOPIFY_FILE,
        catalog=aovlab.sample.DATA_DIR / "catalog.csv",
    )
    for by in ("month", ["month", "channel"], "country"):
        a = aovlab.metrics.kpis(export, by=by).table.drop(
            "cost_coverage", "sessions", "conversion_rate", strict=False
        )
        b = aovlab.metrics.kpis(shop, by=by).table.drop(
            "cost_coverage", "sessions", "conversion_rate", strict=False
        )
        assert a.equals(b), by
    assert not export.warnings()


HEADER_79 = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,Subtotal,"
    "Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,"
    "Lineitem taxable,Lineitem fulfillment status,Billing Name,Billing Street,Billing Address1,Billing Address2,"
    "Billing Company,Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,"
    "Shipping Street,Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,"
    "Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,Payment Method,"
    "Payment Reference,Refunded Amount,Vendor,Outstanding Balance,Employee,Location,Device ID,Id,Tags,"
    "Risk Level,Source,Lineitem discount,Tax 1 Name,Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,"
    "Tax 4 Name,Tax 4 Value,Tax 5 Name,Tax 5 Value,Phone,Receipt Number,Duties,Billing Province Name,"
    "Shipping Province Name,Payment ID,Payment Terms Name,Next Payment Due At,Payment References"
)


def test_the_79_column_header_is_read_and_its_personal_columns_are_not(tmp_path):
    columns = HEADER_79.split(",")
    assert len(columns) == 79
    values = {c: "" for c in columns}
    values.update(
        {
            "Name": "#9001",
            "Email": "x@y.se",
            "Financial Status": "paid",
            "Currency": "SEK",
            "Subtotal": "100.00",
            "Shipping": "0.00",
            "Taxes": "20.00",
            "Total": "100.00",
            "Discount Amount": "0.00",
            "Created at": "2026-03-29 01:30:00 +0100",
            "Lineitem quantity": "1",
            "Lineitem name": "Tält",
            "Lineitem price": "100.00",
            "Lineitem requires shipping": "true",
            "Billing Name": "Kim Berg",
            "Billing Street": "Gatan 1",
            "Billing Zip": "'12345",
            "Billing Phone": "'+46701234567",
            "Shipping Country": "SE",
            "Payment Method": "Stripe + Gift card",
            "Source": "web",
            "Id": "555",
        }
    )
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerow(values)
    path = tmp_path / "orders_export_79.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    shop = aovlab.load(orders=path, timezone="Europe/Stockholm")
    assert shop.format == "shopify" and shop.orders.height == 1
    assert shop.orders.select("order_id", "total", "currency", "country").row(0) == (
        "#9001",
        100.0,
        "SEK",
        "SE",
    )
    text = str(shop.orders.to_dicts()) + str(shop.lines.to_dicts())
    for secret in ("Kim Berg", "Gatan", "12345", "+4670", "x@y.se"):
        assert secret not in text


def test_errors_name_the_exports_own_column_and_file_row(tmp_path):
    path = tmp_path / "orders_export.csv"
    path.write_text(
        "Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,Total\n"
        "#1001,,paid,2026-10-01 10:00:00 +0200,1,Tent,30.00,25.00\n"
        "#1001,,,2026-10-01 10:00:00 +0200,1,Peg,5.00,\n"
        "#1001,,,2026-10-01 10:00:00 +0200,-2,Pole,5.00,\n",
        encoding="utf-8",
    )
    with pytest.raises(aovlab.AovlabInputError) as err:
        aovlab.load(orders=path, currency="EUR")
    assert err.value.column == "Lineitem quantity" and err.value.rows == [4]
    assert "orders_export.csv (lines), column 'Lineitem quantity', file row 4" in str(err.value)


def test_traffic_and_customers_go_with_an_export_and_lines_are_refused(tmp_path):
    base = aovlab.sample.DATA_DIR
    shop = aovlab.load(
        orders=base / "shopify_orders_export.csv",
        traffic=base / "traffic.csv",
        customers=base / "customers.csv",
    )
    assert shop.traffic is not None and shop.customers is not None
    row = aovlab.metrics.kpis(shop, when="2026-10").rows()[0]
    assert (
        row["orders"] > 0 and "sessions" in aovlab.metrics.kpis(shop, when="2026-10").table.columns
    )
    with pytest.raises(aovlab.AovlabInputError, match="carries its own order lines"):
        aovlab.load(orders=base / "shopify_orders_export.csv", lines=base / "lines.csv")
