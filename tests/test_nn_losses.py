"""Losses of `chainrule.nn.losses`: derivatives, exact values, reductions, errors, PyTorch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
from chainrule.nn import losses
from chainrule.scipy.special import expit

RNG = numpy.random.default_rng(0)
N, C = 6, 4
PRED = RNG.standard_normal((N, C))
TARGET = RNG.standard_normal((N, C))
PROBS = RNG.uniform(0.05, 0.95, (N, C))
BINARY = RNG.uniform(0.0, 1.0, (N, C))
WEIGHT = RNG.uniform(0.5, 2.0, (N, C))
CLASS_WEIGHT = RNG.uniform(0.5, 2.0, C)
LABELS = numpy.array([0, 3, 1, 1, 2, 3])
SOFT = numpy.exp(TARGET) / numpy.exp(TARGET).sum(axis=1, keepdims=True)
LOG_SOFT = numpy.log(SOFT)

# name -> loss of (pred, target-like arguments); each smooth at these points.
CASES: dict[str, tuple[Callable[..., Any], numpy.ndarray, tuple[Any, ...], dict[str, Any]]] = {
    "mse": (losses.mse, PRED, (TARGET,), {}),
    "mae": (losses.mae, PRED, (TARGET,), {}),
    "huber": (losses.huber, PRED, (TARGET,), {"delta": 0.8}),
    "bce": (losses.binary_cross_entropy, PROBS, (BINARY,), {}),
    "bce_weight": (losses.binary_cross_entropy, PROBS, (BINARY, WEIGHT), {}),
    "bce_logits": (losses.binary_cross_entropy_with_logits, PRED, (BINARY,), {}),
    "bce_logits_weights": (
        losses.binary_cross_entropy_with_logits,
        PRED,
        (BINARY,),
        {"weight": WEIGHT, "pos_weight": CLASS_WEIGHT},
    ),
    "ce_labels": (losses.cross_entropy, PRED, (LABELS,), {}),
    "ce_labels_weighted_smoothed": (
        losses.cross_entropy,
        PRED,
        (LABELS,),
        {"weight": CLASS_WEIGHT, "label_smoothing": 0.2},
    ),
    "ce_probs": (losses.cross_entropy, PRED, (SOFT,), {}),
    "ce_probs_weighted_smoothed": (
        losses.cross_entropy,
        PRED,
        (SOFT,),
        {"weight": CLASS_WEIGHT, "label_smoothing": 0.1},
    ),
    "nll": (losses.nll_loss, PRED, (LABELS,), {}),
    "nll_weighted": (losses.nll_loss, PRED, (LABELS,), {"weight": CLASS_WEIGHT}),
    "kl_div": (losses.kl_div, LOG_SOFT[::-1].copy(), (SOFT,), {}),
    "kl_div_log_target": (losses.kl_div, LOG_SOFT[::-1].copy(), (LOG_SOFT,), {"log_target": True}),
}


def _loss(name: str, pred: Any, reduction: str) -> Any:
    fn, _, args, kwargs = CASES[name]
    return fn(pred, *args, reduction=reduction, **kwargs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_derivatives_in_the_predictions(name: str, reduction: str) -> None:
    pred = CASES[name][1]
    cr.check_grads(lambda p: _loss(name, p, reduction), (pred,), order=2)


@pytest.mark.parametrize(
    "fn, pred, target",
    [
        (losses.mse, PRED, TARGET),
        (losses.huber, PRED, TARGET),
        (losses.binary_cross_entropy, PROBS, BINARY),
        (losses.binary_cross_entropy_with_logits, PRED, BINARY),
        (losses.cross_entropy, PRED, SOFT),
        (losses.kl_div, LOG_SOFT[::-1].copy(), SOFT),
    ],
)
def test_derivatives_in_both_arguments(fn: Callable[..., Any], pred: Any, target: Any) -> None:
    cr.check_grads(fn, (pred, target), order=2)


@pytest.mark.parametrize("target", [LABELS, SOFT], ids=["labels", "probabilities"])
def test_cross_entropy_rules_batched_and_float32(target: Any) -> None:
    """cross_entropy is one fused primitive: jacfwd/jacrev batches and float32 through it."""
    from rulecheck import check_rule

    if target is LABELS:
        check_rule(lambda z: losses.cross_entropy(z, LABELS, reduction="none"), PRED)
    else:
        check_rule(lambda z, t: losses.cross_entropy(z, t, reduction="none"), PRED, target)


def test_binary_cross_entropy_derivative_in_the_weight() -> None:
    cr.check_grads(lambda w: losses.binary_cross_entropy(PROBS, BINARY, w), (WEIGHT,), order=2)


# ------------------------------------------------------------------------- exact values


def test_regression_losses_by_hand() -> None:
    pred, target = numpy.array([1.0, 2.0, -1.0]), numpy.array([1.5, 0.0, 2.0])
    assert float(losses.mse(pred, target)) == pytest.approx((0.25 + 4.0 + 9.0) / 3.0)
    assert float(losses.mae(pred, target, reduction="sum")) == 5.5
    huber = losses.huber(pred, target, delta=1.0, reduction="none")
    assert huber.tolist() == [0.125, 1.5, 2.5]
    assert cr.grad(losses.mae)(numpy.array([1.0, 2.0]), numpy.array([1.0, 0.0])).tolist() == [
        0.0,
        0.5,
    ]


def test_binary_cross_entropy_clamps_the_log_at_minus_100() -> None:
    probs = numpy.array([0.0, 1.0, 0.0, 1.0, 0.5])
    target = numpy.array([1.0, 0.0, 0.0, 1.0, 1.0])
    loss = losses.binary_cross_entropy(probs, target, reduction="none")
    numpy.testing.assert_allclose(loss, [100.0, 100.0, 0.0, 0.0, math.log(2.0)], rtol=1e-15)
    # PyTorch's derivative (p - t) / max(p (1 - p), 1e-12): finite and pushing back.
    grad = cr.grad(lambda p: losses.binary_cross_entropy(p, target, reduction="sum"))(probs)
    numpy.testing.assert_allclose(grad, [-1e12, 1e12, 0.0, 0.0, -2.0])


def test_binary_cross_entropy_hessian_by_hand() -> None:
    # Inside (0, 1) the custom rule's derivative is exact: the Hessian is diagonal with
    # t / p² + (1 - t) / (1 - p)², divided by the number of entries for the mean.
    hessian = cr.hessian(lambda p: losses.binary_cross_entropy(p, BINARY))(PROBS)
    diag = (BINARY / PROBS**2 + (1.0 - BINARY) / (1.0 - PROBS) ** 2).ravel() / PROBS.size
    numpy.testing.assert_allclose(hessian.reshape(N * C, N * C), numpy.diag(diag), rtol=1e-12)


def test_binary_cross_entropy_with_logits_is_exact_for_large_logits() -> None:
    logits = numpy.array([1000.0, -1000.0, 50.0, 0.0], dtype=numpy.float32)
    target = numpy.array([0.0, 1.0, 1.0, 0.25], dtype=numpy.float32)
    loss = losses.binary_cross_entropy_with_logits(logits, target, reduction="none")
    assert loss.dtype == numpy.float32
    numpy.testing.assert_allclose(loss, [1000.0, 1000.0, 0.0, math.log(2.0)], atol=1e-6)
    grad = cr.grad(lambda x: losses.binary_cross_entropy_with_logits(x, target, reduction="sum"))
    numpy.testing.assert_allclose(grad(logits), [1.0, -1.0, 0.0, 0.25], atol=1e-7)


def test_binary_cross_entropy_with_logits_pos_weight_by_hand() -> None:
    x, t = numpy.array([0.3]), numpy.array([1.0])
    loss = losses.binary_cross_entropy_with_logits(x, t, pos_weight=numpy.array([3.0]))
    assert float(loss) == pytest.approx(-3.0 * math.log(1.0 / (1.0 + math.exp(-0.3))))


@pytest.mark.parametrize("n_classes", [2, 10, 1000])
def test_cross_entropy_of_uniform_logits_is_log_c(n_classes: int) -> None:
    logits = numpy.full((3, n_classes), 7.0, dtype=numpy.float32)
    loss = losses.cross_entropy(logits, numpy.array([0, 1, n_classes - 1]))
    assert loss.dtype == numpy.float32
    assert float(loss) == pytest.approx(math.log(n_classes), rel=1e-6)


def test_cross_entropy_label_smoothing_formula() -> None:
    logits = numpy.array([[2.0, -1.0, 0.5], [0.0, 1.0, 3.0]])
    labels, eps = numpy.array([0, 1]), 0.3
    log_p = logits - numpy.log(numpy.exp(logits).sum(axis=1, keepdims=True))
    per_sample = -(1 - eps) * log_p[[0, 1], labels] - eps / 3 * log_p.sum(axis=1)
    loss = losses.cross_entropy(logits, labels, label_smoothing=eps, reduction="none")
    numpy.testing.assert_allclose(loss, per_sample, rtol=1e-14)
    # The same smoothing applied to one-hot probabilities gives the same loss.
    onehot = numpy.eye(3)[labels]
    soft = losses.cross_entropy(logits, onehot, label_smoothing=eps, reduction="none")
    numpy.testing.assert_allclose(soft, per_sample, rtol=1e-14)


def test_cross_entropy_weighted_mean_divides_by_the_label_weights() -> None:
    logits, labels = PRED, LABELS
    weight = numpy.array([1.0, 2.0, 3.0, 4.0])
    per_sample = losses.cross_entropy(logits, labels, reduction="none")
    expected = (weight[labels] * per_sample).sum() / weight[labels].sum()
    loss = losses.cross_entropy(logits, labels, weight=weight)
    assert float(loss) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_weighted_cross_entropy_compiled_and_batched_gives_the_eager_bits(
    smoothing: float,
) -> None:
    # (the labels' weight total summed as eager sums it, not over the one-hot products)
    r = numpy.random.default_rng(0)
    logits, labels = r.standard_normal((512, 10)), r.integers(0, 10, 512)
    weight = r.random(10) + 0.1

    def f(z: Any, y: Any) -> Any:
        return losses.cross_entropy(z, y, weight=weight, label_smoothing=smoothing)

    eager = f(logits, labels)
    assert cr.jit(f)(logits, labels) == eager
    numpy.testing.assert_array_equal(cr.jit(cr.grad(f))(logits, labels), cr.grad(f)(logits, labels))
    batched = cr.vmap(f)(numpy.stack([logits] * 2), numpy.stack([labels] * 2))
    numpy.testing.assert_array_equal(batched, [eager, eager])


def test_cross_entropy_of_one_sample_and_of_a_leading_batch_shape() -> None:
    logits = PRED.reshape(2, 3, C)
    labels = LABELS.reshape(2, 3)
    flat = losses.cross_entropy(PRED, LABELS, reduction="none")
    numpy.testing.assert_allclose(
        losses.cross_entropy(logits, labels, reduction="none"), flat.reshape(2, 3)
    )
    single = losses.cross_entropy(PRED[1], numpy.int64(LABELS[1]))
    assert float(single) == pytest.approx(flat[1], rel=1e-14)
    assert float(losses.cross_entropy(PRED[1], int(LABELS[1]))) == pytest.approx(flat[1])


def test_nll_of_log_softmax_is_cross_entropy() -> None:
    log_p = PRED - numpy.log(numpy.exp(PRED).sum(axis=1, keepdims=True))
    for weight in (None, CLASS_WEIGHT):
        numpy.testing.assert_allclose(
            losses.nll_loss(log_p, LABELS, weight=weight),
            losses.cross_entropy(PRED, LABELS, weight=weight),
            rtol=1e-14,
        )


def test_kl_div_reductions() -> None:
    p = numpy.array([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5]])
    q = numpy.array([[0.25, 0.5, 0.25], [0.25, 0.25, 0.5]])
    kl_first = 0.5 * math.log(2.0)
    batch = losses.kl_div(numpy.log(q), p, reduction="batchmean")
    assert float(batch) == pytest.approx(kl_first / 2.0, rel=1e-14)
    assert float(losses.kl_div(numpy.log(q), p)) == pytest.approx(kl_first / 6.0, rel=1e-14)
    assert float(losses.kl_div(numpy.log(q), numpy.log(q), log_target=True)) == 0.0
    same = losses.kl_div(numpy.log(p[1]), p[1], reduction="sum")
    assert float(same) == 0.0


@pytest.mark.parametrize("name", sorted(CASES))
def test_reductions_agree(name: str) -> None:
    none = numpy.asarray(_loss(name, CASES[name][1], "none"))
    total = _loss(name, CASES[name][1], "sum")
    assert float(total) == pytest.approx(none.sum(), rel=1e-12)
    if "weight" not in CASES[name][3]:  # class-weighted means divide by the weights instead
        assert float(_loss(name, CASES[name][1], "mean")) == pytest.approx(none.mean(), rel=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_stays_float32(name: str) -> None:
    fn, pred, args, kwargs = CASES[name]
    args32 = tuple(a.astype(numpy.float32) if a.dtype.kind == "f" else a for a in args)
    kwargs32 = {
        k: v.astype(numpy.float32) if isinstance(v, numpy.ndarray) else v for k, v in kwargs.items()
    }
    pred32 = pred.astype(numpy.float32)
    value, grad = cr.value_and_grad(lambda p: fn(p, *args32, **kwargs32))(pred32)
    assert value.dtype == grad.dtype == numpy.float32


def test_float64_targets_and_weights_do_not_upcast_float32_predictions() -> None:
    pred = PRED.astype(numpy.float32)
    assert losses.mse(pred, TARGET).dtype == numpy.float32
    assert losses.cross_entropy(pred, LABELS, weight=CLASS_WEIGHT).dtype == numpy.float32
    assert losses.mae(pred, LABELS[:, None] * numpy.ones(C, dtype=int)).dtype == numpy.float32


# -------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", sorted(CASES))
def test_unknown_reduction_is_an_error(name: str) -> None:
    with pytest.raises(ValueError, match=r"reduction must be one of 'mean', 'sum', 'none'"):
        _loss(name, CASES[name][1], "average")


def test_batchmean_is_kl_div_only() -> None:
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.mse(PRED, TARGET, reduction="batchmean")
    with pytest.raises(ValueError, match="needs a batch axis"):
        losses.kl_div(numpy.log(0.5), 0.5, reduction="batchmean")


@pytest.mark.parametrize(
    "fn",
    [
        losses.mse,
        losses.mae,
        losses.huber,
        losses.binary_cross_entropy,
        losses.binary_cross_entropy_with_logits,
        losses.kl_div,
    ],
)
def test_shape_mismatch_is_an_error_naming_both_shapes(fn: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match=r"shape \(5, 1\) but target has shape \(5,\)"):
        fn(numpy.full((5, 1), 0.5), numpy.full(5, 0.5))


@pytest.mark.parametrize("dtype", ["int8", "uint8", ">i4", "<i8", "uint64"])
def test_labels_of_every_integer_type_and_byte_order_are_checked(dtype: str) -> None:
    labels = numpy.array([0, 1, 2, 3, 1, 0, 2, 3, 3, 2, 1, 1], dtype=dtype)[::2]  # (strided)
    want = losses.cross_entropy(PRED, labels.astype(numpy.int64))
    numpy.testing.assert_allclose(losses.cross_entropy(PRED, labels), want, rtol=1e-15)
    for bad in ([4], [-1] if numpy.dtype(dtype).kind == "i" else [255]):
        wrong = labels.copy()
        wrong[2:3] = bad
        with pytest.raises(ValueError, match=f"label {bad[0]} is out of range"):
            losses.cross_entropy(PRED, wrong)
        with pytest.raises(ValueError, match=f"label {bad[0]} is out of range"):
            cr.jit(losses.cross_entropy)(PRED, wrong)


def test_cross_entropy_label_errors() -> None:
    many = numpy.zeros((3, 200))  # more classes than an int8 has positive values
    for labels in (numpy.array([0, -100, 5], numpy.int8), numpy.array([0, 127, -1], numpy.int8)):
        with pytest.raises(ValueError, match=f"label {labels.min()} is out of range"):
            losses.cross_entropy(many, labels)
    with pytest.raises(ValueError, match=r"label 4 is out of range.*\[0, 4\)"):
        losses.cross_entropy(PRED, numpy.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match="label -100 is out of range"):
        losses.cross_entropy(PRED, numpy.array([0, 1, 2, 3, -100, 0]))
    with pytest.raises(ValueError, match=r"labels must have shape logits.shape\[:-1\] = \(6,\)"):
        losses.cross_entropy(PRED, LABELS[:, None])
    with pytest.raises(ValueError, match=r"Class labels must be integers: use target.astype"):
        losses.cross_entropy(PRED, LABELS.astype(float))
    with pytest.raises(ValueError, match=r"target of shape \(6, 3\) fits logits of shape"):
        losses.cross_entropy(PRED, SOFT[:, :3])
    with pytest.raises(TypeError, match="class labels must be integers, got dtype bool"):
        losses.cross_entropy(PRED, LABELS > 1)
    with pytest.raises(TypeError, match="class labels must be integers"):
        losses.nll_loss(PRED, SOFT)
    with pytest.raises(ValueError, match="must have a class axis"):
        losses.cross_entropy(numpy.float64(1.0), 0)


def test_option_errors() -> None:
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(4,\)"):
        losses.cross_entropy(PRED, LABELS, weight=numpy.ones(3))
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        losses.cross_entropy(PRED, LABELS, label_smoothing=1.5)
    with pytest.raises(ValueError, match="delta must be positive"):
        losses.huber(PRED, TARGET, delta=0.0)
    with pytest.raises(ValueError, match=r"weight of shape \(3,\) does not broadcast"):
        losses.binary_cross_entropy(PROBS, BINARY, numpy.ones(3))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(6, 1, 1\) does not broadcast"):
        losses.binary_cross_entropy_with_logits(PRED, BINARY, pos_weight=numpy.ones((6, 1, 1)))
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\]"):
        losses.binary_cross_entropy(PROBS + 0.5, BINARY)
    with pytest.raises(TypeError, match="mse: pred must hold real floating-point numbers"):
        losses.mse(PRED + 1j, TARGET)


# ----------------------------------------------------------------------------- PyTorch


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def _oracle_cases(
    torch: Any, r: str
) -> dict[str, tuple[Callable[..., Any], Callable[..., Any], Any]]:
    """name -> (chainrule loss of pred, torch loss of pred, pred): float32, reduction `r`."""
    rng = numpy.random.default_rng(3)
    f32 = numpy.float32
    n, c = 64, 7
    x = (rng.standard_normal((n, c)) * 3.0).astype(f32)
    big = x.copy()
    big[:8] *= 1000.0  # large logits, both signs
    y = rng.standard_normal((n, c)).astype(f32)
    t01 = rng.uniform(0.0, 1.0, (n, c)).astype(f32)
    t01[:4] = rng.integers(0, 2, (4, c))
    p = rng.uniform(0.0, 1.0, (n, c)).astype(f32)
    p[0] = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5]  # probabilities 0 and 1, hard and soft targets
    t01[0] = [0.0, 0.0, 1.0, 1.0, 0.3, 0.7, 1.0]
    w = rng.uniform(0.5, 2.0, (n, c)).astype(f32)
    cw = rng.uniform(0.5, 2.0, c).astype(f32)
    labels = rng.integers(0, c, n)
    soft = rng.dirichlet(numpy.ones(c), n).astype(f32)
    soft[:4] = numpy.eye(c, dtype=f32)[labels[:4]]
    log_q = numpy.log(rng.dirichlet(numpy.ones(c), n)).astype(f32)
    T = torch.tensor
    tf = torch.nn.functional
    return {
        "mse": (
            lambda a: losses.mse(a, y, reduction=r),
            lambda a: tf.mse_loss(a, T(y), reduction=r),
            x,
        ),
        "mae": (
            lambda a: losses.mae(a, y, reduction=r),
            lambda a: tf.l1_loss(a, T(y), reduction=r),
            x,
        ),
        "huber": (
            lambda a: losses.huber(a, y, delta=1.5, reduction=r),
            lambda a: tf.huber_loss(a, T(y), delta=1.5, reduction=r),
            x,
        ),
        "bce": (
            lambda a: losses.binary_cross_entropy(a, t01, reduction=r),
            lambda a: tf.binary_cross_entropy(a, T(t01), reduction=r),
            p,
        ),
        "bce_weight": (
            lambda a: losses.binary_cross_entropy(a, t01, cw, reduction=r),
            lambda a: tf.binary_cross_entropy(a, T(t01), T(cw).expand(n, c), reduction=r),
            p,
        ),
        "bce_logits": (
            lambda a: losses.binary_cross_entropy_with_logits(a, t01, reduction=r),
            lambda a: tf.binary_cross_entropy_with_logits(a, T(t01), reduction=r),
            big,
        ),
        "bce_logits_weights": (
            lambda a: losses.binary_cross_entropy_with_logits(a, t01, w, cw, reduction=r),
            lambda a: tf.binary_cross_entropy_with_logits(
                a, T(t01), T(w), pos_weight=T(cw), reduction=r
            ),
            big,
        ),
        "ce_labels": (
            lambda a: losses.cross_entropy(a, labels, reduction=r),
            lambda a: tf.cross_entropy(a, T(labels), reduction=r),
            big,
        ),
        "ce_labels_all_options": (
            lambda a: losses.cross_entropy(a, labels, weight=cw, label_smoothing=0.15, reduction=r),
            lambda a: tf.cross_entropy(
                a, T(labels), weight=T(cw), label_smoothing=0.15, reduction=r
            ),
            big,
        ),
        "ce_probs": (
            lambda a: losses.cross_entropy(a, soft, reduction=r),
            lambda a: tf.cross_entropy(a, T(soft), reduction=r),
            big,
        ),
        "ce_probs_all_options": (
            lambda a: losses.cross_entropy(a, soft, weight=cw, label_smoothing=0.15, reduction=r),
            lambda a: tf.cross_entropy(a, T(soft), weight=T(cw), label_smoothing=0.15, reduction=r),
            big,
        ),
        "ce_one_sample": (
            lambda a: losses.cross_entropy(a[3], labels[3], weight=cw, reduction=r),
            lambda a: tf.cross_entropy(a[3], T(labels[3]), weight=T(cw), reduction=r),
            x,
        ),
        "nll": (
            lambda a: losses.nll_loss(a, labels, weight=cw, reduction=r),
            lambda a: tf.nll_loss(a, T(labels), weight=T(cw), reduction=r),
            log_q,
        ),
        "kl_div": (
            lambda a: losses.kl_div(a, soft, reduction=r),
            lambda a: tf.kl_div(a, T(soft), reduction=r),
            log_q,
        ),
        "kl_div_log_target": (
            lambda a: losses.kl_div(a, log_q[::-1].copy(), log_target=True, reduction=r),
            lambda a: tf.kl_div(a, T(log_q[::-1].copy()), log_target=True, reduction=r),
            log_q,
        ),
    }


@pytest.mark.oracle
@pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow, no log(0)
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")  # torch's kl_div
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_torch_in_float32(torch: Any, reduction: str) -> None:
    for name, (ours, theirs, pred) in _oracle_cases(torch, reduction).items():
        value, grad = _value_and_grad(ours, pred)
        xt = torch.tensor(pred, requires_grad=True)
        out = theirs(xt)
        u = numpy.random.default_rng(4).standard_normal(out.shape).astype(numpy.float32)
        (out * torch.tensor(u)).sum().backward()
        grad = grad(u)
        assert value.dtype == grad.dtype == numpy.float32, name
        expected, expected_grad = out.detach().numpy(), xt.grad.numpy()
        numpy.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6, err_msg=name)
        # An entry of the gradient can cancel (w u (sigmoid(x) - t)): its float32 error is a few
        # ulps (8 eps ~ 1e-6) of the terms, whose size the largest entry shows, 1/n for "mean".
        size = abs(expected_grad).max()
        numpy.testing.assert_allclose(
            grad, expected_grad, rtol=1e-6, atol=1e-6 * size, err_msg=name
        )


@pytest.mark.oracle
def test_batchmean_matches_torch(torch: Any) -> None:
    rng = numpy.random.default_rng(5)
    log_q = numpy.log(rng.dirichlet(numpy.ones(5), 8)).astype(numpy.float32)
    p = rng.dirichlet(numpy.ones(5), 8).astype(numpy.float32)
    expected = torch.nn.functional.kl_div(
        torch.tensor(log_q), torch.tensor(p), reduction="batchmean"
    )
    value = losses.kl_div(log_q, p, reduction="batchmean")
    assert value.dtype == numpy.float32
    numpy.testing.assert_allclose(value, expected.numpy(), rtol=1e-6)


def _value_and_grad(fn: Callable[[Any], Any], pred: Any) -> tuple[Any, Callable[[Any], Any]]:
    """The value of `fn` at `pred`, and its vector-Jacobian product as a function of `u`."""
    value, pullback = cr.vjp(fn, pred)
    return value, lambda u: pullback(u)[0]


# ---------------------------------------------------------------- classes masked with -inf

MASKED = numpy.array([[-numpy.inf, 0.3, 1.2], [0.5, -numpy.inf, -1.0]])
# A log-sum-exp of a few O(1) terms, by two formulas: a few roundings of numbers of size
# about 1, so a few dozen ulps of float64 bound the difference.
EXACT = 64 * numpy.finfo(numpy.float64).eps


def _masked_torch(torch: Any, logits: Any, target: Any, **options: Any) -> tuple[Any, Any]:
    """PyTorch's cross-entropy of `logits` and its gradient (the oracle for masked classes)."""
    z = torch.tensor(logits, requires_grad=True)
    tensor = torch.tensor(target)
    loss = torch.nn.functional.cross_entropy(z, tensor, **options)
    loss.backward()
    return loss.detach().numpy(), z.grad.numpy()


@pytest.mark.oracle
@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize(
    "options", [{}, {"weight": numpy.array([0.5, 1.0, 2.0])}, {"reduction": "sum"}]
)
def test_cross_entropy_of_a_masked_class_matches_torch(torch: Any, options: Any) -> None:
    """-inf on a class other than the target: a finite loss and gradient 0 for that class."""
    labels = numpy.array([2, 0])
    expected, expected_grad = _masked_torch(
        torch,
        MASKED,
        labels,
        **{k: torch.tensor(v) if k == "weight" else v for k, v in options.items()},
    )
    value, grad = cr.value_and_grad(lambda z: losses.cross_entropy(z, labels, **options))(MASKED)
    numpy.testing.assert_allclose(value, expected, rtol=EXACT, atol=EXACT)
    numpy.testing.assert_allclose(grad, expected_grad, rtol=EXACT, atol=EXACT)
    assert grad[0, 0] == grad[1, 1] == 0.0
    # Forward mode agrees with reverse mode, column by column.
    numpy.testing.assert_allclose(
        cr.jacfwd(lambda z: losses.cross_entropy(z, labels, **options))(MASKED), grad
    )


def test_cross_entropy_of_a_masked_class_at_second_order() -> None:
    """The Hessian in the logits is the softmax covariance of the unmasked classes, 0 elsewhere."""
    z = numpy.array([-numpy.inf, 0.3, 1.2])
    p = numpy.exp(z - z.max())
    p /= p.sum()
    expected = numpy.diag(p) - numpy.outer(p, p)  # -inf rows and columns: p = 0
    f = lambda z: losses.cross_entropy(z, numpy.array(2))
    for hessian in (cr.hessian(f), cr.jacfwd(cr.jacrev(f)), cr.jacrev(cr.jacfwd(f))):
        numpy.testing.assert_allclose(hessian(z), expected, rtol=EXACT, atol=EXACT)
    # And against finite differences (a -inf logit moved by h stays -inf), both modes.
    cr.check_grads(lambda z: losses.cross_entropy(z, numpy.array([2, 0])), (MASKED,), order=2)


def test_cross_entropy_of_masked_classes_with_probability_targets() -> None:
    """A target 0 on a -inf class adds nothing (the limit 0 log 0), in value, gradient, JVP."""
    logits = numpy.array([-numpy.inf, 0.3, 1.2])
    target = numpy.array([0.0, 0.25, 0.75])
    expected = losses.cross_entropy(logits[1:], target[1:])
    numpy.testing.assert_allclose(losses.cross_entropy(logits, target), expected, rtol=EXACT)
    grad = cr.grad(lambda z: losses.cross_entropy(z, target))(logits)
    assert grad[0] == 0.0
    numpy.testing.assert_allclose(grad[1:], cr.grad(losses.cross_entropy)(logits[1:], target[1:]))
    # In the target: moving the masked class's probability away from 0 costs infinitely much,
    # and a tangent that leaves it at 0 changes the loss by a finite amount.
    assert cr.grad(losses.cross_entropy, argnums=1)(logits, target)[0] == numpy.inf
    tangent = numpy.array([0.0, 1.0, -1.0])
    _, slope = cr.jvp(lambda t: losses.cross_entropy(logits, t), (target,), (tangent,))
    numpy.testing.assert_allclose(slope, 1.2 - 0.3, rtol=EXACT)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "logits, label",
    [([[-numpy.inf, 0.3, 1.2]], 0), ([[-numpy.inf] * 3], 1)],
    ids=["masked target", "all masked"],
)
def test_cross_entropy_masked_target_and_all_masked_row_as_torch(
    torch: Any, logits: Any, label: int
) -> None:
    """A masked target class gives inf; a row with every class masked gives NaN: as PyTorch."""
    logits, labels = numpy.array(logits), numpy.array([label])
    expected, expected_grad = _masked_torch(torch, logits, labels)
    with numpy.errstate(invalid="ignore"):
        value, grad = cr.value_and_grad(lambda z: losses.cross_entropy(z, labels))(logits)
    numpy.testing.assert_array_equal(value, expected)
    numpy.testing.assert_allclose(grad, expected_grad, rtol=EXACT, atol=EXACT)


# ------------------------------------------------------------------------------ vmap


@pytest.mark.parametrize(
    "loss",
    [
        lambda x, t: losses.mse(x, t),
        lambda x, t: losses.huber(x, t),
        lambda x, t: losses.binary_cross_entropy(expit(x), t),
        lambda x, t: losses.binary_cross_entropy_with_logits(x, t),
        lambda x, t: losses.cross_entropy(x, t),
    ],
    ids=["mse", "huber", "binary_cross_entropy", "with_logits", "cross_entropy_probs"],
)
def test_losses_under_vmap_equal_a_loop(loss):
    """Per-example losses and gradients (the input checks read every example)."""
    rng = numpy.random.default_rng(9)
    x, t = rng.standard_normal((4, 5)), (rng.random((4, 5)) > 0.5).astype(float)
    numpy.testing.assert_allclose(
        cr.vmap(loss)(x, t), [loss(a, b) for a, b in zip(x, t, strict=True)], rtol=1e-14
    )
    grads = [cr.grad(loss)(a, b) for a, b in zip(x, t, strict=True)]
    numpy.testing.assert_allclose(cr.vmap(cr.grad(loss))(x, t), grads, rtol=1e-13)


def test_binary_cross_entropy_under_vmap_checks_every_example():
    probs = numpy.array([[0.5, 0.2], [0.5, 1.5]])  # the second example is out of range
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\]"):
        cr.vmap(lambda p: losses.binary_cross_entropy(p, numpy.ones(2)))(probs)


def test_huber_delta_may_be_infinite_or_differentiated() -> None:
    p, t = numpy.array([0.5, 3.0, -1.0]), numpy.zeros(3)
    numpy.testing.assert_allclose(losses.huber(p, t, delta=float("inf")), numpy.mean(p**2) / 2)
    # d/d delta of mean(where(|d| < delta, d^2/2, delta (|d| - delta/2))) = (3 - 1) / 3
    numpy.testing.assert_allclose(cr.grad(lambda d: losses.huber(p, t, delta=d))(1.0), 2 / 3)
