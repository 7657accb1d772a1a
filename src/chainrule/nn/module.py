"""Models are pytrees: a `Module` is a dataclass whose array fields are its parameters.

So ``cr.grad(loss)(model, x, y)`` returns a gradient shaped like the model, an optimizer
updates a model with ``tree.map``, and a model is saved as its arrays. A field is a
*parameter* (a pytree child) when its value holds arrays: a NumPy float array, a traced
value, another module, or a list / tuple / dict of those. Every other field (sizes, flags,
an activation function, a rate) is *static*: part of the structure, never differentiated.
Static values compare with their types: a module with ``k=2`` and one with ``k=2.0`` have
two structures, as `jit` traces them apart (they compute in different dtypes).

>>> import numpy as np
>>> from chainrule import nn
>>> class Scale(nn.Module):
...     w: np.ndarray
...     name: str = "scale"
...     def __call__(self, x):
...         return self.w * x
>>> Scale(np.ones(3))
Scale(w=f64[3], name='scale')  # 3 parameters
"""

from __future__ import annotations

import dataclasses
import operator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from chainrule import tree
from chainrule.core.trace import Tracer, is_float

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:  # only type checkers need to know that subclasses are dataclasses

    def dataclass_transform(**kwargs: Any) -> Any:
        return lambda cls: cls


__all__ = ["Module", "count_parameters"]


def _holds_arrays(value: Any) -> bool:
    """Whether `value` is, or contains, a parameter array (so it is a pytree child)."""
    cls = type(value)
    if cls is np.ndarray:  # the common case first: flattening is on every step
        return is_float(value.dtype)
    kind = _KINDS.get(cls)
    if kind is None:
        kind = _KINDS[cls] = _kind(cls)
    if kind == _ARRAY:
        return is_float(value.dtype)
    if kind == _ITEMS:
        return any(map(_holds_arrays, value.values() if isinstance(value, dict) else value))
    return kind == _ALWAYS


_NEVER, _ALWAYS, _ARRAY, _ITEMS = range(4)
_KINDS: dict[type, int] = {}  # what a value's type says of it (once per type: this is on
# every flatten of a module, so on every call of a jitted training step)


def _kind(cls: type) -> int:
    if issubclass(cls, (Module, Tracer)):
        return _ALWAYS
    if issubclass(cls, (np.ndarray, np.generic)):
        return _ARRAY
    return _ITEMS if issubclass(cls, (list, tuple, dict)) else _NEVER


class _Static:
    """The static fields of a module: compared by value, hashed by name (values may be lists)."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[tuple[str, Any], ...]) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Static) or len(self.items) != len(other.items):
            return False
        for (name, a), (other_name, b) in zip(self.items, other.items, strict=True):
            if name != other_name or not _same(a, b):
                return False
        return True

    def __hash__(self) -> int:
        return hash(tuple(name for name, _ in self.items))

    def __repr__(self) -> str:
        return ", ".join(f"{name}={value!r}" for name, value in self.items)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if tree._types(a) != tree._types(b):  # (2 and 2.0 are equal, but a program traced
        return False  # with one computes in another dtype: `jit` must not take one for the other)
    try:
        return bool(np.array_equal(a, b)) if isinstance(a, np.ndarray) else bool(a == b)
    except (TypeError, ValueError):
        return False


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


class _Aux(tuple):
    """A module's aux data, ``(names, _Static)``: a tuple whose static values compare with
    their types already, so that `jit`'s key need not read the types again (`tree._types`
    sees one type, not a tuple to go through)."""

    __slots__ = ()


_LAST_AUX: dict[type, _Aux] = {}


def _flatten(module: Module) -> tuple[list[Any], _Aux]:
    children, names, static = [], [], []
    for name in _field_names(type(module)):
        value = getattr(module, name)
        if _holds_arrays(value):
            children.append(value)
            names.append(name)
        else:
            static.append((name, value))
    return children, _aux(type(module), tuple(names), tuple(static))


def _aux(cls: type, names: tuple[str, ...], static: tuple[tuple[str, Any], ...]) -> _Aux:
    """A module's aux data: that of the class's last flatten where it has the same names and
    the very same static values, so that comparing the structures of two calls (as `jit`
    does on every call) finds one object and compares nothing."""
    last = _LAST_AUX.get(cls)
    if (
        last is not None and last[0] == names and len(last[1].items) == len(static)
        and all(map(operator.is_, map(_value, last[1].items), map(_value, static)))
    ):  # fmt: skip
        return last
    aux = _LAST_AUX[cls] = _Aux((names, _Static(static)))
    return aux


_value = operator.itemgetter(1)


def _flatten_with_keys(module: Module) -> tuple[list[tuple[Any, Any]], Any]:
    children, aux = _flatten(module)
    return [(tree.GetAttrKey(n), c) for n, c in zip(aux[0], children, strict=True)], aux


def _unflatten(cls: type[Module], aux: tuple[tuple[str, ...], _Static], children: Any) -> Module:
    # No __init__: it would re-initialise parameters, and must not see traced values.
    module = object.__new__(cls)
    names, static = aux
    for name, value in zip(names, children, strict=True):
        object.__setattr__(module, name, value)
    for name, value in static.items:
        object.__setattr__(module, name, value)
    return module


@dataclass_transform(eq_default=False)
class Module:
    """Base class of models and layers: subclasses become dataclasses and pytrees.

    Declare fields with annotations; write ``__init__`` yourself when the constructor takes
    sizes and a seed rather than arrays (as `Linear` does), or let the dataclass make one.
    Modules are treated as immutable: to change one, build a new one (``tree.map``,
    ``dataclasses.replace``).
    """

    _registered: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(cls, repr=False, eq=False)
        tree.register_with_keys(
            cls, _flatten_with_keys, lambda aux, children: _unflatten(cls, aux, children), _flatten
        )

    def parameters(self) -> list[Any]:
        """The parameter arrays, in pytree order."""
        return tree.leaves(self)

    def __repr__(self) -> str:
        return f"{_show(self, 0)}  # {count_parameters(self):,} parameters"


def count_parameters(model: Any) -> int:
    """The number of scalar parameters in a pytree (a model, or its gradient)."""
    return sum(int(np.size(leaf)) for leaf in tree.leaves(model))


def _show(value: Any, depth: int) -> str:
    """A compact, indented picture: arrays as ``f32[64,10]``, modules nested."""
    if isinstance(value, Module):
        parts = [
            f"{f.name}={_show(getattr(value, f.name), depth + 1)}"
            for f in dataclasses.fields(value)  # type: ignore[arg-type]
            if f.repr
        ]
        inline = f"{type(value).__name__}({', '.join(parts)})"
        if len(inline) + 2 * depth <= 88 and "\n" not in inline:
            return inline
        pad = "  " * (depth + 1)
        body = "".join(f"{pad}{p},\n" for p in parts)
        return f"{type(value).__name__}(\n{body}{'  ' * depth})"
    if isinstance(value, (np.ndarray, np.generic, Tracer)):
        dtype = np.dtype(value.dtype)
        kind = {"f": "f", "i": "i", "u": "u", "b": "bool"}.get(dtype.kind, dtype.kind)
        bits = "" if kind == "bool" else str(dtype.itemsize * 8)
        return f"{kind}{bits}[{','.join(map(str, value.shape))}]"
    if isinstance(value, (list, tuple)) and _holds_arrays(value):
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        items = [_show(v, depth + 1) for v in value]
        inline = open_ + ", ".join(items) + close
        if len(inline) + 2 * depth <= 88 and "\n" not in inline:
            return inline
        pad = "  " * (depth + 1)
        return open_ + "\n" + "".join(f"{pad}{i},\n" for i in items) + "  " * depth + close
    if callable(value) and hasattr(value, "__name__"):
        return str(value.__name__)
    return repr(value)
