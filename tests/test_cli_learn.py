"""The learners' commands: `chainrule grad` and `chainrule descend`, outputs and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.curvature import classify


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_grad_prints_value_and_gradient_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["grad", "x**2 + 2*y**2", "--at", "x=3,y=4"], capsys)
    assert code == 0
    assert "value: f = 41" in out
    assert "df/dx = 6" in out and "df/dy = 16" in out


@pytest.mark.parametrize(
    ("expression", "at", "verdict"),
    [
        ("x**2 + 2*y**2", "x=0,y=0", "local minimum"),
        ("-(x**2) - y**2", "x=0,y=0", "local maximum"),
        ("x**2 - y**2", "x=0,y=0", "saddle point"),
        ("x**2 + 2*y**2", "x=1,y=0", "not a critical point"),
        ("x**4 + y**2", "x=0,y=0", "undecided"),
    ],
)
def test_grad_hessian_says_what_the_point_is(
    expression: str, at: str, verdict: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["grad", expression, "--at", at, "--hessian"], capsys)
    assert code == 0
    assert "eigenvalues:" in out and verdict in out


def test_grad_hessian_entries(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["grad", "x*y + x**3", "--at", "x=1,y=2", "--hessian"], capsys)
    assert code == 0
    # d2f/dx2 = 6x = 6, d2f/dxdy = 1, d2f/dy2 = 0; eigenvalues 3 -+ sqrt(10)
    lines = out.splitlines()
    row_x = next(line for line in lines if line.strip().startswith("x ") and "6" in line)
    assert row_x.split()[1:] == ["6", "1"]
    assert "-0.162278" in out and "6.16228" in out


def test_classify_tolerates_rounding() -> None:
    assert classify([1e-17, 0.0], [2.0, 3.0]).endswith("curves up in every direction)")


def test_grad_explain_prints_the_chain_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["grad", "x*y + y", "--at", "x=2,y=3", "--explain"], capsys)
    assert code == 0
    assert "dL/d" in out or "df/d" in out
    assert "df/dx = 3" in out and "df/dy = 3" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["grad", "x**2 +", "--at", "x=1"], "^"),
        (["grad", "x.real", "--at", "x=1"], "^"),
        (["grad", "__import__('os')", "--at", "x=1"], "^"),
        (["grad", "x + y", "--at", "x=1"], "no value for y"),
        (["grad", "x", "--at", "x=1,z=2"], "'z' is not a variable"),
        (["grad", "x", "--at", "x=abc"], "not name=number"),
        (["grad", "x + y + z", "--at", "x=1,y=1,z=1", "--plot", "f.png"], "one or two"),
    ],
)
def test_grad_bad_input_exits_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = [a if a != "f.png" else str(tmp_path / "f.png") for a in argv]
    code, _out, err = _run(argv, capsys)
    assert code == 2
    assert message in err


@pytest.mark.parametrize("expression,at", [("sin(x)", "x=1"), ("x**2 + 2*y**2", "x=3,y=4")])
def test_grad_plot_writes_an_image(
    expression: str, at: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "f.png"
    code, out, _ = _run(["grad", expression, "--at", at, "--plot", str(target)], capsys)
    assert code == 0 and f"wrote {target}" in out
    assert target.stat().st_size > 5_000


def test_descend_expression_with_gradient_descent(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["descend", "x**2", "--from", "5", "--optimizer", "gd", "--lr", "0.1", "--steps", "3"],
        capsys,
    )
    assert code == 0
    # x_k = 5 * 0.8**k: after 3 steps 2.56
    assert "after 3 steps at x = 2.56" in out


def test_descend_named_surface_all_optimizers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["descend", "bowl", "--optimizer", "all", "--steps", "500"], capsys)
    assert code == 0
    for name in ("gd", "momentum", "nesterov", "rmsprop", "adam"):
        assert f"  {name} " in out
    assert "from the minimum (0, 0)" in out


def test_descend_issue_example(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["descend", "x**2 + 4*y**2", "--from", "3,3", "--optimizer", "adam"]
    code, out, _ = _run([*argv, "--lr", "0.1", "--steps", "100"], capsys)
    assert code == 0 and "adam" in out and "f = " in out


def test_descend_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "paths.png"
    argv = ["descend", "x**2 + 4*y**2", "--from", "3,3", "--optimizer", "gd,adam"]
    code, _out, _ = _run([*argv, "--steps", "50", "--plot", str(target)], capsys)
    assert code == 0 and target.stat().st_size > 5_000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["descend", "x**2", "--optimizer", "lbfgs", "--from", "1"], "unknown optimizer"),
        (["descend", "x**2 + y", "--from", "1"], "needs 2 finite number(s)"),
        (["descend", "x**2"], "give the start with --from"),
        (["descend", "x**2", "--from", "1", "--steps", "0"], "--steps must be"),
        (["descend", "x**2", "--from", "1", "--lr", "-1"], "--lr must be"),
        (["descend", "x**2 *", "--from", "1"], "^"),
    ],
)
def test_descend_bad_input(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(argv, capsys)
    assert code == 2 and message in err
