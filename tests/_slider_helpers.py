"""Moving an explorer's grid sliders as the page does: the page sends a slider position
(an integer), and the explorer applies the grid value that position stands for."""

from __future__ import annotations


def page_move(explorer, key: str, value: float) -> float:
    """Move ``explorer.controls[key]`` to the position nearest ``value``, as a user's drag
    would; returns the grid value that position stands for (what the explorer applies)."""
    grid = explorer.sliders[key]
    position = grid.position(value)
    explorer.controls[key].value = position
    return grid.value_at(position)


def shown(explorer, key: str) -> float:
    """The grid value the slider ``key`` stands at (its readout shows the exact value)."""
    return explorer.sliders[key].value_at(explorer.controls[key].value)
