"""Sharpness-aware gradients, Grokfast filtering, Jacobians/NTK, the training Jacobian and
stability thresholds in spectrakit.core.dynamics, against independent references (closed
forms, torch.autograd.functional, finite differences, dense eigendecompositions)."""

import math

import numpy as np
import pytest
import torch

import spectrakit.core.checks as checks
from spectrakit.core.dynamics import (
    GradientEMAFilter,
    _vjp_rows,
    ema_filter_response,
    empirical_ntk,
    flatten,
    gradient_penalty_gradient,
    hvp,
    jacobian,
    ntk_eigen,
    perturbed_gradient,
    stability_threshold,
    training_jacobian,
    unflatten,
)

DT = torch.float64


def make_mlp(seed=0, sizes=(2, 8, 8, 1), n=32, dtype=DT):
    """tanh MLP with MSE on n points: (params, loss_fn, forward(ps) -> outputs, X, y)."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params.append((torch.randn(b, a, generator=g, dtype=DT) / a**0.5).to(dtype).requires_grad_())
        params.append((0.1 * torch.randn(b, generator=g, dtype=DT)).to(dtype).requires_grad_())
    X = torch.randn(n, sizes[0], generator=g, dtype=DT).to(dtype)
    y = (torch.sin(3 * X[:, :1]) * torch.cos(2 * X[:, 1:2])).to(dtype)

    def forward(ps, x=X):
        h = x
        for i in range(0, len(ps), 2):
            h = h @ ps[i].T + ps[i + 1]
            if i < len(ps) - 2:
                h = torch.tanh(h)
        return h

    return params, (lambda: ((forward(params) - y) ** 2).mean()), forward, X, y


@pytest.fixture
def mlp():
    params, loss_fn, forward, X, y = make_mlp()

    def flat_loss(flat):
        return ((forward(unflatten(flat, params)) - y) ** 2).mean()

    return params, loss_fn, flat_loss


def grad_at(flat_loss, flat):
    """The gradient of flat_loss at flat, evaluated functionally (params untouched)."""
    flat = flat.detach().clone().requires_grad_()
    return torch.autograd.grad(flat_loss(flat), flat)[0]


def snapshot(params):
    return [p.detach().clone() for p in params]


def assert_bit_equal(params, saved):
    for p, s in zip(params, saved):
        assert torch.equal(p.detach(), s)


def rel(a, b):
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


# ------------------------------------------------------------------ perturbed gradients


@pytest.mark.parametrize("normalize", [True, False])
def test_perturbed_gradient_is_the_gradient_at_the_perturbed_point(mlp, normalize):
    params, loss_fn, flat_loss = mlp
    w = flatten(snapshot(params))
    saved = snapshot(params)
    rho = 0.3
    loss, gp = perturbed_gradient(loss_fn, params, rho, normalize=normalize)
    g = grad_at(flat_loss, w)
    step = rho * g / torch.linalg.vector_norm(g) if normalize else rho * g
    ref = grad_at(flat_loss, w + step)
    assert gp.shape == w.shape and gp.dtype == DT and not gp.requires_grad
    assert rel(gp, ref) <= 1e-12
    assert rel(gp, g) > 1e-3  # the perturbation really happened
    assert loss.ndim == 0 and not loss.requires_grad
    assert float(loss) == pytest.approx(float(flat_loss(w)), rel=1e-14)
    assert_bit_equal(params, saved)
    for p in params:
        assert p.requires_grad and p.grad is None


def test_perturbed_gradient_rho_zero_and_zero_gradient(mlp):
    params, loss_fn, flat_loss = mlp
    g = grad_at(flat_loss, flatten(snapshot(params)))
    torch.testing.assert_close(perturbed_gradient(loss_fn, params, 0.0)[1], g, rtol=1e-14, atol=0)
    w = torch.ones(3, dtype=DT, requires_grad=True)  # at the minimum: g = 0, no direction
    for normalize in (True, False):
        loss, gp = perturbed_gradient(lambda: ((w - 1) ** 2).sum(), [w], 0.5, normalize=normalize)
        assert torch.equal(gp, torch.zeros(3, dtype=DT)) and float(loss) == 0.0
    lo, gp = gradient_penalty_gradient(lambda: ((w - 1) ** 2).sum(), [w], 0.5)
    assert torch.equal(gp, torch.zeros(3, dtype=DT))


def test_unused_parameter_gets_zero_gradient():
    a = torch.tensor([1.0, 2.0], dtype=DT, requires_grad=True)
    b = torch.tensor([5.0], dtype=DT, requires_grad=True)
    _, g = perturbed_gradient(lambda: (a**2).sum() / 2, [a, b], 0.5, normalize=False)
    torch.testing.assert_close(g, torch.tensor([1.5, 3.0, 0.0], dtype=DT))


@pytest.mark.parametrize("fn", ["sam", "penalty"])
def test_params_restored_bit_exactly_even_when_loss_fn_raises(fn):
    g = torch.Generator().manual_seed(5)
    w = (torch.randn(50, generator=g, dtype=DT) * 1e3).requires_grad_()
    saved = snapshot([w])
    calls, fail = [], [True]

    def loss_fn():
        calls.append(1)
        if len(calls) == 2:
            assert not torch.equal(w.detach(), saved[0])  # evaluated at the moved point
            if fail[0]:
                raise RuntimeError("boom")
        return (torch.sin(w) * w).sum()

    call = (lambda: perturbed_gradient(loss_fn, [w], 0.7)) if fn == "sam" else (
        lambda: gradient_penalty_gradient(loss_fn, [w], 0.7, eps=0.37))
    with pytest.raises(RuntimeError, match="boom"):
        call()
    assert_bit_equal([w], saved)
    calls.clear()
    fail[0] = False  # now the second call succeeds (an odd step): still bit-exact
    call()
    assert len(calls) == 2
    assert_bit_equal([w], saved)


# ----------------------------------------------------------------- gradient penalty


def test_gradient_penalty_matches_exact_hvp(mlp):
    params, loss_fn, flat_loss = mlp
    w = flatten(snapshot(params))
    saved = snapshot(params)
    rho = 0.5
    loss, gr = gradient_penalty_gradient(loss_fn, params, rho)
    g = grad_at(flat_loss, w)
    exact = g + rho * hvp(loss_fn, params, g)
    assert gr.shape == g.shape and gr.dtype == DT
    assert rel(gr, exact) <= 1e-6, rel(gr, exact)
    # and against the dense Hessian, and the gradient of the penalized loss itself
    H = torch.autograd.functional.hessian(flat_loss, w)
    assert rel(gr, g + rho * H @ g) <= 1e-6

    def penalized(flat):
        gg = torch.autograd.grad(flat_loss(flat), flat, create_graph=True)[0]
        return flat_loss(flat) + rho / 2 * (gg @ gg)

    wr = w.clone().requires_grad_()
    assert rel(gr, torch.autograd.grad(penalized(wr), wr)[0]) <= 1e-6
    assert float(loss) == pytest.approx(float(flat_loss(w)), rel=1e-14)
    assert_bit_equal(params, saved)


def test_gradient_penalty_forward_difference_error_is_first_order(mlp):
    params, loss_fn, _ = mlp
    _, g = perturbed_gradient(loss_fn, params, 0.0)
    exact = g + hvp(loss_fn, params, g)
    errs = [rel(gradient_penalty_gradient(loss_fn, params, 1.0, eps=e)[1], exact) for e in (1e-2, 1e-3)]
    assert 7 < errs[0] / errs[1] < 13, errs  # O(eps)
    default = rel(gradient_penalty_gradient(loss_fn, params, 1.0)[1], exact)
    assert default < errs[1] / 100


def test_gradient_penalty_and_usam_agree_to_first_order_in_rho(mlp):
    params, loss_fn, _ = mlp
    _, g = perturbed_gradient(loss_fn, params, 0.0)
    hg = hvp(loss_fn, params, g)
    diffs = []
    for rho in (1e-2, 5e-3):
        usam = perturbed_gradient(loss_fn, params, rho, normalize=False)[1]
        diffs.append(float(torch.linalg.vector_norm(usam - (g + rho * hg))))
    assert 3 < diffs[0] / diffs[1] < 5, diffs  # the difference is O(rho^2)


def test_float32_follows_params_dtype():
    params, loss_fn, _, _, _ = make_mlp(dtype=torch.float32)
    p64, loss64, _, _, _ = make_mlp()
    _, g = perturbed_gradient(loss64, p64, 0.0)
    exact = g + 0.5 * hvp(loss64, p64, g)
    loss, gr = gradient_penalty_gradient(loss_fn, params, 0.5)
    assert gr.dtype == loss.dtype == torch.float32
    assert rel(gr.double(), exact) <= 1e-2
    _, gs = perturbed_gradient(loss_fn, params, 0.1)
    assert gs.dtype == torch.float32


# --------------------------------------------------------------------- stability


def test_stability_threshold_closed_form():
    assert stability_threshold(0.1, 0.05) == pytest.approx(12.3607, abs=5e-5)
    assert stability_threshold(0.1, rho=0.05) == pytest.approx((math.sqrt(5) - 1) / 0.1, rel=1e-14)
    assert stability_threshold(0.1) == 20.0 and stability_threshold(0.25, 0) == 8.0
    for lr in (1e-3, 0.1, 2.0):
        for rho in (1e-12, 1e-3, 0.05, 10.0):
            lam = stability_threshold(lr, rho)
            assert lr * lam * (1 + rho * lam) == pytest.approx(2.0, rel=1e-12)
            assert lam < 2 / lr
    assert stability_threshold(0.1, 1e-300) == 20.0  # no cancellation as rho -> 0


def run_quadratic(lam, lr, rho, method, n_steps=300):
    """|w| after n_steps on L = lam w^2 / 2 from w = 1."""
    w = torch.tensor([1.0], dtype=DT, requires_grad=True)

    def loss_fn():
        return lam * (w**2).sum() / 2

    for _ in range(n_steps):
        if method == "gd":
            _, g = perturbed_gradient(loss_fn, [w], 0.0)
        elif method == "usam":
            _, g = perturbed_gradient(loss_fn, [w], rho, normalize=False)
        else:
            _, g = gradient_penalty_gradient(loss_fn, [w], rho, eps=1e-6)
        with torch.no_grad():
            w -= lr * g
    return abs(float(w.detach()))


@pytest.mark.parametrize("method,rho", [("gd", 0.0), ("usam", 0.05), ("penalty", 0.05)])
def test_quadratic_converges_below_and_diverges_above_threshold(method, rho):
    lr = 0.1
    lam_star = stability_threshold(lr, rho)
    assert run_quadratic(0.98 * lam_star, lr, rho, method) < 1e-3
    assert run_quadratic(1.02 * lam_star, lr, rho, method) > 1e3


# ----------------------------------------------------------------- Grokfast filter


def test_ema_filter_recursion_and_reset():
    g = torch.Generator().manual_seed(0)
    seq = torch.randn(30, 4, generator=g, dtype=DT)
    f = GradientEMAFilter(alpha=0.9, lamb=1.5)
    assert f.ema is None and "alpha=0.9" in repr(f)
    h = None
    for t in range(30):
        h = seq[t].clone() if h is None else 0.9 * h + 0.1 * seq[t]
        out = f(seq[t])
        torch.testing.assert_close(out, seq[t] + 1.5 * h, rtol=1e-15, atol=1e-15)
        torch.testing.assert_close(f.ema, h, rtol=1e-15, atol=1e-15)
    f.reset()
    assert f.ema is None
    torch.testing.assert_close(f(seq[0]), 2.5 * seq[0])
    # the input is not modified, the average is detached
    x = torch.ones(4, dtype=DT, requires_grad=True)
    before = x.detach().clone()
    GradientEMAFilter()(x)
    assert torch.equal(x.detach(), before)


def test_ema_filter_dc_gain_is_one_plus_lamb():
    f = GradientEMAFilter(alpha=0.98, lamb=2.0)
    g = torch.tensor([0.3, -1.2, 4.0], dtype=DT)
    for _ in range(50):
        out = f(g)
        torch.testing.assert_close(out, 3.0 * g, rtol=1e-14, atol=0)
    assert complex(ema_filter_response(0.0, 0.98, 2.0)) == pytest.approx(3.0, abs=1e-14)


@pytest.mark.parametrize("alpha,lamb", [(0.98, 2.0), (0.8, 5.0)])
def test_ema_filter_steady_state_sinusoid_matches_response(alpha, lamb):
    freqs = torch.tensor([0.0, 0.002, 0.01, 0.05, 0.2, 0.37, 0.5], dtype=DT)
    H = ema_filter_response(freqs, alpha, lamb)
    assert H.dtype == torch.complex128 and H.shape == freqs.shape
    f = GradientEMAFilter(alpha=alpha, lamb=lamb)
    n_steps = 3000  # alpha^1500 < 1e-13: the transient is gone
    outs = []
    for t in range(n_steps):
        outs.append(f(torch.cos(2 * math.pi * freqs * t)))
    t = torch.arange(n_steps - 500, n_steps, dtype=DT)[:, None]
    y = torch.stack(outs[-500:])
    ref = H.abs() * torch.cos(2 * math.pi * freqs * t + H.angle())
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    # amplitude by least squares on cos/sin (independent of the phase convention)
    for j, fr in enumerate(freqs[1:-1].tolist(), start=1):
        A = np.stack([np.cos(2 * np.pi * fr * t.numpy()[:, 0]), np.sin(2 * np.pi * fr * t.numpy()[:, 0])], 1)
        coef = np.linalg.lstsq(A, y[:, j].numpy(), rcond=None)[0]
        assert np.hypot(*coef) == pytest.approx(float(H[j].abs()), rel=1e-9)
    mag = H.abs()
    assert float(mag[0]) == pytest.approx(1 + lamb, rel=1e-14)
    assert bool((mag[1:] < mag[:-1]).all())  # monotone low-pass: high frequencies attenuated
    assert float(mag[-1]) == pytest.approx(1 + lamb * (1 - alpha) / (1 + alpha), rel=1e-13)


def test_ema_filter_response_dtypes():
    assert ema_filter_response(0.1, 0.9, 1.0).dtype == torch.complex128
    assert ema_filter_response(torch.tensor([0.1, 0.2]), 0.9, 1.0).dtype == torch.complex64
    assert ema_filter_response(torch.tensor([0, 1]), 0.9, 1.0).dtype == torch.complex128
    torch.testing.assert_close(ema_filter_response(torch.tensor(1.0, dtype=DT), 0.9, 1.0),
                               ema_filter_response(0.0, 0.9, 1.0))  # period 1 in f
    torch.testing.assert_close(ema_filter_response(-0.2, 0.9, 1.0),
                               ema_filter_response(0.2, 0.9, 1.0).conj())


# ------------------------------------------------------------------ Jacobian and NTK


@pytest.fixture
def mlp_outputs():
    params, _, forward, X, _ = make_mlp(sizes=(2, 6, 6, 2), n=10)
    return params, (lambda: forward(params)), forward


def test_jacobian_matches_autograd_functional(mlp_outputs):
    params, outputs_fn, forward = mlp_outputs
    w = flatten(snapshot(params))
    ref = torch.autograd.functional.jacobian(lambda flat: forward(unflatten(flat, params)).reshape(-1), w)
    J = jacobian(outputs_fn, params)
    assert J.shape == (20, w.numel()) and J.dtype == DT
    torch.testing.assert_close(J, ref, rtol=1e-12, atol=1e-14)
    # the row-by-row fallback gives the same matrix
    out = outputs_fn().reshape(-1)
    torch.testing.assert_close(_vjp_rows(out, params, batched=False), J, rtol=1e-14, atol=1e-15)
    # central finite differences on a few columns
    for j in (0, 7, w.numel() - 1):
        e = torch.zeros_like(w)
        e[j] = 1e-6
        with torch.no_grad():
            fd = (forward(unflatten(w + e, params)) - forward(unflatten(w - e, params))).reshape(-1) / 2e-6
        torch.testing.assert_close(J[:, j], fd, rtol=1e-6, atol=1e-8)


def test_jacobian_of_linear_model_and_unused_params():
    g = torch.Generator().manual_seed(2)
    X = torch.randn(7, 4, generator=g, dtype=DT)
    w = torch.randn(4, generator=g, dtype=DT, requires_grad=True)
    b = torch.zeros(3, dtype=DT, requires_grad=True)  # unused: zero columns
    J = jacobian(lambda: X @ w, [w, b])
    torch.testing.assert_close(J, torch.cat([X, torch.zeros(7, 3, dtype=DT)], 1), rtol=0, atol=0)
    torch.testing.assert_close(empirical_ntk(lambda: X @ w, [w, b]), X @ X.T, rtol=1e-14, atol=1e-14)


def test_ntk_and_its_eigendecomposition(mlp_outputs):
    params, outputs_fn, _ = mlp_outputs
    J = jacobian(outputs_fn, params)
    K = empirical_ntk(outputs_fn, params)
    torch.testing.assert_close(K, J @ J.T, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(K, K.T, rtol=0, atol=0)
    vals, vecs = ntk_eigen(outputs_fn, params)
    ref = np.linalg.eigvalsh(K.numpy())[::-1]
    np.testing.assert_allclose(vals.numpy(), ref, rtol=1e-10, atol=1e-12 * ref[0])
    assert bool((vals[:-1] >= vals[1:]).all())
    torch.testing.assert_close(K @ vecs, vecs * vals, rtol=0, atol=1e-10 * float(vals[0]))
    torch.testing.assert_close(vecs.T @ vecs, torch.eye(20, dtype=DT), rtol=0, atol=1e-12)
    idx = vecs.abs().argmax(dim=0)
    assert bool((vecs[idx, torch.arange(20)] > 0).all())
    v3, e3 = ntk_eigen(outputs_fn, params, k=3)
    assert v3.shape == (3,) and e3.shape == (20, 3)
    torch.testing.assert_close(v3, vals[:3]) and torch.testing.assert_close(e3, vecs[:, :3])
    # signs do not depend on the sign convention of the model
    _, neg = ntk_eigen(lambda: -outputs_fn(), params, k=3)
    torch.testing.assert_close(neg, e3, rtol=0, atol=1e-12)


def test_memory_guard(monkeypatch, mlp_outputs):
    params, outputs_fn, _ = mlp_outputs
    monkeypatch.setattr(checks, "available_bytes", lambda device: 1000.0)
    with pytest.raises(MemoryError, match=r"jacobian: the 20 x \d+ Jacobian.*fewer points"):
        jacobian(outputs_fn, params)
    with pytest.raises(MemoryError, match="empirical_ntk.*20 x 20 kernel"):
        empirical_ntk(outputs_fn, params)
    with pytest.raises(MemoryError, match="ntk_eigen|empirical_ntk"):
        ntk_eigen(outputs_fn, params)
    with pytest.raises(MemoryError, match="training_jacobian: the 100 x 100 Jacobian.*fewer parameters"):
        training_jacobian(lambda w: w, torch.zeros(100, dtype=DT), 1)


# --------------------------------------------------------------- training Jacobian


def linear_regression(n=5, d=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=DT)
    y = torch.randn(n, generator=g, dtype=DT)
    w0 = torch.randn(d, generator=g, dtype=DT)
    return X, y, w0


def test_training_jacobian_linear_regression_closed_form():
    X, y, w0 = linear_regression()
    n, d = X.shape
    lr, T = 0.05, 40
    w_before = w0.clone()

    def loss(w):
        return ((X @ w - y) ** 2).sum() / (2 * n)

    def step_formula(w):
        return w - lr * X.T @ (X @ w - y) / n

    def step_autograd(w):
        g, = torch.autograd.grad(loss(w), w, create_graph=True)
        return w - lr * g

    def step_func(w):
        return w - lr * torch.func.grad(loss)(w)

    A = torch.eye(d, dtype=DT) - lr * X.T @ X / n
    ref = torch.linalg.matrix_power(A, T)
    for step in (step_formula, step_autograd, step_func):
        J = training_jacobian(step, w0, T)
        assert J.shape == (d, d) and J.dtype == DT
        torch.testing.assert_close(J, ref.T, rtol=0, atol=1e-10)
    assert torch.equal(w0, w_before)
    # singular values: 1 on the null space of X (d - n of them), |1 - lr mu|^T on the row space
    sv = torch.linalg.svdvals(J)
    mu = np.linalg.eigvalsh((X.T @ X / n).numpy())[-n:]
    expected = np.sort(np.concatenate([np.ones(d - n), np.abs(1 - lr * mu) ** T]))[::-1]
    np.testing.assert_allclose(sv.numpy(), expected, rtol=0, atol=1e-10)
    assert int((sv > 1 - 1e-10).sum()) == d - n


def test_training_jacobian_mlp_against_finite_differences_of_the_run():
    params, _, forward, X, y = make_mlp(seed=1, sizes=(2, 5, 1), n=16)
    w0 = flatten(snapshot(params))
    lr, T = 0.2, 20

    def loss(w):
        return ((forward(unflatten(w, params)) - y) ** 2).mean()

    def step(w):
        return w - lr * torch.func.grad(loss)(w)

    def run(w):
        for _ in range(T):
            w = step(w)
        return w

    J = training_jacobian(step, w0, T)
    assert J.shape == (w0.numel(), w0.numel())
    assert rel(J, torch.eye(w0.numel(), dtype=DT)) > 1e-2  # training moved things
    ref = torch.autograd.functional.jacobian(run, w0)
    torch.testing.assert_close(J, ref, rtol=1e-10, atol=1e-12)
    h = 1e-5
    for j in (0, 4, 9, w0.numel() - 1):
        e = torch.zeros_like(w0)
        e[j] = h
        fd = (run(w0 + e) - run(w0 - e)) / (2 * h)
        torch.testing.assert_close(J[:, j], fd, rtol=1e-6, atol=1e-8)
    # the create_graph autograd step gives the same matrix, through the row-loop fallback too
    def step_ag(w):
        g, = torch.autograd.grad(loss(w), w, create_graph=True)
        return w - lr * g

    torch.testing.assert_close(training_jacobian(step_ag, w0, T), J, rtol=1e-12, atol=1e-13)


def test_training_jacobian_zero_steps_and_float32():
    w0 = torch.arange(3.0)
    assert torch.equal(training_jacobian(lambda w: 2 * w, w0, 0), torch.eye(3))
    J = training_jacobian(lambda w: 0.5 * w, w0, 3)
    assert J.dtype == torch.float32
    torch.testing.assert_close(J, 0.125 * torch.eye(3))


# ------------------------------------------------------------------------ bad input


def test_bad_inputs():
    w = torch.tensor([1.0, 2.0], dtype=DT, requires_grad=True)

    def loss_fn():
        return (w**2).sum()

    for bad, err, msg in [(-0.1, ValueError, "rho must be >= 0"), (float("nan"), ValueError, "rho must be finite"),
                          (float("inf"), ValueError, "rho must be finite"), ("a", TypeError, "rho must be a real"),
                          (True, TypeError, "rho must be a real")]:
        with pytest.raises(err, match=msg):
            perturbed_gradient(loss_fn, [w], bad)
        with pytest.raises(err, match=msg):
            gradient_penalty_gradient(loss_fn, [w], bad)
    with pytest.raises(TypeError, match="normalize"):
        perturbed_gradient(loss_fn, [w], 0.1, normalize="yes")
    with pytest.raises(ValueError, match="eps must be > 0"):
        gradient_penalty_gradient(loss_fn, [w], 0.1, eps=0.0)
    with pytest.raises(ValueError, match="loss_fn.*scalar"):
        perturbed_gradient(lambda: w * 2, [w], 0.1)
    with pytest.raises(ValueError, match="require grad"):
        perturbed_gradient(loss_fn, [w.detach()], 0.1)
    with pytest.raises(TypeError, match="loss_fn must be a callable"):
        gradient_penalty_gradient(3.0, [w], 0.1)

    with pytest.raises(ValueError, match="lr must be > 0"):
        stability_threshold(0.0)
    with pytest.raises(ValueError, match="lr must be finite"):
        stability_threshold(float("inf"))
    with pytest.raises(ValueError, match="rho must be >= 0"):
        stability_threshold(0.1, -1.0)
    with pytest.raises(ValueError, match="rho must be finite"):
        stability_threshold(0.1, float("nan"))

    with pytest.raises(ValueError, match="alpha must be < 1"):
        GradientEMAFilter(alpha=1.0)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        GradientEMAFilter(alpha=-0.1)
    with pytest.raises(ValueError, match="lamb must be >= 0"):
        GradientEMAFilter(lamb=-1.0)
    with pytest.raises(ValueError, match="alpha must be < 1"):
        ema_filter_response(0.1, 1.5, 1.0)
    f = GradientEMAFilter()
    with pytest.raises(TypeError, match="grad must be a floating-point"):
        f([1.0, 2.0])
    with pytest.raises(TypeError, match="grad must be a floating-point"):
        f(torch.tensor([1, 2]))
    f(torch.zeros(3))
    with pytest.raises(ValueError, match=r"grad is \(4,\).*reset\(\)"):
        f(torch.zeros(4))
    with pytest.raises(ValueError, match="freq has non-finite"):
        ema_filter_response(torch.tensor([0.1, float("nan")]), 0.9, 1.0)
    with pytest.raises(TypeError, match="freq must be"):
        ema_filter_response("0.1", 0.9, 1.0)

    with pytest.raises(TypeError, match="outputs_fn must be a callable"):
        jacobian(None, [w])
    with pytest.raises(TypeError, match="outputs_fn\\(\\) must return a floating-point"):
        jacobian(lambda: [1.0], [w])
    with pytest.raises(ValueError, match="do not depend on params"):
        jacobian(lambda: torch.ones(3, dtype=DT), [w])
    with pytest.raises(ValueError, match="empty"):
        empirical_ntk(lambda: w[:0], [w])
    with pytest.raises(ValueError, match="k must be <= the number of outputs"):
        ntk_eigen(lambda: w * 2, [w], k=3)
    with pytest.raises(ValueError, match="k must be >= 1"):
        ntk_eigen(lambda: w * 2, [w], k=0)

    w0 = torch.zeros(3, dtype=DT)
    with pytest.raises(TypeError, match="step must be a callable"):
        training_jacobian("step", w0, 1)
    with pytest.raises(ValueError, match="w0 must be a non-empty flat"):
        training_jacobian(lambda v: v, torch.zeros(2, 2), 1)
    with pytest.raises(TypeError, match="w0 must be a torch.Tensor"):
        training_jacobian(lambda v: v, [0.0, 1.0], 1)
    with pytest.raises(ValueError, match="w0 has non-finite"):
        training_jacobian(lambda v: v, torch.tensor([0.0, float("nan")]), 1)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        training_jacobian(lambda v: v, w0, -1)
    with pytest.raises(TypeError, match="steps must be an integer"):
        training_jacobian(lambda v: v, w0, 2.5)
    with pytest.raises(ValueError, match=r"step must return a flat tensor of shape \(3,\)"):
        training_jacobian(lambda v: v[:2], w0, 1)
    with pytest.raises(ValueError, match="does not depend on its input"):
        training_jacobian(lambda v: v.detach() * 2, w0, 1)


@pytest.mark.gpu
def test_cuda_results_follow_params_and_match_cpu():
    X, y, w0 = linear_regression()
    step = lambda w: w - 0.05 * X.cuda().T @ (X.cuda() @ w - y.cuda()) / 5  # noqa: E731
    J = training_jacobian(step, w0.cuda(), 10)
    assert J.device.type == "cuda"
    ref = training_jacobian(lambda w: w - 0.05 * X.T @ (X @ w - y) / 5, w0, 10)
    torch.testing.assert_close(J.cpu(), ref, rtol=1e-10, atol=1e-12)
    params, loss_fn, forward, Xm, ym = make_mlp()
    cparams = [p.detach().cuda().requires_grad_() for p in params]

    def closs():
        return ((forward(cparams, Xm.cuda()) - ym.cuda()) ** 2).mean()

    for fn in (lambda lf, ps: perturbed_gradient(lf, ps, 0.1), lambda lf, ps: gradient_penalty_gradient(lf, ps, 0.1)):
        lc, gc = fn(closs, cparams)
        l0, g0 = fn(loss_fn, params)
        assert gc.device.type == "cuda" and lc.device.type == "cuda"
        torch.testing.assert_close(gc.cpu(), g0, rtol=1e-6, atol=1e-9)
    K = empirical_ntk(lambda: forward(cparams, Xm.cuda()), cparams)
    assert K.device.type == "cuda"
    torch.testing.assert_close(K.cpu(), empirical_ntk(lambda: forward(params), params), rtol=1e-10, atol=1e-12)
