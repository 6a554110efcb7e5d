"""RepresentationExplorer in plain Python and under asyncio.

The explorer is driven as a user would (controls, buttons) or through its Python API, and
its figures are read back and compared with the session's history.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from _slider_helpers import page_move, shown  # noqa: E402
from _streaming_helpers import arr, assert_same_history, assert_start_needs_a_loop, run_in_place  # noqa: E402
from _streaming_helpers import change_while_running, pause_resume, start_and_wait, stream_alongside  # noqa: E402

from spectrakit.tuning import RepresentationSession  # noqa: E402
from spectrakit.widgets import RepresentationExplorer  # noqa: E402
from spectrakit.widgets.representations import LOSS_LR, STRENGTH_RANGES  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def session(**kw):
    opts = dict(n=256, d_in=16, d_out=8, device="cpu", seed=0)
    opts.update(kw)
    return RepresentationSession(**opts)


def explorer(chunk=5, max_steps=1000, **kw):
    return RepresentationExplorer(session(**kw), chunk=chunk, max_steps=max_steps, interval_s=0.0)


# --------------------------------------------------------------------------- figures


def test_figures_fill_in_after_run_and_equal_the_history():
    ex = explorer()
    assert set(ex.figures) == {"eigenvalues", "rank", "loss"}
    assert ex.modes == list(range(8)) and len(ex.trace("eigenvalues", "mode0").y) == 1
    h = run_in_place(ex, 23)  # the same figures and traces, updated in place
    assert ex.session.step == 23 and h.sizes["step"] == 24
    steps, modes, values = ex.eigenvalue_lines()
    np.testing.assert_array_equal(steps, h["step"].values)
    np.testing.assert_array_equal(modes, h["mode"].values)
    np.testing.assert_allclose(values, h["eigenvalues"].values)
    assert ex.figures["eigenvalues"].layout.yaxis.type == "log"
    rank = ex.trace("rank", "effective_rank")
    np.testing.assert_array_equal(arr(rank.x), h["step"].values)
    np.testing.assert_allclose(arr(rank.y), h["effective_rank"].values)
    np.testing.assert_allclose(arr(ex.trace("rank", "vne_rank").y), np.exp(h["entropy"].values))
    d = ex.trace("rank", "d")
    assert list(arr(d.y)) == [8, 8] and list(arr(d.x)) == [0, 1000] and d.line.dash == "dash"
    np.testing.assert_allclose(arr(ex.trace("rank", "strength").y), 25.0)
    loss = ex.figures["loss"]
    for key in ("loss", "invariance", "variance", "covariance"):
        np.testing.assert_allclose(arr(ex.trace("loss", key).y), h[key].values, err_msg=key)
        assert ex.trace("loss", key).visible is not False
    assert ex.trace("loss", "vne").visible is False and len(ex.trace("loss", "vne").y) == 0
    assert loss.layout.yaxis.type == "log"  # every value drawn is >= 0
    text = ex.status_text
    for part in ("step 23/1000", f"loss = {float(h['loss'][-1]):.3e}", "effective rank = ", "of 8", "var = 25",
                 "vicreg", "lr = 1.00e-02", "paused"):
        assert part in text, (part, text)
    assert ex.error is None and not ex.running
    assert "25\u00b7invariance" in ex.controls["weights"].value and "1\u00b7covariance" in ex.controls["weights"].value


def test_css_classes_controls_and_layout():
    ex = explorer()
    assert "sk-representation-explorer" in ex.widget._dom_classes and "sk-status" in ex.status._dom_classes
    assert "sk-fig-eigenvalues" in ex.figures["eigenvalues"]._dom_classes
    assert "sk-strength-slider" in ex.controls["strength"]._dom_classes
    assert "sk-loss" in ex.controls["loss"]._dom_classes
    assert ex.controls["loss"].options == ("vicreg", "vne", "barlow")
    s = ex.controls["strength"]
    assert (s.min, s.max, s.value, s.step) == (0, 100, 50, 1) and "var" in s.description
    assert (ex.sliders["strength"].lo, ex.sliders["strength"].hi, ex.sliders["strength"].value_at(1)) == (0.0, 50.0, 0.5)
    assert ex.controls["strength_readout"].value == "var = 25"
    assert ex.controls["pause"].disabled and not ex.controls["start"].disabled


def test_wide_embeddings_draw_a_subset_of_modes():
    ex = RepresentationExplorer(session(d_out=40), max_steps=100, max_modes=5)
    assert ex.modes == [0, 10, 20, 29, 39]
    ex.run(3)
    _, modes, values = ex.eigenvalue_lines()
    eig = ex.session.history["eigenvalues"].sel(mode=modes).values  # d_out > d_in: rank 16, zeros after
    assert np.all(eig[:, -2:] == 0) and np.all(np.isnan(values[:, -2:]))  # gaps on the log axis
    np.testing.assert_allclose(values[:, :3], eig[:, :3])


# --------------------------------------------------------------------------- strength


def test_strength_slider_sets_the_running_sessions_weight():
    ex = explorer()
    ex.run(10)
    s = ex.session
    n = ex.n_updates
    assert page_move(ex, "strength", 5.0) == 5.0  # as the page would
    assert s.var == 5.0 and ex.strength == 5.0 and ex.session is s and s.step == 10  # same session, step 10
    assert ex.n_updates == n + 1 and "var = 5 from step 10 on" in ex.status_text
    assert ex.controls["strength_readout"].value == "var = 5"
    strength = ex.trace("rank", "strength")  # the line shows the new value at once, at the current step
    assert arr(strength.x)[-1] == 10 and arr(strength.y)[-1] == 5.0 and arr(strength.y)[-2] == 25.0
    ex.run(5)
    w = s.history["weight_var"]
    np.testing.assert_array_equal(w.sel(step=slice(0, 10)).values, 25.0)
    np.testing.assert_array_equal(w.sel(step=slice(11, None)).values, 5.0)
    np.testing.assert_array_equal(arr(ex.trace("rank", "strength").y), w.values)  # no extra point once recorded
    # the Python API, an exact value off the slider's grid, through the same coalescing
    ex.set(strength=12.34)
    ex.flush()
    assert s.var == 12.34 and ex.controls["strength_readout"].value == "var = 12.34"
    assert shown(ex, "strength") == 12.5  # the nearest position
    # other weights are shown, set on the session
    s.cov = 3.0
    ex.set(lr=0.02)
    ex.flush()
    assert "3\u00b7covariance" in ex.controls["weights"].value and s.lr == 0.02 and s.step == 15


def test_strength_off_the_grid_survives_the_page():
    ex = RepresentationExplorer(session(loss="barlow", lr=0.1), max_steps=100, throttle_s=60.0)
    slider = ex.controls["strength"]
    assert ex.strength == 0.0051 and ex.sliders["strength"].value_at(1) == pytest.approx(0.002)
    n = ex.n_updates
    slider.set_state({"value": slider.value})  # the page's message at the position shown (0.006)
    ex.flush()
    assert ex.session.lambd == 0.0051 and ex.n_updates == n
    assert ex.controls["strength_readout"].value == "lambd = 0.0051"
    slider.set_state({"value": slider.value + 1})  # a user's move: one position
    ex.flush()
    assert ex.session.lambd == pytest.approx(0.008) and ex.n_updates == n + 1


def test_fast_strength_drag_coalesces_and_last_value_wins():
    ex = RepresentationExplorer(session(), max_steps=100, throttle_s=10.0)
    s = ex.session
    for value in (20.0, 15.0, 10.0, 2.5):
        page_move(ex, "strength", value)
    assert s.var == 20.0 and ex.pending["weights"] == {"var": 2.5}  # leading edge applied, the rest waits
    ex.run(1)  # run() applies pending changes first
    assert s.var == 2.5 and s.history["weight_var"].values[-1] == 2.5


def test_var_zero_collapses_the_spectrum_in_the_figure():
    ex = explorer(chunk=50, lr=0.02)
    ex.run(100)
    ex.set(strength=0.0)
    ex.flush()
    ex.run(300)
    steps, _, values = ex.eigenvalue_lines()  # 401 steps, thinned to max_points: the highest and lowest kept
    at_switch, last = ex.session.history["eigenvalues"].sel(step=100).values, values[-1]
    assert steps[-1] == 400 and np.all(at_switch > 0.1), at_switch
    np.testing.assert_allclose(values.max(axis=0), ex.session.history["eigenvalues"].max("step").values)
    assert np.all(last < at_switch / 1e3), at_switch / last  # every mode fell more than 1000-fold
    h = ex.session.history
    assert float(h["variance"][-1]) > 1.9  # only the (unweighted) variance term sees the collapse
    tr = ex.trace("loss", "variance")  # 401 steps, drawn with at most max_points points of the history
    x, drawn = arr(tr.x).astype(int), arr(tr.y)
    assert len(drawn) <= ex.max_points and x[0] == 0 and x[-1] == 400
    np.testing.assert_allclose(drawn, h["variance"].sel(step=x).values)
    assert arr(ex.trace("rank", "strength").y)[-1] == 0.0 and "var = 0" in ex.status_text


# --------------------------------------------------------------------------- loss


def test_loss_switch_rebuilds_from_step_0_with_its_lr(monkeypatch):
    ex = explorer()
    ex.run(12)
    old = ex.session
    calls = []
    replace = RepresentationSession.replace
    monkeypatch.setattr(RepresentationSession, "replace",
                        lambda self, **kw: calls.append(dict(kw)) or replace(self, **kw))
    ex.controls["loss"].value = "vne"  # as a user would
    ex.flush()
    s = ex.session
    assert calls == [{"loss": "vne", "lr": LOSS_LR["vne"]}]
    assert s is not old and s.step == 0 and s.loss == "vne" and old.step == 12 and old.loss == "vicreg"
    assert ex.lr == 0.1 and "lr = 0.1 for vne" in ex.status_text and "restarts from step 0" in ex.status_text
    assert ex.options == {"loss": "vne"} and ex.strength_name == "alpha" and ex.strength == 1.0
    slider = ex.controls["strength"]
    grid = ex.sliders["strength"]
    assert (grid.lo, grid.hi) == STRENGTH_RANGES["vne"] and "\u03b1" in slider.description
    assert ex.controls["strength_readout"].value == "alpha = 1" and "alpha = 1" in ex.status_text
    assert len(ex.trace("eigenvalues", "mode0").y) == 1
    ex.run(10)
    h = s.history
    np.testing.assert_allclose(arr(ex.trace("loss", "vne").y), h["vne"].values)
    assert ex.trace("loss", "variance").visible is False and len(ex.trace("loss", "covariance").y) == 0
    assert ex.figures["loss"].layout.yaxis.type == "linear"  # the VNE term is negative
    assert ex.figures["rank"].layout.yaxis2.title.text == "alpha"
    np.testing.assert_allclose(arr(ex.trace("rank", "strength").y), h["weight_alpha"].values)
    ex.set(strength=-1.0)  # alpha < 0: allowed, live
    ex.flush()
    assert s.alpha == -1.0 and s.step == 10
    # back to VICReg: its lr comes back, its weights carried over
    ex.set(strength=0.5)
    ex.flush()
    ex.set(lr=0.05)
    ex.flush()
    ex.set(loss="vicreg")
    ex.flush()
    assert ex.session.loss == "vicreg" and ex.lr == 0.01 and ex.session.var == 25.0 and ex.session.alpha == 0.5
    assert ex.sliders["strength"].hi == 50.0 and ex.controls["strength_readout"].value == "var = 25"
    ex.set(loss="vne")
    ex.flush()
    assert ex.lr == 0.05  # the lr vne last trained with
    # loss and strength in one change: the new session is built with it
    ex.set(loss="barlow", strength=0.1)
    ex.flush()
    s = ex.session
    assert s.loss == "barlow" and s.lambd == 0.1 and s.history["weight_lambd"].values.tolist() == [0.1]
    assert ex.controls["loss"].value == "barlow" and ex.error is None
    assert ex.trace("loss", "invariance").visible is False and ex.figures["loss"].layout.yaxis.type == "log"
    assert "\u03bb" in ex.controls["weights"].value


def test_adam_keeps_the_lr_across_losses():
    ex = RepresentationExplorer(session(optimizer="adam", lr=3e-3), max_steps=100)
    ex.set(loss="vne")
    ex.flush()
    assert ex.session.optimizer_name == "adam" and ex.lr == 3e-3 and "lr = " not in ex._note


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("change, match, where", [
    ({"strength": -1.0}, "var must be >= 0", "error in strength"),
    ({"strength": float("nan")}, "var must be finite", "error in set()"),
    ({"strength": "lots"}, "var must be a real number", "error in set()"),
    ({"loss": "simclr"}, "loss='simclr' is unknown", "error in set()"),
    ({"loss": "simclr", "strength": 1.0}, "loss='simclr' is unknown", "error in set()"),
])
def test_bad_values_show_in_the_status_line_and_the_widget_keeps_working(change, match, where):
    ex = explorer()
    ex.run(5)
    s = ex.session
    ex.set(**change)
    ex.flush()
    assert ex.error is not None and match in ex.error, ex.error
    assert where in ex.status_text and "\u26a0" in ex.status_text and "step 5/1000" in ex.status_text
    assert ex.session is s and s.step == 5 and s.var == 25.0 and s.loss == "vicreg"  # nothing applied
    assert shown(ex, "strength") == 25.0 and ex.controls["strength_readout"].value == "var = 25"
    assert ex.controls["loss"].value == "vicreg"
    ex.run(3)  # training goes on, the error stays shown until a change succeeds
    assert s.step == 8 and ex.error is not None
    ex.set(strength=10.0)
    ex.flush()
    assert ex.error is None and s.var == 10.0 and "\u26a0" not in ex.status_text


def test_set_checks_its_arguments():
    ex = explorer()
    with pytest.raises(TypeError, match="strength"):
        ex.set(var=0.0)
    with pytest.raises(ValueError, match="lr_range"):
        ex.set(lr=10.0, loss="vne", strength=0.5)
    assert ex.session.loss == "vicreg" and not ex.pending  # nothing submitted


def test_constructor_checks():
    with pytest.raises(TypeError, match="RepresentationSession"):
        RepresentationExplorer(np.zeros(4))
    with pytest.raises(ValueError, match="strength_ranges"):
        RepresentationExplorer(session(), strength_ranges={"vicreg": (-1.0, 5.0)})
    with pytest.raises(ValueError, match="unknown loss"):
        RepresentationExplorer(session(), strength_ranges={"simclr": (0.0, 1.0)})
    ex = RepresentationExplorer(session(), strength_ranges={"vicreg": (0.0, 10.0)})
    assert ex.sliders["strength"].hi == 10.0 and shown(ex, "strength") == 10.0  # rests at the end
    assert ex.controls["strength_readout"].value == "var = 25"  # the exact value
    with pytest.raises(ValueError, match="max_modes"):
        RepresentationExplorer(session(), max_modes=1)


def test_divergence_shows_and_stops_and_reset_recovers():
    ex = RepresentationExplorer(session(lr=50.0), chunk=5, max_steps=100, lr_range=(1e-3, 100.0))
    with pytest.raises(FloatingPointError, match="diverged"):
        ex.run(100)  # the session refuses non-finite embeddings
    assert ex.session.step < 100 and "diverged" in ex.error and "lower lr" in ex.error
    assert "error in training (stopped at step" in ex.status_text
    asyncio.run(start_and_wait(ex))  # the same under Start: shown, and the task stops
    assert not ex.running and isinstance(ex.task_error, FloatingPointError) and "lower lr" in ex.error
    ex.set(lr=0.01)
    ex.flush()
    ex.controls["reset"].click()
    assert ex.session.step == 0 and "reset to step 0" in ex.status_text and ex.error is None
    ex.run(10)
    assert ex.session.step == 10 and ex.error is None and np.isfinite(ex.session.history["loss"]).all()


# --------------------------------------------------------------------------- streaming


def test_pause_resume_gives_the_numbers_of_an_uninterrupted_run():
    ref = explorer(chunk=7)
    ref.run(20)
    ref.set(strength=2.0)
    ref.flush()
    ref.run(25)

    ex = explorer(chunk=3)

    def change(ex):  # the slider, while paused
        page_move(ex, "strength", 2.0)

    pause_resume(ex, change)
    assert ex.session.step == ref.session.step == 45
    assert_same_history(ex.session.history, ref.session.history)
    np.testing.assert_array_equal(ex.eigenvalue_lines()[2], ref.eigenvalue_lines()[2])


def test_streaming_leaves_the_loop_free_and_a_strength_move_applies_while_running():
    ex = explorer(chunk=5, max_steps=10_000)
    ex.interval_s = 0.001

    def move(ex):  # the slider, as the front end would, between chunks
        page_move(ex, "strength", 0.0)

    stopped_at, seen, t = stream_alongside(ex, 40, move, move_at=15)
    assert 40 <= stopped_at < 50 and stopped_at % 5 == 0  # after the chunk in progress
    assert len(set(seen)) >= 5 and 0 < min(s for s in seen if s > 0) < 40  # the other coroutine ran in between
    w = ex.session.history["weight_var"]
    assert float(w.sel(step=t)) == 25.0 and np.all(w.sel(step=slice(t + 1, None)).values == 0.0)
    assert "paused" in ex.status_text and len(ex.trace("loss", "loss").y) == stopped_at + 1 and ex.error is None


def test_start_without_an_event_loop_says_to_use_run():
    assert_start_needs_a_loop(explorer())


def test_loss_switch_while_running_keeps_training():
    ex = explorer(chunk=4, max_steps=12)
    asyncio.run(change_while_running(ex, loss="vne"))
    assert ex.session.loss == "vne" and ex.session.step == 12 and not ex.running
    assert math.isclose(ex.lr, 0.1) and "max_steps = 12" in ex.status_text
