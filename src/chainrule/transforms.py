"""The transforms users call: grad, value_and_grad, jvp, vjp, linearize, the Jacobians, hessian.

Each one flattens the differentiated arguments to a list of array leaves, runs the core
(`vjp_flat` / `jvp_flat`) on a flat version of the user's function, and rebuilds pytrees.
Forward Jacobians push a whole identity basis through one pass as a batch of tangents;
reverse Jacobians map the backward pass over a basis of cotangents with `vmap`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from . import numpy as cnp
from . import tree
from .core import batching, staging
from .core.custom import _record
from .core.forward import jvp_flat
from .core.reverse import ReverseTrace, vjp_flat
from .core.staging import (
    PYTHON_NUMBERS,
    ClosureError,
    Program,
    StagedTracer,
    StagingTrace,
    strong,
)
from .core.trace import (
    ConversionError,
    ShapeError,
    Tracer,
    dtype_of,
    float_dtype,
    is_float,
    shape_of,
)

Argnums = int | Sequence[int]
_T = TypeVar("_T")

__all__ = [
    "derivative",
    "elementwise_grad",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "jvp",
    "linearize",
    "make_program",
    "value_and_grad",
    "vjp",
    "vmap",
]


# ---------------------------------------------------------------------------- helpers


def describe(fun: Callable[..., Any]) -> str:
    """A name for the user's function in error messages: `f`, or `<lambda> (file.py:12)`."""
    name = getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or repr(fun)
    name = name.rsplit("<locals>.", 1)[-1]
    code = getattr(fun, "__code__", None)
    if name.endswith("<lambda>") and code is not None:
        return f"`{name}` ({code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno})"
    return f"`{name}`"


def _param_name(fun: Callable[..., Any], i: int) -> str:
    try:
        params = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return f"argument {i}"
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = list(itertools.takewhile(lambda p: p.kind in kinds, params))  # (not `*args`)
    return f"argument {i} (`{names[i].name}`)" if i < len(names) else f"argument {i}"


def _as_input(x: Any, where: Callable[[], str]) -> Any:
    """A leaf of a differentiated argument as an array, refusing what has no derivative.

    `where` builds the "which argument" part of an error message, only when one is raised.
    """
    _refuse_masked(x, where, "differentiate")
    if isinstance(x, (np.ndarray, np.generic, Tracer)) and is_inexact(x.dtype):
        return strong(x)  # (a Python float jit traces: an array, as eagerly below)
    if isinstance(x, StagedTracer) and type(x.value) in (bool, int):
        x = x.value  # (a Python int jit traces: refused as one)
    if isinstance(x, bool) or (isinstance(x, int) and not isinstance(x, Tracer)):
        raise TypeError(
            f"{where()} is the Python {type(x).__name__} {x!r}: derivatives need floating-point "
            f"inputs. Pass {float(x)!r} instead."
        )
    if not isinstance(x, (np.ndarray, np.generic, Tracer, float, complex)):
        raise TypeError(
            f"{where()} is a {type(x).__name__}, which chainrule cannot differentiate: pass "
            "floating-point or complex NumPy arrays, Python floats, or containers of them."
        )
    dtype = dtype_of(x)
    if not is_inexact(dtype):
        raise TypeError(
            f"{where()} has dtype {dtype}; derivatives need floating-point inputs. Convert it "
            "with `x.astype(float)` (or float32), or pass it as a non-differentiated argument "
            "(see `argnums`)."
        )
    return np.asarray(x) if isinstance(x, (float, complex)) else x


def _refuse_masked(x: Any, where: Callable[[], str], what: str) -> None:
    """Refuse a masked array (`numpy.ma`) as an input of a transform that would `what` it:
    the transforms see its data alone (a program's buffers, a batch, a derivative)."""
    masked = sys.modules.get("numpy.ma")  # (not imported: no masked array exists)
    if masked is not None and isinstance(x, masked.MaskedArray):
        raise TypeError(
            f"{where()} is a masked array (numpy.ma), which chainrule cannot {what}: its "
            "rules and programs see the data, and the masked entries would count. Pass the "
            "data and the mask apart (`a.filled(0.0)` with the weights `~a.mask`, or the "
            "unmasked entries alone, `a.compressed()`), or call the function without it."
        )


def is_inexact(dtype: np.dtype[Any]) -> bool:
    """Real or complex floating point: what can be differentiated."""
    return dtype.kind == "c" or is_float(dtype)


def _require(
    values: Sequence[Any], fun: Callable[..., Any], what: str, kind: str, holomorphic: bool
) -> None:
    """JAX's dtype rules for `what` (grad, jacfwd, jacrev) on its `kind` ("inputs" or
    "outputs"): complex exactly when `holomorphic`, or for a non-holomorphic transform real
    (the reverse transforms take complex inputs: the gradient of a real-valued function of
    complex values)."""
    for v in values:
        dtype = dtype_of(v)
        if holomorphic and dtype.kind != "c":
            raise TypeError(
                f"{what} of {describe(fun)} with holomorphic=True requires {kind} with a "
                f"complex dtype, but got {dtype}. Pass complex values (`x + 0j`), or drop "
                "holomorphic=True for a real function."
            )
        if not holomorphic and dtype.kind == "c" and not (kind == "inputs" and what != "jacfwd"):
            other = "jvp" if kind == "inputs" else "vjp"
            raise TypeError(
                f"{what} of {describe(fun)} requires real-valued {kind}, but got {dtype}. "
                f"For a holomorphic function pass holomorphic=True (the result is f'(z)); "
                f"for a function that is not holomorphic, use `chainrule.{other}` directly. "
                "See the README's section on complex numbers."
            )


def _where(what: str, fun: Callable[..., Any], i: int) -> str:
    return f"{what} of {describe(fun)}: {_param_name(fun, i)}"


def _lower_from(x: Any, level: int) -> Any:
    """Strip the tracers of `level` and above: what escapes a transform as auxiliary data."""
    while isinstance(x, Tracer) and x._trace.level >= level:
        x = x.value
    return x


def _normalize_argnums(fun: Callable[..., Any], argnums: Argnums, nargs: int) -> tuple[int, ...]:
    if type(argnums) is int and 0 <= argnums < nargs:
        return (argnums,)
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if isinstance(i, bool) or not isinstance(i, int) or not -nargs <= i < nargs:
            raise ValueError(
                f"argnums={argnums!r} for {describe(fun)}, which was called with {nargs} "
                "positional argument(s)."
            )
    normal = tuple(i % nargs for i in nums)
    if not normal:
        raise ValueError(
            f"argnums=() for {describe(fun)}: there is nothing to differentiate with respect "
            "to. Name at least one positional argument."
        )
    if len(set(normal)) < len(normal):
        raise ValueError(
            f"argnums={argnums!r} for {describe(fun)} names an argument more than once; each "
            "argument gets one derivative, so list it once."
        )
    return normal


_OUTPUT_TYPES = (np.ndarray, np.generic, Tracer, float, int)


class _Flat:
    """`fun` as a function of the flat list of leaves of its differentiated arguments."""

    def __init__(
        self,
        fun: Callable[..., Any],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        argnums: tuple[int, ...],
        has_aux: bool,
        what: str,
    ) -> None:
        self.fun, self.args, self.kwargs = fun, list(args), kwargs
        self.argnums, self.has_aux, self.what = argnums, has_aux, what
        leaves: list[Any] = []
        self.arg_trees = []
        for i in argnums:
            arg_leaves, treedef = tree.flatten(args[i])
            where = functools.partial(_where, what, fun, i)
            leaves.extend(_as_input(x, where) for x in arg_leaves)
            self.arg_trees.append(treedef)
        self.primals = leaves
        self.out_tree: Any = None
        self.aux: Any = None

    def __str__(self) -> str:
        return f"{self.what} of {describe(self.fun)}"

    def split(self, leaves: Sequence[Any]) -> list[Any]:
        """Per differentiated argument, its pytree rebuilt from `leaves`."""
        if len(self.arg_trees) == 1:
            return [tree.unflatten(self.arg_trees[0], leaves)]
        out, k = [], 0
        for treedef in self.arg_trees:
            out.append(tree.unflatten(treedef, leaves[k : k + treedef.num_leaves]))
            k += treedef.num_leaves
        return out

    def __call__(self, leaves: list[Any]) -> list[Any]:
        args = list(self.args)
        for i, arg in zip(self.argnums, self.split(leaves), strict=False):
            args[i] = arg
        try:
            out = self.fun(*args, **self.kwargs)
        except ShapeError as e:
            if not e.named:
                e.args, e.named = (f"{self}: {e}",), True
            raise
        except ValueError as e:
            if isinstance(e.__cause__, ConversionError):  # NumPy's `buf[i] = traced`
                raise _store_error(self) from None
            raise
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(
                    f"{self.what} of {describe(self.fun)} with has_aux=True: the function must "
                    f"return a pair (output, auxiliary data), but it returned {type(out).__name__}."
                )
            out, aux = out
            level = max((x._trace.level for x in leaves if isinstance(x, Tracer)), default=0)
            self.aux = tree.map(lambda a: _lower_from(a, level), aux) if level else aux
        out_leaves, self.out_tree = tree.flatten(out)
        for o in out_leaves:
            if not isinstance(o, _OUTPUT_TYPES):
                raise TypeError(
                    f"{self.what} of {describe(self.fun)}: the function returned a "
                    f"{type(o).__name__}; it must return arrays, floats, or containers of them."
                )
        return out_leaves

    def pick(self, per_arg: list[Any], argnums: Argnums) -> Any:
        """One result for an int `argnums`, a tuple of results for a tuple."""
        return per_arg[0] if isinstance(argnums, int) else tuple(per_arg)


def _store_error(flat: _Flat) -> TypeError:
    return TypeError(
        f"{flat}: a traced value was stored into a NumPy array (`buf[i] = x`), which would "
        "silently drop its derivative. Build the array from traced values instead: "
        "`np.stack([...])`, `np.array([...])`, `np.concatenate`, or `np.where(mask, x, buf)`."
    )


def _wrap(
    fun: Callable[..., Any], transformed: Callable[..., Any], what: str
) -> Callable[..., Any]:
    functools.update_wrapper(transformed, fun)
    transformed.__doc__ = f"{what} of {describe(fun)}.\n\n{fun.__doc__ or ''}".rstrip()
    return transformed


def _check_like(x: Any, ref: Any, what: str) -> Any:
    """A user-given (co)tangent leaf, checked against the value it goes with.

    As in JAX, its dtype must be the one derivatives of `ref` take (`float_dtype`): an
    integer, boolean, complex or float64 tangent for a float32 value is refused rather than
    cast behind the user's back. Python numbers are weakly typed and take that dtype.
    """
    expected = float_dtype(ref)
    if isinstance(x, (bool, int, float)) or (isinstance(x, complex) and expected.kind == "c"):
        x = np.asarray(x, dtype=expected)
    elif not isinstance(x, (np.ndarray, np.generic, Tracer)):
        raise TypeError(
            f"{what} is a {type(x).__name__}; it must be an array of dtype {expected}, like "
            "the value it goes with."
        )
    if dtype_of(x) != expected:
        raise TypeError(
            f"{what} has dtype {dtype_of(x)} but must have dtype {expected}, the dtype of "
            f"derivatives of the value it goes with. Convert it with `.astype({expected})`."
        )
    if tuple(x.shape) != tuple(np.shape(ref) if not isinstance(ref, Tracer) else ref.shape):
        ref_shape = ref.shape if isinstance(ref, Tracer) else np.shape(ref)
        raise ValueError(
            f"{what} has shape {tuple(x.shape)} but must have shape "
            f"{tuple(ref_shape)}, the shape of the value it goes with."
        )
    return x


def _check_structure(given: Any, expected: Any, what: str) -> None:
    if given != expected:
        raise ValueError(f"{what}: structure {given} does not match the expected {expected}.")


def _size(x: Any) -> int:
    return math.prod(shape_of(x))


# ---------------------------------------------------------------------------- reverse mode


def value_and_grad(
    fun: Callable[..., Any],
    argnums: Argnums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """A function returning ``(fun(*args), grad(fun)(*args))`` from one forward pass.

    With ``has_aux=True``, `fun` returns ``(value, aux)`` and this returns
    ``((value, aux), gradient)``. `holomorphic` as in `grad`.

    >>> import chainrule as cr
    >>> value, slope = cr.value_and_grad(lambda x: x ** 3)(2.0)
    >>> print(value, slope)
    8.0 12.0
    """

    def value_and_grad_fun(*args: Any, **kwargs: Any) -> Any:
        nums = _normalize_argnums(fun, argnums, len(args))
        flat = _Flat(fun, args, kwargs, nums, has_aux, "grad")
        _require(flat.primals, fun, "grad", "inputs", holomorphic)
        outs, backward = vjp_flat(flat, flat.primals, once=True, holomorphic=holomorphic)
        if flat.out_tree.num_leaves != 1 or shape_of(outs[0]) != ():
            shapes = [tuple(shape_of(o)) for o in outs]
            raise TypeError(
                f"grad of {describe(fun)}: gradients are only defined for functions with a "
                f"scalar output, but it returned {_describe_outputs(flat.out_tree, shapes)}. "
                "Reduce the output to a scalar (for example with `.sum()`), or use "
                "`jacobian` / `vjp` for a vector-valued function."
            )
        _require(outs, fun, "grad", "outputs", holomorphic)
        dtype = dtype_of(outs[0])
        if not is_inexact(dtype):
            raise TypeError(
                f"grad of {describe(fun)}: the output has dtype {dtype}; it must "
                "be floating-point to be differentiated."
            )
        grads = flat.split(backward([dtype.type(1.0)]))
        value = tree.unflatten(flat.out_tree, outs)
        result = (value, flat.aux) if has_aux else value
        return result, flat.pick(grads, argnums)

    return _wrap(fun, value_and_grad_fun, "value and gradient")


def _describe_outputs(out_tree: Any, shapes: list[tuple[int, ...]]) -> str:
    if out_tree.num_leaves == 1:
        return f"an array of shape {shapes[0]}"
    return f"{out_tree.num_leaves} arrays (structure {out_tree}, shapes {shapes})"


def grad(
    fun: Callable[..., Any],
    argnums: Argnums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """The gradient of a scalar-valued `fun` with respect to argument(s) `argnums`.

    The result has the structure of the argument (a tuple of them for a tuple `argnums`).
    With ``has_aux=True`` it returns ``(gradient, aux)``.

    Complex numbers follow JAX: for a real-valued `fun` of a complex ``z = x + iy`` the
    gradient is ``df/dx - i df/dy`` (so gradient descent steps along its conjugate); with
    ``holomorphic=True``, for a holomorphic `fun` of complex inputs, it is ``f'(z)``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.grad(lambda x: x[0] ** 2 + 2 * x[1] ** 2)(np.array([3.0, 4.0]))
    array([ 6., 16.])
    >>> cr.grad(lambda z: (z * np.conj(z)).real)(3.0 + 4.0j)  # |z|^2: 2x - 2iy
    np.complex128(6-8j)
    >>> cr.grad(lambda z: z ** 2, holomorphic=True)(3.0 + 4.0j)  # 2z
    np.complex128(6+8j)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic)

    def grad_fun(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return _wrap(fun, grad_fun, "gradient")


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(fun(*primals), vjp_fn)``: `vjp_fn(cotangent)` pulls an output cotangent back.

    `vjp_fn` returns a tuple with one cotangent per primal; it can be called many times.
    With ``has_aux=True`` the result is ``(out, vjp_fn, aux)``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> out, vjp_fn = cr.vjp(lambda x: x * x, np.array([1.0, 2.0]))
    >>> vjp_fn(np.array([1.0, 10.0]))
    (array([ 2., 40.]),)
    """
    flat = _Flat(fun, primals, {}, tuple(range(len(primals))), has_aux, "vjp")
    outs, backward = vjp_flat(flat, flat.primals)
    out_tree = flat.out_tree

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        leaves, ct_tree = tree.flatten(cotangent)
        _check_structure(ct_tree, out_tree, f"the cotangent given to the vjp of {describe(fun)}")
        cts = [
            _check_like(c, o, f"the cotangent for output leaf {k} of {describe(fun)}")
            for k, (c, o) in enumerate(zip(leaves, outs, strict=False))
        ]
        return tuple(flat.split(backward(cts)))

    out = tree.unflatten(out_tree, outs)
    return (out, vjp_fn, flat.aux) if has_aux else (out, vjp_fn)


# ---------------------------------------------------------------------------- forward mode


def _flat_tangents(fun: Callable[..., Any], flat: _Flat, tangents: Sequence[Any]) -> list[Any]:
    if len(tangents) != len(flat.args):
        raise ValueError(
            f"jvp of {describe(fun)}: {len(flat.args)} primals but {len(tangents)} tangents."
        )
    leaves: list[Any] = []
    for i, (t, treedef) in enumerate(zip(tangents, flat.arg_trees, strict=False)):
        t_leaves, t_tree = tree.flatten(t)
        _check_structure(
            t_tree, treedef, f"the tangent for {_param_name(fun, i)} of {describe(fun)}"
        )
        leaves.extend(t_leaves)
    return [
        _check_like(t, p, f"the tangent for input leaf {k} of {describe(fun)}")
        for k, (t, p) in enumerate(zip(leaves, flat.primals, strict=False))
    ]


def jvp(
    fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
) -> tuple[Any, Any]:
    """``(fun(*primals), J @ tangents)``: the directional derivative, in forward mode.

    >>> import chainrule as cr
    >>> out, tangent = cr.jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
    >>> print(out, tangent)
    6.0 3.0
    """
    primals, tangents = tuple(primals), tuple(tangents)
    flat = _Flat(fun, primals, {}, tuple(range(len(primals))), False, "jvp")
    outs, touts = jvp_flat(flat, flat.primals, _flat_tangents(fun, flat, tangents))
    return tree.unflatten(flat.out_tree, outs), tree.unflatten(flat.out_tree, touts)


def linearize(fun: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(fun(*primals), jvp_fn)`` where ``jvp_fn(*tangents)`` is the JVP at `primals`.

    The function runs once; each `jvp_fn` call is one sweep over a recording of the
    backward pass, transposed (the JVP of a function is the transpose of its VJP).

    >>> import chainrule as cr
    >>> out, f_jvp = cr.linearize(lambda x: x ** 3, 2.0)
    >>> print(f_jvp(1.0))
    12.0
    """
    flat = _Flat(fun, primals, {}, tuple(range(len(primals))), False, "linearize")
    outs, backward = vjp_flat(flat, flat.primals)
    zero_cts = [np.zeros(shape_of(o), float_dtype(o)) for o in outs]
    _, transpose = vjp_flat(backward, zero_cts)
    out_tree = flat.out_tree

    def jvp_fn(*tangents: Any) -> Any:
        t_leaves = _flat_tangents(fun, flat, tangents)
        return tree.unflatten(out_tree, transpose(t_leaves))

    return tree.unflatten(out_tree, outs), jvp_fn


# ---------------------------------------------------------------------------- Jacobians


# A batch of tangents is pushed through in chunks of about this many bytes per array: one
# pass per chunk instead of one per basis vector, but arrays small enough to stay in cache.
# (For the Hessian of a 1000-dimensional function, chunks of 128 run twice as fast as one
# pass over all 1000 directions.)
_CHUNK_BYTES = 1 << 20


def _chunks(leaves: Sequence[Any]) -> list[tuple[int, int]]:
    """Ranges of basis vectors, each pushed through the function in one pass."""
    n = sum(_size(x) for x in leaves)
    width = max(n, 1) * max((np.dtype(float_dtype(x)).itemsize for x in leaves), default=8)
    step = max(16, _CHUNK_BYTES // width)
    return [(s, min(s + step, n)) for s in range(0, n, step)] or [(0, 0)]


def _basis(leaves: Sequence[Any], start: int, stop: int) -> list[Any]:
    """Rows `start:stop` of an identity basis split over `leaves`: leaf i gets shape
    ``(stop - start,) + leaf.shape``."""
    out, k = [], 0
    for x in leaves:
        s = _size(x)
        e = np.zeros((stop - start, s), float_dtype(x))
        lo, hi = max(start, k), min(stop, k + s)
        if lo < hi:
            e[np.arange(lo, hi) - start, np.arange(lo, hi) - k] = 1.0
        out.append(e.reshape((stop - start, *shape_of(x))))
        k += s
    return out


def _push_basis(push: Callable[[list[Any], int], list[Any]], leaves: Sequence[Any]) -> list[Any]:
    """``push(basis_chunk, chunk_size)`` for every chunk, results joined along the batch axis."""
    parts = [push(_basis(leaves, s, e), e - s) for s, e in _chunks(leaves)]
    if len(parts) == 1:
        return parts[0]
    return [cnp.concatenate(list(col), axis=0) for col in zip(*parts, strict=True)]


def _blocks(batched: Sequence[Any], rows_like: Sequence[Any]) -> list[list[Any]]:
    """Split each batched result ``(n,) + shape`` into per-row-leaf blocks."""
    result = []
    for b in batched:
        blocks, k = [], 0
        for r in rows_like:
            s = _size(r)
            blocks.append(b[k : k + s])
            k += s
        result.append(blocks)
    return result


def jacfwd(
    fun: Callable[..., Any],
    argnums: Argnums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """The Jacobian of `fun` by forward mode, shaped ``out.shape + in.shape``.

    All input directions go through the function in a single pass, as one batch of
    tangents. Best when the input is smaller than the output. Inputs are real, or with
    ``holomorphic=True`` complex, for a holomorphic `fun` (the Jacobian is then ``f'(z)``).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.jacfwd(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    def jacfwd_fun(*args: Any, **kwargs: Any) -> Any:
        nums = _normalize_argnums(fun, argnums, len(args))
        flat = _Flat(fun, args, kwargs, nums, has_aux, "jacfwd")
        _require(flat.primals, fun, "jacfwd", "inputs", holomorphic)
        outs: list[Any] = []

        def push(basis: list[Any], size: int) -> list[Any]:
            outs[:], touts = jvp_flat(flat, flat.primals, basis, (size,), holomorphic)
            return touts

        touts = _push_basis(push, flat.primals)
        if holomorphic:
            _require(outs, fun, "jacfwd", "outputs", holomorphic)
        per_out = []
        for o, blocks in zip(outs, _blocks(touts, flat.primals), strict=False):
            oshape = shape_of(o)
            jacs = []
            for x, blk in zip(flat.primals, blocks, strict=False):
                xshape = shape_of(x)
                blk = cnp.reshape(blk, xshape + oshape)
                perm = tuple(range(len(xshape), len(xshape) + len(oshape))) + tuple(
                    range(len(xshape))
                )
                jacs.append(cnp.transpose(blk, perm))
            per_out.append(flat.pick(flat.split(jacs), argnums))
        jac = tree.unflatten(flat.out_tree, per_out)
        return (jac, flat.aux) if has_aux else jac

    return _wrap(fun, jacfwd_fun, "Jacobian (forward mode)")


def _reverse_jacobian(flat: _Flat, argnums: Argnums, holomorphic: bool) -> Any:
    _require(flat.primals, flat.fun, "jacrev", "inputs", holomorphic)
    outs, backward = vjp_flat(flat, flat.primals, holomorphic=holomorphic)
    _require(outs, flat.fun, "jacrev", "outputs", holomorphic)
    if len(outs) == 1 and _size(outs[0]) == 1:
        rows = [backward([np.ones(shape_of(outs[0]), float_dtype(outs[0]))])]
    else:  # a batch of backward passes, one per output coordinate
        batched = _push_basis(lambda basis, size: vmap(backward)(basis), outs)
        rows = [list(r) for r in zip(*_blocks(batched, outs), strict=False)]
    per_out = []
    for o, grads in zip(outs, rows, strict=False):
        oshape = shape_of(o)
        jacs = [
            cnp.reshape(g, oshape + shape_of(x)) for g, x in zip(grads, flat.primals, strict=False)
        ]
        per_out.append(flat.pick(flat.split(jacs), argnums))
    return tree.unflatten(flat.out_tree, per_out)


def jacrev(
    fun: Callable[..., Any],
    argnums: Argnums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """The Jacobian of `fun` by reverse mode, shaped ``out.shape + in.shape``.

    One recorded forward pass; all output cotangents are pulled back together as one batch.
    Best when the output is smaller than the input. Outputs are real (inputs real or
    complex, as for `grad`), or with ``holomorphic=True`` complex, for a holomorphic `fun`
    of complex inputs (the Jacobian is then ``f'(z)``).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.jacrev(lambda x: np.array([x[0] * x[1], x[1]]))(np.array([2.0, 3.0]))
    array([[3., 2.],
           [0., 1.]])
    """

    def jacrev_fun(*args: Any, **kwargs: Any) -> Any:
        nums = _normalize_argnums(fun, argnums, len(args))
        flat = _Flat(fun, args, kwargs, nums, has_aux, "jacrev")
        jac = _reverse_jacobian(flat, argnums, holomorphic)
        return (jac, flat.aux) if has_aux else jac

    return _wrap(fun, jacrev_fun, "Jacobian (reverse mode)")


def jacobian(
    fun: Callable[..., Any], argnums: Argnums = 0, holomorphic: bool = False
) -> Callable[..., Any]:
    """The Jacobian of `fun`, by whichever mode is cheaper for its input and output sizes.

    Reverse mode when the output has no more entries than the input, forward mode otherwise
    (the function then runs once more, in forward mode). `holomorphic` as in `jacrev`;
    without it, complex inputs take reverse mode.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.jacobian(lambda x: np.sin(x))(np.zeros(2))
    array([[1., 0.],
           [0., 1.]])
    """

    def jacobian_fun(*args: Any, **kwargs: Any) -> Any:
        nums = _normalize_argnums(fun, argnums, len(args))
        flat = _Flat(fun, args, kwargs, nums, False, "jacobian")
        n = sum(_size(x) for x in flat.primals)
        outs, _ = vjp_flat(flat, flat.primals, holomorphic=holomorphic)
        forward_ok = holomorphic or not any(dtype_of(x).kind == "c" for x in flat.primals)
        if sum(_size(o) for o in outs) > n and forward_ok:
            return jacfwd(fun, argnums, holomorphic=holomorphic)(*args, **kwargs)
        return _reverse_jacobian(flat, argnums, holomorphic)

    return _wrap(fun, jacobian_fun, "Jacobian")


def hessian(
    fun: Callable[..., Any], argnums: Argnums = 0, holomorphic: bool = False
) -> Callable[..., Any]:
    """The Hessian of `fun`: forward mode over reverse mode, shaped ``out + in + in``.

    With ``holomorphic=True``, ``f''(z)`` of a holomorphic `fun` of complex inputs.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.hessian(lambda x: x[0] ** 2 + 2 * x[1] ** 2)(np.array([3.0, 4.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    inner = jacrev(fun, argnums, holomorphic=holomorphic)
    return _wrap(fun, jacfwd(inner, argnums, holomorphic=holomorphic), "Hessian")


def hvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """The Hessian-vector product ``H @ v`` of a scalar `fun`, without forming ``H``.

    Forward mode over reverse mode: the JVP of the gradient. With one primal, returns one
    product; with several, a tuple (the Hessian taken with respect to all of them).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.hvp(lambda x: np.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))
    array([ 6., 12.])
    """
    primals, tangents = tuple(primals), tuple(tangents)
    argnums: Argnums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return jvp(grad(fun, argnums), primals, tangents)[1]


def elementwise_grad(
    fun: Callable[..., Any], argnums: Argnums = 0, holomorphic: bool = False
) -> Callable[..., Any]:
    """The gradient of ``sum(fun(x))``: for an elementwise `fun`, its derivative at each entry
    (``f'(z)`` of a holomorphic `fun` of complex values with ``holomorphic=True``).

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.elementwise_grad(np.tanh)(np.array([0.0, 1.0]))
    array([1.        , 0.41997434])
    """

    def summed(*args: Any, **kwargs: Any) -> Any:
        return cnp.sum(fun(*args, **kwargs))

    return _wrap(fun, grad(summed, argnums, holomorphic=holomorphic), "elementwise gradient")


def derivative(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``f'`` of a scalar-to-scalar or elementwise `fun`, by forward mode.

    >>> import chainrule as cr
    >>> print(cr.derivative(lambda x: x ** 3)(2.0))
    12.0
    """

    def derivative_fun(x: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(x, (list, tuple, dict)):
            x = _as_input(x, lambda: f"derivative of {describe(fun)}: its argument")
        ones = np.ones(shape_of(x), float_dtype(x))
        if dtype_of(x).kind == "c":  # f'(z), which exists for a holomorphic `fun` only
            flat = _Flat(fun, (x, *args), kwargs, (0,), False, "derivative")
            touts = jvp_flat(flat, flat.primals, [ones], holomorphic=True)[1]
            return tree.unflatten(flat.out_tree, touts)
        return jvp(lambda v: fun(v, *args, **kwargs), (x,), (ones,))[1]

    return _wrap(fun, derivative_fun, "derivative")


# ---------------------------------------------------------------------------- vmap


def _axis_spec_error(what: str, spec: Any) -> TypeError:
    return TypeError(
        f"vmap {what} must be an int, None, or a tuple of entries corresponding to the "
        f"positional arguments passed to the function, but got {spec!r}."
        if what == "in_axes"
        else f"vmap out_axes must be an int, None, or a pytree prefix of the outputs with ints "
        f"and Nones at its leaves, but got {spec!r}."
    )


def _check_spec(spec: Any, what: str) -> None:
    """`in_axes` / `out_axes` hold only ints and Nones; `in_axes` is one of them or a tuple
    (JAX refuses a container there, which would describe the tuple of arguments)."""
    leaves = tree.leaves(spec)
    if what == "in_axes" and not isinstance(spec, (tuple, type(None))) and leaves != [spec]:
        raise TypeError(
            f"{_axis_spec_error(what, spec)} A container of axes for one argument goes in "
            f"that tuple: in_axes=({spec!r},)."
        )
    if any(isinstance(leaf, bool) or not isinstance(leaf, (int, np.integer)) for leaf in leaves):
        raise _axis_spec_error(what, spec)


def _prefix(spec: Any, value: Any, where: Callable[[], str]) -> list[Any]:
    """One axis (int or None) per leaf of `value`, from `spec`, a pytree prefix of it."""
    if spec is None or isinstance(spec, (int, np.integer)):
        return [spec] * len(tree.leaves(value))
    try:
        spec_kids, spec_aux = tree.flatten_one_level_with_keys(spec)
        kids, aux = tree.flatten_one_level_with_keys(value)
    except ValueError:
        spec_kids, kids, aux, spec_aux = [], [], None, 0
    if type(spec) is not type(value) or aux != spec_aux or len(kids) != len(spec_kids):
        raise ValueError(
            f"{where()}: the axis specification must be a tree prefix of the corresponding "
            f"value, but got specification {spec!r} for a value of structure "
            f"{tree.structure(value)!r}. Give one axis (or None) for the whole value, or a "
            "container of the same type, keys and length."
        )
    out: list[Any] = []
    for (key, s), (_, v) in zip(spec_kids, kids, strict=True):
        out.extend(_prefix(s, v, functools.partial(_deeper, where, key)))
    return out


def _deeper(where: Callable[[], str], key: Any) -> str:
    return f"{where()}{tree.keystr((key,))}"


def _leaf_where(fun: Callable[..., Any], names: Callable[[], list[str]], k: int) -> str:
    return f"vmap of {describe(fun)}: {names()[k]}"


def _mapped_leaf(x: Any, axis: int, where: Callable[[], str], keyword: bool) -> tuple[Any, int]:
    """A leaf mapped along `axis`: as an array, with the axis made non-negative (`where`
    names it, for an error)."""
    share = (
        "pass it by position with in_axes None, or let the function close over it (keyword "
        "arguments are always mapped along axis 0, as in JAX)"
        if keyword
        else "give it the axis None to share it between examples"
    )
    _refuse_masked(x, where, "map over")
    if not isinstance(x, (np.ndarray, np.generic, Tracer)):
        if not isinstance(x, PYTHON_NUMBERS):
            raise TypeError(
                f"{where()} is a {type(x).__name__}, which vmap cannot map over: pass arrays, "
                f"or {share}."
            )
        x = np.asarray(x)
    rank = len(shape_of(x))
    if rank == 0:
        raise ValueError(
            f"{where()}: vmap was asked to map it along axis {axis}, but it is a scalar (rank 0), "
            f"with no axis to hold the examples. Pass one value per example in an array, or "
            f"{share}."
        )
    if not -rank <= axis < rank:
        raise ValueError(
            f"{where()}: vmap was asked to map it along axis {axis}, which needs an array of "
            f"rank at least {axis + 1 if axis >= 0 else -axis}, but it has rank {rank} (shape "
            f"{tuple(shape_of(x))}). Pick an axis in [-{rank}, {rank}), or {share}."
        )
    return x, axis % rank


def _size_error(fun: Callable[..., Any], sizes: list[tuple[str, int, int]], axis_size: Any) -> Any:
    lines = [f"  * {where}: axis {axis} has size {n}" for where, axis, n in sizes]
    if axis_size is not None:
        lines.append(f"  * axis_size={axis_size}")
    return ValueError(
        f"vmap of {describe(fun)} got inconsistent sizes for the array axes to be mapped:\n"
        + "\n".join(lines)
        + "\nEvery mapped axis must have the same size (the number of examples); give the "
        "arguments that are shared between examples the axis None."
    )


def vmap(
    fun: Callable[..., Any],
    in_axes: Any = 0,
    out_axes: Any = 0,
    *,
    axis_size: int | None = None,
) -> Callable[..., Any]:
    """`fun` of one example, mapped over a batch: one call computes every example at once.

    ``vmap(f)(xs)`` equals ``np.stack([f(x) for x in xs])``, but each primitive runs once on
    the whole batch (its batching rule), as hand-batched NumPy would: a matrix-vector product
    becomes a matrix-matrix product, not a loop. As in JAX:

    - `in_axes`: the axis of each positional argument that holds the examples: an int for
      all, None for a value shared by every example, or a tuple with one entry per argument,
      each an int, None, or a pytree prefix of that argument (``({"w": None, "b": 0}, 0)``;
      a list there is read as that tuple). Negative axes count from the end. Keyword
      arguments are mapped along axis 0.
    - `out_axes`: where the batch axis goes in each output (int, or a pytree prefix of the
      outputs); None for an output that does not depend on the example.
    - `axis_size`: the number of examples, needed only when no argument is mapped.

    It composes with every transform in any order: ``vmap(grad(loss), in_axes=(None, 0, 0))``
    gives per-example gradients, ``jacfwd(vmap(f))``, ``vmap(vmap(f))`` and so on.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> cr.vmap(lambda w, x: w @ x, in_axes=(None, 0))(np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[1., 2.],
           [3., 4.]])
    >>> cr.vmap(cr.grad(lambda w, x: (w @ x) ** 2), in_axes=(None, 0))(np.ones(2), np.eye(2))
    array([[2., 0.],
           [0., 2.]])
    """
    if isinstance(in_axes, list):  # as JAX does: one entry per argument, like a tuple
        in_axes = tuple(in_axes)
    _check_spec(in_axes, "in_axes")
    _check_spec(out_axes, "out_axes")
    if axis_size is not None and (isinstance(axis_size, bool) or not isinstance(axis_size, int)):
        raise TypeError(f"vmap axis_size must be an int, but got {axis_size!r}.")

    def vmapped(*args: Any, **kwargs: Any) -> Any:
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(
                f"vmap of {describe(fun)}: in_axes has {len(in_axes)} entries, {in_axes!r}, but "
                f"the function was called with {len(args)} positional argument(s). Give one "
                "entry per positional argument (None for one shared by every example)."
            )
        specs = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        leaves, in_tree = tree.flatten((args, kwargs))
        axes: list[Any] = []
        for i, (spec, arg) in enumerate(zip(specs, args, strict=True)):
            at = functools.partial(str.format, "vmap of {}: in_axes[{}]", describe(fun), i)
            axes.extend(_prefix(spec, arg, at))
        positional = len(axes)
        axes.extend([0] * (len(leaves) - len(axes)))  # keyword arguments: axis 0
        # the leaves' names are for error messages only: found (with the signature) then
        names = functools.cache(lambda: [name for name, _ in _leaf_names(fun, args, kwargs)])
        sizes: list[tuple[int, int, int]] = []
        for k, (x, axis) in enumerate(zip(leaves, axes, strict=True)):
            if axis is not None:
                where = functools.partial(_leaf_where, fun, names, k)
                leaves[k], axes[k] = _mapped_leaf(x, int(axis), where, k >= positional)
                sizes.append((k, axes[k], shape_of(leaves[k])[axes[k]]))
        size = axis_size if axis_size is not None else (sizes[0][2] if sizes else None)
        if size is None:
            raise ValueError(
                f"vmap of {describe(fun)}: no argument is mapped (every in_axes entry is None), "
                "so the number of examples is unknown. Map at least one argument, or pass "
                "axis_size."
            )
        if any(n != size for _, _, n in sizes):
            raise _size_error(fun, [(names()[k], a, n) for k, a, n in sizes], axis_size)
        structure: list[Any] = []

        def flat(inputs: list[Any]) -> list[Any]:
            a, kw = tree.unflatten(in_tree, inputs)
            try:
                out = fun(*a, **kw)
            except ShapeError as e:
                if not e.named:
                    e.args, e.named = (f"vmap of {describe(fun)}: {e}",), True
                raise
            out_leaves, out_tree = tree.flatten(out)
            structure.append(out_tree)
            return out_leaves

        outs, dims = batching.batch_flat(flat, leaves, axes, size, f"vmap of {describe(fun)}")
        return _unbatched_outputs(fun, tree.unflatten(structure[0], outs), dims, out_axes, size)

    return _wrap(fun, vmapped, "mapped over a batch (vmap)")


def _leaf_names(fun: Callable[..., Any], args: Any, kwargs: Any) -> list[tuple[str, Any]]:
    """A readable name for every leaf of the call: ``argument 1 (`x`)['w']``, ``x=`` ..."""
    names = []
    for path, leaf in tree.leaves_with_path((args, kwargs)):
        head, rest = path[0], path[1:]
        if getattr(head, "idx", None) == 0:
            i = path[1].idx
            names.append((_param_name(fun, i) + tree.keystr(path[2:]), leaf))
        else:
            names.append((f"keyword argument {tree.keystr(rest)}", leaf))
    return names


def _unbatched_outputs(
    fun: Callable[..., Any], out: Any, dims: list[int | None], out_axes: Any, size: int
) -> Any:
    """The outputs (batched along `dims`) with their batch axes where `out_axes` puts them;
    an output that does not depend on the example is repeated along a new axis (or left
    alone, for None)."""
    leaves, out_tree = tree.flatten(out)
    axes = _prefix(out_axes, out, lambda: f"vmap of {describe(fun)}: out_axes")
    result = []
    for k, (o, d, axis) in enumerate(zip(leaves, dims, axes, strict=True)):
        if d is None and not isinstance(o, (*_OUTPUT_TYPES, complex)):
            raise TypeError(
                f"vmap of {describe(fun)}: the function returned a {type(o).__name__}; it must "
                "return arrays, numbers, or containers of them."
            )
        if axis is None:
            if d is not None:
                raise ValueError(
                    f"vmap of {describe(fun)}: output leaf {k} depends on the example, but its "
                    "out_axes entry is None, which says it does not. Give it an axis (0 stacks "
                    "the examples first), or return a value computed outside the batch."
                )
            result.append(o)
            continue
        rank = len(shape_of(o)) + (d is None)
        if not -rank <= axis < rank:
            raise ValueError(
                f"vmap of {describe(fun)}: out_axes entry {axis} for output leaf {k} is out of "
                f"range for its rank {rank} (one example's rank {rank - 1}, plus the batch). "
                f"Pick an axis in [-{rank}, {rank})."
            )
        axis = int(axis) % rank
        if d is not None:
            result.append(o if d == axis else cnp.moveaxis(o, d, axis))
        else:
            o = o if isinstance(o, Tracer) else np.asarray(o)
            shape = tuple(shape_of(o))
            result.append(
                cnp.broadcast_to(cnp.expand_dims(o, axis), (*shape[:axis], size, *shape[axis:]))
            )
    return tree.unflatten(out_tree, result)


# ---------------------------------------------------------------------------- jit


class _Compiled:
    """One entry of a `jit` cache: the program, the structure of its outputs (None for a
    single array, returned as it is) and when it was last used (a call's number)."""

    __slots__ = ("out_tree", "program", "used")

    def __init__(self, program: Program, out_tree: Any) -> None:
        self.program = program
        self.out_tree = None if out_tree == tree.flatten(0)[1] else out_tree
        self.used = 0


def _static_numbers(
    fun: Callable[..., Any], nums: Any, what: str = "static_argnums"
) -> tuple[int, ...]:
    nums = (nums,) if isinstance(nums, int) else tuple(nums)
    for i in nums:
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"jit of {describe(fun)}: {what} must be ints, got {nums!r}.")
    return nums


def _typed(static: tuple[tuple[Any, Any], ...]) -> tuple[Any, ...]:
    """Static arguments as a key of the cache: each value with its type, in tuples too (2 and
    2.0 are equal, but a program traced with one computes in another dtype)."""
    return tuple((k, _keyed(v)) for k, v in static)


def _keyed(v: Any) -> Any:
    """`v` with the type of every value in it: through tuples (named ones too), frozensets
    and dataclasses (a frozen configuration), whose own equality would not tell 2 from 2.0."""
    if isinstance(v, tuple):
        return (type(v), tuple(map(_keyed, v)))
    if isinstance(v, frozenset):
        return (frozenset, frozenset(map(_keyed, v)))
    params = getattr(type(v), "__dataclass_params__", None)  # (a dataclass's options)
    if params is not None and params.eq and not isinstance(v, type):
        fields = tuple(_keyed(getattr(v, f.name)) for f in dataclasses.fields(v))
        try:
            hash(fields)
        except TypeError:  # (a field hashed by identity, not value: the object's own hash)
            return (type(v), v)
        return (type(v), fields)
    return (type(v), v)


def _static_arguments(
    fun: Callable[..., Any], nums: Any, names: Any, kind: str = "static"
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The static (or donated) positions and names, checked against `fun`'s signature and,
    where only one is given, each completed from the other (JAX's rule)."""
    given_nums, given_names = nums is not None, names is not None
    nums = _static_numbers(fun, () if nums is None else nums, f"{kind}_argnums")
    names = () if names is None else (names,) if isinstance(names, str) else tuple(names)
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):  # (no signature to read: a builtin)
        return nums, names
    kinds = inspect.Parameter
    positional = [p.name for p in params if p.kind in (kinds.POSITIONAL_ONLY,
                                                       kinds.POSITIONAL_OR_KEYWORD)]  # fmt: skip
    by_name = {p.name: p for p in params if p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)}
    if not any(p.kind == kinds.VAR_POSITIONAL for p in params):
        for i in nums:
            if not -len(positional) <= i < len(positional):
                raise ValueError(
                    f"jit of {describe(fun)}: {kind}_argnums={nums!r}, but it takes only "
                    f"{len(positional)} positional arguments."
                )
    if not any(p.kind == kinds.VAR_KEYWORD for p in params):
        unknown = [n for n in names if n not in by_name or by_name[n].kind == kinds.POSITIONAL_ONLY]
        if unknown:
            raise ValueError(
                f"jit of {describe(fun)}: {kind}_argnames names {', '.join(map(repr, unknown))}, "
                "which it does not take by name (its parameters: "
                f"{', '.join(by_name) or 'none'})."
            )
    keywords = [n for n in positional if by_name[n].kind == kinds.POSITIONAL_OR_KEYWORD]
    if given_nums and not given_names:
        names = tuple(
            positional[i] for i in nums if 0 <= i < len(positional) and positional[i] in keywords
        )
    elif given_names and not given_nums:
        nums = tuple(positional.index(n) for n in names if n in keywords)
    return nums, names


class _Typed:
    """A key typed already (`tree.keyed`'s), which `_keyed` takes as it is: by its hash,
    then equality, as a dict compares keys."""

    __slots__ = ("hash", "key")

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key, self.hash = key, hash(key)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Typed) and self.hash == other.hash and self.key == other.key


def _signatures(fun: Callable[..., Any], leaves: list[Any]) -> tuple[Any, ...]:
    """What a program depends on of each input leaf: the shape and dtype of an array, the
    type of a Python number (its value is traced, weakly typed as NumPy takes it)."""
    return tuple([
        (x.shape, x.dtype) if type(x) is np.ndarray else _signature_of(fun, x, k)
        for k, x in enumerate(leaves)
    ])  # fmt: skip


def _split(nums: tuple[int, ...], n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The positions among `n` arguments that `nums` makes static (in its order) and the
    others."""
    static = tuple(i % n for i in nums if -n <= i < n)
    return static, tuple(i for i in range(n) if i not in static)


def _signature_of(fun: Callable[..., Any], leaf: Any, k: int) -> Any:
    _refuse_masked(leaf, lambda: f"jit of {describe(fun)}: input leaf {k}", "compile")
    if isinstance(leaf, (np.ndarray, np.generic)):
        return (leaf.shape, leaf.dtype)
    if isinstance(leaf, PYTHON_NUMBERS):
        return type(leaf)
    raise TypeError(
        f"jit of {describe(fun)}: input leaf {k} is a {type(leaf).__name__}, which a compiled "
        "program cannot take as an input. Pass arrays or numbers, or name the argument in "
        "static_argnums / static_argnames (it is then part of the cache key, and a new value "
        "traces the function again)."
    )


def jit(
    fun: Callable[..., Any] | None = None,
    static_argnums: int | Sequence[int] | None = None,
    static_argnames: str | Sequence[str] | None = None,
    *,
    donate_argnums: int | Sequence[int] | None = None,
    donate_argnames: str | Sequence[str] | None = None,
    inline: bool = False,
    cache_size: int = 64,
) -> Any:
    """`fun` traced once per input signature into a program, then replayed as plain NumPy.

    The first call with given shapes and dtypes (and values of the static arguments) runs
    `fun` while recording every primitive it applies: the forward pass, and the backward
    pass of any `grad` inside. Later calls with the same signature replay that program, one
    NumPy call per line, without tracers or tape. As in JAX:

    - values computed from the inputs, even those a rule derives (ReLU's mask), are
      recomputed on every call; Python values that do not depend on them are frozen;
    - Python control flow on a traced value raises (use `np.where`, or `static_argnums`);
    - side effects (printing, appending to a list) happen once, while tracing.

    Called under `vmap` (`vmap(jit(f))`), it replays the compiled program of `jit(vmap(f))`
    for those batch axes; under `grad` (first order: `grad(jit(f))`), a program of `f` and
    one of its pullback (which recomputes the forward values it needs); under other
    transforms (`jvp`, higher orders), it runs `fun` under them, uncompiled. Programs are
    pruned (dead lines, in loop bodies and branches too; repeated lines; ``g * 1``, and
    ``g + 0`` of integers), free each value after its last use
    where the values are large enough to matter, and write results into the buffers of
    intermediates that die (where values are large, they recompute cheap ones rather than
    keep them). Checks that refuse an input (a singular matrix, a label out of range) are
    lines too, run on every call. The cache keeps the `cache_size` programs used last:
    ``jitted.programs()`` lists them (`make_program` prints one), ``jitted.clear_cache()``
    empties it.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> step = cr.jit(cr.grad(lambda x: np.sum(np.maximum(x, 0.0) ** 2)))
    >>> step(np.array([-1.0, 2.0]))
    array([0., 4.])
    >>> step(np.array([3.0, -4.0]))  # replayed: the mask is recomputed
    array([6., 0.])

    Static arguments are named by position or by name, as in JAX: where only one of
    `static_argnums` and `static_argnames` is given, the other follows from `fun`'s
    signature, so a static argument may be passed either way. Without `fun`, ``jit(...)``
    returns a decorator. `donate_argnums`, `donate_argnames` (leave those arrays to the
    program) and `inline` are accepted as JAX's and change nothing: a program writes its
    results into arrays of its own, and a jitted function called inside another's tracing
    is traced into it.
    """
    if fun is None:
        return functools.partial(
            jit, static_argnums=static_argnums, static_argnames=static_argnames,
            donate_argnums=donate_argnums, donate_argnames=donate_argnames, inline=inline,
            cache_size=cache_size,
        )  # fmt: skip
    if not callable(fun):
        raise TypeError(f"jit: expected a callable to compile, got {type(fun).__name__} {fun!r}.")
    nums, names = _static_arguments(fun, static_argnums, static_argnames)
    _static_arguments(fun, donate_argnums, donate_argnames, "donate")  # (checked only)
    # least recently used out first: each entry notes its last call (one lookup per call;
    # moving it to an end would compare its key a second time)
    cache: dict[Any, _Compiled] = {}
    calls = itertools.count(1)
    splits: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def jitted(*args: Any, **kwargs: Any) -> Any:
        key: Any = None
        if not kwargs and not nums:
            # the common call, arrays by position: keyed by their shapes and dtypes alone
            key = tuple([(a.shape, a.dtype) for a in args if type(a) is np.ndarray])
            entry = cache.get(key) if len(key) == len(args) else None
            if entry is not None:
                entry.used = next(calls)
                outs = entry.program(args)
                return outs[0] if entry.out_tree is None else tree.unflatten(entry.out_tree, outs)
            if len(key) != len(args):
                key = None
        split = splits.get(len(args))
        if split is None:  # the static and the other positions, for this many arguments
            split = splits[len(args)] = _split(nums, len(args))
        static: tuple[tuple[Any, Any], ...] = tuple([(i, args[i]) for i in split[0]])
        dynamic = [args[i] for i in split[1]]
        dyn_kw = {}
        if kwargs:
            static += tuple((k, kwargs[k]) for k in names if k in kwargs)
            dyn_kw = {k: v for k, v in kwargs.items() if k not in names}
        leaves: list[Any] = []
        structure: list[Any] = []  # with the arrays' shapes and dtypes, as a flat key
        others: list[int] = []  # (the leaves that are not arrays)
        tree.keyed((dynamic, dyn_kw) if dyn_kw else dynamic, leaves, structure, others)
        if others and any(isinstance(leaves[i], Tracer) for i in others):  # in a transform
            in_tree = tree.structure((dynamic, dyn_kw))
            reverse = _lone(leaves, ReverseTrace)
            if reverse is not None:
                # arrays by position: their number tells the structure (comparing costs)
                plain = not kwargs and all(isinstance(a, np.ndarray | Tracer) for a in args)
                shape = len(args) if plain else tuple(structure)  # (with the aux data's types)
                out = differentiated(reverse, static, len(args), in_tree, leaves, shape)
                if out is not None:
                    return out
            trace = _lone(leaves, batching.BatchTrace)
            if trace is None:  # (jvp, higher orders...): `fun` runs under it
                return fun(*args, **kwargs)
            dims = tuple(x.bdim if isinstance(x, batching.BatchTracer) else None for x in leaves)
            values = [x.value if isinstance(x, Tracer) else x for x in leaves]
            if not batched:
                batched.append(jit(vmapped, static_argnums=0, cache_size=cache_size))
            # (the flat structure too, which keys the aux data with its types)
            spec = (in_tree, static, len(args), dims, _Typed(tuple(structure)))
            out = batched[0](spec, *values)
            return tree.map(lambda v: trace.wrap(v, 0), out)
        try:
            if key is None:
                key = (tuple(structure), _typed(static) if static else ())
                if others:  # (numbers, or leaves a program refuses: `_signature_of`)
                    key += tuple([_signature_of(fun, leaves[i], i) for i in others])
            entry = cache.get(key)
        except TypeError as e:
            if "unhashable" not in str(e):
                raise
            raise TypeError(
                f"jit of {describe(fun)}: a static argument is not hashable ({e}); static "
                "arguments key the cache, so pass tuples rather than lists or arrays."
            ) from None
        if entry is not None:
            entry.used = next(calls)
            outs = entry.program(leaves)
            return outs[0] if entry.out_tree is None else tree.unflatten(entry.out_tree, outs)
        in_tree = tree.structure((dynamic, dyn_kw))
        outs, entry = _trace_program(fun, static, len(args), in_tree, leaves)
        entry.used = next(calls)
        cache[key] = entry
        if len(cache) > cache_size:
            del cache[min(cache, key=lambda k: cache[k].used)]
        return outs[0] if entry.out_tree is None else tree.unflatten(entry.out_tree, outs)

    def differentiated(
        trace: ReverseTrace, static: tuple[tuple[Any, Any], ...], nargs: int, in_tree: Any,
        leaves: list[Any], shape: Any,
    ) -> Any:  # fmt: skip
        """The call under `grad` alone (first order): one node of its tape, whose forward
        value is this function's program and whose backward pass is the compiled program of
        `fun`'s pullback (recomputing the forward values it needs). None where no program
        can stand for `fun` (it closes over a traced value, or has a non-float output)."""
        traced = tuple(i for i, x in enumerate(leaves) if isinstance(x, Tracer))
        vals, parents, _ = trace.unwrap(leaves)
        key = (shape, _typed(static), nargs, traced, _signatures(fun, vals))
        pair = pullbacks.get(key, pullbacks)  # (the dict itself: not there yet)
        if pair is pullbacks:
            pair = pullbacks[key] = _pullback_programs(fun, static, nargs, in_tree, vals, traced)
            if len(pullbacks) > cache_size:
                del pullbacks[next(iter(pullbacks))]
        if pair is None:
            return None
        forward, pullback = pair
        out = forward.program(vals)

        def backward(g: list[Any]) -> list[Any]:
            if any(  # a higher order, or cotangents unlike the outputs: `fun`'s own pullback
                isinstance(c, Tracer) or getattr(c, "dtype", None) != o.dtype
                or np.shape(c) != o.shape
                for c, o in zip(g, out, strict=True)
            ):  # fmt: skip
                return _pullback(fun, static, nargs, in_tree, traced, forward.out_tree)(*vals, *g)
            return pullback.program([*vals, *g])

        return _unflattened(forward.out_tree, _record(trace, vals, parents, out, backward))

    pullbacks: dict[Any, Any] = {}  # (forward, pullback) programs under `grad`, by signature

    def vmapped(spec: Any, *values: Any) -> Any:
        """`fun` mapped over the batch axes `spec` gives its input leaves (see `_rebuild`)."""
        in_tree, static, nargs, dims, _ = spec

        def flat(*leaves: Any) -> Any:
            a, kw = _rebuild(in_tree, static, nargs, leaves)
            return fun(*a, **kw)

        return vmap(flat, dims)(*values)

    vmapped.__qualname__ = f"vmap of {describe(fun)}"
    batched: list[Any] = []  # jit(vmapped), made on the first call under `vmap`

    def programs() -> list[Program]:
        """The programs in the cache, first traced first (then those of calls under `grad`, a
        forward and a pullback program each, and under `vmap`)."""
        under_grad = [c.program for pair in pullbacks.values() if pair for c in pair]
        return (
            [e.program for e in cache.values()]
            + under_grad
            + [p for b in batched for p in b.programs()]
        )

    def clear_cache() -> None:
        cache.clear()
        pullbacks.clear()
        batched.clear()

    jitted.programs = programs  # type: ignore[attr-defined]
    jitted.clear_cache = clear_cache  # type: ignore[attr-defined]
    return _wrap(fun, jitted, "compiled (jit)")


def _lone(leaves: list[Any], kind: type[_T]) -> _T | None:
    """The trace of type `kind` whose tracers of plain arrays (or NumPy scalars) are all the
    traced `leaves`, if there is one: a call under it alone can run compiled programs on the
    plain values."""
    tracers = [x for x in leaves if isinstance(x, Tracer)]
    trace = tracers[0]._trace
    if not isinstance(trace, kind) or trace.ended:
        return None
    if all(
        x._trace is trace and (type(x.value) is np.ndarray or isinstance(x.value, np.generic))
        for x in tracers
    ):
        return trace
    return None


def _unflattened(out_tree: Any, outs: list[Any]) -> Any:
    return outs[0] if out_tree is None else tree.unflatten(out_tree, outs)


def _pullback(
    fun: Callable[..., Any], static: tuple[tuple[Any, Any], ...], nargs: int, in_tree: Any,
    traced: tuple[int, ...], out_tree: Any,
) -> Callable[..., list[Any]]:  # fmt: skip
    """``(*leaves, *cotangents) -> cotangents of the traced leaves``, by `vjp` of `fun`."""

    def pullback(*args: Any) -> list[Any]:
        n = len(args) - (1 if out_tree is None else out_tree.num_leaves)
        values, g = list(args[:n]), list(args[n:])

        def part(*tv: Any) -> Any:
            for i, t in zip(traced, tv, strict=True):
                values[i] = t
            a, kw = _rebuild(in_tree, static, nargs, values)
            return fun(*a, **kw)

        _, pull = vjp(part, *[values[i] for i in traced])
        return list(pull(_unflattened(out_tree, g)))

    return pullback


def _pullback_programs(
    fun: Callable[..., Any], static: tuple[tuple[Any, Any], ...], nargs: int, in_tree: Any,
    vals: list[Any], traced: tuple[int, ...],
) -> tuple[_Compiled, _Compiled] | None:  # fmt: skip
    """The programs of `fun` on input leaves like `vals`, and of its pullback with respect
    to the `traced` leaves; None if there are none (see `jit`'s `differentiated`)."""
    try:
        outs, forward = _trace_program(fun, static, nargs, in_tree, vals)
    except ClosureError:
        return None
    if not all(isinstance(o, (np.ndarray, np.generic)) and o.dtype.kind == "f" for o in outs):
        return None
    flat = [*vals, *outs]
    pull = _pullback(fun, static, nargs, in_tree, traced, forward.out_tree)
    _, backward = _trace_program(pull, (), len(flat), tree.flatten((flat, {}))[1], flat)
    if backward.out_tree is None or backward.out_tree.num_leaves != len(traced):
        return None
    return forward, backward


def _rebuild(
    in_tree: Any, static: tuple[tuple[Any, Any], ...], nargs: int, leaves: Sequence[Any]
) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword arguments of a call, from its input leaves (the dynamic
    arguments, flattened to `in_tree`) and its static arguments (pairs of position or name
    and value)."""
    dynamic, dyn_kw = tree.unflatten(in_tree, list(leaves))
    fixed = dict(static)
    it = iter(dynamic)
    args = [fixed[i] if i in fixed else next(it) for i in range(nargs)]
    return args, {**{k: v for k, v in static if isinstance(k, str)}, **dyn_kw}


def _trace_program(
    fun: Callable[..., Any], static: tuple[tuple[Any, Any], ...], nargs: int, in_tree: Any,
    leaves: list[Any],
) -> tuple[list[Any], _Compiled]:  # fmt: skip
    """Run `fun` once on staged inputs: its outputs (this call's values) and its program."""
    trace = StagingTrace(f"jit of {describe(fun)}")
    full, kw = _rebuild(in_tree, static, nargs, [trace.new_input(x) for x in leaves])
    with staging.recording(trace, staging.TRACINGS):
        out = fun(*full, **kw)
    out_leaves, out_tree = tree.flatten(out)
    values, refs = [], []
    for o in out_leaves:
        if isinstance(o, StagedTracer) and o._trace is trace:
            values.append(o.value)
            refs.append(o.ref)
        elif isinstance(o, Tracer):
            raise TypeError(
                f"jit of {describe(fun)} returned a value traced by a transform opened inside "
                "it that had already returned (a leaked tracer)."
            )
        else:  # a constant: the program keeps its own copy, the caller gets this one
            values.append(o)
            refs.append(o.copy() if isinstance(o, np.ndarray) else o)
    return values, _Compiled(Program(trace.inputs, trace.equations, refs), out_tree)


def make_program(
    fun: Callable[..., Any], static_argnums: int | Sequence[int] = ()
) -> Callable[..., Program]:
    """A function that traces `fun` on its arguments and returns the program (JAX's
    `make_jaxpr`): print it to read the forward and backward passes as straight-line code.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> print(cr.make_program(cr.grad(lambda x: np.sum(np.sin(x) * x)))(np.zeros(3)))
    { lambda v0:float64[3] ;
        v1:float64[3] = sin v0
        v6:float64[3] = cos v0
        v7:float64[3] = multiply v0 v6
        v8:float64[3] = add v1 v7
      in ( v8 ) }
    """
    jitted = jit(fun, static_argnums)

    def traced(*args: Any, **kwargs: Any) -> Program:
        jitted.clear_cache()
        jitted(*args, **kwargs)
        (program,) = jitted.programs()
        return program

    return _wrap(fun, traced, "program")
