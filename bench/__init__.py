"""chainrule's benchmark suite: ``PYTHONPATH=src python -m bench [--quick] [--only W1 W3]``.

The workloads are specified in WORKLOADS.md (W1 small function, W2 MLP training step,
W3 dense Hessian, W4 start-up). Layout:

- ``bench/__main__.py``  command line; fixes the thread count *before* NumPy is imported.
- ``bench/harness.py``   timing (warm-up, auto-ranged batches, median of repeats),
                          correctness checks, and the text/Markdown/JSON reports.
- ``bench/libs.py``      optional anchors (autograd, torch, jax) loaded and configured
                          the same way (thread count; JAX with x64 enabled) for every
                          workload; dtypes are the workload's choice (W2 is float32).
- ``bench/wN_*.py``      one module per workload. Each defines ``ID`` ("W1"), ``TITLE`` and
                          ``run(cfg) -> harness.Section``. Modules are discovered by name, so
                          adding W2 is adding ``bench/w2_mlp.py``; nothing else changes.

This package must not import NumPy (or anything that does) at import time: ``python -m bench``
imports it before ``__main__`` has set the thread-count environment variables.
"""
