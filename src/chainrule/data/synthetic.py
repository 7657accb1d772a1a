"""Small synthetic problems with known answers, to watch a model learn in a second.

Each generator draws from its own ``numpy.random.default_rng(seed)`` (a Generator may be
passed instead), so the same seed gives the same data on every machine; features come in
float32 unless `dtype` says otherwise, class labels as int64, and examples are shuffled so
that taking the first rows gives a mix of classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import Seed, count, float_dtype, nonnegative, rng_from

__all__ = ["make_blobs", "make_linear", "make_moons", "make_spirals"]


def _per_class(n: int, classes: int) -> np.ndarray:
    """Class sizes as equal as possible: the first ``n % classes`` classes get one more."""
    sizes = np.full(classes, n // classes)
    sizes[: n % classes] += 1
    return sizes


def _shuffled(
    rng: np.random.Generator, X: np.ndarray, y: np.ndarray, dtype: np.dtype[Any]
) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(y))
    return X[order].astype(dtype), y[order].astype(np.int64)


def make_moons(
    n: int = 200, noise: float = 0.1, seed: Seed = 0, *, dtype: Any = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, ``(X, y)`` with X of shape (n, 2): not linearly separable.

    Class 0 is the upper half of the unit circle, class 1 the lower half shifted to (1, 0.5)
    (``n // 2`` and ``n - n // 2`` points), plus Gaussian noise of standard deviation `noise`.

    >>> X, y = make_moons(6, noise=0.0)
    >>> X.shape, X.dtype, y.dtype, int(y.sum())
    ((6, 2), dtype('float32'), dtype('int64'), 3)
    >>> print(np.array_equal(make_moons(seed=1)[0], make_moons(seed=1)[0]))  # same seed, same data
    True
    """
    where = "make_moons"
    n, noise = count(n, "n", where, minimum=2), nonnegative(noise, "noise", where)
    dtype, rng = float_dtype(dtype, where), rng_from(seed, where)
    n_upper = n // 2
    angle = np.concatenate([np.linspace(0.0, np.pi, n_upper), np.linspace(0.0, np.pi, n - n_upper)])
    upper = np.arange(n) < n_upper
    X = np.where(
        upper[:, None],
        np.stack([np.cos(angle), np.sin(angle)], axis=1),
        np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1),
    )
    X += noise * rng.standard_normal(X.shape)
    return _shuffled(rng, X, (~upper).astype(np.int64), dtype)


def make_spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, seed: Seed = 0, *, dtype: Any = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class, ``(X, y)`` with X of shape (n, 2).

    Arm k starts at the origin and winds out to radius 1 over 4 radians, starting at angle
    ``2πk / classes``; `noise` is the standard deviation of a Gaussian jitter of the angle.
    A linear model gets about ``1 / classes`` right; a small MLP gets nearly all.

    >>> X, y = make_spirals(300, classes=3)
    >>> X.shape, X.dtype, [int(c) for c in np.bincount(y)]
    ((300, 2), dtype('float32'), [100, 100, 100])
    >>> print(float(np.abs(X).max()) <= 1.0)
    True
    """
    where = "make_spirals"
    n, classes = count(n, "n", where), count(classes, "classes", where, minimum=2)
    noise, dtype = nonnegative(noise, "noise", where), float_dtype(dtype, where)
    rng = rng_from(seed, where)
    sizes = _per_class(n, classes)
    y = np.repeat(np.arange(classes), sizes)
    radius = np.concatenate([np.linspace(0.0, 1.0, s) for s in sizes])
    angle = 2.0 * np.pi * y / classes + 4.0 * radius + noise * rng.standard_normal(n)
    X = radius[:, None] * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    return _shuffled(rng, X, y, dtype)


def make_blobs(
    n: int = 300,
    centers: int | Any = 3,
    std: float = 1.0,
    dim: int = 2,
    seed: Seed = 0,
    *,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters, ``(X, y)`` with X of shape (n, dim) and the cluster index as label.

    `centers` is a number of clusters, whose centres are drawn uniformly from the box
    [-10, 10]^dim, or an array of centres of shape (clusters, dim). Every point is its
    centre plus Gaussian noise of standard deviation `std`; clusters are as equal in size as
    n allows.

    >>> X, y = make_blobs(4, centers=[[0.0, 0.0], [5.0, 5.0]], std=0.0)
    >>> X[np.argsort(y)]
    array([[0., 0.],
           [0., 0.],
           [5., 5.],
           [5., 5.]], dtype=float32)
    >>> make_blobs(100, centers=4, dim=3)[0].shape
    (100, 3)
    """
    where = "make_blobs"
    n, std = count(n, "n", where), nonnegative(std, "std", where)
    dtype, rng = float_dtype(dtype, where), rng_from(seed, where)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = count(centers, "centers", where)
        means = rng.uniform(-10.0, 10.0, size=(k, count(dim, "dim", where)))
    else:
        means = np.asarray(centers, dtype=np.float64)
        if means.ndim != 2 or means.shape[0] == 0:
            raise ValueError(
                f"{where}: centers must be a number of clusters or an array of centres of "
                f"shape (clusters, dim), got shape {means.shape}"
            )
        if dim != 2 and dim != means.shape[1]:
            raise ValueError(
                f"{where}: dim={dim} disagrees with centers of dimension {means.shape[1]}; "
                "leave dim out when giving the centres"
            )
    y = np.repeat(np.arange(len(means)), _per_class(n, len(means)))
    X = means[y] + std * rng.standard_normal((n, means.shape[1]))
    return _shuffled(rng, X, y, dtype)


def make_linear(
    n: int = 100, features: int = 1, noise: float = 0.1, seed: Seed = 0, *, dtype: Any = np.float32
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A linear regression problem with its answer: ``(X, y, true_w, true_b)``.

    ``y = X @ true_w + true_b + noise * ε`` with X, the weights (shape (features,)), the bias
    and ε all standard normal. y has shape (n,) and the dtype of X; `true_b` is a float.

    >>> X, y, w, b = make_linear(50, features=2, noise=0.0)
    >>> X.shape, y.shape, w.shape
    ((50, 2), (50,), (2,))
    >>> print(np.allclose(X @ w + b, y, atol=1e-6))
    True
    """
    where = "make_linear"
    n, features = count(n, "n", where), count(features, "features", where)
    noise, dtype = nonnegative(noise, "noise", where), float_dtype(dtype, where)
    rng = rng_from(seed, where)
    w = rng.standard_normal(features).astype(dtype)
    b = dtype.type(rng.standard_normal())
    X = rng.standard_normal((n, features)).astype(dtype)
    y = X @ w + b + (noise * rng.standard_normal(n)).astype(dtype)
    return X, y.astype(dtype), w, float(b)
