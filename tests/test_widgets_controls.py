"""The pieces every explorer's front end stands on: the grid slider (a value set from code
survives the page), the shared plotly.js figure, the thinning of streamed lines, and the
home loop that keeps explorer callbacks on one thread."""

from __future__ import annotations

import asyncio
import math
import pathlib
import threading

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

import ipywidgets as widgets  # noqa: E402
import plotly  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

import spectrakit  # noqa: E402
from spectrakit.widgets import RegularizationExplorer, TrainingExplorer  # noqa: E402
from spectrakit.widgets._controls import GridSlider, HomeLoop  # noqa: E402
from spectrakit.widgets._figure import Figure, PlotlyLibrary, plotly_library  # noqa: E402
from spectrakit.widgets._streaming import thin  # noqa: E402

# --------------------------------------------------------------------------- GridSlider


@pytest.mark.parametrize("lo, hi, step, log", [(1e-8, 1.0, 0.05, True), (1e-3, 7.3, 0.1, True),
                                               (0.0, 50.0, 0.5, False), (-2.0, 2.0, 0.04, False)])
def test_grid_positions_are_integers_that_map_to_the_ends(lo, hi, step, log):
    s = GridSlider(lo, hi, hi, step=step, log=log)
    assert type(s.slider) is widgets.IntSlider and s.slider.step == 1 and s.slider.readout is False
    n = s.n_steps
    assert (s.slider.min, s.slider.max) == (0, n)
    span = math.log10(hi / lo) if log else hi - lo
    assert n == round(span / step)
    assert s.value_at(0) == pytest.approx(lo, rel=1e-12, abs=1e-15) and s.value_at(n) == pytest.approx(hi, rel=1e-12)
    values = np.array([s.value_at(k) for k in range(n + 1)])
    assert np.all(np.diff(values) > 0)
    assert [s.position(v) for v in values] == list(range(n + 1))  # every grid point is its own position
    inner = np.sqrt(values[:-1] * values[1:]) if log else (values[:-1] + values[1:]) / 2
    nearest = [int(np.argmin(np.abs((np.log(values) if log else values) - (np.log(v) if log else v)))) for v in inner * 1.001]
    assert [s.position(v) for v in inner * 1.001] == nearest  # between two points: the nearer one
    assert s.position(hi * 10 if log else hi + 1) == n and s.position(lo / 10 if log else lo - 1) == 0  # ends


def test_set_is_exact_user_moves_take_grid_values_and_show_is_silent():
    s = GridSlider(1e-6, 1.0, 1e-3, step=0.5, name="reg")
    seen = []
    s.on_change(seen.append)
    s.set(2.5e-4)  # off the grid: passed on exactly, shown at the nearest position
    assert seen == [2.5e-4] and s.value == 2.5e-4 and s.slider.value == 5 and s.readout.value == "reg = 2.50e-04"
    s.set(2.6e-4)  # the same position: no change event, still passed on
    assert seen[-1] == 2.6e-4 and s.slider.value == 5
    s.slider.value = 6  # the user, one step right
    assert seen[-1] == s.value_at(6) == pytest.approx(1e-3)
    n = len(seen)
    s.show(0.05)
    assert len(seen) == n and s.value == 0.05 and s.slider.value == s.position(0.05)
    s.slider.set_state({"value": s.slider.value})  # the page's message at the position shown: no event
    assert len(seen) == n


def test_configure_keeps_the_positions_and_readout_names_the_new_quantity():
    s = GridSlider(0.0, 50.0, 25.0, step=0.5, log=False, name="var", css_class="sk-strength-slider")
    n = s.n_steps
    s.configure(-2.0, 2.0, 1.0, name="alpha", description="VNE \u03b1")
    assert s.n_steps == n and s.slider.max == n and s.readout.value == "alpha = 1"
    assert s.value_at(0) == -2.0 and s.value_at(n) == 2.0 and s.slider.description == "VNE \u03b1"
    assert "sk-strength-slider-readout" in s.readout._dom_classes
    with pytest.raises(ValueError, match="lo < hi"):
        GridSlider(1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="> 0 for a log slider"):
        GridSlider(0.0, 1.0, 0.5)


# --------------------------------------------------------------------------- Figure


def test_figures_share_one_plotly_library_read_from_the_installed_bundle():
    a, b = Figure(go.Scatter(y=[1, 2, 3])), Figure()
    lib = plotly_library()
    assert a._sk_library is b._sk_library is lib and isinstance(lib, PlotlyLibrary)
    bundle = pathlib.Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
    assert lib.source == bundle.read_text(encoding="utf-8") and len(lib.source) > 1_000_000
    state = a.get_state()
    assert state["_sk_library"] == f"IPY_MODEL_{lib.model_id}" and state["_sk_library_digest"] == lib.digest
    assert len(state["_esm"]) < 10_000 and "_js2py_traceDeltas" in state["_esm"]  # the loader, which drops echoes
    assert isinstance(a, go.FigureWidget) and list(a.data[0].y) == [1, 2, 3]  # plotly's own Python API
    lib.close()
    c = Figure()
    assert c._sk_library is not lib and c._sk_library.comm is not None  # a closed library is made again


def test_every_explorer_root_has_its_own_dom_class():
    problem = spectrakit.datasets.shaw(16, noise=1e-3, seed=0)
    a, b = RegularizationExplorer(problem, device="cpu"), RegularizationExplorer(problem, device="cpu")
    assert a.dom_class != b.dom_class
    assert {"sk-explorer", a.dom_class} <= set(a.widget._dom_classes)
    assert all(isinstance(f, Figure) for f in a.figures.values())


# --------------------------------------------------------------------------- thin


def _brute_force_checks(y, idx, max_points):
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    assert len(idx) <= max_points and np.all(np.diff(idx) > 0)
    assert idx[0] == 0 and idx[-1] == len(y) - 1
    for col in y.T:  # each line's highest and lowest sample is drawn
        assert np.nanmax(col[idx]) == np.nanmax(col) and np.nanmin(col[idx]) == np.nanmin(col)


def test_thin_keeps_everything_when_short_and_is_lossless_for_held_values():
    assert thin(np.arange(10.0), 10).tolist() == list(range(10))
    y = np.repeat([0.1, 0.3, 0.3, 0.05], 250)  # a learning rate moved three times over 1000 steps
    idx = thin(y, 20)
    assert len(idx) <= 20
    x = np.arange(y.size)
    np.testing.assert_array_equal(np.interp(x, idx, y[idx]), y)  # the drawn line is the whole one


@pytest.mark.parametrize("seed", range(5))
def test_thin_keeps_spikes_and_dips_of_every_line(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(500, 5000))
    y = np.cumsum(rng.standard_normal((n, 3)), axis=0)
    y[rng.integers(n), 0] += 1e3  # a catapult spike
    y[rng.integers(n, size=5), 1] = np.nan  # gaps on a log axis
    for max_points in (12, 50, 400):
        idx = thin(y, max_points)
        _brute_force_checks(y, idx, max_points)


def test_streamed_figures_stay_bounded_and_catch_up_after_pause():
    x = np.arange(64) / 64
    s = spectrakit.tuning.TrainingSession(x, np.sin(2 * np.pi * x), hidden=(16,), lr=0.05, optimizer="gd",
                                          device="cpu")
    ex = TrainingExplorer(s, chunk=5, max_steps=10_000)
    ex.max_points, ex.redraw_s, ex.interval_s = 30, 3600.0, 0.0

    async def stream():
        ex.start()
        while ex.session.step < 200:
            await asyncio.sleep(0)
        drawn = ex.n_updates
        ex.pause()
        await ex.wait()
        return drawn

    drawn = asyncio.run(stream())
    assert drawn <= 3  # construction, the first chunk: redraw_s holds the rest back
    loss = ex.trace("loss", "loss")
    assert len(loss.y) <= 30 and loss.x[-1] == ex.session.step  # the pause drew the last chunk
    assert f"step {ex.session.step}/" in ex.status_text and "paused" in ex.status_text


# --------------------------------------------------------------------------- HomeLoop


def test_a_callback_from_another_thread_runs_on_the_home_loop():
    seen = []

    async def main():
        home = HomeLoop()
        callback = home.wrap(lambda tag: seen.append((tag, threading.get_ident())))
        t = threading.Thread(target=callback, args=("page",))
        t.start()
        t.join()
        assert seen == []  # handed over, not run on the page's thread
        await asyncio.sleep(0.01)
        return threading.get_ident()

    home_thread = asyncio.run(main())
    assert seen == [("page", home_thread)]


def test_a_slider_move_on_a_subshell_thread_applies_on_the_explorers_loop():
    problem = spectrakit.datasets.shaw(16, noise=1e-3, seed=0)

    async def main():
        ex = RegularizationExplorer(problem, device="cpu", throttle_s=0.0)
        reg0, grid = ex.reg, ex.sliders["reg"]
        position = grid.position(reg0 * 100)
        t = threading.Thread(target=lambda: setattr(ex.controls["reg"], "value", position))
        t.start()
        t.join()
        assert ex.reg == reg0  # nothing ran on the subshell's thread
        await asyncio.sleep(0.01)
        return ex, grid.value_at(position)

    ex, moved = asyncio.run(main())
    assert ex.reg == moved and ex.error is None


def test_a_move_pending_while_streaming_applies_before_the_next_chunk():
    from _slider_helpers import page_move

    x = np.arange(64) / 64
    s = spectrakit.tuning.TrainingSession(x, np.sin(2 * np.pi * x), hidden=(16,), lr=0.05, optimizer="gd",
                                          device="cpu")
    ex = TrainingExplorer(s, chunk=5, max_steps=10_000, throttle_s=60.0)  # a trailing change would wait a minute
    ex.interval_s = 0.0

    async def stream():
        ex.start()
        while ex.session.step < 10:
            await asyncio.sleep(0)
        first = page_move(ex, "lr", 0.1)  # the leading edge applies at once
        second = page_move(ex, "lr", 0.2)  # within throttle_s: pending
        at = ex.session.step
        assert ex.pending.get("lr") == second
        while ex.session.step < at + 15:
            await asyncio.sleep(0)
        ex.pause()
        await ex.wait()
        return first, second, at

    first, second, at = asyncio.run(stream())
    lr = ex.session.history["lr"]
    assert first != second and float(lr.sel(step=at)) == 0.05  # both moves came between two chunks ...
    assert np.all(lr.sel(step=slice(at + 1, None)).values == second)  # ... the last one trains the next chunk on


def test_image_payload_is_plotlys_typed_array_spec():
    # our encoder of plotly.js's typed-array spec against plotly's own (a private helper of
    # plotly's, used here only as the reference)
    utils = pytest.importorskip("_plotly_utils.utils")
    from spectrakit.widgets._figure import decode_array, image_payload

    rng = np.random.default_rng(0)
    for z in (rng.random((3, 4)), rng.random((5, 2)).astype(np.float32), np.arange(12, dtype=np.uint8).reshape(3, 4),
              np.arange(6, dtype=np.int16)):
        assert image_payload(z) == utils.to_typed_array_spec(z)
        np.testing.assert_array_equal(decode_array(image_payload(z)), z.astype(float))
