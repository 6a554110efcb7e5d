"""``WeightExplorer``: train a small network under a weight-spectrum regularizer live and
watch every layer's singular values, their cheap estimates and the losses, on one task or
a sequence of tasks (continual learning, where plasticity is won or lost).

Four plotly ``FigureWidget``s over one :class:`~spectrakit.tuning.WeightSession`, filled
in chunk by chunk as training runs:

* **histogram** -- the singular values of every layer at the latest spectrum step, one
  bar trace per layer over shared bins, with the target drawn as a dashed line;
* **norms** -- each layer's spectral norm over training (exact, solid) between its
  power-iteration estimate (dotted, a lower bound) and its Gram-iteration bound (dashed,
  an upper bound), with the target in force;
* **lipschitz** -- the Lipschitz bound (the product of the layer norms) against the
  steepest input gradient found (a lower bound on the Lipschitz constant), log scale;
* **loss** -- training and test loss, the loss at the end of every task (markers) and
  ``reg`` in force (right-hand axis); task boundaries as dotted vertical lines.

The ``reg`` slider (log scale, with an *off* box for ``reg = 0``) and the ``target``
slider act on the running session from the next step on; the method, the architecture,
the number of tasks and the steps per task build a new session. Start, Pause, Reset, the
learning-rate slider and the streaming without blocking the kernel come from
:class:`~spectrakit.widgets._streaming.StreamingExplorer`.
"""

from __future__ import annotations

import math
import numbers

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from ..tuning.weights import ARCHITECTURES, METHODS, WeightSession
from ._controls import FigureBox, GridSlider, batch, format_value
from ._explorer import MARGIN, figure_widget, positive
from ._streaming import StreamingExplorer, check_int

__all__ = ["WeightExplorer"]

_LIVE = ("reg", "target")
#: methods whose objective uses ``reg`` (with the others it is recorded but has no effect)
_REG_METHODS = ("spectral", "orthogonal")
_LAYER_COLORS = qualitative.D3
_COLORS = {"loss": "#222222", "test_loss": "#ff7f0e", "end_loss": "#d62728", "reg": "#9467bd",
           "target": "#888888", "bound": "#d62728", "gradient": "#1f77b4"}
#: the histogram's upper edge is the next of these (times a power of 10) above the largest value
_NICE = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
_MAX_BOUNDARIES = 100  # task-boundary lines drawn at most (steps_per_task tiny: none)


def _nice_ceil(x: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten that is >= x."""
    if not (math.isfinite(x) and x > 0):
        return 1.0
    e = 10.0 ** math.floor(math.log10(x))
    for m in _NICE:
        if m * e >= x:
            return m * e
    return x


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _reg_text(reg: float) -> str:
    return "reg = 0 (off)" if reg == 0 else format_value("reg", reg)


class WeightExplorer(StreamingExplorer):
    """Train a :class:`~spectrakit.tuning.WeightSession` live, with every layer's singular
    values, spectral norm, its estimates, the Lipschitz bound and the losses drawn as it
    runs, and sliders for the regularization strength ``reg`` and the ``target``.

    Parameters
    ----------
    session : WeightSession
        The session to drive. The explorer trains it (``session.run``), sets its ``lr``,
        ``reg`` and ``target`` from the sliders, and replaces it (``session.replace``) when
        the method, the architecture, the tasks or the steps per task change:
        :attr:`session` is always the current one.
    chunk : int
        Steps per chunk: the figures and the status line are updated after each chunk, and
        between chunks the kernel handles clicks, slider moves and other cells.
    max_steps : int, optional
        Training stops at this step (Start, and :meth:`run`); the step axes span
        ``[0, max_steps]``. Default: the session's whole task sequence,
        ``tasks * steps_per_task`` (2000 for an endless one), following it when a control
        rebuilds the session. Pass a number to train on past the last task.
    interval_s : float
        Seconds the training task sleeps between chunks (0 still yields once to the loop).
    throttle_s : float
        While a slider is dragged, at most one change per ``throttle_s`` seconds is applied;
        the last value always is.
    lr_range : (float, float), optional
        The learning-rate slider's range (default ``1e-5`` to ``1``, widened by a decade
        around the session's ``lr`` when it lies outside).
    reg_range : (float, float)
        The ``reg`` slider's range, ``0 < lo < hi`` (log scale, 0.05 decades a step).
        ``reg = 0`` is the *off* box.
    target_range : (float, float)
        The ``target`` slider's range, ``0 < lo < hi`` (log scale).
    n_bins : int
        Bins of the singular-value histogram: equal widths from 0 to a round number just
        above the largest singular value (or the target, if larger).

    Notes
    -----
    **reg.** A slider over ``log10 reg`` from ``reg_range[0]`` to ``reg_range[1]`` (default
    ``1e-4`` to ``10``), and beside it an *off* box: checked, ``reg = 0`` (no penalty;
    exactly the steps of plain training); unchecked, the slider's value again. Moving the
    slider while *off* is checked turns the penalty back on at the slider's value. Like the
    learning rate, ``reg`` applies to the running session at once (``session.reg = ...``,
    from the next step on, paused or running), is recorded (``reg`` in the history, drawn
    on the loss figure's right-hand axis) and does not restart training. A value outside
    the slider's range set from Python (:meth:`set`) is applied exactly and shown in the
    readout while the slider rests at its end. ``reg`` weighs the penalty of the
    ``spectral`` and ``orthogonal`` methods; with ``normalize`` and ``none`` it has no
    effect (the controls are greyed out; :meth:`set` still records it). The *method*
    dropdown's ``none`` is the other way to train without a penalty.

    **target.** The spectral norm aimed at (``spectral``, ``normalize``: with
    ``normalize`` every layer's norm *is* ``target`` from the next step on) or the
    singular value every one is pulled to (``orthogonal``); live like ``reg`` and drawn
    on the norms figure and as a line on the histogram. Unused (greyed out) by ``none``.

    **Rebuilding controls.** The method (``spectral``, ``orthogonal``, ``normalize``,
    ``none``), the architecture (``mlp``, ``conv``), the number of tasks (0: an endless
    sequence) and the steps per task build a new session with ``session.replace(...)``:
    training restarts from step 0 (keeping the running or paused state) with the ``lr``,
    ``reg`` and ``target`` in force. Switching the architecture back restores the input
    shape and widths that architecture last had. A change that also moves ``reg`` or
    ``target`` (one :meth:`set` call) builds the new session with them.

    **Controls.** *Start* launches training on the running asyncio loop (a Jupyter kernel
    has one; without one :meth:`start` raises and points to :meth:`run`); *Pause* stops
    after the current chunk; *Reset* pauses and returns the session to step 0 (with the
    ``lr``, ``reg`` and ``target`` in force). Pausing and resuming never changes the
    numbers.

    **Errors.** A value the session rejects (a negative ``reg``, ``target = 0``, an
    unknown method, ``tasks = -1``) shows in the status line in red, the controls go back
    to the values applied, and the explorer keeps working. An exception while training
    shows there too and stops the training task.

    Attributes
    ----------
    session : WeightSession
    figures : dict of go.FigureWidget
        "histogram", "norms", "lipschitz", "loss". Their traces by key (:meth:`trace`):
        histogram: ``"layer0"``, ``"layer1"``, ... (bars: ``x`` the bin centres, ``y`` the
        counts, see :meth:`histogram`) and "target" (a vertical line); norms: per layer
        ``"exact<l>"``, ``"power<l>"``, ``"gram<l>"`` (the spectrum steps) and "target"
        (the target in force over step); lipschitz: "bound", "gradient"; loss: "loss",
        "test_loss", "end_loss" (markers at each task's last step) and "reg" (right-hand
        axis). With several tasks the step figures carry one dotted vertical line (a
        layout shape) per task boundary (:attr:`task_boundaries`).
    controls : dict of widgets
        "start", "pause", "reset" (buttons), "lr", "lr_readout", "reg", "reg_readout",
        "reg_off" (Checkbox), "target", "target_readout" (the three sliders even in log10 of
        the value, see :attr:`sliders`), "method",
        "architecture" (Dropdown), "tasks", "steps_per_task" (IntText).
    status : ipywidgets.HTML
        Step, task, loss, reg, target, Lipschitz bound, method, lr, running or paused;
        errors in red.
    widget : ipywidgets.VBox
        The assembled explorer (about 1000 px wide).
    n_updates : int
        Figure updates so far (each chunk, each control change, each reset).
    task_error : BaseException or None
        The exception that stopped the last training task, if any.

    Examples
    --------
    >>> from spectrakit.tuning import WeightSession
    >>> from spectrakit.widgets import WeightExplorer
    >>> s = WeightSession(hidden=(16,), n=32, n_test=16, tasks=3, steps_per_task=10, reg=0.1, device="cpu")
    >>> explorer = WeightExplorer(s, chunk=5)
    >>> explorer.max_steps, explorer.task_boundaries   # the whole sequence; lines between tasks
    (30, [10, 20])
    >>> explorer.run(20)
    >>> explorer.session.step
    20
    >>> explorer.set(reg=0.0); explorer.flush()   # the "off" box: no penalty from step 20 on
    >>> explorer.run(2)
    >>> explorer.controls["reg_off"].value, explorer.session.history.reg.values[-3:].tolist()
    (True, [0.1, 0.0, 0.0])
    >>> step, edges, counts = explorer.histogram()
    >>> step, counts.sum(axis=1).tolist()   # every singular value of each layer lies in a bin
    (22, [16, 10])
    """

    session_type = WeightSession
    rebuild_keys = ("method", "architecture", "tasks", "steps_per_task")

    def __init__(self, session, *, chunk: int = 10, max_steps: int | None = None, interval_s: float = 0.02,
                 throttle_s: float = 0.05, lr_range=None, reg_range=(1e-4, 10.0), target_range=(0.1, 10.0),
                 n_bins: int = 30):
        self.n_bins = check_int(n_bins, "n_bins", 1)
        self._reg_lo, self._reg_hi = self._check_range(reg_range, "reg_range")
        self._target_lo, self._target_hi = self._check_range(target_range, "target_range")
        self._auto_max = max_steps is None
        if max_steps is None:
            max_steps = self._auto_steps(session) if isinstance(session, WeightSession) else 2000
        self._layer_key: tuple = ()
        self._boundary_key: tuple | None = None
        self._boundaries: list[int] = []
        self._edges = np.linspace(0.0, 1.0, self.n_bins + 1)
        self._hist_step = 0
        if isinstance(session, WeightSession):
            self._shapes = {session.architecture: (session.input_shape, session.hidden)}
        super().__init__(session, chunk=chunk, max_steps=max_steps, interval_s=interval_s,
                         throttle_s=throttle_s, lr_range=lr_range)

    @staticmethod
    def _check_range(pair, name) -> tuple[float, float]:
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be (lo, hi) with 0 < lo < hi; got {pair!r}.") from None
        if not (0 < lo < hi and math.isfinite(hi)):
            raise ValueError(f"{name} must be (lo, hi) with 0 < lo < hi (a log-scale slider); got {pair!r}.")
        return lo, hi

    @staticmethod
    def _auto_steps(session) -> int:
        total = session.total_steps
        return 2000 if total is None else int(total)

    # ------------------------------------------------------------------ public API

    @property
    def reg(self) -> float:
        """The regularization strength applied (the session's; 0 when *off*)."""
        return float(self.session.reg)

    @property
    def target(self) -> float:
        """The target applied (the session's)."""
        return float(self.session.target)

    @property
    def task_boundaries(self) -> list[int]:
        """The steps at which a new task starts (the dotted lines), up to ``max_steps``."""
        return list(self._boundaries)

    def histogram(self):
        """What the histogram shows: ``(step, edges, counts)``: the spectrum step drawn,
        the bin edges ``(n_bins + 1,)`` and the counts ``(layer, n_bins)`` read back from
        the bars (``counts[l] == np.histogram(singular values of layer l, edges)[0]``)."""
        layers = len(self._layer_key)
        counts = np.stack([np.asarray(self._traces["histogram"][f"layer{j}"].y, dtype=float) for j in range(layers)])
        return self._hist_step, self._edges.copy(), counts.astype(np.int64)

    def set(self, *, lr=None, reg=None, target=None, **options) -> None:
        """Change controls as a user would: ``lr``, ``reg`` (0: the *off* box), ``target``,
        and the rebuilding ``method``, ``architecture``, ``tasks`` (0: endless),
        ``steps_per_task``. The changes go through the same coalescing (call :meth:`flush`
        to apply one still pending). A value the session rejects shows in the status line
        (and :attr:`error`); an ``lr`` off the slider's range raises."""
        unknown = sorted(set(options) - set(self.rebuild_keys))
        if unknown:
            raise TypeError(f"set() got unknown controls {unknown}; it takes lr, reg, target and "
                            f"{list(self.rebuild_keys)}.")
        live = {k: v for k, v in (("reg", reg), ("target", target)) if v is not None}
        if live and any(v is not None for v in options.values()):
            # one change: the new session is built with these values (recorded from step 0)
            if lr is not None and not (self._lr_lo * (1 - 1e-12) <= float(lr) <= self._lr_hi * (1 + 1e-12)):
                super().set(lr=lr)  # raises, naming the slider's range
            self._coalescer.submit(**{k: v for k, v in options.items() if v is not None}, **live, source="set")
            super().set(lr=lr, **options)  # the controls follow (no second rebuild)
            return
        super().set(lr=lr, **options)
        if reg is not None:
            if _is_real(reg) and reg == 0 and not self.controls["reg_off"].value:
                self.controls["reg_off"].value = True  # as a user would: the box
            elif _is_real(reg) and self._reg_lo <= float(reg) <= self._reg_hi:
                self._reg_slider.set(float(reg))
            else:
                self._coalescer.submit(reg=reg, source="set")  # the session checks it; off-range: exact
        if target is not None:
            if _is_real(target) and self._target_lo <= float(target) <= self._target_hi:
                self._target_slider.set(float(target))
            else:
                self._coalescer.submit(target=target, source="set")

    # ------------------------------------------------------------------ controls

    def _build_option_controls(self) -> dict:
        s = self.session
        style, wide = {"description_width": "initial"}, widgets.Layout(width="180px")
        c = {
            "method": widgets.Dropdown(options=METHODS, value=self._options["method"], description="method",
                                       style=style, layout=widgets.Layout(width="180px")),
            "architecture": widgets.Dropdown(options=ARCHITECTURES, value=self._options["architecture"],
                                             description="architecture", style=style,
                                             layout=widgets.Layout(width="170px")),
            "tasks": widgets.IntText(value=self._options["tasks"], description="tasks (0 = endless)", style=style,
                                     layout=wide),
            "steps_per_task": widgets.IntText(value=self._options["steps_per_task"], description="steps per task",
                                              style=style, layout=widgets.Layout(width="170px")),
        }
        reg0 = float(s.reg) if s.reg > 0 else min(max(0.1, self._reg_lo), self._reg_hi)
        self._reg_slider = GridSlider(self._reg_lo, self._reg_hi, reg0, name="reg", step=0.05,
                                      css_class="sk-reg-slider", width="320px")
        self._reg_slider.on_change(self._guard(self._on_reg, "reg slider"))
        off = widgets.Checkbox(value=s.reg == 0, description="off (reg = 0)", indent=False,
                               layout=widgets.Layout(width="120px"))
        off.add_class("sk-reg-off")
        off.observe(self._guard(self._on_off, "reg off"), names="value")
        self._target_slider = GridSlider(self._target_lo, self._target_hi, float(s.target), name="target",
                                         step=0.02, css_class="sk-target-slider", width="300px")
        self._target_slider.on_change(self._guard(self._on_target, "target slider"))
        c.update({**self._add_slider("reg", self._reg_slider), "reg_off": off,
                  **self._add_slider("target", self._target_slider)})
        return c

    def _on_reg(self, value) -> None:
        self._coalescer.submit(reg=value, source="reg")

    def _on_off(self, change) -> None:
        self._coalescer.submit(reg=0.0 if change["new"] else self._reg_slider.value, source="reg_off")

    def _on_target(self, value) -> None:
        self._coalescer.submit(target=value, source="target")

    def _sync_controls(self, source) -> None:
        super()._sync_controls(source)
        s = self.session
        with self._quiet:
            if s.reg > 0:
                if source != "reg":  # while dragged the slider may be ahead of the value applied
                    self._reg_slider.show(float(s.reg))
                self.controls["reg_off"].value = False
            else:
                if source != "reg_off":
                    self.controls["reg_off"].value = True
                self._reg_slider.readout.value = _reg_text(0.0)
            if source != "target":
                self._target_slider.show(float(s.target))

    def _sync_option_controls(self) -> None:
        method = self._options["method"]
        c = self.controls
        c["reg"].disabled = c["reg_off"].disabled = method not in _REG_METHODS
        c["target"].disabled = method == "none"

    # ------------------------------------------------------------------ apply

    @staticmethod
    def _session_options(session) -> dict:
        return {"method": session.method, "architecture": session.architecture,
                "tasks": 0 if session.tasks is None else int(session.tasks),
                "steps_per_task": int(session.steps_per_task)}

    def _pop_live(self, changes: dict) -> dict:
        return {k: changes.pop(k) for k in _LIVE if k in changes}

    def _live_text(self, key: str) -> str:
        return _reg_text(self.session.reg) if key == "reg" else f"target = {self.session.target:.4g}"

    def _on_live(self) -> None:
        with batch(self.figures.values()):
            self._draw_live()
        self.n_updates += 1

    def _replace_kwargs(self, changed: dict) -> dict:
        kwargs: dict = {}
        if "method" in changed:
            kwargs["method"] = changed["method"]
        if "architecture" in changed:
            arch = changed["architecture"]
            kwargs["architecture"] = arch
            if isinstance(arch, str) and arch in self._shapes:  # the shapes it last had
                kwargs["input_shape"], kwargs["hidden"] = self._shapes[arch]
        if "tasks" in changed:
            tasks = changed["tasks"]
            if isinstance(tasks, numbers.Integral) and not isinstance(tasks, bool) and tasks <= 0:
                if tasks < 0:
                    raise ValueError(f"tasks must be >= 1, or 0 for an endless sequence; got {tasks}.")
                tasks = None
            kwargs["tasks"] = tasks
        if "steps_per_task" in changed:
            kwargs["steps_per_task"] = changed["steps_per_task"]
        return kwargs

    def _rebuild(self, changed: dict, lr) -> None:
        super()._rebuild(changed, lr)  # raises on a bad value: the old session stays
        s = self.session
        self._shapes[s.architecture] = (s.input_shape, s.hidden)

    def _redraw(self) -> None:
        if self._auto_max:  # the step axes follow the new session's task sequence
            self.max_steps = self._auto_steps(self.session)
        super()._redraw()

    # ------------------------------------------------------------------ status

    def _status_values(self) -> list[str]:
        h, s = self._hist, self.session
        k = int(h["task"].values[-1]) + 1
        parts = [f"task {k}/{s.tasks}" if s.tasks is not None else f"task {k}"]
        reg = _reg_text(float(s.reg))
        parts.append(reg if s.method in _REG_METHODS else f"{reg} (no effect)")
        if s.method != "none":
            parts.append(f"target = {s.target:.4g}")
        lip = h["lipschitz_bound"].values
        finite = lip[np.isfinite(lip)]
        parts.append(f"Lipschitz bound = {finite[-1]:.4g}" if finite.size else "Lipschitz bound = \u2013")
        parts.append(s.method)
        return parts

    # ------------------------------------------------------------------ figures

    def _build_figures(self):
        xrange = [0, self.max_steps]
        traces: dict[str, dict] = {"histogram": {}, "norms": {}, "lipschitz": {}, "loss": {}}
        hist = figure_widget(
            "histogram", "singular values per layer", barmode="overlay", bargap=0,
            xaxis=dict(title=dict(text="singular value \u03c3")), yaxis=dict(title=dict(text="count")),
            legend=dict(x=1.0, xanchor="right", y=1.0),
        )
        hist.add_trace(go.Scatter(name="target", mode="lines", hoverinfo="x",
                                  line=dict(color=_COLORS["target"], dash="dash", width=1.5)))
        traces["histogram"]["target"] = hist.data[-1]
        norms = figure_widget(
            "norms", "spectral norm: exact (solid), power iteration \u2264 (dotted), Gram bound \u2265 (dashed)",
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text="\u2016W\u2016\u2082"), exponentformat="power"),
            legend=dict(orientation="h", x=0.0, y=-0.2, yanchor="top"), margin=dict(MARGIN, b=75),
        )
        norms.add_trace(go.Scatter(name="target", mode="lines", line_shape="hv",
                                   line=dict(color=_COLORS["target"], dash="dashdot", width=1.5)))
        traces["norms"]["target"] = norms.data[-1]
        lip = figure_widget(
            "lipschitz", "Lipschitz bound against the steepest input gradient",
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text="Lipschitz constant"), exponentformat="power"),
            legend=dict(orientation="h", x=0.0, y=-0.2, yanchor="top"), margin=dict(MARGIN, b=75),
        )
        for key, label, line in (("bound", "bound: \u220f\u2097 \u2016W\u2097\u2016\u2082 (upper)", dict(width=2)),
                                 ("gradient", "max\u1d62 \u2016\u2202f/\u2202x(x\u1d62)\u2016 (lower)",
                                  dict(width=2, dash="dot"))):
            lip.add_trace(go.Scatter(name=label, mode="lines", line=dict(color=_COLORS[key], **line)))
            traces["lipschitz"][key] = lip.data[-1]
        loss = figure_widget(
            "loss", "loss, end of each task (markers) and reg",
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text="cross-entropy"), exponentformat="power"),
            yaxis2=dict(title=dict(text="reg", font=dict(color=_COLORS["reg"])), overlaying="y", side="right",
                        showgrid=False, rangemode="tozero", tickfont=dict(color=_COLORS["reg"])),
            legend=dict(orientation="h", x=0.0, y=-0.2, yanchor="top"), margin=dict(MARGIN, r=55, b=75),
        )
        for key, label, kw in (
            ("loss", "training loss", dict(mode="lines", line=dict(color=_COLORS["loss"], width=2))),
            ("test_loss", "test loss", dict(mode="lines", line=dict(color=_COLORS["test_loss"], width=1.5))),
            ("end_loss", "end of task", dict(mode="markers", marker=dict(color=_COLORS["end_loss"], size=9,
                                                                          symbol="diamond"),
                                             hovertemplate="step %{x}<br>loss %{y:.4g}<extra>end of task</extra>")),
            ("reg", "reg (right axis)", dict(mode="lines", yaxis="y2", line_shape="hv",
                                             line=dict(color=_COLORS["reg"], width=1.5))),
        ):
            loss.add_trace(go.Scatter(name=label, **kw))
            traces["loss"][key] = loss.data[-1]
        figures = {"histogram": hist, "norms": norms, "lipschitz": lip, "loss": loss}
        self._add_layer_traces(figures, traces, self.session.history)
        return figures, traces

    @staticmethod
    def _layer_labels(h) -> tuple[str, ...]:
        return tuple(f"layer {int(j)} ({kind} {shape})" for j, kind, shape in
                     zip(h["layer"].values, h["kind"].values, h["weight_shape"].values))

    def _add_layer_traces(self, figures, traces, h) -> None:
        """The per-layer traces (bars; exact, power, Gram lines) for the session's layers."""
        labels = self._layer_labels(h)
        for j, label in enumerate(labels):
            color = _LAYER_COLORS[j % len(_LAYER_COLORS)]
            figures["histogram"].add_trace(go.Bar(
                name=label, marker=dict(color=color, line=dict(width=0)), opacity=0.55,
                hovertemplate=f"{label}<br>\u03c3 \u2248 %{{x:.3g}}<br>%{{y}} values<extra></extra>",
            ))
            traces["histogram"][f"layer{j}"] = figures["histogram"].data[-1]
            for key, suffix, line in (("exact", "", dict(width=2)),
                                      ("power", ": power iteration", dict(width=1.2, dash="dot")),
                                      ("gram", ": Gram bound", dict(width=1.2, dash="dash"))):
                figures["norms"].add_trace(go.Scatter(name=label + suffix, mode="lines", legendgroup=label,
                                                      showlegend=key == "exact", line=dict(color=color, **line)))
                traces["norms"][f"{key}{j}"] = figures["norms"].data[-1]
        self._layer_key = labels

    def _check_layers(self, h) -> None:
        """After a rebuild with other layers: new per-layer traces (same figures)."""
        if self._layer_labels(h) == self._layer_key:
            return
        old = {id(t) for key, t in [*self._traces["histogram"].items(), *self._traces["norms"].items()]
               if key != "target"}
        for name in ("histogram", "norms"):
            fig = self.figures[name]
            fig.data = [t for t in fig.data if id(t) not in old]
            self._traces[name] = {"target": self._traces[name]["target"]}
        self._add_layer_traces(self.figures, self._traces, h)

    def _draw(self) -> None:
        """Draw the session's history into the figures, in place (arrays replaced inside
        ``batch_update``; the figures stay the same objects, and the traces too unless a
        rebuild changed the layers)."""
        h = self._hist = self.session.history
        self._check_layers(h)
        steps = h["step"].values.astype(float)
        spec = np.isfinite(h["spectral_norm"].values[:, 0])  # the spectrum steps (step 0 always is one)
        t = self._traces
        with batch(self.figures.values()):
            self._draw_histogram(h, spec)
            x = steps[spec]
            for j in range(len(self._layer_key)):
                for key, var in (("exact", "spectral_norm"), ("power", "power_estimate"), ("gram", "gram_bound")):
                    tr = t["norms"][f"{key}{j}"]
                    tr.x, tr.y = self._line(x, positive(h[var].values[spec, j]))
            tl = t["lipschitz"]
            tl["bound"].x, tl["bound"].y = self._line(x, positive(h["lipschitz_bound"].values[spec]))
            tl["gradient"].x, tl["gradient"].y = self._line(x, positive(h["max_input_gradient"].values[spec]))
            tl = t["loss"]
            tl["loss"].x, tl["loss"].y = self._line(steps, positive(h["loss"].values))
            tl["test_loss"].x, tl["test_loss"].y = self._line(steps, positive(h["test_loss"].values))
            tl["end_loss"].x = h["end_step"].values.astype(float)
            tl["end_loss"].y = positive(h["end_loss"].values)
            self._draw_live()
            self._draw_boundaries()
            for name in ("norms", "lipschitz", "loss"):
                self.figures[name].layout.xaxis.range = [0, self.max_steps]
        self.n_updates += 1

    def _draw_histogram(self, h, spec) -> None:
        i = int(np.flatnonzero(spec)[-1])
        self._hist_step = int(h["step"].values[i])
        sv, counts = h["singular_values"].values[i], h["n_values"].values
        values = [sv[j, : int(counts[j])] for j in range(len(self._layer_key))]
        top = max(float(v.max()) for v in values)
        if self.session.method != "none":
            top = max(top, float(self.session.target))
        hi = max(_nice_ceil(1.05 * top), top)  # np.histogram counts a value on the last edge
        edges = self._edges = np.linspace(0.0, hi, self.n_bins + 1)
        centers, width = (edges[:-1] + edges[1:]) / 2, hi / self.n_bins
        ymax = 1
        for j, v in enumerate(values):
            n = np.histogram(v, bins=edges)[0]
            ymax = max(ymax, int(n.max()))
            bar = self._traces["histogram"][f"layer{j}"]
            bar.x, bar.y, bar.width = centers, n, width
        self.figures["histogram"].layout.title.text = (
            f"singular values per layer at step {self._hist_step} ({self.n_bins} bins of {width:.3g})")
        self._hist_ymax = ymax
        self.figures["histogram"].layout.xaxis.range = [0, hi]

    def _draw_live(self) -> None:
        """The lines of the live controls: reg (loss figure) and target (norms, histogram),
        recorded over step plus the value in force at the current step when it differs from
        the last recorded (a slider move shows at once, before the next step)."""
        h, s = self._hist, self.session
        steps = h["step"].values.astype(float)
        for fig, key, now in (("loss", "reg", float(s.reg)), ("norms", "target", float(s.target))):
            y = h[key].values.astype(float)
            x = steps
            if y.size and y[-1] != now:
                x, y = np.append(steps, float(s.step)), np.append(y, now)
            tr = self._traces[fig][key]
            tr.x, tr.y = self._line(x, y)
        used = s.method != "none"
        self._traces["norms"]["target"].visible = used
        tr = self._traces["histogram"]["target"]
        tr.x, tr.y = [float(s.target)] * 2, [0, getattr(self, "_hist_ymax", 1)]
        tr.visible = used
        tr.name = f"target = {s.target:.3g}"

    def _draw_boundaries(self) -> None:
        s = self.session
        key = (s.tasks, s.steps_per_task, self.max_steps)
        if key == self._boundary_key:
            return
        self._boundary_key = key
        last = self.max_steps if s.tasks is None else min(self.max_steps, (s.tasks - 1) * s.steps_per_task)
        bounds = list(range(s.steps_per_task, last + 1, s.steps_per_task))
        self._boundaries = bounds if len(bounds) <= _MAX_BOUNDARIES else []
        shapes = [dict(type="line", x0=b, x1=b, y0=0, y1=1, yref="paper", layer="below",
                       line=dict(color="#999999", width=1, dash="dot")) for b in self._boundaries]
        for name in ("norms", "lipschitz", "loss"):
            self.figures[name].layout.shapes = shapes

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        return self._layout(
            [["reg", "reg_readout", "reg_off", "target", "target_readout"],
             ["method", "architecture", "tasks", "steps_per_task"]],
            [["histogram", "norms", "lipschitz", "loss"]], "sk-weight-explorer",
        )
