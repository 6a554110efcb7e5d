"""Classic linear inverse test problems (Hansen's Regularization Tools) as xarray Datasets.

Each generator discretizes a first-kind integral equation

.. math:: g(s) = \\int K(s, t)\\, f(t)\\, dt

with the rule Regularization Tools uses for it (midpoint quadrature or a Galerkin method
with orthonormal box functions), written here from the published formulas. Every
generator returns the same layout:

``A`` (dims ``("obs", "t")``: the data at Hansen's points ``s``, the solution at ``t``)
    the discretized kernel; it maps ``x_true(t)`` to ``b_exact(s)``.
``x_true`` (``t``), ``b_exact = A @ x_true`` (``s``), ``b = b_exact + e`` (``s``)
    with Gaussian ``e`` from ``numpy.random.default_rng(seed)`` scaled to
    ``||e|| = noise * ||b_exact||``.
coordinates ``s`` and ``t``
    the quadrature points (cell midpoints for Galerkin problems).
attrs
    ``problem``, ``noise``, ``seed`` (the seed actually used; one is drawn from the OS
    and recorded when ``seed=None``), ``noise_norm = ||b - b_exact||``,
    ``discretization``, ``description``, ``reference`` and the problem's parameters.

For Galerkin problems (deriv2, phillips, baart) ``x_true`` holds the coefficients of the
orthonormal box functions, ``x_j = h**-0.5 * integral of f over cell j``, which is about
``sqrt(h) * f(t_j)``, as in Regularization Tools; ``ds.x_true.attrs["basis"]`` says so.

Where Regularization Tools samples a solution at the cell ends (``heat`` and example 2 of
``gravity`` use ``f(i/n)``), it is sampled here at the quadrature nodes ``t_j`` (the cell
midpoints), so that ``A @ x_true`` converges to the continuous ``g`` at the rate of the
quadrature rule; the two differ by half a cell, O(h). ``b_exact`` is always ``A @ x_true``
(Regularization Tools computes ``b`` from ``g`` for some problems; those values differ from
``A @ x`` by the discretization error).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._common import (
    HANSEN_2007,
    check_choice,
    check_int,
    check_noise,
    check_real,
    check_size,
    make_dataset,
    resolve_seed,
)

__all__ = [
    "baart",
    "deblur1d",
    "deriv2",
    "foxgood",
    "gravity",
    "heat",
    "phillips",
    "shaw",
]

_MIDPOINT = "midpoint quadrature rule"
_GALERKIN = "Galerkin method with orthonormal box functions"
_BOX_BASIS = "orthonormal box functions: x_j = h**-0.5 * integral of f over cell j (about sqrt(h)*f(t_j))"


def _midpoints(lo: float, hi: float, n: int) -> np.ndarray:
    h = (hi - lo) / n
    return lo + h * (np.arange(1, n + 1) - 0.5)


def _coord(long_name: str, units: str | None = None) -> dict:
    attrs = {"long_name": long_name}
    if units is not None:
        attrs["units"] = units
    return attrs


def _finish(problem, A, x_true, s, t, s_attrs, t_attrs, noise, seed, **kw) -> xr.Dataset:
    return make_dataset(
        problem=problem,
        A=A,
        x_true=x_true,
        row=("obs", s, s_attrs),
        col=("t", t, t_attrs),
        noise=noise,
        seed=seed,
        **kw,
    )


def shaw(n: int, *, noise: float = 0.0, seed: int | None = None) -> xr.Dataset:
    """Shaw's 1-D image restoration problem (severely ill-posed, symmetric ``A``).

    .. math::
        K(s, t) = (\\cos s + \\cos t)^2 \\left(\\frac{\\sin u}{u}\\right)^2,\\quad
        u = \\pi(\\sin s + \\sin t),\\qquad s, t \\in [-\\pi/2, \\pi/2],

        f(t) = 2 e^{-6 (t - 0.8)^2} + e^{-2 (t + 0.5)^2}.

    ``f`` is the light intensity arriving at the incidence angle ``t``, ``g`` the intensity
    diffracted through a slit to the angle ``s``. Discretized by the midpoint rule with
    ``n`` points, ``h = pi/n``: ``A[i, j] = h K(s_i, t_j)``, ``x_true = f(t)``. There is no
    closed form for ``g``; ``b_exact = A @ x_true``.

    Parameters
    ----------
    n : int
        Number of points, even (as in Regularization Tools), >= 2.
    noise : float, default 0.0
        Relative noise level ``||b - b_exact|| / ||b_exact||``.
    seed : int or None
        Seed for ``numpy.random.default_rng``; None draws one and records it in
        ``attrs["seed"]``.

    Returns
    -------
    xarray.Dataset
        ``A`` (s, t), ``b``, ``b_exact`` (s), ``x_true`` (t); coordinates ``s``, ``t``
        in radians.

    References
    ----------
    C. B. Shaw, Jr., "Improvement of the resolution of an instrument by numerical
    solution of an integral equation", J. Math. Anal. Appl. 37 (1972), 83-112.

    Examples
    --------
    >>> ds = shaw(32)
    >>> ds.A.shape
    (32, 32)
    >>> ds.A.dims
    ('obs', 't')
    """
    n = check_int(n, "n", multiple_of=2, why=" for shaw (as in Regularization Tools)")
    check_size(n, n)
    noise = check_noise(noise)
    seed = resolve_seed(seed)
    h = np.pi / n
    t = _midpoints(-np.pi / 2, np.pi / 2, n)
    s = t.copy()
    S, T = s[:, None], t[None, :]
    # np.sinc(x) = sin(pi x)/(pi x), so sinc(sin s + sin t) = sin(u)/u with its limit 1 at u = 0.
    A = h * (np.cos(S) + np.cos(T)) ** 2 * np.sinc(np.sin(S) + np.sin(T)) ** 2
    x = 2.0 * np.exp(-6.0 * (t - 0.8) ** 2) + np.exp(-2.0 * (t + 0.5) ** 2)
    return _finish(
        "shaw", A, x, s, t,
        _coord("scattering angle", "rad"),
        _coord("incidence angle", "rad"),
        noise, seed,
        description="Shaw's 1-D image restoration: intensity of light diffracted through a slit.",
        reference=f"C. B. Shaw, Jr., J. Math. Anal. Appl. 37 (1972), 83-112; {HANSEN_2007}",
        attrs={"discretization": _MIDPOINT},
    )


def _deriv2_f_integral(t: np.ndarray, example: int) -> np.ndarray:
    """Antiderivative F(t) of f with F(0) = 0, for the cell integrals of f."""
    if example == 1:
        return t**2 / 2
    if example == 2:
        return np.exp(t) - 1.0
    # example 3: f = t (t < 1/2), 1 - t (t >= 1/2)
    return np.where(t < 0.5, t**2 / 2, 0.125 + (t - 0.5) - (t**2 - 0.25) / 2)


def deriv2(n: int, *, example: int = 1, noise: float = 0.0, seed: int | None = None) -> xr.Dataset:
    """Computation of the second derivative (mildly ill-posed, symmetric ``A``).

    The kernel is Green's function for ``g'' = f`` with ``g(0) = g(1) = 0`` on ``[0, 1]``:

    .. math::
        K(s, t) = \\begin{cases} s (t - 1), & s < t \\\\ t (s - 1), & s \\ge t \\end{cases}

    with three exact solutions:

    1. ``f(t) = t``, ``g(s) = (s**3 - s)/6``;
    2. ``f(t) = exp(t)``, ``g(s) = exp(s) + (1 - e) s - 1``;
    3. ``f(t) = t`` for ``t < 1/2`` and ``1 - t`` after; ``g(s) = (4 s**3 - 3 s)/24`` for
       ``s < 1/2`` and ``(-4 s**3 + 12 s**2 - 9 s + 1)/24`` after.

    Discretized by the Galerkin method with ``n`` orthonormal box functions on cells of
    width ``h = 1/n``: ``A[i, j] = (1/h)`` times the integral of ``K`` over cell i x cell j
    (in closed form), and ``x_true[j] = h**-0.5`` times the integral of ``f`` over cell j.
    The singular values decay like ``1/(k pi)**2``.

    Parameters
    ----------
    n : int
        Number of cells, >= 2 (even for ``example=3``, as in Regularization Tools).
    example : {1, 2, 3}, default 1
        Which exact solution.
    noise : float, default 0.0
        Relative noise level ``||b - b_exact|| / ||b_exact||``.
    seed : int or None
        Seed for ``numpy.random.default_rng``; None draws one and records it.

    Returns
    -------
    xarray.Dataset
        ``A`` (s, t) and the vectors; coordinates are the cell midpoints.

    References
    ----------
    L. M. Delves and J. L. Mohamed, "Computational Methods for Integral Equations",
    Cambridge University Press, 1985, p. 310 (examples 1, 2); A. K. Louis and P. Maass,
    "A mollifier method for linear operator equations of the first kind", Inverse
    Problems 6 (1990), 427-440 (example 3).

    Examples
    --------
    >>> ds = deriv2(32, example=2)
    >>> ds.A.shape
    (32, 32)
    >>> ds.attrs["example"]
    2
    """
    example = check_choice(example, "example", (1, 2, 3))
    n = check_int(
        n, "n", multiple_of=2 if example == 3 else 1,
        why=" for deriv2 example 3 (the kink of f at t = 1/2 must fall on a cell edge)",
    )
    check_size(n, n)
    noise = check_noise(noise)
    seed = resolve_seed(seed)
    h = 1.0 / n
    edges = h * np.arange(n + 1)
    mid = _midpoints(0.0, 1.0, n)
    # Off the diagonal K is separable in each cell pair: for s > t, K = t (s - 1), so
    # (1/h) * (h t_j) * (h (s_i - 1)) = h t_j (s_i - 1) with the cell midpoints.
    S, T = mid[:, None], mid[None, :]
    A = h * np.minimum(S, T) * (np.maximum(S, T) - 1.0)
    # Diagonal cell [a, a+h]: both triangles give the same, (1/h) int_a^{a+h} (s-1)(s^2-a^2) ds.
    a = edges[:-1]
    np.fill_diagonal(A, (a - 1.0) * (a * h + h**2 / 3) + 2 * a * h**2 / 3 + h**3 / 4)
    F = _deriv2_f_integral(edges, example)
    x = np.diff(F) / np.sqrt(h)
    return _finish(
        "deriv2", A, x, mid, mid.copy(),
        _coord("s (cell midpoint)"),
        _coord("t (cell midpoint)"),
        noise, seed,
        description=(
            "Second derivative: first-kind Fredholm equation whose kernel is Green's "
            f"function for d^2/ds^2 on [0, 1] (example {example}); mildly ill-posed."
        ),
        reference=(
            "L. M. Delves and J. L. Mohamed, Computational Methods for Integral Equations, "
            "Cambridge Univ. Press (1985), p. 310; A. K. Louis and P. Maass, Inverse Problems 6 "
            f"(1990), 427-440; {HANSEN_2007}"
        ),
        x_attrs={"basis": _BOX_BASIS},
        attrs={"discretization": _GALERKIN, "example": example},
    )


def phillips(n: int, *, noise: float = 0.0, seed: int | None = None) -> xr.Dataset:
    """Phillips' test problem (mildly ill-posed, symmetric Toeplitz ``A``).

    With :math:`\\phi(x) = 1 + \\cos(\\pi x / 3)` for :math:`|x| < 3` and 0 otherwise,

    .. math::
        K(s, t) = \\phi(s - t),\\quad f(t) = \\phi(t),\\quad
        g(s) = (6 - |s|)\\left(1 + \\tfrac12 \\cos\\tfrac{\\pi s}{3}\\right)
               + \\tfrac{9}{2\\pi} \\sin\\tfrac{\\pi |s|}{3},\\qquad s, t \\in [-6, 6].

    Discretized by the Galerkin method with ``n`` orthonormal box functions,
    ``h = 12/n``: ``A[i, j] = (1/h)`` times the integral of ``phi(s - t)`` over
    cell i x cell j, in closed form (it depends on ``i - j`` only), and
    ``x_true[j] = h**-0.5`` times the integral of ``f`` over cell j.

    Parameters
    ----------
    n : int
        Number of cells, a multiple of 4 (so the support of ``phi`` ends on cell edges,
        as in Regularization Tools).
    noise : float, default 0.0
        Relative noise level ``||b - b_exact|| / ||b_exact||``.
    seed : int or None
        Seed for ``numpy.random.default_rng``; None draws one and records it.

    Returns
    -------
    xarray.Dataset
        ``A`` (s, t) and the vectors; coordinates are the cell midpoints in [-6, 6].

    References
    ----------
    D. L. Phillips, "A technique for the numerical solution of certain integral
    equations of the first kind", J. ACM 9 (1962), 84-97.

    Examples
    --------
    >>> ds = phillips(32)
    >>> ds.b.shape
    (32,)
    """
    n = check_int(n, "n", minimum=4, multiple_of=4, why=" for phillips (as in Regularization Tools)")
    check_size(n, n)
    noise = check_noise(noise)
    seed = resolve_seed(seed)
    h = 12.0 / n
    c = np.pi * h / 3
    lag = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    # With F'' = phi (F(x) = x^2/2 + 9/pi^2 (1 - cos(pi x/3)) for |x| <= 3, linear beyond),
    # A = (F((m+1)h) - 2F(mh) + F((m-1)h))/h for lag m; the cosine second difference is
    # written as 4 cos(mc) sin^2(c/2) to avoid cancellation for large n.
    sin2 = np.sin(c / 2) ** 2
    A = np.where(lag < n // 4, h + 36.0 / (h * np.pi**2) * np.cos(lag * c) * sin2, 0.0)
    A = np.where(lag == n // 4, h / 2 - 18.0 / (h * np.pi**2) * sin2, A)
    edges = -6.0 + h * np.arange(n + 1)
    tau = np.clip(edges, -3.0, 3.0)
    x = np.diff(tau + 3.0 / np.pi * np.sin(np.pi * tau / 3)) / np.sqrt(h)
    mid = _midpoints(-6.0, 6.0, n)
    return _finish(
        "phillips", A, x, mid, mid.copy(),
        _coord("s (cell midpoint)"),
        _coord("t (cell midpoint)"),
        noise, seed,
        description="Phillips' problem: convolution with a raised cosine on [-6, 6]; mildly ill-posed.",
        reference=f"D. L. Phillips, J. ACM 9 (1962), 84-97; {HANSEN_2007}",
        x_attrs={"basis": _BOX_BASIS},
        attrs={"discretization": _GALERKIN},
    )


def _exp_cell_integral(lo: np.ndarray, width: float, c: np.ndarray) -> np.ndarray:
    """Integral of exp(s c) over [lo, lo + width], stable as c -> 0 (c = cos t vanishes)."""
    z = width * c
    safe = np.where(z == 0.0, 1.0, z)
    exprel = np.where(z == 0.0, 1.0, np.expm1(safe) / safe)
    return np.exp(lo * c) * width * exprel


def baart(n: int, *, noise: float = 0.0, seed: int | None = None) -> xr.Dataset:
    """Baart's test problem (severely ill-posed).

    .. math::
        K(s, t) = e^{s \\cos t},\\quad f(t) = \\sin t,\\quad g(s) = 2 \\frac{\\sinh s}{s},
        \\qquad s \\in [0, \\pi/2],\\ t \\in [0, \\pi].

    Discretized by the Galerkin method with ``n`` orthonormal box functions in each
    variable (``h_s = pi/(2n)``, ``h_t = pi/n``), as in Regularization Tools: the ``s``
    integrals exactly and the ``t`` integrals by Simpson's rule on each cell;
    ``x_true[j] = h_t**-0.5`` times the integral of ``sin`` over cell j.

    Parameters
    ----------
    n : int
        Number of cells, even (as in Regularization Tools), >= 2.
    noise : float, default 0.0
        Relative noise level ``||b - b_exact|| / ||b_exact||``.
    seed : int or None
        Seed for ``numpy.random.default_rng``; None draws one and records it.

    Returns
    -------
    xarray.Dataset
        ``A`` (s, t) and the vectors; ``s`` and ``t`` are the cell midpoints of their
        (different) intervals.

    References
    ----------
    M. L. Baart, "The use of auto-correlation for pseudo-rank determination in noisy
    ill-conditioned linear least-squares problems", IMA J. Numer. Anal. 2 (1982), 241-247.

    Examples
    --------
    >>> ds = baart(32)
    >>> ds.A.shape
    (32, 32)
    >>> float(ds.obs.max()) < float(ds.t.max())
    True
    """
    n = check_int(n, "n", multiple_of=2, why=" for baart (as in Regularization Tools)")
    check_size(n, n)
    noise = check_noise(noise)
    seed = resolve_seed(seed)
    hs, ht = np.pi / (2 * n), np.pi / n
    s_lo = hs * np.arange(n)[:, None]
    t_edges = ht * np.arange(n + 1)
    t_mid = _midpoints(0.0, np.pi, n)
    E_edges = _exp_cell_integral(s_lo, hs, np.cos(t_edges)[None, :])
    E_mid = _exp_cell_integral(s_lo, hs, np.cos(t_mid)[None, :])
    # Simpson on each t cell, divided by sqrt(hs * ht): (ht/6)/sqrt(hs ht) = sqrt(2)/6.
    A = np.sqrt(2.0) / 6.0 * (E_edges[:, :-1] + 4.0 * E_mid + E_edges[:, 1:])
    x = -np.diff(np.cos(t_edges)) / np.sqrt(ht)
    return _finish(
        "baart", A, x, _midpoints(0.0, np.pi / 2, n), t_mid,
        _coord("s (cell midpoint in [0, pi/2])"),
        _coord("t (cell midpoint in [0, pi])"),
        noise, seed,
        description="Baart's problem: kernel exp(s cos t), solution sin t; severely ill-posed.",
        reference=f"M. L. Baart, IMA J. Numer. Anal. 2 (1982), 241-247; {HANSEN_2007}",
        x_attrs={"basis": "orthonormal box functions: x_j = h_t**-0.5 * integral of sin over cell j"},
        attrs={"discretization": _GALERKIN + " (Simpson's rule in t)"},
    )


def foxgood(n: int, *, noise: float = 0.0, seed: int | None = None) -> xr.Dataset:
    """Fox and Goodwin's test problem (severely ill-posed, symmetric ``A``).

    .. math::
        K(s, t) = \\sqrt{s^2 + t^2},\\quad f(t) = t,\\quad
        g(s) = \\tfrac13\\left((1 + s^2)^{3/2} - s^3\\right),\\qquad s, t \\in [0, 1].

    Discretized by the midpoint rule with ``n`` points: ``A[i, j] = h K(t_i, t_j)``,
    ``x_true = t``.

    Parameters
    ----------
    n : int
        Number of points, >= 2.
    noise : float, default 0.0
        Relative noise level ``||b - b_exact|| / ||b_exact||``.
    seed : int or None
        Seed for ``numpy.random.default_rng``; None draws one and records it.

    Returns
    -------
    xarray.Dataset
        ``A`` (s, t) and the vectors on the midpoint grid of [0, 1].

    References
    ----------
    L. Fox and E. T. Goodwin, "The numerical solution of non-singular linear integral
    equations", Phil. Trans. Roy. Soc. London A 245 (1953), 501-534.

    Examples
    --------
    >>> ds = foxgood(16, noise=0.01, seed=0)
    >>> ds.x_true.shape
    (16,)
    >>> round(ds.attrs["noise_norm"] / float((ds.b_exact**2).sum() ** 0.5), 12)
    0.01
    """
    n = check_int(n, "n")
    check_size(n, n)
    noise = check_noise(noise)
    seed = resolve_seed(seed)
    h = 1.0 / n
    t = _midpoints(0.0, 1.0, n)
    A = h * np.sqrt(t[:, None] ** 2 + t[None, :] ** 2)
    return _finish(
        "foxgood", A, t.copy(), t.copy(), t,
        _coord("s"),
        _coord("t"),
        noise, seed,
        description="Fox-Goodwin problem: kernel sqrt(s^2 + t^2), solution t; severely ill-posed.",
        reference=f"L. Fox and E. T. Goodwin, Phil. Trans. Roy. Soc. London A 245 (1953), 501-534; {HANSEN_2007}",
        attrs={"discretization": _MIDPOINT},
    )


def _heat_solution(t: np.ndarray) -> np.ndarray:
    """Regularization Tools' exact solution for heat, as a function of t in [0, 1]."""
    tau = 20.0 * t
    f = np.where(
        tau < 2, 0.75 * tau**2 / 4,
        np.where(tau < 3, 0.75 + (tau - 2) * (3 - tau), 0.75 * np.exp(-2.0 * (tau - 3))),
    )
    return np.where(t < 0.5, f, 0.0)


def heat(n: int, *, kappa: float = 1.0, noise: float = 0.0, seed: int | None = None) -> xr.Dataset:
    """Inverse heat equation: a first-kind Volterra equation (lower triangular ``A``).

    .. math::
        g(s) = \\int_0^s k(s - t) f(t)\\, dt,\\qquad
        k(u) = \\frac{u^{-3/2}}{2\\kappa\\sqrt\\pi} \\exp\\left(-\\frac{1}{4\\kappa^2 u}\\right),
        \\qquad s, t \\in [0, 1].

    Recover the surface temperature ``f(t)`` from the temperature ``g(s)`` measured
    inside the body. ``kappa`` controls the ill-conditioning: ``kappa = 1`` gives an
    ill-conditioned problem, ``kappa = 5`` a well-conditioned one. Discretized by the
    midpoint rule, ``h = 1/n``: ``b`` at ``s_i = i h``, ``x`` at ``t_j = (j - 1/2) h``,
    ``A[i, j] = h k((i - j + 1/2) h)`` for ``j <= i`` and 0 above the diagonal.
    The exact solution (Regularization Tools') is, with ``tau = 20 t``,
    ``0.75 tau**2/4`` for ``tau < 2``, ``0.75 + (tau - 2)(3 - tau)`` for ``2 <= tau < 3``,
    ``0.75 exp(-2 (tau - 3))`` for ``tau >= 3``, and 0 for ``t >= 1/2``; it is sampled at
    ``t_j`` here (Regularization Tools samples it at ``j h``).

    Parameters
    ----------
    n : int
        Number of points, >= 2.
    kappa : float, default 1.0
        Positive conditioning parameter (larger is better conditioned).
    noise : float, default 0.0
        Relative noise level ``||b - b_exact|| / ||b_exact||``.
    seed : int or None
        Seed for ``numpy.random.default_rng``; None draws one and records it.

    Returns
    -------
    xarray.Dataset
        ``A`` (s, t) and the vectors; ``s`` are the cell ends, ``t`` the cell midpoints.

    References
    ----------
    A. S. Carasso, "Determining surface temperatures from interior observations",
    SIAM J. Appl. Math. 42 (1982), 558-574.

    Examples
    --------
    >>> ds = heat(40, kappa=5.0)
    >>> ds.A.shape
    (40, 40)
    >>> bool((ds.A.values[0, 1:] == 0).all())
    True
    """
    n = check_int(n, "n")
    check_size(n, n)
    kappa = check_real(kappa, "kappa", strict=True)
    noise = check_noise(noise)
    seed = resolve_seed(seed)
    h = 1.0 / n
    u = h * (np.arange(n) + 0.5)  # k at lags (i - j + 1/2) h, i - j = 0 .. n-1
    k = h / (2 * kappa * np.sqrt(np.pi)) * u**-1.5 * np.exp(-1.0 / (4 * kappa**2 * u))
    lag = np.arange(n)[:, None] - np.arange(n)[None, :]
    A = np.where(lag >= 0, k[np.clip(lag, 0, None)], 0.0)
    t = _midpoints(0.0, 1.0, n)
    s = h * np.arange(1, n + 1)
    return _finish(
        "heat", A, _heat_solution(t), s, t,
        _coord("time of the interior measurement"),
        _coord("time (surface temperature)"),
        noise, seed,
        description=(
            "Inverse heat equation: Volterra equation of the first kind; "
            f"kappa = {kappa:g} (1: ill-conditioned, 5: well-conditioned)."
        ),
        reference=f"A. S. Carasso, SIAM J. Appl. Math. 42 (1982), 558-574; {HANSEN_2007}",
        attrs={"discretization": _MIDPOINT, "kappa": kappa},
    )


def _gravity_solution(t: np.ndarray, example: int) -> np.ndarray:
    if example == 1:
        return np.sin(np.pi * t) + 0.5 * np.sin(2 * np.pi * t)
    if example == 2:  # piecewise linear through (0, 0), (1/3, 2), (7/8, 1), (1, 0)
        return np.interp(t, [0.0, 1 / 3, 7 / 8, 1.0], [0.0, 2.0, 1.0, 0.0])
    return np.where(t < 1 / 3, 2.0, 1.0)  # piecewise constant


def gravity(
    n: int,
    *,
    example: int = 1,
    a: float = 0.0,
    b: float = 1.0,
    d: float = 0.25,
    noise: float = 0.0,
    seed: int | None = None,
) -> xr.Dataset:
    """1-D gravity surveying (severely ill-posed; symmetric Toeplitz ``A`` for ``[a, b] = [0, 1]``).

    A mass distribution ``f(t)``, ``t`` in ``[0, 1]``, lies at depth ``d``; the vertical
    component of its gravity field ``g(s)`` is measured on the surface, ``s`` in ``[a, b]``:

    .. math:: K(s, t) = d \\left(d^2 + (s - t)^2\\right)^{-3/2}.

    Exact solutions: 1. ``sin(pi t) + 0.5 sin(2 pi t)``; 2. piecewise linear through
    ``(0, 0), (1/3, 2), (7/8, 1), (1, 0)``; 3. piecewise constant, 2 for ``t < 1/3`` and 1
    after. Midpoint rule with ``n`` points in each variable:
    ``A[i, j] = (1/n) K(s_i, t_j)``, ``x_true = f(t_j)``. (Regularization Tools places the
    nodes of example 2 at the grid indices ``round(n/3)``, ``round(7n/8)`` and samples at
    ``i/n``; the continuous function sampled at the nodes ``t_j`` is used here.) The larger
    ``d``, the faster the singular values decay.

    Parameters
    ----------
    n : int
        Number of points, >= 2.
    example : {1, 2, 3}, default 1
        Which exact solution.
    a, b : float, default 0.0 and 1.0
        The measurement interval for ``s``, ``a < b``.
    d : float, default 0.25
        Positive depth of the mass layer.
    noise : float, default 0.0
        Relative noise level ``||b - b_exact|| / ||b_exact||``.
    seed : int or None
        Seed for ``numpy.random.default_rng``; None draws one and records it.

    Returns
    -------
    xarray.Dataset
        ``A`` (s, t) and the vectors; attrs record ``example``, ``s_interval = [a, b]`` and
        ``depth = d``.

    References
    ----------
    G. M. Wing and J. D. Zahrt, "A Primer on Integral Equations of the First Kind",
    SIAM, Philadelphia, 1991, p. 17.

    Examples
    --------
    >>> ds = gravity(48, example=3)
    >>> ds.A.shape
    (48, 48)
    >>> sorted(set(ds.x_true.values.tolist()))
    [1.0, 2.0]
    """
    n = check_int(n, "n")
    check_size(n, n)
    example = check_choice(example, "example", (1, 2, 3))
    a = check_real(a, "a", minimum=None)
    b = check_real(b, "b", minimum=None)
    if not a < b:
        raise ValueError(f"a must be < b (the measurement interval [a, b]); got a={a!r}, b={b!r}.")
    d = check_real(d, "d", strict=True)
    noise = check_noise(noise)
    seed = resolve_seed(seed)
    t = _midpoints(0.0, 1.0, n)
    s = _midpoints(a, b, n)
    A = (1.0 / n) * d / (d**2 + (s[:, None] - t[None, :]) ** 2) ** 1.5
    return _finish(
        "gravity", A, _gravity_solution(t, example), s, t,
        _coord("position on the surface (measurement)"),
        _coord(f"position along the mass layer at depth {d:g}"),
        noise, seed,
        description=(
            "1-D gravity surveying: vertical gravity field on the surface of a mass "
            f"distribution at depth d = {d:g} (example {example}); severely ill-posed."
        ),
        reference=(
            "G. M. Wing and J. D. Zahrt, A Primer on Integral Equations of the First Kind, "
            f"SIAM (1991), p. 17; {HANSEN_2007}"
        ),
        attrs={"discretization": _MIDPOINT, "example": example, "s_interval": [a, b], "depth": d},
    )


def _deblur_solution(t: np.ndarray) -> np.ndarray:
    """Piecewise smooth signal: two boxes (four jumps) and a Gaussian bump."""
    box1 = ((t >= 0.15) & (t < 0.35)).astype(float)
    box2 = 0.5 * ((t >= 0.75) & (t < 0.9)).astype(float)
    bump = 0.8 * np.exp(-((t - 0.55) ** 2) / (2 * 0.04**2))
    return box1 + box2 + bump


def deblur1d(n: int, *, width: float = 0.03, noise: float = 0.0, seed: int | None = None) -> xr.Dataset:
    """1-D Gaussian deblurring on ``[0, 1]`` (symmetric Toeplitz ``A``).

    .. math::
        g(s) = \\int_0^1 k(s - t) f(t)\\, dt,\\qquad
        k(u) = \\frac{1}{\\sqrt{2\\pi}\\, w} e^{-u^2 / (2 w^2)},

    with ``w = width`` (the standard deviation of the point-spread function, in units
    of the interval) and zero boundary conditions (``f = 0`` outside ``[0, 1]``). Midpoint
    rule with ``n`` points: ``A[i, j] = h k(t_i - t_j)``. ``x_true`` is piecewise smooth:
    a box of height 1 on ``[0.15, 0.35)``, a box of height 0.5 on ``[0.75, 0.9)`` and a
    Gaussian bump ``0.8 exp(-(t - 0.55)**2 / (2 * 0.04**2))``. The singular values decay
    roughly like ``exp(-(pi k w)**2 / 2)``: the wider the blur, the more ill-posed.
    ``g`` has a closed form (error functions and a Gaussian); ``A @ x_true`` approaches it
    like ``h**2`` when ``n`` is a multiple of 20 (the jumps then fall on pixel edges) and
    like ``h`` otherwise.

    Parameters
    ----------
    n : int
        Number of pixels, >= 2.
    width : float, default 0.03
        Positive standard deviation of the Gaussian blur.
    noise : float, default 0.0
        Relative noise level ``||b - b_exact|| / ||b_exact||``.
    seed : int or None
        Seed for ``numpy.random.default_rng``; None draws one and records it.

    Returns
    -------
    xarray.Dataset
        ``A`` (s, t) and the vectors on the pixel centres of [0, 1].

    References
    ----------
    P. C. Hansen, J. G. Nagy and D. P. O'Leary, "Deblurring Images: Matrices, Spectra,
    and Filtering", SIAM, Philadelphia, 2006.

    Examples
    --------
    >>> ds = deblur1d(128, width=0.02, noise=0.01, seed=1)
    >>> ds.A.shape
    (128, 128)
    >>> ds.attrs["width"]
    0.02
    """
    n = check_int(n, "n")
    check_size(n, n)
    width = check_real(width, "width", strict=True)
    noise = check_noise(noise)
    seed = resolve_seed(seed)
    h = 1.0 / n
    t = _midpoints(0.0, 1.0, n)
    u = t[:, None] - t[None, :]
    A = h / (np.sqrt(2 * np.pi) * width) * np.exp(-(u**2) / (2 * width**2))
    return _finish(
        "deblur1d", A, _deblur_solution(t), t.copy(), t,
        _coord("position (blurred signal)"),
        _coord("position (sharp signal)"),
        noise, seed,
        description=f"1-D Gaussian deblurring on [0, 1], blur standard deviation {width:g}.",
        reference=(
            "P. C. Hansen, J. G. Nagy and D. P. O'Leary, Deblurring Images: Matrices, "
            "Spectra, and Filtering, SIAM (2006)"
        ),
        attrs={"discretization": _MIDPOINT, "width": width},
    )
