"""``LearningCurveExplorer``: move ``reg``, the spectrum's decay ``alpha``, the target's
decay ``beta``, the sample size ``n`` and the label noise, and watch the learning curve,
its Monte-Carlo measurement and the error's split over the modes move together.

Three plotly ``FigureWidget``\\ s over one :class:`~spectrakit.tuning.curves.LearningCurveSession`
(on :class:`~spectrakit.widgets._explorer.ExplorerBase`: the log ``reg`` slider, coalescing,
errors in the status line):

* **curve** -- the excess risk against ``n`` (log-log) at the current ``reg``: the
  deterministic equivalent with its bias and variance, the Monte-Carlo means with error
  bars of two standard errors, the current ``n`` marked and ``n = P`` (the number of modes,
  where the ridgeless interpolator's variance blows up) dotted;
* **modes** -- at the current ``n``: the bias and the variance of each mode of the learned
  function against the mode index (log-log), the target's power ``c_k**2`` for reference,
  and the filter factors (for ridge the learnabilities ``lambda_k/(lambda_k + kappa)``) on
  a second axis in [0, 1], with the filter's step (ridge: ``lambda_k = kappa``; cut-off:
  the rank) dotted;
* **path** -- the excess risk against ``reg`` at the current ``n``, with its bias and
  variance, the current ``reg`` and the best ``reg`` on the grid marked.

Every move redraws all three in place. A ``reg``, ``beta`` or ``noise`` move costs the
theory (milliseconds) and the Monte-Carlo filter on cached decompositions; an ``n`` move no
Monte-Carlo work; an ``alpha`` move one batched eigendecomposition per Monte-Carlo sample
size (the session caches them per ``alpha``).
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import xarray as xr

from ..tuning.curves import LearningCurveSession
from ._controls import FigureBox, GridSlider, batch, format_value, move_control
from ._explorer import FIG_H, FIG_W, FIG_WIDE, MARGIN, ExplorerBase, figure_widget, log_range, positive

__all__ = ["LearningCurveExplorer", "ALPHA_RANGE", "BETA_RANGE", "NOISE_RANGE"]

#: the sliders' default ranges (widened to hold a session's value) and their step
ALPHA_RANGE = (0.5, 3.0)
BETA_RANGE = (0.5, 6.0)
NOISE_RANGE = (0.0, 1.0)
_STEP = 0.05
#: the n slider's positions in each decade (times 10**d): round numbers, about geometric
_MANTISSAS = (1, 1.1, 1.2, 1.3, 1.5, 1.6, 1.8, 2, 2.2, 2.5, 2.8, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9)
# legends in a row above the plot: over it they would hide the peak and the current-reg marker
_LEGEND_ABOVE = dict(
    legend=dict(orientation="h", x=0.0, y=1.01, yanchor="bottom", font=dict(size=9), bgcolor="rgba(0,0,0,0)"),
    height=FIG_H + 40, margin=dict(MARGIN, t=80),
)
_COLORS = {
    "error": "#1f77b4", "bias2": "#2ca02c", "variance": "#d62728", "mc": "#000000", "current": "#ff7f0e",
    "target": "#9e9e9e", "factors": "#9467bd", "best": "#ff7f0e", "marker": "#7f7f7f",
}
_FLOATS = ("alpha", "beta", "noise")


def _n_options(lo: float, hi: float, extra) -> list[int]:
    """Whole sample sizes from ``lo`` to ``hi`` on a round, about geometric scale, plus ``extra``."""
    lo, hi = max(1, int(round(lo))), max(1, int(round(hi)))
    values = {int(round(m * 10**d)) for d in range(len(str(hi)) + 1) for m in _MANTISSAS}
    return sorted({v for v in values if lo <= v <= hi} | {lo, hi} | {int(v) for v in extra})


def _slider_range(default, value) -> tuple[float, float]:
    lo, hi = default
    return min(lo, math.floor(value / _STEP) * _STEP), max(hi, math.ceil(value / _STEP) * _STEP)


class LearningCurveExplorer(ExplorerBase):
    """Explore learning curves live: ``reg``, ``alpha``, ``beta``, ``n`` and ``noise``.

    Parameters
    ----------
    session : LearningCurveSession, optional
        The session to drive (its state follows the controls). Default: a new one built
        from the arguments below and ``session_kwargs``.
    reg, alpha, beta, n, noise : optional
        The starting values (default: the session's). ``reg`` must be > 0 (the slider is
        logarithmic) and inside the session's ``reg_grid``; ``n`` is shown on a slider of whole
        numbers spanning the session's ``n_grid`` on a round, about geometric scale (10, 11,
        12, 13, 15, 16, 18, 20, 22, 25, ... per decade), with ``n`` and the Monte-Carlo sizes
        added.
    device : optional
        Where a session built here computes (not allowed with a session).
    throttle_s : float
        While a slider is dragged, at most one recomputation per ``throttle_s`` seconds;
        the last value is always applied (trailing update on the kernel's event loop, or
        :meth:`flush`).
    **session_kwargs
        Without a session: passed to :class:`~spectrakit.tuning.curves.LearningCurveSession`
        (``n_modes``, ``method``, ``n_grid``, ``reg_grid``, ``n_mc``, ``trials``, ``seed``,
        ``dtype``).

    Attributes
    ----------
    session : LearningCurveSession
    figures : dict of go.FigureWidget
        "curve", "modes", "path". Their traces by key (:meth:`trace`): curve: "error",
        "bias2", "variance", "mc", "current", "interpolation"; modes: "target", "bias2",
        "variance", "factors", "step"; path: "error", "bias2", "variance", "current",
        "best".
    controls : dict of widgets
        "reg", "alpha", "beta", "noise" (grid sliders, see :attr:`sliders`, each with a
        ``<key>_readout``), "n" (SelectionSlider of whole numbers, about geometric).
    status : ipywidgets.HTML
    widget : ipywidgets.VBox
    n_updates : int

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.widgets.curves import LearningCurveExplorer
    >>> ex = LearningCurveExplorer(n_modes=200, n_mc=[20, 50], trials=8, reg=0.1, device="cpu")
    >>> ex.set(reg=0.01, alpha=2.0, n=50); ex.flush()
    >>> ex.reg, ex.alpha, ex.n
    (0.01, 2.0, 50)
    >>> out = ex.session.update()
    >>> bool(np.allclose(ex.trace("curve", "error").y, out["error"].values))
    True
    """

    def __init__(self, session=None, *, reg=None, alpha=None, beta=None, n=None, noise=None, device=None,
                 throttle_s=0.05, **session_kwargs):
        if session is None:
            given = dict(reg=reg, alpha=alpha, beta=beta, n=n, noise=noise)
            session = LearningCurveSession(device=device, **{k: v for k, v in given.items() if v is not None},
                                           **session_kwargs)
        elif not isinstance(session, LearningCurveSession):
            raise TypeError(
                f"session must be a LearningCurveSession (or None to build one); got {type(session).__name__}."
            )
        else:
            if device is not None:
                raise TypeError("device: the session is built already; build it with device=... instead.")
            if session_kwargs:
                raise TypeError(
                    f"{sorted(session_kwargs)}: the session is built already; pass these to "
                    "LearningCurveSession instead."
                )
        super().__init__(session, session.reg if reg is None else reg)
        self._check_reg(self._reg)
        # checked by the session (None: its value), which is left as it was
        first = session.check(self._reg, alpha, beta, n, noise)
        self._alpha, self._beta, self._n, self._noise = (first[k] for k in ("alpha", "beta", "n", "noise"))
        self._ranges = {
            "alpha": _slider_range(ALPHA_RANGE, self._alpha),
            "beta": _slider_range(BETA_RANGE, self._beta),
            "noise": _slider_range(NOISE_RANGE, self._noise),
        }
        lo, hi = float(session.n_grid.min()), float(session.n_grid.max())
        on_curve = [m for m in session.n_mc.tolist() if lo <= m <= hi]  # so the slider can land on the MC points
        self._n_options = _n_options(lo, hi, [self._n, *on_curve])
        self._step = None
        self._view: dict = {}
        self._start(throttle_s, {"reg": self._reg, "alpha": self._alpha, "beta": self._beta, "n": self._n,
                                 "noise": self._noise, "source": "init"})

    # ------------------------------------------------------------------ public API

    @property
    def alpha(self) -> float:
        """The spectrum's decay exponent applied (the figures show it)."""
        return self._alpha

    @property
    def beta(self) -> float:
        """The target's decay exponent applied."""
        return self._beta

    @property
    def n(self) -> int:
        """The sample size applied."""
        return self._n

    @property
    def noise(self) -> float:
        """The label noise's standard deviation applied."""
        return self._noise

    @property
    def result(self) -> xr.Dataset | None:
        """The session's labelled answer for the state shown."""
        return None if self._step is None else self.session.to_dataset(self._step)

    def set(self, reg=None, alpha=None, beta=None, n=None, noise=None) -> None:
        """Change controls as a user would; the change goes through the same coalescing.

        ``n`` must be one of the n slider's values (``controls["n"].options``). Call
        :meth:`flush` to apply a change still pending. Values outside a slider's range
        raise ``ValueError``; errors of the computation show in the status line.
        """
        if reg is not None:
            reg = self._check_reg(reg)
        floats = {}
        for name, value in (("alpha", alpha), ("beta", beta), ("noise", noise)):
            if value is None:
                continue
            value = float(value)
            lo, hi = self._ranges[name]
            if not (math.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{name} must be in [{lo:g}, {hi:g}] (the slider's range); got {value!r}.")
            floats[name] = value
        if n is not None:
            options = self._n_options
            if isinstance(n, bool) or not float(n).is_integer() or int(n) not in options:
                near = options[int(np.argmin(np.abs(np.log(options) - math.log(max(float(n), 1e-300)))))]
                raise ValueError(
                    f"n={n!r} is not on the n slider (whole numbers from {options[0]} to {options[-1]}, about "
                    f"geometric); the nearest is {near}. For any n, use session.update(n=...)."
                )
            n = int(n)
        for name, value in floats.items():
            self._sliders[name].set(value)
        if n is not None:
            move_control(self.controls["n"], n, self._coalescer, n=n)
        if reg is not None:
            self._reg_slider.set(reg)

    # ------------------------------------------------------------------ controls

    def _build_controls(self) -> dict:
        controls = self._reg_controls()
        labels = {"alpha": "\u03b1 (spectrum decay)", "beta": "\u03b2 (target decay)", "noise": "noise \u03c3"}
        symbols = {"alpha": "\u03b1", "beta": "\u03b2", "noise": "\u03c3"}
        self._sliders = {}
        for name in _FLOATS:
            slider = self._sliders[name] = GridSlider(
                *self._ranges[name], getattr(self, f"_{name}"), name=symbols[name], step=_STEP, log=False, fmt=".2f",
                description=labels[name], css_class=f"sk-{name}-slider", width="250px",
            )
            slider.on_change(self._guard(lambda value, k=name: self._coalescer.submit(**{k: value, "source": k}), name))
            controls.update(self._add_slider(name, slider))
        n = widgets.SelectionSlider(
            options=self._n_options, value=self._n, description="n (samples)", continuous_update=True,
            style={"description_width": "initial"}, layout=widgets.Layout(width="320px"),
        )
        n.add_class("sk-n-slider")
        n.observe(self._guard(lambda change: self._coalescer.submit(n=int(change["new"]), source="n"), "n"),
                  names="value")
        controls["n"] = n
        return controls

    # ------------------------------------------------------------------ apply

    _draws_path = False  # the error over reg comes with every answer

    def _session_params(self, changes: dict) -> dict:
        # every value explicitly: the explorer, not whoever drove the session last, says what is shown
        return dict(
            reg=float(changes.get("reg", self._reg)), alpha=changes.get("alpha", self._alpha),
            beta=changes.get("beta", self._beta), n=changes.get("n", self._n), noise=changes.get("noise", self._noise),
        )

    def _applied(self, st, params: dict):
        self._step = st
        self._reg, self._alpha, self._beta, self._n, self._noise = st.reg, st.alpha, st.beta, st.n, st.noise
        self._view = self._arrays(st)
        return st

    def _arrays(self, st) -> dict:
        """What the figures and the status line show, as numpy arrays (one transfer)."""

        def np_(t):
            return t.detach().cpu().numpy().astype(float)

        path = np_(st.path.error)
        best = int(np.argmin(np.where(np.isfinite(path), path, np.inf)))
        lam = np_(st.lam)
        view = dict(
            error=np_(st.curve.error), bias2=np_(st.curve.bias2), variance=np_(st.curve.variance),
            mc_error=np_(st.mc["error"]), mc_se=np_(st.mc["error_se"]),
            bias2_mode=np_(st.at_n.bias2_mode), variance_mode=np_(st.at_n.variance_mode),
            factors=np_(st.at_n.factors), target=np_(st.c * st.c), lam=lam,
            error_at_n=float(st.at_n.error), bias2_at_n=float(st.at_n.bias2), variance_at_n=float(st.at_n.variance),
            path=path, bias2_path=np_(st.path.bias2), variance_path=np_(st.path.variance),
            best_reg=float(self.session.reg_grid[best]), best_error=float(path[best]),
        )
        if st.at_n.kappa is not None:
            kappa = float(st.at_n.kappa)
            view["kappa"] = kappa
            # the learnability's step lambda_k = kappa, at k = kappa**(-1/alpha) on the power law
            view["step"] = kappa ** (-1.0 / st.alpha) if kappa > 0 else math.inf
        if st.native is not None:
            view["native"] = (st.native[0], int(st.native[2]))
            view["step"] = st.native[2] + 0.5
        return view

    def _sync_controls(self, source) -> None:
        with self._quiet:
            if source != "slider":
                self._reg_slider.show(self._reg)
            for name in _FLOATS:
                if source != name:
                    self._sliders[name].show(getattr(self, f"_{name}"))
            if source != "n" and self.controls["n"].value != self._n:
                self.controls["n"].value = self._n

    def _status_parts(self, st) -> list[str]:
        v = self._view
        parts = [self.session.method, format_value("reg", st.reg), f"n = {st.n}",
                 f"\u03b1 = {st.alpha:.2f}", f"\u03b2 = {st.beta:.2f}", f"noise = {st.noise:.2f}",
                 f"error {v['error_at_n']:.3e} = bias\u00b2 {v['bias2_at_n']:.2e} + variance {v['variance_at_n']:.2e}",
                 f"best reg at n: {v['best_reg']:.2e}"]
        if "kappa" in v:
            parts.append(f"\u03ba = {v['kappa']:.2e}")
        if "native" in v:
            parts.append(f"{v['native'][0]} = {v['native'][1]}")
        parts.append(f"device {self.session.device}")
        return parts

    # ------------------------------------------------------------------ figures

    def _build_figures(self):
        s = self.session
        traces: dict[str, dict] = {}

        def add(fig, fig_name, key, trace):
            fig.add_trace(trace)
            traces.setdefault(fig_name, {})[key] = fig.data[-1]

        log = dict(type="log", exponentformat="power")
        n_lo, n_hi = float(s.n_grid.min()), float(s.n_grid.max())
        curve = figure_widget(
            "curve", "learning curve: excess risk against n",
            xaxis=dict(log, range=[math.log10(n_lo) - 0.05, math.log10(n_hi) + 0.05], title=dict(text="n (samples)")),
            yaxis=dict(log, title=dict(text="E\u2016f\u0302 \u2212 f*\u2016\u00b2")),
            **_LEGEND_ABOVE,
        )
        n = s.n_grid
        add(curve, "curve", "error", go.Scatter(x=n, name="error (theory)", mode="lines",
                                                line=dict(color=_COLORS["error"], width=2.5)))
        add(curve, "curve", "bias2", go.Scatter(x=n, name="bias\u00b2", mode="lines",
                                                line=dict(color=_COLORS["bias2"], dash="dash", width=1.5)))
        add(curve, "curve", "variance", go.Scatter(x=n, name="variance", mode="lines",
                                                   line=dict(color=_COLORS["variance"], dash="dot", width=1.5)))
        add(curve, "curve", "mc", go.Scatter(
            x=s.n_mc, name=f"Monte-Carlo ({s.trials} draws, \u00b12 SE)", mode="markers",
            marker=dict(color=_COLORS["mc"], size=8, symbol="circle-open", line=dict(width=2)),
            error_y=dict(type="data", array=[], color=_COLORS["mc"], thickness=1.5),
        ))
        add(curve, "curve", "current", go.Scatter(name="current n", mode="markers", hoverinfo="x+y",
                                                  marker=dict(color=_COLORS["current"], size=12, symbol="circle")))
        add(curve, "curve", "interpolation", go.Scatter(
            x=[s.n_modes, s.n_modes] if n_lo <= s.n_modes <= n_hi else [], name=f"n = P = {s.n_modes} modes",
            mode="lines", hoverinfo="skip", line=dict(color=_COLORS["marker"], dash="dot", width=1),
        ))

        k = np.arange(1, s.n_modes + 1)
        modes = figure_widget(
            "modes", "per mode at the current n",
            xaxis=dict(log, title=dict(text="mode k (eigenvalue index)")),
            yaxis=dict(log, title=dict(text="power")),
            yaxis2=dict(title=dict(text="filter factor"), overlaying="y", side="right", range=[-0.05, 1.05],
                        showgrid=False, tickvals=[0, 0.5, 1]),
            legend=_LEGEND_ABOVE["legend"], width=FIG_WIDE, margin=dict(MARGIN, r=60, t=60),
        )
        add(modes, "modes", "target", go.Scatter(x=k, name="target c<sub>k</sub>\u00b2", mode="lines",
                                                 line=dict(color=_COLORS["target"], width=3)))
        add(modes, "modes", "bias2", go.Scatter(x=k, name="bias\u00b2 per mode", mode="lines",
                                                line=dict(color=_COLORS["bias2"], width=2)))
        add(modes, "modes", "variance", go.Scatter(x=k, name="variance per mode", mode="lines",
                                                   line=dict(color=_COLORS["variance"], width=2)))
        add(modes, "modes", "factors", go.Scatter(x=k, name="filter factor \u2192", mode="lines", yaxis="y2",
                                                  line=dict(color=_COLORS["factors"], dash="dash", width=1.5)))
        add(modes, "modes", "step", go.Scatter(
            name="\u03bb<sub>k</sub> = \u03ba" if s.method == "ridge" else "rank", mode="lines", yaxis="y2",
            hoverinfo="skip", line=dict(color=_COLORS["marker"], dash="dot", width=1),
        ))

        path = figure_widget(
            "path", "excess risk against reg at the current n",
            xaxis=dict(log, range=[math.log10(self._grid_lo), math.log10(self._grid_hi)], title=dict(text="reg")),
            yaxis=dict(log, title=dict(text="E\u2016f\u0302 \u2212 f*\u2016\u00b2")),
            **_LEGEND_ABOVE,
        )
        reg = s.reg_grid
        add(path, "path", "error", go.Scatter(x=reg, name="error", mode="lines",
                                              line=dict(color=_COLORS["error"], width=2.5)))
        add(path, "path", "bias2", go.Scatter(x=reg, name="bias\u00b2", mode="lines",
                                              line=dict(color=_COLORS["bias2"], dash="dash", width=1.5)))
        add(path, "path", "variance", go.Scatter(x=reg, name="variance", mode="lines",
                                                 line=dict(color=_COLORS["variance"], dash="dot", width=1.5)))
        add(path, "path", "current", go.Scatter(name="current reg", mode="markers",
                                                marker=dict(color=_COLORS["current"], size=12)))
        add(path, "path", "best", go.Scatter(
            name="best reg", mode="markers",
            marker=dict(color=_COLORS["best"], size=11, symbol="diamond", line=dict(width=1, color="#333")),
        ))
        return {"curve": curve, "modes": modes, "path": path}, traces

    def _draw_reg(self, st) -> None:
        v, t = self._view, self._traces
        with batch(self.figures.values()):
            c = t["curve"]
            c["error"].y, c["bias2"].y, c["variance"].y = v["error"], positive(v["bias2"]), positive(v["variance"])
            c["mc"].y = v["mc_error"]
            c["mc"].error_y.array = 2 * v["mc_se"]
            c["current"].x, c["current"].y = [st.n], [v["error_at_n"]]
            lo, hi = log_range(v["error"], v["mc_error"], [v["error_at_n"]], pad=0.0)
            span = [lo - 1.0, hi + 0.3]
            self.figures["curve"].layout.yaxis.range = span
            c["interpolation"].y = [10 ** span[0], 10 ** span[1]] if len(c["interpolation"].x or ()) else []

            m = t["modes"]
            m["target"].y = v["target"]
            m["bias2"].y, m["variance"].y = positive(v["bias2_mode"]), positive(v["variance_mode"])
            m["factors"].y = v["factors"]
            step = v.get("step", math.inf)
            m["step"].x, m["step"].y = ([step, step], [-0.05, 1.05]) if 1 <= step <= self.session.n_modes else ([], [])
            lo, hi = log_range(v["target"], v["bias2_mode"], pad=0.3)
            self.figures["modes"].layout.yaxis.range = [max(lo, hi - 12.0), hi]

            p = t["path"]
            p["error"].y = v["path"]
            p["bias2"].y, p["variance"].y = positive(v["bias2_path"]), positive(v["variance_path"])
            p["current"].x, p["current"].y = [st.reg], [v["error_at_n"]]
            p["best"].x, p["best"].y = [v["best_reg"]], [v["best_error"]]
            lo, hi = log_range(v["path"], pad=0.0)
            self.figures["path"].layout.yaxis.range = [lo - 1.0, hi + 0.3]

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        c = self.controls
        row = dict(align_items="center", flex_flow="row wrap")
        rows = [
            widgets.HBox([c["reg"], c["reg_readout"]], layout=widgets.Layout(**row)),
            widgets.HBox([c["n"], c["noise"], c["noise_readout"]], layout=widgets.Layout(**row)),
            widgets.HBox([c["alpha"], c["alpha_readout"], c["beta"], c["beta_readout"]], layout=widgets.Layout(**row)),
        ]
        grid = widgets.GridBox(
            [self.figures["curve"], self.figures["path"]],
            layout=widgets.Layout(grid_template_columns=f"repeat(2, {FIG_W}px)", grid_gap="6px 12px",
                                  width=f"{FIG_WIDE + 12}px"),
        )
        box = FigureBox([*rows, self.status, grid, self.figures["modes"]], figures=self.figures.values(),
                        layout=widgets.Layout(width=f"{FIG_WIDE + 30}px"))
        box.add_class("sk-learning-curve-explorer")
        return box
