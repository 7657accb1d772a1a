"""W1: a small function with many operations: the per-call overhead of one ``grad`` call.

    h = tanh(x * w + 1.0)
    h = exp(-h**2) + sin(h) * x
    f(x) = sum(h * h) / n + log(1 + sum(x**2))

float64, n = 10 (the target) and n = 1000; ``x`` and ``w`` from a fixed seed. Timed: one call
of the gradient at ``x``. Set-up a user does once (wrapping ``f`` in ``grad``, converting the
data to the library's array type, ``jax.jit`` and ``cr.jit`` tracing) is outside the timed call; for
PyTorch the graph is built and ``backward()`` is called inside it, as a user would.

"chainrule jit, first call" times what that set-up costs: the first call of a fresh
``cr.jit(grad(f))`` (tracing, pruning and compiling the program, then running it), each
timed call with a new ``jit``; its target compares it with the eager ``grad`` call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import libs
from .harness import CHAINRULE, Config, Impl, Section, ratio_target, sized_section

ID = "W1"
TITLE = "small function, many operations: one grad call (float64)"
SIZES = (10, 1000)
SEED = 1
JIT = "chainrule jit"
FIRST = "chainrule jit, first call"


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    return rng.standard_normal(n), rng.standard_normal(n)


def make_f(m: Any, w: Any, n: int) -> Callable[[Any], Any]:
    """The W1 function written against the NumPy-like module ``m``.

    The same text serves chainrule.numpy, autograd.numpy, torch and jax.numpy.
    """

    def f(x: Any) -> Any:
        h = m.tanh(x * w + 1.0)
        h = m.exp(-(h**2)) + m.sin(h) * x
        return m.sum(h * h) / n + m.log(1 + m.sum(x**2))

    return f


def grad_by_hand(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The analytic gradient of the W1 function, in plain NumPy: the floor."""
    n = x.shape[0]
    t = np.tanh(x * w + 1.0)
    e = np.exp(-t * t)
    s = np.sin(t)
    h = e + s * x
    dh = (2.0 / n) * h  # d f / d h
    # h depends on x directly (sin(t) * x) and through t = tanh(x w + 1).
    return (
        dh * (s + (np.cos(t) * x - 2.0 * t * e) * (1.0 - t * t) * w)
        + (2.0 / (1.0 + np.dot(x, x))) * x
    )


def impls(n: int) -> list[Impl]:
    x, w = data(n)

    def chainrule() -> Callable[[], Any]:
        cr, cnp = libs.chainrule()
        g = cr.grad(make_f(cnp, w, n))
        return lambda: g(x)

    def chainrule_jit() -> Callable[[], Any]:
        cr, cnp = libs.chainrule()
        g = cr.jit(cr.grad(make_f(cnp, w, n)))
        g(x)  # trace and compile outside the timing, as for jax.jit
        return lambda: g(x)

    def chainrule_first_call() -> Callable[[], Any]:
        cr, cnp = libs.chainrule()
        g = cr.grad(make_f(cnp, w, n))
        return lambda: cr.jit(g)(x)  # a new jit each call: traced, compiled and run

    def floor() -> Callable[[], Any]:
        return lambda: grad_by_hand(x, w)

    def autograd() -> Callable[[], Any]:
        ag, anp = libs.autograd()
        g = ag.grad(make_f(anp, w, n))
        return lambda: g(x)

    def torch_eager() -> Callable[[], Any]:
        torch = libs.torch()
        f = make_f(torch, torch.tensor(w, dtype=torch.float64), n)
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)

        def call() -> Any:
            xt.grad = None
            f(xt).backward()
            return xt.grad

        return call

    def jax_eager() -> Callable[[], Any]:
        jax, jnp = libs.jax()
        g = jax.grad(make_f(jnp, jnp.asarray(w), n))
        xj = jnp.asarray(x)
        return lambda: g(xj).block_until_ready()

    def jax_jit() -> Callable[[], Any]:
        jax, jnp = libs.jax()
        g = jax.jit(jax.grad(make_f(jnp, jnp.asarray(w), n)))
        xj = jnp.asarray(x)
        g(xj).block_until_ready()  # compile outside the timing
        return lambda: g(xj).block_until_ready()

    return [
        Impl(CHAINRULE, chainrule),
        Impl(JIT, chainrule_jit),
        Impl(FIRST, chainrule_first_call),
        Impl("numpy by hand (floor)", floor),
        Impl("autograd", autograd),
        Impl("torch eager", torch_eager, libs.torch_to_numpy),
        Impl("jax eager", jax_eager),
        Impl("jax.jit", jax_jit),
    ]


def run(cfg: Config) -> Section:
    section = sized_section(
        ID,
        TITLE,
        f"x, w ~ N(0, 1) from seed {SEED}; results checked against chainrule "
        "(allclose, rtol 1e-10) before timing",
        SIZES,
        impls,
        cfg,
        rtol=1e-10,
        atol=1e-13,
    )
    section.targets += [
        ratio_target(
            section, "n=10", "autograd", 3.0, "W1 n=10: chainrule <= 1/3 of autograd's time"
        ),
        ratio_target(
            section, "n=10", "torch eager", 1.0, "W1 n=10: chainrule <= PyTorch eager's time"
        ),
        ratio_target(
            section,
            "n=10",
            "jax.jit",
            1 / 2.5,
            "W1 n=10: jit(grad(f)) <= 2.5x jax.jit's time",
            base_impl=JIT,
        ),
        ratio_target(
            section,
            "n=10",
            "torch eager",
            8.0,
            "W1 n=10: jit(grad(f)) >= 8x faster than PyTorch eager",
            base_impl=JIT,
        ),
        ratio_target(
            section,
            "n=1000",
            "jax.jit",
            1.0,
            "W1 n=1000: jit(grad(f)) <= jax.jit's time",
            base_impl=JIT,
        ),
        ratio_target(
            section,
            "n=10",
            CHAINRULE,
            1 / 20,
            "W1 n=10: tracing and compiling jit(grad(f)) (its first call) <= 20 eager calls",
            base_impl=FIRST,
        ),
    ]
    return section
