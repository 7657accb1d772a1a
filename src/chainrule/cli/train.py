"""Train a neural network on the built-in 8x8 handwritten digits, and show how it learns.

With no options: an MLP 64-512-256-10 with ReLU, trained with Adam on 80% of the 1,797
images in mini-batches of 32 for 60 epochs, the learning rate decaying from 0.003 to 0 on a
cosine, each pixel standardised with the training images' mean and standard deviation. It
reports training and held-out accuracy after every epoch; at the end it writes, to the output
directory, the model with its input scaling (model.npz: the pytree {"model", "input_mean",
"input_std"}), the history (history.json) and the loss and accuracy curves
(training_curves.png, if matplotlib is installed).

examples:
  chainrule train
  chainrule train --optimizer sgd --lr 0.1 --epochs 40 --hidden 256
  chainrule train --hidden 64,64,64 --batch-size 16 --seed 3 --out runs/deep
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import data, io, nn, optim
from chainrule import train as training

PIXELS, CLASSES = 64, 10  # the digits: 8x8 images, ten classes
MAX_PARAMETERS = 100_000_000  # a model that fits in memory several times over

# Optimizers offered on the command line, with the learning rate each starts from.
OPTIMIZERS: dict[str, tuple[Callable[..., Any], float]] = {
    "adam": (optim.Adam, 3e-3),
    "adamw": (optim.AdamW, 3e-3),
    "sgd": (lambda lr: optim.SGD(lr, momentum=0.9), 0.05),
    "rmsprop": (optim.RMSprop, 1e-3),
    "adagrad": (optim.Adagrad, 0.05),
}


def _positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            article = "an" if kind.__name__[0] in "aeiou" else "a"
            raise argparse.ArgumentTypeError(
                f"expected {article} {kind.__name__}, got {text!r}"
            ) from None
        if not (0 < value < math.inf):
            raise argparse.ArgumentTypeError(f"must be positive and finite, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths such as 128,64, got {text!r}"
        ) from None
    if not sizes or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"expected one or more positive layer widths such as 128,64, got {text!r}"
        )
    widths = [PIXELS, *sizes, CLASSES]
    parameters = sum(a * b + b for a, b in itertools.pairwise(widths))
    if parameters > MAX_PARAMETERS:
        raise argparse.ArgumentTypeError(
            f"{text} makes a model of {parameters:,} parameters; this command trains at most "
            f"{MAX_PARAMETERS:,} (each takes 4 bytes, and Adam keeps two more)"
        )
    return sizes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--optimizer",
        choices=sorted(OPTIMIZERS),
        default="adam",
        help="the optimizer (default: adam)",
    )
    parser.add_argument(
        "--lr",
        type=_positive(float),
        default=None,
        help="peak learning rate, decayed to 0 on a cosine (default: 0.003 for adam/adamw, "
        "0.05 for sgd "
        "with momentum 0.9 and for adagrad, 0.001 for rmsprop)",
    )
    parser.add_argument(
        "--epochs",
        type=_positive(int),
        default=60,
        help="passes over the training images (default: 60)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive(int),
        default=32,
        help="images per gradient step (default: 32)",
    )
    parser.add_argument(
        "--hidden",
        type=_hidden_sizes,
        default=[512, 256],
        help="hidden layer widths, comma-separated (default: 512,256)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the data split, initialisation and shuffling (default: 0)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("chainrule-digits"),
        help="output directory (default: ./chainrule-digits)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-jit",
        action="store_true",
        help="take each step eagerly instead of as one compiled (cr.jit) program; the "
        "numbers are the same",
    )


def standardisation(X: Any) -> tuple[Any, Any]:
    """Per-pixel mean and spread of the training images (the spread kept away from 0, since
    border pixels are almost always blank)."""
    return X.mean(axis=0), X.std(axis=0) + 0.1


def _loss(model: Any, x: Any, y: Any) -> Any:
    return nn.cross_entropy(model(x), y)


def _accuracy(model: Any, x: Any, y: Any) -> float:
    return training.accuracy(model(x), y)


OUTPUTS = ("model.npz", "history.json", "training_curves.png")


def _cannot_write(out: Path) -> str | None:
    """Why the results could not be written to `out`, found before training (or None)."""
    if out.exists() and not out.is_dir():
        return f"--out {str(out)!r} is a file; give a directory (created if missing)"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        return f"cannot write to --out {str(out)!r}: {exc.strerror or exc}"
    taken = [name for name in OUTPUTS if (out / name).is_dir()]
    if taken:
        return f"cannot write {taken[0]} in --out {str(out)!r}: a directory has that name"
    return None


def _error(message: str, status: int) -> int:
    print(f"chainrule train: {message}", file=sys.stderr)
    return status


def run(args: argparse.Namespace) -> int:
    problem = _cannot_write(args.out)
    if problem is not None:
        return _error(problem, 2)
    make_optimizer, default_lr = OPTIMIZERS[args.optimizer]
    lr = default_lr if args.lr is None else args.lr
    X, y = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(
        X, y, test_size=0.2, random_state=args.seed, stratify=y
    )
    mean, std = standardisation(X_train)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    sizes = [X.shape[1], *args.hidden, CLASSES]
    model = nn.MLP(sizes, rng=args.seed)
    print(f"digits: {len(X_train)} training and {len(X_test)} held-out 8x8 images, 10 classes")
    print(
        f"model: MLP {'-'.join(map(str, sizes))} with ReLU, "
        f"{nn.count_parameters(model):,} parameters"
    )
    print(
        f"training: {args.optimizer} (lr {lr:g}, cosine decay to 0), {args.epochs} epochs, "
        f"batches of {args.batch_size}, seed {args.seed}, "
        f"{'eager' if args.no_jit else 'compiled (jit)'} steps\n"
    )

    def report(epoch: int, history: dict[str, list[float]], *_: Any) -> None:
        print(
            f"epoch {epoch:3d}/{args.epochs}  loss {history['loss'][-1]:.4f}  "
            f"train accuracy {100 * history['train_accuracy'][-1]:6.2f}%  "
            f"held-out accuracy {100 * history['val_accuracy'][-1]:6.2f}%"
        )

    start = time.perf_counter()
    steps = args.epochs * -(-len(X_train) // args.batch_size)
    try:
        with np.errstate(all="ignore"):  # a divergence is reported below, not as warnings
            model, _, history = training.fit(
                model,
                _loss,
                make_optimizer(optim.schedules.cosine(lr, steps)),
                (X_train, y_train),
                epochs=args.epochs,
                batch_size=args.batch_size,
                val_data=(X_test, y_test),
                metrics={"accuracy": _accuracy},
                seed=args.seed,
                progress=not args.no_progress,
                on_epoch_end=report,
                jit=not args.no_jit,
            )
    except FloatingPointError as exc:
        what = str(exc).removeprefix("fit: ").split(";")[0]
        return _error(f"training diverged: {what}; try a smaller --lr than {lr:g}", 1)
    except KeyboardInterrupt:
        return _error("interrupted; nothing was written", 130)
    seconds = time.perf_counter() - start
    final = history["val_accuracy"][-1]
    print(f"\ntrained in {seconds:.1f} s: held-out accuracy {100 * final:.2f}%")

    try:
        io.save(args.out / "model.npz", {"model": model, "input_mean": mean, "input_std": std})
        with io.atomic_write(args.out / "history.json") as file:
            file.write(json.dumps(history, indent=1).encode())
    except OSError as exc:
        return _error(f"cannot write the results to {str(args.out)!r}: {exc}", 1)
    written = ["model.npz", "history.json"]
    try:
        from chainrule.learn import plot

        plot.training_curves(history, args.out / "training_curves.png")
        written.append("training_curves.png")
    except ImportError as exc:
        print(f"(no picture: {exc})")
    print(f"wrote {', '.join(str(args.out / name) for name in written)}")
    return 0
