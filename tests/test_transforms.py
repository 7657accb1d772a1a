"""The transforms: argnums, has_aux, pytrees, nesting, custom rules, and their errors."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, namedtuple
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np

X = numpy.array([0.3, -0.7, 1.1])


def f_scalar(x: Any) -> Any:
    return np.sum(np.sin(x) * x**2)


def df_scalar(x: numpy.ndarray) -> numpy.ndarray:
    return numpy.cos(x) * x**2 + 2 * x * numpy.sin(x)


# ---------------------------------------------------------------- the example


def test_quickstart_example() -> None:
    f = lambda x: x[0] ** 2 + 2 * x[1] ** 2
    x = np.array([3.0, 4.0])
    numpy.testing.assert_array_equal(cr.grad(f)(x), [6.0, 16.0])
    numpy.testing.assert_allclose(cr.numerical_grad(f, x), [6.0, 16.0], rtol=1e-8)
    numpy.testing.assert_array_equal(cr.hessian(f)(x), [[2.0, 0.0], [0.0, 4.0]])


# ---------------------------------------------------------------- argnums and has_aux


def test_argnums_int_tuple_and_negative() -> None:
    f = lambda a, b, c: a * b**2 + c
    assert cr.grad(f)(2.0, 3.0, 1.0) == 9.0
    assert cr.grad(f, argnums=1)(2.0, 3.0, 1.0) == 12.0
    assert cr.grad(f, argnums=-1)(2.0, 3.0, 1.0) == 1.0
    assert cr.grad(f, argnums=(0, 1))(2.0, 3.0, 1.0) == (9.0, 12.0)
    assert cr.grad(f, argnums=(1,))(2.0, 3.0, 1.0) == (12.0,)


def test_argnums_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"argnums=3 .* called with 2 positional"):
        cr.grad(lambda a, b: a * b, argnums=3)(1.0, 2.0)


def test_non_differentiated_arguments_may_be_anything() -> None:
    f = lambda x, n, name: x**n if name == "power" else x
    assert cr.grad(f)(2.0, 3, "power") == 12.0


def test_keyword_arguments_pass_through() -> None:
    f = lambda x, scale=1.0: scale * x**2
    assert cr.grad(f)(3.0, scale=2.0) == 12.0


def test_has_aux_returns_plain_auxiliary_data() -> None:
    def loss(x: Any) -> Any:
        y = np.sin(x)
        return np.sum(y), {"y": y, "label": "sin"}

    g, aux = cr.grad(loss, has_aux=True)(X)
    numpy.testing.assert_allclose(g, numpy.cos(X))
    assert type(aux["y"]) is numpy.ndarray and aux["label"] == "sin"
    numpy.testing.assert_allclose(aux["y"], numpy.sin(X))
    (value, _aux2), g2 = cr.value_and_grad(loss, has_aux=True)(X)
    assert value == pytest.approx(numpy.sin(X).sum())
    numpy.testing.assert_array_equal(g2, g)


def test_has_aux_with_jacobians_and_vjp() -> None:
    f = lambda x: (np.sin(x), np.sum(x))
    for jac in (cr.jacfwd, cr.jacrev):
        j, aux = jac(f, has_aux=True)(X)
        numpy.testing.assert_allclose(j, numpy.diag(numpy.cos(X)))
        assert aux == pytest.approx(X.sum())
    _out, vjp_fn, aux = cr.vjp(f, X, has_aux=True)
    numpy.testing.assert_allclose(vjp_fn(numpy.ones(3))[0], numpy.cos(X))


def test_has_aux_requires_a_pair() -> None:
    with pytest.raises(TypeError, match="must return a pair"):
        cr.grad(lambda x: x**2, has_aux=True)(1.0)


# ---------------------------------------------------------------- pytrees


Point = namedtuple("Point", ["x", "y"])


@cr.tree.register_dataclass
@dataclasses.dataclass
class Params:
    w: Any
    b: Any
    name: str = dataclasses.field(default="layer", metadata={"static": True})


def tree_loss(p: Any) -> Any:
    leaves = cr.tree.leaves(p)
    return sum(np.sum(leaf**2) * (k + 1) for k, leaf in enumerate(leaves))


@pytest.mark.parametrize(
    "params",
    [
        (numpy.ones(2), 3.0),
        [numpy.ones(2), [2.0, numpy.ones((2, 2))]],
        {"b": numpy.ones(2), "a": 2.0},
        OrderedDict(z=numpy.ones(2), a=2.0),
        Point(numpy.ones(3), 2.0),
        Params(numpy.ones((2, 2)), numpy.ones(2)),
        {"a": None, "b": (numpy.ones(2),)},
    ],
    ids=["tuple", "list", "dict", "ordereddict", "namedtuple", "dataclass", "none"],
)
def test_gradient_of_every_container_kind(params: Any) -> None:
    g = cr.grad(tree_loss)(params)
    assert cr.tree.structure(g) == cr.tree.structure(params)
    for k, (leaf, gl) in enumerate(zip(cr.tree.leaves(params), cr.tree.leaves(g), strict=False)):
        numpy.testing.assert_allclose(gl, 2 * (k + 1) * numpy.asarray(leaf))
    if isinstance(params, Params):
        assert g.name == "layer"


def test_pytree_outputs_for_jacobians_jvp_and_vjp() -> None:
    f = lambda p: {"s": np.sin(p["a"]), "t": (p["a"] * p["b"],)}
    p = {"a": numpy.array([0.1, 0.2]), "b": numpy.array(3.0)}
    for jac in (cr.jacfwd(f), cr.jacrev(f), cr.jacobian(f)):
        j = jac(p)
        numpy.testing.assert_allclose(j["s"]["a"], numpy.diag(numpy.cos(p["a"])))
        numpy.testing.assert_allclose(j["s"]["b"], numpy.zeros((2,)))
        numpy.testing.assert_allclose(j["t"][0]["a"], 3.0 * numpy.eye(2))
        numpy.testing.assert_allclose(j["t"][0]["b"], p["a"])
    _, t = cr.jvp(f, (p,), ({"a": numpy.ones(2), "b": numpy.array(1.0)},))
    numpy.testing.assert_allclose(t["t"][0], 3.0 + p["a"])
    _out, vjp_fn = cr.vjp(f, p)
    (gp,) = vjp_fn({"s": numpy.ones(2), "t": (numpy.ones(2),)})
    numpy.testing.assert_allclose(gp["a"], numpy.cos(p["a"]) + 3.0)
    assert gp["b"] == pytest.approx(p["a"].sum())


def test_jacobian_shapes_are_out_shape_plus_in_shape() -> None:
    A = numpy.arange(6.0).reshape(2, 3)
    f = lambda x: np.tanh(A * x)  # (2, 3) from (3,)
    x = numpy.array([0.1, 0.2, 0.3])
    for jac in (cr.jacfwd, cr.jacrev, cr.jacobian):
        assert jac(f)(x).shape == (2, 3, 3)
    assert cr.hessian(lambda x: np.sum(f(x)))(x).shape == (3, 3)
    assert cr.hessian(f)(x).shape == (2, 3, 3, 3)
    numpy.testing.assert_allclose(cr.jacfwd(f)(x), cr.jacrev(f)(x))


def test_jacobian_chooses_the_mode_by_size() -> None:
    wide = lambda x: np.sum(x**2)  # 1 output, 5 inputs: reverse
    tall = lambda x: np.stack([x * float(k) for k in range(1, 6)])  # 5 outputs, 1 input: forward
    numpy.testing.assert_allclose(cr.jacobian(wide)(numpy.ones(5)), 2 * numpy.ones(5))
    numpy.testing.assert_allclose(cr.jacobian(tall)(2.0), numpy.arange(1.0, 6.0))


# ---------------------------------------------------------------- nesting


def test_third_order_by_nested_grad() -> None:
    f = lambda x: np.sin(x) * x**2
    x = 0.7
    d3 = -numpy.cos(x) * x**2 - 6 * x * numpy.sin(x) + 6 * numpy.cos(x)
    assert cr.grad(cr.grad(cr.grad(f)))(x) == pytest.approx(d3)
    assert cr.derivative(cr.derivative(cr.derivative(f)))(x) == pytest.approx(d3)
    assert cr.grad(cr.derivative(cr.grad(f)))(x) == pytest.approx(d3)


def test_hessian_variants_agree() -> None:
    H = numpy.diag(-numpy.sin(X) * X**2 + 4 * X * numpy.cos(X) + 2 * numpy.sin(X))
    for hess in (
        cr.hessian(f_scalar),
        cr.jacfwd(cr.jacrev(f_scalar)),
        cr.jacrev(cr.jacfwd(f_scalar)),
        cr.jacfwd(cr.jacfwd(f_scalar)),
        cr.jacrev(cr.grad(f_scalar)),
    ):
        numpy.testing.assert_allclose(hess(X), H, atol=1e-12)


def test_no_perturbation_confusion() -> None:
    # d/dx [ x * d/dy (x + y) ] = d/dx [ x * 1 ] = 1   (a confused system gives 2)
    f = lambda x: x * cr.grad(lambda y: x + y)(1.0)
    assert cr.grad(f)(2.0) == 1.0
    assert cr.derivative(f)(2.0) == 1.0
    # the same with forward mode inside reverse mode
    g = lambda x: x * cr.derivative(lambda y: x * y)(1.0)  # = x**2
    assert cr.grad(g)(3.0) == 6.0


def test_grad_inside_jvp_and_a_grad_of_a_function_calling_grad() -> None:
    g = cr.grad(f_scalar)
    _, t = cr.jvp(g, (X,), (numpy.ones(3),))
    numpy.testing.assert_allclose(t, cr.hessian(f_scalar)(X) @ numpy.ones(3))
    outer = cr.grad(lambda x: np.sum(cr.grad(f_scalar)(x) ** 2))
    expected = 2 * cr.hessian(f_scalar)(X) @ df_scalar(X)
    numpy.testing.assert_allclose(outer(X), expected)


def test_hvp_matches_hessian_times_vector() -> None:
    v = numpy.array([1.0, -2.0, 0.5])
    numpy.testing.assert_allclose(cr.hvp(f_scalar, (X,), (v,)), cr.hessian(f_scalar)(X) @ v)
    two = cr.hvp(lambda a, b: np.sum(a**2 * b), (X, X), (v, v))
    assert isinstance(two, tuple) and len(two) == 2
    numpy.testing.assert_allclose(two[0], 2 * X * v + 2 * X * v)


def test_linearize_equals_jvp_and_can_be_called_again() -> None:
    out, f_jvp = cr.linearize(f_scalar, X)
    assert out == pytest.approx(float(f_scalar(X)))
    for v in (numpy.ones(3), numpy.array([1.0, 0.0, -1.0])):
        assert f_jvp(v) == pytest.approx(float(df_scalar(X) @ v))


def test_vjp_fn_is_reusable_and_returns_a_tuple() -> None:
    _out, vjp_fn = cr.vjp(lambda a, b: a * b, X, 2.0)
    for _ in range(2):
        ga, gb = vjp_fn(numpy.ones(3))
        numpy.testing.assert_allclose(ga, 2 * numpy.ones(3))
        assert gb == pytest.approx(X.sum())


def test_elementwise_grad_and_derivative() -> None:
    numpy.testing.assert_allclose(cr.elementwise_grad(np.tanh)(X), 1 - numpy.tanh(X) ** 2)
    numpy.testing.assert_allclose(cr.derivative(np.tanh)(X), 1 - numpy.tanh(X) ** 2)
    assert cr.derivative(lambda x: x**3)(2.0) == 12.0


def test_unused_input_gets_zero_gradient_and_constant_output() -> None:
    assert cr.grad(lambda x, y: x * 2.0, argnums=1)(1.0, 5.0) == 0.0
    numpy.testing.assert_array_equal(cr.grad(lambda x: 3.0)(numpy.ones(2)), numpy.zeros(2))
    numpy.testing.assert_array_equal(cr.jacfwd(lambda x: numpy.ones(2))(1.0), numpy.zeros(2))


# ---------------------------------------------------------------- float32


def test_float32_stays_float32_through_every_transform() -> None:
    x = X.astype(numpy.float32)
    assert cr.grad(f_scalar)(x).dtype == numpy.float32
    assert cr.jacfwd(np.sin)(x).dtype == numpy.float32
    assert cr.jacrev(np.sin)(x).dtype == numpy.float32
    assert cr.hessian(f_scalar)(x).dtype == numpy.float32
    assert cr.jvp(np.sin, (x,), (numpy.ones(3, numpy.float32),))[1].dtype == numpy.float32


# ---------------------------------------------------------------- custom rules


def test_custom_vjp_replaces_the_reverse_rule_only() -> None:
    @cr.custom_vjp
    def f(x: Any) -> Any:
        return np.sin(x)

    f.defvjp(lambda x: (np.sin(x), x), lambda x, g: (g * 10.0 * np.cos(x),))
    numpy.testing.assert_allclose(cr.grad(lambda x: np.sum(f(x)))(X), 10 * numpy.cos(X))
    numpy.testing.assert_allclose(cr.derivative(f)(X), numpy.cos(X))  # forward: f itself
    # second order through a differentiable bwd
    numpy.testing.assert_allclose(
        cr.hessian(lambda x: np.sum(f(x)))(X), numpy.diag(-10 * numpy.sin(X)), atol=1e-12
    )


def test_custom_vjp_with_pytrees_and_several_arguments() -> None:
    @cr.custom_vjp
    def f(p: Any, s: Any) -> Any:
        return {"out": p["a"] * s}

    def fwd(p: Any, s: Any) -> Any:
        return f(p, s), (p, s)

    def bwd(res: Any, g: Any) -> Any:
        p, s = res
        return {"a": g["out"] * s}, np.sum(g["out"] * p["a"])

    f.defvjp(fwd, bwd)
    ga, gs = cr.grad(lambda p, s: np.sum(f(p, s)["out"]), argnums=(0, 1))({"a": X}, 2.0)
    numpy.testing.assert_allclose(ga["a"], 2.0 * numpy.ones(3))
    assert gs == pytest.approx(X.sum())
    cr.check_grads(lambda a, s: f({"a": a}, s)["out"], (X, 2.0), modes=("rev",))


def test_custom_vjp_errors() -> None:
    @cr.custom_vjp
    def f(x: Any, y: Any) -> Any:
        return x * y

    with pytest.raises(TypeError, match=r"no rule yet: call `f.defvjp"):
        cr.grad(f)(1.0, 2.0)
    f.defvjp(lambda x, y: (x * y, None), lambda res, g: (g,))
    with pytest.raises(TypeError, match="one cotangent per argument"):
        cr.grad(f)(1.0, 2.0)


def test_custom_jvp_in_both_modes_and_second_order() -> None:
    @cr.custom_jvp
    def softplus(x: Any) -> Any:
        return np.log1p(np.exp(x))

    softplus.defjvp(lambda p, t: (softplus(p[0]), t[0] / (1.0 + np.exp(-p[0]))))
    with numpy.errstate(over="ignore"):  # the value overflows; the custom rule does not
        assert cr.grad(softplus)(1000.0) == 1.0  # the naive rule would give nan
        assert cr.derivative(softplus)(1000.0) == 1.0
    x = numpy.array([-1.0, 0.5])
    sig = 1 / (1 + numpy.exp(-x))
    numpy.testing.assert_allclose(cr.jacrev(softplus)(x), numpy.diag(sig))
    numpy.testing.assert_allclose(
        cr.hessian(lambda v: np.sum(softplus(v)))(x), numpy.diag(sig * (1 - sig))
    )
    cr.check_grads(softplus, (x,), order=2)


def test_stop_gradient_on_values_and_pytrees() -> None:
    assert cr.grad(lambda x: x * cr.stop_gradient(x))(3.0) == 3.0
    f = lambda x: np.sum(cr.stop_gradient({"a": x})["a"] * x)
    numpy.testing.assert_allclose(cr.grad(f)(X), X)
    assert cr.derivative(lambda x: cr.stop_gradient(x**2) + x)(2.0) == 1.0


def test_checkpoint_recomputes_and_gives_the_same_derivatives() -> None:
    calls = []

    def block(x: Any, w: Any) -> Any:
        calls.append(1)
        return np.tanh(x * w) * w

    fast = lambda x, w: np.sum(block(x, w) ** 2)
    saved = cr.checkpoint(block)
    slow = lambda x, w: np.sum(saved(x, w) ** 2)
    expected = cr.grad(fast, argnums=(0, 1))(X, 0.5)
    calls.clear()
    got = cr.grad(slow, argnums=(0, 1))(X, 0.5)
    assert len(calls) == 2  # forward, then again in the backward pass
    numpy.testing.assert_allclose(got[0], expected[0])
    assert got[1] == pytest.approx(expected[1])
    cr.check_grads(saved, (X, 0.5), order=2)


# ---------------------------------------------------------------- errors users see


def test_grad_of_a_non_scalar_output() -> None:
    with pytest.raises(TypeError, match=r"`f_vec`.*shape \(3,\).*\.sum\(\).*jacobian"):

        def f_vec(x: Any) -> Any:
            return x * 2.0

        cr.grad(f_vec)(X)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (3, r"Python int 3.*Pass 3.0"),
        (True, "Python bool"),
        (numpy.arange(3), r"argument 0 \(`x`\) has dtype int64.*astype\(float\)"),
        (numpy.array([True]), "dtype bool"),
        ("abc", "str, which chainrule cannot differentiate"),
    ],
)
def test_grad_refuses_non_float_inputs(value: Any, match: str) -> None:
    def f(x: Any) -> Any:
        return np.sum(x)

    with pytest.raises(TypeError, match=match):
        cr.grad(f)(value)


def test_tangent_shape_and_structure_mismatch() -> None:
    with pytest.raises(ValueError, match=r"shape \(2,\) but must have shape \(3,\)"):
        cr.jvp(np.sin, (X,), (numpy.ones(2),))
    with pytest.raises(ValueError, match="structure"):
        cr.jvp(lambda p: p["a"], ({"a": X},), ({"b": X},))


def test_cotangent_structure_and_shape_mismatch() -> None:
    _, vjp_fn = cr.vjp(lambda x: (x, x * 2.0), X)
    with pytest.raises(ValueError, match=r"structure .* does not match"):
        vjp_fn(numpy.ones(3))
    with pytest.raises(ValueError, match=r"shape \(4,\) but must have shape \(3,\)"):
        vjp_fn((numpy.ones(3), numpy.ones(4)))


def test_item_assignment_suggests_the_functional_way() -> None:
    def f(x: Any) -> Any:
        x[0] = 1.0
        return np.sum(x)

    with pytest.raises(TypeError, match=r"x\[i\] = v.*np.where"):
        cr.grad(f)(X)


@pytest.mark.parametrize(
    ("convert", "what"),
    [
        (bool, "bool"),
        (float, "float"),
        (int, "int"),
        (lambda x: x.item(), "item"),
        (numpy.asarray, "conversion to a NumPy array"),
    ],
)
def test_conversions_that_drop_the_derivative(convert: Any, what: str) -> None:
    with pytest.raises(TypeError, match=rf"{what}.*drop its derivative.*where.*stop_gradient"):
        cr.grad(lambda x: convert(x * 2.0))(1.0)


def test_placing_a_traced_value_into_a_numpy_array() -> None:
    def f(x: Any) -> Any:
        out = numpy.zeros(2)
        out[:] = x
        return np.sum(out)

    with pytest.raises(TypeError, match="drop its derivative"):
        cr.grad(f)(numpy.ones(2))

    def g(x: Any) -> Any:  # NumPy takes a 0-d traced value for a sequence here, and refuses
        out = numpy.zeros(2)
        out[0] = x
        return np.sum(out)

    with pytest.raises(TypeError, match=r"grad of `g`: a traced value was stored into a NumPy"):
        cr.grad(g)(1.0)


def test_branching_on_a_comparison_differentiates_the_branch_taken() -> None:
    def relu(x: Any) -> Any:
        if x > 0:
            return x * 3.0
        return x * 0.0

    assert cr.grad(relu)(2.0) == 3.0
    assert cr.grad(relu)(-2.0) == 0.0


def test_writing_a_traced_value_into_a_numpy_array_says_to_make_a_new_one() -> None:
    def accumulate(x: Any) -> Any:
        total = numpy.zeros(3)
        total += x  # into a plain array: its derivative would be lost
        return np.sum(total)

    for transform in (cr.grad, cr.jit, cr.vmap):
        with pytest.raises(TypeError, match=r"numpy\.add\(\.\.\., out=array\).*`a = a \+ x`"):
            transform(accumulate)(numpy.ones(3))
    assert cr.grad(lambda x: np.sum(numpy.zeros(3) + x))(numpy.ones(3)).tolist() == [1.0] * 3


def test_numpy_function_without_a_rule_is_named() -> None:
    with pytest.raises(TypeError, match=r"numpy\.piecewise has no derivative rule"):
        cr.grad(lambda x: np.sum(numpy.piecewise(x, [x > 1], [1.0, 2.0])))(X)
    with pytest.raises(TypeError, match=r"numpy\.polyfit has no derivative rule"):
        cr.grad(lambda x: numpy.polyfit(x, x, 1)[0])(X)


def test_transforms_leave_no_reference_cycles() -> None:
    # A tape freed by reference counting releases its memory at once, not at the next
    # garbage collection (which matters for the large arrays of a Hessian).
    import gc

    f = lambda v: np.sum(np.sin(v) * v[::-1])
    calls = [
        cr.grad(f),
        cr.hessian(f),
        cr.jacrev(np.sin),
        lambda v: cr.vjp(np.sin, v)[1](v),
        lambda v: cr.linearize(np.sin, v)[1](v),
        cr.grad(cr.checkpoint(f)),
    ]
    # Only chainrule's own objects count: other threads of the process (a notebook kernel's
    # client, left by an earlier test) may make garbage of their own meanwhile.
    gc.disable()
    try:
        for call in calls:
            gc.set_debug(0)
            gc.collect()  # what earlier tests left
            gc.set_debug(gc.DEBUG_SAVEALL)  # what the call leaves is kept, to be looked at
            call(X)
            gc.collect()
            ours = [o for o in gc.garbage if type(o).__module__.startswith("chainrule")]
            gc.garbage.clear()
            assert not ours, f"reference cycles through {sorted({type(o).__name__ for o in ours})}"
    finally:
        gc.set_debug(0)
        gc.collect()
        gc.enable()


def _probe_releases() -> tuple[Any, list[Any], list[bool]]:
    """A function whose first operation's backward rule notes which later values are alive."""
    import weakref

    from chainrule.extend import defvjp, primitive

    refs: list[Any] = []
    alive: list[bool] = []

    def backward(g: Any, ans: Any, x: Any) -> Any:
        alive.extend(r() is not None for r in refs)
        return g

    probe = primitive(lambda x: x + 0.0, "probe")
    defvjp(probe, backward)

    def f(x: Any) -> Any:
        a = np.sin(probe(x))
        b = a * a
        refs.extend(weakref.ref(t.value) for t in (a, b))
        return np.sum(b * 3.0)

    return f, refs, alive


def test_grad_frees_forward_values_during_its_backward_pass() -> None:
    # grad sweeps once: the arrays of the forward pass are freed as soon as the rules that
    # need them have run, not when the whole pass ends (as PyTorch's retain_graph=False).
    f, _, alive = _probe_releases()
    x = numpy.linspace(0.0, 1.0, 1000)
    g = cr.grad(f)(x)
    numpy.testing.assert_allclose(g, 3.0 * 2.0 * numpy.sin(x) * numpy.cos(x), rtol=1e-12)
    assert alive == [False, False]
    # vjp's backward function can run again, so it keeps its recording.
    f, _, alive = _probe_releases()
    _, back = cr.vjp(f, x)
    numpy.testing.assert_allclose(back(1.0)[0], back(1.0)[0])
    assert alive == [True, True, True, True]


def test_bfloat16_inputs_are_differentiable() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = numpy.array([0.5, -1.0, 2.0], dtype=ml_dtypes.bfloat16)
    g = cr.grad(lambda x: np.sum(np.tanh(x) * x))(x)
    t = numpy.tanh(x.astype(numpy.float64))
    expected = t + x.astype(numpy.float64) * (1 - t * t)
    numpy.testing.assert_allclose(numpy.asarray(g, numpy.float64), expected, rtol=2e-2)
    with pytest.raises(TypeError, match="int64"):
        cr.grad(lambda x: np.sum(x))(numpy.array([1, 2]))


def test_printing_a_traced_value_under_jit_and_vmap() -> None:
    """`print(x)` inside a transform shows the tracer (it once recursed for batches and
    staged values, which `primal` keeps)."""
    seen: list[str] = []
    cr.jit(lambda x: seen.append(repr(x)) or x)(numpy.ones(2))
    cr.vmap(lambda x: seen.append(repr(x)) or x)(numpy.ones((3, 2)))
    assert seen[0].startswith("Traced<v0:float64[2]>") and seen[1].startswith("BatchTracer(")
