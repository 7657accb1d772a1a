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
    "the angle between arrows; comparing embeddings",
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


@stop(
    "linear-maps",
    "A matrix is a linear map",
    "a grid and its image; the determinant as area",
)
def _linear_maps() -> None:
    """
    A matrix A sends a vector x to A x, and it does so linearly: A(s u + t v) = s A u + t A v.
    So A is known once we know where it sends the basis vectors: A e₁ is its first column
    and A e₂ its second, and every other point follows along. Lines go to lines, and a grid
    of squares goes to a grid of equal parallelograms. A = [[2, 1], [0.5, 1.5]] sends the
    unit square to the parallelogram with sides (2, 0.5) and (1, 1.5).

    The determinant is the factor by which the map multiplies areas: det A = 2 · 1.5 -
    1 · 0.5 = 2.5 is the area of that parallelogram, and every other shape, like the disc
    drawn below, has its area multiplied by 2.5 too. The area is measured here with the
    shoelace formula, from the corners of the image. A negative determinant means the map
    also flips the plane over, as a mirror does: its image of the square runs clockwise.
    Doing one map after another multiplies their matrices, so the area factors multiply:
    det(A B) = det A · det B. In ML the determinant is the volume change in the density of a
    normalising flow, and in the normalising constant of a Gaussian.
    """
    import matplotlib.pyplot as plt

    def area(corners):  # the shoelace formula: signed area, positive if counter-clockwise
        x, y = corners[:, 0], corners[:, 1]
        return 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)

    A = np.array([[2.0, 1.0], [0.5, 1.5]])
    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    print(f"A e1 = {show(A @ e1)}, A e2 = {show(A @ e2)}: the columns of A", end="")
    print(f"  {check([A @ e1, A @ e2], [A[:, 0], A[:, 1]])}")
    u, v = np.array([1.0, 2.0]), np.array([-1.0, 0.5])
    print(f"A (2u + 3v) = {show(A @ (2 * u + 3 * v))} = 2 Au + 3 Av", end="")
    print(f"  {check(A @ (2 * u + 3 * v), 2 * (A @ u) + 3 * (A @ v))}")

    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # counter-clockwise
    image = square @ A.T  # each row x becomes A x
    det = np.linalg.det(A)
    print(f"det A = {det:.4f}; area of the image of the unit square: {area(image):.4f}", end="")
    print(f"  {check(det, area(image))}")
    theta = np.linspace(0.0, 2 * np.pi, 200, endpoint=False)
    disc = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # a polygon close to the unit disc
    ratio = area(disc @ A.T) / area(disc)
    print(f"the disc's area is multiplied by {ratio:.4f}  {check(ratio, det)}")
    mirror = np.array([[0.0, 1.0], [1.0, 0.0]])  # swaps x and y
    flipped = area(square @ mirror.T)
    print(f"a mirror: det = {np.linalg.det(mirror):.1f}, signed area {flipped:.1f}", end="")
    print(f"  {check(np.linalg.det(mirror), flipped)}")
    B = np.array([[1.0, -1.0], [1.0, 1.0]])  # turn by 45° and stretch by √2: det 2
    print(f"det(A B) = {np.linalg.det(A @ B):.4f} = det A · det B", end="")
    print(f"  {check(np.linalg.det(A @ B), det * np.linalg.det(B))}")

    t, ticks = np.linspace(-2, 2, 50), np.linspace(-2, 2, 5)
    grid = [np.stack([np.full_like(t, c), t], axis=1) for c in ticks]  # vertical lines
    grid += [line[:, ::-1] for line in grid]  # and horizontal ones, for the pictures
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    for ax, M, title in [(axes[0], np.eye(2), "x"), (axes[1], A, "A x")]:
        for line in grid:
            ax.plot(*(line @ M.T).T, color="lightgrey", lw=0.8)
        ax.fill(*(square @ M.T).T, alpha=0.4, label=f"unit square → area {np.linalg.det(M):g}")
        ax.plot(*(disc @ M.T).T, color="tab:red", label="unit circle")
        for column, colour in [(M[:, 0], "tab:blue"), (M[:, 1], "tab:green")]:
            ax.annotate("", column, (0, 0), arrowprops={"arrowstyle": "->", "color": colour})
        ax.set(aspect="equal", xlim=(-4.5, 4.5), ylim=(-4, 4), title=title)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("A = [[2, 1], [0.5, 1.5]]: the grid and its image")
    print(figure(fig, "linear-maps-grid"))


@stop(
    "rank-inverse",
    "Rank and the inverse",
    "a map flattening the plane onto a line; undoing a map",
)
def _rank_inverse() -> None:
    """
    The rank of a matrix is the dimension of its image: how many independent directions
    survive the map. B = [[1, 2], [0.5, 1]] has a second column twice its first, so every
    B x = (x₁ + 2 x₂) · (1, 0.5) lies on one line: the plane is flattened, the rank is 1 and
    the determinant 0 (no area is left). A whole line of inputs, the multiples of (2, -1),
    is sent to 0, the null space; many inputs give the same output, so nothing can undo B.
    It has no inverse, and NumPy says so.

    A = [[2, 1], [0.5, 1.5]] (det 2.5) has full rank, and its inverse undoes it:
    A⁻¹ A x = x for every x. For 2 × 2 matrices A⁻¹ = [[d, -b], [-c, a]] / (a d - b c).
    In practice one rarely forms an inverse: to solve A x = y, `np.linalg.solve` factorises
    A, which is faster and more accurate. In ML, the rank of a data matrix counts its
    independent features: a feature that is the sum of two others adds nothing, and
    least squares then has no unique solution. LoRA fine-tunes a network with updates of
    small rank.
    """
    import matplotlib.pyplot as plt

    B = np.array([[1.0, 2.0], [0.5, 1.0]])
    print(f"B = {show(B)}: rank {linalg.rank(B)}, det {np.linalg.det(B):.4f}", end="")
    print(f"  {check([linalg.rank(B), np.linalg.det(B)], [1, 0])}")
    t, ticks = np.linspace(-2, 2, 50), np.linspace(-2, 2, 5)
    grid = [np.stack([np.full_like(t, c), t], axis=1) for c in ticks]  # vertical lines
    grid += [line[:, ::-1] for line in grid]  # and horizontal ones
    points = np.concatenate(grid)
    images = points @ B.T
    off_line = images[:, 0] * 0.5 - images[:, 1] * 1.0  # cross product with (1, 0.5)
    print(f"every B x lies on the line through (1, 0.5): {check(off_line, 0.0)}")
    print(f"B (2, -1) = {show(B @ np.array([2.0, -1.0]))}: the null space  ", end="")
    print(check(B @ np.array([2.0, -1.0]), [0.0, 0.0]))
    try:
        np.linalg.inv(B)
    except np.linalg.LinAlgError as error:
        print(f"np.linalg.inv(B) refuses: {error}")

    A = np.array([[2.0, 1.0], [0.5, 1.5]])
    (a, b), (c, d) = A
    inverse = np.linalg.inv(A)
    print(
        f"A⁻¹ = {show(inverse)}  {check(inverse, np.array([[d, -b], [-c, a]]) / (a * d - b * c))}"
    )
    print(f"A⁻¹ A = {show(inverse @ A)}  {check(inverse @ A, np.eye(2))}")
    print(f"A⁻¹ (A x) = x for the whole grid: {check((points @ A.T) @ inverse.T, points)}")
    y = np.array([1.0, 2.0])
    x = np.linalg.solve(A, y)  # x with A x = y, without forming A⁻¹
    print(f"solve(A, {show(y)}) = {show(x)}, and A x = {show(A @ x)}  {check(A @ x, y)}")

    features = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0], [1.0, 1.0, 5.0], [2.0, 1.0, 7.0]])
    print("4 rows, 3 features, the third = 2 × first + 3 × second: rank", end="")
    print(f" {linalg.rank(features)}  {check(linalg.rank(features), 2)}")

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    for line in grid:
        axes[0].plot(*line.T, color="lightgrey", lw=0.8)
        axes[1].plot(*(line @ B.T).T, color="tab:blue", lw=3, alpha=0.3)
    null = np.outer(np.linspace(-1, 1, 2), [2.0, -1.0])
    axes[0].plot(*null.T, color="tab:red", lw=2, label="null space: B x = 0")
    axes[1].plot([0], [0], "o", color="tab:red", label="where the null space goes")
    for ax, title in zip(axes, ["x", "B x: the plane flattened to a line (rank 1)"], strict=True):
        ax.set(aspect="equal", xlim=(-6.5, 6.5), ylim=(-4, 4), title=title)
        ax.legend(loc="lower right", fontsize=8)
    print(figure(fig, "rank-inverse-collapse"))


@stop(
    "eigenvectors",
    "Eigenvectors and eigenvalues",
    "the directions a map only stretches; power iteration",
)
def _eigenvectors() -> None:
    """
    Most vectors are turned by a matrix. An eigenvector v is one that is only stretched:
    A v = λ v, and the stretch factor λ is its eigenvalue. A = [[2, 1], [1, 2]] stretches
    the diagonal direction (1, 1) by 3 and the other diagonal (1, -1) by 1, and turns every
    other direction towards (1, 1): the circle of unit vectors becomes an ellipse with its
    axes along the eigenvectors. The eigenvalues solve det(A - λ I) = 0, here
    λ² - 4 λ + 3 = 0, so λ = (trace ± √(trace² - 4 det)) / 2 = 3 and 1. Their sum is the
    trace and their product the determinant.

    A symmetric matrix, like a covariance matrix or a Hessian, has real eigenvalues and
    perpendicular eigenvectors, and `np.linalg.eigh` finds them (`eig` is for any square
    matrix). They are everywhere in ML: the Hessian's eigenvalues are the curvatures of
    the loss (their ratio decides how fast gradient descent can go), the covariance's
    eigenvectors are PCA's components, and PageRank is an eigenvector. Applying A again
    and again turns any vector towards the eigenvector of the largest
    eigenvalue: power iteration. Starting from (1, 0), the angle to (1, 1) has tangent
    (1/3)ᵏ after k steps, the ratio of the eigenvalues to the power k.
    """
    import matplotlib.pyplot as plt

    A = np.array([[2.0, 1.0], [1.0, 2.0]])
    values, vectors = np.linalg.eigh(A)  # ascending; eigenvectors in the columns
    vectors = vectors * np.sign(vectors[0])  # a sign is arbitrary: make the first entry > 0
    for value, v in zip(values, vectors.T, strict=True):
        print(
            f"λ = {value:.4f}, v = {show(v)}: A v = {show(A @ v)} = λ v  {check(A @ v, value * v)}"
        )
    trace, det = np.trace(A), np.linalg.det(A)
    roots = [
        (trace + math.sqrt(trace**2 - 4 * det)) / 2,
        (trace - math.sqrt(trace**2 - 4 * det)) / 2,
    ]
    print(f"roots of det(A - λ I) = 0: {show(roots)}  {check(sorted(values), sorted(roots))}")
    print(f"sum = trace = {trace:.1f}, product = det = {det:.1f}", end="")
    print(f"  {check([sum(values), values[0] * values[1]], [trace, det])}")

    print("power iteration from (1, 0): the angle to (1, 1) shrinks like (1/3)**k")
    top = vectors[:, np.argmax(values)]
    x = np.array([1.0, 0.0])
    for k in range(6):
        angle = math.acos(min(1.0, abs(x @ top)))  # x and top are unit vectors
        print(f"  k = {k}: x = {show(x)}, angle {math.degrees(angle):7.4f}°", end="")
        print(f"  {check(angle, math.atan((1 / 3) ** k))}")
        x = A @ x
        x = x / np.linalg.norm(x)

    theta = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)
    circle = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    for v, image in zip(circle, circle @ A.T, strict=True):
        ax.annotate("", v, (0, 0), arrowprops={"arrowstyle": "->", "color": "lightgrey"})
        ax.annotate("", image, v, arrowprops={"arrowstyle": "->", "color": "tab:blue", "lw": 0.7})
    smooth = np.linspace(0.0, 2 * np.pi, 200)
    ring = np.stack([np.cos(smooth), np.sin(smooth)], axis=1)
    ax.plot(*ring.T, color="grey", lw=0.8, label="unit vectors v")
    ax.plot(*(ring @ A.T).T, color="tab:blue", lw=0.8, label="their images A v (arrows: v → A v)")
    for value, v in zip(values, vectors.T, strict=True):
        ax.plot(*np.outer([-value, value], v).T, color="tab:red", lw=2.5, alpha=0.8)
        ax.annotate(f"λ = {value:g}", value * v + 0.15, color="tab:red")
    ax.plot([], [], color="tab:red", lw=2.5, label="eigenvectors, stretched by λ")
    ax.set(aspect="equal", xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), title="A = [[2, 1], [1, 2]]")
    ax.legend(loc="lower right", fontsize=8)
    print(figure(fig, "eigenvectors-circle"))


@stop(
    "svd",
    "The SVD and low-rank approximation",
    "rotate, stretch, rotate; a low-rank image (Eckart–Young)",
)
def _svd() -> None:
    """
    Every matrix, square or not, is a rotation, a stretch along the axes, and another
    rotation: the singular value decomposition M = U Σ Vᵀ, with U and V orthogonal (turns,
    perhaps with a mirror) and Σ diagonal, holding the singular values σ₁ ≥ σ₂ ≥ ... ≥ 0.
    The unit circle becomes an ellipse with semi-axes σ₁ and σ₂ along the columns of U. The
    σᵢ² are the eigenvalues of Mᵀ M, and for a square matrix σ₁ σ₂ ⋯ = |det M|: for
    A = [[2, 1], [0.5, 1.5]] that is 2.5.

    Written as a sum, M = Σᵢ σᵢ uᵢ vᵢᵀ is a stack of rank-one layers, largest first. Keeping
    the first k gives M_k, and the Eckart–Young theorem says that no matrix of rank k is
    closer to M: the error ‖M - M_k‖_F is exactly √(Σ_{i>k} σᵢ²), the root sum of squares of
    the dropped singular values. Below, a 48 × 48 picture of 36 handwritten digits from
    `chainrule.data`: a rank-k copy stores k (48 + 48 + 1) numbers instead of 48², and a
    rank-k projection onto random directions does much worse. Compression of images and of
    networks' weights, LoRA, and the matrix factorisations of recommender systems are this
    idea.
    """
    import matplotlib.pyplot as plt

    A = np.array([[2.0, 1.0], [0.5, 1.5]])
    U, s, Vt = np.linalg.svd(A)
    print(f"σ = {show(s)}; U Σ Vᵀ = A  {check(U @ np.diag(s) @ Vt, A)}", end="")
    print(f"   U, V orthogonal  {check([U.T @ U, Vt @ Vt.T], [np.eye(2), np.eye(2)])}")
    eigenvalues = scipy.linalg.eigvalsh(A.T @ A)[::-1]  # SciPy, largest first
    print(f"σ² = {show(s**2)} = eigenvalues of AᵀA  {check(s**2, eigenvalues)}")
    print(f"σ₁ σ₂ = {s[0] * s[1]:.4f} = |det A|  {check(s[0] * s[1], abs(np.linalg.det(A)))}")

    X, _ = data.load_digits(dtype=np.float64)
    image = X[:36].reshape(6, 6, 8, 8).transpose(0, 2, 1, 3).reshape(48, 48)  # 6 × 6 digits
    sigma = scipy.linalg.svdvals(image)  # SciPy's singular values, as the witness
    Q = np.linalg.qr(np.random.default_rng(0).normal(size=(48, 48)))[0]  # random directions
    print("\nM = the image; its best rank-k copy M_k, and a projection on k random directions")
    print(f"{'rank':>4} {'‖M - M_k‖':>10} {'√(Σ dropped σ²)':>16}   {'random rank k':>13}")
    approximations = {k: linalg.low_rank_approx(image, k) for k in [1, 2, 5, 10, 20, 30]}
    for k, approx in approximations.items():
        error = np.linalg.norm(image - approx.matrix)  # Frobenius: √(sum of squared pixels)
        dropped = math.sqrt(np.sum(sigma[k:] ** 2))
        projected = image @ Q[:, :k] @ Q[:, :k].T  # projected on k random directions: rank k
        worse = np.linalg.norm(image - projected)
        print(f"{k:>4} {error:>10.4f} {dropped:>16.4f} {check(error, dropped)}", end="")
        print(f"   {worse:>13.4f} {check(worse > error, True)}")

    fig, axes = plt.subplots(1, 4, figsize=(11, 3))
    angles = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(angles), np.sin(angles)])  # the unit circle, as columns
    steps = [
        (np.eye(2), "x"),
        (Vt, "Vᵀ x: turn"),
        (np.diag(s) @ Vt, "Σ Vᵀ x: stretch"),
        (A, "U Σ Vᵀ x = A x: turn"),
    ]
    for ax, (M, title) in zip(axes, steps, strict=True):
        ax.plot(*(M @ circle), color="tab:blue")
        for column, colour in zip((M @ Vt.T).T, ["tab:red", "tab:green"], strict=True):
            ax.annotate("", column, (0, 0), arrowprops={"arrowstyle": "->", "color": colour})
        ax.set(aspect="equal", xlim=(-2.6, 2.6), ylim=(-2.6, 2.6), title=title)
    fig.suptitle("the SVD of A = [[2, 1], [0.5, 1.5]]; arrows: where v₁ and v₂ go")
    print(figure(fig, "svd-rotate-stretch-rotate"))

    fig, axes = plt.subplots(1, 5, figsize=(11, 2.6))
    for ax, k in zip(axes, [1, 5, 10, 20], strict=False):
        approx = approximations[k]
        ax.imshow(approx.matrix, cmap="gray_r")
        ax.set(xticks=[], yticks=[], title=f"rank {k}: error {approx.relative_error:.0%}")
    axes[-1].imshow(image, cmap="gray_r")
    axes[-1].set(xticks=[], yticks=[], title=f"the image (rank {linalg.rank(image)})")
    print(figure(fig, "svd-low-rank-digits"))


@stop(
    "pca",
    "Principal component analysis",
    "the directions of largest variance, found three ways, drawn",
)
def _pca() -> None:
    """
    PCA finds the perpendicular directions along which data varies most. Subtract the mean;
    the covariance matrix C = X_cᵀ X_c / (n - 1) of the centred data holds the variances of
    the features and their covariances. Its eigenvectors are the principal components and
    its eigenvalues the variances along them, largest first. Equivalently, and more
    accurately, the SVD of the centred data X_c = U S Vᵀ: the rows of Vᵀ are the components
    and S² / (n - 1) their variances. `linalg.PCA` does the latter, with scikit-learn's
    names; the eigenvectors and the SVD, computed here with SciPy, agree with it (a
    component and its negative are the same direction).

    The data: 300 points from a Gaussian with standard deviations 3 and 1, turned by 30°.
    The first component comes out close to 30° with variance close to 9, the second with
    variance close to 1: estimates from a sample, each within a few of its standard errors
    of the truth (the standard error of a variance σ² is σ² √(2 / (n - 1)), that of the
    first component's angle √(λ₁ λ₂ / (n - 1)) / (λ₁ - λ₂)). Keeping only the first
    component projects every point onto a line, and the squared distances lost add up to
    (n - 1) times the second variance. In ML, PCA compresses features, removes noise, and draws
    high-dimensional data in two dimensions.
    """
    import matplotlib.pyplot as plt

    n, turn = 300, math.radians(30)
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    Z = np.random.default_rng(0).normal(size=(n, 2)) * [3.0, 1.0]  # standard deviations 3, 1
    X = Z @ rotation.T + [2.0, 1.0]  # turned by 30°, moved to (2, 1)

    pca = linalg.PCA().fit(X)
    print(f"components (rows): {show(pca.components_)}")
    print(f"variances along them: {show(pca.explained_variance_)}", end="")
    print(f", fractions {show(pca.explained_variance_ratio_)}")
    values, vectors = scipy.linalg.eigh(np.cov(X.T))  # the covariance's eigenpairs, ascending
    values, vectors = values[::-1], vectors[:, ::-1]
    same = np.abs(pca.components_ @ vectors)  # |cos| of the angles between them: 1 if aligned
    print(f"= the covariance's eigenvectors  {check(same, np.eye(2))}", end="")
    print(f"   and eigenvalues  {check(pca.explained_variance_, values)}")
    from_svd = scipy.linalg.svdvals(X - X.mean(axis=0)) ** 2 / (n - 1)  # the centred data
    print(f"= S² / (n - 1) of the centred data  {check(pca.explained_variance_, from_svd)}")

    angle = math.degrees(math.atan(pca.components_[0, 1] / pca.components_[0, 0]))
    z = (angle - 30) / math.degrees(math.sqrt(9 * 1 / (n - 1)) / (9 - 1))  # in standard errors
    print(f"first component at {angle:.2f}°: {z:+.2f} standard errors from 30°", end="")
    print(f"  {check(abs(z) < 3, True)}")
    for variance, truth in zip(pca.explained_variance_, [9.0, 1.0], strict=True):
        z = (variance - truth) / (truth * math.sqrt(2 / (n - 1)))  # in standard errors
        print(f"variance {variance:.4f}: {z:+.2f} standard errors from {truth}", end="")
        print(f"  {check(abs(z) < 3, True)}")

    first = linalg.PCA(n_components=1).fit(X)
    projected = first.inverse_transform(first.transform(X))  # onto the first component's line
    lost = np.sum((X - projected) ** 2)
    print(f"squared distances lost: {lost:.4f} = (n - 1) × second variance", end="")
    print(f"  {check(lost, (n - 1) * pca.explained_variance_[1])}")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(X[:, 0], X[:, 1], s=8, alpha=0.5, label="data")
    ax.scatter(projected[:, 0], projected[:, 1], s=2, label="projected on component 1")
    arrow = {"arrowstyle": "->", "color": "tab:red", "lw": 2}
    for k in range(2):  # each component, two standard deviations long
        tip = pca.mean_ + 2 * np.sqrt(pca.explained_variance_[k]) * pca.components_[k]
        ax.annotate("", tip, pca.mean_, arrowprops=arrow, zorder=5)
        ax.annotate(f"component {k + 1}", tip + 0.3, color="tab:red")
    ax.set(aspect="equal", xlabel="feature 1", ylabel="feature 2")
    ax.set_title("PCA: the components, 2 standard deviations long")
    ax.legend(loc="lower right", fontsize=8)
    print(figure(fig, "pca-components"))


@stop(
    "linear-layers",
    "Layers without activations collapse",
    "linear layers make one matrix (cr.jacobian); tanh bends",
)
def _linear_layers() -> None:
    """
    A layer of a network computes W x + b. Stack three with nothing in between and the
    result is W₃ (W₂ (W₁ x + b₁) + b₂) + b₃ = (W₃ W₂ W₁) x + (W₃ W₂ b₁ + W₃ b₂ + b₃): again
    one linear map (plus a constant), with the single matrix W = W₃ W₂ W₁. Depth bought
    nothing: the network still draws only straight lines and flat planes, and its rank is
    at most the width of its narrowest layer (here 3 → 4 → 2 → 3, so a 3 × 3 matrix of
    rank 2: one direction of the input is ignored completely).

    `cr.jacobian` shows it. The Jacobian of the linear network is the same matrix at every
    input, W₃ W₂ W₁. Put tanh between the layers and the Jacobian changes from point to
    point; by the chain rule it is W₃ diag(1 - tanh² z₂) W₂ diag(1 - tanh² z₁) W₁, with z₁
    and z₂ the values going into each tanh at that input. That is what an activation
    buys: the slope depends on where you are, so the network can bend. The picture shows
    one input and one output, the same weights with and without tanh.
    """
    import matplotlib.pyplot as plt

    linear_net = nn.MLP([3, 4, 2, 3], activation=lambda z: z, rng=0, dtype=np.float64)
    (W1, b1), (W2, b2), (W3, b3) = [(layer.weight, layer.bias) for layer in linear_net.layers]
    W, b = W3 @ W2 @ W1, W3 @ (W2 @ b1 + b2) + b3  # the single layer they make
    for x in (np.array([1.0, 2.0, 3.0]), np.array([-4.0, 0.5, 0.0])):
        J = cr.jacobian(linear_net)(x)
        print(f"Jacobian at x = {show(x)}: {show(J)}  = W3 W2 W1 {check(J, W)}")
    X = np.random.default_rng(0).normal(size=(5, 3))
    print(f"the network = one layer X Wᵀ + b on 5 inputs: {check(linear_net(X), X @ W.T + b)}")
    print(f"rank of W: {linalg.rank(W)}, the narrowest layer's width  {check(linalg.rank(W), 2)}")

    tanh_net = nn.MLP(layers=linear_net.layers, activation=np.tanh)  # the same weights
    x = np.array([1.0, 2.0, 3.0])
    J, J_other = cr.jacobian(tanh_net)(x), cr.jacobian(tanh_net)(np.array([-4.0, 0.5, 0.0]))
    change = np.max(np.abs(J - J_other))
    print(f"\nwith tanh, the Jacobian at the two inputs differs by up to {change:.4f}")
    z1 = W1 @ x + b1
    z2 = W2 @ np.tanh(z1) + b2
    chain = W3 @ np.diag(1 - np.tanh(z2) ** 2) @ W2 @ np.diag(1 - np.tanh(z1) ** 2) @ W1
    print(f"at x = {show(x)}: {show(J)}")
    print(f"= W3 diag(1 - tanh² z2) W2 diag(1 - tanh² z1) W1  {check(J, chain)}", end="")
    print(f"   = central differences  {check(J, numerical_jacobian(tanh_net, x))}")

    t = np.linspace(-3, 3, 200)[:, None]  # one input ...
    one_in = nn.MLP([1, 16, 16, 1], activation=lambda z: z, rng=1, dtype=np.float64)
    bent = nn.MLP(layers=one_in.layers, activation=np.tanh)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(t, one_in(t), label="3 linear layers: a straight line")  # ... and one output
    ax.plot(t, bent(t), label="the same weights with tanh between")
    ax.set(xlabel="input", ylabel="output", title="a network 1 → 16 → 16 → 1")
    ax.legend(fontsize=8)
    print(figure(fig, "linear-layers-collapse"))
