"""The README's coverage tables: generated from the namespaces, and honest about them."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import _coverage
from chainrule.core.primitive import Primitive, defjvp, defvjp, primitive
from chainrule.core.trace import Tracer

README = Path(__file__).resolve().parents[1] / "README.md"
FIX = "run `python -m chainrule._coverage --write README.md` and commit README.md"


@pytest.fixture(scope="module")
def entries() -> list[_coverage.Entry]:
    return _coverage.table()


@pytest.fixture(scope="module")
def modules() -> dict[str, types.ModuleType]:
    return {label: module for label, module, _ in _coverage.namespaces()}


def test_readme_block_is_the_generated_one(entries: list[_coverage.Entry]) -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.find(_coverage.START), text.find(_coverage.END)
    assert 0 <= start < end, f"README.md lost its coverage markers; restore them and {FIX}"
    current = text[start : end + len(_coverage.END)] + "\n"
    assert current == _coverage.render(entries), f"README.md's coverage table drifted: {FIX}"


def test_rewrite_replaces_only_the_block() -> None:
    text = f"before\n{_coverage.START}\nold\n{_coverage.END}\nafter\n"
    block = f"{_coverage.START}\nnew\n{_coverage.END}\n"
    assert _coverage.rewrite(text, block) == f"before\n{block}after\n"
    with pytest.raises(ValueError, match="no <!-- coverage:start -->"):
        _coverage.rewrite("no markers\n", block)


def test_every_function_differentiates_or_says_why(entries: list[_coverage.Entry]) -> None:
    keys = {f"{e.namespace}.{e.name}": e for e in entries}
    dead = [k for k, e in keys.items() if not (e.reverse or e.forward)]
    undeclared = [keys[k].errors for k in dead if k not in _coverage.NOT_DIFFERENTIABLE]
    assert not undeclared, "no derivative on the probe (fix it, or declare why not)"
    stale = [k for k in _coverage.NOT_DIFFERENTIABLE if k in keys and k not in dead]
    assert not stale, f"these differentiate now: remove them from NOT_DIFFERENTIABLE: {stale}"


def test_complex_names_exist_and_differentiate(entries: list[_coverage.Entry]) -> None:
    import chainrule.numpy.rules  # noqa: F401  (every namespace is loaded by `entries`)

    for name, module in list(sys.modules.items()):
        if name.startswith("chainrule") and module is not None:
            missing = [n for n in getattr(module, "COMPLEX", ()) if not hasattr(module, n)]
            assert not missing, f"{name}.COMPLEX names functions it does not have: {missing}"
    failed = [e.errors for e in entries if e.complex and e.errors]
    assert not failed, f"listed as complex, but the complex probe failed: {failed}"
    assert any(e.complex for e in entries)  # elementwise.COMPLEX is read


def test_primitives_agree_with_their_rules(
    entries: list[_coverage.Entry], modules: dict[str, types.ModuleType]
) -> None:
    checked = 0
    for e in entries:
        obj = getattr(modules[e.namespace], e.name)
        if isinstance(obj, Primitive):
            has_vjp = any(r is not None for r in obj.vjps) or obj.vjp_all is not None
            assert (e.reverse, e.forward) == (has_vjp, obj.jvp is not None), e
            checked += 1
    assert checked > 50


def test_tables_name_only_real_functions(modules: dict[str, types.ModuleType]) -> None:
    declared = [
        *_coverage.NOTES,
        *_coverage.PROBES,
        *_coverage.NOT_DIFFERENTIABLE,
        *(f"{ns}.{n}" for ns, names in _coverage.PASS_THROUGH.items() for n in names),
    ]
    for key in declared:
        namespace, name = key.rsplit(".", 1)
        if namespace == "numpy.fft" and namespace not in modules:
            continue  # the FFT namespace is optional until it lands
        assert hasattr(modules[namespace], name), f"_coverage names {key}, which does not exist"


def test_pass_through_names_are_plain(modules: dict[str, types.ModuleType]) -> None:
    listed = [(ns, n) for ns, names in _coverage.PASS_THROUGH.items() for n in names]
    listed.remove(("scipy.special", "bernoulli"))  # a table of numbers, its `n` a Python int
    for namespace, name in [("numpy", "histogram"), *listed]:
        f = getattr(modules[namespace], name)
        x0 = np.array([[0.3, 0.55], [0.7, 0.45]]) if namespace == "numpy.linalg" else np.ones(3)

        def loss(x: Any, f: Any = f, name: str = name) -> Any:
            kept = f(x, bins=[0.0, 2.0]) if name == "histogram" else f(x)
            assert not any(isinstance(v, Tracer) for v in cr.tree.leaves(kept)), name
            return x.sum()

        cr.grad(loss)(x0)


def _fake(name: str, fn: Primitive) -> types.ModuleType:
    module = types.ModuleType(f"fake_{name}")
    setattr(module, name, fn)
    return module


def test_a_wrong_rule_stops_the_generator() -> None:
    wrong = primitive(np.sin, "wrong_sin")
    defvjp(wrong, lambda g, ans, x: g * 2.0 * cr.numpy.cos(x))
    defjvp(wrong, lambda t, ans, x: t * cr.numpy.cos(x))
    with pytest.raises(_coverage.ProbeError, match=r"reverse derivative of fake\.wrong_sin"):
        _coverage.entry("fake", _fake("wrong_sin", wrong), "wrong_sin")


def test_a_missing_rule_is_a_no() -> None:
    half = primitive(np.sin, "half_sin")
    defvjp(half, lambda g, ans, x: g * cr.numpy.cos(x))
    e = _coverage.entry("fake", _fake("half_sin", half), "half_sin")
    assert (e.reverse, e.forward) == (True, False)
    assert "forward" in e.errors[0]


def test_a_flat_probe_is_refused() -> None:
    flat = primitive(np.sign, "flat")
    defvjp(flat, lambda g, ans, x: 0.0 * g)
    with pytest.raises(_coverage.ProbeError, match="flat"):
        _coverage.entry("fake", _fake("flat", flat), "flat")


def test_import_chainrule_does_not_load_the_generator() -> None:
    code = "import sys, chainrule; sys.exit('chainrule._coverage' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(cr.__file__).parents[1])}
    assert subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode == 0
