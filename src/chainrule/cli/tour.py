"""Walk through the mathematics of machine learning, one stop at a time, with live chainrule code.

Each stop prints a short lesson, the code that shows it, and what that code prints, with
every number checked against a formula or central differences (✓). In a terminal the tour
waits for Enter between stops. The pages of docs/tour hold the same stops.

examples:
  chainrule tour             every stop, in order
  chainrule tour --list      the stops, by part of the study guide
  chainrule tour 3           one stop, by number
  chainrule tour backprop    or by name
"""

from __future__ import annotations

import argparse
import sys

from chainrule.learn import tour


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "stop", nargs="?", help="run only this stop: its number (1, 2, ...) or its name"
    )
    parser.add_argument("--list", action="store_true", help="list the stops and exit")
    parser.add_argument("--no-code", action="store_true", help="hide the code of each stop")


def run(args: argparse.Namespace) -> int:
    if args.list:
        for key, title in tour.PARTS.items():
            stops = [s for s in tour.STOPS if s.part == key]
            if stops:
                print(f"{title}:")
            for s in stops:
                print(f"  {s.number:>2}. {s.title} ({s.slug}): {s.summary}")
        return 0
    if args.stop is None:
        stops = tour.STOPS
    else:
        found = tour.find(args.stop)
        if found is None:
            names = ", ".join(f"{s.number} ({s.slug})" for s in tour.STOPS)
            print(f"chainrule tour: no stop {args.stop!r}; the stops are {names}", file=sys.stderr)
            return 2
        stops = [found]
    failures = 0
    for i, stop in enumerate(stops):
        if i and not _next(stop):
            break
        failures += tour.run(stop, show_code=not args.no_code)
        print()
    if failures:
        print(f"✗ {failures} check(s) failed: a number above disagrees with its witness.")
        return 1
    return 0


def _next(stop: tour.Stop) -> bool:
    """In a terminal, wait for Enter before `stop` (False: the learner quit)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return True
    try:
        answer = input(f"Enter: stop {stop.number}, {stop.title}. q: quit. ")
    except (EOFError, KeyboardInterrupt):
        print()
        return False
    print()
    return answer.strip().lower() not in ("q", "quit")
