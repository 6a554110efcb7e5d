"""Training dynamics on labelled results: Hessian and NTK spectra over ``mode``, the
Hutchinson trace, the training Jacobian and Grokfast's filter response as xarray.

The labelled functions call :mod:`spectrakit.core.dynamics` and label what comes back:
spectra are Datasets over ``mode`` (a 0-based integer index, largest first), with the
eigenvalue as the variable ``eigenvalue`` and, when asked for, the eigenvectors over
``(mode, param)``; square operators over the parameters are over ``(param, param_)``.
``attrs`` record ``method``, ``device`` and ``dtype`` (the parameters' or the input's: a
closure keeps its tensors where they are, so functions of a loss or a model compute on
its parameters' device and dtype).

Array inputs (``freq``, ``w0``) may be numpy arrays, torch tensors or DataArrays:
numpy and xarray compute in float64 on the device DESIGN.md's precedence gives
(:func:`spectrakit.set_options`); a tensor stays on its device.

Tools that act on closures and tensors step by step, and have no labels to add, are
re-exported unchanged so a notebook finds the whole capability here:
:func:`hvp`, :func:`hvp_operator`, :func:`perturbed_gradient`,
:func:`gradient_penalty_gradient`, :class:`GradientEMAFilter` and
:func:`stability_threshold` (see :mod:`spectrakit.core.dynamics` for their docs).

>>> import torch
>>> w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
>>> spec = hessian_spectrum(lambda: (w**4).sum() / 12, [w], k=2, seed=0)
>>> spec["eigenvalue"].values.round(8).tolist(), spec["mode"].values.tolist()
([9.0, 4.0], [0, 1])
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import xarray as xr

from ..core import dynamics as core
from ..core.dynamics import (GradientEMAFilter, gradient_penalty_gradient, hvp, hvp_operator, perturbed_gradient,
                             stability_threshold)
from ._apply import compute_settings, shape_of, tensor_attrs, to_numpy, to_tensor

__all__ = [
    "hessian_spectrum",
    "hutchinson_trace",
    "ntk_spectrum",
    "training_jacobian",
    "ema_filter_response",
]

#: re-exported unchanged (importable from this module; spectrakit.xr's namespace holds only labelled
#: functions): they act on closures, models or tensors inside a training loop and have no labels to add
TOOLS = (hvp, hvp_operator, perturbed_gradient, gradient_penalty_gradient, GradientEMAFilter, stability_threshold)



def _spectrum(vals: torch.Tensor, vecs: torch.Tensor | None, vec_dim: str, solver: str, coords=None) -> xr.Dataset:
    data = {"eigenvalue": ("mode", to_numpy(vals))}
    if vecs is not None:
        data["eigenvector"] = (("mode", vec_dim), to_numpy(vecs).T)
    ds = xr.Dataset(data, coords={"mode": np.arange(vals.shape[0]), **(coords or {})})
    ds["mode"].attrs["long_name"] = "eigenvalue index, 0 = the largest"
    ds.attrs.update(solver=solver, **tensor_attrs(vals))
    return ds


def hessian_spectrum(loss_fn, params, k: int = 5, *, eigenvectors: bool = False, max_iter=None, tol=None,
                     seed=None) -> xr.Dataset:
    """The top ``k`` Hessian eigenvalues of a scalar loss, by Lanczos on Hessian-vector
    products (:func:`spectrakit.core.dynamics.hessian_top_eigenvalues`).

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn()`` returns the scalar loss of ``params`` (built by torch operations).
    params : sequence of tensors with ``requires_grad``
        The parameters; not modified.
    k : int
        How many eigenvalues (largest first), ``1 <= k <=`` the parameter count.
    eigenvectors : bool
        Add ``eigenvector`` over ``(mode, param)`` (flat parameter index).
    max_iter, tol, seed
        Lanczos' options (:func:`spectrakit.core.dynamics.lanczos`).

    Returns
    -------
    xarray.Dataset
        ``eigenvalue`` over ``mode`` (0-based, largest first); ``sharpness`` (the largest)
        in ``attrs``, with ``solver="lanczos"``, ``device``, ``dtype``.

    Examples
    --------
    Least squares ``|X w - y|^2 / 2n`` has the Hessian ``X^T X / n``:

    >>> import torch
    >>> X = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    >>> spec = hessian_spectrum(lambda: ((X @ w) ** 2).sum() / 4, [w], k=2, seed=0)
    >>> spec["eigenvalue"].values.round(8).tolist(), spec.attrs["sharpness"]
    ([2.0, 0.5], 2.0)
    """
    vals, vecs = core.hessian_top_eigenvalues(loss_fn, params, k, max_iter=max_iter, tol=tol, seed=seed)
    ds = _spectrum(vals, vecs if eigenvectors else None, "param", "lanczos")
    ds["eigenvalue"].attrs["long_name"] = "Hessian eigenvalue"
    ds.attrs["sharpness"] = float(vals[0])
    return ds


def hutchinson_trace(matvec, n: int, *, n_samples: int = 100, seed=None, device=None, dtype=None) -> xr.Dataset:
    """Hutchinson's estimate of ``tr(A) = E[z^T A z]`` from Rademacher probes, with its
    standard error (:func:`spectrakit.core.dynamics.hutchinson_trace`).

    ``matvec`` is ``v -> A v`` for flat vectors of length ``n`` (e.g. the first value of
    :func:`hvp_operator`: then the trace of a Hessian).

    Returns
    -------
    xarray.Dataset
        Scalars ``estimate`` and ``standard_error``; attrs ``n_samples``, ``seed``,
        ``method="hutchinson"``, ``device``, ``dtype``.

    Examples
    --------
    >>> import torch
    >>> d = torch.arange(1.0, 6.0, dtype=torch.float64)
    >>> tr = hutchinson_trace(lambda v: d * v, 5, n_samples=10, seed=0)
    >>> float(tr["estimate"]), float(tr["standard_error"])
    (15.0, 0.0)
    """
    est, se = core.hutchinson_trace(matvec, n, n_samples=n_samples, seed=seed, device=device, dtype=dtype)
    ds = xr.Dataset({"estimate": ((), to_numpy(est)), "standard_error": ((), to_numpy(se))})
    ds["estimate"].attrs["long_name"] = "tr(A) estimated as the mean of z^T A z"
    ds["standard_error"].attrs["long_name"] = "sample standard deviation / sqrt(n_samples)"
    ds.attrs.update(method="hutchinson", n_samples=int(n_samples), seed="none" if seed is None else seed,
                    **tensor_attrs(est))
    return ds


def ntk_spectrum(outputs_fn, params, k=None, *, eigenvectors: bool = True) -> xr.Dataset:
    """Eigenvalues and eigenvectors of the empirical neural tangent kernel ``J J^T``
    (:func:`spectrakit.core.dynamics.ntk_eigen`).

    Parameters
    ----------
    outputs_fn : callable
        ``outputs_fn()`` returns the model's outputs (any shape; flattened to ``N``).
    params : sequence of tensors with ``requires_grad``
    k : int, optional
        How many (the largest); default all ``N``.
    eigenvectors : bool
        Add ``eigenvector`` over ``(mode, output)`` (sign-fixed: largest entry positive).

    Returns
    -------
    xarray.Dataset
        ``eigenvalue`` over ``mode`` (largest first) and ``eigenvector`` over
        ``(mode, output)``.

    Examples
    --------
    >>> import torch
    >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> x = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> ntk_spectrum(lambda: x @ w, [w])["eigenvalue"].values.tolist()
    [4.0, 1.0]
    """
    vals, vecs = core.ntk_eigen(outputs_fn, params, k)
    ds = _spectrum(vals, vecs if eigenvectors else None, "output", "eigh of the empirical NTK")
    ds["eigenvalue"].attrs["long_name"] = "NTK eigenvalue"
    return ds


def training_jacobian(step, w0, steps: int, *, device=None, dtype=None) -> xr.DataArray:
    """The Jacobian ``d w_T / d w_0`` of ``steps`` iterations ``w_{t+1} = step(w_t)``
    (:func:`spectrakit.core.dynamics.training_jacobian`), over ``(param, param_)``.

    Parameters
    ----------
    step : callable
        ``step(w)`` maps a flat tensor ``(P,)`` to the next one by differentiable torch
        operations (a gradient inside must use ``create_graph=True``).
    w0 : (P,) numpy array, tensor or 1-D DataArray
        The initial parameters (not modified). A DataArray's dim and coords label both
        result dims (``<dim>`` and ``<dim>_``).
    steps : int
        ``T >= 0``.
    device, dtype
        Where a numpy or xarray ``w0`` goes (a tensor stays where it is).

    Returns
    -------
    xarray.DataArray
        ``J[i, j] = d (w_T)_i / d (w_0)_j`` over ``(param, param_)``; attrs ``steps``,
        ``device``, ``dtype``. Its singular values show what training forgets (< 1), keeps
        (= 1) or amplifies (> 1).

    Examples
    --------
    Gradient descent on ``|w|^2 / 2`` with lr 0.5 halves ``w`` each step:

    >>> import numpy as np
    >>> J = training_jacobian(lambda w: w - 0.5 * w, np.zeros(2), 3, device="cpu")
    >>> J.dims, J.values.tolist()
    (('param', 'param_'), [[0.125, 0.0], [0.0, 0.125]])
    """
    if len(shape_of(w0)) != 1:
        raise ValueError(f"w0 must be 1-D (the flat parameters); got shape {shape_of(w0)}.")
    device, dtype = compute_settings(device, dtype, w0)
    J = core.training_jacobian(step, to_tensor(w0, "w0", device, dtype), steps)  # (core never writes into w0)
    dim, coords = "param", {}
    if isinstance(w0, xr.DataArray):
        dim = w0.dims[0]
        coords = {k: v.values for k, v in w0.coords.items() if v.dims == (dim,)}
    out = xr.DataArray(to_numpy(J), dims=(dim, dim + "_"), name="training_jacobian")
    for name, values in coords.items():
        out.coords[name] = (dim, values)
        out.coords[name + "_"] = (dim + "_", values)
    out.attrs.update(long_name="d w_T / d w_0", steps=int(steps), **tensor_attrs(J))
    return out


def ema_filter_response(freq, alpha: float, lamb: float, *, device=None, dtype=None) -> xr.DataArray:
    """Grokfast-EMA's transfer function ``H(f) = 1 + lamb (1 - alpha) / (1 - alpha
    exp(-2 pi i f))`` (:func:`spectrakit.core.dynamics.ema_filter_response`), over ``freq``.

    Parameters
    ----------
    freq : float, or 1-D numpy array, tensor or DataArray
        Frequencies in cycles per optimizer step (``|f| <= 0.5`` is the Nyquist range).
        A DataArray keeps its dim and coords; else the dim is ``freq`` with the values as
        its coordinate.
    alpha, lamb : float
        As in :class:`GradientEMAFilter`.

    Returns
    -------
    xarray.DataArray
        Complex ``H`` (``abs(H)`` is the gain, ``numpy.angle`` the phase); a scalar
        ``freq`` gives a 0-d DataArray.

    Examples
    --------
    >>> H = ema_filter_response([0.0, 0.5], alpha=0.98, lamb=2.0, device="cpu")
    >>> abs(H).round(4).values.tolist(), H.dims
    ([3.0, 1.0202], ('freq',))
    """
    if isinstance(freq, numbers.Real) and not isinstance(freq, (bool, np.ndarray)):
        freq = np.float64(freq)
    if len(shape_of(freq)) > 1:
        raise ValueError(f"freq must be a scalar or 1-D; got shape {shape_of(freq)}.")
    device, dtype = compute_settings(device, dtype, freq)
    f = to_tensor(freq, "freq", device, dtype)
    if len(shape_of(freq)) == 0:  # (the bridge's contiguous copy of a 0-d array is 1-d)
        f = f.reshape(())
    H = core.ema_filter_response(f, alpha, lamb)
    if isinstance(freq, xr.DataArray):
        out = xr.DataArray(to_numpy(H), dims=freq.dims, coords=freq.coords)
    elif f.ndim == 1:
        out = xr.DataArray(to_numpy(H), dims=("freq",), coords={"freq": to_numpy(f)})
    else:
        out = xr.DataArray(to_numpy(H), attrs={"freq": float(f)})
    out.name = "response"
    out.attrs.update(long_name="H(f), Grokfast-EMA transfer function", units_freq="cycles per step",
                     alpha=float(alpha), lamb=float(lamb), **tensor_attrs(f))
    return out
