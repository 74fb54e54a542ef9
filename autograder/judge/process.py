"""The judge as a process of its own, one per student, and the pipeline's handle on it.

Each student's tests run in a fresh process (test code seeds torch, sets warning filters, defines
helpers: nothing of it may leak into another student's grading), forked from a server that has
numpy, torch and nnlab loaded already (``multiprocessing``'s forkserver), so a judge starts in tens
of milliseconds. The kernel's agent opens a Unix socket in the kernel's own working folder when the
kernel starts (a cold kernel's ``bootstrap_code``; a warm kernel's zygote child, before IPython starts),
and the pipeline connects to it at once (``connect``), before any student code has run: through
``/proc/<kernel>/root`` when sandboxed, so whatever the student later puts at that path, nothing outside
the sandbox is reached. The judge gets that one connection
(``hand_over``, the descriptor passed over the pipe) when it is needed, at the first test cell, so
the notebook's first cells run while the judge starts.

Pipeline and judge talk over a ``multiprocessing`` pipe (both are the instructor's processes):
``attach`` with the connection's descriptor, then ``test <grade id> <seconds left>`` in, a verdict
(plain data, ``runner.verdict``) out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import socket
import threading
import time
from multiprocessing import context as mp_context
from multiprocessing import popen_forkserver, reduction, spawn

from ..preload import LESSON_IMPORTS

# Loaded once in the server, so no judge pays for them: what the lessons import, and torch.optim's first step
# imports torch._dynamo (seconds). Imports only: the server runs no torch operation (no thread pool to fork).
# A grade loads only what its release's cells import (``preload_for``): a numpy lesson's judges never need torch.
FIRST, LAST = ("autograder.judge.headless",), ("autograder.judge.runner",)
PRELOAD = (*FIRST, *LESSON_IMPORTS, "torch.optim", "torch._dynamo", *LAST)
SOCKET_NAME = ".nnlab-judge.sock"  # in the kernel's working folder (the sandbox's own tmpfs)
_context = None


def context(preload: tuple[str, ...] = PRELOAD):
    """The forkserver context, its server preloading what every judge imports (fixed by the first call)."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload([m for m in preload if _findable(m)])
    return _context


def preload_for(sources) -> tuple[str, ...]:
    """What the judges' server loads for a release whose fixture and test cells are ``sources``: the modules
    they import (``from nnlab import check`` loads nnlab and nnlab.check), and torch's optimizers where the
    cells mention them. A module left out costs each judge its import, never a verdict."""
    import ast
    sources = list(sources)
    wanted: list[str] = ["numpy", "nnlab.check"]
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                wanted += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                wanted += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    if any(name.startswith("torch") for name in wanted) and any("optim" in source for source in sources):
        wanted += ["torch.optim", "torch._dynamo"]
    return (*FIRST, *dict.fromkeys(wanted), *LAST)


def warm_up(preload: tuple[str, ...] = PRELOAD) -> None:
    """Start the judges' server now, in the background (its imports take seconds), so that the
    first student's judge does not wait for them. Safe to call more than once."""
    from multiprocessing import forkserver

    def start():
        context(preload)
        forkserver.ensure_running()
    threading.Thread(target=start, name="judge-server", daemon=True).start()


def _findable(module: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError, AttributeError):  # a name imported from a module, not a module
        return False


def _judge_main(conn, spec: dict) -> None:
    """The judge process: fixtures once; then ``attach`` (the connection to the kernel's agent) and one
    test per request, until ``close``."""
    import resource

    from .codec import Bounds
    from .runner import ERROR, Judge, verdict
    from .session import KernelGone, handshake
    from .wire import send

    os.environ["NBGRADER_EXECUTION"] = "autograde"  # fixture cells see what the kernel sees: static explorers
    if spec.get("memory_bytes"):
        resource.setrlimit(resource.RLIMIT_AS, (spec["memory_bytes"], spec["memory_bytes"]))
    try:
        import torch
        torch.set_num_threads(max(1, int(spec.get("threads", 1))))
    except ImportError:
        pass
    bounds = Bounds(**spec.get("bounds", {}))
    judge = Judge(spec["fixtures"], spec["tests"])
    judge.run_fixtures()
    conn.send({"op": "ready", "fixture_errors": judge.fixture_errors})
    sock = session = None
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        op = message.get("op")
        deadline = time.monotonic() + float(message.get("seconds", 0))
        if op == "attach":  # the connection to the kernel's agent, made by the pipeline, handed over
            sock = socket.socket(fileno=reduction.recv_handle(conn))
            conn.send({"op": "attached"})
            continue
        if op != "test":
            return
        grade_id = message["grade_id"]
        if grade_id not in judge.tests:
            conn.send({**verdict(ERROR, ename="GradingError", evalue=f"no test {grade_id!r} in the gradebook"),
                       "judge_notes": judge.notes()})
            continue
        if session is None and sock is not None and not judge.lost:
            try:
                session = handshake(sock, spec["token"], deadline, bounds)
            except KernelGone as gone:
                judge.lost = str(gone)
        if session is not None:
            session.deadline = deadline
        result = judge.run_test(grade_id, session if session is not None and not session.gone else None)
        if session is not None and not session.gone:
            try:
                send(session.sock, {"op": "done", "seq": 0}, (), time.monotonic() + 5)
            except OSError:
                session.gone = "the kernel stopped reading"
        conn.send({**result, "judge_notes": judge.notes()})


_stdlib_preparation = spawn.get_preparation_data
_launching = threading.Lock()


def _preparation_without_main(name):
    data = _stdlib_preparation(name)
    data.pop("init_main_from_name", None)
    data.pop("init_main_from_path", None)
    return data


class _Popen(popen_forkserver.Popen):
    """The forkserver's launch, less its first step in the child: re-running the grader's main script, which
    multiprocessing does so that a target defined there can be found. The judge's target is in this module, and
    a script that imports nbgrader (the grading benchmark, an instructor's own) cost every student's judge seconds."""

    def _launch(self, process_obj):
        with _launching:  # the standard library's function, swapped for this launch alone
            spawn.get_preparation_data = _preparation_without_main
            try:
                super()._launch(process_obj)
            finally:
                spawn.get_preparation_data = _stdlib_preparation


class _ServerProcess(mp_context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        return _Popen(process_obj)


class JudgeProcess:
    """The pipeline's handle on one student's judge: ``start``, ``attach`` to the kernel, ``run_test``."""

    def __init__(self, fixtures: list[str], tests: dict[str, str], *, bounds: dict | None = None,
                 memory_bytes: int | None = None, threads: int = 1):
        self.token = secrets.token_hex(16)
        self.spec = {"fixtures": list(fixtures), "tests": dict(tests), "token": self.token,
                     "bounds": bounds or {}, "memory_bytes": memory_bytes, "threads": threads}
        self.conn = None
        self.process = None
        self.connection = None  # the pipeline's connection to the agent, until the judge takes it
        self.attached = False
        self.fixture_errors: list[str] = []
        self.notes: list[str] = []

    def bootstrap_code(self, kernel_path: str) -> str:
        """What a cold kernel runs first: the agent, listening at ``kernel_path`` (its own view of the path)."""
        from .kernel import bootstrap_code
        return bootstrap_code(kernel_path, self.token)

    def serve_code(self) -> str:
        from .kernel import serve_code
        return serve_code()

    def start(self, timeout: float = 300) -> None:
        """Fork the judge and run the release's fixture cells in it."""
        ctx = context()
        ours, theirs = ctx.Pipe()
        self.process = _ServerProcess(target=_judge_main, args=(theirs, self.spec), daemon=True)
        # A Celery prefork worker's pool processes are daemonic, and multiprocessing refuses children to a daemonic
        # process; the judge is forked by the forkserver, not by this process, so the refusal does not apply to it.
        current = multiprocessing.current_process()
        # Under Celery, billiard's process object stands in for multiprocessing's, with billiard's own authkey type,
        # which multiprocessing's forkserver cannot pickle: the same key, as multiprocessing's type.
        from multiprocessing.process import AuthenticationString
        key = AuthenticationString(bytes(current.authkey))
        current._config["authkey"] = key
        self.process._config["authkey"] = key
        daemonic = current._config.get("daemon", False)
        current._config["daemon"] = False
        try:
            self.process.start()
        finally:
            current._config["daemon"] = daemonic
        theirs.close()
        self.conn = ours
        if not ours.poll(timeout):
            self.close()
            raise RuntimeError("the judge process did not start")
        ready = ours.recv()
        self.fixture_errors = list(ready.get("fixture_errors", []))
        self.notes = list(self.fixture_errors)

    def connect(self, judge_path: str, seconds: float = 30) -> bool:
        """Connect to the agent's socket at ``judge_path`` (this process's view: through ``/proc/<kernel>/root``
        when sandboxed), right after the bootstrap, before any student code. The judge need not have started:
        ``hand_over`` gives it the connection when it has, so the notebook runs meanwhile."""
        from .session import KernelGone, open_connection
        try:
            self.connection = open_connection(str(judge_path), time.monotonic() + seconds)
        except KernelGone:
            return False
        return True

    def hand_over(self, seconds: float = 30) -> bool:
        """Give the started judge the connection ``connect`` made (once); True when it took it."""
        if self.connection is None:
            return self.attached
        try:
            self.conn.send({"op": "attach"})
            reduction.send_handle(self.conn, self.connection.fileno(), self.process.pid)
            self.attached = self.conn.poll(seconds) and self.conn.recv().get("op") == "attached"
        except (EOFError, OSError):
            self.attached = False
        finally:
            self.connection.close()  # the judge holds its own copy now
            self.connection = None
        return self.attached

    def attach(self, judge_path: str, seconds: float = 30) -> bool:
        """``connect`` and ``hand_over`` at once, for a judge already started."""
        return self.connect(judge_path, seconds) and self.hand_over(seconds)

    def run_test(self, grade_id: str, seconds: float) -> dict:
        """The verdict of test ``grade_id`` (blocking); the kernel must be serving meanwhile."""
        from .runner import ERROR, verdict
        try:
            self.conn.send({"op": "test", "grade_id": grade_id, "seconds": max(0.1, seconds)})
            if self.conn.poll(seconds + 30):
                result = self.conn.recv()
                self.notes = result.pop("judge_notes", self.notes)
                return result
        except (EOFError, OSError):
            pass
        self.close()
        return verdict(ERROR, ename="GradingError", evalue="the judge stopped (its own time or memory ran out)")

    async def run_test_async(self, grade_id: str, seconds: float) -> dict:
        return await asyncio.get_running_loop().run_in_executor(None, self.run_test, grade_id, seconds)

    async def attach_async(self, judge_path: str, seconds: float = 30) -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, self.attach, judge_path, seconds)

    async def connect_async(self, judge_path: str, seconds: float = 30) -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, self.connect, judge_path, seconds)

    async def hand_over_async(self, seconds: float = 30) -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, self.hand_over, seconds)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        if self.conn is not None:
            try:
                self.conn.send({"op": "close"})
            except (OSError, ValueError):
                pass
            self.conn.close()
            self.conn = None
        if self.process is not None and self.process.pid is not None:  # started (start can fail)
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(2)
        self.process = None
