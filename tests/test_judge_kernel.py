"""The judge against a real ipykernel: a small lesson graded end to end, with the hidden tests kept out
of the kernel, a kernel that dies mid-test and one that hangs (issue 14.3). Not sandboxed: the pipeline's
bubblewrap wrapping is tested with the pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.judge.notebook import run_notebook

ROOT = Path(__file__).resolve().parents[1]
MARKER = "HIDDEN-MARKER-8271"


def cell(source, grade_id=None, *, solution=False, points=0, tags=None):
    made = nbformat.v4.new_code_cell(source)
    if grade_id:
        made.metadata["nbgrader"] = {"grade": not solution, "solution": solution, "locked": not solution,
                                     "grade_id": grade_id, "points": points, "schema_version": 3}
    if tags:
        made.metadata["tags"] = tags
    return made


FIXTURES = [
    cell("import numpy as np\nfrom nnlab import check", tags=["fixture"]),
    cell("@check.in_kernel\ndef summed_in_kernel(f):\n    return float(f(np.ones(2)).sum())", tags=["fixture"]),
]

PROBE = f'''
import gc, sys, json, os
def probe():
    """Look everywhere a student could for the hidden test: history, frames, every object."""
    found = []
    for name, value in list(globals().items()):
        if "{MARKER[:6]}" + "{MARKER[6:]}" in repr(value)[:100000]:
            found.append("global " + name)
    frame = sys._getframe()
    while frame is not None:
        if "{MARKER[:6]}" + "{MARKER[6:]}" in repr(frame.f_locals)[:100000] or "{MARKER[:6]}" + "{MARKER[6:]}" in frame.f_code.co_filename:
            found.append("frame " + frame.f_code.co_name)
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, str) and "{MARKER[:6]}" + "{MARKER[6:]}" in obj:
            found.append("object")
            break
    with open("probe.json", "w") as file:
        json.dump(found, file)
    return len(found)
'''


def lesson(answers: dict[str, str]):
    cells = FIXTURES + [
        cell(answers["double"], "double", solution=True),
        cell("from nnlab import check\n"
             "check.close('double([1, 2])', double(np.array([1.0, 2.0])), [2.0, 4.0], hint='multiply by 2')\n"
             "print('visible part passed')\n"
             "### BEGIN HIDDEN TESTS\n"
             f"secret = '{MARKER}'\n"
             "check.close('double on a range', double(np.arange(3.0)), np.arange(3.0) * 2)\n"
             "check.true('through a kernel-side fixture', summed_in_kernel(double) == 4.0, 'sum of double(ones(2))')\n"
             "### END HIDDEN TESTS", "double_tests", points=2),
        cell(answers["probe"], "probe", solution=True),
        cell(f"from nnlab import check\n### BEGIN HIDDEN TESTS\nhidden_name = '{MARKER}'\n"
             "check.equal('probe()', probe(), 0)\n### END HIDDEN TESTS", "probe_tests", points=1),
        cell(answers["trouble"], "trouble", solution=True),
        cell("trouble()\nprint('after the trouble')", "trouble_tests", points=1),
        cell("from nnlab import check\ncheck.close('double again', double(1.0), 2.0)", "later_tests", points=1),
        cell("with open('history.txt', 'w') as f:\n    f.write(repr(In) + repr(Out) + repr(sorted(globals())))"),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


SOLVED = {"double": "def double(x):\n    return 2 * np.asarray(x)", "probe": PROBE,
          "trouble": "def trouble():\n    return None"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The solved lesson, graded once in a real kernel."""
    scratch = tmp_path_factory.mktemp("solved")
    reference = lesson(SOLVED)
    started = time.monotonic()
    executed, report = run_notebook(reference, reference, reference, scratch=scratch, wall_s=240)
    return scratch, executed, report, time.monotonic() - started


def test_a_solved_notebook_passes_every_test_through_the_judge(graded):
    _, _, report, _ = graded
    verdicts = report["verdicts"]
    assert {k: v["status"] for k, v in verdicts.items()} == \
        {"double_tests": "passed", "probe_tests": "passed", "trouble_tests": "passed", "later_tests": "passed"}, verdicts
    assert verdicts["double_tests"]["stdout"] == "visible part passed\n"
    assert verdicts["double_tests"]["exchanges"] >= 3, verdicts["double_tests"]  # its three calls of the kernel
    assert report["stopped"] is None and report["judge_notes"] == []


def test_hidden_tests_never_reach_the_kernel(graded):
    scratch, executed, report, _ = graded
    assert (scratch / "home" / "probe.json").read_text() == "[]"  # frames, globals, every object: nothing
    history = (scratch / "home" / "history.txt").read_text()
    assert MARKER not in history and "check.close('double on a range'" not in history
    assert "secret" not in history and "hidden_name" not in history  # not even the names the tests use
    for executed_cell in executed.cells:  # the kernel's outputs hold nothing of the tests
        assert MARKER not in repr(executed_cell.get("outputs", []))


def test_the_release_stub_fails_every_test_with_its_error(tmp_path):
    stub = {name: "def {0}(*args):\n    raise NotImplementedError()".format(name) for name in SOLVED}
    reference = lesson(SOLVED)
    executed, report = run_notebook(lesson(stub), reference, reference, scratch=tmp_path, wall_s=240)
    assert {v["ename"] for v in report["verdicts"].values()} == {"NotImplementedError"}, report["verdicts"]
    assert all(v["status"] == "error" for v in report["verdicts"].values())


def test_a_kernel_that_dies_mid_test_fails_that_test_and_the_rest(tmp_path):
    reference = lesson(SOLVED)
    dying = dict(SOLVED, trouble="import os\ndef trouble():\n    os._exit(3)")
    started = time.monotonic()
    executed, report = run_notebook(lesson(dying), reference, reference, scratch=tmp_path, wall_s=240)
    verdicts = report["verdicts"]
    assert verdicts["double_tests"]["status"] == "passed"
    assert verdicts["trouble_tests"]["status"] == "error" and "kernel stopped" in verdicts["trouble_tests"]["evalue"]
    assert verdicts["later_tests"]["status"] == "error" and "did not run" in verdicts["later_tests"]["evalue"]
    assert report["stopped"] is not None
    assert time.monotonic() - started < 200


def test_a_kernel_that_hangs_is_bounded_by_the_wall_clock(tmp_path):
    reference = lesson(SOLVED)
    hanging = dict(SOLVED, trouble="def trouble():\n    while True:\n        pass")
    wall = 40
    started = time.monotonic()
    executed, report = run_notebook(lesson(hanging), reference, reference, scratch=tmp_path, wall_s=wall)
    elapsed = time.monotonic() - started
    verdicts = report["verdicts"]
    assert verdicts["trouble_tests"]["status"] == "error" and "stopped answering" in verdicts["trouble_tests"]["evalue"]
    assert "did not run" in verdicts["later_tests"]["evalue"]
    assert elapsed < wall + 20, elapsed


def test_verdicts_become_outputs_that_nbgrader_scores(graded):
    from nbgrader.utils import determine_grade

    from autograder.judge import outputs
    _, executed, report, _ = graded
    scored = executed.copy()
    outputs.apply(scored, report["verdicts"])
    grades = {c.metadata["nbgrader"]["grade_id"]: determine_grade(c)[0] for c in scored.cells
              if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"]["solution"]}
    assert grades == {"double_tests": 2.0, "probe_tests": 1.0, "trouble_tests": 1.0, "later_tests": 1.0}
    failing = {"status": "failed", "stdout": "visible\n", "ename": "CheckFailure", "evalue": "double: wrong\n  hint: x2"}
    made = outputs.test_outputs(failing)
    assert [o.output_type for o in made] == ["stream", "error"] and made[1].traceback == ["CheckFailure: double: wrong\n  hint: x2"]
    partial = outputs.test_outputs({"status": "passed", "stdout": "", "result": "0.5"})
    assert partial[0].data == {"text/plain": "0.5"}


def test_the_judges_server_draws_off_screen_without_touching_the_graders_environment(tmp_path, monkeypatch):
    """Its backend is set in the server only: were it set in this process's environment, every process started
    after (a learner's JupyterLab in the browser tests) would inherit it, and their kernels would draw nothing."""
    monkeypatch.delenv("MPLBACKEND", raising=False)
    notebook = nbformat.v4.new_notebook(cells=FIXTURES + [
        cell("def nothing():\n    return None", "nothing", solution=True),
        cell("import matplotlib\nassert matplotlib.get_backend().lower() == 'agg', matplotlib.get_backend()\n"
             "assert nothing() is None", "backend", points=1)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    _, report = run_notebook(notebook, notebook, notebook, scratch=tmp_path, wall_s=120)
    assert report["verdicts"]["backend"]["status"] == "passed", report["verdicts"]["backend"]
    assert "MPLBACKEND" not in os.environ, f"the grader's environment gained MPLBACKEND={os.environ['MPLBACKEND']}"


def test_a_judge_does_not_rerun_the_graders_main_script(tmp_path):
    """multiprocessing re-runs the parent's main script in each child unless told otherwise; a grading script
    that imports nbgrader (the grading benchmark) paid seconds per student's judge for it."""
    runs = tmp_path / "runs.txt"
    script = tmp_path / "grade_my_class.py"
    script.write_text(f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
with open({str(runs)!r}, "a") as file:
    file.write("ran\\n")  # what an expensive import at the top of a script costs, made visible
from autograder.judge.process import JudgeProcess

if __name__ == "__main__":
    for _ in range(2):
        judge = JudgeProcess(["x = 1"], {{}})
        judge.start(timeout=120)
        judge.close()
    print("judged")
""")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0 and "judged" in done.stdout, done.stderr[-2000:]
    assert runs.read_text().count("ran") == 1, f"the script ran {runs.read_text().count('ran')} times, expected once"
