"""Execute one restored submission in a sandboxed kernel; report what happened, decide nothing about grades.

Many executions share one asyncio loop in the pipeline's process (imports and event loop paid
once; each kernel is its own sandboxed process). This side is trusted: it stays outside the sandbox
and only ever reads what it controls:

- the kernel's sockets live in the sandbox's own tmpfs and are reached through
  ``/proc/<kernel>/root`` once the kernel has bound them; as root their folder is then locked, so
  a reconnection can never be sent to a socket or link the student put there;
- the kernel's stdout and stderr (C-level prints, crashes) come back through a pipe, of which only
  the last ``LOG_TAIL`` bytes are kept: there is no log file for the student to replace;
- the whole notebook has one wall-clock budget, and the whole sandbox one memory, process and file
  budget (``bounds``, measured every ``poll_s``); past any of them, or when the kernel dies,
  execution stops there and the kernel's whole PID namespace dies;
- every byte of output counts against one budget (``Limits.output_bytes``): a display, a stream, and
  an ``update_display_data`` counted once per output it rewrites; past it, outputs are cut and the
  report says so;
- the test cells never enter the kernel (issue 14): at a test cell's place the kernel executes the
  judge's ``serve`` line instead, and the student's judge process (``judge.process``) runs the test,
  hidden part included, against the kernel's state at that point, through proxies; its verdict
  becomes the test cell's outputs. The agent that answers the judge is sent in before the first
  cell, and the pipeline connects to its socket (through ``/proc/<kernel>/root``) before any student
  code runs; the judge, started meanwhile, gets that connection at the first test cell;
- each cell's reply status is recorded; widget comms (which can swallow outputs) are ignored.

The result is an ``Execution``: the executed notebook, each cell's reply (a judged test cell's:
"ok" when its verdict is passed), the ``Stop`` (if any) and what was cut. ``verdict`` turns it into
grades.

``judge=None`` keeps the old path, in which the test cells ran in the student's kernel behind
``GUARD``: **for ``benchmarks/grading.py``'s comparison only**. It is not safe against a student
(issue 14 lists how such tests were made to pass), and nothing else uses it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import zmq
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import bounds, sandbox, warm
from . import cells as nb
from .limits import Limits
from .outcomes import Reason, Stop, exit_stop

# The old path only (``judge=None``, benchmarks/grading.py's comparison): prepended to every test cell
# run in the kernel. Fresh helpers for the test, and the zombies of killed processes reaped.
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
LOG_TAIL = 4000
SOCKET_COUNT = 5  # shell, iopub, stdin, control, heartbeat


def is_test_cell(cell) -> bool:
    """A graded cell that is not an answer (kept for callers of the old name; see ``cells.is_test``)."""
    return nb.is_test(cell)


class JudgeFailed(Exception):
    """The instructor's side of judging failed before any student code ran (not a RuntimeError, which
    ``execute`` reads as a kernel that did not start): the pipeline records that student's grader error."""


@dataclass
class Execution:
    """What one run of a notebook left: the notebook (executed in place), replies, why it stopped."""
    notebook: object
    replies: dict[int, str] = field(default_factory=dict)   # cell index -> execute_reply status
    stop: Stop | None = None
    cut: bool = False                                        # outputs were cut at the budget
    kernel_log: str = ""
    judge_notes: list = field(default_factory=list)          # for the instructor's log (judge.runner)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in the sandbox, reached through /proc/<kernel>/root."""

    wrapper: list[str] = []
    owner: int | None = None       # the user the kernel runs as, who must read the connection file
    sandboxed: bool = True
    startup_s: float = 60.0

    def format_kernel_cmd(self, extra_arguments=None):
        argv = super().format_kernel_cmd(extra_arguments)
        return self.wrapper(argv) if callable(self.wrapper) else self.wrapper + argv

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.owner is not None:
            os.chown(self.connection_file, self.owner, self.owner)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if not self.sandboxed:
            return
        # the sockets are the sandbox's: wait until the kernel has bound every one, then connect to them
        root = self.provisioner.process.pid
        deadline = time.monotonic() + self.startup_s
        kernel = None
        while time.monotonic() < deadline:
            kernel = kernel or getattr(self.provisioner, "kernel_pid", None) or sandbox.kernel_pid(root)
            if kernel and all(_is_socket(f"/proc/{kernel}/root{sandbox.SOCKETS}-{port}") for port in self.ports):
                break
            if await self.provisioner.poll() is not None:
                return  # it died: nbclient reports a dead kernel
            await asyncio.sleep(0.1)  # each look scans /proc: not more often
        else:
            raise TimeoutError("the kernel did not open its sockets in time")
        if sandbox.as_root():
            sandbox.lock_sockets(kernel)
        self.kernel_process = kernel
        self.ip = f"/proc/{kernel}/root{sandbox.SOCKETS}"

    def cleanup_ipc_files(self):
        if not self.sandboxed:  # in the sandbox they vanish with its tmpfs; never removed through /proc
            super().cleanup_ipc_files()


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


class GradingClient(NotebookClient):
    """nbclient with one output budget for every byte, and without widget output capture."""

    output_budget: int = 0
    limit: int = 0
    flooded: bool = False
    current: object = None  # the cell being executed, where a cut is marked

    def _charge(self, size: int, outs=None) -> bool:
        """Take ``size`` bytes from the budget; False (and a cut note, once) when they do not fit."""
        if self.flooded:
            return False
        if size > self.output_budget:
            self.flooded = True
            if outs is not None:
                outs.append(nbformat.v4.new_output("stream", name="stdout", text=CUT.format(limit=self.limit)))
            return False
        self.output_budget -= size
        return True

    def output(self, outs, msg, display_id, cell_index):
        if not self._charge(len(json.dumps(msg.get("content", {}))), outs):
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id, msg):
        """An update rewrites every earlier output with its display id: each copy counts."""
        targets = sum(len(indices) for indices in self._display_id_map.get(display_id, {}).values())
        if targets and not self._charge(len(json.dumps(msg.get("content", {}))) * targets,
                                        self.current.outputs if self.current is not None else None):
            return None
        return super()._update_display_id(display_id, msg)

    def on_comm_open_jupyter_widget(self, msg):
        return None  # an Output widget would capture the test cells' errors


class LogTail:
    """Reads the kernel's stdout and stderr from a pipe on a thread; keeps the last ``LOG_TAIL`` bytes."""

    def __init__(self):
        self.read_end, self.write_end = os.pipe()
        self.kept: collections.deque = collections.deque()
        self.size = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while chunk := os.read(self.read_end, 65536):
            self.kept.append(chunk)
            self.size += len(chunk)
            while self.size - len(self.kept[0]) >= LOG_TAIL:
                self.size -= len(self.kept.popleft())
        os.close(self.read_end)

    def close_writer(self):
        if self.write_end is not None:
            os.close(self.write_end)
            self.write_end = None

    def text(self) -> str:
        self.close_writer()
        self.thread.join(timeout=2)
        return b"".join(self.kept)[-LOG_TAIL:].decode("utf-8", "replace")


async def execute(notebook, scratch: Path, *, kernel: str, limits: Limits, uid: int | None, sandboxed: bool,
                  hidden: list[Path], judge=None) -> Execution:
    """Run every code cell of ``notebook`` (in place) in a fresh kernel; return what happened.

    ``uid``: the unprivileged user the kernel runs as (when grading as root), else None.
    ``judge``: the student's ``judge.process.JudgeProcess`` (not started yet: it starts, and runs the
    release's fixture cells, while the kernel starts); it judges every test cell. None: the old
    in-kernel tests, for the benchmark's comparison only.
    """
    home = sandbox.prepare_scratch(scratch, uid)
    connection = scratch / "kernel.json"
    km = SandboxedKernelManager(kernel_name=kernel, transport="ipc",
                                ip=sandbox.SOCKETS if sandboxed else str(scratch / "conn" / "kernel"))
    km.connection_file = str(connection)
    km.wrapper = lambda argv: sandbox.kernel_command(argv, connection, hidden, limits, uid, sandboxed)
    km.owner, km.sandboxed = uid, sandboxed
    km.context.setsockopt(zmq.MAXMSGSIZE, limits.output_bytes + (1 << 20))  # refuse giant messages
    if sandboxed and not sandbox.as_root():
        km.context.setsockopt(zmq.RECONNECT_IVL, -1)  # the socket folder cannot be locked: never reconnect
    # warm kernels (``warm``): forked from this process's pre-imported zygote, each in a fresh sandbox of
    # its own, instead of started cold; the sockets are then reached as for a cold sandbox
    zygote = warm.shared(hidden, limits) if sandboxed else None
    listening = judge is not None and zygote is not None and zygote.agent  # the kernel's agent listens from its start
    if zygote is not None:
        agent = {"path": _agent_path(home, sandboxed=True), "token": judge.token} if listening else None
        warm.warm_manager(km, zygote, uid=uid, limits=limits, agent=agent)

    deadline = time.monotonic() + limits.wall_s
    run = Execution(notebook)

    def on_cell_executed(cell, cell_index, execute_reply):
        run.replies[cell_index] = execute_reply.get("content", {}).get("status", "error")

    client = GradingClient(notebook, km=km, kernel_name=kernel, allow_errors=True,
                           interrupt_on_timeout=False, shutdown_kernel="immediate", startup_timeout=60,
                           timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
                           on_cell_executed=on_cell_executed)
    client.output_budget = client.limit = limits.output_bytes
    log = LogTail()
    launch = {"cwd": str(home), "stdout": log.write_end, "stderr": log.write_end}
    if not sandboxed:  # bwrap sets the sandbox's environment itself
        launch["env"] = {**sandbox.environment(home, limits), "PATH": os.environ.get("PATH", "")}
    watcher, current = None, {"cell": None}
    starting = asyncio.get_running_loop().run_in_executor(None, judge.start) if judge is not None else None
    try:
        async with client.async_setup_kernel(**launch):
            log.close_writer()  # the kernel holds the pipe now; EOF comes when the sandbox is gone
            root = km.provisioner.process.pid
            kernel_process = getattr(km, "kernel_process", None) or sandbox.kernel_pid(root)
            stopped: list[Stop] = []
            watcher = asyncio.ensure_future(_watch(root, kernel_process if sandboxed else None, limits,
                                                   current, stopped))
            if judge is not None:
                run.stop = await _connect(client, km, judge, home, kernel_process if sandboxed else None, limits,
                                          deadline, listening=listening)
            for index, cell in enumerate(notebook.cells if run.stop is None else []):
                if cell.cell_type != "code":
                    continue
                current["cell"] = index
                if time.monotonic() >= deadline:
                    run.stop = Stop(Reason.TIMEOUT, index, f"limit {limits.wall_s:g} s for the whole notebook")
                    break
                if judge is not None and nb.is_test(cell):
                    if not judge.attached:
                        waited = time.monotonic()
                        await _hand_over(judge, starting)
                        deadline += time.monotonic() - waited  # the judge's own start is not the student's time
                    run.stop = await _judge_cell(client, km, judge, cell, index, limits, deadline, run)
                else:
                    run.stop = await _execute_cell(client, km, cell, index, limits)
                # nothing the student started may outlive its cell: no fork bomb, no daemon
                # waiting to tamper with the tests that follow
                if kernel_process:
                    sandbox.kill(sandbox.strays(root, kernel_process))
                if stopped:  # the watcher killed the sandbox: its reason, not "the kernel died"
                    run.stop = stopped[0]
                if run.stop:
                    break
    except (RuntimeError, TimeoutError) as error:  # the kernel never answered: it could not start
        run.stop = run.stop or Stop(Reason.NO_START, None, str(error)[-500:])
    finally:
        if watcher:
            watcher.cancel()
        await _shut_down(km)
        if judge is not None:
            if starting is not None:
                with contextlib.suppress(Exception):
                    await starting
            run.judge_notes = list(judge.notes)
            judge.close()
        log.close_writer()
        run.kernel_log = log.text()
    run.cut = client.flooded or _trim_to_budget(notebook, limits.output_bytes)
    return run


def _agent_path(home: Path, *, sandboxed: bool) -> str:
    """The judge's agent's socket, as the kernel sees it: in its own working folder."""
    from .judge.process import SOCKET_NAME
    return f"{sandbox.WORKDIR if sandboxed else home}/{SOCKET_NAME}"


async def _connect(client, km, judge, home: Path, kernel: int | None, limits: Limits,
                   deadline: float, *, listening: bool = False) -> Stop | None:
    """Send the judge's agent into the fresh kernel (before any student code; ``listening``: a warm kernel's
    agent listens already, opened by its zygote's child before IPython started) and connect to its socket
    from here; why execution must stop, if it must. The judge, still starting, gets the connection later."""
    inside = _agent_path(home, sandboxed=kernel is not None)
    if not listening:
        stop = await _synthetic(client, km, judge.bootstrap_code(inside), 0, limits)
        if stop:
            return stop
    seconds = max(1.0, min(30.0, deadline - time.monotonic()))
    reached = f"/proc/{kernel}/root{inside}" if kernel else inside
    if not await judge.connect_async(reached, seconds):  # no student code has run yet: the grader's fault
        raise JudgeFailed(f"the grader could not connect to the kernel's agent at {reached}")
    return None


async def _hand_over(judge, starting) -> None:
    """Wait for the judge to have started (its fixture cells run), then give it the agent's connection."""
    try:
        await starting
    except Exception as error:
        raise JudgeFailed(f"the judge process did not start: {type(error).__name__}: {error}") from error
    if not await judge.hand_over_async():
        raise JudgeFailed("the judge process did not take the connection to the kernel's agent")


async def _judge_cell(client, km, judge, cell, index: int, limits: Limits, deadline: float, run) -> Stop | None:
    """A test cell: the kernel serves the judge while the judge runs the test; the verdict becomes
    the cell's outputs (``judge.outputs``) and its reply."""
    from .judge.outputs import test_outputs
    from .judge.runner import PASSED
    client.current = cell
    serving = asyncio.ensure_future(_synthetic(client, km, judge.serve_code(), index, limits))
    result = await judge.run_test_async(nb.grade_id(cell), deadline - time.monotonic())
    stop = await serving
    if stop is not None and result.get("status") != PASSED:
        return stop  # the kernel went during the test: it fails with the stop's reason, as a test not run
    cell.outputs = test_outputs(result)
    run.replies[index] = "ok" if result.get("status") == PASSED else "error"
    return stop


async def _synthetic(client, km, source: str, index: int, limits: Limits) -> Stop | None:
    """Execute a cell the grader adds (the agent, the judge's serve line): appended to the notebook
    while it runs (nbclient stores an executed cell's outputs by index), never in the kernel's history,
    then taken out again; its outputs (what student code printed during a test) are dropped."""
    cell = nbformat.v4.new_code_cell(source)
    notebook = client.nb
    notebook.cells.append(cell)
    try:
        await client.async_execute_cell(cell, len(notebook.cells) - 1, store_history=False)
    except CellTimeoutError:
        return Stop(Reason.TIMEOUT, index, f"limit {limits.wall_s:g} s for the whole notebook")
    except DeadKernelError:
        return exit_stop(await _exit_status(km), index)
    finally:
        notebook.cells[:] = [c for c in notebook.cells if c is not cell]
    return None


async def _execute_cell(client, km, cell, index, limits: Limits) -> Stop | None:
    """Execute one cell (on the old path, a test cell behind the guard); say why execution must stop."""
    source = cell.source
    if nb.is_test(cell):
        cell.source = GUARD + "\n" + source
    client.current = cell
    try:
        await client.async_execute_cell(cell, index)
    except CellTimeoutError:
        return Stop(Reason.TIMEOUT, index, f"limit {limits.wall_s:g} s for the whole notebook")
    except DeadKernelError:
        return exit_stop(await _exit_status(km), index)
    finally:
        cell.source = source
    return None


async def _watch(root: int, kernel: int | None, limits: Limits, current: dict, stopped: list) -> None:
    """Measure the whole sandbox every ``poll_s``; past a bound, record why and kill all of it."""
    baseline = bounds.written(kernel)[1] if kernel else 0
    while True:
        await asyncio.sleep(limits.poll_s)
        try:
            pids = sandbox.descendants(root)
            stop = bounds.over(pids, kernel, limits, current["cell"], baseline)
        except Exception:  # a process vanishing mid-read must never end the watch
            continue
        if stop:
            stopped.append(stop)
            sandbox.kill(sandbox.descendants(root)[::-1] + [root])
            return


def _trim_to_budget(notebook, budget: int) -> bool:
    """Every byte that ends up in the notebook counts: cut outputs from the end past ``budget``."""
    total, cut = 0, False
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            size = len(json.dumps(output))
            if cut or total + size > budget:
                if not cut:
                    kept.append(nbformat.v4.new_output("stream", name="stdout", text=CUT.format(limit=budget)))
                cut = True
                continue
            total += size
            kept.append(output)
        cell.outputs = kept
    return cut


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
