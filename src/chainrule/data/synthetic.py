"""Small synthetic problems with known answers, to watch a model learn in a second.

The names and keywords are scikit-learn's (``n_samples``, ``n_features``, ``noise``,
``shuffle``, ``random_state``, ``centers``, ``cluster_std``...), with the same meaning;
`make_spirals` and `make_linear`, which scikit-learn lacks, follow the same conventions.
Two defaults differ, on purpose: ``random_state=0``, so the same call gives the same data
on every machine (pass None for fresh randomness, or a ``numpy.random.Generator``), and
features come in float32 unless `dtype` says otherwise. Class labels are int64, and with
``shuffle=True`` (the default) examples are shuffled so that the first rows mix classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import count, flag, float_dtype, number
from ._common import Seed, rng_from

__all__ = ["make_blobs", "make_linear", "make_moons", "make_spirals"]


def _per_class(n: int, classes: int) -> np.ndarray:
    """Class sizes as equal as possible: the first ``n % classes`` classes get one more."""
    sizes = np.full(classes, n // classes)
    sizes[: n % classes] += 1
    return sizes


def _finish(
    rng: np.random.Generator, X: np.ndarray, y: np.ndarray, dtype: np.dtype[Any], shuffle: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` in `dtype` and int64, rows shuffled together if `shuffle`."""
    order = rng.permutation(len(y)) if shuffle else np.arange(len(y))
    return X[order].astype(dtype), y[order].astype(np.int64)


def _noise(noise: float | None, where: str) -> float:
    """A noise level: None (scikit-learn's "no noise") or a number >= 0."""
    return 0.0 if noise is None else number(noise, "noise", where, minimum=0.0)


def make_moons(
    n_samples: int | tuple[int, int] = 200,
    *,
    shuffle: bool = True,
    noise: float | None = 0.1,
    random_state: Seed = 0,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, ``(X, y)`` with X of shape (n_samples, 2).

    scikit-learn's ``make_moons``: class 0 is the upper half of the unit circle, class 1
    the lower half shifted to (1, 0.5), with ``n_samples // 2`` and the rest points (or
    the pair ``(n_upper, n_lower)``), plus Gaussian noise of standard deviation `noise`
    (None for none). Not linearly separable.

    >>> X, y = make_moons(6, noise=0.0)
    >>> X.shape, X.dtype, y.dtype, int(y.sum())
    ((6, 2), dtype('float32'), dtype('int64'), 3)
    >>> print(np.array_equal(make_moons(random_state=1)[0], make_moons(random_state=1)[0]))
    True
    >>> make_moons((2, 1), shuffle=False, noise=None)[1]
    array([0, 0, 1])
    """
    where = "make_moons"
    if isinstance(n_samples, tuple) and len(n_samples) == 2:
        n_upper, n_lower = (count(k, "n_samples", where, minimum=1) for k in n_samples)
    else:
        n = count(n_samples, "n_samples", where, minimum=2)
        n_upper, n_lower = n // 2, n - n // 2
    noise_std, shuffle = _noise(noise, where), flag(shuffle, "shuffle", where)
    dtype, rng = float_dtype(dtype, "dtype", where), rng_from(random_state, where, "random_state")
    angle = np.concatenate([np.linspace(0.0, np.pi, n_upper), np.linspace(0.0, np.pi, n_lower)])
    upper = np.arange(n_upper + n_lower) < n_upper
    X = np.where(
        upper[:, None],
        np.stack([np.cos(angle), np.sin(angle)], axis=1),
        np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1),
    )
    X += noise_std * rng.standard_normal(X.shape)
    return _finish(rng, X, (~upper).astype(np.int64), dtype, shuffle)


def make_spirals(
    n_samples: int = 300,
    *,
    n_classes: int = 3,
    shuffle: bool = True,
    noise: float | None = 0.2,
    random_state: Seed = 0,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class, ``(X, y)`` with X of shape (n_samples, 2).

    Arm k starts at the origin and winds out to radius 1 over 4 radians, starting at angle
    ``2πk / n_classes``; `noise` is the standard deviation of a Gaussian jitter of the
    angle. A linear model gets about ``1 / n_classes`` right; a small MLP gets nearly all.

    >>> X, y = make_spirals(300, n_classes=3)
    >>> X.shape, X.dtype, [int(c) for c in np.bincount(y)]
    ((300, 2), dtype('float32'), [100, 100, 100])
    >>> print(float(np.abs(X).max()) <= 1.0)
    True
    """
    where = "make_spirals"
    n = count(n_samples, "n_samples", where)
    classes = count(n_classes, "n_classes", where, minimum=2)
    noise_std, shuffle = _noise(noise, where), flag(shuffle, "shuffle", where)
    dtype, rng = float_dtype(dtype, "dtype", where), rng_from(random_state, where, "random_state")
    sizes = _per_class(n, classes)
    y = np.repeat(np.arange(classes), sizes)
    radius = np.concatenate([np.linspace(0.0, 1.0, s) for s in sizes])
    angle = 2.0 * np.pi * y / classes + 4.0 * radius + noise_std * rng.standard_normal(n)
    X = radius[:, None] * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    return _finish(rng, X, y, dtype, shuffle)


def _blob_sizes(n_samples: Any, where: str) -> np.ndarray | int:
    """An int total, or the per-cluster sizes when `n_samples` is a sequence."""
    if isinstance(n_samples, (list, tuple, np.ndarray)):
        sizes = [count(k, "n_samples", where, minimum=0) for k in n_samples]
        if not sizes or sum(sizes) == 0:
            raise ValueError(
                f"{where}: n_samples must give at least one sample, got {n_samples!r}."
            )
        return np.array(sizes)
    return count(n_samples, "n_samples", where)


def make_blobs(
    n_samples: int | Sequence[int] = 300,
    n_features: int = 2,
    *,
    centers: int | Any = None,
    cluster_std: float | Sequence[float] = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    shuffle: bool = True,
    random_state: Seed = 0,
    return_centers: bool = False,
    dtype: Any = np.float32,
) -> Any:
    """Gaussian clusters, ``(X, y)`` with X of shape (n_samples, n_features), label = cluster.

    scikit-learn's ``make_blobs``: `centers` is a number of clusters (3 by default), whose
    centres are drawn uniformly from the box `center_box` in each of `n_features`
    dimensions, or an array of centres (clusters, n_features). `n_samples` is the total,
    split as equally as possible, or a sequence of sizes, one per cluster. Every point is its
    centre plus Gaussian noise of standard deviation `cluster_std` (one for all clusters, or
    one per cluster). With `return_centers`, the centres come third.

    >>> X, y = make_blobs(4, centers=[[0.0, 0.0], [5.0, 5.0]], cluster_std=0.0)
    >>> X[np.argsort(y)]
    array([[0., 0.],
           [0., 0.],
           [5., 5.],
           [5., 5.]], dtype=float32)
    >>> make_blobs(100, n_features=3, centers=4)[0].shape
    (100, 3)
    >>> [int(k) for k in np.bincount(make_blobs([1, 3], cluster_std=[0.5, 2.0])[1])]
    [1, 3]
    """
    where = "make_blobs"
    sizes = _blob_sizes(n_samples, where)
    n_features = count(n_features, "n_features", where)
    dtype, rng = float_dtype(dtype, "dtype", where), rng_from(random_state, where, "random_state")
    shuffle, return_centers = (
        flag(shuffle, "shuffle", where),
        flag(return_centers, "return_centers", where),
    )
    if centers is None:
        centers = 3 if isinstance(sizes, int) else len(sizes)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = count(centers, "centers", where)
        low, high = (number(v, "center_box", where) for v in center_box)
        means = rng.uniform(low, high, size=(k, n_features))
    else:
        means = np.asarray(centers, dtype=np.float64)
        if means.ndim != 2 or means.shape[0] == 0:
            raise ValueError(
                f"{where}: centers must be a number of clusters or an array of centres of "
                f"shape (clusters, n_features), got shape {means.shape}."
            )
        if n_features != 2 and n_features != means.shape[1]:
            raise ValueError(
                f"{where}: n_features={n_features} disagrees with centers of dimension "
                f"{means.shape[1]}; leave n_features out when giving the centres."
            )
    if isinstance(sizes, int):
        sizes = _per_class(sizes, len(means))
    elif len(sizes) != len(means):
        raise ValueError(
            f"{where}: n_samples gives {len(sizes)} cluster sizes but there are {len(means)} "
            "centers; give one size per centre."
        )
    std = np.broadcast_to(_cluster_std(cluster_std, len(means), where), len(means))
    y = np.repeat(np.arange(len(means)), sizes)
    X = means[y] + std[y, None] * rng.standard_normal((len(y), means.shape[1]))
    X, y = _finish(rng, X, y, dtype, shuffle)
    return (X, y, means.astype(dtype)) if return_centers else (X, y)


def _cluster_std(cluster_std: Any, clusters: int, where: str) -> np.ndarray:
    """One standard deviation >= 0, or one per cluster."""
    if isinstance(cluster_std, (list, tuple, np.ndarray)):
        if len(cluster_std) != clusters:
            raise ValueError(
                f"{where}: cluster_std gives {len(cluster_std)} values for {clusters} "
                "clusters; give one number, or one per cluster."
            )
        return np.array([number(s, "cluster_std", where, minimum=0.0) for s in cluster_std])
    return np.array(number(cluster_std, "cluster_std", where, minimum=0.0))


def make_linear(
    n_samples: int = 100,
    n_features: int = 1,
    *,
    noise: float | None = 0.1,
    random_state: Seed = 0,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A linear regression problem with its answer: ``(X, y, true_w, true_b)``.

    ``y = X @ true_w + true_b + noise * ε`` with X, the weights (shape (n_features,)), the
    bias and ε all standard normal (scikit-learn's ``make_regression`` with every feature
    informative and the bias drawn too). y has shape (n_samples,) and the dtype of X;
    `true_b` is a float.

    >>> X, y, w, b = make_linear(50, n_features=2, noise=0.0)
    >>> X.shape, y.shape, w.shape
    ((50, 2), (50,), (2,))
    >>> print(np.allclose(X @ w + b, y, atol=1e-6))
    True
    """
    where = "make_linear"
    n, features = count(n_samples, "n_samples", where), count(n_features, "n_features", where)
    noise_std, dtype = _noise(noise, where), float_dtype(dtype, "dtype", where)
    rng = rng_from(random_state, where, "random_state")
    w = rng.standard_normal(features).astype(dtype)
    b = dtype.type(rng.standard_normal())
    X = rng.standard_normal((n, features)).astype(dtype)
    y = X @ w + b + (noise_std * rng.standard_normal(n)).astype(dtype)
    return X, y.astype(dtype), w, float(b)
