"""The ``chainrule`` command: ``train``, and for learners ``grad``, ``descend`` and ``tour``.

Each command lives in its own module of this package with two functions: ``add_arguments``
(its options, for argparse) and ``run(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import descend, grad, tour, train

COMMANDS = {"train": train, "grad": grad, "descend": descend, "tour": tour}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="The calculus of machine learning, computed and shown.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        doc = (module.__doc__ or "").strip()
        command = sub.add_parser(
            name,
            help=doc.splitlines()[0] if doc else None,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chainrule`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(COMMANDS[args.command].run(args))


if __name__ == "__main__":
    sys.exit(main())
