"""`chainrule train`: its output directory is checked before training, and no bad option,
divergence or interruption ends in a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chainrule import io
from chainrule.cli import main
from chainrule.cli import train as cli_train

QUICK = ["train", "--epochs", "1", "--hidden", "8", "--no-progress"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The exit status, stdout and stderr of ``chainrule *argv``."""
    try:
        status = main(argv)
    except SystemExit as exit_info:
        status = exit_info.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    return status, out, err


def test_an_unwritable_out_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("trained although the results could not be written")

    monkeypatch.setattr(cli_train.training, "fit", no_training)
    afile = tmp_path / "taken"
    afile.write_text("not a directory")
    for out, message in [
        (afile, "is a file; give a directory"),
        (afile / "sub", "cannot write to --out"),
    ]:
        status, stdout, err = run([*QUICK, "--out", str(out)], capsys)  # (`fit` would raise)
        assert status == 2 and stdout == "" and message in err and str(out) in err
        assert "Traceback" not in err
    (tmp_path / "run" / "model.npz").mkdir(parents=True)
    status, _, err = run([*QUICK, "--out", str(tmp_path / "run")], capsys)
    assert status == 2 and "cannot write model.npz" in err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--epochs", "-3"], "must be positive"),
        (["--epochs", "2.5"], "expected an int"),
        (["--epochs", "lots"], "expected an int"),
        (["--lr", "nan"], "must be positive and finite"),
        (["--lr", "inf"], "must be positive and finite"),
        (["--lr", "-0.1"], "must be positive"),
        (["--batch-size", "0"], "must be positive"),
        (["--hidden", ""], "positive layer widths"),
        (["--hidden", "0,8"], "positive layer widths"),
        (["--hidden", "100000,100000"], "10,007,600,010 parameters"),
        (["--seed", "-1"], "must be 0 or more"),
        (["--seed", "one"], "expected an int"),
        (["--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_get_a_message_not_a_traceback(
    option: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run([*QUICK, *option], capsys)
    assert status == 2 and message in err and "Traceback" not in err


def test_divergence_is_reported_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*QUICK, "--optimizer", "sgd", "--lr", "1e6", "--out", str(tmp_path)]
    status, _, err = run(argv, capsys)
    assert status == 1 and "Traceback" not in err
    assert "training diverged: the training loss became nan at epoch 1" in err
    assert "try a smaller --lr than 1e+06" in err
    assert "RuntimeWarning" not in err and not (tmp_path / "model.npz").exists()


def test_an_interruption_is_reported_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_train.training, "fit", interrupted)
    status, _, err = run([*QUICK, "--out", str(tmp_path)], capsys)
    assert status == 130 and "interrupted; nothing was written" in err


def test_results_are_written_atomically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    written = []
    atomic_write = io.atomic_write

    def spy(path: Any) -> Any:
        written.append(Path(path).name)
        return atomic_write(path)

    monkeypatch.setattr(io, "atomic_write", spy)
    status, _, _ = run([*QUICK, "--out", str(tmp_path)], capsys)
    assert status == 0 and {"model.npz", "history.json"} <= set(written)
    assert len(json.loads((tmp_path / "history.json").read_text())["loss"]) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial files


def test_steps_are_compiled_unless_no_jit_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flag reaches fit, and both ways train to the same numbers."""
    fit = cli_train.training.fit
    used = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        used.append(kwargs["jit"])
        return fit(*args, **kwargs)

    monkeypatch.setattr(cli_train.training, "fit", spy)
    histories = []
    for flags, mode in [([], "compiled (jit) steps"), (["--no-jit"], "eager steps")]:
        out = tmp_path / (flags[0] if flags else "jit")
        status, stdout, _ = run([*QUICK, *flags, "--epochs", "2", "--out", str(out)], capsys)
        assert status == 0 and mode in stdout
        histories.append(json.loads((out / "history.json").read_text()))
    assert used == [True, False]
    compiled, eager = histories
    assert compiled.keys() == eager.keys()
    for key in compiled:
        assert compiled[key] == pytest.approx(eager[key], rel=1e-6, abs=1e-9)
