"""Reductions: sums, means, products, extrema, moments, order statistics, cumulative ones.

A reduction's cotangent is spread back over the reduced axes (`expand`); its tangent is the
same kind of reduction applied to the tangent, with axes shifted past any batch axes.

Each primitive here is the NumPy function itself, so on plain arrays it is exactly NumPy.
On traced arrays `axis` (None, int, negative, tuple), `keepdims`, `dtype`, `ddof` (or
`correction`) and `initial` are supported; `out=`, `where=` and the `mean=` of var/std raise
a TypeError. With `dtype=`, tangents take the result's dtype and cotangents the input's.

Conventions where the derivative is not unique, or the obvious formula would fail:

- ``max``/``amax``, ``min``/``amin`` (``max`` is ``amax`` and ``min`` is ``amin``, as in
  NumPy): the k entries tied for the extreme value of a slice share its derivative equally,
  1/k each (PyTorch's ``amax``/``amin`` convention). A NaN extreme goes to the NaN entries;
  an extreme given by ``initial`` gives the entries derivative 0. Second derivatives are 0.
- ``std``: where the variance is 0, ``std`` is not differentiable (like ``abs`` at 0). Its
  derivative there is taken as 0, a subgradient (PyTorch returns NaN), and so is its second
  derivative.
- ``ptp`` is ``max - min``, with their conventions at ties.
- ``prod`` and ``cumprod`` are exact where entries are zero, at every order: the derivative
  with respect to an entry is the product of the others, never ``prod / x``. Where the input
  holds zeros, the rules split one zero ``z`` off each slice, ``x = u`` with ``z`` set to 1,
  so that ``prod(x) = prod(u) * z``, and recurse on ``u``: their cost grows with the number
  of zeros in a slice (one extra pass per zero), not with its length squared. Away from
  zeros they use ``prod / x``, exact as a formula; but where an entry ``x_i`` is tiny next
  to the others, second derivatives lose absolute accuracy (about ``eps * prod / x_i**2``
  on the diagonal, by cancellation), as PyTorch's do.
- ``nansum``, ``nanmean``, ``nanprod``, ``nanvar``, ``nanstd``, ``nancumsum``,
  ``nancumprod``: NaN entries are skipped, so their derivative is 0 (also in an all-NaN
  slice); a slice with too few entries for `ddof` has a NaN nanvar and NaN derivatives.
  ``nanmax``/``nanmin`` follow ``max``/``min`` on the entries that are not NaN (an all-NaN
  slice gives its NaN entries 1/k).
- ``average`` is composed of ``sum`` and division, differentiable in `a` and `weights`.
- ``median``, ``quantile``, ``percentile`` and their ``nan*`` versions, every `method`: near
  its input, a quantile is a fixed weighted sum of one or two order statistics (the
  interpolation weights of NumPy's method, read off NumPy's own function applied to the
  ranks). Entries tied with an order statistic share its weight equally (as ``max``); the
  discrete methods (``lower``, ``nearest``, ``inverted_cdf``...) give the selected entry
  derivative 1. A slice holding NaN makes a NaN quantile: its derivative goes to the NaN
  entries (as ``max``); the ``nan*`` versions skip NaN (derivative 0). `q` is not
  differentiable (a TypeError says so); ``out=``, ``overwrite_input=True`` and ``weights=``
  raise a TypeError on a traced array. Second derivatives are 0.

Complex values (JAX's convention, see `core.primitive`): sums, means, products and their
cumulative and NaN-skipping versions are holomorphic, with the formulas of the real case.
``var`` and ``std`` of complex values are real, NumPy's ``mean(|x - mean(x)|**2)``: ``d var
= 2 Re(sum(conj(x - mean) dx)) / (n - ddof)``. The extrema, ``sort``-like order statistics
and ``median`` order complex values as NumPy does (lexicographically) and gather the entries
they select; NumPy's ``quantile`` and ``percentile`` refuse complex values, and so do these.

Every reduction takes, as NumPy's, a sequence in place of an array, traced values included:

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> print(cr.grad(lambda a: np.mean([a, 3.0 * a]))(1.0))
2.0
>>> cr.grad(lambda x: np.quantile(x, 0.25))(np.array([4.0, 1.0, 3.0, 2.0]))
array([0.  , 0.25, 0.  , 0.75])
>>> cr.grad(np.median)(np.array([1.0, 2.0, 2.0, 5.0, 9.0]))
array([0. , 0.5, 0.5, 0. , 0. ])

The variance of complex values is real; its gradient is ``2 conj(x - mean) / n``:

>>> cr.grad(np.var)(np.array([2.0 + 2.0j, 0.0j]))
array([ 1.-1.j, -1.+1.j])
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from chainrule import numpy as cnp
from chainrule._validate import traced_setting
from chainrule.core.batching import defbatch
from chainrule.core.primitive import Primitive, argument_rule, defjvp_joint, defvjp, primitive
from chainrule.core.trace import Tracer, dtype_of, float_dtype, plain, primal

from .common import (
    COMPILED,
    batch_ndim,
    check,
    conj_if_complex,
    every_example,
    fixed_values,
    ndim_of,
    nondiff,
    normalize_axes,
    select,
    shape_of,
    to_front,
)
from .indexing import contains_tracer

_NoValue: Any = np._NoValue
_add_reduce: Any = np.add.reduce  # (called positionally, which its typing overloads reject)
_np_average: Any = np.average  # (its typing overloads do not admit `keepdims=_NoValue`)


def expand(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduced cotangent back to the shape of the reduced input `x`."""
    shape = shape_of(x)
    if not keepdims and ndim_of(g):  # put the reduced axes back, as 1s (a 0-d g broadcasts)
        axes = normalize_axes(axis, len(shape))
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        g = cnp.reshape(g, kept)
    # A new array, which a sweep may accumulate into, not `broadcast_to`'s read-only view;
    # the same bits as `g` (a -0.0 stays one). Traced, adding -0.0, which is exact, and
    # which a compiled program drops where its readers broadcast `g` alike.
    if isinstance(g, Tracer):
        return cnp.add(np.full(shape, -0.0, dtype_of(g)), g)
    out = np.empty(shape, dtype_of(g))
    np.copyto(out, g)
    return out if out.ndim else out[()]  # (0-d: a NumPy scalar, as NumPy's sum gives)


def shifted(axis: Any, ndim: int, nb: int) -> tuple[int, ...]:
    """Axes of a reduction over `ndim` dimensions, moved past `nb` leading batch axes."""
    return tuple(a + nb for a in normalize_axes(axis, ndim))


# ------------------------------------------------------------------ parameters and registration


def reduction(impl: Callable[..., Any], name: str) -> Primitive:
    """The primitive of a NumPy reduction that, as NumPy's, also takes a (nested) sequence.

    A sequence holding traced values (``np.mean([a, b])``) is made one traced array first
    (`chainrule.numpy.array`); the primitive alone would not see the values inside it.
    """

    @functools.wraps(impl)
    def call(a: Any, *args: Any, **params: Any) -> Any:
        if _traced_sequence(a):
            return prim(cnp.array(a), *args, **params)
        for key in _COUNTS:  # (read in Python: never traced)
            if isinstance(params.get(key), Tracer):
                raise traced_setting(params[key], key, f"chainrule.numpy.{name}")
        return impl(a, *args, **params)

    prim = primitive(call, name)
    return prim


_COUNTS = ("ddof", "correction")  # numbers a reduction reads as Python numbers


def _traced_sequence(a: Any) -> bool:
    return (type(a) is list or type(a) is tuple) and contains_tracer(a)  # (`type`: fast)


class Spec(NamedTuple):
    """The parameters of one reduction call on a traced array, read as NumPy reads them."""

    axis: Any  # as given: None, an int or a tuple
    axes: tuple[int, ...]  # the reduced axes, normalized and sorted
    keepdims: bool
    dtype: Any
    ddof: float
    initial: dict[str, Any]  # {"initial": value} when one was given, else {}


def _spec(
    name: str, signature: inspect.Signature, x: Any, rest: tuple[Any, ...], params: dict[str, Any]
) -> Spec:
    if not rest and not params:  # the common `np.sum(x)`: everything at its default
        return Spec(None, tuple(range(ndim_of(x))), False, None, 0, {})
    # Keywords need no binding (NumPy has already rejected unknown ones); positionals do.
    args = signature.bind(x, *rest, **params).arguments if rest else params
    unsupported = [
        key
        for key, harmless in (("out", None), ("where", True), ("mean", _NoValue))
        if key in args and args[key] is not _NoValue and args[key] is not harmless
    ]
    if unsupported:
        raise TypeError(
            f"chainrule.numpy.{name}: `{unsupported[0]}=` is not supported on a traced array. "
            "Write the result functionally instead (e.g. mask with `np.where` before reducing)."
        )
    axis = args.get("axis")
    keepdims = args.get("keepdims", False)
    ddof = args.get("correction", _NoValue)
    initial = args.get("initial", _NoValue)
    return Spec(
        axis=axis,
        # (a 0-d array's axis 0 or -1, which NumPy accepts, is no axis)
        axes=normalize_axes(axis, ndim_of(x)) if ndim_of(x) else (),
        keepdims=False if keepdims is _NoValue else bool(keepdims),
        dtype=args.get("dtype"),
        ddof=args.get("ddof", 0) if ddof is _NoValue else ddof,
        initial={} if initial is _NoValue else {"initial": initial},
    )


def _cast(v: Any, like: Any) -> Any:
    """`v` in the dtype of `like` (they differ only when the call gave `dtype=`)."""
    dtype = dtype_of(like)
    if dtype_of(v) == dtype or not np.issubdtype(dtype, np.inexact):
        return v
    if dtype_of(v).kind == "c" and dtype.kind != "c":  # a real input summed with a complex
        v = cnp.real(v)  # `dtype=`: its cotangent is the real part (see `core.primitive`)
    return cnp.astype(v, dtype)


ReverseRule = Callable[[Any, Any, Any, Spec], Any]  # (g, ans, x, spec) -> cotangent of x
ForwardRule = Callable[[Any, int, Any, Any, Spec], Any]  # (t, nb, ans, x, spec) -> tangent


def first_tangent(prim: Primitive, tangents: list[Any]) -> Any:
    """The tangent of a primitive's first argument, the only differentiable one: a tangent
    for any other argument raises the error that names it."""
    for i in range(1, len(tangents)):
        if tangents[i] is not None:
            argument_rule(prim, (), i, "forward")
    return tangents[0]


def defreduction(prim: Primitive, vjp: ReverseRule, jvp: ForwardRule) -> None:
    """Rules of a primitive differentiable in its first argument, from rules given a `Spec`.

    `prim.impl` is (or wraps) the NumPy function, whose signature says how to read the parameters
    (positional or keyword, as the caller wrote them).
    """
    signature = inspect.signature(prim.impl)

    def reverse(g: Any, ans: Any, x: Any, *rest: Any, **params: Any) -> Any:
        return _cast(vjp(g, ans, x, _spec(str(prim.name), signature, x, rest, params)), x)

    def forward(tangents: list[Any], ans: Any, x: Any, *rest: Any, **params: Any) -> Any:
        t = first_tangent(prim, tangents)
        if t is None:
            return None
        spec = _spec(str(prim.name), signature, x, rest, params)
        return _cast(jvp(t, batch_ndim(t, x), ans, x, spec), ans)

    defvjp(prim, reverse)
    defjvp_joint(prim, forward)
    defbatch(prim, _batch_along_axes(prim, signature))


def _batch_along_axes(prim: Primitive, signature: inspect.Signature) -> Any:
    """The batching rule of a reduction (or cumulative function) of its first argument: the
    batch goes first and `axis` shifts past it. ``axis=None`` reduces every axis of one
    example, or for a cumulative function runs along one example flattened."""
    flattens = "cum" in str(prim.name)

    def batch(args: list[Any], dims: list[Any], **params: Any) -> tuple[Any, int]:
        x, *rest = args
        bound = signature.bind(x, *rest, **params).arguments
        bound.pop(next(iter(bound)))
        names = list(bound)  # (the positional ones first, in order)
        batched = [names[i] for i, d in enumerate(dims[1:]) if d is not None]
        batched += [k for k, v in params.items() if isinstance(v, Tracer)]
        if batched:
            raise TypeError(
                f"chainrule.vmap: numpy.{prim.name} takes `{batched[0]}` shared by every "
                "example; map over the array only."
            )
        x = to_front(x, dims[0])
        rank = ndim_of(x) - 1
        axis = bound.get("axis")
        if flattens and (axis is None or rank == 0):  # (NumPy's cumsum of a 0-d is 1-d)
            x, bound["axis"] = cnp.reshape(x, (shape_of(x)[0], -1)), 1
        elif axis is None or rank == 0:  # (a 0-d example's axis 0 or -1 is no axis)
            if axis is not None:  # (NumPy's verdict on it: some reductions take none)
                prim.impl(np.zeros((), dtype_of(x)), **bound)
            bound["axis"] = tuple(range(1, rank + 1))
        elif flattens:  # one axis, an int
            bound["axis"] = int(axis) % rank + 1
        else:
            bound["axis"] = shifted(axis, rank, 1)
        return prim(x, **bound), 0

    return batch


# ------------------------------------------------------- sums, means and extrema: weighted sums

Weights = Callable[[Any, Any, Spec], Any]  # (x, ans) as plain values -> weights, or None


def defweighted(prim: Primitive, weights: Weights) -> None:
    """Rules of a reduction that is, near its input, a weighted sum over the reduced axes.

    The weights (from `weights(x, ans, spec)` on plain values; None for all ones) do not
    vary nearby: uniform for sum and mean, zero at NaN for nansum and nanmean, and on the
    extreme entries for max and min. So the second derivative is 0 and one weighted sum
    serves both modes.
    """

    def vjp(g: Any, ans: Any, x: Any, s: Spec) -> Any:
        w = weights(primal(x), primal(ans), s)
        c = expand(g, x, s.axes, s.keepdims)
        return c if w is None else _weigh(c, w)

    def jvp(t: Any, nb: int, ans: Any, x: Any, s: Spec) -> Any:
        w = weights(primal(x), primal(ans), s)
        return sum(
            t if w is None else _weigh(t, w),
            axis=shifted(s.axes, ndim_of(x), nb),
            dtype=s.dtype,
            keepdims=s.keepdims,
        )

    defreduction(prim, vjp, jvp)


def _weigh(t: Any, w: Any) -> Any:
    """Weights that are 0 on some entries (not the extreme, NaN) select: see `select`.
    (Under vmap they are a batch tracer; a uniform weight is a float.)"""
    return t * w if isinstance(w, float) else select(t, w)


def _count(x: Any, s: Spec) -> int:
    shape = shape_of(x)
    return math.prod(shape[a] for a in s.axes)


def _uniform(x: Any, ans: Any, s: Spec) -> float:
    n = _count(x, s)
    return 1.0 / n if n else math.nan


def _not_nan(x: Any, ans: Any, s: Spec) -> Any:
    return (~np.isnan(x)).astype(float_dtype(x))


def _not_nan_mean(x: Any, ans: Any, s: Spec) -> Any:
    keep = ~np.isnan(x)
    return (keep / np.maximum(keep.sum(axis=s.axes, keepdims=True), 1)).astype(float_dtype(x))


def _extreme(x: Any, ans: Any, s: Spec) -> Any:
    """1/k on each of the k entries equal to their slice's extreme value, 0 elsewhere."""
    top = ans if s.keepdims else np.expand_dims(ans, s.axes)
    hit = (x == top) | (np.isnan(x) & np.isnan(top))
    return (hit / np.maximum(hit.sum(axis=s.axes, keepdims=True), 1)).astype(float_dtype(x))


def _sum(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: Any = False,
    initial: Any = _NoValue,
    where: Any = True,
) -> Any:
    # `numpy.sum` is this ufunc reduction behind a wrapper that costs more than the sum itself
    # for a small array; `sum` is on every hot path, so an array (or a NumPy scalar) takes the
    # reduction directly. Anything else goes through the wrapper, which lets a subclass (a
    # masked array) sum in its own way; a sequence of traced values is made an array first.
    if type(a) is np.ndarray or isinstance(a, np.generic):
        return _add_reduce(a, axis, dtype, out, bool(keepdims), initial, where)
    if _traced_sequence(a):
        return sum(cnp.array(a), axis, dtype, out, keepdims, initial, where)
    given = (("keepdims", keepdims, False), ("initial", initial, _NoValue), ("where", where, True))
    return np.sum(a, axis, dtype, out, **{k: v for k, v, default in given if v is not default})


_sum.fresh = True  # type: ignore[attr-defined]  # (a reduction makes a new array)


sum = primitive(_sum, "sum")
sum.__doc__ = np.sum.__doc__
mean = reduction(np.mean, "mean")
nansum = reduction(np.nansum, "nansum")
nanmean = reduction(np.nanmean, "nanmean")
amax = reduction(np.amax, "amax")
amin = reduction(np.amin, "amin")
max = amax
min = amin

defweighted(sum, lambda x, ans, s: None)
defweighted(mean, _uniform)
defweighted(nansum, _not_nan)
defweighted(nanmean, _not_nan_mean)
defweighted(amax, _extreme)
defweighted(amin, _extreme)
nanmax = reduction(np.nanmax, "nanmax")
nanmin = reduction(np.nanmin, "nanmin")
defweighted(nanmax, _extreme)  # NaN is never the extreme, unless a slice is all NaN
defweighted(nanmin, _extreme)


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: Any = _NoValue) -> Any:
    """`numpy.ptp`: ``max - min``, with their derivatives (tied entries share, 1/k each).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(np.ptp)(np.array([1.0, 5.0, 1.0, 3.0]))
    array([-0.5,  1. , -0.5,  0. ])
    """
    if not contains_tracer(a):
        return np.ptp(a, axis, out, keepdims)
    if out is not None:
        raise TypeError("chainrule.numpy.ptp: `out=` is not supported on a traced array")
    keep = keepdims is not _NoValue and bool(keepdims)
    return amax(a, axis=axis, keepdims=keep) - amin(a, axis=axis, keepdims=keep)


# ------------------------------------------------------------------------------- var and std


def _defmoment(prim: Primitive, is_std: bool, skips_nan: bool = False) -> None:
    """var: ``d var = 2 <x - mean, dx> / (n - ddof)``; std: ``d std = d var / (2 std)``.

    nanvar and nanstd (`skips_nan`) count, per slice, only the entries that are not NaN. Of
    complex values the pairing is ``Re(sum(conj(x - mean) dx))``: the reverse rule carries
    ``conj(x - mean)`` and the forward rule takes the real part.
    """

    def deviation(x: Any, s: Spec) -> tuple[Any, Any]:
        """``x - mean`` (0 at a skipped NaN) and ``2 / (n - ddof)``, per slice for nanvar."""
        if not skips_nan:
            dof = _count(x, s) - s.ddof
            return x - mean(x, axis=s.axes, keepdims=True), 2.0 / dof if dof > 0 else math.nan
        nan = np.isnan(primal(x))
        dofs = np.sum(~nan, axis=s.axes, keepdims=s.keepdims) - s.ddof
        real = float_dtype(x) if dtype_of(x).kind != "c" else np.finfo(dtype_of(x)).dtype
        with np.errstate(divide="ignore"):
            c = np.where(dofs > 0, 2.0 / dofs, np.nan).astype(real)
        with warnings.catch_warnings():  # an all-NaN slice warns, as the call itself did
            warnings.simplefilter("ignore", RuntimeWarning)
            centre = nanmean(x, axis=s.axes, keepdims=True)
        return cnp.where(nan, 0.0, x - centre), c

    def outer(ans: Any) -> Any:
        """``d ans / d var``: 1 for var (None), ``1 / (2 std)`` for std, 0 where std is 0."""
        if not is_std:
            return None
        zero = primal(ans) == 0
        return cnp.where(zero, 0.0, 0.5 / cnp.where(zero, 1.0, ans))

    def vjp(g: Any, ans: Any, x: Any, s: Spec) -> Any:
        d, c = deviation(x, s)
        d = conj_if_complex(d)
        o = outer(ans)
        if skips_nan and not s.keepdims:
            c = np.expand_dims(c, s.axes)
        out = expand(g if o is None else g * o, x, s.axes, s.keepdims) * (d * c)
        return cnp.where(np.isnan(primal(x)), 0.0, out) if skips_nan else out

    def jvp(t: Any, nb: int, ans: Any, x: Any, s: Spec) -> Any:
        d, c = deviation(x, s)
        cx = dtype_of(x).kind == "c"
        axes = shifted(s.axes, ndim_of(x), nb)
        out = sum(t * conj_if_complex(d), axis=axes, keepdims=s.keepdims)
        out = (cnp.real(out) if cx else out) * c
        o = outer(ans)
        return out if o is None else out * o

    defreduction(prim, vjp, jvp)


var = reduction(np.var, "var")
std = reduction(np.std, "std")
_defmoment(var, is_std=False)
_defmoment(std, is_std=True)
nanvar = reduction(np.nanvar, "nanvar")
nanstd = reduction(np.nanstd, "nanstd")
_defmoment(nanvar, is_std=False, skips_nan=True)
_defmoment(nanstd, is_std=True, skips_nan=True)


# --------------------------------------------------------------------- cumulative sum and prod


def _flip(a: Any, axis: int) -> Any:
    return a[(slice(None),) * axis + (slice(None, None, -1),)]


def _revcumsum(a: Any, axis: int) -> Any:
    """``out[i] = sum(a[i:])`` along `axis`: the transpose of cumsum."""
    return _flip(cumsum(_flip(a, axis), axis=axis), axis)


AxisRule = Callable[..., Any]


def _along_one_axis(vjp: AxisRule, jvp: AxisRule) -> tuple[ReverseRule, ForwardRule]:
    """Rules of a cumulative function from rules for a given axis; axis=None flattens first.

    ``vjp(g, ans, x, axis)`` and ``jvp(t, nb, ans, x, axis)``, for ``x`` of at least 1 dim.
    """

    def reverse(g: Any, ans: Any, x: Any, s: Spec) -> Any:
        if s.axis is None or ndim_of(x) == 0:
            return cnp.reshape(vjp(g, ans, cnp.reshape(x, (-1,)), 0), shape_of(x))
        return vjp(g, ans, x, s.axes[0])

    def forward(t: Any, nb: int, ans: Any, x: Any, s: Spec) -> Any:
        if s.axis is None or ndim_of(x) == 0:
            flat_t = cnp.reshape(t, (*shape_of(t)[:nb], -1))
            return jvp(flat_t, nb, ans, cnp.reshape(x, (-1,)), 0)
        return jvp(t, nb, ans, x, s.axes[0])

    return reverse, forward


cumsum = reduction(np.cumsum, "cumsum")
cumprod = reduction(np.cumprod, "cumprod")
prod = reduction(np.prod, "prod")

_CUMSUM = _along_one_axis(
    lambda g, ans, x, axis: _revcumsum(g, axis),
    lambda t, nb, ans, x, axis: cumsum(t, axis=axis + nb),
)
defreduction(cumsum, *_CUMSUM)


class _Product:
    """What the zero-safe rules of a product need to know: `prod` or `cumprod` (`_Running`).

    `spread(v, first, nb)` gives each output the sum of `v` over the split-off entries that
    it multiplies (one per slice, marked by `first`); `gather` is its transpose.
    """

    def __init__(self, s: Spec) -> None:
        self.axes, self.keepdims, self.initial = s.axes, s.keepdims, s.initial

    def __call__(self, x: Any) -> Any:
        return prod(x, axis=self.axes, keepdims=self.keepdims, **self.initial)

    def fast_vjp(self, g: Any, ans: Any, x: Any) -> Any:
        return expand(g * ans, x, self.axes, self.keepdims) / x

    def fast_jvp(self, t: Any, nb: int, ans: Any, x: Any) -> Any:
        return ans * sum(t / x, axis=shifted(self.axes, ndim_of(x), nb), keepdims=self.keepdims)

    def first_zero(self, zero: Any) -> Any:
        """One zero per slice that has any: the first, in C order over the reduced axes."""
        k = len(self.axes)
        moved = np.moveaxis(zero, self.axes, range(-k, 0))
        lead = moved.ndim - k  # (not -1: a slice may be empty)
        flat = moved.reshape((*moved.shape[:lead], math.prod(moved.shape[lead:])))
        first = flat & (np.cumsum(flat, axis=-1) == 1)
        return np.moveaxis(first.reshape(moved.shape), range(-k, 0), self.axes)

    def spread(self, v: Any, first: Any, nb: int) -> Any:
        return sum(v, axis=shifted(self.axes, ndim_of(first), nb), keepdims=self.keepdims)

    def gather(self, c: Any, first: Any, x: Any) -> Any:
        return expand(c, x, self.axes, self.keepdims)


class _Running(_Product):
    """`cumprod` along one axis (of an input with at least one dimension)."""

    def __init__(self, axis: int) -> None:
        self.axis = axis
        self.axes = (axis,)

    def __call__(self, x: Any) -> Any:
        return cumprod(x, axis=self.axis)

    def fast_vjp(self, g: Any, ans: Any, x: Any) -> Any:
        return _revcumsum(g * ans, self.axis) / x

    def fast_jvp(self, t: Any, nb: int, ans: Any, x: Any) -> Any:
        return ans * cumsum(t / x, axis=self.axis + nb)

    def spread(self, v: Any, first: Any, nb: int) -> Any:
        after = np.cumsum(first, axis=self.axis) > 0  # outputs from the split-off entry on
        return cnp.where(after, sum(v, axis=self.axis + nb, keepdims=True), 0.0)

    def gather(self, c: Any, first: Any, x: Any) -> Any:
        after = np.cumsum(first, axis=self.axis) > 0
        return sum(cnp.where(after, c, 0.0), axis=self.axis, keepdims=True)


def _split(op: _Product, x: Any) -> tuple[Any, Any, Any, Any]:
    """``(first, u, op(u), factor)`` with ``op(x) = op(u) * factor`` exactly, near `x`.

    `u` is `x` with one zero per slice (marked by `first`) set to 1; `factor` is, for each
    output, that entry's value if the output multiplies it, and 1 otherwise.
    """
    first = op.first_zero(primal(x) == 0)
    u = cnp.where(first, 1.0, x)
    covered = op.spread(first.astype(float_dtype(x)), first, 0)
    factor = op.spread(cnp.where(first, x, 0.0), first, 0) + (1.0 - covered)
    return first, u, op(u), factor


def _splits(op: _Product, x: Any) -> int:
    """How many zeros per slice to split off (`_split`) before the quotient rule serves: all
    of them where the values are known. Under `jit`, where each call brings its own, as many
    as the tracing call had (one at least), and a check of every call's values makes sure
    that no later call has more."""
    v = fixed_values(x)
    if v is not None:
        return int(np.any(v == 0))  # (one now; the next split looks again)
    axes = tuple(a - ndim_of(x) for a in op.axes)  # (from the end: batch axes lead)
    traced = np.asarray(plain(every_example(x))) == 0
    most = int(np.max(np.sum(traced, axis=axes), initial=1))  # (one at least)
    _zeros_at_most(x, axes, most)
    return most


@check
def _zeros_at_most(x: np.ndarray, axes: tuple[int, ...], most: int) -> None:
    if np.any(np.sum(x == 0, axis=axes) > most):
        raise ValueError(
            f"chainrule.numpy.prod (or cumprod): {COMPILED}, the derivative of a product is "
            f"compiled for at most {most} zero factor(s) in each product (as many as when it "
            "was traced), and this call has a product with more. Differentiate it outside "
            "jit, where any number of zeros is handled, or trace it with as many zeros."
        )


def _product_vjp(op: _Product, g: Any, ans: Any, x: Any, splits: int | None = None) -> Any:
    splits = _splits(op, x) if splits is None else splits
    if not splits:
        return op.fast_vjp(g, ans, x)
    first, u, ans_u, factor = _split(op, x)
    rest = _product_vjp(
        op, g * factor, ans_u, u, None if fixed_values(x) is not None else splits - 1
    )
    return cnp.where(first, op.gather(g * ans_u, first, x), rest)


def _product_jvp(op: _Product, t: Any, nb: int, ans: Any, x: Any, splits: int | None = None) -> Any:
    splits = _splits(op, x) if splits is None else splits
    if not splits:
        return op.fast_jvp(t, nb, ans, x)
    first, u, ans_u, factor = _split(op, x)
    later = None if fixed_values(x) is not None else splits - 1
    rest = _product_jvp(op, cnp.where(first, 0.0, t), nb, ans_u, u, later)
    return rest * factor + ans_u * op.spread(cnp.where(first, t, 0.0), first, nb)


_PROD: tuple[ReverseRule, ForwardRule] = (
    lambda g, ans, x, s: _product_vjp(_Product(s), g, ans, x),
    lambda t, nb, ans, x, s: _product_jvp(_Product(s), t, nb, ans, x),
)
_CUMPROD = _along_one_axis(
    lambda g, ans, x, axis: _product_vjp(_Running(axis), g, ans, x),
    lambda t, nb, ans, x, axis: _product_jvp(_Running(axis), t, nb, ans, x),
)
defreduction(prod, *_PROD)
defreduction(cumprod, *_CUMPROD)


def _cumulative(
    x: Any, running: Primitive, identity: float, axis: Any, dtype: Any, include_initial: bool
) -> Any:
    """NumPy's ``cumulative_*`` on a traced `x`: `running` (cumsum or cumprod) along `axis`,
    after the `identity` when `include_initial`."""
    x = cnp.atleast_1d(cnp.asarray(x))
    if axis is None:
        if ndim_of(x) >= 2:
            raise ValueError(
                "For arrays which have more than one dimension ``axis`` argument is required."
            )
        axis = 0
    res = running(x, axis=axis, dtype=dtype)
    if not include_initial:
        return res
    shape = list(shape_of(res))
    shape[axis] = 1
    first = np.full(shape, identity, dtype_of(res))
    return cnp.concatenate([first, res], axis=axis)


def cumulative_sum(
    x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
    include_initial: bool = False,
) -> Any:  # fmt: skip
    """`numpy.cumulative_sum` (the array API's `cumsum`, optionally after a 0).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.jacfwd(lambda x: np.cumulative_sum(x, include_initial=True))(np.ones(2))
    array([[0., 0.],
           [1., 0.],
           [1., 1.]])
    """
    if not contains_tracer(x):
        return np.cumulative_sum(
            x, axis=axis, dtype=dtype, out=out, include_initial=include_initial
        )
    if out is not None:
        raise TypeError("chainrule.numpy.cumulative_sum: `out=` is not supported on a traced array")
    return _cumulative(x, cumsum, 0.0, axis, dtype, include_initial)


def cumulative_prod(
    x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
    include_initial: bool = False,
) -> Any:  # fmt: skip
    """`numpy.cumulative_prod` (the array API's `cumprod`, optionally after a 1).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.cumulative_prod(x)[-1])(np.array([2.0, 0.0, 3.0]))
    array([0., 6., 0.])
    """
    if not contains_tracer(x):
        return np.cumulative_prod(
            x, axis=axis, dtype=dtype, out=out, include_initial=include_initial
        )
    if out is not None:
        raise TypeError(
            "chainrule.numpy.cumulative_prod: `out=` is not supported on a traced array"
        )
    return _cumulative(x, cumprod, 1.0, axis, dtype, include_initial)


# ---------------------------------------------------------------- nanprod, nancumsum, nancumprod


def _skipping_nan(
    rules: tuple[ReverseRule, ForwardRule], neutral: float
) -> tuple[ReverseRule, ForwardRule]:
    """Rules of ``f(x)`` with NaN entries replaced by `neutral`, from the rules of `f`."""
    vjp, jvp = rules

    def reverse(g: Any, ans: Any, x: Any, s: Spec) -> Any:
        nan = np.isnan(primal(x))
        return cnp.where(nan, 0.0, vjp(g, ans, cnp.where(nan, neutral, x), s))

    def forward(t: Any, nb: int, ans: Any, x: Any, s: Spec) -> Any:
        nan = np.isnan(primal(x))
        return jvp(cnp.where(nan, 0.0, t), nb, ans, cnp.where(nan, neutral, x), s)

    return reverse, forward


nanprod = reduction(np.nanprod, "nanprod")
nancumsum = reduction(np.nancumsum, "nancumsum")
nancumprod = reduction(np.nancumprod, "nancumprod")
defreduction(nanprod, *_skipping_nan(_PROD, 1.0))
defreduction(nancumsum, *_skipping_nan(_CUMSUM, 0.0))
defreduction(nancumprod, *_skipping_nan(_CUMPROD, 1.0))

# ------------------------------------------------------- order statistics: median and quantiles


def _order_weights(a: Any, statistic: Callable[..., Any], params: dict[str, Any]) -> Any:
    """The weights of `statistic` (median, quantile...) near its input `a`, given `params`.

    Every `method` of NumPy's quantiles interpolates between two neighbouring order statistics
    at a "virtual index" ``i + g``. NumPy itself gives it: `statistic` of the ranks (0 to n-1, NaN
    kept NaN) is ``i + g``. The weight ``1 - g`` (and ``g``) is then shared by the entries
    equal to the ``i``-th (and ``i+1``-th) smallest value. Returns weights of shape
    ``q.shape + a.shape``.
    """
    x = np.asarray(a)
    args = {**params, "a": x}
    axes = normalize_axes(args.get("axis"), x.ndim)
    k = len(axes)
    moved = np.moveaxis(x, axes, range(x.ndim - k, x.ndim))
    flat = moved.reshape((*moved.shape[: x.ndim - k], -1))
    n = flat.shape[-1]
    nan = np.isnan(flat)
    ranks = np.empty(flat.shape)
    np.put_along_axis(
        ranks, np.argsort(flat, axis=-1, kind="stable"), np.arange(n, dtype=float), -1
    )
    ranks[nan] = np.nan
    with warnings.catch_warnings():  # an all-NaN slice warns, as the call itself did
        warnings.simplefilter("ignore", RuntimeWarning)
        v = np.asarray(statistic(**{**args, "a": ranks, "axis": -1, "keepdims": False}))
    qnd = v.ndim - (flat.ndim - 1)
    valid = ~np.isnan(v)
    lo = np.where(valid, np.floor(np.where(valid, v, 0)), 0)
    g = np.where(valid, v - lo, 0)[..., None]
    ordered = np.broadcast_to(np.sort(flat, axis=-1), (*v.shape, n))
    weights = np.zeros(ordered.shape)
    for index, share in ((lo, 1 - g), (np.minimum(lo + 1, n - 1), g)):
        value = np.take_along_axis(ordered, index.astype(np.intp)[..., None], -1)
        hit = flat == value
        weights += np.where(
            valid[..., None], share * hit / np.maximum(hit.sum(-1, keepdims=True), 1), 0
        )
    if statistic not in _SKIPS_NAN:  # a slice holding NaN gives NaN: its derivative goes to them
        weights = np.where(
            nan.any(-1, keepdims=True), nan / np.maximum(nan.sum(-1, keepdims=True), 1), weights
        )
    weights = weights.reshape((*v.shape[:qnd], *moved.shape))
    last = range(qnd + x.ndim - k, qnd + x.ndim)
    return np.moveaxis(weights, last, [qnd + i for i in axes]).astype(float_dtype(x))


def _order_axes(a: Any, d: Any, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A batch of inputs of an order statistic, its batch axis `d` first, and the parameters
    that reduce each example as one: `axis` shifted past the batch (a 0-d example is one
    entry of a row)."""
    a = to_front(a, d)
    rank = ndim_of(a) - 1
    if rank == 0:
        return cnp.reshape(a, (shape_of(a)[0], 1)), {**params, "axis": 1, "keepdims": False}
    axis = params.get("axis")
    axes = tuple(range(1, rank + 1)) if axis is None else shifted(axis, rank, 1)
    return a, {**params, "axis": axes}


def _order_weights_batch(fn: Any, args: list[Any], dims: list[Any], **kw: Any) -> Any:
    """The weights of a batch of inputs at once; they take q's axes first, then the batch."""
    a, params = _order_axes(args[0], dims[0], kw["params"])
    w = fn(a, statistic=kw["statistic"], params=params)
    if ndim_of(args[0]) == 1:  # 0-d examples, each read as a row of one
        w = cnp.reshape(w, shape_of(w)[:-1])
    return w, np.ndim(params.get("q", 0))


_batched_order_weights = nondiff(_order_weights, _order_weights_batch)


def _order_batch(prim: Primitive, signature: inspect.Signature) -> Any:
    """The batching rule of a median or quantile: the batch first, `axis` shifted past it;
    `q`'s axes lead the result, so the batch axis lands after them."""

    def batch(args: list[Any], dims: list[Any], **params: Any) -> tuple[Any, int]:
        if any(d is not None for d in dims[1:]):
            raise TypeError(
                f"chainrule.vmap: numpy.{prim.name} takes only `a` batched; map over the "
                "data with `q` shared by every example (or call it with all the q at once)."
            )
        bound = dict(signature.bind(*args, **params).arguments)
        a, bound = _order_axes(bound.pop("a"), dims[0], bound)
        return prim(a, **bound), np.ndim(bound.get("q", 0))

    return batch


def deforder(prim: Primitive) -> None:
    """Rules of a median or quantile: near its input, a fixed weighted sum (see above)."""
    impl: Any = prim.impl  # `reduction`'s wrapper (one level: NumPy's functions wrap, too)
    numpy_function = impl.__wrapped__
    signature = inspect.signature(numpy_function)

    def read(x: Any, rest: tuple[Any, ...], params: dict[str, Any]) -> tuple[Any, ...]:
        # (a traced `q` has no derivative: the core says so; its value gives the weights)
        args = {k: primal(v) for k, v in signature.bind(x, *rest, **params).arguments.items()}
        if isinstance(args.get("q"), Tracer):
            raise TypeError(f"chainrule.vmap: numpy.{prim.name} takes `q` shared by every example.")
        for key, default in (("out", None), ("overwrite_input", False), ("weights", None)):
            if args.get(key, default) is not default:
                raise TypeError(
                    f"chainrule.numpy.{prim.name}: `{key}=` is not supported on a traced "
                    f"array; leave it at its default ({default})."
                )
        a = args.pop("a")  # (under vmap, a batch: the weights are computed for all at once)
        weights = _batched_order_weights(a, statistic=numpy_function, params=args)
        qnd = np.ndim(args.get("q", 0))
        keepdims = args.get("keepdims", False)
        keep = keepdims is not _NoValue and bool(keepdims)
        return weights, qnd, normalize_axes(args.get("axis"), ndim_of(x)), keep

    def reverse(g: Any, ans: Any, x: Any, *rest: Any, **params: Any) -> Any:
        weights, qnd, axes, keepdims = read(x, rest, params)
        shape = shape_of(x)
        if not keepdims:
            kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
            g = cnp.reshape(g, (*shape_of(g)[:qnd], *kept))
        c = select(g, weights)
        return _cast(sum(c, axis=tuple(range(qnd))) if qnd else c, x)

    def forward(tangents: list[Any], ans: Any, x: Any, *rest: Any, **params: Any) -> Any:
        t = first_tangent(prim, tangents)
        if t is None:
            return None
        weights, qnd, axes, keepdims = read(x, rest, params)
        nb = batch_ndim(t, x)
        tshape = shape_of(t)
        t = cnp.reshape(t, (*tshape[:nb], *(1,) * qnd, *tshape[nb:]))
        out = sum(select(t, weights), axis=tuple(nb + qnd + a for a in axes), keepdims=keepdims)
        return _cast(out, ans)

    defvjp(prim, reverse)
    defjvp_joint(prim, forward)
    defbatch(prim, _order_batch(prim, signature))


median = reduction(np.median, "median")
quantile = reduction(np.quantile, "quantile")
percentile = reduction(np.percentile, "percentile")
nanmedian = reduction(np.nanmedian, "nanmedian")
nanquantile = reduction(np.nanquantile, "nanquantile")
nanpercentile = reduction(np.nanpercentile, "nanpercentile")
_SKIPS_NAN = (np.nanmedian, np.nanquantile, np.nanpercentile)
for _prim in (median, quantile, percentile, nanmedian, nanquantile, nanpercentile):
    deforder(_prim)


# ------------------------------------------------------------------------------------ average


@check
def _nonzero_scale(scale: np.ndarray) -> None:
    """NumPy's refusal of weights that sum to zero (every example's, every call's)."""
    if np.any(scale == 0):
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")


def average(
    a: Any,
    axis: Any = None,
    weights: Any = None,
    returned: bool = False,
    *,
    keepdims: Any = _NoValue,
) -> Any:
    """`numpy.average`, differentiable in `a` and `weights` (``sum(a * w) / sum(w)``).

    The gradient with respect to `a` is the normalised weights; with respect to the weights,
    ``(a - average) / sum(weights)``:

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda a: np.average(a, weights=np.array([1.0, 3.0])))(np.zeros(2))
    array([0.25, 0.75])
    >>> cr.grad(lambda w: np.average(np.array([1.0, 3.0]), weights=w))(np.array([1.0, 1.0]))
    array([-0.5,  0.5])
    """
    a, weights = (cnp.array(v) if contains_tracer(v) else v for v in (a, weights))
    if not isinstance(a, Tracer) and not isinstance(weights, Tracer):
        return _np_average(a, axis, weights, returned, keepdims=keepdims)
    if not isinstance(a, Tracer):
        a = np.asarray(a)
    keep = False if keepdims is _NoValue else bool(keepdims)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keep)
        scale = np.dtype(dtype_of(avg)).type(a.size / math.prod(shape_of(avg)))
    else:
        w = weights if isinstance(weights, Tracer) else np.asarray(weights)
        if shape_of(w) != shape_of(a):
            w = _weights_along(w, shape_of(a), axis)
        scale = sum(w, axis=axis, keepdims=keep)
        _nonzero_scale(scale)
        avg = sum(a * w, axis=axis, keepdims=keep) / scale
    if not returned:
        return avg
    if shape_of(scale) != shape_of(avg):
        scale = cnp.broadcast_to(scale, shape_of(avg))
    return avg, scale


def _weights_along(w: Any, shape: tuple[int, ...], axis: Any) -> Any:
    """Weights given for the `axis` axes only, reshaped to broadcast against `a` (as NumPy)."""
    if axis is None:
        raise TypeError("Axis must be specified when shapes of a and weights differ.")
    given = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = tuple(int(i) % len(shape) for i in given)
    if shape_of(w) != tuple(shape[i] for i in axes):
        raise ValueError(
            "Shape of weights must be consistent with shape of a along specified axis."
        )
    w = cnp.transpose(w, tuple(np.argsort(axes).tolist()))
    return cnp.reshape(w, tuple(n if i in axes else 1 for i, n in enumerate(shape)))


def cov(
    m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
    fweights: Any = None, aweights: Any = None, *, dtype: Any = None,
) -> Any:  # fmt: skip
    """`numpy.cov`, differentiable in the observations `m` and `y` (the frequency and
    analytic weights are constants): rows are variables (columns with ``rowvar=False``),
    ``(X - mean)(X - mean)ᴴ / (n - ddof)``, weighted as NumPy weights it.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.cov(x))(np.array([1.0, 2.0, 4.0]))  # d var / dx = 2 (x - x̄) / 2
    array([-1.33333333, -0.33333333,  1.66666667])
    """
    if not contains_tracer((m, y, fweights, aweights)):
        return np.cov(m, y, rowvar, bias, ddof, fweights, aweights, dtype=dtype)
    if contains_tracer((fweights, aweights)):
        raise TypeError(
            "chainrule.numpy.cov: fweights and aweights must be constants, not traced values"
        )
    m, y = (v if v is None or isinstance(v, Tracer) else cnp.array(v) for v in (m, y))
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    for name, v in (("m", m), ("y", y)):
        if v is not None and ndim_of(v) > 2:
            raise ValueError(f"{name} has more than 2 dimensions")
    if dtype is None:  # (NumPy's: of m and y, at least float64)
        dtype = np.result_type(*(dtype_of(v) for v in (m, y) if v is not None), np.float64)
    elif np.dtype(dtype).kind not in "fc":  # (NumPy's means would not fit in it either)
        raise TypeError(f"chainrule.numpy.cov: dtype must be a float or complex dtype, got {dtype}")

    def variables(v: Any, transposed: bool) -> Any:  # (at least 2-D, a variable per row)
        v = cnp.astype(cnp.atleast_2d(v), dtype)
        return cnp.transpose(v) if transposed else v

    x = variables(m, not rowvar and ndim_of(m) != 1)  # (NumPy's tests, for m and for y)
    if shape_of(x)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        x = cnp.concatenate((x, variables(y, not rowvar and shape_of(cnp.atleast_2d(y))[0] != 1)))
    ddof = (0 if bias else 1) if ddof is None else int(ddof)
    n = shape_of(x)[1]
    w, fact = _cov_weights(n, ddof, fweights, aweights)
    x = x - average(x, axis=1, weights=w)[:, None]
    c = cnp.matmul(x, cnp.conj(cnp.transpose(x if w is None else x * w)))
    return cnp.squeeze(c * float(np.true_divide(1, fact)))  # (inf with a warning at 0)


def _cov_weights(n: int, ddof: Any, fweights: Any, aweights: Any) -> tuple[Any, float]:
    """The observations' weights for `cov` (None: unweighted) and its divisor, as NumPy's,
    with NumPy's checks and warning."""
    w = None
    for name, given in (("fweights", fweights), ("aweights", aweights)):
        if given is None:
            continue
        v = np.asarray(given, dtype=float)
        if name == "fweights" and not np.all(v == np.around(v)):
            raise TypeError("fweights must be integer")
        if v.ndim > 1:
            raise RuntimeError(f"cannot handle multidimensional {name}")
        if v.shape[0] != n:
            raise RuntimeError(f"incompatible numbers of samples and {name}")
        if np.any(v < 0):
            raise ValueError(f"{name} cannot be negative")
        w = v if w is None else w * v
    if w is None:
        fact = float(n - ddof)
    else:
        total = float(w.sum())
        if total == 0:
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        if ddof == 0:
            fact = total
        elif aweights is None:
            fact = total - ddof
        else:
            fact = total - ddof * float((w * np.asarray(aweights, dtype=float)).sum()) / total
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        fact = 0.0
    return w, fact


def corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Any:
    """`numpy.corrcoef`: `cov` scaled by the standard deviations, differentiable in `x` and
    `y` (the clip to [-1, 1] that NumPy applies against rounding has derivative 0 only
    where it bites).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.corrcoef(x, np.array([1.0, 2.0, 4.0]))[0, 1])(np.array([1.0, 3.0, 2.0]))
    array([-0.27277236, -0.27277236,  0.54554473])
    """
    if not contains_tracer((x, y)):
        return np.corrcoef(x, y, rowvar, dtype=dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if ndim_of(c) == 0:  # (one variable: NumPy's c / c)
        return c / c
    std = cnp.sqrt(cnp.real(cnp.diagonal(c)))
    c = c / std[:, None] / std[None, :]
    if dtype_of(c).kind == "c":
        return cnp.clip(cnp.real(c), -1, 1) + 1j * cnp.clip(cnp.imag(c), -1, 1)
    return cnp.clip(c, -1, 1)


__all__ = [
    "amax", "amin", "average", "corrcoef", "cov", "cumprod", "cumsum", "cumulative_prod",
    "cumulative_sum", "max", "mean", "median", "min", "nancumprod", "nancumsum", "nanmax",
    "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile", "nanstd",
    "nansum", "nanvar", "percentile", "prod", "ptp", "quantile", "std", "sum", "var",
]  # fmt: skip

# The public names whose rules are checked on complex values (tests/test_complex_families.py).
COMPLEX = (
    "amax", "amin", "average", "corrcoef", "cov", "cumprod", "cumsum", "cumulative_prod",
    "cumulative_sum", "max", "mean", "median", "min", "nancumprod", "nancumsum", "nanmax",
    "nanmean", "nanmedian", "nanmin", "nanprod", "nanstd", "nansum", "nanvar", "prod", "ptp",
    "std", "sum", "var",
)  # fmt: skip
