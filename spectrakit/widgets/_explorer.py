"""What every explorer shares: :class:`ExplorerBase` (the ``reg`` slider, coalescing,
error handling and the Python API) and the figure helpers (the explorers' figure style and
the parameter-choice criteria figure).

An explorer drives one GUI-free session through its public methods only (the session
contract of :mod:`spectrakit.tuning._session`; widgets never import core). Every control
change goes through one :class:`~spectrakit.widgets._controls.Coalescer`;
:meth:`ExplorerBase._apply` applies it the same way for every explorer: the session's
path for the new settings (cached) and its choices, then ``session.apply`` (solve and
commit, atomic), then the figures are redrawn in place, the controls follow the applied
state and the status line is written. An error shows in the status line; the session and
the figures stay as they were, so nothing needs restoring.

Generic on purpose (nothing capability-specific): the filtering, Fourier, graph-filter
and learning-curve explorers inherit it.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ._controls import Coalescer, ExplorerFront, GridSlider, QuietFlag, StatusLine, batch
from ._figure import Figure

__all__ = [
    "ExplorerBase", "FIG_W", "FIG_H", "FIG_WIDE", "MARGIN", "positive", "log_range", "figure_widget",
    "criteria_figure", "draw_criteria", "mark_choices",
]

FIG_W, FIG_H = 480, 300
FIG_WIDE = 2 * FIG_W + 12  # a figure as wide as two side by side with their gap
MARGIN = dict(l=60, r=20, t=40, b=45)


class ExplorerBase(ExplorerFront):
    """The part every explorer shares: a log-scale ``reg`` slider over the session's
    ``reg_grid``, coalescing of control changes, a status line that shows errors, and the
    Python API (:meth:`flush`, :meth:`trace`, :attr:`reg`, :attr:`error`, :attr:`pending`).

    A subclass calls ``super().__init__(session, reg)`` (which checks ``reg``), sets up its
    own state, then calls :meth:`_start` with the first change. It provides:

    * ``_build_controls()`` -> dict of widgets (with :meth:`_reg_controls` in it);
    * ``_build_figures()`` -> ``(figures, traces)``; ``_build_layout()`` -> the widget;
    * ``_session_params(changes)``: the session's settings for a change (the change's
      values, the rest as the figures show them);
    * ``_applied(answer, params)``: record the applied state and return what the figures
      draw (the session's answer, or its labels);
    * ``_draw_path(path, choices)``, ``_draw_reg(out)``, ``_status_parts(out)`` (a list of
      strings) and ``_sync_controls(source)`` (controls follow the applied state, except
      the control the change came from, ``source``).
    """

    def __init__(self, session, reg):
        self.session = session
        grid = np.asarray(session.reg_grid, dtype=float)
        self._grid_lo, self._grid_hi = float(grid.min()), float(grid.max())
        if not (float(reg) > 0 and math.isfinite(float(reg))):
            raise ValueError(f"reg must be finite and > 0 for the explorer's log-scale slider; got {reg!r}.")
        self._reg = float(reg)
        self._path_drawn = None  # the path the figures show: none yet
        self._choices: dict = {}
        self._quiet = QuietFlag()
        self._source = None
        self.n_updates = 0

    def _start(self, throttle_s: float, first: dict) -> None:
        """Build the widget and draw ``first``, through the same code as every later change."""
        self._status = StatusLine("sk-status")
        self.status = self._status.widget
        self.controls = self._build_controls()
        self.figures, self._traces = self._build_figures()
        self.widget = self._adopt(self._build_layout())
        self._coalescer = Coalescer(self._apply, throttle_s=throttle_s, on_error=self._on_apply_error)
        self._coalescer.submit(**first)
        self._coalescer.flush()

    # ------------------------------------------------------------------ public API

    @property
    def reg(self) -> float:
        """The strength currently applied (the figures show it)."""
        return self._reg

    def _check_reg(self, reg) -> float:
        """``reg`` as a float, or a ValueError unless it lies in the slider's range."""
        reg = float(reg)
        if not (reg > 0 and math.isfinite(reg)):
            raise ValueError(f"reg must be finite and > 0 for the log slider; got {reg!r}.")
        lo, hi = self._grid_lo, self._grid_hi
        if not (lo * (1 - 1e-12) <= reg <= hi * (1 + 1e-12)):
            raise ValueError(
                f"reg={reg:.3g} is outside the slider's range [{lo:.3g}, {hi:.3g}] (the "
                "session's reg_grid); build the session with a wider reg_grid."
            )
        return reg

    # ------------------------------------------------------------------ controls

    def _reg_controls(self) -> dict:
        """The ``reg`` slider (a grid even in log10 reg over the session's reg_grid) and its readout."""
        self._reg_slider = GridSlider(
            self._grid_lo, self._grid_hi, self._reg, name="reg", step=0.05, css_class="sk-reg-slider"
        )
        self._reg_slider.on_change(self._guard(self._on_slider, "reg slider"))
        return self._add_slider("reg", self._reg_slider)

    def _on_slider(self, reg: float) -> None:
        self._coalescer.submit(reg=reg, source="slider")

    # ------------------------------------------------------------------ apply

    #: whether the explorer draws the session's path (its criteria figure)
    _draws_path = True

    def _apply(self, changes: dict) -> None:
        """Apply one (coalesced) change: the same code for every explorer.

        The session's path for the new settings (cached by the session; drawn only when it
        is not the one shown) and its choices are read first, then ``session.apply`` solves
        and commits atomically: when anything raises, the session and the figures stay as
        they were (the error goes to the status line), with nothing to restore.
        """
        self._source = changes.get("source")
        params = self._session_params(changes)
        session = self.session
        path = choices = None
        if self._draws_path:
            settings = {k: v for k, v in params.items() if k != "reg"}  # what the path depends on
            new_path = session.path_for(**settings)
            if new_path is not self._path_drawn:
                path, choices = new_path, session.choices(**settings)
        answer = session.apply(**params)
        self._show_applied(self._applied(answer, params), path, choices)

    def _show_applied(self, out, path=None, choices=None) -> None:
        """Show a change just applied: the path figures when ``path`` is given (a new path),
        then what every reg move changes, the controls, the status."""
        self.n_updates += 1
        if path is not None:
            with batch(self.figures.values()):
                self._draw_path(path, choices)
            self._path_drawn = path
        self._draw_reg(out)
        self._sync_controls(self._source)
        self._show_status(out)

    def _show_status(self, out) -> None:
        parts = self._status_parts(out)
        parts.append(f"updates {self.n_updates}")
        self._status.show("  \u00b7  ".join(parts))


# ---------------------------------------------------------------------- figures


def positive(values) -> np.ndarray:
    """float array with non-positive and non-finite values as NaN (gaps on a log axis)."""
    a = np.asarray(values, dtype=float).copy()
    a[~np.isfinite(a) | (a <= 0)] = np.nan
    return a


def log_range(*arrays, pad: float = 0.3) -> list[float]:
    """``[log10 min - pad, log10 max + pad]`` of the positive finite values (else [-1, 1])."""
    vals = np.concatenate([positive(a).ravel() for a in arrays])
    vals = vals[np.isfinite(vals)]
    if not vals.size:
        return [-1.0, 1.0]
    return [float(np.log10(vals.min())) - pad, float(np.log10(vals.max())) + pad]


def figure_widget(name, title, *, width=FIG_W, height=FIG_H, margin=MARGIN, legend=None, **layout) -> go.FigureWidget:
    """An empty :class:`~spectrakit.widgets._figure.Figure` (plotly's ``FigureWidget`` with
    plotly.js shared and no echo traffic) in the explorers' style, with CSS class ``sk-fig-<name>``;
    ``layout`` goes to ``go.Layout`` and ``legend`` updates the small legend's style."""
    fig = Figure(
        layout=go.Layout(
            title=dict(text=title, font=dict(size=14), x=0.02, y=0.985, yref="container", yanchor="top"),
            width=width, height=height, margin=margin, template="plotly_white",
            legend={"font": dict(size=10), "bgcolor": "rgba(255,255,255,0.6)", **(legend or {})},
            **layout,
        )
    )
    fig.add_class(f"sk-fig-{name}")
    return fig


def criteria_figure(title, reg_lo, reg_hi, curve_labels, colors):
    """The parameter-choice figure (class ``sk-fig-criteria``) over reg in [reg_lo, reg_hi],
    log-log: a line per ``(key, label)`` of ``curve_labels`` in ``colors[key]``, the
    "choices" markers and the "current" reg line (``colors["current"]``). Returns the
    figure and its traces by key; :func:`draw_criteria` and :func:`mark_choices` fill it.

    The legend sits in two columns above the plot (over it, it hid the curves' upper
    parts), "choices" last: its name grows with the choices that sit on no curve."""
    fig = figure_widget(
        "criteria", title,
        xaxis=dict(type="log", range=[math.log10(reg_lo), math.log10(reg_hi)], title=dict(text="reg"),
                   exponentformat="power"),
        yaxis=dict(type="log", title=dict(text="value / its minimum"), exponentformat="power"),
        legend=dict(orientation="h", x=0.0, xanchor="left", y=1.0, yanchor="bottom", entrywidth=0.5,
                    entrywidthmode="fraction", itemwidth=30, font=dict(size=9), bgcolor="rgba(0,0,0,0)"),
        margin=dict(MARGIN, t=96),
    )
    for rank, (key, label) in enumerate(curve_labels, 1):
        fig.add_trace(go.Scatter(name=label, mode="lines", line=dict(color=colors[key], width=2), legendrank=rank))
    fig.add_trace(go.Scatter(
        name="choices", mode="markers", hoverinfo="text", legendrank=1001,
        marker=dict(size=10, symbol="diamond", color="#ff7f0e", line=dict(width=1, color="#333")),
    ))
    fig.add_trace(go.Scatter(name="current reg", mode="lines", hoverinfo="skip", legendrank=1000,
                             line=dict(color=colors["current"], dash="dash", width=1.5)))
    keys = [key for key, _ in curve_labels] + ["choices", "current"]
    return fig, dict(zip(keys, fig.data))


def draw_criteria(fig, traces, reg, values, curve_labels):
    """Draw the criteria over ``reg``: ``values`` maps a key of ``curve_labels`` to its
    values (a key it lacks hides that curve). Each curve is divided by its minimum, so each
    touches 1 at its minimizer, except "discrepancy" (``||r||/noise``: its principle picks
    where it reaches 1). Returns the curves drawn and the y span for the current-reg line."""
    curves = {}
    for key, _ in curve_labels:
        if key not in values:
            traces[key].x, traces[key].y, traces[key].visible = [], [], False
            continue
        y = positive(values[key])
        if key != "discrepancy":
            finite = y[np.isfinite(y)]
            y = y / finite.min() if finite.size else y
        curves[key] = y
        traces[key].x, traces[key].y, traces[key].visible = reg, y, True
    span = log_range(*curves.values(), pad=0.0) if curves else [-1.0, 1.0]
    # 4 decades above the minima at most: the blow-ups far from them would flatten the rest
    span = [min(span[0], -0.1), min(span[1], max(span[0], 0.0) + 4.0)]
    fig.layout.yaxis.range = [span[0] - 0.15, span[1] + 0.15]
    return curves, (10 ** (span[0] - 0.15), 10 ** (span[1] + 0.15))


def mark_choices(traces, reg, curves, marks, curve_labels, colors, labels) -> list[str]:
    """Mark each choice of reg (``marks``: name -> reg) on the "choices" trace and name each
    curve after its choice. A choice sits on the curve of its name ("min_error" on
    "error_norm") in that curve's colour; one with no curve sits at 1 in ``colors[name]``
    (else grey). Hover text uses ``labels``. Returns the labels of the choices with no curve
    (for the legend entry; their reg is in the hover text)."""
    keys = [key for key, _ in curve_labels]
    xs, ys, cs, hover, off_curve = [], [], [], [], []
    for name, value in marks.items():
        j = int(np.argmin(np.abs(np.log(reg) - np.log(value))))
        curve = "error_norm" if name == "min_error" else name if name in keys else None
        y = curves[curve][j] if curve in curves and np.isfinite(curves[curve][j]) else 1.0
        xs.append(value)
        ys.append(y)
        cs.append(colors.get(curve, colors.get(name, "#7f7f7f")))
        label = labels.get(name, name)
        hover.append(f"{label}: reg = {value:.2e}")
        if curve is None:
            off_curve.append(label)
    traces["choices"].x, traces["choices"].y, traces["choices"].hovertext = xs, ys, hover
    traces["choices"].marker.color = cs
    for key, label in curve_labels:
        pick = "min_error" if key == "error_norm" else key
        traces[key].name = f"{label} \u25b8 {marks[pick]:.1e}" if pick in marks else label
    return off_curve
