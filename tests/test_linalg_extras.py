"""chainrule.linalg against NumPy, PyTorch and scikit-learn, and its derivatives against
central differences."""

from __future__ import annotations

import math
import warnings

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.data import load_digits
from chainrule.linalg import PCA, condition_number, cosine_similarity, low_rank_approx, rank


def rng(seed: int = 0) -> numpy.random.Generator:
    return numpy.random.default_rng(seed)


def reference_cosine(a, b, axis=-1, eps=1e-8):
    """PyTorch's documented formula, written out in NumPy."""
    a, b = numpy.broadcast_arrays(a, b)
    na = numpy.maximum(numpy.linalg.norm(a, axis=axis), eps)
    nb = numpy.maximum(numpy.linalg.norm(b, axis=axis), eps)
    return numpy.sum(a * b, axis=axis) / (na * nb)


def assert_rows_equal_up_to_sign(a, b, atol):
    """Each row of `a` equals the matching row of `b` or its negative."""
    assert a.shape == b.shape
    signs = numpy.sign(numpy.sum(a * b, axis=1))
    assert numpy.all(signs != 0)
    numpy.testing.assert_allclose(a, signs[:, None] * b, atol=atol, rtol=0)


# ------------------------------------------------------------------------ cosine_similarity


def test_cosine_similarity_values_and_broadcasting():
    g = rng(1)
    a, b = g.standard_normal(5), g.standard_normal(5)
    expected = a @ b / (numpy.linalg.norm(a) * numpy.linalg.norm(b))
    assert float(cosine_similarity(a, b)) == pytest.approx(expected, rel=1e-14)
    assert float(cosine_similarity(a, 3.0 * a)) == pytest.approx(1.0, rel=1e-14)
    assert float(cosine_similarity(a, -a)) == pytest.approx(-1.0, rel=1e-14)

    rows, one = g.standard_normal((2, 1, 4)), g.standard_normal((3, 4))
    out = cosine_similarity(rows, one)
    assert out.shape == (2, 3)
    numpy.testing.assert_allclose(out, reference_cosine(rows, one), rtol=1e-13)
    numpy.testing.assert_allclose(out[1, 2], cosine_similarity(rows[1, 0], one[2]), rtol=1e-13)

    cols = g.standard_normal((4, 3))
    numpy.testing.assert_allclose(
        cosine_similarity(cols, cols[:, :1], axis=0),
        reference_cosine(cols, cols[:, :1], axis=0),
        rtol=1e-13,
    )
    # A size-1 axis along `axis` is broadcast before the norms are taken.
    numpy.testing.assert_allclose(
        cosine_similarity(numpy.ones((1, 1)), numpy.ones((1, 4)), axis=-1), [1.0], rtol=1e-14
    )


def test_cosine_similarity_zero_vector_and_dtypes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(cosine_similarity(numpy.zeros(3), numpy.array([1.0, 2.0, 3.0]))) == 0.0
        assert float(cosine_similarity(numpy.zeros(3), numpy.zeros(3))) == 0.0
    # Below eps the norm is clamped: a·b / (eps ‖b‖).
    tiny, b = numpy.array([1e-9, 0.0]), numpy.array([1.0, 1.0])
    assert float(cosine_similarity(tiny, b)) == pytest.approx(1e-9 / (1e-8 * math.sqrt(2)))
    ints = cosine_similarity([1, 0], [1, 1])
    assert ints.dtype == numpy.float64 and float(ints) == pytest.approx(math.sqrt(0.5))
    f32 = cosine_similarity(numpy.ones(3, numpy.float32), numpy.arange(3, dtype=numpy.float32))
    assert f32.dtype == numpy.float32


def test_cosine_similarity_matches_torch():
    torch = pytest.importorskip("torch")
    g = rng(2)
    a = g.standard_normal((4, 1, 6))
    b = g.standard_normal((3, 6))
    b[0] = 0.0  # a zero vector
    b[1] *= 1e-9  # a norm below eps
    for axis in (-1, 2):
        ours = cosine_similarity(a, b, axis=axis)
        theirs = torch.nn.functional.cosine_similarity(
            torch.tensor(a), torch.tensor(b), dim=axis
        ).numpy()
        numpy.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)

    # Gradients agree where no norm is clamped.
    a_, b_ = numpy.array([0.5, -1.0, 2.0]), numpy.array([1.0, 2.0, -1.0])
    ta = torch.tensor(a_, requires_grad=True)
    torch.nn.functional.cosine_similarity(ta, torch.tensor(b_), dim=0).backward()
    numpy.testing.assert_allclose(cr.grad(cosine_similarity)(a_, b_), ta.grad.numpy(), rtol=1e-12)


def test_cosine_similarity_gradient_below_eps():
    # ‖a‖ < eps: the value is a·b / (eps ‖b‖), linear in a, so its gradient is b / (eps ‖b‖).
    a, b = numpy.array([1e-9, 2e-9, 0.0]), numpy.array([1.0, 2.0, -1.0])
    expected = b / (1e-8 * numpy.linalg.norm(b))
    numpy.testing.assert_allclose(cr.grad(cosine_similarity)(a, b), expected, rtol=1e-12)
    numpy.testing.assert_allclose(cr.grad(cosine_similarity)(numpy.zeros(3), b), expected)
    big = 1e-3  # a larger eps, so central differences stay below it
    cr.check_grads(lambda a: cosine_similarity(a, b, eps=big), (a,), order=2)


def test_cosine_similarity_derivatives():
    g = rng(3)
    cr.check_grads(cosine_similarity, (g.standard_normal(4), g.standard_normal(4)), order=2)
    cr.check_grads(
        cosine_similarity, (g.standard_normal((2, 1, 3)), g.standard_normal((4, 3))), order=2
    )
    cr.check_grads(
        lambda a, b: cosine_similarity(a, b, axis=0),
        (g.standard_normal((3, 2)), g.standard_normal(3)[:, None]),
        order=2,
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"a": numpy.ones(3), "b": numpy.ones(4)}, ValueError, "do not broadcast"),
        ({"a": 1.0, "b": 2.0}, ValueError, "at least one axis"),
        ({"a": numpy.ones(3), "b": numpy.ones(3), "axis": 1}, ValueError, "axis 1 is out of"),
        ({"a": numpy.ones(3), "b": numpy.ones(3), "axis": 0.5}, TypeError, "axis must be"),
        ({"a": numpy.ones(3), "b": numpy.ones(3), "eps": 0.0}, ValueError, "eps must be"),
        ({"a": numpy.ones(3) * 1j, "b": numpy.ones(3)}, TypeError, "a must hold real"),
    ],
)
def test_cosine_similarity_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        cosine_similarity(**kwargs)


# --------------------------------------------------------------------------- low_rank_approx


@pytest.mark.parametrize("shape", [(6, 4), (3, 5)])
def test_low_rank_approx_is_truncated_svd(shape):
    M = rng(4).standard_normal(shape)
    u, s, vh = numpy.linalg.svd(M, full_matrices=False)
    for k in range(1, min(shape) + 1):
        approx = low_rank_approx(M, k)
        numpy.testing.assert_allclose(approx.matrix, (u[:, :k] * s[:k]) @ vh[:k], atol=1e-12)
        assert numpy.linalg.matrix_rank(approx.matrix) == k
        # The error, two ways: the residual's Frobenius norm and the dropped singular values.
        residual = numpy.linalg.norm(M - approx.matrix)
        dropped = math.sqrt(numpy.sum(s[k:] ** 2))
        assert float(approx.error) == pytest.approx(residual, abs=1e-12)
        assert float(approx.error) == pytest.approx(dropped, abs=1e-12)
        assert float(approx.relative_error) == pytest.approx(dropped / numpy.linalg.norm(M))
        numpy.testing.assert_allclose(approx.singular_values, s, rtol=1e-14)
    numpy.testing.assert_allclose(low_rank_approx(M, min(shape)).matrix, M, atol=1e-12)


def test_low_rank_approx_beats_other_rank_k_matrices():
    # Eckart–Young: projecting onto random k-dimensional subspaces never does better.
    g = rng(5)
    M = g.standard_normal((8, 6))
    best = float(low_rank_approx(M, 2).error)
    for _ in range(20):
        q, _ = numpy.linalg.qr(g.standard_normal((8, 2)))
        assert numpy.linalg.norm(M - q @ (q.T @ M)) > best
    assert float(low_rank_approx(numpy.zeros((2, 3)), 1).relative_error) == 0.0


def test_low_rank_approx_derivatives():
    g = rng(6)
    M = g.standard_normal((5, 4))  # distinct, nonzero singular values
    W = g.standard_normal((5, 4))
    cr.check_grads(lambda M: np.sum(W * low_rank_approx(M, 2).matrix), (M,), order=2)
    cr.check_grads(lambda M: low_rank_approx(M, 1).matrix, (M.T,), order=1)
    cr.check_grads(lambda M: low_rank_approx(M, 3).error, (M,), order=2)
    # Keeping everything is the identity map, and the (zero) error has gradient 0.
    numpy.testing.assert_allclose(
        cr.grad(lambda M: np.sum(W * low_rank_approx(M, 4).matrix))(M), W, atol=1e-10
    )
    numpy.testing.assert_array_equal(cr.grad(lambda M: low_rank_approx(M, 4).error)(M), 0.0)


@pytest.mark.parametrize(
    ("M", "k", "error", "match"),
    [
        (numpy.ones((3, 2)), 0, ValueError, r"k must be between 1 and 2 .*got 0"),
        (numpy.ones((3, 2)), 3, ValueError, r"k must be between 1 and 2"),
        (numpy.ones((3, 2)), 1.5, TypeError, "k must be an int, got 1.5"),
        (numpy.ones((3, 2)), True, TypeError, "k must be an int, got True"),
        (numpy.ones(3), 1, ValueError, "M must be a 2-D array, got shape"),
        (numpy.ones((2, 2, 2)), 1, ValueError, "M must be a 2-D array, got shape"),
        (numpy.array([[1.0, numpy.nan]]), 1, ValueError, "NaN or infinity"),
        (numpy.ones((0, 2)), 1, ValueError, r"0 sample\(s\) \(shape=\(0, 2\)\)"),
    ],
)
def test_low_rank_approx_errors(M, k, error, match):
    with pytest.raises(error, match=match):
        low_rank_approx(M, k)


# ---------------------------------------------------------------------------------- rank


def test_rank_matches_numpy():
    g = rng(7)
    for r in range(5):
        M = g.standard_normal((6, r)) @ g.standard_normal((r, 4))
        assert rank(M) == numpy.linalg.matrix_rank(M) == min(r, 4)
        assert isinstance(rank(M), int)
    stack = g.standard_normal((3, 5, 2)) @ g.standard_normal((3, 2, 5))
    stack[1] = 0.0
    numpy.testing.assert_array_equal(rank(stack), numpy.linalg.matrix_rank(stack))
    numpy.testing.assert_array_equal(rank(stack), [2, 0, 2])
    near = numpy.diag([1.0, 1e-6, 1e-12])
    for tol in (None, 1e-3, 1e-9, 0.0):
        assert rank(near, tol) == numpy.linalg.matrix_rank(near, tol)
    assert rank(near.astype(numpy.float32)) == 2  # float32's epsilon drops 1e-12
    assert rank([[1, 2], [2, 4]]) == 1


@pytest.mark.parametrize(
    ("M", "tol", "match"),
    [
        (numpy.ones(3), None, "M must be a 2-D array or a stack"),
        (numpy.array([[numpy.inf, 0.0]]), None, "NaN or infinity"),
        (numpy.eye(2), -1.0, "tol must be a finite number >= 0"),
    ],
)
def test_rank_errors(M, tol, match):
    with pytest.raises(ValueError, match=match):
        rank(M, tol)


# ------------------------------------------------------------------------ condition_number


def test_condition_number_matches_numpy():
    g = rng(8)
    square = g.standard_normal((4, 4))
    for p in (None, 2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc"):
        expected = numpy.linalg.cond(square, p)
        assert float(condition_number(square, p)) == pytest.approx(expected, rel=1e-12)
        traced = cr.jvp(lambda M, p=p: condition_number(M, p), (square,), (square,))[0]
        assert float(traced) == pytest.approx(expected, rel=1e-12)
    tall = g.standard_normal((3, 5, 2))
    for p in (None, 2, -2):
        numpy.testing.assert_allclose(
            condition_number(tall, p), numpy.linalg.cond(tall, p), rtol=1e-12
        )
    # Singular: inf where NumPy says inf (the zero matrix, an exactly zero σ_min), and the
    # same huge finite number where rounding leaves σ_min slightly above 0.
    for M in (numpy.zeros((2, 2)), numpy.array([[1.0, 1.0], [0.0, 0.0]])):
        assert condition_number(M) == numpy.linalg.cond(M) == math.inf
        assert condition_number(M, 1) == numpy.linalg.cond(M, 1) == math.inf
    nearly = numpy.array([[1.0, 2.0], [2.0, 4.0]])
    assert float(condition_number(nearly)) == numpy.linalg.cond(nearly)
    assert float(condition_number(numpy.diag([4.0, 2.0, 0.5]), -2)) == 0.125


def test_condition_number_derivatives():
    g = rng(9)
    A, B = g.standard_normal((3, 3)), g.standard_normal((4, 3))
    cr.check_grads(condition_number, (A,), order=2)
    cr.check_grads(condition_number, (B,), order=2)
    cr.check_grads(lambda M: condition_number(M, -2), (A,), order=2)
    cr.check_grads(lambda M: condition_number(M, "fro"), (A,), order=2)
    # d(σ₁/σₙ) = (u₁v₁ᵀ - κ uₙvₙᵀ) / σₙ
    u, s, vh = numpy.linalg.svd(A)
    expected = (numpy.outer(u[:, 0], vh[0]) - s[0] / s[-1] * numpy.outer(u[:, -1], vh[-1])) / s[-1]
    numpy.testing.assert_allclose(cr.grad(condition_number)(A), expected, rtol=1e-10)


@pytest.mark.parametrize(
    ("M", "p", "match"),
    [
        (numpy.ones((2, 3)), 1, "needs a square M"),
        (numpy.eye(2), "bad", "p must be None, 2"),
        (numpy.eye(2), 3, "p must be None, 2"),
        (numpy.array([[numpy.nan, 1.0], [1.0, 1.0]]), None, "NaN or infinity"),
    ],
)
def test_condition_number_errors(M, p, match):
    with pytest.raises(ValueError, match=match):
        condition_number(M, p)


# ----------------------------------------------------------------------------------- PCA


def compare_with_sklearn(X, n_components):
    """Fit both and check every shared attribute; returns both fitted objects."""
    decomposition = pytest.importorskip("sklearn.decomposition")
    theirs = decomposition.PCA(n_components=n_components, svd_solver="full").fit(X)
    ours = PCA(n_components).fit(X)
    assert ours.n_components_ == theirs.n_components_
    var, s = theirs.explained_variance_, theirs.singular_values_
    floor = 1e-12 * var[0]  # for variances that are 0 up to rounding
    numpy.testing.assert_allclose(ours.explained_variance_, var, rtol=1e-8, atol=floor)
    numpy.testing.assert_allclose(
        ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=1e-8, atol=1e-14
    )
    numpy.testing.assert_allclose(ours.singular_values_, s, rtol=1e-8, atol=1e-6 * s[0])
    numpy.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-12, atol=1e-14)
    assert ours.noise_variance_ == pytest.approx(theirs.noise_variance_, rel=1e-8, abs=floor)
    # Components are unique up to sign only where the variance is nonzero and apart from
    # its neighbours' (digits has pixels that never change); compare those.
    clear = var > 1e-8 * var[0]
    close = numpy.abs(numpy.diff(var)) < 1e-6 * var[0]
    clear[:-1] &= ~close
    clear[1:] &= ~close
    assert clear.sum() >= min(ours.n_components_, 3)
    assert_rows_equal_up_to_sign(ours.components_[clear], theirs.components_[clear], atol=1e-7)
    # transform: equal up to the same signs, per column.
    signs = numpy.sign(numpy.sum(ours.components_ * theirs.components_, axis=1))
    numpy.testing.assert_allclose(
        ours.transform(X)[:, clear], (theirs.transform(X) * signs)[:, clear], atol=1e-9
    )
    return ours, theirs


def test_pca_matches_sklearn_on_random_data():
    g = rng(10)
    X = g.standard_normal((60, 7)) @ g.standard_normal((7, 7)) + 3.0
    for n_components in (None, 3, 1, 0.9, 0.5):
        compare_with_sklearn(X, n_components)
    wide = g.standard_normal((6, 10))
    for n_components in (None, 2):
        compare_with_sklearn(wide, n_components)


def test_pca_matches_sklearn_on_digits():
    X, _ = load_digits(dtype=numpy.float64)
    ours, theirs = compare_with_sklearn(X, None)
    assert ours.n_components_ == 64
    numpy.testing.assert_allclose(ours.inverse_transform(ours.transform(X)), X, atol=1e-12)
    numpy.testing.assert_allclose(ours.explained_variance_ratio_.sum(), 1.0, rtol=1e-12)
    ours, theirs = compare_with_sklearn(X, 10)
    # A rank-10 reconstruction is the best rank-10 approximation of the centred data.
    centred = X - X.mean(axis=0)
    reconstruction = ours.inverse_transform(ours.transform(X))
    best = low_rank_approx(centred, 10)
    numpy.testing.assert_allclose(reconstruction - ours.mean_, best.matrix, atol=1e-10)
    numpy.testing.assert_allclose(
        ours.inverse_transform(ours.transform(X)),
        theirs.inverse_transform(theirs.transform(X)),
        atol=1e-10,
    )


def test_pca_properties():
    g = rng(11)
    X = g.standard_normal((40, 5)) * [5.0, 3.0, 2.0, 1.0, 0.5]
    pca = PCA()
    Z = pca.fit_transform(X)
    numpy.testing.assert_allclose(Z, pca.transform(X), atol=1e-12)
    numpy.testing.assert_allclose(pca.components_ @ pca.components_.T, numpy.eye(5), atol=1e-12)
    # Sign convention: the largest-magnitude entry of each component is positive.
    rows = numpy.arange(5)
    assert numpy.all(pca.components_[rows, numpy.argmax(abs(pca.components_), axis=1)] > 0)
    # Scores are uncorrelated, with the explained variances as variances.
    numpy.testing.assert_allclose(
        numpy.cov(Z, rowvar=False), numpy.diag(pca.explained_variance_), atol=1e-10
    )
    numpy.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-12)
    assert pca.noise_variance_ == 0.0
    assert numpy.all(numpy.diff(pca.explained_variance_) <= 0)
    # float32 in, float32 out.
    assert PCA(2).fit(X.astype(numpy.float32)).components_.dtype == numpy.float32


@pytest.mark.parametrize("n_components", [None, 4])
def test_pca_eigh_agrees_with_svd(n_components):
    X, _ = load_digits(dtype=numpy.float64)
    by_svd = PCA(n_components).fit(X[:400])
    by_eigh = PCA(n_components, method="eigh").fit(X[:400])
    top = 20 if n_components is None else n_components
    var = by_svd.explained_variance_
    numpy.testing.assert_allclose(by_eigh.explained_variance_, var, rtol=0, atol=1e-12 * var[0])
    numpy.testing.assert_allclose(by_eigh.singular_values_[:top], by_svd.singular_values_[:top], rtol=1e-8)  # fmt: skip
    assert_rows_equal_up_to_sign(by_eigh.components_[:top], by_svd.components_[:top], atol=1e-7)
    g = rng(12)
    Y = g.standard_normal((30, 4)) @ g.standard_normal((4, 4))
    a, b = PCA(method="svd").fit(Y), PCA(method="eigh").fit(Y)
    # Both use the same sign convention, so the components agree exactly, not just up to sign.
    numpy.testing.assert_allclose(a.components_, b.components_, atol=1e-10)
    numpy.testing.assert_allclose(a.transform(Y), b.transform(Y), atol=1e-10)


def test_pca_transforms_are_differentiable():
    g = rng(13)
    X = g.standard_normal((20, 4))
    pca = PCA(2).fit(X)
    C = pca.components_
    grad = cr.grad(lambda X: np.sum(pca.transform(X) ** 2))(X)
    numpy.testing.assert_allclose(grad, 2 * (X - pca.mean_) @ C.T @ C, atol=1e-12)
    cr.check_grads(pca.transform, (X[:3],), order=2)
    cr.check_grads(pca.inverse_transform, (g.standard_normal((3, 2)),), order=2)


def test_pca_errors():
    g = rng(14)
    X = g.standard_normal((10, 3))
    with pytest.raises(ValueError, match=r"not fitted yet; call fit first"):
        PCA().transform(X)
    with pytest.raises(ValueError, match=r"inverse_transform: this PCA is not fitted"):
        PCA().inverse_transform(X)
    pca = PCA(2).fit(X)
    with pytest.raises(ValueError, match="X has 4 features, but PCA is expecting 3 features"):
        pca.transform(g.standard_normal((5, 4)))
    with pytest.raises(ValueError, match=r"Z has 3 columns, but PCA is expecting 2 columns"):
        pca.inverse_transform(X)
    with pytest.raises(ValueError, match=r"between 1 and 3 \(min\(n_samples, n_features\)"):
        PCA(4).fit(X)
    with pytest.raises(ValueError, match=r"between 1 and 2 .*min\(2, 3\)"):
        PCA(3).fit(X[:2])
    with pytest.raises(ValueError, match=r"X must be a 2-D array.*Reshape your data"):
        PCA().fit(X[0])
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        pca.transform(X[0])
    bad = X.copy()
    bad[3, 1] = numpy.nan
    with pytest.raises(ValueError, match=r"PCA\.fit: X contains NaN"):
        PCA().fit(bad)
    with pytest.raises(ValueError, match=r"PCA\.transform: X contains NaN"):
        pca.transform(bad)
    with pytest.raises(ValueError, match="X has 1 sample; a variance needs at least 2"):
        PCA().fit(X[:1])
    with pytest.raises(ValueError, match="zero variance"):
        PCA().fit(numpy.ones((4, 3)))
    # Hyper-parameters are checked by fit, as scikit-learn (the constructor stores them).
    with pytest.raises(ValueError, match="method must be one of 'svd', 'eigh'; got 'qr'"):
        PCA(method="qr").fit(X)
    with pytest.raises(ValueError, match=r"n_components must be a finite number in \(0, 1\)"):
        PCA(1.5).fit(X)
    with pytest.raises(ValueError, match="n_components must be between 1 and 3"):
        PCA(0).fit(X)
    with pytest.raises(TypeError, match="n_components must be an int"):
        PCA("all").fit(X)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="n_components must be an int"):
        PCA(True).fit(X)
    with pytest.raises(TypeError, match=r"PCA\.fit takes plain data"):
        cr.grad(lambda X: np.sum(PCA(1).fit(X).components_))(X)


# ---------------------------------------------------------------------------------- vmap


def per_example(fun, *args):
    return numpy.stack([numpy.asarray(fun(*(a[i] for a in args))) for i in range(len(args[0]))])


def test_linalg_functions_under_vmap():
    # Some examples are the zero matrix: each decision (relative error 0, infinitely
    # ill-conditioned) is made per example, with array operations, not a Python `if`.
    M = rng(3).standard_normal((4, 5, 3))
    M[1] = 0.0
    for fun, args in (
        (lambda m: low_rank_approx(m, 1).matrix, (M,)),
        (lambda m: low_rank_approx(m, 2).relative_error, (M,)),
        (rank, (M,)),
        (condition_number, (M,)),
        (lambda m: condition_number(m[:3] + numpy.eye(3), "fro"), (M,)),
        (cosine_similarity, (M, M[::-1])),
    ):
        with numpy.errstate(all="ignore"):
            expected = per_example(fun, *args)
        got = cr.vmap(fun)(*args)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        numpy.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    relative = cr.grad(lambda m: low_rank_approx(m, 1).relative_error)
    N = M[[0, 2, 3]]
    numpy.testing.assert_allclose(cr.vmap(relative)(N), per_example(relative, N), rtol=1e-10)


def test_validation_under_vmap_reads_every_example():
    M = rng(4).standard_normal((3, 4, 3))
    M[2, 1, 1] = numpy.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        cr.vmap(lambda m: low_rank_approx(m, 1).matrix)(M)
