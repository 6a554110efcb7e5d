"""TrainingSession (spectrakit.tuning.dynamics): streaming determinism, recorded spectra,
sharpness, the spectral bias at small scale, and input checks. CPU, a few seconds."""

import numpy as np
import pytest
import torch
import xarray as xr

from spectrakit.core.dynamics import flatten, unflatten
from spectrakit.tuning.dynamics import TrainingSession

X = np.arange(256) / 256  # 1 unit long: grid frequencies are integers 0..128
FREQS = (1, 4, 16)
Y = sum(np.sin(2 * np.pi * f * X) for f in FREQS)


def small(**kw):
    x = np.arange(64) / 64
    y = np.sin(2 * np.pi * x) + 0.5 * np.sin(2 * np.pi * 5 * x)
    opts = dict(hidden=(16, 16), lr=1e-2, optimizer="adam", dtype=torch.float64, seed=3)
    opts.update(kw)
    return TrainingSession(x, y, **opts)


# ----------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("kw", [
    dict(optimizer="adam"),
    dict(optimizer="sgd", batch_size=16, lr=5e-2),
    dict(optimizer="gd", lr=5e-2, weight_decay=1e-3, fourier_features=3.0),
    dict(optimizer="adam", batch_size=8, record_every=3, hessian_k=2, hessian_every=6),
])
def test_pause_resume_equals_uninterrupted(kw):
    whole = small(**kw).run(20)
    parts = small(**kw).run(7).run(0).run(13)
    chunked = small(**kw).run(20, chunk=4)
    xr.testing.assert_identical(whole.history, parts.history)
    xr.testing.assert_identical(whole.history, chunked.history)
    for a, b in zip(whole.model.parameters(), parts.model.parameters()):
        assert torch.equal(a, b)


def test_reset_reproduces_and_seed_matters():
    s = small(optimizer="sgd", batch_size=16, lr=5e-2)
    first = s.run(15).history
    again = s.reset().run(15).history
    xr.testing.assert_identical(first, again)
    assert s.step == 15 and first.sizes["step"] == 16
    other = small(optimizer="sgd", batch_size=16, lr=5e-2, seed=4).run(15).history
    assert not np.array_equal(first.loss.values, other.loss.values)


def test_callback_per_chunk():
    seen = []
    small().run(10, chunk=3, callback=lambda s: seen.append(s.step))
    assert seen == [3, 6, 9, 10]


# ----------------------------------------------------------------------------- recorded values


def _independent_output(session):
    # the default MLP's input is x mapped onto [-1, 1]; evaluate the model directly
    xin = torch.tensor(2 * (session.x - session.x.min()) / (session.x.max() - session.x.min()) - 1)[:, None]
    with torch.no_grad():
        return session.model(xin.to(session.dtype)).reshape(-1).numpy()


def test_residual_amplitude_matches_numpy_rfft():
    s = small()
    r = _independent_output(s) - s.y
    amp = np.abs(np.fft.rfft(r)) / r.size
    amp[1:-1] *= 2  # one-sided; even N: Nyquist not doubled
    h = s.history
    np.testing.assert_allclose(h.residual_amplitude.sel(step=0).values, amp, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(h.freq.values, np.fft.rfftfreq(64, 1 / 64))
    # a pure sine residual of amplitude A reads A at its frequency
    s.run(5)
    r = _independent_output(s) - s.y
    amp = np.abs(np.fft.rfft(r)) / r.size
    amp[1:-1] *= 2
    np.testing.assert_allclose(s.history.residual_amplitude.sel(step=5).values, amp, rtol=1e-10, atol=1e-14)


def test_amplitude_normalisation_of_a_sine():
    x = np.arange(64) / 64
    s = TrainingSession(x, np.zeros(64), hidden=(4,), dtype=torch.float64)
    with torch.no_grad():
        for p in s.model.parameters():
            p.zero_()
    s._y = torch.tensor(-3.0 * np.sin(2 * np.pi * 5 * x))  # residual = 3 sin(2 pi 5 x)
    s._record()
    amp = s.history.residual_amplitude.isel(step=-1)
    assert float(amp.sel(freq=5)) == pytest.approx(3.0, rel=1e-12)
    assert float(amp.drop_sel(freq=5).max()) < 1e-12


def test_loss_matches_independent_evaluation():
    s = small(optimizer="sgd", batch_size=16, lr=5e-2).run(9)
    loss = np.mean((_independent_output(s) - s.y) ** 2)
    assert float(s.history.loss.sel(step=9)) == pytest.approx(loss, rel=1e-12)
    assert s.history.loss.values[-1] < s.history.loss.values[0]


def test_history_layout_and_attrs():
    da = xr.DataArray(np.sin(2 * np.pi * X[:128] * 2), dims="t", coords={"t": 0.5 * X[:128]})
    s = TrainingSession(da, hidden=(8,), lr=1e-2, optimizer="adam", record_every=5, hessian_k=2, seed=1)
    h = s.run(10).history
    assert h.loss.dims == ("step",) and h.residual_amplitude.dims == ("step", "freq")
    assert h.hessian_eigenvalues.dims == ("step", "mode")
    assert h.step.values.tolist() == [0, 5, 10] and h.step.dtype.kind == "i"
    assert h.mode.values.tolist() == [0, 1]
    np.testing.assert_allclose(h.freq.values, np.fft.rfftfreq(128, 0.5 / 256))  # cycles per unit of t
    assert "t" in h.freq.attrs["units"]
    assert h.attrs["optimizer"] == "adam" and h.attrs["seed"] == 1
    assert h.lr.dims == ("step",) and (h.lr == 1e-2).all() and h.stability_threshold.isnull().all()  # Adam
    assert h.top_space_share.dims == ("step",) and "hessian_trace" not in h
    assert h.attrs["device"] == "cpu" and h.attrs["dtype"] == "float64"
    np.testing.assert_array_equal(h.sharpness.values, h.hessian_eigenvalues.sel(mode=0).values)
    assert h.residual_amplitude.dtype == np.float64


# ----------------------------------------------------------------------------- sharpness


def test_sharpness_matches_dense_hessian():
    s = small(hidden=(6,), optimizer="gd", lr=5e-2, hessian_k=3)
    s.run(4)
    params = [p for p in s.model.parameters()]
    theta0 = flatten([p.detach() for p in params])

    def loss_of(theta):
        ps = unflatten(theta, params)
        h = torch.nn.functional.relu(s._inputs @ ps[0].T + ps[1])
        out = (h @ ps[2].T + ps[3]).reshape(-1)
        return torch.mean((out - s._y) ** 2)

    H = torch.autograd.functional.hessian(loss_of, theta0)
    dense = torch.linalg.eigvalsh(H).flip(0)[:3].numpy()
    rec = s.history.hessian_eigenvalues.sel(step=4).values
    np.testing.assert_allclose(rec, dense, rtol=1e-6)
    assert float(s.history.sharpness.sel(step=4)) == pytest.approx(dense[0], rel=1e-6)


def test_hessian_every_leaves_nan_between():
    h = small(hessian_k=1, record_every=2, hessian_every=4).run(8).history
    sharp = h.sharpness.values
    assert np.isfinite(sharp[[0, 2, 4]]).all() and np.isnan(sharp[[1, 3]]).all()


# ----------------------------------------------------------------------------- spectral bias

# Settings (checked on seeds 0-4): y = sin(2 pi x) + sin(2 pi 4x) + sin(2 pi 16x) on 256
# points of [0, 1); default ReLU MLP (64, 64), Adam lr 3e-3, float32, full batch, 400
# steps. Frequency 1 halves within ~10 steps, frequency 4 within ~200-280, frequency 16
# not within 400 (nor 2000). With Fourier features sigma = 10 all three halve within ~30.


def _halving_steps(h):
    amp = h.residual_amplitude.sel(freq=list(FREQS))
    out = {}
    for f in FREQS:
        a = amp.sel(freq=f).values
        below = np.flatnonzero(a < a[0] / 2)
        out[f] = int(h.step[below[0]]) if below.size else np.inf
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_spectral_bias_low_frequencies_first(seed):
    s = TrainingSession(X, Y, optimizer="adam", lr=3e-3, seed=seed, dtype=torch.float32)
    h = s.run(400).history
    t = _halving_steps(h)
    assert t[1] < t[4] < t[16]
    assert t[4] < 400
    # at a mid step the remaining share orders the same way, with clear margins
    ratio = (h.residual_amplitude.sel(step=150) / h.residual_amplitude.sel(step=0)).sel(freq=list(FREQS)).values
    assert ratio[0] < 0.2 and ratio[0] < ratio[1] < ratio[2] and ratio[2] > 0.8


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_fourier_features_learn_high_frequency_early(seed):
    ff = TrainingSession(X, Y, optimizer="adam", lr=1e-3, fourier_features=10.0, seed=seed,
                         dtype=torch.float32).run(100).history
    t_ff = _halving_steps(ff)
    assert t_ff[16] <= 60  # together with the others, not hundreds of steps later
    assert max(t_ff.values()) - min(t_ff.values()) <= 30
    plain = TrainingSession(X, Y, optimizer="adam", lr=1e-3, seed=seed, dtype=torch.float32).run(300).history
    assert _halving_steps(plain)[16] > 5 * t_ff[16]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kw, match", [
    (dict(x=np.r_[0.0, 0.1, 0.3, 0.4, 0.5]), "evenly spaced"),
    (dict(y=np.r_[0.0, np.nan, 0.0, 0.0, 0.0]), "y contains NaN"),
    (dict(x=np.r_[0.0, np.nan, 0.2, 0.3, 0.4]), "x contains NaN"),
    (dict(lr=-1e-3), "lr must be > 0"),
    (dict(lr=0.0), "lr must be > 0"),
    (dict(optimizer="rmsprop"), "optimizer='rmsprop' is unknown"),
    (dict(activation="swish2"), "activation='swish2' is unknown"),
    (dict(optimizer="gd", batch_size=2), "batch_size"),
    (dict(optimizer="sgd", batch_size=50), "batch_size must be <="),
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(fourier_features=0.0), "fourier_features"),
    (dict(record_every=0), "record_every"),
    (dict(hessian_k=1, record_every=2, hessian_every=3), "hessian_every"),
    (dict(y=np.zeros(4)), "same length"),
    (dict(x=np.zeros((2, 5))), "x must be 1-D"),
    (dict(rho=-0.1), "rho must be >= 0"),
    (dict(grokfast=0.0), "grokfast must be > 0"),
    (dict(grokfast=2.0, grokfast_alpha=1.0), "grokfast_alpha must be in"),
    (dict(hessian_k=1, trace_samples=-1), "trace_samples"),
])
def test_bad_input_names_argument(kw, match):
    args = dict(x=np.arange(5) / 5, y=np.zeros(5))
    args.update(kw)
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises((ValueError, TypeError), match=match):
        TrainingSession(x, y, hidden=(4,), **args)


def test_missing_y_needs_dataarray_with_coord():
    with pytest.raises(ValueError, match="y is missing"):
        TrainingSession(np.arange(8.0))
    with pytest.raises(ValueError, match="x .the image. contains NaN"):
        TrainingSession(np.where(np.eye(6) > 0, np.nan, 0.0))
    with pytest.raises(ValueError, match="steps"):
        small().run(-1)


# ----------------------------------------------------------------------------- lr, replace


def test_lr_setter_applies_from_next_step_and_is_recorded():
    s = small(optimizer="gd", lr=1e-2).run(3)
    s.lr = 4e-2
    s.run(2)
    h = s.history
    assert h.lr.values.tolist() == [1e-2] * 4 + [4e-2] * 2  # the lr of the update that led to each step
    # the threshold line is 2/lr for GD (independent closed form)
    np.testing.assert_allclose(h.stability_threshold.values, 2 / h.lr.values, rtol=1e-15)
    # the same as switching lr by hand on a twin session's optimizer
    twin = small(optimizer="gd", lr=1e-2).run(3)
    for group in twin._opt.param_groups:
        group["lr"] = 4e-2
    twin.run(2)
    for a, b in zip(s.model.parameters(), twin.model.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="lr must be finite"):
        s.lr = float("nan")
    assert s.lr == 4e-2


def test_usam_threshold_is_the_root_of_the_quadratic_condition():
    s = small(optimizer="usam", lr=0.1, rho=0.05)
    lam = float(s.history.stability_threshold[0])
    assert 0.1 * lam * (1 + 0.05 * lam) == pytest.approx(2.0, rel=1e-12)
    assert lam == pytest.approx(12.3607, abs=1e-4)
    assert float(small(optimizer="sam", lr=0.1).history.stability_threshold[0]) == pytest.approx(20.0)


def test_replace_changes_options_keeps_data_and_original():
    s = small(optimizer="gd", lr=2e-2).run(5)
    t = s.replace(optimizer="usam", rho=0.1, fourier_features=2.0)
    assert (t.optimizer_name, t.rho, t.fourier_features, t.lr, t.step) == ("usam", 0.1, 2.0, 2e-2, 0)
    np.testing.assert_array_equal(t.y, s.y)
    np.testing.assert_array_equal(t.x, s.x)
    assert s.optimizer_name == "gd" and s.step == 5
    # no change: the same run as a fresh session
    xr.testing.assert_identical(s.replace().run(5).history, s.history)
    with pytest.raises(TypeError, match="unknown options"):
        s.replace(learning_rate=1.0)


# ----------------------------------------------------------------------------- optimizers


def _manual_grad(session, params):
    loss = torch.mean((session.model(session._inputs).reshape(-1) - session._y) ** 2)
    return torch.autograd.grad(loss, params)


@pytest.mark.parametrize("name", ["usam", "sam"])
def test_sam_step_matches_manual_update(name):
    s = small(optimizer=name, lr=5e-2, rho=0.2, hidden=(8,))
    before = copy_params = [p.detach().clone() for p in s.model.parameters()]
    s.run(1)
    # by hand: g at w, then the gradient at w + rho g (/|g| for SAM), one SGD step
    ref = small(optimizer="gd", lr=5e-2, hidden=(8,))
    params = list(ref.model.parameters())
    g = _manual_grad(ref, params)
    norm = torch.sqrt(sum((gi**2).sum() for gi in g))
    scale = 0.2 / norm if name == "sam" else 0.2
    with torch.no_grad():
        for p, gi in zip(params, g):
            p.add_(scale * gi)
    g_adv = _manual_grad(ref, params)
    for b, p, ga in zip(copy_params, s.model.parameters(), g_adv):
        torch.testing.assert_close(p.detach(), b - 5e-2 * ga, rtol=1e-12, atol=1e-14)
    assert not torch.equal(before[0], list(s.model.parameters())[0].detach())


def test_gradient_penalty_step_matches_exact_hessian_gradient():
    s = small(optimizer="gradreg", lr=5e-2, rho=0.1, hidden=(8,), activation="tanh")
    w0 = flatten([p.detach() for p in s.model.parameters()])
    s.run(1)
    w1 = flatten([p.detach() for p in s.model.parameters()])
    ref = small(optimizer="gd", lr=5e-2, hidden=(8,), activation="tanh")
    params = list(ref.model.parameters())
    loss = torch.mean((ref.model(ref._inputs).reshape(-1) - ref._y) ** 2)
    g = torch.autograd.grad(loss, params, create_graph=True)
    penalty = 0.5 * 0.1 * sum((gi**2).sum() for gi in g)
    full = flatten(torch.autograd.grad(loss + penalty, params))  # g + rho H g, exactly
    # the finite difference is accurate to its step: far below the update itself
    torch.testing.assert_close(w1, w0 - 5e-2 * full, rtol=0, atol=1e-6 * float(5e-2 * full.abs().max()))


def test_grokfast_first_step_amplifies_gradient_by_one_plus_lamb():
    plain, fast = small(optimizer="gd", lr=1e-2), small(optimizer="gd", lr=1e-2, grokfast=3.0)
    w0 = flatten([p.detach() for p in plain.model.parameters()])
    d_plain = flatten([p.detach() for p in plain.run(1).model.parameters()]) - w0
    d_fast = flatten([p.detach() for p in fast.run(1).model.parameters()]) - w0
    torch.testing.assert_close(d_fast, 4.0 * d_plain, rtol=1e-12, atol=1e-16)  # EMA starts at g
    # and it stays deterministic through pause/resume
    xr.testing.assert_identical(small(grokfast=3.0).run(9).history, small(grokfast=3.0).run(4).run(5).history)


# ----------------------------------------------------------------------------- Hessian extras


def test_top_space_share_and_trace_against_dense_hessian():
    s = small(hidden=(5,), optimizer="gd", lr=5e-2, hessian_k=2, trace_samples=4000, activation="tanh")
    params = list(s.model.parameters())
    theta0 = flatten([p.detach() for p in params])

    def loss_of(theta):
        ps = unflatten(theta, params)
        out = (torch.tanh(s._inputs @ ps[0].T + ps[1]) @ ps[2].T + ps[3]).reshape(-1)
        return torch.mean((out - s._y) ** 2)

    H = torch.autograd.functional.hessian(loss_of, theta0)
    g = torch.autograd.functional.jacobian(loss_of, theta0)
    vals, vecs = torch.linalg.eigh(H)
    top = vecs[:, -2:]
    share = float((top.T @ g).pow(2).sum() / g.pow(2).sum())
    h = s.history
    assert float(h.top_space_share[0]) == pytest.approx(share, rel=1e-6)
    # Hutchinson with 4000 probes on a 16-parameter Hessian: within a few percent
    assert float(h.hessian_trace[0]) == pytest.approx(float(torch.trace(H)), rel=0.05)


# ----------------------------------------------------------------------------- 2-D images


def test_image_residual_spectrum_reads_cosine_amplitude():
    ny, nx = 32, 24
    yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    image = np.zeros((ny, nx))
    s = TrainingSession(xr.DataArray(image, dims=("row", "col")), hidden=(4,))
    assert s.shape == (ny, nx) and s.dims == ("row", "col") and s._inputs.shape == (ny * nx, 2)
    with torch.no_grad():
        for p in s.model.parameters():
            p.zero_()
    # residual = 2 cos(2 pi (3/32 row + 5/24 col)): one ring at |f| = hypot(3/32, 5/24)
    residual = 2.0 * np.cos(2 * np.pi * (3 * yy / ny + 5 * xx / nx))
    amp = s.residual_spectrum(torch.as_tensor(residual.ravel())).numpy()
    ring = np.argmin(np.abs(s.freq - np.hypot(3 / 32, 5 / 24)))
    assert amp[ring] == pytest.approx(2.0, rel=1e-12)
    assert np.delete(amp, ring).max() < 1e-12
    # Parseval: with these weights sum(amp^2) = (2 sum|R|^2 - self-conjugate terms) / N^2
    r = np.random.default_rng(0).standard_normal((ny, nx))
    amp = s.residual_spectrum(torch.as_tensor(r.ravel())).numpy()
    R2 = np.abs(np.fft.fft2(r)) ** 2
    selfconj = R2[np.ix_([0, ny // 2], [0, nx // 2])].sum()
    assert (amp**2).sum() == pytest.approx((2 * R2.sum() - selfconj) / (ny * nx) ** 2, rel=1e-12)


def test_image_training_records_radial_spectrum_and_learns():
    yy, xx = np.meshgrid(np.linspace(0, 1, 16, endpoint=False), np.linspace(0, 1, 16, endpoint=False), indexing="ij")
    image = xr.DataArray(np.sin(2 * np.pi * yy) * np.cos(2 * np.pi * xx), dims=("v", "u"),
                         coords={"v": yy[:, 0], "u": xx[0]})
    s = TrainingSession(image, hidden=(32, 32), optimizer="adam", lr=1e-2, fourier_features=2.0, seed=0)
    h = s.run(60).history
    assert h.residual_amplitude.dims == ("step", "freq") and h.freq.size == 8
    assert "v and u" in h.freq.attrs["units"] and h.attrs["grid_dims"] == ["v", "u"]
    assert float(h.loss[-1]) < 0.1 * float(h.loss[0])
    t = s.replace(seed=0)
    np.testing.assert_array_equal(t.y, image.values)


# ----------------------------------------------------------------------------- NTK


def test_ntk_matches_dense_jacobian_and_orders_frequencies():
    s = small(hidden=(32, 32), optimizer="gd", lr=1e-2, activation="relu")
    nt = s.ntk()
    params = list(s.model.parameters())
    theta0 = flatten([p.detach() for p in params])

    def out_of(theta):
        ps = unflatten(theta, params)
        h = torch.relu(s._inputs @ ps[0].T + ps[1])
        h = torch.relu(h @ ps[2].T + ps[3])
        return (h @ ps[4].T + ps[5]).reshape(-1)

    J = torch.autograd.functional.jacobian(out_of, theta0)
    dense = torch.linalg.eigvalsh(J @ J.T).flip(0).numpy()
    np.testing.assert_allclose(nt.eigenvalue.values, dense, rtol=1e-8, atol=1e-10 * dense[0])
    assert nt.eigenvector.dims == ("mode", "x") and nt.sizes["mode"] == 64
    # spectral bias in the kernel: top eigenvectors are smooth, low ones oscillate
    assert float(nt.freq.sel(mode=slice(0, 2)).max()) <= 2
    assert float(nt.freq.sel(mode=slice(19, 29)).mean()) > 3 * float(nt.freq.sel(mode=slice(0, 4)).mean())
    assert s.ntk(k=5).sizes["mode"] == 5


def test_replace_record_every_keeps_a_default_hessian_every_in_step():
    s = small(hessian_k=1)  # hessian_every defaults to record_every
    t = s.replace(record_every=3)
    assert (t.record_every, t.hessian_every) == (3, 3)
    assert small(hessian_k=1, hessian_every=4, record_every=2).replace(record_every=4).hessian_every == 4


@pytest.mark.parametrize("record_every", [1, 3])
def test_full_batch_recording_costs_no_forward_pass_of_its_own(record_every, monkeypatch):
    s = small(optimizer="gd", record_every=record_every)
    calls = []
    original = TrainingSession.predict
    monkeypatch.setattr(TrainingSession, "predict", lambda self, *a: calls.append(1) or original(self, *a))
    s.run(12, chunk=4)
    # one forward per step, plus one per chunk for the last step's record when it is due
    due_at_chunk_end = sum(1 for end in (4, 8, 12) if end % record_every == 0)
    assert len(calls) == 12 + due_at_chunk_end
    monkeypatch.undo()
    xr.testing.assert_identical(s.history, small(optimizer="gd", record_every=record_every).run(12).history)
