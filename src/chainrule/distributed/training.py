"""Synchronous data-parallel gradients for `train.fit(..., client=...)`.

Each step's batch is cut into one shard per worker; a task per shard computes the loss and
gradient on it (compiled with `cr.jit` once per worker, when `fit` compiles), and the
driver averages them, weighted by the shards' sizes, into the gradient of the whole batch's
mean loss: the same numbers as in one process, up to the order of a sum. The optimizer
then updates the parameters once, in the driver, so a task that Dask runs again (its worker
died mid-step) changes nothing: no update is lost or applied twice.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr

from . import _worker
from ._dask import client_of

WAIT_FOR_WORKERS = 60.0  # seconds a cluster with no worker yet is given to get one


def data_parallel(
    client: Any, loss_fn: Callable[..., Any], jit: bool, where: str
) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """``gradients(model, x, y) -> (loss, grads)`` of the batch's mean loss, computed shard
    by shard on the workers of `client` (a ``dask.distributed.Client``)."""
    client = client_of(client, where)
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
    except TimeoutError:
        raise TimeoutError(
            f"{where}: the Dask cluster at {client.scheduler.address} has no worker after "
            f"{WAIT_FOR_WORKERS:g} s; start workers (dask worker {client.scheduler.address})"
        ) from None
    # (one shard at least: a worker that has just left the list may be restarting)
    shards = max(1, len(client.scheduler_info()["workers"]))
    token = uuid.uuid4().hex

    def gradients(model: Any, x: Any, y: Any) -> tuple[Any, Any]:
        pieces = [p for p in np.array_split(np.arange(len(x)), shards) if len(p)]
        futures = [
            client.submit(_shard, token, loss_fn, jit, model, x[p], y[p], pure=False)
            for p in pieces
        ]
        try:
            results = client.gather(futures)
        except TypeError as exc:  # what tracing raises for code that cannot be compiled
            if not jit:
                raise
            raise TypeError(
                f"{exc}\n({where}: each worker compiles the loss and gradient with cr.jit; "
                "jit=False takes them eagerly instead.)"
            ) from exc
        weights = [len(p) / len(x) for p in pieces]
        loss = sum(w * value for w, (value, _) in zip(weights, results, strict=True))
        if not checked and len(pieces) > 1:
            _check_mean(loss_fn, model, x, y, loss, where)
            checked.append(True)
        grads = cr.tree.map(lambda *g: _weighted(weights, g), *(grads for _, grads in results))
        return loss, grads

    checked: list[bool] = []  # whether the first batch has shown the loss to be a mean
    return gradients


def _check_mean(
    loss_fn: Callable[..., Any], model: Any, x: Any, y: Any, combined: float, where: str
) -> None:
    """Refuse a loss that is not a mean over the batch's examples (a sum, say): the shards'
    losses and gradients, averaged by shard size, would silently not be the batch's. Checked
    once, on the first batch, against the loss of the whole batch computed here."""
    whole = float(loss_fn(model, x, y))
    if math.isfinite(whole) and not math.isclose(combined, whole, rel_tol=1e-3, abs_tol=1e-7):
        raise ValueError(
            f"{where}: with client=, the loss must be a mean over the batch's examples (plus "
            "terms that do not depend on them, such as a weight penalty): each worker's "
            "shard gives its own loss and gradient, averaged by shard size. On the first "
            f"batch, that average is {combined:.6g} and the whole batch's loss {whole:.6g}. "
            "Divide a sum by the batch size, or train without client."
        )


def _weighted(weights: list[float], parts: tuple[Any, ...]) -> Any:
    """``sum(w * g)``, in the gradients' own dtype (a Python float keeps float32 float32)."""
    total = weights[0] * parts[0]
    for w, g in zip(weights[1:], parts[1:], strict=True):
        total = total + w * g
    return total


def _shard(
    token: str, loss_fn: Callable[..., Any], jit: bool, model: Any, x: Any, y: Any
) -> tuple[float, Any]:
    """On a worker: the loss and gradient of one shard of a batch."""
    loss, grads = _worker.value_and_grad(token, loss_fn, 0, jit)(model, x, y)
    return float(loss), grads
