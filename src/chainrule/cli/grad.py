"""Differentiate an expression at a point: its value, gradient, Hessian and chain rule.

The expression is read by chainrule's own parser (never eval): numbers, variables,
+ - * / **, unary minus, parentheses, the functions sin cos tan exp log sqrt abs tanh
sigmoid relu softplus, and the constants pi and e.

examples:
  chainrule grad "x**2 + 2*y**2" --at x=3,y=4
  chainrule grad "x**2 - y**2" --at x=0,y=0 --hessian
  chainrule grad "sigmoid(w*x + b)" --at w=0.5,x=2,b=-1 --explain
  chainrule grad "sin(x)" --at x=1 --plot sin.png
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy

import chainrule as cr
from chainrule import curvature

from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expression", help='the function, e.g. "x**2 + 2*y**2"')
    parser.add_argument(
        "--at",
        metavar="POINT",
        default="",
        help="the point, as name=value pairs: x=3,y=4 (every variable needs a value)",
    )
    parser.add_argument(
        "--hessian",
        action="store_true",
        help="also the Hessian, its eigenvalues and what they say about the point",
    )
    parser.add_argument(
        "--explain", action="store_true", help="also the chain-rule derivation, step by step"
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="draw the function (one variable: with its tangent; two: contours and the "
        "gradient arrow) to FILE (.png or .svg)",
    )


def run(args: argparse.Namespace) -> int:
    expr = common.parse_expression(args.expression)
    if expr is None:
        return 2
    point = common.parse_point(args.at, expr.variables)
    if point is None:
        return 2
    names = expr.variables
    values = [point[name] for name in names]
    fn = expr.function()
    print(f"f({', '.join(names)}) = {expr}")
    if names:
        print(
            "at " + ", ".join(f"{n} = {common.fmt(v)}" for n, v in zip(names, values, strict=True))
        )
    value = float(expr(**point))
    print(f"value: f = {common.fmt(value)}")
    if not names:
        print("no variables: the expression is a constant, with no gradient")
        return 0
    grad = numpy.array(cr.grad(fn, argnums=tuple(range(len(names))))(*values), dtype=float)
    print("gradient:")
    for name, g in zip(names, grad, strict=True):
        print(f"  df/d{name} = {common.fmt(float(g))}")
    print(f"  |gradient| = {common.fmt(float(numpy.linalg.norm(grad)))}")
    if args.hessian:
        _hessian(fn, names, values, grad)
    if args.explain:
        print()
        print(cr.explain(fn, *values))
    if args.plot:
        return _plot(fn, names, values, args.plot)
    return 0


def _hessian(fn: Any, names: tuple[str, ...], values: list[float], grad: Any) -> None:
    hess = numpy.asarray(cr.hessian(lambda p: fn(*p))(numpy.array(values, dtype=float)))
    width = max(len(common.fmt(float(h))) for h in hess.ravel())
    print("Hessian (second derivatives d2f/dxi dxj):")
    print("  " + " ".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, hess, strict=True):
        print(
            f"{name:>{max(len(n) for n in names)}} "
            + " ".join(f"{common.fmt(float(h)):>{width}}" for h in row)
        )
    eigenvalues = numpy.linalg.eigvalsh((hess + hess.T) / 2)
    print("eigenvalues: " + ", ".join(common.fmt(float(e)) for e in eigenvalues))
    print(curvature.classify(grad, eigenvalues))


def _plot(fn: Any, names: tuple[str, ...], values: list[float], path: str) -> int:
    try:
        from chainrule import plot
    except ImportError as exc:  # pragma: no cover - plot imports lazily
        print(f"chainrule grad: {exc}", file=sys.stderr)
        return 1
    try:
        if len(names) == 1:
            fig = plot.tangent(fn, values[0], path=path)
        elif len(names) == 2:
            (x0, y0), r = values, 3.0
            fig = plot.gradient_field(
                fn, (x0 - r, x0 + r), (y0 - r, y0 + r), point=(x0, y0), path=path
            )
        else:
            print(
                f"chainrule grad: --plot draws functions of one or two variables; "
                f"this one has {len(names)} ({', '.join(names)})",
                file=sys.stderr,
            )
            return 2
    except ImportError as exc:
        print(f"chainrule grad: {exc}", file=sys.stderr)
        return 1
    plot.pyplot().close(fig)
    print(f"wrote {path}")
    return 0
