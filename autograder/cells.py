"""nbgrader's cell predicates, in one place: what a cell claims about grading, read defensively.

A student's notebook is untrusted input: its ``metadata.nbgrader`` may be a string or a list, a
``grade_id`` a list or a number, ``points`` a string or infinity. Here such claims read as no claim
at all (``meta`` is ``{}``, ``grade_id`` is None, ``points`` is 0), so no caller has to check
types. Restoring a notebook replaces every claim of a graded cell with the instructor's anyway;
these predicates only have to never raise and never be fooled into counting a bad value.
"""

from __future__ import annotations

import math


def meta(cell) -> dict:
    """The cell's ``metadata.nbgrader`` when it is a dict, else ``{}``."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    found = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return found if isinstance(found, dict) else {}


def grade_id(cell) -> str | None:
    """The cell's grade id when it is a non-empty string, else None."""
    found = meta(cell).get("grade_id")
    return found if isinstance(found, str) and found else None


def is_answer(cell) -> bool:
    """A cell the student writes in: a code answer or a written (markdown) answer."""
    return meta(cell).get("solution") is True


def is_graded(cell) -> bool:
    """A cell with points: a test cell, or a manually graded answer."""
    return meta(cell).get("grade") is True


def is_test(cell) -> bool:
    """An autograded test cell: a graded code cell that is not an answer (nbgrader's 'Autograder tests')."""
    return cell.get("cell_type") == "code" and is_graded(cell) and not is_answer(cell)


def is_locked(cell) -> bool:
    return meta(cell).get("locked") is True


def points(cell) -> float:
    """The cell's points as a finite number ≥ 0 (0 for anything else)."""
    value = meta(cell).get("points", 0)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0.0
    try:
        number = float(value)
    except ValueError:
        return 0.0
    return number if math.isfinite(number) and number >= 0 else 0.0
