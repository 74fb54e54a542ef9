"""Warm kernels: forked from a pre-imported zygote, each in a fresh sandbox, and nothing crosses between students.

One zygote (real bubblewrap, numpy, torch and ipykernel imported once) forks student A's kernel,
then student B's. A leaves everything a notebook can leave behind: files in /tmp, /dev/shm and its
home, environment variables, module state (numpy, torch, builtins, an injected module), a background
thread, a background process, a listening socket. B's kernel sees none of it, and sees neither the
zygote nor its control socket, nor another kernel's processes; B runs as an unprivileged user (as
root), with no capabilities, no_new_privs, the resource limits and the sandbox's own hostname and
network. Each step's cost is printed (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from jupyter_client.manager import AsyncKernelManager

from autograder import sandbox, warm
from autograder.limits import Limits
from conftest import ROOT

LIMITS = Limits(memory_bytes=3 << 30, disk_bytes=64 << 20)


@pytest.fixture(scope="module")
def zygote():
    if not shutil.which("bwrap"):
        message = "bubblewrap (bwrap) is not installed: warm kernels cannot be tested (apt-get install bubblewrap)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    with warm.Zygote(hidden=[ROOT], limits=LIMITS, preload=("numpy", "torch", "ipykernel.kernelapp")) as z:
        yield z


class Kernel:
    """One warm kernel and a client on it (what ``execute.py`` does for the pipeline, cut to the bone)."""

    def __init__(self, zygote: warm.Zygote, uid: int | None, agent: dict | None = None):
        self.zygote, self.uid, self.agent = zygote, uid, agent
        self.scratch = Path(tempfile.mkdtemp(prefix="nnlab-warm-test-"))
        if uid is not None:
            os.chmod(self.scratch, 0o711)
        self.times: dict[str, float] = {}

    async def __aenter__(self) -> "Kernel":
        started = time.perf_counter()
        self.km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=sandbox.SOCKETS)
        self.km.connection_file = str(self.scratch / "kernel.json")
        warm.warm_manager(self.km, self.zygote, uid=self.uid, limits=LIMITS, agent=self.agent)
        self.log_r, log_w = os.pipe()
        await self.km.start_kernel(stdout=log_w, stderr=log_w)
        os.close(log_w)
        self.child = self.km.provisioner.process
        self.times["fork"] = self.child.fork_s
        deadline = time.monotonic() + 60
        while True:
            kernel = self.child.kernel_pid
            if kernel and all(os.path.exists(f"/proc/{kernel}/root{sandbox.SOCKETS}-{p}") for p in self.km.ports):
                break
            assert self.child.poll() is None, f"the warm kernel died: {os.read(self.log_r, 5000)!r}"
            assert time.monotonic() < deadline, "the warm kernel did not bind its sockets"
            await asyncio.sleep(0.005)
        self.km.ip = f"/proc/{kernel}/root{sandbox.SOCKETS}"
        self.client = self.km.client()
        self.client.start_channels()
        await self.client.wait_for_ready(timeout=60)
        self.times["ready"] = time.perf_counter() - started
        return self

    async def run(self, code: str) -> str:
        """Run ``code``; its stdout (an error fails the test, with the traceback)."""
        out: list[str] = []

        def hook(message):
            content = message["content"]
            if message["msg_type"] == "stream":
                out.append(content["text"])
            elif message["msg_type"] == "error":
                out.append("ERROR " + content["ename"] + ": " + content["evalue"])

        reply = await self.client.execute_interactive(code, timeout=60, output_hook=hook)
        assert reply["content"]["status"] == "ok", "".join(out)
        return "".join(out)

    async def __aexit__(self, *exc) -> None:
        self.client.stop_channels()
        self.child.kill()
        self.child.wait(10)
        os.close(self.log_r)
        shutil.rmtree(self.scratch, ignore_errors=True)


STUDENT_A = r'''
import os, sys, threading, subprocess, socket, builtins, time, types
import numpy, torch
for folder in ("/tmp", "/dev/shm", os.environ["HOME"]):
    open(os.path.join(folder, "left-by-a.txt"), "w").write("A was here")
os.environ["LEFT_BY_A"] = "1"
numpy.left_by_a = True
torch.manual_seed(1234); torch.set_default_dtype(torch.float64)
builtins.left_by_a = True
sys.modules["left_by_a"] = types.ModuleType("left_by_a")
threading.Thread(target=time.sleep, args=(600,), name="left-by-a", daemon=True).start()
sleeper = subprocess.Popen(["sleep", "600"])
listener = socket.socket(socket.AF_UNIX); listener.bind("\0left-by-a"); listener.listen()
import json
print(json.dumps({"pid": os.getpid(), "sleeper": sleeper.pid}))
'''

STUDENT_B = r'''
import os, sys, threading, socket, builtins, json
import numpy, torch
found = {
    "files": [p for p in ("/tmp/left-by-a.txt", "/dev/shm/left-by-a.txt", os.path.join(os.environ["HOME"], "left-by-a.txt"))
              if os.path.exists(p)],
    "env": os.environ.get("LEFT_BY_A"),
    "numpy": hasattr(numpy, "left_by_a"),
    "torch_dtype": str(torch.get_default_dtype()),
    "builtins": hasattr(builtins, "left_by_a"),
    "module": "left_by_a" in sys.modules,
    "threads": sorted(t.name for t in threading.enumerate() if t.name == "left-by-a"),
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "commands": sorted(open(f"/proc/{p}/comm").read().strip() for p in os.listdir("/proc") if p.isdigit()),
    "control_socket": os.path.exists("/run/nnlab-zygote/control.sock"),
    "run": sorted(os.listdir("/run")),
    "hostname": socket.gethostname(),
    "interfaces": [name for _, name in socket.if_nameindex()],
    "uid": os.getuid(),
    "status": {k: v.strip() for k, v in (line.split(":", 1) for line in open("/proc/self/status")) if k in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs")},
}
try:
    probe = socket.socket(socket.AF_UNIX); probe.connect("\0left-by-a"); found["abstract_socket"] = True
except OSError:
    found["abstract_socket"] = False
import resource
found["rlimit_as"] = resource.getrlimit(resource.RLIMIT_AS)[0]
print(json.dumps(found))
'''


def test_student_b_sees_nothing_student_a_left(zygote):
    uid = 61090 if sandbox.as_root() else None  # above the pipeline's slot users, out of their way

    async def both():
        async with Kernel(zygote, uid) as a:
            left = json.loads((await a.run(STUDENT_A)).strip().splitlines()[-1])
            a_times = dict(a.times)
        async with Kernel(zygote, uid) as b:
            t = time.perf_counter()
            await b.run("import torch, numpy")
            b.times["import torch (warm)"] = time.perf_counter() - t
            return left, a_times, b.times, json.loads((await b.run(STUDENT_B)).strip().splitlines()[-1])

    left, a_times, b_times, found = asyncio.run(both())
    print(f"\nzygote start (imports once): {zygote.start_s:.2f} s {zygote.took}")
    print("student A kernel: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in a_times.items()))
    print("student B kernel: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in b_times.items()))
    assert left["pid"] == 2, "the kernel is PID 2 of its own namespace, below its init"
    assert found["files"] == [] and found["env"] is None
    assert not found["numpy"] and not found["builtins"] and not found["module"]
    assert found["torch_dtype"] == "torch.float32"
    assert found["threads"] == [] and found["abstract_socket"] is False
    assert found["processes"] == [1, 2], f"B sees processes besides its init and itself: {found['commands']}"
    assert sorted(found["commands"]) == ["ipykernel", "nnlab-init"]
    assert found["control_socket"] is False and "nnlab-zygote.py" in found["run"]
    assert found["hostname"] == "sandbox" and found["interfaces"] == ["lo"]
    assert found["status"]["CapEff"] == found["status"]["CapPrm"] == found["status"]["CapBnd"] == "0" * 16
    assert found["status"]["NoNewPrivs"] == "1"
    assert found["rlimit_as"] == LIMITS.memory_bytes
    if uid is not None:
        assert found["uid"] == uid
    assert b_times["import torch (warm)"] < 0.5, "torch was imported by the zygote already"


def test_a_kernel_that_dies_reports_its_status_and_leaves_the_zygote_serving(zygote):
    async def crash_then_serve():
        async with Kernel(zygote, None) as a:
            a.client.execute("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
            status = await asyncio.get_running_loop().run_in_executor(None, a.child.wait, 20)
        async with Kernel(zygote, None) as b:
            return status, (await b.run("print(6 * 7)")).strip()

    status, answer = asyncio.run(crash_then_serve())
    assert status == -11, "a signal comes back as -n, as Popen reports it (outcomes.exit_stop reads it)"
    assert answer == "42"


def test_processes_forked_after_the_zygote_started_fork_kernels_from_it(zygote):
    """Celery's prefork workers and the local recording processes are forked from the process that started
    the zygote: each of them spawns its kernels from the same zygote."""
    import multiprocessing

    def in_a_forked_process(queue):
        async def one():
            async with Kernel(zygote, None) as kernel:
                return (await kernel.run("import os; print(os.getpid())")).strip()
        try:
            queue.put(asyncio.run(one()))
        except BaseException as error:  # noqa: BLE001: reported to the test
            queue.put(f"{type(error).__name__}: {error}")

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=in_a_forked_process, args=(queue,))
    process.start()
    answer = queue.get(timeout=120)
    process.join(30)
    assert answer == "2", answer
    assert zygote.alive()


def test_the_pipelines_execute_forks_each_kernel_from_the_zygote_and_nothing_crosses(zygote, tmp_path):
    """``execute.execute``, as the pipeline calls it: its kernel is a warm child (PID 2 below the zygote's init),
    and what one student's notebook leaves is gone for the next one's."""
    import nbformat

    from autograder import execute

    warm.install(zygote)  # what warm.shared would start for these hidden folders
    uid = 61090 if sandbox.as_root() else None

    def notebook(*sources):
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])

    def outputs(run):
        return [o.get("text", "") + o.get("evalue", "") for c in run.notebook.cells for o in c.outputs]

    a = notebook("import os; open('/tmp/left-by-a', 'w').write('A'); os.environ['LEFT_BY_A'] = '1'\n"
                 "import numpy; numpy.left_by_a = 1; print(os.getpid(), open('/proc/1/comm').read().strip())")
    b = notebook("import os, numpy\nprint(os.path.exists('/tmp/left-by-a'), os.environ.get('LEFT_BY_A'),"
                 " hasattr(numpy, 'left_by_a'))")
    run_a = asyncio.run(execute.execute(a, tmp_path / "a", kernel="python3", limits=LIMITS, uid=uid, sandboxed=True,
                                        hidden=[ROOT]))
    run_b = asyncio.run(execute.execute(b, tmp_path / "b", kernel="python3", limits=LIMITS, uid=uid, sandboxed=True,
                                        hidden=[ROOT]))
    assert run_a.stop is None and run_b.stop is None, (run_a.stop, run_b.stop, run_a.kernel_log, run_b.kernel_log)
    assert outputs(run_a) == ["2 nnlab-init\n"], "the kernel is the zygote's child, not a cold one"
    assert outputs(run_b) == ["False None False\n"]
    assert zygote.alive()


def test_a_warm_kernels_agent_listens_before_its_first_cell_and_serves_ipythons_namespace(zygote):
    """The zygote loads the judge's agent (``zygote.load_agent``) as ``judge.kernel.kernel_source`` defines it; a
    kernel spawned with an agent's path and token has it listening before any cell runs (no bootstrap cell),
    and the agent, made before IPython started, answers from the notebook's namespace."""
    from autograder import zygote as zygote_script
    from autograder.judge import kernel as judge_kernel

    assert (zygote_script.AGENT_MODULE, zygote_script.AGENT_FILENAME) == (judge_kernel.MODULE, judge_kernel.FILENAME)
    assert zygote.agent is True, f"the zygote did not load the judge's agent: {zygote.log_text()[-1500:]}"

    async def scenario():
        async with Kernel(zygote, uid=None, agent={"path": "/tmp/.nnlab-judge.sock", "token": "token"}) as kernel:
            socket_there = os.path.exists(f"/proc/{kernel.child.kernel_pid}/root/tmp/.nnlab-judge.sock")
            found = await kernel.run(
                "import sys\nagent = sys.modules['_nnlab_judge_agent'].AGENT\n"
                "print(agent.token, agent.namespace is get_ipython().user_ns, type(agent).__module__)\n")
            return socket_there, found

    socket_there, found = asyncio.run(scenario())
    assert socket_there, "the agent's socket was not there before the first cell"
    assert found == f"token True {judge_kernel.MODULE}\n", found
