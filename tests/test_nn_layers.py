"""The layers of `chainrule.nn`: values, initialisation, gradients, pytree structure, errors.

Oracle tests (marked) give PyTorch's modules the same weights and compare outputs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import ml_dtypes
import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import nn

RNG = numpy.random.default_rng(0)
X3 = RNG.standard_normal((4, 3))  # float64 inputs with 3 features
X3_32 = X3.astype(numpy.float32)


def f64(layer):
    """The same layer with float64 parameters (for gradient checks)."""
    return cr.tree.map(lambda a: numpy.asarray(a, numpy.float64), layer)


def leaves_f32(tree):
    return all(leaf.dtype == numpy.float32 for leaf in cr.tree.leaves(tree))


# --------------------------------------------------------------------------------- Linear


def test_linear_shapes_dtype_and_formula():
    layer = nn.Linear(3, 2, rng=0)
    # PyTorch's layout, (out_features, in_features): Y = X Wᵀ + b, as the study guides write.
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert (layer.in_features, layer.out_features) == (3, 2)
    assert leaves_f32(layer)
    x = RNG.standard_normal((5, 6, 3)).astype(numpy.float32)
    y = layer(x)
    assert y.shape == (5, 6, 2) and y.dtype == numpy.float32
    numpy.testing.assert_allclose(y, x @ layer.weight.T + layer.bias, rtol=1e-6)


def test_linear_from_given_arrays_and_replace():
    w = numpy.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])  # (out, in) = (2, 3)
    layer = nn.Linear(weight=w, bias=numpy.array([0.5, -0.5]))
    assert layer.weight is w  # float arrays are used as they are
    assert (layer.in_features, layer.out_features) == (3, 2)
    numpy.testing.assert_array_equal(layer(numpy.array([1.0, 1.0, 1.0])), [9.5, 11.5])
    swapped = dataclasses.replace(nn.Linear(3, 2, rng=0), weight=w, bias=numpy.zeros(2))
    numpy.testing.assert_array_equal(swapped(numpy.array([1.0, 0.0, 0.0])), [1.0, 2.0])
    # Integer arrays and lists are converted to `dtype`.
    assert nn.Linear(weight=[[1, 2]], bias=False).weight.dtype == numpy.float32
    assert nn.Linear(2, 1, weight=[[1, 2]], bias=False).in_features == 2


def test_linear_init_is_pytorch_default_and_seeded():
    layer = nn.Linear(400, 300, rng=1)
    bound = 1 / 20  # 1/sqrt(400)
    assert numpy.abs(layer.weight).max() <= bound and numpy.abs(layer.bias).max() <= bound
    # Uniform on [-b, b] has variance b²/3.
    assert abs(layer.weight.var() / (bound**2 / 3) - 1) < 0.02
    same = nn.Linear(400, 300, rng=1)
    numpy.testing.assert_array_equal(layer.weight, same.weight)
    numpy.testing.assert_array_equal(layer.bias, same.bias)
    assert not numpy.array_equal(layer.weight, nn.Linear(400, 300, rng=2).weight)
    gen = numpy.random.default_rng(1)
    from_gen = nn.Linear(400, 300, rng=gen)
    numpy.testing.assert_array_equal(from_gen.weight, layer.weight)
    assert nn.Linear(2, 2, dtype=numpy.float64).weight.dtype == numpy.float64


def test_linear_without_bias_has_a_static_none():
    layer = nn.Linear(3, 4, bias=False, rng=0)
    assert layer.bias is None
    assert nn.count_parameters(layer) == 12
    assert len(cr.tree.leaves(layer)) == 1
    numpy.testing.assert_allclose(layer(X3_32), X3_32 @ layer.weight.T, rtol=1e-6)


def test_linear_gradients():
    layer = f64(nn.Linear(3, 2, rng=0))
    cr.check_grads(lambda m, x: m(x), (layer, X3), order=2)
    g = cr.grad(lambda m: np.sum(m(X3)))(layer)
    assert cr.tree.structure(g) == cr.tree.structure(layer)
    numpy.testing.assert_allclose(g.weight, numpy.repeat(X3.sum(0)[None, :], 2, 0), rtol=1e-12)
    numpy.testing.assert_array_equal(g.bias, [4.0, 4.0])


def test_linear_float32_gradients_stay_float32():
    layer = nn.Linear(3, 2, rng=0)
    g = cr.grad(lambda m: np.sum(m(X3_32) ** 2))(layer)
    assert leaves_f32(g)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: nn.Linear(3), TypeError, "in_features and out_features"),
        (lambda: nn.Linear(0, 2), ValueError, "Linear: in_features must be at least 1, got 0"),
        (lambda: nn.Linear(2, 2.5), TypeError, "Linear: out_features must be an int, got 2.5"),
        (lambda: nn.Linear(2, 2, dtype=numpy.int32), TypeError, "must be a floating-point dtype"),
        (lambda: nn.Linear(2, 2, rng="seed"), TypeError, "rng must be an int seed"),
        (lambda: nn.Linear(weight=numpy.ones(3)), ValueError, "must be 2-D"),
        (lambda: nn.Linear(4, 2, weight=numpy.ones((2, 3))), ValueError, "does not match"),
        # the transposed (in, out) layout is refused
        (lambda: nn.Linear(3, 2, weight=numpy.ones((3, 2))), ValueError, "does not match"),
        (
            lambda: nn.Linear(weight=numpy.ones((2, 3)), bias=numpy.ones(3)),
            ValueError,
            r"bias has shape \(3,\), expected \(2,\)",
        ),
    ],
)
def test_linear_construction_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_linear_input_error():
    with pytest.raises(ValueError, match=r"last axis has size 3, got shape \(4, 2\)"):
        nn.Linear(3, 2, rng=0)(numpy.ones((4, 2)))


# ------------------------------------------------------------------------------------ MLP


def test_mlp_shapes_and_sizes():
    mlp = nn.MLP([64, 128, 64, 10], rng=0)
    assert mlp.sizes == [64, 128, 64, 10]
    assert [layer.weight.shape for layer in mlp.layers] == [(128, 64), (64, 128), (10, 64)]
    assert nn.count_parameters(mlp) == 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    y = mlp(RNG.standard_normal((7, 64)).astype(numpy.float32))
    assert y.shape == (7, 10) and y.dtype == numpy.float32
    # One seed, drawn in turn: layers of equal shape still differ.
    twins = nn.MLP([4, 4, 4], rng=0)
    assert not numpy.array_equal(twins.layers[0].weight, twins.layers[1].weight)


def test_mlp_activation_between_layers_not_after_the_last():
    w1 = numpy.array([[1.0], [-1.0]])  # (out, in) = (2, 1)
    w2 = numpy.array([[1.0, 1.0]])
    zero = numpy.zeros
    layers = [nn.Linear(weight=w1, bias=zero(2)), nn.Linear(weight=w2, bias=numpy.array([-5.0]))]
    mlp = dataclasses.replace(nn.MLP([1, 2, 1], rng=0), layers=layers)
    x = numpy.array([[2.0], [-3.0]])
    numpy.testing.assert_array_equal(mlp(x), [[-3.0], [-2.0]])  # relu(±x) summed, minus 5
    squashed = nn.MLP(layers=layers, activation=nn.tanh, final_activation=nn.sigmoid)
    expected = 1 / (1 + numpy.exp(-(numpy.tanh(x) - numpy.tanh(x) - 5.0)))
    numpy.testing.assert_allclose(squashed(x), expected, rtol=1e-15)


def test_mlp_gradients_shaped_like_the_model():
    mlp = f64(nn.MLP([3, 4, 2], activation=nn.tanh, rng=0))
    cr.check_grads(lambda m, x: m(x), (mlp, X3), order=2)
    g = cr.grad(lambda m: np.sum(m(X3) ** 2))(mlp)
    assert cr.tree.structure(g) == cr.tree.structure(mlp)
    assert isinstance(g, nn.MLP) and g.activation is nn.tanh
    # The activations are static: not leaves.
    assert len(cr.tree.leaves(mlp)) == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sizes": [3]}, ValueError, "at least"),
        ({"sizes": [3, 0]}, ValueError, r"MLP: sizes\[1\] must be at least 1, got 0"),
        ({}, TypeError, "needs sizes"),
        ({"sizes": [2, 2], "activation": 3}, TypeError, "must be functions"),
        ({"layers": [nn.Linear(2, 3, rng=0), nn.Linear(4, 1, rng=0)]}, ValueError, "feeds"),
        ({"layers": [nn.Embedding(2, 2, rng=0)]}, TypeError, "list of Linear"),
    ],
)
def test_mlp_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.MLP(**kwargs)


# ----------------------------------------------------------------------------- Sequential


def test_sequential_calls_in_order_and_wraps_functions():
    seq = nn.Sequential(lambda x: x + 1.0, lambda x: 2.0 * x)
    numpy.testing.assert_array_equal(seq(numpy.array([1.0])), [4.0])
    assert all(isinstance(layer, nn.Lambda) for layer in seq.layers)
    assert cr.tree.leaves(seq) == []
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.relu, nn.Linear(4, 2, rng=1))
    expected = numpy.maximum(X3_32 @ model.layers[0].weight.T + model.layers[0].bias, 0)
    expected = expected @ model.layers[2].weight.T + model.layers[2].bias
    numpy.testing.assert_allclose(model(X3_32), expected, rtol=1e-6)
    assert len(cr.tree.leaves(model)) == 4  # relu is static
    same = nn.Sequential(layers=model.layers)
    numpy.testing.assert_array_equal(same(X3_32), model(X3_32))


def test_sequential_gradients():
    model = f64(
        nn.Sequential(nn.Linear(3, 4, rng=0), nn.tanh, nn.LayerNorm(4, dtype=numpy.float64))
    )
    cr.check_grads(lambda m, x: m(x), (model, X3), order=2)
    g = cr.grad(lambda m: np.sum(m(X3)[:, 0]))(model)
    assert cr.tree.structure(g) == cr.tree.structure(model)


class Shift(nn.Module):
    """A user layer without an `rng` keyword."""

    b: numpy.ndarray

    def __call__(self, x):
        return x + self.b


def test_sequential_passes_rng_to_layers_that_take_it():
    model = nn.Sequential(Shift(numpy.zeros(3)), nn.Dropout(0.5), nn.relu)
    assert model.takes_rng == (False, True, True)
    x = numpy.ones((2, 3))
    numpy.testing.assert_array_equal(model(x), x)  # evaluation: dropout is off
    y = model(x, rng=numpy.random.default_rng(0))
    expected = nn.Dropout(0.5)(x, rng=numpy.random.default_rng(0))
    numpy.testing.assert_array_equal(y, expected)
    assert set(numpy.unique(y)) == {0.0, 2.0}


def test_sequential_errors():
    with pytest.raises(TypeError, match="layer 1 is a int"):
        nn.Sequential(nn.relu, 3)
    with pytest.raises(TypeError, match="not both"):
        nn.Sequential(nn.relu, layers=[nn.relu])


# ------------------------------------------------------------------------------ Embedding


def test_embedding_lookup_and_init():
    table = nn.Embedding(1000, 64, rng=0)
    assert table.weight.dtype == numpy.float32
    assert (table.num_embeddings, table.embedding_dim) == (1000, 64)
    assert abs(table.weight.mean()) < 0.01 and abs(table.weight.std() - 1) < 0.01
    ids = numpy.array([[3, 1, 3], [999, 0, 5]])
    out = table(ids)
    assert out.shape == (2, 3, 64) and out.dtype == numpy.float32
    numpy.testing.assert_array_equal(out[1, 0], table.weight[999])
    assert table(numpy.int64(7)).shape == (64,)
    assert table([1, 2]).shape == (2, 64)  # lists of ints are fine


def test_embedding_gradient_accumulates_repeated_ids():
    table = nn.Embedding(weight=numpy.arange(8.0).reshape(4, 2))
    ids = numpy.array([[0, 2], [2, 2]])
    g = cr.grad(lambda t: np.sum(t(ids) * numpy.array([1.0, 10.0])))(table)
    numpy.testing.assert_array_equal(g.weight, [[1, 10], [0, 0], [3, 30], [0, 0]])
    cr.check_grads(lambda t: t(ids), (table,), order=2)


@pytest.mark.parametrize(
    ("ids", "error", "match"),
    [
        (numpy.array([0.0, 1.0]), TypeError, "must be integers, got dtype float64"),
        (numpy.array([True]), TypeError, "must be integers"),
        (numpy.array([0, 4]), ValueError, r"in \[0, 4\), got values from 0 to 4"),
        (numpy.array([-1, 2]), ValueError, "from -1 to 2"),
    ],
)
def test_embedding_errors(ids, error, match):
    with pytest.raises(error, match=match):
        nn.Embedding(4, 2, rng=0)(ids)


def test_embedding_construction_errors():
    with pytest.raises(TypeError, match="num_embeddings and embedding_dim"):
        nn.Embedding(4)
    with pytest.raises(ValueError, match="must have shape"):
        nn.Embedding(5, 2, weight=numpy.ones((4, 2)))


# ------------------------------------------------------------------------------ LayerNorm


def test_layernorm_values():
    norm = nn.LayerNorm(4)
    assert leaves_f32(norm)
    x = numpy.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]], numpy.float32)
    y = norm(x)
    assert y.dtype == numpy.float32
    z = numpy.array([-1.5, -0.5, 0.5, 1.5]) / numpy.sqrt(1.25 + 1e-5)  # biased variance
    numpy.testing.assert_allclose(y, [z, [0.0] * 4], rtol=1e-6, atol=1e-7)
    affine = dataclasses.replace(norm, weight=numpy.full(4, 2.0), bias=numpy.ones(4))
    numpy.testing.assert_allclose(affine(x), [2 * z + 1, [1.0] * 4], rtol=1e-6)


def test_layernorm_over_several_axes_and_options():
    x = RNG.standard_normal((3, 2, 5))
    norm = nn.LayerNorm((2, 5), dtype=numpy.float64)
    y = norm(x)
    numpy.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-12)
    numpy.testing.assert_allclose(y.var(axis=(1, 2)), 1.0 / (1.0 + 1e-5 / x.var(axis=(1, 2))))
    bare = nn.LayerNorm(5, elementwise_affine=False)
    assert bare.weight is None and bare.bias is None and nn.count_parameters(bare) == 0
    assert cr.tree.leaves(bare) == []
    no_shift = nn.LayerNorm(5, bias=False)
    assert no_shift.bias is None and nn.count_parameters(no_shift) == 5
    # normalized_shape and eps are static: part of the structure, not leaves.
    assert len(cr.tree.leaves(norm)) == 2
    assert cr.tree.structure(norm) != cr.tree.structure(nn.LayerNorm((2, 5), eps=1e-3))


def test_layernorm_gradients():
    norm = nn.LayerNorm(5, dtype=numpy.float64)
    norm = dataclasses.replace(norm, weight=RNG.standard_normal(5), bias=RNG.standard_normal(5))
    x = RNG.standard_normal((3, 5))
    cr.check_grads(lambda m, x: m(x), (norm, x), order=2)
    g = cr.grad(lambda m: np.sum(m(x) ** 2))(norm)
    assert cr.tree.structure(g) == cr.tree.structure(norm)


def test_layernorm_errors():
    with pytest.raises(ValueError, match=r"end in axes of shape \(4,\), got shape \(2, 3\)"):
        nn.LayerNorm(4)(numpy.ones((2, 3)))
    with pytest.raises(ValueError, match="no weight or bias"):
        nn.LayerNorm(4, elementwise_affine=False, weight=numpy.ones(4))
    with pytest.raises(ValueError, match=r"LayerNorm: eps must be a finite number > 0, got 0\.0"):
        nn.LayerNorm(4, eps=0.0)
    with pytest.raises(TypeError, match="LayerNorm: eps must be a real number, got '1e-5'"):
        nn.LayerNorm(4, eps="1e-5")
    with pytest.raises(TypeError, match="LayerNorm: elementwise_affine must be True or False"):
        nn.LayerNorm(4, elementwise_affine="no")
    with pytest.raises(ValueError, match=r"weight has shape \(3,\), expected \(4,\)"):
        nn.LayerNorm(4, weight=numpy.ones(3))


def test_layers_take_bfloat16_as_a_float_dtype():
    bf16 = numpy.dtype(ml_dtypes.bfloat16)
    layers = (
        nn.Linear(2, 3, rng=0, dtype=bf16),
        nn.Embedding(4, 3, rng=0, dtype=bf16),
        nn.LayerNorm(3, dtype=bf16),
        nn.MultiHeadAttention(4, 2, rng=0, dtype=bf16),
    )
    assert {leaf.dtype for layer in layers for leaf in cr.tree.leaves(layer)} == {bf16}
    x = numpy.ones(8, bf16)
    assert nn.Dropout(0.5)(x, rng=numpy.random.default_rng(0)).dtype == bf16


# -------------------------------------------------------------------------------- Dropout


def test_dropout_evaluation_is_identity():
    x = RNG.standard_normal((3, 4)).astype(numpy.float32)
    drop = nn.Dropout(0.3)
    assert drop(x) is x
    assert nn.Dropout(0.0)(x, rng=numpy.random.default_rng(0)) is x
    assert cr.tree.leaves(drop) == [] and drop.rate == 0.3


def test_dropout_statistics():
    rate = 0.3
    x = numpy.full(200_000, 2.0, numpy.float32)
    y = nn.Dropout(rate)(x, rng=numpy.random.default_rng(1))
    assert y.dtype == numpy.float32
    kept = y != 0
    numpy.testing.assert_allclose(y[kept], 2.0 / 0.7, rtol=1e-6)
    # Binomial: the dropped fraction is within 5 standard deviations (0.001) of the rate.
    assert abs((~kept).mean() - rate) < 0.005
    assert abs(y.mean() - 2.0) < 0.02  # inverted dropout keeps the expectation
    # A fresh draw per call, reproducible from the seed.
    gen = numpy.random.default_rng(2)
    first, second = nn.Dropout(rate)(x, rng=gen), nn.Dropout(rate)(x, rng=gen)
    assert not numpy.array_equal(first, second)
    again = nn.Dropout(rate)(x, rng=numpy.random.default_rng(2))
    numpy.testing.assert_array_equal(first, again)


def test_dropout_gradient_is_the_scaled_mask():
    x = RNG.standard_normal(50)
    drop = nn.Dropout(0.5)
    g = cr.grad(lambda v: np.sum(drop(v, rng=numpy.random.default_rng(3))))(x)
    mask = drop(numpy.ones(50), rng=numpy.random.default_rng(3))
    numpy.testing.assert_array_equal(g, mask)
    assert set(numpy.unique(g)) == {0.0, 2.0}


def test_dropout_errors():
    for rate in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"Dropout: rate must be a finite number in \[0, 1\)"):
            nn.Dropout(rate)
    for rate in ("0.5", True):
        with pytest.raises(TypeError, match="Dropout: rate must be a real number"):
            nn.Dropout(rate)
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        nn.Dropout(0.5)(numpy.ones(3), rng=0)


# ----------------------------------------------------------------------------------- repr


def test_reprs_show_layers_and_parameter_counts():
    assert (
        repr(nn.Linear(64, 10, rng=0))
        == "Linear(weight=f32[10,64], bias=f32[10])  # 650 parameters"
    )
    assert repr(nn.Dropout(0.1)) == "Dropout(rate=0.1)  # 0 parameters"
    assert repr(nn.Embedding(100, 8, rng=0)) == "Embedding(weight=f32[100,8])  # 800 parameters"
    assert repr(nn.MLP([64, 128, 10], rng=0)) == (
        "MLP(\n"
        "  layers=[Linear(weight=f32[128,64], bias=f32[128]), "
        "Linear(weight=f32[10,128], bias=f32[10])],\n"
        "  activation=relu,\n"
        "  final_activation=None,\n"
        ")  # 9,610 parameters"
    )
    model = nn.Sequential(
        nn.Linear(4, 8, rng=0), nn.gelu, nn.Dropout(0.2), nn.LayerNorm(8), nn.Linear(8, 2, rng=0)
    )
    assert repr(model) == (
        "Sequential(\n"
        "  layers=[\n"
        "    Linear(weight=f32[8,4], bias=f32[8]),\n"
        "    Lambda(fn=gelu),\n"
        "    Dropout(rate=0.2),\n"
        "    LayerNorm(weight=f32[8], bias=f32[8], normalized_shape=(8,), eps=1e-05),\n"
        "    Linear(weight=f32[2,8], bias=f32[2]),\n"
        "  ],\n"
        ")  # 74 parameters"
    )


# -------------------------------------------------------------------------- oracle tests


@pytest.mark.oracle
def test_oracle_linear_embedding_layernorm_match_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 5, 3)).astype(numpy.float32)

    ours = nn.Linear(3, 4, rng=0)
    theirs = torch.nn.Linear(3, 4)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight))
        theirs.bias.copy_(torch.from_numpy(ours.bias))
    numpy.testing.assert_allclose(
        ours(x), theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )

    table = nn.Embedding(6, 3, rng=0)
    torch_table = torch.nn.Embedding.from_pretrained(torch.from_numpy(table.weight))
    ids = numpy.array([[0, 5, 2], [2, 2, 1]])
    numpy.testing.assert_array_equal(table(ids), torch_table(torch.from_numpy(ids)).numpy())

    norm = nn.LayerNorm((5, 3))
    weight = RNG.standard_normal((5, 3)).astype(numpy.float32)
    bias = RNG.standard_normal((5, 3)).astype(numpy.float32)
    norm = dataclasses.replace(norm, weight=weight, bias=bias)
    torch_norm = torch.nn.LayerNorm((5, 3))
    with torch.no_grad():
        torch_norm.weight.copy_(torch.from_numpy(weight))
        torch_norm.bias.copy_(torch.from_numpy(bias))
    expected = torch_norm(torch.from_numpy(x)).detach().numpy()
    numpy.testing.assert_allclose(norm(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_oracle_torch_state_dict_loads_unchanged():
    """A torch.nn.Linear's state_dict arrays are nn.Linear's fields as they are: same names,
    same (out, in) layout, same outputs; an MLP maps a torch Sequential over layer by layer."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Linear(5, 3)
    state = {name: t.detach().numpy() for name, t in theirs.state_dict().items()}
    assert set(state) == {"weight", "bias"}
    ours = nn.Linear(**state)
    assert (ours.in_features, ours.out_features) == (5, 3)
    x = RNG.standard_normal((4, 2, 5)).astype(numpy.float32)
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    numpy.testing.assert_allclose(ours(x), expected, rtol=1e-6, atol=1e-6)

    seq = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    state = {name: t.detach().numpy() for name, t in seq.state_dict().items()}
    mlp = nn.MLP(
        layers=[nn.Linear(weight=state[f"{i}.weight"], bias=state[f"{i}.bias"]) for i in (0, 2)]
    )
    assert mlp.sizes == [5, 8, 2]
    expected = seq(torch.from_numpy(x)).detach().numpy()
    numpy.testing.assert_allclose(mlp(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
def test_oracle_layer_gradients_match_torch():
    torch = pytest.importorskip("torch")
    model = f64(
        nn.Sequential(nn.Linear(3, 5, rng=0), nn.tanh, nn.LayerNorm(5), nn.Linear(5, 2, rng=1))
    )
    model = dataclasses.replace(
        model,
        layers=[
            model.layers[0],
            model.layers[1],
            dataclasses.replace(model.layers[2], weight=RNG.standard_normal(5)),
            model.layers[3],
        ],
    )
    g = cr.grad(lambda m: np.sum(m(X3) ** 3))(model)

    lin1, norm, lin2 = (
        torch.nn.Linear(3, 5).double(),
        torch.nn.LayerNorm(5).double(),
        torch.nn.Linear(5, 2).double(),
    )
    with torch.no_grad():
        for mod, ours in ((lin1, model.layers[0]), (lin2, model.layers[3])):
            mod.weight.copy_(torch.from_numpy(ours.weight))
            mod.bias.copy_(torch.from_numpy(ours.bias))
        norm.weight.copy_(torch.from_numpy(model.layers[2].weight))
    out = lin2(norm(torch.tanh(lin1(torch.from_numpy(X3)))))
    (out**3).sum().backward()
    numpy.testing.assert_allclose(g.layers[0].weight, lin1.weight.grad.numpy(), rtol=1e-10)
    numpy.testing.assert_allclose(g.layers[0].bias, lin1.bias.grad.numpy(), rtol=1e-10)
    numpy.testing.assert_allclose(g.layers[2].weight, norm.weight.grad.numpy(), rtol=1e-10)
    numpy.testing.assert_allclose(g.layers[2].bias, norm.bias.grad.numpy(), rtol=1e-10)
    numpy.testing.assert_allclose(g.layers[3].weight, lin2.weight.grad.numpy(), rtol=1e-10)


# ------------------------------------------------------------------------------ vmap


def _per_example(fun, model, xs, ys):
    """``fun(model, x, y)`` for each example by a Python loop, stacked (the oracle)."""
    outs = [fun(model, x, y) for x, y in zip(xs, ys, strict=True)]
    return cr.tree.map(lambda *leaves: numpy.stack(leaves), *outs)


@pytest.mark.parametrize("layers", ["linear", "mlp", "sequential_layernorm"])
def test_models_under_vmap_with_the_model_shared(layers):
    """A model is a pytree: ``vmap(loss, in_axes=(None, 0, 0))`` maps the data and shares
    the parameters; the losses and per-example gradients equal a loop of single examples."""
    rng = numpy.random.default_rng(7)
    model = {
        "linear": lambda: nn.Linear(5, 3, rng=0, dtype=numpy.float64),
        "mlp": lambda: nn.MLP([5, 8, 3], rng=0, dtype=numpy.float64),
        "sequential_layernorm": lambda: nn.Sequential(
            nn.Linear(5, 8, rng=0, dtype=numpy.float64),
            nn.LayerNorm(8, dtype=numpy.float64),
            nn.relu,
            nn.Linear(8, 3, rng=1, dtype=numpy.float64),
        ),
    }[layers]()
    xs, ys = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)

    def loss(m, x, y):
        return nn.losses.cross_entropy(m(x), y)

    got = cr.vmap(loss, in_axes=(None, 0, 0))(model, xs, ys)
    numpy.testing.assert_allclose(got, _per_example(loss, model, xs, ys), rtol=1e-12)
    grads = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(model, xs, ys)
    expected = _per_example(cr.grad(loss), model, xs, ys)
    for g, e in zip(cr.tree.leaves(grads), cr.tree.leaves(expected), strict=True):
        assert g.shape == e.shape  # a leading batch axis on every parameter's gradient
        numpy.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-13)


def test_linear_under_vmap_is_one_matmul_of_shared_weights(monkeypatch):
    """A batch of inputs against shared weights is one product of more rows, the batch left
    on its axis (no transpose copy), not one product per example."""
    from chainrule.nn import functional

    calls = []
    impl = functional._linear.impl
    monkeypatch.setattr(functional._linear, "impl", lambda *a: calls.append(a) or impl(*a))
    layer = nn.Linear(3, 2, rng=0, dtype=numpy.float64)
    xs = numpy.random.default_rng(1).standard_normal((4, 7, 3))  # batch on axis 1
    out = cr.vmap(layer, in_axes=1, out_axes=1)(xs)
    assert len(calls) == 1 and calls[0][0] is xs
    numpy.testing.assert_allclose(out, xs @ layer.weight.T + layer.bias, rtol=1e-14)


def test_per_example_weights_are_a_batched_matmul():
    """vmap over models (an ensemble, stacked parameters) as well as over inputs."""
    rng = numpy.random.default_rng(2)
    w, b, x = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2)), rng.standard_normal(3)
    got = cr.vmap(nn.functional.linear, in_axes=(None, 0, 0))(x, w, b)
    numpy.testing.assert_allclose(got, numpy.einsum("boi,i->bo", w, x) + b, rtol=1e-13)


def test_dropout_under_vmap_is_refused_not_one_mask_for_all():
    """A Generator drawn once under vmap would give every example the same mask, unlike a
    loop of calls: refused with the fix; evaluation (rng=None) maps fine."""
    drop, xs = nn.Dropout(0.5), numpy.ones((4, 6))
    with pytest.raises(TypeError, match=r"Dropout under vmap: its draws .* made once for every"):
        cr.vmap(lambda x: drop(x, rng=numpy.random.default_rng(0)))(xs)
    numpy.testing.assert_array_equal(cr.vmap(drop)(xs), xs)
    assert drop(xs, rng=numpy.random.default_rng(0)).shape == (4, 6)  # outside vmap: as before


def _masks_per_step(s: Any, rng: Any, draw: Any) -> Any:
    """A scan whose body draws (from `rng`, on a weight the batch does not touch) on every
    step; its carry depends on `s`."""

    def body(carry: Any, _: Any) -> Any:
        m = draw(rng)
        return carry + np.sum(m) * carry, m

    return cr.scan(body, s, None, length=4)


@pytest.mark.parametrize("draw", ["dropout", "init"])
def test_draws_that_would_be_made_once_and_reused_are_refused(draw: str) -> None:
    """Found by review: a Generator drawn from in a loop's body traced once (under vmap, or
    differentiated), under vmap with an unbatched input, or in a checkpointed function (run
    again by the backward pass) gave one mask for every step, every example, or another
    mask to the backward pass than the forward pass's: refused, as under jit."""
    drop, w = nn.Dropout(0.5), numpy.ones(8)
    if draw == "dropout":
        make, who = (lambda rng: drop(w, rng=rng)), "Dropout"
    else:
        make, who = (lambda rng: nn.init.normal((8,), rng=rng)), "init"
    gen = numpy.random.default_rng
    _, masks = _masks_per_step(1.0, gen(0), make)  # eagerly: a fresh draw per step
    assert len({m.tobytes() for m in masks}) == 4
    cases = {
        "a loop": lambda: cr.jvp(lambda s: _masks_per_step(s, gen(0), make)[1], (1.0,), (1.0,)),
        "vmap": lambda: cr.vmap(lambda s: s * make(gen(0)))(numpy.ones(3)),
        "checkpoint": lambda: cr.grad(
            lambda s: np.sum(cr.checkpoint(lambda s: s * make(gen(0)))(s))
        )(1.0),
    }
    cases["cond"] = lambda: cr.grad(
        lambda s: np.sum(
            cr.cond(s > 0, lambda s: s * make(gen(0)), lambda s: 2 * s * make(gen(0)), s)
        )
    )(1.0)
    for context, run in cases.items():
        with pytest.raises(TypeError, match=f"{who} under {context}: "):
            run()
    assert cr.cond(True, lambda: make(gen(0)), lambda: 2 * make(gen(0))).shape == (8,)  # (eager)
    # a checkpoint not differentiated runs its function once: drawing is fine there
    assert cr.checkpoint(lambda s: s * make(gen(0)))(1.0).shape == (8,)
    if draw == "init":  # an int seed makes the same draws every time: allowed everywhere
        seeded = lambda s: s * nn.init.normal((8,), rng=0)
        numpy.testing.assert_array_equal(cr.vmap(seeded)(numpy.ones(2))[1], seeded(1.0))


def test_a_vmap_in_another_thread_leaves_this_threads_loops_and_draws_alone() -> None:
    """Found by review: a vmap running in another thread made this thread's loops trace
    their bodies (a Python `if` on the carry raised; a draw was refused)."""
    import threading

    inside, done = threading.Event(), threading.Event()

    def mapped(x: Any) -> Any:
        inside.set()
        done.wait(10)
        return x

    worker = threading.Thread(target=lambda: cr.vmap(mapped)(numpy.ones(3)))
    worker.start()
    try:
        assert inside.wait(10)
        total = cr.fori_loop(0, 3, lambda i, c: c + (1.0 if c < 2.0 else 10.0), 0.0)
        assert total == 12.0
        assert nn.Dropout(0.5)(numpy.ones(4), rng=numpy.random.default_rng(0)).shape == (4,)
    finally:
        done.set()
        worker.join()


def test_a_module_flattened_again_gives_the_same_aux_object_until_a_static_value_changes() -> None:
    # (jit compares two calls' structures: identical aux data compares at once)
    from chainrule import tree

    model = nn.MLP([2, 3, 1], rng=0)
    first, second = tree.structure(model), tree.structure(model)
    assert first._aux is second._aux
    other = dataclasses.replace(model, activation=nn.functional.tanh)
    changed = tree.structure(other)
    assert changed._aux is not first._aux and changed != first
    back = tree.unflatten(changed, tree.leaves(other))
    assert back.activation is nn.functional.tanh
    assert tree.structure(model) == first  # (equal again, a new object or not)


def test_modules_with_slots_or_descriptor_fields_come_back_from_a_transform() -> None:
    class Positive:  # a data descriptor storing its value under another name
        def __set_name__(self, owner: Any, name: str) -> None:
            self.private = "_" + name

        def __get__(self, obj: Any, owner: Any = None) -> Any:
            return self if obj is None else obj.__dict__[self.private]

        def __set__(self, obj: Any, value: Any) -> None:
            obj.__dict__[self.private] = value

    class Scaled(nn.Module):
        w: numpy.ndarray = Positive()  # type: ignore[assignment]

    class Slotted(nn.Module):
        __slots__ = ("name", "w")
        w: numpy.ndarray
        name: str

        def __init__(self, w: numpy.ndarray, name: str) -> None:
            self.w, self.name = w, name

    for model in (Scaled(numpy.ones(3)), Slotted(numpy.ones(3), "s")):
        grads = cr.grad(lambda m: np.sum(m.w**2))(model)
        numpy.testing.assert_array_equal(grads.w, [2.0, 2.0, 2.0])
