"""Every lesson graded end to end: the course's one place where each lesson's grades are checked.

For each lesson, one class (see ``support/lesson_grading.py``): the solution, the release stub, the
correct alternatives of ``tests/planted/<id>.py`` made to warn, and its planted mistakes, graded by the
pipeline (`python -m autograder grade`, real bubblewrap sandboxes); all but the mistakes graded by plain
`nbgrader autograde` as well, its copy of the solution with every answer made to warn. Everything
asserted below is read from those executions:

- the solution scores full marks under both graders (issue 13.6: lesson 09's own solution once scored
  0/15 through the pipeline), though plain nbgrader's copy warns in every answer (15.1); every one of
  its cells runs without an error (what nbval checks), no test cell writes to stderr, and nbgrader's
  own Validator passes it (what `nbgrader validate` reports; checked against the real command on the
  first lesson);
- the release stub scores 0 on every test cell under both, and fails each in its visible part, so
  the Validate button fails every graded cell of the release (issue 15.1);
- correct answers written differently, each also warning, score full marks under both (15.1, 15.6);
- each planted mistake loses exactly the test cells it names (15.6).

The classes are expensive (a lesson is 7 notebook executions), so the lessons are split between
this module and ``test_lesson_grading_odd.py``: pytest-xdist's ``--dist loadfile`` runs a module on one
worker, and the two workers share the load.
"""

from __future__ import annotations

import pytest

from conftest import LESSON_IDS, release_path, run_tool, solution_path
from support import lesson_grading as lg
from support.submissions import PLANTED

LESSONS = LESSON_IDS[0::2]
PLANTED_FORMAT = '''"""Planted answers for lesson <id>: correct answers written differently from the solution."""
ALTERNATIVES = {"<answer grade id>": \'\'\'<the whole cell, written differently>\'\'\', ...}   # at least two
MISTAKES = {"<answer grade id>": (\'\'\'<a plausible wrong cell>\'\'\', ["<test cells it must fail>"])}  # optional'''


def needs_bwrap():
    from test_autograder_class import needs_bwrap as required
    required()


@pytest.fixture(scope="module", params=LESSONS)
def graded(request, tmp_path_factory) -> lg.LessonClass:
    needs_bwrap()
    return lg.build(request.param, tmp_path_factory.mktemp(request.param))


def _both(graded):
    return (graded.pipeline, graded.plain)


def test_the_solution_scores_full_marks_under_both_graders(graded):
    for grader in _both(graded):
        wrong = lg.wrong_scores(grader.scores["solution"], graded.tests, set())
        assert not wrong, (f"{graded.lesson}'s own solution loses points under {grader.name} "
                           f"(cell: (score, expected)): {wrong}\n"
                           + lg.failures_explained(grader.notebooks["solution"], set(wrong)))
    assert graded.pipeline.reasons["solution"] == [], graded.pipeline.reasons["solution"]


def test_every_test_cell_follows_the_judges_contract(graded):
    """The judge's notes on the release (CONTRIBUTING.md, "Test cells"): a test that reads the student's
    variables, or the notebook's imports, depends on what the student controls."""
    notes = sorted({line.split(": judge: ", 1)[1] for line in graded.pipeline.journal.splitlines() if ": judge: " in line})
    assert notes == [], f"{graded.lesson}: the judge's notes on its test cells: {notes}"


def test_every_cell_of_the_solution_runs_and_no_test_cell_writes_to_stderr(graded):
    notebook = graded.plain.notebooks["solution"]  # as plain nbgrader executed it: every output kept
    assert lg.cell_errors(notebook) == [], f"{graded.lesson}: cells of the solution raise"
    assert lg.stderr_cells(notebook, graded.tests) == [], \
        f"{graded.lesson}: test cells write to stderr (nbgrader scores them 0; nnlab.check shows warnings as notes)"
    assert lg.planted_notes(notebook), f"{graded.lesson}: the planted warnings never showed as notes on stdout"


def test_nbgrader_validate_passes_the_solution(graded):
    verdict = lg.validation(graded.plain.notebooks["solution"])
    assert verdict == {"type_changed": [], "changed": [], "failed": []}, f"{graded.lesson}: {verdict}"


def test_the_release_stub_scores_nothing_under_both_graders(graded):
    for grader in _both(graded):
        wrong = lg.wrong_scores(grader.scores["stub"], graded.tests, set(graded.tests))
        assert not wrong, f"{graded.lesson}: the unsolved release earns points under {grader.name}: {wrong}"


def test_nbgrader_validate_fails_every_graded_cell_of_the_release(graded):
    """What the Validate button says of the release: its visible checks fail every exercise."""
    notebook = graded.plain.notebooks["stub"]
    graded_cells = [lg.grade_id(c) for c in graded.release.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert sorted(lg.validation(notebook)["failed"]) == sorted(graded_cells)
    late = [lg.grade_id(c) for c in notebook.cells if lg.grade_id(c) in graded.tests
            and not lg.fails_before_hidden_tests(c)]
    assert late == [], (f"{graded.lesson}: these test cells pass their visible checks on the unsolved release "
                        f"(they fail only in the hidden part, or not at all): {late}")


def test_the_lesson_has_planted_answers(graded):
    path = PLANTED / f"{graded.lesson}.py"
    assert graded.planted is not None, (
        f"add {path.relative_to(PLANTED.parents[1])}: at least two correct answers written differently from "
        f"the solution (a loop, float32 or torch version), in this form:\n{PLANTED_FORMAT}")
    assert len(graded.planted.alternatives) >= 2, f"{path}: ALTERNATIVES needs at least two answers"
    tests = set(graded.tests)
    unknown = {g: [c for c in cells if c not in tests] for g, (_, cells) in graded.planted.mistakes.items()}
    assert not any(unknown.values()), f"{path}: MISTAKES name cells that are not test cells: {unknown}"


def test_correct_alternatives_that_warn_score_full_marks_under_both_graders(graded):
    for grader in _both(graded):
        wrong = lg.wrong_scores(grader.scores["alternatives"], graded.tests, set())
        assert not wrong, (f"{graded.lesson}: correct answers (planted alternatives, each warning) lose points "
                           f"under {grader.name}: {wrong}\n"
                           + lg.failures_explained(grader.notebooks["alternatives"], set(wrong)))
    assert lg.stderr_cells(graded.plain.notebooks["alternatives"], graded.tests) == []


def test_each_planted_mistake_loses_exactly_the_test_cells_it_names(graded):
    if "mistakes" not in graded.submitted:
        pytest.skip(f"tests/planted/{graded.lesson}.py {'gives no MISTAKES' if graded.planted else 'is missing'}")
    failing = graded.expected_failures["mistakes"]
    grader = graded.pipeline  # the classroom grade (see support/lesson_grading.py)
    wrong = lg.wrong_scores(grader.scores["mistakes"], graded.tests, failing)
    assert not wrong, (f"{graded.lesson}: planted mistakes under {grader.name}, (score, expected): {wrong}\n"
                       + lg.failures_explained(grader.notebooks["mistakes"], set(wrong)))


@pytest.mark.parametrize("graded", [LESSONS[0]], indirect=True)
def test_the_derived_validation_agrees_with_nbgrader_validate(graded):
    """The Validator checks above, against the real `nbgrader validate` command, on one (the shortest) lesson."""
    solution = run_tool("nbgrader", "validate", solution_path(graded.lesson))
    assert "Success! Your notebook passes all the tests." in solution.stdout, solution.stdout[-3000:]
    release = run_tool("nbgrader", "validate", release_path(graded.lesson))
    failed = lg.validation(graded.plain.notebooks["stub"])["failed"]
    assert f"VALIDATION FAILED ON {len(failed)} CELL(S)!" in release.stdout, release.stdout[-3000:]
