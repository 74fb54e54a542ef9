"""Rebuild what grading runs from a student's notebook: their answers, the instructor's tests.

Nothing the student's copy says about grading is trusted (the notebook has been read and bounded
by ``intake`` already):

- every test cell and locked cell is replaced by the instructor's (hidden tests included, from the
  gradebook), with the instructor's metadata: edited tests, points, flags, ids, checksums or schema
  versions count for nothing;
- answer cells keep the student's text with the instructor's metadata;
- a test cell the student deleted (or renamed) is put back after the cell that preceded it;
- any other cell loses whatever ``metadata.nbgrader`` it claims (a string, a list, an unknown or
  duplicated grade id): it becomes an ordinary cell, so nbgrader never reads a student's claim;
- all outputs are cleared: only outputs produced by the grading run count.
"""

from __future__ import annotations

import copy

from . import cells as nb


def restore(student, reference, release) -> tuple:
    """The notebook to execute from ``student``'s, and notes on what had to be restored.

    ``reference`` is the release with its hidden tests put back (what nbgrader grades with);
    ``release`` is what the student received, to tell edited test cells from untouched ones.
    """
    ref_cells = {nb.grade_id(c): c for c in reference.cells if nb.grade_id(c)}
    released = {nb.grade_id(c): c.source for c in release.cells if nb.grade_id(c)}
    order = list(ref_cells)
    cells, seen, notes = [], set(), []
    for index, cell in enumerate(student.cells):
        cell = copy.deepcopy(cell)
        grade_id = nb.grade_id(cell)
        if grade_id in ref_cells and grade_id not in seen:
            seen.add(grade_id)
            cells.append(_restored(cell, ref_cells[grade_id], released.get(grade_id), notes))
            continue
        if "nbgrader" in cell.get("metadata", {}):
            claim = cell.metadata.pop("nbgrader")
            if isinstance(claim, dict) and claim:
                notes.append(f"cell claiming grade id {_shown(claim.get('grade_id'))} graded as an ordinary cell")
            elif claim:
                notes.append(f"cell {index}: nbgrader metadata that is not a dict ({type(claim).__name__}) ignored")
        cells.append(cell)
    for grade_id in (g for g in order if g not in seen):
        notes.append(f"missing cell {grade_id!r} put back")
        cells.insert(_position_after_predecessor(cells, order, grade_id), copy.deepcopy(ref_cells[grade_id]))
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    restored = copy.deepcopy(reference)
    restored.cells = cells
    return restored, notes


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _restored(cell, ref, released_source, notes: list[str]):
    """The student's ``cell`` with the instructor's metadata, and the instructor's text unless an answer."""
    grade_id = nb.grade_id(ref)
    if nb.is_answer(ref):
        if cell.get("metadata", {}).get("nbgrader") != ref.metadata["nbgrader"]:
            notes.append(f"grading metadata of answer {grade_id!r} restored")
        fixed = copy.deepcopy(ref)
        fixed.source = cell.source if cell.cell_type == ref.cell_type else ref.source
        if cell.cell_type == "markdown" and isinstance(cell.get("attachments"), dict):
            fixed.attachments = cell.attachments  # pictures in a written answer
        return fixed
    if cell.source != released_source:
        notes.append(f"edited cell {grade_id!r} restored")
    elif cell.get("metadata", {}).get("nbgrader") != ref.metadata["nbgrader"]:
        notes.append(f"grading metadata of {grade_id!r} restored")
    return copy.deepcopy(ref)


def _position_after_predecessor(cells, order: list[str], grade_id: str) -> int:
    """Where a missing graded cell goes: right after the closest graded cell before it, if present."""
    present = {nb.grade_id(c): i for i, c in enumerate(cells) if nb.grade_id(c)}
    for previous in reversed(order[:order.index(grade_id)]):
        if previous in present:
            return present[previous] + 1
    return 0


def with_hidden_tests(release, gradebook_sources: dict[str, str]):
    """The release notebook with each graded/locked cell's full source (hidden tests) from the gradebook."""
    reference = copy.deepcopy(release)
    for cell in reference.cells:
        grade_id = nb.grade_id(cell)
        if grade_id in gradebook_sources and not nb.is_answer(cell):
            cell.source = gradebook_sources[grade_id]
    return reference
