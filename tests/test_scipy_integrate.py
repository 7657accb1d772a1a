"""chainrule.scipy.integrate: SciPy's values, and derivatives by the adjoint method.

Tolerances: the solves run at rtol=1e-11, atol=1e-12, so the solutions and their
derivatives (themselves solves at that tolerance) are good to about 1e-9 relative; central
differences use a step of 1e-4, whose truncation error (h² f''' ~ 1e-8) and rounding error
(1e-12 / h ~ 1e-8) are both below the 1e-6 the comparisons allow.
"""

from __future__ import annotations

import itertools

import numpy
import pytest
import scipy.integrate as si
import scipy.linalg

import chainrule as cr
import chainrule.numpy as np
from chainrule.scipy.integrate import odeint, solve_ivp
from rulecheck import check_rule

TOL = {"rtol": 1e-11, "atol": 1e-12}
A = numpy.array([[-0.5, 1.0], [-1.0, -0.3]])
T = numpy.array([0.0, 0.4, 1.1, 2.0])


def linear(y, t, a):
    return a @ y


def lotka_volterra(y, t, theta):
    prey, predator = y[0], y[1]
    alpha, beta, delta, gamma = theta[0], theta[1], theta[2], theta[3]
    return [alpha * prey - beta * prey * predator, delta * prey * predator - gamma * predator]


LV_Y0 = numpy.array([1.0, 0.5])
LV_THETA = numpy.array([1.1, 0.4, 0.3, 0.9])


# ------------------------------------------------------------------ values are SciPy's


def test_odeint_values_are_scipys() -> None:
    ours = odeint(linear, numpy.array([1.0, 2.0]), T, (A,), **TOL)
    theirs = si.odeint(lambda y, t, a: a @ y, numpy.array([1.0, 2.0]), T, args=(A,), **TOL)
    assert ours.shape == (4, 2)
    numpy.testing.assert_array_equal(ours, theirs)
    first = odeint(lambda t, y: -y, 1.0, T, tfirst=True)  # scalar y0, SciPy's defaults
    numpy.testing.assert_array_equal(first, si.odeint(lambda t, y: -y, 1.0, T, tfirst=True))


@pytest.mark.parametrize("method", ["RK45", "DOP853"])
def test_solve_ivp_values_are_scipys(method: str) -> None:
    fun = lambda t, y, a: a @ y
    ours = solve_ivp(fun, (0.0, 2.0), [1.0, 2.0], method, T[1:], args=(A,), rtol=1e-8)
    theirs = si.solve_ivp(fun, (0.0, 2.0), [1.0, 2.0], method, T[1:], args=(A,), rtol=1e-8)
    numpy.testing.assert_array_equal(ours.y, theirs.y)
    numpy.testing.assert_array_equal(ours.t, theirs.t)
    assert ours.success and ours.status == 0


# ------------------------------------------------------------------ closed forms: y' = A y


def test_linear_ode_matches_expm_and_its_derivatives() -> None:
    y0 = numpy.array([1.0, 2.0])
    ys = odeint(linear, y0, T, (A,), **TOL)
    exact = numpy.stack([scipy.linalg.expm(A * t) @ y0 for t in T])
    numpy.testing.assert_allclose(ys, exact, rtol=1e-9, atol=1e-10)
    # d y(t_i) / d y0 = expm(A t_i), by both modes.
    for jac in (cr.jacrev, cr.jacfwd):
        d_y0 = jac(lambda y: odeint(linear, y, T, (A,), **TOL))(y0)
        want = numpy.stack([scipy.linalg.expm(A * t) for t in T])
        numpy.testing.assert_allclose(d_y0, want, rtol=1e-8, atol=1e-9)
    # d y(t_i) / d t_i = A y(t_i); d y(t_i) / d t_0 = -expm(A (t_i - t_0)) A y0.
    d_t = cr.jacrev(lambda t: odeint(linear, y0, t, (A,), **TOL))(T)
    for i in range(1, len(T)):
        numpy.testing.assert_allclose(d_t[i, :, i], A @ exact[i], rtol=1e-8, atol=1e-9)
        numpy.testing.assert_allclose(d_t[i, :, 0], -A @ exact[i], rtol=1e-8, atol=1e-9)
    numpy.testing.assert_allclose(d_t[0], 0.0, atol=1e-12)
    # d y(t) / dA along E is the Fréchet derivative of expm(A t) along E t, applied to y0.
    d_a = cr.jacrev(lambda a: odeint(linear, y0, T, (a,), **TOL)[-1])(A)
    for k in range(2):
        for j in range(2):
            e = numpy.zeros((2, 2))
            e[k, j] = 1.0
            frechet = scipy.linalg.expm_frechet(A * T[-1], e * T[-1], compute_expm=False)
            numpy.testing.assert_allclose(d_a[:, k, j], frechet @ y0, rtol=1e-8, atol=1e-9)


def test_second_order_closed_form() -> None:
    # y = y0 exp(-k t): d²y/dk² = t² y0 exp(-k t), by reverse-over-reverse and fwd-over-rev.
    decay = lambda y, t, k: -k * y
    final = lambda k: odeint(decay, numpy.array([1.5]), T, (k,), **TOL)[-1, 0]
    want = T[-1] ** 2 * 1.5 * numpy.exp(-0.7 * T[-1])
    numpy.testing.assert_allclose(cr.grad(cr.grad(final))(0.7), want, rtol=1e-7)
    numpy.testing.assert_allclose(cr.hessian(final)(0.7), want, rtol=1e-7)


# ------------------------------------------------------------------ the harness


def test_odeint_rule_check_lotka_volterra() -> None:
    def fun(y0, t, theta):
        return odeint(lotka_volterra, y0, t, (theta,), **TOL)

    # float32 is not kept: SciPy's solvers compute and return float64.
    check_rule(fun, LV_Y0, T[:3], LV_THETA, float32=False, eps=1e-4, atol=1e-6, rtol=1e-6)


# Second order through the fifth-order RK45 at rtol 1e-11 is slow (many steps): first order.
@pytest.mark.parametrize(("method", "order"), [("RK45", 1), ("DOP853", 2)])
def test_solve_ivp_rule_check(method: str, order: int) -> None:
    def fun(y0, t_span, t_eval, theta):
        sol = solve_ivp(
            lambda t, y, th: lotka_volterra(y, t, th),
            t_span,
            y0,
            method,
            t_eval,
            args=(theta,),
            **TOL,
        )
        return sol.y

    span = numpy.array([0.1, 1.5])
    check_rule(
        fun,
        LV_Y0,
        span,
        numpy.array([0.7, 1.2]),
        LV_THETA,
        order=order,
        float32=False,
        eps=1e-4,
        atol=1e-6,
        rtol=1e-6,
    )


def test_solve_ivp_end_of_span_has_zero_derivative() -> None:
    def last(t1):
        sol = solve_ivp(lambda t, y: -y, np.stack([0.0, t1]), [1.0], t_eval=[0.5], **TOL)
        return sol.y[0, 0]

    assert float(cr.grad(last)(2.0)) == 0.0


# ------------------------------------------------------------------ against a fixed-step solver


def rk4(func, y0, t, theta, steps=400):
    """Classic RK4 written with chainrule.numpy, differentiated by tracing through it."""
    ys, y = [y0], y0
    for t0, t1 in itertools.pairwise(t):
        h = (t1 - t0) / steps
        s = t0
        for _ in range(steps):
            f = lambda y, s: np.stack(func(y, s, theta))
            k1 = f(y, s)
            k2 = f(y + h / 2 * k1, s + h / 2)
            k3 = f(y + h / 2 * k2, s + h / 2)
            k4 = f(y + h * k3, s + h)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            s = s + h
        ys.append(y)
    return np.stack(ys)


def test_adjoint_agrees_with_differentiating_rk4() -> None:
    t = numpy.array([0.0, 0.8, 1.6])
    weights = numpy.array([[0.3, -1.0], [0.5, 0.2], [1.0, 0.7]])
    loss_ode = lambda y0, th: np.sum(weights * odeint(lotka_volterra, y0, t, (th,), **TOL))
    loss_rk4 = lambda y0, th: np.sum(weights * rk4(lotka_volterra, y0, t, th))
    ours = cr.grad(loss_ode, argnums=(0, 1))(LV_Y0, LV_THETA)
    theirs = cr.grad(loss_rk4, argnums=(0, 1))(LV_Y0, LV_THETA)
    for a, b in zip(ours, theirs, strict=True):
        numpy.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-8)


# ------------------------------------------------------------------ errors


def test_closure_over_traced_value_is_refused() -> None:
    def final(k):
        return odeint(lambda y, t: -k * y, numpy.array([1.0]), T)[-1, 0]

    with pytest.raises(TypeError, match=r"odeint: .*args="):
        cr.grad(final)(0.5)

    def last(k):
        return solve_ivp(lambda t, y: -k * y, (0.0, 1.0), [1.0], t_eval=[1.0]).y[0, 0]

    with pytest.raises(TypeError, match=r"solve_ivp: .*args="):
        cr.grad(last)(0.5)


def test_solve_ivp_refuses_what_it_cannot_differentiate() -> None:
    def final(y0, **kw):
        return solve_ivp(lambda t, y: -y, (0.0, 1.0), y0, **kw).y[0, -1]

    with pytest.raises(TypeError, match="t_eval=None"):
        cr.grad(final)(numpy.array([1.0]))
    with pytest.raises(TypeError, match="dense_output=True"):
        cr.grad(lambda y0: final(y0, t_eval=[1.0], dense_output=True))(numpy.array([1.0]))


def test_solver_failure_raises() -> None:
    blowup = lambda y, t: y**2  # y = 1 / (1 - t): infinite at t = 1
    with pytest.raises(RuntimeError, match="odeint: the solver failed"):
        odeint(blowup, numpy.array([1.0]), numpy.array([0.0, 2.0]), mxstep=50)


def test_traced_lists_are_accepted() -> None:
    # y0 and t as Python lists of traced numbers, as SciPy takes lists.
    def final(a, b, t1):
        return odeint(lambda y, t: -y, [a, b], [0.0, t1], **TOL)[-1, 1]

    grads = cr.grad(final, argnums=(0, 1, 2))(1.0, 2.0, 0.5)
    want = (0.0, numpy.exp(-0.5), -2.0 * numpy.exp(-0.5))
    numpy.testing.assert_allclose(grads, want, rtol=1e-8, atol=1e-12)


def test_import_is_lazy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, chainrule, chainrule.scipy; "
        "assert 'chainrule.scipy.integrate' not in sys.modules; "
        "assert 'scipy.integrate' not in sys.modules; "
        "chainrule.scipy.integrate.odeint"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def forced(y, t, p):
    """A non-autonomous system: the time enters the right-hand side."""
    return np.stack([y[1], -p[0] * y[0] + np.sin(p[1] * t) * y[1]])


@pytest.mark.parametrize("t", [[0.2, 0.9, 1.7], [1.7, 0.9, 0.2]], ids=["forwards", "backwards"])
def test_odeint_rule_check_non_autonomous(t: list[float]) -> None:
    def fun(y0, t, p):
        return odeint(forced, y0, t, (p,), **TOL)

    y0, p = numpy.array([1.0, -0.3]), numpy.array([1.3, 2.0])
    check_rule(fun, y0, numpy.array(t), p, float32=False, eps=1e-4, atol=1e-6, rtol=1e-6)


def test_repeated_and_initial_times() -> None:
    # y = y0 exp(-(t - t0)): a repeated output time, and t_eval starting at t_span[0].
    t = numpy.array([0.2, 0.9, 0.9, 1.7])
    w = numpy.array([0.3, -1.2, 0.8, 2.0])
    y = numpy.exp(-(t - t[0]))
    loss = lambda t: np.sum(w * odeint(lambda y, s: -y, [1.0], t, **TOL)[:, 0])
    want = numpy.concatenate([[numpy.sum(w[1:] * y[1:])], -w[1:] * y[1:]])
    for jac in (cr.jacrev, cr.jacfwd):
        numpy.testing.assert_allclose(jac(loss)(t), want, rtol=1e-8)

    def at(y0, t_eval):
        return solve_ivp(lambda s, y: -y, (0.0, 2.0), y0, t_eval=t_eval, **TOL).y[0]

    t_eval = numpy.array([0.0, 1.0])
    for jac in (cr.jacrev, cr.jacfwd):
        d_y0, d_t = jac(at, argnums=(0, 1))(numpy.array([1.0]), t_eval)
        numpy.testing.assert_allclose(d_y0[:, 0], numpy.exp(-t_eval), rtol=1e-8)
        numpy.testing.assert_allclose(d_t, numpy.diag(-numpy.exp(-t_eval)), rtol=1e-8, atol=1e-12)


def test_scipy_input_errors_name_the_function() -> None:
    def at(t_eval):
        return solve_ivp(lambda s, y: -y, (0.0, 2.0), [1.0], t_eval=t_eval).y[0, 0]

    with pytest.raises(ValueError, match="solve_ivp: Values in `t_eval` are not properly sorted"):
        cr.grad(at)(numpy.array([1.0, 0.5]))


def test_args_unpacked_as_scipy_does() -> None:
    # solve_ivp unpacks a list of args (odeint would pass it as one argument).
    fun = lambda t, y, a, b: -a * b * y
    value = lambda a: solve_ivp(fun, (0, 1), [1.0], t_eval=[1.0], args=[a, 2.0], **TOL).y[0, 0]
    assert (
        value(0.5) == si.solve_ivp(fun, (0, 1), [1.0], t_eval=[1.0], args=[0.5, 2.0], **TOL).y[0, 0]
    )
    numpy.testing.assert_allclose(cr.grad(value)(0.5), -2.0 * numpy.exp(-1.0), rtol=1e-8)


def test_float32_initial_state_gets_a_float32_gradient() -> None:
    # SciPy computes in float64 (so do the values); the gradient keeps the input's dtype.
    g = cr.grad(lambda y0: odeint(lambda y, s: -y, y0, T)[-1, 0])(numpy.ones(1, numpy.float32))
    assert g.dtype == numpy.float32
    numpy.testing.assert_allclose(g, numpy.exp(-T[-1]), rtol=1e-6)


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"])
def test_every_solve_ivp_method_matches_expm(method: str) -> None:
    # d y(t) / d y0 = expm(A (t - t0)) and d y(t) / d t0 = -expm(A (t - t0)) A y0, to 1e-6
    # from solves at rtol 1e-9 (a looser tolerance keeps the third-order RK23 quick).
    y0, t_eval = numpy.array([1.0, 2.0]), numpy.array([0.7, 1.5])

    def at(y0, t0):
        fun = lambda t, y, a: a @ y
        sol = solve_ivp(
            fun, np.stack([t0, 1.5]), y0, method, t_eval, args=(A,), rtol=1e-9, atol=1e-10
        )
        return sol.y

    flows = numpy.stack([scipy.linalg.expm(A * (t - 0.2)) for t in t_eval], axis=1)
    for jac in (cr.jacrev, cr.jacfwd):
        d_y0, d_t0 = jac(at, argnums=(0, 1))(y0, 0.2)
        numpy.testing.assert_allclose(d_y0, flows, rtol=1e-6, atol=1e-7)
        numpy.testing.assert_allclose(d_t0, -flows @ (A @ y0), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ vmap


def test_vmap_is_one_stacked_solve(monkeypatch) -> None:
    """Examples with shared times are one SciPy solve of the stacked states (not a loop),
    each example the solution of its own problem."""
    calls = []
    real = si.odeint
    monkeypatch.setattr(si, "odeint", lambda *a, **k: calls.append(a) or real(*a, **k))
    decay = lambda y, t, k: -k * y
    y0s, ks = numpy.array([[1.0], [2.0], [0.5]]), numpy.array([0.3, 1.0, 2.5])
    ys = cr.vmap(lambda y0, k: odeint(decay, y0, T, (k,), **TOL))(y0s, ks)
    assert len(calls) == 1 and calls[0][1].shape == (3,)  # one state of 3 examples
    exact = y0s[:, None, :] * numpy.exp(-ks[:, None, None] * T[None, :, None])
    numpy.testing.assert_allclose(ys, exact, rtol=1e-8)


def test_vmap_keeps_each_examples_tolerance() -> None:
    """The stacked system's error norm averages the examples: without tolerances tightened
    by sqrt(B), an example beside quiet ones (here exactly 0, no error) would take steps
    sqrt(B) times too loose. With them it takes exactly its own steps."""
    grow = lambda t, y, k: -k * y
    options = {"rtol": 1e-4, "atol": 1e-8}
    t_eval = numpy.array([0.5, 1.0, 3.0])

    def solve(y0):
        return solve_ivp(grow, (0.0, 3.0), y0, "RK45", t_eval, args=(3.0,), **options).y

    alone = si.solve_ivp(grow, (0.0, 3.0), [1.0], "RK45", t_eval, args=(3.0,), **options).y
    y0s = numpy.zeros((8, 1))
    y0s[0] = 1.0
    batched = cr.vmap(solve)(y0s)
    numpy.testing.assert_allclose(batched[0], alone, rtol=1e-12)
    assert abs(alone[0, -1] - numpy.exp(-9.0)) > 1e-9  # a loose solve: its steps show
    numpy.testing.assert_array_equal(batched[1:], 0.0)


def test_vmap_over_output_times_and_its_refusal() -> None:
    """Each example's own output times (segments on a common clock) match a loop; step
    sizes in units of time cannot hold for every example, and say so."""
    decay = lambda y, t, k: -k * y
    ts = numpy.array([[0.0, 0.5, 1.0], [0.0, 1.0, 2.5]])
    ys = cr.vmap(lambda t: odeint(decay, numpy.array([1.0]), t, (0.8,), **TOL))(ts)
    numpy.testing.assert_allclose(ys[..., 0], numpy.exp(-0.8 * ts), rtol=1e-8)
    with pytest.raises(TypeError, match=r"vmap of odeint: the output times differ.*hmax"):
        cr.vmap(lambda t: odeint(decay, numpy.array([1.0]), t, (0.8,), hmax=0.1))(ts)
