"""Weight spectra in spectrakit.core.weights against dense references and torch's own tools.

References: ``torch.linalg.svdvals`` / ``matrix_norm(ord=2)`` of dense matrices; the dense
matrix of a circular convolution built here independently (an ``nn.Conv2d`` with
``padding_mode="circular"`` applied to every basis vector); torch's
``nn.utils.parametrizations.spectral_norm``; autograd Jacobians.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from spectrakit.core.weights import (
    LayerSpectrum,
    PowerIteration,
    circular_conv2d,
    conv_input_shapes,
    conv_matrix,
    conv_operator_norm,
    conv_power_iteration,
    conv_singular_values,
    gram_iteration_norm,
    input_jacobian_norms,
    layer_spectra,
    lipschitz_bound,
    max_input_gradient_norm,
    orthogonality_penalty,
    power_iteration,
    spectral_normalize,
)

DT = torch.float64


def randn(*shape, seed=0, dtype=DT):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def dense_of_module(module: nn.Module, in_shape) -> torch.Tensor:
    """The matrix of a bias-free linear module, by applying it to every basis vector."""
    n = math.prod(in_shape)
    with torch.no_grad():
        out = module(torch.eye(n, dtype=DT).reshape(n, *in_shape))
    return out.reshape(n, -1).T


def circular_layer(weight: torch.Tensor) -> nn.Conv2d:
    c_out, c_in, kh, kw = weight.shape
    conv = nn.Conv2d(c_in, c_out, (kh, kw), padding="same", padding_mode="circular", bias=False).to(DT)
    with torch.no_grad():
        conv.weight.copy_(weight)
    return conv


# shapes: (C_out, C_in, kh, kw), (H, W): tall, wide, even kernels, odd and even W, W = 1
CASES = [
    ((3, 2, 3, 3), (5, 6)),
    ((2, 3, 3, 3), (6, 5)),
    ((2, 2, 2, 4), (4, 7)),
    ((4, 1, 1, 3), (3, 8)),
    ((1, 2, 3, 1), (5, 1)),
]


# ---------------------------------------------------------------- exact conv spectra


@pytest.mark.parametrize("shape,grid", CASES)
def test_conv_matrix_is_the_circular_convolution(shape, grid):
    w = randn(*shape)
    c_out, c_in = shape[:2]
    ref = dense_of_module(circular_layer(w), (c_in, *grid))  # torch's own circular conv
    M = conv_matrix(w, grid)
    assert M.shape == (c_out * grid[0] * grid[1], c_in * grid[0] * grid[1]) and M.dtype == DT
    torch.testing.assert_close(M, ref, rtol=0, atol=1e-13)
    # the adjoint is the transpose
    y = randn(2, c_out, *grid, seed=1)
    xa = circular_conv2d(y, w, adjoint=True)
    torch.testing.assert_close(xa.reshape(2, -1), y.reshape(2, -1) @ M, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape,grid", CASES)
def test_conv_singular_values_match_dense_svd(shape, grid):
    w = randn(*shape, seed=2)
    M = dense_of_module(circular_layer(w), (shape[1], *grid))
    dense = torch.linalg.svdvals(M)  # descending, min(m, n) of them
    s = conv_singular_values(w, grid)
    assert s.shape == dense.shape and s.dtype == DT
    assert bool((s[:-1] >= s[1:]).all())
    torch.testing.assert_close(s, dense, rtol=0, atol=1e-12 * float(dense[0]))
    norm = conv_operator_norm(w, grid)
    assert norm.shape == () and norm.dtype == DT
    ref = torch.linalg.matrix_norm(M, ord=2)
    assert abs(float(norm - ref)) <= 1e-13 * float(ref)


def test_conv_singular_values_by_frequency():
    w = randn(3, 2, 3, 3, seed=3)
    grid = (6, 5)
    S = conv_singular_values(w, grid, by_frequency=True)
    assert S.shape == (6, 5, 2)
    per_freq = torch.linalg.svdvals(torch.fft.fft2(w, s=grid).permute(2, 3, 0, 1))  # full grid
    torch.testing.assert_close(S, per_freq, rtol=0, atol=1e-13)
    flat = conv_singular_values(w, grid)
    torch.testing.assert_close(flat, S.reshape(-1).sort(descending=True).values)


def test_conv_spectra_float32_and_autograd():
    w = randn(4, 3, 3, 3, seed=4)
    s32 = conv_singular_values(w.float(), (8, 8))
    n32 = conv_operator_norm(w.float(), (8, 8))
    assert s32.dtype == n32.dtype == torch.float32
    torch.testing.assert_close(s32.double(), conv_singular_values(w, (8, 8)), rtol=1e-5, atol=1e-5)
    # half precision is computed in float32 and returned as given
    assert conv_operator_norm(w.half(), (8, 8)).dtype == torch.float16
    # differentiable: d||C|| / dw = u v^T read back through the FFT; check by finite differences
    wg = w.clone().requires_grad_()
    (g,) = torch.autograd.grad(conv_operator_norm(wg, (8, 8)), wg)
    d = randn(*w.shape, seed=5)
    h = 1e-6
    fd = (conv_operator_norm(w + h * d, (8, 8)) - conv_operator_norm(w - h * d, (8, 8))) / (2 * h)
    assert abs(float((g * d).sum() - fd)) <= 1e-6 * abs(float(fd))


def test_conv_inputs_are_not_modified():
    w = randn(3, 2, 3, 3, seed=6)
    saved = w.clone()
    for fn in (conv_singular_values, conv_operator_norm, conv_matrix, gram_iteration_norm,
               orthogonality_penalty, spectral_normalize):
        if fn is spectral_normalize:
            fn(w, 1.0, (6, 6))
        else:
            fn(w, (6, 6))
        assert torch.equal(w, saved), fn.__name__


def test_zero_padded_conv_is_bounded_by_the_larger_circular_one():
    # as conv_operator_norm's docstring states: zero padding p on H x W is a submatrix of
    # the circular convolution on (H + p) x (W + p)
    w = randn(3, 2, 3, 3, seed=7)
    conv = nn.Conv2d(2, 3, 3, padding=1, bias=False).to(DT)
    with torch.no_grad():
        conv.weight.copy_(w)
    M = dense_of_module(conv, (2, 6, 7))
    zero_norm = float(torch.linalg.matrix_norm(M, ord=2))
    bound = float(conv_operator_norm(w, (7, 8)))
    assert zero_norm <= bound * (1 + 1e-12)
    # and the embedding is exact: M's entries are entries of the circular matrix
    C = conv_matrix(w, (7, 8)).reshape(3, 7, 8, 2, 7, 8)
    # rows: output pixels (i, j) in 0..5 x 0..6; columns: inputs in 0..5 x 0..6, shift 1 = (k - 1)//2
    sub = C[:, :6, :7, :, :6, :7].reshape(3 * 42, 2 * 42)
    torch.testing.assert_close(sub, M, rtol=0, atol=1e-13)


# ------------------------------------------------------------------- Gram iteration


@pytest.mark.parametrize("seed", range(10))
def test_gram_iteration_claim_8x4x3x3_on_16x16(seed):
    w = randn(8, 4, 3, 3, seed=seed)
    exact = float(conv_operator_norm(w, (16, 16)))
    bounds = [float(gram_iteration_norm(w, (16, 16), n_iter=t)) for t in range(0, 7)]
    assert all(b >= exact for b in bounds), (bounds, exact)
    assert all(a >= b for a, b in zip(bounds, bounds[1:])), bounds  # l_p norms fall with p
    assert (bounds[4] - exact) / exact <= 1e-3, (bounds[4], exact)


def test_gram_iteration_on_matrices():
    for shape in [(7, 3), (3, 7), (5, 5)]:
        W = randn(*shape, seed=1)
        exact = float(torch.linalg.matrix_norm(W, ord=2))
        b0 = float(gram_iteration_norm(W, n_iter=0))
        assert abs(b0 - float(torch.linalg.matrix_norm(W))) <= 1e-14 * b0  # Frobenius
        s = torch.linalg.svdvals(W)
        for t in range(1, 6):
            b = float(gram_iteration_norm(W, n_iter=t))
            ref = float((s ** 2 ** (t + 1)).sum() ** (1 / 2 ** (t + 1)))  # the closed form
            assert b >= exact and abs(b - ref) <= 1e-12 * ref
        # after many steps it is the norm up to rounding; rescaling avoids overflow
        assert abs(float(gram_iteration_norm(W, n_iter=20)) - exact) <= 1e-13 * exact
        big = float(gram_iteration_norm(W * 1e150, n_iter=12))
        assert math.isfinite(big) and abs(big / 1e150 - exact) <= 1e-12 * exact
    assert float(gram_iteration_norm(torch.zeros(3, 2, dtype=DT))) == 0.0
    W = randn(6, 4, seed=2, dtype=torch.float32).requires_grad_()
    b = gram_iteration_norm(W, n_iter=5)
    assert b.dtype == torch.float32
    (g,) = torch.autograd.grad(b, W)
    assert bool(torch.isfinite(g).all())


# ------------------------------------------------------------------ power iteration


def matrix_with_spectrum(s, seed=0):
    n = len(s)
    U, _ = torch.linalg.qr(randn(n, n, seed=seed))
    V, _ = torch.linalg.qr(randn(n, n, seed=seed + 1))
    return U @ torch.diag(torch.tensor(s, dtype=DT)) @ V.T, V


def test_power_iteration_rates():
    # s2/s1 = 0.8; the rest at most 0.5, so (s3/s1)^(2k) is negligible against (s2/s1)^(2k)
    s = [1.0, 0.8] + [0.5 * 0.9**i for i in range(10)]
    A, V = matrix_with_spectrum(s)
    K = 18
    tangent = []
    for k in range(1, K + 1):  # the vector after exactly k iterations (same seed, tol=0)
        v = power_iteration(A, seed=1, max_iter=k, tol=0).vector
        c = abs(float(v @ V[:, 0]))
        tangent.append(math.sqrt(max(1 - c * c, 0.0)) / c)
    res = power_iteration(A, seed=1, max_iter=K, tol=0)
    assert len(res.history) == K
    rel_err = (1.0 - res.history).numpy()
    assert bool((res.history <= 1.0 + 1e-15).all())  # a lower bound ...
    assert bool((res.history[1:] >= res.history[:-1] - 1e-15).all())  # ... that never falls
    ks = np.arange(1, K + 1)
    sel = ks >= 8  # past the transient of the smaller singular values
    q = math.log(0.8)
    slope_angle = np.polyfit(ks[sel], np.log(tangent)[sel], 1)[0] / q
    slope_err = np.polyfit(ks[sel], np.log(rel_err)[sel], 1)[0] / q
    assert abs(slope_angle - 2) <= 0.05, slope_angle  # tan(theta_k) ~ (s2/s1)^(2k)
    assert abs(slope_err - 4) <= 0.1, slope_err  # (s1 - sigma_k)/s1 ~ (s2/s1)^(4k)
    # and the error is ~ (1 - (s2/s1)^2)/2 tan^2(theta_k): the constant, not only the rate
    pred = 0.5 * (1 - 0.8**2) * np.array(tangent) ** 2
    assert np.allclose(rel_err[sel], pred[sel], rtol=0.05)


def test_power_iteration_matrix_and_callable_agree_with_svdvals():
    A = randn(30, 20, seed=3)
    exact = torch.linalg.svdvals(A)[0]
    res = power_iteration(A, seed=0, tol=1e-13, max_iter=2000)
    assert isinstance(res, PowerIteration)
    sigma, v, history = res
    assert sigma.shape == () and v.shape == (20,) and history.ndim == 1
    assert float(sigma) <= float(exact) * (1 + 1e-15)
    assert abs(float(sigma - exact)) <= 1e-10 * float(exact)
    res2 = power_iteration(lambda x: A @ x, 20, rmatvec=lambda u: A.T @ u, seed=0, tol=1e-13, max_iter=2000)
    assert torch.equal(res2.history, history)
    again = power_iteration(A, seed=0, tol=1e-13, max_iter=2000)
    assert torch.equal(again.vector, v)
    # a persistent start: from the converged vector one iteration suffices
    warm = power_iteration(A, v0=v.clone(), tol=1e-10)
    assert len(warm.history) == 1
    # callback sees every iterate
    seen = []
    power_iteration(A, seed=0, max_iter=5, tol=0, callback=lambda k, s, x: seen.append((k, float(s))))
    assert [k for k, _ in seen] == [1, 2, 3, 4, 5]


def test_power_iteration_warns_and_edge_cases():
    A, _ = matrix_with_spectrum([1.0, 0.999, 0.5, 0.2])
    with pytest.warns(RuntimeWarning, match="max_iter"):
        power_iteration(A, seed=0, max_iter=3, tol=1e-12)
    res = power_iteration(torch.zeros(3, 4, dtype=DT), seed=0)
    assert float(res.sigma) == 0.0
    v0 = torch.ones(4, dtype=DT)
    power_iteration(A, v0=v0)
    assert torch.equal(v0, torch.ones(4, dtype=DT))  # not normalized in place
    with pytest.raises(TypeError, match="rmatvec"):
        power_iteration(lambda x: A @ x, 4)
    with pytest.raises(ValueError, match="n .*required"):
        power_iteration(lambda x: A @ x, rmatvec=lambda u: A.T @ u)
    with pytest.raises(ValueError, match="v0 must be a tensor with 4"):
        power_iteration(A, v0=torch.ones(3, dtype=DT))
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        power_iteration(A, max_iter=0)


def test_conv_power_iteration_is_a_lower_bound_that_converges():
    w = randn(6, 4, 3, 3, seed=8)
    exact = float(conv_operator_norm(w, (8, 8)))
    res = conv_power_iteration(w, (8, 8), seed=0, max_iter=1000, tol=1e-14)
    assert res.vector.shape == (4, 8, 8)
    assert bool((res.history <= exact * (1 + 1e-14)).all())
    assert abs(float(res.sigma) - exact) <= 1e-9 * exact
    # against the same iteration on the dense matrix
    dense = power_iteration(conv_matrix(w, (8, 8)), seed=0, max_iter=20, tol=0)
    torch.testing.assert_close(conv_power_iteration(w, (8, 8), seed=0, max_iter=20, tol=0).history,
                               dense.history, rtol=1e-12, atol=0)


# --------------------------------------------------------------- spectral normalization


def test_spectral_normalize_dense_and_conv():
    W = randn(7, 5, seed=9)
    Wn = spectral_normalize(W)
    assert abs(float(torch.linalg.matrix_norm(Wn, ord=2)) - 1) <= 1e-14
    assert abs(float(torch.linalg.matrix_norm(spectral_normalize(W, 2.5), ord=2)) - 2.5) <= 1e-14
    w = randn(4, 3, 3, 3, seed=10)
    wn = spectral_normalize(w, 1.0, (6, 6))
    assert abs(float(torch.linalg.matrix_norm(conv_matrix(wn, (6, 6)), ord=2)) - 1) <= 1e-13
    assert abs(float(conv_operator_norm(wn, (6, 6))) - 1) <= 1e-14
    # differentiable
    wg = w.clone().requires_grad_()
    spectral_normalize(wg, 1.0, (6, 6)).sum().backward()
    assert wg.grad is not None and bool(torch.isfinite(wg.grad).all())
    with pytest.raises(ValueError, match="input_shape"):
        spectral_normalize(w)
    with pytest.raises(ValueError, match="all zeros"):
        spectral_normalize(torch.zeros(2, 2, dtype=DT))
    with pytest.raises(ValueError, match="target"):
        spectral_normalize(W, -1.0)


def test_torch_spectral_norm_estimates_the_reshaped_kernel_not_the_operator():
    # torch's spectral_norm divides by sigma_max of weight.reshape(C_out, C_in*kh*kw)
    w = randn(8, 4, 3, 3, seed=11)
    conv = circular_layer(w)
    torch.nn.utils.parametrizations.spectral_norm(conv, n_power_iterations=200)
    conv.train()
    w_sn = conv.weight.detach()  # each access in train mode runs the power iterations
    w_sn = conv.weight.detach()
    torch_sigma = float(torch.linalg.vector_norm(w) / torch.linalg.vector_norm(w_sn))
    reshaped = float(torch.linalg.matrix_norm(w.reshape(8, -1), ord=2))
    operator = float(conv_operator_norm(w, (16, 16)))
    assert abs(torch_sigma - reshaped) <= 1e-6 * reshaped  # what it estimates
    assert operator > 1.2 * reshaped  # not the operator norm
    # the relation: ||W_mat|| <= ||C|| <= sqrt(kh kw) ||W_mat|| (Parseval over frequencies,
    # and |sum_ab W_ab e^(-i w.(a,b))| <= sqrt(kh kw) ||[W_11 ... W_kk]||)
    assert reshaped <= operator <= 3 * reshaped
    # so the torch-normalized layer's operator norm is not 1, ours is
    assert float(conv_operator_norm(w_sn, (16, 16))) > 1.2
    assert abs(float(conv_operator_norm(spectral_normalize(w, 1.0, (16, 16)), (16, 16))) - 1) <= 1e-14
    # on a dense layer both are the same number
    lin = nn.Linear(6, 9, bias=False).to(DT)
    torch.nn.utils.parametrizations.spectral_norm(lin, n_power_iterations=500)
    W = lin.parametrizations.weight.original.detach()
    lin.weight  # noqa: B018 - run the power iterations
    assert abs(float(torch.linalg.matrix_norm(lin.weight.detach(), ord=2)) - 1) <= 1e-6
    assert abs(float(torch.linalg.matrix_norm(spectral_normalize(W), ord=2)) - 1) <= 1e-14


# ------------------------------------------------------------------ orthogonality


@pytest.mark.parametrize("shape,grid", CASES)
def test_conv_orthogonality_penalty_is_the_dense_operators(shape, grid):
    w = randn(*shape, seed=12)
    M = conv_matrix(w, grid)
    G = M.T @ M if M.shape[0] >= M.shape[1] else M @ M.T
    ref = float(((G - torch.eye(G.shape[0], dtype=DT)) ** 2).sum())
    pen = orthogonality_penalty(w, grid)
    assert pen.shape == () and abs(float(pen) - ref) <= 1e-11 * ref
    s = conv_singular_values(w, grid)
    assert abs(float(((s**2 - 1) ** 2).sum()) - ref) <= 1e-11 * ref


def test_matrix_orthogonality_penalty():
    for shape in [(6, 3), (3, 6)]:
        W = randn(*shape, seed=13)
        s = torch.linalg.svdvals(W)
        assert abs(float(orthogonality_penalty(W) - ((s**2 - 1) ** 2).sum())) <= 1e-12
    Q, _ = torch.linalg.qr(randn(6, 3, seed=14))
    assert float(orthogonality_penalty(Q)) <= 1e-28 and float(orthogonality_penalty(Q.T)) <= 1e-28
    # off-diagonal: only the inner products between columns count (BigGAN)
    D = torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=DT))
    assert float(orthogonality_penalty(D, off_diagonal=True)) == 0.0
    assert float(orthogonality_penalty(D)) == 0 + 9 + 64
    # a kernel without input_shape is the (C_out, C_in*kh*kw) matrix
    w = randn(4, 2, 3, 3, seed=15)
    assert float(orthogonality_penalty(w)) == float(orthogonality_penalty(w.reshape(4, -1)))
    with pytest.raises(ValueError, match="off_diagonal"):
        orthogonality_penalty(w, (6, 6), off_diagonal=True)


def test_orthogonality_penalty_drives_conv_singular_values_to_one():
    # SEEDS 3.5: GD on the regularizer drives all FFT singular values of a 4 -> 4, 3 x 3
    # circular conv on 16 x 16 to ~1
    w = (0.3 * randn(4, 4, 3, 3, seed=16)).requires_grad_()
    opt = torch.optim.Adam([w], lr=0.02)
    before = conv_singular_values(w.detach(), (16, 16))
    for _ in range(400):
        opt.zero_grad()
        orthogonality_penalty(w, (16, 16)).backward()
        opt.step()
    after = conv_singular_values(w.detach(), (16, 16))
    assert float((before - 1).abs().max()) > 0.5
    assert float((after - 1).abs().max()) <= 0.05, after


# ---------------------------------------------------------------------- models


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)).to(DT)


def convnet(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, padding_mode="circular"), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1, stride=2), nn.Tanh(),  # zero padding, stride 2: a bound
        nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2, padding_mode="circular"), nn.ReLU(),
        nn.Flatten(), nn.Linear(4 * 6 * 6, 3),
    ).to(DT)


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_layer_spectra_mlp():
    model = mlp()
    saved = state(model)
    spectra = layer_spectra(model)
    assert [s.name for s in spectra] == ["0", "2", "4"]
    for s in spectra:
        assert isinstance(s, LayerSpectrum) and s.kind == "linear" and s.exact and s.grid is None
        ref = torch.linalg.svdvals(model.get_submodule(s.name).weight.detach())
        torch.testing.assert_close(s.singular_values, ref, rtol=0, atol=0)
        assert float(s.norm) == float(ref[0]) and not s.singular_values.requires_grad
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())


def test_conv_input_shapes_and_layer_spectra_convnet():
    model = convnet()
    shapes = conv_input_shapes(model, torch.zeros(1, 2, 12, 12, dtype=DT))
    assert shapes == {"0": (12, 12), "2": (12, 12), "4": (6, 6)}
    spectra = {s.name: s for s in layer_spectra(model, shapes)}
    assert [spectra[n].exact for n in ("0", "2", "4", "7")] == [True, False, True, True]
    assert spectra["2"].grid == (13, 13) and spectra["0"].grid == (12, 12)
    for name, in_shape in (("0", (2, 12, 12)), ("2", (4, 12, 12)), ("4", (4, 6, 6))):
        layer = model.get_submodule(name)
        bias = layer.bias
        layer.bias = None  # the linear part of the layer, for its dense matrix
        try:
            M = dense_of_module(layer, in_shape)
        finally:
            layer.bias = bias
        dense = torch.linalg.svdvals(M)
        s = spectra[name]
        if s.exact:  # circular, stride 1, dilated and grouped: the layer's own spectrum
            torch.testing.assert_close(s.singular_values, dense, rtol=0, atol=1e-12 * float(dense[0]))
        else:  # zero padding and stride 2: an upper bound on its norm
            assert float(dense[0]) <= float(s.norm) * (1 + 1e-12)
            assert float(dense[0]) >= 0.3 * float(s.norm)
    with pytest.raises(ValueError, match="'0' is a Conv2d: pass input_shape"):
        layer_spectra(model)
    with pytest.raises(ValueError, match="no entry for the Conv2d '4'"):
        layer_spectra(model, {"0": (12, 12), "2": (12, 12)})
    reflect = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(ValueError, match="padding_mode='reflect'"):
        layer_spectra(reflect, (8, 8))


def test_conv_input_shapes_leaves_batchnorm_statistics_alone():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.MaxPool2d(2),
                          nn.Conv2d(2, 2, 3, padding=1)).to(DT)
    model.train()
    saved = state(model)
    assert conv_input_shapes(model, randn(4, 1, 10, 10)) == {"0": (10, 10), "3": (5, 5)}
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())
    assert not model[0]._forward_pre_hooks  # hooks removed
    with pytest.raises(ValueError, match="BatchNorm2d"):
        lipschitz_bound(model, {"0": (10, 10), "3": (5, 5)})


def test_lipschitz_bound_against_input_gradients_mlp():
    model = mlp(1)
    saved = state(model)
    x = randn(200, 5, seed=17)
    bound = lipschitz_bound(model).detach()
    found = max_input_gradient_norm(model, x)
    assert bound.shape == () and found.shape == ()
    assert 0 < float(found) <= float(bound)
    ref = torch.prod(torch.stack([torch.linalg.svdvals(model[i].weight.detach())[0] for i in (0, 2, 4)]))
    assert abs(float(bound) - float(ref)) <= 1e-13 * float(ref)
    # the per-sample norms are the autograd Jacobians'
    norms = input_jacobian_norms(model, x[:5])
    for i in range(5):
        J = torch.autograd.functional.jacobian(lambda z: model(z[None])[0], x[i])
        assert abs(float(norms[i]) - float(torch.linalg.matrix_norm(J, ord=2))) <= 1e-12 * float(norms[i])
    # the bound is differentiable (a Lipschitz regularizer)
    lipschitz_bound(model).backward()
    assert model[0].weight.grad is not None
    model.zero_grad(set_to_none=True)
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())


def test_lipschitz_bound_against_input_gradients_convnet():
    model = convnet(2)
    shapes = conv_input_shapes(model, torch.zeros(1, 2, 12, 12, dtype=DT))
    x = randn(32, 2, 12, 12, seed=18)
    bound = float(lipschitz_bound(model, shapes).detach())
    found = float(max_input_gradient_norm(model, x))
    assert 0 < found <= bound


def test_single_layers_are_tight():
    # one layer: the Jacobian is the layer's matrix, so the bound is attained everywhere
    lin = nn.Linear(4, 3).to(DT)
    x = randn(3, 4, seed=19)
    assert abs(float(max_input_gradient_norm(lin, x)) - float(lipschitz_bound(lin).detach())) <= 1e-13
    w = randn(3, 2, 3, 3, seed=20)
    conv = circular_layer(w)
    found = float(max_input_gradient_norm(conv, randn(2, 2, 6, 6, seed=21)))
    assert abs(found - float(lipschitz_bound(conv, (6, 6)).detach())) <= 1e-12 * found
    assert abs(found - float(conv_operator_norm(w, (6, 6)))) <= 1e-12 * found
    # a scalar output: the gradient norm
    lin1 = nn.Linear(4, 1, bias=False).to(DT)
    norms = input_jacobian_norms(lin1, x)
    torch.testing.assert_close(norms, torch.linalg.vector_norm(lin1.weight.detach()).expand(3))


# ----------------------------------------------------------------------- errors


def test_errors_name_the_argument():
    w = randn(3, 2, 3, 3)
    with pytest.raises(TypeError, match="weight must be a torch.Tensor"):
        conv_singular_values(np.ones((3, 2, 3, 3)), (4, 4))
    with pytest.raises(ValueError, match="weight must be a conv kernel"):
        conv_singular_values(randn(3, 3), (4, 4))
    with pytest.raises(ValueError, match="input_shape must be the spatial size"):
        conv_operator_norm(w, (4,))
    with pytest.raises(ValueError, match="smaller than the 3 x 3 kernel"):
        conv_operator_norm(w, (2, 8))
    with pytest.raises(ValueError, match="non-finite"):
        conv_operator_norm(w * float("nan"), (4, 4))
    with pytest.raises(ValueError, match="pass input_shape"):
        gram_iteration_norm(w)
    with pytest.raises(ValueError, match="drop input_shape"):
        gram_iteration_norm(randn(3, 3), (4, 4))
    with pytest.raises(ValueError, match="n_iter must be >= 0"):
        gram_iteration_norm(randn(3, 3), n_iter=-1)
    with pytest.raises(ValueError, match="x has 3 channels"):
        circular_conv2d(randn(3, 4, 4), w)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        lipschitz_bound(lambda x: x)
    with pytest.raises(ValueError, match="no nn.Linear or nn.Conv2d"):
        lipschitz_bound(nn.ReLU())
    with pytest.raises(ValueError, match="inputs must be a floating-point batch"):
        max_input_gradient_norm(nn.Linear(2, 1), torch.ones(2, dtype=torch.int64))
    with pytest.raises(MemoryError, match="conv_singular_values"):
        conv_matrix(randn(64, 64, 3, 3, dtype=torch.float32), (256, 256))


# -------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_cuda_results_stay_on_the_device_and_match_cpu():
    w = randn(8, 4, 3, 3, seed=22)
    wc = w.cuda()
    s = conv_singular_values(wc, (16, 16))
    assert s.device.type == "cuda" and s.dtype == DT
    torch.testing.assert_close(s.cpu(), conv_singular_values(w, (16, 16)), rtol=1e-10, atol=1e-12)
    for fn in (conv_operator_norm, gram_iteration_norm, orthogonality_penalty):
        out = fn(wc, (16, 16))
        assert out.device.type == "cuda"
        torch.testing.assert_close(out.cpu(), fn(w, (16, 16)), rtol=1e-10, atol=1e-12)
    res = conv_power_iteration(wc, (16, 16), seed=0, max_iter=50, tol=0)
    ref = conv_power_iteration(w, (16, 16), seed=0, max_iter=50, tol=0)
    assert res.vector.device.type == "cuda"
    torch.testing.assert_close(res.history.cpu(), ref.history, rtol=1e-10, atol=0)
    model = convnet(3)
    shapes = conv_input_shapes(model, torch.zeros(1, 2, 12, 12, dtype=DT))
    b_cpu = lipschitz_bound(model, shapes)
    model = model.cuda()
    b = lipschitz_bound(model, shapes)
    assert b.device.type == "cuda"
    torch.testing.assert_close(b.detach().cpu(), b_cpu.detach(), rtol=1e-10, atol=0)
    x = randn(16, 2, 12, 12, seed=23).cuda()
    assert float(max_input_gradient_norm(model, x)) <= float(b.detach())
