"""Data to train on without a download, and the plumbing to feed it to a model.

- `load_digits`: 1,797 8x8 handwritten digits (UCI, Alpaydin and Kaynak 1998, CC BY 4.0),
  shipped with the package.
- `make_moons`, `make_spirals`, `make_blobs`, `make_linear`: seeded synthetic problems.
- `train_test_split` and `batches`: hold out a test set; iterate in shuffled mini-batches.

Names and keywords are scikit-learn's (``n_samples``, ``noise``, ``random_state``,
``test_size``, ``stratify``...), with the same meaning; ``random_state`` is 0 by default so
that examples are reproducible. Arrays are plain ``numpy.ndarray``: float32 features, int64
class labels.

>>> from chainrule import data
>>> X, y = data.make_moons(100, random_state=0)
>>> X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, stratify=y)
>>> [x.shape for x, _ in data.batches(X_train, y_train, batch_size=32, seed=0)]
[(32, 2), (32, 2), (11, 2)]
"""

from .batching import batches, train_test_split
from .digits import load_digits
from .synthetic import make_blobs, make_linear, make_moons, make_spirals

__all__ = [
    "batches",
    "load_digits",
    "make_blobs",
    "make_linear",
    "make_moons",
    "make_spirals",
    "train_test_split",
]
