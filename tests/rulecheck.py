"""The one harness every derivative-rule test goes through.

`check_rule(fun, *args)` checks `fun` (built from chainrule primitives) at `args`:
- forward and reverse mode to second order against central differences (`check_grads`);
- the batched paths: `jacfwd` and `jacrev` against a central-difference Jacobian;
- float32: the value and the gradient stay float32, and first-order derivatives agree;
- `vmap` (`check_vmap`): the batching rules against a Python loop over a batch of examples,
  with the batch on the first, a middle and the last axis, shared arguments, and composed
  with `grad` and `jvp` both ways;
- `jit` (`check_jit`): the function and its gradient compiled at `args` and replayed on other
  values, against eager calls there: no value a rule derives is frozen into the program.

Complex arguments are checked as complex by `check_grads` (JAX's convention), and the
batched paths through the function of their real and imaginary parts (`realified`), whose
Jacobians are real; float32 means complex64 for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.check import numerical_jacobian


def _is_complex(a: Any) -> bool:
    return bool(np.iscomplexobj(a))


def _widen(args: tuple[Any, ...], real: Any, cplx: Any) -> tuple[Any, ...]:
    return cr.tree.map(lambda a: np.asarray(a, cplx if _is_complex(a) else real), args)


def _float32(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return _widen(args, np.float32, np.complex64)


def realified(fun: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """`fun` as a real function: each complex argument split into its real and imaginary
    parts (two arguments), and every output into a real vector of both parts. The same
    computation, complex inside, with real Jacobians that `jacfwd` and `jacrev` accept."""
    cnp = cr.numpy
    complex_args = [_is_complex(a) for a in args]
    flat: list[Any] = []
    for a, c in zip(args, complex_args, strict=True):
        flat.extend([np.real(a), np.imag(a)] if c else [a])

    def real_fun(*parts: Any) -> Any:
        rebuilt, k = [], 0
        for c in complex_args:
            rebuilt.append(parts[k] + 1j * parts[k + 1] if c else parts[k])
            k += 2 if c else 1
        out = fun(*rebuilt)
        if not any(complex_args) and not any(_is_complex(o) for o in cr.tree.leaves(out)):
            return out  # a real function, unchanged
        parts = [
            (cnp.real(o), cnp.imag(o)) if _is_complex(o) else (o,) for o in cr.tree.leaves(out)
        ]
        pieces = [cnp.ravel(p) for pair in parts for p in pair]
        return cnp.concatenate(pieces) if len(pieces) > 1 else pieces[0]

    return real_fun, tuple(flat)


def _scalar(fun: Callable[..., Any]) -> Callable[..., Any]:
    """A scalar function of the same arguments: a fixed random projection of the outputs."""
    weights: dict[int, Any] = {}

    def projected(*args: Any) -> Any:
        total = 0.0
        for k, leaf in enumerate(cr.tree.leaves(fun(*args))):
            if k not in weights:
                rng = np.random.default_rng(k)
                weights[k] = rng.standard_normal(np.shape(leaf))
            term = cr.numpy.sum(leaf * weights[k].astype(leaf.dtype))
            total = total + (cr.numpy.real(term) if _is_complex(leaf) else term)
        return total

    return projected


def joined(fun: Callable[..., Any]) -> Callable[..., Any]:
    """A function returning several arrays as one vector (the batched Jacobian checks need one
    array); each part is scaled differently, so a derivative sent to the wrong part shows."""
    return lambda *args: cr.numpy.concatenate(
        [cr.numpy.ravel(p) * (k + 1.0) for k, p in enumerate(fun(*args))]
    )


def check_rule(
    fun: Callable[..., Any],
    *args: Any,
    order: int = 2,
    float32: bool = True,
    batched: bool = True,
    atol: float | None = None,
    rtol: float | None = None,
    eps: float = 1e-6,
    vmap: bool = True,
    jit: bool = True,
) -> None:
    args64 = _widen(args, np.float64, np.complex128)
    if vmap:
        check_vmap(fun, *args64, atol=atol, rtol=rtol)
    if jit:
        check_jit(fun, *args64, atol=atol, rtol=rtol)
    cr.check_grads(fun, args64, order=order, atol=atol, rtol=rtol, eps=eps)
    if batched:
        real_fun, real_args = realified(fun, args64)
        tol = 1e-5 if atol is None else atol
        for i in range(len(real_args)):

            def of_i(x: Any, i: int = i) -> Any:
                return real_fun(*real_args[:i], x, *real_args[i + 1 :])

            numeric = numerical_jacobian(of_i, real_args[i], h=eps)
            for jac in (cr.jacfwd(of_i)(real_args[i]), cr.jacrev(of_i)(real_args[i])):
                jac = np.asarray(jac)
                np.testing.assert_allclose(
                    jac.reshape(numeric.shape),
                    numeric,
                    atol=tol,
                    rtol=1e-5 if rtol is None else rtol,
                    err_msg=f"batched Jacobian of argument {i}",
                )
                assert jac.shape == np.shape(real_fun(*real_args)) + np.shape(real_args[i])
    if float32:
        args32 = _float32(args)
        out = fun(*args32)
        narrow = (np.float32, np.complex64)
        for leaf in cr.tree.leaves(out):
            assert np.asarray(leaf).dtype in narrow, f"value dtype {np.asarray(leaf).dtype}"
        scalar = _scalar(fun)
        grads = cr.grad(scalar, argnums=tuple(range(len(args32))))(*args32)
        for g, a in zip(cr.tree.leaves(grads), cr.tree.leaves(args32), strict=True):
            assert np.asarray(g).dtype == a.dtype, f"gradient dtype {np.asarray(g).dtype}"
        cr.check_grads(
            fun, args32, order=1, atol=atol and max(atol, 2e-3), rtol=rtol and max(rtol, 2e-3)
        )


# ---------------------------------------------------------------------------- vmap

BATCH = 3


def _examples(a: Any) -> Any:
    """`BATCH` examples like `a`, stacked on axis 0: floating-point values scaled by 1, 0.9,
    0.8 (which keeps signs, order, ties, domains such as (-1, 1), and definiteness), others
    repeated."""
    a = np.asarray(a)
    if a.dtype.kind in "fc":
        return np.stack([a * (1.0 - 0.1 * b) for b in range(BATCH)])
    return np.stack([a] * BATCH)


def _loop(fun: Callable[..., Any], args: tuple[Any, ...], axes: tuple[Any, ...]) -> Any:
    """The oracle: `fun` called on one example at a time, results stacked on axis 0."""
    outs = [
        fun(
            *(a if ax is None else np.take(a, b, axis=ax) for a, ax in zip(args, axes, strict=True))
        )
        for b in range(BATCH)
    ]
    return cr.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)


def _same(got: Any, expected: Any, what: str, atol: float, rtol: float) -> None:
    got_leaves, got_tree = cr.tree.flatten(got)
    exp_leaves, exp_tree = cr.tree.flatten(expected)
    assert got_tree == exp_tree, f"{what}: structure {got_tree} != {exp_tree}"
    for g, e in zip(got_leaves, exp_leaves, strict=True):
        g = np.asarray(g)
        assert g.shape == e.shape, f"{what}: shape {g.shape} != {e.shape}"
        assert g.dtype == e.dtype, f"{what}: dtype {g.dtype} != {e.dtype}"
        np.testing.assert_allclose(g, e, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)


def _is_inexact(a: Any) -> bool:
    return np.asarray(a).dtype.kind in "fc"


def check_vmap(
    fun: Callable[..., Any], *args: Any, atol: float | None = None, rtol: float | None = None
) -> None:
    """`cr.vmap(fun)` against a loop over `BATCH` examples, with the batch on the first axis,
    a middle axis and the last, then each argument alone batched; and composed with `grad` and
    `jvp`: ``vmap(grad)``, ``vmap(jvp)`` and ``grad`` of a sum over ``vmap``.

    The tolerance allows for the batched call summing in another order (a batched matmul
    takes other BLAS kernels than one example's); it is tighter than the finite-difference
    checks, which dominate it when given.
    """
    atol = 1e-9 if atol is None else atol
    rtol = 1e-7 if rtol is None else rtol
    stacks = [_examples(a) for a in args]
    ranks = [np.ndim(a) for a in args]
    configs = {
        tuple(0 for _ in args),
        tuple((r + 1) // 2 for r in ranks),
        tuple(r for r in ranks),
    }
    if len(args) > 1:
        configs.add((0,) + (None,) * (len(args) - 1))
        configs.add((None,) + (0,) * (len(args) - 1))
    for axes in sorted(configs, key=str):
        inputs = tuple(
            np.asarray(a) if ax is None else np.moveaxis(s, 0, ax)
            for a, s, ax in zip(args, stacks, axes, strict=True)
        )
        expected = _loop(fun, inputs, axes)
        _same(cr.vmap(fun, in_axes=axes)(*inputs), expected, f"vmap, in_axes={axes}", atol, rtol)
    inexact = tuple(i for i, a in enumerate(args) if _is_inexact(a))
    if not inexact:
        return
    axes0 = (0,) * len(args)
    scalar = _scalar(fun)
    per_grad = cr.grad(scalar, argnums=inexact)
    _same(cr.vmap(per_grad)(*stacks), _loop(per_grad, tuple(stacks), axes0), "vmap(grad)",
          atol, rtol)  # fmt: skip

    def tangent_out(*primals: Any) -> Any:
        def of_inexact(*xs: Any) -> Any:
            full = list(primals)
            for i, x in zip(inexact, xs, strict=True):
                full[i] = x
            return fun(*full)

        tangents = [np.ones(np.shape(primals[i]), np.asarray(args[i]).dtype) for i in inexact]
        return cr.jvp(of_inexact, [primals[i] for i in inexact], tangents)[1]

    _same(cr.vmap(tangent_out)(*stacks), _loop(tangent_out, tuple(stacks), axes0), "vmap(jvp)",
          atol, rtol)  # fmt: skip

    def summed(*batch: Any) -> Any:
        return cr.numpy.sum(cr.vmap(scalar)(*batch))

    got = cr.grad(summed, argnums=inexact)(*stacks)
    _same(got, _loop(per_grad, tuple(stacks), axes0), "grad(vmap)", atol, rtol)


# ---------------------------------------------------------------------------- jit


def check_jit(
    fun: Callable[..., Any], *args: Any, atol: float | None = None, rtol: float | None = None
) -> None:
    """`cr.jit(fun)`, `cr.jit(grad)` and `grad(cr.jit)` traced at `args` and replayed at the
    other examples of `_examples` (the floating-point values scaled: same domains, other
    numbers), against eager calls there. A value that a rule computes from a traced one and
    the program kept as a constant of the tracing call shows as a wrong replay.
    """
    atol = 1e-9 if atol is None else atol
    rtol = 1e-7 if rtol is None else rtol
    stacks = [_examples(a) for a in args]
    later = [tuple(s[b] for s in stacks) for b in range(1, BATCH)]
    compiled = cr.jit(fun)
    _same(compiled(*args), fun(*args), "jit, the tracing call", atol, rtol)
    for k, values in enumerate(later):
        _same(compiled(*values), fun(*values), f"jit, replayed on example {k + 1}", atol, rtol)
    inexact = tuple(i for i, a in enumerate(args) if _is_inexact(a))
    if not inexact:
        return
    per_grad = cr.grad(_scalar(fun), argnums=inexact)
    jit_grad = cr.jit(per_grad)
    grad_jit = cr.grad(_scalar(compiled), argnums=inexact)
    for k, values in enumerate([tuple(args), *later]):
        expected = per_grad(*values)
        _same(jit_grad(*values), expected, f"jit(grad), example {k}", atol, rtol)
        _same(grad_jit(*values), expected, f"grad(jit), example {k}", atol, rtol)
