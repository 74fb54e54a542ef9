"""From an ``Execution`` to the notebook nbgrader records, and the problems to report.

nbgrader scores a test cell from its outputs: an error (or anything on stderr) scores 0, otherwise
full points (or the partial credit of a numeric result). Here those outputs are rewritten so that
nbgrader records exactly the verdict decided outside the sandbox:

- a test cell passes only if the kernel replied "ok" to it and it shows no error;
- a failed test keeps its error as ``Name: message`` only: the traceback would show hidden test
  code in the feedback; the message (nnlab.check's explanation and hint) is what the student needs;
- stderr (warnings from torch, numpy…) never fails a test: it is dropped from test cells;
- a numeric result (nbgrader's partial credit) counts only if the test cell itself ends with an
  expression and the number lies between 0 and the cell's points; anything else shown as a result
  (``sys.displayhook(1000)``, a picture, a string) is dropped with a note, so nbgrader is never
  handed a value it refuses;
- a test that did not run (the notebook stopped earlier) gets an error saying why.

The judge (issue 14) decides each test cell's outcome outside the kernel; ``execute`` writes its
verdict as the cell's outputs (``judge.outputs``) and reply, and the rules above then apply as they
did to a test run in the kernel.
"""

from __future__ import annotations

import ast
import copy
import math

import nbformat

from . import cells as nb
from .outcomes import Problem, Reason

MESSAGE_LIMIT = 4000  # characters of an error message kept in the feedback
STDOUT_LIMIT = 20000  # characters of a test cell's printed output kept


def failed_error(message: str, name: str = "GradingError"):
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def problems(run) -> list[Problem]:
    """Everything that went wrong in the run (an ``execute.Execution``), beyond ordinary failed tests."""
    found = [run.stop.problem()] if run.stop else []
    if run.cut:
        found.append(Problem(Reason.FLOOD, "output cut: the notebook's outputs passed the output limit; "
                                           "the rest was left out"))
    errors = [o for c in run.notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    names = {str(o.get("ename", "")) for o in errors}
    if "MemoryError" in names and Reason.MEMORY not in {p.reason for p in found}:
        found.append(Problem(Reason.MEMORY, "a cell ran out of memory (MemoryError)"))
    if (any(o.get("ename") == "BlockingIOError" or "Resource temporarily unavailable" in str(o.get("evalue", ""))
            for o in errors)) and Reason.PROCESSES not in {p.reason for p in found}:
        found.append(Problem(Reason.PROCESSES, "starting a process was refused (process limit)"))
    if any("[Errno 28]" in str(o.get("evalue", "")) for o in errors) and Reason.DISK not in {p.reason for p in found}:
        found.append(Problem(Reason.DISK, "a write failed: the writable folders are full"))
    if "SystemExit" in names:
        found.append(Problem(Reason.SYS_EXIT, "a cell called sys.exit(); the kernel went on"))
    return found


def ends_with_expression(source: str) -> bool:
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return bool(body) and isinstance(body[-1], ast.Expr)


def for_nbgrader(run) -> tuple[object, list[str]]:
    """A copy of the executed notebook whose test-cell outputs say exactly the verdict; and notes."""
    notebook = copy.deepcopy(run.notebook)
    why_not_run = run.stop.student_message() if run.stop else None
    notes: list[str] = []
    for index, cell in enumerate(notebook.cells):
        if nb.is_test(cell):
            cell.outputs = _test_outputs(cell, run.replies.get(index), why_not_run, notes)
    return notebook, notes


def _partial_credit(result, cell) -> float | None:
    """The result's number when nbgrader may take it as partial credit for ``cell``, else None."""
    data = result.get("data", {})
    text = data.get("text/plain") if isinstance(data, dict) else None
    text = "".join(text) if isinstance(text, list) and all(isinstance(t, str) for t in text) else text
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and 0 <= value <= nb.points(cell) else None


def _test_outputs(cell, reply: str | None, why_not_run: str | None, notes: list[str]) -> list:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    printed = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"
                      and isinstance(o.get("text"), str))
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed[:STDOUT_LIMIT])] if printed else []
    if reply is None:
        return outputs + [failed_error(f"this test did not run: {why_not_run or 'the notebook stopped'}")]
    if errors:
        first = errors[0]
        return outputs + [failed_error(str(first.get("evalue", ""))[:MESSAGE_LIMIT], str(first.get("ename", ""))[:100])]
    if reply != "ok":
        return outputs + [failed_error("this test failed, but its error message was hidden")]
    results = [o for o in cell.outputs if o.output_type == "execute_result"]
    if results:
        credit = _partial_credit(results[-1], cell) if ends_with_expression(cell.source) else None
        if credit is None:
            notes.append(f"a result shown in test cell {nb.grade_id(cell)!r} was ignored: only the test's own "
                         f"last expression, a number from 0 to {nb.points(cell):g}, counts as partial credit")
        else:
            outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": f"{credit:g}"},
                                                  execution_count=results[-1].get("execution_count")))
    return outputs


def unrun(reference, message: str):
    """``reference`` with every test failing with ``message``: for a submission that is not run."""
    notebook = copy.deepcopy(reference)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [failed_error(message)] if nb.is_test(cell) else []
    return notebook
