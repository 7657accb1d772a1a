"""The tour: its stops in the order of the learning path, their checks, the command, the pages."""

from __future__ import annotations

import ast
import io
import math
import re
from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.cli import tour as tour_command
from chainrule.learn import tour

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tour"


N = len(tour.STOPS)


def test_the_stops_follow_the_learning_path() -> None:
    assert [(s.number, s.title) for s in tour.STOPS[:10]] == [
        (1, "Functions and limits"),
        (2, "Derivatives of one variable"),
        (3, "Partial derivatives"),
        (4, "The sum, product, quotient and chain rules"),
        (5, "Integrals as area"),
        (6, "Gradients and optimisation"),
        (7, "The chain rule and backpropagation"),
        (8, "Jacobians and Hessians"),
        (9, "Convexity"),
        (10, "A preview of training"),
    ]
    assert [s.number for s in tour.STOPS] == list(range(1, N + 1))
    assert all(stop.lesson and stop.summary for stop in tour.STOPS)
    order = list(tour.PARTS)  # the parts in the guide's order, each stop in its part
    assert [order.index(s.part) for s in tour.STOPS] == sorted(
        order.index(s.part) for s in tour.STOPS
    )
    assert len({s.slug for s in tour.STOPS}) == N


@pytest.mark.parametrize("stop", tour.STOPS, ids=lambda s: s.slug)
def test_the_code_shown_runs_as_it_stands(
    stop: tour.Stop, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pasted into a fresh Python, the code a stop shows runs and prints the same checks."""
    exec(compile(stop.source, f"<stop {stop.slug}>", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    assert "✓" in printed and "✗" not in printed


@pytest.mark.parametrize("stop", tour.STOPS, ids=lambda s: s.slug)
def test_every_stop_runs_and_passes_its_checks(stop: tour.Stop) -> None:
    out = io.StringIO()
    assert tour.run(stop, out=out) == 0
    text = out.getvalue()
    assert text.count("✓") >= 1 and "✗" not in text
    assert stop.source in text.replace("  │ ", "").replace("  │", "")


@pytest.mark.parametrize("stop", tour.STOPS, ids=lambda s: s.slug)
def test_the_code_shown_is_the_body_of_the_stop(stop: tour.Stop) -> None:
    body = ast.parse(stop.source).body
    assert body and not isinstance(body[0], ast.Expr)  # no docstring, no signature
    assert not stop.source.startswith((" ", "def _"))


def _output(slug: str) -> str:
    found = tour.find(slug)
    assert found is not None
    return tour.output(found)[0]


def test_limits_show_the_quotients_converging_then_rounding() -> None:
    rows = {
        float(cols[0]): [float(c) for c in cols[1:]]
        for cols in (line.split() for line in _output("limits").splitlines())
        if cols and re.fullmatch(r"[0-9.e+-]+", cols[0])
    }
    assert rows[0.1] == pytest.approx([12.61, 0.61, 12.01, 0.01])  # 12 + 6h + h², 12 + h²
    assert rows[0.001][1] == pytest.approx(6e-3, rel=1e-3)
    assert abs(rows[1e-05][3]) < 1e-9  # central differences at h = 1e-5: nearly exact
    assert abs(rows[1e-13][1]) > 1e-4  # rounding error wins at tiny h


def test_the_derivative_table_checks_every_function() -> None:
    text = _output("derivatives")
    names = ["x**2", "x**3", "x**-1", "x**0.5", "e**x", "ln x", "sigmoid x", "tanh x", "relu x"]
    for name in names:
        (line,) = [line for line in text.splitlines() if line.startswith(name + " ")]
        assert line.endswith("✓")
    assert "sigmoid x  s (1 - s)     0.235004   0.235004   0.235004" in text
    assert "relu'(x) at x = -1, 0, 1: [0.0, 0.0, 1.0]" in text
    assert "equals diag(p) - p pᵀ: ✓" in text


def test_descent_follows_five_times_point_eight_to_the_k() -> None:
    text = _output("descent")
    assert "  10   0.536871   0.288230   1.073742   ✓" in text
    assert "slope along the gradient:  17.0880" in text
    assert re.search(r"lr = 1\.1: .* 191\.7", text)  # diverges
    assert re.search(r"lr = 0\.5: +0\.0000", text)  # one step to the minimum


def test_backprop_shows_the_sum_over_two_uses_and_agrees_by_hand() -> None:
    text = _output("backprop")
    assert "dL/de = ∂L/∂e + ∂L/∂e = " in text
    assert "dL/dw = -0.224454" in text and "by hand: dL/dw = -0.224454  ✓" in text


def test_curvature_names_every_kind_of_point() -> None:
    text = _output("curvature")
    for kind in ("local minimum", "local maximum", "saddle point", "undecided", "not a critical"):
        assert kind in text
    assert "rosenbrock at [1.0, 1.0]: Hessian [[802.0, -400.0], [-400.0, 200.0]]" in text


def test_the_training_preview_learns() -> None:
    text = _output("training")
    losses = [float(m) for m in re.findall(r"loss (\d+\.\d+)", text)]
    assert len(losses) == 7 and losses[-1] < 0.01 * losses[0]
    assert "step 300: loss 0.0001, accuracy 100.0%" in text


def test_a_failed_check_is_counted_and_fails_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def wrong() -> None:
        """A stop whose check fails."""
        print(tour.check(1.0, 2.0), tour.check(3.0, 3.0))

    bad = tour.Stop(1, "calculus", "bad", "Bad", "fails", wrong)
    assert tour.run(bad, out=io.StringIO()) == 1
    monkeypatch.setattr(tour, "STOPS", [bad])
    assert main(["tour", "bad"]) == 1
    assert "✗ 1 check(s) failed" in capsys.readouterr().out


def test_tour_list_and_one_stop(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    parts = [tour.PARTS[p] + ":" for p in dict.fromkeys(s.part for s in tour.STOPS)]
    assert len(lines) == N + len(parts) and [ln for ln in lines if ln.endswith(":")] == parts
    assert lines[0] == "Calculus:"
    assert lines[3] == "   3. Partial derivatives (partials): " + tour.STOPS[2].summary
    assert main(["tour", "3"]) == 0
    out = capsys.readouterr().out
    assert f"Stop 3 of {N}: Partial derivatives" in out and "Stop 4" not in out
    assert "  │ df_dx = cr.grad(f, argnums=0)(x, y)" in out
    assert "  │ import chainrule as cr" in out  # the code shown starts with its imports
    assert main(["tour", "BACKPROP", "--no-code"]) == 0
    out = capsys.readouterr().out
    assert f"Stop 7 of {N}" in out and "│" not in out


def test_all_stops_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour", "--no-code"]) == 0
    out = capsys.readouterr().out
    positions = [out.index(f"Stop {s.number} of {N}: {s.title}") for s in tour.STOPS]
    assert positions == sorted(positions)


@pytest.mark.parametrize("key", ["0", str(N + 1), "nine", ""])
def test_an_unknown_stop_is_refused(key: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour", key]) == 2
    err = capsys.readouterr().err
    assert f"no stop {key!r}" in err and "1 (limits)" in err


def test_the_tour_waits_for_the_learner_only_in_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tour_command._next(tour.STOPS[1])  # not a terminal: no questions
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    answers = iter(["", "q"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert tour_command._next(tour.STOPS[1]) is True
    assert tour_command._next(tour.STOPS[2]) is False

    def interrupted(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", interrupted)
    assert tour_command._next(tour.STOPS[2]) is False


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _same_page(written: str, fresh: str) -> bool:
    """Equal text, and numbers equal up to the last printed digits (BLAS may differ)."""
    if _NUMBER.split(written) != _NUMBER.split(fresh):
        return False
    pairs = zip(_NUMBER.findall(written), _NUMBER.findall(fresh), strict=True)
    return all(math.isclose(float(a), float(b), rel_tol=1e-3, abs_tol=1e-4) for a, b in pairs)


def test_the_documented_pages_match_the_stops(tmp_path: Path) -> None:
    pages = tour.pages(tmp_path)
    assert sorted(p.name for p in DOCS.glob("*.md")) == sorted(pages), "run `make docs`"
    drawn = sorted(p.name for p in (tmp_path / "img").glob("*"))
    assert sorted(p.name for p in (DOCS / "img").glob("*")) == drawn, "run `make docs`"
    for name, text in pages.items():
        written = (DOCS / name).read_text(encoding="utf-8")
        assert _same_page(written, text), f"docs/tour/{name} is out of date: run `make docs`"


def test_page_comparison_catches_drift() -> None:
    assert _same_page("loss 0.1234 at step 3", "loss 0.1235 at step 3")
    assert not _same_page("loss 0.1234 at step 3", "loss 0.2234 at step 3")
    assert not _same_page("loss 0.1234 at step 3", "cost 0.1234 at step 3")


def test_write_pages(tmp_path: Path) -> None:
    written = tour.write_pages(tmp_path / "tour")
    assert {p.name for p in written} == set(tour.pages(tmp_path / "other"))
    page = (tmp_path / "tour" / "07-backprop.md").read_text(encoding="utf-8")
    assert page.startswith(f"# Stop 7 of {N}: The chain rule and backpropagation\n")
    assert "```python\nimport math\nimport chainrule as cr\nimport chainrule.numpy as np\n" in page
    assert "\nx, y = 0.5, 0.8  # one training example\n" in page
    assert "previous: [Gradients and optimisation](06-descent.md)" in page
    assert "next: [Jacobians and Hessians](08-curvature.md)" in page


def test_each_part_ends_with_its_exercises(tmp_path: Path) -> None:
    from chainrule.learn import exercises

    last = {s.part: s for s in tour.STOPS}  # the last stop of each part
    for part, s in last.items():
        names = [n for n in exercises.names() if exercises.get(n).part == part]
        text = tour.exercises(s)
        assert all(f"`chainrule exercise {n}`" in text for n in names), part
        assert bool(text) == bool(names)
    assert all(tour.exercises(s) == "" for s in tour.STOPS if last[s.part] is not s)
    out = io.StringIO()
    tour.run(tour.find("training"), out=out)
    assert "Your turn" in out.getvalue() and "chainrule exercise softplus" in out.getvalue()
    assert "## Exercises" in tour.markdown(tour.find("training"), tmp_path)


def test_the_tour_loads_without_matplotlib() -> None:
    """matplotlib is optional: the parts import it in the stops that draw, not on import."""
    import subprocess
    import sys

    code = "import sys, chainrule.learn.tour; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_stop_that_draws_says_what_to_install_without_matplotlib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # as if it were not installed
    out = io.StringIO()
    assert tour.run(tour.find("norms"), out=out) == 0
    assert "pip install 'chainrule[plot]'" in out.getvalue()
    assert tour.run(tour.find("limits"), out=io.StringIO()) == 0  # a stop without pictures
