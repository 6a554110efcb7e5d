"""Self-supervised training on synthetic two-view data: the data, a linear encoder and the
training loops.

Part of :mod:`spectrakit.core.representations` (read its docstring first). Read
:func:`train_ssl` first (it trains a copy of an encoder and records covariance spectra);
:class:`SSLTrainer` is its step routine, :func:`ssl_toy_data` and :func:`linear_encoder` make
its inputs, and :func:`linear_barlow_twins` with :func:`switch_on_steps` shows eigenvalues
learned one at a time.
"""

from __future__ import annotations

import copy
import math
from typing import Callable, NamedTuple

import torch

from ...options import resolve_device, resolve_dtype
from ..checks import check_finite, check_int, check_real, seeded_generator
from ..threads import single_thread_if_small
from ._common import _check_embeddings, _check_tensor
from .metrics import covariance_spectrum
from .losses import barlow_twins_loss

__all__ = [
    "ViewPair",
    "ssl_toy_data",
    "linear_encoder",
    "SSLTrainResult",
    "SSLTrainer",
    "train_ssl",
    "StepwiseResult",
    "linear_barlow_twins",
    "switch_on_steps",
]


# ---------------------------------------------------------- synthetic two-view data


class ViewPair(NamedTuple):
    """Two augmented views of the same samples, each (n, d_in)."""

    view_a: torch.Tensor
    view_b: torch.Tensor


def ssl_toy_data(
    n: int = 512,
    d_in: int = 16,
    *,
    signal_dim: int | None = None,
    decay: float = 0.9,
    noise: float = 0.3,
    seed: int | None = 0,
    device=None,
    dtype=None,
) -> ViewPair:
    """Two augmented views of synthetic data with a known signal spectrum.

    A clean sample is ``x = Q s`` with latent ``s_k ~ N(0, decay**k)``, ``k = 0 ..
    signal_dim - 1``, and ``Q`` (d_in, signal_dim) a random orthonormal basis; each view
    adds its own augmentation noise, ``x_a = x + noise * e_a``, ``x_b = x + noise * e_b``
    (independent standard normal ``e``). So in expectation:

    - the views' cross-covariance ``E[x_a x_b^T] = Q diag(decay**k) Q^T`` (what the views
      share; the eigenvalues ``decay**k`` are the targets of :func:`linear_barlow_twins`),
    - each view's covariance is that plus ``noise**2 I`` (what an encoder must ignore to
      be invariant).

    Parameters
    ----------
    n : int
        Samples, ``>= 2``.
    d_in : int
        Input dimension, ``>= 1``.
    signal_dim : int, optional
        Dimension of the shared signal, ``1 <= signal_dim <= d_in``; default ``d_in``.
    decay : float
        Ratio of successive signal variances, ``> 0`` (1: a flat signal spectrum; 0.5: a
        geometric one with well separated eigenvalues).
    noise : float
        Standard deviation of the augmentation noise, ``>= 0``.
    seed : int or None
        Seeds the draws (on the CPU, then moved); ``None`` draws fresh randomness.
    device, dtype
        Where and in what precision (default: spectrakit's options, else float64 on the
        automatic device).

    Returns
    -------
    ViewPair
        ``(view_a, view_b)``, each (n, d_in).

    Examples
    --------
    >>> xa, xb = ssl_toy_data(4000, 3, decay=0.5, noise=0.5, seed=0, device="cpu")
    >>> xa.shape, xa.dtype
    (torch.Size([4000, 3]), torch.float64)
    >>> cross = (xa.T @ xb + xb.T @ xa) / (2 * len(xa))
    >>> [round(float(v), 2) for v in torch.linalg.eigvalsh(cross).flip(0)]  # decay ** k
    [1.0, 0.5, 0.25]
    """
    n = check_int(n, "n", 2)
    d_in = check_int(d_in, "d_in", 1)
    k = d_in if signal_dim is None else check_int(signal_dim, "signal_dim", 1)
    if k > d_in:
        raise ValueError(f"signal_dim must be <= d_in ({d_in}); got {k}.")
    decay = check_real(decay, "decay", strict=True)
    noise = check_real(noise, "noise")
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    gen = seeded_generator(seed)
    q, r = torch.linalg.qr(torch.randn(d_in, k, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))  # Haar-distributed: fix QR's sign ambiguity
    std = decay ** (0.5 * torch.arange(k, dtype=torch.float64))
    x = (torch.randn(n, k, generator=gen, dtype=torch.float64) * std) @ q.T
    xa = x + noise * torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    xb = x + noise * torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    return ViewPair(xa.to(device=device, dtype=dtype), xb.to(device=device, dtype=dtype))


def linear_encoder(
    d_in: int,
    d_out: int,
    *,
    init_scale: float | None = None,
    seed: int | None = 0,
    device=None,
    dtype=None,
) -> torch.nn.Linear:
    """A bias-free ``torch.nn.Linear(d_in, d_out)`` with seeded weights ``N(0, init_scale^2)``.

    ``init_scale`` defaults to ``1 / sqrt(d_in)`` (unit-scale outputs for unit-scale
    inputs). The draw is on the CPU from ``seed``, then moved to ``device`` (default:
    spectrakit's options, else automatic) in ``dtype`` (default float64).

    Examples
    --------
    >>> enc = linear_encoder(16, 8, seed=0, device="cpu")
    >>> enc.weight.shape, enc.weight.dtype, enc.bias
    (torch.Size([8, 16]), torch.float64, None)
    """
    d_in = check_int(d_in, "d_in", 1)
    d_out = check_int(d_out, "d_out", 1)
    scale = 1.0 / math.sqrt(d_in) if init_scale is None else check_real(init_scale, "init_scale")
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    w = scale * torch.randn(d_out, d_in, generator=seeded_generator(seed), dtype=torch.float64)
    enc = torch.nn.Linear(d_in, d_out, bias=False, device=device, dtype=dtype)
    with torch.no_grad():
        enc.weight.copy_(w.to(device=device, dtype=dtype))
    return enc


# ------------------------------------------------------------------- training loops


def _check_views(views, name: str = "views") -> tuple[torch.Tensor, torch.Tensor]:
    try:
        xa, xb = views
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a pair (view_a, view_b) of (n, d_in) tensors, e.g. ssl_toy_data(...); "
            f"got {type(views).__name__}."
        ) from None
    xa = _check_embeddings(xa, f"{name}[0]", min_rows=2)
    xb = _check_embeddings(xb, f"{name}[1]", min_rows=2)
    if xa.shape != xb.shape:
        raise ValueError(
            f"the two views must have the same shape (the same n samples); got {tuple(xa.shape)} "
            f"and {tuple(xb.shape)}."
        )
    if xa.device != xb.device or xa.dtype != xb.dtype:
        raise ValueError(f"the views are {xa.dtype} on {xa.device} and {xb.dtype} on {xb.device}: use one.")
    return xa, xb


class SSLTrainResult(NamedTuple):
    """What :func:`train_ssl` returns.

    encoder : the trained copy of the encoder.
    steps : (m,) int64, the optimizer steps at which the history was recorded.
    loss : (m,) the full-data loss at those steps.
    spectra : (m, d) covariance eigenvalues (:func:`covariance_spectrum`) of
        ``encoder(view_a)`` on all samples, largest first.
    """

    encoder: torch.nn.Module
    steps: torch.Tensor
    loss: torch.Tensor
    spectra: torch.Tensor


_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}


def _scalar(loss, where: str) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn(z_a, z_b) must return a scalar tensor; got {got} {where}.")
    return loss.reshape(())


class SSLTrainer:
    """One optimizer step at a time on two views: the training loop of :func:`train_ssl`.

    Holds a deep copy of ``encoder``, its optimizer and the minibatch stream (a CPU
    ``torch.Generator`` seeded with ``seed``, a fresh permutation each epoch), so a caller
    can stop after any step and go on later with exactly the numbers of an uninterrupted
    run: :func:`train_ssl` and :class:`spectrakit.tuning.RepresentationSession` both step
    with it. Each :meth:`update` draws a batch (all samples by default), embeds both views,
    ``z_a = encoder(view_a[batch])``, ``z_b = encoder(view_b[batch])``, and takes one
    optimizer step on ``loss_fn(z_a, z_b)``; :meth:`evaluate` gives the full-data
    embeddings and loss without a gradient.

    Parameters
    ----------
    encoder, views, loss_fn, lr, optimizer, batch_size, seed
        As in :func:`train_ssl` (the same checks and messages). ``loss_fn`` is called
        afresh each step, so a closure reading changing weights takes effect at once.

    Attributes
    ----------
    encoder : torch.nn.Module
        The copy being trained.
    step : int
        Optimizer steps taken.
    n : int
        Samples in each view.

    Examples
    --------
    >>> from spectrakit.core.representations import vicreg_loss
    >>> views = ssl_toy_data(128, 6, seed=0, device="cpu")
    >>> trainer = SSLTrainer(linear_encoder(6, 3, seed=1, device="cpu"), views, vicreg_loss, lr=0.02)
    >>> before = float(trainer.evaluate()[2])
    >>> for _ in range(20):
    ...     trainer.update()
    >>> trainer.step, float(trainer.evaluate()[2]) < before
    (20, True)
    """

    def __init__(
        self,
        encoder: torch.nn.Module,
        views,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        *,
        lr: float = 1e-2,
        optimizer: str = "sgd",
        batch_size: int | None = None,
        seed: int | None = 0,
    ):
        if not isinstance(encoder, torch.nn.Module):
            raise TypeError(f"encoder must be a torch.nn.Module; got {type(encoder).__name__}.")
        xa, xb = _check_views(views)
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be a callable (z_a, z_b) -> scalar loss; got {type(loss_fn).__name__}.")
        lr = check_real(lr, "lr", strict=True)
        if optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)}; got {optimizer!r}.")
        n = xa.shape[0]
        batch = n if batch_size is None else check_int(batch_size, "batch_size", 2)
        if batch > n:
            raise ValueError(f"batch_size must be <= n ({n} samples); got {batch}.")
        model = copy.deepcopy(encoder)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("encoder has no parameters that require grad: nothing to train.")
        for name, p in model.named_parameters():
            if p.device != xa.device or p.dtype != xa.dtype:
                raise ValueError(
                    f"encoder parameter {name!r} is {p.dtype} on {p.device} but the views are {xa.dtype} "
                    f"on {xa.device}: move one, e.g. encoder.to(view_a.device, view_a.dtype)."
                )
        self.encoder = model
        self.loss_fn = loss_fn
        self.view_a, self.view_b = xa, xb
        self.n, self.batch_size = n, batch
        self.step = 0
        self._lr = lr
        self._params = params
        self._opt = _OPTIMIZERS[optimizer](params, lr=lr)
        self._gen = seeded_generator(seed)
        self._order = torch.empty(0, dtype=torch.long)
        self._pos = 0
        #: multiply-adds of a linear encoder's step, the scale :meth:`threads` looks at
        self.work = sum(p.numel() for p in params) * n

    @property
    def lr(self) -> float:
        """The learning rate; setting it applies from the next :meth:`update`."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_real(value, "lr", strict=True)
        for group in self._opt.param_groups:
            group["lr"] = self._lr

    def threads(self):
        """A context running small CPU work on one thread (:mod:`spectrakit.core.threads`)."""
        return single_thread_if_small(self.work, self.view_a.device)

    def evaluate(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(z_a, z_b, loss)`` on all samples, without a gradient.

        Raises ``FloatingPointError`` (training diverged) if the embeddings or the loss
        are not finite, and ``ValueError`` if the encoder's output is not (n, d).
        """
        with torch.no_grad():
            za, zb = self.encoder(self.view_a), self.encoder(self.view_b)
            if not isinstance(za, torch.Tensor) or za.ndim != 2 or za.shape[0] != self.n:
                got = tuple(za.shape) if isinstance(za, torch.Tensor) else type(za).__name__
                raise ValueError(f"encoder must map (n, d_in) to (n, d) embeddings; got {got}.")
            loss = _scalar(self.loss_fn(za, zb), f"at step {self.step}").detach()
            if not (bool(torch.isfinite(loss)) and bool(torch.isfinite(za.sum()))):
                raise FloatingPointError(
                    f"training diverged: the embeddings or the loss ({float(loss)}) are not finite at "
                    f"step {self.step}; lower lr (now {self._lr}) or check loss_fn."
                )
        return za, zb, loss

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.batch_size == self.n:
            return self.view_a, self.view_b
        if self._pos + self.batch_size > len(self._order):
            self._order, self._pos = torch.randperm(self.n, generator=self._gen), 0
        idx = self._order[self._pos:self._pos + self.batch_size].to(self.view_a.device)
        self._pos += self.batch_size
        return self.view_a[idx], self.view_b[idx]

    def update(self) -> None:
        """One optimizer step on a batch; :attr:`step` counts it."""
        ba, bb = self._batch()
        self._opt.zero_grad(set_to_none=True)
        with torch.enable_grad():
            loss = _scalar(self.loss_fn(self.encoder(ba), self.encoder(bb)), f"at step {self.step}")
        if not bool(torch.isfinite(loss.detach())):
            raise FloatingPointError(
                f"the loss became {float(loss.detach())} at step {self.step}: lower lr (now {self._lr}) or check loss_fn."
            )
        loss.backward()
        self._opt.step()
        self.step += 1

    def state_dict(self) -> dict:
        """Copies of the encoder's and optimizer's state and the batch stream's position."""
        return {"encoder": copy.deepcopy(self.encoder.state_dict()),
                "optimizer": copy.deepcopy(self._opt.state_dict()),
                "step": self.step, "batch_generator": self._gen.get_state(),
                "batch_order": self._order.clone(), "batch_position": self._pos}


def train_ssl(
    encoder: torch.nn.Module,
    views,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    steps: int = 500,
    lr: float = 1e-2,
    optimizer: str = "sgd",
    batch_size: int | None = None,
    seed: int | None = 0,
    record_every: int = 1,
) -> SSLTrainResult:
    """Train a copy of ``encoder`` on two views with ``loss_fn``; record covariance spectra.

    Each step draws a batch (all samples by default), embeds both views,
    ``z_a = encoder(view_a[batch])``, ``z_b = encoder(view_b[batch])``, and takes one
    optimizer step on ``loss_fn(z_a, z_b)``. At steps ``0, record_every, 2 record_every,
    ...`` and after the last step, the full-data loss and the eigenvalues of the
    covariance of ``encoder(view_a)`` are recorded: a collapse shows as eigenvalues
    falling to 0, a dimensional collapse as all but a few falling (see
    :func:`effective_rank`, which takes the (m, d) history directly).

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps (n, d_in) to (n, d) embeddings; its parameters must be on the views' device
        and in their dtype. Not modified: a deep copy is trained and returned.
    views : pair of tensors (n, d_in)
        ``(view_a, view_b)``, e.g. :func:`ssl_toy_data`.
    loss_fn : callable
        ``loss_fn(z_a, z_b)`` returns a scalar loss, e.g. ``vicreg_loss`` or
        ``lambda za, zb: vicreg_loss(za, zb, var=0.0)``.
    steps : int
        Optimizer steps, ``>= 0``.
    lr : float
        Learning rate, ``> 0``.
    optimizer : {"sgd", "adam"}
        Plain gradient descent (no momentum) or Adam with torch's defaults.
    batch_size : int, optional
        Samples per step (a fresh random permutation each epoch, drawn from ``seed``);
        default all ``n`` (deterministic full-batch training).
    seed : int or None
        Seeds the batch order (unused for full batches).
    record_every : int
        Record every this many steps, ``>= 1``.

    Returns
    -------
    SSLTrainResult
        ``(encoder, steps, loss, spectra)``: the trained copy; the recorded steps (m,);
        the full-data losses (m,); the covariance spectra (m, d), largest first. On the
        views' device and dtype.

    Notes
    -----
    The steps are :class:`SSLTrainer`'s (use it directly to stop and resume). Small problems (parameter count times ``n`` below 1e7) run on one CPU thread: for
    many tiny products, several threads only wait on each other (:mod:`spectrakit.core.threads`).

    Examples
    --------
    >>> from spectrakit.core.representations import vicreg_loss
    >>> views = ssl_toy_data(256, 8, seed=0, device="cpu")
    >>> enc = linear_encoder(8, 4, seed=1, device="cpu")
    >>> full = train_ssl(enc, views, vicreg_loss, steps=200, lr=0.02)
    >>> collapsed = train_ssl(enc, views, lambda a, b: vicreg_loss(a, b, var=0.0), steps=200, lr=0.02)
    >>> full.spectra.shape
    torch.Size([201, 4])
    >>> bool(full.spectra[-1, -1] > 0.3), bool(collapsed.spectra[-1, 0] < 1e-2)
    (True, True)
    """
    if not isinstance(encoder, torch.nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module; got {type(encoder).__name__}.")
    _check_views(views)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a callable (z_a, z_b) -> scalar loss; got {type(loss_fn).__name__}.")
    steps = check_int(steps, "steps", 0)
    record_every = check_int(record_every, "record_every", 1)
    trainer = SSLTrainer(encoder, views, loss_fn, lr=lr, optimizer=optimizer, batch_size=batch_size, seed=seed)

    rec_steps: list[int] = []
    rec_loss: list[torch.Tensor] = []
    rec_spectra: list[torch.Tensor] = []

    def record():
        za, _, loss = trainer.evaluate()
        rec_steps.append(trainer.step)
        rec_loss.append(loss)
        rec_spectra.append(covariance_spectrum(za))

    with trainer.threads():
        for t in range(steps):
            if t % record_every == 0:
                record()
            trainer.update()
        record()
    xa = trainer.view_a
    return SSLTrainResult(
        encoder=trainer.encoder,
        steps=torch.tensor(rec_steps, dtype=torch.long, device=xa.device),
        loss=torch.stack(rec_loss).to(xa.dtype),
        spectra=torch.stack(rec_spectra),
    )


class StepwiseResult(NamedTuple):
    """What :func:`linear_barlow_twins` returns.

    weights : (d_out, d_in) the trained ``W``.
    eigenvalues : (steps + 1, d_out) eigenvalues of the embeddings' symmetrized
        cross-correlation ``C = W Gamma W^T`` before each step and after the last, largest first.
    loss : (steps + 1,) ``||C - I||_F^2`` at the same points.
    target : (d_out,) the top eigenvalues ``gamma_j`` of the views' cross-correlation ``Gamma``.
    predicted_steps : (d_out,) the step at which eigenvalue ``j`` should reach 1/2 by the
        small-initialization theory (NaN where it does not apply: ``gamma_j <= 0``, or
        ``c_j(0) >= 1/2``, an initialization that is not small).
    """

    weights: torch.Tensor
    eigenvalues: torch.Tensor
    loss: torch.Tensor
    target: torch.Tensor
    predicted_steps: torch.Tensor


def linear_barlow_twins(
    view_a: torch.Tensor,
    view_b: torch.Tensor,
    d_out: int,
    *,
    steps: int = 1000,
    lr: float = 0.05,
    init_scale: float = 1e-3,
    seed: int | None = 0,
) -> StepwiseResult:
    """Linear Barlow Twins from a small initialization: eigenmodes learned one at a time.

    The model of Simon et al. (2023, "On the stepwise nature of self-supervised
    learning"): a linear encoder ``z = W x`` (``W`` is d_out x d_in, entries drawn
    ``N(0, init_scale^2)``) trained by full-batch gradient descent on
    :func:`barlow_twins_loss` with ``normalize=False, lambd=1``, i.e.
    ``L = ||C - I||_F^2`` with ``C = (Z_a^T Z_b + Z_b^T Z_a) / (2n) = W Gamma W^T`` and
    ``Gamma = (X_a^T X_b + X_b^T X_a) / (2n)`` the views' symmetrized cross-correlation.

    From a small start the modes decouple: along the ``j``-th eigenvector ``v_j`` of
    ``Gamma`` (eigenvalue ``gamma_j``, largest first) the embedding ``W v_j`` grows by the
    factor ``1 + 4 lr gamma_j`` per step while ``C`` is small, so the eigenvalue ``c_j`` of
    ``C`` it carries follows a logistic curve from ``c_j(0)`` to 1 (``dc_j/dt = 8 gamma_j
    c_j (1 - c_j)`` in gradient-flow time ``t = lr * step``). It crosses 1/2 at

    ``t_j = log(1 / c_j(0) - 1) / (2 log(1 + 4 lr gamma_j))`` steps (``predicted_steps``),

    with ``c_j(0) = gamma_j ||P_j W_0 v_j||^2``, ``P_j`` the projection removing the
    earlier modes' initial outputs ``W_0 v_1 .. W_0 v_{j-1}`` (on average
    ``c_j(0) ~ init_scale^2 (d_out - j + 1) gamma_j``). The modes are learned in the order
    of the ``gamma_j``, one at a time when the ``gamma_j`` are well separated (a geometric
    ``gamma``: the times grow by the ratio ``gamma_j / gamma_{j+1}``). On
    :func:`ssl_toy_data` the measured half-rise times agree with ``t_j`` to a step or two.
    Modes with ``gamma_j <= 0`` are never learned (``predicted_steps`` is NaN there).

    Parameters
    ----------
    view_a, view_b : tensor (n, d_in)
        The two views (e.g. :func:`ssl_toy_data` with ``decay=0.5``).
    d_out : int
        Embedding dimension, ``1 <= d_out <= d_in``.
    steps : int
        Gradient steps, ``>= 0``.
    lr : float
        Learning rate, ``> 0``; must satisfy ``4 lr gamma_1 < 1`` (beyond it the learned
        eigenvalues overshoot 1 and diverge).
    init_scale : float
        Standard deviation of the initial weights, ``> 0`` (small: 1e-3 and below).
    seed : int or None
        Seeds the initial weights (drawn on the CPU, then moved).

    Returns
    -------
    StepwiseResult
        ``(weights, eigenvalues, loss, target, predicted_steps)`` on the views' device and
        dtype; see :class:`StepwiseResult`. :func:`switch_on_steps` reads the measured
        times off ``eigenvalues``.

    Examples
    --------
    >>> xa, xb = ssl_toy_data(2000, 8, decay=0.5, noise=0.3, seed=0, device="cpu")
    >>> res = linear_barlow_twins(xa, xb, 3, steps=400, lr=0.05)
    >>> switch_on_steps(res.eigenvalues).tolist()  # measured half-rise steps
    [34, 76, 153]
    >>> [round(float(t)) for t in res.predicted_steps]  # theory
    [34, 76, 154]
    >>> [[round(float(v), 2) for v in res.eigenvalues[t]] for t in (50, 100, 200)]  # one at a time
    [[1.0, 0.01, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 0.99]]
    """
    xa, xb = _check_views((view_a, view_b), "(view_a, view_b)")
    n, d_in = xa.shape
    d_out = check_int(d_out, "d_out", 1)
    if d_out > d_in:
        raise ValueError(f"d_out must be <= d_in ({d_in}); got {d_out}.")
    steps = check_int(steps, "steps", 0)
    lr = check_real(lr, "lr", strict=True)
    init_scale = check_real(init_scale, "init_scale", strict=True)

    gamma_mat = (xa.T @ xb + xb.T @ xa) / (2 * n)
    g1 = float(torch.linalg.eigvalsh((gamma_mat + gamma_mat.T) / 2)[-1])
    if 4 * lr * g1 >= 1:
        raise ValueError(
            f"lr={lr} is too large for the top cross-correlation eigenvalue {g1:.3g}: gradient "
            f"descent needs 4 lr gamma_1 < 1, i.e. lr < {1 / (4 * g1):.3g} (take half of that)."
        )
    w0 = init_scale * torch.randn(d_out, d_in, generator=seeded_generator(seed), dtype=torch.float64)
    w = w0.to(device=xa.device, dtype=xa.dtype).requires_grad_()

    gammas, vecs = torch.linalg.eigh((gamma_mat + gamma_mat.T) / 2)
    target = gammas.flip(-1)[:d_out]
    # c_j(0): mode j's initial size once the outputs of the earlier modes are projected out
    r = torch.linalg.qr(w.detach() @ vecs.flip(-1)[:, :d_out], mode="r")[1]
    c0 = target * torch.diagonal(r) ** 2
    ok = (target > 0) & (c0 > 0) & (c0 < 0.5)
    safe_c0 = torch.where(ok, c0, torch.full_like(c0, 0.25))
    safe_t = torch.where(ok, target, torch.ones_like(target))
    predicted = torch.where(
        ok,
        torch.log(1 / safe_c0 - 1) / (2 * torch.log1p(4 * lr * safe_t)),
        torch.full_like(target, float("nan")),
    )
    eigs: list[torch.Tensor] = []
    losses: list[torch.Tensor] = []
    with single_thread_if_small(n * d_in * d_out, xa.device), torch.enable_grad():
        for t in range(steps + 1):
            za, zb = xa @ w.T, xb @ w.T
            loss = barlow_twins_loss(za, zb, lambd=1.0, normalize=False)
            with torch.no_grad():
                c = (za.T @ zb + zb.T @ za) / (2 * n)
                eigs.append(torch.linalg.eigvalsh((c + c.T) / 2).flip(-1))
                losses.append(loss.detach())
            if not bool(torch.isfinite(loss.detach())):
                raise FloatingPointError(f"the loss became {float(loss)} at step {t}: lower lr (now {lr}).")
            if t == steps:
                break
            (grad,) = torch.autograd.grad(loss, w)
            with torch.no_grad():
                w -= lr * grad
    return StepwiseResult(
        weights=w.detach(),
        eigenvalues=torch.stack(eigs),
        loss=torch.stack(losses),
        target=target,
        predicted_steps=predicted,
    )


def switch_on_steps(eigenvalues: torch.Tensor, level: float = 0.5) -> torch.Tensor:
    """The first step at which each eigenvalue reaches ``level`` times its final value.

    ``eigenvalues`` is a history (steps, d) (rows in time, e.g. from
    :func:`linear_barlow_twins` or :func:`train_ssl`); for column ``j`` the result is the
    first row index ``t`` with ``eigenvalues[t, j] >= level * eigenvalues[-1, j]``, or -1
    where the final value is not positive (never switched on). With ``level = 0.5`` and
    stepwise learning these are the half-rise times; they increase with ``j`` when the
    modes are learned in order.

    Examples
    --------
    >>> h = torch.tensor([[0.0, 0.0], [0.6, 0.0], [1.0, 0.1], [1.0, 0.9], [1.0, 1.0]])
    >>> switch_on_steps(h)
    tensor([1, 3])
    """
    h = _check_tensor(eigenvalues, "eigenvalues")
    if h.ndim != 2 or h.shape[0] < 1:
        raise ValueError(f"eigenvalues must be a (steps, d) history; got shape {tuple(h.shape)}.")
    check_finite(h.detach(), "eigenvalues")
    level = check_real(level, "level")
    final = h[-1]
    reached = h >= level * final
    first = torch.argmax(reached.to(torch.int8), dim=0)  # first True (the last row always is)
    return torch.where(final > 0, first, torch.full_like(first, -1))
