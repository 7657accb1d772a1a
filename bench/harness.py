"""Shared machinery: timing, correctness checks against chainrule, and reporting.

Timing follows ``timeit``: after warm-up, a fast call is run in a batch of ``loops`` calls
(chosen so that one batch lasts at least ``min_batch_s``), the batch is timed with
``time.perf_counter`` and divided by ``loops``; this is repeated and the median per-call time
is reported. Slow calls (a batch of one already lasts long) get fewer repeats, bounded by
``max_measure_s`` per measurement. The garbage collector stays on, as it is for a user: the
objects an autodiff library allocates per call and the collections they cause are part of
its cost. ``gc.collect()`` runs before each batch so that one library's garbage is not
billed to the next.

The implementations of a case are timed in interleaved rounds (one batch of each, then the
next round), not one after the other: the machine drifts (clock, neighbours, the allocator's
state), and timed in sequence the implementation measured first was measurably slower than
the same code measured last (W2 small: 1.34x against 1.17x the NumPy floor, same code).
Every implementation of a case gets the same number of rounds, so a ratio target compares
the two sides round by round: the median over rounds of the ratio of that round's times.
A slow round (a neighbour's burst) then slows both sides of the ratio it is in.

On a shared machine the BLAS kernel matters as much as the load: OpenBLAS picks its kernel
from the CPU it detects (or from ``OPENBLAS_CORETYPE``), so `note_blas` writes the loaded
BLAS libraries, their kernels and ``OPENBLAS_CORETYPE`` into the configuration notes.
"""

from __future__ import annotations

import gc
import json
import math
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

from .libs import NOTES, Unavailable, threads

CHAINRULE = "chainrule"


# ---------------------------------------------------------------------------- configuration


@dataclass
class Config:
    quick: bool = False
    threads: int = 1
    repeats: int = 7  # repeats of a batch; the median is reported
    min_repeats: int = 3  # even for slow calls
    min_batch_s: float = 0.05  # one batch of calls lasts at least this long
    max_measure_s: float = 4.0  # soft bound on the time of one measurement (after warm-up)
    warmup_s: float = 0.3  # warm-up: calls until this much time has passed ...
    warmup_calls: int = 5  # ... and at least this many calls (the allocator settling)
    startup_runs: int = 7  # W4: fresh processes per import (after one discarded run)

    @classmethod
    def make(cls, quick: bool, threads: int) -> Config:
        if not quick:
            return cls(threads=threads)
        return cls(
            quick=True,
            threads=threads,
            repeats=3,
            min_repeats=1,
            min_batch_s=0.01,
            max_measure_s=0.3,
            warmup_s=0.01,
            warmup_calls=1,
            startup_runs=1,
        )


# ---------------------------------------------------------------------------- timing


@dataclass
class Timing:
    median: float  # seconds per call
    samples: list[float]  # seconds per call, one per repeat
    loops: int  # calls per timed batch
    faults: float = 0.0  # minor page faults per call during the timed batches
    cores: float = 1.0  # CPU time over wall time in the timed batches (all its threads)

    @property
    def spread(self) -> float:
        """(max - min) / median over the repeats: how noisy this measurement was."""
        return (max(self.samples) - min(self.samples)) / self.median if self.median else 0.0


@dataclass(frozen=True)
class Reset:
    """A call that changes state, and `reset`, which puts the state back before each call.

    Only `call` is timed: `reset` runs before every call, outside the timing (a training
    step that must start from the same weights each time, say).
    """

    call: Callable[[], Any]
    reset: Callable[[], Any]

    def __call__(self) -> Any:
        self.reset()
        return self.call()


def _batch(fn: Callable[[], Any], loops: int) -> float:
    return _timed_batch(fn, loops)[0]


def _timed_batch(fn: Callable[[], Any], loops: int) -> tuple[float, float]:
    """Wall and CPU seconds (of all the process's threads) of `loops` calls, resets apart."""
    if isinstance(fn, Reset):
        wall = cpu = 0.0
        for _ in range(loops):
            fn.reset()
            t0, c0 = time.perf_counter(), time.process_time()
            fn.call()
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
        return wall, cpu
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(loops):
        fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _minor_faults() -> int:
    """Minor page faults of this process so far (0 where ``resource`` is missing)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0


def _calibrate(fn: Callable[[], Any], cfg: Config) -> tuple[int, int]:
    """Warm `fn` up and choose its batch size and number of repeats: ``(loops, repeats)``."""
    gc.collect()
    # Warm-up (the correctness check has already made one call): at least warmup_calls calls
    # and warmup_s seconds, doubling the batch while calls are fast. Caches, lazy imports and
    # the allocator settle (glibc's mmap threshold adapts after large arrays are freed: the
    # first calls that allocate big temporaries page-fault much more than later ones). These
    # calls also estimate the per-call time.
    calls, spent = 1, _batch(fn, 1)
    while calls < cfg.warmup_calls or (spent < cfg.warmup_s and calls < 1000):
        n = calls if spent < cfg.warmup_s else 1
        spent += _batch(fn, n)
        calls += n
    per_call = max(spent / calls, 1e-9)
    loops = max(1, math.ceil(cfg.min_batch_s / per_call))
    repeats = cfg.repeats
    if per_call * loops * repeats > cfg.max_measure_s:
        repeats = max(cfg.min_repeats, int(cfg.max_measure_s / (per_call * loops)))
    return loops, repeats


def measure_all(
    fns: dict[str, Callable[[], Any]], cfg: Config
) -> dict[str, Timing | BaseException]:
    """Median seconds per call of each function, timed in interleaved rounds (see above).

    A function that raises gets its exception instead of a timing, and leaves the rounds.
    """
    plans: dict[str, tuple[int, int]] = {}
    results: dict[str, Timing | BaseException] = {}
    for name, fn in fns.items():
        try:
            plans[name] = _calibrate(fn, cfg)
        except Exception as exc:
            results[name] = exc
    samples: dict[str, list[float]] = {name: [] for name in plans}
    faults = dict.fromkeys(plans, 0)
    cpu = dict.fromkeys(plans, 0.0)
    # The same rounds for all, so that ratios can be taken round by round (see above).
    rounds = min((repeats for _, repeats in plans.values()), default=0)
    for _ in range(max(rounds, cfg.min_repeats) if plans else 0):
        for name, (loops, _repeats) in plans.items():
            if name in results:
                continue
            gc.collect()
            faults0 = _minor_faults()
            try:
                wall, cpu_s = _timed_batch(fns[name], loops)
            except Exception as exc:
                results[name] = exc
                continue
            samples[name].append(wall / loops)
            cpu[name] += cpu_s
            faults[name] += _minor_faults() - faults0
    for name, (loops, _) in plans.items():
        if name not in results:
            times = samples[name]
            per_call = faults[name] / (loops * len(times))
            cores = cpu[name] / (loops * sum(times)) if sum(times) else 1.0
            results[name] = Timing(statistics.median(times), times, loops, per_call, cores)
    return results


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{seconds:.3g} s"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    digits = 0 if r >= 100 else 1 if r >= 10 else 2 if r >= 0.1 else 3
    return f"{r:.{digits}f}×"


# ---------------------------------------------------------------------------- results


@dataclass
class Measurement:
    impl: str
    seconds: float | None = None  # median per call
    status: str = "ok"  # ok | skipped | error | mismatch
    note: str = ""
    spread: float | None = None
    loops: int | None = None
    repeats: int | None = None
    faults: float | None = None  # minor page faults per call (fresh memory touched)
    cores: float | None = None  # CPU time / wall time while timed (more than the threads?)
    samples: list[float] | None = None


@dataclass
class Case:
    label: str  # "n=10"
    results: list[Measurement] = field(default_factory=list)

    def get(self, impl: str) -> Measurement | None:
        return next((m for m in self.results if m.impl == impl), None)

    def ratio(self, impl: str, base: str = CHAINRULE) -> float | None:
        """``impl``'s time over ``base``'s: > 1 means base is faster."""
        a, b = self.get(impl), self.get(base)
        if a is None or b is None or a.seconds is None or not b.seconds:
            return None
        return a.seconds / b.seconds


@dataclass
class Target:
    text: str
    status: str  # PASS | FAIL | SKIP
    detail: str = ""


@dataclass
class Section:
    id: str
    title: str
    cases: list[Case] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ratio_label: str = "ratio"  # header of the anchor/chainrule column
    base: str = CHAINRULE

    def case(self, label: str) -> Case | None:
        return next((c for c in self.cases if c.label == label), None)

    @property
    def failed(self) -> bool:
        return any(m.status in ("error", "mismatch") for c in self.cases for m in c.results)


def note_blas() -> None:
    """Add the BLAS libraries loaded so far (threadpoolctl's view: library, version, kernel,
    threads) and ``OPENBLAS_CORETYPE`` to the configuration notes, once each."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        found = ["threadpoolctl not installed: BLAS kernel unknown"]
    else:
        found = [
            f"BLAS: {i.get('internal_api')} {i.get('version')}, kernel "
            f"{i.get('architecture', '?')}, {i.get('num_threads')} thread(s) "
            f"({os.path.basename(str(i.get('filepath')))})"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
    found.insert(0, f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    NOTES.extend(n for n in found if n not in NOTES)


@dataclass
class Impl:
    """One implementation of a workload case.

    ``build()`` does the set-up that a user does once (imports, converting the data, wrapping
    the function, compiling) and returns the zero-argument call that is timed, or a `Reset`
    when the call changes state that must be restored, untimed, before each call. It raises
    ``Unavailable`` to be skipped. ``to_numpy`` turns the call's result into an ndarray for
    the correctness check (outside the timing). A yardstick (``checked=False``: part of the
    work, such as the step's matrix products alone) is timed but not compared.
    """

    name: str
    build: Callable[[], Callable[[], Any]]
    to_numpy: Callable[[Any], np.ndarray] = np.asarray
    checked: bool = True


def _report_error(impl: str, label: str, exc: BaseException) -> str:
    """The full traceback to stderr (for whoever debugs it); a one-line summary for the table."""
    print(f"--- {impl} ({label}) raised:", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
    return _short_error(exc)


def _short_error(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}".replace("\n", " ")[:300]


def run_case(
    label: str,
    impls: Sequence[Impl],
    cfg: Config,
    *,
    rtol: float,
    atol: float,
    reference: str = CHAINRULE,
    fallback_reference: str | None = None,
) -> Case:
    """Build every impl, check its result against ``reference``'s, then time the ones that agree.

    If the reference itself fails, ``fallback_reference`` (e.g. the hand-written NumPy floor)
    is used to check the others, so that anchors are still timed.
    """
    case = Case(label)
    calls: dict[str, Callable[[], Any]] = {}
    values: dict[str, np.ndarray] = {}
    for impl in impls:
        m = Measurement(impl.name)
        case.results.append(m)
        try:
            call = impl.build()
            value = np.asarray(impl.to_numpy(call()), dtype=np.float64)
            if impl.checked:
                values[impl.name] = value
            calls[impl.name] = call
        except Unavailable as exc:
            m.status, m.note = "skipped", str(exc)
        except Exception as exc:
            m.status, m.note = "error", _report_error(m.impl, label, exc)

    ref_name = reference if reference in values else fallback_reference
    ref = values.get(ref_name) if ref_name else None
    for m in case.results:
        if m.impl not in values:
            continue
        if ref is not None and m.impl != ref_name:
            got = values[m.impl]
            if got.shape != ref.shape:
                m.status, m.note = "mismatch", f"shape {got.shape} vs {ref_name}'s {ref.shape}"
            elif not np.allclose(got, ref, rtol=rtol, atol=atol):
                err = float(np.max(np.abs(got - ref)))
                m.status = "mismatch"
                m.note = f"max |Δ| = {err:.3g} against {ref_name} (rtol={rtol}, atol={atol})"
    timed = measure_all(
        {m.impl: calls[m.impl] for m in case.results if m.status == "ok" and m.impl in calls}, cfg
    )
    for m in case.results:
        t = timed.get(m.impl)
        if isinstance(t, BaseException):
            m.status, m.note = "error", _report_error(m.impl, label, t)
        elif t is not None:
            m.seconds, m.spread, m.loops, m.repeats = t.median, t.spread, t.loops, len(t.samples)
            m.faults, m.samples, m.cores = t.faults, t.samples, t.cores
    return case


def sized_section(
    workload: str,
    title: str,
    note: str,
    sizes: Sequence[Any],
    impls: Callable[[Any], Sequence[Impl]],
    cfg: Config,
    *,
    rtol: float,
    atol: float,
    label: Callable[[Any], str] = lambda n: f"n={n}",
) -> Section:
    """One case per size, each checked against chainrule (or the NumPy floor) and timed."""
    section = Section(workload, title)
    section.notes.append(note)
    for n in sizes:
        section.cases.append(
            run_case(
                label(n),
                impls(n),
                cfg,
                rtol=rtol,
                atol=atol,
                fallback_reference="numpy by hand (floor)",
            )
        )
    note_blas()  # now that every library of the section is loaded
    return section


def ratio_target(
    section: Section,
    case_label: str,
    anchor: str,
    min_ratio: float,
    text: str,
    *,
    base_impl: str | None = None,
) -> Target:
    """PASS when anchor_time / base_time >= min_ratio in the given case, the base being
    `base_impl` (default: the section's base, chainrule). The ratio is the median over the
    interleaved rounds of each round's ratio (the ratio of the medians if the rounds differ)."""
    base_name = base_impl or section.base
    case = section.case(case_label)
    base = case.get(base_name) if case else None
    other = case.get(anchor) if case else None
    if base is None or base.seconds is None:
        why = base.note if base else "not measured"
        return Target(
            text,
            "FAIL" if base and base.status != "skipped" else "SKIP",
            f"{base_name} has no time ({why})",
        )
    if other is None or other.seconds is None:
        return Target(text, "SKIP", f"{anchor} not measured ({other.note if other else 'absent'})")
    paired = base.samples and other.samples and len(base.samples) == len(other.samples)
    if paired:
        r = statistics.median(o / b for o, b in zip(other.samples, base.samples, strict=True))  # type: ignore[arg-type]
    else:
        r = other.seconds / base.seconds
    ok = r >= min_ratio
    detail = f"{anchor}/{base_name} = {r:.3g}, needs >= {min_ratio:.3g}"
    if base.samples and other.samples:
        # The verdict on the fastest repeats; when it differs, the median is at the mercy of
        # noise (or of bimodal timings: page faults, allocator state) and the verdict is weak.
        best = min(other.samples) / min(base.samples)
        if (best >= min_ratio) != ok:
            detail += f"; UNSTABLE: on the fastest repeats the ratio is {best:.3g}"
    return Target(text, "PASS" if ok else "FAIL", detail)


# ---------------------------------------------------------------------------- reports


def _impl_order(section: Section) -> list[str]:
    names: list[str] = []
    for c in section.cases:
        for m in c.results:
            if m.impl not in names:
                names.append(m.impl)
    return names


def _cell(m: Measurement | None) -> str:
    if m is None:
        return "-"
    if m.status == "ok":
        return fmt_time(m.seconds)
    return {"skipped": "skip", "error": "ERROR", "mismatch": "WRONG"}[m.status]


def _table(section: Section) -> tuple[list[str], list[list[str]]]:
    header = ["implementation"]
    for c in section.cases:
        header += [f"{c.label} time", f"{c.label} {section.ratio_label}"]
    rows = []
    for name in _impl_order(section):
        row = [name]
        for c in section.cases:
            m = c.get(name)
            row.append(_cell(m))
            row.append(fmt_ratio(c.ratio(name, section.base)) if m and m.status == "ok" else "")
        rows.append(row)
    return header, rows


def _problems(section: Section) -> list[str]:
    """One line per problem; a skip with the same reason in every case is listed once."""
    out: list[str] = []
    skipped: dict[tuple[str, str], list[str]] = {}
    for c in section.cases:
        for m in c.results:
            if m.status == "skipped":
                skipped.setdefault((m.impl, m.note), []).append(c.label)
            elif m.status != "ok":
                out.append(f"{m.impl} ({c.label}): {m.status}: {m.note}")
    for (impl, note), labels in skipped.items():
        where = "" if len(labels) == len(section.cases) else f" ({', '.join(labels)})"
        out.append(f"{impl}{where}: skipped: {note}")
    return out


def _noisy(section: Section, limit: float = 0.5) -> list[str]:
    return [
        f"{m.impl} ({c.label}) spread {m.spread:.0%}"
        for c in section.cases
        for m in c.results
        if m.spread is not None and m.spread > limit
    ]


# Above this many minor page faults per call, the time includes the kernel handing fresh
# pages over: glibc returned the previous call's freed memory to the system (the state of
# the heap, shaped by whatever ran before, decides; a ~10% to ~40% swing on W2 small).
FAULTS_SHOWN = 50.0


def _faulting(section: Section, limit: float = FAULTS_SHOWN) -> list[str]:
    return [
        f"{m.impl} ({c.label}) {m.faults:.0f}"
        for c in section.cases
        for m in c.results
        if m.faults is not None and m.faults > limit
    ]


def _busy(section: Section) -> list[str]:
    """Implementations that kept more cores busy than the thread count allows (their own
    threads, or spinning idle workers): their ratios are not one thread against one."""
    limit = threads() * 1.15 + 0.05
    return [
        f"{m.impl} ({c.label}) {m.cores:.2f}"
        for c in section.cases
        for m in c.results
        if m.cores is not None and m.cores > limit
    ]


def render_text(section: Section) -> str:
    header, rows = _table(section)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"== {section.id}: {section.title} =="]
    lines += [f"   {n}" for n in section.notes]
    fmt = lambda r: "  ".join(
        (v.ljust(w) if i == 0 else v.rjust(w))
        for i, (v, w) in enumerate(zip(r, widths, strict=True))
    )
    lines.append(fmt(header))
    lines.append("  ".join("-" * w for w in widths))
    lines += [fmt(r) for r in rows]
    lines.append(
        f"({section.ratio_label} = anchor time / {section.base} time: "
        f">1 means {section.base} is faster)"
    )
    for p in _problems(section):
        lines.append(f"   note: {p}")
    noisy = _noisy(section)
    if noisy:
        lines.append("   noisy (max-min over repeats > 50% of median): " + "; ".join(noisy))
    faulting = _faulting(section)
    if faulting:
        lines.append(
            f"   minor page faults per call (> {FAULTS_SHOWN:.0f}: fresh memory touched each "
            "call, the heap given back between calls): " + "; ".join(faulting)
        )
    busy = _busy(section)
    if busy:
        lines.append(
            f"   cores busy while timed (CPU / wall time; threads: {threads()}): " + "; ".join(busy)
        )
    for t in section.targets:
        lines.append(f"   [{t.status}] {t.text}  ({t.detail})")
    return "\n".join(lines)


def render_markdown(section: Section) -> str:
    header, rows = _table(section)
    esc = lambda s: s.replace("|", "\\|")
    lines = [f"### {section.id}: {section.title}", ""]
    lines += [f"- {n}" for n in section.notes]
    if section.notes:
        lines.append("")
    lines.append("| " + " | ".join(esc(h) for h in header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    lines += ["| " + " | ".join(esc(v) for v in r) + " |" for r in rows]
    lines.append("")
    lines.append(
        f"{section.ratio_label} = anchor time / {section.base} time; "
        f"> 1 means {section.base} is faster."
    )
    lines.append("")
    for p in _problems(section):
        lines.append(f"- note: {esc(p)}")
    noisy = _noisy(section)
    if noisy:
        lines.append("- noisy (max-min over repeats > 50% of median): " + esc("; ".join(noisy)))
    faulting = _faulting(section)
    if faulting:
        lines.append("- minor page faults per call: " + esc("; ".join(faulting)))
    busy = _busy(section)
    if busy:
        lines.append(f"- cores busy while timed (threads: {threads()}): " + esc("; ".join(busy)))
    for t in section.targets:
        lines.append(f"- **{t.status}** {esc(t.text)} ({esc(t.detail)})")
    lines.append("")
    return "\n".join(lines)


def to_json(sections: Sequence[Section], env: dict[str, Any]) -> str:
    return json.dumps(
        {"environment": env, "sections": [asdict(s) for s in sections]},
        indent=1,
        ensure_ascii=False,
    )
