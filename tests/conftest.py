"""Shared pytest set-up for tests/: the ``gpu`` marker skip, hypothesis's CI profile and the
opt-in ``one_thread`` fixture (a module asks for it with
``pytestmark = pytest.mark.usefixtures("one_thread")``).

The device is deliberately left on auto (no ``SPECTRAKIT_DEVICE`` here): on a GPU machine
the same tests exercise CUDA.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# tests/ is not a package: make its helper modules (_streaming_helpers) importable whatever
# pytest's import mode (prepend already does this; importlib does not).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
pytest.register_assert_rewrite("_streaming_helpers")  # its asserts explain a failure as a test's do

# Timing-based hypothesis checks are noise on shared 2-core CI machines (torch's first
# call, xdist workers): no per-example deadline, and no "too slow" health check.
settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_cuda_available: bool | None = None


def _has_cuda() -> bool:
    # Asked once, lazily: torch.cuda.is_available() does not initialize CUDA.
    global _cuda_available
    if _cuda_available is None:
        import torch

        _cuda_available = bool(torch.cuda.is_available())
    return _cuda_available


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu") is not None and not _has_cuda():
        pytest.skip("needs CUDA: torch.cuda.is_available() is False")


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread and one BLAS/OpenMP thread for the module that asks for it.

    Tiny models and dense LAPACK calls of a few hundred (here and in numpy) are no faster on
    several threads, and on a busy 2-core CI machine they are 10-100x slower. The
    explorers do the same around their own work; session construction is the tests'.
    """
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - it comes with scikit-learn (test extra)
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1)
    with limits:
        yield
    torch.set_num_threads(old)
