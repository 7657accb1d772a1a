"""jit: a function traced once per input signature, replayed as a program of NumPy calls.

Every check compares the replay with eager chainrule on inputs other than the tracing ones,
so a value frozen at trace time (a mask, a branch) shows as a wrong number.
"""

from __future__ import annotations

import collections
import dataclasses
import inspect
import typing
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.core.trace import ConversionError

rng = numpy.random.default_rng(0)


def w1(x: Any) -> Any:
    """W1's function: many small operations."""
    h = np.tanh(x * 0.5 + 1.0)
    h = np.exp(-(h**2)) + np.sin(h) * x
    return np.sum(h * h) / 10 + np.log(1 + np.sum(x**2))


def relu_loss(w: Any, x: Any) -> Any:
    return np.sum(np.maximum(x @ w, 0.0) ** 2)


@pytest.mark.parametrize(
    "make",
    [
        lambda: (cr.grad(w1), (rng.standard_normal(7),)),
        lambda: (cr.value_and_grad(w1), (rng.standard_normal(7),)),
        lambda: (cr.grad(relu_loss, argnums=(0, 1)), (rng.standard_normal((3, 2)), rng.standard_normal((4, 3)))),
        lambda: (cr.hessian(w1), (rng.standard_normal(4),)),
        lambda: (cr.vmap(cr.grad(relu_loss), in_axes=(None, 0)), (rng.standard_normal((3, 2)), rng.standard_normal((5, 4, 3)))),
        lambda: (lambda d: {"s": np.sort(d["a"]), "m": np.max(d["a"], axis=0)}, ({"a": rng.standard_normal((3, 4))},)),
    ],
    ids=["grad", "value_and_grad", "relu-argnums", "hessian", "vmap-grad", "pytree"],
)  # fmt: skip
def test_replay_equals_eager_on_new_inputs(make: Any) -> None:
    fun, args = make()
    jitted = cr.jit(fun)
    for scale in (1.0, -0.7, 2.5):  # the first call traces; the others replay
        new = cr.tree.map(lambda a, s=scale: a * s, args)
        got, want = jitted(*new), fun(*new)
        for g, e in zip(cr.tree.leaves(got), cr.tree.leaves(want), strict=True):
            assert numpy.asarray(g).dtype == numpy.asarray(e).dtype
            numpy.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)
    assert len(jitted.programs()) == 1  # traced once


def test_masks_and_branches_are_recomputed_not_frozen() -> None:
    f = cr.jit(cr.grad(lambda x: np.sum(np.where(x > 0, x**2, -x) + np.abs(x))))
    x = numpy.array([-1.0, 2.0, -3.0])
    numpy.testing.assert_array_equal(f(x), [-2.0, 5.0, -2.0])
    numpy.testing.assert_array_equal(f(-x), [3.0, -2.0, 7.0])  # every mask flipped


def test_float32_stays_float32_and_python_numbers_are_traced_weakly() -> None:
    f = cr.jit(lambda x, lr: x - lr * x)
    x = numpy.ones(3, numpy.float32)
    assert f(x, 0.5).dtype == numpy.float32
    numpy.testing.assert_array_equal(f(x, 0.25), [0.75, 0.75, 0.75])  # the rate is not frozen
    assert len(f.programs()) == 1


def test_new_shapes_dtypes_and_structures_retrace_and_the_cache_is_bounded() -> None:
    f = cr.jit(lambda x: np.sum(x * x), cache_size=2)
    f(numpy.ones(3))
    f(numpy.ones(3))
    assert len(f.programs()) == 1
    f(numpy.ones(4))
    f(numpy.ones(4, numpy.float32))
    assert len(f.programs()) == 2  # the oldest was dropped
    assert f(numpy.ones(3)) == 3.0


def test_static_arguments_key_the_cache() -> None:
    f = cr.jit(lambda x, n, mode="sum": np.sum(x**n) if mode == "sum" else np.max(x**n),
               static_argnums=1, static_argnames="mode")  # fmt: skip
    x = numpy.array([1.0, 2.0])
    assert f(x, 2) == 5.0 and f(x, 3) == 9.0 and f(x, 3, mode="max") == 8.0
    assert len(f.programs()) == 3
    with pytest.raises(TypeError, match="not hashable"):
        cr.jit(lambda x, s: x, static_argnums=1)(x, [1, 2])


def test_equal_static_values_of_other_types_trace_their_own_programs() -> None:
    """2 and 2.0 are equal and hash alike, but a program traced with one computes in
    another dtype: the cache keys a static value with its type (int8 * 2 stayed int8 and
    overflowed when called with 2.0)."""
    f = cr.jit(lambda x, n: x * n, static_argnums=1)
    x = numpy.array([100], dtype=numpy.int8)
    assert f(x, 2).dtype == numpy.int8
    numpy.testing.assert_array_equal(f(x, 2.0), x * 2.0)
    assert f(x, (1, 2.0)[1]).dtype == numpy.float64
    g = cr.jit(lambda x, ns: x * ns[0], static_argnums=1)
    assert g(x, (1,)).dtype == numpy.int8 and g(x, (1.0,)).dtype == numpy.float64

    class Config(typing.NamedTuple):
        scale: float

    @dataclasses.dataclass(frozen=True)
    class Frozen:
        scale: float

    for make in (Config, Frozen):
        h = cr.jit(lambda x, c: x * c.scale, static_argnums=1)
        assert h(x, make(2)).dtype == numpy.int8
        numpy.testing.assert_array_equal(h(x, make(2.0)), x * 2.0)
    k = cr.jit(lambda x, s: x * next(iter(s)), static_argnums=1)
    assert k(x, frozenset({2})).dtype == numpy.int8
    assert k(x, frozenset({2.0})).dtype == numpy.float64


def test_static_arguments_by_position_or_by_name_as_in_jax() -> None:
    """Where only one of static_argnums and static_argnames is given, the other follows from
    the signature, so a static argument may be passed either way; names and positions the
    function does not take are refused when jit is called."""

    def power(x: Any, n: Any) -> Any:
        return x**n

    x = numpy.array([2.0, 3.0])
    for f in (cr.jit(power, static_argnums=1), cr.jit(power, static_argnames="n")):
        numpy.testing.assert_array_equal(f(x, 2), x**2)
        numpy.testing.assert_array_equal(f(x, n=3), x**3)
    with pytest.raises(ValueError, match=r"static_argnames names 'm', which it does not take"):
        cr.jit(power, static_argnames="m")
    with pytest.raises(ValueError, match=r"static_argnums=\(5,\), but it takes only 2"):
        cr.jit(power, static_argnums=5)
    both = cr.jit(power, static_argnums=(), static_argnames="n")  # (both given: as given)
    numpy.testing.assert_array_equal(both(x, 2), x**2)
    numpy.testing.assert_array_equal(both(x, 3), x**3)  # n by position: traced, one program
    numpy.testing.assert_array_equal(both(x, n=2), x**2)  # by name: static, a second one
    assert len(both.programs()) == 2


def test_jit_takes_jax_keywords_and_makes_a_decorator() -> None:
    @cr.jit(static_argnames="n", donate_argnums=0, inline=True)
    def power(x: Any, n: Any) -> Any:
        return x**n

    x = numpy.array([2.0, 3.0])
    numpy.testing.assert_array_equal(power(x, 2), x**2)
    numpy.testing.assert_array_equal(x, [2.0, 3.0])  # (donation changes nothing)
    with pytest.raises(TypeError, match="expected a callable to compile, got int 3"):
        cr.jit(3)  # type: ignore[arg-type]


def test_python_numbers_stay_weak_through_arithmetic_as_in_eager_code() -> None:
    """A Python number passed to a jitted function is traced, and arithmetic between such
    numbers is Python's, as in eager code: its result is a Python number again, which NumPy
    promotes weakly (``lr * 0.5 * g`` stays float32; NumPy's ufunc gave a float64 scalar,
    and the step's parameters became float64). Dividing by zero raises as eagerly."""
    p, g = numpy.ones(3, numpy.float32), numpy.full(3, 0.5, numpy.float32)
    step = lambda p, g, lr: p - lr * 0.5 * g
    for lr in (0.1, 0.2):
        out = cr.jit(step)(p, g, lr)
        assert out.dtype == numpy.float32
        numpy.testing.assert_array_equal(out, step(p, g, lr))
    count = cr.jit(lambda n, k: -(n * k // 2) % 5 + abs(n))
    assert count(3, 4) == (lambda n, k: -(n * k // 2) % 5 + abs(n))(3, 4)
    ratio = cr.jit(lambda a, b: a / b)
    assert ratio(1.0, 4.0) == 0.25
    with pytest.raises(ZeroDivisionError):
        ratio(1.0, 0.0)

    xs = (numpy.arange(1, 6, dtype=numpy.float32) / 3).astype(numpy.float32)
    body = lambda c, x: (c * 1.1 + x, c)
    eager, jitted = cr.scan(body, 0.0, xs), cr.jit(lambda xs: cr.scan(body, 0.0, xs))(xs)
    for a, b in zip(eager, jitted, strict=True):
        assert numpy.asarray(a).dtype == numpy.asarray(b).dtype
        numpy.testing.assert_array_equal(a, b)
    grow = lambda x: cr.while_loop(lambda c: c < 5, lambda c: c + x, 0.0)
    assert cr.jit(grow)(numpy.float32(2)) == grow(numpy.float32(2)) == numpy.float32(6)
    assert cr.jit(grow)(numpy.float32(2)).dtype == numpy.float32


FUNCTIONS_WITHOUT_RULES = [
    lambda x, k: np.copysign(x, -k),
    lambda x, k: np.ldexp(x, k.astype(int)),
    lambda x, k: np.heaviside(x, 0.5) * k,
    lambda x, k: np.nextafter(x, k),
    lambda x, k: np.frexp(x)[0] * k,  # (two results)
    lambda x, k: np.gcd(np.floor(x * 10).astype(int), 4) + k,
]


@pytest.mark.parametrize(
    "f",
    FUNCTIONS_WITHOUT_RULES,
    ids=["copysign", "ldexp", "heaviside", "nextafter", "frexp", "gcd"],
)
def test_numpy_functions_without_rules_run_under_jit_and_vmap(f: Any) -> None:
    # (each once raised "has no derivative rule" under jit or vmap, which differentiate
    # nothing; differentiated, they still raise it)
    xs, ks = rng.standard_normal((3, 4)), numpy.array([1.0, 2.0, 3.0])
    want = numpy.stack([f(x, k) for x, k in zip(xs, ks, strict=True)])
    for mapped in (cr.vmap(f), cr.jit(cr.vmap(f))):
        numpy.testing.assert_array_equal(mapped(xs, ks), want)
    jitted = cr.jit(f)
    for x, k in zip(xs, ks, strict=True):
        numpy.testing.assert_array_equal(jitted(x, k), f(x, k))
    one = numpy.float64(1.0)
    if f is not FUNCTIONS_WITHOUT_RULES[-1]:  # (gcd: of integers that carry no derivative)
        with pytest.raises(TypeError, match="has no derivative rule"):
            cr.grad(lambda x: np.sum(f(x, one)))(xs[0])


def test_histogram_and_round_under_jit() -> None:
    # (a histogram recursed without end; round() of a traced Python number had no __round__)
    x = rng.standard_normal(20)
    for f in (
        lambda x: np.histogram(x, bins=4),
        lambda x: np.histogram(x, bins=numpy.array([-1.0, 0.0, 2.0]), weights=x, density=True),
    ):
        jitted = cr.jit(f)
        for new in (x, x * 3.0 + 1.0):
            for got, want in zip(jitted(new), f(new), strict=True):
                numpy.testing.assert_array_equal(got, want)

    def rounded(p: Any, x: Any) -> Any:
        return x * round(p) + round(p, 1) * round(p, numpy.int64(2))

    scaled = cr.jit(rounded)
    for p in (2.6, -1.24):
        numpy.testing.assert_array_equal(scaled(p, x), rounded(p, x))
    assert scaled(2.6, x.astype(numpy.float32)).dtype == numpy.float32
    with pytest.raises(ConversionError, match=r"round\(\)"):
        cr.jit(lambda x: round(x[0]))(x)


def test_jit_gives_eager_numbers_and_dtypes_found_by_fuzzing() -> None:
    """Found by a differential fuzzer of eager against compiled calls: each pair must agree
    in values and dtypes, on the call that compiles and on the next."""
    x32 = numpy.array([1.1, -2.0], dtype=numpy.float32)
    i32 = numpy.array([1, -2, 3], dtype=numpy.int32)
    cases: list[tuple[Any, tuple[Any, ...], tuple[Any, ...]]] = [
        (lambda p, x: np.asarray(p) * x, (0.1, x32), (0.2, x32)),  # an array: float64
        (lambda p, x: np.asarray(p) ** 0.5 + 0 * x, (-4.0, x32), (4.0, x32)),  # nan, not complex
        (lambda p, x: np.asarray(p)[None] * x, (0.5, x32), (2.0, x32)),
        (lambda p, x: (p & 3) * x / 7, (5, x32), (6, x32)),  # Python's own & on Python ints
        (lambda p, x: (~p | 1 ^ p) * x, (5, x32), (-3, x32)),
        (lambda x: x < 2**31, (i32,), (i32 * 2,)),  # an int out of int32's range, compared
        (lambda x: np.diff(x > 0), (x32,), (-x32,)),  # booleans differ by not_equal
        (lambda x: x[..., True] * 2.0, (numpy.ones((3, 2)),), (numpy.zeros((3, 2)),)),
        (lambda x: np.dot(x, 0.1), (x32,), (2 * x32,)),  # NumPy's dot: 0.1 as float64
        (lambda p, x: np.inner(x, p), (x32, 0.1), (x32, 0.3)),
        (lambda p, x: cr.cond(p > 0, lambda: 0.1 * p, lambda: 0.2) * x, (0.3, x32), (-1.0, x32)),
        (lambda p, x: np.average(p) * x, (1.5, x32), (2.5, x32)),
        (lambda p, x: ((p > 0) + (p >= 2) - (p == 3)) * 0.5 * x, (3.0, x32), (-1.0, x32)),
        (lambda x: (x << 1) + (3 >> (x % 2)) + np.left_shift(x, 2), (i32,), (i32 + 5,)),
        (lambda x: divmod(x, 4)[0] * 10 + divmod(7, x[:1] + 9)[1], (i32,), (-i32,)),
    ]
    for f, first, then in cases:
        jitted = cr.jit(f)
        for args in (first, then):
            with numpy.errstate(invalid="ignore"):
                want, got = f(*args), jitted(*args)
            assert numpy.asarray(got).dtype == numpy.asarray(want).dtype, (f, args)
            numpy.testing.assert_array_equal(got, want)
    for n, k in ((2, 2), (2, -1), (2, 70)):  # Python's exact powers, of the traced type
        powers = cr.jit(lambda n, k, x: n**k * x)
        assert powers(n, k, x32).dtype == (n**k * x32).dtype
        numpy.testing.assert_array_equal(powers(n, k, x32), n**k * x32)
    with pytest.raises(TypeError, match="is a float on this call and was a int"):
        powers(2, -1, x32)  # (traced on 2 ** 70, an int: a program's types are fixed)
    casts = [lambda p: np.array(p, numpy.uint8), lambda p: np.asarray(p, numpy.int8),
             lambda p: np.full((2,), p, dtype=numpy.int32)]  # fmt: skip
    for cast in casts:
        jitted = cr.jit(cast)
        numpy.testing.assert_array_equal(jitted(3), cast(3))
        with pytest.raises(OverflowError):  # (as NumPy's conversion, never a wrapped number)
            jitted(-(2**40))
    assert cr.jit(lambda n: n**70)(2) == 2**70
    numpy.testing.assert_array_equal(cr.jit(lambda x: numpy.divmod(x, 2.0))(x32),
                                     numpy.divmod(x32, 2.0))  # fmt: skip
    loss = lambda x, p: np.sum(x * p)  # a differentiated Python float: an array
    for run in (
        cr.jit(cr.value_and_grad(loss, argnums=(0, 1))),
        cr.value_and_grad(cr.jit(loss), argnums=(0, 1)),
    ):
        value, grads = run(x32, 0.1)
        want_value, want_grads = cr.value_and_grad(loss, argnums=(0, 1))(x32, 0.1)
        assert numpy.asarray(value).dtype == numpy.asarray(want_value).dtype
        numpy.testing.assert_array_equal(value, want_value)
        for g, w in zip(grads, want_grads, strict=True):
            numpy.testing.assert_array_equal(g, w)


def test_static_objects_by_identity_donations_checked_and_python_ints_refused_by_grad() -> None:
    """A dataclass with identity equality (``eq=False``) keys the cache by identity, as its
    hash does (keyed by its fields, two models of equal fields shared a program); donated
    positions and names are checked as static ones are; grad of a traced Python int says
    to pass a float, as eagerly."""

    @dataclasses.dataclass(eq=False)
    class Model:
        scale: float

    a, b = Model(2.0), Model(2.0)
    b.bias = 100.0  # type: ignore[attr-defined]  # (state that is no field)
    f = cr.jit(lambda x, m: x * m.scale + getattr(m, "bias", 0.0), static_argnums=1)
    x = numpy.ones(2)
    numpy.testing.assert_array_equal(f(x, a), [2.0, 2.0])
    numpy.testing.assert_array_equal(f(x, b), [102.0, 102.0])

    def power(x: Any, n: Any) -> Any:
        return x**n

    with pytest.raises(ValueError, match="donate_argnames names 'zz'"):
        cr.jit(power, donate_argnames="zz")
    with pytest.raises(ValueError, match=r"donate_argnums=\(5,\), but it takes only 2"):
        cr.jit(power, donate_argnums=5)
    with pytest.raises(TypeError, match=r"is the Python int 3: .* Pass 3\.0 instead"):
        cr.jit(cr.grad(lambda x: x * 2.0))(3)


def test_python_control_flow_on_a_traced_value_names_jit_and_the_fixes() -> None:
    def f(x: Any) -> Any:
        return x if np.sum(x) > 0 else -x

    with pytest.raises(ConversionError, match=r"jit of `f`.*np\.where.*static_argnums"):
        cr.jit(f)(numpy.ones(2))


def test_non_array_inputs_are_refused_unless_static() -> None:
    with pytest.raises(TypeError, match=r"input leaf 1 is a str.*static_argnums"):
        cr.jit(lambda x, name: x)(numpy.ones(2), "a")
    assert cr.jit(lambda x, name: x * len(name), static_argnums=1)(numpy.ones(2), "ab")[0] == 2.0


def test_side_effects_run_once_while_tracing() -> None:
    seen = []

    def f(x: Any) -> Any:
        seen.append(1)
        return x + 1.0

    g = cr.jit(f)
    for _ in range(3):
        g(numpy.zeros(2))
    assert seen == [1]


def test_programs_are_pruned_merged_and_fold_constants() -> None:
    def f(x: Any) -> Any:
        unused = np.exp(x)  # dead: no output needs it  # noqa: F841
        a, b = np.sin(x), np.sin(x)  # the same line twice
        c = np.cos(numpy.arange(3.0))  # no input: computed once, a constant
        return a + b + c

    program = cr.make_program(f)(numpy.zeros(3))
    names = [eq.name for eq in program.equations]
    assert names == ["sin", "add", "add"], str(program)
    x = rng.standard_normal(3)
    numpy.testing.assert_allclose(program([x])[0], 2 * numpy.sin(x) + numpy.cos(numpy.arange(3.0)))


def test_make_program_prints_the_forward_and_backward_lines() -> None:
    text = str(cr.make_program(cr.grad(lambda x: np.sum(np.sin(x) * x)))(numpy.zeros(3)))
    assert text.startswith("{ lambda v0:float64[3] ;")
    assert "= cos v0" in text and "= sin v0" in text and text.rstrip().endswith("}")


def test_composition_with_other_transforms() -> None:
    x = rng.standard_normal((4, 3))
    f = cr.jit(w1)
    # inside another transform, jit runs the function under it
    numpy.testing.assert_allclose(cr.grad(f)(x[0]), cr.grad(w1)(x[0]), rtol=1e-12)
    numpy.testing.assert_allclose(cr.vmap(f)(x), [w1(r) for r in x], rtol=1e-12)
    numpy.testing.assert_allclose(cr.jit(cr.vmap(f))(x), [w1(r) for r in x], rtol=1e-12)
    numpy.testing.assert_allclose(cr.jit(cr.jit(cr.grad(w1)))(x[1]), cr.grad(w1)(x[1]), rtol=1e-12)


def test_a_closed_over_traced_value_is_refused() -> None:
    def outer(w: Any) -> Any:
        inner = cr.jit(lambda x: np.sum(x * w))
        return inner(numpy.ones(2))

    with pytest.raises(TypeError, match="pass the value to the jitted function as an argument"):
        cr.grad(outer)(numpy.ones(2))


def test_checks_that_refuse_a_value_run_on_every_call() -> None:
    """A rule that reads values to refuse a point without a derivative (slogdet at a
    singular matrix, eig at repeated eigenvalues, cond at a singular matrix) checks each
    call's values under jit, as eager code does: never a number from a frozen check."""
    fine = numpy.array([[2.0, 1.0], [0.5, 3.0]])
    singular = numpy.array([[1.0, 2.0], [2.0, 4.0]])
    cases = [
        (lambda a: np.linalg.slogdet(a)[1], singular),
        (lambda a: np.linalg.cond(a), singular),
        (lambda a: np.sum(np.linalg.eigvals(a).real), numpy.eye(2)),  # repeated eigenvalues
    ]
    for fun, bad in cases:
        compiled = cr.jit(cr.grad(fun))
        numpy.testing.assert_allclose(compiled(fine), cr.grad(fun)(fine), rtol=1e-12)
        for run in (cr.grad(fun), compiled):
            with pytest.raises(numpy.linalg.LinAlgError, match=r"chainrule\.numpy\.linalg"):
                run(bad)
        for vmapped in (cr.vmap(cr.grad(fun)), cr.jit(cr.vmap(cr.grad(fun)))):
            vmapped(numpy.stack([fine, fine]))
            with pytest.raises(numpy.linalg.LinAlgError, match=r"chainrule\.numpy\.linalg"):
                vmapped(numpy.stack([fine, bad]))


def test_functions_of_dtypes_answer_plainly_and_array_methods_work() -> None:
    f = cr.jit(lambda x: x * 2.0 if np.iscomplexobj(x) else x.var(ddof=1) * np.ones(2))
    x = numpy.array([1.0, 2.0, 4.0])
    numpy.testing.assert_allclose(f(x), numpy.full(2, x.var(ddof=1)))
    numpy.testing.assert_allclose(f(x + 1j), (x + 1j) * 2.0)
    assert cr.jit(lambda x: np.result_type(x, numpy.float32) == numpy.float64)(x)


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: x[x > 0],
        lambda x: np.nonzero(x > 0)[0],
        lambda x: np.argwhere(x),
        lambda x: np.flatnonzero(x),
        lambda x: np.unique(x),
        lambda x: np.where(x > 0)[0],
    ],
)
def test_results_shaped_by_the_values_are_refused_naming_jit(fun: Any) -> None:
    with pytest.raises(TypeError, match=r"chainrule\.jit: .*shape depends on the values"):
        cr.jit(fun)(numpy.array([1.0, -2.0, 3.0]))


def test_paths_chosen_on_values_serve_every_call() -> None:
    """A rule that picks a shortcut from the values (prod's quotient rule where no factor
    is zero, nan_to_num's holomorphic form, real_if_close's dtype) must not pick it from the
    tracing call's values alone: replays with zeros, infinities, or imaginary parts that are
    not small give the eager numbers, or a clear error where the program cannot serve."""
    prod_grad = cr.jit(cr.grad(lambda x: np.prod(x)))
    prod_grad(numpy.array([1.0, 2.0, 3.0]))  # traced without zeros
    for x in ([1.0, 0.0, 3.0], [2.0, 5.0, 0.5]):
        x = numpy.array(x)
        numpy.testing.assert_allclose(prod_grad(x), cr.grad(lambda x: np.prod(x))(x))
    with pytest.raises(ValueError, match=r"at most 1 zero factor"):
        prod_grad(numpy.array([0.0, 0.0, 3.0]))
    twice = cr.jit(cr.grad(lambda x: np.sum(np.cumprod(x))))
    twice(numpy.array([0.0, 0.0, 3.0]))  # traced with two zeros: serves up to two
    for x in ([0.0, 2.0, 0.0], [1.0, 2.0, 3.0], [4.0, 0.0, 1.0]):
        x = numpy.array(x)
        numpy.testing.assert_allclose(twice(x), cr.grad(lambda x: np.sum(np.cumprod(x)))(x))

    def nan_to_num_grad(z: Any) -> Any:
        return cr.grad(lambda z: np.sum(np.abs(np.nan_to_num(z)) ** 2))(z)

    clean = cr.jit(nan_to_num_grad)
    clean(numpy.array([1.0 + 1.0j]))
    half = numpy.array([complex(1.0, numpy.inf)])
    numpy.testing.assert_allclose(clean(half), nan_to_num_grad(half))
    real = cr.jit(lambda z: np.real_if_close(z))
    assert real(numpy.array([1.0 + 1e-20j])).dtype == numpy.float64
    with pytest.raises(TypeError, match=r"real_if_close: in a compiled program"):
        real(numpy.array([1.0 + 1.0j]))


def test_value_checks_of_layers_and_losses_run_on_every_call() -> None:
    """Label, probability and index ranges are checked on each call's values under jit (a
    label out of range would silently give a loss term of 0)."""
    from chainrule import nn

    z = numpy.random.default_rng(0).standard_normal((3, 4))
    loss = cr.jit(lambda z, y: nn.cross_entropy(z, y))
    loss(z, numpy.array([0, 1, 2]))
    with pytest.raises(ValueError, match="label 7 is out of range"):
        loss(z, numpy.array([0, 1, 7]))
    bce = cr.jit(lambda p, t: nn.binary_cross_entropy(p, t))
    bce(numpy.array([0.2, 0.7]), numpy.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\]"):
        bce(numpy.array([0.2, 1.7]), numpy.array([1.0, 0.0]))
    table = nn.Embedding(5, 2, rng=0)
    lookup = cr.jit(lambda m, i: m(i))
    lookup(table, numpy.array([0, 4]))
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 5\)"):
        lookup(table, numpy.array([0, -1]))
    mean = cr.jit(lambda x, w: np.average(x, weights=w))
    mean(numpy.ones(2), numpy.array([1.0, 2.0]))
    with pytest.raises(ZeroDivisionError):
        mean(numpy.ones(2), numpy.array([1.0, -1.0]))


def test_sums_with_value_bounds_and_random_draws_are_not_frozen() -> None:
    """Poisson's sums over counts stop where the values say; under jit that bound is fixed
    when traced, so a call needing more terms raises (it would stop short: a wrong number).
    Random draws from a Generator or fresh entropy would be frozen: refused; an int seed
    draws the same numbers on every call, compiled or not."""
    from chainrule.stats import Normal, Poisson

    entropy = cr.jit(lambda r: Poisson(rate=r).entropy())
    for rate in (2.0, 1.0, 0.5):
        numpy.testing.assert_allclose(entropy(numpy.array(rate)), Poisson(rate=rate).entropy())
    with pytest.raises(
        ValueError, match=r"Poisson: in a compiled program .*, sums over counts stop at"
    ):
        entropy(numpy.array(200.0))
    cdf = cr.jit(lambda r, x: Poisson(rate=r).cdf(x))
    cdf(numpy.array(2.0), numpy.array(3.0))
    numpy.testing.assert_allclose(cdf(numpy.array(2.5), numpy.array(2.0)), Poisson(2.5).cdf(2.0))
    with pytest.raises(ValueError, match=r"Poisson: in a compiled program"):
        cdf(numpy.array(2.0), numpy.array(30.0))
    seeded = cr.jit(lambda loc: Normal(loc=loc, scale=1.0).sample(3, rng=0))
    numpy.testing.assert_allclose(seeded(5.0), Normal(loc=5.0, scale=1.0).sample(3, rng=0))
    for rng in (None, numpy.random.default_rng(0)):
        with pytest.raises(TypeError, match=r"Normal\.sample under jit"):
            cr.jit(lambda loc, rng=rng: Normal(loc=loc, scale=1.0).sample(3, rng=rng))(0.0)


def test_input_checks_of_the_maths_wing_run_on_every_call() -> None:
    from chainrule._validate import finite
    from chainrule.stats import bayes

    posterior = cr.jit(lambda p, lik: bayes(p, lik))
    posterior(numpy.array([0.5, 0.5]), numpy.array([0.9, 0.2]))
    with pytest.raises(ValueError, match="non-negative"):
        posterior(numpy.array([0.5, -0.5]), numpy.array([0.9, 0.2]))
    with pytest.raises(ValueError, match="probability 0"):
        posterior(numpy.array([0.5, 0.5]), numpy.array([0.0, 0.0]))
    checked = cr.jit(lambda x: finite(x, "X", "fit") * 2.0)
    checked(numpy.ones(2))
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        checked(numpy.array([1.0, numpy.nan]))
    with pytest.raises(TypeError, match="traced keyword argument"):
        cr.jit(lambda x, t: np.isclose(x, 1.0, atol=t))(numpy.ones(1), 0.1)


def test_scipy_checks_run_on_every_call() -> None:
    """sqrtm/logm at a singular matrix, a Sylvester equation without a unique solution, LU
    with a zero pivot, Dirichlet values off the simplex, a degenerate normal, decreasing
    digitize bins under vmap: each refused on the call that has them, compiled or not."""
    import scipy.stats as sps

    import chainrule.scipy.linalg as sla
    import chainrule.scipy.stats as st

    fine = numpy.array([[2.0, 1.0], [0.5, 3.0]])
    singular = numpy.array([[1.0, 2.0], [2.0, 4.0]])
    root = cr.jit(cr.grad(lambda a: np.sum(sla.sqrtm(a))))
    root(fine)
    with pytest.raises(numpy.linalg.LinAlgError, match="singular"):
        root(singular)
    sylvester = cr.jit(cr.grad(lambda a: np.sum(sla.solve_sylvester(a, a, numpy.eye(2)))))
    sylvester(fine)
    with pytest.raises(numpy.linalg.LinAlgError, match="singular"):
        sylvester(numpy.array([[1.0, 0.0], [0.0, -1.0]]))  # a and -a share eigenvalues
    density = cr.jit(lambda x, alpha: st.dirichlet.logpdf(x, alpha))
    x, alpha = numpy.array([0.2, 0.8]), numpy.array([2.0, 3.0])
    numpy.testing.assert_allclose(density(x, alpha), sps.dirichlet.logpdf(x, alpha))
    with pytest.raises(ValueError, match="must sum to 1"):
        density(numpy.array([0.2, 0.9]), alpha)
    with pytest.raises(ValueError, match="positive"):
        density(x, numpy.array([2.0, -3.0]))
    normal = cr.jit(lambda x, cov: st.multivariate_normal.logpdf(x, numpy.zeros(2), cov))
    normal(numpy.zeros(2), numpy.eye(2))
    with pytest.raises(ValueError, match="singular or not positive definite"):
        normal(numpy.zeros(2), singular)
    binned = cr.jit(cr.vmap(lambda x, bins: np.digitize(x, bins)))
    binned(numpy.array([0.5, 1.5]), numpy.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]))
    with pytest.raises(TypeError, match="increasing bins"):
        binned(numpy.array([0.5, 1.5]), numpy.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))


def test_a_call_like_the_last_one_replays_its_program_and_cache_size_zero_keeps_none() -> None:
    traced: list[int] = []

    def loss(model: Any, x: Any) -> Any:
        traced.append(1)
        return np.sum(model(x))

    small, large = cr.nn.MLP([2, 3, 1], rng=0), cr.nn.MLP([2, 4, 1], rng=0)
    x = numpy.ones((5, 2))
    f = cr.jit(loss)
    for model in (small, small, large, small, large):
        numpy.testing.assert_array_equal(f(model, x), loss(model, x))
    assert len(traced) == 2 + 5  # (one trace per structure; the eager calls above)
    traced.clear()
    g = cr.jit(loss, cache_size=0)
    g(small, x)
    g(small, x)
    assert len(traced) == 2 and not g.programs()


def test_equal_static_values_of_other_types_in_a_tree_trace_their_own_programs() -> None:
    """A module's static field, a dataclass's meta field, a dict key: 2, 2.0 and True are
    equal and hash alike, but a program traced with one computes in another dtype (or
    hands back another key)."""

    @cr.tree.register_dataclass
    @dataclasses.dataclass
    class Scaled:
        w: Any
        k: Any = dataclasses.field(default=2, metadata={"static": True})

    class Module(cr.nn.Module):
        w: numpy.ndarray
        k: Any = 2

    @dataclasses.dataclass(frozen=True)
    class Config:
        scale: Any

    class Pair:  # registered with a number as its aux data
        def __init__(self, w: Any, k: Any) -> None:
            self.w, self.k = w, k

    cr.tree.register(Pair, lambda p: ((p.w,), p.k), lambda k, children: Pair(*children, k))

    def scale(k: Any) -> Any:
        if isinstance(k, frozenset):
            return next(iter(k))
        return k[0] if isinstance(k, tuple) else k.scale if isinstance(k, Config) else k

    w = numpy.arange(3, dtype=numpy.int8)
    Named = collections.namedtuple("Named", "scale")
    ks = (2, 2.0, True, numpy.int8(2), numpy.int64(3), (3,), (3.0,), Config(2), Config(2.0),
          Named(2), Named(2.0), frozenset([2]), frozenset([2.0]))  # fmt: skip
    for cls in (Scaled, Module, Pair):
        traced: list[Any] = []
        f = cr.jit(lambda t, traced=traced: traced.append(t.k) or t.w * scale(t.k))
        for k in (*ks, *ks):
            t = cls(w, k)
            want = t.w * scale(t.k)
            got = f(t)
            assert got.dtype == want.dtype
            numpy.testing.assert_array_equal(got, want)
        assert len(traced) == len(ks)  # (one program each, replayed the second time round)
    g = cr.jit(lambda d: {k: v * 2 for k, v in d.items()})
    for key in (1, True, 1.0):
        (got,) = g({key: numpy.ones(2)})
        assert type(got) is type(key)
    # under grad and vmap too (their own caches)
    h = cr.jit(lambda t, x: np.sum(x * t.k))
    for k in (2, 2.5):
        t = Scaled(w, k)
        assert cr.grad(lambda x, t=t: h(t, x))(numpy.ones(2))[0] == k
        numpy.testing.assert_array_equal(
            cr.vmap(lambda x, t=t: h(t, x))(numpy.ones((2, 3))), [3 * k, 3 * k]
        )


def test_grad_of_a_jit_that_keeps_no_programs() -> None:
    f = cr.jit(lambda x: np.sum(x**2), cache_size=0)
    numpy.testing.assert_array_equal(cr.grad(f)(numpy.arange(3.0)), [0.0, 2.0, 4.0])
    value, grads = cr.value_and_grad(f)(numpy.arange(3.0))
    assert value == 5.0 and list(grads) == [0.0, 2.0, 4.0]


def test_aux_data_that_holds_objects_keys_the_cache_as_they_compare() -> None:
    """A layer as a dataclass's static field (equal to itself only) is the same key call
    after call; a registered object as a dict key is not taken apart to key the cache."""

    @cr.tree.register_dataclass
    @dataclasses.dataclass
    class Net:
        w: Any
        act: Any = dataclasses.field(default=None, metadata={"static": True})

    traced: list[Any] = []
    f = cr.jit(lambda net: traced.append(1) or net.w * 2.0)
    net = Net(numpy.ones(3), cr.nn.Dropout(0.1))
    for _ in range(3):
        f(net)
    assert len(traced) == 1

    class Interval:
        def __init__(self, lo: Any, hi: Any) -> None:
            self.lo, self.hi = float(lo), float(hi)

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Interval) and (self.lo, self.hi) == (other.lo, other.hi)

        def __hash__(self) -> int:
            return hash((self.lo, self.hi))

    cr.tree.register(Interval, lambda i: ((i.lo, i.hi), None), lambda _, c: Interval(*c))
    g = cr.jit(lambda d: sum(np.sum(v) for v in d.values()))
    assert g({Interval(0, 1): numpy.ones(3)}) == 3.0


def test_grad_of_a_jit_takes_numpy_scalars_compiled() -> None:
    """A NumPy scalar differentiated through a jitted function runs its compiled programs
    (it used to run the function itself on every call), with eager code's values and
    dtypes (a 0-d gradient may be a NumPy scalar one way and a 0-d array the other, as
    NumPy's own code paths give them)."""
    traced: list[Any] = []

    def f(x: Any, s: Any) -> Any:
        traced.append(1)
        return np.sum(np.sin(x) * s) + s * s * 1.1

    jf = cr.jit(f)
    rng = numpy.random.default_rng(0)
    for dtype in (numpy.float64, numpy.float32, numpy.float16):
        traced.clear()
        for _ in range(3):
            x, s = rng.standard_normal(4), dtype(rng.standard_normal())
            got = cr.grad(jf, argnums=(0, 1))(x, s)
            want = cr.grad(f, argnums=(0, 1))(x, s)
            for g, w in zip(got, want, strict=True):
                assert numpy.asarray(g).dtype == numpy.asarray(w).dtype
                numpy.testing.assert_array_equal(g, w)
        assert len(traced) == 3 + 2  # the eager calls, and one trace per program


def test_a_jitted_function_has_the_signature_of_fun() -> None:
    """As JAX's: `inspect.signature` reads `fun`'s, so messages name its parameters."""

    def f(x: Any, s: Any) -> Any:
        return np.sum(x * s)

    jf = cr.jit(f)
    assert list(inspect.signature(jf).parameters) == ["x", "s"]
    assert list(inspect.signature(cr.grad(jf)).parameters) == ["x", "s"]
    with pytest.raises(TypeError, match=r"argument 1 \(`s`\) is the Python int 3"):
        cr.grad(jf, argnums=(0, 1))(numpy.ones(2), 3)
    with pytest.raises(TypeError, match=r"argument 0 is the Python int 1: "):  # (not `args`)
        cr.grad(lambda *a: np.sum(a[0] * a[1]), argnums=(0, 1))(1, numpy.ones(2))


def test_a_function_without_rules_under_jit_says_it_cannot_be_recorded() -> None:
    """Found by fuzzing: under jit or vmap, where nothing is differentiated, a NumPy function
    chainrule has no rules for said it "cannot be applied to a value being differentiated"."""
    x = numpy.arange(3.0)
    for transform in (cr.jit, cr.vmap):
        with pytest.raises(TypeError, match=r"numpy\.vander has no rules in chainrule, so `jit`"):
            transform(lambda x: np.vander(x))(x[None] if transform is cr.vmap else x)
    with pytest.raises(TypeError, match=r"numpy\.vander has no derivative rule"):
        cr.grad(lambda x: np.sum(np.vander(x)))(x)
