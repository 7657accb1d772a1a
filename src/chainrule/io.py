"""Save and load models, optimizer states and any pytree of arrays, in files that cannot run code.

A file is an ``.npz`` archive (a zip of ``.npy`` arrays, what ``numpy.savez`` writes) with
one array per leaf under a readable key, the path to the leaf: ``layers.0.weight`` for
``model.layers[0].weight``, ``mu.1`` for ``state.mu[1]``. Any NumPy can open it:
``numpy.load("model.npz")["layers.0.weight"]``. `load` trusts nothing in it: it never
unpickles (never runs code), and reads every ``.npy`` header, checking it against the
description and the template, before it inflates any array, so a small forged or damaged
file gets a `LoadError` rather than gigabytes of memory.

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
import math
import os
import secrets
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from chainrule import tree as _tree
from chainrule._validate import count

__all__ = ["MAX_BYTES", "LoadError", "atomic_write", "load", "paths", "save"]

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


def _static(node: Any, keys: list[Any]) -> dict[str, Any]:
    """The fields of a dataclass node (a module's sizes, activation...) that are not children."""
    if not (dataclasses.is_dataclass(node) and not isinstance(node, type)):
        return {}
    children = {k.name for k in keys if isinstance(k, _tree.GetAttrKey)}
    fields = [f.name for f in dataclasses.fields(node)]
    return {n: getattr(node, n) for n in fields if n not in children and hasattr(node, n)}


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
        try:
            pairs, _ = _tree.flatten_one_level_with_keys(node)
        except ValueError:  # a leaf
            self.keys.append(path or _ROOT)
            self.leaves.append(node)
            return
        keys = [key for key, _ in pairs]
        static = _static(node, keys)
        info: dict[str, Any] = {"type": type(node).__qualname__}
        if static:
            info["static"] = {k: _static_value(v) for k, v in static.items()}
        self.nodes[path] = info
        for key, kid in pairs:
            name = _tree.keystr((key,), simple=True)
            self.walk(kid, f"{path}.{name}" if path else name)


def _layout(tree: Any) -> _Layout:
    layout = _Layout()
    layout.walk(tree, "")
    seen: set[str] = set()
    for key in layout.keys:
        if any(sep in key for sep in "/\\\0"):
            raise ValueError(
                f"the key {key!r} holds a path separator or NUL, which a file member name "
                "cannot (it could point outside the archive when extracted); rename the key"
            )
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


# --- writing files whole or not at all ------------------------------------------------------


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[IO[bytes]]:
    """A binary file that replaces `path` in one step when the ``with`` block ends normally.

    Readers see the old file or the new one, never a half-written one, and an exception or
    a crash inside the block leaves the old file as it was. Every writer gets its own
    temporary file beside the target, flushed to disk before it takes the target's place,
    so writers racing on one path never mix their bytes (the last to finish wins). A
    symbolic link stays a link and its target gets the new content. `save` writes this way,
    and so does ``chainrule train`` for its ``history.json``.

    >>> import pathlib, tempfile
    >>> from chainrule import io
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with io.atomic_write(path) as file:
    ...     _ = file.write(b"written whole or not at all")
    >>> path.read_text()
    'written whole or not at all'
    """
    target = Path(os.path.realpath(path))  # through symbolic links to the file they name
    partial = target.with_name(f".{target.name}.{secrets.token_hex(8)}.partial")
    # O_EXCL: a temporary file is never shared; 0o666 leaves the permissions to the umask.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(partial, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):  # a replaced file keeps its permissions
            os.chmod(partial, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    """Make a rename survive a power cut (POSIX; elsewhere there is nothing to sync)."""
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems cannot sync a directory
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- saving --------------------------------------------------------------------------------


def _is_raw_bytes(dtype: np.dtype) -> bool:
    """Void without fields: bytes NumPy cannot read as numbers (ml_dtypes types are stored so)."""
    return dtype.kind == "V" and dtype.fields is None


def _dtype_tag(dtype: np.dtype) -> str:
    """How the description names a dtype: ``<f4``, or the name of an ml_dtypes type."""
    return dtype.name if _is_raw_bytes(dtype) else dtype.str


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
    if _is_raw_bytes(array.dtype) and array.dtype.type is np.void:
        raise TypeError(
            f"save: the leaf {key!r} holds raw bytes (dtype {array.dtype}); save them as "
            "numbers, e.g. array.view(numpy.uint8)"
        )
    spec = {"kind": kind, "dtype": _dtype_tag(array.dtype), "shape": list(array.shape)}
    return array, spec


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
    with `atomic_write`: a crash mid-way leaves any previous file intact, and saves racing
    on one path never corrupt it. A binary file object works too. `compress` deflates the
    arrays (smaller, slower).

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
    if isinstance(path, (str, os.PathLike)):
        with atomic_write(path) as file:
            _write(file, arrays, compress)
    else:
        _write(path, arrays, compress)


# --- reading an archive without trusting it ------------------------------------------------


class LoadError(ValueError):
    """`load` refuses a file: not an archive of plain arrays, damaged, forged, or unlike `like`."""


MAX_BYTES = 1 << 30
"""The most array bytes `load` inflates without a template (``max_bytes``): 1 GiB."""

_MAX_META_BYTES = 1 << 26  # the JSON description: far more than any model needs
_MAX_DEPTH = 64  # JSON nesting in the description
_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
# What a damaged or forged member raises while it is read.
_BROKEN = (
    ValueError,
    TypeError,
    SyntaxError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    RuntimeError,  # an encrypted member
    NotImplementedError,  # an unknown compression method
)


@dataclasses.dataclass(frozen=True)
class _Member:
    """One ``key.npy`` member of an archive as its header describes it; no data read yet."""

    key: str
    info: zipfile.ZipInfo
    header_size: int
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class _Archive:
    """An ``.npz`` archive opened for `load`: every header is checked before any array is read."""

    def __init__(self, path: PathLike | IO[bytes]) -> None:
        self.where = repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "the file"
        self.zip = self._open(path)
        try:
            self.members = self._members()
        except BaseException:
            self.zip.close()
            raise

    def _open(self, path: PathLike | IO[bytes]) -> zipfile.ZipFile:
        if isinstance(path, (str, os.PathLike)):
            with open(path, "rb") as file:
                magic = file.read(6)
        else:
            start = path.tell()
            magic = path.read(6)
            path.seek(start)
        try:
            return zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            if magic == b"\x93NUMPY":
                raise LoadError(
                    f"load: {self.where} is a single .npy array, not an .npz archive"
                ) from None
            raise self.error(f"is not an .npz archive ({exc})") from None

    def error(self, problem: str) -> LoadError:
        return LoadError(
            f"load: {self.where} {problem}; chainrule reads .npz archives of plain arrays "
            "written by chainrule.io.save or numpy.savez, and never unpickles"
        )

    def _members(self) -> dict[str, _Member]:
        members: dict[str, _Member] = {}
        for info in self.zip.infolist():
            name = info.filename
            key = name.removesuffix(".npy")
            if key == name or not key or "/" in name or "\\" in name:
                raise self.error(f"holds {name!r}, which is not a member named key.npy")
            if key in members:
                raise self.error(f"holds the member {name!r} twice (a damaged or forged file)")
            members[key] = self._header(key, info)
        return members

    def _header(self, key: str, info: zipfile.ZipInfo) -> _Member:
        try:
            with self.zip.open(info) as stream:
                version = np.lib.format.read_magic(stream)
                if version not in _HEADERS:
                    raise ValueError(f"a .npy header of version {version}")
                shape, fortran, dtype = _HEADERS[version](stream)
                header_size = stream.tell()
        except _BROKEN as exc:
            raise self.error(
                f"holds {info.filename!r}, which is not a .npy array ({exc})"
            ) from None
        if dtype.hasobject:
            raise self.error(
                f"holds {key!r} as Python objects (dtype {dtype}), which only unpickling reads"
            )
        member = _Member(key, info, header_size, dtype, tuple(shape), bool(fortran))
        if min(shape, default=0) < 0 or info.file_size != header_size + member.nbytes:
            raise self.error(
                f"holds {key!r} with a header that declares shape {tuple(shape)} and dtype "
                f"{dtype}, which does not fit its {info.file_size} bytes (a damaged or forged file)"
            )
        return member

    def read(self, member: _Member, dtype: np.dtype) -> np.ndarray:
        """The member's array, inflated into memory the size its (checked) header declares."""
        buffer = np.empty(member.nbytes, np.uint8)
        filled = 0
        try:
            with self.zip.open(member.info) as stream:
                stream.read(member.header_size)
                while filled < member.nbytes:
                    chunk = stream.read(min(member.nbytes - filled, 1 << 20))
                    if not chunk:
                        break
                    buffer[filled : filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
                    filled += len(chunk)
                trailing = stream.read(1)  # reading to the end checks the CRC too
        except _BROKEN as exc:
            raise self.error(f"holds a damaged {member.key!r} ({exc})") from None
        if filled != member.nbytes or trailing:
            raise self.error(f"holds {member.key!r} whose data do not match its header")
        array = buffer.view(dtype) if dtype.itemsize else np.empty(member.shape, dtype)
        return array.reshape(member.shape, order="F" if member.fortran else "C")

    def close(self) -> None:
        self.zip.close()


# --- the description of the tree -----------------------------------------------------------


def _depth(value: Any) -> int:
    """How deeply JSON containers nest in `value` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((kid, depth + 1) for kid in node.values())
        elif isinstance(node, list):
            stack.extend((kid, depth + 1) for kid in node)
    return deepest


def _is_leaf_spec(spec: Any) -> bool:
    return (
        isinstance(spec, dict)
        and isinstance(spec.get("key"), str)
        and spec.get("kind") in ("array", "scalar", *_SCALARS)
        and isinstance(spec.get("dtype"), str)
        and isinstance(spec.get("shape"), list)
        and all(type(n) is int and n >= 0 for n in spec["shape"])
    )


def _is_node_spec(spec: Any) -> bool:
    return (
        isinstance(spec, dict)
        and isinstance(spec.get("type"), str)
        and isinstance(spec.get("static", {}), dict)
    )


def _description(archive: _Archive) -> dict[str, Any] | None:
    """The checked JSON description of the tree (None for a plain numpy.savez file)."""
    member = archive.members.pop(_META, None)
    if member is None:
        return None
    if member.dtype.kind != "U" or member.shape != () or member.nbytes > _MAX_META_BYTES:
        raise archive.error(f"has a {_META!r} that is not the JSON description of a tree")
    try:
        meta = json.loads(str(archive.read(member, member.dtype)[()]))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise archive.error(f"has a description of the tree that is not JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise archive.error("has a description of the tree that is not a JSON object")
    if meta.get("format") != FORMAT:
        raise LoadError(
            f"load: {archive.where} was written in format {meta.get('format')!r}; this "
            f"version of chainrule reads {FORMAT!r}"
        )
    if _depth(meta) > _MAX_DEPTH:
        raise archive.error(f"has a description nested more than {_MAX_DEPTH} levels deep")
    nodes, leaves = meta.get("nodes"), meta.get("leaves")
    if not isinstance(nodes, dict) or not all(_is_node_spec(n) for n in nodes.values()):
        raise archive.error("has a description whose 'nodes' are not {'type', 'static'} objects")
    if not isinstance(leaves, list) or not all(_is_leaf_spec(leaf) for leaf in leaves):
        raise archive.error(
            "has a description whose 'leaves' are not {'key', 'kind', 'dtype', 'shape'} objects"
        )
    keys = [leaf["key"] for leaf in leaves]
    if sorted(keys) != sorted(archive.members):
        raise archive.error("has a description that does not list its members")
    for leaf in leaves:
        if tuple(leaf["shape"]) != archive.members[leaf["key"]].shape:
            raise archive.error(f"describes {leaf['key']!r} with another shape than it holds")
    return meta


def _ml_dtype(name: str) -> np.dtype | None:
    """The ml_dtypes type named `name` (bfloat16, float8_e4m3fn, ...), or None."""
    import ml_dtypes

    kind = getattr(ml_dtypes, name, None) if name.isidentifier() else None
    if isinstance(kind, type) and issubclass(kind, np.generic):
        return np.dtype(kind)
    return None


def _dtype(archive: _Archive, member: _Member, tag: str | None) -> np.dtype:
    """The dtype of a member: its header's, or the ml_dtypes type the description names."""
    if _is_raw_bytes(member.dtype):
        named = _ml_dtype(tag) if tag is not None else None
        if named is None or named.itemsize != member.dtype.itemsize:
            raise archive.error(
                f"holds {member.key!r} as raw bytes (dtype {member.dtype}), not numbers"
            )
        return named
    if tag is not None and tag != member.dtype.str:
        raise archive.error(f"describes {member.key!r} with another dtype than it holds")
    return member.dtype


# --- loading -------------------------------------------------------------------------------


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
        raise LoadError(f"load: the file and the template `like` differ: {'; '.join(parts)}")


def _check_nodes(saved: dict[str, Any], template: dict[str, Any], strict: bool) -> None:
    for path, info in template.items():
        old = saved.get(path)
        if old is None:
            continue
        where = f"at {path!r}" if path else "at the root"
        if old["type"] != info["type"]:
            raise LoadError(
                f"load: {where} the file holds a {old['type']} and the template `like` a "
                f"{info['type']}; build the template as the saved tree was built"
            )
        if not strict:
            continue
        old_static, new_static = old.get("static", {}), info.get("static", {})
        for name in sorted(set(old_static) | set(new_static)):
            if old_static.get(name) != new_static.get(name):
                raise LoadError(
                    f"load: {where} the {info['type']} was saved with {name}="
                    f"{old_static.get(name)!r} but the template `like` has {name}="
                    f"{new_static.get(name)!r}; build the template with the same settings, "
                    "or pass strict=False to keep the template's"
                )


def _a(kind: str) -> str:
    """'an array', 'a NumPy scalar', 'a float', ...: leaf kinds for messages."""
    names = {"array": "an array", "scalar": "a NumPy scalar", "int": "an int"}
    return names.get(kind, f"a {kind}")


def _check_leaf(key: str, template: Any, member: _Member, dtype: np.dtype, kind: str | None) -> str:
    """How to restore one leaf (its kind), once its header agrees with the template's leaf."""
    if isinstance(template, np.ndarray):
        want = "array"
    elif isinstance(template, np.generic):
        want = "scalar"
    else:
        want = type(template).__name__
    if kind is not None and kind != want:
        raise LoadError(
            f"load: {key!r} is saved as {_a(kind)} but the template `like` has {_a(want)} there"
        )
    if want in _SCALARS:
        if member.shape != () or dtype.kind not in _SCALAR_KINDS[want]:
            raise LoadError(
                f"load: {key!r} should be a Python {want}, but the file holds an array of "
                f"shape {member.shape} and dtype {dtype}"
            )
        return want
    expected_dtype, expected_shape = np.dtype(template.dtype), np.shape(template)
    if member.shape != expected_shape:
        raise LoadError(
            f"load: {key!r} has shape {member.shape} in the file but {expected_shape} in the "
            "template `like`; build the template with the sizes of the saved model"
        )
    if dtype != expected_dtype:
        raise LoadError(
            f"load: {key!r} has dtype {dtype} in the file but {expected_dtype} in the "
            "template `like`; build the template in the saved dtype (and cast after loading)"
        )
    return want


def load(
    path: PathLike | IO[bytes],
    like: Any = None,
    *,
    strict: bool = True,
    max_bytes: int | None = MAX_BYTES,
) -> Any:
    """Read a file written by `save`: a tree shaped like `like`, or a flat dict without it.

    `like` is a template with the saved structure, such as a freshly built model of the same
    sizes or ``optimizer.init(params)``; its values are not used. Keys, container types,
    shapes and dtypes must match, as must the static fields of modules (sizes, activation)
    unless `strict` is False, which keeps the template's. Without `like`, the leaves come
    back as a dict from key to value. Plain ``numpy.savez`` files load too, by key.

    Nothing in the file is trusted: every header is read and checked against the template
    before any array is inflated, so a small forged file cannot make `load` allocate more
    than the template holds. Without a template, `max_bytes` (`MAX_BYTES`, 1 GiB, by
    default; None for no limit) bounds the arrays' total size. A file that is damaged,
    forged or unlike the template raises `LoadError` (a ValueError) saying why.

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
    chainrule.io.LoadError: load: 'w' has shape (3,) in the file but (4,) in the template `like`; build the template with the sizes of the saved model
    """
    if max_bytes is not None:
        max_bytes = count(max_bytes, "max_bytes", "load", minimum=0)
    archive = _Archive(path)
    try:
        meta = _description(archive)
        specs = {leaf["key"]: leaf for leaf in meta["leaves"]} if meta else {}
        members = archive.members
        dtypes = {
            key: _dtype(archive, m, specs.get(key, {}).get("dtype")) for key, m in members.items()
        }
        kinds = {key: specs[key]["kind"] if key in specs else None for key in members}
        if like is None:
            total = sum(m.nbytes for m in members.values())
            if max_bytes is not None and total > max_bytes:
                raise LoadError(
                    f"load: {archive.where} holds {total:,} bytes of arrays, more than "
                    f"max_bytes={max_bytes:,}; pass a template `like` (its shapes bound what "
                    "is read) or a larger max_bytes if you trust the file"
                )
            return {
                key: _restore(kinds[key] or "array", archive.read(m, dtypes[key]))
                for key, m in members.items()
            }
        layout = _layout(like)
        if meta:  # containers first: a different container explains the different keys below it
            _check_nodes(meta["nodes"], layout.nodes, strict)
        _check_keys(list(members), layout.keys)
        wants = [
            _check_leaf(key, leaf, members[key], dtypes[key], kinds[key])
            for key, leaf in zip(layout.keys, layout.leaves, strict=True)
        ]
        values = [
            _restore(want, archive.read(members[key], dtypes[key]))
            for key, want in zip(layout.keys, wants, strict=True)
        ]
    finally:
        archive.close()
    return _tree.unflatten(_tree.structure(like), values)
