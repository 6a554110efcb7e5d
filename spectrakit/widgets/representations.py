"""``RepresentationExplorer``: train a self-supervised encoder live and watch its
representation spectrum while a strength slider moves.

Three plotly ``FigureWidget``s over one :class:`~spectrakit.tuning.RepresentationSession`,
filled in chunk by chunk as training runs:

* **eigenvalues** -- the covariance eigenvalues of the embeddings against step, one line
  per mode on a log axis: a collapse shows as every line falling by decades, a
  dimensional collapse as all but a few falling;
* **rank** -- the effective rank against step, with ``d`` (full rank) as a dashed line,
  ``exp`` of the von Neumann entropy, and the strength in force on a right-hand axis;
* **loss** -- the training loss and its (unweighted) terms against step.

The strength slider moves the loss's regularization weight (:data:`STRENGTH`: VICReg's
``var``, VNE's ``alpha``, Barlow Twins' ``lambd``) on the running session, from the next
step on; the loss dropdown builds a new session. Start, Pause, Reset, the learning-rate
slider and the streaming without blocking the kernel come from
:class:`~spectrakit.widgets._streaming.StreamingExplorer`.
"""

from __future__ import annotations

import html
import math
import numbers

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from ..tuning.representations import LOSSES, STRENGTH, TERMS, WEIGHTS, RepresentationSession
from ._controls import FigureBox, GridSlider, batch
from ._explorer import FIG_WIDE, MARGIN, figure_widget, positive
from ._streaming import StreamingExplorer, check_int

__all__ = ["RepresentationExplorer", "STRENGTH_RANGES", "LOSS_LR"]

#: the strength slider's default range per loss (linear; 100 steps). Override with
#: ``strength_ranges=``; a value outside (set from Python) is applied and shown exactly in
#: the readout while the slider rests at the end.
STRENGTH_RANGES = {"vicreg": (0.0, 50.0), "vne": (-2.0, 2.0), "barlow": (0.0, 0.2)}
#: the learning rate a loss gets the first time the dropdown switches to it, with plain
#: gradient descent (``optimizer="sgd"``): the cosine/VNE and the standardized Barlow Twins
#: losses have ~10x smaller gradients than VICReg and train well at about 0.1
LOSS_LR = {"vicreg": 0.01, "vne": 0.1, "barlow": 0.1}

_ALL_TERMS = ("invariance", "variance", "covariance", "vne")
_COLORS = {"loss": "#222222", "invariance": "#1f77b4", "variance": "#d62728", "covariance": "#2ca02c",
           "vne": "#9467bd", "effective_rank": "#222222", "vne_rank": "#9467bd", "d": "#888888",
           "strength": "#ff7f0e"}
_LABELS = {"var": "variance weight var", "alpha": "VNE strength \u03b1", "lambd": "off-diagonal weight \u03bb"}


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


class RepresentationExplorer(StreamingExplorer):
    """Train a :class:`~spectrakit.tuning.RepresentationSession` live, with its covariance
    spectrum, effective rank and loss terms drawn as it runs and a slider for the loss's
    regularization strength.

    Parameters
    ----------
    session : RepresentationSession
        The session to drive. The explorer trains it (``session.run``), sets its learning
        rate and strength weight from the sliders, and replaces it (``session.replace``)
        when the loss changes: :attr:`session` is always the current one.
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
    strength_ranges : dict, optional
        ``{loss: (lo, hi)}``: the strength slider's range for some losses (default
        :data:`STRENGTH_RANGES`: ``var`` in [0, 50], ``alpha`` in [-2, 2], ``lambd`` in
        [0, 0.2]).
    max_modes : int
        At most this many eigenvalue lines (evenly spaced modes, the first and the last
        always included) for a wide embedding; the history keeps every mode.

    Notes
    -----
    **Strength.** The slider moves the loss's regularization weight (:data:`STRENGTH`):
    VICReg's variance weight ``var`` (0 lets the embeddings collapse to a point), VNE's
    ``alpha`` (``> 0`` spreads the spectrum, ``< 0`` collapses it) or Barlow Twins'
    off-diagonal weight ``lambd``. It is a linear slider, 100 steps over a per-loss range:
    ``var = 0``, ``lambd = 0`` and a negative ``alpha`` must be reachable, which a log
    slider cannot do. Like the learning rate it applies to the running session at once
    (``session.var = ...``, from the next step on, paused or running) and is recorded
    (``weight_<name>`` in the history, drawn on the rank figure's right-hand axis); it does
    not restart training. The readout shows the exact value; the other weights of the loss
    are shown beside it (set them on ``explorer.session``, e.g. ``explorer.session.cov = 5``).

    **Loss.** The dropdown builds a new session with ``session.replace(loss=...)``: training
    restarts from step 0 (keeping the running or paused state). The loss weights carry
    over (a ``var`` set for VICReg is still there when you switch back). With
    ``optimizer="sgd"`` the learning rate follows the loss: each loss keeps the ``lr`` it
    last trained with, and starts at :data:`LOSS_LR` (0.1 for ``vne`` and ``barlow``, as
    the session advises); with Adam the ``lr`` carries over. A change that also moves the
    lr slider uses the slider's value.

    **Controls.** *Start* launches training on the running asyncio loop (a Jupyter kernel
    has one; without one :meth:`start` raises and points to :meth:`run`); *Pause* stops
    after the current chunk; *Reset* pauses and returns the session to step 0 (with the
    current lr and weights). Pausing and resuming never changes the numbers.

    **Errors.** A value the session rejects (a negative ``var``, an unknown loss) shows in
    the status line in red, the controls go back to the values applied, and the explorer
    keeps working. An exception while training shows there too and stops the training
    task; a non-finite loss stops training with a note to lower ``lr`` and Reset.

    Attributes
    ----------
    session : RepresentationSession
    figures : dict of go.FigureWidget
        "eigenvalues", "rank", "loss". Their traces by key (:meth:`trace`): eigenvalues:
        ``"mode0"`` ... ``"mode<d-1>"`` (step against eigenvalue; see :attr:`modes`); rank:
        "effective_rank", "vne_rank" (``exp`` of the von Neumann entropy), "d" (dashed),
        "strength" (right axis); loss: "loss" and the terms "invariance", "variance",
        "covariance", "vne" (those the loss does not have are hidden and empty). The loss
        axis is logarithmic unless a value drawn is negative (the VNE term always is).
    controls : dict of widgets
        "start", "pause", "reset" (buttons), "lr", "lr_readout", "loss" (Dropdown),
        "strength", "strength_readout", "weights" (HTML: the loss with its weights). The
        sliders are grid sliders (see :attr:`sliders`).
    status : ipywidgets.HTML
        Step, loss, effective rank, strength, lr, running or paused; errors in red.
    widget : ipywidgets.VBox
        The assembled explorer (about 1000 px wide).
    n_updates : int
        Figure updates so far (each chunk, each control change, each reset).
    task_error : BaseException or None
        The exception that stopped the last training task, if any.

    Examples
    --------
    >>> from spectrakit.tuning import RepresentationSession
    >>> from spectrakit.widgets import RepresentationExplorer
    >>> s = RepresentationSession(n=128, d_in=8, d_out=4, device="cpu")
    >>> explorer = RepresentationExplorer(s, chunk=10, max_steps=100)
    >>> explorer.run(20)
    >>> explorer.session.step
    20
    >>> explorer.strength_name, explorer.strength
    ('var', 25.0)
    >>> explorer.set(strength=0.0); explorer.flush()   # the slider: from step 20 on
    >>> explorer.run(5)
    >>> explorer.session.history.weight_var.sel(step=[20, 21]).values.tolist()
    [25.0, 0.0]
    >>> len(explorer.trace("eigenvalues", "mode0").y), explorer.modes
    (26, [0, 1, 2, 3])
    """

    session_type = RepresentationSession
    rebuild_keys = ("loss",)

    def __init__(self, session, *, chunk: int = 10, max_steps: int = 2000, interval_s: float = 0.02,
                 throttle_s: float = 0.05, lr_range=None, strength_ranges=None, max_modes: int = 16):
        self.max_modes = check_int(max_modes, "max_modes", 2)
        self._ranges = self._check_ranges(strength_ranges)
        if isinstance(session, RepresentationSession):
            self._lr_by_loss = {session.loss: float(session.lr)}
        super().__init__(session, chunk=chunk, max_steps=max_steps, interval_s=interval_s,
                         throttle_s=throttle_s, lr_range=lr_range)

    @staticmethod
    def _check_ranges(ranges) -> dict:
        out = dict(STRENGTH_RANGES)
        if ranges is None:
            return out
        if not isinstance(ranges, dict):
            raise TypeError(f"strength_ranges must be a dict {{loss: (lo, hi)}}; got {type(ranges).__name__}.")
        for loss, pair in ranges.items():
            if loss not in LOSSES:
                raise ValueError(f"strength_ranges names an unknown loss {loss!r}; the losses are {LOSSES}.")
            try:
                lo, hi = (float(v) for v in pair)
            except (TypeError, ValueError):
                raise ValueError(f"strength_ranges[{loss!r}] must be (lo, hi); got {pair!r}.") from None
            floor = -math.inf if STRENGTH[loss] == "alpha" else 0.0
            if not (math.isfinite(lo) and math.isfinite(hi) and floor <= lo < hi):
                raise ValueError(
                    f"strength_ranges[{loss!r}] must be finite (lo, hi) with lo < hi"
                    f"{'' if floor < 0 else ' and lo >= 0'} ({STRENGTH[loss]} = {pair!r} is not)."
                )
            out[loss] = (lo, hi)
        return out

    # ------------------------------------------------------------------ public API

    @property
    def strength_name(self) -> str:
        """The weight the strength slider moves for the current loss (:data:`STRENGTH`)."""
        return STRENGTH[self.session.loss]

    @property
    def strength(self) -> float:
        """The strength applied (the session's ``var``, ``alpha`` or ``lambd``)."""
        return float(getattr(self.session, self.strength_name))

    @property
    def modes(self) -> list[int]:
        """The modes drawn in the eigenvalue figure (0 = the largest eigenvalue, as the history's ``mode``)."""
        return list(self._modes)

    def eigenvalue_lines(self):
        """What the eigenvalue figure shows: ``(steps, modes, values)`` with ``values`` of
        shape ``(steps, modes)`` (NaN where an eigenvalue is not > 0: a gap on the log axis)."""
        t = self._traces["eigenvalues"]
        steps = np.asarray(t[f"mode{self._modes[0]}"].x, dtype=float)
        values = np.stack([np.asarray(t[f"mode{m}"].y, dtype=float) for m in self._modes], axis=1)
        return steps, np.asarray(self._modes), values

    def set(self, *, lr=None, strength=None, **options) -> None:
        """Change controls as a user would: ``lr``, ``strength`` (the loss's
        :data:`STRENGTH` weight; with ``loss=...`` the new loss's) and ``loss``. The changes
        go through the same coalescing (call :meth:`flush` to apply one still pending). A
        value the session rejects shows in the status line (and :attr:`error`); an ``lr``
        off the slider's range raises."""
        unknown = sorted(set(options) - set(self.rebuild_keys))
        if unknown:
            raise TypeError(f"set() got unknown controls {unknown}; it takes lr, strength and loss.")
        loss = options.get("loss")
        if strength is not None and loss is not None:
            # one change: the new session is built with this strength (recorded from step 0)
            if lr is not None and not (self._lr_lo * (1 - 1e-12) <= float(lr) <= self._lr_hi * (1 + 1e-12)):
                super().set(lr=lr)  # raises, naming the slider's range
            name = STRENGTH.get(loss, self.strength_name) if isinstance(loss, str) else self.strength_name
            self._coalescer.submit(loss=loss, weights={name: strength}, source="set")
            super().set(lr=lr, **options)  # the dropdown follows (no second rebuild)
            return
        super().set(lr=lr, **options)
        if strength is None:
            return
        target = self.pending.get("loss", self.session.loss)
        name = STRENGTH.get(target, self.strength_name) if isinstance(target, str) else self.strength_name
        if name == self._strength_slider.name and _is_real(strength):
            self._strength_slider.set(float(strength))  # as a user would: through the slider's handler
        else:
            self._coalescer.submit(weights={name: strength}, source="set")  # the session checks it

    # ------------------------------------------------------------------ controls

    def _build_option_controls(self) -> dict:
        loss = widgets.Dropdown(options=LOSSES, value=self._options["loss"], description="loss",
                                style={"description_width": "initial"}, layout=widgets.Layout(width="150px"))
        name = STRENGTH[self.session.loss]
        lo, hi = self._ranges[self.session.loss]
        self._strength_slider = GridSlider(lo, hi, float(getattr(self.session, name)), name=name,
                                           step=(hi - lo) / 100, log=False, fmt=".4g",
                                           description=_LABELS.get(name, name), css_class="sk-strength-slider",
                                           width="330px")
        self._strength_slider.on_change(self._guard(self._on_strength, "strength slider"))
        weights = widgets.HTML(layout=widgets.Layout(min_width="14em"))
        weights.add_class("sk-loss-weights")
        return {"loss": loss, **self._add_slider("strength", self._strength_slider), "weights": weights}

    def _on_strength(self, value) -> None:
        self._coalescer.submit(weights={self._strength_slider.name: value}, source="strength")

    def _sync_controls(self, source) -> None:
        super()._sync_controls(source)
        loss = self.session.loss
        name = STRENGTH[loss]
        slider = self._strength_slider
        if slider.name != name:
            slider.configure(*self._ranges[loss], self.strength, name=name, description=_LABELS.get(name, name))
        elif source != "strength":  # while dragged the slider may be ahead of the value applied
            slider.show(self.strength)
        self.controls["weights"].value = self._weights_html()

    def _weights_html(self) -> str:
        s = self.session
        w = {k: _fmt(getattr(s, k)) for k in WEIGHTS[s.loss]}
        if s.loss == "vicreg":
            text = f"loss = {w['sim']}\u00b7invariance + var\u00b7variance + {w['cov']}\u00b7covariance"
        elif s.loss == "vne":
            text = "loss = invariance + \u03b1\u00b7vne  (vne = \u2212S, the von Neumann entropy)"
        else:
            text = ("loss = \u03a3\u1d62(1 \u2212 C\u1d62\u1d62)\u00b2 "
                    "+ \u03bb\u00b7\u03a3\u1d62\u2260\u2c7c C\u1d62\u2c7c\u00b2")
        return f"<span style='font-family: monospace; font-size: 12px'>{html.escape(text)}</span>"

    # ------------------------------------------------------------------ apply

    @staticmethod
    def _session_options(session) -> dict:
        return {"loss": session.loss}

    def _pop_live(self, changes: dict) -> dict:
        return changes.pop("weights", None) or {}

    def _live_text(self, key: str) -> str:
        return f"{key} = {_fmt(getattr(self.session, key))}"

    def _on_live(self) -> None:
        self._draw_strength()

    def _replace_kwargs(self, changed: dict) -> dict:
        return {"loss": changed["loss"]} if "loss" in changed else {}

    def _rebuild(self, changed: dict, lr) -> None:
        old_loss, old_lr = self.session.loss, self.session.lr
        auto = None
        if "loss" in changed and lr is None:
            lr = auto = self._lr_for(changed["loss"])
        super()._rebuild(changed, lr)  # raises on a bad value: the old session stays
        self._lr_by_loss[old_loss] = old_lr
        self._lr_by_loss[self.session.loss] = self.session.lr
        if auto is not None:
            self._note += f" (lr = {auto:.3g} for {self.session.loss})"

    def _lr_for(self, loss) -> float | None:
        """The lr a loss switch brings (None: keep the current one)."""
        if not isinstance(loss, str) or loss not in LOSSES:
            return None  # the session names the choices
        lr = self._lr_by_loss.get(loss)
        if lr is None:
            if self.session.optimizer_name != "sgd":
                return None
            lr = LOSS_LR[loss]
        lr = min(max(lr, self._lr_lo), self._lr_hi)
        return None if lr == self.session.lr else lr

    def _on_lr(self) -> None:
        self._lr_by_loss[self.session.loss] = self.session.lr

    # ------------------------------------------------------------------ status

    def _status_values(self) -> list[str]:
        h = self._hist
        erank = float(h["effective_rank"].values[-1])
        d = int(h.sizes["mode"])
        return [f"effective rank = {erank:.3g} of {d}", f"{self.strength_name} = {_fmt(self.strength)}",
                self.session.loss]

    # ------------------------------------------------------------------ figures

    def _shown_modes(self, d: int) -> list[int]:
        if d <= self.max_modes:
            return list(range(d))
        return sorted({int(round(v)) for v in np.linspace(0, d - 1, self.max_modes)})

    def _build_figures(self):
        h = self.session.history
        d = int(h.sizes["mode"])
        self._d = d
        self._modes = self._shown_modes(d)
        xrange = [0, self.max_steps]
        traces: dict[str, dict] = {"eigenvalues": {}, "rank": {}, "loss": {}}
        eig = figure_widget(
            "eigenvalues", "covariance eigenvalues of the embeddings over training (log scale)",
            width=FIG_WIDE, height=320, margin=dict(MARGIN, r=30),
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text="eigenvalue"), exponentformat="power"),
            legend=dict(title=dict(text="mode"), font=dict(size=9)),
        )
        colors = sample_colorscale("Viridis", [i / max(len(self._modes) - 1, 1) for i in range(len(self._modes))])
        for m, color in zip(self._modes, colors):
            eig.add_trace(go.Scatter(name=str(m), mode="lines", line=dict(color=color, width=1.8),
                                     hovertemplate=f"mode {m}<br>step %{{x}}<br>%{{y:.3e}}<extra></extra>"))
            traces["eigenvalues"][f"mode{m}"] = eig.data[-1]

        rank = figure_widget(
            "rank", f"effective rank (of d = {d}) and the strength",
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(title=dict(text="effective rank"), range=[0, d + 0.5]),
            yaxis2=dict(title=dict(text=self.strength_name, font=dict(color=_COLORS["strength"])),
                        overlaying="y", side="right", showgrid=False, tickfont=dict(color=_COLORS["strength"])),
            legend=dict(orientation="h", x=0.0, y=-0.2, yanchor="top"),
            margin=dict(MARGIN, r=55, b=75),
        )
        for key, label, line in (
            ("effective_rank", "effective rank", dict(width=2)),
            ("vne_rank", "exp(von Neumann entropy)", dict(width=1.5, dash="dot")),
            ("d", f"d = {d}", dict(width=1, dash="dash")),
        ):
            rank.add_trace(go.Scatter(name=label, mode="lines", line=dict(color=_COLORS[key], **line)))
            traces["rank"][key] = rank.data[-1]
        traces["rank"]["d"].update(x=[0, self.max_steps], y=[d, d], hoverinfo="skip")
        rank.add_trace(go.Scatter(name=self.strength_name, mode="lines", yaxis="y2", line_shape="hv",
                                  line=dict(color=_COLORS["strength"], width=1.5)))
        traces["rank"]["strength"] = rank.data[-1]

        loss = figure_widget(
            "loss", "training loss and its terms (unweighted)",
            xaxis=dict(title=dict(text="step"), range=xrange),
            yaxis=dict(type="log", title=dict(text="loss, term"), exponentformat="power"),
            legend=dict(orientation="h", x=0.0, y=-0.2, yanchor="top"),
            margin=dict(MARGIN, b=75),
        )
        for key in ("loss",) + _ALL_TERMS:
            loss.add_trace(go.Scatter(name=key, mode="lines",
                                      line=dict(color=_COLORS[key], width=2 if key == "loss" else 1.5)))
            traces["loss"][key] = loss.data[-1]
        return {"eigenvalues": eig, "rank": rank, "loss": loss}, traces

    def _draw(self) -> None:
        """Draw the session's history into the figures, in place (arrays replaced inside
        ``batch_update``; the figures and traces stay the same objects)."""
        h = self._hist = self.session.history
        steps = h["step"].values.astype(float)
        t = self._traces
        with batch(self.figures.values()):
            eig = h["eigenvalues"].values
            drawn = [m for m in self._modes if m < eig.shape[1]]
            x, lines = self._line(steps, positive(eig[:, np.asarray(drawn, dtype=int)]))  # one x for all
            for m in self._modes:
                tr = t["eigenvalues"][f"mode{m}"]
                if m < eig.shape[1]:
                    tr.x, tr.y = x, lines[:, drawn.index(m)]
                else:
                    tr.x, tr.y = [], []
            tr = t["rank"]
            tr["effective_rank"].x, tr["effective_rank"].y = self._line(steps, h["effective_rank"].values.astype(float))
            tr["vne_rank"].x, tr["vne_rank"].y = self._line(steps, np.exp(h["entropy"].values.astype(float)))
            self._draw_strength_line()
            tl = t["loss"]
            terms = TERMS[self.session.loss]
            drawn = [h["loss"].values]
            tl["loss"].x, tl["loss"].y = self._line(steps, h["loss"].values.astype(float))
            for key in _ALL_TERMS:
                if key in terms:
                    values = h[key].values.astype(float)
                    drawn.append(values)
                    x, y = self._line(steps, values)
                    tl[key].update(x=x, y=y, visible=True)
                else:
                    tl[key].update(x=[], y=[], visible=False)
            values = np.concatenate(drawn)
            negative = bool((values[np.isfinite(values)] < 0).any())
            self.figures["loss"].layout.yaxis.type = "linear" if negative else "log"
        self.n_updates += 1

    def _draw_strength(self) -> None:
        """After a strength change: only the strength line moves."""
        with self.figures["rank"].batch_update():
            self._draw_strength_line()
        self.n_updates += 1

    def _draw_strength_line(self) -> None:
        """The recorded strength over step, then the current one at the current step when it
        differs from the last recorded (a slider move shows at once, before the next step)."""
        h = self._hist
        name = self.strength_name
        steps = h["step"].values.astype(float)
        w = h[f"weight_{name}"].values.astype(float)
        now = self.strength
        if w.size and w[-1] != now:
            steps, w = np.append(steps, float(self.session.step)), np.append(w, now)
        tr = self._traces["rank"]["strength"]
        (tr.x, tr.y), tr.name = self._line(steps, w), name
        self.figures["rank"].layout.yaxis2.title.text = name

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        return self._layout([["loss", "strength", "strength_readout", "weights"]], ["eigenvalues", ["rank", "loss"]],
                            "sk-representation-explorer")
