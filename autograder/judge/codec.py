"""Plain data across the wall between the judge and the student's kernel, both ways.

Both sides use this module: the judge imports it, and the kernel-side agent carries a copy of its
text (``autograder.judge.agent.kernel_source``), so it imports nothing but the standard library and
numpy (torch only when a tensor is met, and only where torch is already loaded or asked for).

A value becomes a *tree* (JSON) and *buffers* (bytes):

- ``None``, ``True``/``False``, ``int``, ``float`` and ``str`` are themselves in the tree;
- everything else is a tagged list, ``[tag, ...]``: ``L`` list, ``T`` tuple, ``D`` dict (keys and
  values alternating; keys are str, int, float, bool, None or tuples of them), ``N`` namedtuple,
  ``NS`` SimpleNamespace, ``A`` numpy array and ``S`` numpy scalar (a buffer in numpy's ``.npy``
  format, numeric or bool dtypes only), ``P`` torch tensor (an ``.npy`` buffer, its torch dtype and
  ``requires_grad``), ``B`` bytes, ``C`` complex, ``RG`` range, ``SL`` slice, ``E`` Ellipsis,
  ``DT``/``ST``/``PT``/``TD``/``TV`` numpy dtypes, numpy and Python scalar types, torch dtypes and
  devices, ``G``/``RS`` numpy random generators (their state), ``@`` the same object again (an
  array passed twice stays one array), and three kinds of reference that a side resolves itself:
  ``O`` an object the sender keeps (the receiver gets a proxy: a student function, a test's
  callback), ``Y`` an object the receiver gave out earlier, ``F`` a library function by name (numpy,
  torch, math…; only the kernel accepts these, so the kernel never makes the judge call anything).

Every other type is refused with ``Refused("a generator")``, which callers turn into "returned a
generator, expected …". Decoding is the wall: nothing in a message is executed or unpickled, the
``.npy`` header is parsed with numpy's literal parser under a size bound and must describe exactly
the bytes that follow, object and structured dtypes are refused, and depth, node count, buffer
count and total size are bounded (``Bounds``). A message that breaks any rule raises ``Malformed``.
"""

import collections
import importlib
import io
import json
import keyword
import re
import sys
import types

import numpy as np


class Refused(TypeError):
    """A value that may not cross the wall; ``what`` names it ("a generator", "a dict whose ['W'] is …")."""

    def __init__(self, what: str, where: str = ""):
        self.what, self.where = what, where
        super().__init__(f"{what} at {where}" if where else what)

    def described(self) -> str:
        """``what``, placed inside the value: "a dict whose ['W1'] is a generator"."""
        return describe_place(self.where, self.what)


class Malformed(ValueError):
    """A message that breaks the format or its bounds: never decoded into a value."""


class Bounds:
    """Limits on one message; the defaults bound the judge's memory and time per message."""

    def __init__(self, *, max_bytes: int = 256 << 20, max_depth: int = 32, max_nodes: int = 2_000_000,
                 max_buffers: int = 100_000, max_ndim: int = 32, max_npy_header: int = 4096,
                 max_fields: int = 64, max_int_bits: int = 13_000):
        self.max_bytes, self.max_depth, self.max_nodes = max_bytes, max_depth, max_nodes
        self.max_buffers, self.max_ndim, self.max_npy_header = max_buffers, max_ndim, max_npy_header
        self.max_fields, self.max_int_bits = max_fields, max_int_bits

    def as_dict(self) -> dict:
        return dict(vars(self))


PLAIN_DATA = ("numbers, booleans, None, strings, lists, tuples, dicts, numpy arrays of numbers or "
              "booleans, or torch tensors")
ARRAY_KINDS = "biufc"  # bool, signed, unsigned, float, complex: never object, string, void or datetime
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
PYTHON_TYPES = {"float": float, "int": int, "bool": bool, "complex": complex, "str": str}
# Modules whose functions may be named ("F") instead of called back: the same code on both sides.
LIBRARY_MODULES = ("numpy", "torch", "math", "cmath", "builtins", "operator", "functools", "itertools",
                   "statistics", "nnlab", "scipy")
_DTYPE_NAME = re.compile(r"^[<>|=]?[A-Za-z]{1,12}[0-9]{0,3}$")
_TORCH_NAME = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
_DEVICE_NAME = re.compile(r"^(cpu|cuda|mps|xpu|meta)(:[0-9]{1,3})?$")
_NPY_MAGIC = b"\x93NUMPY"
# The header numpy itself writes for a plain array, read without a parser (the common, fast case);
# any other header goes to numpy's own literal parser, under the same checks.
_NPY_HEADER = re.compile(rb"\{'descr': '([<>|=][biufc][0-9]{1,2})', 'fortran_order': (True|False), "
                         rb"'shape': \(((?:[0-9]{1,19}, )*(?:[0-9]{1,19},?)?)\), \} *\n")
_MEMO_TYPES = (list, dict, np.ndarray, types.SimpleNamespace, np.random.Generator, np.random.RandomState)


def describe_place(where: str, what: str) -> str:
    return f"a value whose {where} is {what}" if where else what


def type_name(value) -> str:
    """"a generator", "an MLP", "a numpy.matrix": how a refused value is named to a learner."""
    kind = type(value)
    name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _torch(required: bool = False):
    """torch when it is loaded (or ``required``: then imported), else None."""
    torch = sys.modules.get("torch")
    if torch is None and required:
        torch = importlib.import_module("torch")
    return torch


# -- encoding ------------------------------------------------------------------------------------------

class Encoder:
    """Turns one value into ``(tree, buffers)``.

    ``reference(value, where)`` is asked about every value that is not plain data: it returns a
    node (an ``O``, ``Y`` or ``F`` reference) or None, and then the value is refused.
    """

    def __init__(self, bounds: Bounds | None = None, reference=None):
        self.bounds = bounds or Bounds()
        self.reference = reference
        self.buffers: list = []
        self.size = 0
        self.memo: dict[int, int] = {}
        self.keep: list = []        # what the memo's ids point to, alive until the end
        self.active: set[int] = set()

    def encode(self, value):
        return self.node(value, 0, ""), self.buffers

    def _buffer(self, data) -> int:
        self.size += len(data)
        if self.size > self.bounds.max_bytes:
            raise Refused(f"more than {self.bounds.max_bytes} bytes of data (the limit)")
        if len(self.buffers) >= self.bounds.max_buffers:
            raise Refused(f"more than {self.bounds.max_buffers} arrays (the limit)")
        self.buffers.append(data)
        return len(self.buffers) - 1

    def node(self, value, depth: int, where: str):
        kind = type(value)
        if value is None or kind is bool or kind is str or kind is float:
            return value
        if kind is int:
            if value.bit_length() > self.bounds.max_int_bits:
                raise Refused(f"an integer of {value.bit_length()} bits (the limit is {self.bounds.max_int_bits})", where)
            return value
        if depth >= self.bounds.max_depth:
            raise Refused(f"nested more than {self.bounds.max_depth} levels deep", where)
        if id(value) in self.active:
            raise Refused("a structure that contains itself", where)
        if id(value) in self.memo:
            return ["@", self.memo[id(value)]]
        if isinstance(value, _MEMO_TYPES) or _is_tensor(value):
            self.memo[id(value)] = len(self.memo)
            self.keep.append(value)
        self.active.add(id(value))
        try:
            return self._container(value, kind, depth + 1, where)
        finally:
            self.active.discard(id(value))

    def _container(self, value, kind, depth, where):
        if kind is list:
            return ["L"] + [self.node(item, depth, f"{where}[{i}]") for i, item in enumerate(value)]
        if kind is tuple:
            return ["T"] + [self.node(item, depth, f"{where}[{i}]") for i, item in enumerate(value)]
        if kind is dict:
            out = ["D"]
            for key, item in value.items():
                out.append(self._key(key, where))
                out.append(self.node(item, depth, f"{where}[{key!r}]"))
            return out
        if kind is np.ndarray:
            return ["A", self._buffer(_npy(value, where))]
        if isinstance(value, np.generic) and kind.__module__ == "numpy":
            return ["S", self._buffer(_npy(np.asarray(value), where))]
        if _is_tensor(value):
            return self._tensor(value, where)
        if kind is bytes:
            return ["B", self._buffer(value)]
        if kind is complex:
            return ["C", value.real, value.imag]
        if kind is range:
            return ["RG", value.start, value.stop, value.step]
        if kind is slice:
            return ["SL"] + [self.node(part, depth, where) for part in (value.start, value.stop, value.step)]
        if value is Ellipsis:
            return ["E"]
        if kind is types.SimpleNamespace:
            out = ["NS"]
            for key, item in vars(value).items():
                out += [key, self.node(item, depth, f"{where}.{key}")]
            return out
        if isinstance(value, tuple) and _is_namedtuple(kind):
            fields = list(kind._fields)
            return ["N", kind.__name__, fields] + [self.node(item, depth, f"{where}.{name}")
                                                    for name, item in zip(fields, tuple.__iter__(value))]
        if isinstance(value, tuple) and kind.__module__ == "torch" and kind.__name__ == "Size":
            return ["TS"] + [self.node(item, depth, f"{where}[{i}]") for i, item in enumerate(tuple.__iter__(value))]
        if isinstance(value, tuple) and kind.__module__ == "torch.return_types":
            return ["T"] + [self.node(item, depth, f"{where}[{i}]") for i, item in enumerate(tuple.__iter__(value))]
        if isinstance(value, np.dtype):
            return ["DT", _dtype_name(value, where)]
        if isinstance(value, type) and issubclass(value, np.generic) and value.__module__ == "numpy":
            return ["ST", _dtype_name(np.dtype(value), where)]
        if isinstance(value, type) and value in PYTHON_TYPES.values():
            return ["PT", value.__name__]
        if kind is np.random.Generator:
            return self._generator(value, depth, where)
        if kind is np.random.RandomState:
            return ["RS", self.node(value.get_state(legacy=False), depth, where)]
        torch = _torch()
        if torch is not None and kind is torch.dtype:
            return ["TD", str(value).rsplit(".", 1)[-1]]
        if torch is not None and kind is torch.device:
            return ["TV", str(value)]
        found = self.reference(value, where) if self.reference else None
        if found is not None:
            return found
        raise Refused(type_name(value), where)

    def _key(self, key, where):
        kind = type(key)
        if key is None or kind in (str, bool, int, float):
            return self.node(key, 0, where)
        if kind is tuple and len(key) <= self.bounds.max_fields:
            return ["T"] + [self._key(part, where) for part in key]
        raise Refused(f"a dict key that is {type_name(key)} (keys must be strings, numbers or tuples)", where)

    def _tensor(self, value, where):
        torch = _torch()
        if type(value) not in (torch.Tensor, torch.nn.Parameter):
            raise Refused(f"{type_name(value)} (a tensor subclass)", where)
        if value.layout != torch.strided or value.is_quantized or value.device.type == "meta":
            raise Refused(f"a {value.layout} tensor on {value.device} (only dense tensors cross)", where)
        name = str(value.dtype).rsplit(".", 1)[-1]
        data = value.detach()
        if data.is_conj():
            data = data.resolve_conj()
        if data.is_neg():
            data = data.resolve_neg()
        data = data.cpu()
        if value.dtype in (torch.bfloat16,):
            data = data.float()
        try:
            array = data.numpy()
        except (TypeError, RuntimeError) as error:
            raise Refused(f"a tensor of dtype {name} ({error})", where) from None
        return ["P", self._buffer(_npy(array, where)), name, bool(value.requires_grad)]

    def _generator(self, value, depth, where):
        state = value.bit_generator.state
        name = type(value.bit_generator).__name__
        if name not in BIT_GENERATORS:
            raise Refused(f"a numpy Generator driven by {name}", where)
        return ["G", name, self.node(state, depth, where)]


def _is_tensor(value) -> bool:
    torch = _torch()
    return torch is not None and isinstance(value, torch.Tensor)


def _is_namedtuple(kind) -> bool:
    fields = getattr(kind, "_fields", None)
    return kind.__bases__ == (tuple,) and isinstance(fields, tuple) and all(type(f) is str for f in fields)


def _dtype_name(dtype, where) -> str:
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise Refused(f"the numpy dtype {dtype} (only numbers and booleans cross)", where)
    return dtype.str


_HEADERS: dict = {}


def _npy(array, where: str) -> bytes:
    """``array`` in numpy's ``.npy`` format, version 1.0 (what ``np.save`` writes), header cached by shape."""
    dtype = array.dtype
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.hasobject:
        raise Refused(f"a numpy array of dtype {dtype} (only numbers and booleans cross)", where)
    if type(array) is not np.ndarray:
        raise Refused(f"{type_name(array)} (a numpy array subclass)", where)
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    key = (dtype.str, fortran, array.shape)
    head = _HEADERS.get(key)
    if head is None:
        text = "{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % key
        text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"  # aligned to 64 bytes, as numpy does
        head = _NPY_MAGIC + b"\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1")
        if len(_HEADERS) > 4096:
            _HEADERS.clear()
        _HEADERS[key] = head
    return head + array.tobytes(order="F" if fortran else "C")


def encode(value, bounds: Bounds | None = None, reference=None):
    """``(tree, buffers)`` for ``value``; raises ``Refused`` for what may not cross."""
    return Encoder(bounds, reference).encode(value)


# -- decoding ------------------------------------------------------------------------------------------

class Decoder:
    """Turns ``(tree, buffers)`` back into a value, or raises ``Malformed``.

    ``local(handle)``: the object this side gave out as ``handle`` (for ``Y``), or raise Malformed.
    ``remote(handle, kind, name)``: a proxy for an object the sender keeps (for ``O``).
    ``by_name``: whether ``F`` (a library function by name) is accepted: only in the kernel.
    """

    def __init__(self, buffers, bounds: Bounds | None = None, *, local=None, remote=None, by_name: bool = False):
        self.buffers = list(buffers)
        self.bounds = bounds or Bounds()
        self.local, self.remote, self.by_name = local, remote, by_name
        self.nodes = 0
        self.memo: list = []
        self.used: set[int] = set()
        if len(self.buffers) > self.bounds.max_buffers:
            raise Malformed(f"{len(self.buffers)} buffers (the limit is {self.bounds.max_buffers})")
        if sum(len(b) for b in self.buffers) > self.bounds.max_bytes:
            raise Malformed(f"more than {self.bounds.max_bytes} bytes")

    def decode(self, tree):
        return self.node(tree, 0)

    def node(self, tree, depth: int):
        self.nodes += 1
        if self.nodes > self.bounds.max_nodes:
            raise Malformed(f"more than {self.bounds.max_nodes} values in one message")
        kind = type(tree)
        if tree is None or kind in (bool, str, float):
            return tree
        if kind is int:
            if tree.bit_length() > self.bounds.max_int_bits:
                raise Malformed("an integer beyond the bound")
            return tree
        if kind is not list or not tree or type(tree[0]) is not str:
            raise Malformed(f"a {kind.__name__} where a tagged value was expected")
        if depth >= self.bounds.max_depth:
            raise Malformed(f"nested more than {self.bounds.max_depth} levels deep")
        handler = self.TAGS.get(tree[0])
        if handler is None:
            raise Malformed(f"unknown tag {tree[0][:20]!r}")
        return handler(self, tree, depth + 1)

    # containers: registered in the memo before their items, in the encoder's order
    def _list(self, tree, depth):
        out: list = []
        self.memo.append(out)
        out.extend(self.node(item, depth) for item in tree[1:])
        return out

    def _tuple(self, tree, depth):
        return tuple(self.node(item, depth) for item in tree[1:])

    def _dict(self, tree, depth):
        if len(tree) % 2 != 1:
            raise Malformed("a dict with a key and no value")
        out: dict = {}
        self.memo.append(out)
        for i in range(1, len(tree), 2):
            key = self._key(tree[i], depth)
            out[key] = self.node(tree[i + 1], depth)
        return out

    def _key(self, tree, depth):
        key = self.node(tree, depth)
        if not _hashable_key(key, self.bounds.max_fields):
            raise Malformed("a dict key that is not a string, number or tuple of them")
        return key

    def _namespace(self, tree, depth):
        if len(tree) % 2 != 1:
            raise Malformed("a namespace attribute without a value")
        out = types.SimpleNamespace()
        self.memo.append(out)
        for i in range(1, len(tree), 2):
            name = tree[i]
            if type(name) is not str or not name.isidentifier() or name.startswith("__"):
                raise Malformed("a namespace attribute that is not a plain name")
            setattr(out, name, self.node(tree[i + 1], depth))
        return out

    def _namedtuple(self, tree, depth):
        if len(tree) < 3 or type(tree[2]) is not list or len(tree[2]) != len(tree) - 3:
            raise Malformed("a namedtuple whose fields do not match its values")
        kind = _namedtuple_type(tree[1], tree[2], self.bounds.max_fields)
        return kind(*(self.node(item, depth) for item in tree[3:]))

    def _buffer(self, index):
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise Malformed("a reference to a buffer that is not in the message")
        if index in self.used:
            raise Malformed("a buffer used twice")
        self.used.add(index)
        return self.buffers[index]

    def _array(self, tree, depth):
        self._arity(tree, 2)
        array = read_npy(self._buffer(tree[1]), self.bounds)
        self.memo.append(array)
        return array

    def _scalar(self, tree, depth):
        self._arity(tree, 2)
        array = read_npy(self._buffer(tree[1]), self.bounds)
        if array.shape != ():
            raise Malformed("a numpy scalar that is not 0-dimensional")
        return array[()]

    def _tensor(self, tree, depth):
        self._arity(tree, 4)
        array = read_npy(self._buffer(tree[1]), self.bounds)
        name, grad = tree[2], tree[3]
        if type(name) is not str or not _TORCH_NAME.match(name) or type(grad) is not bool:
            raise Malformed("a tensor with a bad dtype or requires_grad")
        torch = _torch(required=True)
        dtype = getattr(torch, name, None)
        if not isinstance(dtype, torch.dtype):
            raise Malformed(f"unknown torch dtype {name!r}")
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        tensor = torch.from_numpy(array)
        if tensor.dtype != dtype:
            tensor = tensor.to(dtype)
        if grad and (dtype.is_floating_point or dtype.is_complex):
            tensor.requires_grad_(True)
        self.memo.append(tensor)
        return tensor

    def _bytes(self, tree, depth):
        self._arity(tree, 2)
        return bytes(self._buffer(tree[1]))

    def _complex(self, tree, depth):
        self._arity(tree, 3)
        if not all(type(part) in (int, float) for part in tree[1:]):
            raise Malformed("a complex number whose parts are not numbers")
        return complex(tree[1], tree[2])

    def _range(self, tree, depth):
        self._arity(tree, 4)
        if not all(type(part) is int for part in tree[1:]) or tree[3] == 0:
            raise Malformed("a range that is not three integers")
        return range(tree[1], tree[2], tree[3])

    def _slice(self, tree, depth):
        self._arity(tree, 4)
        return slice(*(self.node(part, depth) for part in tree[1:]))

    def _ellipsis(self, tree, depth):
        self._arity(tree, 1)
        return Ellipsis

    def _numpy_dtype(self, tree, depth):
        self._arity(tree, 2)
        return _safe_dtype(tree[1])

    def _numpy_type(self, tree, depth):
        self._arity(tree, 2)
        return _safe_dtype(tree[1]).type

    def _python_type(self, tree, depth):
        self._arity(tree, 2)
        if tree[1] not in PYTHON_TYPES:
            raise Malformed("an unknown Python type")
        return PYTHON_TYPES[tree[1]]

    def _torch_dtype(self, tree, depth):
        self._arity(tree, 2)
        torch = _torch(required=True)
        dtype = getattr(torch, tree[1], None) if type(tree[1]) is str and _TORCH_NAME.match(tree[1]) else None
        if not isinstance(dtype, torch.dtype):
            raise Malformed("an unknown torch dtype")
        return dtype

    def _torch_device(self, tree, depth):
        self._arity(tree, 2)
        if type(tree[1]) is not str or not _DEVICE_NAME.match(tree[1]):
            raise Malformed("an unknown torch device")
        return _torch(required=True).device(tree[1])

    def _torch_size(self, tree, depth):
        sizes = self._tuple(tree, depth)
        if not all(type(n) is int and n >= 0 for n in sizes):
            raise Malformed("a torch.Size that is not sizes")
        return _torch(required=True).Size(sizes)

    def _slot(self) -> int:
        self.memo.append(None)
        return len(self.memo) - 1

    def _generator(self, tree, depth):
        self._arity(tree, 3)
        if tree[1] not in BIT_GENERATORS:
            raise Malformed("an unknown bit generator")
        slot = self._slot()
        state = self.node(tree[2], depth)
        bit_generator = getattr(np.random, tree[1])()
        try:
            bit_generator.state = state
        except Exception as error:
            raise Malformed(f"a generator state numpy refuses ({type(error).__name__})") from None
        out = self.memo[slot] = np.random.Generator(bit_generator)
        return out

    def _random_state(self, tree, depth):
        self._arity(tree, 2)
        slot = self._slot()
        state = self.node(tree[1], depth)
        out = self.memo[slot] = np.random.RandomState()
        try:
            out.set_state(state)
        except Exception as error:
            raise Malformed(f"a RandomState numpy refuses ({type(error).__name__})") from None
        return out

    def _again(self, tree, depth):
        self._arity(tree, 2)
        if type(tree[1]) is not int or not 0 <= tree[1] < len(self.memo):
            raise Malformed("a back-reference to nothing")
        return self.memo[tree[1]]

    def _sender_object(self, tree, depth):
        self._arity(tree, 4)
        handle, kind, name = tree[1:]
        if self.remote is None or type(handle) is not int or type(kind) is not str or type(name) is not str:
            raise Malformed("a reference that this side does not accept")
        return self.remote(handle, kind, name[:200])

    def _receiver_object(self, tree, depth):
        self._arity(tree, 2)
        if self.local is None or type(tree[1]) is not int:
            raise Malformed("a reference that this side does not accept")
        return self.local(tree[1])

    def _library_function(self, tree, depth):
        self._arity(tree, 3)
        if not self.by_name:
            raise Malformed("a function by name, which only the kernel accepts")
        return library_function(tree[1], tree[2])

    @staticmethod
    def _arity(tree, size):
        if len(tree) != size:
            raise Malformed(f"a {tree[0]!r} value of the wrong length")

    TAGS = {"L": _list, "T": _tuple, "D": _dict, "NS": _namespace, "N": _namedtuple, "A": _array,
            "S": _scalar, "P": _tensor, "B": _bytes, "C": _complex, "RG": _range, "SL": _slice,
            "E": _ellipsis, "DT": _numpy_dtype, "ST": _numpy_type, "PT": _python_type,
            "TD": _torch_dtype, "TV": _torch_device, "G": _generator, "RS": _random_state,
            "TS": _torch_size, "@": _again, "O": _sender_object, "Y": _receiver_object, "F": _library_function}


def decode(tree, buffers, bounds: Bounds | None = None, **hooks):
    """The value of ``(tree, buffers)``; raises ``Malformed`` for anything outside the format."""
    return Decoder(buffers, bounds, **hooks).decode(tree)


def _hashable_key(key, max_fields: int) -> bool:
    kind = type(key)
    if key is None or kind in (str, bool, int, float):
        return True
    return kind is tuple and len(key) <= max_fields and all(_hashable_key(part, max_fields) for part in key)


_NAMEDTUPLES: dict = {}


def _namedtuple_type(name, fields, max_fields: int):
    def plain(word):
        return type(word) is str and word.isidentifier() and not keyword.iskeyword(word) \
            and not word.startswith("_") and len(word) <= 64
    if not plain(name) or len(fields) > max_fields or not all(plain(f) for f in fields) \
            or len(set(fields)) != len(fields):
        raise Malformed("a namedtuple with a name or fields that are not plain names")
    key = (name, tuple(fields))
    if key not in _NAMEDTUPLES:
        if len(_NAMEDTUPLES) > 1000:
            _NAMEDTUPLES.clear()
        _NAMEDTUPLES[key] = collections.namedtuple(name, fields)
    return _NAMEDTUPLES[key]


def _safe_dtype(name):
    if type(name) is not str or not _DTYPE_NAME.match(name):
        raise Malformed("a dtype name outside the plain ones")
    try:
        dtype = np.dtype(name)
    except TypeError:
        raise Malformed(f"an unknown dtype {name!r}") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise Malformed(f"the dtype {dtype}, which is not numbers or booleans")
    return dtype


_PARSED: dict = {}  # header text -> (dtype, fortran, shape), for headers of the plain form only


def read_npy(buffer, bounds: Bounds):
    """An array from one ``.npy`` buffer, parsed strictly (never ``allow_pickle``, never object dtypes).

    The header must be at most ``bounds.max_npy_header`` bytes, describe a numeric or bool dtype of
    at most ``bounds.max_ndim`` dimensions, and account for exactly the bytes that follow it. The
    array shares the buffer's memory (a ``bytearray``: writable) instead of copying it.
    """
    view = memoryview(buffer)
    if len(view) < 10 or bytes(view[:6]) != _NPY_MAGIC:
        raise Malformed("an array buffer that is not in .npy format")
    major, minor = view[6], view[7]
    if major == 1:
        header_length, start = int.from_bytes(view[8:10], "little"), 10
    elif major == 2 and len(view) >= 12:
        header_length, start = int.from_bytes(view[8:12], "little"), 12
    else:  # 3.0 exists only for utf-8 field names of structured dtypes, which never cross
        raise Malformed(f".npy format version {major}.{minor}")
    if header_length > bounds.max_npy_header or start + header_length > len(view):
        raise Malformed(f"a .npy header of {header_length} bytes (the limit is {bounds.max_npy_header})")
    text = bytes(view[start:start + header_length])
    parsed = _PARSED.get(text)
    plain = None if parsed else _NPY_HEADER.fullmatch(text)
    if parsed:
        dtype, fortran, shape = parsed
    elif plain:
        dtype = _safe_dtype(plain.group(1).decode("ascii"))
        fortran = plain.group(2) == b"True"
        shape = tuple(int(n) for n in plain.group(3).split(b",") if n.strip())
        if len(_PARSED) > 4096:
            _PARSED.clear()
        _PARSED[text] = (dtype, fortran, shape)
    else:
        head = io.BytesIO(bytes(view[8:start + header_length]))
        reader = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        try:
            shape, fortran, dtype = reader(head, max_header_size=bounds.max_npy_header)
        except (ValueError, SyntaxError, TypeError, KeyError, OverflowError, MemoryError, RecursionError) as error:
            raise Malformed(f"a .npy header numpy refuses ({type(error).__name__})") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None or dtype.hasobject:
        raise Malformed(f"an array of dtype {dtype}: only numbers and booleans cross")
    if type(shape) is not tuple or len(shape) > bounds.max_ndim or not all(type(n) is int and n >= 0 for n in shape):
        raise Malformed("an array shape that is not a short tuple of sizes")
    count = 1
    for size in shape:
        count *= size
    data = len(view) - start - header_length
    if count * dtype.itemsize != data or data > bounds.max_bytes:
        raise Malformed(f"an array header that claims {count * dtype.itemsize} bytes for {data}")
    flat = np.frombuffer(view, dtype=dtype, count=count, offset=start + header_length) if count else \
        np.zeros(0, dtype=dtype)
    if not flat.flags.writeable:  # a bytes buffer: the receiver must get an array it may change
        flat = flat.copy()
    return flat.reshape(shape, order="F" if fortran else "C")


def library_function(module: str, name: str):
    """``module.name`` for a library function named by the judge, or ``Malformed``."""
    if type(module) is not str or type(name) is not str or not all(p.isidentifier() for p in (module + "." + name).split(".")):
        raise Malformed("a function name that is not dotted names")
    if module.split(".")[0] not in LIBRARY_MODULES:
        raise Malformed(f"a function of {module!r}, which is not a library the judge may name")
    try:
        found = importlib.import_module(module)
        for part in name.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        raise Malformed(f"no function {module}.{name} here") from None
    if not callable(found):
        raise Malformed(f"{module}.{name} is not callable")
    return found


def library_name(function):
    """``(module, name)`` when ``function`` is a library function the other side can import, else None."""
    module = getattr(function, "__module__", None)
    name = getattr(function, "__name__", None)
    if type(module) is not str or type(name) is not str or module.split(".")[0] not in LIBRARY_MODULES:
        return None
    if isinstance(function, type) and not issubclass(function, (np.generic, Exception)):
        return None  # a class makes an object, which could not come back anyway
    for candidate in (getattr(function, "__qualname__", None), name):
        if type(candidate) is not str or "<" in candidate:
            continue
        try:
            found = sys.modules[module]
            for part in candidate.split("."):
                found = getattr(found, part)
        except (KeyError, AttributeError):
            continue
        if found is function:
            return module, candidate
    return None


# -- one value as a message: JSON tree + buffers -----------------------------------------------------------

def dumps(tree) -> bytes:
    return json.dumps(tree, ensure_ascii=True, allow_nan=True, separators=(",", ":")).encode("ascii")


def loads(data, bounds: Bounds | None = None):
    bounds = bounds or Bounds()
    if len(data) > bounds.max_bytes:
        raise Malformed("a message beyond the size bound")
    try:
        return json.loads(bytes(data))
    except RecursionError:
        raise Malformed("a message nested too deeply to parse") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise Malformed(f"a message that is not JSON ({str(error)[:80]})") from None


# -- what changed in place: the judge's objects follow the kernel's, and back -------------------------------

def snapshot(value, depth: int = 0):
    """A cheap record of ``value``'s mutable parts, to tell later whether a call changed them in place."""
    kind = type(value)
    if depth > 32:
        return None
    if kind is np.ndarray:
        return ("A", value.shape, value.dtype, value.copy())
    if kind is list:
        return ("L", [id(v) for v in value], [snapshot(v, depth + 1) for v in value])
    if kind is dict:
        return ("D", [(k, id(v)) for k, v in value.items()], [snapshot(v, depth + 1) for v in value.values()])
    if kind is types.SimpleNamespace:
        return ("D", [(k, id(v)) for k, v in vars(value).items()], [snapshot(v, depth + 1) for v in vars(value).values()])
    if kind is tuple or (isinstance(value, tuple) and _is_namedtuple(kind)):
        return ("T", [snapshot(v, depth + 1) for v in tuple.__iter__(value)])
    if kind is np.random.Generator:
        return ("G", repr(value.bit_generator.state))
    if kind is np.random.RandomState:
        return ("G", repr(value.get_state(legacy=False)))
    if _is_tensor(value):
        return ("P", tuple(value.shape), value.dtype, value.detach().clone())
    return None


def changed(value, before) -> bool:
    """Whether ``value`` differs from its ``snapshot`` ``before``."""
    if before is None:
        return False
    tag = before[0]
    if tag == "A":
        if value.shape != before[1] or value.dtype != before[2]:
            return True
        return not np.array_equal(value, before[3], equal_nan=value.dtype.kind in "fc")
    if tag == "L":
        return [id(v) for v in value] != before[1] or any(changed(v, s) for v, s in zip(value, before[2]))
    if tag == "D":
        items = vars(value) if type(value) is types.SimpleNamespace else value
        return [(k, id(v)) for k, v in items.items()] != before[1] or \
            any(changed(v, s) for v, s in zip(items.values(), before[2]))
    if tag == "T":
        return any(changed(v, s) for v, s in zip(tuple.__iter__(value), before[1]))
    if tag == "G":
        state = value.bit_generator.state if type(value) is np.random.Generator else value.get_state(legacy=False)
        return repr(state) != before[1]
    if tag == "P":
        torch = _torch()
        if tuple(value.shape) != before[1] or value.dtype != before[2]:
            return True
        now = value.detach()
        return not bool(torch.equal(now, before[3]) or (now.is_floating_point() and bool(
            torch.all((now == before[3]) | (torch.isnan(now) & torch.isnan(before[3]))))))
    return False


def mirror(target, source, depth: int = 0) -> bool:
    """Make ``target`` (this side's object) equal ``source`` (the other side's, decoded) in place.

    Arrays and tensors are copied into (same shape and dtype), lists, dicts and namespaces are
    updated item by item (recursively, so the arrays inside a dict of parameters keep their
    identity), generators take the other side's state. Returns False where ``target`` cannot
    follow in place (an array whose shape changed, an immutable value).
    """
    if depth > 32:
        return False
    kind = type(target)
    if kind is np.ndarray and type(source) is np.ndarray:
        if target.shape != source.shape or not target.flags.writeable:
            return False
        np.copyto(target, source, casting="unsafe")
        return True
    if kind is list and type(source) is list:
        if len(target) == len(source):
            for i, item in enumerate(source):
                if not mirror(target[i], item, depth + 1):
                    target[i] = item
        else:
            target[:] = source
        return True
    if (kind is dict and type(source) is dict) or (kind is types.SimpleNamespace and type(source) is types.SimpleNamespace):
        into, values = (vars(target), vars(source)) if kind is types.SimpleNamespace else (target, source)
        for key in [k for k in into if k not in values]:
            del into[key]
        for key, item in values.items():
            if key not in into or not mirror(into[key], item, depth + 1):
                into[key] = item
        return True
    if isinstance(target, tuple) and isinstance(source, tuple) and len(target) == len(source):
        for item, new in zip(tuple.__iter__(target), source):
            mirror(item, new, depth + 1)
        return True
    if kind is np.random.Generator and type(source) is np.random.Generator:
        target.bit_generator.state = source.bit_generator.state
        return True
    if kind is np.random.RandomState and type(source) is np.random.RandomState:
        target.set_state(source.get_state(legacy=False))
        return True
    if _is_tensor(target) and _is_tensor(source):
        torch = _torch()
        if target.shape != source.shape:
            return False
        with torch.no_grad():
            target.copy_(source)
        return True
    return False


# -- exceptions across the wall: the type is rebuilt only from classes both sides have ------------------

EXCEPTION_MODULES = ("builtins", "numpy", "torch")
MESSAGE_LIMIT = 4000


def exception_record(error: BaseException) -> list:
    """``[[module, qualname] for each class of the error's MRO], message]``: plain data."""
    classes = []
    for kind in type(error).__mro__[:16]:
        module, name = getattr(kind, "__module__", ""), getattr(kind, "__qualname__", "")
        classes.append([module if type(module) is str else "", name if type(name) is str else ""])
    try:
        message = str(error)
    except Exception:  # an exception whose __str__ fails still fails the call
        message = "(its message could not be read)"
    return [classes, message[:MESSAGE_LIMIT]]


class RemoteError(Exception):
    """An exception from the other side whose class this side does not rebuild; its name is kept."""

    def __init__(self, name: str, message: str):
        self.remote_name = name
        super().__init__(f"{name}: {message}" if message else name)


def rebuild_exception(record) -> Exception:
    """An exception for ``record``: the first class of its MRO that is a builtin, numpy or torch
    exception class this side has loaded (so ``except ValueError`` and ``check.raises`` work across
    the wall), else ``RemoteError``. Never a BaseException that is not an Exception."""
    if type(record) is not list or len(record) != 2 or type(record[0]) is not list or type(record[1]) is not str:
        raise Malformed("an exception record that is not classes and a message")
    classes, message = record[0], record[1][:MESSAGE_LIMIT]
    names = [c for c in classes[:16] if type(c) is list and len(c) == 2 and all(type(p) is str for p in c)]
    if not names:
        raise Malformed("an exception record without classes")
    shown = names[0][1] if names[0][0] in ("builtins", "__main__") else ".".join(names[0])
    for module, qualname in names:
        if module.split(".")[0] not in EXCEPTION_MODULES or module not in sys.modules:
            continue
        found = sys.modules[module]
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if isinstance(found, type) and issubclass(found, Exception) and found is not Exception:
            try:
                error = found(message)
            except Exception:
                continue
            if found.__qualname__ != names[0][1]:
                error = found(f"{shown}: {message}")  # a subclass rebuilt as its base: keep the real name
            return error
    return RemoteError(shown[:200], message)
