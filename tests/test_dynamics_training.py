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
    assert h.mode.values.tolist() == [1, 2]
    np.testing.assert_allclose(h.freq.values, np.fft.rfftfreq(128, 0.5 / 256))  # cycles per unit of t
    assert "t" in h.freq.attrs["units"]
    assert h.attrs["optimizer"] == "adam" and h.attrs["lr"] == 1e-2 and h.attrs["seed"] == 1
    assert h.attrs["device"] == "cpu" and h.attrs["dtype"] == "float64"
    np.testing.assert_array_equal(h.sharpness.values, h.hessian_eigenvalues.sel(mode=1).values)
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
    (dict(lr=-1e-3), "lr must be a positive"),
    (dict(lr=0.0), "lr must be a positive"),
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
    with pytest.raises(ValueError, match="steps"):
        small().run(-1)
