"""Complex values through chainrule.scipy: special functions SciPy evaluates on complex
numbers, signal convolutions and correlations, and scipy.linalg, all with JAX's convention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy
import pytest
import scipy.linalg as sl
import scipy.signal as ss

import chainrule as cr
from chainrule.scipy import linalg, signal, special
from rulecheck import check_rule

rng = numpy.random.default_rng(7)


def cplx(*shape: int) -> Any:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


Z = numpy.array([0.7 + 0.3j, 1.3 - 0.4j, 2.1 + 0.2j])


def test_the_complex_special_functions_are_declared() -> None:
    assert set(special.COMPLEX) == set(SPECIAL_CALLS)


SPECIAL_CALLS: dict[str, Callable[[Any], Any]] = {
    **{
        name: getattr(special, name)
        for name in [
            "dawsn",
            "erf",
            "erfc",
            "erfcx",
            "exp1",
            "expi",
            "log_ndtr",
            "log_softmax",
            "logsumexp",
            "ndtr",
            "softmax",
            "spence",
        ]
    },
    "fresnel": lambda z: special.fresnel(z)[0] + 2.0 * special.fresnel(z)[1],
    "sici": lambda z: special.sici(z)[0] + 2.0 * special.sici(z)[1],
    "hyp1f1": lambda z: special.hyp1f1(0.5, 1.5, z),
    "iv": lambda z: special.iv(0.5, z),
    "jv": lambda z: special.jv(1.5, z),
    "jn": lambda z: special.jn(2, z),
    "kv": lambda z: special.kv(1.5, z),
    "yv": lambda z: special.yv(2.5, z),
    "xlogy": lambda z: special.xlogy(z, z + 1.0),
    "xlog1py": lambda z: special.xlog1py(z, z),
}


@pytest.mark.parametrize("name", sorted(SPECIAL_CALLS))
def test_special_functions_of_complex_values(name: str) -> None:
    fun = SPECIAL_CALLS[name]
    check_rule(fun, Z, float32=False)
    value = cr.jvp(fun, (Z,), (numpy.ones(3, complex),))[0]
    numpy.testing.assert_allclose(value, fun(Z), rtol=1e-14)  # SciPy's own value


def test_a_special_function_that_is_not_holomorphic_refuses_complex_values() -> None:
    # ive(v, z) = e^(-|Re z|) I_v(z): SciPy evaluates it, but its rule is for real z
    with pytest.raises(TypeError, match="ive has derivative rules for real values only"):
        cr.grad(lambda z: special.ive(0.5, z).real)(Z[0])


@pytest.mark.parametrize(
    ("ours", "scipys"),
    [
        (signal.convolve, ss.convolve),
        (signal.correlate, ss.correlate),
        (signal.fftconvolve, ss.fftconvolve),
        (lambda a, b: signal.correlate(a, b, mode="same"), lambda a, b: ss.correlate(a, b, "same")),
    ],
    ids=["convolve", "correlate", "fftconvolve", "correlate-same"],
)
@pytest.mark.parametrize("kinds", ["cc", "rc", "cr"])
def test_convolutions_of_complex_values(ours: Any, scipys: Any, kinds: str) -> None:
    a = cplx(5) if kinds[0] == "c" else rng.standard_normal(5)
    b = cplx(3) if kinds[1] == "c" else rng.standard_normal(3)
    check_rule(ours, a, b)
    value = cr.vjp(ours, a, b)[0]
    numpy.testing.assert_allclose(value, scipys(a, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_convolutions_of_complex_values(name: str) -> None:
    a, b = cplx(3, 4), cplx(2, 2)
    check_rule(getattr(signal, name), a, b)
    value = cr.vjp(getattr(signal, name), a, b)[0]
    numpy.testing.assert_allclose(value, getattr(ss, name)(a, b), rtol=1e-12, atol=1e-12)


A = cplx(3, 3)
B = cplx(3, 3)
H = A @ A.conj().T + 3.0 * numpy.eye(3)  # Hermitian positive definite
b = cplx(3)
LINALG: dict[str, tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...]]] = {
    "expm": (linalg.expm, sl.expm, (0.3 * A,)),
    "sqrtm": (linalg.sqrtm, sl.sqrtm, (H,)),
    "logm": (linalg.logm, sl.logm, (H,)),
    "expm_frechet": (
        lambda a, e: linalg.expm_frechet(a, e, compute_expm=False),
        lambda a, e: sl.expm_frechet(a, e, compute_expm=False),
        (0.3 * A, B),
    ),
    "inv": (linalg.inv, sl.inv, (A,)),
    "solve": (linalg.solve, sl.solve, (A, b)),
    **{
        f"solve_triangular-{trans}": (
            lambda a, r, t=trans: linalg.solve_triangular(a, r, trans=t, lower=True),
            lambda a, r, t=trans: sl.solve_triangular(a, r, trans=t, lower=True),
            (A + 3.0 * numpy.eye(3), b),
        )
        for trans in (0, 1, 2, "C")
    },
    **{
        f"lu_solve-{trans}": (
            lambda a, r, t=trans: linalg.lu_solve(linalg.lu_factor(a), r, trans=t),
            lambda a, r, t=trans: sl.lu_solve(sl.lu_factor(a), r, trans=t),
            (A, b),
        )
        for trans in (0, 1, 2)
    },
    "solve_sylvester": (linalg.solve_sylvester, sl.solve_sylvester, (A, B, cplx(3, 3))),
    "solve_continuous_lyapunov": (
        linalg.solve_continuous_lyapunov,
        sl.solve_continuous_lyapunov,
        (A - 4.0 * numpy.eye(3), B),
    ),
    "block_diag": (linalg.block_diag, sl.block_diag, (A, b)),
}


@pytest.mark.parametrize("name", sorted(LINALG))
def test_scipy_linalg_of_complex_values(name: str) -> None:
    ours, scipys, args = LINALG[name]
    check_rule(ours, *args, float32=False, batched=False)
    numpy.testing.assert_allclose(cr.vjp(ours, *args)[0], scipys(*args), rtol=1e-10, atol=1e-12)


def test_a_complex_matrix_function_of_a_real_matrix_asks_for_complex_input() -> None:
    a = numpy.array([[-1.0, 0.0], [0.0, 2.0]])  # sqrtm is complex: a negative eigenvalue
    with pytest.raises(ValueError, match=r"Pass the matrix as complex \(`a \+ 0j`\)"):
        cr.jacfwd(linalg.sqrtm)(a)
    # off the branch cut (the negative real axis), the complex square root is differentiable
    check_rule(linalg.sqrtm, a + 0.5j * numpy.eye(2), float32=False, batched=False)


def test_ode_solutions_refuse_complex_states_under_a_transform() -> None:
    from chainrule.scipy import integrate

    def final(y0: Any) -> Any:
        sol = integrate.solve_ivp(lambda t, y: 1j * y, (0.0, 1.0), y0, t_eval=numpy.array([1.0]))
        return numpy.abs(sol.y[0, -1])

    with pytest.raises(TypeError, match="ode solution has derivative rules for real values only"):
        cr.grad(final)(numpy.array([1.0 + 0.5j]))
