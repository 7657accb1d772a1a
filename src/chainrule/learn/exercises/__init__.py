"""Exercises that check your own work: write a derivative or a backward pass, chainrule checks it.

Each `Exercise` belongs to a part of the study guide (the parts of the tour) and has a
`statement` (what to write, with the mathematics), a `template` (the function to fill in: its
body is ``...``), a `check` that runs your function through `check_derivative` and returns
its report, and a reference `solution` to read once you have tried.

>>> from chainrule.learn import exercises
>>> ex = exercises.get("softplus")
>>> print(ex.template.splitlines()[3])
def softplus_grad(x):
>>> import numpy as np
>>> ex.check(lambda x: 1 / (1 + np.exp(-x))).ok
True

From the command line: ``chainrule exercise --list``, ``chainrule exercise softplus``, then
``chainrule exercise softplus --check mine.py``.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .checker import DerivativeReport, check_derivative

__all__ = ["EXERCISES", "DerivativeReport", "Exercise", "check_derivative", "get", "names"]

# The header of every template and solution: exercises are written in plain NumPy, by hand.
_HEADER = "import numpy as np\n"


@dataclass(frozen=True)
class Exercise:
    """One task: write `solution`'s function yourself; `check` says whether yours is right."""

    name: str
    part: str
    title: str
    reference: Callable[..., Any]  # the reference solution, a plain NumPy function
    checker: Callable[[Callable[..., Any]], DerivativeReport]

    @property
    def function(self) -> str:
        """The name of the function to write (the template's)."""
        return self.reference.__name__

    @property
    def statement(self) -> str:
        """What to write: the docstring of the reference solution."""
        return inspect.cleandoc(self.reference.__doc__ or "")

    @property
    def solution(self) -> str:
        """The reference solution, as code that runs on its own."""
        return _HEADER + "\n\n" + _source(self.reference)

    @property
    def template(self) -> str:
        """The solution with its body replaced by ``...``: the file to fill in."""
        source = _source(self.reference)
        node = ast.parse(source).body[0]
        assert isinstance(node, ast.FunctionDef) and ast.get_docstring(node) is not None
        head = source.splitlines()[: node.body[0].end_lineno]
        return _HEADER + "\n\n" + "\n".join(head) + "\n    ...\n"

    def check(self, fn: Callable[..., Any]) -> DerivativeReport:
        """Check `fn`, your version of the function: the report is true when it is right."""
        if not callable(fn):
            raise TypeError(f"exercise {self.name}: check needs your function "
                            f"{self.function}, got {type(fn).__name__}.")  # fmt: skip
        return self.checker(fn)


def _source(fn: Callable[..., Any]) -> str:
    """The function's code without its decorators."""
    lines = textwrap.dedent(inspect.getsource(fn)).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("def "))
    return "\n".join(lines[start:]) + "\n"


EXERCISES: dict[str, Exercise] = {}


def exercise(
    name: str, part: str, title: str, check: Callable[[Callable[..., Any]], DerivativeReport]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated reference solution as exercise `name` of `part`."""

    def register(reference: Callable[..., Any]) -> Callable[..., Any]:
        assert name not in EXERCISES, f"two exercises named {name!r}"
        EXERCISES[name] = Exercise(name, part, title, reference, check)
        return reference

    return register


def _load() -> dict[str, Exercise]:
    from . import catalog  # noqa: F401  (registers the exercises)

    return EXERCISES


def names() -> list[str]:
    """The exercises' names, in the order of the study guide."""
    return list(_load())


def get(name: str) -> Exercise:
    """The exercise called `name` (see `names`); a clear error for an unknown name."""
    found = _load().get(name)
    if found is None:
        raise KeyError(f"no exercise {name!r}; the exercises are {', '.join(names())}.")
    return found
