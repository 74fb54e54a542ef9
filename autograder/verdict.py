"""From an executed notebook and its run report to the notebook nbgrader records, and the reasons.

nbgrader scores a test cell from its outputs: an error (or anything on stderr) scores 0, otherwise
full points (or the partial credit of a numeric result). Here those outputs are rewritten so that
nbgrader records exactly the verdict decided outside the sandbox:

- a test cell passes only if the kernel replied "ok" to it and it shows no error;
- a failed test keeps its error as ``Name: message`` only: the traceback would show hidden test
  code in the feedback; the message (nnlab.check's explanation and hint) is what the student needs;
- stderr (warnings from torch, numpy…) never fails a test: it is dropped from test cells;
- a numeric result (nbgrader's partial credit) counts only if the test cell ends with an expression;
- a test that did not run (the notebook stopped earlier) gets an error saying why.
"""

from __future__ import annotations

import ast
import copy
import signal

import nbformat

from .execute import is_test_cell

MESSAGE_LIMIT = 4000  # characters of an error message kept in the feedback
STDOUT_LIMIT = 20000  # characters of a test cell's printed output kept

# A short key per kind of failure, for the summary table; the detail goes to the student report.
TIMEOUT, CPU, MEMORY, PROCESSES, CRASH, EXIT, FLOOD = (
    "timeout", "cpu-limit", "memory-limit", "process-limit", "kernel-crash", "kernel-exit", "output-flood")
SYS_EXIT, NO_START = "sys-exit", "kernel-did-not-start"


def failed_error(message: str, name: str = "GradingError"):
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def stop_message(stopped: dict | None, wall_s: float) -> str | None:
    """Why execution stopped, in words for the student (None when it ran to the end)."""
    if not stopped:
        return None
    if stopped["reason"] == "timeout":
        return f"the notebook ran out of time (limit {wall_s:g} s for the whole notebook)"
    if stopped["reason"] == "kernel died":
        return f"the kernel stopped: {describe_exit(stopped.get('exit'))}"
    if stopped["reason"] == "fork bomb":
        return f"the notebook started too many processes ({stopped['processes']} at once) and was stopped"
    return f"the kernel did not start ({stopped.get('detail', '')})"


def describe_exit(status: int | None) -> str:
    """bwrap passes the kernel's exit status on; a signal shows as a negative status or 128 + n."""
    if status is None:
        return "killed"
    number = -status if status < 0 else status - 128 if status > 128 else None
    if number:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        meaning = {"SIGSEGV": "crashed (segmentation fault)", "SIGXCPU": "used up its CPU time",
                   "SIGKILL": "was killed (CPU or memory limit)", "SIGABRT": "aborted"}.get(name, "was killed")
        return f"{meaning} ({name})"
    return f"exited with status {status} (os._exit or exit from C code)"


def exit_key(status: int | None) -> str:
    text = describe_exit(status)
    return CRASH if "SIGSEGV" in text or "SIGABRT" in text else CPU if "SIGXCPU" in text else \
        EXIT if "exited" in text else CRASH


def reasons(executed, report: dict) -> list[tuple[str, str]]:
    """(key, detail) for everything that went wrong in the run, beyond ordinary failed tests."""
    found = []
    stopped = report.get("stopped")
    if stopped and stopped["reason"] == "timeout":
        found.append((TIMEOUT, f"stopped at cell {stopped['cell']}: out of time"))
    elif stopped and stopped["reason"] == "kernel died":
        found.append((exit_key(stopped.get("exit")), f"at cell {stopped['cell']}: the kernel "
                      f"{describe_exit(stopped.get('exit'))}"))
    elif stopped and stopped["reason"] == "fork bomb":
        found.append((PROCESSES, f"at cell {stopped['cell']}: {stopped['processes']} processes at once; "
                                 "the sandbox was killed"))
    elif stopped:
        found.append((NO_START, stopped.get("detail", "")))
    if report.get("flooded"):
        found.append((FLOOD, "the notebook printed more than the output limit; the rest was cut"))
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    if any(o.ename == "MemoryError" for o in errors):
        found.append((MEMORY, "a cell ran out of memory (MemoryError)"))
    if any(o.ename == "BlockingIOError" or "Resource temporarily unavailable" in o.evalue for o in errors) \
            and PROCESSES not in (key for key, _ in found):
        found.append((PROCESSES, "starting a process was refused (process limit)"))
    if any(o.ename == "SystemExit" for o in errors):
        found.append((SYS_EXIT, "a cell called sys.exit(); the kernel went on"))
    return found


def ends_with_expression(source: str) -> bool:
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and isinstance(body[-1], ast.Expr)


def for_nbgrader(executed, report: dict, wall_s: float):
    """A copy of ``executed`` whose test-cell outputs say exactly the verdict (see module docstring)."""
    notebook = copy.deepcopy(executed)
    replies = report.get("replies", {})
    why_not_run = stop_message(report.get("stopped"), wall_s)
    for index, cell in enumerate(notebook.cells):
        if is_test_cell(cell):
            cell.outputs = _test_outputs(cell, replies.get(str(index)), why_not_run)
    return notebook


def _test_outputs(cell, reply: str | None, why_not_run: str | None) -> list:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    printed = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed[:STDOUT_LIMIT])] if printed else []
    if reply is None:
        return outputs + [failed_error(f"this test did not run: {why_not_run or 'the notebook stopped'}")]
    if errors:
        first = errors[0]
        return outputs + [failed_error(str(first.evalue)[:MESSAGE_LIMIT], str(first.ename)[:100])]
    if reply != "ok":
        return outputs + [failed_error("this test failed, but its error message was hidden")]
    results = [o for o in cell.outputs if o.output_type == "execute_result"]
    if results and ends_with_expression(cell.source):
        outputs.append(results[-1])
    return outputs


def unrun(reference, message: str):
    """``reference`` with every test failing with ``message``: for a submission that is not run."""
    notebook = copy.deepcopy(reference)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [failed_error(message)] if is_test_cell(cell) else []
    return notebook
