"""``ImplicitExplorer``: train ``U U^T`` on matrix sensing live and watch which singular
values gradient descent learns, and when.

Two plotly ``FigureWidget``s over one :class:`~spectrakit.tuning.ImplicitSession`, filled
in chunk by chunk as training runs:

* **singular values** -- the singular values of the estimate ``U U^T`` against step, one
  line per mode on a log axis, with the target's singular values as dashed lines in the
  same colours (the spare modes, past the target's rank, in grey): from a small
  initialization gradient descent climbs to them one at a time, largest first (a
  staircase), while the spare modes stay near the initialization; ScaledGD climbs to all
  of them together;
* **loss** -- the training loss and the relative error ``||U U^T - M*||_F / ||M*||_F``
  against step (log y), with ScaledGD's damping in force on a right-hand axis.

The **damping** slider (ScaledGD's ``lambda``, log scale) changes the running session,
from the next step on; the **init scale** slider (log scale) and the **optimizer**
dropdown build a new session (training restarts from step 0). Start, Pause, Reset, the
learning-rate slider and the streaming without blocking the kernel come from
:class:`~spectrakit.widgets._streaming.StreamingExplorer`.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from ..tuning.implicit import OPTIMIZERS, ImplicitSession
from ._controls import FigureBox, GridSlider, batch, format_value
from ._explorer import FIG_WIDE, MARGIN, figure_widget, positive
from ._streaming import StreamingExplorer, check_int

__all__ = ["ImplicitExplorer"]

_SPARE = "#b0b0b0"  # the modes past the target's rank
_COLORS = {"loss": "#222222", "error": "#d62728", "damping": "#ff7f0e"}


def _log_range(pair, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (lo, hi) with 0 < lo < hi; got {pair!r}.") from None
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"{name} must be (lo, hi) with 0 < lo < hi (a log-scale slider); got {pair!r}.")
    return lo, hi


class ImplicitExplorer(StreamingExplorer):
    """Train an :class:`~spectrakit.tuning.ImplicitSession` live, with the singular values of
    the estimate, the loss and the relative error drawn as it runs, and sliders for the
    initialization scale and ScaledGD's damping.

    Parameters
    ----------
    session : ImplicitSession
        The session to drive. The explorer trains it (``session.run``), sets its ``lr``
        and ``damping`` from the sliders, and replaces it (``session.replace``) when the
        init scale or the optimizer changes: :attr:`session` is always the current one.
    chunk : int
        Steps per chunk: the figures and the status line are updated after each chunk, and
        between chunks the kernel handles clicks, slider moves and other cells.
    max_steps : int
        Training stops at this step (Start, and :meth:`run`); the step axes span
        ``[0, max_steps]``.
    interval_s : float
        Seconds the training task sleeps between chunks (0 still yields once to the loop).
    throttle_s : float
        While a slider is dragged, at most one change per ``throttle_s`` seconds is applied;
        the last value always is.
    lr_range : (float, float), optional
        The learning-rate slider's range (default ``1e-5`` to ``1``, widened by a decade
        around the session's ``lr`` when it lies outside).
    init_scale_range, damping_range : (float, float)
        The log sliders' ranges (defaults ``1e-8`` to ``1`` and ``1e-6`` to ``1``). A value
        outside (the session's, or one set from Python) is applied and shown exactly in the
        readout while the slider rests at the end.
    max_modes : int
        At most this many singular-value lines (the largest modes); the history keeps every
        mode.

    Notes
    -----
    **Init scale.** The standard deviation of ``U_0``'s entries. Small (1e-4 and below):
    every mode starts tiny and grows by about ``(1 + lr sigma_i)^2`` per step, so gradient
    descent learns ``sigma_i`` after about ``log(1 / init_scale) / (lr sigma_i)`` steps,
    one at a time, and the modes past the target's rank stay small: an implicitly low-rank
    estimate although ``U`` is ``d x d``. A smaller init delays every step of the staircase
    and separates them more; a large one (0.1 and up) starts every mode large: the target's
    are reached together, the spare ones decay only slowly, and the low-rank bias fades.
    Moving it builds a new session with ``session.replace(init_scale=...)``: training
    restarts from step 0.

    **Optimizer.** ``gd`` or ``scaledgd`` (ScaledGD(lambda): the gradient times
    ``(U^T U + lambda I)^{-1}``), a new session. Each optimizer keeps the ``lr`` it last
    trained with and starts at the session's default (``0.15 / sigma_1`` for gd, 0.5 for
    ScaledGD: the two rules' step sizes are on different scales). **Damping** (``lambda``)
    applies to the running ScaledGD session at once (from the next step on, paused or
    running) and is recorded; it is disabled for ``gd``. Too small a damping with many
    spare columns blows up the directions the measurements do not pin down: training
    stops with an error that says to raise it (then Reset).

    **Controls.** *Start* launches training on the running asyncio loop (a Jupyter kernel
    has one; without one :meth:`start` raises and points to :meth:`run`); *Pause* stops
    after the current chunk; *Reset* pauses and returns the session to step 0 (keeping the
    current lr and damping). Pausing and resuming never changes the numbers.

    **Errors.** A value the session rejects (a negative damping, an lr past gradient
    descent's ``1 / sigma_1``) shows in the status line in red, the controls go back to the
    values applied, and the explorer keeps working; so does an exception while training,
    which stops the training task.

    Attributes
    ----------
    session : ImplicitSession
    figures : dict of go.FigureWidget
        "singular_values", "loss". Their traces by key (:meth:`trace`): singular_values:
        ``"mode0"`` ... (step against singular value; see :attr:`modes`) and ``"target0"``
        ... ``"target<r-1>"`` (dashed, at ``sigma_i``); loss: "loss", "error" and "damping"
        (right axis; hidden for gd).
    controls : dict of widgets
        "start", "pause", "reset" (buttons), "lr", "optimizer" (Dropdown), "init_scale" and
        "damping"; each slider (see :attr:`sliders`) has a ``<key>_readout`` with its exact value.
    status : ipywidgets.HTML
        Step, loss, relative error, learned rank (how many singular values have reached
        half their target), damping, lr, running or paused; errors in red.
    widget : ipywidgets.VBox
        The assembled explorer (about 1000 px wide).
    n_updates : int
        Figure updates so far (each chunk, each control change, each reset).
    task_error : BaseException or None
        The exception that stopped the last training task, if any.

    Examples
    --------
    >>> from spectrakit.tuning import ImplicitSession
    >>> from spectrakit.widgets import ImplicitExplorer
    >>> explorer = ImplicitExplorer(ImplicitSession(device="cpu"), chunk=50, max_steps=400)
    >>> explorer.run(250)
    >>> explorer.learned_rank
    3
    >>> explorer.set(optimizer="scaledgd", damping=0.1); explorer.flush()   # a new session
    >>> explorer.session.step, explorer.lr, explorer.controls["damping"].disabled
    (0, 0.5, False)
    >>> explorer.set(damping=0.05); explorer.flush()   # live, from step 0 on
    >>> explorer.run(10)
    >>> explorer.session.history.damping.values[[0, -1]].tolist()
    [0.1, 0.05]
    """

    session_type = ImplicitSession
    rebuild_keys = ("optimizer", "init_scale")

    def __init__(self, session, *, chunk: int = 10, max_steps: int = 2000, interval_s: float = 0.02,
                 throttle_s: float = 0.05, lr_range=None, init_scale_range=(1e-8, 1.0), damping_range=(1e-6, 1.0),
                 max_modes: int = 10):
        self.max_modes = check_int(max_modes, "max_modes", 1)
        self._init_range = _log_range(init_scale_range, "init_scale_range")
        self._damping_range = _log_range(damping_range, "damping_range")
        if isinstance(session, ImplicitSession):
            self._lr_by_optimizer = {session.optimizer: float(session.lr)}
        super().__init__(session, chunk=chunk, max_steps=max_steps, interval_s=interval_s,
                         throttle_s=throttle_s, lr_range=lr_range)

    # ------------------------------------------------------------------ public API

    @property
    def damping(self) -> float:
        """ScaledGD's damping applied (the session's; kept, unused, by gradient descent)."""
        return float(self.session.damping)

    @property
    def init_scale(self) -> float:
        """The initialization scale of the current session."""
        return float(self.session.init_scale)

    @property
    def modes(self) -> list[int]:
        """The modes drawn in the singular-value figure (0 = the largest, as the history's ``mode``)."""
        return list(self._modes)

    @property
    def learned_rank(self) -> int:
        """How many singular values have reached half their target at the last recorded step."""
        return int(self.session.learned_rank().values[-1])

    def singular_value_lines(self):
        """What the singular-value figure shows: ``(steps, modes, values)`` with ``values`` of
        shape ``(steps, modes)`` (NaN where a value is not > 0: a gap on the log axis)."""
        t = self._traces["singular_values"]
        steps = np.asarray(t[f"mode{self._modes[0]}"].x, dtype=float)
        values = np.stack([np.asarray(t[f"mode{m}"].y, dtype=float) for m in self._modes], axis=1)
        return steps, np.asarray(self._modes), values

    def target_lines(self) -> dict[int, float]:
        """The dashed target lines: ``{mode: sigma}``."""
        t = self._traces["singular_values"]
        return {int(k[len("target"):]): float(tr.y[0]) for k, tr in t.items() if k.startswith("target")}

    def set(self, *, lr=None, damping=None, init_scale=None, optimizer=None) -> None:
        """Change controls: ``lr``, ``damping`` (live), ``init_scale`` and ``optimizer``
        (a new session), all in one change (one rebuild at most; call :meth:`flush` to
        apply one still pending). A value the session rejects shows in the status line
        (and :attr:`error`); an ``lr`` off the slider's range raises."""
        changes = {}
        if lr is not None:
            lr = float(lr)
            if not (self._lr_lo * (1 - 1e-12) <= lr <= self._lr_hi * (1 + 1e-12)):
                raise ValueError(
                    f"lr={lr!r} is outside the slider's range [{self._lr_lo:.3g}, {self._lr_hi:.3g}]; "
                    "build the explorer with a wider lr_range."
                )
            changes["lr"] = lr
        for key, value in (("optimizer", optimizer), ("init_scale", init_scale), ("damping", damping)):
            if value is not None:
                changes[key] = value
        if changes:
            self._coalescer.submit(**changes, source="set")

    # ------------------------------------------------------------------ controls

    def _build_option_controls(self) -> dict:
        s = self.session
        optimizer = widgets.Dropdown(options=OPTIMIZERS, value=s.optimizer, description="optimizer",
                                     style={"description_width": "initial"}, layout=widgets.Layout(width="170px"))
        self._init_slider = GridSlider(*self._init_range, s.init_scale, name="init scale", step=0.1,
                                       css_class="sk-init-scale-slider", width="300px")
        self._init_slider.on_change(self._guard(self._on_init_scale, "init scale slider"))
        self._damping_slider = GridSlider(*self._damping_range, s.damping if s.damping > 0 else self._damping_range[0],
                                          name="damping", step=0.1,
                                          css_class="sk-damping-slider", width="300px")
        self._damping_slider.on_change(self._guard(self._on_damping, "damping slider"))
        return {"optimizer": optimizer, **self._add_slider("init_scale", self._init_slider),
                **self._add_slider("damping", self._damping_slider)}

    def _control_handler(self, key):
        if key == "init_scale":
            # the slider stands at a grid position: its GridSlider reports the exact value
            # through _on_init_scale
            return lambda change: None
        return super()._control_handler(key)

    def _on_init_scale(self, value) -> None:
        self._coalescer.submit(init_scale=value, source="init_scale")

    def _on_damping(self, value) -> None:
        self._coalescer.submit(damping=value, source="damping")

    def _sync_controls(self, source) -> None:
        """Controls follow the applied state, except the one the change came from. (Not the
        base's: it would set the init-scale slider, which stands at a grid position, to the
        value itself.)"""
        c, o = self.controls, self._options
        with self._quiet:
            if source != "lr":
                self._lr_slider.show(self.lr)
            if source != "optimizer" and c["optimizer"].value != o["optimizer"]:
                c["optimizer"].value = o["optimizer"]
            if source != "init_scale":
                self._init_slider.show(o["init_scale"])
            if source != "damping":
                self._show_damping(self.damping)
            c["damping"].disabled = o["optimizer"] != "scaledgd"
        self._sync_buttons()

    def _show_damping(self, value: float) -> None:
        """The damping slider follows ``value``; 0 (ScaledGD without damping, for width <= rank)
        rests the slider at its low end, with the readout showing 0."""
        slider = self._damping_slider
        if value > 0:
            slider.show(value)
        else:
            slider.show(self._damping_range[0])
            slider.readout.value = format_value(slider.name, value)

    # ------------------------------------------------------------------ apply

    @staticmethod
    def _session_options(session) -> dict:
        return {"optimizer": session.optimizer, "init_scale": float(session.init_scale)}

    def _pop_live(self, changes: dict) -> dict:
        damping = changes.pop("damping", None)
        return {} if damping is None else {"damping": damping}

    def _live_text(self, key: str) -> str:
        return f"damping = {self.session.damping:.3g}"

    def _on_live(self) -> None:
        with self.figures["loss"].batch_update():
            self._draw_damping_line()
        self.n_updates += 1

    def _replace_kwargs(self, changed: dict) -> dict:
        return {k: changed[k] for k in ("optimizer", "init_scale") if k in changed}

    def _rebuild(self, changed: dict, lr) -> None:
        old_optimizer, old_lr = self.session.optimizer, self.session.lr
        if "optimizer" in changed and lr is None:
            lr = self._lr_for(changed["optimizer"])  # None: the session's default for it
        super()._rebuild(changed, lr)  # raises on a bad value: the old session stays
        self._lr_by_optimizer[old_optimizer] = old_lr
        self._lr_by_optimizer[self.session.optimizer] = self.session.lr
        if self.session.optimizer != old_optimizer:
            self._note += f" (lr = {self.session.lr:.3g} for {self.session.optimizer})"

    def _lr_for(self, optimizer) -> float | None:
        """The lr an optimizer switch brings: the one it last trained with (clamped to the
        slider), or None for the session's default."""
        lr = self._lr_by_optimizer.get(optimizer) if isinstance(optimizer, str) else None
        return None if lr is None else min(max(lr, self._lr_lo), self._lr_hi)

    def _on_lr(self) -> None:
        self._lr_by_optimizer[self.session.optimizer] = self.session.lr

    # ------------------------------------------------------------------ status

    def _status_values(self) -> list[str]:
        s = self.session
        err = float(self._hist["error"].values[-1])
        rank = int(s.learned_rank().values[-1])
        r = min(s.rank, s.width)
        parts = [f"error = {err:.2e}", f"learned rank = {rank} of {r}"]
        if s.optimizer == "scaledgd":
            parts.append(format_value("damping", s.damping))
        else:
            parts.append("gd (no damping)")
        return parts

    # ------------------------------------------------------------------ figures

    def _build_figures(self):
        s = self.session
        k = min(s.d, s.width)
        self._modes = list(range(min(k, self.max_modes)))
        target = s.target
        xrange = [0, self.max_steps]
        traces: dict[str, dict] = {"singular_values": {}, "loss": {}}
        sv = figure_widget(
            "singular_values", "singular values of U U\u1d40 over training, with the target's (dashed)",
            width=FIG_WIDE, height=340, margin=dict(MARGIN, r=30),
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text="singular value"), exponentformat="power"),
            legend=dict(title=dict(text="mode"), font=dict(size=9)),
        )
        palette = qualitative.Plotly
        for m in self._modes:
            learned = m < s.rank
            color = palette[m % len(palette)] if learned else _SPARE
            sv.add_trace(go.Scatter(name=str(m), mode="lines", legendgroup=str(m),
                                    line=dict(color=color, width=2 if learned else 1),
                                    hovertemplate=f"mode {m}<br>step %{{x}}<br>%{{y:.3e}}<extra></extra>"))
            traces["singular_values"][f"mode{m}"] = sv.data[-1]
        for m in self._modes:
            if m >= s.rank:
                break
            sigma = float(target[m])
            sv.add_trace(go.Scatter(
                name=f"target {m}: \u03c3 = {sigma:.3g}", mode="lines", legendgroup=str(m), showlegend=False,
                x=[0, self.max_steps], y=[sigma, sigma],
                line=dict(color=palette[m % len(palette)], width=1, dash="dash"),
                hovertemplate=f"target of mode {m}: \u03c3 = {sigma:.4g}<extra></extra>",
            ))
            traces["singular_values"][f"target{m}"] = sv.data[-1]

        loss = figure_widget(
            "loss", "training loss and relative error ||UU\u1d40 \u2212 M*|| / ||M*||",
            width=FIG_WIDE, height=280, margin=dict(MARGIN, r=70),
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text="loss, error"), exponentformat="power"),
            yaxis2=dict(type="log", title=dict(text="damping", font=dict(color=_COLORS["damping"])),
                        overlaying="y", side="right", showgrid=False, exponentformat="power",
                        tickfont=dict(color=_COLORS["damping"])),
            legend=dict(x=0.99, xanchor="right", y=0.99),
        )
        for key, label, line in (("loss", "loss", dict(width=2)), ("error", "relative error", dict(width=2))):
            loss.add_trace(go.Scatter(name=label, mode="lines", line=dict(color=_COLORS[key], **line)))
            traces["loss"][key] = loss.data[-1]
        loss.add_trace(go.Scatter(name="damping", mode="lines", yaxis="y2", line_shape="hv",
                                  line=dict(color=_COLORS["damping"], width=1.5, dash="dot")))
        traces["loss"]["damping"] = loss.data[-1]
        return {"singular_values": sv, "loss": loss}, traces

    def _draw(self) -> None:
        """Draw the session's history into the figures, in place (arrays replaced inside
        ``batch_update``; the figures and traces stay the same objects)."""
        h = self._hist = self.session.history
        steps = h["step"].values.astype(float)
        t = self._traces
        with batch(self.figures.values()):
            sv = h["singular_values"].values
            x, lines = self._line(steps, positive(sv[:, np.asarray(self._modes)]))  # one x for all modes
            for j, m in enumerate(self._modes):
                tr = t["singular_values"][f"mode{m}"]
                tr.x, tr.y = x, lines[:, j]
            tl = t["loss"]
            tl["loss"].x, tl["loss"].y = self._line(steps, positive(h["loss"].values))
            tl["error"].x, tl["error"].y = self._line(steps, positive(h["error"].values))
            self._draw_damping_line()
        self.n_updates += 1

    def _draw_damping_line(self) -> None:
        """The recorded damping over step, then the current one at the current step when it
        differs from the last recorded (a slider move shows at once); hidden for gd."""
        h = self._hist
        tr = self._traces["loss"]["damping"]
        axis = self.figures["loss"].layout.yaxis2
        if "damping" not in h:
            tr.update(x=[], y=[], visible=False)
            axis.visible = False
            return
        steps = h["step"].values.astype(float)
        d = h["damping"].values.astype(float)
        now = self.damping
        if d.size and d[-1] != now:
            steps, d = np.append(steps, float(self.session.step)), np.append(d, now)
        x, y = self._line(steps, positive(d))
        tr.update(x=x, y=y, visible=True)
        axis.visible = True

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        return self._layout(
            [["optimizer", "init_scale", "init_scale_readout", "damping", "damping_readout"]],
            ["singular_values", "loss"], "sk-implicit-explorer",
        )
