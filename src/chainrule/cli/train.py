"""Train a neural network on the built-in 8x8 handwritten digits, and show how it learns.

With no options: an MLP 64-512-256-10 with ReLU, trained with Adam on 80% of the 1,797
images in mini-batches of 32 for 60 epochs, the learning rate decaying from 0.003 to 0 on a
cosine, each pixel standardised with the training images' mean and standard deviation. It
reports training and held-out accuracy after every epoch; at the end it writes, to the output
directory, the model with its input scaling (model.npz: the pytree {"model", "input_mean",
"input_std"}), the history (history.json) and the loss and accuracy curves
(training_curves.png, if matplotlib is installed).

With --workers N it trains data-parallel on a Dask cluster of N worker processes on this
machine (each batch split over them, one update per batch: the same numbers as in one
process), and with --scheduler ADDRESS on an existing Dask cluster; both need
pip install 'chainrule[distributed]'.

examples:
  chainrule train
  chainrule train --optimizer sgd --lr 0.1 --epochs 40 --hidden 256
  chainrule train --hidden 64,64,64 --batch-size 16 --seed 3 --out runs/deep
  chainrule train --workers 2
  chainrule train --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
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
    parameters = _parameters([PIXELS, *sizes, CLASSES])
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
    add_cluster_arguments(
        parser,
        "train data-parallel on a local Dask cluster of N worker processes",
        "train data-parallel on the Dask cluster whose scheduler is at ADDRESS",
    )
    parser.add_argument(
        "--no-jit",
        action="store_true",
        help="take each step eagerly instead of as one compiled (cr.jit) program; the "
        "numbers are the same",
    )


def add_cluster_arguments(parser: argparse.ArgumentParser, workers: str, scheduler: str) -> None:
    """``--workers N`` or ``--scheduler ADDRESS`` (one at most), with their help texts (what
    `cluster` starts or reaches)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive(int), default=None, metavar="N", help=workers)
    where.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help=f"{scheduler} (such as tcp://10.0.0.5:8786)",
    )  # fmt: skip


def _parameters(sizes: Sequence[int]) -> int:
    """The weights and biases of an MLP of layer widths `sizes`."""
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


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


CONNECT_TIMEOUT = 30  # seconds to reach the scheduler of --scheduler


class ClusterError(RuntimeError):
    """The Dask cluster asked for could not be started or reached."""


@contextlib.contextmanager
def cluster(args: argparse.Namespace) -> Iterator[Any]:
    """The Dask client of ``--workers`` (a local cluster, started here and stopped after)
    or ``--scheduler`` (an existing cluster); None for neither."""
    if args.workers is None and args.scheduler is None:
        yield None
        return
    try:
        from chainrule.distributed._dask import client_module

        distributed = client_module("--workers and --scheduler")
    except ImportError as exc:
        raise ClusterError(str(exc)) from None
    Client, LocalCluster = distributed.Client, distributed.LocalCluster
    if args.workers is not None:
        with (
            LocalCluster(
                n_workers=args.workers, threads_per_worker=1, processes=True,
                dashboard_address=None,
            ) as local,
            Client(local) as client,
        ):  # fmt: skip
            print(f"cluster: {args.workers} local worker processes")
            yield client
        return
    try:
        client = Client(args.scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {args.scheduler}: {exc}") from None
    with client:
        workers = len(client.scheduler_info()["workers"])
        print(f"cluster: the scheduler at {args.scheduler}, {workers} workers")
        yield client


def digits_split(seed: int) -> tuple[Any, ...]:
    """The digits split 80/20 (stratified, by `seed`) and standardised with the training
    images' statistics: ``X_train, X_test, y_train, y_test, mean, std``."""
    X, y = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(
        X, y, test_size=0.2, random_state=seed, stratify=y
    )
    mean, std = standardisation(X_train)
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test, mean, std


def train_digits(
    optimizer: str = "adam",
    lr: float | None = None,
    hidden: Sequence[int] = (512, 256),
    epochs: int = 60,
    batch_size: int = 32,
    seed: int = 0,
    split: tuple[Any, ...] | None = None,
    **fit_options: Any,
) -> training.FitResult:
    """What ``chainrule train`` trains, as a function (one run of ``chainrule sweep``): an
    MLP on the standardised digits (`split`: ``digits_split(seed)``, if already made), with
    `optimizer` at peak learning rate `lr` (its default if None) decaying to 0 on a cosine;
    `fit_options` go to `train.fit`."""
    make_optimizer, default_lr = OPTIMIZERS[optimizer]
    X_train, X_test, y_train, y_test, _, _ = split or digits_split(seed)
    steps = epochs * -(-len(X_train) // batch_size)
    with np.errstate(all="ignore"):  # a divergence raises FloatingPointError, not warnings
        return training.fit(
            nn.MLP([PIXELS, *hidden, CLASSES], rng=seed),
            _loss,
            make_optimizer(optim.schedules.cosine(default_lr if lr is None else lr, steps)),
            (X_train, y_train),
            epochs=epochs,
            batch_size=batch_size,
            val_data=(X_test, y_test),
            metrics={"accuracy": _accuracy},
            seed=seed,
            **{"progress": False, **fit_options},
        )


def run(args: argparse.Namespace) -> int:
    problem = _cannot_write(args.out)
    if problem is not None:
        return _error(problem, 2)
    lr = OPTIMIZERS[args.optimizer][1] if args.lr is None else args.lr
    split = digits_split(args.seed)
    X_train, X_test, _, _, mean, std = split
    sizes = [PIXELS, *args.hidden, CLASSES]
    print(f"digits: {len(X_train)} training and {len(X_test)} held-out 8x8 images, 10 classes")
    print(f"model: MLP {'-'.join(map(str, sizes))} with ReLU, {_parameters(sizes):,} parameters")
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
    try:
        with cluster(args) as client:
            model, _, history = train_digits(
                args.optimizer, lr, args.hidden, args.epochs, args.batch_size, args.seed,
                split, progress=not args.no_progress, on_epoch_end=report, jit=not args.no_jit,
                client=client,
            )  # fmt: skip
    except ClusterError as exc:
        return _error(str(exc), 1)
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
