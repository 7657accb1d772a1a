"""Linear algebra for machine learning, built on `chainrule.numpy.linalg`.

- `cosine_similarity`: the cosine of the angle between vectors (PyTorch's definition).
- `low_rank_approx`: the best rank-k approximation by truncated SVD (Eckart–Young).
- `rank` and `condition_number`: NumPy's ``matrix_rank`` and ``cond`` conventions.
- `PCA`: principal component analysis with scikit-learn's attributes.

The functions that return numbers are differentiable through chainrule (forward and
reverse, any order) where the mathematics allows it; each docstring says where. `rank` is
an integer, a step function of its input, so it has no derivative. `PCA.fit` learns from
plain data; `PCA.transform` and `PCA.inverse_transform` are affine maps, differentiable in
their input.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> from chainrule import linalg
>>> M = np.array([[3.0, 0.0], [0.0, 1.0]])
>>> linalg.rank(M), float(linalg.condition_number(M))
(2, 3.0)
>>> cr.grad(linalg.condition_number)(M)  # d(σ_max/σ_min): u₁v₁ᵀ/σ₂ - σ₁u₂v₂ᵀ/σ₂²
array([[ 1.,  0.],
       [ 0., -3.]])
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
from chainrule._estimator import Estimator
from chainrule._validate import count, float_array, matrix, number, one_of
from chainrule.core.trace import Tracer

__all__ = ["PCA", "LowRank", "condition_number", "cosine_similarity", "low_rank_approx", "rank"]

# ---------------------------------------------------------------------------------- helpers


# ------------------------------------------------------------------------ cosine similarity


def cosine_similarity(a: Any, b: Any, axis: int = -1, eps: float = 1e-8) -> Any:
    """The cosine of the angle between `a` and `b` along `axis`, broadcasting the others.

    PyTorch's definition (``torch.nn.functional.cosine_similarity``, whose current
    documentation gives this formula): each norm is clamped at `eps` separately,

        ``a·b / (max(‖a‖, eps) · max(‖b‖, eps))``,

    so a zero vector has similarity 0 with everything, without a warning. (The docstring
    of ``torch.nn.CosineSimilarity`` still shows the older ``max(‖a‖ ‖b‖, eps)``; the two
    differ only when a norm is below `eps`, and this function follows what PyTorch
    computes.) `a` and `b` are broadcast together first, so ``(n, d)`` rows against one
    ``(d,)`` vector give ``n`` similarities. Differentiable; where ``‖a‖ < eps`` the clamped
    norm is the constant `eps`, so the gradient in `a` is that of ``a·b / (eps ‖b‖)``, the
    exact derivative of the value computed (PyTorch's autograd differs there: it keeps
    the norm's derivative under the clamp).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> a, b = np.array([1.0, 0.0]), np.array([1.0, 1.0])
    >>> print(round(float(cosine_similarity(a, b)), 6))
    0.707107
    >>> cosine_similarity(np.array([[1.0, 0.0], [2.0, 2.0], [0.0, 0.0]]), b).round(4)
    array([0.7071, 1.    , 0.    ])
    >>> cr.grad(cosine_similarity)(a, b).round(4)  # turning a towards b raises the cosine
    array([0.    , 0.7071])
    """
    fn = "cosine_similarity"
    a, b = float_array(a, "a", fn), float_array(b, "b", fn)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{fn}: a of shape {tuple(a.shape)} and b of shape {tuple(b.shape)} do not "
            "broadcast together; give them equal sizes along each axis, or size 1."
        ) from None
    if not shape:
        raise ValueError(f"{fn}: a and b are scalars; they must have at least one axis.")
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{fn}: axis must be an integer, got {axis!r}.")
    if not -len(shape) <= axis < len(shape):
        raise ValueError(
            f"{fn}: axis {axis} is out of range for the broadcast shape {shape} "
            f"(use -{len(shape)}..{len(shape) - 1})."
        )
    eps = number(eps, "eps", fn, minimum=0.0, exclusive=True)
    units = []
    for x in (a, b):
        x = x if x.shape == shape else cnp.broadcast_to(x, shape)
        units.append(x / cnp.maximum(cnp.linalg.norm(x, axis=axis, keepdims=True), eps))
    return cnp.sum(units[0] * units[1], axis=axis)


# ------------------------------------------------------------------------- low-rank approx


class LowRank(NamedTuple):
    """The result of `low_rank_approx`: the approximation and how far it is from `M`.

    `matrix` is ``M_k``, `error` is ``‖M - M_k‖_F``, `singular_values` are all of `M`'s
    (descending), and the property `relative_error` is ``‖M - M_k‖_F / ‖M‖_F``, the
    fraction of `M`'s Frobenius norm the approximation misses.
    """

    matrix: Any
    error: Any
    singular_values: Any

    @property
    def relative_error(self) -> Any:
        """``‖M - M_k‖_F / ‖M‖_F = sqrt(Σ_{i>k} σᵢ² / Σ σᵢ²)`` (0 for the zero matrix)."""
        total = cnp.linalg.norm(self.singular_values)
        zero = cr.stop_gradient(total) == 0  # the zero matrix is its own best approximation
        if isinstance(zero, Tracer):  # a batch under `vmap`: some examples may be zero
            return cnp.where(zero, total, self.error / cnp.where(zero, 1.0, total))
        return total if zero else self.error / total


def low_rank_approx(M: Any, k: int) -> LowRank:
    """The best rank-`k` approximation of `M`, by truncated SVD.

    With ``M = U diag(σ) Vᵀ``, ``M_k = U[:, :k] diag(σ[:k]) Vᵀ[:k]`` keeps the `k` largest
    singular values. Eckart–Young: no matrix of rank at most `k` is closer to `M`, in the
    Frobenius norm and in the 2-norm, and the error is what was dropped,
    ``‖M - M_k‖_F = sqrt(Σ_{i>k} σᵢ²)`` (the relative error, as a fraction of
    ``‖M‖_F``, is ``LowRank.relative_error``).

    Differentiable in `M` (through `chainrule.numpy.linalg.svd`) where `M`'s singular values
    are distinct and nonzero: singular vectors are then locally unique, and ``M_k`` and its
    error are smooth. `k` must be an integer with ``1 <= k <= min(M.shape)``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> M = np.diag([3.0, 2.0, 1.0])
    >>> approx = low_rank_approx(M, 2)
    >>> approx.matrix.round(6) + 0.0
    array([[3., 0., 0.],
           [0., 2., 0.],
           [0., 0., 0.]])
    >>> print(round(float(approx.error), 6), round(float(approx.relative_error), 6))
    1.0 0.267261
    >>> # The gradient of the error is the unit residual (M - M_k) / ‖M - M_k‖:
    >>> (cr.grad(lambda M: low_rank_approx(M, 1).error)(M) ** 2).round(6) + 0.0
    array([[0. , 0. , 0. ],
           [0. , 0.8, 0. ],
           [0. , 0. , 0.2]])
    """
    fn = "low_rank_approx"
    M = matrix(M, "M", fn)
    k = count(
        k, "k", fn, maximum=min(M.shape), why=f"the smaller side of M, whose shape is {M.shape}"
    )
    u, s, vh = cnp.linalg.svd(M, full_matrices=False)
    approx = (u[:, :k] * s[:k]) @ vh[:k]
    # The norm of the dropped singular values; its gradient at 0 (k = min(M.shape)) is 0.
    return LowRank(approx, cnp.linalg.norm(s[k:]), s)


# --------------------------------------------------------------------- rank and condition


def rank(M: Any, tol: float | None = None) -> Any:
    """The numerical rank of `M`: how many singular values exceed `tol`.

    As `numpy.linalg.matrix_rank`: the default ``tol = σ_max · max(m, n) · ε``, with ε the
    machine epsilon of `M`'s dtype, treats singular values at rounding level as zero. A
    stack ``(..., m, n)`` gives an integer array; a matrix gives an int. Not
    differentiable (an integer).

    >>> import chainrule.numpy as np
    >>> rank(np.array([[1.0, 2.0], [2.0, 4.0]])), rank(np.eye(3)), rank(np.zeros((2, 3)))
    (1, 3, 0)
    >>> rank(np.array([[1.0, 0.0], [0.0, 1e-6]]), tol=1e-3)
    1
    """
    M = matrix(M, "M", "rank", stacks=True)
    s = np.linalg.svd(cr.stop_gradient(M), compute_uv=False)
    if tol is None:
        tol = s.max(axis=-1, keepdims=True) * max(M.shape[-2:]) * np.finfo(s.dtype).eps
    else:
        tol = number(tol, "tol", "rank", minimum=0.0)
    count = np.count_nonzero(s > tol, axis=-1)
    return int(count) if M.ndim == 2 and not isinstance(count, Tracer) else count


_NORM_ORDS = (1, -1, math.inf, -math.inf, "fro", "nuc")


def condition_number(M: Any, p: Any = None) -> Any:
    """How much `M` can stretch relative errors: ``‖M‖ ‖M⁻¹‖``, as `numpy.linalg.cond`.

    The default (``p=None`` or 2) is the 2-norm condition number ``σ_max / σ_min``, for any
    shape; ``p=-2`` gives ``σ_min / σ_max``. ``p`` in ``1, -1, inf, -inf, 'fro', 'nuc'`` uses
    that matrix norm of `M` and of its inverse (square `M` only). A singular matrix gives
    ``inf``, as in NumPy (a nearly singular one gives a huge finite number: σ_min is then
    rounding noise, not 0). Stacks ``(..., m, n)`` give one number per matrix.

    Differentiable for ``p=None``/``2``/``-2`` through the singular values, where the
    largest and smallest are simple and σ_min > 0: ``d(σ₁/σₙ) = (u₁v₁ᵀ - κ uₙvₙᵀ)/σₙ``.
    The other norms are differentiable through ``inv`` where they are smooth.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> print(float(condition_number(np.diag([4.0, 2.0, 0.5]))))
    8.0
    >>> print(condition_number(np.array([[1.0, 1.0], [0.0, 0.0]])))
    inf
    >>> cr.grad(condition_number)(np.diag([4.0, 2.0, 0.5])).round(4) + 0.0
    array([[  2.,   0.,   0.],
           [  0.,   0.,   0.],
           [  0.,   0., -16.]])
    """
    fn = "condition_number"
    M = matrix(M, "M", fn, stacks=True)
    if p is None or (not isinstance(p, str) and p in (2, -2)):
        s = cnp.linalg.svd(M, compute_uv=False)
        largest, smallest = s[..., 0], s[..., -1]
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = smallest / largest if p == -2 else largest / smallest
    elif p in _NORM_ORDS:
        if M.shape[-1] != M.shape[-2]:
            raise ValueError(
                f"{fn}: p={p!r} needs a square M (it inverts M), got shape {tuple(M.shape)}; "
                "for a rectangular matrix use p=None (σ_max / σ_min)."
            )
        if not isinstance(M, Tracer):
            return np.linalg.cond(M, p)  # NumPy's own, singular matrices included
        axes = (-2, -1)
        kappa = cnp.linalg.norm(M, p, axis=axes) * cnp.linalg.norm(cnp.linalg.inv(M), p, axis=axes)
    else:
        raise ValueError(
            f"{fn}: p must be None, 2, -2, 1, -1, inf, -inf, 'fro' or 'nuc', got {p!r}."
        )
    # 0/0 (the zero matrix) is NaN; NumPy reports it as infinitely ill-conditioned.
    nan = np.isnan(cr.stop_gradient(kappa))
    if isinstance(nan, Tracer) or nan.any():  # (under `vmap`, any example may be)
        kappa = cnp.where(nan, np.inf, kappa)
    return kappa


# ---------------------------------------------------------------------------------- PCA


def _flip_signs(components: Any) -> Any:
    """Each row times the sign of its largest-magnitude entry, making that entry positive."""
    rows = np.arange(components.shape[0])
    biggest = components[rows, np.argmax(np.abs(components), axis=1)]
    return components * np.sign(biggest)[:, None]


def _svd_directions(centred: Any) -> tuple[Any, Any]:
    """Singular values and right singular vectors (rows) of the centred data."""
    _, s, vh = np.linalg.svd(centred, full_matrices=False)
    return s, vh


def _eigh_directions(centred: Any) -> tuple[Any, Any]:
    """The same from the covariance's eigenpairs: ``σᵢ² = (n - 1) λᵢ``, largest first."""
    n, p = centred.shape
    w, v = np.linalg.eigh(centred.T @ centred / (n - 1))
    order = np.argsort(w)[::-1][: min(n, p)]
    # Rounding can make a zero eigenvalue slightly negative; a variance is not.
    return np.sqrt(np.clip(w[order], 0.0, None) * (n - 1)), v[:, order].T


_METHODS = {"svd": _svd_directions, "eigh": _eigh_directions}


class PCA(Estimator):
    """Principal component analysis: the orthogonal directions of largest variance.

    `fit` centres the data ``X`` (``n_samples × n_features``) and finds its principal
    axes. ``method="svd"`` (default) takes the SVD of the centred data, ``X_c = U S Vᵀ``:
    the rows of ``Vᵀ`` are the components and ``S² / (n - 1)`` their variances.
    ``method="eigh"`` diagonalises the covariance ``X_cᵀ X_c / (n - 1)`` instead: the same
    answer up to sign in exact arithmetic, cheaper when ``n_samples ≫ n_features``, but
    squaring the data loses accuracy in the small variances (absolute error about ε times
    the largest variance; negative rounding is clipped to 0).

    `n_components`: an int (at most ``min(n_samples, n_features)``), None for all of
    them, or a float in (0, 1): the fewest components whose explained-variance ratios sum
    to more than it, as scikit-learn does.

    After `fit`, with scikit-learn's names: ``components_`` (n_components, n_features,
    orthonormal rows), ``explained_variance_`` (variances along them, dividing by
    ``n - 1``), ``explained_variance_ratio_`` (fractions of the total variance),
    ``singular_values_``, ``mean_``, ``n_components_``, ``noise_variance_`` (the mean
    variance of the dropped directions, 0 if none), ``n_samples_``, ``n_features_in_``.

    Sign convention: a component ``v`` and ``-v`` are equally valid, so each component is
    flipped to make its largest-magnitude entry positive (a deterministic choice; other
    libraries may choose other signs, so compare components up to sign per row).

    `fit` takes plain data. `transform` (``(X - mean_) @ components_ᵀ``) and
    `inverse_transform` (``Z @ components_ + mean_``) are differentiable in their input.
    To differentiate through the components themselves, use `low_rank_approx` or
    `chainrule.numpy.linalg.svd`.

    >>> import numpy
    >>> X = numpy.array([[2.0, 2.0], [-2.0, -2.0], [1.0, -1.0], [-1.0, 1.0]])
    >>> pca = PCA(n_components=1).fit(X)
    >>> pca
    PCA(n_components=1)
    >>> pca.components_.round(4), pca.explained_variance_.round(4)
    (array([[0.7071, 0.7071]]), array([5.3333]))
    >>> print(pca.explained_variance_ratio_.round(4), round(float(pca.noise_variance_), 4))
    [0.8] 1.3333
    >>> pca.transform(X).round(4).ravel() + 0.0
    array([ 2.8284, -2.8284,  0.    ,  0.    ])
    >>> pca.inverse_transform(pca.transform(X)).round(4) + 0.0
    array([[ 2.,  2.],
           [-2., -2.],
           [ 0.,  0.],
           [ 0.,  0.]])
    """

    components_: Any
    explained_variance_: Any
    explained_variance_ratio_: Any
    singular_values_: Any
    mean_: Any
    n_components_: int
    noise_variance_: float
    n_samples_: int
    n_features_in_: int

    _fitted_attribute = "components_"

    def __init__(self, n_components: int | float | None = None, method: str = "svd") -> None:
        self.n_components = n_components
        self.method = method

    def _data(self, fn: str, X: Any, width: int | None, name: str = "X") -> Any:
        X = matrix(X, name, f"PCA.{fn}")
        if width is not None and X.shape[1] != width:
            unit = "columns (one per component)" if name == "Z" else "features"
            raise ValueError(
                f"PCA.{fn}: {name} has {X.shape[1]} {unit.split()[0]}, but PCA is expecting "
                f"{width} {unit} as input."
            )
        return X

    def _components(self, ratio: Any, n: int, p: int) -> int:
        """How many components `n_components` asks for, given the variance ratios."""
        largest, wanted = min(n, p), self.n_components
        if wanted is None:
            return largest
        if isinstance(wanted, bool) or not isinstance(wanted, numbers.Real):
            raise TypeError(
                f"PCA.fit: n_components must be an int, None (all) or a float in (0, 1), "
                f"got {wanted!r}."
            )
        if isinstance(wanted, numbers.Integral):
            why = f"min(n_samples, n_features) = min({n}, {p})"
            return count(wanted, "n_components", "PCA.fit", maximum=largest, why=why)
        fraction = number(
            wanted, "n_components", "PCA.fit", minimum=0.0, maximum=1.0, exclusive=True
        )
        k = int(np.searchsorted(np.cumsum(ratio), fraction, "right")) + 1
        return min(k, largest)

    def fit(self, X: Any, y: Any = None) -> PCA:
        """Learn the mean and the principal axes of `X` (n_samples, n_features); returns self.

        `y` is ignored (scikit-learn's convention, so that PCA fits in a Pipeline).
        """
        one_of(self.method, "method", "PCA.fit", tuple(_METHODS))
        if isinstance(X, Tracer):
            raise TypeError(
                "PCA.fit takes plain data, not a traced value; to differentiate through "
                "principal directions use low_rank_approx or chainrule.numpy.linalg.svd."
            )
        X = self._data("fit", X, None)
        n, p = X.shape
        if n < 2:
            raise ValueError("PCA.fit: X has 1 sample; a variance needs at least 2 samples (rows).")
        mean = X.mean(axis=0)
        s, components = _METHODS[self.method](X - mean)
        variance = s**2 / (n - 1)
        total = variance.sum()
        if total == 0:
            raise ValueError(
                "PCA.fit: X has zero variance (all rows are equal), so it has no principal "
                "directions."
            )
        ratio = variance / total
        k = self._components(ratio, n, p)
        self.mean_ = mean
        self.components_ = _flip_signs(components[:k])
        self.explained_variance_ = variance[:k]
        self.explained_variance_ratio_ = ratio[:k]
        self.singular_values_ = s[:k]
        self.n_components_ = k
        self.noise_variance_ = float(variance[k:].mean()) if k < min(n, p) else 0.0
        self.n_samples_, self.n_features_in_ = n, p
        return self

    def transform(self, X: Any) -> Any:
        """Coordinates of `X`'s rows along the components: ``(X - mean_) @ components_ᵀ``."""
        self._check_fitted("transform")
        X = self._data("transform", X, self.n_features_in_)
        return (X - self.mean_) @ self.components_.T

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """`fit` to `X`, then `transform` it (`y` is ignored)."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Any) -> Any:
        """Points in feature space from coordinates `Z`: ``Z @ components_ + mean_``.

        With all components this undoes `transform`; with fewer it gives the projection
        of the data onto the principal subspace (the best rank-k reconstruction).
        """
        self._check_fitted("inverse_transform")
        Z = self._data("inverse_transform", Z, self.n_components_, name="Z")
        return Z @ self.components_ + self.mean_
