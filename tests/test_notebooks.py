"""Notebooks run headless both ways; nbval (make test) checks their key numbers."""

import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from aovlab.report import NOTEBOOKS_DIR

pytestmark = pytest.mark.slow
BOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_there_are_notebooks():
    assert BOOKS


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.stem)
def test_notebook_conventions(book: Path):
    nb = nbformat.read(book, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is nb.cells[1]
    params = pm.inspect_notebook(str(book))
    assert params["interactive"]["default"] == "True"
    # The parameters cell holds declarations only: one `name = value` per line.
    for line in tagged[0].source.splitlines():
        assert re.match(r"^[a-z_]+ = [^=]+?(\s+#.*)?$", line), line
    for cell in nb.cells:
        # The parameters cell is declarations only (checked above), however many.
        if cell.cell_type == "code" and cell is not tagged[0]:
            code = [
                line
                for line in cell.source.splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
            assert len(code) <= 10 and not any(
                line.lstrip().startswith(("def ", "class ")) for line in code
            )


def _has(output, *mimetypes: str) -> bool:
    return all(m in output.get("data", {}) for m in mimetypes)


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.stem)
def test_runs_interactively_under_papermill(book: Path, tmp_path):
    """interactive=True builds the ipywidgets controls; papermill must still save the notebook.

    Every chart is a widget with its SVG beside it (what GitHub shows), and the ~900 KB
    vega bundle the widgets draw with is saved once, not once per chart.
    """
    out = tmp_path / book.name
    pm.execute_notebook(
        str(book),
        str(out),
        parameters={"interactive": True},
        kernel_name="python3",
        cwd=str(book.parent),
        progress_bar=False,
        # Bounded: without a cell timeout, papermill sometimes waited for ever on an idle
        # kernel with chart widgets (nbclient polls the shell channel with no timeout).
        execution_timeout=120,
    )
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any(_has(o, "application/vnd.jupyter.widget-view+json") for o in outputs)
    charts = [o for o in outputs if _has(o, "image/svg+xml")]
    assert charts and all(_has(o, "application/vnd.jupyter.widget-view+json") for o in charts)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bundles = [
        m
        for m in state.values()
        if max(len(str(m["state"].get(k, ""))) for k in ("_esm", "bundle")) > 100_000
    ]
    assert len(bundles) == 1
    assert out.stat().st_size < 2_000_000


def test_drivers_explorer_baseline_shows_the_period_before(shop, monkeypatch):
    """The baseline control starts on a string option (a None value may show empty)."""
    import ipywidgets

    from aovlab import widgets

    made = []
    monkeypatch.setattr(ipywidgets, "interact", lambda f, **controls: made.append(controls))
    widgets.drivers_explorer(shop, True, current="2026-08")
    label, value = made[0]["baseline"][0]
    assert (label, value) == ("the period before", widgets.BEFORE) and value is not None
    seen = []
    monkeypatch.setattr(widgets, "show", lambda *items: seen.extend(items))
    widgets.drivers_explorer(shop, False, current="2026-08")
    assert seen[0].to_dict()["baseline"]["period"] == "2026-07"


def static_text(name: str, tmp_path: Path, **parameters) -> str:
    """Run a notebook with ``interactive=False`` and the parameters; its outputs' plain text."""
    book = NOTEBOOKS_DIR / name
    out = tmp_path / book.name
    pm.execute_notebook(
        str(book),
        str(out),
        parameters={**parameters, "interactive": False},
        kernel_name="python3",
        cwd=str(book.parent),
        progress_bar=False,
        execution_timeout=120,
    )
    nb = nbformat.read(out, as_version=4)
    return "\n".join(
        o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )


def test_price_notebook_on_an_order_level_export(tmp_path):
    """A client export without order lines or test arms: the parts that need them say why.

    The report must not lose the notebook: the elasticity and the what-if need lines, the
    price test an arm column; the thresholds work on order values alone.
    """
    import polars as pl

    orders = tmp_path / "orders.csv"
    pl.read_csv(NOTEBOOKS_DIR.parent / "data" / "sample" / "orders.csv").drop("ab_arm").write_csv(
        orders
    )
    text = static_text(
        "03_price_sensitivity.ipynb",
        tmp_path,
        orders=str(orders),
        lines=None,
        catalog=None,
        traffic=None,
    )
    for part in ("Price elasticity", "Best-seller what-if", "Price test"):
        assert f"{part}: not available." in text
    assert "Free-shipping thresholds: not available" not in text
    assert "Threshold(" in text and "TopUpEvidence(" in text


def test_loyalty_notebook_without_a_customers_file(tmp_path):
    """A client with no loyalty data: the member parts say why; retention and CLV still run.

    The report runs every notebook on every client, and a Shopify export has no customers
    file: the notebook must not fail.
    """
    text = static_text("05_loyalty_impact.ipynb", tmp_path, customers=None)
    for part in (
        "Members and non-members",
        "The programme's effect",
        "Where the gap comes from",
        "Whether the programme pays",
    ):
        assert f"{part}: not available." in text
    assert "needs a customers table" in text
    assert "Retention(" in text and "Clv(" in text
