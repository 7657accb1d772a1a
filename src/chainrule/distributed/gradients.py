"""The value and gradient of a loss over data chunked along its examples, on Dask's workers.

A loss that is a mean (or a sum) over examples splits over chunks of them: each chunk's
value and gradient are computed where the chunk lives, with chainrule, and added up by
Dask's tree reduction (``dask.array``'s ``sum`` with `split_every`), so no process ever
holds more than a few chunks' worth of data or more than a few gradients. The parameters
go into the task graph once per call; each worker fetches them once.
"""

from __future__ import annotations

import functools
import itertools
import math
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule as cr
from chainrule._validate import flag, one_of
from chainrule.transforms import describe

from . import _worker
from ._dask import require

REDUCTIONS = ("mean", "sum")


def value_and_grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    *,
    reduction: str = "mean",
    split_every: int = 16,
    jit: bool = True,
) -> Callable[..., tuple[Any, Any]]:
    """`cr.value_and_grad` of a loss over examples held as ``dask.array`` chunks.

    ``fun(*args)`` is a loss that is the mean (``reduction="mean"``) or the sum (``"sum"``)
    of a term per example. The arguments that are ``dask.array.Array`` are the data: they
    are chunked along their first axis, the examples, alike (rows of ``X`` and entries of
    ``y`` together). The others (the parameters: those in `argnums`, and any setting) are
    sent to the workers with each call. On each chunk, a task runs
    ``cr.value_and_grad(fun, argnums)`` on the chunk's rows (compiled with `cr.jit` once
    per worker and chunk shape, unless ``jit=False``); the chunks' results are combined by
    Dask's tree reduction (`split_every` chunks at a time: each level of the tree is one
    more round trip to the scheduler), weighted by their numbers of rows for a mean. The call computes on Dask's current scheduler (a
    ``distributed.Client`` if one is active, else threads in this process) and returns
    the value (a float) and the gradient (NumPy arrays, shaped and typed as the
    parameters), equal to those over the whole data in memory up to rounding.

    >>> import dask.array as da
    >>> import numpy
    >>> import chainrule.numpy as np
    >>> from chainrule import distributed
    >>> X = da.from_array(numpy.arange(12.0).reshape(6, 2), chunks=(2, 2))
    >>> y = da.from_array(numpy.array([0.0, 1, 0, 1, 0, 1]), chunks=2)
    >>> loss = lambda w, X, y: np.mean((X @ w - y) ** 2)
    >>> value, grad = distributed.value_and_grad(loss)(numpy.array([0.1, -0.1]), X, y)
    >>> print(round(value, 12), grad)
    0.61 [-7.  -8.2]
    """
    where = f"distributed.value_and_grad of {describe(fun)}"
    reduction = one_of(reduction, "reduction", where, REDUCTIONS)
    jit = flag(jit, "jit", where)
    token = uuid.uuid4().hex  # names this function's compiled chunk gradient on the workers
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"{where}: split_every must be an int of at least 2, got {split_every!r}")

    def run(*args: Any) -> tuple[Any, Any]:
        dask, da = require(where)
        data = [i for i, a in enumerate(args) if isinstance(a, da.Array)]
        if not data:
            raise TypeError(
                f"{where}: no argument is a dask.array.Array, so there are no chunks to "
                "spread over workers. Pass the data as dask arrays, or use cr.value_and_grad."
            )
        wrt = [i % len(args) if -len(args) <= i < len(args) else i for i in nums]
        if any(not 0 <= i < len(args) for i in wrt):
            raise ValueError(
                f"{where}: argnums {argnums!r} is out of range for {len(args)} arguments."
            )
        if set(wrt) & set(data):
            raise TypeError(
                f"{where}: argument {sorted(set(wrt) & set(data))[0]} is a dask array, and "
                "argnums asks for the gradient with respect to it. The chunked arguments "
                "are the data; differentiate with respect to the parameters (NumPy arrays "
                "or pytrees of them), which every chunk shares."
            )
        arrays = _aligned(where, da, [args[i] for i in data])
        params = [a for i, a in enumerate(args) if i not in data]
        leaves = cr.tree.leaves([args[i] for i in wrt])
        dtype = np.result_type(np.float64, *(np.asarray(x).dtype for x in leaves))
        size = 1 + sum(int(np.size(x)) for x in leaves)
        chunk = functools.partial(
            _chunk, token, fun, jit, tuple(wrt), tuple(data), len(args), reduction == "mean",
            size, dtype,
        )  # fmt: skip
        # one row of [value, *gradient] per chunk of examples, then Dask's tree reduction
        indexed = [(a, "i" + "abcdefghjlmnopqrstuvwxyz"[: a.ndim - 1]) for a in arrays]
        parts = da.blockwise(
            chunk, "ik", *itertools.chain.from_iterable(indexed),
            dask.delayed(params, traverse=False), None,  # one key: sent once per call
            name=f"chainrule-gradient-{uuid.uuid4().hex}",  # (no hashing of fun and params)
            new_axes={"k": size}, adjust_chunks={"i": 1}, dtype=dtype, concatenate=False,
            meta=np.empty((0, 0), dtype),
        )  # fmt: skip
        (total,) = parts.sum(axis=0, split_every=split_every).to_delayed()  # (its one block:
        total = np.asarray(total.compute())  # no task to concatenate blocks after the sum)
        if reduction == "mean":
            total = total / arrays[0].shape[0]
        grads = _unflattened(total[1:], [args[i] for i in wrt])
        return np.float64(total[0].real), grads[0] if isinstance(argnums, int) else tuple(grads)

    run.__doc__ = f"Value and gradient of {describe(fun)} over dask-chunked data."
    return run


def grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    *,
    reduction: str = "mean",
    split_every: int = 16,
    jit: bool = True,
) -> Callable[..., Any]:
    """`cr.grad` of a loss over ``dask.array`` chunks: `value_and_grad`'s gradient alone.

    >>> import dask.array as da
    >>> import numpy
    >>> import chainrule.numpy as np
    >>> from chainrule import distributed
    >>> x = da.arange(10.0, chunks=3)
    >>> distributed.grad(lambda w, x: np.sum(w * x**2), reduction="sum")(numpy.float64(1.0), x)
    np.float64(285.0)
    """
    both = value_and_grad(fun, argnums, reduction=reduction, split_every=split_every, jit=jit)
    return lambda *args: both(*args)[1]


def _aligned(where: str, da: Any, arrays: list[Any]) -> list[Any]:
    """The dask arrays of data chunked alike along their first axis (the first array's
    chunks), each chunk with all of their other axes."""
    first = arrays[0]
    if first.ndim == 0:
        raise ValueError(f"{where}: a dask array of data has no axis of examples (it is 0-d).")
    chunks = first.chunks[0]
    if any(math.isnan(c) for c in chunks):
        raise ValueError(
            f"{where}: the data have chunks of unknown size (from a filter, say); call "
            "x.compute_chunk_sizes() first."
        )
    n = sum(chunks)
    if n == 0:
        raise ValueError(f"{where}: the data have no rows.")
    aligned = []
    for k, a in enumerate(arrays):
        if a.ndim == 0 or a.shape[0] != n:
            raise ValueError(
                f"{where}: the dask arrays of data must have the same number of examples "
                f"(first axis): {n} and {a.shape[0] if a.ndim else 'none (0-d)'} "
                f"(data argument {k})."
            )
        aligned.append(a.rechunk({0: chunks, **{axis: -1 for axis in range(1, a.ndim)}}))
    return aligned


def _chunk(
    token: str,
    fun: Callable[..., Any],
    jit: bool,
    argnums: tuple[int, ...],
    data: tuple[int, ...],
    nargs: int,
    mean: bool,
    size: int,
    dtype: Any,
    *blocks_and_params: Any,
) -> np.ndarray:
    """On a worker: ``[[value, *gradient]]`` of `fun` on one chunk of rows, as a row
    (times the chunk's rows, for a mean; zeros for a chunk without rows)."""
    *lists, shared = blocks_and_params
    blocks = [_only(b) for b in lists]
    if len(blocks[0]) == 0:
        return np.zeros((1, size), dtype)
    given, rest = iter(blocks), iter(shared)
    args = [next(given) if i in data else next(rest) for i in range(nargs)]
    value, grads = _worker.value_and_grad(f"{token}{argnums}", fun, argnums, jit)(*args)
    out = np.concatenate(
        [np.ravel(value).astype(dtype), *(np.ravel(g).astype(dtype) for g in cr.tree.leaves(grads))]
    )
    if mean:
        out *= len(blocks[0])
    return out[None, :]


def _only(block: Any) -> Any:
    """The one chunk of a block's other axes (blockwise hands them over as nested lists,
    one level per axis, rather than concatenating them: a copy)."""
    while isinstance(block, list):
        (block,) = block
    return block


def _unflattened(flat: np.ndarray, params: list[Any]) -> list[Any]:
    """The vector `flat` cut into arrays shaped and typed as the leaves of `params`."""
    leaves, treedef = cr.tree.flatten(params)
    out, start = [], 0
    for leaf in leaves:
        a = np.asarray(leaf)
        piece = flat[start : start + a.size].reshape(a.shape)
        start += a.size
        piece = (piece if np.iscomplexobj(a) else piece.real).astype(a.dtype)
        out.append(piece[()] if a.ndim == 0 else piece)  # (a scalar, as cr.grad gives)
    return cr.tree.unflatten(treedef, out)
