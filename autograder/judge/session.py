"""The judge's side of one connection to a student's kernel: names, proxies, calls and callbacks.

In the judge, a name the student's notebook defines becomes a proxy (``Remote``): calling it sends
the arguments to the kernel as data, the student's function runs there, and the result comes back
as data, or as the student's exception (rebuilt as the same builtin, numpy or torch class, so
``check.raises`` works), or as ``NotPlainData`` when it was not data ("returned a generator,
expected …"). Around each call:

- arguments the student's function changed in place are copied back into the test's own objects
  (``codec.mirror``), so "does not modify its input" is tested as in a notebook;
- the test's callables passed as arguments stay in the judge: the kernel gets stubs, and a call
  of a stub comes back here (``callback``), with the test's function run in the judge; its
  grant ends with the call that carried it;
- what the student's function printed is printed into the test's output, and its warnings become
  ``note:`` lines (once per test cell each), like ``nnlab.check``'s own;
- the judge's warning filters (a test's ``simplefilter("error")``) apply to the call in the kernel;
- a notebook name the test rebound to its own function (a spy around a student function) is
  rebound in the kernel for the call.

The kernel is untrusted: every reply is decoded under ``Bounds`` within the wall-clock deadline,
must answer the request it claims to answer, and can name only objects the judge handed out in the
calls still running. A kernel that breaks any of this, dies or goes silent raises ``KernelGone``,
which ends that student's grading with the reason.
"""

from __future__ import annotations

import importlib
import inspect
import os
import socket
import sys
import time
import warnings

from . import codec, wire
from .codec import PLAIN_DATA, Bounds, Decoder, Encoder, Malformed, Refused


class KernelGone(Exception):
    """The kernel died, stopped answering or broke the protocol: no later test can run."""


class NotPlainData(TypeError):
    """A student function gave back something that is not plain data (or a test passed one)."""


class Remote:
    """An object that lives in the student's kernel, known to the judge by a handle."""

    def __init__(self, session: Session, handle: int, name: str, kind: str, type_text: str = ""):
        self._session, self._handle, self._kind = session, handle, kind
        self._type_text = type_text
        self.__name__ = self.__qualname__ = name
        self.__module__ = "__main__"

    def __repr__(self) -> str:
        return f"<{self._kind} {self.__name__} in the student's kernel>"

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"{self.__name__} is {self._type_text or 'an object'} in the student's kernel; the test sees only what "
            f"calling it returns (plain data). A test that needs the live object uses a @check.in_kernel fixture.")


class RemoteFunction(Remote):
    """A student function or class: calling it runs it in the kernel and returns plain data."""

    def __init__(self, session, handle, name, kind, type_text="", signature=None, doc=None):
        super().__init__(session, handle, name, kind, type_text)
        self._signature_data = signature
        self.__doc__ = doc

    def __call__(self, *args, **kwargs):
        return self._session.call(self, args, kwargs)

    @property
    def __signature__(self):
        return _signature(self._signature_data)


class _Shown:
    """A default value that is not data, standing in the signature by its text."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _signature(data):
    if type(data) is not list:
        return None
    parameters = []
    try:
        for entry in data:
            name, kind, how = entry[0], inspect._ParameterKind(entry[1]), entry[2]
            default = entry[3] if how == "value" else _Shown(str(entry[3])) if how == "repr" else inspect.Parameter.empty
            parameters.append(inspect.Parameter(name, kind, default=default))
        return inspect.Signature(parameters)
    except (TypeError, ValueError, IndexError):
        return None


class Session:
    """One connection to one kernel's agent, for the test cells of one grading."""

    def __init__(self, sock, deadline: float, bounds: Bounds | None = None):
        self.sock, self.deadline = sock, deadline
        self.bounds = bounds or Bounds()
        self.seq = 0
        self.exchanges = 0                            # round trips so far: requests, and callbacks answered
        self.grants: list[dict[int, object]] = []   # callables handed out, one dict per running call
        self.granted: dict[int, object] = {}
        self.next_grant = 0
        self.remotes: dict[int, Remote] = {}
        self.tracked: dict[str, Remote] = {}         # notebook names bound to proxies in the test's namespace
        self.namespace: dict | None = None
        self.baseline_filters = list(warnings.filters)
        self.notes_seen: set = set()
        self.gone: str | None = None
        self.borrowed: set[str] = set()             # module names taken from the notebook's imports
        self.fetched: set[str] = set()              # values (not functions) read from the notebook
        self.failures: list[AssertionError] = []      # checks that failed inside the test's callbacks

    # -- requests --------------------------------------------------------------------------------------
    def defined(self) -> set[str]:
        """The names the notebook's namespace holds (so the kernel never learns which names a test uses)."""
        reply = self._request("names", [])
        if type(reply) is not list or not all(type(name) is str for name in reply):
            raise KernelGone("the kernel answered a name listing with something else")
        return set(reply)

    def resolve(self, names: list[str]) -> dict:
        """What each name is in the kernel: a proxy, data, or absent (not in the result)."""
        if not names:
            return {}
        reply = self._request("resolve", list(names))
        if type(reply) is not list:
            raise KernelGone("the kernel answered a name lookup with something else")
        found = {}
        for entry in reply[:len(names)]:
            if type(entry) is not list or len(entry) != 2 or entry[0] not in names or type(entry[1]) is not dict:
                raise KernelGone("the kernel answered a name lookup with something else")
            name, info = entry
            value = self._from_info(name, info)
            if value is not _ABSENT:
                found[name] = value
        return found

    def _from_info(self, name, info):
        kind = info.get("kind")
        if kind == "absent":
            return _ABSENT
        if kind == "data":
            self.fetched.add(name)
            return info.get("value")
        if kind == "module":
            found = _module(name, info.get("module"))
            if found is not _ABSENT:
                self.borrowed.add(name)
            return found
        handle = info.get("handle")
        if type(handle) is not int:
            raise KernelGone("the kernel described a name without a handle")
        text = str(info.get("type", ""))[:200]
        if kind in ("function", "class", "callable"):
            remote = RemoteFunction(self, handle, name, "student " + kind, text, info.get("signature"),
                                    str(info.get("doc", ""))[:4000] or None)
        elif kind == "object":
            self.fetched.add(name)
            remote = Remote(self, handle, name, "object", text)
        else:
            raise KernelGone(f"the kernel described {name!r} as {str(kind)[:20]!r}")
        self.remotes[handle] = remote
        return remote

    def define(self, name: str, source: str) -> None:
        self._request("define", [name, source])

    def call(self, proxy: Remote, args: tuple, kwargs: dict):
        """Run ``proxy(*args, **kwargs)`` in the kernel; see the module docstring."""
        label = f"{proxy.__name__}(…)"
        grants: dict[int, object] = {}
        self.grants.append(grants)
        try:
            try:
                tree, buffers = Encoder(self.bounds, self._reference_out).encode(
                    [proxy, list(args), dict(kwargs), self._overrides(), self._filters()])
            except Refused as refusal:
                where = refusal.where
                place = ("" if not where[3:] else f" (argument {where[3:]})") if where.startswith("[1]") else \
                    (f" (keyword argument {where[3:]})" if where.startswith("[2]") else "")
                raise NotPlainData(f"the test cannot pass {refusal.what}{place} to {label}: only {PLAIN_DATA} "
                                   f"cross to the student's kernel") from None
            op, value = self._exchange("call", tree, buffers)
        finally:
            self.grants.pop()
            for handle in grants:
                self.granted.pop(handle, None)
        if type(value) is not list or len(value) < 3:
            raise KernelGone("the kernel answered a call with something else")
        self._show(value[-2], value[-1])
        if self.failures:
            raise self.failures.pop(0)
        if op == "refused":
            raise NotPlainData(f"{proxy.__name__} {str(value[0])[:2000]}")
        if op == "raise":
            raise codec.rebuild_exception(value[0])
        if op != "return" or len(value) != 4 or type(value[1]) is not dict:
            raise KernelGone("the kernel answered a call with something else")
        result, mutated = value[0], value[1]
        for key, new in mutated.items():
            original = args[key] if type(key) is int and 0 <= key < len(args) else kwargs.get(key, _ABSENT) \
                if type(key) is str else _ABSENT
            if original is not _ABSENT:
                codec.mirror(original, new)
        return result

    # -- the exchange, with callbacks nested inside -------------------------------------------------------
    def _request(self, op: str, value):
        try:
            tree, buffers = Encoder(self.bounds, self._reference_out).encode(value)
        except Refused as refusal:
            raise NotPlainData(f"the test cannot send {refusal.described()}") from None
        kind, answer = self._exchange(op, tree, buffers)
        if kind == "raise":
            raise codec.rebuild_exception(answer[0])
        return answer[0] if kind == "defined" else answer

    def _exchange(self, op: str, tree, buffers):
        if self.gone:
            raise KernelGone(self.gone)
        self.seq += 1
        self.exchanges += 1
        seq = self.seq
        try:
            wire.send(self.sock, {"op": op, "seq": seq, "v": tree}, buffers, self.deadline)
            while True:
                header, received = wire.receive(self.sock, self.bounds, self.deadline)
                kind = header["op"]
                if kind == "callback":
                    self._callback(header, received)
                    continue
                if header["seq"] != seq or kind not in _REPLIES.get(op, ()):
                    raise Malformed(f"a {kind[:20]!r} reply where the answer to {op!r} was due")
                return kind, self._decode(header.get("v"), received)
        except wire.Silent:
            self._lost(f"the kernel stopped answering (no reply within the time limit, during {op})")
        except wire.Gone:
            self._lost("the kernel stopped (it closed the connection or died)")
        except Malformed as error:
            self._lost(f"the kernel broke the grading protocol ({error})")

    def _lost(self, why: str):
        self.gone = why
        raise KernelGone(why) from None

    def _callback(self, header, buffers) -> None:
        """The kernel calls one of the test's functions it was given: run it here, send back the result."""
        seq = header["seq"]
        self.exchanges += 1
        value = self._decode(header.get("v"), buffers)
        if type(value) is not list or len(value) != 3 or type(value[1]) is not list or type(value[2]) is not dict:
            raise Malformed("a callback that is not a function with arguments")
        function, args, kwargs = value
        if not callable(function):
            raise Malformed("a callback of something that is not a function")
        before = [codec.snapshot(a) for a in args]
        try:
            result = function(*args, **kwargs)
            changed = {i: a for i, (a, s) in enumerate(zip(args, before)) if codec.changed(a, s)}
            alias = _alias(result, args)
            tree, out = Encoder(self.bounds, self._reference_out).encode([result, changed] + ([alias] if alias else []))
            reply = "return"
        except KernelGone:
            raise
        except Refused as refusal:
            error = NotPlainData(f"the test's {getattr(function, '__name__', 'function')} returned {refusal.described()}")
            (tree, out), reply = Encoder(self.bounds).encode(codec.exception_record(error)), "raise"
        except AssertionError as failure:
            # a check inside the test's function failed: it fails the test whatever the student's code
            # does with it, and its message (expected values) never crosses
            self.failures.append(failure)
            record = [[["builtins", "AssertionError"]], "a check in the test failed"]
            (tree, out), reply = Encoder(self.bounds).encode(record), "raise"
        except Exception as error:  # the test's function raised: the student's code sees the same exception
            (tree, out), reply = Encoder(self.bounds).encode(codec.exception_record(error)), "raise"
        try:
            wire.send(self.sock, {"op": reply, "seq": seq, "v": tree}, out, self.deadline)
        except wire.Silent:
            self._lost("the kernel stopped reading (during a call back into the test)")
        except wire.Gone:
            self._lost("the kernel stopped (it closed the connection or died)")

    def _decode(self, tree, buffers):
        return Decoder(buffers, self.bounds, local=self._local, remote=self._remote, by_name=False).decode(tree)

    # -- references both ways ----------------------------------------------------------------------------
    def _reference_out(self, value, where):
        """How a test's non-data value crosses: a kernel object by its handle, a library function by
        name, any other callable as a grant the kernel may call back during this call."""
        if isinstance(value, Remote):
            if value._session is not self:
                raise Refused(f"{value!r} from another kernel", where)
            return ["Y", value._handle]
        if not callable(value):
            return None
        named = codec.library_name(value)
        if named:
            return ["F", *named]
        if not self.grants:
            raise Refused("a function outside a call", where)
        for handle, granted in self.granted.items():
            if granted is value:
                return ["O", handle, "function", _name(value)]
        self.next_grant += 1
        self.grants[-1][self.next_grant] = value
        self.granted[self.next_grant] = value
        return ["O", self.next_grant, "function", _name(value)]

    def _local(self, handle):
        if handle not in self.granted:
            raise Malformed(f"a call back into a function the judge did not hand out ({handle})")
        return self.granted[handle]

    def _remote(self, handle, kind, name):
        remote = self.remotes.get(handle)
        if remote is None:
            remote = RemoteFunction(self, handle, name, "student " + ("class" if kind == "class" else "function"))
            self.remotes[handle] = remote
        return remote

    # -- what travels with a call ----------------------------------------------------------------------
    def _overrides(self) -> dict:
        """Notebook names the test rebound to another callable (a spy): rebound in the kernel too."""
        if self.namespace is None:
            return {}
        out = {}
        for name, proxy in self.tracked.items():
            current = self.namespace.get(name, proxy)
            if current is not proxy and callable(current):
                out[name] = current
        return out

    def _filters(self) -> list:
        """The warning filters the test added (``catch_warnings`` + ``simplefilter``), as data: action and
        category only (a filter's message or module pattern is the test's text, which never crosses)."""
        added = []
        for entry in warnings.filters:
            if entry in self.baseline_filters:
                break
            action, message, category, module, lineno = entry
            if message is None and module is None and isinstance(category, type):
                added.append([action, None, category.__name__, None, 0])
        return added[:50]

    def _show(self, printed, notes) -> None:
        if type(printed) is str and printed:
            sys.stdout.write(printed[:PRINT_LIMIT])
        if type(notes) is not list:
            return
        for note in notes[:20]:
            if type(note) is list and len(note) == 2 and all(type(p) is str for p in note):
                key = tuple(note)
                if key not in self.notes_seen:
                    self.notes_seen.add(key)
                    print(f"note: {note[0][:100]}: {note[1][:500]}")


_ABSENT = object()
PRINT_LIMIT = 20_000  # characters of one call's printed output shown (the agent caps it too, if it is honest)
_REPLIES = {"call": ("return", "raise", "refused"), "resolve": ("resolved", "raise"), "names": ("resolved", "raise"),
            "define": ("defined", "raise")}
# A notebook name that is a module in the kernel, when no fixture cell imports it, stands in the judge
# for the judge's own copy of the module the *name* says: ``np`` is numpy, ``warnings`` is warnings.
# The kernel only confirms the import; it never chooses what the judge runs.
ALIASES = {"np": "numpy", "nn": "torch.nn", "F": "torch.nn.functional", "optim": "torch.optim",
           "plt": "matplotlib.pyplot", "mpl": "matplotlib"}
LIBRARIES = ("numpy", "torch", "nnlab", "matplotlib", "scipy")
NEVER_IMPORTED = ("antigravity", "this", "idlelib", "turtle", "turtledemo", "tkinter", "webbrowser", "pydoc")


def _alias(result, args) -> list | None:
    """How ``result`` aliases one of a callback's arguments, so that the kernel returns the student's own
    object, as a plain call would (``lambda v: v``, ``lambda v: v.T``): ``[index, offset, shape, strides]``
    for an array viewing argument ``index`` (offset in bytes from its first element), ``[index]`` for the
    argument itself; None when it aliases nothing (the result then crosses as a copy)."""
    import numpy as np
    for index, arg in enumerate(args):
        if result is arg:
            return [index]
    if type(result) is not np.ndarray:
        return None
    for index, arg in enumerate(args):
        if type(arg) is np.ndarray and arg.flags.c_contiguous and result.dtype == arg.dtype \
                and np.shares_memory(result, arg):
            offset = result.__array_interface__["data"][0] - arg.__array_interface__["data"][0]
            return [index, int(offset), [int(n) for n in result.shape], [int(n) for n in result.strides]]
    return None


def _module(name: str, module):
    if type(module) is not str or not (module == name or module.rsplit(".", 1)[-1] == name
                                       or ALIASES.get(name) == module):
        return _ABSENT
    top = module.split(".")[0]
    if top in NEVER_IMPORTED or not (top in LIBRARIES or top in sys.stdlib_module_names):
        return _ABSENT
    try:
        return sys.modules.get(module) or importlib.import_module(module)
    except ImportError:
        return _ABSENT


def _name(value) -> str:
    name = getattr(value, "__name__", None)
    return name[:100] if type(name) is str else "function"


def open_connection(path: str, deadline: float):
    """Connect to the agent's socket at ``path`` (the connecting process's view of it), retrying until
    ``deadline``.

    Called once per kernel, right after the agent opened the socket and before any student code ran.
    A path longer than a socket address allows is reached through a descriptor of its folder
    (``/proc/self/fd/<n>/<name>``): never by changing the working folder, which the pipeline's threads share.
    """
    folder, name = os.path.split(path)
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        handle = None
        try:
            if len(path.encode()) <= 100:
                sock.connect(path)
            else:
                handle = os.open(folder, os.O_PATH | os.O_DIRECTORY)
                sock.connect(f"/proc/self/fd/{handle}/{name}")
            return sock
        except OSError:
            sock.close()
            if time.monotonic() >= deadline:
                raise KernelGone("the judge could not reach the kernel (its socket never opened)") from None
            time.sleep(0.02)
        finally:
            if handle is not None:
                os.close(handle)


def handshake(sock, token: str, deadline: float, bounds: Bounds | None = None) -> Session:
    """Wait for the agent's hello on a connection (it comes at the first test); a ``Session`` on it."""
    try:
        header, _ = wire.receive(sock, bounds or Bounds(), deadline)
    except (wire.Gone, wire.Silent, Malformed) as error:
        sock.close()
        raise KernelGone(f"the kernel did not start answering the judge ({error})") from None
    if header.get("op") != "hello" or header.get("token") != token:
        sock.close()
        raise KernelGone("the kernel answered the judge with something else than the agent's hello")
    return Session(sock, deadline, bounds)


def connect(path: str, token: str, deadline: float, bounds: Bounds | None = None) -> Session:
    """``open_connection`` and ``handshake`` at once (the agent must be serving)."""
    return handshake(open_connection(path, deadline), token, deadline, bounds)
