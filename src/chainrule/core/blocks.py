"""Runs of elementwise lines on one large shape, replayed block by block (`jit`).

Each line of a program is one NumPy call over whole arrays. When the arrays are larger than
the CPU's cache, every elementwise line streams its operands from memory and its result
back: Adam's dozen operations on a 1024 x 1024 weight make a dozen trips through 4 MB
arrays. A run of consecutive elementwise lines with results of one shape is replayed
instead in blocks of rows (`BLOCK_BYTES` each): every line on the first rows, then every
line on the next, so the values between the lines stay in cache, in scratch of one block.
Only the run's values that are read after it are made whole.

A line joins a run only if its ufunc gives each element the same bits whatever the block
or the code path (`EXACT`: IEEE's correctly rounded arithmetic, comparisons, logic) on real
dtypes: NumPy's vectorized transcendental functions (``exp``, ``tanh``) may round an element
differently from the scalar loop a block's edge could take, so they end a run. (One thing
the path does decide: of two NaNs added or multiplied, whose sign survives, as it already
depends in NumPy on where an element falls in its loops. A NaN stays a NaN.) A run whose
inputs are not all C-contiguous runs whole, its results in the memory order NumPy gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .staging import Equation, Var

BLOCK_BYTES = 1 << 18
"""The size of a block of rows: a few of them (operands, results, scratch) fit in a core's
cache. Runs on arrays of at most this size are replayed whole."""

EXACT = frozenset([
    np.add, np.subtract, np.multiply, np.divide, np.negative, np.absolute, np.sqrt,
    np.square, np.maximum, np.minimum, np.greater, np.greater_equal, np.less,
    np.less_equal, np.equal, np.not_equal, np.logical_and, np.logical_or, np.logical_not,
])  # fmt: skip
"""The ufuncs whose results do not depend on how an array is cut: exact or correctly
rounded, elementwise."""


def row_blocks(shape: Sequence[int], itemsize: int) -> int | None:
    """How many rows (along the first axis) make a block of about `BLOCK_BYTES` for an
    array of `shape`; None when the array is too small to cut into two blocks or more."""
    if len(shape) == 0 or shape[0] < 2:
        return None
    row = itemsize
    for n in shape[1:]:
        row *= n
    if row * shape[0] <= BLOCK_BYTES:
        return None
    return max(1, BLOCK_BYTES // max(row, 1))


def _exact(eq: Equation) -> bool:
    """Whether a line can join a run: an `EXACT` ufunc, or a function that says it is as
    exact on these arguments (``fn.exact(*args)``, the `Var`s and constants of the line)
    and takes ``out``, on real dtypes."""
    fn = eq.fn
    return (
        (fn in EXACT or getattr(fn, "exact", lambda *a: False)(*eq.args))
        and not eq.params and not eq.multiple and len(eq.args) <= 2
        and all(_real(v) for v in _vars(eq))
    )  # fmt: skip


def _vars(eq: Equation) -> list[Var]:
    return [v for v in (*eq.outs, *eq.args) if hasattr(v, "id")]


def _real(v: Var) -> bool:
    return isinstance(v.dtype, np.dtype) and v.dtype.kind in "biuf"


def runs(equations: Sequence[Equation], outputs: Sequence[Any]) -> list[tuple[int, int, Blocks]]:
    """The runs of `equations` (a program's lines, `outputs` its results) worth replaying by
    blocks: ``(first line, one past the last, the run as one function)``."""
    last: dict[int, int] = {}  # a value's last reader (the outputs read at the end)
    for k, eq in enumerate(equations):
        for a in eq.args:
            if hasattr(a, "id"):
                last[a.id] = k
    for o in outputs:
        if hasattr(o, "id"):
            last[o.id] = len(equations)
    found: list[tuple[int, int, Blocks]] = []
    for start, end in _spans(equations):
        if end - start < 2:
            continue
        lines = equations[start:end]
        shape = lines[0].outs[0].shape
        itemsize = max(np.dtype(v.dtype).itemsize for eq in lines for v in _vars(eq))
        rows = row_blocks(shape, itemsize)
        if rows is not None:
            found.append((start, end, Blocks(lines, start, shape, rows, last)))
    return found


def _spans(equations: Sequence[Equation]) -> list[tuple[int, int]]:
    """The spans ``(start, end)`` of consecutive `_exact` lines with results of one shape."""
    spans: list[tuple[int, int]] = []
    for k, eq in enumerate(equations):
        if not _exact(eq):
            continue
        start, end = spans[-1] if spans else (k, -1)
        if end == k and equations[start].outs[0].shape == eq.outs[0].shape:
            spans[-1] = (start, k + 1)
        else:
            spans.append((k, k + 1))
    return spans


class Blocks:
    """A run of elementwise lines as one function: called on the values the run reads (its
    `inputs`), it returns the values read after it (its `outputs`), computed block by block
    into new arrays or into the buffers of inputs the program no longer needs
    (`write_into`). Where an input of the run's shape is not C-contiguous, its blocks would
    be strided: the lines then run whole, into new arrays, as they would have."""

    fresh = True  # (its results are new arrays, never views of its arguments)

    def __init__(
        self, lines: Sequence[Equation], start: int, shape: tuple[int, ...], rows: int,
        last: dict[int, int],
    ) -> None:  # fmt: skip
        end = start + len(lines)
        made = {eq.outs[0].id for eq in lines}
        self.shape, self.rows = shape, rows
        self.inputs: list[Var] = []
        self.outputs = [eq.outs[0] for eq in lines if last.get(eq.outs[0].id, end) >= end]
        constants: list[Any] = []
        slot: dict[int, int] = {}  # a value's place in a block's list of values
        for eq in lines:
            for a in eq.args:
                if hasattr(a, "id") and a.id not in made and a.id not in slot:
                    slot[a.id] = len(self.inputs)
                    self.inputs.append(a)
                elif not hasattr(a, "id"):
                    constants.append(a)
        # A block's values: inputs, outputs and constants (each cut into rows where it has
        # the run's rank and first axis, else whole: it broadcasts to every block), then
        # one block of scratch for each value only the run reads. Values alive at
        # separate times share scratch (a line may write over an argument it last reads).
        self.whole = len(self.inputs) + len(self.outputs) + len(constants)
        slot.update((v.id, len(self.inputs) + i) for i, v in enumerate(self.outputs))
        self.constants = tuple(constants)
        shapes = [v.shape for v in (*self.inputs, *self.outputs)] + list(map(np.shape, constants))
        self.cut = tuple(len(s) == len(shape) and s[0] == shape[0] for s in shapes)
        self.scratch: list[Any] = []  # their dtypes
        free: list[int] = []
        steps = []
        c = len(self.inputs) + len(self.outputs)  # the next constant's place
        for k, eq in enumerate(lines, start):
            args = []
            for a in eq.args:
                if hasattr(a, "id"):
                    args.append(slot[a.id])
                else:
                    args.append(c)
                    c += 1
            for a in eq.args:
                if (
                    hasattr(a, "id") and last[a.id] == k and slot[a.id] >= self.whole
                    and slot[a.id] not in free  # (x * x reads x twice)
                ):  # fmt: skip
                    free.append(slot[a.id])
            out = eq.outs[0]
            if out.id not in slot:
                spare = [s for s in free if self.scratch[s - self.whole] == out.dtype]
                if spare:
                    slot[out.id] = spare[-1]
                    free.remove(spare[-1])
                else:
                    slot[out.id] = self.whole + len(self.scratch)
                    self.scratch.append(out.dtype)
            steps.append((getattr(eq.fn, "plain", eq.fn), tuple(args), slot[out.id]))
        self.steps = tuple(steps)
        # for `write_into`: the step each output is made at, each input last read at
        step_of = {slot[eq.outs[0].id]: k for k, eq in enumerate(lines)}
        self._made = [step_of[len(self.inputs) + i] for i in range(len(self.outputs))]
        self._read = [
            max(k for k, (_, args, _) in enumerate(steps) if i in args)
            for i in range(len(self.inputs))
        ]
        self.into: tuple[int | None, ...] = (None,) * len(self.outputs)

    def write_into(self, reusable: Sequence[bool]) -> dict[int, int]:
        """Write outputs into the buffers of inputs that the program no longer needs
        (``reusable[i]`` for input i), rather than into new arrays: an output can take the
        buffer of an input of its shape and dtype that no line of the run reads after the
        line making the output. Returns ``{output's index: input's index}``."""
        into: dict[int, int] = {}
        for i, v in enumerate(self.outputs):
            for j, x in enumerate(self.inputs):
                if (
                    reusable[j] and j not in into.values() and self._read[j] <= self._made[i]
                    and x.shape == v.shape and x.dtype == v.dtype
                ):  # fmt: skip
                    into[i] = j
                    break
        self.into = tuple(into.get(i) for i in range(len(self.outputs)))
        return into

    def __call__(self, *inputs: Any) -> tuple[np.ndarray, ...]:
        for x, cut in zip(inputs, self.cut, strict=False):
            if cut and not x.flags.c_contiguous:
                return self._whole(inputs)
        n, rows = self.shape[0], self.rows
        outs = [
            np.empty(self.shape, v.dtype) if j is None else inputs[j]
            for v, j in zip(self.outputs, self.into, strict=True)
        ]
        whole = [*inputs, *outs, *self.constants]
        scratch = [np.empty((rows, *self.shape[1:]), d) for d in self.scratch]
        for start in range(0, n, rows):
            block = slice(start, start + rows)
            env = [v[block] if cut else v for v, cut in zip(whole, self.cut, strict=True)]
            env += scratch if start + rows <= n else [s[: n - start] for s in scratch]
            for fn, args, out in self.steps:
                fn(*[env[a] for a in args], out=env[out])
        return tuple(outs)

    def _whole(self, inputs: Sequence[Any]) -> tuple[np.ndarray, ...]:
        # (new arrays, in the memory order NumPy gives them: not into the buffers of
        # inputs, whose order may differ, and with it the bits of a later sum)
        env: list[Any] = [*inputs, *([None] * len(self.outputs)), *self.constants]
        env += [None] * len(self.scratch)
        for fn, args, out in self.steps:
            env[out] = fn(*[env[a] for a in args])
        return tuple(env[len(inputs) : len(inputs) + len(self.outputs)])

    def __repr__(self) -> str:
        return f"<{len(self.steps)} lines in blocks of {self.rows} rows>"
