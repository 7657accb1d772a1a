"""The libraries under test, loaded once and configured alike.

chainrule is required; the anchors (HIPS autograd, PyTorch, JAX) are optional: a loader
raises ``Unavailable`` when its library cannot be imported, and the workload skips
that row with a note. The workloads choose the dtype of their data (nothing here changes a
library's default dtype); every library runs with the thread count that ``__main__`` fixed
through the environment before NumPy was imported:

- NumPy (and so chainrule, autograd and the NumPy floor): OMP/OPENBLAS/MKL/... variables;
- PyTorch: ``torch.set_num_threads`` and ``torch.set_num_interop_threads``;
- JAX on CPU: ``XLA_FLAGS`` (Eigen multi-threading off), probed first in a child process
  because XLA aborts the whole process on a flag it does not know;
- and all of them: the process runs on that many CPUs (its affinity), since not every
  library's thread pool follows the variables.

This module imports nothing heavy at import time (no NumPy): ``__main__`` uses
``set_thread_env`` before NumPy is loaded.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
from types import ModuleType
from typing import Any


class Unavailable(Exception):
    """An optional anchor that cannot run here (not installed, unsupported): a skip."""


THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

# Notes on how each library was configured, printed in the report's header.
NOTES: list[str] = []


def set_thread_env(threads: int) -> None:
    """Fix the thread count of every library. Must run before NumPy/torch/jax are imported."""
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(threads)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # silence XLA's start-up chatter
    flags = os.environ.get("XLA_FLAGS", "")
    extra = [f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"]
    os.environ["XLA_FLAGS"] = " ".join([flags, *extra]).strip()
    os.environ["_BENCH_XLA_EXTRA"] = " ".join(extra)
    _pin(threads)


ALL_CPUS: list[int] = []
"""The CPUs this process could run on before `set_thread_env` pinned it (empty: not pinned)."""


def _pin(threads: int) -> None:
    """Run the whole process on `threads` CPUs. The variables above do not reach every
    thread pool: XLA's CPU client sizes its own to the CPUs the process may use, and its
    idle workers spin there (unpinned on two cores, jax.jit's W2 step kept 1.45 cores
    busy, and ran slower than pinned). CPU affinity binds every library alike."""
    if not hasattr(os, "sched_setaffinity"):
        NOTES.append("CPU affinity not available here: libraries may use more cores")
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) <= threads:
        return
    ALL_CPUS[:] = cpus
    _set_affinity(cpus[-threads:])  # (the last ones: the first take interrupts)
    NOTES.append(
        f"process pinned to CPU {', '.join(map(str, cpus[-threads:]))} of "
        f"{len(cpus)} (sched_setaffinity; worker processes of W7 get all of them)"
    )


def _set_affinity(cpus: Any) -> None:
    """`cpus` for every thread of the process (Linux sets a thread's own; a thread takes
    its creator's when it starts)."""
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:  # (no /proc: the calling thread, which the others will start from)
        threads = [0]
    for t in threads:
        with contextlib.suppress(OSError):  # (a thread that has ended since)
            os.sched_setaffinity(t, cpus)


@contextlib.contextmanager
def all_cpus() -> Any:
    """Every CPU the process had before pinning, while worker processes are started (they
    keep the affinity they start with): W7's workers each run on a core of their own. The
    threads started meanwhile (a cluster's) are pinned again afterwards, with the rest."""
    pinned = os.sched_getaffinity(0) if ALL_CPUS else None
    if pinned is not None:
        _set_affinity(ALL_CPUS)
    try:
        yield
    finally:
        if pinned is not None:
            _set_affinity(pinned)


def threads() -> int:
    return int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or (os.cpu_count() or 1)


@functools.cache
def chainrule() -> tuple[ModuleType, ModuleType]:
    """``(chainrule, chainrule.numpy)``. Not optional: an ImportError here is fatal."""
    cr = importlib.import_module("chainrule")
    cnp = importlib.import_module("chainrule.numpy")
    return cr, cnp


def _optional(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Unavailable(f"{name} not importable ({exc})") from None


@functools.cache
def autograd() -> tuple[ModuleType, ModuleType]:
    """``(autograd, autograd.numpy)``."""
    ag = _optional("autograd")
    return ag, _optional("autograd.numpy")


@functools.cache
def torch() -> ModuleType:
    t = _optional("torch")
    n = threads()
    t.set_num_threads(n)
    # Only allowed before any inter-op work; harmless to skip if that has happened.
    with contextlib.suppress(RuntimeError):
        t.set_num_interop_threads(n)
    NOTES.append(
        f"torch {t.__version__}: set_num_threads({n}) -> get_num_threads() = "
        f"{t.get_num_threads()}, interop threads = {t.get_num_interop_threads()}"
    )
    return t


@functools.cache
def _xla_flags_ok() -> bool:
    """Whether this jaxlib accepts the thread flags we put in XLA_FLAGS.

    Tested in a child process (an unknown flag aborts the process); the answer is cached in
    the temporary folder per interpreter, jaxlib version and flags, since the probe costs a
    JAX import.
    """
    extra = os.environ.get("_BENCH_XLA_EXTRA", "")
    if not extra:
        return True
    key = "|".join([sys.executable, versions().get("jaxlib", "?"), os.environ["XLA_FLAGS"]])
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    cache = os.path.join(tempfile.gettempdir(), f"chainrule-bench-xla-probe-{digest}")
    with contextlib.suppress(OSError), open(cache, encoding="utf-8") as fh:
        answer = fh.read().strip()
        if answer in ("ok", "rejected"):
            return answer == "ok"
    probe = "import jax, jax.numpy as jnp; jnp.zeros(2).block_until_ready()"
    try:
        r = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False  # not cached: may be a passing problem
    with contextlib.suppress(OSError), open(cache, "w", encoding="utf-8") as fh:
        fh.write("ok" if r.returncode == 0 else "rejected")
    return r.returncode == 0


@functools.cache
def jax() -> tuple[ModuleType, ModuleType]:
    """``(jax, jax.numpy)`` on CPU with float64 enabled."""
    if importlib.util.find_spec("jax") is None:
        raise Unavailable("jax not importable (not installed)")
    extra = os.environ.get("_BENCH_XLA_EXTRA", "")
    if extra and "jax" not in sys.modules and not _xla_flags_ok():
        flags = os.environ.get("XLA_FLAGS", "").replace(extra, "").strip()
        os.environ["XLA_FLAGS"] = flags
        NOTES.append(
            f"jax: this jaxlib rejects XLA_FLAGS '{extra}'; JAX runs with its "
            "default CPU threading (NOT the same thread count as the others)"
        )
    j = _optional("jax")
    j.config.update("jax_enable_x64", True)
    jnp = _optional("jax.numpy")
    NOTES.append(
        f"jax {j.__version__} ({j.default_backend()}), x64 enabled, "
        f"XLA_FLAGS='{os.environ.get('XLA_FLAGS', '')}'"
    )
    return j, jnp


def torch_to_numpy(t: Any) -> Any:
    return t.detach().cpu().numpy()


def jax_timed(fn: Any, *args: Any) -> Any:
    """The call to time of a JAX function on `args`: it waits for every output (JAX
    dispatches asynchronously), and has run once already, so that `jax.jit` compiles outside
    the timing."""
    import jax

    def call() -> Any:
        return jax.block_until_ready(fn(*args))

    call()
    return call


def versions() -> dict[str, str]:
    """Installed versions, read from metadata (without importing anything)."""
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("numpy", "scipy", "autograd", "torch", "jax", "jaxlib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out
