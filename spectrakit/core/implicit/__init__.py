"""Implicit regularization, compute layer: what gradient descent prefers when nothing else
decides, and how preconditioning changes the order in which it learns.

Three models, each small enough to train in a fraction of a second on a CPU:

- **Matrix sensing / factorization** (``U U^T`` fitted to linear measurements of a low-rank
  PSD matrix). From a small initialization, gradient descent learns the singular values
  one at a time, largest first: the iterate stays close to low rank although nothing
  penalizes rank (Arora et al. 2019; Jin et al. 2023, "Understanding incremental learning
  of gradient descent"). ScaledGD(lambda) (Tong, Ma & Chi 2021; Xu, Shen, Ma & Chi 2023)
  right-multiplies the gradient by ``(U^T U + lambda I)^{-1}`` and learns all of them at
  once, so an ill-conditioned target costs no more than a well-conditioned one.
- **Diagonal linear networks** ``w = u*u - v*v`` (Woodworth et al. 2020): the
  initialization scale ``alpha`` decides the interpolator gradient descent finds, from the
  minimum-l1 one (``alpha -> 0``, sparse, the "rich" regime) to the minimum-l2 one
  (``alpha -> inf``, dense, the "kernel" regime), with a closed-form potential between.
- **EigenPro** (Ma & Belkin 2017; Abedsoltan et al. 2023): kernel (or least-squares)
  gradient descent preconditioned by flattening the top-k eigenvalues to
  ``lambda_{k+1}``, which allows a step ``1 / lambda_{k+1}`` instead of ``1 / lambda_1``
  and cuts the iterations to a given training error by about ``lambda_1 / lambda_{k+1}``.

Torch only (plus scipy's ``linprog`` for the minimum-l1 interpolator), unlabelled tensors
in and out: every result is on the input's device and in its dtype, no input is modified,
and random draws come from a CPU ``torch.Generator`` seeded with ``seed`` and are then
moved, so a seeded call gives the same numbers on the CPU and on a GPU (up to rounding).

Functions
---------
matrix_sensing_problem      a rank-r PSD target M* = U* diag(sigma) U*^T and m Gaussian
                            symmetric measurements <A_i, M*> (or full observation)
gd_matrix_sensing           gradient descent on U U^T from a small init; eigenvalues of U U^T,
                            loss and relative error per recorded step; learning-time theory
scaled_gd                   ScaledGD(lambda): the same with the gradient times (U^T U + lambda I)^-1
FactoredDescent             the update rule of both, one step at a time (lr and damping settable
                            between steps): what streaming sessions drive
learning_times              the step at which each eigenvalue first reaches level * its target
first_step_below            the first recorded step at which a curve is <= a level
diagonal_network_gd         gradient descent on w = u*u - v*v from u = v = alpha (batched in alpha)
diagonal_network_limit      the exact gradient-flow limit: argmin Q_alpha(w) s.t. X w = y
diagonal_network_potential  Q_alpha, the implicit regularizer (-> l1 as alpha -> 0, l2 as alpha -> inf)
min_l1_interpolator         argmin ||w||_1 s.t. X w = y (scipy linprog, HiGHS)
eigenpro_preconditioner     P = I - sum_{i<=k} (1 - lambda_{k+1}/lambda_i) q_i q_i^T
eigenpro_gd                 kernel / least-squares GD with P (k = 0: plain GD); training MSE per
                            step, measured and by the closed form

Modules
-------
The names above are re-exported here from the modules that define them, one model each:
``matrix_sensing`` (the problem, gradient descent and ScaledGD on ``U U^T``, the stepwise
:class:`FactoredDescent`, learning times), ``diagonal_networks`` (gradient descent, its limit,
the potential and the minimum-l1 interpolator) and ``eigenpro`` (the preconditioner and the
preconditioned descent); ``_common`` holds their shared argument checks. Import from
``spectrakit.core.implicit``; the module layout may change.
"""

from .matrix_sensing import (
    FactoredDescent,
    MatrixSensingProblem,
    MatrixSensingResult,
    first_step_below,
    gd_matrix_sensing,
    learning_times,
    matrix_sensing_problem,
    scaled_gd,
)
from .diagonal_networks import (
    DiagonalNetworkResult,
    diagonal_network_gd,
    diagonal_network_limit,
    diagonal_network_potential,
    min_l1_interpolator,
)
from .eigenpro import EigenProResult, eigenpro_gd, eigenpro_preconditioner

__all__ = [
    "MatrixSensingProblem",
    "matrix_sensing_problem",
    "MatrixSensingResult",
    "gd_matrix_sensing",
    "scaled_gd",
    "FactoredDescent",
    "learning_times",
    "first_step_below",
    "DiagonalNetworkResult",
    "diagonal_network_gd",
    "diagonal_network_limit",
    "diagonal_network_potential",
    "min_l1_interpolator",
    "eigenpro_preconditioner",
    "EigenProResult",
    "eigenpro_gd",
]
