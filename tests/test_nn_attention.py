"""Attention: `scaled_dot_product_attention`, `causal_mask`, `MultiHeadAttention`.

Values against a direct NumPy computation, masks (boolean and float, fully masked rows),
gradients by `check_grads`, and PyTorch's `scaled_dot_product_attention` and
`MultiheadAttention(batch_first=True)` given the same weights (oracle tests).
"""

from __future__ import annotations

import dataclasses

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import nn

RNG = numpy.random.default_rng(0)


def normal(*shape, dtype=numpy.float64):
    return RNG.standard_normal(shape).astype(dtype)


def reference(q, k, v, allowed=None):
    """Attention written out directly, for rows with at least one key allowed."""
    scores = q @ numpy.swapaxes(k, -1, -2) / numpy.sqrt(q.shape[-1])
    if allowed is not None:
        scores = numpy.where(allowed, scores, -numpy.inf)
    e = numpy.exp(scores - scores.max(-1, keepdims=True))
    w = e / e.sum(-1, keepdims=True)
    return w @ v, w


# ------------------------------------------------------------------------ the function


def test_causal_mask():
    numpy.testing.assert_array_equal(
        nn.causal_mask(3), [[True, False, False], [True, True, False], [True, True, True]]
    )
    numpy.testing.assert_array_equal(nn.causal_mask(2, 3), [[1, 0, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="causal_mask: n must be at least 1, got 0"):
        nn.causal_mask(0)


def test_attention_values_with_batch_axes():
    q, k, v = normal(2, 3, 4, 5), normal(2, 3, 6, 5), normal(2, 3, 6, 7)
    out, w = nn.scaled_dot_product_attention(q, k, v)
    expected_out, expected_w = reference(q, k, v)
    assert out.shape == (2, 3, 4, 7) and w.shape == (2, 3, 4, 6)
    # out = w @ v adds terms of both signs: its rounding error (a few ulps of exp, the division
    # and a short sum, far below 1e-12) scales with |w| @ |v| <= max |v| (rows of w sum to
    # 1), not with out, which can cancel to near 0.
    numpy.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-12 * abs(v).max())
    numpy.testing.assert_allclose(w, expected_w, rtol=1e-12)
    # Leading axes broadcast: one k, v for every batch entry.
    out_b, _ = nn.scaled_dot_product_attention(q, k[0, 0], v[0, 0])
    numpy.testing.assert_allclose(
        out_b, reference(q, k[0, 0], v[0, 0])[0], rtol=1e-12, atol=1e-12 * abs(v).max()
    )


def test_attention_keeps_float32():
    q = normal(4, 8, dtype=numpy.float32)
    out, w = nn.scaled_dot_product_attention(q, q, q, nn.causal_mask(4))
    assert out.dtype == numpy.float32 and w.dtype == numpy.float32
    _, w64 = nn.scaled_dot_product_attention(q, q, q, numpy.zeros((4, 4)))  # float64 mask
    assert w64.dtype == numpy.float32


def test_boolean_and_float_masks_agree():
    q, k, v = normal(2, 4, 3), normal(2, 5, 3), normal(2, 5, 2)
    allowed = RNG.random((2, 4, 5)) < 0.6
    allowed[..., 0] = True  # every row keeps a key
    out, w = nn.scaled_dot_product_attention(q, k, v, allowed)
    expected_out, expected_w = reference(q, k, v, allowed)
    # out = w @ v can cancel: its error scales with max |v|, as in the test above.
    numpy.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-12 * abs(v).max())
    numpy.testing.assert_allclose(w, expected_w, rtol=1e-12)
    numpy.testing.assert_array_equal(w[~allowed], 0.0)
    additive = numpy.where(allowed, 0.0, -numpy.inf)
    out_f, w_f = nn.scaled_dot_product_attention(q, k, v, additive)
    numpy.testing.assert_allclose(out_f, out, rtol=1e-12)
    numpy.testing.assert_allclose(w_f, w, rtol=1e-12)
    # A finite float mask is a bias on the scores.
    bias = normal(4, 5)
    _, w_bias = nn.scaled_dot_product_attention(q, k, v, bias)
    scores = q @ numpy.swapaxes(k, -1, -2) / numpy.sqrt(3) + bias
    numpy.testing.assert_allclose(
        w_bias, numpy.exp(scores) / numpy.exp(scores).sum(-1, keepdims=True)
    )


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zeros_not_nan(kind):
    q, k, v = normal(3, 2), normal(4, 2), normal(4, 3)
    allowed = numpy.array([[1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]], bool)
    mask = allowed if kind == "bool" else numpy.where(allowed, 0.0, -numpy.inf)
    out, w = nn.scaled_dot_product_attention(q, k, v, mask)
    numpy.testing.assert_array_equal(out[1], 0.0)
    numpy.testing.assert_array_equal(w[1], 0.0)
    keep = [0, 2]
    expected_out, expected_w = reference(q[keep], k, v, allowed[keep])
    numpy.testing.assert_allclose(out[keep], expected_out, rtol=1e-12, atol=1e-12 * abs(v).max())
    numpy.testing.assert_allclose(w[keep], expected_w, rtol=1e-12)
    grads = cr.grad(
        lambda q, k, v: np.sum(nn.scaled_dot_product_attention(q, k, v, mask)[0] ** 2),
        argnums=(0, 1, 2),
    )(q, k, v)
    assert all(numpy.isfinite(g).all() for g in grads)
    numpy.testing.assert_array_equal(grads[0][1], 0.0)  # the dead query has no influence
    cr.check_grads(lambda q, k, v: nn.scaled_dot_product_attention(q, k, v, mask)[0], (q, k, v))


def test_attention_gradients():
    q, k, v = normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 2)
    cr.check_grads(lambda q, k, v: nn.scaled_dot_product_attention(q, k, v)[0], (q, k, v))
    mask = nn.causal_mask(3, 5)
    cr.check_grads(
        lambda q, k, v: nn.scaled_dot_product_attention(q, k, v, mask), (q, k, v), order=1
    )
    # A float mask is differentiable too (a learned bias on the scores).
    bias = normal(3, 5)
    cr.check_grads(lambda b: nn.scaled_dot_product_attention(q, k, v, b)[0], (bias,))


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((normal(3, 4), normal(5, 3), normal(5, 2)), ValueError, "same feature size"),
        ((normal(3, 4), normal(5, 4), normal(6, 2)), ValueError, "same sequence length"),
        ((normal(4), normal(5, 4), normal(5, 2)), ValueError, "at least 2 axes"),
        ((normal(3, 4), normal(5, 4), normal(5, 2), numpy.ones((3, 4), bool)), ValueError,
         r"mask of shape \(3, 4\) does not broadcast to the scores' shape \(3, 5\)"),
        ((normal(3, 4), normal(5, 4), normal(5, 2), numpy.ones((3, 5), int)), TypeError,
         "boolean .* or float"),
    ],
)  # fmt: skip
def test_attention_errors(args, error, match):
    with pytest.raises(error, match=match):
        nn.scaled_dot_product_attention(*args)


# ------------------------------------------------------------------- MultiHeadAttention


def test_mha_structure_init_and_shapes():
    attn = nn.MultiHeadAttention(8, 2, rng=0)
    assert (attn.embed_dim, attn.num_heads) == (8, 2)
    assert nn.count_parameters(attn) == 4 * (8 * 8 + 8)
    assert all(leaf.dtype == numpy.float32 for leaf in cr.tree.leaves(attn))
    assert len(cr.tree.leaves(attn)) == 8  # num_heads is static
    numpy.testing.assert_array_equal(attn.q_proj.bias, 0.0)
    assert numpy.abs(attn.q_proj.weight).max() <= numpy.sqrt(6 / 32)
    assert numpy.abs(attn.out_proj.weight).max() <= 1 / numpy.sqrt(8)
    x = normal(2, 3, 5, 8, dtype=numpy.float32)
    out = attn(x)
    assert out.shape == (2, 3, 5, 8) and out.dtype == numpy.float32
    out, w = attn(x, need_weights=True)
    assert w.shape == (2, 3, 5, 5)
    numpy.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-6)
    _, w_heads = attn(x, need_weights=True, average_weights=False)
    assert w_heads.shape == (2, 3, 2, 5, 5)
    numpy.testing.assert_allclose(w_heads.mean(-3), w, rtol=1e-6)
    # Cross-attention: keys and values of another length.
    memory = normal(2, 3, 7, 8, dtype=numpy.float32)
    out, w = attn(x, memory, need_weights=True)
    assert out.shape == (2, 3, 5, 8) and w.shape == (2, 3, 5, 7)
    assert not nn.MultiHeadAttention(8, 2, bias=False, rng=0).q_proj.bias


def test_mha_equals_heads_written_out():
    attn = nn.MultiHeadAttention(6, 3, dtype=numpy.float64, rng=1)
    attn = dataclasses.replace(attn, v_proj=dataclasses.replace(attn.v_proj, bias=normal(6)))
    x = normal(4, 6)
    q, k, v = (p.weight @ x.T + p.bias[:, None] for p in (attn.q_proj, attn.k_proj, attn.v_proj))
    heads = []
    for h in range(3):
        rows = slice(2 * h, 2 * h + 2)
        heads.append(reference(q[rows].T, k[rows].T, v[rows].T, nn.causal_mask(4))[0])
    expected = numpy.concatenate(heads, axis=-1) @ attn.out_proj.weight.T + attn.out_proj.bias
    # The output projection sums terms of both signs: its error scales with the terms' size.
    terms = abs(numpy.concatenate(heads, axis=-1)).sum(-1).max() * abs(attn.out_proj.weight).max()
    size = terms + abs(attn.out_proj.bias).max()
    numpy.testing.assert_allclose(attn(x, causal=True), expected, rtol=1e-12, atol=1e-12 * size)


def test_mha_masks_combine():
    attn = nn.MultiHeadAttention(4, 2, dtype=numpy.float64, rng=2)
    x = normal(2, 5, 4)
    pad = numpy.array([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]], bool)
    _, w = attn(x, causal=True, key_padding_mask=pad, need_weights=True)
    allowed = nn.causal_mask(5) & ~pad[:, None, :]
    numpy.testing.assert_array_equal(w[~allowed], 0.0)
    # The same through an explicit per-example mask (B, 1, L, S), and as floats.
    same = attn(x, mask=allowed[:, None], need_weights=True)[1]
    numpy.testing.assert_allclose(same, w, rtol=1e-12)
    floats = attn(
        x,
        mask=numpy.where(nn.causal_mask(5), 0.0, -numpy.inf),
        key_padding_mask=numpy.where(pad, -numpy.inf, 0.0),
        need_weights=True,
    )[1]
    numpy.testing.assert_allclose(floats, w, rtol=1e-12)
    mixed = attn(x, mask=numpy.zeros((5, 5)), causal=True, key_padding_mask=pad, need_weights=True)
    numpy.testing.assert_allclose(mixed[1], w, rtol=1e-12)


def test_mha_all_padding_gives_the_output_bias():
    attn = nn.MultiHeadAttention(4, 2, dtype=numpy.float64, rng=3)
    attn = dataclasses.replace(attn, out_proj=dataclasses.replace(attn.out_proj, bias=normal(4)))
    x = normal(2, 3, 4)
    pad = numpy.array([[False] * 3, [True] * 3])
    out = attn(x, key_padding_mask=pad)
    numpy.testing.assert_allclose(out[1], numpy.broadcast_to(attn.out_proj.bias, (3, 4)))
    assert numpy.isfinite(out).all()
    g = cr.grad(lambda m: np.sum(m(x, key_padding_mask=pad) ** 2))(attn)
    assert all(numpy.isfinite(leaf).all() for leaf in cr.tree.leaves(g))


def test_mha_gradients():
    attn = nn.MultiHeadAttention(4, 2, dtype=numpy.float64, rng=4)
    x = normal(2, 3, 4)
    pad = numpy.array([[0, 0, 1], [0, 0, 0]], bool)
    cr.check_grads(lambda m, x: m(x, causal=True, key_padding_mask=pad), (attn, x), order=1)
    g = cr.grad(lambda m: np.sum(m(x) ** 2))(attn)
    assert cr.tree.structure(g) == cr.tree.structure(attn)
    assert isinstance(g, nn.MultiHeadAttention) and g.num_heads == 2


def test_mha_errors():
    with pytest.raises(ValueError, match="embed_dim=6 must be divisible by num_heads=4"):
        nn.MultiHeadAttention(6, 4)
    with pytest.raises(TypeError, match="MultiHeadAttention: num_heads must be an int, got None"):
        nn.MultiHeadAttention(6)
    with pytest.raises(TypeError, match="all four projections"):
        nn.MultiHeadAttention(num_heads=2, q_proj=nn.Linear(4, 4))
    attn = nn.MultiHeadAttention(4, 2, rng=0)
    x = numpy.ones((2, 3, 4), numpy.float32)
    with pytest.raises(ValueError, match=r"key_padding_mask must be \(\.\.\., 3\)"):
        attn(x, key_padding_mask=numpy.zeros((2, 4), bool))
    with pytest.raises(ValueError, match="last axis has size 4"):
        attn(numpy.ones((2, 3, 5), numpy.float32))


def test_mha_repr():
    assert repr(nn.MultiHeadAttention(8, 2, rng=0)) == (
        "MultiHeadAttention(\n"
        "  q_proj=Linear(weight=f32[8,8], bias=f32[8]),\n"
        "  k_proj=Linear(weight=f32[8,8], bias=f32[8]),\n"
        "  v_proj=Linear(weight=f32[8,8], bias=f32[8]),\n"
        "  out_proj=Linear(weight=f32[8,8], bias=f32[8]),\n"
        "  num_heads=2,\n"
        ")  # 288 parameters"
    )


# -------------------------------------------------------------------------- oracle tests


@pytest.mark.oracle
def test_oracle_sdpa_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    q, k, v = (normal(2, 3, n, 8, dtype=numpy.float32) for n in (4, 6, 6))
    t = [torch.from_numpy(a) for a in (q, k, v)]
    allowed = RNG.random((4, 6)) < 0.5
    allowed[:, 0] = True
    bias = normal(2, 1, 4, 6, dtype=numpy.float32)
    for mask in (None, allowed, bias):
        expected = F.scaled_dot_product_attention(
            *t, attn_mask=None if mask is None else torch.from_numpy(mask)
        )
        out, _ = nn.scaled_dot_product_attention(q, k, v, mask)
        numpy.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-5)
    expected = F.scaled_dot_product_attention(*t[:1], t[0], t[0], is_causal=True)
    out, _ = nn.scaled_dot_product_attention(q, q, q, nn.causal_mask(4))
    numpy.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-5)


def torch_mha(torch, attn):
    """`torch.nn.MultiheadAttention(batch_first=True)` holding `attn`'s weights, as they are."""
    e = attn.embed_dim
    theirs = torch.nn.MultiheadAttention(e, attn.num_heads, batch_first=True)
    projections = (attn.q_proj, attn.k_proj, attn.v_proj)
    with torch.no_grad():
        # PyTorch packs q, k, v into one (3E, E) weight, rows stacked: (out, in) as ours.
        theirs.in_proj_weight.copy_(
            torch.from_numpy(numpy.concatenate([p.weight for p in projections]))
        )
        theirs.in_proj_bias.copy_(
            torch.from_numpy(numpy.concatenate([p.bias for p in projections]))
        )
        theirs.out_proj.weight.copy_(torch.from_numpy(attn.out_proj.weight))
        theirs.out_proj.bias.copy_(torch.from_numpy(attn.out_proj.bias))
    return theirs.eval()


@pytest.mark.oracle
def test_oracle_mha_matches_torch():
    torch = pytest.importorskip("torch")
    attn = nn.MultiHeadAttention(16, 4, rng=5)
    # Non-zero biases, so that their layout is checked too.
    attn = cr.tree.map(lambda a: a + normal(*a.shape, dtype=numpy.float32) * 0.1, attn)
    theirs = torch_mha(torch, attn)
    x = normal(3, 7, 16, dtype=numpy.float32)
    tx = torch.from_numpy(x)
    pad = numpy.arange(7) >= numpy.array([[7], [5], [2]])  # lengths 7, 5, 2
    with torch.no_grad():
        expected, expected_w = theirs(
            tx, tx, tx,
            attn_mask=torch.from_numpy(~nn.causal_mask(7)),  # PyTorch: True = masked out
            key_padding_mask=torch.from_numpy(pad),
            need_weights=True,
        )  # fmt: skip
        _, expected_heads = theirs(tx, tx, tx, need_weights=True, average_attn_weights=False)
    out, w = attn(x, causal=True, key_padding_mask=pad, need_weights=True)
    numpy.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-5)
    numpy.testing.assert_allclose(w, expected_w.numpy(), rtol=1e-5, atol=1e-5)
    _, heads = attn(x, need_weights=True, average_weights=False)
    numpy.testing.assert_allclose(heads, expected_heads.numpy(), rtol=1e-5, atol=1e-5)

    # Cross-attention with distinct key and value inputs.
    mem_k, mem_v = normal(3, 9, 16, dtype=numpy.float32), normal(3, 9, 16, dtype=numpy.float32)
    with torch.no_grad():
        expected, _ = theirs(tx, torch.from_numpy(mem_k), torch.from_numpy(mem_v))
    numpy.testing.assert_allclose(attn(x, mem_k, mem_v), expected.numpy(), rtol=1e-5, atol=1e-5)

    # Extra leading axes are batch axes: (2, 3, 7, 16) is six sequences.
    x4 = normal(2, 3, 7, 16, dtype=numpy.float32)
    with torch.no_grad():
        flat = torch.from_numpy(x4.reshape(6, 7, 16))
        expected, _ = theirs(flat, flat, flat, attn_mask=torch.from_numpy(~nn.causal_mask(7)))
    out = attn(x4, causal=True)
    numpy.testing.assert_allclose(out.reshape(6, 7, 16), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_oracle_mha_gradients_match_torch():
    torch = pytest.importorskip("torch")
    attn = nn.MultiHeadAttention(8, 2, rng=6)
    attn = cr.tree.map(lambda a: a + normal(*a.shape, dtype=numpy.float32) * 0.1, attn)
    theirs = torch_mha(torch, attn).double()
    attn = cr.tree.map(lambda a: a.astype(numpy.float64), attn)
    x = normal(2, 5, 8)
    pad = numpy.array([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]], bool)
    g = cr.grad(lambda m: np.sum(m(x, causal=True, key_padding_mask=pad) ** 2))(attn)
    tx = torch.from_numpy(x)
    out, _ = theirs(
        tx, tx, tx,
        attn_mask=torch.from_numpy(~nn.causal_mask(5)),
        key_padding_mask=torch.from_numpy(pad),
        need_weights=False,
    )  # fmt: skip
    (out**2).sum().backward()
    packed = numpy.concatenate([g.q_proj.weight, g.k_proj.weight, g.v_proj.weight])
    numpy.testing.assert_allclose(packed, theirs.in_proj_weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    biases = numpy.concatenate([g.q_proj.bias, g.k_proj.bias, g.v_proj.bias])
    numpy.testing.assert_allclose(biases, theirs.in_proj_bias.grad.numpy(), rtol=1e-9, atol=1e-12)
    numpy.testing.assert_allclose(
        g.out_proj.weight, theirs.out_proj.weight.grad.numpy(), rtol=1e-9, atol=1e-12
    )


def test_mha_under_vmap_with_the_module_shared():
    """MultiHeadAttention is a pytree: mapped over sequences with the module shared (and a
    per-example padding mask), output and per-example gradients equal a loop."""
    attn = nn.MultiHeadAttention(4, 2, dtype=numpy.float64, rng=5)
    xs = normal(3, 5, 4)
    pads = numpy.zeros((3, 5), bool)
    pads[1, 3:] = True

    def loss(m, x, pad):
        return np.sum(m(x, causal=True, key_padding_mask=pad) ** 2)

    got = cr.vmap(loss, in_axes=(None, 0, 0))(attn, xs, pads)
    numpy.testing.assert_allclose(
        got, [loss(attn, x, p) for x, p in zip(xs, pads, strict=True)], rtol=1e-12
    )
    grads = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(attn, xs, pads)
    for i in range(3):
        one = cr.grad(loss)(attn, xs[i], pads[i])
        for g, e in zip(cr.tree.leaves(grads), cr.tree.leaves(one), strict=True):
            numpy.testing.assert_allclose(g[i], e, rtol=1e-10, atol=1e-12)
