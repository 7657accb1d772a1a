"""The README's table of differentiable functions, generated from the namespaces themselves.

Every public name a differentiable namespace defines (not NumPy's or SciPy's own object,
which it passes through unchanged) is *probed*: called on a small input built from a float
vector, reduced to a scalar, and differentiated in reverse mode (`grad`) and forward mode
(`jvp`); each derivative is compared with central differences. So "yes" in the table means a
derivative that ran and agreed, not a rule that merely exists; a derivative that runs but
disagrees stops the generator (`ProbeError`), never a silently wrong table. "vmap" means
the probe mapped over a batch of three inputs, and its gradient mapped (``vmap(grad)``),
both agree with a loop over the examples. "complex" is
read from the ``COMPLEX`` tuples of the modules that define the functions (the names their
tests check on complex values), and those are probed on a complex input too. Conventions at
kinks and ties, and the arguments a function is not differentiable in, come from `NOTES`, a
summary of the rule modules' docstrings, which hold the full statements.

Regenerate the README's block with ``python -m chainrule._coverage --write README.md``;
``tests/test_coverage.py`` fails when the block drifts. ``import chainrule`` does not import
this module.

>>> NOTES["numpy.abs"]
'0 at 0'
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp

START = "<!-- coverage:start -->"
END = "<!-- coverage:end -->"

# (namespace, the library module whose objects it passes through). A namespace that is not
# there yet (an import error) is left out of the table.
NAMESPACES = (
    ("chainrule.numpy", "numpy"),
    ("chainrule.numpy.linalg", "numpy.linalg"),
    ("chainrule.numpy.fft", "numpy.fft"),
    ("chainrule.scipy.special", "scipy.special"),
    ("chainrule.scipy.stats", "scipy.stats"),
    ("chainrule.scipy.signal", "scipy.signal"),
    ("chainrule.scipy.linalg", "scipy.linalg"),
    ("chainrule.scipy.integrate", "scipy.integrate"),
)

# Functions of a namespace that take traced values and return plain arrays: derivative 0.
PASS_THROUGH = {
    "numpy.linalg": ("matrix_rank",),
    "scipy.special": ("bernoulli", "gammasgn"),
}

# Conventions where the derivative is not unique, and arguments without a derivative
# (each raises an error naming the argument), keyed "namespace.name" without "chainrule.".
_TIES = "ties: 1/k each"
_ORDER = "ties share an order statistic's weight equally; discrete methods: 1 to the entry"
_NORM = "0 at the zero vector; `inf`-norm ties: equal shares"
_SPECTRAL = "repeated values: the gap term taken as 0 (vectors: defined up to sign)"
_SHAPES = "`cdf sf ppf` (and logs) in the shape parameters by differentiating the series"
_DISCRETE = "not in `k`; `ppf` is a step: 0"
NOTES = {
    "numpy.abs": "0 at 0",
    "numpy.absolute": "0 at 0",
    "numpy.fabs": "0 at 0",
    "numpy.sign": "0 (piecewise constant); complex: `z/|z|`, 0 at 0",
    "numpy.angle": "0 at 0",
    "numpy.maximum": "tie: 1/2 each between traced values, 0 against a constant; NaN: 0",
    "numpy.minimum": "tie: 1/2 each between traced values, 0 against a constant; NaN: 0",
    "numpy.fmax": "tie: as `maximum`; NaN: to the argument returned",
    "numpy.fmin": "tie: as `minimum`; NaN: to the argument returned",
    "numpy.clip": "1 on the closed interval (bounds included)",
    "numpy.hypot": "0 at the origin",
    "numpy.nan_to_num": "0 at the entries it replaces",
    "numpy.where": "the branch taken",
    "numpy.select": "the piece selected (conditions: derivative 0)",
    "numpy.mod": "at a jump: the piece `floor(x / y)` holds",
    "numpy.remainder": "at a jump: the piece `floor(x / y)` holds",
    "numpy.fmod": "at a jump: the piece `trunc(x / y)` holds",
    "numpy.max": _TIES,
    "numpy.amax": _TIES,
    "numpy.min": _TIES,
    "numpy.amin": _TIES,
    "numpy.nanmax": _TIES + "; NaN skipped",
    "numpy.nanmin": _TIES + "; NaN skipped",
    "numpy.std": "0 where the variance is 0",
    "numpy.nanstd": "0 where the variance is 0; NaN skipped",
    "numpy.median": _ORDER,
    "numpy.quantile": _ORDER + "; not in `q`",
    "numpy.percentile": _ORDER + "; not in `q`",
    "numpy.nanmedian": _ORDER + "; NaN skipped",
    "numpy.nanquantile": _ORDER + "; NaN skipped; not in `q`",
    "numpy.nanpercentile": _ORDER + "; NaN skipped; not in `q`",
    "numpy.sort": "ties: each output from one input (argsort's pairing)",
    "numpy.partition": "ties: each output from one input (argpartition's pairing)",
    "numpy.interp": "at a knot: the slope on its right",
    "numpy.unwrap": "identity (the corrections are constant)",
    "numpy.bincount": "in `weights` only",
    "numpy.linalg.norm": _NORM,
    "numpy.linalg.vector_norm": _NORM,
    "numpy.linalg.matrix_norm": _NORM,
    "numpy.linalg.det": "exact at singular matrices (the adjugate)",
    "numpy.linalg.slogdet": "singular matrix: raises",
    "numpy.linalg.cond": "singular matrix: raises",
    "numpy.linalg.cholesky": "reads one triangle (`upper`): 0 in the other",
    "numpy.linalg.eigh": "reads one triangle (`UPLO`): 0 in the other; " + _SPECTRAL,
    "numpy.linalg.eigvalsh": "reads one triangle (`UPLO`): 0 in the other",
    "numpy.linalg.svd": _SPECTRAL,
    "numpy.linalg.eig": "repeated eigenvalues: raises; vectors as NumPy's (unit, largest entry real)",
    "numpy.linalg.eigvals": "repeated eigenvalues: raises",
    "numpy.linalg.pinv": "exact where the rank is kept",
    "numpy.linalg.lstsq": "solution and residuals; rank and singular values plain",
    "numpy.linalg.qr": "full rank, `m >= n`",
    "scipy.special.xlogy": "0 at `x = 0` (both partials)",
    "scipy.special.xlog1py": "0 at `x = 0` (both partials)",
    "scipy.special.i0e": "0 at 0 (mean of the one-sided slopes)",
    "scipy.special.ive": "at 0: the mean of the one-sided slopes; in `v` as `iv`",
    "scipy.special.factorial": "0 left of 0; at 0 the right-hand slope",
    "scipy.special.polygamma": "not in `n`",
    "scipy.special.yn": "not in `n`",
    "scipy.special.expn": "not in `n`",
    "scipy.special.multigammaln": "not in `d`",
    "scipy.special.gammainc": "in `a` through its series / continued fraction, any order",
    "scipy.special.gammaincc": "in `a` through its series / continued fraction, any order",
    "scipy.special.betainc": "in `a`, `b` through its continued fraction, any order",
    "scipy.special.hyp1f1": "not in `a`, `b`",
    "scipy.special.iv": "in `v` for `v > -1`, `x >= 0` (raises where its series loses digits)",
    "scipy.special.jv": "not in `v`",
    "scipy.special.jn": "not in `n`",
    "scipy.special.yv": "not in `v`",
    "scipy.special.kv": "not in `v`",
    "scipy.special.zeta": "not in `x`",
    "scipy.special.logsumexp": "in `a` and `b`; the sign is plain",
    "scipy.stats.laplace": "0 at `x = loc`",
    "scipy.stats.t": _SHAPES,
    "scipy.stats.chi2": _SHAPES,
    "scipy.stats.gamma": _SHAPES,
    "scipy.stats.beta": _SHAPES,
    "scipy.stats.poisson": _DISCRETE,
    "scipy.stats.bernoulli": _DISCRETE,
    "scipy.stats.geom": _DISCRETE,
    "scipy.stats.binom": _DISCRETE + "; `cdf sf` not in `n`",
    "scipy.stats.nbinom": _DISCRETE,
    "scipy.stats.multinomial": "not in `x`; the last `p` is `1 - sum` of the others",
    "scipy.linalg.cholesky": "reads one triangle (`lower`): 0 in the other",
    "scipy.linalg.cho_factor": "reads one triangle (`lower`): 0 in the other",
    "scipy.linalg.eigh": "reads one triangle (`lower`): 0 in the other; " + _SPECTRAL,
    "scipy.linalg.svd": _SPECTRAL,
    "scipy.linalg.solve_triangular": "reads one triangle: 0 in the other",
    "scipy.linalg.lu_factor": "SciPy's pivots held fixed",
    "scipy.linalg.sqrtm": "singular matrix: raises",
    "scipy.linalg.logm": "singular matrix: raises",
}

# Names that differentiate on no probe, with the reason the table gives.
NOT_DIFFERENTIABLE: dict[str, str] = {}

# Differentiable names that `vmap` refuses by nature (a result whose shape depends on the
# values), with the reason the table gives.
NOT_BATCHABLE: dict[str, str] = {
    "numpy.unique": "`vmap`: its length depends on the values (use `sort`)",
}

# The probe input: distinct entries inside every domain the probes need (0 < x < 1).
X0 = np.array([0.3, 0.55, 0.7, 0.45])
Y0 = np.array([0.2, -0.1, 0.15, -0.25])  # imaginary part of the complex probe
V0 = np.array([1.0, -0.5, 0.25, 0.75])  # tangent
# Central differences with h = 1e-5 in float64 err by about h²/6 |f'''| + eps |f| / h, under
# 1e-9 for the probes' moderate derivatives; 1e-6 leaves room without hiding a wrong rule.
RTOL = 1e-6
H = 1e-5

Build = Callable[[Any, Any], Any]


def _square(x: Any) -> Any:
    """A 2×2 matrix with distinct real eigenvalues (its entries are x)."""
    return x.reshape(2, 2)


def _spd(x: Any) -> Any:
    """A Hermitian positive definite 2×2 matrix, smooth in x."""
    m = x.reshape(2, 2)
    return m @ cnp.conj(m).T + np.eye(2)


def _phase_free(factors: Any) -> Any:
    """Eigen- or singular vectors enter as ``|v|²``: each column is defined up to a sign (a
    phase, complex), and only functions blind to it are differentiable."""
    return [cnp.real(v * cnp.conj(v)) if v.ndim == 2 else v for v in factors]


def _knots(x: Any) -> Any:
    """Interpolation knots, traced and real: every probe entry lies between two of them."""
    return cnp.array([0.0, 0.5, 1.0]) + 0.1 * cnp.real(x[3])


def _times(x: Any) -> Any:
    """Output times of an ODE solution, traced: the first one is the initial time."""
    return cnp.array([0.1 * x[3], 1.0 + x[3]])


def _constant_first(*consts: Any) -> Build:
    """A probe for `f(*consts, x)`: arguments before `x` not differentiable (orders...)."""
    return lambda f, x: f(*consts, x)


# How to call each function whose call is not `f(x)` or `f(x, x * x)`: `build(f, x)`.
PROBES: dict[str, Build] = {
    "numpy.arccosh": lambda f, x: f(1.0 + x),
    "numpy.acosh": lambda f, x: f(1.0 + x),
    "numpy.angle": lambda f, x: f(x + 1j * (1.5 - x)),
    "numpy.imag": lambda f, x: f(x * x * (1 + 2j)),
    "numpy.sign": lambda f, x: f(x + 1j * (1.5 - x)),
    "numpy.clip": lambda f, x: f(x, x[0] + 0.1, x[2] - 0.05),  # x[0], x[2] clipped
    "numpy.where": lambda f, x: f(X0 > 0.5, x, x * x),
    "numpy.select": lambda f, x: f([X0 > 0.5], [x], x * x),
    "numpy.quantile": lambda f, x: f(x, 0.3),
    "numpy.nanquantile": lambda f, x: f(x, 0.3),
    "numpy.percentile": lambda f, x: f(x, 30.0),
    "numpy.nanpercentile": lambda f, x: f(x, 30.0),
    "numpy.reshape": lambda f, x: f(x, (2, 2)),
    "numpy.matrix_transpose": lambda f, x: f(_square(x)),
    "numpy.corrcoef": lambda f, x: f(x, x * x),
    "numpy.swapaxes": lambda f, x: f(_square(x), 0, 1),
    "numpy.moveaxis": lambda f, x: f(_square(x), 0, 1),
    "numpy.expand_dims": lambda f, x: f(x, 0),
    "numpy.squeeze": lambda f, x: f(x[None]),
    "numpy.concatenate": lambda f, x: f([x, x * x]),
    "numpy.concat": lambda f, x: f([x, x * x]),
    "numpy.unstack": lambda f, x: f(_square(x)),
    "numpy.rollaxis": lambda f, x: f(_square(x), 1),
    "numpy.hsplit": lambda f, x: f(x, 2),
    "numpy.vsplit": lambda f, x: f(_square(x), 2),
    "numpy.dsplit": lambda f, x: f(_square(x)[None], 2),
    "numpy.stack": lambda f, x: f([x, x * x]),
    "numpy.hstack": lambda f, x: f([x, x * x]),
    "numpy.vstack": lambda f, x: f([x, x * x]),
    "numpy.dstack": lambda f, x: f([x, x * x]),
    "numpy.column_stack": lambda f, x: f([x, x * x]),
    "numpy.split": lambda f, x: f(x, 2),
    "numpy.array_split": lambda f, x: f(x, 3),
    "numpy.tile": lambda f, x: f(x, 2),
    "numpy.repeat": lambda f, x: f(x, 2),
    "numpy.pad": lambda f, x: f(x, 1, mode="reflect"),
    "numpy.fliplr": lambda f, x: f(_square(x)),
    "numpy.flipud": lambda f, x: f(_square(x)),
    "numpy.roll": lambda f, x: f(x, 1),
    "numpy.rot90": lambda f, x: f(_square(x)),
    "numpy.broadcast_to": lambda f, x: f(x, (2, 4)),
    "numpy.triu": lambda f, x: f(_square(x)),
    "numpy.tril": lambda f, x: f(_square(x)),
    "numpy.diagonal": lambda f, x: f(_square(x)),
    "numpy.trace": lambda f, x: f(_square(x)),
    "numpy.astype": lambda f, x: f(x, x.dtype),
    "numpy.full": lambda f, x: f((3,), x[1]),
    "numpy.full_like": lambda f, x: f(x, x[1]),
    "numpy.array": lambda f, x: f([x[0], x[2] * x[3]]),
    "numpy.r_": lambda f, x: f[x, x * x],
    "numpy.c_": lambda f, x: f[x, x * x],
    "numpy.take": lambda f, x: f(x, [0, 2, 2]),
    "numpy.take_along_axis": lambda f, x: f(x, np.array([3, 0, 0]), axis=0),
    "numpy.partition": lambda f, x: f(x, 1),
    "numpy.bincount": lambda f, x: f(np.array([0, 1, 1, 3]), weights=x),
    "numpy.tensordot": lambda f, x: f(x, 1.5 - x, 1),
    "numpy.einsum": lambda f, x: f("i,i->", x, x * x),
    "numpy.cross": lambda f, x: f(x[:3], (1.5 - x)[:3]),
    "numpy.interp": lambda f, x: f(cnp.real(x), _knots(x), x[:3] * x[:3]),
    "numpy.linspace": lambda f, x: f(x[0], x[1], 3),
    "numpy.logspace": lambda f, x: f(x[0], x[1], 3),
    "numpy.geomspace": lambda f, x: f(x[0], x[1], 3),
    "numpy.fft.fft2": lambda f, x: f(_square(x)),
    "numpy.fft.ifft2": lambda f, x: f(_square(x)),
    "numpy.fft.fftn": lambda f, x: f(_square(x)),
    "numpy.fft.ifftn": lambda f, x: f(_square(x)),
    "numpy.fft.rfft2": lambda f, x: f(_square(x)),
    "numpy.fft.irfft2": lambda f, x: f(_square(x)),
    "numpy.fft.rfftn": lambda f, x: f(_square(x)),
    "numpy.fft.irfftn": lambda f, x: f(_square(x)),
    "numpy.linalg.det": lambda f, x: f(_square(x)),
    "numpy.linalg.inv": lambda f, x: f(_square(x)),
    "numpy.linalg.slogdet": lambda f, x: f(_square(x)),
    "numpy.linalg.solve": lambda f, x: f(_square(x), x[:2] * x[:2]),
    "numpy.linalg.matrix_norm": lambda f, x: f(_square(x)),
    "numpy.linalg.cond": lambda f, x: f(_square(x)),
    "numpy.linalg.cholesky": lambda f, x: f(_spd(x)),
    "numpy.linalg.eigh": lambda f, x: _phase_free(f(_spd(x))),
    "numpy.linalg.eigvalsh": lambda f, x: f(_spd(x)),
    "numpy.linalg.eig": lambda f, x: f(_square(x))[0],
    "numpy.linalg.eigvals": lambda f, x: f(_square(x)),
    "numpy.linalg.svd": lambda f, x: _phase_free(f(_square(x))),
    "numpy.linalg.svdvals": lambda f, x: f(_square(x)),
    "numpy.linalg.qr": lambda f, x: f(_square(x)),
    "numpy.linalg.pinv": lambda f, x: f(_square(x)),
    "numpy.linalg.lstsq": lambda f, x: f(_square(x), x[:2] * x[:2])[0],
    "numpy.linalg.matrix_power": lambda f, x: f(_square(x), 3),
    "numpy.linalg.multi_dot": lambda f, x: f([_square(x), _spd(x), _square(x)]),
    "numpy.linalg.tensorinv": lambda f, x: f(_square(x), ind=1),
    "numpy.linalg.tensorsolve": lambda f, x: f(_square(x), x[:2] * x[:2]),
    "numpy.linalg.cross": lambda f, x: f(x[:3], (1.5 - x)[:3]),
    "numpy.linalg.matmul": lambda f, x: f(_square(x), _spd(x)),
    "numpy.linalg.tensordot": lambda f, x: f(_square(x), _spd(x)),
    "numpy.linalg.trace": lambda f, x: f(_square(x)),
    "numpy.linalg.diagonal": lambda f, x: f(_square(x)),
    "numpy.linalg.matrix_transpose": lambda f, x: f(_square(x)),
    "scipy.special.polygamma": _constant_first(1),
    "scipy.special.yn": _constant_first(1),
    "scipy.special.expn": _constant_first(1),
    "scipy.special.jn": _constant_first(1),
    "scipy.special.iv": _constant_first(1.5),
    "scipy.special.ive": _constant_first(1.5),
    "scipy.special.jv": _constant_first(1.5),
    "scipy.special.yv": _constant_first(1.5),
    "scipy.special.kv": _constant_first(1.5),
    "scipy.special.gammainc": _constant_first(2.0),
    "scipy.special.gammaincc": _constant_first(2.0),
    "scipy.special.betainc": _constant_first(2.0, 3.0),
    "scipy.special.hyp1f1": _constant_first(1.5, 2.5),
    "scipy.special.zeta": _constant_first(3.0),
    "scipy.special.multigammaln": lambda f, x: f(2.0 + x, 2),
    "scipy.special.logsumexp": lambda f, x: f(x, b=1.0 + x),
    "scipy.signal.convolve2d": lambda f, x: f(_square(x), _spd(x)),
    "scipy.signal.correlate2d": lambda f, x: f(_square(x), _spd(x)),
    "scipy.linalg.expm": lambda f, x: f(_square(x)),
    "scipy.linalg.sqrtm": lambda f, x: f(_spd(x)),
    "scipy.linalg.logm": lambda f, x: f(_spd(x)),
    "scipy.linalg.expm_frechet": lambda f, x: f(_square(x), _spd(x)),
    "scipy.linalg.solve_triangular": lambda f, x: f(_spd(x), x[:2]),
    "scipy.linalg.solve_banded": lambda f, x: f((1, 1), cnp.stack([x, 3.0 + x, x * x]), x),
    "scipy.linalg.cho_factor": lambda f, x: f(_spd(x))[0],
    "scipy.linalg.cho_solve": lambda f, x: f((_spd(x), False), x[:2]),
    "scipy.linalg.lu_factor": lambda f, x: f(_square(x))[0],
    "scipy.linalg.lu_solve": lambda f, x: f((_square(x), np.array([0, 1])), x[:2]),
    "scipy.linalg.solve_sylvester": lambda f, x: f(_square(x), _spd(x), _square(x) + 1.0),
    "scipy.linalg.solve_continuous_lyapunov": lambda f, x: f(_spd(x), _square(x)),
    "scipy.linalg.block_diag": lambda f, x: f(_square(x), x[:2]),
    "scipy.linalg.inv": lambda f, x: f(_square(x)),
    "scipy.linalg.det": lambda f, x: f(_square(x)),
    "scipy.linalg.solve": lambda f, x: f(_square(x), x[:2] * x[:2]),
    "scipy.linalg.cholesky": lambda f, x: f(_spd(x)),
    "scipy.linalg.eigh": lambda f, x: _phase_free(f(_spd(x))),
    "scipy.linalg.svd": lambda f, x: _phase_free(f(_square(x))),
    "scipy.linalg.qr": lambda f, x: f(_square(x)),
    "scipy.integrate.odeint": lambda f, x: f(
        lambda y, t, k: -k * y, x[:2], _times(x), args=(x[2],), rtol=1e-11, atol=1e-12
    ),
    "scipy.integrate.solve_ivp": lambda f, x: (
        f(
            lambda t, y, k: -k * y,
            (0.1 * x[3], 1.0 + x[3]),
            x[:2],
            args=(x[2],),
            t_eval=_times(x),
            rtol=1e-11,
            atol=1e-12,
        ).y
    ),
}

# scipy.stats: the methods probed, and each distribution's arguments after `x` (or `q`),
# built from the probe vector: parameters of the density methods, then of cdf/sf/ppf (the
# shapes of t, chi2, gamma, beta are not differentiable there), as SciPy orders them.
DENSITY = ("logpdf", "pdf", "logpmf", "pmf")
TAIL = ("cdf", "logcdf", "sf", "logsf", "ppf")
_CONTINUOUS: dict[str, tuple[tuple[Any, ...], float]] = {
    # name: (shape parameters, for the tail methods as constants), loc offset
    "norm": ((), 0.0),
    "expon": ((), 0.0),
    "laplace": ((), 0.0),
    "logistic": ((), 0.0),
    "cauchy": ((), 0.0),
    "uniform": ((), 0.0),
    "pareto": ((2.0,), -2.0),
    "lognorm": ((0.5,), 0.0),
    "t": ((3.0,), 0.0),
    "chi2": ((3.0,), 0.0),
    "gamma": ((2.0,), 0.0),
    "beta": ((2.0, 3.0), 0.0),
}
_TRACED_SHAPES = ("pareto", "lognorm")  # differentiable in their shape in every method
_K = np.array([0.0, 1.0, 2.0, 3.0])
_DISCRETE_PARAMS: dict[str, tuple[Any, Callable[[Any, bool], tuple[Any, ...]]]] = {
    # name: (k, a constant; (x, a tail method?) -> the parameters after k)
    "poisson": (_K, lambda x, tail: (1.0 + x,)),
    "binom": (_K, lambda x, tail: (5.0, x)),  # SciPy's n is an integer (NaN between)
    "bernoulli": (np.zeros(4), lambda x, tail: (x,)),  # at k = 1, logsf = log 0
    "geom": (_K + 1.0, lambda x, tail: (x,)),
    "nbinom": (_K, lambda x, tail: (3.0 if tail else 3.0 + 0.5 * x, x)),
}


def _stats_probe(name: str, obj: Any) -> tuple[tuple[str, ...], Build]:
    """The methods `obj` has and a build calling each of them on the probe."""
    methods = tuple(m for m in DENSITY + TAIL if hasattr(obj, m))

    def call(method: str, x: Any) -> Any:
        f = getattr(obj, method)
        if name in _CONTINUOUS:
            shapes, loc0 = _CONTINUOUS[name]
            if method in DENSITY or name in _TRACED_SHAPES:
                shapes = tuple(s + 0.5 * x for s in shapes)
            return f(x, *shapes, loc0 - 0.1 * x, 1.0 + x)  # loc, scale
        if name in _DISCRETE_PARAMS:
            if method == "ppf":  # a step function: derivative 0, nothing to probe
                return None
            k, params = _DISCRETE_PARAMS[name]
            return f(k, *params(x, method in TAIL))
        p = x / x.sum()
        if name == "dirichlet":
            return f(p, 1.0 + x)
        if name == "multivariate_normal":
            return f(x[:2], mean=x[2:] * x[2:], cov=_spd(x))
        if name == "multinomial":
            return f(np.array([1.0, 2.0, 1.0, 0.0]), 4, p)
        raise ProbeError(f"chainrule._coverage: no probe for scipy.stats.{name}")

    def build(_: Any, x: Any) -> list[Any]:
        return [call(m, x) for m in methods]

    return methods, build


class ProbeError(AssertionError):
    """A derivative that ran but disagrees with central differences (or a useless probe)."""


@dataclass(frozen=True)
class Entry:
    """One function's row: what its probe found."""

    namespace: str  # "numpy.linalg", without "chainrule."
    name: str
    reverse: bool
    forward: bool
    complex: bool
    note: str
    vmap: bool = False
    methods: tuple[str, ...] = ()  # scipy.stats: the methods of the distribution
    errors: tuple[str, ...] = ()  # why reverse or forward (or the complex probe) failed
    vmap_errors: tuple[str, ...] = ()  # why vmap of the probe failed


def _weights(shape: tuple[int, ...]) -> Any:
    return np.linspace(1.0, 2.0, int(np.prod(shape, dtype=int))).reshape(shape)


def _scalar(fn: Any, build: Build) -> Callable[[Any], Any]:
    """A real scalar function of the probe vector: a weighted sum of every float output."""

    def scalar(x: Any) -> Any:
        total: Any = 0.0
        for leaf in cr.tree.leaves(build(fn, x)):
            dtype = np.dtype(getattr(leaf, "dtype", np.result_type(leaf)))
            if dtype.kind in "fc":
                total = total + cnp.sum(cnp.real(leaf * _weights(np.shape(leaf))))
        return total

    return scalar


def _agree(what: str, got: Any, want: Any) -> None:
    got, want = np.asarray(got), np.asarray(want)
    scale = max(1.0, float(np.max(np.abs(want))))
    if not np.max(np.abs(got - want)) <= RTOL * scale:  # NaN or infinite: fails too
        raise ProbeError(
            f"chainrule._coverage: {what} is {got}, but central differences give {want}. "
            "The rule is wrong, or the probe sits on a kink: fix one of them."
        )


def _refusal(label: str, check: Callable[[], None]) -> list[str]:
    """[] if `check` passes, [the reason] if the derivative is refused; a wrong number
    (`ProbeError`) propagates."""
    try:
        check()
    except ProbeError:
        raise
    except Exception as e:  # a refusal: "no" in the table, and the reason kept
        return [f"{label}: {type(e).__name__}: {e}"]
    return []


def _probe(
    label: str, scalar: Callable[[Any], Any], x0: Any, v0: Any
) -> tuple[list[str], list[str]]:
    """Why reverse and forward mode fail at `x0` (empty lists: they work)."""
    try:
        numerical = cr.numerical_grad(scalar, x0, h=H)
    except Exception as e:
        raise ProbeError(
            f"chainrule._coverage: the probe of {label} fails on plain values ({e}); declare "
            "how to call it in `PROBES`."
        ) from e
    if not np.any(numerical):
        raise ProbeError(
            f"chainrule._coverage: the probe of {label} is flat; give it a better one."
        )
    directional = (scalar(x0 + H * v0) - scalar(x0 - H * v0)) / (2 * H)
    reverse = _refusal(
        f"{label} reverse",
        lambda: _agree(f"the reverse derivative of {label}", cr.grad(scalar)(x0), numerical),
    )
    forward = _refusal(
        f"{label} forward",
        lambda: _agree(
            f"the forward derivative of {label}", cr.jvp(scalar, (x0,), (v0,))[1], directional
        ),
    )
    return reverse, forward


def _vmap_probe(label: str, scalar: Callable[[Any], Any]) -> list[str]:
    """Why `vmap` of the probe, or of its gradient, fails ([] if both agree with a loop)."""
    batch = np.stack([X0 * (1.0 - 0.1 * b) for b in range(3)])

    def check() -> None:
        for what, f in (("vmap", scalar), ("vmap(grad)", cr.grad(scalar))):
            loop = np.stack([np.asarray(f(x)) for x in batch])
            _agree(f"{what} of {label}", cr.vmap(f)(batch), loop)

    return _refusal(f"{label} vmap", check)


def _complex_names(namespace: str, module: Any, name: str) -> bool:
    """Whether `name` is in the COMPLEX tuple of a module of this package that defines it."""
    obj = getattr(module, name)
    root = "chainrule.numpy" if namespace.startswith("numpy") else module.__name__
    return any(
        name in getattr(m, "COMPLEX", ()) and getattr(m, name, None) is obj
        for key, m in list(sys.modules.items())
        if m is not None and (key == root or key.startswith(root + "."))
    )


def public_names(module: Any, reference: Any) -> list[str]:
    """The functions (and distributions) `module` defines itself, sorted."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    out = []
    for n in names:
        obj = getattr(module, n)
        if isinstance(obj, (types.ModuleType, type)) or obj is getattr(reference, n, None):
            continue
        if (
            callable(obj)
            or hasattr(obj, "__getitem__")
            or hasattr(obj, "logpdf")
            or hasattr(obj, "logpmf")
        ):
            out.append(n)
    return sorted(out)


def pass_through(namespace: str) -> tuple[str, ...]:
    if namespace == "numpy":
        return tuple(importlib.import_module("chainrule.numpy.rules.nondiff").__all__)
    return PASS_THROUGH.get(namespace, ())


def namespaces() -> Iterator[tuple[str, Any, Any]]:
    """(label, module, reference module) for each namespace that exists."""
    for name, ref in NAMESPACES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        yield name.removeprefix("chainrule."), module, importlib.import_module(ref)


def entry(namespace: str, module: Any, name: str) -> Entry:
    """Probe one function of a namespace."""
    key = f"{namespace}.{name}"
    obj = getattr(module, name)
    methods: tuple[str, ...] = ()
    if namespace == "scipy.stats":
        methods, build = _stats_probe(name, obj)
    else:
        build = PROBES.get(key) or _default_build(obj)
    scalar = _scalar(obj, build)
    reverse_errors, forward_errors = _probe(key, scalar, X0, V0)
    errors = reverse_errors + forward_errors
    cplx = _complex_names(namespace, module, name)
    if cplx:
        errors += _complex_probe(key, obj, build, scalar)
    reverse, forward = not reverse_errors, not forward_errors
    vmap_errors = _vmap_probe(key, scalar) if reverse else ["no reverse derivative"]
    note = NOTES.get(key, "") if reverse or forward else NOT_DIFFERENTIABLE.get(key, "")
    if vmap_errors and key in NOT_BATCHABLE:
        note = "; ".join(filter(None, (note, NOT_BATCHABLE[key])))
    return Entry(
        namespace, name, reverse, forward, cplx, note, not vmap_errors, methods, tuple(errors),
        tuple(vmap_errors),
    )  # fmt: skip


def _complex_probe(key: str, fn: Any, build: Build, scalar: Callable[[Any], Any]) -> list[str]:
    """Why the probe fails with a complex input and tangent ([] if it works). A function
    that takes only real input (``rfft``) must instead give a complex output, which the
    real probe has then differentiated."""
    z0, w0 = X0 + 1j * Y0, V0 + 1j * V0[::-1]
    label = f"{key} complex"
    try:
        scalar(z0)
    except Exception as e:
        outputs = build(fn, X0)
        if any(np.iscomplexobj(leaf) for leaf in cr.tree.leaves(outputs)):
            return []
        return [f"{label}: takes no complex input ({e}) and gives no complex output"]
    return _refusal(label, lambda: _fail_if_refused(_probe(label, scalar, z0, w0)))


def _fail_if_refused(errors: tuple[list[str], list[str]]) -> None:
    reasons = errors[0] + errors[1]
    if reasons:
        raise TypeError("; ".join(reasons))


def _default_build(fn: Any) -> Build:
    """`f(x)`, or `f(x, x * x)` where the function refuses a single argument."""
    try:
        fn(X0)
    except Exception:
        return lambda f, x: f(x, x * x)
    return lambda f, x: f(x)


def table() -> list[Entry]:
    """Every entry of every namespace."""
    rows = []
    for namespace, module, reference in namespaces():
        skip = set(pass_through(namespace))
        rows += [
            entry(namespace, module, n) for n in public_names(module, reference) if n not in skip
        ]
    return rows


def render(entries: list[Entry]) -> str:
    """The README block: one table per namespace, names grouped by identical rows."""
    yes = {True: "yes", False: "no"}
    lines = [
        START,
        "<!-- generated by `python -m chainrule._coverage --write README.md`; "
        "tests/test_coverage.py fails when it drifts -->",
    ]
    for namespace, *_ in namespaces():
        rows: dict[tuple[bool, bool, bool, bool, str, tuple[str, ...]], list[str]] = {}
        for e in entries:
            if e.namespace == namespace:
                key = (e.reverse, e.forward, e.vmap, e.complex, e.note, e.methods)
                rows.setdefault(key, []).append(f"`{e.name}`")
        lines += [
            "",
            f"`chainrule.{namespace}`:",
            "",
            "| functions | reverse | forward | vmap | complex | at a kink, ties, limits |",
            "|---|---|---|---|---|---|",
        ]
        for key, names in sorted(rows.items(), key=lambda kv: kv[1]):
            rev, fwd, vm, cplx, note, methods = key
            shown = " ".join(names) + (f" (`{' '.join(methods)}`)" if methods else "")
            cells = " | ".join(yes[b] for b in (rev, fwd, vm, cplx))
            lines.append(f"| {shown} | {cells} | {note} |")
        nondiff = sorted(pass_through(namespace))
        if nondiff:
            lines += [
                "",
                "Pass through, derivative 0: " + " ".join(f"`{n}`" for n in nondiff) + ".",
            ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def rewrite(text: str, block: str) -> str:
    """`text` with the part between the markers (included) replaced by `block`."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"chainrule._coverage: the README has no {START} ... {END} block.")
    after = text[end + len(END) :]
    return text[:start] + block + after.removeprefix("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chainrule._coverage",
        description="Print (or --write into a README) the tables of differentiable functions.",
    )
    parser.add_argument("--write", metavar="README", help="rewrite the block in this file")
    args = parser.parse_args(argv)
    block = render(table())
    if args.write:
        path = Path(args.write)
        path.write_text(rewrite(path.read_text(encoding="utf-8"), block), encoding="utf-8")
    else:
        sys.stdout.write(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
