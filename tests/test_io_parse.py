import polars as pl
import pytest

from aovlab.errors import AovlabInputError
from aovlab.io import parse


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_nordic_letters_survive_every_encoding(encoding):
    text = "produkt;pris\nÅre tält;12,50\nBlåbär ß é ø;3\n"
    decoded, used = parse.decode(text.encode(encoding), "x.csv")
    assert decoded == text and used == encoding


def test_explicit_encoding_that_does_not_fit():
    with pytest.raises(AovlabInputError, match="encoding given") as info:
        parse.decode("Åre".encode("cp1252"), "x.csv", "utf-8")
    assert "cp1252" in str(info.value)


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1,5;2;3\n", ";"),
        ("a\tb\n1,5\t2\n", "\t"),
        ('a;"b;c"\n1;"x;y"\n', ";"),
    ],
)
def test_separator_is_sniffed(text, sep):
    assert parse.sniff_separator(text, "x.csv") == sep


def test_ambiguous_separator_names_the_option():
    with pytest.raises(AovlabInputError, match="ambiguous separator") as info:
        parse.sniff_separator("a,b;c\n1,2;3\n", "x.csv")
    assert "sep=" in str(info.value)


@pytest.mark.parametrize(
    ("values", "expected", "mark"),
    [
        (["1.234,56", "12,5", "0,99"], [1234.56, 12.5, 0.99], ","),
        (["1 234,56", "12,50 kr", "kr 3,00"], [1234.56, 12.5, 3.0], ","),
        (["1,234.56", "£12.50", "€ 3.00"], [1234.56, 12.5, 3.0], "."),
        (["12.50 SEK", "(12.50)", "12.50-"], [12.5, -12.5, -12.5], "."),
        (["1\u00a0234,50", "+7,10", None], [1234.5, 7.1, None], ","),
        (["12", "3", "1000"], [12.0, 3.0, 1000.0], "."),
    ],
)
def test_amounts(values, expected, mark):
    frame, used = parse.parse_amounts(
        pl.DataFrame({"a": values}), ["a"], decimal=None, source="x.csv", table="orders"
    )
    got = [None if v is None else round(v, 6) for v in frame["a"].to_list()]
    assert got == expected
    assert used == mark


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([" 12.50", "3.00 ", None], [12.5, 3.0, None]),  # trimmed, then the plain cast
        # "1.234" once trimmed: the full parser decides (12.50 proves a decimal point)
        (["12.50", " 1.234"], [12.5, 1.234]),
        ([" 1.234", "5"], "refused"),  # and refuses when nothing proves the mark
    ],
)
def test_plain_numbers_with_spaces_around_them(values, expected):
    frame = pl.DataFrame({"a": values, "b": ["2"] * len(values)})
    if expected == "refused":
        with pytest.raises(AovlabInputError, match="decimal mark"):
            parse.parse_amounts(frame, ["a", "b"], decimal=None, source="x.csv", table="orders")
        return
    parsed, mark = parse.parse_amounts(
        frame, ["a", "b"], decimal=None, source="x.csv", table="orders"
    )
    assert parsed["a"].to_list() == expected and mark == "."


def test_ambiguous_thousands_are_refused():
    with pytest.raises(AovlabInputError, match="decimal mark cannot be told") as info:
        parse.parse_amounts(
            pl.DataFrame({"a": ["1,234", "5"]}), ["a"], decimal=None, source="x.csv", table="orders"
        )
    assert "decimal=','" in str(info.value)
    frame, _ = parse.parse_amounts(
        pl.DataFrame({"a": ["1,234", "5"]}), ["a"], decimal=",", source="x.csv", table="orders"
    )
    assert frame["a"].to_list() == [1.234, 5.0]


def test_mixed_marks_are_refused():
    with pytest.raises(AovlabInputError, match="mixes decimal points and decimal commas"):
        parse.parse_amounts(
            pl.DataFrame({"a": ["12,50", "3.75"]}),
            ["a"],
            decimal=None,
            source="x.csv",
            table="orders",
        )


def test_non_amounts_name_their_rows():
    with pytest.raises(AovlabInputError, match="not amounts") as info:
        parse.parse_amounts(
            pl.DataFrame({"a": ["12,50", "gratis", "1,2,3"]}),
            ["a"],
            decimal=None,
            source="x.csv",
            table="orders",
        )
    assert info.value.rows == [3, 4] and "'gratis'" in str(info.value)  # file rows


@pytest.mark.parametrize(
    ("values", "dayfirst"),
    [
        (["23.11.2026", "01.02.2026"], True),
        (["23/11/2026 10:00", "01/02/2026"], True),
        (["11/23/2026", "02/01/2026"], False),
        (["2026-11-23", "2026-02-01"], None),
    ],
)
def test_date_order_is_detected(values, dayfirst):
    assert parse.detect_dayfirst(pl.Series(values), "x.csv", "date") is dayfirst


def test_ambiguous_dates_name_the_option():
    with pytest.raises(AovlabInputError, match="cannot be told apart") as info:
        parse.detect_dayfirst(pl.Series(["03/04/2026", "05/06/2026"]), "x.csv", "date")
    assert "dayfirst=True" in str(info.value)
    with pytest.raises(AovlabInputError, match="mixes day-first and month-first"):
        parse.detect_dayfirst(pl.Series(["23/11/2026", "11/23/2026"]), "x.csv", "date")


def test_read_text_detects_and_reports(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("a;b\nÅ;1,5\n".encode("cp1252"))
    text = parse.read_text(path)
    assert (text.encoding, text.sep, text.frame.row(0)) == ("cp1252", ";", ("Å", "1,5"))
    assert text.detected == ["encoding cp1252", "separator ';'"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_large_file_reads_the_same_in_every_encoding(tmp_path, encoding):
    # Past 256 KB only the first and last 64 KB of a UTF-8 file are decoded in Python.
    rows = [f"#{i},Blåbär ß {i},{i},12.50" for i in range(20_000)]
    text = "order,product,n,price\n" + "\n".join(rows) + '\n#x,"Åre\ntält",1,3.00'
    path = tmp_path / "big.csv"
    path.write_bytes(text.encode(encoding))
    read = parse.read_text(path)
    assert read.detected == [f"encoding {encoding}", "separator ','"]
    assert read.frame.height == 20_001 and read.frame["product"][-1] == "Åre\ntält"
    assert read.frame["product"][0] == "Blåbär ß 0"


def test_the_edges_of_utf8_bytes_are_cut_between_characters():
    text = "é" * 70_000 + "a€" * 70_000 + "ø" * 70_000
    data = text.encode("utf-8")
    assert parse._edge(data, head=True) == text[:65536]
    assert parse._edge(data, head=False) == text[-65536:]
    assert parse._edge(data[:100], head=False) == text[:50]


@pytest.mark.parametrize("sep", [";;", "", "\n", '"'])
def test_a_separator_is_one_character(tmp_path, sep):
    import aovlab

    path = tmp_path / "orders.csv"
    path.write_text("order_id;ordered_at;total\n1;2026-10-01;10\n")
    with pytest.raises(AovlabInputError, match="sep") as info:
        aovlab.load(orders=path, sep=sep)
    assert repr(sep) in str(info.value) and "';'" in str(info.value)
    with pytest.raises(AovlabInputError, match="sep"):
        parse.read_text(path, sep=sep)


def test_a_cut_gzip_file_says_so(tmp_path):
    import gzip

    import aovlab

    rows = "".join(f"{i},2026-10-01,10\n" for i in range(5000))
    data = gzip.compress(("order_id,ordered_at,total\n" + rows).encode())
    cut = tmp_path / "orders.csv.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AovlabInputError, match="file is truncated or not valid gzip") as info:
        aovlab.load(orders=cut)
    assert str(cut) in str(info.value)
    with pytest.raises(AovlabInputError, match="truncated"):
        parse.head_text(cut)
    whole = tmp_path / "whole.csv.gz"
    whole.write_bytes(data)
    assert aovlab.load(orders=whole).orders.height == 5000  # a whole one reads (fast path)


@pytest.mark.parametrize("currency", ["EURO", "12", "€", ""])
def test_currency_must_be_an_iso_code(currency):
    with pytest.raises(AovlabInputError, match="ISO 4217"):
        parse.check_currency(currency)


@pytest.mark.parametrize("tz", ["Mars/Base", "../etc", "", "/etc/passwd"])
def test_timezone_must_be_an_iana_name(tz):
    with pytest.raises(AovlabInputError, match="is not a time zone"):
        parse.check_timezone(tz)


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ('{"currency": 123}', "currency"),
        ('{"timezone": 5}', "timezone"),
        ('{"name": ["x"]}', "name"),
        ('{"salt": {"a": 1}}', "salt"),
        ('{"currency": "EURO"}', "currency"),
    ],
)
def test_shop_json_with_wrong_types_names_the_key(tmp_path, content, key):
    import aovlab

    (tmp_path / "orders.csv").write_text("order_id,ordered_at,total\n1,2026-10-01,10\n")
    (tmp_path / "shop.json").write_text(content)
    with pytest.raises(AovlabInputError, match=f"'{key}'") as info:
        aovlab.load(orders=tmp_path / "orders.csv")
    assert "shop.json" in str(info.value)
    (tmp_path / "shop.json").write_text('{"currency": "SEK", "anything": [1, 2]}')
    assert aovlab.load(orders=tmp_path / "orders.csv").currency == "SEK"


def test_shop_json_with_an_unknown_time_zone_names_the_file(tmp_path):
    import aovlab

    (tmp_path / "orders.csv").write_text("order_id,ordered_at,total\n1,2026-10-01,10\n")
    (tmp_path / "shop.json").write_text('{"timezone": "Mars/Base"}')
    with pytest.raises(AovlabInputError, match="has a 'timezone' that is not a time zone") as info:
        aovlab.load(orders=tmp_path / "orders.csv")
    assert "shop.json" in str(info.value) and "Mars/Base" in str(info.value)
