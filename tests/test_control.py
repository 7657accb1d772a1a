"""Control flow (`cond`, `while_loop`, `fori_loop`, `scan`): values and derivatives against
Python loops and central differences, eager, under `jit` (replayed on inputs other than the
tracing ones, chosen so that branches and trip counts change), under `vmap`, and JAX's errors.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import nn
from chainrule.core import staging

rng = numpy.random.default_rng(14)
W = rng.standard_normal((4, 4)) * 0.5
U = rng.standard_normal((4, 3))
XS = rng.standard_normal((6, 3))
H0 = rng.standard_normal(4)


def close(a: Any, b: Any, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """Same up to rounding: the loop and the construct do the same operations, in an order
    that can differ by a few ulps through the sum of cotangents. A list: one per example."""
    if isinstance(b, list):
        b = numpy.array(b)
    for x, y in zip(cr.tree.leaves(a), cr.tree.leaves(b), strict=True):
        numpy.testing.assert_allclose(numpy.asarray(x), numpy.asarray(y), rtol=rtol, atol=atol)


def central(f: Any, x: numpy.ndarray, eps: float = 1e-6) -> numpy.ndarray:
    """The gradient of a scalar `f` by central differences (error O(eps^2))."""
    g = numpy.zeros_like(x)
    for i in numpy.ndindex(x.shape):
        e = numpy.zeros_like(x)
        e[i] = eps
        g[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
    return g


# ---------------------------------------------------------------------------- scan


def rnn(w: Any, u: Any, h0: Any, xs: Any) -> Any:
    def step(h: Any, x: Any) -> tuple[Any, Any]:
        new = np.tanh(w @ h + u @ x)
        return new, {"sum": np.sum(new), "old": h * 2.0}

    h, ys = cr.scan(step, h0, xs)
    return np.sum(h**2) + np.sum(ys["sum"]) + np.sum(ys["old"] ** 2)


def rnn_loop(w: Any, u: Any, h0: Any, xs: Any) -> Any:
    h, total = h0, 0.0
    for x in xs:
        total = total + np.sum((h * 2.0) ** 2)
        h = np.tanh(w @ h + u @ x)
        total = total + np.sum(h)
    return np.sum(h**2) + total


ARGS = (W, U, H0, XS)
NEW = (rng.standard_normal((4, 4)), rng.standard_normal((4, 3)), rng.standard_normal(4),
       rng.standard_normal((6, 3)))  # fmt: skip


def test_scan_matches_a_python_loop_and_jax_layout() -> None:
    carry, ys = cr.scan(lambda c, x: (c + x, (c * x, -x)), 0.0, np.array([1.0, 2.0, 3.0]))
    assert float(carry) == 6.0
    numpy.testing.assert_array_equal(ys[0], [0.0, 2.0, 9.0])
    numpy.testing.assert_array_equal(ys[1], [-1.0, -2.0, -3.0])
    rev = cr.scan(lambda c, x: (c * 10 + x, c), 0.0, np.array([1.0, 2.0, 3.0]), reverse=True)
    assert float(rev[0]) == 321.0
    numpy.testing.assert_array_equal(rev[1], [32.0, 3.0, 0.0])  # ys at the xs' positions
    c, ys = cr.scan(lambda c, _: (c + 1, c), 0, None, length=4)
    assert int(c) == 4 and ys.tolist() == [0, 1, 2, 3]
    close(rnn(*ARGS), rnn_loop(*ARGS))


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_reverse_under_jit_replays_new_inputs(reverse: bool) -> None:
    def f(c: Any, xs: Any) -> Any:
        return cr.scan(lambda c, x: (np.sin(c) * x + c, c * x), c, xs, reverse=reverse)

    def loop(c: Any, xs: Any) -> Any:
        ys = []
        for x in xs[::-1] if reverse else xs:
            ys.append(c * x)
            c = np.sin(c) * x + c
        return c, np.stack(ys[::-1] if reverse else ys)

    jf = cr.jit(f)
    jf(H0, XS[:, :1] * numpy.ones(4))
    close(jf(NEW[2], NEW[3][:, :1] * numpy.ones(4)), loop(NEW[2], NEW[3][:, :1] * numpy.ones(4)))


@pytest.mark.parametrize("argnums", [0, 1, 2, 3, (0, 1, 2, 3)])
def test_scan_grad_is_backprop_through_time(argnums: Any) -> None:
    close(cr.grad(rnn, argnums)(*ARGS), cr.grad(rnn_loop, argnums)(*ARGS))
    jitted = cr.jit(cr.grad(rnn, argnums))
    jitted(*ARGS)
    close(jitted(*NEW), cr.grad(rnn_loop, argnums)(*NEW))
    numeric = central(lambda h: rnn(W, U, h, XS), H0)
    numpy.testing.assert_allclose(cr.grad(rnn, 2)(*ARGS), numeric, rtol=1e-6, atol=1e-8)


def test_scan_under_jit_is_one_line_per_pass() -> None:
    """The RNN compiles to one forward and one backward scan, not T unrolled steps; what
    does not depend on the carry runs outside the loops, for every step at once."""
    program = cr.make_program(cr.grad(rnn, (0, 1)))(*ARGS)
    longer = cr.make_program(cr.grad(rnn, (0, 1)))(W, U, H0, numpy.tile(XS, (3, 1)))
    names = [eq.name for eq in program.equations]
    assert names.count("scan") == 2
    assert names == [eq.name for eq in longer.equations]
    text = str(program)  # the bodies print inside their lines, as JAX's jaxprs do
    assert text.count("{ lambda") == 3 and "tanh" in text and "object at" not in text
    forward, backward = (eq.params["body"] for eq in program.equations if eq.name == "scan")
    assert "matmul" in names[: names.index("scan")]  # U @ x_t, for every t at once
    # (the ys `sum`, whose value no derivative reads, is not computed)
    assert [eq.name for eq in forward.equations] == ["matmul", "add", "tanh", "multiply"]
    assert not any(eq.name == "tanh" for eq in backward.equations)  # no forward recomputation
    assert all(len(v.shape) < 2 or 1 in v.shape for eq in backward.equations for v in eq.outs)


def lagged(w: Any, xs: Any) -> Any:
    """A scan of which the result reads the final `h` and the ys `b` alone: `b` reads the
    carry `lag`, which reads `h`; the carry `unused` and the ys `a` and `dead` no result
    reads. A scan nested in the body has ys nobody reads too."""

    def step(c: Any, x: Any) -> tuple[Any, Any]:
        h, lag, unused = c
        new = np.tanh(w @ h + x)
        inner, squares = cr.scan(lambda s, v: (s + v, v**2), 0.0, new)
        return (new, h * 2.0, unused + np.sum(np.exp(new))), (np.sin(new), lag * inner, squares)

    (h, _, _), (_, b, _) = cr.scan(step, (np.zeros(4), np.zeros(4), 0.0), xs)
    return np.sum(h) + np.sum(b)


def test_results_nobody_reads_leave_scan_and_cond_bodies() -> None:
    """Dead-code elimination reaches into bodies, as JAX's does: what no result reads is not
    computed at each step (nor in a branch), and the replays equal eager."""
    xs = rng.standard_normal((6, 4))
    (line,) = [eq for eq in cr.make_program(lagged)(W, xs).equations if eq.name == "scan"]
    body = line.params["body"]
    assert line.params["n_carry"] == 2 and len(body.outputs) == 3  # h, lag; b
    assert len(line.outs) == 3 and not line.params["stacked"]
    assert not {"sin", "exp", "power", "square"} & {eq.name for eq in body.equations}
    (inner,) = [eq for eq in body.equations if eq.name == "scan"]
    # its ys are gone; its carries stacked stay, as in every body: reverse mode reads them
    assert len(inner.params["body"].outputs) == 1 and inner.params["stacked"]
    assert len(inner.outs) == 2
    jitted, grad = cr.jit(lagged), cr.jit(cr.grad(lagged, (0, 1)))
    for args in ((W, xs), (NEW[0], -xs)):
        numpy.testing.assert_array_equal(jitted(*args), lagged(*args))
        close(grad(*args), cr.grad(lagged, (0, 1))(*args))

    def branches(x: Any, w: Any) -> Any:  # `w` read only by a result nobody reads
        a, _ = cr.cond(x[0] > 0, lambda x: (np.sin(x), np.exp(x) @ w),
                       lambda x: (np.cos(x), x @ w), x)  # fmt: skip
        return a

    (line,) = [eq for eq in cr.make_program(branches)(xs[0], W).equations if eq.name == "cond"]
    assert [len(b.outputs) for b in line.params["branches"]] == [1, 1]
    assert len(line.args) == 2 and "exp" not in str(line)  # the predicate and x
    jitted = cr.jit(branches)
    for x in (xs[0], -xs[0]):
        numpy.testing.assert_array_equal(jitted(x, W), branches(x, W))


def test_bodies_replayed_under_transforms_write_into_no_buffer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body holds buffers for its replays on plain arrays; replayed on traced values (the
    rules of vmap, grad and jvp), each line is a call that makes its own value: a ReLU's
    gate (in a scan and in a cond branch) and a raw NumPy comparison write into none."""
    monkeypatch.setattr(staging, "HOLD_FROM", 0)  # (every intermediate held)

    def inner(w: Any, x: Any) -> Any:  # two gates: one's result read only by the other
        return np.sum(np.maximum(np.maximum(w * x, 0.0) - 0.1, 0.0) ** 2)

    def descend(w: Any, xs: Any) -> Any:
        w, _ = cr.scan(lambda w, x: (w - 0.1 * cr.grad(inner)(w, x), None), w, xs)
        return np.sum(np.sin(w))

    def descend_loop(w: Any, xs: Any) -> Any:
        for x in xs:
            w = w - 0.1 * cr.grad(inner)(w, x)
        return np.sum(np.sin(w))

    ws, xs = rng.standard_normal((2, 5)), rng.standard_normal((4, 5))
    want = [descend_loop(w, xs) for w in ws]
    close(cr.vmap(descend, (0, None))(ws, xs), want)
    batched = cr.jit(cr.vmap(descend, (0, None)))
    for scale in (1.0, -2.0):
        close(batched(ws * scale, xs), [descend_loop(w * scale, xs) for w in ws])
    close(cr.grad(descend)(ws[0], xs), cr.grad(descend_loop)(ws[0], xs))
    t = rng.standard_normal(5)
    close(cr.jvp(lambda w: descend(w, xs), (ws[0],), (t,)),
          cr.jvp(lambda w: descend_loop(w, xs), (ws[0],), (t,)))  # fmt: skip

    def branch(w: Any) -> Any:
        step = cr.cond(np.sum(w) > -1e9, lambda w: w - cr.grad(inner)(w, 3.0), lambda w: w, w)
        return np.sum(np.sin(step))

    close(
        cr.grad(branch)(ws[0]), cr.grad(lambda w: np.sum(np.sin(w - cr.grad(inner)(w, 3.0))))(ws[0])
    )

    def passed_through(c: Any, d: Any, xs: Any) -> Any:  # `d > 0`: a raw NumPy line
        def step(carry: Any, x: Any) -> Any:
            c, d = carry
            return (np.tanh(c + x), d), np.maximum(d * 0.5, 0.0)

        (c, d), ys = cr.scan(step, (c, d), xs, unroll=2)
        return np.sum(np.sin(d)) + np.sum(np.sin(ys))

    c, d = rng.standard_normal((2, 5))
    close(
        cr.jit(cr.grad(passed_through, (0, 1)))(c, d, xs), cr.grad(passed_through, (0, 1))(c, d, xs)
    )


@cr.custom_vjp
def clipped_sin(x: Any) -> Any:
    return np.sin(x)


clipped_sin.defvjp(lambda x: (np.sin(x), x), lambda x, g: (np.clip(g * np.cos(x), -0.1, 0.1),))


@cr.custom_jvp
def halved_sin(x: Any) -> Any:  # a forward rule that is not sin's own: half of it
    return np.sin(x)


halved_sin.defjvp(
    lambda primals, tangents: (np.sin(primals[0]), 0.5 * np.cos(primals[0]) * tangents[0])
)


def test_custom_rules_in_bodies_are_applied_when_the_body_is_differentiated() -> None:
    """A custom_vjp or custom_jvp function called in a loop's body or a branch keeps its
    own rule (not its function's) under grad, jvp, vmap and jit, as in a Python loop."""

    def looped(f: Any) -> Any:
        def scanned(w: Any, xs: Any) -> Any:
            c, _ = cr.scan(lambda c, x: (f(c * x) + c, None), w, xs)
            return np.sum(c**2)

        def loop(w: Any, xs: Any) -> Any:
            for x in xs:
                w = f(w * x) + w
            return np.sum(w**2)

        return scanned, loop

    w, xs, t = rng.standard_normal(3), rng.standard_normal((4, 3)), rng.standard_normal(3)
    scanned, loop = looped(clipped_sin)
    want = cr.grad(loop)(w, xs)
    assert not numpy.allclose(want, cr.grad(looped(np.sin)[1])(w, xs))  # the rule matters
    for got in (cr.grad(scanned)(w, xs), cr.jit(cr.grad(scanned))(w, xs),
                cr.grad(cr.jit(scanned))(w, xs)):  # fmt: skip
        close(got, want)
    ws = rng.standard_normal((2, 3))
    close(cr.vmap(cr.grad(scanned), (0, None))(ws, xs), [cr.grad(loop)(v, xs) for v in ws])
    branch = cr.grad(lambda w: np.sum(cr.cond(True, clipped_sin, lambda v: v, w)))
    close(branch(w * 5.0), cr.grad(lambda w: np.sum(clipped_sin(w)))(w * 5.0))
    scanned, loop = looped(halved_sin)
    close(cr.jvp(lambda w: scanned(w, xs), (w,), (t,)), cr.jvp(lambda w: loop(w, xs), (w,), (t,)))
    close(cr.grad(scanned)(w, xs), cr.grad(loop)(w, xs))


def gated(u: Any, w: Any, c: Any, xs: Any, reverse: bool = False) -> Any:
    """A body whose carry-free part holds masks, a ReLU of U x_t and a sign (run before the
    loop for every step at once), and a factor of the closed-over values alone (run once)."""

    def step(c: Any, x: Any) -> tuple[Any, Any]:
        drive = np.maximum(u @ x, 0.0) * np.where(x[0] > 0, 1.0, -2.0)
        return np.tanh(w @ c * np.exp(-np.sum(w**2)) + drive), np.sum(drive * c)

    c, ys = cr.scan(step, c, xs, reverse=reverse)
    return np.sum(c**2) + np.sum(ys)


def gated_loop(u: Any, w: Any, c: Any, xs: Any, reverse: bool = False) -> Any:
    total = 0.0
    for x in xs[::-1] if reverse else xs:
        drive = np.maximum(u @ x, 0.0) * np.where(x[0] > 0, 1.0, -2.0)
        total = total + np.sum(drive * c)
        c = np.tanh(w @ c * np.exp(-np.sum(w**2)) + drive)
    return np.sum(c**2) + total


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_lines_run_before_the_loop_are_recomputed_on_new_inputs(reverse: bool) -> None:
    """Traced where every mask is on, replayed where they change: the masks computed before
    the loop are lines of the program, not values frozen at the tracing call."""
    traced = (numpy.abs(U), numpy.abs(W), H0, numpy.abs(XS))
    new = (NEW[1], NEW[0], NEW[2], NEW[3])
    assert not (numpy.all(new[0] @ new[3].T > 0) or numpy.all(new[3][:, 0] > 0))
    f = cr.jit(lambda *a: gated(*a, reverse))
    g = cr.jit(cr.grad(lambda *a: gated(*a, reverse), (0, 1, 2, 3)))
    f(*traced), g(*traced)
    close(f(*new), gated_loop(*new, reverse))
    close(g(*new), cr.grad(lambda *a: gated_loop(*a, reverse), (0, 1, 2, 3))(*new))
    program = cr.make_program(cr.grad(gated, (0, 1, 2, 3)))(*traced)
    names = [eq.name for eq in program.equations]
    assert {"maximum", "greater", "where", "exp"} <= set(names[: names.index("scan")])
    for eq in program.equations:
        if eq.name == "scan":
            inside = {e.name for e in eq.params["body"].equations}
            assert not inside & {"maximum", "greater", "where", "exp"}


def counted(w: Any, c: Any) -> Any:
    """A pytree carry with an integer count, integer xs, and a scan with no xs."""

    def step(carry: Any, i: Any) -> tuple[Any, Any]:
        k, h = carry
        return (k + 1, np.sin(w * h) + i * 0.1), {"i": i * 2, "h": h}

    (k, h), ys = cr.scan(step, (0, c), numpy.arange(5))
    h = cr.scan(lambda h, _: (h * np.cos(w), None), h, None, length=3)[0]
    return np.sum(h) * k + np.sum(ys["h"] ** 2) + np.sum(ys["i"])


def counted_loop(w: Any, c: Any) -> Any:
    k, h, total = 0, c, 0.0
    for i in range(5):
        total = total + np.sum(h**2) + i * 2
        k, h = k + 1, np.sin(w * h) + i * 0.1
    for _ in range(3):
        h = h * np.cos(w)
    return np.sum(h) * k + total


def test_scan_embedding_lookups_run_before_the_loop() -> None:
    """Integer xs indexing a closed-over table: one gather before the loop, one scatter-add
    of the cotangents after it; replayed on other indices, the derivatives are the loop's."""
    table, w = rng.standard_normal((5, 3)), rng.standard_normal((3, 3)) / 2

    def f(table: Any, w: Any, ids: Any) -> Any:
        h, hs = cr.scan(lambda h, i: (np.tanh(w @ h + table[i]), h), np.zeros(3), ids)
        return np.sum(h**2) + np.sum(np.cos(hs))

    def loop(table: Any, w: Any, ids: Any) -> Any:
        h, total = np.zeros(3), 0.0
        for i in ids:
            total = total + np.sum(np.cos(h))
            h = np.tanh(w @ h + table[i])
        return np.sum(h**2) + total

    g = cr.jit(cr.grad(f, (0, 1)))
    g(table, w, numpy.array([0, 3, 3, 1, 4, 0, 2]))
    ids = numpy.array([4, 4, 1, 0, 2, 2, 3])
    close(g(table, w, ids), cr.grad(loop, (0, 1))(table, w, ids))
    program = cr.make_program(cr.grad(f, (0, 1)))(table, w, ids)
    names = [eq.name for eq in program.equations]
    assert "getitem" in names[: names.index("scan")] and names[-1] == "scatter_add"
    for eq in program.equations:
        if eq.name == "scan":
            assert "getitem" not in str(eq.params["body"])


@pytest.mark.parametrize("bound", [-1, 200])
def test_scan_optimisations_equal_the_step_by_step_rules(monkeypatch: Any, bound: int) -> None:
    """With the stacks bounded (-1: nothing runs before the loop, and the reverse rule sums
    every cotangent in its loop; 200 bytes: some lines do) the numbers are those of the
    unbounded scan and of Python loops, in every mode."""
    w, c = rng.standard_normal(3), rng.standard_normal(3)
    args = (NEW[1], NEW[0], NEW[2], NEW[3])
    ws = numpy.stack([NEW[0], 2 * NEW[0]])

    def results() -> dict[str, Any]:
        return {
            "grad": cr.grad(gated, (0, 1, 2, 3))(*args),
            "reverse": cr.jit(cr.grad(lambda *a: gated(*a, True), (0, 1, 2, 3)))(*args),
            "jvp": cr.jvp(lambda w: gated(U, w, H0, XS), (W,), (NEW[0],)),
            "hessian": cr.hessian(gated, 1)(U, W, H0, XS),
            "counted": cr.jit(cr.grad(counted, (0, 1)))(w, c),
            "vmap": cr.vmap(cr.grad(rnn), (0, None, None, None))(ws, *ARGS[1:]),
        }

    ref = results()
    close(ref["grad"], cr.grad(gated_loop, (0, 1, 2, 3))(*args))
    close(ref["counted"], cr.grad(counted_loop, (0, 1))(w, c))
    close(counted(w, c), counted_loop(w, c))
    monkeypatch.setattr(cr.control, "_STACK_BYTES", bound)
    got = results()
    close(got, ref, rtol=1e-9, atol=1e-11)
    program = cr.make_program(cr.grad(rnn, (0, 1)))(*ARGS)
    forward, backward = (eq.params["body"] for eq in program.equations if eq.name == "scan")
    assert sum(eq.name == "matmul" for eq in forward.equations) == (2 if bound < 0 else 1)
    outer = [v for eq in backward.equations for v in eq.outs if v.shape == (4, 4)]
    assert outer  # W's cotangent, a sum over the steps in the loop


def test_scan_choices_per_step_stay_in_the_loop() -> None:
    """A `cond` in the body runs step by step, never batched over the steps: batched, both
    branches would run on every step, and the pullback through the square root's branch where
    it is not taken would be ``0 * nan``."""

    def chosen(w: Any, c: Any, xs: Any) -> Any:
        def step(c: Any, x: Any) -> tuple[Any, Any]:
            y = cr.cond(x > 0, np.sqrt, lambda x: -x, x)  # carry-free, but a choice
            c = cr.cond(x > 0, lambda c, x: c + w * np.sqrt(x), lambda c, x: c - w, c, x)
            return c * 0.9 + y, None

        return np.sum(cr.scan(step, c, xs)[0] ** 2)

    def chosen_loop(w: Any, c: Any, xs: Any) -> Any:
        for x in xs:
            c = (c + w * np.sqrt(x) if x > 0 else c - w) * 0.9 + (np.sqrt(x) if x > 0 else -x)
        return np.sum(c**2)

    w, c = rng.standard_normal(3), rng.standard_normal(3)
    xs, xs2 = numpy.array([0.5, -1.0, 2.0, -0.3]), numpy.array([1.5, 0.7, -2.0, -0.1])
    g = cr.jit(cr.grad(chosen, (0, 1, 2)))
    close(cr.grad(chosen, (0, 1, 2))(w, c, xs), cr.grad(chosen_loop, (0, 1, 2))(w, c, xs))
    g(w, c, xs)
    close(g(w, c, xs2), cr.grad(chosen_loop, (0, 1, 2))(w, c, xs2))


def test_scan_primitives_without_batching_rule_stay_in_the_loop() -> None:
    """Batched over the steps, a primitive with no batching rule would run once per step
    anyway, and warn about a `vmap` nobody asked for (an error in these tests)."""
    from chainrule.extend import defvjp, primitive

    cube = primitive(lambda x: x**3, "cube")
    defvjp(cube, lambda g, ans, x: g * 3.0 * x**2)

    def f(w: Any, xs: Any) -> Any:
        return np.sum(cr.scan(lambda c, x: (c * w + cube(x), None), H0, xs)[0] ** 2)

    def loop(w: Any, xs: Any) -> Any:
        c = H0
        for x in xs:
            c = c * w + x**3
        return np.sum(c**2)

    g = cr.jit(cr.grad(f, (0, 1)))
    g(H0, XS[:, :1] * numpy.ones(4))
    close(g(NEW[2], NEW[3][:, :1] * numpy.ones(4)),
          cr.grad(loop, (0, 1))(NEW[2], NEW[3][:, :1] * numpy.ones(4)))  # fmt: skip


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("unroll", [1, 2, 4, 6, True, False])
def test_scan_unroll_runs_steps_per_iteration_with_the_same_numbers(unroll: Any,
                                                                    reverse: bool) -> None:  # fmt: skip
    """JAX's `unroll`: a replay runs that many steps per iteration (4 leaves 2 of the 6 steps
    over, run one by one); values and derivatives, in both directions and under vmap, are
    those of the rolled loop."""

    def f(w: Any, u: Any, h0: Any, xs: Any) -> Any:
        def step(h: Any, x: Any) -> tuple[Any, Any]:
            new = np.tanh(w @ h + u @ x)
            return new, (new, h * 2.0)

        h, (hs, old) = cr.scan(step, h0, xs, reverse=reverse, unroll=unroll)
        return np.sum(h**2) + np.sum(np.sin(hs)) + np.sum(old**2)

    def loop(w: Any, u: Any, h: Any, xs: Any) -> Any:
        return rnn_loop_pairs(w, u, h, xs[::-1] if reverse else xs)

    jitted = cr.jit(cr.value_and_grad(f, (0, 1, 2, 3)))
    jitted(*ARGS)
    close(jitted(*NEW), cr.value_and_grad(loop, (0, 1, 2, 3))(*NEW))
    program = cr.make_program(f)(*ARGS)
    (line,) = [eq for eq in program.equations if eq.name == "scan"]
    assert line.params["unroll"] == (6 if unroll is True else 1 if unroll is False else unroll)
    hs = rng.standard_normal((3, 4))
    close(cr.jit(cr.vmap(lambda h: f(W, U, h, XS)))(hs), [loop(W, U, h, XS) for h in hs])
    close(cr.jvp(lambda w: f(w, U, H0, XS), (W,), (NEW[0],)),
          cr.jvp(lambda w: loop(w, U, H0, XS), (W,), (NEW[0],)))  # fmt: skip


def rnn_loop_pairs(w: Any, u: Any, h: Any, xs: Any) -> Any:
    total = 0.0
    for x in xs:
        total = total + np.sum((h * 2.0) ** 2)
        h = np.tanh(w @ h + u @ x)
        total = total + np.sum(np.sin(h))
    return np.sum(h**2) + total


def test_eager_scan_rules_read_each_steps_values() -> None:
    """Eager `grad` through a scan runs the rules' loops step by step, so that a rule's
    choice made from the values (how many zero factors prod's derivative splits off) is each
    step's own: here the second step has two zeros, the first none."""

    def f(rows: Any) -> Any:
        def step(c: Any, row: Any) -> tuple[Any, None]:
            return c * np.prod(row * c), None

        return cr.scan(step, 1.0, rows)[0]

    rows = numpy.array([[1.0, 2.0, 3.0], [0.0, 0.0, 2.0]])
    close(cr.grad(f)(rows), numpy.zeros((2, 3)))
    rows = numpy.array([[1.0, 2.0, 3.0], [0.5, 0.0, 2.0]])
    eps = 1e-6
    numeric = numpy.zeros_like(rows)
    for i in numpy.ndindex(rows.shape):
        up, down = rows.copy(), rows.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (f(up) - f(down)) / (2 * eps)
    close(cr.grad(f)(rows), numeric, atol=1e-6)


def test_scan_forward_mode_and_second_order() -> None:
    t = rng.standard_normal((4, 4))
    close(cr.jvp(lambda w: rnn(w, U, H0, XS), (W,), (t,)),
          cr.jvp(lambda w: rnn_loop(w, U, H0, XS), (W,), (t,)))  # fmt: skip
    close(cr.jacfwd(lambda h: rnn(W, U, h, XS))(H0), cr.grad(rnn_loop, 2)(*ARGS))
    close(cr.hessian(lambda h: rnn(W, U, h, XS))(H0),
          cr.hessian(lambda h: rnn_loop(W, U, h, XS))(H0), rtol=1e-9, atol=1e-11)  # fmt: skip
    rev2 = cr.jacrev(cr.grad(lambda h: rnn(W, U, h, XS)))(H0)
    close(rev2, cr.hessian(lambda h: rnn_loop(W, U, h, XS))(H0), rtol=1e-9, atol=1e-11)
    hess = cr.jit(cr.hessian(lambda h, w: rnn(w, U, h, XS)))
    hess(H0, W)
    close(hess(NEW[2], NEW[0]), cr.hessian(lambda h: rnn_loop(NEW[0], U, h, XS))(NEW[2]),
          rtol=1e-9, atol=1e-11)  # fmt: skip


def test_forward_mode_runs_each_loop_and_branch_once() -> None:
    """The forward rules of control flow compute the values with the tangents: `jvp` runs
    the body as often as the function itself does, not once more for the values."""
    from chainrule.extend import defjvp_joint, primitive

    calls: list[int] = []
    sine = primitive(lambda x: calls.append(1) or numpy.sin(x), "counted_sine")
    defjvp_joint(sine, lambda tans, ans, x: tans[0] * np.cos(x))

    def loops(x: Any) -> Any:
        c, ys = cr.scan(lambda c, x: (sine(c) + x, c * 2.0), x, XS[:, 0])
        c = cr.while_loop(lambda c: c[1] < 4, lambda c: (sine(c[0]), c[1] + 1), (c, 0))[0]
        return cr.cond(np.sum(c) > 0, sine, np.cos, c) + np.sum(ys)

    x = numpy.array(0.3)
    for f in (loops, cr.jit(loops)):
        f(x)  # (traced, by jit)
        calls.clear()
        value = f(x)
        once = len(calls)
        calls.clear()
        pair = cr.jvp(f, (x,), (numpy.array(1.0),))
        assert once > len(XS) and len(calls) <= once + 3  # (each body traced once too)
        close(pair[0], value)
        h = 1e-6
        close(pair[1], (loops(x + h) - loops(x - h)) / (2 * h), rtol=1e-7)


def test_a_complex_carry_made_from_a_real_input_has_complex_derivatives() -> None:
    x, t = numpy.array([0.7, -0.4]), numpy.array([0.3, 1.1])

    def step(c: Any) -> Any:
        return c * c * 0.5 + 1.0

    def loops(x: Any) -> Any:
        c = cr.scan(lambda c, _: (step(c), None), x + 0.5j, length=2)[0]
        c = cr.while_loop(lambda c: c[1] < 2, lambda c: (step(c[0]), c[1] + 1), (c, 0))[0]
        return np.real(c) * np.imag(c)

    def loops_py(x: Any) -> Any:
        c = x + 0.5j
        for _ in range(4):
            c = step(c)
        return np.real(c) * np.imag(c)

    close(cr.jvp(loops, (x,), (t,)), cr.jvp(loops_py, (x,), (t,)))
    close(cr.jacfwd(loops)(x), cr.jacrev(loops_py)(x))

    def scanned(x: Any) -> Any:  # (reverse mode: scan alone)
        return np.sum(np.imag(cr.scan(lambda c, _: (step(c), None), x + 0.5j, length=4)[0]))

    def scanned_py(x: Any) -> Any:
        return np.sum(np.imag(step(step(step(step(x + 0.5j))))))

    close(cr.grad(scanned)(x), cr.grad(scanned_py)(x))
    close(cr.jit(cr.grad(scanned))(x), cr.grad(scanned_py)(x))


def test_scan_under_vmap() -> None:
    hs = rng.standard_normal((5, 4))
    xss = rng.standard_normal((5, 6, 3))
    close(cr.vmap(lambda h, xs: rnn(W, U, h, xs))(hs, xss),
          [rnn_loop(W, U, h, xs) for h, xs in zip(hs, xss, strict=True)])  # fmt: skip
    ws = rng.standard_normal((5, 4, 4))  # a closed-over batch, with shared xs
    close(cr.vmap(lambda w: rnn(w, U, H0, XS))(ws), [rnn_loop(w, U, H0, XS) for w in ws])
    close(cr.vmap(cr.grad(rnn))(ws, numpy.broadcast_to(U, (5, 4, 3)), hs, xss),
          [cr.grad(rnn_loop)(w, U, h, xs) for w, h, xs in zip(ws, hs, xss, strict=True)])  # fmt: skip
    jv = cr.jit(cr.vmap(lambda h, xs: rnn(W, U, h, xs)))
    jv(hs, xss)
    close(jv(-hs, xss[::-1]), [rnn_loop(W, U, -h, xs) for h, xs in zip(hs, xss[::-1], strict=True)])


@pytest.mark.parametrize("jit", [False, True])
def test_vmap_of_a_loop_from_a_python_number_keeps_each_examples_dtype(jit: bool) -> None:
    # Each example's first step casts 0.0 to float32 (NEP 50); the batch once started from a
    # float64 array of 0.0 and ran every step in float64.
    xs = rng.standard_normal((3, 4)).astype(numpy.float32)

    def loops(x: Any, n: Any) -> Any:
        total, ys = cr.scan(lambda c, xi: (c + xi, c * xi), 0.0, x)
        counted = cr.fori_loop(0, n, lambda i, c: c + x[i], 0.0)  # (batched bounds: a while)
        return total, ys, counted

    mapped = cr.vmap(loops)
    if jit:
        mapped = cr.jit(mapped)
    got = mapped(xs, numpy.array([1, 2, 4]))
    for i, n in enumerate([1, 2, 4]):
        for a, b in zip(got, loops(xs[i], n), strict=True):
            assert a.dtype == numpy.float32 == numpy.result_type(b)
            numpy.testing.assert_array_equal(a[i], b)


def test_a_scan_from_a_python_number_takes_its_first_step_as_eager_code() -> None:
    # Eagerly the first step computes 0.1 * 3.0 - 0.3 in Python (5.55e-17, not float32's 0)
    # and stacks the number 0.1 as a float64 y; jit and vmap once started from float32.
    def f(x: Any) -> Any:
        return cr.scan(lambda c, xi: ((c * 3.0 - 0.3) + xi, c), 0.1, x)

    xs = numpy.zeros((2, 3), numpy.float32)
    want = [f(x) for x in xs]
    for mapped in (cr.vmap(f), cr.jit(cr.vmap(f))):
        for i, w in enumerate(want):
            for got, expected in zip(mapped(xs), w, strict=True):
                assert got.dtype == numpy.result_type(expected)
                numpy.testing.assert_array_equal(got[i], expected)
    for got, expected in zip(cr.jit(f)(xs[0]), want[0], strict=True):
        assert got.dtype == numpy.result_type(expected)
        numpy.testing.assert_array_equal(got, expected)
    # no step: the number itself, stacked by vmap as NumPy stacks numbers
    none = cr.vmap(lambda x: cr.fori_loop(0, 0, lambda i, c: c + np.sum(x), 0.0))(xs)
    assert none.dtype == numpy.float64


@pytest.mark.parametrize("extremum", [np.maximum, np.minimum, np.fmax])
def test_a_tie_between_two_traced_values_in_a_loop_shares_alike(extremum: Any) -> None:
    # From the second step on, c == p where the clamp acted: max(c, p) is p there, smoothly
    # (derivative 1 in p). Reverse mode takes a loop's carries and closed-over values in
    # passes apart, each holding the others constant: each pass once took the tie as one
    # against a constant, derivative 0, and compiled or traced loops gave 0.
    x = numpy.array([1.0, 0.0, -0.5]) * (1.0 if extremum is not np.minimum else -1.0)
    p0 = 0.5 if extremum is not np.minimum else -0.5

    def clamped(p: Any, c0: Any) -> Any:
        return np.sum(cr.fori_loop(0, 2, lambda i, c: extremum(c, p), c0))

    for c0 in (lambda p: x, lambda p: p * 0.0 + x):
        f = lambda p, c0=c0: clamped(p, c0(p))
        want = numpy.sum(getattr(numpy, extremum.__name__)(x, p0) != x)  # those clamped
        for g in (cr.grad(f), cr.jit(cr.grad(f)), cr.grad(cr.jit(f))):
            assert g(p0) == want
        assert cr.jvp(f, (p0,), (1.0,))[1] == want


def test_loops_over_python_numbers_found_by_fuzzing() -> None:
    x32 = rng.standard_normal((3, 2)).astype(numpy.float32)
    # a carry that stays a Python number: vmap keeps it one (its float64 array made the ys
    # r * c float64 where each example's are float32)
    counted = lambda x: cr.scan(lambda c, r: (c + 1.0, r * c), 0.0, x)
    for got, want in zip(cr.vmap(counted)(x32[None]), counted(x32), strict=True):
        assert got.dtype == numpy.result_type(want)
        numpy.testing.assert_array_equal(got[0], want)
    # one step from a Python number that NumPy makes float64: the ys of that step alone
    one = lambda x: cr.scan(lambda c, r: (np.maximum(c, 0), r * c), 1.5, x)
    assert cr.jit(one)(x32[:1])[1].dtype == one(x32[:1])[1].dtype == numpy.float32

    # grad of a loop that carries a Python int beside a differentiated value (it crashed)
    def both(p: Any) -> Any:
        c0, c1 = cr.fori_loop(0, 2, lambda i, c: (c[0] * p, c[1]), (p, 1))
        return c0 * np.sum(np.stack([c1]))

    assert cr.grad(both)(1.5) == cr.jit(cr.grad(both))(1.5) == 3 * 1.5**2
    # grad(jit) of an unrolled scan whose body computes nothing (it crashed)
    nothing = lambda p, x: np.sum(cr.scan(lambda c, r: (c, 0.0), 0, x, unroll=2)[1]) + p
    assert cr.grad(cr.jit(nothing))(0.5, x32) == 1.0


def test_forward_mode_of_loops_from_a_python_float() -> None:
    # the tangent of a carry started from 0.5 was float64 beside the body's float32 one:
    # "carry input and output must have equal types", where eager code and JAX work
    xs = numpy.array([1.5, 2.25, -3.0, 0.5], numpy.float32)
    ones = numpy.ones(4, numpy.float32)
    f = lambda xs: np.sum(cr.scan(lambda c, x: (c * x, x), 0.5, xs)[1] * xs)
    assert cr.jvp(f, (xs,), (ones,))[1] == numpy.float32(2 * xs.sum())
    g = lambda k: cr.while_loop(lambda c: c < 3, lambda c: c * (k + 1.5) + 1, 1.0)
    k = numpy.array([0.5, 0.7], numpy.float32)
    got = cr.vmap(lambda k: cr.jvp(g, (k,), (numpy.float32(1),)))(k)
    for i in range(2):
        want = cr.jvp(g, (k[i],), (numpy.float32(1),))
        numpy.testing.assert_allclose([got[0][i], got[1][i]], want, rtol=1e-6)


def test_forward_mode_keeps_no_tangent_for_a_carry_no_input_moves() -> None:
    # c[1] = sqrt(c[1]) from 0 never depends on a: its tangent was a dense zero, and the
    # rule's 0 * inf (sqrt's slope at 0) made the jvp NaN, where it is 2 (JAX too)
    def loops(a: Any) -> Any:
        scanned = cr.fori_loop(0, 1, lambda i, c: (c[0] * 2, np.sqrt(c[1])), (a, np.zeros(())))
        counted = cr.fori_loop(0, 2, lambda i, c: (c[0] + a, np.sqrt(c[1])), (0.0, 0.0))
        n = np.sum(np.ones(2, int))  # (traced bounds: a while_loop)
        looped = cr.fori_loop(0, n, lambda i, c: (c[0] + a, np.sqrt(c[1])), (0.0, 0.0))
        return sum(scanned) + sum(counted) + sum(looped)

    with numpy.errstate(divide="ignore", invalid="ignore"):
        for jvp in (cr.jvp, lambda f, p, t: cr.jit(lambda a: cr.jvp(f, (a,), t))(*p)):
            assert jvp(loops, (0.5,), (1.0,))[1] == 6.0
        assert cr.jacfwd(loops)(0.5) == 6.0


def test_a_tie_with_a_value_no_derivative_reaches_is_one_with_a_constant() -> None:
    # in a branch, an operand 0.0 and in a loop a carry that no step makes depend on x tie
    # with x as a constant does (derivative 0), as eager code gives it; two values of a body
    # that derivatives reach share 1/2 each (a branch once gave 1/2 here)
    def branch(x: Any) -> Any:
        return cr.cond(x > -1.0, lambda a: np.maximum(a, x), lambda a: a, 0.0)

    def loop(x: Any) -> Any:
        return cr.fori_loop(0, 2, lambda i, c: (c[0] * 2.0, np.maximum(c[0], x)), (0.0, 0.0))[1]

    for f in (branch, loop):
        for g in (cr.grad(f), cr.jit(cr.grad(f)), cr.grad(cr.jit(f))):
            assert g(0.0) == 0.0
        assert cr.jvp(f, (0.0,), (1.0,))[1] == 0.0


def test_scan_masks_are_recomputed_under_jit() -> None:
    """A ReLU inside the body: its mask is a line of the body, not a frozen constant."""

    def f(c: Any, xs: Any) -> Any:
        return np.sum(cr.scan(lambda c, x: (np.maximum(c * x, 0.0) + 0.1 * c, None), c, xs)[0])

    def loop(c: Any, xs: Any) -> Any:
        for x in xs:
            c = np.maximum(c * x, 0.0) + 0.1 * c
        return np.sum(c)

    g = cr.jit(cr.grad(f))
    g(numpy.ones(3), numpy.ones((4, 3)))
    c, xs = numpy.array([1.0, -2.0, 3.0]), rng.standard_normal((4, 3))
    close(g(c, xs), cr.grad(loop)(c, xs))


def test_scan_body_comparisons_are_recomputed_under_transforms() -> None:
    """A comparison (a function without derivative) in the body: a line of the body, replayed
    with the body under grad and vmap, never frozen at its tracing value."""

    def f(c: Any, xs: Any) -> Any:
        step = lambda c, x: (np.where(c * x > 0, c * x, 0.5 * c), None)
        return np.sum(cr.scan(step, c, xs)[0] ** 2)

    def loop(c: Any, xs: Any) -> Any:
        for x in xs:
            c = np.where(c * x > 0, c * x, 0.5 * c)
        return np.sum(c**2)

    g = cr.jit(cr.grad(f))
    g(numpy.ones(3), numpy.ones((4, 3)))
    c, xs = numpy.array([1.0, -2.0, 3.0]), rng.standard_normal((4, 3))
    close(g(c, xs), cr.grad(loop)(c, xs))
    cs = rng.standard_normal((5, 3))
    close(cr.vmap(cr.grad(f), in_axes=(0, None))(cs, xs), [cr.grad(loop)(c, xs) for c in cs])
    close(cr.jacfwd(f)(c, xs), cr.grad(loop)(c, xs))


def test_scan_float32_and_integer_carries() -> None:
    x32 = numpy.ones(3, numpy.float32)
    c, ys = cr.jit(lambda c: cr.scan(lambda c, _: (c * 2, c), c, None, length=3))(x32)
    assert c.dtype == numpy.float32 and ys.dtype == numpy.float32
    g = cr.grad(lambda h: np.sum(cr.scan(lambda c, i: ((c[0] + 1, c[1] * 2.0), i), (0, h),
                                         numpy.arange(3))[0][1]))(2.0)  # fmt: skip
    assert float(g) == 8.0


def test_scan_errors() -> None:
    with pytest.raises(TypeError, match="carry input and carry output must have equal types"):
        cr.scan(lambda c, x: (c.astype(np.float32), x), numpy.ones(2), XS)
    with pytest.raises(TypeError, match="carry input and carry output must have equal types"):
        cr.jit(lambda h: cr.scan(lambda c, x: (c[:2], x), h, XS))(H0)
    with pytest.raises(TypeError, match="same pytree structure"):
        cr.scan(lambda c, x: ((c, c), x), numpy.ones(2), XS)
    with pytest.raises(ValueError, match="inconsistent lengths"):
        cr.scan(lambda c, x: (c, x), 0.0, (XS, XS[:2]))
    with pytest.raises(ValueError, match="no xs and no length"):
        cr.scan(lambda c, x: (c, x), 0.0)
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="`unroll` must be a `bool` or a positive `int`"):
            cr.scan(lambda c, x: (c, x), 0.0, XS, unroll=bad)


# ---------------------------------------------------------------------------- cond


def branchy(x: Any) -> Any:
    return cr.cond(np.sum(x) > 0, lambda a, b: np.sin(a) * b, lambda a, b: a**2 - b, x, 3.0)


def branchy_py(x: Any) -> Any:
    return np.sin(x) * 3.0 if np.sum(x) > 0 else x**2 - 3.0


POS, NEG = numpy.array([0.3, 0.4]), numpy.array([-0.3, -0.4])


def test_cond_values_and_derivatives_of_the_taken_branch() -> None:
    for x in (POS, NEG):
        close(branchy(x), branchy_py(x))
        close(cr.jacrev(branchy)(x), cr.jacrev(branchy_py)(x))
        close(cr.jacfwd(branchy)(x), cr.jacfwd(branchy_py)(x))
        close(cr.hessian(lambda x: np.sum(branchy(x)))(x),
              cr.hessian(lambda x: np.sum(branchy_py(x)))(x))  # fmt: skip
        numeric = central(lambda x: float(np.sum(branchy(x))), x)
        numpy.testing.assert_allclose(cr.grad(lambda x: np.sum(branchy(x)))(x), numeric, rtol=1e-6)

    # a branch returning a Python number: one still (weakly typed, as eagerly), under every
    # transform
    def scaled(x: Any) -> Any:
        p, k = cr.cond(x > 0, lambda a: (a * 2.0, 3), lambda a: (a * 3.0, 4), x)
        return p * np.asarray(k)

    for derivative in (cr.grad(scaled), lambda x: cr.jvp(scaled, (x,), (1.0,))[1]):
        assert float(derivative(1.5)) == 6.0 and float(derivative(-1.0)) == 12.0
    # only the (float) predicate traced: zero derivatives, with jacfwd's batch axes
    chosen = lambda p: cr.cond(p[0], lambda a: a * 2.0, lambda a: a * 3.0, numpy.ones(2))
    for jac in (cr.jacfwd, cr.jacrev):
        numpy.testing.assert_array_equal(jac(chosen)(numpy.array([0.5, 1.0])), numpy.zeros((2, 2)))


def test_cond_under_jit_reads_the_predicate_each_call() -> None:
    for first, then in ((POS, NEG), (NEG, POS)):
        f, g = cr.jit(branchy), cr.jit(cr.jacrev(branchy))
        f(first), g(first)
        close(f(then), branchy_py(then))
        close(g(then), cr.jacrev(branchy_py)(then))
    program = cr.make_program(branchy)(POS)
    assert [eq.name for eq in program.equations][-1] == "cond"
    assert not any(eq.name in ("sin", "power") for eq in program.equations)  # inside the branches


def test_cond_under_vmap_selects_per_example() -> None:
    xs = numpy.array([[0.3, 0.4], [-0.3, -0.4], [1.0, 2.0]])
    close(cr.vmap(branchy)(xs), [branchy_py(x) for x in xs])
    close(cr.vmap(cr.jacrev(branchy))(xs), [cr.jacrev(branchy_py)(x) for x in xs])
    shared = cr.vmap(lambda x, p: cr.cond(p, np.sin, np.cos, x), in_axes=(0, None))
    close(shared(xs, True), numpy.sin(xs))
    jv = cr.jit(cr.vmap(branchy))
    jv(xs)
    close(jv(-xs), [branchy_py(-x) for x in xs])


def test_cond_errors() -> None:
    with pytest.raises(TypeError, match="pred must be a scalar"):
        cr.cond(np.array([True, False]), np.sin, np.cos, 1.0)
    with pytest.raises(TypeError, match="pred type must be either boolean or number"):
        cr.cond("yes", np.sin, np.cos, 1.0)
    with pytest.raises(TypeError, match="true_fun returns 2 arrays and false_fun 1"):
        cr.jit(lambda x: cr.cond(x > 0, lambda x: (x, x), lambda x: x, x))(1.0)


# ---------------------------------------------------------------------------- while_loop


def shrink(x: Any) -> Any:
    return cr.while_loop(lambda c: np.sum(c**2) > 0.01, lambda c: c * 0.5 + 0.01 * np.sin(c), x)


def shrink_py(x: Any) -> Any:
    while np.sum(x**2) > 0.01:
        x = x * 0.5 + 0.01 * np.sin(x)
    return x


def test_while_loop_reads_the_condition_on_each_replay() -> None:
    assert int(cr.while_loop(lambda i: i < 10, lambda i: i + 3, 0)) == 12
    f = cr.jit(shrink)
    f(numpy.array([1.0, 2.0]))  # 5 steps
    for x in (numpy.array([0.05, -3.0]), numpy.array([0.01, 0.0]), numpy.array([40.0, 1.0])):
        close(f(x), shrink_py(x))


def test_while_loop_forward_mode_and_reverse_error() -> None:
    x = numpy.array([1.0, 2.0])
    close(cr.jacfwd(shrink)(x), cr.jacfwd(shrink_py)(x))
    g = cr.jit(cr.jacfwd(shrink))
    g(x)
    close(g(numpy.array([0.05, -3.0])), cr.jacfwd(shrink_py)(numpy.array([0.05, -3.0])))
    with pytest.raises(
        ValueError, match="Reverse-mode differentiation does not work for while_loop"
    ):
        cr.grad(lambda x: np.sum(shrink(x)))(x)


def test_while_loop_under_vmap_freezes_finished_examples() -> None:
    xs = numpy.array([[1.0, 2.0], [0.05, -3.0], [0.01, 0.0]])
    close(cr.vmap(shrink)(xs), [shrink_py(x) for x in xs])
    jv = cr.jit(cr.vmap(shrink))
    jv(xs)
    close(jv(xs[::-1] * 3), [shrink_py(x * 3) for x in xs[::-1]])
    bounds = cr.vmap(lambda n: cr.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 2.0),
                                             (0, 1.0))[1])  # fmt: skip
    close(bounds(numpy.array([0, 3, 5])), [1.0, 8.0, 32.0])


def test_while_loop_errors() -> None:
    with pytest.raises(TypeError, match="pred must be a scalar"):
        cr.while_loop(lambda c: c > 0, lambda c: c - 1, numpy.ones(2))
    with pytest.raises(TypeError, match="carry input and carry output must have equal types"):
        cr.while_loop(lambda c: c < 3, lambda c: c + 1.5, 0)
    with pytest.raises(TypeError, match="carry input and carry output must have equal types"):
        cr.jit(lambda x: cr.while_loop(lambda c: np.sum(c) < 3, lambda c: c[:1] + 1, x))(
            numpy.ones(2)
        )


# ---------------------------------------------------------------------------- fori_loop


def power_loop(x: Any) -> Any:
    return cr.fori_loop(0, 4, lambda i, c: np.sin(c) * i + c, x)


def power_loop_py(x: Any) -> Any:
    for i in range(4):
        x = np.sin(x) * i + x
    return x


def test_fori_loop_static_bounds_is_a_differentiable_scan() -> None:
    x, y = numpy.array([0.3, -1.2]), numpy.array([2.0, 0.1])
    close(power_loop(x), power_loop_py(x))
    g = cr.jit(cr.jacrev(power_loop))
    g(x)
    close(g(y), cr.jacrev(power_loop_py)(y))
    assert [eq.name for eq in cr.make_program(power_loop)(x).equations] == ["scan"]
    assert int(cr.fori_loop(0, 5, lambda i, total: total + i, 0)) == 10
    unrolled = cr.jit(cr.jacrev(lambda x: cr.fori_loop(0, 4, lambda i, c: np.sin(c) * i + c, x,
                                                       unroll=3)))  # fmt: skip
    unrolled(x)
    close(unrolled(y), cr.jacrev(power_loop_py)(y))


def test_fori_loop_traced_bounds_is_a_while_loop() -> None:
    f = cr.jit(lambda x, n: cr.fori_loop(0, n, lambda i, c: c * 1.5, x))
    x = numpy.array([1.0, 2.0])
    close(f(x, 3), x * 1.5**3)
    close(f(x, 5), x * 1.5**5)  # same signature: replayed, the bound read again
    close(cr.jacfwd(lambda x: f(x, 2))(x), numpy.eye(2) * 2.25)
    with pytest.raises(TypeError, match="lower and upper must be integer scalars"):
        cr.fori_loop(0, 2.5, lambda i, c: c, 1.0)
    with pytest.raises(ValueError, match="can only use `unroll` if the loop bounds are static"):
        cr.jit(lambda x, n: cr.fori_loop(0, n, lambda i, c: c * 1.5, x, unroll=2))(x, 3)


# ---------------------------------------------------------------------------- composition


def nested(c: Any, xs: Any) -> Any:
    def outer(c: Any, x: Any) -> tuple[Any, Any]:
        inner, _ = cr.scan(lambda d, y: (np.sin(d) * y + d, None), c, x.reshape(3, 2))
        c2 = cr.cond(np.sum(inner) > 0, lambda a: a * 2.0, lambda a: -a, inner)
        return c2, np.sum(c2)

    c, ys = cr.scan(outer, c, xs)
    return np.sum(c**2) + np.sum(ys)


def nested_py(c: Any, xs: Any) -> Any:
    total = 0.0
    for x in xs:
        for y in x.reshape(3, 2):
            c = np.sin(c) * y + c
        c = c * 2.0 if np.sum(c) > 0 else -c
        total = total + np.sum(c)
    return np.sum(c**2) + total


def test_nested_scan_and_cond_under_every_transform() -> None:
    c, xs = rng.standard_normal(2), rng.standard_normal((4, 6))
    c2, xs2 = rng.standard_normal(2), rng.standard_normal((4, 6))
    close(nested(c, xs), nested_py(c, xs))
    g = cr.jit(cr.grad(nested, (0, 1)))
    g(c, xs)
    close(g(c2, xs2), cr.grad(nested_py, (0, 1))(c2, xs2))
    close(cr.grad(cr.jit(nested))(c2, xs2), cr.grad(nested_py)(c2, xs2))
    close(cr.hessian(nested)(c, xs), cr.hessian(nested_py)(c, xs), rtol=1e-9, atol=1e-11)
    cs = rng.standard_normal((3, 2))
    close(cr.vmap(cr.grad(nested), (0, None))(cs, xs), [cr.grad(nested_py)(c, xs) for c in cs])
    t = rng.standard_normal(2)
    close(cr.jvp(cr.jit(lambda c: nested(c, xs)), (c2,), (t,)),
          cr.jvp(lambda c: nested_py(c, xs), (c2,), (t,)))  # fmt: skip


def test_python_number_carries_take_the_body_dtype() -> None:
    """As JAX's weak types: a Python float carry meets a float32 body (an int does not)."""
    xs = numpy.ones(3, numpy.float32)
    for f in (lambda xs: cr.scan(lambda c, x: (c + x, None), 0.0, xs)[0], cr.jit(
            lambda xs: cr.scan(lambda c, x: (c + x, None), 0.0, xs)[0])):  # fmt: skip
        out = f(xs)
        assert float(out) == 3.0 and out.dtype == numpy.float32
    with pytest.raises(TypeError, match="carry input and carry output must have equal types"):
        cr.scan(lambda c, x: (c + x, None), 0, xs)


def test_complex_carries_and_operands_are_differentiated() -> None:
    """A complex carry or operand has a derivative (JAX's convention), never a dropped one."""
    z, xs = numpy.array([0.3 + 0.2j, -0.1 + 0.5j]), numpy.array([0.5, 1.2, -0.7])

    def f(z: Any) -> Any:
        return np.sum(np.abs(cr.scan(lambda c, x: (c * x + np.sin(c), None), z, xs)[0]) ** 2)

    def loop(z: Any) -> Any:
        for x in xs:
            z = z * x + np.sin(z)
        return np.sum(np.abs(z) ** 2)

    close(cr.grad(f)(z), cr.grad(loop)(z))
    close(cr.jit(cr.grad(f))(2 * z), cr.grad(loop)(2 * z))
    close(cr.jvp(f, (z,), (z,)), cr.jvp(loop, (z,), (z,)))

    def g(z: Any) -> Any:
        return np.sum(np.abs(cr.cond(np.real(z[0]) > 0, np.sin, lambda a: a * a, z)) ** 2)

    def g_py(z: Any) -> Any:
        return np.sum(np.abs(np.sin(z) if np.real(z[0]) > 0 else z * z) ** 2)

    for w in (z, -z):
        close(cr.grad(g)(w), cr.grad(g_py)(w))


def test_a_branch_closing_over_a_value_is_differentiated_only_when_taken() -> None:
    """Work a branch does on a value it closes over belongs to the branch (closure
    conversion): under jit and vmap the square root of a negative x, in the branch not
    taken, neither poisons the gradient with NaN nor runs outside the branch."""

    def root(x: Any) -> Any:
        return cr.cond(x > 0, lambda: np.sqrt(x), lambda: 0.0 * x)

    xs = numpy.array([-1.0, 4.0, -2.5, 0.25])
    expected = numpy.where(xs > 0, 0.5 / numpy.sqrt(numpy.abs(xs)), 0.0)
    eager = numpy.array([cr.grad(root)(x) for x in xs])
    compiled = cr.jit(cr.grad(root))
    numpy.testing.assert_allclose(eager, expected)
    numpy.testing.assert_allclose([compiled(x) for x in xs], expected)
    numpy.testing.assert_allclose(cr.vmap(cr.grad(root))(xs), expected)
    numpy.testing.assert_allclose(cr.jit(cr.vmap(cr.grad(root)))(xs), expected)
    with numpy.errstate(invalid="raise"):  # the untaken square root is never computed
        assert float(cr.jit(root)(-1.0)) == 0.0
    outer = str(cr.make_program(root)(-1.0)).split("cond")[0]
    assert "sqrt" not in outer  # the line is in the branch, not before the cond


def test_checks_in_a_body_read_each_steps_values_not_the_examples() -> None:
    """A check of values inside a body (here geomspace's refusal of a zero end) is a line of
    the body: a branch not taken does not refuse the call, and the check reads the values
    of the innermost trace (an outer jit's value beside a body's one)."""

    def f(x: Any) -> Any:
        return cr.cond(x > 0, lambda x: np.sum(np.geomspace(x, 2.0, 3)), lambda x: 0.0 * x, x)

    for run in (f, cr.jit(f), cr.grad(f), cr.jit(cr.grad(f))):
        assert float(run(0.0)) == 0.0
    assert float(cr.jit(f)(1.0)) == float(f(1.0))

    def g(w: Any, xs: Any) -> Any:
        return cr.scan(lambda c, x: (c + np.sum(np.geomspace(w, x, 3)), None), 0.0, xs)[0]

    xs = numpy.array([1.0, 4.0])
    numpy.testing.assert_allclose(cr.jit(g)(2.0, xs), g(2.0, xs))
    with pytest.raises(ValueError, match="Geometric sequence cannot include zero"):
        cr.jit(g)(2.0, numpy.array([1.0, 0.0]))


def test_a_scans_checks_refuse_its_first_steps_values_at_once_but_not_in_a_branch() -> None:
    """A scan surely runs its first step: a check refuses the values its body is traced on
    then, before a later line (`take` of the labels) fails on them less clearly; inside a
    branch, whose examples may never run, it waits for the replay."""
    z = rng.standard_normal((2, 4, 5, 3))

    def loss(z: Any, y: Any) -> Any:
        return cr.scan(lambda c, zy: (c + nn.cross_entropy(*zy), None), 0.0, (z, y))[0]

    bad = numpy.zeros((2, 4, 5), dtype=int)
    bad[0, 0, 0] = 3
    for run in (cr.vmap(loss), cr.jit(cr.vmap(loss)), cr.vmap(cr.jit(loss))):
        with pytest.raises(ValueError, match="label 3 is out of range"):
            run(z, bad)

    def chosen(y: Any, p: Any) -> Any:
        return cr.cond(p >= 0, lambda y: loss(z[0], y), lambda y: 0.0 * np.sum(y), y)

    jitted = cr.jit(chosen)
    jitted(numpy.zeros((4, 5), dtype=int), 1.0)  # (traced on labels in range)
    for run in (chosen, jitted):
        assert float(run(bad[0], -1.0)) == 0.0  # not taken: no refusal
        with pytest.raises(ValueError, match="label 3 is out of range"):
            run(bad[0], 1.0)


def test_a_branch_or_loop_not_run_on_the_traced_values_may_fail_on_them() -> None:
    """A `cond` guarding an index against its range, traced (the first call of a `jit`) on
    an index out of range: the branch not taken is traced on a probe, not refused, as eager
    code never runs it; the line still raises on a call that takes the branch. So does a
    check in a loop inside that branch, and a loop's body the condition does not enter.
    Where the taken branch fails on the traced values, the error is eager's, at once."""
    a = numpy.arange(5.0)

    def pick(i: Any) -> Any:
        return cr.cond(i < 5, lambda i: np.take(a, i) * 2.0, lambda i: np.asarray(0.0), i)

    for first in (7, 3):
        jitted = cr.jit(pick)
        assert [float(jitted(i)) for i in (first, 3, 9, 0)] == [float(pick(i)) for i in
                                                                 (first, 3, 9, 0)]  # fmt: skip
    guarded = cr.jit(
        lambda i: cr.cond(i >= 0, lambda i: np.asarray(-1.0), lambda i: np.take(a, i), i)
    )
    assert float(guarded(7)) == -1.0
    with pytest.raises(IndexError, match="out of bounds"):
        guarded(-9)  # (the branch taken: the line raises as eager indexing does)
    with pytest.raises(IndexError, match="out of bounds"):
        cr.jit(pick)(-9)  # the taken branch fails on the traced values: at once

    z = rng.standard_normal((4, 5, 3))
    bad = numpy.zeros((4, 5), dtype=int)
    bad[0, 0] = 3

    def chosen(y: Any, p: Any) -> Any:
        def loss(y: Any) -> Any:
            return cr.scan(lambda c, zy: (c + nn.cross_entropy(*zy), None), 0.0, (z, y))[0]

        return cr.cond(p >= 0, loss, lambda y: 0.0 * np.sum(y), y)

    jitted = cr.jit(chosen)
    assert float(jitted(bad, -1.0)) == 0.0  # traced on labels out of range, not taken
    numpy.testing.assert_allclose(jitted(bad * 0, 1.0), chosen(bad * 0, 1.0), rtol=1e-12)
    with pytest.raises(ValueError, match="label 3 is out of range"):
        jitted(bad, 1.0)

    def total(n: Any) -> Any:  # a[k] for k < n: the body is not entered when n = 0
        body = lambda c: (c[0] + 1, c[1] + np.take(a, c[0] + 4))
        return cr.while_loop(lambda c: c[0] < n, body, (0, 0.0))[1]

    looped = cr.jit(total)
    assert float(looped(0)) == 0.0
    assert float(looped(1)) == 4.0
    with pytest.raises(IndexError, match="out of bounds"):
        looped(2)
    with pytest.raises(IndexError, match="out of bounds"):
        cr.jit(total)(2)  # (entered on the traced values: at once)

    def shapes(x: Any) -> Any:  # an error the values do not cause is refused while tracing
        return cr.cond(x[0] > 0, lambda x: x + np.ones(3), lambda x: x, x)

    with pytest.raises(ValueError, match="broadcast"):
        cr.jit(shapes)(-numpy.ones(2))


def test_loops_and_branches_in_a_branch_not_taken_are_not_run_while_tracing() -> None:
    """A loop in the branch not taken would run on values it never meets, and might not
    end (counting up to a negative n; a step that a probe makes 0): it is traced, not
    run. The same for a loop in a `while_loop` body the condition does not enter."""

    def count(n: Any) -> Any:
        up = lambda n: cr.while_loop(lambda c: c[0] != n, lambda c: (c[0] + 1, c[1] + 1.0),
                                     (0, 0.0))[1]  # fmt: skip
        return cr.cond(n >= 0, up, lambda n: np.asarray(-1.0), n)

    a = numpy.arange(5.0)

    def steps(i: Any, step: Any) -> Any:
        def taken(i: Any, step: Any) -> Any:
            body = lambda c: (c[0] + step, c[1] + np.take(a, i))  # (i out of range: a probe)
            return cr.while_loop(lambda c: c[0] < 5, body, (0, 0.0))[1]

        return cr.cond(i < 5, taken, lambda i, step: np.asarray(0.0), i, step)

    def nested(n: Any) -> Any:  # the inner loop's body is not entered on n = 0
        outer = lambda c: (c[0] + 1, count(c[0] - 1) + c[1])
        return cr.while_loop(lambda c: c[0] < n, outer, (0, 0.0))[1]

    for f, calls in ((count, (-1, 3)), (steps, ((7, 1), (2, 1))), (nested, (0, 3))):
        jitted = cr.jit(f)
        for args in calls:
            args = args if isinstance(args, tuple) else (args,)
            assert float(jitted(*args)) == float(f(*args))


def test_a_branch_closing_over_labels_checks_them_only_when_taken() -> None:
    """A check in a branch on values it closes over (not operands) is the branch's: it
    refuses them on the calls that take the branch, under jit and vmap as in eager code."""
    z = numpy.zeros((2, 3))
    bad, good = numpy.array([0, 5]), numpy.array([0, 1])

    def f(y: Any, p: Any) -> Any:
        return cr.cond(p >= 0, lambda: nn.cross_entropy(z, y), lambda: np.asarray(0.0))

    jitted = cr.jit(f)
    assert float(jitted(bad, -1.0)) == float(f(bad, -1.0)) == 0.0
    assert float(jitted(good, 1.0)) == float(f(good, 1.0))
    for run in (f, jitted, cr.jit(f)):
        with pytest.raises(ValueError, match="label 5 is out of range"):
            run(bad, 1.0)
    batched = cr.vmap(f, in_axes=(0, None))
    numpy.testing.assert_array_equal(batched(numpy.stack([bad, good]), -1.0), [0.0, 0.0])


def test_a_reverse_scan_is_traced_on_its_first_step_the_last_row() -> None:
    """A reverse scan first runs on the last row of xs: that step's values are the ones it
    surely runs on, checked at once; the first row meets another carry, or none."""
    a = numpy.arange(5.0)
    xs = numpy.array([3, 1])  # steps (3, 1) then (1, 3): never (3, 3), out of range

    def f(xs: Any) -> Any:
        return cr.scan(lambda c, x: (x, np.take(a, c + x)), 3, xs, reverse=True)[1]

    numpy.testing.assert_array_equal(cr.jit(f)(xs), f(xs))
    z = rng.standard_normal((2, 4))

    def g(ys: Any) -> Any:
        return cr.scan(lambda c, y: (c + nn.cross_entropy(z, y), None), 0.0, ys, reverse=True)[0]

    ys = numpy.array([[0, 1], [2, 3]])
    numpy.testing.assert_allclose(cr.jit(g)(ys), g(ys), rtol=1e-12)
    ys[0, 0] = 4
    with pytest.raises(ValueError, match="label 4 is out of range"):
        cr.jit(g)(ys)


def test_a_branch_not_taken_is_traced_on_probes_a_solver_accepts() -> None:
    """A singular matrix the predicate guards against (inverse, solve, Cholesky), and a
    custom rule's function, in the branch not taken: traced on probes; the same results
    as eager code, and the line still refuses the values on a call that takes it."""
    a = numpy.arange(5.0)

    @cr.custom_jvp
    def pick(i: Any) -> Any:
        return np.take(a, i)

    pick.defjvp(lambda p, t: (pick(*p), 0.0 * t[0]))
    lines = [
        lambda m: np.trace(np.linalg.inv(m)),
        lambda m: np.sum(np.linalg.solve(m, numpy.ones(2))),
        lambda m: np.sum(np.linalg.cholesky(m)),
    ]
    singular = numpy.ones((2, 2))
    for line in lines:
        f = lambda m, line=line: cr.cond(
            np.abs(np.linalg.det(m)) > 1e-12, line, lambda m: np.asarray(0.0), m
        )
        jitted = cr.jit(f)
        assert float(jitted(singular)) == float(f(singular)) == 0.0
        numpy.testing.assert_allclose(jitted(2.0 * numpy.eye(2)), f(2.0 * numpy.eye(2)))
    guarded = cr.jit(lambda i: cr.cond(i < 5, pick, lambda i: np.asarray(0.0), i))
    assert [float(guarded(i)) for i in (7, 2)] == [0.0, 2.0]


def test_vmap_of_a_cond_over_no_examples() -> None:
    """No example takes either branch: results of the types the branches give, as JAX's,
    and no check runs."""
    x = numpy.arange(3.0)
    f = lambda p: cr.cond(p > 0, lambda x: x * 2.0, lambda x: -x, x)
    for run in (cr.vmap(f), cr.jit(cr.vmap(f))):
        assert run(numpy.zeros(0)).shape == (0, 3)
        numpy.testing.assert_array_equal(run(numpy.array([1.0, -1.0])), [2 * x, -x])
    z = numpy.zeros((2, 3))

    def loss(y: Any, p: Any) -> Any:
        return cr.cond(p >= 0, lambda y: nn.cross_entropy(z, y), lambda y: 0.0 * np.sum(y), y)

    empty = numpy.zeros((0, 2), dtype=int)
    assert cr.vmap(loss, in_axes=(0, None))(empty, 1.0).shape == (0,)


def test_stop_gradient_in_a_body_stops_the_derivative_of_every_replay() -> None:
    """A body is differentiated after it is traced, by replaying its lines on the
    transforms' values: `stop_gradient` is a line of it (it was dropped, and the derivative
    of ``stop_gradient(c) * c`` doubled), under every composition."""
    s = lambda x: cr.scan(lambda c, _: (cr.stop_gradient(c) * c, None), x, None, length=2)[0]
    c = lambda x: cr.cond(x > 0, lambda x: cr.stop_gradient(x) * x, lambda x: 2.0 * x, x)
    x = numpy.array([3.0, -2.0])
    # s: c1 = x * x with slope x, c2 = c1 * c1 with slope c1 * x = x**3; c: x, or 2
    for f, want in ((s, [27.0, -8.0]), (c, [3.0, 2.0])):
        for run in (
            cr.vmap(cr.grad(f)), cr.vmap(cr.jit(cr.grad(f))), cr.vmap(cr.grad(cr.jit(f))),
            cr.grad(lambda v, f=f: np.sum(cr.vmap(f)(v))),
            cr.jit(cr.grad(lambda v, f=f: np.sum(cr.vmap(f)(v)))),
            lambda v, f=f: numpy.diag(cr.jacfwd(cr.vmap(f))(v)),
        ):  # fmt: skip
            numpy.testing.assert_allclose(run(x), want, rtol=1e-12)
    assert float(cr.hessian(s)(3.0)) == 0.0


def test_the_derivative_of_a_batched_cond_is_the_taken_branchs() -> None:
    """Under `vmap` with a batched predicate both branches run, each on every example; the
    branch an example does not take gets its values without derivative, so its NaN or
    infinity (the square root's slope at -1 and 0) never reaches the derivative through a
    zero, as in eager code and JAX."""
    f = lambda x: cr.cond(x > 0, np.sqrt, lambda x: 0.0 * x, x)
    g = lambda x: cr.scan(lambda c, _: (f(c), None), x, None, length=2)[0]
    x = numpy.array([4.0, -1.0, 0.0])
    with numpy.errstate(all="ignore"):
        for fun, slope in ((f, 0.25), (g, 0.5 * 0.5 * 4.0**-0.75)):
            want = [slope, 0.0, 0.0]
            total = lambda v, fun=fun: np.sum(cr.vmap(fun)(v))
            for run in (cr.grad(total), cr.jit(cr.grad(total)), cr.grad(cr.jit(total))):
                numpy.testing.assert_allclose(run(x), want, rtol=1e-12)
            numpy.testing.assert_allclose(numpy.diag(cr.jacrev(cr.vmap(fun))(x)), want)
            numpy.testing.assert_allclose(numpy.diag(cr.jacfwd(cr.vmap(fun))(x)), want)
            numpy.testing.assert_allclose(cr.vmap(cr.grad(fun))(x), want, rtol=1e-12)


def test_fori_loops_index_is_weak_as_eager_codes_python_int() -> None:
    """Eager code gives the body a Python int, which NumPy promotes weakly: a float32 carry
    plus the index stays float32. A compiled loop does the same on every step (the index was
    an int64 array, and the carry became float64, refused as a carry of another type), with
    static bounds and with traced ones, under grad too."""

    def f(v: Any, n: Any = 3) -> Any:
        return cr.fori_loop(0, n, lambda i, v: v + i, v)

    v = numpy.ones(2, dtype=numpy.float32)
    traced_bounds, static_bounds = cr.jit(f), cr.jit(lambda v: f(v, 3))
    for out in (f(v), traced_bounds(v, 3), static_bounds(v), cr.vmap(f)(v[:, None])[:, 0]):
        assert out.dtype == numpy.float32
        numpy.testing.assert_array_equal(out, [4.0, 4.0])
    g = cr.grad(lambda v: np.sum(cr.fori_loop(0, 3, lambda i, v: v * v + i, v)))
    assert cr.jit(g)(v).dtype == numpy.float32
    numpy.testing.assert_array_equal(cr.jit(g)(v), g(v))


def test_eager_fori_loop_checks_its_carry_as_a_compiled_one_does() -> None:
    def loops(body: Any) -> list[Any]:
        return [
            lambda c: cr.fori_loop(0, 2, body, c),
            cr.jit(lambda c: cr.fori_loop(0, 2, body, c)),
        ]

    for init, body in ((0, lambda i, c: c + 0.5), (numpy.zeros(1), lambda i, c: numpy.zeros(2))):
        for run in loops(body):
            with pytest.raises(TypeError, match="carry input and carry output must have equal"):
                run(init)


def test_a_scan_body_may_return_its_pair_as_a_list() -> None:
    xs = numpy.arange(3.0)
    carry, ys = cr.scan(lambda c, x: [c + x, c * x], 0.0, xs)
    assert float(carry) == 3.0
    numpy.testing.assert_array_equal(ys, [0.0, 0.0, 2.0])


def test_reverse_mode_passes_a_while_loop_whose_results_have_no_derivative() -> None:
    """A loop counting steps (an integer carry) whose condition reads the differentiated
    value: its result has no derivative, so reverse mode needs none of the loop, compiled
    or not, as JAX's."""
    f = lambda a: a * cr.while_loop(lambda k: k * a < 3.0, lambda k: k + 1, 0)
    for run in (cr.grad(f), cr.jit(cr.grad(f)), cr.grad(cr.jit(f))):
        assert float(run(2.0)) == 2.0
    g = lambda a: cr.while_loop(lambda c: c < 3.0, lambda c: c + a, 0.0)
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        cr.jit(cr.grad(g))(2.0)


def test_a_cond_whose_branches_disagree_says_which_output_and_how() -> None:
    f = cr.jit(lambda x: cr.cond(x > 0, lambda x: x, lambda x: x.astype(numpy.float32), x))
    with pytest.raises(TypeError, match=r"output leaf 0 is float64\[\] from true_fun and "
                       r"float32\[\] from false_fun\. Cast one with `\.astype`"):  # fmt: skip
        f(1.0)
    g = cr.jit(lambda x: cr.cond(x > 0, lambda x: (x, x), lambda x: [x, x], x))
    with pytest.raises(TypeError, match="same tree structure, but true_fun returns"):
        g(1.0)


def test_weak_numbers_and_stopped_values_in_bodies_under_every_transform() -> None:
    """Review of the weak numbers and `stop_gradient` in bodies: a division by zero in the
    branch not taken is traced on a probe; a loop not run (in that branch) gives a Python
    number's type as the loop would, so the program does not hang on the traced values'
    sign; a stopped value the body closes over is lifted into it (under jit of vmap of
    grad); a Python int carry may grow past int64, as eagerly."""
    inverse = lambda x: cr.cond(x != 0, lambda x: 1 / x, lambda x: 0.0 * x, x)
    assert float(cr.jit(inverse)(0.0)) == float(inverse(0.0)) == 0.0
    g = numpy.ones(3, numpy.float32)

    def scaled(lr: Any, g: Any) -> Any:
        up = lambda g: g * cr.fori_loop(0, 3, lambda i, c: c + lr, 0.0)
        return cr.cond(lr > 0, up, lambda g: g, g)

    for lr in (1.0, -1.0):
        assert cr.jit(scaled)(lr, g).dtype == scaled(lr, g).dtype == numpy.float32

    def f(x: Any) -> Any:
        y = x * 2
        return cr.scan(lambda c, t: (c + cr.stop_gradient(y) * y * t, None), x,
                       numpy.arange(1.0, 4.0))[0]  # fmt: skip

    xs = numpy.array([0.7, -0.3, 1.5])
    numpy.testing.assert_allclose(cr.jit(cr.vmap(cr.grad(f)))(xs), cr.vmap(cr.grad(f))(xs))
    numpy.testing.assert_allclose(cr.vmap(cr.grad(f))(xs), 1.0 + 2.0 * 6.0 * 2.0 * xs)
    double = lambda c: cr.fori_loop(0, 70, lambda i, c: c * 2, c)
    assert double(1) == cr.jit(double)(1) == 2**70


def test_probes_keep_python_numbers_and_reach_functions_without_derivative() -> None:
    """A probe of a Python number is a Python number (a weak zero: the branch keeps its
    float32), and a function without derivative in the branch not taken is traced on
    probes too (a digitize the predicate guards against unsorted bins)."""
    x32 = numpy.ones(2, numpy.float32)

    def scaled(lr: Any, n: Any, x: Any) -> Any:
        return cr.cond(n != 0, lambda: x * (lr / n), lambda: x)

    for n in (0.0, 2.0):
        assert cr.jit(scaled)(1.0, n, x32).dtype == numpy.float32
    x = numpy.array([0.5, 2.5])

    def binned(x: Any, bins: Any) -> Any:
        ok = np.all(np.diff(bins) > 0)
        return cr.cond(ok, lambda: np.digitize(x, bins) * 1.0, lambda: x * 0.0)

    good, bad = numpy.array([0.0, 1.0, 2.0]), numpy.array([0.0, 2.0, 1.0])
    jitted = cr.jit(binned)
    for bins in (bad, good, bad):
        numpy.testing.assert_array_equal(jitted(x, bins), binned(x, bins))


def test_a_batched_cond_copies_no_shared_value_per_example() -> None:
    """Only what differs per example is held back from the branch an example does not take;
    a weight shared by every example is read as it is (it was copied once per example)."""
    w = rng.standard_normal((50, 50))

    def f(x: Any, w: Any) -> Any:
        return cr.cond(np.sum(x) > 0, lambda x, w: np.tanh(w @ x), lambda x, w: -x, x, w)

    xs = rng.standard_normal((8, 50))
    batched = cr.vmap(f, in_axes=(0, None))
    assert "[8,50,50]" not in str(cr.make_program(batched)(xs, w))
    numpy.testing.assert_allclose(cr.jit(batched)(xs, w), [f(x, w) for x in xs], rtol=1e-12)


def test_functions_without_derivative_in_bodies_under_jit_and_vmap() -> None:
    """A function without derivative (`np.any`, the median's order weights) on values a
    body closes over, or in a body replayed batched over its steps: a line of the body,
    which hands the values of the transform replaying it back to chainrule (an `any` on a
    closed-over batch leaked a tracer; the median's pullback converted a batch to NumPy)."""

    def f(a: Any, b: Any) -> Any:
        v = cr.scan(lambda c, x: (c, x), 0.0, a)[1]
        return cr.scan(lambda c, x: (np.any(v, axis=0).astype(numpy.float32), 0.0),
                       numpy.zeros(3, numpy.float32), b)[1]  # fmt: skip

    a, b = numpy.ones((1, 3), numpy.float32), numpy.ones(2)
    stacked = (numpy.stack([a, 0 * a]), numpy.stack([b, b]))
    want = numpy.stack([f(a, b), f(0 * a, b)])
    for run in (cr.vmap(f), cr.jit(cr.vmap(f)), cr.vmap(cr.jit(f))):
        numpy.testing.assert_array_equal(run(*stacked), want)

    def loss(c0: Any, xs: Any) -> Any:
        c, _ = cr.scan(lambda c, x: (np.broadcast_to(np.median(c), (3,)), x), c0, xs)
        return np.sum(c)

    c0, xs = numpy.array([1.0, 3.0, 2.0]), numpy.ones((2, 3))
    for run in (cr.grad(loss), cr.jit(cr.grad(loss)), cr.grad(cr.jit(loss))):
        numpy.testing.assert_array_equal(run(c0, xs), [0.0, 0.0, 3.0])


def test_a_body_traced_in_one_thread_leaves_other_threads_alone() -> None:
    # Thread A traces a branch of `cond` (under jit) while this thread differentiates and
    # compiles, its transforms begun before A's body (lower levels): neither records into
    # the other's trace.
    go, inside, done = threading.Event(), threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def branch(x: Any) -> Any:
        inside.set()
        assert done.wait(10)  # this thread works while A's body is being traced
        return np.sin(x) * 2.0

    def a() -> None:
        assert go.wait(10)
        f = cr.jit(lambda x: cr.cond(x[0] > 0, branch, lambda x: x * 3.0, x))
        results["a"] = (f(numpy.array([1.0, 2.0])), f(numpy.array([-1.0, 2.0])))

    def loss(x: Any) -> Any:
        go.set()
        assert inside.wait(10)
        results["tracing"] = staging.tracing()  # (A's tracing is A's)
        return np.sum(np.tanh(x) ** 2)

    thread = threading.Thread(target=a)
    thread.start()
    x = numpy.array([0.5, -1.5])
    try:
        results["grad"] = cr.grad(loss)(x)
        results["jit"] = cr.jit(cr.grad(lambda x: np.sum(np.exp(x) * x)))(x)
    finally:
        done.set()
        thread.join(10)
    assert results["tracing"] is False
    numpy.testing.assert_allclose(results["grad"], 2 * numpy.tanh(x) / numpy.cosh(x) ** 2)
    numpy.testing.assert_allclose(results["jit"], numpy.exp(x) * (1 + x))
    numpy.testing.assert_allclose(results["a"][0], 2 * numpy.sin([1.0, 2.0]))
    numpy.testing.assert_allclose(results["a"][1], [-3.0, 6.0])


def test_tracings_that_end_out_of_order_in_two_threads_stay_each_threads() -> None:
    # A's branch is traced first and ends while B is still inside its own branch: ending A
    # must take A's body (and jit tracing) off the lists, not the last one, which is B's.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    first = {"a": True, "b": True}
    results: dict[str, Any] = {}

    def branch_a(x: Any) -> Any:
        if first.pop("a", False):
            a_in.set()
            assert b_in.wait(10)
        return x * 2.0

    def branch_b(x: Any) -> Any:
        if first.pop("b", False):
            b_in.set()
            assert a_out.wait(10)
            results["b tracing"] = staging.tracing()
        return x * 3.0

    def fa(x: Any) -> Any:
        y = cr.cond(np.sum(x) > 0, branch_a, branch_a, x)
        try:
            return np.sin(y) + 1.0
        finally:
            a_out.set()

    def run(name: str, f: Any, wait: Any = None) -> None:
        if wait is not None:
            assert wait.wait(10)
        try:
            results[name] = cr.jit(f)(numpy.ones(3))
            results[f"{name} after"] = staging.tracing()
        except Exception as e:  # (reported below)
            results[name] = e
            a_out.set()

    threads = [
        threading.Thread(target=run, args=("a", fa)),
        threading.Thread(target=run, args=("b", lambda x: cr.cond(np.sum(x) > 0, branch_b, branch_b, x), a_in)),
    ]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    numpy.testing.assert_allclose(results["a"], numpy.sin(2.0) + 1.0)
    numpy.testing.assert_allclose(results["b"], 3.0)
    assert results["b tracing"] is True and results["a after"] is False
    assert not staging.TRACINGS


def test_grad_through_python_numbers_that_control_flow_returns() -> None:
    """Found by fuzzing: a cond's branch returning a Python float, or a scan's Python-int
    counter, multiplying the differentiated array crashed eager grad (the product's rule
    read the number's shape); jit(grad) gave the numbers, as JAX does."""
    x = numpy.array([-1.0, 0.5, 0.2])

    def f_cond(x: Any) -> Any:
        s = cr.cond(np.sum(x) > 0.0, lambda p: 0.5, lambda p: -0.9, x)
        return np.sum(x * s) + np.sum(s / (x + 2.0))

    def f_scan(x: Any) -> Any:
        def body(c: Any, xt: Any) -> Any:
            h, it = c
            return (np.tanh(h * xt), it + 1), None

        (h, it), _ = cr.scan(body, (x, 0), numpy.ones((2, 3)))
        return np.sum(h * it)

    numpy.testing.assert_allclose(cr.grad(f_cond)(x), -0.9 + 0.9 / (x + 2.0) ** 2, rtol=1e-15)
    t = numpy.tanh(x)
    want = 2.0 * (1.0 - numpy.tanh(t) ** 2) * (1.0 - t**2)  # d/dx 2 tanh(tanh(x))
    for f, expected in ((f_cond, None), (f_scan, want)):
        got = cr.grad(f)(x)
        numpy.testing.assert_allclose(got, cr.jit(cr.grad(f))(x), rtol=1e-15)
        if expected is not None:
            numpy.testing.assert_allclose(got, expected, rtol=1e-14)


def test_a_carry_the_batch_never_reaches_stays_shared_under_vmap() -> None:
    """Found by fuzzing: under vmap, a while_loop batched every carry, so a fori_loop's
    index with traced bounds (under jit) became an int64 array, which promoted a float32
    carry to float64 (refused as a carry of another type); a Python-int counter likewise.
    Carries no step makes depend on the batch now stay as each example has them, where the
    condition reads no batched value."""

    def f(x: Any, k: Any) -> Any:
        return cr.fori_loop(0, k, lambda i, h: 0.5 * h + 0.1 * i, x)

    def g(x: Any) -> Any:
        count, h = cr.while_loop(
            lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 0.5 + c[0]), (0, x)
        )
        return h * count

    xs = numpy.arange(6, dtype=numpy.float32).reshape(2, 3)
    want_f = numpy.stack([cr.jit(f)(x, 3) for x in xs])
    for mapped in (cr.vmap(cr.jit(f), in_axes=(0, None)), cr.jit(cr.vmap(f, in_axes=(0, None)))):
        got = mapped(xs, 3)
        assert got.dtype == numpy.float32
        numpy.testing.assert_array_equal(got, want_f)
    want_g = numpy.stack([g(x) for x in xs])
    assert want_g.dtype == numpy.float32
    for mapped in (cr.vmap(g), cr.jit(cr.vmap(g))):
        got = mapped(xs)
        assert got.dtype == numpy.float32
        numpy.testing.assert_array_equal(got, want_g)


def test_a_python_number_carry_keeps_float32_in_nested_and_empty_scans() -> None:
    """Found by fuzzing: a scan whose carry starts as a Python float, traced inside a cond's
    branch or another scan's body, was replayed under vmap or jvp from a float64 array
    (float64 results, or a carry refused as of another type); a zero-length one gave its
    Python number back as a float64 array under derivatives."""
    x = numpy.array([0.3, 0.2, 0.9], numpy.float32)

    def s(x: Any) -> Any:
        c, ys = cr.scan(lambda c, t: (c + np.sum(t) * 0.5, c * t), 0.0, np.stack([x, 2 * x]))
        return c * x + ys[1]

    def f(x: Any, p: Any) -> Any:
        return cr.cond(p > 0, s, lambda x: x * 0.0, x)

    xb, ps = numpy.stack([x, 2 * x]), numpy.array([-1.0, 1.0])
    want = numpy.stack([f(a, p) for a, p in zip(xb, ps, strict=True)])
    assert want.dtype == numpy.float32
    got = cr.vmap(f)(xb, ps)
    assert got.dtype == numpy.float32
    numpy.testing.assert_allclose(got, want, rtol=1e-6)
    assert cr.vmap(f, in_axes=(0, None))(xb, 1.0).dtype == numpy.float32
    jac = cr.jacfwd(f)(x, 1.0)
    assert jac.dtype == numpy.float32
    numpy.testing.assert_allclose(jac, cr.jacrev(s)(x), rtol=1e-6)

    empty = numpy.zeros((0, 3), numpy.float32)

    def g(x: Any) -> Any:
        (h, acc), _ = cr.scan(lambda c, t: ((c[0] * t, c[1] + np.sum(c[0])), None), (x, 0.0), empty)
        return np.sum(h) + acc * -0.8

    value, grad = cr.value_and_grad(g)(x)
    assert numpy.asarray(value).dtype == numpy.asarray(g(x)).dtype == numpy.float32
    for grads in (grad, cr.grad(cr.jit(g))(x), cr.jacfwd(g)(x)):
        numpy.testing.assert_array_equal(grads, numpy.ones(3, numpy.float32))


def test_a_carry_batched_by_a_steps_batching_rule_falls_back_to_batched() -> None:
    """Found by fuzzing: a carry that reads no batched value but comes from a scan's ys
    (which its batching rule batches) was kept shared and then refused."""
    xs = numpy.linspace(0.1, 0.5, 6).reshape(2, 3)

    def f(b: Any) -> Any:
        def body(c: Any) -> Any:
            i, a, b = c
            (b2,), ys = cr.scan(lambda c, t: ((np.tanh(c[0]),), np.tanh(t)), (b,), xs)
            return i + 1, np.sum(ys, axis=0) * 0.5 + a * 0.1, b2

        return cr.while_loop(lambda c: c[0] < 2, body, (0, np.zeros(3), b))

    bs = numpy.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    want = [numpy.stack(v) for v in zip(*(f(b) for b in bs), strict=True)]
    for mapped in (cr.vmap(f), cr.jit(cr.vmap(f))):
        for got, w in zip(mapped(bs), want, strict=True):
            numpy.testing.assert_allclose(got, w, rtol=1e-14)


def test_loop_errors_name_the_loop_and_fit_it() -> None:
    """A fori_loop's carry refused under jit or grad was reported as a scan's; a while
    condition of several values got cond's hint."""
    x = numpy.ones(3, numpy.float32)

    def f(x: Any) -> Any:
        return cr.fori_loop(0, 3, lambda i, c: c * 2.0 + numpy.ones(3), x)  # float32 -> float64

    for run in (f, cr.jit(f), cr.grad(lambda x: np.sum(f(x)))):
        with pytest.raises(TypeError, match=r"^chainrule\.fori_loop: body function carry"):
            run(x)
    with pytest.raises(
        TypeError, match=r"while_loop: pred must be a scalar.*`np\.any` or `np\.all`"
    ):
        cr.while_loop(lambda c: c > 0, lambda c: c - 1, numpy.ones(2))
