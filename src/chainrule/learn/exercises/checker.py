"""Check a derivative you wrote by hand against chainrule's, entry by entry, with a hint.

The guide's advice is to write gradient descent and a network in NumPy first. Here is the
witness for that work: `check_derivative(f, df, ...)` computes f's derivative with chainrule
(exact up to rounding) at a few points and compares yours with it. Where they differ the
report says where, entry by entry, and guesses why: a wrong sign, a constant factor (the 2
of x², the 1/n of a mean), a transpose, a wrong shape, swapped results, or a formula that is
right at some points only.

Both are compared in float64 (float32 where you return float32): an entry agrees when it is
within ``sqrt(eps)`` (1.5e-8 in float64) times the largest entry of its result (each array
of a pytree of gradients on its own scale, so that a wrong bias gradient is not hidden by a
large weight gradient), and never less than ``eps`` times the largest entry of them all.
Two correct formulas agree to a few ulps unless they cancel badly; every mistake of the
kinds above is off by far more.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy

from chainrule import tree
from chainrule.transforms import describe, grad, jacobian, vjp

__all__ = ["DerivativeReport", "PointCheck", "check_derivative", "compare"]

_SHOWN_POINTS = 3  # how many differing points the report lists
_SHOWN_ENTRIES = 4  # and how many entries of each


@dataclass(frozen=True, eq=False)
class PointCheck:
    """One point: the arguments, the true values, yours, and what differs."""

    point: str  # the point as the report prints it
    names: list[str]  # a name for each result: '', "['W1']", '[0]'
    expected: list[numpy.ndarray]  # the true leaves (float64)
    got: list[numpy.ndarray | None]  # yours, None where it is not numbers
    tolerances: list[float]  # one per result; empty where yours is not numbers
    rtol: float
    differences: list[str]  # 'name[i]: yours a, true b' for each entry off, or the problem

    @property
    def ok(self) -> bool:
        return not self.differences


@dataclass(frozen=True, eq=False)
class DerivativeReport:
    """What `check_derivative` found: true (``.ok``) when yours agrees at every point.

    It prints as a short report: where yours differs, entry by entry, and the hints.
    """

    what: str
    checks: tuple[PointCheck, ...]
    hints: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        n = len(self.checks)
        if self.ok:
            rtol = max(c.rtol for c in self.checks)
            return (
                f"✓ {self.what}: yours agrees at {n} point{'s' * (n != 1)} "
                f"(to {rtol:.2g} times its largest entry)"
            )
        bad = [(i, c) for i, c in enumerate(self.checks, 1) if not c.ok]
        lines = [f"✗ {self.what}: yours differs at {len(bad)} of {n} point{'s' * (n != 1)}"]
        if not any(c.tolerances for _, c in bad):  # not numbers at all: the same at every point
            return "\n".join([*lines, f"  {bad[0][1].differences[0]}"])
        for i, c in bad[:_SHOWN_POINTS]:
            lines.append(f"  at point {i}, {c.point}:")
            lines += [f"    {d}" for d in c.differences[:_SHOWN_ENTRIES]]
            if len(c.differences) > _SHOWN_ENTRIES:
                lines.append(f"    ... and {len(c.differences) - _SHOWN_ENTRIES} more entries")
        lines += [f"  hint: {h}" for h in self.hints]
        return "\n".join(lines)

    __repr__ = __str__


# --------------------------------------------------------------------------- the checker


def check_derivative(
    f: Callable[..., Any],
    df: Callable[..., Any],
    *args: Any,
    at: Sequence[Any] | None = None,
    argnums: int | tuple[int, ...] = 0,
    backward: bool = False,
    points: int = 4,
    seed: int = 0,
) -> DerivativeReport:
    """Compare your derivative `df` of `f` with chainrule's, and say where and how it differs.

    `f` is written with ``chainrule.numpy``; `df` is yours (plain NumPy is fine) and takes
    the same arguments. What `df` returns depends on `f`:

    - `f` returns a scalar: the derivative or gradient, shaped like the argument (a pytree
      of parameters gives a pytree of gradients: a backward pass), as ``cr.grad(f)``;
    - `f` returns an array: the Jacobian, shaped ``out.shape + in.shape``, as
      ``cr.jacobian(f)``;
    - ``backward=True``: ``df(*args, g)`` is the backward pass of one layer: given ``g``,
      the gradient with respect to f's output, it returns the gradient with respect to the
      argument (``g`` times the Jacobian), as the function ``cr.vjp`` returns.

    `argnums` says which arguments are differentiated (a tuple: `df` returns one result per
    argument, in that order); the others (data, targets) stay fixed. The points are `at` (a
    list of points, each a tuple of arguments, or one value for a function of one argument),
    or `args` and ``points - 1`` more drawn near it with the fixed `seed`, or, with neither,
    `points` scalars drawn in [-3, 3] for each argument. Points where f or its derivative is
    not finite are drawn again; a point you give there is refused. Do not give a kink (|x|
    at 0): f has no derivative there, and chainrule's value is only a convention.

    Returns a `DerivativeReport`: true when yours agrees everywhere, and printed, where it
    differs, entry by entry, with a hint. An error raised by `df` reaches you unchanged, with
    its traceback.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> def softplus(x):
    ...     return np.log(1 + np.exp(x))
    >>> cr.check_derivative(softplus, lambda x: 1 / (1 + np.exp(-x)))
    ✓ the derivative of `softplus`: yours agrees at 4 points (to 1.5e-08 times its largest entry)
    >>> report = cr.check_derivative(softplus, lambda x: -1 / (1 + np.exp(-x)))
    >>> report.ok
    False
    >>> print(report.hints[0])
    wrong sign: yours is minus the true derivative. Check the sign of each term.
    """
    who = f"check_derivative of {describe(f)}"
    if not callable(f) or not callable(df):
        raise TypeError(f"{who}: f and df must be functions, got {type(f).__name__} and "
                        f"{type(df).__name__}.")  # fmt: skip
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ValueError(f"{who}: points must be a positive integer, got {points!r}.")
    many = isinstance(argnums, tuple)
    rng = numpy.random.default_rng(seed)
    if at is not None:
        if args:
            raise TypeError(f"{who}: give the points either as arguments or as at=, not both.")
        given = [tuple(p) if isinstance(p, tuple) else (p,) for p in at]
        if not given:
            raise ValueError(f"{who}: at= is empty; give at least one point.")
    else:
        given = [args] if args else []
    example = args or (given[0] if given else (0.0,) * _arity(f, who))
    nums = _argnums(argnums, len(example), who)

    def truth(point: tuple[Any, ...]) -> tuple[Any, Any]:
        """chainrule's derivative at `point`, and the cotangent g drawn for a backward pass."""
        if backward:
            g = tree.map(lambda o: rng.standard_normal(numpy.shape(o)), f(*point))
            pull = vjp(lambda *moved: f(*_replace(point, nums, moved)), *(point[i] for i in nums))
            cotangents = pull[1](g)
            return (cotangents if many else cotangents[0]), g
        out = f(*point)
        if tree.leaves(out) == [out] and numpy.ndim(out) == 0:
            return grad(f, argnums)(*point), None
        return jacobian(f, argnums)(*point), None

    checked = []
    for point in given:
        point = _floats(point, nums, who)
        with numpy.errstate(all="ignore"):  # a point outside f's domain is refused below
            expected, g = truth(point)
        if not _finite(expected):
            raise ValueError(f"{who}: the derivative is not finite at {point!r}; choose "
                             "points where f is differentiable.")  # fmt: skip
        checked.append((point, expected, g))
    while at is None and len(checked) < points:
        checked.append(_draw(truth, example, nums, rng, around=bool(args), who=who))

    names = _parameter_names(f, len(checked[0][0]))
    cases = []
    for point, expected, g in checked:
        mine = df(*_copies(point), *(() if g is None else _copies((g,))))
        cases.append((_show_point(point, names), expected, mine))
    kind = "backward pass" if backward else "derivative"
    report = compare(f"the {kind} of {describe(f)}", cases)
    order = _parameter_names(df, len(names))
    if not report.ok and order != names and sorted(order) == sorted(names):
        note = (f"swapped arguments? df takes ({', '.join(order)}) and f takes "
                f"({', '.join(names)}): df is called with f's arguments, in f's order.")  # fmt: skip
        return replace(report, hints=(note, *report.hints))
    return report


def _argnums(argnums: int | tuple[int, ...], n: int, who: str) -> tuple[int, ...]:
    """The differentiated arguments' positions, counted from 0 (-1 is the last)."""
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    for i in nums:
        if isinstance(i, bool) or not isinstance(i, int) or not -n <= i < n:
            raise ValueError(f"{who}: argnums {i!r} is not the position of one of the {n} "
                             "argument(s).")  # fmt: skip
    return tuple(i % n for i in nums)


def _replace(point: tuple[Any, ...], nums: tuple[int, ...], values: Any) -> tuple[Any, ...]:
    """`point` with its arguments `nums` replaced by `values`."""
    full = list(point)
    for i, v in zip(nums, values, strict=True):
        full[i] = v
    return tuple(full)


def _finite(t: Any) -> bool:
    return all(numpy.all(numpy.isfinite(x)) for x in tree.leaves(t))


def _draw(
    truth: Callable[[tuple[Any, ...]], tuple[Any, Any]],
    example: tuple[Any, ...],
    nums: tuple[int, ...],
    rng: numpy.random.Generator,
    around: bool,
    who: str,
) -> tuple[tuple[Any, ...], Any, Any]:
    """A random point where chainrule's derivative is finite, with it (and g): outside f's
    domain (a log of a negative, a scale below 0) a point is drawn again."""
    problem = "it is not finite"
    for _ in range(100):
        point = _near(example, nums, rng, around)
        with numpy.errstate(all="ignore"):
            try:
                expected, g = truth(point)
            except (ArithmeticError, ValueError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
        if _finite(expected):
            return point, expected, g
    raise ValueError(f"{who}: found no point near {example!r} where the derivative can be "
                     f"taken (last: {problem}); give the points with at=[...].")  # fmt: skip


_CHAIN_RULE_ADVICE = (
    "no simple pattern (sign, factor, transpose): redo the chain rule one step at a time; "
    "cr.explain(f, ...) prints chainrule's steps with their numbers."
)


def compare(
    what: str, cases: Sequence[tuple[str, Any, Any]], advice: str = _CHAIN_RULE_ADVICE
) -> DerivativeReport:
    """The report on `cases`, each ``(point, true pytree, yours)``: the engine of the checker,
    also for exercises whose answer is a value (a stable logsumexp, an Adam step) rather than
    a derivative. `advice` is the hint where no usual mistake fits."""
    checks = [_check_point(point, expected, mine) for point, expected, mine in cases]
    return DerivativeReport(what, tuple(checks), tuple(_hints(checks, advice)))


# ------------------------------------------------------------------------------- points


def _arity(f: Callable[..., Any], who: str) -> int:
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return 1
    n = sum(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in params
    )
    if n == 0:
        raise TypeError(f"{who}: f takes no argument to differentiate.")
    return n


def _floats(point: tuple[Any, ...], nums: tuple[int, ...], who: str) -> tuple[Any, ...]:
    """The point with its differentiated arguments as float64 arrays (ints would be refused)."""

    def real(a: Any) -> numpy.ndarray:
        a = numpy.asarray(a)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{who}: the arguments differentiated must be real numbers or "
                            f"arrays, got dtype {a.dtype}.")  # fmt: skip
        return a.astype(float)

    return tuple(tree.map(real, a) if i in nums else a for i, a in enumerate(point))


def _near(
    base: tuple[Any, ...], nums: tuple[int, ...], rng: numpy.random.Generator, around: bool
) -> tuple[Any, ...]:
    """A random point: the differentiated arguments moved by about half their size (at least
    0.5), or, with no example, every argument drawn uniformly in [-3, 3]."""

    def move(a: Any) -> Any:
        a = numpy.asarray(a, dtype=float)
        if not around:
            return rng.uniform(-3.0, 3.0, a.shape)
        return a + 0.5 * numpy.maximum(numpy.abs(a), 1.0) * rng.standard_normal(a.shape)

    moved = range(len(base)) if not around else nums
    return tuple(tree.map(move, a) if i in moved else a for i, a in enumerate(base))


def _copies(point: tuple[Any, ...]) -> tuple[Any, ...]:
    """Fresh copies, so that a df that writes into its arguments changes nothing here."""
    return tuple(tree.map(lambda a: numpy.array(a) if isinstance(a, numpy.ndarray) else a, a)
                 for a in point)  # fmt: skip


def _parameter_names(f: Callable[..., Any], n: int) -> list[str]:
    try:
        names = [p.name for p in inspect.signature(f).parameters.values()]
    except (TypeError, ValueError):
        names = []
    return (names + [f"arg{i}" for i in range(len(names), n)])[:n]


def _show_point(point: tuple[Any, ...], names: list[str]) -> str:
    """``x=0.5, y=-1`` for small arguments, the argument's shape for larger ones."""
    parts = []
    for name, a in zip(names, point, strict=True):
        leaves = tree.leaves(a)
        if len(leaves) == 1 and numpy.size(leaves[0]) <= 3:
            v = numpy.asarray(leaves[0])
            text = f"{float(v):.4g}" if v.ndim == 0 else numpy.array2string(v, precision=4)
            parts.append(f"{name}={text}")
        else:
            parts.append(f"{name}=<{_shape_text(a)}>")
    return ", ".join(parts)


def _shape_text(a: Any) -> str:
    leaves = tree.leaves(a)
    if len(leaves) == 1 and leaves[0] is a:
        return f"shape {numpy.shape(a)}"
    return f"{len(leaves)} arrays"


# ---------------------------------------------------------------------------- comparing


def _names(t: Any) -> list[str]:
    """A name per leaf, in `tree.flatten`'s order: ``['W1']``, ``[0]``, or '' for one leaf."""
    if isinstance(t, dict):
        keys = list(t)
        with contextlib.suppress(TypeError):
            keys = sorted(keys)
        return [f"[{k!r}]{n}" for k in keys for n in _names(t[k])]
    if isinstance(t, (tuple, list)) and not hasattr(t, "_fields"):
        return [f"[{i}]{n}" for i, v in enumerate(t) for n in _names(v)]
    if hasattr(t, "_fields"):
        return [f".{k}{n}" for k, v in zip(t._fields, t, strict=True) for n in _names(v)]
    return [f"<{i}>" for i in range(len(tree.leaves(t)))] if tree.leaves(t) != [t] else [""]


def _precision(leaves: list[Any]) -> float:
    """sqrt(eps) of the least precise float dtype you returned (float64 for everything else)."""
    eps = [numpy.finfo(numpy.asarray(x).dtype).eps for x in leaves
           if numpy.asarray(x).dtype.kind == "f"]  # fmt: skip
    return math.sqrt(max(eps, default=numpy.finfo(float).eps))


def _check_point(point: str, expected: Any, mine: Any) -> PointCheck:
    true_leaves = [numpy.asarray(e, dtype=float) for e in tree.leaves(expected)]
    names = _names(expected)
    unusable: list[numpy.ndarray | None] = [None] * len(true_leaves)
    if mine is None:
        return PointCheck(point, names, true_leaves, unusable, [], 0.0,
                          ["yours returned None: fill in the body and return the result"])  # fmt: skip
    try:
        one = len(true_leaves) == 1  # then a list of numbers is one array
        my_leaves = [numpy.asarray(m, dtype=float) for m in ([mine] if one else tree.leaves(mine))]
    except (TypeError, ValueError) as exc:
        return PointCheck(point, names, true_leaves, unusable, [], 0.0,
                          [f"yours is not numbers: {exc}"])  # fmt: skip
    if len(my_leaves) != len(true_leaves):
        return PointCheck(point, names, true_leaves, unusable, [], 0.0, [
            f"yours has {len(my_leaves)} array(s), the true one {len(true_leaves)}: return "
            f"one result for each of {_structure(expected)}"])  # fmt: skip
    # Each result on its own scale (a small bias gradient is not judged by the large weight
    # gradient beside it), but never below eps times the largest of all: rounding.
    rtol = _precision(tree.leaves(mine))
    scales = [float(numpy.max(numpy.abs(e), initial=0.0)) for e in true_leaves]
    floor = rtol * max(scales, default=0.0) or 1.0
    tolerances = [rtol * max(s, floor) for s in scales]
    got: list[numpy.ndarray | None] = list(my_leaves)
    differences = []
    for name, e, m, tol in zip(names, true_leaves, my_leaves, tolerances, strict=True):
        if m.shape != e.shape:
            differences.append(f"{name or 'yours'}: shape {m.shape}, the true one {e.shape}")
            continue
        off = ~(numpy.abs(m - e) <= tol)  # NaN is off too
        for idx in zip(*numpy.nonzero(off), strict=True) if e.ndim else ([()] if off else []):
            where = f"{name}{list(map(int, idx)) if idx else ''}" or "value"
            differences.append(f"{where}: yours {_fmt(m[idx])}, true {_fmt(e[idx])}")
    return PointCheck(point, names, true_leaves, got, tolerances, rtol, differences)


def _structure(t: Any) -> str:
    return ", ".join(f"{n or 'the result'} {numpy.shape(x)}"
                     for n, x in zip(_names(t), tree.leaves(t), strict=True))  # fmt: skip


def _fmt(x: Any) -> str:
    return f"{float(x):.6g}"


# -------------------------------------------------------------------------------- hints


def _close(a: numpy.ndarray, b: numpy.ndarray, tol: float) -> bool:
    return a.shape == b.shape and bool(numpy.all(numpy.abs(a - b) <= tol))


def _fraction(c: float) -> str:
    """2, 1/2, 1/8 or -3 when c is such a simple fraction, else c to 4 digits."""
    q = Fraction(c).limit_denominator(1000)
    if abs(float(q) - c) <= 1e-6 * abs(c):
        return str(q)
    return f"{c:.4g}"


def _hints(checks: list[PointCheck], advice: str) -> list[str]:
    bad = [c for c in checks if not c.ok]
    if not bad:
        return []
    if not all(c.tolerances for c in bad):
        return []  # None or not numbers: the difference line says it all
    hints = _swaps(checks)
    swapped = {k for i, j in _swapped_pairs(checks) for k in (i, j)}
    for k, name in enumerate(checks[0].names):
        hint = None if k in swapped else _leaf_hint(checks, k)
        if hint:
            hints.append(f"{_label(name)}: {hint}" if name else hint)
    if not hints and len(bad) < len(checks):
        good = [i + 1 for i, c in enumerate(checks) if c.ok]
        wrong = [i + 1 for i, c in enumerate(checks) if not c.ok]
        hints.append(
            f"right at point(s) {_list(good)}, wrong at {_list(wrong)}: does your formula "
            "hold for every input (both signs, each side of a kink, each branch)?"
        )
    if not hints:
        hints.append(advice)
    return hints


def _label(name: str) -> str:
    """A result's name in a hint: ``result[1]`` for the second of a tuple, ``['W1']``."""
    return f"result{name}" if name[1:2].isdigit() else name


def _list(xs: list[int]) -> str:
    return ", ".join(map(str, xs))


def _leaf_hint(checks: list[PointCheck], k: int) -> str | None:
    """What is wrong with result `k` across the points, if it is one of the usual mistakes."""
    pairs = [(g, c.expected[k], c.tolerances[k]) for c in checks if (g := c.got[k]) is not None]
    if len(pairs) < len(checks) or all(_close(g, e, t) for g, e, t in pairs):
        return None
    if all(g.ndim == 2 and _close(g.T, e, t) for g, e, t in pairs):
        return (
            "transposed: yours is the transpose of the true one. Check the order of a matrix "
            "product (x W against W x) and what the shape of the result must be."
        )
    if all(g.ndim == 1 and e.shape == g.shape * 2 and _close(g, e.diagonal(), t)
           for g, e, t in pairs):  # fmt: skip
        return (
            "yours is the diagonal of the Jacobian: right for a function that works entry by "
            "entry, but its derivative at an array is the whole Jacobian. Check yours at "
            "scalar points (at=[0.5, 2.0]), or against cr.elementwise_grad(f)."
        )
    if any(g.shape != e.shape for g, e, _ in pairs):
        (g, e, _), *_ = [(g, e, t) for g, e, t in pairs if g.shape != e.shape]
        same = all(g.size == e.size and _close(g.reshape(e.shape), e, t) for g, e, t in pairs)
        return (
            f"wrong shape {g.shape}: the true one has shape {e.shape}"
            + (", and the same numbers: reshape yours." if same else ". A derivative is shaped "
               "like what it is taken with respect to.")
        )  # fmt: skip
    if any(not numpy.all(numpy.isfinite(g)) and numpy.all(numpy.isfinite(e)) for g, e, _ in pairs):
        return (
            "yours is not finite (inf or nan) where the true one is: an overflow, or a "
            "division by zero? Rewrite the formula so that no intermediate can overflow."
        )
    if all(_close(g, -e, t) for g, e, t in pairs):
        return "wrong sign: yours is minus the true derivative. Check the sign of each term."
    g_all = numpy.concatenate([g.ravel() for g, _, _ in pairs])
    e_all = numpy.concatenate([e.ravel() for _, e, _ in pairs])
    if e_all @ e_all > 0:
        c = float(g_all @ e_all / (e_all @ e_all))
        if c != 0 and all(_close(g, c * e, t * max(1.0, abs(c))) for g, e, t in pairs):
            return (
                f"a constant factor: yours is {_fraction(c)} times the true one. A missing or "
                "extra constant, like the 2 of d/dx x² = 2x or the 1/n of a mean?"
            )
    return None


def _swapped_pairs(checks: list[PointCheck]) -> list[tuple[int, int]]:
    """Results returned in the wrong order: yours i is the true j, and yours j the true i."""
    n = len(checks[0].expected)
    return [(i, j) for i in range(n) for j in range(i + 1, n)
            if all(_swapped(c, i, j) for c in checks)]  # fmt: skip


def _swaps(checks: list[PointCheck]) -> list[str]:
    names = [_label(n) for n in checks[0].names]
    return [
        f"swapped: your {names[i]} is the true {names[j]} and the other way round: return "
        "the results in the order of the arguments."
        for i, j in _swapped_pairs(checks)
    ]


def _swapped(c: PointCheck, i: int, j: int) -> bool:
    gi, gj = c.got[i], c.got[j]
    return (
        gi is not None and gj is not None and not c.ok
        and _close(gi, c.expected[j], c.tolerances[j])
        and _close(gj, c.expected[i], c.tolerances[i])
    )  # fmt: skip
