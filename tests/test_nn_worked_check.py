"""The classic two-layer network, differentiated by hand and by chainrule.

For one example ``x`` (a column vector) the network is

    z1 = W1 x + b1,   h = relu(z1),   z2 = W2 h + b2,

and a batch of ``n`` examples is the matrix ``X`` whose *rows* are the ``xᵀ``, so that
``Z1 = X W1ᵀ + b1`` and ``Z2 = H W2ᵀ + b2`` (rows again). `nn.Linear` computes
``x @ weight.T + bias`` (PyTorch's layout), so its ``weight`` is ``W1`` itself, and the
gradients it returns are ``dL/dW1`` and ``dL/dW2`` as they are.

The backward pass below is written out in plain NumPy, one chain-rule step per line, and
must equal chainrule's gradients to 1e-12 in float64.
"""

from __future__ import annotations

import numpy

import chainrule as cr
import chainrule.numpy as np
from chainrule import nn
from chainrule.scipy import special

N, D, H, K = 8, 5, 7, 3  # batch, inputs, hidden units, outputs (classes)
RNG = numpy.random.default_rng(42)
X = RNG.standard_normal((N, D))
Y = RNG.integers(0, K, size=N)  # class labels
T = RNG.standard_normal((N, K))  # regression targets
W1, b1 = RNG.standard_normal((H, D)) / numpy.sqrt(D), RNG.standard_normal(H) * 0.1
W2, b2 = RNG.standard_normal((K, H)) / numpy.sqrt(H), RNG.standard_normal(K) * 0.1


def forward(W1, b1, W2, b2):
    """The forward pass, keeping the intermediate values the backward pass needs."""
    Z1 = X @ W1.T + b1  # z1 = W1 x + b1, per row
    Hid = numpy.maximum(Z1, 0.0)  # h = relu(z1)
    Z2 = Hid @ W2.T + b2  # z2 = W2 h + b2
    return Z1, Hid, Z2


def backward_from(dZ2, Z1, Hid):
    """From dL/dZ2 back to the parameters: the part shared by both losses."""
    dW2 = dZ2.T @ Hid  # z2 = W2 h + b2   =>  dL/dW2 = Σ_rows dL/dz2 hᵀ
    db2 = dZ2.sum(axis=0)  #                  dL/db2 = Σ_rows dL/dz2
    dHid = dZ2 @ W2  #                        dL/dh  = W2ᵀ dL/dz2  (rows: dZ2 W2)
    dZ1 = dHid * (Z1 > 0)  # h = relu(z1)  =>  dL/dz1 = dL/dh ⊙ 1[z1 > 0]
    dW1 = dZ1.T @ X  # z1 = W1 x + b1   =>  dL/dW1 = Σ_rows dL/dz1 xᵀ
    db1 = dZ1.sum(axis=0)  #                  dL/db1 = Σ_rows dL/dz1
    return dW1, db1, dW2, db2


def hand_cross_entropy_grads():
    """L = -(1/n) Σ_i log softmax(z2_i)[y_i]."""
    Z1, Hid, Z2 = forward(W1, b1, W2, b2)
    P = numpy.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)  # p = softmax(z2)
    onehot = numpy.eye(K)[Y]
    dZ2 = (P - onehot) / N  # dL/dz2 = (p - onehot(y)) / n: softmax and log combined
    return backward_from(dZ2, Z1, Hid)


def hand_squared_error_grads():
    """L = (1/2n) Σ_i |z2_i - t_i|²."""
    Z1, Hid, Z2 = forward(W1, b1, W2, b2)
    dZ2 = (Z2 - T) / N  # dL/dz2 = (z2 - t) / n
    return backward_from(dZ2, Z1, Hid)


def assert_close(ours, hand):
    for a, b in zip(ours, hand, strict=True):
        assert a.shape == b.shape
        numpy.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_no_hidden_unit_sits_on_the_relu_kink():
    Z1, _, _ = forward(W1, b1, W2, b2)
    assert numpy.abs(Z1).min() > 1e-6  # so relu's derivative is unambiguous


def test_cross_entropy_gradients_of_plain_arrays():
    def loss(W1, b1, W2, b2):
        Z2 = np.maximum(X @ W1.T + b1, 0.0) @ W2.T + b2
        return -np.mean(special.log_softmax(Z2, axis=1)[numpy.arange(N), Y])

    ours = cr.grad(loss, argnums=(0, 1, 2, 3))(W1, b1, W2, b2)
    assert_close(ours, hand_cross_entropy_grads())


def test_cross_entropy_gradients_of_a_model_of_linear_layers():
    model = nn.Sequential(
        nn.Linear(weight=W1, bias=b1),  # nn.Linear computes x @ weight.T + bias
        nn.relu,
        nn.Linear(weight=W2, bias=b2),
    )

    def loss(model):
        return -np.mean(special.log_softmax(model(X), axis=1)[numpy.arange(N), Y])

    g = cr.grad(loss)(model)
    assert cr.tree.structure(g) == cr.tree.structure(model)
    first, _, second = g.layers
    ours = (first.weight, first.bias, second.weight, second.bias)
    assert_close(ours, hand_cross_entropy_grads())
    # The library's loss gives the same gradients.
    g_lib = cr.grad(lambda m: nn.cross_entropy(m(X), Y))(model)
    assert_close(cr.tree.leaves(g_lib), cr.tree.leaves(g))


def test_squared_error_gradients_of_an_mlp():
    mlp = nn.MLP(layers=[nn.Linear(weight=W1, bias=b1), nn.Linear(weight=W2, bias=b2)])
    g = cr.grad(lambda m: 0.5 * np.sum((m(X) - T) ** 2) / N)(mlp)
    ours = (g.layers[0].weight, g.layers[0].bias, g.layers[1].weight, g.layers[1].bias)
    assert_close(ours, hand_squared_error_grads())
