"""W8: peak memory of one ``grad`` of a 20-operation function at n = 1e7 (float64).

Each library runs in a fresh process (``sys.executable``, this run's environment), so that
no allocator state or cache of another run is counted. The child imports its library,
builds the input ``x`` and runs the gradient once (a warm-up, which traces chainrule's
``jit``; ``jax.jit`` is compiled ahead of time instead, since its warm-up call would leave
its buffers in XLA's pool for the measured call to reuse unseen), then resets the kernel's peak-RSS counter (``5`` written to
``/proc/self/clear_refs``), reads its resident set (the baseline: imports, ``x``, the compiled
program) and runs the gradient again; the peak above the baseline (``VmHWM - VmRSS``) is
reported in units of one input array (n * 8 bytes = 80 MB). Linux only: elsewhere the rows
are skipped. The gradient is checked against the closed form in the child.

Targets compare peaks to ``SLACK`` arrays (4 MB at n = 1e7): the interpreter's own
allocations (tracers, nodes, the allocator's bookkeeping) move a peak by less than that, and
differences below it are not differences of arrays.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .harness import CHAINRULE, Section, Target

ID = "W8"
TITLE = "peak memory of one grad (20 operations, n = 1e7 float64), in input arrays"
N = 10_000_000
JITTED = "chainrule jit(grad)"
SLACK = 0.05

# The child: ``{lib}`` picks the implementation. Prints one JSON line.
CHILD = r"""
import json, sys
import numpy

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

def f(np, x):
    h = x
    for _ in range(4):
        a = h * x
        b = a + 0.1
        c = np.tanh(b)
        d = c * 0.5
        h = d + h
    return np.sum(h)

lib, n = sys.argv[1], int(sys.argv[2])
x0 = numpy.linspace(-1.0, 1.0, n)
if lib in ("chainrule", "chainrule jit(grad)"):
    import chainrule as cr, chainrule.numpy as cnp
    g = cr.grad(lambda x: f(cnp, x))
    if lib != "chainrule":
        g = cr.jit(g)
    x, run = x0, lambda: g(x)
elif lib == "torch":
    import torch
    x = torch.from_numpy(x0)
    def run():
        xt = x.detach().requires_grad_(True)
        f(torch, xt).backward()
        return xt.grad
else:
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    x = jax.device_put(x0)
    # compiled ahead of time: a warm-up call would leave its buffers in XLA's pool, and
    # the measured call would reuse them unseen
    g = jax.jit(jax.grad(lambda x: f(jnp, x))).lower(x).compile()
    run = lambda: g(x).block_until_ready()
del x0
if lib != "jax.jit":
    out = run()
    del out
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
base = status("VmRSS")
out = run()
peak = status("VmHWM")
got = numpy.asarray(out)[:: n // 1000]
xs = numpy.linspace(-1.0, 1.0, n)[:: n // 1000]
h, dh = xs, numpy.ones_like(xs)  # forward mode by hand: dh/dx, elementwise
for _ in range(4):
    t = numpy.tanh(h * xs + 0.1)
    dh = 0.5 * (1 - t * t) * (dh * xs + h) + dh
    h = 0.5 * t + h
ok = bool(numpy.allclose(got, dh, rtol=1e-12, atol=1e-12))
print(json.dumps({"arrays": (peak - base) / (8 * n), "ok": ok}))
"""

LIBS = (CHAINRULE, JITTED, "torch", "jax.jit")


def measure(lib: str, n: int = N) -> dict[str, object]:
    """One fresh process: ``{"arrays": peak above baseline / (8 n), "ok": bool}`` or ``{"error"}``."""
    r = subprocess.run(
        [sys.executable, "-c", CHILD, lib, str(n)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines() or [f"exit code {r.returncode}"]
        return {"error": lines[-1]}
    result: dict[str, object] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


def run(cfg: object) -> Section:
    section = Section(ID, TITLE)
    if not os.path.exists("/proc/self/clear_refs"):
        section.notes.append("skipped: needs Linux's /proc/self/clear_refs (peak RSS reset)")
        return section
    section.notes.append(
        "peak resident set above the baseline (imports, x, compiled program), one fresh "
        f"process per row, in units of one input array ({8 * N // 10**6} MB)"
    )
    got: dict[str, float] = {}
    for lib in LIBS:
        r = measure(lib)
        if "error" in r:
            section.notes.append(f"{lib}: skipped or failed: {r['error']}")
        elif not r["ok"]:
            section.notes.append(f"{lib}: WRONG gradient")
        else:
            got[lib] = float(r["arrays"])  # type: ignore[arg-type]
            section.notes.append(f"{lib}: {got[lib]:.1f} arrays")
    for mine, anchor, what in ((CHAINRULE, "torch", "eager"), (JITTED, "jax.jit", "jitted")):
        text = f"W8: chainrule {what} peak <= {anchor}'s"
        if mine in got and anchor in got:
            ok = got[mine] <= got[anchor] + SLACK
            detail = f"{got[mine]:.1f} vs {got[anchor]:.1f} arrays"
            section.targets.append(Target(text, "PASS" if ok else "FAIL", detail))
        else:
            section.targets.append(Target(text, "SKIP", "not measured"))
    return section
