"""`vmap` of indexing and shape functions: batched indices, where the batch axis lands, one
fancy index (or one scatter) for the whole batch, and the clear errors where the examples
cannot be stacked. The table-driven checks (tests/rulecheck.py) cover static indices."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.numpy.rules import indexing

rng = numpy.random.default_rng(7)
B = 4
X = rng.standard_normal((B, 4, 6, 4))
I = rng.integers(0, 4, (B, 2))
I[0] = [3, 3]  # a repeated index


def _loop(fun, args, axes):
    """One call per example, stacked along axis 0 (the reference)."""
    pick = [
        (lambda a, b: a) if d is None else (lambda a, b, d=d: numpy.take(a, b, d)) for d in axes
    ]
    return numpy.stack([fun(*(p(a, b) for p, a in zip(pick, args, strict=True))) for b in range(B)])


def _inputs(axes):
    """`X` and `I` with the batch on the given axes (None: the first example, shared)."""
    return [
        a[0] if d is None else numpy.moveaxis(a, 0, d) for a, d in zip((X, I), axes, strict=True)
    ]


KEYS = {
    "array_after_slice": lambda x, i: cr.at(x)[:, i].get(),
    "zero_d_array": lambda x, i: cr.at(x)[i[0], :].get(),
    "array_2d": lambda x, i: cr.at(x)[:, i[None]].get(),
    "array_then_none": lambda x, i: cr.at(x)[i[:1], :, None].get(),
    "separated_to_front": lambda x, i: cr.at(x)[i, 1:3, i[::-1]].get(),
    "none_int_array": lambda x, i: cr.at(x)[None, 2, i].get(),
    "none_between": lambda x, i: cr.at(x)[i[0], None, i[1]].get(),
    "static_mask_and_array": lambda x, i: cr.at(x)[
        numpy.array([True, False, False, True]), :, i
    ].get(),
    "take": lambda x, i: np.take(x, i, axis=1),
    "take_flat_wrap": lambda x, i: np.take(x, i * 7, mode="wrap"),
    "take_clip": lambda x, i: np.take(x, i * 3, axis=-1, mode="clip"),
}
AXES = [(0, 0), (None, 0), (0, None), (2, 1), (3, None)]


@pytest.mark.parametrize("name", KEYS)
@pytest.mark.parametrize("axes", AXES, ids=str)
def test_batched_indices_match_a_loop(name, axes):
    fun = KEYS[name]
    inputs = _inputs(axes)
    expected = _loop(fun, inputs, axes)
    got = cr.vmap(fun, in_axes=axes)(*inputs)
    assert got.shape == expected.shape
    numpy.testing.assert_array_equal(got, expected)
    if axes[0] is not None:  # per-example gradients through the batched gather
        per = cr.grad(lambda x, i: np.sum(fun(x, i) ** 2))
        numpy.testing.assert_allclose(
            cr.vmap(per, in_axes=axes)(*inputs), _loop(per, inputs, axes), rtol=1e-12
        )


def test_labels_pick_each_examples_log_probability():
    logp = rng.standard_normal((B, 10))
    y = numpy.array([3, 7, 1, 7])
    numpy.testing.assert_array_equal(cr.vmap(lambda l, k: l[k])(logp, y), logp[numpy.arange(B), y])
    g = cr.vmap(cr.grad(lambda l, k: -l[k]))(logp, y)
    expected = numpy.zeros((B, 10))
    expected[numpy.arange(B), y] = -1.0
    numpy.testing.assert_array_equal(g, expected)


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: np.take_along_axis(x, np.argsort(x, axis=0), axis=0),
        lambda x: np.sort(x, axis=-1),
        lambda x: np.sort(x, axis=None),
        lambda x: x[np.argmax(x[:, 0])],
        lambda x: np.partition(x, 2, axis=1),
        lambda x: np.max(x, axis=1) - x.ravel()[np.argmin(x)],
    ],
)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gathers_by_computed_indices(fun, axis):
    xs = rng.standard_normal((3, 5, B))
    xs = numpy.moveaxis(xs, -1, axis)
    examples = [numpy.take(xs, b, axis) for b in range(B)]
    expected = numpy.stack([fun(e) for e in examples])
    numpy.testing.assert_array_equal(cr.vmap(fun, in_axes=axis)(xs), expected)
    per = cr.grad(lambda x: np.sum(fun(x) * numpy.arange(1.0, 1.0 + numpy.size(fun(x)))
                                   .reshape(numpy.shape(fun(x)))))  # fmt: skip
    numpy.testing.assert_array_equal(
        cr.vmap(per, in_axes=axis)(xs), numpy.stack([per(e) for e in examples])
    )


def test_arg_functions_batch():
    xs = rng.standard_normal((B, 5))
    numpy.testing.assert_array_equal(cr.vmap(np.argsort)(xs), numpy.argsort(xs, axis=1))
    numpy.testing.assert_array_equal(cr.vmap(np.argmax, in_axes=1)(xs.T), numpy.argmax(xs, 1))


def _counting(monkeypatch, prim):
    calls = []
    impl = prim.impl

    def counted(*args, **params):
        calls.append(args)
        return impl(*args, **params)

    monkeypatch.setattr(prim, "impl", counted)
    return calls


def test_a_batch_of_indices_is_one_fancy_index_and_one_scatter(monkeypatch):
    logp = rng.standard_normal((64, 10))
    y = rng.integers(0, 10, 64)
    gathers = _counting(monkeypatch, indexing.getitem)
    scatters = _counting(monkeypatch, indexing.scatter_add)
    g = cr.vmap(cr.grad(lambda l, k: -l[k]))(logp, y)
    assert len(gathers) == 1 and len(scatters) == 1
    assert g.shape == (64, 10)


@pytest.mark.parametrize(
    ("fun", "in_axis", "out_dim"),
    [
        (lambda x: x[1], 1, 0),  # a basic index: the batch goes first, as a view
        (lambda x: x[:, [0, 2, 2]], 2, 1),  # adjacent advanced: batch just before them
        (lambda x: x[[0, 1], :, [1, 3]], 0, 1),  # separated: advanced axes, then the batch
    ],
)
def test_batch_axis_lands_before_the_advanced_axes(fun, in_axis, out_dim):
    xs = numpy.moveaxis(rng.standard_normal((B, 3, 4, 5)), 0, in_axis)
    rule = indexing.getitem.batch
    seen = []

    def spy(args, dims, **params):
        out, d = rule(args, dims, **params)
        seen.append(d)
        return out, d

    indexing.getitem.batch = spy
    try:
        out = cr.vmap(fun, in_axes=in_axis)(xs)
    finally:
        indexing.getitem.batch = rule
    assert seen == [out_dim]
    numpy.testing.assert_array_equal(
        out, numpy.stack([fun(numpy.take(xs, b, in_axis)) for b in range(B)])
    )


@pytest.mark.parametrize("op", ["add", "subtract", "set"])
@pytest.mark.parametrize("axes", [(0, 0, 0), (None, 0, 0), (0, None, 0), (0, 0, None), (2, 1, 1)])
def test_at_updates_with_batched_indices(op, axes):
    xs = rng.standard_normal((B, 5, 3))
    vs = rng.standard_normal((B, 3, 3))
    idx = rng.integers(0, 5, (B, 3))
    idx[0] = [1, 1, 1]  # repeated: `add` accumulates, `set` keeps the last
    idx[1] = [2, 0, 2]

    def fun(x, i, v):
        return getattr(cr.at(x)[i], op)(v)

    args = [xs, idx, vs]
    ins = [a[0] if d is None else numpy.moveaxis(a, 0, d) for a, d in zip(args, axes, strict=True)]
    expected = _loop(fun, ins, axes)
    # (a batched `add` sums the repeats before adding them to `x`: another order of the
    # same at most 4 terms, so a few ulps of their magnitudes apart)
    scale = numpy.abs(xs).max() + 3 * numpy.abs(vs).max()
    numpy.testing.assert_allclose(
        cr.vmap(fun, in_axes=axes)(*ins), expected, rtol=0, atol=8 * numpy.finfo(float).eps * scale
    )
    if axes[0] is not None and axes[2] is not None:
        per = cr.grad(lambda x, i, v: np.sum(fun(x, i, v) ** 2), argnums=(0, 2))
        got = cr.vmap(per, in_axes=axes)(*ins)
        want = [per(*(a if d is None else numpy.take(a, b, d) for a, d in zip(ins, axes, strict=True)))
                for b in range(B)]  # fmt: skip
        for k in range(2):
            numpy.testing.assert_allclose(got[k], numpy.stack([w[k] for w in want]), rtol=1e-14)


def test_at_set_with_batched_repeats_keeps_the_last():
    out = cr.vmap(lambda i: cr.at(numpy.zeros(3))[i].set(numpy.array([1.0, 2.0, 3.0])))(
        numpy.array([[0, 0, 0], [2, 1, 2]])
    )
    numpy.testing.assert_array_equal(out, [[3.0, 0.0, 0.0], [0.0, 2.0, 3.0]])


@pytest.mark.parametrize("dtype", [numpy.int64, numpy.float32, numpy.complex64])
@pytest.mark.parametrize("op", ["set", "add"])
def test_at_update_with_batched_indices_keeps_the_dtype(op, dtype):
    xs = numpy.arange(12).reshape(3, 4).astype(dtype)
    idx = numpy.array([[0, 1], [2, 2], [3, 0]])

    def fun(x, i):
        return getattr(cr.at(x)[i], op)(7)

    out = cr.vmap(fun)(xs, idx)
    expected = numpy.stack([fun(x, i) for x, i in zip(xs, idx, strict=True)])
    assert out.dtype == expected.dtype == dtype
    numpy.testing.assert_array_equal(out, expected)


def test_at_multiply_with_batched_indices_raises():
    with pytest.raises(TypeError, match=r"multiply\(\).*Use \.add\(\)"):
        cr.vmap(lambda x, i: x.at[i].multiply(2.0))(numpy.ones((2, 3)), numpy.array([0, 1]))


@pytest.mark.parametrize(
    "fun",
    [lambda x: x[x > 0], lambda x: np.unique(x), lambda x: np.bincount(np.astype(x > 0, int))],
    ids=["mask", "unique", "bincount"],
)
def test_value_shaped_results_raise(fun):
    with pytest.raises(TypeError, match=r"chainrule\.vmap.*cannot be stacked"):
        cr.vmap(fun)(rng.standard_normal((3, 4)))


def test_float_index_from_each_example_raises():
    with pytest.raises(IndexError, match="integer"):
        cr.vmap(lambda x: x[np.floor(x[0])])(numpy.ones((2, 3)))


def test_concatenate_with_a_shared_piece_and_split_keep_the_batch():
    xs = rng.standard_normal((3, B))  # the batch last
    shared = numpy.array([10.0, 20.0])

    def fun(x):
        a, b = np.split(np.concatenate([x, shared, x * x]), [4])
        return np.stack([a[:2], b[:2]])

    expected = numpy.stack([fun(xs[:, b]) for b in range(B)])
    numpy.testing.assert_array_equal(cr.vmap(fun, in_axes=1)(xs), expected)
    pieces = cr.vmap(lambda x: tuple(np.split(x, 2, axis=1)), in_axes=2)(X.transpose(1, 2, 0, 3))
    numpy.testing.assert_array_equal(pieces[1], X[:, :, 3:])


def test_masks_combine_and_select_under_vmap():
    xs = rng.standard_normal((B, 6))

    def fun(x):
        inside = (x > -0.5) & ~(x > 0.5) | (x == 0) ^ (x < -3)
        return np.select([inside, x > 0], [x * 2.0, x**2], default=-x)

    numpy.testing.assert_array_equal(cr.vmap(fun)(xs), numpy.stack([fun(x) for x in xs]))


def test_methods_see_one_example():
    xs = rng.standard_normal((2, 3, B, 5))

    def fun(x):
        assert x.shape == (2, 3, 5) and len(x) == 2 and x.ndim == 3
        rows = [row.sum() for row in x]
        return x.mT[0].T + x.T[:, :, 1].T[1] + rows[1]

    expected = numpy.stack([fun(xs[:, :, b]) for b in range(B)])
    # (the batched row sums add 15 terms in another order: 15 eps of their absolute sum)
    numpy.testing.assert_allclose(cr.vmap(fun, in_axes=2)(xs), expected, rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="ndim < 2"):
        cr.vmap(lambda x: x.mT)(numpy.ones((2, 3)))


def test_take_is_a_method_of_traced_values_too():
    x = numpy.arange(12.0).reshape(3, 4)
    idx = numpy.array([[0, 3], [2, 2], [1, 0]])
    got = cr.vmap(lambda v, i: v.take(i, axis=0))(x, idx)
    numpy.testing.assert_array_equal(
        got, numpy.stack([v.take(i) for v, i in zip(x, idx, strict=True)])
    )
    grad = cr.grad(lambda v: v.take([0, 0, 2]).sum())(numpy.zeros(3))
    numpy.testing.assert_array_equal(grad, [2.0, 0.0, 1.0])


def test_integer_casts_of_a_batch():
    xs = rng.standard_normal((B, 3)) * 3
    got = cr.vmap(lambda x: (np.astype(x, int), x.astype(bool), np.astype(x > 0, numpy.int8)))(xs)
    for g, e in zip(
        got, (xs.astype(int), xs.astype(bool), (xs > 0).astype(numpy.int8)), strict=True
    ):
        assert g.dtype == e.dtype
        numpy.testing.assert_array_equal(g, e)


def test_full_like_of_a_batch_is_one_examples_shape():
    out = cr.vmap(lambda x: x + np.full_like(x, 2.0, dtype=numpy.float32))(numpy.ones((2, 3)))
    numpy.testing.assert_array_equal(out, numpy.full((2, 3), 3.0))
    assert cr.vmap(lambda x: np.full_like(x, 1))(numpy.ones((2, 3), int)).shape == (2, 3)


def test_batched_indices_compose():
    xs = rng.standard_normal((3, 2, 5, 4))
    idx = rng.integers(0, 5, (3, 2, 3))

    def f(x, i):
        return x[i] * 2.0

    def loop2(fun, *args):
        return numpy.stack([numpy.stack([fun(*(a[p, q] for a in args)) for q in range(2)])
                            for p in range(3)])  # fmt: skip

    numpy.testing.assert_array_equal(cr.vmap(cr.vmap(f))(xs, idx), loop2(f, xs, idx))
    crossed = cr.vmap(cr.vmap(f, in_axes=(0, None)), in_axes=(None, 0))(xs[0], idx[:, 0])
    expected = numpy.stack([numpy.stack([f(xs[0, q], idx[p, 0]) for q in range(2)])
                            for p in range(3)])  # fmt: skip
    numpy.testing.assert_array_equal(crossed, expected)
    x, i = xs[:, 0], idx[:, 0]
    t = numpy.ones((5, 4))
    tangents = cr.vmap(lambda x, i: cr.jvp(lambda x: f(x, i), (x,), (t,))[1])(x, i)
    numpy.testing.assert_array_equal(tangents, numpy.stack([2.0 * t[k] for k in i]))
    summed = cr.grad(lambda x: np.sum(cr.vmap(f)(x, i) ** 2))(x)
    per = cr.grad(lambda x, i: np.sum(f(x, i) ** 2))
    numpy.testing.assert_array_equal(
        summed, numpy.stack([per(a, k) for a, k in zip(x, i, strict=True)])
    )
    jac = cr.vmap(cr.jacrev(f))(x, i)
    numpy.testing.assert_array_equal(
        jac, numpy.stack([cr.jacfwd(f)(a, k) for a, k in zip(x, i, strict=True)])
    )


@pytest.mark.parametrize("op", ["set", "add", "subtract", "multiply", "divide", "min", "max"])
def test_at_updates_by_a_batched_mask_and_one_value_are_where(op):
    xs = rng.standard_normal((B, 3, 5))

    def whole(x):
        return getattr(cr.at(x)[x > 0], op)(0.5)

    def rows(x):  # a mask over the leading axis, a one-entry value
        return getattr(cr.at(x)[x[:, 0] > 0], op)(np.array([0.5]))

    for fun in (whole, rows):
        numpy.testing.assert_array_equal(cr.vmap(fun)(xs), numpy.stack([fun(x) for x in xs]))
        per = cr.grad(lambda x, fun=fun: np.sum(fun(x) ** 2))
        numpy.testing.assert_array_equal(cr.vmap(per)(xs), numpy.stack([per(x) for x in xs]))


def test_at_update_by_a_batched_mask_needs_one_value():
    with pytest.raises(TypeError, match=r"takes one value.*np\.where"):
        cr.vmap(lambda x: x.at[x > 0].set(x))(numpy.ones((2, 3)))
