"""Part 5, floating point: how numbers are stored, overflow, a stable softmax, and mixed
precision with loss scaling.

Each stop's body is shown to the learner: keep it short, plain and commented.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy
import scipy.special

import chainrule as cr
import chainrule.numpy as np
from chainrule import numerics, optim
from chainrule.learn.tour import check, figure, show, stop

PART = "floating_point"


@stop("float-bits", "The bits of a float", "sign, exponent, mantissa of float16, bfloat16, float32")
def _float_bits() -> None:
    """
    A binary float stores a number as (-1)^sign × 2^exponent × 1.f: one sign bit, a few
    exponent bits (stored with a bias, so that they are never negative) and the mantissa f,
    the bits after the binary point. Most numbers, 0.1 among them, have no finite binary
    expansion (0.1 = 0.000110011001100...₂), so they are rounded to the nearest float, with
    a relative error of at most eps/2, where eps = 2^-(mantissa bits) is the gap between 1
    and the next float.

    The three formats of deep learning split their bits differently. float32 has 8 exponent
    and 23 mantissa bits: 7 decimal digits, up to 3.4e38. float16 has 5 and 10: 3 digits,
    and nothing above 65504, which is why training in it needs care. bfloat16 ("brain
    float") keeps float32's 8 exponent bits, so its range, and only 7 mantissa bits: about
    2 digits, but an overflow is as rare as in float32.
    """
    for fmt in ("float16", "bfloat16", "float32"):
        info = numerics.describe(fmt)  # the layout and limits of the format
        m, bias = info.mantissa_bits, info.bias
        limits = [info.eps, info.max, info.tiny]
        # two witnesses: NumPy's finfo (ml_dtypes' for bfloat16), and the formulas of the layout
        finfo = ml_dtypes.finfo(ml_dtypes.bfloat16) if fmt == "bfloat16" else numpy.finfo(fmt)
        from_finfo = [finfo.eps, finfo.max, finfo.smallest_normal]
        from_layout = [2.0**-m, (2 - 2.0**-m) * 2.0**bias, 2.0 ** (1 - bias)]
        print(f"{fmt}: 1 sign + {info.exponent_bits} exponent + {m} mantissa bits, bias {bias}")
        print(f"  eps = 2^-{m} = {info.eps:.4g}, max {info.max:.5g}", end=", ")
        print(f"smallest normal {info.tiny:.4g}")
        print(f"  as finfo says {check(limits, from_finfo, 0)}, as the layout says", end=" ")
        print(check(limits, from_layout, 0))
        for x in (0.1, 3.14):
            d = numerics.decode(x, fmt)  # x rounded to the format, and its bits
            assert d.exponent is not None and d.significand is not None  # x is finite
            value = (-1) ** d.sign * 2.0**d.exponent * d.significand  # read back from the bits
            rounded = float(numpy.asarray(x).astype(finfo.dtype))  # NumPy's rounding of x
            error = abs(value - x) / x
            print(f"  {x:<4} = {d.pattern} = 2^{d.exponent} × {d.significand:.8f}", end="")
            print(f" = {value:.9g} {check(value, rounded, 0)}")
            print(
                f"       relative error {error:.1e} <= eps/2 {check(error <= info.eps / 2, True)}"
            )


@stop("overflow", "Overflow", "exp(100) is inf in float16 and float32; where each format stops")
def _overflow() -> None:
    """
    A result larger than the largest float becomes inf, and inf poisons everything after
    it: inf - inf and inf / inf are NaN. exp grows so fast that it overflows early:
    exp(x) > max exactly when x > ln(max), which is ln 65504 ≈ 11.09 for float16, 88.72
    for float32 and 709.78 for float64. A logit of 100 is not unusual in a network, and
    exp(100) ≈ 2.7e43 is already inf in float32. At the other end exp(-x) underflows to 0,
    more quietly: 0 is a number, but log(0) = -inf and 1/0 = inf are not.
    """
    for fmt in (numpy.float16, numpy.float32, numpy.float64):
        with numpy.errstate(over="ignore"):  # the overflow is the point here
            big = np.exp(np.asarray(100.0, dtype=fmt))  # exp(100) computed in the format
        largest = float(numpy.finfo(fmt).max)
        threshold = math.log(largest)  # exp(x) overflows for x above ln(max)
        print(f"{fmt.__name__}: exp(100) = {float(big):.4g}  (max {largest:.4g}, exp", end=" ")
        print(f"overflows above x = {threshold:.2f})  {check(math.isinf(big), threshold < 100)}")
        with numpy.errstate(over="ignore"):  # just below and just above the threshold
            near = np.exp(np.asarray([threshold - 0.01, threshold + 0.01], dtype=fmt))
        finite = numpy.isfinite(near).tolist()
        print(f"  exp(ln max -+ 0.01) finite: {finite}  {check(finite, [True, False])}")
    exact = math.exp(100)  # Python's float64 exp, the witness
    eps64 = float(numpy.finfo(numpy.float64).eps)  # both exps are within an ulp
    print(f"float64 exp(100) = {exact:.6e} = math.exp(100)", end=" ")
    print(check(np.exp(100.0), exact, 4 * eps64))
    with numpy.errstate(under="ignore"):
        tiny = np.exp(np.asarray(-20.0, dtype=numpy.float16))
    print(f"float16 exp(-20) = {float(tiny)} (true 2.06e-09, below its smallest subnormal", end="")
    print(f" 6e-08)  {check(float(tiny), 0.0, 0)}")


@stop("stable-softmax", "Naive versus stable softmax", "subtract the max: no overflow, same answer")
def _stable_softmax() -> None:
    """
    Softmax pᵢ = e^zᵢ / Σⱼ e^zⱼ, written as it stands, overflows as soon as a logit passes
    ln(max): in float32, logits [10, 50, 100] give e^100 = inf and then inf / inf = NaN. The
    cure is one line of algebra: for any constant c,
    e^(zᵢ - c) / Σⱼ e^(zⱼ - c) = e^zᵢ / Σⱼ e^zⱼ, so with c = max(z) every exponent is at
    most 0 (no overflow) and the largest term is e^0 = 1 (the sum is at least 1, no
    division by 0). Every framework's softmax does this, and log-softmax goes one step
    further, z - max(z) - log Σ e^(z - max(z)), never taking the log of a rounded-off 0.

    The witness is SciPy's softmax in float64, where these logits are harmless; float32's
    answer should agree to a few float32 eps.
    """
    for z in ([1.0, 2.0, 3.0], [10.0, 50.0, 100.0], [-1000.0, 0.0, 1000.0]):
        logits = numpy.array(z, dtype=numpy.float32)
        with numpy.errstate(over="ignore", invalid="ignore"):  # the naive one overflows
            naive = numerics.naive_softmax(logits)
        stable = numerics.stable_softmax(logits)
        witness = scipy.special.softmax(numpy.array(z, dtype=numpy.float64))
        eps32 = float(numpy.finfo(numpy.float32).eps)
        print(f"z = {show(z)} in float32")
        finite = bool(numpy.all(numpy.isfinite(naive)))  # expected exactly when max(z) < 88.7
        print(f"  naive  {numpy.array2string(naive, precision=4)}", end="")
        print(f"  finite: {finite} {check(finite, max(z) < math.log(numpy.finfo('float32').max))}")
        print(f"  stable {numpy.array2string(stable, precision=4)}", end="")
        print(f"  = SciPy's in float64 {check(stable, witness, 4 * eps32)}")
    # log-softmax: the stable one is exact where log(softmax) loses everything
    far = numpy.array([0.0, -200.0], dtype=numpy.float32)
    with numpy.errstate(divide="ignore"):
        naive_log = numerics.naive_log_softmax(far)
    stable_log = numerics.stable_log_softmax(far)
    witness = scipy.special.log_softmax(far.astype(numpy.float64))
    print(f"log-softmax of {show(far)}: naive {naive_log.tolist()}, stable", end=" ")
    print(f"{show(stable_log)}  {check(stable_log, witness, 4 * eps32)}")
    # the stable softmax is differentiable, and its Jacobian is diag(p) - p pᵀ
    J = cr.jacobian(numerics.stable_softmax)(numpy.array([10.0, 50.0, 100.0]))
    p = scipy.special.softmax([10.0, 50.0, 100.0])
    print(f"its Jacobian at [10, 50, 100] = diag(p) - p pᵀ {check(J, np.diag(p) - np.outer(p, p))}")


@stop("loss-scaling", "Mixed precision and loss scaling", "small float16 gradients rescued by 2^k")
def _loss_scaling() -> None:
    """
    Training in float16 halves the memory of weights and activations and runs the matrix
    products of a GPU much faster, but float16 has nothing between 0 and its smallest
    subnormal 2^-24 ≈ 6e-8: a gradient below half of that rounds to 0, and that weight
    stops learning, silently. Gradients that small are not rare deep in a network.

    Loss scaling moves the gradients into float16's range. Multiply the loss by 2^k before
    the backward pass: by the chain rule every gradient is multiplied by 2^k too. Then
    convert them to float32 and divide by 2^k. Multiplying by a power of two only changes
    the exponent, so it adds no rounding error. If 2^k is too large a gradient overflows
    to inf; `numerics.MixedPrecision` (like PyTorch's GradScaler) then skips the step and
    halves 2^k, so k finds its own level.

    Below: the first gradient of a linear model (weights at 0, features of very different
    sizes), ½ mean((Xw - y)²), in float16 with and without scaling, against float64. The
    gradient is a sum of n products, and float16 arithmetic rounds each operation to a
    relative 2^-11 (u) and, near 0, to an absolute 2^-25: the classical bound on the error
    of the sum is γₙ Σᵢ |xᵢⱼ rᵢ| / n, γₙ = nu / (1 - nu), plus n 2^-24 / 2^k for the
    underflows, which the scale divides away.
    """
    import matplotlib.pyplot as plt

    rng = numpy.random.default_rng(0)
    n, p = 16, 8
    sizes = 10.0 ** -numpy.arange(p)  # feature j is about 10^-j
    X = (rng.normal(size=(n, p)) * sizes).astype(numpy.float32)
    y = (0.01 * rng.normal(size=n)).astype(numpy.float32)
    w = numpy.zeros(p, dtype=numpy.float32)  # float32 master weights

    def loss(w, X, y):
        return np.mean((X @ w - y) ** 2) / 2

    # the witness: the exact gradient -Xᵀy / n in float64, of the data as float16 stores it
    X16, y16 = X.astype(numpy.float16).astype(float), y.astype(numpy.float16).astype(float)
    exact = X16.T @ -y16 / n
    u = 2.0**-11
    gamma = n * u / (1 - n * u)
    rounding = gamma * (abs(X16).T @ abs(y16)) / n

    grads = {}
    for k in (0, 14, 16):
        mp = numerics.MixedPrecision(optim.SGD(lr=0.1), "float16", init_scale=2.0**k, dynamic=False)
        _, grads[k], finite = mp.value_and_grad(loss)(w, mp.init(w), X, y)  # float16 inside
        print(f"scale 2^{k:<2}: finite {finite}, {int(numpy.sum(grads[k] == 0))} of {p} are 0")
    print(f"{'feature':>7} {'float64':>10} {'fp16':>10} {'fp16 × 2^14':>12}")
    for j in range(p):
        print(f"{j:>7} {exact[j]:>10.3e} {grads[0][j] + 0:>10.3e} {grads[14][j]:>12.3e}")
    print(f"without scaling, some underflow to 0: {check(numpy.sum(grads[0] == 0) > 0, True)}")
    print(f"scaled by 2^14: none is 0 {check(numpy.sum(grads[14] == 0), 0)}", end=", ")
    bound = rounding + n * 2.0**-24 / 2.0**14  # rounding, plus the underflows over the scale
    print(f"all within the bound {check(numpy.all(abs(grads[14] - exact) <= bound), True)}")
    overflowed = not numpy.isfinite(grads[16]).all()
    print(f"scaled by 2^16 = 65536 > 65504: overflow {check(overflowed, True)}")

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.semilogy(range(p), abs(exact), "ko-", label="float64 (exact)")
    shown = numpy.where(grads[0] == 0, numpy.nan, abs(grads[0]))
    ax.semilogy(range(p), shown, "rs", ms=9, mfc="none", label="float16, no scaling (0 not drawn)")
    ax.semilogy(range(p), abs(grads[14]), "b^", label="float16, loss × 2^14")
    ax.axhline(2.0**-24, color="r", ls="--", lw=1, label="float16's smallest subnormal 2^-24")
    ax.set(xlabel="feature j (size 10^-j)", ylabel="|dL/dw_j|", title="Loss scaling vs underflow")
    ax.legend(fontsize=8)
    print(figure(fig, "loss-scaling-gradients"))
