"""The `chainrule` command: `chainrule train` end to end, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

import chainrule as cr
from chainrule import data, io, nn
from chainrule.cli import main


def test_train_reaches_97_percent_held_out_accuracy_with_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--no-progress", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "epoch  60/60" in out and "held-out accuracy" in out
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["val_accuracy"]) == 60
    assert history["val_accuracy"][-1] >= 0.97
    assert (tmp_path / "training_curves.png").stat().st_size > 10_000

    # the saved model, with its input scaling, predicts exactly what the run reported
    X, y = data.load_digits()
    X_train, X_test, _, y_test = data.train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y
    )
    template = {
        "model": nn.MLP([64, 512, 256, 10], rng=1),
        "input_mean": numpy.zeros(64, numpy.float32),
        "input_std": numpy.ones(64, numpy.float32),
    }
    saved = io.load(tmp_path / "model.npz", like=template)
    numpy.testing.assert_allclose(saved["input_mean"], X_train.mean(axis=0))
    logits = saved["model"]((X_test - saved["input_mean"]) / saved["input_std"])
    accuracy = float(numpy.mean(numpy.argmax(logits, axis=1) == y_test))
    assert accuracy == pytest.approx(history["val_accuracy"][-1])
    assert cr.tree.structure(saved) == cr.tree.structure(template)


def test_train_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "train",
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--hidden",
        "32",
        "--seed",
        "3",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "MLP 64-32-10" in out and "sgd (lr 0.05, cosine" in out and "epoch   2/2" in out
    assert len(json.loads((tmp_path / "history.json").read_text())["loss"]) == 2


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--epochs", "0"], "must be positive"),
        (["--lr", "fast"], "expected a float"),
        (["--hidden", "12,x"], "comma-separated layer widths"),
        (["--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
        (["--batch-size", "-3"], "must be positive"),
    ],
)
def test_bad_options_get_a_message_and_exit_status_2(
    option: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *option])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_no_command_prints_help() -> None:
    assert main([]) == 2


def test_console_script_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chainrule.cli", "train", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "--optimizer" in result.stdout and "handwritten digits" in result.stdout


def test_train_without_matplotlib_says_so_and_still_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainrule import plot

    def missing() -> None:
        raise ImportError(
            "chainrule's plots need matplotlib, an optional extra: "
            "pip install 'chainrule[plot]' (or pip install matplotlib)."
        )

    monkeypatch.setattr(plot, "pyplot", missing)
    argv = ["train", "--epochs", "1", "--hidden", "16", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "no picture" in out and "pip install 'chainrule[plot]'" in out
    assert (tmp_path / "model.npz").exists() and not (tmp_path / "training_curves.png").exists()


def test_plot_module_says_how_to_install_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from chainrule import plot

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[plot\]'"):
        plot.pyplot()
