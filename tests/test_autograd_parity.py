"""Issue 11's measure: a user of HIPS autograd 1.9.1 finds every function they differentiate
there, with the same numbers (JAX's complex convention, on which autograd agrees).

The list is read from autograd itself (every primitive with a reverse rule in its public
namespaces) when it is installed; the functions added for parity are checked here either way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy
import pytest
import scipy.linalg as sl
import scipy.stats as sst

import chainrule as cr
import chainrule.numpy as np
from chainrule.scipy import linalg, stats
from rulecheck import check_rule

rng = numpy.random.default_rng(3)
X = rng.uniform(0.2, 0.8, (2, 3, 4))

# autograd's namespace -> (chainrule's, the NumPy/SciPy module whose objects are pass-through)
NAMESPACES = {
    "autograd.numpy": ("chainrule.numpy", "numpy"),
    "autograd.numpy.linalg": ("chainrule.numpy.linalg", "numpy.linalg"),
    "autograd.numpy.fft": ("chainrule.numpy.fft", "numpy.fft"),
    "autograd.scipy.special": ("chainrule.scipy.special", "scipy.special"),
    "autograd.scipy.signal": ("chainrule.scipy.signal", "scipy.signal"),
    "autograd.scipy.linalg": ("chainrule.scipy.linalg", "scipy.linalg"),
    "autograd.scipy.integrate": ("chainrule.scipy.integrate", "scipy.integrate"),
}
# autograd's own plumbing, registered as primitives but not NumPy names
PLUMBING = {"array_from_args", "concatenate_args", "make_diagonal", "truncate_pad"}


def _autograd_differentiates() -> list[tuple[str, str]]:
    pytest.importorskip("autograd")
    from autograd.core import primitive_vjps

    found = []
    for theirs in NAMESPACES:
        module = importlib.import_module(theirs)
        for name in dir(module):
            obj = getattr(module, name)
            if name.startswith("_") or name in PLUMBING:
                continue
            try:
                if obj in primitive_vjps:
                    found.append((theirs, name))
            except TypeError:  # unhashable
                continue
    stats_module = importlib.import_module("autograd.scipy.stats")
    for dist in dir(stats_module):
        sub = getattr(stats_module, dist)
        if getattr(sub, "__name__", "").startswith("autograd.scipy.stats."):
            for name in dir(sub):
                obj = getattr(sub, name)
                # the distributions' own methods (not the special functions they import)
                own = getattr(getattr(obj, "fun", None), "__module__", "") or ""
                if own.startswith("scipy.stats") and obj in primitive_vjps:
                    found.append((f"autograd.scipy.stats.{dist}", name))
    return found


def test_every_function_autograd_differentiates_is_here_and_ours() -> None:
    missing = []
    for theirs, name in _autograd_differentiates():
        if theirs.startswith("autograd.scipy.stats."):
            dist = getattr(stats, theirs.rsplit(".", 1)[1], None)
            if dist is None or not callable(getattr(dist, name, None)):
                missing.append(f"{theirs}.{name}")
            continue
        ours_name, numpys_name = NAMESPACES[theirs]
        ours = getattr(importlib.import_module(ours_name), name, None)
        plain = getattr(importlib.import_module(numpys_name), name, None)
        if ours is None or ours is plain:
            missing.append(f"{theirs}.{name}")
    assert not missing, f"autograd differentiates these, chainrule does not: {missing}"


# name -> (chainrule call, autograd call's name path, the point); autograd's own numbers
SAME_NUMBERS: dict[str, tuple[Callable[[Any], Any], str, Any]] = {
    "tanh": (np.tanh, "numpy.tanh", X),
    "arccos": (np.arccos, "numpy.arccos", X),
    "sinc": (np.sinc, "numpy.sinc", X),
    "logaddexp2": (lambda x: np.logaddexp2(x, 0.3), "numpy.logaddexp2", X),
    "rot90": (np.rot90, "numpy.rot90", X),
    "diff": (lambda x: np.diff(x, axis=1), "numpy.diff", X),
    "cumsum": (lambda x: np.cumsum(x, axis=-1), "numpy.cumsum", X),
    "var": (lambda x: np.var(x, axis=(0, 2), ddof=1), "numpy.var", X),
    "std": (lambda x: np.std(x, axis=1), "numpy.std", X),
    "norm": (lambda x: np.linalg.norm(x[0], "fro"), "numpy.linalg.norm", X),
    "det": (lambda x: np.linalg.det(x[..., :3]), "numpy.linalg.det", X),
    "eigh": (lambda x: np.linalg.eigh(x[0, :, :3] @ x[0, :, :3].T)[0], "numpy.linalg.eigh", X),
    "fft": (lambda x: np.abs(np.fft.fft(x, axis=1)), "numpy.fft.fft", X),
    "rfftn": (lambda x: np.abs(np.fft.rfftn(x)), "numpy.fft.rfftn", X),
    "abs_complex": (lambda x: np.abs(np.exp(1j * x) + x), "numpy.abs", X),
}


def _autograd_call(key: str, x: Any) -> Any:
    """The same computation written with autograd's modules."""
    anp = pytest.importorskip("autograd.numpy")
    calls: dict[str, Callable[[Any], Any]] = {
        "tanh": anp.tanh,
        "arccos": anp.arccos,
        "sinc": anp.sinc,
        "logaddexp2": lambda v: anp.logaddexp2(v, 0.3),
        "rot90": anp.rot90,
        "diff": lambda v: anp.diff(v, axis=1),
        "cumsum": lambda v: anp.cumsum(v, axis=-1),
        "var": lambda v: anp.var(v, axis=(0, 2), ddof=1),
        "std": lambda v: anp.std(v, axis=1),
        "norm": lambda v: anp.linalg.norm(v[0], "fro"),
        "det": lambda v: anp.linalg.det(v[..., :3]),
        "eigh": lambda v: anp.linalg.eigh(anp.dot(v[0, :, :3], v[0, :, :3].T))[0],
        "fft": lambda v: anp.abs(anp.fft.fft(v, axis=1)),
        "rfftn": lambda v: anp.abs(anp.fft.rfftn(v)),
        "abs_complex": lambda v: anp.abs(anp.exp(1j * v) + v),
    }
    return calls[key](x)


@pytest.mark.parametrize("key", sorted(SAME_NUMBERS))
def test_the_same_numbers_as_autograd(key: str) -> None:
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    ours, _, x = SAME_NUMBERS[key]
    weights = rng.standard_normal(numpy.shape(ours(x)))
    mine = cr.grad(lambda v: np.sum(ours(v) * weights))(x)
    theirs = autograd.grad(lambda v: anp.sum(_autograd_call(key, v) * weights))(x)
    numpy.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------- the names added for parity


@pytest.mark.parametrize(
    ("ours", "numpys"),
    [
        (np.acos, numpy.arccos),
        (np.asin, numpy.arcsin),
        (np.atan, numpy.arctan),
        (np.asinh, numpy.arcsinh),
        (np.atanh, numpy.arctanh),
        (lambda x: np.acosh(x + 1.0), lambda x: numpy.arccosh(x + 1.0)),
        (lambda x: np.atan2(x, 0.5), lambda x: numpy.arctan2(x, 0.5)),
        (lambda x: np.pow(x, 1.5), lambda x: numpy.pow(x, 1.5)),
    ],
)
def test_numpy2_ufunc_names(ours: Any, numpys: Any) -> None:
    check_rule(ours, X[0])
    numpy.testing.assert_array_equal(cr.jvp(ours, (X[0],), (X[0],))[0], numpys(X[0]))


SHAPE_CALLS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "permute_dims": (lambda x: np.permute_dims(x, (2, 0, 1)), lambda x: numpy.permute_dims(x, (2, 0, 1))),
    "rollaxis": (lambda x: np.rollaxis(x, 2, 1), lambda x: numpy.rollaxis(x, 2, 1)),
    "rollaxis-neg": (lambda x: np.rollaxis(x, 0, -1), lambda x: numpy.rollaxis(x, 0, -1)),
    "hsplit": (lambda x: np.hsplit(x, 3)[1], lambda x: numpy.hsplit(x, 3)[1]),
    "vsplit": (lambda x: np.vsplit(x, [1])[1], lambda x: numpy.vsplit(x, [1])[1]),
    "dsplit": (lambda x: np.dsplit(x, 2)[0], lambda x: numpy.dsplit(x, 2)[0]),
    "unstack": (lambda x: np.unstack(x, axis=1)[2], lambda x: numpy.unstack(x, axis=1)[2]),
    "concat": (lambda x: np.concat([x, 2.0 * x], axis=-1), lambda x: numpy.concat([x, 2.0 * x], axis=-1)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SHAPE_CALLS))
def test_array_api_shape_names(name: str) -> None:
    ours, numpys = SHAPE_CALLS[name]
    check_rule(ours, X)
    numpy.testing.assert_array_equal(cr.vjp(ours, X)[0], numpys(X))
    check_rule(ours, X + 1j * X[::-1], float32=False)


def test_split_names_refuse_too_few_dimensions_as_numpy() -> None:
    with pytest.raises(ValueError, match="dsplit only works on arrays of 3 or more"):
        cr.grad(lambda x: np.dsplit(x, 2)[0].sum())(numpy.ones((2, 2)))


def test_real_if_close_keeps_numpys_choice() -> None:
    z = X[0] + 1e-20j
    f = lambda v: np.real_if_close(v * v)
    out, pull = cr.vjp(f, z)
    assert out.dtype == numpy.float64 == numpy.real_if_close(z * z).dtype
    numpy.testing.assert_allclose(pull(numpy.ones_like(out))[0], 2 * z)
    far = X[0] + 0.5j
    assert cr.vjp(f, far)[0].dtype == numpy.complex128
    check_rule(f, X[0])  # a real value passes through, with its derivative


def test_solve_banded() -> None:
    n = 5
    ab = rng.standard_normal((4, n))
    ab[1] += 6.0  # (l, u) = (2, 1): the diagonal is row u = 1
    b = rng.standard_normal((n, 2))
    f = lambda band, rhs: linalg.solve_banded((2, 1), band, rhs)
    check_rule(f, ab, b)
    check_rule(f, ab + 0.1j, b, float32=False)
    numpy.testing.assert_allclose(cr.vjp(f, ab, b)[0], sl.solve_banded((2, 1), ab, b), rtol=1e-12)
    numpy.testing.assert_allclose(cr.vjp(f, ab, b[:, 0])[0], sl.solve_banded((2, 1), ab, b[:, 0]))
    # the corners of ab outside the band are never read
    g = cr.grad(lambda band: f(band, b).sum())(ab)
    assert g[0, 0] == 0 and g[3, -1] == 0 and g[3, -2] == 0
    with pytest.raises(ValueError, match=r"needs l \+ u \+ 1 = 3"):
        cr.grad(lambda band: linalg.solve_banded((1, 1), band, b).sum())(ab)


def test_multivariate_normal_entropy() -> None:
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + numpy.eye(3)
    assert numpy.isclose(
        stats.multivariate_normal.entropy(cov=cov), sst.multivariate_normal.entropy(cov=cov)
    )
    assert numpy.isclose(
        stats.multivariate_normal.entropy([0.0, 1.0], 2.0),
        sst.multivariate_normal.entropy([0.0, 1.0], 2.0),
    )
    check_rule(
        lambda c: stats.multivariate_normal.entropy(cov=c @ c.T + numpy.eye(3, dtype=c.dtype)), a
    )
    # d entropy / d cov = inv(cov) / 2, read from the lower triangle (cholesky's convention)
    g = cr.grad(lambda c: stats.multivariate_normal.entropy(cov=c))(cov)
    inv = numpy.linalg.inv(cov)
    numpy.testing.assert_allclose(g, numpy.tril(inv) - numpy.diag(numpy.diag(inv)) / 2, rtol=1e-10)
