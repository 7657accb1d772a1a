"""Differentiable ``scipy.signal`` convolutions: SciPy's names, signatures and values.

Called on plain arrays, each function is SciPy's own. Under a transform all of them are one
primitive, the N-d *full* convolution (``method`` 'direct', 'fft' or 'auto', as SciPy),
and the modes are slices of it: 'same' the centred part of the shape of ``in1``, 'valid'
the part where the inputs overlap completely (``|n - m| + 1`` per axis). A correlation is
the convolution with ``in2`` flipped and, for complex values, conjugated (as SciPy).

Rules: a convolution is bilinear, so its forward derivative is ``conv(da, b) + conv(a,
db)``; its adjoint in ``a`` is a correlation with ``b``, which is the full convolution of
the cotangent with ``flip(b)``, sliced back to the shape of ``a`` (and the same in ``b``).
Both are written with the primitive itself, so every order follows.

Complex values follow JAX's convention (see the README): the convolution is holomorphic in
each input, with the same rules; a correlation is not, through its ``conj``.
``convolve2d`` and ``correlate2d`` take every boundary (``'fill'``,
differentiable in ``fillvalue`` too, ``'wrap'``, ``'symm'``). ``fftconvolve`` with ``axes``
convolves along those and broadcasts along the others: the adjoint is then summed over the
axes where an input was broadcast.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal as ss

from chainrule import numpy as cnp
from chainrule.core.batching import defbatch
from chainrule.core.primitive import defjvp_joint, defvjp, primitive
from chainrule.core.trace import Tracer
from chainrule.numpy.rules.common import (
    batch_ndim,
    conj_if_complex,
    dtype_of,
    ndim_of,
    shape_of,
    to_front,
    unbroadcast,
)

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "fftconvolve"]

_MODES = ("full", "same", "valid")


def _full_impl(a: Any, b: Any, method: str = "auto", axes: Any = None) -> Any:
    if axes is None:
        return ss.convolve(a, b, mode="full", method=method)
    return ss.fftconvolve(a, b, mode="full", axes=axes)


# The full convolution over all axes, or (``axes``, by FFT) over some, broadcast over the rest.
_full = primitive(_full_impl, "convolve")


def _lifted(x: Any, nb: int) -> Any:
    """`x` with `nb` leading axes of size 1, to convolve against a tangent's batch axes."""
    return cnp.reshape(x, (1,) * nb + shape_of(x)) if nb else x


def _shifted(axes: Any, nb: int) -> Any:
    """`axes` past `nb` leading batch axes (which are broadcast, never convolved)."""
    return None if axes is None else tuple(ax + nb for ax in axes)


def _conv_axes(axes: Any, ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim)) if axes is None else axes


def _window(x: Any, starts: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """The block of `x` (over its last axes) of the given `shape` starting at `starts`."""
    index = (Ellipsis, *(slice(s, s + n) for s, n in zip(starts, shape, strict=True)))
    return x[index]


def _correlate_back(g: Any, other: Any, like: Any, method: str, axes: Any) -> Any:
    """The adjoint of ``x -> conv_full(x, other)`` at `g`, shaped like `like`: the
    correlation with `other` along the convolved axes, summed where `x` was broadcast."""
    conv = _conv_axes(axes, ndim_of(g))
    full = _full(g, cnp.flip(other, axis=conv), method=method, axes=axes)
    starts = tuple(m - 1 if k in conv else 0 for k, m in enumerate(shape_of(other)))
    shape = tuple(n if k in conv else shape_of(g)[k] for k, n in enumerate(shape_of(like)))
    return unbroadcast(_window(full, starts, shape), like)


def _full_jvp(
    tangents: Any, ans: Any, a: Any, b: Any, method: str = "auto", axes: Any = None
) -> Any:
    ta, tb = tangents
    out = None
    if ta is not None:
        nb = batch_ndim(ta, a)
        out = _full(ta, _lifted(b, nb), method=method, axes=_shifted(axes, nb))
    if tb is not None:
        nb = batch_ndim(tb, b)
        term = _full(_lifted(a, nb), tb, method=method, axes=_shifted(axes, nb))
        out = term if out is None else out + term
    return out


defvjp(
    _full,
    lambda g, ans, a, b, method="auto", axes=None: _correlate_back(g, b, a, method, axes),
    lambda g, ans, a, b, method="auto", axes=None: _correlate_back(g, a, b, method, axes),
)
defjvp_joint(_full, _full_jvp)


def _full_batch(args: list[Any], dims: list[Any], method: str = "auto", axes: Any = None) -> Any:
    """`vmap` of the full convolution: the batch goes in front, a shared input gets a size-1
    axis there. Convolving along that axis with a size-1 input copies each example, so a
    convolution over every axis stays one call of `method`; with both inputs batched the
    batch must be broadcast, not convolved, which SciPy does only by FFT (`fftconvolve`
    with `axes`): exact to the FFT's rounding, ``eps log n`` relative to the terms. Integers
    would not stay integers that way: they take `_exact_full`, exact as a loop."""
    (a, b), (da, db) = args, dims
    rank = ndim_of(a) - (da is not None)
    a = _lifted(a, 1) if da is None else to_front(a, da)
    b = _lifted(b, 1) if db is None else to_front(b, db)
    if axes is None and (da is None or db is None):
        return _full(a, b, method=method), 0
    conv = _conv_axes(axes, rank)
    if not conv:  # scalars: the convolution is the product
        return a * b, 0
    integers = np.result_type(dtype_of(a), dtype_of(b)).kind in "iu"
    if integers and method != "fft":  # SciPy's `auto` keeps them exact; the FFT would round
        return _exact_full(a, b, _shifted(conv, 1)), 0
    return _full(a, b, method=method, axes=_shifted(conv, 1)), 0


def _exact_full(a: Any, b: Any, conv: tuple[int, ...]) -> Any:
    """The full convolution ``Σ_j a[k - j] b[j]`` along the axes `conv` of a batch of
    integer inputs, broadcast over the others: exact, in their dtype, as SciPy's direct
    method. Each convolved axis of `a` becomes its windows ``(k, j)`` (one index, zeros
    outside), multiplied by `b` and summed over ``j``."""
    for ax in sorted(conv, reverse=True):  # (the axes before `ax` keep their positions)
        n, m = shape_of(a)[ax], shape_of(b)[ax]
        pad = [(0, 0)] * ndim_of(a)
        pad[ax] = (m - 1, m - 1)
        windows = np.arange(n + m - 1)[:, None] - np.arange(m) + (m - 1)  # a_pad[k - j + m - 1]
        a = cnp.take(cnp.pad(a, pad), windows, axis=ax)
        b = cnp.expand_dims(b, ax)
    return cnp.sum(a * b, axis=tuple(ax + i + 1 for i, ax in enumerate(sorted(conv))))


defbatch(_full, _full_batch)


def _traced(*xs: Any) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _check_mode(name: str, mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(
            f"chainrule.scipy.signal.{name}: mode must be one of {_MODES}, got {mode!r}"
        )


def _convolve_traced(
    name: str,
    a: Any,
    b: Any,
    mode: str,
    method: str,
    centre_late: bool = False,
    axes: tuple[int, ...] | None = None,
) -> Any:
    """The N-d convolution in `mode`, as a slice of the full one (along `axes` only).

    'same' is centred as SciPy's: along an axis where ``in2`` has even length the block
    starts at ``m/2 - 1``, except for ``correlate2d`` (`centre_late`), where it is ``m/2``.
    """
    _check_mode(name, mode)
    a, b = (x if isinstance(x, Tracer) else np.asarray(x) for x in (a, b))
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) != len(sb):
        raise ValueError(
            f"chainrule.scipy.signal.{name}: in1 and in2 should have the same dimensionality "
            f"(got shapes {sa} and {sb})"
        )
    conv = _conv_axes(axes, len(sa))
    pairs = [(sa[k], sb[k]) for k in conv]
    if mode == "valid" and not (all(n >= m for n, m in pairs) or all(m >= n for n, m in pairs)):
        raise ValueError(
            f"chainrule.scipy.signal.{name}: for 'valid' mode, one input must be at least as "
            f"large as the other in every convolved dimension (got shapes {sa} and {sb})"
        )
    return _crop(_full(a, b, method=method, axes=axes), sa, sb, mode, centre_late, conv)


def _crop(full: Any, sa: Any, sb: Any, mode: str, centre_late: bool, conv: tuple[int, ...]) -> Any:
    """The block of the full convolution of shapes `sa` and `sb` that `mode` keeps.

    Along an axis not convolved (broadcast), 'valid' keeps it whole and 'same' centres it
    on the size of ``in1``, as SciPy.
    """
    if mode == "full":
        return full
    shape, starts = list(shape_of(full)), [0] * len(sa)
    for k, (n, m) in enumerate(zip(sa, sb, strict=True)):
        if mode == "same":
            late = centre_late if k in conv else 0
            shape[k], starts[k] = n, (shape[k] - n + late) // 2
        elif k in conv:
            shape[k], starts[k] = abs(n - m) + 1, min(n, m) - 1
    return _window(full, tuple(starts), tuple(shape))


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """`scipy.signal.convolve`, differentiable in both inputs.

    The gradient of ``sum(w * convolve(x, k))`` in ``x`` is the correlation of ``w`` with
    ``k`` (a moving sum of ``w`` for a box kernel):

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import signal
    >>> k = np.ones(2)
    >>> cr.grad(lambda x: signal.convolve(x, k).sum())(np.array([1.0, 2.0, 3.0]))
    array([2., 2., 2.])
    """
    if not _traced(in1, in2):
        return ss.convolve(in1, in2, mode=mode, method=method)
    return _convolve_traced("convolve", in1, in2, mode, method)


def _reversed(x: Any) -> Any:
    """``in2`` as a correlation uses it: flipped along every axis, conjugated if complex."""
    return conj_if_complex(cnp.flip(x))


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """`scipy.signal.correlate`: ``convolve(in1, conj(flip(in2)))``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import signal
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> cr.grad(lambda k: signal.correlate(x, k, mode="valid")[0])(np.array([0.0, 0.0]))
    array([1., 2.])
    """
    if not _traced(in1, in2):
        return ss.correlate(in1, in2, mode=mode, method=method)
    return _convolve_traced("correlate", in1, _reversed(in2), mode, method)


def fftconvolve(in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> Any:
    """`scipy.signal.fftconvolve`, along all axes or along `axes` (broadcast over the rest).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import signal
    >>> f = lambda k: signal.fftconvolve(np.array([1.0, 2.0]), k, mode="same").sum()
    >>> cr.grad(f)(np.array([0.0, 0.0, 0.0])).round(6)
    array([2., 3., 1.])
    """
    if not _traced(in1, in2):
        return ss.fftconvolve(in1, in2, mode=mode, axes=axes)
    ndim = ndim_of(in1)
    if axes is None:
        return _convolve_traced("fftconvolve", in1, in2, mode, "fft")
    conv = tuple(sorted({int(ax) % max(ndim, 1) for ax in np.atleast_1d(axes)}))
    if conv == tuple(range(ndim)):
        return _convolve_traced("fftconvolve", in1, in2, mode, "fft")
    return _convolve_traced("fftconvolve", in1, in2, mode, "fft", axes=conv)


# SciPy's boundary flags, as modes of `numpy.pad`: the input extended beyond its edges.
_BOUNDARIES = {
    "fill": "constant", "pad": "constant", "wrap": "wrap", "circular": "wrap",
    "symm": "symmetric", "symmetric": "symmetric",
}  # fmt: skip


def _convolve2d_traced(
    name: str, in1: Any, kernel: Any, mode: str, boundary: str, fillvalue: Any, late: bool
) -> Any:
    """A 2-d convolution of `in1`, padded with `fillvalue` outside, with `kernel`.

    'wrap' and 'symm' pad `in1` by ``m - 1`` on each side (`numpy.pad`'s 'wrap' and
    'symmetric') and keep the 'valid' part. With 'fill', the padded input is ``in1`` plus
    ``c`` times the indicator of the outside, so the result is ``conv(in1, k) + c (sum(k) -
    conv(ones, k))``. In 'valid' mode nothing of the padding is read (as SciPy).
    """
    _check_mode(name, mode)
    if ndim_of(in1) != 2 or ndim_of(kernel) != 2:
        raise ValueError(f"chainrule.scipy.signal.{name}: in1 and in2 must both be 2-D arrays")
    if boundary not in _BOUNDARIES:
        raise ValueError(
            f"chainrule.scipy.signal.{name}: acceptable boundary flags are 'fill', 'circular' "
            f"(or 'wrap'), and 'symmetric' (or 'symm'); got {boundary!r}"
        )
    if _BOUNDARIES[boundary] != "constant" and mode != "valid":
        sb = shape_of(kernel)
        widths = [(m - 1, m - 1) for m in sb]
        padded = cnp.pad(in1, widths, mode=_BOUNDARIES[boundary])
        full = _convolve_traced(name, padded, kernel, "valid", "direct")
        return _crop(full, shape_of(in1), sb, mode, late, (0, 1))
    if np.size(fillvalue) != 1:
        raise ValueError(
            f"chainrule.scipy.signal.{name}: fillvalue must be scalar or an array with one element."
        )
    out = _convolve_traced(name, in1, kernel, mode, "direct", late)
    if mode == "valid" or not (_traced(fillvalue) or np.any(np.asarray(fillvalue) != 0)):
        return out
    ones = np.ones(shape_of(in1), np.result_type(dtype_of(in1), dtype_of(kernel)))
    outside = cnp.sum(kernel) - _convolve_traced(name, ones, kernel, mode, "direct", late)
    return out + cnp.reshape(fillvalue, ()) * outside


def convolve2d(
    in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0
) -> Any:
    """`scipy.signal.convolve2d`, differentiable in both inputs (and `fillvalue`).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import signal
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda k: signal.convolve2d(x, k, mode="valid").sum())(np.zeros((2, 2)))
    array([[4., 3.],
           [2., 1.]])
    """
    if not _traced(in1, in2, fillvalue):
        return ss.convolve2d(in1, in2, mode=mode, boundary=boundary, fillvalue=fillvalue)
    return _convolve2d_traced("convolve2d", in1, in2, mode, boundary, fillvalue, False)


def correlate2d(
    in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0
) -> Any:
    """`scipy.signal.correlate2d`, differentiable in both inputs (and `fillvalue`).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> from chainrule.scipy import signal
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.grad(lambda k: signal.correlate2d(x, k, mode="valid").sum())(np.zeros((2, 2)))
    array([[1., 2.],
           [3., 4.]])
    """
    if not _traced(in1, in2, fillvalue):
        return ss.correlate2d(in1, in2, mode=mode, boundary=boundary, fillvalue=fillvalue)
    return _convolve2d_traced("correlate2d", in1, _reversed(in2), mode, boundary, fillvalue, True)
