"""The learners' commands: `chainrule grad` and `chainrule descend`, outputs and errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.learn.curvature import classify


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


# --------------------------------------------------------------------------- issue 10


@pytest.mark.parametrize(
    ("expression", "at", "value_says"),
    [
        ("sqrt(x)", "x=-1", "value: f = nan (not a number"),
        ("exp(x)", "x=800", "value: f = inf (not finite"),
        ("sqrt(x)", "x=0", "value: f = 0"),
        ("log(x) + y**2", "x=0,y=0", "value: f = -inf (not finite"),
    ],
)
def test_grad_says_where_the_derivative_is_not_finite(
    expression: str, at: str, value_says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # sqrt at -1 used to crash (AssertionError), exp at 800 was a "critical point (gradient 0)"
    code, out, err = _run(["grad", expression, "--at", at, "--hessian"], capsys)
    assert code == 0, err
    assert value_says in out
    assert "the derivative is not finite here" in out
    assert "critical point" not in out and "no verdict" in out
    assert "Warning" not in err


@pytest.mark.parametrize(
    ("expression", "at", "slopes"),
    [
        ("abs(x)", "x=0", "slope is -1 just below this point and 1 just above it"),
        ("relu(x)", "x=0", "slope is 0 just below this point and 1 just above it"),
        ("abs(x) + y**2", "x=0,y=0", "a kink along x"),
        ("x**2 + abs(y - x)", "x=0,y=0", "a kink along x"),
        ("3*x + abs(2*x - 1)", "x=0.5", "slope is 1 just below this point and 5 just above"),
    ],
)
def test_grad_says_a_kink_is_not_differentiable(
    expression: str, at: str, slopes: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["grad", expression, "--at", at, "--hessian"], capsys)
    assert code == 0
    assert "not differentiable here" in out and slopes in out
    assert "critical point" not in out


@pytest.mark.parametrize(
    ("expression", "at"),
    [
        ("abs(x)", "x=1e-3"),  # near a kink, not at it
        ("abs(x**2)", "x=0"),  # abs of a square is smooth
        ("abs(x) - abs(x)", "x=0"),  # the kinks cancel
        ("sin(1000*x)", "x=0.3"),  # fast, but smooth
        ("x - sin(x)", "x=1e-6"),  # a gradient made of cancelling terms
        ("exp(x)", "x=700"),  # huge, but smooth
    ],
)
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_grad_does_not_call_smooth_points_kinks(
    expression: str, at: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["grad", expression, "--at", at, "--hessian"], capsys)
    assert code == 0
    assert "not differentiable" not in out and "not finite" not in out
    assert "critical point" in out and "|gradient| = inf" not in out


def test_grad_warns_when_a_tie_convention_gives_a_wrong_gradient(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # relu(x) - relu(-x) is x, but ReLU's tie convention gives df/dx = 0 at 0
    code, out, _ = _run(["grad", "relu(x) - relu(-x)", "--at", "x=0", "--hessian"], capsys)
    assert code == 0 and "df/dx = 0" in out
    assert "df/dx = 0 above is a derivative rule's convention at a tie" in out
    assert "with slope 1 on both sides" in out and "critical point" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["grad", "-x**2", "--at", "x=1"],
        ["grad", "--at", "x=1", "-x**2"],
        ["grad", "--at", "x=1", "--", "-x**2"],
    ],
)
def test_grad_takes_an_expression_that_starts_with_minus(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(argv, capsys)
    assert code == 0
    assert "f(x) = -x**2" in out and "value: f = -1" in out and "df/dx = -2" in out


def test_descend_takes_an_expression_that_starts_with_minus(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(["descend", "-cos(x)", "--from=-1", "--steps", "500"], capsys)
    assert code == 0 and "f(x) = -cos(x)" in out and "converged" in out


def test_grad_takes_ln_as_the_natural_log(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["grad", "ln(x)", "--at", "x=2"], capsys)
    assert code == 0 and "df/dx = 0.5" in out


def test_grad_suggests_the_closest_function(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["grad", "sine(x)", "--at", "x=1"], capsys)
    assert code == 2 and "did you mean sin(...)?" in err and "to multiply" not in err


def test_descend_says_where_it_diverged(capsys: pytest.CaptureFixture[str]) -> None:
    # x <- x - 2 * 2x = -3x: f = 25 * 9**k passes 25 + 1e10 * 25 at step 11; it used to
    # report "stopped after 1000 steps at x = -7e153"
    argv = ["descend", "x**2", "--from", "5", "--lr", "2", "--steps", "1000"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    assert "diverged at step 11: f rose from 25 to 7.84526e+11" in out
    assert "learning rate is too large" in out and "stopped after" not in out


def test_descend_says_where_it_overflowed(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["descend", "exp(x**2)", "--from", "3", "--lr", "1", "--steps", "100"]
    code, out, _ = _run(argv, capsys)
    assert code == 0 and "diverged at step 1: the next point was not finite" in out


def test_descend_caps_the_number_of_steps(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["descend", "x**2", "--from", "1", "--steps", "10000000000"], capsys)
    assert code == 2 and "--steps must be a number of steps from 1 to 1,000,000" in err


def test_descend_plots_a_function_of_one_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "x2.png"
    argv = ["descend", "x**2", "--from", "5", "--lr", "0.1", "--plot", str(target)]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert f"wrote {target}" in out and target.stat().st_size > 5_000


@pytest.mark.parametrize(
    "argv",
    [
        ["grad", "sin(x)", "--at", "x=1", "--plot", "PLOT"],
        ["grad", "x*y", "--at", "x=1,y=2", "--plot", "PLOT"],
        ["descend", "x**2", "--from", "1", "--plot", "PLOT"],
        ["descend", "bowl", "--plot", "PLOT"],
    ],
)
def test_without_matplotlib_the_command_says_so_once_and_succeeds(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    target = tmp_path / "f.png"
    code, out, err = _run([str(target) if a == "PLOT" else a for a in argv], capsys)
    assert code == 0
    assert err.count("pip install 'chainrule[plot]'") == 1 and "no picture" in err
    assert not target.exists() and "wrote" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["grad", "x", "--at", "x=1", "--plot", "NOFOLDER/f.png"], "does not exist"),
        (["grad", "x", "--at", "x=1", "--plot", "TMP/f.unknown"], "suffix"),
        (["grad", "x", "--at", "x=1", "--plot", "TMP/f"], "suffix"),
        (["grad", "x", "--at", "x=1", "--plot", "TMP"], "is a folder"),
        (["descend", "x**2", "--from", "1", "--plot", "NOFOLDER/f.png"], "does not exist"),
        (["descend", "x+y+z", "--from", "1,1,1", "--plot", "TMP/f.png"], "one or two"),
        (["descend", "log(x)", "--from", "-1"], "f is not finite at the start"),
        (["descend", "sqrt(x)", "--from", "0"], "the gradient of f is not finite at the start"),
        (["descend", "bowl", "--from", "1"], "needs 2 finite number(s)"),
        (["descend", "x**2", "--from", "1", "--optimizer", ""], "unknown optimizer"),
        (["descend", "x**2", "--from", "1", "--lr", "nan"], "--lr must be"),
        (["descend", "x**2", "--from", "1", "--lr", "inf"], "--lr must be"),
        (["descend", "x**2", "--from", "1", "--steps", "-5"], "--steps must be"),
        (["descend", "2", "--from", "1"], "no variables"),
        (["grad", "x", "--at", "x=inf"], "not name=number"),
        (["grad", "x", "--at", "x"], "not name=number"),
        (["grad", "x", "--at", "x=1,x=2"], "'x' is given twice"),
        (["tour", "99"], "no stop '99'"),
        (["tour", ""], "no stop ''"),
    ],
)
def test_bad_options_get_a_message_not_a_traceback(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("NOFOLDER", str(tmp_path / "missing")) for a in argv]
    argv = [a.replace("TMP", str(tmp_path)) for a in argv]
    code, _, err = _run(argv, capsys)
    assert code == 2 and message in err


@pytest.mark.parametrize(
    "argv",
    [
        ["grad"],
        ["grad", "x", "--at"],
        ["grad", "x", "--bogus"],
        ["grad", "-x", "-y"],
        ["descend"],
        ["descend", "x**2", "--steps", "many"],
        ["descend", "x**2", "--lr", "fast"],
        ["descend", "x**2", "--from", "-1,2"],  # argparse's own message: write --from=-1,2
        ["tour", "--list", "extra", "more"],
        ["tour", "--bogus"],
        ["nosuchcommand"],
    ],
)
def test_argparse_errors_exit_2_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: chainrule" in capsys.readouterr().err


def test_the_command_draws_without_pyplot(tmp_path: Path) -> None:
    # files only: no backend is chosen, none is changed, no window can open (a fresh process,
    # since this one has pyplot already)
    pytest.importorskip("matplotlib")
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from chainrule.cli import main\n"
        f"assert main(['grad', 'sin(x)', '--at', 'x=1', '--plot', {str(tmp_path / 'a.png')!r}]) == 0\n"
        f"assert main(['descend', 'x**2', '--from', '1', '--plot', {str(tmp_path / 'b.svg')!r}]) == 0\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"
    assert (tmp_path / "a.png").stat().st_size > 5_000 and (tmp_path / "b.svg").exists()


def _tables(out: str) -> list[list[list[str]]]:
    """The step tables `descend --table` printed: rows of cells, header first."""
    tables: list[list[list[str]]] = []
    for line in out.splitlines():
        if line.startswith("    step "):
            tables.append([])
        if tables and line.startswith("    ") and line.split():
            tables[-1].append(line.split())
    return tables


def test_descend_table_prints_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["descend", "x**2", "--from", "5", "--lr", "0.1", "--steps", "3", "--table"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    (table,) = _tables(out)
    assert table[0] == ["step", "x", "f", "|grad", "f|"]
    # x_k = 5 * 0.8**k, f = x², |f'| = 2|x|, printed to 6 digits
    for k, row in enumerate(table[1:]):
        x = 5 * 0.8**k
        assert row[0] == str(k)
        assert [float(v) for v in row[1:]] == pytest.approx([x, x**2, 2 * x], rel=5e-6)
    assert len(table) == 1 + 4


def test_descend_table_for_every_optimizer_on_a_surface(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(
        ["descend", "bowl", "--optimizer", "all", "--steps", "5", "--table"], capsys
    )
    assert code == 0
    tables = _tables(out)
    assert len(tables) == 5  # one per optimizer, after its summary line
    for table in tables:
        assert table[0][:3] == ["step", "x", "y"] and len(table) == 1 + 6
        x, y = (float(v) for v in table[1][1:3])
        # bowl: f = x² + 2y², ∇f = (2x, 4y) at the start
        assert float(table[1][3]) == pytest.approx(x**2 + 2 * y**2, rel=5e-6)
        assert float(table[1][4]) == pytest.approx(math.hypot(2 * x, 4 * y), rel=5e-6)
    without = _run(["descend", "bowl", "--optimizer", "all", "--steps", "5"], capsys)[1]
    assert not _tables(without)
