"""ImplicitSession (spectrakit.tuning.implicit) and the stepper under it
(spectrakit.core.implicit.FactoredDescent): the same numbers as gd_matrix_sensing and
scaled_gd, exact pause/resume and reset, live lr and damping against a numpy step, the
recorded spectrum against numpy, the staircase and ScaledGD, replace(), and input checks.
CPU, a few seconds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

from spectrakit.core.implicit import (
    FactoredDescent,
    gd_matrix_sensing,
    matrix_sensing_problem,
    scaled_gd,
)
from spectrakit.tuning import ImplicitSession
from spectrakit.tuning.implicit import default_lr

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def staircase():
    return matrix_sensing_problem(20, [3.0, 2.0, 1.0], n_measurements=600, seed=0, device="cpu")


@pytest.fixture(scope="module")
def kappa100():
    return matrix_sensing_problem(20, [1.0, 0.1, 0.01], n_measurements=800, seed=0, device="cpu")


def small(**kw):
    """A small problem (d = 8, rank 2, 240 measurements): fast."""
    opts = dict(d=8, singular_values=(2.0, 1.0), device="cpu")
    opts.update(kw)
    return ImplicitSession(**opts)


def assert_same_as_core(h, res):
    np.testing.assert_array_equal(h["step"].values, res.steps.numpy())
    np.testing.assert_array_equal(h["singular_values"].values, res.singular_values.numpy())
    np.testing.assert_array_equal(h["loss"].values, res.loss.numpy())
    np.testing.assert_array_equal(h["error"].values, res.error.numpy())


# ----------------------------------------------------------------------------- the core's numbers


@pytest.mark.parametrize("record_every", [1, 3])
def test_gd_history_is_gd_matrix_sensing(staircase, record_every):
    s = ImplicitSession(staircase, lr=0.05, init_scale=1e-4, record_every=record_every).run(150, chunk=40)
    res = gd_matrix_sensing(staircase, steps=150, lr=0.05, init_scale=1e-4, record_every=record_every)
    h = s.history
    assert_same_as_core(h, res)  # bit for bit: one update rule
    assert torch.equal(s.factor, res.factor)
    assert dict(h.sizes) == {"step": 151 if record_every == 1 else 51, "mode": 20}
    assert h["target"].values.tolist() == [3.0, 2.0, 1.0] + [0.0] * 17 and h["target"].dims == ("mode",)
    assert h["mode"].values.tolist() == list(range(20)) and np.all(h["lr"].values == 0.05)
    assert "damping" not in h and h.attrs["optimizer"] == "gd" and h.attrs["damping"] == 0.1
    assert h.attrs["target_singular_values"] == [3.0, 2.0, 1.0] and h.attrs["rank"] == 3
    assert h.attrs["n_measurements"] == 600 and h.attrs["observation"] == "sensing"


def test_scaled_gd_history_is_scaled_gd(kappa100, staircase):
    s = ImplicitSession(kappa100, optimizer="scaledgd", damping=1e-5, width=5, init_scale=1e-6).run(120)
    res = scaled_gd(kappa100, damping=1e-5, steps=120, width=5, init_scale=1e-6)
    assert_same_as_core(s.history, res)
    assert torch.equal(s.factor, res.factor) and s.lr == 0.5
    h = s.history
    assert h.sizes == {"step": 121, "mode": 5} and np.all(h["damping"].values == 1e-5)
    assert h["target"].values.tolist() == [1.0, 0.1, 0.01, 0.0, 0.0]
    assert h.attrs["condition_number"] == pytest.approx(100.0)
    # fully overparameterized, another seed and lr
    s = ImplicitSession(staircase, optimizer="scaledgd", damping=0.1, lr=0.3, seed=4, record_every=5).run(60)
    res = scaled_gd(staircase, damping=0.1, lr=0.3, steps=60, seed=4, record_every=5)
    assert_same_as_core(s.history, res)


def test_stepper_is_the_rule_of_the_whole_run_functions(staircase):
    run = FactoredDescent(staircase, lr=0.05, init_scale=1e-3, width=6, seed=2)
    losses = []
    with run.threads():
        for _ in range(30):
            losses.append(float(run.loss()))
            run.update()
    losses.append(float(run.loss()))
    res = gd_matrix_sensing(staircase, steps=30, lr=0.05, init_scale=1e-3, width=6, seed=2)
    assert torch.equal(run.factor, res.factor) and run.step == 30
    np.testing.assert_array_equal(losses, res.loss.numpy())
    eig, err = run.spectrum()
    assert torch.equal(eig, res.singular_values[-1]) and torch.equal(err, res.error[-1])
    # reset: back to U_0
    assert torch.equal(run.reset().factor, run.initial_factor) and run.step == 0
    # the same checks as the whole-run functions, on the live setters too
    with pytest.raises(ValueError, match=r"lr \* sigma_1 < 1"):
        run.lr = 0.5
    with pytest.raises(ValueError, match="plain gradient descent"):
        run.damping = 0.1
    assert run.lr == 0.05 and run.damping is None
    sgd = FactoredDescent(staircase, lr=0.5, damping=0.1)
    with pytest.raises(ValueError, match="damping must be >= 0"):
        sgd.damping = -1.0
    with pytest.raises(ValueError, match="must be < 1 for ScaledGD"):
        sgd.lr = 1.0
    sgd.damping = 0.2
    assert sgd.damping == 0.2 and sgd.lr == 0.5


# ----------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("kw", [
    dict(),
    dict(optimizer="scaledgd", damping=0.1, record_every=3, width=5, seed=3),
])
def test_pause_resume_equals_uninterrupted(kw):
    scaled = kw.get("optimizer") == "scaledgd"

    def change(s):  # a slider move and an lr change, after step 9
        if s.step == 9:
            s.lr = 0.5 * s.lr
            if scaled:
                s.damping = 0.05

    whole = small(**kw).run(24, chunk=9, callback=change)
    parts = small(**kw).run(9)
    change(parts)
    parts.run(0).run(4).run(11)
    xr.testing.assert_identical(whole.history, parts.history)
    assert torch.equal(whole.factor, parts.factor) and whole.step == parts.step == 24
    h = whole.history
    assert float(h.lr.isel(step=0)) == 2 * float(h.lr.isel(step=-1))
    if scaled:
        assert h["damping"].sel(step=9).item() == 0.1 and h["damping"].sel(step=12).item() == 0.05
        assert h.sizes["step"] == 9  # steps 0, 3, ..., 24


def test_reset_reproduces_and_seed_matters():
    s = small(optimizer="scaledgd", damping=0.05)
    first = s.run(15).history
    again = s.reset().run(15).history
    xr.testing.assert_identical(first, again)
    assert s.step == 15 and first.sizes["step"] == 16
    other = small(optimizer="scaledgd", damping=0.05, seed=1).run(15).history
    assert not np.array_equal(first["singular_values"].values, other["singular_values"].values)
    # reset keeps a changed lr (as the lr slider left it)
    s.lr = 0.25
    assert s.reset().lr == 0.25 and s.history["lr"].values.tolist() == [0.25]


def test_callback_per_chunk():
    seen = []
    small().run(10, chunk=3, callback=lambda s: seen.append(s.step))
    assert seen == [3, 6, 9, 10]


def test_live_lr_and_damping_apply_from_the_next_step(staircase):
    """The update after a change uses the new values: a ScaledGD step by numpy."""
    s = ImplicitSession(staircase, optimizer="scaledgd", damping=0.1, width=4, init_scale=0.1, seed=5).run(6)
    u = s.factor.numpy().copy()
    s.lr, s.damping = 0.3, 0.02
    s.run(1)
    a = staircase.sensing.numpy()
    y = staircase.measurements.numpy()
    res = np.einsum("mij,ij->m", a, u @ u.T) - y
    g = np.einsum("m,mij->ij", res, a) / len(y)
    step = (g @ u) @ np.linalg.inv(u.T @ u + 0.02 * np.eye(4))
    np.testing.assert_allclose(s.factor.numpy(), u - 0.3 * step, rtol=1e-10, atol=1e-14)
    h = s.history
    assert h["lr"].values.tolist() == [0.5] * 7 + [0.3] and h["damping"].values.tolist() == [0.1] * 7 + [0.02]


def test_recorded_values_match_numpy(staircase):
    s = ImplicitSession(staircase, init_scale=0.05, width=6, lr=0.05)
    for step in (0, 13):
        s.run(step - s.step)
        u = s.factor.numpy()
        x = u @ u.T
        h = s.history.sel(step=step)
        eig = np.linalg.eigvalsh(x)[::-1][:6]
        np.testing.assert_allclose(h["singular_values"].values, eig, rtol=1e-10, atol=1e-15)
        res = np.einsum("mij,ij->m", staircase.sensing.numpy(), x) - staircase.measurements.numpy()
        assert float(h["loss"]) == pytest.approx((res**2).sum() / (4 * 600), rel=1e-12)
        t = staircase.target.numpy()
        assert float(h["error"]) == pytest.approx(np.linalg.norm(x - t) / np.linalg.norm(t), rel=1e-12)


# ----------------------------------------------------------------------------- what it shows


def test_staircase_under_gd_and_together_under_scaled_gd():
    s = ImplicitSession(init_scale=1e-4, device="cpu")  # sigma = 3, 2, 1; d = 20; lr = 0.05
    assert s.lr == 0.05 == default_lr("gd", 3.0)
    s.run(250)
    t = s.learning_times()
    assert t.dims == ("mode",) and t.values.tolist() == [58, 84, 145]  # the core's numbers
    rank = s.learned_rank()
    assert rank.dims == ("step",) and rank.sizes["step"] == 251
    assert np.all(np.diff(rank.values) >= 0) and rank.values[0] == 0 and rank.values[-1] == 3
    assert set(rank.values.tolist()) == {0, 1, 2, 3}  # one at a time
    assert rank.sel(step=70).item() == 1 and rank.sel(step=100).item() == 2
    sv = s.history["singular_values"]
    assert float(sv.sel(step=250, mode=3)) < 1e-3  # implicitly low rank: U is 20 x 20
    fast = s.replace(optimizer="scaledgd").run(40)
    tf = fast.learning_times().values
    assert fast.lr == 0.5 and tf.max() - tf.min() <= 2 and tf.max() < 10  # together, and early


def test_scaled_gd_reaches_1e_6_where_gd_does_not(kappa100):
    fast = ImplicitSession(kappa100, optimizer="scaledgd", damping=1e-5, width=5, init_scale=1e-6).run(150)
    slow = fast.replace(optimizer="gd", lr=0.5).run(150)
    e_fast, e_slow = fast.history["error"], slow.history["error"]
    assert int(e_fast.step[e_fast <= 1e-6][0]) == 61  # the core's number
    assert float(e_slow.min()) > 5e-2


# ----------------------------------------------------------------------------- replace


def test_replace_keeps_the_problem_and_carries_lr_and_damping():
    s = small(optimizer="scaledgd", damping=0.05, lr=0.4).run(5)
    t = s.replace(init_scale=1e-6, seed=2)
    assert t.problem is s.problem and t.step == 0 and s.step == 5
    assert (t.optimizer, t.lr, t.damping, t.init_scale, t.seed) == ("scaledgd", 0.4, 0.05, 1e-6, 2)
    g = s.replace(optimizer="gd")  # another rule: its default lr
    assert g.lr == default_lr("gd", 2.0) == 0.075 and g.damping == 0.05
    back = g.replace(optimizer="scaledgd")
    assert back.lr == 0.5 and back.damping == 0.05 and back.history["damping"].values.tolist() == [0.05]
    assert s.replace(optimizer="gd", lr=0.1).lr == 0.1
    assert s.replace(width=3).history.sizes["mode"] == 3
    with pytest.raises(TypeError, match="keeps the problem"):
        s.replace(d=10)
    with pytest.raises(TypeError, match="unknown options"):
        s.replace(momentum=0.9)
    with pytest.raises(ValueError, match=r"lr \* sigma_1 < 1"):
        s.replace(optimizer="gd", lr=0.9)


def test_user_problem_full_observation_float32():
    p = matrix_sensing_problem(6, [2.0, 1.0], seed=1, dtype=torch.float32, device="cpu")
    before = [t.clone() for t in p if t is not None]
    s = ImplicitSession(p, init_scale=0.01, lr=0.1).run(20)
    assert s.dtype == torch.float32 and s.factor.dtype == torch.float32
    h = s.history
    assert h["singular_values"].dtype == np.float64 and h.attrs["observation"] == "full"
    assert h.attrs["n_measurements"] == 0 and h.attrs["problem"] == "user problem"
    res = gd_matrix_sensing(p, steps=20, lr=0.1, init_scale=0.01)
    np.testing.assert_array_equal(h["loss"].values, res.loss.numpy().astype(np.float64))
    s64 = ImplicitSession(p, dtype=torch.float64, init_scale=0.01, lr=0.1)
    assert s64.problem.target.dtype == torch.float64 and p.target.dtype == torch.float32
    for t, b in zip((t for t in p if t is not None), before):
        assert torch.equal(t, b)


# ----------------------------------------------------------------------------- errors


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="optimizer='adam' is unknown"):
        small(optimizer="adam")
    with pytest.raises(ValueError, match=r"lr \* sigma_1 < 1"):
        small(lr=0.6)
    with pytest.raises(ValueError, match="must be < 1 for ScaledGD"):
        small(optimizer="scaledgd", lr=1.5)
    with pytest.raises(ValueError, match="damping must be >= 0"):
        small(damping=-1.0)
    with pytest.raises(ValueError, match="damping must be >= 0"):
        small(optimizer="scaledgd", damping=-1.0)
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        small(init_scale=0.0)
    with pytest.raises(ValueError, match="width must be >= 1"):
        small(width=0)
    with pytest.raises(ValueError, match="record_every must be >= 1"):
        small(record_every=0)
    with pytest.raises(TypeError, match="MatrixSensingProblem"):
        ImplicitSession((1, 2))
    p = matrix_sensing_problem(5, [1.0], seed=0, device="cpu")
    with pytest.raises(ValueError, match="pass either problem or those"):
        ImplicitSession(p, d=5)
    with pytest.raises(ValueError, match="must all be > 0"):
        small(singular_values=(1.0, 0.0))
    s = small()
    with pytest.raises(AttributeError, match="replace\\(optimizer='scaledgd'"):
        s.damping = 0.01
    with pytest.raises(ValueError, match=r"lr \* sigma_1 < 1"):
        s.lr = 0.6
    assert s.lr == 0.075 and s.damping == 0.1
    with pytest.raises(TypeError, match="steps must be an integer"):
        s.run(2.5)


def test_divergence_raises_and_names_the_remedy(kappa100):
    s = ImplicitSession(kappa100, optimizer="scaledgd", damping=1e-4, init_scale=1e-8)
    with pytest.raises(FloatingPointError, match=r"diverged.*raise damping.*reset\(\)"):
        s.run(100)
    assert not math.isfinite(float(s.history["loss"][-1])) and s.step < 100
    s.damping = 1e-2
    s.reset().run(20)  # recovers
    assert np.isfinite(s.history["loss"].values).all()
