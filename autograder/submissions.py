"""Build student submissions from a release notebook: model answers for dry runs, planted ones for tests.

    release = nbformat.read("lessons/02_perceptron/02_perceptron.ipynb", as_version=4)
    solution = nbformat.read("solutions/02_perceptron/02_perceptron.ipynb", as_version=4)
    submission = fill_answers(release, model_answers(solution))

Answers are keyed by the nbgrader ``grade_id`` of the answer cell, so a submission is the release
with some answer cells rewritten, exactly what a student hands in.
"""

from __future__ import annotations

import copy
import re

import nbformat

_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def answer_ids(notebook) -> list[str]:
    """The grade ids of the cells a student writes in (code answers and written answers), in order."""
    return [_nbgrader(c)["grade_id"] for c in notebook.cells if _nbgrader(c).get("solution")]


def model_answers(solution) -> dict[str, str]:
    """The instructor's answers of a source notebook, as a student would type them (no markers)."""
    return {_nbgrader(c)["grade_id"]: _MARKER.sub("", c.source)
            for c in solution.cells if _nbgrader(c).get("solution")}


def fill_answers(release, answers: dict[str, str]):
    """A copy of ``release`` with the answer cells named in ``answers`` replaced by their text.

    Raises ``KeyError`` for an id that is not an answer cell of the notebook, so a typo in a
    planted submission never goes unnoticed.
    """
    unknown = set(answers) - set(answer_ids(release))
    if unknown:
        raise KeyError(f"not answer cells of this notebook: {sorted(unknown)}")
    filled = copy.deepcopy(release)
    for cell in filled.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if _nbgrader(cell).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.validate(filled)
    return filled
