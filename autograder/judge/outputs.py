"""A judge's verdict as the outputs of its test cell, which nbgrader then scores as it always does.

nbgrader scores a test cell from its outputs: an error output scores 0, otherwise full points (or
the partial credit of a numeric ``execute_result``). So each verdict becomes:

- what the test printed (the visible part's ✓ line, ``note:`` lines), as stdout;
- ``failed`` or ``error``: one error output, ``Name: message`` (``nnlab.check``'s explanation and
  hint); never a traceback, which would show the test's code;
- ``passed`` with a final expression: its value as an ``execute_result`` (nbgrader's partial credit).
"""

from __future__ import annotations

import nbformat

from .notebook import is_test_cell
from .runner import PASSED


def test_outputs(verdict: dict) -> list:
    outputs = []
    if verdict.get("stdout"):
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=str(verdict["stdout"])))
    if verdict.get("status") != PASSED:
        name = str(verdict.get("ename") or "GradingError")
        message = str(verdict.get("evalue") or "")
        outputs.append(nbformat.v4.new_output("error", ename=name, evalue=message,
                                              traceback=[f"{name}: {message}" if message else name]))
    elif verdict.get("result") is not None:
        outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": str(verdict["result"])},
                                              execution_count=None))
    return outputs


def apply(notebook, verdicts: dict[str, dict]) -> None:
    """Write each test cell's verdict into its outputs (in place); a test without one is an error."""
    for cell in notebook.cells:
        if is_test_cell(cell):
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            cell.outputs = test_outputs(verdicts.get(grade_id) or {
                "status": "error", "ename": "GradingError", "evalue": "this test did not run"})
