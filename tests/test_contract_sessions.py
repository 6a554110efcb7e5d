"""The session contract (spectrakit.tuning._session), checked on every Session subclass.

``solve`` is pure; ``update`` equals the labelled path's row at the same reg; a scalar reg
drops the ``reg`` dim; ``choices`` lie on the grid; ``path`` is cached; an update that
raises leaves the session exactly as it was, and the next valid one works.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import spectrakit
from spectrakit import tuning
from spectrakit.tuning._session import FilterSession, Session


def _regularization():
    return tuning.RegularizationSession.from_problem(spectrakit.datasets.shaw(32, noise=1e-2, seed=0), device="cpu")


def _spectrum():
    rng = np.random.default_rng(0)
    t = np.arange(128) * 0.1
    clean = np.sin(2 * np.pi * t / 6)
    da = xr.DataArray(clean + 0.3 * rng.standard_normal(t.size), dims="time", coords={"time": t})
    return tuning.SpectrumSession(da, "time", x_true=clean, device="cpu")


def _graph_filter():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(80, 2))
    clean = np.sin(3 * X[:, 0]) + X[:, 1]
    return tuning.GraphFilterSession(X, clean + 0.3 * rng.standard_normal(80), clean=clean, k=6, device="cpu")


def _learning_curve():
    return tuning.LearningCurveSession(n_modes=60, n_mc=[10, 20], trials=3, device="cpu")


def _graph_spectrum():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.2, size=(30, 2)) for c in ((0, 0), (3, 0), (0, 3))])
    return tuning.GraphSpectrumSession(X, k=8, device="cpu")


# each session, the variable its update and its path share, a valid change of another
# setting and a setting it refuses
CASES = {
    "RegularizationSession": (_regularization, "residual_norm", {"method": "tsvd"}, {"method": "bogus"}),
    "SpectrumSession": (_spectrum, "residual_norm", {"sobolev": 2.0}, {"sobolev": "high"}),
    "GraphFilterSession": (_graph_filter, "residual_norm", {"order": 5}, {"order": -1}),
    "LearningCurveSession": (_learning_curve, ("error_at_n", "error"), {"alpha": 2.0}, {"alpha": -1.0}),
    "GraphSpectrumSession": (_graph_spectrum, None, {"n_clusters": 2}, {"n_clusters": -5}),
}


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_every_session_is_covered():
    public = {c.__name__ for c in _all_subclasses(Session) if c is not FilterSession and not c.__name__.startswith("_")}
    assert public == set(CASES)


@pytest.fixture(params=list(CASES), scope="module")
def case(request):
    make, shared, good, bad = CASES[request.param]
    return make(), shared, good, bad


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (a[k] == b[k]) or (isinstance(a[k], float) and np.isnan(a[k]) and np.isnan(b[k])) for k in a
    )


def _other_reg(session):
    grid = session.reg_grid
    return float(grid[len(grid) // 3])


def test_solve_is_pure(case):
    session, *_ = case
    before = dict(session.settings)
    path = session.path if isinstance(session, FilterSession) else None
    if isinstance(session, FilterSession):
        session.solve(reg=_other_reg(session))
    else:
        session.solve(n_clusters=2)
    assert _same(session.settings, before)
    if path is not None:
        assert session.path is path


def test_update_equals_the_path_row_and_scalar_reg_drops_the_dim(case):
    session, shared, *_ = case
    if not isinstance(session, FilterSession):
        pytest.skip("no reg and no path: nothing to compare")
    reg = _other_reg(session)
    out = session.update(reg=reg)
    name_out, name_path = shared if isinstance(shared, tuple) else (shared, shared)
    assert "reg" not in out[name_out].dims  # (a learning curve's answer also carries its path over reg)
    assert session.reg == reg
    row = FilterSession.first_signal(session.path) if "residual_norm" in session.path else session.path
    expected = float(row[name_path].sel(reg=reg))
    got = out[name_out].values.reshape(-1)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_choices_lie_on_the_grid(case):
    session, *_ = case
    choices = session.choices()
    if not isinstance(session, FilterSession):
        assert choices == {}
        return
    assert choices
    for name, value in choices.items():
        assert np.isin(value, session.reg_grid), name


def test_path_is_cached(case):
    session, *_ = case
    if not isinstance(session, FilterSession):
        with pytest.raises(NotImplementedError, match="no path"):
            session.path
        return
    assert session.path is session.path


def test_a_failing_update_changes_nothing(case):
    session, _, good, bad = case
    before = dict(session.settings)
    if isinstance(session, FilterSession):
        # a bad reg with a valid change of another setting: neither is kept
        with pytest.raises(ValueError, match="reg"):
            session.update(reg=-1.0, **good)
        assert _same(session.settings, before)
    with pytest.raises((ValueError, TypeError)):
        session.update(**bad)
    assert _same(session.settings, before)
    with pytest.raises((ValueError, TypeError)):
        session.solve(**bad)
    assert _same(session.settings, before)
    # and the next valid update works
    if isinstance(session, FilterSession):
        reg = float(session.reg_grid[len(session.reg_grid) // 2])
        session.update(reg=reg)
        assert session.reg == reg
    else:
        session.update(n_clusters=3)
        assert session.n_clusters == 3
