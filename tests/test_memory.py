"""Memory in eager reverse mode: the tape keeps only what the rules read (`defsaves`), and
the sweep adds cotangents in place only into buffers it allocated itself. Memory under
`jit`: the plan of a program (the buffers its replay holds at once), checked on the plan."""

from __future__ import annotations

import tracemalloc
import weakref
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.core import blocks, reverse, staging
from chainrule.core.primitive import Primitive, defsaves, defvjp, primitive
from chainrule.core.reverse import Node, accumulate
from chainrule.numpy.rules import elementwise, products


def w8(x):  # bench W8's function: 20 operations
    h = x
    for _ in range(4):
        h = np.tanh(h * x + 0.1) * 0.5 + h
    return np.sum(h)


def w8_grad(x: numpy.ndarray) -> numpy.ndarray:
    """Forward mode by hand, elementwise."""
    h, dh = x, numpy.ones_like(x)
    for _ in range(4):
        t = numpy.tanh(h * x + 0.1)
        dh = 0.5 * (1 - t * t) * (dh * x + h) + dh
        h = 0.5 * t + h
    return dh


def test_the_tape_lets_go_of_what_no_rule_reads() -> None:
    refs = {}

    def f(x):
        a = x * x  # multiply reads its arguments, not its result
        b = a + 0.1  # add reads nothing
        c = np.tanh(b)  # tanh reads its result
        refs.update(a=weakref.ref(a.value), b=weakref.ref(b.value), c=weakref.ref(c.value))
        return np.sum(c)

    x = numpy.linspace(-1.0, 1.0, 10_000)  # 80 kB: above `LEAN_BYTES`
    _, pullback = cr.vjp(f, x)  # the tape is alive: pullback may run again
    assert refs["a"]() is None and refs["b"]() is None
    assert refs["c"]() is not None
    t = numpy.tanh(x * x + 0.1)
    for _ in range(2):  # the residuals serve every sweep
        numpy.testing.assert_allclose(pullback(1.0)[0], (1 - t * t) * 2 * x, rtol=1e-14)


def test_a_wrong_declaration_raises_instead_of_a_wrong_number() -> None:
    cube = primitive(numpy.power, "cube_test")
    defvjp(cube, lambda g, ans, x, y: g * 3.0 * x * x, None)
    defsaves(cube, "ans")  # wrong: the rule reads x
    with pytest.raises(RuntimeError, match=r"cube_test.*residual declaration"):
        cr.grad(lambda x: np.sum(cube(x, 3)))(numpy.ones(10_000))


def test_small_results_keep_their_values() -> None:
    # below `LEAN_BYTES` the node's bookkeeping outweighs what it could let go: keep all
    refs = []

    def f(x):
        a = x * x
        refs.append(weakref.ref(a.value))
        return np.sum(np.tanh(a))

    _, _pullback = cr.vjp(f, numpy.linspace(-1.0, 1.0, 7))  # (keeps the tape alive)
    assert refs[0]() is not None


def _declared() -> list:
    """Every primitive of the elementwise and product families that declares its residuals."""
    found = {}
    for module in (elementwise, products):
        for value in vars(module).values():
            if isinstance(value, Primitive) and value.saves is not None:
                found[value.name] = value
    return sorted(found.values(), key=lambda p: p.name)


def _arguments(prim) -> tuple:
    x = numpy.linspace(0.15, 0.85, 12).reshape(3, 4)
    if prim.name == "matmul":
        return (x, numpy.linspace(-1.0, 1.0, 4))
    if prim.name == "where":
        return (x > 0.5, x, 2.0 * x[0])  # the last one broadcast: its cotangent is summed
    if prim.name in ("real", "imag", "conjugate"):
        return (x + 0.5j * x[::-1],)
    n = len(prim.vjps)
    first = x + 1.0 if prim.name == "arccosh" else x
    return (first, 0.5 + x[::-1])[:n] if n == 2 else (first,)


@pytest.mark.parametrize("prim", _declared(), ids=lambda p: p.name)
def test_declared_residuals_are_all_the_rules_read(prim, monkeypatch) -> None:
    # Released stand-ins for every undeclared value, however small: a rule that reads one
    # raises; first and second derivatives equal those of a tape that keeps everything.
    args = _arguments(prim)
    traced = [i for i, a in enumerate(args) if a.dtype != bool]

    def loss(*xs):
        full = list(args)
        for i, v in zip(traced, xs, strict=True):
            full[i] = v
        y = prim(*full)
        return np.sum(np.real(y * np.conj(y)))  # (saves its arguments: y stays either way)

    def first(*xs):
        return cr.grad(loss, argnums=tuple(range(len(xs))))(*xs)

    def second(*xs):
        return cr.grad(lambda *v: sum(np.sum(np.real(g * g)) for g in first(*v)))(*xs)

    xs = [args[i] for i in traced]
    fat = (first(*xs), second(*xs))
    monkeypatch.setattr(reverse, "LEAN_BYTES", 0)
    lean = (first(*xs), second(*xs))
    for a, b in zip(fat[0], lean[0], strict=True):
        numpy.testing.assert_array_equal(b, a)
    numpy.testing.assert_array_equal(lean[1], fat[1])


@pytest.mark.parametrize("lean", [False, True])
def test_only_grads_tapes_are_lean(lean: bool) -> None:
    # `chainrule.explain` and `draw` record with `lean=False`: they show every value
    refs = []

    def f(v):
        a = v[0] * v[0]
        refs.append(weakref.ref(a.value))
        return [np.sum(np.tanh(a))]

    trace, _, _ = reverse.record(f, [numpy.linspace(-1.0, 1.0, 10_000)], lean=lean)
    assert (refs[0]() is None) == lean
    assert len(trace.tape) == 3


@pytest.mark.parametrize("n", [10, 100_000])
def test_w8_gradient_and_memory(n: int) -> None:
    x = numpy.linspace(-1.0, 1.0, n)
    numpy.testing.assert_allclose(cr.grad(w8)(x), w8_grad(x), rtol=1e-13, atol=1e-15)
    if n < 100_000:
        return
    # What the recorded tape holds: x, h1..h3 (read by h * x), the four tanh results and h4
    # (read by sum): 9 arrays of n, where it held all 21 results and x before.
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _, pullback = cr.vjp(w8, x)
        held = (tracemalloc.get_traced_memory()[0] - before) / x.nbytes
    finally:
        tracemalloc.stop()
    assert held < 10, held
    numpy.testing.assert_allclose(pullback(1.0)[0], w8_grad(x), rtol=1e-13, atol=1e-15)


def test_in_place_only_into_the_sweeps_own_buffers() -> None:
    node = Node(None, (), {}, None, ())
    seed = numpy.ones(3)
    node.ct = seed  # not the sweep's: a sum makes a new buffer
    accumulate(node, numpy.full(3, 2.0))
    assert node.ct is not seed and node.own
    numpy.testing.assert_array_equal(seed, numpy.ones(3))
    buffer = node.ct
    accumulate(node, numpy.full(3, 4.0))  # now in place
    assert node.ct is buffer
    numpy.testing.assert_array_equal(buffer, numpy.full(3, 7.0))
    accumulate(node, numpy.full((2, 3), 1.0))  # a shape that does not fit: a new sum
    assert node.ct.shape == (2, 3) and buffer[0] == 7.0
    accumulate(node, numpy.full((2, 3), 1.0, numpy.complex128))  # nor a dtype
    assert node.ct.dtype == numpy.complex128


def test_aliased_cotangents_stay_intact() -> None:
    # add hands the same g to both operands, and x gets it many times over: the seed, the
    # shared g and the earlier contributions must not be mutated by the in-place sums.
    def f(x, y):
        s = x + y
        return s + x + (x * y) + s

    x, y = numpy.array([1.0, 2.0]), numpy.array([3.0, -1.0])
    seed = numpy.array([1.0, 10.0])
    _, pullback = cr.vjp(f, x, y)
    for _ in range(2):
        gx, gy = pullback(seed)
        numpy.testing.assert_array_equal(seed, [1.0, 10.0])
        numpy.testing.assert_allclose(gx, seed * (3 + y), rtol=1e-15)
        numpy.testing.assert_allclose(gy, seed * (2 + x), rtol=1e-15)


def test_composes_with_jit_vmap_and_higher_order() -> None:
    x = numpy.linspace(-1.0, 1.0, 5)
    step = cr.jit(cr.grad(w8))
    step(x)
    other = numpy.linspace(-2.0, 0.5, 5)  # a replay on new inputs equals eager
    numpy.testing.assert_allclose(step(other), w8_grad(other), rtol=1e-13, atol=1e-15)
    numpy.testing.assert_allclose(cr.grad(cr.jit(w8))(other), w8_grad(other), rtol=1e-13)
    xs = numpy.stack([x, other])
    numpy.testing.assert_allclose(cr.vmap(cr.grad(w8))(xs), w8_grad(xs), rtol=1e-13)
    # second order: the residuals of the inner tape are tracers of the outer one
    d2 = cr.grad(lambda x: np.sum(cr.grad(lambda y: np.sum(np.tanh(y * y)))(x)))(x)
    t = numpy.tanh(x * x)
    numpy.testing.assert_allclose(d2, 2 * (1 - t * t) - 8 * x * x * t * (1 - t * t), rtol=1e-12)


def held_at_peak(program: staging.Program) -> int:
    """The most arrays of the program's own (not inputs, not constants) that its replay
    holds at once, from its plan: each step's result slot, freed after its last use."""
    live: set[int] = set()
    most = 0
    for kind, _fn, x, _y, o in program._steps:
        if kind == 6:  # frees
            live.difference_update(x)
        else:
            live.update(o if isinstance(o, tuple) else (o,))
            most = max(most, len(live))
    return most


N_LARGE = 200_000  # 1.6 MB arrays: above `REMAT_BYTES`


def test_jitted_w8_recomputes_cheap_values_instead_of_keeping_them(monkeypatch) -> None:
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 10**12)  # every line whole (blocks: below)
    x = numpy.linspace(-1.0, 1.0, N_LARGE)
    program = cr.make_program(cr.grad(w8))(x)
    # jax.jit's peak: h1..h3 kept for the backward pass, or recomputed from x, and the two
    # cotangents (of h and of x); the tanh results are recomputed from them
    assert held_at_peak(program) <= 5, program
    monkeypatch.setattr(staging, "REMAT_BYTES", 10**12)
    kept = cr.make_program(cr.grad(w8))(x)
    assert held_at_peak(kept) == 8  # every tanh result and h kept, as before
    assert len(program.equations) > len(kept.equations)
    other = numpy.linspace(-2.0, 0.7, N_LARGE)  # new inputs: the same lines, the same bits
    numpy.testing.assert_array_equal(program([other])[0], kept([other])[0])
    numpy.testing.assert_allclose(program([other])[0], w8_grad(other), rtol=1e-13, atol=1e-15)


def test_small_programs_are_not_recomputed() -> None:
    x = numpy.linspace(-1.0, 1.0, 1000)  # recomputing would cost time and save nothing
    lines = [eq.name for eq in cr.make_program(cr.grad(w8))(x).equations]
    assert lines.count("tanh") == 4


def test_a_recomputing_replay_overwrites_no_input_and_no_returned_value(monkeypatch) -> None:
    def f(x, y):
        h = np.tanh(x * y + 0.1)
        g = np.exp(h) * x + h
        return np.sum(np.sin(g) * h * y), h  # h: returned, and needed again at the end

    step = cr.jit(cr.value_and_grad(f, argnums=(0, 1), has_aux=True))
    x, y = numpy.linspace(-1.0, 1.0, N_LARGE), numpy.linspace(0.5, -2.0, N_LARGE)
    step(x, y)
    with monkeypatch.context() as m:
        m.setattr(staging, "REMAT_BYTES", 10**12)
        kept = cr.make_program(cr.value_and_grad(f, argnums=(0, 1), has_aux=True))(x, y)
    assert len(step.programs()[0].equations) > len(kept.equations)  # some are recomputed
    a, b = -0.7 * x + 0.2, y[::-1].copy()  # new inputs: signs change
    a0, b0 = a.copy(), b.copy()
    first = step(a, b)
    want = cr.value_and_grad(f, argnums=(0, 1), has_aux=True)(a0, b0)
    numpy.testing.assert_array_equal(a, a0)  # the caller's inputs are never written
    numpy.testing.assert_array_equal(b, b0)
    kept = [numpy.copy(t) for t in cr.tree.leaves(first)]
    second = step(b, a)  # the next call writes into none of the last call's results
    for got, copy in zip(cr.tree.leaves(first), kept, strict=True):
        numpy.testing.assert_array_equal(got, copy)
    for got, other in zip(cr.tree.leaves(first), cr.tree.leaves(second), strict=True):
        assert not numpy.shares_memory(got, other)
    for got, w in zip(cr.tree.leaves(first), cr.tree.leaves(want), strict=True):
        numpy.testing.assert_allclose(got, w, rtol=1e-13, atol=1e-15)


def constants(program: Any) -> list[Any]:
    """The constants a program keeps (its other slots: inputs, held buffers, results)."""
    skip = {*range(len(program.inputs)), *program._buffers}
    return [c for i, c in enumerate(program._template) if i not in skip and c is not None]


def test_a_repeated_constant_is_one_value_in_the_program() -> None:
    # the sum's cotangent (ones) and 0.5 times it are constants of the size of x: the program
    # keeps the one value each repeats, with the same bits in every line
    x = numpy.linspace(-1.0, 1.0, 1000)
    step = cr.jit(cr.grad(w8))
    step(x)
    program = step.programs()[0]
    assert max(numpy.size(c) for c in constants(program)) == 1, program
    other = numpy.linspace(-2.0, 0.7, 1000)
    numpy.testing.assert_array_equal(step(other), cr.grad(w8)(other))
    # where the constant's shape makes the result's, it stays broadcast (without memory)
    scale = cr.jit(lambda s: s * numpy.full(4, 2.0) - numpy.zeros(4, numpy.float32))
    numpy.testing.assert_array_equal(scale(numpy.float64(1.5)), numpy.full(4, 3.0))
    out = scale(numpy.float64(-0.25))
    out += 1.0  # the caller's own array, not the program's constant
    numpy.testing.assert_array_equal(scale(numpy.float64(-0.25)), numpy.full(4, -0.5))
    assert all(numpy.size(c) <= 1 or c.strides == (0,) for c in constants(scale.programs()[0]))
    # -0.0 and 0.0 differ in a product: an array of both is no repeated value
    signs = cr.jit(lambda x: x * numpy.array([0.0, -0.0]))
    numpy.testing.assert_array_equal(numpy.signbit(signs(numpy.ones(2))), [False, True])


def random_program(seed: int):
    """A function of two large vectors: a random chain of elementwise operations, each on
    recent results, some read again much later (as residuals are)."""
    r = numpy.random.default_rng(seed)
    unary = [np.tanh, np.sin, np.exp, lambda a: a * 0.5, lambda a: -a]
    binary = [np.add, np.multiply, np.subtract, np.maximum]
    plan = [(int(r.integers(2)), int(r.integers(5)), int(r.integers(4)),
             int(r.integers(k + 2)) if r.random() < 0.3 else k)
            for k in range(14)]  # fmt: skip

    def f(x, y):
        values = [x, y]
        for kind, u, b, other in plan:
            a = values[-1]
            values.append(unary[u](a) if kind else binary[b](np.tanh(a), values[other]))
        return np.sum(values[-1] * values[2])

    return f


@pytest.mark.parametrize("seed", range(6))
def test_recomputing_programs_equal_the_kept_ones_bit_for_bit(seed: int, monkeypatch) -> None:
    f = cr.grad(random_program(seed), argnums=(0, 1))
    x, y = numpy.linspace(-1.0, 1.0, N_LARGE), numpy.linspace(0.8, -0.6, N_LARGE)
    program = cr.make_program(f)(x, y)
    with monkeypatch.context() as m:
        m.setattr(staging, "REMAT_BYTES", 10**12)
        kept = cr.make_program(f)(x, y)
    assert held_at_peak(program) < held_at_peak(kept)
    a, b = y[::-1] * 1.5, x * -0.7 + 0.1  # new inputs
    a0, b0 = a.copy(), b.copy()
    got = program([a, b])
    for g, k in zip(got, kept([a, b]), strict=True):
        numpy.testing.assert_array_equal(g, k)
    numpy.testing.assert_array_equal(a, a0)
    numpy.testing.assert_array_equal(b, b0)
