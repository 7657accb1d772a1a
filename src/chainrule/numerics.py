"""Floating point for machine learning: formats, bit patterns, stable softmax, mixed precision.

Three things every ML practitioner meets sooner or later, each small enough to read:

- **Formats.** `describe` gives the layout and limits of float16, bfloat16, float32 and
  float64 (the values of ``numpy.finfo`` / ``ml_dtypes.finfo``); `bits` and `decode` show
  how one number is stored: sign | exponent | mantissa.
- **Overflow in softmax.** `naive_softmax` computes ``exp(z) / Σ exp(z)`` as written and
  returns NaN once ``exp`` overflows; `stable_softmax` subtracts ``max(z)`` first (softmax
  does not change) and is right for any input. `compare_softmax` shows them side by side,
  with their log-softmax counterparts.
- **Mixed precision.** `MixedPrecision` wraps a `chainrule.optim` optimizer to compute the
  loss and its gradients in float16 or bfloat16 while it updates float32 *master* weights,
  with PyTorch's dynamic loss scaling (``torch.amp.GradScaler``), so small gradients do not
  underflow to 0 in float16.

>>> from chainrule import numerics
>>> numerics.bits(1.0, "float32")
'0 01111111 00000000000000000000000'
>>> print(numerics.decode(0.1, "float16"))
0.0999755859375 in float16: 0 01011 1001100110
  normal: (-1)^0 × 2^-4 × 1.599609375
>>> numerics.stable_softmax([1000.0, 2000.0, 3000.0])
array([0., 0., 1.])

bfloat16 comes from the ``ml_dtypes`` package, imported only when bfloat16 is asked for.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import tree
from chainrule._validate import count, flag, number
from chainrule.core.trace import Tracer

__all__ = [
    "FORMATS",
    "FloatBits",
    "FloatFormat",
    "MixedPrecision",
    "MixedPrecisionState",
    "SoftmaxComparison",
    "StepInfo",
    "bits",
    "compare_softmax",
    "decode",
    "describe",
    "naive_log_softmax",
    "naive_softmax",
    "stable_log_softmax",
    "stable_softmax",
]

FORMATS: tuple[str, ...] = ("float16", "bfloat16", "float32", "float64")
"""The floating-point formats `describe`, `bits` and `decode` know."""

# ------------------------------------------------------------------------------- formats


def _bfloat16() -> np.dtype[Any]:
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - ml_dtypes is installed with the test extras
        raise ImportError("bfloat16 needs the ml_dtypes package: pip install ml_dtypes") from None
    return np.dtype(ml_dtypes.bfloat16)


def _dtype(dtype: Any, what: str = "dtype", allowed: tuple[str, ...] = FORMATS) -> np.dtype[Any]:
    """`dtype` (a name, a NumPy dtype or an ml_dtypes type) as a NumPy dtype in `allowed`."""
    hint = f"use one of {', '.join(repr(n) for n in allowed)}"
    if isinstance(dtype, str) and dtype.strip().lower() == "bfloat16":
        resolved = _bfloat16()
    else:
        try:
            resolved = np.dtype(dtype)
        except TypeError:
            raise ValueError(f"{what}: unknown data type {dtype!r}; {hint}.") from None
    if resolved.name in allowed:
        return resolved
    if resolved.kind in "biu":
        raise TypeError(
            f"{what}: {resolved.name} is an integer type, not a floating-point format; {hint}."
        )
    raise ValueError(f"{what}: {resolved.name} is not supported here; {hint}.")


def _finfo(dtype: np.dtype[Any]) -> Any:
    if dtype.name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.finfo(dtype)
    return np.finfo(dtype)


@dataclasses.dataclass(frozen=True)
class FloatFormat:
    """The layout and limits of a binary floating-point format (see `describe`).

    A normal number is ``(-1)^sign × 2^(E - bias) × 1.f``, where ``E`` is the stored
    exponent field (neither all zeros nor all ones) and ``f`` the mantissa (fraction) bits.
    ``E = 0`` holds zero and the subnormals ``(-1)^sign × 2^(1 - bias) × 0.f``; ``E`` all
    ones holds inf (``f = 0``) and NaN.
    """

    name: str
    bits: int
    sign_bits: int
    exponent_bits: int
    mantissa_bits: int
    bias: int
    eps: float
    """The gap between 1 and the next larger number, ``2^-mantissa_bits``."""
    max: float
    tiny: float
    """The smallest positive normal number, ``2^(1 - bias)``."""
    smallest_subnormal: float
    precision: int
    """Decimal digits that survive a round trip through the format."""

    def __str__(self) -> str:
        m, b = self.mantissa_bits, self.bias
        rows = [
            ("eps (gap after 1)", self.eps, f"2^-{m}"),
            ("max", self.max, f"(2 - 2^-{m}) × 2^{b}"),
            ("smallest normal", self.tiny, f"2^{1 - b}"),
            ("smallest subnormal", self.smallest_subnormal, f"2^{1 - b - m}"),
        ]
        lines = [
            f"{self.name}: {self.bits} bits = {self.sign_bits} sign + {self.exponent_bits} "
            f"exponent + {m} mantissa, exponent bias {b}"
        ]
        lines += [f"  {label:<20} {value:<12.6g} = {form}" for label, value, form in rows]
        lines.append(f"  {'decimal digits':<20} {self.precision}")
        return "\n".join(lines)


def describe(dtype: Any) -> FloatFormat:
    """The layout and limits of `dtype`: "float16", "bfloat16", "float32" or "float64".

    Accepts names, NumPy dtypes and types (``numpy.float16``, ``ml_dtypes.bfloat16``). The
    numbers are ``numpy.finfo``'s (``ml_dtypes.finfo``'s for bfloat16). bfloat16 keeps
    float32's 8 exponent bits (same range) and only 7 mantissa bits; float16 has 5 and 10
    (more precision, but nothing above 65504 and nothing below 6e-8).

    >>> print(describe("float16"))
    float16: 16 bits = 1 sign + 5 exponent + 10 mantissa, exponent bias 15
      eps (gap after 1)    0.000976562  = 2^-10
      max                  65504        = (2 - 2^-10) × 2^15
      smallest normal      6.10352e-05  = 2^-14
      smallest subnormal   5.96046e-08  = 2^-24
      decimal digits       3
    >>> print(f"{describe('bfloat16').max:.3g} {describe('float32').max:.3g}")
    3.39e+38 3.4e+38
    >>> describe("bfloat16").exponent_bits, describe("bfloat16").mantissa_bits
    (8, 7)
    """
    dt = _dtype(dtype, "describe")
    fi = _finfo(dt)
    return FloatFormat(
        name=dt.name,
        bits=int(fi.bits),
        sign_bits=1,
        exponent_bits=int(fi.nexp),
        mantissa_bits=int(fi.nmant),
        bias=1 - int(fi.minexp),
        eps=float(fi.eps),
        max=float(fi.max),
        tiny=float(fi.smallest_normal),
        smallest_subnormal=float(fi.smallest_subnormal),
        precision=int(fi.precision),
    )


# ---------------------------------------------------------------------------------- bits


@dataclasses.dataclass(frozen=True)
class FloatBits:
    """One number as stored in a format: its bit fields and what they mean (see `decode`)."""

    value: float
    """The number stored: the input rounded to the format (inf if it overflowed)."""
    format: str
    sign: int
    exponent_field: str
    mantissa_field: str
    kind: str
    """"zero", "subnormal", "normal", "inf" or "nan"."""
    exponent: int | None
    """The unbiased exponent (``1 - bias`` for zero and subnormals), None for inf and NaN."""
    significand: float | None
    """``1.f`` for a normal number, ``0.f`` for a subnormal or zero, None for inf and NaN."""

    @property
    def pattern(self) -> str:
        """The bits as ``"sign exponent mantissa"``."""
        return f"{self.sign} {self.exponent_field} {self.mantissa_field}"

    def __str__(self) -> str:
        head = f"{self.value!r} in {self.format}: {self.pattern}"
        if self.kind in ("inf", "nan"):
            mantissa = "0" if self.kind == "inf" else "not 0"
            return f"{head}\n  {self.kind}: exponent all ones, mantissa {mantissa}"
        return f"{head}\n  {self.kind}: (-1)^{self.sign} × 2^{self.exponent} × {self.significand!r}"


def _stored(x: Any, dt: np.dtype[Any]) -> Any:
    """`x` (one real number) rounded to `dt`, as a 0-d array."""
    if isinstance(x, (str, bytes)) or not (
        isinstance(x, numbers.Real) or hasattr(x, "dtype") or isinstance(x, (list, tuple))
    ):
        raise TypeError(f"decode: x must be a real number, got {type(x).__name__}.")
    a = np.asarray(x)
    if a.size != 1:
        raise ValueError(f"decode: x must be one number, got an array of shape {a.shape}.")
    if a.dtype.kind not in "biuf" and a.dtype.name not in FORMATS:
        raise TypeError(f"decode: x must be a real number, got dtype {a.dtype}.")
    with np.errstate(over="ignore", invalid="ignore"):  # too large: inf, as the format says
        return a.reshape(()).astype(dt)


def decode(x: Any, dtype: Any = "float32") -> FloatBits:
    """How `x`, rounded to `dtype`, is stored: bit fields, kind, exponent and significand.

    ``value == (-1)^sign × 2^exponent × significand`` for every finite number.

    >>> d = decode(-2.0, "float32")
    >>> d.pattern, d.kind, d.exponent, d.significand
    ('1 10000000 00000000000000000000000', 'normal', 1, 1.0)
    >>> print(decode(1e-45, "float32"))
    1.401298464324817e-45 in float32: 0 00000000 00000000000000000000001
      subnormal: (-1)^0 × 2^-126 × 1.1920928955078125e-07
    >>> print(decode(1e5, "float16"))
    inf in float16: 0 11111 0000000000
      inf: exponent all ones, mantissa 0
    """
    dt = _dtype(dtype, "decode")
    fmt = describe(dt)
    stored = _stored(x, dt)
    word = int(stored.view(f"uint{fmt.bits}"))
    pattern = format(word, f"0{fmt.bits}b")
    e_bits, m_bits = pattern[1 : 1 + fmt.exponent_bits], pattern[1 + fmt.exponent_bits :]
    e, m = int(e_bits, 2), int(m_bits, 2)
    fraction = m / 2**fmt.mantissa_bits
    exponent: int | None
    significand: float | None
    if e == 2**fmt.exponent_bits - 1:
        kind, exponent, significand = ("inf" if m == 0 else "nan"), None, None
    elif e == 0:
        kind, exponent, significand = ("zero" if m == 0 else "subnormal"), 1 - fmt.bias, fraction
    else:
        kind, exponent, significand = "normal", e - fmt.bias, 1.0 + fraction
    return FloatBits(
        value=float(stored),
        format=fmt.name,
        sign=int(pattern[0]),
        exponent_field=e_bits,
        mantissa_field=m_bits,
        kind=kind,
        exponent=exponent,
        significand=significand,
    )


def bits(x: Any, dtype: Any = "float32") -> str:
    """The bit pattern of `x` rounded to `dtype`, as ``"sign exponent mantissa"``.

    `decode` says what the fields mean.

    >>> bits(0.1, "float32")
    '0 01111011 10011001100110011001101'
    >>> bits(float("-inf"), "bfloat16")
    '1 11111111 0000000'
    """
    return decode(x, dtype).pattern


# ------------------------------------------------------------------------------- softmax


def _float_input(z: Any) -> Any:
    return z if hasattr(z, "shape") and hasattr(z, "dtype") else cnp.asarray(z, dtype=float)


def _shifted(z: Any, axis: int) -> Any:
    """``z - max(z)``: every entry <= 0, so ``exp`` cannot overflow.

    Softmax does not change when a constant is subtracted, so the max is treated as a
    constant (`stop_gradient`): the derivatives are those of softmax itself, and ties in
    the max make no difference.
    """
    return z - cr.stop_gradient(cnp.max(z, axis=axis, keepdims=True))


def naive_softmax(z: Any, axis: int = -1) -> Any:
    """``exp(z) / Σ exp(z)`` as written on paper: NaN once ``exp`` overflows.

    ``exp(710)`` is already inf in float64 (``exp(89)`` in float32), and ``inf / inf`` is
    NaN. Kept to show the failure; use `stable_softmax`.

    >>> naive_softmax([1.0, 2.0, 3.0]).round(4)
    array([0.09  , 0.2447, 0.6652])
    """
    e = cnp.exp(_float_input(z))
    return e / cnp.sum(e, axis=axis, keepdims=True)


def stable_softmax(z: Any, axis: int = -1) -> Any:
    """Softmax of ``z - max(z)``: the same function, with no overflow for any finite input.

    The largest term becomes ``exp(0) = 1``, so the sum is at least 1 and the result is
    exact up to rounding. Differentiable to any order.

    >>> stable_softmax([1000.0, 2000.0, 3000.0])
    array([0., 0., 1.])
    """
    e = cnp.exp(_shifted(_float_input(z), axis))
    return e / cnp.sum(e, axis=axis, keepdims=True)


def naive_log_softmax(z: Any, axis: int = -1) -> Any:
    """``log(softmax(z))`` with the naive softmax: NaN on overflow, and ``-inf`` whenever a
    probability underflows to 0 (``[0, -1000]`` gives ``[0, -inf]``, not ``[0, -1000]``).

    >>> import numpy
    >>> with numpy.errstate(divide="ignore"):  # log(0) is what this example is about
    ...     naive_log_softmax([0.0, -1000.0])
    array([  0., -inf])
    """
    return cnp.log(naive_softmax(z, axis))


def stable_log_softmax(z: Any, axis: int = -1) -> Any:
    """``z - logsumexp(z)``, with ``logsumexp(z) = max(z) + log Σ exp(z - max(z))``.

    Never takes the log of a rounded-to-0 probability, so it is finite for any finite input.

    >>> stable_log_softmax([1000.0, 2000.0, 3000.0])
    array([-2000., -1000.,     0.])
    """
    shifted = _shifted(_float_input(z), axis)
    return shifted - cnp.log(cnp.sum(cnp.exp(shifted), axis=axis, keepdims=True))


@dataclasses.dataclass(frozen=True)
class SoftmaxComparison:
    """Naive and stable softmax and log-softmax of one input, printed as a table."""

    z: Any
    naive_softmax: Any
    stable_softmax: Any
    naive_log_softmax: Any
    stable_log_softmax: Any

    def __str__(self) -> str:
        rows = [
            (f.name.replace("_", " ", 1), getattr(self, f.name)) for f in dataclasses.fields(self)
        ]
        return "\n".join(
            f"{label:<19} {np.array2string(np.asarray(v), precision=4)}" for label, v in rows
        )


def compare_softmax(z: Any, axis: int = -1) -> SoftmaxComparison:
    """Naive and stable softmax and log-softmax of `z`, side by side.

    NumPy's overflow warnings are silenced here: the NaN and inf are the point.

    >>> print(compare_softmax([1000.0, 2000.0, 3000.0]))
    z                   [1000. 2000. 3000.]
    naive softmax       [nan nan nan]
    stable softmax      [0. 0. 1.]
    naive log_softmax   [nan nan nan]
    stable log_softmax  [-2000. -1000.     0.]
    """
    z = np.asarray(_float_input(z))
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        return SoftmaxComparison(
            z=z,
            naive_softmax=naive_softmax(z, axis),
            stable_softmax=stable_softmax(z, axis),
            naive_log_softmax=naive_log_softmax(z, axis),
            stable_log_softmax=stable_log_softmax(z, axis),
        )


# ----------------------------------------------------------------------- mixed precision


class MixedPrecisionState(NamedTuple):
    """State of `MixedPrecision`: a pytree of arrays, like the optimizers' states."""

    inner: Any
    """The wrapped optimizer's state."""
    scale: np.ndarray
    """The loss scale (0-d float32)."""
    good_steps: np.ndarray
    """Finite steps since the scale last changed (torch's growth tracker; 0-d int64)."""
    skipped: np.ndarray
    """Steps skipped so far because the gradients were not finite (0-d int64)."""


class StepInfo(NamedTuple):
    """What one `MixedPrecision.step` did."""

    loss: float
    """The (unscaled) loss at the parameters before the step, computed in the compute dtype."""
    scale: float
    """The loss scale this step used."""
    skipped: bool
    """True when the gradients had an inf or NaN, so the parameters were left as they were."""


def _is_float_leaf(x: Any) -> bool:
    dt = getattr(x, "dtype", None)
    return (
        isinstance(x, (np.ndarray, np.generic))
        and dt is not None
        and (dt.kind == "f" or dt.name == "bfloat16")
    )


def _untraced(where: str, *values: Any) -> None:
    """Refuse traced values: the step decides in Python whether to skip, from their values."""
    if any(isinstance(leaf, Tracer) for leaf in tree.leaves(values)):
        raise TypeError(
            f"MixedPrecision.{where}: a value is traced (by jit, vmap or grad); the step decides "
            "in Python, from the values, whether the gradients are finite and the step is "
            "taken, and returns the loss as a float. Call it outside the transform (a jitted "
            "loss function is fine)."
        )


def _all_finite(grads: Any) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(g)))) for g in tree.leaves(grads))


_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclasses.dataclass(frozen=True)
class MixedPrecision:
    """An optimizer wrapper: float16/bfloat16 compute, float32 master weights, loss scaling.

    Each step casts the float32 parameters (and the floating-point arrays among the loss's
    extra arguments) to `compute_dtype`, evaluates the loss there, multiplies it by the
    loss scale and backpropagates, all in the compute dtype. Gradients that would be too
    small for float16 (below 6e-8) are thereby lifted into its range. They are cast to
    float32 and divided by the scale; if any is inf or NaN the step is skipped and the
    scale multiplied by `backoff_factor`, otherwise the wrapped `optimizer` updates the
    float32 weights, and after `growth_interval` finite steps in a row the scale is
    multiplied by `growth_factor`. The defaults and the rules are those of
    ``torch.amp.GradScaler`` (which keeps a grown scale only if it is finite).

    With ``dynamic=False`` the scale stays `init_scale` (``init_scale=1`` is no scaling);
    steps with non-finite gradients are still skipped. In float16 a scale of 65536 (the
    default, as torch's) is itself above float16's max 65504, so the loss's gradient
    overflows at once and the first step is skipped with the scale halved: the scaler finds
    its level by itself. bfloat16 has float32's range and rarely needs scaling.

    Pure, like `chainrule.optim`: ``state = mp.init(params)``, then
    ``params, state, info = mp.step(loss_fn, params, state, *args)``, or its halves
    ``loss, grads, finite = mp.value_and_grad(loss_fn)(params, state, *args)`` and, as
    optax's ``update`` and ``apply_if_finite``, ``updates, state = mp.update(grads, state,
    params, finite)`` then ``params = optim.apply_updates(params, updates)``.

    >>> import numpy
    >>> import chainrule.numpy as np
    >>> from chainrule import optim
    >>> x = numpy.linspace(-1.0, 1.0, 32, dtype=numpy.float32)
    >>> def loss(w, x): return np.mean((w["a"] * x - 2.0 * x) ** 2)
    >>> mp = MixedPrecision(optim.SGD(lr=0.5), compute_dtype="float16")
    >>> params = {"a": numpy.array(0.0, dtype=numpy.float32)}
    >>> state = mp.init(params)
    >>> for _ in range(30):
    ...     params, state, info = mp.step(loss, params, state, x)
    >>> print(round(float(params["a"]), 3), float(state.scale), int(state.skipped))
    2.0 32768.0 1
    """

    optimizer: Any
    compute_dtype: Any = "float16"
    init_scale: float = 2.0**16
    growth_factor: float = 2.0
    backoff_factor: float = 0.5
    growth_interval: int = 2000
    dynamic: bool = True

    def __post_init__(self) -> None:
        if not all(
            callable(getattr(self.optimizer, name, None)) for name in ("init", "update", "step")
        ):
            raise TypeError(
                "MixedPrecision: optimizer must be a chainrule.optim optimizer (an object "
                f"with init, update and step), got {type(self.optimizer).__name__}."
            )
        allowed = ("float16", "bfloat16", "float32")
        dt = _dtype(self.compute_dtype, "MixedPrecision: compute_dtype", allowed)
        object.__setattr__(self, "compute_dtype", dt.name)
        where = "MixedPrecision"
        ranges = {  # name -> (minimum, maximum), both excluded
            "init_scale": (0.0, _FLOAT32_MAX),
            "growth_factor": (1.0, None),
            "backoff_factor": (0.0, 1.0),
        }
        for name, (low, high) in ranges.items():
            value = number(
                getattr(self, name), name, where, minimum=low, maximum=high, exclusive=True
            )
            object.__setattr__(self, name, value)
        object.__setattr__(
            self, "growth_interval", count(self.growth_interval, "growth_interval", where)
        )
        object.__setattr__(self, "dynamic", flag(self.dynamic, "dynamic", where))

    def cast(self, values: Any) -> Any:
        """The pytree `values` with its floating-point arrays cast to the compute dtype.

        Integer arrays (labels, indices) and everything else are left as they are.

        >>> import numpy
        >>> from chainrule import optim
        >>> mp = MixedPrecision(optim.SGD(lr=0.1), compute_dtype="bfloat16")
        >>> [x.dtype.name for x in mp.cast([numpy.zeros(2), numpy.arange(2)])]
        ['bfloat16', 'int64']
        """
        dt = _dtype(self.compute_dtype)
        return tree.map(lambda x: x.astype(dt) if _is_float_leaf(x) else x, values)

    def init(self, params: Any) -> MixedPrecisionState:
        """A fresh state for the float32 master weights `params`: the scale at `init_scale`.

        >>> import numpy
        >>> from chainrule import optim
        >>> state = MixedPrecision(optim.SGD(lr=0.1)).init([numpy.zeros(2, numpy.float32)])
        >>> float(state.scale), int(state.good_steps), int(state.skipped)
        (65536.0, 0, 0)
        """
        for i, leaf in enumerate(tree.leaves(params)):
            dt = getattr(leaf, "dtype", None)
            if dt != np.float32:
                raise TypeError(
                    f"MixedPrecision: parameter leaf {i} has dtype {dt}; the master weights "
                    "must be float32 arrays (convert them with .astype(numpy.float32))."
                )
        return MixedPrecisionState(
            inner=self.optimizer.init(params),
            scale=np.array(self.init_scale, dtype=np.float32),
            good_steps=np.array(0, dtype=np.int64),
            skipped=np.array(0, dtype=np.int64),
        )

    def value_and_grad(self, loss_fn: Callable[..., Any]) -> Callable[..., tuple[float, Any, bool]]:
        """``(params, state, *args) -> (loss, grads, finite)`` for ``loss_fn(params, *args)``.

        The loss and its gradient are computed in the compute dtype with the loss scaled
        by ``state.scale``; `grads` come back unscaled, as float32, with the structure of
        `params`, and `finite` says whether all of them are finite. `loss` is the unscaled
        loss as a Python float.

        >>> import numpy
        >>> from chainrule import optim
        >>> mp = MixedPrecision(optim.SGD(lr=0.1), init_scale=1024.0)
        >>> w = numpy.array([1e-4], dtype=numpy.float32)
        >>> state = mp.init(w)
        >>> loss, grads, finite = mp.value_and_grad(lambda w: (w * w).sum())(w, state)
        >>> grads.dtype, round(float(grads[0]), 7), finite
        (dtype('float32'), 0.0002, True)
        """

        def scaled_value_and_grad(params: Any, state: Any, *args: Any) -> tuple[float, Any, bool]:
            _untraced("value_and_grad", params, state, args)
            scale = self._check_state(state).scale

            def scaled(low: Any) -> Any:
                loss = loss_fn(low, *self.cast(args))
                return cnp.astype(loss, np.float32) * scale, loss

            # An overflow in the compute dtype is expected (and detected below), not news.
            with np.errstate(over="ignore", invalid="ignore"):
                (_, loss), grads = cr.value_and_grad(scaled, has_aux=True)(self.cast(params))
                grads = tree.map(lambda g: np.asarray(g).astype(np.float32) / scale, grads)
            return float(loss), grads, _all_finite(grads)

        return scaled_value_and_grad

    def update(
        self,
        grads: Any,
        state: MixedPrecisionState,
        params: Any = None,
        finite: bool | None = None,
    ) -> tuple[Any, MixedPrecisionState]:
        """``(updates, new_state)`` as optax's ``update``: the wrapped one's, if `finite`.

        `grads` are unscaled float32 gradients (from `value_and_grad`); `finite` (computed
        from them when None) decides. A skipped step's updates are zeros (as optax's
        ``apply_if_finite``), the inner state stays as it is and the scale is multiplied
        by `backoff_factor`; a finite one counts towards growing the scale by
        `growth_factor` after `growth_interval` in a row. Apply the updates with
        ``optim.apply_updates(params, updates)``.

        >>> import numpy
        >>> from chainrule import optim
        >>> mp = MixedPrecision(optim.SGD(lr=0.1))
        >>> w = numpy.ones(2, dtype=numpy.float32)
        >>> state = mp.init(w)
        >>> updates, state = mp.update(numpy.array([numpy.inf, 0.0], numpy.float32), state, w)
        >>> updates, float(state.scale), int(state.skipped)
        (array([0., 0.], dtype=float32), 32768.0, 1)
        """
        state = self._check_state(state)
        _untraced("update", grads, state, params, finite)
        if finite is None:
            finite = _all_finite(grads)
        if not finite:
            return tree.map(np.zeros_like, grads), self._advance(state, state.inner, False)
        updates, inner = self.optimizer.update(grads, state.inner, params)
        return updates, self._advance(state, inner, True)

    def step(
        self, loss_fn: Callable[..., Any], params: Any, state: MixedPrecisionState, *args: Any
    ) -> tuple[Any, MixedPrecisionState, StepInfo]:
        """One training step: `value_and_grad`, then the wrapped optimizer's step if finite.

        Returns ``(params, state, info)``; a skipped step returns `params` themselves.
        `info` records the loss, the scale used and whether the step was skipped; collect
        it to see the scale's history.

        >>> import numpy
        >>> from chainrule import optim
        >>> mp = MixedPrecision(optim.SGD(lr=0.1), init_scale=2.0**17)
        >>> w = numpy.full(1, 0.25, dtype=numpy.float32)
        >>> state = mp.init(w)
        >>> for _ in range(3):
        ...     w, state, info = mp.step(lambda w: (w * w).sum(), w, state)
        ...     print(info.scale, info.skipped)
        131072.0 True
        65536.0 True
        32768.0 False
        """
        _untraced("step", params, state, args)
        used = float(self._check_state(state).scale)
        loss, grads, finite = self.value_and_grad(loss_fn)(params, state, *args)
        inner = state.inner
        if finite:
            params, inner = self.optimizer.step(grads, inner, params)
        state = self._advance(state, inner, finite)
        return params, state, StepInfo(loss=loss, scale=used, skipped=not finite)

    def _advance(self, state: MixedPrecisionState, inner: Any, finite: bool) -> MixedPrecisionState:
        """The state after a step that was `finite` (or skipped), with inner state `inner`."""
        scale = np.float32(state.scale)
        good, skipped = int(state.good_steps), int(state.skipped)
        if finite:
            good += 1
            if self.dynamic and good >= self.growth_interval:
                with np.errstate(over="ignore"):  # inf: keep the old scale, as torch
                    grown = np.float32(scale * np.float32(self.growth_factor))
                scale = grown if np.isfinite(grown) else scale
                good = 0
        else:
            good, skipped = 0, skipped + 1
            if self.dynamic:
                scale = np.float32(scale * np.float32(self.backoff_factor))
        return MixedPrecisionState(
            inner=inner,
            scale=np.array(scale, dtype=np.float32),
            good_steps=np.array(good, dtype=np.int64),
            skipped=np.array(skipped, dtype=np.int64),
        )

    def _check_state(self, state: Any) -> MixedPrecisionState:
        if not isinstance(state, MixedPrecisionState):
            raise TypeError(
                f"MixedPrecision needs a MixedPrecisionState, got {type(state).__name__}: make "
                "it with mp.init(params)."
            )
        return state
