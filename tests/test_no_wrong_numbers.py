"""Issue 10's findings in the engine: each input here once gave a wrong number, silently.

Every test states the right answer (from the mathematics, or NumPy outside a transform) or
the error that must replace a wrong answer.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.numpy.rules import nondiff
from chainrule.scipy import special
from rulecheck import check_rule

# ------------------------------------------------------- functions that once dropped a derivative


def test_fill_values_and_weights_are_differentiable() -> None:
    idx = numpy.array([0, 2, 2, 1, 2])
    weights = numpy.arange(6.0).reshape(2, 3)
    # (full_like takes the dtype of its float64 template, bincount sums in float64: float32=False)
    check_rule(lambda v: np.full_like(numpy.zeros((2, 3)), v) * weights, 1.5, float32=False)
    check_rule(lambda v: np.full((2, 2), v) ** 2, 0.7)
    check_rule(lambda w: np.bincount(idx, weights=w, minlength=4) ** 2, numpy.linspace(0, 1, 5),
               float32=False)  # fmt: skip
    # (with distinct entries: central differences would split tied ones into new values)
    check_rule(lambda x: np.unique(x) ** 3, numpy.array([2.0, 1.0, 0.25, 0.5]), vmap=False,
               jit=False)  # fmt: skip
    # the values are NumPy's, dtype included (bincount sums weights in float64)
    w = numpy.linspace(0, 1, 5, dtype=numpy.float32)
    out = cr.jvp(lambda w: np.bincount(idx, weights=w), (w,), (w,))[0]
    numpy.testing.assert_array_equal(out, numpy.bincount(idx, weights=w))
    assert out.dtype == numpy.bincount(idx, weights=w).dtype
    values = np.unique(numpy.array([3.0, 1.0, 3.0]))
    traced = cr.jvp(lambda x: np.unique(x, return_counts=True)[0], (numpy.array([3.0, 1.0, 3.0]),),
                    (numpy.array([1.0, 2.0, 4.0]),))  # fmt: skip
    numpy.testing.assert_array_equal(traced[0], values)
    numpy.testing.assert_array_equal(traced[1], [2.0, 1.0])  # each value's first occurrence


def test_histogram_refuses_what_it_cannot_differentiate() -> None:
    x = numpy.array([0.1, 0.5, 0.7])
    with pytest.raises(TypeError, match="histogram: the weights would silently drop"):
        cr.grad(lambda w: np.sum(np.histogram(x, weights=w)[0]))(x)
    with pytest.raises(TypeError, match="histogram: the bin edges"):
        cr.grad(lambda a: np.sum(np.histogram(a)[1]))(x)
    # counts against fixed edges are piecewise constant: derivative 0, correctly
    edges = numpy.linspace(0, 1, 4)
    assert cr.grad(lambda a: np.sum(np.histogram(a, bins=edges)[0] * a))(x).tolist() == [1, 1, 1]


# Every non-differentiable name, with a call and a point away from its jumps: its result must be
# locally constant in the traced argument (central differences vanish), so derivative 0 is right.
BINARY_NONDIFF = """equal not_equal less less_equal greater greater_equal logical_and logical_or
logical_xor floor_divide isclose allclose array_equal array_equiv"""
UNARY_NONDIFF = """logical_not isnan isinf isfinite isneginf isposinf signbit floor ceil trunc
rint fix round around argmax argmin argsort argwhere nonzero flatnonzero count_nonzero shape ndim
size zeros_like ones_like empty_like all any isreal iscomplex result_type iscomplexobj isrealobj"""
NONDIFF_CALLS: dict[str, Callable[[Any], Any]] = {
    **{n: (lambda x, n=n: getattr(np, n)(x, 0.3)) for n in BINARY_NONDIFF.split()},
    **{n: (lambda x, n=n: getattr(np, n)(x)) for n in UNARY_NONDIFF.split()},
    "searchsorted": lambda x: np.searchsorted(numpy.array([0.0, 0.5, 1.0]), x),
    "digitize": lambda x: np.digitize(x, numpy.array([0.0, 0.5, 1.0])),
    "isin": lambda x: np.isin(x, numpy.array([0.0, 0.5, 1.0])),
    "can_cast": lambda x: np.can_cast(x, numpy.float32),
    "invert": lambda x: np.invert(x > 0.5),
    "bitwise_not": lambda x: np.bitwise_not(x > 0.5),
    **{
        n: (lambda x, n=n: getattr(np, n)(x > 0.5, x < 0.2))
        for n in ("bitwise_and", "bitwise_or", "bitwise_xor")
    },
    **{  # (shifts of integers, here of the integer part of 8x)
        n: (lambda x, n=n: getattr(np, n)(np.floor(8 * x).astype(int), 1))
        for n in ("left_shift", "right_shift", "bitwise_left_shift", "bitwise_right_shift")
    },
}


def test_every_nondifferentiable_name_is_audited() -> None:
    assert set(nondiff.__all__) - {"histogram"} == set(NONDIFF_CALLS)


@pytest.mark.parametrize("name", sorted(NONDIFF_CALLS))
def test_nondifferentiable_results_are_locally_constant(name: str) -> None:
    call = NONDIFF_CALLS[name]
    x = numpy.array([0.13, 0.71, 0.42])
    if name in ("empty_like",):
        return  # its values are unspecified; only its shape and dtype (constant) matter
    for h in (1e-7, -1e-7):
        before, after = call(x), call(x + h)
        for b, a in zip(cr.tree.leaves(before), cr.tree.leaves(after), strict=True):
            numpy.testing.assert_array_equal(numpy.asarray(a), numpy.asarray(b))


# --------------------------------------------------------------------------------- gates select

SQRT_OF_GATE = {  # sqrt(gate(x)), where at x = -1 the gate picks a constant 0 and sqrt' = inf
    "maximum(x, 0)": lambda x: np.sqrt(np.maximum(x, 0.0)),
    "maximum(0, x)": lambda x: np.sqrt(np.maximum(0.0, x)),
    "fmax(x, 0)": lambda x: np.sqrt(np.fmax(x, 0.0)),
    "-minimum(-x, 0)": lambda x: np.sqrt(-np.minimum(-x, 0.0)),
    "fmin": lambda x: np.sqrt(-np.fmin(0.0, -x)),
    "clip": lambda x: np.sqrt(np.clip(x, 0.0, 5.0)),
    "double where": lambda x: np.where(x > 0, np.sqrt(np.where(x > 0, x, 0.0)), 0.0),
    "max reduction": lambda x: np.sqrt(np.max(np.stack([x, numpy.zeros_like(x)]), axis=0)),
    "min reduction": lambda x: np.sqrt(-np.min(np.stack([-x, numpy.zeros_like(x)]), axis=0)),
    "sort": lambda x: np.sqrt(np.sort(np.stack([x, numpy.zeros_like(x)]), axis=0)[1]),
    "abs at 0": lambda x: np.sqrt(np.abs(x + 1.0)),  # abs'(0) = 0 selects away sqrt'(0) = inf
}


@pytest.mark.parametrize("name", sorted(SQRT_OF_GATE))
def test_gates_select_the_cotangent_instead_of_multiplying(name: str) -> None:
    # Reverse mode: sqrt's cotangent is infinite at 0, and the gate must not pass inf * 0 = NaN
    # to an entry it did not select (JAX and PyTorch give 0).
    f = SQRT_OF_GATE[name]
    x = numpy.array([-1.0, 4.0])
    expected = numpy.array([0.0, 0.25])
    if name == "abs at 0":
        expected = numpy.array([0.0, 0.5 / numpy.sqrt(5.0)])
    numpy.testing.assert_allclose(cr.grad(lambda v: np.sum(f(v)))(x), expected, rtol=1e-15)
    numpy.testing.assert_allclose(numpy.diag(cr.jacrev(f)(x)), expected, rtol=1e-15)


GATE_OF_SQRT = {  # gate(sqrt(x)): at x = 0 the gate picks a constant and sqrt's tangent is inf
    "maximum": lambda x: np.maximum(np.sqrt(x), 1.0),
    "maximum, constant first": lambda x: np.maximum(1.0, np.sqrt(x)),
    "minimum": lambda x: np.minimum(-np.sqrt(x), -1.0),
    "fmax": lambda x: np.fmax(np.sqrt(x), 1.0),
    "fmin": lambda x: np.fmin(-1.0, -np.sqrt(x)),
    "clip": lambda x: np.clip(np.sqrt(x), 1.0, 2.0),
    "where": lambda x: np.where(x > 0, np.sqrt(x), 1.0),
    "max reduction": lambda x: np.max(np.stack([np.sqrt(x), numpy.ones_like(x)]), axis=0),
    "sort": lambda x: np.sort(np.stack([np.sqrt(x), numpy.ones_like(x)]), axis=0)[1],
}


@pytest.mark.parametrize("name", sorted(GATE_OF_SQRT))
def test_gates_select_the_tangent_instead_of_multiplying(name: str) -> None:
    f = GATE_OF_SQRT[name]
    x = numpy.array([0.0, 9.0])
    jac = cr.jacfwd(f)(x)
    assert jac[0, 0] == 0.0 and numpy.isfinite(jac).all()
    assert cr.jvp(f, (x,), (numpy.array([1.0, 0.0]),))[1].tolist() == [0.0, 0.0]


# ------------------------------------------------------------------------------ argnums and dtypes
# ------------------------------------------------------------------------------ argnums and dtypes


@pytest.mark.parametrize(("argnums", "match"), [((0, 0), "more than once"), ((), "nothing")])
def test_argnums_that_make_no_sense_are_refused(argnums: Any, match: str) -> None:
    for transform in (cr.grad, cr.value_and_grad, cr.jacfwd, cr.jacrev, cr.hessian):
        with pytest.raises(ValueError, match=match):
            transform(lambda a, b: a * b, argnums=argnums)(2.0, 3.0)


BAD_TANGENTS = {
    "int": numpy.array([1]),
    "bool": numpy.array([True]),
    "int8": numpy.array([100], numpy.int8),
    "complex": numpy.array([1j]),
    "object": numpy.array([None]),
    "float32 for float64": numpy.array([1.0], numpy.float32),
    "string": "1.0",
}


@pytest.mark.parametrize("kind", sorted(BAD_TANGENTS))
def test_tangents_and_cotangents_of_another_dtype_are_refused(kind: str) -> None:
    t = BAD_TANGENTS[kind]
    x = numpy.array([1.0])
    with pytest.raises(TypeError, match="must"):
        cr.jvp(lambda v: v * 2, (x,), (t,))
    with pytest.raises(TypeError, match="must"):
        cr.vjp(lambda v: v * 2, x)[1](t)
    with pytest.raises(TypeError, match="must"):
        cr.linearize(lambda v: v * 2, x)[1](t)


def test_python_numbers_are_weakly_typed_tangents() -> None:
    x32 = numpy.float32(2.0)
    t = cr.jvp(lambda v: v * 3, (x32,), (1.0,))[1]
    assert t == 3.0 and numpy.asarray(t).dtype == numpy.float32


def test_gradients_take_the_dtype_of_their_parameter() -> None:
    w = numpy.ones(3, numpy.float32)
    data = numpy.array([0.5, 1.0, 2.0])  # float64 data promotes the loss to float64

    def loss(w: Any) -> Any:
        return np.sum(np.tanh(w * data))

    assert numpy.asarray(loss(w)).dtype == numpy.float64
    assert cr.grad(loss)(w).dtype == numpy.float32
    assert cr.value_and_grad(loss)(w)[1].dtype == numpy.float32
    assert cr.vjp(loss, w)[1](numpy.float64(1.0))[0].dtype == numpy.float32
    assert cr.jacrev(lambda w: np.tanh(w * data))(w).dtype == numpy.float32
    assert cr.hessian(loss)(w).dtype == numpy.float32
    numpy.testing.assert_allclose(cr.grad(loss)(w), data / numpy.cosh(data) ** 2, rtol=1e-6)


LOW = [numpy.float32, numpy.float16, ml_dtypes.bfloat16]
DTYPE_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "x * 2.5 + 1": lambda x: x * 2.5 + 1.0,
    "1 - x": lambda x: 1.0 - x,
    "2 / x": lambda x: 2.0 / x,
    "x ** 2.0": lambda x: x**2.0,
    "2.0 ** x": lambda x: 2.0**x,
    "sum * 2.5": lambda x: np.sum(x) * 2.5,
    "mean ** 0.5": lambda x: np.mean(x) ** 0.5,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "tanh": np.tanh,
    "var": np.var,
    "std": np.std,
    "prod": np.prod,
    "max": np.max,
    "clip": lambda x: np.clip(x, 0.1, 0.5),
    "maximum": lambda x: np.maximum(x, 0.2),
    "where": lambda x: np.where(x > 0.3, x, 1.0),
    "cumsum": np.cumsum,
    "x @ x": lambda x: x @ x,
    "hypot": lambda x: np.hypot(x, 2.0),
    "expit": special.expit,
    "softmax": special.softmax,
    "norm": np.linalg.norm,
    "sinc": np.sinc,
}


@pytest.mark.parametrize("dtype", LOW, ids=lambda d: numpy.dtype(d).name)
@pytest.mark.parametrize("name", sorted(DTYPE_FUNCTIONS))
def test_dtypes_under_a_transform_equal_numpys_outside(name: str, dtype: Any) -> None:
    f = DTYPE_FUNCTIONS[name]
    x = numpy.array([0.1, 0.4, 0.7], dtype)
    expected = numpy.asarray(f(x)).dtype  # plain NumPy (chainrule.numpy is NumPy outside)
    out, tangent = cr.jvp(f, (x,), (numpy.ones(3, dtype),))
    assert numpy.asarray(out).dtype == expected
    assert numpy.asarray(tangent).dtype == expected
    assert cr.grad(lambda v: np.sum(f(v)))(x).dtype == numpy.dtype(dtype)


@pytest.mark.parametrize("dtype", [numpy.float16, ml_dtypes.bfloat16, numpy.float32])
def test_casting_between_float_dtypes_keeps_the_derivative(dtype: Any) -> None:
    x = numpy.array([1.0, 2.0])

    def f(v: Any) -> Any:
        return np.sum(v.astype(dtype) * 3.0).astype(numpy.float64)

    numpy.testing.assert_array_equal(cr.grad(f)(x), [3.0, 3.0])
    assert cr.jvp(f, (x,), (numpy.array([1.0, 1.0]),))[1] == 6.0
    numpy.testing.assert_array_equal(cr.grad(lambda v: np.sum(np.astype(v, dtype)))(x), [1, 1])


def test_casting_to_an_integer_has_derivative_zero() -> None:
    x = numpy.array([1.2, 2.7])
    numpy.testing.assert_array_equal(cr.grad(lambda v: np.sum(v.astype(int) * v))(x), [1.0, 2.0])
    numpy.testing.assert_array_equal(cr.grad(lambda v: np.sum(np.array(v, dtype=int) * v))(x),
                                     [1.0, 2.0])  # fmt: skip


# ------------------------------------------------------------------------------ leaked tracers


def test_a_tracer_used_after_its_transform_has_ended_is_an_error() -> None:
    leaked: list[Any] = []

    def keep(x: Any) -> Any:
        leaked.append(x)
        return x * 1.0

    cr.grad(keep)(1.0)
    with pytest.raises(TypeError, match=r"traced by grad of `keep` after that transform"):
        cr.grad(lambda y: y * leaked[0])(2.0)
    with pytest.raises(TypeError, match="leaked out"):
        _ = leaked[0] * 2.0
    cr.jvp(keep, (1.0,), (1.0,))
    with pytest.raises(TypeError, match=r"traced by jvp of `keep`"):
        np.sin(leaked[1])


def test_values_inside_a_running_transform_are_not_leaks() -> None:
    # An outer tracer used inside an inner transform is alive: no error, the right number.
    def outer(x: Any) -> Any:
        return cr.grad(lambda y: y * x * y)(3.0)  # d/dy (x y^2) = 2 x y

    assert cr.grad(outer)(2.0) == 6.0


# ------------------------------------------------------------------------------- shape errors


def test_shape_errors_name_the_shapes_and_the_function() -> None:
    def product(a: Any) -> Any:
        return np.sum(a @ a)

    with pytest.raises(ValueError, match=r"grad of `product`: .*matmul of shapes \(2, 3\) and "
                       r"\(2, 3\): the last axis of the first operand \(3\)"):  # fmt: skip
        cr.grad(product)(numpy.ones((2, 3)))
    with pytest.raises(ValueError, match=r"jvp of .*add of shapes \(2,\) and \(3,\)"):
        cr.jvp(lambda a: a + numpy.ones(3), (numpy.ones(2),), (numpy.ones(2),))


# ------------------------------------------------------------------------------ threads


def test_the_first_dispatch_from_many_threads_at_once_finds_every_rule() -> None:
    # The NumPy -> chainrule dispatch table is built on first use: in a fresh process, so that
    # eight threads race to build it.
    script = textwrap.dedent(
        """
        import threading, numpy
        import chainrule as cr
        barrier = threading.Barrier(8)
        errors = []
        def work():
            barrier.wait()
            try:
                assert cr.grad(lambda x: numpy.sum(numpy.sin(x)))(numpy.zeros(3)).tolist() == [1, 1, 1]
            except Exception as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=work) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(len(errors), errors[:1])
        """
    )
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("0 "), done.stdout


# ------------------------------------------------------------------------ nondiff under vmap


def test_index_functions_along_an_axis_under_vmap() -> None:
    x = numpy.random.default_rng(4).standard_normal((3, 4, 5))
    numpy.testing.assert_array_equal(cr.vmap(np.argmax)(x), x.reshape(3, -1).argmax(axis=1))
    numpy.testing.assert_array_equal(cr.vmap(lambda v: np.argsort(v, axis=0), in_axes=2)(x),
                                     numpy.moveaxis(numpy.argsort(x, axis=0), 2, 0))  # fmt: skip
    numpy.testing.assert_array_equal(cr.vmap(lambda v: np.any(v > 1.0, axis=-1))(x),
                                     (x > 1.0).any(axis=-1))  # fmt: skip
    with pytest.raises(TypeError, match="nonzero has a result whose shape depends on each"):
        cr.vmap(np.nonzero)(x)


def test_a_list_of_batched_values_is_one_batched_array() -> None:
    # NumPy would stack each entry's whole batch: one answer for all examples, not each's
    xs = numpy.array([[1.0, 2.0], [-1.0, 2.0], [1.0, -3.0], [0.0, 0.0]])
    for fun in (
        lambda x: np.all([x[0] > 0, x[1] > 0]),
        lambda x: np.count_nonzero((x[0] > 0, x[1] > 0)),
        lambda x: np.argmax([x[0], x[1]]),
        lambda x: np.sign([x[0], -x[1]]),
        lambda x: np.isclose(x, [1.0, 2.0]),
        lambda x: np.equal([[x[0]], [x[1]]], 0.0),
    ):
        want = numpy.stack([numpy.asarray(fun(x)) for x in xs])
        got = cr.vmap(fun)(xs)
        assert got.dtype == want.dtype
        numpy.testing.assert_array_equal(got, want)
        numpy.testing.assert_array_equal(cr.vmap(fun, in_axes=1)(xs.T), want)


def test_array_equal_and_equiv_under_vmap_follow_each_examples_shapes() -> None:
    xs = numpy.array([[1.0, 1.0], [1.0, numpy.nan], [numpy.nan, numpy.nan]])
    for fun in (
        lambda x: np.array_equal(x, numpy.ones(1)),  # broadcastable, but not the same shape
        lambda x: np.array_equal(x, numpy.ones(3)),
        lambda x: np.array_equal(x, numpy.ones(2)),
        lambda x: np.array_equal(x, x),
        lambda x: np.array_equal(x, x, equal_nan=True),
        lambda x: np.array_equal(x, x, True),
        lambda x: np.array_equiv(x, numpy.ones(1)),
        lambda x: np.array_equiv(x, numpy.ones(3)),  # not broadcastable
        lambda x: np.array_equiv(x, numpy.ones((2, 2))),
        lambda x: np.allclose(x, 1.0, equal_nan=True),
    ):
        want = numpy.array([numpy.asarray(fun(x)) for x in xs])
        got = cr.vmap(fun)(xs)
        assert got.dtype == want.dtype
        numpy.testing.assert_array_equal(got, want)


def test_a_batched_keyword_argument_is_refused_by_name() -> None:
    with pytest.raises(
        TypeError, match=r"numpy\.isclose was given a batched keyword .* by position"
    ):
        cr.vmap(lambda x: np.isclose(x, 0.0, atol=np.abs(x)))(numpy.ones((3, 2)))


def test_searchsorted_and_digitize_with_a_batch_of_tables() -> None:
    tables = numpy.array([[0.0, 1.5, 3.0], [0.0, 2.0, 4.0]])
    values = numpy.array([[0.0, 1.5, 2.0, 3.5], [1.0, 2.0, 3.0, 4.0]])
    for side in ("left", "right"):
        want = [numpy.searchsorted(t, v, side) for t, v in zip(tables, values, strict=True)]
        got = cr.vmap(lambda t, v, side=side: np.searchsorted(t, v, side))(tables, values)
        numpy.testing.assert_array_equal(got, want)
    for right in (False, True):
        want = [numpy.digitize(v, t, right) for t, v in zip(tables, values, strict=True)]
        got = cr.vmap(lambda v, t, right=right: np.digitize(v, t, right))(values, tables)
        numpy.testing.assert_array_equal(got, want)


def test_isin_under_jit_and_vmap_with_shared_or_batched_test_elements() -> None:
    """(it had no rules, and was refused under jit and vmap)"""
    x = numpy.array([[1.0, 2.0, 3.0], [4.0, numpy.nan, 1.0]])
    shared, batched = numpy.array([1.0, 4.0, numpy.nan]), numpy.array([[1.0, 2.0], [2.0, 4.0]])
    for invert in (False, True):
        f = lambda a, b, invert=invert: np.isin(a, b, invert=invert)
        numpy.testing.assert_array_equal(cr.jit(f)(x, shared), numpy.isin(x, shared, invert=invert))
        for tests, axes in ((shared, (0, None)), (batched, (0, 0)), (batched, (None, 0))):
            rows = x if axes[0] == 0 else [x[0]] * 2
            cols = tests if axes[1] == 0 else [tests] * 2
            want = [numpy.isin(a, b, invert=invert) for a, b in zip(rows, cols, strict=True)]
            numpy.testing.assert_array_equal(
                cr.vmap(f, in_axes=axes)(rows[0] if axes[0] is None else x, tests), want
            )
    picked = cr.grad(lambda v: np.sum(np.where(np.isin(v, shared), v * v, 0.0)))(x[0])
    numpy.testing.assert_array_equal(picked, [2.0, 0.0, 0.0])


def test_histogram_of_a_batch_counts_each_example_against_shared_edges() -> None:
    rng = numpy.random.default_rng(5)
    x = rng.uniform(-0.2, 1.2, (4, 3, 5))
    x[0, 0, 0], x[1, 1, 1], x[2, 0, 0] = numpy.nan, 1.0, 0.5  # NaN, the last edge, an edge
    edges = numpy.array([0.0, 0.25, 0.5, 1.0])
    weights = numpy.arange(15.0, dtype=numpy.float32).reshape(3, 5)
    for kwargs in (
        {"bins": edges},
        {"bins": 4, "range": (0.0, 1.0)},
        {"bins": edges, "density": True},
        {"bins": edges, "weights": weights},
    ):
        counts, got_edges = cr.vmap(lambda v, kwargs=kwargs: np.histogram(v, **kwargs))(x)
        want = [numpy.histogram(v, **kwargs) for v in x]
        numpy.testing.assert_array_equal(counts, [w[0] for w in want])
        assert counts.dtype == want[0][0].dtype
        numpy.testing.assert_array_equal(got_edges[0], want[0][1])
    nested = cr.vmap(cr.vmap(lambda v: np.histogram(v, edges)[0]), in_axes=1)(x)
    numpy.testing.assert_array_equal(
        nested, [[numpy.histogram(x[i, j], edges)[0] for i in range(4)] for j in range(3)]
    )
    for edges_per_example in ("auto", 4):
        with pytest.raises(TypeError, match="histogram needs bins shared by every example"):
            cr.vmap(lambda v, b=edges_per_example: np.histogram(v, b))(x)
    # each example with its own weights; inside, a vmap over one axis of both
    w = rng.uniform(0.0, 1.0, x.shape)
    counts = cr.vmap(lambda v, w: np.histogram(v, edges, weights=w)[0])(x, w)
    numpy.testing.assert_allclose(
        counts,
        [numpy.histogram(v, edges, weights=u)[0] for v, u in zip(x, w, strict=True)],
        rtol=1e-15,
    )
    inner = cr.vmap(cr.vmap(lambda v, w: np.histogram(v, edges, weights=w)[0]), (0, None))
    numpy.testing.assert_allclose(
        inner(x, w[0]), [[numpy.histogram(v, edges, weights=w[0, j])[0] for j, v in
                          enumerate(row)] for row in x], rtol=1e-15,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(set(SQRT_OF_GATE) - {"sort"}))  # (sort: indexing's)
def test_gates_select_under_vmap_too(name: str) -> None:
    # a gate's mask is a batch under vmap: it must still select, not multiply inf by 0
    f = SQRT_OF_GATE[name]
    x = numpy.array([[-1.0, 4.0], [4.0, -1.0], [-1.0, -1.0]])
    per_example = cr.grad(lambda v: np.sum(f(v)))
    want = numpy.stack([per_example(v) for v in x])
    assert numpy.isfinite(want).all()
    numpy.testing.assert_array_equal(cr.vmap(per_example)(x), want)
    numpy.testing.assert_array_equal(cr.vmap(cr.jacrev(f))(x), [cr.jacrev(f)(v) for v in x])


@pytest.mark.parametrize("name", sorted(set(GATE_OF_SQRT) - {"sort"}))
def test_gates_select_the_tangent_under_vmap_too(name: str) -> None:
    f = GATE_OF_SQRT[name]
    x = numpy.array([[0.0, 4.0], [4.0, 0.0], [0.0, 0.0]])

    def tangent(v: Any) -> Any:
        return cr.jvp(f, (v,), (numpy.ones_like(v),))[1]

    want = numpy.stack([tangent(v) for v in x])
    assert numpy.isfinite(want).all()
    numpy.testing.assert_array_equal(cr.vmap(tangent)(x), want)


# ----------------------------------------------------------------------- masked arrays, as NumPy


MASKED = numpy.ma.array([[0.5, 2.0, 3.0], [0.25, 0.7, 1.5]], mask=[[0, 1, 0], [0, 0, 1]])


@pytest.mark.parametrize(
    ("ours", "numpys"),
    [
        (lambda m: np.sum(m * 2.0), lambda m: numpy.sum(m * 2.0)),
        (lambda m: np.sum(m, axis=1, keepdims=True), lambda m: numpy.sum(m, axis=1, keepdims=True)),
        (lambda m: np.reshape(m, (3, 2)), lambda m: numpy.reshape(m, (3, 2))),
        (lambda m: np.mean(np.exp(m), axis=0), lambda m: numpy.mean(numpy.exp(m), axis=0)),
        (lambda m: np.where(m > 1.0), lambda m: numpy.where(m > 1.0)),
    ],
    ids=["sum", "sum-axis", "reshape", "mean-exp", "where"],
)
def test_a_masked_array_gives_numpys_result(
    ours: Callable[[Any], Any], numpys: Callable[[Any], Any]
) -> None:
    # np.sum(m * 2) once summed the masked entries too (10 where NumPy gives 8), a reshape
    # dropped the mask, and np.where(condition) skipped masked entries NumPy counts.
    got, want = ours(MASKED), numpys(MASKED)
    for a, b in zip(got, want, strict=True) if isinstance(want, tuple) else [(got, want)]:
        assert type(a) is type(b)
        numpy.testing.assert_array_equal(numpy.ma.getmaskarray(a), numpy.ma.getmaskarray(b))
        numpy.testing.assert_array_equal(numpy.ma.filled(a, 0), numpy.ma.filled(b, 0))


@pytest.mark.parametrize(
    "transform",
    [cr.grad, lambda f: lambda x: cr.jvp(f, (x,), (x,)), cr.jit, cr.vmap],
    ids=["grad", "jvp", "jit", "vmap"],
)
def test_a_masked_array_is_refused_as_an_input_of_a_transform(transform: Any) -> None:
    # (its rules see the data: the masked entry had derivative 2 in the sum of 2 m, and a
    # compiled program's second call summed it, into the program's plain buffers)
    with pytest.raises(TypeError, match=r"masked array \(numpy.ma\).*a.filled\(0.0\)"):
        transform(lambda m: np.sum(m * 2.0))(MASKED)


def test_the_derivative_of_x_to_a_traced_zero_power_is_zero_at_zero() -> None:
    # d/dx x**0 = 0 (JAX's too): the rule once computed 0 * x**-1 = 0 * inf = NaN at x = 0
    # for an exponent that is not a Python constant (an array, or a number jit traces)
    x = numpy.array([0.0, 2.0, -1.5])
    y = numpy.array([0.0, 3.0, 2.0])
    want = numpy.array([0.0, 12.0, -3.0])
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.sum(np.power(x, y)))(x), want)
    numpy.testing.assert_array_equal(
        cr.hessian(lambda x: np.sum(np.power(x, y)))(x), numpy.diag([0.0, 12.0, 2.0])
    )
    traced = cr.jit(cr.grad(lambda x, p: np.sum(np.power(x, p))))
    for p in (0, 0.0):
        numpy.testing.assert_array_equal(traced(x, p), numpy.zeros(3))
    numpy.testing.assert_array_equal(traced(x, 2.0), 2.0 * x)


def test_the_mixed_derivative_of_a_power_at_a_zero_exponent_is_one_over_x() -> None:
    # d/dy (d/dx x**y) = x**(y-1) (1 + y log x) = 1/x at y = 0; a power rule that kept
    # x**(y-1) finite at y = 0 by a 0 exponent there gave 1, and an unsymmetric Hessian
    h = cr.hessian(lambda v: v[0] ** v[1])(numpy.array([2.0, 0.0]))
    numpy.testing.assert_allclose(h, [[0.0, 0.5], [0.5, numpy.log(2.0) ** 2]], rtol=1e-15)
    assert cr.grad(cr.grad(lambda x, y: x**y, 0), 1)(2.0, 0.0) == 0.5


def test_a_reductions_cotangent_is_broadcast_back_exactly() -> None:
    # (added to zeros, a -0.0 cotangent came back as 0.0 eagerly, where a compiled
    # program, which drops the addition, kept -0.0)
    f = lambda x: np.sum(x) * -0.0
    x = numpy.ones(3)
    for grad in (cr.grad(f), cr.jit(cr.grad(f))):
        assert numpy.signbit(grad(x)).all()
    assert type(cr.grad(np.sum)(1.0)) is numpy.float64  # (a scalar, as NumPy's sum gives)


def test_isin_options_numpy_refuses_are_refused_batched() -> None:
    with pytest.raises(ValueError, match="'table' method is only supported"):
        cr.vmap(lambda a, b: np.isin(a, b, kind="table"))(numpy.ones((2, 3)), numpy.ones((2, 2)))
