"""The program engine behind `jit`: simplification, buffer reuse, the call path, memory.

Every replay is compared with eager chainrule on inputs other than the tracing ones, chosen
so that masks and signs change.
"""

from __future__ import annotations

import tracemalloc
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import nn
from chainrule.core import blocks, staging
from chainrule.numpy.rules import common

rng = numpy.random.default_rng(3)


def names(fun: Any, *args: Any) -> list[str]:
    return [eq.name for eq in cr.make_program(fun)(*args).equations]


def check_replays(fun: Any, *args: Any, rtol: float = 1e-13) -> Any:
    """`jit(fun)` on `args`, then on new inputs: the replay must equal the eager result."""
    jitted = cr.jit(fun)
    jitted(*args)
    for scale in (-1.3, 0.6):
        new = [a * scale + 0.25 for a in args]
        got, want = jitted(*new), fun(*new)
        for g, e in zip(cr.tree.leaves(got), cr.tree.leaves(want), strict=True):
            assert numpy.asarray(g).dtype == numpy.asarray(e).dtype
            assert numpy.shape(g) == numpy.shape(e)
            numpy.testing.assert_allclose(g, e, rtol=rtol, atol=0)
    assert len(jitted.programs()) == 1
    return jitted


def test_multiplying_by_ones_and_adding_negative_zeros_are_dropped() -> None:
    x = rng.standard_normal(5)
    # grad seeds the backward pass with ones: not a line
    assert names(cr.grad(lambda x: np.sum(np.sin(x))), x) == ["cos"]
    assert names(lambda x: np.sin(x * numpy.ones(5) + numpy.full(5, -0.0) + -0.0), x) == ["sin"]
    assert names(lambda x: x * numpy.ones(5), x) == ["multiply"]  # returned: a new array
    assert names(lambda n: np.sin(n + 0), numpy.arange(5)) == ["sin"]  # integers: exact
    check_replays(cr.grad(lambda x: np.sum(np.sin(x) * np.maximum(x, 0.0))), x)


def test_adding_zeros_to_floats_stays_a_line() -> None:
    # -0.0 + 0.0 is 0.0: a compiled program once dropped the line, and 1 / (x * 2 + 0) gave
    # -inf at x = -0.0 from the second call on, where NumPy gives inf
    f = lambda x: 1.0 / (x * 2.0 + 0.0)
    jitted = cr.jit(f)
    x = numpy.array([-0.0, 1.0])
    with numpy.errstate(divide="ignore"):
        for _ in range(2):
            numpy.testing.assert_array_equal(jitted(x), [numpy.inf, 0.5])
    assert names(f, x) == ["multiply", "add", "divide"]


def test_a_dropped_line_keeps_its_shape_and_dtype_where_they_matter() -> None:
    s, v, zeros = numpy.float64(0.5), rng.standard_normal(3), numpy.full(3, -0.0)
    # the zeros broadcast a scalar: kept where the result is returned or summed...
    assert names(lambda s: zeros + s, s) == ["add"]
    assert names(lambda s: np.sum(zeros + s), s) == ["add", "sum"]
    check_replays(lambda s: np.sum(zeros + s), s)
    check_replays(lambda s, v: (zeros + s) * v, s, v)
    # ...dropped where an elementwise reader broadcasts it the same way
    assert names(lambda s, v: (zeros + s) * v, s, v) == ["multiply"]
    # two dropped broadcasts may not meet in one reader (the result would shrink)
    both = lambda s, t: (zeros + s) * (numpy.ones(3) * t)
    assert len(names(both, s, s)) == 2
    check_replays(both, s, numpy.float64(-2.0))
    # a constant that promotes (float64 ones times float32) is a real cast, kept
    assert names(lambda x: x * numpy.ones(3), numpy.ones(3, numpy.float32)) == ["multiply"]


def test_complex_values_keep_their_multiplication_by_one() -> None:
    # (inf + 0j) * (1 + 0j) is (inf + nanj): not the identity, so the line stays
    z = numpy.array([numpy.inf + 0j, 1 + 2j])
    f = cr.jit(lambda z: z * numpy.ones(2, complex))
    with numpy.errstate(invalid="ignore"):
        numpy.testing.assert_array_equal(f(z), z * numpy.ones(2, complex))
    assert [eq.name for eq in f.programs()[0].equations] == ["multiply"]


def test_buffers_of_dying_values_are_reused_and_inputs_constants_outputs_are_not() -> None:
    w = rng.standard_normal(6)

    def f(x: Any) -> Any:
        a = np.sin(x) * w  # w: a constant, never written
        b = np.exp(a) + a
        return np.tanh(b) * 2.0, b  # b is returned and read again: not overwritten

    x = rng.standard_normal(6)
    jitted = check_replays(f, x)
    kept, w_before = x.copy(), w.copy()
    first = jitted(x)
    second = jitted(x + 1.0)
    numpy.testing.assert_array_equal(x, kept)
    numpy.testing.assert_array_equal(w, w_before)
    numpy.testing.assert_allclose(first[0], f(x)[0], rtol=1e-15)  # not overwritten later
    assert not numpy.shares_memory(first[0], second[0])
    steps = jitted.programs()[0]._steps
    assert any(step[0] == 4 for step in steps)  # a line wrote into a dead value's buffer


def test_a_value_another_line_views_is_never_overwritten() -> None:
    def f(x: Any) -> Any:
        y = np.sin(x)
        v = np.reshape(y, (2, 3))  # a view of y's buffer
        return v, np.exp(y)  # y's last use: its buffer must not take exp's result

    check_replays(f, rng.standard_normal(6))


@pytest.fixture
def hold_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """Programs hold even small intermediates (by default, from 64 kB)."""
    monkeypatch.setattr(staging, "HOLD_FROM", 0)


def held(jitted: Any) -> list[numpy.ndarray]:
    """The buffers the (only) program of `jitted` keeps from call to call."""
    program = jitted.programs()[0]
    return [program._template[s] for s in program._buffers]


@pytest.mark.usefixtures("hold_all")
def test_held_buffers_never_reach_the_caller_and_hold_each_calls_values() -> None:
    w = rng.standard_normal((6, 6))

    def f(x: Any) -> Any:
        h = np.tanh(x @ w)  # a product into a held buffer, tanh into the same one
        g = h * 2.0 + np.sin(x)
        back = (x @ w) * 3.0  # a product carried on in place into a returned value
        view = np.transpose(np.cos(x) * 2.0)  # a view returned: cos * 2 is never held
        return np.sum(g * g, axis=0), back, view

    x = rng.standard_normal((4, 6))
    jitted = check_replays(f, x)
    buffers = held(jitted)
    assert buffers  # the intermediates of the first output
    first = jitted(x)
    second = jitted(-2.0 * x)
    for got, want in zip(first, f(x), strict=True):  # not overwritten by the second call
        numpy.testing.assert_allclose(got, want, rtol=1e-13)
    for out in (*first, *second):
        assert not any(numpy.shares_memory(out, b) for b in buffers)
    assert not numpy.shares_memory(first[1], second[1])


@pytest.mark.usefixtures("hold_all")
def test_a_held_value_read_through_a_view_keeps_its_buffer_until_the_views_last_use() -> None:
    w = rng.standard_normal((6, 6))

    def f(x: Any) -> Any:
        a = np.sin(x) * 2.0  # held: read only through its transpose, which is not returned
        view = np.transpose(a)  # a's last direct read
        b = np.cos(x) * 3.0  # a value of a's shape and dtype, made while the view lives
        return np.sum(view @ (b @ w), axis=0)

    x = rng.standard_normal((4, 6))
    jitted = check_replays(f, x)
    assert len(held(jitted)) >= 2  # a's buffer is not b's
    first = jitted(x)
    jitted(x + 1.0)
    numpy.testing.assert_allclose(first, f(x), rtol=1e-13)


@pytest.mark.usefixtures("hold_all")
def test_a_program_called_while_it_runs_takes_buffers_of_its_own() -> None:
    w = rng.standard_normal((96, 96))

    def f(x: Any) -> Any:
        return np.sum(np.tanh(np.sin(x @ w) * x) ** 2, axis=1)

    jitted = cr.jit(f)
    x = rng.standard_normal((96, 96))
    jitted(x)
    program = jitted.programs()[0]
    before = [b.copy() for b in held(jitted)]
    assert before
    with program._lock:  # as a second thread, or the program itself, would find it
        numpy.testing.assert_allclose(jitted(x + 1.0), f(x + 1.0), rtol=1e-13)
    for b, kept in zip(held(jitted), before, strict=True):  # the running call's, untouched
        numpy.testing.assert_array_equal(b, kept)
    inputs = [rng.standard_normal((96, 96)) for _ in range(16)]
    with ThreadPoolExecutor(4) as pool:  # (NumPy releases the GIL: calls do overlap)
        results = list(pool.map(lambda a: [jitted(a) for _ in range(20)], inputs))
    for a, runs in zip(inputs, results, strict=True):
        for got in runs:
            numpy.testing.assert_allclose(got, f(a), rtol=1e-13)


RECYCLES = pytest.mark.skipif(not staging.RECYCLING, reason="no recycling: free-threaded")


def address(a: numpy.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


@RECYCLES
def test_returned_arrays_nobody_holds_are_written_again_and_held_ones_never() -> None:
    f = cr.jit(lambda x: np.tanh(x * 2.0) + 1.0)  # 320 kB results: from the pools
    x = rng.standard_normal((200, 200))

    def want(c: float) -> Any:
        return numpy.tanh((x + c) * 2.0) + 1.0

    f(x)
    first = f(x)
    kept, where = first.copy(), address(first)
    second = f(x + 1.0)  # the first is held by its name: a new array
    assert address(second) != where
    numpy.testing.assert_array_equal(first, kept)
    del first
    third = f(x + 2.0)  # nobody holds the first's array any more: written again
    assert address(third) == where
    numpy.testing.assert_allclose(third, want(2.0), rtol=1e-15)
    rows = third[::2]  # a view holds its array; so do a container and a weak reference
    box = [second]
    del second, third
    numpy.testing.assert_allclose(f(x + 3.0), want(3.0), rtol=1e-15)
    numpy.testing.assert_allclose(rows, want(2.0)[::2], rtol=1e-15)
    numpy.testing.assert_allclose(box[0], want(1.0), rtol=1e-15)
    for change in (
        lambda a: a.setflags(write=False),
        lambda a: setattr(a, "shape", (1, *a.shape)),  # (a ufunc would broadcast into it)
        lambda a: setattr(a, "dtype", numpy.dtype(">f8")),
    ):  # a result changed in place, then dropped, is not written into again
        changed = f(x + 4.0)
        change(changed)
        del changed
        got = f(x + 5.0)
        assert got.flags.writeable and got.shape == x.shape and got.dtype == numpy.float64
        numpy.testing.assert_allclose(got, want(5.0), rtol=1e-15)
        del got
    g = cr.jit(lambda x: np.tanh(x * 2.0) + 1.0)
    g(x)  # (traced: a result of the tracing, in no pool)
    ref = weakref.ref(g(x))  # (the pool alone keeps it alive: its referent can come back)
    g(x + 4.0)
    numpy.testing.assert_allclose(ref(), want(0.0), rtol=1e-15)


@RECYCLES
def test_a_loop_feeding_results_back_alternates_between_two_arrays() -> None:
    step = cr.jit(lambda p: np.transpose(p * 0.5) + 1.0)  # (a view of a pooled array too)
    p = rng.standard_normal((300, 300))
    want = p.copy()
    seen = []
    for _ in range(7):  # (the first traces: its result is the tracing's)
        p = step(p)  # the call's input is the last result: the one before is free
        want = want.T * 0.5 + 1.0
        seen.append(address(p))
    numpy.testing.assert_allclose(p, want, rtol=1e-15)
    assert len(set(seen[1:])) == 2
    pools = step.programs()[0]._pools
    assert pools and all(len(pool) == staging.RECENT for pool in pools)
    cloudpickle = pytest.importorskip("cloudpickle")
    copy = cloudpickle.loads(cloudpickle.dumps(step))  # (the pools do not travel)
    assert not any(copy.programs()[0]._pools)
    numpy.testing.assert_allclose(copy(p), want.T * 0.5 + 1.0, rtol=1e-15)


def test_programs_hold_large_intermediates_up_to_hold_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def f(x: Any) -> Any:
        return np.sum(np.exp(np.sin(x) * 2.0) * np.cos(x))

    x = rng.standard_normal(10_000)  # 80 kB a value
    for limit, some in ((0, False), (80_000, True), (1 << 25, True)):
        monkeypatch.setattr(staging, "HOLD_BYTES", limit)
        jitted = check_replays(f, x)
        assert sum(b.nbytes for b in held(jitted)) <= limit
        assert bool(held(jitted)) == some
    small = check_replays(f, x[:1000])  # 8 kB: the allocator's own caches serve it
    assert not held(small) and small.programs()[0]._lock is None


@pytest.mark.usefixtures("hold_all")
@pytest.mark.parametrize("bias_dtype", [None, numpy.float32, numpy.float64])
def test_linear_into_a_held_buffer_casts_as_numpy_adds_the_bias(bias_dtype: Any) -> None:
    x = rng.standard_normal((5, 3)).astype(numpy.float32)
    w = rng.standard_normal((4, 3)).astype(numpy.float32)
    b = None if bias_dtype is None else rng.standard_normal(4).astype(bias_dtype)

    def f(x: Any) -> Any:
        return np.tanh(nn.functional.linear(x, w, b)) * 2.0

    jitted = check_replays(f, x, rtol=1e-6)
    assert held(jitted)
    assert jitted(x).dtype == f(x).dtype


def twenty_operations(x: Any) -> Any:
    h = x
    for _ in range(5):
        h = np.sin(h) * 1.5 + np.tanh(h) * x
    return h


def peak(g: Any, x: Any) -> int:
    """The most memory `g(x)` held at once, in bytes (what tracemalloc saw allocated)."""
    tracemalloc.start()
    try:
        g(x)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "fun", [twenty_operations, cr.grad(lambda x: np.sum(twenty_operations(x) ** 2))],
    ids=["forward", "grad"],
)  # fmt: skip
def test_a_replay_allocates_less_than_the_eager_call(fun: Any) -> None:
    x = rng.standard_normal(100_000)
    jitted = cr.jit(fun)
    jitted(x)
    # forward: eager holds three arrays at once (h, sin(h) * 1.5, tanh(h)); the replay two,
    # writing each result into the buffer of an argument that dies there
    assert peak(jitted, x) < peak(fun, x)
    numpy.testing.assert_allclose(jitted(-x), fun(-x), rtol=1e-12)


def test_a_relus_mask_is_made_where_its_input_dies() -> None:
    # The backward pass reads `z > 0` long after the forward made z: the mask (a byte an
    # entry) is taken as soon as `z`'s last other reader has run, and z dies there.
    w1, w2 = rng.standard_normal((64, 32)), rng.standard_normal((32, 1))

    def loss(x: Any) -> Any:
        z = x @ w1
        return np.sum((np.maximum(z, 0.0) @ w2) ** 2)

    x = rng.standard_normal((40, 64))
    program = cr.make_program(cr.grad(loss))(x)
    lines = [eq.name for eq in program.equations]
    assert lines[lines.index("maximum") + 1] == "greater"
    z = next(eq.outs[0] for eq in program.equations if eq.name == "matmul")
    readers = [k for k, eq in enumerate(program.equations) if any(a is z for a in eq.args)]
    assert max(readers) == lines.index("greater")
    jitted = cr.jit(cr.grad(loss))
    for new in (x, -x):
        numpy.testing.assert_array_equal(jitted(new), cr.grad(loss)(new))


@pytest.mark.parametrize("kw", [False, True])
def test_the_call_path_for_positional_arrays_keys_shapes_and_dtypes(kw: bool) -> None:
    f = cr.jit(lambda x, y: {"s": x + y, "p": x * y})
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    call = (lambda a, b: f(a, y=b)) if kw else f
    got = call(x, y)
    assert set(got) == {"s", "p"}
    numpy.testing.assert_array_equal(call(y, x)["p"], y * x)
    assert call(x.astype(numpy.float32), y.astype(numpy.float32))["s"].dtype == numpy.float32
    numpy.testing.assert_array_equal(call(x[:2], y[:2])["s"], x[:2] + y[:2])
    assert len(f.programs()) == 3
    single = cr.jit(lambda x: x * 2.0)
    assert isinstance(single(x), numpy.ndarray) and isinstance(single(x), numpy.ndarray)


def test_the_call_path_keys_signatures_not_just_arrays() -> None:
    f = cr.jit(lambda x, y: x * y)
    x = rng.standard_normal(3)
    numpy.testing.assert_array_equal(f(x, x), x * x)
    numpy.testing.assert_array_equal(f(x, 2.0), x * 2.0)  # a Python number: traced weakly
    numpy.testing.assert_array_equal(f(x, 3.0), x * 3.0)
    assert f(x.astype(numpy.float32), 2.0).dtype == numpy.float32
    numpy.testing.assert_array_equal(f(x[:2], numpy.float64(-1.0)), -x[:2])  # NumPy scalar
    numpy.testing.assert_array_equal(f(x, x[:1]), x * x[0])
    assert len(f.programs()) == 5


def test_the_cache_drops_the_program_used_least_recently() -> None:
    traced = []
    f = cr.jit(lambda x: traced.append(x.shape) or x * 2.0, cache_size=2)
    a, b, c = numpy.ones(1), numpy.ones(2), numpy.ones(3)
    for x in (a, b, a, c):  # c's program pushes out b's: a's was used after it
        f(x)
    assert traced == [(1,), (2,), (3,)]
    f(a)
    assert traced == [(1,), (2,), (3,)]
    f(b)  # traced again, in place of c's program, used before a's
    f(a)
    assert traced == [(1,), (2,), (3,), (2,)]
    f(c)
    assert traced == [(1,), (2,), (3,), (2,), (3,)]
    assert len(f.programs()) == 2


def test_small_programs_keep_their_values_large_ones_free_them() -> None:
    def f(x: Any) -> Any:
        return np.sum(np.tanh(np.maximum(x, 0.0) * x) * np.sin(x))

    small, large = rng.standard_normal(10), rng.standard_normal(20_000)
    for x, frees in ((small, False), (large, True)):
        jitted = cr.jit(cr.grad(f))
        jitted(x)
        steps = jitted.programs()[0]._steps
        assert any(step[0] == 6 for step in steps) == frees
        new = x[::-1] * 1.7 - 0.2
        numpy.testing.assert_array_equal(jitted(new), cr.grad(f)(new))
    relu = cr.jit(lambda x: np.maximum(np.sin(x), 0.0) * x)
    relu(small)
    # NumPy 2.4 deprecates a positional `out` for maximum: it is given by keyword
    assert [step[0] for step in relu.programs()[0]._steps] == [1, 7, 4]
    numpy.testing.assert_array_equal(relu(-small), numpy.maximum(numpy.sin(-small), 0) * -small)


def test_jit_inside_grad_inside_jit() -> None:
    inner = cr.jit(lambda x: np.sum(np.maximum(x, 0.0) ** 2 * np.sin(x)))
    outer = cr.jit(cr.grad(lambda x: inner(x) * 2.0 + np.sum(x)))
    eager = cr.grad(lambda x: np.sum(np.maximum(x, 0.0) ** 2 * np.sin(x)) * 2.0 + np.sum(x))
    x = rng.standard_normal(5)
    outer(x)
    for new in (-x, x + 0.5):
        numpy.testing.assert_allclose(outer(new), eager(new), rtol=1e-13)


@pytest.mark.parametrize(
    "fun, x",
    [
        (lambda x: x * 0.1 + 3, numpy.arange(4, dtype=numpy.float32)),  # weak: float32 kept
        (lambda x: x * 0.5 - 2, numpy.arange(4)),  # int64 times a float: float64
        (lambda x: x**2 + numpy.float32(1.5), numpy.arange(4, dtype=numpy.int32)),
        (lambda x: np.arctan2(x, 3) / numpy.float64(3.0), numpy.linspace(-1, 1, 4, dtype=numpy.float32)),
        (lambda x: np.maximum(x, 2.5), numpy.arange(4, dtype=numpy.int32)),
        (lambda x: (x * 1j + 0.3) * 2, numpy.linspace(-1, 1, 4)),
    ],
    ids=["float32", "int-float", "int32-power", "arctan2", "int-maximum", "complex"],
)  # fmt: skip
def test_scalar_constants_cast_as_numpy_casts_them(fun: Any, x: Any) -> None:
    """Scalar constants of elementwise lines are stored as the 0-d arrays NumPy casts them to:
    the replay is bit for bit the eager call, in its dtype."""
    jitted = cr.jit(fun)
    jitted(x)
    new = x[::-1] * 3
    got, want = jitted(new), fun(new)
    assert got.dtype == want.dtype
    numpy.testing.assert_array_equal(got, want)


def test_vmap_of_jit_replays_a_compiled_batched_program() -> None:
    traced = []

    def f(w: Any, x: Any, power: int = 2, *, shift: Any = 0.0) -> Any:
        traced.append(1)
        return {"y": np.sum(np.maximum(x @ w + shift, 0.0) ** power), "w": w}

    jitted = cr.jit(f, static_argnames="power")
    eager = cr.vmap(lambda w, x, s: f(w, x, power=3, shift=s), in_axes=(None, 0, 0))
    mapped = cr.vmap(lambda w, x, s: jitted(w, x, power=3, shift=s), in_axes=(None, 0, 0))
    w, x, s = rng.standard_normal((3, 2)), rng.standard_normal((5, 4, 3)), rng.standard_normal(5)
    mapped(w, x, s)
    before = len(traced)
    for new in ((-w, x * 2, -s), (w, -x, s + 1.0)):  # masks flip
        got, want = mapped(*new), eager(*new)
        numpy.testing.assert_allclose(got["y"], want["y"], rtol=1e-13)
        numpy.testing.assert_array_equal(got["w"], want["w"])  # shared input, broadcast
    assert len(traced) == before + 2  # only `eager` ran `f`: the vmap calls replayed
    assert len(jitted.programs()) == 1


def test_jit_under_vmap_with_other_transforms_still_runs_under_them() -> None:
    def plain(w: Any, x: Any) -> Any:
        return np.sum(np.tanh(x * w) * np.maximum(x, 0.0))

    f = cr.jit(plain)
    w, xs = rng.standard_normal(3), rng.standard_normal((4, 3))

    def loss(w: Any, f: Any) -> Any:  # w is differentiated, x batched: f runs under both
        return np.sum(cr.vmap(f, in_axes=(None, 0))(w, xs))

    for v in (w, -w):
        numpy.testing.assert_allclose(cr.grad(loss)(v, f), cr.grad(loss)(v, plain), rtol=1e-13)
    nested = cr.vmap(cr.vmap(f, in_axes=(None, 0)), in_axes=(None, 0))
    xss = rng.standard_normal((2, 4, 3))
    for batch in (xss, -xss):
        want = [[plain(w, r) for r in b] for b in batch]
        numpy.testing.assert_allclose(nested(w, batch), want, rtol=1e-13)


def test_a_traced_value_prints_its_shape_and_dtype() -> None:
    seen = []
    cr.jit(lambda x: seen.append(repr(x)) or x)(numpy.ones((2, 3), numpy.float32))
    assert seen[0].startswith("Traced<v0:float32[2,3]>"), seen  # recursed before


def test_a_returned_array_is_the_callers_to_change() -> None:
    table = numpy.arange(3.0)
    f = cr.jit(lambda x: (x * 1.0, table * 2.0, np.sum(x)))
    x = numpy.ones(3)
    y, t, _ = f(x)
    y += 1.0  # eager gives a new array: so must the replay, not `x` itself
    t += 1.0  # nor the program's own constant, to be returned again next call
    for _ in range(2):
        y, t, _ = f(x)
        numpy.testing.assert_array_equal(x, numpy.ones(3))
        numpy.testing.assert_array_equal(t, [0.0, 2.0, 4.0])
    twice = cr.jit(lambda x: (np.cos(x), np.cos(x) * numpy.ones(3), np.sin(x) * 1.0))
    a, b, _ = twice(x)
    assert not numpy.shares_memory(a, b)  # two outputs, two arrays, as eagerly
    assert [eq.name for eq in twice.programs()[0].equations] == ["cos", "multiply", "sin"]
    views = cr.jit(lambda x: (lambda y: (y, np.transpose(x) * 1.0, np.transpose(y) * 1.0))(x * 2))
    x = numpy.ones((2, 3))
    for _ in range(2):  # nor a view of an input or of another result
        y, xt, yt = views(x)
        assert not numpy.shares_memory(xt, x) and not numpy.shares_memory(y, yt)


def mixed(w: Any, x: Any) -> Any:
    """Views, indexing, broadcasting, reductions and masks, for the engine to get wrong."""
    h = np.tanh(x @ w)  # (4, 2)
    t = np.transpose(h)  # a view of h's buffer, read after h's last elementwise use
    g = np.exp(h) * 2.0
    r = np.sum(g[1:] * t.T[1:], axis=0) + np.max(np.where(h > 0, h, -h), axis=0)
    return np.sum(r**2) + np.sum(np.reshape(g, (-1,))[::3])


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize(
    "transform",
    [lambda f: f, cr.grad, lambda f: cr.value_and_grad(f, argnums=(0, 1)), cr.hessian],
    ids=["forward", "grad", "value_and_grad", "hessian"],
)
def test_replays_of_views_indexing_and_masks_equal_eager(transform: Any, dtype: Any) -> None:
    fun = transform(mixed)
    w, x = rng.standard_normal((3, 2)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype)
    jitted = cr.jit(fun)
    jitted(w, x)
    for new in ((-w, x), (w * 2, -x), (w[::-1].copy(), x[::-1].copy())):
        got, want = jitted(*new), fun(*new)
        for a, b in zip(cr.tree.leaves(got), cr.tree.leaves(want), strict=True):
            assert numpy.asarray(a).dtype == numpy.asarray(b).dtype
            numpy.testing.assert_array_equal(a, b)  # the same NumPy calls, in the same order
    assert len(jitted.programs()) == 1


def test_relu_gates_replay_the_eager_product_and_its_exact_fallback() -> None:
    """Under jit, a ReLU's backward gate is one line running the eager gate on each call's
    values: the fast product on finite cotangents, `where` when one is infinite. A gate
    frozen at its tracing branch would give NaN below (inf * 0)."""
    f = cr.grad(lambda x: np.sum(np.sqrt(np.maximum(x, 0.0))))
    jitted = cr.jit(f)
    x = numpy.array([1.0, 4.0, 9.0])
    numpy.testing.assert_array_equal(jitted(x), f(x))  # traced on finite cotangents
    assert "select" in [eq.name for eq in jitted.programs()[0].equations]
    with numpy.errstate(divide="ignore"):
        zero = numpy.array([0.0, -1.0, 4.0])
        numpy.testing.assert_array_equal(jitted(zero), [0.0, 0.0, 0.25])
        numpy.testing.assert_array_equal(jitted(zero), f(zero))
    mlp = cr.grad(lambda w, x: np.sum(np.maximum(np.maximum(x @ w, 0.0) @ w.T, 0.0) ** 2))
    w, xs = rng.standard_normal((3, 3)), rng.standard_normal((5, 3))
    jitted = cr.jit(mlp)
    jitted(w, xs)
    for new in ((-w, xs), (w, -xs)):
        numpy.testing.assert_array_equal(jitted(*new), mlp(*new))


@pytest.mark.usefixtures("hold_all")
def test_relu_gates_write_into_held_buffers_on_both_of_their_paths() -> None:
    """The gate of a ReLU whose cotangent is only read by lines making new arrays (and
    through a transpose, a view) writes into a buffer the program holds, on its fast path
    and on its exact fallback alike."""

    def loss(w: Any, x: Any) -> Any:  # (the weight's gradient reads the gate's transpose)
        return np.sum(nn.linear(np.sqrt(np.maximum(nn.linear(x, w), 0.0)), w))

    f = cr.grad(loss)
    w, x = numpy.abs(rng.standard_normal((3, 3))) + 0.1, numpy.abs(rng.standard_normal((5, 3)))
    jitted = cr.jit(f)
    jitted(w, x)
    program = jitted.programs()[0]
    gates = [s for s in program._steps if s[1] is common.select.plain]
    assert gates and all(s[4] in program._buffers for s in gates)
    for new in ((w, x * 0.5), (w, -x)):  # finite cotangents; then sqrt'(0) = inf, gated off
        with numpy.errstate(divide="ignore"):
            numpy.testing.assert_array_equal(jitted(*new), f(*new))
            numpy.testing.assert_array_equal(jitted(*new), f(*new))  # the buffer used again


def test_jit_under_grad_jvp_and_higher_orders_runs_fun_under_them() -> None:
    w = numpy.array([0.5, -1.5])
    # closing over the differentiated value, as eagerly
    closure = cr.grad(lambda w: np.sum(cr.jit(lambda x: x * w)(w * 2.0)))
    numpy.testing.assert_allclose(closure(w), 4.0 * w)
    # an integer output beside the differentiated one
    f = cr.jit(lambda x: (np.sum(x**3), np.argmax(x)))
    numpy.testing.assert_allclose(cr.grad(lambda x: f(x)[0])(w), 3 * w**2)
    # higher orders and forward mode
    g = cr.jit(lambda x: np.sum(np.sin(x) * x))
    numpy.testing.assert_allclose(cr.hessian(g)(w), cr.hessian(lambda x: np.sum(np.sin(x) * x))(w))
    tangent = cr.jvp(g, (w,), (numpy.ones(2),))[1]
    numpy.testing.assert_allclose(tangent, numpy.sum(numpy.sin(w) + w * numpy.cos(w)))
    # jit of grad of jit, and grad under vmap
    inner = cr.jit(lambda x: np.sum(np.tanh(x) ** 2))
    outer = cr.jit(cr.grad(lambda x: inner(x) * 3.0))
    plain = cr.grad(lambda x: np.sum(np.tanh(x) ** 2) * 3.0)
    for v in (w, -2 * w):
        numpy.testing.assert_allclose(outer(v), plain(v), rtol=1e-13)
    xs = rng.standard_normal((3, 2))
    want = cr.vmap(cr.grad(lambda x: np.sum(np.tanh(x) ** 2)))(xs)
    numpy.testing.assert_allclose(cr.vmap(cr.grad(inner))(xs), want, rtol=1e-13)


def test_grad_of_jit_replays_compiled_forward_and_pullback_programs() -> None:
    traced = []

    def f(w: Any, x: Any, scale: float = 1.0) -> Any:
        traced.append(1)
        h = np.maximum(x @ w, 0.0)
        return {"loss": np.sum(h**2) * scale, "h": h}

    jf = cr.jit(f, static_argnames="scale")

    def loss(w: Any, x: Any, f: Any) -> Any:
        out = f(w, x, scale=0.5)
        return out["loss"] + np.sum(np.sin(out["h"]))

    both = cr.grad(loss, argnums=(0, 1))
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    both(w, x, jf)
    first = len(traced)
    for new in ((-w, x), (w, -x), (w * 2, x[::-1].copy())):  # masks flip
        for a, b in zip(both(*new, jf), both(*new, f), strict=True):
            numpy.testing.assert_allclose(a, b, rtol=1e-13)
    assert len(traced) == first + 3  # only the eager `f` ran: grad(jit(f)) replayed
    for v in (w, -w):  # only w differentiated: another pullback program
        numpy.testing.assert_allclose(cr.grad(loss)(v, x, jf), cr.grad(loss)(v, x, f), rtol=1e-13)
    assert len(jf.programs()) == 4  # forward and pullback, for (w, x) and for w
    assert len(traced) == first + 3 + 2 + 2  # (one trace of each, and the eager calls)


def test_grad_of_jit_with_a_traced_cotangent_runs_the_pullback_under_its_transform() -> None:
    """The cotangent reaching a compiled call can carry an outer transform's tracer (here
    `t`, differentiated by jvp, scales the output): its pullback then runs under it."""
    plain = lambda x: np.sin(x) * x
    x0, t0 = rng.standard_normal(3), rng.standard_normal(3)
    for f in (cr.jit(plain), plain):
        h = lambda t, f=f: cr.grad(lambda x: np.sum(f(x) * t))(x0)
        got = cr.jvp(h, (t0,), (numpy.ones(3),))
        want = cr.jvp(
            lambda t: cr.grad(lambda x: np.sum(plain(x) * t))(x0), (t0,), (numpy.ones(3),)
        )
        for a, b in zip(got, want, strict=True):
            numpy.testing.assert_allclose(a, b, rtol=1e-13)
    per_example = cr.vmap(cr.grad(lambda x, t: np.sum(cr.jit(plain)(x) * t)), in_axes=(None, 0))
    ts = rng.standard_normal((4, 3))
    want = [cr.grad(lambda x, t=t: np.sum(plain(x) * t))(x0) for t in ts]
    numpy.testing.assert_allclose(per_example(x0, ts), want, rtol=1e-13)


def test_a_jitted_function_pickles_without_its_held_buffers() -> None:
    # (as Dask sends a jitted loss to its workers): the buffers travel as shapes and dtypes
    cloudpickle = pytest.importorskip("cloudpickle")
    f = cr.jit(lambda a: np.sum(np.tanh(a * 2.0) + 1.0))
    x = rng.standard_normal((200, 200))
    f(x)
    assert held(f)
    data = cloudpickle.dumps(f)
    assert len(data) < x.nbytes  # not the 320 kB buffers
    g = cloudpickle.loads(data)
    numpy.testing.assert_allclose(g(-x), f(-x), rtol=1e-15)
    assert held(g) and not any(numpy.shares_memory(a, b) for a in held(g) for b in held(f))


# --- runs of elementwise lines, by blocks of rows ---------------------------------------------


def runs_of(jitted: Any) -> list[Any]:
    return [s[1] for p in jitted.programs() for s in p._steps if isinstance(s[1], blocks.Blocks)]


COLUMN = rng.standard_normal((301, 1)).astype(numpy.float32)
NOISE = rng.standard_normal((301, 97)).astype(numpy.float32)


def chain(x: Any, row: Any) -> Any:
    """Exact elementwise lines on one (301, 97) shape: broadcast operands (a row, a column,
    a scalar, a constant of the full shape), values read again later in the run, a mask,
    one value read after the run (by `sum`), one returned."""
    a = x * 0.9 + row
    b = np.sqrt(a * a + 1.0) / (COLUMN - 3.0)
    c = np.maximum(b, -a) - NOISE * b
    d = (c > 0.1) * c + np.minimum(a, c) * a
    return d * 2.0 - c, np.sum(d, axis=0), a


@pytest.mark.parametrize("block_bytes", [4096, 1 << 30])
def test_runs_by_blocks_give_the_bits_of_the_lines_one_by_one(
    block_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocks, "BLOCK_BYTES", block_bytes)  # 10 rows a block: 30, then 1
    x = rng.standard_normal((301, 97)).astype(numpy.float32)
    row = rng.standard_normal(97).astype(numpy.float32)
    jitted = cr.jit(chain)
    jitted(x, row)
    assert len(runs_of(jitted)) == (block_bytes == 4096)
    for new in (x[::-1] * 1.5 - 0.2, numpy.asfortranarray(x * -0.7)):  # (F order: whole)
        for got, want in zip(jitted(new, row), chain(new, row), strict=True):
            assert got.dtype == want.dtype
            numpy.testing.assert_array_equal(got, want)


def test_a_transcendental_function_ends_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 4096)
    f = cr.jit(lambda x: np.exp(x * 2.0 + 1.0) * 3.0 - x)
    x = rng.standard_normal((64, 64))
    f(x)
    assert [len(r.steps) for r in runs_of(f)] == [2, 2]  # exp is a line of its own
    numpy.testing.assert_array_equal(f(-x), numpy.exp(-x * 2.0 + 1.0) * 3.0 + x)


def test_a_run_writes_into_buffers_of_values_it_last_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Adam's update of a large weight, as W2 writes it: p, m, v in; new p, m, v out
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 1 << 14)

    def adam(p: Any, g: Any, m: Any, v: Any) -> Any:
        g = np.tanh(g)  # (a value the program owns, dying in the run)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        return p - 0.01 * m / (np.sqrt(v / 0.001) + 1e-8), m, v

    step = cr.jit(adam)
    args = [rng.standard_normal((128, 128)) for _ in range(4)]
    args[3] = numpy.abs(args[3])
    step(*args)
    (run,) = runs_of(step)
    assert run.into.count(None) == 2  # one output into the dying tanh, two new (returned)
    for scale in (0.5, -2.0):
        new = [a * scale for a in args]
        new[3] = numpy.abs(new[3])
        for got, want in zip(step(*new), adam(*new), strict=True):
            numpy.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_a_relu_gate_joins_a_run_and_gives_the_bits_of_eager_code(
    dtype: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The gate passes g's bits where the mask holds (a -0.0, a NaN) and +0 elsewhere (an
    # infinity or NaN not selected does not leak in as inf * 0), in any block of rows.
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 4096)
    y = NOISE.astype(dtype)
    y[:3, :4] = [[numpy.inf, -numpy.inf, numpy.nan, -0.0]] * 3

    def f(x: Any, y: Any) -> Any:
        return np.sum(np.maximum(x * 2.0, 0.0) * y)

    x = rng.standard_normal((301, 97)).astype(dtype)
    x[0, :4], x[1, :4] = -1.0, 1.0  # row 0: none selected; row 1: all
    grad = cr.jit(cr.grad(f))
    got, want = grad(x, y), cr.grad(f)(x, y)
    assert any(fn is common.select.plain for r in runs_of(grad) for fn, _, _ in r.steps)
    numpy.testing.assert_array_equal(got, want)
    assert (numpy.signbit(got) == numpy.signbit(want)).all()
    numpy.testing.assert_array_equal(got[0, :4], [0.0] * 4)
    assert not numpy.signbit(got[0, :4]).any()
    numpy.testing.assert_array_equal(got[1, :4], [numpy.inf, -numpy.inf, numpy.nan, -0.0])
    assert numpy.signbit(got[1, 3])


def test_a_program_with_runs_by_blocks_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    cloudpickle = pytest.importorskip("cloudpickle")
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 4096)
    x, row = NOISE * 2.0, NOISE[0]
    f = cr.jit(chain)
    f(x, row)
    g = cloudpickle.loads(cloudpickle.dumps(f))
    for a, b in zip(g(-x, row), chain(-x, row), strict=True):
        numpy.testing.assert_array_equal(a, b)
    assert runs_of(g)


@pytest.mark.parametrize("seed", range(5))
def test_a_run_on_inputs_not_c_contiguous_gives_numpys_memory_order(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # replayed whole, into new arrays: a later sum adds in the same order as line by line
    def f(x: Any, z: Any, n: Any) -> Any:
        a = np.square(x)  # F-ordered, as x, and dying in the run
        b = a / np.transpose(np.transpose(z))
        return b, np.sum(np.minimum((a > 2.0) * b, -n))

    r = numpy.random.default_rng(seed)
    x = numpy.asfortranarray(r.standard_normal((67, 45)))
    z = r.standard_normal((67, 45))[::-1]
    n = numpy.asfortranarray((r.standard_normal((67, 45)) * 5).astype(numpy.int32))
    results = []
    for block_bytes in (1000, 1 << 30):
        monkeypatch.setattr(blocks, "BLOCK_BYTES", block_bytes)
        jitted = cr.jit(f)
        jitted(x, z, n)
        assert len(runs_of(jitted)) == (block_bytes == 1000)
        results.append(jitted(x, z, n))
    for a, b in zip(*results, strict=True):
        numpy.testing.assert_array_equal(a, b)


def test_static_positions_count_from_the_end_and_per_number_of_arguments() -> None:
    traced: list[Any] = []

    def f(x: Any, *rest: Any) -> Any:
        traced.append(rest)
        return x * rest[-1]

    g = cr.jit(f, static_argnums=-1)  # the last argument, however many there are
    x = numpy.arange(3.0)
    numpy.testing.assert_array_equal(g(x, 2.0), x * 2.0)
    numpy.testing.assert_array_equal(g(x, numpy.ones(3), 3.0), x * 3.0)
    numpy.testing.assert_array_equal(g(x, 2.0), x * 2.0)  # cached: no new tracing
    numpy.testing.assert_array_equal(g(x, 5.0), x * 5.0)  # a new static value: traced
    assert len(traced) == 3 and traced[-1] == (5.0,)
    with pytest.raises(TypeError, match="static"):
        g(x, [1.0])  # (unhashable static argument)
