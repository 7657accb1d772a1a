"""Run gradient-based optimizers on a surface and report where they go.

TARGET is a named surface (bowl, narrow_bowl, rosenbrock, himmelblau, saddle) or an
expression read by chainrule's own parser, e.g. "x**2 + 4*y**2".

examples:
  chainrule descend "x**2 + 4*y**2" --from 3,3 --optimizer adam --lr 0.1 --steps 100
  chainrule descend rosenbrock --optimizer all --steps 2000 --plot rosenbrock.png
  chainrule descend "x**4 - 3*x" --from 2 --optimizer momentum --lr 0.01
  chainrule descend "x**2" --from 5 --lr 0.1 --plot x2.png
  chainrule descend "x**2 + 4*y**2" --from 3,3 --optimizer gd,adam --steps 10 --table

A run that diverges (a learning rate too large: a point that is not finite, or f rising
far above its start) stops and says at which step.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy

import chainrule as cr
from chainrule.learn import surfaces

from . import common

MAX_STEPS = 1_000_000
"""Most steps per optimizer: about a minute each; the path kept for --plot stays bounded."""


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
    parser.add_argument(
        "--steps",
        type=int,
        default=100,
        help=f"at most this many steps (default 100, at most {MAX_STEPS:,})",
    )
    parser.add_argument(
        "--table",
        action="store_true",
        help="print every step of each optimizer: step, point, f and the gradient's length "
        "|grad f| (a run of more than 10,000 steps keeps every 2nd, 4th, ... step)",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="draw the paths: on the curve for one variable, on the contours for two",
    )


def run(args: argparse.Namespace) -> int:
    names = _optimizers(args.optimizer)
    if names is None:
        return 2
    if not 0 < args.steps <= MAX_STEPS:
        return _error(
            f"--steps must be a number of steps from 1 to {MAX_STEPS:,}, got {args.steps}"
        )
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
    if args.plot and len(variables) > 2:
        return _error(
            f"--plot draws functions of one or two variables; this one has {len(variables)}"
        )
    if args.plot and not common.check_plot_path("descend", args.plot):
        return 2
    start = _start(args.start, surface, variables)
    if start is None:
        return 2
    with numpy.errstate(all="ignore"):
        first, slope = cr.value_and_grad(lambda p: fn(*p))(numpy.array(start))
    if not math.isfinite(first):
        return _error(f"f is not finite at the start ({common.fmt(first)}): choose another --from")
    if not numpy.all(numpy.isfinite(slope)):
        return _error(
            "the gradient of f is not finite at the start (as sqrt(x) at 0): choose another --from"
        )
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
        if args.table:
            print(_table(path, fn, variables))
    if args.plot:
        return _plot(args.plot, surface, fn, paths, title)
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
    head = f"  {path.optimizer:<9} lr {common.fmt(path.lr):<7} "
    if path.diverged:
        cause = (
            "the next point was not finite"
            if path.diverged_at > path.steps_taken
            else f"f rose from {common.fmt(float(path.values[0]))} to "
            f"{common.fmt(float(path.values[-1]))}"
        )
        return (
            f"{head}diverged at step {path.diverged_at}: {cause}; the learning rate is too "
            f"large for this function (last point kept: {end})"
        )
    state = "converged" if path.converged else "stopped"
    value = common.fmt(float(path.values[-1]))
    line = f"{head}{state} after {path.steps_taken} steps at {end}, f = {value}"
    if surface is not None and surface.minima:
        minima = numpy.asarray(surface.minima, dtype=float)
        dist = numpy.linalg.norm(minima - numpy.asarray(path.final), axis=1)
        k = int(numpy.argmin(dist))
        nearest = ", ".join(common.fmt(float(m)) for m in minima[k])
        line += f"; {common.fmt(float(dist[k]))} from the minimum ({nearest})"
    return line


def _table(path: Any, fn: Any, variables: tuple[str, ...]) -> str:
    """The steps of one run as aligned columns: step, the point, f and |grad f| there."""
    gradient = cr.grad(lambda p: fn(*p))
    rows = [["step", *variables, "f", "|grad f|"]]
    with numpy.errstate(all="ignore"):
        for step, point, value in zip(path.step_numbers, path.points, path.values, strict=True):
            norm = float(numpy.linalg.norm(gradient(point)))
            numbers = [*(float(x) for x in point), float(value), norm]
            rows.append([str(int(step)), *(common.fmt(x) for x in numbers)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "    " + "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    )


def _plot(
    target: str, surface: surfaces.Surface | None, fn: Any, paths: list[Any], title: str
) -> int:
    from chainrule.learn import plot

    def draw() -> None:
        plot.descent_paths(
            fn,
            paths,
            xlim=None if surface is None else surface.xlim,
            ylim=None if surface is None else surface.ylim,
            minima=() if surface is None else surface.minima,
            title=title,
            path=target,
        )

    return common.save_plot("descend", target, draw)


def _error(message: str) -> int:
    print(f"chainrule descend: {message}", file=sys.stderr)
    return 2
