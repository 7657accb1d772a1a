"""Exercises that check your own work: write a derivative or a backward pass by hand, then check it.

Each exercise prints what to write and a template: save the template to a file, fill in the
body, and `--check` your file. Checking runs your file with Python (runpy), as `python
mine.py` would (except for its `if __name__ == "__main__":` block), takes the function named
in the template from it, and compares it with chainrule's derivative at several points: it
says where yours differs, entry by entry, with a hint (a wrong sign, a missing factor, a
transpose). Check only files you wrote or trust: checking runs them.

examples:
  chainrule exercise --list                      the exercises, by part of the study guide
  chainrule exercise softplus                    what to write, and the template
  chainrule exercise softplus --template > mine.py
  chainrule exercise softplus --check mine.py    is it right? (exit status 0 if so)
  chainrule exercise softplus --solution         the reference solution, once you have tried
"""

from __future__ import annotations

import argparse
import runpy
import sys
import traceback
from pathlib import Path

from chainrule.learn import exercises, tour


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="the exercise (see --list)")
    parser.add_argument("--list", action="store_true", help="list the exercises and exit")
    show = parser.add_mutually_exclusive_group()
    show.add_argument("--template", action="store_true", help="print only the template")
    show.add_argument("--solution", action="store_true", help="print the reference solution")
    show.add_argument("--check", metavar="FILE", help="check the function in FILE (runs FILE)")


def run(args: argparse.Namespace) -> int:
    if args.list or args.name is None:
        _list()
        return 0
    try:
        ex = exercises.get(args.name)
    except KeyError:
        names = ", ".join(exercises.names())
        print(f"chainrule exercise: no exercise {args.name!r}; the exercises are {names}",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.template:
        print(ex.template, end="")
    elif args.solution:
        print(ex.solution, end="")
    elif args.check:
        return _check(ex, args.check)
    else:
        print(f"{ex.title[0].upper()}{ex.title[1:]} ({tour.PARTS[ex.part]}). Fill in the body")
        print(f"(chainrule exercise {ex.name} --template > mine.py writes this to a file):\n")
        print(ex.template, end="")
        print(f"\nThen: chainrule exercise {ex.name} --check mine.py")
    return 0


def _list() -> None:
    for key, title in tour.PARTS.items():
        found = [exercises.get(n) for n in exercises.names() if exercises.get(n).part == key]
        if found:
            print(f"{title}:")
        for ex in found:
            print(f"  {ex.name:<22} {ex.title}")


def _check(ex: exercises.Exercise, path: str) -> int:
    """Run the learner's file, take their function, check it: 0 if right, 1 if not."""
    where = f"chainrule exercise {ex.name}"
    if not Path(path).is_file():
        print(f"{where}: no file {path!r}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(path).resolve().parent))  # its neighbours import, as with python
    try:
        namespace = runpy.run_path(path, run_name="chainrule_exercise")
    except Exception:
        traceback.print_exc()
        print(f"{where}: running {path} failed (above); fix it and check again.", file=sys.stderr)
        return 1
    finally:
        sys.path.pop(0)
    fn = namespace.get(ex.function)
    if not callable(fn):
        print(f"{where}: {path} defines no function {ex.function}; write it as in the "
              f"template (chainrule exercise {ex.name} --template).", file=sys.stderr)  # fmt: skip
        return 1
    try:
        report = ex.check(fn)
    except Exception:
        traceback.print_exc()
        print(f"{where}: your {ex.function} raised an error (above) at a check point.",
              file=sys.stderr)  # fmt: skip
        return 1
    print(report)
    return 0 if report.ok else 1
