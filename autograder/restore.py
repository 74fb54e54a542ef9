"""Read a student's notebook and rebuild what grading runs: their answers, the instructor's tests.

Nothing the student's copy says about grading is trusted. Outside the sandbox, before any code runs:

- unreadable JSON, or JSON that is not a notebook, is refused with a reason (``Unreadable``);
- an older nbformat (3) is upgraded to 4;
- every test cell and locked cell is replaced by the instructor's (hidden tests included, from the
  gradebook), with the instructor's metadata: edited tests, points, flags or ids count for nothing;
- answer cells keep the student's text with the instructor's metadata;
- a test cell the student deleted (or renamed) is put back after the cell that preceded it;
- a cell claiming an unknown or duplicated grade id becomes an ordinary cell;
- all outputs are cleared: only outputs produced by the grading run count.
"""

from __future__ import annotations

import copy
import json

import nbformat


class Unreadable(ValueError):
    """The submission cannot be read as a notebook; the message says why, for the student."""


def read(data: bytes):
    """Parse ``data`` as a notebook in nbformat 4; returns ``(notebook, notes)``."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Unreadable(f"the file is not valid JSON ({error})") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise Unreadable("the file is JSON but not a Jupyter notebook (no 'nbformat' field)")
    notes = []
    if raw.get("nbformat", 4) < 4:
        notes.append(f"upgraded from nbformat {raw.get('nbformat')} to 4")
    try:
        notebook = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises several types for malformed notebooks
        raise Unreadable(f"the notebook's structure is broken ({type(error).__name__}: "
                         f"{str(error).splitlines()[0][:300]})") from None
    return notebook, notes


def grading_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_answer(cell) -> bool:
    return bool(grading_meta(cell).get("solution"))


def restore(student, reference, release) -> tuple:
    """The notebook to execute from ``student``'s, and notes on what had to be restored.

    ``reference`` is the release with its hidden tests put back (what nbgrader grades with);
    ``release`` is what the student received, to tell edited test cells from untouched ones.
    """
    ref_cells = {grading_meta(c)["grade_id"]: c for c in reference.cells if grading_meta(c).get("grade_id")}
    released = {grading_meta(c).get("grade_id"): c.source for c in release.cells}
    order = list(ref_cells)
    cells, seen, notes = [], set(), []
    for cell in student.cells:
        cell = copy.deepcopy(cell)
        grade_id = grading_meta(cell).get("grade_id")
        if grade_id in ref_cells and grade_id not in seen:
            seen.add(grade_id)
            cells.append(_restored(cell, ref_cells[grade_id], released.get(grade_id), notes))
        else:
            if grading_meta(cell):
                notes.append(f"cell claiming grade id {grade_id!r} graded as an ordinary cell")
                cell.metadata.pop("nbgrader")
            cells.append(cell)
    missing = [g for g in order if g not in seen]
    for grade_id in missing:
        notes.append(f"missing cell {grade_id!r} put back")
        cells.insert(_position_after_predecessor(cells, order, grade_id), copy.deepcopy(ref_cells[grade_id]))
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    restored = copy.deepcopy(reference)
    restored.cells = cells
    return restored, notes


def _restored(cell, ref, released_source, notes: list[str]):
    """The student's ``cell`` with the instructor's metadata, and the instructor's text unless an answer."""
    grade_id = grading_meta(ref)["grade_id"]
    if is_answer(ref):
        if cell.get("metadata", {}).get("nbgrader") != ref.metadata["nbgrader"]:
            notes.append(f"grading metadata of answer {grade_id!r} restored")
        fixed = copy.deepcopy(ref)
        fixed.source = cell.source if cell.cell_type == ref.cell_type else ref.source
        return fixed
    if cell.source != released_source:
        notes.append(f"edited cell {grade_id!r} restored")
    elif cell.get("metadata", {}).get("nbgrader") != ref.metadata["nbgrader"]:
        notes.append(f"grading metadata of {grade_id!r} restored")
    return copy.deepcopy(ref)


def _position_after_predecessor(cells, order: list[str], grade_id: str) -> int:
    """Where a missing graded cell goes: right after the closest graded cell before it, if present."""
    present = {grading_meta(c).get("grade_id"): i for i, c in enumerate(cells) if grading_meta(c).get("grade_id")}
    for previous in reversed(order[:order.index(grade_id)]):
        if previous in present:
            return present[previous] + 1
    return 0


def with_hidden_tests(release, gradebook_sources: dict[str, str]):
    """The release notebook with each graded/locked cell's full source (hidden tests) from the gradebook."""
    reference = copy.deepcopy(release)
    for cell in reference.cells:
        grade_id = grading_meta(cell).get("grade_id")
        if grade_id in gradebook_sources and not is_answer(cell):
            cell.source = gradebook_sources[grade_id]
    return reference
