"""``RegularizationExplorer``: move ``reg`` and watch the filter act on the spectrum.

Four plotly ``FigureWidget``s over one :class:`~spectrakit.tuning.RegularizationSession`:

* **solution** -- ``x(reg)`` against ``x_true`` over the column coordinate;
* **picard** -- ``sigma_i``, ``|u_i^T b|``, ``|u_i^T b|/sigma_i`` and the filtered
  coefficients ``h_i |u_i^T b|/sigma_i`` (log y) with the filter factors ``h(sigma_i^2,
  reg)`` on a second axis in [0, 1]: the filter bends where ``sigma_i^2`` crosses ``reg``
  (the dotted ``sqrt(reg)`` level);
* **lcurve** -- the L-curve (``||b - A x||``, ``||x||``) over the cached path, a marker at
  the current ``reg`` and the L-curve's choice;
* **criteria** -- GCV, LOO and the true error (each divided by its minimum, so each
  touches 1 at its minimizer) and the discrepancy ``||r||/noise_norm`` (its principle picks
  where it reaches 1), over ``reg`` (log-log), with a vertical line at the current ``reg``
  and every criterion's choice marked.

A ``reg`` move costs one :meth:`RegularizationSession.update` (a few vector operations on
the cached decomposition) and an in-place update of the solution and Picard traces and
two markers; the path figures are redrawn only when the method or its options change
(the session caches one path per method and options).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import xarray as xr

from ..tuning.filtering import RegularizationSession
from ._controls import FigureBox, batch, format_value
from ._explorer import (
    FIG_W, MARGIN, ExplorerBase, criteria_figure, draw_criteria, figure_widget, log_range, mark_choices, positive,
)

__all__ = ["RegularizationExplorer"]

METHODS = (
    ("Tikhonov", "tikhonov"),
    ("TSVD", "tsvd"),
    ("Landweber", "landweber"),
    ("Showalter (gradient flow)", "showalter"),
    ("iterated Tikhonov", "iterated_tikhonov"),
)
# the second control each method has: its native parameter
NATIVE = {"tsvd": "rank", "landweber": "n_iter", "iterated_tikhonov": "order"}
NATIVE_NOTE = {
    "tsvd": "rank = #{i: &sigma;<sub>i</sub>&sup2; &ge; reg}; moving it sets reg = &sigma;<sub>rank</sub>&sup2;",
    "landweber": "n_iter = round(1/(&omega; reg)); setting it sets reg = 1/(&omega; n_iter)",
    "iterated_tikhonov": "order m: h = 1 &minus; (reg/(&sigma;&sup2;+reg))<sup>m</sup> (an option, reg unchanged)",
}
MAX_ORDER = 8

_COLORS = {
    "x": "#1f77b4", "x_true": "#555555", "sigma": "#222222", "coef": "#1f77b4",
    "ratio": "#d62728", "filtered": "#2ca02c", "factors": "#ff7f0e", "gcv": "#1f77b4",
    "loo": "#9467bd", "error_norm": "#2ca02c", "discrepancy": "#d62728", "current": "#000000",
    "lcurve": "#ff7f0e",  # the L-curve's choice (on no criteria curve), as its corner star
}
_CRITERIA_CURVES = (
    ("gcv", "GCV / min"),
    ("loo", "LOO / min"),
    ("error_norm", "\u2016x \u2212 x<sub>true</sub>\u2016 / min"),
    ("discrepancy", "\u2016r\u2016 / noise"),
)
_CHOICE_LABELS = {
    "gcv": "GCV", "loo": "LOO", "lcurve": "L-curve", "discrepancy": "discrepancy",
    "quasi_optimality": "quasi-opt", "min_error": "min error",
}


def _first(da: xr.DataArray, keep: tuple[str, ...]) -> xr.DataArray:
    """The first right-hand side: index 0 along every dim not in ``keep``."""
    extra = {d: 0 for d in da.dims if d not in keep}
    return da.isel(extra) if extra else da


class RegularizationExplorer(ExplorerBase):
    """Explore regularization as spectral filtering with a live ``reg`` slider.

    Parameters
    ----------
    problem_or_session : xarray.Dataset or RegularizationSession
        A :mod:`spectrakit.datasets` problem (variables ``A``, ``b``, optional ``x_true``;
        attr ``noise_norm``) or a session. The explorer drives the session: its ``reg``,
        method and options follow the controls.
    method : str, optional
        The starting filter: "tikhonov", "tsvd", "landweber", "showalter" or
        "iterated_tikhonov". Default: the session's method (for a dataset, "tikhonov").
    reg : float, optional
        The starting strength. Default: the session's (for a dataset, GCV's choice).
    device : optional
        Where a session built from a dataset computes (not allowed with a session).
    throttle_s : float
        While a slider is dragged, at most one recomputation per ``throttle_s`` seconds;
        the last value is always applied (trailing update on the kernel's event loop, or
        :meth:`flush`).
    **session_kwargs
        With a dataset: passed to :meth:`RegularizationSession.from_problem` (``reg_grid``,
        ``L``, ``dtype``, method options such as ``omega`` or ``order``). With a session:
        method options only.

    Notes
    -----
    **reg and the native parameter.** ``reg`` is the one knob (slider over ``log10 reg``,
    range = the session's ``reg_grid``, step 0.05 decades). A method's native parameter is
    a second control that *shows the value reg maps to* and, when moved, *sets reg to the
    matching value*:

    * tsvd: ``rank = #{i: s_i >= reg}`` (``s = sigma**2``); moving the rank to ``r`` sets
      ``reg = s_r`` (the r-th largest ``s``; ``r = 0`` sets reg to the top of the grid).
      Where several ``s_i`` are equal (a flat noise floor) the ranks between are
      unreachable: the control then moves to the rank applied.
    * landweber: ``n_iter = max(1, round(1/(omega reg)))``, ``omega`` = the method option
      (default ``1/sigma_1**2``); setting ``n_iter = k`` sets ``reg = 1/(omega k)``, which
      maps back to exactly ``k``. An ``n_iter`` method option is converted the same way
      (it would otherwise pin the filter and make the slider inert).
    * iterated_tikhonov: ``order`` (1 to 8) is a method option, not a reg mapping: it
      changes the filter's shape (and the cached path), and leaves reg where it is.

    A native value may map to a reg outside the slider's range (a high TSVD rank of a
    severely ill-posed problem); then the slider rests at its end and the readout shows
    the exact reg applied.

    **Coalescing.** Every control change is recorded as pending; if the last
    recomputation finished more than ``throttle_s`` ago it is applied at once, otherwise
    one trailing application is scheduled on the running asyncio loop (a Jupyter kernel
    has one) and reads the newest pending values when it fires, so a fast drag never
    queues stale work. Without a running loop (plain Python) the change waits for the
    next control change after ``throttle_s`` or :meth:`flush`.

    Attributes
    ----------
    session : RegularizationSession
    figures : dict of go.FigureWidget
        "solution", "picard", "lcurve", "criteria". Their traces by key (:meth:`trace`):
        solution: "x", "x_true"; picard: "sigma", "coef", "ratio", "filtered",
        "filter_factors", "sqrt_reg"; lcurve: "path", "current", "choice"; criteria:
        "gcv", "loo", "error_norm", "discrepancy", "current", "choices".
    controls : dict of widgets
        "reg" (a grid slider even in log10 reg, see :attr:`sliders`), "reg_readout", "method", "rank", "n_iter",
        "order", "native_note".
    status : ipywidgets.HTML
        Method, reg, native parameter, device and norms; errors in red.
    widget : ipywidgets.VBox
        The assembled explorer (about 1000 x 760 px).
    n_updates : int
        Recomputations run (including the first draw).

    Examples
    --------
    >>> import spectrakit
    >>> from spectrakit.widgets import RegularizationExplorer
    >>> ds = spectrakit.datasets.shaw(32, noise=1e-3, seed=0)
    >>> explorer = RegularizationExplorer(ds, device="cpu")
    >>> explorer.set(reg=1e-3); explorer.flush()
    >>> explorer.reg
    0.001
    >>> explorer.set(method="tsvd", rank=5); explorer.flush()
    >>> explorer.method, int(explorer.session.update()["rank"])
    ('tsvd', 5)
    """

    def __init__(self, problem_or_session, *, method=None, reg=None, device=None, throttle_s=0.05, **session_kwargs):
        if isinstance(problem_or_session, RegularizationSession):
            if device is not None:
                raise TypeError(
                    "device: the session already lives on "
                    f"{problem_or_session.device}; build the session with device=... instead."
                )
            session = problem_or_session
            method = session.method if method is None else method
            options = dict(session.method_options) if method == session.method else {}
            options.update(session_kwargs)
            reg = session.reg if reg is None else reg
        elif isinstance(problem_or_session, xr.Dataset):
            method = "tikhonov" if method is None else method
            session = RegularizationSession.from_problem(
                problem_or_session, method=method, reg=reg, device=device, **session_kwargs
            )
            options = dict(session.method_options)
            reg = session.reg
        else:
            raise TypeError(
                "problem_or_session must be a spectrakit.datasets problem (an xarray.Dataset "
                f"with A and b) or a RegularizationSession; got {type(problem_or_session).__name__}."
            )
        self._picard = session.picard()
        self._s = np.sort(self._picard["s"].values)[::-1]
        self._s_pos = self._s[self._s > 0]
        if method == "landweber" and "n_iter" in options:
            # n_iter as an option pins the filter; express it as reg (see Notes)
            k = options.pop("n_iter")
            reg = 1.0 / (self._omega(options) * float(np.asarray(k).reshape(-1)[0]))
        super().__init__(session, reg)
        self._options: dict[Any, dict] = {method: options}
        self._method = method
        self._result: xr.Dataset | None = None
        self._start(throttle_s, dict(reg=self._reg, method=method, source="init"))

    # ------------------------------------------------------------------ public API

    @property
    def method(self):
        """The method currently applied."""
        return self._method

    @property
    def method_options(self) -> dict:
        """The options of the method currently applied."""
        return dict(self._options.get(self._method, {}))

    @property
    def result(self) -> xr.Dataset | None:
        """The session's answer for the current reg (what the figures show)."""
        return self._result

    @property
    def choices(self) -> dict:
        """Each criterion's choice of reg as marked in the criteria figure
        (:meth:`RegularizationSession.choices` plus ``min_error`` when x_true is known)."""
        return dict(self._choices)

    def set(self, reg=None, method=None, **method_options) -> None:
        """Change controls as a user would; the change goes through the same coalescing.

        ``reg`` moves the slider; ``method`` picks it in the dropdown; ``rank``
        (tsvd), ``n_iter`` (landweber) and ``order`` (iterated_tikhonov) move the native
        control; any other option (e.g. ``omega``) is passed to the method. Call
        :meth:`flush` to apply a change still pending. Errors from the computation show in
        the status line (and :attr:`error`); invalid arguments raise ``ValueError``.
        """
        names = [v for _, v in self.controls["method"].options]
        if method is not None and method not in names:
            raise ValueError(f"method={method!r} is not in this explorer's menu; choose one of {names}.")
        target = self._target_method() if method is None else method
        native = {k: method_options.pop(k) for k in ("rank", "n_iter", "order") if k in method_options}
        for name in native:
            if NATIVE.get(target) != name:
                raise ValueError(
                    f"{name} is the native parameter of method={_method_of(name)!r}, not of "
                    f"method={target!r}; pass method={_method_of(name)!r} too."
                )
        if reg is not None and set(native) & {"rank", "n_iter"}:
            raise ValueError(f"pass reg or {sorted(native)[0]} (which sets reg), not both.")
        if reg is not None:
            reg = self._check_reg(reg)
        # every value is checked before any control moves: a refused set changes nothing
        for name, value in list(native.items()):
            control = self.controls[name]
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an integer; got {value!r}.")
            if value < 1:
                raise ValueError(f"{name} must be >= 1; got {value}.")
            value = native[name] = int(value)
            if name != "n_iter" and not control.min <= value <= control.max:
                raise ValueError(f"{name} must be in [{control.min}, {control.max}]; got {value}.")
        if method is not None:
            self.controls["method"].value = method
        if method_options:
            self._coalescer.submit(options=method_options, source="set")
        for name, value in native.items():
            control = self.controls[name]
            if control.value == value:  # no change event: submit as the handler would
                self._on_native(name, value)
            else:
                control.value = value
        if reg is not None:
            self._reg_slider.set(reg)

    # ------------------------------------------------------------------ controls

    def _build_controls(self) -> dict:
        reg = self._reg_controls()
        options = list(METHODS)
        if self._method not in [v for _, v in METHODS]:  # a custom callable filter
            options.append((f"custom: {getattr(self._method, '__name__', 'h(s, reg)')}", self._method))
        method = widgets.Dropdown(
            options=options, value=self._method, description="method",
            layout=widgets.Layout(width="260px"),
        )
        method.add_class("sk-method")
        n_pos = int(self._s_pos.size)
        rank = widgets.IntSlider(
            value=0, min=0, max=n_pos, step=1, description="rank", continuous_update=True,
            layout=widgets.Layout(width="300px"),
        )
        n_iter = widgets.IntText(value=1, description="n_iter", layout=widgets.Layout(width="220px"))
        start_order = int(self._options[self._method].get("order", 2)) if self._method == "iterated_tikhonov" else 2
        order = widgets.IntSlider(
            value=start_order, min=1, max=max(MAX_ORDER, start_order), step=1, description="order",
            continuous_update=True,
            layout=widgets.Layout(width="260px"),
        )
        for name, control in (("rank", rank), ("n_iter", n_iter), ("order", order)):
            control.add_class(f"sk-native-{name.replace('_', '-')}")
            control.add_class("sk-native")
            control.layout.display = "none"
        note = widgets.HTML(value="", layout=widgets.Layout(display="none"))
        note.add_class("sk-native-note")

        method.observe(self._guard(self._on_method, "method"), names="value")
        rank.observe(self._guard(lambda ch: self._on_native("rank", ch["new"]), "rank"), names="value")
        n_iter.observe(self._guard(lambda ch: self._on_native("n_iter", ch["new"]), "n_iter"), names="value")
        order.observe(self._guard(lambda ch: self._on_native("order", ch["new"]), "order"), names="value")
        return {
            **reg, "method": method,
            "rank": rank, "n_iter": n_iter, "order": order, "native_note": note,
        }

    def _on_method(self, change) -> None:
        self._coalescer.submit(method=change["new"], source="method")

    def _on_native(self, name: str, value) -> None:
        value = int(value)
        if name == "order":
            if value < 1:
                raise ValueError(f"order must be a positive integer; got {value}.")
            self._coalescer.submit(options={"order": value}, source="order")
            return
        if name == "rank":
            if not 0 <= value <= self._s_pos.size:
                raise ValueError(f"rank must be in [0, {self._s_pos.size}]; got {value}.")
            reg = self._rank_reg(value)
        else:  # n_iter
            if value < 1:
                raise ValueError(f"n_iter must be an integer >= 1 (Landweber steps); got {value}.")
            reg = 1.0 / (self._omega(self._target_options("landweber")) * value)
        self.controls["reg_readout"].value = format_value("reg", reg)
        self._coalescer.submit(reg=reg, source=name)

    def _rank_reg(self, rank: int) -> float:
        """The reg TSVD keeps ``rank`` modes at: ``s_rank`` (the top of the grid for 0)."""
        if rank <= 0:
            return max(self._grid_hi, 2.0 * float(self._s[0])) if self._s.size else self._grid_hi
        return float(self._s_pos[min(rank, self._s_pos.size) - 1])

    def _omega(self, options: dict) -> float:
        omega = options.get("omega")
        if omega is not None:
            return float(omega)
        return 1.0 / float(self._s[0]) if self._s.size and self._s[0] > 0 else 1.0

    def _target_method(self):
        return self._coalescer.pending.get("method", self._method) if hasattr(self, "_coalescer") else self._method

    def _target_options(self, method, pending: dict | None = None) -> dict:
        opts = dict(self._options.get(method, {}))
        if pending is None and hasattr(self, "_coalescer"):
            p = self._coalescer.pending
            if p.get("method", self._method) == method:
                pending = p.get("options")
        opts.update(pending or {})
        if method == "iterated_tikhonov":
            opts.setdefault("order", int(self.controls["order"].value))
        return opts

    # ------------------------------------------------------------------ apply

    def _session_params(self, changes: dict) -> dict:
        method = changes.get("method", self._method)
        opts = self._target_options(method, changes.get("options") or {})
        reg = changes.get("reg", self._reg)
        if method == "landweber" and "n_iter" in opts:
            k = opts.pop("n_iter")
            reg = 1.0 / (self._omega(opts) * float(k))
        return dict(reg=reg, method=method, **opts)

    def _applied(self, answer, params: dict) -> xr.Dataset:
        self._reg, self._method = float(self.session.reg), params["method"]
        self._options[self._method] = {k: v for k, v in params.items() if k not in ("reg", "method")}
        self._result = self.session.to_dataset(answer)
        return self._result

    def _sync_controls(self, source) -> None:
        """Controls follow the applied state, except the control the change came from
        (while dragged it may already be ahead of the applied value)."""
        c = self.controls
        method = self._method
        with self._quiet:
            if c["method"].value != method:
                c["method"].value = method
            native = NATIVE.get(method)
            for name in ("rank", "n_iter", "order"):
                c[name].layout.display = None if name == native else "none"
            c["native_note"].value = NATIVE_NOTE.get(method, "")
            c["native_note"].layout.display = None if native else "none"
            if source != "slider":
                self._reg_slider.show(self._reg)
            out = self._result
            if native == "rank" and out is not None and "rank" in out.coords:
                rank = int(out["rank"])
                # follow reg, except while the rank control itself is moved; but show the
                # true rank when equal singular values make the one asked for unreachable
                if source != "rank" or self._rank_reg(c["rank"].value) == self._reg:
                    c["rank"].value = rank
            if native == "n_iter" and out is not None and source != "n_iter" and "n_iter" in out.coords:
                k = float(out["n_iter"])
                c["n_iter"].value = int(k) if math.isfinite(k) else 0
            if native == "order" and source != "order":
                c["order"].value = int(self._options[method].get("order", 2))

    def _status_parts(self, out: xr.Dataset) -> list[str]:
        parts = [str(getattr(self._method, "__name__", self._method)), format_value("reg", self._reg)]
        native = NATIVE.get(self._method)
        if native == "order":
            parts.append(f"order = {self._options[self._method].get('order', 2)}")
        elif native and native in out.coords:
            val = float(out[native])
            parts.append(f"{native} = {int(val) if math.isfinite(val) else val}")
        parts.append(f"device {self.session.device}")
        keep = ("reg",)
        parts.append(f"\u2016b\u2212Ax\u2016 = {float(_first(out['residual_norm'], keep)):.3e}")
        parts.append(f"\u2016x\u2016 = {float(_first(out['solution_norm'], keep)):.3e}")
        if "error_norm" in out:
            parts.append(f"\u2016x\u2212x_true\u2016 = {float(_first(out['error_norm'], keep)):.3e}")
        return parts

    # ------------------------------------------------------------------ figures

    def _build_figures(self):
        session = self.session
        self._col, self._col_values = session.solution_axis()
        col = self._col
        truth = session.truth()
        traces: dict[str, dict] = {}

        def figure(name, title, xtitle, ytitle, xaxis=None, yaxis=None, **layout):
            traces[name] = {}
            return figure_widget(name, title, xaxis=dict(title=dict(text=xtitle), **(xaxis or {})),
                                 yaxis=dict(title=dict(text=ytitle), **(yaxis or {})), **layout)

        def add(fig, fig_name, key, **kw):
            fig.add_trace(go.Scatter(**kw))
            traces[fig_name][key] = fig.data[-1]

        # solution
        sol = figure("solution", "solution x(reg) and x_true", col, "x",  # legend beside the title, off the data
                     legend=dict(orientation="h", x=1.0, xanchor="right", y=1.0, yanchor="bottom",
                                 bgcolor="rgba(0,0,0,0)"),
                     margin=dict(MARGIN, t=50))
        if truth is not None:
            add(sol, "solution", "x_true", name="x_true", mode="lines",
                line=dict(color=_COLORS["x_true"], dash="dash", width=2))
        add(sol, "solution", "x", name="x(reg)", mode="lines", line=dict(color=_COLORS["x"], width=2))

        # picard
        pic = figure(
            "picard", "Picard plot and the filter h(\u03c3<sup>2</sup>, reg)", "mode i", "|coefficient|",
            yaxis=dict(type="log", exponentformat="power"),
            yaxis2=dict(title=dict(text="filter factor h"), overlaying="y", side="right",
                        range=[-0.03, 1.05], tickvals=[0, 0.5, 1], showgrid=False, zeroline=False),
            legend=dict(orientation="h", x=0.0, y=1.01, yanchor="bottom", font=dict(size=10),
                        bgcolor="rgba(0,0,0,0)"),
            margin=dict(MARGIN, r=55, t=88),
        )
        add(pic, "picard", "sigma", name="\u03c3<sub>i</sub>", mode="lines+markers",
            marker=dict(size=4), line=dict(color=_COLORS["sigma"], width=1.5))
        add(pic, "picard", "coef", name="|u<sub>i</sub><sup>T</sup>b|", mode="markers",
            marker=dict(size=5, color=_COLORS["coef"]))
        add(pic, "picard", "ratio", name="|u<sub>i</sub><sup>T</sup>b|/\u03c3<sub>i</sub>", mode="markers",
            marker=dict(size=5, color=_COLORS["ratio"], symbol="circle-open"), opacity=0.6)
        add(pic, "picard", "filtered", name="h<sub>i</sub>|u<sub>i</sub><sup>T</sup>b|/\u03c3<sub>i</sub>", mode="lines+markers",
            marker=dict(size=5, color=_COLORS["filtered"]), line=dict(color=_COLORS["filtered"], width=1.5))
        add(pic, "picard", "sqrt_reg", name="\u221areg", mode="lines", hoverinfo="skip",
            line=dict(color="#888888", dash="dot", width=1.5))
        add(pic, "picard", "filter_factors", name="h(\u03c3<sub>i</sub><sup>2</sup>, reg) \u2192", mode="lines", yaxis="y2",
            line=dict(color=_COLORS["factors"], width=2.5, shape="hv"))

        # lcurve
        lc = figure("lcurve", "L-curve", "residual norm \u2016b \u2212 A x\u2016",
                    "solution norm \u2016x\u2016" if session.penalty in ("identity", "kernel") else "\u2016L x\u2016",
                    xaxis=dict(type="log", exponentformat="power"),
                    yaxis=dict(type="log", exponentformat="power"),
                    legend=dict(x=0.99, xanchor="right", y=0.99))
        add(lc, "lcurve", "path", name="path over reg", mode="lines", line=dict(color="#1f77b4", width=2))
        add(lc, "lcurve", "choice", name="L-curve corner", mode="markers",
            marker=dict(size=12, symbol="star", color="#ff7f0e", line=dict(width=1, color="#333")))
        add(lc, "lcurve", "current", name="current reg", mode="markers",
            marker=dict(size=11, color=_COLORS["current"], symbol="circle-open", line=dict(width=3)))

        # criteria
        cr, traces["criteria"] = criteria_figure(
            "parameter-choice criteria", self._grid_lo, self._grid_hi, _CRITERIA_CURVES, _COLORS
        )
        figs = {"solution": sol, "picard": pic, "lcurve": lc, "criteria": cr}

        # data that never changes
        with batch(figs.values()):
            if truth is not None:
                t = traces["solution"]["x_true"]
                t.x, t.y = self._col_values, truth.values
            first = {d: 0 for d in self._picard["coef"].dims if d != "mode"}  # the first right-hand side
            sigma = self._picard["sigma"].values
            coef = self._picard["coef"].isel(first).values
            ratio = self._picard["ratio"].isel(first).values
            self._modes = np.arange(sigma.size)
            self._sigma, self._coef, self._ratio = sigma, coef, ratio
            for key, y in (("sigma", sigma), ("coef", coef), ("ratio", ratio)):
                tr = traces["picard"][key]
                tr.x, tr.y = self._modes, positive(y)
            pic.layout.yaxis.range = log_range(sigma, coef, ratio, pad=0.5)
            if sigma.size:
                traces["picard"]["sqrt_reg"].x = [0, sigma.size - 1]
        return figs, traces

    def _draw_path(self, path: xr.Dataset, choices: dict) -> None:
        keep = ("reg",)
        reg = path["reg"].values
        res = _first(path["residual_norm"], keep).values
        sol = _first(path["solution_norm"], keep).values
        tr = self._traces["lcurve"]
        tr["path"].x, tr["path"].y = positive(res), positive(sol)
        # room left of the corner: the L's vertical leg sits at the smallest residuals, and
        # plotly's autorange would press it (and the corner) against the axis
        lo, hi = log_range(res, pad=0.0)
        span = max(hi - lo, 0.1)
        self.figures["lcurve"].layout.xaxis.range = [lo - max(0.3, 0.3 * span), hi + 0.05 * span]
        tr["path"].customdata = reg
        tr["path"].hovertemplate = "reg = %{customdata:.2e}<br>\u2016r\u2016 = %{x:.3e}<br>\u2016x\u2016 = %{y:.3e}<extra></extra>"
        if "lcurve" in choices:
            i = int(np.argmin(np.abs(np.log(reg) - np.log(choices["lcurve"]))))
            tr["choice"].x, tr["choice"].y = [res[i]], [sol[i]]
            tr["choice"].name = f"L-curve corner, reg = {choices['lcurve']:.2e}"
        else:
            tr["choice"].x, tr["choice"].y = [], []

        tc = self._traces["criteria"]
        values = {key: _first(path[key], keep).values for key, _ in _CRITERIA_CURVES if key in path}
        curves, self._criteria_span = draw_criteria(self.figures["criteria"], tc, reg, values, _CRITERIA_CURVES)
        marks = dict(choices)
        if "error_norm" in curves:
            marks["min_error"] = float(reg[int(np.nanargmin(curves["error_norm"]))])
        extra = mark_choices(tc, reg, curves, marks, _CRITERIA_CURVES, _COLORS, _CHOICE_LABELS)
        tc["choices"].name = "choices" + (f" (+ {', '.join(extra)})" if extra else "")
        self._choices = marks

    def _draw_reg(self, out: xr.Dataset) -> None:
        """What a reg move changes, one figure message at a time, the solution first (the
        figure a viewer watches; its redraw is not queued behind the others'). Trace names
        stay fixed: a changing legend costs the browser a full relayout on every move."""
        figs = self.figures
        keep = (self._col,)
        reg = self._reg
        with figs["solution"].batch_update():
            t = self._traces["solution"]["x"]
            t.x, t.y = self._col_values, _first(out["x"], keep).values

        f = np.asarray(out["filter_factors"].values, dtype=float)
        with figs["picard"].batch_update():
            tp = self._traces["picard"]
            tp["filter_factors"].x, tp["filter_factors"].y = self._modes, f
            tp["filtered"].x, tp["filtered"].y = self._modes, positive(f * self._ratio)
            tp["sqrt_reg"].y = [math.sqrt(reg)] * len(tp["sqrt_reg"].x or ())

        res = float(_first(out["residual_norm"], ("reg",)))
        sol = float(_first(out["solution_norm"], ("reg",)))
        with figs["lcurve"].batch_update():
            cur = self._traces["lcurve"]["current"]
            cur.x, cur.y = [res], [sol]
        with figs["criteria"].batch_update():
            line = self._traces["criteria"]["current"]
            line.x, line.y = [reg, reg], list(self._criteria_span)

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        c = self.controls
        row1 = widgets.HBox(
            [c["reg"], c["reg_readout"], c["method"]],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
        )
        row2 = widgets.HBox(
            [c["rank"], c["n_iter"], c["order"], c["native_note"]],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap", min_height="2.2em"),
        )
        grid = widgets.GridBox(
            [self.figures[name] for name in ("solution", "picard", "lcurve", "criteria")],
            layout=widgets.Layout(
                grid_template_columns=f"repeat(2, {FIG_W}px)", grid_gap="6px 12px",
                width=f"{2 * FIG_W + 24}px",
            ),
        )
        # FigureBox: displaying it refreshes the figures' front-end state (see sync_figure_state)
        box = FigureBox(
            [row1, row2, self.status, grid], figures=self.figures.values(),
            layout=widgets.Layout(width=f"{2 * FIG_W + 30}px"),
        )
        box.add_class("sk-regularization-explorer")
        return box


def _method_of(native: str) -> str:
    return next(m for m, n in NATIVE.items() if n == native)
