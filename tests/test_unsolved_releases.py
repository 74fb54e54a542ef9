"""Every unsolved release fails its own tests: a learner who has written nothing scores nothing.

Kept apart from test_notebooks.py so that pytest-xdist (``--dist loadfile``) runs these executions on one
worker while the other executes the solution notebooks.
"""

import nbformat

from conftest import release_path, run_tool


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def graded_cells(path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(1 for c in nb.cells if nbgrader_meta(c).get("grade"))


# That every solution passes its own tests is nbval's check: it executes each solution notebook once, and a
# failing test cell raises. Running `nbgrader validate` on the solutions as well would execute them twice.


def test_nbgrader_validate_fails_every_graded_cell_of_the_unsolved_release(lesson):
    result = run_tool("nbgrader", "validate", release_path(lesson))
    expected = graded_cells(release_path(lesson))
    assert f"VALIDATION FAILED ON {expected} CELL(S)!" in result.stdout, result.stdout[-3000:]
