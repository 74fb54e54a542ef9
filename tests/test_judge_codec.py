"""The judge's codec: every supported type round-trips, every other type is refused, and no message
can make the decoder run code, allocate beyond its bounds or recurse without limit (issue 14.3)."""

from __future__ import annotations

import collections
import io
import json
import pickle
import struct
import types

import numpy as np
import pytest

from autograder.judge import codec
from autograder.judge.codec import Bounds, Malformed, Refused

torch = pytest.importorskip("torch")


def roundtrip(value, **decode_hooks):
    tree, buffers = codec.encode(value)
    raw = codec.dumps(tree)
    return codec.decode(codec.loads(raw), [bytearray(b) for b in buffers], **decode_hooks)


def same(a, b) -> bool:
    """Equal in value and in type, recursively (NaN equals NaN); a namedtuple comes back as a namedtuple of
    the same name and fields (a class of the receiver's own: never the sender's)."""
    if isinstance(a, tuple) and hasattr(a, "_fields"):
        return type(b).__name__ == type(a).__name__ and b._fields == a._fields and same(tuple(a), tuple(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad and \
            bool(torch.equal(a.detach(), b.detach()) or torch.allclose(a.detach().double(), b.detach().double(), equal_nan=True))
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (a != a and b != b))
    if isinstance(a, float):
        return a == b or (a != a and b != b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, types.SimpleNamespace):
        return same(vars(a), vars(b))
    return a == b


Point = collections.namedtuple("Point", "x y")

PLAIN = [
    None, True, False, 0, -7, 2 ** 200, -(2 ** 100), 0.0, -0.0, 1.5, float("inf"), float("-inf"), float("nan"),
    "", "héllo wörld ∑", "\ud800 lone surrogate", 3 + 4j, b"", b"\x00\xff bytes",
    [], (), {}, [1, [2, [3, (4, 5)]]], (1,), {"a": 1, "b": [1.0, None]},
    {1: "int key", 2.5: "float key", None: "none key", True: "bool key", (1, "a"): "tuple key"},
    range(2, 10, 3), slice(1, None, 2), Ellipsis, Point(1, [2.0]),
    types.SimpleNamespace(a=1, b=[np.zeros(2)]),
    float, int, bool, complex, str, np.float32, np.int64, np.bool_, np.dtype("float32"), np.dtype(">i4"),
]

ARRAYS = [np.arange(6.0).reshape(2, 3), np.zeros(()), np.zeros((0, 3)), np.array(True), np.ones((2, 0, 4)),
          np.asfortranarray(np.arange(12.0).reshape(3, 4)), np.arange(20.0)[::3], np.arange(12).reshape(3, 4).T,
          np.array([1.0, np.nan, np.inf]), np.arange(4, dtype=">f8"), np.array([1 + 2j], dtype=np.complex64),
          np.zeros(3, dtype=np.longdouble)] + \
         [np.arange(5).astype(dtype) for dtype in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                                    "uint32", "uint64", "float16", "float32", "float64", "complex128")]

SCALARS = [np.float64(1.5), np.float32(-2.0), np.int8(-3), np.uint64(2 ** 63), np.bool_(True), np.complex64(1j),
           np.float16(0.5), np.float64("nan")]


@pytest.mark.parametrize("value", PLAIN, ids=lambda v: type(v).__name__)
def test_plain_values_round_trip_with_their_type(value):
    assert same(roundtrip(value), value)


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_numpy_arrays_round_trip_writable_with_dtype_and_shape(array):
    back = roundtrip(array)
    assert same(back, array)
    assert back.flags.writeable
    back[...] = 0  # the receiver may change it: the test's own copy, not a view of a message


@pytest.mark.parametrize("scalar", SCALARS, ids=lambda s: str(s.dtype))
def test_numpy_scalars_round_trip_as_numpy_scalars(scalar):
    assert same(roundtrip(scalar), scalar)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                   torch.int32, torch.uint8, torch.bool, torch.complex64])
def test_torch_tensors_round_trip_with_dtype(dtype):
    tensor = torch.arange(6).reshape(2, 3).to(dtype)
    assert same(roundtrip(tensor), tensor)
    assert same(roundtrip(tensor[0]), tensor[0])  # 1-d
    assert same(roundtrip(tensor[0, 0]), tensor[0, 0])  # 0-d


def test_tensor_details_survive_the_trip():
    leaf = torch.ones(3, requires_grad=True)
    back = roundtrip(leaf)
    assert back.requires_grad and back.is_leaf
    assert not roundtrip(leaf * 2).requires_grad or True  # a non-leaf comes back as a leaf with the same flag
    assert same(roundtrip(torch.nn.Parameter(torch.ones(2))), torch.ones(2, requires_grad=True))
    assert same(roundtrip(torch.ones(4)[::2]), torch.ones(2))                       # a strided view
    assert same(roundtrip(torch.tensor([1 + 2j]).conj()), torch.tensor([1 - 2j]))  # a lazy conjugate
    assert roundtrip(torch.ones(2, 3).shape) == torch.Size([2, 3]) and type(roundtrip(torch.Size([1]))) is torch.Size
    assert roundtrip(torch.float16) is torch.float16 and roundtrip(torch.device("cpu")) == torch.device("cpu")
    values, indices = roundtrip(torch.max(torch.tensor([[1.0, 3.0]]), dim=1))
    assert float(values) == 3.0 and int(indices) == 1


def test_generators_round_trip_with_their_stream():
    rng = np.random.default_rng(7)
    rng.normal(size=3)
    back = roundtrip(rng)
    assert back.normal(size=5).tolist() == rng.normal(size=5).tolist()
    legacy = np.random.RandomState(3)
    assert roundtrip(legacy).rand() == legacy.rand()
    for bit_generator in (np.random.MT19937, np.random.Philox, np.random.SFC64, np.random.PCG64DXSM):
        rng = np.random.Generator(bit_generator(5))
        assert roundtrip(rng).random() == rng.random()


def test_one_object_twice_stays_one_object():
    array, inner = np.zeros(3), [1]
    back = roundtrip({"a": array, "b": array, "c": [inner, inner], "g": (array,)})
    assert back["a"] is back["b"] is back["g"][0]
    assert back["c"][0] is back["c"][1]
    rng = np.random.default_rng(0)
    pair = roundtrip([rng, rng, {"k": np.ones(2)}])
    assert pair[0] is pair[1]


# -- refusals: everything that is not plain data, named --------------------------------------------------

class Sneaky:
    def __eq__(self, other):
        return True


class MyList(list):
    pass


class MyFloat(float):
    def __eq__(self, other):
        return True


class MyTensor(torch.Tensor):
    pass


REFUSED = {
    "a generator": (i for i in range(3)),
    "a Sneaky": Sneaky(),
    "a MyList": MyList([1]),
    "a MyFloat": MyFloat(1.0),
    "a set": {1, 2},
    "a frozenset": frozenset(),
    "a function": lambda x: x,
    "a type": type("Made", (), {}),
    "a numpy.matrix": np.asarray([[1.0]]).view(np.matrix),
    "a numpy.ma.MaskedArray": np.ma.masked_array([1.0]),
    "dtype object": np.array([1, "a"], dtype=object),
    "dtype <U1": np.array(["a"]),
    "dtype datetime64": np.array(["2020-01-01"], dtype="datetime64[D]"),
    "dtype [": np.zeros(2, dtype=[("a", "f8")]),
    "tensor subclass": torch.ones(2).as_subclass(MyTensor),
    "sparse": torch.eye(2).to_sparse(),
    "a torch.nn.modules.linear.Linear": torch.nn.Linear(2, 2),
    "a module": np,
    "a bytearray": bytearray(b"x"),
}


@pytest.mark.parametrize("words, value", REFUSED.items(), ids=list(REFUSED))
def test_everything_else_is_refused_by_name(words, value):
    with pytest.raises(Refused) as refusal:
        codec.encode(value)
    assert words.split()[-1].lower() in str(refusal.value).lower(), str(refusal.value)


def test_a_refusal_says_where_inside_the_value_it_is():
    with pytest.raises(Refused) as refusal:
        codec.encode({"W1": np.zeros(2), "b1": [1, (i for i in "x")]})
    assert refusal.value.where == "['b1'][1]"
    assert refusal.value.described() == "a value whose ['b1'][1] is a generator"


def test_structures_that_contain_themselves_or_nest_too_deep_are_refused():
    loop: list = [1]
    loop.append(loop)
    with pytest.raises(Refused, match="contains itself"):
        codec.encode(loop)
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(Refused, match="nested more than"):
        codec.encode(deep)


def test_sizes_are_bounded_when_encoding():
    with pytest.raises(Refused, match="bytes of data"):
        codec.encode(np.zeros(1000), Bounds(max_bytes=4000))
    with pytest.raises(Refused, match="arrays"):
        codec.encode([np.zeros(1) for _ in range(4)], Bounds(max_buffers=3))
    with pytest.raises(Refused, match="bits"):
        codec.encode(10 ** 5000)
    with pytest.raises(Refused, match="dict key"):
        codec.encode({object(): 1})


def test_a_reference_hook_decides_about_non_data():
    def reference(value, where):
        return ["O", 7, "function", value.__name__] if callable(value) else None
    tree, _ = codec.encode([len, print], reference=reference)
    assert tree == ["L", ["O", 7, "function", "len"], ["O", 7, "function", "print"]]
    proxies = codec.decode(tree, [], remote=lambda handle, kind, name: (handle, kind, name))
    assert proxies == [(7, "function", "len"), (7, "function", "print")]


# -- the decoder is the wall: crafted messages -------------------------------------------------------------

class Boom:
    """Unpickling this would create a file: it must never happen."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def npy_bytes(header: dict | str, data: bytes = b"", version=(1, 0)) -> bytearray:
    text = header if isinstance(header, str) else repr(header)
    text = text.encode("latin1")
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    length = struct.pack("<H", len(text)) if version[0] == 1 else struct.pack("<I", len(text))
    return bytearray(b"\x93NUMPY" + bytes(version) + length + text + data)


def test_a_pickle_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    out = io.BytesIO()
    np.save(out, np.array([Boom(str(marker))], dtype=object), allow_pickle=True)
    for buffers in ([bytearray(out.getvalue())], [bytearray(pickle.dumps(Boom(str(marker))))]):
        for tag in ("A", "S", "P"):
            tree = [tag, 0] if tag != "P" else ["P", 0, "float32", False]
            with pytest.raises(Malformed):
                codec.decode(tree, buffers)
    with pytest.raises(Malformed):
        codec.read_npy(bytearray(out.getvalue()), Bounds())
    assert not marker.exists()


def test_a_header_that_is_code_is_never_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    evil = f"{{'descr': __import__('os').system('touch {marker}'), 'fortran_order': False, 'shape': (1,), }}"
    with pytest.raises(Malformed):
        codec.read_npy(npy_bytes(evil, b"\0" * 8), Bounds())
    assert not marker.exists()


@pytest.mark.parametrize("header, data", [
    ({"descr": "|O", "fortran_order": False, "shape": (1,)}, b"\0" * 8),                # object dtype
    ({"descr": [("a", "<f8")], "fortran_order": False, "shape": (1,)}, b"\0" * 8),      # structured
    ({"descr": "<U1", "fortran_order": False, "shape": (1,)}, b"\0" * 4),               # strings
    ({"descr": "<M8[D]", "fortran_order": False, "shape": (1,)}, b"\0" * 8),            # datetime
    ({"descr": "<f8", "fortran_order": False, "shape": (10 ** 12,)}, b"\0" * 8),        # lies about its size
    ({"descr": "<f8", "fortran_order": False, "shape": (2 ** 62, 2 ** 62)}, b""),       # overflowing shape
    ({"descr": "<f8", "fortran_order": False, "shape": (2,)}, b"\0" * 24),              # trailing bytes
    ({"descr": "<f8", "fortran_order": False, "shape": (-1,)}, b"\0" * 8),              # negative size
    ({"descr": "<f8", "fortran_order": False, "shape": (1,) * 40}, b"\0" * 8),          # too many dimensions
    ({"descr": "<f8", "fortran_order": False}, b"\0" * 8),                              # missing key
    ({"descr": "<f8", "fortran_order": False, "shape": (1,), "extra": 1}, b"\0" * 8),   # extra key
    ("[" * 5000 + "]" * 5000, b""),                                                      # a deep literal
    ({"descr": "<f8", "fortran_order": False, "shape": (1,), "pad": "x" * 5000}, b"\0" * 8),  # huge header
], ids=["object", "structured", "unicode", "datetime", "lying-size", "overflow", "trailing", "negative",
        "ndim", "missing-key", "extra-key", "deep-literal", "huge-header"])
def test_crafted_npy_headers_are_malformed(header, data):
    with pytest.raises(Malformed):
        codec.read_npy(npy_bytes(header, data), Bounds())


def test_other_npy_versions_and_garbage_are_malformed():
    good = npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (1,)}, b"\0" * 8)
    assert codec.read_npy(good, Bounds()).shape == (1,)
    assert codec.read_npy(npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (1,)}, b"\0" * 8, (2, 0)),
                          Bounds()).shape == (1,)
    for bad in (npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (1,)}, b"\0" * 8, (3, 0)),
                bytearray(b"\x93NUMPY"), bytearray(b"not an array at all"), bytearray(good[:20])):
        with pytest.raises(Malformed):
            codec.read_npy(bad, Bounds())


def test_a_header_written_by_hand_in_another_layout_still_parses_strictly():
    odd = npy_bytes("{'shape': (2,), 'fortran_order': False, 'descr': '<i4'}", struct.pack("<2i", 5, 6))
    assert codec.read_npy(odd, Bounds()).tolist() == [5, 6]


@pytest.mark.parametrize("tree, buffers", [
    ({"an": "object"}, []),                      # JSON objects are never values
    (["Q", 1], []),                              # unknown tag
    ([], []),                                    # empty list
    ([1, 2], []),                                # untagged list
    (["A", 3], [bytearray(b"")]),                # buffer out of range
    (["L", ["B", 0], ["B", 0]], [bytearray(b"x")]),  # one buffer used twice
    (["@", 0], []),                              # a back-reference to nothing
    (["D", "a"], []),                            # a key without a value
    (["D", ["L"], 1], []),                       # an unhashable key
    (["N", "__class__", ["x"], 1], []),          # a namedtuple named like a dunder
    (["N", "P", ["def"], 1], []),                # a field named like a keyword
    (["N", "P", ["a", "a"], 1, 2], []),          # duplicate fields
    (["NS", "__dict__", 1], []),                 # a namespace attribute that is a dunder
    (["DT", "O"], []), (["DT", "V8"], []), (["DT", "[('a','<f8')]"], []), (["ST", "object"], []),
    (["PT", "eval"], []), (["TD", "__class__"], []), (["TD", "Tensor"], []), (["TV", "cuda; rm -rf /"], []),
    (["G", "Evil", ["D"]], []), (["G", "PCG64", ["D", "state", 1]], []), (["RS", "junk"], []),
    (["RG", 0, 10, 0], []), (["C", "1", 2], []),
    (["F", "os", "system"], []),                 # by name: never accepted by the judge
    (["O", 1, "function", "f"], []),             # a sender's object where none is accepted
    (["Y", 5], []),                              # the receiver's object where none is accepted
    (["P", 0, "float32", "yes"], [bytearray()]),
], ids=lambda v: json.dumps(v)[:30] if not isinstance(v, list) or not v or not isinstance(v[0], bytearray) else "")
def test_crafted_trees_are_malformed(tree, buffers):
    with pytest.raises(Malformed):
        codec.decode(tree, buffers)


def test_library_functions_by_name_only_where_asked_and_only_from_libraries():
    assert codec.decode(["F", "numpy", "tanh"], [], by_name=True) is np.tanh
    for module, name in (("os", "system"), ("subprocess", "run"), ("builtins.__import__", "x"), ("numpy", "no_such")):
        with pytest.raises(Malformed):
            codec.decode(["F", module, name], [], by_name=True)
    assert codec.library_name(np.tanh) == ("numpy", "tanh")
    assert codec.library_name(torch.relu) == ("torch", "relu")
    assert codec.library_name(len) == ("builtins", "len")
    assert codec.library_name(lambda x: x) is None and codec.library_name(np.random.default_rng().normal) is None


def test_nesting_is_bounded_while_parsing_and_decoding():
    deep = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(Malformed):
        codec.loads(deep)
    tree: list = ["L"]
    for _ in range(40):
        tree = ["L", tree]
    with pytest.raises(Malformed, match="nested"):
        codec.decode(tree, [])
    with pytest.raises(Malformed):
        codec.loads(b"1" * 5000)  # an integer of 5000 digits
    with pytest.raises(Malformed, match="values"):
        codec.decode(["L"] + [1] * 100, [], Bounds(max_nodes=50))


def test_sizes_are_bounded_when_decoding():
    with pytest.raises(Malformed):
        codec.decode(["B", 0], [bytearray(2000)], Bounds(max_bytes=1000))
    with pytest.raises(Malformed):
        codec.decode(["L"], [bytearray()] * 11, Bounds(max_buffers=10))
    with pytest.raises(Malformed):
        codec.loads(b" " * 2000, Bounds(max_bytes=1000))


# -- in place: what a call changed, and copying it back ----------------------------------------------------------

def test_snapshot_sees_every_kind_of_change_in_place():
    def changed_by(value, change):
        before = codec.snapshot(value)
        change(value)
        return codec.changed(value, before)
    assert changed_by(np.zeros(3), lambda a: a.__setitem__(0, 1.0))
    assert not changed_by(np.array([np.nan]), lambda a: None)
    assert changed_by([1, 2], lambda a: a.append(3))
    assert changed_by({"w": np.zeros(2)}, lambda d: d["w"].__iadd__(1))
    assert changed_by((np.zeros(1), 2), lambda t: t[0].__iadd__(1))
    assert changed_by(types.SimpleNamespace(a=1), lambda n: setattr(n, "a", 2))
    assert changed_by(np.random.default_rng(0), lambda g: g.random())
    assert changed_by(torch.zeros(2), lambda t: t.add_(1))
    assert not changed_by({"w": np.zeros(2), "n": [1]}, lambda d: None)


def test_mirror_copies_into_the_original_objects_in_place():
    params = {"W": np.zeros(2), "b": np.zeros(1), "gone": 1}
    W = params["W"]
    codec.mirror(params, {"W": np.ones(2), "b": np.ones(1), "new": [1]})
    assert params["W"] is W and W.tolist() == [1.0, 1.0] and "gone" not in params and params["new"] == [1]
    view_base = np.zeros(4)
    codec.mirror(view_base[1:3], np.array([5.0, 6.0]))
    assert view_base.tolist() == [0.0, 5.0, 6.0, 0.0]
    items = [np.zeros(1), 2]
    codec.mirror(items, [np.ones(1), 3, 4])
    assert items[1:] == [3, 4]
    rng = np.random.default_rng(0)
    moved = np.random.default_rng(0)
    moved.random()
    codec.mirror(rng, moved)
    assert rng.random() == moved.random()
    tensor = torch.zeros(2, requires_grad=True)
    codec.mirror(tensor, torch.ones(2))
    assert tensor.tolist() == [1.0, 1.0]
    assert not codec.mirror(np.zeros(2), np.zeros(3))  # a changed shape cannot follow in place


def test_exceptions_are_rebuilt_only_as_library_classes():
    error = codec.rebuild_exception(codec.exception_record(ValueError("bad x")))
    assert type(error) is ValueError and str(error) == "bad x"

    class Custom(KeyError):
        pass
    rebuilt = codec.rebuild_exception(codec.exception_record(Custom("k")))
    assert type(rebuilt) is KeyError and "Custom" in str(rebuilt)
    linalg = codec.rebuild_exception(codec.exception_record(np.linalg.LinAlgError("singular")))
    assert type(linalg) is np.linalg.LinAlgError
    for record in ([[["builtins", "SystemExit"], ["builtins", "BaseException"]], "bye"],
                   [[["os", "system"]], "x"], [[["builtins", "BaseException"]], "x"]):
        assert type(codec.rebuild_exception(record)) is codec.RemoteError
    with pytest.raises(Malformed):
        codec.rebuild_exception(["not", "a record", "at all"])
