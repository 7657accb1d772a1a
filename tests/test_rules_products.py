"""Products (dot, matmul, vdot, inner, outer, tensordot, einsum, kron, cross): forward and
reverse to second order, batched Jacobians, float32, values against NumPy, and errors."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.check import numerical_jacobian
from rulecheck import check_rule

rng = numpy.random.default_rng(0)


def r(*shape: int) -> numpy.ndarray:
    return rng.standard_normal(shape)


# (name, function, arguments): every argument is differentiated.
CASES = [
    # matmul: matrices, vectors, stacks, broadcast leading axes (summed out of the cotangent).
    ("matmul_2d", np.matmul, (r(3, 4), r(4, 2))),
    ("matmul_mat_vec", np.matmul, (r(3, 4), r(4))),
    ("matmul_vec_mat", np.matmul, (r(4), r(4, 2))),
    ("matmul_vec_vec", np.matmul, (r(4), r(4))),
    ("matmul_stacks", np.matmul, (r(2, 3, 4), r(2, 4, 2))),
    ("matmul_broadcast_lead", np.matmul, (r(2, 1, 3, 4), r(3, 4, 2))),
    ("matmul_broadcast_ones", np.matmul, (r(1, 3, 4), r(2, 4, 2))),
    ("matmul_stack_mat", np.matmul, (r(2, 3, 4), r(4, 2))),
    ("matmul_mat_stack", np.matmul, (r(3, 4), r(2, 4, 2))),
    ("matmul_vec_stack", np.matmul, (r(4), r(2, 4, 3))),
    ("matmul_stack_vec", np.matmul, (r(2, 3, 4), r(4))),
    ("matmul_bstack_vec", np.matmul, (r(2, 1, 3, 4), r(4))),
    ("matmul_vec_bstack", np.matmul, (r(4), r(1, 2, 4, 3))),
    ("matmul_operator", lambda a, b: a @ b, (r(3, 4), r(4, 2))),
    ("matmul_numpy_ufunc", lambda a, b: numpy.matmul(a, b), (r(2, 3), r(3, 2))),
    ("matmul_chain", lambda a, b: np.tanh(a @ b) @ b.T, (r(3, 4), r(4, 4))),
    # dot: NumPy's N-d rule differs from matmul's.
    ("dot_scalar_mat", np.dot, (numpy.array(1.3), r(2, 3))),
    ("dot_vec_scalar", np.dot, (r(3), numpy.array(-0.7))),
    ("dot_vec_vec", np.dot, (r(4), r(4))),
    ("dot_mat_vec", np.dot, (r(3, 4), r(4))),
    ("dot_vec_mat", np.dot, (r(4), r(4, 2))),
    ("dot_mat_mat", np.dot, (r(3, 4), r(4, 2))),
    ("dot_3d_vec", np.dot, (r(2, 3, 4), r(4))),
    ("dot_3d_mat", np.dot, (r(2, 3, 4), r(4, 2))),
    ("dot_3d_3d", np.dot, (r(2, 3, 4), r(3, 4, 2))),
    ("dot_vec_3d", np.dot, (r(3), r(2, 3, 2))),
    ("dot_method", lambda a: a.dot(a[0]), (r(3, 3),)),  # ndarray.dot(traced) cannot dispatch
    # vdot, inner, outer
    ("vdot_vec", np.vdot, (r(4), r(4))),
    ("vdot_mat", np.vdot, (r(2, 3), r(3, 2))),
    ("vdot_scalar", np.vdot, (numpy.array(0.8), numpy.array(-1.1))),
    ("inner_vec", np.inner, (r(4), r(4))),
    ("inner_mat_mat", np.inner, (r(2, 3), r(4, 3))),
    ("inner_3d_vec", np.inner, (r(2, 2, 3), r(3))),
    ("inner_scalar", np.inner, (numpy.array(1.7), r(2, 3))),
    ("outer_vec", np.outer, (r(3), r(4))),
    ("outer_flattens", np.outer, (r(2, 2), r(3))),
    ("outer_scalar", np.outer, (numpy.array(0.9), r(3))),
    # tensordot: int axes and pairs of axis lists.
    ("tensordot_2", np.tensordot, (r(2, 3, 4), r(3, 4, 2))),
    ("tensordot_1", lambda a, b: np.tensordot(a, b, 1), (r(2, 3), r(3, 2, 2))),
    ("tensordot_0", lambda a, b: np.tensordot(a, b, 0), (r(2), r(3))),
    ("tensordot_scalar", lambda a, b: np.tensordot(a, b, 0), (numpy.array(1.2), r(2, 3))),
    (
        "tensordot_lists",
        lambda a, b: np.tensordot(a, b, ([1, 0], [0, 2])),
        (r(3, 2, 2), r(2, 4, 3)),
    ),
    ("tensordot_ints", lambda a, b: np.tensordot(a, b, (0, 1)), (r(3, 2), r(2, 3))),
    ("tensordot_negative", lambda a, b: np.tensordot(a, b, ([-1], [-2])), (r(2, 3), r(3, 3, 2))),
    # einsum
    ("einsum_matmul", lambda a, b: np.einsum("ij,jk->ik", a, b), (r(3, 4), r(4, 2))),
    ("einsum_trace", lambda a: np.einsum("ii", a), (r(3, 3),)),
    ("einsum_diag", lambda a: np.einsum("ii->i", a), (r(3, 3),)),
    ("einsum_diag_3", lambda a: np.einsum("iii->i", a), (r(2, 2, 2),)),
    ("einsum_diag_sum", lambda a: np.einsum("iij->j", a), (r(2, 2, 3),)),
    ("einsum_outer", lambda a, b: np.einsum("i,j->ij", a, b), (r(3), r(2))),
    ("einsum_batch", lambda a, b: np.einsum("bij,bjk->bik", a, b), (r(2, 3, 4), r(2, 4, 2))),
    (
        "einsum_ellipsis",
        lambda a, b: np.einsum("...ij,...jk->...ik", a, b),
        (r(2, 1, 3, 4), r(3, 4, 2)),
    ),
    ("einsum_ellipsis_mixed", lambda a, b: np.einsum("i...,i...->...", a, b), (r(3, 2), r(3, 1))),
    ("einsum_implicit", lambda a, b: np.einsum("ij,jk", a, b), (r(3, 4), r(4, 2))),
    ("einsum_implicit_order", lambda a, b: np.einsum("kj,ji", a, b), (r(3, 4), r(4, 2))),
    ("einsum_implicit_ellipsis", lambda a: np.einsum("i...", a), (r(2, 3, 2),)),
    ("einsum_sum", lambda a: np.einsum("ij->", a), (r(3, 4),)),
    ("einsum_sum_axis", lambda a: np.einsum("ij->j", a), (r(3, 4),)),
    ("einsum_transpose", lambda a: np.einsum("ijk->kij", a), (r(2, 3, 4),)),
    (
        "einsum_three",
        lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c),
        (r(2, 3), r(3, 4), r(4, 2)),
    ),
    ("einsum_three_shared", lambda a, b, c: np.einsum("i,i,i->", a, b, c), (r(3), r(3), r(3))),
    ("einsum_hadamard", lambda a, b: np.einsum("ij,ij->ij", a, b), (r(2, 3), r(2, 3))),
    ("einsum_broadcast_one", lambda a, b: np.einsum("ij,ij->i", a, b), (r(2, 1), r(2, 3))),
    ("einsum_scalar", lambda s, a: np.einsum(",ij->ji", s, a), (numpy.array(1.4), r(2, 3))),
    ("einsum_sublists", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [2, 0]), (r(3, 4), r(4, 2))),
    ("einsum_sublists_implicit", lambda a, b: np.einsum(a, [Ellipsis, 0], b, [0]), (r(2, 3), r(3))),
    (
        "einsum_optimize",
        lambda a, b, c: np.einsum("ij,jk,kl->li", a, b, c, optimize=True),
        (r(2, 3), r(3, 4), r(4, 2)),
    ),
    ("einsum_quadratic", lambda a, x: np.einsum("i,ij,j", x, a, x), (r(3, 3), r(3))),
    # kron
    ("kron_mat", np.kron, (r(2, 3), r(2, 2))),
    ("kron_vec", np.kron, (r(2), r(3))),
    ("kron_vec_mat", np.kron, (r(3), r(2, 2))),
    ("kron_scalar", np.kron, (numpy.array(0.6), r(2, 2))),
    ("kron_scalars", np.kron, (numpy.array(0.6), numpy.array(-1.5))),
    ("kron_3d", np.kron, (r(2, 1, 2), r(1, 2, 2))),
    # cross
    ("cross_3", np.cross, (r(3), r(3))),
    ("cross_broadcast", np.cross, (r(4, 3), r(3))),
    ("cross_stack_broadcast", np.cross, (r(2, 1, 3), r(4, 3))),
    ("cross_axes", lambda a, b: np.cross(a, b, axisa=0, axisb=1, axisc=0), (r(3, 4), r(4, 3))),
    ("cross_axis", lambda a, b: np.cross(a, b, axis=0), (r(3, 2), r(3, 2))),
    ("cross_2", np.cross, (r(2), r(2))),
    ("cross_2_stack", np.cross, (r(4, 2), r(4, 2))),
    ("cross_2_3", np.cross, (r(2), r(4, 3))),
]


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
@pytest.mark.parametrize(("name", "fun", "args"), CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, fun, args) -> None:
    check_rule(fun, *args)


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
@pytest.mark.parametrize(("name", "fun", "args"), CASES, ids=[c[0] for c in CASES])
def test_batched_second_order(name: str, fun, args) -> None:
    """Hessians by all four mode pairs (batched tangents through the rules' own rules) agree
    with central differences of the gradient."""
    args = tuple(numpy.asarray(a, float) for a in args)
    w = numpy.random.default_rng(1).standard_normal(numpy.shape(fun(*args)))
    for i in range(len(args)):

        def s(x, i=i):
            return np.sum(np.sin(fun(*args[:i], x, *args[i + 1 :])) * w)

        ref = numerical_jacobian(cr.grad(s), args[i], h=1e-5)
        for outer in (cr.jacfwd, cr.jacrev):
            for inner in (cr.jacfwd, cr.jacrev):
                hess = numpy.asarray(outer(inner(s))(args[i]))
                numpy.testing.assert_allclose(hess.reshape(ref.shape), ref, atol=1e-6, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
@pytest.mark.parametrize(("name", "fun", "args"), CASES, ids=[c[0] for c in CASES])
def test_traced_value_is_numpys(name: str, fun, args) -> None:
    """On plain arrays the NumPy function runs; traced, the rewritten form gives its value."""
    plain = fun(*args)
    assert type(plain) in (numpy.ndarray, numpy.float64)
    traced, _ = cr.jvp(fun, args, tuple(numpy.ones_like(a) for a in args))
    numpy.testing.assert_allclose(traced, plain, rtol=1e-12, atol=1e-12)
    assert numpy.shape(traced) == numpy.shape(plain)


def test_plain_path_is_numpy() -> None:
    """No rewriting on plain arrays: matmul is NumPy's ufunc, the others call NumPy first."""
    assert np.matmul.impl is numpy.matmul
    a, b = r(3, 4, 5), r(2, 5, 4)
    numpy.testing.assert_array_equal(np.dot(a, b), numpy.dot(a, b))
    numpy.testing.assert_array_equal(
        np.tensordot(a, b, ([1, 2], [2, 1])), numpy.tensordot(a, b, ([1, 2], [2, 1]))
    )
    numpy.testing.assert_array_equal(
        np.einsum("ijk,lkj->il", a, b), numpy.einsum("ijk,lkj->il", a, b)
    )
    out = numpy.empty((3, 4, 2, 4))
    assert np.dot(a, b, out) is out


def test_numpy_functions_dispatch_to_rules() -> None:
    a, b = r(2, 3), r(3)
    for f in (numpy.dot, numpy.inner, numpy.vdot, numpy.outer, numpy.kron):
        g = cr.grad(lambda x, f=f: np.sum(f(x, x)))(b)
        numpy.testing.assert_allclose(
            g, cr.grad(lambda x, f=f: np.sum(getattr(np, f.__name__)(x, x)))(b)
        )
    g = cr.grad(lambda x: numpy.sum(numpy.tensordot(x, x, 1)))(b)
    numpy.testing.assert_allclose(g, 2.0 * b)
    g = cr.grad(lambda x: np.sum(numpy.einsum("ij,j->i", x, b)))(a)
    numpy.testing.assert_allclose(g, numpy.broadcast_to(b, (2, 3)))


def test_exact_gradients() -> None:
    a, b = numpy.arange(6.0).reshape(2, 3), numpy.arange(12.0).reshape(3, 4)
    ga, gb = cr.grad(lambda x, y: np.sum(x @ y), argnums=(0, 1))(a, b)
    numpy.testing.assert_array_equal(ga, numpy.ones((2, 4)) @ b.T)
    numpy.testing.assert_array_equal(gb, a.T @ numpy.ones((2, 4)))
    # A broadcast operand receives the sum over the stack it was broadcast against.
    stack = numpy.arange(24.0).reshape(2, 3, 4)
    g = cr.grad(lambda x: np.sum(x @ stack))(numpy.ones((1, 5, 3)))
    numpy.testing.assert_array_equal(g[0], numpy.ones((5, 4)) @ stack.sum(0).T)
    # Trace and diagonal: the cotangent lands on the diagonal only.
    m = numpy.arange(9.0).reshape(3, 3)
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.einsum("ii", x))(m), numpy.eye(3))
    w = numpy.array([1.0, 2.0, 3.0])
    g = cr.grad(lambda x: np.sum(np.einsum("ii->i", x) * w))(m)
    numpy.testing.assert_array_equal(g, numpy.diag(w))
    numpy.testing.assert_array_equal(cr.grad(lambda x: np.einsum("ij->", x))(m), numpy.ones((3, 3)))
    # Cross product: d/da (a × b)·g = b × g.
    u, v, e = numpy.array([1.0, 0, 0]), numpy.array([0, 1.0, 0]), numpy.array([0, 0, 1.0])
    numpy.testing.assert_array_equal(
        cr.grad(lambda x: np.dot(np.cross(x, v), e))(u), numpy.cross(v, e)
    )


def test_hessian_of_quadratic_form() -> None:
    a = r(3, 3)
    x = r(3)
    for f in (
        lambda x: x @ a @ x,
        lambda x: np.einsum("i,ij,j", x, a, x),
        lambda x: np.dot(x, np.dot(a, x)),
        lambda x: np.inner(x, np.tensordot(a, x, 1)),
    ):
        numpy.testing.assert_allclose(cr.hessian(f)(x), a + a.T, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32() -> None:
    a, b = r(2, 3, 4).astype(numpy.float32), r(4, 2).astype(numpy.float32)
    for f in (
        np.matmul,
        np.dot,
        lambda x, y: np.einsum("bij,jk->bki", x, y),
        lambda x, y: np.tensordot(x, y, 1),
        lambda x, y: np.kron(x[0], y),
    ):
        jac = cr.jacfwd(f, argnums=(0, 1))(a, b)
        assert all(j.dtype == numpy.float32 for j in jac)
        grads = cr.grad(lambda x, y, f=f: np.sum(f(x, y)), argnums=(0, 1))(a, b)
        assert all(g.dtype == numpy.float32 for g in grads)
    g = cr.grad(lambda x: np.einsum("ii", x))(numpy.eye(2, dtype=numpy.float32))
    assert g.dtype == numpy.float32


def test_errors() -> None:
    a = r(3, 3)
    with pytest.raises(TypeError, match="out="):
        cr.grad(lambda x: np.sum(np.dot(x, x, numpy.empty((3, 3)))))(a)
    with pytest.raises(TypeError, match="not supported on traced values"):
        cr.grad(lambda x: np.einsum("ij->", x, out=numpy.empty(())))(a)
    with pytest.raises(ValueError, match="shape-mismatch"):
        cr.grad(lambda x: np.sum(np.tensordot(x, r(2, 3), ([1], [0]))))(a)
    with pytest.raises(ValueError, match="shape-mismatch"):
        cr.grad(lambda x: np.sum(np.inner(x, r(2))))(a)
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        cr.grad(lambda x: np.sum(np.cross(x, r(4))))(r(4))
    with pytest.raises(ValueError, match="subscripts"):
        cr.grad(lambda x: np.sum(np.einsum("ij,jk->ik", x)))(a)
    with pytest.raises(ValueError):
        cr.grad(lambda x: np.sum(np.matmul(x, r(4, 2))))(a)
    for transform in (cr.grad, lambda f: cr.jacfwd(f)):
        with pytest.raises(TypeError, match="not supported on traced values"):
            transform(lambda x: np.sum(np.matmul(x, x, dtype=numpy.float64)))(a)


# ---------------------------------------------------------------------------- vmap


@pytest.fixture
def matmul_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[int, ...], ...]]:
    """The operand shapes of every NumPy matmul that chainrule's matmul primitive runs."""
    from chainrule.numpy.rules import products

    calls: list[tuple[tuple[int, ...], ...]] = []

    def recorded(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
        calls.append((numpy.shape(a), numpy.shape(b)))
        return numpy.matmul(a, b)

    monkeypatch.setattr(products.matmul, "impl", recorded)
    return calls


def test_vmap_of_a_layer_is_one_matrix_product(matmul_calls: list) -> None:
    # W @ x for every x (the per-example MLP): one (B, k) @ (k, n) product, no loop.
    w, xs = r(5, 4), r(7, 4)
    out = cr.vmap(lambda x: w @ x)(xs)
    assert matmul_calls == [((7, 4), (4, 5))]
    numpy.testing.assert_allclose(out, xs @ w.T, rtol=1e-13)
    matmul_calls.clear()
    cr.vmap(lambda x: x @ w.T)(xs)
    assert matmul_calls == [((7, 4), (4, 5))]
    matmul_calls.clear()
    out = cr.vmap(lambda x: w @ x, in_axes=1, out_axes=1)(xs.T)  # examples as columns
    assert matmul_calls == [((5, 4), (4, 7))]  # W @ X, nothing transposed
    numpy.testing.assert_allclose(out, w @ xs.T, rtol=1e-13)


def test_vmap_folds_a_batch_of_matrices_beside_a_shared_one(matmul_calls: list) -> None:
    w, xs = r(4, 2), r(6, 3, 4)
    out = cr.vmap(lambda x: x @ w)(xs)
    assert matmul_calls == [((18, 4), (4, 2))]  # every row of every example at once
    numpy.testing.assert_allclose(out, xs @ w, rtol=1e-13)
    matmul_calls.clear()
    v = r(5, 3)
    out = cr.vmap(lambda x: v @ x, in_axes=2)(numpy.moveaxis(xs, 0, 2))  # batch on axis 2
    assert matmul_calls == [((5, 3), (3, 24))]  # every column of every example at once
    numpy.testing.assert_allclose(out, v @ xs, rtol=1e-13)
    matmul_calls.clear()
    middle = numpy.moveaxis(xs, 0, 1)  # (3, 6, 4): the batch between the rows and the columns
    out = cr.vmap(lambda x: x @ w, in_axes=1, out_axes=1)(middle)
    assert matmul_calls == [((18, 4), (4, 2))]  # the batch stays where it is
    numpy.testing.assert_allclose(out, middle @ w, rtol=1e-13)


def test_vmap_of_grad_has_no_loop_over_the_batch(matmul_calls: list) -> None:
    # Per-example gradients of a layer: as many products for 3 examples as for 9.
    w = r(3, 4)

    def loss(w: numpy.ndarray, x: numpy.ndarray) -> numpy.ndarray:
        return np.sum(np.tanh(w @ x) ** 2)

    counts = []
    for size in (3, 9):
        matmul_calls.clear()
        xs = r(size, 4)
        got = cr.vmap(cr.grad(loss), in_axes=(None, 0))(w, xs)
        counts.append(len(matmul_calls))
        numpy.testing.assert_allclose(got, [cr.grad(loss)(w, x) for x in xs], rtol=1e-12)
    assert counts[0] == counts[1] == 1  # W @ x; W's gradient is a batch of outer products


def test_vmap_of_products_with_the_batch_on_a_contracted_axis() -> None:
    a, b = r(3, 4), r(3, 5)
    # The batch axis of `a` is its last: each example a column, contracted with `b`'s rows.
    got = cr.vmap(lambda x: np.dot(x, b), in_axes=1)(a)
    numpy.testing.assert_allclose(got, a.T @ b, rtol=1e-13)
    got = cr.vmap(lambda x: np.einsum("i,ij->j", x, b), in_axes=1)(a)
    numpy.testing.assert_allclose(got, a.T @ b, rtol=1e-13)
    got = cr.vmap(np.inner, in_axes=(1, None))(a, a[:, 0])
    numpy.testing.assert_allclose(got, a.T @ a[:, 0], rtol=1e-13)
    got = cr.vmap(np.outer, in_axes=(0, None), out_axes=2)(a, b[0])
    numpy.testing.assert_allclose(got, numpy.einsum("bi,j->ijb", a, b[0]), rtol=1e-13)


def test_matrix_vector_cotangent_is_an_outer_product(matmul_calls: list) -> None:
    # The matrix operand of W @ h (an RNN step) gets g h^T as a broadcast product, not a
    # matmul with K = 1 (1.3-1.8x slower); only h's cotangent W^T g is a matmul.
    w, h, g = r(5, 4), r(4), r(5)
    _, pullback = cr.vjp(np.matmul, w, h)
    matmul_calls.clear()
    gw, gh = pullback(g)
    assert len(matmul_calls) == 1 and matmul_calls[0][0] == (4, 5)  # W^T g
    numpy.testing.assert_allclose(gw, numpy.outer(g, h), rtol=1e-15)
    numpy.testing.assert_allclose(gh, w.T @ g, rtol=1e-14)
    _, pullback = cr.vjp(np.matmul, h, w.T)  # h @ W^T: the mirror image
    matmul_calls.clear()
    gh, gwt = pullback(g)
    assert len(matmul_calls) == 1 and matmul_calls[0][1] == (5, 4)  # g W
    numpy.testing.assert_allclose(gwt, numpy.outer(h, g), rtol=1e-15)
    numpy.testing.assert_allclose(gh, g @ w, rtol=1e-14)


def test_the_tape_keeps_the_operands_not_the_product() -> None:
    import weakref

    kept = []

    def f(w, x):
        y = w @ x
        kept.append(weakref.ref(y.value))
        return np.sum(np.exp(y))

    w, x = r(10_000, 4), r(4)  # a product of 80 kB, above `LEAN_BYTES`
    _, pullback = cr.vjp(f, w, x)
    assert kept[0]() is None  # matmul's rules read w and x only; exp keeps its result
    gw, gx = pullback(1.0)
    numpy.testing.assert_allclose(gx, w.T @ numpy.exp(w @ x), rtol=1e-14)
    numpy.testing.assert_allclose(gw, numpy.outer(numpy.exp(w @ x), x), rtol=1e-14)


def test_a_shared_matrix_times_a_batch_of_empty_matrices() -> None:
    """Found by fuzzing: vmap folded the batch into one product and unfolded it with a -1,
    which an empty product cannot resolve."""
    a, bs = numpy.ones((0, 3)), numpy.ones((4, 3, 0))
    want = numpy.stack([a @ b for b in bs])
    for mapped in (cr.vmap(lambda b: a @ b), cr.jit(cr.vmap(lambda b: a @ b))):
        assert mapped(bs).shape == want.shape == (4, 0, 0)


def test_grad_of_einsum_summing_an_empty_axis() -> None:
    """Found by fuzzing: the rule spread the cotangent back along a label of length 0 with
    no term carrying it, which NumPy's einsum refuses."""
    a = numpy.ones((0, 3))
    assert cr.grad(lambda a: np.sum(np.einsum("ij->j", a)))(a).shape == (0, 3)
