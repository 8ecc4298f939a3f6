"""Where the notebooks and the sample shop live, found the same way everywhere.

An installed wheel carries them as package data (``aovlab/notebooks``,
``aovlab/data/sample``: see ``[tool.hatch.build.targets.wheel.force-include]`` in
pyproject.toml); a source checkout installed in development mode has them at the top of
the checkout. Callers can always pass their own folder instead (``aovlab report
--notebooks``, ``aovlab.sample.load(folder=...)``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _find(*parts: str) -> Path:
    packaged = Path(str(resources.files("aovlab").joinpath(*parts)))
    if packaged.is_dir():
        return packaged
    # A development install imports aovlab from src/: the checkout is two levels up.
    checkout = Path(__file__).resolve().parents[2].joinpath(*parts)
    return checkout if checkout.is_dir() else packaged


def notebooks() -> Path:
    """The folder of the analysis notebooks the report runs."""
    return _find("notebooks")


def sample_data() -> Path:
    """The folder of the bundled sample shop's files."""
    return _find("data", "sample")
