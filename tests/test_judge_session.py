"""The proxy boundary between the judge and a kernel (issue 14.3), over a real Unix socket.

The kernel side is the real agent (``autograder.judge.agent``) serving a plain namespace from a
thread, or a hostile peer that answers with crafted bytes: a pickle payload, an object array, a
lying length, silence, a trickle, a call into a function it was never given. The judge side is the
real ``Session`` and ``Judge``. One real ipykernel is driven in ``test_judge_kernel.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import secrets
import socket
import struct
import threading
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pytest

from test_judge_codec import same

from autograder.judge import codec, wire
from autograder.judge.agent import Agent
from autograder.judge.codec import Bounds
from autograder.judge.runner import Judge, free_names
from autograder.judge.session import KernelGone, NotPlainData, RemoteFunction, connect

STUDENT = '''
import numpy as np
import warnings

def add(a, b):
    return a + b

def echo(value):
    return value

def scale_in_place(w, factor=2.0):
    w *= factor

def append_to(items, params):
    items.append(len(items))
    params["W"] += 1.0
    params["new"] = np.zeros(1)

def draw(rng):
    return rng.normal()

def apply(f, x, times=1):
    for _ in range(times):
        x = f(x)
    return x

def shout():
    print("the student's print")
    warnings.warn("a student warning", RuntimeWarning)
    return 1

def log_of(x):
    return np.log(x)

def bad_sqrt(x):
    if x < 0:
        raise ValueError(f"negative input {x}")
    return x ** 0.5

class Custom(ValueError):
    pass

def custom():
    raise Custom("mine")

def leave():
    raise SystemExit(3)

def gen():
    return (i for i in range(3))

class Liar:
    def __eq__(self, other):
        return True

def liar():
    return Liar()

def nested():
    return {"W": [np.zeros(2), (1, Liar())]}

def closure(k):
    return lambda x: x * k

def step(w, g, state, eta=0.1):
    velocity = 0.9 * state.get("v", 0.0) - eta * np.asarray(g)
    return w + velocity, {"v": velocity}

def uses_helper(x):
    return helper(x) * 10

def helper(x):
    return x + 1

def with_defaults(x, eta=0.001, beta=(0.9, 0.999), act=np.tanh, *rest, flag=True, **more):
    return x

STOP = [False]

def forever():  # a hang that the test can end (a thread cannot be killed)
    import time
    while not STOP[0]:
        time.sleep(0.01)

big_data = np.arange(5.0)
a_module = np

def nudged_twice(f, x):  # a numerical-gradient slip: keeps f's result, then changes x in place
    x = np.array(x, dtype=float)
    first = f(x)
    x[0] += 1.0
    return first
'''


def student_namespace() -> dict:
    namespace: dict = {"__name__": "__main__"}
    exec(compile(STUDENT, "<student>", "exec"), namespace)
    return namespace


@contextmanager
def listening(tmp_path):
    """A socket where a (fake) kernel listens, as the agent does: the judge connects to it."""
    path = str(tmp_path / "agent.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)
    try:
        yield path, listener
    finally:
        listener.close()
        if os.path.exists(path):
            os.unlink(path)


@contextmanager
def agent_session(tmp_path, namespace=None, seconds=20.0, bounds=None):
    """A real agent serving ``namespace`` from a thread, and the judge's session connected to it."""
    namespace = student_namespace() if namespace is None else namespace
    token = secrets.token_hex(8)
    path = str(tmp_path / "agent.sock")
    agent = Agent(namespace)
    agent.listen(path, token)
    thread = threading.Thread(target=agent.serve, daemon=True)
    thread.start()
    session = connect(path, token, time.monotonic() + seconds, bounds)
    session.namespace = {}
    try:
        yield session, namespace
    finally:
        if not session.gone:
            wire.send(session.sock, {"op": "done", "seq": 0})
        session.sock.close()
        thread.join(10)


def proxies(session, *names):
    found = session.resolve(list(names))
    return [found[name] for name in names]


# -- calls, data both ways -----------------------------------------------------------------------------

ROUND_TRIPS = [1, -2.5, None, True, "text", [1, [2]], (1, 2), {"a": np.arange(3.0)}, np.eye(3, dtype=np.float32),
               np.int16(4), 1 + 2j, b"raw", range(3), np.random.default_rng(1), np.dtype("int8")]


def test_every_supported_type_goes_to_the_kernel_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    with agent_session(tmp_path) as (session, _):
        (echo,) = proxies(session, "echo")
        for value in ROUND_TRIPS + [torch.ones(2, 3, dtype=torch.float64), torch.tensor(True)]:
            back = echo(value)
            if isinstance(value, np.random.Generator):
                assert type(back) is np.random.Generator and back.random() == np.random.default_rng(1).random()
            else:
                assert same(back, value), (value, back)
        assert echo(np.zeros(3)) is not None  # copies: the result is never the test's own object


def test_a_call_runs_the_kernels_function_with_its_globals(tmp_path):
    with agent_session(tmp_path) as (session, _):
        add, uses_helper = proxies(session, "add", "uses_helper")
        assert add(np.array([1.0, 2.0]), 3.0).tolist() == [4.0, 5.0]
        assert add(b=1, a=2) == 3
        assert uses_helper(1) == 20


def test_data_names_are_fetched_as_data_and_modules_as_the_judges_own(tmp_path):
    with agent_session(tmp_path) as (session, _):
        found = session.resolve(["big_data", "a_module", "np", "nothing_here", "add"])
        assert type(found["big_data"]) is np.ndarray and found["big_data"].tolist() == [0, 1, 2, 3, 4]
        assert "a_module" not in found  # a module under another name is not guessed at
        assert found["np"] is np and "np" in session.borrowed
        assert "nothing_here" not in found
        assert isinstance(found["add"], RemoteFunction)


def test_arguments_changed_in_place_are_copied_back_into_the_tests_objects(tmp_path):
    with agent_session(tmp_path) as (session, _):
        scale_in_place, append_to, draw = proxies(session, "scale_in_place", "append_to", "draw")
        w = np.ones(3)
        view = np.zeros(6)
        assert scale_in_place(w) is None and w.tolist() == [2.0, 2.0, 2.0]
        scale_in_place(view[::2], factor=0.0)
        scale_in_place(w=view[1:3] + 1)  # a temporary: nothing to copy back into, nothing breaks
        items, W = [7], np.zeros(2)
        params = {"W": W}
        append_to(items, params)
        assert items == [7, 1] and params["W"] is W and W.tolist() == [1.0, 1.0] and "new" in params
        rng = np.random.default_rng(5)
        first = draw(rng)
        assert first == np.random.default_rng(5).normal() and draw(rng) != first  # the generator moved on
        untouched = np.arange(3.0)
        proxies(session, "echo")[0](untouched)
        assert untouched.tolist() == [0.0, 1.0, 2.0]


def test_the_tests_callables_are_called_back_during_the_call(tmp_path):
    with agent_session(tmp_path) as (session, _):
        apply, echo, closure = proxies(session, "apply", "echo", "closure")
        seen = []

        def doubled(x):
            seen.append(x)
            return x * 2
        before = session.exchanges
        assert apply(doubled, 1.0, times=3) == 8.0 and seen == [1.0, 2.0, 4.0]
        assert session.exchanges - before == 4, "the call and its three callbacks: what a verdict counts"
        assert apply(np.tanh, 0.0) == 0.0 and apply(len, [1, 2]) == 2  # library functions go by name
        # a callback that calls back into the kernel (a spy around a student function)
        assert apply(lambda x: echo(x) + 1, 0, times=2) == 2

        def broken(x):
            raise KeyError("the test's own error")
        with pytest.raises(KeyError):
            apply(broken, 1)
        # a returned function is a proxy too
        triple = closure(3)
        assert isinstance(triple, RemoteFunction) and triple(2) == 6


def test_a_callback_that_returns_its_argument_or_a_view_of_it_aliases_the_students_array(tmp_path):
    """``f = lambda v: v`` hands the student's own array back, as a plain call would: a slip that keeps
    f's result and then nudges the array again shows (lesson 07's numerical gradient tests)."""
    with agent_session(tmp_path) as (session, _):
        (nudged_twice,) = proxies(session, "nudged_twice")
        x = np.array([1.0, 2.0, 3.0])
        assert nudged_twice(lambda v: v, x).tolist() == [2.0, 2.0, 3.0]
        assert nudged_twice(lambda v: v[::-1], x).tolist() == [3.0, 2.0, 2.0]
        assert nudged_twice(lambda v: v.reshape(3, 1).T, x).tolist() == [[2.0, 2.0, 3.0]]
        assert nudged_twice(lambda v: v * 1, x).tolist() == [1.0, 2.0, 3.0]  # a new array: a copy
        assert x.tolist() == [1.0, 2.0, 3.0]


def test_a_spy_that_rebinds_a_notebook_name_is_seen_by_the_students_code(tmp_path):
    with agent_session(tmp_path) as (session, namespace):
        uses_helper, helper = proxies(session, "uses_helper", "helper")
        test_ns = {"uses_helper": uses_helper, "helper": helper}
        session.namespace, session.tracked = test_ns, {"uses_helper": uses_helper, "helper": helper}
        calls = []
        real = helper

        def spy(x):
            calls.append(x)
            return real(x)
        test_ns["helper"] = spy
        assert uses_helper(4) == 50 and calls == [4]
        assert namespace["helper"](1) == 2  # rebound only for the call
        test_ns["helper"] = real
        assert uses_helper(4) == 50 and calls == [4]


def test_prints_and_warnings_in_the_kernel_come_back_as_output_and_notes(tmp_path, capsys):
    with agent_session(tmp_path) as (session, _):
        shout, log_of = proxies(session, "shout", "log_of")
        assert shout() == 1
        shout()
        out = capsys.readouterr().out
        assert out.count("the student's print") == 2
        assert out.count("note: RuntimeWarning: a student warning") == 1  # once per test cell
        log_of(np.array([-1.0]))
        assert "note: RuntimeWarning: invalid value encountered in log" in capsys.readouterr().out


def test_the_tests_warning_filters_apply_in_the_kernel(tmp_path):
    with agent_session(tmp_path) as (session, _):
        (log_of,) = proxies(session, "log_of")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(RuntimeWarning):
                log_of(np.array([-1.0]))
        assert np.isnan(log_of(np.array([-1.0]))[0])


def test_the_students_exceptions_come_back_as_the_same_library_class(tmp_path):
    from nnlab import check
    with agent_session(tmp_path) as (session, _):
        bad_sqrt, custom, leave = proxies(session, "bad_sqrt", "custom", "leave")
        with pytest.raises(ValueError, match="negative input -4"):
            bad_sqrt(-4)
        check.raises("bad_sqrt(-1)", ValueError, bad_sqrt, -1)
        with pytest.raises(ValueError, match="Custom: mine"):
            custom()
        with pytest.raises(codec.RemoteError, match="SystemExit"):  # never a SystemExit in the judge
            leave()
        assert bad_sqrt(4) == 2.0


def test_what_is_not_data_fails_the_call_with_what_it_was(tmp_path):
    with agent_session(tmp_path) as (session, _):
        gen, liar, nested, echo = proxies(session, "gen", "liar", "nested", "echo")
        with pytest.raises(NotPlainData, match="gen returned a generator, expected numbers"):
            gen()
        with pytest.raises(NotPlainData, match="returned a Liar"):
            liar()
        with pytest.raises(NotPlainData, match=r"\['W'\]\[1\]\[1\] is a Liar"):
            nested()
        with pytest.raises(NotPlainData, match="the test cannot pass a set"):
            echo({1, 2})


def test_signatures_and_docstrings_are_visible_for_inspect(tmp_path):
    import inspect
    with agent_session(tmp_path) as (session, _):
        (with_defaults,) = proxies(session, "with_defaults")
        signature = inspect.signature(with_defaults)
        assert list(signature.parameters) == ["x", "eta", "beta", "act", "rest", "flag", "more"]
        assert signature.parameters["eta"].default == 0.001
        assert signature.parameters["beta"].default == (0.9, 0.999)
        assert repr(signature.parameters["act"].default) == repr(np.tanh)  # not data: shown by its text
        assert signature.parameters["rest"].kind is inspect.Parameter.VAR_POSITIONAL
        assert with_defaults.__name__ == "with_defaults"


def test_arguments_and_results_beyond_the_bound_are_refused(tmp_path):
    bounds = Bounds(max_bytes=1 << 20)
    with agent_session(tmp_path, bounds=bounds) as (session, _):
        (echo,) = proxies(session, "echo")
        with pytest.raises(NotPlainData, match="more than 1048576 bytes"):
            echo(np.zeros(1 << 18))  # 2 MiB of float64: refused before anything is sent
        assert echo(np.zeros(1000)).shape == (1000,)
    namespace = student_namespace()
    namespace["huge"] = lambda: np.zeros(1 << 19)
    with agent_session(tmp_path, namespace, bounds=bounds) as (session, _):
        session.sock.settimeout(5)
        (huge,) = proxies(session, "huge")
        # the honest agent uses its own (larger) bound, so the judge's bound is what refuses the reply
        with pytest.raises(KernelGone, match="protocol"):
            huge()


def test_a_kernel_that_never_answers_is_bounded_by_the_wall_clock(tmp_path):
    with agent_session(tmp_path, seconds=2.0) as (session, namespace):
        (forever,) = proxies(session, "forever")
        started = time.monotonic()
        with pytest.raises(KernelGone, match="stopped answering"):
            forever()
        assert time.monotonic() - started < 4
        with pytest.raises(KernelGone):  # and every later call fails at once, with the same reason
            forever()
        namespace["STOP"][0] = True


# -- hostile peers: crafted bytes instead of the agent ---------------------------------------------------

def frame(header: dict, buffers=()) -> bytes:
    head = json.dumps(header).encode()
    out = wire.PREFIX.pack(wire.MAGIC, len(buffers), len(head)) + head
    for buffer in buffers:
        out += wire.LENGTH.pack(len(buffer)) + buffer
    return out


@contextmanager
def hostile(tmp_path, answer, seconds=3.0):
    """A fake kernel: listens, says hello, then answers the first request with ``answer(sock, header)``."""
    token = "t0ken"
    with listening(tmp_path) as (path, listener):
        def run():
            sock, _ = listener.accept()
            wire.send(sock, {"op": "hello", "seq": 0, "token": token})
            try:
                header, _ = wire.receive(sock, Bounds())
                answer(sock, header)
                sock.settimeout(seconds + 1)
                sock.recv(1)  # until the judge hangs up
            except OSError:
                pass
            finally:
                sock.close()
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        session = connect(path, token, time.monotonic() + seconds)
        try:
            yield session
        finally:
            session.sock.close()
            thread.join(seconds + 3)


def reply_with(tree, buffers=(), op="return", seq=None):
    def answer(sock, header):
        sock.sendall(frame({"op": op, "seq": header["seq"] if seq is None else seq, "v": tree}, buffers))
    return answer


class Boom:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def call_fake(session):
    fake = RemoteFunction(session, 1, "student_function", "student function")
    return fake(np.ones(2))


def test_a_pickle_payload_in_a_result_never_runs(tmp_path):
    marker = str(tmp_path / "pwned")
    import io
    out = io.BytesIO()
    np.save(out, np.array([Boom(marker)], dtype=object), allow_pickle=True)
    for buffer in (out.getvalue(), pickle.dumps(Boom(marker))):
        with hostile(tmp_path, reply_with(["L", ["A", 0], ["D"], "", ["L"]], [buffer])) as session:
            with pytest.raises(KernelGone, match="protocol"):
                call_fake(session)
    assert not os.path.exists(marker)


@pytest.mark.parametrize("tree, buffers, op, seq", [
    (["L", 1, ["D"], "", ["L"]], (), "return", 99),                          # the answer to another request
    (["L", 1, ["D"], "", ["L"]], (), "callback", None),                      # a call back into nothing granted
    (["L", ["F", "os", "system"], ["D"], "", ["L"]], (), "return", None),    # a library function by name
    (["L", ["Y", 12345], ["D"], "", ["L"]], (), "return", None),             # a judge object never handed out
    (["L", ["DT", "O"], ["D"], "", ["L"]], (), "return", None),              # an object dtype by name
    ({"not": "a tree"}, (), "return", None),
    (["L", ["A", 0], ["D"], "", ["L"]], (b"\x93NUMPY\x01\x00" + struct.pack("<H", 118)
                                         + b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
                                         + b" " * 48 + b"\n" + b"\0" * 8,), "return", None),  # a lying array header
], ids=["wrong-seq", "ungranted-callback", "by-name", "unknown-handle", "object-dtype", "json-object", "lying-npy"])
def test_crafted_replies_end_the_grading_with_a_reason(tmp_path, tree, buffers, op, seq):
    with hostile(tmp_path, reply_with(tree, buffers, op, seq)) as session:
        with pytest.raises(KernelGone, match="protocol"):
            call_fake(session)
        assert "protocol" in session.gone


def test_lying_lengths_cost_no_memory_and_deep_headers_no_recursion(tmp_path):
    def announce_huge(sock, header):
        sock.sendall(wire.PREFIX.pack(wire.MAGIC, 1, 2) + b"{}" + wire.LENGTH.pack(1 << 40))
    for answer in (announce_huge,
                   lambda sock, header: sock.sendall(wire.PREFIX.pack(wire.MAGIC, 10 ** 9, 2) + b"{}"),
                   lambda sock, header: sock.sendall(wire.PREFIX.pack(b"EVIL", 0, 2) + b"{}"),
                   lambda sock, header: sock.sendall(frame({"op": "return", "seq": header["seq"],
                                                            "v": json.loads("[" * 900 + "]" * 900)}))):
        with hostile(tmp_path, answer) as session:
            started = time.monotonic()
            with pytest.raises(KernelGone, match="protocol"):
                call_fake(session)
            assert time.monotonic() - started < 1.5  # refused on the announcement, not after waiting


def test_a_deeply_nested_header_is_refused_without_recursing(tmp_path):
    def deep(sock, header):
        head = b'{"op":"return","seq":1,"v":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        sock.sendall(wire.PREFIX.pack(wire.MAGIC, 0, len(head)) + head)
    with hostile(tmp_path, deep) as session:
        with pytest.raises(KernelGone, match="protocol"):
            call_fake(session)


@pytest.mark.parametrize("behaviour", ["silent", "trickle", "close"])
def test_a_silent_trickling_or_vanishing_kernel_is_bounded_by_the_deadline(tmp_path, behaviour):
    def answer(sock, header):
        if behaviour == "trickle":
            for byte in frame({"op": "return", "seq": header["seq"], "v": ["L", 1, ["D"], "", ["L"]]}):
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
        elif behaviour == "close":
            sock.close()
    with hostile(tmp_path, answer, seconds=1.5) as session:
        started = time.monotonic()
        with pytest.raises(KernelGone, match="stopped"):
            call_fake(session)
        assert time.monotonic() - started < 2.5


def test_connect_refuses_a_peer_without_the_token_and_times_out(tmp_path):
    with listening(tmp_path) as (path, listener):
        def impostor():
            sock, _ = listener.accept()
            wire.send(sock, {"op": "hello", "seq": 0, "token": "guess"})
            sock.settimeout(2)
            with contextlib.suppress(OSError):
                sock.recv(1)
            sock.close()
        threading.Thread(target=impostor, daemon=True).start()
        with pytest.raises(KernelGone, match="something else than the agent's hello"):
            connect(path, "the-real-token", time.monotonic() + 1.0)
    started = time.monotonic()
    with pytest.raises(KernelGone, match="never opened"):  # nobody listens: bounded by the deadline
        connect(str(tmp_path / "nobody.sock"), "token", time.monotonic() + 1.0)
    assert time.monotonic() - started < 2
    with listening(tmp_path) as (path, listener):  # a listener that never says hello
        started = time.monotonic()
        with pytest.raises(KernelGone, match="did not start answering"):
            connect(path, "token", time.monotonic() + 1.0)
        assert time.monotonic() - started < 2


# -- the judge: namespaces, fixtures and verdicts ------------------------------------------------------------

def judge_with(tmp_path, fixtures, tests, namespace=None):
    judge = Judge(fixtures, tests)
    judge.run_fixtures()
    verdicts = {}
    for grade_id in tests:
        folder = tmp_path / grade_id
        folder.mkdir()
        with agent_session(folder, namespace) as (session, _):
            verdicts[grade_id] = judge.run_test(grade_id, session)
    return judge, verdicts


def test_the_judge_turns_test_cells_into_verdicts(tmp_path):
    fixtures = ["import numpy as np\nfrom nnlab import check", "def reference_add(a, b):\n    return a + b"]
    tests = {
        "passes": "check.close('add', add(1.0, 2.0), reference_add(1.0, 2.0))\nprint('visible part passed')",
        "fails": "check.close('add', add(1.0, 2.0), 4.0, hint='add them')",
        "errors": "bad_sqrt(-1.0)",
        "missing": "not_defined_anywhere(1)",
        "not_data": "gen()",
        "partial": "x = add(1, 1)\nx / 4",
    }
    judge, verdicts = judge_with(tmp_path, fixtures, tests)
    assert verdicts["passes"]["status"] == "passed" and verdicts["passes"]["stdout"] == "visible part passed\n"
    assert verdicts["fails"]["status"] == "failed" and verdicts["fails"]["ename"] == "CheckFailure"
    assert "hint: add them" in verdicts["fails"]["evalue"] and "check.close" not in verdicts["fails"]["evalue"]
    assert verdicts["errors"]["status"] == "error" and verdicts["errors"]["ename"] == "ValueError"
    assert verdicts["missing"]["ename"] == "NameError"
    assert verdicts["not_data"]["ename"] == "NotPlainData"
    assert verdicts["partial"]["status"] == "passed" and verdicts["partial"]["result"] == "0.5"
    assert "add" not in judge.namespace  # proxies live for their test cell only


def test_the_judge_looks_up_only_the_names_a_cell_reads_without_binding():
    source = ("for name, f in [(1, 2)]:\n    print(name)\nz = double(x)\nclass A:\n    k = w\n"
              "def g(a):\n    return a + helper(a) + z\n[v for v in vals]\nimport numpy as np\nx = np.zeros(3)\n")
    assert free_names(source) == {"print", "double", "w", "helper", "vals"}  # x: bound below, so the cell's own


def test_a_name_the_test_binds_is_never_read_from_the_students_namespace(tmp_path):
    namespace = {**student_namespace(), "name": "the student's", "scale": 3.0}
    tests = {"t": "for name in ['a', 'b']:\n    assert isinstance(name, str)\nassert add(1.0, 2.0) == 3.0",
             "reads": "assert scale == 3.0"}
    judge, verdicts = judge_with(tmp_path, [], tests, namespace)
    assert {k: v["status"] for k, v in verdicts.items()} == {"t": "passed", "reads": "passed"}, verdicts
    assert judge.fetched == {"scale"}, judge.fetched  # what the note to the instructor names


def test_a_fixture_function_that_calls_student_code_gets_its_proxies(tmp_path):
    fixtures = ["def through_fixture(x):\n    return helper(x) + uses_helper(x)"]
    judge, verdicts = judge_with(tmp_path, fixtures, {"t": "assert through_fixture(1) == 22"})
    assert verdicts["t"]["status"] == "passed", verdicts


def test_in_kernel_fixtures_run_as_the_kernels_copy(tmp_path):
    fixtures = ["from nnlab import check\n\n@check.in_kernel\ndef where_am_i(f):\n"
                "    import threading\n    return [threading.current_thread().name, f(2)]"]
    tests = {"t": "name, value = where_am_i(helper)\nassert value == 3\nprint(name)"}
    namespace = student_namespace()
    judge, verdicts = judge_with(tmp_path, fixtures, tests, namespace)
    assert verdicts["t"]["status"] == "passed", verdicts
    assert verdicts["t"]["stdout"].strip() != threading.current_thread().name  # it ran in the agent's thread
    assert "where_am_i" in namespace  # defined in the kernel from the release's source
    assert getattr(judge.namespace["where_am_i"], "__nnlab_in_kernel__", False)  # the judge's own is back


def test_a_students_edited_copy_of_an_in_kernel_fixture_never_runs(tmp_path):
    fixtures = ["from nnlab import check\n\n@check.in_kernel\ndef report(f):\n    return f(1)"]
    namespace = student_namespace()
    exec("def report(f):\n    return 'a fabricated report'", namespace)  # the student's own version
    judge, verdicts = judge_with(tmp_path, fixtures, {"t": "assert report(helper) == 2, report(helper)"}, namespace)
    assert verdicts["t"]["status"] == "passed", verdicts


def test_a_lost_kernel_fails_the_test_and_every_later_one_with_the_reason(tmp_path):
    judge = Judge([], {"hangs": "forever()", "later": "add(1, 2)"})
    with agent_session(tmp_path, seconds=1.5) as (session, namespace):
        first = judge.run_test("hangs", session)
        namespace["STOP"][0] = True
    later = judge.run_test("later", None)
    assert first["status"] == "error" and "stopped answering" in first["evalue"]
    assert later["status"] == "error" and "did not run" in later["evalue"] and "stopped answering" in later["evalue"]


def test_the_judges_server_loads_what_the_release_imports():
    from autograder.judge.process import preload_for
    numpy_lesson = preload_for(["import numpy as np\nfrom nnlab import check, datasets", "import torch\nx = torch.ones(2)"])
    assert {"numpy", "nnlab", "nnlab.check", "nnlab.datasets", "torch"} <= set(numpy_lesson)
    assert "torch._dynamo" not in numpy_lesson  # seconds of imports that only an optimizer's first step needs
    assert "torch._dynamo" in preload_for(["import torch\nopt = torch.optim.SGD([torch.ones(1)], lr=0.1)"])
    assert numpy_lesson[0] == "autograder.judge.headless"  # matplotlib's backend set before pyplot is imported
