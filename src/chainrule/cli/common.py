"""What the learners' commands share: reading expressions and points, printing numbers."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy

from chainrule.learn import expr


def parse_expression(text: str) -> expr.Expression | None:
    """The parsed expression, or None after printing the error with its caret to stderr."""
    try:
        return expr.parse(text)
    except expr.ExpressionError as exc:
        print(f"chainrule: cannot read the expression: {exc}", file=sys.stderr)
        return None


def parse_point(text: str, names: Sequence[str]) -> dict[str, float] | None:
    """``"x=3,y=4"`` as ``{"x": 3.0, "y": 4.0}`` for exactly `names`, or None after an error.

    >>> parse_point("x=3, y=-1.5", ("x", "y"))
    {'x': 3.0, 'y': -1.5}
    """
    point: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name or not math.isfinite(number):
            _bad_point(f"{part!r} is not name=number (for example x=3)")
            return None
        if name not in names:
            known = ", ".join(names) or "none"
            _bad_point(f"{name!r} is not a variable of the expression (it has: {known})")
            return None
        if name in point:
            _bad_point(f"{name!r} is given twice")
            return None
        point[name] = number
    missing = [n for n in names if n not in point]
    if missing:
        _bad_point(
            f"no value for {', '.join(missing)}: give every variable, e.g. --at "
            + ",".join(f"{n}=1" for n in names)
        )
        return None
    return point


def _bad_point(message: str) -> None:
    print(f"chainrule: bad point: {message}", file=sys.stderr)


def fmt(x: float) -> str:
    """A number in at most 6 significant digits, without a trailing ``.0`` for integers.

    >>> fmt(6.0), fmt(0.1 + 0.2), fmt(-1e-12), fmt(123456789.0)
    ('6', '0.3', '-1e-12', '1.23457e+08')
    """
    text = f"{x:.6g}"
    return "0" if text == "-0" else text


def check_plot_path(command: str, path: str) -> bool:
    """Whether a picture can be written to `path`, checked before any work (else a message).

    The folder must exist and the suffix must name a format matplotlib writes; without
    matplotlib the suffix is not checked here: `save_plot` says what is missing.
    """
    target = Path(path)
    formats = _picture_formats()
    suffix = target.suffix.lower().lstrip(".")
    problem = None
    if not target.parent.is_dir():
        problem = f"its folder {str(target.parent)!r} does not exist"
    elif target.is_dir():
        problem = "it is a folder; give a file name such as plot.png"
    elif not suffix or (formats and suffix not in formats):
        known = ", ".join(f".{f}" for f in sorted(formats)) or ".png, .svg, .pdf"
        problem = f"its suffix says which picture format to write: one of {known}"
    if problem is None:
        return True
    print(f"chainrule {command}: cannot write --plot {path}: {problem}", file=sys.stderr)
    return False


def _picture_formats() -> set[str]:
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        return set()
    return set(FigureCanvasBase.get_supported_filetypes())


def save_plot(command: str, path: str, draw: Callable[[], object]) -> int:
    """Run `draw` (which saves to `path`) off screen; the exit status, with one message.

    matplotlib is optional: without it the message says how to install it, once, and the
    status stays 0, since everything else the command does has succeeded.
    """
    from chainrule.learn import plot

    try:
        with plot.offscreen(), numpy.errstate(all="ignore"):  # nan/inf are drawn as gaps
            draw()
    except ImportError as exc:
        print(f"chainrule {command}: no picture: {exc}", file=sys.stderr)
        return 0
    except (OSError, ValueError) as exc:
        print(f"chainrule {command}: cannot write --plot {path}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0
