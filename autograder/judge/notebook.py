"""Execute a student's notebook with its test cells judged outside the kernel.

The kernel executes every cell except the test cells. At a test cell's place it executes
``serve`` instead (the test's code never enters the kernel), while the judge process runs the
test, its hidden part included, against the kernel's state at that point. ``execute_judged``
does this on an nbclient client whose kernel is already running (the pipeline's sandboxed one);
``run_notebook`` starts a plain local kernel around it (for tests and for checking lessons).
"""

from __future__ import annotations

import asyncio
import copy
import os
import time
from pathlib import Path

import nbformat

from .process import SOCKET_NAME, JudgeProcess
from .runner import ERROR, verdict


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and isinstance(meta, dict) and meta.get("grade") is True \
        and meta.get("solution") is not True


def is_fixture(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.get("cell_type") == "code" and isinstance(tags, list) and "fixture" in tags


def fixtures_of(release) -> list[str]:
    """The release's fixture cells, in order (never the student's copy of them)."""
    return [cell.source for cell in release.cells if is_fixture(cell)]


def tests_of(reference) -> dict[str, str]:
    """Each test cell's source by grade id, from the instructor's copy (hidden tests included)."""
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in reference.cells if is_test_cell(cell)}


def _synthetic(source: str):
    """A cell the judge adds (the agent, a serve call): never in the kernel's history."""
    made = nbformat.v4.new_code_cell(source)
    made.metadata["nnlab_judge"] = True
    return made


async def execute_judged(client, notebook, judge: JudgeProcess, deadline: float, *, kernel_path: str,
                         judge_path, execute_cell=None) -> dict:
    """Run ``notebook``'s cells in ``client``'s kernel, judging each test cell; returns the report.

    ``notebook`` is ``client.nb``; the kernel is running. ``kernel_path``: where the agent opens its
    socket, as the kernel sees it (its own working folder); ``judge_path``: the same socket as the
    judge reaches it (``/proc/<kernel>/root`` + ``kernel_path`` when sandboxed), or a function of no
    arguments that returns it once the kernel is up. ``execute_cell(cell, index)``: how one cell
    runs (the pipeline's, with its guards; by default nbclient's); returns None or why execution
    must stop. The report: ``verdicts`` (grade id -> verdict), ``stopped`` (None, or why and where)
    and ``judge_notes`` (what in the release does not follow the test-cell contract, for the log).
    """
    execute_cell = execute_cell or (lambda cell, index: _plain(client, cell, index))
    verdicts: dict[str, dict] = {}
    stopped = await _synthetic_run(execute_cell, notebook, judge.bootstrap_code(kernel_path), 0)
    if not stopped and not await judge.attach_async(judge_path() if callable(judge_path) else judge_path,
                                                    max(1.0, min(30.0, deadline - time.monotonic()))):
        stopped = {"reason": "kernel lost", "cell": 0, "detail": "the judge could not reach the kernel"}
    for index, cell in enumerate(list(notebook.cells)):
        if stopped:
            break
        if cell.cell_type != "code":
            continue
        if time.monotonic() >= deadline:
            stopped = {"reason": "timeout", "cell": index}
            break
        if not is_test_cell(cell):
            stopped = await execute_cell(cell, index)
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        serving = asyncio.ensure_future(_synthetic_run(execute_cell, notebook, judge.serve_code(), index))
        verdicts[grade_id] = await judge.run_test_async(grade_id, deadline - time.monotonic())
        stopped = await serving
        if stopped is None and verdicts[grade_id]["ename"] == "GradingError":
            stopped = {"reason": "kernel lost", "cell": index, "detail": verdicts[grade_id]["evalue"]}
    why = _why(stopped)
    for cell in notebook.cells:
        if is_test_cell(cell) and cell.metadata["nbgrader"]["grade_id"] not in verdicts:
            verdicts[cell.metadata["nbgrader"]["grade_id"]] = verdict(
                ERROR, ename="GradingError", evalue=f"this test did not run: {why}")
    return {"verdicts": verdicts, "stopped": stopped, "judge_notes": list(judge.notes)}


async def _synthetic_run(execute_cell, notebook, source: str, place: int):
    """Execute a cell the judge adds, at the end of the notebook for the time it runs (nbclient
    stores an executed cell at its index), then take it out again; ``place`` is where it stands for."""
    cell = _synthetic(source)
    notebook.cells.append(cell)
    try:
        stopped = await execute_cell(cell, len(notebook.cells) - 1)
    finally:
        notebook.cells[:] = [c for c in notebook.cells if c is not cell and not c.metadata.get("nnlab_judge")]
    if stopped:
        stopped = {**stopped, "cell": place}
    return stopped


def _why(stopped) -> str:
    if not stopped:
        return "the notebook stopped"
    return {"timeout": "the notebook ran out of time", "kernel died": "the kernel stopped"}.get(
        stopped.get("reason"), stopped.get("detail") or stopped.get("reason", "the notebook stopped"))


async def _plain(client, cell, index):
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    try:
        await client.async_execute_cell(cell, index, store_history=not cell.metadata.get("nnlab_judge"))
    except CellTimeoutError:
        return {"reason": "timeout", "cell": index}
    except DeadKernelError:
        return {"reason": "kernel died", "cell": index}
    return None


def run_notebook(notebook, release, reference, *, scratch: Path, wall_s: float = 300, kernel: str = "python3",
                 bounds: dict | None = None) -> tuple:
    """Execute ``notebook`` (a copy) in a local, unsandboxed kernel with the judge; ``(executed, report)``.

    ``release`` gives the fixture cells, ``reference`` the test cells with their hidden parts.
    For tests and for checking lessons: the pipeline runs the kernel in its sandbox instead.
    """
    return asyncio.run(_run(copy.deepcopy(notebook), release, reference, Path(scratch), wall_s, kernel, bounds))


async def _run(notebook, release, reference, scratch, wall_s, kernel, bounds):
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    (scratch / "conn").mkdir(parents=True, exist_ok=True)
    (scratch / "home").mkdir(exist_ok=True)
    deadline = time.monotonic() + wall_s
    judge = JudgeProcess(fixtures_of(release), tests_of(reference), bounds=bounds)
    km = AsyncKernelManager(kernel_name=kernel, transport="ipc", ip=str(scratch / "conn" / "kernel"))
    client = NotebookClient(notebook, km=km, kernel_name=kernel, allow_errors=True, shutdown_kernel="immediate",
                            timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
                            interrupt_on_timeout=False, startup_timeout=120)
    await asyncio.get_running_loop().run_in_executor(None, judge.start)
    socket_path = str(scratch / "home" / SOCKET_NAME)  # unsandboxed, the kernel and the judge see one path
    try:
        env = {**os.environ, "NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "agg"}  # as the pipeline's kernel
        async with client.async_setup_kernel(cwd=str(scratch / "home"), env=env):
            report = await execute_judged(client, notebook, judge, deadline, kernel_path=socket_path,
                                          judge_path=socket_path)
    finally:
        judge.close()
    return notebook, report
