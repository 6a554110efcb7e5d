"""spectrakit.core.checks.check_real (the one real-number check of every capability) and
the sessions' LRU cache (spectrakit.tuning._cache)."""

import fractions
import math

import numpy as np
import pytest
import torch

from spectrakit.core.checks import check_real
from spectrakit.tuning._cache import LRUCache


# ------------------------------------------------------------------------------ check_real


@pytest.mark.parametrize("value, expected", [
    (2, 2.0), (0.5, 0.5), (np.float32(0.25), 0.25), (np.int64(3), 3.0), (fractions.Fraction(1, 4), 0.25),
    (torch.tensor(1.5), 1.5), (torch.tensor([2.5], dtype=torch.float64), 2.5), (torch.tensor([[4]]), 4.0),
    (np.array(0.75), 0.75), (np.array([1.25]), 1.25),
])
def test_real_numbers_and_one_element_tensors_become_floats(value, expected):
    out = check_real(value, "x")
    assert type(out) is float and out == expected


@pytest.mark.parametrize("value", [
    True, False, np.True_, torch.tensor(True), "0.1", None, [1.0], 1 + 2j, torch.tensor([1 + 0j]),
    torch.ones(2), np.ones(3), torch.ones(0),
])
def test_bools_and_non_numbers_are_refused_with_the_name(value):
    with pytest.raises(TypeError, match=r"^lr must be a real number; got "):
        check_real(value, "lr")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan"), torch.tensor(math.inf)])
def test_non_finite_values_are_refused(value):
    with pytest.raises(ValueError, match=r"^rho must be finite; got (nan|inf|-inf)\.$"):
        check_real(value, "rho", minimum=None)


def test_bounds():
    assert check_real(0, "reg") == 0.0  # default: >= 0
    with pytest.raises(ValueError, match=r"^reg must be >= 0; got -1\.0\.$"):
        check_real(-1, "reg")
    with pytest.raises(ValueError, match=r"^lr must be > 0; got 0\.0\.$"):
        check_real(0.0, "lr", strict=True)
    assert check_real(1e-300, "lr", strict=True) == 1e-300
    assert check_real(-7.5, "alpha", minimum=None) == -7.5  # no bound
    assert check_real(0.5, "p", minimum=0.5) == 0.5
    with pytest.raises(ValueError, match=r"^p must be > 0\.5; got 0\.5\.$"):
        check_real(0.5, "p", minimum=0.5, strict=True)
    with pytest.raises(ValueError, match=r"^width must be > 0; got -2\.0\.$"):
        check_real(torch.tensor([-2.0]), "width", strict=True)


def test_none():
    assert check_real(None, "tol", allow_none=True) is None
    with pytest.raises(TypeError, match="tol must be a real number; got None"):
        check_real(None, "tol")


def test_the_input_is_not_modified():
    t = torch.tensor([3.0])
    check_real(t, "x")
    assert torch.equal(t, torch.tensor([3.0]))


# ------------------------------------------------------------------------------ LRU cache


def test_lru_cache_keeps_the_most_recently_used():
    calls = []

    def compute(key):
        def run():
            calls.append(key)
            return key * 10
        return run

    cache = LRUCache(2)
    assert cache.get_or_compute(1, compute(1)) == 10
    assert cache.get_or_compute(2, compute(2)) == 20
    assert cache.get_or_compute(1, compute(1)) == 10  # a hit moves 1 to the end
    assert cache.get_or_compute(3, compute(3)) == 30  # evicts 2
    assert calls == [1, 2, 3] and len(cache) == 2 and 1 in cache and 3 in cache and 2 not in cache
    assert cache.get_or_compute(2, compute(2)) == 20  # computed again; evicts 1
    assert calls == [1, 2, 3, 2] and 1 not in cache


def test_lru_cache_keeps_nothing_when_compute_fails():
    cache = LRUCache(4)

    def boom():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", boom)
    assert "k" not in cache and len(cache) == 0
    assert cache.get_or_compute("k", lambda: None) is None and "k" in cache  # None is a value
