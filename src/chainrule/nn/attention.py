"""Attention: `scaled_dot_product_attention`, `causal_mask` and `MultiHeadAttention`.

Masks follow one convention everywhere: a boolean mask is True where a query *may attend* to
a key (as ``torch.nn.functional.scaled_dot_product_attention``; note that
``torch.nn.MultiheadAttention``'s boolean ``attn_mask`` means the opposite), and a float mask
is added to the scores (``-inf`` forbids). The exception is ``key_padding_mask``, which says
what its name says: True marks padding keys, to be ignored (as PyTorch).

A query row whose every key is masked would be ``0/0`` (NaN) in a plain softmax; here it gets
zero weights and a zero output, and a zero gradient, so padding-only rows are harmless.

>>> import numpy as np
>>> from chainrule import nn
>>> x = np.ones((2, 5, 8), dtype=np.float32)
>>> attn = nn.MultiHeadAttention(8, num_heads=2, rng=0)
>>> attn(x, causal=True).shape
(2, 5, 8)
"""

from __future__ import annotations

import math
from typing import Any

import chainrule.numpy as cnp
from chainrule._seed import draws_from
from chainrule._validate import count, float_dtype
from chainrule.core.trace import Tracer
from chainrule.scipy import special

from .layers import DType, Linear, Rng, _uniform
from .module import Module

__all__ = ["MultiHeadAttention", "causal_mask", "scaled_dot_product_attention"]


def causal_mask(n: int, m: int | None = None) -> Any:
    """The boolean ``(n, m)`` mask (``m = n`` by default) that lets query `i` see keys ``j <= i``.

    >>> causal_mask(3)
    array([[ True, False, False],
           [ True,  True, False],
           [ True,  True,  True]])
    """
    return cnp.tri(
        count(n, "n", "causal_mask"), n if m is None else count(m, "m", "causal_mask"), dtype=bool
    )


def _apply_mask(scores: Any, mask: Any) -> tuple[Any, Any]:
    """`scores` with `mask` applied, and where every key of a row is masked (or None)."""
    if getattr(mask, "dtype", None) is None:
        mask = cnp.asarray(mask)
    try:
        fits = cnp.broadcast_shapes(mask.shape, scores.shape) == tuple(scores.shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"attention: mask of shape {tuple(mask.shape)} does not broadcast to the scores' "
            f"shape {tuple(scores.shape)} (..., queries, keys)."
        )
    kind = cnp.dtype(mask.dtype).kind
    if kind == "b":
        dead = ~cnp.any(mask, axis=-1, keepdims=True)
        scores = cnp.where(mask, scores, -cnp.inf)
    elif kind == "f":
        dead = cnp.all(cnp.isneginf(mask), axis=-1, keepdims=True)
        scores = scores + (mask if mask.dtype == scores.dtype else mask.astype(scores.dtype))
    else:
        raise TypeError(
            f"attention: mask must be boolean (True = may attend) or float (added to the "
            f"scores), got dtype {mask.dtype}."
        )
    # A batched mask (under vmap) keeps `dead`: no shortcut may read another example.
    return scores, (dead if isinstance(dead, Tracer) or cnp.any(dead) else None)


def scaled_dot_product_attention(q: Any, k: Any, v: Any, mask: Any = None) -> tuple[Any, Any]:
    """``softmax(q kᵀ / sqrt(d)) v`` over the last two axes; returns ``(output, weights)``.

    Shapes: `q` ``(..., L, d)``, `k` ``(..., S, d)``, `v` ``(..., S, dv)``, leading axes
    broadcast; the output is ``(..., L, dv)`` and the weights ``(..., L, S)``. `mask`
    broadcasts to ``(..., L, S)``: boolean (True = may attend) or float (added to the
    scores). A row with no key left gets zero weights and a zero output.

    >>> import numpy as np
    >>> q = k = np.eye(2)
    >>> v = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> out, w = scaled_dot_product_attention(q, k, v, mask=causal_mask(2))
    >>> out.round(4)
    array([[1.    , 0.    ],
           [0.3302, 0.6698]])
    """
    if cnp.ndim(q) < 2 or cnp.ndim(k) < 2 or cnp.ndim(v) < 2:
        raise ValueError("attention: q, k and v need at least 2 axes (..., sequence, features).")
    d = q.shape[-1]
    if k.shape[-1] != d or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"attention: q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)} do not "
            "fit: q and k need the same feature size, k and v the same sequence length."
        )
    scores = (q * (1.0 / math.sqrt(d))) @ cnp.swapaxes(k, -1, -2)
    dead = None
    if mask is not None:
        scores, dead = _apply_mask(scores, mask)
    if dead is None:
        weights = special.softmax(scores, axis=-1)
    else:
        weights = cnp.where(dead, 0.0, special.softmax(cnp.where(dead, 0.0, scores), axis=-1))
    return weights @ v, weights


def _combine(masks: list[Any]) -> Any:
    """One mask from several: booleans and'ed; floats added (booleans then as 0 / -inf)."""
    masks = [m if getattr(m, "dtype", None) is not None else cnp.asarray(m) for m in masks]
    allowed = None
    total = None
    for m in masks:
        if m.dtype == bool:
            allowed = m if allowed is None else allowed & m
        else:
            total = m if total is None else total + m
    if total is None:
        return allowed
    return total if allowed is None else cnp.where(allowed, total, -cnp.inf)


def _heads(x: Any, num_heads: int) -> Any:
    """``(..., n, e) -> (..., num_heads, n, e / num_heads)``."""
    shape = tuple(x.shape)
    x = cnp.reshape(x, (*shape[:-1], num_heads, shape[-1] // num_heads))
    return cnp.swapaxes(x, -2, -3)


class MultiHeadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017), as ``torch.nn.MultiheadAttention``.

    Inputs are ``(..., seq, embed_dim)`` with any leading batch axes (PyTorch's
    ``batch_first=True`` layout). Each projection is a `Linear` of shape
    ``(embed_dim, embed_dim)`` in PyTorch's ``x @ W.T`` layout, initialised as PyTorch:
    q/k/v weights Xavier-uniform over the packed ``(3E, E)`` matrix, out weights
    ``U(±1/sqrt(E))``, all biases zero. PyTorch's weights load as they are:
    ``in_proj_weight`` is ``[q_proj.weight; k_proj.weight; v_proj.weight]`` (rows), and
    ``out_proj.weight`` is ``out_proj.weight``.

    ``attn(query, key=None, value=None, *, mask=None, causal=False, key_padding_mask=None,
    need_weights=False, average_weights=True)``:

    - `key` defaults to `query` (self-attention) and `value` to `key`;
    - `mask` broadcasts to ``(..., num_heads, L, S)`` (so a per-example mask is
      ``(B, 1, L, S)``): boolean True = may attend, or float added to the scores;
    - ``causal=True`` also applies ``causal_mask(L, S)``;
    - `key_padding_mask` ``(..., S)``: True marks padding keys, which no query sees;
    - returns the output ``(..., L, embed_dim)``, or with ``need_weights=True`` the pair
      ``(output, weights)``: weights ``(..., L, S)`` averaged over heads, or
      ``(..., num_heads, L, S)`` with ``average_weights=False``.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> attn = nn.MultiHeadAttention(4, num_heads=2, rng=0)
    >>> x = np.ones((3, 6, 4), dtype=np.float32)
    >>> pad = np.arange(6) >= np.array([[6], [4], [2]])  # lengths 6, 4, 2
    >>> out, w = attn(x, key_padding_mask=pad, need_weights=True)
    >>> out.shape, w.shape, w[2, 0].round(2)
    ((3, 6, 4), (3, 6, 6), array([0.5, 0.5, 0. , 0. , 0. , 0. ], dtype=float32))
    """

    q_proj: Linear
    k_proj: Linear
    v_proj: Linear
    out_proj: Linear
    num_heads: int

    def __init__(
        self,
        embed_dim: int | None = None,
        num_heads: int | None = None,
        *,
        bias: bool = True,
        rng: Rng = None,
        dtype: DType = cnp.float32,
        q_proj: Linear | None = None,
        k_proj: Linear | None = None,
        v_proj: Linear | None = None,
        out_proj: Linear | None = None,
    ) -> None:
        heads = count(num_heads, "num_heads", "MultiHeadAttention")
        given = (q_proj, k_proj, v_proj, out_proj)
        if all(p is None for p in given):
            e = count(embed_dim, "embed_dim", "MultiHeadAttention")
            dt = float_dtype(dtype, "dtype", "MultiHeadAttention")
            gen = draws_from(rng, "MultiHeadAttention", "rng")

            def projection(bound: float) -> Linear:
                return Linear(
                    weight=_uniform(gen, bound, (e, e), dt),
                    bias=cnp.zeros(e, dt) if bias else None,
                )

            in_bound = math.sqrt(6.0 / (e + 3 * e))
            q_proj, k_proj, v_proj = (projection(in_bound) for _ in range(3))
            out_proj = projection(1.0 / math.sqrt(e))
        elif not all(isinstance(p, Linear) for p in given):
            raise TypeError("MultiHeadAttention: give all four projections as Linear layers.")
        assert q_proj is not None and k_proj is not None
        assert v_proj is not None and out_proj is not None
        e = q_proj.in_features
        if embed_dim is not None and embed_dim != e:
            raise ValueError(f"MultiHeadAttention: embed_dim={embed_dim}, but q_proj has {e}.")
        for p in (q_proj, k_proj, v_proj, out_proj):
            if p.weight.shape != (e, e):
                raise ValueError(
                    f"MultiHeadAttention: every projection must be ({e}, {e}), got "
                    f"{tuple(p.weight.shape)}."
                )
        if e % heads:
            raise ValueError(
                f"MultiHeadAttention: embed_dim={e} must be divisible by num_heads={heads}."
            )
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = q_proj, k_proj, v_proj, out_proj
        self.num_heads = heads

    @property
    def embed_dim(self) -> int:
        """The feature size of the inputs and outputs."""
        return self.q_proj.in_features

    def __call__(
        self,
        query: Any,
        key: Any = None,
        value: Any = None,
        *,
        mask: Any = None,
        causal: bool = False,
        key_padding_mask: Any = None,
        need_weights: bool = False,
        average_weights: bool = True,
        rng: Any = None,
    ) -> Any:
        key = query if key is None else key
        value = key if value is None else value
        h = self.num_heads
        q = _heads(self.q_proj(query), h)
        k = _heads(self.k_proj(key), h)
        v = _heads(self.v_proj(value), h)
        n_q, n_k = q.shape[-2], k.shape[-2]
        masks = [] if mask is None else [mask]
        if causal:
            masks.append(causal_mask(n_q, n_k))
        if key_padding_mask is not None:
            masks.append(self._padding(key_padding_mask, n_k))
        out, weights = scaled_dot_product_attention(q, k, v, _combine(masks) if masks else None)
        out = cnp.swapaxes(out, -2, -3)
        out = self.out_proj(cnp.reshape(out, (*out.shape[:-2], self.embed_dim)))
        if not need_weights:
            return out
        return out, (cnp.mean(weights, axis=-3) if average_weights else weights)

    @staticmethod
    def _padding(key_padding_mask: Any, n_k: int) -> Any:
        """``(..., S)`` padding flags -> a mask ``(..., 1, 1, S)`` in the attend convention."""
        pad = key_padding_mask
        if getattr(pad, "dtype", None) is None:
            pad = cnp.asarray(pad)
        if pad.shape[-1:] != (n_k,):
            raise ValueError(
                f"MultiHeadAttention: key_padding_mask must be (..., {n_k}) for {n_k} keys, "
                f"got shape {tuple(pad.shape)}."
            )
        pad = cnp.reshape(pad, (*pad.shape[:-1], 1, 1, n_k))
        return cnp.logical_not(pad) if pad.dtype == bool else pad
