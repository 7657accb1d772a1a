"""Training loops: `fit` for the common case, and the pieces it is made of for your own loop.

A model is a pytree (an `nn.Module`), a loss is a function ``loss_fn(model, x, y)`` returning
a scalar, and an optimizer is anything with ``state = opt.init(params)`` and ``params, state
= opt.update(grads, state, params)`` (every `chainrule.optim` optimizer). One step is
``train_step``; `fit` runs epochs of shuffled mini-batches over it, evaluates, stops early
and shows progress. A hand-written loop is as short:

>>> import numpy as np
>>> import chainrule as cr
>>> import chainrule.numpy as cnp
>>> from chainrule import data, nn, train
>>> class Line(nn.Module):
...     w: np.ndarray
...     b: np.ndarray
...     def __call__(self, x):
...         return x @ self.w + self.b
>>> class SGD:  # the optimizer protocol; chainrule.optim has the real ones
...     def init(self, params):
...         return ()
...     def update(self, grads, state, params):
...         return cr.tree.map(lambda p, g: p - 0.1 * g, params, grads), state
>>> def loss_fn(model, x, y):
...     return cnp.mean((model(x) - y) ** 2)
>>> X, y, true_w, true_b = data.make_linear(200, n_features=2, noise=0.0)
>>> model = Line(np.zeros(2, np.float32), np.zeros((), np.float32))
>>> opt = SGD()
>>> state = opt.init(model)
>>> for epoch in range(20):
...     for xb, yb in data.batches(X, y, 32, seed=epoch):
...         model, state, loss = train.train_step(model, state, opt, loss_fn, xb, yb)
>>> print(np.allclose(model.w, true_w, atol=1e-3), round(loss, 6))
True 0.0

Randomness is explicit: `fit` shuffles with a Generator made from its `seed`, and if
`loss_fn` takes an ``rng`` keyword (``def loss_fn(model, x, y, rng=None)``), passes it a
Generator in training, for random layers such as `nn.Dropout`
(``model(x, rng=rng)``); evaluation calls it without one.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np

import chainrule as cr
from chainrule.data._common import Seed, count, pair, rng_from
from chainrule.data.batching import batches

__all__ = ["accuracy", "evaluate", "fit", "train_step"]

Model = TypeVar("Model")
LossFn = Callable[..., Any]
Metric = Callable[[Any, Any, Any], Any]
History = dict[str, list[Any]]
"""What `fit` returns: lists with one entry per epoch, plain ints and floats (JSON-ready)."""

# Evaluation needs no gradients, so it runs on batches at least this large.
_EVAL_BATCH = 1024


def accuracy(logits: Any, labels: Any) -> float:
    """The fraction of examples whose predicted class is the label.

    `logits` of shape (n, classes) predict their argmax; labels are class indices of shape
    (n,) or one-hot / probability rows of shape (n, classes). For a single output per
    example, shape (n,) or (n, 1), the prediction is ``logit > 0`` (class 1) and the labels
    are 0 and 1.

    >>> print(accuracy(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), np.array([0, 1, 1])))
    0.6666666666666666
    >>> print(accuracy(np.array([-1.5, 0.3, 2.0, -0.1]), np.array([0, 1, 1, 1])))
    0.75
    """
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim == 0 or len(logits) == 0:
        raise ValueError(f"accuracy: expected a batch of logits, got shape {logits.shape}")
    if logits.ndim == 1 or logits.shape[-1] == 1:
        predicted = logits.reshape(len(logits), -1)[:, 0] > 0
    else:
        predicted = logits.argmax(axis=-1)
        if labels.shape == logits.shape:
            labels = labels.argmax(axis=-1)
    labels = labels.reshape(labels.shape[:-1]) if labels.shape[-1:] == (1,) else labels
    if labels.shape != predicted.shape:
        raise ValueError(
            f"accuracy: labels of shape {labels.shape} do not match logits of shape "
            f"{logits.shape}; give one class index per example, shape {predicted.shape}"
        )
    return float(np.mean(predicted == labels))


def _takes_rng(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "rng" or p.kind is p.VAR_KEYWORD for p in params)


def _clip(grads: Any, max_norm: float) -> Any:
    from chainrule import optim  # imported here: optim need not be loaded to train without it

    return optim.clip_by_global_norm(grads, max_norm)


def _step(
    value_and_grad: Callable[..., Any],
    model: Any,
    opt_state: Any,
    optimizer: Any,
    x: Any,
    y: Any,
    clip_norm: float | None,
    rng: np.random.Generator | None,
    inplace: bool = False,
) -> tuple[Any, Any, float]:
    if rng is None:
        loss, grads = value_and_grad(model, x, y)
    else:
        loss, grads = value_and_grad(model, x, y, rng=rng)
    if clip_norm is not None:
        grads = _clip(grads, clip_norm)
    if inplace:
        model, opt_state = optimizer.update(grads, opt_state, model, inplace=True)
    else:
        model, opt_state = optimizer.update(grads, opt_state, model)
    return model, opt_state, float(loss)


def _updates_in_place(optimizer: Any) -> bool:
    """Whether `optimizer` is one of chainrule's, which can update arrays it is given in place."""
    from chainrule import optim

    return isinstance(optimizer, optim.Optimizer)


def _clip_norm(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) > 0:
        raise ValueError(f"{where}: clip_norm must be a positive number or None, got {value!r}")
    return float(value)


def train_step(
    model: Model,
    opt_state: Any,
    optimizer: Any,
    loss_fn: LossFn,
    x: Any,
    y: Any,
    *,
    clip_norm: float | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[Model, Any, float]:
    """One gradient step on the batch ``(x, y)``: ``(new model, new optimizer state, loss)``.

    The loss (a float) is the value before the update. `clip_norm` rescales the gradient to
    that global norm at most (``optim.clip_by_global_norm``); `rng`, if given, is passed to
    ``loss_fn(model, x, y, rng=rng)`` for random layers. Nothing is modified in place by this
    function; whether the optimizer reuses buffers is up to it.

    >>> import chainrule.numpy as cnp
    >>> class GD:
    ...     def init(self, params):
    ...         return 0
    ...     def update(self, grads, steps, params):
    ...         return params - 0.25 * grads, steps + 1
    >>> w, steps, loss = train_step(np.array([2.0]), 0, GD(), lambda w, x, y: cnp.sum((w * x - y) ** 2),
    ...                             np.array([1.0]), np.array([0.0]))
    >>> print(w, steps, loss)
    [1.] 1 4.0
    """
    value_and_grad = cr.value_and_grad(loss_fn)
    clip_norm = _clip_norm(clip_norm, "train_step")
    return _step(value_and_grad, model, opt_state, optimizer, x, y, clip_norm, rng)


def _eval_batches(X: np.ndarray, y: np.ndarray, batch_size: int | None) -> Iterator[Any]:
    if batch_size is None or batch_size >= len(X):
        return iter([(X, y)])
    return batches(X, y, batch_size, shuffle=False)


def evaluate(
    model: Any,
    loss_fn: LossFn | None,
    data: tuple[Any, Any],
    metrics: Mapping[str, Metric] | None = None,
    batch_size: int | None = None,
) -> dict[str, float]:
    """The loss and each metric of `model` on ``data = (X, y)``, as ``{"loss": ..., name: ...}``.

    Each metric is ``fn(model, x, y) -> number``; `loss_fn` may be None to skip the loss. With
    `batch_size`, the data go through in batches of that size and every value is the mean
    over batches weighted by their sizes (exact for per-example means such as the loss and
    `accuracy`); without, in one batch.

    >>> class Half:
    ...     def __call__(self, x):
    ...         return 0.5 * x
    >>> X, y = np.array([[1.0], [2.0], [4.0]]), np.array([[0.5], [1.0], [3.0]])
    >>> evaluate(Half(), lambda m, x, y: np.mean((m(x) - y) ** 2), (X, y),
    ...          {"max_error": lambda m, x, y: np.max(np.abs(m(x) - y))})
    {'loss': 0.3333333333333333, 'max_error': 1.0}
    """
    where = "evaluate"
    X, y = _data_pair(data, "data", where)
    if batch_size is not None:
        batch_size = count(batch_size, "batch_size", where)
    fns = dict(_check_metrics(metrics, where))
    if loss_fn is not None:
        fns = {"loss": loss_fn, **fns}
    totals = dict.fromkeys(fns, 0.0)
    for xb, yb in _eval_batches(X, y, batch_size):
        for name, fn in fns.items():
            totals[name] += float(fn(model, xb, yb)) * len(xb)
    return {name: total / len(X) for name, total in totals.items()}


def _data_pair(data: Any, name: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{where}: {name} must be a pair (X, y), got {type(data).__name__}")
    X, y = pair(data[0], data[1], f"{where} ({name})")
    if len(X) == 0:
        raise ValueError(f"{where}: {name} has no examples")
    return X, y


def _check_metrics(metrics: Mapping[str, Metric] | None, where: str) -> Mapping[str, Metric]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"{where}: metrics must be a dict from name to fn(model, x, y), "
            f"got {type(metrics).__name__}"
        )
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name or name == "loss":
            raise ValueError(
                f"{where}: metric names must be non-empty strings other than 'loss', got {name!r}"
            )
        if not callable(fn):
            raise TypeError(f"{where}: metric {name!r} must be callable fn(model, x, y)")
    return metrics


class _Progress:
    """A tqdm bar over all batches of all epochs (or nothing when progress is off)."""

    def __init__(self, enabled: bool, epochs: int, per_epoch: int) -> None:
        self.bar: Any = None
        self.epochs, self.per_epoch = epochs, per_epoch
        if enabled:
            from tqdm import tqdm  # type: ignore[import-untyped]

            self.bar = tqdm(total=epochs * per_epoch, unit="batch", dynamic_ncols=True)

    def start_epoch(self, epoch: int) -> None:
        if self.bar is not None:
            self.bar.set_description(f"epoch {epoch}/{self.epochs}", refresh=False)

    def batch(self, index: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(
                f"batch {index}/{self.per_epoch}, loss {loss:.4f}", refresh=False
            )
            self.bar.update()

    def end_epoch(self, summary: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(summary)

    def outside(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call `fn` (which may print) with the bar cleared, then redraw it."""
        if self.bar is None:
            return fn(*args)
        with self.bar.external_write_mode():
            return fn(*args)

    def close(self, stopped_early: bool) -> None:
        if self.bar is not None:
            if stopped_early:
                self.bar.total = self.bar.n
            self.bar.close()


def _copy(leaf: Any) -> Any:
    return leaf.copy() if isinstance(leaf, np.ndarray) else leaf


def _summary(history: History) -> str:
    return ", ".join(f"{key} {values[-1]:.4f}" for key, values in history.items() if key != "epoch")


def fit(
    model: Model,
    loss_fn: LossFn,
    optimizer: Any,
    train_data: tuple[Any, Any],
    *,
    epochs: int = 10,
    batch_size: int = 32,
    val_data: tuple[Any, Any] | None = None,
    metrics: Mapping[str, Metric] | None = None,
    seed: Seed = 0,
    patience: int | None = None,
    clip_norm: float | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[int, History], Any] | None = None,
) -> tuple[Model, History]:
    """Train `model` on ``train_data = (X, y)``: ``(trained model, history)``.

    Each epoch visits the rows once in shuffled mini-batches of `batch_size` (the last may be
    smaller), taking one `train_step` per batch with an optimizer state from
    ``optimizer.init(model)``. `seed` fixes the shuffling (and the `rng` given to a loss
    that takes one), so equal seeds give equal results.

    The history is a dict of lists, one entry per epoch run (JSON-serialisable):

    - ``epoch``: 1, 2, ...
    - ``loss``: the mean training loss over the epoch's batches (weighted by batch size),
      taken as the model changes during the epoch;
    - ``train_<name>``: each metric ``fn(model, x, y)`` of `metrics`, on the training data
      with the model at the end of the epoch;
    - ``val_loss`` and ``val_<name>``: the same on `val_data`, when given.

    `patience` (needs `val_data`) stops when ``val_loss`` has not improved for that many
    epochs and returns the model of the best epoch (the history still shows every epoch
    run). `clip_norm` clips the gradient's global norm. `progress` shows a tqdm bar with the
    epoch, batch and running loss (on stderr); `on_epoch_end(epoch, history)` is called
    after every epoch, with the bar cleared so that it may print, and stops training by
    returning True. A non-finite training loss raises FloatingPointError.

    >>> import chainrule.numpy as cnp
    >>> from chainrule import data, nn, tree
    >>> class Linear(nn.Module):
    ...     w: np.ndarray
    ...     b: np.ndarray
    ...     def __call__(self, x):
    ...         return x @ self.w + self.b
    >>> class SGD:
    ...     def init(self, params):
    ...         return None
    ...     def update(self, grads, state, params):
    ...         return tree.map(lambda p, g: p - 0.5 * g, params, grads), state
    >>> def loss_fn(model, x, y):  # logistic regression: mean binary cross-entropy
    ...     z = model(x)
    ...     return cnp.mean(cnp.logaddexp(0.0, z) - y * z)
    >>> X, y = data.make_blobs(200, centers=[[-2.0, 0.0], [2.0, 0.0]], random_state=0)
    >>> model = Linear(np.zeros(2, np.float32), np.zeros((), np.float32))
    >>> model, history = fit(model, loss_fn, SGD(), (X, y), epochs=3, progress=False,
    ...                      metrics={"accuracy": lambda m, x, y: accuracy(m(x), y)})
    >>> sorted(history), history["epoch"]
    (['epoch', 'loss', 'train_accuracy'], [1, 2, 3])
    >>> print(history["train_accuracy"][-1])
    0.99
    """
    where = "fit"
    X, y = _data_pair(train_data, "train_data", where)
    val = None if val_data is None else _data_pair(val_data, "val_data", where)
    epochs = count(epochs, "epochs", where)
    batch_size = count(batch_size, "batch_size", where)
    metrics = _check_metrics(metrics, where)
    clip_norm = _clip_norm(clip_norm, where)
    if patience is not None:
        patience = count(patience, "patience", where)
        if val is None:
            raise ValueError(
                f"{where}: patience stops on the validation loss, so it needs val_data=(X, y)"
            )
    if not callable(loss_fn):
        raise TypeError(f"{where}: loss_fn must be callable as loss_fn(model, x, y)")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(
            f"{where}: optimizer must have init(params) and update(grads, state, params), "
            f"as chainrule.optim's do; got {type(optimizer).__name__}"
        )

    shuffle_rng, step_rng = rng_from(seed, where).spawn(2)
    step_rng_or_none = step_rng if _takes_rng(loss_fn) else None
    value_and_grad = cr.value_and_grad(loss_fn)
    eval_batch = max(batch_size, _EVAL_BATCH)
    per_epoch = math.ceil(len(X) / batch_size)

    history: History = {"epoch": [], "loss": []}
    for name in metrics:
        history[f"train_{name}"] = []
    if val is not None:
        history["val_loss"] = []
        for name in metrics:
            history[f"val_{name}"] = []

    # fit owns its copy of the model and the optimizer state, so a chainrule optimizer may
    # update them in place (no fresh arrays each step; the caller's model is untouched).
    inplace = _updates_in_place(optimizer) and all(
        isinstance(leaf, np.ndarray) for leaf in cr.tree.leaves(model)
    )
    if inplace:
        model = cr.tree.map(_copy, model)
    opt_state = optimizer.init(model)
    best_loss, best_model, waited, stopped_early = math.inf, None, 0, False
    bar = _Progress(progress, epochs, per_epoch)
    try:
        for epoch in range(1, epochs + 1):
            bar.start_epoch(epoch)
            total = 0.0
            seen = 0
            for i, (xb, yb) in enumerate(batches(X, y, batch_size, seed=shuffle_rng), 1):
                model, opt_state, loss = _step(
                    value_and_grad,
                    model,
                    opt_state,
                    optimizer,
                    xb,
                    yb,
                    clip_norm,
                    step_rng_or_none,
                    inplace,
                )
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"{where}: the training loss became {loss} at epoch {epoch}, batch "
                        f"{i}; lower the learning rate, or clip gradients with clip_norm"
                    )
                total += loss * len(xb)
                seen += len(xb)
                bar.batch(i, total / seen)

            history["epoch"].append(epoch)
            history["loss"].append(total / seen)
            if metrics:
                scores = evaluate(model, None, (X, y), metrics, eval_batch)
                for name, value in scores.items():
                    history[f"train_{name}"].append(value)
            if val is not None:
                scores = evaluate(model, loss_fn, val, metrics, eval_batch)
                for name, value in scores.items():
                    history[f"val_{name}"].append(value)
            bar.end_epoch(_summary(history))

            if patience is not None:
                val_loss = history["val_loss"][-1]
                if val_loss < best_loss:
                    # A copy: an optimizer may update parameters in place.
                    best_loss, best_model, waited = val_loss, cr.tree.map(_copy, model), 0
                else:
                    waited += 1
                    stopped_early = waited >= patience
            if on_epoch_end is not None and bar.outside(on_epoch_end, epoch, history):
                stopped_early = epoch < epochs
                break
            if stopped_early:
                break
    finally:
        bar.close(stopped_early)
    if best_model is not None:
        model = best_model
    return model, history
