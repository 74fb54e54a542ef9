"""`make lab` starts a real JupyterLab on 127.0.0.1, rooted at lessons/, with the course kernel."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import LESSON_IDS, ROOT, tool_env


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
            found = re.search(r"(http://[\w.:-]+)/lab\?token=", line)  # the server masks the token
            if found and self.url is None:
                self.url = found.group(1)
                self.url_found.set()

    def tail(self) -> str:
        return "".join(self.lines[-40:])


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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Run `make lab` until it prints its URL; yield (url base, token, log); stop it afterwards."""
    token = "course-test-token"
    scratch = tmp_path_factory.mktemp("jupyter")
    env = tool_env({"JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "ws")})
    args = f"--no-browser --IdentityProvider.token={token}"
    process = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_PORT={free_port()}", f"LAB_ARGS={args}"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    log = ServerLog(process.stdout)
    try:
        assert log.url_found.wait(timeout=120), "make lab printed no URL:\n" + log.tail()
        wait_until_serving(f"{log.url}/api/status?token={token}", log)
        yield log.url, token, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def get(lab, path: str):
    base, token, log = lab
    try:
        with urllib.request.urlopen(f"{base}{path}?token={token}", timeout=30) as response:
            return response.status, response.read().decode()
    except OSError as error:
        raise AssertionError(f"GET {path} failed ({error}); the server said:\n{log.tail()}") from error


def test_lab_listens_on_loopback_only(lab):
    assert lab[0].startswith("http://127.0.0.1:")


def test_lab_opens_on_the_lessons(lab):
    status, body = get(lab, "/api/contents")
    assert status == 200
    assert sorted(item["name"] for item in json.loads(body)["content"] if item["type"] == "directory") == LESSON_IDS
    status, body = get(lab, f"/api/contents/{LESSON_IDS[0]}/{LESSON_IDS[0]}.ipynb")
    assert json.loads(body)["type"] == "notebook"


def test_lab_offers_the_course_kernel(lab):
    _, body = get(lab, "/api/kernelspecs")
    specs = json.loads(body)["kernelspecs"]
    assert "nnlab" in specs and specs["nnlab"]["spec"]["display_name"] == "Python 3 (nnlab)"


def test_lab_serves_the_jupyterlab_page(lab):
    status, body = get(lab, "/lab")
    assert status == 200 and "JupyterLab" in body
