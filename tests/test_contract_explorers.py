"""The explorer contract, checked on every explorer.

Slider-driven explorers: ``set`` then ``flush`` changes the figure data; a value the
session refuses shows in the status line and changes no figure; a later good value
recovers. Streaming training explorers: ``set`` then ``flush`` then training moves the
figures; a failing step shows in the status line and changes no figure; the next run
recovers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

import spectrakit  # noqa: E402
from spectrakit import widgets  # noqa: E402
from spectrakit.widgets._explorer import ExplorerBase  # noqa: E402


def _regularization():
    problem = spectrakit.datasets.shaw(32, noise=1e-2, seed=0)
    return widgets.RegularizationExplorer(problem, device="cpu", throttle_s=60.0), dict(reg=1e-3), dict(reg=1e-1)


def _spectrum():
    rng = np.random.default_rng(0)
    t = np.arange(128) * 0.1
    da = xr.DataArray(np.sin(t) + 0.2 * rng.standard_normal(t.size), dims="time", coords={"time": t})
    return widgets.SpectrumExplorer(da, "time", device="cpu", throttle_s=60.0), dict(reg=1e-2), dict(sobolev=2.0)


def _graph_filter():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(80, 2))
    clean = np.sin(3 * X[:, 0]) + X[:, 1]
    ex = widgets.GraphFilterExplorer(X, clean + 0.3 * rng.standard_normal(80), clean=clean, k=6, device="cpu",
                                     throttle_s=60.0)
    return ex, dict(reg=0.5), dict(order=10)


def _graph_spectrum():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.2, size=(30, 2)) for c in ((0, 0), (3, 0), (0, 3))])
    return widgets.GraphSpectrumExplorer(X, k=8, device="cpu", throttle_s=60.0), dict(k=12), dict(n_clusters=2)


def _learning_curve():
    ex = widgets.LearningCurveExplorer(n_modes=60, n_mc=[10, 20], trials=3, device="cpu", throttle_s=60.0)
    return ex, dict(reg=1.0), dict(alpha=2.0)


CASES = {
    "RegularizationExplorer": _regularization,
    "SpectrumExplorer": _spectrum,
    "GraphFilterExplorer": _graph_filter,
    "GraphSpectrumExplorer": _graph_spectrum,
    "LearningCurveExplorer": _learning_curve,
}


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _training():
    x = np.arange(64) / 64
    s = spectrakit.tuning.TrainingSession(x, np.sin(2 * np.pi * x), hidden=(16,), lr=0.05, optimizer="gd",
                                          device="cpu", seed=0)
    return widgets.TrainingExplorer(s, chunk=5, max_steps=400, interval_s=0.0), dict(lr=0.02)


def _weights():
    s = spectrakit.tuning.WeightSession(hidden=(8, 8), n=32, n_test=16, tasks=2, steps_per_task=10, lr=3e-2,
                                        spectrum_every=2, device="cpu", seed=0)
    return widgets.WeightExplorer(s, chunk=5, interval_s=0.0, throttle_s=0.0), dict(lr=0.02)


def _representations():
    s = spectrakit.tuning.RepresentationSession(n=128, d_in=8, d_out=4, device="cpu", seed=0)
    return widgets.RepresentationExplorer(s, chunk=5, max_steps=1000, interval_s=0.0), dict(lr=0.02)


def _implicit():
    s = spectrakit.tuning.ImplicitSession(device="cpu")
    return widgets.ImplicitExplorer(s, chunk=10, max_steps=1000, interval_s=0.0, throttle_s=0.0), dict(lr=0.02)


STREAMING = {
    "TrainingExplorer": _training,
    "WeightExplorer": _weights,
    "RepresentationExplorer": _representations,
    "ImplicitExplorer": _implicit,
}


def test_every_explorer_is_covered():
    from spectrakit.widgets._streaming import StreamingExplorer

    names = {c.__name__ for c in _all_subclasses(ExplorerBase)} | {"GraphSpectrumExplorer"}
    assert names == set(CASES)
    assert {c.__name__ for c in _all_subclasses(StreamingExplorer)} == set(STREAMING)
    assert set(widgets.__all__) >= set(CASES) | set(STREAMING)


def _figure_data(ex) -> str:
    return json.dumps([fig.to_plotly_json()["data"] for fig in ex.figures.values()], sort_keys=True, default=str)


@pytest.mark.parametrize("name", list(CASES))
def test_set_flush_error_and_recovery(name, monkeypatch):
    ex, first, second = CASES[name]()
    assert ex.error is None
    before = _figure_data(ex)
    ex.set(**first)
    ex.flush()
    assert ex.error is None
    moved = _figure_data(ex)
    assert moved != before

    def refuse(*args, **kwargs):
        raise ValueError("the session refused this value")

    monkeypatch.setattr(ex.session, "_solve", refuse)
    settings = dict(ex.session.settings)
    ex.set(**second)
    ex.flush()
    assert ex.error == "ValueError: the session refused this value"
    assert "refused" in ex.status.value and "#c62828" in ex.status.value
    assert _figure_data(ex) == moved  # the figures still show the applied state
    assert ex.session.settings.keys() == settings.keys()
    assert all(ex.session.settings[k] == v for k, v in settings.items())
    monkeypatch.undo()
    ex.set(**second)
    ex.flush()
    assert ex.error is None and "refused" not in ex.status.value
    assert _figure_data(ex) != moved


@pytest.mark.parametrize("name", list(STREAMING))
def test_streaming_set_train_error_and_recovery(name, monkeypatch):
    ex, change = STREAMING[name]()
    assert ex.error is None
    before = _figure_data(ex)
    ex.set(**change)
    ex.flush()
    assert ex.error is None and ex.lr == change["lr"]
    ex.run(10)
    moved = _figure_data(ex)
    assert moved != before and ex.session.step == 10

    def refuse(*args, **kwargs):
        raise ValueError("the step refused to train")

    monkeypatch.setattr(ex.session, "_advance", refuse)
    with pytest.raises(ValueError, match="refused"):
        ex.run(10)
    assert "refused" in ex.error and "refused" in ex.status.value and "#c62828" in ex.status.value
    assert _figure_data(ex) == moved and ex.session.step == 10  # the figures show the state trained
    monkeypatch.undo()
    ex.run(10)
    assert ex.error is None and ex.session.step == 20 and _figure_data(ex) != moved
