"""LearningCurveExplorer in plain Python (no browser): set controls, read the figures,
compare them with the session's answers. Without a running asyncio loop a coalesced change
waits for ``flush()``."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from spectrakit.core import curves as cc  # noqa: E402
from spectrakit.tuning.curves import LearningCurveSession  # noqa: E402
from spectrakit.widgets.curves import LearningCurveExplorer  # noqa: E402
from spectrakit.widgets.fourier import decode_array  # noqa: E402
from _slider_helpers import page_move, shown  # noqa: E402


def arr(value):
    return decode_array(value)


def pos(values):
    """What a log axis shows: values <= 0 as gaps (NaN)."""
    a = np.asarray(values, dtype=float).copy()
    a[a <= 0] = np.nan
    return a


def check_figures(ex, out):
    """Every trace of the explorer equals the session's answer ``out``."""
    s = ex.session
    t = lambda fig, name: ex.trace(fig, name)  # noqa: E731
    np.testing.assert_allclose(arr(t("curve", "error").x), s.n_grid)
    np.testing.assert_allclose(arr(t("curve", "error").y), out["error"].values, rtol=1e-12)
    np.testing.assert_allclose(arr(t("curve", "bias2").y), pos(out["bias2"].values), rtol=1e-12)
    np.testing.assert_allclose(arr(t("curve", "variance").y), pos(out["variance"].values), rtol=1e-12)
    mc = t("curve", "mc")
    np.testing.assert_array_equal(arr(mc.x), s.n_mc)
    np.testing.assert_allclose(arr(mc.y), out["mc_error"].values, rtol=1e-12)
    np.testing.assert_allclose(arr(mc.error_y.array), 2 * out["mc_error_se"].values, rtol=1e-12)
    assert list(t("curve", "current").x) == [out.attrs["n"]]
    np.testing.assert_allclose(arr(t("curve", "current").y), [float(out["error_at_n"])], rtol=1e-12)
    np.testing.assert_allclose(arr(t("modes", "target").x), np.arange(1, s.n_modes + 1))
    np.testing.assert_allclose(arr(t("modes", "target").y), out["target_power"].values, rtol=1e-12)
    np.testing.assert_allclose(arr(t("modes", "bias2").y), pos(out["bias2_mode"].values), rtol=1e-12)
    np.testing.assert_allclose(arr(t("modes", "variance").y), pos(out["variance_mode"].values), rtol=1e-12)
    np.testing.assert_allclose(arr(t("modes", "factors").y), out["factors"].values, rtol=1e-12)
    np.testing.assert_allclose(arr(t("path", "error").x), s.reg_grid)
    np.testing.assert_allclose(arr(t("path", "error").y), out["error_path"].values, rtol=1e-12)
    np.testing.assert_allclose(arr(t("path", "current").x), [out.attrs["reg"]])
    np.testing.assert_allclose(arr(t("path", "best").x), [float(out["best_reg"])])
    np.testing.assert_allclose(arr(t("path", "best").y), [float(out["best_error"])], rtol=1e-12)


@pytest.fixture
def explorer():
    return LearningCurveExplorer(n_modes=150, n_mc=[10, 30, 90], trials=6, reg=0.1, device="cpu", throttle_s=60.0)


def test_figures_equal_session(explorer):
    ex = explorer
    s = ex.session
    assert set(ex.figures) == {"curve", "modes", "path"}
    assert {"reg", "reg_readout", "alpha", "beta", "noise", "n"} <= set(ex.controls)
    out = s.update()
    check_figures(ex, out)
    assert (ex.reg, ex.alpha, ex.beta, ex.n, ex.noise) == (0.1, 1.5, 2.5, 100, 0.3)
    # independent of the session: the theory curve is the core's deterministic equivalent
    lam, c = cc.power_law_spectrum(150, 1.5, device="cpu"), cc.power_law_target(150, 2.5, device="cpu")
    ref = cc.ridge_learning_curve(lam, c, 0.3, s.n_grid, 0.1).error.numpy()
    np.testing.assert_allclose(arr(ex.trace("curve", "error").y), ref, rtol=1e-12)
    kappa = float(cc.effective_regularization(lam, 100, 0.1))
    np.testing.assert_allclose(arr(ex.trace("modes", "step").x), [kappa ** (-1 / 1.5)] * 2, rtol=1e-10)
    np.testing.assert_allclose(arr(ex.trace("curve", "interpolation").x), [150, 150])
    assert "reg = 1.00e-01" in ex.status.value and "n = 100" in ex.status.value and "ridge" in ex.status.value
    assert f"best reg at n: {float(out['best_reg']):.2e}" in ex.status.value
    assert ex.n_updates == 1 and ex.error is None
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()
    for name, fig in ex.figures.items():
        assert f"sk-fig-{name}" in fig._dom_classes
    for name in ("alpha", "beta", "noise", "n"):
        assert f"sk-{name}-slider" in ex.controls[name]._dom_classes
    assert "sk-learning-curve-explorer" in ex.widget._dom_classes
    assert ex.result.attrs["reg"] == 0.1 and ex.result["error"].dims == ("n",)


def test_every_move_updates_all_figures_in_place(explorer):
    ex = explorer
    s = ex.session
    traces = {name: list(fig.data) for name, fig in ex.figures.items()}

    def ys():
        keys = [("curve", "error"), ("curve", "mc"), ("modes", "bias2"), ("path", "error")]
        return {key: arr(ex.trace(*key).y).copy() for key in keys}

    before = ys()
    runs = s.n_mc_evaluations
    ex.set(reg=0.01)
    ex.flush()
    assert ex.reg == 0.01 and s.reg == 0.01 and s.n_mc_evaluations == runs + 1
    check_figures(ex, s.update())
    after = ys()
    # reg moves the learning curve, the Monte-Carlo points and the per-mode split, and the
    # marker along the path; the path itself (error over reg at this n) stays
    for key in [("curve", "error"), ("curve", "mc"), ("modes", "bias2")]:
        assert not np.allclose(before[key], after[key]), key
    np.testing.assert_array_equal(before[("path", "error")], after[("path", "error")])
    path_before = arr(ex.trace("path", "error").y).copy()
    curve_before = arr(ex.trace("curve", "error").y).copy()
    ex.set(n=200)  # n: the marker, the per-mode split and the path move; no Monte-Carlo work
    ex.flush()
    assert ex.n == 200 and s.n_mc_evaluations == runs + 1
    check_figures(ex, s.update())
    np.testing.assert_array_equal(arr(ex.trace("curve", "error").y), curve_before)
    assert not np.allclose(arr(ex.trace("path", "error").y), path_before)
    decomps = s.n_decompositions
    ex.set(alpha=2.0, beta=3.0, noise=0.1)
    ex.flush()
    assert (ex.alpha, ex.beta, ex.noise) == (2.0, 3.0, 0.1) and (s.alpha, s.beta, s.noise) == (2.0, 3.0, 0.1)
    assert s.n_decompositions == decomps + 1
    check_figures(ex, s.update())
    assert shown(ex, "alpha") == 2.0 and ex.controls["n"].value == 200
    for name, fig in ex.figures.items():  # the same figures and traces, updated in place
        assert len(fig.data) == len(traces[name]) and all(a is b for a, b in zip(fig.data, traces[name]))


def test_off_step_values_and_controls_follow(explorer):
    ex = explorer
    ex.set(alpha=1.234, noise=0.0)  # off the slider's step: applied exactly, not snapped
    ex.flush()
    assert ex.alpha == 1.234 and ex.session.alpha == 1.234 and ex.noise == 0.0
    out = ex.session.update()
    assert np.isnan(arr(ex.trace("curve", "variance").y)).all()  # no noise: no variance on a log axis
    check_figures(ex, out)
    ex.session.update(reg=5.0, n=17)  # the session driven from outside: the explorer still says what is shown
    ex.set(beta=2.0)
    ex.flush()
    assert ex.reg == 0.1 and ex.n == 100 and ex.session.reg == 0.1 and ex.session.n == 100
    check_figures(ex, ex.session.update())


def test_fast_drag_coalesces(explorer):
    ex = explorer
    start = ex.n_updates
    for v in np.linspace(1.0, 2.5, 20):
        page_move(ex, "alpha", v)
    for n in ex.controls["n"].options[:10]:
        ex.controls["n"].value = n
    assert ex.n_updates - start <= 1
    assert ex.pending == {"alpha": 2.5, "n": ex.controls["n"].options[9], "source": "n"}
    ex.flush()
    assert ex.alpha == 2.5 and ex.n == ex.controls["n"].options[9] and ex.pending == {}
    check_figures(ex, ex.session.update())


def test_errors_show_in_the_status_line_and_controls_revert(monkeypatch):
    ex = LearningCurveExplorer(n_modes=100, n_mc=[10, 40], trials=4, device="cpu", throttle_s=0.0)
    page_move(ex, "beta", 3.0)
    assert ex.beta == 3.0 and ex.pending == {}
    good = arr(ex.trace("curve", "error").y).copy()

    def broken(*a, **kw):
        raise RuntimeError("device fell over")

    monkeypatch.setattr(ex.session, "_solve", broken)
    page_move(ex, "alpha", 2.0)
    assert ex.error == "RuntimeError: device fell over" and "#c62828" in ex.status.value
    assert ex.alpha == 1.5 and shown(ex, "alpha") == 1.5  # the controls follow the figures
    np.testing.assert_array_equal(arr(ex.trace("curve", "error").y), good)
    ex.set(reg=1.0)
    assert ex.reg == 0.1 and ex.controls["reg_readout"].value == "reg = 1.00e-01"
    monkeypatch.undo()
    page_move(ex, "alpha", 2.0)
    assert ex.alpha == 2.0 and ex.error is None and "RuntimeError" not in ex.status.value
    check_figures(ex, ex.session.update())


def test_bad_arguments(explorer):
    ex = explorer
    with pytest.raises(ValueError, match="outside the slider"):
        ex.set(reg=1e9)
    with pytest.raises(ValueError, match="alpha must be in"):
        ex.set(alpha=10.0)
    with pytest.raises(ValueError, match="noise must be in"):
        ex.set(noise=-0.1)
    with pytest.raises(ValueError, match="not on the n slider.*nearest is 100"):
        ex.set(n=101)
    assert ex.pending == {} and ex.n_updates == 1
    s = LearningCurveSession(n_modes=60, n_mc=[10], trials=3, device="cpu")
    with pytest.raises(TypeError, match="device"):
        LearningCurveExplorer(s, device="cpu")
    with pytest.raises(TypeError, match="n_modes"):
        LearningCurveExplorer(s, n_modes=30)
    with pytest.raises(TypeError, match="LearningCurveSession"):
        LearningCurveExplorer("not a session")
    with pytest.raises(ValueError, match="reg must be finite and > 0"):
        LearningCurveExplorer(s, reg=0.0)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        LearningCurveExplorer(s, alpha=-1.0)
    assert s.alpha == 1.5  # a refused explorer leaves the session as it was


def test_explorer_on_a_given_session_and_cutoff():
    s = LearningCurveSession(n_modes=80, method="cutoff", n_mc=[15, 45], trials=4, n=30, device="cpu")
    ex = LearningCurveExplorer(s, alpha=2.0, n=45, throttle_s=60.0)
    assert ex.session is s and s.alpha == 2.0 and s.n == 45 and 45 in ex.controls["n"].options
    out = s.update()
    check_figures(ex, out)
    rank = out.attrs["rank"]
    assert rank == int((45 * np.arange(1, 81) ** -2.0 >= 0.1).sum())
    np.testing.assert_allclose(arr(ex.trace("modes", "step").x), [rank + 0.5] * 2)
    assert f"rank = {rank}" in ex.status.value and "cutoff" in ex.status.value
    assert all(n in ex.controls["n"].options for n in (15, 45))  # the slider can land on the MC points
