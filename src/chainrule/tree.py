"""Pytrees: nested containers of leaves, taken apart into a flat list and put back together.

Transforms work on flat lists of arrays, but users want to differentiate functions of
tuples, dicts, namedtuples and their own classes. `flatten` turns any such nesting into
its leaves plus a `TreeDef` describing the structure, and `unflatten` reverses that, so a
transform can work leaf by leaf and hand results back in the caller's shape.

Containers are tuple, list, dict, None (a node with no children), namedtuples,
`collections.OrderedDict`, and the classes given to `register` or `register_dataclass`.
Everything else (arrays, numbers, strings, tracers, unregistered objects) is a leaf.

Every child has a key, so every leaf has a path: `flatten_with_path` gives
``(GetAttrKey(name='layers'), SequenceKey(idx=0), GetAttrKey(name='weight'))`` for
``model.layers[0].weight``, and `keystr` writes it back as that text. These are
`jax.tree_util`'s names, reprs and meanings.

Leaves and aux data have no common type, so they are typed `Any` throughout.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, TypeVar, overload

import numpy as np

__all__ = [
    "DictKey",
    "FlattenedIndexKey",
    "GetAttrKey",
    "KeyEntry",
    "KeyPath",
    "SequenceKey",
    "TreeDef",
    "flatten",
    "flatten_one_level_with_keys",
    "flatten_with_path",
    "keystr",
    "leaves",
    "leaves_with_path",
    "map",
    "map_with_path",
    "register",
    "register_dataclass",
    "register_with_keys",
    "structure",
    "unflatten",
]

PyTree = Any
"""Any nesting of containers and leaves (for annotations; there is nothing to check)."""

_T = TypeVar("_T")


# --- keys: how a child is reached from its container ----------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SequenceKey:
    """The child at position `idx` of a tuple or list: ``[0]``."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class DictKey:
    """The child under `key` of a dict: ``['w']``."""

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class GetAttrKey:
    """The child in attribute `name` (namedtuples, dataclasses, modules): ``.weight``."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class FlattenedIndexKey:
    """The child at position `key` of a container registered without keys."""

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


KeyEntry = Any
"""A key: usually one of the four classes above; any object with a `str` serves."""
KeyPath = tuple[Any, ...]
"""The keys from the root of a tree down to one of its leaves."""


def _simple(key: KeyEntry) -> str:
    if isinstance(key, SequenceKey):
        return str(key.idx)
    if isinstance(key, DictKey):
        return str(key.key)
    if isinstance(key, GetAttrKey):
        return key.name
    if isinstance(key, FlattenedIndexKey):
        return str(key.key)
    return str(key)


def keystr(keys: KeyPath, *, simple: bool = False, separator: str = "") -> str:
    """A key path as text: ``['w'][0]``, or with `simple` the bare keys, e.g. ``w/0``.

    >>> from chainrule import tree
    >>> path = (DictKey("layers"), SequenceKey(0), GetAttrKey("weight"))
    >>> tree.keystr(path)
    "['layers'][0].weight"
    >>> tree.keystr(path, simple=True, separator=".")
    'layers.0.weight'
    """
    return separator.join(_simple(k) if simple else str(k) for k in keys)


# --- container types ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Node:
    """How one container type is taken apart, rebuilt and drawn.

    `flatten(obj) -> (children, aux)`, `unflatten(aux, children) -> obj`,
    `show(node_type, aux, child_strings) -> str` for `TreeDef.__repr__`, and
    `keys(obj, aux, n) -> keys` of its `n` children, in `flatten` order.
    """

    flatten: Callable[[Any], tuple[Iterable[Any], Any]]
    unflatten: Callable[[Any, tuple[Any, ...]], Any]
    show: Callable[[type, Any, list[str]], str]
    keys: Callable[[Any, Any, int], Sequence[KeyEntry]]


def _index_keys(_: Any, __: Any, n: int) -> list[KeyEntry]:
    return [SequenceKey(i) for i in range(n)]


def _dict_keys(_: Any, keys: tuple[Any, ...], __: int) -> list[KeyEntry]:
    return [DictKey(k) for k in keys]


def _flat_index_keys(_: Any, __: Any, n: int) -> list[KeyEntry]:
    return [FlattenedIndexKey(i) for i in range(n)]


# type -> how to take it apart, or None for "leaf". Holds the registered types and also
# caches every type seen so far, so classifying a value is a single dict lookup.
_nodes: dict[type, _Node | None] = {}
# Types registered explicitly (built in or by the user), to refuse a second registration.
_registered: set[type] = set()


class TreeDef:
    """The structure of a pytree: node types, their aux data and children, with leaves as `*`.

    Two structures are equal when they have the same node types, equal aux data (dict
    keys, static dataclass fields...) and equal children, so they can key caches.
    """

    __slots__ = ("_aux", "_children", "_hash", "_node", "_num_leaves", "_type")

    def __init__(
        self,
        node_type: type | None,
        node: _Node | None,
        aux: Any,
        children: tuple[TreeDef, ...],
        num_leaves: int,
    ) -> None:
        # Built by `flatten` only; `node_type is None` marks a leaf.
        self._type = node_type
        self._node = node
        self._aux = aux
        self._children = children
        self._num_leaves = num_leaves
        self._hash: int | None = None

    @property
    def num_leaves(self) -> int:
        """How many leaves a tree of this structure has.

        >>> from chainrule import tree
        >>> tree.structure({"a": 1.0, "b": (2.0, None)}).num_leaves
        2
        """
        return self._num_leaves

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """Build a tree of this structure with `leaves` in flatten order.

        >>> from chainrule import tree
        >>> tree.structure((0, [0, 0])).unflatten([1, 2, 3])
        (1, [2, 3])
        """
        values = leaves if isinstance(leaves, (list, tuple)) else list(leaves)
        if len(values) != self._num_leaves:
            raise ValueError(
                f"{self!r} expects {self._num_leaves} leaves, but {len(values)} were given"
            )
        if self._node is None:
            return values[0]
        return self._build(iter(values))

    def _build(self, it: Iterator[Any]) -> Any:
        if self._node is None:
            return next(it)
        children = []
        for child in self._children:  # a loop, not a comprehension: one frame per level
            # (a leaf without a call of its own)
            children.append(next(it) if child._node is None else child._build(it))
        return self._node.unflatten(self._aux, tuple(children))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TreeDef):
            return NotImplemented
        return self._same(other)

    def _same(self, other: TreeDef) -> bool:
        # Explicit loops rather than comparing the children tuples: that would recurse
        # through C as well and halve the depth that fits in the recursion limit.
        if self is other:
            return True
        if (
            self._type is not other._type
            or self._num_leaves != other._num_leaves
            or len(self._children) != len(other._children)
            or not bool(self._aux == other._aux)
        ):
            return False
        # A loop, not all(<generator>): the generator would add a frame per level.
        for a, b in zip(self._children, other._children, strict=True):  # noqa: SIM110
            if not a._same(b):
                return False
        return True

    def __hash__(self) -> int:
        if self._hash is None:
            child_hashes = []
            for child in self._children:  # see _same for why not hash(self._children)
                child_hashes.append(child.__hash__())
            self._hash = hash((self._type, self._aux, tuple(child_hashes)))
        return self._hash

    def __repr__(self) -> str:
        return f"TreeDef({self._show()})"

    def _show(self) -> str:
        if self._node is None or self._type is None:
            return "*"
        parts = []
        for child in self._children:
            parts.append(child._show())
        return self._node.show(self._type, self._aux, parts)


_LEAF = TreeDef(None, None, None, (), 1)


# --- taking trees apart and putting them back ----------------------------------------------


def _classify(cls: type) -> _Node | None:
    """Decide (once per type) whether an unregistered type is a namedtuple or a leaf."""
    node = _namedtuple_node(cls) if issubclass(cls, tuple) and hasattr(cls, "_fields") else None
    _nodes[cls] = node
    return node


def _flatten(x: Any, is_leaf: Callable[[Any], bool] | None, out: list[Any]) -> TreeDef:
    if is_leaf is not None and is_leaf(x):
        out.append(x)
        return _LEAF
    cls = type(x)
    try:
        node = _nodes[cls]
    except KeyError:
        node = _classify(cls)
    if node is None:
        out.append(x)
        return _LEAF
    children, aux = node.flatten(x)
    start = len(out)
    subtrees = []
    for child in children:  # a loop, not a comprehension: one frame per level
        if is_leaf is None and _nodes.get(type(child), _flatten) is None:
            out.append(child)  # (a leaf of a type seen before: no call)
            subtrees.append(_LEAF)
        else:
            subtrees.append(_flatten(child, is_leaf, out))
    return TreeDef(cls, node, aux, tuple(subtrees), len(out) - start)


def keyed(tree: PyTree, leaves: list[Any], key: list[Any], others: list[int]) -> None:
    """Append `tree`'s leaves to `leaves`, as `flatten` orders them, and to `key` what
    identifies its structure and its arrays: per node its type, aux data and the types in
    it (`_types`) and number of children, per NumPy array its shape and dtype,
    per other leaf its type (and the leaf's position to `others`). Two trees' keys are
    equal exactly when their `structure`s are, with aux data of the same types, and their
    arrays have the same shapes and dtypes; a flat tuple of them is cheaper to build, hash
    and compare than a `TreeDef`: `jit` keys its cache with it on every call.
    """
    cls = type(tree)
    if cls is tuple or cls is list:  # (the common containers: no call to take them apart)
        kids = tree
        key += (cls, None, len(kids))
    else:
        node = _nodes[cls] if cls in _nodes else _classify(cls)
        if node is None:
            if cls is np.ndarray:
                key.append((tree.shape, tree.dtype))
            else:
                others.append(len(leaves))
                key.append(cls)
            leaves.append(tree)
            return
        children, aux = node.flatten(tree)
        kids = children if isinstance(children, (list, tuple)) else list(children)
        key += (cls, aux, None if aux is None else _types(aux), len(kids))
    for child in kids:  # (an array: the common leaf, without a call)
        if type(child) is np.ndarray:
            leaves.append(child)
            key.append((child.shape, child.dtype))
        else:
            keyed(child, leaves, key, others)


_SCALARS = frozenset([str, int, float, bool, complex, bytes, type(None)])


def _types(value: Any) -> Any:
    """The type of `value`, through tuples (named ones too), frozensets and dataclasses the
    types of what they hold, as `jit` keys its static arguments: what keys its cache beside
    the aux data itself (dict keys, static fields), since 2, 2.0 and True are equal, but a
    program traced with one computes in another dtype."""
    cls = type(value)
    if cls is tuple:
        types = tuple(builtins.map(type, value))
        return types if _SCALARS.issuperset(types) else tuple([_types(v) for v in value])
    if cls in _SCALARS:
        return cls
    if isinstance(value, tuple) and hasattr(cls, "_fields"):  # (a named tuple)
        return (cls, tuple([_types(v) for v in value]))
    if isinstance(value, frozenset):
        return (cls, frozenset([_types(v) for v in value]))
    fields = getattr(cls, "__dataclass_fields__", None)
    if fields is None or isinstance(value, type):
        return cls
    return (cls, tuple([_types(getattr(value, name)) for name in fields]))


def flatten(
    tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], TreeDef]:
    """Split `tree` into its leaves (left to right, dicts by sorted key) and its structure.

    `is_leaf(x)` may return True to treat a container `x` as a single leaf.

    >>> from chainrule import tree
    >>> tree.flatten({"b": 1.0, "a": (2.0, [3.0])})
    ([2.0, 3.0, 1.0], TreeDef({'a': (*, [*]), 'b': *}))
    >>> tree.flatten([(1, 2), 3], is_leaf=lambda x: isinstance(x, tuple))
    ([(1, 2), 3], TreeDef([*, *]))
    """
    out: list[Any] = []
    treedef = _flatten(tree, is_leaf, out)
    return out, treedef


def _flatten_with_path(
    x: Any,
    is_leaf: Callable[[Any], bool] | None,
    path: KeyPath,
    out: list[tuple[KeyPath, Any]],
) -> TreeDef:
    # `_flatten` with the path carried along; kept apart so that `flatten` (the hot path of
    # every transform) builds no tuples of keys.
    if is_leaf is not None and is_leaf(x):
        out.append((path, x))
        return _LEAF
    cls = type(x)
    node = _nodes[cls] if cls in _nodes else _classify(cls)
    if node is None:
        out.append((path, x))
        return _LEAF
    children, aux = node.flatten(x)
    children = list(children)
    start = len(out)
    subtrees = []
    for key, child in zip(node.keys(x, aux, len(children)), children, strict=True):
        subtrees.append(_flatten_with_path(child, is_leaf, (*path, key), out))
    return TreeDef(cls, node, aux, tuple(subtrees), len(out) - start)


def flatten_with_path(
    tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[tuple[KeyPath, Any]], TreeDef]:
    """`flatten`, with each leaf's key path: ``([(path, leaf), ...], treedef)``.

    >>> from chainrule import tree
    >>> tree.flatten_with_path([1.0, {"x": 3.0}])
    ([((SequenceKey(idx=0),), 1.0), ((SequenceKey(idx=1), DictKey(key='x')), 3.0)], TreeDef([*, {'x': *}]))
    """
    out: list[tuple[KeyPath, Any]] = []
    treedef = _flatten_with_path(tree, is_leaf, (), out)
    return out, treedef


def leaves_with_path(
    tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
) -> list[tuple[KeyPath, Any]]:
    """The ``(path, leaf)`` pairs of `tree`, in `flatten` order.

    >>> from chainrule import tree
    >>> params = {"w": [1.0, 2.0], "b": 0.5}
    >>> [(tree.keystr(path), leaf) for path, leaf in tree.leaves_with_path(params)]
    [("['b']", 0.5), ("['w'][0]", 1.0), ("['w'][1]", 2.0)]
    """
    return flatten_with_path(tree, is_leaf)[0]


def map_with_path(
    f: Callable[..., Any],
    tree: PyTree,
    *rest: PyTree,
    is_leaf: Callable[[Any], bool] | None = None,
) -> PyTree:
    """`map` with the path first: `f(path, leaf, *matching leaves of rest)`, in `tree`'s shape.

    >>> from chainrule import tree
    >>> tree.map_with_path(lambda path, x: tree.keystr(path) + "=" + str(x), {"a": 1, "b": (2,)})
    {'a': "['a']=1", 'b': ("['b'][0]=2",)}
    """
    pairs = leaves_with_path(tree, is_leaf)
    treedef, columns = _columns("map_with_path", tree, rest, is_leaf)
    paths = [p for p, _ in pairs]
    return treedef.unflatten([f(*xs) for xs in zip(paths, *columns, strict=True)])


def flatten_one_level_with_keys(tree: PyTree) -> tuple[list[tuple[KeyEntry, Any]], Any]:
    """The children of container `tree` with their keys, and its aux data, one level only.

    Raises ValueError for a leaf.

    >>> from chainrule import tree
    >>> tree.flatten_one_level_with_keys({"b": 1.0, "a": [2.0]})
    ([(DictKey(key='a'), [2.0]), (DictKey(key='b'), 1.0)], ('a', 'b'))
    """
    cls = type(tree)
    node = _nodes[cls] if cls in _nodes else _classify(cls)
    if node is None:
        raise ValueError(
            f"flatten_one_level_with_keys: a {cls.__name__} is a leaf, not a container"
        )
    children, aux = node.flatten(tree)
    children = list(children)
    return list(zip(node.keys(tree, aux, len(children)), children, strict=True)), aux


def unflatten(treedef: TreeDef, leaves: Iterable[Any]) -> PyTree:
    """Rebuild a tree of structure `treedef` from its leaves; the inverse of `flatten`.

    >>> from chainrule import tree
    >>> values, treedef = tree.flatten({"w": [1.0, 2.0], "b": 3.0})
    >>> tree.unflatten(treedef, [10.0, 20.0, 30.0])
    {'b': 10.0, 'w': [20.0, 30.0]}
    """
    return treedef.unflatten(leaves)


def leaves(tree: PyTree, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of `tree`, in `flatten` order.

    >>> from chainrule import tree
    >>> tree.leaves({"x": (1, 2), "y": None, "z": [3]})
    [1, 2, 3]
    """
    return flatten(tree, is_leaf)[0]


def structure(tree: PyTree, is_leaf: Callable[[Any], bool] | None = None) -> TreeDef:
    """The structure of `tree`, without its leaves.

    >>> from chainrule import tree
    >>> tree.structure({"b": [1, 2], "a": 3.0})
    TreeDef({'a': *, 'b': [*, *]})
    """
    return flatten(tree, is_leaf)[1]


def map(
    f: Callable[..., Any],
    tree: PyTree,
    *rest: PyTree,
    is_leaf: Callable[[Any], bool] | None = None,
) -> PyTree:
    """Apply `f` leaf by leaf: `f(leaf, *matching leaves of rest)`, in `tree`'s shape.

    Every tree in `rest` must have exactly the structure of `tree`.

    >>> from chainrule import tree
    >>> tree.map(lambda x: 2 * x, {"a": 1, "b": (2, 3)})
    {'a': 2, 'b': (4, 6)}
    >>> tree.map(lambda x, y: x + y, [1, (2, 3)], [10, (20, 30)])
    [11, (22, 33)]
    """
    treedef, columns = _columns("map", tree, rest, is_leaf)
    return treedef.unflatten([f(*xs) for xs in zip(*columns, strict=True)])


def _columns(
    what: str, tree: PyTree, rest: Sequence[PyTree], is_leaf: Callable[[Any], bool] | None
) -> tuple[TreeDef, list[list[Any]]]:
    """The structure of `tree` and the leaves of it and of each of `rest` (same structure)."""
    values, treedef = flatten(tree, is_leaf)
    columns = [values]
    for i, other in enumerate(rest, start=2):
        other_values, other_def = flatten(other, is_leaf)
        if other_def != treedef:
            raise ValueError(
                f"{what}: tree {i} has a different structure from tree 1:\n"
                f"  tree 1: {treedef!r}\n"
                f"  tree {i}: {other_def!r}"
            )
        columns.append(other_values)
    return treedef, columns


# --- registering container types -----------------------------------------------------------


def _add(nodetype: type, node: _Node) -> None:
    if not isinstance(nodetype, type):
        raise TypeError(f"expected a class to register as a pytree node, got {nodetype!r}")
    if nodetype in _registered:
        raise ValueError(f"{nodetype.__qualname__} is already registered as a pytree node")
    _registered.add(nodetype)
    _nodes[nodetype] = node  # replaces a cached "leaf" verdict, if the type was seen before


def _args(children: list[str]) -> str:
    return ", ".join(children)


def register(
    nodetype: type[_T],
    flatten_fn: Callable[[_T], tuple[Iterable[Any], Hashable]],
    unflatten_fn: Callable[[Any, tuple[Any, ...]], _T],
) -> None:
    """Make instances of `nodetype` containers rather than leaves.

    `flatten_fn(obj) -> (children, aux_data)`: children are subtrees, aux_data is the
    hashable rest that belongs to the structure. `unflatten_fn(aux_data, children)`
    rebuilds an object. A type can be registered only once.

    >>> from chainrule import tree
    >>> class Pair:
    ...     def __init__(self, a, b, name):
    ...         self.a, self.b, self.name = a, b, name
    >>> tree.register(
    ...     Pair,
    ...     lambda p: ((p.a, p.b), p.name),
    ...     lambda name, children: Pair(*children, name),
    ... )
    >>> values, treedef = tree.flatten(Pair(1.0, [2.0], "p"))
    >>> values, treedef
    ([1.0, 2.0], TreeDef(Pair['p'](*, [*])))
    >>> tree.unflatten(treedef, [3.0, 4.0]).b
    [4.0]
    """
    _add(nodetype, _Node(flatten_fn, unflatten_fn, _show_registered, _flat_index_keys))


def _show_registered(node_type: type, aux: Any, children: list[str]) -> str:
    tag = node_type.__name__ if aux is None else f"{node_type.__name__}[{aux!r}]"
    return f"{tag}({_args(children)})"


def register_with_keys(
    nodetype: type[_T],
    flatten_with_keys: Callable[[_T], tuple[Iterable[tuple[KeyEntry, Any]], Hashable]],
    unflatten_fn: Callable[[Any, tuple[Any, ...]], _T],
    flatten_fn: Callable[[_T], tuple[Iterable[Any], Hashable]] | None = None,
) -> None:
    """`register`, with a key for each child, so that paths read ``.weight`` (JAX's
    `register_pytree_with_keys`).

    `flatten_with_keys(obj) -> ([(key, child), ...], aux_data)`; `flatten_fn`, optional,
    gives the same children and aux data without keys, faster.

    >>> from chainrule import tree
    >>> class Point:
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    >>> tree.register_with_keys(
    ...     Point,
    ...     lambda p: (((tree.GetAttrKey("x"), p.x), (tree.GetAttrKey("y"), p.y)), None),
    ...     lambda _, children: Point(*children),
    ... )
    >>> [tree.keystr(path) for path, _ in tree.leaves_with_path([Point(1.0, 2.0)])]
    ['[0].x', '[0].y']
    """

    def plain(obj: Any) -> tuple[list[Any], Any]:
        pairs, aux = flatten_with_keys(obj)
        return [child for _, child in pairs], aux

    def keys(obj: Any, _: Any, __: int) -> list[KeyEntry]:
        return [key for key, _ in flatten_with_keys(obj)[0]]

    _add(nodetype, _Node(flatten_fn or plain, unflatten_fn, _show_registered, keys))


def _dataclass_node(cls: type, data: tuple[str, ...], meta: tuple[str, ...]) -> _Node:
    def flatten_obj(obj: Any) -> tuple[list[Any], tuple[Any, ...]]:
        return [getattr(obj, n) for n in data], tuple(getattr(obj, n) for n in meta)

    def unflatten_obj(aux: tuple[Any, ...], children: tuple[Any, ...]) -> Any:
        # Bypass __init__/__post_init__: leaves may be tracers that validation would reject,
        # and object.__setattr__ also works on frozen dataclasses.
        obj: Any = object.__new__(cls)
        for name, value in zip(data, children, strict=True):
            object.__setattr__(obj, name, value)
        for name, value in zip(meta, aux, strict=True):
            object.__setattr__(obj, name, value)
        return obj

    def show(node_type: type, aux: tuple[Any, ...], children: list[str]) -> str:
        return _show_fields(node_type, data + meta, children + [repr(v) for v in aux])

    keys = [GetAttrKey(n) for n in data]
    return _Node(flatten_obj, unflatten_obj, show, lambda *_: keys)


def _dataclass_fields(
    cls: type, data_fields: Sequence[str] | None, meta_fields: Sequence[str] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (data, meta) field names: given explicitly, or inferred from `init` and `static`."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"register_dataclass expects a dataclass class, got {cls!r}")
    fields = dataclasses.fields(cls)
    if data_fields is None and meta_fields is None:
        init = [f for f in fields if f.init]
        data = tuple(f.name for f in init if not f.metadata.get("static", False))
        meta = tuple(f.name for f in init if f.metadata.get("static", False))
        return data, meta
    if data_fields is None or meta_fields is None:
        raise TypeError("register_dataclass: give both data_fields and meta_fields, or neither")
    data, meta = tuple(data_fields), tuple(meta_fields)
    names = data + meta
    known = {f.name for f in fields}
    unknown = [n for n in names if n not in known]
    repeated = sorted({n for n in names if names.count(n) > 1})
    missing = [f.name for f in fields if f.init and f.name not in names]
    if unknown or repeated or missing:
        raise ValueError(
            f"register_dataclass({cls.__qualname__}): data_fields and meta_fields must name "
            f"every init field exactly once; unknown: {unknown}, repeated: {repeated}, "
            f"missing: {missing}"
        )
    return data, meta


@overload
def register_dataclass(
    cls: type[_T],
    *,
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
) -> type[_T]: ...


@overload
def register_dataclass(
    cls: None = None,
    *,
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
) -> Callable[[type[_T]], type[_T]]: ...


def register_dataclass(
    cls: type[_T] | None = None,
    *,
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """Register a dataclass as a container; use as `@register_dataclass`, with arguments, or call it.

    Data fields are children (leaves or subtrees); meta fields are hashable values that
    belong to the structure. Unless both lists are given, every `init` field is data
    except those marked `field(metadata={"static": True})`, which are meta. Unflattening
    does not call `__init__` or `__post_init__`, so frozen classes and validating
    constructors work with traced leaves; fields outside both lists are not restored.

    >>> import dataclasses
    >>> from chainrule import tree
    >>> @tree.register_dataclass
    ... @dataclasses.dataclass(frozen=True)
    ... class Layer:
    ...     w: float
    ...     b: float
    ...     act: str = dataclasses.field(default="relu", metadata={"static": True})
    >>> tree.flatten(Layer(1.0, 2.0))
    ([1.0, 2.0], TreeDef(Layer(w=*, b=*, act='relu')))
    >>> tree.map(lambda x: 10 * x, Layer(1.0, 2.0, "tanh"))
    Layer(w=10.0, b=20.0, act='tanh')
    """

    def wrap(c: type[_T]) -> type[_T]:
        data, meta = _dataclass_fields(c, data_fields, meta_fields)
        _add(c, _dataclass_node(c, data, meta))
        return c

    return wrap if cls is None else wrap(cls)


# --- built-in containers -------------------------------------------------------------------


def _flatten_dict(d: dict[Any, Any]) -> tuple[list[Any], tuple[Any, ...]]:
    try:
        keys = tuple(sorted(d))
    except TypeError:  # keys of mixed or unorderable types: keep insertion order
        keys = tuple(d)
    return [d[k] for k in keys], keys


def _show_tuple(_: type, __: Any, children: list[str]) -> str:
    return f"({children[0]},)" if len(children) == 1 else f"({_args(children)})"


def _show_list(_: type, __: Any, children: list[str]) -> str:
    return f"[{_args(children)}]"


def _show_dict(_: type, keys: tuple[Any, ...], children: list[str]) -> str:
    return "{" + _args([f"{k!r}: {c}" for k, c in zip(keys, children, strict=True)]) + "}"


def _show_ordered_dict(node_type: type, keys: tuple[Any, ...], children: list[str]) -> str:
    return f"OrderedDict({_show_dict(node_type, keys, children)})"


def _show_fields(node_type: type, names: Iterable[str], values: Iterable[str]) -> str:
    """`Name(a=..., b=...)`, the way namedtuples and dataclasses print themselves."""
    pairs = [f"{n}={v}" for n, v in zip(names, values, strict=True)]
    return f"{node_type.__name__}({_args(pairs)})"


def _namedtuple_node(cls: type) -> _Node:
    fields: tuple[str, ...] = getattr(cls, "_fields", ())
    return _Node(
        lambda t: (t, None),
        lambda _, children: cls(*children),
        lambda node_type, _, children: _show_fields(node_type, fields, children),
        lambda *_: [GetAttrKey(f) for f in fields],
    )


_add(tuple, _Node(lambda t: (t, None), lambda _, children: children, _show_tuple, _index_keys))
_add(list, _Node(lambda x: (x, None), lambda _, children: list(children), _show_list, _index_keys))
_add(
    dict,
    _Node(
        _flatten_dict,
        lambda keys, children: dict(zip(keys, children, strict=True)),
        _show_dict,
        _dict_keys,
    ),
)
_add(
    OrderedDict,
    _Node(
        lambda d: (list(d.values()), tuple(d)),
        lambda keys, children: OrderedDict(zip(keys, children, strict=True)),
        _show_ordered_dict,
        _dict_keys,
    ),
)
_add(
    type(None),
    _Node(lambda _: ((), None), lambda _, __: None, lambda *_: "None", lambda *_: ()),
)
