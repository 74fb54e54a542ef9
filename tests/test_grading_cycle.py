"""One whole class run with real nbgrader commands, in a temporary course folder.

generate_assignment -> four planted submissions -> autograde -> generate_feedback -> export,
then the exact score of every student and every exercise is asserted.
"""

import csv
import subprocess
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from nbgrader.api import Gradebook

from support.submissions import fill_answers, model_answers
from conftest import ROOT, run_tool, solution_path

LESSON = "02_perceptron"
POINTS = {"net_input_tests": 2, "predict_tests": 2, "update_step_tests": 2, "sign_update_tests": 2,
          "train_perceptron_tests": 2}
WRITTEN_POINTS = 2

# Right on the visible checks, wrong where the hidden tests look: eta is ignored, and np.sign(0) is 0.
HALF_RIGHT = {
    "update_step": '''
def update_step(w, x, d, T, eta=1.0):
    w, x = np.asarray(w, dtype=float), np.asarray(x, dtype=float)
    y = 1 if x @ w - T >= 0 else 0
    return w + (d - y) * x
''',
    "sign_update": '''
def sign_update(w, x, y):
    w, x = np.asarray(w, dtype=float), np.asarray(x, dtype=float)
    return w + y * x if np.sign(w @ x) != y else w.copy()
''',
}

# Returns exactly what the visible self-checks ask for, and nothing else.
HARD_CODED = {
    "net_input": '''
def net_input(X, w, T):
    if np.shape(X) == (1, 3):
        return np.array([2.0])
    return np.array([-1.5, -0.5, -0.5, 0.5])
''',
    "predict": '''
def predict(X, w, T):
    return np.array([0, 0, 0, 1]) if T == 1.5 else np.array([0, 1, 1, 1])
''',
}

# Each answer passes its visible self-check and is still wrong: the hidden tests must find it.
PLAUSIBLE_BUT_WRONG = {
    "net_input": '''
def net_input(X, w, T):
    return np.round(np.asarray(X, dtype=float) @ np.asarray(w, dtype=float) - T, 1)
''',
    "predict": '''
def predict(X, w, T):
    return (np.asarray(X, dtype=float).sum(axis=1) * w[0] - T >= 0).astype(int)  # assumes equal weights
''',
    "update_step": '''
def update_step(w, x, d, T, eta=1.0):
    w, x = np.asarray(w, dtype=float), np.asarray(x, dtype=float)
    y = 1 if x @ w - T > 0 else 0  # a net input of exactly 0 does not fire
    return w + eta * (d - y) * x
''',
    "sign_update": HALF_RIGHT["sign_update"],
    "train_perceptron": '''
def train_perceptron(X, d, T=0.0, eta=1.0, max_epochs=100, step=update_step):
    w, mistakes = np.zeros(np.shape(X)[1]), []
    for _ in range(100):  # ignores max_epochs
        wrong = 0
        for x, target in zip(np.asarray(X, dtype=float), d):
            y = int(x @ w - T >= 0)
            wrong += int(y != target)
            w = w + eta * (target - y) * x
        mistakes.append(wrong)
        if wrong == 0:
            break
    return w, mistakes
''',
    "why_xor": "One line cannot separate XOR's classes.",
}

WROTE_AN_ANSWER = {"alice", "carol", "erin"}  # the others leave the written answer as released
EXPECTED = {  # student -> autograded points per test cell
    "alice": dict(POINTS),                                              # the model solution
    "bob": dict.fromkeys(POINTS, 0),                                    # the release as it is
    "carol": {**dict.fromkeys(POINTS, 0), "net_input_tests": 2, "predict_tests": 2},
    "dave": dict.fromkeys(POINTS, 0),                                   # hard-coded to the visible checks
    "erin": dict.fromkeys(POINTS, 0),                                   # plausible but wrong everywhere
}


class ClassRun(NamedTuple):
    course: Path          # the temporary course folder: gradebook, feedback, grades.csv
    erin_validation: str  # what `nbgrader validate` said of erin's notebook before grading


def tracked_changes() -> str:
    """What git sees changed or added in the working tree (ignored paths excluded)."""
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    env = {"NNLAB_COURSE_DIR": str(course)}
    release_dir = course / "release"
    before = tracked_changes()

    def nbgrader(*args):
        result = run_tool("nbgrader", *args, f"--CourseDirectory.release_directory={release_dir}", env=env)
        assert result.returncode == 0, f"nbgrader {args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        return result

    nbgrader("generate_assignment", LESSON, "--force")
    release = nbformat.read(release_dir / LESSON / f"{LESSON}.ipynb", as_version=4)
    model = model_answers(nbformat.read(solution_path(LESSON), as_version=4))
    correct = {key: model[key] for key in ("net_input", "predict")}
    submissions = {
        "alice": fill_answers(release, model),
        "bob": release,
        "carol": fill_answers(release, {**correct, **HALF_RIGHT, "why_xor": "XOR is not separable by one line."}),
        "dave": fill_answers(release, HARD_CODED),
        "erin": fill_answers(release, PLAUSIBLE_BUT_WRONG),
    }
    for student, notebook in submissions.items():
        folder = course / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{LESSON}.ipynb")

    # what the student sees before handing in: the Validate button runs the visible checks only
    validated = run_tool("nbgrader", "validate", course / "submitted" / "erin" / LESSON / f"{LESSON}.ipynb")
    nbgrader("autograde", LESSON)
    nbgrader("generate_feedback", LESSON)
    nbgrader("export", f"--to={course / 'grades.csv'}")
    yield ClassRun(course, validated.stdout)
    assert tracked_changes() == before, "the class run wrote into tracked paths of the repository"


def test_every_exercise_of_every_student_gets_exactly_the_expected_points(graded_class):
    with Gradebook(f"sqlite:///{graded_class.course / 'gradebook.db'}") as gradebook:
        for student, expected in EXPECTED.items():
            got = {cell: gradebook.find_grade(cell, LESSON, LESSON, student).score for cell in POINTS}
            assert got == expected, f"{student}: {got}"
            written = gradebook.find_grade("why_xor", LESSON, LESSON, student)
            assert written.max_score == WRITTEN_POINTS
            if student in WROTE_AN_ANSWER:  # waits for the instructor
                assert written.needs_manual_grade and written.auto_score is None, student
            else:  # an untouched answer cell scores 0 at once
                assert not written.needs_manual_grade and written.auto_score == 0, student


def test_the_exported_csv_has_one_row_per_student_with_the_total(graded_class):
    with open(graded_class.course / "grades.csv", newline="") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    assert sorted(rows) == sorted(EXPECTED)
    for student, expected in EXPECTED.items():
        assert float(rows[student]["score"]) == sum(expected.values()), student
        assert float(rows[student]["max_score"]) == sum(POINTS.values()) + WRITTEN_POINTS


def test_feedback_tells_each_student_what_failed_and_why(graded_class):
    feedback = {s: (graded_class.course / "feedback" / s / LESSON / f"{LESSON}.html").read_text() for s in EXPECTED}
    assert "values are not right" in feedback["carol"]           # the nnlab.check message…
    assert "the learning rate scales the step" in feedback["carol"]  # …with its hint
    assert "NotImplementedError" in feedback["bob"]
    assert "net_input on random X of shape" in feedback["dave"]  # the hidden test that caught it
    assert "values are not right" not in feedback["alice"]


def test_plausible_wrong_answers_pass_every_visible_check_yet_score_nothing(graded_class):
    # the Validate button is happy with erin's notebook; the per-exercise scores above give it 0 of 10
    validated = graded_class.erin_validation
    assert "Success! Your notebook passes all the tests." in validated, validated[-3000:]
