"""Execute one restored submission in a sandboxed kernel.

Many executions share one asyncio loop in the pipeline's process (imports and event loop paid
once; each kernel is its own sandboxed process). This side is trusted: it stays outside the sandbox, talks to the kernel over ZeroMQ unix sockets in the scratch folder (the
sandbox has no network, not even loopback), and decides alone what happened to each cell:

- the whole notebook has one wall-clock budget; when it runs out, or the kernel dies (os._exit,
  segfault, SIGXCPU, SIGKILL), execution stops there and the kernel's whole PID namespace dies;
- a graded test cell first drops `nnlab` and `numpy.testing` from `sys.modules`, so the test's own
  `from nnlab import check` gets fresh, unpatched helpers whatever the student code did;
- each cell's verdict comes from the kernel's execute_reply status, not only from the outputs the
  student code could influence; widget comms (which can swallow outputs) are ignored;
- outputs beyond the limit are cut, and an oversized message is refused by ZeroMQ itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import nbformat
import zmq
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import sandbox
from .limits import Limits

# Prepended to every graded test cell: fresh helpers for the test, and the zombies of processes
# the grader killed after earlier cells reaped (they would still count against the process limit).
GUARD = ("import sys as _grader_sys, os as _grader_os\n"
         "[_grader_sys.modules.pop(_m) for _m in list(_grader_sys.modules)"
         " if _m == 'nnlab' or _m.startswith(('nnlab.', 'numpy.testing'))]\n"
         "import numpy.testing\n"
         "while True:\n"
         "    try:\n"
         "        if _grader_os.waitpid(-1, _grader_os.WNOHANG)[0] == 0: break\n"
         "    except ChildProcessError: break\n"
         "del _grader_sys, _grader_os")
CUT = "\n… [output cut by the grader: this notebook printed more than {limit} bytes]\n"


def is_test_cell(cell) -> bool:
    """A graded cell that is not an answer: the instructor's tests (nbgrader 'grade' without 'solution')."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command is wrapped in the sandbox and limits prefix."""

    wrapper: list[str] = []
    owner: int | None = None  # the user the kernel runs as, who must read the connection file

    def format_kernel_cmd(self, extra_arguments=None):
        return self.wrapper + super().format_kernel_cmd(extra_arguments)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.owner is not None:
            os.chown(self.connection_file, self.owner, self.owner)


class GradingClient(NotebookClient):
    """nbclient with an output budget and without widget output capture."""

    output_budget: int = 0
    flooded: bool = False

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {})))
        if self.flooded:
            return None
        if size > self.output_budget:
            self.flooded = True
            outs.append(nbformat.v4.new_output("stream", name="stdout", text=CUT.format(limit=self.limit)))
            return None
        self.output_budget -= size
        return super().output(outs, msg, display_id, cell_index)

    def on_comm_open_jupyter_widget(self, msg):
        return None  # an Output widget would capture the test cells' errors


async def execute(notebook, scratch: Path, *, kernel: str, limits: Limits, uid: int | None, sandboxed: bool,
                  hidden: list[Path]) -> dict:
    """Run every code cell of ``notebook`` (in place) in a fresh kernel; return the run report.

    ``uid``: the unprivileged user the kernel runs as (when grading as root), else None.
    The report: ``replies`` (cell index -> execute_reply status), ``stopped`` (None, or why and at
    which cell execution stopped), ``flooded`` (outputs were cut) and the tail of the kernel's log.
    """
    home = sandbox.prepare_scratch(scratch, uid)
    conn = scratch / "conn"
    km = SandboxedKernelManager(kernel_name=kernel, transport="ipc", ip=str(conn / "kernel"))
    km.connection_file = str(conn / "kernel.json")
    km.wrapper = sandbox.kernel_command([], scratch, hidden, limits, uid, sandboxed)
    km.owner = uid
    km.context.setsockopt(zmq.MAXMSGSIZE, limits.output_bytes + (1 << 20))  # refuse giant messages

    deadline = time.monotonic() + limits.wall_s
    replies: dict[int, str] = {}

    def on_cell_executed(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply.get("content", {}).get("status", "error")

    client = GradingClient(notebook, km=km, kernel_name=kernel, allow_errors=True,
                           interrupt_on_timeout=False, shutdown_kernel="immediate", startup_timeout=60,
                           timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
                           on_cell_executed=on_cell_executed)
    client.output_budget, client.limit = limits.output_bytes, limits.output_bytes
    stopped: dict | None = None
    watcher = None
    log = open(scratch / "kernel.log", "wb")  # the kernel's own stdout/stderr (C-level prints, crashes)
    launch = {"cwd": str(home), "stdout": log, "stderr": log}
    if not sandboxed:  # bwrap sets the sandbox's environment itself
        launch["env"] = {**sandbox.environment(home, limits), "PATH": os.environ.get("PATH", "")}
    try:
        async with client.async_setup_kernel(**launch):
            root = km.provisioner.process.pid
            kernel = sandbox.kernel_pid(root)
            bombed: list[int] = []
            watcher = asyncio.ensure_future(_watch_processes(root, limits.children, bombed))
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                if time.monotonic() >= deadline:
                    stopped = {"reason": "timeout", "cell": index}
                    break
                stopped = await _execute_cell(client, km, cell, index)
                # nothing the student started may outlive its cell: no fork bomb, no daemon
                # waiting to tamper with the tests that follow
                if kernel:
                    sandbox.kill(sandbox.strays(root, kernel))
                if stopped and bombed:
                    stopped = {"reason": "fork bomb", "cell": index, "processes": bombed[0]}
                if stopped:
                    break
    except (RuntimeError, TimeoutError) as error:  # the kernel never answered: it could not start
        stopped = stopped or {"reason": "kernel did not start", "cell": None, "detail": str(error)[-500:]}
    finally:
        if watcher:
            watcher.cancel()
        log.close()
        await _shut_down(km)
    return {"replies": {str(k): v for k, v in replies.items()}, "stopped": stopped,
            "flooded": client.flooded, "kernel_log": _tail(scratch / "kernel.log")}


async def _execute_cell(client, km, cell, index) -> dict | None:
    """Execute one cell (a test cell behind the guard); say why execution must stop, if it must."""
    source = cell.source
    if is_test_cell(cell):
        cell.source = GUARD + "\n" + source
    try:
        await client.async_execute_cell(cell, index)
    except CellTimeoutError:
        return {"reason": "timeout", "cell": index}
    except DeadKernelError:
        return {"reason": "kernel died", "cell": index, "exit": await _exit_status(km)}
    finally:
        cell.source = source
    return None


async def _watch_processes(root: int, most: int, bombed: list[int]) -> None:
    """Kill the whole sandbox as soon as it holds more than ``most`` processes (a fork bomb).

    RLIMIT_NPROC alone stops a fork bomb from growing, not from running: processes dying and
    forking again keep the cores busy until the wall clock ends the notebook, slowing every other
    student's grading meanwhile.
    """
    while True:
        await asyncio.sleep(0.25)
        count = len(sandbox.descendants(root))
        if count > most:
            bombed.append(count)
            sandbox.kill(sandbox.descendants(root)[::-1] + [root])
            return


async def _shut_down(km) -> None:
    """Kill the kernel and everything in its sandbox (nbclient leaves a kernel it did not start)."""
    process = getattr(km.provisioner, "process", None) if km.provisioner else None
    if process is not None:
        sandbox.kill(sandbox.descendants(process.pid)[::-1] + [process.pid])
    try:
        await km.shutdown_kernel(now=True)
    except Exception:  # already gone: that was the point
        pass


async def _exit_status(km) -> int | None:
    """The exit status of the kernel's command (bwrap passes on the kernel's), once it has ended."""
    for _ in range(20):
        status = await km.provisioner.poll() if km.provisioner else None
        if status is not None:
            return status
        await asyncio.sleep(0.1)
    return None


def _tail(path: Path, size: int = 2000) -> str:
    try:
        with open(path, "rb") as file:
            file.seek(max(0, path.stat().st_size - size))
            return file.read().decode("utf-8", "replace")
    except OSError:
        return ""
