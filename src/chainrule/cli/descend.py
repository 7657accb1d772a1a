"""Run gradient-based optimizers on a surface and report where they go.

TARGET is a named surface (bowl, narrow_bowl, rosenbrock, himmelblau, saddle) or an
expression read by chainrule's own parser, e.g. "x**2 + 4*y**2".

examples:
  chainrule descend "x**2 + 4*y**2" --from 3,3 --optimizer adam --lr 0.1 --steps 100
  chainrule descend rosenbrock --optimizer all --steps 2000 --plot rosenbrock.png
  chainrule descend "x**4 - 3*x" --from 2 --optimizer momentum --lr 0.01
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy

from chainrule import surfaces

from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",  # required: `chainrule.cli.main` also accepts one that starts with '-'
        help='a surface name or an expression of its variables, e.g. "-x**2 + y**4"',
    )
    parser.add_argument(
        "--from",
        dest="start",
        metavar="POINT",
        help="the start, comma-separated values in the order the variables first appear "
        "(default for a named surface: its usual start); write --from=-1,2 when it begins "
        "with '-'",
    )
    parser.add_argument(
        "--optimizer",
        default="gd",
        metavar="NAMES",
        help=f"one or more of {', '.join(surfaces.OPTIMIZERS)} separated by commas, or all "
        "(default gd)",
    )
    parser.add_argument(
        "--lr", type=float, help="learning rate (default: one that suits the surface)"
    )
    parser.add_argument("--steps", type=int, default=100, help="at most this many steps")
    parser.add_argument("--plot", metavar="FILE", help="draw the paths on the contours")


def run(args: argparse.Namespace) -> int:
    names = _optimizers(args.optimizer)
    if names is None:
        return 2
    if args.steps <= 0:
        return _error(f"--steps must be a positive number of steps, got {args.steps}")
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        return _error(f"--lr must be a positive number, got {args.lr}")
    surface = surfaces.SURFACES.get(args.target)
    if surface is not None:
        variables: tuple[str, ...] = ("x", "y")
        fn: Any = surface.fn
        title = f"{surface.name}: f(x, y) = {surface.formula}"
    else:
        expression = common.parse_expression(args.target)
        if expression is None:
            return 2
        variables = expression.variables
        if not variables:
            return _error("the expression has no variables to optimise")
        fn, title = expression.function(), f"f({', '.join(variables)}) = {expression}"
    start = _start(args.start, surface, variables)
    if start is None:
        return 2
    print(title)
    print(
        "from " + ", ".join(f"{v} = {common.fmt(s)}" for v, s in zip(variables, start, strict=True))
    )
    paths = []
    for name in names:
        lr = args.lr if args.lr is not None else _default_lr(surface, name)
        path = surfaces.descend(lambda p: fn(*p), start, name, lr=lr, steps=args.steps)
        paths.append(path)
        print(_summary(path, variables, surface))
    if args.plot:
        return _plot(args, surface, fn, variables, start, names, paths)
    return 0


def _optimizers(text: str) -> list[str] | None:
    names = list(surfaces.OPTIMIZERS) if text == "all" else [t.strip() for t in text.split(",")]
    unknown = [n for n in names if n not in surfaces.OPTIMIZERS]
    if unknown or not names:
        _error(
            f"unknown optimizer {', '.join(map(repr, unknown)) or repr(text)}; choose from "
            f"{', '.join(surfaces.OPTIMIZERS)} or all"
        )
        return None
    return names


def _start(
    text: str | None, surface: surfaces.Surface | None, variables: tuple[str, ...]
) -> tuple[float, ...] | None:
    if text is None:
        if surface is not None:
            return tuple(float(s) for s in surface.start)
        _error(
            "give the start with --from, one value per variable in this order: "
            + ", ".join(variables)
        )
        return None
    try:
        start = tuple(float(part) for part in text.split(","))
    except ValueError:
        _error(f"--from takes comma-separated numbers such as 3,3, got {text!r}")
        return None
    if len(start) != len(variables) or not all(math.isfinite(s) for s in start):
        _error(
            f"--from needs {len(variables)} finite number(s), one for each of "
            f"{', '.join(variables)}; got {text!r}"
        )
        return None
    return start


def _default_lr(surface: surfaces.Surface | None, optimizer: str) -> float:
    rates = surfaces.DEFAULT_LR if surface is None else surface.lr
    return rates.get(optimizer, surfaces.DEFAULT_LR[optimizer])


def _summary(path: Any, variables: tuple[str, ...], surface: surfaces.Surface | None) -> str:
    end = ", ".join(
        f"{v} = {common.fmt(float(x))}" for v, x in zip(variables, path.final, strict=True)
    )
    state = "converged" if path.converged else "stopped"
    line = (
        f"  {path.optimizer:<9} lr {common.fmt(path.lr):<7} {state} after "
        f"{path.steps_taken} steps at {end}, f = {common.fmt(float(path.values[-1]))}"
    )
    if surface is not None and surface.minima:
        minima = numpy.asarray(surface.minima, dtype=float)
        dist = numpy.linalg.norm(minima - numpy.asarray(path.final), axis=1)
        k = int(numpy.argmin(dist))
        nearest = ", ".join(common.fmt(float(m)) for m in minima[k])
        line += f"; {common.fmt(float(dist[k]))} from the minimum ({nearest})"
    return line


def _plot(
    args: argparse.Namespace,
    surface: surfaces.Surface | None,
    fn: Any,
    variables: tuple[str, ...],
    start: tuple[float, ...],
    names: list[str],
    paths: list[Any],
) -> int:
    if len(variables) != 2:
        return _error(f"--plot draws functions of two variables; this one has {len(variables)}")
    try:
        from chainrule import plot

        if surface is None:
            points = numpy.concatenate([p.points for p in paths])
            points = points[numpy.all(numpy.isfinite(points), axis=1)]
            lo, hi = points.min(axis=0), points.max(axis=0)
            pad = numpy.maximum(0.25 * (hi - lo), 0.5)
            surface = surfaces.Surface(
                name=args.target,
                formula=args.target,
                fn=fn,
                start=(start[0], start[1]),
                minima=(),
                xlim=(float(lo[0] - pad[0]), float(hi[0] + pad[0])),
                ylim=(float(lo[1] - pad[1]), float(hi[1] + pad[1])),
            )
        fig = plot.optimizer_paths(
            surface,
            optimizers=tuple(names),
            lr=args.lr,
            steps=args.steps,
            start=start,
            path=args.plot,
        )
    except ImportError as exc:
        print(f"chainrule descend: {exc}", file=sys.stderr)
        return 1
    plot.pyplot().close(fig)
    print(f"wrote {args.plot}")
    return 0


def _error(message: str) -> int:
    print(f"chainrule descend: {message}", file=sys.stderr)
    return 2
