"""Sweeps: many trainings at once, one per setting, spread over Dask's workers.

`grid` lists the settings of a grid search (every combination of the values given) and
`sample` a random search's (settings drawn from those combinations); `sweep` runs a
function on each setting, one task each, as workers free up, and returns a `SweepResult`:
the settings with their results, as a table, a best setting, and a plot.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._validate import count, one_of
from chainrule.data._common import Seed, rng_from

from ._dask import client_of

__all__ = ["SweepResult", "grid", "sample", "sweep"]


def grid(**values: Sequence[Any]) -> list[dict[str, Any]]:
    """Every combination of the values given for each setting (a grid search's settings),
    the last setting varying fastest, as scikit-learn's ``ParameterGrid`` orders them.

    >>> grid(lr=[0.1, 0.01], width=[32, 64])
    [{'lr': 0.1, 'width': 32}, {'lr': 0.1, 'width': 64}, {'lr': 0.01, 'width': 32}, {'lr': 0.01, 'width': 64}]
    """
    for name, options in values.items():
        if isinstance(options, (str, bytes)) or not isinstance(options, Sequence) or not options:
            raise ValueError(
                f"grid: the values of {name!r} must be a non-empty list, got {options!r}"
            )
    names = list(values)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())]


def sample(n: int, seed: Seed = 0, **values: Sequence[Any]) -> list[dict[str, Any]]:
    """`n` settings drawn at random, without repeats, from the combinations of `grid` (a
    random search's settings; all of them, shuffled, if there are at most `n`).

    >>> sample(2, seed=0, lr=[0.1, 0.01, 0.001], width=[32, 64])
    [{'lr': 0.01, 'width': 64}, {'lr': 0.01, 'width': 32}]
    """
    n = count(n, "n", "sample")
    settings = grid(**values)
    order = rng_from(seed, "sample").permutation(len(settings))
    return [settings[i] for i in order[:n]]


class SweepResult:
    """The settings of a sweep and what each run returned (`results`, dicts of numbers)."""

    def __init__(self, settings: list[dict[str, Any]], results: list[dict[str, float]]) -> None:
        self.settings = settings
        self.results = results

    def __len__(self) -> int:
        return len(self.settings)

    def __repr__(self) -> str:
        return f"SweepResult({len(self)} runs)\n{self.table()}"

    @property
    def metrics(self) -> list[str]:
        """The names of the results, in the order the first run gave them."""
        return list(self.results[0]) if self.results else []

    def best(self, metric: str, mode: str = "max") -> tuple[dict[str, Any], dict[str, float]]:
        """The setting whose `metric` is the highest (``mode="max"``) or lowest (``"min"``),
        and its results; runs with a NaN `metric` never win."""
        mode = one_of(mode, "mode", "SweepResult.best", ("max", "min"))
        self._check(metric, "best")
        scores = [r[metric] for r in self.results]
        finite = [i for i, s in enumerate(scores) if not math.isnan(s)]
        if not finite:
            raise ValueError(f"SweepResult.best: every run's {metric} is NaN")
        pick = max if mode == "max" else min
        i = pick(finite, key=lambda k: scores[k])
        return self.settings[i], self.results[i]

    def table(self, sort_by: str | None = None, descending: bool = True) -> str:
        """The runs as a text table, one row each, sorted by a result if `sort_by` names one.

        >>> print(SweepResult([{"lr": 0.1}, {"lr": 0.01}], [{"acc": 0.9}, {"acc": 0.95}]).table("acc"))
        lr    acc
        ----  ----
        0.01  0.95
        0.1   0.9
        """
        rows = list(range(len(self)))
        if sort_by is not None:
            self._check(sort_by, "table")
            rows.sort(key=lambda i: _order(self.results[i][sort_by], descending))
        names = list(self.settings[0]) if self.settings else []
        header = names + self.metrics
        cells = [
            [_show(self.settings[i][k]) for k in names]
            + [_show(self.results[i][m]) for m in self.metrics]
            for i in rows
        ]
        widths = [max(len(h), *(len(c[j]) for c in cells)) for j, h in enumerate(header)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
        lines.append("  ".join("-" * w for w in widths))
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in cells
        ]
        return "\n".join(lines)

    def plot(self, metric: str, path: str | Path | None = None, mode: str = "max") -> Any:
        """`metric` against each setting that varies, one panel each, the best run (as
        `best` with `mode`) starred; needs matplotlib: `chainrule.learn.plot.sweep_results`."""
        from chainrule.learn import plot

        self._check(metric, "plot")
        scores = [r[metric] for r in self.results]
        return plot.sweep_results(self.settings, scores, metric, path, mode)

    def to_dict(self) -> dict[str, Any]:
        """The sweep as lists of plain values (for JSON): ``{"settings", "results"}``."""
        return {"settings": self.settings, "results": self.results}

    def _check(self, metric: str, what: str) -> None:
        if metric not in self.metrics:
            raise KeyError(
                f"SweepResult.{what}: no result is named {metric!r}; the runs returned "
                f"{', '.join(map(repr, self.metrics)) or 'nothing'}"
            )


def sweep(
    fun: Callable[..., Any],
    settings: Sequence[Mapping[str, Any]],
    *,
    client: Any = None,
) -> SweepResult:
    """``fun(**setting)`` for every setting, in parallel on the workers of `client` (a
    ``dask.distributed.Client``; without one, one after another in this process).

    `fun` returns a dict of numbers (its metrics), or `train.fit`'s `FitResult`, whose
    history's last entries are taken (``loss``, ``val_loss``, ``val_accuracy``...). Each run
    is a task: a worker runs it whole, and Dask runs it again elsewhere if its worker dies.
    An error in a run ends the sweep with the run's own exception and traceback.

    >>> from chainrule import distributed
    >>> runs = distributed.sweep(lambda a, b: {"sum": a + b}, distributed.grid(a=[1, 2], b=[10]))
    >>> print(runs.table("sum"))
    a  b   sum
    -  --  ---
    2  10  12
    1  10  11
    """
    runs = [dict(s) for s in settings]
    if not runs:
        raise ValueError("sweep: no settings to run (grid() or sample() make them)")
    names = list(runs[0])
    if any(list(s) != names for s in runs):
        raise ValueError(f"sweep: every setting must name the same values, {names}")
    if client is None:
        results = [_metrics(fun(**s)) for s in runs]
    else:
        client = client_of(client, "sweep")
        futures = [client.submit(_run, fun, s, pure=False) for s in runs]
        results = client.gather(futures)
    return SweepResult(runs, results)


def _run(fun: Callable[..., Any], setting: dict[str, Any]) -> dict[str, float]:
    return _metrics(fun(**setting))


def _metrics(result: Any) -> dict[str, float]:
    """The numbers a run returned: its dict, or a FitResult's last history entries."""
    history = getattr(result, "history", None)
    if isinstance(history, Mapping):
        result = {k: v[-1] for k, v in history.items() if k != "epoch" and v}
    if not isinstance(result, Mapping):
        raise TypeError(
            f"sweep: a run must return a dict of numbers or a FitResult, got {type(result).__name__}"
        )
    try:
        return {str(k): float(v) for k, v in result.items()}
    except (TypeError, ValueError):
        raise TypeError(f"sweep: a run returned results that are not numbers: {result!r}") from None


def _order(value: float, descending: bool) -> tuple[bool, float]:
    """Sort key: NaN last either way."""
    return (math.isnan(value), -value if descending else value)


def _show(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)
