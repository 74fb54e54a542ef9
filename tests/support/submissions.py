"""Build student submissions from a release notebook: model answers, planted answers, warning variants.

    release = nbformat.read("lessons/02_perceptron/02_perceptron.ipynb", as_version=4)
    solution = nbformat.read("solutions/02_perceptron/02_perceptron.ipynb", as_version=4)
    submission = fill_answers(release, model_answers(solution))

Answers are keyed by the nbgrader ``grade_id`` of the answer cell, so a submission is the release
with some answer cells rewritten, exactly what a student hands in. ``planted(lesson)`` reads
``tests/planted/<id>.py`` (correct alternatives and plausible mistakes written by the lesson's author).
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

PLANTED = Path(__file__).resolve().parents[1] / "planted"
_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)
PLANTED_WARNING = "a correct answer that warns: planted by the grading test"


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def answer_ids(notebook) -> list[str]:
    """The grade ids of the cells a student writes in (code answers and written answers), in order."""
    return [_nbgrader(c)["grade_id"] for c in notebook.cells if _nbgrader(c).get("solution")]


def code_answer_ids(notebook) -> list[str]:
    """The grade ids of the code answer cells, in order."""
    return [_nbgrader(c)["grade_id"] for c in notebook.cells if _nbgrader(c).get("solution") and c.cell_type == "code"]


def test_cells(notebook) -> dict[str, float]:
    """grade id -> points of every autograded test cell (graded, not an answer), in order."""
    return {_nbgrader(c)["grade_id"]: float(_nbgrader(c).get("points", 0)) for c in notebook.cells
            if c.cell_type == "code" and _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")}


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


def with_warning(source: str) -> str:
    """``source`` with every function and method warning first (a RuntimeWarning), then doing as before.

    The warning goes through Python's warnings machinery, as numpy's and torch's do: nbgrader scores
    0 for a test cell that writes it to stderr, so the tests must show it as a note instead.
    """
    tree = ast.parse(source)
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        return source
    lines = source.splitlines()
    # from the last function up, so that earlier line numbers stay right
    for function in sorted(functions, key=lambda f: f.body[0].lineno, reverse=True):
        first = function.body[0]
        if first.lineno == function.lineno:
            continue  # a one-line function: ``def f(x): return x``
        docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str)
        at = first.end_lineno if docstring else first.lineno - 1
        indent = " " * first.col_offset
        message = f"{PLANTED_WARNING} ({function.name})"
        lines[at:at] = [f"{indent}import warnings as _planted_warnings",
                        f"{indent}_planted_warnings.warn({message!r}, RuntimeWarning)"]
    return "\n".join(lines) + "\n"


@dataclass
class Planted:
    """``tests/planted/<id>.py``: correct answers written differently, and plausible mistakes."""
    path: Path
    alternatives: dict[str, str] = field(default_factory=dict)              # grade id -> cell source
    mistakes: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # grade id -> (source, failing tests)


def planted(lesson: str) -> Planted | None:
    """The planted answers of ``lesson``, or None when ``tests/planted/<lesson>.py`` does not exist."""
    path = PLANTED / f"{lesson}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"planted_{lesson}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mistakes = {grade_id: (source, list(failing)) for grade_id, (source, failing)
                in getattr(module, "MISTAKES", {}).items()}
    return Planted(path, dict(getattr(module, "ALTERNATIVES", {})), mistakes)
