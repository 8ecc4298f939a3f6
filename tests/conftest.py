from __future__ import annotations

from pathlib import Path

import pytest

import aovlab

ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = ROOT.parent / "shared" / "real"


@pytest.fixture(scope="session")
def shop():
    """The bundled sample shop, polars backend."""
    return aovlab.sample.load()


@pytest.fixture(scope="session")
def shop_pd():
    """The bundled sample shop, pandas backend."""
    return aovlab.sample.load("pandas")


@pytest.fixture(scope="session")
def real_retail() -> Path:
    path = SHARED_REAL / "online_retail_uci.csv.gz"
    if not path.exists():
        pytest.skip("../shared/real is absent")
    return path
