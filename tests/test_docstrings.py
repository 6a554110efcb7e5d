"""Every Examples section in spectrakit's docstrings runs and prints what it shows."""

import doctest
import importlib
import pkgutil

import pytest

import spectrakit

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(spectrakit.__path__, prefix="spectrakit.")
) + ["spectrakit"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_public_functions_have_examples():
    for name in ("regularize", "regularize_kernel", "choose", "picard", "RegularizationSession", "set_options"):
        assert ">>>" in (getattr(spectrakit, name).__doc__ or ""), name
