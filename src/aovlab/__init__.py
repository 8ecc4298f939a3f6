"""aovlab: average order value analytics for e-commerce.

>>> import aovlab
>>> shop = aovlab.sample.load()
>>> round(aovlab.metrics.aov(400_000, 4_234), 2)
94.47
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from aovlab import io, metrics, periods
from aovlab.errors import AovlabInputError, Note
from aovlab.io import load
from aovlab.locales import locale, set_locale
from aovlab.model import ShopData

# Imported on first use: Altair and the notebook machinery take seconds to import, and
# the analyses and the sample generator (numpy) a tenth of one, which the command line
# and plain data work should not pay.
_LAZY = (
    "charts",
    "widgets",
    "report",
    "cli",
    "drivers",
    "dimensions",
    "sample",
    "segments",
    "customers",
    "intervals",
    "pricing",
    "bundles",
    "loyalty",
    "results",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        if name in ("charts", "widgets", "report"):  # altair, nbformat: jsonschema
            from aovlab.startup import light_jsonschema

            light_jsonschema()
        return importlib.import_module(f"aovlab.{name}")
    raise AttributeError(f"module 'aovlab' has no attribute {name!r}")


__all__ = [
    "AovlabInputError",
    "Note",
    "ShopData",
    "bundles",
    "charts",
    "dimensions",
    "drivers",
    "io",
    "load",
    "locale",
    "loyalty",
    "metrics",
    "periods",
    "pricing",
    "report",
    "results",
    "sample",
    "segments",
    "set_locale",
    "widgets",
]
