"""The input contract, case by case: every bad input found when spectrakit was tried as a
new user would (issue 14) is refused with the right exception, naming the argument, and
never answered silently; sessions stay as they were when a call is refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.signal
import torch
import xarray as xr

import spectrakit as sk

F64 = torch.float64


@pytest.fixture(scope="module")
def problem():
    return sk.datasets.shaw(32, noise=1e-3, seed=0)


@pytest.fixture(scope="module")
def signal():
    t = np.arange(256) * 0.1
    rng = np.random.default_rng(0)
    return xr.DataArray(np.sin(t) + rng.standard_normal(256), dims="time", coords={"time": t})


@pytest.fixture(scope="module")
def kernel():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    return X @ X.T, rng.standard_normal(20)


# ----------------------------------------------------------------------------- no silent wrong answers


def test_reg_true_is_not_a_strength_of_one(problem):
    with pytest.raises(TypeError, match="reg must be real numbers"):
        sk.regularize(problem["A"], problem["b"], reg=True, device="cpu")
    with pytest.raises(TypeError, match="reg must be real numbers"):
        sk.regularize(problem["A"], problem["b"], reg=np.array([True, False]), device="cpu")
    session = sk.RegularizationSession.from_problem(problem, device="cpu")
    before = dict(session.settings)
    with pytest.raises(TypeError, match="reg"):
        session.update(reg=True)
    assert session.settings == before


def test_a_kernel_must_be_symmetric_and_positive_semi_definite(kernel):
    K, y = kernel
    with pytest.raises(ValueError, match="K is not positive semi-definite"):
        sk.regularize_kernel(-K, y, reg=1e-2, device="cpu")
    with pytest.raises(ValueError, match="K is not symmetric.*symmetrize='mean'"):
        sk.regularize_kernel(np.triu(K), y, reg=1e-2, device="cpu")
    # asked for explicitly, the symmetrization is (K + K^T) / 2, as passing it would be
    K_t = np.triu(K) + np.triu(K, 1).T * 0.5
    got = sk.regularize_kernel(K_t, y, reg=1e-2, symmetrize="mean", device="cpu")
    want = sk.regularize_kernel((K_t + K_t.T) / 2, y, reg=1e-2, device="cpu")
    np.testing.assert_allclose(got["x"].values, want["x"].values, rtol=1e-12)
    with pytest.raises(ValueError, match="symmetrize='max' is unknown"):
        sk.regularize_kernel(K, y, reg=1e-2, symmetrize="max", device="cpu")
    # a PSD kernel with round-off below zero is accepted (an RBF kernel of close points)
    t = np.linspace(0, 1, 200)
    rbf = np.exp(-((t[:, None] - t[None, :]) ** 2) / 0.5)
    assert np.linalg.eigvalsh(rbf).min() < 0  # round-off makes it slightly indefinite
    sk.regularize_kernel(rbf, np.sin(6 * t), reg=1e-3, device="cpu")


def test_windows_must_be_finite_and_not_all_zero(signal):
    w = np.hanning(64)
    w[3] = np.nan
    with pytest.raises(ValueError, match="window holds NaN"):
        sk.power(signal, "time", method="welch", window=w, nperseg=64)
    with pytest.raises(ValueError, match="window is all zeros"):
        sk.power(signal, "time", method="welch", window=np.zeros(64), nperseg=64)


@pytest.mark.parametrize("name,value", [("nperseg", 2.5), ("nperseg", float("nan")), ("noverlap", 3.5),
                                        ("nfft", 300.0)])
def test_segment_lengths_must_be_integers(signal, name, value):
    with pytest.raises(TypeError, match=f"{name} must be an integer"):
        sk.power(signal, "time", method="welch", **{name: value})


def test_coherence_of_a_constant_signal_warns_as_scipy_does(signal):
    const = signal * 0 + 1
    with pytest.warns(RuntimeWarning):
        scipy.signal.coherence(const.values, signal.values, nperseg=64)  # the reference warns too
    with pytest.warns(RuntimeWarning, match="zero power"):
        out = sk.coherence(const, signal, "time", nperseg=64)
    assert np.isnan(out.values).any()


def test_explorer_set_refuses_before_changing_anything(problem):
    pytest.importorskip("ipywidgets")
    from spectrakit.widgets import RegularizationExplorer

    ex = RegularizationExplorer(problem, device="cpu", throttle_s=60.0)
    with pytest.raises(ValueError, match="n_iter must be >= 1"):
        ex.set(method="landweber", n_iter=0)
    ex.flush()
    assert ex.method == "tikhonov" and ex.error is None and ex.pending == {}


# ----------------------------------------------------------------------------- atomic sessions


def test_refused_updates_change_nothing_and_the_next_works(problem):
    session = sk.RegularizationSession.from_problem(problem, device="cpu")
    before = dict(session.settings)
    with pytest.raises(ValueError, match="reg"):
        session.update(reg=-1, method="tsvd")
    with pytest.raises(ValueError, match="bogus"):
        session.update(method="bogus")
    with pytest.raises(ValueError, match="omega"):
        session.update(method="landweber", omega=-1.0)
    assert session.settings == before
    out = session.update(reg=1e-3)
    assert out.attrs["method"] == "tikhonov" and session.reg == 1e-3


# ----------------------------------------------------------------------------- messages that name the argument


@pytest.mark.parametrize("call,exc,name", [
    (lambda p, s: sk.regularize(p["A"], p["b"], reg="abc", device="cpu"), TypeError, "reg"),
    (lambda p, s: sk.datasets.shaw(32, noise="low"), TypeError, "noise"),
    (lambda p, s: sk.smooth(s, "time", reg=1e-2, sobolev="2"), TypeError, "sobolev"),
    (lambda p, s: sk.power(s, "time", spacing_tol=-1), ValueError, "spacing_tol"),
    (lambda p, s: sk.irfft(sk.rfft(s, "time"), "freq_time", n=-4), ValueError, "n must be"),
    (lambda p, s: sk.regularize(p["A"], p["b"], reg=1e-2, device="tpu:9"), ValueError, "device='tpu:9'"),
    (lambda p, s: sk.choose(np.ones(3), "gcv"), TypeError, "path must be an xarray.Dataset"),
    (lambda p, s: sk.RegularizationSession.from_problem(p, reg_grid=[-1.0, 1.0, 2.0], device="cpu"), ValueError,
     "reg_grid"),
    (lambda p, s: sk.regularize(p["A"].values, torch.tensor(p["b"].values, dtype=torch.complex128), reg=1e-2,
                                device="cpu"), TypeError, "b must hold real numbers"),
    (lambda p, s: sk.choose(sk.regularize(p["A"], p["b"], reg=np.logspace(-8, 0, 9), noise_norm=0.1, device="cpu"),
                            "discrepancy", tau="2"), TypeError, "tau"),
    (lambda p, s: sk.graph_spectrum(np.ones((6, 6)) - np.eye(6), 2, solver="lanczos", tol=float("nan")), ValueError,
     "tol"),
    (lambda p, s: sk.regularize(p["A"], p["b"], reg=[1e-3, 1e-2], method=lambda s_, r: s_[:, :3], device="cpu"),
     ValueError, "callable filter <lambda>"),
    (lambda p, s: sk.GraphFilterSession(np.random.default_rng(0).uniform(size=(30, 2)), np.zeros(30), k=5,
                                        order=float("inf"), device="cpu"), TypeError, "order"),
])
def test_bad_values_are_refused_by_name(problem, signal, call, exc, name):
    with pytest.raises(exc, match=name):
        call(problem, signal)


def test_reg_as_a_tensor_is_a_grid_like_any_other(problem, signal):
    grid = [1e-3, 1e-1]
    a = sk.regularize(problem["A"], problem["b"], reg=torch.tensor(grid, dtype=F64), device="cpu")
    b = sk.regularize(problem["A"], problem["b"], reg=np.array(grid), device="cpu")
    xr.testing.assert_identical(a, b)
    c = sk.smooth(signal, "time", reg=torch.tensor(1e-2, dtype=F64), device="cpu")
    d = sk.smooth(signal, "time", reg=1e-2, device="cpu")
    np.testing.assert_allclose(c["estimate"].values, d["estimate"].values, rtol=1e-12)


def test_read_only_arrays_are_used_without_a_warning_and_untouched(problem):
    A, b = problem["A"].values.copy(), problem["b"].values.copy()
    A.setflags(write=False)
    b.setflags(write=False)
    keep = A.copy(), b.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sk.regularize(A, b, reg=1e-3, device="cpu")
    np.testing.assert_array_equal(A, keep[0])
    np.testing.assert_array_equal(b, keep[1])


# ----------------------------------------------------------------------------- sizes before allocation


@pytest.mark.parametrize("call,name", [
    (lambda p: sk.datasets.shaw(10**7), "n"),
    (lambda p: sk.datasets.ridge_regression(10**6, 10**6), "n and p"),
    (lambda p: sk.datasets.hyperspectral_cube(10**5, 10**5), "ny, nx and n_bands"),
    # zero-stride views: the request is huge, the input costs nothing
    (lambda p: sk.regularize(p["A"].values, np.broadcast_to(p["b"].values[:, None], (32, 10**9)), reg=1e-3,
                             device="cpu"), "b"),
    (lambda p: sk.RegularizationSession.from_problem(p, reg_grid=np.broadcast_to(np.ones(1), (10**9,)),
                                                     device="cpu"), "reg_grid"),
    (lambda p: sk.learning_curve(np.arange(1, 51.0) ** -1.5, np.arange(1, 51.0) ** -1.25,
                                 n=np.broadcast_to(np.full(1, 10.0), (10**9,)), reg=0.1, device="cpu"), "n and reg"),
    (lambda p: sk.model_collapse(0.5, 10, 100, 10**10), "generations"),
])
def test_oversize_requests_are_refused_before_allocating(problem, call, name):
    with pytest.raises(MemoryError, match=f"^{name}: .*needs about .* over the limit"):
        call(problem)


def test_lobpcg_keeps_the_accuracy_its_docstring_states():
    # the docstring says: eigenvalues to about 1e-8 relative with the default tolerance
    from spectrakit.core.graphs import graph_spectrum

    n = 400
    W = torch.zeros(n, n, dtype=F64)
    idx = torch.arange(n - 1)
    W[idx, idx + 1] = W[idx + 1, idx] = 1.0
    W[0, n - 1] = W[n - 1, 0] = 1.0  # a ring: eigenvalues 2 - 2 cos(2 pi j / n)
    exact = np.sort(2 - 2 * np.cos(2 * np.pi * np.arange(n) / n))[:6]
    got = graph_spectrum(W, 6, solver="lobpcg", kind="combinatorial").values.numpy()
    np.testing.assert_allclose(got, exact, rtol=1e-6, atol=1e-8)


def test_max_memory_lowers_the_limit_and_is_checked(problem):
    big = sk.datasets.shaw(400)
    with sk.set_options(max_memory=2**20):  # 1 MiB: a 400 x 400 SVD needs about 5
        with pytest.raises(MemoryError, match=r"A: .*over the limit of 1 MiB \(set_options\(max_memory=...\)\)"):
            sk.regularize(big["A"], big["b"], reg=1e-3, device="cpu")
        with pytest.raises(MemoryError, match="^n: "):  # the generator refuses before building
            sk.datasets.shaw(400)
    sk.regularize(problem["A"], problem["b"], reg=1e-3, device="cpu")  # the default limit again
    for bad in (0, -1.0, float("inf"), "1GB", True):
        with pytest.raises(ValueError, match="max_memory"):
            sk.set_options(max_memory=bad)
    assert sk.get_options()["max_memory"] is None
