"""The dependency rule of DESIGN.md, checked three ways.

``widgets -> tuning -> xr -> core``: core, xr, tuning, datasets (and options) never import
ipywidgets, plotly, anywidget, traitlets or IPython, not even inside a function;
``import spectrakit`` does not import the widgets; nothing touches CUDA at import.

(a) a fresh interpreter imports every compute module and looks at ``sys.modules``;
(b) import-linter checks the contracts in pyproject.toml;
(c) a static scan of the source finds imports an import test cannot reach (inside
    functions, under ``if TYPE_CHECKING``, ``importlib.import_module("plotly")``).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "spectrakit"

PRESENTATION = ("ipywidgets", "plotly", "anywidget", "traitlets", "IPython")
COMPUTE_PACKAGES = ("spectrakit.core", "spectrakit.xr", "spectrakit.tuning", "spectrakit.datasets")
COMPUTE_MODULES = ("spectrakit.options",)

# Runs in a fresh interpreter (so nothing this pytest process imported counts). A meta
# path hook records which spectrakit module first pulled in each presentation library.
_PROBE = textwrap.dedent(
    """
    import json, importlib, os, pkgutil, sys, traceback

    PRESENTATION = set({presentation!r})
    PKG_DIR = os.path.realpath(sys.argv[1])
    COMPUTE_PACKAGES = {packages!r}
    COMPUTE_MODULES = {modules!r}
    culprits = {{}}

    class Spy:
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in PRESENTATION and top not in culprits:
                frames = [
                    f"{{f.filename}}:{{f.lineno}}"
                    for f in traceback.extract_stack()
                    if os.path.realpath(f.filename).startswith(PKG_DIR)
                ]
                culprits[top] = frames[-3:] or ["(not from a spectrakit file)"]
            return None  # let the real finders import it

    sys.meta_path.insert(0, Spy())

    def loaded(names):
        return sorted(m for m in sys.modules if m.partition(".")[0] in names)

    report = {{}}
    import spectrakit
    report["spectrakit_file"] = spectrakit.__file__
    report["after_import_spectrakit"] = {{
        "widgets": sorted(m for m in sys.modules if m.startswith("spectrakit.widgets")),
        "presentation": loaded(PRESENTATION),
    }}

    imported, missing, namespace, errors = [], [], [], {{}}
    for name in COMPUTE_PACKAGES + COMPUTE_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                missing.append(name)
                continue
            errors[name] = traceback.format_exc()
            continue
        except Exception:
            errors[name] = traceback.format_exc()
            continue
        imported.append(name)
        if getattr(mod, "__file__", None) is None:
            namespace.append(name)
        if hasattr(mod, "__path__"):
            def onerror(sub):
                errors[sub] = traceback.format_exc()
            for info in pkgutil.walk_packages(mod.__path__, name + ".", onerror=onerror):
                try:
                    importlib.import_module(info.name)
                    imported.append(info.name)
                except Exception:
                    errors[info.name] = traceback.format_exc()

    import torch
    report.update(
        imported=imported,
        missing=missing,
        namespace=namespace,
        errors=errors,
        presentation=loaded(PRESENTATION),
        culprits=culprits,
        widgets=sorted(m for m in sys.modules if m.startswith("spectrakit.widgets")),
        cuda_initialized=bool(torch.cuda.is_initialized()),
    )
    print("REPORT:" + json.dumps(report))
    """
).format(
    presentation=PRESENTATION,
    packages=COMPUTE_PACKAGES,
    modules=COMPUTE_MODULES,
)


def _run_probe(root: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(root / "spectrakit")],
        cwd=root,  # the checkout's spectrakit, installed or not
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT:")]
    assert proc.returncode == 0 and lines, (
        f"the import probe failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return json.loads(lines[-1][len("REPORT:") :])


@pytest.fixture(scope="module")
def probe() -> dict:
    return _run_probe(ROOT)


def test_probe_imports_this_checkout(probe):
    assert probe["spectrakit_file"], "spectrakit/__init__.py is missing"
    assert Path(probe["spectrakit_file"]).resolve().parent == PKG.resolve()


def test_every_compute_module_imports(probe):
    assert not probe["missing"], f"layer packages missing: {probe['missing']}"
    assert not probe["namespace"], f"no __init__.py in: {probe['namespace']}"
    assert not probe["errors"], "modules failed to import:\n" + "\n".join(
        f"--- {name}\n{tb}" for name, tb in probe["errors"].items()
    )


def test_import_spectrakit_does_not_import_widgets(probe):
    after = probe["after_import_spectrakit"]
    assert not after["widgets"], (
        f"`import spectrakit` imported {after['widgets']}; widgets are opt-in "
        "(`from spectrakit.widgets import ...`)"
    )
    assert not after["presentation"], (
        f"`import spectrakit` imported {after['presentation']} (first imported from "
        f"{probe['culprits']})"
    )


def test_compute_layers_import_no_presentation_library(probe):
    assert not probe["presentation"], (
        f"importing {len(probe['imported'])} compute modules loaded {probe['presentation']}; "
        f"first imported from: {json.dumps(probe['culprits'], indent=1)}"
    )
    assert not probe["widgets"], f"compute modules imported {probe['widgets']}"


def test_import_does_not_initialize_cuda(probe):
    assert probe["cuda_initialized"] is False, (
        "importing spectrakit initialized CUDA; only a computation may (device is chosen lazily)"
    )


def test_probe_catches_what_it_should(tmp_path):
    # The probe itself, on a throw-away package: a compute module that imports traitlets
    # is named as the culprit, and an `import spectrakit` that imports the widgets shows.
    pkg = tmp_path / "spectrakit"
    for sub in ("core", "xr", "tuning", "datasets", "widgets"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from . import widgets\n")
    (pkg / "options.py").write_text("")
    (pkg / "tuning" / "bad.py").write_text("def f():\n    pass\nimport traitlets\n")
    report = _run_probe(tmp_path)
    assert report["after_import_spectrakit"]["widgets"] == ["spectrakit.widgets"]
    assert "traitlets" in report["presentation"], report
    assert any("bad.py:3" in frame for frame in report["culprits"]["traitlets"]), report
    assert "spectrakit.tuning.bad" in report["imported"]
    assert not report["namespace"] and not report["errors"], report


# --------------------------------------------------------------------------- (b)

_LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def test_import_linter_contracts_hold():
    # import-linter 2.x has no `python -m` entry point: call its `lint-imports` command
    # in this interpreter (so it sees the same environment as the tests).
    proc = subprocess.run(
        [sys.executable, "-c", _LINT_IMPORTS, "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"lint-imports failed:\n{proc.stdout}\n{proc.stderr}"


# --------------------------------------------------------------------------- (c)

_FORBIDDEN = PRESENTATION + ("spectrakit.widgets",)
_DYNAMIC = re.compile(
    r"""(import_module|__import__)\s*\(\s*['"]([\w.]+)['"]"""
)


def _compute_sources() -> list[Path]:
    files = []
    for dotted in COMPUTE_PACKAGES + COMPUTE_MODULES:
        path = ROOT.joinpath(*dotted.split("."))
        if path.is_dir():
            files += sorted(path.rglob("*.py"))
        elif path.with_suffix(".py").is_file():
            files.append(path.with_suffix(".py"))
    return files


def _is_forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in _FORBIDDEN)


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _violations(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    module = _module_name(path)
    rel = path.relative_to(ROOT)
    out = []
    tree = ast.parse(source, filename=str(path))
    for node in ast.walk(tree):  # every depth: functions, classes, if TYPE_CHECKING, try
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module, path.name == "__init__.py")
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        bad = sorted({n for n in names if _is_forbidden(n)})
        if bad:
            out.append(f"{rel}:{node.lineno}: imports {', '.join(bad)}")
    for lineno, line in enumerate(source.splitlines(), 1):  # imports by name, as strings
        for match in _DYNAMIC.finditer(line):
            if _is_forbidden(match.group(2)):
                out.append(f"{rel}:{lineno}: imports {match.group(2)} dynamically")
    return out


def test_static_scan_finds_sources():
    files = _compute_sources()
    assert PKG.joinpath("options.py") in files
    assert len(files) > 1, f"only {files} found under the compute layers"


def test_no_presentation_import_anywhere_in_compute_source():
    found = [v for path in _compute_sources() for v in _violations(path)]
    assert not found, (
        "core, xr, tuning, datasets and options must not import presentation libraries or "
        "spectrakit.widgets, not even inside a function (DESIGN.md):\n" + "\n".join(found)
    )


def test_static_scan_catches_what_it_should(tmp_path, monkeypatch):
    # The scanner itself: a nested import, a relative import of the widgets layer and a
    # dynamic import are all caught; a harmless import is not.
    pkg = tmp_path / "spectrakit" / "tuning"
    pkg.mkdir(parents=True)
    bad = pkg / "bad.py"
    bad.write_text(
        "import numpy\n"
        "def f():\n"
        "    from plotly import graph_objects as go\n"
        "    from ..widgets import filtering\n"
        "    import importlib; importlib.import_module('ipywidgets')\n"
        "if False:\n"
        "    import IPython.display\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = _violations(bad)
    assert sorted(int(v.split(":")[1]) for v in found) == [3, 4, 5, 7], found


def test_xr_capabilities_export_distinct_names():
    # spectrakit.xr star-imports each capability: a repeated name would silently shadow one
    import spectrakit.xr as sx

    assert len(set(sx.__all__)) == len(sx.__all__)
    for name in sx.__all__:
        assert getattr(sx, name).__module__.startswith("spectrakit.xr."), name


# --------------------------------------------------------------------------- (d)


def _package_of(module: str) -> str:
    """``spectrakit.<package>`` of a dotted module name (the module itself at the top)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _private_crossings(path: Path) -> list[str]:
    """Private names (``_x``, not dunders) of another spectrakit package this file uses:
    ``from spectrakit.<other>.m import _x`` or ``m._x`` on a module imported from there."""
    module = _module_name(path)
    mine = _package_of(module)
    rel = path.relative_to(ROOT)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    foreign: dict[str, str] = {}  # local alias -> module of another package
    out = []

    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _resolve(node, module, path.name == "__init__.py")
            if not base.startswith("spectrakit.") or _package_of(base) == mine:
                continue
            for alias in node.names:
                if private(alias.name):
                    out.append(f"{rel}:{node.lineno}: imports {base}.{alias.name}")
                foreign[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("spectrakit.") and _package_of(alias.name) != mine:
                    foreign[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in foreign
                and private(node.attr)):
            out.append(f"{rel}:{node.lineno}: uses {foreign[node.value.id]}.{node.attr}")
    return out


def test_no_package_uses_another_packages_private_names():
    files = sorted(PKG.rglob("*.py"))
    found = [v for path in files for v in _private_crossings(path)]
    assert not found, (
        "a private name is private to its package (core, xr, tuning, widgets, datasets): make "
        "what another package needs public, or move it:\n" + "\n".join(found)
    )


def test_private_crossing_scan_catches_what_it_should(tmp_path, monkeypatch):
    pkg = tmp_path / "spectrakit" / "tuning"
    pkg.mkdir(parents=True)
    bad = pkg / "bad.py"
    bad.write_text(
        "from ..xr.fourier import _freq_coord, smooth\n"
        "from ..core import filtering as cf\n"
        "from ._session import _private_ok\n"
        "x = cf._inverse(1)\n"
        "y = cf.filter_factors\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = _private_crossings(bad)
    assert sorted(int(v.split(":")[1]) for v in found) == [1, 4], found


# --------------------------------------------------------------------------- (e)

CAPABILITIES = ("spectral", "filtering", "fourier", "dynamics", "weights", "representations", "curves",
                "implicit", "graphs")
# tests of no one capability: the layers and contracts, the docs, the shared infrastructure
CROSS_CUTTING = {
    "test_layers.py", "test_registry.py", "test_contract_sessions.py", "test_contract_explorers.py",
    "test_docstrings.py", "test_readme.py", "test_binder.py", "test_notebooks_meta.py", "test_checks.py",
    "test_datasets.py", "test_datasets_real.py", "test_dask_distributed.py", "test_widgets_controls.py",
    "test_input_contract.py",
}
_TEST_NAME = re.compile(rf"test_({'|'.join(CAPABILITIES)})_(core|xr|session|widget)(_[a-z0-9_]+)?\.py")


def test_test_files_say_capability_and_layer():
    names = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))
    odd = [n for n in names if n not in CROSS_CUTTING and not _TEST_NAME.fullmatch(n)]
    assert not odd, f"name capability tests test_<capability>_<core|xr|session|widget>[_topic].py: {odd}"
    assert _TEST_NAME.fullmatch("test_fourier_xr_dask.py") and not _TEST_NAME.fullmatch("test_widgets_fourier.py")
