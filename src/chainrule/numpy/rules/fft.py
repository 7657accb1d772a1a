"""Discrete Fourier transforms (`numpy.fft`) and their derivatives.

Every transform is linear, so its forward rule is the transform itself applied to the tangent,
and its reverse rule is its transpose under JAX's pairing ``Re(sum(a * b))`` (no conjugation,
see `core.primitive`). As in NumPy, an n-dimensional transform is one 1-D transform per axis,
so four 1-D primitives carry all the rules (``c`` is the scale ``norm`` gives, ``w`` the root
of unity ``exp(-2 pi i / n)``, ``P`` the cut or zero-padding of the input to ``n`` points,
whose transpose is the zero-padding or cut back):

- ``fft``, ``ifft``: ``y = c F P x`` with ``F[j, t] = w**(j t)`` (or ``w**(-j t)``), a
  *symmetric* matrix, so the transpose is ``P^T c F``: the same transform of the cotangent,
  with the same norm, cut or padded back to the input's length.
- ``rfft`` (real input): the first ``k = n // 2 + 1`` rows of ``fft``, so its transpose is
  ``Re(sum_j g_j w**(j t))`` over those bins. That is ``irfft(conj(g) / m)`` (norm swapped,
  same ``c``), with ``m`` the bin weights of ``irfft`` below: ``irfft`` counts each bin
  between DC and Nyquist twice, for the frequencies ``j`` and ``n - j``, and the transpose
  of ``rfft`` only once.
- ``irfft`` reads a half spectrum ``h`` (``k = n // 2 + 1`` bins) as a Hermitian one:
  ``x[t] = c sum_j m_j Re(h_j w**(-j t))`` with ``m_j = 2`` except ``m_0 = 1`` (and
  ``m_{n/2} = 1`` for even ``n``), where only the real parts of the DC and Nyquist bins
  count. So the transpose is ``m * conj(rfft(g))`` with the norm swapped (the same ``c``),
  cut or padded back to ``h``'s length. It is real at the DC and Nyquist bins: the imaginary
  parts NumPy ignores get derivative 0. Note that it is *not* ``rfft``: the bins that
  stand for two (conjugate) frequencies are counted twice.
- ``hfft`` and ``ihfft`` are NumPy's own compositions, ``irfft(conj(a))`` and
  ``conj(rfft(a))`` with the norm swapped, differentiated through; ``fftshift`` and
  ``ifftshift`` are rolls.

Since the rules are written with the transforms themselves, higher derivatives come for free.
On plain arrays every function is NumPy's own; on traced values they keep NumPy's
arguments (``n``, ``s``, ``axes``, every ``norm``) and dtypes (float32 gives complex64), and
refuse ``out=``. ``fftfreq`` and ``rfftfreq`` are NumPy's own (they take no array).

Under `vmap`, a 1-D primitive batches as it batches a tangent (`common.deflinear`): the batch
axis goes first, and the primitives count their axis from the end, so the examples' axes
(``axis``, ``axes``, ``s``) need no shifting; the shifts are rolls, whose rule shifts theirs.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> power = lambda x: np.sum(np.abs(np.fft.rfft(x)) ** 2)  # over half the spectrum
>>> cr.grad(power)(np.array([1.0, 0.0, 0.0, 0.0]))
array([6., 0., 2., 0.])
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import numpy as cnp
from chainrule.core.primitive import primitive
from chainrule.core.trace import dtype_of, is_complex, shape_of

from .common import deflinear
from .indexing import contains_tracer, getitem, normalize_axis, scatter_add

_fft = primitive(np.fft.fft, "fft")
_ifft = primitive(np.fft.ifft, "ifft")
_rfft = primitive(np.fft.rfft, "rfft")
_irfft = primitive(np.fft.irfft, "irfft")

_NORMS = {None: "backward", "backward": "backward", "ortho": "ortho", "forward": "forward"}
_SWAPPED = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _resize(y: Any, length: int, axis: int) -> Any:
    """`y` cut, or padded with zeros, to `length` entries along `axis` (negative)."""
    shape = shape_of(y)
    have = shape[axis]
    if have == length:
        return y
    index = (slice(None),) * (len(shape) + axis) + (slice(0, min(have, length)),)
    index += (slice(None),) * (-axis - 1)
    if have > length:
        return getitem(y, index)
    return scatter_add(y, index, (*shape[:axis], length, *shape[len(shape) + axis + 1 :]))


def _same(transform: Any) -> Any:
    """The forward rule of a linear transform: itself, on the tangent (batch axes lead, and
    the axis is negative)."""
    return lambda t, nb, ans, x, **params: transform(t, **params)


def _self_transpose(transform: Any) -> Any:
    """The reverse rule of ``fft``/``ifft``: the same transform, back to the input's length."""

    def vjp(g: Any, ans: Any, x: Any, *, n: int, axis: int, norm: str) -> Any:
        return _resize(transform(g, n=n, axis=axis, norm=norm), shape_of(x)[axis], axis)

    return vjp


def _bin_weights(n: int, inner: float, dtype: Any, axis: int) -> np.ndarray:
    """Weights of the ``n // 2 + 1`` bins of a half spectrum along `axis`: 1 at the DC and (for
    even `n`) Nyquist bins, which stand for one frequency each, `inner` at the others, which
    stand for two (``j`` and ``n - j``)."""
    weights = np.full(n // 2 + 1, inner, dtype)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    return weights.reshape((-1,) + (1,) * (-axis - 1))


def _rfft_transpose(g: Any, ans: Any, x: Any, *, n: int, axis: int, norm: str) -> Any:
    # Re(sum_j g_j w**(j t)) over the half spectrum: irfft counts the inner bins twice
    weights = _bin_weights(n, 0.5, np.finfo(dtype_of(g)).dtype, axis)
    signal = _irfft(cnp.conj(g) * weights, n=n, axis=axis, norm=_SWAPPED[norm])
    return _resize(signal, shape_of(x)[axis], axis)


def _irfft_transpose(g: Any, ans: Any, h: Any, *, n: int, axis: int, norm: str) -> Any:
    half = cnp.conj(_rfft(g, n=n, axis=axis, norm=_SWAPPED[norm]))
    ct = _resize(half * _bin_weights(n, 2.0, dtype_of(g), axis), shape_of(h)[axis], axis)
    return ct if is_complex(h) else cnp.real(ct)


deflinear(_fft, _self_transpose(_fft), _same(_fft))
deflinear(_ifft, _self_transpose(_ifft), _same(_ifft))
deflinear(_rfft, _rfft_transpose, _same(_rfft))
deflinear(_irfft, _irfft_transpose, _same(_irfft))

# ---------------------------------------------------------------------------------------------
# Checking NumPy's arguments on the traced path.

_REAL_INPUT = ("rfft", "rfft2", "rfftn", "ihfft")


def _input(name: str, a: Any, out: Any) -> Any:
    if out is not None:
        raise TypeError(
            f"chainrule.numpy.fft.{name}: `out=` cannot hold a value being differentiated; "
            "drop it and use the returned array"
        )
    x = cnp.asarray(a)
    if name in _REAL_INPUT and is_complex(x):
        raise TypeError(
            f"chainrule.numpy.fft.{name} takes real input (NumPy refuses complex input too); "
            f"use {'fft' if name == 'ihfft' else name[1:]} for complex values, or pass the "
            "real part"
        )
    return x


def _norm(name: str, norm: Any) -> str:
    try:
        return _NORMS[norm]
    except (KeyError, TypeError):
        raise ValueError(
            f'chainrule.numpy.fft.{name}: invalid norm value {norm!r}; should be "backward", '
            '"ortho" or "forward"'
        ) from None


def _points(name: str, n: Any, default: int) -> int:
    n = default if n is None else operator.index(n)
    if n < 1:
        raise ValueError(f"chainrule.numpy.fft.{name}: invalid number of FFT data points ({n})")
    return n


def _along(name: str, prim: Any, x: Any, n: Any, axis: Any, norm: str) -> Any:
    """One 1-D transform of a traced `x`, with NumPy's defaults for `n`."""
    axis = normalize_axis(axis, len(shape_of(x))) - len(shape_of(x))
    have = shape_of(x)[axis]
    n = _points(name, n, 2 * (have - 1) if prim is _irfft else have)
    return prim(x, n=n, axis=axis, norm=norm)


def _lengths_and_axes(name: str, x: Any, s: Any, axes: Any) -> tuple[list[Any], list[int]]:
    """NumPy's `s` and `axes` (defaults, -1 for a whole axis, its deprecations); a length of
    None stands for the 1-D transform's default."""
    shape = shape_of(x)
    if axes is None:
        if s is not None:
            warnings.warn(
                f"chainrule.numpy.fft.{name}: `axes` should not be None if `s` is not None "
                "(deprecated in NumPy 2.0); pass the axes",
                DeprecationWarning,
                stacklevel=4,
            )
        axes = range(-(len(shape) if s is None else len(s)), 0)
    axes = [normalize_axis(ax, len(shape)) - len(shape) for ax in axes]
    if s is None:
        return [None] * len(axes), axes
    s = list(s)
    if len(s) != len(axes):
        raise ValueError(f"chainrule.numpy.fft.{name}: shape and axes have different lengths")
    if None in s:
        warnings.warn(
            f"chainrule.numpy.fft.{name}: None in `s` is deprecated in NumPy 2.0; pass the "
            "length the 1-D transform takes by default",
            DeprecationWarning,
            stacklevel=4,
        )
    return [shape[ax] if n == -1 else n for n, ax in zip(s, axes, strict=True)], axes


# ---------------------------------------------------------------------------------------------
# The transforms on traced values.

_ONE_AXIS = {"fft": _fft, "ifft": _ifft, "rfft": _rfft, "irfft": _irfft}


def _one_axis(name: str, a: Any, n: Any, axis: Any, norm: Any, out: Any) -> Any:
    if not contains_tracer(a):
        return getattr(np.fft, name)(a, n, axis, norm, out)
    x = _input(name, a, out)
    norm = _norm(name, norm)
    if name == "hfft":
        return _along(name, _irfft, cnp.conj(x), n, axis, _SWAPPED[norm])
    if name == "ihfft":
        return cnp.conj(_along(name, _rfft, x, n, axis, _SWAPPED[norm]))
    return _along(name, _ONE_AXIS[name], x, n, axis, norm)


def _many_axes(name: str, a: Any, s: Any, axes: Any, norm: Any, out: Any) -> Any:
    if not contains_tracer(a):
        return getattr(np.fft, name)(a, s, axes, norm, out)
    x = _input(name, a, out)
    norm = _norm(name, norm)
    lengths, axes = _lengths_and_axes(name, x, s, axes)
    if not axes:
        if name.startswith(("rfft", "irfft")):
            raise ValueError(f"chainrule.numpy.fft.{name}: `axes` must name at least one axis")
        return x
    pairs: Sequence[tuple[Any, int]] = list(zip(lengths, axes, strict=True))
    if name.startswith("irfft"):  # NumPy's order: the complex axes first, the real one last
        for n, ax in pairs[:-1]:
            x = _along(name, _ifft, x, n, ax, norm)
        return _along(name, _irfft, x, *pairs[-1], norm)
    prim = _ifft if name.startswith("ifft") else _fft
    if name.startswith("rfft"):
        x = _along(name, _rfft, x, *pairs[-1], norm)
        pairs = pairs[:-1]
    for n, ax in reversed(pairs):
        x = _along(name, prim, x, n, ax, norm)
    return x


# ---------------------------------------------------------------------------------------------
# The public functions, with NumPy's signatures.


def fft(
    a: Any, n: int | None = None, axis: int = -1, norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.fft`; its transpose is itself (the DFT matrix is symmetric).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.fft(x, n=4)[1].real)(np.array([1.0, 2.0, 3.0]))
    array([ 1.,  0., -1.])
    """
    return _one_axis("fft", a, n, axis, norm, out)


def ifft(
    a: Any, n: int | None = None, axis: int = -1, norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.ifft`; its transpose is itself, with the same `norm`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda z: np.fft.ifft(z)[1].imag)(np.array([1.0 + 1j, 2.0]))
    array([0.-0.5j, 0.+0.5j])
    """
    return _one_axis("ifft", a, n, axis, norm, out)


def rfft(
    a: Any, n: int | None = None, axis: int = -1, norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.rfft` of a real signal; its transpose is the real part of an `fft` of the
    zero-padded cotangent.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.rfft(x)[1].imag)(np.array([1.0, 2.0, 3.0, 4.0]))
    array([ 0., -1.,  0.,  1.])
    """
    return _one_axis("rfft", a, n, axis, norm, out)


def irfft(
    a: Any, n: int | None = None, axis: int = -1, norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.irfft`; the imaginary parts of the DC and Nyquist bins, which NumPy
    ignores, have derivative 0.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda h: np.fft.irfft(h)[0])(np.array([1.0 + 1j, 2.0 + 2j, 3.0 + 3j]))
    array([0.25+0.j, 0.5 +0.j, 0.25+0.j])
    """
    return _one_axis("irfft", a, n, axis, norm, out)


def hfft(
    a: Any, n: int | None = None, axis: int = -1, norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.hfft`: the real spectrum of a Hermitian signal, ``irfft(conj(a))`` with
    the norm swapped, as NumPy computes it.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda z: np.fft.hfft(z)[1])(np.array([1.0 + 0j, 2.0, 3.0]))
    array([ 1.-0.j,  0.-2.j, -1.+0.j])
    """
    return _one_axis("hfft", a, n, axis, norm, out)


def ihfft(
    a: Any, n: int | None = None, axis: int = -1, norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.ihfft` of a real signal: ``conj(rfft(a))`` with the norm swapped.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.ihfft(x)[1].imag)(np.array([1.0, 2.0, 3.0, 4.0]))
    array([ 0.  ,  0.25,  0.  , -0.25])
    """
    return _one_axis("ihfft", a, n, axis, norm, out)


def fft2(
    a: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.fft2`: `fft` along each of `axes`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.fft2(x)[0, 1].real)(np.ones((2, 2)))
    array([[ 1., -1.],
           [ 1., -1.]])
    """
    return _many_axes("fft2", a, s, axes, norm, out)


def ifft2(
    a: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.ifft2`: `ifft` along each of `axes`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.ifft2(x)[0, 0].real)(np.ones((2, 2)))
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    return _many_axes("ifft2", a, s, axes, norm, out)


def fftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None, out: Any = None) -> Any:
    """`numpy.fft.fftn`: `fft` along each of `axes` (every axis by default).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.fftn(x, s=(2, 4), axes=(0, 1))[1, 1].imag)(np.ones((2, 3)))
    array([[ 0., -1.,  0.],
           [ 0.,  1.,  0.]])
    """
    return _many_axes("fftn", a, s, axes, norm, out)


def ifftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None, out: Any = None) -> Any:
    """`numpy.fft.ifftn`: `ifft` along each of `axes` (every axis by default).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.ifftn(x, norm="forward")[0, 0].real)(np.ones((2, 3)))
    array([[1., 1., 1.],
           [1., 1., 1.]])
    """
    return _many_axes("ifftn", a, s, axes, norm, out)


def rfft2(
    a: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.rfft2`: `rfft` along the last of `axes`, then `fft` along the others.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.rfft2(x)[1, 0].real)(np.ones((2, 2)))
    array([[ 1.,  1.],
           [-1., -1.]])
    """
    return _many_axes("rfft2", a, s, axes, norm, out)


def irfft2(
    a: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.irfft2`: `ifft` along all but the last of `axes`, then `irfft` along it.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda h: np.fft.irfft2(h)[0, 0])(np.ones((2, 2), complex))
    array([[0.25+0.j, 0.25+0.j],
           [0.25+0.j, 0.25+0.j]])
    """
    return _many_axes("irfft2", a, s, axes, norm, out)


def rfftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None, out: Any = None) -> Any:
    """`numpy.fft.rfftn`: `rfft` along the last of `axes`, then `fft` along the others.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.rfftn(x, s=(3,), axes=(0,))[1, 0].real)(np.ones((2, 1)))
    array([[ 1. ],
           [-0.5]])
    """
    return _many_axes("rfftn", a, s, axes, norm, out)


def irfftn(
    a: Any, s: Any = None, axes: Any = None, norm: str | None = None, out: Any = None
) -> Any:
    """`numpy.fft.irfftn`: `ifft` along all but the last of `axes`, then `irfft` along it.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> first = lambda h: np.fft.irfftn(h, s=(2, 4), axes=(0, 1))[0, 0]
    >>> cr.grad(first)(np.ones((2, 3), complex))
    array([[0.125+0.j, 0.25 +0.j, 0.125+0.j],
           [0.125+0.j, 0.25 +0.j, 0.125+0.j]])
    """
    return _many_axes("irfftn", a, s, axes, norm, out)


def _shift(name: str, x: Any, axes: Any, sign: int) -> Any:
    if not contains_tracer(x):
        return getattr(np.fft, name)(x, axes)
    x = cnp.asarray(x)
    shape = shape_of(x)
    axes = tuple(range(len(shape))) if axes is None else axes
    if isinstance(axes, (int, np.integer)):
        return cnp.roll(x, sign * (shape[axes] // 2), axes)
    return cnp.roll(x, [sign * (shape[ax] // 2) for ax in axes], tuple(axes))


def fftshift(x: Any, axes: Any = None) -> Any:
    """`numpy.fft.fftshift`: a roll by half of each axis (the zero frequency to the centre).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.fftshift(x)[0])(np.zeros(5))
    array([0., 0., 0., 1., 0.])
    """
    return _shift("fftshift", x, axes, 1)


def ifftshift(x: Any, axes: Any = None) -> Any:
    """`numpy.fft.ifftshift`: the inverse roll of `fftshift`.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: np.fft.ifftshift(x)[0])(np.zeros(5))
    array([0., 0., 1., 0., 0.])
    """
    return _shift("ifftshift", x, axes, -1)


# The names whose rules are checked on complex values (tests/test_fft.py): complex inputs,
# or, for the real-input transforms (rfft*, ihfft), complex results.
COMPLEX = (
    "fft", "fft2", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn", "ifftshift", "ihfft",
    "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftn",
)  # fmt: skip

__all__ = [
    "fft", "fft2", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn", "ifftshift", "ihfft",
    "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftn",
]  # fmt: skip
