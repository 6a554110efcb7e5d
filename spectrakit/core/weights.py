"""Weight spectra, compute layer: singular values of dense and convolutional layers, their
estimates, spectral normalization, orthogonality and Lipschitz bounds.

Torch only, unlabelled tensors in and out; every result is on the weight's (or the
model's, or the inputs') device and dtype, and nothing is modified in place (a model's
weights and buffers included). Random start vectors are drawn from a CPU
``torch.Generator`` seeded with ``seed`` and then moved to the device.

A 2-D convolution with stride 1 and circular padding on an ``H x W`` grid is a linear map
``R^(C_in H W) -> R^(C_out H W)`` whose matrix is block-circulant. The 2-D DFT
block-diagonalizes it (Sedghi, Gupta & Long 2019, "The singular values of convolutional
layers"): at each of the ``H W`` frequencies it acts by the ``C_out x C_in`` matrix
``K_hat(u, v)``, the DFT of the kernel zero-padded to ``H x W``. Its singular values are
those of all ``H W`` small matrices together (``H W min(C_out, C_in)`` values): one FFT
and one batched SVD instead of the SVD of a ``(C_out H W) x (C_in H W)`` matrix.

Functions
---------
circular_conv2d        the circular convolution (and its adjoint) on a grid
conv_matrix            its dense matrix (tests, small sizes)
conv_singular_values   all singular values of the circular convolution, by FFT
conv_operator_norm     the largest one (its spectral norm)
power_iteration        spectral-norm estimate by power iteration (a lower bound)
conv_power_iteration   the same on the circular convolution operator
gram_iteration_norm    Gram-iteration upper bound on the spectral norm (dense or conv)
spectral_normalize     a new weight scaled to a given spectral norm
orthogonality_penalty  ||W^T W - I||_F^2 (dense, reshaped kernel, or conv operator)
conv_input_shapes      the spatial size each Conv2d of a model sees, by one forward pass
layer_spectra          singular values of every Linear and Conv2d of a model
lipschitz_bound        the product of the layers' spectral norms
input_jacobian_norms   ||d f / d x||_2 at each input
max_input_gradient_norm  the largest of them (a lower bound on the Lipschitz constant)
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_finite, check_int, check_memory, check_real, itemsize
from .threads import single_thread_if_small

__all__ = [
    "circular_conv2d",
    "conv_matrix",
    "conv_singular_values",
    "conv_operator_norm",
    "PowerIteration",
    "power_iteration",
    "conv_power_iteration",
    "gram_iteration_norm",
    "spectral_normalize",
    "orthogonality_penalty",
    "LayerSpectrum",
    "conv_input_shapes",
    "layer_spectra",
    "lipschitz_bound",
    "input_jacobian_norms",
    "max_input_gradient_norm",
]

_HALF = (torch.float16, torch.bfloat16)


# ------------------------------------------------------------------------------ checks




def _check_weight(weight, name: str = "weight", ndims: tuple[int, ...] = (2, 4)) -> torch.Tensor:
    if not isinstance(weight, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor (e.g. layer.weight, or torch.as_tensor(array)); "
            f"got {type(weight).__name__}."
        )
    if not weight.is_floating_point():
        raise TypeError(f"{name} must be a real floating-point tensor; got dtype {weight.dtype}.")
    if weight.ndim not in ndims:
        what = {2: "a matrix (out_features, in_features)", 4: "a conv kernel (C_out, C_in, kh, kw)"}
        raise ValueError(
            f"{name} must be " + " or ".join(what[d] for d in ndims)
            + f"; got shape {tuple(weight.shape)}."
        )
    if weight.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(weight.shape)}): it has no spectrum.")
    check_finite(weight.detach(), name)
    return weight


def _check_grid(input_shape, kernel: torch.Tensor, name: str = "input_shape") -> tuple[int, int]:
    """(H, W) of the grid, checked: two positive integers, at least the kernel's size."""
    try:
        dims = tuple(input_shape)
    except TypeError:
        dims = None
    if (
        dims is None
        or len(dims) != 2
        or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in dims)
    ):
        raise ValueError(
            f"{name} must be the spatial size (H, W) of the layer's input, two positive integers; "
            f"got {input_shape!r}."
        )
    H, W = int(dims[0]), int(dims[1])
    kh, kw = kernel.shape[-2:]
    if kh > H or kw > W:
        raise ValueError(
            f"{name}={(H, W)} is smaller than the {kh} x {kw} kernel: a circular convolution needs "
            f"the kernel to fit in the grid (H >= {kh}, W >= {kw})."
        )
    return H, W


def _compute_dtype(weight: torch.Tensor) -> torch.Tensor:
    # FFTs and LAPACK have no half-precision kernels on the CPU: compute those in float32
    return weight.float() if weight.dtype in _HALF else weight


def _need_conv_shape(weight: torch.Tensor, input_shape, fn: str) -> None:
    if weight.ndim == 4 and input_shape is None:
        raise ValueError(
            f"{fn}: weight is a conv kernel {tuple(weight.shape)}; pass input_shape=(H, W), the "
            "spatial size of the layer's input (the operator norm depends on it). To treat the "
            "kernel as the matrix (C_out, C_in*kh*kw) instead, pass weight.reshape(len(weight), -1)."
        )
    if weight.ndim == 2 and input_shape is not None:
        raise ValueError(
            f"{fn}: input_shape is only for conv kernels (4-D weights); weight is a matrix "
            f"{tuple(weight.shape)}: drop input_shape."
        )


# ----------------------------------------------------------- the circular convolution


def _pads(kh: int, kw: int) -> tuple[int, int, int, int]:
    # torch's Conv2d(padding="same") puts (k - 1) // 2 before and the rest after
    top, left = (kh - 1) // 2, (kw - 1) // 2
    return left, kw - 1 - left, top, kh - 1 - top


def circular_conv2d(x: torch.Tensor, weight: torch.Tensor, *, adjoint: bool = False) -> torch.Tensor:
    """The stride-1 circular convolution of ``x`` with ``weight``, or its adjoint.

    ``y[o, i, j] = sum_{c, a, b} weight[o, c, a, b] x[c, (i + a - t) mod H, (j + b - l) mod W]``

    with ``t = (kh - 1) // 2``, ``l = (kw - 1) // 2``: exactly
    ``torch.nn.Conv2d(C_in, C_out, (kh, kw), padding="same", padding_mode="circular",
    bias=False)`` (a cross-correlation, as every torch convolution). The output has the
    input's ``H x W``.

    Parameters
    ----------
    x : tensor (C_in, H, W) or (N, C_in, H, W)
        The input; with ``adjoint=True`` it has ``C_out`` channels instead.
    weight : tensor (C_out, C_in, kh, kw)
        The kernel, ``kh <= H`` and ``kw <= W``.
    adjoint : bool
        Apply the adjoint (transpose) ``C^T`` instead of ``C``: the circular convolution
        with the kernel transposed in its channels and flipped in space, shifted so that
        ``<C x, y> = <x, C^T y>`` exactly.

    Returns
    -------
    tensor
        ``(C_out, H, W)`` (``C_in`` with ``adjoint=True``), batched like ``x``, on ``x``'s
        device and dtype.

    Examples
    --------
    >>> w = torch.zeros(1, 1, 1, 3, dtype=torch.float64); w[0, 0, 0, 2] = 1.0  # y[j] = x[j + 1]
    >>> x = torch.arange(4.0, dtype=torch.float64).reshape(1, 1, 4)
    >>> circular_conv2d(x, w)  # shifted left, wrapping around
    tensor([[[1., 2., 3., 0.]]], dtype=torch.float64)
    >>> circular_conv2d(x, w, adjoint=True)  # shifted right: the inverse of a permutation
    tensor([[[3., 0., 1., 2.]]], dtype=torch.float64)
    """
    weight = _check_weight(weight, ndims=(4,))
    if not isinstance(x, torch.Tensor) or x.ndim not in (3, 4):
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor (C, H, W) or (N, C, H, W); got {got}.")
    c_expected = weight.shape[0] if adjoint else weight.shape[1]
    if x.shape[-3] != c_expected:
        raise ValueError(
            f"x has {x.shape[-3]} channels but the kernel {tuple(weight.shape)} "
            f"{'outputs' if adjoint else 'takes'} {c_expected}"
            + (" (the adjoint maps C_out channels back to C_in)." if adjoint else ".")
        )
    _check_grid(x.shape[-2:], weight, "x's spatial size")
    kh, kw = weight.shape[-2:]
    left, right, top, bottom = _pads(kh, kw)
    weight = weight.to(x.dtype)
    if adjoint:
        # <C x, y> = sum w[o,c,a,b] x[c, i+a-t] y[o, i]: substitute m = i+a-t, a' = kh-1-a
        return F.conv2d(F.pad(x, (right, left, bottom, top), mode="circular"),
                        weight.transpose(0, 1).flip(-2, -1))
    return F.conv2d(F.pad(x, (left, right, top, bottom), mode="circular"), weight)


def conv_matrix(weight: torch.Tensor, input_shape) -> torch.Tensor:
    """The dense matrix of the circular convolution (:func:`circular_conv2d`) on ``H x W``.

    ``M[o H W + i W + j, c H W + m W + n]`` is the output at channel ``o``, pixel
    ``(i, j)`` for a unit input at channel ``c``, pixel ``(m, n)``, so that
    ``circular_conv2d(x, weight).reshape(-1) == M @ x.reshape(-1)``. Built by applying the
    convolution to the ``C_in H W`` basis vectors (one batched call).

    This is for tests and small sizes: the matrix has ``(C_out H W) x (C_in H W)`` entries
    (16 channels on 16 x 16 is already 4096 x 4096, 128 MiB in float64; 64 channels on
    32 x 32 would be 65536 x 65536, 32 GiB). A ``MemoryError`` naming the size is raised
    before allocating when it does not fit; :func:`conv_singular_values` and
    :func:`conv_operator_norm` give its spectrum without building it.

    Examples
    --------
    >>> w = torch.ones(1, 1, 1, 2, dtype=torch.float64)  # y[j] = x[j] + x[j + 1]
    >>> conv_matrix(w, (1, 3))
    tensor([[1., 1., 0.],
            [0., 1., 1.],
            [1., 0., 1.]], dtype=torch.float64)
    """
    weight = _check_weight(weight, ndims=(4,))
    H, W = _check_grid(input_shape, weight)
    c_out, c_in = weight.shape[:2]
    n, m = c_in * H * W, c_out * H * W
    check_memory(
        (n * n + 2 * m * n) * itemsize(weight.dtype), weight.device, name="conv_matrix",
        what=f"the dense {m} x {n} matrix (C_out={c_out}, C_in={c_in}, {H} x {W} grid)",
        alternative="conv_singular_values or conv_operator_norm give its singular values from the "
                    "FFT without building it.",
    )
    eye = torch.eye(n, device=weight.device, dtype=weight.dtype).reshape(n, c_in, H, W)
    return circular_conv2d(eye, weight).reshape(n, m).T


# ------------------------------------------------------------------- exact spectra


def _spectral_work(weight: torch.Tensor, grid: tuple[int, int]) -> int:
    """Multiply-adds of one batched decomposition of the per-frequency matrices (to pick
    one CPU thread for small work: see :mod:`spectrakit.core.threads`)."""
    c_out, c_in = weight.shape[:2]
    return grid[0] * (grid[1] // 2 + 1) * c_out * c_in * min(c_out, c_in)


def _frequency_matrices(weight: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(H, W // 2 + 1, C_out, C_in): the kernel's DFT on the grid, one matrix per frequency.

    Only the non-negative second frequencies (rfft2): for a real kernel the matrix at
    (-u, -v) is the complex conjugate of the one at (u, v), with the same singular values.
    """
    return torch.fft.rfft2(weight, s=grid).permute(2, 3, 0, 1)


def _full_grid(half: torch.Tensor, W: int) -> torch.Tensor:
    """Values at every frequency (H, W, ...) from those at v <= W // 2, by the symmetry
    (u, v) -> (-u mod H, W - v)."""
    H = half.shape[0]
    if W // 2 + 1 == W:  # W in (1, 2): the half is the whole grid
        return half
    v = torch.arange(W // 2 + 1, W, device=half.device)
    u = (-torch.arange(H, device=half.device)) % H
    return torch.cat([half, half[u][:, W - v]], dim=1)


def conv_singular_values(weight: torch.Tensor, input_shape, *, by_frequency: bool = False) -> torch.Tensor:
    """All singular values of the circular convolution with ``weight`` on an ``H x W`` grid.

    With ``K_hat(u, v) = sum_{a, b} weight[:, :, a, b] exp(-2 pi i (u a / H + v b / W))``,
    the ``C_out x C_in`` DFT of the kernel zero-padded to ``H x W``, the singular values of
    the operator (:func:`circular_conv2d`, :func:`conv_matrix`) are the union over the
    ``H W`` frequencies of ``svdvals(K_hat(u, v))`` (Sedghi, Gupta & Long 2019). The
    spatial shift and the correlation/convolution convention do not change them.

    Parameters
    ----------
    weight : tensor (C_out, C_in, kh, kw)
        The kernel (stride 1, no dilation, one group; see :func:`layer_spectra` for
        layers that have those).
    input_shape : (H, W)
        The grid, at least the kernel's size.
    by_frequency : bool
        Return them arranged by frequency, ``(H, W, min(C_out, C_in))`` (each frequency's
        values descending; frequency ``(u, v)`` in ``torch.fft.fft2``'s order), instead of
        as one sorted list.

    Returns
    -------
    tensor (H W min(C_out, C_in),)
        Every singular value with its multiplicity, descending, on the weight's device and
        dtype (differentiable through ``torch.linalg.svdvals``). Only ``W // 2 + 1``
        columns of frequencies are decomposed (``rfft2``): the rest are complex conjugates
        with the same singular values, copied.

    Examples
    --------
    >>> w = torch.zeros(2, 2, 3, 3, dtype=torch.float64)
    >>> w[0, 0, 1, 1], w[1, 1, 1, 1] = 1.0, 2.0  # scale channel 0 by 1, channel 1 by 2
    >>> s = conv_singular_values(w, (4, 4))
    >>> s.shape, s[:3], s[-1]
    (torch.Size([32]), tensor([2., 2., 2.], dtype=torch.float64), tensor(1., dtype=torch.float64))
    >>> blur = torch.full((1, 1, 3, 3), 1 / 9, dtype=torch.float64)  # 3 x 3 mean filter
    >>> conv_singular_values(blur, (8, 8), by_frequency=True)[0, 0]  # passes constants
    tensor([1.], dtype=torch.float64)
    """
    weight = _check_weight(weight, ndims=(4,))
    grid = _check_grid(input_shape, weight)
    if not isinstance(by_frequency, bool):
        raise TypeError(f"by_frequency must be True or False; got {by_frequency!r}.")
    with single_thread_if_small(_spectral_work(weight, grid), weight.device):
        s = _full_grid(torch.linalg.svdvals(_frequency_matrices(_compute_dtype(weight), grid)), grid[1])
    s = s.to(weight.dtype)
    if by_frequency:
        return s
    return torch.sort(s.reshape(-1), descending=True).values


def conv_operator_norm(weight: torch.Tensor, input_shape) -> torch.Tensor:
    """The spectral norm of the circular convolution with ``weight`` on ``H x W``, exactly.

    ``||C||_2 = max_(u, v) sigma_max(K_hat(u, v))``, the largest of
    :func:`conv_singular_values` (see there for ``K_hat``): one ``rfft2`` and one batched
    ``svdvals`` over the ``H (W // 2 + 1)`` frequencies it keeps (the others are
    conjugates, with the same singular values). Accurate to rounding relative to the
    norm; differentiable.

    Stride-1 circular convolutions only. Other convolutions are bounded by one: a
    zero-padded convolution on ``H x W`` with ``p`` pixels of padding on a side (``p < k``)
    is a submatrix of the circular convolution on ``(H + p_h) x (W + p_w)`` (``p_h`` the
    larger of the top and bottom padding), so its norm is at most
    ``conv_operator_norm(weight, (H + p_h, W + p_w))``; a stride ``> 1`` keeps a subset of
    the output rows and can only lower the norm (:func:`layer_spectra` does this for
    ``nn.Conv2d`` layers).

    Returns
    -------
    tensor ()
        On the weight's device and dtype.

    Examples
    --------
    >>> blur = torch.full((1, 1, 3, 3), 1 / 9, dtype=torch.float64)
    >>> conv_operator_norm(blur, (8, 8))
    tensor(1., dtype=torch.float64)
    >>> g = torch.Generator().manual_seed(0)
    >>> w = torch.randn(8, 4, 3, 3, generator=g, dtype=torch.float64)
    >>> round(float(conv_operator_norm(w, (16, 16))), 6) == round(float(conv_singular_values(w, (16, 16))[0]), 6)
    True
    """
    weight = _check_weight(weight, ndims=(4,))
    grid = _check_grid(input_shape, weight)
    # a batched SVD is as fast as the Gram matrices' eigvalsh on the CPU (the products
    # cost as much as the decompositions at 64 channels) and needs no squaring
    with single_thread_if_small(_spectral_work(weight, grid), weight.device):
        top = torch.linalg.svdvals(_frequency_matrices(_compute_dtype(weight), grid))[..., 0].max()
    return top.to(weight.dtype)


# ------------------------------------------------------------------ power iteration


class PowerIteration(NamedTuple):
    """Result of :func:`power_iteration`: unpacks as ``sigma, vector, history``."""

    sigma: torch.Tensor
    """0-d: the last estimate ``||A v_k||`` (a lower bound on the spectral norm)."""
    vector: torch.Tensor
    """The unit vector ``v_k``, the estimate of the top right singular vector."""
    history: torch.Tensor
    """(k,): the estimate after each iteration, ``history[k - 1] = ||A v_k||``."""


def _default_tol(dtype: torch.dtype) -> float:
    return 1e-6 if dtype == torch.float64 else 1e-4


def _start_vector(n, seed, v0, device, dtype, name="v0"):
    if v0 is not None:
        if not isinstance(v0, torch.Tensor) or v0.numel() != n:
            got = tuple(v0.shape) if isinstance(v0, torch.Tensor) else type(v0).__name__
            raise ValueError(f"{name} must be a tensor with {n} entries (the operator's input size); got {got}.")
        v = v0.detach().reshape(-1).to(device=device, dtype=dtype)  # may be a view of v0
        norm = torch.linalg.vector_norm(v)
        if not bool(torch.isfinite(norm)) or not bool(norm > 0):
            raise ValueError(f"{name} must be finite and nonzero (it is normalized to the start vector).")
        return v / norm  # a new tensor: v0 is never changed
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    v = torch.randn(n, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype)
    return v / torch.linalg.vector_norm(v)


def power_iteration(
    operator,
    n: int | None = None,
    *,
    rmatvec: Callable[[torch.Tensor], torch.Tensor] | None = None,
    max_iter: int = 100,
    tol: float | None = None,
    seed: int | None = None,
    v0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
    device=None,
    dtype: torch.dtype | None = None,
) -> PowerIteration:
    """The spectral norm ``sigma_1 = ||A||_2`` of a matrix or linear operator by power
    iteration on ``A^T A`` (the method of spectral normalization, Miyato et al. 2018).

    From a unit ``v_0``, iteration ``k = 1, 2, ...`` is one application of ``A^T A``:

    ``v_k = A^T A v_(k-1) / ||A^T A v_(k-1)||``,  estimate ``sigma_(k) = ||A v_k||``

    (one ``A^T`` and one ``A`` product each; ``A v_0`` once more at the start). This is
    SN-GAN's (and torch's ``spectral_norm``'s) step ``v <- A^T u / ||.||``,
    ``u <- A v / ||.||`` with ``sigma = u^T A v = ||A v||``, where ``u = A v_(k-1) / ||.||``.
    ``sigma_(k) <= sigma_1`` always, and it never decreases
    with ``k``. With singular values ``s_1 > s_2 >= ...`` and ``v_0`` not orthogonal to the
    top right singular vector ``q_1``, the angle ``theta_k`` between ``v_k`` and ``q_1``
    falls like ``tan(theta_k) ~ (s_2 / s_1)^(2k)`` and, because
    ``sigma_1^2 - sigma_(k)^2 = sum_i (s_1^2 - s_i^2) (v_k . q_i)^2 ~ (s_1^2 - s_2^2) sin^2(theta_k)``,
    the estimate's relative error ``(s_1 - sigma_(k)) / s_1`` like ``(s_2 / s_1)^(4k)``
    (both verified numerically in the tests). A persistent estimate (SN-GAN's one step per
    training step) passes the previous ``vector`` as ``v0``.

    Parameters
    ----------
    operator : tensor (m, n) or callable
        A matrix, or ``matvec(v) = A v`` for a flat ``v`` of length ``n`` (any output
        length ``m``).
    n : int, optional
        The input size; required for a callable.
    rmatvec : callable, optional
        ``rmatvec(u) = A^T u``; required for a callable (for a symmetric operator pass
        the same callable; for a conv layer see :func:`conv_power_iteration`).
    max_iter : int
        The most iterations (``>= 1``).
    tol : float, optional
        Stop once ``|sigma_(k) - sigma_(k-1)| <= tol * sigma_(k)``; ``tol=0`` runs exactly
        ``max_iter`` iterations. Default 1e-6 in float64 and 1e-4 otherwise. The remaining
        error is then about ``tol * q / (1 - q)`` with ``q = (s_2 / s_1)^4``: small when the
        top two singular values are apart, and not small when they nearly coincide (the
        estimate then creeps up slowly; :func:`gram_iteration_norm` gives an upper bound).
    seed : int, optional
        Seeds the random start (drawn on the CPU, then moved): same seed, same result.
    v0 : tensor, optional
        The start vector instead of a random one (normalized; not modified).
    callback : callable, optional
        ``callback(k, sigma_k, v_k)`` after each iteration (do not modify ``v_k``).
    device, dtype
        Where and in what the vectors live for a callable operator (default: ``v0``'s,
        else the CPU and float64); a matrix's own are used for a matrix.

    Returns
    -------
    PowerIteration
        ``(sigma, vector, history)``: the last estimate (0-d), ``v_k`` (n,), and every
        estimate (k,); detached. For a differentiable normalization use ``||A v||`` with
        this ``vector`` held fixed, as SN-GAN does. A ``RuntimeWarning`` says when
        ``max_iter`` is reached with ``tol > 0`` before the estimate settled.

    Examples
    --------
    >>> A = torch.diag(torch.tensor([3.0, 1.0, 0.5], dtype=torch.float64))
    >>> sigma, v, history = power_iteration(A, seed=0, max_iter=4, tol=0)
    >>> [f"{3 - float(s):.1e}" for s in history]  # the error falls by about (1/3)^4 a step
    ['2.8e-03', '9.1e-06', '9.2e-08', '1.1e-09']
    >>> sigma, v, history = power_iteration(lambda v: A @ v, 3, rmatvec=lambda u: A.T @ u, seed=0)
    >>> round(float(sigma), 8), len(history)
    (3.0, 4)
    """
    if isinstance(operator, torch.Tensor):
        A = _check_weight(operator, "operator", ndims=(2,))
        if n is not None and n != A.shape[1]:
            raise ValueError(f"n={n} but the matrix has {A.shape[1]} columns: drop n for a matrix.")
        if rmatvec is not None:
            raise ValueError("rmatvec is only for a callable operator; a matrix's transpose is used.")
        for arg, val in (("device", device), ("dtype", dtype)):
            if val is not None:
                raise ValueError(f"{arg} is only for a callable operator; a matrix's own {arg} is used.")
        A = A.detach()
        n, device, dtype = A.shape[1], A.device, A.dtype
        matvec, rmatvec = (lambda v: A @ v), (lambda u: A.mT @ u)
        work = A.numel()
    elif callable(operator):
        matvec = operator
        work = math.inf  # unknown: leave the threads alone
        if n is None:
            raise ValueError("n (the operator's input size) is required when operator is a callable.")
        n = check_int(n, "n", 1)
        if not callable(rmatvec):
            raise TypeError(
                "rmatvec must be a callable u -> A^T u when operator is a callable (pass the same "
                "callable for a symmetric operator); "
                f"got {type(rmatvec).__name__}."
            )
        if device is None:
            device = v0.device if isinstance(v0, torch.Tensor) else torch.device("cpu")
        if dtype is None:
            dtype = v0.dtype if isinstance(v0, torch.Tensor) and v0.is_floating_point() else torch.float64
    else:
        raise TypeError(f"operator must be a matrix (torch.Tensor) or a callable v -> A v; got {type(operator).__name__}.")
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = _default_tol(dtype) if tol is None else check_real(tol, "tol")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a callable (k, sigma, v) or None; got {type(callback).__name__}.")

    def apply(fn, x, size, what):
        y = fn(x)
        if not isinstance(y, torch.Tensor) or y.ndim != 1 or (size is not None and y.numel() != size):
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ValueError(f"{what} must return a flat tensor" + (f" of length {size}" if size else "") + f"; got {got}.")
        return y.to(device=device, dtype=dtype)

    with torch.no_grad(), single_thread_if_small(work, device):
        v = _start_vector(n, seed, v0, device, dtype)
        u = apply(matvec, v, None, "matvec")
        m = u.numel()
        sigma = torch.linalg.vector_norm(u)
        history, converged = [], False
        for k in range(1, max_iter + 1):
            w = apply(rmatvec, u, n, "rmatvec")
            norm = torch.linalg.vector_norm(w)
            if not bool(torch.isfinite(norm)):
                raise ValueError(f"the operator returned non-finite values at iteration {k}: check it.")
            if not bool(norm > 0):  # A^T A v = 0 means A v = 0: nothing left to amplify
                sigma = torch.zeros((), device=device, dtype=dtype)
                history.append(sigma)
                converged = True
                break
            v = w / norm
            u = apply(matvec, v, m, "matvec")
            previous, sigma = sigma, torch.linalg.vector_norm(u)
            history.append(sigma)
            if callback is not None:
                callback(k, sigma, v)
            if tol > 0 and bool(abs(sigma - previous) <= tol * sigma):
                converged = True
                break
    if tol > 0 and not converged:
        change = float(abs(history[-1] - (history[-2] if len(history) > 1 else history[-1])))
        warnings.warn(
            f"power_iteration stopped at max_iter={max_iter} before the estimate settled (last "
            f"relative change {change / max(float(sigma), 1e-300):.1e} > tol={tol:.1e}): the top "
            "two singular values are close. Raise max_iter, or bound the norm from above with "
            "gram_iteration_norm.",
            RuntimeWarning,
            stacklevel=2,
        )
    return PowerIteration(sigma, v, torch.stack(history))


def conv_power_iteration(
    weight: torch.Tensor,
    input_shape,
    *,
    max_iter: int = 100,
    tol: float | None = None,
    seed: int | None = None,
    v0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
) -> PowerIteration:
    """:func:`power_iteration` on the circular convolution with ``weight`` on ``H x W``.

    Each iteration is one convolution and one adjoint convolution
    (:func:`circular_conv2d`); no matrix is formed. ``vector`` (and ``v0``, if given) has
    the input's shape ``(C_in, H, W)``. The estimate is a lower bound on
    :func:`conv_operator_norm`, the exact value.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> w = torch.randn(8, 4, 3, 3, generator=g, dtype=torch.float64)
    >>> est = conv_power_iteration(w, (16, 16), seed=0, tol=1e-12, max_iter=500)
    >>> est.vector.shape, round(float(est.sigma), 6) == round(float(conv_operator_norm(w, (16, 16))), 6)
    (torch.Size([4, 16, 16]), True)
    """
    weight = _check_weight(weight, ndims=(4,))
    H, W = _check_grid(input_shape, weight)
    w = weight.detach()
    c_out, c_in = w.shape[:2]
    # each step is two small convolutions: one CPU thread for them when small
    with single_thread_if_small(w.numel() * H * W, w.device):
        res = power_iteration(
            lambda v: circular_conv2d(v.reshape(c_in, H, W), w).reshape(-1),
            c_in * H * W,
            rmatvec=lambda u: circular_conv2d(u.reshape(c_out, H, W), w, adjoint=True).reshape(-1),
            max_iter=max_iter, tol=tol, seed=seed, v0=v0,
            callback=None if callback is None else (lambda k, s, v: callback(k, s, v.reshape(c_in, H, W))),
            device=w.device, dtype=w.dtype,
        )
    return PowerIteration(res.sigma, res.vector.reshape(c_in, H, W), res.history)


# ------------------------------------------------------------------- Gram iteration


def gram_iteration_norm(weight: torch.Tensor, input_shape=None, n_iter: int = 4) -> torch.Tensor:
    """An upper bound on the spectral norm by Gram iteration (Delattre, Barthelemy, Araujo
    & Allauzen 2023), for a matrix or a circular convolution.

    For a matrix, ``G_0 = W`` and ``G_(t+1) = G_t^H G_t`` (the smaller Gram first) give
    ``sigma_1(G_t) = sigma_1(W)^(2^t)`` and so

    ``sigma_1(W) <= ||G_t||_F^(1 / 2^t) = (sum_i sigma_i^(2^(t+1)))^(1 / 2^(t+1))``

    which approaches ``sigma_1`` superlinearly: the excess factor is
    ``(1 + sum_(i>1) (sigma_i / sigma_1)^(2^(t+1)))^(1 / 2^(t+1))``. Each step divides
    ``G_t`` by its Frobenius norm and keeps the log of the scale, so nothing overflows. For
    a convolution the same runs at once on the per-frequency matrices ``K_hat(u, v)`` (see
    :func:`conv_singular_values`; ``rfft2`` half suffices) and the bound is the largest
    per-frequency bound, which is never below :func:`conv_operator_norm` and much tighter
    than one bound for the whole block-diagonal matrix. It is differentiable (a Lipschitz
    regularizer) and costs ``n_iter`` batched matrix products, no SVD.

    Parameters
    ----------
    weight : tensor (m, n) or (C_out, C_in, kh, kw)
        A dense layer's matrix, or a conv kernel (with ``input_shape``).
    input_shape : (H, W), optional
        The conv layer's input grid; required for a kernel, not allowed for a matrix.
    n_iter : int
        Gram steps ``t >= 0`` (``0`` gives the Frobenius norm). Random 8 x 4 x 3 x 3
        kernels on a 16 x 16 grid are within 1e-3 relative after 4.

    Returns
    -------
    tensor ()
        On the weight's device and dtype. It includes a rounding allowance of
        ``(2 r + 2 log2(H W) + 10)`` machine epsilons (relative; ``r = min(m, n)`` or
        ``min(C_out, C_in)``, about 3e-14 in float64 for 64 channels): rounding errors of
        step ``s`` reach the result divided by ``2^s``, so without it a converged bound
        (large ``n_iter``) could sit a few units in the last place below the exact norm.
        With it the bound stays above :func:`conv_operator_norm` and ``svdvals`` in the
        same precision.

    Examples
    --------
    >>> W = torch.diag(torch.tensor([3.0, 1.0], dtype=torch.float64))
    >>> [round(float(gram_iteration_norm(W, n_iter=t)), 6) for t in range(4)]  # sqrt(10) first
    [3.162278, 3.009217, 3.000057, 3.0]
    """
    weight = _check_weight(weight)
    _need_conv_shape(weight, input_shape, "gram_iteration_norm")
    n_iter = check_int(n_iter, "n_iter", 0)
    w = _compute_dtype(weight)
    if w.ndim == 4:
        grid = _check_grid(input_shape, w)
        work = _spectral_work(w, grid) * max(n_iter, 1)
    else:
        work = w.shape[0] * w.shape[1] * min(w.shape) * max(n_iter, 1)
    with single_thread_if_small(work, w.device):
        d = _frequency_matrices(w, grid) if w.ndim == 4 else w
        wide = d.shape[-2] < d.shape[-1]
        log_scale = torch.zeros(d.shape[:-2], device=d.device, dtype=w.dtype)
        for t in range(n_iter):
            f = torch.linalg.matrix_norm(d)  # Frobenius, per frequency
            log_scale = 2 * (log_scale + torch.log(f))  # -inf for an all-zero matrix: bound 0
            d = d / torch.where(f > 0, f, torch.ones_like(f))[..., None, None]
            d = (d @ d.mH) if (t == 0 and wide) else (d.mH @ d)
        log_bound = (torch.log(torch.linalg.matrix_norm(d)) + log_scale) / 2**n_iter
    # rounding allowance, so that the bound holds in floating point too: an error of
    # relative size e in the Gram product of step s reaches the result as e / 2^s, so the
    # total stays below about 2 r eps (r the Gram size) however many steps are taken; the
    # FFT adds about log2(H W) eps, the logs, exp and norms a few more
    r = min(d.shape[-2:])
    cells = d.shape[0] * d.shape[1] if d.ndim == 4 else 1
    allowance = (2 * r + 2 * math.ceil(math.log2(2 * cells)) + 10) * torch.finfo(w.dtype).eps
    return (torch.exp(log_bound.max()) * (1 + allowance)).to(weight.dtype)


# ------------------------------------------------------------ normalization, penalty


def spectral_normalize(weight: torch.Tensor, target: float = 1.0, input_shape=None) -> torch.Tensor:
    """A new weight ``target * W / ||W||_2`` whose exact spectral norm is ``target``.

    For a matrix ``||W||_2`` is its largest singular value; for a conv kernel it is the
    norm of the circular convolution on ``input_shape`` (:func:`conv_operator_norm`), so
    the normalized layer has ``conv_operator_norm == target`` on that grid. (torch's
    ``spectral_norm`` instead divides by the norm of the reshaped kernel
    ``(C_out, C_in kh kw)``, which is not the operator's: see the tests.) Differentiable;
    ``weight`` is not modified.

    Parameters
    ----------
    weight : tensor (m, n) or (C_out, C_in, kh, kw)
    target : float
        The norm wanted, ``> 0``.
    input_shape : (H, W), optional
        The conv layer's input grid; required for a kernel.

    Examples
    --------
    >>> W = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> spectral_normalize(W)
    tensor([[1.0000, 0.0000],
            [0.0000, 0.3333]], dtype=torch.float64)
    >>> blur = torch.full((1, 1, 3, 3), 1 / 9, dtype=torch.float64)
    >>> float(conv_operator_norm(spectral_normalize(blur, 2.0, (8, 8)), (8, 8)))
    2.0
    """
    weight = _check_weight(weight)
    _need_conv_shape(weight, input_shape, "spectral_normalize")
    target = check_real(target, "target", strict=True)
    if weight.ndim == 4:
        norm = conv_operator_norm(weight, input_shape)
    else:
        norm = torch.linalg.svdvals(_compute_dtype(weight))[0].to(weight.dtype)
    if not bool(norm > 0):
        raise ValueError("weight is all zeros: its norm is 0 and it cannot be scaled to a norm of target.")
    return weight * (target / norm)


def orthogonality_penalty(weight: torch.Tensor, input_shape=None, *, off_diagonal: bool = False) -> torch.Tensor:
    """The orthogonality regularizer ``||W^T W - I||_F^2`` as a differentiable scalar.

    The Gram matrix is of the smaller side: ``W^T W - I_n`` for a tall or square ``W``
    (m >= n; zero iff the columns are orthonormal) and ``W W^T - I_m`` for a wide one
    (zero iff the rows are). It equals ``sum_i (sigma_i^2 - 1)^2`` over the
    ``min(m, n)`` singular values, so minimizing it drives every one of them to 1.

    - matrix (m, n): as above.
    - conv kernel without ``input_shape``: the kernel reshaped to ``(C_out, C_in kh kw)``
      (the filters as rows; the usual "kernel orthogonality", e.g. Brock et al. 2017).
    - conv kernel with ``input_shape=(H, W)``: the circular convolution operator ``C``
      itself (orthogonal convolutions, Achour et al. 2022): since the DFT
      block-diagonalizes ``C``, ``||C^T C - I||_F^2 = sum_(u,v) ||K_hat^H K_hat - I||_F^2``
      (``K_hat K_hat^H`` when ``C_out < C_in``), computed from ``rfft2`` with the
      conjugate columns counted twice. This is the squared Frobenius distance of the whole
      ``(C_in H W)``-sized Gram matrix to the identity, so it grows with ``H W``.
    - ``off_diagonal=True`` (matrices and reshaped kernels only): ``||G * (1 - I)||_F^2``,
      the off-diagonal part only (BigGAN's variant, Brock et al. 2019), which leaves the
      norms of the rows (columns) free.

    Examples
    --------
    >>> orthogonality_penalty(torch.eye(3, 2, dtype=torch.float64))  # orthonormal columns
    tensor(0., dtype=torch.float64)
    >>> orthogonality_penalty(2 * torch.eye(2, dtype=torch.float64))  # 2 * (4 - 1)^2
    tensor(18., dtype=torch.float64)
    >>> w = torch.zeros(2, 2, 3, 3, dtype=torch.float64); w[0, 0, 1, 1] = w[1, 1, 1, 1] = 1.0
    >>> round(float(orthogonality_penalty(w, (8, 8))), 12)  # the identity convolution
    0.0
    """
    weight = _check_weight(weight)
    if not isinstance(off_diagonal, bool):
        raise TypeError(f"off_diagonal must be True or False; got {off_diagonal!r}.")
    if weight.ndim == 2 and input_shape is not None:
        _need_conv_shape(weight, input_shape, "orthogonality_penalty")
    w = _compute_dtype(weight)
    if weight.ndim == 4 and input_shape is not None:
        if off_diagonal:
            raise ValueError(
                "off_diagonal=True applies to the weight matrix (or the reshaped kernel): drop "
                "input_shape, or use off_diagonal=False for the convolution operator."
            )
        H, W = _check_grid(input_shape, w)
        with single_thread_if_small(_spectral_work(w, (H, W)), w.device):
            d = _frequency_matrices(w, (H, W))
            g = d.mH @ d if d.shape[-1] <= d.shape[-2] else d @ d.mH
            eye = torch.eye(g.shape[-1], device=g.device, dtype=g.dtype)
            per_freq = torch.linalg.matrix_norm(g - eye) ** 2  # (H, W // 2 + 1)
        counts = torch.full((per_freq.shape[1],), 2.0, device=g.device, dtype=per_freq.dtype)
        counts[0] = 1.0
        if W % 2 == 0:
            counts[-1] = 1.0  # the Nyquist column is its own conjugate
        return (per_freq * counts).sum().to(weight.dtype)
    mat = w.reshape(w.shape[0], -1)
    g = mat.mT @ mat if mat.shape[0] >= mat.shape[1] else mat @ mat.mT
    eye = torch.eye(g.shape[0], device=g.device, dtype=g.dtype)
    diff = g * (1 - eye) if off_diagonal else g - eye
    return (diff**2).sum().to(weight.dtype)


# ------------------------------------------------------------------------ models


class LayerSpectrum(NamedTuple):
    """One layer's spectrum, as :func:`layer_spectra` returns it."""

    name: str
    """The module's qualified name in the model (``model.get_submodule(name)``)."""
    kind: str
    """``"linear"`` or ``"conv2d"``."""
    singular_values: torch.Tensor
    """All singular values, descending (a conv: of the circular operator on ``grid``)."""
    norm: torch.Tensor
    """0-d, the largest singular value."""
    exact: bool
    """True when these are the layer's own singular values; False when they are those of a
    circular convolution that contains the layer's map as a submatrix (zero padding,
    stride > 1), so ``norm`` is an upper bound on the layer's norm."""
    grid: tuple[int, int] | None
    """The circular grid (H, W) used for a conv layer; None for a linear one."""


@contextlib.contextmanager
def _buffers_restored(model: nn.Module):
    """Run the model without leaving a trace: buffers (BatchNorm statistics) copied back."""
    saved = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, s in saved:
                b.copy_(s)


def _check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
    return model


def conv_input_shapes(model: nn.Module, example_input: torch.Tensor) -> dict[str, tuple[int, int]]:
    """The spatial size ``(H, W)`` of the input of every ``nn.Conv2d`` in ``model``.

    One forward pass of ``example_input`` (a batch, e.g. ``torch.zeros(1, C, H, W)``)
    under ``torch.no_grad()`` with forward pre-hooks; the hooks are removed and the
    model's buffers (BatchNorm running statistics) restored afterwards. Pass the result
    as ``input_shape`` to :func:`layer_spectra` and :func:`lipschitz_bound`. A Conv2d
    called more than once keeps its first size.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, padding=1))
    >>> conv_input_shapes(net, torch.zeros(1, 3, 16, 16))
    {'0': (16, 16), '2': (8, 8)}
    """
    model = _check_model(model)
    if not isinstance(example_input, torch.Tensor):
        raise TypeError(f"example_input must be a torch.Tensor batch; got {type(example_input).__name__}.")
    shapes: dict[str, tuple[int, int]] = {}
    handles = []

    def hook_for(name):
        def hook(module, args):
            if name not in shapes and args and isinstance(args[0], torch.Tensor):
                shapes[name] = tuple(int(s) for s in args[0].shape[-2:])
        return hook

    try:
        for name, module in model.named_modules():
            if isinstance(module, nn.Conv2d):
                handles.append(module.register_forward_pre_hook(hook_for(name)))
        with _buffers_restored(model), torch.no_grad():
            model(example_input)
    finally:
        for h in handles:
            h.remove()
    order = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    return {name: shapes[name] for name in order if name in shapes}


def _conv_pads(module: nn.Conv2d, kh: int, kw: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) zero/circular padding of a Conv2d with effective kernel kh x kw."""
    if isinstance(module.padding, str):
        if module.padding == "valid":
            return 0, 0, 0, 0
        th, tw = kh - 1, kw - 1  # "same": torch puts total // 2 first
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = module.padding
    return ph, ph, pw, pw


def _conv_operator(module: nn.Conv2d, name: str, hw) -> tuple[torch.Tensor, tuple[int, int], bool]:
    """The kernel and grid of the circular convolution that is (exact) or contains the layer."""
    w = module.weight
    groups = module.groups
    if groups > 1:  # block diagonal in the channels
        c_out, c_in_g = w.shape[:2]
        full = w.new_zeros(c_out, c_in_g * groups, *w.shape[2:])
        co_g = c_out // groups
        for g in range(groups):
            full[g * co_g:(g + 1) * co_g, g * c_in_g:(g + 1) * c_in_g] = w[g * co_g:(g + 1) * co_g]
        w = full
    dh, dw = module.dilation
    if dh > 1 or dw > 1:  # a dilated kernel is the kernel with zeros in between
        kh, kw = w.shape[-2:]
        dil = w.new_zeros(*w.shape[:2], dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        dil[:, :, ::dh, ::dw] = w
        w = dil
    kh, kw = w.shape[-2:]
    top, bottom, left, right = _conv_pads(module, kh, kw)
    stride_one = tuple(module.stride) == (1, 1)
    H, W = _check_grid(hw, w, f"input_shape for layer {name!r}")
    if module.padding_mode == "circular":
        if top + bottom > kh - 1 or left + right > kw - 1:
            raise ValueError(
                f"layer {name!r} pads circularly by more than kernel size - 1 ({top + bottom} > {kh - 1} "
                f"or {left + right} > {kw - 1}): its output repeats rows, which no circular operator "
                "on the input grid bounds. Use padding <= (kernel size - 1) / 2."
            )
        exact = stride_one and top + bottom == kh - 1 and left + right == kw - 1
        return w, (H, W), exact  # fewer padded rows: a subset of the circular operator's rows
    if module.padding_mode == "zeros":
        if max(top, bottom) > kh - 1 or max(left, right) > kw - 1:
            raise ValueError(
                f"layer {name!r} zero-pads by more than kernel size - 1: not supported; use "
                "padding <= kernel size - 1."
            )
        # zero padding p on H x W = rows of the circular operator on (H + p) x (W + p)
        grid = (H + max(top, bottom), W + max(left, right))
        exact = stride_one and kh == kw == 1 and top == bottom == left == right == 0
        return w, grid, exact
    raise ValueError(
        f"layer {name!r} uses padding_mode={module.padding_mode!r}: its norm is not bounded by a "
        "circular convolution's. Only 'zeros' and 'circular' padding are supported."
    )


def _layers(model: nn.Module, input_shape):
    """(name, kind, matrix or kernel, grid or None, exact) for every Linear and Conv2d."""
    model = _check_model(model)
    if input_shape is not None and not isinstance(input_shape, dict):
        try:
            ok = len(tuple(input_shape)) == 2
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(
                "input_shape must be (H, W), the spatial size every Conv2d sees, or a dict from "
                f"layer name to (H, W) (see conv_input_shapes); got {input_shape!r}."
            )
    out = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            out.append((name, "linear", _check_weight(module.weight, f"layer {name!r}'s weight"), None, True))
        elif isinstance(module, nn.Conv2d):
            if input_shape is None:
                raise ValueError(
                    f"layer {name!r} is a Conv2d: pass input_shape=(H, W) (the spatial size of its "
                    "input) or the dict conv_input_shapes(model, example_input) returns."
                )
            if isinstance(input_shape, dict):
                if name not in input_shape:
                    raise ValueError(
                        f"input_shape has no entry for the Conv2d {name!r} (it has {sorted(input_shape)}): "
                        "build it with conv_input_shapes(model, example_input)."
                    )
                hw = input_shape[name]
            else:
                hw = input_shape
            _check_weight(module.weight, f"layer {name!r}'s weight")
            w, grid, exact = _conv_operator(module, name, hw)
            out.append((name, "conv2d", w, grid, exact))
    if not out:
        raise ValueError("model has no nn.Linear or nn.Conv2d layer: there is no weight spectrum to compute.")
    return out


def layer_spectra(model: nn.Module, input_shape=None) -> list[LayerSpectrum]:
    """The singular values of every ``nn.Linear`` and ``nn.Conv2d`` layer of a model.

    A linear layer: ``torch.linalg.svdvals(weight)``. A Conv2d: the circular
    convolution's, by FFT (:func:`conv_singular_values`): exact (``exact=True``) for
    stride 1 with circular "same" padding; otherwise the circular operator that contains
    the layer as a submatrix (zero padding ``p``: the grid ``(H + p_h, W + p_w)``; stride
    ``> 1`` or less padding: a subset of rows), so ``norm`` is an upper bound
    (``exact=False``). Grouped and dilated kernels are expanded to the equivalent full
    kernel. Reflect and replicate padding raise. Parametrized weights (e.g. torch's
    ``spectral_norm``) are taken as the layer uses them (``module.weight``).

    Parameters
    ----------
    model : nn.Module
        Searched with ``named_modules()``, in that order; not modified.
    input_shape : (H, W) or dict, optional
        The spatial size of each Conv2d's input: one ``(H, W)`` for all, or a dict from
        layer name to ``(H, W)`` (:func:`conv_input_shapes` builds it by a forward pass).
        Not needed without conv layers.

    Returns
    -------
    list of LayerSpectrum
        ``(name, kind, singular_values, norm, exact, grid)`` per layer, on the weights'
        device and dtype, detached (for differentiable norms use
        :func:`conv_operator_norm` or :func:`gram_iteration_norm` on the weight).

    Examples
    --------
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular"), nn.ReLU(),
    ...                     nn.Flatten(), nn.Linear(2 * 8 * 8, 3))
    >>> [(s.name, s.kind, tuple(s.singular_values.shape), s.exact, s.grid) for s in layer_spectra(net, (8, 8))]
    [('0', 'conv2d', (64,), True, (8, 8)), ('3', 'linear', (3,), True, None)]
    """
    with torch.no_grad():
        result = []
        for name, kind, w, grid, exact in _layers(model, input_shape):
            if kind == "linear":
                s = torch.linalg.svdvals(_compute_dtype(w)).to(w.dtype)
            else:
                s = conv_singular_values(w, grid)
            result.append(LayerSpectrum(name, kind, s, s[0], exact, grid))
    return result


def lipschitz_bound(model: nn.Module, input_shape=None) -> torch.Tensor:
    """An upper bound on the Lipschitz constant (l2) of a feed-forward network: the product
    of its layers' spectral norms.

    ``Lip(f) <= prod_l ||W_l||_2`` holds when ``f`` is the composition, in order, of its
    ``nn.Linear`` / ``nn.Conv2d`` layers (biases do not matter) and 1-Lipschitz maps:
    ReLU, LeakyReLU (slope <= 1), tanh, sigmoid, ELU (alpha <= 1), flattening,
    non-overlapping max or average pooling. It does **not** hold for residual connections
    (``x + g(x)`` has ``Lip <= 1 + Lip(g)``), attention, or activations steeper than 1
    (GELU and SiLU reach about 1.1): the function cannot see the forward code, so that is
    the caller's to ensure. Parameters outside Linear and Conv2d layers (BatchNorm,
    LayerNorm, embeddings...) would change the bound, so they raise. Conv norms are those
    of :func:`layer_spectra` (exact for circular "same" stride-1 layers, an upper bound
    otherwise), computed by :func:`conv_operator_norm`; the result is differentiable.

    Parameters
    ----------
    model : nn.Module
    input_shape : (H, W) or dict, optional
        As in :func:`layer_spectra`.

    Returns
    -------
    tensor ()
        On the weights' device and dtype. :func:`max_input_gradient_norm` over any inputs
        is at most this.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
    ...     _ = net[2].weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> lipschitz_bound(net).detach()  # 2 * 5
    tensor(10.)
    """
    layers = _layers(model, input_shape)
    covered = {id(p) for name, _kind, *_ in layers for p in model.get_submodule(name).parameters()}
    stray = sorted({
        f"{name} ({type(module).__name__})"
        for name, module in model.named_modules()
        for p in module.parameters(recurse=False)
        if id(p) not in covered
    })
    if stray:
        raise ValueError(
            "lipschitz_bound covers only nn.Linear and nn.Conv2d layers, but the model has parameters in "
            f"{', '.join(stray)}: their effect on the Lipschitz constant is not counted. Bound those "
            "modules yourself (e.g. BatchNorm in eval mode scales by max |gamma| / sqrt(var + eps)) "
            "and multiply, or use layer_spectra for the covered layers."
        )
    norms = []
    for _name, kind, w, grid, _exact in layers:
        if kind == "linear":
            norms.append(torch.linalg.matrix_norm(_compute_dtype(w), ord=2).to(w.dtype))
        else:
            norms.append(conv_operator_norm(w, grid))
    return torch.stack(norms).prod()


def input_jacobian_norms(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """``||J(x_i)||_2``, the spectral norm of the input Jacobian ``d f(x) / d x`` at each input.

    ``f`` is the model applied to one sample (``model(x[None])[0]``), its output and input
    flattened; for a scalar output ``J`` is the gradient and this its Euclidean norm.
    Jacobians come from ``torch.func.vmap(torch.func.jacrev(f))`` in chunks that fit in
    memory (one sample at a time by autograd where vmap cannot run the model). The model is
    called as it is: put it in eval mode first if it has dropout or batch normalization
    (its buffers are restored afterwards, its weights are not touched).

    Parameters
    ----------
    model : nn.Module
    inputs : tensor (N, ...)
        A batch of inputs, on the model's device and dtype.

    Returns
    -------
    tensor (N,)
        On the inputs' device and dtype, detached. Each is a lower bound on the model's
        Lipschitz constant (where ``f`` is differentiable at ``x_i``).

    Examples
    --------
    >>> lin = nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> input_jacobian_norms(lin, torch.randn(4, 2))
    tensor([5., 5., 5., 5.])
    """
    model = _check_model(model)
    if not isinstance(inputs, torch.Tensor) or not inputs.is_floating_point() or inputs.ndim < 2:
        got = f"{tuple(inputs.shape)} {inputs.dtype}" if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"inputs must be a floating-point batch (N, ...) with a leading sample dim; got {got}.")
    if inputs.shape[0] == 0:
        raise ValueError("inputs is an empty batch: pass at least one input.")
    check_finite(inputs, "inputs")
    x = inputs.detach()

    def f(xi):
        return model(xi.unsqueeze(0)).reshape(-1)

    with _buffers_restored(model), torch.no_grad():
        m = model(x[:1]).numel()
    n = x[0].numel()
    per_sample = m * n * itemsize(x.dtype)
    check_memory(
        per_sample, x.device, name="input_jacobian_norms",
        what=f"one {m} x {n} input Jacobian", alternative="Use a model with fewer outputs or inputs.",
    )
    chunk = max(1, min(x.shape[0], (256 * 2**20) // max(per_sample, 1)))
    out = []
    with _buffers_restored(model):
        for start in range(0, x.shape[0], chunk):
            xs = x[start:start + chunk]
            try:
                J = torch.func.vmap(torch.func.jacrev(f))(xs)
            except (RuntimeError, NotImplementedError):  # an op vmap cannot batch
                J = torch.stack([torch.autograd.functional.jacobian(f, xi) for xi in xs])
            out.append(torch.linalg.matrix_norm(J.detach().reshape(len(xs), m, n), ord=2))
    return torch.cat(out).to(inputs.dtype)


def max_input_gradient_norm(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The largest input-Jacobian norm over ``inputs``: ``max_i ||d f / d x (x_i)||_2``.

    See :func:`input_jacobian_norms`. A lower bound on the Lipschitz constant, so at most
    :func:`lipschitz_bound` (for the networks that bound covers); the gap shows how loose
    the product of layer norms is.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
    ...     _ = net[2].weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> max_input_gradient_norm(net, torch.tensor([[1.0, 1.0], [1.0, -1.0]]))  # |(6, 4)|
    tensor(7.2111)
    """
    return input_jacobian_norms(model, inputs).max()
