"""spectrakit.datasets: each problem checked against its continuous model.

Regularization Tools cannot run here, so the checks are independent of it: the continuous
right-hand side g(s) (closed form, or a converged quadrature of the published kernel and
solution) is compared with ``A @ x_true``, and the discretization error must shrink at the
order of the rule (midpoint and Galerkin with box functions: O(h^2), a factor ~4 when n
doubles). Structure (symmetry, Toeplitz, triangular, singular value decay), the noise
contract and argument checks follow.
"""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special

import spectrakit.datasets as sd
from spectrakit.datasets import (
    baart,
    deblur1d,
    deriv2,
    foxgood,
    gravity,
    heat,
    phillips,
    ridge_regression,
    shaw,
)

# One call per problem/variant: (generator, n, kwargs); n satisfies every problem's rules.
CASES = {
    "shaw": (shaw, 16, {}),
    "deriv2-1": (deriv2, 16, {"example": 1}),
    "deriv2-2": (deriv2, 16, {"example": 2}),
    "deriv2-3": (deriv2, 16, {"example": 3}),
    "phillips": (phillips, 16, {}),
    "baart": (baart, 16, {}),
    "foxgood": (foxgood, 16, {}),
    "heat": (heat, 16, {}),
    "heat-kappa5": (heat, 16, {"kappa": 5.0}),
    "gravity-1": (gravity, 16, {"example": 1}),
    "gravity-2": (gravity, 16, {"example": 2}),
    "gravity-3": (gravity, 16, {"example": 3, "a": -0.5, "b": 1.5, "d": 0.5}),
    "deblur1d": (deblur1d, 16, {"width": 0.05}),
}
INVERSE = sorted(CASES)


def make(case, **kw):
    gen, n, kwargs = CASES[case]
    return gen(n, **kwargs, **kw)


def rel_err(approx, exact):
    return np.linalg.norm(approx - exact) / np.linalg.norm(exact)


def gauss(lo, hi, m):
    x, w = np.polynomial.legendre.leggauss(m)
    return (lo + hi) / 2 + (hi - lo) / 2 * x, (hi - lo) / 2 * w


def galerkin_rhs(g, lo, hi, n, m=8):
    """h**-0.5 * integral of g over each of n cells of [lo, hi] (Gauss-Legendre per cell)."""
    h = (hi - lo) / n
    x, w = gauss(0.0, h, m)
    cells = lo + h * np.arange(n)[:, None] + x[None, :]
    return (g(cells) @ w) / np.sqrt(h)


# ---------------------------------------------------------------- the common contract


@pytest.mark.parametrize("case", INVERSE)
def test_layout_dims_coords_attrs(case):
    gen, n, kwargs = CASES[case]
    ds = make(case, seed=3)
    assert isinstance(ds, xr.Dataset)
    assert set(ds.data_vars) == {"A", "b", "b_exact", "x_true"}
    assert ds.A.dims == ("obs", "t")
    assert ds.b.dims == ds.b_exact.dims == ("obs",)
    assert ds.x_true.dims == ("t",)
    assert ds.A.shape == (n, n)
    for dim in ("obs", "t"):
        assert dim in ds.coords and ds[dim].size == n
        assert np.all(np.diff(ds[dim].values) > 0)
        assert ds[dim].attrs["long_name"]
    for name in ("A", "b", "b_exact", "x_true"):
        assert ds[name].dtype == np.float64
        assert np.isfinite(ds[name].values).all()
    assert ds.attrs["problem"] == gen.__name__
    assert ds.attrs["noise"] == 0.0 and ds.attrs["seed"] == 3
    assert ds.attrs["noise_norm"] == 0.0
    assert ds.attrs["description"] and ds.attrs["reference"]
    for key, value in kwargs.items():
        if key in ("a", "b"):
            assert ds.attrs["s_interval"] == [kwargs["a"], kwargs["b"]]
        elif key == "d":
            assert ds.attrs["depth"] == value
        else:
            assert ds.attrs[key] == value


@pytest.mark.parametrize("case", INVERSE)
def test_b_exact_is_A_x_true_and_noise_free_b(case):
    ds = make(case)
    np.testing.assert_allclose(ds.A.values @ ds.x_true.values, ds.b_exact.values, rtol=1e-14, atol=0)
    assert np.array_equal(ds.b.values, ds.b_exact.values)
    assert ds.attrs["noise_norm"] == 0.0


@pytest.mark.parametrize("case", INVERSE)
def test_relative_noise_and_seeds(case):
    ds = make(case, noise=0.05, seed=7)
    e = ds.b.values - ds.b_exact.values
    target = 0.05 * np.linalg.norm(ds.b_exact.values)
    assert abs(np.linalg.norm(e) - target) <= 1e-12 * target
    assert abs(ds.attrs["noise_norm"] - target) <= 1e-12 * target
    assert ds.attrs["noise"] == 0.05
    again = make(case, noise=0.05, seed=7)
    xr.testing.assert_identical(ds, again)
    other = make(case, noise=0.05, seed=8)
    assert not np.allclose(other.b.values, ds.b.values)
    np.testing.assert_array_equal(other.b_exact.values, ds.b_exact.values)


def test_noise_is_gaussian_from_default_rng():
    """The contract: e ~ default_rng(seed).standard_normal, rescaled."""
    ds = foxgood(32, noise=0.1, seed=11)
    e = np.random.default_rng(11).standard_normal(32)
    e *= 0.1 * np.linalg.norm(ds.b_exact.values) / np.linalg.norm(e)
    np.testing.assert_allclose(ds.b.values - ds.b_exact.values, e, rtol=1e-12, atol=1e-15)


def test_seed_none_is_recorded_and_reproduces():
    ds = shaw(16, noise=0.1)
    seed = ds.attrs["seed"]
    assert isinstance(seed, int) and seed >= 0
    xr.testing.assert_identical(shaw(16, noise=0.1, seed=seed), ds)


@given(
    noise=st.floats(min_value=0.0, max_value=10.0, allow_nan=False),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_noise_norm_property(noise, seed):
    ds = foxgood(8, noise=noise, seed=seed)
    norm = np.linalg.norm(ds.b_exact.values)
    target = noise * norm
    # b = b_exact + e is rounded to float64: an absolute ~eps*||b_exact|| on top of 1e-12
    # relative, which only matters for noise levels near machine precision.
    atol = 1e-15 * norm
    np.testing.assert_allclose(np.linalg.norm(ds.b.values - ds.b_exact.values), target, rtol=1e-12, atol=atol)
    np.testing.assert_allclose(ds.attrs["noise_norm"], target, rtol=1e-12, atol=atol)


def test_generators_do_not_share_state():
    """Making one dataset does not change another (no module-level random state)."""
    first = heat(20, noise=0.1, seed=1)
    shaw(20, noise=0.1, seed=2)
    xr.testing.assert_identical(first, heat(20, noise=0.1, seed=1))


# ---------------------------------------------------------------- continuous models


def shaw_g(s):
    x, w = gauss(-np.pi / 2, np.pi / 2, 400)  # smooth integrand: converged to ~1e-15
    S = s[:, None]
    K = (np.cos(S) + np.cos(x)) ** 2 * np.sinc(np.sin(S) + np.sin(x)) ** 2
    f = 2 * np.exp(-6 * (x - 0.8) ** 2) + np.exp(-2 * (x + 0.5) ** 2)
    return K @ (w * f)


def deriv2_g(example):
    return {
        1: lambda s: (s**3 - s) / 6,
        2: lambda s: np.exp(s) + (1 - np.e) * s - 1,
        3: lambda s: np.where(s < 0.5, (4 * s**3 - 3 * s) / 24, (-4 * s**3 + 12 * s**2 - 9 * s + 1) / 24),
    }[example]


def phillips_g(s):
    a = np.abs(s)
    return (6 - a) * (1 + 0.5 * np.cos(np.pi * s / 3)) + 9 / (2 * np.pi) * np.sin(np.pi * a / 3)


def heat_g(s_values, kappa=1.0):
    def k(u):
        return 0.0 if u <= 0 else u**-1.5 / (2 * kappa * np.sqrt(np.pi)) * np.exp(-1 / (4 * kappa**2 * u))

    def f(t):
        tau = 20 * t
        if t >= 0.5:
            return 0.0
        if tau < 2:
            return 0.75 * tau**2 / 4
        if tau < 3:
            return 0.75 + (tau - 2) * (3 - tau)
        return 0.75 * np.exp(-2 * (tau - 3))

    out = []
    for s in s_values:
        brk = [p for p in (0.1, 0.15, 0.5) if p < s]  # the kinks of f
        pieces = zip([0.0, *brk], [*brk, s])
        parts = [integrate.quad(lambda t: k(s - t) * f(t), lo, hi, epsabs=1e-15, epsrel=1e-12)[0] for lo, hi in pieces]
        out.append(sum(parts))
    return np.array(out)


def gravity_g(s, example, d=0.25):
    S = s[:, None]
    if example == 3:  # closed form: int d (d^2 + u^2)^(-3/2) du = u / (d sqrt(d^2 + u^2))
        P = lambda u: u / (d * np.sqrt(d * d + u * u))  # noqa: E731
        return 2 * (P(1 / 3 - s) - P(-s)) + (P(1 - s) - P(1 / 3 - s))
    total = 0.0
    for lo, hi in [(0, 1 / 3), (1 / 3, 7 / 8), (7 / 8, 1)]:  # pieces where f is smooth
        x, w = gauss(lo, hi, 200)
        if example == 1:
            f = np.sin(np.pi * x) + 0.5 * np.sin(2 * np.pi * x)
        else:
            f = np.interp(x, [0, 1 / 3, 7 / 8, 1], [0, 2, 1, 0])
        total = total + (d / (d * d + (S - x) ** 2) ** 1.5) @ (w * f)
    return total


def deblur_g(s, width):
    """Two boxes (erf) plus a Gaussian bump (Gaussian convolved with Gaussian)."""

    def box(lo, hi):
        r = np.sqrt(2) * width
        return 0.5 * (special.erf((s - lo) / r) - special.erf((s - hi) / r))

    var = 0.04**2 + width**2
    return box(0.15, 0.35) + 0.5 * box(0.75, 0.9) + 0.8 * 0.04 / np.sqrt(var) * np.exp(-((s - 0.55) ** 2) / (2 * var))


def baart_g_galerkin(n):
    """h_s**-0.5 * integral of 2 sinh(s)/s over each cell = 2 (Shi(r) - Shi(l)) / sqrt(h_s)."""
    hs = np.pi / (2 * n)
    return 2 * np.diff(special.shichi(hs * np.arange(n + 1))[0]) / np.sqrt(hs)


# name -> (generator of the dataset at n, reference rhs from the dataset and n, sizes)
CONVERGENCE = {
    "shaw": (lambda n: shaw(n), lambda ds, n: shaw_g(ds.obs.values), (32, 64)),
    "deriv2-2": (lambda n: deriv2(n, example=2), lambda ds, n: galerkin_rhs(deriv2_g(2), 0, 1, n), (32, 64)),
    "deriv2-3": (lambda n: deriv2(n, example=3), lambda ds, n: galerkin_rhs(deriv2_g(3), 0, 1, n), (32, 64)),
    "phillips": (lambda n: phillips(n), lambda ds, n: galerkin_rhs(phillips_g, -6, 6, n), (32, 64)),
    "baart": (lambda n: baart(n), lambda ds, n: baart_g_galerkin(n), (32, 64)),
    "foxgood": (
        lambda n: foxgood(n),
        lambda ds, n: ((1 + ds.obs.values**2) ** 1.5 - ds.obs.values**3) / 3,
        (32, 64),
    ),
    "heat": (lambda n: heat(n), lambda ds, n: heat_g(ds.obs.values), (80, 160)),
    "gravity-1": (lambda n: gravity(n, example=1), lambda ds, n: gravity_g(ds.obs.values, 1), (48, 96)),
    "gravity-2": (lambda n: gravity(n, example=2), lambda ds, n: gravity_g(ds.obs.values, 2), (48, 96)),
    # n a multiple of 3: the jump of f at 1/3 falls on a cell edge
    "gravity-3": (lambda n: gravity(n, example=3), lambda ds, n: gravity_g(ds.obs.values, 3), (48, 96)),
    # n a multiple of 20: the four jumps fall on cell edges
    "deblur1d": (lambda n: deblur1d(n, width=0.03), lambda ds, n: deblur_g(ds.obs.values, 0.03), (80, 160)),
}


@pytest.mark.parametrize("name", sorted(CONVERGENCE))
def test_converges_to_continuous_rhs_at_order_h2(name):
    make_ds, reference, (n1, n2) = CONVERGENCE[name]
    errors = []
    for n in (n1, n2):
        ds = make_ds(n)
        errors.append(rel_err(ds.b_exact.values, reference(ds, n)))
    assert errors[0] < 0.02, errors  # a faithful discretization, not just a convergent one
    ratio = errors[0] / errors[1]
    assert 3.2 < ratio < 5.0, f"error {errors} shrank by {ratio:.2f} when n doubled; expected ~4 (h^2)"


def test_deriv2_example1_galerkin_is_exact():
    """For f(t) = t the Galerkin residual K(f - Pf) has zero mean on every cell (it solves
    u'' = sawtooth with u = 0 at every cell edge, odd about each midpoint), so A @ x_true
    equals the projected g to rounding, at any n."""
    for n in (7, 32):
        ds = deriv2(n, example=1)
        assert rel_err(ds.b_exact.values, galerkin_rhs(deriv2_g(1), 0, 1, n)) < 1e-13


def test_galerkin_x_true_is_box_projection():
    """x_true of the Galerkin problems = h**-0.5 * cell integral of f, ~ sqrt(h) f(t_j)."""
    n = 32
    ds = deriv2(n, example=2)
    np.testing.assert_allclose(ds.x_true.values, galerkin_rhs(np.exp, 0, 1, n), rtol=1e-13)
    ds = phillips(n)
    phi = lambda t: np.where(np.abs(t) < 3, 1 + np.cos(np.pi * t / 3), 0.0)  # noqa: E731
    np.testing.assert_allclose(ds.x_true.values, galerkin_rhs(phi, -6, 6, n), rtol=1e-12, atol=1e-14)
    ds = baart(n)
    np.testing.assert_allclose(ds.x_true.values, galerkin_rhs(np.sin, 0, np.pi, n), rtol=1e-13)
    assert "box" in ds.x_true.attrs["basis"]


def test_deriv2_matrix_is_galerkin_of_the_green_function():
    """Each entry = (1/h) * double integral of K over its cell pair, by brute quadrature
    (the diagonal cells split along s = t where K has its kink)."""
    n = 6
    h = 1 / n
    A = deriv2(n).A.values

    def K(s, t):
        return np.where(s < t, s * (t - 1), t * (s - 1))

    x, w = gauss(0, 1, 12)
    for i in range(n):
        for j in range(n):
            if i != j:
                si, ti = h * (i + x), h * (j + x)
                val = (w * h) @ K(si[:, None], ti[None, :]) @ (w * h)
            else:  # triangle s > t, doubled by symmetry: t = a + (s - a) * x
                a = i * h
                s = a + h * x
                tt = a + (s - a)[:, None] * x[None, :]
                val = 2 * np.sum((w * h)[:, None] * (s - a)[:, None] * w[None, :] * K(s[:, None], tt))
            assert abs(A[i, j] - val / h) < 1e-15


# ---------------------------------------------------------------- structure


@pytest.mark.parametrize(
    "ds",
    [shaw(32), phillips(32), deriv2(32, example=1), deriv2(32, example=3), foxgood(32), gravity(32), deblur1d(32)],
    ids=["shaw", "phillips", "deriv2-1", "deriv2-3", "foxgood", "gravity", "deblur1d"],
)
def test_symmetric_matrices(ds):
    A = ds.A.values
    np.testing.assert_allclose(A, A.T, rtol=0, atol=1e-15 * np.abs(A).max())
    np.testing.assert_array_equal(ds.obs.values, ds.t.values)


def test_not_symmetric_when_grids_differ():
    g = gravity(32, a=-0.5, b=0.5)
    assert not np.allclose(g.A.values, g.A.values.T)
    assert g.obs.values[0] == pytest.approx(-0.5 + 1 / 64) and g.obs.values[-1] == pytest.approx(0.5 - 1 / 64)
    assert not np.allclose(baart(32).A.values, baart(32).A.values.T)


@pytest.mark.parametrize(
    "ds", [phillips(32), gravity(32), deblur1d(32), heat(32)], ids=["phillips", "gravity", "deblur1d", "heat"]
)
def test_toeplitz(ds):
    A = ds.A.values
    np.testing.assert_allclose(A[1:, 1:], A[:-1, :-1], rtol=1e-13, atol=1e-300)


def test_phillips_band_and_heat_triangle():
    n = 32
    A = phillips(n).A.values
    lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    assert np.all(A[lag > n // 4] == 0) and np.all(A[lag <= n // 4] > 0)
    H = heat(n).A.values
    assert np.all(np.triu(H, 1) == 0) and np.all(np.diag(H) > 0)


def test_coordinates():
    ds = shaw(16)
    assert ds.obs.attrs["units"] == "rad"
    np.testing.assert_allclose(ds.t.values, -np.pi / 2 + np.pi / 16 * (np.arange(16) + 0.5))
    ds = heat(10)
    np.testing.assert_allclose(ds.obs.values, np.arange(1, 11) / 10)  # b at the cell ends
    np.testing.assert_allclose(ds.t.values, (np.arange(10) + 0.5) / 10)  # x at the midpoints
    ds = baart(8)
    np.testing.assert_allclose(ds.obs.values, np.pi / 16 * (np.arange(8) + 0.5))
    np.testing.assert_allclose(ds.t.values, np.pi / 8 * (np.arange(8) + 0.5))
    ds = phillips(8)
    np.testing.assert_allclose(ds.t.values, -6 + 1.5 * (np.arange(8) + 0.5))


def singular_values(ds):
    return np.linalg.svd(ds.A.values, compute_uv=False)


@pytest.mark.parametrize(
    "ds",
    [shaw(64), baart(64), foxgood(64), gravity(64), heat(64, kappa=1.0), deblur1d(128, width=0.03)],
    ids=["shaw", "baart", "foxgood", "gravity", "heat", "deblur1d"],
)
def test_severely_ill_posed(ds):
    sv = singular_values(ds)
    assert sv[-1] / sv[0] < 1e-12


def test_deriv2_mildly_ill_posed_k_minus_2():
    """sigma_k ~ 1/(k pi)^2: the eigenvalues of the Green's function of d^2/ds^2."""
    sv = singular_values(deriv2(128))
    k = np.arange(1, 33)
    slope = np.polyfit(np.log(k), np.log(sv[:32]), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.05)
    np.testing.assert_allclose(sv[:5] * (np.pi * np.arange(1, 6)) ** 2, 1.0, rtol=2e-3)


def test_mild_and_well_conditioned():
    assert np.linalg.cond(phillips(64).A.values) < 1e7  # mildly ill-posed
    assert np.linalg.cond(heat(64, kappa=5.0).A.values) < 10  # "kappa = 5 is well-conditioned"
    widths = [0.01, 0.02, 0.04]
    ratios = [(lambda sv: sv[-1] / sv[0])(singular_values(deblur1d(64, width=w))) for w in widths]
    assert ratios[0] > ratios[1] > ratios[2]  # wider blur, more ill-posed


def test_deblur_kernel_has_unit_mass():
    """Away from the boundary a row of A sums to ~1 (a normalized blur)."""
    A = deblur1d(200, width=0.02).A.values
    np.testing.assert_allclose(A[50:150].sum(axis=1), 1.0, rtol=1e-10)


def test_solutions():
    np.testing.assert_allclose(foxgood(16).x_true.values, foxgood(16).t.values)
    x = gravity(30, example=3).x_true.values
    assert np.all(x[:10] == 2.0) and np.all(x[10:] == 1.0)
    g2 = gravity(24, example=2)
    assert g2.x_true.max() < 2.0 and g2.x_true.values[0] > 0
    h = heat(40)
    assert np.all(h.x_true.values[h.t.values >= 0.5] == 0) and h.x_true.max() > 0.74
    db = deblur1d(100)
    assert db.x_true.sel(t=0.255, method="nearest") > 0.99 and db.x_true.sel(t=0.05, method="nearest") < 1e-6


# ---------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: shaw(15), r"n must be even.*n=14 or n=16"),
        (lambda: baart(9), r"n must be even"),
        (lambda: phillips(18), r"n must be a multiple of 4.*n=16 or n=20"),
        (lambda: deriv2(9, example=3), r"n must be even.*example 3"),
        (lambda: foxgood(1), r"n must be >= 2"),
        (lambda: heat(1), r"n must be >= 2"),
        (lambda: gravity(10.0), r"n must be an integer"),
        (lambda: shaw(True), r"n must be an integer"),
        (lambda: foxgood(8, noise=-0.1), r"noise must be >= 0"),
        (lambda: foxgood(8, noise=float("nan")), r"noise must be finite"),
        (lambda: foxgood(8, seed=-1), r"seed must be None or a non-negative integer"),
        (lambda: foxgood(8, seed=1.5), r"seed must be"),
        (lambda: deriv2(8, example=4), r"example must be one of \(1, 2, 3\)"),
        (lambda: gravity(8, example=0), r"example must be one of"),
        (lambda: gravity(8, a=1.0, b=0.0), r"a must be < b"),
        (lambda: gravity(8, d=0.0), r"d must be > 0"),
        (lambda: heat(8, kappa=-1.0), r"kappa must be > 0"),
        (lambda: deblur1d(8, width=0.0), r"width must be > 0"),
        (lambda: deblur1d(8, width=float("inf")), r"width must be finite"),
        (lambda: ridge_regression(1, 5), r"n must be >= 2"),
        (lambda: ridge_regression(10, 0), r"p must be >= 1"),
        (lambda: ridge_regression(10, 5, decay=0.0), r"decay must be > 0"),
        (lambda: ridge_regression(10, 5, source=-1.0), r"source must be >= 0"),
        (lambda: ridge_regression(10, 5, noise=-1.0), r"noise must be >= 0"),
    ],
)
def test_bad_arguments(call, match):
    # the wrong kind of value is a TypeError, a bad value a ValueError (the input contract)
    with pytest.raises(TypeError if "must be an integer" in match else ValueError, match=match):
        call()


def test_problem_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        deriv2(16, 2)  # noqa
    with pytest.raises(TypeError):
        foxgood(16, 0.1)  # noqa


# ---------------------------------------------------------------- ridge_regression


def test_ridge_regression_layout():
    ds = ridge_regression(300, 40, decay=0.5, source=0.25, noise=0.2, seed=0)
    assert ds.A.dims == ("sample", "feature") and ds.A.shape == (300, 40)
    assert ds.b.dims == ds.b_exact.dims == ("sample",)
    assert ds.x_true.dims == ("feature",)
    np.testing.assert_array_equal(ds.feature.values, np.arange(1, 41))
    np.testing.assert_array_equal(ds.sample.values, np.arange(300))
    assert ds.eigenvalues.dims == ("feature",)
    assert ds.attrs["problem"] == "ridge_regression"
    assert ds.attrs["decay"] == 0.5 and ds.attrs["source"] == 0.25 and ds.attrs["alpha"] == 1.5
    np.testing.assert_allclose(ds.A.values @ ds.x_true.values, ds.b_exact.values, rtol=1e-14)
    e = ds.b.values - ds.b_exact.values
    assert np.linalg.norm(e) == pytest.approx(0.2 * np.linalg.norm(ds.b_exact.values), rel=1e-12)
    assert ds.attrs["noise_std"] == pytest.approx(np.linalg.norm(e) / np.sqrt(300), rel=1e-12)


def test_ridge_regression_power_laws_stated_in_closed_form():
    decay, r = 1.0, 0.5
    alpha = 1 + decay
    ds = ridge_regression(10, 30, decay=decay, source=r, seed=0)
    k = np.arange(1, 31)
    np.testing.assert_allclose(ds.eigenvalues.values, k**-alpha, rtol=1e-15)
    theta2 = ds.eigenvalues.values * ds.x_true.values**2
    np.testing.assert_allclose(theta2, k ** -(1 + 2 * alpha * r), rtol=1e-13)


@pytest.mark.parametrize("decay", [0.5, 1.0])
def test_ridge_regression_empirical_spectrum_follows_power_law(decay):
    """The sample covariance of many samples has the stated eigenvalues k^-(1 + decay)."""
    p = 40
    ds = ridge_regression(20000, p, decay=decay, noise=0.0, seed=1)
    X = ds.A.values
    ev = np.sort(np.linalg.eigvalsh(X.T @ X / X.shape[0]))[::-1]
    k = np.arange(1, 21)
    slope = np.polyfit(np.log(k), np.log(ev[:20]), 1)[0]
    assert slope == pytest.approx(-(1 + decay), abs=0.05)
    np.testing.assert_allclose(ev[:5], ds.eigenvalues.values[:5], rtol=0.05)


def test_ridge_regression_targets_and_seeds():
    a = ridge_regression(50, 10, noise=0.0, seed=5)
    b = ridge_regression(50, 10, noise=0.3, seed=5)
    np.testing.assert_array_equal(a.A.values, b.A.values)  # X drawn first: same X at any noise
    assert np.array_equal(a.b.values, a.b_exact.values) and a.attrs["noise_norm"] == 0.0
    c = ridge_regression(50, 10, noise=0.3, seed=6)
    assert not np.allclose(b.A.values, c.A.values)
    xr.testing.assert_identical(b, ridge_regression(50, 10, noise=0.3, seed=5))
    # signal variance = sum_k theta_k^2 (unnormalized), seen in a large sample
    big = ridge_regression(40000, 10, decay=1.0, source=1.0, noise=0.0, seed=2)
    k = np.arange(1, 11)
    assert np.mean(big.b_exact.values**2) == pytest.approx(np.sum(k**-5.0), rel=0.03)


# ---------------------------------------------------------------- docs and imports


@pytest.mark.parametrize("module", ["inverse_problems", "regression"])
def test_docstring_examples_run(module):
    mod = getattr(sd, module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_every_public_generator_has_numpydoc_and_an_example():
    real = {"sunspots", "co2", "camera"}  # loaders of real data: DataArrays, tested in test_datasets_real.py
    for name in sorted(set(sd.__all__) - real):
        doc = getattr(sd, name).__doc__
        for section in ("Parameters", "Returns", "Examples", ">>> ds = "):
            assert section in doc, (name, section)


def test_datasets_import_only_numpy_and_xarray():
    """Static check of this layer's imports: numpy, xarray and the standard library."""
    allowed = {"numpy", "xarray", "numbers", "os", "__future__"}
    # real.py reads data shipped with optional packages, imported inside its loaders only
    optional = {"real.py": {"statsmodels", "skimage"}}
    for path in Path(sd.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level else [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                assert top in allowed | optional.get(path.name, set()), f"{path.name} imports {name}"
