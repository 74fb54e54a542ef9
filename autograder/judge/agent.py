"""The judge's helper inside the student's kernel: it runs what the judge asks and answers with data.

This text runs in the student's sandboxed kernel, after ``codec`` and ``wire`` (the three are sent as
one source, ``kernel_source()``), so it is exactly as trustworthy as the student's code: the student
can read, patch or replace it. Nothing depends on it behaving: everything it sends is decoded by the
judge as data, under the judge's bounds and deadline, and compared there.

When the kernel starts, before the notebook's first cell, the agent opens a Unix socket in the
kernel's own scratch folder and the judge connects to it once (through ``/proc/<kernel>/root`` when
sandboxed: nothing outside the sandbox is reachable that way), so the student's code never gets to
put anything at that path first. At each test cell's place in the notebook the pipeline executes
``_nnlab_judge_agent.serve()`` in the kernel's main thread (so the student's functions run exactly
where they would in a notebook: same thread, same grad mode and numpy error state), and the agent
answers on that connection until the judge says ``done``:

- ``resolve`` names: what each name of the notebook's namespace is (absent, a module, a function or
  class, data, or another object), with data sent along and callables given a handle;
- ``call`` a handle with arguments: the result as data, the arguments the call changed in place,
  what it printed (capped) and the warnings it raised (as notes). Arguments that are the judge's
  callables arrive as stubs that call back into the judge; the judge's rebinding of a notebook name
  (a spy that wraps a student function) is applied to the namespace for the call;
- ``define`` an instructor's ``@check.in_kernel`` fixture the namespace lacks.
"""

import contextlib
import functools
import os
import socket
import sys
import types
import warnings

import numpy as np

try:
    from .codec import (PLAIN_DATA, Bounds, Decoder, Encoder, Malformed, Refused, changed, describe_place,
                        exception_record, mirror, rebuild_exception, snapshot, type_name)
    from .wire import Gone, receive, send
except ImportError:  # inside the kernel: codec's and wire's text precede this one
    pass

PRINT_LIMIT = 20_000       # characters of a call's printed output sent back
NOTE_LIMIT = 20            # warnings per call sent back as notes
FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial,
                  types.BuiltinMethodType, np.ufunc)


class _Ended(Exception):
    """The judge said ``done`` while a callback waited: unwind the student's call."""


class _Capped:
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int):
        self.limit, self.parts, self.size, self.cut = limit, [], 0, 0

    def write(self, text) -> int:
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        self.cut += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        tail = f"\n… [{self.cut} more characters not shown]\n" if self.cut else ""
        return "".join(self.parts) + tail


def _user_namespace() -> dict:
    try:
        return get_ipython().user_ns  # noqa: F821 (defined in an IPython kernel)
    except NameError:
        return sys.modules["__main__"].__dict__


class Agent:
    def __init__(self, namespace: dict | None = None, bounds: Bounds | None = None):
        self._namespace = namespace
        self.bounds = bounds or Bounds()
        self.handles: dict[int, object] = {}    # objects the judge may name back ("Y")
        self.handle_of: dict[int, int] = {}     # id(object) -> handle
        self.stubs: dict[int, object] = {}      # the judge's callables, as functions here
        self.sock = None
        self.listener = None
        self.path, self.token = "", ""
        self.seq = 0

    @property
    def namespace(self) -> dict:
        """The notebook's namespace, found when first needed: an agent made before IPython started (a warm
        kernel's, ``listen`` in its zygote's child) finds IPython's."""
        if self._namespace is None:
            self._namespace = _user_namespace()
        return self._namespace

    # -- the connection ------------------------------------------------------------------------------
    def listen(self, path: str, token: str) -> None:
        """Open the socket the judge connects to (at the kernel's start, before any student code runs)."""
        if os.path.lexists(path):
            os.unlink(path)
        self.path, self.token = path, token
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path if len(path.encode()) <= 100 else os.path.relpath(path))  # paths: <= 107 bytes
        self.listener.listen(1)

    def serve(self) -> None:
        """Answer the judge until it says ``done`` (or goes away); the connection stays for the next test."""
        try:
            if self.sock is None:
                if self.listener is None:
                    return  # the judge is gone: nothing to serve
                self.sock, _ = self.listener.accept()
                self.listener.close()
                self.listener = None
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
                send(self.sock, {"op": "hello", "seq": 0, "token": self.token})
            while True:
                header, buffers = receive(self.sock, self.bounds)
                if header["op"] == "done":
                    return
                self._answer(header, buffers)
        except (Gone, _Ended, OSError):
            if self.sock is not None:
                self.sock.close()
            self.sock = None
            self.listener = None

    def _answer(self, header, buffers) -> None:
        op, seq = header["op"], header["seq"]
        try:
            value = self._decode(header.get("v"), buffers)
            if op == "names":
                reply = ("resolved", [str(name) for name in list(self.namespace)[:100_000] if type(name) is str])
            elif op == "resolve":
                reply = ("resolved", [[name, self._describe(name)] for name in value])
            elif op == "call":
                reply = self._call(*value)
            elif op == "define":
                reply = self._define(*value)
            else:
                raise Malformed(f"unknown operation {op[:20]!r}")
        except (Malformed, TypeError, ValueError) as error:
            reply = ("raise", [exception_record(error), "", []])
        self._send(reply[0], seq, reply[1])

    def _send(self, op: str, seq: int, value) -> None:
        try:
            tree, buffers = Encoder(self.bounds, self._reference).encode(value)
        except Refused as refusal:  # the result (or a changed argument) is not data: say so, as data
            where, what = refusal.where, refusal.what
            if op == "return" and where.startswith("[1]"):
                said = "changed an argument in place into " + describe_place(where[3:].split("]", 1)[-1], what)
            else:
                said = "returned " + describe_place(where[3:] if where.startswith("[0]") else where, what)
            tree, buffers = Encoder(self.bounds).encode([f"{said}, expected {PLAIN_DATA}", value[-2], value[-1]])
            op = "refused"
        send(self.sock, {"op": op, "seq": seq, "v": tree}, buffers)

    def _decode(self, tree, buffers):
        return Decoder(buffers, self.bounds, local=self._local, remote=self._stub, by_name=True).decode(tree)

    # -- references --------------------------------------------------------------------------------------
    def _export(self, value) -> int:
        handle = self.handle_of.get(id(value))
        if handle is None or self.handles.get(handle) is not value:
            if len(self.handles) > 100_000:
                raise Refused("more than 100000 functions handed to the judge")
            handle = len(self.handles) + 1
            self.handles[handle] = value
            self.handle_of[id(value)] = handle
        return handle

    def _reference(self, value, where):
        stub = getattr(value, "__nnlab_callback__", None) if isinstance(value, types.FunctionType) else None
        if type(stub) is int and self.stubs.get(stub) is value:
            return ["Y", stub]
        if isinstance(value, FUNCTION_TYPES) or isinstance(value, type):
            kind = "class" if isinstance(value, type) else "function"
            return ["O", self._export(value), kind, str(getattr(value, "__name__", kind))[:100]]
        return None

    def _local(self, handle):
        if handle not in self.handles:
            raise Malformed(f"no object {handle} in this kernel")
        return self.handles[handle]

    def _stub(self, handle, kind, name):
        if handle in self.stubs:
            return self.stubs[handle]
        agent = self

        def stub(*args, **kwargs):
            return agent._callback(handle, args, kwargs)
        stub.__name__ = stub.__qualname__ = name if name.isidentifier() else "callback"
        stub.__nnlab_callback__ = handle
        self.stubs[handle] = stub
        return stub

    # -- operations ------------------------------------------------------------------------------------------
    def _describe(self, name):
        if type(name) is not str or name not in self.namespace:
            return {"kind": "absent"}
        value = self.namespace[name]
        if isinstance(value, types.ModuleType):
            return {"kind": "module", "module": str(getattr(value, "__name__", ""))[:200]}
        if callable(value):
            kind = "class" if isinstance(value, type) else "function" if isinstance(value, FUNCTION_TYPES) else "callable"
            return {"kind": kind, "handle": self._export(value), "type": type_name(value),
                    "signature": _signature(value, self.bounds), "doc": str(getattr(value, "__doc__", "") or "")[:4000]}
        try:
            Encoder(self.bounds, self._reference).encode(value)  # data, its functions as proxies (a dict of them)
            return {"kind": "data", "value": value}
        except Refused as refusal:
            return {"kind": "object", "handle": self._export(value), "type": type_name(value),
                    "why": refusal.described()}

    def _define(self, name, source):
        if type(name) is not str or not name.isidentifier() or type(source) is not str:
            raise Malformed("a definition that is not a name and its source")
        exec(compile(source, f"<nnlab fixture {name}>", "exec"), self.namespace)
        function = self.namespace.get(name)
        if callable(function):
            function.__nnlab_in_kernel__ = True
        return ("defined", [True, "", []])

    def _call(self, target, args, kwargs, overrides, filters):
        if not callable(target) or type(args) is not list or type(kwargs) is not dict or type(overrides) is not dict:
            raise Malformed("a call that is not a callable with arguments")
        with np.errstate(all="ignore"):  # the student's np.seterr is for the student's code, not ours
            before = [snapshot(a) for a in args], {k: snapshot(v) for k, v in kwargs.items()}
        saved = {name: self.namespace.get(name, _ABSENT) for name in overrides if type(name) is str}
        printed = _Capped(PRINT_LIMIT)
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(_Capped(0)), \
                    warnings.catch_warnings(record=True) as caught:
                _apply_filters(filters)
                self.namespace.update(overrides)
                try:
                    result = target(*args, **kwargs)
                except _Ended:
                    raise
                except BaseException as error:  # noqa: B036: SystemExit and the like fail the call, nothing more
                    return ("raise", [exception_record(error), printed.text(), _notes(caught)])
        finally:
            for name, value in saved.items():
                if value is _ABSENT:
                    self.namespace.pop(name, None)
                else:
                    self.namespace[name] = value
        with np.errstate(all="ignore"):
            mutated = {i: a for i, (a, s) in enumerate(zip(args, before[0])) if changed(a, s)}
            mutated.update({k: v for k, v in kwargs.items() if changed(v, before[1][k])})
        return ("return", [result, mutated, printed.text(), _notes(caught)])

    def _callback(self, handle, args, kwargs):
        """Call the judge's callable ``handle`` (a stub's body): arguments out, its result back."""
        if self.sock is None:
            raise RuntimeError("the test's function can only be called while the test runs")
        self.seq += 1
        seq = self.seq
        before = [snapshot(a) for a in args]
        try:
            tree, buffers = Encoder(self.bounds, self._reference).encode([self.stubs[handle], list(args), dict(kwargs)])
        except Refused as refusal:
            raise TypeError(f"the test's function cannot take {refusal.described()}: pass {PLAIN_DATA}") from None
        send(self.sock, {"op": "callback", "seq": seq, "v": tree}, buffers)
        while True:
            header, buffers = receive(self.sock, self.bounds)
            op = header["op"]
            if op in ("return", "raise") and header["seq"] == seq:
                value = self._decode(header.get("v"), buffers)
                break
            if op == "done":
                raise _Ended()
            self._answer(header, buffers)  # the judge calls in again while its function runs
        if op == "raise":
            raise rebuild_exception(value)
        result, mutated = value[0], value[1]
        for index, new in mutated.items():
            if type(index) is int and 0 <= index < len(args):
                mirror(args[index], new)
        if len(value) == 3:  # the test's function returned (a view of) its argument: the student's own
            return _aliased(args, value[2], result)
        return result


_ABSENT = object()


def _aliased(args, alias, fallback):
    """The argument (or the view of it) a callback's result was, as ``session._alias`` described it."""
    try:
        index = alias[0]
        if len(alias) == 1:
            return args[index]
        base = args[index]
        if type(base) is np.ndarray and base.flags.c_contiguous:
            return np.ndarray(tuple(alias[2]), dtype=base.dtype, buffer=base, offset=int(alias[1]),
                              strides=tuple(alias[3]))
    except Exception:  # an alias that does not fit this argument: the copy below, as before
        pass
    return fallback


def _signature(value, bounds):
    """The parameters of ``value`` as data: ``[name, kind, "none" | "value", default | "repr", text]``."""
    import inspect
    try:
        parameters = inspect.signature(value).parameters.values()
    except (TypeError, ValueError):
        return None
    out = []
    for p in list(parameters)[:64]:
        entry = [p.name, int(p.kind)]
        if p.default is p.empty:
            entry.append("none")
        else:
            try:
                Encoder(bounds).encode(p.default)
                entry += ["value", p.default]
            except Refused:
                entry += ["repr", repr(p.default)[:200]]
        out.append(entry)
    return out


def _notes(caught) -> list:
    return [[getattr(w.category, "__name__", "Warning"), str(w.message)[:500]] for w in caught[:NOTE_LIMIT]]


def _apply_filters(filters) -> None:
    """The judge's own warning filters for this call (``simplefilter("error")`` around a call, say)."""
    import builtins
    if type(filters) is not list:
        return
    for entry in reversed(filters[:50]):
        if type(entry) is not list or len(entry) != 5:
            continue
        action, message, category, module, lineno = entry
        kind = getattr(builtins, category, None) if type(category) is str else None
        if not (isinstance(kind, type) and issubclass(kind, Warning)):
            kind = Warning
        try:
            warnings.filterwarnings(action, message or "", kind, module or "", lineno if type(lineno) is int else 0)
        except (ValueError, TypeError, AssertionError):
            continue


AGENT = None


def listen(path: str, token: str) -> None:
    """Run once, when the kernel starts: the agent, listening where the judge will connect."""
    global AGENT
    AGENT = Agent()
    AGENT.listen(path, token)


def serve() -> None:
    """What the pipeline executes at a test cell's place: answer the judge for that test."""
    if AGENT is not None:
        AGENT.serve()
