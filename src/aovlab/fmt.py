"""Number formatting for headlines and tables (one place, one style)."""

from __future__ import annotations

import math
from typing import Any

_PREFIX = {"EUR": "€", "GBP": "£", "USD": "$"}
_SUFFIX = {"SEK": " kr", "NOK": " kr", "DKK": " kr"}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def money(
    value: Any, currency: str | None, *, digits: int = 2, short: bool = False, signed: bool = False
) -> str:
    """Format an amount with its currency's symbol (``signed``: a ``+`` on gains too).

    Examples
    --------
    >>> money(94.4733, "EUR"), money(-4.1, "EUR"), money(1234.5, "SEK"), money(12.0, "CHF")
    ('€94.47', '−€4.10', '1,234.50 kr', '12.00 CHF')
    >>> money(-6.4e-15, "EUR"), money(8.29, "EUR", signed=True)
    ('€0.00', '+€8.29')
    >>> money(3_512_345.0, "GBP", short=True)
    '£3.51m'
    """
    if _missing(value):
        return "n/a"
    number = float(value)
    if round(number, digits) == 0:
        number = 0.0  # no "−€0.00" for a float that is zero but for its last bits
    sign = "−" if number < 0 else "+" if signed and number > 0 else ""
    number = abs(number)
    if short and number >= 1_000_000:
        body = f"{number / 1_000_000:,.2f}m"
    elif short and number >= 10_000:
        body = f"{number / 1_000:,.1f}k"
    else:
        body = f"{number:,.{digits}f}"
    code = (currency or "").upper()
    if code in _PREFIX:
        return f"{sign}{_PREFIX[code]}{body}"
    if code in _SUFFIX:
        return f"{sign}{body}{_SUFFIX[code]}"
    return f"{sign}{body} {code}".rstrip()


def pct(value: Any, *, digits: int = 1, signed: bool = False) -> str:
    """Format a share (0.025) as a percentage ("2.5 %").

    >>> pct(0.025), pct(-0.032, signed=True), pct(None)
    ('2.5 %', '−3.2 %', 'n/a')
    """
    if _missing(value):
        return "n/a"
    number = float(value) * 100
    if round(number, digits) == 0:
        number = 0.0
    sign = (
        ("+" if number > 0 else "−" if number < 0 else "")
        if signed
        else ("−" if number < 0 else "")
    )
    return f"{sign}{abs(number):,.{digits}f} %"


def count(value: Any) -> str:
    """Format a count with thousands separators.

    >>> count(4234)
    '4,234'
    """
    if _missing(value):
        return "n/a"
    return f"{int(value):,}"


def number(value: Any, digits: int = 2) -> str:
    """Format a plain number.

    >>> number(2.456)
    '2.46'
    """
    if _missing(value):
        return "n/a"
    return f"{float(value):,.{digits}f}"
