"""The tour as notebooks: one Jupyter notebook per part of the study guide.

Each stop becomes a markdown cell (its lesson) and a code cell (its `Stop.source`, which
starts with the imports it uses, so every cell runs on its own). The notebooks are written
from the stops, like the pages of ``docs/tour``, so they never drift from the tour:
``make docs`` writes them into ``docs/notebooks`` and a test compares. They are saved without
outputs; run them (Jupyter, or ``nbclient``) to see every number checked, and the pictures
inline. Cell ids are derived from the stops' names, so writing them twice gives the same files.

Needs ``nbformat`` (``pip install chainrule[docs]``).

>>> book = notebook("calculus")
>>> [cell.cell_type for cell in book.cells[:3]]
['markdown', 'markdown', 'code']
>>> book.cells[2].source.startswith("import ")  # each code cell runs on its own
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chainrule.learn.tour import PARTS, STOPS, heading

__all__ = ["notebook", "notebooks", "write_notebooks"]


def _nbformat() -> Any:
    try:
        import nbformat
    except ImportError:  # pragma: no cover - the docs extra is part of the dev install
        raise ImportError(
            "chainrule.learn.tour.notebooks needs nbformat: pip install 'chainrule[docs]'"
        ) from None
    return nbformat


def notebook(part: str) -> Any:
    """The notebook of the part `part` (a key of `PARTS`): a title, then each stop's lesson
    and code. A part with no stops yet is refused, naming the parts that have some."""
    nbf = _nbformat().v4
    stops = [s for s in STOPS if s.part == part]
    if not stops:
        having = sorted({s.part for s in STOPS}, key=list(PARTS).index)
        raise ValueError(f"notebook: the part {part!r} has no stops; parts with stops: {having}")
    intro = (
        f"# {PARTS[part]}\n\n"
        "A part of the chainrule tour, written by `make docs` from "
        f"`chainrule.learn.tour.{part}`. Run the cells in order (each also runs on its own): "
        "`check(got, expected)` prints ✓ when the two agree and `show(array)` prints an array "
        "on one line; pictures appear below their cell."
    )
    cells = [nbf.new_markdown_cell(intro, id=f"{part}-intro")]
    for s in stops:
        lesson = f"## {heading(s)}\n\n{s.lesson}"
        cells.append(nbf.new_markdown_cell(lesson, id=f"{s.slug}-lesson"))
        cells.append(nbf.new_code_cell(s.source.rstrip("\n"), id=f"{s.slug}-code"))
    book = nbf.new_notebook(cells=cells)
    book.metadata.update(
        kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
        language_info={"name": "python"},
    )
    return book


def notebooks() -> dict[str, Any]:
    """The notebook of every part that has stops, by file name (``<part>.ipynb``)."""
    return {f"{part}.ipynb": notebook(part) for part in PARTS if any(s.part == part for s in STOPS)}


def text(book: Any) -> str:
    """The notebook as the JSON text written to its file."""
    return str(_nbformat().writes(book)) + "\n"


def write_notebooks(directory: str | Path) -> list[Path]:
    """Write `notebooks` into `directory` (``docs/notebooks``), removing the notebook of a
    part that no longer has stops; the files written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    books = notebooks()
    for stale in directory.glob("*.ipynb"):
        if stale.name not in books:
            stale.unlink()
    written = []
    for name, book in books.items():
        path = directory / name
        path.write_text(text(book), encoding="utf-8")
        written.append(path)
    return written
