"""Static checks of binder/: Binder itself cannot run here, so check what it would read.

repo2docker reads only binder/ when it exists: runtime.txt picks Python,
requirements.txt installs the (pinned) runtime dependencies, and postBuild installs
spectrakit itself without dependencies.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# Never on Binder, whatever pyproject's test extra says today.
TEST_TOOLS = {
    "pytest",
    "pytest-xdist",
    "pytest-cov",
    "pytest-timeout",
    "nbval",
    "hypothesis",
    "playwright",
    "pytest-playwright",
    "scikit-learn",
    "import-linter",
    "pot",
    "xrft",
    "pygsp",
    "coverage",
    "mypy",
    "ruff",
}
# In binder/requirements.txt without being a runtime dependency: the interface itself.
BINDER_ONLY = {"jupyterlab"}


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _expand(reqs: list[str], project: dict, seen: set[str] | None = None) -> list[Requirement]:
    """Requirements with self-references (``spectrakit[widgets]``) expanded."""
    name = canonicalize_name(project["name"])
    extras = project.get("optional-dependencies", {})
    seen = set() if seen is None else seen
    out = []
    for line in reqs:
        req = Requirement(line)
        if canonicalize_name(req.name) == name:
            for extra in sorted(req.extras - seen):
                seen.add(extra)
                out += _expand(extras[extra], project, seen)
        else:
            out.append(req)
    return out


def _runtime_requirements(pyproject: dict) -> list[Requirement]:
    project = pyproject["project"]
    extras = project["optional-dependencies"]
    # what the notebooks need: the core, the widgets and the packaged real data
    reqs = list(project["dependencies"]) + list(extras["widgets"]) + list(extras["data"])
    return _expand(reqs, project)


def _test_requirements(pyproject: dict) -> list[Requirement]:
    project = pyproject["project"]
    return _expand(list(project["optional-dependencies"]["test"]), project)


def _lines(path: Path) -> list[str]:
    """Non-empty lines without comments (pip's comment rule: '#' at start or after space)."""
    out = []
    for raw in path.read_text().splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line:
            out.append(line)
    return out


@pytest.fixture(scope="module")
def requirements() -> dict:
    """binder/requirements.txt parsed: {"options": [...], "pins": {name: Requirement}}."""
    options, pins = [], {}
    for line in _lines(BINDER / "requirements.txt"):
        if line.startswith("-"):
            options.append(line)
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as e:  # a path, URL or other local reference
            pytest.fail(f"binder/requirements.txt: {line!r} is not a plain requirement: {e}")
        name = canonicalize_name(req.name)
        assert name not in pins, f"binder/requirements.txt lists {req.name} twice"
        pins[name] = req
    return {"options": options, "pins": pins}


def _pinned_version(req: Requirement) -> Version:
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version, (
        f"binder/requirements.txt: {req} must be pinned exactly (name==version), "
        "so that Binder builds the same environment every time"
    )
    return Version(specs[0].version)


def test_runtime_is_python_311(pyproject):
    text = (BINDER / "runtime.txt").read_text().strip()
    assert text == "python-3.11", f"binder/runtime.txt says {text!r}, expected 'python-3.11'"
    requires = SpecifierSet(pyproject["project"]["requires-python"])
    assert requires.contains("3.11"), f"Python 3.11 does not satisfy requires-python {requires}"


def test_torch_is_a_cpu_build_from_the_cpu_index(requirements):
    assert f"--extra-index-url {CPU_INDEX}" in requirements["options"], (
        f"binder/requirements.txt needs the line '--extra-index-url {CPU_INDEX}' "
        "so that torch comes as a CPU wheel, not GBs of CUDA wheels"
    )
    assert "torch" in requirements["pins"], "binder/requirements.txt must pin torch"
    version = _pinned_version(requirements["pins"]["torch"])
    assert version.local == "cpu", f"torch is pinned to {version}; pin a '+cpu' build"


def test_no_other_pip_options(requirements):
    # An index *replacement*, -e, -r or -c would make the layer depend on local files or
    # move every package off PyPI; only the extra CPU index is expected.
    assert requirements["options"] == [f"--extra-index-url {CPU_INDEX}"]


def test_every_runtime_dependency_is_pinned_and_satisfies_pyproject(pyproject, requirements):
    runtime = _runtime_requirements(pyproject)
    assert runtime, "pyproject.toml lists no runtime dependencies?"
    problems = []
    for req in runtime:
        name = canonicalize_name(req.name)
        pin = requirements["pins"].get(name)
        if pin is None:
            problems.append(f"{req.name}: missing (pyproject requires {req})")
            continue
        version = _pinned_version(pin)
        if not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}: pinned {version}, pyproject requires {req.specifier}")
    assert not problems, "binder/requirements.txt:\n" + "\n".join(problems)


def test_nothing_but_runtime_dependencies(pyproject, requirements):
    runtime = {canonicalize_name(r.name) for r in _runtime_requirements(pyproject)}
    test_only = {canonicalize_name(r.name) for r in _test_requirements(pyproject)} - runtime
    forbidden = ({canonicalize_name(t) for t in TEST_TOOLS} | test_only) - BINDER_ONLY
    listed = set(requirements["pins"])
    assert not listed & forbidden, f"test tools on Binder: {sorted(listed & forbidden)}"
    unknown = listed - runtime - BINDER_ONLY
    assert not unknown, f"not runtime dependencies of pyproject.toml: {sorted(unknown)}"
    for name in BINDER_ONLY & listed:
        _pinned_version(requirements["pins"][name])


def test_no_local_references():
    for line in _lines(BINDER / "requirements.txt"):
        assert not re.match(r"^(-e|--editable|-r|--requirement|-c|--constraint)\b", line), line
        assert not re.search(r"(^\.|^/|file:|@\s*(\.|/|file:))", line), (
            f"binder/requirements.txt: {line!r} refers to a local path; postBuild installs "
            "the project, so this layer stays cached"
        )
        assert "spectrakit" not in line.lower(), line


def test_postbuild_installs_the_project_without_dependencies():
    path = BINDER / "postBuild"
    mode = path.stat().st_mode
    assert mode & stat.S_IXUSR and os.access(path, os.X_OK), "binder/postBuild must be executable"
    text = path.read_text()
    assert text.startswith("#!/bin/bash\n"), "binder/postBuild must start with #!/bin/bash"
    lines = _lines(path)
    assert "set -euo pipefail" in lines, "binder/postBuild needs 'set -euo pipefail'"
    installs = [ln.split() for ln in lines if re.search(r"\bpip\b.*\binstall\b", ln)]
    assert installs, "binder/postBuild must pip install the project"
    for words in installs:
        assert "--no-deps" in words, (
            f"binder/postBuild: {' '.join(words)!r} must use --no-deps "
            "(dependencies come pinned from requirements.txt)"
        )
    assert any(
        "-e" in w and w[w.index("-e") + 1 : w.index("-e") + 2] == ["."] for w in installs
    ), "binder/postBuild must install the project itself: pip install --no-deps -e ."
    assert lines.index("set -euo pipefail") < min(
        i for i, ln in enumerate(lines) if re.search(r"\bpip\b", ln)
    ), "'set -euo pipefail' must come before the install"
