"""Products: dot, matmul, vdot, vecdot, inner, outer, tensordot, einsum, kron, cross.

Three primitives carry all the rules; the other functions are written with them (plus
reshape, transpose and multiply), so each derivative rule exists once:

- `matmul`, NumPy's own ufunc. Its rules are one matmul each (``g @ b.T``, ``a.T @ g``), with
  1-D operands promoted to matrices as NumPy does and broadcast leading axes summed out of
  the cotangent; the matrix operand of ``matrix @ vector`` (or ``vector @ matrix``) gets an
  outer product, a broadcast multiply, which is faster than a matmul with K = 1. `dot`, `vdot`, `inner` and `tensordot` reduce to it: `tensordot` moves the
  summed axes together and reshapes both operands to matrices, as NumPy itself does.
- an einsum primitive, whose rules are einsums again: the cotangent of operand ``k`` is the
  einsum of ``g`` with the other operands, written to ``k``'s labels. A label repeated in
  operand ``k`` (a diagonal, ``'ii'``) is written through an identity matrix, and a label
  found in no other operand nor the output (summed in ``k`` alone) through a vector of ones,
  which broadcasts the cotangent along it.
- a cross product of 3-vectors on the last axis, bilinear: ``a·(b × g)`` and ``b·(g × a)``
  give its cotangents. `cross` moves the vector axes there and pads 2-vectors with a zero
  (the z-component of a product of two 2-vectors is NumPy's scalar result).

`outer` and `kron` are broadcast products of reshaped operands, `vecdot` a sum of products.

Under `vmap` the three primitives batch as by hand: `matmul` folds a batch beside a shared
operand into one matrix product (``W @ x`` for every ``x`` is ``xs @ W.T``), `einsum` gives
the batch a label of its own, and the cross product takes the batch as a leading axis; the
other functions follow from them.
On plain arrays every public function is the NumPy function itself. Everything here is
smooth: no conventions to choose. Supported on traced values: the keyword arguments that
select axes (`axes`, `axisa`, `axisb`, `axisc`, `axis`), vecdot's `keepdims` and einsum's
`optimize`; `out=` and the other ufunc keywords raise.

On complex values every product is holomorphic, bilinear, and the same rules hold (JAX's
convention: transposes, never conjugate transposes), except `vdot` and `vecdot`, which
conjugate their first operand as NumPy does: they are written with `conjugate` (recorded
only for a complex operand), so ``holomorphic=True`` refuses them.
"""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.batching import defbatch
from chainrule.core.primitive import defjvp, defjvp_joint, defsaves, defvjp, primitive
from chainrule.core.trace import Tracer, dtype_of

from .common import (
    aligned,
    batch_ndim,
    conj_if_complex,
    elementwise_batch,
    lift,
    ndim_of,
    shape_of,
    to_front,
    unbroadcast,
)

Shape = tuple[int, ...]


def _traced(*args: Any) -> bool:
    return any(isinstance(a, Tracer) for a in args)


def _no_out(name: str, out: Any) -> None:
    if out is not None:
        raise TypeError(f"chainrule.numpy.{name}: `out=` is not supported on traced values")


def _reshape(x: Any, shape: Shape) -> Any:
    return x if shape_of(x) == shape else cnp.reshape(x, shape)


def _transpose(x: Any, axes: Sequence[int]) -> Any:
    axes = tuple(axes)
    return x if axes == tuple(range(len(axes))) else cnp.transpose(x, axes)


def _mT(x: Any) -> Any:
    """Swap the last two axes (leading axes, batch axes included, stay in place)."""
    if isinstance(x, np.ndarray):  # a plain value, as in any first-order pass: NumPy's view
        return x.swapaxes(-1, -2)
    n = ndim_of(x)
    return cnp.transpose(x) if n == 2 else cnp.transpose(x, (*range(n - 2), n - 1, n - 2))


def _sum_to(x: Any, shape: Shape) -> Any:
    """`x` summed down to `shape` over the axes broadcasting added (or stretched)."""
    return x if shape_of(x) == shape else unbroadcast(x, np.broadcast_to(np.False_, shape))


def _moveaxis(x: Any, source: int, destination: int) -> Any:
    n = ndim_of(x)
    order = [i for i in range(n) if i != source % n]
    order.insert(destination % n, source % n)
    return _transpose(x, order)


# ------------------------------------------------------------------------------------ matmul

matmul = primitive(np.matmul, "matmul")


def _check_params(params: dict[str, Any]) -> None:
    if params:
        raise TypeError(
            f"chainrule.numpy.matmul: keyword arguments {sorted(params)} are not supported on "
            "traced values"
        )


def _promoted(a: Any, b: Any) -> tuple[Shape, Shape]:
    """Operand shapes with 1-D operands made matrices: ``(k,) @ B`` is ``(1, k) @ B``, ``A @ (k,)``
    is ``A @ (k, 1)``."""
    sa, sb = shape_of(a), shape_of(b)
    return (1, *sa) if len(sa) == 1 else sa, (*sb, 1) if len(sb) == 1 else sb


def _promoted_out(g_shape: Shape, a: Any, b: Any) -> Shape:
    """The shape of matmul's result (or of a batch of them) before 1-D operands' axes drop."""
    if ndim_of(b) == 1:
        g_shape = (*g_shape, 1)
    if ndim_of(a) == 1:
        g_shape = (*g_shape[:-1], 1, g_shape[-1])
    return g_shape


def _matrices(a: Any, b: Any) -> bool:
    """Two plain matrices: the case of every dense layer, which needs no reshaping."""
    return ndim_of(a) == 2 and ndim_of(b) == 2


def _matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any, **params: Any) -> Any:
    _check_params(params)
    if _matrices(a, b):
        return matmul(g, _mT(b))
    if ndim_of(b) == 1 and ndim_of(a) >= 2:  # matrices @ vector: an outer product, not K = 1
        return cnp.multiply(cnp.reshape(g, (*shape_of(g), 1)), b)
    sa, sb = _promoted(a, b)
    g2 = _reshape(g, _promoted_out(shape_of(g), a, b))
    return _reshape(_sum_to(matmul(g2, _mT(_reshape(b, sb))), sa), shape_of(a))


def _matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any, **params: Any) -> Any:
    _check_params(params)
    if _matrices(a, b):
        return matmul(_mT(a), g)
    if ndim_of(a) == 1 and ndim_of(b) >= 2:  # vector @ matrices: an outer product
        gs = shape_of(g)
        return cnp.multiply(
            cnp.reshape(a, (*shape_of(a), 1)), cnp.reshape(g, (*gs[:-1], 1, gs[-1]))
        )
    sa, sb = _promoted(a, b)
    g2 = _reshape(g, _promoted_out(shape_of(g), a, b))
    a2 = _reshape(a, sa)
    if len(sb) == 2 and len(sa) > 2:
        # A stack times one matrix (a layer applied to a batch): fold the stack into the
        # rows, so the weight's cotangent is one matrix product rather than a stack and a sum.
        rows = math.prod(sa[:-1])
        gb = matmul(_mT(_reshape(a2, (rows, sa[-1]))), _reshape(g2, (rows, sb[-1])))
    else:
        gb = _sum_to(matmul(_mT(a2), g2), sb)
    return _reshape(gb, shape_of(b))


def _matmul_jvp(tangents: Sequence[Any], ans: Any, a: Any, b: Any, **params: Any) -> Any:
    _check_params(params)
    ta, tb = tangents
    t, x = (ta, a) if ta is not None else (tb, b)
    nb = batch_ndim(t, x)
    if nb == 0:
        out = None if ta is None else matmul(ta, b)
        if tb is not None:
            out = matmul(a, tb) if out is None else out + matmul(a, tb)
        return out
    # Batch axes go in front of the broadcast leading axes: tangents of 1-D operands become
    # matrices, and tangents of operands with fewer leading axes get size-1 ones.
    batch = shape_of(t)[:nb]
    sa, sb = _promoted(a, b)
    lead = len(np.broadcast_shapes(sa[:-2], sb[:-2]))

    def batched(s: Shape) -> Shape:
        return (*batch, *(1,) * (lead - len(s) + 2), *s)

    out = None
    if ta is not None:
        out = matmul(_reshape(ta, batched(sa)), _reshape(b, sb))
    if tb is not None:
        term = matmul(_reshape(a, sa), _reshape(tb, batched(sb)))
        out = term if out is None else out + term
    return _reshape(out, (*batch, *shape_of(ans)))


def _matmul_batch(args: list[Any], dims: list[Any], **params: Any) -> tuple[Any, int]:
    """A batch of products as one BLAS call wherever one operand is shared and a matrix
    or a vector: a batch of vectors or matrices times a shared matrix is folded into the rows
    of one product (the batch left where it is), ``W @ x`` for every ``x`` is ``xs @ W.T``
    (or ``W @ X`` when the examples are columns), and a shared matrix times a batch of
    matrices is folded into the columns of one. Otherwise a stacked matmul, with the batch
    first and 1-D operands made matrices as NumPy makes them; a product over an axis of
    length 1 (the outer products of per-example gradients) is a broadcast multiply."""
    _check_params(params)
    (a, b), (da, db) = args, dims
    ra, rb = ndim_of(a) - (da is not None), ndim_of(b) - (db is not None)
    if db is None and rb <= 2:  # (..., B, ..., k) @ (k, m): every row of every example at once
        if da == ra:  # the batch on the contracted axis: moved first
            a, da = to_front(a, da), 0
        sa = shape_of(a)
        out = matmul(_reshape(a, (math.prod(sa[:-1]), sa[-1])), b)
        return _reshape(out, (*sa[:-1], *shape_of(b)[1:])), da
    if da is None and ra <= 2 and rb == 1:  # W @ x for every x: the rows x @ W.T
        if db == 1:  # the examples are columns already: W @ xs
            return matmul(a, b), ra - 1
        return matmul(b, _mT(a) if ra == 2 else a), 0
    if da is None and ra <= 2 and rb == 2:  # (n, k) @ (k, B, m): B*m columns at once
        b = cnp.moveaxis(b, db, 1) if db != 1 else b
        k, bsz, m = shape_of(b)
        out = matmul(a, _reshape(b, (k, bsz * m)))
        if ra == 1:
            return _reshape(out, (bsz, m)), 0
        return _reshape(out, (shape_of(a)[0], bsz, m)), 1  # (not -1: the product may be empty)
    a, b = to_front(a, da), to_front(b, db)
    if ra == 1:
        a = cnp.expand_dims(a, -2)
    if rb == 1:
        b = cnp.expand_dims(b, -1)
    batched = [None if da is None else 0, None if db is None else 0]
    (a, b), d = aligned([a, b], batched, front=True)
    # A contraction of length 1 (the outer products of per-example gradients) is a product.
    outer = shape_of(a)[-1] == shape_of(b)[-2] == 1
    out = cnp.multiply(a, b) if outer else matmul(a, b)
    if ra == 1:
        out = cnp.squeeze(out, axis=-2)
    if rb == 1:
        out = cnp.squeeze(out, axis=-1)
    return out, d


defvjp(matmul, _matmul_vjp_a, _matmul_vjp_b)
defsaves(matmul, 0, 1)  # the operands, not the product
defjvp_joint(matmul, _matmul_jvp)
defbatch(matmul, _matmul_batch)


# ------------------------------------------------- tensordot and what reduces to matmul


def _axis(i: Any, n: int) -> int:
    i = int(i)
    if not -n <= i < n:
        raise ValueError(f"axis {i} is out of bounds for an array of dimension {n}")
    return i % n


def _contract(a: Any, b: Any, axes_a: Sequence[int], axes_b: Sequence[int]) -> Any:
    """Sum of products over paired axes, result axes as tensordot orders them: one matmul.

    Both operands are transposed (free axes of `a` first, summed axes of `b` first) and
    reshaped to matrices; operands already in that form go to matmul untouched.
    """
    sa, sb = shape_of(a), shape_of(b)
    axes_a = [_axis(i, len(sa)) for i in axes_a]
    axes_b = [_axis(j, len(sb)) for j in axes_b]
    if len(axes_a) != len(axes_b) or any(
        sa[i] != sb[j] for i, j in zip(axes_a, axes_b, strict=True)
    ):
        raise ValueError(f"shape-mismatch for sum: {sa} on axes {axes_a}, {sb} on axes {axes_b}")
    if len(sa) <= 2 and len(sb) <= 2 and axes_a == [len(sa) - 1] and axes_b == [0]:
        return matmul(a, b)
    free_a = [i for i in range(len(sa)) if i not in axes_a]
    free_b = [j for j in range(len(sb)) if j not in axes_b]
    rows_shape = tuple(sa[i] for i in free_a)
    cols_shape = tuple(sb[j] for j in free_b)
    k = math.prod(sa[i] for i in axes_a)
    a2 = _reshape(_transpose(a, free_a + axes_a), (math.prod(rows_shape), k))
    b2 = _reshape(_transpose(b, axes_b + free_b), (k, math.prod(cols_shape)))
    return _reshape(matmul(a2, b2), rows_shape + cols_shape)


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """`numpy.tensordot`: `axes` an int (last axes of `a` with first of `b`) or two lists.

    Contracting over all axes gives the other operand as the gradient:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> b = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda a: np.tensordot(a, b, axes=2))(np.zeros((2, 2)))
    array([[1., 2.],
           [3., 4.]])
    """
    if not _traced(a, b):
        return np.tensordot(a, b, axes)
    na, nb = ndim_of(a), ndim_of(b)
    axes_a: Any
    axes_b: Any
    if np.ndim(axes) == 0:
        n = int(axes)
        if n < 0 or n > min(na, nb):
            raise ValueError(f"tensordot: cannot sum over {n} axes of arrays of {na} and {nb}")
        axes_a, axes_b = list(range(na - n, na)), list(range(n))
    else:
        axes_a, axes_b = axes
    axes_a = [axes_a] if np.ndim(axes_a) == 0 else list(axes_a)
    axes_b = [axes_b] if np.ndim(axes_b) == 0 else list(axes_b)
    return _contract(a, b, axes_a, axes_b)


def dot(a: Any, b: Any, out: Any = None) -> Any:
    """`numpy.dot`: a product with a scalar, matmul up to 2-D `b`, else a tensordot.

    The gradient of ``sum(A @ B)`` with respect to ``A`` is ``ones @ B.T``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> b = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda a: np.dot(a, b).sum())(np.eye(2))
    array([[3., 7.],
           [3., 7.]])
    """
    if not _traced(a, b):
        return np.dot(a, b, out)
    _no_out("dot", out)
    if ndim_of(a) == 0 or ndim_of(b) == 0:  # (arrays first: a Python number is not weak here)
        return cnp.multiply(cnp.asarray(a), cnp.asarray(b))
    if ndim_of(b) <= 2:
        return matmul(a, b)
    return _contract(a, b, [-1], [-2])


def inner(a: Any, b: Any, /) -> Any:
    """`numpy.inner`: sum over the last axes of both (a product when either is a scalar).

    Each operand's gradient is the other operand:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(np.inner, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    (array([3., 4.]), array([1., 2.]))
    """
    if not _traced(a, b):
        return np.inner(a, b)
    if ndim_of(a) == 0 or ndim_of(b) == 0:  # (arrays first: a Python number is not weak here)
        return cnp.multiply(cnp.asarray(a), cnp.asarray(b))
    return _contract(a, b, [-1], [-1])


def vdot(a: Any, b: Any, /) -> Any:
    """`numpy.vdot`: the dot product of the flattened operands, `a` conjugated.

    ``vdot(a, a)`` is the squared Frobenius norm, whose gradient is ``2 a`` (``2 conj(a)``
    for complex `a`, JAX's convention):

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.vdot(a, a))(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[2., 4.],
           [6., 8.]])
    >>> cr.grad(lambda a: np.vdot(a, a).real)(np.array([1.0 + 2.0j]))
    array([2.-4.j])
    """
    if not _traced(a, b):
        return np.vdot(a, b)
    return matmul(conj_if_complex(cnp.reshape(a, -1)), cnp.reshape(b, -1))


def vecdot(
    x1: Any,
    x2: Any,
    /,
    out: Any = None,
    *,
    axis: int | None = None,
    keepdims: bool = False,
    **kwargs: Any,
) -> Any:
    """`numpy.vecdot`: dot products along `axis` of both operands (`x1` conjugated), the
    other axes broadcast. On traced values `axis` and `keepdims` are kept; `out`, `axes` and
    the other ufunc keywords raise.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> v = np.array([[0.0, 5.0], [3.0, 4.0]])
    >>> cr.grad(lambda n: np.vecdot(v, n).sum())(np.array([0.6, 0.8]))
    array([3., 9.])
    """
    if not _traced(x1, x2):
        if axis is not None:
            kwargs["axis"] = axis
        if keepdims:
            kwargs["keepdims"] = True
        return np.vecdot(x1, x2, out=out, **kwargs)
    _no_out("vecdot", out)
    axis = -1 if axis is None else axis
    if kwargs:
        raise TypeError(f"chainrule.numpy.vecdot: {sorted(kwargs)} not supported on traced values")
    for k, x in enumerate((x1, x2)):
        if ndim_of(x) == 0:
            raise ValueError(
                f"vecdot: Input operand {k} does not have enough dimensions (has 0, gufunc "
                "core with signature (n),(n)->() requires 1)"
            )
    # As NumPy's gufunc: `axis` of each operand is its vector, the other axes broadcast.
    x1, x2 = _moveaxis(x1, axis, -1), _moveaxis(x2, axis, -1)
    n1, n2 = shape_of(x1)[-1], shape_of(x2)[-1]
    if n1 != n2:
        raise ValueError(
            "vecdot: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            f"signature (n),(n)->() (size {n2} is different from {n1})"
        )
    out = cnp.sum(conj_if_complex(x1) * x2, axis=-1)
    return cnp.expand_dims(out, axis) if keepdims else out


def outer(a: Any, b: Any, out: Any = None) -> Any:
    """`numpy.outer`: a flattened `a` as a column times a flattened `b` as a row.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> f = lambda u, v: np.outer(u, v).sum()
    >>> cr.grad(f, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0]))
    (array([12., 12.]), array([3., 3., 3.]))
    """
    if not _traced(a, b):
        return np.outer(a, b, out)
    _no_out("outer", out)
    return cnp.multiply(cnp.reshape(a, (-1, 1)), cnp.reshape(b, (1, -1)))


def kron(a: Any, b: Any) -> Any:
    """`numpy.kron`: every axis of `a` interleaved with the same axis of `b`, then merged.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.kron(a, np.array([1.0, 10.0])).sum())(np.zeros(2))
    array([11., 11.])
    """
    if not _traced(a, b):
        return np.kron(a, b)
    n = max(ndim_of(a), ndim_of(b))
    sa = (1,) * (n - ndim_of(a)) + shape_of(a)
    sb = (1,) * (n - ndim_of(b)) + shape_of(b)
    a2 = cnp.reshape(a, tuple(d for s in sa for d in (s, 1)))
    b2 = cnp.reshape(b, tuple(d for s in sb for d in (1, s)))
    return cnp.reshape(cnp.multiply(a2, b2), tuple(p * q for p, q in zip(sa, sb, strict=True)))


# ------------------------------------------------------------------------------------ einsum

_LABELS = string.ascii_uppercase + string.ascii_lowercase  # sublist label k is _LABELS[k]
_MAX_OPERANDS = 64  # NumPy's limit on the number of arguments


def _einsum_impl(*operands: Any, spec: str, optimize: Any = False) -> Any:
    return np.einsum(spec, *operands, optimize=optimize)


_einsum = primitive(_einsum_impl, "einsum")


def _spec(args: Sequence[Any]) -> tuple[str, list[Any]]:
    """The subscript string and the operands, from either of einsum's calling forms."""
    if isinstance(args[0], str):
        return args[0], list(args[1:])
    # Interleaved: operand, sublist, operand, sublist, ..., [output sublist].
    ops, subs = list(args[0::2]), list(args[1::2])
    out = ops.pop() if len(args) % 2 else None

    def word(sub: Sequence[Any]) -> str:
        return "".join("..." if s is Ellipsis else _LABELS[int(s)] for s in sub)

    return ",".join(map(word, subs)) + ("" if out is None else "->" + word(out)), ops


@functools.lru_cache(maxsize=1024)
def _parse(spec: str, ndims: tuple[int, ...]) -> tuple[tuple[str, ...], str]:
    """Labels of each operand and of the output: ``...`` spelt out with unused letters, the
    implicit output (the ellipsis, then labels seen once, sorted) made explicit."""
    spec = spec.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: {len(terms)} subscripts for {len(ndims)} operands")
    counts = []
    for term, nd in zip(terms, ndims, strict=True):
        explicit = term.replace("...", "", 1)
        if not all(c in _LABELS for c in explicit):
            raise ValueError(f"einsum: invalid subscripts {term!r}")
        n = nd - len(explicit) if "..." in term else 0
        if n < 0 or ("..." not in term and len(term) != nd):
            raise ValueError(f"einsum: subscripts {term!r} for an operand of {nd} dimensions")
        counts.append(n)
    ellipsis = "".join(_fresh(spec, max(counts, default=0)))
    ins = tuple(
        t.replace("...", ellipsis[len(ellipsis) - n :]) for t, n in zip(terms, counts, strict=True)
    )
    if arrow:
        return ins, rhs.replace("...", ellipsis)
    return ins, ellipsis + "".join(
        sorted(c for c in set(lhs) if c in _LABELS and lhs.count(c) == 1)
    )


def _fresh(used: str, n: int) -> list[str]:
    free = [c for c in _LABELS if c not in used][:n]
    if len(free) < n:
        raise ValueError("einsum: too many distinct labels to differentiate (at most 52)")
    return free


def _labels(spec: str, operands: Sequence[Any]) -> tuple[tuple[str, ...], str]:
    return _parse(spec, tuple(ndim_of(o) for o in operands))


def _einsum_vjp(k: int, g: Any, ans: Any, *ops: Any, spec: str, optimize: Any = False) -> Any:
    """Cotangent of operand `k`: the einsum of `g` with the other operands, to `k`'s labels."""
    ins, out = _labels(spec, ops)
    others = [j for j in range(len(ops)) if j != k]
    # The size each label reaches in the product of g and the other operands.
    reach: dict[str, int] = {}
    for term, shape in zip(
        [out, *(ins[j] for j in others)],
        [shape_of(ans), *(shape_of(ops[j]) for j in others)],
        strict=True,
    ):
        for c, n in zip(term, shape, strict=True):
            reach[c] = max(reach.get(c, 0), n)
    dtype = dtype_of(ans)
    fresh = iter(_fresh("".join(ins) + out, len(ins[k])))
    labels: list[str] = []
    const_terms: list[str] = []
    consts: list[Any] = []
    for c, n in zip(ins[k], shape_of(ops[k]), strict=True):
        if c in labels:  # a diagonal: only its entries receive the cotangent
            labels.append(next(fresh))
            const_terms.append(c + labels[-1])
            consts.append(np.eye(n, dtype=dtype))
            reach[c] = n
        else:
            labels.append(c)
    for c, n in zip(ins[k], shape_of(ops[k]), strict=True):
        if reach.get(c, -1) < n:  # summed (or broadcast) in operand k alone: constant along it
            reach[c] = n
            const_terms.append(c)
            consts.append(np.ones(n, dtype=dtype))
    grad = _einsum(
        g,
        *(ops[j] for j in others),
        *consts,
        spec=",".join([out, *(ins[j] for j in others), *const_terms]) + "->" + "".join(labels),
        optimize=optimize,
    )
    return unbroadcast(grad, ops[k])


def _einsum_jvp(
    tangents: Sequence[Any], ans: Any, *ops: Any, spec: str, optimize: Any = False
) -> Any:
    """The same einsum with each tangent in its operand's place; ``...`` carries batch axes."""
    ins, out = _labels(spec, ops)
    result = None
    for k, t in enumerate(tangents):
        if t is None:
            continue
        batch = "..." if batch_ndim(t, ops[k]) else ""
        terms = [batch + s if j == k else s for j, s in enumerate(ins)]
        term = _einsum(
            *ops[:k],
            t,
            *ops[k + 1 :],
            spec=",".join(terms) + "->" + batch + out,
            optimize=optimize,
        )
        result = term if result is None else result + term
    return result


def _einsum_batch(args: list[Any], dims: list[Any], spec: str, optimize: Any = False) -> Any:
    """One einsum with a fresh label for the batch, on the batched operands and the output."""
    ins, out = _parse(
        spec, tuple(ndim_of(a) - (d is not None) for a, d in zip(args, dims, strict=True))
    )
    (label,) = _fresh("".join(ins) + out, 1)
    terms = [t if d is None else label + t for t, d in zip(ins, dims, strict=True)]
    ops = [to_front(a, d) for a, d in zip(args, dims, strict=True)]
    return _einsum(*ops, spec=",".join(terms) + "->" + label + out, optimize=optimize), 0


defvjp(_einsum, *(functools.partial(_einsum_vjp, k) for k in range(_MAX_OPERANDS)))
defjvp_joint(_einsum, _einsum_jvp)
defbatch(_einsum, _einsum_batch)


def einsum(*operands: Any, **kwargs: Any) -> Any:
    """`numpy.einsum`, string or interleaved form; on traced values only `optimize` is kept.

    The gradient of ``'ii'`` (a trace) is the identity; that of the quadratic form
    ``x A x`` is ``(A + Aᵀ) x``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.einsum("ii", a))(np.ones((2, 2)))
    array([[1., 0.],
           [0., 1.]])
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda x: np.einsum("i,ij,j", x, a, x))(np.array([1.0, 0.0]))
    array([2., 5.])
    """
    if not _traced(*operands):
        return np.einsum(*operands, **kwargs)
    optimize = kwargs.pop("optimize", False)
    if kwargs:
        raise TypeError(f"chainrule.numpy.einsum: {sorted(kwargs)} not supported on traced values")
    spec, ops = _spec(operands)
    return _einsum(*ops, spec=spec, optimize=optimize)


# ------------------------------------------------------------------------------------- cross

_cross3 = primitive(np.cross, "cross")
defvjp(
    _cross3,
    lambda g, ans, a, b: unbroadcast(_cross3(b, g), a),
    lambda g, ans, a, b: unbroadcast(_cross3(g, a), b),
)
defjvp(
    _cross3,
    lambda t, ans, a, b: _cross3(lift(t, a, ans), b),
    lambda t, ans, a, b: _cross3(a, lift(t, b, ans)),
)
defbatch(_cross3, elementwise_batch(_cross3, front=True))


def _as_3vectors(x: Any) -> Any:
    """Vectors on the last axis, 2-vectors padded with a zero z-component."""
    n = shape_of(x)[-1] if ndim_of(x) else 0
    if n not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    return x if n == 3 else matmul(x, np.eye(2, 3, dtype=dtype_of(x)))


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> Any:
    """`numpy.cross` of 3-vectors (or 2-vectors) along the given axes, broadcasting the rest.

    ``(a × b) · c = a · (b × c)``, so the gradient with respect to `a` is ``b × c``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> b, c = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    >>> cr.grad(lambda a: np.cross(a, b) @ c)(np.zeros(3))
    array([1., 0., 0.])
    """
    if not _traced(a, b):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = (x if isinstance(x, Tracer) else np.asarray(x) for x in (a, b))
    a = _moveaxis(a, axisa, -1) if ndim_of(a) else a
    b = _moveaxis(b, axisb, -1) if ndim_of(b) else b
    both_2d = shape_of(a)[-1:] == shape_of(b)[-1:] == (2,)
    c = _cross3(_as_3vectors(a), _as_3vectors(b))
    return c[..., 2] if both_2d else _moveaxis(c, -1, axisc)


# The public names whose rules are checked on complex values (tests/test_complex_linalg.py).
COMPLEX = (
    "cross", "dot", "einsum", "inner", "kron", "matmul", "outer", "tensordot", "vdot", "vecdot",
)  # fmt: skip

__all__ = [
    "cross", "dot", "einsum", "inner", "kron", "matmul", "outer", "tensordot", "vdot", "vecdot",
]  # fmt: skip
