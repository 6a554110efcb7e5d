"""Graph explorers: :class:`GraphSpectrumExplorer` (move the graph's parameter and the
number of clusters, watch the Laplacian spectrum, the embedding and the clusters) and
:class:`GraphFilterExplorer` (move ``reg`` and the Chebyshev order, watch a graph filter
act on a signal).

**GraphSpectrumExplorer**, over one :class:`~spectrakit.tuning.GraphSpectrumSession`, three
plotly ``FigureWidget``\\ s:

* **eigenvalues** -- the lowest Laplacian eigenvalues against their index, the ones the
  clustering uses highlighted and the eigengap (the largest gap ``lam_{k+1} - lam_k``,
  ``k <= max_clusters``) drawn as a bar between the two eigenvalues;
* **embedding** -- every node at ``(u_2, u_3)``, its coordinates in the second and third
  eigenvectors, coloured by cluster;
* **data** -- the points (first two features) coloured by cluster; for a given graph, the
  adjacency matrix with its nodes sorted by cluster (a block structure when the clusters
  match the graph's communities).

A graph-parameter move (``k`` of a kNN graph, the Gaussian's ``bandwidth``) costs the graph
and its eigenpairs once per value (the session caches them); a move of ``n_clusters``
(0 = the eigengap's choice) costs one k-means on the cached eigenvectors.

**GraphFilterExplorer**, over one :class:`~spectrakit.tuning.GraphFilterSession` (on
:class:`~spectrakit.widgets._explorer.ExplorerBase`: the log ``reg`` slider, coalescing,
errors in the status line), three figures:

* **response** -- the exact frequency response ``h(lam_i; reg)`` over the Laplacian
  eigenvalues and, for a Chebyshev order K, the polynomial's ``p_K(lam_i)``; the cut-off
  ``lam = 1/reg`` dotted; the magnitudes of the signal's graph Fourier coefficients
  ``|V^T y|`` (and ``|V^T clean|``) on a log axis behind them;
* **signal** -- the noisy signal, the filtered one and the clean one: on 2-D node
  positions as scatter plots coloured by value (shared colour scale), otherwise over the
  node index (or a 1-D position);
* **criteria** -- the error ``||x - clean||``, GCV and leave-one-out over the ``reg`` grid
  (each divided by its minimum) for the filter in force (exact or order K), the current
  ``reg`` as a dashed line, GCV's and the error's choices marked.

A ``reg`` move costs one :meth:`GraphFilterSession.step` (the response on the eigenvalues
and two products with the cached eigenvectors); an order change also draws the path for
that order (computed once per order by the session, then cached).
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import xarray as xr
from plotly.colors import qualitative

from ..tuning.graphs import GraphFilterSession, GraphSpectrumSession
from ._controls import Coalescer, ExplorerFront, FigureBox, GridSlider, QuietFlag, StatusLine, format_value, move_control
from ._explorer import (
    FIG_W, FIG_WIDE, MARGIN, ExplorerBase, criteria_figure, draw_criteria, figure_widget, mark_choices,
)
from ._figure import image_payload

__all__ = ["GraphSpectrumExplorer", "GraphFilterExplorer", "ORDERS"]

_PALETTE = qualitative.Plotly + qualitative.D3[1::2] + qualitative.Dark24
_COLORS = {
    "eig": "#9e9e9e", "gap": "#ff7f0e", "data": "#9e9e9e", "x": "#1f77b4", "clean": "#333333",
    "exact": "#1f77b4", "chebyshev": "#d62728", "coef": "#bdbdbd", "clean_coef": "#2ca02c",
    "cutoff": "#ff7f0e", "gcv": "#1f77b4", "loo": "#9467bd", "error_norm": "#2ca02c", "current": "#000000",
}
#: the Chebyshev orders the order menu offers (besides "exact")
ORDERS = (1, 2, 3, 5, 8, 10, 15, 20, 30, 50, 100)
_CRITERIA_CURVES = (
    ("error_norm", "\u2016x \u2212 x<sub>clean</sub>\u2016 / min"),
    ("gcv", "GCV / min"),
    ("loo", "LOO / min"),
)
_CHOICE_LABELS = {"gcv": "GCV", "loo": "LOO", "lcurve": "L-curve", "min_error": "min error"}
_MARKED = ("gcv", "min_error")
_MAX_MATRIX = 400  # a given graph's adjacency is shown block-summed to at most this many rows


def _compact(z: np.ndarray) -> np.ndarray:
    """An image in the smallest dtype that holds it exactly (a 0/1 adjacency: one byte a
    cell), else float32: the heatmap's payload on every cluster move."""
    if z.size and np.all(z == np.round(z)) and z.min() >= 0 and z.max() <= 255:
        return z.astype(np.uint8)
    return z.astype(np.float32)


def _discrete_scale(n: int) -> list:
    """A plotly colorscale with ``n`` flat bands: value ``i`` (with cmin = -0.5, cmax =
    n - 0.5) gets the palette's i-th colour."""
    scale = []
    for i in range(n):
        c = _PALETTE[i % len(_PALETTE)]
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


# ====================================================================== spectrum explorer


class GraphSpectrumExplorer(ExplorerFront):
    """Explore spectral clustering live: the graph's parameter and the number of clusters.

    Parameters
    ----------
    points_or_session : array, tensor, DataArray or GraphSpectrumSession
        The points (n, d) (or, with ``graph="precomputed"``, an adjacency), or a session.
        The explorer drives the session: its parameter and ``n_clusters`` follow the controls.
    k, bandwidth : optional
        The starting graph parameter (``k`` for ``graph="knn"``, ``bandwidth`` for
        ``graph="gaussian"``); default the session's.
    n_clusters : int, optional
        The starting number of clusters (0 or None: the eigengap's choice).
    device : optional
        Where a session built here computes (not allowed with a session).
    throttle_s : float
        While a slider is dragged, at most one recomputation per ``throttle_s`` seconds;
        the last value is always applied (trailing update on the kernel's event loop, or
        :meth:`flush`).
    k_max : int, optional
        The ``k`` slider's maximum (default ``min(n - 1, max(30, 2 k))``).
    bandwidth_range : (float, float), optional
        The ``bandwidth`` slider's range (log scale; default a decade either side of the
        starting bandwidth).
    **session_kwargs
        With points: passed to :class:`~spectrakit.tuning.GraphSpectrumSession` (``graph``,
        ``kind``, ``labels``, ``n_eigs``, ``max_clusters``, ``symmetrize``, ``seed``...).

    Attributes
    ----------
    session : GraphSpectrumSession
    figures : dict of go.FigureWidget
        "eigenvalues", "embedding", "data". Their traces by key (:meth:`trace`):
        eigenvalues: "eigenvalues", "used", "gap"; embedding: "nodes"; data: "points" (or
        "adjacency" for a given graph).
    controls : dict of widgets
        "n_clusters" (IntSlider, 0 = eigengap) and "k" (IntSlider) or "bandwidth"
        (a grid slider even in log10 bandwidth, see :attr:`sliders`) with "bandwidth_readout".
    status : ipywidgets.HTML
        Graph, eigengap, clusters, ARI (when labels are known), eigensolver; errors in red.
    widget : ipywidgets.VBox
    n_updates : int
        Recomputations run (including the first draw).

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.widgets import GraphSpectrumExplorer
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 0.3, (40, 2)), rng.normal(3, 0.3, (40, 2))])
    >>> explorer = GraphSpectrumExplorer(X, k=20, labels=np.repeat([0, 1], 40), device="cpu")
    >>> explorer.result.attrs["eigengap"], explorer.result.attrs["ari"]
    (2, 1.0)
    >>> explorer.set(k=12, n_clusters=3); explorer.flush()
    >>> explorer.k, explorer.n_clusters, int(explorer.result["labels"].max())
    (12, 3, 2)
    """

    def __init__(self, points_or_session, *, k=None, bandwidth=None, n_clusters=None, device=None, throttle_s=0.05,
                 k_max=None, bandwidth_range=None, **session_kwargs):
        if isinstance(points_or_session, GraphSpectrumSession):
            if device is not None:
                raise TypeError("device: the session is built already; build it with device=... instead.")
            if session_kwargs:
                raise TypeError(
                    f"{sorted(session_kwargs)}: the session is built already; pass these to "
                    "GraphSpectrumSession instead."
                )
            session = points_or_session
        elif isinstance(points_or_session, GraphFilterSession):
            raise TypeError("points_or_session is a GraphFilterSession: use GraphFilterExplorer for it.")
        else:
            kw = dict(session_kwargs)
            if k is not None:
                kw["k"] = k
            if bandwidth is not None:
                kw["bandwidth"] = bandwidth
            session = GraphSpectrumSession(points_or_session, n_clusters=n_clusters, device=device, **kw)
        self.session = session
        s = session
        # checked by the session (None: its value), which is left as it was
        first = s.check(**{name: value for name, value in dict(k=k, bandwidth=bandwidth, n_clusters=n_clusters).items()
                           if value is not None})
        self._param = first["k"] if s.graph == "knn" else first["bandwidth"]
        self._n_clusters = first["n_clusters"]
        self._k_max = None
        if s.graph == "knn":
            top = min(s.n - 1, max(30, 2 * int(self._param))) if k_max is None else int(k_max)
            if not self._param <= top <= s.n - 1:
                raise ValueError(f"k_max must be in [k, n - 1] = [{self._param}, {s.n - 1}]; got {k_max!r}.")
            self._k_max = top
        self._bw_range = None
        if s.graph == "gaussian":
            lo, hi = (self._param / 10, self._param * 10) if bandwidth_range is None else map(float, bandwidth_range)
            if not (0 < lo < hi and math.isfinite(hi)):
                raise ValueError(f"bandwidth_range must be (lo, hi) with 0 < lo < hi; got {bandwidth_range!r}.")
            self._bw_range = (lo, hi)
        self._n_colors = max(s.n_eigs, 2)
        self._step = None
        self._quiet = QuietFlag()
        self._source = None
        self.n_updates = 0
        self._status = StatusLine("sk-status")
        self.status = self._status.widget
        self.controls = self._build_controls()
        self.figures, self._traces = self._build_figures()
        self.widget = self._adopt(self._build_layout())
        self._coalescer = Coalescer(self._apply, throttle_s=throttle_s, on_error=self._on_apply_error)
        self._coalescer.submit(param=self._param, n_clusters=self._n_clusters or 0, source="init")
        self._coalescer.flush()

    # ------------------------------------------------------------------ public API

    @property
    def k(self):
        """The kNN graph's ``k`` in force (None for other graphs)."""
        return self._param if self.session.graph == "knn" else None

    @property
    def bandwidth(self):
        """The Gaussian graph's bandwidth in force (None for other graphs)."""
        return self._param if self.session.graph == "gaussian" else None

    @property
    def n_clusters(self) -> int | None:
        """The number of clusters used (the eigengap's choice when the control is 0)."""
        return None if self._step is None else self._step.n_clusters

    @property
    def result(self) -> xr.Dataset | None:
        """The session's labelled answer for the state shown."""
        return None if self._step is None else self.session.to_dataset(self._step)

    def set(self, k=None, bandwidth=None, n_clusters=None) -> None:
        """Change controls as a user would; the change goes through the same coalescing.

        ``n_clusters=0`` is the eigengap's choice. Call :meth:`flush` to apply a change
        still pending. Errors from the computation show in the status line (and
        :attr:`error`); invalid arguments raise ``ValueError``.
        """
        s = self.session
        if k is not None:
            if "k" not in self.controls:
                raise ValueError(f"k applies to graph='knn'; this explorer's graph is {s.graph!r}.")
            control = self.controls["k"]
            k = s.check(k=k)["k"]
            if not control.min <= k <= control.max:
                raise ValueError(f"k must be in [{control.min}, {control.max}] (the slider's range); got {k}.")
        if bandwidth is not None:
            if "bandwidth" not in self.controls:
                raise ValueError(f"bandwidth applies to graph='gaussian'; this explorer's graph is {s.graph!r}.")
            bandwidth = float(bandwidth)
            lo, hi = self._bw_range
            if not (lo * (1 - 1e-12) <= bandwidth <= hi * (1 + 1e-12)):
                raise ValueError(f"bandwidth must be in [{lo:.3g}, {hi:.3g}] (the slider's range); got {bandwidth!r}.")
        if n_clusters is not None:
            control = self.controls["n_clusters"]
            n_clusters = int(n_clusters)
            if not control.min <= n_clusters <= control.max:
                raise ValueError(
                    f"n_clusters must be in [{control.min}, {control.max}] (0 = the eigengap's choice); "
                    f"got {n_clusters}."
                )
            move_control(control, n_clusters, self._coalescer, n_clusters=n_clusters)
        if k is not None:
            move_control(self.controls["k"], k, self._coalescer, param=k)
        if bandwidth is not None:
            self._bw_slider.set(bandwidth)

    # ------------------------------------------------------------------ controls

    def _build_controls(self) -> dict:
        s = self.session
        controls = {}
        if s.graph == "knn":
            k = widgets.IntSlider(
                value=int(self._param), min=1, max=self._k_max, step=1, description="k (neighbours)",
                continuous_update=True, style={"description_width": "initial"}, layout=widgets.Layout(width="340px"),
            )
            k.add_class("sk-k-slider")
            k.observe(self._guard(lambda ch: self._coalescer.submit(param=int(ch["new"]), source="k"), "k"),
                      names="value")
            controls["k"] = k
        elif s.graph == "gaussian":
            lo, hi = self._bw_range
            self._bw_slider = GridSlider(lo, hi, self._param, name="bandwidth", step=0.02,
                                         css_class="sk-bandwidth-slider")
            self._bw_slider.on_change(self._guard(
                lambda value: self._coalescer.submit(param=float(value), source="bandwidth"), "bandwidth slider"
            ))
            controls.update(self._add_slider("bandwidth", self._bw_slider))
        c = widgets.IntSlider(
            value=self._n_clusters or 0, min=0, max=s.max_clusters, step=1, description="clusters (0 = eigengap)",
            continuous_update=True, style={"description_width": "initial"}, layout=widgets.Layout(width="340px"),
        )
        c.add_class("sk-clusters-slider")
        c.observe(self._guard(lambda ch: self._coalescer.submit(n_clusters=int(ch["new"]), source="n_clusters"),
                              "n_clusters"), names="value")
        controls["n_clusters"] = c
        return controls

    # ------------------------------------------------------------------ apply

    def _apply(self, changes: dict) -> None:
        s = self.session
        param = changes.get("param", self._param)
        c = changes.get("n_clusters", self._n_clusters or 0)
        self._source = changes.get("source")
        params = {"knn": {"k": param}, "gaussian": {"bandwidth": param}}.get(s.graph, {})
        st = s.apply(n_clusters=c, **params)  # atomic: on an error the session stays as the figures show it
        self._param, self._n_clusters, self._step = st.param, (None if c == 0 else int(c)), st
        self.n_updates += 1
        self._draw(st)
        self._sync_controls(self._source)
        self._show_status(st)

    def _sync_controls(self, source) -> None:
        with self._quiet:
            if "k" in self.controls and source != "k" and self._param is not None:
                if self.controls["k"].value != self._param:
                    self.controls["k"].value = int(self._param)
            if "bandwidth" in self.controls and source != "bandwidth":
                self._bw_slider.show(self._param)
            ctrl = self.controls["n_clusters"]
            if source != "n_clusters" and ctrl.value != (self._n_clusters or 0):
                ctrl.value = self._n_clusters or 0

    def _show_status(self, st) -> None:
        s = self.session
        if s.graph == "knn":
            graph = f"kNN graph k = {st.param}"
        elif s.graph == "gaussian":
            graph = f"Gaussian graph bandwidth = {st.param:.3g}"
        else:
            graph = "given graph"
        parts = [graph, f"{s.kind} Laplacian", f"eigengap \u25b8 {st.eigengap}",
                 f"clusters {st.n_clusters}" + (" (eigengap)" if self._n_clusters is None else "")]
        if st.ari is not None:
            parts.append(f"ARI {st.ari:.3f}")
        if st.n_components is not None:
            parts.append(f"{st.n_components} component{'s' if st.n_components != 1 else ''}")
        parts.append(f"solver {st.solver}")
        parts.append(f"device {s.device}")
        parts.append(f"updates {self.n_updates}")
        self._status.show("  \u00b7  ".join(parts))

    # ------------------------------------------------------------------ figures

    def _marker(self, size=6):
        n = self._n_colors
        return dict(size=size, colorscale=_discrete_scale(n), cmin=-0.5, cmax=n - 0.5, showscale=False,
                    line=dict(width=0))

    def _build_figures(self):
        s = self.session
        traces: dict[str, dict] = {}

        def add(fig, fig_name, key, trace):
            fig.add_trace(trace)
            traces.setdefault(fig_name, {})[key] = fig.data[-1]

        eig = figure_widget(
            "eigenvalues", f"{s.kind} Laplacian: the {s.n_eigs} lowest eigenvalues",
            xaxis=dict(title=dict(text="index i"), range=[0.3, s.n_eigs + 0.7]),
            yaxis=dict(title=dict(text="eigenvalue \u03bb<sub>i</sub>")),
            # in a row above the plot: over it the legend hid the eigengap's bar
            legend=dict(orientation="h", x=0.0, y=1.0, yanchor="bottom", bgcolor="rgba(0,0,0,0)"),
            margin=dict(MARGIN, t=62),
        )
        idx = np.arange(1, s.n_eigs + 1)
        add(eig, "eigenvalues", "eigenvalues", go.Scatter(
            x=idx, name="\u03bb<sub>i</sub>", mode="lines+markers", line=dict(color=_COLORS["eig"], width=1),
            marker=dict(size=6, color=_COLORS["eig"]),
        ))
        add(eig, "eigenvalues", "used", go.Scatter(
            name="used by the clustering", mode="markers", marker=dict(size=9, color=_COLORS["x"], symbol="circle"),
        ))
        add(eig, "eigenvalues", "gap", go.Scatter(
            name="eigengap", mode="lines", hoverinfo="text", line=dict(color=_COLORS["gap"], width=5),
        ))

        emb = figure_widget(
            "embedding", "spectral embedding (u\u2082, u\u2083) by cluster",
            xaxis=dict(title=dict(text="u\u2082"), zeroline=False),
            yaxis=dict(title=dict(text="u\u2083"), zeroline=False),
            showlegend=False,
        )
        add(emb, "embedding", "nodes", go.Scattergl(
            mode="markers", name="nodes", marker=self._marker(6),
            hovertemplate="u\u2082=%{x:.3g}<br>u\u2083=%{y:.3g}<br>cluster %{marker.color}<extra></extra>",
        ))

        if s.graph == "precomputed":
            data = figure_widget(
                "data", "adjacency, nodes sorted by cluster", height=FIG_W, showlegend=False,
                xaxis=dict(title=dict(text="node (sorted)"), constrain="domain"),
                yaxis=dict(title=dict(text="node (sorted)"), autorange="reversed", scaleanchor="x", constrain="domain"),
            )
            add(data, "data", "adjacency", go.Heatmap(colorscale="Greys", showscale=False, name="adjacency",
                                                      hovertemplate="%{z:.3g}<extra></extra>"))
            self._dense_adjacency = self._adjacency_numpy()
        else:
            pos = s.positions
            xs = pos[:, 0]
            ys = pos[:, 1] if pos.shape[1] > 1 else np.zeros(s.n)
            data = figure_widget(
                "data", "the points by cluster" + (" (first two features)" if pos.shape[1] > 2 else ""),
                height=FIG_W, showlegend=False,
                xaxis=dict(title=dict(text="feature 0"), constrain="domain"),
                yaxis=dict(title=dict(text="feature 1" if pos.shape[1] > 1 else ""), scaleanchor="x",
                           constrain="domain"),
            )
            add(data, "data", "points", go.Scattergl(
                x=xs, y=ys, mode="markers", name="points", marker=self._marker(7),
                hovertemplate="%{x:.3g}, %{y:.3g}<br>cluster %{marker.color}<extra></extra>",
            ))
        return {"eigenvalues": eig, "embedding": emb, "data": data}, traces

    def _adjacency_numpy(self) -> np.ndarray:
        W = self.session.adjacency
        W = W.to_dense() if W.is_sparse else W
        A = W.detach().cpu().double().numpy().copy()
        np.fill_diagonal(A, 0.0)
        return A

    def adjacency_view(self, labels=None) -> np.ndarray:
        """The adjacency as the data figure shows it (a given graph only): nodes sorted by
        cluster (stable), summed over blocks of nodes when n > 400."""
        labels = np.asarray(self._step.labels.detach().cpu()) if labels is None else np.asarray(labels)
        order = np.argsort(labels, kind="stable")
        A = self._dense_adjacency[np.ix_(order, order)]
        n = A.shape[0]
        if n > _MAX_MATRIX:
            edges = np.linspace(0, n, _MAX_MATRIX + 1).astype(int)[:-1]
            A = np.add.reduceat(np.add.reduceat(A, edges, axis=0), edges, axis=1)
        return A

    def _draw(self, st) -> None:
        lam = st.values.detach().cpu().numpy().astype(float)
        idx = np.arange(1, lam.size + 1)
        labels = st.labels.detach().cpu().numpy().astype(np.int64)
        V = st.vectors.detach().cpu().numpy()
        u2 = V[:, 1] if V.shape[1] > 1 else np.zeros(V.shape[0])
        u3 = V[:, 2] if V.shape[1] > 2 else np.zeros(V.shape[0])
        t = self._traces
        g = st.eigengap
        with self.figures["eigenvalues"].batch_update():
            t["eigenvalues"]["eigenvalues"].y = lam
            t["eigenvalues"]["used"].x = idx[: st.n_clusters]
            t["eigenvalues"]["used"].y = lam[: st.n_clusters]
            t["eigenvalues"]["gap"].x = [g + 0.5, g + 0.5]
            t["eigenvalues"]["gap"].y = [float(lam[g - 1]), float(lam[g])]
            t["eigenvalues"]["gap"].hovertext = [f"eigengap: k = {g}, \u0394\u03bb = {lam[g] - lam[g - 1]:.3g}"] * 2
        with self.figures["embedding"].batch_update():
            t["embedding"]["nodes"].x, t["embedding"]["nodes"].y = u2, u3
            t["embedding"]["nodes"].marker.color = labels
        with self.figures["data"].batch_update():
            if "points" in t["data"]:
                t["data"]["points"].marker.color = labels
            else:
                t["data"]["adjacency"].z = image_payload(_compact(self.adjacency_view(labels)))

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        c = self.controls
        row = []
        if "k" in c:
            row.append(c["k"])
        if "bandwidth" in c:
            row += [c["bandwidth"], c["bandwidth_readout"]]
        row.append(c["n_clusters"])
        row1 = widgets.HBox(row, layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        grid = widgets.GridBox(
            [self.figures["eigenvalues"], self.figures["embedding"], self.figures["data"]],
            layout=widgets.Layout(grid_template_columns=f"repeat(2, {FIG_W}px)", grid_gap="6px 12px",
                                  width=f"{FIG_WIDE + 12}px"),
        )
        box = FigureBox([row1, self.status, grid], figures=self.figures.values(),
                        layout=widgets.Layout(width=f"{FIG_WIDE + 30}px"))
        box.add_class("sk-graph-spectrum-explorer")
        return box


# ====================================================================== filter explorer


class GraphFilterExplorer(ExplorerBase):
    """Explore a graph filter live: ``reg`` (the heat kernel's ``t``) and the Chebyshev order.

    Parameters
    ----------
    graph_or_session : adjacency, points or GraphFilterSession
        The graph (an adjacency, or points to build a kNN / Gaussian graph on) or a session.
        The explorer drives the session: its ``reg`` and ``order`` follow the controls.
    signal : (n,) array, optional
        The noisy graph signal (required unless a session is given).
    reg : float, optional
        The starting strength. Default: the session's (for a new one, GCV's choice).
    order : int or "exact", optional
        The starting Chebyshev order (default: the session's; "exact" or None: the exact
        filter).
    device : optional
        Where a session built here computes (not allowed with a session).
    throttle_s : float
        While the slider is dragged, at most one recomputation per ``throttle_s`` seconds;
        the last value is always applied.
    orders : sequence of int
        The Chebyshev orders of the order menu (default :data:`ORDERS`).
    **session_kwargs
        With a graph: passed to :class:`~spectrakit.tuning.GraphFilterSession` (``clean``,
        ``build``, ``k``, ``bandwidth``, ``positions``, ``kind``, ``method``,
        ``filter_order``, ``lmax``, ``reg_grid``, ``dtype``).

    Attributes
    ----------
    session : GraphFilterSession
    figures : dict of go.FigureWidget
        "response", "signal", "criteria". Their traces by key (:meth:`trace`): response:
        "exact", "chebyshev", "cutoff", "coef", "clean_coef"; signal: "data", "x", "clean";
        criteria: "error_norm", "gcv", "loo", "current", "choices".
    controls : dict of widgets
        "reg" (a grid slider even in log10 reg), "reg_readout", "order" (Dropdown: "exact" or K).
    status : ipywidgets.HTML
    widget : ipywidgets.VBox
    n_updates : int

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.widgets import GraphFilterExplorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(120, 2))
    >>> clean = np.sin(3 * X[:, 0])
    >>> ex = GraphFilterExplorer(X, clean + 0.2 * rng.standard_normal(120), clean=clean, k=8, reg=0.1, device="cpu")
    >>> ex.set(reg=0.3, order=20); ex.flush()
    >>> ex.reg, ex.order
    (0.3, 20)
    >>> bool(np.allclose(ex.trace("signal", "x").marker.color, ex.session.update()["estimate"].values))
    True
    """

    def __init__(self, graph_or_session, signal=None, *, reg=None, order=None, device=None, throttle_s=0.05,
                 orders=ORDERS, **session_kwargs):
        if isinstance(graph_or_session, GraphFilterSession):
            session = graph_or_session
            if signal is not None:
                raise TypeError("signal: the session holds its signal already; build a new session for another.")
            if device is not None:
                raise TypeError("device: the session is built already; build it with device=... instead.")
            if session_kwargs:
                raise TypeError(
                    f"{sorted(session_kwargs)}: the session is built already; pass these to GraphFilterSession instead."
                )
        elif isinstance(graph_or_session, GraphSpectrumSession):
            raise TypeError("graph_or_session is a GraphSpectrumSession: use GraphSpectrumExplorer for it.")
        else:
            if signal is None:
                raise TypeError("signal is required: the noisy graph signal (n,) to filter.")
            session = GraphFilterSession(graph_or_session, signal, reg=reg, device=device, **session_kwargs)
        order = session.order if order is None else (None if order == "exact" else session.check(order=order)["order"])
        super().__init__(session, session.reg if reg is None else float(reg))
        self._order = order
        self._orders = sorted({int(o) for o in orders} | ({order} if order is not None else set()))
        for o in self._orders:
            session.check(order=o)
        self._step = None
        coef = session.coefficients()
        self._lam = session.eigenvalues
        self._coef = np.abs(coef["signal"].values)
        self._clean_coef = np.abs(coef["clean"].values) if "clean" in coef else None
        self._start(throttle_s, {"reg": self._reg, "order": order, "source": "init"})

    # ------------------------------------------------------------------ public API

    @property
    def order(self) -> int | None:
        """The Chebyshev order in force (None: the exact filter)."""
        return self._order

    @property
    def result(self) -> xr.Dataset | None:
        """The session's labelled answer for the current reg and order."""
        return None if self._step is None else self.session.to_dataset(self._step)

    @property
    def choices(self) -> dict:
        """Each criterion's choice of reg for the order in force (:meth:`GraphFilterSession.choices`)."""
        return dict(self._choices)

    def set(self, reg=None, order=None) -> None:
        """Change controls as a user would; the change goes through the same coalescing.

        ``order``: a Chebyshev order of the menu, or "exact". Call :meth:`flush` to apply
        a change still pending. Invalid arguments raise ``ValueError``.
        """
        if reg is not None:
            reg = self._check_reg(reg)
        if order is not None:
            value = "exact" if order == "exact" else order
            names = [v for _, v in self.controls["order"].options]
            if value not in names:
                raise ValueError(f"order={order!r} is not in the order menu; choose 'exact' or one of {self._orders}.")
            move_control(self.controls["order"], value, self._coalescer, order=None if value == "exact" else int(value))
        if reg is not None:
            self._reg_slider.set(reg)

    def response_view(self):
        """What the response figure shows, as numpy arrays: ``(lam, h, p)`` with ``p`` None
        for the exact filter."""
        st = self._step
        p = None if st.chebyshev is None else st.chebyshev.detach().cpu().numpy()
        return self._lam, st.response.detach().cpu().numpy(), p

    # ------------------------------------------------------------------ controls

    def _build_controls(self) -> dict:
        controls = self._reg_controls()
        options = [("exact (eigenvectors)", "exact")] + [(f"Chebyshev K = {o}", o) for o in self._orders]
        order = widgets.Dropdown(
            options=options, value="exact" if self._order is None else self._order, description="order",
            layout=widgets.Layout(width="240px"),
        )
        order.add_class("sk-order")
        order.observe(self._guard(self._on_order, "order"), names="value")
        controls["order"] = order
        if self.session.method == "heat":
            self._reg_slider.slider.description = "log\u2081\u2080 t (= reg)"
        return controls

    def _on_order(self, change) -> None:
        value = change["new"]
        self._coalescer.submit(order=None if value == "exact" else int(value), source="order")

    # ------------------------------------------------------------------ apply

    def _session_params(self, changes: dict) -> dict:
        return dict(reg=float(changes.get("reg", self._reg)), order=changes.get("order", self._order))

    def _applied(self, st, params: dict):
        self._reg, self._order, self._step = st.reg, st.order, st
        return st

    def _sync_controls(self, source) -> None:
        with self._quiet:
            if source != "slider":
                self._reg_slider.show(self._reg)
            control = self.controls["order"]
            value = "exact" if self._order is None else self._order
            if source != "order" and control.value != value:
                control.value = value

    def _status_parts(self, st) -> list[str]:
        s = self.session
        name = str(getattr(s.method, "__name__", s.method))
        parts = [f"{name} on the {s.kind} Laplacian", format_value("t = reg" if s.method == "heat" else "reg", st.reg)]
        if st.order is None:
            parts.append("exact")
        else:
            parts.append(f"Chebyshev K = {st.order}, max|p\u2212h| = {st.max_error:.2e}")
        parts.append(f"device {s.device}")
        parts.append(f"\u2016y\u2212x\u2016 = {float(st.residual_norm):.3e}")
        if st.error_norm is not None:
            parts.append(f"\u2016x\u2212clean\u2016 = {float(st.error_norm):.3e}")
        return parts

    # ------------------------------------------------------------------ figures

    def _signal_layout(self):
        """"scatter" (2-D positions), "line1d" (1-D positions) or "index"."""
        pos = self.session.positions
        if pos is None or pos.shape[1] == 0:
            return "index"
        return "scatter" if pos.shape[1] >= 2 else "line1d"

    def _build_figures(self):
        s = self.session
        traces: dict[str, dict] = {}

        def add(fig, fig_name, key, trace):
            fig.add_trace(trace)
            traces.setdefault(fig_name, {})[key] = fig.data[-1]

        # response
        coefs = [self._coef] + ([] if self._clean_coef is None else [self._clean_coef])
        pos = np.concatenate([c[c > 0] for c in coefs])
        crange = [-1.0, 1.0] if not pos.size else [
            float(np.log10(np.percentile(pos, 1))) - 0.3, float(np.log10(pos.max())) + 0.3
        ]
        what = "t" if s.method == "heat" else "reg"
        resp = figure_widget(
            "response", f"frequency response h(\u03bb; {what}) over the eigenvalues",
            xaxis=dict(title=dict(text=f"Laplacian eigenvalue \u03bb ({s.kind})"),
                       range=[-0.02 * s.lmax, s.lmax * 1.02]),
            yaxis=dict(title=dict(text="h(\u03bb)"), range=[-0.15, 1.15], tickvals=[0, 0.5, 1]),
            yaxis2=dict(title=dict(text="|graph Fourier coefficient|"), type="log", overlaying="y", side="right",
                        range=crange, showgrid=False, exponentformat="power"),
            legend=dict(orientation="h", x=0.0, y=1.01, yanchor="bottom", font=dict(size=10), bgcolor="rgba(0,0,0,0)"),
            margin=dict(MARGIN, r=60, t=70),
        )
        lam = self._lam
        add(resp, "response", "coef", go.Scattergl(
            x=lam, y=self._coef, name="|V\u1d40y| \u2192", mode="markers", yaxis="y2",
            marker=dict(size=4, color=_COLORS["coef"]),
        ))
        if self._clean_coef is not None:
            add(resp, "response", "clean_coef", go.Scattergl(
                x=lam, y=self._clean_coef, name="|V\u1d40clean| \u2192", mode="markers", yaxis="y2",
                marker=dict(size=4, color=_COLORS["clean_coef"], symbol="x"),
            ))
        add(resp, "response", "cutoff", go.Scatter(
            x=[], y=[-0.15, 1.15], name=f"\u03bb = 1/{what}", mode="lines", hoverinfo="skip",
            line=dict(color=_COLORS["cutoff"], dash="dot", width=1.5),
        ))
        add(resp, "response", "exact", go.Scatter(
            x=lam, name="h exact", mode="lines+markers", line=dict(color=_COLORS["exact"], width=2),
            marker=dict(size=4),
        ))
        add(resp, "response", "chebyshev", go.Scatter(
            x=lam, name="Chebyshev p<sub>K</sub>", mode="lines", visible=False,
            line=dict(color=_COLORS["chebyshev"], dash="dash", width=2),
        ))

        # signal
        y = s.signal
        lay = self._signal_layout()
        if lay == "scatter":
            panels = [("data", "noisy y"), ("x", "filtered x")] + ([("clean", "clean")] if s.clean is not None else [])
            vals = np.concatenate([y] + ([s.clean] if s.clean is not None else []))
            lo, hi = np.percentile(vals, [1, 99])
            if not hi > lo:
                lo, hi = float(vals.min()), float(vals.max()) + 1e-12
            n_p = len(panels)
            gap = 0.04
            width = (1 - gap * (n_p - 1)) / n_p
            layout = dict(
                coloraxis=dict(colorscale="RdBu_r", cmin=float(lo), cmax=float(hi),
                               colorbar=dict(thickness=10, len=0.8)),
                annotations=[
                    dict(text=label, x=i * (width + gap) + width / 2, y=1.0, xref="paper", yref="paper",
                         xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=12))
                    for i, (_, label) in enumerate(panels)
                ],
                showlegend=False,
            )
            for i in range(n_p):
                suffix = "" if i == 0 else str(i + 1)
                layout[f"xaxis{suffix}"] = dict(domain=[i * (width + gap), i * (width + gap) + width],
                                                 anchor=f"y{suffix}", constrain="domain", showticklabels=False)
                layout[f"yaxis{suffix}"] = dict(scaleanchor=f"x{suffix}", anchor=f"x{suffix}", constrain="domain",
                                                 showticklabels=False)
            sig = figure_widget("signal", "the graph signal: before and after the filter", width=FIG_WIDE, height=330,
                                margin=dict(l=20, r=20, t=50, b=20), **layout)
            P = s.positions
            for i, (key, label) in enumerate(panels):
                suffix = "" if i == 0 else str(i + 1)
                color = {"data": y, "clean": s.clean}.get(key)
                add(sig, "signal", key, go.Scattergl(
                    x=P[:, 0], y=P[:, 1], mode="markers", name=label, xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                    marker=dict(size=6, color=color, coloraxis="coloraxis"),
                    hovertemplate=f"%{{marker.color:.3g}}<extra>{label}</extra>",
                ))
        else:
            if lay == "line1d":
                self._order_1d = np.argsort(s.positions[:, 0], kind="stable")
                xs = s.positions[self._order_1d, 0]
                xtitle = "position"
            else:
                self._order_1d = np.arange(s.n)
                xs = np.arange(s.n)
                xtitle = f"node ({s.sample_dim})"
            o = self._order_1d
            sig = figure_widget(
                "signal", "the graph signal: before and after the filter", width=FIG_WIDE, height=300,
                xaxis=dict(title=dict(text=xtitle)), yaxis=dict(title=dict(text=str(s.name or "value"))),
                legend=dict(orientation="h", x=1.0, xanchor="right", y=1.02, yanchor="bottom"),
            )
            add(sig, "signal", "data", go.Scattergl(x=xs, y=y[o], name="noisy y", mode="markers",
                                                    marker=dict(size=4, color=_COLORS["data"])))
            if s.clean is not None:
                add(sig, "signal", "clean", go.Scattergl(x=xs, y=s.clean[o], name="clean", mode="lines",
                                                         line=dict(color=_COLORS["clean"], dash="dash", width=1.5)))
            add(sig, "signal", "x", go.Scattergl(x=xs, name="filtered x", mode="lines",
                                                 line=dict(color=_COLORS["x"], width=2)))

        cr, traces["criteria"] = criteria_figure(
            f"error and criteria over {what}", self._grid_lo, self._grid_hi, _CRITERIA_CURVES, _COLORS
        )
        return {"response": resp, "signal": sig, "criteria": cr}, traces

    def _draw_path(self, path: xr.Dataset, choices: dict) -> None:
        reg = path["reg"].values
        tc = self._traces["criteria"]
        values = {key: path[key].values for key, _ in _CRITERIA_CURVES if key in path}
        curves, self._criteria_span = draw_criteria(self.figures["criteria"], tc, reg, values, _CRITERIA_CURVES)
        marks = {k: v for k, v in choices.items() if k in _MARKED}
        mark_choices(tc, reg, curves, marks, _CRITERIA_CURVES, _COLORS, _CHOICE_LABELS)
        self._choices = dict(choices)

    def _draw_reg(self, st) -> None:
        x = st.x.detach().cpu().numpy().astype(float)
        t = self._traces
        with self.figures["signal"].batch_update():
            if self._signal_layout() == "scatter":
                t["signal"]["x"].marker.color = x
            else:
                t["signal"]["x"].y = x[self._order_1d]
        h = st.response.detach().cpu().numpy().astype(float)
        with self.figures["response"].batch_update():
            t["response"]["exact"].y = h
            cheb = t["response"]["chebyshev"]
            if st.chebyshev is None:
                cheb.visible = False
            else:
                cheb.y = st.chebyshev.detach().cpu().numpy().astype(float)
                cheb.visible = True
            cut = 1.0 / st.reg if st.reg > 0 else math.inf
            t["response"]["cutoff"].x = [cut, cut] if cut <= self.session.lmax else []
        with self.figures["criteria"].batch_update():
            line = t["criteria"]["current"]
            line.x, line.y = [st.reg, st.reg], list(self._criteria_span)

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> FigureBox:
        c = self.controls
        row1 = widgets.HBox([c["reg"], c["reg_readout"], c["order"]],
                            layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        grid = widgets.GridBox(
            [self.figures["response"], self.figures["criteria"]],
            layout=widgets.Layout(grid_template_columns=f"repeat(2, {FIG_W}px)", grid_gap="6px 12px",
                                  width=f"{FIG_WIDE + 12}px"),
        )
        box = FigureBox([row1, self.status, self.figures["signal"], grid], figures=self.figures.values(),
                        layout=widgets.Layout(width=f"{FIG_WIDE + 30}px"))
        box.add_class("sk-graph-filter-explorer")
        return box

