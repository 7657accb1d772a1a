"""Loss functions with PyTorch's definitions, differentiable to any order.

Every loss matches ``torch.nn.functional``'s function of the same name (``mse`` is
``mse_loss``, ``mae`` is ``l1_loss``, ``huber`` is ``huber_loss``) and takes
``reduction="mean" | "sum" | "none"``. Unlike PyTorch, predictions and targets must have
the same shape: ``(N, 1)`` against ``(N,)`` is an error here, not a silent ``(N, N)``.

Classification losses put the class axis *last*: logits are ``(C,)``, ``(N, C)`` or
``(..., C)``, with integer labels of shape ``logits.shape[:-1]``. For 2-D input this is
PyTorch's layout; for N-d input PyTorch puts the classes on axis 1 instead. There is no
``ignore_index``: every label must be a class.

Numerical conventions, as PyTorch's:
- ``binary_cross_entropy`` clamps each log at -100, so probabilities of exactly 0 or 1 give
  a finite loss, and its derivative in the probabilities is PyTorch's
  ``(p - t) / max(p (1 - p), 1e-12)`` (a custom rule), which pushes a confidently wrong
  prediction back instead of vanishing where the log is clamped.
- ``binary_cross_entropy_with_logits`` and ``cross_entropy`` work on logits through
  ``logaddexp`` / ``log_softmax``: finite for any logits, large ones included.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> from chainrule.nn import losses
>>> logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], dtype=np.float32)
>>> labels = np.array([0, 2])
>>> print(round(float(losses.cross_entropy(logits, labels)), 6))
0.634229
>>> cr.grad(losses.cross_entropy)(logits, labels).round(4)
array([[-0.0781,  0.0571,  0.021 ],
       [ 0.1667,  0.1667, -0.3333]], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
from chainrule._validate import float_array, one_of
from chainrule.core.batching import defbatch
from chainrule.core.staging import StagedTracer
from chainrule.core.trace import is_float
from chainrule.extend import defjvp_joint, defvjp, primitive
from chainrule.numpy.rules.common import aligned, check
from chainrule.scipy import special

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber",
    "kl_div", "mae", "mse", "nll_loss",
]  # fmt: skip

_REDUCTIONS = ("mean", "sum", "none")

# ----------------------------------------------------------------------------- helpers


def _reduce(loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return cnp.mean(loss)
    if reduction == "sum":
        return cnp.sum(loss)
    return loss


def _is_plain(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


def _like(x: Any, dtype: Any) -> Any:
    """A plain array `x` in `dtype` (so float32 stays float32); traced values unchanged,
    except those that stand for plain arrays: values traced only by `jit` (the program
    must compute what the eager call does) and integers or bools (no derivative)."""
    if x is None:
        return x
    if hasattr(x, "shape") and not _is_plain(x):
        if isinstance(x, StagedTracer) or not is_float(x.dtype):
            return x if x.dtype == dtype else x.astype(dtype)
        return x
    x = np.asarray(x)
    return x if x.dtype == dtype else x.astype(dtype)


def _pair(
    pred: Any, target: Any, name: str, names: tuple[str, str] = ("pred", "target")
) -> tuple[Any, Any]:
    """Predictions and targets as float arrays of one dtype, checked to have equal shapes."""
    pred = float_array(pred, names[0], name)
    target = _like(target, pred.dtype)
    if pred.shape != target.shape:
        raise ValueError(
            f"{name}: {names[0]} has shape {pred.shape} but {names[1]} has shape "
            f"{target.shape}; they must be equal (reshape one of them: losses never "
            f"broadcast, since (N, 1) against (N,) would silently give (N, N))."
        )
    return pred, target


def _weight(weight: Any, what: str, name: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """`weight` in `dtype`, checked to broadcast to `shape` without enlarging it."""
    weight = _like(weight, dtype)
    if weight is not None and not _broadcasts_to(weight.shape, shape):
        raise ValueError(
            f"{name}: {what} of shape {weight.shape} does not broadcast to the input's "
            f"shape {shape}."
        )
    return weight


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _weighted(loss: Any, weight: Any) -> Any:
    return loss if weight is None else loss * weight


# ---------------------------------------------------------------------------- regression


def mse(pred: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean squared error ``(pred - target)²`` (PyTorch's ``mse_loss``).

    >>> import chainrule.numpy as np
    >>> print(mse(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
    2.0
    """
    one_of(reduction, "reduction", "mse", _REDUCTIONS)
    pred, target = _pair(pred, target, "mse")
    diff = pred - target
    return _reduce(diff * diff, reduction)


def mae(pred: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean absolute error ``|pred - target|`` (PyTorch's ``l1_loss``; derivative 0 at 0).

    >>> import chainrule.numpy as np
    >>> print(mae(np.array([1.0, 2.0]), np.array([1.0, 4.0]), reduction="sum"))
    2.0
    """
    one_of(reduction, "reduction", "mae", _REDUCTIONS)
    pred, target = _pair(pred, target, "mae")
    return _reduce(cnp.abs(pred - target), reduction)


def huber(pred: Any, target: Any, delta: float = 1.0, reduction: str = "mean") -> Any:
    """Quadratic ``d²/2`` for ``|d| < delta``, linear ``delta (|d| - delta/2)`` beyond.

    Robust regression: outliers pull with a bounded force `delta` (PyTorch's ``huber_loss``).

    >>> import chainrule.numpy as np
    >>> huber(np.array([0.5, 3.0]), np.zeros(2), reduction="none")
    array([0.125, 2.5  ])
    """
    one_of(reduction, "reduction", "huber", _REDUCTIONS)
    if not delta > 0:
        raise ValueError(f"huber: delta must be positive, got {delta!r}.")
    pred, target = _pair(pred, target, "huber")
    diff = pred - target
    size = cnp.abs(diff)
    loss = cnp.where(size < delta, 0.5 * (diff * diff), delta * (size - 0.5 * delta))
    return _reduce(loss, reduction)


# -------------------------------------------------------------------- binary classification

_TINY = 1e-44  # below exp(-100), so log(max(q, _TINY)) clamped at -100 is PyTorch's value


def _clamped_log(q: Any) -> Any:
    """``max(log q, -100)`` for ``q >= 0``, without a warning at ``q = 0``."""
    return cnp.maximum(cnp.log(cnp.maximum(q, _TINY)), -100.0)


@cr.custom_jvp
def _bce(p: Any, t: Any) -> Any:
    return -(t * _clamped_log(p) + (1.0 - t) * _clamped_log(1.0 - p))


def _bce_rule(primals: tuple[Any, Any], tangents: tuple[Any, Any]) -> tuple[Any, Any]:
    """PyTorch's derivatives: ``(p - t) / max(p (1 - p), 1e-12)`` in `p`, the log-odds in `t`."""
    (p, t), (dp, dt) = primals, tangents
    log_p, log_q = _clamped_log(p), _clamped_log(1.0 - p)
    out = -(t * log_p + (1.0 - t) * log_q)
    slope = (p - t) / cnp.maximum(p * (1.0 - p), 1e-12)
    return out, slope * dp + (log_q - log_p) * dt


_bce.defjvp(_bce_rule)


def binary_cross_entropy(
    probs: Any, target: Any, weight: Any = None, reduction: str = "mean"
) -> Any:
    """``-w (t log p + (1 - t) log(1 - p))`` for probabilities `probs` in [0, 1].

    Each log is clamped at -100, as PyTorch does, so ``p = 0`` or ``1`` gives at most 100.
    `weight` (optional) broadcasts to `probs`' shape. Prefer
    `binary_cross_entropy_with_logits` on logits: it is exact where this one saturates.

    >>> import chainrule.numpy as np
    >>> probs, target = np.array([0.5, 0.0, 1.0]), np.array([1.0, 1.0, 1.0])
    >>> binary_cross_entropy(probs, target, reduction="none").round(6).tolist()
    [0.693147, 100.0, -0.0]
    """
    name = "binary_cross_entropy"
    one_of(reduction, "reduction", name, _REDUCTIONS)
    probs, target = _pair(probs, target, name, ("probs", "target"))
    weight = _weight(weight, "weight", name, probs.shape, probs.dtype)
    _probabilities(probs, name)
    return _reduce(_weighted(_bce(probs, target), weight), reduction)


@check
def _probabilities(probs: np.ndarray, name: str) -> None:
    """Refuse probabilities outside [0, 1] (every example's; under `jit`, every call's)."""
    if probs.size and not (probs.min() >= 0.0 and probs.max() <= 1.0):
        raise ValueError(
            f"{name}: probs must lie in [0, 1], got values in [{probs.min()}, {probs.max()}]. "
            "Pass logits to binary_cross_entropy_with_logits instead."
        )


def binary_cross_entropy_with_logits(
    logits: Any,
    target: Any,
    weight: Any = None,
    pos_weight: Any = None,
    reduction: str = "mean",
) -> Any:
    """Binary cross entropy of ``sigmoid(logits)``, computed stably from the logits.

    The loss is ``(1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)``, with
    ``softplus(-x) = -log sigmoid(x)`` as ``logaddexp(-x, 0)``: exact for any logit.
    `pos_weight` (e.g. one per class, broadcast along the last axis) scales the positive
    term, `weight` the whole loss; both broadcast to `logits`' shape.

    >>> import chainrule.numpy as np
    >>> logits, target = np.array([0.0, 1000.0, -1000.0]), np.array([1.0, 0.0, 0.0])
    >>> binary_cross_entropy_with_logits(logits, target, reduction="none").round(4).tolist()
    [0.6931, 1000.0, 0.0]
    """
    name = "binary_cross_entropy_with_logits"
    one_of(reduction, "reduction", name, _REDUCTIONS)
    logits, target = _pair(logits, target, name, ("logits", "target"))
    weight = _weight(weight, "weight", name, logits.shape, logits.dtype)
    pos_weight = _weight(pos_weight, "pos_weight", name, logits.shape, logits.dtype)
    neg_log_sigmoid = cnp.logaddexp(-logits, 0.0)
    if pos_weight is not None:
        neg_log_sigmoid = (1.0 + (pos_weight - 1.0) * target) * neg_log_sigmoid
    loss = (1.0 - target) * logits + neg_log_sigmoid
    return _reduce(_weighted(loss, weight), reduction)


# ---------------------------------------------------------------- multi-class classification


def _class_logits(logits: Any, what: str, name: str, weight: Any) -> tuple[Any, Any]:
    """Logits (class axis last) as a float array, and the class weights as a ``(C,)`` array."""
    logits = float_array(logits, what, name)
    if logits.ndim == 0:
        raise ValueError(f"{name}: {what} must have a class axis (the last one), got a scalar.")
    n_classes = logits.shape[-1]
    weight = _like(weight, logits.dtype)
    if weight is not None and weight.shape != (n_classes,):
        raise ValueError(
            f"{name}: weight must have one entry per class, shape ({n_classes},), "
            f"got {weight.shape}."
        )
    return logits, weight


def _labels(target: Any, name: str, shape: tuple[int, ...]) -> Any:
    """Integer class labels of shape ``shape[:-1]``, each checked to be a class: a plain
    array, or under `vmap` a batched one (every example's labels are checked)."""
    labels = target if isinstance(target, np.ndarray) else cr.stop_gradient(target)
    if not hasattr(labels, "shape"):
        labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: class labels must be integers, got dtype {labels.dtype}.")
    if tuple(labels.shape) != shape[:-1]:
        raise ValueError(
            f"{name}: integer labels must have shape logits.shape[:-1] = {shape[:-1]} "
            f"(logits {shape}, classes on the last axis), got {tuple(labels.shape)}."
        )
    _classes(labels, name, shape[-1])
    return labels


@check
def _classes(labels: np.ndarray, name: str, n_classes: int) -> None:
    """Refuse a label that is not a class (every example's; under `jit`, every call's)."""
    if not labels.size:
        return
    # One pass where a negative label, read as unsigned, is at least n_classes.
    if labels.dtype.kind == "u":
        outside = labels.max() >= n_classes
    elif n_classes <= 1 << (8 * labels.itemsize - 1):
        outside = labels.view(labels.dtype.str.replace("i", "u")).max() >= n_classes
    else:
        outside = labels.min() < 0 or labels.max() >= n_classes
    if outside:
        bad = labels[(labels < 0) | (labels >= n_classes)].flat[0]
        raise ValueError(
            f"{name}: label {bad} is out of range: labels must lie in [0, {n_classes}) for "
            f"{n_classes} classes."
        )


def _labels_loss(
    name: str,
    per_sample: Any,
    shape: tuple[int, ...],
    dtype: Any,
    target: Any,
    weight: Any,
    smoothing: float,
    reduction: str,
) -> Any:
    """PyTorch's (label-smoothed, class-weighted) loss of integer labels.

    `per_sample(coef)` is the per-sample loss ``-Σ_c coef_c log p_c`` for the constant
    coefficients ``coef = (1 - ε) w_y onehot(y) + (ε / C) w``: labels become one product
    with a constant matrix, whose backward pass is one multiply. The weighted mean divides
    by ``Σ_i w_{y_i}``, as PyTorch does.
    """
    labels = _labels(target, name, shape)
    n_classes = shape[-1]
    if isinstance(labels, np.ndarray):
        coef = np.eye(n_classes, dtype=dtype)[labels]
        total = labels.size if weight is None else cnp.sum(weight[labels])
    else:  # traced labels (under jit: one line; under vmap: the batch kept)
        coef = cnp.take(np.eye(n_classes, dtype=dtype), labels, axis=0)
        total = labels.size if weight is None else cnp.sum(cnp.take(weight, labels))
    if weight is not None:
        coef = coef * weight
    if smoothing:
        smooth = 1.0 if weight is None else weight
        coef = (1.0 - smoothing) * coef + (smoothing / n_classes) * smooth
    loss = per_sample(coef)
    if reduction == "mean" and labels.size:
        return cnp.sum(loss) / total
    return _reduce(loss, reduction)


def _softmax_xent_impl(logits: Any, coef: Any) -> Any:
    # A -inf logit masks its class: probability 0, and a term ``0 * log 0 = 0`` when its
    # coefficient is 0 (as PyTorch for integer labels), inf when it is not (a masked
    # target). A row of -inf, or a +inf logit, gives NaN, as PyTorch.
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -(coef * np.where(coef == 0, 0, log_p)).sum(axis=-1)


def _xent_primitive(onehot: bool) -> Any:
    """Cross entropy of logits against coefficients, per sample: ``-Σ_c coef_c
    log_softmax(z)_c``, one primitive for log_softmax, product and sum (the loss of every
    classifier's step). With s = log_softmax(z) and p = softmax(z), its derivatives are

        in z:    g (p Σ_c coef_c - coef)        in coef:    -g s.

    `onehot` makes the primitive for coefficient rows that are one-hot (integer labels,
    unweighted, unsmoothed): each sums to exactly 1, and the derivative in z is
    ``g (p - coef)``, two lines fewer in every training step's program.
    """
    prim = primitive(_softmax_xent_impl, "softmax_cross_entropy")

    def grad_logits(logits: Any, coef: Any) -> Any:
        p = special.softmax(logits, axis=-1)
        return p - coef if onehot else p * cnp.sum(coef, axis=-1, keepdims=True) - coef

    def jvp(tangents: list[Any], ans: Any, logits: Any, coef: Any) -> Any:
        t_logits, t_coef = tangents  # with leading batch axes: the sums are over the last
        out = None
        if t_logits is not None:
            out = cnp.sum(grad_logits(logits, coef) * t_logits, axis=-1)
        if t_coef is not None:  # a zero tangent moves nothing, even at a masked (-inf) class
            log_p = cnp.where(t_coef == 0, 0.0, special.log_softmax(logits, axis=-1))
            term = -cnp.sum(log_p * t_coef, axis=-1)
            out = term if out is None else out + term
        return out

    def batch(args: list[Any], dims: list[Any]) -> tuple[Any, int]:
        # a sum over the class axis (the last): the batch goes in front, one more leading
        # axis of samples
        (logits, coef), d = aligned(args, dims, front=True)
        return prim(logits, coef), d

    defvjp(
        prim,
        lambda g, ans, logits, coef: g[..., None] * grad_logits(logits, coef),
        lambda g, ans, logits, coef: g[..., None] * -special.log_softmax(logits, axis=-1),
    )
    defjvp_joint(prim, jvp)
    defbatch(prim, batch)
    return prim


_softmax_xent = _xent_primitive(onehot=False)
_softmax_xent_onehot = _xent_primitive(onehot=True)


def cross_entropy(
    logits: Any,
    target: Any,
    *,
    weight: Any = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Any:
    """Softmax cross entropy of `logits` (class axis last) against labels or probabilities.

    `target` is either integer labels of shape ``logits.shape[:-1]`` or class probabilities
    (one-hot or soft) of `logits`' shape. With ``label_smoothing = ε`` the target becomes
    ``(1 - ε) target + ε / C``. `weight` (one per class) scales each class's terms; for
    integer labels the ``"mean"`` is then weighted, ``Σ loss / Σ w_label``, while for
    probabilities it averages over samples: both exactly as PyTorch.

    A ``-inf`` logit masks its class out: probability 0, no term in the loss when its target
    is 0 (the limit ``0 log 0 = 0``; PyTorch agrees for labels, but gives NaN for a
    probability target) and gradient 0; a masked target class gives ``inf``, a row of
    ``-inf`` NaN, as PyTorch.

    >>> import chainrule.numpy as np
    >>> print(round(float(cross_entropy(np.zeros((2, 4)), np.array([1, 3]))), 6))  # log 4
    1.386294
    >>> print(round(float(cross_entropy(np.array([2.0, 0.0]), np.array([0.5, 0.5]))), 6))
    1.126928
    >>> print(round(float(cross_entropy(np.array([[-np.inf, 0.3, 1.2]]), np.array([2]))), 4))
    0.3412
    """
    name = "cross_entropy"
    one_of(reduction, "reduction", name, _REDUCTIONS)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing!r}.")
    logits, weight = _class_logits(logits, "logits", name, weight)
    if not hasattr(target, "dtype"):
        target = cnp.asarray(target)
    if target.dtype.kind in "biu":
        # (unweighted and unsmoothed, the coefficients are exactly onehot(y))
        xent = _softmax_xent_onehot if weight is None and not label_smoothing else _softmax_xent
        return _labels_loss(
            name,
            lambda coef: xent(logits, coef),
            logits.shape,
            logits.dtype,
            target,
            weight,
            label_smoothing,
            reduction,
        )
    target = float_array(target, "target", name)
    if target.shape != logits.shape:
        hint = (
            " Class labels must be integers: use target.astype(int)."
            if target.shape == logits.shape[:-1]
            else ""
        )
        raise ValueError(
            f"{name}: target of shape {target.shape} fits logits of shape {logits.shape} "
            f"neither as integer labels (shape {logits.shape[:-1]}) nor as class "
            f"probabilities (shape {logits.shape}).{hint}"
        )
    target = _like(target, logits.dtype)
    if label_smoothing:
        target = (1.0 - label_smoothing) * target + label_smoothing / logits.shape[-1]
    return _reduce(_softmax_xent(logits, _weighted(target, weight)), reduction)


def nll_loss(log_probs: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    """Negative log-likelihood ``-w_y log_probs[y]`` of integer labels (class axis last).

    With `weight`, ``"mean"`` is ``Σ loss / Σ w_label``, as PyTorch.
    ``nll_loss(log_softmax(x), y)`` is ``cross_entropy(x, y)``.

    >>> import chainrule.numpy as np
    >>> log_p = np.log(np.array([[0.5, 0.5], [0.1, 0.9]]))
    >>> nll_loss(log_p, np.array([0, 1]), reduction="none").round(6)
    array([0.693147, 0.105361])
    """
    name = "nll_loss"
    one_of(reduction, "reduction", name, _REDUCTIONS)
    log_probs, weight = _class_logits(log_probs, "log_probs", name, weight)
    return _labels_loss(
        name,
        lambda coef: -cnp.sum(log_probs * coef, axis=-1),
        log_probs.shape,
        log_probs.dtype,
        target,
        weight,
        0.0,
        reduction,
    )


def kl_div(input: Any, target: Any, reduction: str = "mean", log_target: bool = False) -> Any:
    """``KL(target ‖ exp(input))`` pointwise: ``t (log t - input)``, with `input` log-probs.

    As PyTorch: `input` holds log-probabilities, `target` probabilities (log-probabilities
    if `log_target`), ``0 log 0 = 0``. ``"mean"`` averages over *all* entries;
    ``"batchmean"`` sums and divides by the batch size ``input.shape[0]``, which gives the
    true KL divergence per sample.

    >>> import chainrule.numpy as np
    >>> p = np.array([[0.5, 0.5, 0.0]])
    >>> print(round(float(kl_div(np.log(np.array([[0.25, 0.5, 0.25]])), p, "batchmean")), 6))
    0.346574
    """
    name = "kl_div"
    one_of(reduction, "reduction", name, (*_REDUCTIONS, "batchmean"))
    input, target = _pair(input, target, name, ("input", "target"))
    if log_target:
        loss = cnp.exp(target) * (target - input)
    else:
        loss = special.xlogy(target, target) - target * input
    if reduction != "batchmean":
        return _reduce(loss, reduction)
    if input.ndim == 0:
        raise ValueError(f"{name}: reduction='batchmean' needs a batch axis; got a scalar.")
    return cnp.sum(loss) / float(input.shape[0])
