"""Independent references and assert helpers shared by tests and notebooks.

Nothing here uses spectrakit's spectral machinery except :func:`refit_loo`, which calls
:func:`spectrakit.regularize` on each leave-one-out problem: a brute-force refit that
the influence-matrix shortcut is checked against.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stacked_lstsq_solution", "refit_loo", "influence_matrix", "assert_rel_close"]


def stacked_lstsq_solution(A, b, reg, L=None):
    """Tikhonov by a stacked least-squares solve ``[A; sqrt(reg) L] x ~ [b; 0]`` (numpy).

    Stable where the normal equations are not (ill-conditioned A), so it is the reference
    for path solutions.
    """
    A = np.asarray(A, dtype=float)
    n = A.shape[1]
    L = np.eye(n) if L is None else np.asarray(L, dtype=float)
    M = np.vstack([A, np.sqrt(reg) * L])
    rhs = np.concatenate([np.asarray(b, dtype=float), np.zeros(L.shape[0])])
    return np.linalg.lstsq(M, rhs, rcond=None)[0]


def influence_matrix(A, reg, L=None):
    """``H = A (A^T A + reg L^T L)^{-1} A^T`` formed explicitly (for small problems)."""
    A = np.asarray(A, dtype=float)
    n = A.shape[1]
    L = np.eye(n) if L is None else np.asarray(L, dtype=float)
    return A @ np.linalg.solve(A.T @ A + reg * L.T @ L, A.T)


def refit_loo(A, b, reg, *, method="tikhonov", L=None, **method_options):
    """Mean squared leave-one-out error by refitting without each row (m decompositions).

    ``method_options`` go to :func:`spectrakit.regularize`; Landweber's ``omega`` should
    be fixed so that every refit uses the same step.
    """
    from spectrakit import regularize

    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    m = A.shape[0]
    errors = np.empty((m, np.size(reg)))
    for i in range(m):
        keep = np.arange(m) != i
        path = regularize(A[keep], b[keep], reg=np.atleast_1d(reg), method=method, L=L, device="cpu", **method_options)
        errors[i] = b[i] - path["x"].values @ A[i]
    return (errors**2).mean(axis=0)


def assert_rel_close(actual, desired, rtol, *, what=""):
    """Assert ``||actual - desired|| <= rtol ||desired||`` (norm-wise relative error)."""
    actual, desired = np.asarray(actual, dtype=float), np.asarray(desired, dtype=float)
    err = np.linalg.norm(actual - desired) / max(np.linalg.norm(desired), np.finfo(float).tiny)
    assert err <= rtol, f"{what} relative error {err:.3g} > {rtol:.3g}"
