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
        if cell.cell_type == "code":
            code = [
                line
                for line in cell.source.splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
            assert len(code) <= 10 and not any(
                line.lstrip().startswith(("def ", "class ")) for line in code
            )


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.stem)
def test_runs_interactively_under_papermill(book: Path, tmp_path):
    """interactive=True builds the ipywidgets controls; papermill must still save the notebook."""
    out = tmp_path / book.name
    pm.execute_notebook(
        str(book),
        str(out),
        parameters={"interactive": True},
        kernel_name="python3",
        cwd=str(book.parent),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    assert any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
