r"""The client's locale: how numbers, amounts, percentages and dates are written.

Every figure a person reads goes through :mod:`aovlab.fmt` (a result's headline, written
when it is first read, then kept), :mod:`aovlab.display` (tables) and the chart theme of
:mod:`aovlab.charts` (axes, when a chart is drawn).
They all read one setting, the current locale, so a German client gets "1.234,56 €",
"2,5 %" and "24. Nov. 2026" everywhere without any analysis taking a ``locale``
parameter. The words stay English; only figures and dates follow the locale. The locale
data is Babel's (CLDR), so any locale Babel knows works: ``sv``, ``de``, ``nl``, ``nb``,
``en-GB``, ``de-CH``, ...

Why a setting and not a parameter: the figures are written in dozens of places (every
headline of every analysis, every table cell, every chart axis), several calls deep; a
parameter would have to pass through all of them and would be forgotten in one. Like
great-tables' ``locale`` option or a plotting library's theme, it is set once:

- :func:`set_locale` sets it for the whole process: what a notebook's set-up cell does
  (a kernel runs each cell in its own context, so only a process-wide value lasts from
  one cell to the next).
- :func:`locale` sets it for a ``with`` block only, in a :class:`contextvars.ContextVar`:
  what the report does for one client. The previous locale comes back at the end of the
  block, and two clients reported at once in two threads never see each other's.
  A chart is drawn when it is displayed: one made in a ``with`` block that a notebook
  cell shows after the block follows the locale of the display (in a notebook, use
  ``set_locale`` or ``aovlab.widgets.setup(interactive, locale)``).

The default, ``en``, writes figures exactly as aovlab always has ("€1,234.56",
"1,234.56 kr", "2.5 %"). :func:`for_currency` gives the report its default when no
locale is given: the currency's home locale, except EUR, which stays ``en`` (a euro
client may be Dutch, German, Finnish or Irish; guessing would be wrong more often than
right, so a euro client's locale is set explicitly).

Examples
--------
>>> from aovlab import fmt
>>> fmt.money(1234.56, "EUR")
'€1,234.56'
>>> with locale("de"):
...     fmt.money(1234.56, "EUR") == "1.234,56\xa0€"
True
>>> current()
'en'
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from typing import Any, Literal

from aovlab.errors import AovlabInputError

#: The locale when none is set: figures as aovlab has always written them.
DEFAULT = "en"

#: Some locales Babel knows, named in the error for an unknown one.
EXAMPLES = ("en", "en-GB", "en-US", "sv", "de", "de-CH", "nl", "nb", "da", "fi", "fr")

#: The report's locale when none is given, by currency (see the module's notes on EUR).
BY_CURRENCY = {
    "SEK": "sv",
    "NOK": "nb",
    "DKK": "da",
    "GBP": "en-GB",
    "USD": "en-US",
    "CHF": "de-CH",
    "EUR": "en",
}

_process = DEFAULT
_scoped: contextvars.ContextVar[str | None] = contextvars.ContextVar("aovlab_locale", default=None)


def check(name: Any, *, source: str = "locale") -> str:
    """A locale name checked with Babel, as a BCP 47 tag (``de_de`` -> ``de-DE``).

    Raises :class:`~aovlab.errors.AovlabInputError`, naming ``source`` and some valid
    names, when Babel does not know the locale.

    >>> check("de"), check("en_gb"), check("de-ch")
    ('de', 'en-GB', 'de-CH')
    >>> check("xx")
    Traceback (most recent call last):
    ...
    aovlab.errors.AovlabInputError: locale: is not a locale aovlab knows
      expected: a language code, optionally with a region: en, en-GB, en-US, sv, de, de-CH, nl, nb, da, fi, fr
      found:    'xx'
    """
    from babel import Locale, UnknownLocaleError

    text = name.strip().replace("-", "_") if isinstance(name, str) else ""
    try:
        parsed = Locale.parse(text) if text else None
    except (UnknownLocaleError, ValueError, TypeError):
        parsed = None
    if parsed is None:
        raise AovlabInputError(
            "is not a locale aovlab knows",
            source=source,
            expected="a language code, optionally with a region: " + ", ".join(EXAMPLES),
            found=repr(name),
        )
    return str(parsed).replace("_", "-")


def current() -> str:
    """The locale figures are written in now (the ``with`` block's, else the process's).

    >>> current()
    'en'
    """
    return _scoped.get() or _process


def set_locale(name: str | None) -> str:
    """Set the locale for the whole process (``None``: the default, ``en``); return it.

    A notebook's set-up cell does this once; code that formats for one client among
    others uses :func:`locale` instead.

    >>> set_locale("sv"), current(), set_locale(None)
    ('sv', 'sv', 'en')
    """
    global _process
    _process = DEFAULT if name is None else check(name)
    return _process


@contextlib.contextmanager
def locale(name: str | None) -> Iterator[str]:
    r"""Write figures in ``name`` inside a ``with`` block (``None``: keep the current one).

    >>> from aovlab import fmt
    >>> with locale("sv"):
    ...     fmt.pct(0.025)
    '2,5\xa0%'
    >>> fmt.pct(0.025)
    '2.5 %'
    """
    tag = current() if name is None else check(name)
    token = _scoped.set(tag)
    try:
        yield tag
    finally:
        _scoped.reset(token)


def for_currency(currency: str | None) -> str:
    """The report's default locale for a currency: its home locale, ``en`` for EUR.

    >>> for_currency("SEK"), for_currency("gbp"), for_currency("EUR"), for_currency(None)
    ('sv', 'en-GB', 'en', 'en')
    """
    return BY_CURRENCY.get((currency or "").upper(), DEFAULT)


@functools.lru_cache(maxsize=64)
def babel_locale(tag: str) -> Any:
    """Babel's ``Locale`` of a checked tag (cached)."""
    from babel import Locale

    return Locale.parse(tag.replace("-", "_"))


def is_english(tag: str) -> bool:
    """Whether amounts follow aovlab's English rule (€, £, $ before, other symbols after).

    >>> is_english("en"), is_english("en-GB"), is_english("sv")
    (True, True, False)
    """
    return babel_locale(tag).language == "en"


# --------------------------------------------------------------------------- charts

#: d3's minus sign is U+2212 as aovlab's; written out so every locale keeps it.
MINUS = "\u2212"


@functools.lru_cache(maxsize=64)
def vega_locale(tag: str) -> dict[str, Any]:
    r"""The locale in Vega's terms (``config.locale``: d3's number and time definitions).

    Built from Babel's data, so a chart's axes write numbers and month names as the
    headlines and tables of the same locale do.

    >>> number = vega_locale("de")["number"]
    >>> number["decimal"], number["thousands"], number["currency"]
    (',', '.', ['', '\xa0€'])
    >>> vega_locale("nb")["time"]["shortMonths"][10]
    'nov.'
    """
    from babel import dates

    loc = babel_locale(tag)
    symbols = loc.number_symbols.get("latn", loc.number_symbols)
    pattern = loc.currency_formats["standard"]
    prefix = pattern.prefix[0].replace("¤", "{0}")
    suffix = pattern.suffix[0].replace("¤", "{0}")
    default_symbol = _default_currency_symbol(loc)
    number = {
        "decimal": symbols["decimal"],
        "thousands": symbols["group"],
        "grouping": [3],
        "currency": [prefix.format(default_symbol), suffix.format(default_symbol)]
        if default_symbol
        else ["", ""],
        "minus": MINUS,
    }

    def names(kind: str, width: Literal["abbreviated", "wide"]) -> list[str]:
        get = dates.get_day_names if kind == "days" else dates.get_month_names
        found = get(width, locale=loc)
        if kind == "days":  # Babel counts from Monday (0), d3 from Sunday
            return [found[(i + 6) % 7] for i in range(7)]
        return [found[i] for i in range(1, 13)]

    time = {
        "dateTime": "%x, %X",
        "date": _strftime(loc.date_formats["short"].pattern),
        "time": _strftime(loc.time_formats["medium"].pattern),
        "periods": [loc.day_periods["format"]["abbreviated"].get(p, p) for p in ("am", "pm")],
        "days": names("days", "wide"),
        "shortDays": names("days", "abbreviated"),
        "months": names("months", "wide"),
        "shortMonths": names("months", "abbreviated"),
    }
    return {"number": number, "time": time}


def _default_currency_symbol(loc: Any) -> str:
    """The symbol of the locale's own currency (d3's ``$`` format), "" when it has none."""
    from babel import numbers
    from babel.core import get_global

    territory = (
        loc.territory or str(get_global("likely_subtags").get(loc.language, "")).split("_")[-1]
    )
    found = numbers.get_territory_currencies(territory, tender=True) if territory else []
    return numbers.get_currency_symbol(found[0], locale=loc) if found else ""


#: CLDR date fields and their strftime (d3) directives, longest first.
_FIELDS = (
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("y", "%Y"),
    ("MM", "%m"),
    ("M", "%-m"),
    ("dd", "%d"),
    ("d", "%-d"),
    ("HH", "%H"),
    ("H", "%-H"),
    ("hh", "%I"),
    ("h", "%-I"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("a", "%p"),
)


def _strftime(pattern: str) -> str:
    """A CLDR date pattern as a strftime one (the fields charts may use).

    >>> _strftime("dd.MM.y"), _strftime("M/d/yy"), _strftime("HH:mm:ss")
    ('%d.%m.%Y', '%-m/%-d/%y', '%H:%M:%S')
    """
    out, i = [], 0
    while i < len(pattern):
        for field, directive in _FIELDS:
            if pattern.startswith(field, i):
                out.append(directive)
                i += len(field)
                break
        else:
            if pattern[i] == "'":  # quoted literal text
                end = pattern.find("'", i + 1)
                end = len(pattern) if end < 0 else end
                out.append(pattern[i + 1 : end].replace("%", "%%") or "'")
                i = end + 1
            else:
                out.append("%%" if pattern[i] == "%" else pattern[i])
                i += 1
    return "".join(out)
