"""Differentiate an expression at a point: its value, gradient, Hessian and chain rule.

The expression is read by chainrule's own parser (never eval): numbers, variables,
+ - * / **, unary minus, parentheses, the functions sin cos tan exp log (or ln) sqrt abs
tanh sigmoid relu softplus, and the constants pi and e. Where the derivative is not finite,
or f has a kink (abs at 0), the command says so instead of calling the point critical.

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
from chainrule.learn import curvature

from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "expression",
        nargs="?",  # required: `chainrule.cli.main` also accepts one that starts with '-'
        help='the function, e.g. "x**2 + 2*y**2" or "-x**2" (or after --: -- -h**2)',
    )
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
    if args.plot and (not _plottable(names) or not common.check_plot_path("grad", args.plot)):
        return 2
    values = [point[name] for name in names]
    fn = expr.function()
    print(f"f({', '.join(names)}) = {expr}")
    if names:
        print(
            "at " + ", ".join(f"{n} = {common.fmt(v)}" for n, v in zip(names, values, strict=True))
        )
    with numpy.errstate(all="ignore"):  # a value that is not finite is explained instead
        value = float(expr(**point))
    print(f"value: f = {common.fmt(value)}{_not_finite(value)}")
    if not names:
        print("no variables: the expression is a constant, with no gradient")
        return 0
    vector_grad = cr.grad(lambda p: fn(*p))
    with numpy.errstate(all="ignore"):
        grad = numpy.asarray(vector_grad(numpy.array(values, dtype=float)), dtype=float)
    print("gradient:")
    for name, g in zip(names, grad, strict=True):
        print(f"  df/d{name} = {common.fmt(float(g))}")
    print(f"  |gradient| = {common.fmt(curvature.norm(grad))}")
    kink = None
    if not numpy.all(numpy.isfinite(grad)):
        print(
            "the derivative is not finite here: f has no finite derivative at this point "
            "(as sqrt(x) at 0, or any function where it is not defined), or it is beyond the "
            "largest float (as exp(x) beyond x = 709)"
        )
    else:
        kink = curvature.one_sided_slopes(vector_grad, values)
        if kink is not None:
            print(_slopes_message(kink, names))
    if args.hessian:
        _hessian(fn, names, values, grad, kink)
    if args.explain:
        print()
        with numpy.errstate(all="ignore"):
            print(cr.explain(fn, *values))
    if args.plot:
        return _plot(fn, names, values, args.plot)
    return 0


def _not_finite(value: float) -> str:
    if numpy.isnan(value):
        return " (not a number: f is not defined at this point)"
    if numpy.isinf(value):
        return " (not finite: f is infinite here, or beyond the largest float)"
    return ""


def _slopes_message(slopes: curvature.Slopes, names: tuple[str, ...]) -> str:
    name = names[slopes.index]
    at = f"df/d{name} = {common.fmt(slopes.at)} above"
    if slopes.kink:
        return (
            f"not differentiable here: a kink along {name}, whose slope is "
            f"{common.fmt(slopes.left)} just below this point and {common.fmt(slopes.right)} "
            f"just above it (within {slopes.within:.1g}); {at} is only a convention there (a "
            "subgradient), not a derivative"
        )
    return (
        f"careful: {at} is a derivative rule's convention at a tie, not f's derivative: f "
        f"is differentiable here along {name}, with slope {common.fmt(slopes.left)} on both "
        "sides"
    )


def _hessian(
    fn: Any,
    names: tuple[str, ...],
    values: list[float],
    grad: Any,
    kink: curvature.Slopes | None,
) -> None:
    with numpy.errstate(all="ignore"):
        hess = numpy.asarray(cr.hessian(lambda p: fn(*p))(numpy.array(values, dtype=float)))
    width = max(len(common.fmt(float(h))) for h in hess.ravel())
    print("Hessian (second derivatives d2f/dxi dxj):")
    print("  " + " ".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, hess, strict=True):
        print(
            f"{name:>{max(len(n) for n in names)}} "
            + " ".join(f"{common.fmt(float(h)):>{width}}" for h in row)
        )
    if kink is not None:
        print(
            "no verdict: the gradient above is not f's derivative here, so the "
            "second-derivative test does not apply (look at the slopes on either side)"
        )
        return
    if numpy.all(numpy.isfinite(hess)):
        eigenvalues = numpy.linalg.eigvalsh((hess + hess.T) / 2)
        print("eigenvalues: " + ", ".join(common.fmt(float(e)) for e in eigenvalues))
    else:
        eigenvalues = numpy.full(len(names), numpy.nan)
        print("eigenvalues: none (the Hessian is not finite)")
    print(curvature.classify(grad, eigenvalues))


def _plottable(names: tuple[str, ...]) -> bool:
    if 1 <= len(names) <= 2:
        return True
    print(
        f"chainrule grad: --plot draws functions of one or two variables; "
        f"this one has {len(names)} ({', '.join(names) or 'none'})",
        file=sys.stderr,
    )
    return False


def _plot(fn: Any, names: tuple[str, ...], values: list[float], path: str) -> int:
    from chainrule.learn import plot

    def draw() -> None:
        if len(names) == 1:
            plot.tangent(fn, values[0], path=path)
        else:
            (x0, y0), r = values, 3.0
            plot.gradient_field(fn, (x0 - r, x0 + r), (y0 - r, y0 + r), point=(x0, y0), path=path)

    return common.save_plot("grad", path, draw)
