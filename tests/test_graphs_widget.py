"""GraphSpectrumExplorer and GraphFilterExplorer in plain Python (no browser): set controls,
read the figures, compare them with the sessions' answers. Without a running asyncio loop
a coalesced change waits for ``flush()``."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from spectrakit.core import graphs as G  # noqa: E402
from spectrakit.tuning import GraphFilterSession, GraphSpectrumSession  # noqa: E402
from spectrakit.widgets import GraphFilterExplorer, GraphSpectrumExplorer  # noqa: E402
from spectrakit.widgets.fourier import decode_array  # noqa: E402


def arr(value):
    return decode_array(value)


def blobs(n=180, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [3.0, 0.0], [1.5, 2.5]])
    labels = np.repeat(np.arange(3), n // 3)
    return centers[labels] + 0.35 * rng.standard_normal((n, 2)), labels


def smooth_problem(n=150, noise=0.4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    clean = np.sin(np.pi * X[:, 0]) * np.cos(np.pi * X[:, 1] / 2)
    return X, clean + noise * rng.standard_normal(n), clean


def check_spectrum_figures(ex, out):
    """Every trace of the spectrum explorer equals the session's answer ``out``."""
    lam = out["eigenvalues"].values
    np.testing.assert_allclose(arr(ex.trace("eigenvalues", "eigenvalues").y), lam)
    c, g = out.attrs["n_clusters"], out.attrs["eigengap"]
    np.testing.assert_allclose(arr(ex.trace("eigenvalues", "used").x), np.arange(1, c + 1))
    np.testing.assert_allclose(arr(ex.trace("eigenvalues", "used").y), lam[:c])
    np.testing.assert_allclose(arr(ex.trace("eigenvalues", "gap").x), [g + 0.5, g + 0.5])
    np.testing.assert_allclose(arr(ex.trace("eigenvalues", "gap").y), lam[g - 1 : g + 1])
    U = out["embedding"].values
    nodes = ex.trace("embedding", "nodes")
    np.testing.assert_allclose(arr(nodes.x), U[:, 1])
    np.testing.assert_allclose(arr(nodes.y), U[:, 2])
    np.testing.assert_array_equal(arr(nodes.marker.color), out["labels"].values)


# ============================================================================ spectrum explorer


@pytest.fixture
def spectrum_explorer():
    X, labels = blobs(120)
    return GraphSpectrumExplorer(X, k=20, labels=labels, device="cpu", throttle_s=60.0)


def test_spectrum_explorer_figures_equal_session(spectrum_explorer):
    ex = spectrum_explorer
    out = ex.session.update()
    assert set(ex.figures) == {"eigenvalues", "embedding", "data"}
    assert {"k", "n_clusters"} <= set(ex.controls) and "bandwidth" not in ex.controls
    check_spectrum_figures(ex, out)
    assert out.attrs["eigengap"] == 3 and ex.n_clusters == 3 and out.attrs["ari"] == 1.0
    pts = ex.trace("data", "points")
    np.testing.assert_allclose(arr(pts.x), ex.session.positions[:, 0])
    np.testing.assert_array_equal(arr(pts.marker.color), out["labels"].values)
    assert "ARI 1.000" in ex.status.value and "eigengap \u25b8 3" in ex.status.value
    assert ex.controls["n_clusters"].value == 0 and ex.n_updates == 1
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()
    for name in ex.figures:
        assert f"sk-fig-{name}" in ex.figures[name]._dom_classes
    assert "sk-k-slider" in ex.controls["k"]._dom_classes and "sk-graph-spectrum-explorer" in ex.widget._dom_classes


def test_spectrum_explorer_k_and_clusters_moves_update_in_place(spectrum_explorer):
    ex = spectrum_explorer
    s = ex.session
    traces = {name: list(fig.data) for name, fig in ex.figures.items()}
    spectra = s.n_spectra
    ex.set(n_clusters=4)
    ex.flush()
    assert ex.n_clusters == 4 and s.n_spectra == spectra  # k-means only
    check_spectrum_figures(ex, s.update())
    assert len(arr(ex.trace("eigenvalues", "used").x)) == 4
    assert "clusters 4" in ex.status.value and "(eigengap)" not in ex.status.value
    ex.set(k=24)
    assert ex.pending == {"param": 24, "source": "k"}  # coalesced: waits for flush (no loop here)
    ex.flush()
    assert ex.k == 24 and s.k == 24 and s.n_spectra == spectra + 1 and ex.n_clusters == 4
    check_spectrum_figures(ex, s.update())
    ex.set(n_clusters=0)  # back to the eigengap's choice
    ex.flush()
    assert ex.n_clusters == 3 and s.n_clusters is None and "(eigengap)" in ex.status.value
    for name, fig in ex.figures.items():  # the same figures and traces, updated in place
        assert all(a is b for a, b in zip(fig.data, traces[name])) and len(fig.data) == len(traces[name])
    with pytest.raises(ValueError, match="k must be in"):
        ex.set(k=10_000)
    with pytest.raises(ValueError, match="n_clusters must be in"):
        ex.set(n_clusters=99)
    with pytest.raises(ValueError, match="bandwidth applies"):
        ex.set(bandwidth=0.5)


def test_spectrum_explorer_fast_drag_coalesces(spectrum_explorer):
    ex = spectrum_explorer
    start = ex.n_updates
    for k in range(5, 31):
        ex.controls["k"].value = k
    assert ex.n_updates - start <= 1
    ex.flush()
    assert ex.k == 30 and ex.session.k == 30 and ex.pending == {}
    check_spectrum_figures(ex, ex.session.update())


def test_spectrum_explorer_leading_edge_and_errors(monkeypatch):
    X, labels = blobs(120)
    ex = GraphSpectrumExplorer(X, labels=labels, device="cpu", throttle_s=0.0)
    ex.controls["k"].value = 12
    assert ex.k == 12 and ex.n_updates == 2 and ex.pending == {}
    good = arr(ex.trace("eigenvalues", "eigenvalues").y)

    def broken(*a, **kw):
        raise RuntimeError("eigensolver fell over")

    monkeypatch.setattr(ex.session, "_solve", broken)
    ex.controls["k"].value = 15
    assert ex.error == "RuntimeError: eigensolver fell over" and "#c62828" in ex.status.value
    assert ex.k == 12 and ex.session.k == 12 and ex.controls["k"].value == 12  # controls follow the figures
    np.testing.assert_array_equal(arr(ex.trace("eigenvalues", "eigenvalues").y), good)
    monkeypatch.undo()
    ex.controls["k"].value = 15
    assert ex.k == 15 and ex.error is None and "RuntimeError" not in ex.status.value


def test_gaussian_and_given_graphs():
    X, labels = blobs(120)
    ex = GraphSpectrumExplorer(X, graph="gaussian", labels=labels, device="cpu", throttle_s=60.0)
    b0 = ex.bandwidth
    assert "bandwidth" in ex.controls and "k" not in ex.controls and ex.k is None
    ex.set(bandwidth=2 * b0)
    ex.flush()
    assert ex.bandwidth == 2 * b0 and ex.session.bandwidth == 2 * b0
    check_spectrum_figures(ex, ex.session.update())
    assert ex.controls["bandwidth_readout"].value == f"bandwidth = {2 * b0:.2e}"
    with pytest.raises(ValueError, match="bandwidth must be in"):
        ex.set(bandwidth=100 * b0)
    # a given stochastic block model: the adjacency sorted by cluster shows the blocks
    W, truth = G.stochastic_block_model([30, 25, 25], 0.5, 0.03, seed=0)
    perm = np.random.default_rng(0).permutation(80)
    Wp, tp = W.numpy()[np.ix_(perm, perm)], truth.numpy()[perm]
    ex = GraphSpectrumExplorer(Wp, graph="precomputed", labels=tp, device="cpu", throttle_s=60.0)
    out = ex.result
    assert out.attrs["eigengap"] == 3 and out.attrs["ari"] == 1.0 and set(ex.controls) == {"n_clusters"}
    z = decode_array(ex.trace("data", "adjacency").z)
    order = np.argsort(out["labels"].values, kind="stable")
    np.testing.assert_array_equal(z, Wp[np.ix_(order, order)])
    sizes = np.bincount(out["labels"].values)
    first = slice(0, sizes[0])
    assert z[first, first].mean() > 5 * z[first, sizes[0]:].mean()
    check_spectrum_figures(ex, out)
    with pytest.raises(ValueError, match="k applies"):
        ex.set(k=3)


def test_spectrum_explorer_from_session_and_bad_arguments():
    X, labels = blobs(90)
    s = GraphSpectrumSession(X, k=8, device="cpu")
    ex = GraphSpectrumExplorer(s, k=12, n_clusters=2)
    assert ex.session is s and ex.k == 12 and s.k == 12 and ex.n_clusters == 2
    with pytest.raises(TypeError, match="device"):
        GraphSpectrumExplorer(s, device="cpu")
    with pytest.raises(TypeError, match="labels"):
        GraphSpectrumExplorer(s, labels=labels)
    with pytest.raises(ValueError, match="bandwidth applies"):
        GraphSpectrumExplorer(s, bandwidth=0.3)
    with pytest.raises(ValueError, match="k_max"):
        GraphSpectrumExplorer(X, k=20, k_max=10, device="cpu")
    with pytest.raises(ValueError, match="points must be"):
        GraphSpectrumExplorer(np.zeros((4, 3, 2)), device="cpu")


# ============================================================================== filter explorer


@pytest.fixture
def filter_explorer():
    X, y, clean = smooth_problem()
    return GraphFilterExplorer(X, y, clean=clean, k=8, reg=0.1, device="cpu", throttle_s=60.0)


def test_filter_explorer_figures_equal_session(filter_explorer):
    ex = filter_explorer
    s = ex.session
    assert set(ex.figures) == {"response", "signal", "criteria"} and {"reg", "reg_readout", "order"} <= set(ex.controls)
    out = s.update(reg=0.1)
    np.testing.assert_allclose(arr(ex.trace("signal", "x").marker.color), out["estimate"].values)
    np.testing.assert_allclose(arr(ex.trace("signal", "data").marker.color), s.signal)
    np.testing.assert_allclose(arr(ex.trace("signal", "clean").marker.color), s.clean)
    np.testing.assert_allclose(arr(ex.trace("signal", "x").x), s.positions[:, 0])
    np.testing.assert_allclose(arr(ex.trace("response", "exact").x), s.eigenvalues)
    np.testing.assert_allclose(arr(ex.trace("response", "exact").y), out["response"].values)
    assert ex.trace("response", "chebyshev").visible is False and ex.order is None
    np.testing.assert_allclose(arr(ex.trace("response", "cutoff").x), [10.0, 10.0])
    coef = s.coefficients()
    np.testing.assert_allclose(arr(ex.trace("response", "coef").y), np.abs(coef["signal"].values))
    err = s.path["error_norm"].values
    np.testing.assert_allclose(arr(ex.trace("criteria", "error_norm").y), err / err.min())
    np.testing.assert_allclose(arr(ex.trace("criteria", "current").x), [0.1, 0.1])
    assert ex.choices["min_error"] in arr(ex.trace("criteria", "choices").x)
    assert "reg = 1.00e-01" in ex.status.value and "exact" in ex.status.value
    assert "sk-graph-filter-explorer" in ex.widget._dom_classes and "sk-order" in ex.controls["order"]._dom_classes


def test_filter_explorer_reg_and_order_moves(filter_explorer):
    ex = filter_explorer
    s = ex.session
    traces = {name: list(fig.data) for name, fig in ex.figures.items()}
    calls = []
    real = s._compute_path

    def counting(target):
        calls.append(target["order"])
        return real(target)

    s._compute_path = counting
    err_exact = arr(ex.trace("criteria", "error_norm").y)
    ex.set(reg=0.5)
    ex.flush()
    assert ex.reg == 0.5 and s.reg == 0.5 and calls == []
    out = s.update(reg=0.5)
    np.testing.assert_allclose(arr(ex.trace("signal", "x").marker.color), out["estimate"].values)
    np.testing.assert_allclose(arr(ex.trace("response", "exact").y), 1 / (1 + 0.5 * s.eigenvalues), rtol=1e-12)
    ex.set(order=5)
    ex.flush()
    assert ex.order == 5 and s.order == 5 and calls == [5]
    out = s.update()
    cheb = ex.trace("response", "chebyshev")
    assert cheb.visible is True
    np.testing.assert_allclose(arr(cheb.y), out["chebyshev"].values)
    np.testing.assert_allclose(arr(ex.trace("signal", "x").marker.color), out["estimate"].values)
    assert not np.allclose(out["estimate"].values, out["exact"].values, atol=1e-6)  # K = 5 is visibly off
    err5 = s.path_for(5)["error_norm"].values
    np.testing.assert_allclose(arr(ex.trace("criteria", "error_norm").y), err5 / err5.min())
    assert f"max|p\u2212h| = {out.attrs['chebyshev_max_error']:.2e}" in ex.status.value
    ex.set(order="exact")
    ex.flush()
    ex.set(order=5)
    ex.flush()
    assert calls == [5]  # both paths cached
    ex.set(order="exact")
    ex.flush()
    assert ex.trace("response", "chebyshev").visible is False
    np.testing.assert_allclose(arr(ex.trace("criteria", "error_norm").y), err_exact)
    for name, fig in ex.figures.items():
        assert all(a is b for a, b in zip(fig.data, traces[name]))
    with pytest.raises(ValueError, match="order menu"):
        ex.set(order=7)
    with pytest.raises(ValueError, match="outside the slider"):
        ex.set(reg=1e9)


def test_filter_explorer_fast_drag_and_errors(filter_explorer, monkeypatch):
    ex = filter_explorer
    slider = ex.controls["reg"]
    start = ex.n_updates
    values = np.linspace(slider.min + 10, slider.max - 10, 40).round().astype(int)
    for v in values:
        slider.value = int(v)
    assert ex.n_updates - start <= 1
    ex.flush()
    assert ex.reg == ex.sliders["reg"].value_at(int(values[-1])) and ex.pending == {}
    good = arr(ex.trace("signal", "x").marker.color)

    def broken(*a, **kw):
        raise RuntimeError("device fell over")

    monkeypatch.setattr(ex.session, "_solve", broken)
    ex.set(reg=0.2)
    ex.flush()
    assert ex.error == "RuntimeError: device fell over" and "device fell over" in ex.status.value
    np.testing.assert_array_equal(arr(ex.trace("signal", "x").marker.color), good)
    monkeypatch.undo()
    ex.set(reg=0.2)
    ex.flush()
    assert ex.reg == 0.2 and ex.error is None


def test_filter_explorer_on_a_given_graph_draws_over_the_node_index():
    W, _ = G.stochastic_block_model([40, 40], 0.3, 0.02, seed=1)
    clean = np.repeat([1.0, -1.0], 40)
    y = clean + 0.5 * np.random.default_rng(0).standard_normal(80)
    sig = xr.DataArray(y, dims="node", name="opinion")
    ex = GraphFilterExplorer(W, sig, clean=clean, method="heat", kind="symmetric", order=20, device="cpu",
                             throttle_s=60.0)
    assert ex.session.build == "adjacency" and ex.order == 20 and ex.controls["order"].value == 20
    assert "t" in ex.controls["reg"].description and "t = reg" in ex.status.value
    out = ex.session.update()
    np.testing.assert_allclose(arr(ex.trace("signal", "x").x), np.arange(80))
    np.testing.assert_allclose(arr(ex.trace("signal", "x").y), out["estimate"].values)
    np.testing.assert_allclose(arr(ex.trace("signal", "clean").y), clean)
    lam, h, p = ex.response_view()
    np.testing.assert_allclose(h, np.exp(-ex.reg * lam), rtol=1e-10)
    assert np.abs(p - h).max() < 1e-6  # K = 20 on the normalized Laplacian: the exact filter
    session = GraphFilterSession(W, y, device="cpu")
    with pytest.raises(TypeError, match="signal"):
        GraphFilterExplorer(session, y)
    with pytest.raises(TypeError, match="device"):
        GraphFilterExplorer(session, device="cpu")
    with pytest.raises(TypeError, match="clean"):
        GraphFilterExplorer(session, clean=clean)
    with pytest.raises(TypeError, match="signal is required"):
        GraphFilterExplorer(W)
    with pytest.raises(TypeError, match="GraphSpectrumExplorer"):
        GraphFilterExplorer(GraphSpectrumSession(W, graph="precomputed", device="cpu"))
