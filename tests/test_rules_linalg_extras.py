"""NumPy 2's linalg additions (vector_norm, matrix_norm, svdvals, cond, tensorinv,
tensorsolve, the array-API names), through `check_rule`, plus values, conventions, errors.

Inputs are well conditioned and away from kinks where a derivative is checked against
differences: random vectors (no ties, no zeros), matrices with spaced singular values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.numpy.linalg as la
from chainrule.check import numerical_jacobian
from rulecheck import check_rule

inf = numpy.inf


def rand(*shape: int, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).standard_normal(shape)


def square(*shape: int, seed: int = 0) -> numpy.ndarray:
    return rand(*shape, seed=seed) + 3.0 * numpy.eye(shape[-1])


def spaced(*shape: int, seed: int = 0) -> numpy.ndarray:
    """Matrices ``(..., m, n)`` with singular values 1.5, 3, ..., spaced (distinct)."""
    m, n = shape[-2:]
    k = min(m, n)
    u = numpy.linalg.qr(rand(*shape[:-2], m, k, seed=seed))[0]
    v = numpy.linalg.qr(rand(*shape[:-2], n, k, seed=seed + 1))[0]
    return (u * (1.5 * numpy.arange(k, 0, -1))) @ numpy.swapaxes(v, -1, -2)


Case = tuple[str, Callable[..., Any], Callable[[], tuple[Any, ...]]]

CASES: list[Case] = [
    # vector_norm: every ord, one axis, several axes (flattened), all axes, keepdims
    ("vector_norm", la.vector_norm, lambda: (rand(2, 3),)),
    ("vector_norm ord 1", lambda x: la.vector_norm(x, ord=1), lambda: (rand(4),)),
    ("vector_norm ord 3", lambda x: la.vector_norm(x, ord=3), lambda: (rand(2, 2),)),
    ("vector_norm ord 0.5", lambda x: la.vector_norm(x, ord=0.5), lambda: (rand(4),)),
    ("vector_norm ord -1.5", lambda x: la.vector_norm(x, ord=-1.5), lambda: (rand(4),)),
    ("vector_norm ord inf", lambda x: la.vector_norm(x, ord=inf), lambda: (rand(2, 3),)),
    ("vector_norm ord -inf", lambda x: la.vector_norm(x, ord=-inf), lambda: (rand(4),)),
    ("vector_norm ord 0", lambda x: la.vector_norm(x, ord=0) * x, lambda: (rand(3),)),
    ("vector_norm scalar", la.vector_norm, lambda: (numpy.array(-1.5),)),
    ("vector_norm axis 0", lambda x: la.vector_norm(x, axis=0), lambda: (rand(3, 4),)),
    ("vector_norm axis -1 keepdims", lambda x: la.vector_norm(x, axis=-1, keepdims=True),
     lambda: (rand(2, 3, 4),)),
    ("vector_norm axes (2, 0)", lambda x: la.vector_norm(x, axis=(2, 0)),
     lambda: (rand(3, 2, 4),)),
    ("vector_norm axes (0, -1) ord 3 keepdims",
     lambda x: la.vector_norm(x, axis=(0, -1), keepdims=True, ord=3), lambda: (rand(3, 2, 4),)),
    ("vector_norm axes three", lambda x: la.vector_norm(x, axis=(0, 1, 2), ord=1),
     lambda: (rand(2, 3, 2),)),
    ("vector_norm all keepdims ord inf", lambda x: la.vector_norm(x, keepdims=True, ord=inf),
     lambda: (rand(2, 3),)),
    # matrix_norm: every ord, stacks, keepdims
    ("matrix_norm", la.matrix_norm, lambda: (rand(3, 4),)),
    ("matrix_norm stack keepdims", lambda x: la.matrix_norm(x, keepdims=True),
     lambda: (rand(2, 3, 4),)),
    ("matrix_norm 1", lambda x: la.matrix_norm(x, ord=1), lambda: (rand(2, 3, 4),)),
    ("matrix_norm -1", lambda x: la.matrix_norm(x, ord=-1), lambda: (rand(3, 4),)),
    ("matrix_norm inf keepdims", lambda x: la.matrix_norm(x, ord=inf, keepdims=True),
     lambda: (rand(2, 3, 4),)),
    ("matrix_norm -inf", lambda x: la.matrix_norm(x, ord=-inf), lambda: (rand(3, 4),)),
    ("matrix_norm 2", lambda x: la.matrix_norm(x, ord=2), lambda: (spaced(2, 4, 3),)),
    ("matrix_norm -2", lambda x: la.matrix_norm(x, ord=-2), lambda: (spaced(3, 4),)),
    ("matrix_norm nuc keepdims", lambda x: la.matrix_norm(x, ord="nuc", keepdims=True),
     lambda: (spaced(2, 3, 4),)),
    # svdvals
    ("svdvals tall", la.svdvals, lambda: (spaced(4, 3),)),
    ("svdvals wide stack", la.svdvals, lambda: (spaced(2, 3, 4),)),
    # cond: every p
    ("cond", la.cond, lambda: (spaced(3, 3),)),
    ("cond tall", la.cond, lambda: (spaced(4, 3),)),
    ("cond 2 stack", lambda x: la.cond(x, 2), lambda: (spaced(2, 3, 3),)),
    ("cond -2 wide", lambda x: la.cond(x, -2), lambda: (spaced(3, 4),)),
    ("cond 1", lambda x: la.cond(x, 1), lambda: (square(3, 3),)),
    ("cond -1 stack", lambda x: la.cond(x, -1), lambda: (square(2, 3, 3),)),
    ("cond inf", lambda x: la.cond(x, inf), lambda: (square(3, 3),)),
    ("cond -inf", lambda x: la.cond(x, -inf), lambda: (square(3, 3),)),
    ("cond fro stack", lambda x: la.cond(x, "fro"), lambda: (square(2, 3, 3),)),
    ("cond nuc", lambda x: la.cond(x, "nuc"), lambda: (spaced(3, 3),)),
    # tensorinv, tensorsolve
    ("tensorinv ind 1", lambda a: la.tensorinv(a, ind=1),
     lambda: (square(6, 6).reshape(6, 2, 3),)),
    ("tensorinv ind 2", la.tensorinv, lambda: (square(6, 6).reshape(2, 3, 3, 2),)),
    ("tensorsolve", la.tensorsolve,
     lambda: (square(6, 6).reshape(2, 3, 6), rand(2, 3, seed=1))),
    ("tensorsolve axes", lambda a, b: la.tensorsolve(a, b, axes=(0, 2)),
     lambda: (square(6, 6).reshape(2, 3, 3, 2), rand(3, 2, seed=1))),
    # the array-API names
    ("matrix_transpose", la.matrix_transpose, lambda: (rand(2, 3, 4),)),
    ("trace", la.trace, lambda: (rand(2, 3, 3),)),
    ("trace offset", lambda x: la.trace(x, offset=-1), lambda: (rand(3, 4),)),
    ("diagonal", la.diagonal, lambda: (rand(2, 3, 4),)),
    ("diagonal offset", lambda x: la.diagonal(x, offset=1), lambda: (rand(3, 4),)),
    ("outer", la.outer, lambda: (rand(3), rand(2, seed=1))),
    ("vecdot", la.vecdot, lambda: (rand(2, 3), rand(3, seed=1))),
    ("vecdot axis 0", lambda a, b: la.vecdot(a, b, axis=0), lambda: (rand(3, 2), rand(3, 1))),
    ("vecdot axis 0, 1-D", lambda a, b: la.vecdot(a, b, axis=0), lambda: (rand(3, 2), rand(3))),
    ("cross", la.cross, lambda: (rand(2, 3), rand(3, seed=1))),
    ("cross axis 0", lambda a, b: la.cross(a, b, axis=0), lambda: (rand(3, 2), rand(3, 2, seed=1))),
    ("matmul", la.matmul, lambda: (rand(2, 3, 4), rand(4, seed=1))),
    ("tensordot", la.tensordot, lambda: (rand(2, 3, 4), rand(3, 4, 2, seed=1))),
    ("tensordot axes", lambda a, b: la.tensordot(a, b, axes=([0], [1])),
     lambda: (rand(3, 2), rand(2, 3, seed=1))),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "make"), CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, fun: Callable[..., Any], make: Callable[[], tuple[Any, ...]]) -> None:
    check_rule(fun, *make())


@pytest.mark.parametrize(("name", "fun", "make"), CASES, ids=[c[0] for c in CASES])
def test_traced_value_is_numpys(
    name: str, fun: Callable[..., Any], make: Callable[[], tuple[Any, ...]]
) -> None:
    """The value under a transform is the plain call's, which is NumPy's own function
    (`test_plain_values_are_numpys`), to rounding, in its shape and dtype."""
    args = make()
    plain = fun(*args)
    traced, _ = cr.jvp(fun, args, tuple(numpy.ones_like(a) for a in args))
    eps = numpy.finfo(numpy.float64).eps
    numpy.testing.assert_allclose(traced, plain, rtol=64 * eps, atol=0)
    assert numpy.shape(traced) == numpy.shape(plain)
    assert numpy.asarray(traced).dtype == numpy.asarray(plain).dtype


# Batched tangents at second order: Hessians (forward over reverse) against differences.
HESSIAN_CASES = [
    ("vector_norm axes", lambda x: la.vector_norm(x, axis=(0, 1), ord=3).sum(), rand(2, 2, 2)),
    ("matrix_norm inf", lambda x: la.matrix_norm(x, ord=inf) + la.matrix_norm(x), rand(3, 2)),
    ("cond", la.cond, spaced(3, 3)),
    ("cond 1", lambda x: la.cond(x, 1), square(3, 3)),
    ("tensorsolve", lambda a: cnp.sum(la.tensorsolve(a, numpy.ones(2)) ** 2), square(2, 2)),
    ("tensorinv", lambda a: cnp.sum(la.tensorinv(a, 1) * rand(2, 2, 4)), square(4, 4).reshape(4, 2, 2)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "x"), HESSIAN_CASES, ids=[c[0] for c in HESSIAN_CASES])
def test_hessian(name: str, fun: Callable[..., Any], x: numpy.ndarray) -> None:
    numeric = numerical_jacobian(cr.grad(fun), x, h=1e-5).reshape(x.shape * 2)
    numpy.testing.assert_allclose(cr.hessian(fun)(x), numeric, atol=1e-6, rtol=1e-6)


PLAIN = [
    ("vector_norm", lambda x: la.vector_norm(x, axis=(0, 2), ord=3, keepdims=True),
     lambda x: numpy.linalg.vector_norm(x, axis=(0, 2), ord=3, keepdims=True)),
    ("matrix_norm", lambda x: la.matrix_norm(x, ord="nuc"),
     lambda x: numpy.linalg.matrix_norm(x, ord="nuc")),
    ("svdvals", la.svdvals, numpy.linalg.svdvals),
    ("cond", lambda x: la.cond(x[0, :2], inf), lambda x: numpy.linalg.cond(x[0, :2], inf)),
    ("tensorinv", lambda x: la.tensorinv(x[:, :2, :2], 1),
     lambda x: numpy.linalg.tensorinv(x[:, :2, :2], 1)),
    ("matrix_rank", la.matrix_rank, numpy.linalg.matrix_rank),
    ("trace", la.trace, numpy.linalg.trace),
    ("eigvals", lambda x: la.eigvals(x[0, :2]), lambda x: numpy.linalg.eigvals(x[0, :2])),
]  # fmt: skip


@pytest.mark.parametrize(("name", "ours", "numpys"), PLAIN, ids=[c[0] for c in PLAIN])
def test_plain_values_are_numpys(name: str, ours: Any, numpys: Any) -> None:
    x = rand(4, 2, 2)
    numpy.testing.assert_array_equal(ours(x), numpys(x))


def test_every_numpy_linalg_function_has_ours() -> None:
    """Every function of NumPy's linalg is chainrule's own: differentiable, passing through
    (matrix_rank), never NumPy's bare one."""
    names = [n for n in numpy.linalg.__all__ if n != "LinAlgError"]
    assert [n for n in names if getattr(la, n) is getattr(numpy.linalg, n)] == []


# ----------------------------------------------------------------------------- conventions


def test_vector_norm_conventions_are_norms() -> None:
    """At 0 and at ties, vector_norm's derivatives are those of `norm` (module docstring)."""
    tied = numpy.array([[1.0, -3.0], [3.0, 0.0]])
    for x in (numpy.zeros((2, 2)), tied):
        for ord in (2, 1, 3, 0.5, inf, -inf, 0):
            ours = cr.grad(lambda x, o=ord: la.vector_norm(x, ord=o))(x)
            theirs = cr.grad(lambda x, o=ord: la.norm(x.reshape(-1), o))(x).reshape(2, 2)
            numpy.testing.assert_array_equal(ours, theirs)
    assert not cr.grad(la.vector_norm)(numpy.zeros(3)).any()
    # the inf-norm's tied entries share its derivative
    numpy.testing.assert_array_equal(
        cr.grad(lambda x: la.vector_norm(x, ord=inf))(tied), [[0.0, -0.5], [0.5, 0.0]]
    )


def test_cond_is_its_formula() -> None:
    """d cond = d(s₁/sₙ): for a diagonal matrix diag(4, 1), (1, -4) on the diagonal."""
    a = numpy.diag([4.0, 1.0])
    for p in (None, 2, 1, inf, -inf, -1):
        g = cr.grad(lambda x, p=p: la.cond(x, p))(a)
        if p in (-1, -inf):  # min(|a₁|, |a₂|) min(1/|a₁|, 1/|a₂|) = a₂/a₁ near diag(4, 1)
            numpy.testing.assert_allclose(g, numpy.diag([-1 / 16, 0.25]))
        else:
            numpy.testing.assert_allclose(g, numpy.diag([1.0, -4.0]))


def test_matrix_rank_passes_through() -> None:
    """matrix_rank is piecewise constant: under a transform it is NumPy's (a plain integer)."""

    def f(x: Any) -> Any:
        rank = la.matrix_rank(x)
        assert isinstance(rank, (int, numpy.integer))
        return rank * cnp.sum(x)

    numpy.testing.assert_array_equal(cr.grad(f)(numpy.eye(3)), 3.0 * numpy.ones((3, 3)))


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", ["eig", "eigvals"])
def test_eig_outside_a_transform_is_numpys(name: str) -> None:
    """(Their derivatives: tests/test_complex_decompositions.py.)"""
    fun = getattr(la, name)
    ours, numpys = fun(square(2, 2)), getattr(numpy.linalg, name)(square(2, 2))
    assert type(ours) is type(numpys)
    numpy.testing.assert_array_equal(ours[0], numpys[0])
    with pytest.raises(numpy.linalg.LinAlgError):
        fun(numpy.ones(3))


@pytest.mark.parametrize("p", [None, 2, 1, -1, inf, "fro", "nuc"])
def test_cond_at_a_singular_matrix(p: Any) -> None:
    """The derivative does not exist (nor is it accurate when numerically singular)."""
    singular = numpy.array([[1.0, 2.0], [2.0, 4.0]])
    if p != "nuc":  # (NumPy's own cond raises there: "SVD did not converge")
        assert la.cond(singular, p) > 1e15  # NumPy's value: inf, or huge after rounding
    with pytest.raises(numpy.linalg.LinAlgError, match=r"linalg\.cond: .*singular"):
        cr.grad(lambda x: la.cond(x, p))(singular)


def test_cond_minus_2_at_a_singular_matrix_is_finite() -> None:
    """``s_min / s_max`` is 0 there, with derivative ``u vᵀ / s_max`` (u, v of s_min)."""
    singular = numpy.array([[1.0, 2.0], [2.0, 4.0]])
    u = numpy.array([2.0, -1.0]) / numpy.sqrt(5.0)
    numpy.testing.assert_allclose(
        cr.grad(lambda x: la.cond(x, -2))(singular), numpy.outer(u, u) / 5.0, atol=1e-15
    )


def test_cond_zero_matrix_raises_even_for_p_minus_2() -> None:
    with pytest.raises(numpy.linalg.LinAlgError, match=r"linalg\.cond"):
        cr.grad(lambda x: la.cond(x, -2))(numpy.zeros((2, 2)))


BAD = [
    ("vector_norm duplicate axes", lambda x: la.vector_norm(x, axis=(0, 0)), rand(2, 3),
     ValueError),
    ("vector_norm bad ord", lambda x: la.vector_norm(x, ord="fro"), rand(3), ValueError),
    ("matrix_norm bad ord", lambda x: la.matrix_norm(x, ord=3), rand(3, 3), ValueError),
    ("cond bad p", lambda x: la.cond(x, 3), square(3, 3), ValueError),
    ("cond non-square p=1", lambda x: la.cond(x, 1), rand(3, 2), numpy.linalg.LinAlgError),
    ("cond empty", la.cond, numpy.ones((0, 0)), numpy.linalg.LinAlgError),
    ("cond vector", la.cond, rand(3), numpy.linalg.LinAlgError),
    ("tensorinv ind 0", lambda x: la.tensorinv(x, ind=0), square(2, 2), ValueError),
    ("tensorsolve shapes", lambda x: la.tensorsolve(x, numpy.ones(2)), rand(2, 3),
     numpy.linalg.LinAlgError),
    ("matrix_transpose 1-D", la.matrix_transpose, rand(3), ValueError),
    ("outer 2-D", lambda x: la.outer(x, x), rand(2, 2), ValueError),
    ("cross 2-vectors", lambda x: la.cross(x, x), rand(2), ValueError),
    ("vecdot core sizes", lambda x: la.vecdot(x, x[:1]), rand(3), ValueError),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "x", "error"), BAD, ids=[c[0] for c in BAD])
def test_bad_input_raises_numpys_error(name: str, fun: Any, x: Any, error: type) -> None:
    """Bad input raises the error NumPy raises, inside a transform as outside."""
    with pytest.raises(error):
        fun(x)
    with pytest.raises(error):
        cr.grad(lambda x: cnp.sum(fun(x)))(x)
