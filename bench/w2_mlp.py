"""W2: one training step of an MLP: framework overhead versus arithmetic.

float32; input 64, two hidden layers of width H with ReLU, 10 classes, softmax cross-entropy
(mean over the batch), Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8). Timed: one full step,
forward, backward and parameter update. Two sizes: B=128, H=256 (small) and B=1024, H=1024
(large). The yardstick "the step's 8 matmuls" times, interleaved with the steps, the eight
matrix products a step needs, each on its real shapes and layouts (three forward products
with the transposed weights, two products carrying the error back to the hidden layers,
three weight gradients ``d.T @ a``): the floor no step can beat.

The jitted step, ``cr.jit`` of value_and_grad plus `chainrule.optim.Adam`'s step (new
parameters and state, as `jax.jit`'s step returns them), is traced once outside the timing.

Every implementation starts from the same weights and batch; before timing, the parameters
after one step must agree with chainrule's. Each timed call takes that same first step from
the same starting point: before each call, outside the timing, the in-place implementations
restore their weights and zero their moments (a `Reset`). Chained over thousands of
repeats instead, the moments of weights whose gradient is exactly zero (dead ReLU units)
decay into subnormal numbers, whose arithmetic is many times slower, and the timings would
drift with the repeat count.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import libs
from .harness import (
    CHAINRULE,
    Config,
    Impl,
    Reset,
    Section,
    ratio_target,
    sized_section,
)

ID = "W2"
TITLE = "one MLP training step: forward, backward, Adam (float32)"
SIZES = ((128, 256), (1024, 1024))
SEED = 2
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
JIT = "chainrule jit"
FIRST = "chainrule jit, first call"  # a fresh jit each call: trace, compile and run
GEMMS = "the step's 8 matmuls"


def problem(
    batch: int, hidden: int, seed: int = SEED
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Initial weights (W as (out, in), PyTorch's layout, b) of the 64-H-H-10 MLP, a batch,
    and its labels."""
    rng = np.random.default_rng(seed)
    sizes = [64, hidden, hidden, 10]
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    x = rng.standard_normal((batch, 64)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return params, x, y


def backprop_by_hand(
    params: list[np.ndarray], x: np.ndarray, y: np.ndarray, scale: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The MLP's backward pass in NumPy: each layer's input and the error at its output
    (dL/dz), for the cross-entropy of each example times `scale` (1/B for the mean)."""
    w1, b1, w2, b2, w3, b3 = params
    z1 = x @ w1.T + b1
    h1 = np.maximum(z1, 0.0)
    z2 = h1 @ w2.T + b2
    h2 = np.maximum(z2, 0.0)
    logits = h2 @ w3.T + b3
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    d3 = e / e.sum(axis=1, keepdims=True)
    d3[np.arange(len(y)), y] -= 1.0
    if scale != 1.0:
        d3 *= scale
    d2 = (d3 @ w3) * (z2 > 0)
    d1 = (d2 @ w2) * (z1 > 0)
    return [x, h1, h2], [d1, d2, d3]


def step_by_hand(
    params: list[np.ndarray], state: dict[str, Any], x: np.ndarray, y: np.ndarray
) -> None:
    """The same step written directly in NumPy, updating in place: the floor."""
    inputs, errors = backprop_by_hand(params, x, y, 1.0 / len(y))  # the mean cross-entropy
    grads = [g for a, d in zip(inputs, errors, strict=True) for g in (d.T @ a, d.sum(0))]
    state["t"] += 1
    t = state["t"]
    c1, c2 = 1.0 - BETAS[0] ** t, 1.0 - BETAS[1] ** t
    for p, g, m, v in zip(params, grads, state["m"], state["v"], strict=True):
        m *= BETAS[0]
        m += (1.0 - BETAS[0]) * g
        v *= BETAS[1]
        v += (1.0 - BETAS[1]) * g * g
        p -= (LR / c1) * m / (np.sqrt(v / c2) + EPS)


def adam(m: Any, p: Any, g: Any, mean: Any, square: Any, t: int) -> tuple[Any, Any, Any]:
    """Adam's update of one parameter at step `t` (from 1), written against the NumPy-like
    module `m`, without writing into any argument: ``(p, mean, square)``, new."""
    mean = BETAS[0] * mean + (1.0 - BETAS[0]) * g
    square = BETAS[1] * square + (1.0 - BETAS[1]) * g * g
    c1, c2 = 1.0 - BETAS[0] ** t, 1.0 - BETAS[1] ** t
    return p - (LR / c1) * mean / (m.sqrt(square / c2) + EPS), mean, square


def _mlp(batch: int, hidden: int) -> tuple[Any, list[np.ndarray], np.ndarray, np.ndarray]:
    """chainrule's MLP with the starting weights; those weights, the batch and labels."""
    import dataclasses

    from chainrule import nn

    start, x, y = problem(batch, hidden)
    model = nn.MLP([64, hidden, hidden, 10], rng=0)
    layers = [
        dataclasses.replace(layer, weight=start[2 * i].copy(), bias=start[2 * i + 1].copy())
        for i, layer in enumerate(model.layers)
    ]
    return dataclasses.replace(model, layers=layers), start, x, y


def impls(size: tuple[int, int]) -> list[Impl]:
    batch, hidden = size

    def chainrule_jit(first_call: bool = False) -> Callable[[], Any]:
        cr, _ = libs.chainrule()
        from chainrule import nn, optim

        model, _, x, y = _mlp(batch, hidden)
        opt = optim.Adam(lr=LR, betas=BETAS, eps=EPS)
        value_and_grad = cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y))

        def train_step(model: Any, state: Any, x: Any, y: Any) -> Any:
            _, grads = value_and_grad(model, x, y)
            return opt.step(grads, state, model)

        state = opt.init(model)
        if first_call:
            return lambda: cr.jit(train_step)(model, state, x, y)[0]
        step = cr.jit(train_step)
        step(model, state, x, y)  # trace outside the timing
        # Each call is the first step from the same weights: nothing to restore.
        return lambda: step(model, state, x, y)[0]

    def gemms() -> Callable[[], Any]:
        start, x, y = problem(batch, hidden)
        w1, _, w2, _, w3, _ = start
        # The operands of the step's products, with their real values, shapes and layouts
        # (the weights as stored, (out, in), and used transposed, as every step does).
        (_, h1, h2), (d1, d2, d3) = backprop_by_hand(start, x, y, 1.0 / batch)

        def products() -> Any:
            return (
                x @ w1.T, h1 @ w2.T, h2 @ w3.T,  # forward
                d3 @ w3, d2 @ w2,  # the error, back to the hidden layers
                d3.T @ h2, d2.T @ h1, d1.T @ x,  # the weight gradients
            )  # fmt: skip

        return products

    def chainrule() -> Reset:
        cr, _ = libs.chainrule()
        from chainrule import nn, optim

        model, start, x, y = _mlp(batch, hidden)
        opt = optim.Adam(lr=LR, betas=BETAS, eps=EPS)
        value_and_grad = cr.value_and_grad(lambda m, x, y: nn.cross_entropy(m(x), y))
        state = opt.init(model)
        arrays = cr.tree.leaves(model)
        moments = [*state.exp_avg, *state.exp_avg_sq]

        def restore() -> None:
            for p, p0 in zip(arrays, start, strict=True):
                np.copyto(p, p0)
            for m in moments:
                m.fill(0.0)
            state.step[()] = 0  # (counted in place, as the moments are updated)

        def step() -> Any:
            _, grads = value_and_grad(model, x, y)
            # As a training loop that owns its model (and as `chainrule.train.fit`) does:
            # update the arrays in place, like torch.optim, rather than allocate new ones.
            return opt.step(grads, state, model, inplace=True)[0]

        return Reset(step, restore)

    def floor() -> Reset:
        start, x, y = problem(batch, hidden)
        params = [p.copy() for p in start]
        state: dict[str, Any] = {
            "m": [np.zeros_like(p) for p in params],
            "v": [np.zeros_like(p) for p in params],
        }

        def restore() -> None:
            for p, p0, m, v in zip(params, start, state["m"], state["v"], strict=True):
                np.copyto(p, p0)
                m.fill(0.0)
                v.fill(0.0)
            state["t"] = 0

        def step() -> Any:
            step_by_hand(params, state, x, y)
            return params

        return Reset(step, restore)

    def torch_eager() -> Reset:
        torch = libs.torch()
        params, x, y = problem(batch, hidden)
        layers = []
        for i in range(3):
            out_features, in_features = params[2 * i].shape
            linear = torch.nn.Linear(in_features, out_features)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(params[2 * i]))
                linear.bias.copy_(torch.from_numpy(params[2 * i + 1]))
            layers += [linear, torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        start = [p.detach().clone() for p in model.parameters()]

        def restore() -> None:
            with torch.no_grad():
                for p, p0 in zip(model.parameters(), start, strict=True):
                    p.copy_(p0)
            for moments in opt.state.values():  # Adam's first step again, in its own state
                for tensor in moments.values():
                    tensor.zero_()

        def step() -> Any:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt), yt).backward()
            opt.step()
            return model

        return Reset(step, restore)

    def jax_jit() -> Callable[[], Any]:
        jax, jnp = libs.jax()
        start, x, y = problem(batch, hidden)
        params = [jnp.asarray(p) for p in start]
        xj, yj = jnp.asarray(x), jnp.asarray(y)

        def loss(params: Any, x: Any, y: Any) -> Any:
            w1, b1, w2, b2, w3, b3 = params
            h = jax.nn.relu(x @ w1.T + b1)
            h = jax.nn.relu(h @ w2.T + b2)
            logp = jax.nn.log_softmax(h @ w3.T + b3)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def train_step(params: Any, means: Any, squares: Any, x: Any, y: Any, t: int) -> Any:
            grads = jax.grad(loss)(params, x, y)
            new = [
                adam(jnp, *args, t + 1) for args in zip(params, grads, means, squares, strict=True)
            ]
            return [p for p, _, _ in new], [m for _, m, _ in new], [v for _, _, v in new]

        step = jax.jit(train_step, static_argnums=5)
        zeros = [jnp.zeros_like(p) for p in params]
        jax.block_until_ready(step(params, zeros, zeros, xj, yj, 0))  # compile outside
        return lambda: jax.block_until_ready(step(params, zeros, zeros, xj, yj, 0)[0])

    def torch_params(model: Any) -> np.ndarray:
        return _flat(p.detach().numpy() for p in model.parameters())

    return [
        Impl(CHAINRULE, chainrule, lambda model: _flat(_tree_leaves(model))),
        Impl(JIT, chainrule_jit, lambda model: _flat(_tree_leaves(model))),
        Impl(FIRST, lambda: chainrule_jit(True), lambda model: _flat(_tree_leaves(model))),
        Impl("numpy by hand (floor)", floor, _flat),
        Impl(GEMMS, gemms, lambda products: np.zeros(0), checked=False),
        Impl("torch eager", torch_eager, torch_params),
        Impl("jax.jit", jax_jit, lambda params: _flat(np.asarray(p) for p in params)),
    ]


def _tree_leaves(tree: Any) -> list[Any]:
    cr, _ = libs.chainrule()
    return list(cr.tree.leaves(tree))


def _flat(arrays: Any) -> np.ndarray:
    """The parameters as one vector, for the correctness check (outside the timing)."""
    return np.concatenate([np.ravel(a) for a in arrays])


def run(cfg: Config) -> Section:
    section = sized_section(
        ID,
        TITLE,
        "same initial weights and batch for all; parameters after one step checked "
        "against chainrule's (allclose, rtol 1e-4, atol 5e-5) before timing",
        SIZES,
        impls,
        cfg,
        rtol=1e-4,
        # Adam's first step moves each weight by about lr = 1e-3 whatever the gradient's
        # size, so float32 rounding of a near-zero gradient shows up at ~1e-5: allow 5%.
        atol=5e-5,
        label=lambda size: f"B={size[0]}, H={size[1]}",
    )
    small, large = (f"B={b}, H={h}" for b, h in SIZES)
    section.targets += [
        ratio_target(
            section, small, "torch eager", 1.0, "W2 small: chainrule <= PyTorch eager's time"
        ),
        ratio_target(
            section,
            small,
            "numpy by hand (floor)",
            1 / 1.3,
            "W2 small: chainrule within 1.3x of the hand-written NumPy step",
        ),
        ratio_target(
            section,
            small,
            "jax.jit",
            1.0,
            "W2 small: jitted step <= jax.jit's step",
            base_impl=JIT,
        ),
        ratio_target(
            section,
            small,
            "numpy by hand (floor)",
            1.0,
            "W2 small: jitted step <= the hand-written NumPy step",
            base_impl=JIT,
        ),
        ratio_target(
            section,
            small,
            CHAINRULE,
            1 / 20,
            "W2 small: tracing and compiling the step (its first call) <= 20 eager steps",
            base_impl=FIRST,
        ),
        ratio_target(
            section,
            large,
            GEMMS,
            1 / 1.2,
            "W2 large: jitted step within 1.2x of its 8 matmuls",
            base_impl=JIT,
        ),
        ratio_target(
            section,
            large,
            GEMMS,
            1 / 1.15,
            "W2 large: chainrule's step within 1.15x of its 8 matmuls",
        ),
    ]
    return section
