"""The 8x8 handwritten digits, shipped inside the package so that examples need no download.

1,797 grey-level images of the digits 0 to 9 (about 180 of each), each 8x8 pixels counting
how many of 16 pixels of a 32x32 bitmap were on. They are the test set of the "Optical
Recognition of Handwritten Digits" data set of the UCI Machine Learning Repository, by
E. Alpaydin and C. Kaynak (1998), licensed CC BY 4.0 (see ``DIGITS_LICENSE.txt`` next to
this module); the same images scikit-learn ships as ``load_digits``, stored here as
``digits.npz`` (``images``: uint8, 1797x64, values 0..16; ``labels``: uint8), read with
NumPy alone and without pickles.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

__all__ = ["load_digits"]


@functools.lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    archive = resources.files("chainrule.data").joinpath("digits.npz")
    with archive.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        images, labels = npz["images"], npz["labels"]
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def load_digits(dtype: type | np.dtype = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The digits as ``(X, y)``: pixels scaled to [0, 1] (divided by 16), integer labels.

    X has shape (1797, 64), one flattened 8x8 image per row (``X[i].reshape(8, 8)`` to see
    it), in `dtype` (float32 unless told); y is int64 in 0..9. Fresh arrays on every call.

    >>> X, y = load_digits()
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((1797, 64), dtype('float32'), (1797,), dtype('int64'))
    >>> print(X.min(), X.max(), y[:10])
    0.0 1.0 [0 1 2 3 4 5 6 7 8 9]
    >>> (X[0].reshape(8, 8) * 16).astype(int)[1]
    array([ 0,  0, 13, 15, 10, 15,  5,  0])
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(
            f"load_digits: dtype must be a floating-point type (pixels are scaled to [0, 1]), "
            f"got {dtype}"
        )
    images, labels = _raw()
    return images.astype(dtype) / dtype.type(16.0), labels.astype(np.int64)
