"""scipy.linalg on stacks of matrices under a transform, as SciPy 1.17 batches them.

SciPy treats the axes before a function's core ones (2 for a matrix; for a right-hand side
``b`` 1 when ``b`` is 1-D, else 2) as batch axes, broadcast together, and returns its
several results as a *list* over a batch (a tuple otherwise). Under a transform each
function gives SciPy's values in SciPy's layout and is checked through `check_rule` on
stacks, with broadcast batch axes.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import linalg
from rulecheck import check_rule, joined


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def squares(*batch: int, n: int = 3, seed: int = 0) -> np.ndarray:
    return rand(*batch, n, n, seed=seed) + 3.0 * np.eye(n)


def near_identities(*batch: int, n: int = 3, seed: int = 0) -> np.ndarray:
    return np.eye(n) + 0.3 * rand(*batch, n, n, seed=seed)


def spds(*batch: int, n: int = 3, seed: int = 0) -> np.ndarray:
    a = rand(*batch, n, n, seed=seed)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def same_as_scipy(ours, theirs, *args, atol=1e-10):
    """Under a transform: SciPy's layout (list, tuple or array; shapes) and values."""
    expected = theirs(*args)
    traced = cr.vjp(ours, *args)[0]
    assert type(traced) is type(expected), (type(traced), type(expected))
    leaves, want = cr.tree.leaves(traced), cr.tree.leaves(expected)
    assert len(leaves) == len(want)
    for t, e in zip(leaves, want, strict=True):
        t, e = np.asarray(t), np.asarray(e)
        assert t.shape == e.shape and t.dtype == e.dtype, (t.shape, e.shape, t.dtype, e.dtype)
        np.testing.assert_allclose(t, e, atol=atol, rtol=1e-10)


# ------------------------------------------------------------------- matrix functions


@pytest.mark.filterwarnings("ignore:logm result may be inaccurate:RuntimeWarning")
@pytest.mark.parametrize(
    ("name", "a"), [("expm", 0.5 * rand(2, 3, 3)), ("sqrtm", near_identities(2)),
                    ("logm", near_identities(2, 1))],
)  # fmt: skip
def test_matrix_functions_on_stacks(name, a):
    same_as_scipy(getattr(linalg, name), getattr(sl, name), a)
    check_rule(getattr(linalg, name), a, float32=name != "logm")  # SciPy's logm widens


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_matrix_function_singular_in_one_matrix_of_a_stack_raises():
    a = np.stack([np.eye(2), np.diag([0.0, 1.0])])
    with pytest.raises(np.linalg.LinAlgError, match="sqrtm: the matrix is singular"):
        cr.jacfwd(linalg.sqrtm)(a)


@pytest.mark.parametrize(
    ("ashape", "eshape"), [((2, 3, 3), (2, 3, 3)), ((2, 3, 3), (3, 3)), ((3, 3), (2, 1, 3, 3))]
)
def test_expm_frechet_broadcasts_batch_axes(ashape, eshape):
    a, e = 0.5 * rand(*ashape), rand(*eshape, seed=1)
    same_as_scipy(linalg.expm_frechet, sl.expm_frechet, a, e)
    only = lambda a, e: linalg.expm_frechet(a, e, compute_expm=False)
    same_as_scipy(only, lambda a, e: sl.expm_frechet(a, e, compute_expm=False), a, e)
    # SciPy's expm_frechet computes float32 in float64
    check_rule(joined(linalg.expm_frechet), a, e, float32=False)


def test_expm_frechet_batch_mismatch_raises():
    with pytest.raises(ValueError, match="expm_frechet: the batch axes"):
        cr.grad(lambda a: linalg.expm_frechet(a, rand(3, 2, 2), compute_expm=False).sum())(
            rand(2, 2, 2)
        )


# ------------------------------------------------------------------ Sylvester, Lyapunov


@pytest.mark.parametrize(
    "shapes",
    [
        ((2, 3, 3), (2, 2, 2), (2, 3, 2)),
        ((2, 3, 3), (2, 2), (1, 3, 2)),
        ((3, 3), (2, 2), (2, 3, 2)),
    ],
)
def test_solve_sylvester_on_stacks(shapes):
    (sa, sb, sq) = shapes
    a, b, q = squares(*sa[:-2], seed=0), squares(*sb[:-2], n=2, seed=1), rand(*sq, seed=2)
    same_as_scipy(linalg.solve_sylvester, sl.solve_sylvester, a, b, q)
    check_rule(linalg.solve_sylvester, a, b, q)


def test_solve_continuous_lyapunov_on_stacks():
    a, q = squares(2, seed=0), rand(3, 3, seed=2)
    same_as_scipy(linalg.solve_continuous_lyapunov, sl.solve_continuous_lyapunov, a, q)
    check_rule(linalg.solve_continuous_lyapunov, a, q)


def test_singular_sylvester_in_one_matrix_of_a_stack_raises():
    a = np.stack([np.eye(2), np.diag([1.0, 2.0])])
    b, q = -np.diag([2.0, 3.0]), np.ones((2, 2))  # the second equation is singular
    with pytest.raises(np.linalg.LinAlgError, match="solve_sylvester: the equation is singular"):
        cr.grad(lambda q: linalg.solve_sylvester(a, b, q).sum())(q)


# ------------------------------------------------------------------- triangular solves


@pytest.mark.parametrize("trans", [0, 1])
@pytest.mark.parametrize(("lower", "unit_diagonal"), [(False, False), (True, True)])
@pytest.mark.parametrize(
    ("ashape", "bshape"), [((2, 3, 3), (3,)), ((2, 3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)),
                           ((3, 3), (2, 3, 2)), ((2, 1, 3, 3), (3, 3, 1))],
)  # fmt: skip
def test_solve_triangular_on_stacks(trans, lower, unit_diagonal, ashape, bshape):
    a, b = squares(*ashape[:-2]), rand(*bshape, seed=1)
    options = {"trans": trans, "lower": lower, "unit_diagonal": unit_diagonal}
    f = lambda a, b: linalg.solve_triangular(a, b, **options)
    same_as_scipy(f, lambda a, b: sl.solve_triangular(a, b, **options), a, b)
    check_rule(f, a, b)
    read = np.tri(3, k=-unit_diagonal, dtype=bool)
    ga = cr.grad(lambda a: f(a, b).sum())(a)
    assert np.all(ga[..., ~(read if lower else read.T)] == 0)  # never read: derivative 0


def test_a_stack_of_vectors_is_a_matrix_as_in_scipy():
    a, b = squares(2), rand(2, 3, seed=1)  # SciPy reads b as one 2×3 matrix: no match
    with pytest.raises(ValueError):
        sl.solve_triangular(a, b)
    with pytest.raises(ValueError):
        cr.grad(lambda b: linalg.solve_triangular(a, b).sum())(b)
    f = lambda a, b: linalg.solve_triangular(a, b[..., None])[..., 0]  # the columns' way
    np.testing.assert_allclose(f(a, b), [sl.solve_triangular(a[i], b[i]) for i in range(2)])
    check_rule(f, a, b)


# ---------------------------------------------------------------------------- Cholesky


@pytest.mark.parametrize("lower", [False, True])
def test_cholesky_and_cho_factor_on_stacks(lower):
    a = spds(2)
    same_as_scipy(lambda a: linalg.cholesky(a, lower=lower), lambda a: sl.cholesky(a, lower), a)
    check_rule(lambda a: linalg.cholesky(a, lower=lower), a)
    same_as_scipy(lambda a: linalg.cho_factor(a, lower=lower), lambda a: sl.cho_factor(a, lower), a)
    check_rule(lambda a: linalg.cho_factor(a, lower=lower)[0], a)


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize(("ashape", "bshape"), [((2, 3, 3), (3,)), ((2, 3, 3), (2, 1, 3, 2))])
def test_cho_solve_on_stacks(lower, ashape, bshape):
    a, b = spds(*ashape[:-2]), rand(*bshape, seed=1)

    def f(a, b):
        return linalg.cho_solve(linalg.cho_factor(a, lower=lower), b)

    expected = np.linalg.solve(a, b[..., None])[..., 0] if b.ndim == 1 else np.linalg.solve(a, b)
    np.testing.assert_allclose(cr.vjp(f, a, b)[0], expected, atol=1e-12)
    # SciPy's own batched flags (an array of them) are taken as they come
    plain = sl.cho_factor(a, lower=lower)
    g = lambda c, b: linalg.cho_solve((c, plain[1]), b)
    np.testing.assert_allclose(cr.vjp(g, plain[0], b)[0], expected, atol=1e-12)
    check_rule(f, a, b)


def test_cho_solve_mixed_flags_raise():
    c = spds(2)
    with pytest.raises(ValueError, match="cho_solve: `lower` must be one flag"):
        cr.grad(lambda c: linalg.cho_solve((c, np.array([True, False])), np.ones(3)).sum())(c)


# ---------------------------------------------------------------------------------- LU


def test_lu_factor_on_stacks():
    a = rand(3, 4, 4, seed=3)
    pivots = sl.lu_factor(a)[1]
    assert len({tuple(p) for p in pivots}) > 1  # each matrix pivots its own way
    same_as_scipy(linalg.lu_factor, sl.lu_factor, a)
    check_rule(lambda a: linalg.lu_factor(a)[0], a)


@pytest.mark.parametrize("trans", [0, 1])
@pytest.mark.parametrize(
    ("ashape", "bshape"), [((3, 4, 4), (4,)), ((3, 4, 4), (4, 2)), ((4, 4), (3, 4, 2)),
                           ((3, 1, 4, 4), (2, 4, 1))],
)  # fmt: skip
def test_lu_solve_on_stacks(trans, ashape, bshape):
    a, b = rand(*ashape, seed=3), rand(*bshape, seed=1)

    def f(a, b):
        return linalg.lu_solve(linalg.lu_factor(a), b, trans=trans)

    expected = sl.lu_solve(sl.lu_factor(a), b, trans=trans)
    np.testing.assert_allclose(cr.vjp(f, a, b)[0], expected, atol=1e-12)
    check_rule(f, a, b)


# --------------------------------------------------------------------------- block_diag


def test_block_diag_broadcasts_batch_axes():
    x, y, z = rand(2, 1, 2, 3), rand(3, 2, seed=1), np.float64(1.5)
    same_as_scipy(linalg.block_diag, sl.block_diag, x, y, z)
    check_rule(linalg.block_diag, x, y, z)


# --------------------------------------------------- inv det solve cholesky eigh svd qr


def test_inv_det_solve_on_stacks():
    a, b = squares(2), rand(3, 2, seed=1)
    same_as_scipy(linalg.inv, sl.inv, a)
    same_as_scipy(linalg.det, sl.det, a)
    check_rule(linalg.inv, a)
    check_rule(linalg.det, a, float32=False)  # SciPy's det of float32 is float64
    for rhs in (b, b[:, 0], rand(2, 1, 3, 2, seed=2)):
        for transposed in (False, True):
            f = lambda a, b, t=transposed: linalg.solve(a, b, transposed=t)
            same_as_scipy(f, lambda a, b, t=transposed: sl.solve(a, b, transposed=t), a, rhs)
            check_rule(f, a, rhs)
    with pytest.raises(ValueError):  # a stack of vectors is a matrix, as in SciPy
        cr.grad(lambda b: linalg.solve(a, b).sum())(rand(2, 3))


def test_eigh_on_stacks():
    q = np.linalg.qr(rand(2, 3, 3))[0]
    a = (q * np.array([[-2.0, 1.0, 4.0], [0.5, 2.0, 3.0]])[:, None, :]) @ np.swapaxes(q, -1, -2)
    w = cr.vjp(lambda a: linalg.eigh(a)[0], a)[0]
    np.testing.assert_allclose(w, sl.eigh(a)[0], atol=1e-12)
    assert type(cr.vjp(linalg.eigh, a)[0]) is type(sl.eigh(a)) is list
    for lower in (True, False):

        def f(a, lower=lower):
            w, v = linalg.eigh(a, lower=lower)
            return (v * cnp.exp(w)[..., None, :]) @ cnp.swapaxes(v, -1, -2)  # sign-invariant

        check_rule(f, a)
    same_as_scipy(lambda a: linalg.eigh(a, eigvals_only=True),
                  lambda a: sl.eigh(a, eigvals_only=True), a)  # fmt: skip
    check_rule(lambda a: linalg.eigh(a, eigvals_only=True), a)


def test_svd_on_stacks():
    a = rand(2, 4, 3)
    same_as_scipy(lambda a: linalg.svd(a, compute_uv=False),
                  lambda a: sl.svd(a, compute_uv=False), a)  # fmt: skip
    check_rule(lambda a: linalg.svd(a, compute_uv=False), a)
    out = cr.vjp(lambda a: linalg.svd(a, full_matrices=False), a)[0]
    assert type(out) is type(sl.svd(a, full_matrices=False)) is list
    check_rule(lambda a: (lambda u, s, vh: u @ vh)(*linalg.svd(a, full_matrices=False)), a)


@pytest.mark.parametrize(("mode", "shape"), [("economic", (2, 4, 3)), ("r", (2, 4, 3)),
                                             ("full", (2, 3, 3))])  # fmt: skip
def test_qr_on_stacks(mode, shape):
    a = rand(*shape)
    ours, theirs = cr.vjp(lambda a: linalg.qr(a, mode=mode), a)[0], sl.qr(a, mode=mode)
    assert type(ours) is type(theirs)  # a list; for mode='r' the bare array, as SciPy
    for o, t in zip(cr.tree.leaves(ours), cr.tree.leaves(theirs), strict=True):
        np.testing.assert_allclose(np.abs(o), np.abs(t), atol=1e-12)  # signs are LAPACK's
    if mode == "r":
        check_rule(lambda a: linalg.qr(a, mode="r") ** 2, a)
    else:
        check_rule(lambda a: (lambda q, r: q @ r)(*linalg.qr(a, mode=mode)), a)


# -------------------------------------------------------------------------------- errors


def test_shape_errors_name_the_function():
    a = squares(2)
    with pytest.raises(ValueError, match=r"solve_triangular: `b` of shape \(4,\) does not fit"):
        cr.grad(lambda b: linalg.solve_triangular(a, b).sum())(np.ones(4))
    with pytest.raises(ValueError, match="solve_triangular: the batch axes"):
        cr.grad(lambda b: linalg.solve_triangular(a, b).sum())(np.ones((3, 3, 1)))
    with pytest.raises(ValueError, match="lu_solve: the batch axes"):
        cr.grad(lambda b: linalg.lu_solve(linalg.lu_factor(a), b).sum())(np.ones((3, 3, 1)))
    with pytest.raises(ValueError, match=r"solve_sylvester: `q` of shape \(2, 3, 2\) does not"):
        cr.grad(lambda q: linalg.solve_sylvester(a, a, q).sum())(np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="solve_sylvester: the batch axes"):
        cr.grad(lambda q: linalg.solve_sylvester(a, a, q).sum())(np.ones((3, 3, 3)))


def test_the_rules_batch_with_any_scipy():
    """SciPy batches only from 1.16 on: the primitives hand it one matrix at a time."""
    from chainrule.scipy.linalg import _over_batch

    def one_at_a_time(a, b):
        assert a.ndim == b.ndim == 2
        return a @ b

    a, b = rand(2, 1, 3, 3), rand(4, 3, 2, seed=1)
    np.testing.assert_allclose(_over_batch(one_at_a_time, 2, 2)(a, b), a @ b, atol=1e-12)
    assert np.shape(_over_batch(one_at_a_time, 2, 2)(a[0, 0], b[0])) == (3, 2)


def test_stacked_gradients_match_torch():
    torch = pytest.importorskip("torch")
    a, t, b = 0.5 * rand(2, 3, 3), squares(2), rand(3, 2, seed=1)  # b broadcast over the stack
    w = rand(2, 3, 2, seed=2)
    ta, tt, tb = (torch.tensor(v, requires_grad=True) for v in (a, t, b))
    x = torch.linalg.solve_triangular(torch.tril(tt), torch.linalg.matrix_exp(ta) @ tb, upper=False)
    (torch.tensor(w) * x).sum().backward()
    loss = lambda a, t, b: (w * linalg.solve_triangular(t, linalg.expm(a) @ b, lower=True)).sum()
    ours = cr.grad(loss, argnums=(0, 1, 2))(a, t, b)
    for g, theirs in zip(ours, (ta, tt, tb), strict=True):
        np.testing.assert_allclose(g, theirs.grad.numpy(), atol=1e-12)
