"""Differentiable ``scipy.linalg``: SciPy's names, signatures and values (real inputs).

Called on plain arrays, each function is SciPy's own. Under a transform float32 stays
float32, also where SciPy computes in float64 (``logm``, ``det``, ``expm_frechet``).

Stacks are batched as SciPy (1.17) batches them, under a transform too: the axes before a
function's core ones are batch axes, broadcast between arguments (one matrix against a stack
of them). The core of a matrix is its last two axes; a right-hand side ``b`` is one vector
when it is 1-D and a matrix (or a stack of them) otherwise, so a stack of vectors must be
given as columns, ``b[..., None]``. Over a batch, several results come as SciPy gives them:
a list (``qr(mode='r')`` the bare array; ``cho_factor``'s flag an array, one per matrix).
Every function here batches (``eigh``'s ``b=`` is refused under a transform, stacked or not):

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> from chainrule.scipy import linalg
>>> a = np.stack([np.eye(2), 2.0 * np.eye(2)])              # two matrices
>>> cr.grad(lambda b: linalg.solve(a, b).sum())(np.ones(2))  # one b for both
array([1.5, 1.5])

The rules:

- ``expm``, ``sqrtm``, ``logm`` are primitives whose derivative is the Fréchet derivative,
  read off the same function of a block matrix (Higham, *Functions of Matrices*, 3.2):
  ``f([[A, E], [0, A]]) = [[f(A), L_f(A, E)], [0, f(A)]]``. Its adjoint is
  ``L_f(Aᵀ, G)`` (the transpose, not the conjugate transpose, in JAX's convention for
  complex values: these functions are holomorphic), so both modes, and every order, use
  ``f`` itself. ``expm_frechet(A, E)`` is that block identity, differentiable in ``A`` and
  ``E``. A real matrix with negative real eigenvalues has a complex ``sqrtm``/``logm``:
  under a transform that raises unless the matrix is passed as complex; at a singular
  matrix (an eigenvalue 0 to working precision) their derivative is infinite and raises
  ``LinAlgError``.
- ``solve_sylvester(a, b, q)`` (``AX + XB = Q``) is a primitive: ``dX = sylv(A, B, R)``
  with ``R = dQ - dA X - X dB``; with ``Y = sylv(Aᵀ, Bᵀ, G)``, the cotangents of ``a``,
  ``b``, ``q`` are ``-Y Xᵀ``, ``-Xᵀ Y``, ``Y``.
  ``solve_continuous_lyapunov(a, q)`` is ``solve_sylvester(a, aᵀ, q)``. Where ``A`` and
  ``-B`` share an eigenvalue (to working precision) there is no unique solution: SciPy
  returns a huge meaningless one; under a transform that raises ``LinAlgError``.
- ``solve_triangular`` is a primitive reading only the triangle named by `lower` (the
  strict triangle with ``unit_diagonal=True``): the other entries have derivative 0.
  ``dx = T⁻¹(db - dT x)`` (transposed for ``trans=1``/``'T'``/``'C'``).
- ``lu_factor`` is a primitive for ``lu`` (``piv`` is a plain integer array): with ``PA =
  LU`` and ``X = L⁻¹ P dA U⁻¹``, ``dL = L tril(X, -1)``, ``dU = triu(X) U``. The pivot
  order is piecewise constant: the derivative is that of the factorization with SciPy's
  pivots held fixed (at a tie for the largest entry of a column, the side SciPy's choice
  continues); with a zero pivot (``U`` singular) it raises ``LinAlgError``. ``lu_solve``,
  ``cho_factor`` and ``cho_solve`` are compositions of triangular solves, the permutation
  and ``numpy.linalg.cholesky``; ``cho_factor`` reads one triangle of `a` (the upper by
  default, as SciPy) and returns `a`'s own entries in the other, as SciPy does.
- ``block_diag`` is a composition (1-D inputs are rows, scalars 1×1, as SciPy; the axes
  before the last two are batch axes: one block diagonal matrix per batch entry).
- ``inv det solve cholesky eigh svd qr`` use the rules of ``chainrule.numpy.linalg``, with
  SciPy's signatures: ``cholesky`` is *upper* by default (``lower=False``), ``eigh`` reads
  the lower triangle by default (``lower=True``), ``qr``'s default mode is 'full'.
  Under a transform, options SciPy has but the rules do not cover (``assume_a``, ``b=`` and
  subsets in ``eigh``, ``pivoting``...) raise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.linalg as sl

from chainrule import numpy as cnp
from chainrule.core.batching import defbatch
from chainrule.core.primitive import Primitive, defjvp, defjvp_joint, defvjp, primitive
from chainrule.core.trace import Tracer, primal
from chainrule.numpy.rules.common import (
    aligned,
    at_front,
    batch_size,
    check,
    conj_if_complex,
    elementwise_batch,
    lift,
    ndim_of,
    nondiff,
    shape_of,
    unbroadcast,
)
from chainrule.numpy.rules.linalg import _mask, _mT

__all__ = [
    "block_diag", "cho_factor", "cho_solve", "cholesky", "det", "eigh", "expm",
    "expm_frechet", "inv", "logm", "lu_factor", "lu_solve", "qr", "solve", "solve_banded",
    "solve_continuous_lyapunov", "solve_sylvester", "solve_triangular", "sqrtm", "svd",
]  # fmt: skip

_UNSET: Any = object()


def _traced(*xs: Any) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _unsupported(name: str, what: str) -> NotImplementedError:
    return NotImplementedError(
        f"chainrule.scipy.linalg.{name}: {what} is not differentiable yet; call it on plain "
        "arrays (outside grad/jvp/...) or use the default."
    )


def _square(name: str, a: Any, arg: str = "a") -> None:
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"chainrule.scipy.linalg.{name}: `{arg}` must be a square matrix or a stack of "
            f"them, shape (..., n, n), got shape {shape}"
        )


def _batch_shape(name: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of the batch shapes (the axes before the core ones), as SciPy takes it."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(
            f"chainrule.scipy.linalg.{name}: the batch axes (those before the last two) do "
            f"not broadcast together: {', '.join(map(str, shapes))}"
        ) from None


def _over_batch(fun: Callable[..., Any], *cores: int) -> Callable[..., Any]:
    """`fun` of single matrices applied over stacks, as SciPy (1.16 and later) batches: an
    argument's axes before its `cores` ones are batch axes, broadcast together, and `fun`
    runs once per batch entry. The rules batch tangents this way with any SciPy."""

    def batched(*args: Any, **params: Any) -> Any:
        arrays = [np.asarray(x) for x in args]
        batch = np.broadcast_shapes(
            *(x.shape[: x.ndim - c] for x, c in zip(arrays, cores, strict=True))
        )
        if not batch:
            return fun(*arrays, **params)
        if 0 in batch:
            raise ValueError(
                f"chainrule.scipy.linalg.{fun.__name__}: a batch axis has size 0 (SciPy does "
                "not batch empty stacks either); leave the empty stack out of the call"
            )
        arrays = [
            np.broadcast_to(x, batch + x.shape[x.ndim - c :])
            for x, c in zip(arrays, cores, strict=True)
        ]
        outs = [fun(*(x[i] for x in arrays), **params) for i in np.ndindex(batch)]
        if isinstance(outs[0], tuple):
            parts = zip(*outs, strict=True)
            return tuple(np.stack(p).reshape(batch + np.shape(p[0])) for p in parts)
        return np.stack(outs).reshape(batch + np.shape(outs[0]))

    return batched


def _stacks_batch(prim: Primitive) -> Callable[..., Any]:
    """The batching rule of a function of stacks of matrices (or vectors), leading axes
    broadcast as SciPy 1.16+ batches them: the batch becomes one more leading axis."""
    return elementwise_batch(prim, front=True)


def _front(fn: Callable[..., Any], args: list[Any], dims: list[Any], **kw: Any) -> Any:
    """`vmap` of a plain check or index function of stacks (see `nondiff`): the batch goes
    in front, one more stack axis."""
    args, d = aligned(args, dims, front=True)
    return fn(*args, **kw), d


def _stacked(*arrays: tuple[Any, int]) -> bool:
    """Whether SciPy batches a call: an ``(array, core rank)`` pair has leading axes."""
    return any(ndim_of(x) > core for x, core in arrays)


def _results(stacked: bool, *outs: Any) -> Any:
    """SciPy's layout of several results: a tuple, but over a batch a list (one result
    alone, as ``qr(mode='r')``'s, is then the bare array)."""
    if not stacked:
        return outs
    return list(outs) if len(outs) > 1 else outs[0]


def _columns(name: str, solve: Callable[[Any], Any], a: Any, b: Any) -> Any:
    """``solve`` (by the matrix `a`) of a right-hand side taken as SciPy takes it: a 1-D
    `b` is one vector, any other `b` a matrix (or a stack of them). `solve` sees matrices
    only, so a stack of vectors is never mistaken for a matrix."""
    shape = shape_of(b)
    if not shape or shape[-2 if len(shape) > 1 else 0] != shape_of(a)[-1]:
        raise ValueError(
            f"chainrule.scipy.linalg.{name}: `b` of shape {shape} does not fit a matrix of "
            f"shape {shape_of(a)}: give b as (n,) or (..., n, k) for an (..., n, n) matrix"
        )
    _batch_shape(name, shape_of(a)[:-2], shape[:-2])
    if len(shape) == 1:
        return solve(b[:, None])[..., 0]
    return solve(b)


def _rows(x: Any, order: np.ndarray) -> Any:
    """``x[..., order, :]`` where `order` may carry its own (broadcast) batch axes."""
    rank = max(ndim_of(x), order.ndim + 1)
    index = order.reshape((1,) * (rank - order.ndim - 1) + order.shape + (1,))
    if ndim_of(x) < rank:
        x = cnp.reshape(x, (1,) * (rank - ndim_of(x)) + shape_of(x))
    return cnp.take_along_axis(x, index, axis=-2)


# ------------------------------------------------------------ matrix functions: Fréchet


def _frechet(f: Primitive, a: Any, e: Any) -> Any:
    """``L_f(A, E)``: the top-right block of ``f([[A, E], [0, A]])``; batch axes broadcast."""
    n = shape_of(a)[-1]
    if shape_of(a) != shape_of(e):
        shape = np.broadcast_shapes(shape_of(a), shape_of(e))
        a, e = cnp.broadcast_to(a, shape), cnp.broadcast_to(e, shape)
    zeros = np.zeros(shape_of(a), primal(a).dtype)
    big = cnp.concatenate(
        [cnp.concatenate([a, e], axis=-1), cnp.concatenate([zeros, a], axis=-1)], axis=-2
    )
    return f(big)[..., :n, n:]


@functools.partial(nondiff, batch=_front)
def _singular(a: Any) -> Any:
    """Per matrix of a stack: whether an eigenvalue is 0 to working precision."""
    values = np.abs(np.linalg.eigvals(a))
    n = values.shape[-1]
    if not n:
        return np.zeros(values.shape[:-1], bool)
    return values.min(-1) <= n * np.finfo(values.dtype).eps * values.max(-1)


def _differentiable_at(name: str, a: Any) -> Any:
    """`a` itself, after checking that it is not singular to working precision: the Fréchet
    derivative of ``sqrtm`` and ``logm`` does not exist at a zero eigenvalue (it is
    infinite), and near one the block matrix would return a huge, meaningless number."""
    _not_singular(_singular(a), name)
    return a


@check
def _not_singular(singular: np.ndarray, name: str) -> None:
    """(every matrix of a stack, every example's; under `jit`, every call's)"""
    if np.any(singular):
        raise np.linalg.LinAlgError(
            f"chainrule.scipy.linalg.{name}: the matrix is singular (an eigenvalue is 0 to "
            f"working precision), where the derivative of {name} does not exist (it is "
            "infinite). Move the input away from singular matrices (add a multiple of the "
            "identity)."
        )


def _matrix_function(name: str, fun: Callable[[Any], Any], singular_ok: bool) -> Primitive:
    def impl(a: Any) -> Any:
        out = fun(a)
        if np.iscomplexobj(out) and not np.iscomplexobj(a):
            raise ValueError(
                f"chainrule.scipy.linalg.{name}: the result is complex (the matrix has "
                "negative real eigenvalues), and its dtype would depend on the values of "
                "a real input. Pass the matrix as complex (`a + 0j`) to differentiate the "
                "complex result, or call it outside the transform."
            )
        dtype = np.asarray(a).dtype
        return out.astype(dtype, copy=False) if dtype.kind == "f" else out

    def at(a: Any) -> Any:
        return a if singular_ok else _differentiable_at(name, a)

    prim = primitive(impl, name)
    defvjp(prim, lambda g, ans, a: _frechet(prim, _mT(at(a)), g))
    defjvp(prim, lambda t, ans, a: _frechet(prim, at(a), t))
    defbatch(prim, _stacks_batch(prim))
    return prim


_expm = _matrix_function("expm", sl.expm, singular_ok=True)
_sqrtm = _matrix_function("sqrtm", _over_batch(sl.sqrtm, 2), singular_ok=False)
_logm = _matrix_function("logm", _over_batch(sl.logm, 2), singular_ok=False)


def expm(A: Any) -> Any:
    """`scipy.linalg.expm`. The derivative of ``expm(t A)`` in ``t`` at 0 is ``A``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> a = np.array([[0.0, 1.0], [-1.0, 0.0]])
    >>> cr.jacfwd(lambda t: linalg.expm(t * a))(0.0)
    array([[ 0.,  1.],
           [-1.,  0.]])
    """
    return _expm(A) if _traced(A) else sl.expm(A)


def _legacy_options(**options: Any) -> dict[str, Any]:
    """The deprecated keywords SciPy's sqrtm/logm still take, passed on only when given."""
    return {k: v for k, v in options.items() if v is not _UNSET}


def sqrtm(A: Any, disp: Any = _UNSET, blocksize: Any = _UNSET) -> Any:
    """`scipy.linalg.sqrtm` (real square roots under a transform).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> cr.grad(lambda a: np.trace(linalg.sqrtm(a)))(np.array([[4.0, 0.0], [0.0, 9.0]]))
    array([[0.25      , 0.        ],
           [0.        , 0.16666667]])
    """
    options = _legacy_options(disp=disp, blocksize=blocksize)
    if not _traced(A):
        return sl.sqrtm(A, **options)
    if options.get("disp", True) is not True:
        raise _unsupported("sqrtm", "disp=False")
    return _sqrtm(A)


def logm(A: Any, disp: Any = _UNSET) -> Any:
    """`scipy.linalg.logm` (real logarithms under a transform).

    The gradient of ``tr(logm(A))`` (``log det A``) is ``inv(A)ᵀ``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> cr.grad(lambda a: np.trace(linalg.logm(a)))(np.array([[2.0, 1.0], [0.0, 4.0]])).round(6)
    array([[ 0.5  ,  0.   ],
           [-0.125,  0.25 ]])
    """
    options = _legacy_options(disp=disp)
    if not _traced(A):
        return sl.logm(A, **options)
    if options.get("disp", True) is not True:
        raise _unsupported("logm", "disp=False")
    return _logm(A)


def expm_frechet(
    A: Any, E: Any, method: Any = None, compute_expm: bool = True, check_finite: bool = True
) -> Any:
    """`scipy.linalg.expm_frechet`: ``(expm(A), L(A, E))``, or ``L`` alone.

    For commuting ``A`` and ``E``, ``L(A, E) = E expm(A)``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> a, e = np.diag([0.0, 1.0]), np.eye(2)
    >>> f = lambda s: linalg.expm_frechet(a, s * e, compute_expm=False)
    >>> cr.jacfwd(f)(1.0).round(6)
    array([[1.      , 0.      ],
           [0.      , 2.718282]])
    """
    if not _traced(A, E):
        return sl.expm_frechet(A, E, method, compute_expm, check_finite)
    _square("expm_frechet", A, "A")
    _square("expm_frechet", E, "E")
    if shape_of(A)[-1] != shape_of(E)[-1]:
        raise ValueError(
            "chainrule.scipy.linalg.expm_frechet: expected A and E to be square matrices of "
            f"the same size, got shapes {shape_of(A)} and {shape_of(E)}"
        )
    _batch_shape("expm_frechet", shape_of(A)[:-2], shape_of(E)[:-2])
    frechet = _frechet(_expm, A, E)
    if not compute_expm:
        return frechet
    value = _expm(A)
    if shape_of(value) != shape_of(frechet):
        value = cnp.broadcast_to(value, shape_of(frechet))
    return _results(_stacked((A, 2), (E, 2)), value, frechet)


# ------------------------------------------------------------------ Sylvester, Lyapunov


def _sylvester_jvp(tangents: Sequence[Any], ans: Any, a: Any, b: Any, q: Any) -> Any:
    ta, tb, tq = (
        None if t is None else lift(t, x, ans) for t, x in zip(tangents, (a, b, q), strict=True)
    )
    rhs = None
    for term in (
        tq,
        None if ta is None else -(ta @ ans),
        None if tb is None else -(ans @ tb),
    ):
        if term is not None:
            rhs = term if rhs is None else rhs + term
    return _sylvester(a, b, rhs)


def _sylvester_adjoint(g: Any, a: Any, b: Any) -> Any:
    return _sylvester(_mT(a), _mT(b), g)


_sylvester = primitive(_over_batch(sl.solve_sylvester, 2, 2, 2), "solve_sylvester")
defvjp(
    _sylvester,
    lambda g, ans, a, b, q: unbroadcast(-(_sylvester_adjoint(g, a, b) @ _mT(ans)), a),
    lambda g, ans, a, b, q: unbroadcast(-(_mT(ans) @ _sylvester_adjoint(g, a, b)), b),
    lambda g, ans, a, b, q: unbroadcast(_sylvester_adjoint(g, a, b), q),
)
defjvp_joint(_sylvester, _sylvester_jvp)
defbatch(_sylvester, _stacks_batch(_sylvester))


@functools.partial(nondiff, batch=_front)
def _resonant(a: Any, b: Any) -> Any:
    """Per pair of matrices of the stacks: whether `a` and ``-b`` share an eigenvalue to
    working precision (``AX + XB = Q`` is then singular)."""
    la, lb = np.linalg.eigvals(a), np.linalg.eigvals(b)
    n, m = la.shape[-1], lb.shape[-1]
    if not (n and m):
        return np.zeros(np.broadcast_shapes(la.shape[:-1], lb.shape[:-1]), bool)
    scale = np.abs(la).max(-1) + np.abs(lb).max(-1)
    gap = np.abs(la[..., :, None] + lb[..., None, :]).min((-2, -1))
    return gap <= (n + m) * np.finfo(la.real.dtype).eps * scale


def _uniquely_solvable(name: str, a: Any, b: Any, q: Any) -> None:
    """Check the shapes, and raise where ``AX + XB = Q`` is singular to working precision:
    ``A`` and ``-B`` share an eigenvalue (in any matrix of a stack). SciPy then returns a
    huge meaningless ``X`` (its own value, outside a transform); ``X`` and its derivative
    do not exist."""
    _square(name, a)
    _square(name, b, "b")
    if shape_of(q)[-2:] != (shape_of(a)[-1], shape_of(b)[-1]):
        raise ValueError(
            f"chainrule.scipy.linalg.{name}: `q` of shape {shape_of(q)} does not fit a of "
            f"shape {shape_of(a)} and b of shape {shape_of(b)}"
        )
    _batch_shape(name, shape_of(a)[:-2], shape_of(b)[:-2], shape_of(q)[:-2])
    _not_resonant(_resonant(a, b), name)


@check
def _not_resonant(resonant: np.ndarray, name: str) -> None:
    if np.any(resonant):
        raise np.linalg.LinAlgError(
            f"chainrule.scipy.linalg.{name}: the equation is singular (a and -b share an "
            "eigenvalue to working precision), so it has no unique solution to "
            "differentiate."
        )


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """`scipy.linalg.solve_sylvester`: ``X`` with ``AX + XB = Q``, differentiable in all three.

    With ``A = B = I``, ``X = Q/2``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> cr.grad(lambda q: linalg.solve_sylvester(np.eye(2), np.eye(2), q).sum())(np.eye(2))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    if not _traced(a, b, q):
        return sl.solve_sylvester(a, b, q)
    _uniquely_solvable("solve_sylvester", a, b, q)
    return _sylvester(a, b, q)


def solve_continuous_lyapunov(a: Any, q: Any) -> Any:
    """`scipy.linalg.solve_continuous_lyapunov`: ``X`` with ``AX + XAᴴ = Q``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> f = lambda s: linalg.solve_continuous_lyapunov(s * np.eye(2), np.eye(2))[0, 0]
    >>> float(cr.grad(f)(1.0))
    -0.5
    """
    if not _traced(a, q):
        return sl.solve_continuous_lyapunov(a, q)
    _square("solve_continuous_lyapunov", a)
    a_h = conj_if_complex(_mT(a))
    _uniquely_solvable("solve_continuous_lyapunov", a, a_h, q)
    return _sylvester(a, a_h, q)


# ---------------------------------------------------------------------- triangular solves


def _transposed(trans: Any, name: str = "solve_triangular") -> bool:
    if trans in (0, "N"):
        return False
    if trans in (1, 2, "T", "C"):
        return True
    raise ValueError(f"chainrule.scipy.linalg.{name}: invalid trans {trans!r}")


def _triangle(x: Any, lower: bool, unit_diagonal: bool) -> Any:
    """The entries of `x` that SciPy reads: one triangle, strict with a unit diagonal."""
    n = shape_of(x)[-1]
    tri = np.tri(n, k=-1 if unit_diagonal else 0)
    return x * _mask(tri if lower else tri.T, x)


def _tri_jvp(
    tangents: Sequence[Any],
    ans: Any,
    a: Any,
    b: Any,
    trans: Any = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
) -> Any:
    ta, tb = tangents
    rhs = None if tb is None else lift(tb, b, ans)
    if ta is not None:
        dt = _triangle(lift(ta, a, ans), lower, unit_diagonal)
        term = -((_mT(dt) if _transposed(trans) else dt) @ ans)
        rhs = term if rhs is None else rhs + term
    return _tri(a, rhs, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def _tri_adjoint(g: Any, a: Any, trans: Any, **params: Any) -> Any:
    return _tri(a, g, trans=0 if _transposed(trans) else 1, **params)


def _tri_vjp_b(g: Any, ans: Any, a: Any, b: Any, trans: Any = 0, **params: Any) -> Any:
    return unbroadcast(_tri_adjoint(g, a, trans, **params), b)


def _tri_vjp_a(
    g: Any, ans: Any, a: Any, b: Any, trans: Any = 0, lower: bool = False,
    unit_diagonal: bool = False,
) -> Any:  # fmt: skip
    gb = _tri_adjoint(g, a, trans, lower=lower, unit_diagonal=unit_diagonal)
    ga = ans @ _mT(gb) if _transposed(trans) else gb @ _mT(ans)
    return unbroadcast(-_triangle(ga, lower, unit_diagonal), a)


def _tri_impl(a: Any, b: Any, **params: Any) -> Any:
    """SciPy's solve; `b` is always a matrix (or a stack) here: vectors come as columns.
    One matrix with a stack of right-hand sides (as the tangents of ``jacfwd``) is one
    solve of all their columns together."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim > 2 or b.ndim == 2:
        return _over_batch(sl.solve_triangular, 2, 2)(a, b, **params)
    columns = np.moveaxis(b, -2, 0)
    x = sl.solve_triangular(a, columns.reshape(columns.shape[0], -1), **params)
    return np.moveaxis(x.reshape(columns.shape), 0, -2)


_tri = primitive(_tri_impl, "solve_triangular")
defvjp(_tri, _tri_vjp_a, _tri_vjp_b)
defjvp_joint(_tri, _tri_jvp)
defbatch(_tri, _stacks_batch(_tri))  # one matrix, a batch of right-hand sides: one solve


def solve_triangular(
    a: Any,
    b: Any,
    trans: Any = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """`scipy.linalg.solve_triangular`; only the triangle read has a derivative.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> a = np.array([[2.0, 7.0], [1.0, 4.0]])   # 7 is never read with lower=True
    >>> cr.grad(lambda b: linalg.solve_triangular(a, b, lower=True).sum())(np.ones(2))
    array([0.375, 0.25 ])
    """
    if not _traced(a, b):
        return sl.solve_triangular(a, b, trans, lower, unit_diagonal, overwrite_b, check_finite)
    _square("solve_triangular", a)
    if _transposed(trans) and trans in (2, "C"):  # Aᴴ x = b: the transpose of conj(A)
        a, trans = conj_if_complex(a), 1
    params = {"trans": trans, "lower": bool(lower), "unit_diagonal": bool(unit_diagonal)}
    return _columns("solve_triangular", lambda c: _tri(a, c, **params), a, b)


# --------------------------------------------------------------------------- Cholesky


def cholesky(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """`scipy.linalg.cholesky`: *upper* by default (``a = UᵀU``), reading that triangle.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> cr.grad(lambda a: linalg.cholesky(a)[0, 1])(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[-0.125,  0.5  ],
           [ 0.   ,  0.   ]])
    """
    if not _traced(a):
        return sl.cholesky(a, lower, overwrite_a, check_finite)
    _square("cholesky", a)
    return cnp.linalg.cholesky(a, upper=not lower)


def cho_factor(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """`scipy.linalg.cho_factor`: ``(c, lower)``, the factor in one triangle of ``c``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> a = np.array([[4.0, 2.0], [2.0, 5.0]])
    >>> cr.grad(lambda a: linalg.cho_solve(linalg.cho_factor(a), np.ones(2)).sum())(a)
    array([[-0.03515625, -0.046875  ],
           [ 0.        , -0.015625  ]])
    """
    if not _traced(a):
        return sl.cho_factor(a, lower, overwrite_a, check_finite)
    factor = cholesky(a, lower=lower)
    read = np.tri(shape_of(a)[-1], dtype=bool)
    c = cnp.where(read if lower else read.T, factor, a)
    if not _stacked((a, 2)):
        return c, lower
    return [c, np.full(shape_of(a)[:-2], lower, dtype=bool)]  # SciPy's flag per matrix


def cho_solve(
    c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """`scipy.linalg.cho_solve`: ``x`` with ``A x = b`` from ``cho_factor(A)``."""
    c, lower_given = c_and_lower
    if not _traced(c, b):
        return sl.cho_solve(c_and_lower, b, overwrite_b, check_finite)
    _square("cho_solve", c, "c")
    flags = np.asarray(lower_given, dtype=bool)
    if flags.size == 0 or flags.any() != flags.all():
        raise ValueError(
            "chainrule.scipy.linalg.cho_solve: `lower` must be one flag (or the same flag for "
            f"every matrix, as cho_factor gives it), got {flags}"
        )
    lower = bool(flags.all())

    def on_columns(x: Any) -> Any:  # A = L Lᴴ (lower) or Uᴴ U (upper)
        y = solve_triangular(c, x, trans=0 if lower else "C", lower=lower)
        return solve_triangular(c, y, trans="C" if lower else 0, lower=lower)

    return _columns("cho_solve", on_columns, c, b)


# --------------------------------------------------------------------------------- LU


def _permutation(piv: np.ndarray) -> np.ndarray:
    """The row order ``perm`` with ``A[perm] = L U`` (per matrix of a stack), from
    LAPACK's sequential swaps."""
    piv = np.asarray(piv)
    perm = np.broadcast_to(np.arange(piv.shape[-1]), piv.shape).copy()
    for i in range(piv.shape[-1]):
        target = piv[..., i : i + 1]
        here = perm[..., i : i + 1].copy()
        perm[..., i : i + 1] = np.take_along_axis(perm, target, -1)
        np.put_along_axis(perm, target, here, -1)
    return perm


@check
def _nonzero_pivots(pivots: np.ndarray) -> None:
    if np.any(pivots == 0):
        raise np.linalg.LinAlgError(
            "chainrule.scipy.linalg.lu_factor: a pivot is 0 (the matrix is singular); the "
            "derivative of the LU factors is computed through U⁻¹ and is not available here."
        )


def _lu_parts(lu: Any) -> tuple[Any, Any]:
    """``L`` (unit lower) and ``U`` from SciPy's combined ``lu``; ``U`` must be invertible."""
    n = shape_of(lu)[-1]
    _nonzero_pivots(cnp.diagonal(primal(lu), axis1=-2, axis2=-1))
    return _triangle(lu, True, True) + _mask(np.eye(n), lu), _triangle(lu, False, False)


def _lu_jvp(t: Any, ans: Any, a: Any, perm: np.ndarray) -> Any:
    low, up = _lu_parts(ans)
    x = cnp.linalg.inv(low) @ _rows(t, perm) @ cnp.linalg.inv(up)
    return low @ _triangle(x, True, True) + _triangle(x, False, False) @ up


def _lu_vjp(g: Any, ans: Any, a: Any, perm: np.ndarray) -> Any:
    low, up = _lu_parts(ans)
    m = _triangle(_mT(low) @ g, True, True) + _triangle(g @ _mT(up), False, False)
    y = _mT(cnp.linalg.inv(low)) @ m @ _mT(cnp.linalg.inv(up))
    return _rows(y, np.argsort(perm, axis=-1))


_lu_factor = _over_batch(sl.lu_factor, 2)
_lu = primitive(lambda a, perm: _lu_factor(a)[0], "lu_factor")
defvjp(_lu, _lu_vjp, None)
defjvp(_lu, _lu_jvp)


def _lu_batch(args: list[Any], dims: list[Any]) -> tuple[Any, int]:
    """The factors of a batch of matrices with their row orders, the batch in front of both
    (not broadcast together: `perm` has one axis fewer)."""
    size = batch_size(args, dims)
    a, perm = (at_front(x, d, size) for x, d in zip(args, dims, strict=True))
    return _lu(a, perm), 0


defbatch(_lu, _lu_batch)


@functools.partial(nondiff, batch=_front)
def _pivots(a: Any, check_finite: bool = True) -> Any:
    """LAPACK's pivots of `a` (a stack), an index array: batched under `vmap`."""
    return _lu_factor(a, check_finite=check_finite)[1]


_row_order = nondiff(_permutation, batch=_front)  # per example under vmap


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """`scipy.linalg.lu_factor`: ``(lu, piv)``; ``lu`` differentiable, ``piv`` plain.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> a = np.array([[4.0, 3.0], [6.0, 3.0]])
    >>> f = lambda a: linalg.lu_solve(linalg.lu_factor(a), np.array([1.0, 0.0])).sum()
    >>> cr.grad(f)(a).round(6)
    array([[ 0.25    , -0.5     ],
           [-0.083333,  0.166667]])
    """
    if not _traced(a):
        return sl.lu_factor(a, overwrite_a, check_finite)
    _square("lu_factor", a)
    piv = _pivots(a, check_finite=check_finite)
    return _results(_stacked((a, 2)), _lu(a, _row_order(piv)), piv)


def lu_solve(
    lu_and_piv: tuple[Any, Any],
    b: Any,
    trans: Any = 0,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """`scipy.linalg.lu_solve`: ``x`` with ``A x = b`` (``Aᵀ x = b`` for ``trans=1``,
    ``Aᴴ x = b`` for ``trans=2``)."""
    lu, piv = lu_and_piv
    if not _traced(lu, b):
        return sl.lu_solve(lu_and_piv, b, trans, overwrite_b, check_finite)
    _square("lu_solve", lu, "lu")
    perm = _row_order(piv)
    transposed = _transposed(trans, "lu_solve")
    if transposed and trans in (2, "C"):  # Aᴴ x = b: the transpose of conj(A)'s system
        lu = conj_if_complex(lu)

    def on_columns(x: Any) -> Any:
        if not transposed:
            y = solve_triangular(lu, _rows(x, perm), lower=True, unit_diagonal=True)
            return solve_triangular(lu, y)
        y = solve_triangular(lu, x, trans=1)
        y = solve_triangular(lu, y, trans=1, lower=True, unit_diagonal=True)
        return _rows(y, np.argsort(perm, axis=-1))

    return _columns("lu_solve", on_columns, lu, b)


# ------------------------------------------------------------------------- block_diag


def block_diag(*arrs: Any) -> Any:
    """`scipy.linalg.block_diag`: 1-D inputs are rows, scalars 1×1 matrices; the axes before
    the last two are batch axes, broadcast together (one block diagonal matrix per batch).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> cr.grad(lambda x: (linalg.block_diag(x, 2.0) ** 2).sum())(np.array([1.0, 3.0]))
    array([2., 6.])
    """
    if not _traced(*arrs):
        return sl.block_diag(*arrs)
    blocks = [cnp.reshape(x, (1, -1)) if ndim_of(x) < 2 else x for x in arrs]
    batch = _batch_shape("block_diag", *(shape_of(x)[:-2] for x in blocks))
    dtype = np.result_type(*(primal(x) for x in arrs))
    widths = [shape_of(x)[-1] for x in blocks]
    total = sum(widths)
    rows, before = [], 0
    for x, w in zip(blocks, widths, strict=True):
        core = shape_of(x)[-2:]
        if shape_of(x) != batch + core:
            x = cnp.broadcast_to(x, batch + core)
        left = np.zeros((*batch, core[0], before), dtype)
        right = np.zeros((*batch, core[0], total - before - w), dtype)
        rows.append(cnp.concatenate([left, x, right], axis=-1))
        before += w
    return cnp.concatenate(rows, axis=-2)


# --------------------------------------- inv det solve eigh svd qr: numpy.linalg's rules


def inv(
    a: Any,
    overwrite_a: bool = False,
    check_finite: bool = True,
    *,
    assume_a: Any = None,
    lower: bool = False,
) -> Any:
    """`scipy.linalg.inv` (general matrices under a transform).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> cr.grad(lambda a: linalg.inv(a)[0, 0])(np.array([[2.0]]))
    array([[-0.25]])
    """
    if not _traced(a):
        return sl.inv(a, overwrite_a, check_finite, assume_a=assume_a, lower=lower)
    _square("inv", a)
    if assume_a not in (None, "general", "gen"):
        raise _unsupported("inv", f"assume_a={assume_a!r}")
    return cnp.linalg.inv(a)


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """`scipy.linalg.det`; its gradient is the transposed adjugate.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> cr.grad(linalg.det)(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[ 4., -3.],
           [-2.,  1.]])
    >>> cr.grad(lambda a: linalg.det(a).sum())(np.stack([np.eye(2), 2.0 * np.eye(2)]))
    array([[[1., 0.],
            [0., 1.]],
    <BLANKLINE>
           [[2., 0.],
            [0., 2.]]])
    """
    if not _traced(a):
        return sl.det(a, overwrite_a, check_finite)
    _square("det", a)
    return cnp.linalg.det(a)


def solve(
    a: Any,
    b: Any,
    lower: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    assume_a: Any = None,
    transposed: bool = False,
) -> Any:
    """`scipy.linalg.solve` (general matrices under a transform), differentiable in both.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> cr.grad(lambda b: linalg.solve(np.diag([2.0, 4.0]), b).sum())(np.ones(2))
    array([0.5 , 0.25])
    """
    if not _traced(a, b):
        return sl.solve(a, b, lower, overwrite_a, overwrite_b, check_finite, assume_a, transposed)
    _square("solve", a)
    if assume_a not in (None, "general", "gen"):
        raise _unsupported("solve", f"assume_a={assume_a!r}")
    op = _mT(a) if transposed else a
    return _columns("solve", lambda x: cnp.linalg.solve(op, x), a, b)


def solve_banded(
    l_and_u: tuple[int, int],
    ab: Any,
    b: Any,
    overwrite_ab: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """`scipy.linalg.solve_banded`: ``A x = b`` for ``A`` in banded storage
    (``ab[u + i - j, j] = A[i, j]``). Under a transform the band is unpacked and solved as a
    dense matrix (cubic, not linear, in ``n``): entries of `ab` outside the band are never
    read and have derivative 0.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> ab = np.array([[0.0, 1.0], [2.0, 4.0]])  # A = [[2, 1], [0, 4]]: u = 1, l = 0
    >>> cr.grad(lambda b: linalg.solve_banded((0, 1), ab, b).sum())(np.ones(2))
    array([0.5  , 0.125])
    """
    if not _traced(ab, b):
        return sl.solve_banded(l_and_u, ab, b, overwrite_ab, overwrite_b, check_finite)
    lower, upper = (int(k) for k in l_and_u)
    rows, n = shape_of(ab)[-2:]
    if rows != lower + upper + 1:
        raise ValueError(
            f"chainrule.scipy.linalg.solve_banded: ab has {rows} rows, but (l, u) = "
            f"({lower}, {upper}) needs l + u + 1 = {lower + upper + 1}"
        )
    i, j = np.indices((n, n))
    band = upper + i - j  # the row of ab holding A[i, j]
    read = (band >= 0) & (band < rows)
    dense = cnp.where(read, ab[..., np.clip(band, 0, rows - 1), j], 0.0)
    return _columns("solve_banded", lambda x: cnp.linalg.solve(dense, x), dense, b)


def eigh(
    a: Any,
    b: Any = None,
    *,
    lower: bool = True,
    eigvals_only: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    type: int = 1,
    check_finite: bool = True,
    subset_by_index: Any = None,
    subset_by_value: Any = None,
    driver: Any = None,
) -> Any:
    """`scipy.linalg.eigh` of symmetric matrices (``b=None``, no subsets, under a transform).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> a = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> cr.grad(lambda a: linalg.eigh(a, eigvals_only=True)[-1])(a).round(4)
    array([[0.5, 0. ],
           [1. , 0.5]])
    """
    if not _traced(a, b):
        return sl.eigh(
            a, b, lower=lower, eigvals_only=eigvals_only, overwrite_a=overwrite_a,
            overwrite_b=overwrite_b, type=type, check_finite=check_finite,
            subset_by_index=subset_by_index, subset_by_value=subset_by_value, driver=driver,
        )  # fmt: skip
    _square("eigh", a)
    options = {"b": b, "subset_by_index": subset_by_index, "subset_by_value": subset_by_value}
    for option, value in options.items():
        if value is not None:
            raise _unsupported("eigh", f"{option}=")
    w, v = cnp.linalg.eigh(a, UPLO="L" if lower else "U")
    return w if eigvals_only else _results(_stacked((a, 2)), w, v)


def svd(
    a: Any,
    full_matrices: bool = True,
    compute_uv: bool = True,
    overwrite_a: bool = False,
    check_finite: bool = True,
    lapack_driver: str = "gesdd",
) -> Any:
    """`scipy.linalg.svd`. Under a transform, non-square input needs ``full_matrices=False``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> a = np.array([[3.0, 0.0], [0.0, 1.0]])
    >>> cr.grad(lambda a: linalg.svd(a, compute_uv=False)[0])(a)
    array([[1., 0.],
           [0., 0.]])
    """
    if not _traced(a):
        return sl.svd(a, full_matrices, compute_uv, overwrite_a, check_finite, lapack_driver)
    if ndim_of(a) < 2:
        raise ValueError(f"chainrule.scipy.linalg.svd: expected a matrix, got {shape_of(a)}")
    m, n = shape_of(a)[-2:]
    if compute_uv and full_matrices and m != n:
        raise ValueError(
            f"chainrule.scipy.linalg.svd: full_matrices=True on a non-square {(m, n)} input "
            "cannot be differentiated (the extra singular vectors are not determined by the "
            "input). Pass full_matrices=False."
        )
    out = cnp.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return _results(_stacked((a, 2)), *out) if compute_uv else out


def qr(
    a: Any,
    overwrite_a: bool = False,
    lwork: Any = None,
    mode: str = "full",
    pivoting: bool = False,
    check_finite: bool = True,
) -> Any:
    """`scipy.linalg.qr` for ``m >= n`` under a transform: modes 'economic', 'r' and 'full'
    (square input for 'full'); no pivoting.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import linalg
    >>> a = np.array([[3.0], [4.0]])
    >>> cr.grad(lambda a: linalg.qr(a, mode="r")[0][0, 0] ** 2)(a)
    array([[6.],
           [8.]])
    """
    if not _traced(a):
        return sl.qr(a, overwrite_a, lwork, mode, pivoting, check_finite)
    if pivoting:
        raise _unsupported("qr", "pivoting=True")
    if ndim_of(a) < 2:
        raise ValueError(f"chainrule.scipy.linalg.qr: expected a matrix, got {shape_of(a)}")
    m, n = shape_of(a)[-2:]
    stacked = _stacked((a, 2))
    if m < n:
        raise ValueError(
            f"chainrule.scipy.linalg.qr: the derivative needs m >= n, got a {(m, n)} input; "
            "differentiate the QR of the transpose instead."
        )
    if mode == "economic" or (mode == "full" and m == n):
        return _results(stacked, *cnp.linalg.qr(a, mode="reduced"))
    if mode == "r":
        r = cnp.linalg.qr(a, mode="r")
        zeros = np.zeros((*shape_of(r)[:-2], m - n, n), primal(r).dtype)
        return _results(stacked, cnp.concatenate([r, zeros], axis=-2))
    raise _unsupported("qr", f"mode={mode!r} on a {(m, n)} input")
