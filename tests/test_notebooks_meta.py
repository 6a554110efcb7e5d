"""Notebooks are committed clean: no outputs, no widget state, a python3 kernelspec, and a
last cell of asserts (nbval only compares stored outputs, so the asserts are the check)."""

from __future__ import annotations

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
