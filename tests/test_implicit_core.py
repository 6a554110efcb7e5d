"""spectrakit.core.implicit: incremental (staircase) learning in matrix sensing against its
small-initialization theory, ScaledGD(lambda) against gradient descent at condition number
100, diagonal linear networks against linprog (l1), pinv (l2) and the exact mirror-flow
limit, EigenPro against numpy's eigh, its closed form, its predicted speed-up and the
minimum-norm solution; bad input."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linprog

from spectrakit.core.implicit import (
    MatrixSensingProblem,
    diagonal_network_gd,
    diagonal_network_limit,
    diagonal_network_potential,
    eigenpro_gd,
    eigenpro_preconditioner,
    first_step_below,
    gd_matrix_sensing,
    learning_times,
    matrix_sensing_problem,
    min_l1_interpolator,
    scaled_gd,
)

DT = torch.float64

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def staircase_problem():
    return matrix_sensing_problem(20, [3.0, 2.0, 1.0], n_measurements=600, seed=0, device="cpu")


@pytest.fixture(scope="module")
def kappa100_problem():
    return matrix_sensing_problem(20, [1.0, 0.1, 0.01], n_measurements=800, seed=0, device="cpu")


@pytest.fixture(scope="module")
def sparse_regression():
    X = torch.randn(40, 100, generator=gen(0), dtype=DT)
    w = torch.zeros(100, dtype=DT)
    w[:4] = torch.tensor([1.0, -0.8, 0.6, 0.5], dtype=DT)
    return X, X @ w, w


def scipy_l1(X, y):
    a, b = X.numpy(), y.numpy()
    d = a.shape[1]
    res = linprog(np.ones(2 * d), A_eq=np.hstack([a, -a]), b_eq=b, bounds=(0, None), method="highs")
    assert res.status == 0
    return torch.tensor(res.x[:d] - res.x[d:], dtype=DT)


# ------------------------------------------------------------------ matrix sensing


def test_problem_is_what_it_says(staircase_problem):
    p = staircase_problem
    m, d = 600, 20
    assert p.sensing.shape == (m, d, d) and p.measurements.shape == (m,)
    assert torch.equal(p.sensing, p.sensing.transpose(1, 2))
    np.testing.assert_allclose(np.linalg.eigvalsh(p.target.numpy())[::-1][:4], [3, 2, 1, 0], atol=1e-12)
    torch.testing.assert_close(p.factor.T @ p.factor, torch.eye(3, dtype=DT))
    torch.testing.assert_close((p.factor * p.singular_values) @ p.factor.T, p.target)
    ref = np.einsum("mij,ij->m", p.sensing.numpy(), p.target.numpy())
    np.testing.assert_allclose(p.measurements.numpy(), ref, rtol=1e-10, atol=1e-12)
    # isotropic: (1/m) sum <A_i, E> A_i ~ E for a symmetric E (the RIP the theory uses)
    big = matrix_sensing_problem(6, [1.0], n_measurements=20000, seed=1, device="cpu")
    E = big.target
    est = torch.einsum("m,mij->ij", (big.sensing * E).sum((1, 2)), big.sensing) / 20000
    assert float(torch.linalg.matrix_norm(est - E)) < 0.1
    # sorted, seeded, reproducible; float32; full observation; noise
    q = matrix_sensing_problem(5, [1.0, 4.0], n_measurements=10, seed=3, dtype=torch.float32, device="cpu")
    assert q.singular_values.tolist() == [4.0, 1.0] and q.target.dtype == torch.float32
    q2 = matrix_sensing_problem(5, [1.0, 4.0], n_measurements=10, seed=3, dtype=torch.float32, device="cpu")
    assert torch.equal(q.sensing, q2.sensing)
    full = matrix_sensing_problem(5, [2.0], seed=0, device="cpu")
    assert full.sensing is None and full.measurements is None
    noisy = matrix_sensing_problem(5, [2.0], n_measurements=50, noise=0.5, seed=0, device="cpu")
    clean = matrix_sensing_problem(5, [2.0], n_measurements=50, seed=0, device="cpu")
    assert 0.2 < float((noisy.measurements - clean.measurements).std()) < 1.0


def test_one_step_matches_autograd_and_the_scaled_update(staircase_problem):
    p = staircase_problem
    u0 = 0.3 * torch.randn(20, 4, generator=gen(5), dtype=DT)  # what seed=5 draws
    u = u0.clone().requires_grad_()
    a, y = p.sensing, p.measurements
    loss = ((torch.einsum("mij,ij->m", a, u @ u.T) - y) ** 2).sum() / (4 * len(y))
    (g,) = torch.autograd.grad(loss, u)
    res = gd_matrix_sensing(p, steps=1, lr=0.01, init_scale=0.3, width=4, seed=5)
    torch.testing.assert_close(res.loss[0], loss.detach())
    torch.testing.assert_close(res.factor, u0 - 0.01 * g, rtol=1e-12, atol=1e-14)
    lam = 0.7
    pre = g.numpy() @ np.linalg.inv(u0.numpy().T @ u0.numpy() + lam * np.eye(4))
    res = scaled_gd(p, damping=lam, steps=1, lr=0.2, init_scale=0.3, width=4, seed=5)
    np.testing.assert_allclose(res.factor.numpy(), u0.numpy() - 0.2 * pre, rtol=1e-10, atol=1e-13)
    # full observation: the loss is ||U U^T - M||^2 / 4 and the error is relative Frobenius
    f = matrix_sensing_problem(6, [2.0, 1.0], seed=0, device="cpu")
    r = gd_matrix_sensing(f, steps=0, lr=0.1, init_scale=0.5, seed=2)
    u0 = 0.5 * torch.randn(6, 6, generator=gen(2), dtype=DT)
    e = u0 @ u0.T - f.target
    torch.testing.assert_close(r.loss[0], (e * e).sum() / 4)
    torch.testing.assert_close(r.error[0], torch.linalg.matrix_norm(e) / math.sqrt(5.0))
    torch.testing.assert_close(r.singular_values[0], torch.linalg.eigvalsh(u0 @ u0.T).flip(0))


def test_staircase_learns_singular_values_one_at_a_time(staircase_problem):
    """sigma = 3, 2, 1 from init 1e-4: learned in order, separated, at the theory's times."""
    lr, alpha = 0.05, 1e-4
    res = gd_matrix_sensing(staircase_problem, steps=250, lr=lr, init_scale=alpha)
    sv = res.singular_values
    assert sv.shape == (251, 20) and res.steps.tolist() == list(range(251))
    t = learning_times(sv, res.target)
    t1, t2, t3 = t.tolist()  # measured here: 58, 84, 145
    assert 0 < t1 < t2 < t3
    assert t2 - t1 >= 0.25 * t1 and t3 - t2 >= 0.4 * t2  # separated
    # one at a time: when a mode is half learned, the next is still below 10% of its target
    assert float(sv[t1, 1]) < 0.1 * 2 and float(sv[t2, 2]) < 0.1 * 1
    # theory: log(sigma/c0 - 1) / (2 log(1 + lr sigma)) within 10% (measured: 60, 85, 153)
    pred = res.predicted_steps
    np.testing.assert_allclose(t.double().numpy(), pred.numpy(), rtol=0.10)
    # leading order log(1/alpha) / (lr sigma_i) within 25%, and t_i sigma_i about constant
    lead = [math.log(1 / alpha) / (lr * s) for s in (3.0, 2.0, 1.0)]
    np.testing.assert_allclose(t.double().numpy(), lead, rtol=0.25)
    assert 2.25 < t3 / t1 < 3.75 and 1.2 < t2 / t1 < 1.8
    # implicitly low rank although U is 20 x 20 and nothing penalizes rank
    np.testing.assert_allclose(sv[-1, :3].numpy(), [3, 2, 1], rtol=2e-2)
    assert float(sv[-1, 3]) < 1e-3 and float(res.error[-1]) < 2e-2
    # smaller init: every mode later, by about log(100^2) / (2 log(1 + lr sigma))
    late = gd_matrix_sensing(staircase_problem, steps=300, lr=lr, init_scale=alpha / 100, record_every=3)
    t_late = learning_times(late.singular_values, late.target, steps=late.steps)
    shift = [math.log(1e4) / (2 * math.log1p(lr * s)) for s in (3.0, 2.0, 1.0)]
    np.testing.assert_allclose((t_late - t).double().numpy(), shift, rtol=0.15)
    assert late.steps[-1] == 300 and late.singular_values.shape[0] == 101


def test_staircase_theory_is_close_on_full_observation():
    p = matrix_sensing_problem(15, [4.0, 2.0, 1.0, 0.5], seed=1, device="cpu")
    res = gd_matrix_sensing(p, steps=700, lr=0.05, init_scale=1e-5, record_every=2)
    t = learning_times(res.singular_values, res.target, steps=res.steps)
    assert torch.all(t[1:] > t[:-1])
    np.testing.assert_allclose(t.double().numpy(), res.predicted_steps.numpy(), rtol=0.04, atol=2)
    # underparameterized: only the first `width` modes are learned, the theory says NaN after
    narrow = gd_matrix_sensing(p, steps=300, lr=0.05, init_scale=1e-5, width=2)
    assert narrow.singular_values.shape == (301, 2)
    assert torch.isnan(narrow.predicted_steps[2:]).all() and not torch.isnan(narrow.predicted_steps[:2]).any()


def test_scaled_gd_beats_gd_at_condition_number_100(kappa100_problem):
    p = kappa100_problem
    budget = 150
    fast = scaled_gd(p, damping=1e-5, steps=300, lr=0.5, width=5, init_scale=1e-6)
    slow = gd_matrix_sensing(p, steps=300, lr=0.5, width=5, init_scale=1e-6)
    hit = int(first_step_below(fast.error, 1e-6, fast.steps))  # measured here: 61
    assert 0 < hit <= budget
    assert float(fast.error[-1]) < 1e-6
    # gradient descent at the same budget: sigma = 0.1 half learned at best, 0.01 not at all
    assert float(slow.error[budget]) > 5e-2  # measured 0.10 (and 0.0103 at step 300)
    assert int(first_step_below(slow.error, 1e-2)) == -1
    assert torch.isnan(fast.predicted_steps).all()
    # ScaledGD learns the three modes almost together; gradient descent one at a time, the
    # last after ~ log(1/alpha) / (lr sigma_3) steps (theory 2078; measured 1870 in 20000)
    t_fast = learning_times(fast.singular_values, fast.target)
    assert int(t_fast.max() - t_fast.min()) <= 15
    t_slow = learning_times(slow.singular_values, slow.target)
    assert t_slow[2] == -1 and t_slow[1] > 4 * t_slow[0]
    assert float(slow.predicted_steps[2]) > 20 * hit
    # exact parameterization (width = r) needs no damping: ScaledGD of Tong, Ma & Chi
    exact = scaled_gd(p, damping=0.0, steps=150, width=3, init_scale=1e-6)
    assert 0 < int(first_step_below(exact.error, 1e-6)) <= 150  # measured: 73
    # damping 1e-4 (closer to the paper's sigma_r / 100): a few hundred steps
    mid = scaled_gd(p, damping=1e-4, steps=400, width=5, init_scale=1e-6)
    assert 100 < int(first_step_below(mid.error, 1e-6, mid.steps)) <= 400  # measured: about 260
    # full observation, fully overparameterized (width = d): linear convergence to rounding
    f = matrix_sensing_problem(20, [1.0, 0.1, 0.01], seed=0, device="cpu")
    fast = scaled_gd(f, damping=1e-3, steps=100, init_scale=1e-8)
    slow = gd_matrix_sensing(f, steps=100, lr=0.5, init_scale=1e-8)
    assert float(fast.error[-1]) < 1e-12 and float(slow.error[-1]) > 5e-2


def test_learning_time_helpers():
    h = torch.tensor([[0.0, 0.0, 0.0], [1.6, 0.1, 0.0], [3.0, 1.2, 0.1]])
    assert learning_times(h, torch.tensor([3.0, 2.0, 1.0])).tolist() == [1, 2, -1]
    assert learning_times(h, torch.tensor([3.0, 2.0]), level=0.9, steps=torch.tensor([0, 10, 20])).tolist() == [20, -1]
    v = torch.tensor([[3.0, 2.0, 1.0, 0.5], [1.0, 1.0, 1.0, 1.0]])
    assert first_step_below(v, 1.0).tolist() == [2, 0]
    assert first_step_below(v, 0.1).tolist() == [-1, -1]
    assert first_step_below(v[0], 0.6, torch.tensor([0, 5, 10, 15])).item() == 15
    with pytest.raises(ValueError, match="at least as many"):
        learning_times(h[:, :1], torch.tensor([3.0, 2.0]))
    with pytest.raises(ValueError, match="steps must have shape"):
        learning_times(h, torch.tensor([3.0]), steps=torch.arange(5))
    with pytest.raises(ValueError, match="history must be 2-D"):
        learning_times(h[0], torch.tensor([3.0]))
    with pytest.raises(ValueError, match="non-finite"):
        first_step_below(torch.tensor([1.0, float("nan")]), 0.5)
    with pytest.raises(TypeError, match="torch.Tensor"):
        first_step_below([1.0, 0.1], 0.5)


def test_matrix_sensing_bad_input(staircase_problem):
    p = staircase_problem
    before = [t.clone() for t in p]
    with pytest.raises(ValueError, match=r"lr \* sigma_1 < 1"):
        gd_matrix_sensing(p, steps=5, lr=0.5)
    with pytest.raises(ValueError, match="must be < 1 for ScaledGD"):
        scaled_gd(p, damping=1e-3, steps=5, lr=1.0)
    with pytest.raises(ValueError, match="damping must be >= 0"):
        scaled_gd(p, damping=-1.0, steps=5)
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        gd_matrix_sensing(p, steps=5, lr=0.01, init_scale=0.0)
    with pytest.raises(TypeError, match="steps must be an integer"):
        gd_matrix_sensing(p, steps=5.0, lr=0.01)
    with pytest.raises(ValueError, match="width must be >= 1"):
        gd_matrix_sensing(p, steps=5, lr=0.01, width=0)
    with pytest.raises(TypeError, match="MatrixSensingProblem"):
        gd_matrix_sensing((p.sensing, p.measurements), steps=5, lr=0.01)
    with pytest.raises(ValueError, match="both given or both None"):
        gd_matrix_sensing(p._replace(measurements=None), steps=5, lr=0.01)
    with pytest.raises(ValueError, match="one device and dtype"):
        gd_matrix_sensing(p._replace(measurements=p.measurements.float()), steps=5, lr=0.01)
    bad = p._replace(measurements=p.measurements.clone())
    bad.measurements[0] = float("nan")
    with pytest.raises(ValueError, match="problem.measurements has 1 non-finite"):
        gd_matrix_sensing(bad, steps=5, lr=0.01)
    # a damping far below the sensing error blows up the spurious directions: a clear error
    overp = matrix_sensing_problem(20, [1.0, 0.1, 0.01], n_measurements=800, seed=0, device="cpu")
    with pytest.raises(FloatingPointError, match="raise damping"):
        scaled_gd(overp, damping=1e-4, steps=100, init_scale=1e-8)
    for t, b in zip(p, before):
        assert torch.equal(t, b)  # never modified
    with pytest.raises(ValueError, match="must all be > 0"):
        matrix_sensing_problem(5, [1.0, 0.0])
    with pytest.raises(ValueError, match="must be <= d"):
        matrix_sensing_problem(2, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        matrix_sensing_problem(5, [])
    with pytest.raises(ValueError, match="noise > 0 needs n_measurements"):
        matrix_sensing_problem(5, [1.0], noise=0.1)
    with pytest.raises(ValueError, match="n_measurements must be >= 1"):
        matrix_sensing_problem(5, [1.0], n_measurements=0)
    with pytest.raises(ValueError, match="singular_values has 1 non-finite"):
        matrix_sensing_problem(5, [1.0, float("inf")])
    assert isinstance(p, MatrixSensingProblem)


# -------------------------------------------------------------- diagonal linear networks


def test_diagonal_network_update_by_hand():
    X = torch.randn(5, 8, generator=gen(1), dtype=DT)
    y = torch.randn(5, generator=gen(2), dtype=DT)
    a, lr = 0.3, 0.05
    u = np.full(8, a)
    v = np.full(8, a)
    Xn, yn = X.numpy(), y.numpy()
    for _ in range(3):
        g = Xn.T @ (Xn @ (u * u - v * v) - yn) / 5
        u, v = u - 2 * lr * u * g, v + 2 * lr * v * g
    res = diagonal_network_gd(X, y, init_scale=a, lr=lr, steps=3)
    np.testing.assert_allclose(res.weights.numpy(), u * u - v * v, rtol=1e-12, atol=1e-15)
    w = res.history
    assert w.shape == (4, 8) and float(w[0].abs().max()) == 0.0
    torch.testing.assert_close(res.loss, ((w @ X.T - y) ** 2).sum(-1) / 10)
    torch.testing.assert_close(res.l1_norm, w.abs().sum(-1))
    assert res.init_scale.ndim == 0 and res.steps.tolist() == [0, 1, 2, 3]


def test_small_init_is_sparse_large_init_is_min_norm(sparse_regression):
    X, y, w_true = sparse_regression
    w_l1 = scipy_l1(X, y)
    w_l2 = torch.linalg.pinv(X) @ y
    torch.testing.assert_close(min_l1_interpolator(X, y), w_l1, atol=1e-9, rtol=0)
    assert float((w_l1 - w_true).abs().max()) < 1e-8  # the l1 interpolator recovers w_true here
    grid = [1e-3, 1e-1, 10.0]
    lrs = [0.05, 0.05, 0.25 / (4 * 6.0 * 2 * 100.0)]  # large alpha needs a step ~ 1/alpha^2
    res = diagonal_network_gd(X, y, init_scale=grid, lr=lrs, steps=4000, record_every=100)
    w_small, w_mid, w_large = res.weights
    assert res.history.shape == (41, 3, 100) and res.loss.shape == (41, 3)
    # small alpha: the sparse minimum-l1 interpolator (measured relative distance 0.6%)
    assert float(torch.linalg.vector_norm(w_small - w_l1) / torch.linalg.vector_norm(w_l1)) < 2e-2
    assert int((w_small.abs() > 1e-2).sum()) == 4
    # large alpha: the dense minimum-l2 interpolator pinv(X) y (measured 1e-8)
    assert float((w_large - w_l2).abs().max()) < 1e-6
    assert int((w_large.abs() > 1e-2).sum()) > 50
    # in between: neither; it is the exact mirror-flow limit argmin Q_alpha (measured 0.5%)
    lim = diagonal_network_limit(X, y, 0.1)
    assert float(torch.linalg.vector_norm(w_mid - lim) / torch.linalg.vector_norm(lim)) < 2e-2
    for ref in (w_l1, w_l2):
        assert float(torch.linalg.vector_norm(w_mid - ref)) > 0.3
    l1 = res.l1_norm[-1]
    assert float(l1[0]) < float(l1[1]) < float(l1[2])
    assert float(l1[0]) == pytest.approx(float(w_l1.abs().sum()), rel=1e-2)
    # a batch is the same as separate runs
    one = diagonal_network_gd(X, y, init_scale=0.1, lr=0.05, steps=4000, record_every=100)
    torch.testing.assert_close(one.weights, w_mid, rtol=1e-10, atol=1e-12)
    assert float(res.loss[-1, 1]) < 1e-8 and float(res.loss[-1, 2]) < 1e-12


def test_limit_is_the_constrained_minimizer_of_the_potential(sparse_regression):
    X, y, w_true = sparse_regression
    grid = [1e-6, 1e-2, 0.1, 1.0, 100.0]
    W = diagonal_network_limit(X, y, grid)
    assert W.shape == (5, 100)
    U, S, Vh = np.linalg.svd(X.numpy(), full_matrices=False)
    row = Vh.T @ Vh  # projector on the row space of X
    w_l1, w_l2 = scipy_l1(X, y), torch.linalg.pinv(X) @ y
    null = torch.tensor(np.eye(100) - row, dtype=DT) @ torch.randn(100, generator=gen(4), dtype=DT)
    for a, w in zip(grid, W):
        np.testing.assert_allclose((X @ w).numpy(), y.numpy(), atol=1e-10)  # interpolates
        # KKT: the potential's gradient arcsinh(w / (2 alpha^2)) lies in the row space of X
        g = torch.asinh(w / (2 * a * a)).numpy()
        assert np.linalg.norm(g - row @ g) <= 1e-8 * max(np.linalg.norm(g), 1.0)
        q = float(diagonal_network_potential(w, a))
        for other in (w_l1, w_l2, w + 1e-3 * null, w - 1e-3 * null):
            assert q <= float(diagonal_network_potential(other, a)) + 1e-12 * abs(q)
    assert float((W[0] - w_l1).abs().max()) < 1e-6
    assert float((W[-1] - w_l2).abs().max()) < 1e-7
    assert torch.all(W.abs().sum(-1)[1:] >= W.abs().sum(-1)[:-1] - 1e-9)  # l1 norm grows with alpha
    # extreme scales stay finite (log-domain cosh/sinh)
    ext = diagonal_network_limit(X, y, [1e-100, 1e100])
    torch.testing.assert_close(ext[0], w_l1, atol=1e-8, rtol=0)
    torch.testing.assert_close(ext[1], w_l2, atol=1e-8, rtol=0)


def test_potential_closed_form_gradient_and_limits():
    w = torch.tensor([1.5, -0.2, 0.0, 3.0], dtype=DT, requires_grad=True)
    for a in (1e-3, 0.5, 20.0):
        q = diagonal_network_potential(w, a)
        (g,) = torch.autograd.grad(q, w)
        torch.testing.assert_close(g, torch.asinh(w.detach() / (2 * a * a)))
        z = w.detach().numpy() / a**2
        ref = a**2 * np.sum(2 - np.sqrt(4 + z * z) + z * np.arcsinh(z / 2))
        assert float(q.detach()) == pytest.approx(ref, rel=1e-10)
    wd = w.detach()
    l1 = float(wd.abs().sum())
    ratio = [float(diagonal_network_potential(wd, a)) / math.log(1 / a**2) for a in (1e-10, 1e-50, 1e-140)]
    assert abs(ratio[-1] - l1) < abs(ratio[0] - l1) and ratio[-1] == pytest.approx(l1, rel=1e-2)
    assert 4 * 1e6**2 * float(diagonal_network_potential(wd, 1e6)) == pytest.approx(float((wd**2).sum()), rel=1e-9)
    assert diagonal_network_potential(torch.zeros(2, 3, dtype=DT), 1.0).tolist() == [0.0, 0.0]


def test_diagonal_network_bad_input(sparse_regression):
    X, y, _ = sparse_regression
    Xc, yc = X.clone(), y.clone()
    with pytest.raises(ValueError, match="X must be 2-D"):
        diagonal_network_gd(X[0], y, init_scale=0.1, lr=0.01, steps=2)
    with pytest.raises(ValueError, match="one target per row"):
        diagonal_network_gd(X, y[:-1], init_scale=0.1, lr=0.01, steps=2)
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        diagonal_network_gd(X, y, init_scale=[0.1, -1.0], lr=0.01, steps=2)
    with pytest.raises(ValueError, match="one per init scale"):
        diagonal_network_gd(X, y, init_scale=[0.1, 1.0], lr=[0.01, 0.01, 0.01], steps=2)
    with pytest.raises(FloatingPointError, match="lower lr"):
        diagonal_network_gd(X, y, init_scale=10.0, lr=1.0, steps=50)
    with pytest.raises(ValueError, match="underdetermined"):
        diagonal_network_limit(X.T[:60, :40], torch.ones(60, dtype=DT), 0.1)
    with pytest.raises(ValueError, match="linearly dependent"):
        diagonal_network_limit(torch.cat([X[:3], X[:1]]), y[:4], 0.1)
    with pytest.raises(ValueError, match="may have no"):
        min_l1_interpolator(torch.ones(3, 2, dtype=DT), torch.tensor([1.0, 2.0, 3.0], dtype=DT))
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        diagonal_network_potential(torch.ones(3, dtype=DT), 0.0)
    with pytest.raises(TypeError, match="floating-point"):
        diagonal_network_gd(X.long(), y, init_scale=0.1, lr=0.01, steps=2)
    assert torch.equal(X, Xc) and torch.equal(y, yc)


# ------------------------------------------------------------------------- EigenPro


@pytest.fixture(scope="module")
def laplace_problem():
    n = 400
    x = torch.rand(n, 3, generator=gen(0), dtype=DT)
    K = torch.exp(-torch.cdist(x, x) / 0.5)
    y = torch.sin(2 * math.pi * x[:, 0]) + 0.5 * torch.cos(4 * math.pi * x[:, 1])
    y = y + 0.1 * torch.randn(n, generator=gen(1), dtype=DT)
    lam, vec = np.linalg.eigh(K.numpy() / n)
    return K, y, (torch.tensor(lam[::-1].copy()), torch.tensor(vec[:, ::-1].copy()))


def test_preconditioner_against_numpy_eigh():
    n = 120
    x = torch.rand(n, 2, generator=gen(8), dtype=DT)
    H = torch.exp(-torch.cdist(x, x)) / n
    lam, vec = np.linalg.eigh(H.numpy())
    lam, vec = torch.tensor(lam[::-1].copy()), torch.tensor(vec[:, ::-1].copy())
    for k in (0, 1, 10):
        P = eigenpro_preconditioner(lam, vec, k)
        ref = np.eye(n)
        for i in range(k):
            ref = ref - (1 - lam[k].item() / lam[i].item()) * np.outer(vec[:, i], vec[:, i])
        np.testing.assert_allclose(P.numpy(), ref, atol=1e-12)
        torch.testing.assert_close(P @ H, H @ P, atol=1e-12, rtol=0)  # commutes
        flat = np.sort(np.linalg.eigvalsh((P @ H + (P @ H).T).numpy() / 2))[::-1]
        expect = np.concatenate([np.full(k, lam[k].item()), lam[k:].numpy()])
        np.testing.assert_allclose(flat[:50], expect[:50], rtol=1e-8, atol=1e-14)
    lam4 = torch.tensor([8.0, 4.0, 2.0, 0.0], dtype=DT)
    with pytest.raises(ValueError, match="reaches the null space"):
        eigenpro_preconditioner(lam4, torch.eye(4, dtype=DT), 3)
    with pytest.raises(ValueError, match="top k \\+ 1"):
        eigenpro_preconditioner(lam4, torch.eye(4, dtype=DT), 4)
    with pytest.raises(ValueError, match="largest first"):
        eigenpro_preconditioner(lam4.flip(0), torch.eye(4, dtype=DT), 0)
    with pytest.raises(ValueError, match="one eigenvector"):
        eigenpro_preconditioner(lam4, torch.eye(4, 3, dtype=DT), 1)
    with pytest.raises(ValueError, match="k must be >= 0"):
        eigenpro_preconditioner(lam4, torch.eye(4, dtype=DT), -1)


def test_eigenpro_speedup_and_closed_form(laplace_problem):
    K, y, eig = laplace_problem
    plain = eigenpro_gd(K, y, k=0, steps=1500, eigen=eig)
    assert plain.lr == pytest.approx(1 / eig[0][0].item())
    # the iteration follows the per-mode closed form (1 - lr lambda~_i)^t exactly
    np.testing.assert_allclose(plain.mse.numpy(), plain.predicted_mse.numpy(), rtol=1e-9, atol=1e-14)
    assert torch.all(plain.mse[1:] <= plain.mse[:-1] + 1e-15)
    for k in (5, 20):
        fast = eigenpro_gd(K, y, k=k, steps=300, eigen=eig)
        speedup = eig[0][0].item() / eig[0][k].item()
        assert fast.speedup == pytest.approx(speedup) and fast.lr == pytest.approx(1 / eig[0][k].item())
        np.testing.assert_allclose(fast.mse.numpy(), fast.predicted_mse.numpy(), rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(fast.preconditioned_eigenvalues[:k].numpy(), eig[0][k].item())
        for level in (0.02, 0.005):
            tp = int(first_step_below(plain.mse, level))
            te = int(first_step_below(fast.mse, level))
            assert tp > 0 and te > 0
            # iterations ratio ~ lambda_1 / lambda_(k+1) (measured within 6%)
            assert 0.5 * speedup <= tp / te <= 2.0 * speedup, (k, level, tp, te, speedup)
        assert float(fast.mse[-1]) < 0.01 * float(plain.mse[300])  # after 300 steps each
    # computing the eigenpairs here gives the same run
    again = eigenpro_gd(K, y, k=5, steps=50)
    ref = eigenpro_gd(K, y, k=5, steps=50, eigen=eig)
    torch.testing.assert_close(again.mse, ref.mse, rtol=1e-9, atol=1e-14)
    # only the top eigenpairs: the same iteration, no closed form
    part = eigenpro_gd(K, y, k=5, steps=50, eigen=(eig[0][:6], eig[1][:, :6]), record_every=10)
    torch.testing.assert_close(part.mse, ref.mse[::10], rtol=1e-9, atol=1e-14)
    assert torch.isnan(part.predicted_mse).all() and part.steps.tolist() == [0, 10, 20, 30, 40, 50]


def test_eigenpro_and_gd_reach_the_same_min_norm_solution():
    """Features: from zero both stay in the row space of X and converge to pinv(X) y."""
    n, d = 40, 80
    U, _ = torch.linalg.qr(torch.randn(n, n, generator=gen(2), dtype=DT))
    V, _ = torch.linalg.qr(torch.randn(d, n, generator=gen(3), dtype=DT))
    s = torch.logspace(0, -0.8, n, dtype=DT) * math.sqrt(n)  # H's nonzero spectrum from 1 to 0.025
    X = (U * s) @ V.T
    y = torch.randn(n, generator=gen(4), dtype=DT)
    w_star = torch.linalg.pinv(X) @ y
    plain = eigenpro_gd(X, y, k=0, steps=1500, kind="features", record_every=50)
    fast = eigenpro_gd(X, y, k=10, steps=300, kind="features", record_every=50)
    assert fast.speedup == pytest.approx(1 / float(s[10] ** 2 / n))
    for res in (plain, fast):
        np.testing.assert_allclose(res.coef.numpy(), w_star.numpy(), atol=1e-8)
        np.testing.assert_allclose(res.mse.numpy(), res.predicted_mse.numpy(), rtol=1e-8, atol=1e-14)
        assert float(torch.linalg.vector_norm(res.coef - V @ (V.T @ res.coef))) < 1e-12  # row space
    # the preconditioned run took 5x fewer steps to the same point
    assert float(torch.linalg.vector_norm(fast.coef - plain.coef)) < 1e-8
    # rank-deficient with more samples than features: still pinv
    Xr = torch.randn(60, 5, generator=gen(5), dtype=DT) @ torch.randn(5, 12, generator=gen(6), dtype=DT)
    yr = torch.randn(60, generator=gen(7), dtype=DT)
    r = eigenpro_gd(Xr, yr, k=2, steps=3000, kind="features", record_every=3000)
    np.testing.assert_allclose(r.coef.numpy(), (torch.linalg.pinv(Xr) @ yr).numpy(), atol=1e-8)
    assert r.mse[-1].item() == pytest.approx(r.predicted_mse[-1].item(), rel=1e-8)


def test_eigenpro_bad_input_and_dtype(laplace_problem):
    K, y, eig = laplace_problem
    Kc = K.clone()
    with pytest.raises(ValueError, match=r"lr \* lambda < 2"):
        eigenpro_gd(K, y, k=0, steps=3, lr=2.5 / eig[0][0].item())
    with pytest.raises(ValueError, match="kind must be"):
        eigenpro_gd(K, y, k=0, steps=3, kind="kernal")
    with pytest.raises(ValueError, match="must be square"):
        eigenpro_gd(K[:, :10], y, k=0, steps=3)
    asym = K.clone()
    asym[0, 1] += 1.0
    with pytest.raises(ValueError, match="not symmetric"):
        eigenpro_gd(asym, y, k=0, steps=3)
    with pytest.raises(ValueError, match="one target per row"):
        eigenpro_gd(K, y[:-1], k=0, steps=3)
    with pytest.raises(ValueError, match="must have 400 rows"):
        eigenpro_gd(K, y, k=2, steps=3, eigen=(eig[0][:5], eig[1][:10, :5]))
    with pytest.raises(TypeError, match="pair"):
        eigenpro_gd(K, y, k=2, steps=3, eigen=eig[0])
    with pytest.raises(ValueError, match="reaches the null space"):
        eigenpro_gd(torch.ones(4, 4, dtype=DT), torch.ones(4, dtype=DT), k=1, steps=3)
    assert torch.equal(K, Kc)
    # float32 in, float32 out
    r = eigenpro_gd(K[:100, :100].float(), y[:100].float(), k=3, steps=20)
    assert r.coef.dtype == torch.float32 and r.mse.dtype == torch.float32
    assert float(r.mse[-1]) < float(r.mse[0])


# ----------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_results_stay_on_the_gpu():
    cpu = matrix_sensing_problem(12, [2.0, 1.0], n_measurements=300, seed=0, device="cpu")
    gpu = matrix_sensing_problem(12, [2.0, 1.0], n_measurements=300, seed=0, device="cuda")
    torch.testing.assert_close(gpu.sensing.cpu(), cpu.sensing)  # same draws, moved
    res = gd_matrix_sensing(gpu, steps=200, lr=0.1, init_scale=1e-4)
    ref = gd_matrix_sensing(cpu, steps=200, lr=0.1, init_scale=1e-4)
    assert res.singular_values.device.type == "cuda" and res.predicted_steps.device.type == "cuda"
    t_gpu = learning_times(res.singular_values, res.target)
    assert t_gpu.tolist() == learning_times(ref.singular_values, ref.target).tolist()
    sg = scaled_gd(gpu, damping=1e-3, steps=50, width=3)
    assert sg.error.device.type == "cuda"
    X = torch.randn(10, 30, generator=gen(0), dtype=DT)
    y = X[:, 0].clone()
    dn = diagonal_network_gd(X.cuda(), y.cuda(), init_scale=[1e-2, 1.0], lr=0.02, steps=200)
    assert dn.weights.device.type == "cuda"
    torch.testing.assert_close(diagonal_network_limit(X.cuda(), y.cuda(), 0.1).cpu(), diagonal_network_limit(X, y, 0.1))
    assert min_l1_interpolator(X.cuda(), y.cuda()).device.type == "cuda"
    K = torch.exp(-torch.cdist(X.T, X.T))
    ep = eigenpro_gd(K.cuda(), torch.ones(30, dtype=DT).cuda(), k=3, steps=20)
    assert ep.mse.device.type == "cuda" and ep.predicted_mse.device.type == "cuda"
    assert eigenpro_preconditioner(ep.eigenvalues, torch.eye(30, dtype=DT).cuda(), 2).device.type == "cuda"
