"""Write the malformed-input corpus and its manifest (python tests/data/bad/make_corpus.py).

Each file is something a consultant has been sent. The manifest says what `aovlab kpis
FILE --json` must do with it: exit 2 with a message that contains a phrase, or exit 0
with the exact orders and revenue (a documented, reported handling).
"""

import gzip
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CANON = "order_id,ordered_at,total\n"
SHOPIFY = (
    "Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,Total\n"
)
WOO = "order_id,date,status,order_total,item_name,item_quantity,item_subtotal\n"
INVOICE = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"

CASES: dict[str, tuple[bytes | str, dict]] = {
    "empty.csv": ("", {"exit": 2, "message": "is empty"}),
    "header_only.csv": (CANON, {"exit": 2, "message": "has no rows"}),
    "blank_lines_only.csv": ("\n\n\n", {"exit": 2, "message": "is empty"}),
    "missing_order_id_column.csv": (
        "id,ordered_at,total\n1,2026-10-01,5\n",
        {"exit": 2, "message": "not an export format aovlab knows"},
    ),
    "missing_revenue.csv": (
        "order_id,ordered_at,channel\n1,2026-10-01,web\n",
        {"exit": 2, "message": "no revenue column"},
    ),
    "duplicate_conflicting_totals.csv": (
        CANON + "1,2026-10-01,10\n1,2026-10-01,12\n",
        {"exit": 2, "message": "duplicate order_id"},
    ),
    "duplicate_after_trimming.csv": (
        CANON + "1,2026-10-01,10\n 1 ,2026-10-02,12\n",
        {"exit": 2, "message": "duplicate order_id"},
    ),
    "blank_order_id.csv": (
        CANON + "1,2026-10-01,10\n,2026-10-02,12\n",
        {"exit": 2, "message": "without order_id"},
    ),
    "non_numeric_amount.csv": (
        CANON + "1,2026-10-01,10\n2,2026-10-02,ten\n",
        {"exit": 2, "message": "not amounts"},
    ),
    "infinite_amount.csv": (
        CANON + "1,2026-10-01,inf\n",
        {"exit": 2, "message": "not finite numbers"},
    ),
    "nan_amount.csv": (CANON + "1,2026-10-01,NaN\n", {"exit": 2, "message": "not finite numbers"}),
    "mixed_decimal_marks.csv": (
        "order_id;ordered_at;total\n1;2026-10-01;12,50\n2;2026-10-02;3.75\n",
        {"exit": 2, "message": "mixes decimal points and decimal commas"},
    ),
    "ambiguous_thousands.csv": (
        "order_id;ordered_at;total\n1;2026-10-01;1.234\n2;2026-10-02;5\n",
        {"exit": 2, "message": "decimal mark cannot be told"},
    ),
    "negative_shipping.csv": (
        "order_id,ordered_at,total,shipping\n1,2026-10-01,10,-5\n",
        {"exit": 2, "message": "negative amounts"},
    ),
    "mixed_currencies.csv": (
        "order_id,ordered_at,total,currency\n1,2026-10-01,10,EUR\n2,2026-10-01,10,SEK\n",
        {"exit": 2, "message": "mixes currencies"},
    ),
    "unknown_status.csv": (
        "order_id,ordered_at,total,status\n1,2026-10-01,10,teleported\n",
        {"exit": 2, "message": "unknown order statuses"},
    ),
    "unparsable_date.csv": (
        CANON + "1,2026-10-01,10\n2,yesterday,12\n",
        {"exit": 2, "message": "dates that cannot be read"},
    ),
    "ambiguous_day_month.csv": (
        CANON + "1,03/04/2026,10\n2,05/06/2026,12\n",
        {"exit": 2, "message": "cannot be told apart"},
    ),
    "mixed_day_month_order.csv": (
        CANON + "1,23/11/2026,10\n2,11/23/2026,12\n",
        {"exit": 2, "message": "mixes day-first and month-first"},
    ),
    "wrong_separator.csv": (
        "order_id;ordered_at;total\n1,2026-10-01,10\n2,2026-10-02,12\n",
        {"exit": 2, "message": "no separator that splits"},
    ),
    "ragged_row.csv": (
        CANON + "1,2026-10-01,10\n2,2026-10-02,12,5\n3,2026-10-03,7\n",
        {"exit": 2, "message": "wrong number of fields"},
    ),
    "truncated_last_line.csv": (
        CANON + "1,2026-10-01,10\n2,2026-10-02,12\n3,2026-10",
        {"exit": 2, "message": "wrong number of fields"},
    ),
    "binary_junk.csv": (bytes(range(256)) * 8, {"exit": 2, "message": "not a text file"}),
    "utf16_excel_unicode_text.csv": (
        (CANON + "1,2026-10-01,10\n").encode("utf-16"),
        {"exit": 2, "message": "is UTF-16 text"},
    ),
    "unknown_header.csv": (
        "foo,bar,baz\n1,2,3\n",
        {"exit": 2, "message": "not an export format aovlab knows"},
    ),
    "shopify_without_total.csv": (
        SHOPIFY.replace(",Total", "") + "#1,a@b.se,paid,2026-10-01 10:00:00 +0200,1,Tent,10.00\n",
        {"exit": 2, "message": "closest is shopify, which also needs Total"},
    ),
    "shopify_unknown_financial_status.csv": (
        SHOPIFY + "#1,a@b.se,chargeback,2026-10-01 10:00:00 +0200,1,Tent,10.00,10.00\n",
        {"exit": 2, "message": "unknown financial statuses"},
    ),
    "woocommerce_conflicting_repeats.csv": (
        WOO
        + "7,2026-10-01 10:00:00,completed,30.00,A,1,10.00\n7,2026-10-01 10:00:00,completed,31.00,B,1,20.00\n",
        {"exit": 2, "message": "different order fields"},
    ),
    "invoice_only_returns.csv": (
        INVOICE + "C1,A,Tent,-1,2026-10-01 10:00:00,10.00,17850.0,UK\n",
        {"exit": 2, "message": "has no orders"},
    ),
    "only_cancelled_orders.csv": (
        "order_id,ordered_at,total,status\n1,2026-10-01,10,cancelled\n",
        {"exit": 2, "message": "no counted orders"},
    ),
    # Documented handling: these load, and the numbers must be exactly right.
    "future_dates.csv": (
        CANON + "1,2026-10-01,10\n2,2099-01-01,30\n",
        {"exit": 0, "orders": 2, "revenue": 40.0},
    ),
    "bom_and_header_spaces.csv": (
        "\ufeff order_id , Ordered_At ,TOTAL\n1,2026-10-01,10\n",
        {"exit": 0, "orders": 1, "revenue": 10.0},
    ),
    "one_megabyte_field.csv": (
        "order_id,ordered_at,total,note\n1,2026-10-01,10,"
        + "x" * 1_048_576
        + "\n2,2026-10-01,5,ok\n",
        {"exit": 0, "orders": 2, "revenue": 15.0},
    ),
    "formulas_and_html_in_names.csv": (
        INVOICE
        + '1,A,"=HYPERLINK(""http://evil"",""x"")",1,2026-10-01 10:00:00,10.00,1,UK\n'
        + "2,SKU2,<script>alert(1)</script>,2,2026-10-01 11:00:00,2.50,2,UK\n",
        {"exit": 0, "orders": 2, "revenue": 15.0},
    ),
    "currency_symbols_decimal_comma_cp1252.csv": (
        "order_id;ordered_at;total;channel\n1;23.11.2026 10:00;1.234,50 kr;Butik Åre\n2;24.11.2026;12,50 kr;Webb\n".encode(
            "cp1252"
        ),
        {"exit": 0, "orders": 2, "revenue": 1247.0},
    ),
    "tab_separated_trailing_blank_lines.csv": (
        "order_id\tordered_at\ttotal\n1\t2026-10-01\t10\n2\t2026-10-02\t20\n\n\n",
        {"exit": 0, "orders": 2, "revenue": 30.0},
    ),
    # Right numbers on real files: what real exports and hostile input broke.
    "zero_value_orders.csv": (
        "order_id,ordered_at,merchandise\n1,2026-10-01,0\n2,2026-10-01,40\n3,2026-10-02,0.00\n",
        {"exit": 0, "orders": 1, "revenue": 40.0},
    ),
    "zero_value_orders_kept.csv": (
        "order_id,ordered_at,merchandise\n1,2026-10-01,0\n2,2026-10-01,40\n3,2026-10-02,0.00\n",
        {"exit": 0, "orders": 3, "revenue": 40.0, "args": ["--include-zero-value"]},
    ),
    "only_zero_value_orders.csv": (
        "order_id,ordered_at,total\n1,2026-10-01,0\n2,2026-10-02,0\n",
        {"exit": 2, "message": "has no order with a merchandise value"},
    ),
    "invoice_all_lines_priced_zero.csv": (
        INVOICE
        + "1,A,check,5,2026-10-01 10:00:00,0.00,,UK\n"
        + "1,B,found,2,2026-10-01 10:00:00,0,,UK\n"
        + "2,A,Tent,2,2026-10-01 11:00:00,12.50,17850.0,UK\n"
        + "2,B,Peg,1,2026-10-01 11:00:00,0.00,17850.0,UK\n",
        {"exit": 0, "orders": 1, "revenue": 25.0},
    ),
    "negative_total.csv": (
        CANON + "1,2026-10-01,10\n2,2026-10-02,-30\n",
        {"exit": 2, "message": "negative amounts"},
    ),
    "negative_merchandise.csv": (
        "order_id,ordered_at,merchandise\n1,2026-10-01,-10\n",
        {"exit": 2, "message": "negative amounts"},
    ),
    "same_column_twice.csv": (
        "order_id,ordered_at,total,total\n1,2026-10-01,10,99\n",
        {"exit": 2, "message": "same column more than once"},
    ),
    "offset_then_naive_time.csv": (
        CANON + "1,2026-10-31T23:30:00+02:00,10\n2,2026-10-31 23:30:00.5,20\n",
        {"exit": 2, "message": "with and without a UTC offset"},
    ),
    "offset_forms_mixed.csv": (
        CANON + "1,2026-10-31T23:30:00+02:00,10\n2,2026-10-31 23:30:00 +0200,20\n",
        {"exit": 0, "orders": 2, "revenue": 30.0},
    ),
    "shopify_order_repeated_further_down.csv": (
        SHOPIFY
        + "#1001,a@example.com,paid,2026-10-01 10:00:00 +0200,1,Tent,30.00,30.00\n"
        + "#1002,,paid,2026-10-01 11:00:00 +0200,1,Peg,5.00,5.00\n"
        + "#1001,a@example.com,paid,2026-10-01 10:00:00 +0200,2,Tent,30.00,60.00\n",
        {"exit": 2, "message": "appears more than once"},
    ),
    "shopify_negative_quantity.csv": (
        SHOPIFY
        + "#1001,,paid,2026-10-01 10:00:00 +0200,1,Tent,30.00,25.00\n"
        + "#1001,,,2026-10-01 10:00:00 +0200,-1,Peg,5.00,\n",
        {"exit": 2, "message": "Lineitem quantity', file row 3"},
    ),
    "crm_columns_with_spaces.csv": (
        "order_id,ordered_at,total,Customer Name,Order Notes,Ship To,company,city,channel\n"
        "1,2026-10-01,10,Anna Berg,call first,Storgatan 1,Berg AB,Umeå,web\n"
        "2,2026-10-02,30,Olle Ek,,Kungsgatan 2,,Lund,app\n",
        {"exit": 0, "orders": 2, "revenue": 40.0},
    ),
    "one_digit_hours_day_first.csv": (
        "order_id;ordered_at;total\n1;23.11.2026 8:05;100\n2;24.11.2026 14:30;50\n",
        {"exit": 0, "orders": 2, "revenue": 150.0},
    ),
    "mapped_header_twice.csv": (
        "Order ID,Order Date,Grand Total,Grand Total\n1,2026-10-01,100,90\n",
        {
            "exit": 2,
            "message": "same column more than once",
            "args": ["--map", "order_id=Order ID,ordered_at=Order Date,total=Grand Total"],
        },
    ),
    "derived_merchandise_negative.csv": (
        "order_id,ordered_at,total,shipping\n1,2026-10-01,100,0\n2,2026-10-03,4.99,5\n",
        {"exit": 2, "message": "total is less than their shipping and tax"},
    ),
    "merchandise_below_a_cent.csv": (
        "order_id,ordered_at,merchandise\n1,2026-10-01,100\n2,2026-10-02,0.004\n",
        {"exit": 0, "orders": 1, "revenue": 100.0},
    ),
    "woocommerce_order_repeated_further_down.csv": (
        WOO
        + "7,2026-10-01 10:00:00,completed,30.00,A,1,10.00\n"
        + "7,2026-10-01 10:00:00,completed,30.00,B,1,20.00\n"
        + "8,2026-10-01 11:00:00,completed,50.00,C,1,50.00\n"
        + "7,2026-10-01 10:00:00,completed,30.00,A,1,10.00\n",
        {"exit": 2, "message": "order_id', file row 5: has an order that appears more than once"},
    ),
    "shopify_continuation_row_further_down.csv": (
        SHOPIFY
        + "#1001,a@example.com,paid,2026-10-01 10:00:00 +0200,1,Tent,30.00,40.00\n"
        + "#1002,,paid,2026-10-01 11:00:00 +0200,1,Peg,5.00,5.00\n"
        + "#1001,a@example.com,,2026-10-01 10:00:00 +0200,1,Extra,10.00,\n",
        {"exit": 2, "message": "Name', file row 4: has an order that appears more than once"},
    ),
    "quoted_multiline_last_row.csv": (
        'order_id,ordered_at,total,note\n1,2026-10-01,10,plain\n2,2026-10-02,20,"gift wrap\nplease, thanks"',
        {"exit": 0, "orders": 2, "revenue": 30.0},
    ),
    "quoted_multiline_last_row_semicolons.csv": (
        'order_id;ordered_at;total;note\n1;2026-10-01;10,50;plain\n2;2026-10-02;20,00;"two\nlines"',
        {"exit": 0, "orders": 2, "revenue": 30.5},
    ),
    "cut_off_inside_a_quoted_value.csv": (
        'order_id;ordered_at;total;note\n1;2026-10-01;10,50;plain\n2;2026-10-02;20,00;"two\nlin',
        {"exit": 2, "message": "quoted value that never ends"},
    ),
    "email_typed_into_discount_code.csv": (
        "order_id,ordered_at,total,discount_code\n1,2026-10-01,10,anna.berg@example.com\n"
        "2,2026-10-01,20,WELCOME10\n3,2026-10-02,30,WELCOME10\n",
        {"exit": 0, "orders": 3, "revenue": 60.0},
    ),
    # CLI and report robustness: options and side files that used to end in a traceback.
    # "args" are extra CLI arguments, "command" the command (default kpis); a name with a
    # folder puts the file in its own folder, next to the files SIDE_FILES gives it.
    "separator_two_characters.csv": (
        CANON + "1,2026-10-01,10\n",
        {"exit": 2, "message": "is not one character", "args": ["--sep", ";;"]},
    ),
    "separator_empty.csv": (
        CANON + "1,2026-10-01,10\n",
        {"exit": 2, "message": "is not one character", "args": ["--sep", ""]},
    ),
    "currency_not_iso.csv": (
        CANON + "1,2026-10-01,10\n",
        {"exit": 2, "message": "is not an ISO 4217 currency code", "args": ["--currency", "EURO"]},
    ),
    "currency_symbol.csv": (
        CANON + "1,2026-10-01,10\n",
        {"exit": 2, "message": "is not an ISO 4217 currency code", "args": ["--currency", "€"]},
    ),
    "timezone_unknown.csv": (
        CANON + "1,2026-10-01,10\n",
        {
            "exit": 2,
            "message": "is not a time zone",
            "args": ["--timezone", "Mars/Base"],
            "command": "drivers",
        },
    ),
    "timezone_path.csv": (
        CANON + "1,2026-10-01,10\n",
        {"exit": 2, "message": "is not a time zone", "args": ["--timezone", "../etc"]},
    ),
    "truncated_gzip.csv.gz": (
        gzip.compress((CANON + "1,2026-10-01,10\n2,2026-10-02,12\n" * 50).encode(), mtime=0)[:60],
        {"exit": 2, "message": "file is truncated or not valid gzip"},
    ),
    "not_gzip.csv.gz": (CANON + "1,2026-10-01,10\n", {"exit": 2, "message": "not valid gzip"}),
    "tab_separated_sep_tab_option.csv": (
        "order_id\tordered_at\ttotal\n1\t2026-10-01\t10\n2\t2026-10-02\t2,5\n",
        {"exit": 0, "orders": 2, "revenue": 12.5, "args": ["--sep", "tab", "--decimal", ","]},
    ),
    "shop_json_currency_number/orders.csv": (
        CANON + "1,2026-10-01,10\n",
        {"exit": 2, "message": "has a value for 'currency' that is not text"},
    ),
    "shop_json_timezone_number/orders.csv": (
        CANON + "1,2026-10-01,10\n",
        {"exit": 2, "message": "has a value for 'timezone' that is not text"},
    ),
    "shop_json_name_list/orders.csv": (
        CANON + "1,2026-10-01,10\n",
        {"exit": 2, "message": "has a value for 'name' that is not text"},
    ),
    "shop_json_unknown_key/orders.csv": (
        CANON + "1,2026-10-01,10\n2,2026-10-02,5\n",
        {"exit": 0, "orders": 2, "revenue": 15.0},
    ),
}

#: Files beside a case (the shop.json a case's orders file is read with).
SIDE_FILES = {
    "shop_json_currency_number/shop.json": '{"currency": 123}\n',
    "shop_json_timezone_number/shop.json": '{"timezone": 5}\n',
    "shop_json_name_list/shop.json": '{"name": ["x"]}\n',
    "shop_json_unknown_key/shop.json": '{"currency": "EUR", "colour": 7}\n',
}


def main() -> None:
    manifest = {}
    for name, (content, expected) in CASES.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (HERE / name).parent.mkdir(exist_ok=True)
        (HERE / name).write_bytes(data)
        manifest[name] = expected
    for name, text in SIDE_FILES.items():
        (HERE / name).write_text(text, encoding="utf-8")
    (HERE / "expected.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
