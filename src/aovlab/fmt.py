"""Number formatting for headlines and tables (one place, one style).

Figures follow the current locale (:mod:`aovlab.locales`; ``en`` unless set): its
decimal and group separators, where the currency symbol goes, its month names. The
signs are aovlab's in every locale: "−" (U+2212) before a negative amount or share and
"+" before a gain when ``signed``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aovlab import locales

# English locales: these symbols go before the amount, any other after it ("1,234.50 kr").
_PREFIX = {"EUR": "€", "GBP": "£", "USD": "$"}
_SUFFIX = {"SEK": " kr", "NOK": " kr", "DKK": " kr"}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


@functools.lru_cache(maxsize=32)
def _pattern(digits: int) -> Any:
    """Babel's pattern of a grouped number with ``digits`` decimals (symbols come later)."""
    from babel.numbers import parse_pattern

    return parse_pattern("#,##0" + ("." + "0" * digits if digits > 0 else ""))


def _digits(value: float | int, digits: int) -> str:
    """``value`` with ``digits`` decimals in the current locale's separators.

    Rounded as Python rounds the float (``f"{v:.2f}"``), then written by Babel, so a
    figure rounds the same in every locale; a whole number (``int``) stays exact.
    """
    exact = isinstance(value, int) and digits <= 0
    text = str(value) if exact else f"{value:.{max(digits, 0)}f}"
    return str(_pattern(digits).apply(Decimal(text), locales.babel_locale(locales.current())))


@functools.lru_cache(maxsize=256)
def _placement(tag: str, code: str) -> tuple[str, str]:
    """The text before and after an amount in ``code`` in the locale ``tag``."""
    if locales.is_english(tag):
        if code in _PREFIX:
            return _PREFIX[code], ""
        if code in _SUFFIX:
            return "", _SUFFIX[code]
        return "", f" {code}" if code else ""
    from babel.numbers import get_currency_symbol

    loc = locales.babel_locale(tag)
    pattern = loc.currency_formats["standard"]
    if not code:
        return "", ""
    symbol = get_currency_symbol(code, locale=loc)
    if code in ("SEK", "NOK", "DKK") and symbol == code:
        symbol = "kr"  # a Nordic crown reads "kr" in any language
    return pattern.prefix[0].replace("¤", symbol), pattern.suffix[0].replace("¤", symbol)


def money(
    value: Any, currency: str | None, *, digits: int = 2, short: bool = False, signed: bool = False
) -> str:
    r"""Format an amount with its currency's symbol (``signed``: a ``+`` on gains too).

    In English locales €, £ and $ go before the amount and any other symbol after it;
    other locales place the symbol as Babel's (CLDR's) currency pattern does.

    Examples
    --------
    >>> money(94.4733, "EUR"), money(-4.1, "EUR"), money(1234.5, "SEK"), money(12.0, "CHF")
    ('€94.47', '−€4.10', '1,234.50 kr', '12.00 CHF')
    >>> money(-6.4e-15, "EUR"), money(8.29, "EUR", signed=True)
    ('€0.00', '+€8.29')
    >>> money(3_512_345.0, "GBP", short=True)
    '£3.51m'
    >>> from aovlab import locales
    >>> with locales.locale("de"):
    ...     money(-1234.56, "EUR"), money(12_345.0, "EUR", short=True)
    ('−1.234,56\xa0€', '12,3k\xa0€')
    """
    if _missing(value):
        return "n/a"
    number = float(value)
    if round(number, digits) == 0:
        number = 0.0  # no "−€0.00" for a float that is zero but for its last bits
    sign = "−" if number < 0 else "+" if signed and number > 0 else ""
    number = abs(number)
    if short and number >= 1_000_000:
        body = _digits(number / 1_000_000, 2) + "m"
    elif short and number >= 10_000:
        body = _digits(number / 1_000, 1) + "k"
    else:
        body = _digits(number, digits)
    before, after = _placement(locales.current(), (currency or "").upper())
    return f"{sign}{before}{body}{after}"


def in_currency(
    currency: str | None,
) -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    """Money formatters bound to one currency: plain, and signed (``+`` on gains too).

    >>> money, signed = in_currency("EUR")
    >>> money(94.47), signed(8.29), signed(-4.1)
    ('€94.47', '+€8.29', '−€4.10')
    """
    return (lambda v: money(v, currency)), (lambda v: money(v, currency, signed=True))


def pct(value: Any, *, digits: int = 1, signed: bool = False, trim: bool = False) -> str:
    """Format a share (0.025) as a percentage ("2.5 %").

    A space before "%" (non-breaking where the locale writes one, as in ``sv``/``de``).
    ``trim``: up to ``digits`` decimals, trailing zeros dropped ("5 %", "7.5 %"), as a
    confidence level or a rule's share reads in a sentence.

    >>> pct(0.025), pct(-0.032, signed=True), pct(None)
    ('2.5 %', '−3.2 %', 'n/a')
    >>> pct(0.95, digits=4, trim=True), pct(0.075, trim=True), pct(0.05, trim=True)
    ('95 %', '7.5 %', '5 %')
    """
    if _missing(value):
        return "n/a"
    number = float(value) * 100
    if trim:
        digits = _needed(number, digits)
    if round(number, digits) == 0:
        number = 0.0
    sign = (
        ("+" if number > 0 else "−" if number < 0 else "")
        if signed
        else ("−" if number < 0 else "")
    )
    return f"{sign}{_digits(abs(number), digits)}{_percent_space(locales.current())}%"


@functools.lru_cache(maxsize=64)
def _percent_space(tag: str) -> str:
    """A non-breaking space where the locale's percent pattern has one, else a space."""
    pattern = locales.babel_locale(tag).percent_formats[None].pattern
    return "\u00a0" if "\u00a0%" in pattern else " "


def count(value: Any) -> str:
    """Format a count with thousands separators.

    >>> count(4234)
    '4,234'
    """
    if _missing(value):
        return "n/a"
    return _grouped(int(value), 0)


def number(value: Any, digits: int = 2, *, signed: bool = False, trim: bool = False) -> str:
    """Format a plain number.

    ``signed``: "+" before a gain (and a zero) and "−" before a loss, as ``f"{v:+.2f}"``
    writes them (with aovlab's "−"). ``trim``: up to ``digits`` decimals, trailing zeros
    dropped ("12", "1.5").

    >>> number(2.456), number(1234.5, 1), number(0.4, signed=True), number(-0.35, signed=True)
    ('2.46', '1,234.5', '+0.40', '−0.35')
    >>> number(12.0, 6, trim=True), number(1.5, 6, trim=True)
    ('12', '1.5')
    >>> from aovlab import locales
    >>> with locales.locale("de"):
    ...     number(1234.5, 1), number(-0.35, signed=True), number(1.5, 6, trim=True)
    ('1.234,5', '−0,35', '1,5')
    """
    if _missing(value):
        return "n/a"
    number = float(value)
    if trim:
        digits = _needed(number, digits)
    if signed:
        sign = "−" if f"{number:+.{digits}f}".startswith("-") else "+"
        return sign + _digits(abs(number), digits)
    return _grouped(number, digits)


def _needed(value: float, digits: int) -> int:
    """How many of ``digits`` decimals ``value`` needs once trailing zeros are dropped."""
    return len(f"{abs(value):.{max(digits, 0)}f}".partition(".")[2].rstrip("0"))


def decimal_sign() -> str:
    """The current locale's decimal sign ("." in ``en``, "," in ``de``).

    >>> decimal_sign()
    '.'
    """
    return str(locales.babel_locale(locales.current()).number_symbols["latn"]["decimal"])


def _grouped(value: float | int, digits: int) -> str:
    """A number with the locale's own minus sign ("-" in ``en``, "−" in ``sv``)."""
    from babel.numbers import get_minus_sign_symbol

    text = _digits(abs(value), digits)
    if f"{value:.{digits}f}".startswith("-"):  # negative as Python writes it (also -0.00)
        return get_minus_sign_symbol(locales.babel_locale(locales.current())) + text
    return text


_NUMBER_WORDS = (
    "no",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
)


def counted(n: int, noun: str, plural: str | None = None, *, words: bool = False) -> str:
    """A count with its noun in the right number: "1 order", "2 orders", "12,345 orders".

    ``words``: small counts spelt out ("two orders"), as at the start of a sentence.

    >>> counted(1, "order"), counted(2, "order"), counted(12345, "order")
    ('1 order', '2 orders', '12,345 orders')
    >>> counted(2, "order", words=True), counted(11, "country", "countries", words=True)
    ('two orders', '11 countries')
    """
    amount = _NUMBER_WORDS[n] if words and 0 <= n < len(_NUMBER_WORDS) else count(n)
    return f"{amount} {noun if n == 1 else plural or noun + 's'}"


def listing(items: list[str]) -> str:
    """Items as a sentence lists them: "a", "a and b", "a, b and c".

    >>> listing(["574941"]), listing(["a", "b"]), listing(["a", "b", "c"])
    ('574941', 'a and b', 'a, b and c')
    """
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def article(words: str) -> str:
    """The article before ``words``: "a" or "an" (acronyms by their first letter's sound).

    >>> article("discount code"), article("email"), article("SKU"), article("UTM source")
    ('a', 'an', 'an', 'a')
    """
    first = words.split(" ")[0]
    if first.isupper() and len(first) > 1:
        return "an" if first[0] in "AEFHILMNORSX" else "a"
    return "an" if first[:1].lower() in "aeio" else "a"


#: The words for the dimensions people split by: (singular, plural).
_DIMENSION_WORDS = {
    "country": ("country", "countries"),
    "device": ("device", "devices"),
    "channel": ("channel", "channels"),
    "discount_code": ("discount code", "discount codes"),
    "customer_type": ("customer type", "customer types"),
    "main_category": ("main category", "main categories"),
    "discount_used": ("discount group", "discount groups"),
    "segment": ("segment", "segments"),
}
_ACRONYMS = {"ab", "id", "sku", "utm", "ip", "os", "url", "b2b", "b2c", "vat", "ui", "ux"}
_UNCOUNTABLE = {"data", "info", "information", "feedback", "series", "species"}


def _plural_word(word: str) -> str:
    lower = word.lower()
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def dimension_label(name: str, plural: bool = False) -> str:
    """The plain English words for an order dimension, for sentences.

    Known dimensions have fixed words; any other column name is read as a noun phrase
    (underscores as spaces, short codes in capitals, the last word made plural). A name
    that does not read as a noun (``is_member``, ``used_coupon``, ``utm2``) becomes
    "group(s) of ...".

    >>> dimension_label("country", plural=True), dimension_label("discount_code", plural=True)
    ('countries', 'discount codes')
    >>> dimension_label("store", plural=True), dimension_label("category", plural=True)
    ('stores', 'categories')
    >>> dimension_label("ab_arm"), dimension_label("ab_arm", plural=True)
    ('AB arm', 'AB arms')
    >>> dimension_label("utm_source", plural=True), dimension_label("box", plural=True)
    ('UTM sources', 'boxes')
    >>> dimension_label("is_member"), dimension_label("is_member", plural=True)
    ('group of is member', 'groups of is member')
    """
    if name in _DIMENSION_WORDS:
        return _DIMENSION_WORDS[name][1 if plural else 0]
    words = [w for w in name.replace("-", "_").replace(" ", "_").split("_") if w]
    noun_like = (
        bool(words)
        and all(w.isalpha() or w.lower() in _ACRONYMS for w in words)
        and words[0].lower() not in {"is", "has", "was", "did", "used"}
        and not words[-1].lower().endswith(("ed", "ing"))
    )
    text = " ".join(w.upper() if w.lower() in _ACRONYMS else w for w in words) or name
    if not noun_like:
        return f"{'groups' if plural else 'group'} of {text}"
    if not plural or words[-1].lower() in _UNCOUNTABLE:
        return text
    head, _, last = text.rpartition(" ")
    return f"{head} {_plural_word(last)}".strip() if head else _plural_word(last)


def period_name(label: str) -> str:
    """A period label as people say it: a month by its name, other labels as they are.

    >>> period_name("2011-11"), period_name("2026Q3"), period_name("2026-10-01")
    ('November 2011', '2026Q3', '2026-10-01')
    >>> from aovlab import locales
    >>> with locales.locale("sv"):
    ...     period_name("2011-11")
    'november 2011'
    """
    if len(label) == 7 and label[4] == "-" and label[:4].isdigit() and label[5:].isdigit():
        month = int(label[5:])
        if 1 <= month <= 12:
            from babel.dates import format_skeleton

            day = dt.date(int(label[:4]), month, 1)
            return str(format_skeleton("yMMMM", day, locale=_babel()))
    return label


def date(value: dt.date | str | None) -> str:
    """A day as the locale writes it in text: "Nov 24, 2026", "24. Nov. 2026".

    ``value`` is a date, a datetime (its day) or an ISO date text.

    >>> date("2026-11-24"), date(None)
    ('Nov 24, 2026', 'n/a')
    >>> from aovlab import locales
    >>> with locales.locale("nb"):
    ...     date("2026-11-24")
    '24. nov. 2026'
    """
    if value is None:
        return "n/a"
    from babel.dates import format_skeleton

    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(day, dt.datetime):
        day = day.date()
    return str(format_skeleton("yMMMd", day, locale=_babel()))


def _babel() -> Any:
    return locales.babel_locale(locales.current())
