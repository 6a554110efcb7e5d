"""``TrainingExplorer``: train a small network live and watch its spectra while it learns.

Three plotly ``FigureWidget``s over one :class:`~spectrakit.tuning.TrainingSession`,
filled in chunk by chunk as training runs:

* **residual** -- a heatmap of ``log10`` of the residual's amplitude spectrum over
  (step x frequency): spectral bias reads as the low frequencies turning dark first;
* **loss** -- the full-batch training loss against step (log y);
* **sharpness** -- the top Hessian eigenvalue (with ``hessian_k > 0``) against step, with
  the optimizer's stability threshold (``2/lr`` for GD) drawn over it: at the edge of
  stability the sharpness climbs to the line and hovers there.

Start, Pause, Reset, the learning-rate slider and the streaming without blocking the
kernel come from :class:`~spectrakit.widgets._streaming.StreamingExplorer`.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from ..tuning import dynamics as tdyn
from ..tuning.dynamics import TrainingSession
from ._controls import FigureBox, batch
from ._explorer import FIG_WIDE, MARGIN, figure_widget, positive
from ._streaming import StreamingExplorer, check_int
from ._figure import decode_array, image_payload

__all__ = ["TrainingExplorer"]

_COLORS = {"loss": "#1f77b4", "sharpness": "#2ca02c", "threshold": "#d62728"}
#: optimizers that use ``rho`` (the SAM / USAM radius, the gradient-penalty weight)
_RHO_OPTIMIZERS = ("sam", "usam", "gradreg")
_LOG_SPAN = 8.0  # decades of residual amplitude the heatmap's colour scale spans at most
#: the heatmap sends at most this many cells per redraw (float32: about 130 kB in base64),
#: whatever the number of frequencies: with many, fewer steps are drawn
_MAX_CELLS = 24_000


def _finite_or_nan(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


class TrainingExplorer(StreamingExplorer):
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
        always included), and fewer when there are so many frequencies that it would hold
        more than 24,000 cells; the history keeps every one. The line figures keep at most
        :attr:`max_points` points per line (see :func:`~spectrakit.widgets._streaming.thin`):
        a redraw sends a bounded payload to the page however long training runs.

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
        "start", "pause", "reset" (buttons), "lr" (a grid slider even in log10 lr, see
        :attr:`sliders`), "lr_readout", "optimizer" (Dropdown), "sigma", "rho",
        "weight_decay" (FloatText).
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
    >>> explorer.run(20)
    >>> explorer.session.step
    20
    >>> len(explorer.trace("loss", "loss").y)
    21
    """

    session_type = TrainingSession
    rebuild_keys = ("sigma", "optimizer", "rho", "weight_decay")

    def __init__(self, session, *, chunk: int = 10, max_steps: int = 2000, interval_s: float = 0.02,
                 throttle_s: float = 0.05, lr_range=None, max_columns: int = 200):
        self.max_columns = check_int(max_columns, "max_columns", 2)
        self._batch_size = getattr(session, "batch_size", None)  # restored when leaving "gd"
        super().__init__(session, chunk=chunk, max_steps=max_steps, interval_s=interval_s,
                         throttle_s=throttle_s, lr_range=lr_range)

    def heatmap(self):
        """What the residual heatmap shows: ``(steps, freq, log10_amplitude)`` with the last of
        shape ``(freq, steps)`` (NaN where the amplitude is 0). The frequencies above 0 only:
        they sit on a log axis, so the low ones, where spectral bias shows first, get as
        much room as the many high ones."""
        t = self._traces["residual"]["heatmap"]
        return np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float), decode_array(t.z)

    # ------------------------------------------------------------------ controls

    def _build_option_controls(self) -> dict:
        c = {"optimizer": widgets.Dropdown(options=tdyn.OPTIMIZERS, value=self._options["optimizer"],
                                           description="optimizer", style={"description_width": "initial"},
                                           layout=widgets.Layout(width="170px"))}
        for key, label in (("sigma", "Fourier features \u03c3 (0 = off)"), ("rho", "\u03c1"),
                           ("weight_decay", "weight decay")):
            c[key] = widgets.FloatText(value=self._options[key], description=label, step=None,
                                       style={"description_width": "initial"},
                                       layout=widgets.Layout(width="230px" if key == "sigma" else "150px"))
        return c

    def _sync_option_controls(self) -> None:
        self.controls["rho"].disabled = self._options["optimizer"] not in _RHO_OPTIMIZERS

    # ------------------------------------------------------------------ apply

    @staticmethod
    def _session_options(session) -> dict:
        ff = session.fourier_features
        return {"sigma": 0.0 if ff is None else float(ff), "optimizer": session.optimizer_name,
                "rho": float(session.rho), "weight_decay": float(session.weight_decay)}

    def _replace_kwargs(self, changed: dict) -> dict:
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
                kwargs[key] = self._non_negative(changed, key)
        return kwargs

    def _rebuild(self, changed: dict, lr) -> None:
        super()._rebuild(changed, lr)
        if self.session.batch_size is not None:
            self._batch_size = self.session.batch_size

    def _on_lr(self) -> None:
        self._draw_threshold()  # the line follows at once

    # ------------------------------------------------------------------ status

    def _threshold_now(self) -> float:
        """The stability threshold for the session's optimizer at its current lr (NaN for Adam)."""
        return _finite_or_nan(self.session.stability_threshold)

    def _status_values(self) -> list[str]:
        h = self._hist
        parts = []
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
        parts.append(opt)
        return parts

    # ------------------------------------------------------------------ figures

    def _build_figures(self):
        traces: dict[str, dict] = {"residual": {}, "loss": {}, "sharpness": {}}
        xrange = [0, self.max_steps]
        res = figure_widget(
            "residual", "residual amplitude spectrum |r\u0302(f)| over training (log\u2081\u2080)",
            width=FIG_WIDE, height=300, margin=dict(MARGIN, r=30),
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text=self._freq_label()), exponentformat="power"),
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

    def _columns(self, n: int, n_freq: int) -> np.ndarray:
        limit = max(2, min(self.max_columns, _MAX_CELLS // max(n_freq, 1)))
        if n <= limit:
            return np.arange(n)
        stride = math.ceil(n / limit)
        idx = np.arange(0, n, stride)
        return idx if idx[-1] == n - 1 else np.append(idx, n - 1)

    def _draw(self) -> None:
        """Draw the session's history into the figures, in place (arrays replaced inside
        ``batch_update``; the figures and traces stay the same objects)."""
        h = self._hist = self.session.history
        steps = h["step"].values.astype(float)
        t = self._traces
        with batch(self.figures.values()):
            t["loss"]["loss"].x, t["loss"]["loss"].y = self._line(steps, positive(h["loss"].values))
            freq = np.asarray(h["freq"].values, dtype=float)
            rows = freq > 0  # on a log axis
            amp = h["residual_amplitude"].values[:, rows]
            cols = self._columns(steps.size, amp.shape[1])
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.log10(positive(amp[cols]).T).astype(np.float32)
            hm = t["residual"]["heatmap"]
            hm.x, hm.y, hm.z = steps[cols], freq[rows], image_payload(z)
            finite = z[np.isfinite(z)]
            if finite.size:
                hi = float(finite.max())
                lo = max(float(finite.min()), hi - _LOG_SPAN)
                self.figures["residual"].layout.coloraxis.update(cmin=lo, cmax=max(hi, lo + 1e-6))
            ts = t["sharpness"]
            if "sharpness" in h:
                sharp = h["sharpness"].values
                ok = np.isfinite(sharp)
                ts["sharpness"].x, ts["sharpness"].y = self._line(steps[ok], positive(sharp[ok]))
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
        return self._line(x, positive(y))

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        return self._layout([["optimizer", "sigma", "rho", "weight_decay"]], ["residual", ["loss", "sharpness"]],
                            "sk-training-explorer")
