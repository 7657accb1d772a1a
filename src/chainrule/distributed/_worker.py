"""What a worker process keeps between tasks: the compiled functions of each job.

A task's function arrives afresh, unpickled, with every task, so a `cr.jit` made inside
the task would trace it again each time. Each job (a training run, a gradient function)
has a token instead, and a worker keeps the compiled function of the last `KEPT` tokens.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import chainrule as cr

KEPT = 8

_COMPILED: OrderedDict[str, Callable[..., Any]] = OrderedDict()
_LOCK = threading.Lock()


def compiled(token: str, make: Callable[[], Callable[..., Any]]) -> Callable[..., Any]:
    """The function this worker made for `token` (with `make()` on the first task)."""
    with _LOCK:  # (a worker may run several tasks at once, in threads)
        fn = _COMPILED.get(token)
        if fn is None:
            fn = _COMPILED[token] = make()
            while len(_COMPILED) > KEPT:
                _COMPILED.popitem(last=False)
        _COMPILED.move_to_end(token)
        return fn


def value_and_grad(
    token: str, fun: Callable[..., Any], argnums: int | Sequence[int], jit: bool
) -> Callable[..., Any]:
    """This worker's ``cr.value_and_grad(fun, argnums)`` for `token`, compiled with `cr.jit`
    (unless ``jit=False``) on the first task that asks."""

    def make() -> Callable[..., Any]:
        both = cr.value_and_grad(fun, argnums)
        return cr.jit(both) if jit else both

    return compiled(token, make)
