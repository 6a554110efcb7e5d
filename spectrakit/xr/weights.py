"""Weight spectra on labelled results: the singular values of linear and convolutional
layers, their norms, power and Gram iteration, and a model's Lipschitz bounds as xarray.

Each function converts its inputs through :mod:`spectrakit.xr._apply` (a numpy or xarray
weight computes in float64 on the device DESIGN.md's precedence gives; a tensor, a
``nn.Parameter`` included, stays on its device, detached), calls
:mod:`spectrakit.core.weights` and labels the result. Singular values are over ``mode``
(a 0-based integer index, 0 = the largest); a model's layers over ``layer`` (0-based, in
``named_modules()`` order) with the module's name as the coordinate ``module``; a conv
layer's spectrum by frequency over ``(freq_h, freq_w, mode)``. Functions of a model
compute where its parameters are; their inputs go there too. ``attrs`` record
``device``, ``dtype`` and ``method``.

:func:`orthogonality_penalty` is a differentiable training loss (a tensor that
``.backward()`` needs) and is re-exported unchanged from :mod:`spectrakit.core.weights`.

>>> import numpy as np
>>> w = np.diag([3.0, 1.0])
>>> power_iteration(w, seed=0)["sigma"].round(6).item()
3.0
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr
from torch import nn

from ..core import weights as core
from ..core.weights import orthogonality_penalty
from ._apply import compute_settings, raw, shape_of, tensor_attrs, to_numpy, to_tensor

__all__ = [
    "conv_matrix",
    "conv_singular_values",
    "conv_operator_norm",
    "power_iteration",
    "conv_power_iteration",
    "gram_iteration_norm",
    "spectral_normalize",
    "layer_spectra",
    "lipschitz_bound",
    "input_jacobian_norms",
    "max_input_gradient_norm",
]

#: re-exported unchanged (importable from this module; spectrakit.xr's namespace holds only labelled
#: functions): they act on closures, models or tensors inside a training loop and have no labels to add
TOOLS = (orthogonality_penalty)

_CONV_DIMS = ("out", "in", "kh", "kw")



def _weight(weight, device, dtype, name="weight") -> torch.Tensor:
    if len(shape_of(weight)) not in (2, 4):
        raise ValueError(
            f"{name} must be 2-D (out, in) or 4-D (out, in, kh, kw); got shape {shape_of(weight)}."
        )
    device, dtype = compute_settings(device, dtype, weight)
    return to_tensor(weight, name, device, dtype)


def _scalar(t: torch.Tensor, name: str, long_name: str, **attrs) -> xr.DataArray:
    out = xr.DataArray(to_numpy(t.detach()), name=name)
    out.attrs.update(long_name=long_name, **attrs, **tensor_attrs(t))
    return out


def _grid_attrs(input_shape) -> dict:
    return {} if input_shape is None else {"input_shape": [int(v) for v in input_shape]}


def conv_matrix(weight, input_shape, *, device=None, dtype=None) -> xr.DataArray:
    """The dense matrix of the circular convolution with ``weight`` on an ``H x W`` grid
    (:func:`spectrakit.core.weights.conv_matrix`), over ``(output, input)``.

    ``output`` is the flat ``(C_out, H, W)`` index and ``input`` the flat ``(C_in, H, W)``
    index (C order), so ``M @ x.ravel()`` is the convolution of ``x``. For tests and small
    sizes (a ``MemoryError`` names the size first); :func:`conv_singular_values` gives
    its spectrum without forming it.

    Examples
    --------
    >>> import numpy as np
    >>> M = conv_matrix(np.ones((1, 1, 1, 2)), (1, 3), device="cpu")   # y[j] = x[j] + x[j + 1]
    >>> M.dims, M.values.tolist()
    (('output', 'input'), [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
    """
    w = _weight(weight, device, dtype)
    M = core.conv_matrix(w, input_shape)
    out = xr.DataArray(to_numpy(M), dims=("output", "input"), name="conv_matrix")
    out.attrs.update(long_name="circular convolution as a matrix", **_grid_attrs(input_shape), **tensor_attrs(M))
    return out


def conv_singular_values(weight, input_shape, *, by_frequency: bool = False, device=None, dtype=None
                         ) -> xr.DataArray:
    """Every singular value of the circular convolution with ``weight`` (out, in, kh, kw)
    on an ``H x W`` grid, by one small SVD per frequency of the kernel's FFT (Sedghi, Gupta
    & Long 2019; :func:`spectrakit.core.weights.conv_singular_values`).

    Returns
    -------
    xarray.DataArray
        Over ``mode`` (all ``H W min(C_out, C_in)`` values, descending), or with
        ``by_frequency`` over ``(freq_h, freq_w, mode)`` (each frequency's values
        descending; frequency coords in cycles per pixel, numpy.fft.fftfreq's order).

    Examples
    --------
    A 1 x 1 kernel is the same matrix at every pixel: its singular values, H W times.

    >>> import numpy as np
    >>> sv = conv_singular_values(np.array([[[[2.0]], [[0.0]]]]), (2, 2), device="cpu")
    >>> sv.dims, sv.values.tolist()
    (('mode',), [2.0, 2.0, 2.0, 2.0])
    """
    w = _weight(weight, device, dtype)
    s = core.conv_singular_values(w, input_shape, by_frequency=by_frequency)
    H, W = (int(v) for v in input_shape)
    if by_frequency:
        out = xr.DataArray(
            to_numpy(s), dims=("freq_h", "freq_w", "mode"),
            coords={"freq_h": np.fft.fftfreq(H), "freq_w": np.fft.fftfreq(W), "mode": np.arange(s.shape[-1])},
        )
    else:
        out = xr.DataArray(to_numpy(s), dims=("mode",), coords={"mode": np.arange(s.shape[0])})
    out.name = "singular_values"
    out.attrs.update(long_name="singular value of the circular convolution", method="fft",
                     **_grid_attrs(input_shape), **tensor_attrs(s))
    return out


def conv_operator_norm(weight, input_shape, *, device=None, dtype=None) -> xr.DataArray:
    """The spectral norm of the circular convolution with ``weight`` on ``H x W``, exactly
    (the largest of :func:`conv_singular_values`; :func:`spectrakit.core.weights.conv_operator_norm`).

    Examples
    --------
    >>> import numpy as np
    >>> float(conv_operator_norm(np.ones((1, 1, 1, 2)), (1, 4), device="cpu"))
    2.0
    """
    w = _weight(weight, device, dtype)
    return _scalar(core.conv_operator_norm(w, input_shape), "norm", "spectral norm of the convolution",
                   method="fft", **_grid_attrs(input_shape))


def _power_dataset(res, vector_dims, vector_coords, method, **attrs) -> xr.Dataset:
    k = res.history.shape[0]
    ds = xr.Dataset(
        {"sigma": ((), to_numpy(res.sigma)), "vector": (vector_dims, to_numpy(res.vector)),
         "history": (("iteration",), to_numpy(res.history))},
        coords={"iteration": np.arange(1, k + 1), **vector_coords},
    )
    ds["sigma"].attrs["long_name"] = "||A v_k||, the last estimate of the spectral norm (a lower bound)"
    ds["vector"].attrs["long_name"] = "v_k, the estimate of the top right singular vector"
    ds["history"].attrs["long_name"] = "the estimate after each iteration"
    ds["iteration"].attrs["long_name"] = "iteration k (applications of A^T A)"
    ds.attrs.update(method=method, n_iter=int(k), **attrs, **tensor_attrs(res.sigma))
    return ds


def power_iteration(operator, n=None, *, rmatvec=None, max_iter: int = 100, tol=None, seed=None, v0=None,
                    callback=None, device=None, dtype=None) -> xr.Dataset:
    """The spectral norm ``||A||_2`` by power iteration on ``A^T A``
    (:func:`spectrakit.core.weights.power_iteration`: the method of spectral
    normalization; the relative error falls like ``(s_2 / s_1)^(4k)``).

    Parameters
    ----------
    operator : (m, n) numpy array, tensor or DataArray, or callable
        A matrix, or ``matvec(v) = A v`` on flat tensors (then ``n`` and ``rmatvec`` are
        required, as in core).
    v0 : optional
        The start vector (numpy, tensor or DataArray; not modified), else a random one
        from ``seed``.
    max_iter, tol, seed, callback, device, dtype
        As in :func:`spectrakit.core.weights.power_iteration`.

    Returns
    -------
    xarray.Dataset
        ``sigma`` (0-d, the last estimate), ``vector`` over the matrix's column dim
        (``col``, or a DataArray's second dim with its coords) and ``history`` over
        ``iteration`` (1, 2, ...).

    Examples
    --------
    >>> import numpy as np
    >>> res = power_iteration(np.diag([2.0, 1.0]), v0=np.ones(2), max_iter=3, tol=0, device="cpu")
    >>> res["history"].dims, float(res["history"][-1]) < 2.0 < float(res["history"][-1]) + 1e-3
    (('iteration',), True)
    """
    col, coords = "col", {}
    is_matrix = isinstance(raw(operator), (torch.Tensor, np.ndarray)) or not callable(operator)
    if is_matrix:
        if len(shape_of(operator)) != 2:
            raise ValueError(f"operator must be a 2-D matrix or a callable; got shape {shape_of(operator)}.")
        if isinstance(operator, xr.DataArray):
            col = operator.dims[1]
            coords = {k: v.values for k, v in operator.coords.items() if v.dims == (col,)}
    device, dtype = compute_settings(device, dtype, operator if is_matrix else v0)
    op = to_tensor(operator, "operator", device, dtype) if is_matrix else operator
    v = None if v0 is None else to_tensor(v0, "v0", device, dtype)
    res = core.power_iteration(op, n, rmatvec=rmatvec, max_iter=max_iter, tol=tol, seed=seed, v0=v,
                               callback=callback, device=None if is_matrix else device,
                               dtype=None if is_matrix else dtype)
    return _power_dataset(res, (col,), {k: (col, v) for k, v in coords.items()}, "power iteration",
                          seed="none" if seed is None else seed)


def conv_power_iteration(weight, input_shape, *, max_iter: int = 100, tol=None, seed=None, v0=None, callback=None,
                         device=None, dtype=None) -> xr.Dataset:
    """:func:`power_iteration` on the circular convolution with ``weight`` (one
    convolution and one adjoint per iteration, no matrix;
    :func:`spectrakit.core.weights.conv_power_iteration`): ``vector`` over
    ``(in, h, w)``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.random.default_rng(0).standard_normal((4, 2, 3, 3))
    >>> res = conv_power_iteration(w, (8, 8), seed=0, tol=1e-12, max_iter=500, device="cpu")
    >>> res["vector"].dims, bool(abs(res["sigma"] - conv_operator_norm(w, (8, 8))) < 1e-6)
    (('in', 'h', 'w'), True)
    """
    w = _weight(weight, device, dtype)
    v = None if v0 is None else to_tensor(v0, "v0", w.device, w.dtype)
    res = core.conv_power_iteration(w, input_shape, max_iter=max_iter, tol=tol, seed=seed, v0=v, callback=callback)
    return _power_dataset(res, ("in", "h", "w"), {}, "power iteration on the convolution",
                          seed="none" if seed is None else seed, **_grid_attrs(input_shape))


def gram_iteration_norm(weight, input_shape=None, n_iter: int = 4, *, device=None, dtype=None) -> xr.DataArray:
    """An upper bound on the spectral norm by ``n_iter`` steps of Gram iteration
    (:func:`spectrakit.core.weights.gram_iteration_norm`: the correct digits roughly double
    with each step); a matrix, or a conv kernel on the grid ``input_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> bound = gram_iteration_norm(np.diag([3.0, 1.0]), n_iter=5, device="cpu")
    >>> 3.0 <= float(bound) < 3.0 + 1e-9
    True
    """
    w = _weight(weight, device, dtype)
    return _scalar(core.gram_iteration_norm(w, input_shape, n_iter), "norm",
                   "upper bound on the spectral norm (Gram iteration)", method="gram iteration", n_iter=int(n_iter),
                   **_grid_attrs(input_shape))


def spectral_normalize(weight, target: float = 1.0, input_shape=None, *, device=None, dtype=None) -> xr.DataArray:
    """``weight`` scaled so that its operator's spectral norm is ``target``
    (:func:`spectrakit.core.weights.spectral_normalize`): a matrix by its largest
    singular value, a conv kernel by its convolution's exact norm on ``input_shape`` (not
    the reshaped kernel's, which torch's ``spectral_norm`` uses).

    Returns
    -------
    xarray.DataArray
        With the weight's dims (a DataArray's, else ``(out, in)`` or ``(out, in, kh, kw)``)
        and ``attrs["scale"]``, the factor applied. To write it into a layer:
        ``layer.weight.copy_(torch.from_numpy(result.values))``.

    Examples
    --------
    >>> import numpy as np
    >>> spectral_normalize(np.diag([4.0, 2.0]), device="cpu").values.tolist()
    [[1.0, 0.0], [0.0, 0.5]]
    """
    w = _weight(weight, device, dtype)
    out_t = core.spectral_normalize(w, target, input_shape)
    dims = weight.dims if isinstance(weight, xr.DataArray) else _CONV_DIMS[: w.ndim]
    coords = weight.coords if isinstance(weight, xr.DataArray) else None
    out = xr.DataArray(to_numpy(out_t.detach()), dims=dims, coords=coords, name="weight")
    norm = float(torch.linalg.vector_norm(w))
    out.attrs.update(target=float(target), scale=float(torch.linalg.vector_norm(out_t)) / norm if norm else 1.0,
                     **_grid_attrs(input_shape), **tensor_attrs(out_t))
    return out


# ------------------------------------------------------------------------- models


def _check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
    return model


def layer_spectra(model, input_shape=None) -> xr.Dataset:
    """The singular values of every ``nn.Linear`` and ``nn.Conv2d`` layer of a model
    (:func:`spectrakit.core.weights.layer_spectra`), one row per layer.

    Returns
    -------
    xarray.Dataset
        ``singular_values`` over ``(layer, mode)``, descending, NaN past a layer's own
        count; ``norm`` over ``layer``; coords on ``layer``: ``module`` (its name in the
        model), ``kind`` (linear, conv2d), ``exact`` (False: a bound, for zero padding or
        stride > 1), ``n_values``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False))
    >>> spec = layer_spectra(net)
    >>> spec["singular_values"].dims, spec["module"].values.tolist(), spec["n_values"].values.tolist()
    (('layer', 'mode'), ['0', '2'], [2, 1])
    """
    spectra = core.layer_spectra(_check_model(model), input_shape)
    if not spectra:
        raise ValueError("model has no nn.Linear or nn.Conv2d layer: nothing to decompose.")
    n = max(s.singular_values.shape[0] for s in spectra)
    sv = np.full((len(spectra), n), np.nan)
    for i, s in enumerate(spectra):
        sv[i, : s.singular_values.shape[0]] = to_numpy(s.singular_values)
    ds = xr.Dataset(
        {"singular_values": (("layer", "mode"), sv), "norm": ("layer", sv[:, 0])},
        coords={"layer": np.arange(len(spectra)), "mode": np.arange(n),
                "module": ("layer", [s.name for s in spectra]), "kind": ("layer", [s.kind for s in spectra]),
                "exact": ("layer", [bool(s.exact) for s in spectra]),
                "n_values": ("layer", [int(s.singular_values.shape[0]) for s in spectra])},
    )
    ds["singular_values"].attrs["long_name"] = "singular value of the layer's operator"
    ds["norm"].attrs["long_name"] = "spectral norm of the layer (an upper bound where exact is False)"
    ds["mode"].attrs["long_name"] = "singular value index, 0 = the largest"
    ds.attrs.update(method="svdvals (linear), fft (conv2d)", **tensor_attrs(spectra[0].singular_values))
    return ds


def lipschitz_bound(model, input_shape=None) -> xr.DataArray:
    """The product of the layers' spectral norms, an upper bound on the model's Lipschitz
    constant for 1-Lipschitz activations (:func:`spectrakit.core.weights.lipschitz_bound`).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.diag(torch.tensor([3.0, 1.0]))); _ = net[2].weight.fill_(1.0)
    >>> round(float(lipschitz_bound(net)), 5)   # 3 * sqrt(2)
    4.24264
    """
    t = core.lipschitz_bound(_check_model(model), input_shape)
    return _scalar(t, "lipschitz_bound", "product of the layers' spectral norms")


def _inputs(model, inputs, device, dtype) -> torch.Tensor:
    if isinstance(raw(inputs), torch.Tensor) or device is not None or dtype is not None:
        device, dtype = compute_settings(device, dtype, inputs)
    else:  # an array has no device: it goes where the model is
        p = next(iter(model.parameters()), None)
        device, dtype = compute_settings(None if p is None else p.device, None if p is None else p.dtype, inputs)
    return to_tensor(inputs, "inputs", device, dtype)


def input_jacobian_norms(model, inputs, *, device=None, dtype=None) -> xr.DataArray:
    """The spectral norm of the input Jacobian at each input, ``||d f(x_i)/d x||_2``
    (:func:`spectrakit.core.weights.input_jacobian_norms`): each a lower bound on the
    Lipschitz constant.

    ``inputs`` (N, ...) may be numpy (goes to the model's device and dtype), a tensor or a
    DataArray, whose first dim and its coords label the result; else the dim is ``sample``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from torch import nn
    >>> net = nn.Linear(2, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> input_jacobian_norms(net, np.zeros((2, 2))).values.tolist()
    [5.0, 5.0]
    """
    x = _inputs(_check_model(model), inputs, device, dtype)
    norms = core.input_jacobian_norms(model, x)
    dim, coords = "sample", {}
    if isinstance(inputs, xr.DataArray):
        dim = inputs.dims[0]
        coords = {k: v for k, v in inputs.coords.items() if v.dims == (dim,)}
    out = xr.DataArray(to_numpy(norms), dims=(dim,), coords=coords, name="input_jacobian_norm")
    out.attrs.update(long_name="||d f(x) / d x||_2 at each input", **tensor_attrs(norms))
    return out


def max_input_gradient_norm(model, inputs, *, device=None, dtype=None) -> xr.DataArray:
    """The largest of :func:`input_jacobian_norms` over a batch
    (:func:`spectrakit.core.weights.max_input_gradient_norm`): a lower bound on the
    model's Lipschitz constant, to set against :func:`lipschitz_bound`.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from torch import nn
    >>> net = nn.Linear(2, 1, bias=False).double()
    >>> top = float(max_input_gradient_norm(net, np.zeros((3, 2))))
    >>> abs(top - float(torch.linalg.vector_norm(net.weight.detach()))) < 1e-12   # a linear map: its norm
    True
    """
    x = _inputs(_check_model(model), inputs, device, dtype)
    return _scalar(core.max_input_gradient_norm(model, x), "max_input_gradient_norm",
                   "largest ||d f(x) / d x||_2 over the inputs")
