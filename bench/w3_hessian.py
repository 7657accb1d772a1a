"""W3: second derivatives: the full dense Hessian of the Rosenbrock function.

    f(x) = sum(100 (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)

float64, at a fixed random point, n = 100 and n = 1000 (the target). Timed: one call that
returns the dense n×n Hessian. Peers: ``autograd.hessian``, ``torch.func.hessian``,
``jax.hessian`` eager and jitted (compiled outside the timing), and the analytic tridiagonal
Hessian written into a dense array with NumPy as the floor.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from . import libs
from .harness import CHAINRULE, Config, Impl, Section, ratio_target, sized_section

ID = "W3"
TITLE = "dense Hessian of Rosenbrock (float64)"
SIZES = (100, 1000)
SEED = 3


def data(n: int) -> np.ndarray:
    return np.random.default_rng(SEED).standard_normal(n)


def make_f(m: Any) -> Callable[[Any], Any]:
    """Rosenbrock written against the NumPy-like module ``m`` (chainrule.numpy, autograd.numpy,
    torch, jax.numpy)."""

    def rosenbrock(x: Any) -> Any:
        return m.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return rosenbrock


def hessian_by_hand(x: np.ndarray) -> np.ndarray:
    """The analytic Hessian (tridiagonal), as a dense array: the floor."""
    n = x.shape[0]
    diag = np.zeros(n)
    diag[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diag[1:] += 200.0
    off = -400.0 * x[:-1]
    h = np.zeros((n, n))
    flat = h.reshape(-1)
    flat[:: n + 1] = diag
    flat[1 :: n + 1] = off
    flat[n :: n + 1] = off
    return h


def impls(n: int) -> list[Impl]:
    x = data(n)

    def chainrule() -> Callable[[], Any]:
        cr, cnp = libs.chainrule()
        h = cr.hessian(make_f(cnp))
        return lambda: h(x)

    def floor() -> Callable[[], Any]:
        return lambda: hessian_by_hand(x)

    def autograd() -> Callable[[], Any]:
        ag, anp = libs.autograd()
        h = ag.hessian(make_f(anp))
        return lambda: h(x)

    def torch_func() -> Callable[[], Any]:
        torch = libs.torch()
        func = importlib.import_module("torch.func")
        h = func.hessian(make_f(torch))
        xt = torch.tensor(x, dtype=torch.float64)
        return lambda: h(xt)

    def jax_eager() -> Callable[[], Any]:
        jax, jnp = libs.jax()
        h = jax.hessian(make_f(jnp))
        xj = jnp.asarray(x)
        return lambda: h(xj).block_until_ready()

    def jax_jit() -> Callable[[], Any]:
        jax, jnp = libs.jax()
        h = jax.jit(jax.hessian(make_f(jnp)))
        xj = jnp.asarray(x)
        h(xj).block_until_ready()  # compile outside the timing
        return lambda: h(xj).block_until_ready()

    return [
        Impl(CHAINRULE, chainrule),
        Impl("numpy by hand (floor)", floor),
        Impl("autograd.hessian", autograd),
        Impl("torch.func.hessian", torch_func, libs.torch_to_numpy),
        Impl("jax.hessian eager", jax_eager),
        Impl("jax.jit(jax.hessian)", jax_jit),
    ]


def run(cfg: Config) -> Section:
    section = sized_section(
        ID,
        TITLE,
        f"x ~ N(0, 1) from seed {SEED}; Hessians checked against chainrule "
        "(allclose, rtol 1e-9) before timing",
        SIZES,
        impls,
        cfg,
        rtol=1e-9,
        atol=1e-8,
    )
    section.targets.append(
        ratio_target(
            section,
            "n=1000",
            "torch.func.hessian",
            1.0,
            "W3 n=1000: chainrule <= torch.func.hessian's time",
        )
    )
    return section
