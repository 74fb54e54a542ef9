"""Start a real JupyterLab server for a test, and stop it afterwards."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerLog:
    """Reads a process's output on a thread, so the pipe never fills and nothing waits on it."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.url_found = threading.Event()
        self.url = None
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line)
            found = re.search(r"(http://[\w.:-]+)/\S*\?token=", line)  # the server masks the token
            if found and self.url is None:
                self.url = found.group(1)
                self.url_found.set()

    def tail(self, lines: int = 40) -> str:
        return "".join(self.lines[-lines:])


def wait_until_serving(url: str, log: ServerLog, timeout: float = 60) -> None:
    """The server prints its URL a moment before it accepts connections: wait for an answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing answers at {url} after {timeout} s:\n{log.tail()}") from None
            time.sleep(0.2)


@contextlib.contextmanager
def running(command: list[str], *, cwd, env: dict, token: str, start_timeout: float = 120):
    """Run a command that starts a Jupyter server; yield (base url, log) once it answers; stop it.

    The server runs in its own process group, so stopping it also stops its kernels.
    """
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    log = ServerLog(process.stdout)
    try:
        assert log.url_found.wait(timeout=start_timeout), "the server printed no URL:\n" + log.tail()
        wait_until_serving(f"{log.url}/api/status?token={token}", log)
        yield log.url, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
