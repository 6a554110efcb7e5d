"""WeightSession (spectrakit.tuning.weights): streaming determinism, recorded spectra against
dense references (numpy SVD of the weights, the dense matrix of each conv layer), the
ordering of the estimates and bounds, the regularizers' gradients against closed forms,
exact spectral normalization, loss of plasticity over a task sequence without
regularization and its absence with spectral regularization, and input checks. CPU."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import xarray as xr

from spectrakit.core.weights import conv_matrix, lipschitz_bound
from spectrakit.tuning import WeightSession
from spectrakit.tuning.weights import make_task

SMALL = dict(hidden=(12, 10), n=24, n_test=12, classes=4, input_shape=(6,), device="cpu")
CONV = dict(architecture="conv", input_shape=(2, 4, 5), hidden=(3, 2), n=10, n_test=6, classes=3, device="cpu")


def small(**kw):
    return WeightSession(**{**SMALL, **kw})


def layers(s):
    return [m for m in s.model if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]


def dense_of(module, in_shape):
    """The matrix of a layer without its bias, by applying it to every basis vector."""
    n = math.prod(in_shape)
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *in_shape)
    with torch.no_grad():
        out = module(basis) - module(torch.zeros(1, *in_shape, dtype=torch.float64))
    return out.reshape(n, -1).T.numpy()


# ----------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("kw", [
    dict(method="spectral", reg=0.1, tasks=3, steps_per_task=5, batch_size=8, power=2),
    dict(CONV, method="orthogonal", reg=0.01, optimizer="sgd", lr=0.05, tasks=None, steps_per_task=6,
         task="permuted", record_every=2, spectrum_every=4),
    dict(method="normalize", target=1.5, task="teacher", tasks=2, steps_per_task=7, activation="tanh"),
])
def test_pause_resume_equals_uninterrupted(kw):
    def change(s):  # slider moves after step 7: lr, reg and target
        if s.step == 7:
            s.lr, s.reg, s.target = 0.5 * s.lr, 2 * s.reg, 0.8

    opts = {**SMALL, **kw}
    whole = WeightSession(**opts).run(16, chunk=7, callback=change)
    parts = WeightSession(**opts).run(7)
    change(parts)
    parts.run(0).run(4).run(5)
    xr.testing.assert_identical(whole.history, parts.history)
    for a, b in zip(whole.model.parameters(), parts.model.parameters()):
        assert torch.equal(a, b)
    h = whole.history
    assert h.lr.values[0] == 2 * h.lr.values[-1] and h.target.values[-1] == 0.8
    assert h.reg.values[-1] == 2 * h.reg.values[0]


def test_reset_reproduces_and_seed_matters():
    s = small(reg=0.1, batch_size=8, tasks=2, steps_per_task=5)
    first = s.run(12).history
    again = s.reset().run(12).history
    xr.testing.assert_identical(first, again)
    assert s.step == 12 and first.sizes["step"] == 13
    other = small(reg=0.1, batch_size=8, tasks=2, steps_per_task=5, seed=1).run(12).history
    assert not np.array_equal(first.singular_values.values, other.singular_values.values)
    np.testing.assert_array_equal(first.end_step.values, [5, 10])


def test_callback_per_chunk():
    seen = []
    small().run(10, chunk=3, callback=lambda s: seen.append(s.step))
    assert seen == [3, 6, 9, 10]


# ----------------------------------------------------------------------------- recorded values


def test_recorded_spectra_losses_and_dead_units_match_references():
    s = small(reg=0.05, tasks=2, steps_per_task=4)
    h = s.run(6).history  # the state now is step 6, on task 1
    last = h.isel(step=-1)
    assert int(last.step) == 6 and int(last.task) == 1
    for j, m in enumerate(layers(s)):
        ref = np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)
        got = last.singular_values.sel(layer=j)
        assert int(h.n_values.sel(layer=j)) == ref.size
        np.testing.assert_allclose(got.values[: ref.size], ref, rtol=1e-12, atol=1e-14)
        assert np.isnan(got.values[ref.size:]).all()
        assert float(last.spectral_norm.sel(layer=j)) == pytest.approx(ref[0], rel=1e-12)
    # losses, accuracies and dead units by numpy from the weights
    w = [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in layers(s)]
    task = make_task("labels", 1, n=24, n_test=12, input_shape=(6,), classes=4, device="cpu")

    def forward(x):
        hidden = []
        for W, b in w[:-1]:
            x = np.maximum(x @ W.T + b, 0)
            hidden.append(x)
        return x @ w[-1][0].T + w[-1][1], hidden

    def ce(logits, y):
        z = logits - logits.max(1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]))

    logits, hidden = forward(task.x.numpy())
    y = task.y.numpy()
    assert float(last.loss) == pytest.approx(ce(logits, y), rel=1e-12)
    assert float(last.accuracy) == np.mean(logits.argmax(1) == y)
    test_logits, _ = forward(task.x_test.numpy())
    assert float(last.test_loss) == pytest.approx(ce(test_logits, task.y_test.numpy()), rel=1e-12)
    dead = sum(int((hh <= 0).all(0).sum()) for hh in hidden) / sum(hh.shape[1] for hh in hidden)
    assert float(last.dead_fraction) == dead
    assert float(last.penalty) == pytest.approx(sum((float(v) - 1) ** 2 for v in last.spectral_norm), rel=1e-12)
    # the end of task 0 (step 4) is the record at step 4
    assert float(h.end_loss.sel(task_end=0)) == float(h.loss.sel(step=4))
    np.testing.assert_array_equal(h.end_spectral_norm.sel(task_end=0), h.spectral_norm.sel(step=4))


def test_conv_singular_values_match_dense_conv_matrix():
    s = WeightSession(**CONV, reg=0.1).run(3)
    last = s.history.isel(step=-1)
    shapes = [(2, 4, 5), (3, 4, 5), (2 * 4 * 5,)]
    assert list(s.history.kind.values) == ["conv2d", "conv2d", "linear"]
    for j, (m, shape) in enumerate(zip(layers(s), shapes)):
        got = last.singular_values.sel(layer=j).dropna("mode").values
        if isinstance(m, torch.nn.Conv2d):
            dense = conv_matrix(m.weight.detach(), (4, 5))
            ref = torch.linalg.svdvals(dense).numpy()
            # and conv_matrix is the layer's own operator (bias removed)
            np.testing.assert_allclose(dense.numpy(), dense_of(m, shape), atol=1e-13)
        else:
            ref = np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(reg=0.1), dict(CONV, method="orthogonal", reg=0.01),
                                dict(method="normalize", target=1.3, activation="tanh")])
def test_estimates_and_bounds_are_ordered(kw):
    s = WeightSession(**{**SMALL, **kw}).run(8)
    h = s.history
    assert (h.gram_bound >= h.spectral_norm).all() and (h.spectral_norm >= h.power_estimate).all()
    assert (h.max_input_gradient <= h.lipschitz_bound).all()
    np.testing.assert_allclose(h.lipschitz_bound, h.spectral_norm.prod("layer"), rtol=1e-12)
    last = h.isel(step=-1)
    assert float(last.lipschitz_bound) == pytest.approx(float(lipschitz_bound(s.model, s.grid).detach()), rel=1e-10)
    # the largest input gradient by autograd, one sample at a time
    model, x = s.model, s.data.x
    ref = max(float(torch.linalg.matrix_norm(
        torch.autograd.functional.jacobian(lambda v: model(v[None])[0], xi).reshape(s.classes, -1), ord=2))
        for xi in x)
    assert float(last.max_input_gradient) == pytest.approx(ref, rel=1e-10)


def test_persistent_power_estimate_approaches_the_norm():
    h = small(power_iters=2, gram_iters=6).run(40).history
    gap = (h.spectral_norm - h.power_estimate) / h.spectral_norm
    assert float(gap.isel(step=-1).max()) < 0.3 * float(gap.isel(step=0).max())
    assert float(((h.gram_bound - h.spectral_norm) / h.spectral_norm).max()) < 1e-2


# ----------------------------------------------------------------------------- regularizers


@pytest.mark.parametrize("other", [dict(method="none", reg=0.3), dict(method="orthogonal", reg=0.0)])
def test_reg_zero_is_plain_training_bit_for_bit(other):
    base = dict(tasks=2, steps_per_task=4, batch_size=8)
    a = small(method="spectral", reg=0.0, **base).run(9)
    b = small(**base, **other).run(9)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)
    ha, hb = a.history, b.history
    for name in ("loss", "test_loss", "singular_values", "power_estimate", "gram_bound", "max_input_gradient"):
        xr.testing.assert_identical(ha[name], hb[name])


def test_spectral_penalty_gradient_matches_closed_form():
    for power, target in ((1, 1.0), (2, 0.7)):
        s = small(reg=1.0, power=power, target=target)
        ws = [m.weight for m in layers(s)]
        pen = s.penalty()
        grads = torch.autograd.grad(pen, ws)
        value = 0.0
        for w, g in zip(ws, grads):
            U, S, Vt = np.linalg.svd(w.detach().numpy())
            value += (S[0] ** power - target**power) ** 2
            ref = 2 * (S[0] ** power - target**power) * power * S[0] ** (power - 1) * np.outer(U[:, 0], Vt[0])
            np.testing.assert_allclose(g.numpy(), ref, rtol=1e-9, atol=1e-12)
        assert float(pen.detach()) == pytest.approx(value, rel=1e-12)


def test_conv_spectral_penalty_gradient_matches_dense_closed_form():
    s = WeightSession(**CONV, reg=1.0, target=0.5)
    convs = [m for m in layers(s) if isinstance(m, torch.nn.Conv2d)]
    grads = torch.autograd.grad(s.penalty(), [m.weight for m in convs])
    for m, g in zip(convs, grads):
        w = m.weight.detach().clone().requires_grad_(True)
        U, S, Vt = np.linalg.svd(conv_matrix(w.detach(), (4, 5)).numpy())
        u, v = torch.as_tensor(U[:, 0]), torch.as_tensor(Vt[0])
        # d sigma_1 / dw = u^T (dM/dw) v: M is linear in w
        (dsigma,) = torch.autograd.grad(u @ conv_matrix(w, (4, 5)) @ v, w)
        np.testing.assert_allclose(g.numpy(), (2 * (S[0] - 0.5) * dsigma).numpy(), rtol=1e-8, atol=1e-11)


def test_orthogonal_penalty_gradient_matches_closed_form():
    target = 0.8
    s = small(method="orthogonal", reg=1.0, target=target, hidden=(12,), input_shape=(6,))  # tall, then wide
    ws = [m.weight for m in layers(s)]
    grads = torch.autograd.grad(s.penalty(), ws)
    for w, g in zip(ws, grads):
        W = w.detach().numpy()
        if W.shape[0] >= W.shape[1]:
            ref = 4 * W @ (W.T @ W - target**2 * np.eye(W.shape[1]))
        else:
            ref = 4 * (W @ W.T - target**2 * np.eye(W.shape[0])) @ W
        np.testing.assert_allclose(g.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_one_sgd_step_is_loss_plus_reg_times_penalty():
    s = small(reg=0.3, optimizer="sgd", lr=0.1)
    before = [p.detach().clone() for p in s.model.parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in s.model.parameters()]
    x, y = s.data.x, s.data.y
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i].T + params[i + 1]
        if i + 2 < len(params):
            h = torch.relu(h)
    pen = sum((torch.linalg.matrix_norm(params[i], ord=2) - 1.0) ** 2 for i in range(0, len(params), 2))
    grads = torch.autograd.grad(F.cross_entropy(h, y) + 0.3 * pen, params)
    s.run(1)
    for b, g, p in zip(before, grads, s.model.parameters()):
        torch.testing.assert_close(p.detach(), b - 0.1 * g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kw", [dict(), CONV])
def test_normalize_gives_the_target_norm_at_every_step(kw):
    def move(s):
        if s.step == 5:
            s.target = 0.6

    s = WeightSession(**{**SMALL, **kw}, method="normalize", target=2.5, lr=0.05).run(10, chunk=5, callback=move)
    h = s.history
    np.testing.assert_allclose(h.spectral_norm, h.target.broadcast_like(h.spectral_norm), rtol=1e-6)
    assert h.target.values[0] == 2.5 and h.target.values[-1] == 0.6
    assert h.loss.values[-1] < h.loss.values[0]  # it trains
    # the layers compute with the normalized weights
    for m in layers(s):
        if isinstance(m, torch.nn.Linear):
            norm = torch.linalg.matrix_norm(m.weight.detach(), ord=2)
        else:
            norm = torch.linalg.matrix_norm(conv_matrix(m.weight.detach(), s.grid), ord=2)
        assert float(norm) == pytest.approx(0.6, rel=1e-6)
    np.testing.assert_allclose(h.lipschitz_bound, h.target**3, rtol=1e-6)


# ----------------------------------------------------------------------------- continual learning


def test_spectral_regularization_keeps_plasticity_over_a_task_sequence():
    """Random-label tasks, MLP 6-32-32-10, Adam lr 0.03, 5 tasks of 100 steps, 3 seeds.

    Measured (float32): without regularization the end-of-task training loss goes from
    ~0.000 on task 0 to 1.83-1.95 on task 4, dead units from 2-3% to 33-36%, the largest
    layer norm from ~5.7 to ~17; with spectral regularization (reg=0.1, target 1) the
    end-of-task loss stays at 0.10-0.13 (last / first <= 1.2), dead units <= 9% and
    the norms at ~2.
    """
    opts = dict(tasks=5, steps_per_task=100, hidden=(32, 32), lr=3e-2, record_every=100,
                spectrum_every=100, device="cpu", dtype=torch.float32)
    for seed in (0, 1, 2):
        plain = WeightSession(method="none", seed=seed, data_seed=seed, **opts).run(500).history
        spec = WeightSession(method="spectral", reg=0.1, seed=seed, data_seed=seed, **opts).run(500).history
        lp, ls = plain.end_loss.values, spec.end_loss.values
        assert lp[0] < 0.05 and lp[-1] > 1.0 and lp[-1] > lp[0] + 1.0  # plasticity lost
        assert ls[-1] < 1.5 * ls[0] and ls[-1] < 0.2 * lp[-1]  # kept
        assert float(plain.end_dead_fraction[-1]) > 0.2 > 0.15 > float(spec.end_dead_fraction[-1])
        assert float(plain.end_spectral_norm[-1].max()) > 10 > 3 > float(spec.end_spectral_norm[-1].max())
        assert (plain.end_spectral_norm.max("layer").diff("task_end") > 0).all()  # grows every task


# ----------------------------------------------------------------------------- tasks


def test_task_bookkeeping_and_after_the_last_task():
    s = small(tasks=2, steps_per_task=3, record_every=2)
    h = s.run(9).history
    np.testing.assert_array_equal(h.step, [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(h.task, [0, 0, 1, 1, 1])  # step 4 trained on task 1; past step 6: still 1
    np.testing.assert_array_equal(h.end_step, [3, 6])
    np.testing.assert_array_equal(h.task_end, [0, 1])
    assert s.task == 1 and s.task_of(7) == 1 and s.task_of(0) == 0 and s.total_steps == 6
    endless = small(tasks=None, steps_per_task=2).run(7)
    assert endless.task == 3 and endless.history.sizes["task_end"] == 3 and endless.total_steps is None
    assert endless.history.attrs["tasks"] == -1


def test_make_task_kinds():
    kw = dict(n=20, n_test=8, input_shape=(5,), classes=3, device="cpu")
    a, b = make_task("labels", 0, **kw), make_task("labels", 1, **kw)
    assert torch.equal(a.x, b.x) and not torch.equal(a.y, b.y)
    assert int(a.y.min()) >= 0 and int(a.y.max()) <= 2 and a.x.dtype == torch.float64
    t0, t1 = make_task("teacher", 0, **kw), make_task("teacher", 1, **kw)
    assert torch.equal(t0.x, t1.x) and not torch.equal(t0.y, t1.y)
    assert torch.equal(t1.y, make_task("teacher", 1, **kw).y)
    p0, p1 = make_task("permuted", 0, **kw), make_task("permuted", 1, **kw)
    assert torch.equal(p0.y, p1.y) and not torch.equal(p0.x, p1.x)
    assert torch.equal(p0.x.sort(1).values, p1.x.sort(1).values)  # a permutation of the features
    img = make_task("permuted", 2, n=4, n_test=2, input_shape=(1, 3, 3), classes=2, device="cpu")
    assert img.x.shape == (4, 1, 3, 3) and img.x_test.shape == (2, 1, 3, 3)
    assert make_task("labels", 0, seed=1, **kw).x.ne(a.x).any()


# ----------------------------------------------------------------------------- api and checks


def test_replace_and_spectra():
    s = small(reg=0.2, lr=0.02).run(3)
    s.target = 1.5
    t = s.replace(method="orthogonal")
    assert (t.method, t.reg, t.lr, t.target, t.step) == ("orthogonal", 0.2, 0.02, 1.5, 0)
    c = s.replace(architecture="conv", input_shape=(1, 4, 4), hidden=(2,))
    assert c.grid == (4, 4) and c.history.sizes["layer"] == 2
    assert s.replace(architecture="conv").input_shape == (1, 8, 8)
    with pytest.raises(TypeError, match="unknown options.*'foo'"):
        s.replace(foo=1)
    now = s.spectra()
    xr.testing.assert_equal(now.singular_values, s.history.singular_values.isel(step=-1, drop=True)
                            .drop_vars(["task"], errors="ignore"))
    assert now.attrs["step"] == 3
    assert "WeightSession(mlp" in repr(s)


@pytest.mark.parametrize("kw, exc, match", [
    (dict(method="l2"), ValueError, "method='l2' is unknown"),
    (dict(task="mnist"), ValueError, "task='mnist' is unknown"),
    (dict(architecture="resnet"), ValueError, "architecture='resnet'"),
    (dict(activation="gelu"), ValueError, "activation='gelu'"),
    (dict(optimizer="lbfgs"), ValueError, "optimizer='lbfgs'"),
    (dict(reg=-0.1), ValueError, "reg must be >= 0"),
    (dict(reg=float("nan")), ValueError, "reg must be finite"),
    (dict(reg="big"), TypeError, "reg must be a real number"),
    (dict(target=0.0), ValueError, "target must be > 0"),
    (dict(lr=0.0), ValueError, "lr must be"),
    (dict(power=0), ValueError, "power must be >= 1"),
    (dict(tasks=0), ValueError, "tasks must be >= 1"),
    (dict(steps_per_task=2.5), TypeError, "steps_per_task must be an integer"),
    (dict(batch_size=100), ValueError, "batch_size must be <= n"),
    (dict(classes=1), ValueError, "classes must be >= 2"),
    (dict(input_shape=(1, 8, 8)), ValueError, r"input_shape must be \(d,\) for architecture='mlp'"),
    (dict(architecture="conv", input_shape=(1, 2, 8)), ValueError, "at least 3 x 3"),
    (dict(hidden=(8, 0)), ValueError, r"hidden\[1\] must be >= 1"),
    (dict(record_every=2, spectrum_every=3), ValueError, "spectrum_every must be a multiple of record_every"),
    (dict(power_iters=0), ValueError, "power_iters must be >= 1"),
    (dict(gram_iters=-1), ValueError, "gram_iters must be >= 0"),
])
def test_bad_input_names_the_argument(kw, exc, match):
    with pytest.raises(exc, match=match):
        small(**kw)


def test_bad_settings_and_run_arguments():
    s = small()
    for name, value, exc in (("lr", -1.0, ValueError), ("reg", -1.0, ValueError), ("target", 0.0, ValueError),
                             ("reg", None, TypeError)):
        with pytest.raises(exc, match=name):
            setattr(s, name, value)
    assert (s.lr, s.reg, s.target) == (1e-2, 0.0, 1.0)  # unchanged
    with pytest.raises(ValueError, match="steps must be >= 0"):
        s.run(-1)
    with pytest.raises(ValueError, match="chunk must be >= 1"):
        s.run(2, chunk=0)
    with pytest.raises(ValueError, match="kind='x' is unknown"):
        make_task("x")
    with pytest.raises(ValueError, match=r"input_shape must be \(d,\) or \(C, H, W\)"):
        make_task(input_shape=(3, 3))


def test_divergence_is_reported():
    s = small(optimizer="sgd", lr=1e30)
    with pytest.raises(FloatingPointError, match="lower lr"):
        s.run(5)


def test_replace_record_every_keeps_a_default_spectrum_every_in_step():
    from spectrakit.tuning import WeightSession

    t = WeightSession(tasks=1, steps_per_task=10).replace(record_every=10)
    assert (t.record_every, t.spectrum_every) == (10, 10)
