"""The judge's hostile class on the torch lesson (issue 14.1): lesson 08, sandboxed, real command.

``test_autograder_class`` plants every attack of ``test_judge_attacks`` on the numpy lesson (02). Here
the same attacks, and the torch ones (``torch.allclose`` and ``Tensor.__eq__`` patched, a tensor
subclass that equals anything, the lesson's kernel-side fixture faked), are planted on lesson 08's
release stubs in a class graded by ``python -m autograder grade`` in bubblewrap: every test scores 0
and the feedback holds none of the hidden tests. Beside them, the model answers score full marks
alone, with every generic attack added, and with the torch code the old static scan zeroed.
A file of its own, so that it grades beside the numpy class rather than after it.
"""

from __future__ import annotations

import html
import json

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import class_release, run_tool, solution_path
from support.submissions import fill_answers
from test_autograder_class import needs_bwrap
from test_judge_attacks import ATTACKS, TARGETED, attacked, hidden_parts, stubs

LESSON = "08_numpy_to_pytorch"
POINTS = {"affine_layer_tests": 3, "relu_layer_tests": 1, "softmax_cross_entropy_tests": 3, "mlp_loss_tests": 2,
          "sgd_train_tests": 3, "mlp_module_tests": 2, "accuracy_on_tests": 2}
NOTHING = dict.fromkeys(POINTS, 0)
# Correct code the old scan zeroed: a torch device, a loop variable named check, inspect, vars(), eval of a
# constant, and a module attribute in a subscript on the left of an assignment (the one-hot line). In a
# function, as a student would write it: at the top level `device` and `check` would shadow the lesson's own.
LEGITIMATE = """
def one_hot_on(labels, classes):
    import inspect
    device = torch.device("cpu")
    for check in ["a", "b"]:
        pass
    out = np.zeros((len(labels), classes))
    out[np.arange(len(labels)), labels] = 1
    assert "out" in vars() and eval("0.0") == 0.0 and inspect.isfunction(one_hot_on)
    return torch.as_tensor(out, device=device)


assert one_hot_on([0, 2], 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""
EXPECTED = {  # student -> points per test cell
    "alice": POINTS,
    "every_attack": NOTHING,
    "attacks_beside_correct": POINTS,
    "legitimate": POINTS,
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    needs_bwrap()
    course = tmp_path_factory.mktemp("hostile_torch_course")
    release_dir, release, model = class_release(LESSON, course)
    solution = nbformat.read(solution_path(LESSON), as_version=4)
    first = "affine_layer"
    answers = {
        "alice": model,
        "every_attack": attacked(LESSON, stubs(solution), list(ATTACKS) + list(TARGETED[LESSON])),
        # torch_alias left out: its Tensor.__eq__ breaks the student's own accuracy (== on tensors), which then
        # rightly loses its points; that the patch gains nothing on the stubs is every_attack's part
        "attacks_beside_correct": attacked(LESSON, model, [name for name in ATTACKS if name != "torch_alias"]),
        "legitimate": {**model, first: "import numpy as np\nimport torch\n" + LEGITIMATE + model[first]},
    }
    incoming = course / "incoming"
    for student, filled in answers.items():
        (incoming / student).mkdir(parents=True)
        nbformat.write(fill_answers(release, filled), incoming / student / f"{LESSON}.ipynb")
    run = run_tool("python", "-m", "autograder", "grade", LESSON, incoming, "--workers=2", "--timeout=120",
                   f"--release-dir={release_dir}", env={"NNLAB_COURSE_DIR": str(course)}, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return course, solution


def test_every_student_scores_exactly_what_their_answers_deserve(graded):
    course, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, points in EXPECTED.items():
            got = {cell: gradebook.find_grade(cell, LESSON, LESSON, student).score for cell in POINTS}
            result = json.loads((course / "pipeline" / "results" / LESSON / f"{student}.json").read_text())
            assert got == points, f"{student}: {got}, reasons {result['reasons']}"


def test_the_attacks_feedback_holds_no_hidden_test(graded):
    course, solution = graded
    feedback = html.unescape((course / "feedback" / "every_attack" / LESSON / f"{LESSON}.html").read_text())
    assert "THE RUNNING CELL" in feedback  # the attack printed the running cell, and saw nothing of the test
    release = nbformat.read(course / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    visible = "\n".join(cell.source for cell in release.cells)  # a hidden line may repeat a visible one
    leaked = [line for line in hidden_parts(solution) if line in feedback and line not in visible]
    assert not leaked, f"hidden-test lines in the feedback: {leaked[:3]}"
    assert "BEGIN HIDDEN TESTS" not in feedback
    # the tensor that equals anything is refused as data, and the feedback says what came back
    assert "Anything" in feedback, "the feedback does not name the tensor subclass that came back"
