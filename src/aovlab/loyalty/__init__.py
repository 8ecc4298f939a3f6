"""Loyalty: what the programme really changed, retention, customer lifetime value, and whether it pays."""

from __future__ import annotations

from aovlab.loyalty.base import membership

__all__ = ["membership"]
