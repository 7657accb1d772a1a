"""chainrule.train: accuracy, train_step, evaluate and fit (history, early stopping, progress)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import data, io, nn, train
from chainrule.scipy import special


class Affine(nn.Module):
    """A hand-written linear model: ``x @ weight + bias``."""

    weight: np.ndarray
    bias: np.ndarray

    def __call__(self, x: Any) -> Any:
        return x @ self.weight + self.bias


class TwoLayer(nn.Module):
    """A hand-written tanh MLP, independent of chainrule.nn's layers."""

    hidden: Affine
    out: Affine

    def __call__(self, x: Any) -> Any:
        return self.out(cnp.tanh(self.hidden(x)))


def affine(n_in: int, n_out: int, rng: np.random.Generator, scale: float = 1.0) -> Affine:
    w = rng.standard_normal((n_in, n_out)) * (scale / np.sqrt(n_in))
    return Affine(w.astype(np.float32), np.zeros(n_out, np.float32))


def two_layer(n_in: int, hidden: int, n_out: int, seed: int = 0) -> TwoLayer:
    rng = np.random.default_rng(seed)
    return TwoLayer(affine(n_in, hidden, rng), affine(hidden, n_out, rng))


class SGD:
    """Plain gradient descent in the optimizer protocol; the state counts steps."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def init(self, params: Any) -> int:
        return 0

    def step(self, grads: Any, state: int, params: Any) -> tuple[Any, int]:
        return cr.tree.map(lambda p, g: p - self.lr * g, params, grads), state + 1


def xent(model: Any, x: Any, y: Any) -> Any:
    """Mean softmax cross-entropy, written with the public API only."""
    logits = model(x)
    picked = cnp.sum(logits * (y[:, None] == cnp.arange(logits.shape[-1])), axis=-1)
    return cnp.mean(special.logsumexp(logits, axis=-1) - picked)


def mse(model: Any, x: Any, y: Any) -> Any:
    return cnp.mean((model(x)[:, 0] - y) ** 2)


def acc(model: Any, x: Any, y: Any) -> float:
    return train.accuracy(model(x), y)


def leaves_equal(a: Any, b: Any) -> bool:
    return all(
        np.array_equal(p, q) for p, q in zip(cr.tree.leaves(a), cr.tree.leaves(b), strict=True)
    )


# --- accuracy ------------------------------------------------------------------------------


def test_accuracy_multiclass_binary_and_one_hot() -> None:
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [0.0, 1.0, 0.0]])
    assert train.accuracy(logits, np.array([0, 1, 2, 0])) == 0.75
    assert train.accuracy(logits, np.eye(3)[[0, 1, 1, 1]]) == 0.75
    assert train.accuracy(np.array([[-1.0], [2.0], [0.5]]), np.array([[0], [1], [0]])) == 2 / 3
    assert train.accuracy(np.array([-1.0, 2.0]), np.array([False, True])) == 1.0
    assert isinstance(train.accuracy(logits, np.zeros(4, int)), float)


def test_accuracy_errors() -> None:
    with pytest.raises(ValueError, match="do not match logits"):
        train.accuracy(np.zeros((4, 3)), np.zeros(5, int))
    with pytest.raises(ValueError, match="batch of logits"):
        train.accuracy(np.zeros((0, 3)), np.zeros(0, int))


# --- train_step and evaluate ---------------------------------------------------------------


def test_train_step_exact() -> None:
    model = Affine(np.array([[1.0], [2.0]]), np.array([0.5]))
    x, y = np.array([[1.0, 1.0], [2.0, 0.0]]), np.array([1.0, 2.0])
    new, state, loss = train.train_step(model, 0, SGD(0.1), mse, x, y)
    # residuals: 3.5 - 1 = 2.5 and 2.5 - 2 = 0.5; loss (6.25 + 0.25) / 2
    assert loss == 3.25 and isinstance(loss, float) and state == 1
    # d/dw = mean(2 r x) = [2.5 + 1.0, 2.5], d/db = mean(2 r) = 3.0
    np.testing.assert_allclose(new.weight[:, 0], [1.0 - 0.35, 2.0 - 0.25])
    np.testing.assert_allclose(new.bias, [0.5 - 0.3])
    assert model.weight[0, 0] == 1.0  # the old model is untouched


def test_train_step_clips_the_global_norm() -> None:
    pytest.importorskip("chainrule.optim")
    model = Affine(np.array([[0.0]]), np.array([0.0]))
    x, y = np.array([[1.0]]), np.array([10.0])
    # gradient: d/dw = d/db = 2 * (0 - 10) = -20; global norm 20 * sqrt(2)
    new, _, _ = train.train_step(model, 0, SGD(1.0), mse, x, y, clip_norm=1.0)
    np.testing.assert_allclose(new.weight[0, 0], 1 / np.sqrt(2), rtol=1e-5)
    np.testing.assert_allclose(new.bias[0], 1 / np.sqrt(2), rtol=1e-5)
    with pytest.raises(ValueError, match="train_step: clip_norm must be a finite number > 0"):
        train.train_step(model, 0, SGD(1.0), mse, x, y, clip_norm=0.0)


def test_train_step_passes_rng_to_the_loss() -> None:
    seen = []

    def loss(model: Any, x: Any, y: Any, rng: Any = None) -> Any:
        seen.append(rng)
        return mse(model, x, y)

    model = Affine(np.zeros((1, 1)), np.zeros(1))
    rng = np.random.default_rng(0)
    train.train_step(model, 0, SGD(0.1), loss, np.ones((2, 1)), np.ones(2), rng=rng)
    train.train_step(model, 0, SGD(0.1), loss, np.ones((2, 1)), np.ones(2))
    assert seen == [rng, None]


def test_evaluate_exact_and_batched() -> None:
    model = Affine(np.array([[2.0]]), np.array([0.0]))
    X, y = np.arange(5.0)[:, None], np.array([0.0, 2.0, 4.0, 6.0, 10.0])
    whole = train.evaluate(model, mse, (X, y), {"max": lambda m, x, t: np.max(m(x)[:, 0] - t)})
    assert whole == {"loss": 0.8, "max": 0.0}  # squared errors 0, 0, 0, 0, 4
    batched = train.evaluate(model, mse, (X, y), batch_size=2)
    assert batched == {"loss": 0.8}  # batch means 0, 0, 4 weighted by sizes 2, 2, 1
    assert train.evaluate(model, None, (X, y), {"acc": lambda m, x, t: 1.0}) == {"acc": 1.0}
    with pytest.raises(ValueError, match="same number of examples"):
        train.evaluate(model, mse, (X, y[:3]))


# --- fit -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moons() -> tuple[np.ndarray, ...]:
    X, y = data.make_moons(400, noise=0.1, random_state=0)
    return data.train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_fit_hand_written_mlp_on_moons(moons: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = moons
    model, _, history = train.fit(
        two_layer(2, 16, 2),
        xent,
        SGD(0.5),
        (X_train, y_train),
        epochs=40,
        batch_size=16,
        val_data=(X_test, y_test),
        metrics={"accuracy": acc},
        progress=False,
    )
    assert history["val_accuracy"][-1] >= 0.97
    assert history["train_accuracy"][-1] >= 0.97
    assert history["loss"][-1] < 0.1 < history["loss"][0]
    assert train.evaluate(model, xent, (X_test, y_test), {"accuracy": acc}) == {
        "loss": history["val_loss"][-1],
        "accuracy": history["val_accuracy"][-1],
    }


def test_fit_linear_model_on_blobs() -> None:
    X, y = data.make_blobs(300, centers=3, random_state=1)
    model = affine(2, 3, np.random.default_rng(0))
    model, _, history = train.fit(
        model, xent, SGD(0.1), (X, y), epochs=5, metrics={"accuracy": acc}, progress=False
    )
    assert history["train_accuracy"][-1] == 1.0


def test_fit_with_nn_and_optim(moons: tuple[np.ndarray, ...]) -> None:
    optim = pytest.importorskip("chainrule.optim")
    X_train, X_test, y_train, y_test = moons
    model, _, history = train.fit(
        nn.MLP([2, 32, 32, 2], rng=0),
        lambda m, x, y: nn.cross_entropy(m(x), y),
        optim.Adam(lr=0.01),
        (X_train, y_train),
        epochs=20,
        val_data=(X_test, y_test),
        metrics={"accuracy": acc},
        clip_norm=5.0,
        progress=False,
    )
    assert history["val_accuracy"][-1] >= 0.99
    assert all(leaf.dtype == np.float32 for leaf in cr.tree.leaves(model))


def test_fit_regression_recovers_the_line() -> None:
    X, y, true_w, true_b = data.make_linear(256, n_features=3, noise=0.01, random_state=4)
    model = Affine(np.zeros((3, 1), np.float32), np.zeros(1, np.float32))
    model, _, history = train.fit(model, mse, SGD(0.1), (X, y), epochs=30, progress=False)
    np.testing.assert_allclose(model.weight[:, 0], true_w, atol=0.01)
    np.testing.assert_allclose(model.bias[0], true_b, atol=0.01)
    assert history["loss"][-1] < 2e-4


def test_history_keys_lengths_and_json(moons: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = moons
    _, _, history = train.fit(
        two_layer(2, 4, 2),
        xent,
        SGD(0.1),
        (X_train, y_train),
        epochs=3,
        val_data=(X_test, y_test),
        metrics={"accuracy": acc, "zero": lambda m, x, y: 0},
        progress=False,
    )
    assert list(history) == [
        "epoch",
        "loss",
        "train_accuracy",
        "train_zero",
        "val_loss",
        "val_accuracy",
        "val_zero",
    ]
    assert history["epoch"] == [1, 2, 3]
    assert all(len(v) == 3 for v in history.values())
    assert all(type(v) is float for key, vs in history.items() if key != "epoch" for v in vs)
    assert json.loads(json.dumps(history)) == history
    _, _, plain = train.fit(
        two_layer(2, 4, 2), xent, SGD(0.1), (X_train, y_train), epochs=2, progress=False
    )
    assert list(plain) == ["epoch", "loss"]


def test_fit_loss_is_the_epoch_mean_of_batch_losses() -> None:
    X, y = np.arange(5.0)[:, None], np.arange(5.0)
    model = Affine(np.zeros((1, 1)), np.zeros(1))
    _, _, history = train.fit(model, mse, SGD(0.0), (X, y), epochs=1, batch_size=2, progress=False)
    assert history["loss"] == [6.0]  # mean of y**2 over all rows: (0 + 1 + 4 + 9 + 16) / 5


def test_fit_is_deterministic_per_seed(moons: tuple[np.ndarray, ...]) -> None:
    X_train, _, y_train, _ = moons

    def run(seed: int) -> train.FitResult:
        return train.fit(
            two_layer(2, 8, 2),
            xent,
            SGD(0.3),
            (X_train, y_train),
            epochs=3,
            seed=seed,
            progress=False,
        )

    (m1, _, h1), (m2, _, h2), (_, _, h3) = run(0), run(0), run(1)
    assert h1 == h2 and leaves_equal(m1, m2)
    assert h1["loss"] != h3["loss"]


def test_dropout_gets_a_seeded_rng_in_training(moons: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = moons
    received = []

    def loss(model: Any, x: Any, y: Any, rng: Any = None) -> Any:
        received.append(rng)
        h = model.hidden(x)
        if rng is not None:  # inverted dropout, written here
            h = h * (rng.random(h.shape) >= 0.2) / 0.8
        return xent(Affine(model.out.weight, model.out.bias), cnp.tanh(h), y)

    def run() -> dict:
        received.clear()
        return train.fit(
            two_layer(2, 8, 2),
            loss,
            SGD(0.3),
            (X_train, y_train),
            epochs=2,
            val_data=(X_test, y_test),
            progress=False,
        ).history

    first = run()
    training = [r for r in received if r is not None]
    assert len(training) == 2 * 10 and len({id(r) for r in training}) == 1
    assert isinstance(training[0], np.random.Generator)
    assert received.count(None) == 2  # one validation pass per epoch, without rng
    assert run() == first


def test_early_stopping_stops_and_restores_the_best(moons: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = moons
    # Validating against flipped labels: the better the model, the worse val_loss, so
    # epoch 1 is the best and training stops `patience` epochs later.
    flipped = (X_test, 1 - y_test)
    fit_args = (xent, SGD(0.3), (X_train, y_train))
    model, _, history = train.fit(
        two_layer(2, 8, 2), *fit_args, epochs=20, val_data=flipped, patience=2, progress=False
    )
    assert history["epoch"] == [1, 2, 3]
    assert history["val_loss"][0] == min(history["val_loss"])
    one_epoch, _, _ = train.fit(two_layer(2, 8, 2), *fit_args, epochs=1, progress=False)
    assert leaves_equal(model, one_epoch)


def test_patience_keeps_training_while_improving(moons: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = moons
    model, _, history = train.fit(
        two_layer(2, 8, 2),
        xent,
        SGD(0.3),
        (X_train, y_train),
        epochs=5,
        val_data=(X_test, y_test),
        patience=1,
        progress=False,
    )
    assert history["epoch"] == [1, 2, 3, 4, 5]
    assert train.evaluate(model, xent, (X_test, y_test))["loss"] == min(history["val_loss"])


def test_on_epoch_end_sees_history_and_can_stop(moons: tuple[np.ndarray, ...]) -> None:
    X_train, _, y_train, _ = moons
    calls = []

    def on_epoch_end(epoch: int, history: dict, model: Any, opt_state: Any) -> bool:
        calls.append((epoch, len(history["loss"])))
        return epoch == 2

    _, _, history = train.fit(
        two_layer(2, 4, 2),
        xent,
        SGD(0.1),
        (X_train, y_train),
        epochs=10,
        progress=False,
        on_epoch_end=on_epoch_end,
    )
    assert calls == [(1, 1), (2, 2)] and history["epoch"] == [1, 2]


def test_progress_false_prints_nothing(
    moons: tuple[np.ndarray, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    X_train, X_test, y_train, y_test = moons
    train.fit(
        two_layer(2, 4, 2),
        xent,
        SGD(0.1),
        (X_train, y_train),
        epochs=2,
        val_data=(X_test, y_test),
        metrics={"accuracy": acc},
        patience=1,
        progress=False,
    )
    assert capsys.readouterr() == ("", "")


def test_progress_bar_shows_epoch_batch_and_loss(
    moons: tuple[np.ndarray, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    X_train, _, y_train, _ = moons

    def report(epoch: int, history: dict, *_: Any) -> None:
        print(f"done {epoch}")

    train.fit(
        two_layer(2, 4, 2),
        xent,
        SGD(0.1),
        (X_train, y_train),
        epochs=2,
        batch_size=100,
        on_epoch_end=report,
    )
    out, err = capsys.readouterr()
    assert out == "done 1\ndone 2\n"
    assert "epoch 2/2" in err and "6/6" in err and "loss " in err


def test_non_finite_loss_is_an_error() -> None:
    X, y = np.ones((4, 1)), np.array([1.0, 1.0, 1.0, np.inf])
    model = Affine(np.zeros((1, 1)), np.zeros(1))
    with pytest.raises(FloatingPointError, match="loss became inf at epoch 1, batch 2"):
        train.fit(model, mse, SGD(0.1), (X, y), epochs=1, batch_size=2, seed=0, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"train_data": (np.zeros((10, 2)), np.zeros(9))}, ValueError, "same number of examples"),
        ({"val_data": (np.zeros((3, 2)), np.zeros(4))}, ValueError, r"fit \(val_data\)"),
        ({"train_data": np.zeros((10, 2))}, TypeError, r"train_data must be a pair \(X, y\)"),
        ({"train_data": (np.zeros((0, 2)), np.zeros(0))}, ValueError, "has no examples"),
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
        ({"batch_size": 8.0}, TypeError, "batch_size must be an int"),
        ({"epochs": 0}, ValueError, "epochs must be at least 1"),
        ({"patience": 2}, ValueError, "needs val_data"),
        ({"metrics": {"loss": acc}}, ValueError, "other than 'loss'"),
        ({"metrics": [acc]}, TypeError, "metrics must be a dict"),
        ({"optimizer": object()}, TypeError, "optimizer must have init"),
        ({"loss_fn": 3}, TypeError, "loss_fn must be callable"),
        ({"clip_norm": -1.0}, ValueError, "fit: clip_norm must be a finite number > 0"),
        ({"clip_norm": "1"}, TypeError, "fit: clip_norm must be a real number, got '1'"),
        ({"progress": "no"}, TypeError, "fit: progress must be True or False, got 'no'"),
        ({"seed": 0.5}, TypeError, "seed must be an int"),
    ],
)
def test_fit_errors(kwargs: dict, error: type, message: str) -> None:
    args = {
        "model": Affine(np.zeros((2, 1)), np.zeros(1)),
        "loss_fn": mse,
        "optimizer": SGD(0.1),
        "train_data": (np.zeros((10, 2)), np.zeros(10)),
        "progress": False,
    }
    args.update(kwargs)
    with pytest.raises(error, match=message):
        train.fit(**args)


def test_fit_trains_nn_dropout_deterministically(moons: tuple[np.ndarray, ...]) -> None:
    optim = pytest.importorskip("chainrule.optim")
    X_train, X_test, y_train, y_test = moons

    def loss(model: Any, x: Any, y: Any, rng: Any = None) -> Any:
        return nn.cross_entropy(model(x, rng=rng), y)

    def run() -> train.FitResult:
        model = nn.Sequential(
            nn.Linear(2, 32, rng=0), nn.relu, nn.Dropout(0.2), nn.Linear(32, 2, rng=1)
        )
        return train.fit(
            model,
            loss,
            optim.Adam(lr=0.02),
            (X_train, y_train),
            epochs=15,
            val_data=(X_test, y_test),
            metrics={"accuracy": acc},
            progress=False,
        )

    (m1, _, h1), (m2, _, h2) = run(), run()
    assert h1 == h2 and leaves_equal(m1, m2)
    assert h1["val_accuracy"][-1] >= 0.95
    # Training saw dropout (a random loss), evaluation did not: the training-set metric,
    # computed without rng, is deterministic given the model.
    assert train.evaluate(m1, loss, (X_test, y_test))["loss"] == h1["val_loss"][-1]


def test_fit_leaves_the_callers_model_untouched() -> None:
    # fit updates its own copy in place with a chainrule optimizer; the argument must not change
    from chainrule import nn, optim

    X, y = data.make_moons(64, random_state=1)
    model = nn.MLP([2, 8, 2], rng=0)
    before = [leaf.copy() for leaf in cr.tree.leaves(model)]
    trained, _, _ = train.fit(model, xent, optim.Adam(1e-2), (X, y), epochs=2, progress=False)
    for leaf, saved in zip(cr.tree.leaves(model), before, strict=True):
        np.testing.assert_array_equal(leaf, saved)
    assert not all(
        np.array_equal(a, b) for a, b in zip(cr.tree.leaves(trained), before, strict=True)
    )


# --- optimizer state, checkpoints and resuming ---------------------------------------------


def blobs(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes in 2-D, drawn here so that a subprocess can draw the same."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return rng.standard_normal((n, 2)) + 2.0 * y[:, None], y


def net64() -> TwoLayer:
    """`two_layer` in float64, as the float64 data: no dtype changes while training."""
    return cr.tree.map(lambda a: a.astype(np.float64), two_layer(2, 4, 2))


def test_fit_returns_and_takes_the_optimizer_state() -> None:
    X, y = blobs()
    model = two_layer(2, 4, 2)
    result = train.fit(model, xent, SGD(0.1), (X, y), epochs=2, batch_size=40, progress=False)
    assert isinstance(result, train.FitResult) and result.opt_state == 2 * 3  # steps taken
    model2, state, history = result
    assert model2 is result.model and history is result.history
    more = train.fit(
        model2, xent, SGD(0.1), (X, y), epochs=1, batch_size=40, opt_state=state, progress=False
    )
    assert more.opt_state == 2 * 3 + 3


def test_fit_leaves_the_callers_optimizer_state_untouched() -> None:
    from chainrule import optim

    X, y = blobs()
    model = nn.MLP([2, 8, 2], rng=0)
    opt = optim.Adam(1e-2)
    state = opt.init(model)
    before = [leaf.copy() for leaf in cr.tree.leaves(state)]
    _, after, _ = train.fit(model, xent, opt, (X, y), epochs=1, opt_state=state, progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(cr.tree.leaves(state), before, strict=True))
    assert int(after.step) == int(np.ceil(len(X) / 32))


def test_on_epoch_end_receives_the_model_and_the_optimizer_state() -> None:
    X, y = blobs()
    seen = []

    def on_epoch_end(epoch: int, history: dict, model: Any, opt_state: Any) -> None:
        seen.append((epoch, opt_state, cr.tree.map(np.copy, model)))

    model, _, _ = train.fit(
        two_layer(2, 4, 2),
        xent,
        SGD(0.1),
        (X, y),
        epochs=2,
        batch_size=40,
        progress=False,
        on_epoch_end=on_epoch_end,
    )
    assert [(e, s) for e, s, _ in seen] == [(1, 3), (2, 6)]
    assert leaves_equal(seen[-1][2], model)


def test_progress_uses_tqdm_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    import tqdm.auto

    made = []

    class Bar(tqdm.auto.tqdm):  # type: ignore[misc, name-defined]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(kwargs)
            super().__init__(*args, disable=True, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    X, y = blobs()
    train.fit(two_layer(2, 4, 2), xent, SGD(0.1), (X, y), epochs=1, batch_size=40)
    assert made and made[0]["total"] == 3


def test_nan_validation_loss_is_never_an_improvement() -> None:
    X, y = blobs()
    Xv, yv = blobs(30, seed=1)
    now = {"epoch": 1, "nan_from": 2}  # the validation loss is NaN from epoch nan_from on

    def loss(model: Any, x: Any, y: Any) -> Any:
        value = xent(model, x, y)
        validating = len(x) == len(Xv)
        return value * np.nan if validating and now["epoch"] >= now["nan_from"] else value

    def next_epoch(epoch: int, *_: Any) -> None:
        now["epoch"] = epoch + 1

    def run(epochs: int, patience: int | None = None) -> train.FitResult:
        now["epoch"] = 1
        return train.fit(
            two_layer(2, 4, 2),
            loss,
            SGD(0.1),
            (X, y),
            epochs=epochs,
            batch_size=40,
            val_data=(Xv, yv),
            patience=patience,
            progress=False,
            on_epoch_end=next_epoch,
        )

    # Epoch 1 is finite and best; epochs 2 and 3 are NaN: patience 2 stops after epoch 3
    # and returns the model of epoch 1.
    model, _, history = run(10, patience=2)
    assert history["epoch"] == [1, 2, 3] and np.isnan(history["val_loss"][1:]).all()
    assert leaves_equal(model, run(1).model)
    # Never finite: the last model comes back after `patience` epochs.
    now["nan_from"] = 0
    model, _, history = run(10, patience=3)
    assert history["epoch"] == [1, 2, 3] and np.isnan(history["val_loss"]).all()
    assert leaves_equal(model, run(3).model)


def dropout_loss(model: Any, x: Any, y: Any, rng: Any = None) -> Any:
    return nn.cross_entropy(model(x, rng=rng), y)


def dropout_net() -> Any:
    return nn.Sequential(nn.Linear(2, 16, rng=0), nn.relu, nn.Dropout(0.3), nn.Linear(16, 2, rng=1))


def fit_dropout(epochs: int, **kwargs: Any) -> train.FitResult:
    """Adam (updated in place), dropout (a random loss), metrics and patience: every piece
    of state that a resumed run must restore."""
    from chainrule import optim

    X, y = blobs()
    Xv, yv = blobs(40, seed=1)
    return train.fit(
        dropout_net(),
        dropout_loss,
        optim.Adam(optim.schedules.cosine(0.05, 5 * 4)),
        (X.astype(np.float32), y),
        epochs=epochs,
        batch_size=32,
        val_data=(Xv.astype(np.float32), yv),
        metrics={"accuracy": acc},
        patience=10,
        seed=3,
        progress=False,
        **kwargs,
    )


def same_result(a: train.FitResult, b: train.FitResult) -> bool:
    return (
        a.history == b.history
        and leaves_equal(a.model, b.model)
        and all(
            np.array_equal(p, q)
            for p, q in zip(cr.tree.leaves(a.opt_state), cr.tree.leaves(b.opt_state), strict=True)
        )
    )


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("every", [1, 2])
def test_an_interrupted_run_resumes_bit_identically(tmp_path: Path, every: int) -> None:
    whole = fit_dropout(5)
    path = tmp_path / "run.npz"

    def crash(epoch: int, *_: Any) -> None:
        if epoch == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        fit_dropout(5, checkpoint=path, checkpoint_every=every, on_epoch_end=crash)
    saved = json.loads(io.load(path)["progress"])
    assert saved["epoch"] == (3 if every == 1 else 2)
    resumed = fit_dropout(5, resume=path)
    assert same_result(resumed, whole)
    assert resumed.history["epoch"] == [1, 2, 3, 4, 5]


def test_a_killed_process_resumes_bit_identically(tmp_path: Path) -> None:
    path = tmp_path / "run.npz"
    script = f"""
import os, signal, sys
sys.path[:0] = {[str(Path(__file__).parent)]!r}
from test_train import fit_dropout

def kill(epoch, *_):
    if epoch == 2:
        os.kill(os.getpid(), signal.SIGKILL)

fit_dropout(5, checkpoint={str(path)!r}, on_epoch_end=kill)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert json.loads(io.load(path)["progress"])["epoch"] == 2
    assert same_result(fit_dropout(5, resume=path), fit_dropout(5))


def test_resuming_a_finished_run_trains_longer_exactly(tmp_path: Path) -> None:
    X, y = blobs()
    path = tmp_path / "run.npz"
    args = (xent, SGD(0.1), (X, y))
    train.fit(
        net64(), *args, epochs=2, batch_size=40, checkpoint=path, checkpoint_every=5, progress=False
    )
    longer = train.fit(net64(), *args, epochs=4, batch_size=40, resume=path, progress=False)
    whole = train.fit(net64(), *args, epochs=4, batch_size=40, progress=False)
    assert longer.history == whole.history and leaves_equal(longer.model, whole.model)
    assert longer.opt_state == whole.opt_state == 12


def test_resume_errors(tmp_path: Path) -> None:
    X, y = blobs()
    path = tmp_path / "run.npz"
    args = (net64(), xent, SGD(0.1), (X, y))
    train.fit(*args, epochs=2, batch_size=40, checkpoint=path, progress=False)
    with pytest.raises(ValueError, match="has 2 epochs done, more than epochs=1"):
        train.fit(*args, epochs=1, batch_size=40, resume=path, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train.fit(*args, epochs=2, batch_size=20, resume=path, progress=False)
    with pytest.raises(ValueError, match="'history': \\['epoch', 'loss', 'train_accuracy'\\]"):
        train.fit(
            *args, epochs=2, batch_size=40, resume=path, progress=False, metrics={"accuracy": acc}
        )
    io.save(tmp_path / "other.npz", {"model": args[0], "opt_state": 0, "progress": "{}"})
    with pytest.raises(ValueError, match="not a checkpoint written by fit"):
        train.fit(*args, epochs=2, batch_size=40, resume=tmp_path / "other.npz", progress=False)
    with pytest.raises(io.LoadError, match="missing from the file"):
        train.fit(
            *args, epochs=2, batch_size=40, resume=path, val_data=(X, y), patience=1, progress=False
        )
    with pytest.raises(FileNotFoundError):
        train.fit(*args, resume=tmp_path / "missing.npz", progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"checkpoint_every": 2}, ValueError, "checkpoint_every needs checkpoint="),
        ({"checkpoint": "c.npz", "checkpoint_every": 0}, ValueError, "at least 1"),
        ({"checkpoint": 3}, TypeError, "checkpoint must be a file path"),
        ({"resume": "c.npz", "opt_state": 0}, ValueError, "do not pass opt_state too"),
        ({"on_epoch_end": "print"}, TypeError, "on_epoch_end must be callable"),
    ],
)
def test_checkpoint_argument_errors(kwargs: dict, error: type, message: str) -> None:
    X, y = blobs()
    with pytest.raises(error, match=message):
        train.fit(net64(), xent, SGD(0.1), (X, y), progress=False, **kwargs)
