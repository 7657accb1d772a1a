"""`vmap`: JAX's semantics and errors, composition with every transform in every order,
custom rules under a batch, user primitives (a rule, or the loop fallback), and a batching
rule for every chainrule primitive.

Batched results are compared with a Python loop over the examples. Both compute each entry
as a short sum (at most 8 terms) of O(1) values, only in another order or another BLAS
kernel, so they agree to a few ulps (8 eps ~ 2e-15 relative): `TOL` leaves room for that and
nothing more.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.core.batching import BatchingWarning
from chainrule.core.custom import _custom  # recorded on tapes only, never applied
from chainrule.core.primitive import Primitive
from chainrule.core.trace import ConversionError
from chainrule.extend import defbatch, defjvp, defvjp, primitive

TOL = {"rtol": 1e-12, "atol": 1e-13}
RNG = numpy.random.default_rng(13)
X = RNG.standard_normal((3, 4))  # three examples of shape (4,)
W = RNG.standard_normal((4, 2))


def loop(fun: Callable[..., Any], in_axes: tuple[Any, ...], *args: Any) -> Any:
    """What `vmap(fun, in_axes)(*args)` must give: `fun` on each example, stacked first."""
    size = next(numpy.shape(a)[ax] for a, ax in zip(args, in_axes, strict=True) if ax is not None)
    results = [
        fun(
            *(
                a if ax is None else numpy.take(a, b, axis=ax)
                for a, ax in zip(args, in_axes, strict=True)
            )
        )
        for b in range(size)
    ]
    return cr.tree.map(lambda *xs: numpy.stack(xs), *results)


def assert_close(got: Any, expected: Any, **tol: float) -> None:
    got_leaves, expected_leaves = cr.tree.leaves(got), cr.tree.leaves(expected)
    assert cr.tree.structure(got) == cr.tree.structure(expected)
    for g, e in zip(got_leaves, expected_leaves, strict=True):
        assert numpy.shape(g) == numpy.shape(e)
        numpy.testing.assert_allclose(g, e, **(tol or TOL))


def mlp_loss(params: dict[str, Any], x: Any, y: Any) -> Any:
    h = np.tanh(x @ params["w"] + params["b"])
    return np.sum((h - y) ** 2)


PARAMS = {"w": W, "b": RNG.standard_normal(2)}
Y = RNG.standard_normal((3, 2))


# ---------------------------------------------------------------------------- semantics


@pytest.mark.parametrize(
    ("in_axes", "args"),
    [
        (0, (X, X + 1.0)),
        (1, (X.T, X.T)),
        (-1, (X.T, X.T)),
        ((0, None), (X, X[0])),
        ((None, -2), (X[0], X)),
        (({"a": 1, "b": None},), ({"a": X.T, "b": X[1]},)),
        (((0, [None, 1]),), ((X, [X[2], X.T]),)),
        (([0, None],), ([X, X[1]],)),
    ],
    ids=["int", "axis-1", "negative", "tuple", "none-first", "dict", "nested", "list-in-tuple"],
)
def test_in_axes_as_jax_reads_them(in_axes: Any, args: tuple[Any, ...]) -> None:
    def f(*a: Any) -> Any:
        leaves = cr.tree.leaves(a)
        return np.sin(leaves[0]) * leaves[-1] + leaves[0] @ W @ W.T

    got = cr.vmap(f, in_axes=in_axes)(*args)
    per_arg = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    flat_axes = tuple(ax for spec, a in zip(per_arg, args, strict=True) for ax in _axes_of(spec, a))
    expected = loop(f, flat_axes, *cr.tree.leaves(args))
    assert_close(got, expected)


def _axes_of(spec: Any, value: Any) -> list[Any]:
    """One axis per leaf of `value` from its prefix `spec` (for `loop`, the test's own)."""
    if spec is None or isinstance(spec, int):
        return [spec] * len(cr.tree.leaves(value))
    keys = sorted(value) if isinstance(value, dict) else range(len(value))
    return [ax for k in keys for ax in _axes_of(spec[k], value[k])]


def test_keyword_arguments_are_mapped_along_axis_0() -> None:
    got = cr.vmap(lambda x, y: x * y, in_axes=(None,))(X[0], y=X)
    assert_close(got, X[0] * X)


def test_out_axes_int_negative_none_and_prefix() -> None:
    f = cr.vmap(lambda x: (np.outer(x, x[:2]), x.sum()), out_axes=(1, 0))
    outer, total = f(X)
    assert outer.shape == (4, 3, 2)
    assert_close(numpy.moveaxis(outer, 1, 0), loop(lambda x: numpy.outer(x, x[:2]), (0,), X))
    assert_close(total, X.sum(axis=1))
    assert cr.vmap(lambda x: np.outer(x, x[:2]), out_axes=-1)(X).shape == (4, 2, 3)
    shared, mapped = cr.vmap(lambda x: (W, x @ W), out_axes=(None, 0))(X)
    assert numpy.array_equal(shared, W)
    assert mapped.shape == (3, 2)
    out = cr.vmap(lambda x: {"a": x, "b": (x[0], x[1:])}, out_axes={"a": 1, "b": 0})(X)
    assert out["a"].shape == (4, 3) and out["b"][0].shape == (3,) and out["b"][1].shape == (3, 3)


def test_outputs_that_do_not_depend_on_the_batch_are_broadcast() -> None:
    out = cr.vmap(lambda x: (W, 2.0, 7, x))(X)
    assert out[0].shape == (3, 4, 2) and numpy.array_equal(out[0][2], W)
    assert numpy.array_equal(out[1], [2.0, 2.0, 2.0]) and out[1].dtype == numpy.float64
    assert numpy.array_equal(out[2], [7, 7, 7]) and out[2].dtype.kind == "i"
    assert cr.vmap(lambda x: W, out_axes=2)(X).shape == (4, 2, 3)


def test_axis_size_with_every_input_shared() -> None:
    out = cr.vmap(lambda x: x * 2.0, in_axes=None, axis_size=5)(X[0])
    assert out.shape == (5, 4) and numpy.array_equal(out[3], 2.0 * X[0])
    assert cr.vmap(lambda x: x, in_axes=None, axis_size=0)(X[0]).shape == (0, 4)
    assert numpy.array_equal(
        cr.vmap(lambda x: x, in_axes=None, axis_size=2, out_axes=None)(X[0]), X[0]
    )


def test_empty_batches_as_jax_allows_them() -> None:
    out = cr.vmap(lambda x: np.sin(x) @ W)(numpy.zeros((0, 4)))
    assert out.shape == (0, 2)
    assert cr.vmap(cr.grad(lambda x: np.sum(x**2)))(numpy.zeros((0, 4))).shape == (0, 4)


def test_scalars_and_python_numbers() -> None:
    assert_close(cr.vmap(lambda x: x**2 + 1.0)(numpy.arange(3.0)), numpy.arange(3.0) ** 2 + 1)
    assert_close(cr.vmap(lambda x, s: x * s, in_axes=(0, None))(X, 2.5), 2.5 * X)
    assert_close(cr.vmap(lambda x: 1.0)(X), numpy.ones(3))


def test_dtypes_are_kept() -> None:
    x32 = X.astype(numpy.float32)
    assert cr.vmap(lambda x: np.sum(np.sin(x)), in_axes=1)(x32).dtype == numpy.float32
    assert cr.vmap(cr.grad(lambda x: np.sum(np.tanh(x) ** 2)))(x32).dtype == numpy.float32
    params32 = cr.tree.map(lambda a: a.astype(numpy.float32), PARAMS)
    g = cr.vmap(cr.grad(mlp_loss), in_axes=(None, 0, 0))(params32, x32, Y.astype(numpy.float32))
    assert g["w"].dtype == numpy.float32 and g["w"].shape == (3, 4, 2)
    assert cr.vmap(lambda x: x > 0)(X).dtype == numpy.bool_


def test_the_batch_axis_lands_where_out_axes_puts_it() -> None:
    # the batch comes in on the axis the function reduces over
    got = cr.vmap(lambda x: np.sum(x, axis=0) * x, in_axes=1, out_axes=1)(X)
    expected = numpy.stack([X[:, j].sum() * X[:, j] for j in range(4)], axis=1)
    assert got.shape == (3, 4)
    assert_close(got, expected)
    got = cr.vmap(lambda m: np.mean(m, axis=1), in_axes=0, out_axes=-1)(X.reshape(3, 2, 2))
    assert_close(got, X.reshape(3, 2, 2).mean(axis=2).T)


@pytest.fixture
def counted_matmul(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every NumPy-level matmul that runs: the shapes of its operands."""
    from chainrule.numpy.rules import products

    calls: list[Any] = []
    impl = products.matmul.impl

    def counting(a: Any, b: Any, **params: Any) -> Any:
        calls.append((numpy.shape(a), numpy.shape(b)))
        return impl(a, b, **params)

    monkeypatch.setattr(products.matmul, "impl", counting)
    return calls


def test_a_batch_of_matrix_vector_products_is_one_product(counted_matmul: list[Any]) -> None:
    xs = RNG.standard_normal((50, 2))
    got = cr.vmap(lambda x: W @ x, in_axes=0)(xs)
    assert_close(got, xs @ W.T)
    assert len(counted_matmul) == 1
    counted_matmul.clear()
    g = cr.vmap(cr.grad(mlp_loss), in_axes=(None, 0, 0))(
        PARAMS, RNG.standard_normal((50, 4)), RNG.standard_normal((50, 2))
    )
    assert g["w"].shape == (50, 4, 2)
    assert len(counted_matmul) <= 3  # forward, and the backward for x@w: none per example


def test_per_example_gradients_of_a_model_pytree() -> None:
    got = cr.vmap(cr.grad(mlp_loss), in_axes=(None, 0, 0))(PARAMS, X, Y)
    assert_close(got, loop(cr.grad(mlp_loss), (None, 0, 0), PARAMS, X, Y))


# ---------------------------------------------------------------------------- errors


def test_inconsistent_sizes_list_every_mapped_argument() -> None:
    with pytest.raises(ValueError, match="inconsistent sizes") as info:
        cr.vmap(lambda x, y, z: x + y + z, in_axes=(0, 0, 1))(X, X[:2], X)
    message = str(info.value)
    assert "argument 0 (`x`): axis 0 has size 3" in message
    assert "argument 1 (`y`): axis 0 has size 2" in message
    assert "argument 2 (`z`): axis 1 has size 4" in message
    assert "None" in message  # the fix: shared arguments get the axis None
    with pytest.raises(ValueError, match=r"axis_size=4"):
        cr.vmap(lambda x: x, axis_size=4)(X)
    with pytest.raises(ValueError, match=r"argument 0 \(`d`\)\['b'\]: axis 0 has size 2"):
        cr.vmap(lambda d: d["a"] + d["b"])({"a": X, "b": X[:2]})


def test_axis_out_of_range_names_the_argument_and_the_range() -> None:
    with pytest.raises(ValueError, match=r"argument 0 \(`x`\): .*axis 2.*rank 2.*\[-2, 2\)"):
        cr.vmap(lambda x: x, in_axes=2)(X)
    with pytest.raises(ValueError, match=r"argument 0 \(`x`\): .*scalar.*axis None"):
        cr.vmap(lambda x: x)(1.5)
    with pytest.raises(ValueError, match=r"keyword argument.*'y'.*by position with in_axes None"):
        cr.vmap(lambda x, y: x * y)(X, y=2.0)
    with pytest.raises(ValueError, match=r"out_axes entry 3 .*rank 3.*\[-3, 3\)"):
        cr.vmap(lambda x: np.outer(x, x), out_axes=3)(X)


@pytest.mark.parametrize(
    ("in_axes", "args", "message"),
    [
        ((0, 0), (X,), r"in_axes has 2 entries, \(0, 0\), but the function was called with 1"),
        (({"b": 0},), ({"a": X},), r"in_axes\[0\]: .*tree prefix.*\{'b': 0\}"),
        (((0, 0),), ([X, X],), r"in_axes\[0\]: .*tree prefix.*a container of the same type"),
        (((0, (0, 0)),), ((X, (X,)),), r"in_axes\[0\]\[1\]: .*tree prefix"),
    ],
    ids=["length", "dict-keys", "tuple-for-list", "nested"],
)
def test_in_axes_that_do_not_match_the_arguments(in_axes: Any, args: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cr.vmap(lambda *a: cr.tree.leaves(a)[0], in_axes=in_axes)(*args)


@pytest.mark.parametrize("in_axes", [{"a": 0}, 1.0, True, (0, "a"), [0, 1.5]])
def test_in_axes_of_the_wrong_type(in_axes: Any) -> None:
    with pytest.raises(TypeError, match="vmap in_axes must be an int, None, or a tuple"):
        cr.vmap(lambda x, y=None: x, in_axes=in_axes)


def test_a_container_of_in_axes_outside_the_tuple() -> None:
    with pytest.raises(TypeError, match=r"goes in that tuple: in_axes=\(\{'a': 0\},\)"):
        cr.vmap(lambda d: d["a"], in_axes={"a": 0})


def test_a_top_level_list_of_in_axes_is_read_as_a_tuple() -> None:
    # as JAX reads it (jax-ml/jax#2367): a list of in_axes cannot be a prefix of the tuple
    # of arguments, so it can only mean one entry per argument
    got = cr.vmap(lambda x, y: x * y, in_axes=[0, None])(X, X[0])
    assert_close(got, X * X[0])
    with pytest.raises(ValueError, match=r"in_axes has 1 entries"):
        cr.vmap(lambda x, y: x * y, in_axes=[0])(X, X[0])


def test_out_axes_none_for_an_output_that_depends_on_the_batch() -> None:
    with pytest.raises(ValueError, match=r"output leaf 1 depends on the example.*None"):
        cr.vmap(lambda x: (W, x), out_axes=None)(X)
    with pytest.raises(TypeError, match="vmap out_axes must be an int, None, or a pytree prefix"):
        cr.vmap(lambda x: x, out_axes="0")


def test_no_mapped_argument_without_axis_size() -> None:
    with pytest.raises(ValueError, match=r"no argument is mapped.*axis_size"):
        cr.vmap(lambda x: x, in_axes=None)(X)
    with pytest.raises(ValueError, match="no argument is mapped"):
        cr.vmap(lambda: 1.0)()
    with pytest.raises(TypeError, match="axis_size must be an int"):
        cr.vmap(lambda x: x, axis_size=3.0)


@pytest.mark.parametrize(
    "convert",
    [bool, float, lambda x: x.item(), lambda x: 1 if x.sum() > 0 else 0],
    ids=["bool", "float", "item", "if"],
)
def test_a_batch_converted_to_a_python_value(convert: Callable[[Any], Any]) -> None:
    with pytest.raises(ConversionError, match=r"batched by vmap.*np\.where") as info:
        cr.vmap(lambda x: convert(x[0] > 0))(X)
    assert "derivative" not in str(info.value)  # nothing here is being differentiated
    # under grad too: the batch, not the derivative, is what cannot be converted
    with pytest.raises(ConversionError, match="batched by vmap"):
        cr.vmap(cr.grad(lambda x: float(x[0]) * x.sum()))(X)


def test_a_numpy_array_indexed_by_a_batch_points_to_take() -> None:
    table = numpy.arange(12.0).reshape(4, 3)
    idx = numpy.array([[0, 3], [2, 2]])
    with pytest.raises(ConversionError, match=r"batched by vmap.*`np\.take\(a, i, axis\)`"):
        cr.vmap(lambda i: table[i])(idx)
    with pytest.raises(ConversionError, match=r"`np\.take\(a, i, axis\)`"):
        cr.vmap(lambda i: table[i])(idx[:, 0])  # (one index per example: NumPy's __index__)
    with pytest.raises(ConversionError) as info:
        cr.vmap(float)(X[:, 0])
    assert "np.take" not in str(info.value)
    numpy.testing.assert_array_equal(cr.vmap(lambda i: np.take(table, i, 0))(idx), table[idx])


def test_a_batched_shift_of_roll_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"numpy\.roll maps over its first argument only"):
        cr.vmap(lambda x, k: np.roll(x, k))(X, numpy.arange(len(X)))


def test_a_leaked_batch_is_refused() -> None:
    kept: list[Any] = []
    cr.vmap(lambda x: kept.append(x) or x)(X)
    with pytest.raises(cr.core.trace.LeakedTracerError, match=r"vmap of.*a batch of examples"):
        np.sin(kept[0])


def test_shape_errors_are_told_per_example() -> None:
    with pytest.raises(ValueError, match=r"vmap of .*matmul of shapes \(4,\) and \(3, 2\)"):
        cr.vmap(lambda x, m: x @ m, in_axes=(0, None))(X, numpy.ones((3, 2)))


# ---------------------------------------------------------------------------- composition


def f_vec(x: Any) -> Any:
    """A function of one example with every kind of primitive the tests need."""
    return np.sum(np.sin(x) * (x @ W @ W.T) + np.exp(-(x**2)))


def test_vmap_of_grad_and_grad_of_vmap() -> None:
    per_example = loop(cr.grad(f_vec), (0,), X)
    assert_close(cr.vmap(cr.grad(f_vec))(X), per_example)
    assert_close(cr.grad(lambda xs: np.sum(cr.vmap(f_vec)(xs)))(X), per_example)
    assert_close(cr.grad(lambda xs: np.sum(cr.vmap(f_vec, in_axes=1)(xs)))(X.T), per_example.T)


def test_vmap_of_vmap_with_different_in_axes() -> None:
    cube = RNG.standard_normal((4, 5, 3))
    inner = cr.vmap(lambda v, w: np.sin(v) * w[1] + np.sum(v), in_axes=(1, None))
    got = cr.vmap(inner, in_axes=(2, 0))(cube, X)  # outer: cube's axis 2 beside X's axis 0
    expected = numpy.stack(
        [
            numpy.stack(
                [numpy.sin(cube[:, j, k]) * X[k][1] + cube[:, j, k].sum() for j in range(5)]
            )
            for k in range(3)
        ]
    )
    assert_close(got, expected)
    assert_close(cr.vmap(inner, in_axes=(2, 0), out_axes=2)(cube, X), expected.transpose(1, 2, 0))


def test_nested_vmap_with_grad_in_the_middle() -> None:
    def pair_loss(w: Any, x: Any) -> Any:
        return np.sin(np.sum(w * x)) + np.sum(w**2 * x)

    def total(w: Any, xs: Any) -> Any:
        return np.sum(cr.vmap(pair_loss, in_axes=(None, 0))(w, xs))

    got = cr.vmap(cr.grad(total), in_axes=(0, None))(X, X)
    assert_close(got, loop(cr.grad(total), (0, None), X, X))
    got = cr.vmap(cr.grad(total), in_axes=(None, 0))(X[0], numpy.stack([X, 2 * X]))
    assert_close(got, loop(cr.grad(total), (None, 0), X[0], numpy.stack([X, 2 * X])))


def test_no_perturbation_confusion_across_vmap() -> None:
    # d/dx [x * d/dy (x + y)] = 1; mixing the two derivatives up gives 2
    def f(x: Any) -> Any:
        return x * cr.grad(lambda y: x + y)(1.0)

    xs = numpy.arange(3.0)
    assert_close(cr.vmap(cr.grad(f))(xs), numpy.ones(3))
    assert_close(cr.grad(lambda xs: np.sum(cr.vmap(f)(xs)))(xs), numpy.ones(3))
    # a function closing over a batched value of an outer vmap
    got = cr.vmap(lambda x: cr.vmap(lambda y: cr.grad(lambda z: x * z * y)(1.0))(xs))(xs)
    assert_close(got, numpy.outer(xs, xs))


def test_a_closure_over_an_outer_batch() -> None:
    got = cr.vmap(lambda x: cr.vmap(lambda w: np.sum(np.sin(x) * w), in_axes=1)(W))(X)
    assert_close(got, numpy.sin(X) @ W)
    got = cr.vmap(lambda x: cr.grad(lambda w: np.sum(np.sin(x) @ w))(W))(X)
    assert_close(got, loop(lambda x: numpy.outer(numpy.sin(x), numpy.ones(2)), (0,), X))


def test_forward_mode_and_vjp_of_vmap_and_vmap_of_them() -> None:
    def one(x: Any) -> Any:
        return np.sin(x) * np.sum(x**2)

    f = cr.vmap(one)
    t = RNG.standard_normal(X.shape)
    value, tangent = cr.jvp(f, (X,), (t,))
    assert_close(value, loop(one, (0,), X))
    assert_close(tangent, loop(lambda x, t: cr.jvp(one, (x,), (t,))[1], (0, 0), X, t))
    assert_close(
        cr.vmap(lambda x, t: cr.jvp(one, (x,), (t,)))(X, t),
        loop(lambda x, t: cr.jvp(one, (x,), (t,)), (0, 0), X, t),
    )
    _, pull = cr.vjp(f, X)
    assert_close(pull(t)[0], loop(lambda x, g: cr.vjp(one, x)[1](g)[0], (0, 0), X, t))
    assert_close(
        cr.vmap(lambda x, g: cr.vjp(one, x)[1](g)[0])(X, t),
        loop(lambda x, g: cr.vjp(one, x)[1](g)[0], (0, 0), X, t),
    )
    value, lin = cr.linearize(f, X)
    assert_close(lin(t), tangent)
    assert_close(cr.vmap(lambda x, t: cr.linearize(one, x)[1](t))(X, t), tangent)


def test_vmap_over_tangents_or_cotangents_only() -> None:
    def one(x: Any) -> Any:
        return np.tanh(x @ W)

    jac = numpy.stack([cr.grad(lambda x, k=k: one(x)[k])(X[0]) for k in range(2)])
    assert_close(cr.vmap(lambda t: cr.jvp(one, (X[0],), (t,))[1])(numpy.eye(4)), jac.T)
    assert_close(cr.vmap(cr.vjp(one, X[0])[1])(numpy.eye(2))[0], jac)
    hess = cr.hessian(lambda x: np.sum(np.sin(x) ** 2))(X[0])
    hvps = cr.vmap(lambda v: cr.hvp(lambda x: np.sum(np.sin(x) ** 2), (X[0],), (v,)))(numpy.eye(4))
    assert_close(hvps, hess)


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobians_of_vmap_and_vmap_of_jacobians(jac: Callable[..., Any]) -> None:
    def one(x: Any) -> Any:
        return np.tanh(x @ W)

    per_example = loop(jac(one), (0,), X)  # (3, 2, 4)
    assert_close(cr.vmap(jac(one))(X), per_example)
    full = jac(cr.vmap(one))(X)  # (3, 2, 3, 4): block diagonal across examples
    assert full.shape == (3, 2, 3, 4)
    for i in range(3):
        for j in range(3):
            assert_close(full[i, :, j], per_example[i] if i == j else numpy.zeros((2, 4)))


def test_hessian_of_vmap_and_vmap_of_hessian() -> None:
    per_example = loop(cr.hessian(f_vec), (0,), X)
    assert_close(cr.vmap(cr.hessian(f_vec))(X), per_example)
    full = cr.hessian(lambda xs: np.sum(cr.vmap(f_vec)(xs)))(X)
    for i in range(3):
        assert_close(full[i, :, i], per_example[i])
        assert numpy.all(full[i, :, (i + 1) % 3] == 0)


def test_value_and_grad_with_aux_under_vmap() -> None:
    def loss(params: Any, x: Any, y: Any) -> Any:
        err = np.tanh(x @ params["w"] + params["b"]) - y
        return np.sum(err**2), {"err": err, "n": 2.0}

    vag = cr.value_and_grad(loss, has_aux=True)
    got = cr.vmap(vag, in_axes=(None, 0, 0))(PARAMS, X, Y)
    expected = loop(vag, (None, 0, 0), PARAMS, X, Y)
    assert_close(got, expected)


# ---------------------------------------------------------------------------- custom rules


def _clip_gradient() -> Any:
    @cr.custom_vjp
    def clip_gradient(x: Any) -> Any:
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1.0, 1.0),))
    return clip_gradient


def test_custom_vjp_rule_is_used_in_every_order() -> None:
    clip = _clip_gradient()

    def f(x: Any) -> Any:  # without the rule the gradient is 6 everywhere, with it 2
        return np.sum(5.0 * clip(x) + x)

    twos = numpy.full(X.shape, 2.0)
    assert_close(cr.grad(lambda xs: np.sum(cr.vmap(f)(xs)))(X), twos)
    assert_close(cr.vmap(cr.grad(f))(X), twos)
    assert_close(cr.vmap(cr.vmap(cr.grad(lambda x: f(x[None]))), in_axes=1, out_axes=1)(X), twos)
    assert_close(cr.grad(lambda xs: np.sum(cr.vmap(cr.vmap(f), in_axes=1)(xs[..., None])))(X), twos)
    assert_close(cr.vmap(cr.grad(lambda xs: np.sum(cr.vmap(f)(xs))))(X[:, None, :]), twos[:, None])
    # forward mode differentiates the function itself (as custom_vjp documents; JAX refuses)
    assert_close(cr.jvp(cr.vmap(f), (X,), (numpy.ones_like(X),))[1], numpy.full(3, 24.0))
    assert_close(cr.jacrev(cr.vmap(lambda x: 5.0 * clip(x)))(X[:, 0]), numpy.eye(3))


def test_custom_vjp_under_vmap_sums_the_cotangent_of_a_shared_argument() -> None:
    calls = {"fwd": 0, "bwd": 0}

    @cr.custom_vjp
    def scaled(w: Any, x: Any) -> Any:
        return w * x

    def fwd(w: Any, x: Any) -> Any:
        calls["fwd"] += 1
        return w * x, (w, x)

    def bwd(res: Any, g: Any) -> Any:  # a visibly custom rule: twice the true dw
        calls["bwd"] += 1
        w, x = res
        return 2.0 * g * x, g * w

    scaled.defvjp(fwd, bwd)
    w = RNG.standard_normal(4)
    gw, gx = cr.grad(lambda w, xs: np.sum(cr.vmap(scaled, in_axes=(None, 0))(w, xs)), (0, 1))(w, X)
    assert_close(gw, 2.0 * X.sum(axis=0))
    assert_close(gx, numpy.broadcast_to(w, X.shape))
    assert calls == {"fwd": 1, "bwd": 1}  # the rules ran once, on the whole batch
    # and per example, under vmap of grad
    got = cr.vmap(cr.grad(lambda w, x: np.sum(scaled(w, x))), in_axes=(None, 0))(w, X)
    assert_close(got, 2.0 * X)


def test_custom_vjp_with_pytree_arguments_and_residuals_under_vmap() -> None:
    @cr.custom_vjp
    def affine(p: Any, x: Any) -> Any:
        return {"y": x @ p["w"] + p["b"]}

    def fwd(p: Any, x: Any) -> Any:
        return affine(p, x), (p["w"], x, "a string residual")

    def bwd(res: Any, g: Any) -> Any:
        w, x, _ = res
        return {"w": 3.0 * np.outer(x, g["y"]), "b": None}, g["y"] @ w.T

    affine.defvjp(fwd, bwd)
    got = cr.vmap(cr.grad(lambda p, x: np.sum(affine(p, x)["y"])), in_axes=(None, 0))(PARAMS, X)
    assert_close(got["w"], 3.0 * numpy.stack([numpy.outer(x, numpy.ones(2)) for x in X]))
    assert_close(got["b"], numpy.zeros((3, 2)))
    total = cr.grad(lambda p, xs: np.sum(cr.vmap(affine, in_axes=(None, 0))(p, xs)["y"]))(PARAMS, X)
    assert_close(total["w"], 3.0 * numpy.outer(X.sum(axis=0), numpy.ones(2)))
    assert_close(total["b"], numpy.zeros(2))


def test_custom_vjp_bwd_errors_under_vmap_name_one_examples_shapes() -> None:
    @cr.custom_vjp
    def my_sin(x: Any) -> Any:
        return np.sin(x)

    my_sin.defvjp(lambda x: (np.sin(x), x), lambda res, g: (np.ones(5),))
    with pytest.raises(ValueError, match=r"`my_sin`.*shape \(5,\).*must have shape \(4,\)"):
        cr.grad(lambda xs: np.sum(cr.vmap(my_sin)(xs)))(X)


def test_second_order_through_a_custom_vjp_under_vmap() -> None:
    @cr.custom_vjp
    def cube(x: Any, n: int) -> Any:
        return x**3

    # the rule scales the true gradient by `n` (an int residual; None for `n` itself)
    cube.defvjp(lambda x, n: (x**3, (x, n)), lambda r, g: (3.0 * r[0] ** 2 * g * r[1], None))
    x = X[:, 0]
    summed = cr.hessian(lambda xs: np.sum(cr.vmap(cube, in_axes=(0, None))(xs, 2)))(x)
    assert_close(summed, numpy.diag(12.0 * x))
    assert_close(
        cr.vmap(cr.hessian(lambda x: np.sum(cube(x, 2))))(X),
        loop(lambda x: numpy.diag(12.0 * x), (0,), X),
    )
    assert_close(
        cr.vmap(cr.jacrev(lambda x: cube(x, 2)), in_axes=1)(X),
        loop(lambda x: numpy.diag(6.0 * x**2), (1,), X),
    )


def test_a_custom_vjp_closing_over_a_batch_is_refused_under_grad() -> None:
    def f(x: Any) -> Any:
        @cr.custom_vjp
        def times_x(y: Any) -> Any:
            return y * x

        times_x.defvjp(lambda y: (y * x, None), lambda res, g: (g,))
        return np.sum(times_x(x))

    with pytest.raises(TypeError, match=r"custom_vjp function `times_x` uses a value .* closes"):
        cr.grad(lambda xs: np.sum(cr.vmap(f)(xs)))(X)
    assert_close(cr.vmap(f)(X), numpy.sum(X * X, axis=1))  # without a derivative, it maps


def test_custom_jvp_rule_is_used_in_every_order() -> None:
    @cr.custom_jvp
    def my_sin(x: Any) -> Any:
        return np.sin(x)

    @my_sin.defjvp
    def my_sin_jvp(primals: Any, tangents: Any) -> Any:  # twice the true derivative
        return my_sin(primals[0]), 2.0 * np.cos(primals[0]) * tangents[0]

    expected = 2.0 * numpy.cos(X)
    assert_close(cr.grad(lambda xs: np.sum(cr.vmap(my_sin)(xs)))(X), expected)
    assert_close(cr.vmap(cr.grad(lambda x: np.sum(my_sin(x))))(X), expected)
    assert_close(cr.jvp(cr.vmap(my_sin), (X,), (numpy.ones_like(X),))[1], expected)
    assert_close(cr.vmap(lambda x: cr.jvp(my_sin, (x,), (numpy.ones(4),))[1])(X), expected)
    assert_close(cr.jacfwd(cr.vmap(my_sin))(X[:, 0]), numpy.diag(expected[:, 0]))
    assert_close(cr.vmap(cr.jacfwd(my_sin))(X), loop(numpy.diag, (0,), expected))
    assert_close(cr.vmap(cr.jacrev(my_sin))(X), loop(numpy.diag, (0,), expected))
    second = cr.vmap(cr.grad(lambda x: np.sum(cr.grad(lambda y: np.sum(my_sin(y)))(x))))(X)
    assert_close(second, -2.0 * numpy.sin(X))  # the rule differentiated again


def test_custom_jvp_with_a_shared_argument_under_vmap() -> None:
    @cr.custom_jvp
    def scale(a: Any, x: Any) -> Any:
        return a * x

    @scale.defjvp
    def scale_jvp(primals: Any, tangents: Any) -> Any:
        (a, x), (ta, tx) = primals, tangents
        return a * x, 3.0 * ta * x + a * tx  # da counted three times

    a = 1.5
    got = cr.grad(lambda a, xs: np.sum(cr.vmap(scale, in_axes=(None, 0))(a, xs)))(a, X)
    assert_close(got, 3.0 * X.sum())


def test_stop_gradient_under_vmap_in_every_order() -> None:
    def f(x: Any) -> Any:  # x times a constant x: the derivative is that constant
        return np.sum(x * cr.stop_gradient(x))

    assert_close(cr.vmap(cr.grad(f))(X), X)
    assert_close(cr.grad(lambda xs: np.sum(cr.vmap(f)(xs)))(X), X)
    assert_close(cr.jvp(cr.vmap(f), (X,), (numpy.ones_like(X),))[1], X.sum(axis=1))


def test_checkpoint_under_vmap_recomputes_the_whole_batch_once() -> None:
    runs = [0]

    def layer(x: Any) -> Any:
        runs[0] += 1
        return np.tanh(np.sin(x) * 2.0) * x

    block = cr.checkpoint(layer)
    plain_grad = cr.grad(lambda xs: np.sum(cr.vmap(layer)(xs)))(X)
    runs[0] = 0
    got = cr.grad(lambda xs: np.sum(cr.vmap(block)(xs)))(X)
    assert_close(got, plain_grad)
    assert runs[0] == 2  # forward, and one recomputation of the whole batch
    assert_close(cr.vmap(cr.grad(lambda x: np.sum(block(x))))(X), plain_grad)
    assert_close(cr.vmap(block)(X), loop(layer, (0,), X))


def test_checkpoint_with_a_batched_keyword_argument() -> None:
    block = cr.checkpoint(lambda x, scale=1.0: np.sin(x) * scale)
    s = X[:, 0]
    gx, gs = cr.grad(lambda xs, s: np.sum(cr.vmap(lambda x, s: block(x, scale=s))(xs, s)), (0, 1))(
        X, s
    )
    assert_close(gx, numpy.cos(X) * s[:, None])
    assert_close(gs, numpy.sin(X).sum(axis=1))


def test_checkpoint_closing_over_a_batch_still_differentiates() -> None:
    def f(x: Any) -> Any:
        return np.sum(cr.checkpoint(lambda w: np.sin(w * x))(W[:, 0] * x))

    got = cr.grad(lambda xs: np.sum(cr.vmap(f)(xs)))(X)
    assert_close(got, loop(cr.grad(f), (0,), X))


# ---------------------------------------------------------------------------- user primitives


def _isru(name: str) -> Primitive:
    """x / sqrt(1 + x^2), whose derivative is (1 + x^2)^(-3/2)."""
    prim = primitive(lambda x: x / numpy.sqrt(1.0 + x * x), name)
    defvjp(prim, lambda g, ans, x: g * (1.0 + x * x) ** -1.5)
    defjvp(prim, lambda t, ans, x: t * (1.0 + x * x) ** -1.5)
    return prim


def test_a_user_primitive_without_a_rule_loops_and_warns_once() -> None:
    prim = _isru("isru_without_a_batching_rule")
    with pytest.warns(BatchingWarning, match="isru_without_a_batching_rule.*defbatch") as got:
        out = cr.vmap(prim, in_axes=1)(X)
    assert len(got) == 1
    assert_close(out, loop(prim, (1,), X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time it stays quiet
        assert_close(cr.vmap(cr.grad(lambda x: np.sum(prim(x))))(X), (1.0 + X * X) ** -1.5)


def test_a_user_primitive_without_a_rule_on_an_empty_batch() -> None:
    prim = _isru("isru_on_an_empty_batch")
    with pytest.raises(TypeError, match=r"empty batch.*isru_on_an_empty_batch.*defbatch"):
        cr.vmap(prim)(numpy.zeros((0, 3)))


def test_a_user_primitive_with_defbatch_runs_once_on_the_batch() -> None:
    prim = _isru("isru_with_a_batching_rule")
    calls: list[Any] = []

    def rule(args: list[Any], dims: list[Any]) -> tuple[Any, Any]:
        calls.append(dims)
        return prim(*args), dims[0]

    defbatch(prim, rule)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cr.vmap(prim, in_axes=1, out_axes=1)(X)
        grads = cr.grad(lambda xs: np.sum(cr.vmap(prim)(xs)))(X)
    assert_close(out, X / numpy.sqrt(1.0 + X * X))
    assert_close(grads, (1.0 + X * X) ** -1.5)
    assert calls[0] == [1]


# ---------------------------------------------------------------------------- every primitive


def _reachable(value: Any) -> list[Any]:
    """What a module-level name holds: the value, a table's entries, a class's attributes,
    and the values a function closes over (primitives made by a factory live there)."""
    found = [value]
    if isinstance(value, dict):
        found += list(value.values())
    elif isinstance(value, (list, tuple)):
        found += list(value)
    elif isinstance(value, type):
        found += list(vars(value).values())
    for f in list(found):
        cells = getattr(getattr(f, "__wrapped__", f), "__closure__", None) or ()
        found += [c.cell_contents for c in cells]
    return found


def test_every_chainrule_primitive_has_a_batching_rule() -> None:
    for module in pkgutil.walk_packages(cr.__path__, "chainrule."):
        if not module.name.endswith("__main__"):  # (that one runs the command line)
            importlib.import_module(module.name)
    missing = set()
    for module_name, module in list(sys.modules.items()):
        if module_name != "chainrule" and not module_name.startswith("chainrule."):
            continue
        for attr, value in list(vars(module).items()):
            for prim in _reachable(value):
                if isinstance(prim, Primitive) and prim is not _custom and prim.batch is None:
                    missing.add(f"{module_name}.{attr}: {prim.name}")
    assert not missing, "primitives with no batching rule:\n" + "\n".join(sorted(missing))


# ---------------------------------------------------------------------------- against JAX


def test_semantics_match_jax() -> None:
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        _compare_with_jax(jax, jnp)
    finally:
        jax.config.update("jax_enable_x64", x64)


def _compare_with_jax(jax: Any, jnp: Any) -> None:
    cases = [
        (lambda x, y: x * y + 1.0, lambda x, y: x * y + 1.0, (0, None), 1, (X, X[0])),
        (lambda x: (x.sum(), x), lambda x: (x.sum(), x), 1, (0, -1), (X,)),
        (
            lambda d: d["a"] @ d["b"],
            lambda d: d["a"] @ d["b"],
            ({"a": 1, "b": None},),
            0,
            ({"a": X.T, "b": W},),
        ),
        (lambda x: 2.0, lambda x: 2.0, 0, 0, (X,)),
    ]
    for ours, theirs, in_axes, out_axes, args in cases:
        got = cr.vmap(ours, in_axes=in_axes, out_axes=out_axes)(*args)
        expected = jax.vmap(theirs, in_axes=in_axes, out_axes=out_axes)(*args)
        assert_close(got, cr.tree.map(numpy.asarray, expected))
    got = cr.vmap(cr.grad(mlp_loss), in_axes=(None, 0, 0))(PARAMS, X, Y)

    def jax_loss(p: Any, x: Any, y: Any) -> Any:
        return jnp.sum((jnp.tanh(x @ p["w"] + p["b"]) - y) ** 2)

    expected = jax.vmap(jax.grad(jax_loss), in_axes=(None, 0, 0))(PARAMS, X, Y)
    assert_close(got, cr.tree.map(numpy.asarray, expected))
