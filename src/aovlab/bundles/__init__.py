"""Bundles: what sells together, and whether a bundle at a price pays.

The seeds' advice on bundles comes with a warning: a small discount, items balanced by
margin, and no discount that eats the margin. Each function answers one question on the
shop's own orders and returns a :class:`~aovlab.results.Result`; only aggregates leave
the engine:

- :func:`pairs`: which items are bought together more often than chance (support,
  confidence both ways, lift, Fisher's test with the false-discovery rate controlled);
- :func:`bundle_margin`: what a bundle at a price or discount does to margin, AOV and
  UPT, with the discount given away to orders that already hold every item and the
  break-even take rate; :func:`margins` the same for many bundles in one pass;
- :func:`suggest`: the pairs bought together, priced as bundles and ranked by the
  margin they would add;
- :func:`baskets`: each counted order's distinct items (SKUs or categories), lazily.
"""

from __future__ import annotations

from aovlab.bundles.baskets import LEVELS, baskets
from aovlab.bundles.margin import BundleMargin, bundle_margin, margins
from aovlab.bundles.pairs import Pairs, pairs
from aovlab.bundles.suggest import Suggestions, suggest

__all__ = [
    "LEVELS",
    "BundleMargin",
    "Pairs",
    "Suggestions",
    "baskets",
    "bundle_margin",
    "margins",
    "pairs",
    "suggest",
]
