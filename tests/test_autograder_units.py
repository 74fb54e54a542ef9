"""The grading pipeline's parts, one at a time, without kernels: restore, policy, verdict, sandbox…"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from autograder import policy, restore, sandbox, submission, summary, verdict
from autograder.limits import Limits
from conftest import ROOT, release_path, solution_path

LESSON = "02_perceptron"


@pytest.fixture(scope="module")
def release():
    return nbformat.read(release_path(LESSON), as_version=4)


@pytest.fixture(scope="module")
def reference(release):
    solution = nbformat.read(solution_path(LESSON), as_version=4)
    tests = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
             if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}
    return restore.with_hidden_tests(release, tests)


def cell_by_id(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


# -- reading and restoring -----------------------------------------------------------------------

def test_unreadable_files_are_refused_with_a_reason():
    with pytest.raises(restore.Unreadable, match="not valid JSON"):
        restore.read(b'{"cells": [')
    with pytest.raises(restore.Unreadable, match="not a Jupyter notebook"):
        restore.read(b'[1, 2]')
    with pytest.raises(restore.Unreadable, match="not valid JSON"):
        restore.read(b"\xff\xfe")


def test_an_nbformat_3_notebook_is_upgraded(release):
    old = nbformat.writes(nbformat.convert(copy.deepcopy(release), 3), version=3).encode()
    notebook, notes = restore.read(old)
    assert notebook.nbformat == 4 and notes == ["upgraded from nbformat 3 to 4"]


def test_test_cells_come_back_with_hidden_tests_and_metadata(release, reference):
    student = copy.deepcopy(release)
    cell_by_id(student, "net_input_tests").source = "pass"
    cell_by_id(student, "predict_tests").metadata.nbgrader["points"] = 100
    student.cells.remove(cell_by_id(student, "update_step_tests"))
    cell_by_id(student, "net_input").source = "def net_input(X, w, T):\n    return 0"
    cell_by_id(student, "net_input").metadata.nbgrader["points"] = 7
    cell_by_id(student, "net_input").outputs = [nbformat.v4.new_output("stream", text="fake")]
    restored, notes = restore.restore(student, reference, release)
    assert "BEGIN HIDDEN TESTS" in cell_by_id(restored, "net_input_tests").source
    assert cell_by_id(restored, "predict_tests").metadata.nbgrader["points"] == 2
    assert cell_by_id(restored, "net_input").source.endswith("return 0")
    assert "points" not in cell_by_id(restored, "net_input").metadata.nbgrader
    assert cell_by_id(restored, "net_input").outputs == []
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in restored.cells]
    assert ids.index("update_step_tests") == ids.index("update_step") + 1  # back in its place
    assert notes == ["grading metadata of answer 'net_input' restored", "edited cell 'net_input_tests' restored",
                     "grading metadata of 'predict_tests' restored", "missing cell 'update_step_tests' put back"]


def test_a_duplicated_or_unknown_grade_id_is_an_ordinary_cell(release, reference):
    student = copy.deepcopy(release)
    copy_of_test = copy.deepcopy(cell_by_id(student, "net_input_tests"))
    student.cells.insert(0, copy.deepcopy(copy_of_test))
    copy_of_test.metadata.nbgrader["grade_id"] = "bonus"
    student.cells.append(copy_of_test)
    restored, notes = restore.restore(student, reference, release)
    graded = [c.metadata["nbgrader"]["grade_id"] for c in restored.cells if "nbgrader" in c.metadata]
    assert graded.count("net_input_tests") == 1 and "bonus" not in graded
    assert "cell claiming grade id 'bonus' graded as an ordinary cell" in notes


# -- the policy ----------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "from nnlab import check\ncheck.close = lambda *a, **k: None",
    "import numpy as np\nnp.testing.assert_allclose = print",
    "np.any = lambda x: False",
    "setattr(check, 'equal', print)",
    "import builtins",
    "AssertionError = Warning",
    "def range(n):\n    return []",
    "exec('x = 1')",
    "get_ipython().showtraceback = print",
    "import sys\nsys.modules['nnlab.check'] = None",
    "check.__dict__['close'] = print",
    "import ctypes",
])
def test_tampering_is_refused(code, reference):
    instructor = [c.source for c in reference.cells if c.cell_type == "code"]
    assert policy.violations([code], instructor), code


@pytest.mark.parametrize("code", [
    "def net_input(X, w, T):\n    return np.asarray(X, dtype=float) @ np.asarray(w, dtype=float) - T",
    "class AlwaysEqual:\n    def __eq__(self, other):\n        return True",
    "import numpy as np\nfrom nnlab import check",
    "w = np.zeros(3)\nw[0] = 1\nresult = {}\nresult['a'] = w",
    "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",
    "def f(:",  # a syntax error is the student's loss, not tampering
])
def test_ordinary_code_passes_the_policy(code, reference):
    instructor = [c.source for c in reference.cells if c.cell_type == "code"]
    assert policy.violations([code], instructor) == [], code


@pytest.mark.parametrize("code", [
    "def f(:",
    "x = " + " + ".join(["1"] * 3000),    # the parser recurses: RecursionError, not SyntaxError
    "x = " + " + ".join(["1"] * 2000),    # parses, and is scanned without recursion
    "x = " + "-" * 100_000 + "1",           # the parser's stack overflows: MemoryError
    "x = a" + ".b" * 50_000,
    "x = 1\0",
])
def test_hostile_source_is_scanned_or_skipped_never_crashes_the_grader(code, reference):
    instructor = [c.source for c in reference.cells if c.cell_type == "code"]
    assert policy.violations([code], instructor) == []


# Honest code the lessons teach, each once zeroed by the scan: (lesson whose instructor code applies, answer).
IDIOMS = {
    "lesson 09's own hint": ("09_regularization", "def smoothed(q, y, eps):\n    n = len(y)\n"
                             "    q = np.full((n, 3), eps / 3)\n    q[np.arange(n), y] = 1 - eps + eps / 3\n    return q"),
    "one-hot (lesson 05)": ("05_loss_functions", "def one_hot(y, K):\n    n = len(y)\n    out = np.zeros((n, K))\n"
                            "    out[np.arange(n), y] = 1\n    return out"),
    "a distance diagonal (lesson 15)": ("15_common_problems", "m = 4\ndist = np.zeros((m, m))\n"
                                         "dist[np.arange(m), np.arange(m)] = np.inf"),
    "a module attribute in a slice": ("02_perceptron", "table = {}\ntable[np.pi] = 1\nrows = [[0]]\nrows[0][np.newaxis or 0] = 2"),
    "a device variable (lesson 08)": ("08_numpy_to_pytorch", "import torch\ndevice = torch.device('cpu')"),
    "a device variable (lesson 12)": ("12_cnn", "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')"),
    "a loop variable named check": ("02_perceptron", "for check in ['a', 'b']:\n    print(check)"),
    "check as a local": ("07_backpropagation", "def train(checks):\n    for check in checks:\n        check.done = True"),
    "np as a parameter": ("02_perceptron", "def f(np, out):\n    np.value = 1\n    out[np.value] = 2\n    return out"),
    "a closure over a local": ("02_perceptron", "def outer():\n    check = type('C', (), {})()\n"
                               "    def inner():\n        check.hit = 1\n    return inner"),
    "an attribute of an object": ("08_numpy_to_pytorch", "class MLP(nn.Module):\n    def __init__(self):\n"
                                  "        super().__init__()\n        self.fc = nn.Linear(2, 2)\n"
                                  "model = MLP()\nmodel.fc.weight.data[:, 0] = torch.zeros(2)"),
}


@pytest.mark.parametrize("name", IDIOMS)
def test_idioms_a_lesson_teaches_are_not_tampering(name):
    lesson, code = IDIOMS[name]
    notebook = nbformat.read(solution_path(lesson), as_version=4)
    instructor = [c.source for c in notebook.cells if c.cell_type == "code" and not restore.is_answer(c)]
    tests = [c.source for c in notebook.cells if c.cell_type == "code"
             and c.metadata.get("nbgrader", {}).get("grade") and not restore.is_answer(c)]
    assert policy.violations([code], instructor, tests) == [], name


@pytest.mark.parametrize("code, why", [
    ("def f():\n    from nnlab import check\n    check.close = print", "changes check.close"),
    ("check.TABLE['close'] = print", "changes check.TABLE"),
    ("np.testing.extra = 1", "changes np.testing.extra"),
    ("for np in [None]:\n    pass", "redefines np"),
    ("def f():\n    global np\n    np = None", "declares global np"),
    ("def f():\n    def g():\n        np.allclose = print", "changes np.allclose"),
    ("a, np.isclose = 1, print", "changes np.isclose"),
])
def test_tampering_in_nested_scopes_and_tuples_is_still_refused(code, why, reference):
    instructor = [c.source for c in reference.cells if c.cell_type == "code"]
    tests = [c.source for c in reference.cells if c.cell_type == "code"
             and c.metadata.get("nbgrader", {}).get("grade") and not restore.is_answer(c)]
    found = policy.violations([code], instructor, tests)
    assert any(why in f for f in found), (code, found)


def test_a_module_name_every_test_cell_imports_itself_may_be_rebound(reference):
    tests = ["from nnlab import check\ncheck.true('x', True)"]
    assert policy.violations(["check = 3"], ["from nnlab import check"], tests) == []
    assert policy.violations(["check = 3"], ["from nnlab import check"], ["check.true('x', True)"]) \
        == ["redefines check (line 1)"]


# -- verdicts ------------------------------------------------------------------------------------

def test_a_verdict_drops_stderr_hides_tracebacks_and_marks_tests_that_did_not_run(reference):
    executed = copy.deepcopy(reference)
    index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(executed.cells)}
    executed.cells[index["net_input_tests"]].outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noise"),
        nbformat.v4.new_output("stream", name="stdout", text="✓ net_input passes the visible checks\n")]
    executed.cells[index["predict_tests"]].outputs = [nbformat.v4.new_output(
        "error", ename="CheckFailure", evalue="predict: values are not right",
        traceback=["hidden = np.random.default_rng(2022)", "CheckFailure: predict: values are not right"])]
    executed.cells[index["update_step_tests"]].outputs = []  # the kernel said "error" but showed nothing
    replies = {str(index["net_input_tests"]): "ok", str(index["predict_tests"]): "error",
               str(index["update_step_tests"]): "error"}
    report = {"replies": replies, "stopped": {"reason": "timeout", "cell": index["sign_update"]}}
    graded = verdict.for_nbgrader(executed, report, wall_s=60)
    outputs = {g: graded.cells[i].outputs for g, i in index.items() if g and graded.cells[i].cell_type == "code"}
    assert [o.output_type for o in outputs["net_input_tests"]] == ["stream"]
    assert outputs["predict_tests"][-1].traceback == ["CheckFailure: predict: values are not right"]
    assert "hidden" in outputs["update_step_tests"][-1].evalue
    assert "ran out of time" in outputs["sign_update_tests"][-1].evalue
    assert verdict.reasons(executed, report)[0][0] == "timeout"


@pytest.mark.parametrize("status, key", [(-11, "kernel-crash"), (139, "kernel-crash"), (-24, "cpu-limit"),
                                         (3, "kernel-exit"), (-9, "kernel-crash")])
def test_exit_statuses_are_named(status, key):
    assert verdict.exit_key(status) == key


# -- submissions, sandbox, summary -------------------------------------------------------------------

def test_a_submission_folder_is_read_for_its_notebook(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "final version.ipynb").write_text("{}")
    (tmp_path / "a" / "notes.txt").write_text("x")
    found = submission.find("a", tmp_path / "a", f"{LESSON}.ipynb")
    assert found.notebook.name == "final version.ipynb"
    assert any("renamed" in n for n in found.notes) and any("notes.txt" in n for n in found.notes)
    (tmp_path / "b").mkdir()
    assert submission.find("b", tmp_path / "b", f"{LESSON}.ipynb").notebook is None


def test_the_sandbox_never_mounts_the_repository_or_the_course(tmp_path):
    mounted = sandbox.readable_paths([ROOT, tmp_path])
    for path in mounted:
        assert not (ROOT / "solutions").resolve().is_relative_to(Path(path).resolve()), path
        assert not tmp_path.resolve().is_relative_to(Path(path).resolve()), path


def test_the_kernel_command_has_every_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap", lambda: "/usr/bin/bwrap")
    command = sandbox.kernel_command(["python"], tmp_path, [ROOT], Limits(), 61000, True)
    joined = " ".join(command)
    for part in ("--as=", "--cpu=", "--nproc=", "--fsize=", "--unshare-net", "--unshare-pid",
                 "--die-with-parent", "--clearenv", f"--bind {tmp_path} {tmp_path}", "--reuid=61000"):
        assert part in joined, part
    assert command[-1] == "python"


def test_without_bubblewrap_the_pipeline_says_so_and_refuses(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxMissing, match="--no-sandbox"):
        sandbox.require_bwrap()


def test_the_summary_table():
    results = [{"student": "a", "score": 10, "max_score": 10, "reasons": []},
               {"student": "b", "score": 4, "max_score": 10, "reasons": [{"key": "timeout", "detail": ""}]}]
    text = summary.table(results)
    assert "students: 2" in text and "mean:     7.00 / 10" in text and "timeout" in text
    json.dumps(results)


def test_collect_from_a_folder_and_from_an_lms_zip(tmp_path, monkeypatch):
    import zipfile

    from autograder import collect
    folder = tmp_path / "incoming"
    (folder / "bo").mkdir(parents=True)
    (folder / "al.ipynb").write_bytes(release_path(LESSON).read_bytes())
    (folder / "bo" / "mine.ipynb").write_bytes(release_path(LESSON).read_bytes())
    (folder / "README.txt").write_text("not a student")
    course = tmp_path / "course"
    assert collect.from_folder(folder, course, LESSON).students == ["al", "bo"]
    assert (course / "submitted" / "al" / LESSON / f"{LESSON}.ipynb").exists()
    assert (course / "submitted" / "bo" / LESSON / "mine.ipynb").exists()

    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(release_path(LESSON), f"x_cy_attempt_2024-01-02-10-00-00_{LESSON}.ipynb")
    monkeypatch.setenv("NNLAB_COURSE_DIR", str(course))
    monkeypatch.setenv("PATH", f"{Path(__import__('sys').executable).parent}:{__import__('os').environ['PATH']}")
    collect.from_zip(archive, course, LESSON)
    assert (course / "submitted" / "cy" / LESSON / f"{LESSON}.ipynb").exists()
    assert (course / "submitted" / "cy" / LESSON / "timestamp.txt").exists()
