"""Personal data stops at the reader, whatever its column is called.

Three rules, applied to every table by :meth:`aovlab.ShopData.from_frames`:

- **columns** whose name says they hold personal data (emails, names, addresses,
  phones, notes, company, city, in English, Swedish, Norwegian, Danish, German and
  Dutch) are dropped: :func:`is_personal_column`;
- **values** that look like an email address, a phone number or a street address are
  removed from any text column they turn up in (a discount code typed as an email, a
  phone number in a "source" field): :func:`personal`. A column made mostly of them is
  dropped. Product names, SKUs and categories are checked for emails and phone numbers
  only: "Seagate 2 TB Hard Drive" and "21 Jump Street" are products, not addresses;
- **customers** become stable pseudonymous ids: a keyed BLAKE2b hash of the lower-cased
  email (:func:`pseudonymise`), so a client's salt keeps ids stable month after month.

What was removed is said in the load's notes, by count and column, never by value, and
error messages never quote such a value (:func:`redact`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl

DEFAULT_SALT = "aovlab"
#: What a removed value becomes.
REDACTED = "(personal data removed)"

_PERSONAL_NAME = re.compile(
    r"e_?mail|e_?post|phone|mobil|telef|(^|_)tel($|_)|(^|_)fax($|_)|"
    r"address|adress|street|stra(ss|ß)e|gatu|(^|_)zip|postal|post_?code|postnummer|postnr|"
    r"postort|plz($|_)|(^|_)city($|_)|(^|_)town($|_)|(^|_)ort($|_)|(^|_)stad($|_)|stadt|"
    r"(^|_)company($|_)|(^|_)firma($|_)|organi[sz]ation|"
    r"(first|last|full|middle|given|family|sur|customer|billing|shipping|contact|recipient|"
    r"buyer|user|account|kund|klant|kunde)_?(name|namn|navn|naam)($|_)|"
    r"^name$|^namn$|^navn$|^naam$|vorname|nachname|f(ö|o)rnamn|efternamn|fornavn|etternavn|"
    r"^customer$|^kund$|^klant$|^kunde$|^contact$|^kontakt$|(^|_)(sold|deliver|ship|bill)_?to($|_)|"
    r"recipient|buyer|purchaser|^client$|consignee|empf(ä|a)nger|mottagare|kontaktperson|"
    r"name_?on_?card|card_?holder|addressee|"
    r"(^|_)notes?($|_)|comment|kommentar|remark|opmerking|bemerkung|anmerkung|message|"
    r"meddelande|instruction|(^|_)ip(_address)?$|birth|f(ö|o)dd|geburt|(^|_)ssn($|_)|"
    r"personnummer|iban|card_?number|passport"
)


def normalise_name(name: str) -> str:
    """A column name as the rules compare it: lower case, runs of non-letters as ``_``.

    >>> normalise_name(" Billing Name "), normalise_name("E-Mail"), normalise_name("Ship To")
    ('billing_name', 'e_mail', 'ship_to')
    """
    return re.sub(r"[^0-9a-zåäöæøéüß]+", "_", name.strip().lower()).strip("_")


def is_personal_column(name: str) -> bool:
    """Whether a column's name says it holds personal data.

    >>> [is_personal_column(c) for c in ("Customer Name", "Order Notes", "company", "city",
    ...  "Kundnamn", "Leveransadress", "Straße", "E-post", "Vorname", "Remarks", "Sold To")]
    [True, True, True, True, True, True, True, True, True, True, True]
    >>> [is_personal_column(c) for c in ("channel", "campaign_name", "product", "country",
    ...  "store", "discount_code", "product_name", "category")]
    [False, False, False, False, False, False, False, False]
    """
    return bool(_PERSONAL_NAME.search(normalise_name(name)))


_L = r"[^\W\d_]"
EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
#: International numbers inside any text: +46 70 123 45 67, 0046 8 123 456 78.
PHONE_INTL = (
    r"\+[1-9][0-9]{0,2}[ \-.]?\(?[0-9]{1,4}\)?(?:[ \-.]?[0-9]{1,4}){2,5}"
    r"|(?:^|[\s:;,(])00[1-9][0-9]{0,2}(?:[ \-]\(?[0-9]{1,4}\)?){3,5}(?:$|[\s;,)])"
)
#: A value that is a phone number and nothing else (checked with its digit count).
PHONE_WHOLE = r"^\s*(?:\+|\(\+?)?[0-9][0-9 ()\-./]{6,22}[0-9]\s*$"
_STREET = r"street|st\.?|road|rd\.?|avenue|ave\.?|lane|ln\.?|drive|dr\.?|boulevard|blvd\.?|crescent|terrace|way|close|place"
#: Words that open a street name in French, Italian, Spanish, Portuguese.
_PREFIX = r"rue|via|viale|corso|piazza|calle|avenida|plaza|rua|praça"
_SUFFIX = (
    r"gatan|gata|vägen|väg|gränd|straße|strasse|str\.|straat|laan|weg|gracht|veien|vei|vej|"
    r"gade|plein|platz|allé"
)
#: Street addresses: "12 High Street", "12 High Street London", "221B Baker Street,
#: London", "Baker Street 221B", "Storgatan 12 lgh 1101", "Karl Johans gate 1".
ADDRESS = (
    rf"\b[0-9]{{1,5}}[a-z]?,?(?:\s+{_L}+(?:'{_L}+)?){{1,3}}\s+(?:{_STREET})"
    rf"(?:\s*$|\s*,|(?:\s+{_L}+){{1,2}}\s*$|\s+(?:apt|suite|unit|flat|lgh)\.?\s*[0-9]+)"
    rf"|\b[0-9]{{1,5}}[a-z]?,?\s+(?:{_PREFIX})\s+{_L}+|\b(?:{_PREFIX})\s+{_L}+(?:\s+{_L}+)?\s+[0-9]{{1,5}}\b"
    rf"|\b{_L}+\s+(?:street|road|avenue|lane|drive)\s+[0-9]{{1,5}}[a-z]?\b"
    rf"|{_L}{{2,}}(?:{_SUFFIX})\s+[0-9]{{1,5}}\s?[a-z]?\b"
    rf"|\b{_L}+s\s+gate\s+[0-9]{{1,5}}[a-z]?\b"
)
_ANYWHERE = re.compile(rf"(?i){EMAIL}|{PHONE_INTL}|{ADDRESS}")
_CONTACT = re.compile(rf"(?i){EMAIL}|{PHONE_INTL}")
_WHOLE = re.compile(PHONE_WHOLE)
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


def _phone_digits_ok(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    if value.strip().isdigit():  # 0701234567 is a phone; 0012345678905 is a barcode
        return value.strip().startswith("0") and 9 <= len(digits) <= 11
    return 9 <= len(digits) <= 15 and not _ISO_DATE.match(value)


def looks_personal(value: str, *, addresses: bool = True) -> bool:
    """Whether a text value looks like personal data: an email, a phone, a street address.

    ``addresses=False`` checks emails and phone numbers only (for product names).

    >>> [looks_personal(v) for v in ("anna@example.com", "+46 70 123 45 67", "070-123 45 67",
    ...  "555-123-4567", "(555) 123-4567", "0701234567", "(0)20 7946 0958",
    ...  "12 High Street", "12 High Street London", "Storgatan 12 lgh 1101",
    ...  "Hauptstraße 5b, Berlin", "Karl Johans gate 1", "Baker Street 221B",
    ...  "call 0046 8 123 456 78 please", "12 Queen's Road", "1 rue de Rivoli",
    ...  "Via Roma 12", "Calle Mayor 5", "123 Main St Apt 4")]
    [True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True]
    >>> [looks_personal(v) for v in ("WELCOME10", "Tent Fjäll 2", "2026-10-03", "20261124",
    ...  "Gas canister 230 g", "paid_search", "SE-123", "Size 42", "Pack of 12", "Gate 7",
    ...  "0012345678905", "EAN 0012345678905", "SKU 0012-3456", "Item 0031 2345 67",
    ...  "01 23 45", "1 234,50", "Spring 2026")]
    [False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False]

    Product names read like addresses now and then; they are checked for contacts only:

    >>> [looks_personal(v, addresses=False) for v in ("Seagate 2 TB Hard Drive",
    ...  "12 RED ROSE PEG PLACE SETTINGS", "21 Jump Street", "Engraving for anna@example.com")]
    [False, False, False, True]
    """
    if (_ANYWHERE if addresses else _CONTACT).search(value):
        return True
    return bool(_WHOLE.match(value)) and _phone_digits_ok(value)


def personal(column: str, *, addresses: bool = True) -> nw.Expr:
    """The engine-side test of :func:`looks_personal` for a text column (null: False)."""
    col = nw.col(column)
    text = col.str.strip_chars()
    digits = text.str.replace_all(r"\D", "").str.len_chars()
    all_digits = text.str.contains(r"^[0-9]+$")
    whole = text.str.contains(PHONE_WHOLE) & (
        (all_digits & text.str.starts_with("0") & (digits >= 9) & (digits <= 11))
        | (~all_digits & (digits >= 9) & (digits <= 15) & ~text.str.contains(_ISO_DATE.pattern))
    )
    anywhere = col.str.contains(f"(?i){EMAIL}|{PHONE_INTL}" + (f"|{ADDRESS}" if addresses else ""))
    return (anywhere | whole).fill_null(False)


def could_be_personal(column: str, *, addresses: bool = True) -> nw.Expr:
    """A cheap test that every value :func:`personal` flags passes (null: False).

    Emails hold an ``@``; street addresses a digit; phone numbers either start like an
    international number (``+``, or ``00`` at the start or after a space: ``+1000`` is
    one to :data:`PHONE_INTL`, four digits) or are whole numbers of at least nine
    digits, with no letter. Filtering with it first leaves the patterns a handful of
    values: customer ids such as ``C000123``, or the hashes that replace emails
    (``c-1823495aab719da8``), never reach them.
    """
    col = nw.col(column)
    if addresses:
        test = col.str.contains("[0-9@]")
    else:
        digits = col.str.contains(r"(?:[0-9][^0-9]*){7}")  # seven digits or more
        test = col.str.contains(r"[@+]|(?:^|[\s:;,(])00[1-9]") | (
            digits & ~col.str.contains("[A-Za-z]")
        )
    return test.fill_null(False)


def personal_values(frame: nw.DataFrame[Any], column: str, *, addresses: bool = True) -> Any:
    """The rows of ``frame`` whose ``column`` looks personal (see :func:`personal`).

    Meant for a column's distinct values: the cheap :func:`could_be_personal` runs first,
    so the patterns see only the handful of values that could match.
    """
    return frame.filter(could_be_personal(column, addresses=addresses)).filter(
        personal(column, addresses=addresses)
    )


def redact(text: str) -> str:
    """A message with every personal-looking value replaced (errors quote what they found).

    >>> redact("found: 'anna@example.com', 'x', '+46 70 123 45 67'")
    "found: '(personal data)', 'x', '(personal data)'"
    """
    text = _ANYWHERE.sub("(personal data)", text)

    def quoted(match: re.Match[str]) -> str:
        inner = match.group(2)
        return (
            match.group(0)
            if not looks_personal(inner)
            else f"{match.group(1)}(personal data){match.group(1)}"
        )

    return re.sub(r"(['\"])([^'\"]{1,200})\1", quoted, text)


def hash_id(value: str, salt: str) -> str:
    """The pseudonymous id of an email (or any identifier): a keyed BLAKE2b hash.

    >>> hash_id("Anna@Example.com ", "client-1") == hash_id("anna@example.com", "client-1")
    True
    """
    key = salt.encode("utf-8")[:64]
    clean = value.strip().lower()
    return "c-" + hashlib.blake2b(clean.encode("utf-8"), digest_size=8, key=key).hexdigest()


def pseudonymise(values: pl.Series, salt: str) -> pl.Series:
    """Stable pseudonymous ids from emails: a keyed BLAKE2b hash of the lower-cased address.

    The same salt gives the same id month after month; a different client's salt gives
    unrelated ids. Blank values stay null (guests).

    >>> pseudonymise(pl.Series(["Anna@Example.com ", None, "anna@example.com"]), "client-1").to_list()
    ['c-1823495aab719da8', None, 'c-1823495aab719da8']
    """
    name = values.name
    return hash_clean(values.to_frame("v").select(clean_email("v")).to_series(), salt).alias(name)


def clean_email(column: str) -> pl.Expr:
    """An email as :func:`pseudonymise` hashes it: trimmed, lower case, blank as null."""
    clean = pl.col(column).str.strip_chars().str.to_lowercase()
    return pl.when(clean != "").then(clean).alias(column)


def hash_clean(clean: pl.Series, salt: str) -> pl.Series:
    """:func:`hash_id` of each value of a :func:`clean_email` column (null stays null).

    The hash runs once per distinct value (see :func:`hashed_distinct`); the engine
    maps them back.
    """
    mapping = hashed_distinct(clean, salt)
    return (
        clean.to_frame("__v")
        .join(mapping.rename({"value": "__v"}), on="__v", how="left", maintain_order="left")
        .get_column("id")
        .alias(clean.name)
    )


def hashed_distinct(clean: pl.Series, salt: str) -> pl.DataFrame:
    """The distinct non-null values of a :func:`clean_email` column and their :func:`hash_id`.

    Columns ``value`` and ``id``, to join on.

    >>> hashed_distinct(pl.Series(["anna@example.com", None, "anna@example.com"]), "client-1").rows()
    [('anna@example.com', 'c-1823495aab719da8')]
    """
    unique = clean.drop_nulls().unique().cast(pl.String)
    return pl.DataFrame({"value": unique, "id": hash_each(unique, salt)})


def hash_each(clean: pl.Series, salt: str) -> pl.Series:
    """:func:`hash_id` of each value of a :func:`clean_email` column, in its order (null: null).

    Meant for distinct values. The keyed hash is set up once (BLAKE2b reads its key as
    a first block) and copied for each value; polars has no keyed hash that is stable
    across its versions, so the hash itself runs in Python, once per value given.

    >>> hash_each(pl.Series(["anna@example.com", None]), "client-1").to_list()
    ['c-1823495aab719da8', None]
    """
    keyed = hashlib.blake2b(digest_size=8, key=salt.encode("utf-8")[:64])

    def one(value: str | None) -> str | None:
        if value is None:
            return None
        h = keyed.copy()
        h.update(value.strip().lower().encode("utf-8"))  # as hash_id cleans it
        return "c-" + h.hexdigest()

    return pl.Series("id", list(map(one, clean.to_list())), dtype=pl.String)
