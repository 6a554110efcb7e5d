"""ImplicitExplorer in plain Python and under asyncio.

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

from spectrakit.tuning import ImplicitSession  # noqa: E402
from spectrakit.widgets import ImplicitExplorer  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def session(**kw):
    opts = dict(device="cpu")  # sigma = 3, 2, 1; d = 20; 600 measurements; lr = 0.05
    opts.update(kw)
    return ImplicitSession(**opts)


def explorer(chunk=10, max_steps=1000, throttle_s=0.05, **kw):
    return ImplicitExplorer(session(**kw), chunk=chunk, max_steps=max_steps, interval_s=0.0, throttle_s=throttle_s)


# --------------------------------------------------------------------------- figures


def test_figures_fill_in_after_run_and_equal_the_history():
    ex = explorer(chunk=50)
    assert set(ex.figures) == {"singular_values", "loss"}
    assert ex.modes == list(range(10)) and len(ex.trace("singular_values", "mode0").y) == 1
    h = run_in_place(ex, 250)  # the same figures and traces, updated in place
    assert ex.session.step == 250 and h.sizes["step"] == 251
    steps, modes, values = ex.singular_value_lines()
    np.testing.assert_array_equal(steps, h["step"].values)
    np.testing.assert_allclose(values, h["singular_values"].sel(mode=modes).values)
    assert ex.figures["singular_values"].layout.yaxis.type == "log"
    # the target's singular values, dashed, in their mode's colour; the spare modes grey
    assert ex.target_lines() == {0: 3.0, 1: 2.0, 2: 1.0}
    for m in (0, 1, 2):
        target = ex.trace("singular_values", f"target{m}")
        assert target.line.dash == "dash" and list(arr(target.x)) == [0, 1000]
        assert target.line.color == ex.trace("singular_values", f"mode{m}").line.color
    assert ex.trace("singular_values", "mode3").line.color == ex.trace("singular_values", "mode9").line.color
    loss = ex.figures["loss"]
    np.testing.assert_allclose(arr(ex.trace("loss", "loss").y), h["loss"].values)
    np.testing.assert_allclose(arr(ex.trace("loss", "error").y), h["error"].values)
    assert loss.layout.yaxis.type == "log" and ex.trace("loss", "damping").visible is False
    assert loss.layout.yaxis2.visible is False  # gd: no damping axis
    text = ex.status_text
    for part in ("step 250/1000", f"loss = {float(h['loss'][-1]):.3e}", f"error = {float(h['error'][-1]):.2e}",
                 "learned rank = 3 of 3", "gd (no damping)", "lr = 5.00e-02", "paused"):
        assert part in text, (part, text)
    assert ex.error is None and not ex.running and ex.learned_rank == 3


def test_staircase_shows_in_the_status_line_one_mode_at_a_time():
    ex = explorer(chunk=10)
    ranks = []
    for _ in range(25):
        ex.run(10)
        ranks.append(int(ex.status_text.split("learned rank = ")[1].split(" ")[0]))
    assert ranks == sorted(ranks) and set(ranks) == {0, 1, 2, 3}
    # steps 10, 20, ...: the core's half-rise steps are 58, 84, 145
    assert ranks[4] == 0 and ranks[5] == 1 and ranks[7] == 1 and ranks[8] == 2 and ranks[13] == 2 and ranks[14] == 3


def test_css_classes_controls_and_layout():
    ex = explorer()
    assert "sk-implicit-explorer" in ex.widget._dom_classes and "sk-status" in ex.status._dom_classes
    assert "sk-fig-singular_values" in ex.figures["singular_values"]._dom_classes
    assert "sk-init-scale-slider" in ex.controls["init_scale"]._dom_classes
    assert "sk-damping-slider" in ex.controls["damping"]._dom_classes
    assert ex.controls["optimizer"].options == ("gd", "scaledgd")
    s = ex.controls["init_scale"]
    assert (s.min, s.max, s.value) == (0, 80, 40)  # 0.1 decades a step, 1e-8 to 1
    assert (ex.sliders["init_scale"].lo, ex.sliders["init_scale"].hi, shown(ex, "init_scale")) == (1e-8, 1.0, 1e-4)
    assert ex.controls["init_scale_readout"].value == "init scale = 1.00e-04"
    d = ex.controls["damping"]
    assert (d.min, d.max, d.value) == (0, 60, 50) and d.disabled  # gd: no damping
    assert shown(ex, "damping") == pytest.approx(0.1)
    assert ex.controls["damping_readout"].value == "damping = 1.00e-01"
    assert ex.controls["pause"].disabled and not ex.controls["start"].disabled
    assert ex.options == {"optimizer": "gd", "init_scale": 1e-4}


# --------------------------------------------------------------------------- damping (live)


def test_damping_slider_sets_the_running_sessions_damping():
    ex = explorer(optimizer="scaledgd")
    assert not ex.controls["damping"].disabled and ex.lr == 0.5
    ex.run(10)
    s = ex.session
    n = ex.n_updates
    moved = page_move(ex, "damping", 10**-0.5)  # as the page would
    assert s.damping == moved == pytest.approx(10**-0.5) and ex.session is s and s.step == 10  # same session
    assert ex.n_updates == n + 1 and "from step 10 on" in ex.status_text
    line = ex.trace("loss", "damping")  # shows the new value at once, at the current step
    assert arr(line.x)[-1] == 10 and arr(line.y)[-1] == moved and arr(line.y)[-2] == 0.1
    assert ex.figures["loss"].layout.yaxis2.visible is True
    ex.run(5)
    d = s.history["damping"]
    np.testing.assert_array_equal(d.sel(step=slice(0, 10)).values, 0.1)
    np.testing.assert_array_equal(d.sel(step=slice(11, None)).values, moved)
    np.testing.assert_array_equal(arr(ex.trace("loss", "damping").y), d.values)  # no extra point once recorded
    # the Python API: an exact value, through the same coalescing
    ex.set(damping=0.0123)
    ex.flush()
    assert s.damping == 0.0123 and ex.controls["damping_readout"].value == "damping = 1.23e-02"
    assert "damping = 1.23e-02" in ex.status_text


def test_fast_damping_drag_coalesces_and_last_value_wins():
    ex = explorer(optimizer="scaledgd", throttle_s=10.0)
    s = ex.session
    for value in (-1.5, -2.0, -2.5, -3.0):
        page_move(ex, "damping", 10**value)
    assert s.damping == pytest.approx(10**-1.5) and ex.pending["damping"] == pytest.approx(1e-3)
    ex.run(1)  # run() applies pending changes first
    assert s.damping == pytest.approx(1e-3) and s.history["damping"].values[-1] == pytest.approx(1e-3)


def test_values_off_the_grid_survive_the_page():
    ex = explorer(optimizer="scaledgd", damping=0.0123, init_scale=3e-5, throttle_s=60.0)
    n = ex.n_updates
    damping, init_scale = ex.controls["damping"], ex.controls["init_scale"]
    damping.set_state({"value": damping.value})  # the page's message at the position shown
    init_scale.set_state({"value": init_scale.value})
    ex.flush()
    assert ex.session.damping == 0.0123 and ex.init_scale == 3e-5 and ex.n_updates == n
    assert ex.session.step == 0 and ex.controls["init_scale_readout"].value == "init scale = 3.00e-05"
    damping.set_state({"value": damping.value + 2})  # a user's move: two positions
    ex.flush()
    assert ex.session.damping == ex.sliders["damping"].value_at(damping.value) and ex.n_updates == n + 1


# --------------------------------------------------------------------------- init scale, optimizer (rebuild)


def test_init_scale_slider_rebuilds_from_step_0(monkeypatch):
    ex = explorer(chunk=50)
    ex.run(100)
    old = ex.session
    calls = []
    replace = ImplicitSession.replace
    monkeypatch.setattr(ImplicitSession, "replace", lambda self, **kw: calls.append(dict(kw)) or replace(self, **kw))
    moved = page_move(ex, "init_scale", 1e-6)  # as a user would
    ex.flush()
    s = ex.session
    assert calls == [{"init_scale": moved}] and moved == pytest.approx(1e-6)
    assert s is not old and s.step == 0 and s.init_scale == moved and old.step == 100 and s.lr == 0.05
    assert "restarts from step 0" in ex.status_text and ex.options == {"optimizer": "gd", "init_scale": moved}
    assert len(ex.trace("singular_values", "mode0").y) == 1 and ex.controls["init_scale_readout"].value == \
        "init scale = 1.00e-06"
    ex.run(300)
    late = s.learning_times().values
    ex.set(init_scale=1e-4)
    ex.flush()
    ex.run(300)
    early = ex.session.learning_times().values
    assert np.all(late > early + 20), (late, early)  # a smaller init: every step of the staircase later
    # the Python API takes an exact value off the slider's grid
    ex.set(init_scale=2.5e-3)
    ex.flush()
    assert ex.init_scale == 2.5e-3 and ex.controls["init_scale_readout"].value == "init scale = 2.50e-03"


def test_optimizer_switch_keeps_an_lr_per_optimizer_and_one_change_one_rebuild(monkeypatch):
    ex = explorer()
    ex.run(20)
    ex.set(optimizer="scaledgd")
    ex.flush()
    assert ex.session.optimizer == "scaledgd" and ex.lr == 0.5 and "lr = 0.5 for scaledgd" in ex.status_text
    assert not ex.controls["damping"].disabled and ex.controls["optimizer"].value == "scaledgd"
    ex.set(lr=0.3)
    ex.flush()
    ex.controls["optimizer"].value = "gd"  # as a user would
    ex.flush()
    assert ex.lr == 0.05 and ex.controls["damping"].disabled and ex.session.damping == 0.1
    ex.set(optimizer="scaledgd")
    ex.flush()
    assert ex.lr == 0.3  # the lr scaledgd last trained with
    calls = []
    replace = ImplicitSession.replace
    monkeypatch.setattr(ImplicitSession, "replace", lambda self, **kw: calls.append(dict(kw)) or replace(self, **kw))
    ex.set(optimizer="gd", init_scale=1e-5, damping=0.02)
    ex.flush()
    assert calls == [{"optimizer": "gd", "init_scale": 1e-5, "damping": 0.02, "lr": 0.05}]
    s = ex.session
    assert (s.optimizer, s.init_scale, s.damping, s.step) == ("gd", 1e-5, 0.02, 0) and ex.error is None


def test_scaled_gd_beats_gd_at_condition_number_100():
    s = ImplicitSession(d=20, singular_values=[1.0, 0.1, 0.01], n_measurements=800, optimizer="scaledgd",
                        damping=1e-5, width=5, init_scale=1e-6, device="cpu")
    ex = ImplicitExplorer(s, chunk=50, max_steps=200)
    ex.run(200)
    fast = ex.session.history
    assert float(fast["error"][-1]) < 1e-6 and "learned rank = 3 of 3" in ex.status_text
    assert "stopped at max_steps = 200" in ex.status_text
    ex.set(optimizer="gd", lr=0.5)
    ex.flush()
    ex.run(200)
    slow = ex.session.history
    assert float(slow["error"].min()) > 5e-2 and "learned rank = 1 of 3" in ex.status_text
    assert ex.trace("singular_values", "mode4").line.color == ex.trace("singular_values", "mode3").line.color


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("change, match, where", [
    ({"damping": -1.0}, "damping must be >= 0", "error in set()"),
    ({"damping": 0.01, "optimizer": "gd"}, "damping is ScaledGD's", "error in set()"),
    ({"init_scale": 0.0}, "init_scale must be > 0", "error in set()"),
    ({"init_scale": "lots"}, "init_scale must be a real number", "error in set()"),
    ({"optimizer": "adam"}, "optimizer='adam' is unknown", "error in set()"),
    ({"lr": 0.9, "optimizer": "gd"}, r"lr * sigma_1 < 1", "error in set()"),
])
def test_bad_values_show_in_the_status_line_and_the_widget_keeps_working(change, match, where):
    ex = explorer(optimizer="scaledgd" if change.get("optimizer") != "gd" else "gd")
    ex.run(5)
    s = ex.session
    opt = s.optimizer
    ex.set(**change)
    ex.flush()
    assert ex.error is not None and match in ex.error, ex.error
    assert where in ex.status_text and "\u26a0" in ex.status_text and "step 5/1000" in ex.status_text
    assert ex.session is s and s.step == 5 and s.damping == 0.1 and s.init_scale == 1e-4  # nothing applied
    assert ex.controls["damping_readout"].value == "damping = 1.00e-01" and ex.controls["optimizer"].value == opt
    assert shown(ex, "init_scale") == pytest.approx(1e-4)
    ex.run(3)  # training goes on, the error stays shown until a change succeeds
    assert s.step == 8 and ex.error is not None
    ex.set(lr=0.04)
    ex.flush()
    assert ex.error is None and s.lr == 0.04 and "\u26a0" not in ex.status_text


def test_damping_slider_error_on_gd_and_constructor_checks():
    ex = explorer()
    page_move(ex, "damping", 1e-2)  # disabled on the page; from Python it still reports
    assert "damping is ScaledGD's" in ex.error and "error in damping" in ex.status_text
    assert shown(ex, "damping") == pytest.approx(0.1) and ex.session.damping == 0.1
    with pytest.raises(TypeError, match="ImplicitSession"):
        ImplicitExplorer(np.zeros(3))
    with pytest.raises(ValueError, match="damping_range"):
        ImplicitExplorer(session(), damping_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="init_scale_range"):
        ImplicitExplorer(session(), init_scale_range=(1.0,))
    with pytest.raises(ValueError, match="max_modes"):
        ImplicitExplorer(session(), max_modes=0)
    with pytest.raises(ValueError, match="lr_range"):
        ImplicitExplorer(session()).set(lr=5.0)
    ex = ImplicitExplorer(session(init_scale=1e-12), max_modes=4)  # off the slider: rests at the end
    assert ex.controls["init_scale"].value == 0 and ex.controls["init_scale_readout"].value == \
        "init scale = 1.00e-12" and ex.modes == [0, 1, 2, 3]
    # ScaledGD without damping (width <= rank): the slider rests at its low end, the readout says 0
    ex = ImplicitExplorer(session(optimizer="scaledgd", damping=0.0, width=3))
    assert ex.controls["damping"].value == 0 and ex.controls["damping_readout"].value == "damping = 0.00e+00"
    ex.run(60)
    assert float(ex.session.history["error"][-1]) < 1e-5 and ex.error is None


def test_divergence_shows_and_stops_and_reset_recovers():
    s = ImplicitSession(d=20, singular_values=[1.0, 0.1, 0.01], n_measurements=800, optimizer="scaledgd",
                        damping=1e-4, init_scale=1e-8, device="cpu")
    ex = ImplicitExplorer(s, chunk=10, max_steps=200)
    with pytest.raises(FloatingPointError, match="diverged"):
        ex.run(200)
    assert ex.session.step < 200 and "raise damping" in ex.error
    assert "error in training (stopped at step" in ex.status_text
    asyncio.run(start_and_wait(ex))  # the same under Start: shown, and the task stops
    assert not ex.running and isinstance(ex.task_error, FloatingPointError) and "raise damping" in ex.error
    ex.set(damping=1e-2)
    ex.flush()
    ex.controls["reset"].click()
    assert ex.session.step == 0 and "reset to step 0" in ex.status_text and ex.error is None
    ex.run(30)
    assert ex.session.step == 30 and ex.error is None and np.isfinite(ex.session.history["loss"]).all()


# --------------------------------------------------------------------------- streaming


def test_pause_resume_gives_the_numbers_of_an_uninterrupted_run():
    ref = explorer(chunk=7, optimizer="scaledgd", width=6)
    ref.run(20)
    ref.set(damping=0.03)
    ref.flush()
    ref.run(25)

    ex = explorer(chunk=3, optimizer="scaledgd", width=6)

    def change(ex):  # while paused
        ex.set(damping=0.03)
        ex.flush()

    pause_resume(ex, change)
    assert ex.session.step == ref.session.step == 45
    assert_same_history(ex.session.history, ref.session.history)
    np.testing.assert_array_equal(ex.singular_value_lines()[2], ref.singular_value_lines()[2])


def test_streaming_leaves_the_loop_free_and_a_damping_move_applies_while_running():
    ex = explorer(chunk=5, max_steps=10_000, optimizer="scaledgd")
    ex.interval_s = 0.001

    moved = ex.sliders["damping"].value_at(ex.sliders["damping"].position(10**-0.5))

    def move(ex):  # the slider, as the front end would, between chunks
        page_move(ex, "damping", moved)

    stopped_at, seen, t = stream_alongside(ex, 40, move, move_at=15)
    assert 40 <= stopped_at < 50 and stopped_at % 5 == 0  # after the chunk in progress
    assert len(set(seen)) >= 5 and 0 < min(s for s in seen if s > 0) < 40  # the other coroutine ran in between
    d = ex.session.history["damping"]
    assert float(d.sel(step=t)) == 0.1 and np.all(d.sel(step=slice(t + 1, None)).values == moved)
    assert "paused" in ex.status_text and len(ex.trace("loss", "loss").y) == stopped_at + 1 and ex.error is None


def test_start_without_an_event_loop_says_to_use_run():
    assert_start_needs_a_loop(explorer())


def test_init_scale_change_while_running_keeps_training():
    ex = explorer(chunk=4, max_steps=12)
    asyncio.run(change_while_running(ex, init_scale=1e-3))
    assert ex.session.init_scale == 1e-3 and ex.session.step == 12 and not ex.running
    assert math.isclose(ex.lr, 0.05) and "max_steps = 12" in ex.status_text
