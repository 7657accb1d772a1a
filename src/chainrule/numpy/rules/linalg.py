"""Linear algebra: inv, det, slogdet, solve, norm, cholesky, eigh, eigvalsh, svd, qr, pinv,
lstsq, matrix_power, multi_dot, and NumPy 2's vector_norm, matrix_norm, svdvals, cond,
tensorinv, tensorsolve and array-API names (trace, diagonal, outer, vecdot, cross, matmul,
tensordot, matrix_transpose).

Every function accepts stacks of matrices ``(..., m, n)`` as NumPy does, and on plain arrays
is NumPy's own function. Primitives with their own rules, forward and reverse (the reverse
rule is the adjoint of the forward one, both written with differentiable functions, so every
higher order follows):

- ``inv``: ``dX = -X dA X``. ``det``: ``d det = tr(adj(A) dA)`` (Jacobi's formula), with
  the adjugate computed from the SVD ``A = U S Vᴴ`` as ``det(U) det(Vᴴ) V diag(Π_{j≠i} s_j)
  Uᴴ`` (``ᴴ`` is ``ᵀ`` for real `A`): no division, so it is exact at singular matrices too (as JAX; a rank ``n-2`` matrix
  has adjugate 0). Its own derivative, the second derivative of ``det``, comes the same way
  from products of ``n-2`` singular values, exact at every matrix; orders 3 and up divide
  by ``det`` and raise ``LinAlgError`` at a (nearly) singular matrix.
  ``slogdet``: ``d log|det| = tr(A⁻¹ dA)``; at a singular matrix the value is ``(0, -inf)``
  as in NumPy, JAX and PyTorch, and the derivative (infinite) raises ``LinAlgError``. The
  ``sign`` of ``slogdet`` of a real matrix is piecewise constant and returned as a plain
  array; of a complex one it moves, ``d sign = i Im(tr(A⁻¹ dA)) sign``, and ``d log|det| =
  Re tr(A⁻¹ dA)``: ``slogdet`` is not holomorphic (JAX's rules).
- ``solve(a, b)``: ``dx = A⁻¹ (db - dA x)``; differentiable in both; `b` a vector or a
  stack of matrices, broadcast as in NumPy.
- ``norm``: one primitive for vector norms (and the Frobenius norm), whose derivative is a
  weight array ``w = ∂‖x‖/∂x``: ``x/‖x‖`` for the 2-norm, ``sign(x) (|x|/‖x‖)^(p-1)`` for a
  p-norm (no power of an entry beyond what NumPy's value already takes, so no new
  overflow). Conventions: at the zero vector the gradient is 0 (a subgradient) for every
  ``ord``; for ``inf``/``-inf`` tied entries share the derivative equally; ``ord=0`` (a
  count) has derivative 0; for ``p < 1`` an entry equal to 0 gets derivative 0 (the true
  one is infinite). Second derivatives at the zero vector are not meaningful. Matrix
  norms are compositions: ``1``/``inf`` (and negatives) are a vector inf-norm of column
  (row) 1-norms, ``2``/``-2``/``'nuc'`` come from singular values, ``'fro'`` is the 2-norm
  over two axes. Of complex `x` the norm is real and not holomorphic: ``w`` is the weight
  with ``d‖x‖ = Re Σ w dx``, ``conj(x)/‖x‖`` for the 2-norm, ``conj(x)/|x|`` in place of
  ``sign(x)`` for the others (differentiable, as JAX).
- ``cholesky``: ``dL = L Φ(L⁻¹ dA L⁻ᵀ)``, Φ taking the lower triangle with the diagonal
  halved (Murray 2016); ``L⁻ᴴ`` for complex (Hermitian) input.
- ``eigh``: ``dλ = diag(Vᵀ dA V)``, ``dV = V (F ∘ Vᵀ dA V)`` with ``F_ij = 1/(λ_j - λ_i)``.
  Eigenvalues must be distinct for the eigenvector derivative; ``F`` is set to 0 where
  eigenvalues coincide, so derivatives through eigenvalues alone (``eigvalsh``, a trace)
  stay finite even then. Eigenvectors are defined up to sign: differentiate only functions
  that do not depend on it (``V diag(f(λ)) Vᵀ``, ``v vᵀ``).
- ``svd`` (Townsend 2016): distinct nonzero singular values assumed for ``U`` and ``Vh``
  (same zero-gap convention as ``eigh``, so ``compute_uv=False`` stays finite at repeated
  ones); singular vectors are defined up to sign, as for ``eigh``. Under a derivative,
  ``full_matrices=True`` on a non-square input raises (the extra columns of ``U`` or rows
  of ``Vh`` have no derivative): pass ``full_matrices=False``.
- ``qr``: mode 'reduced' (and 'complete' for square, 'r'), ``m >= n`` and full rank under a
  transform: with ``X = Qᵀ dA R⁻¹`` and ``Ω = tril(X,-1) - tril(X,-1)ᵀ``, ``dR = (X - Ω) R``
  and ``dQ = dA R⁻¹ - Q (X - Ω)``. For complex input ``Qᴴ`` and ``ᴴ`` replace ``Qᵀ`` and
  ``ᵀ``, and ``Ω`` gains ``i Im diag(X)``: LAPACK's ``R`` has a real diagonal (of either
  sign, not normalised), which fixes the decomposition, and its derivative keeps it real.
- ``eig``: ``dλ = diag(V⁻¹ dA V)``, ``dV = V (F ∘ V⁻¹ dA V) + V diag(c)`` (``F`` as for
  ``eigh``), with ``c`` the derivative of NumPy's (LAPACK's) normalisation: each eigenvector
  of unit 2-norm with its largest entry real (as JAX), positive for complex input, of a sign
  LAPACK leaves free for real input. ``eigvals``: ``dλ`` alone, holomorphic.
  Distinct eigenvalues needed: under a derivative, a matrix with repeated eigenvalues, or
  one so close to repeated or to defective that the derivative would lose half its digits
  (a first-order estimate, ``eps ‖A‖ cond(V) / gap > √eps``), raises ``LinAlgError``.

Complex input (JAX's convention, `chainrule.core.primitive`): ``cholesky``, ``eigh``,
``eigvalsh``, ``svd``, ``svdvals``, ``qr`` and ``eig`` are not holomorphic (``holomorphic=True``
refuses them); ``eigvals`` is. Eigenvectors and singular vectors are defined up to a phase
each (a common phase for a pair ``u_i``, ``v_i``): ``eigh`` and ``svd`` take the derivative
in the gauge ``Im diag(Vᴴ dV) = 0`` (for ``svd``, ``Uᴴ dU`` takes the rest), as JAX. NumPy's
own phases follow no smooth rule, so only functions that do not depend on the phases have
meaningful derivatives: ``U diag(f(s)) Vᴴ``, ``|U|``, ``v vᴴ``, the values ``s`` and ``λ``.
(``eig``'s eigenvectors of a complex matrix, normalised as above, are differentiated
exactly.)
- ``pinv``: the Golub–Pereyra formula ``dA⁺ = -A⁺ dA A⁺ + A⁺A⁺ᵀ dAᵀ (I - A A⁺) +
  (I - A⁺A) dAᵀ A⁺ᵀ A⁺``: exact for full rank, and for perturbations keeping the rank.
  For complex matrices ``ᵀ`` is ``ᴴ`` there: `pinv` is not holomorphic.

Symmetric inputs (``cholesky``, ``eigh``, ``eigvalsh``, and ``hermitian=True`` in ``svd``
and ``pinv``): NumPy reads one triangle only, the lower one (the upper with ``UPLO='U'``
or ``upper=True``), and the derivative is exactly that of the function NumPy computes, of
``tril(A) + tril(A, -1)ᵀ`` (or its upper analogue): 0 in the triangle not read, and an
off-diagonal entry of the triangle read stands for both ``a_ij`` and ``a_ji``. Complex
input is read as Hermitian, ``tril(A, -1) + tril(A, -1)ᴴ + Re diag(A)`` (LAPACK ignores
the imaginary part of the diagonal, whose derivative is 0 too). (JAX
solves for ``(A + Aᵀ)/2`` by default, another function off the symmetric matrices, with
symmetric gradients; the two agree on symmetric inputs along symmetric perturbations, and
``f(A) = eigh((A + Aᵀ)/2)`` gets JAX's gradient here too.)

Compositions (no rules of their own): ``eigvalsh`` (from ``eigh``), ``lstsq`` (solution
``pinv(a) @ b``; residuals ``sum((b - a x)²)`` differentiable; rank and singular values
plain, taken from NumPy), ``matrix_power`` (repeated squaring; ``inv`` first for negative
powers; the identity, a constant, for 0), ``multi_dot`` (matmuls in NumPy's optimal order),
and NumPy 2's names:

- ``vector_norm`` (several axes flattened into one, as NumPy does) and ``matrix_norm``
  (``norm`` over the last two axes): ``norm``'s conventions at 0 and at kinks.
- ``svdvals``: ``svd(x, compute_uv=False)``.
- ``cond``: ``s_max / s_min`` through ``svd`` for ``p`` None or 2 (``s_min / s_max`` for
  -2), else ``norm(x, p) * norm(inv(x), p)``; at ties (repeated extreme singular values,
  tied column or row sums) the derivative is the one those rules pick. It is infinite at a
  singular matrix, and inaccurate at a numerically singular one: under a derivative, a
  matrix below ``matrix_rank``'s tolerance raises ``LinAlgError`` (``p=-2`` excepted, finite
  there, unless the matrix is 0).
- ``tensorinv``, ``tensorsolve``: ``inv`` and ``solve`` of the reshaped arrays.
- ``trace``, ``diagonal``, ``outer``, ``vecdot``, ``cross``, ``matmul``, ``tensordot``,
  ``matrix_transpose``: the main namespace's rules, with the array API's signatures.

Not differentiable: ``matrix_rank`` (an integer) passes through, NumPy's value.

Under `vmap` every primitive runs once on the whole batch, which becomes one more leading axis
of NumPy's stacks of matrices (``solve`` with a shared matrix factorises it once for every
right-hand side). The checks above (a singular matrix, repeated eigenvalues, ``cond``) look at
every example, and refuse if any one fails. They guard derivatives only: `vmap` alone gives
NumPy's own values, ``full_matrices=True`` and every ``qr`` mode included. ``lstsq``'s
residuals have a shape that depends on the rank: a batch mixing full rank and lower rank
raises a ``TypeError`` (take the solution alone, and compute the residuals from it).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from chainrule import numpy as cnp
from chainrule.core.batching import defbatch
from chainrule.core.primitive import Primitive, defjvp, defjvp_joint, defvjp, primitive
from chainrule.core.trace import Tracer, dtype_of, is_complex, plain, primal

from .common import (
    COMPILED,
    aligned,
    at_front,
    batch_ndim,
    batch_size,
    check,
    conj_if_complex,
    elementwise_batch,
    every_example,
    ndim_of,
    nondiff,
    normalize_axes,
    shape_of,
    to_front,
    unbroadcast,
)

_NUMPY2 = int(np.__version__.split(".")[0]) >= 2

# The public names whose rules are checked on complex values (tests/test_complex*.py); the
# README's coverage table reads this tuple. Each family of functions adds its names.
COMPLEX: tuple[str, ...] = ()


# ------------------------------------------------------------------------------ helpers


def _traced(*xs: Any) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _result(kind: Any, *values: Any) -> Any:
    """NumPy's named result tuple (EighResult, SVDResult...) where this NumPy has one."""
    return kind(*values) if hasattr(kind, "_fields") else tuple(values)


def _mT(x: Any) -> Any:
    """Swap the last two axes (leading axes, batch axes included, stay in place)."""
    n = ndim_of(x)
    return cnp.transpose(x, (*range(n - 2), n - 1, n - 2))


def _mask(pattern: np.ndarray, like: Any) -> np.ndarray:
    """A constant matrix in the dtype of `like` (so float32 stays float32)."""
    return pattern.astype(like.dtype)


def _diag_part(x: Any) -> Any:
    """The diagonals of a stack of square matrices, ``(..., n, n) -> (..., n)``."""
    return cnp.sum(x * _mask(np.eye(shape_of(x)[-1]), x), axis=-1)


def _diag_embed(v: Any) -> Any:
    """Diagonal matrices from a stack of vectors, ``(..., n) -> (..., n, n)``."""
    return v[..., None, :] * _mask(np.eye(shape_of(v)[-1]), v)


def _strict_lower(x: Any) -> Any:
    return x * _mask(np.tri(shape_of(x)[-1], k=-1), x)


def _mH(x: Any) -> Any:
    """The conjugate transpose of the last two axes (`_mT` on real values)."""
    return conj_if_complex(_mT(x))


def _symmetric_from(x: Any, lower: bool = True) -> Any:
    """The symmetric matrix that NumPy's symmetric solvers read from `x`: its lower (or
    upper) triangle, reflected. Selected, not masked, so that what is never read (NaN, inf)
    cannot leak in; its derivative is 0 in the other triangle. A complex `x` gives the
    Hermitian matrix LAPACK reads: the triangle conjugated, and the real part of the
    diagonal (its imaginary part is ignored, so has derivative 0)."""
    n = shape_of(x)[-1]
    read = np.tri(n, dtype=bool)
    read = read if lower else read.T
    if not is_complex(x):
        return cnp.where(read, x, _mT(x))
    diagonal = np.eye(n, dtype=bool)
    return cnp.where(read & ~diagonal, x, cnp.where(diagonal, cnp.real(x), _mH(x)))


def _safe_reciprocal(x: Any) -> Any:
    """``1/x``, and 0 where ``x == 0`` (with a finite derivative there too)."""
    zero = primal(x) == 0
    return cnp.where(zero, 0.0, 1.0 / cnp.where(zero, 1.0, x))


def _inverse_gaps(w: Any) -> Any:
    """``F_ij = 1/(w_j - w_i)``, and 0 where ``w_j == w_i`` (the diagonal included)."""
    return _safe_reciprocal(w[..., None, :] - w[..., :, None])


def _lifted(t: Any, nb: int, ndim: int) -> Any:
    """A tangent with `nb` batch axes, given size-1 axes after them to reach ``nb + ndim``."""
    shape = shape_of(t)
    return cnp.reshape(t, shape[:nb] + (1,) * (nb + ndim - len(shape)) + shape[nb:])


def _expand2(x: Any) -> Any:
    """Scalars per matrix, ``(...,) -> (..., 1, 1)``, to scale a stack of matrices."""
    return cnp.reshape(x, (*shape_of(x), 1, 1))


def _stacked(prim: Primitive) -> None:
    """NumPy's linalg functions map over the leading axes of a stack of matrices: under `vmap`
    the batch becomes one more of them, and the primitive runs once on the whole stack."""
    defbatch(prim, elementwise_batch(prim, front=True))


def _differentiated(x: Any) -> bool:
    """Whether `x` carries a derivative (a tracer other than `vmap`'s batches): the checks and
    restrictions that derivatives need do not apply to values alone."""
    return isinstance(x, Tracer) and primal(x) is not x


def _numpy_values(fn: Any, name: str, multiple_results: bool = False) -> Primitive:
    """NumPy's `fn` with a batching rule and no derivative: what `vmap` alone computes where
    the differentiable path refuses the input or computes it otherwise."""
    prim = primitive(fn, name, multiple_results=multiple_results)
    _stacked(prim)
    return prim


# --------------------------------------------------------------------- inv, det, slogdet

# inv, solve, det, the norms, pinv... and the array-API names (tests/test_complex_linalg.py)
COMPLEX += (
    "cond", "cross", "det", "diagonal", "inv", "lstsq", "matmul", "matrix_norm", "matrix_power",
    "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "slogdet", "solve", "tensordot",
    "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm",
)  # fmt: skip


inv = primitive(np.linalg.inv, "inv")
defvjp(inv, lambda g, ans, a: -(_mT(ans) @ g @ _mT(ans)))
defjvp(inv, lambda t, ans, a: -(ans @ t @ ans))
_stacked(inv)


def _trace_inv_times(t: Any, a: Any) -> Any:
    """``tr(A⁻¹ T)`` per matrix, for a (batched) tangent `T`."""
    return cnp.sum(_mT(inv(a)) * t, axis=(-2, -1))


def _trace_of_product(x: Any, y: Any) -> Any:
    """``tr(X Y)`` per matrix."""
    return cnp.sum(x * _mT(y), axis=(-2, -1))


def _before_after(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Products of the entries before and after each one along the last axis (no division)."""
    ones = np.ones_like(s[..., :1])
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return before, after


def _products_but_one(s: np.ndarray) -> np.ndarray:
    """``P_i = Π_{j≠i} s_j`` along the last axis, exact where some ``s_j`` are 0."""
    before, after = _before_after(s)
    return before * after


def _products_but_two(s: np.ndarray) -> np.ndarray:
    """``Q_ik = Π_{j∉{i,k}} s_j`` for ``i ≠ k`` and 0 on the diagonal, without division."""
    n = s.shape[-1]
    before, after = _before_after(s)
    later = np.arange(n)[None, :] > np.arange(n)[:, None]  # k > i
    # between[i, k] = Π_{i<j<k} s_j: a running product along each row, started after i.
    running = np.cumprod(np.where(later, s[..., None, :], 1.0), axis=-1)
    between = np.concatenate([np.ones_like(running[..., :1]), running[..., :-1]], axis=-1)
    upper = np.where(later, before[..., :, None] * between * after[..., None, :], 0.0)
    return (upper + np.swapaxes(upper, -1, -2)).astype(s.dtype)


def _svd_parts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``A = U diag(s) Vᴴ`` as ``(Uᴴ, s, V, c)``, with ``c = det(U) det(Vᴴ)`` per matrix, of
    modulus 1 (``±1`` for real `a`, where ``ᴴ`` is ``ᵀ``)."""
    u, s, vh = np.linalg.svd(a)
    c = np.sign(np.linalg.det(u) * np.linalg.det(vh))[..., None, None]
    uh, v = np.swapaxes(u, -1, -2), np.swapaxes(vh, -1, -2)
    if np.iscomplexobj(a):
        uh, v = uh.conj(), v.conj()
    return uh, s, v, c.astype(u.dtype)


def _adjugate_impl(a: Any) -> np.ndarray:
    """``adj(A) = c V diag(Π_{j≠i} s_j) Uᴴ``: defined, and exact to rounding, at every rank."""
    a = np.asarray(a)
    if a.shape[-1] == 0:
        return np.zeros_like(a)
    uh, s, v, c = _svd_parts(a)
    return c * (v * _products_but_one(s)[..., None, :]) @ uh


def _adjugate_derivative_impl(a: Any, t: Any) -> np.ndarray:
    """``d adj(A)[T] = c V (diag(Q b) - B ∘ Q) Uᴴ`` with ``B = Uᴴ T V``, ``b = diag(B)``.

    In the SVD basis ``adj(S + B)`` is a polynomial whose first-order part is read off the
    cofactors of a diagonal matrix: ``Q_ik = Π_{j∉{i,k}} s_j``, so no division by `s`.
    ``T`` may carry leading batch axes.
    """
    a = np.asarray(a)
    if a.shape[-1] == 0:
        return np.zeros(np.broadcast_shapes(np.shape(t), a.shape), a.dtype)
    uh, s, v, c = _svd_parts(a)
    q = _products_but_two(s)
    b = uh @ t @ v
    diagonal = np.diagonal(b, axis1=-2, axis2=-1)
    inner = (q @ diagonal[..., None]) * np.eye(a.shape[-1], dtype=a.dtype) - b * q
    return c * v @ inner @ uh


_adjugate = primitive(_adjugate_impl, "adjugate")
_adjugate_derivative = primitive(_adjugate_derivative_impl, "adjugate_derivative")


def _adjugate_adjoint(a: Any, g: Any) -> Any:
    """The adjoint of ``T -> d adj(A)[T]``, which is ``G -> (d adj(A)[Gᵀ])ᵀ``."""
    return _mT(_adjugate_derivative(a, _mT(g)))


@check
def _nonsingular(a: np.ndarray) -> None:
    """Check that the division by ``det`` below is accurate at `a`."""
    s = np.linalg.svd(a, compute_uv=False)
    if np.any(s[..., -1] <= math.sqrt(float(np.finfo(s.dtype).eps)) * s[..., 0]):
        raise np.linalg.LinAlgError(
            "chainrule.numpy.linalg.det: derivatives of order 3 and higher divide by det(A), "
            "so they are not available at a singular or nearly singular matrix (smallest / "
            "largest singular value below sqrt(eps)). The first and second derivatives are "
            "exact there."
        )


def _adjugate_second_jvp(s: Any, ans: Any, a: Any, t: Any) -> Any:
    """``d² adj(A)[T, S]``: differentiate ``d adj[T] = (tr(J T) J - J T J) / det`` (J = adj).

    `T` may itself carry batch axes (a Hessian's directions): those of `S` go before them.
    """
    _nonsingular(a)
    s = _lifted(s, batch_ndim(s, a), ndim_of(ans))
    j, js, jt = _adjugate(a), _adjugate_derivative(a, s), _adjugate_derivative(a, t)
    terms = (
        _expand2(_trace_of_product(js, t)) * j
        + _expand2(_trace_of_product(j, t)) * js
        - js @ t @ j
        - j @ t @ js
        - _expand2(_trace_of_product(j, s)) * jt
    )
    return terms / _expand2(det(a))


def _adjugate_second_vjp(g: Any, ans: Any, a: Any, t: Any) -> Any:
    """The adjoint in ``S`` of `_adjugate_second_jvp`, term by term."""
    _nonsingular(a)
    j, tt, jt = _adjugate(a), _mT(t), _mT(_adjugate(a))
    g_dot_j = _expand2(cnp.sum(g * j, axis=(-2, -1)))
    x = g_dot_j * tt + _expand2(_trace_of_product(j, t)) * g - g @ jt @ tt - tt @ jt @ g
    g_dot_jt = _expand2(cnp.sum(g * _adjugate_derivative(a, t), axis=(-2, -1)))
    return unbroadcast((_adjugate_adjoint(a, x) - g_dot_jt * jt) / _expand2(det(a)), a)


defvjp(_adjugate, lambda g, ans, a: _adjugate_adjoint(a, g))
defjvp(_adjugate, lambda t, ans, a: _adjugate_derivative(a, t))
defvjp(_adjugate_derivative, _adjugate_second_vjp, lambda g, ans, a, t: _adjugate_adjoint(a, g))
defjvp(
    _adjugate_derivative,
    _adjugate_second_jvp,
    lambda dt, ans, a, t: _adjugate_derivative(a, dt),
)
_stacked(_adjugate)
_stacked(_adjugate_derivative)

det = primitive(np.linalg.det, "det")
defvjp(det, lambda g, ans, a: _expand2(g) * _mT(_adjugate(a)))
defjvp(det, lambda t, ans, a: _trace_of_product(_adjugate(a), t))
_stacked(det)


def _slogdet_vjp(g: Any, ans: Any, a: Any) -> Any:
    """With ``τ = tr(A⁻¹ dA)``: ``d log|det| = Re τ`` and, for complex `a`, ``d sign =
    i Im(τ) sign``; the transpose of both is ``(g_log + i Im(g_sign sign)) A⁻ᵀ``."""
    g_sign, g_log = g
    if is_complex(a):
        g_log = g_log + 1j * cnp.imag(g_sign * ans[0])
    _nonzero_det(ans[0])
    return _expand2(g_log) * _mT(inv(a))


def _slogdet_jvp(ts: Sequence[Any], ans: Any, a: Any) -> Any:
    _nonzero_det(ans[0])
    tau = _trace_inv_times(ts[0], a)
    if not is_complex(a):
        return None, tau
    return 1j * cnp.imag(tau) * ans[0], cnp.real(tau)


@check
def _nonzero_det(sign: np.ndarray) -> None:
    if np.any(sign == 0):
        raise np.linalg.LinAlgError(
            "chainrule.numpy.linalg.slogdet: log|det A| = -inf at a singular matrix, and its "
            "derivative inv(A)ᵀ does not exist there (it is infinite). Differentiate "
            "numpy.linalg.det instead, whose derivative (the adjugate) exists everywhere."
        )


_slogdet = primitive(np.linalg.slogdet, "slogdet", multiple_results=True, holomorphic=False)
defvjp(_slogdet, _slogdet_vjp)
defjvp_joint(_slogdet, _slogdet_jvp)
_stacked(_slogdet)
_SlogdetResult = type(np.linalg.slogdet(np.eye(1)))


def slogdet(a: Any) -> Any:
    """`numpy.linalg.slogdet`: ``(sign, logabsdet)``. Of real `a`, `sign` is a plain array
    (derivative 0); of complex `a` it is differentiable, ``d sign = i Im(tr(A⁻¹ dA)) sign``.

    The gradient of ``log|det A|`` is ``inv(A)ᵀ`` (that of ``det`` is ``det(A) inv(A)ᵀ``):

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[2.0, 1.0], [3.0, 2.0]])
    >>> cr.grad(lambda a: np.linalg.slogdet(a)[1])(a).round(4)
    array([[ 2., -3.],
           [-1.,  2.]])
    """
    if not _traced(a):
        return np.linalg.slogdet(a)
    sign, logabsdet = _slogdet(a)
    return _result(_SlogdetResult, sign if is_complex(a) else primal(sign), logabsdet)


# --------------------------------------------------------------------------------- solve


def _vector_rhs(a: Any, b: Any) -> bool:
    """Whether `solve` treats `b` as (a stack of) vectors rather than matrices."""
    return ndim_of(b) == 1 if _NUMPY2 else ndim_of(b) == ndim_of(a) - 1


def _column(x: Any, vec: bool) -> Any:
    return x[..., None] if vec else x


def _solve_cotangent(g: Any, a: Any, vec: bool) -> Any:
    """``A⁻ᵀ g`` in matrix (column) form: the cotangent of the right-hand side."""
    return solve(_mT(a), _column(g, vec))


def _solve_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    vec = _vector_rhs(a, b)
    gb = _solve_cotangent(g, a, vec)
    return unbroadcast(-(gb @ _mT(_column(ans, vec))), a)


def _solve_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    vec = _vector_rhs(a, b)
    gb = _solve_cotangent(g, a, vec)
    return unbroadcast(gb[..., 0] if vec else gb, b)


def _solve_jvp(tangents: Sequence[Any], ans: Any, a: Any, b: Any) -> Any:
    """``dx = A⁻¹ (db - dA x)``, in column form with tangents lifted to broadcast."""
    ta, tb = tangents
    vec = _vector_rhs(a, b)
    x = _column(ans, vec)
    rank = ndim_of(x)
    rhs = None
    if tb is not None:
        rhs = _lifted(_column(tb, vec), batch_ndim(tb, b), rank)
    if ta is not None:
        term = _lifted(ta, batch_ndim(ta, a), rank) @ x
        rhs = -term if rhs is None else rhs - term
    dx = solve(a, rhs)
    return dx[..., 0] if vec else dx


def _solve_batch(args: list[Any], dims: list[int | None]) -> tuple[Any, int]:
    """A shared matrix and a batch of right-hand sides: one factorisation, every right-hand
    side a column of one matrix (``(n, B)``, or ``(n, B k)`` for matrices). Otherwise a stack
    of systems, the batch first, a batch of vectors made a stack of columns (NumPy 2 reads a
    right-hand side as a vector only when it is 1-D, so ``(B, n)`` would be read as matrices).
    """
    (a, b), (da, db) = args, dims
    ra, rb = ndim_of(a) - (da is not None), ndim_of(b) - (db is not None)
    vec = rb == 1 if _NUMPY2 else rb == ra - 1
    if da is None and ra == 2 and db is not None and rb <= 2:
        b = cnp.moveaxis(b, db, 1) if db != 1 else b
        n, size = shape_of(b)[:2]
        x = solve(a, cnp.reshape(b, (n, -1)))
        return (x if vec else cnp.reshape(x, (n, size, -1))), 1
    a, b = to_front(a, da), to_front(b, db)
    if vec:
        b = cnp.expand_dims(b, -1)
    (a, b), d = aligned([a, b], [None if da is None else 0, None if db is None else 0], True)
    x = solve(a, b)
    return (x[..., 0] if vec else x), d


solve = primitive(np.linalg.solve, "solve")
defvjp(solve, _solve_vjp_a, _solve_vjp_b)
defjvp_joint(solve, _solve_jvp)
defbatch(solve, _solve_batch)


# ---------------------------------------------------------------------------------- norm


def _norm_weights(x: Any, n: Any, ord: Any, axis: Any, keepdims: bool) -> Any:
    """``w`` with ``d‖x‖ = Re(Σ w dx)`` for a vector norm over `axis` (or the Frobenius norm
    over two axes): ``∂‖x‖/∂x`` for real `x`; for complex `x`, ``conj(x)/|x|`` stands where
    real `x` has ``sign(x)``, and is differentiable."""
    axes = normalize_axes(axis, ndim_of(x))
    if not keepdims:
        n = cnp.reshape(n, tuple(1 if i in axes else d for i, d in enumerate(shape_of(x))))
    xv = primal(x)
    p = 2 if ord in (None, "fro", "f") else ord
    if p == 2:
        return conj_if_complex(x) * _safe_reciprocal(n)
    if p == 0:
        return np.zeros_like(xv)  # (a tracer hands it to chainrule.numpy: the batch kept)
    sign = cnp.conjugate(cnp.sign(x)) if is_complex(xv) else cnp.sign(xv)
    if p == 1:
        return sign
    if p in (math.inf, -math.inf):
        size = cnp.abs(xv)
        hit = (size == primal(n)).astype(size.dtype)
        return sign * (hit / cnp.sum(hit, axis=axes, keepdims=True))
    # sign(x) (|x|/‖x‖)^(p-1), with zero entries (and the zero vector) given weight 0.
    zero = xv == 0
    ratio = cnp.where(zero, 1.0, cnp.abs(x) / cnp.where(primal(n) == 0, 1.0, n))
    return sign * cnp.where(zero, 0.0, ratio ** (p - 1.0))


def _expand_reduced(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    if keepdims:
        return g
    axes = normalize_axes(axis, ndim_of(x))
    return cnp.reshape(g, tuple(1 if i in axes else d for i, d in enumerate(shape_of(x))))


def _vnorm_vjp(
    g: Any, ans: Any, x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False
) -> Any:
    return _expand_reduced(g, x, axis, keepdims) * _norm_weights(x, ans, ord, axis, keepdims)


def _vnorm_jvp(
    t: Any, ans: Any, x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False
) -> Any:
    nb = batch_ndim(t, x)
    axes = tuple(a + nb for a in normalize_axes(axis, ndim_of(x)))
    w = _norm_weights(x, ans, ord, axis, keepdims)
    dn = cnp.sum(w * t, axis=axes, keepdims=keepdims)
    return cnp.real(dn) if is_complex(dn) else dn


def _vnorm_batch(
    args: list[Any], dims: list[int | None], ord: Any = None, axis: Any = None,
    keepdims: bool = False,
) -> tuple[Any, int]:  # fmt: skip
    """The batch first, `axis` shifted past it; with no `axis` (the 2-norm of every entry),
    each example flattened into one row."""
    x = to_front(args[0], dims[0])
    nd = ndim_of(x) - 1
    if axis is None and ord is None:
        size = shape_of(x)[0]
        out = _vnorm(cnp.reshape(x, (size, -1)), axis=1)
        return (cnp.reshape(out, (size, *(1,) * nd)) if keepdims else out), 0
    # NumPy reads an `ord` without `axis` as a norm of a vector or a matrix: all its axes.
    axes = tuple(range(nd)) if axis is None else axis
    shifted = (
        tuple(int(i) % nd + 1 for i in axes) if isinstance(axes, (tuple, list)) else axes % nd + 1
    )
    return _vnorm(x, ord=ord, axis=shifted, keepdims=keepdims), 0


# NumPy's norm, used under a transform for vector norms and the Frobenius norm only.
_vnorm = primitive(np.linalg.norm, "norm")
defvjp(_vnorm, _vnorm_vjp)
defjvp(_vnorm, _vnorm_jvp)
defbatch(_vnorm, _vnorm_batch)


def _matrix_norm(x: Any, ord: Any, row: int, col: int, keepdims: bool) -> Any:
    if ord in (None, "fro", "f"):
        return _vnorm(x, axis=(row, col), keepdims=keepdims)
    if ord in (1, -1, math.inf, -math.inf):
        # max/min over one axis of the 1-norms along the other, kept as size-1 axes.
        inner, outer = (row, col) if abs(ord) == 1 else (col, row)
        sums = _vnorm(x, ord=1, axis=inner, keepdims=True)
        out = _vnorm(sums, ord=math.inf if ord > 0 else -math.inf, axis=outer, keepdims=True)
    elif ord in (2, -2, "nuc"):
        nd = ndim_of(x)
        rest = [i for i in range(nd) if i not in (row, col)]
        s = svd(cnp.transpose(x, (*rest, row, col)), compute_uv=False)
        out = cnp.sum(s, axis=-1) if ord == "nuc" else s[..., 0 if ord == 2 else -1]
        out = cnp.reshape(
            out, tuple(1 if i in (row, col) else d for i, d in enumerate(shape_of(x)))
        )
    else:
        return np.linalg.norm(np.zeros(shape_of(x)), ord, (row, col))  # NumPy's error: `ord`
    if keepdims:
        return out
    return cnp.reshape(out, tuple(d for i, d in enumerate(shape_of(x)) if i not in (row, col)))


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """`numpy.linalg.norm`: vector and matrix norms (conventions in the module docstring).

    The gradient of the 2-norm is ``x / ‖x‖``, and 0 at the zero vector:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(np.linalg.norm)(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    >>> cr.grad(np.linalg.norm)(np.zeros(2))
    array([0., 0.])
    """
    if not _traced(x):
        return np.linalg.norm(x, ord, axis, keepdims)
    nd = ndim_of(x)
    flat = ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1)
    if axis is None and flat:
        return _vnorm(x, keepdims=keepdims)
    axes = tuple(range(nd)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    if len(axes) == 1:
        return _vnorm(x, ord=ord, axis=axes[0], keepdims=keepdims)
    if len(axes) == 2:
        row, col = (int(a) % nd for a in axes)
        if row == col:
            raise ValueError("Duplicate axes given.")
        return _matrix_norm(x, ord, row, col, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


# ------------------------------------------------------------------------------ cholesky


def _phi(x: Any) -> Any:
    """The lower triangle with the diagonal halved."""
    n = shape_of(x)[-1]
    return x * _mask(np.tri(n) - 0.5 * np.eye(n), x)


def _lower(x: Any, upper: bool) -> Any:
    return _mH(x) if upper else x


# Complex (Hermitian) input: ``dL = L Φ(L⁻¹ dA L⁻ᴴ)``, whose diagonal is real as that of
# ``L``; the reverse rule is its transpose (``L⁻ᵀ Φ(Lᵀ g) conj(L⁻¹)``).
def _cholesky_vjp(g: Any, ans: Any, a: Any, upper: bool = False) -> Any:
    L, gL = _lower(ans, upper), _lower(g, upper)
    L_inv = inv(L)
    return _mT(L_inv) @ _phi(_mT(L) @ gL) @ conj_if_complex(L_inv)


def _cholesky_jvp(t: Any, ans: Any, a: Any, upper: bool = False) -> Any:
    L = _lower(ans, upper)
    L_inv = inv(L)
    return _lower(L @ _phi(L_inv @ t @ _mH(L_inv)), upper)


# `_cholesky` and `_eigh` have the rules of functions of symmetric matrices: in the public
# functions, `_symmetric_from` makes their input and tangents symmetric, and takes their
# cotangents back onto the triangle NumPy reads.
_cholesky = primitive(np.linalg.cholesky, "cholesky", holomorphic=False)
defvjp(_cholesky, _cholesky_vjp)
defjvp(_cholesky, _cholesky_jvp)
_stacked(_cholesky)


def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """`numpy.linalg.cholesky`: ``L`` with ``L Lᵀ = a`` (``Lᵀ`` with ``upper=True``).

    NumPy reads the lower triangle of `a` only (the upper with ``upper=True``), and so does
    the derivative: the other triangle has derivative 0, and an entry of the triangle read
    stands for both ``a_ij`` and ``a_ji``. The square root of a 1×1 matrix:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.linalg.cholesky(a)[0, 0])(np.array([[4.0]]))
    array([[0.25]])

    A complex `a` is read as Hermitian: here ``[[1, -i], [i, 2]]``, whose ``L₁₁ = √(a₁₁ -
    |a₁₀|²)``; its gradient in ``a₁₀`` is ``-conj(a₁₀) / L₁₁ = i`` (JAX's ``∂/∂x - i ∂/∂y``):

    >>> cr.grad(lambda a: np.real(np.linalg.cholesky(a)[1, 1]))(np.array([[1, 0], [1j, 2]]))
    array([[0.5+0.j, 0. +0.j],
           [0. +1.j, 0.5+0.j]])
    """
    options = {"upper": True} if upper else {}  # NumPy before 2.0 has no `upper`
    if not _traced(a):
        return np.linalg.cholesky(a, **options)
    return _cholesky(_symmetric_from(a, lower=not upper), **options)


# ----------------------------------------------------------------------- eigh, eigvalsh


# Complex (Hermitian) input: ``X = Vᴴ dA V``, ``dλ = Re diag(X)``, ``dV = V (F ∘ X)``, as
# JAX: each eigenvector's phase is free, and this is the gauge ``Im diag(Vᴴ dV) = 0``.
def _eigh_vjp(g: Any, ans: Any, a: Any, UPLO: str = "L") -> Any:
    (w, v), (gw, gv) = ans, g
    inner = _diag_embed(gw) + _inverse_gaps(w) * (_mT(v) @ gv)
    return conj_if_complex(v) @ inner @ _mT(v)


def _eigh_jvp(tangents: Sequence[Any], ans: Any, a: Any, UPLO: str = "L") -> Any:
    w, v = ans
    x = _mH(v) @ tangents[0] @ v
    dw = _diag_part(x)
    return cnp.real(dw) if is_complex(dw) else dw, v @ (_inverse_gaps(w) * x)


_eigh = primitive(np.linalg.eigh, "eigh", multiple_results=True, holomorphic=False)
defvjp(_eigh, _eigh_vjp)
defjvp_joint(_eigh, _eigh_jvp)
_stacked(_eigh)
_EighResult = type(np.linalg.eigh(np.eye(1)))


def _eigh_of_triangle(a: Any, UPLO: Any) -> Any:
    """`_eigh` of the triangle NumPy reads (``UPLO`` 'L' or 'U', any case; NumPy checks it)."""
    return _eigh(_symmetric_from(a, lower=UPLO not in ("U", "u")), UPLO=UPLO)


def eigh(a: Any, UPLO: Literal["L", "U", "l", "u"] = "L") -> Any:
    """`numpy.linalg.eigh`: ``(eigenvalues, eigenvectors)`` of a symmetric matrix.

    NumPy reads the lower triangle of `a` only (the upper with ``UPLO='U'``), and so does
    the derivative: the other triangle has derivative 0, and an entry below the diagonal
    stands for both ``a_ij`` and ``a_ji``. The gradient of an eigenvalue with unit
    eigenvector ``v`` is ``v_i²`` on the diagonal and ``2 v_i v_j`` below it (whatever the
    sign of ``v``):

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> cr.grad(lambda a: np.linalg.eigh(a)[0][-1])(a).round(4)
    array([[0.5, 0. ],
           [1. , 0.5]])

    A complex `a` is read as Hermitian (``a₁₀`` stands for ``a₁₀`` and ``conj(a₀₁)``), and
    eigenvectors have a free phase (module docstring): the top eigenvector of ``[[2, -i], [i,
    2]]`` is ``(-i, 1)/√2``, and the gradient below the diagonal ``2 conj(v₁) v₀ = -i``:

    >>> cr.grad(lambda a: np.linalg.eigh(a)[0][-1])(np.array([[2, 0], [1j, 2]])).round(4)
    array([[0.5+0.j, 0. +0.j],
           [0. -1.j, 0.5+0.j]])
    """
    if not _traced(a):
        return np.linalg.eigh(a, UPLO)
    return _result(_EighResult, *_eigh_of_triangle(a, UPLO))


def eigvalsh(a: Any, UPLO: Literal["L", "U", "l", "u"] = "L") -> Any:
    """`numpy.linalg.eigvalsh`: the eigenvalues of a symmetric matrix, ascending.

    The sum of squared eigenvalues is ``tr(S²) = Σ s_ij²`` for the symmetric ``S`` that
    NumPy reads from the upper triangle here (``UPLO='U'``): its gradient is ``2 a_ii`` on
    the diagonal, ``4 a_ij`` above it, and 0 below:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> cr.grad(lambda a: (np.linalg.eigvalsh(a, UPLO="U") ** 2).sum())(a).round(4)
    array([[4., 4.],
           [0., 4.]])
    """
    if not _traced(a):
        return np.linalg.eigvalsh(a, UPLO)
    return _eigh_of_triangle(a, UPLO)[0]


# ----------------------------------------------------------------------------------- svd


def _svd_impl(a: Any, hermitian: bool = False) -> Any:
    return np.linalg.svd(a, full_matrices=False, hermitian=hermitian)


# Complex input, as JAX: ``dP = Uᴴ dA V``, ``ds = Re diag(dP)``; each pair of singular
# vectors has a free common phase, fixed by the gauge ``Im diag(Vᴴ dV) = 0``, so that
# ``Uᴴ dU`` takes the term ``i Im(dP_ii) / s_i`` on its diagonal. The reverse rule is the
# transpose of the forward one (conjugates where ``U``, ``V`` enter as ``Uᴴ``, ``V``).
def _svd_vjp(g: Any, ans: Any, a: Any, hermitian: bool = False) -> Any:
    (u, s, vh), (gu, gs, gvh) = ans, g
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    f = _inverse_gaps(s * s)
    utgu = _mT(u) @ gu
    vtgv = conj_if_complex(vh @ _mT(gvh))
    inner = (
        f * (utgu - _mH(utgu)) * s[..., None, :]
        + _diag_embed(gs)
        + s[..., :, None] * (f * (vtgv - _mH(vtgv)))
    )
    s_inv = _safe_reciprocal(s)
    if is_complex(u):
        phase = _diag_part(utgu)
        inner = inner + _diag_embed((phase - cnp.real(phase)) * s_inv)
    u_, vh_ = conj_if_complex(u), conj_if_complex(vh)
    ga = u_ @ inner @ vh_
    if m > k:
        ga = ga + ((gu - u_ @ utgu) * s_inv[..., None, :]) @ vh_
    if n > k:
        ga = ga + u_ @ (s_inv[..., :, None] * (gvh - (gvh @ _mT(vh)) @ vh_))
    return ga


def _svd_jvp(tangents: Sequence[Any], ans: Any, a: Any, hermitian: bool = False) -> Any:
    t = tangents[0]
    u, s, vh = ans
    v = _mH(vh)
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    dp = _mH(u) @ t @ v
    dpt = _mH(dp)
    f = _inverse_gaps(s * s)
    col, row = s[..., None, :], s[..., :, None]
    du = u @ (f * (dp * col + row * dpt))
    dv = v @ (f * (row * dp + dpt * col))
    s_inv = _safe_reciprocal(s)[..., None, :]
    ds = _diag_part(dp)
    if is_complex(ds):
        du = du + u * ((ds - cnp.real(ds))[..., None, :] * s_inv)
        ds = cnp.real(ds)
    if m > k:
        du = du + (t @ v - u @ dp) * s_inv
    if n > k:
        dv = dv + (_mH(t) @ u - v @ dpt) * s_inv
    return du, ds, _mH(dv)


_svd = primitive(_svd_impl, "svd", multiple_results=True, holomorphic=False)
defvjp(_svd, _svd_vjp)
defjvp_joint(_svd, _svd_jvp)
_stacked(_svd)
_SVDResult = type(np.linalg.svd(np.eye(1)))
_svd_values = _numpy_values(np.linalg.svd, "svd", multiple_results=True)


def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """`numpy.linalg.svd`. Under a derivative, non-square input needs ``full_matrices=False``.

    The gradient of the largest singular value is ``u vᵀ``, its singular vectors:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[3.0, 0.0], [0.0, 1.0]])
    >>> cr.grad(lambda a: np.linalg.svd(a, compute_uv=False)[0])(a)
    array([[1., 0.],
           [0., 0.]])

    Of a complex matrix, ``conj(u vᴴ)`` (JAX's convention; free of the vectors' phase):

    >>> cr.grad(lambda a: np.linalg.svd(a, compute_uv=False)[0])(np.array([[3j, 0], [0, 1]]))
    array([[0.-1.j, 0.+0.j],
           [0.+0.j, 0.+0.j]])
    """
    if not _traced(a):
        return np.linalg.svd(a, full_matrices, compute_uv, hermitian)  # type: ignore[call-overload]
    if hermitian:
        a = _symmetric_from(a)
    if not compute_uv:
        return _svd(a, hermitian=hermitian)[1]
    m, n = shape_of(a)[-2:]
    if full_matrices and m != n:
        if not _differentiated(a):
            return _result(_SVDResult, *_svd_values(a, full_matrices=True, hermitian=hermitian))
        raise ValueError(
            f"chainrule.numpy.linalg.svd: full_matrices=True on a non-square ({m}, {n}) input "
            "cannot be differentiated (the extra singular vectors are not determined by the "
            "input). Pass full_matrices=False."
        )
    return _result(_SVDResult, *_svd(a, hermitian=hermitian))


# ------------------------------------------------------------------------------------ qr


# Complex input, as JAX's rule: ``R``'s diagonal is real (LAPACK's Householder
# reflections), so ``Ω`` takes ``i Im diag(X)`` besides ``tril(X,-1) - tril(X,-1)ᴴ``.
def _qr_vjp(g: Any, ans: Any, a: Any) -> Any:
    (q, r), (gq, gr) = ans, g
    c = gr @ _mT(r) - _mT(q) @ gq
    m = c - _strict_lower(c - _mH(c))
    if is_complex(m):
        d = _diag_part(c)
        m = m - _diag_embed(d - cnp.real(d))
    return (gq + conj_if_complex(q) @ m) @ _mT(inv(r))


def _qr_jvp(tangents: Sequence[Any], ans: Any, a: Any) -> Any:
    t = tangents[0]
    q, r = ans
    r_inv = inv(r)
    x = _mH(q) @ t @ r_inv
    low = _strict_lower(x)
    x_minus_omega = x - low + _mH(low)
    if is_complex(x):
        d = _diag_part(x)
        x_minus_omega = x_minus_omega - _diag_embed(d - cnp.real(d))
    return t @ r_inv - q @ x_minus_omega, x_minus_omega @ r


_qr = primitive(np.linalg.qr, "qr", multiple_results=True, holomorphic=False)
defvjp(_qr, _qr_vjp)
defjvp_joint(_qr, _qr_jvp)
_stacked(_qr)
_QRResult = type(np.linalg.qr(np.eye(1)))
_qr_values = _numpy_values(
    lambda a, mode: (np.linalg.qr(a, mode),) if mode == "r" else tuple(np.linalg.qr(a, mode)),
    "qr",
    multiple_results=True,
)


def qr(a: Any, mode: Literal["reduced", "complete", "r", "raw"] = "reduced") -> Any:
    """`numpy.linalg.qr`. Under a derivative: modes 'reduced', 'r' (and 'complete' for square
    input), for ``m >= n``.

    ``log|det A|`` is the sum of ``log|R_ii|``, so its gradient through `R` is ``inv(A)ᵀ``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[2.0, 1.0], [3.0, 2.0]])
    >>> logabsdet = lambda a: np.log(np.abs(np.diagonal(np.linalg.qr(a)[1]))).sum()
    >>> cr.grad(logabsdet)(a).round(4)
    array([[ 2., -3.],
           [-1.,  2.]])

    `R` is NumPy's (LAPACK's), with a real diagonal of either sign: ``R₀₀ = -‖a₀‖`` here,
    whose gradient is ``-conj(a₀) / ‖a₀‖`` in the first column:

    >>> a = np.array([[3j, 0.0], [4.0, 1.0]])
    >>> cr.grad(lambda a: np.real(np.linalg.qr(a)[1][0, 0]))(a).round(4)
    array([[ 0. +0.6j,  0. +0.j ],
           [-0.8+0.j ,  0. +0.j ]])
    """
    if not _traced(a):
        return np.linalg.qr(a, mode)
    m, n = shape_of(a)[-2:]
    if m < n or mode not in ("reduced", "complete", "r") or (mode == "complete" and m != n):
        if not _differentiated(a):
            out = _qr_values(a, mode=mode)
            return out[0] if mode == "r" else tuple(out) if mode == "raw" else _QRResult(*out)
        raise ValueError(
            f"chainrule.numpy.linalg.qr: the derivative is defined for mode='reduced' or 'r' "
            f"(or 'complete' with square input) and m >= n; got mode={mode!r} on a ({m}, {n}) "
            "input. For m < n, differentiate the QR of the transpose instead."
        )
    q, r = _qr(a)
    return r if mode == "r" else _result(_QRResult, q, r)


# ---------------------------------------------------------------------------------- pinv


def _pinv_vjp(g: Any, ans: Any, a: Any, *args: Any, **params: Any) -> Any:
    """The transpose of `_pinv_jvp` under ``Re Σ g dA⁺``: its terms in ``dAᴴ`` transpose to
    conjugates."""
    p, pt, gt = ans, _mT(ans), _mT(g)
    ph = conj_if_complex(pt)
    x = (gt - a @ (p @ gt)) @ (p @ ph) + (ph @ p) @ (gt - (gt @ p) @ a)
    return -(pt @ g @ pt) + conj_if_complex(x)


def _pinv_jvp(t: Any, ans: Any, a: Any, *args: Any, **params: Any) -> Any:
    p, ph, th = ans, conj_if_complex(_mT(ans)), conj_if_complex(_mT(t))
    return -(p @ t @ p) + (p @ ph) @ (th - (th @ a) @ p) + (th - p @ (a @ th)) @ (ph @ p)


_pinv = primitive(np.linalg.pinv, "pinv", holomorphic=False)
defvjp(_pinv, _pinv_vjp)
defjvp(_pinv, _pinv_jvp)
_stacked(_pinv)


_UNSET: Any = object()


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = _UNSET) -> Any:
    """`numpy.linalg.pinv`. With ``hermitian=True`` NumPy reads the lower triangle only (and
    the real part of the diagonal of a complex matrix), and so does the derivative (the
    upper triangle has derivative 0).

    The pseudo-inverse of a full-rank tall matrix is ``(AᵀA)⁻¹Aᵀ``; of a column ``a``, the
    row ``aᵀ/‖a‖²``, whose derivative in ``a[0]`` at ``a = (1, 0)`` is ``(-1, 0)`` then
    ``(0, 1)``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.jacfwd(np.linalg.pinv)(np.array([[1.0], [0.0]]))[0, :, 0, 0]
    array([-1.,  0.])
    """
    options = {"rcond": rcond, "hermitian": hermitian}
    if rtol is not _UNSET:
        options["rtol"] = rtol
    if not _traced(a):
        return np.linalg.pinv(a, **options)
    if hermitian:
        a = _symmetric_from(a)
    return _pinv(a, **options)


# ------------------------------------------------------------------ compositions: lstsq...


def lstsq(a: Any, b: Any, rcond: Any = None) -> Any:
    """`numpy.linalg.lstsq`: ``(x, residuals, rank, s)``; `x` and `residuals` differentiable.

    The slope of a fitted line, differentiated with respect to the data: how much each
    observation moves it.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
    >>> slope = lambda y: np.linalg.lstsq(a, y)[0][1]
    >>> cr.grad(slope)(np.array([1.0, 2.0, 4.0, 3.0])).round(4)
    array([-0.3, -0.1,  0.1,  0.3])
    """
    if not _traced(a, b):
        return np.linalg.lstsq(a, b, rcond)
    m, n = shape_of(a)[-2:]
    eps = float(np.finfo(dtype_of(a)).eps)
    cutoff = eps * max(m, n) if rcond is None else eps if rcond < 0 else rcond
    if isinstance(primal(a), Tracer) or isinstance(primal(b), Tracer):
        residuals, rank, s = _lstsq_batched_parts(a, b, cutoff)
    else:
        _, residuals, rank, s = np.linalg.lstsq(primal(a), primal(b), rcond)
    x = pinv(a, rcond=cutoff) @ b
    if np.size(residuals):
        r = b - a @ x
        squares = cnp.real(r) ** 2 + cnp.imag(r) ** 2 if is_complex(r) else r * r
        residuals = cnp.reshape(cnp.sum(squares, axis=0), np.shape(residuals))
    return x, residuals, rank, s


def _lstsq_batched_parts(a: Any, b: Any, cutoff: float) -> tuple[np.ndarray, Any, Any]:
    """Under `vmap`, `lstsq`'s plain results for every example (NumPy's `lstsq` takes one
    matrix): the singular values, the rank (those above ``cutoff * s_max``), and residuals
    shaped as NumPy's, which has them only for a tall matrix of full rank."""
    if ndim_of(a) != 2:
        raise np.linalg.LinAlgError(
            f"{ndim_of(a)}-dimensional array given. Array must be two-dimensional"
        )
    s = svd(primal(a), compute_uv=False)
    rank = cnp.sum(s > cutoff * s[..., :1], axis=-1, dtype=np.int32)  # NumPy's int32
    m, n = shape_of(a)
    full = np.asarray(plain(every_example(rank))) == n
    if m > n:
        _full_rank_as_traced(rank, n, full)
    if m > n and np.all(full):  # NumPy's shape for the residuals, which the caller computes
        return np.zeros((1,) if ndim_of(b) == 1 else shape_of(b)[1:]), rank, s
    if m <= n or not np.any(full):
        return np.zeros((0,), np.finfo(np.result_type(dtype_of(a), dtype_of(b))).dtype), rank, s
    raise TypeError(
        "chainrule.numpy.linalg.lstsq: under vmap some examples have a matrix of full rank and "
        "others not, so NumPy's residuals would have a different shape from one example to the "
        "next. Use the solution only, `lstsq(a, b)[0]`, and compute the residuals as "
        "`sum(abs(b - a @ x) ** 2, axis=0)`."
    )


@check
def _full_rank_as_traced(rank: np.ndarray, n: int, full: np.ndarray) -> None:
    """Under `jit`: NumPy's residuals have a shape of their own for a tall matrix of full
    rank, so the program is valid only while each matrix is of full rank as when traced."""
    if np.any((rank == n) != full):
        raise np.linalg.LinAlgError(
            f"chainrule.numpy.linalg.lstsq: {COMPILED}, a matrix that had full rank when the "
            "program was traced does not now (or the reverse), and NumPy's residuals would "
            "change shape. Use the solution only, `lstsq(a, b)[0]`, and compute the residuals "
            "as `sum(abs(b - a @ x) ** 2, axis=0)`."
        )


def matrix_power(a: Any, n: int) -> Any:
    """`numpy.linalg.matrix_power`: by repeated squaring (``inv`` first for negative `n`).

    The gradient of ``tr(Aⁿ)`` is ``n (Aⁿ⁻¹)ᵀ``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[1.0, 1.0], [0.0, 1.0]])
    >>> cr.grad(lambda a: np.trace(np.linalg.matrix_power(a, 3)))(a)
    array([[3., 0.],
           [6., 3.]])
    """
    if not _traced(a):
        return np.linalg.matrix_power(a, n)
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError("exponent must be an integer") from None
    if n == 0:
        return np.broadcast_to(np.eye(shape[-1], dtype=a.dtype), shape).copy()
    if n < 0:
        a, n = inv(a), -n
    result = None
    while True:
        if n & 1:
            result = a if result is None else result @ a
        n >>= 1
        if not n:
            return result
        a = a @ a


def _chain_order(dims: list[int]) -> list[list[int]]:
    """Split points of the cheapest product of matrices ``dims[i] x dims[i+1]`` (NumPy's)."""
    k = len(dims) - 1
    cost = [[0.0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = math.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s
    return split


def multi_dot(arrays: Sequence[Any], *, out: Any = None) -> Any:
    """`numpy.linalg.multi_dot`: the chain of products in the cheapest order.

    The gradient of ``u B v`` with respect to ``B`` is the outer product ``u vᵀ``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> u, v = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    >>> cr.grad(lambda b: np.linalg.multi_dot([u, b, v]))(np.zeros((2, 2)))
    array([[3., 4.],
           [6., 8.]])
    """
    if not _traced(*arrays):
        return np.linalg.multi_dot(arrays, out=out)
    if out is not None:
        raise TypeError("chainrule.numpy.linalg.multi_dot: out= is not supported on traced values")
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    mats = list(arrays)
    first, last = ndim_of(mats[0]), ndim_of(mats[-1])
    if first == 1:
        mats[0] = cnp.reshape(mats[0], (1, -1))
    if last == 1:
        mats[-1] = cnp.reshape(mats[-1], (-1, 1))
    split = _chain_order([shape_of(m)[0] for m in mats] + [shape_of(mats[-1])[1]])

    def product(i: int, j: int) -> Any:
        if i == j:
            return mats[i]
        return product(i, split[i][j]) @ product(split[i][j] + 1, j)

    result = product(0, len(mats) - 1)
    out_shape = shape_of(result)[first == 1 : 2 - (last == 1)]
    return cnp.reshape(result, out_shape)


# --------------------------------------------- NumPy 2's linalg: norms, cond, tensor solves


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """`numpy.linalg.vector_norm`: a vector norm over one axis, several (flattened), or all.

    Conventions at 0 and at kinks are `norm`'s (module docstring). The gradient of the
    2-norm over the last two axes, per slice:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> x = np.array([[[3.0, 0.0], [0.0, 4.0]]])
    >>> cr.grad(lambda x: np.linalg.vector_norm(x, axis=(1, 2)).sum())(x)
    array([[[0.6, 0. ],
            [0. , 0.8]]])
    """
    if not _traced(x):
        return np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    shape = shape_of(x)
    if axis is None:
        flat, reduced = cnp.reshape(x, (-1,)), tuple(range(len(shape)))
    elif isinstance(axis, tuple):
        reduced = normalize_axis_tuple(axis, len(shape))  # NumPy's checks (duplicates...)
        rest = tuple(i for i in range(len(shape)) if i not in reduced)
        flat = cnp.reshape(
            cnp.transpose(x, reduced + rest),
            (math.prod(shape[i] for i in reduced), *(shape[i] for i in rest)),
        )
    else:
        return _vnorm(x, ord=ord, axis=axis, keepdims=keepdims)
    result = _vnorm(flat, ord=ord, axis=0)
    if keepdims:
        return cnp.reshape(result, tuple(1 if i in reduced else d for i, d in enumerate(shape)))
    return result


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    """`numpy.linalg.matrix_norm`: `norm` over the last two axes (conventions as there).

    The gradient of the nuclear norm is ``U Vᵀ`` from the SVD:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.linalg.matrix_norm(x, ord="nuc"))(np.array([[2.0, 0.0], [0.0, -1.0]]))
    array([[ 1.,  0.],
           [ 0., -1.]])
    """
    if not _traced(x):
        return np.linalg.matrix_norm(x, keepdims=keepdims, ord=ord)
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def svdvals(x: Any, /) -> Any:
    """`numpy.linalg.svdvals`: the singular values, descending (`svd`'s conventions).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.linalg.svdvals(x)[-1])(np.array([[3.0, 0.0], [0.0, 1.0]]))
    array([[0., 0.],
           [0., 1.]])
    """
    if not _traced(x):
        return np.linalg.svdvals(x)
    return svd(x, compute_uv=False)


def cond(x: Any, p: Any = None) -> Any:
    """`numpy.linalg.cond`: ``s_max / s_min`` for ``p`` None or 2 (``s_min / s_max`` for -2),
    else ``norm(x, p) * norm(inv(x), p)`` over the last two axes, differentiated through
    `svd`, `norm` and `inv` (their conventions at repeated singular values and at kinks).

    NumPy returns ``inf`` at a singular matrix; there is no derivative there, and under a
    transform that raises ``LinAlgError``. The condition number of ``diag(a, 1)`` is ``a``
    for ``a > 1``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(np.linalg.cond)(np.array([[4.0, 0.0], [0.0, 1.0]]))
    array([[ 1.,  0.],
           [ 0., -4.]])
    """
    if not _traced(x):
        return np.linalg.cond(x, p)
    if not _differentiated(x):
        return _cond_values(x, p=p)
    _differentiable_cond(x, p)
    if p is None or p in (2, -2):
        s = svd(x, compute_uv=False)
        return s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


_cond_values = _numpy_values(lambda x, p: np.linalg.cond(x, p), "cond")


@check
def _differentiable_cond(x: np.ndarray, p: Any) -> None:
    """NumPy's checks of `x` and `p`, then: is `x` of full rank (the tolerance of
    `matrix_rank`)? Only then is the condition number finite and differentiable."""
    if not (p is None or p in (2, -2)):
        np.linalg.norm(x, p, axis=(-2, -1))  # NumPy's error for an invalid `p`
        if x.shape[-1] != x.shape[-2]:
            raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    if x.size == 0:
        np.linalg.cond(x, p)  # NumPy's error for an empty matrix
    s = np.linalg.svd(x, compute_uv=False)
    tol = max(x.shape[-2:]) * np.finfo(s.dtype).eps * s[..., 0]
    if np.any(s[..., 0] == 0) or (p != -2 and np.any(s[..., -1] <= tol)):
        raise np.linalg.LinAlgError(
            "chainrule.numpy.linalg.cond: the condition number is infinite (or undefined) at a "
            "singular matrix (numerically: below matrix_rank's tolerance), so it has no "
            "derivative there. Differentiate a finite measure such as the smallest singular "
            "value, svdvals(x)[..., -1], or cond(x, -2), instead."
        )


def tensorinv(a: Any, ind: int = 2) -> Any:
    """`numpy.linalg.tensorinv`: `inv` of `a` seen as a matrix (first `ind` axes as rows).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = 2.0 * np.eye(4).reshape(4, 2, 2)
    >>> cr.grad(lambda a: np.linalg.tensorinv(a, ind=1).sum())(a)[0]
    array([[-0.25, -0.25],
           [-0.25, -0.25]])
    """
    if not _traced(a):
        return np.linalg.tensorinv(a, ind)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    shape = shape_of(a)
    rows = math.prod(shape[ind:])
    return cnp.reshape(inv(cnp.reshape(a, (rows, -1))), shape[ind:] + shape[:ind])


def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """`numpy.linalg.tensorsolve`: `solve` with `a` seen as a matrix, `b` as a vector.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = 2.0 * np.eye(4).reshape(2, 2, 4)
    >>> cr.grad(lambda b: np.linalg.tensorsolve(a, b).sum())(np.ones((2, 2)))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    if not _traced(a, b):
        return np.linalg.tensorsolve(a, b, axes)
    an, bn = ndim_of(a), ndim_of(b)
    if axes is not None:
        order = list(range(an))
        for k in axes:
            order.remove(k)
            order.insert(an, k)
        a = cnp.transpose(a, order)
    shape = shape_of(a)[-(an - bn) :]
    size = math.prod(shape)
    if math.prod(shape_of(a)) != size**2:
        raise np.linalg.LinAlgError(
            "Input arrays must satisfy the requirement "
            "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])"
        )
    return cnp.reshape(solve(cnp.reshape(a, (size, size)), cnp.reshape(b, (-1,))), shape)


# ------------------------------------- NumPy 2's array-API names: the main namespace's rules


def matrix_transpose(x: Any, /) -> Any:
    """`numpy.linalg.matrix_transpose`: swap the last two axes.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.linalg.matrix_transpose(x)[0, 1])(np.zeros((2, 2)))
    array([[0., 0.],
           [1., 0.]])
    """
    if not _traced(x):
        return np.linalg.matrix_transpose(x)
    if ndim_of(x) < 2:
        raise ValueError("Input array must be at least 2-dimensional")
    return _mT(x)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """`numpy.linalg.trace`: `numpy.trace` over the last two axes.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.linalg.trace(x, offset=1).sum())(np.zeros((1, 2, 2)))
    array([[[0., 1.],
            [0., 0.]]])
    """
    if not _traced(x):
        return np.linalg.trace(x, offset=offset, dtype=dtype)
    return cnp.trace(x, offset, -2, -1, dtype)


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """`numpy.linalg.diagonal`: `numpy.diagonal` over the last two axes.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.linalg.diagonal(x)[-1])(np.zeros((2, 2)))
    array([[0., 0.],
           [0., 1.]])
    """
    if not _traced(x):
        return np.linalg.diagonal(x, offset=offset)
    return cnp.diagonal(x, offset, -2, -1)


def outer(x1: Any, x2: Any, /) -> Any:
    """`numpy.linalg.outer`: `numpy.outer` of two 1-D arrays (no flattening).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda u: np.linalg.outer(u, np.array([1.0, 2.0])).sum())(np.ones(3))
    array([3., 3., 3.])
    """
    if not _traced(x1, x2):
        return np.linalg.outer(x1, x2)
    n1, n2 = ndim_of(x1), ndim_of(x2)
    if n1 != 1 or n2 != 1:
        raise ValueError(
            f"Input arrays must be one-dimensional, but they are x1.ndim={n1} and x2.ndim={n2}."
        )
    return cnp.outer(x1, x2)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """`numpy.linalg.vecdot`: dot products of vectors along `axis` (of each operand), the
    other axes broadcast, `x1` conjugated: `numpy.vecdot`'s rules.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> v = np.array([[0.0, 5.0], [3.0, 4.0]])
    >>> cr.grad(lambda n: np.linalg.vecdot(v, n).sum())(np.array([0.6, 0.8]))
    array([3., 9.])
    """
    if not _traced(x1, x2):
        return np.linalg.vecdot(x1, x2, axis=axis)  # type: ignore[call-overload]
    return cnp.vecdot(x1, x2, axis=axis)


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """`numpy.linalg.cross`: `numpy.cross` of 3-vectors along `axis`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> e1, e2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    >>> cr.grad(lambda a: np.linalg.cross(a, e2)[2])(e1)
    array([1., 0., 0.])
    """
    if not _traced(x1, x2):
        return np.linalg.cross(x1, x2, axis=axis)
    d1, d2 = shape_of(x1)[axis], shape_of(x2)[axis]
    if d1 != 3 or d2 != 3:
        raise ValueError(
            "Both input arrays must be (arrays of) 3-dimensional vectors, "
            f"but they are {d1} and {d2} dimensional instead."
        )
    return cnp.cross(x1, x2, axis=axis)


def matmul(x1: Any, x2: Any, /) -> Any:
    """`numpy.linalg.matmul`: `numpy.matmul` without its keywords.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.linalg.matmul(a, np.array([1.0, 2.0])).sum())(np.zeros((2, 2)))
    array([[1., 2.],
           [1., 2.]])
    """
    return cnp.matmul(x1, x2)


def tensordot(x1: Any, x2: Any, /, *, axes: Any = 2) -> Any:
    """`numpy.linalg.tensordot`: `numpy.tensordot` with `axes` keyword-only.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> b = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda a: np.linalg.tensordot(a, b))(np.zeros((2, 2)))
    array([[1., 2.],
           [3., 4.]])
    """
    return cnp.tensordot(x1, x2, axes)


# ---------------------------------------------------------------- not differentiable


def _rank_batch(fn: Any, args: list[Any], dims: list[int | None], **kwargs: Any) -> tuple[Any, int]:
    """The batch first in the stack of matrices, and in a tolerance that broadcasts against
    the stack's leading axes (the batch axis, then size-1 axes up to their number)."""
    size = batch_size(args, dims)
    a, *rest = args
    lead = ndim_of(a) - (dims[0] is not None) - 2
    a = at_front(a, dims[0], size)
    for i, (x, d) in enumerate(zip(rest, dims[1:], strict=True)):
        if d is not None:
            x = to_front(x, d)
            s = shape_of(x)
            rest[i] = cnp.reshape(x, (size, *(1,) * (lead - len(s) + 1), *s[1:]))
    return fn(a, *rest, **kwargs), 0


def _numpy_rank(A: Any, tol: Any, hermitian: bool, rtol: Any) -> Any:
    """NumPy's, with every argument by position: a batch of `rtol` (keyword-only in NumPy)
    then maps as `tol` does (`nondiff` batches positional arguments)."""
    return np.linalg.matrix_rank(A, tol, hermitian, rtol=rtol)


_rank = nondiff(_numpy_rank, _rank_batch)


def matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:
    """`numpy.linalg.matrix_rank`: NumPy's value (an integer has no derivative)."""
    return _rank(A, tol, hermitian, rtol)


# ------------------------------------------------------------------------ eig, eigvals


def _largest_entries(v: Any) -> Any:
    """A mask of the entry of largest modulus in each column (the first among ties, as
    LAPACK's ``idamax``): LAPACK makes that entry of each eigenvector real. `v` is a value
    (no derivative), or a batch of them under `vmap`."""
    top = np.argmax(cnp.abs(v), axis=-2)
    return (np.arange(shape_of(v)[-1])[:, None] == top[..., None, :]).astype(dtype_of(v))


def _eig_gauge(v: Any, u: Any) -> Any:
    """``c`` for ``dV = U + V diag(c)`` that keeps NumPy's (LAPACK's) normalisation: each
    column of unit 2-norm, ``Re(vᴴ dv) = 0``, and its largest entry real, ``Im dv_k = 0``."""
    c = -cnp.real(cnp.sum(conj_if_complex(v) * u, axis=-2))
    if not is_complex(v):
        return c
    mask = _largest_entries(primal(v))
    top = cnp.sum(u * mask, axis=-2)
    return c - (top - cnp.real(top)) / cnp.real(cnp.sum(v * mask, axis=-2))


def _eig_jvp(tangents: Sequence[Any], ans: Any, a: Any, *, gauge: bool) -> Any:
    """``P = V⁻¹ dA V``: ``dλ = diag(P)``, ``dV = V (F ∘ P) + V diag(c)``, ``F_ij = 1/(λ_j -
    λ_i)``, with NumPy's gauge ``c`` (`_eig_gauge`) or, for `gauge` False, ``c = 0``."""
    w, v = ans
    p = solve(v, tangents[0] @ v)
    u = v @ (_inverse_gaps(w) * p)
    if gauge:
        u = u + v * _eig_gauge(v, u)[..., None, :]
    return _diag_part(p), u


def _eig_vjp(g: Any, ans: Any, a: Any, *, gauge: bool) -> Any:
    """The transpose of `_eig_jvp` under ``Re(sum(a * b))``."""
    (w, v), (gw, gv) = ans, g
    if gauge:
        h = cnp.sum(gv * v, axis=-2)
        gv = gv - conj_if_complex(v) * cnp.real(h)[..., None, :]
        if is_complex(v):
            mask = _largest_entries(primal(v))
            gv = (
                gv - mask * ((h - cnp.real(h)) / cnp.real(cnp.sum(v * mask, axis=-2)))[..., None, :]
            )
    inner = _diag_embed(gw) + _inverse_gaps(w) * (_mT(v) @ gv)
    return solve(_mT(v), inner @ _mT(v))


# `_eig` is NumPy's eig, with the derivative of the eigenvectors NumPy returns; `_eig_free`
# has a holomorphic derivative of the eigenvectors in another gauge (``diag(V⁻¹ dV) = 0``),
# and serves `eigvals` only, whose derivative (to every order) does not depend on the gauge.
_eig = primitive(np.linalg.eig, "eig", multiple_results=True, holomorphic=False)
defvjp(_eig, functools.partial(_eig_vjp, gauge=True))
defjvp_joint(_eig, functools.partial(_eig_jvp, gauge=True))
_eig_free = primitive(np.linalg.eig, "eigvals", multiple_results=True)
defvjp(_eig_free, functools.partial(_eig_vjp, gauge=False))
defjvp_joint(_eig_free, functools.partial(_eig_jvp, gauge=False))
_stacked(_eig)
_stacked(_eig_free)
_EigResult = type(np.linalg.eig(np.eye(1)))


@check
def _distinct_eigenvalues(name: str, a: np.ndarray) -> None:
    """Refuse a matrix at which the derivatives of `eig` do not exist or cannot be computed
    to half the working precision: repeated eigenvalues, or eigenvectors nearly dependent
    (nearly defective). First-order perturbation theory puts the relative error of the
    derivative at about ``eps ‖A‖ cond(V) / gap`` (eigenvectors accurate to ``eps ‖A‖ /
    gap``, amplified by ``V⁻¹``); above ``√eps`` it raises, as `det` does at order 3."""
    w, v = np.linalg.eig(a)  # NumPy's checks (square, finite) and messages
    n = w.shape[-1]
    if n < 2:
        return
    eps = float(np.finfo(w.dtype).eps)
    gaps = np.where(np.eye(n, dtype=bool), np.inf, np.abs(w[..., :, None] - w[..., None, :]))
    s = np.linalg.svd(v, compute_uv=False)
    size = np.max(np.sum(np.abs(a), axis=-1), axis=-1)  # ‖A‖∞
    with np.errstate(divide="ignore", invalid="ignore"):
        error = eps * size * s[..., 0] / (s[..., -1] * np.min(gaps, axis=(-2, -1)))
    if not np.all(error < math.sqrt(eps)):  # NaN (the zero matrix) included
        raise np.linalg.LinAlgError(
            f"chainrule.numpy.linalg.{name}: the matrix has repeated (or nearly repeated) "
            "eigenvalues, or is (nearly) not diagonalizable: its eigenvalues and eigenvectors "
            "are not differentiable there, or not to half the working precision. For a "
            "symmetric (Hermitian) matrix use eigh/eigvalsh; a symmetric function of the "
            "eigenvalues, such as their sum (the trace) or product (det), has a derivative of "
            "its own."
        )


def eig(a: Any) -> Any:
    """`numpy.linalg.eig`: ``(eigenvalues, eigenvectors)`` of a general matrix, complex
    unless every eigenvalue is real (NumPy's dtypes).

    ``dλ_i = (V⁻¹ dA V)_ii``, and the derivative of the eigenvectors is that of the ones
    NumPy returns: LAPACK scales each to unit 2-norm with its largest entry real, and the
    derivative keeps both (as JAX's). Both need distinct eigenvalues: under a derivative a
    matrix with repeated (or nearly repeated, or nearly defective) ones raises
    ``LinAlgError``.

    Of a complex matrix, that largest entry is real and positive: the eigenvectors are
    smooth functions, differentiated exactly. Of a real matrix, LAPACK leaves each
    eigenvector's sign free, and for a complex pair it can flip under the smallest
    perturbation: the derivative is that of the eigenvector with the sign it has at the
    point, so differentiate functions that do not depend on the sign (``|v|``, ``v vᴴ``), as
    for `eigh`. The order of the eigenvalues is LAPACK's too, which can change under a
    perturbation at special matrices (a triangular one): the derivative follows the order
    at the point. The eigenvalues of a 2×2 rotation generator ``[[0, -t], [t, 0]]`` are
    ``±it``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[0.0, -1.0], [1.0, 0.0]])
    >>> cr.jacfwd(lambda t: np.linalg.eig(t * a)[0])(2.0)
    array([0.+1.j, 0.-1.j])
    """
    if not _traced(a):
        return np.linalg.eig(a)
    if _differentiated(a):
        _distinct_eigenvalues("eig", a)
    return _result(_EigResult, *_eig(a))


def eigvals(a: Any) -> Any:
    """`numpy.linalg.eigvals`: the eigenvalues of a general matrix, ``dλ_i = (V⁻¹ dA V)_ii``
    (holomorphic in `a`), for distinct eigenvalues (as `eig`). Under a derivative the values
    are those of `eig` (LAPACK may order them otherwise without eigenvectors).

    The gradient of an eigenvalue is ``u vᵀ / (uᵀ v)`` with ``u``, ``v`` its left and right
    eigenvectors; for the eigenvalue 2 of this triangular matrix, ``u = (0, 1)``, ``v = (5, 1)``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a = np.array([[1.0, 5.0], [0.0, 2.0]])
    >>> cr.grad(lambda a: np.linalg.eigvals(a)[1])(a)
    array([[0., 0.],
           [5., 1.]])
    """
    if not _traced(a):
        return np.linalg.eigvals(a)
    if not _differentiated(a):
        return _eigvals_values(a)
    _distinct_eigenvalues("eigvals", a)
    return _eig_free(a)[0]


_eigvals_values = _numpy_values(np.linalg.eigvals, "eigvals")


# Checked on complex values in tests/test_complex_decompositions.py.
COMPLEX += ("cholesky", "eig", "eigh", "eigvals", "eigvalsh", "qr", "svd", "svdvals")

__all__ = [
    "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv",
    "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose",
    "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals",
    "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm",
]  # fmt: skip
