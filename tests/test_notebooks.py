"""The lesson notebooks: their shape, their hygiene, and nbgrader's view of them.

Every solution notebook is executed once, under plain nbgrader, by tests/test_lesson_grading.py
(`make nbval` executes them with nbval instead). Here nbgrader itself regenerates the releases.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest

from conftest import LESSON_IDS, LESSONS, ROOT, release_path, run_tool, solution_path

HIDDEN_TEXT = re.compile(r"BEGIN (SOLUTION|HIDDEN TESTS)|END (SOLUTION|HIDDEN TESTS)")


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_there_are_lessons_and_each_has_one_release_and_no_stray_release_exists():
    assert LESSON_IDS, "no lessons found in solutions/"
    releases = sorted(p.parent.name for p in LESSONS.glob("*/*.ipynb"))
    assert releases == LESSON_IDS, "run `make release`: lessons/ and solutions/ list different lessons"
    for lesson in LESSON_IDS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", lesson), f"{lesson}: ids look like 02_perceptron"


@pytest.mark.parametrize("path", sorted(ROOT.glob("solutions/*/*.ipynb")) + sorted(ROOT.glob("lessons/*/*.ipynb")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; run `make strip` then `make release`"


def test_solution_has_the_exercise_shape(lesson):
    nb = nbformat.read(solution_path(lesson), as_version=4)
    assert nb.metadata.kernelspec["name"] == "python3", "notebooks use the standard kernel (tools/headers.py)"
    cells = nb.cells
    ids = [nbgrader_meta(c)["grade_id"] for c in cells if "grade_id" in nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"duplicate grade ids in {ids}"
    answers = [i for i, c in enumerate(cells) if c.cell_type == "code" and nbgrader_meta(c).get("solution")]
    tests = [i for i, c in enumerate(cells) if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]
    assert len(tests) >= 3, f"{lesson}: {len(tests)} autograded test cells, lessons want at least 3"
    for i in answers:
        source = cells[i].source
        assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source, f"answer cell {i} lacks markers"
        assert i + 1 in tests, f"answer cell {i} is not followed by its test cell"
        statement = cells[i - 1]
        assert statement.cell_type == "markdown" and nbgrader_meta(statement).get("locked"), \
            f"answer cell {i} is not preceded by its locked task statement"
        assert re.search(r"\(\d+ points?\)", statement.source), f"task before cell {i} does not state its points"
    written = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and nbgrader_meta(c).get("solution")]
    for i in written:  # nbgrader replaces a written-answer cell whole, so its question must stand before it
        question = cells[i - 1]
        assert question.cell_type == "markdown" and nbgrader_meta(question).get("locked"), \
            f"written answer {nbgrader_meta(cells[i])['grade_id']} is not preceded by its locked question"
        assert re.search(r"\(\d+ points?\)", question.source), f"the question before cell {i} does not state its points"
        assert nbgrader_meta(cells[i]).get("grade") and nbgrader_meta(cells[i]).get("points", 0) > 0, \
            f"written answer {nbgrader_meta(cells[i])['grade_id']} must be manually graded and worth points"
    for i in tests:
        meta = nbgrader_meta(cells[i])
        assert meta.get("locked") and meta.get("points", 0) > 0, f"test cell {i} must be locked and worth points"
        assert "### BEGIN HIDDEN TESTS" in cells[i].source, f"test cell {i} has no hidden tests"
        visible = cells[i].source.split("### BEGIN HIDDEN TESTS")[0]
        assert "check." in visible, f"test cell {i}: visible checks should use nnlab.check for their messages"
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            assert not HIDDEN_TEXT.search(cell.source), f"markdown cell {i} mentions the hidden markers"


def test_release_keeps_no_solution_and_no_hidden_test(lesson):
    text = release_path(lesson).read_text()
    assert not HIDDEN_TEXT.search(text)
    solution = nbformat.read(solution_path(lesson), as_version=4)
    release = nbformat.read(release_path(lesson), as_version=4)
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in release.cells if nbgrader_meta(c).get("grade_id")}
    for cell in solution.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            stub = by_id[meta["grade_id"]].source
            assert "raise NotImplementedError()" in stub
            body = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            for line in filter(str.strip, body.splitlines()):
                assert line not in stub, f"{meta['grade_id']}: the release shows solution line {line.strip()!r}"
        elif meta.get("grade") and not meta.get("solution"):
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            released = by_id[meta["grade_id"]].source
            for line in filter(str.strip, hidden.splitlines()):
                assert line not in released, f"{meta['grade_id']}: the release shows hidden line {line.strip()!r}"


@pytest.fixture(scope="module")
def fresh_releases(tmp_path_factory) -> Path:
    """Every release regenerated from its solution by nbgrader, in one call ("*"), into a temporary folder."""
    scratch = tmp_path_factory.mktemp("regenerated")
    result = run_tool("nbgrader", "generate_assignment", "*", "--force",
                      f"--CourseDirectory.release_directory={scratch / 'release'}",
                      env={"NNLAB_COURSE_DIR": str(scratch / "course")})
    assert result.returncode == 0, result.stderr
    return scratch / "release"


def test_release_is_what_nbgrader_generates_from_the_solution(lesson, fresh_releases):
    """lessons/ is generated: regenerate it elsewhere with the course config and compare."""
    fresh = json.loads((fresh_releases / lesson / f"{lesson}.ipynb").read_text())
    committed = json.loads(release_path(lesson).read_text())
    assert committed == fresh, f"lessons/{lesson} is out of date: run `make release` and commit it"


def test_course_config_sends_every_class_run_folder_outside_tracked_paths(tmp_path, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("NNLAB_COURSE_DIR", str(tmp_path / "class"))
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    course = config.CourseDirectory
    assert (course.source_directory, course.release_directory) == ("solutions", "lessons")
    written = [course.submitted_directory, course.autograded_directory, course.feedback_directory,
               course.solution_directory, config.ZipCollectApp.downloaded_directory, config.Exchange.root,
               course.db_url.removeprefix("sqlite:///")]
    for path in written:
        assert path.startswith(str(tmp_path / "class")), path
    monkeypatch.delenv("NNLAB_COURSE_DIR")
    default = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert default.CourseDirectory.submitted_directory == str(ROOT / ".course" / "submitted")
    assert "/.course/" in (ROOT / ".gitignore").read_text().splitlines()


def test_readme_marks_exactly_the_lessons_that_exist_as_ready_and_links_them():
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| \[?(\d\d_[a-z0-9_]+)\]?\S* \|.*\| (planned|\*\*ready\*\*) \|$", readme, re.MULTILINE))
    ready = sorted(lesson for lesson, status in rows.items() if status == "**ready**")
    assert ready == LESSON_IDS, "update the README's lesson table: ready lessons are linked and marked **ready**"
    for lesson in LESSON_IDS:
        assert f"[{lesson}](lessons/{lesson}/{lesson}.ipynb)" in readme, f"README: link {lesson} to its release"
