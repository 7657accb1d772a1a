"""Splitting a data set in two, and walking through it in mini-batches.

Randomness is explicit: pass an int seed for a fixed order, or a ``numpy.random.Generator``
to get a new order on every call (as a training loop wants each epoch) that is still the
same from run to run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ._common import Seed, count, pair, rng_from

__all__ = ["batches", "train_test_split"]


def batches(
    X: Any,
    y: Any,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: Seed = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Mini-batches ``(x, y)`` of `batch_size` rows covering the data once.

    With `shuffle`, rows are visited in a random order drawn from `seed`: an int gives the
    same order every time, a Generator a new order per call (pass the same Generator every
    epoch), None a fresh unseeded order. The last batch is smaller when `batch_size` does
    not divide the number of rows, unless `drop_last` leaves it out. Arguments are checked
    at the call, not at the first batch.

    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> [b.tolist() for _, b in batches(X, y, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    >>> [b.tolist() for _, b in batches(X, y, 2, seed=0, drop_last=True)]
    [[2, 4], [3, 0]]
    >>> rng = np.random.default_rng(0)
    >>> [[b.tolist() for _, b in batches(X, y, 5, seed=rng)] for epoch in range(2)]
    [[[2, 4, 3, 0, 1]], [[4, 1, 2, 0, 3]]]
    """
    where = "batches"
    X, y = pair(X, y, where)
    n, batch_size = X.shape[0], count(batch_size, "batch_size", where)
    if drop_last and batch_size > n:
        raise ValueError(
            f"{where}: batch_size={batch_size} is larger than the {n} examples, so with "
            "drop_last=True there would be no batch at all; use a smaller batch_size"
        )
    if shuffle:
        # One gather per epoch, then slices (views): fewer, larger copies than a gather
        # per batch.
        order = rng_from(seed, where).permutation(n)
        X, y = X[order], y[order]
    stop = n - n % batch_size if drop_last else n
    return _slices(X, y, batch_size, stop)


def _slices(
    X: np.ndarray, y: np.ndarray, batch_size: int, stop: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, stop, batch_size):
        yield X[start : start + batch_size], y[start : start + batch_size]


def _stratified_test_rows(y: np.ndarray, n_test: int, rng: np.random.Generator) -> np.ndarray:
    """Rows for the test set with each class in the proportion it has in `y`."""
    classes, inverse, sizes = np.unique(y, return_inverse=True, return_counts=True)
    ideal = sizes * (n_test / len(y))
    take = np.floor(ideal).astype(np.int64)
    # Largest remainders get the rows that flooring left over, so the total is exact.
    leftover = n_test - int(take.sum())
    take[np.argsort(-(ideal - take), kind="stable")[:leftover]] += 1
    rows = [rng.permutation(np.flatnonzero(inverse == k))[: take[k]] for k in range(len(classes))]
    return np.concatenate(rows)


def train_test_split(
    X: Any, y: Any, test_fraction: float = 0.2, *, seed: Seed = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into ``(X_train, X_test, y_train, y_test)``, holding out `test_fraction` of rows.

    The test set has ``round(test_fraction * n)`` rows (at least one, and at least one row is
    left for training). With `stratify`, and when y holds class labels (integers, booleans
    or strings), every class keeps its proportion in both parts, so a small test set is not
    short of some class; real-valued targets are split at random. Both parts are shuffled.

    >>> X, y = np.arange(20).reshape(10, 2), np.array([0] * 5 + [1] * 5)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.4)
    >>> X_train.shape, X_test.shape, y_test.tolist()
    ((6, 2), (4, 2), [0, 1, 0, 1])
    >>> print(X_test[:, 0] // 2)  # the rows held out
    [2 9 4 6]
    """
    where = "train_test_split"
    X, y = pair(X, y, where)
    n = X.shape[0]
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"{where}: test_fraction must be strictly between 0 and 1, got {test_fraction}"
        )
    if n < 2:
        raise ValueError(f"{where}: need at least 2 examples to split, got {n}")
    rng = rng_from(seed, where)
    n_test = min(max(round(test_fraction * n), 1), n - 1)
    if stratify and y.ndim == 1 and y.dtype.kind in "biuUS":
        test = rng.permutation(_stratified_test_rows(y, n_test, rng))
    else:
        test = rng.permutation(n)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    train = rng.permutation(np.flatnonzero(~is_test))
    return X[train], X[test], y[train], y[test]
