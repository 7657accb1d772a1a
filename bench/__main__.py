"""``python -m bench``: run the workloads of WORKLOADS.md and print one table per workload.

    PYTHONPATH=src python -m bench                 # everything (~1-2 min)
    PYTHONPATH=src python -m bench --quick         # smoke test: fewer repeats (< 40 s)
    PYTHONPATH=src python -m bench --only W1 W3 --markdown bench.md --json bench.json

The thread count of every library is fixed (``--threads``, default 1) through environment
variables set here, before anything imports NumPy, and the process runs on that many CPUs
(its affinity: not every library's thread pool follows the variables): the argument parsing
and ``bench.libs`` are NumPy-free, and the timing code and the workloads are imported only
afterwards.
Exit status: 0 when every implementation that ran agreed with chainrule (PASS/FAIL of the
targets is a result, not an error), 1 when something errored or computed a different answer.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import pkgutil
import platform
import re
import sys
import time
from types import ModuleType
from typing import Any

from . import libs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description="chainrule benchmarks (workloads of WORKLOADS.md)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats and shorter batches: a smoke test, not a measurement",
    )
    p.add_argument(
        "--only",
        nargs="+",
        metavar="W",
        default=None,
        help="workloads to run, e.g. --only W1 W3 (default: all)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="thread count for NumPy/BLAS, torch and XLA alike (default 1)",
    )
    p.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    p.add_argument("--json", metavar="FILE", help="also write all measurements as JSON")
    return p.parse_args(argv)


def discover() -> dict[str, ModuleType]:
    """Workload modules ``bench/wN_*.py``, by their ``ID``, in order."""
    import bench

    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(bench.__path__):
        if re.fullmatch(r"w\d+_\w+", info.name):
            mod = importlib.import_module(f"bench.{info.name}")
            found[mod.ID] = mod
    return dict(sorted(found.items(), key=lambda kv: int(kv[0][1:])))


def environment(cfg_threads: int, quick: bool) -> dict[str, Any]:
    env: dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": cfg_threads,
        "mode": "quick (smoke test; numbers are rough)" if quick else "normal",
        "thread_env": {v: os.environ.get(v) for v in libs.THREAD_ENV_VARS},
        "versions": libs.versions(),
    }
    return env


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads < 1:
        sys.exit("--threads must be >= 1")
    preloaded = [m for m in ("numpy", "torch", "jax") if sys.modules.get(m) is not None]
    libs.set_thread_env(args.threads)

    # Only now: modules that import NumPy.
    from .harness import Config, render_markdown, render_text, to_json

    workloads = discover()
    if args.only:
        wanted = [w.upper() for w in args.only]
        unknown = [w for w in wanted if w not in workloads]
        if unknown:
            sys.exit(
                f"unknown or not yet implemented workload(s) {', '.join(unknown)}; "
                f"available: {', '.join(workloads)}"
            )
        workloads = {k: v for k, v in workloads.items() if k in wanted}

    cfg = Config.make(args.quick, args.threads)
    cr, _ = libs.chainrule()
    env = environment(args.threads, args.quick)
    env["chainrule"] = f"{cr.__version__} from {os.path.dirname(str(cr.__file__))}"

    print(f"chainrule benchmarks — {env['date']} — {env['mode']}")
    print(
        f"  {env['platform']}, {env['cpu_count']} CPUs, python {sys.version.split()[0]} "
        f"({sys.executable})"
    )
    print(f"  chainrule {env['chainrule']}")
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    print(
        f"  threads: {args.threads} for every library "
        f"({', '.join(f'{k}={v}' for k, v in env['thread_env'].items())}; "
        "torch.set_num_threads; XLA_FLAGS, see the notes at the end)"
    )
    if preloaded:
        print(
            f"  WARNING: {', '.join(preloaded)} imported before the thread count was set; "
            "it may not apply to them"
        )
    print(f"  workloads: {', '.join(workloads)}", flush=True)

    sections = []
    t_start = time.perf_counter()
    for wid, mod in workloads.items():
        t0 = time.perf_counter()
        section = mod.run(cfg)
        sections.append(section)
        print()
        print(render_text(section))
        print(f"   ({wid} took {time.perf_counter() - t0:.1f} s)", flush=True)

    env["notes"] = list(libs.NOTES)
    print()
    if libs.NOTES:
        print("configuration notes:")
        for note in libs.NOTES:
            print(f"  {note}")
    targets = [t for s in sections for t in s.targets]
    if targets:
        print("targets:")
        for t in targets:
            print(f"  [{t.status}] {t.text}  ({t.detail})")
    failed = [s.id for s in sections if s.failed]
    print(
        f"total {time.perf_counter() - t_start:.1f} s"
        + (f"; ERRORS or WRONG RESULTS in {', '.join(failed)}" if failed else "")
    )

    if args.markdown:
        head = [
            f"## chainrule benchmarks ({env['date']}, {env['mode']})",
            "",
            f"- {env['platform']}, {env['cpu_count']} CPUs, python {sys.version.split()[0]}",
            f"- chainrule {env['chainrule']}",
            "- " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
            f"- threads: {args.threads} for every library "
            f"({', '.join(f'{k}={v}' for k, v in env['thread_env'].items())})",
            *(f"- {n}" for n in libs.NOTES),
            "",
        ]
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write("\n".join(head) + "\n" + "\n".join(render_markdown(s) for s in sections))
        print(f"wrote {args.markdown}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(to_json(sections, env) + "\n")
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
