"""W5: per-example gradients: the gradient of every example's own loss, for every parameter.

float32, MLP 64-256-256-10 with ReLU, softmax cross-entropy per example, B = 256 examples from
a fixed seed: the full per-example gradient pytree, about 85,000 parameters x 256. Timed: one
call that returns it (one array per parameter, with a leading axis of B). Peers: hand-batched
NumPy (per-example outer products of the activations and the backpropagated errors: the
floor), ``torch.func.vmap(torch.func.grad(...))``, ``jax.vmap(jax.grad(...))`` eager and
jitted (compiled outside the timing), and chainrule.

chainrule's entry is ``cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))``: one pass over the
batch, each primitive's batching rule writing what the floor writes by hand (the weights'
per-example gradients are batched outer products). Its two earlier ways stay as peers: a
Python loop of single-example ``grad`` calls, stacked, and ``jacrev`` of the vector of
per-example losses, which multiplies the matmul work by B. The targets are the issue's:
within 1.3x of the floor, and at least 2x faster than ``torch.func.vmap(grad)``.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from . import libs
from .harness import CHAINRULE, Config, Impl, Section, ratio_target, sized_section
from .w2_mlp import backprop_by_hand, problem

ID = "W5"
TITLE = "per-example gradients of an MLP (float32)"
SIZES = (256,)
SEED = 5
LAYERS = (64, 256, 256, 10)  # W2's MLP with H = 256


def make_loss(relu: Any, log_softmax: Any) -> Any:
    """One example's loss, written with the library's `relu` and `log_softmax`."""

    def loss(params: Any, x: Any, target: Any) -> Any:  # target: the label, one-hot
        w1, b1, w2, b2, w3, b3 = params
        h = relu(w1 @ x + b1)
        h = relu(w2 @ h + b2)
        return -(target * log_softmax(w3 @ h + b3)).sum()

    return loss


def per_example_by_hand(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[Any]:
    """The per-example gradients in plain NumPy: one batched backward pass (W2's), then the
    outer products of each example's layer inputs and errors (the floor)."""
    inputs, errors = backprop_by_hand(params, x, y, 1.0)  # each example's own loss: no 1/B
    return [
        g for a, d in zip(inputs, errors, strict=True) for g in (d[:, :, None] * a[:, None, :], d)
    ]


def joined(grads: Any) -> np.ndarray:
    """A per-example gradient pytree as one (B, parameters) array, for the correctness check."""
    arrays = [np.asarray(libs.torch_to_numpy(g) if hasattr(g, "detach") else g) for g in grads]
    return np.concatenate([a.reshape(a.shape[0], -1) for a in arrays], axis=1)


def impls(batch: int) -> list[Impl]:
    params, x, y = problem(batch, LAYERS[1], seed=SEED)
    onehot = np.eye(LAYERS[-1], dtype=np.float32)[y]  # (torch's vmap cannot index by a label)

    def chainrule_loss() -> tuple[Any, Any]:
        cr, cnp = libs.chainrule()
        from chainrule.scipy.special import log_softmax

        return cr, make_loss(lambda z: cnp.maximum(z, 0.0), log_softmax)

    def chainrule_vmap() -> Any:
        cr, loss = chainrule_loss()
        per_example = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))
        return lambda: per_example(params, x, onehot)

    def chainrule_loop() -> Any:
        cr, loss = chainrule_loss()
        grad = cr.grad(loss)

        def call() -> list[np.ndarray]:
            each = [grad(params, x[b], onehot[b]) for b in range(batch)]
            return [np.stack(g) for g in zip(*each, strict=True)]

        return call

    def chainrule_jacrev() -> Any:
        cr, cnp = libs.chainrule()
        from chainrule.scipy.special import log_softmax

        def losses(params: Any) -> Any:
            h = cnp.maximum(x @ params[0].T + params[1], 0.0)
            h = cnp.maximum(h @ params[2].T + params[3], 0.0)
            z = h @ params[4].T + params[5]
            return -cnp.take_along_axis(log_softmax(z, axis=1), y[:, None], axis=1)[:, 0]

        jac = cr.jacrev(losses)
        return lambda: jac(params)

    def floor() -> Any:
        return lambda: per_example_by_hand(params, x, y)

    def torch_vmap() -> Any:
        torch = libs.torch()
        func = importlib.import_module("torch.func")
        loss = make_loss(torch.relu, lambda z: torch.log_softmax(z, dim=-1))
        pt = [torch.tensor(p) for p in params]
        xt, yt = torch.tensor(x), torch.tensor(onehot)
        per_example = func.vmap(func.grad(loss), in_dims=(None, 0, 0))
        return lambda: per_example(pt, xt, yt)

    def jax_impl(jit: bool) -> Any:
        jax, jnp = libs.jax()
        loss = make_loss(jax.nn.relu, jax.nn.log_softmax)
        per_example = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))
        if jit:
            per_example = jax.jit(per_example)
        pj = [jnp.asarray(p) for p in params]
        return libs.jax_timed(per_example, pj, jnp.asarray(x), jnp.asarray(onehot))

    return [
        Impl(CHAINRULE, chainrule_vmap, joined),
        Impl("numpy by hand (floor)", floor, joined),
        Impl("chainrule loop of grad", chainrule_loop, joined),
        Impl("chainrule jacrev of the losses", chainrule_jacrev, joined),
        Impl("torch.func.vmap(grad)", torch_vmap, joined),
        Impl("jax.vmap(grad) eager", lambda: jax_impl(False), joined),
        Impl("jax.jit(jax.vmap(grad))", lambda: jax_impl(True), joined),
    ]


def run(cfg: Config) -> Section:
    section = sized_section(
        ID,
        TITLE,
        f"MLP {'-'.join(map(str, LAYERS))}, ReLU, per-example cross-entropy, weights and batch "
        f"from seed {SEED}; chainrule is vmap(grad(loss), in_axes=(None, 0, 0)); results "
        "checked against chainrule (allclose, rtol 1e-3, float32) before timing",
        SIZES,
        impls,
        cfg,
        rtol=1e-3,
        atol=1e-5,
        label=lambda b: f"B={b}",
    )
    section.targets.append(
        ratio_target(
            section,
            "B=256",
            "numpy by hand (floor)",
            1 / 1.3,
            "W5: chainrule within 1.3x of the hand-batched NumPy floor",
        )
    )
    section.targets.append(
        ratio_target(
            section,
            "B=256",
            "torch.func.vmap(grad)",
            2.0,
            "W5: chainrule >= 2x faster than torch.func.vmap(grad)",
        )
    )
    return section
