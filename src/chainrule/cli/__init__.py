"""The ``chainrule`` command: ``train`` and ``sweep``, and for learners ``grad``, ``descend``
and ``tour``.

Each command lives in its own module of this package with two functions: ``add_arguments``
(its options, for argparse) and ``run(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import descend, exercise, grad, sweep, tour, train

COMMANDS = {
    "train": train,
    "sweep": sweep,
    "grad": grad,
    "descend": descend,
    "tour": tour,
    "exercise": exercise,
}


# The positional argument of each command that may begin with '-' ("-x**2"): argparse takes
# such a word for an unknown option, so `main` hands it back to its place.
_LEADING_DASH = {"grad": "expression", "descend": "target"}


def build_parser() -> argparse.ArgumentParser:
    return _build()[0]


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="The calculus of machine learning, computed and shown.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = {}
    for name, module in COMMANDS.items():
        doc = (module.__doc__ or "").strip()
        command = sub.add_parser(
            name,
            help=doc.splitlines()[0] if doc else None,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        commands[name] = command
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chainrule`` console script; returns the exit status.

    Bad options end with argparse's usage message and status 2, never a traceback.
    """
    parser, commands = _build()
    args, extras = parser.parse_known_args(argv)
    if args.command is None:
        if extras:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        parser.print_help()
        return 2
    command = commands[args.command]
    slot = _LEADING_DASH.get(args.command)
    if slot is not None and getattr(args, slot) is None:
        if len(extras) == 1 and extras[0].startswith("-"):
            setattr(args, slot, extras.pop())
        elif not extras:
            command.error(f"the following arguments are required: {slot}")
    if extras:
        command.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        return int(COMMANDS[args.command].run(args))
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
