"""chainrule.data: the shipped digits, the synthetic problems, splitting and batching."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from typing import Any

import numpy as np
import pytest

from chainrule import data

# --- load_digits ---------------------------------------------------------------------------


def test_digits_shapes_dtypes_and_range() -> None:
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    # Pixel counts 0..16 divided by 16: every value is an exact multiple of 1/16.
    assert np.array_equal(X * 16, np.round(X * 16))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert y[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_digits_first_image_pixels() -> None:
    X, _ = data.load_digits()
    first = (X[0] * 16).astype(int).reshape(8, 8)
    assert first.tolist() == [
        [0, 0, 5, 13, 9, 1, 0, 0],
        [0, 0, 13, 15, 10, 15, 5, 0],
        [0, 3, 15, 2, 0, 11, 8, 0],
        [0, 4, 12, 0, 0, 8, 8, 0],
        [0, 5, 8, 0, 0, 9, 8, 0],
        [0, 4, 11, 0, 1, 12, 7, 0],
        [0, 2, 14, 5, 10, 12, 0, 0],
        [0, 0, 6, 13, 10, 0, 0, 0],
    ]
    assert int((X * 16).astype(np.int64).sum()) == 561_718  # the sum of all pixel counts


def test_digits_fresh_arrays_and_dtype() -> None:
    X, y = data.load_digits()
    X[:] = -1.0
    y[:] = -1
    X2, y2 = data.load_digits(np.float64)
    assert X2.dtype == np.float64 and X2.min() == 0.0 and y2.min() == 0
    with pytest.raises(TypeError, match="floating-point"):
        data.load_digits(np.int32)


def test_digits_match_scikit_learn() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    X_ref, y_ref = datasets.load_digits(return_X_y=True)
    X, y = data.load_digits(np.float64)
    assert np.array_equal(X * 16, X_ref)
    assert np.array_equal(y, y_ref)


def test_digits_load_without_scikit_learn() -> None:
    code = (
        "import sys; from chainrule import data; X, y = data.load_digits(); "
        "print(X.shape, 'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "(1797, 64) False"


def test_digits_file_and_license_ship_in_the_package() -> None:
    folder = resources.files("chainrule.data")
    archive = folder.joinpath("digits.npz")
    assert archive.is_file()
    with archive.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["images", "labels"]
        assert npz["images"].dtype == np.uint8 and npz["images"].max() == 16
    text = folder.joinpath("DIGITS_LICENSE.txt").read_text()
    assert "CC BY 4.0" in text and "Alpaydin" in text and "Kaynak" in text
    assert "CC BY 4.0" in sys.modules[data.load_digits.__module__].__doc__


# --- synthetic problems --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "kwargs", "n", "features", "classes"),
    [
        (data.make_moons, {}, 200, 2, 2),
        (data.make_spirals, {}, 300, 2, 3),
        (data.make_blobs, {}, 300, 2, 3),
        (data.make_blobs, {"n_samples": 50, "centers": 4, "n_features": 5}, 50, 5, 4),
        (data.make_spirals, {"n_samples": 101, "n_classes": 4}, 101, 2, 4),
    ],
)
def test_classification_generators(make, kwargs, n, features, classes) -> None:
    X, y = make(**kwargs)
    assert X.shape == (n, features) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert len(counts) == classes and counts.max() - counts.min() <= 1
    X2, y2 = make(**kwargs)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = make(**kwargs, random_state=1)
    assert not np.array_equal(X, X3)
    assert make(**kwargs, dtype=np.float64)[0].dtype == np.float64
    # Shuffled: the first rows are not all one class.
    assert len(set(y[:20].tolist())) > 1


def test_moons_without_noise_lie_on_their_circles() -> None:
    X, y = data.make_moons(101, noise=0.0)
    upper, lower = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    assert (len(upper), len(lower)) == (50, 51)
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert upper[:, 1].min() >= -1e-7 and lower[:, 1].max() <= 0.5 + 1e-7


def test_spirals_without_noise() -> None:
    X, y = data.make_spirals(30, n_classes=3, noise=0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() == pytest.approx(1.0) and r.min() == 0.0
    # Each arm's point at radius 1 sits at angle 2πk/3 + 4 (measured from the y axis).
    for k in range(3):
        tip = X[(y == k)][np.argmax(r[y == k])]
        angle = 2 * np.pi * k / 3 + 4.0
        np.testing.assert_allclose(tip, [np.sin(angle), np.cos(angle)], atol=1e-6)


def test_blobs_given_centres() -> None:
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, -10.0]])
    X, y = data.make_blobs(5, centers=centres, cluster_std=0.0)
    assert np.array_equal(X, centres[y].astype(np.float32))
    assert np.bincount(y).tolist() == [3, 2]
    X, y = data.make_blobs(2000, centers=centres, cluster_std=0.5, random_state=3)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(0), centres[k], atol=0.06)
        np.testing.assert_allclose(X[y == k].std(0), 0.5, atol=0.03)
    with pytest.raises(ValueError, match="n_features=4 disagrees"):
        data.make_blobs(10, n_features=4, centers=centres)
    with pytest.raises(ValueError, match="shape"):
        data.make_blobs(10, centers=[1.0, 2.0])


def test_blobs_random_centres_in_box() -> None:
    X, _ = data.make_blobs(400, n_features=3, centers=5, cluster_std=0.0, random_state=7)
    centres = np.unique(X, axis=0)
    assert centres.shape == (5, 3) and np.abs(centres).max() <= 10.0


def test_make_linear() -> None:
    X, y, w, b = data.make_linear(100, n_features=3, noise=0.0, random_state=2)
    assert X.shape == (100, 3) and y.shape == (100,) and w.shape == (3,)
    assert X.dtype == y.dtype == w.dtype == np.float32 and isinstance(b, float)
    np.testing.assert_allclose(X @ w + b, y, rtol=1e-6, atol=1e-6)
    X, y, w, b = data.make_linear(5000, n_features=2, noise=0.5, random_state=2)
    residual = y - (X @ w + b)
    assert residual.std() == pytest.approx(0.5, rel=0.03)
    # Least squares recovers the true weights.
    A = np.c_[X, np.ones(len(X))].astype(np.float64)
    fit = np.linalg.lstsq(A, y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(fit, [*w, b], atol=0.02)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: data.make_moons(1), ValueError, "n_samples must be at least 2"),
        (lambda: data.make_moons(10, noise=-0.1), ValueError, "noise must be a finite number >= 0"),
        (lambda: data.make_moons(10.0), TypeError, "n_samples must be an int"),
        (lambda: data.make_moons(True), TypeError, "n_samples must be an int"),
        (lambda: data.make_moons(10, shuffle=1), TypeError, "shuffle must be True or False"),
        (lambda: data.make_spirals(10, n_classes=1), ValueError, "n_classes must be at least 2"),
        (lambda: data.make_blobs(0), ValueError, "n_samples must be at least 1"),
        (lambda: data.make_blobs(10, cluster_std="1"), TypeError, "cluster_std must be a real"),
        (lambda: data.make_blobs([1, 2], centers=3), ValueError, "2 cluster sizes but there are 3"),
        (lambda: data.make_blobs(9, cluster_std=[1, 2]), ValueError, "one per cluster"),
        (lambda: data.make_linear(10, n_features=0), ValueError, "n_features must be at least 1"),
        (lambda: data.make_moons(10, random_state=1.5), TypeError, "random_state must be an int"),
        (lambda: data.make_moons(10, dtype=np.int64), TypeError, "floating-point"),
    ],
)
def test_generator_errors(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_generators_accept_a_generator_as_seed() -> None:
    rng = np.random.default_rng(5)
    first, second = (
        data.make_moons(20, random_state=rng)[0],
        data.make_moons(20, random_state=rng)[0],
    )
    assert not np.array_equal(first, second)
    assert np.array_equal(first, data.make_moons(20, random_state=np.random.default_rng(5))[0])


# --- train_test_split ----------------------------------------------------------------------


def test_split_sizes_cover_and_disjoint() -> None:
    X = np.arange(100).reshape(50, 2)
    y = np.arange(50) % 3
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.3)
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (35, 15, 35, 15)
    rows = np.concatenate([X_train[:, 0], X_test[:, 0]]) // 2
    assert sorted(rows.tolist()) == list(range(50))
    # Features and labels stay paired.
    assert np.array_equal(y_train, (X_train[:, 0] // 2) % 3)
    assert np.array_equal(y_test, (X_test[:, 0] // 2) % 3)


def test_split_stratifies_exactly() -> None:
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    _, _, y_train, y_test = data.train_test_split(np.zeros((100, 1)), y, test_size=0.2, stratify=y)
    assert np.bincount(y_test).tolist() == [12, 6, 2]
    assert np.bincount(y_train).tolist() == [48, 24, 8]
    # Largest remainders: 7 classes of 3, 20% is 4.2 -> 5 rows (rounded up), from five classes.
    y = np.repeat(np.arange(7), 3)
    _, _, _, y_test = data.train_test_split(np.zeros((21, 1)), y, test_size=0.2, stratify=y)
    assert len(y_test) == 5 and np.bincount(y_test, minlength=7).max() == 1
    # With a train_size too, both parts keep the proportions and some rows are left out.
    y = np.array([0] * 40 + [1] * 20)
    _, _, y_train, y_test = data.train_test_split(y, y, test_size=0.25, train_size=0.5, stratify=y)
    assert np.bincount(y_train).tolist() == [20, 10] and np.bincount(y_test).tolist() == [10, 5]


def test_split_of_the_digits_keeps_class_balance() -> None:
    X, y = data.load_digits()
    _, X_test, _, y_test = data.train_test_split(X, y, test_size=0.2, stratify=y)
    assert len(X_test) == 360  # ceil(0.2 * 1797), as scikit-learn
    assert np.abs(np.bincount(y_test) - 0.2 * np.bincount(y)).max() < 1.0


def test_split_deterministic_and_seeded() -> None:
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    a = data.train_test_split(X, y, random_state=3)
    b = data.train_test_split(X, y, random_state=3)
    c = data.train_test_split(X, y, random_state=4)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_split_real_targets_and_no_stratify() -> None:
    X, y, _, _ = data.make_linear(10)
    _, X_test, _, y_test = data.train_test_split(X, y, test_size=0.5)
    assert len(X_test) == 5 and y_test.dtype == np.float32
    y = np.array([0] * 9 + [1])
    _, _, _, y_test = data.train_test_split(np.zeros((10, 1)), y, test_size=0.5, random_state=1)
    assert len(y_test) == 5


@pytest.mark.parametrize("n", [2, 3, 10, 101, 1797])
@pytest.mark.parametrize("test_size", [None, 0.1, 0.25, 1 / 3, 0.9, 1, 2])
@pytest.mark.parametrize("train_size", [None, 0.5, 1])
def test_split_sizes_are_scikit_learns(n: int, test_size: Any, train_size: Any) -> None:
    """The same sizes (and the same refusals) as scikit-learn, for fractions and counts."""
    sklearn = pytest.importorskip("sklearn.model_selection")
    options = {"test_size": test_size, "train_size": train_size}
    try:
        expected = [len(a) for a in sklearn.train_test_split(np.arange(n), **options)]
    except ValueError:
        with pytest.raises(ValueError, match="train_test_split: "):
            data.train_test_split(np.arange(n), **options)
        return
    assert [len(a) for a in data.train_test_split(np.arange(n), **options)] == expected


def test_split_any_number_of_arrays_and_in_order() -> None:
    a, b, c = np.arange(8), np.arange(8) * 10, np.arange(16).reshape(8, 2)
    parts = data.train_test_split(a, b, c, test_size=3, shuffle=False)
    assert [p.tolist() for p in parts[:4]] == [
        [0, 1, 2, 3, 4], [5, 6, 7], [0, 10, 20, 30, 40], [50, 60, 70]
    ]  # fmt: skip
    assert parts[5].tolist() == [[10, 11], [12, 13], [14, 15]]
    (train, test) = data.train_test_split(list(range(4)), test_size=1, shuffle=False)
    assert train.tolist() == [0, 1, 2] and test.tolist() == [3]


def test_split_tiny_and_errors() -> None:
    X_train, X_test, _, _ = data.train_test_split(np.arange(2), np.arange(2), test_size=0.01)
    assert (len(X_train), len(X_test)) == (1, 1)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        data.train_test_split(np.zeros(10), np.zeros(10), test_size=1.0)
    with pytest.raises(ValueError, match="at least one row"):
        data.train_test_split(np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="same number of examples"):
        data.train_test_split(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(TypeError, match="at least one array"):
        data.train_test_split()
    with pytest.raises(ValueError, match="stratify needs shuffle=True"):
        data.train_test_split(np.zeros(4), shuffle=False, stratify=np.zeros(4))
    with pytest.raises(ValueError, match="class 1 of stratify has a single member"):
        data.train_test_split(np.zeros(5), stratify=np.array([0, 0, 0, 0, 1]))
    with pytest.raises(ValueError, match="one label per example"):
        data.train_test_split(np.zeros(5), stratify=np.zeros(4))
    with pytest.raises(TypeError, match="test_size must be an int, a float or None"):
        data.train_test_split(np.zeros(5), test_size="half")


# --- batches -------------------------------------------------------------------------------


def test_batches_in_order() -> None:
    X, y = np.arange(14.0).reshape(7, 2), np.arange(7)
    out = list(data.batches(X, y, 3, shuffle=False))
    assert [b.tolist() for _, b in out] == [[0, 1, 2], [3, 4, 5], [6]]
    assert np.array_equal(out[0][0], X[:3])
    assert [b.tolist() for _, b in data.batches(X, y, 3, shuffle=False, drop_last=True)] == [
        [0, 1, 2],
        [3, 4, 5],
    ]
    assert [len(b) for _, b in data.batches(X, y, 100)] == [7]


def test_batches_shuffle_covers_once_and_keeps_pairs() -> None:
    X, y = np.arange(200.0).reshape(100, 2), np.arange(100)
    seen = []
    for xb, yb in data.batches(X, y, 16, seed=0):
        assert np.array_equal(xb[:, 0], 2 * yb)
        seen.extend(yb.tolist())
    assert sorted(seen) == list(range(100)) and seen != list(range(100))


def test_batches_seed_and_generator() -> None:
    X, y = np.zeros((10, 1)), np.arange(10)

    def order(**kw: Any) -> list[int]:
        return np.concatenate([b for _, b in data.batches(X, y, 4, **kw)]).tolist()

    assert order(seed=1) == order(seed=1)
    assert order(seed=1) != order(seed=2)
    rng = np.random.default_rng(0)
    epochs = [order(seed=rng) for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    rng = np.random.default_rng(0)
    assert [order(seed=rng) for _ in range(3)] == epochs


def test_batches_errors_at_the_call() -> None:
    X, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        data.batches(X, y, 0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        data.batches(X, y, 2.5)
    with pytest.raises(ValueError, match="same number of examples"):
        data.batches(X, np.zeros(9), 2)
    with pytest.raises(ValueError, match="no batch at all"):
        data.batches(X, y, 11, drop_last=True)
    with pytest.raises(TypeError, match="seed must be"):
        data.batches(X, y, 2, seed="0")
    with pytest.raises(ValueError, match="scalar"):
        data.batches(np.float32(1.0), y, 2)
