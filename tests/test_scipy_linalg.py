"""scipy.linalg: values equal SciPy's, every function through `check_rule`, errors.

Inputs are well conditioned: ``A + 3I``, SPD ``A Aᵀ + n I``, matrices near the identity for
``sqrtm``/``logm`` (real results), triangles with a dominant diagonal.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import linalg
from rulecheck import check_rule


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def square(n: int = 3, seed: int = 0) -> np.ndarray:
    return rand(n, n, seed=seed) + 3.0 * np.eye(n)


def near_identity(n: int = 3, seed: int = 0) -> np.ndarray:
    return np.eye(n) + 0.3 * rand(n, n, seed=seed)


def spd(n: int = 3, seed: int = 0) -> np.ndarray:
    a = rand(n, n, seed=seed)
    return a @ a.T + n * np.eye(n)


def traced_value(f, *args):
    return cr.vjp(f, *args)[0]


def same_values(ours, theirs, *args, atol=1e-10):
    """Plain arrays: SciPy's own result; under a transform: the same numbers."""
    expected = theirs(*args)
    plain = ours(*args)
    for p, e in zip(cr.tree.leaves(plain), cr.tree.leaves(expected), strict=True):
        np.testing.assert_array_equal(p, e)
    traced = traced_value(ours, *args)
    for t, e in zip(cr.tree.leaves(traced), cr.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(t), e, atol=atol, rtol=1e-10)


# ------------------------------------------------------------------- matrix functions


@pytest.mark.parametrize(
    ("name", "make"), [("expm", lambda: 0.5 * rand(3, 3)), ("sqrtm", near_identity),
                       ("logm", near_identity)],
)  # fmt: skip
def test_matrix_functions(name, make):
    a = make()
    same_values(getattr(linalg, name), getattr(sl, name), a)
    check_rule(getattr(linalg, name), a, float32=name != "logm")  # SciPy's logm widens


def test_matrix_functions_with_complex_eigenvalues_are_real():
    r = np.array([[0.5, -1.0], [1.0, 0.5]])  # eigenvalues 0.5 ± i: real sqrtm and logm
    check_rule(linalg.sqrtm, r)
    check_rule(linalg.logm, r, float32=False)


def test_matrix_functions_scalar_matrix_and_stack():
    check_rule(linalg.expm, np.array([[0.7]]))
    check_rule(linalg.sqrtm, np.array([[2.0]]))
    check_rule(linalg.expm, 0.5 * rand(2, 2, 2))


def test_float32_kept_under_a_transform_where_scipy_widens():
    a = near_identity().astype(np.float32)
    assert sl.logm(a).dtype == sl.det(a).dtype == np.float64  # SciPy's own, outside
    assert linalg.logm(a).dtype == linalg.det(a).dtype == np.float64
    assert traced_value(linalg.logm, a).dtype == traced_value(linalg.det, a).dtype == np.float32


def test_sqrtm_squares_back_and_derivative_solves_sylvester():
    a, e = near_identity(), rand(3, 3, seed=3)
    x = sl.sqrtm(a)
    dx = cr.jvp(linalg.sqrtm, (a,), (e,))[1]
    np.testing.assert_allclose(x @ dx + dx @ x, e, atol=1e-10)


def test_expm_frechet():
    a, e = 0.5 * rand(3, 3), rand(3, 3, seed=1)
    same_values(linalg.expm_frechet, sl.expm_frechet, a, e)
    f = lambda a, e: linalg.expm_frechet(a, e, compute_expm=False)
    np.testing.assert_allclose(traced_value(f, a, e), sl.expm_frechet(a, e)[1], atol=1e-10)
    check_rule(f, a, e, float32=False)  # SciPy's expm_frechet computes float32 in float64
    # the Fréchet derivative is expm's own forward derivative
    np.testing.assert_allclose(cr.jvp(linalg.expm, (a,), (e,))[1], f(a, e), atol=1e-10)


@pytest.mark.parametrize("name", ["sqrtm", "logm"])
def test_complex_result_raises_under_transform(name):
    a = np.diag([-1.0, 2.0])
    assert np.iscomplexobj(getattr(linalg, name)(a))  # SciPy's value, outside a transform
    with pytest.raises(ValueError, match=f"{name}: the result is complex"):
        cr.grad(lambda a: getattr(linalg, name)(a).sum())(a)


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::scipy.linalg.LinAlgWarning")
@pytest.mark.parametrize("name", ["sqrtm", "logm"])
@pytest.mark.parametrize("a", [np.diag([0.0, 1.0]), np.zeros((2, 2)), np.diag([1e-17, 1.0])])
def test_singular_matrix_derivative_raises(name, a):
    f = getattr(linalg, name)
    for derivative in (cr.grad(lambda a: f(a).sum()), cr.jacfwd(f)):
        with pytest.raises(np.linalg.LinAlgError, match=f"{name}: the matrix is singular"):
            derivative(a)


def test_nearly_singular_but_resolved_derivative_is_kept():
    a = np.diag([1e-10, 1.0])  # sqrt'(1e-10) = 5e4, well defined
    np.testing.assert_allclose(cr.grad(lambda a: linalg.sqrtm(a)[0, 0])(a)[0, 0], 5e4, rtol=1e-6)


# ------------------------------------------------------------------ Sylvester, Lyapunov


def test_solve_sylvester():
    a, b, q = square(3), square(2, seed=1), rand(3, 2, seed=2)
    same_values(linalg.solve_sylvester, sl.solve_sylvester, a, b, q)
    check_rule(linalg.solve_sylvester, a, b, q)


def test_solve_continuous_lyapunov():
    a, q = square(3), rand(3, 3, seed=2)
    same_values(linalg.solve_continuous_lyapunov, sl.solve_continuous_lyapunov, a, q)
    check_rule(linalg.solve_continuous_lyapunov, a, q)


def test_singular_sylvester_raises_under_a_transform():
    a, b, q = np.diag([1.0, 2.0]), -np.diag([1.0, 3.0]), np.ones((2, 2))
    assert np.abs(sl.solve_sylvester(a, b, q)).max() > 1e10  # SciPy's value: meaningless
    with pytest.raises(np.linalg.LinAlgError, match="solve_sylvester: the equation is singular"):
        cr.grad(lambda q: linalg.solve_sylvester(a, b, q).sum())(q)
    with pytest.raises(np.linalg.LinAlgError, match="lyapunov: the equation is singular"):
        cr.grad(lambda q: linalg.solve_continuous_lyapunov(np.diag([1.0, -1.0]), q).sum())(q)


# ------------------------------------------------------------------- triangular solves


@pytest.mark.parametrize("trans", [0, 1, "T", "C"])
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("unit_diagonal", [False, True])
@pytest.mark.parametrize("bshape", [(3,), (3, 2)])
def test_solve_triangular(trans, lower, unit_diagonal, bshape):
    a, b = square(3), rand(*bshape, seed=1)

    def f(a, b):
        return linalg.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)

    same_values(f, lambda a, b: sl.solve_triangular(
        a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal), a, b)  # fmt: skip
    check_rule(f, a, b)
    # the entries SciPy never reads have derivative 0
    ga = cr.grad(lambda a: f(a, b).sum())(a)
    unread = ~(
        np.tri(3, k=-unit_diagonal, dtype=bool)
        if lower
        else np.tri(3, k=-unit_diagonal, dtype=bool).T
    )
    assert np.all(ga[unread] == 0)


# ---------------------------------------------------------------------------- Cholesky


@pytest.mark.parametrize("lower", [False, True])
def test_cholesky_default_upper(lower):
    a = spd()
    same_values(lambda a: linalg.cholesky(a, lower=lower), lambda a: sl.cholesky(a, lower=lower), a)
    check_rule(lambda a: linalg.cholesky(a, lower=lower), a)
    u = traced_value(linalg.cholesky, a)
    np.testing.assert_allclose(np.tril(u, -1), 0)  # SciPy's default is the upper factor


@pytest.mark.parametrize("lower", [False, True])
def test_cho_factor_and_solve(lower):
    a, b = spd(), rand(3, 2, seed=1)
    same_values(lambda a: linalg.cho_factor(a, lower=lower)[0],
                lambda a: sl.cho_factor(a, lower=lower)[0], a)  # fmt: skip

    def f(a, b):
        return linalg.cho_solve(linalg.cho_factor(a, lower=lower), b)

    np.testing.assert_allclose(traced_value(f, a, b), np.linalg.solve(a, b), atol=1e-12)
    check_rule(f, a, b)
    ga = cr.grad(lambda a: f(a, b).sum())(a)
    unread = np.triu(np.ones((3, 3), bool), 1) if lower else np.tril(np.ones((3, 3), bool), -1)
    assert np.all(ga[unread] == 0)


# ---------------------------------------------------------------------------------- LU


def test_lu_factor():
    a = rand(4, 4, seed=3)  # pivoting happens: the first column's largest entry is not first
    assert not np.array_equal(sl.lu_factor(a)[1], np.arange(4))
    same_values(lambda a: linalg.lu_factor(a)[0], lambda a: sl.lu_factor(a)[0], a)
    piv = traced_value(lambda a: linalg.lu_factor(a)[1], a)
    np.testing.assert_array_equal(piv, sl.lu_factor(a)[1])
    check_rule(lambda a: linalg.lu_factor(a)[0], a)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_lu_factor_singular_raises():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match="lu_factor: a pivot is 0"):
        cr.jacfwd(lambda a: linalg.lu_factor(a)[0])(a)
    with pytest.raises(np.linalg.LinAlgError, match="lu_factor: a pivot is 0"):
        cr.grad(lambda a: linalg.lu_factor(a)[0].sum())(a)


@pytest.mark.parametrize("trans", [0, 1])
@pytest.mark.parametrize("bshape", [(4,), (4, 2)])
def test_lu_solve(trans, bshape):
    a, b = rand(4, 4, seed=3), rand(*bshape, seed=1)

    def f(a, b):
        return linalg.lu_solve(linalg.lu_factor(a), b, trans=trans)

    expected = sl.lu_solve(sl.lu_factor(a), b, trans=trans)
    np.testing.assert_allclose(traced_value(f, a, b), expected, atol=1e-12)
    check_rule(f, a, b)


# --------------------------------------------------------------------------- block_diag


def test_block_diag():
    x, y, z = rand(2, 3), rand(2, seed=1), np.float64(1.5)
    same_values(linalg.block_diag, sl.block_diag, x, y, z)
    check_rule(linalg.block_diag, x, y, z)


def test_block_diag_errors():
    with pytest.raises(ValueError, match=r"block_diag: the batch axes .* do not broadcast"):
        cr.grad(lambda x: linalg.block_diag(x, rand(3, 2, 2)).sum())(rand(2, 2, 2))


# ------------------------------------------------ SciPy's names for numpy.linalg's rules


def test_inv_det_solve():
    a, b = square(3), rand(3, 2, seed=1)
    same_values(linalg.inv, sl.inv, a)
    same_values(linalg.det, sl.det, a)
    same_values(linalg.solve, sl.solve, a, b)
    check_rule(linalg.inv, a)
    check_rule(linalg.det, a, float32=False)  # SciPy's det of float32 is float64
    check_rule(linalg.solve, a, b)
    f = lambda a, b: linalg.solve(a, b, transposed=True)
    np.testing.assert_allclose(traced_value(f, a, b), sl.solve(a, b, transposed=True), atol=1e-12)
    check_rule(f, a, b[:, 0])


def test_eigh():
    q = np.linalg.qr(rand(3, 3))[0]
    a = (q * np.array([-2.0, 1.0, 4.0])) @ q.T
    w, _ = traced_value(linalg.eigh, a)
    np.testing.assert_allclose(w, sl.eigh(a)[0], atol=1e-12)
    for lower in (True, False):

        def f(a, lower=lower):
            w, v = linalg.eigh(a, lower=lower)
            return (v * cnp.exp(w)) @ v.T  # sign-invariant

        check_rule(f, a)
    check_rule(lambda a: linalg.eigh(a, eigvals_only=True), a)


def test_svd_and_qr():
    a = rand(4, 3)
    s = traced_value(lambda a: linalg.svd(a, compute_uv=False), a)
    np.testing.assert_allclose(s, sl.svd(a, compute_uv=False), atol=1e-12)
    check_rule(lambda a: linalg.svd(a, compute_uv=False), a)
    check_rule(lambda a: (lambda u, s, vh: u @ vh)(*linalg.svd(a, full_matrices=False)), a)
    for mode in ("economic", "r"):
        q_r = traced_value(lambda a, mode=mode: linalg.qr(a, mode=mode), a)
        for ours, theirs in zip(q_r, sl.qr(a, mode=mode), strict=True):
            np.testing.assert_allclose(np.abs(ours), np.abs(theirs), atol=1e-12)
        check_rule(lambda a, mode=mode: linalg.qr(a, mode=mode)[-1] ** 2, a)
    sq = square(3)
    check_rule(lambda a: linalg.qr(a)[0] @ linalg.qr(a)[1], sq)


def test_wrapper_errors():
    a = square(3)
    with pytest.raises(NotImplementedError, match="assume_a"):
        cr.grad(lambda a: linalg.solve(a, np.ones(3), assume_a="pos").sum())(a)
    with pytest.raises(NotImplementedError, match="pivoting"):
        cr.grad(lambda a: linalg.qr(a, pivoting=True)[1].sum())(a)
    with pytest.raises(NotImplementedError, match="mode='full'"):
        cr.grad(lambda a: linalg.qr(a)[1].sum())(rand(4, 3))
    with pytest.raises(ValueError, match=r"scipy\.linalg\.qr: the derivative needs m >= n"):
        cr.grad(lambda a: linalg.qr(a, mode="economic")[1].sum())(rand(2, 3))
    with pytest.raises(ValueError, match=r"scipy\.linalg\.svd: full_matrices=True"):
        cr.grad(lambda a: linalg.svd(a)[1].sum())(rand(4, 3))
    with pytest.raises(NotImplementedError, match="b="):
        cr.grad(lambda a: linalg.eigh(a, np.eye(3))[0].sum())(a)
    with pytest.raises(ValueError, match="expm_frechet: `E` must be a square matrix"):
        cr.grad(lambda e: linalg.expm_frechet(a, e, compute_expm=False).sum())(np.ones(3))
    with pytest.raises(ValueError, match="expm_frechet: expected A and E"):
        cr.grad(lambda e: linalg.expm_frechet(a, e, compute_expm=False).sum())(np.eye(2))
    with pytest.raises(ValueError, match=r"solve_triangular: `a` must be a square matrix"):
        cr.grad(lambda a: linalg.solve_triangular(a, np.ones(3)).sum())(rand(2, 3, 2))


def test_lazy_import():
    import subprocess
    import sys

    code = (
        "import sys, chainrule.scipy as s; assert 'scipy.linalg' not in sys.modules; "
        "assert 'scipy.signal' not in sys.modules; s.linalg; s.signal; "
        "assert 'chainrule.scipy.linalg' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_gradients_match_torch():
    torch = pytest.importorskip("torch")
    a, w = 0.5 * rand(3, 3), rand(3, 3, seed=1)
    ta = torch.tensor(a, requires_grad=True)
    (torch.tensor(w) * torch.linalg.matrix_exp(ta)).sum().backward()
    ours = cr.grad(lambda a: (w * linalg.expm(a)).sum())(a)
    np.testing.assert_allclose(ours, ta.grad.numpy(), atol=1e-12)

    t, b = square(3), rand(3, 2, seed=2)
    tt, tb = (torch.tensor(v, requires_grad=True) for v in (t, b))
    x = torch.linalg.solve_triangular(torch.tril(tt), tb, upper=False)
    (torch.tensor(w[:, :2]) * x).sum().backward()
    loss = lambda t, b: (w[:, :2] * linalg.solve_triangular(t, b, lower=True)).sum()
    gt, gb = cr.grad(loss, argnums=(0, 1))(t, b)
    np.testing.assert_allclose(gt, tt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(gb, tb.grad.numpy(), atol=1e-12)


# ------------------------------------------------------------------------------ vmap


def test_solve_triangular_of_a_batch_of_right_hand_sides_is_one_solve(monkeypatch):
    """One shared matrix, a batch of vectors (the batch on the last axis): one LAPACK call
    with the examples as columns, not one per example."""
    calls = []
    real = sl.solve_triangular
    monkeypatch.setattr(sl, "solve_triangular", lambda *a, **k: calls.append(a) or real(*a, **k))
    a = np.triu(np.random.default_rng(5).standard_normal((3, 3))) + 3 * np.eye(3)
    bs = np.random.default_rng(6).standard_normal((3, 7))  # 7 examples, on axis 1
    got = cr.vmap(lambda b: linalg.solve_triangular(a, b), in_axes=1)(bs)
    assert len(calls) == 1
    np.testing.assert_allclose(got, real(a, bs).T, rtol=1e-13)


def test_lu_factor_under_vmap_pivots_per_example():
    """Each example's own pivots (a batched integer array); lu_solve with them."""
    rng = np.random.default_rng(7)
    mats = rng.standard_normal((4, 3, 3))
    lus, pivs = cr.vmap(linalg.lu_factor)(mats)
    for m, lu, piv in zip(mats, lus, pivs, strict=True):
        want_lu, want_piv = sl.lu_factor(m)
        np.testing.assert_allclose(lu, want_lu, rtol=1e-13)
        np.testing.assert_array_equal(piv, want_piv)
    b = rng.standard_normal(3)
    xs = cr.vmap(lambda m: linalg.lu_solve(linalg.lu_factor(m), b))(mats)
    np.testing.assert_allclose(np.einsum("bij,bj->bi", mats, xs), np.broadcast_to(b, (4, 3)),
                               atol=1e-12)  # fmt: skip


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")  # SciPy's, of the value
def test_singular_check_reads_each_example():
    """sqrtm's refusal at a singular matrix looks at every example, not at the first."""
    mats = np.stack([np.eye(2), np.diag([1.0, 0.0])])
    with pytest.raises(np.linalg.LinAlgError, match="sqrtm: the matrix is singular"):
        cr.vmap(cr.grad(lambda m: cnp.trace(linalg.sqrtm(m))))(mats)
