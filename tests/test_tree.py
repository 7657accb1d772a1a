"""Tests for chainrule.tree: flatten/unflatten round trips, structure equality, registration."""

from __future__ import annotations

import dataclasses
import doctest
from collections import OrderedDict, namedtuple
from typing import Any, NamedTuple

import numpy as np
import pytest

from chainrule import tree


class Point(NamedTuple):
    x: Any
    y: Any


class Other(NamedTuple):
    x: Any
    y: Any


PointFactory = namedtuple("PointFactory", ["a", "b", "c"])


class Box:
    """A user class registered by hand, with a label that belongs to the structure."""

    def __init__(self, label: str, items: list[Any]) -> None:
        self.label = label
        self.items = items


tree.register(
    Box,
    lambda box: (box.items, box.label),
    lambda label, children: Box(label, list(children)),
)


def round_trip(x: Any) -> Any:
    values, treedef = tree.flatten(x)
    assert treedef.num_leaves == len(values)
    return tree.unflatten(treedef, values)


# --- round trips and leaf order ------------------------------------------------------------


@pytest.mark.parametrize(
    "x",
    [
        1.0,
        "a string",
        (),
        [],
        {},
        None,
        (1, 2, 3),
        [1, 2, 3],
        {"a": 1, "b": 2},
        (1,),
        [None, (), [], {}],
        {"a": (1, [2, {"b": 3, "c": None}]), "d": [4, (5,)]},
        Point(1, (2, 3)),
        [Point([1], {"k": 2}), PointFactory(1, None, (2,))],
        OrderedDict([("z", 1), ("a", [2, 3])]),
        {"od": OrderedDict([("b", 1), ("a", 2)]), "t": (Point(3, 4),)},
    ],
)
def test_round_trip_builtin_containers(x: Any) -> None:
    y = round_trip(x)
    assert y == x
    assert type(y) is type(x)
    assert tree.structure(y) == tree.structure(x)


def test_round_trip_keeps_leaf_objects() -> None:
    a, b = np.arange(3.0), np.ones((2, 2))
    values, treedef = tree.flatten({"a": a, "b": (b, 2.5)})
    assert values[0] is a and values[1] is b and values[2] == 2.5
    rebuilt = treedef.unflatten(values)
    assert rebuilt["a"] is a and rebuilt["b"][0] is b


def test_leaf_order_is_depth_first_left_to_right() -> None:
    x = [1, (2, [3, 4]), {"b": 6, "a": 5}, Point(7, 8), OrderedDict([("y", 9), ("x", 10)])]
    assert tree.leaves(x) == list(range(1, 11))


def test_leaves_of_a_single_leaf() -> None:
    a = np.zeros(2)
    values, treedef = tree.flatten(a)
    assert values == [a] and values[0] is a
    assert treedef.num_leaves == 1
    assert repr(treedef) == "TreeDef(*)"
    assert treedef.unflatten([7]) == 7


def test_strings_numbers_arrays_and_unknown_objects_are_leaves() -> None:
    obj = object()
    x = ["abc", 1, 2.0, np.float64(3.0), np.ones(2), obj, b"bytes"]
    values = tree.leaves(x)
    assert len(values) == len(x)
    assert all(v is w for v, w in zip(values, x, strict=True))


def test_tuple_subclass_without_fields_is_a_leaf() -> None:
    class MyTuple(tuple):  # type: ignore[type-arg]
        pass

    t = MyTuple((1, 2))
    assert tree.leaves([t]) == [t]


def test_none_is_a_node_without_children() -> None:
    assert tree.leaves(None) == []
    assert tree.leaves([None, 1, None]) == [1]
    treedef = tree.structure(None)
    assert treedef.num_leaves == 0
    assert treedef.unflatten([]) is None
    assert tree.structure([None]) != tree.structure([1])


def test_unflatten_accepts_any_iterable() -> None:
    treedef = tree.structure((0, [0, 0]))
    assert treedef.unflatten(iter([1, 2, 3])) == (1, [2, 3])
    assert tree.unflatten(treedef, (x for x in "abc")) == ("a", ["b", "c"])


def test_deep_nesting_round_trips() -> None:
    x: Any = 1.0
    for i in range(600):  # well past what recursing through C (tuple ==, hash) allows
        x = [x] if i % 2 else (x,)
    values, treedef = tree.flatten(x)
    assert values == [1.0]
    assert treedef.unflatten([2.0]) == tree.map(lambda _: 2.0, x)
    assert treedef == tree.structure(x)
    assert hash(treedef) == hash(tree.structure(x))
    assert repr(treedef).count("*") == 1


# --- dicts ---------------------------------------------------------------------------------


def test_dict_children_in_sorted_key_order() -> None:
    values, treedef = tree.flatten({"c": 3, "a": 1, "b": 2})
    assert values == [1, 2, 3]
    rebuilt = treedef.unflatten([10, 20, 30])
    assert rebuilt == {"a": 10, "b": 20, "c": 30}
    assert list(rebuilt) == ["a", "b", "c"]


def test_dicts_with_same_keys_have_equal_structure_whatever_the_insertion_order() -> None:
    d1 = {"x": 1, "y": (2, 3)}
    d2 = {"y": (20, 30), "x": 10}
    s1, s2 = tree.structure(d1), tree.structure(d2)
    assert s1 == s2
    assert hash(s1) == hash(s2)
    assert repr(s1) == repr(s2) == "TreeDef({'x': *, 'y': (*, *)})"


def test_dicts_with_different_keys_differ() -> None:
    assert tree.structure({"a": 1}) != tree.structure({"b": 1})
    assert tree.structure({"a": 1}) != tree.structure({"a": 1, "b": 2})


def test_unsortable_keys_fall_back_to_insertion_order() -> None:
    d = {"b": 1, 2: "two", None: 3}
    values, treedef = tree.flatten(d)
    assert values == [1, "two", 3]
    rebuilt = treedef.unflatten(values)
    assert rebuilt == d
    assert list(rebuilt) == ["b", 2, None]


def test_ordered_dict_keeps_its_order_and_differs_from_dict() -> None:
    od = OrderedDict([("z", 1), ("a", 2)])
    values, treedef = tree.flatten(od)
    assert values == [1, 2]
    rebuilt = treedef.unflatten([3, 4])
    assert type(rebuilt) is OrderedDict
    assert list(rebuilt.items()) == [("z", 3), ("a", 4)]
    assert treedef != tree.structure({"z": 1, "a": 2})
    assert treedef != tree.structure(OrderedDict([("a", 2), ("z", 1)]))
    assert repr(treedef) == "TreeDef(OrderedDict({'z': *, 'a': *}))"


# --- namedtuples ---------------------------------------------------------------------------


def test_namedtuple_type_is_preserved() -> None:
    values, treedef = tree.flatten(Point(1.0, [2.0]))
    assert values == [1.0, 2.0]
    rebuilt = treedef.unflatten([3.0, 4.0])
    assert type(rebuilt) is Point
    assert rebuilt == Point(3.0, [4.0])
    factory = round_trip(PointFactory(1, 2, 3))
    assert type(factory) is PointFactory and factory.c == 3


def test_namedtuple_structure_depends_on_its_type() -> None:
    assert tree.structure(Point(1, 2)) == tree.structure(Point(3, 4))
    assert tree.structure(Point(1, 2)) != tree.structure(Other(1, 2))
    assert tree.structure(Point(1, 2)) != tree.structure((1, 2))


# --- registered classes --------------------------------------------------------------------


def test_registered_class_round_trip() -> None:
    values, treedef = tree.flatten(Box("w", [1.0, (2.0, 3.0)]))
    assert values == [1.0, 2.0, 3.0]
    rebuilt = treedef.unflatten([4.0, 5.0, 6.0])
    assert isinstance(rebuilt, Box)
    assert rebuilt.label == "w"
    assert rebuilt.items == [4.0, (5.0, 6.0)]
    assert repr(treedef) == "TreeDef(Box['w'](*, (*, *)))"


def test_registered_class_aux_data_is_part_of_the_structure() -> None:
    assert tree.structure(Box("a", [1])) == tree.structure(Box("a", [2]))
    assert tree.structure(Box("a", [1])) != tree.structure(Box("b", [1]))
    assert hash(tree.structure(Box("a", [1]))) == hash(tree.structure(Box("a", [9])))


def test_register_a_type_already_seen_as_a_leaf() -> None:
    class Late:
        def __init__(self, v: Any) -> None:
            self.v = v

    obj = Late(1.0)
    assert tree.leaves(obj) == [obj]
    tree.register(Late, lambda o: ((o.v,), None), lambda _, children: Late(*children))
    assert tree.leaves(Late(2.0)) == [2.0]
    assert repr(tree.structure(Late(2.0))) == "TreeDef(Late(*))"


def test_registering_twice_raises() -> None:
    class Twice:
        pass

    tree.register(Twice, lambda o: ((), None), lambda _, __: Twice())
    with pytest.raises(ValueError, match="Twice is already registered"):
        tree.register(Twice, lambda o: ((), None), lambda _, __: Twice())


@pytest.mark.parametrize("builtin", [tuple, list, dict, OrderedDict, type(None)])
def test_registering_a_builtin_container_raises(builtin: type) -> None:
    with pytest.raises(ValueError, match="already registered"):
        tree.register(builtin, lambda o: ((), None), lambda _, __: None)


# --- dataclasses ---------------------------------------------------------------------------


@tree.register_dataclass
@dataclasses.dataclass
class Bare:
    w: Any
    b: Any
    name: str = dataclasses.field(default="layer", metadata={"static": True})


@tree.register_dataclass(data_fields=["w"], meta_fields=["act"])
@dataclasses.dataclass
class WithArgs:
    w: Any
    act: str


@dataclasses.dataclass
class Called:
    a: Any
    n: int = dataclasses.field(default=0, metadata={"static": True})


assert tree.register_dataclass(Called) is Called


@pytest.mark.parametrize(
    ("obj", "n_leaves", "text"),
    [
        (Bare(1.0, 2.0), 2, "TreeDef(Bare(w=*, b=*, name='layer'))"),
        (WithArgs((1.0, 2.0), "relu"), 2, "TreeDef(WithArgs(w=(*, *), act='relu'))"),
        (Called([1.0], n=3), 1, "TreeDef(Called(a=[*], n=3))"),
    ],
)
def test_register_dataclass_call_forms(obj: Any, n_leaves: int, text: str) -> None:
    values, treedef = tree.flatten(obj)
    assert len(values) == n_leaves
    assert repr(treedef) == text
    rebuilt = treedef.unflatten(values)
    assert type(rebuilt) is type(obj)
    assert rebuilt == obj


def test_static_fields_are_not_leaves_but_part_of_the_structure() -> None:
    assert tree.leaves(Bare(1.0, 2.0, name="x")) == [1.0, 2.0]
    assert tree.structure(Bare(1.0, 2.0, "x")) == tree.structure(Bare(3.0, 4.0, "x"))
    assert tree.structure(Bare(1.0, 2.0, "x")) != tree.structure(Bare(1.0, 2.0, "y"))
    assert hash(tree.structure(Bare(1, 2, "x"))) == hash(tree.structure(Bare(5, 6, "x")))
    assert tree.map(lambda v: v * 10, Bare(1.0, 2.0, "x")) == Bare(10.0, 20.0, "x")
    assert tree.leaves(WithArgs(1.0, "tanh")) == [1.0]
    assert tree.structure(WithArgs(1.0, "a")) != tree.structure(WithArgs(1.0, "b"))


def test_frozen_dataclass_rebuilt_without_init_or_post_init() -> None:
    calls: list[str] = []

    @tree.register_dataclass
    @dataclasses.dataclass(frozen=True)
    class Checked:
        x: Any
        scale: float = dataclasses.field(default=1.0, metadata={"static": True})

        def __post_init__(self) -> None:
            calls.append("post_init")
            if not isinstance(self.x, float):
                raise TypeError("x must be a float")

    original = Checked(1.0, scale=2.0)
    assert calls == ["post_init"]
    values, treedef = tree.flatten(original)
    assert values == [1.0]
    rebuilt = treedef.unflatten(["not a float"])
    assert calls == ["post_init"]  # neither __init__ nor __post_init__ ran again
    assert type(rebuilt) is Checked
    assert rebuilt.x == "not a float"
    assert rebuilt.scale == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        rebuilt.x = 3.0  # type: ignore[misc]


def test_slotted_dataclass_round_trip() -> None:
    @tree.register_dataclass
    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        a: Any
        b: Any

    assert round_trip(Slotted(1, [2])) == Slotted(1, [2])


def test_register_dataclass_errors() -> None:
    class NotADataclass:
        pass

    with pytest.raises(TypeError, match="dataclass"):
        tree.register_dataclass(NotADataclass)

    @dataclasses.dataclass
    class D:
        a: Any
        b: Any

    with pytest.raises(TypeError, match="both data_fields and meta_fields"):
        tree.register_dataclass(D, data_fields=["a", "b"])
    with pytest.raises(ValueError, match=r"unknown: \['c'\]"):
        tree.register_dataclass(D, data_fields=["a", "b"], meta_fields=["c"])
    with pytest.raises(ValueError, match=r"missing: \['b'\]"):
        tree.register_dataclass(D, data_fields=["a"], meta_fields=[])
    with pytest.raises(ValueError, match=r"repeated: \['a'\]"):
        tree.register_dataclass(D, data_fields=["a", "b"], meta_fields=["a"])
    tree.register_dataclass(D)
    with pytest.raises(ValueError, match="D is already registered"):
        tree.register_dataclass(D)


# --- is_leaf and map -----------------------------------------------------------------------


def test_is_leaf_stops_recursion() -> None:
    x = {"pairs": [(1, 2), (3, 4)], "single": 5}
    values, treedef = tree.flatten(x, is_leaf=lambda v: isinstance(v, tuple))
    assert values == [(1, 2), (3, 4), 5]
    assert repr(treedef) == "TreeDef({'pairs': [*, *], 'single': *})"
    assert treedef.unflatten(values) == x
    assert tree.leaves(x, is_leaf=lambda v: isinstance(v, list)) == [[(1, 2), (3, 4)], 5]
    assert tree.structure(x, is_leaf=lambda v: v is x) == tree.structure(0)


def test_map_single_tree() -> None:
    x = {"a": [1, 2], "b": (3, None), "c": Point(4, 5)}
    assert tree.map(lambda v: v + 1, x) == {"a": [2, 3], "b": (4, None), "c": Point(5, 6)}


def test_map_several_trees() -> None:
    a = {"w": np.array([1.0, 2.0]), "b": 3.0}
    b = {"b": 30.0, "w": np.array([10.0, 20.0])}
    c = {"w": np.array([100.0, 200.0]), "b": 300.0}
    out = tree.map(lambda x, y, z: x + y + z, a, b, c)
    assert out["b"] == 333.0
    np.testing.assert_array_equal(out["w"], [111.0, 222.0])


def test_map_with_is_leaf() -> None:
    out = tree.map(lambda p: p[0] * p[1], [(2, 3), (4, 5)], is_leaf=lambda v: isinstance(v, tuple))
    assert out == [6, 20]


def test_map_structure_mismatch_shows_both_structures() -> None:
    with pytest.raises(ValueError) as info:
        tree.map(lambda x, y: x + y, {"a": 1, "b": (2, 3)}, {"a": 1, "b": [2, 3]})
    message = str(info.value)
    assert "TreeDef({'a': *, 'b': (*, *)})" in message
    assert "TreeDef({'a': *, 'b': [*, *]})" in message
    expected = (
        "tree 3 has a different structure from tree 1:\n"
        "  tree 1: TreeDef((*, *))\n"
        "  tree 3: TreeDef((*, *, *))"
    )
    with pytest.raises(ValueError) as info:
        tree.map(lambda x, y, z: x, (1, 2), (1, 2), (1, 2, 3))
    assert expected in str(info.value)


def test_map_rejects_rest_trees_that_are_deeper() -> None:
    with pytest.raises(ValueError, match="different structure"):
        tree.map(lambda x, y: x, [1, 2], [1, (2, 3)])


# --- unflatten errors and TreeDef ----------------------------------------------------------


def test_unflatten_wrong_leaf_count() -> None:
    treedef = tree.structure({"a": 1, "b": (2, 3)})
    with pytest.raises(ValueError, match=r"expects 3 leaves, but 2 were given"):
        tree.unflatten(treedef, [1, 2])
    with pytest.raises(ValueError, match=r"expects 3 leaves, but 4 were given"):
        treedef.unflatten([1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"TreeDef\(\*\) expects 1 leaves, but 0 were given"):
        tree.structure(1.0).unflatten([])


@pytest.mark.parametrize(
    ("x", "text"),
    [
        ({"a": 1, "b": (2, [3, 4]), "c": None}, "TreeDef({'a': *, 'b': (*, [*, *]), 'c': None})"),
        (Point(1, 2), "TreeDef(Point(x=*, y=*))"),
        (Point((1,), []), "TreeDef(Point(x=(*,), y=[]))"),
        ((), "TreeDef(())"),
        ({}, "TreeDef({})"),
        (None, "TreeDef(None)"),
        ([1, {2: 3}], "TreeDef([*, {2: *}])"),
        (np.ones(3), "TreeDef(*)"),
    ],
)
def test_repr(x: Any, text: str) -> None:
    assert repr(tree.structure(x)) == text


def test_treedef_equality_and_hash() -> None:
    s = tree.structure((1, [2, 3]))
    assert s == tree.structure(("a", ["b", "c"]))
    assert s != tree.structure((1, (2, 3)))
    assert s != tree.structure([1, [2, 3]])
    assert s != tree.structure((1, [2]))
    assert s != "not a treedef"
    cache = {s: "hit"}
    assert cache[tree.structure((9, [8, 7]))] == "hit"
    assert tree.structure(1) == tree.structure(np.ones(2))


def test_num_leaves() -> None:
    assert tree.structure({"a": [1, 2], "b": None, "c": ((), 3)}).num_leaves == 3
    assert tree.structure([]).num_leaves == 0


def test_public_names() -> None:
    assert sorted(tree.__all__) == sorted(
        [
            "TreeDef",
            "flatten",
            "unflatten",
            "leaves",
            "structure",
            "map",
            "register",
            "register_dataclass",
            "register_with_keys",
            "flatten_with_path",
            "leaves_with_path",
            "map_with_path",
            "flatten_one_level_with_keys",
            "keystr",
            "KeyEntry",
            "KeyPath",
            "SequenceKey",
            "DictKey",
            "GetAttrKey",
            "FlattenedIndexKey",
        ]
    )


def test_docstring_examples() -> None:
    result = doctest.testmod(tree)
    assert result.attempted > 0
    assert result.failed == 0


# --- paths --------------------------------------------------------------------------------


def test_key_reprs_and_strings_are_jax_s() -> None:
    keys = [tree.SequenceKey(0), tree.DictKey("w"), tree.GetAttrKey("b"), tree.FlattenedIndexKey(2)]
    assert [repr(k) for k in keys] == [
        "SequenceKey(idx=0)",
        "DictKey(key='w')",
        "GetAttrKey(name='b')",
        "FlattenedIndexKey(key=2)",
    ]
    assert tree.keystr(tuple(keys)) == "[0]['w'].b[<flat index 2>]"
    assert tree.keystr(tuple(keys), simple=True, separator="/") == "0/w/b/2"
    assert tree.DictKey("w") == tree.DictKey("w") and hash(tree.SequenceKey(1)) == hash(
        tree.SequenceKey(1)
    )


def test_paths_follow_flatten_order_and_structure() -> None:
    Pair = namedtuple("Pair", "u v")
    x = {"b": [1.0, (2.0, None)], "a": Pair(3.0, {"z": 4.0}), "c": OrderedDict(q=5.0)}
    pairs, treedef = tree.flatten_with_path(x)
    assert [leaf for _, leaf in pairs] == tree.leaves(x)
    assert treedef == tree.structure(x)
    assert [tree.keystr(p) for p, _ in pairs] == [
        "['a'].u",
        "['a'].v['z']",
        "['b'][0]",
        "['b'][1][0]",
        "['c']['q']",
    ]
    assert tree.leaves_with_path(x) == pairs
    assert tree.flatten_with_path(7.0) == ([((), 7.0)], tree.structure(7.0))


def test_paths_with_is_leaf() -> None:
    x = [(1, 2), {"k": (3,)}]
    got = tree.leaves_with_path(x, is_leaf=lambda y: isinstance(y, tuple))
    assert got == [
        ((tree.SequenceKey(0),), (1, 2)),
        ((tree.SequenceKey(1), tree.DictKey("k")), (3,)),
    ]


def test_dataclass_and_module_paths_use_attribute_names() -> None:
    import chainrule as cr

    @tree.register_dataclass
    @dataclasses.dataclass
    class Layer:
        w: float
        b: float
        act: str = dataclasses.field(default="relu", metadata={"static": True})

    assert [p for p, _ in tree.leaves_with_path(Layer(1.0, 2.0))] == [
        (tree.GetAttrKey("w"),),
        (tree.GetAttrKey("b"),),
    ]
    model = cr.nn.MLP([2, 3, 1], rng=0)
    names = [tree.keystr(p) for p, _ in tree.leaves_with_path(model)]
    assert names == [".layers[0].weight", ".layers[0].bias", ".layers[1].weight", ".layers[1].bias"]


def test_register_without_keys_gives_flat_indices() -> None:
    class Box:
        def __init__(self, a: Any, b: Any) -> None:
            self.a, self.b = a, b

    tree.register(Box, lambda x: ((x.a, x.b), None), lambda _, c: Box(*c))
    assert [tree.keystr(p) for p, _ in tree.leaves_with_path(Box(1, [2]))] == [
        "[<flat index 0>]",
        "[<flat index 1>][0]",
    ]


def test_map_with_path() -> None:
    got = tree.map_with_path(
        lambda p, x, y: (tree.keystr(p), x + y), {"a": 1, "b": (2,)}, {"a": 10, "b": (20,)}
    )
    assert got == {"a": ("['a']", 11), "b": (("['b'][0]", 22),)}
    with pytest.raises(ValueError, match="map_with_path: tree 2 has a different structure"):
        tree.map_with_path(lambda p, x, y: x, [1], (1,))


def test_flatten_one_level_with_keys() -> None:
    pairs, aux = tree.flatten_one_level_with_keys([1.0, [2.0]])
    assert pairs == [(tree.SequenceKey(0), 1.0), (tree.SequenceKey(1), [2.0])] and aux is None
    with pytest.raises(ValueError, match="leaf"):
        tree.flatten_one_level_with_keys(1.0)


class _Gen:
    """A node whose flatten gives its children as a generator."""

    def __init__(self, *items: Any) -> None:
        self.items = items


tree.register(_Gen, lambda g: ((x for x in g.items), len(g.items)), lambda n, c: _Gen(*c))


def test_keyed_keys_are_equal_exactly_when_structures_are() -> None:
    # (the key `jit` looks its cache up by, instead of building a TreeDef per call)
    Point = namedtuple("Point", "x y")
    trees = [
        [[1.0], 2.0], [1.0, [2.0]], [1.0, 2.0], ([1.0], 2.0), [[1.0, 2.0]], [[], 1.0, 2.0],
        {"a": 1.0, "b": [2.0]}, {"a": [1.0], "b": 2.0}, {"a": 1.0, "c": [2.0]},
        Point(1.0, [2.0]), (1.0, [2.0]), [None, 1.0, 2.0], [1.0, None, 2.0],
        _Gen(1.0, [2.0]), _Gen([1.0], 2.0), OrderedDict(a=1.0, b=[2.0]),
    ]  # fmt: skip
    for a in trees:
        leaves: list[Any] = []
        key: list[Any] = []
        others: list[int] = []
        tree.keyed(a, leaves, key, others)
        assert leaves == tree.leaves(a)
        assert others == list(range(len(leaves)))  # (Python numbers: not arrays)
        for b in trees:
            other: list[Any] = []
            tree.keyed(b, [], other, [])
            assert (tuple(key) == tuple(other)) == (tree.structure(a) == tree.structure(b))
            assert (tuple(key) == tuple(other)) == (a is b)


def test_keyed_keys_tell_arrays_by_shape_and_dtype_and_numbers_by_type() -> None:
    def key(t: Any) -> tuple[tuple[Any, ...], list[int]]:
        k: list[Any] = []
        others: list[int] = []
        tree.keyed(t, [], k, others)
        return tuple(k), others

    f32 = np.zeros((2, 3), np.float32)
    assert key([f32, 1.0]) == key([np.ones((2, 3), np.float32), 2.0])
    assert key([f32, 1.0])[1] == [1]  # (the number's position among the leaves)
    for changed in (np.zeros((3, 2), np.float32), np.zeros((2, 3)), np.float32(0.0), 1.0):
        assert key([f32, 1.0]) != key([changed, 1.0])
    assert key([f32, 1.0]) != key([f32, 1])  # (a float and an int trace differently)
    assert key(f32) == key(np.ones((2, 3), np.float32)) != key(np.zeros(3))  # (an array alone)
    assert key(f32)[1] == []
