"""A GUI-free session that trains a small network under a weight-spectrum regularizer and
records every layer's singular values, their estimates and the Lipschitz bound as it runs,
on one task or a sequence of tasks (continual learning).

:class:`WeightSession` trains, in-process, an MLP (or a small circular-padding conv net)
on synthetic classification tasks (:func:`make_task`) with the cross-entropy loss plus
``reg`` times a penalty on the weights' spectra, one of

* ``method="spectral"``: ``sum_l (sigma_max(W_l)**power - target**power)**2``, the
  largest singular value of every ``Linear`` and ``Conv2d`` layer pulled towards
  ``target`` (Lewandowski et al. 2024, "Learning continually by spectral regularization",
  use ``power=2``, ``target=1`` and append the bias to ``W`` as a column; here the bias
  is left out, so that the penalty acts on the same operator as the Lipschitz bound).
  ``sigma_max`` is exact and differentiable: ``torch.linalg.svdvals`` of a dense matrix,
  :func:`~spectrakit.core.weights.conv_operator_norm` (the circular convolution on the
  layer's grid, by FFT) of a conv kernel;
* ``method="orthogonal"``: ``sum_l target**4 ||(W_l / target)^T (W_l / target) - I||_F^2
  = sum_l ||W_l^T W_l - target**2 I||_F^2`` (the smaller Gram matrix;
  :func:`~spectrakit.core.weights.orthogonality_penalty`, for a conv layer that of the
  convolution operator on its grid, which sums over the ``H W`` frequencies): every
  singular value pulled towards ``target``;
* ``method="normalize"``: no penalty; every layer computes with ``target * W / ||W||_2``
  (a reparametrization applied in the forward pass, differentiated through
  ``||W||_2`` as in SN-GAN, but with the exact norm instead of a power-iteration
  estimate: :func:`~spectrakit.core.weights.spectral_normalize`), so each layer's
  spectral norm is ``target`` at every step and ``reg`` has no effect;
* ``method="none"``: plain training (``reg`` has no effect). ``method="spectral"`` or
  ``"orthogonal"`` with ``reg=0`` takes exactly the same steps: the penalty is not even
  computed then.

It records at step 0 and every ``record_every``-th step

* ``loss``, ``accuracy`` on the current task's training set and ``test_loss``,
  ``test_accuracy`` on its held-out set; ``penalty`` (the method's penalty, unweighted:
  the objective is ``loss + reg * penalty``); ``dead_fraction``, the share of hidden ReLU
  units (for a conv layer: channel-pixel units) that are zero on every training input, a
  symptom of lost plasticity (NaN with ``activation="tanh"``);
* ``lr``, ``reg``, ``target`` in force (settable between steps, like sliders) and the
  coordinate ``task`` (step), the task the step trained on;

and every ``spectrum_every``-th step (NaN at the recorded steps in between)

* ``singular_values`` (step, layer, mode): all singular values of each layer's operator,
  descending, mode ``0 .. max - 1`` (0 = the largest), NaN-padded where a layer has fewer than the largest
  (the count of each is the coordinate ``n_values`` on ``layer``): a histogram of layer
  ``l`` at step ``t`` is of ``h.singular_values.sel(layer=l, step=t).dropna("mode")``.
  A Linear layer: ``svdvals(W)``; a Conv2d: the circular convolution's on its input
  grid (:func:`~spectrakit.core.weights.layer_spectra`; exact for these layers: stride
  1, circular "same" padding);
* ``spectral_norm`` (step, layer): the largest of them, exact;
* ``power_estimate`` (step, layer): ``power_iters`` steps of power iteration
  (:func:`~spectrakit.core.weights.power_iteration`,
  :func:`~spectrakit.core.weights.conv_power_iteration`) from the previous spectrum
  step's vector (persistent, as in SN-GAN): a lower bound on ``spectral_norm``;
* ``gram_bound`` (step, layer): ``gram_iters`` Gram iterations
  (:func:`~spectrakit.core.weights.gram_iteration_norm`): an upper bound;
* ``lipschitz_bound`` (step): the product of the layers' spectral norms, an upper bound on
  the network's Lipschitz constant (ReLU and tanh are 1-Lipschitz; biases do not count);
* ``max_input_gradient`` (step): ``max_i ||d f / d x (x_i)||_2`` over the training
  inputs (:func:`~spectrakit.core.weights.max_input_gradient_norm`), a lower bound on
  it: always ``<= lipschitz_bound``.

With ``tasks > 1`` the network trains ``steps_per_task`` steps on each task in turn (task
``k`` covers steps ``k * steps_per_task + 1 .. (k + 1) * steps_per_task``) without being
reset, and at the end of each task (whatever ``record_every``) the history gets, on dim
``task_end``: ``end_step``, ``end_loss``, ``end_accuracy``, ``end_test_loss``,
``end_test_accuracy``, ``end_dead_fraction`` and ``end_spectral_norm`` (task_end, layer).
Plasticity is the ability to fit a new task: with random labels (the default task), an
unregularized network fits later tasks worse and worse (``end_loss`` rises, dead units
and the top singular values grow), while the spectral regularizer keeps ``end_loss``
level (see the tests for the numbers). After the last task training continues on it.

The history is an :class:`xarray.Dataset` over ``step`` (and ``layer``, ``mode``,
``task_end``); step ``t`` is the state after ``t`` optimizer updates.

Reproducibility: the data of every task come from ``data_seed`` and the task's index, the
initial weights, the minibatch draws and the power-iteration start vectors from CPU
``torch.Generator`` objects seeded with ``seed`` and owned by the session, so ``run(a);
run(b)`` gives exactly the numbers of ``run(a + b)`` and :meth:`reset` returns to step 0
with the same weights and batches (bit-for-bit on the CPU).
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr
from torch import nn
from torch.nn.utils import parametrize

from ..core import weights as cw
from ..core.checks import check_int, check_real
from ..core.threads import single_thread_if_small
from ..xr._apply import dtype_name
from ..options import resolve_device, resolve_dtype
from ._streaming import StreamingSession

__all__ = ["WeightSession", "Task", "make_task", "METHODS", "TASKS", "ARCHITECTURES", "ACTIVATIONS"]

METHODS = ("spectral", "orthogonal", "normalize", "none")
TASKS = ("labels", "teacher", "permuted")
ARCHITECTURES = ("mlp", "conv")
#: 1-Lipschitz activations only, so that ``lipschitz_bound`` is a bound
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
OPTIMIZERS = ("adam", "sgd")
_DEFAULT_INPUT = {"mlp": (16,), "conv": (1, 8, 8)}
_DEFAULT_HIDDEN = {"mlp": (64, 64), "conv": (8, 8)}
_KERNEL = 3  # conv layers: 3 x 3, stride 1, circular "same" padding


# ----------------------------------------------------------------------------- checks


def _choice(value, name: str, options) -> str:
    if not isinstance(value, str) or value.lower() not in options:
        raise ValueError(f"{name}={value!r} is unknown; choose one of {tuple(options)}.")
    return value.lower()


def _ints(value, name: str, minimum: int) -> tuple[int, ...]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a tuple of integers; got {value!r}.")
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of integers; got {value!r}.") from None
    return tuple(check_int(v, f"{name}[{i}]", minimum) for i, v in enumerate(items))


# ----------------------------------------------------------------------------- data


class Task(NamedTuple):
    """One classification task, as :func:`make_task` returns it (tensors)."""

    x: torch.Tensor
    """Training inputs, ``(n, *input_shape)``."""
    y: torch.Tensor
    """Training labels ``(n,)``, int64 in ``0 .. classes - 1``."""
    x_test: torch.Tensor
    """Held-out inputs, ``(n_test, *input_shape)``."""
    y_test: torch.Tensor
    """Held-out labels ``(n_test,)``."""


def _generator(*key: int) -> torch.Generator:
    # independent streams per (seed, task, purpose): SeedSequence mixes the key
    return torch.Generator().manual_seed(int(np.random.SeedSequence(list(key)).generate_state(1)[0]))


def make_task(kind: str = "labels", index: int = 0, *, n: int = 128, n_test: int = 128,
              input_shape=(16,), classes: int = 10, seed: int = 0, device=None, dtype=None) -> Task:
    """Task ``index`` of a seeded sequence of synthetic classification tasks.

    The inputs are standard normal, ``x ~ N(0, I)`` of shape ``(n, *input_shape)`` (a
    vector, or an image ``(C, H, W)``), drawn once from ``seed`` and shared by all tasks
    (the held-out inputs likewise). What changes from task to task:

    * ``"labels"``: new uniformly random labels for the training and the held-out inputs.
      Fitting them is pure memorization (the held-out loss stays at ``log(classes)``):
      the classic probe of plasticity, the ability to fit a new task.
    * ``"teacher"``: a new random linear teacher ``T_k`` (``N(0, 1)`` entries,
      ``(d, classes)`` with ``d`` the flattened input size) and labels
      ``argmax(x T_k)``: learnable, and the held-out loss measures generalization.
    * ``"permuted"``: one teacher ``T`` (from ``seed``) and a new random permutation
      ``pi_k`` of the ``d`` input entries (pixels) per task, ``x_k = x[:, pi_k]`` with
      labels ``argmax(x T)`` (task 0 is unpermuted): the permuted-MNIST kind of shift.

    Parameters
    ----------
    kind : {"labels", "teacher", "permuted"}
    index : int
        The task's position in the sequence, ``>= 0``.
    n, n_test : int
        Training and held-out samples.
    input_shape : tuple of int
        ``(d,)`` for an MLP or ``(C, H, W)`` for a conv net.
    classes : int
        Number of classes, ``>= 2``.
    seed : int
        Same seed and index, same task.
    device, dtype
        Of the inputs (``spectrakit.options`` precedence; default float64). The labels
        are int64 on the same device.

    Returns
    -------
    Task
        ``(x, y, x_test, y_test)``.

    Examples
    --------
    >>> t = make_task("teacher", 2, n=6, n_test=4, input_shape=(3,), classes=2)
    >>> t.x.shape, t.y.shape, t.x_test.shape, t.y.dtype
    (torch.Size([6, 3]), torch.Size([6]), torch.Size([4, 3]), torch.int64)
    >>> torch.equal(t.x, make_task("labels", 5, n=6, n_test=4, input_shape=(3,), classes=2).x)
    True
    """
    kind = _choice(kind, "kind", TASKS)
    index = check_int(index, "index", 0)
    n, n_test = check_int(n, "n", 1), check_int(n_test, "n_test", 1)
    classes = check_int(classes, "classes", 2)
    seed = check_int(seed, "seed", 0)
    shape = _ints(input_shape, "input_shape", 1)
    if len(shape) not in (1, 3):
        raise ValueError(f"input_shape must be (d,) or (C, H, W); got {input_shape!r}.")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    d = math.prod(shape)
    g = _generator(seed, 0)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    x_test = torch.randn(n_test, d, generator=g, dtype=torch.float64)
    gk = _generator(seed, 1, index)
    if kind == "labels":
        y = torch.randint(0, classes, (n,), generator=gk)
        y_test = torch.randint(0, classes, (n_test,), generator=gk)
    else:
        if kind == "teacher":
            teacher = torch.randn(d, classes, generator=gk, dtype=torch.float64)
        else:
            teacher = torch.randn(d, classes, generator=_generator(seed, 2), dtype=torch.float64)
        y, y_test = (x @ teacher).argmax(1), (x_test @ teacher).argmax(1)
        if kind == "permuted" and index > 0:
            perm = torch.randperm(d, generator=gk)
            x, x_test = x[:, perm], x_test[:, perm]
    x, x_test = (v.reshape(v.shape[0], *shape).to(device=device, dtype=dtype) for v in (x, x_test))
    return Task(x, y.to(device), x_test, y_test.to(device))


# ----------------------------------------------------------------------------- the model


class _Normalized(nn.Module):
    """The parametrization ``W -> target * W / ||W||_2`` (exact norm; conv: on ``grid``)."""

    def __init__(self, target: float, grid):
        super().__init__()
        self.target = target
        self.grid = grid

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return cw.spectral_normalize(weight, self.target, self.grid)


def _raw_weight(module: nn.Module) -> torch.Tensor:
    """The layer's own weight parameter (before a normalization parametrization)."""
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


def _uniform_(tensor: torch.Tensor, bound: float, gen: torch.Generator) -> None:
    values = (torch.rand(tensor.shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound
    with torch.no_grad():
        tensor.copy_(values.to(dtype=tensor.dtype))


# ----------------------------------------------------------------------------- session


class WeightSession(StreamingSession):
    """Train a small network with a spectral regularizer on one task or a task sequence;
    record every layer's singular values, their bounds, the Lipschitz bound and the losses.

    Parameters
    ----------
    task : {"labels", "teacher", "permuted"}
        The kind of synthetic task (:func:`make_task`): random labels, a random linear
        teacher, or permuted inputs, new for each task of the sequence.
    tasks : int or None
        Number of tasks in sequence (default 1: ordinary training); None: an endless
        sequence.
    steps_per_task : int
        Optimizer steps on each task before the next one starts.
    n, n_test : int
        Training and held-out samples per task.
    classes : int
        Number of classes (outputs of the network).
    architecture : {"mlp", "conv"}
        ``"mlp"``: ``Linear -> act -> ... -> Linear``. ``"conv"``: 3 x 3 ``Conv2d``
        layers (stride 1, circular "same" padding, so the recorded singular values are the
        layer's exactly) with the activation after each, then ``Flatten`` and one
        ``Linear`` to the classes.
    input_shape : tuple of int, optional
        ``(d,)`` for the MLP (default ``(16,)``), ``(C, H, W)`` for the conv net (default
        ``(1, 8, 8)``).
    hidden : tuple of int, optional
        Hidden widths (MLP, default ``(64, 64)``) or channels (conv, default ``(8, 8)``).
    activation : {"relu", "tanh"}
        1-Lipschitz, so the product of the layer norms bounds the network's.
    data_seed : int
        Seeds the tasks' data.
    method : {"spectral", "orthogonal", "normalize", "none"}
        The weight-spectrum control (module docstring).
    reg : float
        Regularization strength ``>= 0``, the weight of the penalty (spectral,
        orthogonal); settable between steps (:attr:`reg`). Default 0: no regularization.
    target : float
        The spectral norm aimed at (spectral, normalize) or the singular value
        (orthogonal), ``> 0``; settable between steps (:attr:`target`).
    power : int
        The exponent ``k`` of the spectral penalty ``(sigma_max**k - target**k)**2``
        (Lewandowski et al. use 2).
    optimizer : {"adam", "sgd"}
        Adam with torch's defaults, or plain SGD (no momentum).
    lr : float
        Learning rate ``> 0``; settable between steps (:attr:`lr`).
    batch_size : int, optional
        Samples per step, drawn without replacement each step (default all: full batch).
    seed : int
        Seeds the initial weights (uniform in ``+-1/sqrt(fan_in)``, torch's default
        bound, for weights and biases), the minibatches and the power-iteration starts.
    record_every : int
        Record every this many steps (step 0 is always recorded).
    spectrum_every : int, optional
        Steps between records of the spectra and bounds, a multiple of ``record_every``
        (default ``record_every``).
    power_iters, gram_iters : int
        Iterations of the (persistent) power iteration, ``>= 1``, and of the Gram
        iteration, ``>= 0``, per spectrum record: cheap estimates to compare with the
        exact norm.
    device, dtype
        Where and in which precision to train (``spectrakit.options`` precedence;
        default float64).

    Attributes
    ----------
    step : int
        Optimizer steps taken.
    model : torch.nn.Sequential
        The network being trained (its live weights; with ``method="normalize"`` each
        layer's ``weight`` is the normalized one).
    data : Task
        The tensors of the task the latest step trained on (:attr:`task` is the one the
        next step trains on).

    Examples
    --------
    >>> s = WeightSession(hidden=(16,), n=32, n_test=16, tasks=3, steps_per_task=10, reg=0.1, device="cpu")
    >>> h = s.run(30, chunk=10).history
    >>> dict(h.sizes)
    {'step': 31, 'layer': 2, 'mode': 16, 'task_end': 3}
    >>> h.singular_values.dims, h.n_values.values.tolist()
    (('step', 'layer', 'mode'), [16, 10])
    >>> bool((h.gram_bound >= h.spectral_norm).all() and (h.spectral_norm >= h.power_estimate).all())
    True
    >>> bool((h.max_input_gradient <= h.lipschitz_bound).all())
    True
    >>> s.reg = 0.0  # the slider: no penalty from the next step on
    >>> s.run(2).history.reg.values[-3:].tolist()
    [0.1, 0.0, 0.0]
    """

    def __init__(
        self,
        *,
        task: str = "labels",
        tasks: int | None = 1,
        steps_per_task: int = 200,
        n: int = 128,
        n_test: int = 128,
        classes: int = 10,
        architecture: str = "mlp",
        input_shape=None,
        hidden=None,
        activation: str = "relu",
        data_seed: int = 0,
        method: str = "spectral",
        reg: float = 0.0,
        target: float = 1.0,
        power: int = 1,
        optimizer: str = "adam",
        lr: float = 1e-2,
        batch_size: int | None = None,
        seed: int = 0,
        record_every: int = 1,
        spectrum_every: int | None = None,
        power_iters: int = 1,
        gram_iters: int = 3,
        device=None,
        dtype=None,
    ):
        self.task_kind = _choice(task, "task", TASKS)
        self.tasks = None if tasks is None else check_int(tasks, "tasks", 1)
        self.steps_per_task = check_int(steps_per_task, "steps_per_task", 1)
        self.n = check_int(n, "n", 2)
        self.n_test = check_int(n_test, "n_test", 1)
        self.classes = check_int(classes, "classes", 2)
        self.architecture = _choice(architecture, "architecture", ARCHITECTURES)
        shape = _DEFAULT_INPUT[self.architecture] if input_shape is None else _ints(input_shape, "input_shape", 1)
        want = 1 if self.architecture == "mlp" else 3
        if len(shape) != want:
            raise ValueError(
                f"input_shape must be {'(d,)' if want == 1 else '(C, H, W)'} for architecture="
                f"{self.architecture!r}; got {input_shape!r}."
            )
        if self.architecture == "conv" and min(shape[1:]) < _KERNEL:
            raise ValueError(f"input_shape={shape}: the images must be at least {_KERNEL} x {_KERNEL} "
                             "pixels (the conv kernels' size).")
        self.input_shape = shape
        hid = _DEFAULT_HIDDEN[self.architecture] if hidden is None else _ints(hidden, "hidden", 1)
        if self.architecture == "conv" and not hid:
            raise ValueError("hidden must name at least one conv layer's channels for architecture='conv'.")
        self.hidden = hid
        self.activation = _choice(activation, "activation", ACTIVATIONS)
        self.data_seed = check_int(data_seed, "data_seed", 0)
        self.method = _choice(method, "method", METHODS)
        self._reg = check_real(reg, "reg")
        self._target = check_real(target, "target", strict=True)
        self.power = check_int(power, "power", 1)
        self.optimizer_name = _choice(optimizer, "optimizer", OPTIMIZERS)
        self._lr = check_real(lr, "lr", strict=True)
        if batch_size is not None:
            batch_size = check_int(batch_size, "batch_size", 1)
            if batch_size > self.n:
                raise ValueError(f"batch_size must be <= n, the training samples ({self.n}); got {batch_size}.")
        self.batch_size = batch_size
        self.seed = check_int(seed, "seed", 0)
        self.record_every = check_int(record_every, "record_every", 1)
        every = self.record_every if spectrum_every is None else check_int(spectrum_every, "spectrum_every", 1)
        if every % self.record_every:
            raise ValueError(f"spectrum_every must be a multiple of record_every ({self.record_every}); got {every}.")
        self.spectrum_every = every
        self.power_iters = check_int(power_iters, "power_iters", 1)
        self.gram_iters = check_int(gram_iters, "gram_iters", 0)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self._options = dict(
            task=self.task_kind, tasks=self.tasks, steps_per_task=self.steps_per_task, n=self.n,
            n_test=self.n_test, classes=self.classes, architecture=self.architecture,
            input_shape=self.input_shape, hidden=self.hidden, activation=self.activation,
            data_seed=self.data_seed, method=self.method, power=self.power, optimizer=self.optimizer_name,
            batch_size=self.batch_size, seed=self.seed, record_every=self.record_every,
            spectrum_every=spectrum_every,  # as given: None follows a replaced record_every
            power_iters=self.power_iters, gram_iters=self.gram_iters, device=self.device, dtype=self.dtype,
        )
        self.reset()

    # ------------------------------------------------------------------ construction

    @property
    def grid(self) -> tuple[int, int] | None:
        """The conv layers' input grid ``(H, W)`` (None for the MLP)."""
        return tuple(self.input_shape[1:]) if self.architecture == "conv" else None

    def _build_model(self) -> nn.Sequential:
        gen = torch.Generator().manual_seed(self.seed)
        act = ACTIVATIONS[self.activation]
        kw = dict(device=self.device, dtype=self.dtype)
        layers: list[nn.Module] = []
        if self.architecture == "mlp":
            widths = (self.input_shape[0],) + self.hidden + (self.classes,)
            for i in range(len(widths) - 1):
                layers.append(nn.Linear(widths[i], widths[i + 1], **kw))
                if i < len(widths) - 2:
                    layers.append(act())
        else:
            chans = (self.input_shape[0],) + self.hidden
            for i in range(len(chans) - 1):
                layers += [nn.Conv2d(chans[i], chans[i + 1], _KERNEL, padding="same", padding_mode="circular", **kw),
                           act()]
            layers += [nn.Flatten(), nn.Linear(chans[-1] * math.prod(self.grid), self.classes, **kw)]
        model = nn.Sequential(*layers)
        for module in model:
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                bound = 1.0 / math.sqrt(module.weight[0].numel())  # 1/sqrt(fan_in)
                _uniform_(module.weight, bound, gen)
                _uniform_(module.bias, bound, gen)
        self._batch_gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        self._layers = [(name, m, self.grid if isinstance(m, nn.Conv2d) else None)
                        for name, m in model.named_children() if isinstance(m, (nn.Linear, nn.Conv2d))]
        if self.method == "normalize":
            for _name, m, grid in self._layers:
                parametrize.register_parametrization(m, "weight", _Normalized(self._target, grid))
        return model

    def reset(self) -> "WeightSession":
        """Back to step 0: the initial weights, optimizer state, batches, power-iteration
        vectors and an empty history, with the current options (a changed :attr:`lr`,
        :attr:`reg` or :attr:`target` is kept)."""
        self.model = self._build_model()
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        # for _threads: the multiply-adds of the largest single op of a step (a layer on
        # the batch; a conv kernel acts at every pixel). Threads split each op, not the
        # step, so a step of many ops this small gains nothing from them: on a busy 2-core
        # machine the default conv net took 34 ms a step with 2 threads and 3 ms with 1
        batch = self.n if self.batch_size is None else self.batch_size
        self._work = batch * max(_raw_weight(m).numel() * (1 if grid is None else math.prod(grid))
                                 for _name, m, grid in self._layers)
        if self.optimizer_name == "adam":
            self._opt = torch.optim.Adam(self._params, lr=self._lr)
        else:
            self._opt = torch.optim.SGD(self._params, lr=self._lr)
        self.step = 0
        self._task_index = -1
        self._load_task(0)
        self._power_vectors: list[torch.Tensor | None] = [None] * len(self._layers)
        self._records: dict[str, list] = {}
        self._ends: dict[str, list] = {}
        with self._threads():
            self._record()
        return self

    def replace(self, **changes) -> "WeightSession":
        """A new session with some options changed, at step 0.

        Any keyword of the constructor; ``lr``, ``reg`` and ``target`` default to their
        current values. The session itself is not changed.

        Examples
        --------
        >>> s = WeightSession(hidden=(8,), n=16, n_test=8, reg=0.5, device="cpu")
        >>> t = s.replace(method="normalize", target=2.0)
        >>> t.method, t.reg, t.target, t.step
        ('normalize', 0.5, 2.0, 0)
        """
        known = set(self._options) | {"lr", "reg", "target"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"replace() got unknown options {unknown}; it takes {sorted(known)}.")
        options = dict(self._options, lr=self._lr, reg=self._reg, target=self._target)
        for key, default in (("input_shape", "architecture"), ("hidden", "architecture")):
            if default in changes and key not in changes:  # the other architecture's defaults
                options[key] = None
        options.update(changes)
        return WeightSession(**options)

    # ------------------------------------------------------------------ settable

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
    def reg(self) -> float:
        """The regularization strength (the penalty's weight); setting it applies from the
        next step (and is recorded). No effect with ``method="normalize"`` or ``"none"``."""
        return self._reg

    @reg.setter
    def reg(self, value):
        self._reg = check_real(value, "reg")

    @property
    def target(self) -> float:
        """The target spectral norm (singular value for ``"orthogonal"``); setting it
        applies from the next step (and is recorded)."""
        return self._target

    @target.setter
    def target(self, value):
        self._target = check_real(value, "target", strict=True)
        if self.method == "normalize":
            for _name, m, _grid in self._layers:
                m.parametrizations.weight[0].target = self._target

    # ------------------------------------------------------------------ tasks

    @property
    def total_steps(self) -> int | None:
        """``tasks * steps_per_task``, the steps of the whole sequence (None: endless)."""
        return None if self.tasks is None else self.tasks * self.steps_per_task

    @property
    def task(self) -> int:
        """The task the next step trains on (the last one once the sequence is over)."""
        return self.task_of(self.step + 1)

    def task_of(self, step: int) -> int:
        """The task step ``step`` trained on (step 0, the initial state: task 0)."""
        k = max(0, (check_int(step, "step", 0) - 1) // self.steps_per_task)
        return k if self.tasks is None else min(k, self.tasks - 1)

    def _load_task(self, index: int) -> None:
        if index != self._task_index:
            self.data = make_task(self.task_kind, index, n=self.n, n_test=self.n_test,
                                  input_shape=self.input_shape, classes=self.classes, seed=self.data_seed,
                                  device=self.device, dtype=self.dtype)
            self._task_index = index

    # ------------------------------------------------------------------ losses

    def penalty(self) -> torch.Tensor:
        """The method's penalty on the current weights, unweighted, as a differentiable
        scalar: ``sum_l (sigma_max(W_l)**power - target**power)**2`` (spectral),
        ``sum_l ||W_l^T W_l - target**2 I||_F^2`` (orthogonal), 0 otherwise."""
        zero = torch.zeros((), device=self.device, dtype=self.dtype)
        if self.method not in ("spectral", "orthogonal"):
            return zero
        t = self._target
        terms = []
        for _name, m, grid in self._layers:
            w = m.weight
            if self.method == "spectral":
                top = torch.linalg.svdvals(w)[0] if grid is None else cw.conv_operator_norm(w, grid)
                terms.append((top**self.power - t**self.power) ** 2)
            else:
                terms.append(t**4 * cw.orthogonality_penalty(w / t, grid))
        return torch.stack(terms).sum()

    def _threads(self):
        """One torch thread while a step is small (on the CPU): many tiny ops, where several
        OpenMP threads only wait for each other (:mod:`spectrakit.core.threads`)."""
        return single_thread_if_small(self._work, self.device)

    def _update(self) -> None:
        self._load_task(self.task_of(self.step + 1))
        x, y = self.data.x, self.data.y
        if self.batch_size is not None and self.batch_size < self.n:
            idx = torch.randperm(self.n, generator=self._batch_gen)[: self.batch_size].to(self.device)
            x, y = x[idx], y[idx]
        loss = F.cross_entropy(self.model(x), y)
        if self._reg > 0 and self.method in ("spectral", "orthogonal"):
            loss = loss + self._reg * self.penalty()
        if not bool(torch.isfinite(loss)):
            raise FloatingPointError(
                f"training diverged: the objective is {float(loss.detach())} at step {self.step + 1}; lower lr "
                f"(now {self._lr:g}) or reg (now {self._reg:g})."
            )
        self._opt.zero_grad(set_to_none=True)
        loss.backward()
        self._opt.step()
        self.step += 1

    def _advance(self, steps: int) -> None:
        for _ in range(steps):
            self._update()
            if self.step % self.steps_per_task == 0 and (
                    self.tasks is None or self.step // self.steps_per_task <= self.tasks):
                self._record_end()
            if self.step % self.record_every == 0:
                self._record()

    # ------------------------------------------------------------------ measurements

    def _evaluate(self) -> dict[str, float]:
        """Losses, accuracies and the dead-unit share on the current task (no gradient)."""
        d = self.data
        with torch.no_grad(), parametrize.cached():
            h, dead, units = d.x, 0, 0
            for module in self.model:
                h = module(h)
                if isinstance(module, nn.ReLU):
                    dead += int((h.reshape(h.shape[0], -1) <= 0).all(dim=0).sum())
                    units += h[0].numel()
            logits, test_logits = h, self.model(d.x_test)
            out = {
                "loss": float(F.cross_entropy(logits, d.y)),
                "accuracy": float((logits.argmax(1) == d.y).double().mean()),
                "test_loss": float(F.cross_entropy(test_logits, d.y_test)),
                "test_accuracy": float((test_logits.argmax(1) == d.y_test).double().mean()),
                "dead_fraction": dead / units if units else math.nan,
            }
        if not math.isfinite(out["loss"]):
            raise FloatingPointError(f"training diverged: the loss is {out['loss']} at step {self.step}; "
                                     f"lower lr (now {self._lr:g}).")
        return out

    def _spectra(self) -> dict[str, object]:
        """Every layer's singular values, exact norm, power estimate and Gram bound, and the
        network's Lipschitz bound and largest input gradient."""
        with parametrize.cached():
            spectra = cw.layer_spectra(self.model, self.grid)
            power, gram = [], []
            with torch.no_grad():
                for i, (_name, m, grid) in enumerate(self._layers):
                    w = m.weight.detach()
                    v0, seed = self._power_vectors[i], self.seed + i
                    if grid is None:
                        est = cw.power_iteration(w, max_iter=self.power_iters, tol=0, seed=seed, v0=v0)
                    else:
                        est = cw.conv_power_iteration(w, grid, max_iter=self.power_iters, tol=0, seed=seed, v0=v0)
                    self._power_vectors[i] = est.vector
                    power.append(float(est.sigma))
                    gram.append(float(cw.gram_iteration_norm(w, grid, n_iter=self.gram_iters)))
            grad = float(cw.max_input_gradient_norm(self.model, self.data.x))
        values = [s.singular_values.cpu().numpy().astype(np.float64) for s in spectra]
        norms = np.array([v[0] for v in values])
        return {"values": values, "spectral_norm": norms, "power_estimate": np.array(power),
                "gram_bound": np.array(gram), "lipschitz_bound": float(np.prod(norms)),
                "max_input_gradient": grad}

    def _checked_spectra(self) -> dict[str, object]:
        diverged = (f"training diverged: the weights' spectra are not finite at step {self.step}; lower lr "
                    f"(now {self._lr:g}).")
        try:
            out = self._spectra()
        except ValueError as err:  # a weight (or the power iteration on it) overflowed
            raise FloatingPointError(f"{diverged} ({err})") from err
        if not (math.isfinite(out["lipschitz_bound"]) and np.isfinite(out["gram_bound"]).all()
                and math.isfinite(out["max_input_gradient"])):
            raise FloatingPointError(diverged)
        return out

    def _record(self) -> None:
        self._load_task(self.task_of(self.step))
        row = {"step": self.step, "task": self.task_of(self.step), **self._evaluate(),
               "penalty": self._penalty_value(), "lr": self._lr, "reg": self._reg, "target": self._target}
        row["spectra"] = self._checked_spectra() if self.step % self.spectrum_every == 0 else None
        for key, value in row.items():
            self._records.setdefault(key, []).append(value)

    def _penalty_value(self) -> float:
        with torch.no_grad(), parametrize.cached():
            return float(self.penalty())

    def _record_end(self) -> None:
        row = {"end_step": self.step, "task_end": self.task_of(self.step), **self._evaluate()}
        with torch.no_grad(), parametrize.cached():
            norms = [float(torch.linalg.svdvals(m.weight)[0]) if grid is None
                     else float(cw.conv_operator_norm(m.weight, grid)) for _name, m, grid in self._layers]
        row["spectral_norm"] = np.array(norms)
        for key, value in row.items():
            self._ends.setdefault(key, []).append(value)

    # ------------------------------------------------------------------ results

    def _layer_coords(self) -> dict:
        names, kinds, shapes, counts = [], [], [], []
        for name, m, grid in self._layers:
            w = _raw_weight(m)  # the shape only: no need to normalize
            names.append(name)
            kinds.append("conv2d" if grid is not None else "linear")
            shapes.append("x".join(str(s) for s in w.shape))
            counts.append(min(w.shape[:2]) * (1 if grid is None else math.prod(grid)))
        return {"layer": np.arange(len(names)),
                "module": ("layer", np.array(names), {"long_name": "module name in the model"}),
                "kind": ("layer", np.array(kinds)),
                "weight_shape": ("layer", np.array(shapes)),
                "n_values": ("layer", np.array(counts, dtype=np.int64),
                             {"long_name": "singular values of the layer's operator"})}

    @property
    def history(self) -> xr.Dataset:
        """The recorded history (see the module docstring): over ``step`` the losses,
        accuracies, ``penalty``, ``dead_fraction``, ``lr``, ``reg``, ``target``,
        ``lipschitz_bound`` and ``max_input_gradient``, with the coordinate ``task``; over
        (step, layer) ``spectral_norm``, ``power_estimate``, ``gram_bound``; over (step,
        layer, mode) ``singular_values``; over ``task_end`` (and layer) the end-of-task
        values ``end_*``. attrs hold the options (``tasks=-1``: an endless sequence)."""
        rec = self._records
        coords = self._layer_coords()
        n_layers, n_modes = len(self._layers), int(coords["n_values"][1].max())
        steps = len(rec["step"])
        sv = np.full((steps, n_layers, n_modes), np.nan)
        per_layer = {k: np.full((steps, n_layers), np.nan) for k in ("spectral_norm", "power_estimate", "gram_bound")}
        lip, grad = np.full(steps, np.nan), np.full(steps, np.nan)
        for i, spectra in enumerate(rec["spectra"]):
            if spectra is None:  # not a spectrum step
                continue
            for j, v in enumerate(spectra["values"]):
                sv[i, j, : v.size] = v
            for k in per_layer:
                per_layer[k][i] = spectra[k]
            lip[i], grad[i] = spectra["lipschitz_bound"], spectra["max_input_gradient"]

        def series(key):
            return np.asarray(rec[key], dtype=np.float64)

        step_dim, layer_dims = ("step",), ("step", "layer")
        data = {
            "loss": (step_dim, series("loss"), {"long_name": "training loss",
                                                "description": "cross-entropy on the current task's training set"}),
            "test_loss": (step_dim, series("test_loss"), {"long_name": "test loss",
                                                          "description": "cross-entropy on its held-out set"}),
            "accuracy": (step_dim, series("accuracy"), {"long_name": "training accuracy"}),
            "test_accuracy": (step_dim, series("test_accuracy"), {"long_name": "test accuracy"}),
            "penalty": (step_dim, series("penalty"), {"long_name": "penalty (unweighted)",
                                                      "description": "objective = loss + reg * penalty"}),
            "dead_fraction": (step_dim, series("dead_fraction"),
                              {"long_name": "dead ReLU units",
                               "description": "share of hidden units that are 0 on every training input"}),
            "singular_values": (("step", "layer", "mode"), sv,
                                {"long_name": "singular values",
                                 "description": "of each layer's operator, descending; NaN-padded past n_values"}),
            "spectral_norm": (layer_dims, per_layer["spectral_norm"], {"long_name": "spectral norm (exact)"}),
            "power_estimate": (layer_dims, per_layer["power_estimate"],
                               {"long_name": "power-iteration estimate", "iterations": self.power_iters,
                                "description": "persistent across spectrum steps; a lower bound"}),
            "gram_bound": (layer_dims, per_layer["gram_bound"],
                           {"long_name": "Gram-iteration bound", "iterations": self.gram_iters,
                            "description": "an upper bound on the spectral norm"}),
            "lipschitz_bound": (step_dim, lip, {"long_name": "Lipschitz bound",
                                                "description": "product of the layers' spectral norms"}),
            "max_input_gradient": (step_dim, grad,
                                   {"long_name": "largest input-Jacobian norm",
                                    "description": "max over the training inputs of ||df/dx||_2; "
                                                   "a lower bound on the Lipschitz constant"}),
            "lr": (step_dim, series("lr"), {"long_name": "learning rate"}),
            "reg": (step_dim, series("reg"), {"long_name": "regularization strength"}),
            "target": (step_dim, series("target"), {"long_name": "target spectral norm"}),
        }
        ends = self._ends
        n_ends = len(ends.get("end_step", []))
        end_dim = ("task_end",)

        def end(key):
            return np.asarray(ends.get(key, []), dtype=np.float64)

        data.update({
            "end_step": (end_dim, np.asarray(ends.get("end_step", []), dtype=np.int64),
                         {"long_name": "last step of the task"}),
            "end_loss": (end_dim, end("loss"), {"long_name": "end-of-task training loss"}),
            "end_accuracy": (end_dim, end("accuracy"), {"long_name": "end-of-task training accuracy"}),
            "end_test_loss": (end_dim, end("test_loss"), {"long_name": "end-of-task test loss"}),
            "end_test_accuracy": (end_dim, end("test_accuracy"), {"long_name": "end-of-task test accuracy"}),
            "end_dead_fraction": (end_dim, end("dead_fraction"), {"long_name": "end-of-task dead ReLU units"}),
            "end_spectral_norm": (("task_end", "layer"),
                                  np.stack(ends["spectral_norm"]) if n_ends else np.zeros((0, n_layers)),
                                  {"long_name": "end-of-task spectral norm (exact)"}),
        })
        coords.update({
            "step": np.asarray(rec["step"], dtype=np.int64),
            "task": ("step", np.asarray(rec["task"], dtype=np.int64), {"long_name": "task trained on"}),
            "mode": ("mode", np.arange(n_modes), {"long_name": "singular value index, 0 = the largest"}),
            "task_end": ("task_end", np.asarray(ends.get("task_end", []), dtype=np.int64),
                         {"long_name": "task (at its end)"}),
        })
        attrs = {
            "method": self.method, "power": self.power, "task_kind": self.task_kind,
            "tasks": -1 if self.tasks is None else self.tasks, "steps_per_task": self.steps_per_task,
            "architecture": self.architecture, "input_shape": list(self.input_shape), "hidden": list(self.hidden),
            "activation": self.activation, "classes": self.classes, "n_train": self.n, "n_test": self.n_test,
            "optimizer": self.optimizer_name, "batch_size": self.n if self.batch_size is None else self.batch_size,
            "seed": self.seed, "data_seed": self.data_seed, "record_every": self.record_every,
            "spectrum_every": self.spectrum_every, "power_iters": self.power_iters, "gram_iters": self.gram_iters,
            "device": str(self.device), "dtype": dtype_name(self.dtype),
        }
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def spectra(self) -> xr.Dataset:
        """The current singular values ``singular_values`` (layer, mode) and
        ``spectral_norm`` (layer), without recording; attrs hold the step."""
        with self._threads(), parametrize.cached():
            spectra = cw.layer_spectra(self.model, self.grid)
        coords = self._layer_coords()
        n_modes = int(coords["n_values"][1].max())
        sv = np.full((len(spectra), n_modes), np.nan)
        for j, s in enumerate(spectra):
            v = s.singular_values.cpu().numpy().astype(np.float64)
            sv[j, : v.size] = v
        coords["mode"] = np.arange(n_modes)
        return xr.Dataset({"singular_values": (("layer", "mode"), sv), "spectral_norm": ("layer", sv[:, 0])},
                          coords=coords, attrs={"step": self.step, "method": self.method})

    def state_dict(self) -> dict:
        """Model, optimizer, minibatch-stream and power-vector state (copies)."""
        return {"model": copy.deepcopy(self.model.state_dict()), "optimizer": copy.deepcopy(self._opt.state_dict()),
                "step": self.step, "batch_generator": self._batch_gen.get_state(),
                "power_vectors": [None if v is None else v.clone() for v in self._power_vectors]}

    def __repr__(self) -> str:
        tasks = "endless" if self.tasks is None else self.tasks
        return (f"WeightSession({self.architecture}, task={self.task_kind!r}, tasks={tasks}, method={self.method!r}, "
                f"reg={self._reg:g}, target={self._target:g}, optimizer={self.optimizer_name!r}, lr={self._lr:g}, "
                f"step={self.step}, device={self.device}, dtype={str(self.dtype).replace('torch.', '')})")
