"""Regularization as spectral filtering, on unlabelled tensors.

Decompose once, then every regularization strength costs a few vector operations. The
filters and the criteria are the spine's (:mod:`spectrakit.core.spectral`, read it first);
this module supplies the matrix bases:

* :func:`svd_basis`, :func:`general_form_basis` and :func:`kernel_basis` build a
  :class:`SpectralBasis` (the expensive step, done once; a :class:`~spectrakit.core.spectral.Basis`);
* :func:`~spectrakit.core.spectral.filter_factors` evaluates a filter ``h(s, reg)`` with ``s = sigma**2`` on a
  whole grid of ``reg`` values;
* :func:`filtered_solution` reassembles the solution for the given factors (what a
  slider move costs);
* :func:`filter_path` composes them for a grid of ``reg`` (every path here is one call);
* :func:`path_criteria` scores the whole grid at once: residual and solution norms,
  GCV, leave-one-out, L-curve curvature, error and discrepancy.

Everything stays on the device and in the dtype of the tensors passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch

from .checks import check_memory, itemsize
from .spectral import filter_factors, leave_one_out, residual_and_solution_norms, safe_inverse, spectral_criteria

__all__ = [
    "SpectralBasis",
    "svd_basis",
    "general_form_basis",
    "kernel_basis",
    "difference_operator",
    "filtered_solution",
    "filter_path",
    "path_criteria",
    "landweber_steps",
    "check_svd_memory",
]



@dataclass(frozen=True)
class SpectralBasis:
    """A decomposition in standard form, computed once and reused for every ``reg``.

    The regularized solution for filter factors ``f`` is
    ``x = x0 + V @ (f * beta * scale)`` with ``beta = U.T @ b`` and
    ``x0 = X0 @ (Q0.T @ b)`` (the unpenalized part: the null space of the penalty).

    Attributes
    ----------
    U : (m, k) orthonormal left vectors.
    s : (k,) the filter's argument, descending: sigma**2 (SVD, GSVD) or the kernel
        eigenvalue.
    V : (n, k) maps mode coefficients to the solution.
    scale : (k,) 1/sigma for the SVD and GSVD, 1/eigenvalue for a kernel (dual
        coefficients); 0 where s == 0.
    Q0, X0 : (m, q), (n, q) the unpenalized part (q = 0 without a penalty).
    kind : "svd", "gsvd" or "kernel".
    """

    U: torch.Tensor
    s: torch.Tensor
    V: torch.Tensor
    scale: torch.Tensor
    Q0: torch.Tensor
    X0: torch.Tensor
    kind: str

    #: one mode per entry of ``s`` (the :class:`~spectrakit.core.spectral.Basis` protocol)
    counts = None

    @property
    def sigma(self) -> torch.Tensor:
        """Singular values (square roots of ``s``)."""
        return self.s.sqrt()

    @property
    def shape(self) -> tuple[int, int]:
        """(m, n) of the operator."""
        return self.U.shape[0], self.V.shape[0]

    def coefficients(self, b: torch.Tensor) -> torch.Tensor:
        """``beta = U.T b`` for ``b`` of shape (..., m).

        In general form b's unpenalized part ``Q0 Q0^T b`` is removed first (regtools'
        ``b - A x0``): U is orthogonal to Q0 only to ``eps / sigma`` for tiny sigma, and the
        often large unpenalized part would otherwise leak into those modes.
        """
        if self.Q0.shape[1]:
            b = b - (b @ self.Q0) @ self.Q0.T
        return b @ self.U

    def reassemble(self, f: torch.Tensor, beta: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        """The solutions ``x0 + V (f beta scale)`` (B, R, n) for factors ``f`` (R, k) and
        coefficients ``beta`` (B, k); ``x0`` (the unpenalized part) needs the data ``b``."""
        return filtered_solution(self, beta, f, None if b is None else self.unpenalized(b))

    def unpenalized(self, b: torch.Tensor) -> torch.Tensor:
        """``x0``, the part of the solution the penalty does not touch, shape (..., n)."""
        return (b @ self.Q0) @ self.X0.T

    def outside(self, b: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """``b - Q0 Q0^T b - U beta``: the residual no filter can remove, (..., m)."""
        return b - (b @ self.Q0) @ self.Q0.T - beta @ self.U.T

    def outside_norm_sq(self, b: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """``||outside(b)||^2``."""
        rest = self.outside(b, beta)
        return (rest * rest).sum(-1)

    @cached_property
    def leverage_parts(self) -> torch.Tensor:
        """``U**2`` (m, k): the influence matrix's diagonal is ``U**2 @ f + diag(Q0 Q0^T)``."""
        return self.U * self.U

    @cached_property
    def unpenalized_leverage(self) -> torch.Tensor:
        """``diag(Q0 Q0^T)`` (m,): the unpenalized part is always fitted fully."""
        return (self.Q0 * self.Q0).sum(-1)


def _empty(m: int, like: torch.Tensor) -> torch.Tensor:
    return like.new_zeros((m, 0))


def check_svd_memory(m: int, n: int, dtype, device, name: str) -> None:
    k = min(m, n)
    # a copy of A, U, V and LAPACK's workspace (about another copy)
    nbytes = itemsize(dtype) * (2 * m * n + (m + n) * k + k)
    check_memory(
        nbytes,
        device,
        name=name,
        what=f"the SVD of a {m} x {n} matrix in {dtype}",
        alternative=(
            "Use dtype=torch.float32 (half the memory), a device with more memory, fewer "
            "rows or columns, or, when one side is small, the kernel form on A @ A.T."
        ),
    )


def svd_basis(A: torch.Tensor) -> SpectralBasis:
    """Thin SVD of ``A`` (m, n): ``s = sigma**2``, ``U``, ``V`` and ``scale = 1/sigma``.

    Examples
    --------
    >>> import torch
    >>> basis = svd_basis(torch.eye(3, dtype=torch.float64))
    >>> basis.s.tolist()
    [1.0, 1.0, 1.0]
    """
    m, n = A.shape
    check_svd_memory(m, n, A.dtype, A.device, "A")
    U, sigma, Vh = torch.linalg.svd(A, full_matrices=False)
    return SpectralBasis(
        U=U, s=sigma * sigma, V=Vh.mT, scale=safe_inverse(sigma),
        Q0=_empty(m, A), X0=_empty(n, A), kind="svd",
    )


def _symmetric_eigh(K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.linalg.eigh`` of ``(K + K^T) / 2``, eigenvalues ascending.

    On the CPU in float64 from n = 500 on (without autograd), LAPACK's
    divide-and-conquer ``dsyevd`` through scipy, in place on the symmetrized copy: 1.3-2x
    faster there than ``torch.linalg.eigh`` at n = 700 to 2000 on 2 cores (no faster
    below 500), the same eigenvalues to rounding, the eigenvectors in the same
    column-major layout (their signs may differ). Non-finite values, or no convergence:
    torch's, as on other devices and dtypes.
    """
    S = 0.5 * (K + K.mT)
    if S.device.type == "cpu" and S.dtype == torch.float64 and S.shape[0] >= 500 and not S.requires_grad:
        import scipy.linalg

        try:  # S is symmetric: S.T is the same matrix, column-major, so LAPACK needs no copy
            lam, Q = scipy.linalg.eigh(S.numpy().T, driver="evd", overwrite_a=True, check_finite=True)
        except (ValueError, scipy.linalg.LinAlgError):
            S = 0.5 * (K + K.mT)  # LAPACK may have written into S
        else:
            return torch.from_numpy(lam), torch.from_numpy(Q)
    return torch.linalg.eigh(S)


#: how far below zero a kernel's smallest eigenvalue may lie, in units of the dtype's eps
#: times n times the largest eigenvalue (the round-off of a symmetric eigendecomposition)
KERNEL_PSD_TOL = 1e3
#: how asymmetric a kernel may be, relative to max |K|, in units of the dtype's eps (at
#: least 1e-12: float64 round-off of a kernel computed entry by entry)
KERNEL_SYMMETRY_TOL = 100


def kernel_basis(K: torch.Tensor, *, symmetrize: str | None = None) -> SpectralBasis:
    """Eigendecomposition of a symmetric positive semi-definite kernel matrix ``K``.

    ``K`` must be symmetric to ``max |K - K^T| <= max(1e-12, 100 eps) max |K|``
    (:data:`KERNEL_SYMMETRY_TOL`, ``eps`` of K's dtype):
    an asymmetric matrix is refused, since symmetrizing it would solve another problem;
    ``symmetrize="mean"`` asks for ``(K + K^T) / 2`` explicitly (the graph API's
    ``symmetrize`` values: "mean" is the one that keeps a kernel's scale). Its eigenvalues
    must be ``>= -1000 eps n lambda_max`` (:data:`KERNEL_PSD_TOL`; eigendecomposition
    round-off): a kernel that is not positive semi-definite is refused, naming the
    smallest eigenvalue.

    ``s`` is the eigenvalue, clipped below at ``eps**2 * s_max`` (zero and negative
    eigenvalues are round-off; keeping them positive gives the right limit
    ``h(s, reg)/s -> h'(0)`` for the dual coefficients, e.g. ``1/reg`` for Tikhonov), and the
    solution is the vector of dual coefficients ``alpha`` with fitted values ``K alpha``;
    for Tikhonov this is kernel ridge regression, ``alpha = (K + reg I)^{-1} y``.
    """
    n = K.shape[0]
    if K.ndim != 2 or K.shape[1] != n:
        raise ValueError(f"K must be a square matrix; got shape {tuple(K.shape)}.")
    if symmetrize not in (None, "mean"):
        raise ValueError(f"symmetrize={symmetrize!r} is unknown; choose None (refuse an asymmetric K) or 'mean'.")
    check_svd_memory(n, n, K.dtype, K.device, "K")
    if symmetrize is None and n:
        asym, scale = float((K - K.mT).abs().max()), float(K.abs().max())
        if asym > max(1e-12, KERNEL_SYMMETRY_TOL * torch.finfo(K.dtype).eps) * scale:
            raise ValueError(
                f"K is not symmetric (max |K - K^T| = {asym:.3g}, {asym / scale:.2g} of max |K|): a kernel matrix "
                "is symmetric. Pass symmetrize='mean' to use (K + K^T) / 2."
            )
    lam, Q = _symmetric_eigh(K)
    lam, Q = lam.flip(0), Q.flip(1)
    eps = torch.finfo(K.dtype).eps
    if n and float(lam[-1]) < -KERNEL_PSD_TOL * eps * n * max(float(lam[0]), 0.0) - torch.finfo(K.dtype).tiny:
        raise ValueError(
            f"K is not positive semi-definite: its smallest eigenvalue is {float(lam[-1]):.3g} (largest "
            f"{float(lam[0]):.3g}). A kernel matrix has eigenvalues >= 0; check its sign and its construction."
        )
    lam = lam.clamp_min(float(lam[0].clamp_min(0)) * torch.finfo(K.dtype).eps ** 2 or torch.finfo(K.dtype).tiny)
    return SpectralBasis(
        U=Q, s=lam, V=Q, scale=safe_inverse(lam), Q0=_empty(n, K), X0=_empty(n, K), kind="kernel"
    )


def difference_operator(n: int, order: int = 1, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """The (n - order) x n discrete derivative of the given order (1 or 2), unscaled.

    Examples
    --------
    >>> difference_operator(3, 1).tolist()
    [[-1.0, 1.0, 0.0], [0.0, -1.0, 1.0]]
    """
    if order not in (1, 2) or n <= order:
        raise ValueError(f"L: a difference operator needs order 1 or 2 and n > order; got order={order}, n={n}.")
    stencil = [-1.0, 1.0] if order == 1 else [1.0, -2.0, 1.0]
    D = torch.zeros(n - order, n, dtype=dtype, device=device)
    rows = torch.arange(n - order, device=device)
    for j, c in enumerate(stencil):
        D[rows, rows + j] = c
    return D


def general_form_basis(A: torch.Tensor, L: torch.Tensor) -> SpectralBasis:
    """Standard-form transformation of ``min ||Ax - b||^2 + reg ||Lx||^2`` (Elden).

    With W an orthonormal basis of the null space of L and ``L_A^+ = (I - W (AW)^+ A) L^+``
    (the A-weighted pseudo-inverse), the problem becomes standard Tikhonov in
    ``y = L x`` with ``A_bar = A L_A^+``, plus the unpenalized part
    ``x0 = W (AW)^+ b``. The singular values of ``A_bar`` are the generalized singular
    values of (A, L), so ``s = gamma**2`` and every filter applies unchanged; moving
    ``reg`` then solves no linear system. ``solution_norm`` is the semi-norm ``||L x||``.
    """
    m, n = A.shape
    if L.ndim != 2 or L.shape[1] != n:
        raise ValueError(
            f"L must be a matrix with as many columns as A ({n}); got shape {tuple(L.shape)}. "
            "Pass L='d1' or L='d2' for a first or second difference."
        )
    check_svd_memory(m, n, A.dtype, A.device, "A")
    UL, sL, VLh = torch.linalg.svd(L, full_matrices=True)
    tol = sL.max() * max(L.shape) * torch.finfo(L.dtype).eps if sL.numel() else 0.0
    r = int((sL > tol).sum())
    VL = VLh.mT
    W = VL[:, r:]  # null space of L
    L_pinv = VL[:, :r] @ (UL[:, :r] / sL[:r]).mT
    AL = A @ L_pinv
    if W.shape[1]:
        Q0, R0 = torch.linalg.qr(A @ W)
        diag = R0.diagonal().abs()
        if diag.min() <= diag.max() * max(m, n) * torch.finfo(A.dtype).eps or diag.max() == 0:
            raise ValueError(
                "L: the null spaces of A and L intersect, so the penalized problem has no "
                "unique solution; use a penalty whose null space A determines (e.g. L='d1' "
                "instead of 'd2', or the identity)."
            )
        X0 = torch.linalg.solve_triangular(R0, W, upper=True, left=False)  # W R0^{-1}
        A_bar = AL - Q0 @ (Q0.T @ AL)
        L_A_pinv = L_pinv - X0 @ (Q0.T @ AL)
    else:
        Q0, X0 = _empty(m, A), _empty(n, A)
        A_bar, L_A_pinv = AL, L_pinv
    Ub, gamma, Vbh = torch.linalg.svd(A_bar, full_matrices=False)
    # A_bar's range is orthogonal to Q0: drop the structural zero singular values
    keep = gamma > gamma.max() * max(m, n) * torch.finfo(A.dtype).eps
    Ub, gamma, Vb = Ub[:, keep], gamma[keep], Vbh.mT[:, keep]
    return SpectralBasis(
        U=Ub, s=gamma * gamma, V=L_A_pinv @ Vb, scale=1.0 / gamma, Q0=Q0, X0=X0, kind="gsvd"
    )


# --------------------------------------------------------------------- reassemble & score


def filtered_solution(basis: SpectralBasis, beta: torch.Tensor, f: torch.Tensor, x0=None) -> torch.Tensor:
    """``x = x0 + V (f beta scale)`` for factors ``f`` (R, k), ``beta`` (B, k): (B, R, n)."""
    coef = f.unsqueeze(0) * (beta * basis.scale).unsqueeze(1)
    x = coef @ basis.V.T
    if x0 is not None and basis.X0.shape[1]:
        x = x + x0.unsqueeze(1)
    return x


def path_criteria(
    basis: SpectralBasis,
    b: torch.Tensor,
    reg: torch.Tensor,
    f: torch.Tensor,
    *,
    method="tikhonov",
    x: torch.Tensor | None = None,
    x_true: torch.Tensor | None = None,
    noise_norm: torch.Tensor | None = None,
    beta: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Score every ``reg`` at once for right-hand sides ``b`` (B, m) and factors ``f`` (R, k).

    Returns (B, R) tensors:

    * ``residual_norm`` ``||b - A x||`` (including the part of b outside the range of A),
      ``solution_norm`` ``||x||`` (``||L x||`` in general form, the RKHS norm for a kernel);
    * ``gcv`` = ``m ||r||^2 / (m - trace H)^2`` (Golub, Heath and Wahba 1979;
      regtools' gcv omits the factor m, which does not move the minimum);
    * ``loo`` = ``mean_i (e_i / (1 - H_ii))^2`` with H the influence matrix of the filter;
      exact leave-one-out for Tikhonov (standard and general form), the same linear-
      smoother formula, an approximation to refitting, for the other filters;
    * ``curvature`` of the L-curve: Hansen's closed form for Tikhonov, finite differences
      in log(reg) on the grid for the others, each stretch of identical solutions counted
      once (NaN when the grid cannot give it);
    * ``error_norm`` ``||x - x_true||`` when ``x_true`` is given (needs ``x``);
    * ``discrepancy`` = ``||r|| / noise_norm`` when ``noise_norm`` is given.

    ``beta = U^T b`` may be passed when it is cached already.
    """
    if beta is None:
        beta = basis.coefficients(b)
    rest = basis.outside(b, beta)
    out = spectral_criteria(
        basis.s, beta, reg, f, m=b.shape[-1], outside_sq=(rest * rest).sum(-1), method=method,
        n_unpenalized=basis.Q0.shape[1], noise_norm=noise_norm,
    )
    out.pop("trace")
    # leave-one-out: e = b - H b, H_ii = diag(Q0 Q0^T) + sum_j f_j U_ij^2
    h_diag = f @ basis.leverage_parts.T + basis.unpenalized_leverage
    e = rest.unsqueeze(1) + (((1 - f).unsqueeze(0) * beta.unsqueeze(1)) @ basis.U.T)
    out["loo"] = leave_one_out(e, h_diag)
    if x_true is not None:
        if x is None:
            raise ValueError("path_criteria needs the solutions x to compute error_norm.")
        out["error_norm"] = torch.linalg.vector_norm(x - x_true.unsqueeze(-2), dim=-1)
    return out


def filter_path(
    basis: SpectralBasis,
    b: torch.Tensor,
    reg: torch.Tensor,
    method="tikhonov",
    *,
    beta: torch.Tensor | None = None,
    x0: torch.Tensor | None = None,
    outside_sq: torch.Tensor | None = None,
    x_true: torch.Tensor | None = None,
    noise_norm: torch.Tensor | None = None,
    criteria: bool = True,
    **options,
):
    """The path of a spectral filter for right-hand sides ``b`` (B, m) over ``reg`` (R,):
    the one composition every path of this capability is (a regularized least-squares
    path, a kernel ridge path, one slider move).

    Returns ``(f, native, x, crit)``: the factors (R, k) and the method's native parameter
    (:func:`~spectrakit.core.spectral.filter_factors`), the solutions ``x0 + V (f beta
    scale)`` (B, R, n) and the criteria of :func:`path_criteria` as (B, R) tensors, or with
    ``criteria=False`` only ``residual_norm``, ``solution_norm`` (and ``error_norm`` with
    ``x_true``): what a slider move needs, a few vector operations. ``beta``, ``x0`` and
    ``outside_sq`` (the residual no filter removes) may be passed when cached.
    """
    f, native = filter_factors(basis.s, reg, method, **options)
    if beta is None:
        beta = basis.coefficients(b)
    x = filtered_solution(basis, beta, f, x0)
    if criteria:
        crit = path_criteria(basis, b, reg, f, method=method, x=x, x_true=x_true, noise_norm=noise_norm, beta=beta)
        return f, native, x, crit
    if outside_sq is None:
        outside_sq = basis.outside_norm_sq(b, beta)
    res_sq, sol_sq = residual_and_solution_norms(basis.s, beta, f, outside_sq)
    crit = {"residual_norm": res_sq.sqrt(), "solution_norm": sol_sq.sqrt()}
    if x_true is not None:
        crit["error_norm"] = torch.linalg.vector_norm(x - x_true.unsqueeze(-2), dim=-1)
    return f, native, x, crit


def landweber_steps(A: torch.Tensor, b: torch.Tensor, n_iter: int, omega: float) -> torch.Tensor:
    """``n_iter`` explicit Landweber steps ``x <- x + omega A^T (b - A x)`` from x = 0."""
    x = torch.zeros(A.shape[1], dtype=A.dtype, device=A.device)
    for _ in range(n_iter):
        x = x + omega * (A.T @ (b - A @ x))
    return x
