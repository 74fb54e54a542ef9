"""`make lab` starts a real JupyterLab on 127.0.0.1, rooted at lessons/, with the course kernel."""

import json
import urllib.request

import pytest

from conftest import LESSON_IDS, ROOT, tool_env
from labserver import free_port, running


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Run `make lab` until it answers; yield (url base, token, log); stop it afterwards."""
    token = "course-test-token"
    scratch = tmp_path_factory.mktemp("jupyter")
    env = tool_env({"JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "ws")})
    args = f"--no-browser --IdentityProvider.token={token}"
    command = ["make", "--no-print-directory", "lab", f"LAB_PORT={free_port()}", f"LAB_ARGS={args}"]
    with running(command, cwd=ROOT, env=env, token=token) as (url, log):
        yield url, token, log


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


def test_lab_offers_the_standard_kernel_the_notebooks_ask_for(lab):
    """The notebooks ask for `python3`, the kernel every Jupyter front end has; here it is the
    environment's own interpreter (jupyter_client runs `python` as the server's Python)."""
    _, body = get(lab, "/api/kernelspecs")
    found = json.loads(body)
    assert found["default"] == "python3"
    assert found["kernelspecs"]["python3"]["spec"]["argv"][:3] == ["python", "-m", "ipykernel_launcher"]


def test_lab_serves_the_jupyterlab_page(lab):
    status, body = get(lab, "/lab")
    assert status == 200 and "JupyterLab" in body
