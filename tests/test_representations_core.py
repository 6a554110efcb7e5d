"""spectrakit.core.representations: closed forms, numpy / reference implementations, the
self-supervised toy claims (collapse, VNE, stepwise Barlow Twins) and bad input."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spectrakit.core.representations import (
    VICRegTerms,
    barlow_twins_loss,
    covariance_spectrum,
    effective_rank,
    embedding_covariance,
    iternorm,
    iternorm_whiten,
    linear_barlow_twins,
    linear_encoder,
    spectral_entropy,
    ssl_toy_data,
    switch_on_steps,
    train_ssl,
    vicreg_loss,
    vicreg_terms,
    vne_loss,
    von_neumann_entropy,
)

DT = torch.float64


def randn(*shape, seed=0, scale=None):
    z = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DT)
    return z if scale is None else z * scale


# ------------------------------------------------------------------ spectra and rank


def test_covariance_and_spectrum_match_numpy():
    z = randn(50, 6, seed=1, scale=torch.tensor([3.0, 2.0, 1.0, 0.5, 0.1, 0.01], dtype=DT)) + 2.0
    before = z.clone()
    c = embedding_covariance(z)
    np.testing.assert_allclose(c.numpy(), np.cov(z.numpy(), rowvar=False), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(embedding_covariance(z, center=False).numpy(), z.numpy().T @ z.numpy() / 50, rtol=1e-12)
    assert torch.equal(c, c.T)
    s = covariance_spectrum(z)
    ref = np.linalg.eigvalsh(np.cov(z.numpy(), rowvar=False))[::-1]
    np.testing.assert_allclose(s.numpy(), ref, rtol=1e-10, atol=1e-14)
    assert torch.equal(z, before)  # inputs untouched
    # float32 stays float32
    assert covariance_spectrum(z.float()).dtype == torch.float32


def test_rank_deficient_spectrum_is_clamped_non_negative():
    z = randn(40, 2, seed=2) @ randn(2, 5, seed=3)  # rank 2 in 5 dims
    s = covariance_spectrum(z)
    assert (s >= 0).all() and s[2:].max() < 1e-12 * s[0]


def test_entropy_and_effective_rank_closed_forms():
    for d in (1, 2, 7, 32):
        eq = torch.full((d,), 0.3, dtype=DT)
        assert math.isclose(float(spectral_entropy(eq)), math.log(d), abs_tol=1e-12)
        assert math.isclose(float(effective_rank(eq)), d, rel_tol=1e-12)
        one = torch.zeros(d, dtype=DT)
        one[d // 2] = 5.0
        assert float(spectral_entropy(one)) == 0.0
        assert float(effective_rank(one)) == 1.0
    # two unequal values by hand: p = (3/4, 1/4)
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert math.isclose(float(spectral_entropy(torch.tensor([3.0, 1.0], dtype=DT))), h, rel_tol=1e-14)
    # scale free, and batched along the leading dims
    s = torch.tensor([[4.0, 1.0, 0.0], [1.0, 1.0, 1.0], [2.0, 0.0, 0.0]], dtype=DT)
    torch.testing.assert_close(effective_rank(s), torch.tensor([math.exp(-(0.8 * math.log(0.8) + 0.2 * math.log(0.2))), 3.0, 1.0], dtype=DT))
    torch.testing.assert_close(effective_rank(1e-9 * s), effective_rank(s))
    # tiny negatives from eigvalsh are rounding, not an error
    assert math.isclose(float(effective_rank(torch.tensor([1.0, 1.0, -1e-17], dtype=DT))), 2.0, rel_tol=1e-12)


def test_effective_rank_kinds_against_numpy():
    z = randn(64, 5, seed=4, scale=torch.tensor([5.0, 2.0, 1.0, 0.5, 0.2], dtype=DT)) + 1.0

    def erank(v):
        p = v / v.sum()
        p = p[p > 0]
        return math.exp(-(p * np.log(p)).sum())

    zn = z.numpy()
    cov_eigs = np.clip(np.linalg.eigvalsh(np.cov(zn, rowvar=False)), 0, None)
    assert math.isclose(float(effective_rank(z, kind="covariance")), erank(cov_eigs), rel_tol=1e-10)
    # RankMe: singular values of z itself (not centred, not squared)
    assert math.isclose(float(effective_rank(z, kind="singular")), erank(np.linalg.svd(zn, compute_uv=False)), rel_tol=1e-10)
    # squaring sharpens: covariance kind <= singular values of the centred z
    zc = zn - zn.mean(0)
    assert float(effective_rank(z, kind="covariance")) < erank(np.linalg.svd(zc, compute_uv=False))


def test_effective_rank_is_differentiable():
    z = randn(30, 4, seed=5).requires_grad_()
    (g,) = torch.autograd.grad(effective_rank(z, kind="covariance"), z)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    s = torch.tensor([2.0, 1.0, 0.0], dtype=DT, requires_grad=True)  # a zero value: no NaN
    (g,) = torch.autograd.grad(spectral_entropy(s), s)
    assert torch.isfinite(g).all()


def _vne_reference(z: np.ndarray, normalize=True) -> float:
    # the VNE paper's reference (rows normalized, rho = H^T H / N, eigenvalues, -sum l log l)
    h = z / np.linalg.norm(z, axis=1, keepdims=True) if normalize else z
    rho = h.T @ h / len(h)
    lam = np.linalg.eigvalsh(rho / np.trace(rho))
    lam = lam[lam > 1e-300]
    return float(-(lam * np.log(lam)).sum())


def test_von_neumann_entropy_matches_reference_and_closed_forms():
    z = randn(40, 6, seed=6, scale=torch.tensor([4.0, 2.0, 1.0, 0.5, 0.3, 0.1], dtype=DT))
    assert math.isclose(float(von_neumann_entropy(z)), _vne_reference(z.numpy()), rel_tol=1e-12)
    assert math.isclose(float(von_neumann_entropy(z, normalize=False)), _vne_reference(z.numpy(), False), rel_tol=1e-12)
    # the singular-value form of the reference code gives the same number
    h = F.normalize(z, dim=1) / math.sqrt(len(z))
    lam = torch.linalg.svdvals(h) ** 2
    assert math.isclose(float(von_neumann_entropy(z)), float(-(lam * lam.log()).sum()), rel_tol=1e-12)
    # isotropic -> log d, rank one -> 0, scale-free, rows' lengths do not matter
    d = 8
    iso = torch.cat([torch.eye(d, dtype=DT), -3 * torch.eye(d, dtype=DT)])
    assert math.isclose(float(von_neumann_entropy(iso)), math.log(d), rel_tol=1e-12)
    rank1 = torch.outer(randn(20, seed=7), randn(5, seed=8))
    assert abs(float(von_neumann_entropy(rank1))) < 1e-12
    scaled = z * torch.linspace(0.1, 10, 40, dtype=DT)[:, None]
    assert math.isclose(float(von_neumann_entropy(scaled)), float(von_neumann_entropy(z)), rel_tol=1e-12)
    assert float(vne_loss(z)) == -float(von_neumann_entropy(z))


def test_vne_gradients_finite_and_match_finite_differences():
    z = randn(12, 4, seed=9, scale=torch.tensor([2.0, 1.0, 0.7, 0.3], dtype=DT)).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: von_neumann_entropy(x), (z,), eps=1e-6, atol=1e-7)
    # rank-deficient input (zero eigenvalues, repeated): the gradient stays finite
    low = (randn(20, 1, seed=10) @ randn(1, 6, seed=11)).requires_grad_()
    (g,) = torch.autograd.grad(vne_loss(low), low)
    assert torch.isfinite(g).all()


def test_vne_ascent_fills_the_spectrum_and_descent_collapses_it():
    # synthetic embeddings n=256, d=32 with a decaying spectrum; plain gradient steps
    z0 = randn(256, 32, seed=0, scale=0.8 ** torch.arange(32, dtype=DT))
    start = math.exp(float(von_neumann_entropy(z0)))
    ends = {}
    for sign in (1, -1):  # minimize -S (ascent on S) or +S
        z = z0.clone().requires_grad_()
        opt = torch.optim.SGD([z], lr=10.0)
        for _ in range(200):
            opt.zero_grad()
            (sign * vne_loss(z)).backward()
            opt.step()
        ends[sign] = math.exp(float(von_neumann_entropy(z.detach())))
    assert 5 < start < 10
    assert ends[1] > 31.5, ends  # toward d = 32
    assert ends[-1] < 1.01, ends  # toward rank one


# --------------------------------------------------------------------------- VICReg


def _vicreg_loops(za: np.ndarray, zb: np.ndarray, gamma=1.0, eps=1e-4):
    """Straightforward loops, written from the paper's definitions."""
    n, d = za.shape
    inv = sum((za[i, j] - zb[i, j]) ** 2 for i in range(n) for j in range(d)) / (n * d)

    def v(z):
        total = 0.0
        for j in range(d):
            m = sum(z[:, j]) / n
            var = sum((z[i, j] - m) ** 2 for i in range(n)) / (n - 1)
            total += max(0.0, gamma - math.sqrt(var + eps))
        return total / d

    def c(z):
        m = z.mean(axis=0)
        total = 0.0
        for a in range(d):
            for b in range(d):
                if a != b:
                    cab = sum((z[i, a] - m[a]) * (z[i, b] - m[b]) for i in range(n)) / (n - 1)
                    total += cab**2
        return total / d

    return inv, v(za) + v(zb), c(za) + c(zb)


def test_vicreg_terms_match_loops_and_hand_case():
    za = randn(10, 4, seed=12, scale=torch.tensor([2.0, 0.5, 1.0, 0.1], dtype=DT))
    zb = za + 0.3 * randn(10, 4, seed=13)
    t = vicreg_terms(za, zb, gamma=1.0, eps=1e-4)
    assert isinstance(t, VICRegTerms)
    ref = _vicreg_loops(za.numpy(), zb.numpy())
    for got, want in zip(t, ref):
        assert math.isclose(float(got), want, rel_tol=1e-12), (t, ref)
    loss = vicreg_loss(za, zb, sim=2.0, var=3.0, cov=0.5)
    assert math.isclose(float(loss), 2 * ref[0] + 3 * ref[1] + 0.5 * ref[2], rel_tol=1e-12)
    # defaults are the paper's 25, 25, 1
    assert math.isclose(float(vicreg_loss(za, zb)), 25 * ref[0] + 25 * ref[1] + ref[2], rel_tol=1e-12)

    # by hand: z_a = (+-1, 0), (0, +-1); z_b its rows reversed
    a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=DT)
    b = a.flip(0)
    t = vicreg_terms(a, b, eps=0.0)
    assert float(t.invariance) == 1.0  # every entry of a - b is +-1
    std = math.sqrt(2 / 3)  # each column: values 1, -1, 0, 0 -> unbiased variance 2/3
    assert math.isclose(float(t.variance), 2 * (1 - std), rel_tol=1e-14)
    assert float(t.covariance) == 0.0


def test_vicreg_variance_relates_to_reference_code_and_gradients_are_finite():
    za = randn(16, 3, seed=14, scale=0.3).requires_grad_()
    zb = (randn(16, 3, seed=15, scale=0.3)).requires_grad_()
    t = vicreg_terms(za, zb)
    # the reference code averages the two branches' hinge: ours (the paper's sum) is twice it
    code = (torch.relu(1 - torch.sqrt(za.var(0) + 1e-4)).mean() + torch.relu(1 - torch.sqrt(zb.var(0) + 1e-4)).mean()) / 2
    assert math.isclose(float(t.variance.detach()), 2 * float(code.detach()), rel_tol=1e-12)
    assert torch.autograd.gradcheck(lambda a, b: vicreg_loss(a, b), (za, zb), eps=1e-6, atol=1e-6)
    # a fully collapsed dimension: eps keeps the gradient finite
    dead = torch.cat([randn(16, 2, seed=16), torch.full((16, 1), 0.5, dtype=DT)], 1).requires_grad_()
    grads = torch.autograd.grad(vicreg_loss(dead, dead), dead)
    assert torch.isfinite(grads[0]).all()


# ------------------------------------------------------------------- Barlow Twins


def test_barlow_twins_loss_matches_batchnorm_reference():
    za = randn(32, 5, seed=17, scale=torch.tensor([1.0, 3.0, 0.2, 1.0, 2.0], dtype=DT)) + 1.0
    zb = za + 0.5 * randn(32, 5, seed=18)
    bn = torch.nn.BatchNorm1d(5, affine=False, dtype=DT)  # the reference code's normalization
    c = bn(za).T @ bn(zb) / 32
    on = ((torch.diagonal(c) - 1) ** 2).sum()
    off = (c**2).sum() - (torch.diagonal(c) ** 2).sum()
    for lambd in (0.0051, 1.0):
        assert math.isclose(float(barlow_twins_loss(za, zb, lambd=lambd)), float(on + lambd * off), rel_tol=1e-10)


def test_unnormalized_barlow_twins_is_frobenius_distance_of_w_gamma_w():
    xa, xb = ssl_toy_data(100, 6, seed=3, device="cpu")
    w = randn(3, 6, seed=19, scale=0.4)
    gamma = (xa.T @ xb + xb.T @ xa) / 200
    c = w @ gamma @ w.T
    want = float(((c - torch.eye(3, dtype=DT)) ** 2).sum())
    assert math.isclose(float(barlow_twins_loss(xa @ w.T, xb @ w.T, lambd=1.0, normalize=False)), want, rel_tol=1e-12)


# ------------------------------------------------------------------------- IterNorm


def _scalar_newton(lam: float, T: int) -> float:
    p = 1.0
    for _ in range(T):
        p = (3 * p - p**3 * lam) / 2
    return p


def test_iternorm_on_a_diagonal_is_the_scalar_newton_iteration():
    lam = torch.tensor([4.0, 2.0, 1.0, 0.5, 0.25], dtype=DT)
    tr = float(lam.sum())
    for T in (0, 1, 2, 5, 9):
        w = iternorm(torch.diag(lam), T)
        want = [_scalar_newton(float(x) / tr, T) / math.sqrt(tr) for x in lam]
        torch.testing.assert_close(w, torch.diag(torch.tensor(want, dtype=DT)), rtol=1e-13, atol=1e-15)
    # T = 0 by hand: I / sqrt(tr)
    torch.testing.assert_close(iternorm(torch.diag(lam), 0), torch.eye(5, dtype=DT) / math.sqrt(tr))


def _whitened_condition(sigma, T):
    w = iternorm(sigma, T)
    m = w @ sigma @ w.T
    e = torch.linalg.eigvalsh((m + m.T) / 2)
    return float(e[-1] / e[0])


def test_iternorm_condition_numbers_claim():
    # a trace-normalized 32 x 32 covariance, log-spaced eigenvalues 1 .. 1e-3 (condition 1e3)
    lam = torch.logspace(0, -3, 32, dtype=DT)
    lam = lam / lam.sum()
    q, _ = torch.linalg.qr(randn(32, 32, seed=20))
    for sigma in (torch.diag(lam), (q * lam) @ q.T):
        sigma = (sigma + sigma.T) / 2
        conds = {T: _whitened_condition(sigma, T) for T in (0, 5, 8, 12, 30)}
        assert math.isclose(conds[0], 1e3, rel_tol=1e-9)
        assert math.isclose(conds[5], 87.269, rel_tol=1e-4), conds  # "about 87"
        assert math.isclose(conds[8], 8.1589, rel_tol=1e-4), conds
        assert math.isclose(conds[12], 1.04875, rel_tol=1e-4), conds  # "about 1.05"
        assert conds[30] < 1 + 1e-9, conds  # no blow-up long after convergence


def test_iternorm_converges_to_inverse_square_root_and_whitens():
    z = randn(200, 5, seed=21) @ randn(5, 5, seed=22)
    sigma = embedding_covariance(z)
    e, v = torch.linalg.eigh(sigma)
    inv_sqrt = (v / e.sqrt()) @ v.T
    torch.testing.assert_close(iternorm(sigma, 60), inv_sqrt, rtol=1e-8, atol=1e-10)
    white = iternorm_whiten(z, T=60)
    torch.testing.assert_close(embedding_covariance(white), torch.eye(5, dtype=DT), rtol=0, atol=1e-8)
    # differentiable
    zz = z.clone().requires_grad_()
    (g,) = torch.autograd.grad(iternorm_whiten(zz, T=5).pow(2).sum(), zz)
    assert torch.isfinite(g).all()


# ------------------------------------------------------------------ two-view toy


def test_ssl_toy_data_spectrum_and_seeding():
    xa, xb = ssl_toy_data(20000, 4, decay=0.5, noise=0.5, seed=1, device="cpu")
    assert xa.shape == xb.shape == (20000, 4) and xa.dtype == DT
    cross = (xa.T @ xb + xb.T @ xa) / (2 * 20000)
    torch.testing.assert_close(torch.linalg.eigvalsh(cross).flip(0), 0.5 ** torch.arange(4, dtype=DT), rtol=0, atol=0.03)
    cov_a = embedding_covariance(xa)
    torch.testing.assert_close(torch.linalg.eigvalsh(cov_a).flip(0), 0.5 ** torch.arange(4, dtype=DT) + 0.25, rtol=0, atol=0.03)
    again = ssl_toy_data(20000, 4, decay=0.5, noise=0.5, seed=1, device="cpu")
    assert torch.equal(again.view_a, xa) and torch.equal(again.view_b, xb)
    low = ssl_toy_data(500, 6, signal_dim=2, noise=0.0, seed=0, device="cpu", dtype=torch.float32)
    assert low.view_a.dtype == torch.float32
    assert torch.equal(low.view_a, low.view_b)  # no noise: identical views
    s = covariance_spectrum(low.view_a.double())
    assert s[2:].max() < 1e-10 * s[0]  # a 2-dimensional signal


@pytest.fixture(scope="module")
def toy():
    return ssl_toy_data(512, 16, seed=0, device="cpu"), linear_encoder(16, 8, seed=1, device="cpu")


def test_variance_weight_zero_collapses_and_vicreg_keeps_full_rank(toy):
    views, enc = toy
    w_before = enc.weight.detach().clone()
    collapsed = train_ssl(enc, views, lambda a, b: vicreg_loss(a, b, var=0.0), steps=500, lr=1e-2)
    full = train_ssl(enc, views, vicreg_loss, steps=500, lr=1e-2)
    assert torch.equal(enc.weight.detach(), w_before)  # trained a copy
    assert collapsed.encoder is not enc
    assert full.spectra.shape == (501, 8) and full.steps[-1] == 500 and full.loss.shape == (501,)
    start = full.spectra[0]
    assert torch.equal(collapsed.spectra[0], start)  # same initial encoder
    # var = 0: every eigenvalue -> 0 (top one 1.9 -> about 1e-4)
    assert collapsed.spectra[-1, 0] < 1e-3 * start[0], collapsed.spectra[-1]
    # VICReg: full rank, every dimension's variance near gamma^2 = 1
    assert full.spectra[-1, -1] > 0.3, full.spectra[-1]
    assert float(effective_rank(full.spectra[-1])) > 7.0  # of 8 (7.45 measured)
    assert float(effective_rank(full.spectra[-1])) > float(effective_rank(start))
    assert full.loss[-1] < full.loss[0]


def test_vne_keeps_the_toy_full_rank_and_negative_alpha_collapses_it(toy):
    views, enc = toy

    def loss_for(alpha):
        def loss(a, b):  # cosine invariance (scale-free, like the VNE paper's SSL runs) - alpha S
            return 1 - F.cosine_similarity(a, b).mean() + alpha * (vne_loss(a) + vne_loss(b)) / 2

        return loss

    ranks = {}
    for alpha in (-1.0, 0.0, 1.0):
        res = train_ssl(enc, views, loss_for(alpha), steps=300, lr=0.1, record_every=50)
        assert res.steps.tolist() == [0, 50, 100, 150, 200, 250, 300]
        ranks[alpha] = float(effective_rank(res.spectra[-1]))
    assert ranks[1.0] > 7.5, ranks  # of 8
    assert ranks[-1.0] < 1.2, ranks
    assert ranks[-1.0] < ranks[0.0] < ranks[1.0]


def test_train_ssl_minibatches_are_seeded_and_adam_runs(toy):
    views, enc = toy
    r1 = train_ssl(enc, views, vicreg_loss, steps=20, lr=1e-2, batch_size=100, seed=3, optimizer="adam")
    r2 = train_ssl(enc, views, vicreg_loss, steps=20, lr=1e-2, batch_size=100, seed=3, optimizer="adam")
    r3 = train_ssl(enc, views, vicreg_loss, steps=20, lr=1e-2, batch_size=100, seed=4, optimizer="adam")
    assert torch.equal(r1.spectra, r2.spectra)
    assert not torch.equal(r1.spectra, r3.spectra)
    r0 = train_ssl(enc, views, vicreg_loss, steps=0)
    assert r0.spectra.shape == (1, 8) and r0.steps.tolist() == [0]


# ------------------------------------------------------------ stepwise Barlow Twins


def test_linear_barlow_twins_learns_eigenmodes_one_at_a_time():
    xa, xb = ssl_toy_data(1000, 10, decay=0.5, noise=0.3, seed=0, device="cpu")
    res = linear_barlow_twins(xa, xb, 4, steps=600, lr=0.05, init_scale=1e-3, seed=0)
    eig = res.eigenvalues
    assert eig.shape == (601, 4) and res.loss.shape == (601,) and res.weights.shape == (4, 10)
    assert float(eig[0].max()) < 1e-4  # small start
    torch.testing.assert_close(eig[-1], torch.ones(4, dtype=DT), rtol=0, atol=1e-3)  # all learned
    # the targets are the top eigenvalues of the views' cross-correlation, about 0.5 ** j
    gamma = (xa.T @ xb + xb.T @ xa) / 2000
    torch.testing.assert_close(res.target, torch.linalg.eigvalsh(gamma).flip(0)[:4])
    times = switch_on_steps(eig)
    t = times.tolist()
    assert t == sorted(t) and all(b > 1.6 * a for a, b in zip(t, t[1:])), t  # ordered, well separated
    # one at a time: when mode j is half learned, the earlier ones are done, the later ones ~0
    for j, tj in enumerate(t):
        assert (eig[tj, :j] > 0.95).all(), (j, eig[tj])
        assert (eig[tj, j + 1:] < 0.05).all(), (j, eig[tj])
    # the small-initialization theory predicts the times to a few percent
    rel = (times.to(DT) - res.predicted_steps).abs() / res.predicted_steps
    assert (rel < 0.05).all(), (t, res.predicted_steps)
    # the loss descends in steps of about 1: d_out - (modes learned)
    assert math.isclose(float(res.loss[0]), 4.0, rel_tol=1e-3)
    for j, tj in enumerate(t[:-1]):
        mid = (tj + t[j + 1]) // 2
        assert abs(float(res.loss[mid]) - (3 - j)) < 0.1, (mid, float(res.loss[mid]))


def test_float32_runs_stay_float32():
    xa, xb = ssl_toy_data(500, 6, decay=0.5, seed=0, device="cpu", dtype=torch.float32)
    res = linear_barlow_twins(xa, xb, 2, steps=200)
    assert res.eigenvalues.dtype == res.weights.dtype == res.predicted_steps.dtype == torch.float32
    assert switch_on_steps(res.eigenvalues).tolist() == sorted(switch_on_steps(res.eigenvalues).tolist())
    enc = linear_encoder(6, 3, device="cpu", dtype=torch.float32)
    out = train_ssl(enc, (xa, xb), vicreg_loss, steps=5)
    assert out.spectra.dtype == out.loss.dtype == torch.float32


def test_switch_on_steps_by_hand():
    h = torch.tensor([[0.0, 0.0, 0.0], [0.6, 0.0, 0.0], [1.0, 0.1, 0.0], [1.0, 0.9, 0.0]], dtype=DT)
    assert switch_on_steps(h).tolist() == [1, 3, -1]
    assert switch_on_steps(h, level=0.05).tolist() == [1, 2, -1]


# ------------------------------------------------------------------------ bad input


def test_bad_inputs_raise_clear_errors():
    z = randn(10, 3, seed=0)
    nan = z.clone()
    nan[2, 1] = float("nan")
    with pytest.raises(ValueError, match="z has 1 non-finite"):
        embedding_covariance(nan)
    with pytest.raises(ValueError, match=r"z must be 2-D"):
        covariance_spectrum(z[0])
    with pytest.raises(ValueError, match="at least 2"):
        embedding_covariance(z[:1])
    with pytest.raises(TypeError, match="torch.Tensor"):
        embedding_covariance(z.numpy())
    with pytest.raises(TypeError, match="floating-point"):
        embedding_covariance(torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="kind='covariance'"):
        effective_rank(torch.tensor([1.0, -0.5]))  # negative: probably an embedding, not a spectrum
    with pytest.raises(ValueError, match="kind must be one of"):
        effective_rank(z, kind="eigenvalues")
    with pytest.raises(ValueError, match="all zeros"):
        effective_rank(torch.zeros(3))
    with pytest.raises(ValueError, match="all zeros"):
        von_neumann_entropy(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="same shape"):
        vicreg_loss(z, z[:, :2])
    with pytest.raises(ValueError, match="z_b is torch.float32"):
        vicreg_loss(z, z.float())
    with pytest.raises(ValueError, match="var must be >= 0"):
        vicreg_loss(z, z, var=-1.0)
    with pytest.raises(ValueError, match="gamma must be finite"):
        vicreg_terms(z, z, gamma=float("inf"))
    with pytest.raises(ValueError, match="square"):
        iternorm(z)
    with pytest.raises(ValueError, match="not symmetric"):
        iternorm(torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=DT))
    with pytest.raises(ValueError, match="trace"):
        iternorm(torch.zeros(3, 3, dtype=DT))
    with pytest.raises(ValueError, match="T must be >= 0"):
        iternorm(torch.eye(3, dtype=DT), -1)
    with pytest.raises(TypeError, match="T must be an integer"):
        iternorm(torch.eye(3, dtype=DT), 2.5)
    with pytest.raises(ValueError, match="signal_dim must be <= d_in"):
        ssl_toy_data(10, 3, signal_dim=4)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        ssl_toy_data(10, 3, noise=-0.1)


def test_training_loops_reject_bad_setups():
    views = ssl_toy_data(64, 4, seed=0, device="cpu")
    enc32 = linear_encoder(4, 2, device="cpu", dtype=torch.float32)
    with pytest.raises(ValueError, match="float32 .* but the views are torch.float64"):
        train_ssl(enc32, views, vicreg_loss, steps=1)
    enc = linear_encoder(4, 2, device="cpu")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        train_ssl(lambda x: x, views, vicreg_loss)
    with pytest.raises(TypeError, match="pair"):
        train_ssl(enc, views.view_a, vicreg_loss)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train_ssl(enc, views, vicreg_loss, optimizer="lbfgs")
    with pytest.raises(ValueError, match="batch_size must be <= n"):
        train_ssl(enc, views, vicreg_loss, batch_size=1000)
    with pytest.raises(ValueError, match="scalar"):
        train_ssl(enc, views, lambda a, b: (a - b) ** 2, steps=1)
    with pytest.raises(FloatingPointError, match="lower lr"):  # diverges
        train_ssl(enc, views, lambda a, b: -(a**2).sum() * 1e300, steps=3, lr=1e10)
    with pytest.raises(ValueError, match="lr < "):
        linear_barlow_twins(*views, 2, lr=10.0)
    with pytest.raises(ValueError, match="d_out must be <= d_in"):
        linear_barlow_twins(*views, 5)


# ----------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_results_stay_on_the_gpu():
    z = randn(64, 6, seed=0).cuda()
    for out in (embedding_covariance(z), covariance_spectrum(z), effective_rank(z, kind="covariance"),
                von_neumann_entropy(z), vicreg_loss(z, z.flip(0)), iternorm(embedding_covariance(z)),
                barlow_twins_loss(z, z.flip(0))):
        assert out.device.type == "cuda" and out.dtype == DT
    views = ssl_toy_data(256, 8, decay=0.5, seed=0, device="cuda")
    cpu = ssl_toy_data(256, 8, decay=0.5, seed=0, device="cpu")
    torch.testing.assert_close(views.view_a.cpu(), cpu.view_a)  # same draws, moved
    res = linear_barlow_twins(*views, 3, steps=300)
    ref = linear_barlow_twins(*cpu, 3, steps=300)
    assert res.eigenvalues.device.type == "cuda"
    assert switch_on_steps(res.eigenvalues).tolist() == switch_on_steps(ref.eigenvalues).tolist()
    enc = linear_encoder(8, 4, seed=1, device="cuda")
    out = train_ssl(enc, views, vicreg_loss, steps=50)
    assert out.spectra.device.type == "cuda"
