"""A guided tour of the mathematics of machine learning, one stop at a time, every number live.

Each `Stop` is a function whose docstring is the lesson and whose body is the chainrule code
that demonstrates it: the tour prints the lesson, the code, and then runs the code, so what a
learner reads is exactly what produced the numbers below it. Results are compared with an
independent witness (a textbook formula, central differences, SciPy) and marked ✓ or ✗.
Where a picture teaches better, the stop draws one with `figure`: in a terminal it is
written to a file, in a notebook it is shown inline, in the documentation it is a page's
image.

The stops are grouped in `PARTS`, the parts of the study guide, one module each
(``chainrule.learn.tour.calculus``, ...). The code shown for a stop starts with the imports
it needs, so it runs as it stands when pasted into Python.

``chainrule tour`` walks through the stops in order; the same stops, rendered by
`markdown`, are the pages of ``docs/tour`` (``make docs`` writes them, a test keeps them in
sync).

>>> [stop.slug for stop in STOPS][:3]
['limits', 'derivatives', 'partials']
>>> failures = run(find("descent"), out=io.StringIO())
>>> failures
0
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import inspect
import io
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy

__all__ = [
    "PARTS", "STOPS", "Stop", "check", "exercises", "figure", "find", "markdown", "run", "show",
    "stop", "write_pages",
]  # fmt: skip

# The parts of the study guide, in order: module name and title.
PARTS: dict[str, str] = {
    "calculus": "Calculus",
    "linear_algebra": "Linear algebra",
    "probability": "Probability and statistics",
    "information": "Information theory",
    "floating_point": "Floating point",
    "regression": "Linear regression",
    "attention": "Attention",
    "reading": "Further reading",
}


@dataclass(frozen=True)
class Stop:
    """One stop of the tour: its place, its part, a short name for the command line, its code."""

    number: int
    part: str
    slug: str
    title: str
    summary: str
    code: Callable[[], None]

    @property
    def lesson(self) -> str:
        """What the stop teaches: the docstring of its code."""
        return inspect.cleandoc(self.code.__doc__ or "")

    @property
    def source(self) -> str:
        """The stop's code as it runs on its own: the imports it uses, then its body."""
        lines, _ = inspect.getsourcelines(self.code)
        text = textwrap.dedent("".join(lines))
        body = ast.parse(text).body[0]
        assert isinstance(body, ast.FunctionDef)
        first = body.body[1] if ast.get_docstring(body) is not None else body.body[0]
        code = textwrap.dedent("".join(text.splitlines(keepends=True)[first.lineno - 1 :]))
        imports = _imports_used(self.code, ast.parse(code))
        return "".join(line + "\n" for line in imports) + "\n" + code.rstrip() + "\n"


def _imports_used(code: Callable[..., Any], body: ast.Module) -> list[str]:
    """The import statements of `code`'s module that bind a name the `body` uses, one name
    a line, so that the body can be pasted and run on its own."""
    module = sys.modules[code.__module__]
    used = {n.id for n in ast.walk(body) if isinstance(n, ast.Name)}
    lines = []
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if bound in used:
                    lines.append(ast.unparse(ast.Import(names=[alias])))
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if (alias.asname or alias.name) in used:
                    lines.append(ast.unparse(ast.ImportFrom(node.module, [alias], level=0)))
    return lines


STOPS: list[Stop] = []
_failures: list[str] = []


def stop(slug: str, title: str, summary: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register the decorated function as a stop of its module's part (its ``PART``)."""

    def register(code: Callable[[], None]) -> Callable[[], None]:
        part = sys.modules[code.__module__].PART
        STOPS.append(Stop(len(STOPS) + 1, part, slug, title, summary, code))
        return code

    return register


def check(got: Any, expected: Any, tol: float = 1e-6) -> str:
    """``✓`` when `got` equals `expected` to `tol` (relative and absolute), else ``✗``.

    Inside the tour a ``✗`` is counted: `run` returns the number of failed checks.

    >>> check(0.1 + 0.2, 0.3), check([1.0, 2.0], [1.0, 2.5])
    ('✓', '✗')
    """
    if numpy.allclose(numpy.asarray(got, complex), numpy.asarray(expected, complex), tol, tol):
        return "✓"
    _failures.append(repr(got))
    return "✗"


def show(array: Any) -> str:
    """An array on one line, rounded to four decimals.

    >>> show([[802.0000000001, -400.0], [-400.0, 200.0]]), show([0.5, -1e-17])
    ('[[802.0, -400.0], [-400.0, 200.0]]', '[0.5, 0.0]')
    """
    return str((numpy.round(numpy.asarray(array, dtype=float), 4) + 0.0).tolist())


# ------------------------------------------------------------------------------------ pictures

# Where `figure` puts a picture: a directory and the images written so far (for `markdown`).
_pictures: dict[str, Any] = {"directory": None, "written": []}


def figure(fig: Any, name: str) -> str:
    """Show the matplotlib figure `fig`: inline in a notebook, else written to a file.

    In a terminal the file is ``<name>.png`` in ``$CHAINRULE_TOUR_FIGURES`` (by default
    ``chainrule-tour-figures`` in the current directory); the line returned says where. For
    the documentation pages it is an SVG beside them. The figure is closed afterwards.
    """
    import matplotlib.pyplot as plt

    try:
        if _pictures["directory"] is None and _in_notebook():
            from IPython.display import display  # type: ignore[import-not-found,unused-ignore]

            display(fig)
            return f"(the picture {name!r} is above)"
        directory = Path(
            _pictures["directory"] or os.environ.get("CHAINRULE_TOUR_FIGURES")
            or "chainrule-tour-figures"
        )  # fmt: skip
        directory.mkdir(parents=True, exist_ok=True)
        documentation = _pictures["directory"] is not None
        path = directory / f"{name}.{'svg' if documentation else 'png'}"
        metadata = {"Date": None} if documentation else None  # pages must not change per run
        fig.savefig(path, metadata=metadata, bbox_inches="tight", dpi=110)
        _pictures["written"].append(path)
        return f"picture: {f'img/{path.name}' if documentation else path}"  # (a page's: relative)
    finally:
        plt.close(fig)


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


@contextlib.contextmanager
def _pictures_into(directory: Path) -> Iterator[list[Path]]:
    """While running a stop for its page: pictures go to `directory`, as SVG."""
    import matplotlib

    previous = dict(_pictures)
    _pictures.update(directory=directory, written=[])
    with matplotlib.rc_context({"svg.hashsalt": "chainrule", "svg.fonttype": "none"}):
        try:
            yield _pictures["written"]
        finally:
            _pictures.update(previous)


# ------------------------------------------------------------------------------ running stops


def find(key: str) -> Stop | None:
    """The stop numbered or named `key` (``"3"`` or ``"partials"``), or None."""
    for s in STOPS:
        if key.strip().lower() in (str(s.number), s.slug):
            return s
    return None


def heading(s: Stop) -> str:
    return f"Stop {s.number} of {len(STOPS)}: {s.title}"


def exercises(s: Stop) -> str:
    """After the last stop of a part: the exercises of that part, and how to do them."""
    if any(t.part == s.part for t in STOPS[s.number :]):
        return ""
    from chainrule.learn import exercises as catalogue

    tasks = [e for e in map(catalogue.get, catalogue.names()) if e.part == s.part]
    if not tasks:
        return ""
    lines = [f"- {e.title}: `chainrule exercise {e.name}`" for e in tasks]
    return (
        f"Your turn: the exercises of {PARTS[s.part].lower()}. Each prints a template to fill "
        "in; `--check yours.py` compares your function with chainrule's derivative, entry by "
        "entry, with a hint where it differs, and `--solution` shows one answer.\n\n"
        + "\n".join(lines)
        + "\n"
    )


def run(s: Stop, out: TextIO | None = None, show_code: bool = True) -> int:
    """Print the lesson and code of `s` to `out`, run it there; the number of failed checks.
    After the last stop of a part come that part's exercises."""
    out = sys.stdout if out is None else out
    rule = "─" * min(88, len(heading(s)) + 4)
    print(f"{rule}\n  {heading(s)}  ({PARTS[s.part]})\n{rule}\n\n{s.lesson}\n", file=out)
    if show_code:
        print("".join(f"  │ {line}".rstrip() + "\n" for line in s.source.splitlines()), file=out)
    del _failures[:]
    with contextlib.redirect_stdout(out):
        try:
            s.code()
        except ModuleNotFoundError as e:  # matplotlib is optional: a picture needs it
            if not (e.name or "").startswith("matplotlib"):
                raise
            print(
                "(This stop draws pictures with matplotlib, which is not installed, so it "
                "stops here: `pip install 'chainrule[plot]'` to see it whole.)"
            )
    if exercises(s):
        print(f"\n{exercises(s)}", file=out)
    return len(_failures)


def output(s: Stop, pictures: Path | None = None) -> tuple[str, list[Path]]:
    """What the stop's code prints, and the pictures it drew (into `pictures`, if given)."""
    buffer = io.StringIO()
    del _failures[:]
    with contextlib.ExitStack() as stack:
        written = stack.enter_context(_pictures_into(pictures)) if pictures else []
        stack.enter_context(contextlib.redirect_stdout(buffer))
        s.code()
    return buffer.getvalue(), list(written)


# ------------------------------------------------------------------------------------- pages


def page_name(s: Stop) -> str:
    return f"{s.number:02d}-{s.slug}.md"


def markdown(s: Stop, pictures: Path | None = None) -> str:
    """The documentation page of `s`: its lesson, its code, what the code prints, and its
    pictures (written into `pictures`, which should be the page's own directory's ``img``)."""
    links = ["[all stops](README.md)"]
    if s.number > 1:
        before = STOPS[s.number - 2]
        links.insert(0, f"previous: [{before.title}]({page_name(before)})")
    if s.number < len(STOPS):
        links.append(f"next: [{STOPS[s.number].title}]({page_name(STOPS[s.number])})")
    printed, drawn = output(s, pictures)
    images = "".join(f"![{p.stem}](img/{p.name})\n\n" for p in drawn)
    return (
        f"# {heading(s)}\n\n"
        f"<!-- Written by `make docs` from {s.code.__module__}: edit the stop there. -->\n\n"
        f"Part: {PARTS[s.part]}.\n\n{s.lesson}\n\n"
        f"Run it: `chainrule tour {s.number}` (or `chainrule tour {s.slug}`).\n\n"
        "## The code\n\n"
        "It runs as it stands; `check(got, expected)` prints ✓ when the two agree (to 1e-6) "
        "and `show(array)` prints an array on one line:\n\n"
        f"```python\n{s.source}```\n\n"
        "## What it prints\n\n"
        f"```text\n{printed}```\n\n"
        + images
        + (f"## Exercises\n\n{exercises(s)}\n" if exercises(s) else "")
        + " · ".join(links)
        + "\n"
    )


def index() -> str:
    """The tour's contents page, by part."""
    parts = []
    for key, title in PARTS.items():
        rows = [
            f"{s.number}. [{s.title}]({page_name(s)}): {s.summary}" for s in STOPS if s.part == key
        ]
        if rows:
            parts.append(f"## {title}\n\n" + "\n".join(rows) + "\n")
    return (
        "# The chainrule tour\n\n"
        "<!-- Written by `make docs` from chainrule.learn.tour. -->\n\n"
        "A learning path through the mathematics of machine learning. Each stop is a short "
        "lesson and the chainrule code that shows it, with what that code prints; every number "
        "is checked against a formula, central differences or SciPy (✓). Run them all with "
        "`chainrule tour`, list them with `chainrule tour --list`.\n\n" + "\n".join(parts)
    )


def pages(directory: Path | None = None) -> dict[str, str]:
    """Every page of the tour's documentation, by file name (pictures into `directory/img`)."""
    pictures = None if directory is None else directory / "img"
    return {"README.md": index(), **{page_name(s): markdown(s, pictures) for s in STOPS}}


def write_pages(directory: str | Path) -> list[Path]:
    """Write `pages` (and their pictures) into `directory` (``docs/tour``), replacing the
    pages and pictures written before; the files written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # the pages of stops that moved or went, and their pictures, are the tour's own: replaced
    for stale in [*directory.glob("[0-9][0-9]-*.md"), *directory.glob("img/*")]:
        stale.unlink()
    written = []
    for name, text in pages(directory).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# The parts register their stops on import, in the order of PARTS.
for _part in PARTS:
    if importlib.util.find_spec(f"{__name__}.{_part}") is not None:
        importlib.import_module(f"{__name__}.{_part}")
