"""core.curves: learning-curve theory against closed forms and Monte-Carlo, model collapse,
random features, and the kernel-ridge path against scikit-learn.

Monte-Carlo comparisons are seeded and small; each states its tolerance as
``|theory / measured - 1| <= max(tol, 3 standard errors)``.
"""

import math

import numpy as np
import pytest
import torch

from spectrakit.core import curves as C

F64 = torch.float64


def t(x):
    return torch.as_tensor(np.asarray(x, dtype=float), dtype=F64)


def assert_close_mc(theory, mc, se, tol):
    theory, mc, se = (np.asarray(v, dtype=float) for v in (theory, mc, se))
    rel = np.abs(theory / mc - 1)
    allowed = np.maximum(tol, 3 * se / mc)
    assert (rel <= allowed).all(), f"rel diff {rel.round(4)} > allowed {allowed.round(4)}"


@pytest.fixture(scope="module")
def power_law():
    lam = C.power_law_spectrum(300, 1.5, device="cpu")
    c = C.power_law_target(300, 2.5, device="cpu")
    return lam, c


# ------------------------------------------------------------------ helpers, conventions


def test_power_law_helpers():
    lam = C.power_law_spectrum(5, 2.0, scale=3.0, device="cpu")
    np.testing.assert_allclose(lam.numpy(), 3.0 * np.arange(1, 6) ** -2.0)
    c = C.power_law_target(5, 3.0, scale=2.0, device="cpu")
    np.testing.assert_allclose((c**2).numpy(), 2.0 * np.arange(1, 6) ** -3.0)
    assert C.power_law_spectrum(3, 1.0, device="cpu", dtype=torch.float32).dtype == torch.float32
    with pytest.raises(ValueError, match="alpha"):
        C.power_law_spectrum(5, 0.0)
    with pytest.raises(TypeError, match="n_modes"):
        C.power_law_spectrum(5.5, 1.0)


def isotropic_kappa(P, n, reg):
    """Root of n = P/(1 + k) + reg/k: n k**2 + (n - P - reg) k - reg = 0."""
    b = n - P - reg
    if reg == 0:
        return max(0.0, -b / n)
    root = math.sqrt(b * b + 4 * n * reg)
    # the two forms of the positive root, each free of cancellation on its side
    return (root - b) / (2 * n) if b < 0 else 2 * reg / (root + b)


@pytest.mark.parametrize("P", [50, 200])
def test_effective_regularization_isotropic_closed_form(P):
    lam = torch.ones(P, dtype=F64)
    n = [20.0, 100.0, 400.0]
    reg = [0.0, 1e-3, 1.0, 50.0]
    k = C.effective_regularization(lam, n, reg)
    assert k.shape == (3, 4)
    ref = np.array([[isotropic_kappa(P, ni, ri) for ri in reg] for ni in n])
    np.testing.assert_allclose(k.numpy(), ref, rtol=1e-12, atol=1e-15)


def test_effective_regularization_limits_and_monotonicity(power_law):
    lam, _ = power_law
    # kappa -> reg/n as n -> inf at a fixed population-scale strength reg/n = 1e-3
    ns = np.array([1e3, 1e5, 1e7])
    k = torch.stack([C.effective_regularization(lam, n_i, 1e-3 * n_i) for n_i in ns])
    excess = k.numpy() / 1e-3 - 1
    assert (excess > 0).all() and excess[-1] < 1e-4
    assert excess[1] / excess[2] == pytest.approx(100, rel=0.01)  # kappa - reg/n ~ df(reg/n)/n
    # increasing in reg, decreasing in n; ridgeless with more modes than samples: > 0
    k = C.effective_regularization(lam, [50, 100, 200], np.logspace(-6, 2, 9))
    assert (torch.diff(k, dim=1) > 0).all() and (torch.diff(k, dim=0) < 0).all()
    assert float(C.effective_regularization(lam, 100, 0.0)) > 0
    assert float(C.effective_regularization(lam, 300, 0.0)) == 0.0  # n >= P: least squares
    # the residual of the defining equation is at rounding level, even at n = P
    for n_i, r in [(100, 1e-12), (300, 1e-12), (299.5, 0.0), (50, 1e3)]:
        kk = float(C.effective_regularization(lam, n_i, r))
        df = float((lam / (lam + kk)).sum())
        assert abs(df + r / kk - n_i) <= 1e-10 * n_i


def test_ridge_isotropic_ridgeless_is_hastie_et_al():
    # Hastie et al. 2019 (Thm 1 and 3), isotropic, r**2 = ||w*||**2, gamma = P/n:
    # P > n: bias r**2 (1 - 1/gamma), variance sigma**2/(gamma - 1); P < n: variance
    # sigma**2 gamma/(1 - gamma)
    P, sigma = 300, 0.7
    lam = torch.ones(P, dtype=F64)
    c = torch.full((P,), 0.08, dtype=F64)
    r2 = float((c * c).sum())
    over = C.ridge_learning_curve(lam, c, sigma, 100, 0.0)
    g = P / 100
    assert float(over.bias2) == pytest.approx(r2 * (1 - 1 / g), rel=1e-12)
    assert float(over.variance) == pytest.approx(sigma**2 / (g - 1), rel=1e-12)
    under = C.ridge_learning_curve(lam, c, sigma, 600, 0.0)
    g = P / 600
    assert float(under.bias2) == 0.0
    assert float(under.variance) == pytest.approx(sigma**2 * g / (1 - g), rel=1e-12)
    # exactly n = P features: the interpolation peak
    peak = C.ridge_learning_curve(lam, c, sigma, 300, [0.0, 1.0])
    assert math.isinf(float(peak.error[0])) and math.isfinite(float(peak.error[1]))


def test_ridge_isotropic_optimal_reg_is_noise_over_signal():
    # isotropic: the best reg is sigma**2 P / r**2 (reg/n = sigma**2 gamma / r**2 in
    # Hastie et al.'s normalization), whatever n
    P, sigma = 200, 0.5
    lam = torch.ones(P, dtype=F64)
    c = torch.full((P,), 0.1, dtype=F64)
    best = sigma**2 * P / float((c * c).sum())
    for n in (50, 200, 800):
        e = C.ridge_learning_curve(lam, c, sigma, n, best * np.array([0.9, 0.99, 1.0, 1.01, 1.1])).error
        assert int(e.argmin()) == 2, (n, e)


def test_ridge_parts_sum_up(power_law):
    lam, c = power_law
    curve = C.ridge_learning_curve(lam, c, 0.3, [50, 500], [0.0, 0.1, 10.0])
    assert curve.error.shape == (2, 3) and curve.bias2_mode.shape == (2, 3, 300)
    torch.testing.assert_close(curve.error, curve.bias2 + curve.variance)
    torch.testing.assert_close(curve.bias2_mode.sum(-1), curve.bias2)
    torch.testing.assert_close(curve.variance_mode.sum(-1), curve.variance)
    torch.testing.assert_close(curve.factors, lam / (lam + curve.kappa[..., None]))
    torch.testing.assert_close(curve.kappa, C.effective_regularization(lam, [50, 500], [0.0, 0.1, 10.0]))
    # noiseless: no variance
    quiet = C.ridge_learning_curve(lam, c, 0.0, 50, 0.1)
    assert float(quiet.variance) == 0.0 and float(quiet.variance_mode.abs().max()) == 0.0


def test_ridge_matches_monte_carlo(power_law):
    lam, c = power_law
    regs = [0.0, 1e-2, 1.0, 10.0]
    for n in (60, 150):
        theory = C.ridge_learning_curve(lam, c, 0.3, n, regs)
        mc = C.monte_carlo_curve(lam, c, 0.3, n, regs, trials=100, seed=1)
        assert_close_mc(theory.error, mc.error, mc.error_se, 0.03)
        np.testing.assert_allclose(theory.bias2.numpy(), mc.bias2.numpy(), rtol=0.06)
        np.testing.assert_allclose(theory.variance.numpy(), mc.variance.numpy(), rtol=0.05)
        # per mode: the first 10 modes and the rest, bias and variance
        for part in ("bias2_mode", "variance_mode"):
            th, me = getattr(theory, part), getattr(mc, part)
            np.testing.assert_allclose(th[:, :10].sum(-1).numpy(), me[:, :10].sum(-1).numpy(), rtol=0.1)
            np.testing.assert_allclose(th[:, 10:].sum(-1).numpy(), me[:, 10:].sum(-1).numpy(), rtol=0.1)


def test_results_follow_dtype_and_inputs_are_untouched(power_law):
    lam, c = power_law
    lam32, c32 = lam.float(), c.float()
    keep = lam32.clone(), c32.clone()
    curve = C.ridge_learning_curve(lam32, c32, 0.3, [50, 100], 1.0)
    assert curve.error.dtype == torch.float32 and curve.error.device == lam32.device
    ref = C.ridge_learning_curve(lam, c, 0.3, [50, 100], 1.0)
    np.testing.assert_allclose(curve.error.numpy(), ref.error.numpy(), rtol=1e-4)
    gd = C.gd_learning_curve(lam32, c32, 0.3, 50, [1, 10], lr=0.5)
    assert gd.error.dtype == torch.float32
    gd64 = C.gd_learning_curve(lam, c, 0.3, 50, [1, 10], lr=0.5)
    np.testing.assert_allclose(gd.error.numpy(), gd64.error.numpy(), rtol=1e-3)
    assert torch.equal(lam32, keep[0]) and torch.equal(c32, keep[1])
    # numpy inputs compute in float64; scalar grids add no dim
    out = C.ridge_learning_curve(lam.numpy(), c.numpy(), 0.3, 50, 1.0)
    assert out.error.dtype == F64 and out.error.shape == () and out.bias2_mode.shape == (300,)


# ------------------------------------------------------------ gradient flow and descent


def test_talbot_recovers_the_population_filter():
    # n -> inf: kappa(p) -> p, and the flow's mean filter is exactly 1 - exp(-tau lambda)
    lam = torch.logspace(-6, 0, 40, dtype=F64)
    tau = t([0.3, 10.0, 1e4])
    curve = C.gd_learning_curve(lam, torch.ones_like(lam), 0.0, 1e14, tau, lr=1.0, flow=True)
    ref = -torch.expm1(-tau[:, None] * lam)
    assert float((curve.factors - ref).abs().max()) < 1e-8
    # and the double transform gives the population bias sum exp(-2 tau lambda) c**2, to
    # an absolute 1e-10 of sum c**2 with the default 32 nodes (float32 inputs too: the
    # rule runs in float64)
    lam = C.power_law_spectrum(500, 1.5, device="cpu")
    c = C.power_law_target(500, 3.0, device="cpu")
    steps = torch.logspace(0, 5, 11, dtype=F64)
    exact = (torch.exp(-2 * steps[:, None] * lam) * c * c).sum(-1)
    for dt in (F64, torch.float32):
        bias = C.gd_learning_curve(lam.to(dt), c.to(dt), 0.0, 1e14, steps, lr=1.0, flow=True).bias2
        assert bias.dtype == dt
        assert float((bias.double() - exact).abs().max()) < (1e-10 if dt == F64 else 1e-6) * float((c * c).sum())


def test_flow_limits(power_law):
    lam, c = power_law
    flow = C.gd_learning_curve(lam, c, 0.3, 80, [0.0, 1e9], lr=1.0, flow=True)
    # nothing learned at time 0; the ridgeless interpolator after a long time
    assert float(flow.error[0]) == pytest.approx(float((c * c).sum()))
    ridgeless = C.ridge_learning_curve(lam, c, 0.3, 80, 0.0)
    assert float(flow.error[1]) == pytest.approx(float(ridgeless.error), rel=1e-7)
    np.testing.assert_allclose(flow.bias2_mode[1].numpy(), ridgeless.bias2_mode.numpy(), rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(flow.variance_mode[1].numpy(), ridgeless.variance_mode.numpy(), rtol=1e-6, atol=1e-14)
    torch.testing.assert_close(flow.bias2_mode.sum(-1), flow.bias2)
    torch.testing.assert_close(flow.variance_mode.sum(-1), flow.variance)


def test_flow_and_gd_match_monte_carlo(power_law):
    lam, c = power_law
    steps = [1, 3, 10, 100, 1000]
    n = 100
    for method in ("flow", "gd"):
        theory = C.gd_learning_curve(lam, c, 0.3, n, steps, lr=0.5, flow=method == "flow")
        mc = C.monte_carlo_curve(lam, c, 0.3, n, steps, method=method, lr=0.5, trials=30, seed=2)
        assert_close_mc(theory.error, mc.error, mc.error_se, 0.04)
        np.testing.assert_allclose(theory.variance.numpy(), mc.variance.numpy(), rtol=0.05)


def test_gd_tends_to_flow_and_checks_lr(power_law):
    lam, c = power_law
    # the step filter differs from the flow's by at most ~0.3/steps
    gd = C.gd_learning_curve(lam, c, 0.3, 100, [10, 1000], lr=0.5)
    flow = C.gd_learning_curve(lam, c, 0.3, 100, [10, 1000], lr=0.5, flow=True)
    rel = (gd.error / flow.error - 1).abs()
    assert float(rel[1]) < 1e-3 < float(rel[0])
    with pytest.raises(ValueError, match="lr=2.5 makes gradient descent diverge"):
        C.gd_learning_curve(lam, c, 0.3, 100, 10, lr=2.5)
    with pytest.raises(ValueError, match="steps must hold whole numbers"):
        C.gd_learning_curve(lam, c, 0.3, 100, 1.5)
    with pytest.raises(ValueError, match="gradient descent diverges"):
        C.monte_carlo_curve(lam, c, 0.3, 20, 10, method="gd", lr=1.9, trials=1)


def test_cutoff_population_approximation(power_law):
    lam, c = power_law
    ranks = [0, 2, 5, 10, 20]
    theory = C.cutoff_learning_curve(lam, c, 0.3, 200, ranks)
    assert float(theory.error[0]) == pytest.approx(float((c * c).sum()))
    assert float(theory.variance[2]) == pytest.approx(0.09 * 5 / 200)
    mc = C.monte_carlo_curve(lam, c, 0.3, 200, ranks, method="cutoff", trials=30, seed=3)
    # a systematic underestimate that grows with rank/n (about 9 % at rank = n/10)
    assert_close_mc(theory.error, mc.error, mc.error_se, 0.12)


def test_population_approximation_is_the_large_n_limit_of_ridge(power_law):
    lam, c = power_law
    n = 1e7
    for reg_pop in (1e-4, 1e-2):
        h = lam / (lam + reg_pop)
        pop = C.spectral_learning_curve(lam, c, 0.3, n, h)
        exact = C.ridge_learning_curve(lam, c, 0.3, n, reg_pop * n)
        assert pop.kappa is None
        assert float(pop.error) == pytest.approx(float(exact.error), rel=1e-4)


def test_saturation_of_ridge_against_gradient_descent():
    # lambda_k = k**-1.5, c_k**2 = k**-8: beta - 1 = 7 > 2 alpha = 3, so tuned ridge
    # saturates at n**-(2 alpha/(2 alpha + 1)) = n**-0.75 while tuned gradient flow reaches
    # n**-((beta - 1)/beta) = n**-0.875
    alpha, beta = 1.5, 8.0
    lam = C.power_law_spectrum(1000, alpha, device="cpu")
    c = C.power_law_target(1000, beta, device="cpu")
    n = np.logspace(3, 5, 3)
    slope = {}
    for method in ("ridge", "flow"):
        best = C.optimal_learning_curve(lam, c, 0.5, n, method=method)
        assert best.errors.shape == (3, best.grid.shape[0])
        slope[method] = np.polyfit(np.log(n), np.log(best.error.numpy()), 1)[0]
    assert slope["ridge"] == pytest.approx(-2 * alpha / (2 * alpha + 1), abs=0.02)
    assert slope["flow"] == pytest.approx(-(beta - 1) / beta, abs=0.02)
    # a rough target (beta - 1 < 2 alpha): no saturation, both at n**-((beta - 1)/beta)
    c_rough = C.power_law_target(1000, 3.0, device="cpu")
    lam2 = C.power_law_spectrum(1000, 2.0, device="cpu")
    for method in ("ridge", "gd"):
        best = C.optimal_learning_curve(lam2, c_rough, 0.5, n, method=method)
        assert np.polyfit(np.log(n), np.log(best.error.numpy()), 1)[0] == pytest.approx(-2 / 3, abs=0.02)


# ------------------------------------------------------------------- random features


def test_random_features_peak_and_its_removal():
    lam = C.power_law_spectrum(300, 1.0, device="cpu")
    c = C.power_law_target(300, 2.0, device="cpu")
    c = c / c.norm()
    n = 100
    Ns = [20, 50, 80, 90, 100, 110, 125, 200, 400]
    curve = C.random_features_curve(lam, c, 0.2, n, Ns, [1e-8, 1.0], draws=2, seed=0)
    assert curve.error.shape == (9, 2)
    torch.testing.assert_close(curve.error, curve.bias2 + curve.variance + curve.approximation)
    ridgeless, tuned = curve.error[:, 0], curve.error[:, 1]
    assert Ns[int(ridgeless.argmax())] == n and float(ridgeless[4]) > 100 * float(ridgeless[0])
    assert (torch.diff(tuned) < 0).all()  # a moderate reg: no peak, more features help
    assert (curve.approximation[1:] <= curve.approximation[:-1] + 1e-12).all()
    # theory vs measurement with the same projections, away from the (heavy-tailed) peak
    keep = [0, 1, 2, 6, 7, 8]
    mc = C.random_features_monte_carlo(lam, c, 0.2, n, [Ns[i] for i in keep], [1e-8, 1.0], draws=2, trials=8, seed=0)
    assert_close_mc(curve.error[keep], mc.error, mc.error_se, 0.08)


# -------------------------------------------------------------------- model collapse


def test_model_collapse_theory_and_monte_carlo():
    th = C.model_collapse_error(1.0, 20, 100, 6, device="cpu")
    np.testing.assert_allclose(th.numpy(), 20 / 79 * np.arange(1, 8))
    np.testing.assert_allclose(np.diff(th.numpy()), 20 / 79)
    th0 = C.model_collapse_error(0.5, 10, 50, [0, 3], T0=1000, device="cpu")
    np.testing.assert_allclose(th0.numpy(), [0.25 * 10 / 989, 0.25 * 10 / 989 + 3 * 0.25 * 10 / 39])
    # OLS on Gaussian data: the excess risk is exact, and the same for any covariance
    # (least squares is equivariant: the same draws give the same error to rounding)
    mc = C.model_collapse_monte_carlo(torch.ones(20, dtype=F64), 1.0, 100, 6, trials=1500, seed=0)
    assert_close_mc(th, mc.error, mc.error_se, 0.03)
    skewed = C.model_collapse_monte_carlo(C.power_law_spectrum(20, 1.0, device="cpu"), 1.0, 100, 6, trials=1500, seed=0)
    np.testing.assert_allclose(skewed.error.numpy(), mc.error.numpy(), rtol=1e-8)
    # adaptive ridge slows the collapse
    ridge = C.model_collapse_monte_carlo(torch.ones(20, dtype=F64), 1.0, 100, 6, reg=10.0, trials=400, seed=0)
    assert float(ridge.error[-1]) < 0.8 * float(th[-1])
    with pytest.raises(ValueError, match="T=21 must exceed d"):
        C.model_collapse_error(1.0, 20, 21, 3)
    with pytest.raises(ValueError, match="reg must be a scalar or one value per generation"):
        C.model_collapse_monte_carlo(torch.ones(5, dtype=F64), 1.0, 50, 3, reg=[1.0, 2.0])


# ----------------------------------------------------------------------- kernel path


@pytest.fixture(scope="module")
def kernel_problem():
    rng = np.random.default_rng(0)
    X, Xt = rng.uniform(size=(200, 3)), rng.uniform(size=(60, 3))
    y = np.sin(4 * X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.standard_normal(200)
    return X, Xt, y, 2.0


def test_rbf_kernel_matches_sklearn(kernel_problem):
    from sklearn.metrics.pairwise import rbf_kernel

    X, Xt, _, gamma = kernel_problem
    ours, ours_test = C.rbf_kernel(t(X), gamma=gamma), C.rbf_kernel(t(Xt), t(X), gamma=gamma)
    np.testing.assert_allclose(ours.numpy(), rbf_kernel(X, gamma=gamma), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ours_test.numpy(), rbf_kernel(Xt, X, gamma=gamma), rtol=1e-13, atol=1e-15)


def test_kernel_path_matches_kernel_ridge(kernel_problem):
    from sklearn.kernel_ridge import KernelRidge

    X, Xt, y, gamma = kernel_problem
    reg = np.logspace(-3, 1, 5)
    K, Kt = C.rbf_kernel(t(X), gamma=gamma), C.rbf_kernel(t(Xt), t(X), gamma=gamma)
    yt = t(y)
    keep = K.clone(), yt.clone()
    path = C.kernel_path(K, yt, reg, K_test=Kt)
    assert torch.equal(K, keep[0]) and torch.equal(yt, keep[1])
    for i, r in enumerate(reg):
        est = KernelRidge(alpha=r, kernel="rbf", gamma=gamma).fit(X, y)
        for ours, ref in ((path.dual_coef[i], est.dual_coef_), (path.predictions[i], est.predict(Xt)),
                          (path.fitted[i], est.predict(X))):
            rel = np.abs(ours.numpy() - ref).max() / np.abs(ref).max()
            assert rel < 1e-8, (r, rel)
    # every criterion is there, one value per reg; loo is the exact leave-one-out
    assert {"gcv", "loo", "residual_norm", "solution_norm", "curvature"} <= set(path.criteria)
    # the CPU decomposition (scipy's dsyevd) keeps filtering.kernel_basis's conventions
    from spectrakit.core.filtering import kernel_basis

    ref_basis = kernel_basis(K)
    assert path.basis.kind == "kernel" and path.basis.s.dtype == F64
    np.testing.assert_allclose(path.basis.s.numpy(), ref_basis.s.numpy(), rtol=0, atol=1e-12 * float(ref_basis.s[0]))
    i = 2
    loo = []
    for j in range(8):
        mask = np.arange(200) != j
        est = KernelRidge(alpha=reg[i], kernel="rbf", gamma=gamma).fit(X[mask], y[mask])
        loo.append((y[j] - est.predict(X[j:j + 1])[0]) ** 2)
    H = K @ torch.linalg.inv(K + reg[i] * torch.eye(200, dtype=F64))
    e = (yt - H @ yt) / (1 - H.diagonal())
    np.testing.assert_allclose((e[:8] ** 2).numpy(), loo, rtol=1e-7)
    assert float(path.criteria["loo"][i]) == pytest.approx(float((e**2).mean()), rel=1e-9)


def test_kernel_path_reuses_the_basis_and_batches(kernel_problem):
    X, Xt, y, gamma = kernel_problem
    K, Kt = C.rbf_kernel(t(X), gamma=gamma), C.rbf_kernel(t(Xt), t(X), gamma=gamma)
    Y = torch.stack([t(y), t(y) ** 2])
    first = C.kernel_path(K, Y, [1e-2, 1.0], K_test=Kt)
    again = C.kernel_path(None, Y[1], [1e-2, 1.0], K_test=Kt, basis=first.basis, criteria=False)
    assert first.dual_coef.shape == (2, 2, 200) and first.predictions.shape == (2, 2, 60)
    assert first.criteria["gcv"].shape == (2, 2) and set(again.criteria) == {"residual_norm", "solution_norm"}
    noisy = C.kernel_path(None, t(y), [1e-2, 1.0], basis=first.basis, noise_norm=0.5)
    torch.testing.assert_close(noisy.criteria["discrepancy"], noisy.criteria["residual_norm"] / 0.5)
    torch.testing.assert_close(again.predictions, first.predictions[1], rtol=1e-12, atol=1e-12)
    # another filter: gradient descent on the kernel (Landweber), native count reported
    # another filter: Landweber = Richardson steps alpha <- alpha + omega (y - K alpha)
    omega = 1.0 / float(first.basis.s[0])
    lw = C.kernel_path(None, t(y), 1.0, method="landweber", omega=omega, n_iter=7, basis=first.basis, K_test=Kt)
    alpha = torch.zeros(200, dtype=F64)
    for _ in range(7):
        alpha = alpha + omega * (t(y) - K @ alpha)
    assert lw.native["n_iter"].tolist() == [7.0]
    torch.testing.assert_close(lw.dual_coef[0], alpha, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(lw.predictions[0], Kt @ alpha, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="y must have shape"):
        C.kernel_path(K, t(y[:10]), 1.0)
    with pytest.raises(TypeError, match="basis must be a SpectralBasis"):
        C.kernel_path(None, t(y), 1.0, basis="eigh")


# ---------------------------------------------------------------------------- errors


def test_errors_name_the_argument(power_law):
    lam, c = power_law
    with pytest.raises(ValueError, match="eigenvalues has negative values"):
        C.ridge_learning_curve(-lam, c, 0.1, 10, 1.0)
    with pytest.raises(ValueError, match="coefs must have one value per mode"):
        C.ridge_learning_curve(lam, c[:5], 0.1, 10, 1.0)
    with pytest.raises(ValueError, match="reg must be >= 0"):
        C.ridge_learning_curve(lam, c, 0.1, 10, -1.0)
    with pytest.raises(ValueError, match="n must be > 0"):
        C.ridge_learning_curve(lam, c, 0.1, 0, 1.0)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        C.ridge_learning_curve(lam, c, -0.1, 10, 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        C.effective_regularization(torch.tensor([1.0, math.nan], dtype=F64), 10, 1.0)
    with pytest.raises(ValueError, match="reg must be a scalar or a 1-D grid"):
        C.effective_regularization(lam, 10, np.ones((2, 2)))
    with pytest.raises(ValueError, match="method='lasso' is unknown"):
        C.optimal_learning_curve(lam, c, 0.1, 10, method="lasso")
    with pytest.raises(ValueError, match="n must hold whole numbers"):
        C.monte_carlo_curve(lam, c, 0.1, 10.5, 1.0)
    with pytest.raises(ValueError, match="factors must end in a modes dim"):
        C.spectral_learning_curve(lam, c, 0.1, 10, torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match="nodes must be even"):
        C.gd_learning_curve(lam, c, 0.1, 10, 5, nodes=15)
