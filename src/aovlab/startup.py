"""Start-up time: one dependency that costs a notebook kernel more than everything else.

jsonschema (which altair validates charts with, and nbformat notebooks) imports
``rfc3987_syntax`` when it is installed, for its "iri" formats; that package builds an
Earley parser for each of its grammar rules on import: 1.3 s of every kernel's start
here, more than altair and aovlab together (python-jsonschema/jsonschema#1428, not
changed upstream). jupyter's own packages install it. :func:`light_jsonschema` imports
jsonschema without it, so that a report of six notebooks, or of twenty clients, does
not pay it in every kernel.
"""

from __future__ import annotations

import sys


def light_jsonschema() -> None:
    """Import jsonschema without ``rfc3987_syntax`` (no effect if either is imported).

    jsonschema's format checker then has no "iri" and "iri-reference" formats, which
    neither the Vega-Lite schema nor nbformat's use. Code that imports
    ``rfc3987_syntax`` itself later gets it as usual.

    Examples
    --------
    >>> import subprocess, sys
    >>> code = (
    ...     "import sys, aovlab.startup; aovlab.startup.light_jsonschema(); "
    ...     "import jsonschema; print('rfc3987_syntax' in sys.modules)"
    ... )
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    'False'
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        import jsonschema  # noqa: F401
    finally:
        del sys.modules["rfc3987_syntax"]
