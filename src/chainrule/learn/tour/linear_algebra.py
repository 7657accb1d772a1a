"""Part 2, linear algebra: vectors and angles, norms, matrices as linear maps, the
determinant, rank and the inverse, eigenvectors, the SVD and low-rank approximation, PCA, and
why layers without activations collapse into one linear map.

Each stop's body is shown to the learner: keep it short, plain and commented.
"""

from __future__ import annotations

import math

import scipy.linalg
from scipy.spatial import distance

import chainrule as cr
import chainrule.numpy as np
from chainrule import data, linalg, nn
from chainrule.check import numerical_jacobian
from chainrule.learn.tour import check, figure, show, stop

PART = "linear_algebra"


@stop(
    "vectors",
    "Vectors, the dot product and cosine similarity",
    "the angle between two arrows, and how embeddings are compared",
)
def _vectors() -> None:
    """
    A vector is a list of numbers: a point, or the arrow from the origin to it. The dot
    product a · b = Σᵢ aᵢ bᵢ multiplies matching entries and adds them up. Geometrically it
    is |a| |b| cos θ, with θ the angle between the arrows: for a = (3, 1) and b = (1, 2),
    a · b = 3 + 2 = 5, |a| = √10 and |b| = √5, so cos θ = 5 / √50 = 0.7071 and θ = 45°. It
    is positive when the arrows point the same way, 0 when they are perpendicular, negative
    when they point apart.

    Cosine similarity is cos θ = a · b / (|a| |b|): the dot product with the lengths divided
    out, so it compares directions only, on a scale from -1 to 1. That is how embeddings
    are compared: a model maps words (or images, or users) to vectors so that similar
    things point in similar directions, and search, recommendation and retrieval rank by
    cosine similarity. Below, four made-up word embeddings: "cat" is close to "dog" and far
    from "car", and making a vector ten times longer changes none of its similarities. The
    dot product is also the simplest function to differentiate: its gradient in a is b.
    """
    import matplotlib.pyplot as plt

    a, b = np.array([3.0, 1.0]), np.array([1.0, 2.0])
    dot = a @ b  # 3*1 + 1*2
    print(f"a · b = {dot}  {check(dot, 3 * 1 + 1 * 2)}")
    cosine = linalg.cosine_similarity(a, b)
    angle = math.atan2(b[1], b[0]) - math.atan2(a[1], a[0])  # measured from the arrows' slopes
    print(f"|a| = {np.linalg.norm(a):.4f}, |b| = {np.linalg.norm(b):.4f}, cos θ = {cosine:.4f}")
    print(f"the angle between the arrows: {math.degrees(angle):.1f}°", end="")
    print(f", whose cosine is {math.cos(angle):.4f}  {check(cosine, math.cos(angle))}")
    gradient = cr.grad(lambda a: a @ b)(a)
    print(f"gradient of a · b in a: {show(gradient)} = b  {check(gradient, b)}")

    words = ["cat", "dog", "car", "truck"]
    embeddings = np.array(
        [[0.9, 0.8, 0.1, 0.0], [0.8, 0.9, 0.2, 0.1], [0.1, 0.0, 0.9, 0.8], [0.0, 0.2, 0.8, 0.9]]
    )
    # every pair at once: rows against rows, broadcast to 4 x 4
    similarity = linalg.cosine_similarity(embeddings[:, None, :], embeddings[None, :, :])
    print("\ncosine similarity " + "".join(f"{w:>7}" for w in words))
    for word, row in zip(words, similarity, strict=True):
        print(f"{word:<17} " + "".join(f"{s:7.3f}" for s in row))
    witness = [[1 - distance.cosine(u, v) for v in embeddings] for u in embeddings]  # SciPy
    print(f"SciPy's 1 - cosine distance agrees: {check(similarity, witness)}")
    longer = linalg.cosine_similarity(10 * embeddings[0], embeddings[1])
    print(f"10 × cat against dog: {longer:.3f}  {check(longer, similarity[0, 1])}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    for v, name, colour in [(a, "a = (3, 1)", "tab:blue"), (b, "b = (1, 2)", "tab:orange")]:
        left.annotate("", v, (0, 0), arrowprops={"arrowstyle": "->", "color": colour, "lw": 2})
        left.text(v[0] + 0.1, v[1], name, color=colour)
    arc = np.linspace(math.atan2(a[1], a[0]), math.atan2(b[1], b[0]), 30)
    left.plot(0.8 * np.cos(arc), 0.8 * np.sin(arc), "k")
    left.text(0.9, 0.55, f"θ = {math.degrees(angle):.0f}°")
    left.set(xlim=(-0.5, 4), ylim=(-0.5, 3), aspect="equal", title="a · b = |a| |b| cos θ")
    left.grid(alpha=0.3)
    image = right.imshow(similarity, vmin=-1, vmax=1, cmap="RdBu_r")
    right.set(xticks=range(4), yticks=range(4), xticklabels=words, yticklabels=words)
    right.set_title("cosine similarity of embeddings")
    fig.colorbar(image, ax=right)
    print(figure(fig, "vectors-angle-and-similarity"))


@stop("norms", "Norms: L1, L2 and L-infinity", "three sizes of a vector, and their unit balls")
def _norms() -> None:
    """
    A norm measures the size of a vector. The L2 (Euclidean) norm is the length of the
    arrow, √(Σ xᵢ²); the L1 norm adds up the absolute values, Σ |xᵢ| (the distance walked
    along a street grid); the L-infinity norm is the largest absolute entry, max |xᵢ|. For
    x = (3, -4): L2 = 5, L1 = 7, L∞ = 4. For every vector ‖x‖∞ ≤ ‖x‖₂ ≤ ‖x‖₁.

    The unit ball, all vectors of norm at most 1, shows a norm's shape: a disc for L2, a
    diamond for L1, a square for L∞. The shapes explain their uses in ML. An L2 penalty
    (weight decay, ridge) shrinks all weights smoothly. The L1 diamond has its corners on
    the axes, where all coordinates but one are 0, so an L1 penalty (lasso) sets weights
    exactly to zero: sparse models. L∞ bounds every coordinate at once: an adversarial
    attack that changes each pixel by at most 8/255 stays in an L∞ ball. The gradients say
    the same: ∇‖x‖₂ = x / ‖x‖₂ points along x, ∇‖x‖₁ = sign(x) pushes every coordinate by
    the same amount however small it is, and ∇‖x‖∞ moves only the largest entry.
    """
    import matplotlib.pyplot as plt

    x = np.array([3.0, -4.0])
    norms = [  # name, NumPy's ord, the definition written out, its gradient by formula
        ("L1", 1, abs(3.0) + abs(-4.0), np.sign(x)),
        ("L2", 2, math.sqrt(3.0**2 + (-4.0) ** 2), x / 5.0),
        ("L-inf", np.inf, max(abs(3.0), abs(-4.0)), np.array([0.0, -1.0])),
    ]
    for name, order, by_hand, slope in norms:
        size = np.linalg.norm(x, ord=order)
        gradient = cr.grad(np.linalg.norm)(x, order)  # in x, the first argument
        print(f"{name:<5} norm of {show(x)}: {size:.4f}  {check(size, by_hand)}", end="")
        print(f"   gradient {show(gradient)}  {check(gradient, slope)}")

    points = np.random.default_rng(0).normal(size=(1000, 2))  # a thousand random vectors
    l1, l2, linf = (np.linalg.norm(points, ord=p, axis=1) for p in (1, 2, np.inf))
    ordered = np.all((linf <= l2) & (l2 <= l1) & (l1 <= math.sqrt(2) * l2))
    print(f"L-inf <= L2 <= L1 <= √2 L2 for all 1000: {check(ordered, True)}")

    theta = np.linspace(0.0, 2 * np.pi, 361)
    directions = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # unit vectors in L2
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, order, _, _ in norms:
        # scale each direction to norm 1: the boundary of the unit ball
        ball = directions / np.linalg.norm(directions, ord=order, axis=1, keepdims=True)
        ax.plot(ball[:, 0], ball[:, 1], label=f"{name}: ‖x‖ = 1")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set(aspect="equal", xlabel="x₁", ylabel="x₂", title="unit balls")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    print(figure(fig, "norms-unit-balls"))
