"""Personal data stops at the reader, whatever its column is called.

Three rules, applied to every table by :meth:`aovlab.ShopData.from_frames`:

- **columns** whose name says they hold personal data (emails, names, addresses,
  phones, notes, company, city, ...) are dropped: :func:`is_personal_column`;
- **values** that look like an email address, a phone number or a street address are
  removed from any text column they turn up in (a discount code typed as an email, a
  note in a "source" field): :data:`PERSONAL_VALUE`. A column made mostly of them is
  dropped;
- **customers** become stable pseudonymous ids: a keyed BLAKE2b hash of the lower-cased
  email (:func:`pseudonymise`), so a client's salt keeps ids stable month after month.

What was removed is said in the load's notes, by count and column, never by value.
"""

from __future__ import annotations

import hashlib
import re

import polars as pl

DEFAULT_SALT = "aovlab"
#: What a removed value becomes.
REDACTED = "(personal data removed)"

_PERSONAL_NAME = re.compile(
    r"e_?mail|phone|mobile|telef|(^|_)tel($|_)|(^|_)fax($|_)|address|street|(^|_)zip|postal|"
    r"post_?code|postnummer|postnr|plz($|_)|(^|_)city($|_)|(^|_)town($|_)|(^|_)ort($|_)|"
    r"(^|_)stad($|_)|(^|_)company($|_)|(^|_)firma($|_)|organi[sz]ation|"
    r"(^|_)(first|last|full|middle|given|family|sur|customer|billing|shipping|contact|"
    r"recipient|buyer|user|account|kund|namn)_?name($|_)|^name$|^namn$|^navn$|"
    r"(^|_)notes?($|_)|comment|message|instruction|(^|_)ship_?to($|_)|(^|_)bill_?to($|_)|"
    r"(^|_)ip(_address)?$|birth|(^|_)ssn($|_)|personnummer|iban|card_?number|passport"
)


def normalise_name(name: str) -> str:
    """A column name as the rules compare it: lower case, runs of non-letters as ``_``.

    >>> normalise_name(" Billing Name "), normalise_name("E-Mail"), normalise_name("Ship To")
    ('billing_name', 'e_mail', 'ship_to')
    """
    return re.sub(r"[^0-9a-zåäöæøéü]+", "_", name.strip().lower()).strip("_")


def is_personal_column(name: str) -> bool:
    """Whether a column's name says it holds personal data.

    >>> [is_personal_column(c) for c in ("Customer Name", "Order Notes", "company", "city")]
    [True, True, True, True]
    >>> [is_personal_column(c) for c in ("channel", "campaign_name", "product", "country")]
    [False, False, False, False]
    """
    return bool(_PERSONAL_NAME.search(normalise_name(name)))


_LETTER = r"[^\W\d_]"
# Street words are matched at the end of a value or before a comma ("12 High Street,
# London"), so that product names ("12 ROSE PEG PLACE SETTINGS") are not addresses.
_STREET_WORDS = r"street|st\.|road|rd\.|avenue|ave\.?|lane|drive|boulevard|blvd\.?|crescent|terrace"
_STREET_SUFFIX = (
    r"gatan|gata|vägen|gränd|straße|strasse|str\.|straat|laan|weg|gracht|veien|vej|gade|"
    r"plein|platz|allé"
)
_END = r"(?:\s*$|\s*,)"

#: A value that contains an email address, an international or national phone number,
#: or a street address ("12 High Street", "Storgatan 12", "Hauptstraße 5b, Berlin").
PERSONAL_VALUE = (
    r"(?i)"
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
    r"|(?:^|[\s:;,(])(?:\+|00)[1-9][0-9]{0,2}[ \-.]?(?:\(?[0-9]{1,4}\)?[ \-.]?){1,2}[0-9]{2,4}(?:[ \-.]?[0-9]{2,4}){1,2}(?:$|[\s;,)])"
    r"|^\s*\(?0[0-9]{1,4}\)?[ \-/][0-9]{2,4}(?:[ \-][0-9]{2,4}){1,3}\s*$"
    rf"|\b[0-9]{{1,5}}[a-z]?,?(?:\s+{_LETTER}+){{1,3}}\s+(?:{_STREET_WORDS}){_END}"
    rf"|{_LETTER}{{2,}}(?:{_STREET_SUFFIX})\s+[0-9]{{1,5}}\s?[a-z]?{_END}"
    rf"|\b{_LETTER}+s\s+gate\s+[0-9]{{1,5}}[a-z]?{_END}"
)
_PERSONAL_VALUE_RE = re.compile(PERSONAL_VALUE)


def looks_personal(value: str) -> bool:
    """Whether a text value looks like personal data (see :data:`PERSONAL_VALUE`).

    >>> [looks_personal(v) for v in ("anna@example.com", "+46 70 123 45 67", "070-123 45 67",
    ...  "12 High Street", "Storgatan 12", "Hauptstraße 5b, Berlin", "call 0046 8 123 456 78 please",
    ...  "Kerkstraat 10", "Karl Johans gate 1", "221B Baker Street, London")]
    [True, True, True, True, True, True, True, True, True, True]
    >>> [looks_personal(v) for v in ("WELCOME10", "BLACKFRIDAY20", "Tent Fjäll 2", "2026-10-03",
    ...  "Gas canister 230 g", "paid_search", "20261124", "Hiking boot Sarek", "SE-123",
    ...  "12 RED ROSE PEG PLACE SETTINGS", "Spring 2026", "Tailgate 2", "Key ring 3")]
    [False, False, False, False, False, False, False, False, False, False, False, False, False]
    """
    return bool(_PERSONAL_VALUE_RE.search(value))


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
    clean = values.str.strip_chars().str.to_lowercase()
    clean = pl.select(pl.when(clean != "").then(clean)).to_series()
    unique = clean.drop_nulls().unique().to_list()
    mapping = {v: hash_id(v, salt) for v in unique}
    return clean.replace_strict(mapping, default=None, return_dtype=pl.String)
