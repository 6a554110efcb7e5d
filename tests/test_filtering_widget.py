"""RegularizationExplorer in plain Python (no browser): set controls, read the figures.

Without a running asyncio loop a coalesced change waits for ``flush()``; the tests rely
on that to check that a fast drag runs only a few recomputations and the last value wins.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from spectrakit.datasets import shaw  # noqa: E402
from spectrakit.tuning.filtering import RegularizationSession  # noqa: E402
from spectrakit.widgets import RegularizationExplorer  # noqa: E402
from spectrakit.widgets._controls import Coalescer  # noqa: E402

N = 32


@pytest.fixture(scope="module")
def problem():
    return shaw(N, noise=1e-3, seed=0)


@pytest.fixture
def explorer(problem):
    # a long throttle: every change after the first draw stays pending until flush()
    return RegularizationExplorer(problem, device="cpu", throttle_s=60.0)


def y(explorer, figure, trace):
    return np.asarray(explorer.trace(figure, trace).y, dtype=float)


def x(explorer, figure, trace):
    return np.asarray(explorer.trace(figure, trace).x, dtype=float)


# --------------------------------------------------------------------------- basics


def test_builds_from_dataset_and_from_session(problem):
    a = RegularizationExplorer(problem, device="cpu")
    session = RegularizationSession.from_problem(problem, device="cpu", reg=1e-4)
    b = RegularizationExplorer(session)
    assert b.session is session and b.reg == 1e-4 and b.method == "tikhonov"
    assert a.n_updates == b.n_updates == 1
    assert set(a.figures) == {"solution", "picard", "lcurve", "criteria"}
    for name in ("reg", "reg_readout", "method", "rank", "n_iter", "order"):
        assert name in a.controls
    # the same problem and reg: the same picture
    a.set(reg=1e-4)
    a.flush()
    np.testing.assert_allclose(y(a, "solution", "x"), y(b, "solution", "x"), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x(a, "solution", "x"), problem["t"].values)
    # notebook display delegates to the assembled widget
    bundle = a._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    with pytest.raises(TypeError, match="device"):
        RegularizationExplorer(session, device="cpu")
    with pytest.raises(TypeError, match="problem_or_session"):
        RegularizationExplorer(np.eye(3))


def test_reg_slider_is_a_grid_slider_with_readout(explorer):
    import ipywidgets as widgets

    slider, grid_slider = explorer.controls["reg"], explorer.sliders["reg"]
    assert type(slider) is widgets.IntSlider and slider.readout is False
    assert slider.min == 0 and slider.step == 1 and slider.max == grid_slider.n_steps
    grid = explorer.session.reg_grid
    assert grid_slider.value_at(0) == pytest.approx(grid.min(), rel=1e-12)
    assert grid_slider.value_at(slider.max) == pytest.approx(grid.max(), rel=1e-12)
    assert np.log10(grid.max() / grid.min()) / slider.max <= 0.05 + 1e-12  # at most 0.05 decades a step
    assert slider.value == round(np.log10(explorer.reg / grid.min()) / np.log10(grid.max() / grid.min()) * slider.max)
    explorer.set(reg=1.234e-4)
    assert explorer.controls["reg_readout"].value == "reg = 1.23e-04"
    explorer.flush()
    assert explorer.reg == 1.234e-4  # exactly what was asked, not 10**log10(...)


def test_css_classes(explorer):
    for name in ("solution", "picard", "lcurve", "criteria"):
        assert f"sk-fig-{name}" in explorer.figures[name]._dom_classes
    assert "sk-reg-slider" in explorer.controls["reg"]._dom_classes
    assert "sk-method" in explorer.controls["method"]._dom_classes
    assert "sk-status" in explorer.status._dom_classes


def test_figures_are_built_once_and_updated_in_place(explorer):
    figs = dict(explorer.figures)
    traces = {name: list(fig.data) for name, fig in figs.items()}
    explorer.set(reg=1e-2)
    explorer.flush()
    explorer.set(method="tsvd")
    explorer.flush()
    for name, fig in explorer.figures.items():
        assert fig is figs[name]
        assert all(a is b for a, b in zip(fig.data, traces[name])) and len(fig.data) == len(traces[name])
        assert type(fig.data[0]).__name__ == "Scatter"


# --------------------------------------------------------------------------- reg moves


def test_reg_move_updates_traces(explorer, problem):
    before_x = y(explorer, "solution", "x")
    before_marker = x(explorer, "lcurve", "current")
    path_before = y(explorer, "lcurve", "path")
    explorer.set(reg=1e-2)
    explorer.flush()
    assert explorer.reg == 1e-2
    out = explorer.session.update(reg=1e-2)
    after_x = y(explorer, "solution", "x")
    assert not np.allclose(before_x, after_x)
    np.testing.assert_allclose(after_x, out["x"].values, rtol=1e-12)
    np.testing.assert_allclose(y(explorer, "picard", "filter_factors"), out["filter_factors"].values, rtol=1e-12)
    assert x(explorer, "lcurve", "current")[0] == pytest.approx(float(out["residual_norm"]))
    assert x(explorer, "lcurve", "current")[0] != pytest.approx(before_marker[0])
    assert y(explorer, "lcurve", "current")[0] == pytest.approx(float(out["solution_norm"]))
    np.testing.assert_allclose(x(explorer, "criteria", "current"), [1e-2, 1e-2])
    np.testing.assert_allclose(y(explorer, "picard", "sqrt_reg"), math.sqrt(1e-2))
    # a reg move leaves the path figures alone
    np.testing.assert_array_equal(y(explorer, "lcurve", "path"), path_before)
    # filtered coefficients h_i |u_i^T b| / sigma_i
    U, sv, _ = np.linalg.svd(problem["A"].values)
    coef = np.abs(U.T @ problem["b"].values)  # |u_i^T b| by numpy
    sigma = out["sigma"].values
    np.testing.assert_allclose(sigma, sv, rtol=1e-10, atol=1e-14 * sv[0])
    expect = out["filter_factors"].values * coef / sigma
    got = y(explorer, "picard", "filtered")
    # singular vectors are determined to about eps/gap: the well-separated modes
    ok = np.isfinite(got) & (sv > 1e-6 * sv[0])
    assert ok.sum() >= 8
    np.testing.assert_allclose(got[ok], expect[ok], rtol=1e-8)


def test_status_line_shows_state(explorer):
    explorer.set(reg=1e-3)
    explorer.flush()
    text = explorer.status.value
    for part in ("tikhonov", "reg = 1.00e-03", "device cpu", "x_true"):
        assert part in text, text
    assert explorer.error is None


def test_solution_norm_falls_as_reg_grows(explorer):
    norms = []
    for reg in (1e-10, 1e-6, 1e-2, 1.0):
        explorer.set(reg=reg)
        explorer.flush()
        norms.append(np.linalg.norm(y(explorer, "solution", "x")))
    assert all(a > b for a, b in zip(norms, norms[1:])), norms


# --------------------------------------------------------------------------- coalescing


def test_fast_drag_coalesces_and_last_value_wins(explorer):
    slider, grid = explorer.controls["reg"], explorer.sliders["reg"]
    start = explorer.n_updates
    values = np.linspace(grid.position(1e-9), grid.position(1e-1), 50).round().astype(int)
    calls = []
    real_apply = explorer.session.apply

    def counting_apply(*a, **kw):
        calls.append(kw.get("reg"))
        return real_apply(*a, **kw)

    explorer.session.apply = counting_apply
    for v in values:
        slider.value = int(v)
    assert explorer.n_updates - start <= 3
    assert len(calls) <= 3
    explorer.flush()
    last = grid.value_at(int(values[-1]))
    assert explorer.reg == last and last == pytest.approx(1e-1, rel=0.07)
    assert calls[-1] == last  # never a stale value last
    np.testing.assert_allclose(
        y(explorer, "solution", "x"), explorer.session.update(reg=last)["x"].values, rtol=1e-12
    )
    assert explorer.controls["reg_readout"].value == f"reg = {last:.2e}"
    assert explorer.flush() is None and explorer.pending == {}
    n = explorer.n_updates
    explorer.flush()  # nothing pending: nothing recomputed
    assert explorer.n_updates == n


def test_leading_edge_applies_at_once_when_idle(problem):
    ex = RegularizationExplorer(problem, device="cpu", throttle_s=0.0)
    position = ex.sliders["reg"].position(1e-3)
    ex.controls["reg"].value = position
    assert ex.reg == ex.sliders["reg"].value_at(position) and ex.pending == {}
    assert ex.n_updates == 2


def test_coalescer_uses_running_loop_for_trailing_apply():
    import asyncio

    seen = []

    async def drag():
        c = Coalescer(seen.append, throttle_s=0.02)
        for v in range(20):
            c.submit(x=v)
        assert seen == [{"x": 0}]  # leading edge only; the rest is scheduled
        await asyncio.sleep(0.1)
        return c

    c = asyncio.run(drag())
    assert seen == [{"x": 0}, {"x": 19}] and c.pending == {} and c.n_applied == 2


def test_coalescer_merges_and_reports_errors():
    seen, errors = [], []

    def apply(changes):
        if changes.get("bad"):
            raise ValueError("boom")
        seen.append(changes)

    c = Coalescer(apply, throttle_s=60.0, on_error=errors.append)
    c.submit(a=1)
    c.submit(opts={"p": 1}, b=2)
    c.submit(opts={"q": 2}, b=3)
    assert c.flush() is True
    assert seen == [{"a": 1}, {"opts": {"p": 1, "q": 2}, "b": 3}]
    c.submit(bad=True)
    c.flush()
    assert isinstance(errors[-1], ValueError)
    with pytest.raises(ValueError, match="throttle_s"):
        Coalescer(apply, throttle_s=-1)


# --------------------------------------------------------------------------- methods


def test_method_change_updates_path_figures_and_native_control(explorer):
    path_before = y(explorer, "lcurve", "path")
    gcv_before = y(explorer, "criteria", "gcv")
    assert explorer.controls["rank"].layout.display == "none"
    explorer.set(method="tsvd")
    explorer.flush()
    assert explorer.method == "tsvd" and explorer.session.method == "tsvd"
    path = explorer.session.path
    assert not np.allclose(y(explorer, "lcurve", "path"), path_before)
    norms = path["solution_norm"].values
    # zero norms (rank 0) are gaps on the log axes
    np.testing.assert_allclose(y(explorer, "lcurve", "path"), np.where(norms > 0, norms, np.nan), rtol=1e-12)
    assert not np.allclose(y(explorer, "criteria", "gcv"), gcv_before, equal_nan=True)
    gcv = path["gcv"].values
    np.testing.assert_allclose(y(explorer, "criteria", "gcv"), gcv / gcv.min(), rtol=1e-12)
    # choices marked where session.choices() puts them
    choices = explorer.session.choices()
    assert set(choices.values()) <= set(x(explorer, "criteria", "choices"))
    assert x(explorer, "lcurve", "choice")[0] == pytest.approx(
        float(path["residual_norm"].sel(reg=choices["lcurve"]))
    )
    # the native control appears and shows what reg maps to
    assert explorer.controls["rank"].layout.display is None
    assert explorer.controls["n_iter"].layout.display == "none"
    assert explorer.controls["rank"].value == int(explorer.result["rank"])
    assert "rank = " in explorer.status.value
    explorer.set(method="showalter")
    explorer.flush()
    assert all(explorer.controls[n].layout.display == "none" for n in ("rank", "n_iter", "order"))


def test_tsvd_rank_control_sets_reg(explorer):
    explorer.set(method="tsvd")
    explorer.flush()
    s = np.sort(explorer.session.problem.basis.s.numpy())[::-1]
    explorer.controls["rank"].value = 4
    explorer.flush()
    assert explorer.reg == s[3]
    out = explorer.session.update()
    assert int(out["rank"]) == 4
    assert y(explorer, "picard", "filter_factors").sum() == 4
    assert explorer.controls["reg"].value == explorer.sliders["reg"].position(s[3])
    # and the slider moves the rank control
    explorer.set(reg=s[6] * 1.0001)
    explorer.flush()
    assert explorer.controls["rank"].value == 6
    explorer.set(rank=2)
    explorer.flush()
    assert explorer.reg == s[1] and int(explorer.result["rank"]) == 2
    with pytest.raises(ValueError, match="rank"):
        explorer.set(reg=1e-3, rank=3)


def test_landweber_n_iter_control_sets_reg(explorer):
    explorer.set(method="landweber")
    explorer.flush()
    omega = 1.0 / float(explorer.session.problem.basis.s.max())
    explorer.controls["n_iter"].value = 250
    explorer.flush()
    assert explorer.reg == pytest.approx(1.0 / (omega * 250), rel=1e-12)
    assert int(explorer.result["n_iter"]) == 250
    explorer.set(reg=1.0 / (omega * 40))
    explorer.flush()
    assert explorer.controls["n_iter"].value == 40
    # n_iter = 0 is refused in the status line; the control goes back
    explorer.controls["n_iter"].value = 0
    assert "n_iter" in explorer.error and "ValueError" in explorer.status.value
    assert explorer.controls["n_iter"].value == 40
    explorer.set(n_iter=10)
    explorer.flush()
    assert int(explorer.result["n_iter"]) == 10 and explorer.error is None


def test_iterated_tikhonov_order_is_an_option(explorer):
    explorer.set(reg=1e-3, method="iterated_tikhonov")
    explorer.flush()
    assert explorer.controls["order"].layout.display is None
    assert explorer.method_options == {"order": 2}
    path2 = y(explorer, "lcurve", "path")
    explorer.set(order=5)
    explorer.flush()
    assert explorer.reg == 1e-3  # reg unchanged
    assert explorer.session.method_options == {"order": 5}
    out = explorer.session.update()
    np.testing.assert_allclose(y(explorer, "picard", "filter_factors"), out["filter_factors"].values, rtol=1e-12)
    assert not np.allclose(y(explorer, "lcurve", "path"), path2)
    with pytest.raises(ValueError, match="iterated_tikhonov"):
        explorer.set(method="tikhonov", order=3)


def test_explorer_from_session_keeps_its_method(problem):
    session = RegularizationSession.from_problem(problem, device="cpu", method="landweber", reg=1e-3)
    ex = RegularizationExplorer(session)
    assert ex.method == "landweber" and ex.controls["n_iter"].layout.display is None
    assert ex.controls["n_iter"].value == int(session.update()["n_iter"])


# --------------------------------------------------------------------------- errors


def test_error_shows_in_status_and_widget_keeps_working(explorer, monkeypatch):
    good_x = y(explorer, "solution", "x")
    reg0 = explorer.reg

    def broken(*a, **kw):
        raise RuntimeError("device fell over")

    monkeypatch.setattr(explorer.session, "_solve", broken)
    explorer.set(reg=1e-2)
    explorer.flush()
    assert "RuntimeError" in explorer.status.value and "device fell over" in explorer.status.value
    assert "#c62828" in explorer.status.value  # red
    assert explorer.error == "RuntimeError: device fell over"
    assert explorer.reg == reg0
    np.testing.assert_array_equal(y(explorer, "solution", "x"), good_x)
    monkeypatch.undo()
    explorer.set(reg=1e-2)
    explorer.flush()
    assert explorer.reg == 1e-2 and explorer.error is None
    assert "RuntimeError" not in explorer.status.value


def test_bad_option_shows_in_status_and_session_recovers(explorer):
    explorer.set(method="landweber", omega=-1.0)
    explorer.flush()
    assert "omega" in explorer.error
    assert explorer.method == "tikhonov" and explorer.session.method == "tikhonov"
    assert explorer.controls["method"].value == "tikhonov"
    explorer.set(reg=1e-5)
    explorer.flush()
    assert explorer.error is None and explorer.reg == 1e-5
    np.testing.assert_allclose(y(explorer, "solution", "x"), explorer.session.update(reg=1e-5)["x"].values)


def test_invalid_set_arguments_raise(explorer):
    with pytest.raises(ValueError, match="method"):
        explorer.set(method="ridge")
    with pytest.raises(ValueError, match="outside the slider"):
        explorer.set(reg=1e9)
    with pytest.raises(ValueError, match="reg"):
        explorer.set(reg=-1.0)
    with pytest.raises(ValueError, match="tsvd"):
        explorer.set(rank=3)


# --------------------------------------------------------------------------- no refits


def test_reg_moves_use_the_cached_decomposition(explorer, monkeypatch):
    explorer.set(method="tsvd")
    explorer.flush()  # path cached for tsvd and tikhonov

    def forbidden(*a, **kw):
        raise AssertionError("a reg move must not solve or refactor anything")

    for name in ("solve", "lstsq", "inv", "pinv", "svd", "eigh", "qr", "cholesky"):
        monkeypatch.setattr(torch.linalg, name, forbidden)
    out = explorer.session.update(reg=1e-3)
    assert np.isfinite(out["x"].values).all()
    for reg in (1e-6, 1e-3, 1e-1):
        explorer.set(reg=reg)
        explorer.flush()
        assert explorer.reg == reg and explorer.error is None, explorer.error
    explorer.set(method="tikhonov")
    explorer.flush()
    explorer.set(method="showalter")  # a new path: still only the cached basis
    explorer.flush()
    assert explorer.error is None, explorer.error
    np.testing.assert_allclose(y(explorer, "solution", "x"), explorer.session.update()["x"].values)


def test_reg_move_is_fast(problem):
    ex = RegularizationExplorer(problem, device="cpu", throttle_s=0.0)
    slider, grid = ex.controls["reg"], ex.sliders["reg"]
    for v in (1e-4, 1e-3):  # warm up
        slider.value = grid.position(v)
    times = []
    for k in np.linspace(grid.position(1e-8), grid.position(1e-2), 21).round().astype(int):
        t = time.perf_counter()
        slider.value = int(k)
        times.append(time.perf_counter() - t)
    assert ex.reg == grid.value_at(grid.position(1e-2))
    assert np.median(times) < 0.05, f"median reg move {np.median(times) * 1e3:.1f} ms"


# --------------------------------------------------------------------------- layers


def test_import_spectrakit_does_not_import_widgets():
    code = (
        "import sys, spectrakit\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('spectrakit.widgets', 'plotly', 'ipywidgets', 'anywidget')))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- front end


def test_value_set_from_code_survives_the_page(explorer):
    """reg set from Python lies between grid positions: the slider shows the nearest
    position (an integer, which the page never snaps), so a page message carrying the
    position shown changes nothing; a user's move (one position) applies that position."""
    slider, grid = explorer.controls["reg"], explorer.sliders["reg"]
    explorer.set(reg=1.234e-4)
    explorer.flush()
    n = explorer.n_updates
    assert grid.value_at(slider.value) != 1.234e-4  # off the grid
    slider.set_state({"value": slider.value})  # what the comm handler does with the page's message
    explorer.flush()
    assert explorer.reg == 1.234e-4 and explorer.n_updates == n
    assert explorer.controls["reg_readout"].value == "reg = 1.23e-04"
    slider.set_state({"value": slider.value + 1})  # the user presses ArrowRight
    explorer.flush()
    assert explorer.reg == grid.value_at(slider.value) and explorer.n_updates == n + 1


def test_tied_singular_values_show_the_rank_applied(explorer):
    explorer.set(method="tsvd")
    explorer.flush()
    s = np.sort(explorer.session.problem.basis.s.numpy())[::-1]
    s = s[s > 0]
    ties = [r for r in range(1, s.size) if s[r] == s[r - 1]]
    if not ties:
        pytest.skip("no equal singular values in this problem")
    r = ties[0]  # s_r == s_{r+1}: rank r is unreachable
    explorer.controls["rank"].value = r
    explorer.flush()
    applied = int(explorer.result["rank"])
    assert applied > r and explorer.controls["rank"].value == applied


def test_displaying_refreshes_figure_front_end_state(explorer):
    # plotly's batch_update corrupts the front-end model's copy of multi-trace edits;
    # displaying the explorer (a FigureBox) re-sends the true state for new views
    explorer.set(method="tsvd")
    explorer.flush()
    explorer._repr_mimebundle_()
    for name, fig in explorer.figures.items():
        sent = fig._widget_data
        assert [t.get("name") for t in sent] == [t.name for t in fig.data], name
        for t, tr in zip(sent, fig.data):
            if tr.y is not None:
                np.testing.assert_array_equal(np.asarray(t["y"], dtype=float), np.asarray(tr.y, dtype=float))
