"""`make test-portable` really runs on other kernels: CI calls it and its settings take hold."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def portable_env() -> dict[str, str]:
    """The variables `make test-portable` sets for pytest, read from a dry run of make."""
    make = shutil.which("make")
    if make is None or not (ROOT / "Makefile").exists():
        pytest.skip("needs make and the repository's Makefile")
    dry = subprocess.run(
        [make, "-n", "test-portable", f"VENV={sys.prefix}", "STAMP="],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    words = shlex.split(next(line for line in dry.splitlines() if "-m numerics" in line))
    assert words[0] == "env"
    settings = [word.split("=", 1) for word in words[1:] if "=" in word]
    return {name: value for name, value in settings if name.isupper()}


def test_ci_runs_the_portable_tests() -> None:
    assert "make test-portable" in (ROOT / ".ci" / "run").read_text()


def test_portable_run_switches_off_numpy_simd_and_blas_threads() -> None:
    env = portable_env()
    assert env["NPY_DISABLE_CPU_FEATURES"] and env["OPENBLAS_NUM_THREADS"] == "1"
    probe = (
        "import numpy, threadpoolctl; core = getattr(numpy, '_core', None) or numpy.core; "
        "m = core._multiarray_umath; print([f for f in m.__cpu_dispatch__ if m.__cpu_features__[f]]);"
        "print([i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'])"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error::ImportWarning", "-c", probe],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,  # an unknown or baseline feature name would be an error or a warning
    ).stdout.splitlines()
    assert out[0] == "[]"  # no dispatched SIMD target left: NumPy's baseline kernels only
    assert set(out[1].strip("[]").split(", ")) <= {"1", ""}
