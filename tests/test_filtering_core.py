"""core.filtering: filters against closed forms, properties, and the basis identities."""

import math

import mpmath as mp

import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spectrakit.core import filtering as core
from spectrakit.core import spectral

F64 = torch.float64


def t(x):
    return torch.as_tensor(np.asarray(x, dtype=float), dtype=F64)


S = np.logspace(-12, 0, 60)
REG = np.logspace(-10, 1, 23)


def closed_form(method, s, reg, **opt):
    """The textbook formulas in numpy, written independently of core's torch code."""
    s, reg = np.asarray(s)[None, :], np.asarray(reg)[:, None]
    if method == "tikhonov":
        return s / (s + reg)
    if method == "tsvd":
        return (s >= reg).astype(float)
    if method == "showalter":
        return 1 - np.exp(-s / reg)
    if method == "iterated_tikhonov":
        m = opt.get("order", 2)
        return 1 - (reg / (s + reg)) ** m
    if method == "heat":
        return np.exp(-reg / s)
    if method == "butterworth":
        n = opt.get("order", 2)
        return 1 / (1 + (reg / s) ** n)
    if method == "landweber":
        # (1 - omega s)**k with k up to 1e10 needs more than double precision
        omega = opt.get("omega", 1 / s.max())
        k = np.maximum(1, np.round(1 / (omega * reg)))
        mp.mp.dps = 40
        return np.array([[float(1 - (1 - mp.mpf(omega) * mp.mpf(si)) ** int(ki)) for si in s[0]] for ki in k[:, 0]])
    raise AssertionError(method)


@pytest.mark.parametrize(
    "method,opt",
    [("tikhonov", {}), ("tsvd", {}), ("showalter", {}), ("iterated_tikhonov", {"order": 3}),
     ("iterated_tikhonov", {}), ("landweber", {}), ("landweber", {"omega": 0.5}),
     ("heat", {}), ("butterworth", {}), ("butterworth", {"order": 5})],
)
def test_filters_match_closed_forms(method, opt):
    f, native = spectral.filter_factors(t(S), t(REG), method, **opt)
    ref = closed_form(method, S, REG, **opt)
    np.testing.assert_allclose(f.numpy(), ref, rtol=1e-9, atol=1e-12)
    if method == "tsvd":
        np.testing.assert_array_equal(native["rank"].numpy(), ref.sum(1))
    if method == "landweber":
        omega = opt.get("omega", 1 / S.max())
        np.testing.assert_array_equal(native["n_iter"].numpy(), np.maximum(1, np.round(1 / (omega * REG))))


def test_landweber_filter_equals_explicit_iterations():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((30, 20)) @ np.diag(np.logspace(0, -3, 20))
    b = rng.standard_normal(30)
    At, bt = t(A), t(b)
    basis = core.svd_basis(At)
    omega = 0.9 / float(basis.s.max())
    for k in (1, 2, 7, 50, 400):
        f, native = spectral.filter_factors(basis.s, t([1.0]), "landweber", omega=omega, n_iter=k)
        assert native["n_iter"].item() == k
        x_filter = core.filtered_solution(basis, basis.coefficients(bt[None]), f)[0, 0]
        x_iter = core.landweber_steps(At, bt, k, omega)
        np.testing.assert_allclose(x_filter.numpy(), x_iter.numpy(), rtol=1e-9, atol=1e-12)


def test_landweber_n_iter_wins_over_reg():
    f, native = spectral.filter_factors(t(S), t([1e-6, 1e-2, 1.0]), "landweber", n_iter=5)
    assert (native["n_iter"] == 5).all()
    assert torch.equal(f[0], f[2])


@pytest.mark.parametrize("omega", [1.5, 0.0, -1.0])
def test_landweber_omega_outside_bound_is_an_error(omega):
    with pytest.raises(ValueError, match="omega"):
        spectral.filter_factors(t(S), t([1e-3]), "landweber", omega=omega)


def test_landweber_and_tikhonov_are_related_not_equal():
    # With k = 1/(omega reg) iterations the Landweber filter tends to gradient flow's
    # 1 - exp(-s/reg); its largest distance to Tikhonov's s/(s+reg) is then
    # max_x (1 - e^-x - x/(1+x)), about 0.2036, attained near s = 2.5 reg.
    res = scipy.optimize.minimize_scalar(lambda x: -(1 - np.exp(-x) - x / (1 + x)), bounds=(0.1, 10), method="bounded")
    bound = -res.fun
    assert 0.2 < bound < 0.21
    s = np.logspace(-8, 0, 4000)
    for reg in (1e-3, 1e-4, 1e-6):
        lw, _ = spectral.filter_factors(t(s), t([reg]), "landweber")
        tk, _ = spectral.filter_factors(t(s), t([reg]), "tikhonov")
        gap = float((lw - tk).abs().max())
        assert abs(gap - bound) < 5e-3, (reg, gap, bound)


def test_filter_knees():
    # where each filter is 1/2: tikhonov at s = reg, gradient flow at ln2 reg,
    # iterated tikhonov of order m at (2^(1/m) - 1) reg (DESIGN.md), heat at reg/ln2,
    # butterworth at s = reg
    reg = 1e-3
    for method, opt, knee in [("tikhonov", {}, 1.0), ("showalter", {}, math.log(2)),
                              ("iterated_tikhonov", {"order": 3}, 2 ** (1 / 3) - 1),
                              ("heat", {}, 1 / math.log(2)), ("butterworth", {"order": 4}, 1.0)]:
        f, _ = spectral.filter_factors(t([knee * reg]), t([reg]), method, **opt)
        assert abs(float(f) - 0.5) < 1e-12


def test_callable_filter():
    f, native = spectral.filter_factors(t(S), t(REG), lambda s, reg: s**2 / (s**2 + reg**2))
    np.testing.assert_allclose(f.numpy(), S[None] ** 2 / (S[None] ** 2 + REG[:, None] ** 2))
    assert native == {}
    with pytest.raises(ValueError, match="method"):
        spectral.filter_factors(t(S), t(REG), "ridge")


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(["tikhonov", "tsvd", "landweber", "showalter", "iterated_tikhonov", "heat", "butterworth"]),
    s=st.lists(st.floats(1e-12, 1.0), min_size=2, max_size=30),
    reg=st.lists(st.floats(1e-10, 10.0), min_size=2, max_size=10),
    omega_frac=st.floats(0.05, 1.0),
    order=st.integers(1, 6),
)
def test_filter_properties(method, s, reg, omega_frac, order):
    s_sorted = np.sort(np.asarray(s))
    reg_sorted = np.sort(np.asarray(reg))
    opt = {"landweber": {"omega": omega_frac / s_sorted.max()}, "iterated_tikhonov": {"order": order},
           "butterworth": {"order": order}}.get(method, {})
    f, _ = spectral.filter_factors(t(s_sorted), t(reg_sorted), method, **opt)
    f = f.numpy()
    assert ((f >= 0) & (f <= 1)).all()
    tol = 1e-12
    assert (np.diff(f, axis=1) >= -tol).all(), "increasing in s"
    assert (np.diff(f, axis=0) <= tol).all(), "decreasing in reg"


def test_reg_must_be_nonnegative():
    with pytest.raises(ValueError, match="reg"):
        spectral.filter_factors(t(S), t([-1.0]))


def test_difference_operator():
    np.testing.assert_array_equal(core.difference_operator(4, 1).numpy(), np.diff(np.eye(4), 1, axis=0))
    np.testing.assert_array_equal(core.difference_operator(5, 2).numpy(), np.diff(np.eye(5), 2, axis=0))


def test_general_form_basis_is_a_gsvd():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 25))
    L = np.diff(np.eye(25), 2, axis=0)
    basis = core.general_form_basis(t(A), t(L))
    # generalized singular values: A v = gamma L v... check through the standard form:
    # (A^T A) x = gamma^2 (L^T L) x restricted to the penalized part
    X = basis.V.numpy()
    gam2 = basis.s.numpy()
    lhs = A.T @ A @ X
    rhs = L.T @ L @ X * gam2
    # A^T A X = L^T L X diag(gamma^2) + (the part along the null space of L)
    W = np.linalg.svd(L)[2][-2:].T
    P = np.eye(25) - A.T @ A @ W @ np.linalg.solve(W.T @ A.T @ A @ W, W.T)
    np.testing.assert_allclose(P.T @ (lhs - rhs), 0, atol=1e-8 * np.abs(lhs).max())


def _rbf(n, dtype=F64):
    x = torch.rand(n, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    return torch.exp(-2.0 * torch.cdist(x, x) ** 2).to(dtype)


def _torch_kernel_basis(K):
    """kernel_basis's conventions written out on torch.linalg.eigh."""
    lam, Q = torch.linalg.eigh(0.5 * (K + K.mT))
    lam, Q = lam.flip(0), Q.flip(1)
    return lam.clamp_min(float(lam[0]) * torch.finfo(K.dtype).eps ** 2), Q


def test_kernel_basis_cpu_float64_goes_through_scipy_with_torchs_conventions(monkeypatch):
    # from n = 500 on, float64 on the CPU is decomposed by scipy's dsyevd (faster there)
    K = _rbf(600)
    keep = K.clone()
    lam, _ = _torch_kernel_basis(K)
    monkeypatch.setattr(torch.linalg, "eigh", lambda *a, **k: pytest.fail("torch.linalg.eigh was called"))
    basis = core.kernel_basis(K)
    assert torch.equal(K, keep)  # only the symmetrized copy is overwritten
    assert basis.kind == "kernel" and basis.s.dtype == basis.U.dtype == F64 and basis.U.stride() == (1, 600)
    np.testing.assert_allclose(basis.s.numpy(), lam.numpy(), rtol=0, atol=1e-13 * float(lam[0]))
    Q = basis.U
    np.testing.assert_allclose((Q.mT @ Q).numpy(), np.eye(600), rtol=0, atol=1e-12)
    np.testing.assert_allclose(((Q * basis.s) @ Q.mT).numpy(), K.numpy(), rtol=0, atol=1e-12)
    assert basis.V is Q and torch.equal(basis.scale, 1.0 / basis.s)


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True to a scalar")
@pytest.mark.parametrize("case", ["small", "float32", "autograd", "no convergence"])
def test_kernel_basis_other_cases_are_torchs(case, monkeypatch):
    import scipy.linalg

    K = _rbf(100 if case == "small" else 600, torch.float32 if case == "float32" else F64)
    lam, Q = _torch_kernel_basis(K)
    if case == "no convergence":  # LAPACK gives up after scribbling in its (overwritable) input

        def fails(a, **kwargs):
            a[...] = 0.0
            raise scipy.linalg.LinAlgError("no convergence")

        monkeypatch.setattr(scipy.linalg, "eigh", fails)
    else:
        monkeypatch.setattr(scipy.linalg, "eigh", lambda *a, **k: pytest.fail("scipy.linalg.eigh was called"))
    if case == "autograd":
        K.requires_grad_(True)
    basis = core.kernel_basis(K)
    assert torch.equal(basis.s.detach(), lam) and torch.equal(basis.U.detach(), Q)
    if case == "autograd":
        basis.s.sum().backward()
        assert K.grad is not None and bool(torch.isfinite(K.grad).all())


def test_general_form_rejects_shared_null_space():
    A = np.zeros((10, 6))
    A[:, 1:] = np.random.default_rng(0).standard_normal((10, 5))
    A[:, 0] = 0.0  # A cannot see x_0 ...
    L = np.zeros((5, 6))
    L[:, 1:] = np.eye(5)  # ... and neither can L
    with pytest.raises(ValueError, match="L"):
        core.general_form_basis(t(A), t(L))


def test_curvature_closed_form_matches_finite_differences():
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((60, 40)))
    V, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    A = U @ np.diag(np.logspace(0, -8, 40)) @ V.T
    b = A @ np.ones(40) + 1e-4 * rng.standard_normal(60)
    basis = core.svd_basis(t(A))
    reg = t(np.logspace(-12, 0, 3000))
    f, _ = spectral.filter_factors(basis.s, reg)
    crit = core.path_criteria(basis, t(b)[None], reg, f)
    fd = spectral.grid_curvature(reg, crit["residual_norm"] ** 2, crit["solution_norm"] ** 2)
    closed = crit["curvature"]
    inner = slice(5, -5)
    scale = float(closed.abs().max())
    assert float((closed - fd)[0, inner].abs().max()) < 1e-3 * scale
    assert float(closed.max()) > 1  # a sharp corner, and it is a maximum


def test_butterworth_of_order_one_is_tikhonov():
    bw, _ = spectral.filter_factors(t(S), t(REG), "butterworth", order=1)
    tk, _ = spectral.filter_factors(t(S), t(REG), "tikhonov")
    np.testing.assert_allclose(bw.numpy(), tk.numpy(), rtol=1e-12)


def test_spectral_criteria_on_a_circulant_problem():
    # A circulant blur is diagonal in the unitary DFT: the same criteria from Fourier
    # coefficients (complex) equal those of the SVD path, and leave-one-out equals GCV
    # because every leverage H_ii is trace(H)/N.
    rng = np.random.default_rng(0)
    N = 64
    kernel = np.exp(-0.5 * (np.minimum(np.arange(N), N - np.arange(N)) / 2.0) ** 2)
    kernel /= kernel.sum()
    A = np.array([np.roll(kernel, i) for i in range(N)]).T  # A @ x = circular convolution
    b = A @ np.sin(np.linspace(0, 6, N)) + 1e-3 * rng.standard_normal(N)
    reg = t(np.logspace(-8, 0, 17))
    basis = core.svd_basis(t(A))
    f_svd, _ = spectral.filter_factors(basis.s, reg)
    ref = core.path_criteria(basis, t(b)[None], reg, f_svd)
    a_hat = np.fft.fft(kernel)
    beta = torch.as_tensor(np.fft.fft(b, norm="ortho"))[None]
    s = t(np.abs(a_hat) ** 2)
    f, _ = spectral.filter_factors(s, reg)
    crit = spectral.spectral_criteria(s, beta, reg, f, m=N, outside_sq=t([0.0]))
    for name in ("residual_norm", "solution_norm", "gcv", "curvature"):
        np.testing.assert_allclose(crit[name].numpy(), ref[name].numpy(), rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(ref["loo"].numpy(), ref["gcv"].numpy(), rtol=1e-8)


def test_gcv_is_infinite_where_the_fit_interpolates():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((8, 8))
    basis = core.svd_basis(t(A))
    reg = t([0.0, 1e-3])
    f, _ = spectral.filter_factors(basis.s, reg)
    crit = core.path_criteria(basis, t(rng.standard_normal(8))[None], reg, f)
    assert torch.isinf(crit["gcv"][0, 0]) and torch.isinf(crit["loo"][0, 0])
    assert torch.isfinite(crit["gcv"][0, 1])


def test_grid_curvature_is_undefined_where_the_l_curve_stalls():
    # past the spectrum the point on the L-curve stops moving except for rounding: a
    # finite-difference curvature there is noise divided by a vanishing speed
    reg = t(np.logspace(-6, 6, 121))
    r = reg.numpy()
    res = np.where(r < 1.0, 1 + r, 2.0) * (1 + 1e-15 * np.random.default_rng(0).standard_normal(121))
    sol = np.where(r < 1.0, 1 / (1 + r), 0.5) * (1 + 1e-15 * np.random.default_rng(1).standard_normal(121))
    kappa = spectral.grid_curvature(reg, t(res**2)[None], t(sol**2)[None])[0].numpy()
    assert np.isnan(kappa[r > 2.0]).all()
    assert np.isfinite(kappa[(r > 1e-4) & (r < 0.5)]).all()
