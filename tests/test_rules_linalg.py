"""Linear algebra rules: every function through `check_rule`, plus values, conventions, errors.

Inputs are built well conditioned: inverses of ``A + 3I``, SPD matrices ``A Aᵀ + n I``,
symmetric matrices with spaced eigenvalues, matrices with spaced singular values.
Functions of eigen/singular vectors are sign-invariant (``V f(Λ) Vᵀ``, ``U Vh``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.numpy.linalg as la
from chainrule.check import numerical_jacobian
from rulecheck import check_rule

inf = np.inf


# ------------------------------------------------------------------------------ inputs


def mT(x: Any) -> Any:
    n = np.ndim(x) if not hasattr(x, "ndim") else x.ndim
    return cnp.transpose(x, (*range(n - 2), n - 1, n - 2))


def sym(a: Any) -> Any:
    """The symmetric part: through it, derivatives are symmetric (JAX's convention)."""
    return 0.5 * (a + mT(a))


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def square(*shape: int, seed: int = 0) -> np.ndarray:
    """Random square matrices shifted away from singularity."""
    return rand(*shape, seed=seed) + 3.0 * np.eye(shape[-1])


def spd(*shape: int, seed: int = 0) -> np.ndarray:
    a = rand(*shape, seed=seed)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def orthogonal(*shape: int, seed: int = 0) -> np.ndarray:
    return np.linalg.qr(rand(*shape, seed=seed))[0]


def spectral(*shape: int, seed: int = 0) -> np.ndarray:
    """Symmetric nonsingular matrices with eigenvalues spaced at least 1 apart."""
    n = shape[-1]
    q = orthogonal(*shape, seed=seed)
    w = np.linspace(-1.5, 1.5, n) * n + 0.7
    return (q * w) @ np.swapaxes(q, -1, -2)


def with_singular_values(*shape: int, seed: int = 0) -> np.ndarray:
    """Matrices ``(..., m, n)`` with singular values 1, 2, ..., min(m, n) (times 1.5)."""
    m, n = shape[-2:]
    k = min(m, n)
    u = orthogonal(*shape[:-2], m, k, seed=seed)
    v = orthogonal(*shape[:-2], n, k, seed=seed + 1)
    return (u * (1.5 * np.arange(k, 0, -1))) @ np.swapaxes(v, -1, -2)


def noisy(a: np.ndarray, lower: bool) -> np.ndarray:
    """A symmetric matrix with noise added in the triangle NumPy does not read (above the
    diagonal when it reads the lower one): the derivative there must be 0."""
    noise = rand(*a.shape, seed=7)
    return a + (np.triu(noise, 1) if lower else np.tril(noise, -1))


def unread(n: int, lower: bool) -> np.ndarray:
    """The mask of the triangle NumPy does not read, diagonal excluded."""
    read = np.tri(n, dtype=bool)
    return ~(read if lower else read.T)


# ------------------------------------------------------------------ functions under test


def exp_third(w: Any, v: Any) -> Any:
    """``V exp(Λ/3) Vᵀ`` from ``eigh``'s result: sign-invariant."""
    return (v * cnp.exp(w / 3.0)[..., None, :]) @ mT(v)


def eig_function(a: Any, UPLO: str = "L") -> Any:
    """``V exp(Λ/3) Vᵀ`` of the symmetric part of `a`."""
    return exp_third(*la.eigh(sym(a), UPLO=UPLO))


def top_projector(a: Any) -> Any:
    """``v vᵀ`` for the eigenvector of the largest eigenvalue."""
    v = la.eigh(sym(a)).eigenvectors[..., -1:]
    return v @ mT(v)


def polar(a: Any) -> Any:
    """``U Vh`` plus the leading rank-one term ``s₁ u₁ v₁ᵀ``: sign-invariant."""
    u, s, vh = la.svd(a, full_matrices=False)
    return u @ vh + (u[..., :, :1] * s[..., None, :1]) @ vh[..., :1, :]


def rebuild(a: Any) -> Any:
    u, s, vh = la.svd(a)
    return (u * s[..., None, :]) @ vh


def qr_function(a: Any) -> Any:
    q, r = la.qr(a)
    return q * 2.0 + cnp.sum(r * r, axis=-1)[..., None, :]


Case = tuple[str, Callable[..., Any], Callable[[], tuple[Any, ...]]]

CASES: list[Case] = [
    # inv, det, slogdet
    ("inv", la.inv, lambda: (square(3, 3),)),
    ("inv stack", la.inv, lambda: (square(2, 3, 3),)),
    ("det", la.det, lambda: (square(3, 3),)),
    ("det stack", la.det, lambda: (square(2, 3, 3),)),
    ("slogdet negative det", lambda a: la.slogdet(a)[1], lambda: (-square(3, 3),)),
    ("slogdet stack", lambda a: la.slogdet(a).logabsdet, lambda: (square(2, 3, 3),)),
    # solve: vector and matrix right-hand sides, stacks, broadcasting
    ("solve vector", la.solve, lambda: (square(3, 3), rand(3, seed=1))),
    ("solve matrix", la.solve, lambda: (square(3, 3), rand(3, 2, seed=1))),
    ("solve stack, vector b", la.solve, lambda: (square(2, 3, 3), rand(3, seed=1))),
    ("solve stack, matrix b", la.solve, lambda: (square(2, 3, 3), rand(3, 2, seed=1))),
    ("solve matrix, stacked b", la.solve, lambda: (square(3, 3), rand(2, 3, 2, seed=1))),
    ("solve stacks", la.solve, lambda: (square(2, 3, 3), rand(2, 3, 1, seed=1))),
    # vector norms
    ("norm", la.norm, lambda: (rand(4),)),
    ("norm 2", lambda x: la.norm(x, 2), lambda: (rand(4),)),
    ("norm 1", lambda x: la.norm(x, 1), lambda: (rand(4),)),
    ("norm 3", lambda x: la.norm(x, 3), lambda: (rand(4),)),
    ("norm 0.5", lambda x: la.norm(x, 0.5), lambda: (rand(4),)),
    ("norm -1.5", lambda x: la.norm(x, -1.5), lambda: (rand(4),)),
    ("norm inf", lambda x: la.norm(x, inf), lambda: (rand(4),)),
    ("norm -inf", lambda x: la.norm(x, -inf), lambda: (rand(4),)),
    ("norm 0", lambda x: la.norm(x, 0), lambda: (rand(4),)),
    ("norm all axes", la.norm, lambda: (rand(2, 3, 2),)),
    ("norm all axes keepdims", lambda x: la.norm(x, keepdims=True), lambda: (rand(2, 3),)),
    ("norm axis 0", lambda x: la.norm(x, axis=0), lambda: (rand(3, 4),)),
    ("norm axis -1 keepdims", lambda x: la.norm(x, 3, -1, True), lambda: (rand(2, 3, 4),)),
    ("norm 1 axis 1", lambda x: la.norm(x, 1, axis=1), lambda: (rand(3, 4),)),
    ("norm inf axis 0 keepdims", lambda x: la.norm(x, inf, 0, True), lambda: (rand(3, 4),)),
    # matrix norms
    ("norm fro", lambda x: la.norm(x, "fro"), lambda: (rand(3, 4),)),
    ("norm fro axes", lambda x: la.norm(x, "fro", axis=(2, 0)), lambda: (rand(3, 2, 4),)),
    ("norm None axes keepdims", lambda x: la.norm(x, None, (0, 1), True), lambda: (rand(3, 4),)),
    ("norm matrix 1", lambda x: la.norm(x, 1), lambda: (rand(3, 4),)),
    ("norm matrix -1", lambda x: la.norm(x, -1, axis=(1, 0)), lambda: (rand(3, 4),)),
    ("norm matrix inf", lambda x: la.norm(x, inf), lambda: (rand(3, 4),)),
    ("norm matrix -inf keepdims", lambda x: la.norm(x, -inf, (-1, 0), True),
     lambda: (rand(3, 2, 4),)),
    ("norm matrix 2", lambda x: la.norm(x, 2), lambda: (with_singular_values(4, 3),)),
    ("norm matrix -2", lambda x: la.norm(x, -2), lambda: (with_singular_values(3, 4),)),
    ("norm matrix 2 stack axes", lambda x: la.norm(x, 2, axis=(1, 2)),
     lambda: (with_singular_values(2, 3, 3),)),
    ("norm nuc", lambda x: la.norm(x, "nuc"), lambda: (with_singular_values(4, 3),)),
    ("norm nuc axes keepdims", lambda x: la.norm(x, "nuc", (2, 1), True),
     lambda: (with_singular_values(2, 3, 4),)),
    # cholesky (symmetrised input)
    ("cholesky", lambda a: la.cholesky(sym(a)), lambda: (spd(3, 3),)),
    ("cholesky stack", lambda a: la.cholesky(sym(a)), lambda: (spd(2, 3, 3),)),
    ("cholesky upper", lambda a: la.cholesky(sym(a), upper=True), lambda: (spd(2, 3, 3),)),
    # eigh, eigvalsh (symmetrised input, sign-invariant functions)
    ("eigvalsh", lambda a: la.eigvalsh(sym(a)), lambda: (spectral(3, 3),)),
    ("eigvalsh stack UPLO U", lambda a: la.eigvalsh(sym(a), "U"), lambda: (spectral(2, 3, 3),)),
    ("eigh eigenvalues", lambda a: la.eigh(sym(a))[0], lambda: (spectral(2, 3, 3),)),
    ("eigh function", eig_function, lambda: (spectral(3, 3),)),
    ("eigh function stack", eig_function, lambda: (spectral(2, 3, 3),)),
    ("eigh function UPLO U", lambda a: eig_function(a, "U"), lambda: (spectral(3, 3),)),
    ("eigh projector", top_projector, lambda: (spectral(2, 3, 3),)),
    # svd (distinct singular values, sign-invariant functions)
    ("svd values tall", lambda a: la.svd(a, compute_uv=False),
     lambda: (with_singular_values(4, 3),)),
    ("svd values wide stack", lambda a: la.svd(a, compute_uv=False),
     lambda: (with_singular_values(2, 3, 4),)),
    ("svd polar tall", polar, lambda: (with_singular_values(4, 3),)),
    ("svd polar wide", polar, lambda: (with_singular_values(3, 4),)),
    ("svd polar stack", polar, lambda: (with_singular_values(2, 3, 3),)),
    ("svd square full_matrices", rebuild, lambda: (with_singular_values(2, 3, 3),)),
    ("svd hermitian", lambda a: la.svd(sym(a), hermitian=True).S,
     lambda: (spectral(3, 3),)),
    # qr (m >= n)
    ("qr tall", qr_function, lambda: (rand(4, 3),)),
    ("qr stack", qr_function, lambda: (rand(2, 3, 3),)),
    ("qr mode r", lambda a: la.qr(a, mode="r"), lambda: (rand(4, 2),)),
    ("qr complete square", lambda a: la.qr(a, mode="complete").Q, lambda: (rand(3, 3),)),
    # pinv
    ("pinv tall", la.pinv, lambda: (with_singular_values(4, 3),)),
    ("pinv wide stack", la.pinv, lambda: (with_singular_values(2, 3, 4),)),
    ("pinv stack", la.pinv, lambda: (with_singular_values(2, 3, 3),)),
    ("pinv hermitian", lambda a: la.pinv(sym(a), hermitian=True), lambda: (spectral(3, 3),)),
    # lstsq
    ("lstsq vector", lambda a, b: la.lstsq(a, b)[0], lambda: (rand(5, 3), rand(5, seed=1))),
    ("lstsq matrix", lambda a, b: la.lstsq(a, b, rcond=None)[0],
     lambda: (rand(4, 3), rand(4, 2, seed=1))),
    ("lstsq square", lambda a, b: la.lstsq(a, b)[0], lambda: (square(3, 3), rand(3, seed=1))),
    ("lstsq residuals", lambda a, b: la.lstsq(a, b)[1],
     lambda: (rand(5, 3), rand(5, 2, seed=1))),
    ("lstsq residuals vector", lambda a, b: la.lstsq(a, b)[1],
     lambda: (rand(5, 2), rand(5, seed=1))),
    # matrix_power
    ("matrix_power 0", lambda a: la.matrix_power(a, 0) * a, lambda: (square(3, 3),)),
    ("matrix_power 1", lambda a: la.matrix_power(a, 1), lambda: (square(3, 3),)),
    ("matrix_power 2", lambda a: la.matrix_power(a, 2), lambda: (rand(3, 3),)),
    ("matrix_power 5 stack", lambda a: la.matrix_power(a, 5), lambda: (0.5 * rand(2, 3, 3),)),
    ("matrix_power -1", lambda a: la.matrix_power(a, -1), lambda: (square(3, 3),)),
    ("matrix_power -3 stack", lambda a: la.matrix_power(a, -3), lambda: (square(2, 3, 3),)),
    # multi_dot
    ("multi_dot matrices", lambda a, b, c: la.multi_dot([a, b, c]),
     lambda: (rand(2, 5), rand(5, 3, seed=1), rand(3, 4, seed=2))),
    ("multi_dot vectors at ends", lambda a, b, c, d: la.multi_dot([a, b, c, d]),
     lambda: (rand(3), rand(3, 4, seed=1), rand(4, 2, seed=2), rand(2, seed=3))),
    ("multi_dot vector first", lambda a, b: la.multi_dot([a, b]),
     lambda: (rand(3), rand(3, 4, seed=1))),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "make"), CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, fun: Callable[..., Any], make: Callable[[], tuple[Any, ...]]) -> None:
    check_rule(fun, *make())


# Batched tangents at second order: hessians (forward over reverse) against differences.
HESSIAN_CASES = [
    ("slogdet", lambda a: la.slogdet(a)[1], square(2, 2)),
    ("solve", lambda a: cnp.sum(la.solve(a, np.arange(1.0, 3.0)) ** 2), square(2, 2)),
    ("norm", lambda x: la.norm(x, 3) + la.norm(x), rand(4)),
    ("cholesky", lambda a: cnp.sum(la.cholesky(sym(a)) * rand(2, 2)), spd(2, 2)),
    ("eigh", lambda a: cnp.sum(eig_function(a) * rand(3, 3)), spectral(3, 3)),
    ("svd", lambda a: cnp.sum(polar(a) * rand(3, 2)), with_singular_values(3, 2)),
    ("qr", lambda a: cnp.sum(qr_function(a) * rand(3, 2)), rand(3, 2)),
    ("pinv", lambda a: cnp.sum(la.pinv(a) * rand(2, 3)), with_singular_values(3, 2)),
    (
        "eigh U, one triangle",
        lambda a: cnp.sum(exp_third(*la.eigh(a, "U")) * rand(3, 3)),
        noisy(spectral(3, 3), lower=False),
    ),
    (
        "cholesky, one triangle",
        lambda a: cnp.sum(la.cholesky(a) * rand(3, 3)),
        noisy(spd(3, 3), lower=True),
    ),
]


@pytest.mark.parametrize(("name", "fun", "x"), HESSIAN_CASES, ids=[c[0] for c in HESSIAN_CASES])
def test_hessian(name: str, fun: Callable[..., Any], x: np.ndarray) -> None:
    numeric = numerical_jacobian(cr.grad(fun), x, h=1e-5).reshape(x.shape * 2)
    np.testing.assert_allclose(cr.hessian(fun)(x), numeric, atol=1e-6, rtol=1e-6)


# -------------------------------------------------------------------- values against NumPy


def traced_value(fun: Callable[..., Any], *args: Any) -> Any:
    """`fun`'s result computed under a transform (tracers inside), as plain values."""
    return cr.vjp(fun, *args)[0]


VALUE_CASES = [
    ("inv", la.inv, np.linalg.inv, (square(2, 3, 3),)),
    ("det", la.det, np.linalg.det, (square(2, 3, 3),)),
    ("slogdet", la.slogdet, np.linalg.slogdet, (-square(3, 3),)),
    ("solve", la.solve, np.linalg.solve, (square(2, 3, 3), rand(3))),
    ("norm", la.norm, np.linalg.norm, (rand(3, 4),)),
    ("norm 3 axis", lambda x: la.norm(x, 3, 0), lambda x: np.linalg.norm(x, 3, 0), (rand(3, 4),)),
    ("norm nuc", lambda x: la.norm(x, "nuc", (0, 2), True),
     lambda x: np.linalg.norm(x, "nuc", (0, 2), True), (rand(3, 2, 4),)),
    ("norm -1", lambda x: la.norm(x, -1), lambda x: np.linalg.norm(x, -1), (rand(3, 4),)),
    ("norm inf", lambda x: la.norm(x, inf, (1, 0)), lambda x: np.linalg.norm(x, inf, (1, 0)),
     (rand(3, 4),)),
    ("norm -2", lambda x: la.norm(x, -2), lambda x: np.linalg.norm(x, -2), (rand(3, 4),)),
    ("cholesky", la.cholesky, np.linalg.cholesky, (spd(2, 3, 3),)),
    ("eigh", la.eigh, np.linalg.eigh, (spectral(3, 3),)),
    ("eigvalsh", la.eigvalsh, np.linalg.eigvalsh, (spectral(3, 3),)),
    ("svd", lambda a: la.svd(a, False), lambda a: np.linalg.svd(a, False), (rand(4, 3),)),
    ("svd values", lambda a: la.svd(a, compute_uv=False),
     lambda a: np.linalg.svd(a, compute_uv=False), (rand(3, 4),)),
    ("qr", la.qr, np.linalg.qr, (rand(2, 4, 3),)),
    ("pinv", la.pinv, np.linalg.pinv, (rand(4, 3),)),
    ("lstsq", la.lstsq, np.linalg.lstsq, (rand(5, 3), rand(5, 2))),
    ("matrix_power -2", lambda a: la.matrix_power(a, -2),
     lambda a: np.linalg.matrix_power(a, -2), (square(3, 3),)),
    ("matrix_power 0", lambda a: la.matrix_power(a, 0),
     lambda a: np.linalg.matrix_power(a, 0), (square(2, 3, 3),)),
    ("matrix_power 6", lambda a: la.matrix_power(a, 6),
     lambda a: np.linalg.matrix_power(a, 6), (rand(3, 3),)),
    ("multi_dot", lambda *m: la.multi_dot(m), lambda *m: np.linalg.multi_dot(m),
     (rand(3), rand(3, 4), rand(4, 5), rand(5, 2))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "ours", "numpys", "args"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES]
)
def test_values(
    name: str, ours: Callable[..., Any], numpys: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    expected = numpys(*args)
    for got in (ours(*args), traced_value(ours, *args)):
        if isinstance(expected, tuple):
            assert type(got) is type(expected)  # NumPy's named results, and plain tuples
        for g, e in zip(cr.tree.leaves(got), cr.tree.leaves(expected), strict=True):
            assert np.shape(g) == np.shape(e) and np.result_type(g) == np.result_type(e)
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


def test_plain_arrays_are_numpy() -> None:
    a = rand(3, 3)
    assert la.norm(a, "nuc") == np.linalg.norm(a, "nuc")
    assert isinstance(la.inv(a), np.ndarray)
    np.testing.assert_array_equal(la.svd(a)[0], np.linalg.svd(a)[0])
    np.testing.assert_array_equal(la.solve(a, a), np.linalg.solve(a, a))


def test_numpy_functions_dispatch_to_rules() -> None:
    a = square(3, 3)
    g = cr.grad(lambda a: np.linalg.slogdet(a)[1] + np.linalg.norm(np.linalg.inv(a)))(a)
    expected = cr.grad(lambda a: la.slogdet(a)[1] + la.norm(la.inv(a)))(a)
    np.testing.assert_allclose(g, expected)


def test_float32() -> None:
    a = spd(3, 3).astype(np.float32)
    for f in (la.inv, la.cholesky, lambda x: la.eigh(x)[1], lambda x: la.norm(x, 2)):
        assert cr.grad(lambda x, f=f: cnp.sum(f(x)))(a).dtype == np.float32


# ---------------------------------------------------------------- conventions and results


@pytest.mark.parametrize("ord", [None, 1, 3, 0.5, inf, -inf, 0])
def test_norm_gradient_at_zero_vector_is_zero(ord: Any) -> None:
    x = np.zeros(3)
    for g in (cr.grad(lambda v: la.norm(v, ord))(x), cr.jacfwd(lambda v: la.norm(v, ord))(x)):
        np.testing.assert_array_equal(g, np.zeros(3))


def test_frobenius_gradient_at_zero_matrix_is_zero() -> None:
    np.testing.assert_array_equal(cr.grad(la.norm)(np.zeros((2, 3))), np.zeros((2, 3)))


def test_norm_zero_entries_with_small_p() -> None:
    # p < 1: infinite derivative at a zero entry is reported as 0, never NaN.
    g = cr.grad(lambda v: la.norm(v, 0.5))(np.array([0.0, 1.0, 4.0]))
    np.testing.assert_allclose(g, [0.0, 3.0, 1.5])


def test_norm_large_entries_do_not_overflow() -> None:
    x = np.array([3e150, 4e150])
    np.testing.assert_allclose(cr.grad(la.norm)(x), [0.6, 0.8])
    x = np.array([3e100, -4e100])
    g = cr.grad(lambda v: la.norm(v, 3))(x)
    n = np.cbrt(27.0 + 64.0)
    np.testing.assert_allclose(g, [(3 / n) ** 2, -((4 / n) ** 2)])


def test_norm_inf_ties_share_equally() -> None:
    x = np.array([3.0, -3.0, 1.0])
    np.testing.assert_array_equal(cr.grad(lambda v: la.norm(v, inf))(x), [0.5, -0.5, 0.0])
    np.testing.assert_array_equal(cr.grad(lambda v: la.norm(v, -inf))(-x), [0.0, 0.0, -1.0])


def test_eigenvalue_sum_at_repeated_eigenvalues() -> None:
    # F is zero where eigenvalues coincide, so functions of eigenvalues stay finite.
    g = cr.grad(lambda a: cnp.sum(la.eigvalsh(sym(a))))(np.eye(3))
    np.testing.assert_allclose(g, np.eye(3), atol=1e-14)


def test_singular_value_sum_at_repeated_singular_values() -> None:
    q = orthogonal(3, 3)  # all singular values 1: the nuclear norm's gradient is U Vh = q
    np.testing.assert_allclose(cr.grad(lambda a: la.norm(a, "nuc"))(q), q, atol=1e-12)


def test_slogdet_sign_is_plain() -> None:
    signs = []

    def f(a: Any) -> Any:
        result = la.slogdet(a)
        signs.append(result.sign)
        return result.logabsdet

    g = cr.grad(f)(-square(3, 3))
    assert type(signs[0]) is np.float64 and signs[0] == -1.0
    np.testing.assert_allclose(g, np.linalg.inv(-square(3, 3)).T)


def test_det_gradient_is_cofactor_matrix() -> None:
    a = np.array([[2.0, 1.0], [3.0, 4.0]])
    np.testing.assert_allclose(cr.grad(la.det)(a), [[4.0, -3.0], [-1.0, 2.0]])


def exact_det(m: list[list[int]]) -> int:
    """The determinant of an integer matrix, exactly (Laplace expansion; small matrices)."""
    if not m:
        return 1
    return sum(
        (-1) ** j * m[0][j] * exact_det([row[:j] + row[j + 1 :] for row in m[1:]])
        for j in range(len(m))
    )


def minor(a: np.ndarray, rows: tuple[int, ...], cols: tuple[int, ...]) -> int:
    keep_r = [i for i in range(len(a)) if i not in rows]
    keep_c = [j for j in range(len(a)) if j not in cols]
    return exact_det([[int(a[i, j]) for j in keep_c] for i in keep_r])


def exact_det_gradient(a: np.ndarray) -> np.ndarray:
    """``∂det/∂a_ij = (-1)^(i+j) M_ij``: the transposed adjugate, from exact minors."""
    n = len(a)
    return np.array([[(-1) ** (i + j) * minor(a, (i,), (j,)) for j in range(n)] for i in range(n)])


def exact_det_hessian(a: np.ndarray) -> np.ndarray:
    """``∂²det/∂a_ij ∂a_kl = ±(-1)^(i+j+k+l)`` times the minor without rows i, k, cols j, l."""
    n = len(a)
    h = np.zeros((n, n, n, n))
    for i, j, k, l in np.ndindex(n, n, n, n):
        if i != k and j != l:
            sign = (-1) ** (i + j + k + l) * (1 if (i < k) == (j < l) else -1)
            h[i, j, k, l] = sign * minor(a, (i, k), (j, l))
    return h


SINGULAR = {
    "rank n-1": np.array([[2, 1, 0, 3], [1, 3, 1, 0], [0, 1, 4, 1], [3, 3, -3, 2]]),
    "rank n-2": np.array([[2, 1, 0, 3], [1, 3, 1, 0], [3, 4, 1, 3], [1, -2, -1, 3]]),
    "ones 3x3": np.ones((3, 3), int),
    "ones 2x2": np.ones((2, 2), int),
    "zero column": np.array([[0, 1, 2], [0, 3, 1], [0, 2, 5]]),
}


@pytest.mark.parametrize("name", sorted(SINGULAR))
def test_det_derivatives_at_singular_matrices(name: str) -> None:
    """The gradient of det is the adjugate (transposed), which exists at every matrix:
    it used to raise LinAlgError at a singular one. Second derivatives (the (n-2)-minors,
    nonzero even where the adjugate is 0) are exact too, in every combination of modes."""
    a_int = SINGULAR[name]
    a = a_int.astype(float)
    n = len(a)
    assert exact_det(a_int.tolist()) == 0
    # Rounding bound: a backward-stable SVD perturbs A by ~eps·‖A‖, which moves the k-th
    # derivative (products of n-k singular values) by ~n·eps·‖A‖^(n-k).
    scale = np.linalg.norm(a, 2)
    tol = 16 * n * np.finfo(float).eps
    grad = exact_det_gradient(a_int)
    for g in (cr.grad(la.det)(a), cr.jacfwd(la.det)(a)):
        np.testing.assert_allclose(g, grad, rtol=0, atol=tol * scale ** (n - 1))
    hess = exact_det_hessian(a_int)
    for h in (
        cr.hessian(la.det)(a),
        cr.jacrev(cr.grad(la.det))(a),
        cr.jacfwd(cr.jacfwd(la.det))(a),
        cr.jacrev(cr.jacfwd(la.det))(a),
    ):
        np.testing.assert_allclose(h, hess, rtol=0, atol=tol * scale ** max(n - 2, 1))
    check_rule(la.det, a)


def test_det_singular_stack_float32_and_third_order() -> None:
    stack = np.stack([np.ones((3, 3)), SINGULAR["zero column"].astype(float), square(3, 3)])
    grads = cr.grad(lambda a: cnp.sum(la.det(a)))(stack)
    for g, a in zip(grads[:2], stack[:2].astype(int), strict=True):
        np.testing.assert_allclose(g, exact_det_gradient(a), rtol=0, atol=1e-13)
    np.testing.assert_allclose(grads[2], la.det(stack[2]) * la.inv(stack[2]).T, rtol=1e-14)
    g32 = cr.grad(la.det)(np.ones((3, 3), np.float32))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, 0.0 * g32, atol=16 * 3 * np.finfo(np.float32).eps * 3.0**2)
    # Third and higher orders at a nonsingular matrix, and a clear error at a singular one.
    check_rule(la.det, square(3, 3), order=3, batched=False, float32=False)
    with pytest.raises(np.linalg.LinAlgError, match="det: derivatives of order 3"):
        cr.jacfwd(cr.hessian(la.det))(np.ones((3, 3)))


# name: (function of a linalg module and a matrix, reads the lower triangle, clean input)
ONE_TRIANGLE: dict[str, tuple[Callable[[Any, Any], Any], bool, np.ndarray]] = {
    "pinv": (lambda L, a: L.pinv(a, hermitian=True), True, spectral(3, 3)),
    "pinv stack rcond": (lambda L, a: L.pinv(a, 1e-10, True), True, spectral(2, 3, 3)),
    "svd values": (lambda L, a: L.svd(a, compute_uv=False, hermitian=True), True,
                   spectral(3, 3)),
    "svd polar": (lambda L, a: (lambda u, s, vh: u @ vh)(*L.svd(a, hermitian=True)), True,
                  spectral(3, 3)),
    "cholesky": (lambda L, a: L.cholesky(a), True, spd(3, 3)),
    "cholesky upper stack": (lambda L, a: L.cholesky(a, upper=True), False, spd(2, 3, 3)),
    "eigvalsh": (lambda L, a: L.eigvalsh(a), True, spectral(3, 3)),
    "eigvalsh U stack": (lambda L, a: L.eigvalsh(a, "U"), False, spectral(2, 3, 3)),
    "eigvalsh u": (lambda L, a: L.eigvalsh(a, UPLO="u"), False, spectral(3, 3)),
    "eigh function stack": (lambda L, a: exp_third(*L.eigh(a)), True, spectral(2, 3, 3)),
    "eigh function U": (lambda L, a: exp_third(*L.eigh(a, "U")), False, spectral(3, 3)),
    "eigh projector l": (lambda L, a: (lambda v: v @ mT(v))(L.eigh(a, "l")[1][..., -1:]),
                         True, spectral(3, 3)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ONE_TRIANGLE))
def test_derivative_is_that_of_numpys_function_of_one_triangle(name: str) -> None:
    """cholesky, eigh, eigvalsh and hermitian=True read one triangle (UPLO, upper): the
    derivative is that of NumPy's function. It used to average a perturbation with its
    transpose (or, for hermitian=True, ignore symmetry): wrong off symmetric directions."""
    fun, lower, clean = ONE_TRIANGLE[name]
    ours, numpys = partial(fun, la), partial(fun, np.linalg)
    a = noisy(clean, lower)
    np.testing.assert_allclose(traced_value(ours, a), numpys(a), rtol=1e-14, atol=1e-14)
    numeric = numerical_jacobian(numpys, a, h=1e-6)
    for jac in (cr.jacfwd, cr.jacrev):
        got = np.asarray(jac(ours)(a))
        # Central differences: truncation ~h² and rounding ~eps/h, with O(1) derivatives.
        np.testing.assert_allclose(got.reshape(numeric.shape), numeric, rtol=1e-7, atol=1e-7)
        assert np.all(got[..., unread(a.shape[-1], lower)] == 0)
    check_rule(ours, a)
    check_rule(ours, clean)


@pytest.mark.parametrize("name", sorted(ONE_TRIANGLE))
def test_unread_triangle_may_hold_nan(name: str) -> None:
    """NumPy never reads the other triangle, so NaN there changes nothing: not the value,
    not the derivative (a mask multiplied in used to turn it into NaN everywhere)."""
    fun, lower, clean = ONE_TRIANGLE[name]
    ours = partial(fun, la)
    a = clean.copy()
    a[..., unread(a.shape[-1], lower)] = np.nan
    np.testing.assert_allclose(traced_value(ours, a), fun(np.linalg, a), rtol=1e-14, atol=1e-14)
    expected = cr.grad(lambda x: cnp.sum(ours(x)))(clean)
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(ours(x)))(a), expected, rtol=1e-14)


def test_triangle_options_keep_numpys_errors() -> None:
    a = spectral(3, 3)
    with pytest.raises(ValueError, match="UPLO"):
        cr.grad(lambda x: cnp.sum(la.eigvalsh(x, "X")))(a)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        la.cholesky(spd(3, 3), True)  # type: ignore[misc]


def test_slogdet_at_singular_matrix() -> None:
    """As NumPy, JAX and PyTorch: sign 0 and log|det| = -inf. Its derivative inv(A)ᵀ is
    infinite there: a clear error naming slogdet, not NumPy's bare 'Singular matrix'."""
    a = np.ones((3, 3))
    sign, logabsdet = cr.vjp(la.slogdet, a)[0]
    assert sign == 0.0 and logabsdet == -np.inf
    for transform in (cr.grad, cr.jacfwd):
        with pytest.raises(np.linalg.LinAlgError, match=r"slogdet: .* at a singular matrix"):
            transform(lambda a: la.slogdet(a)[1])(a)


def test_named_results_under_transform() -> None:
    def f(a: Any) -> Any:
        eig, svd, qr = la.eigh(a), la.svd(a), la.qr(a)
        assert type(eig).__name__ == "EighResult" and type(svd).__name__ == "SVDResult"
        assert type(qr).__name__ == "QRResult"
        return cnp.sum(eig.eigenvalues) + cnp.sum(svd.S) + cnp.sum(qr.R)

    cr.grad(f)(spectral(3, 3))


def test_lstsq_plain_outputs() -> None:
    a, b = rand(5, 3), rand(5)
    x, residuals, rank, s = cr.vjp(lambda a: la.lstsq(a, b), a)[0]
    expected = np.linalg.lstsq(a, b)
    assert rank == expected[2] and residuals.shape == (1,)
    np.testing.assert_allclose(s, expected[3])
    np.testing.assert_allclose(x, expected[0])
    square_result = cr.vjp(lambda a: la.lstsq(a, b[:3]), a[:3])[0]
    assert square_result[1].shape == (0,)  # no residuals for a square system, as NumPy


def test_matrix_power_zero_is_constant() -> None:
    a = square(2, 3, 3)
    np.testing.assert_array_equal(cr.grad(lambda a: cnp.sum(la.matrix_power(a, 0)))(a), 0.0 * a)


# --------------------------------------------------------------------------------- errors


def test_svd_full_matrices_non_square_raises() -> None:
    with pytest.raises(ValueError, match="full_matrices=False"):
        cr.grad(lambda a: cnp.sum(la.svd(a)[0]))(rand(4, 3))


@pytest.mark.parametrize(
    ("shape", "mode"), [((3, 4), "reduced"), ((4, 3), "raw"), ((4, 3), "complete")]
)
def test_qr_unsupported_raises(shape: tuple[int, int], mode: str) -> None:
    with pytest.raises(ValueError, match="m >= n"):
        cr.grad(lambda a: cnp.sum(la.qr(a, mode)[0]))(rand(*shape))


def test_matrix_power_errors() -> None:
    with pytest.raises(TypeError, match="integer"):
        cr.grad(lambda a: cnp.sum(la.matrix_power(a, 1.5)))(rand(3, 3))
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        cr.grad(lambda a: cnp.sum(la.matrix_power(a, 2)))(rand(3, 2))


@pytest.mark.parametrize(("ord", "axis", "match"), [
    ("fro", 0, "Invalid norm order"),
    (3, (0, 1), "Invalid norm order"),
    (None, (1, 1), "Duplicate axes"),
    (None, (0, 1, 2), "Improper number of dimensions"),
])  # fmt: skip
def test_norm_errors(ord: Any, axis: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cr.grad(lambda x: la.norm(x, ord, axis))(rand(2, 3, 4))


def test_multi_dot_out_raises() -> None:
    with pytest.raises(TypeError, match="out="):
        cr.grad(lambda a: cnp.sum(la.multi_dot([a, a], out=np.empty((2, 2)))))(rand(2, 2))


# ---------------------------------------------------------------------------------- vmap


def loop(fun: Callable[..., Any], *args: Any, in_axes: Any = 0) -> Any:
    """The oracle: `fun` of one example at a time, the results stacked on axis 0."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    size = next(np.shape(a)[ax] for a, ax in zip(args, axes, strict=True) if ax is not None)
    return cr.tree.map(
        lambda *xs: np.stack(xs),
        *(
            fun(*(a if ax is None else np.take(a, i, ax) for a, ax in zip(args, axes, strict=True)))
            for i in range(size)
        ),
    )


def assert_vmap_is_loop(fun: Callable[..., Any], *args: Any, in_axes: Any = 0) -> None:
    got, expected = cr.vmap(fun, in_axes=in_axes)(*args), loop(fun, *args, in_axes=in_axes)
    for g, e in zip(cr.tree.leaves(got), cr.tree.leaves(expected), strict=True):
        assert np.shape(g) == np.shape(e) and np.asarray(g).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


@pytest.fixture
def solve_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[int, ...], ...]]:
    from chainrule.numpy.rules import linalg as rules

    calls: list[tuple[tuple[int, ...], ...]] = []

    def recorded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        calls.append((np.shape(a), np.shape(b)))
        return np.linalg.solve(a, b)

    monkeypatch.setattr(rules.solve, "impl", recorded)
    return calls


def test_vmap_of_solve_with_a_shared_matrix_is_one_solve(solve_calls: list) -> None:
    # One factorisation for every right-hand side: the vectors are the columns of one matrix.
    a, bs = square(3, 3), rand(5, 3, seed=1)
    got = cr.vmap(la.solve, in_axes=(None, 0))(a, bs)
    assert solve_calls == [((3, 3), (3, 5))]
    np.testing.assert_allclose(got, np.linalg.solve(a, bs.T).T, rtol=1e-12)
    solve_calls.clear()
    bs = rand(3, 2, 5, seed=2)  # matrices (3, 2), the batch on their last axis
    got = cr.vmap(la.solve, in_axes=(None, 2))(a, bs)
    assert solve_calls == [((3, 3), (3, 10))]
    np.testing.assert_allclose(got, loop(la.solve, a, bs, in_axes=(None, 2)), rtol=1e-12)


def test_vmap_of_solve_keeps_numpy2_vector_rule() -> None:
    # A batch of vectors beside a batch of matrices (NumPy would read (B, n) as a matrix),
    # beside a stack, and the batch on the last axis of both.
    a, b = square(4, 3, 3), rand(4, 3, seed=1)
    assert_vmap_is_loop(la.solve, a, b)
    assert_vmap_is_loop(la.solve, square(4, 2, 3, 3), b)
    assert_vmap_is_loop(la.solve, np.moveaxis(a, 0, -1), b.T, in_axes=(-1, -1))
    assert_vmap_is_loop(la.solve, a, b[0], in_axes=(0, None))
    assert_vmap_is_loop(la.solve, square(2, 3, 3), b, in_axes=(None, 0))


def test_vmap_with_the_batch_among_the_matrix_axes() -> None:
    # The batch on an axis of the matrices (where NumPy keeps them), moved out of the way.
    a = square(4, 3, 3)
    for fun in (la.inv, la.det, la.slogdet, lambda m: la.eigh(sym(m)), la.svd, la.qr, la.pinv,
                la.matrix_rank, la.cond, lambda m: la.norm(m, 2), la.eigvals):  # fmt: skip
        for axis in (1, -1):
            assert_vmap_is_loop(fun, np.moveaxis(a, 0, axis), in_axes=axis)


@pytest.mark.parametrize(
    ("kwargs", "in_axes"),
    [
        ({}, 2),
        ({"keepdims": True}, 1),
        ({"ord": 1, "axis": 0}, 1),
        ({"ord": 3, "axis": -1, "keepdims": True}, 0),
        ({"ord": inf, "axis": (0, 1)}, 2),
        ({"ord": "nuc", "axis": (1, 0)}, 0),
        ({"axis": (0, 1), "keepdims": True}, 1),
    ],
)
def test_vmap_of_norm_shifts_its_axes_past_the_batch(kwargs: dict, in_axes: int) -> None:
    # Examples of shape (3, 4) (a stack (2, 3, 4) for no axis); the batch reduced over or not.
    x = rand(3, 4, 5) if "axis" in kwargs else rand(2, 3, 4, 5)
    assert_vmap_is_loop(
        lambda v: la.norm(v, **kwargs), np.moveaxis(x, -1, in_axes), in_axes=in_axes
    )
    assert_vmap_is_loop(cr.grad(lambda v: cnp.sum(la.norm(v, **kwargs))), x[..., :2], in_axes=-1)


def test_vmap_of_matrix_rank_with_a_batch_of_tolerances() -> None:
    a = rand(3, 4, 4)
    a[1, :, 0] = a[1, :, 1]  # rank 3
    assert_vmap_is_loop(la.matrix_rank, a)
    tol = np.array([0.1, 1.0, 10.0])
    assert_vmap_is_loop(la.matrix_rank, a[0], tol, in_axes=(None, 0))
    stack, tols = rand(2, 3, 4, 4), rand(2, 3) ** 2
    assert_vmap_is_loop(la.matrix_rank, stack, tols, in_axes=(1, 1))


def test_vmap_of_matrix_rank_with_a_batch_of_relative_tolerances() -> None:
    # NumPy's `rtol` is keyword-only: a batch of them must map too (the error used to ask
    # for it by position, which NumPy does not accept).
    a, rtols = rand(3, 4, 4), np.array([1e-3, 0.3, 0.9])
    rank = lambda m, r: la.matrix_rank(m, rtol=r)
    assert_vmap_is_loop(rank, a, rtols)
    assert_vmap_is_loop(rank, a[0], rtols, in_axes=(None, 0))
    assert len({int(rank(a[0], r)) for r in rtols}) > 1  # the tolerances matter


def test_vmap_of_lstsq_gives_every_result_per_example() -> None:
    a, b = rand(3, 5, 2), rand(3, 5, seed=1)
    assert_vmap_is_loop(la.lstsq, a, b)
    assert_vmap_is_loop(la.lstsq, a, rand(3, 5, 2, seed=1))
    assert_vmap_is_loop(la.lstsq, a[0], b, in_axes=(None, 0))
    assert_vmap_is_loop(la.lstsq, np.swapaxes(a, 1, 2), b[:, :2])  # wide: no residuals
    deficient = a.copy()
    deficient[:, :, 1] = 0.0
    assert_vmap_is_loop(la.lstsq, deficient, b)  # rank 1 everywhere: no residuals either
    mixed = a.copy()
    mixed[1, :, 1] = 0.0  # residuals for examples 0 and 2, not 1: no common shape
    with pytest.raises(TypeError, match=r"lstsq.*full rank.*residuals"):
        cr.vmap(la.lstsq)(mixed, b)


def test_vmap_checks_every_example() -> None:
    # The checks that refuse a point (singular, repeated eigenvalues) look at each example.
    a = square(3, 3, 3)
    a[2] = np.zeros((3, 3))
    with pytest.raises(np.linalg.LinAlgError, match="slogdet"):
        cr.vmap(cr.grad(lambda m: la.slogdet(m)[1]))(a)
    with pytest.raises(np.linalg.LinAlgError, match="cond"):
        cr.vmap(cr.grad(la.cond))(a)
    with pytest.raises(np.linalg.LinAlgError, match="eig"):
        cr.vmap(cr.grad(lambda m: cnp.sum(la.eigvals(m).real)), in_axes=2)(np.moveaxis(a, 0, 2))
    b = square(3, 3, 3)
    b[1] = np.diag([1.0, 2.0, 2.0])
    with pytest.raises(np.linalg.LinAlgError, match="repeated"):
        cr.vmap(cr.jacfwd(lambda m: la.eig(m)[0]), in_axes=2)(np.moveaxis(b, 0, 2))


def test_vmap_alone_computes_what_numpy_computes() -> None:
    # Without a derivative, no refusal: NumPy's values where derivatives do not exist or
    # need a restriction (repeated eigenvalues, a singular matrix, full_matrices, m < n).
    a = square(3, 3, 3)
    a[1] = np.diag([1.0, 2.0, 2.0])
    a[2] = np.zeros((3, 3))
    for fun in (la.eig, la.eigvals, la.cond, partial(la.cond, p=1), partial(la.cond, p="fro")):
        with np.errstate(all="ignore"):
            assert_vmap_is_loop(fun, a)
    wide = rand(3, 2, 4)
    assert_vmap_is_loop(la.svd, wide)  # full_matrices=True
    for mode in ("reduced", "complete", "r", "raw"):
        assert_vmap_is_loop(partial(la.qr, mode=mode), wide)
    with pytest.raises(ValueError, match="full_matrices=False"):
        cr.vmap(cr.jacfwd(lambda m: la.svd(m)[0]))(wide)
