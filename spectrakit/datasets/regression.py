"""Synthetic linear regression with power-law spectra, for learning-curve theory.

Convention (stated once, used by the ``curves`` capability's theory overlays): the
features ``x`` are Gaussian with a diagonal population covariance (the features are
already in the covariance eigenbasis) and

* **capacity**: eigenvalues ``lambda_k = k**(-alpha)``, ``k = 1..p``, with
  ``alpha = 1 + decay`` (``decay > 0``, so ``alpha > 1`` and the trace stays bounded as
  ``p`` grows);
* **source**: the target ``w*`` has whitened coefficients
  ``theta_k = sqrt(lambda_k) * w*_k = k**(-(1 + 2 alpha r)/2)`` with ``r = source``,
  i.e. each eigendirection contributes ``theta_k**2 = lambda_k w*_k**2 = k**(-(1 + 2 alpha r))``
  to the signal variance, and ``w*_k = k**(-(1 + 2 alpha r - alpha)/2)``.

This is the capacity/source parametrization of Caponnetto and De Vito (2007) in the form
used by Cui, Loureiro, Krzakala and Zdeborova (2021) (their ``alpha`` and ``r``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._common import check_int, check_noise, check_real, check_size, make_dataset, resolve_seed

__all__ = ["ridge_regression"]

_REFERENCE = (
    'H. Cui, B. Loureiro, F. Krzakala and L. Zdeborova, "Generalization error rates in kernel '
    'regression: the crossover from the noiseless to noisy regime", NeurIPS 2021; '
    'A. Caponnetto and E. De Vito, "Optimal rates for the regularized least-squares '
    'algorithm", Found. Comput. Math. 7 (2007), 331-368'
)


def ridge_regression(
    n: int,
    p: int,
    *,
    decay: float = 1.0,
    source: float = 1.0,
    noise: float = 0.1,
    seed: int | None = None,
) -> xr.Dataset:
    """Linear regression data with power-law feature spectrum and target (capacity/source).

    Draws ``n`` samples of ``p`` Gaussian features with population covariance
    ``diag(lambda)`` and responses ``y = X w* + e``:

    .. math::
        \\lambda_k = k^{-\\alpha},\\quad \\alpha = 1 + \\mathrm{decay},\\qquad
        \\theta_k^2 = \\lambda_k (w^*_k)^2 = k^{-(1 + 2 \\alpha r)},\\quad r = \\mathrm{source},

    so ``w*_k = k**(-(1 + 2 alpha r - alpha)/2)`` (not normalized; the signal variance is
    ``sum_k theta_k**2``, between 1 and ``zeta(1 + 2 alpha r)``). ``X = Z diag(sqrt(lambda))``
    with standard normal ``Z`` drawn first from ``numpy.random.default_rng(seed)``, then the
    noise ``e`` from the same generator, so the same seed gives the same ``X`` whatever
    ``noise`` is. As for every generator here, the noise is relative:
    ``||e|| = noise * ||X w*||``, so ``noise`` is the noise-to-signal ratio and the
    per-sample noise standard deviation is about ``noise * sqrt(sum_k theta_k**2)``
    (recorded exactly as ``attrs["noise_std"] = ||e|| / sqrt(n)``).

    Parameters
    ----------
    n : int
        Number of samples, >= 2.
    p : int
        Number of features, >= 1.
    decay : float, default 1.0
        Capacity: ``alpha = 1 + decay`` is the eigenvalue decay exponent; must be > 0.
    source : float, default 1.0
        Source exponent ``r >= 0``: larger means a smoother target (more of its energy
        on the top eigendirections).
    noise : float, default 0.1
        Relative noise level ``||y - X w*|| / ||X w*||``.
    seed : int or None
        Seed for ``numpy.random.default_rng``; None draws one and records it.

    Returns
    -------
    xarray.Dataset
        ``A`` = design matrix ``X`` (sample, feature), ``b`` = ``y`` and ``b_exact`` =
        ``X w*`` (sample), ``x_true`` = ``w*`` (feature); coordinates ``sample``
        (0..n-1), ``feature`` (k = 1..p) and ``eigenvalues`` (``lambda_k``, on
        ``feature``); attrs ``decay``, ``source``, ``alpha``, ``noise_std`` and the common
        ones.

    References
    ----------
    H. Cui, B. Loureiro, F. Krzakala and L. Zdeborova, NeurIPS 2021; A. Caponnetto and
    E. De Vito, Found. Comput. Math. 7 (2007), 331-368.

    Examples
    --------
    >>> ds = ridge_regression(200, 50, decay=1.0, source=0.5, seed=0)
    >>> ds.A.shape
    (200, 50)
    >>> ds.A.dims
    ('sample', 'feature')
    >>> float(ds.eigenvalues[1])  # lambda_2 = 2**-2
    0.25
    """
    n = check_int(n, "n")
    p = check_int(p, "p", minimum=1)
    check_size(n, p, name="n and p")
    decay = check_real(decay, "decay", strict=True)
    source = check_real(source, "source")
    noise = check_noise(noise)
    seed = resolve_seed(seed)
    alpha = 1.0 + decay
    k = np.arange(1, p + 1, dtype=np.float64)
    eigenvalues = k**-alpha
    w = k ** (-(1.0 + 2.0 * alpha * source - alpha) / 2.0)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * np.sqrt(eigenvalues)
    ds = make_dataset(
        problem="ridge_regression",
        A=X,
        x_true=w,
        row=("sample", np.arange(n), {"long_name": "sample index"}),
        col=("feature", np.arange(1, p + 1), {"long_name": "feature index k (population eigenbasis)"}),
        extra_coords={
            "eigenvalues": (
                "feature",
                eigenvalues,
                {"long_name": "population covariance eigenvalue lambda_k = k**-alpha"},
            )
        },
        noise=noise,
        seed=seed,
        rng=rng,
        description=(
            f"Gaussian linear regression with power-law spectrum: lambda_k = k^-{alpha:g} "
            f"(alpha = 1 + decay), lambda_k w*_k^2 = k^-(1 + 2 alpha r), r = {source:g}."
        ),
        reference=_REFERENCE,
        x_attrs={"long_name": "target weights w*"},
        attrs={"decay": decay, "source": source, "alpha": alpha},
    )
    ds["A"].attrs["long_name"] = "design matrix X"
    ds["b"].attrs["long_name"] = "responses y = X w* + noise"
    ds["b_exact"].attrs["long_name"] = "noise-free responses X w*"
    ds.attrs["noise_std"] = ds.attrs["noise_norm"] / np.sqrt(n)
    return ds
