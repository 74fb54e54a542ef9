"""Grades out of nbgrader's gradebook, and feedback back to the students, in the LMS's own formats.

``python -m autograder export grades.csv [--format generic|canvas|moodle]… [--lesson ID] [--roster CSV]``
always writes ``grades.csv``, nbgrader's own export (one row per student and lesson: assignment,
duedate, timestamp, student_id, last_name, first_name, email, raw_score, late_submission_penalty,
score, max_score), and next to it, for each ``--format`` asked:

``grades-canvas.csv``, a Canvas gradebook import (Grades > Import; Canvas Instructor Guide, "How do
I import grades in the Gradebook?"): the columns Student, ID, SIS User ID, SIS Login ID, Section,
then one column per lesson, and a second row "Points Possible" with each lesson's maximum. Canvas
matches a row on ID (the Canvas user id), SIS User ID or SIS Login ID; a lesson column whose header
is "<title> (<assignment id>)" fills that Canvas assignment, any other header makes a new one. The
Canvas user id is the student id when the lesson was collected from a Canvas download (it is the
number in Canvas's file names); the SIS ids, the section and a lesson's existing Canvas column come
from ``--roster``, Canvas's own gradebook export (Grades > Export).

``grades-moodle.csv``, a Moodle gradebook import (Grades > Import > CSV file; MoodleDocs "Grade
import"): the columns First name, Last name, ID number, Email address, then one column per lesson.
In the import's mapping step choose "Map from: Email address" to "Map to: useremail", and map each
lesson column to its grade item. Moodle's download names hold only a full name and a per-assignment
participant id, so the email comes from ``--roster`` (the assignment's grading worksheet, or the
gradebook export), or is the student id itself when ``collect --roster`` keyed students by email.

Scores are nbgrader's: the total of the lesson's graded cells (manual grades included) less the
late penalty, never below 0. A student without a submission gets an empty cell, so the import leaves
that grade as the LMS has it. A student whose LMS identity is unknown is left out of that file with
a line saying why; text cells that a spreadsheet would run as a formula (= + - @) are quoted with '.

Feedback (``python -m autograder feedback <lesson> --zip out.zip --lms canvas|moodle``) packs each
student's nbgrader feedback HTML under the name the LMS's bulk feedback upload matches to that
student (``lms.feedback_name``): Canvas's "Re-Upload Submissions" (Assignments > the assignment >
Download/Re-Upload Submissions) and Moodle's "Upload multiple feedback files in a zip" (the
assignment's grading action menu, with feedback files enabled). nbgrader's ``release_feedback``
is not used: it needs the ``submission_secret.txt`` that only nbgrader's exchange ``submit`` writes,
so it cannot return feedback for submissions that came from an LMS.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from . import lms
from .collect import identities_path
from .errors import GraderError
from .paths import Course

FORMATS = ("generic", "canvas", "moodle")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"
MOODLE_COLUMNS = ["First name", "Last name", "ID number", "Email address"]


def db_url(course: Path) -> str:
    """The course's gradebook URL (sqlite in the class folder, or NNLAB_DB_URL's database)."""
    return Course(course).gradebook_url


def cell(text) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    text = "" if text is None else str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _score(value: float) -> str:
    return f"{round(value, 4):g}"


def gradebook_table(course: Path, lesson: str | None = None) -> tuple[list[tuple[str, float]], dict, dict]:
    """``(lessons, students, scores)`` from nbgrader's gradebook.

    lessons: ``[(name, max_score)]`` in nbgrader's order; students: ``{id: {first_name, last_name,
    email, lms_user_id}}``; scores: ``{id: {lesson: score}}`` for submitted lessons only.
    """
    from nbgrader.api import Gradebook

    if not (course / "gradebook.db").is_file():
        raise GraderError(f"no gradebook in {course}: release and grade a lesson first")
    with Gradebook(db_url(course)) as gradebook:
        assignments = [a for a in gradebook.assignments if lesson is None or a.name == lesson]
        if lesson is not None and not assignments:
            raise GraderError(f"{lesson} is not in the gradebook {db_url(course)}")
        lessons = [(a.name, float(a.max_score)) for a in assignments]
        students = {s.id: {"first_name": s.first_name or "", "last_name": s.last_name or "",
                           "email": s.email or "", "lms_user_id": s.lms_user_id or ""} for s in gradebook.students}
        scores: dict[str, dict[str, float]] = {}
        for assignment in assignments:
            for submission in assignment.submissions:
                penalty = submission.late_submission_penalty or 0.0
                scores.setdefault(submission.student.id, {})[assignment.name] = max(0.0, submission.score - penalty)
    return lessons, students, scores


def identities(course: Path, lessons: list[str]) -> dict[str, dict]:
    """What ``collect`` learned from the LMS's file names, per student, over ``lessons``."""
    merged: dict[str, dict] = {}
    for lesson in lessons:
        path = identities_path(course, lesson)
        if path.is_file():
            for student, known in json.loads(path.read_text()).items():
                merged.setdefault(student, {}).update({k: v for k, v in known.items() if v})
    return merged


def _canvas_header(lesson: str, roster: lms.Roster | None) -> str:
    """The roster's (Canvas export's) column for ``lesson``, "<lesson> (<id>)", or the lesson id."""
    for header in roster.headers if roster else []:
        if re.fullmatch(rf"{re.escape(lesson)} \(\d+\)", header.strip()):
            return header.strip()
    return lesson


def canvas_rows(lessons, students, scores, known, roster, log) -> list[list[str]]:
    rows = [CANVAS_COLUMNS + [_canvas_header(name, roster) for name, _ in lessons],
            [CANVAS_POINTS_ROW, "", "", "", ""] + [_score(points) for _, points in lessons]]
    for student in sorted(students):
        row = roster.find(student) if roster else {}
        seen = known.get(student, {})
        canvas_id = row.get("canvas_id") or (seen.get("key") if seen.get("lms") == "canvas" else "") \
            or students[student]["lms_user_id"]
        if not (canvas_id or row.get("sis_user_id") or row.get("sis_login_id")):
            log(f"canvas: left out {student}: no Canvas user id or SIS id (collect from a Canvas download, "
                "or give --roster, Canvas's gradebook export)")
            continue
        first, last = students[student]["first_name"], students[student]["last_name"]
        name = row.get("name") or (f"{last}, {first}" if first or last else seen.get("name", student))
        rows.append([cell(name), cell(canvas_id), cell(row.get("sis_user_id")), cell(row.get("sis_login_id")),
                     cell(row.get("section"))]
                    + [_score(scores[student][n]) if n in scores.get(student, {}) else "" for n, _ in lessons])
    return rows


def moodle_rows(lessons, students, scores, known, roster, log) -> list[list[str]]:
    rows = [MOODLE_COLUMNS + [name for name, _ in lessons]]
    participants = roster.by_key("moodle") if roster else {}
    for student in sorted(students):
        seen = known.get(student, {})
        row = (roster.find(student) if roster else {}) or participants.get(seen.get("participant", ""), {})
        email = row.get("email") or students[student]["email"] or (student if "@" in student else "")
        if not email:
            log(f"moodle: left out {student}: no email address (give --roster: the assignment's grading "
                "worksheet or the gradebook export)")
            continue
        first = row.get("first_name") or students[student]["first_name"]
        last = row.get("last_name") or students[student]["last_name"]
        if not (first or last) and (row.get("name") or seen.get("name")):
            first, _, last = (row.get("name") or seen["name"]).partition(" ")
        rows.append([cell(first), cell(last), cell(row.get("id_number")), cell(email)]
                    + [_score(scores[student][n]) if n in scores.get(student, {}) else "" for n, _ in lessons])
    return rows


def _write(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        csv.writer(out, quoting=csv.QUOTE_MINIMAL).writerows(rows)


def run(csv_path: Path, course: Path, formats: list[str], lesson: str | None = None,
        roster: Path | None = None, log=print) -> list[Path]:
    """``python -m autograder export``: nbgrader's CSV, plus the LMS imports asked for; returns the paths."""
    import os

    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise GraderError(f"unknown export format {', '.join(unknown)}: one of {', '.join(FORMATS)}")
    try:
        table = lms.read_roster(roster) if roster else None
    except (lms.BadName, OSError) as error:
        raise GraderError(str(error)) from None
    csv_path = csv_path.resolve()
    args = [str(Path(sys.executable).parent / "nbgrader"), "export", f"--to={csv_path}"]
    if lesson:
        args.append(f"--CsvExportPlugin.assignment=['{lesson}']")
    done = subprocess.run(args, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                          env={**os.environ, "NNLAB_COURSE_DIR": str(course)})
    if done.returncode != 0:
        raise GraderError(f"nbgrader export failed:\n{done.stderr[-3000:]}")
    written = [csv_path]
    lessons, students, scores = gradebook_table(course, lesson)
    known = identities(course, [name for name, _ in lessons])
    for fmt in dict.fromkeys(formats):
        if fmt == "generic":
            continue
        rows = (canvas_rows if fmt == "canvas" else moodle_rows)(lessons, students, scores, known, table, log)
        path = csv_path.with_name(f"{csv_path.stem}-{fmt}.csv")
        _write(path, rows)
        written.append(path)
    for path in written:
        log(f"wrote {path}")
    return written


# -- feedback ------------------------------------------------------------------------------------------

def feedback_zip(course: Path, lesson: str, out: Path, scheme: str, log=print) -> list[str]:
    """Zip every student's ``feedback/<student>/<lesson>/*.html`` named for ``scheme``'s bulk upload.

    Returns the names written. A student whose LMS identity was not recorded at collect time is
    left out with a line saying why.
    """
    if scheme not in ("canvas", "moodle"):
        raise GraderError(f"{scheme} has no bulk upload of feedback files matched by name: "
                          "feedback zips are for canvas and moodle")
    known = identities(course, [lesson])
    folder = course / "feedback"
    names = []
    students = sorted(p.name for p in folder.iterdir() if (p / lesson).is_dir()) if folder.is_dir() else []
    if not students:
        raise GraderError(f"no feedback for {lesson} in {folder}: grade the lesson first")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        for student in students:
            pages = sorted((folder / student / lesson).glob("*.html"))
            seen = known.get(student)
            if not pages:
                log(f"feedback: left out {student}: no feedback page")
                continue
            if not seen or seen.get("lms") != scheme:
                log(f"feedback: left out {student}: not collected from a {scheme} download")
                continue
            try:
                name = lms.feedback_name(scheme, seen, lesson)
            except lms.BadName as refused:
                log(f"feedback: left out {student}: {refused}")
                continue
            zipped.writestr(name, pages[0].read_bytes())  # one notebook per lesson, so one page
            names.append(name)
    log(f"wrote {out}: feedback for {len(names)} of {len(students)} students, named for {scheme}'s bulk upload")
    return names
