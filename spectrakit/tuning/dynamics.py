"""A GUI-free training session that records the spectra of training as it runs.

:class:`TrainingSession` trains a small torch MLP on a 1-D regression problem on an evenly
spaced grid, in-process, for as many steps as asked (``run(steps)``), and records at every
``record_every``-th step

* ``loss``: the full-batch mean squared error ``mean((f(x) - y)**2)`` (no weight-decay term);
* ``residual_amplitude``: the one-sided amplitude spectrum of the residual ``r = f(x) - y``
  on the grid, ``|rfft(r)| / N`` doubled at every frequency but 0 and (for even ``N``) the
  Nyquist one, so a residual ``A sin(2 pi f0 x)`` at a grid frequency ``f0`` reads ``A`` at
  ``f0`` (computed with :func:`spectrakit.core.fourier.rfftn`);
* optionally (``hessian_k > 0``) the top-k eigenvalues of the Hessian of that loss with
  respect to the parameters, by Lanczos on Hessian-vector products
  (:func:`spectrakit.core.dynamics.hessian_top_eigenvalues`), every ``hessian_every`` steps;
  ``sharpness`` is the largest.

The history is an :class:`xarray.Dataset` over ``step`` (and ``freq``, ``mode``).

Reproducibility: the initial weights, the Fourier-feature matrix and the minibatch draws
come from CPU ``torch.Generator`` objects owned by the session and seeded by ``seed``, so
``run(a); run(b)`` gives exactly the numbers of ``run(a + b)`` and :meth:`reset` returns to
the state after construction (bit-for-bit on the CPU; GPUs may differ by rounding between
runs unless deterministic algorithms are enforced).

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
from ..options import resolve_device, resolve_dtype

__all__ = ["TrainingSession", "OPTIMIZERS", "ACTIVATIONS"]

OPTIMIZERS = ("gd", "sgd", "adam")
ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "gelu": torch.nn.GELU,
               "sigmoid": torch.nn.Sigmoid, "silu": torch.nn.SiLU}
#: number of random Fourier frequencies when ``fourier_features`` is set (2x as many inputs)
N_FOURIER = 64


# ----------------------------------------------------------------------------- checks


def _as_1d(values, name: str) -> np.ndarray:
    if isinstance(values, xr.DataArray):
        values = values.values
    elif isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        arr = np.array(values, dtype=np.float64)  # a copy: writable, owned
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real 1-D array (numpy, torch or xarray); got {type(values).__name__}.") from None
    arr = np.squeeze(arr) if arr.ndim > 1 and sum(s > 1 for s in arr.shape) <= 1 else arr
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per grid point); got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} contains NaN or inf (first at index {bad}): drop or fill those points.")
    return arr


def _positive(value, name: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number; got {value!r}.") from None
    ok = (v >= 0 if allow_zero else v > 0) and math.isfinite(v)
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} finite number; got {value!r}.")
    return v


def _int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


# ----------------------------------------------------------------------------- session


class TrainingSession:
    """Train a small MLP on ``y(x)`` and record loss, residual spectrum and sharpness.

    Parameters
    ----------
    x : array-like (N,) or DataArray
        The grid, evenly spaced (increasing or decreasing). If ``y`` is None, ``x`` must be
        a 1-D DataArray with a coordinate along its dimension: that coordinate is the grid
        and the values are the targets.
    y : array-like (N,) or DataArray, optional
        The targets.
    model : torch.nn.Module, optional
        Maps inputs (N, d) to (N, 1) or (N,); ``d`` is 1 or ``2 * N_FOURIER`` with Fourier
        features. It is copied (the caller's module is not trained). Default: an MLP with
        ``hidden`` widths and ``activation``, initialised from ``seed`` (weights and biases
        uniform in ``+-1/sqrt(fan_in)``, PyTorch's default bound).
    hidden : tuple of int
        Hidden-layer widths of the default MLP.
    activation : {"relu", "tanh", "gelu", "sigmoid", "silu"}
    lr : float
        Learning rate (> 0).
    optimizer : {"gd", "sgd", "adam"}
        ``"gd"``: full-batch gradient descent; ``"sgd"``: plain SGD on minibatches of
        ``batch_size`` points drawn without replacement each step; ``"adam"``: Adam
        (full batch unless ``batch_size`` is given).
    batch_size : int, optional
        Points per step for ``"sgd"`` / ``"adam"`` (default all). Not allowed with ``"gd"``.
    weight_decay : float
        L2 weight decay passed to the torch optimizer (>= 0).
    fourier_features : float, optional
        Scale ``sigma`` (cycles per unit of x): the input becomes
        ``[cos(2 pi B x), sin(2 pi B x)]`` with ``B ~ N(0, sigma**2)`` of size ``N_FOURIER``,
        drawn from ``seed``. Without it the input is ``x`` mapped linearly onto [-1, 1].
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
        batch_size: int | None = None,
        weight_decay: float = 0.0,
        fourier_features: float | None = None,
        seed: int = 0,
        device=None,
        dtype=None,
        record_every: int = 1,
        hessian_k: int = 0,
        hessian_every: int | None = None,
    ):
        # ---- data
        dim_name = "x"
        if y is None:
            if not (isinstance(x, xr.DataArray) and x.ndim == 1 and x.dims[0] in x.coords):
                raise ValueError(
                    "y is missing: pass TrainingSession(x, y), or a 1-D DataArray with a coordinate "
                    "along its dimension as x (the coordinate is the grid, the values the targets)."
                )
            dim_name = str(x.dims[0])
            y = x
            x = x.coords[dim_name]
        elif isinstance(x, xr.DataArray) and x.ndim == 1:
            dim_name = str(x.dims[0])
        grid = _as_1d(x, "x")
        target = _as_1d(y, "y")
        if grid.size != target.size:
            raise ValueError(f"x and y must have the same length; got {grid.size} and {target.size}.")
        if grid.size < 4:
            raise ValueError(f"x must have at least 4 points; got {grid.size}.")
        dx = np.diff(grid)
        step = float(dx.mean())
        if step == 0 or not np.allclose(dx, step, rtol=1e-6, atol=1e-12 * max(1.0, np.abs(grid).max())):
            raise ValueError(
                "x must be an evenly spaced grid (the residual spectrum is an FFT over it); "
                f"its spacing ranges from {dx.min():.6g} to {dx.max():.6g}."
            )
        self.dim = dim_name
        self.x = grid
        self.y = target
        self.n = grid.size
        self.spacing = abs(step)

        # ---- options
        if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r} is unknown; choose one of {OPTIMIZERS}.")
        self.optimizer_name = optimizer.lower()
        if not isinstance(activation, str) or activation.lower() not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is unknown; choose one of {tuple(ACTIVATIONS)}.")
        self.activation = activation.lower()
        self.lr = _positive(lr, "lr")
        self.weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)
        if batch_size is not None:
            if self.optimizer_name == "gd":
                raise ValueError('batch_size is for optimizer="sgd" or "adam"; "gd" is full-batch.')
            batch_size = _int(batch_size, "batch_size", 1)
            if batch_size > self.n:
                raise ValueError(f"batch_size must be <= the number of points ({self.n}); got {batch_size}.")
        self.batch_size = batch_size
        self.fourier_features = None if fourier_features is None else _positive(fourier_features, "fourier_features")
        self.seed = _int(seed, "seed", 0)
        self.record_every = _int(record_every, "record_every", 1)
        self.hessian_k = _int(hessian_k, "hessian_k", 0)
        hessian_every = self.record_every if hessian_every is None else _int(hessian_every, "hessian_every", 1)
        if hessian_every % self.record_every:
            raise ValueError(
                f"hessian_every must be a multiple of record_every ({self.record_every}); got {hessian_every}."
            )
        self.hessian_every = hessian_every
        hidden = tuple(hidden)
        for i, h in enumerate(hidden):
            _int(h, f"hidden[{i}]", 1)
        self.hidden = hidden
        tensors = [t for t in (x, y) if isinstance(t, torch.Tensor)]
        self.device = resolve_device(device, *tensors)
        self.dtype = resolve_dtype(dtype, *tensors)
        if model is not None and not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
        self._user_model = model

        # ---- fixed tensors
        kw = dict(device=self.device, dtype=self.dtype)
        self._x = torch.as_tensor(grid, **kw)
        self._y = torch.as_tensor(target, **kw)
        self.freq = cfour.rfftfreq(self.n, self.spacing).numpy()
        w = torch.full((self.freq.size,), 2.0 / self.n, **kw)
        w[0] = 1.0 / self.n
        if self.n % 2 == 0:
            w[-1] = 1.0 / self.n
        self._amp_weight = w
        self.reset()

    # ------------------------------------------------------------------ construction

    def _build(self):
        gen = torch.Generator().manual_seed(self.seed)
        if self.fourier_features is not None:
            B = torch.randn(N_FOURIER, generator=gen, dtype=torch.float64) * self.fourier_features
            self._B = B.to(device=self.device, dtype=self.dtype)
            d_in = 2 * N_FOURIER
        else:
            self._B = None
            d_in = 1
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
        # minibatch stream: its own generator, seeded from the init stream
        self._batch_gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        params = list(self.model.parameters())
        if self.optimizer_name == "adam":
            self._opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        else:
            self._opt = torch.optim.SGD(params, lr=self.lr, weight_decay=self.weight_decay)
        with torch.no_grad():
            self._inputs = self.encode(self._x)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The model's input for grid values ``x`` (N,): Fourier features or x scaled to [-1, 1]."""
        if self._B is not None:
            phase = 2 * math.pi * x[:, None] * self._B[None, :]
            return torch.cat([torch.cos(phase), torch.sin(phase)], dim=1)
        lo, hi = float(self.x.min()), float(self.x.max())
        return ((x - lo) * (2.0 / (hi - lo)) - 1.0)[:, None]

    def predict(self, inputs: torch.Tensor | None = None) -> torch.Tensor:
        """The model's output (N,) on the encoded grid (or on given encoded inputs)."""
        out = self.model(self._inputs if inputs is None else inputs)
        return out.reshape(out.shape[0])

    def loss_fn(self) -> torch.Tensor:
        """The full-batch loss ``mean((f(x) - y)**2)`` as a differentiable scalar."""
        return torch.mean((self.predict() - self._y) ** 2)

    def reset(self) -> "TrainingSession":
        """Back to the state after construction: same weights, optimizer, batches, history."""
        self._build()
        self.step = 0
        self._steps: list[int] = []
        self._loss: list[float] = []
        self._amp: list[np.ndarray] = []
        self._eig: list[np.ndarray] = []
        self._record()
        return self

    # ------------------------------------------------------------------ training

    def _record(self):
        with torch.no_grad():
            r = self.predict() - self._y
            amp = cfour.rfftn(r, axes=0).abs() * self._amp_weight
            loss = torch.mean(r * r)
        self._steps.append(self.step)
        self._loss.append(float(loss))
        self._amp.append(amp.cpu().numpy())
        if self.hessian_k:
            if self.step % self.hessian_every == 0:
                vals, _ = cdyn.hessian_top_eigenvalues(
                    self.loss_fn, list(self.model.parameters()), k=self.hessian_k, seed=self.seed
                )
                self._eig.append(vals.detach().cpu().numpy().astype(np.float64))
            else:
                self._eig.append(np.full(self.hessian_k, np.nan))

    def _update(self):
        self._opt.zero_grad(set_to_none=True)
        if self.batch_size is None or self.batch_size == self.n:
            loss = self.loss_fn()
        else:
            idx = torch.randperm(self.n, generator=self._batch_gen)[: self.batch_size].to(self.device)
            loss = torch.mean((self.predict(self._inputs[idx]) - self._y[idx]) ** 2)
        loss.backward()
        self._opt.step()

    def run(self, steps: int, *, chunk: int | None = None,
            callback: Callable[["TrainingSession"], object] | None = None) -> "TrainingSession":
        """Train ``steps`` more steps, recording as configured; returns ``self``.

        ``callback(session)``, if given, is called after every ``chunk`` steps (default:
        all of them at once) and at the end: a hook for streaming front ends, which can
        read the new slice with ``session.history.sel(step=slice(last + 1, None))``.
        Splitting a run (into calls or chunks) never changes the numbers.
        """
        steps = _int(steps, "steps", 0)
        chunk = steps if chunk is None else _int(chunk, "chunk", 1)
        done = 0
        while done < steps:
            todo = min(chunk, steps - done)
            for _ in range(todo):
                self._update()
                self.step += 1
                if self.step % self.record_every == 0:
                    self._record()
            done += todo
            if callback is not None:
                callback(self)
        return self

    # ------------------------------------------------------------------ results

    @property
    def history(self) -> xr.Dataset:
        """The recorded history: ``loss`` (step), ``residual_amplitude`` (step, freq) and,
        with ``hessian_k > 0``, ``hessian_eigenvalues`` (step, mode) and ``sharpness`` (step)."""
        steps = np.asarray(self._steps, dtype=np.int64)
        data = {
            "loss": (("step",), np.asarray(self._loss, dtype=np.float64),
                     {"long_name": "training loss", "description": "mean((f(x) - y)**2), full batch"}),
            "residual_amplitude": (("step", "freq"), np.stack(self._amp).astype(np.float64),
                                   {"long_name": "residual amplitude",
                                    "description": "one-sided amplitude |rfft(f(x) - y)| / N, doubled "
                                                   "except at 0 and Nyquist"}),
        }
        coords = {"step": steps, "freq": ("freq", self.freq, {"units": f"cycles per unit of {self.dim}"})}
        if self.hessian_k:
            eig = np.stack(self._eig)
            data["hessian_eigenvalues"] = (("step", "mode"), eig,
                                           {"long_name": "top Hessian eigenvalues (Lanczos)"})
            data["sharpness"] = (("step",), eig[:, 0], {"long_name": "sharpness (top Hessian eigenvalue)"})
            coords["mode"] = np.arange(1, self.hessian_k + 1)
        attrs = {
            "lr": self.lr,
            "optimizer": self.optimizer_name,
            "batch_size": self.n if self.batch_size is None else self.batch_size,
            "weight_decay": self.weight_decay,
            "fourier_features": 0.0 if self.fourier_features is None else self.fourier_features,
            "activation": self.activation,
            "hidden": list(self.hidden) if self._user_model is None else "custom model",
            "seed": self.seed,
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "record_every": self.record_every,
            "hessian_k": self.hessian_k,
            "hessian_every": self.hessian_every,
            "grid_spacing": self.spacing,
            "n_points": self.n,
        }
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def state_dict(self) -> dict:
        """Model and optimizer state (copies) for saving or comparing."""
        return {"model": copy.deepcopy(self.model.state_dict()), "optimizer": copy.deepcopy(self._opt.state_dict()),
                "step": self.step, "batch_generator": self._batch_gen.get_state()}

    def __repr__(self) -> str:
        return (f"TrainingSession(n={self.n}, optimizer={self.optimizer_name!r}, lr={self.lr:g}, "
                f"step={self.step}, device={self.device}, dtype={str(self.dtype).replace('torch.', '')})")
