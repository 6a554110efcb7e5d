"""Fixtures for the real-browser tests (JupyterLab + Playwright + Chromium).

One JupyterLab server and one headless Chromium per test module; every test opens its own
browser context and shuts its kernel down. Without Playwright, JupyterLab or Chromium the
tests skip, or fail when the environment variable CI is set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/browser is not a package: make its helper module importable as `_lab` whatever
# pytest's import mode (prepend already does this; importlib does not).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _lab import CHROMIUM, CHROMIUM_ARGS, LabServer, require_browser_stack  # noqa: E402


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A private JupyterLab serving a throw-away copy of notebooks/ and widgets/."""
    require_browser_stack()
    server = LabServer(base=tmp_path_factory.mktemp("jupyterlab"))
    try:
        server.start()
        print(f"\n[browser] JupyterLab up on {server.url} in {server.startup_s:.2f} s "
              f"(root {server.root})")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright (never `playwright install`)."""
    require_browser_stack()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
