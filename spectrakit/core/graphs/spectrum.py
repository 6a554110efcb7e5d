"""Eigenpairs of graph Laplacians: the cached :class:`GraphSpectrum` and the solvers behind it
(dense, shift-invert ARPACK, Lanczos, LOBPCG), chosen by size, sparsity and device.

Part of :mod:`spectrakit.core.graphs` (see there for the conventions).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ...options import resolve_device, resolve_dtype
from ..checks import available_bytes, check_finite, check_real, itemsize
from ..threads import single_thread_if_small
from ._common import _check_choice, _check_dense_memory, _check_int, _size, _sort_work
from .construction import _is_symmetric, adjacency
from .laplacians import _inv_sqrt, _lambda_max_bound, _laplacian_from, _magnetic_from, _offdiag, _resolve_kind

SOLVERS = ("auto", "dense", "shift_invert", "lanczos", "lobpcg")

# Sizes behind the automatic choice of eigensolver (measured on a 2-core CPU, float64):
# a dense eigh of n = 3000 takes 2.6 s, the 2 lowest pairs of a 10-NN graph by
# shift-invert ARPACK 50 ms; at n = 20000 the dense eigh would need 9.6 GB and minutes.
DENSE_MAX_CPU = 10_000  # dense eigh on the CPU for (nearly) dense matrices up to this n
DENSE_MAX_GPU = 10_000  # dense eigh on a GPU up to this n (and where it fits in memory)
SMALL = 256  # below this a dense eigh is as fast as anything
SPARSE_DENSITY = 0.05  # a matrix with at most this share of nonzeros counts as sparse


# ------------------------------------------------------------------------------ eigenpairs


@dataclass(frozen=True)
class GraphSpectrum:
    """The lowest eigenpairs of a graph Laplacian, computed once and reused.

    Attributes
    ----------
    values : (k,) real tensor, ascending (the graph frequencies ``lam``).
    vectors : (n, k) tensor, orthonormal columns (complex for the magnetic kinds). For
        ``kind="random_walk"`` the right eigenvectors ``D^{-1/2} u`` of ``I - D^{-1} W``,
        orthonormal in the degree inner product ``V^T D V = I``.
    kind : the Laplacian (see :data:`LAPLACIANS`).
    solver : the eigensolver that ran: ``"dense"`` (``torch.linalg.eigh`` on ``device``),
        ``"shift_invert"`` (ARPACK on the CPU), ``"lanczos"`` (ARPACK, no factorization),
        ``"lobpcg"``.
    n_components : connected components found (they give the exact null space, deflated
        by the sparse solvers); ``None`` where not computed (dense solver, magnetic kinds).
    degrees : (n,) the degrees for ``random_walk`` (the Fourier transform is
        ``V^T D x``), else None.
    """

    values: torch.Tensor
    vectors: torch.Tensor
    kind: str
    solver: str
    n_components: int | None = None
    degrees: torch.Tensor | None = None

    @property
    def n(self) -> int:
        """The number of nodes."""
        return self.vectors.shape[0]

    @property
    def k(self) -> int:
        """The number of eigenpairs."""
        return self.values.shape[0]

    @property
    def complete(self) -> bool:
        """Whether all n eigenpairs are present (needed by exact filtering)."""
        return self.k == self.n

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Graph Fourier coefficients of signals ``x`` (n,) or (n, c): ``V^H x`` (``V^T D x``
        for the random walk)."""
        if self.degrees is not None:
            x = self.degrees.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype) * x
        return self.vectors.mH @ x.to(self.vectors.dtype)

    def inverse(self, coef: torch.Tensor) -> torch.Tensor:
        """Signals from coefficients (k,) or (k, c): ``V coef``."""
        return self.vectors @ coef.to(self.vectors.dtype)


def _to_scipy(L: torch.Tensor):
    """A CPU scipy CSC matrix (float64 or complex128) of a dense or sparse torch matrix."""
    n = L.shape[0]
    if L.is_sparse:
        idx = L.indices().cpu().numpy()
        v = L.values().detach().cpu()
        v = v.to(torch.complex128 if v.is_complex() else torch.float64).numpy()
        return sp.csc_array((v, (idx[0], idx[1])), shape=(n, n))
    Ld = L.detach().cpu()
    Ld = Ld.to(torch.complex128 if Ld.is_complex() else torch.float64).numpy()
    return sp.csc_array(Ld)


def _density(L: torch.Tensor) -> float:
    n = L.shape[0]
    nnz = L._nnz() if L.is_sparse else int(torch.count_nonzero(L))
    return nnz / max(n * n, 1)


def _choose_solver(L: torch.Tensor, k: int | None, solver: str) -> str:
    n = L.shape[0]
    if solver != "auto":
        return solver
    if k is None or n <= SMALL or 2 * k >= n:
        return "dense"
    if L.device.type == "cuda" and n <= DENSE_MAX_GPU:
        copies = 4 if L.is_complex() else 3
        nbytes = copies * n * n * itemsize(L.dtype)
        if nbytes <= available_bytes(L.device):
            return "dense"
    if _density(L) <= SPARSE_DENSITY:
        return "shift_invert"
    return "dense" if n <= DENSE_MAX_CPU else "lanczos"


def _dense_eigh(L: torch.Tensor, k: int | None):
    n = L.shape[0]
    Ld = L.to_dense() if L.is_sparse else L
    copies = 4 if L.is_complex() else 3
    _check_dense_memory(
        n, copies, L.dtype, L.device, "W", f"a dense eigendecomposition of a {n} x {n} Laplacian in {L.dtype}",
        "Ask for the lowest k eigenpairs (k=...) of a sparse graph (solver='shift_invert' on the CPU), "
        "use a sparse graph (knn_graph(..., sparse=True)), or dtype=torch.float32.",
    )
    vals, vecs = torch.linalg.eigh(0.5 * (Ld + Ld.mH))
    if k is not None:
        vals, vecs = vals[:k], vecs[:, :k]
    return vals, vecs


def _null_space(A: torch.Tensor, kind: str):
    """Exact null vectors (n, c) of the combinatorial/symmetric Laplacian: one per connected
    component (largest first), ``1_C`` or ``D^{1/2} 1_C`` normalized; isolated nodes ``e_i``."""
    from scipy.sparse.csgraph import connected_components

    n = A.shape[0]
    rows, cols, vals, deg = _offdiag(A)
    pattern = sp.csr_array(
        (np.ones(rows.shape[0]), (rows.cpu().numpy(), cols.cpu().numpy())), shape=(n, n)
    )
    c, comp = connected_components(pattern, directed=False)
    sizes = np.bincount(comp, minlength=c)
    order = np.argsort(-sizes, kind="stable")  # largest component first
    rank = np.empty(c, dtype=np.int64)
    rank[order] = np.arange(c)
    comp = rank[comp]
    d = deg.detach().cpu().double().numpy()
    base = np.ones(n) if kind == "combinatorial" else np.sqrt(d)
    base = np.where(d > 0, base, 1.0)  # isolated nodes: e_i
    Z = np.zeros((n, c))
    Z[np.arange(n), comp] = base
    Z /= np.linalg.norm(Z, axis=0)
    return Z, c


_BLAS = []  # a threadpoolctl controller, made at first use (after scipy loaded its BLAS)


def _one_blas_thread():
    """Limit BLAS to one thread where threadpoolctl is installed (scikit-learn brings it).

    ARPACK and LOBPCG call BLAS on vectors of length n with a few dozen columns: too
    little work for threads, and on a busy machine idle BLAS threads spinning against
    torch's cost more than the solve (0.9 s instead of 0.3 s for a 20000-node graph).
    """
    import scipy.sparse.linalg  # noqa: F401  (loads scipy's BLAS before the controller looks)

    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def _sparse_eigh(Ls, k: int, solver: str, Z, *, tol, seed, max_iter, shift_scale: float):
    """Lowest k eigenpairs of a scipy Hermitian PSD matrix, with the known null vectors
    ``Z`` (n, c) deflated (returned first, eigenvalue 0)."""
    with _one_blas_thread():
        return _sparse_eigh_work(Ls, k, solver, Z, tol=tol, seed=seed, max_iter=max_iter, shift_scale=shift_scale)


def _sparse_eigh_work(Ls, k: int, solver: str, Z, *, tol, seed, max_iter, shift_scale: float):
    import scipy.sparse.linalg as sla

    n = Ls.shape[0]
    c = 0 if Z is None else Z.shape[1]
    dtype = Ls.dtype
    if c >= k:
        return np.zeros(k), Z[:, :k].astype(dtype)
    m = k - c
    if m >= n - c - 1:
        vals, vecs = np.linalg.eigh(Ls.toarray())
        return vals[:k], vecs[:, :k]
    rng = np.random.default_rng(seed)
    v0 = rng.uniform(-1, 1, n).astype(dtype)

    def project(x):
        if c:
            x = x - Z @ (Z.T @ x)
        return x

    if c:
        v0 = project(v0)
    tol = 0.0 if tol is None else float(tol)
    if solver == "shift_invert":
        # (L - sigma I)^{-1} with a small negative shift: Hermitian positive definite, so
        # no pivoting; a minimum-degree ordering of A + A^T keeps the fill-in low
        sigma = -1e-5 * max(shift_scale, 1e-300)
        M = (Ls - sigma * sp.eye_array(n, dtype=dtype, format="csc")).tocsc()
        lu = sla.splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})

        def solve(x):
            x = np.asarray(x).reshape(n, -1)
            return project(lu.solve(project(x).astype(dtype, copy=False)))

        op = sla.LinearOperator((n, n), matvec=solve, matmat=solve, dtype=dtype)
        vals, vecs = sla.eigsh(Ls, m, sigma=sigma, which="LM", OPinv=op, v0=v0, tol=tol, maxiter=max_iter)
    elif solver == "lanczos":
        # the null space moved to the top of the spectrum, the rest found by plain Lanczos
        top = 2.0 * max(shift_scale, 1.0)

        def mv(x):
            x = np.asarray(x).reshape(n, -1)
            y = Ls @ x
            return y + top * (Z @ (Z.conj().T @ x)) if c else y

        op = sla.LinearOperator((n, n), matvec=mv, matmat=mv, dtype=dtype)
        vals, vecs = sla.eigsh(op, m, which="SA", v0=v0, tol=tol, maxiter=max_iter)
    else:  # lobpcg, Jacobi-preconditioned, in the complement of the null space
        diag = Ls.diagonal().real
        inv = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 1.0)

        def jacobi(x):
            x = np.asarray(x)
            return inv.reshape(n, *([1] * (x.ndim - 1))) * x

        prec = sla.LinearOperator((n, n), matvec=jacobi, matmat=jacobi, dtype=dtype)
        X0 = rng.standard_normal((n, m)).astype(dtype)
        with warnings.catch_warnings():
            # scipy only warns when it stops unconverged: make that an error
            warnings.filterwarnings("error", message="(?s).*not reaching the requested tolerance", category=UserWarning)
            try:
                vals, vecs = sla.lobpcg(Ls, X0, M=prec, Y=Z.astype(dtype) if c else None, largest=False,
                                        tol=None if tol == 0.0 else tol, maxiter=max_iter or 500)
            except UserWarning as w:
                raise RuntimeError(
                    f"solver='lobpcg' did not converge ({w}); raise max_iter or use solver='shift_invert'."
                ) from None
    order = np.argsort(vals)
    vals, vecs = vals[order], vecs[:, order]
    if c:
        vals = np.concatenate([np.zeros(c), vals])
        vecs = np.concatenate([Z.astype(dtype), vecs], axis=1)
    return vals, vecs


def _eigh_any(L: torch.Tensor, k, solver: str, *, Z=None, tol=None, seed=0, max_iter=None, shift_scale=2.0):
    """Dispatch to the dense or a sparse solver; results on L's device, L's real dtype."""
    chosen = _choose_solver(L, k, solver)
    if chosen == "dense":
        vals, vecs = _dense_eigh(L, k)
        return vals, vecs, chosen
    if k is None:
        raise ValueError(f"solver={chosen!r} computes the lowest k eigenpairs: pass k (or solver='dense' for all).")
    n = L.shape[0]
    if k >= n:
        raise ValueError(f"k must be < n ({n}) for solver={chosen!r}; use solver='dense' for all eigenpairs.")
    vals, vecs = _sparse_eigh(_to_scipy(L), k, chosen, Z, tol=tol, seed=seed, max_iter=max_iter,
                              shift_scale=shift_scale)
    real = L.real.dtype if L.is_complex() else L.dtype
    vals = torch.as_tensor(vals.real, dtype=real, device=L.device)
    vecs = torch.as_tensor(vecs, device=L.device).to(L.dtype)
    return vals, vecs, chosen


def _check_k(k, n: int, name: str = "k"):
    if k is None:
        return None
    k = _check_int(k, name, 1)
    if k > n:
        raise ValueError(f"{name} must be <= n (the number of nodes, {n}); got {k}.")
    return k


def laplacian_eigh(
    L,
    k: int | None = None,
    *,
    solver: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
    max_iter: int | None = None,
) -> GraphSpectrum:
    """The lowest ``k`` (default all) eigenpairs of a symmetric (or Hermitian) positive
    semi-definite matrix ``L`` (a Laplacian made elsewhere: dense, torch sparse, scipy sparse).

    ``solver``: ``"dense"`` (``torch.linalg.eigh`` on L's device, memory-checked),
    ``"shift_invert"`` (ARPACK on the CPU around a small negative shift, a sparse LU),
    ``"lanczos"`` (ARPACK, smallest algebraic, no factorization), ``"lobpcg"`` (scipy,
    Jacobi preconditioner), or ``"auto"``: dense for all eigenpairs, n <= 256 or k >= n/2;
    on a GPU dense up to n = 10,000 where it fits; on the CPU shift-invert for sparse
    matrices (at most 5 % nonzeros), dense up to n = 10,000, Lanczos beyond. The sparse
    solvers run in float64 (complex128) on the CPU and return on L's device and dtype.
    ``tol``: ARPACK's relative accuracy (default 0: machine precision); for ``"lobpcg"``
    the residual tolerance (default scipy's ``n sqrt(eps)``: eigenvalues to about 1e-8
    relative and residuals near 1e-5, not machine precision; pass a smaller ``tol`` or
    use ``"shift_invert"`` for more). Unlike
    :func:`graph_spectrum` this does not deflate the null space, so an exactly repeated
    zero eigenvalue (a disconnected graph) is best left to :func:`graph_spectrum`.

    Examples
    --------
    >>> from spectrakit.core.graphs import laplacian, stochastic_block_model
    >>> W, _ = stochastic_block_model([4], 1.0)
    >>> spec = laplacian_eigh(laplacian(W))
    >>> [round(float(v), 10) + 0.0 for v in spec.values], spec.solver
    ([0.0, 4.0, 4.0, 4.0], 'dense')
    """
    if sp.issparse(L):
        L = _torch_from_scipy(L)
    elif not isinstance(L, torch.Tensor):
        L = torch.as_tensor(np.asarray(L), dtype=resolve_dtype(None), device=resolve_device(None))
    if L.layout not in (torch.strided, torch.sparse_coo):
        L = L.to_sparse_coo()
    if L.is_sparse:
        L = L.coalesce()
    if L.ndim != 2 or L.shape[0] != L.shape[1]:
        raise ValueError(f"L must be a square matrix; got shape {tuple(L.shape)}.")
    if not (L.is_floating_point() or L.is_complex()):
        L = L.to(torch.float64)
    check_finite(L.values() if L.is_sparse else L, "L")
    ok, worst = _is_symmetric(L)
    if not ok:
        raise ValueError(
            f"L is not symmetric/Hermitian (largest |L - L^H| = {worst:.3g}). The random-walk "
            "Laplacian is not symmetric: use graph_spectrum(W, kind='random_walk'), which works "
            "through the symmetric one."
        )
    _check_choice(solver, "solver", SOLVERS)
    k = _check_k(k, L.shape[0])
    tol = check_real(tol, "tol", allow_none=True)
    vals, vecs, chosen = _eigh_any(L, k, solver, tol=tol, seed=seed, max_iter=max_iter,
                                   shift_scale=_gershgorin(L))
    return GraphSpectrum(vals, vecs, "custom", chosen)


def _torch_from_scipy(M) -> torch.Tensor:
    """A scipy sparse matrix (any real or complex values) as a coalesced torch COO tensor."""
    coo = sp.coo_array(M)
    dev = resolve_device(None)
    vals = torch.as_tensor(coo.data)
    if not (vals.is_complex() or vals.is_floating_point()):
        vals = vals.to(torch.float64)
    idx = torch.as_tensor(np.stack([coo.row, coo.col]).astype(np.int64))
    return torch.sparse_coo_tensor(idx, vals, coo.shape, check_invariants=False).coalesce().to(dev)


def _gershgorin(L: torch.Tensor) -> float:
    if L.is_sparse:
        idx, v = L.indices(), L.values().abs()
        rs = torch.zeros(L.shape[0], dtype=v.dtype, device=v.device).index_add_(0, idx[0], v)
    else:
        rs = L.abs().sum(1)
    return float(rs.max()) if rs.numel() else 1.0


def graph_spectrum(
    W,
    k: int | None = None,
    *,
    kind: str = "symmetric",
    q: float | None = None,
    solver: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
    max_iter: int | None = None,
    device=None,
    dtype=None,
) -> GraphSpectrum:
    """The lowest ``k`` eigenpairs (default all) of the Laplacian of ``W``.

    Parameters
    ----------
    W : adjacency (dense, torch sparse or scipy sparse; see :func:`adjacency`)
    k : int, optional
        How many of the lowest eigenpairs; None: all (dense solver).
    kind : str
        One of :data:`LAPLACIANS` (default ``"symmetric"``); ``q`` for the magnetic kinds.
        ``random_walk`` is solved through the symmetric Laplacian (same eigenvalues,
        eigenvectors ``D^{-1/2} u``).
    solver : str
        ``"auto"`` (default) picks from size, sparsity and device and the result records
        it: see :func:`laplacian_eigh`. The sparse solvers deflate the exact null space
        (one vector per connected component, ``1_C`` or ``D^{1/2} 1_C``, largest component
        first), so a disconnected graph's repeated zero eigenvalue is found exactly.
    tol, seed, max_iter
        ARPACK's tolerance (default machine precision) or LOBPCG's (default scipy's
        ``n sqrt(eps)`` on the residuals: eigenvalues to about 1e-8 relative), the seed of the start
        vector, and the most iterations.

    Returns
    -------
    GraphSpectrum
        Eigenvalues ascending, eigenvectors on W's device and dtype, ``solver`` and
        ``n_components``.

    Examples
    --------
    >>> from spectrakit.core.graphs import stochastic_block_model
    >>> W, _ = stochastic_block_model([5, 5], 1.0, 0.0)  # two disjoint cliques
    >>> spec = graph_spectrum(W, 3, solver="shift_invert")
    >>> [round(float(v), 8) + 0.0 for v in spec.values], spec.solver, spec.n_components
    ([0.0, 0.0, 1.25], 'shift_invert', 2)
    """
    q = _resolve_kind(kind, q)
    _check_choice(solver, "solver", SOLVERS)
    tol = check_real(tol, "tol", allow_none=True)
    A = adjacency(W, directed=kind.startswith("magnetic"), device=device, dtype=dtype)
    return _graph_spectrum(A, _check_k(k, A.shape[0]), kind, q, solver, tol, seed, max_iter)


def _graph_spectrum(A, k, kind, q, solver, tol=None, seed=0, max_iter=None) -> GraphSpectrum:
    """graph_spectrum on a checked adjacency."""
    # the sparse path does O(nnz) torch work around scipy's solvers: one thread is as fast
    # and does not wait on busy cores; a dense eigh keeps every thread
    work = _sort_work(_size(A)) if A.is_sparse and k is not None else A.shape[0] ** 3
    with single_thread_if_small(work, A.device):
        return _graph_spectrum_work(A, k, kind, q, solver, tol, seed, max_iter)


def _graph_spectrum_work(A, k, kind, q, solver, tol, seed, max_iter) -> GraphSpectrum:
    if kind.startswith("magnetic"):
        L = _magnetic_from(A, q, kind == "magnetic_normalized")
        Z, c = None, None
    else:
        base = "combinatorial" if kind == "combinatorial" else "symmetric"
        L = _laplacian_from(A, base)
        Z, c = None, None
        if _choose_solver(L, k, solver) != "dense":
            Z, c = _null_space(A, base)
    scale = _lambda_max_bound(A, kind) if kind in ("combinatorial", "magnetic") else 2.0
    vals, vecs, chosen = _eigh_any(L, k, solver, Z=Z, tol=tol, seed=seed, max_iter=max_iter, shift_scale=scale)
    degrees = None
    if kind == "random_walk":
        _r, _c, _v, deg = _offdiag(A)
        vecs = vecs * _inv_sqrt(deg).where(deg > 0, torch.ones_like(deg))[:, None]
        degrees = torch.where(deg > 0, deg, torch.ones_like(deg))
    return GraphSpectrum(vals, vecs, kind, chosen, c, degrees)
