"""The README's coverage tables: generated from the namespaces, and honest about them."""

from __future__ import annotations

import os
import re
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


def test_every_differentiable_function_vmaps_or_says_why(entries: list[_coverage.Entry]) -> None:
    keys = {f"{e.namespace}.{e.name}": e for e in entries}
    unbatched = [k for k, e in keys.items() if e.reverse and not e.vmap]
    undeclared = [keys[k].vmap_errors for k in unbatched if k not in _coverage.NOT_BATCHABLE]
    assert not undeclared, (
        "vmap of the probe fails: give the primitives batching rules, or say why it cannot "
        f"be batched in _coverage.NOT_BATCHABLE: {undeclared}"
    )
    stale = [k for k in _coverage.NOT_BATCHABLE if k in keys and k not in unbatched]
    assert not stale, f"these batch now: remove them from NOT_BATCHABLE: {stale}"


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
    assert not undeclared, (
        "no derivative on the probe: declare a probe in _coverage.PROBES, fix the rule, or say "
        f"why not in _coverage.NOT_DIFFERENTIABLE: {undeclared}"
    )
    stale = [k for k in _coverage.NOT_DIFFERENTIABLE if k in keys and k not in dead]
    assert not stale, f"these differentiate now: remove them from NOT_DIFFERENTIABLE: {stale}"


def test_complex_names_exist_and_differentiate(entries: list[_coverage.Entry]) -> None:
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


def test_a_conjugated_complex_rule_stops_the_generator(monkeypatch: Any) -> None:
    cnp = cr.numpy
    module = _fake("bad_abs", primitive(np.abs, "bad_abs"))
    defvjp(module.bad_abs, lambda g, ans, x: g * cnp.sign(x))  # right for reals only
    defjvp(module.bad_abs, lambda t, ans, x: cnp.real(t * cnp.conj(cnp.sign(x))))
    module.COMPLEX = ("bad_abs",)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(_coverage.ProbeError, match=r"reverse derivative of fake\.bad_abs complex"):
        _coverage.entry("fake", module, "bad_abs")


def test_main_writes_the_block(
    entries: list[_coverage.Entry], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(_coverage, "table", lambda: entries)
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{_coverage.START}\n{_coverage.END}\n\nmore\n", encoding="utf-8")
    assert _coverage.main(["--write", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == f"# title\n\n{_coverage.render(entries)}\nmore\n"


def test_a_flat_probe_is_refused() -> None:
    flat = primitive(np.sign, "flat")
    defvjp(flat, lambda g, ans, x: 0.0 * g)
    with pytest.raises(_coverage.ProbeError, match="flat"):
        _coverage.entry("fake", _fake("flat", flat), "flat")


def test_import_chainrule_does_not_load_the_generator() -> None:
    code = "import sys, chainrule; sys.exit('chainrule._coverage' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(cr.__file__).parents[1])}
    assert subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode == 0


# Every claim of `_coverage.NOTES` checked: the conventions at kinks and ties, and the
# arguments without a derivative (each refused with a TypeError).
nan, inf = float("nan"), float("inf")
cnp = cr.numpy


def _grad(f: Any, *args: Any, argnums: Any = 0) -> Any:
    return cr.grad(f, argnums=argnums)(*args)


def _val(*xs: float) -> Any:
    return np.array(xs)


def _one_hot(g: Any) -> bool:
    return bool(np.sum(g == 1.0) == 1 and np.sum(g == 0.0) == g.size - 1)


def _unread(triangle: Any) -> Any:
    """A check that the gradient of `f(a)` is 0 in one strict triangle of a 3×3 matrix."""
    a = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    return lambda f: not np.any(triangle(cr.grad(lambda a: cnp.sum(f(a)))(a)))


_upper_unread = _unread(lambda g: np.triu(g, 1))
_lower_unread = _unread(lambda g: np.tril(g, -1))
_TIED = _val(1.0, 2.0, 2.0, 5.0, 9.0)
_SHARED = _val(0.0, 0.5, 0.5, 0.0, 0.0)


def _raises(error: type[Exception], call: Any) -> bool:
    with pytest.raises(error):
        call()
    return True


def _singular_raises(f: Any) -> bool:
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    return _raises(np.linalg.LinAlgError, lambda: cr.grad(lambda a: cnp.sum(f(a)))(a))


KINKS: dict[str, Any] = {
    "numpy.abs": lambda f: _grad(f, 0.0) == 0,
    "numpy.absolute": lambda f: _grad(f, 0.0) == 0,
    "numpy.fabs": lambda f: _grad(f, 0.0) == 0,
    "numpy.sign": lambda f: _grad(f, 0.0) == 0 and _grad(lambda z: cnp.real(f(z)), 0j) == 0,
    "numpy.angle": lambda f: _grad(f, 0j) == 0,
    "numpy.maximum": lambda f: (
        _grad(f, 1.0, 1.0, argnums=(0, 1)) == (0.5, 0.5)
        and _grad(lambda x: f(x, 0.0), 0.0) == 0 == _grad(lambda x: f(0.0, x), 0.0)
        and _grad(lambda x: f(x, nan), 1.0) == 0
    ),
    "numpy.fmax": lambda f: (
        _grad(f, 1.0, 1.0, argnums=(0, 1)) == (0.5, 0.5) and _grad(lambda x: f(x, nan), 1.0) == 1
    ),
    "numpy.clip": lambda f: (
        _grad(lambda x: f(x, 0.0, 1.0), 0.0) == 1 == _grad(lambda x: f(x, 0.0, 1.0), 1.0)
    ),
    "numpy.hypot": lambda f: _grad(f, 0.0, 0.0, argnums=(0, 1)) == (0.0, 0.0),
    "numpy.nan_to_num": lambda f: np.array_equal(
        _grad(lambda x: cnp.sum(f(x)), _val(nan, inf, 1.0)), [0.0, 0.0, 1.0]
    ),
    "numpy.where": lambda f: (
        _grad(lambda x: f(x > 0, x * x, 3.0 * x), 0.0) == 3
        and _grad(lambda x: f(x > 0, cnp.sqrt(f(x > 0, x, 1.0)), 0.0), 0.0) == 0
    ),
    "numpy.select": lambda f: _grad(lambda x: f([x >= 1.0], [3.0 * x], 2.0 * x), 1.0) == 3,
    "numpy.mod": lambda f: _grad(f, 2.0, 1.0, argnums=(0, 1)) == (1.0, -2.0),
    "numpy.fmod": lambda f: _grad(f, 3.0, 1.5, argnums=(0, 1)) == (1.0, -2.0),
    "numpy.max": lambda f: np.array_equal(_grad(f, _val(1.0, 3.0, 3.0)), [0.0, 0.5, 0.5]),
    "numpy.nanmax": lambda f: np.array_equal(_grad(f, _val(nan, 3.0, 3.0)), [0.0, 0.5, 0.5]),
    "numpy.std": lambda f: not np.any(_grad(f, _val(2.0, 2.0, 2.0))),
    "numpy.nanstd": lambda f: not np.any(_grad(f, _val(nan, 2.0, 2.0))),
    "numpy.median": lambda f: np.array_equal(_grad(f, _TIED), _SHARED),
    "numpy.quantile": lambda f: (
        np.array_equal(_grad(lambda x: f(x, 0.5), _TIED), _SHARED)
        and _one_hot(_grad(lambda x: f(x, 0.3, method="lower"), _val(4.0, 1.0, 3.0)))
    ),
    "numpy.percentile": lambda f: np.array_equal(_grad(lambda x: f(x, 50.0), _TIED), _SHARED),
    "numpy.nanmedian": lambda f: np.array_equal(
        _grad(f, np.append(nan, _TIED)), np.append(0.0, _SHARED)
    ),
    "numpy.nanquantile": lambda f: np.array_equal(
        _grad(lambda x: f(x, 0.5), np.append(nan, _TIED)), np.append(0.0, _SHARED)
    ),
    "numpy.nanpercentile": lambda f: np.array_equal(
        _grad(lambda x: f(x, 50.0), np.append(nan, _TIED)), np.append(0.0, _SHARED)
    ),
    "numpy.sort": lambda f: _one_hot(_grad(lambda x: f(x)[0], _val(2.0, 2.0, 3.0))),
    "numpy.partition": lambda f: _one_hot(_grad(lambda x: f(x, 0)[0], _val(2.0, 2.0, 3.0))),
    "numpy.interp": lambda f: _grad(lambda x: f(x, [0.0, 1.0, 3.0], [0.0, 2.0, 3.0]), 1.0) == 0.5,
    "numpy.unwrap": lambda f: np.array_equal(cr.jacfwd(f)(_val(0.0, 3.5, 0.5)), np.eye(3)),
    "numpy.bincount": lambda f: np.array_equal(
        _grad(lambda w: cnp.sum(f(np.array([0, 1, 1]), weights=w)), _val(1.0, 2.0, 3.0)),
        [1.0, 1.0, 1.0],
    ),
    "numpy.linalg.norm": lambda f: (
        not np.any(_grad(f, np.zeros(3)))
        and np.array_equal(_grad(lambda x: f(x, ord=inf), _val(1.0, -1.0)), [0.5, -0.5])
    ),
    "numpy.linalg.matrix_norm": lambda f: not np.any(_grad(f, np.zeros((2, 2)))),
    "numpy.linalg.det": lambda f: np.allclose(
        _grad(f, np.array([[1.0, 2.0], [2.0, 4.0]])), [[4.0, -2.0], [-2.0, 1.0]], rtol=1e-14
    ),
    "numpy.linalg.slogdet": lambda f: _singular_raises(lambda a: f(a)[1]),
    "numpy.linalg.cond": _singular_raises,
    "numpy.linalg.cholesky": _upper_unread,
    "numpy.linalg.eigh": lambda f: (
        _upper_unread(lambda a: f(a)[0][-1])
        and np.all(np.isfinite(_grad(lambda a: cnp.sum(f(a)[0] ** 2), np.eye(3))))
    ),
    "numpy.linalg.eigvalsh": lambda f: _upper_unread(lambda a: f(a)[-1]),
    "numpy.linalg.svd": lambda f: np.all(
        np.isfinite(_grad(lambda a: cnp.sum(f(a, compute_uv=False)), np.eye(3)))
    ),
    "numpy.linalg.lstsq": lambda f: (
        not any(
            isinstance(v, Tracer)
            for v in cr.tree.leaves(_capture(lambda a: f(a, np.ones(3))[2:], np.eye(3)))
        )
    ),
    "numpy.linalg.qr": lambda f: _raises(
        ValueError, lambda: cr.grad(lambda a: cnp.sum(f(a)[1]))(np.ones((2, 3)))
    ),
    "scipy.special.xlogy": lambda f: _grad(f, 0.0, 0.0, argnums=(0, 1)) == (0.0, 0.0),
    "scipy.special.xlog1py": lambda f: _grad(f, 0.0, -1.0, argnums=(0, 1)) == (0.0, 0.0),
    "scipy.special.i0e": lambda f: _grad(f, 0.0) == 0,
    "scipy.special.ive": lambda f: _grad(lambda x: f(0.0, x), 0.0) == 0,
    "scipy.special.factorial": lambda f: (
        _grad(f, -0.5) == 0 and np.isclose(_grad(f, 0.0), -np.euler_gamma, rtol=1e-14)
    ),
    "scipy.special.logsumexp": lambda f: (
        not isinstance(_capture(lambda a: f(a, b=-a, return_sign=True)[1], _val(1.0, 2.0)), Tracer)
    ),
    "scipy.stats.laplace": lambda f: _grad(f.logpdf, 0.0) == 0,
    "scipy.stats.poisson": lambda f: _grad(lambda mu: f.ppf(0.5, mu), 2.0) == 0,
    "scipy.stats.multinomial": lambda f: (
        _grad(lambda p: f.logpmf(_val(1.0, 2.0), 3, p), _val(0.3, 0.7))[-1] == 0
    ),
    "scipy.linalg.cholesky": _lower_unread,
    "scipy.linalg.cho_factor": lambda f: _lower_unread(lambda a: cnp.triu(f(a)[0])),
    "scipy.linalg.eigh": lambda f: _upper_unread(lambda a: f(a)[0][-1]),
    "scipy.linalg.svd": lambda f: np.all(
        np.isfinite(_grad(lambda a: cnp.sum(f(a, compute_uv=False)), np.eye(3)))
    ),
    "scipy.linalg.solve_triangular": lambda f: _lower_unread(lambda a: f(a, np.ones(3))),
    "scipy.linalg.sqrtm": _singular_raises,
    "scipy.linalg.logm": _singular_raises,
}


def _ties_min(f: Any) -> bool:
    return np.array_equal(_grad(f, _val(3.0, 1.0, 1.0)), [0.0, 0.5, 0.5])


def _step_ppf(*params: float) -> Any:
    """A check that `ppf` is flat in the last parameter."""
    return lambda f: _grad(lambda p: f.ppf(0.5, *params[:-1], p), params[-1]) == 0


KINKS |= {
    "numpy.minimum": KINKS["numpy.maximum"],
    "numpy.fmin": KINKS["numpy.fmax"],
    "numpy.remainder": KINKS["numpy.mod"],
    "numpy.amax": KINKS["numpy.max"],
    "numpy.min": _ties_min,
    "numpy.amin": _ties_min,
    "numpy.nanmin": lambda f: np.array_equal(_grad(f, _val(nan, 1.0, 1.0)), [0.0, 0.5, 0.5]),
    "numpy.linalg.vector_norm": KINKS["numpy.linalg.norm"],
    "scipy.stats.poisson": _step_ppf(2.0),
    "scipy.stats.bernoulli": _step_ppf(0.3),
    "scipy.stats.geom": _step_ppf(0.3),
    "scipy.stats.binom": _step_ppf(5.0, 0.3),
    "scipy.stats.nbinom": _step_ppf(3.0, 0.3),
}
# Notes checked by their family's own tests (a check here would repeat them).
ELSEWHERE = {
    "numpy.linalg.pinv": "tests/test_rules_linalg_extras.py",
    "scipy.linalg.lu_factor": "tests/test_scipy_linalg.py",
    "numpy.linalg.eig": "tests/test_complex_decompositions.py",
    "numpy.linalg.eigvals": "tests/test_complex_decompositions.py",
    # derivatives in the parameters, checked against mpmath and by check_rule there
    **{
        f"scipy.{name}": "tests/test_special_shape_derivatives.py"
        for name in [
            "special.gammainc",
            "special.gammaincc",
            "special.betainc",
            "special.iv",
            "special.ive",
            "stats.t",
            "stats.chi2",
            "stats.gamma",
            "stats.beta",
        ]
    },
}


def _in(argnum: int, *args: float) -> Any:
    return lambda f: _grad(f, *args, argnums=argnum)


def _cdf_in(argnum: int, *args: float) -> Any:
    return lambda f: _grad(f.cdf, *args, argnums=argnum)


def _logpmf_in(argnum: int, *args: float) -> Any:
    return lambda f: _grad(f.logpmf, *args, argnums=argnum)


REFUSED: dict[str, dict[str, Any]] = {
    "numpy.quantile": {"q": lambda f: _grad(lambda q: f(_TIED, q), 0.3)},
    "numpy.nanquantile": {"q": lambda f: _grad(lambda q: f(_TIED, q), 0.3)},
    "numpy.percentile": {"q": lambda f: _grad(lambda q: f(_TIED, q), 30.0)},
    "numpy.nanpercentile": {"q": lambda f: _grad(lambda q: f(_TIED, q), 30.0)},
    "scipy.special.polygamma": {"n": _in(0, 1.0, 0.5)},
    "scipy.special.yn": {"n": _in(0, 1.0, 0.5)},
    "scipy.special.expn": {"n": _in(0, 1.0, 0.5)},
    "scipy.special.jn": {"n": _in(0, 1.0, 0.5)},
    "scipy.special.multigammaln": {"d": _in(1, 2.5, 2.0)},
    "scipy.special.hyp1f1": {"a": _in(0, 1.5, 2.5, 0.5), "b": _in(1, 1.5, 2.5, 0.5)},
    "scipy.special.jv": {"v": _in(0, 1.5, 0.5)},
    "scipy.special.yv": {"v": _in(0, 1.5, 0.5)},
    "scipy.special.kv": {"v": _in(0, 1.5, 0.5)},
    "scipy.special.zeta": {"x": _in(0, 3.0, 1.5)},
    "scipy.stats.poisson": {"k": _logpmf_in(0, 1.0, 2.0)},
    "scipy.stats.bernoulli": {"k": _logpmf_in(0, 1.0, 0.3)},
    "scipy.stats.geom": {"k": _logpmf_in(0, 1.0, 0.3)},
    "scipy.stats.binom": {"k": _logpmf_in(0, 1.0, 5.0, 0.3), "n": _cdf_in(1, 1.0, 5.0, 0.3)},
    "scipy.stats.nbinom": {"k": _logpmf_in(0, 1.0, 3.0, 0.3)},
    "scipy.stats.multinomial": {
        "x": lambda f: _grad(lambda x: f.logpmf(x, 3, _val(0.3, 0.7)), _val(1.0, 2.0))
    },
}


def _function(modules: dict[str, types.ModuleType], key: str) -> Any:
    namespace, name = key.rsplit(".", 1)
    return getattr(modules[namespace], name)


@pytest.mark.filterwarnings("ignore:Matrix is singular", "ignore:The logm input matrix")
def test_every_note_holds(modules: dict[str, types.ModuleType]) -> None:
    for key, note in _coverage.NOTES.items():
        assert key in KINKS or key in REFUSED or key in ELSEWHERE, f"no check of {key}: {note}"
        if key in KINKS:
            assert KINKS[key](_function(modules, key)), f"{key}: the note {note!r} is wrong"


def test_every_refused_argument_is_an_error(modules: dict[str, types.ModuleType]) -> None:
    for key, note in _coverage.NOTES.items():
        claimed = {
            n
            for part in note.split("not in ")[1:]
            for n in re.findall(r"`(\w+)`", part.split(";")[0])
        }
        assert claimed <= set(REFUSED.get(key, {})), f"no check that {key} refuses {claimed}"
    for key, calls in REFUSED.items():
        for arg, call in calls.items():
            with pytest.raises(TypeError, match=r"differentiable|derivative"):
                call(_function(modules, key))
            assert f"`{arg}`" in _coverage.NOTES[key] or "shape" in _coverage.NOTES[key], key


def _capture(f: Any, x: Any) -> Any:
    """What `f` returns inside `grad` (to see whether it is traced)."""
    seen = []
    cr.grad(lambda x: seen.append(f(x)) or cnp.sum(x))(x)
    return seen[0]
