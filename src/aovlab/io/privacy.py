"""Personal data stops at the reader: customers become stable pseudonymous ids."""

from __future__ import annotations

import hashlib

import polars as pl

DEFAULT_SALT = "aovlab"


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
    key = salt.encode("utf-8")
    mapping = {
        v: "c-" + hashlib.blake2b(v.encode("utf-8"), digest_size=8, key=key[:64]).hexdigest()
        for v in unique
    }
    return clean.replace_strict(mapping, default=None, return_dtype=pl.String)
