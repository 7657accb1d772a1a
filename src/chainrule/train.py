"""Training loops: `fit` for the common case, and the pieces it is made of for your own loop.

A model is a pytree (an `nn.Module`), a loss is a function ``loss_fn(model, x, y)`` returning
a scalar, and an optimizer is anything with ``state = opt.init(params)`` and ``params, state
= opt.step(grads, state, params)`` (every `chainrule.optim` optimizer). One step is
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
...     def step(self, grads, state, params):
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

import dataclasses
import inspect
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np

import chainrule as cr
from chainrule import io
from chainrule._validate import flag, number
from chainrule.data._common import Seed, count, pair, rng_from
from chainrule.data.batching import batches

__all__ = ["FitResult", "accuracy", "evaluate", "fit", "train_step"]

Model = TypeVar("Model")
LossFn = Callable[..., Any]
Metric = Callable[[Any, Any, Any], Any]
History = dict[str, list[Any]]
"""The history `fit` returns: lists with one entry per epoch, plain ints and floats."""

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
        model, opt_state = optimizer.step(grads, opt_state, model, inplace=True)
    else:
        model, opt_state = optimizer.step(grads, opt_state, model)
    return model, opt_state, float(loss)


def _jitted_step(
    loss_fn: LossFn, optimizer: Any, clip_norm: float | None, inplace: bool
) -> Callable[..., Any]:
    """The step compiled with `cr.jit`: traced on the first batch of each shape, then
    replayed as plain NumPy.

    The program is the whole step, optimizer update included; with `inplace` (a chainrule
    optimizer on fit's own arrays) it stops at the clipped gradients and the optimizer then
    updates the arrays in place: the same operations as its lines in a whole-step program
    (the same bits), without allocating new parameters and moments every step.
    """
    value_and_grad = cr.value_and_grad(loss_fn)

    def gradients(model: Any, x: Any, y: Any) -> tuple[Any, Any]:
        loss, grads = value_and_grad(model, x, y)
        return loss, grads if clip_norm is None else _clip(grads, clip_norm)

    def step(model: Any, opt_state: Any, x: Any, y: Any) -> tuple[Any, Any, Any]:
        loss, grads = gradients(model, x, y)
        return (*optimizer.step(grads, opt_state, model), loss)

    jitted = cr.jit(gradients if inplace else step)

    def run(model: Any, opt_state: Any, x: Any, y: Any) -> tuple[Any, Any, float]:
        try:
            if inplace:
                loss, grads = jitted(model, x, y)
                new = optimizer.step(grads, opt_state, model, inplace=True)
            else:
                *results, loss = jitted(model, opt_state, x, y)
                new = _as_given(tuple(results), (model, opt_state))
        except TypeError as exc:  # what tracing raises for code that cannot be compiled
            raise TypeError(
                f"{exc}\n(fit: the training step, loss, gradients and optimizer update, runs "
                "under cr.jit; fit(..., jit=False) takes it eagerly instead.)"
            ) from exc
        return (*new, float(loss))

    return run


def _as_given(new: Any, old: Any) -> Any:
    """The results of a compiled step in the types the eager step keeps: a leaf that was a
    Python number (a step count) stays one, and the others are arrays (a replay gives 0-d
    results as NumPy scalars)."""
    new_leaves, treedef = cr.tree.flatten(new)
    old_leaves, old_def = cr.tree.flatten(old)
    if old_def != treedef:
        return treedef.unflatten([np.asarray(x) for x in new_leaves])
    return treedef.unflatten([
        type(o)(x) if type(o) in (int, float, complex, bool) else np.asarray(x)
        for x, o in zip(new_leaves, old_leaves, strict=True)
    ])  # fmt: skip


def _updates_in_place(optimizer: Any) -> bool:
    """Whether `optimizer` is one of chainrule's, which can update arrays it is given in place."""
    from chainrule import optim

    return isinstance(optimizer, optim.Optimizer)


def _clip_norm(value: Any, where: str) -> float | None:
    if value is None:
        return None
    return number(value, "clip_norm", where, minimum=0.0, exclusive=True)


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
    ...     def step(self, grads, steps, params):
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
    """A tqdm bar over all batches of all epochs (or nothing when progress is off).

    ``tqdm.auto`` draws a widget in a notebook and text in a terminal or a log.
    """

    def __init__(self, enabled: bool, epochs: int, per_epoch: int, done: int) -> None:
        self.bar: Any = None
        self.epochs, self.per_epoch = epochs, per_epoch
        if enabled:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]

            self.bar = tqdm(
                total=epochs * per_epoch,
                initial=done * per_epoch,
                unit="batch",
                dynamic_ncols=True,
            )

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


class FitResult(NamedTuple):
    """What `fit` returns, in `train_step`'s order: ``model, opt_state, history = fit(...)``."""

    model: Any
    """The trained model (with `patience`, the model of the best epoch)."""
    opt_state: Any
    """The optimizer state after the last step, to continue training from."""
    history: History
    """Lists with one entry per epoch run, plain ints and floats (JSON-ready)."""


@dataclasses.dataclass
class _Run:
    """Everything that changes from epoch to epoch: what a checkpoint holds to resume exactly."""

    model: Any
    opt_state: Any
    history: History
    shuffle_rng: np.random.Generator
    step_rng: np.random.Generator
    epoch: int = 0  # epochs done
    best_loss: float = math.inf
    best_model: Any = None
    waited: int = 0

    def tree(self, patience: int | None, settings: dict[str, Any]) -> dict[str, Any]:
        """The pytree `io.save` writes (the model of the best epoch only with `patience`)."""
        progress = {
            "epoch": self.epoch,
            "history": self.history,
            "shuffle_rng": self.shuffle_rng.bit_generator.state,
            "step_rng": self.step_rng.bit_generator.state,
            "best_loss": self.best_loss,
            "waited": self.waited,
            "settings": settings,
        }
        tree = {"model": self.model, "opt_state": self.opt_state, "progress": json.dumps(progress)}
        if patience is not None:
            tree["best_model"] = self.model if self.best_model is None else self.best_model
        return tree

    def restore(self, path: Any, patience: int | None, settings: dict[str, Any]) -> None:
        """Continue from the checkpoint at `path`, written by a `fit` with the same settings."""
        where = f"fit: resume={os.fspath(path)!r}"
        saved = io.load(path, like=self.tree(patience, settings))
        try:
            progress = json.loads(saved["progress"])
            made_with = progress["settings"]
            if made_with == settings:
                self.shuffle_rng.bit_generator.state = progress["shuffle_rng"]
                self.step_rng.bit_generator.state = progress["step_rng"]
                self.epoch, self.history = int(progress["epoch"]), dict(progress["history"])
                self.best_loss = float(progress["best_loss"])
                self.waited = int(progress["waited"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{where} is not a checkpoint written by fit ({exc!r})") from None
        if made_with != settings:
            raise ValueError(
                f"{where} was written by a fit with {made_with}, not {settings}; resume "
                "with the data, batch_size, patience, metrics and val_data of that run"
            )
        self.model, self.opt_state = saved["model"], saved["opt_state"]
        self.best_model = saved["best_model"] if self.best_loss < math.inf else None


def _path_or_none(value: Any, name: str, where: str) -> Any:
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{where}: {name} must be a file path, got {type(value).__name__}")
    return value


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
    on_epoch_end: Callable[[int, History, Any, Any], Any] | None = None,
    opt_state: Any = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: str | os.PathLike[str] | None = None,
    jit: bool = True,
    client: Any = None,
) -> FitResult:
    """Train `model` on ``train_data = (X, y)``: ``FitResult(model, opt_state, history)``.

    Each epoch visits the rows once in shuffled mini-batches of `batch_size` (the last may be
    smaller), taking one `train_step` per batch, from `opt_state` (by default
    ``optimizer.init(model)``; neither the model nor the state given is modified). `seed`
    fixes the shuffling (and the `rng` given to a loss that takes one), so equal seeds give
    equal results. The optimizer state after the last step comes back to continue from.

    The history is a dict of lists, one entry per epoch run (JSON-serialisable):

    - ``epoch``: 1, 2, ...
    - ``loss``: the mean training loss over the epoch's batches (weighted by batch size),
      taken as the model changes during the epoch;
    - ``train_<name>``: each metric ``fn(model, x, y)`` of `metrics`, on the training data
      with the model at the end of the epoch;
    - ``val_loss`` and ``val_<name>``: the same on `val_data`, when given.

    `patience` (needs `val_data`) stops when ``val_loss`` has not improved for that many
    epochs and returns the model of the best epoch (the history still shows every epoch
    run). A NaN validation loss is never an improvement: it uses up patience as a worse
    loss does, and if no epoch had a finite one, the last model is returned. `clip_norm`
    clips the gradient's global norm. `progress` shows a ``tqdm.auto`` bar with the epoch,
    batch and running loss (a widget in a notebook, text on stderr elsewhere).
    ``on_epoch_end(epoch, history, model, opt_state)`` is called after every epoch, with the
    bar cleared so that it may print, and stops training by returning True; `fit` goes on
    updating the arrays it is given, so copy (or `io.save`) what you keep. A non-finite
    training loss raises FloatingPointError.

    `checkpoint` (a path) makes `fit` save, with `io.save`, everything needed to continue
    (model, optimizer state, history, random generators, early-stopping state) every
    `checkpoint_every` epochs (default 1) and after the last one. ``resume=path`` continues
    from such a file: called with the same arguments, the interrupted run ends exactly
    (bit for bit) as an uninterrupted one; `epochs` may be raised to train longer.

    With ``jit=True`` (the default) the step, loss, gradients, clipping and optimizer
    update, is compiled with `cr.jit`: traced on the first batch (and again on a last,
    smaller one), then replayed as plain NumPy, to the eager step's numbers (float32 to
    about 1e-6). A chainrule optimizer then updates fit's arrays in place after the
    compiled gradients (the operations its lines in a program would run). The loss,
    model and optimizer must be traceable (written with `chainrule.numpy`, as chainrule's
    are); ``jit=False`` runs the step eagerly. A loss that takes an ``rng`` always runs
    eagerly: a compiled step would freeze its random draws.

    ``client=`` a ``dask.distributed.Client`` (``pip install 'chainrule[distributed]'``)
    trains data-parallel on its workers: each batch is cut into one shard per worker, the
    workers compute their shards' losses and gradients (compiled once per worker with
    ``jit=True``), and this process averages them, weighted by shard size, and takes one
    optimizer step: so the loss must be a mean over the batch's examples (plus terms that do
    not depend on them), as chainrule's losses are by default; another (a sum) is refused on
    the first batch. The batches, history, checkpoints and early stopping are as in one
    process, and so are the numbers, up to the order of the gradient's sums. A worker that
    dies mid-step has its shard computed again on another. Not with a loss that takes an
    ``rng``: its random draws would depend on the number of workers.

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
    ...     def step(self, grads, state, params):
    ...         return tree.map(lambda p, g: p - 0.5 * g, params, grads), state
    >>> def loss_fn(model, x, y):  # logistic regression: mean binary cross-entropy
    ...     z = model(x)
    ...     return cnp.mean(cnp.logaddexp(0.0, z) - y * z)
    >>> X, y = data.make_blobs(200, centers=[[-2.0, 0.0], [2.0, 0.0]], random_state=0)
    >>> model = Linear(np.zeros(2, np.float32), np.zeros((), np.float32))
    >>> model, opt_state, history = fit(model, loss_fn, SGD(), (X, y), epochs=3,
    ...     progress=False, metrics={"accuracy": lambda m, x, y: accuracy(m(x), y)})
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
    progress = flag(progress, "progress", where)
    if patience is not None:
        patience = count(patience, "patience", where)
        if val is None:
            raise ValueError(
                f"{where}: patience stops on the validation loss, so it needs val_data=(X, y)"
            )
    if not callable(loss_fn):
        raise TypeError(f"{where}: loss_fn must be callable as loss_fn(model, x, y)")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "step")):
        raise TypeError(
            f"{where}: optimizer must have init(params) and step(grads, state, params), "
            f"as chainrule.optim's do; got {type(optimizer).__name__}"
        )
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(
            f"{where}: on_epoch_end must be callable as on_epoch_end(epoch, history, model, "
            "opt_state)"
        )
    checkpoint = _path_or_none(checkpoint, "checkpoint", where)
    resume = _path_or_none(resume, "resume", where)
    if checkpoint_every is not None:
        checkpoint_every = count(checkpoint_every, "checkpoint_every", where)
        if checkpoint is None:
            raise ValueError(f"{where}: checkpoint_every needs checkpoint=<path> to save to")
    if resume is not None and opt_state is not None:
        raise ValueError(
            f"{where}: resume brings the optimizer state of the checkpoint; do not pass "
            "opt_state too"
        )

    jit = flag(jit, "jit", where)
    if client is not None and _takes_rng(loss_fn):
        raise ValueError(
            f"{where}: a loss that takes an rng (random layers such as Dropout) cannot be "
            "trained with client= yet: each worker's random draws would differ from one "
            "process's. Train it without client, or without the rng argument."
        )
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

    # What a checkpoint must have been written with to be resumed here.
    settings = {
        "examples": len(X),
        "batch_size": batch_size,
        "patience": patience or 0,
        "history": list(history),
    }

    # fit owns its copy of the model and the optimizer state, so a chainrule optimizer may
    # update them in place (no fresh arrays each step; the caller's are untouched).
    inplace = _updates_in_place(optimizer) and all(
        isinstance(leaf, np.ndarray) for leaf in cr.tree.leaves(model)
    )
    # A random loss runs eagerly: a compiled step would draw its randomness once, tracing.
    compiled = None
    if client is not None:  # the gradients from the workers; the update here, as eagerly
        from chainrule.distributed.training import data_parallel

        value_and_grad = data_parallel(client, loss_fn, jit, where)
    elif jit and not _takes_rng(loss_fn):
        compiled = _jitted_step(loss_fn, optimizer, clip_norm, inplace)
    if opt_state is None:
        opt_state = optimizer.init(model)
    elif inplace:
        opt_state = cr.tree.map(_copy, opt_state)
    if inplace:
        model = cr.tree.map(_copy, model)
    shuffle_rng, step_rng = rng_from(seed, where).spawn(2)
    run = _Run(model, opt_state, history, shuffle_rng, step_rng)
    if resume is not None:
        run.restore(resume, patience, settings)
        history = run.history
        if run.epoch > epochs:
            raise ValueError(
                f"{where}: the checkpoint {os.fspath(resume)!r} has {run.epoch} epochs done, "
                f"more than epochs={epochs}; pass epochs={run.epoch} or more"
            )
    rng = run.step_rng if _takes_rng(loss_fn) else None

    stopped_early = patience is not None and run.waited >= patience
    bar = _Progress(progress, epochs, per_epoch, run.epoch)
    try:
        for epoch in range(run.epoch + 1, epochs + 1):
            if stopped_early:
                break
            bar.start_epoch(epoch)
            total = 0.0
            seen = 0
            for i, (xb, yb) in enumerate(batches(X, y, batch_size, seed=run.shuffle_rng), 1):
                if compiled is not None:
                    run.model, run.opt_state, loss = compiled(run.model, run.opt_state, xb, yb)
                else:
                    run.model, run.opt_state, loss = _step(
                        value_and_grad,
                        run.model,
                        run.opt_state,
                        optimizer,
                        xb,
                        yb,
                        clip_norm,
                        rng,
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

            run.epoch = epoch
            history["epoch"].append(epoch)
            history["loss"].append(total / seen)
            if metrics:
                scores = evaluate(run.model, None, (X, y), metrics, eval_batch)
                for name, value in scores.items():
                    history[f"train_{name}"].append(value)
            if val is not None:
                scores = evaluate(run.model, loss_fn, val, metrics, eval_batch)
                for name, value in scores.items():
                    history[f"val_{name}"].append(value)
            bar.end_epoch(_summary(history))

            if patience is not None:
                val_loss = history["val_loss"][-1]
                if val_loss < run.best_loss:  # never true for NaN
                    # A copy: an optimizer may update parameters in place.
                    run.best_loss, run.best_model = val_loss, cr.tree.map(_copy, run.model)
                    run.waited = 0
                else:
                    run.waited += 1
                    stopped_early = run.waited >= patience
            last = epoch == epochs or stopped_early
            if checkpoint is not None and (last or epoch % (checkpoint_every or 1) == 0):
                io.save(checkpoint, run.tree(patience, settings))
            if on_epoch_end is not None and bar.outside(
                on_epoch_end, epoch, history, run.model, run.opt_state
            ):
                stopped_early = epoch < epochs
                break
    finally:
        bar.close(stopped_early)
    model = run.model if run.best_model is None else run.best_model
    return FitResult(model, run.opt_state, run.history)
