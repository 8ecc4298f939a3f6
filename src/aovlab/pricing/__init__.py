"""Price sensitivity: elasticity, best-seller what-if, price A/B tests, shipping thresholds.

The seeds' levers on price, each answered on the client's own data with honest
uncertainty:

- :func:`elasticity`: how units respond to price, from the client's own price changes
  (log-log with SKU and period fixed effects, errors clustered by SKU);
- :func:`whatif`: what raising (or cutting) the best-sellers' prices by a few per cent
  does to units, revenue, margin and AOV;
- :func:`abtest`: the read-out of a price test: AOV, conversion and revenue per visitor
  per arm with intervals, the sample-ratio check and the sample size a test needs;
- :func:`threshold`: where a free-shipping (or spend-threshold discount) threshold pays,
  with the top-up share observed in the client's own history.

Each is a pure function of a :class:`~aovlab.model.ShopData` and parameters returning a
:class:`~aovlab.results.Result`; only aggregates leave the engine.
"""

from __future__ import annotations

from aovlab.pricing.abtest import AbTest, abtest, variant_columns
from aovlab.pricing.elasticity import Elasticity, WhatIf, elasticity, whatif
from aovlab.pricing.threshold import (
    SpendOffer,
    Threshold,
    TopUpEvidence,
    spend_offer,
    threshold,
    top_up_evidence,
)

__all__ = [
    "AbTest",
    "Elasticity",
    "SpendOffer",
    "Threshold",
    "TopUpEvidence",
    "WhatIf",
    "abtest",
    "elasticity",
    "spend_offer",
    "threshold",
    "top_up_evidence",
    "variant_columns",
    "whatif",
]
