"""What the tests of the tour's parts share: a stop's printed text and pictures, and the
numbers and lines in it."""

from __future__ import annotations

import re
from pathlib import Path

from chainrule.learn import tour


def stop(slug: str) -> tour.Stop:
    found = tour.find(slug)
    assert found is not None, f"no stop {slug!r}"
    return found


def run(slug: str, pictures: Path | None = None) -> tuple[str, list[Path]]:
    """What the stop prints, and the pictures it draws (into `pictures`, if given)."""
    return tour.output(stop(slug), pictures)


def printed(slug: str) -> str:
    return run(slug)[0]


def numbers(text: str) -> list[float]:
    """The decimal numbers in `text` (integers without a point are left out)."""
    return [float(n) for n in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", text)]


def line(text: str, start: str) -> str:
    """The one line of `text` that starts with `start`."""
    (found,) = [ln for ln in text.splitlines() if ln.startswith(start)]
    return found
