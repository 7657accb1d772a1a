"""W6: a recurrent loop, differentiated through time.

float64, T = 1000 steps of ``h = tanh(W h + U x_t)`` from h = 0, loss = sum(h_T ** 2), for
H = 32 and H = 256 (input size 16). Timed: one call returning the gradients with respect to
W and U. Peers: hand-written NumPy backpropagation through time (the floor), PyTorch eager (a
Python loop), HIPS autograd, ``jax.lax.scan`` eager and jitted (compiled outside the timing),
and chainrule's eager Python loop.

chainrule's entry is ``cr.jit(cr.grad(loss, (0, 1)))`` with the loop written with `cr.scan`
(default ``unroll=1``, as JAX's entry): the program computes ``U x_t`` for every step at once
(one matrix product), then one forward scan (``tanh(W h + U x_t)`` per step) and one backward
scan (``W^T d`` per step, the forward values it needs computed before it for every step at
once), then the weight gradients as matrix products over the steps (``D^T H``): the
hand-written loop's two matrix-vector products per step, without its H×H outer products. The
target is the issue's: no slower than PyTorch eager at both sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import libs
from .harness import CHAINRULE, Config, Impl, Section, ratio_target, sized_section

ID = "W6"
TITLE = "RNN, backpropagation through time (float64)"
SIZES = (32, 256)
STEPS = 1000
INPUTS = 16
SEED = 6


def problem(hidden: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W and U scaled so that the state neither vanishes nor saturates, and the inputs."""
    rng = np.random.default_rng(SEED)
    w = rng.normal(size=(hidden, hidden)) / np.sqrt(hidden)
    u = rng.normal(size=(hidden, INPUTS)) / np.sqrt(INPUTS)
    xs = rng.normal(size=(STEPS, INPUTS))
    return w, u, xs


def bptt_by_hand(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gradients in plain NumPy: the forward loop storing the states, then the backward
    loop (the floor)."""
    hs = np.empty((len(xs) + 1, w.shape[0]))
    hs[0] = 0.0
    for t, x in enumerate(xs):
        hs[t + 1] = np.tanh(w @ hs[t] + u @ x)
    gw, gu = np.zeros_like(w), np.zeros_like(u)
    g = 2.0 * hs[-1]
    for t in range(len(xs) - 1, -1, -1):
        d = g * (1.0 - hs[t + 1] ** 2)
        gw += np.outer(d, hs[t])
        gu += np.outer(d, xs[t])
        g = w.T @ d
    return gw, gu


def joined(grads: Any) -> np.ndarray:
    arrays = [np.asarray(libs.torch_to_numpy(g) if hasattr(g, "detach") else g) for g in grads]
    return np.concatenate([a.ravel() for a in arrays])


def impls(hidden: int) -> list[Impl]:
    w, u, xs = problem(hidden)
    h0 = np.zeros(hidden)

    def chainrule_scan() -> Any:
        cr, cnp = libs.chainrule()

        def loss(w: Any, u: Any, xs: Any) -> Any:
            def step(h: Any, x: Any) -> tuple[Any, None]:
                return cnp.tanh(w @ h + u @ x), None

            h, _ = cr.scan(step, h0, xs)
            return cnp.sum(h**2)

        grad = cr.jit(cr.grad(loss, (0, 1)))
        grad(w, u, xs)  # trace outside the timing
        return lambda: grad(w, u, xs)

    def loop_loss(tanh: Any, total: Any) -> Any:
        def loss(w: Any, u: Any, xs: Any) -> Any:
            h = h0
            for x in xs:
                h = tanh(w @ h + u @ x)
            return total(h**2)

        return loss

    def chainrule_loop() -> Any:
        cr, cnp = libs.chainrule()
        grad = cr.grad(loop_loss(cnp.tanh, cnp.sum), (0, 1))
        return lambda: grad(w, u, xs)

    def autograd_loop() -> Any:
        ag, anp = libs.autograd()
        grad = ag.grad(loop_loss(anp.tanh, anp.sum), (0, 1))
        return lambda: grad(w, u, xs)

    def torch_loop() -> Any:
        torch = libs.torch()
        wt = torch.tensor(w, requires_grad=True)
        ut = torch.tensor(u, requires_grad=True)
        xt = torch.tensor(xs)

        def call() -> Any:
            h = torch.zeros(hidden, dtype=torch.float64)
            for t in range(STEPS):
                h = torch.tanh(wt @ h + ut @ xt[t])
            return torch.autograd.grad((h**2).sum(), (wt, ut))

        return call

    def jax_scan(jit: bool) -> Any:
        jax, jnp = libs.jax()

        def loss(w: Any, u: Any, xs: Any) -> Any:
            def step(h: Any, x: Any) -> tuple[Any, None]:
                return jnp.tanh(w @ h + u @ x), None

            h, _ = jax.lax.scan(step, jnp.zeros(hidden), xs)
            return jnp.sum(h**2)

        grad = jax.grad(loss, (0, 1))
        if jit:
            grad = jax.jit(grad)
        return libs.jax_timed(grad, jnp.asarray(w), jnp.asarray(u), jnp.asarray(xs))

    return [
        Impl(CHAINRULE, chainrule_scan, joined),
        Impl("numpy by hand (floor)", lambda: lambda: bptt_by_hand(w, u, xs), joined),
        Impl("chainrule eager loop", chainrule_loop, joined),
        Impl("torch eager", torch_loop, joined),
        Impl("autograd", autograd_loop, joined),
        Impl("jax.lax.scan eager", lambda: jax_scan(False), joined),
        Impl("jax.jit(lax.scan)", lambda: jax_scan(True), joined),
    ]


def run(cfg: Config) -> Section:
    section = sized_section(
        ID,
        TITLE,
        f"T = {STEPS} steps of h = tanh(W h + U x_t), input {INPUTS}, loss sum(h_T**2), "
        f"weights and inputs from seed {SEED}; chainrule is jit(grad(loss)) with cr.scan; "
        "results checked against chainrule (allclose, rtol 1e-9) before timing",
        SIZES,
        impls,
        cfg,
        rtol=1e-9,
        atol=1e-12,
        label=lambda h: f"H={h}",
    )
    for h in SIZES:
        section.targets.append(
            ratio_target(
                section,
                f"H={h}",
                "torch eager",
                1.0,
                f"W6: chainrule no slower than PyTorch eager at H = {h}",
            )
        )
    return section
