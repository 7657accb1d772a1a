"""chainrule.io: save / load pytrees as .npz archives, never pickles; clear mismatch errors."""

from __future__ import annotations

import io as pyio
import itertools
import json
import os
import re
import stat
import struct
import threading
import tracemalloc
import warnings
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn


def tanh_act(x: Any) -> Any:
    return cr.numpy.tanh(x)


def relu_act(x: Any) -> Any:
    return cr.numpy.maximum(x, 0.0)


class Dense(nn.Module):
    weight: np.ndarray
    bias: np.ndarray

    def __call__(self, x: Any) -> Any:
        return x @ self.weight + self.bias


class Net(nn.Module):
    layers: list
    activation: Any = tanh_act
    width: int = 4

    def __call__(self, x: Any) -> Any:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


def make_net(seed: int, width: int = 4, activation: Any = tanh_act) -> Net:
    rng = np.random.default_rng(seed)
    sizes = [3, width, 2]
    layers = [
        Dense(
            rng.standard_normal((a, b)).astype(np.float32),
            rng.standard_normal(b).astype(np.float32),
        )
        for a, b in itertools.pairwise(sizes)
    ]
    return Net(layers, activation, width)


class State(NamedTuple):
    step: int
    mu: tuple
    lr: float


def roundtrip(tree: Any, like: Any = None, **kwargs: Any) -> Any:
    buffer = pyio.BytesIO()
    io.save(buffer, tree)
    buffer.seek(0)
    return io.load(buffer, like, **kwargs)


def test_paths_are_readable() -> None:
    assert io.paths(make_net(0)) == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]
    state = State(3, (np.zeros(2), np.zeros(3)), 0.1)
    assert io.paths(state) == ["step", "mu.0", "mu.1", "lr"]
    assert io.paths({"b": 1.0, "a": [2.0, None, (3.0,)]}) == ["a.0", "a.2.0", "b"]
    assert io.paths(OrderedDict([("z", 1.0), ("a", 2.0)])) == ["z", "a"]
    assert io.paths(np.zeros(3)) == ["value"]
    assert io.paths({1: 1.0, 2: 2.0}) == ["1", "2"]


def test_paths_are_the_tree_key_paths() -> None:
    # the keys a container gives its children (cr.tree.register_with_keys), not a guess
    class Pair:
        def __init__(self, first: Any, second: Any) -> None:
            self.first, self.second = first, second

    cr.tree.register_with_keys(
        Pair,
        lambda p: (
            ((cr.tree.GetAttrKey("first"), p.first), (cr.tree.DictKey("2nd"), p.second)),
            None,
        ),
        lambda _, children: Pair(*children),
    )
    tree = {"p": Pair(np.zeros(2), [np.ones(1)])}
    assert io.paths(tree) == ["p.first", "p.2nd.0"]
    expected = [
        cr.tree.keystr(path, simple=True, separator=".")
        for path, _ in cr.tree.leaves_with_path(tree)
    ]
    assert io.paths(tree) == expected


def test_model_round_trip_predicts_identically(tmp_path: Path) -> None:
    model = make_net(0)
    path = tmp_path / "model.npz"
    io.save(path, model)
    loaded = io.load(path, like=make_net(1))
    x = np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32)
    assert np.array_equal(loaded(x), model(x))
    for a, b in zip(cr.tree.leaves(loaded), cr.tree.leaves(model), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert loaded.width == 4 and loaded.activation is tanh_act
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no partial file left


def test_mlp_and_adam_state_round_trip(tmp_path: Path) -> None:
    optim = pytest.importorskip("chainrule.optim")
    model = nn.MLP([3, 8, 2], rng=0)
    opt = optim.Adam(lr=1e-2)
    state = opt.init(model)
    x = np.ones((4, 3), np.float32)
    grads = cr.grad(lambda m: cr.numpy.sum(m(x) ** 2))(model)
    model, state = opt.step(grads, state, model)
    io.save(tmp_path / "model.npz", model)
    io.save(tmp_path / "state.npz", state)
    assert io.paths(state)[:3] == ["step", "exp_avg.0", "exp_avg.1"]
    model2 = io.load(tmp_path / "model.npz", like=nn.MLP([3, 8, 2], rng=5))
    state2 = io.load(tmp_path / "state.npz", like=opt.init(model2))
    assert np.array_equal(model2(x), model(x))
    assert int(state2.step) == 1 and type(state2) is type(state)
    # Training resumes exactly as it would have.
    a, _ = opt.step(grads, state, model)
    b, _ = opt.step(grads, state2, model2)
    for p, q in zip(cr.tree.leaves(a), cr.tree.leaves(b), strict=True):
        assert np.array_equal(p, q)


def test_leaf_kinds_round_trip() -> None:
    tree = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "i8": np.array([-1, 2], dtype=np.int8),
        "bool": np.array([True, False]),
        "c128": np.array([1 + 2j]),
        "empty": np.zeros((0, 4)),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "py": [1.5, 7, True, 2 - 1j, "relu"],
        "np_scalar": np.float32(2.5),
        "zero_d": np.array(3.0),
    }
    out = roundtrip(tree, like=tree)
    assert out["py"] == [1.5, 7, True, 2 - 1j, "relu"]
    assert [type(v) for v in out["py"]] == [float, int, bool, complex, str]
    assert type(out["np_scalar"]) is np.float32 and out["np_scalar"] == 2.5
    assert isinstance(out["zero_d"], np.ndarray) and out["zero_d"].shape == ()
    for key in ("f32", "i8", "bool", "c128", "empty", "fortran"):
        assert out[key].dtype == tree[key].dtype and np.array_equal(out[key], tree[key])


def test_without_template_returns_flat_dict() -> None:
    out = roundtrip({"w": np.ones(2), "lr": 0.5, "n": [3]})
    assert list(out) == ["lr", "n.0", "w"]
    assert out["lr"] == 0.5 and type(out["n.0"]) is int
    assert np.array_equal(out["w"], np.ones(2))


def test_files_are_plain_npz_without_pickles(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    io.save(path, make_net(0))
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == [
            "__chainrule__",
            "layers.0.bias",
            "layers.0.weight",
            "layers.1.bias",
            "layers.1.weight",
        ]
        assert npz["layers.0.weight"].shape == (3, 4)
        meta = json.loads(str(npz["__chainrule__"]))
    assert meta["format"] == "chainrule-pytree/1"
    assert meta["nodes"][""] == {"type": "Net", "static": {"activation": "tanh_act", "width": 4}}
    assert meta["leaves"][0] == {
        "key": "layers.0.weight",
        "kind": "array",
        "dtype": "<f4",
        "shape": [3, 4],
    }
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())


def test_saves_are_byte_identical_and_path_is_exact(tmp_path: Path) -> None:
    io.save(tmp_path / "a.weights", make_net(0))
    io.save(tmp_path / "b.weights", make_net(0))
    assert (tmp_path / "a.weights").read_bytes() == (tmp_path / "b.weights").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.weights", "b.weights"]
    io.save(str(tmp_path / "a.weights"), {"x": 1.0})  # overwrite, str path
    assert io.load(tmp_path / "a.weights") == {"x": 1.0}


def test_compress() -> None:
    plain, packed = pyio.BytesIO(), pyio.BytesIO()
    io.save(plain, {"w": np.zeros((100, 100))})
    io.save(packed, {"w": np.zeros((100, 100))}, compress=True)
    assert len(packed.getvalue()) < len(plain.getvalue()) // 20
    packed.seek(0)
    assert np.array_equal(io.load(packed, {"w": np.ones((100, 100))})["w"], np.zeros((100, 100)))


def test_keys_that_clash_with_savez_keywords() -> None:
    tree = {"file": np.ones(1), "allow_pickle": np.zeros(1), "args": 2.0}
    out = roundtrip(tree, like=tree)
    assert out["file"][0] == 1.0 and out["args"] == 2.0


def test_plain_numpy_savez_loads_by_key(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.arange(3.0), b=np.array(0.5))
    out = io.load(path, like={"w": np.zeros(3), "b": 0.0})
    assert out["b"] == 0.5 and type(out["b"]) is float
    assert np.array_equal(out["w"], [0.0, 1.0, 2.0])


# --- mismatches ----------------------------------------------------------------------------


def test_missing_and_unexpected_keys() -> None:
    buffer = pyio.BytesIO()
    io.save(buffer, {"a": np.ones(1), "b": np.ones(1)})
    buffer.seek(0)
    with pytest.raises(ValueError) as info:
        io.load(buffer, like={"a": np.ones(1), "c": np.ones(1)})
    message = str(info.value)
    assert "missing from the file: 'c'" in message
    assert "in the file but not in the template: 'b'" in message


def test_fewer_layers_is_named() -> None:
    small = Net(make_net(0).layers[:1])
    with pytest.raises(
        ValueError, match=r"not in the template: 'layers.1.weight', 'layers.1.bias'"
    ):
        roundtrip(make_net(0), like=small)


def test_shape_and_dtype_mismatches() -> None:
    with pytest.raises(
        ValueError, match=r"'layers.0.weight' has shape \(3, 4\) in the file but \(3, 8\)"
    ):
        roundtrip(make_net(0), like=make_net(0, width=8), strict=False)
    net64 = cr.tree.map(lambda a: a.astype(np.float64), make_net(0))
    with pytest.raises(
        ValueError, match=r"'layers\.0\.weight' has dtype float32 in the file but float64"
    ):
        roundtrip(make_net(0), like=net64)


def test_container_type_mismatch() -> None:
    with pytest.raises(
        ValueError, match="at 'mu' the file holds a tuple and the template `like` a list"
    ):
        roundtrip({"mu": (np.ones(1),)}, like={"mu": [np.ones(1)]})
    with pytest.raises(
        ValueError, match="at the root the file holds a State and the template `like` a tuple"
    ):
        roundtrip(State(1, (), 0.1), like=(1, (), 0.1))


def test_static_fields_checked_unless_not_strict() -> None:
    other = make_net(0, activation=relu_act)
    with pytest.raises(
        ValueError,
        match="saved with activation='tanh_act' but the template `like` has activation='relu_act'",
    ):
        roundtrip(make_net(0), like=other)
    loaded = roundtrip(make_net(0), like=other, strict=False)
    assert loaded.activation is relu_act


def test_leaf_kind_mismatch() -> None:
    with pytest.raises(
        ValueError, match="'lr' is saved as a float but the template `like` has an array there"
    ):
        roundtrip({"lr": 0.1}, like={"lr": np.array(0.1)})
    with pytest.raises(
        ValueError, match="'n' is saved as an int but the template `like` has a float there"
    ):
        roundtrip({"n": 3}, like={"n": 3.0})


# --- what cannot be saved or loaded --------------------------------------------------------


def test_unsaveable_leaves() -> None:
    with pytest.raises(TypeError, match="the leaf '1' is a function"):
        io.save(pyio.BytesIO(), [np.ones(1), tanh_act])
    with pytest.raises(TypeError, match="holds Python objects"):
        io.save(pyio.BytesIO(), {"w": np.array([{}, 1], dtype=object)})
    with pytest.raises(ValueError, match=r"under the key 'a\.b'"):
        io.save(pyio.BytesIO(), {"a.b": 1.0, "a": {"b": 2.0}})
    with pytest.raises(ValueError, match="reserved"):
        io.save(pyio.BytesIO(), {"__chainrule__": 1.0})


class _Boom:
    ran = False

    def __reduce__(self) -> Any:
        return (_Boom._explode, ())

    @staticmethod
    def _explode() -> None:
        _Boom.ran = True


def test_pickled_content_is_refused_and_never_run(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([_Boom()], dtype=object))
    with pytest.raises(io.LoadError, match=r"holds 'w' as Python objects"):
        io.load(path, like={"w": np.zeros(1)})
    assert not _Boom.ran
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match=r"not an \.npz archive"):
        io.load(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", np.zeros(2))
    with pytest.raises(ValueError, match=r"single \.npy array"):
        io.load(tmp_path / "single.npy")
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "missing.npz")


def test_unknown_format_version(tmp_path: Path) -> None:
    path = tmp_path / "future.npz"
    np.savez(path, __chainrule__=np.array(json.dumps({"format": "chainrule-pytree/9"})))
    with pytest.raises(ValueError, match="format 'chainrule-pytree/9'"):
        io.load(path)


def test_bfloat16_leaves_round_trip() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    tree = {"w": np.array([1.5, -2.0], dtype=ml_dtypes.bfloat16)}
    out = roundtrip(tree, like=tree)
    assert out["w"].dtype == tree["w"].dtype and np.array_equal(out["w"], tree["w"])
    assert roundtrip(tree)["w"].dtype == tree["w"].dtype


# --- writing atomically --------------------------------------------------------------------


def test_concurrent_saves_and_loads_never_collide(tmp_path: Path) -> None:
    # Two threads saving to one path used to share one temporary file name: saves failed
    # and readers saw corrupt archives. Each complete file is one tree or the other.
    path = tmp_path / "shared.npz"
    trees = [{"w": np.full(20_000, float(i)), "step": i} for i in range(2)]
    io.save(path, trees[0])
    errors: list[BaseException] = []
    seen: set[int] = set()
    stop = threading.Event()

    def writer(i: int) -> None:
        try:
            for _ in range(25):
                io.save(path, trees[i])
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            while not stop.is_set():
                out = io.load(path, like=trees[0])
                assert np.all(out["w"] == out["step"]), "a torn read"
                seen.add(out["step"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stop.set()
    watcher.join(timeout=60)
    assert not errors, errors[0]
    assert seen and seen <= {0, 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.npz"]  # no partial files


def test_save_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    target = tmp_path / "real" / "model.npz"
    target.parent.mkdir()
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    io.save(link, {"x": 1.0})
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert io.load(target) == {"x": 1.0}
    io.save(link, {"x": 2.0})
    assert link.is_symlink() and io.load(link) == {"x": 2.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.npz", "real"]


def test_atomic_write_keeps_the_old_file_on_error_and_respects_permissions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.txt"
    umask = os.umask(0o022)
    os.umask(umask)
    with io.atomic_write(path) as file:
        file.write(b"old")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # as open() would create it
    path.chmod(0o600)
    with pytest.raises(RuntimeError, match="midway"), io.atomic_write(path) as file:
        file.write(b"half of the new")
        raise RuntimeError("midway")
    assert path.read_bytes() == b"old"
    with io.atomic_write(path) as file:
        file.write(b"new")
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# --- files that are not what they claim ----------------------------------------------------


def npy(array: np.ndarray) -> bytes:
    buffer = pyio.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def described(meta: Any, **members: bytes) -> pyio.BytesIO:
    """An archive of raw members, with a description `meta` (JSON-encoded unless bytes)."""
    text = meta if isinstance(meta, str) else json.dumps(meta)
    return archive(
        {**{f"{k}.npy": v for k, v in members.items()}, "__chainrule__.npy": npy(np.array(text))}
    )


def archive(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> pyio.BytesIO:
    buffer = pyio.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(buffer, "w", compression) as z:
            for name, data in members.items():
                z.writestr(name.removesuffix("#2"), data)
    buffer.seek(0)
    return buffer


def leaf_spec(key: str = "w", shape: Any = (2,), dtype: str = "<f8", kind: str = "array") -> dict:
    return {"key": key, "kind": kind, "dtype": dtype, "shape": list(shape)}


GOOD = {"format": io.FORMAT, "nodes": {"": {"type": "dict"}}, "leaves": [leaf_spec()]}
W = npy(np.zeros(2))


def deep(levels: int) -> str:
    inner = "[" * levels + "]" * levels
    return json.dumps({**GOOD, "nodes": {"": {"type": "dict", "static": {"x": 0}}}}).replace(
        '"x": 0', f'"x": {inner}'
    )


FORGED = {
    "not JSON": (lambda: described("{not json", w=W), "is not JSON"),
    "not an object": (lambda: described([1, 2], w=W), "not a JSON object"),
    "description not a string": (
        lambda: archive({"w.npy": W, "__chainrule__.npy": npy(np.arange(3))}),
        "not the JSON description",
    ),
    "missing leaves": (
        lambda: described({"format": io.FORMAT, "nodes": {}}, w=W),
        "'leaves' are not",
    ),
    "nodes of the wrong type": (
        lambda: described({**GOOD, "nodes": [1]}, w=W),
        "'nodes' are not",
    ),
    "node type not a string": (
        lambda: described({**GOOD, "nodes": {"": {"type": 3}}}, w=W),
        "'nodes' are not",
    ),
    "shape of the wrong type": (
        lambda: described({**GOOD, "leaves": [leaf_spec(shape="2")]}, w=W),
        "'leaves' are not",
    ),
    "unknown kind": (
        lambda: described({**GOOD, "leaves": [leaf_spec(kind="pickle")]}, w=W),
        "'leaves' are not",
    ),
    "listed leaf missing": (
        lambda: described({**GOOD, "leaves": [leaf_spec(), leaf_spec("b")]}, w=W),
        "does not list its members",
    ),
    "shape differs from the header": (
        lambda: described({**GOOD, "leaves": [leaf_spec(shape=(3,))]}, w=W),
        "another shape",
    ),
    "dtype differs from the header": (
        lambda: described({**GOOD, "leaves": [leaf_spec(dtype="<f4")]}, w=W),
        "another dtype",
    ),
    "nested too deeply to parse": (lambda: described(deep(100_000), w=W), "is not JSON"),
    "nested deeply": (lambda: described(deep(500), w=W), "nested more than"),
    "duplicate members": (
        lambda: archive({"w.npy": W, "w.npy#2": W}),
        "holds the member 'w.npy' twice",
    ),
    "a ../ key": (lambda: archive({"../w.npy": W}), "not a member named key.npy"),
    "a raw member": (lambda: archive({"notes.txt": b"hello"}), "not a member named key.npy"),
    "raw bytes as .npy": (lambda: archive({"w.npy": b"\x00" * 64}), "not a .npy array"),
    "raw-bytes dtype": (lambda: archive({"w.npy": npy(np.zeros(2, "V8"))}), "raw bytes"),
    "object dtype": (
        lambda: archive({"w.npy": npy(np.array([None, 1], dtype=object))}),
        "as Python objects",
    ),
    "a header larger than its data": (
        lambda: archive({"w.npy": npy(np.zeros(2))[:-8]}),
        "does not fit its",
    ),
    "an unknown .npy version": (
        lambda: archive({"w.npy": npy(np.zeros(2)).replace(b"NUMPY\x01", b"NUMPY\x07", 1)}),
        "not a .npy array",
    ),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_files_get_one_clear_load_error(case: str) -> None:
    make, message = FORGED[case]
    for like in (None, {"w": np.zeros(2)}):
        with pytest.raises(io.LoadError, match=re.escape(message)) as info:
            io.load(make(), like)
        assert str(info.value).startswith("load: ")


def test_a_damaged_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    io.save(path, {"w": np.arange(1000.0)})
    data = bytearray(path.read_bytes())
    data[data.index(npy(np.arange(1000.0))[-100:])] ^= 0xFF  # flip a bit of the array data
    path.write_bytes(bytes(data))
    with pytest.raises(io.LoadError, match="damaged 'w'"):
        io.load(path, like={"w": np.zeros(1000)})


def test_save_refuses_keys_that_leave_the_archive_and_raw_bytes() -> None:
    with pytest.raises(ValueError, match="path separator"):
        io.save(pyio.BytesIO(), {"../evil": 1.0})
    with pytest.raises(TypeError, match="raw bytes"):
        io.save(pyio.BytesIO(), {"w": np.zeros(2, "V8")})
    with pytest.raises(ValueError, match="load: max_bytes must be at least 0, got -1"):
        io.load(pyio.BytesIO(), max_bytes=-1)
    with pytest.raises(TypeError, match=r"load: max_bytes must be an int, got 1e\+20"):
        io.load(pyio.BytesIO(), max_bytes=1e20)


def zip_bomb(path: Path, inflated: int) -> None:
    """A one-member .npz whose ``w.npy`` inflates to `inflated` bytes of zeros (a multiple of
    16 MiB), built from one deflated block repeated, never holding the zeros in memory."""
    header = pyio.BytesIO()
    np.lib.format.write_array_header_2_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (inflated // 8,)}
    )
    zeros, blocks = bytes(1 << 24), inflated >> 24
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as in a zip member
    # A full flush restarts the dictionary, so every block of zeros deflates alike.
    head = deflate.compress(header.getvalue()) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    data = head + block * blocks + deflate.flush()
    crc = zlib.crc32(header.getvalue())
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    name = b"w.npy"
    # version 2.0, no flags, deflate, 1980-01-01 00:00, crc, sizes, name length
    fields = (20, 0, 8, 0, 0x21, crc, len(data), len(header.getvalue()) + inflated, len(name))
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, 0, 0)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), len(local) + len(data), 0
    )
    path.write_bytes(local + data + central + name + end)


def test_the_zip_bomb_helper_makes_a_valid_archive(tmp_path: Path) -> None:
    zip_bomb(tmp_path / "small.npz", 1 << 25)
    with zipfile.ZipFile(tmp_path / "small.npz") as z:
        assert z.testzip() is None
    assert np.array_equal(io.load(tmp_path / "small.npz")["w"], np.zeros(1 << 22))


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    zip_bomb(path, 2 << 30)  # 2 GiB of zeros in 2 MB
    assert path.stat().st_size < 3 << 20
    tracemalloc.start()
    try:
        with pytest.raises(io.LoadError, match=r"has shape \(268435456,\) in the file but \(3,\)"):
            io.load(path, like={"w": np.zeros(3)})
        with pytest.raises(io.LoadError, match="more than max_bytes=1,073,741,824"):
            io.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"loading allocated {peak:,} bytes"


def test_max_bytes_bounds_loads_without_a_template() -> None:
    buffer = pyio.BytesIO()
    io.save(buffer, {"w": np.zeros(100)})
    buffer.seek(0)
    with pytest.raises(io.LoadError, match="800 bytes of arrays, more than max_bytes=799"):
        io.load(buffer, max_bytes=799)
    buffer.seek(0)
    assert io.load(buffer, max_bytes=800)["w"].shape == (100,)
