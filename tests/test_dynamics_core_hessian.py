"""Hessian-spectrum primitives in spectrakit.core.dynamics against dense references."""

import pytest
import torch

from spectrakit.core.dynamics import (
    flatten,
    hessian_top_eigenvalues,
    hutchinson_trace,
    hvp,
    hvp_operator,
    lanczos,
    top_space_gradient_share,
    unflatten,
)

DT = torch.float64


def make_problem(device="cpu", seed=0):
    """2-16-16-1 tanh MLP (337 parameters), MSE on 64 points; (params, loss_fn)."""
    g = torch.Generator().manual_seed(seed)
    sizes = [2, 16, 16, 1]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params.append((torch.randn(b, a, generator=g, dtype=DT) / a**0.5).to(device).requires_grad_())
        params.append((0.1 * torch.randn(b, generator=g, dtype=DT)).to(device).requires_grad_())
    X = torch.randn(64, 2, generator=g, dtype=DT).to(device)
    y = (torch.sin(3 * X[:, :1]) * torch.cos(2 * X[:, 1:])).to(device)

    def forward(ps):
        h = X
        for i in range(0, len(ps), 2):
            h = h @ ps[i].T + ps[i + 1]
            if i < len(ps) - 2:
                h = torch.tanh(h)
        return ((h - y) ** 2).mean()

    return params, (lambda: forward(params)), forward


@pytest.fixture(scope="module")
def problem():
    params, loss_fn, forward = make_problem()
    flat0 = flatten([p.detach() for p in params])

    def flat_loss(flat):
        return forward(unflatten(flat, params))

    H = torch.autograd.functional.hessian(flat_loss, flat0)
    H = (H + H.T) / 2
    return params, loss_fn, flat_loss, flat0, H


def test_hvp_matches_dense_hessian_and_finite_differences(problem):
    params, loss_fn, flat_loss, flat0, H = problem
    n = flat0.numel()
    assert n == 337
    v = torch.randn(n, generator=torch.Generator().manual_seed(1), dtype=DT)
    hv = hvp(loss_fn, params, v)
    assert hv.dtype == DT and hv.shape == (n,)
    ref = H @ v
    assert torch.linalg.vector_norm(hv - ref) <= 1e-12 * torch.linalg.vector_norm(ref)

    def grad_at(flat):
        flat = flat.clone().requires_grad_()
        return torch.autograd.grad(flat_loss(flat), flat)[0]

    h = 1e-5
    fd = (grad_at(flat0 + h * v) - grad_at(flat0 - h * v)) / (2 * h)
    assert torch.linalg.vector_norm(hv - fd) <= 1e-6 * torch.linalg.vector_norm(fd)

    matvec, n2 = hvp_operator(loss_fn, params)
    assert n2 == n
    torch.testing.assert_close(matvec(v), hv, rtol=1e-12, atol=1e-14)


def test_lanczos_top5_matches_eigvalsh(problem):
    params, loss_fn, _, _, H = problem
    dense = torch.linalg.eigvalsh(H).flip(0)[:5]
    vals, vecs = hessian_top_eigenvalues(loss_fn, params, k=5, seed=0)
    assert vals.shape == (5,) and vecs.shape == (H.shape[0], 5)
    assert ((vals - dense).abs() <= 1e-6 * dense.abs()).all(), (vals, dense)
    # orthonormal eigenvectors with small residuals
    torch.testing.assert_close(vecs.T @ vecs, torch.eye(5, dtype=DT), atol=1e-10, rtol=0)
    assert torch.linalg.matrix_norm(H @ vecs - vecs * vals) <= 1e-5 * vals[0]
    # reproducible with a seed
    vals2, vecs2 = hessian_top_eigenvalues(loss_fn, params, k=5, seed=0)
    assert torch.equal(vals, vals2) and torch.equal(vecs, vecs2)


def test_lanczos_on_small_and_degenerate_operators():
    d = torch.tensor([5.0, -7.0, 3.0, 1.0], dtype=DT)
    vals, vecs = lanczos(lambda v: d * v, 4, 4, seed=0)  # k = n: the whole spectrum
    torch.testing.assert_close(vals, torch.tensor([5.0, 3.0, 1.0, -7.0], dtype=DT))
    # rank one: the Krylov space is exhausted after one step and restarts
    u = torch.ones(20, dtype=DT) / 20**0.5
    vals, _ = lanczos(lambda v: 4 * u * (u @ v), 20, 3, seed=1)
    torch.testing.assert_close(vals, torch.tensor([4.0, 0.0, 0.0], dtype=DT), atol=1e-10, rtol=0)
    # float32 runs in float32
    vals32, vecs32 = lanczos(lambda v: d.float() * v, 4, 2, seed=0, dtype=torch.float32)
    assert vals32.dtype == vecs32.dtype == torch.float32


def test_lanczos_warns_when_max_iter_too_small():
    d = torch.linspace(1.0, 1.001, 200, dtype=DT)
    with pytest.warns(RuntimeWarning, match="max_iter"):
        lanczos(lambda v: d * v, 200, 2, max_iter=5, seed=0)


def test_hutchinson_within_three_standard_errors(problem):
    params, loss_fn, _, _, H = problem
    matvec, n = hvp_operator(loss_fn, params)
    est, se = hutchinson_trace(matvec, n, n_samples=400, seed=0, dtype=DT)
    exact = torch.trace(H)
    assert se > 0
    assert abs(float(est - exact)) <= 3 * float(se), (float(est), float(exact), float(se))
    est2, se2 = hutchinson_trace(matvec, n, n_samples=400, seed=0, dtype=DT)
    assert est2 == est and se2 == se


def test_hutchinson_exact_on_diagonal():
    d = torch.randn(50, generator=torch.Generator().manual_seed(3), dtype=DT)
    est, se = hutchinson_trace(lambda v: d * v, 50, n_samples=7, seed=0)
    assert abs(float(est - d.sum())) <= 1e-13 * float(d.abs().sum())
    assert float(se) <= 1e-13 * float(d.abs().sum())


def test_gradient_share(problem):
    params, loss_fn, _, _, H = problem
    vals, vecs = hessian_top_eigenvalues(loss_fn, params, k=5, seed=0)
    g = flatten(torch.autograd.grad(loss_fn(), params))
    share = top_space_gradient_share(g, vecs)
    assert 0.0 <= float(share) <= 1.0
    in_top = vecs @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=DT)
    assert abs(float(top_space_gradient_share(in_top, vecs)) - 1.0) <= 1e-12
    orth = g - vecs @ (vecs.T @ g)
    assert float(top_space_gradient_share(orth, vecs)) <= 1e-12


def test_bad_inputs(problem):
    params, loss_fn, _, flat0, _ = problem
    n = flat0.numel()
    with pytest.raises(ValueError, match="k must be <="):
        hessian_top_eigenvalues(loss_fn, params, k=n + 1)
    with pytest.raises(ValueError, match="k must be <="):
        lanczos(lambda v: v, 3, 4)
    with pytest.raises(ValueError, match="loss_fn.*scalar"):
        hvp(lambda: params[0].sum(dim=0), params, torch.zeros(n, dtype=DT))
    with pytest.raises(ValueError, match="v must be a flat vector"):
        hvp(loss_fn, params, torch.zeros(n + 1, dtype=DT))
    with pytest.raises(ValueError, match="requires_grad|require grad"):
        hvp(loss_fn, [p.detach() for p in params], torch.zeros(n, dtype=DT))
    with pytest.raises(ValueError, match="params is empty"):
        hvp(loss_fn, [], torch.zeros(n, dtype=DT))
    with pytest.raises(ValueError, match="matvec must return"):
        lanczos(lambda v: v[:2], 3, 1)
    with pytest.raises(ValueError, match="eigenvectors must have shape"):
        top_space_gradient_share(torch.ones(3, dtype=DT), torch.ones(4, 2, dtype=DT))
    with pytest.raises(ValueError, match="n_samples"):
        hutchinson_trace(lambda v: v, 3, n_samples=0)


@pytest.mark.gpu
def test_cuda_equals_cpu():
    cpu_params, cpu_loss, _ = make_problem("cpu")
    gpu_params, gpu_loss, _ = make_problem("cuda")
    v_cpu, _ = hessian_top_eigenvalues(cpu_loss, cpu_params, k=5, seed=0)
    v_gpu, vec_gpu = hessian_top_eigenvalues(gpu_loss, gpu_params, k=5, seed=0)
    assert v_gpu.device.type == "cuda" and vec_gpu.device.type == "cuda"
    torch.testing.assert_close(v_gpu.cpu(), v_cpu, rtol=1e-9, atol=0)
    m_cpu, n = hvp_operator(cpu_loss, cpu_params)
    m_gpu, _ = hvp_operator(gpu_loss, gpu_params)
    t_cpu, _ = hutchinson_trace(m_cpu, n, n_samples=20, seed=0)
    t_gpu, _ = hutchinson_trace(m_gpu, n, n_samples=20, seed=0, device="cuda")
    torch.testing.assert_close(t_gpu.cpu(), t_cpu, rtol=1e-9, atol=0)


def test_hvp_with_a_parameter_the_loss_does_not_use():
    # a frozen or unused parameter has no gradient: its rows and columns of H are zero
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    unused = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    hv = hvp(lambda: (w**3).sum(), [w, unused], torch.tensor([1.0, 1.0, 5.0], dtype=torch.float64))
    torch.testing.assert_close(hv, torch.tensor([6.0, 12.0, 0.0], dtype=torch.float64))  # H = diag(6 w, 0)
