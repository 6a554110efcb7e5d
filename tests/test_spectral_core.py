"""The spine (spectrakit.core.spectral) against brute force: GCV and leave-one-out written
once, and the bases of two capabilities scored by the same criteria."""

from __future__ import annotations

import numpy as np
import torch

from spectrakit.core import graphs as G
from spectrakit.core import spectral
from spectrakit.core.filtering import svd_basis

F64 = torch.float64


def test_leave_one_out_is_refitting_ridge():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    reg = 0.7
    H = X @ np.linalg.solve(X.T @ X + reg * np.eye(5), X.T)
    e = y - H @ y
    got = spectral.leave_one_out(torch.tensor(e)[None], torch.tensor(np.diag(H))[None])
    refit = []
    for i in range(30):
        keep = np.arange(30) != i
        w = np.linalg.solve(X[keep].T @ X[keep] + reg * np.eye(5), X[keep].T @ y[keep])
        refit.append((y[i] - X[i] @ w) ** 2)
    np.testing.assert_allclose(float(got[0]), np.mean(refit), rtol=1e-10)


def test_gcv_is_the_formula_and_inf_where_the_fit_interpolates():
    res_sq = torch.tensor([[4.0, 1.0, 1e-30]], dtype=F64)
    dof = torch.tensor([2.0, 5.0, 10.0], dtype=F64)
    got = spectral.gcv(res_sq, dof, 10)
    np.testing.assert_allclose(got[0, :2].numpy(), [10 * 4.0 / 64, 10 * 1.0 / 25])
    assert torch.isinf(got[0, 2])


def _path_graph(n=12):
    W = torch.zeros(n, n, dtype=F64)
    idx = torch.arange(n - 1)
    W[idx, idx + 1] = W[idx + 1, idx] = 1.0
    return W


def test_bases_follow_the_protocol():
    A = torch.randn(8, 5, dtype=F64, generator=torch.Generator().manual_seed(0))
    assert isinstance(svd_basis(A), spectral.Basis)
    assert isinstance(G.GraphBasis(G.graph_spectrum(_path_graph())), spectral.Basis)


def test_graph_basis_scored_by_the_spine_equals_the_dense_smoother():
    W = _path_graph()
    n = W.shape[0]
    L = torch.diag(W.sum(1)) - W
    y = torch.sin(torch.arange(n, dtype=F64)) + 0.3 * torch.cos(3.0 * torch.arange(n, dtype=F64))
    basis = G.GraphBasis(G.graph_spectrum(W, kind="combinatorial"))
    reg = torch.tensor([0.1, 1.0, 10.0], dtype=F64)
    f, _ = spectral.filter_factors(basis.s, reg)
    beta = basis.coefficients(y[None])
    x = basis.reassemble(f, beta)[0]
    crit = spectral.spectral_criteria(basis.s, beta, reg, f, m=n, outside_sq=basis.outside_norm_sq(y[None], beta))
    for i, r in enumerate(reg):
        H = torch.linalg.inv(torch.eye(n, dtype=F64) + r * L)  # Tikhonov with the penalty x^T L x
        xr = H @ y
        torch.testing.assert_close(x[i], xr, rtol=1e-10, atol=1e-12)
        res_sq = float(((y - xr) ** 2).sum())
        np.testing.assert_allclose(float(crit["residual_norm"][0, i]) ** 2, res_sq, rtol=1e-9)
        np.testing.assert_allclose(float(crit["gcv"][0, i]), n * res_sq / (n - float(H.trace())) ** 2, rtol=1e-9)
        # the solution norm is the semi-norm sqrt(x^T L x)
        np.testing.assert_allclose(float(crit["solution_norm"][0, i]) ** 2, float(xr @ L @ xr), rtol=1e-8, atol=1e-12)


def test_dft_basis_scored_by_the_spine_equals_the_dense_deconvolution():
    from spectrakit.core import fourier as F

    n, p = 16, 1.5
    rng = np.random.default_rng(1)
    kernel = np.zeros(n)
    kernel[[0, 1, -1]] = [0.6, 0.2, 0.2]  # a circular blur centred at index 0
    A = np.stack([np.roll(kernel, i) for i in range(n)], axis=1)  # A x = kernel (*) x
    b = A @ np.sin(2 * np.pi * np.arange(n) / n) + 0.05 * rng.standard_normal(n)
    k2 = F.wavenumbers_squared((n,), (1.0,), dtype=F64)
    mu2 = F.sobolev_weights(k2, p)
    Fm = np.fft.fft(np.eye(n), axis=0) / np.sqrt(n)  # the unitary DFT matrix
    M = (Fm.conj().T @ np.diag(mu2.numpy()) @ Fm).real  # the penalty x^T M x = ||mu x_hat||^2
    a = torch.fft.rfft(torch.tensor(kernel))
    half = n // 2 + 1
    basis = F.DFTBasis((n,), (a.abs() ** 2 / mu2[:half]), a)
    assert isinstance(basis, spectral.Basis)
    reg = torch.tensor([1e-3, 1e-1], dtype=F64)
    bt = torch.tensor(b)[None]
    f, _ = spectral.filter_factors(basis.s, reg)
    beta = basis.coefficients(bt)
    x = basis.reassemble(f, beta)[0]
    crit = spectral.spectral_criteria(basis.s, beta, reg, f, m=n, outside_sq=basis.outside_norm_sq(bt, beta),
                                      counts=basis.counts)
    for i, r in enumerate(reg.tolist()):
        G_ = np.linalg.inv(A.T @ A + r * M)
        xr = G_ @ A.T @ b
        H = A @ G_ @ A.T
        np.testing.assert_allclose(x[i].numpy(), xr, rtol=1e-9, atol=1e-12)
        res_sq = float(((b - A @ xr) ** 2).sum())
        np.testing.assert_allclose(float(crit["residual_norm"][0, i]) ** 2, res_sq, rtol=1e-9)
        np.testing.assert_allclose(float(crit["solution_norm"][0, i]) ** 2, float(xr @ M @ xr), rtol=1e-9)
        np.testing.assert_allclose(float(crit["gcv"][0, i]), n * res_sq / (n - np.trace(H)) ** 2, rtol=1e-9)
