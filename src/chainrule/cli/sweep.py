"""Train many networks on the digits at once, one per setting, and compare them.

Each value list (--optimizer, --lr, --hidden, --batch-size) is one axis of a grid; every
combination is one training run of `chainrule train` (with --epochs and --seed), and the
runs go to the worker processes of a Dask cluster: --workers N on this machine (default:
one per CPU), or --scheduler ADDRESS for an existing cluster. --samples K runs K settings
drawn at random from the grid instead (a random search). At the end it prints a table of
the runs, best first, and writes it (sweep.json) with a plot of the chosen metric against
each setting (sweep.png) to the output directory. Needs pip install 'chainrule[distributed]'.

examples:
  chainrule sweep --lr 0.001 0.003 0.01 --hidden 64 256,128
  chainrule sweep --optimizer adam sgd --lr 0.003 0.03 --epochs 20 --workers 2
  chainrule sweep --lr 0.0003 0.001 0.003 0.01 0.03 --hidden 32 64 128 --samples 6
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import time
from pathlib import Path

from chainrule import io

from .train import (
    OPTIMIZERS,
    ClusterError,
    _cannot_write,
    _hidden_sizes,
    _positive,
    _seed,
    add_cluster_arguments,
    cluster,
    train_digits,
)

METRICS = ("loss", "train_accuracy", "val_loss", "val_accuracy")  # (as the history has them)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--optimizer", nargs="+", choices=sorted(OPTIMIZERS), default=["adam"],
        help="optimizers to try (default: adam)",
    )  # fmt: skip
    parser.add_argument(
        "--lr", nargs="+", type=_positive(float), default=None,
        help="peak learning rates to try (default: each optimizer's, as chainrule train)",
    )  # fmt: skip
    parser.add_argument(
        "--hidden", nargs="+", type=_hidden_sizes, default=[[512, 256]],
        help="hidden layer widths to try, each comma-separated (default: 512,256)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-size", nargs="+", type=_positive(int), default=[32],
        help="batch sizes to try (default: 32)",
    )  # fmt: skip
    parser.add_argument(
        "--epochs", type=_positive(int), default=30, help="epochs of every run (default: 30)"
    )
    parser.add_argument("--seed", type=_seed, default=0, help="seed of every run (default: 0)")
    parser.add_argument(
        "--samples", type=_positive(int), default=None, metavar="K",
        help="run K settings drawn at random from the grid (default: all of it)",
    )  # fmt: skip
    parser.add_argument(
        "--metric", choices=METRICS, default="val_accuracy",
        help="the result to rank the runs by and plot (default: val_accuracy)",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=Path("chainrule-sweep"),
        help="output directory (default: ./chainrule-sweep)",
    )  # fmt: skip
    add_cluster_arguments(
        parser,
        "worker processes of a local Dask cluster (default: one per CPU)",
        "run on the Dask cluster whose scheduler is at ADDRESS",
    )


def run_one(**setting: object) -> dict[str, float]:
    """One training of the sweep: its last history entries; NaN for every result when the
    training diverged (a learning rate too large is an outcome of a sweep, not an error)."""
    try:
        history = train_digits(**setting).history  # type: ignore[arg-type]
    except FloatingPointError:
        return dict.fromkeys(METRICS, math.nan)
    return {key: history[key][-1] for key in METRICS}


def _error(message: str, status: int) -> int:
    print(f"chainrule sweep: {message}", file=sys.stderr)
    return status


def run(args: argparse.Namespace) -> int:
    try:
        from chainrule import distributed
    except ImportError as exc:  # (pragma: only without the extra)
        return _error(str(exc), 1)
    problem = _cannot_write(args.out)
    if problem is not None:
        return _error(problem, 2)
    axes: dict[str, list[object]] = {"optimizer": args.optimizer}
    if args.lr is not None:
        axes["lr"] = args.lr
    axes["hidden"] = args.hidden
    axes["batch_size"] = args.batch_size
    if args.samples is None:
        settings = distributed.grid(**axes)
    else:
        settings = distributed.sample(args.samples, args.seed, **axes)
    if args.scheduler is None and args.workers is None:
        args.workers = max(1, min(os.cpu_count() or 1, len(settings)))
    print(
        f"sweep: {len(settings)} runs of {args.epochs} epochs on the digits, "
        f"ranked by {args.metric}"
    )
    start = time.perf_counter()
    fun = functools.partial(run_one, epochs=args.epochs, seed=args.seed)
    try:
        with cluster(args) as client:
            runs = distributed.sweep(fun, settings, client=client)
    except ClusterError as exc:
        return _error(str(exc), 1)
    except KeyboardInterrupt:
        return _error("interrupted; nothing was written", 130)
    print(f"\n{len(runs)} runs in {time.perf_counter() - start:.1f} s:\n")
    descending = "accuracy" in args.metric
    print(runs.table(args.metric, descending=descending))
    diverged = sum(math.isnan(r[args.metric]) for r in runs.results)
    if diverged:
        print(f"\n{diverged} of the runs diverged (shown as nan)")
    if diverged < len(runs):
        best, results = runs.best(args.metric, "max" if descending else "min")
        print(f"\nbest: {best} ({args.metric} {results[args.metric]:.4g})")
    try:
        with io.atomic_write(args.out / "sweep.json") as file:
            file.write(json.dumps(runs.to_dict(), indent=1).encode())
    except OSError as exc:
        return _error(f"cannot write the results to {str(args.out)!r}: {exc}", 1)
    written = ["sweep.json"]
    try:
        from chainrule.learn import plot

        with plot.offscreen():
            runs.plot(args.metric, args.out / "sweep.png", "max" if descending else "min")
        written.append("sweep.png")
    except ImportError as exc:
        print(f"(no picture: {exc})")
    print(f"wrote {', '.join(str(args.out / name) for name in written)}")
    return 0
