"""bench.harness: interleaved rounds, paired ratios, yardsticks and the BLAS notes."""

from __future__ import annotations

import os
import time
import types

import numpy as np
import pytest
from bench import libs
from bench.harness import (
    Case,
    Config,
    Impl,
    Measurement,
    Reset,
    Section,
    measure_all,
    note_blas,
    ratio_target,
    render_text,
    run_case,
)

QUICK = Config.make(quick=True, threads=1)


def test_every_implementation_of_a_case_runs_the_same_rounds():
    slow = lambda: time.sleep(0.02)
    cfg = Config(repeats=5, min_repeats=2, min_batch_s=0.001, max_measure_s=0.05,
                 warmup_s=0.0, warmup_calls=1)  # fmt: skip
    timings = measure_all({"fast": lambda: None, "slow": slow}, cfg)
    assert len(timings["fast"].samples) == len(timings["slow"].samples) == 2  # type: ignore[union-attr]


def _section(base: list[float], other: list[float]) -> Section:
    case = Case("n=1")
    for name, samples in (("chainrule jit", base), ("anchor", other)):
        case.results.append(Measurement(name, float(np.median(samples)), samples=samples))
    return Section("W0", "test", cases=[case])


def test_a_ratio_is_the_median_of_the_ratios_of_its_rounds():
    # Medians 2 and 3 (ratio 1.5); round by round the anchor is 3, 1 and 4 times slower.
    section = _section([1.0, 3.0, 2.0], [3.0, 3.0, 8.0])
    target = ratio_target(section, "n=1", "anchor", 2.5, "t", base_impl="chainrule jit")
    assert target.status == "PASS" and "anchor/chainrule jit = 3," in target.detail
    assert (
        ratio_target(section, "n=1", "anchor", 3.5, "t", base_impl="chainrule jit").status == "FAIL"
    )


def test_a_ratio_against_a_missing_base_names_it():
    target = ratio_target(_section([1.0], [1.0]), "n=1", "anchor", 1.0, "t")  # base: chainrule
    assert target.status == "SKIP" and "chainrule has no time" in target.detail


def test_a_yardstick_is_timed_but_not_compared():
    impls = [
        Impl("chainrule", lambda: lambda: np.ones(2)),
        Impl("products alone", lambda: lambda: np.zeros(3), checked=False),
        Impl("wrong", lambda: lambda: np.zeros(2)),
    ]
    case = run_case("n=2", impls, QUICK, rtol=1e-12, atol=0.0)
    status = {m.impl: m.status for m in case.results}
    assert status == {"chainrule": "ok", "products alone": "ok", "wrong": "mismatch"}
    assert case.get("products alone").seconds is not None  # type: ignore[union-attr]


def test_the_blas_kernel_and_openblas_coretype_are_noted_once(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(libs, "NOTES", [])
    monkeypatch.setattr("bench.harness.NOTES", libs.NOTES)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    note_blas()
    note_blas()
    assert libs.NOTES[0] == "OPENBLAS_CORETYPE=Haswell"
    blas = [n for n in libs.NOTES if n.startswith("BLAS: ")]
    assert blas and all(", kernel " in n for n in blas)  # NumPy's BLAS is loaded
    assert len(libs.NOTES) == len(set(libs.NOTES))


def test_the_cores_an_implementation_keeps_busy_are_measured_and_reported(
    monkeypatch: pytest.MonkeyPatch,
):
    """On clocks of its own (a real spin shares a busy machine's cores: no timing here): a
    call that computes keeps one core busy, one that waits none, and a `Reset`'s own
    restore is left out."""
    from bench import harness

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # (as `set_thread_env(1)` leaves it)
    clock = {"wall": 0.0, "cpu": 0.0}

    def spin() -> None:
        clock["wall"] += 0.002
        clock["cpu"] += 0.002

    def wait() -> None:
        clock["wall"] += 0.002

    def restore() -> None:  # (three cores' worth, which must not count)
        clock["wall"] += 0.002
        clock["cpu"] += 0.006

    fake = types.SimpleNamespace(
        perf_counter=lambda: clock["wall"], process_time=lambda: clock["cpu"]
    )
    monkeypatch.setattr(harness, "time", fake)
    cfg = Config(repeats=3, min_repeats=3, min_batch_s=0.005, max_measure_s=0.1,
                 warmup_s=0.0, warmup_calls=1)  # fmt: skip
    timings = measure_all({"spin": spin, "wait": wait, "reset": Reset(spin, restore)}, cfg)
    assert timings["spin"].cores == pytest.approx(1.0)  # type: ignore[union-attr]
    assert timings["wait"].cores == pytest.approx(0.0)  # type: ignore[union-attr]
    assert timings["reset"].cores == pytest.approx(1.0)  # type: ignore[union-attr]
    case = Case("n=1", [Measurement("one", 1.0, cores=1.0), Measurement("pool", 1.0, cores=1.45)])
    text = render_text(Section("W0", "test", cases=[case]))
    assert "cores busy while timed" in text and "pool (n=1) 1.45" in text
    assert "one (n=1)" not in text


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_worker_processes_are_started_on_every_cpu_the_process_had(
    monkeypatch: pytest.MonkeyPatch,
):
    mine = sorted(os.sched_getaffinity(0))
    monkeypatch.setattr(libs, "ALL_CPUS", mine)
    with libs.all_cpus():
        assert sorted(os.sched_getaffinity(0)) == mine
    assert sorted(os.sched_getaffinity(0)) == mine  # (restored)


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs CPU affinity and two CPUs",
)
def test_pinning_reaches_the_threads_already_running() -> None:
    import threading

    mine = sorted(os.sched_getaffinity(0))
    started, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=lambda: (started.set(), stop.wait()))
    thread.start()
    started.wait()
    try:
        libs._set_affinity(mine[-1:])
        assert os.sched_getaffinity(thread.native_id) == {mine[-1]}
    finally:
        libs._set_affinity(mine)
        stop.set()
        thread.join()
