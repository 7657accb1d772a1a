"""Part 7, attention: scaled dot-product attention step by step, and why it is scaled.

Each stop's body is shown to the learner: keep it short, plain and commented.
"""

from __future__ import annotations

import math

import numpy
import scipy.special

import chainrule as cr
import chainrule.numpy as np
from chainrule import nn
from chainrule.learn.tour import check, figure, show, stop

PART = "attention"


@stop("attention", "Scaled dot-product attention", "scores, softmax, weighted sum, step by step")
def _attention() -> None:
    """
    Attention lets each position of a sequence gather information from the others. Every
    position emits a query q ("what I am looking for"), a key k ("what I contain") and a
    value v ("what I pass on"). Query i scores key j by their dot product, scaled by the
    square root of the key dimension d_k; a softmax over the keys turns the scores into
    weights that are positive and sum to 1; and the output for query i is the weighted
    average of the values:

        Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V.

    Below: 2 queries, 3 keys and values, d_k = 4, step by step, then with
    `nn.scaled_dot_product_attention` (which also returns the weights), and one entry by
    hand. The whole thing is differentiable: the gradient of the sum of the outputs with
    respect to the values is how much attention each value received, the column sums of
    the weights.
    """
    import matplotlib.pyplot as plt

    q = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 1.0]])  # 2 queries, d_k = 4
    k = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]])  # 3 keys
    v = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 3.0]])  # 3 values, d_v = 2

    scores = q @ k.T / math.sqrt(4)  # how well query i matches key j
    weights = nn.softmax(scores, axis=-1)  # each row: positive, sums to 1
    out = weights @ v  # each output: a weighted average of the values
    print(f"scores  QKᵀ/√4 = {show(scores)}")
    print(f"weights softmax = {show(weights)}, rows sum to 1 {check(weights.sum(axis=1), 1.0)}")
    print(f"output  weights V = {show(out)}")

    library, library_weights = nn.scaled_dot_product_attention(q, k, v)
    print(f"= nn.scaled_dot_product_attention: output {check(library, out)}", end=", ")
    print(f"weights {check(library_weights, weights)}")
    # by hand, query 0: scores (1 + 0)/2, (0 + 1)/2, (1 + 0)/2 = 0.5, 0.5, 0.5: equal weights
    hand = [math.exp(0.5) / (3 * math.exp(0.5))] * 3
    print(f"by hand, query 0 scores every key 0.5: weights 1/3 each {check(weights[0], hand)}")
    # query 1: scores (0 + 2 + 0 + 0)/2 = 1, (2)/2 = 1, (0 + 1)/2 = 0.5
    e = [math.exp(1.0), math.exp(1.0), math.exp(0.5)]
    hand = [x / sum(e) for x in e]
    output = [hand[0] * 1 + hand[2] * 2, hand[1] * 1 + hand[2] * 3]
    print(f"by hand, query 1: weights {show(hand)}, output {show(output)}", end=" ")
    print(check(weights[1], hand), check(out[1], output))

    def total(v):
        return np.sum(nn.scaled_dot_product_attention(q, k, v)[0])

    grad_v = cr.grad(total)(v)  # d(sum of outputs) / dv
    received = weights.sum(axis=0)  # attention each value received
    print(f"d(sum of outputs)/dV = {show(grad_v)}: row j = total weight on value j", end=" ")
    print(check(grad_v, numpy.outer(received, [1.0, 1.0])))

    fig, ax = plt.subplots(figsize=(4.8, 3.0), layout="constrained")
    image = ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=1.0)
    for (i, j), w in numpy.ndenumerate(weights):
        ax.text(j, i, f"{w:.2f}", ha="center", va="center")
    ax.set(xticks=range(3), yticks=range(2), xlabel="key j", ylabel="query i")
    ax.set_title("weights softmax(QKᵀ / √d_k)")
    fig.colorbar(image, ax=ax)
    print(figure(fig, "attention-weights"))


@stop(
    "attention-scaling", "Why divide by √d_k", "dot products grow like d_k and saturate the softmax"
)
def _attention_scaling() -> None:
    """
    Why the √d_k? Take a query and a key with independent entries of mean 0 and variance 1.
    Their dot product q·k = Σᵢ qᵢkᵢ is a sum of d_k independent terms of variance 1, so its
    variance is d_k: with d_k = 1024 the scores are typically ±32. A softmax of numbers
    that far apart is almost one-hot: one weight near 1, the others near 0. It is
    *saturated*: its Jacobian diag(p) - p pᵀ is then nearly 0, so almost no gradient flows
    back to the queries and keys, and learning stalls. Dividing by √d_k brings the
    variance back to 1 for every d_k.

    Measured below by sampling: the variance of q·k against d_k (the sample mean of
    (q·k)² has standard error √((2d_k² + 6d_k) / N), since E(q·k)⁴ = 3d_k² + 6d_k; the
    check allows 4 of them), then for one query and 16 keys, the largest softmax weight and
    the size ||J||_F of the softmax's Jacobian, averaged over 100 draws, with and without
    the scaling.
    """
    import matplotlib.pyplot as plt

    rng = numpy.random.default_rng(0)
    dims = [4, 16, 64, 256, 1024]
    N = 1000
    print(f"{'d_k':>5} {'var(q·k)':>9} {'std err':>8}   {'var(q·k/√d_k)':>13}")
    for d in dims:
        dots = numpy.sum(rng.normal(size=(N, d)) * rng.normal(size=(N, d)), axis=1)
        variance = numpy.mean(dots**2)  # the mean is 0: E(q·k)² is the variance
        error = math.sqrt((2 * d**2 + 6 * d) / N)  # its standard error
        scaled = numpy.mean((dots / math.sqrt(d)) ** 2)  # after dividing by √d_k: about 1
        near = check(abs(variance - d) <= 4 * error, True)  # within 4 standard errors of d_k
        print(f"{d:>5} {variance:>9.1f} {error:>8.1f} {near} {scaled:>13.3f}")

    def jacobian_norm(p):  # ||diag(p) - p pᵀ||_F for each row p
        J = p[..., :, None] * (numpy.eye(p.shape[-1]) - p[..., None, :])
        return numpy.sqrt(numpy.sum(J**2, axis=(-2, -1)))

    trials, keys = 100, 16
    table = {}
    for d in dims:
        q = rng.normal(size=(trials, 1, d))
        k = rng.normal(size=(trials, keys, d))
        scores = numpy.sum(q * k, axis=-1)  # (trials, keys): unscaled q·k
        for name, s in (("raw", scores), ("scaled", scores / math.sqrt(d))):
            p = scipy.special.softmax(s, axis=-1)
            table[d, name] = (p.max(axis=-1).mean(), jacobian_norm(p).mean())
    print(f"{'d_k':>5}   max weight: raw  scaled     ||J||_F: raw  scaled")
    for d in dims:
        (m_raw, j_raw), (m_scaled, j_scaled) = table[d, "raw"], table[d, "scaled"]
        print(f"{d:>5}   {m_raw:>15.3f} {m_scaled:>7.3f}   {j_raw:>14.4f} {j_scaled:>7.4f}")
    for z in (scores[0] / math.sqrt(d), scores[0]):  # the last draw (d_k = 1024): scaled, raw
        p = scipy.special.softmax(z)
        J = cr.jacobian(nn.softmax)(z)  # chainrule's Jacobian, against the formula (relative)
        formula = (np.diag(p) - np.outer(p, p)) / jacobian_norm(p)
        print(f"d_k = {d}, one draw: ||J||_F = {numpy.linalg.norm(J):.2e}", end=", ")
        print(f"J = diag(p) - p pᵀ {check(J / jacobian_norm(p), formula)}")

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4), layout="constrained")
    for name, style in (("raw", "o-"), ("scaled", "s-")):
        label = "q·k" if name == "raw" else "q·k / √d_k"
        axes[0].semilogx(dims, [table[d, name][0] for d in dims], style, base=2, label=label)
        axes[1].semilogx(dims, [table[d, name][1] for d in dims], style, base=2, label=label)
    axes[0].set(xlabel="d_k", ylabel="mean largest weight", title="Softmax saturation (16 keys)")
    axes[1].set(xlabel="d_k", ylabel="mean ||J||_F", title="Gradient through the softmax")
    axes[0].legend()
    axes[1].legend()
    print(figure(fig, "attention-scaling"))
