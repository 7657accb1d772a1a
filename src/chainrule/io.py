"""Save and load models, optimizer states and any pytree of arrays, in files that cannot run code.

A file is an ``.npz`` archive (a zip of ``.npy`` arrays, what ``numpy.savez`` writes) with
one array per leaf under a readable key, the path to the leaf: ``layers.0.weight`` for
``model.layers[0].weight``, ``mu.1`` for ``state.mu[1]``. It is read with
``numpy.load(..., allow_pickle=False)``, so loading never unpickles (never runs code), and
any NumPy can open it: ``numpy.load("model.npz")["layers.0.weight"]``.

An extra entry, ``__chainrule__``, describes the tree: the type of every container, the
static fields of modules (sizes, activation functions) and the kind, dtype and shape of
every leaf. `load` rebuilds a tree shaped like a template (`like`, e.g. a freshly built
model) and refuses, naming the difference, a file whose keys, container types, static
fields, shapes or dtypes do not match. Python numbers and strings among the leaves come
back as Python numbers and strings.

>>> import numpy as np
>>> from chainrule import io
>>> state = {"step": 3, "lr": 0.01, "mu": [np.zeros(2, np.float32), np.ones((2, 2))]}
>>> io.paths(state)
['lr', 'mu.0', 'mu.1', 'step']
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from chainrule import tree as _tree

__all__ = ["load", "paths", "save"]

FORMAT = "chainrule-pytree/1"
_META = "__chainrule__"
_ROOT = "value"  # the key of a tree that is a single leaf

PathLike = Union[str, "os.PathLike[str]"]

# Python scalars that round-trip as 0-d arrays, by the name recorded in the file.
_SCALARS: dict[str, type] = {
    "bool": bool,
    "int": int,
    "float": float,
    "complex": complex,
    "str": str,
}
# The dtype kinds a 0-d array may have to come back as each Python scalar type.
_SCALAR_KINDS = {"bool": "b", "int": "iu", "float": "f", "complex": "c", "str": "U"}


# --- walking a tree with names -------------------------------------------------------------


def _children(node: Any) -> list[Any] | None:
    """The children of a container in flatten order, or None when `node` is a leaf."""
    kids, _ = _tree.flatten(node, is_leaf=lambda x: x is not node)
    if len(kids) == 1 and kids[0] is node:
        return None
    return kids


def _match_fields(node: Any, kids: list[Any]) -> tuple[list[str], dict[str, Any]]:
    """Names of a dataclass's children (matched by identity), and its remaining fields."""
    fields = [f.name for f in dataclasses.fields(node)]
    unused = dict.fromkeys(fields)
    names = []
    for i, kid in enumerate(kids):
        name = next((n for n in unused if getattr(node, n, None) is kid), None)
        if name is None:  # a registration that builds children on the fly
            names.append(str(i))
        else:
            names.append(name)
            del unused[name]
    static = {n: getattr(node, n) for n in unused if hasattr(node, n)}
    return names, static


def _names(node: Any, kids: list[Any]) -> tuple[list[str], dict[str, Any] | None]:
    """Key components for the children of `node`, and its static fields (dataclasses)."""
    if isinstance(node, dict):
        keys = list(node)
        if type(node) is not OrderedDict:
            with contextlib.suppress(TypeError):  # unorderable keys stay in insertion order
                keys = sorted(node)  # as `tree.flatten` orders a dict
        return [str(k) for k in keys], None
    fields = getattr(type(node), "_fields", None)
    if isinstance(node, tuple) and fields is not None:  # a namedtuple
        return list(fields), None
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return _match_fields(node, kids)
    return [str(i) for i in range(len(kids))], None


def _static_value(value: Any) -> Any:
    """A JSON description of a static field, equal for equal settings across processes."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [_static_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _static_value(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, np.generic)):
        return f"{np.dtype(value.dtype).name}{list(np.shape(value))}"
    if callable(value) and hasattr(value, "__qualname__"):
        return str(value.__qualname__)  # not the module: __main__ in one script, not another
    return f"<{type(value).__qualname__}>"


@dataclasses.dataclass
class _Layout:
    """A tree seen as named leaves: what is checked between a file and a template."""

    keys: list[str] = dataclasses.field(default_factory=list)
    leaves: list[Any] = dataclasses.field(default_factory=list)
    # container path -> {"type": class name, "static": {field: description}} (dataclasses)
    nodes: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def walk(self, node: Any, path: str) -> None:
        kids = _children(node)
        if kids is None:
            self.keys.append(path or _ROOT)
            self.leaves.append(node)
            return
        names, static = _names(node, kids)
        info: dict[str, Any] = {"type": type(node).__qualname__}
        if static:
            info["static"] = {k: _static_value(v) for k, v in static.items()}
        self.nodes[path] = info
        for name, kid in zip(names, kids, strict=True):
            self.walk(kid, f"{path}.{name}" if path else name)


def _layout(tree: Any) -> _Layout:
    layout = _Layout()
    layout.walk(tree, "")
    seen: set[str] = set()
    for key in layout.keys:
        if key in seen or key == _META:
            raise ValueError(
                f"two leaves of the tree would be saved under the key {key!r} (dict keys "
                "that contain '.' can collide with nested paths, and the key "
                f"{_META!r} is reserved); rename the keys"
            )
        seen.add(key)
    return layout


def paths(tree: Any) -> list[str]:
    """The key under which `save` stores each leaf of `tree`, in `tree.leaves` order.

    >>> from chainrule import io
    >>> io.paths({"encoder": [(1.0, 2.0)], "scale": 3.0})
    ['encoder.0.0', 'encoder.0.1', 'scale']
    """
    return _layout(tree).keys


# --- saving --------------------------------------------------------------------------------


def _leaf_array(key: str, leaf: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """The array stored for a leaf, and how to describe (and restore) it."""
    if isinstance(leaf, np.ndarray):
        array, kind = leaf, "array"
    elif isinstance(leaf, np.generic):
        array, kind = np.asarray(leaf), "scalar"
    elif type(leaf) in _SCALARS.values():
        array, kind = np.asarray(leaf), type(leaf).__name__
    else:
        raise TypeError(
            f"save: the leaf {key!r} is a {type(leaf).__qualname__}; only NumPy arrays and "
            "scalars, Python numbers and strings can be saved (values computed inside a "
            "transform must be saved outside it)"
        )
    if array.dtype.hasobject:
        raise TypeError(
            f"save: the leaf {key!r} holds Python objects (dtype {array.dtype}), which "
            "cannot be stored without pickling; convert it to a numeric array"
        )
    return array, {"kind": kind, "dtype": array.dtype.str, "shape": list(array.shape)}


def _write(file: IO[bytes], arrays: dict[str, np.ndarray], compress: bool) -> None:
    # What numpy.savez does, written out so that keys such as "file" cannot clash with its
    # keyword arguments, and with allow_pickle=False on the writing side too.
    # A fixed timestamp makes equal trees give byte-identical files.
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(file, mode="w", compression=method, allowZip64=True) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            with archive.open(info, mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def save(path: PathLike | IO[bytes], tree: Any, *, compress: bool = False) -> None:
    """Write `tree` (a model, an optimizer state, any pytree of arrays) to an ``.npz`` file.

    `path` is used as given (no suffix is added; ``.npz`` is the convention) and written
    atomically: a crash mid-way leaves any previous file intact. A binary file object works
    too. `compress` deflates the arrays (smaller, slower).

    >>> import io as pyio, numpy as np
    >>> from chainrule import io
    >>> buffer = pyio.BytesIO()
    >>> io.save(buffer, {"w": np.eye(2, dtype=np.float32), "lr": 0.1})
    >>> _ = buffer.seek(0)
    >>> sorted(np.load(buffer, allow_pickle=False))
    ['__chainrule__', 'lr', 'w']
    """
    layout = _layout(tree)
    arrays, leaves = {}, []
    for key, leaf in zip(layout.keys, layout.leaves, strict=True):
        arrays[key], spec = _leaf_array(key, leaf)
        leaves.append({"key": key, **spec})
    meta = {
        "format": FORMAT,
        "nodes": layout.nodes,
        "leaves": leaves,
    }
    arrays[_META] = np.array(json.dumps(meta))
    if not isinstance(path, (str, os.PathLike)):
        _write(path, arrays, compress)
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as file:
            _write(file, arrays, compress)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


# --- loading -------------------------------------------------------------------------------


def _read(path: PathLike | IO[bytes]) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    """The arrays of an ``.npz`` file by key, and its description (None if it has none)."""
    where = getattr(path, "name", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (AttributeError, TypeError):
        # np.load returned a plain array (an .npy file): no context manager.
        raise ValueError(f"load: {where!r} is a single .npy array, not an .npz archive") from None
    except (ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(
            f"load: {where!r} is not an .npz archive of plain arrays ({exc}); chainrule "
            "files are written by chainrule.io.save or numpy.savez, and are never unpickled"
        ) from None
    if _META not in arrays:
        return arrays, None
    meta = json.loads(str(arrays.pop(_META)))
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"load: {where!r} was written in format {meta.get('format')!r}; this version of "
            f"chainrule reads {FORMAT!r}"
        )
    return arrays, meta


def _restore(kind: str, array: np.ndarray) -> Any:
    if kind == "scalar":
        return array[()]
    if kind in _SCALARS:
        return _SCALARS[kind](array.item())
    return array


def _list(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _check_keys(saved: list[str], template: list[str]) -> None:
    missing = [k for k in template if k not in set(saved)]
    unexpected = [k for k in saved if k not in set(template)]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing from the file: {_list(missing)}")
        if unexpected:
            parts.append(f"in the file but not in the template: {_list(unexpected)}")
        raise ValueError(f"load: the file and the template `like` differ: {'; '.join(parts)}")


def _check_nodes(saved: dict[str, Any], template: dict[str, Any], strict: bool) -> None:
    for path, info in template.items():
        old = saved.get(path)
        if old is None:
            continue
        where = f"at {path!r}" if path else "at the root"
        if old["type"] != info["type"]:
            raise ValueError(
                f"load: {where} the file holds a {old['type']} and the template `like` a "
                f"{info['type']}; build the template as the saved tree was built"
            )
        if not strict:
            continue
        old_static, new_static = old.get("static", {}), info.get("static", {})
        for name in sorted(set(old_static) | set(new_static)):
            if old_static.get(name) != new_static.get(name):
                raise ValueError(
                    f"load: {where} the {info['type']} was saved with {name}="
                    f"{old_static.get(name)!r} but the template `like` has {name}="
                    f"{new_static.get(name)!r}; build the template with the same settings, "
                    "or pass strict=False to keep the template's"
                )


def _a(kind: str) -> str:
    """'an array', 'a NumPy scalar', 'a float', ...: leaf kinds for messages."""
    names = {"array": "an array", "scalar": "a NumPy scalar", "int": "an int"}
    return names.get(kind, f"a {kind}")


def _check_leaf(key: str, template: Any, array: np.ndarray, kind: str | None) -> Any:
    """The loaded value for one leaf, after checking it against the template's leaf."""
    if isinstance(template, np.ndarray):
        want = "array"
    elif isinstance(template, np.generic):
        want = "scalar"
    else:
        want = type(template).__name__
    if kind is not None and kind != want:
        raise ValueError(
            f"load: {key!r} is saved as {_a(kind)} but the template `like` has {_a(want)} there"
        )
    if want in _SCALARS:
        if array.shape != () or array.dtype.kind not in _SCALAR_KINDS[want]:
            raise ValueError(
                f"load: {key!r} should be a Python {want}, but the file holds an array of "
                f"shape {array.shape} and dtype {array.dtype}"
            )
        return _SCALARS[want](array.item())
    expected_dtype, expected_shape = np.dtype(template.dtype), np.shape(template)
    if array.shape != expected_shape:
        raise ValueError(
            f"load: {key!r} has shape {array.shape} in the file but {expected_shape} in the "
            "template `like`; build the template with the sizes of the saved model"
        )
    if array.dtype != expected_dtype:
        raise ValueError(
            f"load: {key!r} has dtype {array.dtype} in the file but {expected_dtype} in the "
            "template `like`; build the template in the saved dtype (and cast after loading)"
        )
    return array[()] if want == "scalar" else array


def load(path: PathLike | IO[bytes], like: Any = None, *, strict: bool = True) -> Any:
    """Read a file written by `save`: a tree shaped like `like`, or a flat dict without it.

    `like` is a template with the saved structure, such as a freshly built model of the same
    sizes or ``optimizer.init(params)``; its values are not used. Keys, container types,
    shapes and dtypes must match, as must the static fields of modules (sizes, activation)
    unless `strict` is False, which keeps the template's. Without `like`, the leaves come
    back as a dict from key to value. Plain ``numpy.savez`` files load too, by key.

    >>> import io as pyio, numpy as np
    >>> from chainrule import io
    >>> params = {"w": np.arange(3.0), "b": 0.5}
    >>> buffer = pyio.BytesIO()
    >>> io.save(buffer, params)
    >>> _ = buffer.seek(0)
    >>> io.load(buffer, like={"w": np.zeros(3), "b": 0.0})
    {'b': 0.5, 'w': array([0., 1., 2.])}
    >>> _ = buffer.seek(0)
    >>> io.load(buffer, like={"w": np.zeros(4), "b": 0.0})
    Traceback (most recent call last):
    ...
    ValueError: load: 'w' has shape (3,) in the file but (4,) in the template `like`; build the template with the sizes of the saved model
    """
    arrays, meta = _read(path)
    kinds = {leaf["key"]: leaf["kind"] for leaf in meta["leaves"]} if meta else {}
    if like is None:
        return {key: _restore(kinds.get(key, "array"), value) for key, value in arrays.items()}
    layout = _layout(like)
    if meta:  # containers first: a different container explains the different keys below it
        _check_nodes(meta["nodes"], layout.nodes, strict)
    _check_keys(list(arrays), layout.keys)
    values = [
        _check_leaf(key, leaf, arrays[key], kinds.get(key))
        for key, leaf in zip(layout.keys, layout.leaves, strict=True)
    ]
    return _tree.unflatten(_tree.structure(like), values)
