"""WeightExplorer in plain Python and under asyncio.

The explorer is driven as a user would (controls, buttons) or through its Python API, and
its figures are read back and compared with the session's history.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from _slider_helpers import page_move, shown  # noqa: E402
from _streaming_helpers import arr, assert_same_history, assert_start_needs_a_loop, run_in_place  # noqa: E402
from _streaming_helpers import change_while_running, pause_resume, start_and_wait, stream_alongside  # noqa: E402

from spectrakit.tuning import WeightSession  # noqa: E402
from spectrakit.widgets import WeightExplorer  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def session(**kw):
    opts = dict(hidden=(16, 16), n=64, n_test=32, tasks=3, steps_per_task=20, lr=3e-2, spectrum_every=2,
                device="cpu", seed=0)
    opts.update(kw)
    return WeightSession(**opts)


def explorer(chunk=5, max_steps=None, **kw):
    # throttle_s=0: every control change applies at once (the coalescing has its own test)
    return WeightExplorer(session(**kw), chunk=chunk, max_steps=max_steps, interval_s=0.0, throttle_s=0.0)


def spectrum_steps(h):
    return h["step"].values[np.isfinite(h["spectral_norm"].values[:, 0])]


# --------------------------------------------------------------------------- figures


def test_figures_fill_in_after_run_and_equal_the_history():
    ex = explorer()
    assert set(ex.figures) == {"histogram", "norms", "lipschitz", "loss"}
    assert ex.max_steps == 60 and ex.task_boundaries == [20, 40]  # the whole sequence, by default
    h = run_in_place(ex, 45)  # the same figures and traces, updated in place
    assert ex.session.step == 45 and h.sizes["step"] == 46 and h.sizes["layer"] == 3

    # histogram: the latest spectrum step, np.histogram of the recorded singular values per layer
    step, edges, counts = ex.histogram()
    assert step == 44 and edges.shape == (31,) and edges[0] == 0 and counts.shape == (3, 30)
    sv = h["singular_values"].sel(step=44)
    for j in range(3):
        values = sv.sel(layer=j).dropna("mode").values
        assert values.size == int(h["n_values"][j]) and edges[-1] >= values.max()
        np.testing.assert_array_equal(counts[j], np.histogram(values, bins=edges)[0])
        bar = ex.trace("histogram", f"layer{j}")
        np.testing.assert_allclose(arr(bar.x), (edges[:-1] + edges[1:]) / 2)
        assert bar.width == pytest.approx(edges[1] - edges[0]) and bar.type == "bar"
        assert bar.name == f"layer {j} (linear {h['weight_shape'].values[j]})"
    assert "at step 44" in ex.figures["histogram"].layout.title.text
    assert list(arr(ex.trace("histogram", "target").x)) == [1.0, 1.0]  # the target line

    # norms: exact, power estimate and Gram bound at the spectrum steps
    steps = spectrum_steps(h)
    assert list(steps) == list(range(0, 46, 2))
    for j in range(3):
        for key, var in (("exact", "spectral_norm"), ("power", "power_estimate"), ("gram", "gram_bound")):
            tr = ex.trace("norms", f"{key}{j}")
            np.testing.assert_array_equal(arr(tr.x), steps)
            np.testing.assert_allclose(arr(tr.y), h[var].sel(step=steps, layer=j).values, err_msg=(key, j))
    np.testing.assert_array_equal(arr(ex.trace("norms", "target").y), h["target"].values)
    lip = ex.trace("lipschitz", "bound")
    np.testing.assert_array_equal(arr(lip.x), steps)
    np.testing.assert_allclose(arr(lip.y), h["lipschitz_bound"].sel(step=steps).values)
    np.testing.assert_allclose(arr(ex.trace("lipschitz", "gradient").y), h["max_input_gradient"].sel(step=steps))
    assert all(ex.figures[f].layout.yaxis.type == "log" for f in ("norms", "lipschitz", "loss"))

    # loss: every recorded step, end-of-task markers, reg on the right axis, task boundaries
    np.testing.assert_array_equal(arr(ex.trace("loss", "loss").x), h["step"].values)
    np.testing.assert_allclose(arr(ex.trace("loss", "loss").y), h["loss"].values)
    np.testing.assert_allclose(arr(ex.trace("loss", "test_loss").y), h["test_loss"].values)
    end = ex.trace("loss", "end_loss")
    assert list(arr(end.x)) == [20, 40] and end.mode == "markers"
    np.testing.assert_allclose(arr(end.y), h["end_loss"].values)
    np.testing.assert_allclose(arr(end.y), h["loss"].sel(step=[20, 40]).values)  # the same state
    assert ex.trace("loss", "reg").yaxis == "y2" and np.all(arr(ex.trace("loss", "reg").y) == 0)
    for name in ("norms", "lipschitz", "loss"):
        assert [s.x0 for s in ex.figures[name].layout.shapes] == [20, 40]
        assert list(ex.figures[name].layout.xaxis.range) == [0, 60]

    text = ex.status_text
    for part in ("step 45/60", f"loss = {float(h['loss'][-1]):.3e}", "task 3/3", "reg = 0 (off)", "target = 1",
                 f"Lipschitz bound = {float(h['lipschitz_bound'].sel(step=44)):.4g}", "spectral",
                 "lr = 3.00e-02", "paused"):
        assert part in text, (part, text)
    assert ex.error is None and not ex.running


def test_bounds_in_the_figure_hold_exact_between_estimates():
    ex = explorer(method="spectral", reg=0.05, power_iters=1, gram_iters=2)
    ex.run(30)
    for j in range(3):
        power, exact, gram = (arr(ex.trace("norms", f"{k}{j}").y) for k in ("power", "exact", "gram"))
        assert np.all(power <= exact * (1 + 1e-12)) and np.all(exact <= gram * (1 + 1e-12)), j
        assert np.any(power < exact * (1 - 1e-6))  # one power iteration is a real estimate, not the norm
    bound, grad = arr(ex.trace("lipschitz", "bound").y), arr(ex.trace("lipschitz", "gradient").y)
    assert np.all(grad <= bound * (1 + 1e-12)) and np.all(grad > 0)
    exact = np.stack([arr(ex.trace("norms", f"exact{j}").y) for j in range(3)])
    np.testing.assert_allclose(bound, exact.prod(axis=0), rtol=1e-12)


def test_css_classes_controls_and_layout():
    ex = explorer(reg=0.1)
    assert "sk-weight-explorer" in ex.widget._dom_classes and "sk-status" in ex.status._dom_classes
    for name in ex.figures:
        assert f"sk-fig-{name}" in ex.figures[name]._dom_classes
    assert "sk-reg-slider" in ex.controls["reg"]._dom_classes and "sk-reg-off" in ex.controls["reg_off"]._dom_classes
    assert "sk-target-slider" in ex.controls["target"]._dom_classes
    assert "sk-method" in ex.controls["method"]._dom_classes and "sk-tasks" in ex.controls["tasks"]._dom_classes
    assert ex.controls["method"].options == ("spectral", "orthogonal", "normalize", "none")
    r = ex.controls["reg"]
    assert (r.min, r.max, r.value, r.step) == (0, 100, 60, 1)  # 0.05 decades a step from 1e-4 to 10
    assert (ex.sliders["reg"].lo, ex.sliders["reg"].hi, shown(ex, "reg")) == (1e-4, 10.0, 0.1)
    assert ex.controls["reg_readout"].value == "reg = 1.00e-01" and ex.controls["reg_off"].value is False
    assert shown(ex, "target") == pytest.approx(1.0) and ex.controls["target_readout"].value == "target = 1.00e+00"
    assert ex.controls["tasks"].value == 3 and ex.controls["steps_per_task"].value == 20
    assert ex.controls["pause"].disabled and not ex.controls["start"].disabled
    # reg = 0 at construction: the box is checked, the slider waits at 0.1
    ex = explorer()
    assert ex.controls["reg_off"].value is True and ex.controls["reg_readout"].value == "reg = 0 (off)"
    assert shown(ex, "reg") == 0.1


# --------------------------------------------------------------------------- reg and target (live)


def test_reg_slider_sets_the_running_sessions_reg_and_is_recorded():
    ex = explorer(reg=0.1)
    ex.run(10)
    s = ex.session
    n = ex.n_updates
    assert page_move(ex, "reg", 1.0) == 1.0  # as the page would
    assert s.reg == 1.0 and ex.reg == 1.0 and ex.session is s and s.step == 10  # same session, step 10
    assert ex.n_updates == n + 1 and "reg = 1.00e+00 from step 10 on" in ex.status_text
    line = ex.trace("loss", "reg")  # the line shows the new value at once, at the current step
    assert arr(line.x)[-1] == 10 and arr(line.y)[-1] == 1.0 and arr(line.y)[-2] == 0.1
    ex.run(6)
    reg = s.history["reg"]
    np.testing.assert_array_equal(reg.sel(step=slice(0, 10)).values, 0.1)
    np.testing.assert_array_equal(reg.sel(step=slice(11, None)).values, 1.0)
    np.testing.assert_array_equal(arr(ex.trace("loss", "reg").y), reg.values)  # no extra point once recorded
    # off: reg = 0 from the next step; on again: the slider's value
    ex.controls["reg_off"].value = True
    assert s.reg == 0.0 and ex.controls["reg_readout"].value == "reg = 0 (off)" and "reg = 0 (off)" in ex.status_text
    ex.run(2)
    ex.controls["reg_off"].value = False
    ex.flush()  # within throttle_s of the last change: pending until flushed (no event loop here)
    assert s.reg == 1.0 and ex.controls["reg_readout"].value == "reg = 1.00e+00"
    ex.run(2)
    assert s.history["reg"].values[-4:].tolist() == [0.0, 0.0, 1.0, 1.0]
    # a slider move while off turns the penalty on
    ex.set(reg=0.0)
    ex.flush()
    assert ex.controls["reg_off"].value is True and s.reg == 0.0
    page_move(ex, "reg", 0.01)
    ex.flush()
    assert s.reg == pytest.approx(0.01) and ex.controls["reg_off"].value is False
    # the Python API: an exact value off the slider's grid, one off its range (applied exactly)
    ex.set(reg=0.0123)
    ex.flush()
    assert s.reg == 0.0123 and ex.controls["reg_readout"].value == "reg = 1.23e-02"
    ex.set(reg=50.0)
    ex.flush()
    assert s.reg == 50.0 and ex.controls["reg"].value == ex.controls["reg"].max
    assert ex.controls["reg_readout"].value == "reg = 5.00e+01"
    assert ex.error is None and s.step == 20


def test_reg_zero_takes_the_steps_of_method_none():
    a = explorer(reg=0.5)
    a.set(reg=0.0)
    a.flush()
    a.run(12)
    b = explorer(method="none")
    b.run(12)
    np.testing.assert_array_equal(a.session.history["loss"].values, b.session.history["loss"].values)
    np.testing.assert_array_equal(a.histogram()[2], b.histogram()[2])


def test_target_slider_is_live_and_normalize_follows_it():
    ex = explorer(method="normalize", spectrum_every=1)
    assert ex.controls["reg"].disabled and ex.controls["reg_off"].disabled and not ex.controls["target"].disabled
    ex.run(4)
    s = ex.session
    np.testing.assert_allclose(s.history["spectral_norm"].values[-1], 1.0, rtol=1e-12)
    target = page_move(ex, "target", 2.0)
    assert s.target == target == pytest.approx(2.0, rel=0.05) and s.step == 4
    assert f"target = {target:.4g} from step 4 on" in ex.status_text
    tr = ex.trace("norms", "target")
    assert arr(tr.x)[-1] == 4 and arr(tr.y)[-1] == target
    assert arr(ex.trace("histogram", "target").x)[0] == pytest.approx(target)
    ex.run(1)  # every layer's norm is the target from the next step on
    np.testing.assert_allclose(s.history["spectral_norm"].values[-1], target, rtol=1e-12)
    np.testing.assert_allclose(arr(ex.trace("norms", "exact0").y)[-1], target, rtol=1e-12)
    ex.set(target=0.05)  # off the slider's range: applied exactly, the slider rests at its end
    ex.flush()
    assert s.target == 0.05 and ex.controls["target"].value == 0 and ex.error is None
    assert "reg = 0 (off) (no effect)" in ex.status_text and "normalize" in ex.status_text


def test_reg_off_the_grid_survives_the_page_and_drags_coalesce():
    ex = WeightExplorer(session(reg=0.0123), max_steps=100, throttle_s=60.0)
    slider = ex.controls["reg"]
    n = ex.n_updates
    slider.set_state({"value": slider.value})  # the page's message at the position shown
    ex.flush()
    assert ex.session.reg == 0.0123 and ex.n_updates == n
    for value in (-1.5, -1.0, -0.5, 0.5):
        page_move(ex, "reg", 10**value)
    assert ex.session.reg == pytest.approx(10**-1.5) and ex.pending["reg"] == pytest.approx(10**0.5)
    ex.run(1)  # run() applies pending changes first
    assert ex.session.reg == pytest.approx(10**0.5) and ex.session.history["reg"].values[-1] == pytest.approx(10**0.5)


# --------------------------------------------------------------------------- rebuilding controls


def test_method_switch_rebuilds_from_step_0(monkeypatch):
    ex = explorer(reg=0.2)
    ex.run(12)
    old = ex.session
    ex.set(target=1.5)
    ex.flush()
    calls = []
    replace = WeightSession.replace
    monkeypatch.setattr(WeightSession, "replace", lambda self, **kw: calls.append(dict(kw)) or replace(self, **kw))
    ex.controls["method"].value = "orthogonal"  # as a user would
    ex.flush()
    s = ex.session
    assert calls == [{"method": "orthogonal"}]
    assert s is not old and s.step == 0 and s.method == "orthogonal" and old.step == 12 and old.method == "spectral"
    assert (s.reg, s.target, s.lr) == (0.2, 1.5, 3e-2)  # the live values carry over
    assert ex.options == {"method": "orthogonal", "architecture": "mlp", "tasks": 3, "steps_per_task": 20}
    assert "restarts from step 0" in ex.status_text and "orthogonal" in ex.status_text
    assert len(ex.trace("loss", "loss").y) == 1 and ex.histogram()[0] == 0
    ex.run(4)
    assert s.history["reg"].values.tolist() == [0.2] * 5
    # method and a live value in one change: the new session is built with it
    ex.set(method="spectral", reg=0.0)
    ex.flush()
    assert calls[-1] == {"method": "spectral", "reg": 0.0} and ex.session.reg == 0.0
    assert ex.controls["method"].value == "spectral" and ex.controls["reg_off"].value is True and ex.error is None
    ex.set(method="none")
    ex.flush()
    assert ex.controls["target"].disabled and ex.controls["reg"].disabled
    assert ex.trace("norms", "target").visible is False and "target =" not in ex.status_text


def test_architecture_and_task_switches_rebuild_the_figures():
    ex = explorer(hidden=(16,), spectrum_every=1)
    assert len(ex.figures["norms"].data) == 1 + 3 * 2 and ex.histogram()[2].shape == (2, 30)
    ex.set(architecture="conv")
    ex.flush()
    s = ex.session
    assert s.architecture == "conv" and s.hidden == (8, 8) and s.input_shape == (1, 8, 8) and s.step == 0
    ex.run(2)
    h = s.history
    _, edges, counts = ex.histogram()
    assert counts.shape == (3, 30) and counts.sum(axis=1).tolist() == h["n_values"].values.tolist() == [64, 512, 10]
    assert len(ex.figures["norms"].data) == 1 + 3 * 3 and "conv2d" in ex.trace("histogram", "layer1").name
    np.testing.assert_allclose(arr(ex.trace("norms", "exact2").y), h["spectral_norm"].sel(layer=2).values)
    ex.set(architecture="mlp")  # back: the widths it had
    ex.flush()
    assert ex.session.hidden == (16,) and ex.session.input_shape == (16,) and ex.histogram()[2].shape == (2, 30)
    # tasks: the boundaries and the step axes follow; 0 is an endless sequence
    ex.set(tasks=2, steps_per_task=15)
    ex.flush()
    assert ex.session.tasks == 2 and ex.session.steps_per_task == 15 and ex.max_steps == 30
    assert ex.task_boundaries == [15] and [sh.x0 for sh in ex.figures["loss"].layout.shapes] == [15]
    assert list(ex.figures["loss"].layout.xaxis.range) == [0, 30]
    ex.set(tasks=0)
    ex.flush()
    assert ex.session.tasks is None and ex.max_steps == 2000
    assert ex.task_boundaries == [] and ex.figures["loss"].layout.shapes == ()  # 133 lines: too dense, none
    ex.set(steps_per_task=40)
    ex.flush()
    assert ex.task_boundaries[:2] == [40, 80]
    assert len(ex.task_boundaries) == 50 == len(ex.figures["norms"].layout.shapes)
    assert "task 1 " in ex.status_text and "task 1/" not in ex.status_text
    ex = explorer(tasks=1)
    assert ex.task_boundaries == [] and ex.figures["loss"].layout.shapes == () and ex.max_steps == 20
    fixed = WeightExplorer(session(), max_steps=100)
    fixed.set(tasks=2)
    fixed.flush()
    assert fixed.max_steps == 100  # a given max_steps stays


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("change, match, where", [
    ({"reg": -1.0}, "reg must be >= 0", "error in set()"),
    ({"reg": float("nan")}, "reg must be finite", "error in set()"),
    ({"reg": "lots"}, "reg must be a real number", "error in set()"),
    ({"target": 0.0}, "target must be > 0", "error in set()"),
    ({"method": "weight_decay"}, "method='weight_decay' is unknown", "error in set()"),
    ({"method": "bogus", "reg": 1.0}, "method='bogus' is unknown", "error in set()"),
    ({"tasks": -1}, "0 for an endless sequence", "error in tasks"),
    ({"steps_per_task": 0}, "steps_per_task must be >= 1", "error in steps per task"),
])
def test_bad_values_show_in_the_status_line_and_the_widget_keeps_working(change, match, where):
    ex = explorer(reg=0.1)
    ex.run(5)
    s = ex.session
    ex.set(**change)
    ex.flush()
    assert ex.error is not None and match in ex.error, ex.error
    assert where in ex.status_text and "\u26a0" in ex.status_text and "step 5/60" in ex.status_text
    assert ex.session is s and s.step == 5 and s.reg == 0.1 and s.target == 1.0 and s.method == "spectral"
    assert shown(ex, "reg") == 0.1 and ex.controls["reg_readout"].value == "reg = 1.00e-01"
    assert ex.controls["reg_off"].value is False and ex.controls["method"].value == "spectral"
    assert ex.controls["tasks"].value == 3 and ex.controls["steps_per_task"].value == 20
    ex.run(3)  # training goes on, the error stays shown until a change succeeds
    assert s.step == 8 and ex.error is not None
    ex.set(reg=0.3)
    ex.flush()
    assert ex.error is None and s.reg == 0.3 and "\u26a0" not in ex.status_text


def test_set_and_constructor_check_their_arguments():
    ex = explorer()
    with pytest.raises(TypeError, match="reg, target"):
        ex.set(hidden=(8,))
    with pytest.raises(ValueError, match="lr_range"):
        ex.set(lr=10.0, method="none", reg=0.5)
    assert ex.session.method == "spectral" and not ex.pending  # nothing submitted
    with pytest.raises(TypeError, match="WeightSession"):
        WeightExplorer(np.zeros(4))
    with pytest.raises(ValueError, match="reg_range"):
        WeightExplorer(session(), reg_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="target_range"):
        WeightExplorer(session(), target_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="n_bins"):
        WeightExplorer(session(), n_bins=0)
    ex = WeightExplorer(session(reg=100.0, target=0.01))  # outside the ranges: the sliders rest at the ends
    assert ex.controls["reg"].value == ex.controls["reg"].max and ex.controls["reg_readout"].value == "reg = 1.00e+02"
    assert ex.controls["target"].value == 0 and ex.controls["target_readout"].value == "target = 1.00e-02"


def test_divergence_shows_and_stops_and_reset_recovers():
    ex = WeightExplorer(session(lr=100.0, optimizer="sgd", reg=1e6, tasks=1, steps_per_task=100), chunk=5,
                        lr_range=(1e-3, 1e3), reg_range=(1e-4, 1e6))
    with pytest.raises(FloatingPointError, match="diverged"):
        ex.run(100)
    assert ex.session.step < 100 and "diverged" in ex.error and "lower lr" in ex.error
    assert "error in training (stopped at step" in ex.status_text
    asyncio.run(start_and_wait(ex))  # the same under Start: shown, and the task stops
    assert not ex.running and isinstance(ex.task_error, FloatingPointError) and "lower lr" in ex.error
    ex.set(lr=0.01, reg=0.1)
    ex.flush()
    ex.controls["reset"].click()
    assert ex.session.step == 0 and ex.session.reg == 0.1 and "reset to step 0" in ex.status_text and ex.error is None
    ex.run(10)
    assert ex.session.step == 10 and ex.error is None and np.isfinite(ex.session.history["loss"]).all()


# --------------------------------------------------------------------------- streaming


def test_pause_resume_gives_the_numbers_of_an_uninterrupted_run():
    ref = explorer(chunk=7, reg=0.1)
    ref.run(20)
    page_move(ref, "reg", 0.5)
    ref.set(target=2.0)
    ref.flush()
    ref.run(25)

    ex = explorer(chunk=3, reg=0.1)

    def change(ex):  # the sliders, while paused
        page_move(ex, "reg", 0.5)
        ex.set(target=2.0)
        ex.flush()

    pause_resume(ex, change)
    assert ex.session.step == ref.session.step == 45
    h = ex.session.history
    assert h["reg"].sel(step=20) == 0.1 and h["reg"].sel(step=21) == pytest.approx(0.5, rel=0.06)  # a position
    assert h["target"].sel(step=20) == 1.0 and h["target"].sel(step=21) == 2.0
    assert_same_history(h, ref.session.history)
    np.testing.assert_array_equal(ex.histogram()[2], ref.histogram()[2])
    for f in ex.figures:
        for key, tr in ex._traces[f].items():
            np.testing.assert_array_equal(arr(tr.y), arr(ref.trace(f, key).y), err_msg=(f, key))


def test_streaming_leaves_the_loop_free_and_a_reg_move_applies_while_running():
    ex = explorer(chunk=5, max_steps=10_000, reg=0.1)
    ex.interval_s = 0.001

    def move(ex):  # the checkbox, as the front end would, between chunks
        ex.controls["reg_off"].value = True

    stopped_at, seen, t = stream_alongside(ex, 40, move, move_at=15)
    assert 40 <= stopped_at < 50 and stopped_at % 5 == 0  # after the chunk in progress
    assert len(set(seen)) >= 5 and 0 < min(s for s in seen if s > 0) < 40  # the other coroutine ran in between
    reg = ex.session.history["reg"]
    assert float(reg.sel(step=t)) == 0.1 and np.all(reg.sel(step=slice(t + 1, None)).values == 0.0)
    assert "paused" in ex.status_text and len(ex.trace("loss", "loss").y) == stopped_at + 1 and ex.error is None


def test_start_without_an_event_loop_says_to_use_run():
    assert_start_needs_a_loop(explorer())


def test_method_switch_while_running_keeps_training():
    ex = explorer(chunk=4, tasks=1, steps_per_task=12)
    asyncio.run(change_while_running(ex, method="normalize"))
    assert ex.session.method == "normalize" and ex.session.step == 12 and not ex.running
    assert "max_steps = 12" in ex.status_text
