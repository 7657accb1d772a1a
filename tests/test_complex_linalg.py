"""Products and linalg (inv, solve, det, slogdet, norms, pinv, lstsq, ...) on complex values.

JAX's convention (see `chainrule.core.primitive`): forward mode is the real-linear map
``t -> df``, reverse mode its transpose under ``Re(sum(a * b))``. Every function goes through
`check_rule` (forward and reverse to second order against central differences, the batched
Jacobians of the realified function, complex64 kept), on complex and on mixed real/complex
arguments, stacked where NumPy stacks. The expected numbers in the tests named ``..._jax``
are JAX's (0.10, x64), to the 8 digits printed.

Inputs are away from kinks and well conditioned: random complex entries (no ties, no zeros),
square matrices shifted by ``3 I``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
import chainrule.numpy.linalg as la
from chainrule.check import numerical_jacobian
from chainrule.core.trace import HolomorphicError
from chainrule.numpy.rules import linalg as linalg_rules
from chainrule.numpy.rules import products
from rulecheck import check_rule

inf = numpy.inf


def cx(*shape: int, seed: int = 0) -> numpy.ndarray:
    rng = numpy.random.default_rng(seed)
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def real(*shape: int, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed + 100).standard_normal(shape)


def well(*shape: int, seed: int = 0) -> numpy.ndarray:
    """Complex square matrices ``(..., n, n)``, shifted by ``3 I``: far from singular."""
    return cx(*shape, seed=seed) + 3.0 * numpy.eye(shape[-1])


Case = tuple[str, Callable[..., Any], Callable[[], tuple[Any, ...]]]

PRODUCT_CASES: list[Case] = [
    ("matmul", np.matmul, lambda: (cx(2, 3), cx(3, 2, seed=1))),
    ("matmul stacked, broadcast", np.matmul, lambda: (cx(2, 2, 3), cx(3, 2, seed=1))),
    ("matmul vector @ matrix", np.matmul, lambda: (cx(3), cx(2, 3, 2, seed=1))),
    ("matmul real @ complex", np.matmul, lambda: (real(2, 3), cx(3, 2))),
    ("matmul complex @ real vector", np.matmul, lambda: (cx(2, 3), real(3))),
    ("dot vectors", np.dot, lambda: (cx(3), cx(3, seed=1))),
    ("dot scalar", np.dot, lambda: (numpy.array(1.5 - 2j), cx(2, 2))),
    ("dot 2-D by 3-D", np.dot, lambda: (cx(2, 3), real(2, 3, 2))),
    ("inner", np.inner, lambda: (cx(2, 3), cx(3, seed=1))),
    ("inner real, complex", np.inner, lambda: (real(4, 3), cx(2, 3))),
    ("outer", np.outer, lambda: (cx(3), real(2))),
    ("outer of matrices (flattened)", np.outer, lambda: (cx(2, 2), cx(3, seed=1))),
    ("tensordot axes 1", lambda a, b: np.tensordot(a, b, axes=1), lambda: (cx(2, 3), cx(3, 2))),
    ("tensordot axes pairs", lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 2])),
     lambda: (cx(2, 3, 2), real(3, 2, 2))),
    ("einsum matrix product", lambda a, b: np.einsum("ij,jk->ik", a, b),
     lambda: (cx(2, 3), cx(3, 2, seed=1))),
    ("einsum trace", lambda a: np.einsum("ii", a), lambda: (cx(3, 3),)),
    ("einsum batched, ellipsis", lambda a, b: np.einsum("...ij,...j->...i", a, b),
     lambda: (cx(2, 2, 3), real(3))),
    ("einsum three operands", lambda x, a, y: np.einsum("i,ij,j", x, a, y),
     lambda: (cx(2), real(2, 3), cx(3, seed=1))),
    ("kron", np.kron, lambda: (cx(2, 2), cx(2, seed=1))),
    ("kron real, complex", np.kron, lambda: (real(2), cx(3))),
    ("cross", np.cross, lambda: (cx(3), cx(3, seed=1))),
    ("cross broadcast, mixed", np.cross, lambda: (cx(2, 3), real(3))),
    ("cross of 2-vectors", np.cross, lambda: (cx(2, 2), cx(2, seed=1))),
    ("cross axes", lambda a, b: np.cross(a, b, axisa=0, axisc=0), lambda: (cx(3, 2), cx(2, 3))),
    ("vdot", np.vdot, lambda: (cx(3), cx(3, seed=1))),
    ("vdot of matrices", np.vdot, lambda: (cx(2, 2), cx(2, 2, seed=1))),
    ("vdot real, complex", np.vdot, lambda: (real(4), cx(4))),
    ("vdot complex, real", np.vdot, lambda: (cx(4), real(4))),
    ("vecdot", np.vecdot, lambda: (cx(2, 3), cx(3, seed=1))),
    ("vecdot axis 0 keepdims", lambda a, b: np.vecdot(a, b, axis=0, keepdims=True),
     lambda: (cx(3, 2), real(3, 1))),
    ("vecdot real, complex", np.vecdot, lambda: (real(2, 3), cx(3))),
]  # fmt: skip

LINALG_CASES: list[Case] = [
    ("inv", la.inv, lambda: (well(3, 3),)),
    ("inv stacked", la.inv, lambda: (well(2, 2, 2),)),
    ("solve vector", la.solve, lambda: (well(3, 3), cx(3))),
    ("solve matrix", la.solve, lambda: (well(3, 3), cx(3, 2))),
    ("solve stacked, broadcast", la.solve, lambda: (well(2, 2, 2), cx(2, 1))),
    ("solve real a, complex b", la.solve, lambda: (real(3, 3) + 3 * numpy.eye(3), cx(3))),
    ("solve complex a, real b", la.solve, lambda: (well(3, 3), real(3, 2))),
    ("det", la.det, lambda: (well(3, 3),)),
    ("det stacked", la.det, lambda: (well(2, 3, 3),)),
    ("det 1x1", la.det, lambda: (cx(1, 1),)),
    # exact at singular matrices, to second order: rank n-1 and rank n-2
    ("det rank 2 of 3", la.det, lambda: (cx(3, 2) @ cx(2, 3, seed=1),)),
    ("det rank 1 of 3", la.det, lambda: (numpy.outer(cx(3), cx(3, seed=1)),)),
    ("slogdet", lambda a: tuple(la.slogdet(a)), lambda: (well(3, 3),)),
    ("slogdet stacked", lambda a: tuple(la.slogdet(a)), lambda: (well(2, 2, 2),)),
    ("matrix_power 3", lambda a: la.matrix_power(a, 3), lambda: (cx(2, 2),)),
    ("matrix_power -2", lambda a: la.matrix_power(a, -2), lambda: (well(2, 2),)),
    ("matrix_power stacked", lambda a: la.matrix_power(a, 2), lambda: (cx(2, 2, 2),)),
    ("multi_dot", lambda u, a, b, v: la.multi_dot([u, a, b, v]),
     lambda: (cx(3), real(3, 4), cx(4, 2), cx(2, seed=1))),
    ("tensorsolve", la.tensorsolve, lambda: (well(4, 4).reshape(2, 2, 4), cx(2, 2))),
    ("tensorsolve axes", lambda a, b: la.tensorsolve(a, b, axes=(0,)),
     lambda: (well(4, 4).reshape(4, 2, 2).transpose(1, 0, 2), real(4))),
    ("tensorinv", lambda a: la.tensorinv(a, ind=1), lambda: (well(4, 4).reshape(4, 2, 2),)),
    ("pinv tall", la.pinv, lambda: (cx(3, 2),)),
    ("pinv wide, stacked", la.pinv, lambda: (cx(2, 2, 3),)),
    ("pinv hermitian", lambda a: la.pinv(a, hermitian=True), lambda: (well(3, 3),)),
    ("lstsq", lambda a, b: la.lstsq(a, b)[:2], lambda: (cx(4, 2), cx(4, 2, seed=1))),
    ("lstsq real b", lambda a, b: la.lstsq(a, b)[:2], lambda: (cx(4, 2), real(4))),
    ("lstsq real a", lambda a, b: la.lstsq(a, b)[:2], lambda: (real(4, 2), cx(4))),
    ("matrix_transpose", la.matrix_transpose, lambda: (cx(2, 2, 3),)),
    ("trace offset", lambda x: la.trace(x, offset=1), lambda: (cx(2, 3, 3),)),
    ("diagonal", la.diagonal, lambda: (cx(2, 3, 3),)),
    ("linalg.outer", la.outer, lambda: (cx(3), real(2))),
    ("linalg.cross", lambda a, b: la.cross(a, b, axis=0), lambda: (cx(3, 2), cx(3, 1))),
    ("linalg.vecdot", lambda a, b: la.vecdot(a, b, axis=0), lambda: (cx(3, 2), cx(3, 1))),
    ("linalg.matmul", la.matmul, lambda: (cx(2, 3), real(3, 2))),
    ("linalg.tensordot", lambda a, b: la.tensordot(a, b, axes=1), lambda: (cx(2, 3), cx(3))),
]  # fmt: skip

NORM_CASES: list[Case] = [
    *(
        (f"norm ord {o}", lambda x, o=o: la.norm(x, ord=o), lambda: (cx(4),))
        for o in (None, 1, 2, inf, -inf, 3, 0.5, -1.5)
    ),
    ("norm ord 0 (a count: derivative 0)", lambda x: la.norm(x, ord=0) * x, lambda: (cx(3),)),
    ("norm axis 1 keepdims", lambda x: la.norm(x, axis=1, keepdims=True), lambda: (cx(2, 3),)),
    ("norm of a matrix (Frobenius)", la.norm, lambda: (cx(2, 3),)),
    *(
        (f"norm matrix ord {o}", lambda x, o=o: la.norm(x, ord=o, axis=(-2, -1)),
         lambda: (cx(2, 3, 3),))
        for o in ("fro", 1, -1, inf, -inf)
    ),
    ("norm axes (2, 0) ord 1", lambda x: la.norm(x, ord=1, axis=(2, 0)), lambda: (cx(3, 2, 3),)),
    ("vector_norm axes (0, 2) ord 3 keepdims",
     lambda x: la.vector_norm(x, ord=3, axis=(0, 2), keepdims=True), lambda: (cx(2, 3, 2),)),
    ("vector_norm ord inf", lambda x: la.vector_norm(x, ord=inf), lambda: (cx(2, 3),)),
    ("matrix_norm", la.matrix_norm, lambda: (cx(2, 2, 3),)),
    ("matrix_norm ord -inf", lambda x: la.matrix_norm(x, ord=-inf), lambda: (cx(2, 3),)),
    *(
        (f"cond p {p}", lambda x, p=p: la.cond(x, p), lambda: (well(2, 3, 3),))
        for p in ("fro", 1, -1, inf, -inf)
    ),
]  # fmt: skip

# The matrix norms and condition numbers that come from singular values: right on complex
# values once `svd` is (it declares itself in linalg's COMPLEX).
SVD_CASES: list[Case] = [
    *(
        (f"norm matrix ord {o}", lambda x, o=o: la.norm(x, ord=o, axis=(-2, -1)),
         lambda: (cx(2, 3, 2),))
        for o in (2, -2, "nuc")
    ),
    ("matrix_norm nuc", lambda x: la.matrix_norm(x, ord="nuc"), lambda: (cx(3, 3),)),
    *((f"cond p {p}", lambda x, p=p: la.cond(x, p), lambda: (well(2, 3, 3),)) for p in (None, 2, -2)),
]  # fmt: skip

needs_complex_svd = pytest.mark.skipif(
    "svd" not in linalg_rules.COMPLEX, reason="svd is not yet checked on complex values"
)


@pytest.mark.parametrize(
    ("fun", "make"),
    [pytest.param(f, m, id=name) for name, f, m in PRODUCT_CASES + LINALG_CASES + NORM_CASES]
    + [pytest.param(f, m, id=name, marks=needs_complex_svd) for name, f, m in SVD_CASES],
)
def test_rules_on_complex_values(fun: Callable[..., Any], make: Callable[[], Any]) -> None:
    check_rule(fun, *make())


@pytest.mark.parametrize(
    ("fun", "make"),
    [pytest.param(f, m, id=name) for name, f, m in PRODUCT_CASES + LINALG_CASES + NORM_CASES],
)
def test_values_under_a_transform_are_numpys(
    fun: Callable[..., Any], make: Callable[[], Any]
) -> None:
    """The traced computation gives NumPy's own numbers (to rounding: it may take another
    route, as ``pinv(a) @ b`` for ``lstsq``)."""
    args = make()
    expected = fun(*args)  # plain arrays: NumPy's functions
    got, _ = cr.jvp(fun, args, tuple(numpy.ones_like(a) for a in args))
    for g, e in zip(cr.tree.leaves(got), cr.tree.leaves(expected), strict=True):
        assert numpy.asarray(g).dtype == numpy.asarray(e).dtype
        numpy.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ JAX's numbers

A = numpy.array([[1 + 2j, 0.5 - 1j], [0.3 + 0.2j, 2 - 1j]])
B = numpy.array([1 - 1j, 2 + 0.5j])


@pytest.mark.parametrize(
    ("fun", "args", "cotangent", "expected"),
    [
        (np.vdot, (B, B[::-1]), 1j, ([-0.5 - 2j, 1 - 1j], [-1 + 1j, 0.5 + 2j])),
        (np.vecdot, (B, B[::-1]), 1j, ([-0.5 - 2j, 1 - 1j], [-1 + 1j, 0.5 + 2j])),
        (la.vecdot, (B, B[::-1]), 1j, ([-0.5 - 2j, 1 - 1j], [-1 + 1j, 0.5 + 2j])),
        (la.det, (A,), 1j, ([[1 + 2j, 0.2 - 0.3j], [-1 - 0.5j, -2 + 1j]],)),
        (
            lambda a: tuple(la.slogdet(a)),
            (A,),
            (0.5 + 1j, 2.0),
            (
                [
                    [0.80932108 - 0.66485409j, -0.15782526 - 0.06011662j],
                    [-0.12427221 + 0.50873796j, 0.66485409 + 0.80932108j],
                ],
            ),
        ),
        (
            la.pinv,
            (A[:, :1],),
            numpy.array([[1j, 2.0]]),
            ([[-0.19759166 + 0.20025155j], [0.33058605 + 0.03951833j]],),
        ),
        (la.norm, (B,), 1.0, ([0.4 + 0.4j, 0.8 - 0.2j],)),
        (lambda x: la.norm(x, 1), (B,), 1.0, ([0.70710678 + 0.70710678j, 0.9701425 - 0.24253563j],)),
        (lambda x: la.norm(x, inf), (B,), 1.0, ([0, 0.9701425 - 0.24253563j],)),
        (lambda x: la.norm(x, 3), (B,), 1.0, ([0.27613749 + 0.27613749j, 0.80507222 - 0.20126805j],)),
        (lambda x: la.norm(x, 0.5), (B,), 1.0, ([1.56084502 + 1.56084502j, 1.77366085 - 0.44341521j],)),
        (
            lambda x: la.norm(x, 1),
            (A,),
            1.0,
            ([[0, 0.4472136 + 0.89442719j], [0, 0.89442719 + 0.4472136j]],),
        ),
        (
            lambda x: la.norm(x, inf),
            (A,),
            1.0,
            ([[0.4472136 - 0.89442719j, 0.4472136 + 0.89442719j], [0, 0]],),
        ),
        (
            la.norm,
            (A,),
            1.0,
            (
                [
                    [0.29643458 - 0.59286917j, 0.14821729 + 0.29643458j],
                    [0.08893038 - 0.05928692j, 0.59286917 + 0.29643458j],
                ],
            ),
        ),
    ],
    ids=[
        "vdot", "vecdot", "linalg.vecdot", "det", "slogdet", "pinv", "norm", "norm 1",
        "norm inf", "norm 3", "norm 0.5", "matrix norm 1", "matrix norm inf", "matrix norm fro",
    ],
)  # fmt: skip
def test_vjps_follow_jax(
    fun: Callable[..., Any], args: tuple[Any, ...], cotangent: Any, expected: tuple[Any, ...]
) -> None:
    out, back = cr.vjp(fun, *args)
    ct = cr.tree.map(lambda o, c: numpy.asarray(c, numpy.asarray(o).dtype), out, cotangent)
    for got, want in zip(back(ct), expected, strict=True):
        numpy.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-8)


@needs_complex_svd
@pytest.mark.parametrize(
    ("fun", "expected"),
    [
        (lambda x: la.norm(x, "nuc"), [[0.40169101 - 0.8863749j, 0.03104656 + 0.22807888j],
                                       [0.12701215 + 0.19196817j, 0.8863749 + 0.40169101j]]),
        (lambda x: la.norm(x, 2), [[0.26092337 - 0.41596112j, 0.34709792 + 0.48242461j],
                                   [0.06997787 - 0.39960394j, 0.41596112 + 0.26092337j]]),
        (lambda x: la.norm(x, -2), [[0.14076765 - 0.47041378j, -0.31605136 - 0.25434574j],
                                    [0.05703428 + 0.59157211j, 0.47041378 + 0.14076765j]]),
        (la.cond, [[0.00595435 + 0.25652159j, 0.55217104 + 0.5674815j],
                   [-0.01925283 - 0.88193241j, -0.25652159 + 0.00595435j]]),
    ],
    ids=["norm nuc", "norm 2", "norm -2", "cond"],
)  # fmt: skip
def test_gradients_through_singular_values_follow_jax(
    fun: Callable[..., Any], expected: Any
) -> None:
    numpy.testing.assert_allclose(cr.grad(fun)(A), expected, rtol=1e-7, atol=1e-8)


def test_lstsq_gradient_follows_jax() -> None:
    a = numpy.array([[1 + 2j, 0.5 - 1j], [0.3 + 0.2j, 2 - 1j], [1, 1j]])
    b = numpy.array([1 - 1j, 2 + 0.5j, 0.5])

    def f(a: Any, b: Any) -> Any:
        x, residuals, _, _ = la.lstsq(a, b)
        return (np.abs(x) ** 2).sum() + residuals.sum()

    ga, gb = cr.grad(f, argnums=(0, 1))(a, b)
    expected_a = [
        [-0.21755524 - 0.12117582j, 0.42797969 - 0.35779145j],
        [0.22811046 + 0.33538976j, -0.92489279 + 0.18021246j],
        [-0.2003788 + 0.41004727j, -0.67844228 - 0.7665107j],
    ]
    expected_b = [-0.34506435 + 0.81809736j, 1.064854 - 0.98199186j, 1.55711919 + 0.53679003j]
    numpy.testing.assert_allclose(ga, expected_a, rtol=1e-7, atol=1e-8)
    numpy.testing.assert_allclose(gb, expected_b, rtol=1e-7, atol=1e-8)


def test_slogdet_sign_moves_with_a_complex_matrix_as_jax() -> None:
    (sign, logabsdet), (dsign, dlog) = cr.jvp(
        lambda a: tuple(la.slogdet(a)), (A,), (numpy.full((2, 2), 1 + 1j),)
    )
    assert (sign, logabsdet) == tuple(numpy.linalg.slogdet(A))
    numpy.testing.assert_allclose(dsign, -0.37266804 + 0.42507449j, rtol=1e-7)
    numpy.testing.assert_allclose(dlog, 0.60519894, rtol=1e-7)
    assert numpy.isrealobj(dlog)

    def logabsdet(a: Any) -> Any:
        sign, logabsdet = la.slogdet(a)
        assert type(sign) is numpy.float64  # of a real matrix: piecewise constant, plain
        return logabsdet

    numpy.testing.assert_allclose(cr.grad(logabsdet)(A.real), numpy.linalg.inv(A.real).T)


# ------------------------------------------------------------------------ holomorphic=True

HOLOMORPHIC: list[tuple[str, Callable[..., Any], Callable[[], Any]]] = [
    ("matmul", lambda a: a @ a, lambda: cx(2, 2)),
    ("einsum", lambda a: np.einsum("ij,jk->ik", a, a), lambda: cx(2, 2)),
    ("kron", lambda a: np.kron(a, a), lambda: cx(2)),
    ("cross", lambda a: np.cross(a, a[::-1]), lambda: cx(3)),
    ("inv", la.inv, lambda: well(2, 2)),
    ("solve", lambda a: la.solve(a, a[:, 0]), lambda: well(2, 2)),
    ("det", la.det, lambda: well(3, 3)),
    ("matrix_power", lambda a: la.matrix_power(a, -3), lambda: well(2, 2)),
    ("tensorinv", lambda a: la.tensorinv(a, ind=1), lambda: well(4, 4).reshape(4, 2, 2)),
]


@pytest.mark.parametrize(("fun", "make"), [pytest.param(f, m, id=n) for n, f, m in HOLOMORPHIC])
def test_holomorphic_functions_have_complex_jacobians(
    fun: Callable[..., Any], make: Callable[[], Any]
) -> None:
    z = make()
    numeric = numerical_jacobian(fun, z)
    for jac in (cr.jacfwd, cr.jacrev):
        got = jac(fun, holomorphic=True)(z)
        assert got.shape == numpy.shape(fun(z)) + z.shape
        numpy.testing.assert_allclose(got.reshape(numeric.shape), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    ("fun", "culprit"),
    [
        (lambda z: np.vdot(z, z), "conjugate"),
        (lambda z: np.vecdot(z, z), "conjugate"),
        (lambda z: la.slogdet(z)[0], "slogdet"),
        (lambda z: la.pinv(z), "pinv"),
        (lambda z: la.norm(z) + 0j, "norm"),
        (lambda z: la.lstsq(z, z[:, 0])[0], "pinv"),
    ],
    ids=["vdot", "vecdot", "slogdet", "pinv", "norm", "lstsq"],
)
def test_holomorphic_true_refuses_what_is_not(fun: Callable[..., Any], culprit: str) -> None:
    for transform in (cr.jacfwd(fun, holomorphic=True), cr.jacrev(fun, holomorphic=True)):
        with pytest.raises(HolomorphicError, match=f"{culprit} is not holomorphic"):
            transform(well(2, 2))


# ------------------------------------------------------------------------ details


def test_numpy_vecdot_dispatches_to_the_differentiable_one() -> None:
    x, y = cx(2, 3), cx(3, seed=1)
    got = cr.grad(lambda x: numpy.vecdot(x, y).real.sum())(x)
    numpy.testing.assert_allclose(got, cr.grad(lambda x: np.vecdot(x, y).real.sum())(x))
    numpy.testing.assert_allclose(got, numpy.broadcast_to(numpy.conj(y), (2, 3)))


def test_vecdot_refuses_what_it_cannot_differentiate() -> None:
    f = lambda x: np.vecdot(x, x, out=numpy.empty(2, complex))
    with pytest.raises(TypeError, match="vecdot: `out=` is not supported"):
        cr.jvp(f, (cx(2, 3),), (cx(2, 3),))
    with pytest.raises(TypeError, match=r"vecdot: \['dtype'\] not supported"):
        cr.jvp(lambda x: np.vecdot(x, x, dtype=complex), (cx(2, 3),), (cx(2, 3),))
    for fun in (lambda x: np.vecdot(x[0], x), lambda x: np.vecdot(x, x[:1])):
        with pytest.raises(ValueError) as numpys:
            fun(cx(2))
        with pytest.raises(ValueError, match=re.escape(str(numpys.value))):
            cr.jvp(fun, (cx(2),), (cx(2),))


def test_lstsq_residuals_are_squared_moduli() -> None:
    a, b = cx(4, 2), cx(4)
    residuals, along_b = cr.jvp(lambda b: la.lstsq(a, b)[1], (b,), (b,))
    assert residuals.dtype == along_b.dtype == numpy.float64
    numpy.testing.assert_allclose(residuals, numpy.linalg.lstsq(a, b)[1], rtol=1e-12)
    numpy.testing.assert_allclose(along_b, 2 * residuals, rtol=1e-12)  # quadratic in b


def test_complex_checks_are_declared() -> None:
    assert tuple(sorted(products.COMPLEX)) == products.COMPLEX
    assert set(products.COMPLEX) <= set(products.__all__)
    assert set(linalg_rules.COMPLEX) <= set(linalg_rules.__all__)
    checked = {"cond", "det", "inv", "lstsq", "matrix_norm", "norm", "pinv", "slogdet", "solve"}
    assert checked <= set(linalg_rules.COMPLEX)
