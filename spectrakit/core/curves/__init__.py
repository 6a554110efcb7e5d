"""Learning-curve theory, compute layer: deterministic equivalents of the test error of
ridge / kernel ridge, gradient flow and gradient descent, spectral cut-off and
random-features ridge; model collapse; Monte-Carlo counterparts on synthetic Gaussian data;
and the kernel-ridge path (one eigendecomposition, every ``reg``, predictions at new points).

Torch only, unlabelled tensors in and out: every result is on the device and in the dtype
of ``eigenvalues`` (a numpy or list input goes where :func:`spectrakit.set_options` or the
automatic choice says, in float64), and no input is modified. Random draws come from a CPU
``torch.Generator`` seeded with ``seed`` and are then moved, so a seeded Monte-Carlo run
gives the same numbers on the CPU and on a GPU (up to rounding).

Conventions (stated once, tested in tests/test_curves_core.py)
---------------------------------------------------------------
* **Modes.** ``eigenvalues`` ``lambda_k`` are the population spectrum: the eigenvalues of
  the feature covariance ``E[x x^T]`` (linear regression) or of the kernel's integral
  operator under the data distribution (kernel regression; the eigenvalues of ``K/n``
  for a Gram matrix K of n points estimate the top ones). ``coefs`` ``c_k`` are the
  target's coordinates in the orthonormal eigenfunctions, ``f*(x) = sum_k c_k phi_k(x)``
  with ``E[phi_j phi_k] = delta_jk``, so ``c_k**2`` is the target's power in mode ``k``
  (for linear regression ``c_k = sqrt(lambda_k) w*_k``). Labels are
  ``y = f*(x) + noise * eps`` with unit-variance ``eps``.
* **reg** is spectrakit's ``reg`` everywhere: the ridge estimator minimizes
  ``sum_i (y_i - f(x_i))**2 + reg ||f||**2``, i.e. scikit-learn's ``Ridge(alpha=reg)`` /
  ``KernelRidge(alpha=reg)`` and the Tikhonov filter ``s/(s + reg)`` on the squared
  singular values of X (the eigenvalues of the Gram matrix). On the population scale of
  ``lambda`` that is ``reg / n``; the deterministic equivalent replaces it by the
  *effective regularization* ``kappa >= reg / n`` (:func:`effective_regularization`).
* **Gradient descent** runs on ``(1/2n) ||y - X w||**2`` from ``w = 0`` with step ``lr``:
  the filter on an eigenvalue ``s_hat`` of ``X^T X / n`` is ``1 - (1 - lr s_hat)**steps``
  (spectrakit's ``landweber`` with ``omega = lr / n``, ``n_iter = steps``); gradient flow
  for a time ``tau`` is ``1 - exp(-tau s_hat)`` (``showalter`` with ``reg = n / tau``).
* **Errors** are excess risks ``E ||f_hat - f*||**2`` (the population L2 norm, averaged
  over training sets); the test MSE on fresh noisy labels is ``error + noise**2``. The
  split is conditional on the design (Hastie et al. 2019): ``bias2`` is the error with
  noiseless labels, ``variance`` what the label noise adds. Per mode, ``bias2_mode[k]`` and
  ``variance_mode[k]`` split the error of the learned function's component in mode ``k``,
  ``E (f_hat_k - c_k)**2``; they sum over modes to ``bias2`` and ``variance``.

What is exact and what is approximate
-------------------------------------
* :func:`ridge_learning_curve`: the deterministic equivalent (Bordelon, Canatar & Pehlevan
  2020; Simon et al. 2021 "eigenlearning"; Hastie et al. 2019): exact as ``n`` and the
  number of modes grow, accurate to a few percent at ``n`` of a few dozen (Gaussian
  features).
* :func:`gd_learning_curve` with ``flow=True`` (gradient flow): derived from the same
  deterministic equivalent with no further approximation: the flow's filter is a
  superposition of ridge resolvents at complex ``reg`` (an inverse Laplace transform), so
  its error is a double inverse Laplace transform of the two-point ridge equivalent,
  computed on Talbot's contour; within 2.5 % of Monte-Carlo at n = 50 and 100.
* :func:`gd_learning_curve` (discrete steps): gradient flow at ``tau = lr * steps`` plus the
  population-level difference between the step filter and the flow filter. The
  correction matters only for the first steps (where the population approximation is
  accurate) and vanishes like ``1/steps``; tested against Monte-Carlo.
* :func:`spectral_learning_curve`, :func:`cutoff_learning_curve`: the population
  approximation (the empirical spectrum replaced by the population one): exact as
  ``n -> inf`` at a fixed filter, accurate while the filter keeps far fewer than ``n``
  modes (``sum h**2 << n``); it misses the finite-``n`` renormalization that the ridge and
  flow equivalents include.
* :func:`random_features_curve`: exact deterministic equivalent over the training data,
  conditional on the random projections (which are drawn, seeded, and averaged).
* :func:`model_collapse_error`: exact for least squares on Gaussian data (any covariance).

Functions
---------
power_law_spectrum, power_law_target   ``lambda_k = scale k**-alpha``, ``c_k**2 = scale k**-beta``
effective_regularization      kappa from ``n = sum_k lambda_k/(lambda_k + kappa) + reg/kappa``
ridge_learning_curve          ridge / kernel ridge test error, bias, variance, per mode
gd_learning_curve             gradient descent after ``steps`` steps, or gradient flow
cutoff_learning_curve         spectral cut-off (keep the top ``rank`` modes)
spectral_learning_curve       any population filter (population approximation)
optimal_learning_curve        the best error over the method's parameter, for each n
gaussian_design               synthetic features with a given covariance spectrum
monte_carlo_curve             the same curves measured on synthetic data
design_risk                   its step: the exact per-mode risk of a filtered fit on given designs
random_features_curve         random-features ridge vs the number of features N
random_features_monte_carlo   its Monte-Carlo counterpart (same projections)
model_collapse_error          excess risk after g generations of training on generated labels
model_collapse_monte_carlo    its Monte-Carlo counterpart (least squares or ridge)
rbf_kernel                    ``exp(-gamma ||x - z||**2)``
kernel_path                   kernel ridge (or any filter) over a reg grid: dual
                              coefficients, fitted values, predictions at new points and
                              every criterion of :func:`spectrakit.core.filtering.path_criteria`

Modules
-------
The names above are re-exported here from the modules that define them, one family each:
``theory`` (power-law spectra and targets, the effective regularization, the deterministic
equivalents of ridge, gradient flow / descent, cut-off and any population filter, the
optimal curves), ``monte_carlo`` (synthetic Gaussian designs, the measured curves and the
exact risk of a filtered fit on given designs), ``random_features`` (random-features ridge
and its Monte-Carlo counterpart), ``collapse`` (model collapse, exact and simulated) and
``kernels`` (the RBF kernel and the kernel-ridge path); ``_common`` holds their shared
argument checks. Import from ``spectrakit.core.curves``; the module layout may change.
"""

from .theory import (
    LearningCurve,
    OptimalCurve,
    cutoff_learning_curve,
    effective_regularization,
    gd_learning_curve,
    optimal_learning_curve,
    power_law_spectrum,
    power_law_target,
    ridge_learning_curve,
    spectral_learning_curve,
)
from .monte_carlo import MonteCarloCurve, design_risk, gaussian_design, monte_carlo_curve
from .random_features import RandomFeaturesCurve, random_features_curve, random_features_monte_carlo
from .collapse import CollapseMonteCarlo, model_collapse_error, model_collapse_monte_carlo
from .kernels import KernelPath, kernel_path, rbf_kernel

__all__ = [
    "power_law_spectrum",
    "power_law_target",
    "effective_regularization",
    "LearningCurve",
    "ridge_learning_curve",
    "gd_learning_curve",
    "cutoff_learning_curve",
    "spectral_learning_curve",
    "OptimalCurve",
    "optimal_learning_curve",
    "gaussian_design",
    "MonteCarloCurve",
    "design_risk",
    "monte_carlo_curve",
    "RandomFeaturesCurve",
    "random_features_curve",
    "random_features_monte_carlo",
    "model_collapse_error",
    "CollapseMonteCarlo",
    "model_collapse_monte_carlo",
    "rbf_kernel",
    "KernelPath",
    "kernel_path",
]
