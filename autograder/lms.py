"""How Canvas, Moodle and Blackboard name the files of a "download all submissions" zip.

Each scheme reads one entry name of the zip and returns an ``Entry`` (who handed in which file)
or raises ``BadName`` with the reason. The student's key always comes from a fixed, anchored
position that the LMS itself writes; the part of the name the student chose (their file name,
their display name) can never move it, so no file name can land in another student's folder.
The file names below are the LMSs' own, read from their source code, which is the documentation
of record (their help pages show examples, not the grammar):

Canvas ("Download Submissions" of an assignment; canvas-lms ``lib/content_zipper.rb``,
``ContentZipper#get_filename`` and ``#add_upload_submission``)::

    <name>[_LATE]_<user id>_<attachment id>_<display name of the uploaded file>
    smithjane_123456_7890123_02_perceptron.ipynb
    smithjane_LATE_123456_7890124_02_perceptron-1.ipynb    (late; Canvas adds -1 to a resubmission)
    LATE_anon_k3Xq9_7890125_02_perceptron.ipynb             (anonymous grading: anon_<anonymous id>)

  ``<name>`` is the sortable name lower-cased with every non-word character removed (so no "_"
  except the ones Canvas adds); the key is the numeric Canvas user id (or ``anon_<id>``). The
  attachment id is kept: Canvas's "Re-Upload Submissions" matches a returned file by the first two
  all-digit fields, user id then attachment id (``Assignment#infer_comment_context_from_filename``).
  Text entries and URLs arrive as ``<name>_<user id>_text.html`` / ``_link.html`` and are refused
  (not a notebook). The names carry no time: Canvas applies its own late policy (``LATE``).

Moodle ("Download all submissions" of an assignment; Moodle ``mod/assign/locallib.php``,
``assign::download_submissions``; the feedback importer
``mod/assign/feedback/file/importziplib.php`` documents the versions)::

    <full name>_<participant id>_assignsubmission_file/<file>      Moodle >= 4.1 (a folder each)
    <full name>_<participant id>_assignsubmission_file_/<file>     Moodle 3.1 - 4.0
    <full name>_<participant id>_assignsubmission_file_<file>      before 3.1, or folders turned off
    Jane Smith_4242_assignsubmission_file/02_perceptron.ipynb

  Moodle replaces every "_" in the full name by a space, so the key is the first all-digit field
  after the name: the participant id (``assign::get_uniqueid_for_user``), which is the Moodle user's
  identifier *within this assignment* (blind marking shows it as "Participant 4242"). It is not the
  Moodle user id and differs between assignments: map it to a lasting id (an email) with a roster
  (the assignment's grading worksheet, ``Identifier`` "Participant 4242"). No time in the names.

Blackboard Learn ("Assignment File Download" in the Grade Center; the convention nbgrader's own
``zip_collect`` documentation is written for)::

    <assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<original file name>
    <assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt    (the receipt: "Name: Jane Smith (jsmith)")
    Lesson 02_jsmith_attempt_2024-01-30-20-30-10_02_perceptron.ipynb

  The key is the username, between the assignment name (the same for every entry of one download)
  and the first ``_attempt_<timestamp>``. The assignment name is found as the prefix most entries
  share, so a username with "_" in it is still read whole; an entry whose prefix differs is refused
  as ambiguous. The timestamp (the server's local time) becomes nbgrader's ``timestamp.txt``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

# Blackboard by default: it is what `collect` read before the LMS flag existed (and what nbgrader's
# zip_collect documentation shows), so an instructor's existing command keeps its meaning.
DEFAULT = "blackboard"
NAMES = ("canvas", "moodle", "blackboard")

# A student id that is safe as a folder name, in nbgrader's URLs and in a shell word, unquoted.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


class BadName(ValueError):
    """An entry name that does not follow the scheme; the message is the reason shown to the instructor."""


@dataclass
class Entry:
    """One file of a download, as the LMS named it."""
    key: str                      # the LMS's own identifier of the student (user id, participant id, username)
    file: str                     # the file name the student uploaded ('' for a receipt)
    name: str = ""                # the display name the LMS wrote (sanitised by the LMS), for people
    timestamp: datetime | None = None
    late: bool = False
    receipt: bool = False         # Blackboard's .txt receipt: identity, not a submission file
    extra: dict = field(default_factory=dict)   # canvas: attachment id; moodle: the name prefix


def shown(text: str) -> str:
    """``text`` safe to print: control and formatting characters (ANSI escapes, RTL overrides) escaped."""
    return "".join(c if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp") else ascii(c)[1:-1]
                   for c in text)


def check_student_id(student: str) -> str:
    """``student`` if it is safe to use as nbgrader's student id; else ``BadName`` with the reason."""
    if STUDENT_ID.fullmatch(student) and not student.endswith("."):
        return student
    return _refuse(f"student id {shown(student)!r} is not usable as an nbgrader student id "
                   f"(letters A-Z, digits and . _ @ + - only, at most 100): map it with a roster")


def _refuse(reason: str):
    raise BadName(reason)


# -- Canvas ------------------------------------------------------------------------------------------

_CANVAS = re.compile(r"(?P<name>[^\W_]*)(?P<late>_LATE)?_(?P<key>\d+)_(?P<attachment>\d+)_(?P<file>.+)")
_CANVAS_ANON = re.compile(r"(?P<late>LATE_)?(?P<key>anon_[A-Za-z0-9]+)_(?P<attachment>\d+)_(?P<file>.+)")
_CANVAS_INLINE = re.compile(r"(?:[^\W_]*)(?:_LATE)?_\d+_(?:text|link)\.html")


def canvas(path: str) -> Entry:
    if "/" in path:
        _refuse("Canvas puts every file at the top of its zip; this one is in a folder")
    match = _CANVAS.fullmatch(path) or _CANVAS_ANON.fullmatch(path)
    if not match:
        if _CANVAS_INLINE.fullmatch(path):
            _refuse("a Canvas text entry or URL, not an uploaded notebook")
        _refuse("not Canvas's <name>[_LATE]_<user id>_<attachment id>_<file> naming")
    return Entry(match["key"], match["file"], name=match.groupdict().get("name") or "",
                 late=bool(match["late"]), extra={"attachment": match["attachment"]})


# -- Moodle ------------------------------------------------------------------------------------------

_MOODLE = re.compile(r"(?P<name>[^_/]*)_(?P<key>\d+)_assignsubmission_(?P<plugin>[a-z]+)"
                     r"(?:_?/(?P<nested>.+)|_(?P<flat>[^/]+))")


def moodle(path: str) -> Entry:
    match = _MOODLE.fullmatch(path)
    if not match:
        _refuse("not Moodle's <full name>_<participant id>_assignsubmission_file[_]/<file> naming")
    if match["plugin"] != "file":
        _refuse(f"a Moodle {match['plugin']} submission, not an uploaded file")
    inner = match["nested"] or match["flat"]
    return Entry(match["key"], inner.rsplit("/", 1)[-1], name=match["name"],
                 extra={"prefix": f"{match['name']}_{match['key']}"})


# -- Blackboard --------------------------------------------------------------------------------------

_STAMP = r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}"
_BLACKBOARD_GUESS = re.compile(rf"(?P<assignment>.+?)_(?P<key>[^_/]+)_attempt_(?P<stamp>{_STAMP})(?:_.+|\.txt)")


def blackboard_assignment(paths: list[str]) -> str | None:
    """The assignment name that prefixes a Blackboard download: the one most entries start with."""
    guesses = Counter(m["assignment"] for m in map(_BLACKBOARD_GUESS.fullmatch, paths) if m)
    if not guesses:
        return None
    top = max(guesses.values())
    return min((a for a, n in guesses.items() if n == top), key=len)


def blackboard(path: str, assignment: str | None) -> Entry:
    if "/" in path:
        _refuse("Blackboard puts every file at the top of its zip; this one is in a folder")
    naming = "not Blackboard's <assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file> naming"
    if assignment is None or not path.startswith(assignment + "_"):
        if assignment is None or not _BLACKBOARD_GUESS.fullmatch(path):
            _refuse(naming)
        _refuse(f"ambiguous: it does not start with {shown(assignment)!r}, the assignment name of the "
                "rest of the download")
    rest = path[len(assignment) + 1:]
    match = re.fullmatch(rf"(?P<key>.+?)_attempt_(?P<stamp>\d[\d-]*?)(?:_(?P<file>.+)|(?P<receipt>\.txt))", rest)
    if not match:
        _refuse(naming)
    if not re.fullmatch(_STAMP, match["stamp"]):
        _refuse(f"bad timestamp {shown(match['stamp'])!r} (Blackboard writes YYYY-MM-DD-HH-MM-SS)")
    try:
        stamp = datetime.strptime(match["stamp"], "%Y-%m-%d-%H-%M-%S")
    except ValueError:
        _refuse(f"bad timestamp {match['stamp']!r}: not a real date and time")
    if not 2000 <= stamp.year <= 2100:
        _refuse(f"bad timestamp {match['stamp']!r}: year out of range")
    return Entry(match["key"], match["file"] or "", timestamp=stamp, receipt=bool(match["receipt"]))


def receipt_name(text: str) -> str:
    """The student's name from a Blackboard receipt's first ``Name: First Last (username)`` line."""
    match = re.search(r"^Name:[ \t]*([^\n(]{1,200}?)[ \t]*(?:\(|$)", text, re.MULTILINE)
    return match[1].strip() if match else ""


def parse_all(lms: str, paths: list[str]) -> list[Entry | BadName]:
    """Parse every entry name of one download with ``lms``'s scheme (``BadName`` for those refused)."""
    if lms not in NAMES:
        raise ValueError(f"unknown LMS {lms!r}: one of {', '.join(NAMES)}")
    assignment = blackboard_assignment(paths) if lms == "blackboard" else None
    parsed = []
    for path in paths:
        try:
            parsed.append(canvas(path) if lms == "canvas" else moodle(path) if lms == "moodle"
                          else blackboard(path, assignment))
        except BadName as refused:
            parsed.append(refused)
    return parsed


# -- feedback files named for the LMS's bulk upload --------------------------------------------------

def feedback_name(lms: str, identity: dict, lesson: str) -> str:
    """The file name under which the LMS's bulk feedback upload attaches a file to this student.

    Canvas ("Re-Upload Submissions"): ``<name>_<user id>_<attachment id>_<file>``, where the attachment
    id is the one of the student's submitted file (it must belong to the current submission), so the
    file comes back as a comment on that submission. Moodle ("Upload multiple feedback files in a
    zip"): ``<full name>_<participant id>_assignfeedback_file_<file>``; the importer splits on "_" and
    reads the participant id from the second field (works in every Moodle since 2.3).
    """
    file = f"{lesson}-feedback.html"
    if lms == "canvas":
        if not identity.get("attachment"):
            raise BadName("no Canvas attachment id recorded (collect this lesson from a Canvas download)")
        return f"{identity.get('name', '')}_{identity['key']}_{identity['attachment']}_{file}"
    if lms == "moodle":
        if not identity.get("participant"):
            raise BadName("no Moodle participant id recorded (collect this lesson from a Moodle download)")
        name = re.sub(r"[_/\\]", " ", identity.get("name", "")) or "Participant"
        return f"{name}_{identity['participant']}_assignfeedback_file_{file}"
    raise BadName(f"{lms} has no bulk upload of feedback files that matches students by file name")


# -- rosters: the identities an LMS export holds and nbgrader does not --------------------------------

# header as the LMS exports it (lower-cased) -> our field. Canvas: the gradebook export (Grades >
# Export): Student, ID, SIS User ID, SIS Login ID, Section. Moodle: the assignment's grading worksheet
# (Identifier "Participant 4242", Full name, Email address) or the gradebook export (First name,
# Last name, ID number, Email address). Any CSV with a student_id column works too.
ROSTER_COLUMNS = {
    "student_id": "student_id", "student": "name", "full name": "name", "id": "canvas_id",
    "sis user id": "sis_user_id", "sis login id": "sis_login_id", "section": "section",
    "identifier": "participant", "first name": "first_name", "last name": "last_name", "surname": "last_name",
    "email address": "email", "email": "email", "username": "username", "id number": "id_number",
}
MAX_ROSTER_BYTES = 32 << 20


@dataclass
class Roster:
    rows: list[dict]
    headers: list[str]            # the file's own headers, in order (Canvas assignment columns among them)

    def key_of(self, row: dict, lms: str) -> str:
        """The LMS's identifier of the student in ``row`` (what that LMS writes in its file names)."""
        return row.get({"canvas": "canvas_id", "moodle": "participant", "blackboard": "username"}[lms], "")

    def student_of(self, row: dict, lms: str) -> str:
        """The nbgrader student id for ``row``: its student_id, else the LMS's lasting identifier."""
        if row.get("student_id"):
            return row["student_id"]
        if lms == "moodle":  # the participant id differs between assignments: prefer a lasting one
            return row.get("email") or row.get("username") or row.get("participant", "")
        return self.key_of(row, lms)

    def by_key(self, lms: str) -> dict[str, dict]:
        return {self.key_of(row, lms): row for row in self.rows if self.key_of(row, lms)}

    def find(self, student: str) -> dict:
        """The roster row of nbgrader student ``student``, matched on any identifier it holds, or {}."""
        for field_name in ("student_id", "canvas_id", "email", "username", "sis_login_id", "sis_user_id"):
            for row in self.rows:
                if row.get(field_name) and row[field_name] == student:
                    return row
        return {}


def read_roster(path) -> Roster:
    """Read an instructor's roster CSV (an LMS export); ``BadName`` if it has no column we know."""
    import csv
    import io
    from pathlib import Path

    data = Path(path).read_bytes()
    if len(data) > MAX_ROSTER_BYTES:
        raise BadName(f"roster {path} is over {MAX_ROSTER_BYTES >> 20} MiB")
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text))
    headers = next(reader, [])
    known = {i: ROSTER_COLUMNS[h.strip().lower()] for i, h in enumerate(headers) if h.strip().lower() in ROSTER_COLUMNS}
    if not known:
        raise BadName(f"roster {path} has none of the columns {', '.join(sorted(set(ROSTER_COLUMNS)))}")
    rows = []
    for cells in reader:
        row = {name: cells[i].strip() for i, name in known.items() if i < len(cells) and cells[i].strip()}
        if "points possible" in row.get("name", "").lower() or not row:  # Canvas's second row
            continue
        if "participant" in row:
            digits = re.search(r"\d+", row["participant"])
            row["participant"] = digits[0] if digits else ""
        rows.append(row)
    return Roster(rows, headers)
