"""Bundles: what sells together, and whether a bundle at a price pays.

- :func:`baskets`: each counted order's distinct items (SKUs or categories), lazily.
"""

from __future__ import annotations

from aovlab.bundles.baskets import LEVELS, baskets

__all__ = ["LEVELS", "baskets"]
