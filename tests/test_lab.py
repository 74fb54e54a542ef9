"""`make lab` starts a real JupyterLab on 127.0.0.1, rooted at lessons/, with the course kernel."""

import json
import os
import re
import select
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, LESSON_IDS, ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Run `make lab` until it prints its URL; yield (url base, token); stop it afterwards."""
    token = "course-test-token"
    scratch = tmp_path_factory.mktemp("jupyter")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "ws")}
    args = f"--no-browser --IdentityProvider.token={token}"
    process = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_PORT={free_port()}", f"LAB_ARGS={args}"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    lines, url, deadline = [], None, time.monotonic() + 90
    try:
        while url is None and process.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([process.stdout], [], [], remaining)[0]:
                break
            lines.append(process.stdout.readline())
            found = re.search(r"(http://[\w.:-]+)/lab\?token=", lines[-1])  # the server masks the token
            url = found and found.group(1)
        assert url, "make lab printed no URL:\n" + "".join(lines[-30:])
        yield url, token
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def get(lab, path: str):
    base, token = lab
    with urllib.request.urlopen(f"{base}{path}?token={token}", timeout=30) as response:
        return response.status, response.read().decode()


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
