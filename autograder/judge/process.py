"""The judge as a process of its own, one per student, and the pipeline's handle on it.

Each student's tests run in a fresh process (test code seeds torch, sets warning filters, defines
helpers: nothing of it may leak into another student's grading), forked from a server that has
numpy, torch and nnlab loaded already (``multiprocessing``'s forkserver), so a judge starts in tens
of milliseconds. The judge process listens on a Unix socket in the student's scratch folder
(``judge.sock`` next to the kernel's connection files); the kernel's agent connects to it at each
test cell (``kernel.serve_code``). The judge never connects to a path the student controls, so a
symlink planted there leads nowhere.

Pipeline and judge talk over a ``multiprocessing`` pipe (both are the instructor's processes):
``test <grade id> <seconds left>`` in, a verdict (plain data, ``runner.verdict``) out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import socket
import time
from pathlib import Path

# Loaded once in the server, so no judge pays for them: torch.optim's first step alone imports
# torch._dynamo (seconds). Imports only: the server runs no torch operation (no thread pool to fork).
PRELOAD = ("numpy", "torch", "torch.optim", "torch._dynamo", "matplotlib.pyplot", "tqdm.auto", "nnlab",
           "nnlab.check", "nnlab.datasets", "autograder.judge.runner")
SOCKET_NAME = "judge.sock"
_context = None


def context():
    """The forkserver context, its server preloading what every judge imports."""
    global _context
    if _context is None:
        os.environ.setdefault("MPLBACKEND", "agg")  # the server imports pyplot: never a window
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload([m for m in PRELOAD if _findable(m)])
    return _context


def warm_up() -> None:
    """Start the judges' server now, in the background (its imports take seconds), so that the
    first student's judge does not wait for them. Safe to call more than once."""
    import threading
    from multiprocessing import forkserver

    def start():
        context()
        forkserver.ensure_running()
    threading.Thread(target=start, name="judge-server", daemon=True).start()


def _findable(module: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _judge_main(conn, spec: dict) -> None:
    """The judge process: fixtures once, then one test per request, until ``close``."""
    import resource

    from .codec import Bounds
    from .runner import ERROR, Judge, verdict
    from .session import KernelGone, connect
    from .wire import send

    os.environ["NBGRADER_EXECUTION"] = "autograde"  # fixture cells see what the kernel sees: static explorers
    if spec.get("memory_bytes"):
        resource.setrlimit(resource.RLIMIT_AS, (spec["memory_bytes"], spec["memory_bytes"]))
    try:
        import torch
        torch.set_num_threads(max(1, int(spec.get("threads", 1))))
    except ImportError:
        pass
    folder = Path(spec["folder"])
    os.chdir(folder)  # bind by a short relative name: socket paths are limited to 107 bytes
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(SOCKET_NAME)
    os.chmod(SOCKET_NAME, 0o666)  # the kernel may run as another (unprivileged) user
    listener.listen(4)
    bounds = Bounds(**spec.get("bounds", {}))
    judge = Judge(spec["fixtures"], spec["tests"])
    judge.run_fixtures()
    conn.send({"op": "ready", "fixture_errors": judge.fixture_errors})
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message.get("op") != "test":
            return
        grade_id, seconds = message["grade_id"], float(message["seconds"])
        deadline = time.monotonic() + seconds
        if grade_id not in judge.tests:
            conn.send(verdict(ERROR, ename="GradingError", evalue=f"no test {grade_id!r} in the gradebook"))
            continue
        try:
            session = connect(listener, spec["token"], deadline, bounds)
        except KernelGone as gone:
            judge.lost = judge.lost or str(gone)
            conn.send({**judge.run_test(grade_id, None), "judge_notes": judge.notes()})
            continue
        try:
            result = judge.run_test(grade_id, session)
            if not session.gone:
                try:
                    send(session.sock, {"op": "done", "seq": 0}, (), time.monotonic() + 5)
                except OSError:
                    pass
        finally:
            session.sock.close()
        result["judge_notes"] = judge.notes()
        conn.send(result)


class JudgeProcess:
    """The pipeline's handle on one student's judge (start, run tests, close)."""

    def __init__(self, fixtures: list[str], tests: dict[str, str], folder: Path, *, bounds: dict | None = None,
                 memory_bytes: int | None = None, threads: int = 1):
        self.folder = Path(folder)
        self.token = secrets.token_hex(16)
        self.spec = {"fixtures": list(fixtures), "tests": dict(tests), "folder": str(self.folder),
                     "token": self.token, "bounds": bounds or {}, "memory_bytes": memory_bytes, "threads": threads}
        self.conn = None
        self.process = None
        self.fixture_errors: list[str] = []
        self.notes: list[str] = []

    @property
    def socket_path(self) -> str:
        return str(self.folder / SOCKET_NAME)

    def serve_code(self) -> str:
        from .kernel import serve_code
        return serve_code(self.socket_path, self.token)

    def start(self, timeout: float = 120) -> None:
        ctx = context()
        self.folder.mkdir(parents=True, exist_ok=True)
        ours, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_judge_main, args=(theirs, self.spec), daemon=True)
        self.process.start()
        theirs.close()
        self.conn = ours
        if not ours.poll(timeout):
            self.close()
            raise RuntimeError("the judge process did not start")
        ready = ours.recv()
        self.fixture_errors = list(ready.get("fixture_errors", []))
        self.notes = list(self.fixture_errors)

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

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.send({"op": "close"})
            except (OSError, ValueError):
                pass
            self.conn.close()
            self.conn = None
        if self.process is not None:
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(2)
            self.process = None
        try:
            os.unlink(self.socket_path)
        except OSError:
            pass
