"""Splitting a data set in two, and walking through it in mini-batches.

Randomness is explicit: pass an int seed for a fixed order, or a ``numpy.random.Generator``
to get a new order on every call (as a training loop wants each epoch) that is still the
same from run to run.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._validate import flag
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


def _split_sizes(n: int, test_size: Any, train_size: Any, where: str) -> tuple[int, int]:
    """``(n_test, n_train)`` as scikit-learn: a float is a fraction, an int a row count.

    A fractional test set is rounded up, a fractional training set down; a size left out
    is the rest (the test set is a quarter when both are). Both parts must be non-empty.
    """
    if test_size is None and train_size is None:
        test_size = 0.25
    sizes = {}
    for name, size in (("test_size", test_size), ("train_size", train_size)):
        if size is None:
            continue
        if isinstance(size, bool) or not isinstance(size, numbers.Real):
            raise TypeError(f"{where}: {name} must be an int, a float or None, got {size!r}.")
        integral, value = isinstance(size, numbers.Integral), float(size)
        if not (0 < value < n if integral else 0.0 < value < 1.0):
            raise ValueError(
                f"{where}: {name}={size!r} must be a number of rows between 1 and {n - 1} "
                "(an int) or a fraction strictly between 0 and 1 (a float)."
            )
        round_to_int = math.ceil if name == "test_size" else math.floor
        sizes[name] = int(value) if integral else round_to_int(value * n)
    n_test = sizes.get("test_size", n - sizes.get("train_size", 0))
    n_train = sizes.get("train_size", n - n_test)
    if n_train < 1 or n_test < 1 or n_train + n_test > n:
        raise ValueError(
            f"{where}: with {n} samples, test_size={test_size!r} and train_size="
            f"{train_size!r} give {n_test} test and {n_train} training rows; both parts need "
            f"at least one row and together at most {n}. Adjust test_size or train_size."
        )
    return n_test, n_train


def _allocate(available: np.ndarray, total: int) -> np.ndarray:
    """`total` rows shared among classes in proportion to `available`, by largest remainders."""
    ideal = available * (total / available.sum())
    take = np.floor(ideal).astype(np.int64)
    leftover = total - int(take.sum())
    take[np.argsort(-(ideal - take), kind="stable")[:leftover]] += 1
    return take


def _stratified(
    labels: np.ndarray, n_test: int, n_train: int, rng: np.random.Generator, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """Training and (shuffled) test rows with each class in its proportion in `labels`."""
    if labels.ndim != 1 and labels.ndim != 2:
        raise ValueError(f"{where}: stratify must be 1-D labels, got shape {labels.shape}.")
    rows_of = labels if labels.ndim == 1 else np.unique(labels, axis=0, return_inverse=True)[1]
    classes, inverse, sizes = np.unique(rows_of, return_inverse=True, return_counts=True)
    if sizes.min() < 2:
        rare = classes[np.argmin(sizes)].tolist()
        raise ValueError(
            f"{where}: class {rare!r} of stratify has a single member; every class needs at "
            "least 2 to be split in proportion. Merge rare classes or pass stratify=None."
        )
    members = [rng.permutation(np.flatnonzero(inverse == k)) for k in range(len(classes))]
    test_take = _allocate(sizes, n_test)
    train_take = _allocate(sizes - test_take, n_train)
    test = np.concatenate([m[:t] for m, t in zip(members, test_take, strict=True)])
    train = np.concatenate(
        [m[t : t + r] for m, t, r in zip(members, test_take, train_take, strict=True)]
    )
    return train, rng.permutation(test)


def train_test_split(
    *arrays: Any,
    test_size: float | int | None = None,
    train_size: float | int | None = None,
    random_state: Seed = 0,
    shuffle: bool = True,
    stratify: Any = None,
) -> list[np.ndarray]:
    """Split arrays into a training and a test part: ``X_train, X_test, y_train, y_test``.

    scikit-learn's ``train_test_split``: every array (same number of rows) gives its
    training rows, then its test rows. `test_size` and `train_size` are fractions (floats
    in (0, 1); the test fraction is rounded up, the training one down) or row counts
    (ints); one left out is the rest, and the test set is a quarter when both are. With
    ``shuffle=False`` the first rows train and the next ones test. `stratify`, an array of
    class labels (usually y), keeps each class's proportion in both parts. `random_state`
    is an int seed (0 by default, so a split is reproducible; scikit-learn's default None
    draws fresh randomness), a ``numpy.random.Generator`` or None.

    >>> X, y = np.arange(20).reshape(10, 2), np.array([0] * 5 + [1] * 5)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, stratify=y)
    >>> X_train.shape, X_test.shape, sorted(y_test.tolist())
    ((6, 2), (4, 2), [0, 0, 1, 1])
    >>> [a.tolist() for a in train_test_split(np.arange(5), test_size=2, shuffle=False)]
    [[0, 1, 2], [3, 4]]
    """
    where = "train_test_split"
    if not arrays:
        raise TypeError(f"{where}: give at least one array to split.")
    arrays = tuple(np.asarray(a) for a in arrays)
    if any(a.ndim == 0 for a in arrays):
        raise ValueError(f"{where}: every array must hold one example per row, got a scalar.")
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        lengths = [a.shape[0] for a in arrays]
        raise ValueError(
            f"{where}: the arrays must have the same number of examples (rows), got {lengths}."
        )
    n_test, n_train = _split_sizes(n, test_size, train_size, where)
    if not flag(shuffle, "shuffle", where):
        if stratify is not None:
            raise ValueError(
                f"{where}: stratify needs shuffle=True (a split in order cannot keep the "
                "class proportions)."
            )
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    else:
        rng = rng_from(random_state, where, "random_state")
        if stratify is None:
            order = rng.permutation(n)
            train, test = order[n_test : n_test + n_train], order[:n_test]
        else:
            labels = np.asarray(stratify)
            if labels.shape[:1] != (n,):
                raise ValueError(
                    f"{where}: stratify must have one label per example ({n}), got shape "
                    f"{labels.shape}."
                )
            train, test = _stratified(labels, n_test, n_train, rng, where)
        train = rng.permutation(np.sort(train))  # classes mixed, whichever way chosen
    return [part for a in arrays for part in (a[train], a[test])]
