"""RepresentationSession (spectrakit.tuning.representations): streaming determinism, the
recorded spectra, ranks, entropies and loss terms against numpy, collapse without the
variance term, replace(), and input checks. CPU, a few seconds."""

import math

import numpy as np
import pytest
import torch
import xarray as xr

from spectrakit.core.representations import linear_encoder, ssl_toy_data, train_ssl, vicreg_loss
from spectrakit.tuning import RepresentationSession
from spectrakit.tuning.representations import STRENGTH, TERMS, WEIGHTS

SMALL = dict(n=128, d_in=6, d_out=3, device="cpu")


def small(**kw):
    opts = dict(SMALL)
    if "encoder" in kw:  # the module sets the embedding dimension
        del opts["d_out"]
    return RepresentationSession(**{**opts, **kw})


def linear_embeddings(session):
    """z_a, z_b by numpy from the linear encoder's weights: an independent forward pass."""
    w = session.encoder.weight.detach().numpy()
    return session.views.view_a.numpy() @ w.T, session.views.view_b.numpy() @ w.T


# ----------------------------------------------------------------------------- numpy references


def eig_np(z):
    return np.linalg.eigvalsh(np.cov(z, rowvar=False))[::-1]


def erank_np(s):
    p = np.asarray(s) / np.sum(s)
    p = p[p > 0]
    return math.exp(-(p * np.log(p)).sum())


def vne_np(z):
    h = z / np.linalg.norm(z, axis=1, keepdims=True)
    lam = np.clip(np.linalg.eigvalsh(h.T @ h / len(h)), 0, None)
    lam = lam[lam > 0]
    return float(-(lam * np.log(lam)).sum())


def vicreg_np(a, b, gamma=1.0, eps=1e-4):
    def variance(z):
        return np.mean(np.maximum(0.0, gamma - np.sqrt(z.var(axis=0, ddof=1) + eps)))

    def covariance(z):
        c = np.cov(z, rowvar=False)
        return ((c - np.diag(np.diag(c))) ** 2).sum() / z.shape[1]

    return {"invariance": np.mean((a - b) ** 2), "variance": variance(a) + variance(b),
            "covariance": covariance(a) + covariance(b)}


def vne_terms_np(a, b):
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"invariance": 1 - cos.mean(), "vne": -(vne_np(a) + vne_np(b)) / 2}


def barlow_np(a, b, lambd, eps=1e-5):
    def standardize(z):
        zc = z - z.mean(0)
        return zc / np.sqrt((zc**2).mean(0) + eps)

    c = standardize(a).T @ standardize(b) / len(a)
    off = c - np.diag(np.diag(c))
    return ((1 - np.diag(c)) ** 2).sum() + lambd * (off**2).sum()


# ----------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("kw", [
    dict(),
    dict(loss="vne", alpha=0.5, lr=0.1, optimizer="adam", batch_size=40, record_every=3),
    dict(loss="barlow", hidden=(8,), activation="tanh", batch_size=32, lr=0.05),
])
def test_pause_resume_equals_uninterrupted(kw):
    strength = STRENGTH[kw.get("loss", "vicreg")]

    def change(s):  # a slider move and an lr change, after step 7
        if s.step == 7:
            setattr(s, strength, 0.25)
            s.lr = 0.5 * s.lr

    whole = small(**kw).run(16, chunk=7, callback=change)
    parts = small(**kw).run(7)
    change(parts)
    parts.run(0).run(4).run(5)
    xr.testing.assert_identical(whole.history, parts.history)
    for a, b in zip(whole.encoder.parameters(), parts.encoder.parameters()):
        assert torch.equal(a, b)
    h = whole.history
    assert float(h[f"weight_{strength}"].sel(step=h.step[-1])) == 0.25
    assert float(h.lr.isel(step=0)) == 2 * float(h.lr.isel(step=-1))


def test_reset_reproduces_and_seed_matters():
    s = small(batch_size=32, optimizer="adam")
    first = s.run(12).history
    again = s.reset().run(12).history
    xr.testing.assert_identical(first, again)
    assert s.step == 12 and first.sizes["step"] == 13
    other = small(batch_size=32, optimizer="adam", seed=1).run(12).history
    assert not np.array_equal(first.eigenvalues.values, other.eigenvalues.values)


def test_callback_per_chunk():
    seen = []
    small().run(10, chunk=3, callback=lambda s: seen.append(s.step))
    assert seen == [3, 6, 9, 10]


def test_same_steps_as_core_train_ssl():
    views = ssl_toy_data(256, 8, seed=0, device="cpu")
    res = train_ssl(linear_encoder(8, 4, seed=2, device="cpu"), views, vicreg_loss, steps=30, lr=0.02,
                    batch_size=64, seed=2, record_every=10)
    s = RepresentationSession(views, d_out=4, lr=0.02, batch_size=64, seed=2, record_every=10).run(30)
    np.testing.assert_array_equal(s.history.step.values, res.steps.numpy())
    np.testing.assert_array_equal(s.history.eigenvalues.values, res.spectra.numpy())
    np.testing.assert_array_equal(s.history.loss.values, res.loss.numpy())


# ----------------------------------------------------------------------------- recorded values


@pytest.mark.parametrize("loss", ["vicreg", "vne", "barlow"])
def test_recorded_values_match_numpy(loss):
    s = small(loss=loss, lr=0.05, var=10.0, alpha=0.7, lambd=0.02)
    for step in (0, 9):
        s.run(step - s.step)
        a, b = linear_embeddings(s)
        h = s.history.sel(step=step)
        eig = eig_np(a)
        np.testing.assert_allclose(h.eigenvalues.values, eig, rtol=1e-10, atol=1e-14)
        assert float(h.effective_rank) == pytest.approx(erank_np(h.eigenvalues.values), rel=1e-12)
        assert float(h.entropy) == pytest.approx(vne_np(a), rel=1e-10)
        if loss == "vicreg":
            terms = vicreg_np(a, b)
            expected = 25 * terms["invariance"] + 10 * terms["variance"] + terms["covariance"]
        elif loss == "vne":
            terms = vne_terms_np(a, b)
            expected = terms["invariance"] + 0.7 * terms["vne"]
        else:
            terms, expected = {}, barlow_np(a, b, 0.02)
        assert set(TERMS[loss]) == set(terms)
        for name, value in terms.items():
            assert float(h[name]) == pytest.approx(value, rel=1e-10, abs=1e-14), name
        assert float(h.loss) == pytest.approx(expected, rel=1e-10)
    assert s.history.loss.values[-1] < s.history.loss.values[0]


def test_mlp_and_custom_encoder_spectra_match_numpy():
    s = small(hidden=(5, 4), activation="relu").run(3)
    lins = [m for m in s.encoder if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in lins] == [(5, 6), (4, 5), (3, 4)] and lins[-1].bias is None
    x = s.views.view_a.numpy()
    for m in lins[:-1]:
        x = np.maximum(x @ m.weight.detach().numpy().T + m.bias.detach().numpy(), 0)
    z = x @ lins[-1].weight.detach().numpy().T
    np.testing.assert_allclose(s.history.eigenvalues.sel(step=3).values, eig_np(z), rtol=1e-10, atol=1e-14)

    module = torch.nn.Sequential(torch.nn.Linear(6, 5, dtype=torch.float64), torch.nn.Tanh())
    before = [p.detach().clone() for p in module.parameters()]
    c = small(encoder=module, lr=0.05).run(5)
    assert c.history.sizes["mode"] == 5 and c.history.attrs["encoder"] == "custom"
    assert all(torch.equal(p, q) for p, q in zip(module.parameters(), before))  # trained a copy
    assert not torch.equal(c.encoder[0].weight, before[0])


def test_variance_weight_zero_collapses_and_vicreg_keeps_full_rank():
    kw = dict(n=256, d_in=8, d_out=4, seed=1, record_every=20, device="cpu")
    full = RepresentationSession(**kw).run(200)
    collapsed = full.replace(var=0.0).run(200)
    e0, ec = full.history.eigenvalues, collapsed.history.eigenvalues
    np.testing.assert_array_equal(e0.sel(step=0), ec.sel(step=0))  # same data and initial encoder
    assert (ec.isel(step=-1) < 1e-3 * ec.isel(step=0)).all(), ec.isel(step=-1).values  # every one > 1e3-fold
    assert float(e0.isel(step=-1).min()) > 0.3, e0.isel(step=-1).values  # VICReg: full rank
    assert float(full.history.effective_rank[-1]) > 3.8  # of 4
    assert (collapsed.history.weight_var == 0).all() and (full.history.weight_var == 25).all()
    # the variance term sees the collapse: both views' stds -> 0 gives 2 (1 - sqrt(1e-4)) = 1.98
    assert float(collapsed.history.variance[-1]) > 1.9 > float(full.history.variance[-1])


def test_vne_strength_spreads_or_collapses_the_spectrum():
    base = RepresentationSession(n=256, d_in=8, d_out=4, loss="vne", lr=0.1, seed=1, record_every=50, device="cpu")
    ranks = {alpha: float(base.replace(alpha=alpha).run(150).history.effective_rank[-1]) for alpha in (-1.0, 1.0)}
    assert ranks[1.0] > 3.5 and ranks[-1.0] < 1.3, ranks


def test_history_layout_and_attrs():
    s = small(record_every=4, loss="vne", alpha=-0.5, seed=2)
    h = s.run(10).history
    assert h.step.values.tolist() == [0, 4, 8] and h.step.dtype.kind == "i"
    assert h.eigenvalues.dims == ("step", "mode") and h.mode.values.tolist() == [0, 1, 2]
    assert (np.diff(h.eigenvalues.values, axis=1) <= 0).all()  # descending
    for name in ("effective_rank", "entropy", "loss", "lr", "invariance", "vne", "weight_alpha"):
        assert h[name].dims == ("step",) and h[name].dtype == np.float64, name
    assert set(h.data_vars) == {"eigenvalues", "effective_rank", "entropy", "loss", "lr", *TERMS["vne"],
                                *(f"weight_{w}" for w in WEIGHTS["vne"])}
    assert h.attrs["loss"] == "vne" and h.attrs["seed"] == 2 and h.attrs["optimizer"] == "sgd"
    assert h.attrs["data"] == "ssl_toy_data" and h.attrs["data_n"] == 128 and h.attrs["data_decay"] == 0.9
    assert h.attrs["device"] == "cpu" and h.attrs["dtype"] == "float64" and h.attrs["d_out"] == 3
    assert (h.weight_alpha == -0.5).all()
    emb = s.embeddings()
    assert emb.z_a.dims == ("sample", "dim") and emb.z_a.shape == (128, 3) and emb.attrs["step"] == 10
    assert "RepresentationSession(" in repr(s) and "alpha=-0.5" in repr(s)


def test_user_views_numpy_and_float32_torch():
    xa, xb = ssl_toy_data(64, 5, seed=3, device="cpu")
    a, b = xa.numpy().copy(), xb.numpy().copy()
    s = RepresentationSession((a, b), d_out=2).run(3)
    assert s.views.view_a.dtype == torch.float64 and s.history.attrs["data"] == "user views"
    np.testing.assert_array_equal(a, xa.numpy())  # not modified
    assert not np.shares_memory(s.views.view_a.numpy(), a)
    f = RepresentationSession((xa.float(), xb.float()), d_out=2).run(3)
    assert f.views.view_a.dtype == torch.float32 and f.encoder.weight.dtype == torch.float32
    assert f.history.eigenvalues.dtype == np.float64 and f.history.attrs["dtype"] == "float32"
    da = xr.DataArray(a, dims=("sample", "feature"))
    np.testing.assert_array_equal(RepresentationSession((da, b), d_out=2).history.eigenvalues,
                                  s.reset().history.eigenvalues)


# ----------------------------------------------------------------------------- replace and setters


def test_replace_keeps_data_and_changes_options():
    s = small(seed=4).run(5)
    r = s.replace(loss="barlow", lambd=0.1, optimizer="adam", d_out=2)
    assert r.step == 0 and r.loss == "barlow" and r.lambd == 0.1 and r.optimizer_name == "adam"
    assert torch.equal(r.views.view_a, s.views.view_a) and torch.equal(r.views.view_b, s.views.view_b)
    assert r.history.attrs["data"] == "ssl_toy_data" and r.history.attrs["data_n"] == 128
    assert r.history.sizes["mode"] == 2 and r.seed == 4
    assert s.step == 5 and s.loss == "vicreg" and s.history.sizes["mode"] == 3  # unchanged
    s.lr, s.var = 0.03, 2.0
    t = s.replace(seed=5)
    assert t.lr == 0.03 and t.var == 2.0 and t.seed == 5  # current values carried over
    lin = torch.nn.Linear(6, 4, bias=False, dtype=torch.float64)
    assert s.replace(encoder=lin).history.sizes["mode"] == 4
    assert s.replace(encoder=lin).replace(encoder=None).history.sizes["mode"] == 8  # default d_out
    with pytest.raises(TypeError, match=r"keeps the data.*\['noise'\]"):
        s.replace(noise=0.5)
    with pytest.raises(TypeError, match=r"unknown options \['momentum'\]"):
        s.replace(momentum=0.9)


def test_weight_setters_check_their_values():
    s = small()
    with pytest.raises(ValueError, match="var must be >= 0"):
        s.var = -1.0
    with pytest.raises(AttributeError, match=r"alpha is a weight of the 'vne' loss.*replace\(loss='vne'"):
        s.alpha = 1.0
    with pytest.raises(ValueError, match="lr must be > 0"):
        s.lr = 0.0
    v = small(loss="vne")
    v.alpha = -2.0  # any sign
    assert v.alpha == -2.0 and s.var == 25.0 and s.lr == 0.01


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_name_the_argument():
    a = np.random.default_rng(0).normal(size=(20, 4))
    bad = a.copy()
    bad[3, 1] = np.nan
    cases = [
        (dict(views=(a, bad)), ValueError, r"views\[1\] contains NaN or inf \(first at index \(3, 1\)\)"),
        (dict(views=(a, a[:, :3])), ValueError, r"views\[0\] and views\[1\] must have the same shape"),
        (dict(views=(a[0], a[0])), ValueError, r"views\[0\] must be 2-D"),
        (dict(views=(a[:1], a[:1])), ValueError, r"views\[0\] must have at least 2 samples"),
        (dict(views=a), TypeError, r"views must be a pair \(view_a, view_b\)"),
        (dict(views=(a, "x")), TypeError, r"views\[1\] must be a real array"),
        (dict(views=(a, a), noise=0.1), ValueError, r"\['noise'\] are ssl_toy_data's parameters"),
        (dict(loss="simclr"), ValueError, r"loss='simclr' is unknown"),
        (dict(optimizer="lbfgs"), ValueError, r"optimizer='lbfgs' is unknown"),
        (dict(activation="swish"), ValueError, r"activation='swish' is unknown"),
        (dict(lr=-1), ValueError, r"lr must be > 0"),
        (dict(var=float("nan")), ValueError, r"var must be finite"),
        (dict(cov=-1), ValueError, r"cov must be >= 0"),
        (dict(batch_size=500), ValueError, r"batch_size must be <= the number of samples \(128\)"),
        (dict(batch_size=1), ValueError, r"batch_size must be >= 2"),
        (dict(d_out=0), ValueError, r"d_out must be >= 1"),
        (dict(hidden=(4, 0)), ValueError, r"hidden\[1\] must be >= 1"),
        (dict(record_every=0), ValueError, r"record_every must be >= 1"),
        (dict(encoder=lambda x: x), TypeError, r"encoder must be a torch.nn.Module"),
        (dict(encoder=torch.nn.Linear(6, 2, dtype=torch.float64), hidden=(3,)), ValueError, r"d_out and hidden"),
        (dict(encoder=torch.nn.Linear(5, 2, dtype=torch.float64)), ValueError, r"encoder failed .*\(128, 6\)"),
        (dict(encoder=torch.nn.Flatten(0)), ValueError, r"encoder must map \(n, 6\) to \(n, d\).*\(12,\)"),
        (dict(n=1), ValueError, r"n must be >= 2"),
    ]
    for kw, exc, match in cases:
        with pytest.raises(exc, match=match):
            small(**kw) if "views" not in kw else RepresentationSession(**kw)
    s = small()
    with pytest.raises(ValueError, match="steps must be >= 0"):
        s.run(-1)
    with pytest.raises(TypeError, match="chunk must be an integer"):
        s.run(5, chunk=2.5)
    with pytest.raises(FloatingPointError, match="lower lr"):
        small(lr=1e6).run(5)


# ----------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_session_on_the_gpu_matches_the_cpu():
    kw = dict(n=256, d_in=8, d_out=4, batch_size=64, optimizer="adam", record_every=5)
    gpu = RepresentationSession(device="cuda", **kw).run(20)
    cpu = RepresentationSession(device="cpu", **kw).run(20)
    assert gpu.views.view_a.device.type == "cuda" and next(gpu.encoder.parameters()).device.type == "cuda"
    assert gpu.history.attrs["device"].startswith("cuda")
    for name in ("eigenvalues", "effective_rank", "entropy", "loss", "invariance", "variance", "covariance"):
        np.testing.assert_allclose(gpu.history[name].values, cpu.history[name].values, rtol=1e-8, atol=1e-12,
                                   err_msg=name)
    half = RepresentationSession(device="cuda", **kw).run(10).run(10)
    xr.testing.assert_allclose(half.history, gpu.history)
