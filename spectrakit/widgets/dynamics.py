"""``TrainingExplorer``: train a small network live and watch its spectra while it learns.

Three plotly ``FigureWidget``s over one :class:`~spectrakit.tuning.TrainingSession`,
filled in chunk by chunk as training runs:

* **residual** -- a heatmap of ``log10`` of the residual's amplitude spectrum over
  (step x frequency): spectral bias reads as the low frequencies turning dark first;
* **loss** -- the full-batch training loss against step (log y);
* **sharpness** -- the top Hessian eigenvalue (with ``hessian_k > 0``) against step, with
  the optimizer's stability threshold (``2/lr`` for GD) drawn over it: at the edge of
  stability the sharpness climbs to the line and hovers there.

Streaming without blocking the kernel: :meth:`TrainingExplorer.start` (the Start button)
launches an asyncio task on the running event loop (in Jupyter, the kernel's own loop)
that trains ``chunk`` steps, updates the figures in place, then sleeps ``interval_s`` so
the kernel can handle button clicks, slider moves and other cells between chunks. Without
a running loop (plain Python, tests) :meth:`TrainingExplorer.run` does the same chunked
work synchronously.
"""

from __future__ import annotations

import asyncio
import html
import math

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from ..tuning import dynamics as tdyn
from ..tuning.dynamics import TrainingSession
from ._controls import Coalescer, FigureBox, LogSlider, QuietFlag, StatusLine, batch, format_value
from ._explorer import FIG_W, MARGIN, figure_widget, positive
from .fourier import _image_payload, decode_array

__all__ = ["TrainingExplorer"]

_WIDE = 2 * FIG_W + 12
_COLORS = {"loss": "#1f77b4", "sharpness": "#2ca02c", "threshold": "#d62728"}
#: optimizers that use ``rho`` (the SAM / USAM radius, the gradient-penalty weight)
_RHO_OPTIMIZERS = ("sam", "usam", "gradreg")
#: controls whose change builds a new session (training restarts from step 0)
_REBUILD = ("sigma", "optimizer", "rho", "weight_decay")
_LOG_SPAN = 8.0  # decades of residual amplitude the heatmap's colour scale spans at most


def _finite_or_nan(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


class TrainingExplorer:
    """Train a :class:`~spectrakit.tuning.TrainingSession` live, with its residual spectrum,
    loss and sharpness drawn as it runs.

    Parameters
    ----------
    session : TrainingSession
        The session to drive. The explorer trains it (``session.run``), sets its learning
        rate from the slider, and replaces it (``session.replace``) when a control that
        changes the model or the optimizer moves: :attr:`session` is always the current one.
    chunk : int
        Steps per chunk: the figures and the status line are updated after each chunk, and
        between chunks the kernel handles clicks, slider moves and other cells.
    max_steps : int
        Training stops at this step (Start, and :meth:`run`); the step axes span
        ``[0, max_steps]``, so the figures fill in from the left.
    interval_s : float
        Seconds the training task sleeps between chunks (the kernel's time to handle
        messages; 0 still yields once to the loop).
    throttle_s : float
        While the learning-rate slider is dragged, at most one change per ``throttle_s``
        seconds is applied; the last value always is (as in the other explorers).
    lr_range : (float, float), optional
        The learning-rate slider's range (default ``1e-5`` to ``1``, widened by a decade
        around the session's ``lr`` when it lies outside).
    max_columns : int
        The heatmap shows at most this many recorded steps (evenly strided, the latest
        always included); the history keeps every one.

    Notes
    -----
    **Controls.** *Start* launches training on the running asyncio loop (a Jupyter kernel
    has one; without one :meth:`start` raises and points to :meth:`run`); *Pause* stops
    after the current chunk; *Reset* pauses and returns the session to step 0 (its
    construction state). Start again resumes exactly where it paused: splitting training
    into chunks, pauses and resumes never changes the numbers (the session's guarantee).

    The **learning rate** (a slider over ``log10 lr``) applies to the session at once
    (``session.lr``, from the next step on; paused or running), and the stability-threshold
    line follows it. **Fourier-feature scale** ``sigma`` (0: no Fourier features), the
    **optimizer**, **rho** (SAM / USAM radius, gradient-penalty weight) and **weight decay**
    change the model or the optimizer, so they build a new session with
    ``session.replace(...)``: training restarts from step 0 (keeping the running or
    paused state), and the status line says so.

    **Errors.** A control change that fails (a negative weight decay, say) shows in the
    status line in red, the controls go back to the values applied, and the explorer keeps
    working. An exception while training shows there too and stops the training task.
    A loss that turns non-finite stops training with a note to lower ``lr`` and Reset.

    Attributes
    ----------
    session : TrainingSession
    figures : dict of go.FigureWidget
        "residual", "loss", "sharpness". Their traces by key (:meth:`trace`): residual:
        "heatmap" (``z[i, j]`` = log10 amplitude at frequency ``y[i]``, step ``x[j]``);
        loss: "loss"; sharpness: "sharpness", "threshold".
    controls : dict of widgets
        "start", "pause", "reset" (buttons), "lr" (FloatSlider over log10 lr),
        "lr_readout", "optimizer" (Dropdown), "sigma", "rho", "weight_decay" (FloatText).
    status : ipywidgets.HTML
        Step, loss, sharpness, threshold, optimizer, running or paused; errors in red.
    widget : ipywidgets.VBox
        The assembled explorer (about 1000 px wide).
    n_updates : int
        Figure updates so far (each chunk, each control change, each reset).
    task_error : BaseException or None
        The exception that stopped the last training task, if any.

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.tuning import TrainingSession
    >>> from spectrakit.widgets import TrainingExplorer
    >>> x = np.arange(64) / 64
    >>> s = TrainingSession(x, np.sin(2 * np.pi * x), hidden=(16,), lr=0.05, optimizer="gd", device="cpu")
    >>> explorer = TrainingExplorer(s, chunk=5, max_steps=100)
    >>> explorer.run(20).session.step
    20
    >>> len(explorer.trace("loss", "loss").y)
    21
    """

    def __init__(self, session, *, chunk: int = 10, max_steps: int = 2000, interval_s: float = 0.02,
                 throttle_s: float = 0.05, lr_range=None, max_columns: int = 600):
        if not isinstance(session, TrainingSession):
            raise TypeError(
                "session must be a spectrakit.tuning.TrainingSession (build one from your data first); "
                f"got {type(session).__name__}."
            )
        self.chunk = self._check_int(chunk, "chunk", 1)
        self.max_steps = self._check_int(max_steps, "max_steps", 1)
        self.max_columns = self._check_int(max_columns, "max_columns", 2)
        if not (float(interval_s) >= 0 and math.isfinite(float(interval_s))):
            raise ValueError(f"interval_s must be a finite number of seconds >= 0; got {interval_s!r}.")
        self.interval_s = float(interval_s)
        if session.step > self.max_steps:
            raise ValueError(
                f"the session is at step {session.step}, past max_steps={self.max_steps}: pass a larger "
                "max_steps or session.reset() first."
            )
        self.session = session
        lr = float(session.lr)
        if lr_range is None:
            lo, hi = min(1e-5, lr / 10), max(1.0, lr * 10)
        else:
            lo, hi = (float(v) for v in lr_range)
            if not (0 < lo < hi and math.isfinite(hi)):
                raise ValueError(f"lr_range must be (lo, hi) with 0 < lo < hi; got {lr_range!r}.")
            if not lo <= lr <= hi:
                raise ValueError(f"the session's lr={lr:g} lies outside lr_range={lr_range!r}; widen the range.")
        self._lr_lo, self._lr_hi = lo, hi
        self._options = self._session_options(session)
        self._batch_size = session.batch_size  # restored when leaving "gd"
        self._quiet = QuietFlag()
        self._running = False
        self._task: asyncio.Task | None = None
        self._token: object | None = None
        # (where, message, kind) shown under the status until cleared: a "control" error by
        # the next successful change, a "training" error by the next successful chunk
        self._error: tuple[str, str, str] | None = None
        self._source = None
        self._note = ""
        self.task_error: BaseException | None = None
        self.n_updates = 0

        self._status = StatusLine("sk-status")
        self.status = self._status.widget
        self.controls = self._build_controls()
        self.figures, self._traces = self._build_figures()
        self.widget = self._build_layout()
        self._coalescer = Coalescer(self._apply, throttle_s=throttle_s, on_error=self._on_apply_error)
        self._draw()
        self._sync_controls(None)
        self._show_status()

    @staticmethod
    def _check_int(value, name, minimum) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer; got {value!r}.")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}; got {value}.")
        return int(value)

    # ------------------------------------------------------------------ public API

    @property
    def running(self) -> bool:
        """True while the training task runs (between Start and Pause, Reset, max_steps or an error)."""
        return self._running

    @property
    def task(self) -> asyncio.Task | None:
        """The asyncio task of the current (or last) Start, or None."""
        return self._task

    @property
    def lr(self) -> float:
        """The learning rate applied (the session's)."""
        return float(self.session.lr)

    @property
    def options(self) -> dict:
        """The applied values of the controls that rebuild the session:
        ``sigma`` (0 = no Fourier features), ``optimizer``, ``rho``, ``weight_decay``."""
        return dict(self._options)

    @property
    def error(self) -> str | None:
        """The error shown in the status line (``"Type: message"``), or None."""
        return self._status.error

    @property
    def status_text(self) -> str:
        """The status line as plain text."""
        import re

        return html.unescape(re.sub(r"<[^>]+>", " ", self.status.value)).strip()

    @property
    def pending(self) -> dict:
        """Control changes recorded but not applied yet (see :meth:`flush`)."""
        return self._coalescer.pending

    def flush(self) -> None:
        """Apply any pending (coalesced) control change now."""
        self._coalescer.flush()

    def trace(self, figure: str, name: str):
        """A trace by figure and key, e.g. ``trace("sharpness", "threshold")`` (see :attr:`figures`)."""
        return self._traces[figure][name]

    def heatmap(self):
        """What the residual heatmap shows: ``(steps, freq, log10_amplitude)`` with the last of
        shape ``(freq, steps)`` (NaN where the amplitude is 0)."""
        t = self._traces["residual"]["heatmap"]
        return np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float), decode_array(t.z)

    def set(self, *, lr=None, sigma=None, optimizer=None, rho=None, weight_decay=None) -> None:
        """Change controls as a user would; the changes go through the same coalescing
        (call :meth:`flush` to apply one still pending). A value the session rejects shows
        in the status line (and :attr:`error`); an ``lr`` off the slider's range raises."""
        if lr is not None:
            lr = float(lr)
            if not (self._lr_lo * (1 - 1e-12) <= lr <= self._lr_hi * (1 + 1e-12)):
                raise ValueError(
                    f"lr={lr!r} is outside the slider's range [{self._lr_lo:.3g}, {self._lr_hi:.3g}]; "
                    "build the explorer with a wider lr_range."
                )
        for key, value in (("optimizer", optimizer), ("sigma", sigma), ("rho", rho), ("weight_decay", weight_decay)):
            if value is None:
                continue
            control = self.controls[key]
            if key == "optimizer" and value not in control.options:
                self._submit_checked(optimizer=value)  # the session names the choices
                continue
            if key != "optimizer":
                value = float(value)
            if control.value == value:  # no change event: submit as the handler would
                self._coalescer.submit(**{key: value, "source": "set"})
            else:
                control.value = value
        if lr is not None:
            self._lr_slider.set(lr)

    def start(self) -> None:
        """Start (or resume) training on the running asyncio event loop; returns at once.

        Each chunk trains ``chunk`` steps, updates the figures and the status line, then
        sleeps ``interval_s`` so the kernel stays responsive. Stops at :meth:`pause`,
        :meth:`reset`, ``max_steps``, a non-finite loss or an error (shown in the status line).
        """
        if self._running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "TrainingExplorer.start() streams training on the running asyncio event loop (a Jupyter "
                "kernel has one), but no event loop is running here. In plain Python call "
                "explorer.run(steps): the same chunked training and figure updates, synchronously."
            ) from None
        self._coalescer.flush()
        if self.session.step >= self.max_steps:
            self._note = f"at max_steps = {self.max_steps}: press Reset (or build the explorer with a larger max_steps)"
            self._show_status()
            return
        token = self._token = object()
        self._running = True
        self.task_error = None
        self._clear_error("training")
        self._note = ""
        self._sync_buttons()
        self._show_status()
        self._task = loop.create_task(self._train(token))

    def pause(self) -> None:
        """Stop training after the current chunk (at once when called between chunks, as
        every click and cell is)."""
        if not self._running:
            return
        self._token = None  # the task sees it when it wakes and returns
        self._running = False
        self._sync_buttons()
        self._note = ""
        self._show_status()

    def reset(self) -> None:
        """Pause and return the session to step 0 (its state after construction)."""
        self.pause()
        self._coalescer.flush()
        self.session.reset()
        self._error = None
        self._note = "reset to step 0"
        self._redraw()

    def run(self, steps: int) -> "TrainingExplorer":
        """Train ``steps`` more steps synchronously (at most up to ``max_steps``) in chunks of
        ``chunk``, updating the figures after each: what Start does, without an event loop.
        Returns ``self``. Errors show in the status line and are raised."""
        steps = self._check_int(steps, "steps", 0)
        if self._running:
            raise RuntimeError("training is running (Start): pause() before run(steps).")
        self._coalescer.flush()
        target = min(self.session.step + steps, self.max_steps)
        self._note = ""
        try:
            while self.session.step < target:
                if not self._train_chunk(min(self.chunk, target - self.session.step)):
                    break
        except Exception as exc:
            self._set_error(exc, f"training (stopped at step {self.session.step})", "training")
            raise
        if steps and self.session.step >= self.max_steps and target < self.session.step + steps:
            self._note = f"stopped at max_steps = {self.max_steps}"
            self._show_status()
        return self

    async def wait(self) -> None:
        """Wait until the current training task has returned (after a pause, max_steps or an error)."""
        task = self._task
        if task is not None and task is not asyncio.current_task():
            await asyncio.shield(task)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ training

    async def _train(self, token) -> None:
        try:
            while self._token is token:
                if self.session.step >= self.max_steps:
                    self._note = f"stopped at max_steps = {self.max_steps}"
                    self._stop()
                    break
                if not self._train_chunk(min(self.chunk, self.max_steps - self.session.step)):
                    self._stop()
                    break
                await asyncio.sleep(self.interval_s)
        except Exception as exc:  # shown, and the task stops: never a silent dead loop
            self.task_error = exc
            self._error = (f"training (stopped at step {self.session.step})", f"{type(exc).__name__}: {exc}",
                           "training")
            self._stop()
        finally:
            if self._token is token:  # cancelled from outside (the loop closing): not running any more
                self._stop()

    def _stop(self) -> None:
        self._token = None
        self._running = False
        self._sync_buttons()
        self._show_status()

    def _train_chunk(self, n: int) -> bool:
        """Train ``n`` steps and redraw; False if the loss is no longer finite."""
        self.session.run(n)
        self._draw()
        loss = self.session.history["loss"].values[-1]
        if not np.isfinite(loss):
            self._note = ""
            self._error = ("training", f"the loss is {loss} at step {self.session.step}: training diverged. "
                           "Lower lr and press Reset.", "training")
            self._show_status()
            return False
        self._clear_error("training")
        self._show_status()
        return True

    # ------------------------------------------------------------------ controls

    def _build_controls(self) -> dict:
        c: dict = {}
        for key, label, icon, style in (
            ("start", "Start", "play", "success"), ("pause", "Pause", "pause", ""), ("reset", "Reset", "undo", ""),
        ):
            b = widgets.Button(description=label, icon=icon, button_style=style, layout=widgets.Layout(width="90px"))
            b.add_class(f"sk-{key}-button")
            b.on_click(self._guarded(getattr(self, f"_on_{key}"), f"{key} button"))
            c[key] = b
        self._lr_slider = LogSlider(self._lr_lo, self._lr_hi, self.lr, name="lr", step=0.05,
                                    css_class="sk-lr-slider", width="320px")
        self._lr_slider.on_change(self._guarded(lambda lr: self._coalescer.submit(lr=lr, source="lr"), "lr slider"))
        c["lr"], c["lr_readout"] = self._lr_slider.slider, self._lr_slider.readout
        c["optimizer"] = widgets.Dropdown(options=tdyn.OPTIMIZERS, value=self._options["optimizer"],
                                          description="optimizer",
                                          style={"description_width": "initial"}, layout=widgets.Layout(width="170px"))
        for key, label in (("sigma", "Fourier features \u03c3 (0 = off)"), ("rho", "\u03c1"),
                           ("weight_decay", "weight decay")):
            c[key] = widgets.FloatText(value=self._options[key], description=label, step=None,
                                       style={"description_width": "initial"},
                                       layout=widgets.Layout(width="230px" if key == "sigma" else "150px"))
        for key in _REBUILD:
            c[key].add_class(f"sk-{key.replace('_', '-')}")
            c[key].observe(self._guarded(self._control_handler(key), key.replace("_", " ")), names="value")
        return c

    def _control_handler(self, key):
        def handler(change):
            value = change["new"]
            self._coalescer.submit(**{key: value, "source": key})

        return handler

    def _submit_checked(self, **changes) -> None:
        self._coalescer.submit(**changes, source="set")

    def _guarded(self, func, where):
        """An observer whose exceptions show in the status line and revert the controls."""

        def observer(change):
            if self._quiet:
                return
            try:
                func(change)
            except Exception as exc:
                self._set_error(exc, where)
                self._sync_controls(None)

        return observer

    def _on_start(self, _button) -> None:
        self.start()

    def _on_pause(self, _button) -> None:
        self.pause()

    def _on_reset(self, _button) -> None:
        self.reset()

    def _sync_buttons(self) -> None:
        c = self.controls
        c["start"].disabled = self._running
        c["pause"].disabled = not self._running

    def _sync_controls(self, source) -> None:
        """Controls follow the applied state, except the one the change came from (while
        dragged it may be ahead of the applied value)."""
        c, o = self.controls, self._options
        with self._quiet:
            if source != "lr":
                self._lr_slider.show(self.lr)
            for key in ("optimizer", "sigma", "rho", "weight_decay"):
                if source != key and c[key].value != o[key]:
                    c[key].value = o[key]
            c["rho"].disabled = o["optimizer"] not in _RHO_OPTIMIZERS
        self._sync_buttons()

    # ------------------------------------------------------------------ apply

    @staticmethod
    def _session_options(session) -> dict:
        ff = session.fourier_features
        return {"sigma": 0.0 if ff is None else float(ff), "optimizer": session.optimizer_name,
                "rho": float(session.rho), "weight_decay": float(session.weight_decay)}

    def _apply(self, changes: dict) -> None:
        source = self._source = changes.pop("source", None)
        changed = {k: changes[k] for k in _REBUILD if k in changes and changes[k] != self._options[k]}
        lr = changes.get("lr")
        if changed:
            self._rebuild(changed, lr)
        elif lr is not None and float(lr) != self.lr:
            self.session.lr = float(lr)  # from the next step on; the session checks it
            self._note = f"lr = {self.lr:.3g} from step {self.session.step} on"
            self._draw_threshold()  # the line follows at once
        self._error = None
        self._sync_controls(source)
        self._show_status()

    def _rebuild(self, changed: dict, lr) -> None:
        kwargs = {}
        if "sigma" in changed:
            sigma = float(changed["sigma"])
            if not (math.isfinite(sigma) and sigma >= 0):
                raise ValueError(
                    f"sigma (the Fourier-feature scale) must be >= 0, 0 for none; got {changed['sigma']!r}."
                )
            kwargs["fourier_features"] = None if sigma == 0 else sigma
        if "optimizer" in changed:
            name = changed["optimizer"]
            kwargs["optimizer"] = name
            # "gd" is full batch: a minibatch size set for sgd/adam comes back when leaving it
            if name == "gd" and self.session.batch_size is not None:
                kwargs["batch_size"] = None
            elif name != "gd" and self._options["optimizer"] == "gd" and self._batch_size is not None:
                kwargs["batch_size"] = self._batch_size
        for key in ("rho", "weight_decay"):
            if key in changed:
                value = float(changed[key])
                if not (math.isfinite(value) and value >= 0):
                    raise ValueError(f"{key} must be a finite number >= 0; got {changed[key]!r}.")
                kwargs[key] = value
        if lr is not None:
            kwargs["lr"] = float(lr)
        new = self.session.replace(**kwargs)  # raises on a bad value: the old session stays
        if new.step > self.max_steps:
            raise ValueError(f"session.replace returned a session at step {new.step} > max_steps.")
        self.session = new
        if new.batch_size is not None:
            self._batch_size = new.batch_size
        self._options = self._session_options(new)
        what = ", ".join(f"{k} = {changed[k]}" for k in changed)
        state = "training continues" if self._running else "press Start"
        self._note = f"new session ({what}): training restarts from step 0; {state}"
        self._redraw()

    def _set_error(self, exc: BaseException, where: str, kind: str = "control") -> None:
        self._error = (where, f"{type(exc).__name__}: {exc}", kind)
        self._show_status()

    def _clear_error(self, kind: str) -> None:
        if self._error is not None and self._error[2] == kind:
            self._error = None

    def _on_apply_error(self, exc: BaseException) -> None:
        where = {"lr": "lr slider", "set": "set()"}.get(self._source, str(self._source or "update").replace("_", " "))
        self._set_error(exc, where)
        self._sync_controls(None)

    # ------------------------------------------------------------------ status

    def _threshold_now(self) -> float:
        """The stability threshold for the session's optimizer at its current lr (NaN for Adam)."""
        return _finite_or_nan(self.session.stability_threshold)

    def _status_parts(self) -> list[str]:
        s = self.session
        h = self._hist
        loss = float(h["loss"].values[-1])
        parts = [f"step {s.step}/{self.max_steps}", f"loss = {loss:.3e}"]
        if "sharpness" in h:
            sharp = h["sharpness"].values
            finite = sharp[np.isfinite(sharp)]
            parts.append(f"sharpness = {finite[-1]:.4g}" if finite.size else "sharpness = \u2013")
        thr = self._threshold_now()
        opt = self._options["optimizer"]
        if opt in ("gd", "sgd", "sam"):
            parts.append(f"2/\u03b7 = {thr:.4g}")
        elif math.isfinite(thr):
            parts.append(f"threshold = {thr:.4g}")
        parts.append(f"{opt} {format_value('lr', s.lr)}")
        parts.append("running" if self._running else "paused")
        if self._note:
            parts.append(self._note)
        return parts

    def _show_status(self) -> None:
        text = "  \u00b7  ".join(self._status_parts())
        if self._error is None:
            self._status.show(text)
            return
        where, message, _ = self._error
        self._status.error = message
        self._status.widget.value = (
            f"<span style='font-family: monospace'>{html.escape(text)}</span><br>"
            "<span style='color: #c62828; font-family: monospace'>"
            f"&#9888; {html.escape(f'error in {where}: {message}')}</span>"
        )

    # ------------------------------------------------------------------ figures

    def _build_figures(self):
        traces: dict[str, dict] = {"residual": {}, "loss": {}, "sharpness": {}}
        xrange = [0, self.max_steps]
        res = figure_widget(
            "residual", "residual amplitude spectrum |r\u0302(f)| over training (log\u2081\u2080)",
            width=_WIDE, height=300, margin=dict(MARGIN, r=30),
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(title=dict(text=self._freq_label())),
            coloraxis=dict(colorscale="Viridis",
                           colorbar=dict(title=dict(text="log\u2081\u2080 |r\u0302|"), thickness=12)),
        )
        res.add_trace(go.Heatmap(
            name="residual", coloraxis="coloraxis",
            hovertemplate="step %{x}<br>f = %{y:.4g}<br>log\u2081\u2080|r\u0302| = %{z:.2f}<extra></extra>",
        ))
        traces["residual"]["heatmap"] = res.data[-1]
        loss = figure_widget(
            "loss", "training loss", xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text="mean squared error"), exponentformat="power"),
        )
        loss.add_trace(go.Scatter(name="loss", mode="lines", line=dict(color=_COLORS["loss"], width=2)))
        traces["loss"]["loss"] = loss.data[-1]
        with_hessian = self.session.hessian_k > 0
        title = ("sharpness and the stability threshold" if with_hessian
                 else "stability threshold (sharpness: build the session with hessian_k > 0)")
        sharp = figure_widget(
            "sharpness", title, xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text="top Hessian eigenvalue"), exponentformat="power"),
            legend=dict(orientation="h", x=1.0, xanchor="right", y=1.0, yanchor="bottom"),
            margin=dict(MARGIN, t=60),
        )
        sharp.add_trace(go.Scatter(name="sharpness \u03bb\u2098\u2090\u2093", mode="lines+markers",
                                   marker=dict(size=3), line=dict(color=_COLORS["sharpness"], width=2)))
        traces["sharpness"]["sharpness"] = sharp.data[-1]
        sharp.add_trace(go.Scatter(name="stability threshold (2/\u03b7 for GD)", mode="lines", hoverinfo="x+y",
                                   line=dict(color=_COLORS["threshold"], dash="dash", width=1.5)))
        traces["sharpness"]["threshold"] = sharp.data[-1]
        return {"residual": res, "loss": loss, "sharpness": sharp}, traces

    def _freq_label(self) -> str:
        dims = tuple(self.session.dims)
        what = "frequency" if len(dims) == 1 else "radial frequency"
        return f"{what} (cycles per unit of {' and '.join(dims)})"

    def _redraw(self) -> None:
        """After a new session or a reset: redraw everything, sync the controls and status."""
        self._draw()
        self._sync_controls(None)
        self._show_status()

    def _columns(self, n: int) -> np.ndarray:
        if n <= self.max_columns:
            return np.arange(n)
        stride = math.ceil(n / self.max_columns)
        idx = np.arange(0, n, stride)
        return idx if idx[-1] == n - 1 else np.append(idx, n - 1)

    def _draw(self) -> None:
        """Draw the session's history into the figures, in place (arrays replaced inside
        ``batch_update``; the figures and traces stay the same objects)."""
        h = self._hist = self.session.history
        steps = h["step"].values.astype(float)
        t = self._traces
        with batch(self.figures.values()):
            t["loss"]["loss"].x, t["loss"]["loss"].y = steps, positive(h["loss"].values)
            amp = h["residual_amplitude"].values
            cols = self._columns(steps.size)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.log10(positive(amp[cols]).T).astype(np.float32)
            hm = t["residual"]["heatmap"]
            hm.x, hm.y, hm.z = steps[cols], np.asarray(h["freq"].values, dtype=float), _image_payload(z)
            finite = z[np.isfinite(z)]
            if finite.size:
                hi = float(finite.max())
                lo = max(float(finite.min()), hi - _LOG_SPAN)
                self.figures["residual"].layout.coloraxis.update(cmin=lo, cmax=max(hi, lo + 1e-6))
            ts = t["sharpness"]
            if "sharpness" in h:
                sharp = h["sharpness"].values
                ok = np.isfinite(sharp)
                ts["sharpness"].x, ts["sharpness"].y = steps[ok], positive(sharp[ok])
            else:
                ts["sharpness"].x, ts["sharpness"].y = [], []
            ts["threshold"].x, ts["threshold"].y = self._threshold_line(h, steps)
        self.n_updates += 1

    def _draw_threshold(self) -> None:
        """After an lr change: only the threshold line moves."""
        h = self._hist
        t = self._traces["sharpness"]["threshold"]
        with self.figures["sharpness"].batch_update():
            t.x, t.y = self._threshold_line(h, h["step"].values.astype(float))
        self.n_updates += 1

    def _threshold_line(self, h, steps):
        """The recorded threshold over step, then the current one at the current step when it
        differs from the last recorded (a lr change shows as a jump of the line at once)."""
        if "stability_threshold" in h:
            thr = np.asarray(h["stability_threshold"].values, dtype=float)
        else:
            thr = np.full(steps.size, np.nan)
        now = self._threshold_now()
        x, y = steps, thr
        last = thr[-1] if thr.size else math.nan
        same = (math.isnan(now) and math.isnan(last)) or (
            math.isfinite(now) and math.isfinite(last) and math.isclose(now, last, rel_tol=1e-12)
        )
        if not same:
            x = np.append(steps, float(self.session.step))
            y = np.append(thr, now)
        return x, positive(y)

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        c = self.controls
        row1 = widgets.HBox([c["start"], c["pause"], c["reset"], c["lr"], c["lr_readout"]],
                            layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        row2 = widgets.HBox([c["optimizer"], c["sigma"], c["rho"], c["weight_decay"]],
                            layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        grid = widgets.GridBox(
            [self.figures["loss"], self.figures["sharpness"]],
            layout=widgets.Layout(grid_template_columns=f"repeat(2, {FIG_W}px)", grid_gap="6px 12px",
                                  width=f"{_WIDE + 12}px"),
        )
        box = FigureBox([row1, row2, self.status, self.figures["residual"], grid], figures=self.figures.values(),
                        layout=widgets.Layout(width=f"{_WIDE + 30}px"))
        box.add_class("sk-explorer")
        box.add_class("sk-training-explorer")
        return box
