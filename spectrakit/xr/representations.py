"""Representation spectra on labelled results: covariance spectra, effective rank and
entropies of embeddings, VICReg's terms, IterNorm whitening, the SSL toy data and
training histories as xarray.

Each function converts its inputs through :mod:`spectrakit.xr._apply` (numpy and xarray
compute in float64 on the device DESIGN.md's precedence gives; a tensor stays on its
device), calls :mod:`spectrakit.core.representations` and labels the result.

Dims: embeddings are ``(sample, feature)`` (a DataArray's own two dims, in its order);
eigenvalues are over ``mode`` (a 0-based integer index, 0 = the largest); histories over
``step`` (the optimizer step). A batch of spectra reduces over its last dim (``mode`` for
a DataArray that has it) and keeps the others with their coords. ``attrs`` record
``device``, ``dtype`` and ``method``.

The differentiable losses and the encoder factory used inside training loops
(:func:`vicreg_loss`, :func:`vne_loss`, :func:`barlow_twins_loss`, :func:`linear_encoder`)
are re-exported unchanged from :mod:`spectrakit.core.representations`.

>>> import numpy as np
>>> z = np.random.default_rng(0).standard_normal((200, 4))
>>> s = covariance_spectrum(z)
>>> s.dims, bool(3.0 < float(effective_rank(s)) <= 4.0)
(('mode',), True)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import xarray as xr

from ..core import representations as core
from ..core.representations import barlow_twins_loss, linear_encoder, vicreg_loss, vne_loss
from ._apply import compute_settings, raw, shape_of, tensor_attrs, to_numpy, to_tensor

__all__ = [
    "covariance_spectrum",
    "spectral_entropy",
    "effective_rank",
    "von_neumann_entropy",
    "vicreg_terms",
    "iternorm",
    "iternorm_whiten",
    "ssl_toy_data",
    "train_ssl",
    "TrainedEncoder",
    "linear_barlow_twins",
    "switch_on_steps",
]

#: re-exported unchanged (importable from this module; spectrakit.xr's namespace holds only labelled
#: functions): they act on closures, models or tensors inside a training loop and have no labels to add
TOOLS = (vicreg_loss, vne_loss, barlow_twins_loss, linear_encoder)



def _tensor(value, name, device, dtype, *others) -> torch.Tensor:
    device, dtype = compute_settings(device, dtype, value, *others)
    return to_tensor(value, name, device, dtype)


def _embeddings(z, name, device, dtype, *others):
    """(tensor, sample dim, feature dim, feature coords) of (n, d) embeddings."""
    if len(shape_of(z)) != 2:
        raise ValueError(f"{name} must be 2-D (samples, features); got shape {shape_of(z)}.")
    dims, coords = ("sample", "feature"), {}
    if isinstance(z, xr.DataArray):
        dims = tuple(z.dims)
        coords = {k: v.values for k, v in z.coords.items() if v.dims == (dims[1],)}
    return _tensor(z, name, device, dtype, *others), dims[0], dims[1], coords


def _scalar(t: torch.Tensor, name: str, long_name: str, **attrs) -> xr.DataArray:
    out = xr.DataArray(to_numpy(t.detach()), name=name)
    out.attrs.update(long_name=long_name, **attrs, **tensor_attrs(t))
    return out


def covariance_spectrum(z, *, center: bool = True, device=None, dtype=None) -> xr.DataArray:
    """The eigenvalues of the embeddings' covariance ``Z^T Z / (n - 1)`` (centred),
    largest first (:func:`spectrakit.core.representations.covariance_spectrum`).

    Parameters
    ----------
    z : (n, d) numpy array, tensor or DataArray
        Embeddings, one row per sample.
    center : bool
        Subtract the mean embedding first (``numpy.cov``); else ``Z^T Z / n``.

    Returns
    -------
    xarray.DataArray
        Over ``mode`` (0 = the largest).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5], [0.0, -0.5]])
    >>> covariance_spectrum(z).values.round(6).tolist()   # numpy.cov's eigenvalues
    [0.666667, 0.166667]
    """
    t, _, _, _ = _embeddings(z, "z", device, dtype)
    s = core.covariance_spectrum(t, center=center)
    out = xr.DataArray(to_numpy(s), dims=("mode",), coords={"mode": np.arange(s.shape[0])}, name="eigenvalue")
    out.attrs.update(long_name="covariance eigenvalue of the embeddings", center=int(center),
                     method="eigvalsh", **tensor_attrs(s))
    return out


def _batch_of_spectra(spectrum, name, device, dtype):
    """(tensor with the spectra on the last axis, leading dims, their coords)."""
    if isinstance(spectrum, xr.DataArray):
        if spectrum.ndim == 0:
            raise ValueError(f"{name} must have at least one dim (the spectrum); got a scalar.")
        dim = "mode" if "mode" in spectrum.dims else spectrum.dims[-1]
        spectrum = spectrum.transpose(..., dim)
        lead = tuple(spectrum.dims[:-1])
        coords = {k: v for k, v in spectrum.coords.items() if set(v.dims) <= set(lead)}
        return _tensor(spectrum, name, device, dtype), lead, coords
    shape = shape_of(spectrum)
    if len(shape) == 0:
        raise ValueError(f"{name} must have at least one dim (the spectrum); got a scalar.")
    lead = ("step",) if len(shape) == 2 else tuple(f"dim_{i}" for i in range(len(shape) - 1))
    return _tensor(spectrum, name, device, dtype), lead, {}


def spectral_entropy(spectrum, *, device=None, dtype=None) -> xr.DataArray:
    """The Shannon entropy ``-sum p log p`` of ``p = s / sum s``
    (:func:`spectrakit.core.representations.spectral_entropy`), reduced over the spectrum
    dim (``mode``, else the last); a (steps, d) history gives one value per ``step``.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(spectral_entropy(np.ones(4))), 6) == round(float(np.log(4)), 6)
    True
    """
    t, lead, coords = _batch_of_spectra(spectrum, "spectrum", device, dtype)
    h = core.spectral_entropy(t)
    out = xr.DataArray(to_numpy(h), dims=lead, coords=coords, name="spectral_entropy")
    out.attrs.update(long_name="entropy of the normalized spectrum (nats)", **tensor_attrs(h))
    return out


def effective_rank(x, *, kind: str = "spectrum", device=None, dtype=None) -> xr.DataArray:
    """Roy & Vetterli's effective rank ``exp(-sum p log p)``, ``p = s / sum s``
    (:func:`spectrakit.core.representations.effective_rank`): ``d`` for a flat spectrum,
    ``k`` for ``k`` equal values, 1 for one; scale-free.

    Parameters
    ----------
    x : spectrum or embeddings
        ``kind="spectrum"``: one spectrum or a batch of them (reduced over ``mode``, else
        the last dim; a (steps, d) history gives one value per ``step``);
        ``kind="covariance"``: (n, d) embeddings, whose covariance spectrum is taken.
    kind : {"spectrum", "covariance"}

    Examples
    --------
    >>> import numpy as np
    >>> effective_rank(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])).round(6).values.tolist()
    [2.0, 3.0]
    """
    if kind == "covariance":
        t, _, _, _ = _embeddings(x, "x", device, dtype)
        return _scalar(core.effective_rank(t, kind=kind), "effective_rank",
                       "effective rank of the embeddings' covariance", kind=kind)
    if kind != "spectrum":
        raise ValueError(f"kind must be 'spectrum' or 'covariance'; got {kind!r}.")
    t, lead, coords = _batch_of_spectra(x, "x", device, dtype)
    r = core.effective_rank(t, kind=kind)
    out = xr.DataArray(to_numpy(r), dims=lead, coords=coords, name="effective_rank")
    out.attrs.update(long_name="effective rank exp(-sum p log p)", kind=kind, **tensor_attrs(r))
    return out


def von_neumann_entropy(z, *, normalize: bool = True, device=None, dtype=None) -> xr.DataArray:
    """The von Neumann entropy of the embeddings' (uncentred) autocorrelation, trace
    normalized: ``log d`` for an isotropic set, 0 for parallel rows
    (:func:`spectrakit.core.representations.von_neumann_entropy`; ``normalize`` scales
    each row to unit length first).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(von_neumann_entropy(np.eye(4))), 6) == round(float(np.log(4)), 6)
    True
    """
    t, _, _, _ = _embeddings(z, "z", device, dtype)
    return _scalar(core.von_neumann_entropy(t, normalize=normalize), "von_neumann_entropy",
                   "von Neumann entropy of the autocorrelation (nats)", normalize=int(normalize))


def vicreg_terms(z_a, z_b, *, gamma: float = 1.0, eps: float = 1e-4, device=None, dtype=None) -> xr.Dataset:
    """VICReg's three terms for two batches of embeddings
    (:func:`spectrakit.core.representations.vicreg_terms`): ``invariance`` (mean squared
    difference), ``variance`` (hinge on each feature's std, both branches) and
    ``covariance`` (squared off-diagonal covariances / d, both branches).

    Returns
    -------
    xarray.Dataset
        The three as 0-d variables; attrs ``gamma``, ``eps``, ``device``, ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).standard_normal((50, 3))
    >>> terms = vicreg_terms(z, z)
    >>> list(terms.data_vars), float(terms["invariance"])
    (['invariance', 'variance', 'covariance'], 0.0)
    """
    a, _, _, _ = _embeddings(z_a, "z_a", device, dtype, z_b)
    b, _, _, _ = _embeddings(z_b, "z_b", a.device, a.dtype)
    terms = core.vicreg_terms(a, b, gamma=gamma, eps=eps)
    ds = xr.Dataset({k: ((), to_numpy(v.detach())) for k, v in terms._asdict().items()})
    ds.attrs.update(gamma=float(gamma), eps=float(eps), **tensor_attrs(terms.invariance))
    return ds


def iternorm(covariance, T: int = 5, *, device=None, dtype=None) -> xr.DataArray:
    """IterNorm's whitening matrix ``W ~ Sigma^(-1/2)`` after ``T`` Newton-Schulz steps
    (:func:`spectrakit.core.representations.iternorm`), over ``(feature, feature_)``.

    Examples
    --------
    >>> import numpy as np
    >>> W = iternorm(np.diag([4.0, 4.0]), T=10)
    >>> W.dims, W.values.round(6).tolist()
    (('feature', 'feature_'), [[0.5, 0.0], [0.0, 0.5]])
    """
    if len(shape_of(covariance)) != 2:
        raise ValueError(f"covariance must be a 2-D (d, d) matrix; got shape {shape_of(covariance)}.")
    dim, coords = "feature", {}
    if isinstance(covariance, xr.DataArray):
        dim = covariance.dims[0]
        coords = {k: v.values for k, v in covariance.coords.items() if v.dims == (dim,)}
    W = core.iternorm(_tensor(covariance, "covariance", device, dtype), T)
    out = xr.DataArray(to_numpy(W), dims=(dim, dim + "_"), name="whitening")
    for k, v in coords.items():
        out.coords[k] = (dim, v)
        out.coords[k + "_"] = (dim + "_", v)
    out.attrs.update(long_name="IterNorm whitening matrix", T=int(T), method="newton-schulz", **tensor_attrs(W))
    return out


def iternorm_whiten(z, T: int = 5, *, device=None, dtype=None) -> xr.DataArray:
    """The embeddings whitened by IterNorm: centred, times the ``T``-step whitening
    matrix of their covariance (:func:`spectrakit.core.representations.iternorm_whiten`);
    the result has ``z``'s dims and coords.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).standard_normal((500, 3)) * [1.0, 3.0, 10.0]
    >>> w = iternorm_whiten(z, T=30)
    >>> np.allclose(np.cov(w.values, rowvar=False), np.eye(3), atol=1e-6)
    True
    """
    t, sample, feature, _ = _embeddings(z, "z", device, dtype)
    out_t = core.iternorm_whiten(t, T)
    coords = z.coords if isinstance(z, xr.DataArray) else None
    out = xr.DataArray(to_numpy(out_t.detach()), dims=(sample, feature), coords=coords, name="whitened")
    out.attrs.update(long_name="IterNorm-whitened embeddings", T=int(T), **tensor_attrs(out_t))
    return out


def ssl_toy_data(n: int = 512, d_in: int = 16, *, signal_dim=None, decay: float = 0.9, noise: float = 0.3,
                 seed=0, device=None, dtype=None) -> xr.Dataset:
    """Two augmented views of synthetic data with a known signal spectrum
    (:func:`spectrakit.core.representations.ssl_toy_data`): the views share ``x = Q s``
    with ``s_k ~ N(0, decay**k)`` and add independent noise of std ``noise``.

    Returns
    -------
    xarray.Dataset
        ``view_a`` and ``view_b`` over ``(sample, feature)``; attrs ``decay``, ``noise``,
        ``seed``. :func:`train_ssl` and :func:`linear_barlow_twins` take it as it is; a
        torch encoder takes ``torch.from_numpy(views["view_a"].values)``.

    Examples
    --------
    >>> views = ssl_toy_data(100, 5, seed=0)
    >>> views["view_a"].dims, views["view_a"].shape
    (('sample', 'feature'), (100, 5))
    """
    device, dtype = compute_settings(device, dtype)
    pair = core.ssl_toy_data(n, d_in, signal_dim=signal_dim, decay=decay, noise=noise, seed=seed, device=device,
                             dtype=dtype)
    ds = xr.Dataset({"view_a": (("sample", "feature"), to_numpy(pair.view_a)),
                     "view_b": (("sample", "feature"), to_numpy(pair.view_b))},
                    coords={"sample": np.arange(n), "feature": np.arange(d_in)})
    ds.attrs.update(decay=float(decay), noise=float(noise), signal_dim=int(signal_dim or d_in),
                    seed="none" if seed is None else seed, **tensor_attrs(pair.view_a))
    return ds


def _views(views, device, dtype, like=None):
    """The two views as tensors (a Dataset with view_a, view_b, or a pair of arrays)."""
    if isinstance(views, xr.Dataset):
        missing = [k for k in ("view_a", "view_b") if k not in views]
        if missing:
            raise ValueError(f"views must have the variables view_a and view_b (ssl_toy_data); missing {missing}.")
        views = (views["view_a"], views["view_b"])
    try:
        xa, xb = views
    except (TypeError, ValueError):
        raise TypeError(f"views must be a Dataset from ssl_toy_data or a pair (view_a, view_b); "
                        f"got {type(views).__name__}.") from None
    if like is not None and not isinstance(raw(xa), torch.Tensor) and device is None and dtype is None:
        device, dtype = like.device, like.dtype  # arrays go where the encoder is
    a = _tensor(xa, "views[0]", device, dtype, xb)
    return a, _tensor(xb, "views[1]", a.device, a.dtype)


class TrainedEncoder(NamedTuple):
    """What :func:`train_ssl` returns: the trained copy of the encoder and its history."""

    encoder: torch.nn.Module
    history: xr.Dataset


def train_ssl(encoder, views, loss_fn, *, steps: int = 500, lr: float = 1e-2, optimizer: str = "sgd",
              batch_size=None, seed=0, record_every: int = 1, device=None, dtype=None) -> TrainedEncoder:
    """Train a copy of ``encoder`` on two views with ``loss_fn(z_a, z_b)`` and record the
    covariance spectrum of ``encoder(view_a)`` (:func:`spectrakit.core.representations.train_ssl`).

    ``views``: a Dataset from :func:`ssl_toy_data` or a pair of (n, d_in) arrays; arrays
    go to the encoder's device and dtype.

    Returns
    -------
    TrainedEncoder
        ``(encoder, history)``; ``history`` has ``loss`` and ``effective_rank`` over
        ``step`` and ``eigenvalues`` over ``(step, mode)``.

    Examples
    --------
    >>> views = ssl_toy_data(64, 4, seed=0)
    >>> enc = linear_encoder(4, 3, seed=0)
    >>> run = train_ssl(enc, views, lambda a, b: vicreg_loss(a, b), steps=5, record_every=5)
    >>> run.history["eigenvalues"].dims, run.history["step"].values.tolist()
    (('step', 'mode'), [0, 5])
    """
    if not isinstance(encoder, torch.nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module; got {type(encoder).__name__}.")
    p = next(iter(encoder.parameters()), None)
    xa, xb = _views(views, device, dtype, like=p)
    res = core.train_ssl(encoder, (xa, xb), loss_fn, steps=steps, lr=lr, optimizer=optimizer, batch_size=batch_size,
                         seed=seed, record_every=record_every)
    spectra = res.spectra.detach()
    history = xr.Dataset(
        {"loss": ("step", to_numpy(res.loss.detach())), "eigenvalues": (("step", "mode"), to_numpy(spectra)),
         "effective_rank": ("step", to_numpy(core.effective_rank(spectra)))},
        coords={"step": to_numpy(res.steps), "mode": np.arange(spectra.shape[1])},
    )
    history["eigenvalues"].attrs["long_name"] = "covariance eigenvalues of encoder(view_a)"
    history["mode"].attrs["long_name"] = "eigenvalue index, 0 = the largest"
    history.attrs.update(lr=float(lr), optimizer=optimizer, seed="none" if seed is None else seed, **tensor_attrs(spectra))
    return TrainedEncoder(res.encoder, history)


def linear_barlow_twins(views, d_out: int, *, steps: int = 1000, lr: float = 0.05, init_scale: float = 1e-3,
                        seed=0, device=None, dtype=None) -> xr.Dataset:
    """Linear Barlow Twins from a small initialization, where the eigenmodes are learned
    one at a time (:func:`spectrakit.core.representations.linear_barlow_twins`).

    ``views``: a Dataset from :func:`ssl_toy_data` or a pair of (n, d_in) arrays.

    Returns
    -------
    xarray.Dataset
        ``eigenvalues`` over ``(step, mode)`` (of ``C = W Gamma W^T``, steps ``0 ..
        steps``), ``loss`` over ``step``, ``target`` (the top eigenvalues of the views'
        cross-correlation) and ``predicted_steps`` (the theory's half-rise steps) over
        ``mode``, ``weights`` over ``(mode, feature)`` (W, one row per output).

    Examples
    --------
    >>> bt = linear_barlow_twins(ssl_toy_data(500, 6, decay=0.5, seed=0), 2, steps=300)
    >>> bt["eigenvalues"].dims, switch_on_steps(bt["eigenvalues"]).dims
    (('step', 'mode'), ('mode',))
    """
    xa, xb = _views(views, device, dtype)
    res = core.linear_barlow_twins(xa, xb, d_out, steps=steps, lr=lr, init_scale=init_scale, seed=seed)
    ds = xr.Dataset(
        {"eigenvalues": (("step", "mode"), to_numpy(res.eigenvalues)), "loss": ("step", to_numpy(res.loss)),
         "target": ("mode", to_numpy(res.target)), "predicted_steps": ("mode", to_numpy(res.predicted_steps)),
         "weights": (("mode", "feature"), to_numpy(res.weights))},
        coords={"step": np.arange(res.eigenvalues.shape[0]), "mode": np.arange(res.eigenvalues.shape[1])},
    )
    ds["eigenvalues"].attrs["long_name"] = "eigenvalues of C = W Gamma W^T"
    ds["loss"].attrs["long_name"] = "||C - I||_F^2"
    ds["predicted_steps"].attrs["long_name"] = "half-rise step by the small-initialization theory"
    ds.attrs.update(lr=float(lr), init_scale=float(init_scale), seed="none" if seed is None else seed,
                    **tensor_attrs(res.eigenvalues))
    return ds


def switch_on_steps(eigenvalues, level: float = 0.5) -> xr.DataArray:
    """The first step at which each eigenvalue of a history reaches ``level`` times its
    final value (-1: never switched on; :func:`spectrakit.core.representations.switch_on_steps`).

    ``eigenvalues`` is over ``(step, mode)`` (a DataArray: the answer is in its ``step``
    coordinate) or a (steps, d) array (the answer is a row index).

    Examples
    --------
    >>> import numpy as np
    >>> switch_on_steps(np.array([[0.0, 0.0], [0.6, 0.0], [1.0, 0.1], [1.0, 0.9], [1.0, 1.0]])).values.tolist()
    [1, 3]
    """
    if len(shape_of(eigenvalues)) != 2:
        raise ValueError(f"eigenvalues must be a (step, mode) history; got shape {shape_of(eigenvalues)}.")
    steps, mode_coords, mdim = None, {}, "mode"
    if isinstance(eigenvalues, xr.DataArray):
        if "step" in eigenvalues.dims:
            eigenvalues = eigenvalues.transpose("step", ...)
            steps = eigenvalues["step"].values if "step" in eigenvalues.coords else None
        mdim = eigenvalues.dims[1]
        mode_coords = {k: v for k, v in eigenvalues.coords.items() if v.dims == (mdim,)}
    t = _tensor(eigenvalues, "eigenvalues", None, None)
    idx = to_numpy(core.switch_on_steps(t, level))
    if steps is not None:
        idx = np.where(idx >= 0, steps[np.clip(idx, 0, None)], -1)
    coords = {("mode" if k == mdim else k): ("mode", v.values) for k, v in mode_coords.items()}
    out = xr.DataArray(idx, dims=("mode",), coords=coords, name="switch_on_step")
    if "mode" not in out.coords:
        out.coords["mode"] = np.arange(out.shape[0])
    out.attrs.update(long_name=f"first step at {level} of the final value (-1: never)", level=float(level))
    return out
