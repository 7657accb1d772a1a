"""Random compositions of primitives, differentiated by chainrule and by PyTorch.

Hypothesis builds expression trees over a (3, 4) input from smooth operations (each kept
inside its domain), and the gradient and Hessian of a fixed random projection of the result
must agree with `torch.autograd` to 1e-9. Order statistics (``sort``, ``quantile``) are
piecewise linear, smooth at the distinct entries of a random input. A second family works on
complex inputs, where PyTorch's gradient of a real loss is the conjugate of JAX's, which
chainrule follows. Skipped when PyTorch is not installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as np
from chainrule.scipy import special

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.oracle

SHAPE = (3, 4)
RNG = numpy.random.default_rng(0)
A = RNG.standard_normal((4, 4)) / 2
W = RNG.standard_normal(SHAPE)

# name -> (chainrule version, torch version); every one smooth on all of R^(3x4).
UNARY: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "sin": (np.sin, torch.sin),
    "cos": (np.cos, torch.cos),
    "tanh": (np.tanh, torch.tanh),
    "exp_tanh": (lambda x: np.exp(np.tanh(x)), lambda x: torch.exp(torch.tanh(x))),
    "log1p_sq": (lambda x: np.log1p(x * x), lambda x: torch.log1p(x * x)),
    "sqrt_sq": (lambda x: np.sqrt(x**2 + 0.5), lambda x: torch.sqrt(x**2 + 0.5)),
    "arctan": (np.arctan, torch.atan),
    "sigmoid": (special.expit, torch.sigmoid),
    "softplus": (lambda x: np.logaddexp(x, 0.0), torch.nn.functional.softplus),
    "cube": (lambda x: x**3 / 4.0, lambda x: x**3 / 4.0),
    "scale": (lambda x: -1.5 * x + 0.5, lambda x: -1.5 * x + 0.5),
    "softmax": (lambda x: special.softmax(x, axis=-1), lambda x: torch.softmax(x, dim=-1)),
    "log_softmax": (
        lambda x: special.log_softmax(x, axis=0),
        lambda x: torch.log_softmax(x, dim=0),
    ),
    "matmul": (lambda x: x @ A.astype(x.dtype), lambda x: x @ torch.tensor(A, dtype=x.dtype)),
    "center": (
        lambda x: x - np.mean(x, axis=0, keepdims=True),
        lambda x: x - torch.mean(x, dim=0, keepdim=True),
    ),
    "cumsum": (lambda x: np.cumsum(x, axis=1), lambda x: torch.cumsum(x, dim=1)),
    "flip": (lambda x: x[::-1], lambda x: torch.flip(x, dims=(0,))),
    "transpose": (lambda x: np.reshape(x.T, SHAPE), lambda x: torch.reshape(x.T, SHAPE)),
    "norm_rows": (
        lambda x: x / np.sqrt(np.sum(x * x, axis=1, keepdims=True) + 1.0),
        lambda x: x / torch.sqrt(torch.sum(x * x, dim=1, keepdim=True) + 1.0),
    ),
    "logsumexp": (
        lambda x: x + special.logsumexp(x, axis=1, keepdims=True),
        lambda x: x + torch.logsumexp(x, dim=1, keepdim=True),
    ),
    "sort": (lambda x: np.sort(x, axis=1), lambda x: torch.sort(x, dim=1).values),
    "quantile": (
        lambda x: x * np.quantile(x, 0.3, axis=1, keepdims=True),
        lambda x: x * torch.quantile(x, 0.3, dim=1, keepdim=True),
    ),
    "rot90": (
        lambda x: np.reshape(np.rot90(x), SHAPE),
        lambda x: torch.reshape(torch.rot90(x, 1, (0, 1)), SHAPE),
    ),
    "diff": (
        lambda x: np.append(np.diff(x, axis=1), x[:, :1], axis=1),
        lambda x: torch.cat([torch.diff(x, dim=1), x[:, :1]], dim=1),
    ),
    "sinc": (np.sinc, torch.sinc),
    "through_complex": (
        lambda x: np.abs(np.exp(1j * x) + 0.5 * x),
        lambda x: torch.abs(torch.exp(1j * x) + 0.5 * x),
    ),
}
BINARY: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    "add": (np.add, torch.add),
    "sub": (np.subtract, torch.sub),
    "mul": (np.multiply, torch.mul),
    "div": (lambda x, y: x / (y * y + 1.0), lambda x, y: x / (y * y + 1.0)),
    "hypot1": (lambda x, y: np.hypot(x, y + 3.0), lambda x, y: torch.hypot(x, y + 3.0)),
    "arctan2": (lambda x, y: np.arctan2(x, y * y + 1.0), lambda x, y: torch.atan2(x, y * y + 1.0)),
    "logaddexp2": (np.logaddexp2, torch.logaddexp2),
}

Expr = Any
exprs: st.SearchStrategy[Expr] = st.recursive(
    st.just("x"),
    lambda children: st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), children),
        st.tuples(st.sampled_from(sorted(BINARY)), children, children),
    ),
    max_leaves=6,
)


def evaluate(expr: Expr, x: Any, lib: int) -> Any:
    if expr == "x":
        return x
    if len(expr) == 2:
        return UNARY[expr[0]][lib](evaluate(expr[1], x, lib))
    return BINARY[expr[0]][lib](evaluate(expr[1], x, lib), evaluate(expr[2], x, lib))


def loss(expr: Expr, x: Any, lib: int) -> Any:
    weights = torch.tensor(W) if lib else W
    out = evaluate(expr, x, lib)
    return (out * weights).sum() if lib else np.sum(out * weights)


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(expr=exprs, seed=st.integers(0, 2**16))
def test_random_compositions_match_pytorch(expr: Expr, seed: int) -> None:
    x = numpy.random.default_rng(seed).standard_normal(SHAPE)
    xt = torch.tensor(x, requires_grad=True)
    (g_torch,) = torch.autograd.grad(loss(expr, xt, 1), xt)
    numpy.testing.assert_allclose(
        cr.grad(lambda v: loss(expr, v, 0))(x),
        g_torch.numpy(),
        rtol=1e-9,
        atol=1e-12,
        err_msg=str(expr),
    )
    h_torch = torch.autograd.functional.hessian(lambda v: loss(expr, v, 1), torch.tensor(x))
    h = cr.hessian(lambda v: loss(expr, v, 0))(x)
    numpy.testing.assert_allclose(h, h_torch.numpy(), rtol=1e-8, atol=1e-10, err_msg=str(expr))
    # and the other second-order path: reverse over forward
    h_rf = cr.jacrev(cr.jacfwd(lambda v: loss(expr, v, 0)))(x)
    numpy.testing.assert_allclose(h_rf, h_torch.numpy(), rtol=1e-8, atol=1e-10)


def test_float32_gradients_match_pytorch() -> None:
    x = RNG.standard_normal(SHAPE).astype(numpy.float32)
    expr = ("mul", ("tanh", "x"), ("softmax", ("matmul", "x")))
    x32 = torch.tensor(x, requires_grad=True)
    weights = torch.tensor(W, dtype=torch.float32)
    (gt,) = torch.autograd.grad((evaluate(expr, x32, 1) * weights).sum(), x32)
    g = cr.grad(lambda v: np.sum(evaluate(expr, v, 0) * W.astype(numpy.float32)))(x)
    assert g.dtype == numpy.float32
    numpy.testing.assert_allclose(g, gt.numpy(), rtol=1e-5, atol=1e-6)


# Complex inputs: operations smooth on a neighbourhood of C^(3x4) (the non-holomorphic ones
# away from 0, where random inputs never are).
C_UNARY: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "sin": (np.sin, torch.sin),
    "exp": (lambda z: np.exp(0.5 * z), lambda z: torch.exp(0.5 * z)),
    "square": (lambda z: z * z / 2.0, lambda z: z * z / 2.0),
    "conj": (np.conj, torch.conj),
    "abs": (lambda z: np.abs(z) + z, lambda z: torch.abs(z) + z),
    "parts": (lambda z: np.real(z) - 2j * np.imag(z), lambda z: z.real - 2j * z.imag),
    "angle": (lambda z: np.angle(z) * z, lambda z: torch.angle(z) * z),
    "matmul": (lambda z: z @ A.astype(complex), lambda z: z @ torch.tensor(A + 0j)),
    "cumsum": (lambda z: np.cumsum(z, axis=1), lambda z: torch.cumsum(z, dim=1)),
    "mean": (
        lambda z: z - np.mean(z, axis=0, keepdims=True),
        lambda z: z - torch.mean(z, dim=0, keepdim=True),
    ),
}
C_BINARY: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    "add": (np.add, torch.add),
    "mul": (np.multiply, torch.mul),
    "div": (lambda z, w: z / (w * np.conj(w) + 1.0), lambda z, w: z / (w * torch.conj(w) + 1.0)),
}
C_WEIGHTS = RNG.standard_normal(SHAPE) + 1j * RNG.standard_normal(SHAPE)

c_exprs: st.SearchStrategy[Expr] = st.recursive(
    st.just("z"),
    lambda children: st.one_of(
        st.tuples(st.sampled_from(sorted(C_UNARY)), children),
        st.tuples(st.sampled_from(sorted(C_BINARY)), children, children),
    ),
    max_leaves=6,
)


def c_loss(expr: Expr, z: Any, lib: int) -> Any:
    def ev(e: Expr) -> Any:
        if e == "z":
            return z
        if len(e) == 2:
            return C_UNARY[e[0]][lib](ev(e[1]))
        return C_BINARY[e[0]][lib](ev(e[1]), ev(e[2]))

    out = ev(expr) * (torch.tensor(C_WEIGHTS) if lib else C_WEIGHTS)
    return out.sum().real if lib else np.real(np.sum(out))


@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(expr=c_exprs, seed=st.integers(0, 2**16))
def test_random_complex_compositions_match_pytorch(expr: Expr, seed: int) -> None:
    rng = numpy.random.default_rng(seed)
    z = rng.standard_normal(SHAPE) + 1j * rng.standard_normal(SHAPE)
    zt = torch.tensor(z, requires_grad=True)
    (g_torch,) = torch.autograd.grad(c_loss(expr, zt, 1), zt)
    g = cr.grad(lambda v: c_loss(expr, v, 0))(z)
    assert g.dtype == numpy.complex128
    numpy.testing.assert_allclose(
        g, numpy.conj(g_torch.resolve_conj().numpy()), rtol=1e-9, atol=1e-12, err_msg=str(expr)
    )


# Per-example gradients: `vmap(grad)` of random compositions of a batched input `x` and a
# parameter `p`, each either mapped (axis 0) or shared by the examples (None), against
# `torch.func.vmap(torch.func.grad)`.
BATCH = 5
pair_exprs: st.SearchStrategy[Expr] = st.recursive(
    st.sampled_from(["x", "p"]),
    lambda children: st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), children),
        st.tuples(st.sampled_from(sorted(BINARY)), children, children),
    ),
    max_leaves=6,
)


def pair_loss(expr: Expr, x: Any, p: Any, lib: int) -> Any:
    def ev(e: Expr) -> Any:
        if e in ("x", "p"):
            return x if e == "x" else p
        if len(e) == 2:
            return UNARY[e[0]][lib](ev(e[1]))
        return BINARY[e[0]][lib](ev(e[1]), ev(e[2]))

    out = ev(expr) * (torch.tensor(W) if lib else W)
    return out.sum() if lib else np.sum(out)


@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    expr=pair_exprs,
    in_axes=st.sampled_from([(0, None), (None, 0), (0, 0)]),
    seed=st.integers(0, 2**16),
)
def test_per_example_gradients_match_torch_func(
    expr: Expr, in_axes: tuple[Any, Any], seed: int
) -> None:
    rng = numpy.random.default_rng(seed)
    x, p = (rng.standard_normal((BATCH, *SHAPE) if ax == 0 else SHAPE) for ax in in_axes)
    per_example = torch.func.vmap(
        torch.func.grad(lambda x, p: pair_loss(expr, x, p, 1), argnums=(0, 1)), in_dims=in_axes
    )(torch.tensor(x), torch.tensor(p))
    got = cr.vmap(cr.grad(lambda x, p: pair_loss(expr, x, p, 0), argnums=(0, 1)), in_axes)(x, p)
    for g, gt in zip(got, per_example, strict=True):
        assert g.shape == (BATCH, *SHAPE)
        numpy.testing.assert_allclose(g, gt.numpy(), rtol=1e-9, atol=1e-12, err_msg=str(expr))
