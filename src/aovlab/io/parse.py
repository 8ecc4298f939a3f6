"""Reading European export files: encodings, separators, amounts and dates.

What can be detected unambiguously is detected (and said in the load's notes); what
cannot is refused with a message naming the option to pass (``sep``, ``decimal``,
``encoding``, ``dayfirst``). Nothing is guessed silently.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from aovlab.errors import AovlabInputError

SEPARATORS = (",", ";", "\t", "|")
_CURRENCY_TOKENS = r"(?i)(?:kr\.?|sek|nok|dkk|eur|gbp|usd|chf|€|£|\$)"


@dataclass
class TextFile:
    """A delimited text file read as text columns, with what was detected about it."""

    frame: pl.DataFrame
    encoding: str
    sep: str
    detected: list[str] = field(default_factory=list)


def decode(data: bytes, source: str, encoding: str | None = None) -> tuple[str, str]:
    r"""Decode bytes: the given encoding, else UTF-8 (BOM or not), else cp1252.

    Examples
    --------
    >>> decode("Åre;12,50".encode("cp1252"), "x.csv")
    ('Åre;12,50', 'cp1252')
    >>> decode("\ufeffÅre".encode("utf-8"), "x.csv")
    ('Åre', 'utf-8-sig')
    """
    if b"\x00" in data[:65536]:
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        raise AovlabInputError(
            "is UTF-16 text" if utf16 else "is not a text file",
            source=source,
            expected="a CSV or text export in UTF-8 or cp1252",
            found="UTF-16 (Excel's 'Unicode text')" if utf16 else "binary content (NUL bytes)",
            hint="save it as 'CSV UTF-8'" if utf16 else None,
        )
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise AovlabInputError(
                "cannot be decoded with the encoding given",
                source=source,
                expected=f"text in {encoding}",
                found=str(exc)[:200],
                hint="try encoding='utf-8' or 'cp1252'",
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise AovlabInputError(
            "cannot be decoded",
            source=source,
            expected="UTF-8 or Windows-1252 (cp1252) text",
            found=str(exc)[:200],
            hint="pass encoding='latin-1' / --encoding latin-1 (or the file's encoding)",
        ) from None


def sniff_separator(text: str, source: str) -> str:
    r"""The separator that splits the first lines into the same number (> 1) of fields.

    >>> sniff_separator("a;b;c\n1,5;2;3\n", "x.csv")
    ';'
    >>> sniff_separator("a,b\n1,2\n", "x.csv")
    ','
    """
    lines = text[:65536].splitlines()[:50]
    if not lines:
        raise AovlabInputError("is empty", source=source, expected="a header row", found="nothing")
    sample = "\n".join(lines)
    fits = []
    for sep in SEPARATORS:
        rows = [r for r in csv.reader(io.StringIO(sample), delimiter=sep) if r]
        # The header's width, shared by most lines: one ragged row must not hide the
        # separator (the reader then names that row).
        agree = sum(len(r) == len(rows[0]) for r in rows)
        tolerated = max(1, len(rows) // 5)
        if len(rows[0]) > 1 and (len(rows) == 1 or agree >= max(2, len(rows) - tolerated)):
            fits.append((len(rows[0]), sep))
    if not fits:
        raise AovlabInputError(
            "has no separator that splits its rows evenly",
            source=source,
            expected=f"one of {', '.join(repr(s) for s in SEPARATORS)} between fields",
            found=repr(lines[0][:120]),
            hint="pass sep=';' / --sep ';' (or the file's separator)",
        )
    fits.sort(reverse=True)
    if len(fits) > 1 and fits[0][0] == fits[1][0]:
        raise AovlabInputError(
            "has an ambiguous separator",
            source=source,
            expected="one separator that splits the header",
            found=f"{fits[0][1]!r} and {fits[1][1]!r} both give {fits[0][0]} fields",
            hint=f"pass sep={fits[0][1]!r} or sep={fits[1][1]!r} (--sep on the command line)",
        )
    return fits[0][1]


def check_sep(sep: str | None) -> str | None:
    r"""Refuse a separator that is not one character (``sep=";;"``, ``sep=""``).

    >>> check_sep(";"), check_sep(None)
    (';', None)
    >>> check_sep(";;")
    Traceback (most recent call last):
    ...
    aovlab.errors.AovlabInputError: sep (--sep): is not one character
      expected: one character between fields: ',' ';' '|' or a tab ('\t', --sep tab)
      found:    ';;'
    """
    if sep is None:
        return None
    if not isinstance(sep, str) or len(sep) != 1 or sep in ('"', "\n", "\r"):
        raise AovlabInputError(
            "is not one character" if isinstance(sep, str) and len(sep) != 1 else "cannot be used",
            source="sep (--sep)",
            expected="one character between fields: ',' ';' '|' or a tab ('\\t', --sep tab)",
            found=repr(sep),
        )
    return sep


def check_currency(currency: str | None, source: str = "currency (--currency)") -> str | None:
    """Refuse a currency that is not an ISO 4217 code (three letters: EUR, SEK, GBP).

    >>> check_currency("eur"), check_currency(None)
    ('eur', None)
    >>> check_currency("€")
    Traceback (most recent call last):
    ...
    aovlab.errors.AovlabInputError: currency (--currency): is not an ISO 4217 currency code
      expected: three letters, e.g. EUR, SEK, NOK, DKK, GBP, USD
      found:    '€'
    """
    if currency is None:
        return None
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency.strip()):
        raise AovlabInputError(
            "is not an ISO 4217 currency code",
            source=source,
            expected="three letters, e.g. EUR, SEK, NOK, DKK, GBP, USD",
            found=repr(currency),
        )
    return currency


def check_timezone(timezone: str | None, source: str = "timezone (--timezone)") -> str | None:
    """Refuse a time zone that is not an IANA name (``Mars/Base``, ``../etc``, empty).

    >>> check_timezone("Europe/Stockholm")
    'Europe/Stockholm'
    >>> check_timezone("Mars/Base")
    Traceback (most recent call last):
    ...
    aovlab.errors.AovlabInputError: timezone (--timezone): is not a time zone
      expected: an IANA time zone such as Europe/Stockholm, Europe/Berlin or UTC
      found:    'Mars/Base'
    """
    if timezone is None:
        return None
    try:
        if not isinstance(timezone, str) or not timezone.strip():
            raise ValueError(timezone)
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise AovlabInputError(
            "is not a time zone",
            source=source,
            expected="an IANA time zone such as Europe/Stockholm, Europe/Berlin or UTC",
            found=repr(timezone),
        ) from None
    return timezone


#: What a broken gzip file raises: cut short (EOFError), not gzip, corrupt data.
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def _gzip_error(file: Path, exc: BaseException) -> AovlabInputError:
    return AovlabInputError(
        "file is truncated or not valid gzip",
        source=str(file),
        expected="a complete gzip-compressed CSV (.csv.gz)",
        found=str(exc).strip()[:200] or type(exc).__name__,
        hint="download or compress the file again; `gzip -t FILE` checks it",
    )


def check_gzip(file: Path) -> None:
    """Read a ``.gz`` file to its end; refuse it if it is cut short or not gzip."""
    try:
        with gzip.open(file) as handle:
            while handle.read(1 << 24):
                pass
    except _GZIP_ERRORS as exc:
        raise _gzip_error(file, exc) from None


def _bytes(file: Path, limit: int | None = None) -> bytes:
    if file.suffix.lower() == ".gz":
        try:
            with gzip.open(file) as handle:
                return handle.read(limit) if limit else handle.read()
        except _GZIP_ERRORS as exc:
            raise _gzip_error(file, exc) from None
    with file.open("rb") as handle:
        return handle.read(limit) if limit else handle.read()


def tail_text(file: Path, size: int = 65536) -> str:
    """The last ``size`` bytes of a (possibly gzipped) file, decoded as UTF-8 (lenient).

    A gzipped file is read through to its end, so the tail is of the text, not of the
    compressed bytes.
    """
    if file.suffix.lower() == ".gz":
        tail = b""
        try:
            with gzip.open(file) as handle:
                while chunk := handle.read(1 << 22):
                    tail = (tail + chunk)[-size:]
        except _GZIP_ERRORS as exc:
            raise _gzip_error(file, exc) from None
        return tail.decode("utf-8", errors="replace")
    with file.open("rb") as handle:
        handle.seek(max(0, file.stat().st_size - size))
        return handle.read().decode("utf-8", errors="replace")


def head_text(file: Path) -> str:
    """The first 64 KB of a (possibly gzipped) text file, decoded."""
    return decode(_bytes(file, 65536), str(file))[0]


def read_text(path: str | Path, *, sep: str | None = None, encoding: str | None = None) -> TextFile:
    """Read a delimited export with every column as text, detecting encoding and separator."""
    check_sep(sep)
    file = Path(path)
    if not file.is_file():
        raise AovlabInputError(
            "file not found",
            source=str(file),
            expected="an existing file",
            found="nothing at that path",
        )
    data = _bytes(file)
    if not data or data.isspace():  # as `not data.strip()`, without copying the file
        raise AovlabInputError(
            "is empty", source=str(file), expected="a header row and data rows", found="0 bytes"
        )
    # A UTF-8 file (the usual case) is checked by the engine and goes to polars as it
    # is: only its first and last 64 KB are decoded (the separator, the last row), and
    # the whole text only for an error. Other encodings are decoded, then transcoded.
    text: str | None = None
    body = data[3:] if encoding is None and data.startswith(b"\xef\xbb\xbf") else data
    if encoding is None and b"\x00" not in data[:65536] and _is_utf8(body):
        used = "utf-8-sig" if body is not data else "utf-8"
        raw = body
    else:
        text, used = decode(data, str(file), encoding)
        raw = data[3:] if used == "utf-8-sig" else data if used == "utf-8" else text.encode("utf-8")
    del data
    detected = [] if encoding else [f"encoding {used}"]

    def whole() -> str:  # the file's text, for the checks that read all of it
        return text if text is not None else raw.decode("utf-8")

    if sep is None:
        head = text[:65536] if text is not None else _edge(raw, head=True)
        sep = sniff_separator(head, str(file))
        detected.append(f"separator {sep!r}")
    try:
        frame = pl.read_csv(raw, separator=sep, infer_schema=False, raise_if_empty=True)
    except pl.exceptions.PolarsError as exc:
        if not _even_bytes(raw):
            raise AovlabInputError(
                "has a quoted value that never ends",
                source=str(file),
                expected='every value that opens a quote (") closes it',
                found="an odd number of quotes: the file looks cut off, or a quote inside a "
                "value is not doubled",
                hint="export or download the file again",
            ) from None
        ragged = ragged_row(whole(), sep)
        if ragged is not None:
            row, width, found = ragged
            raise AovlabInputError(
                "has a row with the wrong number of fields",
                source=str(file),
                rows=[row],
                row_label="file row",
                expected=f"{width} fields like the header",
                found=f"{found} fields",
                hint="a separator inside an unquoted value, or a decimal comma written without quotes",
            ) from None
        raise AovlabInputError(
            "cannot be read as a table",
            source=str(file),
            expected=f"rows of fields separated by {sep!r}",
            found=str(exc).strip().splitlines()[0][:300],
        ) from None
    frame = drop_blank_rows(frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns}))
    tail = text[-65536:] if text is not None else _edge(raw, head=False)
    # Whether the whole file's quotes pair up matters only for a last row with no line
    # end and a quote near it: counting them is a pass over the file, so only then.
    cut = '"' in tail and not tail.endswith(("\n", "\r"))
    check_last_line(
        tail,
        sep,
        len(frame.columns),
        frame.height,
        str(file),
        quotes_even=_even_bytes(raw) if cut else None,
    )
    return TextFile(frame=frame, encoding=used, sep=sep, detected=detected)


def _even(text: str) -> bool:
    """Whether a text has an even number of double quotes (it does not end inside one)."""
    return text.count('"') % 2 == 0


def _even_bytes(data: bytes) -> bool:
    """:func:`_even` of UTF-8 bytes (a quote byte is never part of another character)."""
    return data.count(b'"') % 2 == 0


def _is_utf8(data: bytes) -> bool:
    """Whether bytes are valid UTF-8, checked by the engine without a copy as text.

    False also when the engine is not asked (over 2 GB, past the size of one value it
    holds): the caller then decodes the bytes as :func:`decode` does.
    """
    if data.isascii():
        return True
    if len(data) >= 2**31:
        return False
    try:
        pl.Series([data], dtype=pl.Binary).cast(pl.String)
    except (pl.exceptions.PolarsError, OverflowError, ValueError):
        return False
    return True


def _edge(data: bytes, *, head: bool, size: int = 65536) -> str:
    """The first (or last) ``size`` characters of valid UTF-8 bytes, decoding only them.

    A character is at most four bytes, so ``4 * size`` bytes hold them; the character
    cut at the edge of those bytes is dropped, and it is outside the ``size`` kept.
    """
    if len(data) <= 4 * size:
        text = data.decode("utf-8")
    elif head:
        text = data[: 4 * size].decode("utf-8", errors="ignore")
    else:
        text = data[-4 * size :].decode("utf-8", errors="ignore")
    return text[:size] if head else text[-size:]


def drop_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows whose every field is empty (trailing blank lines) are not data.

    CSV readers give empty fields as null, so an all-null row is a blank line.
    """
    if not frame.columns or not frame.height:
        return frame
    blank = pl.all_horizontal(pl.all().is_null())
    return frame.filter(~blank) if frame.select(blank.any()).item() else frame


def check_last_line(
    tail: str, sep: str, width: int, rows: int, source: str, *, quotes_even: bool | None = None
) -> None:
    r"""Refuse a file whose last row was cut off (no final newline and too few fields).

    ``rows`` is the number of data rows read; ``quotes_even`` whether the whole file has
    an even number of double quotes (None: not known). The last row may be a quoted
    value spanning several lines (Shopify's Note Attributes): it is found by its quotes,
    not by the last line.

    >>> check_last_line('a,b\n1,"x\ny"', ",", 2, 1, "f.csv", quotes_even=True)
    >>> check_last_line('a,b\n1', ",", 2, 1, "f.csv")
    Traceback (most recent call last):
    ...
    aovlab.errors.AovlabInputError: f.csv, file row 2: has a row with the wrong number of fields
      expected: 2 fields like the header
      found:    1 fields on the last line, which has no line end: the file looks cut off
      hint: export or download the file again
    """
    if not tail or tail.endswith(("\n", "\r")):
        return
    start = tail.rfind("\n") + 1
    if '"' in tail:
        if quotes_even is False:
            start = -1  # the file ends inside a quoted value: cut off
        else:
            # The last row starts after the last line break with an even number of
            # quotes after it: that line break is outside any quoted value.
            quotes = 0
            start = 0
            for i in range(len(tail) - 1, -1, -1):
                if tail[i] == '"':
                    quotes += 1
                elif tail[i] == "\n" and quotes % 2 == 0:
                    start = i + 1
                    break
    fields = next(csv.reader(io.StringIO(tail[start:]), delimiter=sep), []) if start >= 0 else []
    if start < 0 or 0 < len(fields) < width:
        raise AovlabInputError(
            "has a row with the wrong number of fields",
            source=source,
            rows=[rows + 1],
            expected=f"{width} fields like the header",
            found=(
                f"{len(fields)} fields on the last line, which has no line end"
                if start >= 0
                else "a quoted value that never ends, on the last row"
            )
            + ": the file looks cut off",
            hint="export or download the file again",
            row_label="file row",
        )


def ragged_row(text: str, sep: str) -> tuple[int, int, int] | None:
    r"""The first row whose field count differs from the header's, as a spreadsheet numbers it.

    The header is row 1, so the first data row is row 2.

    >>> ragged_row("a,b\n1,2\n3,4,5\n", ",")
    (3, 2, 3)
    """
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        width = len(next(reader))
        for number, row in enumerate(reader, start=2):
            if row and len(row) != width:
                return number, width, len(row)
    except (csv.Error, StopIteration):
        return None
    return None


# --------------------------------------------------------------------------- amounts

_POINT = r"^-?\d{1,3}(?:[,' ]\d{3})*(?:\.\d+)?$|^-?\d+(?:\.\d+)?$"
_COMMA = r"^-?\d{1,3}(?:[. ']\d{3})*(?:,\d+)?$|^-?\d+(?:,\d+)?$"


def _clean_amount(col: pl.Expr) -> pl.Expr:
    """Trim, drop currency symbols and codes, spaces (also non-breaking), leading +."""
    text = col.str.strip_chars()
    text = text.str.replace_all(_CURRENCY_TOKENS, "")
    text = text.str.replace_all(r"[\s\u00a0\u202f]", " ").str.strip_chars()
    # A trailing minus (12,50-) and parentheses ((12.50)) mean negative in some exports.
    text = (
        pl.when(text.str.ends_with("-")).then("-" + text.str.strip_chars_end("-")).otherwise(text)
    )
    text = (
        pl.when(text.str.starts_with("(") & text.str.ends_with(")"))
        .then("-" + text.str.strip_chars("()"))
        .otherwise(text)
    )
    return text.str.strip_prefix("+").str.strip_chars()


def detect_decimal(frame: pl.DataFrame, columns: list[str], source: str) -> str | None:
    """Decide the decimal mark of amount columns from the values, or None if undecidable.

    A value like ``12,50`` or ``1.234,56`` proves a decimal comma; ``12.50`` or
    ``1,234.56`` a decimal point. Values such as ``1,234`` or ``1234`` prove nothing.
    """
    votes = {".": 0, ",": 0}
    for column in columns:
        text = frame.select(_clean_amount(pl.col(column)).alias("v")).to_series().drop_nulls()
        point = text.str.contains(r"^-?[\d,' ]*\.\d{1,2}$") & ~text.str.contains(
            r"^-?\d{1,3}(?:\.\d{3})+$"
        )
        comma = text.str.contains(r"^-?[\d.' ]*,\d{1,2}$") & ~text.str.contains(
            r"^-?\d{1,3}(?:,\d{3})+$"
        )
        both_comma = text.str.contains(r"\.\d{3},\d+$")
        both_point = text.str.contains(r",\d{3}\.\d+$")
        votes["."] += int((point | both_point).cast(pl.Int64).sum())
        votes[","] += int((comma | both_comma).cast(pl.Int64).sum())
    if votes["."] and votes[","]:
        raise AovlabInputError(
            "mixes decimal points and decimal commas",
            source=source,
            column=columns[0],
            expected="one decimal mark in a file",
            found=f"{votes['.']} values with a point, {votes[',']} with a comma",
            hint="pass decimal=',' / --decimal , (or '.')",
        )
    if votes[","]:
        return ","
    if votes["."]:
        return "."
    return None


def _plain_numbers(frame: pl.DataFrame, columns: list[str]) -> list[pl.Series] | None:
    """Every value a plain number with a decimal point (no symbols, no thousands)? Fast path.

    None when any value needs the full parser, or looks like ``1.234`` (a thousand with
    a dot, or one and a bit?), which only the full parser may decide.

    Every column is cast in one query. The cast refuses spaces around a number, so a
    column whose every value casts as it is needs no trimming; the others are trimmed
    and cast again.
    """
    text = [c for c in columns if frame[c].dtype == pl.String]
    ambiguous = r"^-?\d{1,3}\.\d{3}$"
    lazy = frame.lazy()
    cast, flags = pl.collect_all(
        [
            lazy.select(pl.col(c).cast(pl.Float64, strict=False) for c in text),
            lazy.select(pl.col(c).str.contains(ambiguous).any() for c in text),
        ]
    )
    parsed = []
    for column in columns:
        series = frame[column]
        if series.dtype != pl.String:
            parsed.append(series.cast(pl.Float64))
            continue
        numbers = cast[column]
        if numbers.null_count() != series.null_count():
            trimmed = series.str.strip_chars()
            numbers = trimmed.cast(pl.Float64, strict=False)
            if (
                numbers.null_count() != trimmed.null_count()
                or trimmed.str.contains(ambiguous).any()
            ):
                return None
        elif flags[column][0]:
            return None
        parsed.append(numbers.alias(column))
    return parsed


def parse_amounts(
    frame: pl.DataFrame, columns: list[str], *, decimal: str | None, source: str, table: str
) -> tuple[pl.DataFrame, str]:
    """Turn text amount columns into Float64 with one decimal mark for the whole file.

    Returns the frame and the decimal mark used. Values that do not parse are refused
    with their rows.

    Examples
    --------
    >>> df = pl.DataFrame({"a": ["1.234,56 kr", "12,5", None, "-3"]})
    >>> out, mark = parse_amounts(df, ["a"], decimal=None, source="x.csv", table="orders")
    >>> out["a"].to_list(), mark
    ([1234.56, 12.5, None, -3.0], ',')
    """
    columns = [c for c in columns if c in frame.columns]
    if decimal not in (None, ".", ","):
        raise AovlabInputError("unknown decimal mark", expected="'.' or ','", found=repr(decimal))
    if decimal != ",":
        plain = _plain_numbers(frame, columns)
        if plain is not None:
            return frame.with_columns(plain), "."
    mark = decimal or detect_decimal(frame, columns, source)
    if mark is None:
        # Only whole numbers or ambiguous thousands (1,234): refuse ambiguity.
        ambiguous = any(
            frame.select(
                _clean_amount(pl.col(c)).str.contains(r"^-?\d{1,3}[.,]\d{3}$").any()
            ).item()
            for c in columns
        )
        if ambiguous:
            raise AovlabInputError(
                "has amounts whose decimal mark cannot be told",
                source=source,
                table=table,
                column=columns[0],
                expected="values like 12.50 or 12,50 somewhere in the file",
                found="only values like 1,234 or 1.234 (a thousand, or one and a bit?)",
                hint="pass decimal=',' / --decimal , (or '.')",
            )
        mark = "."
    pattern = _POINT if mark == "." else _COMMA
    thousands = r"[,' ]" if mark == "." else r"[. ']"
    exprs = []
    for column in columns:
        clean = _clean_amount(pl.col(column))
        number = clean.str.replace_all(thousands, "")
        if mark == ",":
            number = number.str.replace(",", ".", literal=True)
        exprs.append(
            pl.when(clean.str.contains(pattern))
            .then(number.cast(pl.Float64, strict=False))
            .alias(column)
        )
    parsed = (
        frame.with_row_index("__row")
        .with_columns(*(pl.col(c).alias(f"__raw_{c}") for c in columns))
        .with_columns(exprs)
    )
    for column in columns:
        raw = pl.col(f"__raw_{column}")
        bad = parsed.filter(
            raw.is_not_null() & (raw.str.strip_chars() != "") & pl.col(column).is_null()
        )
        if bad.height:
            raise AovlabInputError(
                "has values that are not amounts",
                source=source,
                table=table,
                column=column,
                rows=[r + 2 for r in bad["__row"].head(50).to_list()],
                row_label="file row",
                expected=f"amounts with a decimal {'comma' if mark == ',' else 'point'}, like "
                + ("1.234,56" if mark == "," else "1,234.56"),
                found=", ".join(repr(v) for v in bad[f"__raw_{column}"].head(5).to_list()),
                hint="pass decimal=',' / --decimal , (or '.') if the mark was read wrongly",
            )
    return parsed.drop("__row", *(f"__raw_{c}" for c in columns)), mark


# --------------------------------------------------------------------------- dates

_DMY = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})")


def detect_dayfirst(values: pl.Series, source: str, column: str) -> bool | None:
    """True for day-first dates (23.11.2026, 23/11/2026), False for month-first, None for ISO.

    Dotted dates are day-first wherever they are written. Slashed or dashed ones are
    decided by a value whose first or second part exceeds 12; if none does, refuse.
    """
    text = values.drop_nulls().str.strip_chars()
    parts = text.str.extract_groups(r"^(\d{1,2})([./-])(\d{1,2})[./-]\d{4}")
    matched = parts.struct.field("1").is_not_null()
    if not matched.any():
        return None
    first = parts.struct.field("1").cast(pl.Int32, strict=False)
    second = parts.struct.field("3").cast(pl.Int32, strict=False)
    if (parts.struct.field("2") == ".").any():
        return True
    day_first = bool((first > 12).any())
    month_first = bool((second > 12).any())
    if day_first and month_first:
        raise AovlabInputError(
            "mixes day-first and month-first dates",
            source=source,
            column=column,
            expected="one date order in a file",
            found="values like 23/11 and 11/23",
        )
    if not day_first and not month_first:
        raise AovlabInputError(
            "has dates whose day and month cannot be told apart",
            source=source,
            column=column,
            expected="a value with a day above 12 somewhere, or ISO dates (2026-11-23)",
            found=", ".join(repr(v) for v in text.head(3).to_list()),
            hint="pass dayfirst=True / --dayfirst (23/11/2026) or dayfirst=False / --monthfirst (11/23/2026)",
        )
    return day_first


def to_iso_dates(frame: pl.DataFrame, column: str, dayfirst: bool) -> pl.DataFrame:
    """Rewrite d/m/y (or m/d/y) date-times as ISO text, so the model's parser reads them.

    >>> df = pl.DataFrame({"t": ["23.11.2026 14:05", "01.12.2026"]})
    >>> to_iso_dates(df, "t", True)["t"].to_list()
    ['2026-11-23 14:05', '2026-12-01']
    """
    text = pl.col(column).str.strip_chars()
    parts = text.str.extract_groups(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})(.*)$")
    day, month = ("1", "2") if dayfirst else ("2", "1")
    iso = pl.concat_str(
        [
            parts.struct.field("3"),
            pl.lit("-"),
            parts.struct.field(month).str.zfill(2),
            pl.lit("-"),
            parts.struct.field(day).str.zfill(2),
            parts.struct.field("4"),
        ]
    )
    return frame.with_columns(
        pl.when(parts.struct.field("1").is_not_null()).then(iso).otherwise(text).alias(column)
    )
