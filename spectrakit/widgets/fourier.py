"""``SpectrumExplorer``: move ``reg`` (and the Sobolev order) and watch a Fourier-domain
filter act on a signal's or an image's power spectrum.

Three plotly ``FigureWidget``s over one :class:`~spectrakit.tuning.SpectrumSession`:

* **signal** -- 1-D: the data, the filtered (or deconvolved) result and ``x_true`` over the
  coordinate; 2-D: heatmaps of the data, the result and ``x_true`` side by side (images
  larger than ``max_pixels`` a side are shown block-averaged);
* **spectrum** -- the power spectrum of the data, of the result and of ``x_true`` on
  log-log axes (1-D: one-sided density against frequency; 2-D: radially averaged against
  the radial frequency ``|f|``), with the current filter's response ``h`` on a second axis
  in [0, 1] (and, when deconvolving, the kernel's ``|a|``): the filter falls where the
  noise floor takes over;
* **criteria** -- GCV and the true error (each divided by its minimum) and the discrepancy
  ``||r||/noise_norm`` over the cached ``reg`` grid, a vertical line at the current ``reg``
  and GCV's choice (and the best reg) marked.

A ``reg`` move costs one :meth:`SpectrumSession.step` (filter factors on the half
spectrum, one product, one inverse real FFT) and an in-place update of the result traces,
the spectrum's ``h`` and the current-reg line; a Sobolev move changes the penalty, so the
criteria are redrawn from the session's path for that order (computed once per order from
the cached spectra, then cached).
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch
import xarray as xr

from ..tuning.fourier import SOBOLEV_RANGE, SpectrumSession
from ._controls import FigureBox, GridSlider, format_value
from ._figure import decode_array, image_payload
from ._explorer import (
    FIG_W, FIG_WIDE, MARGIN, ExplorerBase, criteria_figure, draw_criteria, figure_widget, log_range, mark_choices, positive,
)

__all__ = ["SpectrumExplorer", "decode_array"]

_COLORS = {
    "data": "#9e9e9e", "x": "#1f77b4", "x_true": "#333333", "h": "#ff7f0e", "kernel": "#9467bd",
    "gcv": "#1f77b4", "error_norm": "#2ca02c", "discrepancy": "#d62728", "current": "#000000",
}
_CRITERIA_CURVES = (
    ("gcv", "GCV / min"),
    ("error_norm", "\u2016x \u2212 x<sub>true</sub>\u2016 / min"),
    ("discrepancy", "\u2016r\u2016 / noise"),
)
_CHOICE_LABELS = {"gcv": "GCV", "lcurve": "L-curve", "discrepancy": "discrepancy", "min_error": "min error"}
_MARKED = ("gcv", "min_error", "discrepancy")
SOBOLEV_STEP = 0.25
_MAX_LINE_POINTS = 20_000  # above this a 1-D signal is drawn with Scattergl


class SpectrumExplorer(ExplorerBase):
    """Explore Fourier-domain regularization with live ``reg`` and Sobolev-order sliders.

    Parameters
    ----------
    da_or_session : xarray.DataArray or SpectrumSession
        The signal or image (numeric, evenly spaced coordinates on ``dims``), or a session.
        The explorer drives the session: its ``reg`` and ``sobolev`` follow the controls.
    dims, dim : str or sequence of str, optional
        The dim(s) to filter along (one or two; default: all of ``da``'s dims). ``dim`` is
        an alias; pass one of them. Not allowed with a session.
    reg : float, optional
        The starting strength. Default: the session's (for a DataArray, GCV's choice).
    sobolev : float, optional
        The starting Sobolev order (``mode="smooth"`` or ``"deconvolve"``).
    device : optional
        Where a session built from a DataArray computes (not allowed with a session).
    throttle_s : float
        While a slider is dragged, at most one recomputation per ``throttle_s`` seconds;
        the last value is always applied (trailing update on the kernel's event loop, or
        :meth:`flush`).
    max_pixels : int
        Images with more pixels than this along a side are shown block-averaged to at most
        this many (the computation uses every pixel).
    **session_kwargs
        With a DataArray: passed to :class:`SpectrumSession` (``mode``, ``kernel``,
        ``x_true``, ``noise_norm``, ``reg_grid``, ``method``, ``kind``, ``dtype``, filter
        options). Not allowed with a session.

    Notes
    -----
    **Controls.** ``reg`` is a slider over ``log10 reg`` across the session's ``reg_grid``
    (step 0.05 decades; the readout shows the exact value applied). ``sobolev`` (modes
    smooth and deconvolve) is a slider from -1 to 4 in steps of 0.25 (widened to hold the
    starting order): it changes the penalty weights ``(1 + |k|**2)**sobolev`` and so the
    whole path, which the session computes once per order and caches. ``reg`` stays where
    it is when the order moves.

    **Coalescing.** As in :class:`~spectrakit.widgets.RegularizationExplorer`: every change
    is recorded as pending and applied at once when the last recomputation finished more
    than ``throttle_s`` ago, otherwise by one trailing application on the running asyncio
    loop that reads the newest values; without a loop (plain Python) the change waits for
    the next change after ``throttle_s`` or :meth:`flush`.

    **Batches.** Dims of ``da`` other than ``dims`` are independent signals that share the
    filter; the figures, the status line and the marked choices show the first one.

    Attributes
    ----------
    session : SpectrumSession
    figures : dict of go.FigureWidget
        "signal", "spectrum", "criteria". Their traces by key (:meth:`trace`): signal:
        "data", "x", "x_true" (lines in 1-D, heatmaps in 2-D); spectrum: "data", "x",
        "x_true", "h", "kernel"; criteria: "gcv", "error_norm", "discrepancy", "current",
        "choices".
    controls : dict of widgets
        "reg" (a grid slider even in log10 reg, see :attr:`sliders`), "reg_readout" and, for
        smooth and deconvolve, "sobolev" and "sobolev_readout".
    status : ipywidgets.HTML
        Mode, reg, sobolev, device and norms; errors in red.
    widget : ipywidgets.VBox
        The assembled explorer (about 1000 px wide).
    n_updates : int
        Recomputations run (including the first draw).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from spectrakit.widgets import SpectrumExplorer
    >>> t = np.arange(128) * 0.1
    >>> rng = np.random.default_rng(0)
    >>> da = xr.DataArray(np.sin(t) + 0.2 * rng.standard_normal(128), dims="time", coords={"time": t})
    >>> explorer = SpectrumExplorer(da, dim="time", device="cpu")
    >>> explorer.set(reg=1e-2, sobolev=2.0); explorer.flush()
    >>> explorer.reg, explorer.sobolev
    (0.01, 2.0)
    >>> bool(np.allclose(explorer.trace("signal", "x").y, explorer.session.update()["estimate"].values))
    True
    """

    def __init__(
        self, da_or_session, dims=None, *, dim=None, reg=None, sobolev=None, device=None, throttle_s=0.05,
        max_pixels: int = 256, **session_kwargs,
    ):
        if dim is not None and dims is not None:
            raise TypeError("pass dims or its alias dim, not both.")
        dims = dim if dims is None else dims
        if isinstance(da_or_session, SpectrumSession):
            session = da_or_session
            for label, value in (("dims", dims), ("device", device)):
                if value is not None:
                    raise TypeError(f"{label}: the session is built already; build it with {label}=... instead.")
            if session_kwargs:
                raise TypeError(
                    f"{sorted(session_kwargs)}: the session is built already; pass these to SpectrumSession instead."
                )
        elif isinstance(da_or_session, xr.DataArray):
            session = SpectrumSession(
                da_or_session, dims, reg=reg, sobolev=sobolev, device=device, **session_kwargs
            )
        else:
            raise TypeError(
                "da_or_session must be an xarray.DataArray (a signal or image with numeric, evenly "
                f"spaced coords) or a SpectrumSession; got {type(da_or_session).__name__}."
            )
        if len(session.dims) not in (1, 2):
            raise ValueError(
                f"dims: the explorer shows signals (1 dim) and images (2 dims); got {len(session.dims)} dims "
                f"{session.dims}. Select a slice or pass dims= with one or two dims."
            )
        if session.mode == "lowpass" and sobolev is not None:
            raise ValueError("sobolev does not apply to mode='lowpass'.")
        super().__init__(session, session.reg if reg is None else float(reg))
        self.ndim = len(session.dims)
        self._sobolev = session.check(sobolev=sobolev)["sobolev"]  # checked (None: the session's)
        self.max_pixels = int(max_pixels)
        if self.max_pixels < 8:
            raise ValueError(f"max_pixels must be at least 8; got {max_pixels!r}.")
        self._step = None
        self._prepare_views()
        first = {"reg": self._reg, "source": "init"}
        if self.session.mode != "lowpass":
            first["sobolev"] = self._sobolev
        self._start(throttle_s, first)

    # ------------------------------------------------------------------ public API

    @property
    def sobolev(self) -> float | None:
        """The Sobolev order currently applied (None for ``mode="lowpass"``)."""
        return self._sobolev

    @property
    def result(self) -> xr.Dataset | None:
        """The session's labelled answer for the current reg and order (computed on demand
        from the applied step: the figures show the first signal of it)."""
        return None if self._step is None else self.session.to_dataset(self._step)

    @property
    def choices(self) -> dict:
        """Each criterion's choice of reg for the current order (:meth:`SpectrumSession.choices`)."""
        return dict(self._choices)

    def set(self, reg=None, sobolev=None) -> None:
        """Change controls as a user would; the change goes through the same coalescing.

        Call :meth:`flush` to apply a change still pending. Errors from the computation
        show in the status line (and :attr:`error`); invalid arguments raise ``ValueError``.
        """
        if reg is not None:
            reg = self._check_reg(reg)
        if sobolev is not None:
            if "sobolev" not in self.controls:
                raise ValueError("sobolev does not apply to mode='lowpass' (no penalty weights).")
            sobolev = float(sobolev)
            slider = self._sobolev_slider
            if not (math.isfinite(sobolev) and slider.lo <= sobolev <= slider.hi):
                raise ValueError(f"sobolev must be in [{slider.lo}, {slider.hi}] (the slider's range); got {sobolev!r}.")
            slider.set(sobolev)
        if reg is not None:
            self._reg_slider.set(reg)

    def spectrum_view(self):
        """What the spectrum figure shows for the current step, as numpy arrays:
        ``(freq, P_data, P_x, h)`` (1-D: one-sided density over ``f > 0``; 2-D: ring
        averages over the radial frequency): the session's
        :meth:`~spectrakit.tuning.SpectrumSession.spectrum_view`."""
        view = self.session.spectrum_view(self._step)
        return view["freq"], view["data"], view["result"], view["response"]

    # ------------------------------------------------------------------ views of the data

    def _prepare_views(self) -> None:
        """What every step shares: the binned spectra of the data (and truth, kernel) and
        the signals' views, computed once."""
        s = self.session
        view = s.spectrum_view()
        self._freq, self._p_data, self._p_true, self._kernel_abs = view["freq"], view["data"], view["truth"], view["kernel"]
        self._signal_axes = s.axis_values()
        signals = s.signals()
        self._data_view = self._image_view(signals["data"])
        self._true_view = None if signals["truth"] is None else self._image_view(signals["truth"])

    def _image_view(self, t: torch.Tensor) -> np.ndarray:
        """1-D: the values; 2-D: block-averaged to at most max_pixels a side (float32)."""
        if self.ndim == 1:
            return t.detach().cpu().numpy().astype(float)
        factor = self._factor()
        if factor > 1:
            ny, nx = (n - n % factor for n in t.shape)
            t = t[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor).mean(dim=(1, 3))
        return t.detach().cpu().numpy().astype(np.float32)

    def _factor(self) -> int:
        return max(1, math.ceil(max(self.session.shape) / self.max_pixels))

    def _image_axes(self):
        factor = self._factor()
        out = []
        for values in self._signal_axes:
            if factor > 1:
                n = values.size - values.size % factor
                values = values[:n].reshape(-1, factor).mean(-1)
            out.append(values)
        return out

    # ------------------------------------------------------------------ controls

    def _build_controls(self) -> dict:
        controls = self._reg_controls()
        if self.session.mode != "lowpass":
            p = self._sobolev
            lo = min(SOBOLEV_RANGE[0], math.floor(p / SOBOLEV_STEP) * SOBOLEV_STEP)
            hi = max(SOBOLEV_RANGE[1], math.ceil(p / SOBOLEV_STEP) * SOBOLEV_STEP)
            self._sobolev_slider = GridSlider(lo, hi, p, name="p", step=SOBOLEV_STEP, log=False, fmt=".2f",
                                              description="Sobolev order", css_class="sk-sobolev-slider",
                                              width="280px")
            self._sobolev_slider.on_change(self._guard(
                lambda value: self._coalescer.submit(sobolev=value, source="sobolev"), "sobolev"))
            controls.update(self._add_slider("sobolev", self._sobolev_slider))
        return controls

    # ------------------------------------------------------------------ apply

    def _session_params(self, changes: dict) -> dict:
        return dict(reg=float(changes.get("reg", self._reg)), sobolev=changes.get("sobolev", self._sobolev))

    def _applied(self, st, params: dict):
        self._reg, self._sobolev, self._step = st.reg, st.sobolev, st
        return st

    def _sync_controls(self, source) -> None:
        """Controls follow the applied state, except the control the change came from
        (while dragged it may already be ahead of the applied value)."""
        with self._quiet:
            if source != "slider":
                self._reg_slider.show(self._reg)
            if "sobolev" in self.controls and source != "sobolev" and self._sobolev is not None:
                self._sobolev_slider.show(self._sobolev)

    def _status_parts(self, st) -> list[str]:
        s = self.session
        parts = [s.mode, str(getattr(s.method, "__name__", s.method)) if s.kind is None else s.kind]
        parts.append(format_value("reg", st.reg))
        if st.sobolev is not None:
            parts.append(f"sobolev = {st.sobolev:g}")
        parts.append(f"device {s.device}")
        parts.append(f"\u2016b\u2212Ax\u2016 = {float(st.residual_norm[0]):.3e}")
        parts.append(f"GCV = {float(st.gcv[0]):.3e}")
        if st.error_norm is not None:
            parts.append(f"\u2016x\u2212x_true\u2016 = {float(st.error_norm[0]):.3e}")
        return parts

    # ------------------------------------------------------------------ figures

    def _build_figures(self):
        s = self.session
        traces: dict[str, dict] = {}

        def figure(name, title, **layout):
            traces[name] = {}
            return figure_widget(name, title, **layout)

        def add(fig, fig_name, key, trace):
            fig.add_trace(trace)
            traces[fig_name][key] = fig.data[-1]

        what = {"smooth": "smoothed", "deconvolve": "deconvolved", "lowpass": "low-passed"}[s.mode]
        # signal
        if self.ndim == 1:
            dim = s.dims[0]
            sig = figure(
                "signal", f"the data and the {what} result x(reg)", width=FIG_WIDE, height=280,
                xaxis=dict(title=dict(text=dim)), yaxis=dict(title=dict(text=str(s.name or "value"))),
                legend=dict(orientation="h", x=1.0, xanchor="right", y=1.02, yanchor="bottom"),
            )
            Line = go.Scattergl if s.shape[0] > _MAX_LINE_POINTS else go.Scatter
            xs = self._signal_axes[0]
            add(sig, "signal", "data", Line(x=xs, y=self._data_view, name="data", mode="lines",
                                              line=dict(color=_COLORS["data"], width=1)))
            if self._true_view is not None:
                add(sig, "signal", "x_true", Line(x=xs, y=self._true_view, name="x_true", mode="lines",
                                                    line=dict(color=_COLORS["x_true"], dash="dash", width=1.5)))
            add(sig, "signal", "x", Line(x=xs, name="x(reg)", mode="lines", line=dict(color=_COLORS["x"], width=2)))
        else:
            ydim, xdim = s.dims
            yv, xv = self._image_axes()
            panels = [("data", "data", self._data_view), ("x", f"{what} x(reg)", None)]
            if self._true_view is not None:
                panels.append(("x_true", "x_true", self._true_view))
            n = len(panels)
            gap = 0.04
            width = (1 - gap * (n - 1)) / n
            lo, hi = np.percentile(self._data_view, [0.5, 99.5])
            if not hi > lo:
                lo, hi = float(self._data_view.min()), float(self._data_view.max()) + 1e-12
            layout = dict(
                coloraxis=dict(colorscale="gray", cmin=float(lo), cmax=float(hi), showscale=False),
                annotations=[
                    dict(text=label, x=i * (width + gap) + width / 2, y=1.0, xref="paper", yref="paper",
                         xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=12))
                    for i, (_, label, _) in enumerate(panels)
                ],
            )
            for i in range(n):
                suffix = "" if i == 0 else str(i + 1)
                layout[f"xaxis{suffix}"] = dict(domain=[i * (width + gap), i * (width + gap) + width],
                                                 title=dict(text=xdim), anchor=f"y{suffix}", constrain="domain")
                layout[f"yaxis{suffix}"] = dict(autorange="reversed", scaleanchor=f"x{suffix}", anchor=f"x{suffix}",
                                                 title=dict(text=ydim if i == 0 else ""), constrain="domain")
            sig = figure("signal", f"the image and the {what} result", width=FIG_WIDE, height=360,
                         margin=dict(l=50, r=20, t=50, b=45), **layout)
            for i, (key, label, z) in enumerate(panels):
                suffix = "" if i == 0 else str(i + 1)
                add(sig, "signal", key, go.Heatmap(
                    x=xv, y=yv, z=None if z is None else image_payload(z), name=label, coloraxis="coloraxis",
                    xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                    hovertemplate=f"{xdim}=%{{x}}<br>{ydim}=%{{y}}<br>%{{z:.4g}}<extra>{label}</extra>",
                ))

        # spectrum
        if self.ndim == 1:
            ftitle = f"frequency (cycles per {s.dims[0]} unit)"
            ptitle = "power spectral density (one-sided)"
            stitle = "power spectrum and the filter h"
        else:
            ftitle = "radial frequency |f| (cycles per unit)"
            ptitle = "power (ring average)"
            stitle = "isotropic power spectrum and the filter h"
        prange = log_range(self._p_data, *(() if self._p_true is None else (self._p_true,)), pad=0.5)
        spec = figure(
            "spectrum", stitle,
            xaxis=dict(type="log", title=dict(text=ftitle), exponentformat="power"),
            yaxis=dict(type="log", title=dict(text=ptitle), exponentformat="power", range=prange),
            yaxis2=dict(title=dict(text="filter h"), overlaying="y", side="right", range=[-0.03, 1.05],
                        tickvals=[0, 0.5, 1], showgrid=False, zeroline=False),
            legend=dict(orientation="h", x=0.0, y=1.01, yanchor="bottom", font=dict(size=10), bgcolor="rgba(0,0,0,0)"),
            margin=dict(MARGIN, r=55, t=70),
        )
        f = self._freq
        add(spec, "spectrum", "data", go.Scatter(x=f, y=positive(self._p_data), name="data", mode="lines",
                                                 line=dict(color=_COLORS["data"], width=1)))
        if self._p_true is not None:
            add(spec, "spectrum", "x_true", go.Scatter(x=f, y=positive(self._p_true), name="x_true", mode="lines",
                                                       line=dict(color=_COLORS["x_true"], dash="dash", width=1.5)))
        add(spec, "spectrum", "x", go.Scatter(x=f, name="x(reg)", mode="lines", line=dict(color=_COLORS["x"], width=1.5)))
        if self._kernel_abs is not None:
            add(spec, "spectrum", "kernel", go.Scatter(
                x=f, y=self._kernel_abs, name="kernel |a| \u2192", mode="lines", yaxis="y2",
                line=dict(color=_COLORS["kernel"], dash="dot", width=1.5),
            ))
        add(spec, "spectrum", "h", go.Scatter(x=f, name="filter h \u2192", mode="lines", yaxis="y2",
                                              line=dict(color=_COLORS["h"], width=2.5)))

        # criteria
        cr, traces["criteria"] = criteria_figure(
            "parameter choice over reg", self._grid_lo, self._grid_hi, _CRITERIA_CURVES, _COLORS
        )
        return {"signal": sig, "spectrum": spec, "criteria": cr}, traces

    def _draw_path(self, path: xr.Dataset, choices: dict) -> None:
        path = self.session.first_signal(path)
        reg = path["reg"].values
        tc = self._traces["criteria"]
        values = {key: path[key].values for key, _ in _CRITERIA_CURVES if key in path}
        curves, self._criteria_span = draw_criteria(self.figures["criteria"], tc, reg, values, _CRITERIA_CURVES)
        marks = {k: v for k, v in choices.items() if k in _MARKED}
        mark_choices(tc, reg, curves, marks, _CRITERIA_CURVES, _COLORS, _CHOICE_LABELS)
        self._choices = dict(choices)

    def _draw_reg(self, st) -> None:
        """What a reg move changes, one figure message at a time, the result first (the
        figure a viewer watches). Trace names stay fixed: a changing legend costs the
        browser a full relayout on every move."""
        figs = self.figures
        with self.session.threads():
            view = self._image_view(st.x[0])
        with figs["signal"].batch_update():
            t = self._traces["signal"]["x"]
            if self.ndim == 1:
                t.x, t.y = self._signal_axes[0], view
            else:
                t.z = image_payload(view)
        with self.session.threads():
            view = self.session.spectrum_view(st)
        p_x, h = view["result"], view["response"]
        with figs["spectrum"].batch_update():
            ts = self._traces["spectrum"]
            ts["x"].y = positive(p_x)
            ts["h"].y = h
        with figs["criteria"].batch_update():
            line = self._traces["criteria"]["current"]
            line.x, line.y = [st.reg, st.reg], list(self._criteria_span)

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        c = self.controls
        row = [c["reg"], c["reg_readout"]]
        if "sobolev" in c:
            row += [c["sobolev"], c["sobolev_readout"]]
        row1 = widgets.HBox(row, layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        grid = widgets.GridBox(
            [self.figures["spectrum"], self.figures["criteria"]],
            layout=widgets.Layout(
                grid_template_columns=f"repeat(2, {FIG_W}px)", grid_gap="6px 12px", width=f"{FIG_WIDE + 12}px",
            ),
        )
        box = FigureBox(
            [row1, self.status, self.figures["signal"], grid], figures=self.figures.values(),
            layout=widgets.Layout(width=f"{FIG_WIDE + 30}px"),
        )
        box.add_class("sk-spectrum-explorer")
        return box
