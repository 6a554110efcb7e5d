"""A GUI-free training session that records the spectra of training as it runs.

:class:`TrainingSession` trains a small torch MLP, in-process, on targets sampled on an
evenly spaced grid: a 1-D signal ``y(x)`` or a 2-D image. It runs as many steps as asked
(``run(steps)``) and records at every ``record_every``-th step

* ``loss``: the full-batch mean squared error ``mean((f(x) - y)**2)`` (no penalty terms);
* ``residual_amplitude``: the amplitude spectrum of the residual ``r = f(x) - y`` on the
  grid, ``sqrt(sum_k w_k |R_k|**2) / N`` over the DFT coefficients ``R = fftn(r)`` of one
  frequency bin, with ``w_k = 2`` except ``w_k = 1`` where ``k = -k`` (0 and Nyquist). In
  1-D the bins are the one-sided frequencies ``|f|``, in 2-D the rings of
  :func:`spectrakit.core.fourier.radial_bins`; either way a residual ``A cos(2 pi f0 . x)``
  at a grid frequency reads ``A`` at ``|f0|`` (the transforms are
  :mod:`spectrakit.core.fourier`'s);
* ``lr`` and ``stability_threshold``: the learning rate in force and the largest curvature
  the optimizer is linearly stable on (2/lr for GD, SGD and SAM; the root of
  ``lr l (1 + rho l) = 2`` for USAM and the gradient penalty; NaN for Adam), the line the
  sharpness is drawn against;
* optionally (``hessian_k > 0``) the top-k eigenvalues of the Hessian of that loss with
  respect to the parameters, by Lanczos on Hessian-vector products
  (:func:`spectrakit.core.dynamics.hessian_top_eigenvalues`), every ``hessian_every`` steps,
  with ``sharpness`` (the largest) and ``top_space_share`` (the share of the full-batch
  gradient's squared norm in the top-k eigenspace); with ``trace_samples > 0`` also
  ``hessian_trace`` (Hutchinson).

The history is an :class:`xarray.Dataset` over ``step`` (and ``freq``, ``mode``).

Optimizers: ``"gd"`` (full batch), ``"sgd"`` (minibatches), ``"adam"``, ``"sam"`` (the
gradient taken at ``w + rho g/|g|``), ``"usam"`` (at ``w + rho g``) and ``"gradreg"`` (the
gradient of ``L + rho/2 |grad L|^2`` by a finite difference); all but Adam apply the
gradient with plain SGD (and its weight decay). ``grokfast`` amplifies the slow part of the
gradient: ``g + lamb * EMA(g)`` (:class:`spectrakit.core.dynamics.GradientEMAFilter`).

Reproducibility: the initial weights, the Fourier-feature matrix and the minibatch draws
come from CPU ``torch.Generator`` objects owned by the session and seeded by ``seed``, so
``run(a); run(b)`` gives exactly the numbers of ``run(a + b)`` and :meth:`reset` returns to
step 0 with the same weights and batches (bit-for-bit on the CPU; GPUs may differ by
rounding between runs unless deterministic algorithms are enforced).

Step ``t`` in the history is the state after ``t`` optimizer updates (step 0 is the
initial model, recorded at construction).
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import numpy as np
import torch
import xarray as xr

from ..core import dynamics as cdyn
from ..core import fourier as cfour
from ..core.checks import check_int, check_real
from ..core.threads import single_thread_if_small
from ..xr._apply import dtype_name
from ..options import resolve_device, resolve_dtype
from ._streaming import StreamingSession

__all__ = ["TrainingSession", "OPTIMIZERS", "ACTIVATIONS"]

OPTIMIZERS = ("gd", "sgd", "adam", "sam", "usam", "gradreg")
ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "gelu": torch.nn.GELU,
               "sigmoid": torch.nn.Sigmoid, "silu": torch.nn.SiLU}
#: residual values kept before their spectra are computed together (bounds the memory)
_SUMMARIZE_AT = 2**20
#: number of random Fourier frequencies when ``fourier_features`` is set (2x as many inputs)
N_FOURIER = 64


# ----------------------------------------------------------------------------- checks


def _as_array(values, name: str) -> np.ndarray:
    if isinstance(values, xr.DataArray):
        values = values.values
    elif isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        arr = np.array(values, dtype=np.float64)  # a copy: writable, owned
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real array (numpy, torch or xarray); got {type(values).__name__}.") from None
    if not np.all(np.isfinite(arr)):
        bad = np.unravel_index(int(np.flatnonzero(~np.isfinite(arr))[0]), arr.shape)
        raise ValueError(f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)}): "
                         "drop or fill those points.")
    return arr


def _as_1d(values, name: str) -> np.ndarray:
    arr = _as_array(values, name)
    arr = np.squeeze(arr) if arr.ndim > 1 and sum(s > 1 for s in arr.shape) <= 1 else arr
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per grid point); got shape {arr.shape}.")
    return arr


def _even_spacing(coord: np.ndarray, name: str) -> float:
    if coord.size < 4:
        raise ValueError(f"{name} must have at least 4 points; got {coord.size}.")
    dx = np.diff(coord)
    step = float(dx.mean())
    if step == 0 or not np.allclose(dx, step, rtol=1e-6, atol=1e-12 * max(1.0, np.abs(coord).max())):
        raise ValueError(
            f"{name} must be an evenly spaced grid (the residual spectrum is an FFT over it); "
            f"its spacing ranges from {dx.min():.6g} to {dx.max():.6g}."
        )
    return abs(step)




def _grid_and_target(x, y):
    """``(dims, coords, target)``: the grid's dim names, one coordinate array per dim and
    the targets shaped like the grid (1-D signal or 2-D image)."""
    if y is None:
        if isinstance(x, xr.DataArray) and x.ndim == 1 and x.dims[0] in x.coords:
            dims = (str(x.dims[0]),)
            return dims, [_as_1d(x.coords[dims[0]], dims[0])], _as_1d(x, "y")
        if isinstance(x, xr.DataArray) and x.ndim == 2:
            dims = tuple(str(d) for d in x.dims)
            coords = [_as_1d(x.coords[d], d) if d in x.coords else np.arange(n, dtype=np.float64)
                      for d, n in zip(dims, x.shape)]
            return dims, coords, _as_array(x, "x (the image)")
        if not isinstance(x, xr.DataArray) and np.ndim(x) == 2:
            image = _as_array(x, "x (the image)")
            return ("y", "x"), [np.arange(n, dtype=np.float64) for n in image.shape], image
        raise ValueError(
            "y is missing: pass TrainingSession(x, y), a 1-D DataArray with a coordinate along "
            "its dimension (the coordinate is the grid, the values the targets), or a 2-D "
            "image (array or DataArray) to fit as a function of its pixel coordinates."
        )
    dims = (str(x.dims[0]),) if isinstance(x, xr.DataArray) and x.ndim == 1 else ("x",)
    grid, target = _as_1d(x, "x"), _as_1d(y, "y")
    if grid.size != target.size:
        raise ValueError(f"x and y must have the same length; got {grid.size} and {target.size}.")
    return dims, [grid], target


# ----------------------------------------------------------------------------- session


class TrainingSession(StreamingSession):
    """Train a small MLP on a 1-D signal or a 2-D image; record loss, residual spectrum
    and sharpness.

    Parameters
    ----------
    x : array-like (N,) or DataArray, or a 2-D image
        The grid, evenly spaced (increasing or decreasing). If ``y`` is None, ``x`` is
        either a 1-D DataArray with a coordinate along its dimension (that coordinate is
        the grid and the values are the targets) or a 2-D image (array or DataArray, its
        coordinates evenly spaced; pixel indices where it has none) fitted as a function
        of its two coordinates.
    y : array-like (N,) or DataArray, optional
        The targets of a 1-D problem.
    model : torch.nn.Module, optional
        Maps inputs (N, d) to (N, 1) or (N,); ``d`` is the grid's dimension (1 or 2), or
        ``2 * N_FOURIER`` with Fourier features. It is copied (the caller's module is not
        trained). Default: an MLP with ``hidden`` widths and ``activation``, initialised
        from ``seed`` (weights and biases uniform in ``+-1/sqrt(fan_in)``, PyTorch's
        default bound).
    hidden : tuple of int
        Hidden-layer widths of the default MLP.
    activation : {"relu", "tanh", "gelu", "sigmoid", "silu"}
    lr : float
        Learning rate (> 0); settable between steps (:attr:`lr`).
    optimizer : {"gd", "sgd", "adam", "sam", "usam", "gradreg"}
        ``"gd"``: full-batch gradient descent; ``"sgd"``: plain SGD on minibatches of
        ``batch_size`` points drawn without replacement each step; ``"adam"``: Adam;
        ``"sam"`` / ``"usam"``: SGD with the gradient taken at ``w + rho g/|g|`` /
        ``w + rho g`` (:func:`~spectrakit.core.dynamics.perturbed_gradient`);
        ``"gradreg"``: SGD on ``L + rho/2 |grad L|^2`` with the Hessian-gradient product
        by a finite difference
        (:func:`~spectrakit.core.dynamics.gradient_penalty_gradient`).
    rho : float
        SAM/USAM radius or gradient-penalty weight (>= 0; used by those optimizers only).
    batch_size : int, optional
        Points per step (default all). Not allowed with ``"gd"``.
    weight_decay : float
        L2 weight decay passed to the torch optimizer (>= 0).
    fourier_features : float, optional
        Scale ``sigma`` (cycles per unit of the grid's coordinates): the input becomes
        ``[cos(2 pi B x), sin(2 pi B x)]`` with ``B ~ N(0, sigma**2)`` of shape
        ``(N_FOURIER, d)``, drawn from ``seed``. Without it the input is the grid mapped
        linearly onto [-1, 1] (per coordinate).
    grokfast : float, optional
        Amplification ``lamb`` (> 0) of the gradient's EMA (Grokfast); ``grokfast_alpha``
        is the EMA's decay (0 <= alpha < 1).
    seed : int
    device, dtype
        Where and in which precision to train (``spectrakit.options`` precedence; numpy
        inputs default to float64).
    record_every : int
        Record every this many steps (step 0 is always recorded).
    hessian_k : int
        If > 0, record the top ``hessian_k`` Hessian eigenvalues of the full-batch loss.
    hessian_every : int, optional
        Steps between Hessian records, a multiple of ``record_every`` (default
        ``record_every``); recorded steps in between hold NaN.
    trace_samples : int
        With ``hessian_k > 0``: Rademacher probes for Hutchinson's estimate of the
        Hessian's trace at the Hessian steps (0: not recorded).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64) / 64
    >>> s = TrainingSession(x, np.sin(2 * np.pi * x), hidden=(16,), lr=1e-2, optimizer="adam")
    >>> h = s.run(10).history
    >>> dict(h.sizes)
    {'step': 11, 'freq': 33}
    """

    def __init__(
        self,
        x,
        y=None,
        *,
        model: torch.nn.Module | None = None,
        hidden=(64, 64),
        activation: str = "relu",
        lr: float = 1e-3,
        optimizer: str = "gd",
        rho: float = 0.05,
        batch_size: int | None = None,
        weight_decay: float = 0.0,
        fourier_features: float | None = None,
        grokfast: float | None = None,
        grokfast_alpha: float = 0.98,
        seed: int = 0,
        device=None,
        dtype=None,
        record_every: int = 1,
        hessian_k: int = 0,
        hessian_every: int | None = None,
        trace_samples: int = 0,
    ):
        # ---- data
        self.dims, self.coords, target = _grid_and_target(x, y)
        self.spacing = tuple(_even_spacing(c, name) for c, name in zip(self.coords, self.dims))
        self.shape = target.shape
        self.y = target
        self.n = target.size
        self.dim = self.dims[0]
        self.x = self.coords[0] if len(self.dims) == 1 else None  # the 1-D grid

        # ---- options
        if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r} is unknown; choose one of {OPTIMIZERS}.")
        self.optimizer_name = optimizer.lower()
        if not isinstance(activation, str) or activation.lower() not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is unknown; choose one of {tuple(ACTIVATIONS)}.")
        self.activation = activation.lower()
        self._lr = check_real(lr, "lr", strict=True)
        self.rho = check_real(rho, "rho")
        self.weight_decay = check_real(weight_decay, "weight_decay")
        if batch_size is not None:
            if self.optimizer_name == "gd":
                raise ValueError('batch_size is for the minibatch optimizers ("sgd", "adam", "sam", ...); '
                                 '"gd" is full-batch.')
            batch_size = check_int(batch_size, "batch_size", 1)
            if batch_size > self.n:
                raise ValueError(f"batch_size must be <= the number of points ({self.n}); got {batch_size}.")
        self.batch_size = batch_size
        self.fourier_features = check_real(fourier_features, "fourier_features", strict=True, allow_none=True)
        self.grokfast = check_real(grokfast, "grokfast", strict=True, allow_none=True)
        self.grokfast_alpha = check_real(grokfast_alpha, "grokfast_alpha")
        if self.grokfast_alpha >= 1:
            raise ValueError(f"grokfast_alpha must be in [0, 1) (the EMA's decay); got {grokfast_alpha!r}.")
        self.seed = check_int(seed, "seed", 0)
        self.record_every = check_int(record_every, "record_every", 1)
        self.hessian_k = check_int(hessian_k, "hessian_k", 0)
        hessian_every_given = hessian_every
        hessian_every = self.record_every if hessian_every is None else check_int(hessian_every, "hessian_every", 1)
        if hessian_every % self.record_every:
            raise ValueError(
                f"hessian_every must be a multiple of record_every ({self.record_every}); got {hessian_every}."
            )
        self.hessian_every = hessian_every
        self.trace_samples = check_int(trace_samples, "trace_samples", 0)
        hidden = tuple(hidden)
        for i, h in enumerate(hidden):
            check_int(h, f"hidden[{i}]", 1)
        self.hidden = hidden
        tensors = [t for t in (x, y) if isinstance(t, torch.Tensor)]
        self.device = resolve_device(device, *tensors)
        self.dtype = resolve_dtype(dtype, *tensors)
        if model is not None and not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
        self._user_model = model
        self._options = dict(
            model=model, hidden=hidden, activation=self.activation, optimizer=self.optimizer_name,
            rho=self.rho, batch_size=batch_size, weight_decay=self.weight_decay,
            fourier_features=self.fourier_features, grokfast=self.grokfast,
            grokfast_alpha=self.grokfast_alpha, seed=self.seed, device=self.device, dtype=self.dtype,
            record_every=self.record_every, hessian_k=self.hessian_k,
            hessian_every=hessian_every_given,  # as given: None follows a replaced record_every
            trace_samples=self.trace_samples,
        )

        # ---- fixed tensors
        kw = dict(device=self.device, dtype=self.dtype)
        mesh = np.meshgrid(*self.coords, indexing="ij")
        self._points = torch.as_tensor(np.stack([m.ravel() for m in mesh], axis=1), **kw)  # (N, d)
        self._y = torch.as_tensor(target.ravel(), **kw)
        self._setup_spectrum()
        self.reset()

    # ------------------------------------------------------------------ construction

    def _setup_spectrum(self):
        """Frequency bins of the residual spectrum and the DFT weights ``w_k`` (1 where
        ``k = -k``, else 2): see the module docstring."""
        if len(self.shape) == 1:
            self.freq = np.abs(cfour.rfftfreq(self.n, self.spacing[0]).numpy())
            index = np.minimum(np.arange(self.n), self.n - np.arange(self.n))
        else:
            bins = cfour.radial_bins(self.shape, self.spacing)
            self.freq, index = bins.freq_r, bins.index
        self_conjugate = np.ones(self.shape, dtype=bool)
        for axis, n in enumerate(self.shape):
            k = np.arange(n)
            at = (k == 0) | (2 * k == n)
            self_conjugate &= at.reshape([-1 if a == axis else 1 for a in range(len(self.shape))])
        kw = dict(device=self.device, dtype=self.dtype)
        self._dft_weight = torch.as_tensor(np.where(self_conjugate.ravel(), 1.0, 2.0), **kw)
        self._bin_index = torch.as_tensor(index, device=self.device)
        # 1-D: a bin holds k and -k (|R_k| = |R_-k|), so its amplitude is |rfft| * w_k / N
        self._rfft_weight = self._dft_weight[: self.freq.size] / self.n if len(self.shape) == 1 else None

    def _build(self):
        gen = torch.Generator().manual_seed(self.seed)
        d = len(self.shape)
        if self.fourier_features is not None:
            B = torch.randn(N_FOURIER, d, generator=gen, dtype=torch.float64) * self.fourier_features
            self._B = B.to(device=self.device, dtype=self.dtype)
            d_in = 2 * N_FOURIER
        else:
            self._B = None
            d_in = d
        if self._user_model is not None:
            model = copy.deepcopy(self._user_model)
        else:
            layers, widths = [], (d_in,) + self.hidden + (1,)
            act = ACTIVATIONS[self.activation]
            for i in range(len(widths) - 1):
                lin = torch.nn.Linear(widths[i], widths[i + 1], dtype=torch.float64)
                bound = 1.0 / math.sqrt(widths[i])
                with torch.no_grad():
                    lin.weight.copy_(torch.rand(lin.weight.shape, generator=gen, dtype=torch.float64) * 2 * bound - bound)
                    lin.bias.copy_(torch.rand(lin.bias.shape, generator=gen, dtype=torch.float64) * 2 * bound - bound)
                layers.append(lin)
                if i < len(widths) - 2:
                    layers.append(act())
            model = torch.nn.Sequential(*layers)
        self.model = model.to(device=self.device, dtype=self.dtype)
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        # minibatch stream: its own generator, seeded from the init stream
        self._batch_gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        if self.optimizer_name == "adam":
            self._opt = torch.optim.Adam(self._params, lr=self._lr, weight_decay=self.weight_decay)
        else:
            self._opt = torch.optim.SGD(self._params, lr=self._lr, weight_decay=self.weight_decay)
        self._ema = None if self.grokfast is None else cdyn.GradientEMAFilter(self.grokfast_alpha, self.grokfast)
        with torch.no_grad():
            self._inputs = self.encode(self._points)

    def encode(self, points: torch.Tensor) -> torch.Tensor:
        """The model's input for grid points (N,) or (N, d): Fourier features, or each
        coordinate mapped linearly onto [-1, 1]."""
        if points.ndim == 1:
            points = points[:, None]
        if self._B is not None:
            phase = 2 * math.pi * points @ self._B.T
            return torch.cat([torch.cos(phase), torch.sin(phase)], dim=1)
        lo = torch.as_tensor([c.min() for c in self.coords], device=points.device, dtype=points.dtype)
        hi = torch.as_tensor([c.max() for c in self.coords], device=points.device, dtype=points.dtype)
        return (points - lo) * (2.0 / (hi - lo)) - 1.0

    def predict(self, inputs: torch.Tensor | None = None) -> torch.Tensor:
        """The model's output (N,) on the encoded grid, flattened in C order (or on given
        encoded inputs)."""
        out = self.model(self._inputs if inputs is None else inputs)
        return out.reshape(out.shape[0])

    def loss_fn(self) -> torch.Tensor:
        """The full-batch loss ``mean((f(x) - y)**2)`` as a differentiable scalar."""
        return torch.mean((self.predict() - self._y) ** 2)

    def reset(self) -> "TrainingSession":
        """Back to step 0: the initial weights, optimizer state, batches and an empty
        history, with the current options (a changed :attr:`lr` is kept)."""
        self._build()
        self.step = 0
        self._records: dict[str, list] = {name: [] for name in
                                          ("step", "loss", "amp", "lr", "eig", "share", "trace")}
        self._residuals: list[torch.Tensor] = []  # recorded, their loss and spectrum not yet computed
        with self._threads():
            self._record()
        return self

    def _flush(self):
        """Record the current step if it is due and not recorded yet."""
        if self._pending:
            self._record()

    def _threads(self):
        """One torch thread while a step is small (on the CPU): a small network's step is
        many tiny ops, and with several intra-op threads OpenMP's workers spin and wait for
        each other (on a busy 2-core machine 200 steps took 12-16 s with 2 threads, 0.1 s
        with 1)."""
        work = 6.0 * self.n * sum(p.numel() for p in self._params)  # multiply-adds of a step
        return single_thread_if_small(work, self.device)

    def replace(self, **changes) -> "TrainingSession":
        """A new session on the same data with some options changed, at step 0.

        Any keyword of the constructor but the data (``lr`` included; default: the
        current value). The session itself is not changed.

        Examples
        --------
        >>> import numpy as np
        >>> x = np.arange(32) / 32
        >>> s = TrainingSession(x, np.sin(2 * np.pi * x), hidden=(8,), lr=1e-2)
        >>> s.replace(optimizer="usam", rho=0.1).optimizer_name
        'usam'
        """
        unknown = sorted(set(changes) - set(self._options) - {"lr"})
        if unknown:
            raise TypeError(f"replace() got unknown options {unknown}; it takes {sorted(self._options) + ['lr']}.")
        options = dict(self._options, lr=self._lr)
        options.update(changes)
        return TrainingSession(self._as_dataarray(), **options)

    def _as_dataarray(self) -> xr.DataArray:
        return xr.DataArray(self.y, coords={d: c for d, c in zip(self.dims, self.coords)}, dims=self.dims)

    # ------------------------------------------------------------------ training

    @property
    def lr(self) -> float:
        """The learning rate; setting it applies from the next step (and is recorded)."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_real(value, "lr", strict=True)
        for group in self._opt.param_groups:
            group["lr"] = self._lr

    @property
    def stability_threshold(self) -> float:
        """The largest curvature the optimizer is linearly stable on at the current lr:
        ``2/lr`` (GD, SGD, SAM), the root of ``lr l (1 + rho l) = 2`` (USAM, gradient
        penalty), NaN for Adam (its preconditioner moves the line)."""
        if self.optimizer_name == "adam":
            return math.nan
        rho = self.rho if self.optimizer_name in ("usam", "gradreg") else 0.0
        return cdyn.stability_threshold(self._lr, rho)

    def residual_spectrum(self, residual: torch.Tensor) -> torch.Tensor:
        """The amplitude spectrum (..., nfreq) of flattened residuals (..., N) on the grid
        (see the module docstring)."""
        lead = residual.shape[:-1]
        if self._rfft_weight is not None:  # the same numbers, fewer operations
            return cfour.rfftn(residual, axes=-1).abs() * self._rfft_weight
        axes = tuple(range(-len(self.shape), 0))
        R = cfour.fftn(residual.reshape(*lead, *self.shape), axes=axes)
        power = (R.real**2 + R.imag**2).reshape(*lead, self.n) * self._dft_weight
        sums = power.new_zeros(*lead, self.freq.size).index_add_(-1, self._bin_index, power)
        return torch.sqrt(sums) / self.n

    def _summarize(self):
        """Loss and spectrum of the residuals recorded since the last call, all at once
        (back to back they cost a fraction of what they cost between training steps; and
        one copy to the host instead of two per record)."""
        if not self._residuals:
            return
        with torch.no_grad():
            R = torch.stack(self._residuals)
            self._residuals = []
            amp = self.residual_spectrum(R).cpu().numpy()
            loss = torch.mean(R * R, dim=-1).cpu().numpy()
        self._records["loss"].extend(float(v) for v in loss)
        self._records["amp"].extend(amp)

    def _record(self, outputs: torch.Tensor | None = None):
        """Record the current state; ``outputs`` are the model's outputs on the grid at the
        current parameters if already computed (by the next step's forward pass)."""
        self._pending = False
        rec = self._records
        with torch.no_grad():
            self._residuals.append((self.predict() if outputs is None else outputs.detach()) - self._y)
        if len(self._residuals) * self.n >= _SUMMARIZE_AT:
            self._summarize()
        rec["step"].append(self.step)
        rec["lr"].append(self._lr)
        if not self.hessian_k:
            return
        eig, share, trace = np.full(self.hessian_k, np.nan), np.nan, np.nan
        if self.step % self.hessian_every == 0:
            vals, vecs = cdyn.hessian_top_eigenvalues(self.loss_fn, self._params, k=self.hessian_k, seed=self.seed)
            eig = vals.detach().cpu().numpy().astype(np.float64)
            grad = cdyn.flatten(torch.autograd.grad(self.loss_fn(), self._params))
            share = float(cdyn.top_space_gradient_share(grad, vecs))
            if self.trace_samples:
                matvec, n = cdyn.hvp_operator(self.loss_fn, self._params)
                est, _ = cdyn.hutchinson_trace(matvec, n, n_samples=self.trace_samples, seed=self.seed,
                                               device=self.device, dtype=self.dtype)
                trace = float(est)
        rec["eig"].append(eig)
        rec["share"].append(share)
        rec["trace"].append(trace)

    def _step_loss(self) -> Callable[[], torch.Tensor] | None:
        """This step's minibatch loss as a closure (the batch is drawn once per step), or
        None for the full batch."""
        if self.batch_size is None or self.batch_size == self.n:
            return None
        idx = torch.randperm(self.n, generator=self._batch_gen)[: self.batch_size].to(self.device)
        inputs, targets = self._inputs[idx], self._y[idx]
        return lambda: torch.mean((self.predict(inputs) - targets) ** 2)

    def _update(self):
        loss_fn = self._step_loss()
        full_batch = loss_fn is None
        loss_fn = self.loss_fn if full_batch else loss_fn
        if not full_batch or self.optimizer_name in ("sam", "usam", "gradreg"):
            self._flush()  # no full-batch forward pass at the current parameters to share
        if self.optimizer_name in ("sam", "usam"):
            _, grad = cdyn.perturbed_gradient(loss_fn, self._params, self.rho,
                                              normalize=self.optimizer_name == "sam")
        elif self.optimizer_name == "gradreg":
            _, grad = cdyn.gradient_penalty_gradient(loss_fn, self._params, self.rho)
        elif full_batch:
            # full batch: this forward pass is also the due record's (the parameters of the
            # last step), so recording costs no forward pass of its own
            outputs = self.predict()
            if self._pending:
                self._record(outputs)
            grad = cdyn.flatten(torch.autograd.grad(torch.mean((outputs - self._y) ** 2), self._params))
        else:
            grad = cdyn.flatten(torch.autograd.grad(loss_fn(), self._params))
        if self._ema is not None:
            grad = self._ema(grad)
        for p, g in zip(self._params, cdyn.unflatten(grad, self._params)):
            p.grad = g
        self._opt.step()

    def _advance(self, steps: int) -> None:
        for _ in range(steps):
            self._update()
            self.step += 1
            self._pending = self.step % self.record_every == 0  # recorded by the next forward
        self._flush()
        self._summarize()

    # ------------------------------------------------------------------ results

    @property
    def history(self) -> xr.Dataset:
        """The recorded history: ``loss``, ``lr``, ``stability_threshold`` (step),
        ``residual_amplitude`` (step, freq) and, with ``hessian_k > 0``,
        ``hessian_eigenvalues`` (step, mode), ``sharpness``, ``top_space_share`` and (with
        ``trace_samples``) ``hessian_trace`` (step)."""
        self._summarize()
        rec = self._records
        lr = np.asarray(rec["lr"], dtype=np.float64)
        rho = self.rho if self.optimizer_name in ("usam", "gradreg") else 0.0
        threshold = (np.full(lr.shape, np.nan) if self.optimizer_name == "adam"
                     else np.array([cdyn.stability_threshold(v, rho) for v in lr]))
        units = " and ".join(self.dims)
        data = {
            "loss": (("step",), np.asarray(rec["loss"], dtype=np.float64),
                     {"long_name": "training loss", "description": "mean((f(x) - y)**2), full batch"}),
            "residual_amplitude": (("step", "freq"), np.stack(rec["amp"]).astype(np.float64),
                                   {"long_name": "residual amplitude",
                                    "description": "sqrt(sum_k w_k |fftn(f(x) - y)_k|^2) / N per frequency bin, "
                                                   "w_k = 2 except 1 where k = -k: a cosine of amplitude A reads A"}),
            "lr": (("step",), lr, {"long_name": "learning rate",
                                   "description": "of the update that led to the step (step 0: the initial one)"}),
            "stability_threshold": (("step",), threshold,
                                    {"long_name": "stability threshold",
                                     "description": "largest curvature the optimizer is stable on (2/lr for GD)"}),
        }
        coords = {"step": np.asarray(rec["step"], dtype=np.int64),
                  "freq": ("freq", self.freq, {"units": f"cycles per unit of {units}",
                                               "long_name": "frequency" if len(self.dims) == 1
                                               else "radial frequency"})}
        if self.hessian_k:
            eig = np.stack(rec["eig"])
            data["hessian_eigenvalues"] = (("step", "mode"), eig, {"long_name": "top Hessian eigenvalues (Lanczos)"})
            data["sharpness"] = (("step",), eig[:, 0], {"long_name": "sharpness (top Hessian eigenvalue)"})
            data["top_space_share"] = (("step",), np.asarray(rec["share"], dtype=np.float64),
                                       {"long_name": "gradient share in the top Hessian eigenspace",
                                        "description": "|P_k g|^2 / |g|^2, full-batch gradient"})
            if self.trace_samples:
                data["hessian_trace"] = (("step",), np.asarray(rec["trace"], dtype=np.float64),
                                         {"long_name": "Hessian trace (Hutchinson)",
                                          "samples": self.trace_samples})
            coords["mode"] = np.arange(self.hessian_k)
        attrs = {
            "optimizer": self.optimizer_name,
            "rho": self.rho,
            "batch_size": self.n if self.batch_size is None else self.batch_size,
            "weight_decay": self.weight_decay,
            "fourier_features": 0.0 if self.fourier_features is None else self.fourier_features,
            "grokfast": 0.0 if self.grokfast is None else self.grokfast,
            "grokfast_alpha": self.grokfast_alpha,
            "activation": self.activation,
            "hidden": list(self.hidden) if self._user_model is None else "custom model",
            "seed": self.seed,
            "device": str(self.device),
            "dtype": dtype_name(self.dtype),
            "record_every": self.record_every,
            "hessian_k": self.hessian_k,
            "hessian_every": self.hessian_every,
            "grid_spacing": list(self.spacing) if len(self.spacing) > 1 else self.spacing[0],
            "grid_dims": list(self.dims),
            "n_points": self.n,
        }
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def ntk(self, k: int | None = None) -> xr.Dataset:
        """The empirical neural tangent kernel's eigen-decomposition on the grid, now.

        ``K = J J^T`` with ``J`` the Jacobian of the outputs on the grid with respect to
        the parameters (:func:`spectrakit.core.dynamics.ntk_eigen`). Returns a Dataset with
        ``eigenvalue`` (mode) and ``eigenvector`` (mode, grid dims), largest first, and a
        coordinate ``freq`` on ``mode``: the frequency bin where each eigenvector's
        amplitude spectrum peaks. Spectral bias in one picture: the top eigenvectors are
        smooth, and gradient descent fits the residual's component along eigenvector i at
        the rate ``lr * eigenvalue_i``.
        """
        k = None if k is None else check_int(k, "k", 1)
        with self._threads():
            vals, vecs = cdyn.ntk_eigen(self.predict, self._params, k=k)
            with torch.no_grad():
                spectra = torch.stack([self.residual_spectrum(v) for v in vecs.T])
        peak = self.freq[spectra.argmax(dim=1).cpu().numpy()]
        m = vals.numel()
        grid = {d: c for d, c in zip(self.dims, self.coords)}
        return xr.Dataset(
            {"eigenvalue": ("mode", vals.detach().cpu().numpy().astype(np.float64),
                            {"long_name": "empirical NTK eigenvalue"}),
             "eigenvector": (("mode",) + self.dims,
                             vecs.T.detach().cpu().numpy().astype(np.float64).reshape((m,) + self.shape),
                             {"long_name": "empirical NTK eigenvector (unit norm)"})},
            coords={"mode": np.arange(m), "freq": ("mode", peak, {"long_name": "peak frequency"}), **grid},
            attrs={"step": self.step, "n_params": sum(p.numel() for p in self._params)},
        )

    def state_dict(self) -> dict:
        """Model and optimizer state (copies) for saving or comparing."""
        return {"model": copy.deepcopy(self.model.state_dict()), "optimizer": copy.deepcopy(self._opt.state_dict()),
                "step": self.step, "batch_generator": self._batch_gen.get_state()}

    def __repr__(self) -> str:
        grid = "x".join(str(n) for n in self.shape)
        return (f"TrainingSession(grid={grid}, optimizer={self.optimizer_name!r}, lr={self._lr:g}, "
                f"step={self.step}, device={self.device}, dtype={str(self.dtype).replace('torch.', '')})")
