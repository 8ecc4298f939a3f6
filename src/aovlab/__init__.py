"""aovlab: average order value analytics for e-commerce.

>>> import aovlab
>>> shop = aovlab.sample.load()
>>> round(aovlab.metrics.aov(400_000, 4_234), 2)
94.47
"""

__version__ = "0.1.0"

from aovlab import io, metrics, periods, report, sample, widgets
from aovlab.errors import AovlabInputError, Note
from aovlab.io import load
from aovlab.model import ShopData

__all__ = [
    "AovlabInputError",
    "Note",
    "ShopData",
    "io",
    "load",
    "metrics",
    "periods",
    "report",
    "sample",
    "widgets",
]
