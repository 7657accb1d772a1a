"""custom_vjp, custom_jvp and checkpoint: what the rules return is checked as JAX checks it,
keyword arguments work, and checkpoint differentiates through the values it closes over."""

from __future__ import annotations

from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np

X = numpy.array([0.3, -1.2, 2.0])


def _sin_with(bwd: Any) -> Any:
    @cr.custom_vjp
    def my_sin(x: Any) -> Any:
        return np.sin(x)

    def my_bwd(res: Any, g: Any) -> Any:
        return bwd(res, g)

    my_sin.defvjp(lambda x: (np.sin(x), x), my_bwd)
    return my_sin


def _total(f: Any) -> Any:
    return lambda x: np.sum(f(x))


# ---------------------------------------------------------------- custom_vjp: what bwd returns


@pytest.mark.parametrize(
    ("bwd", "error", "message"),
    [
        (
            lambda x, g: (numpy.ones(5),),
            ValueError,
            r"has shape \(5,\) and dtype float64, but must have shape \(3,\) and dtype float64",
        ),
        (lambda x, g: ("abc",), TypeError, r"is a str \('abc'\), not an array"),
        (lambda x, g: (g * 1j,), ValueError, "dtype complex128, but must have shape"),
        (lambda x, g: (numpy.ones(3, int),), ValueError, "dtype int64, but must"),
        (lambda x, g: (g, g), TypeError, r"one cotangent per argument \(1\)"),
        (lambda x, g: g, TypeError, r"returned structure TreeDef\(\*\) for arguments of"),
        (lambda x, g: ([g],), TypeError, r"structure TreeDef\(\(\[\*\],\)\) for arguments"),
    ],
    ids=["shape", "string", "complex", "int", "too-many", "not-a-tuple", "wrong-container"],
)
def test_custom_vjp_checks_what_bwd_returns(bwd: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=r"the bwd rule `my_bwd` of custom_vjp function `my_sin`"):
        cr.grad(_total(_sin_with(bwd)))(X)
    with pytest.raises(error, match=message):
        cr.grad(_total(_sin_with(bwd)))(X)


def test_custom_vjp_cotangents_keep_the_arguments_dtype() -> None:
    x32 = X.astype(numpy.float32)
    with pytest.raises(
        ValueError, match="dtype float64, but must have shape \\(3,\\) and dtype float32"
    ):
        cr.grad(_total(_sin_with(lambda x, g: (numpy.cos(x).astype(numpy.float64) * g,))))(x32)
    good = cr.grad(_total(_sin_with(lambda x, g: (np.cos(x) * g,))))(x32)
    assert good.dtype == numpy.float32
    # a Python float is weakly typed, as in JAX: it takes the argument's dtype
    g = cr.grad(_sin_with(lambda x, g: (0.5,)))(numpy.float32(1.0))
    assert g == 0.5 and g.dtype == numpy.float32


def test_custom_vjp_none_is_a_zero_cotangent_for_any_subtree() -> None:
    @cr.custom_vjp
    def f(p: Any, s: Any) -> Any:
        return p["a"] * s + p["b"][0] * p["b"][1]

    def fwd(p: Any, s: Any) -> Any:
        return f(p, s), (p, s)

    def bwd(res: Any, g: Any) -> Any:
        _, s = res
        # no cotangent for p["b"] (a whole subtree), nor for s: zeros, as in JAX
        return [{"a": g * s, "b": None}, None]  # a list of the right length is accepted

    f.defvjp(fwd, bwd)
    p = {"a": X, "b": (X + 1.0, 2.0)}
    gp, gs = cr.grad(lambda p, s: np.sum(f(p, s)), argnums=(0, 1))(p, 2.0)
    numpy.testing.assert_array_equal(gp["a"], [2.0, 2.0, 2.0])
    numpy.testing.assert_array_equal(gp["b"][0], numpy.zeros(3))
    assert gp["b"][1] == 0.0 and gs == 0.0

    f.defvjp(fwd, lambda res, g: ({"a": g, "b": (None,)}, None))  # (None,) for a pair
    with pytest.raises(TypeError, match="each with its argument's structure"):
        cr.grad(lambda p: np.sum(f(p, 2.0)))(p)


def test_custom_vjp_fwd_must_return_a_pair() -> None:
    @cr.custom_vjp
    def f(x: Any) -> Any:
        return x

    f.defvjp(lambda x: x, lambda res, g: (g,))
    with pytest.raises(TypeError, match=r"fwd rule `<lambda>` of custom_vjp function `f` must"):
        cr.grad(f)(1.0)


def test_custom_vjp_with_keyword_arguments() -> None:
    @cr.custom_vjp
    def scaled(x: Any, scale: Any = 2.0) -> Any:
        return np.sin(x) * scale

    def fwd(x: Any, scale: Any) -> Any:  # always called with every argument, by position
        return scaled(x, scale), (x, scale)

    def bwd(res: Any, g: Any) -> Any:
        x, scale = res
        return g * np.cos(x) * scale, np.sum(g * np.sin(x))

    scaled.defvjp(fwd, bwd)
    numpy.testing.assert_allclose(cr.grad(_total(scaled))(X), 2.0 * numpy.cos(X))
    numpy.testing.assert_allclose(
        cr.grad(lambda x: np.sum(scaled(x, scale=3.0)))(X), 3.0 * numpy.cos(X)
    )
    g = cr.grad(lambda s: np.sum(scaled(X, scale=s)))(3.0)
    assert g == pytest.approx(numpy.sin(X).sum())

    @cr.custom_vjp
    def keyword_only(x: Any, *, scale: Any = 2.0) -> Any:
        return x * scale

    keyword_only.defvjp(lambda x: (x * 2.0, None), lambda res, g: (g * 2.0,))
    assert cr.grad(keyword_only)(1.0) == 2.0  # its default is fine
    with pytest.raises(TypeError, match=r"`keyword_only`: its rules take the arguments by"):
        cr.grad(lambda x: keyword_only(x, scale=3.0))(1.0)
    with pytest.raises(TypeError, match=r"custom_vjp function `scaled`: .*unexpected keyword"):
        scaled(X, size=2)


def test_custom_rules_refuse_values_they_close_over() -> None:
    def with_closure(x: Any) -> Any:
        y = 2.0 * x

        @cr.custom_vjp
        def f(v: Any) -> Any:
            return v * y

        f.defvjp(lambda v: (v * y, None), lambda res, g: (g * 2.0,))
        return f(x)

    with pytest.raises(TypeError, match="`f` uses a value being differentiated that is not one"):
        cr.grad(with_closure)(1.0)

    def bwd_closure(x: Any) -> Any:
        y = 2.0 * x

        @cr.custom_vjp
        def f(v: Any) -> Any:
            return v * 2.0

        f.defvjp(lambda v: (v * 2.0, None), lambda res, g: (g * y,))
        return f(x)

    with pytest.raises(TypeError, match="`f` uses a value being differentiated that is not one"):
        cr.grad(bwd_closure)(1.0)

    def jvp_closure(x: Any) -> Any:
        y = 2.0 * x

        @cr.custom_jvp
        def g(v: Any) -> Any:
            return v * y

        g.defjvp(lambda p, t: (p[0] * y, t[0] * y))
        return g(x)

    for transform in (cr.grad, cr.derivative):
        with pytest.raises(TypeError, match="custom_jvp function `g` uses a value being"):
            transform(jvp_closure)(1.0)


# ---------------------------------------------------------------- custom_jvp: what the rule returns


def _cube_with(rule: Any) -> Any:
    @cr.custom_jvp
    def cube(x: Any) -> Any:
        return x**3

    def cube_rule(p: Any, t: Any) -> Any:
        return rule(p, t)

    cube.defjvp(cube_rule)
    return cube


@pytest.mark.parametrize(
    ("rule", "error", "message"),
    [
        (lambda p, t: (p[0] ** 3, numpy.ones(5)), ValueError, r"has shape \(5,\)"),
        # a plain complex array: complex values inside a transform are an error of their own
        (lambda p, t: (p[0] ** 3, numpy.full(numpy.shape(t[0]), 1j)), ValueError, "complex128"),
        (lambda p, t: (p[0] ** 3, "t"), TypeError, r"is a str \('t'\)"),
        (lambda p, t: (p[0] ** 3, (t[0],)), TypeError, "tangent with the structure of its"),
        (lambda p, t: p[0] ** 3, TypeError, r"must return a pair \(output, tangent\)"),
    ],
    ids=["shape", "complex", "string", "structure", "not-a-pair"],
)
def test_custom_jvp_checks_what_the_rule_returns(rule: Any, error: type, message: str) -> None:
    cube = _cube_with(rule)
    for transform in (cr.jacfwd, cr.jacrev):
        with pytest.raises(error, match=r"the rule `cube_rule` of custom_jvp function `cube`"):
            transform(cube)(X)
        with pytest.raises(error, match=message):
            transform(cube)(X)


def test_custom_jvp_tangents_keep_the_outputs_dtype() -> None:
    cube = _cube_with(lambda p, t: (p[0] ** 3, (3.0 * p[0] ** 2 * t[0]).astype(numpy.float64)))
    with pytest.raises(
        ValueError, match=r"dtype float64, but must have shape \(\) and dtype float32"
    ):
        cr.derivative(cube)(numpy.float32(2.0))
    with pytest.raises(
        ValueError, match=r"dtype float64, but must have shape \(\) and dtype float32"
    ):
        cr.grad(cube)(numpy.float32(2.0))


def test_custom_jvp_none_is_a_zero_tangent_and_keyword_arguments_bind() -> None:
    @cr.custom_jvp
    def pair(x: Any, power: Any = 2.0) -> Any:
        return {"power": x**power, "const": np.ones_like(x)}

    def rule(p: Any, t: Any) -> Any:
        x, power = p
        return pair(x, power), {"power": power * x ** (power - 1.0) * t[0], "const": None}

    pair.defjvp(rule)
    f = lambda x: np.sum(pair(x, power=3.0)["power"]) + np.sum(pair(x)["const"])
    numpy.testing.assert_allclose(cr.grad(f)(X), 3.0 * X**2)
    numpy.testing.assert_allclose(cr.jacfwd(f)(X), 3.0 * X**2)
    numpy.testing.assert_allclose(cr.jacrev(lambda x: pair(x)["power"])(X), numpy.diag(2.0 * X))


# ---------------------------------------------------------------- checkpoint


def _closing_over(checkpointed: bool) -> Any:
    """The issue's example: the checkpointed function closes over y, computed from x."""

    def f(x: Any) -> Any:
        y = 2.0 * np.sin(x)
        inner = lambda v: np.cos(v) * np.sin(y)
        return (cr.checkpoint(inner) if checkpointed else inner)(x)

    return f


def test_checkpoint_differentiates_through_values_it_closes_over() -> None:
    f, plain = _closing_over(True), _closing_over(False)
    for x in (0.7, -1.3):
        expected = cr.grad(plain)(x)
        got = cr.grad(f)(x)
        assert isinstance(got, numpy.ndarray | numpy.floating)
        assert got == pytest.approx(expected, rel=1e-14)
        # second order, every combination of modes
        for second in (cr.grad(cr.grad(f)), cr.jacfwd(cr.grad(f)), cr.grad(cr.derivative(f))):
            assert second(x) == pytest.approx(cr.grad(cr.grad(plain))(x), rel=1e-12)
    assert cr.derivative(f)(0.7) == pytest.approx(cr.derivative(plain)(0.7), rel=1e-14)
    cr.check_grads(f, (numpy.array([0.7, -1.3]),), order=2)
    # a vjp_fn called later, and twice; the transposed backward pass of linearize
    x = numpy.array([0.7, -1.3])
    _, pull = cr.vjp(f, x)
    for _ in range(2):
        numpy.testing.assert_allclose(pull(numpy.ones(2))[0], cr.vjp(plain, x)[1](numpy.ones(2))[0])
    numpy.testing.assert_allclose(cr.linearize(f, x)[1](x), cr.linearize(plain, x)[1](x))


def test_checkpoint_with_closures_still_recomputes_instead_of_storing() -> None:
    calls: list[int] = []
    w = numpy.array([0.5, -0.25, 2.0])

    def loss(params: Any) -> Any:
        def block(h: Any) -> Any:
            calls.append(1)
            return np.tanh(h * params["w"]) + params["b"]  # the parameters are closed over

        return np.sum(cr.checkpoint(block)(X * params["s"]) ** 2)

    params = {"w": w, "b": 0.1, "s": 1.0}
    g = cr.grad(loss)(params)
    assert len(calls) == 2  # forward, then again in the backward pass
    t = numpy.tanh(X * w)
    numpy.testing.assert_allclose(g["w"], 2 * (t + 0.1) * (1 - t**2) * X)
    assert g["b"] == pytest.approx(2 * numpy.sum(t + 0.1))
    assert g["s"] == pytest.approx(numpy.sum(2 * (t + 0.1) * (1 - t**2) * w * X))


def test_checkpoint_closures_returned_nested_and_from_an_inner_transform() -> None:
    def returned(x: Any) -> Any:
        y = x * x
        a, b = cr.checkpoint(lambda v: (v * 2.0, y))(x)  # returns the closed-over value as is
        return a + b

    assert cr.grad(returned)(3.0) == pytest.approx(2.0 + 6.0)

    def nested(x: Any) -> Any:
        y, z = np.sin(x), np.exp(x)
        inner = cr.checkpoint(lambda v: v * z)  # z is met only inside the inner checkpoint
        return cr.checkpoint(lambda v: inner(v * y))(x)

    plain = lambda x: x * np.sin(x) * np.exp(x)
    assert cr.grad(nested)(0.4) == pytest.approx(cr.grad(plain)(0.4), rel=1e-14)
    assert cr.hessian(nested)(0.4) == pytest.approx(cr.hessian(plain)(0.4), rel=1e-12)

    def outer(x: Any) -> Any:
        # w is traced by a transform opened inside the one that traces x
        return cr.grad(lambda w: cr.checkpoint(lambda h: h * w**2)(x) * w)(2.0)

    assert cr.grad(outer)(1.5) == pytest.approx(12.0)  # d/dx of 3 x w**2 at w = 2


def test_checkpoint_with_keyword_arguments() -> None:
    def block(x: Any, n: int = 1, w: Any = 1.0) -> Any:
        return np.sin(x) * n * w

    saved = cr.checkpoint(block)
    numpy.testing.assert_allclose(cr.grad(lambda x: np.sum(saved(x, n=3)))(X), 3.0 * numpy.cos(X))
    g = cr.grad(lambda w: np.sum(saved(X, n=2, w=w)))(0.5)
    assert g == pytest.approx(2.0 * numpy.sin(X).sum())
    cr.check_grads(lambda x, w: saved(x, w=w, n=2), (X, 0.5), order=2)


def test_checkpoint_records_plainly_if_it_cannot_account_for_a_closed_over_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a guard: were the engine to stop showing checkpoint the uses of a closed-over tracer,
    # the derivative must stay right (the function is then recorded as usual)
    from chainrule.core import custom
    from chainrule.core.reverse import ReverseTrace

    monkeypatch.setattr(custom._Capturing, "unwrap", ReverseTrace.unwrap)
    f, plain = _closing_over(True), _closing_over(False)
    assert cr.grad(f)(0.7) == pytest.approx(cr.grad(plain)(0.7), rel=1e-14)


def test_defjvp_returns_the_rule_so_it_works_as_a_decorator() -> None:
    @cr.custom_jvp
    def f(x: Any, y: Any) -> Any:
        return np.sin(x) * y

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:  # JAX's documented idiom
        (x, y), (dx, dy) = primals, tangents
        return f(x, y), np.cos(x) * dx * y + np.sin(x) * dy

    assert callable(f_jvp)
    assert cr.grad(f, argnums=(0, 1))(2.0, 3.0) == pytest.approx(
        (numpy.cos(2.0) * 3.0, numpy.sin(2.0))
    )


def test_jacrev_and_hessian_of_a_custom_vjp_function_use_its_rule() -> None:
    # jacrev maps the backward pass over a basis with vmap: the cotangents bwd sees carry
    # that newer transform's tracers, which are no closure
    @cr.custom_vjp
    def clip_gradient(x: Any) -> Any:
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1.0, 1.0),))
    assert numpy.array_equal(cr.jacrev(lambda x: 5.0 * clip_gradient(x))(X), numpy.eye(3))
    hess = cr.hessian(lambda x: np.sum(np.sin(_sin_with(lambda x, g: (g * np.cos(x),))(x))))(X)
    expected = numpy.diag(
        -numpy.sin(numpy.sin(X)) * numpy.cos(X) ** 2 - numpy.cos(numpy.sin(X)) * numpy.sin(X)
    )
    numpy.testing.assert_allclose(hess, expected, rtol=1e-12, atol=1e-14)


def test_custom_jvp_rule_holds_at_second_order_in_every_composition() -> None:
    """Found by fuzzing: reverse mode ran the function itself on the values, so a `jacfwd`
    below it (`hessian`'s forward over reverse) differentiated the function, not its rule;
    JAX's Hessians use the rule."""

    @cr.custom_jvp
    def softclip(x: Any) -> Any:
        return np.tanh(x) * 2.0

    @softclip.defjvp
    def softclip_jvp(p: Any, t: Any) -> Any:
        (x,), (tx,) = p, t
        return softclip(x), tx * 0.5 * np.cos(x)  # (not the function's derivative)

    def f(x: Any) -> Any:
        n = softclip(x * 0.7)
        return np.sum(n) + np.sum(n**2)

    x = numpy.array([0.3, -0.7, 1.1])
    c, s = numpy.cos(0.7 * x), numpy.sin(0.7 * x)
    n, dn = 2.0 * numpy.tanh(0.7 * x), 0.35 * c  # the value, and the rule's derivative
    want = numpy.diag(0.7 * (-0.35 * s) * (1 + 2 * n) + 0.35 * c * 2 * dn)
    for hessian in (cr.hessian, lambda f: cr.jacrev(cr.jacfwd(f)), lambda f: cr.jacfwd(cr.jacrev(f)),
                    lambda f: cr.jacrev(cr.jacrev(f)), lambda f: cr.jacfwd(cr.jacfwd(f))):  # fmt: skip
        numpy.testing.assert_allclose(hessian(f)(x), want, rtol=1e-13)
