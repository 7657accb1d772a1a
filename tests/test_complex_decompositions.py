"""Decompositions of complex matrices: cholesky, qr, svd, svdvals, eigh, eigvalsh, eig, eigvals.

Every rule goes through `check_rule` (forward and reverse to second order against central
differences, batched Jacobians, complex64) on complex inputs, stacks and mixed real/complex
arguments. Eigenvectors and singular vectors have a free phase (JAX's gauges are documented
in `chainrule.numpy.rules.linalg`): their derivatives are checked through functions that do
not depend on it, except `eig`'s of complex matrices, whose normalisation (NumPy's) is
differentiated exactly. The hard-coded gradients are JAX's (x64; for `eig`'s eigenvectors
``jax.lax.linalg.eig(..., enable_eigvec_derivs=True)``), which agree with ours to 1e-15.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.check import numerical_jacobian
from chainrule.core.trace import HolomorphicError
from rulecheck import check_rule, joined

la = np.linalg
rng = numpy.random.default_rng(11)


@pytest.fixture(autouse=True)
def _same_draws_in_every_order() -> None:
    """Each test draws the same inputs, whatever ran before it on its worker."""
    global rng
    rng = numpy.random.default_rng(11)


def cx(*shape: int) -> numpy.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def mH(x: Any) -> Any:
    return np.conj(np.swapaxes(x, -1, -2))


def hpd(*shape: int, unread: str = "upper") -> numpy.ndarray:
    """A Hermitian positive definite matrix (stack) whose unread triangle and imaginary
    diagonal hold garbage: NumPy (LAPACK) never reads them, so neither may the derivative."""
    a = cx(*shape)
    h = a @ numpy.conj(numpy.swapaxes(a, -1, -2)) + shape[-1] * numpy.eye(shape[-1])
    n = shape[-1]
    junk = (
        numpy.triu(numpy.ones((n, n)), 1)
        if unread == "upper"
        else numpy.tril(numpy.ones((n, n)), -1)
    )
    return h + 7 * junk * cx(*shape) + 3j * numpy.eye(n)


def similar(blocks: numpy.ndarray, *stack: int) -> numpy.ndarray:
    """A real matrix (stack) ``S B S⁻¹`` of the eigenvalues of `blocks`, well separated.
    (Not a triangular matrix: there LAPACK's order of the eigenvalues, and the signs of real
    eigenvectors, change under a perturbation, and differences cannot follow them.)"""
    n = blocks.shape[-1]
    s = numpy.linalg.qr(rng.standard_normal((*stack, n, n)))[0] * numpy.linspace(1, 2, n)
    return s @ blocks @ numpy.linalg.inv(s)  # cond(s) = 2


PAIRS = numpy.array([[1.0, -2, 0, 0], [2, 1, 0, 0], [0, 0, -1, -1], [0, 0, 1, -1]])  # 1±2i, -1±i


def sign_free_eig(a: Any) -> Any:
    """The eigenvalues, ``|V|`` and the projector on the first eigenvector: free of the sign
    that LAPACK leaves free in the eigenvectors of a real matrix."""
    w, v = la.eig(a)
    return w, np.abs(v), v[..., :, :1] @ mH(v[..., :, :1])


def spectral(w: numpy.ndarray, v: numpy.ndarray) -> Any:
    """``V diag(exp(w/3)) Vᴴ``: does not depend on the eigenvectors' phases."""
    return (v * np.exp(w / 3)[..., None, :]) @ mH(v)


def polar(a: Any) -> Any:
    u, _, vh = la.svd(a, full_matrices=False)
    return u @ vh


def rebuilt(a: Any) -> Any:
    u, s, vh = la.svd(a)
    return (u * np.sqrt(s)[..., None, :]) @ vh


A2 = numpy.array([[2 + 1j, -1 + 0.5j], [0.5 - 1j, 1 - 2j]])
W2 = numpy.array([[1.0, 2.0], [3.0, 4.0]])
EYE_PLUS = numpy.diag([1.0, 0.0])
W3 = numpy.arange(1.0, 10.0).reshape(3, 3)

# ------------------------------------------------------------------------ values are JAX's

JAX = [
    ("eigvals", lambda a: np.sum(np.abs(la.eigvals(a)) * numpy.array([1.0, 2.0])),
     [[1.02473171 - 0.24118119j, -0.62836667 + 0.34838952j],
      [0.71172705 + 0.09830839j, 0.46477741 + 1.71233121j]]),
    ("eig", lambda a: np.sum(np.real(la.eig(a)[1] * W2) + np.imag(la.eig(a)[1])),
     [[0.4573315 - 0.23422439j, 0.15016808 + 0.69032284j],
      [0.15215498 - 0.74075265j, -0.4573315 + 0.23422439j]]),
    ("svd", lambda a: np.sum(np.abs(la.svd(a)[0]) * W2 + la.svd(a)[1]),
     [[1.68482026 - 0.66816129j, -0.84241013 - 0.07270738j],
      [0.63030368 + 0.56361198j, 0.66816129 + 1.68482026j]]),
    ("qr", lambda a: np.sum(np.imag(la.qr(a)[0]) * W2 + np.real(la.qr(a)[1])),
     [[-0.6325024 + 0.50319562j, -0.38107869 + 0.24005537j],
      [-1.75360876 + 0.14500479j, -0.51988926 - 1.23784263j]]),
    ("cholesky", lambda a: np.sum(np.abs(la.cholesky(a @ mH(a) + numpy.eye(2))) ** 2 * W2),
     [[4.38049941 - 1.50059453j, -2.1902497 + 0.28418549j],
      [4.82758621 + 6.89655172j, 7.31034483 + 16.0j]]),
    ("eigh", lambda a: np.sum(np.abs(la.eigh(a @ mH(a) + EYE_PLUS)[1]) * W2),
     [[-0.33060055 + 0.1239752j, 0.16530027 + 0.0j],
      [0.03306005 + 0.23142038j, 0.20662534 + 0.33060055j]]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "expected"), JAX, ids=[c[0] for c in JAX])
def test_gradients_are_jaxs(name: str, fun: Callable[..., Any], expected: Any) -> None:
    numpy.testing.assert_allclose(cr.grad(fun)(A2), expected, rtol=0, atol=1e-8)


# ------------------------------------------------------------------------------- the rules

RULES = [
    # cholesky: the triangle read (lower, or upper with upper=True), Hermitian
    ("cholesky", la.cholesky, lambda: (hpd(3, 3),)),
    ("cholesky stack", la.cholesky, lambda: (hpd(2, 3, 3),)),
    ("cholesky upper", lambda a: la.cholesky(a, upper=True), lambda: (hpd(2, 3, 3, unread="lower"),)),
    ("cholesky mixed", lambda x, z: la.cholesky(x + 0.3 * z), lambda: (5 * numpy.eye(3) + 0.1, cx(3, 3))),
    # eigh, eigvalsh: phase-free functions
    ("eigvalsh", la.eigvalsh, lambda: (hpd(3, 3),)),
    ("eigvalsh U stack", lambda a: la.eigvalsh(a, "U"), lambda: (hpd(2, 3, 3, unread="lower"),)),
    ("eigh spectral", lambda a: spectral(*la.eigh(a)), lambda: (hpd(3, 3),)),
    ("eigh spectral U stack", lambda a: spectral(*la.eigh(a, UPLO="U")), lambda: (hpd(2, 3, 3, unread="lower"),)),
    ("eigh |V|", lambda a: np.abs(la.eigh(a).eigenvectors), lambda: (hpd(3, 3),)),
    ("eigh projector", lambda a: (lambda v: v @ mH(v))(la.eigh(a)[1][..., -1:]), lambda: (hpd(2, 3, 3),)),
    ("eigh mixed", lambda x, z: la.eigvalsh(x * z), lambda: (numpy.arange(1.0, 10.0).reshape(3, 3), cx(3, 3))),
    # svd, svdvals
    ("svdvals tall", la.svdvals, lambda: (cx(4, 3),)),
    ("svdvals wide stack", la.svdvals, lambda: (cx(2, 3, 4),)),
    ("svd compute_uv=False", lambda a: la.svd(a, compute_uv=False), lambda: (cx(3, 3),)),
    ("svd polar tall", polar, lambda: (cx(4, 3),)),
    ("svd polar wide", polar, lambda: (cx(3, 4),)),
    ("svd polar stack", polar, lambda: (cx(2, 3, 3),)),
    ("svd full_matrices square", rebuilt, lambda: (cx(2, 3, 3),)),
    ("svd |U| |Vh| tall", lambda a: [np.abs(m) for m in la.svd(a, full_matrices=False)], lambda: (cx(4, 3),)),
    ("svd |U| |Vh| wide", lambda a: [np.abs(m) for m in la.svd(a, full_matrices=False)], lambda: (cx(3, 4),)),
    ("svd hermitian", lambda a: la.svd(a, hermitian=True).S, lambda: (hpd(3, 3),)),
    ("svd hermitian polar", lambda a: (lambda u, s, vh: u @ vh)(*la.svd(a, hermitian=True)), lambda: (hpd(3, 3),)),
    ("svd mixed", lambda x, z: polar(x + z), lambda: (rng.standard_normal((3, 2)), cx(3, 2))),
    # qr: the decomposition NumPy returns (R's diagonal real, not normalised) is unique
    ("qr square", la.qr, lambda: (cx(3, 3),)),
    ("qr tall", la.qr, lambda: (cx(4, 3),)),
    ("qr stack", la.qr, lambda: (cx(2, 4, 3),)),
    ("qr mode r", lambda a: la.qr(a, mode="r"), lambda: (cx(4, 2),)),
    ("qr complete square", lambda a: la.qr(a, mode="complete"), lambda: (cx(3, 3),)),
    ("qr mixed", lambda x, z: la.qr(x * z), lambda: (rng.standard_normal((4, 1)), cx(4, 3))),
    # eig, eigvals: general matrices, real or complex, eigenvectors normalised as NumPy's
    ("eigvals", la.eigvals, lambda: (cx(3, 3),)),
    ("eigvals stack", la.eigvals, lambda: (cx(2, 3, 3),)),
    ("eigvals real, complex pairs", la.eigvals, lambda: (similar(PAIRS),)),
    ("eigvals real, real eigenvalues", la.eigvals, lambda: (similar(numpy.diag([1.0, 2.0, 4.0])),)),
    ("eig", la.eig, lambda: (cx(3, 3),)),
    ("eig stack", la.eig, lambda: (cx(2, 3, 3),)),
    ("eig real, complex pairs", sign_free_eig, lambda: (similar(PAIRS, 2),)),
    ("eig real, real eigenvalues", joined(sign_free_eig), lambda: (similar(numpy.diag([1.0, 2.0, 4.0]), 2),)),
    ("eig mixed", lambda x, z: la.eig(x + z), lambda: (rng.standard_normal((3, 3)), cx(3, 3))),
    ("eig mixed, real result", lambda x, y: sign_free_eig(x * y), lambda: (similar(PAIRS), rng.uniform(1, 2, 4))),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "make"), RULES, ids=[c[0] for c in RULES])
def test_rule(name: str, fun: Callable[..., Any], make: Callable[[], tuple[Any, ...]]) -> None:
    check_rule(fun, *make())


def test_a_phase_dependent_function_fails_the_check() -> None:
    """The harness can fail here: eigh's eigenvectors themselves are not differentiable
    (NumPy's phases follow no smooth rule), only functions free of the phase are."""
    with pytest.raises(AssertionError, match="forward mode"):
        check_rule(lambda a: la.eigh(a)[1], hpd(3, 3), float32=False, batched=False)


# ----------------------------------------------------------------------------- conventions


@pytest.mark.parametrize("upper", [False, True])
def test_the_triangle_not_read_and_the_imaginary_diagonal_have_derivative_0(upper: bool) -> None:
    a = hpd(3, 3, unread="lower" if upper else "upper")
    funs = [
        lambda a: np.sum(np.abs(la.cholesky(a, upper=upper)) ** 2 * W3),
        lambda a: np.sum(la.eigvalsh(a, "U" if upper else "L") ** 2 * numpy.arange(3.0)),
        lambda a: np.sum(np.real(spectral(*la.eigh(a, "U" if upper else "L")) * W3)),
    ]
    for f in funs:
        g = cr.grad(f)(a)
        unread = numpy.tril(g, -1) if upper else numpy.triu(g, 1)
        assert not unread.any()
        assert not numpy.diagonal(g).imag.any()
        assert numpy.diagonal(g).real.all()


def test_values_are_numpys() -> None:
    a, h = cx(2, 4, 3), hpd(2, 3, 3)
    cases = [
        (la.cholesky, numpy.linalg.cholesky, h),
        (la.eigh, numpy.linalg.eigh, h),
        (la.svd, numpy.linalg.svd, a[..., :3, :]),
        (la.qr, numpy.linalg.qr, a),
        (la.eig, numpy.linalg.eig, a[..., :3, :]),
        (la.eigvals, numpy.linalg.eigvals, a[..., :3, :]),
    ]
    for ours, theirs, x in cases:
        for o, t in zip(cr.tree.leaves(ours(x)), cr.tree.leaves(theirs(x)), strict=True):
            numpy.testing.assert_array_equal(o, t)
        # under a transform too (eigvals: eig's values, in eig's order)
        expected = numpy.linalg.eig(x)[0] if ours is la.eigvals else theirs(x)
        traced = cr.vjp(ours, x)[0]
        for o, t in zip(cr.tree.leaves(traced), cr.tree.leaves(expected), strict=True):
            numpy.testing.assert_array_equal(o, t)


def test_the_eigenvectors_of_a_real_matrix_have_a_free_sign() -> None:
    """LAPACK's sign of a complex pair's eigenvector of a real matrix may flip under a
    perturbation of 1e-8 (it does here with some OpenBLAS kernels, not with others): only
    functions free of that sign have a derivative, and theirs is right on every machine."""
    check_rule(sign_free_eig, similar(PAIRS), float32=False, batched=False)


def test_gauges_are_jaxs() -> None:
    """eigh: ``Im diag(Vᴴ dV) = 0``; svd: ``Im diag(Vᴴ dV) = 0``; eig: unit norm kept, the
    largest entry of each eigenvector kept real."""
    h, t = hpd(3, 3), cx(3, 3)
    t = t + t.conj().T
    (_, v), (dw, dv) = cr.jvp(la.eigh, (h,), (t,))
    assert numpy.isrealobj(dw)
    assert numpy.abs(numpy.diagonal(v.conj().T @ dv).imag).max() < 1e-12
    a, t = cx(4, 3), cx(4, 3)
    (u, s, vh), (du, ds, dvh) = cr.jvp(lambda a: la.svd(a, full_matrices=False), (a,), (t,))
    assert numpy.abs(numpy.diagonal(vh @ dvh.conj().T).imag).max() < 1e-12
    # dA = dU S Vᴴ + U dS Vᴴ + U S dVᴴ
    numpy.testing.assert_allclose((du * s) @ vh + (u * ds) @ vh + (u * s) @ dvh, t, atol=1e-12)
    a = cx(3, 3)
    (_, v), (_, dv) = cr.jvp(la.eig, (a,), (t[:3],))
    numpy.testing.assert_allclose(numpy.sum(v.conj() * dv, axis=0).real, 0, atol=1e-12)
    top = numpy.argmax(numpy.abs(v), axis=0)
    assert (v[top, range(3)].imag == 0).all()
    assert numpy.abs(dv[top, range(3)].imag).max() < 1e-12


# --------------------------------------------------------------------------- holomorphic


def test_eigvals_is_holomorphic_to_second_order() -> None:
    a = cx(3, 3)
    jac = cr.jacrev(la.eigvals, holomorphic=True)(a)
    numeric = numerical_jacobian(lambda m: numpy.linalg.eig(m)[0], a)
    numpy.testing.assert_allclose(jac, numeric.reshape(jac.shape), atol=1e-7)
    numpy.testing.assert_allclose(cr.jacfwd(la.eigvals, holomorphic=True)(a), jac, atol=1e-12)
    # sum(λ²) = tr(A²), whose Hessian is 2 δ_il δ_jk
    hess = cr.hessian(lambda m: np.sum(la.eigvals(m) ** 2), holomorphic=True)(a)
    expected = 2 * numpy.einsum("il,jk->ijkl", numpy.eye(3), numpy.eye(3))
    numpy.testing.assert_allclose(hess, expected, atol=1e-9)
    # the gradient of Re g for a holomorphic g is g' (JAX's convention): here 3 (A²)ᵀ
    grad = cr.grad(lambda m: np.real(np.sum(la.eigvals(m) ** 3)))(a)
    numpy.testing.assert_allclose(grad, 3 * (a @ a).T, atol=1e-9)


@pytest.mark.parametrize(
    ("fun", "name"),
    [
        (lambda a: la.cholesky(a), "cholesky"),
        (lambda a: la.eigh(a)[1], "eigh"),
        (lambda a: la.svd(a)[0], "svd"),
        (lambda a: la.qr(a)[0], "qr"),
        (lambda a: la.eig(a)[1], "eig"),
    ],
)
def test_holomorphic_true_refuses_the_decompositions(fun: Callable[..., Any], name: str) -> None:
    # (cholesky and eigh first meet the real part of the diagonal, in the triangle read)
    with pytest.raises(HolomorphicError, match=f"({name}|real) is not holomorphic"):
        cr.jacfwd(fun, holomorphic=True)(hpd(3, 3))


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", ["eig", "eigvals"])
@pytest.mark.parametrize(
    "a",
    [
        numpy.eye(3),
        numpy.zeros((2, 2)),
        numpy.array([[1.0, 1.0], [0.0, 1.0]]),
        numpy.diag([1j, 2.0, 1j]),
        similar(numpy.array([[1.0, 1.0], [0.0, 1.0]])),  # rounding splits the eigenvalue
        similar(numpy.diag([1.0, 1.0 + 1e-12, 3.0])),
    ],
    ids=["identity", "zero", "jordan block", "repeated complex", "nearly defective", "close"],
)
def test_repeated_eigenvalues_raise(name: str, a: numpy.ndarray) -> None:
    fun = getattr(la, name)
    with pytest.raises(numpy.linalg.LinAlgError, match=rf"linalg\.{name}: .*repeated"):
        cr.grad(lambda m: np.sum(np.abs(fun(m)[0] if name == "eig" else fun(m))))(a)
    fun(a)  # NumPy's values outside a transform


def test_eig_keeps_numpys_errors() -> None:
    for fun in (la.eig, la.eigvals):
        with pytest.raises(numpy.linalg.LinAlgError, match="square"):
            cr.grad(lambda m, f=fun: np.sum(np.abs(f(m)[0])))(cx(2, 3))
