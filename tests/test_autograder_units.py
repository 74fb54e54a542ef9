"""The grading pipeline's parts, one at a time, without kernels: intake, restore, verdict, sanitiser…"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import nbformat
import pytest

from autograder import bounds, cells, intake, restore, sandbox, sanitise, submission, summary, verdict
from autograder.execute import Execution
from autograder.limits import Limits
from autograder.outcomes import Reason, Stop, exit_stop
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


# -- reading: bounded, refused with a reason -----------------------------------------------------------

@pytest.mark.parametrize("data, reason, words", [
    (b'{"cells": [', Reason.UNREADABLE, "not valid JSON"),
    (b"[1, 2]", Reason.UNREADABLE, "not a Jupyter notebook"),
    (b"\xff\xfe", Reason.UNREADABLE, "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, Reason.REFUSED, "nests deeper"),
    (b'{"nbformat": 4, "x": ' + b"[" * 70 + b"0" + b"]" * 70 + b"}", Reason.REFUSED, "nests deeper"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                 "cells": [{"cell_type": "raw", "metadata": {}, "source": ""}] * 100_000}).encode(),
     Reason.REFUSED, "100000 cells"),
    (json.dumps({"nbformat": "4", "cells": []}).encode(), Reason.UNREADABLE, "nbformat '4'"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": 3}]}).encode(),
     Reason.UNREADABLE, "structure is broken"),
])
def test_unreadable_or_oversized_notebooks_are_refused_with_a_reason(data, reason, words):
    with pytest.raises(intake.Refused, match=words) as refused:
        intake.parse(data, Limits())
    assert refused.value.reason is reason


def test_a_file_is_read_only_when_it_is_a_small_regular_file(tmp_path):
    big = tmp_path / "big.ipynb"
    with open(big, "wb") as file:
        file.truncate(200 << 20)  # 200 MB, sparse: refused from its size, never read
    with pytest.raises(intake.Refused, match="200.0 MiB") as refused:
        intake.read_file(big, Limits().notebook_bytes)
    assert refused.value.reason is Reason.REFUSED
    (tmp_path / "zero.ipynb").symlink_to("/dev/zero")
    with pytest.raises(intake.Refused, match="symbolic link"):
        intake.read_file(tmp_path / "zero.ipynb", 1 << 20)
    os.mkfifo(tmp_path / "fifo.ipynb")
    with pytest.raises(intake.Refused, match="not a regular file"):
        intake.read_file(tmp_path / "fifo.ipynb", 1 << 20)  # and does not block
    (tmp_path / "ok.ipynb").write_bytes(b"{}")
    assert intake.read_file(tmp_path / "ok.ipynb", 1 << 20) == b"{}"


def test_an_nbformat_3_notebook_is_upgraded(release):
    old = nbformat.writes(nbformat.convert(copy.deepcopy(release), 3), version=3).encode()
    notebook, notes = intake.parse(old)
    assert notebook.nbformat == 4 and notes == ["upgraded from nbformat 3 to 4"]


# -- nbgrader's cell predicates, on hostile metadata ----------------------------------------------------

@pytest.mark.parametrize("claim", ["a string", ["a", "list"], 7, None, {"grade_id": ["x"], "grade": "yes"},
                                   {"grade_id": 3, "points": "lots", "solution": 1}])
def test_cell_predicates_read_a_bad_claim_as_no_claim(claim):
    cell = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": claim})
    assert cells.meta(cell) == (claim if isinstance(claim, dict) else {})
    assert cells.grade_id(cell) is None and not cells.is_test(cell) and not cells.is_answer(cell)


@pytest.mark.parametrize("points, expected", [(2, 2.0), ("3", 3.0), ("inf", 0.0), (-1, 0.0), (True, 0.0),
                                              ("nan", 0.0), ([1], 0.0)])
def test_points_are_a_finite_number_or_nothing(points, expected):
    cell = nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade": True, "points": points}})
    assert cells.points(cell) == expected


# -- restoring -----------------------------------------------------------------------------------------

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


@pytest.mark.parametrize("claim", ["string", ["list"], {"grade_id": ["predict_tests"], "grade": True, "points": 99},
                                   {"grade_id": 42, "locked": True, "checksum": "0" * 32, "schema_version": 99}])
def test_bad_grading_metadata_never_reaches_nbgrader(claim, release, reference):
    student = copy.deepcopy(release)
    cell_by_id(student, "predict_tests").metadata["nbgrader"] = claim
    student.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": claim}))
    restored, notes = restore.restore(student, reference, release)
    assert all(cells.grade_id(c) or "nbgrader" not in c.metadata for c in restored.cells)
    assert cell_by_id(restored, "predict_tests").metadata.nbgrader == cell_by_id(reference, "predict_tests").metadata.nbgrader
    assert "missing cell 'predict_tests' put back" in notes


# -- verdicts ------------------------------------------------------------------------------------

def executed(reference, outputs: dict, replies: dict, stop=None):
    notebook = copy.deepcopy(reference)
    index = {cells.grade_id(c): i for i, c in enumerate(notebook.cells)}
    for grade_id, outs in outputs.items():
        notebook.cells[index[grade_id]].outputs = outs
    return Execution(notebook, {index[g]: r for g, r in replies.items()}, stop), index


def test_a_verdict_drops_stderr_hides_tracebacks_and_marks_tests_that_did_not_run(reference):
    run, index = executed(reference, {
        "net_input_tests": [nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noise"),
                            nbformat.v4.new_output("stream", name="stdout", text="✓ net_input passes the visible checks\n")],
        "predict_tests": [nbformat.v4.new_output(
            "error", ename="CheckFailure", evalue="predict: values are not right",
            traceback=["hidden = np.random.default_rng(2022)", "CheckFailure: predict: values are not right"])],
        "update_step_tests": []},  # the kernel said "error" but showed nothing
        {"net_input_tests": "ok", "predict_tests": "error", "update_step_tests": "error"})
    run.stop = Stop(Reason.TIMEOUT, index["sign_update"], "limit 60 s for the whole notebook")
    graded, notes = verdict.for_nbgrader(run)
    outputs = {g: graded.cells[i].outputs for g, i in index.items() if g and graded.cells[i].cell_type == "code"}
    assert [o.output_type for o in outputs["net_input_tests"]] == ["stream"]
    assert outputs["predict_tests"][-1].traceback == ["CheckFailure: predict: values are not right"]
    assert "hidden" in outputs["update_step_tests"][-1].evalue
    assert "ran out of time (limit 60 s" in outputs["sign_update_tests"][-1].evalue
    assert [p.reason for p in verdict.problems(run)] == [Reason.TIMEOUT] and notes == []


@pytest.mark.parametrize("shown, kept", [("1000", None), ("-1", None), ("nan", None), ("inf", None),
                                         ("'full marks'", None), ("1.5", "1.5"), ("2", "2")])
def test_partial_credit_is_kept_only_between_0_and_the_points(shown, kept, reference):
    result = nbformat.v4.new_output("execute_result", data={"text/plain": shown}, execution_count=3)
    picture = nbformat.v4.new_output("execute_result", data={"image/png": "iVBORw0KGgo="}, execution_count=3)
    run, index = executed(reference, {"net_input_tests": [result], "predict_tests": [picture]},
                          {"net_input_tests": "ok", "predict_tests": "ok"})
    graded, notes = verdict.for_nbgrader(run)
    results = [o for o in graded.cells[index["net_input_tests"]].outputs if o.output_type == "execute_result"]
    assert [r.data["text/plain"] for r in results] == ([kept] if kept else [])
    assert graded.cells[index["predict_tests"]].outputs == []  # nbgrader would refuse a result without text/plain
    assert len(notes) == (1 if kept is None else 0) + 1


@pytest.mark.parametrize("status, key", [(-11, "kernel-crash"), (139, "kernel-crash"), (-24, "cpu-limit"),
                                         (3, "kernel-exit"), (-9, "kernel-crash"), (-25, "disk-limit")])
def test_exit_statuses_are_named(status, key):
    assert exit_stop(status, 4).reason.value == key


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


def test_a_submission_folder_is_walked_without_following_links(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "root").symlink_to("/")                       # never walked into
    (folder / f"{LESSON}.ipynb").symlink_to("/dev/zero")     # never read
    found = submission.find("c", folder, f"{LESSON}.ipynb")
    assert found.notebook is None
    assert any("not a regular file" in n for n in found.notes)
    assert any("extra files ignored" in n and "root" in n for n in found.notes)


@pytest.mark.parametrize("text, kept", [
    ("2024-01-02 10:00:00 UTC", "2024-01-02 10:00:00.000000 UTC"),
    ("2024-01-02T10:00:00+02:00", "2024-01-02 08:00:00.000000 UTC"),
    ("next tuesday-ish", None), ("9" * 60, None), ("0001-01-01 00:00:00", None), ("", None),
    ("2024-01-02 10:00:00\x00; rm -rf /", None),
])
def test_a_timestamp_is_kept_only_when_it_is_a_real_date(tmp_path, text, kept):
    (tmp_path / "timestamp.txt").write_text(text)
    stamp, note = submission.read_timestamp(tmp_path / "timestamp.txt")
    assert stamp == kept and (note is None) == (kept is not None), note


def test_a_hostile_timestamp_file_is_never_followed_or_read_whole(tmp_path):
    (tmp_path / "timestamp.txt").symlink_to("/dev/zero")
    assert submission.read_timestamp(tmp_path / "timestamp.txt")[0] is None
    (tmp_path / "timestamp.txt").unlink()
    os.mkfifo(tmp_path / "timestamp.txt")
    assert "not a regular file" in submission.read_timestamp(tmp_path / "timestamp.txt")[1]
    (tmp_path / "timestamp.txt").unlink()
    (tmp_path / "timestamp.txt").write_text("2024-01-02 10:00:00 " + "x" * 10_000)
    assert submission.read_timestamp(tmp_path / "timestamp.txt")[0] is None


def test_the_sandbox_never_mounts_the_repository_or_the_course(tmp_path):
    mounted = sandbox.readable_paths([ROOT, tmp_path])
    for path in mounted:
        assert not (ROOT / "solutions").resolve().is_relative_to(Path(path).resolve()), path
        assert not tmp_path.resolve().is_relative_to(Path(path).resolve()), path


def test_the_kernel_command_has_every_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap", lambda: "/usr/bin/bwrap")
    connection = tmp_path / "kernel.json"
    command = sandbox.kernel_command(["python", "-f", str(connection)], connection, [ROOT], Limits(), 61000, True)
    joined = " ".join(command)
    for part in ("--as=", "--cpu=", "--nproc=", "--fsize=", "--unshare-net", "--unshare-pid",
                 "--die-with-parent", "--clearenv", "--reuid=61000", f"--size {512 << 20} --perms 1777 --tmpfs /tmp",
                 f"--size {64 << 20} --perms 1777 --tmpfs /dev/shm", "--remount-ro /dev --remount-ro /",
                 f"--ro-bind {connection} {sandbox.CONNECTION_FILE}"):
        assert part in joined, part
    assert command[-3:] == ["python", "-f", sandbox.CONNECTION_FILE]
    assert f"--bind {tmp_path}" not in joined  # nothing of the host is writable inside


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


def test_memory_is_measured_over_the_whole_tree():
    me = os.getpid()
    assert 0 < bounds.private([me]) and bounds.private([me, me]) == 2 * bounds.private([me])  # each counts
    assert bounds.over([me] * 3, None, Limits(children=2), 5, 0).reason is Reason.PROCESSES
    stop = bounds.over([me], None, Limits(memory_bytes=1 << 20), 5, 0)
    assert stop.reason is Reason.MEMORY and stop.cell == 5 and "GiB in 1 processes" in stop.detail


# -- the sanitiser: what an instructor's browser may be handed -------------------------------------------

ATTACKS = ['<img src=x onerror="fetch(\'/api/contents/pwned.txt\', {method: \'PUT\'})">',
           "<script>fetch('/api/contents/x', {method: 'PUT'})</script>", '<svg onload="alert(1)"><circle r=1 /></svg>',
           "[a link](javascript:fetch('/api/contents/y'))", '<a href="JaVaScRiPt:alert(1)">z</a>',
           '<iframe src="/api/contents"></iframe>', '<img src="https://example.org/track.png">',
           '<form action="/api/contents"><input name=x></form>', "<style>body {display: none}</style>",
           "![pic](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_student_markdown_is_rendered_without_active_content(attack):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    html = markdown2html_mistune(sanitise.clean_markdown(f"My answer: $a < b$ and **bold**.\n\n{attack}"))
    lowered = html.lower()
    for active in ("<script", "onerror", "onload", "javascript:", "<iframe", "<svg", "<form", "<style",
                   "https://example.org", "data:image/svg"):
        assert active not in lowered, (attack, html)
    assert "$a &lt; b$" in html and "<strong>bold</strong>" in html  # text, math and safe markup stay


def test_embedded_images_and_plain_links_stay():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    html = sanitise.clean_markdown(f"![dot](data:image/png;base64,{png}) [docs](https://numpy.org)")
    assert f'src="data:image/png;base64,{png}"' in html and 'href="https://numpy.org"' in html


def test_outputs_keep_text_and_pictures_and_lose_scripts():
    bundle = {"text/plain": "x", "image/png": "iVBORw0KGgo=", "text/html": "<b>ok</b><script>1</script>",
              "application/javascript": "alert(1)", "image/svg+xml": "<svg onload=alert(1)></svg>",
              "text/latex": "\\href{javascript:alert(1)}{x}",
              "application/vnd.jupyter.widget-view+json": {"model_id": "1"}}
    kept, dropped = sanitise.clean_bundle(bundle)
    assert kept == {"text/plain": "x", "image/png": "iVBORw0KGgo=", "text/html": "<b>ok</b>"}
    assert sorted(dropped) == ["application/javascript", "image/svg+xml", "text/latex with links or styles"]


