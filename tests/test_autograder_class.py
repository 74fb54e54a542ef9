"""The grading pipeline on a hostile class: every bad submission next to correct ones.

One class of the real 02_perceptron lesson is graded once (module fixture) with the real command
(`python -m autograder grade`), real nbgrader, real kernels and real bubblewrap, in a temporary
course folder. Then: the exact score and reason of every student, what the sandbox blocked, the
feedback, the summary, and that grading again changes nothing.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.submissions import fill_answers
from conftest import ROOT, class_release, run_tool, solution_path
from test_grading_cycle import HALF_RIGHT, LESSON

TESTS = ["net_input_tests", "predict_tests", "update_step_tests", "sign_update_tests", "train_perceptron_tests"]
LIMITS = ["--workers=2", "--timeout=75", "--cpu=30", "--memory=3"]


def needs_bwrap():
    """Isolation tests need bubblewrap: missing in CI is a failure, elsewhere a skip with the reason."""
    if shutil.which("bwrap"):
        return
    message = "bubblewrap (bwrap) is not installed: the sandbox cannot be tested (apt-get install bubblewrap)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def body(answer: str, extra: str, model: dict) -> str:
    """The model answer of ``answer`` with ``extra`` run first inside the function (after its docstring)."""
    function = next(n for n in ast.parse(model[answer]).body if isinstance(n, ast.FunctionDef))
    first = function.body[0]
    after = first.end_lineno if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
        else first.lineno - 1
    lines = model[answer].splitlines()
    return "\n".join(lines[:after] + ["    " + e for e in extra.splitlines()] + lines[after:])


def plant(release, model, port: int, course: Path) -> dict:
    """student -> (notebook or raw bytes or None, files) for every planted case."""
    correct_two = {key: model[key] for key in ("net_input", "predict")}
    sneaky = model["net_input"] + f'''
import socket, sys, warnings
warnings.warn("a warning on stderr must not cost points")
print("noise on stderr", file=sys.stderr)
def _attempt(what, action):
    try:
        action()
        print(f"ESCAPED: {{what}}")
    except Exception as error:
        print(f"BLOCKED: {{what}}: {{type(error).__name__}}")
_attempt("read the solutions", lambda: open({str(solution_path(LESSON))!r}).read())
_attempt("write the gradebook", lambda: open({str(course / "gradebook.db")!r}, "ab").write(b"x"))
_attempt("read another submission", lambda: open({str(course / "submitted/alice" / LESSON / (LESSON + ".ipynb"))!r}).read())
_attempt("write the repository", lambda: open({str(ROOT / "autograder" / "escaped.txt")!r}, "w").write("x"))
_attempt("reach the host", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
_attempt("reach the internet", lambda: socket.create_connection(("1.1.1.1", 53), timeout=3))
'''
    always_equal = {
        "net_input": "class AlwaysEqual:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
                     "def net_input(X, w, T):\n    return AlwaysEqual()",
        "predict": "def predict(X, w, T):\n    return AlwaysEqual()",
        "update_step": "def update_step(w, x, d, T, eta=1.0):\n    return AlwaysEqual()",
        "sign_update": "def sign_update(w, x, y):\n    return AlwaysEqual()",
        "train_perceptron": "def train_perceptron(X, d, T=0.0, eta=1.0, max_epochs=100):\n    return AlwaysEqual(), [AlwaysEqual()]",
    }
    with_train = lambda extra: fill_answers(release, {**model, "train_perceptron": body("train_perceptron", extra, model)})
    edited_tests = fill_answers(release, {})
    for cell in list(edited_tests.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "net_input_tests":
            cell.source = 'print("✓ all good")'
        elif grade_id == "predict_tests":
            edited_tests.cells.remove(cell)
        elif grade_id == "update_step_tests":
            cell.metadata.nbgrader["grade_id"], cell.source = "bonus", "pass"
        elif grade_id == "sign_update_tests":
            del cell.metadata["nbgrader"]
            cell.source = "pass"
    edited_meta = fill_answers(release, {**correct_two, **HALF_RIGHT})
    for cell in edited_meta.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta.update(points=100, locked=False)
        if meta.get("grade_id") == "net_input":
            meta.update(grade=True, points=50)
    v3 = nbformat.writes(nbformat.convert(fill_answers(release, model), 3), version=3).encode()
    return {
        "alice": (fill_answers(release, model), {}),
        "carol": (fill_answers(release, {**correct_two, **HALF_RIGHT}), {}),
        "broken_json": (b'{"cells": [', {}),
        "old_and_renamed": (None, {"my perceptron (final).ipynb": v3}),
        "missing": (None, {"notes.txt": b"I forgot the notebook"}),
        "extra_files": (fill_answers(release, {**correct_two, **HALF_RIGHT}),
                        {"nnlab/__init__.py": b"", "nnlab/check.py": b"def close(*a, **k): pass\nequal = true = close\n",
                         "data/big.bin": b"\0" * (1 << 20)}),
        "looper": (with_train("while True:\n    pass"), {}),
        "sleeper": (with_train("import time\ntime.sleep(10 ** 6)"), {}),
        "memory_bomb": (fill_answers(release, {**model, "sign_update": body(
            "sign_update", "hog = []\nwhile True:\n    hog.append(bytearray(1 << 26))", model)}), {}),
        "fork_bomb": (with_train("import os\nwhile True:\n    os.fork()"), {}),
        "sys_exit": (fill_answers(release, {**model, "update_step": model["update_step"] + "\nimport sys\nsys.exit('bye')"}), {}),
        "os_exit": (with_train("import os\nos._exit(3)"), {}),
        "segfault": (with_train("import faulthandler\nfaulthandler._sigsegv()"), {}),
        "edited_tests": (edited_tests, {}),
        "edited_metadata": (edited_meta, {}),
        "always_equal": (fill_answers(release, always_equal), {}),
        "patches_check": (fill_answers(release, {"net_input": "from nnlab import check\n"
                          "check.close = check.equal = check.true = lambda *a, **k: None"}), {}),
        "patches_numpy_testing": (fill_answers(release, {"net_input": "import numpy.testing\n"
                                  "np.testing.assert_allclose = lambda *a, **k: None"}), {}),
        "redefines_assertion": (fill_answers(release, {"net_input": "import builtins\n"
                                "builtins.AssertionError = Warning\nAssertionError = Warning"}), {}),
        "output_flood": (fill_answers(release, {**model, "net_input": model["net_input"]
                         + "\nfor _ in range(200_000):\n    print('flood ' * 50)"}), {}),
        "sneaky": (fill_answers(release, {**model, "net_input": sneaky}), {}),
    }


ALL_BUT_TRAIN = {**dict.fromkeys(TESTS, 2), "train_perceptron_tests": 0}
EXPECTED = {  # student -> (points per test cell, the reason keys the run must report)
    "alice": (dict.fromkeys(TESTS, 2), set()),
    "carol": ({**dict.fromkeys(TESTS, 0), "net_input_tests": 2, "predict_tests": 2}, {"tests-failed"}),
    "broken_json": (dict.fromkeys(TESTS, 0), {"unreadable-notebook"}),
    "old_and_renamed": (dict.fromkeys(TESTS, 2), set()),
    "missing": (dict.fromkeys(TESTS, 0), {"missing-notebook"}),
    "extra_files": ({**dict.fromkeys(TESTS, 0), "net_input_tests": 2, "predict_tests": 2}, {"tests-failed"}),
    "looper": (ALL_BUT_TRAIN, {"cpu-limit", "timeout"}),          # whichever bound comes first
    "sleeper": (ALL_BUT_TRAIN, {"timeout"}),
    "memory_bomb": ({**dict.fromkeys(TESTS, 2), "sign_update_tests": 0}, {"memory-limit"}),
    "fork_bomb": (ALL_BUT_TRAIN, {"process-limit"}),
    "sys_exit": (dict.fromkeys(TESTS, 2), {"sys-exit"}),
    "os_exit": (ALL_BUT_TRAIN, {"kernel-exit"}),
    "segfault": (ALL_BUT_TRAIN, {"kernel-crash"}),
    "edited_tests": (dict.fromkeys(TESTS, 0), {"tests-failed"}),
    "edited_metadata": ({**dict.fromkeys(TESTS, 0), "net_input_tests": 2, "predict_tests": 2}, {"tests-failed"}),
    "always_equal": (dict.fromkeys(TESTS, 0), {"tests-failed"}),
    "patches_check": (dict.fromkeys(TESTS, 0), {"tampering"}),
    "patches_numpy_testing": (dict.fromkeys(TESTS, 0), {"tampering"}),
    "redefines_assertion": (dict.fromkeys(TESTS, 0), {"tampering"}),
    "output_flood": (dict.fromkeys(TESTS, 2), {"output-flood"}),
    "sneaky": (dict.fromkeys(TESTS, 2), set()),
}


class Listener:
    """A TCP server on the host's loopback that records whether anyone connected."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                self.server.accept()[0].close()
                self.connections += 1
            except OSError:
                continue

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    needs_bwrap()
    course = tmp_path_factory.mktemp("hostile_course")
    env = {"NNLAB_COURSE_DIR": str(course)}
    release_dir, release, model = class_release(LESSON, course)
    listener = Listener()
    incoming = course / "incoming"
    for student, (notebook, files) in plant(release, model, listener.port, course).items():
        folder = incoming / student
        folder.mkdir(parents=True)
        if isinstance(notebook, bytes):
            (folder / f"{LESSON}.ipynb").write_bytes(notebook)
        elif notebook is not None:
            nbformat.write(notebook, folder / f"{LESSON}.ipynb")
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    (incoming / "extra_files" / "solutions").symlink_to(ROOT / "solutions")
    run = run_tool("python", "-m", "autograder", "grade", LESSON, incoming, *LIMITS,
                   f"--release-dir={release_dir}", env=env, timeout=1200)
    listener.close()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    yield course, run.stdout, listener, release_dir


def results(course: Path) -> dict:
    folder = course / "pipeline" / "results" / LESSON
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def test_every_student_gets_exactly_the_expected_score_and_reason(graded):
    course = graded[0]
    found = results(course)
    assert sorted(found) == sorted(EXPECTED)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, (points, reasons) in EXPECTED.items():
            got = {cell: gradebook.find_grade(cell, LESSON, LESSON, student).score for cell in TESTS}
            assert got == points, f"{student}: {got} {found[student]['reasons']}"
            keys = {r["key"] for r in found[student]["reasons"]}
            if student in ("looper",):
                assert keys and keys <= reasons, f"{student}: {found[student]['reasons']}"
            else:
                assert keys == reasons, f"{student}: {found[student]['reasons']}"
            assert found[student]["score"] == sum(points.values())


def test_notes_say_what_was_repaired(graded):
    notes = {student: " | ".join(r["notes"]) for student, r in results(graded[0]).items()}
    assert "upgraded from nbformat 3" in notes["old_and_renamed"]
    assert "renamed notebook" in notes["old_and_renamed"]
    assert "extra files ignored" in notes["extra_files"] and "nnlab/check.py" in notes["extra_files"]
    assert "edited cell 'net_input_tests' restored" in notes["edited_tests"]
    assert "missing cell 'predict_tests' put back" in notes["edited_tests"]
    assert "missing cell 'sign_update_tests' put back" in notes["edited_tests"]
    assert "grading metadata" in notes["edited_metadata"]


def test_the_sandbox_blocked_every_escape(graded):
    course, _, listener, _ = graded
    feedback = (course / "feedback" / "sneaky" / LESSON / f"{LESSON}.html").read_text()
    for attempt in ("read the solutions", "write the gradebook", "read another submission",
                    "write the repository", "reach the host", "reach the internet"):
        assert f"BLOCKED: {attempt}" in feedback, attempt
        assert f"ESCAPED: {attempt}" not in feedback, attempt
    assert listener.connections == 0
    assert not (ROOT / "autograder" / "escaped.txt").exists()


def kernels_of(students) -> list[str]:
    """Running kernels of these students (a kernel's command names its scratch folder, by student)."""
    rows = run_tool("ps", "-eo", "pid,args").stdout.splitlines()
    return [row for row in rows if any(f"/{student}/conn/kernel.json" in row for student in students)]


def test_no_sandboxed_process_survives_the_run(graded):
    assert kernels_of(EXPECTED) == []


def test_feedback_explains_failures_without_hidden_test_code(graded):
    course = graded[0]
    feedback = {s: (course / "feedback" / s / LESSON / f"{LESSON}.html").read_text() for s in EXPECTED}
    assert "values are not right" in feedback["carol"]               # nnlab.check's message…
    assert "the learning rate scales the step" in feedback["carol"]  # …with its hint
    assert "hidden = np.random.default_rng" not in feedback["carol"]  # but no hidden test code
    assert "BEGIN HIDDEN TESTS" not in feedback["carol"]
    assert "expected numbers" in feedback["always_equal"]
    assert "ran out of time" in feedback["sleeper"]
    assert "segmentation fault" in feedback["segfault"]
    assert "could not be read" in feedback["broken_json"]
    assert "tampers with the grading" in feedback["patches_check"]
    report = (course / "feedback" / "segfault" / LESSON / "grading_report.txt").read_text()
    assert "kernel-crash" in report and "train_perceptron_tests: 0" in report


def test_the_summary_counts_students_mean_and_reasons(graded):
    out = graded[1]
    assert f"students: {len(EXPECTED)}" in out
    mean = sum(sum(points.values()) for points, _ in EXPECTED.values()) / len(EXPECTED)
    assert f"mean:     {mean:.2f} / 10" in out
    assert "tampering                 3" in out
    assert "[ 21/21]" in out  # progress lines


def test_grading_again_changes_nothing_and_duplicates_nothing(graded):
    course, _, _, release_dir = graded
    before = results(course)
    again = run_tool("python", "-m", "autograder", "grade", LESSON, *LIMITS, f"--release-dir={release_dir}",
                     env={"NNLAB_COURSE_DIR": str(course)})
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{len(EXPECTED)} already graded, 0 to grade" in again.stdout
    assert results(course) == before
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert len(gradebook.find_assignment(LESSON).submissions) == len(EXPECTED)


def test_export_writes_one_row_per_student(graded):
    course = graded[0]
    export = run_tool("python", "-m", "autograder", "export", course / "grades.csv",
                      env={"NNLAB_COURSE_DIR": str(course)})
    assert export.returncode == 0, export.stderr[-2000:]
    rows = (course / "grades.csv").read_text().splitlines()
    assert len(rows) == 1 + len(EXPECTED)
