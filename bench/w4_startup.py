"""W4: start-up: wall time of ``python -c "import X"`` in a fresh process.

Each import runs in a new interpreter (``sys.executable``, the environment of this run, so
``PYTHONPATH=src`` finds the working tree's chainrule). One discarded round first (it writes
bytecode and warms the file cache), then ``startup_runs`` rounds, interleaving the libraries
so that machine noise spreads evenly; the median is reported. The second column subtracts
the median of ``python -c pass``: the import's own cost.

Bytecode: the anchors are installed with their ``.pyc`` files; a working tree may have none
(and ``PYTHONDONTWRITEBYTECODE=1`` keeps it so), which would bill chainrule for compiling its
sources on every import. So chainrule's process runs with ``PYTHONPYCACHEPREFIX`` pointing to
a temporary folder, filled by the discarded round: chainrule is measured with bytecode, as
after ``pip install``, and nothing is written into ``src/``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from .harness import CHAINRULE, Case, Config, Measurement, Section, Target, fmt_time

ID = "W4"
TITLE = 'start-up: python -c "import X" in a fresh process'
TARGET_S = 0.2
BARE = "python (no import)"
MODULES = ("chainrule", "numpy", "autograd", "torch", "jax")


def _command(module: str | None) -> list[str]:
    return [sys.executable, "-c", f"import {module}" if module else "pass"]


def _env(pycache: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if pycache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _run_once(module: str | None, pycache: str | None = None) -> tuple[float, str | None]:
    env = _env(pycache)
    t0 = time.perf_counter()
    r = subprocess.run(_command(module), capture_output=True, text=True, timeout=300, env=env)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        return dt, (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1]
    return dt, None


def import_breakdown(module: str, pycache: str | None = None, top: int = 6) -> str:
    """Self import time grouped by top-level package, from ``python -X importtime``."""
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(pycache),
    )
    per_pkg: dict[str, int] = {}
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|(\s*)(\S+)", line)
        if m:
            pkg = m.group(3).split(".")[0]
            per_pkg[pkg] = per_pkg.get(pkg, 0) + int(m.group(1))
    total = sum(per_pkg.values())
    parts = sorted(per_pkg.items(), key=lambda kv: -kv[1])[:top]
    return f"total {total / 1e3:.0f} ms: " + ", ".join(f"{k} {v / 1e3:.0f} ms" for k, v in parts)


def run(cfg: Config) -> Section:
    with tempfile.TemporaryDirectory(prefix="chainrule-bench-pyc-") as pycache:
        return _run(cfg, pycache)


def _run(cfg: Config, pycache: str) -> Section:
    section = Section(ID, TITLE, ratio_label="ratio")
    section.notes.append(
        f"{sys.executable}; median of {cfg.startup_runs} fresh processes "
        "after one discarded round; PYTHONPATH="
        f"{os.environ.get('PYTHONPATH', '')!r}; chainrule with cached "
        "bytecode (PYTHONPYCACHEPREFIX, see bench/w4_startup.py)"
    )
    wall, net = Case("wall"), Case("minus bare python")
    section.cases += [wall, net]

    names: list[tuple[str, str | None]] = [(BARE, None)]
    for module in MODULES:
        label = CHAINRULE if module == "chainrule" else module
        if importlib.util.find_spec(module) is None:
            wall.results.append(
                Measurement(label, status="skipped", note=f"{module} not installed")
            )
            continue
        names.append((label, module))

    samples: dict[str, list[float]] = {label: [] for label, _ in names}
    errors: dict[str, str] = {}
    for round_ in range(cfg.startup_runs + 1):
        for label, mod in names:
            if label in errors:
                continue
            dt, err = _run_once(mod, pycache if mod == "chainrule" else None)
            if err:
                errors[label] = err
            elif round_ > 0:
                samples[label].append(dt)

    bare = statistics.median(samples[BARE]) if samples.get(BARE) else None
    for label, _ in names:
        if label in errors:
            wall.results.append(Measurement(label, status="error", note=errors[label]))
            continue
        s = samples[label]
        med = statistics.median(s)
        spread = (max(s) - min(s)) / med if med else 0.0
        wall.results.append(Measurement(label, med, spread=spread, loops=1, repeats=len(s)))
        if label != BARE and bare is not None:
            net.results.append(Measurement(label, med - bare, loops=1, repeats=len(s)))
    # Keep the row order of the wall column: bare first, then the libraries.
    wall.results.sort(key=lambda m: [BARE, CHAINRULE, *MODULES].index(m.impl))

    cr = wall.get(CHAINRULE)
    text = f"W4: import chainrule < {TARGET_S} s (wall, fresh process)"
    if cr is None or cr.seconds is None:
        section.targets.append(Target(text, "FAIL", cr.note if cr else "not measured"))
    else:
        ok = cr.seconds < TARGET_S
        section.targets.append(
            Target(text, "PASS" if ok else "FAIL", f"median {fmt_time(cr.seconds)}")
        )
        if not ok or not cfg.quick:
            section.notes.append(
                "import chainrule, self time by package (-X importtime): "
                + import_breakdown("chainrule", pycache)
            )
    return section
