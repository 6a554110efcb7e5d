"""Shared pytest set-up for tests/: the ``gpu`` marker skip and hypothesis's CI profile.

The device is deliberately left on auto (no ``SPECTRAKIT_DEVICE`` here): on a GPU machine
the same tests exercise CUDA.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

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
