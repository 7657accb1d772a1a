"""W7: the data-parallel gradient of a logistic regression on Dask (chainrule.distributed).

float32, 64 features, 4 million examples made chunk by chunk (chunks of 250,000 rows, one
seed each) on the workers of a `dask.distributed.LocalCluster` and kept there (persisted),
so that a call moves only the parameters and the gradients. Timed: one
`chainrule.distributed.value_and_grad` of the mean logistic loss with 1 and with 2 worker
processes (one thread each) on this machine, and `cr.value_and_grad` on the same data in
this process's memory. The clusters are started before timing and closed after.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import libs
from .harness import CHAINRULE, Config, Impl, Section, ratio_target, sized_section

ID = "W7"
TITLE = "data-parallel gradient on Dask: logistic regression, 4M x 64 float32"
EXAMPLES, FEATURES, CHUNK = 4_000_000, 64, 250_000
ONE, TWO = "chainrule, 1 worker", "chainrule, 2 workers"
JIT = "chainrule jit"  # in memory, compiled, as the workers compile their chunks
_CLUSTERS: list[Any] = []  # started by this workload, closed at its end


def chunk(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``seed * CHUNK ...`` of the data: features and 0/1 labels of a noisy linear rule."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((CHUNK, FEATURES), dtype=np.float32)
    truth = np.random.default_rng(12345).standard_normal(FEATURES).astype(np.float32)
    logits = X @ truth / np.sqrt(FEATURES) + rng.logistic(size=CHUNK).astype(np.float32)
    return X, (logits > 0).astype(np.float32)


def loss(w: Any, X: Any, y: Any) -> Any:
    """The mean logistic loss (binary cross-entropy of the logits ``X @ coef + bias``)."""
    cnp = libs.chainrule()[1]
    z = X @ w["coef"] + w["bias"]
    return cnp.mean(cnp.logaddexp(0.0, z) - y * z)


def start() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "coef": (0.1 * rng.standard_normal(FEATURES)).astype(np.float32),
        "bias": np.float32(0.05),
    }


def impls(_: Any) -> list[Impl]:
    data: list[np.ndarray] = []  # the rows in this process's memory, made once

    def in_memory(jit: bool) -> Callable[[], Any]:
        cr, _ = libs.chainrule()
        if not data:
            parts = [chunk(seed) for seed in range(EXAMPLES // CHUNK)]
            data.extend(np.concatenate([p[k] for p in parts]) for k in (0, 1))
        X, y = data
        value_and_grad = cr.jit(cr.value_and_grad(loss)) if jit else cr.value_and_grad(loss)
        w = start()
        return lambda: value_and_grad(w, X, y)

    def on_workers(n: int) -> Callable[[], Any]:
        try:
            import dask
            import dask.array as da
            from dask.distributed import Client, LocalCluster

            from chainrule import distributed
        except ImportError as exc:
            raise libs.Unavailable(f"dask not importable ({exc})") from None
        with warnings.catch_warnings(), libs.all_cpus():  # (a core for each worker process)
            # (the second cluster's HTTP server takes another port)
            warnings.filterwarnings("ignore", "Port .* is already in use")
            cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                memory_limit=0,
            )  # fmt: skip
        client = Client(cluster, set_as_default=False)
        _CLUSTERS.append((client, cluster))
        pairs = [dask.delayed(chunk, pure=True)(seed) for seed in range(EXAMPLES // CHUNK)]
        X = da.concatenate([da.from_delayed(p[0], (CHUNK, FEATURES), np.float32) for p in pairs])
        y = da.concatenate([da.from_delayed(p[1], (CHUNK,), np.float32) for p in pairs])
        X, y = client.persist([X, y])  # made on the workers, and kept there
        value_and_grad = distributed.value_and_grad(loss)
        w = start()

        def call() -> Any:
            with client.as_current():
                return value_and_grad(w, X, y)

        return call

    def to_numpy(result: Any) -> np.ndarray:
        value, grad = result
        return np.concatenate([[value], np.ravel(grad["coef"]), [grad["bias"]]])

    return [
        Impl(CHAINRULE, lambda: in_memory(False), to_numpy),
        Impl(JIT, lambda: in_memory(True), to_numpy),
        Impl(ONE, lambda: on_workers(1), to_numpy),
        Impl(TWO, lambda: on_workers(2), to_numpy),
    ]


def run(cfg: Config) -> Section:
    try:
        section = sized_section(
            ID,
            TITLE,
            "the same rows everywhere (chunk seeds 0-15); value and gradient checked against "
            "the in-memory gradient (allclose, rtol 1e-4, atol 1e-6) before timing",
            [EXAMPLES],
            impls,
            cfg,
            rtol=1e-4,
            atol=1e-6,
            label=lambda n: f"n={n:,}",
        )
    finally:
        for client, cluster in _CLUSTERS:
            client.close()
            cluster.close()
        _CLUSTERS.clear()
    case = section.cases[0]
    one, two, memory = (case.get(name) for name in (ONE, TWO, JIT))
    if one and two and memory and None not in (one.seconds, two.seconds, memory.seconds):
        section.notes.append(
            f"speed-up from 1 to 2 workers: {one.seconds / two.seconds:.2f}x; overhead of "
            f"Dask per call (1 worker minus in memory, compiled): "
            f"{1e3 * (one.seconds - memory.seconds):.1f} ms"
        )
    label = f"n={EXAMPLES:,}"
    section.targets += [
        ratio_target(
            section, label, ONE, 1.6, "W7: 2 workers at least 1.6x faster than 1", base_impl=TWO
        ),
        ratio_target(
            section,
            label,
            JIT,
            1 / 1.3,
            "W7: 1 worker within 1.3x of the in-memory gradient (compiled, as the workers' are)",
            base_impl=ONE,
        ),
    ]
    return section
