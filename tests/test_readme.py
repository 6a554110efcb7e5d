"""The README's promises: two set-up commands, the same test command as CI, live links,
and a usage example that runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"
BINDER_URL = (
    "https://mybinder.org/v2/gh/spectrakit/spectrakit/main"
    "?urlpath=lab/tree/notebooks/00_start_here.ipynb"
)
TORCH_FIRST = "pip install torch==2.13.0"

_FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)


def _blocks(lang: set[str]) -> list[str]:
    return [body for info, body in _FENCE.findall(README.read_text()) if info in lang]


def _shell_blocks() -> list[str]:
    return _blocks({"bash", "sh", "shell", "console"})


def test_readme_has_exactly_two_setup_commands():
    blocks = _shell_blocks()
    assert len(blocks) == 2, f"README.md must have exactly two bash blocks, found {len(blocks)}"
    for body in blocks:
        lines = [ln for ln in body.splitlines() if ln.strip()]
        assert len(lines) == 1, f"each set-up block is one command line:\n{body}"
        assert lines[0].startswith(TORCH_FIRST + " && "), (
            f"set-up must install torch first ({TORCH_FIRST!r}), else pip pulls a CUDA build:\n"
            f"{lines[0]}"
        )
    assert "notebooks/00_start_here.ipynb" in blocks[0]


def test_try_it_serves_the_repository_root():
    """`jupyter lab notebooks/X.ipynb` alone makes notebooks/ the server's root, and the
    gallery in widgets/ answers 404; the root must be the repository, the notebook path
    relative to it (the browser test follows start-here's link into the gallery)."""
    command = _shell_blocks()[0]
    assert "--ServerApp.root_dir=. notebooks/00_start_here.ipynb" in command, command
    assert (ROOT / "notebooks" / "00_start_here.ipynb").is_file() and (ROOT / "widgets").is_dir()


def test_ci_runs_the_readmes_test_command_verbatim():
    test_command = _shell_blocks()[1].strip().removeprefix(TORCH_FIRST + " && ")
    assert "pytest" in test_command
    script = CI.read_text()
    assert test_command in script, (
        f".ci/run must run the README's test command verbatim:\n{test_command}"
    )
    # torch (the CPU build) before anything else is installed.
    installs = [ln.strip() for ln in script.splitlines() if re.match(r"\s*pip install", ln)]
    assert installs and installs[0] == TORCH_FIRST, installs


def test_ci_script_is_strict_and_executable():
    assert os.access(CI, os.X_OK), ".ci/run must be executable"
    text = CI.read_text()
    assert "set -euo pipefail" in text
    assert re.search(r'"\$rc"\s*-eq\s*5', text), "pytest's exit 5 (no tests) must fail CI"
    assert "apt-get install -y chromium fonts-dejavu-core" in text
    proc = subprocess.run(["bash", "-n", str(CI)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_readme_binder_badge_and_picture():
    text = README.read_text()
    assert f"]({BINDER_URL})" in text, "README.md needs the Binder badge opening 00_start_here"
    assert "](docs/explorer.png)" in text


def test_readme_relative_links_exist():
    text = README.read_text()
    targets = {t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text)}
    local = sorted(t for t in targets if t and not re.match(r"^[a-z]+:", t))
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_readme_python_example_runs():
    blocks = _blocks({"python"})
    assert blocks, "README.md needs a usage example"
    code = "\n\n".join(blocks)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"README example failed:\n{code}\n---\n{proc.stderr}"


@pytest.mark.parametrize("text", ["reg", "alpha", "λ²", "s / (s + reg)", "σ²"])
def test_readme_states_the_conventions(text):
    assert text in README.read_text()
