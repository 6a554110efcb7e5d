"""Notebooks are committed clean: no outputs, no widget state, a python3 kernelspec, and a
last cell of asserts (nbval only compares stored outputs, so the asserts are the check)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "widgets").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "widgets" not in nb.metadata, "widget state stored: execute with store_widget_state=False"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"cell {i} has stored outputs"
    last = nb.cells[-1]
    assert last.cell_type == "code" and "assert" in last.source, "the last cell must assert what was taught"
    assert path.stat().st_size < 100_000, "a clean notebook is small; widget state or outputs were saved?"


def test_there_are_notebooks():
    assert any(p.name == "00_start_here.ipynb" for p in NOTEBOOKS)


# an import of a private layer, in any form: import spectrakit.core..., from spectrakit.testing import ...,
# from spectrakit import core, import spectrakit.core.graphs as G
_PRIVATE_IMPORT = re.compile(
    r"^\s*(?:from\s+spectrakit\.(?:core|testing)\b|import\s+spectrakit\.(?:core|testing)\b"
    r"|from\s+spectrakit\s+import\s+(?:\([^)]*\b(?:core|testing)\b|[^\n#]*\b(?:core|testing)\b))",
    re.MULTILINE,
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_teaches_the_public_api(path):
    # tutorials and the gallery use the labelled layer, the sessions and the explorers: not core's
    # tensors-in, tensors-out functions, and not the tests' helpers
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            found = _PRIVATE_IMPORT.findall(cell.source)
            assert not found, f"cell {i} imports a non-public module: {found}"
        else:  # nor does the text send a student there
            found = re.findall(r"spectrakit\.(?:core|testing)\b[\w.]*", cell.source)
            assert not found, f"markdown cell {i} points to a non-public module: {found}"


def test_the_public_api_check_catches_what_it_should():
    for source in ("from spectrakit.core.graphs import kmeans", "import spectrakit.core", "from spectrakit import core",
                   "from spectrakit.testing import refit_loo", "x = 1\n    from spectrakit.core.weights import (a,\n b)",
                   "from spectrakit import (datasets, testing)"):
        assert _PRIVATE_IMPORT.search(source), source
    for source in ("from spectrakit.xr import kmeans", "import spectrakit", "# spectrakit.core is private",
                   "from spectrakit.xr.dynamics import hessian_spectrum", "from spectrakit import datasets"):
        assert not _PRIVATE_IMPORT.search(source), source
