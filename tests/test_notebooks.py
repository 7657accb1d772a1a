"""The tour's notebooks: written from the stops, committed in sync, and executed by a kernel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from chainrule.learn import tour

nbformat = pytest.importorskip("nbformat", reason="the notebooks need the docs extra")
nbclient = pytest.importorskip("nbclient", reason="executing the notebooks needs the docs extra")
from chainrule.learn.tour import notebooks  # noqa: E402  (after the skip: it needs nbformat)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
PARTS = [name.removesuffix(".ipynb") for name in notebooks.notebooks()]


def test_one_notebook_per_part_with_stops_in_the_order_of_the_tour() -> None:
    books = notebooks.notebooks()
    assert list(books) == [f"{p}.ipynb" for p in tour.PARTS if any(s.part == p for s in tour.STOPS)]
    for name, book in books.items():
        part = name.removesuffix(".ipynb")
        stops = [s for s in tour.STOPS if s.part == part]
        code = [c.source for c in book.cells if c.cell_type == "code"]
        assert code == [s.source.rstrip("\n") for s in stops]
        lessons = [c.source for c in book.cells[1:] if c.cell_type == "markdown"]
        assert lessons == [f"## {tour.heading(s)}\n\n{s.lesson}" for s in stops]
        nbformat.validate(book)


def test_the_committed_notebooks_match_the_stops() -> None:
    books = notebooks.notebooks()
    assert sorted(p.name for p in DOCS.glob("*.ipynb")) == sorted(books), "run `make docs`"
    for name, book in books.items():
        written = (DOCS / name).read_text(encoding="utf-8")
        assert written == notebooks.text(book), f"docs/notebooks/{name} is stale: run `make docs`"


def test_writing_twice_gives_the_same_files_and_drops_a_stale_part(tmp_path: Path) -> None:
    (tmp_path / "gone.ipynb").write_text("{}", encoding="utf-8")
    first = {p.name: p.read_text(encoding="utf-8") for p in notebooks.write_notebooks(tmp_path)}
    second = {p.name: p.read_text(encoding="utf-8") for p in notebooks.write_notebooks(tmp_path)}
    assert first == second  # no random cell ids: the committed files are reproducible
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(first)


def test_a_part_without_stops_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"notebook: the part 'nowhere' has no stops; parts with"):
        notebooks.notebook("nowhere")


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel of this very Python (with this process's environment), whatever kernels the
    machine has installed under the name "python3"."""
    spec = tmp_path / "jupyter" / "kernels" / "chainrule-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "chainrule tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return spec.name


@pytest.mark.parametrize("part", PARTS)
def test_the_notebook_runs_and_every_check_passes(part: str, kernel: str, tmp_path: Path) -> None:
    book = notebooks.notebook(part)
    nbclient.NotebookClient(book, timeout=120, kernel_name=kernel).execute()
    stops = [s for s in tour.STOPS if s.part == part]
    cells = [c for c in book.cells if c.cell_type == "code"]
    assert len(cells) == len(stops)
    for stop, cell in zip(stops, cells, strict=True):
        assert not [o for o in cell.outputs if o.output_type == "error"], stop.slug
        printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
        expected, drawn = tour.output(stop, tmp_path / stop.slug)
        assert "✗" not in printed, f"{stop.slug}: a check failed in the notebook:\n{printed}"
        # The same checks as the tour's own run, all passed (a stop without checks has none).
        assert printed.count("✓") == expected.count("✓"), stop.slug
        # A picture is shown inline, not written to a file.
        pictures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(pictures) == len(drawn), stop.slug
        assert "picture: " not in printed, stop.slug
