"""A GUI-free session that trains a self-supervised encoder and records its representation
spectrum as it runs.

:class:`RepresentationSession` trains an encoder, in-process, on two augmented views of the
same samples (by default :func:`spectrakit.core.representations.ssl_toy_data`) with one of
three losses, and records at step 0 and at every ``record_every``-th step, on all samples:

* ``eigenvalues`` (step, mode): the eigenvalues of the covariance of the embeddings of the
  first view, ``z_a = encoder(view_a)``, ``C = (z_a - mean)^T (z_a - mean) / (n - 1)``
  (:func:`~spectrakit.core.representations.covariance_spectrum`), largest first, mode
  ``0 .. d - 1``: a collapse shows as every eigenvalue falling, a dimensional collapse as all
  but a few falling;
* ``effective_rank`` (step): ``exp(-sum p log p)`` with ``p = s / sum(s)`` of those
  eigenvalues (Roy & Vetterli 2007), in ``[1, d]`` and blind to scale;
* ``entropy`` (step): the von Neumann entropy of ``z_a`` (Kim et al. 2023): the entropy of
  the eigenvalues of ``H^T H / n`` for the unit-length rows ``h_i = z_i / |z_i|``
  (:func:`~spectrakit.core.representations.von_neumann_entropy`), in ``[0, log d]``;
* ``loss`` (step): the training loss on all samples, and its terms (unweighted):

  - ``loss="vicreg"``: ``invariance``, ``variance``, ``covariance``
    (:func:`~spectrakit.core.representations.vicreg_terms`); the loss is
    ``sim * invariance + var * variance + cov * covariance``;
  - ``loss="vne"``: ``invariance = 1 - mean_i cos(z_a,i, z_b,i)`` (the cosine distance,
    scale-free) and ``vne = -(S(z_a) + S(z_b)) / 2`` (:func:`vne_loss` averaged over the
    views); the loss is ``invariance + alpha * vne``: ``alpha > 0`` spreads the spectrum,
    ``alpha < 0`` collapses it;
  - ``loss="barlow"``: no separate terms (the core exposes the Barlow Twins loss only),
    ``loss = sum_i (1 - C_ii)^2 + lambd sum_{i != j} C_ij^2`` of the standardized
    cross-correlation (:func:`~spectrakit.core.representations.barlow_twins_loss`);

* ``lr`` and the loss weights in force, ``weight_<name>`` for the weights ``sim``,
  ``var``, ``cov`` (VICReg), ``alpha`` (VNE) or ``lambd`` (Barlow Twins), all (step): they
  are settable between steps, like a slider. (Not ``var``: ``Dataset.var`` is a method.)

The history is an :class:`xarray.Dataset` over ``step`` (and ``mode``); step ``t`` is the
state after ``t`` optimizer updates. The steps are those of
:class:`spectrakit.core.representations.SSLTrainer` (the loop of ``train_ssl``).

Reproducibility: the initial weights and the minibatch order come from CPU
``torch.Generator`` objects seeded with ``seed`` and owned by the session, so ``run(a);
run(b)`` gives exactly the numbers of ``run(a + b)`` and :meth:`reset` returns to step 0
with the same weights and batches (bit-for-bit on the CPU).
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr

from ..core import representations as crep
from ..core.checks import check_int, check_real
from ..xr._apply import dtype_name
from ..options import resolve_device, resolve_dtype
from ._streaming import StreamingSession
from .dynamics import ACTIVATIONS

__all__ = ["RepresentationSession", "LOSSES", "TERMS", "WEIGHTS", "STRENGTH"]

LOSSES = ("vicreg", "vne", "barlow")
#: the recorded loss terms of each loss (history variables)
TERMS = {"vicreg": ("invariance", "variance", "covariance"), "vne": ("invariance", "vne"), "barlow": ()}
#: the settable loss weights of each loss (properties; history variables ``weight_<name>``)
WEIGHTS = {"vicreg": ("sim", "var", "cov"), "vne": ("alpha",), "barlow": ("lambd",)}
#: the weight a regularization-strength slider moves, per loss
STRENGTH = {"vicreg": "var", "vne": "alpha", "barlow": "lambd"}
OPTIMIZERS = ("sgd", "adam")

_TOY_DEFAULTS = dict(n=512, d_in=16, signal_dim=None, decay=0.9, noise=0.3, data_seed=0)
_DATA_KEYS = ("views",) + tuple(_TOY_DEFAULTS)

_LONG_NAMES = {
    "invariance": ("invariance term", {"vicreg": "mean((z_a - z_b)**2) over all n d entries",
                                       "vne": "1 - mean_i cos(z_a,i, z_b,i)"}),
    "variance": ("variance term", "sum over views of mean_j max(0, 1 - sqrt(Var z_j + 1e-4))"),
    "covariance": ("covariance term", "sum over views of sum_{i != j} C_ij**2 / d"),
    "vne": ("VNE term", "-(S(z_a) + S(z_b)) / 2, S the von Neumann entropy"),
}
_WEIGHT_NAMES = {"sim": "invariance weight", "var": "variance weight", "cov": "covariance weight",
                 "alpha": "VNE strength", "lambd": "off-diagonal weight"}


# ----------------------------------------------------------------------------- checks


def _view_array(values, name: str):
    """A 2-D finite float array (numpy) or tensor (kept as a tensor), named in errors."""
    if isinstance(values, xr.DataArray):
        values = values.values
    if isinstance(values, torch.Tensor):
        if values.is_complex() or values.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers; got a tensor of {values.dtype}.")
        arr = values.detach()
        finite = torch.isfinite(arr) if arr.is_floating_point() else torch.ones_like(arr, dtype=torch.bool)
        bad = None if bool(finite.all()) else tuple(int(i) for i in torch.nonzero(~finite)[0])
    else:
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a real array (numpy, torch or xarray); "
                            f"got {type(values).__name__}.") from None
        finite = np.isfinite(arr)
        bad = None if finite.all() else tuple(int(i) for i in np.argwhere(~finite)[0])
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, (n samples, d_in features); got shape {tuple(arr.shape)}.")
    if arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least 2 samples (rows) and 1 feature; got shape {tuple(arr.shape)}.")
    if bad is not None:
        raise ValueError(f"{name} contains NaN or inf (first at index {bad}): drop or fill those samples.")
    return arr


def _check_views(views):
    if isinstance(views, (str, bytes)) or not hasattr(views, "__len__") or len(views) != 2 \
            or (isinstance(views, (np.ndarray, torch.Tensor)) and np.ndim(views) != 3):
        got = (f"shape {tuple(views.shape)}" if isinstance(views, (np.ndarray, torch.Tensor))
               else type(views).__name__)
        raise TypeError(
            "views must be a pair (view_a, view_b) of (n, d_in) arrays, the two augmented views of "
            f"the same n samples (e.g. ssl_toy_data(...)); got {got}."
        )
    a, b = (_view_array(v, f"views[{i}]") for i, v in enumerate(views))
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"views[0] and views[1] must have the same shape (two views of the same samples); got "
            f"{tuple(a.shape)} and {tuple(b.shape)}."
        )
    return a, b


# ----------------------------------------------------------------------------- session


class RepresentationSession(StreamingSession):
    """Train a self-supervised encoder on two views; record its covariance spectrum,
    effective rank, entropy and loss terms.

    Parameters
    ----------
    views : pair of array-like (n, d_in), optional
        The two augmented views of the same ``n`` samples (numpy, torch or xarray; same
        shape, finite). Default: :func:`~spectrakit.core.representations.ssl_toy_data`
        with the next six parameters.
    n, d_in, signal_dim, decay, noise : optional
        ``ssl_toy_data``'s parameters when ``views`` is None (defaults 512, 16, ``d_in``,
        0.9, 0.3).
    data_seed : int, optional
        ``ssl_toy_data``'s seed (default 0).
    encoder : torch.nn.Module, optional
        Maps (n, d_in) to (n, d) embeddings; it is deep-copied (the caller's module is not
        trained) and moved to ``device`` and ``dtype``. Default: a bias-free linear map
        (:func:`~spectrakit.core.representations.linear_encoder`, weights
        ``N(0, 1/d_in)`` from ``seed``) or, with ``hidden``, an MLP.
    d_out : int, optional
        Embedding dimension ``d`` of the default encoder (default 8).
    hidden : tuple of int, optional
        Hidden widths of the default encoder (default ``()``: linear). The MLP is
        ``Linear -> activation -> ... -> Linear`` with weights ``N(0, 1/fan_in)`` from
        ``seed``, zero biases in the hidden layers and none in the last.
    activation : {"relu", "tanh", "gelu", "sigmoid", "silu"}
        Of the MLP.
    loss : {"vicreg", "vne", "barlow"}
        VICReg (``sim``, ``var``, ``cov``), cosine invariance plus ``alpha`` times the VNE
        term, or Barlow Twins (``lambd``): see the module docstring.
    sim, var, cov : float
        VICReg's weights, ``>= 0`` (paper: 25, 25, 1). ``var = 0`` lets the embeddings
        collapse to a point.
    alpha : float
        VNE strength (any real; ``> 0`` spreads the spectrum, ``< 0`` collapses it).
    lambd : float
        Barlow Twins' off-diagonal weight, ``>= 0`` (reference code: 0.0051).
    optimizer : {"sgd", "adam"}
        Plain gradient descent (no momentum) or Adam with torch's defaults.
    lr : float
        Learning rate, ``> 0``; settable between steps (:attr:`lr`). ``loss="vne"`` trains
        well at about 0.1.
    batch_size : int, optional
        Samples per step, a fresh random permutation each epoch (default all: full batch).
    seed : int
        Seeds the default encoder's weights and the minibatch order.
    record_every : int
        Record every this many steps (step 0 is always recorded).
    device, dtype
        Where and in which precision to train (``spectrakit.options`` precedence; numpy
        views default to float64; torch views keep theirs).

    Attributes
    ----------
    step : int
        Optimizer steps taken.
    encoder : torch.nn.Module
        The encoder being trained.
    views : ViewPair
        The two views, as tensors on the session's device.

    Examples
    --------
    >>> s = RepresentationSession(n=256, d_in=8, d_out=4, device="cpu")
    >>> h = s.run(20, chunk=10).history
    >>> dict(h.sizes), h.eigenvalues.dims
    ({'step': 21, 'mode': 4}, ('step', 'mode'))
    >>> sorted(h.data_vars)
    ['covariance', 'effective_rank', 'eigenvalues', 'entropy', 'invariance', 'loss', 'lr', 'variance', 'weight_cov', 'weight_sim', 'weight_var']
    >>> s.var = 0.0  # the slider: no variance term from the next step on
    >>> s.run(5).history.weight_var.sel(step=[20, 25]).values.tolist()
    [25.0, 0.0]
    """

    def __init__(
        self,
        views=None,
        *,
        n: int | None = None,
        d_in: int | None = None,
        signal_dim: int | None = None,
        decay: float | None = None,
        noise: float | None = None,
        data_seed: int | None = None,
        encoder: torch.nn.Module | None = None,
        d_out: int | None = None,
        hidden=None,
        activation: str = "relu",
        loss: str = "vicreg",
        sim: float = 25.0,
        var: float = 25.0,
        cov: float = 1.0,
        alpha: float = 1.0,
        lambd: float = 0.0051,
        optimizer: str = "sgd",
        lr: float = 1e-2,
        batch_size: int | None = None,
        seed: int = 0,
        record_every: int = 1,
        device=None,
        dtype=None,
    ):
        # ---- options
        if not isinstance(loss, str) or loss.lower() not in LOSSES:
            raise ValueError(f"loss={loss!r} is unknown; choose one of {LOSSES}.")
        self.loss = loss.lower()
        if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r} is unknown; choose one of {OPTIMIZERS}.")
        self.optimizer_name = optimizer.lower()
        if not isinstance(activation, str) or activation.lower() not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is unknown; choose one of {tuple(ACTIVATIONS)}.")
        self.activation = activation.lower()
        self._lr = check_real(lr, "lr", strict=True)
        self._weights = {"sim": check_real(sim, "sim"), "var": check_real(var, "var"), "cov": check_real(cov, "cov"),
                         "alpha": check_real(alpha, "alpha", minimum=None), "lambd": check_real(lambd, "lambd")}
        self.seed = check_int(seed, "seed", 0)
        self.record_every = check_int(record_every, "record_every", 1)

        # ---- data
        toy = dict(n=n, d_in=d_in, signal_dim=signal_dim, decay=decay, noise=noise, data_seed=data_seed)
        if views is None:
            toy = {k: (_TOY_DEFAULTS[k] if v is None else v) for k, v in toy.items()}
            self.device = resolve_device(device)
            self.dtype = resolve_dtype(dtype)
            xa, xb = crep.ssl_toy_data(toy["n"], toy["d_in"], signal_dim=toy["signal_dim"], decay=toy["decay"],
                                       noise=toy["noise"], seed=toy["data_seed"], device=self.device,
                                       dtype=self.dtype)
            self._data_info = {"data": "ssl_toy_data", "data_n": toy["n"], "data_d_in": toy["d_in"],
                               "data_signal_dim": toy["d_in"] if toy["signal_dim"] is None else toy["signal_dim"],
                               "data_decay": toy["decay"], "data_noise": toy["noise"],
                               "data_seed": toy["data_seed"]}
        else:
            given = sorted(k for k, v in toy.items() if v is not None)
            if given:
                raise ValueError(f"{given} are ssl_toy_data's parameters, used only when views is None; "
                                 "pass either views or those.")
            a, b = _check_views(views)
            tensors = [t for t in (a, b) if isinstance(t, torch.Tensor)]
            if len(tensors) == 2 and a.device != b.device and device is None:
                raise ValueError(f"views[0] is on {a.device} but views[1] on {b.device}: pass device=... or move one.")
            self.device = resolve_device(device, *tensors)
            self.dtype = resolve_dtype(dtype, *tensors)
            # copies: the caller's arrays are never shared with (or changed by) the session
            xa, xb = (torch.as_tensor(v).to(device=self.device, dtype=self.dtype).clone() for v in (a, b))
            self._data_info = {"data": "user views"}
        self.views = crep.ViewPair(xa, xb)
        self.n, self.d_in = xa.shape

        # ---- encoder
        if encoder is not None:
            if not isinstance(encoder, torch.nn.Module):
                raise TypeError(f"encoder must be a torch.nn.Module; got {type(encoder).__name__}.")
            if d_out is not None or hidden is not None:
                raise ValueError("d_out and hidden describe the default encoder; with encoder=... leave them out "
                                 "(the module's output sets the embedding dimension).")
            self._user_encoder = copy.deepcopy(encoder)
            self.hidden, self.d_out = None, None
            probe = copy.deepcopy(encoder).to(device=self.device, dtype=self.dtype)
            try:
                with torch.no_grad():
                    out = probe(xa[:2])
            except Exception as err:
                raise ValueError(f"encoder failed on the views' samples, shape (n, d_in) = {tuple(xa.shape)}: "
                                 f"{err}. It must map (n, {self.d_in}) to (n, d) embeddings.") from err
            if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
                got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise ValueError(f"encoder must map (n, {self.d_in}) to (n, d) embeddings; on 2 samples it "
                                 f"returned {got}.")
        else:
            self._user_encoder = None
            self.d_out = 8 if d_out is None else check_int(d_out, "d_out", 1)
            hidden = () if hidden is None else hidden
            if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
                hidden = (hidden,)
            try:
                hidden = tuple(hidden)
            except TypeError:
                raise TypeError(f"hidden must be a tuple of layer widths; got {hidden!r}.") from None
            self.hidden = tuple(check_int(h, f"hidden[{i}]", 1) for i, h in enumerate(hidden))
        if batch_size is not None:
            batch_size = check_int(batch_size, "batch_size", 2)
            if batch_size > self.n:
                raise ValueError(f"batch_size must be <= the number of samples ({self.n}); got {batch_size}.")
        self.batch_size = batch_size
        self._options = dict(
            encoder=self._user_encoder, d_out=self.d_out, hidden=self.hidden, activation=self.activation,
            loss=self.loss, optimizer=self.optimizer_name, batch_size=batch_size, seed=self.seed,
            record_every=self.record_every, device=self.device, dtype=self.dtype,
        )
        self.reset()

    # ------------------------------------------------------------------ construction

    def _make_encoder(self) -> torch.nn.Module:
        if self._user_encoder is not None:
            return copy.deepcopy(self._user_encoder).to(device=self.device, dtype=self.dtype)
        if not self.hidden:
            return crep.linear_encoder(self.d_in, self.d_out, seed=self.seed, device=self.device, dtype=self.dtype)
        gen = torch.Generator().manual_seed(self.seed)
        widths = (self.d_in,) + self.hidden + (self.d_out,)
        layers: list[torch.nn.Module] = []
        for i in range(len(widths) - 1):
            last = i == len(widths) - 2
            lin = torch.nn.Linear(widths[i], widths[i + 1], bias=not last, device=self.device, dtype=self.dtype)
            w = torch.randn(widths[i + 1], widths[i], generator=gen, dtype=torch.float64) / math.sqrt(widths[i])
            with torch.no_grad():
                lin.weight.copy_(w.to(device=self.device, dtype=self.dtype))
                if lin.bias is not None:
                    lin.bias.zero_()
            layers.append(lin)
            if not last:
                layers.append(ACTIVATIONS[self.activation]())
        return torch.nn.Sequential(*layers)

    def reset(self) -> "RepresentationSession":
        """Back to step 0: the initial weights, optimizer state, batches and an empty
        history, with the current options (a changed :attr:`lr` or loss weight is kept)."""
        self._trainer = crep.SSLTrainer(self._make_encoder(), self.views, self._train_loss, lr=self._lr,
                                        optimizer=self.optimizer_name, batch_size=self.batch_size, seed=self.seed)
        self._records: dict[str, list] = {}
        with self._threads():
            self._record()
        return self

    def replace(self, **changes) -> "RepresentationSession":
        """A new session on the same views with some options changed, at step 0.

        Any keyword of the constructor but the data (``views`` and ``ssl_toy_data``'s
        parameters); ``lr`` and the loss weights default to their current values. The
        session itself is not changed.

        Examples
        --------
        >>> s = RepresentationSession(n=64, d_in=6, d_out=3, device="cpu")
        >>> t = s.replace(loss="vne", alpha=-1.0, lr=0.1)
        >>> t.loss, t.alpha, t.step, torch.equal(t.views.view_a, s.views.view_a)
        ('vne', -1.0, 0, True)
        """
        data = sorted(set(changes) & set(_DATA_KEYS))
        if data:
            raise TypeError(f"replace() keeps the data, so it does not take {data}; build a new "
                            "RepresentationSession for other data.")
        known = set(self._options) | set(self._weights) | {"lr"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"replace() got unknown options {unknown}; it takes {sorted(known)}.")
        options = dict(self._options, lr=self._lr, **self._weights)
        if "encoder" in changes:  # another encoder (or the default one): its own d_out and hidden
            options.update(d_out=None, hidden=None)
        options.update(changes)
        new = RepresentationSession(self.views, **options)
        new._data_info = dict(self._data_info)
        return new

    # ------------------------------------------------------------------ loss

    def _check_weight(self, name: str):
        if name not in WEIGHTS[self.loss]:
            owner = next(k for k, v in WEIGHTS.items() if name in v)
            raise AttributeError(
                f"{name} is a weight of the {owner!r} loss; this session trains {self.loss!r} (weights "
                f"{WEIGHTS[self.loss]}). Use replace(loss={owner!r}, {name}=...)."
            )

    def _get(name):  # noqa: N805 -- builds the weight properties below
        def get(self) -> float:
            return self._weights[name]

        def set_(self, value):
            self._check_weight(name)
            self._weights[name] = check_real(value, name, minimum=None if name == "alpha" else 0.0)

        doc = (f"The {_WEIGHT_NAMES[name]} (loss {next(k for k, v in WEIGHTS.items() if name in v)!r}); "
               "setting it applies from the next step and is recorded.")
        return property(get, set_, doc=doc)

    sim = _get("sim")
    var = _get("var")
    cov = _get("cov")
    alpha = _get("alpha")
    lambd = _get("lambd")
    del _get

    def terms(self, z_a: torch.Tensor, z_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """The unweighted loss terms of embeddings ``z_a``, ``z_b`` (n, d) (:data:`TERMS`)."""
        if self.loss == "vicreg":
            return crep.vicreg_terms(z_a, z_b)._asdict()
        if self.loss == "vne":
            return {"invariance": 1 - F.cosine_similarity(z_a, z_b).mean(),
                    "vne": (crep.vne_loss(z_a) + crep.vne_loss(z_b)) / 2}
        return {}

    def loss_fn(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """The training loss of embeddings ``z_a``, ``z_b`` with the current weights."""
        w = self._weights
        if self.loss == "vicreg":
            return crep.vicreg_loss(z_a, z_b, sim=w["sim"], var=w["var"], cov=w["cov"])
        if self.loss == "vne":
            t = self.terms(z_a, z_b)
            return t["invariance"] + w["alpha"] * t["vne"]
        return crep.barlow_twins_loss(z_a, z_b, lambd=w["lambd"])

    def _train_loss(self, z_a, z_b):
        return self.loss_fn(z_a, z_b)

    # ------------------------------------------------------------------ training

    @property
    def lr(self) -> float:
        """The learning rate; setting it applies from the next step (and is recorded)."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_real(value, "lr", strict=True)
        self._trainer.lr = self._lr

    @property
    def step(self) -> int:
        """Optimizer steps taken since construction or :meth:`reset`."""
        return self._trainer.step

    @property
    def encoder(self) -> torch.nn.Module:
        """The encoder being trained (the session's copy)."""
        return self._trainer.encoder

    def _threads(self):
        """One torch thread while a step is small (on the CPU): many tiny ops, where several
        OpenMP threads only wait for each other (:mod:`spectrakit.core.threads`)."""
        return self._trainer.threads()

    def _record(self):
        za, zb, loss = self._trainer.evaluate()
        with torch.no_grad():
            eig = crep.covariance_spectrum(za)
            total = float(eig.sum())
            erank = float(crep.effective_rank(eig)) if total > 0 else math.nan
            entropy = float(crep.von_neumann_entropy(za)) if bool((za != 0).any()) else math.nan
            terms = {k: float(v) for k, v in self.terms(za, zb).items()}
        row = {"step": self.step, "eigenvalues": eig.cpu().numpy().astype(np.float64), "effective_rank": erank,
               "entropy": entropy, "loss": float(loss), **terms, "lr": self._lr,
               **{f"weight_{k}": self._weights[k] for k in WEIGHTS[self.loss]}}
        for key, value in row.items():
            self._records.setdefault(key, []).append(value)

    def _advance(self, steps: int) -> None:
        for _ in range(steps):
            self._trainer.update()
            if self.step % self.record_every == 0:
                self._record()

    # ------------------------------------------------------------------ results

    @property
    def history(self) -> xr.Dataset:
        """The recorded history over ``step``: ``eigenvalues`` (step, mode), ``effective_rank``,
        ``entropy``, ``loss``, the loss terms (:data:`TERMS`), ``lr`` and the loss weights
        ``weight_<name>`` (:data:`WEIGHTS`); attrs hold the other options."""
        rec = self._records
        eig = np.stack(rec["eigenvalues"])
        data = {
            "eigenvalues": (("step", "mode"), eig,
                            {"long_name": "covariance eigenvalues",
                             "description": "eigenvalues of the covariance (z_a - mean)^T (z_a - mean) / (n - 1) "
                                            "of the embeddings of view a, largest first"}),
            "effective_rank": (("step",), np.asarray(rec["effective_rank"], dtype=np.float64),
                               {"long_name": "effective rank",
                                "description": "exp(-sum p log p), p = eigenvalues / sum(eigenvalues)"}),
            "entropy": (("step",), np.asarray(rec["entropy"], dtype=np.float64),
                        {"long_name": "von Neumann entropy", "units": "nats",
                         "description": "entropy of the eigenvalues of H^T H / n, H the unit-length rows of z_a"}),
            "loss": (("step",), np.asarray(rec["loss"], dtype=np.float64),
                     {"long_name": "training loss", "description": "on all samples"}),
        }
        for name in TERMS[self.loss]:
            long_name, desc = _LONG_NAMES[name]
            desc = desc[self.loss] if isinstance(desc, dict) else desc
            data[name] = (("step",), np.asarray(rec[name], dtype=np.float64),
                          {"long_name": long_name, "description": desc + " (unweighted)"})
        data["lr"] = (("step",), np.asarray(rec["lr"], dtype=np.float64), {"long_name": "learning rate"})
        for name in WEIGHTS[self.loss]:
            data[f"weight_{name}"] = (("step",), np.asarray(rec[f"weight_{name}"], dtype=np.float64),
                                      {"long_name": _WEIGHT_NAMES[name], "option": name})
        coords = {"step": np.asarray(rec["step"], dtype=np.int64),
                  "mode": ("mode", np.arange(eig.shape[1]), {"long_name": "eigenvalue index, 0 = the largest"})}
        attrs = {
            "loss": self.loss,
            "optimizer": self.optimizer_name,
            "batch_size": self.n if self.batch_size is None else self.batch_size,
            "seed": self.seed,
            "record_every": self.record_every,
            "encoder": "custom" if self._user_encoder is not None else ("linear" if not self.hidden else "mlp"),
            "hidden": list(self.hidden) if self.hidden is not None else "custom encoder",
            "activation": self.activation,
            "d_in": self.d_in,
            "d_out": int(eig.shape[1]),
            "n_samples": self.n,
            "device": str(self.device),
            "dtype": dtype_name(self.dtype),
            **self._data_info,
        }
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def embeddings(self) -> xr.Dataset:
        """The current embeddings of both views on all samples: ``z_a``, ``z_b`` (sample, dim)."""
        with self._threads():
            za, zb, _ = self._trainer.evaluate()
        za, zb = (z.cpu().numpy().astype(np.float64) for z in (za, zb))
        coords = {"sample": np.arange(self.n), "dim": np.arange(za.shape[1])}
        return xr.Dataset({"z_a": (("sample", "dim"), za), "z_b": (("sample", "dim"), zb)}, coords=coords,
                          attrs={"step": self.step})

    def state_dict(self) -> dict:
        """Encoder, optimizer and minibatch-stream state (copies) for saving or comparing."""
        return self._trainer.state_dict()

    def __repr__(self) -> str:
        weights = ", ".join(f"{k}={self._weights[k]:g}" for k in WEIGHTS[self.loss])
        return (f"RepresentationSession(n={self.n}, d_in={self.d_in}, loss={self.loss!r}, {weights}, "
                f"optimizer={self.optimizer_name!r}, lr={self._lr:g}, step={self.step}, device={self.device}, "
                f"dtype={str(self.dtype).replace('torch.', '')})")
