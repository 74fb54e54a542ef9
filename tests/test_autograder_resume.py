"""A grading run that dies midway resumes without losing or double-counting anyone."""

from __future__ import annotations

import json
import time

import nbformat
from nbgrader.api import Gradebook

from support.submissions import fill_answers
from conftest import class_release, run_tool
from test_autograder_class import kernels_of, needs_bwrap
from test_grading_cycle import HALF_RIGHT, LESSON

EXPECTED = {"ann": 10, "ben": 0, "cat": 4, "dan": 10}


def test_a_killed_run_resumes_and_counts_everyone_once(tmp_path):
    needs_bwrap()
    env = {"NNLAB_COURSE_DIR": str(tmp_path)}
    release_dir, release, model = class_release(LESSON, tmp_path)
    correct_two = {key: model[key] for key in ("net_input", "predict")}
    notebooks = {"ann": fill_answers(release, model), "ben": release,
                 "cat": fill_answers(release, {**correct_two, **HALF_RIGHT}), "dan": fill_answers(release, model)}
    for student, notebook in notebooks.items():
        folder = tmp_path / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{LESSON}.ipynb")
    grade = ["python", "-m", "autograder", "grade", LESSON, "--workers=2", "--timeout=90", "--cpu=40",
             f"--release-dir={release_dir}"]
    results = tmp_path / "pipeline" / "results" / LESSON

    killed = run_tool(*grade, "--stop-after=1", env=env)  # dies abruptly after one recorded student
    assert killed.returncode == 75, killed.stdout[-2000:] + killed.stderr[-2000:]
    first = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
    assert len(first) == 1
    for _ in range(20):  # the sandboxes die with the run (bwrap --die-with-parent), in moments
        if not kernels_of(EXPECTED):
            break
        time.sleep(0.5)
    assert kernels_of(EXPECTED) == [], "kernels outlived the killed run"

    resumed = run_tool(*grade, env=env)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "1 already graded, 3 to grade" in resumed.stdout
    final = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
    assert {s: r["score"] for s, r in final.items()} == EXPECTED
    assert all(final[s] == r for s, r in first.items())  # the graded one was not graded again
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        submissions = gradebook.find_assignment(LESSON).submissions
        assert sorted(s.student.id for s in submissions) == sorted(EXPECTED)
        assert {s.student.id: s.score for s in submissions} == {s: v for s, v in EXPECTED.items()}
    assert not list(results.glob("*.tmp"))
