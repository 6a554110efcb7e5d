"""Real-browser test of the start-here notebook: JupyterLab, headless Chromium, Playwright.

Runs the notebook in JupyterLab, presses the reg slider's keyboard handle one step at a
time while timing key-to-redraw of the solution figure, checks that the rendered figure
data changed and that the page's slider model and the kernel's ``explorer.reg`` agree,
and saves a screenshot. Artifacts go to tests/browser/artifacts/ (git-ignored).

``test_standin_harness`` runs the same check on fixtures/standin.ipynb (plain ipywidgets
+ plotly mimicking the notebook's contract): a quick self-check of the harness.

Run: ``python -m pytest tests/browser -q -s`` (``-k standin`` for the self-check only).
Set SPECTRAKIT_UPDATE_SCREENSHOT=1 to also copy the screenshot to docs/explorer.png.
"""

from __future__ import annotations

import pytest

from _lab import REPO, STANDIN_REL, check_explorer_notebook

pytestmark = pytest.mark.browser

START_HERE = "00_start_here.ipynb"


def _report(result) -> None:
    assert len(result.latencies_ms) >= 10
    print(f"[browser] solution trace {result.solution_trace} changed "
          f"(max |dy| {result.max_abs_change:.3g}); page reg {result.page_reg:.6g} == "
          f"kernel reg {result.kernel_reg:.6g}")


def test_standin_harness(lab, browser):
    """Harness self-check on the stand-in notebook (no spectrakit needed)."""
    result = check_explorer_notebook(
        lab, browser, STANDIN_REL,
        screenshot_name="standin.png", latency_name="standin_latency.json",
    )
    _report(result)


def test_start_here_in_jupyterlab(request):
    """The real notebooks/00_start_here.ipynb with spectrakit's RegularizationExplorer."""
    nb = REPO / "notebooks" / START_HERE
    if not nb.is_file():
        pytest.fail(
            f"{nb.relative_to(REPO)} does not exist yet. This test runs the real start-here "
            "notebook (it must display a FloatSlider over log10(reg) with class "
            "'sk-reg-slider', a FigureWidget with class 'sk-fig-solution' and define "
            "`explorer` with .reg and .flush()); the harness itself is checked by "
            "test_standin_harness.",
            pytrace=False,
        )
    lab = request.getfixturevalue("lab")
    browser = request.getfixturevalue("browser")
    result = check_explorer_notebook(
        lab, browser, START_HERE,
        screenshot_name="start_here.png", latency_name="latency.json",
        readme_screenshot=REPO / "docs" / "explorer.png",
    )
    _report(result)
