"""Grade one lesson's class end to end: by the course's pipeline and by plain `nbgrader autograde`.

The class of a lesson holds the submissions whose grades the course promises (issues 13.6, 15.1, 15.6):

- ``solution``: the lesson's model answers, as a student would type them. Plain nbgrader grades them
  with every function of every answer made to warn first (a RuntimeWarning, as numpy or torch
  would): full marks there prove both that the solution is right under plain nbgrader and that a
  warning costs a correct answer nothing (nnlab.check shows it as a note on stdout);
- ``stub``: the release as handed out (every answer still ``raise NotImplementedError()``);
- ``alternatives``: the correct answers of ``tests/planted/<id>.py`` where given, the model answers
  elsewhere, each made to warn: each must still score full marks under both graders (issue 15.6);
- ``mistakes`` (when the planted file has MISTAKES): its wrong answers, the model answers elsewhere.

The pipeline (the classroom grade) grades all four; plain nbgrader (the learner's Validate button and
`nbgrader autograde`) grades all but the mistakes. Each notebook executes once per grader that grades
it, and nothing else executes a solution: the assertions that every solution cell runs (what nbval
checks) and that `nbgrader validate` passes it are read from plain nbgrader's execution.

One release (`nbgrader generate_assignment`) serves two course folders with copies of one gradebook.
`python -m autograder grade` grades one (real bubblewrap sandboxes, two workers) while plain
`nbgrader autograde` grades the other, at the same time. Plain nbgrader is told to stop each kernel at
once when its notebook is done (``shutdown_kernel``), which changes no grade and saves the seconds of
a polite shutdown.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from conftest import BIN, ROOT, class_release, run_tool, tool_env
from support.submissions import Planted, code_answer_ids, fill_answers, planted, test_cells, with_warning

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")
HIDDEN = "### BEGIN HIDDEN TESTS"
PLAIN = ("solution", "stub", "alternatives")  # the students plain nbgrader grades too (see above)


@dataclass
class Grader:
    """What one grader left for every student: test-cell scores, the autograded notebook, its log."""
    name: str
    scores: dict[str, dict[str, float | None]]
    notebooks: dict[str, object]
    log: str
    reasons: dict[str, list[dict]] = field(default_factory=dict)  # the pipeline's only
    journal: str = ""                                             # the pipeline's instructor log


@dataclass
class LessonClass:
    lesson: str
    tests: dict[str, float]                 # test cell grade id -> points
    submitted: dict[str, object]            # student -> the notebook handed in
    planted: Planted | None
    expected_failures: dict[str, set[str]]  # student -> test cells that must fail (all others: full marks)
    pipeline: Grader
    plain: Grader
    release: object


def build(lesson: str, tmp: Path) -> LessonClass:
    """Release ``lesson``, plant its class, grade it with both graders; return what they left."""
    pipeline_course, plain_course = tmp / "pipeline", tmp / "plain"
    release_dir, release, model = class_release(lesson, pipeline_course)
    shutil.copytree(pipeline_course, plain_course)  # the same release and gradebook for plain nbgrader
    tests = test_cells(release)
    found = planted(lesson)
    submitted, expected = class_of(release, model, found, tests)
    incoming = tmp / "incoming"
    plain_submitted = {**submitted, "solution": fill_answers(release, warned(release, model))}
    plain_submitted = {student: plain_submitted[student] for student in PLAIN}
    for folder, notebook in [*((incoming / s, nb) for s, nb in submitted.items()),
                             *((plain_course / "submitted" / s / lesson, nb) for s, nb in plain_submitted.items())]:
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{lesson}.ipynb")

    plain = subprocess.Popen(  # plain nbgrader, one notebook after another, while the pipeline runs
        [str(BIN / "nbgrader"), "autograde", lesson, "--Execute.shutdown_kernel=immediate",
         f"--CourseDirectory.release_directory={release_dir}"],
        cwd=ROOT, env=tool_env({"NNLAB_COURSE_DIR": str(plain_course)}), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    run = run_tool("python", "-m", "autograder", "grade", lesson, incoming, "--workers=2", "--no-feedback",
                   f"--release-dir={release_dir}", env={"NNLAB_COURSE_DIR": str(pipeline_course)}, timeout=900)
    plain_log, _ = plain.communicate(timeout=900)
    assert run.returncode == 0, f"the pipeline failed on {lesson}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert plain.returncode == 0, f"nbgrader autograde failed on {lesson}:\n{plain_log[-4000:]}"

    plain_students = list(PLAIN)
    results = {p.stem: json.loads(p.read_text())
               for p in (pipeline_course / "pipeline" / "results" / lesson).glob("*.json")}
    return LessonClass(
        lesson, tests, submitted, found, expected,
        pipeline=Grader("the pipeline", {s: {c: r["scores"].get(c) for c in tests} for s, r in results.items()},
                        autograded(pipeline_course, lesson, submitted), run.stdout + run.stderr,
                        {s: r["reasons"] for s, r in results.items()},
                        (pipeline_course / "pipeline" / "logs" / f"{lesson}.log").read_text()),
        plain=Grader("plain nbgrader autograde", gradebook_scores(plain_course, lesson, plain_students, tests),
                     autograded(plain_course, lesson, plain_students), plain_log),
        release=release)


def class_of(release, model: dict[str, str], found: Planted | None, tests: dict[str, float]):
    """The submissions of the class, and the test cells each must fail."""
    alternatives = {**model, **(found.alternatives if found else {})}
    submitted = {"solution": fill_answers(release, model), "stub": release,
                 "alternatives": fill_answers(release, warned(release, alternatives))}
    expected = {"solution": set(), "stub": set(tests), "alternatives": set()}
    if found and found.mistakes:
        submitted["mistakes"] = fill_answers(release, {**model, **{g: s for g, (s, _) in found.mistakes.items()}})
        expected["mistakes"] = {cell for _, failing in found.mistakes.values() for cell in failing}
    return submitted, expected


def warned(release, answers: dict[str, str]) -> dict[str, str]:
    """The answers with every function of every code answer made to warn first."""
    code_answers = set(code_answer_ids(release))
    return {g: with_warning(s) if g in code_answers else s for g, s in answers.items()}


def gradebook_scores(course: Path, lesson: str, students, tests) -> dict[str, dict[str, float | None]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {student: {cell: gradebook.find_grade(cell, lesson, lesson, student).score for cell in tests}
                for student in students}


def autograded(course: Path, lesson: str, students) -> dict[str, object]:
    return {student: nbformat.read(course / "autograded" / student / lesson / f"{lesson}.ipynb", as_version=4)
            for student in students}


# -- what the executions show ------------------------------------------------------------------------

def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def wrong_scores(scores: dict[str, float | None], tests: dict[str, float], failing: set[str]) -> dict:
    """Test cells whose score is not what it must be: 0 for ``failing`` ones, full points for the others."""
    return {cell: (score, 0.0 if cell in failing else points) for cell, points in tests.items()
            if (score := scores.get(cell)) != (0.0 if cell in failing else points)}


def errors_text(cell) -> str:
    """A cell's error and stderr outputs, for a failure message."""
    parts = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
    parts += [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
    return ANSI.sub("", " | ".join(parts))[:600]


def failures_explained(notebook, cells: set[str]) -> str:
    """Each named test cell's error, as the autograded notebook shows it."""
    return "\n".join(f"  {grade_id(c)}: {errors_text(c) or '(no error shown)'}" for c in notebook.cells
                     if grade_id(c) in cells)


def cell_errors(notebook) -> list[str]:
    """Every code cell that raised (what nbval checks: cells tagged raises-exception may), with its error."""
    return [f"cell {index} ({grade_id(cell) or cell.get('id')}): {errors_text(cell)}"
            for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", [])
            and any(o.output_type == "error" for o in cell.outputs)]


def stderr_cells(notebook, tests) -> list[str]:
    """Test cells with anything on stderr (nbgrader scores such a cell 0)."""
    return [f"{grade_id(c)}: {errors_text(c)}" for c in notebook.cells if grade_id(c) in tests
            and any(o.output_type == "stream" and o.name == "stderr" for o in c.outputs)]


def validation(notebook) -> dict[str, list]:
    """nbgrader validate's verdict on an executed notebook, by nbgrader's own Validator (no new execution).

    `nbgrader validate` executes the notebook and then applies exactly these checks: a changed type of
    a graded cell, a changed locked cell (checksum), a graded cell that fails (an error or stderr in
    a test cell, partial credit, an untouched written answer).
    """
    from nbgrader.validator import Validator
    validator = Validator()
    notebook = nbformat.reads(nbformat.writes(notebook), as_version=4)  # a copy: the Validator edits it
    return {"type_changed": [grade_id(c) for c in validator._get_type_changed_cells(notebook)],
            "changed": [grade_id(c) for c in validator._get_changed_cells(notebook)],
            "failed": [grade_id(c) for c in validator._get_failed_cells(notebook)]}


def failing_line(cell) -> int | None:
    """The line of the test cell at which its first error was raised (IPython's ``Cell In[n], line L``)."""
    for output in cell.outputs:
        if output.output_type == "error":
            for frame in output.get("traceback", []):
                match = CELL_LINE.search(ANSI.sub("", frame))
                if match:
                    return int(match.group(1))
            return None
    return None


def fails_before_hidden_tests(cell) -> bool:
    """Whether the test cell's first error comes from its visible part (so the release's own run fails it too)."""
    line = failing_line(cell)
    lines = cell.source.splitlines()
    hidden = next((i + 1 for i, text in enumerate(lines) if text.strip() == HIDDEN), len(lines) + 1)
    return line is not None and line < hidden


def planted_notes(notebook) -> list[str]:
    """The planted warnings, shown as ``note:`` lines on stdout (how nnlab.check shows a warning)."""
    return [line for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
            if o.output_type == "stream" and o.name == "stdout" for line in o.text.splitlines()
            if line.startswith("note:") and "planted by the grading test" in line]
