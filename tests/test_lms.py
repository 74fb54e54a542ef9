"""LMS downloads in, grades and feedback out: real zip files, real nbgrader gradebooks and commands.

Each hostile entry is planted next to good ones, and the exact report line it earns is asserted;
the good entries must be collected all the same, byte for byte.
"""

import csv
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from autograder import collect, export, lms
from autograder.errors import GraderError
from conftest import BIN, ROOT, class_release, release_path

LESSON = "02_perceptron"
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader gradebook autoflush noise
NB = release_path(LESSON).read_bytes()          # any real notebook's bytes
OTHER = NB.replace(b'"cells"', b'"cells" ', 1)  # a second, different notebook


def make_zip(path: Path, entries) -> Path:
    """``entries``: (name, bytes) pairs, or (ZipInfo, bytes) for a crafted header."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in entries:
            zipped.writestr(name, data)
    return path


def symlink(name: str, target: str = "/etc/passwd"):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def mark_encrypted(path: Path, name: str) -> None:
    """Set the 'encrypted' flag of entry ``name`` in both its local and central headers (zipfile won't)."""
    data, raw = bytearray(path.read_bytes()), name.encode()
    for signature, flag_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        start = data.find(signature + b"", 0)
        while start != -1:
            if data[start + name_at:start + name_at + len(raw)] == raw:
                data[start + flag_at] |= 0x1
            start = data.find(signature, start + 1)
    path.write_bytes(bytes(data))


def submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / LESSON / f"{LESSON}.ipynb"


def body(report: collect.Report) -> list[str]:
    return report.lines


# -- the naming schemes, one name at a time ---------------------------------------------------------

@pytest.mark.parametrize("name, key, file, late", [
    ("smithjane_123456_7890123_02_perceptron.ipynb", "123456", "02_perceptron.ipynb", False),
    ("smithjane_LATE_123456_7890124_02_perceptron-1.ipynb", "123456", "02_perceptron-1.ipynb", True),
    ("LATE_anon_k3Xq9_7890125_02_perceptron.ipynb", "anon_k3Xq9", "02_perceptron.ipynb", True),
    ("_42_7_x.ipynb", "42", "x.ipynb", False),                       # a name of punctuation only
    ("müllerjürgen_42_7_02_perceptron.ipynb", "42", "02_perceptron.ipynb", False),
    # the student's own file name cannot move the user id: it is the third field whatever follows
    ("doejohn_222_999_smithjane_123456_7890123_02_perceptron.ipynb", "222",
     "smithjane_123456_7890123_02_perceptron.ipynb", False),
])
def test_canvas_names(name, key, file, late):
    entry = lms.canvas(name)
    assert (entry.key, entry.file, entry.late) == (key, file, late)


@pytest.mark.parametrize("name, reason", [
    ("smith_jane_123456_7890123_x.ipynb", "not Canvas's <name>[_LATE]_<user id>_<attachment id>_<file> naming"),
    ("smithjane_123456_x.ipynb", "not Canvas's <name>[_LATE]_<user id>_<attachment id>_<file> naming"),
    ("smithjane_123456_text.html", "a Canvas text entry or URL, not an uploaded notebook"),
    ("sub/smithjane_1_2_x.ipynb", "Canvas puts every file at the top of its zip; this one is in a folder"),
])
def test_canvas_refuses_names_outside_its_scheme(name, reason):
    with pytest.raises(lms.BadName) as refused:
        lms.canvas(name)
    assert str(refused.value) == reason


@pytest.mark.parametrize("name", [
    "Jane Smith_4242_assignsubmission_file/02_perceptron.ipynb",    # Moodle >= 4.1
    "Jane Smith_4242_assignsubmission_file_/02_perceptron.ipynb",   # Moodle 3.1 - 4.0
    "Jane Smith_4242_assignsubmission_file_02_perceptron.ipynb",    # before 3.1
    "Jane Smith_4242_assignsubmission_file/sub/02_perceptron.ipynb",
])
def test_moodle_names_of_every_version(name):
    entry = lms.moodle(name)
    assert (entry.key, entry.file, entry.name) == ("4242", "02_perceptron.ipynb", "Jane Smith")


def test_blackboard_names_anchor_on_the_assignment_prefix():
    names = ["Lesson 02_jsmith_attempt_2024-01-30-20-30-10_02_perceptron.ipynb",
             "Lesson 02_j_doe_attempt_2024-01-30-20-31-00_02_perceptron.ipynb",   # '_' in the username
             "Lesson 02_jsmith_attempt_2024-01-30-20-30-10.txt",
             "Lesson 02_eve_attempt_2024-01-30-20-30-10_x_attempt_2020-01-01-00-00-00_y.ipynb"]
    parsed = lms.parse_all("blackboard", names)
    assert [(e.key, e.file, e.receipt) for e in parsed] == [
        ("jsmith", "02_perceptron.ipynb", False), ("j_doe", "02_perceptron.ipynb", False),
        ("jsmith", "", True), ("eve", "x_attempt_2020-01-01-00-00-00_y.ipynb", False)]
    assert parsed[0].timestamp == datetime(2024, 1, 30, 20, 30, 10)


# -- a Canvas download with every hostile entry next to good ones ---------------------------------

def test_a_hostile_canvas_download_refuses_each_bad_file_alone(tmp_path):
    archive = make_zip(tmp_path / "canvas.zip", [
        ("smithjane_123456_7890123_02_perceptron.ipynb", NB),
        ("doejohn_LATE_222_333_02_perceptron-1.ipynb", OTHER),
        ("doejohn_LATE_222_334_notes.pdf", b"%PDF-1.4"),
        # 222 names a file after 123456's: it still lands in 222's folder, and 123456 is untouched
        ("doejohn_LATE_222_335_smithjane_123456_7890123_02_perceptron.ipynb", b"{}"),
        ("../evil_1_10_02_perceptron.ipynb", NB),
        ("/abs_1_11_02_perceptron.ipynb", NB),
        ("win\\evil_1_12_x.ipynb", NB),
        symlink("link_1_13_02_perceptron.ipynb"),
        ("eve_3_31_02_perceptron.zip", make_zip(tmp_path / "inner.zip", [("a.ipynb", NB)]).read_bytes()),
        ("eve_3_32_02_perceptron.ipynb", b"PK\x03\x04 a zip renamed"),
        ("bomb_4_40_02_perceptron.ipynb", b"0" * (8 << 20)),
        ("mallory_5_50_timestamp.txt", b"2099-01-01 00:00:00"),
        ("mallory_5_51_.hidden.ipynb", NB),
        ("Smith, Jane_6_60_x.ipynb", NB),
        ("smithjane_123456_text.html", b"<p>hi</p>"),
        ("__MACOSX/._smithjane_123456_7890123_02_perceptron.ipynb", b"junk"),
        ("eve_3_30_encrypted.ipynb", NB),
    ])
    mark_encrypted(archive, "eve_3_30_encrypted.ipynb")
    bomb = zipfile.ZipFile(archive).getinfo("bomb_4_40_02_perceptron.ipynb")
    course = tmp_path / "course"
    report = collect.from_zip(archive, course, LESSON, "canvas")
    assert body(report) == [
        "refused ../evil_1_10_02_perceptron.ipynb: its path leaves the archive ('..')",
        "refused /abs_1_11_02_perceptron.ipynb: an absolute path",
        "refused win\\evil_1_12_x.ipynb: a backslash in its name (a Windows path?)",
        "refused link_1_13_02_perceptron.ipynb: a symbolic link",
        "refused eve_3_31_02_perceptron.zip: a nested archive (not extracted: ask the student for the notebook itself)",
        f"refused bomb_4_40_02_perceptron.ipynb: compressed {bomb.file_size // bomb.compress_size}:1, over the "
        "200:1 limit (a zip bomb?)",
        "ignored __MACOSX/._smithjane_123456_7890123_02_perceptron.ipynb: operating-system metadata",
        "refused eve_3_30_encrypted.ipynb: encrypted",
        "refused Smith, Jane_6_60_x.ipynb: not Canvas's <name>[_LATE]_<user id>_<attachment id>_<file> naming",
        "refused smithjane_123456_text.html: a Canvas text entry or URL, not an uploaded notebook",
        "collected 123456: smithjane_123456_7890123_02_perceptron.ipynb -> 123456/02_perceptron/02_perceptron.ipynb",
        "ignored doejohn_LATE_222_334_notes.pdf: not a notebook (.ipynb)",
        "collected 222: doejohn_LATE_222_333_02_perceptron-1.ipynb -> 222/02_perceptron/02_perceptron.ipynb",
        "collected 222: doejohn_LATE_222_335_smithjane_123456_7890123_02_perceptron.ipynb -> "
        "222/02_perceptron/smithjane_123456_7890123_02_perceptron.ipynb",
        "refused eve_3_32_02_perceptron.ipynb: a nested archive (by its content)",
        "note 3: nothing collected",
        "refused mallory_5_50_timestamp.txt: timestamp.txt is nbgrader's own file: a student cannot hand it in",
        "refused mallory_5_51_.hidden.ipynb: file name '.hidden.ipynb' is empty, hidden, a path or too long",
        "note 5: nothing collected",
    ]
    assert report.summary() == "02_perceptron: 2 students collected from canvas.zip, 12 files refused, 2 ignored"
    assert submitted(course, "123456").read_bytes() == NB           # the student's bytes, unchanged
    assert sorted(p.name for p in (course / "submitted" / "222" / LESSON).iterdir()) == [
        "02_perceptron.ipynb", "smithjane_123456_7890123_02_perceptron.ipynb"]
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["123456", "222"]
    assert not list(course.rglob("timestamp.txt"))                   # Canvas names carry no time
    assert (course / "downloaded" / LESSON / "archive" / "canvas.zip").read_bytes() == archive.read_bytes()
    known = json.loads(collect.identities_path(course, LESSON).read_text())
    assert known == {"123456": {"lms": "canvas", "key": "123456", "name": "smithjane", "attachment": "7890123",
                                "attachment_of": "02_perceptron.ipynb"},
                     "222": {"lms": "canvas", "key": "222", "name": "doejohn", "late": True, "attachment": "333",
                             "attachment_of": "02_perceptron-1.ipynb"}}


def test_the_total_uncompressed_size_is_bounded(tmp_path):
    archive = make_zip(tmp_path / "d.zip", [(f"s{i}_{i}_{i}_02_perceptron.ipynb", NB) for i in range(1, 5)])
    limits = collect.Limits(total_bytes=int(len(NB) * 2.5))
    report = collect.from_zip(archive, tmp_path / "course", LESSON, "canvas", limits=limits)
    assert report.students == ["1", "2"]
    assert body(report)[:2] == [f"refused s{i}_{i}_{i}_02_perceptron.ipynb: the download passes "
                                f"{collect._size(limits.total_bytes)} uncompressed here; nothing more is extracted"
                                for i in (3, 4)]


def test_too_many_entries_or_not_a_zip_stops_the_command(tmp_path):
    archive = make_zip(tmp_path / "d.zip", [(f"s_{i}_{i}_x.ipynb", b"{}") for i in range(1, 4)])
    with pytest.raises(GraderError, match="3 entries, over the 2"):
        collect.from_zip(archive, tmp_path / "c", LESSON, "canvas", limits=collect.Limits(entries=2))
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(GraderError, match="is not a readable zip file"):
        collect.from_zip(tmp_path / "bad.zip", tmp_path / "c", LESSON, "canvas")


def test_a_resubmission_replaces_only_that_students_folder(tmp_path):
    course = tmp_path / "course"
    collect.from_zip(make_zip(tmp_path / "a.zip", [("a_1_1_02_perceptron.ipynb", NB),
                                                   ("b_2_2_02_perceptron.ipynb", NB)]), course, LESSON, "canvas")
    (course / "submitted" / "1" / LESSON / "stale.ipynb").write_bytes(b"{}")
    report = collect.from_zip(make_zip(tmp_path / "b.zip", [("a_1_3_02_perceptron-1.ipynb", OTHER)]),
                              course, LESSON, "canvas")
    assert body(report)[-1] == "note 1: replaced an earlier submission of this lesson"
    assert sorted(p.name for p in (course / "submitted" / "1" / LESSON).iterdir()) == [f"{LESSON}.ipynb"]
    assert submitted(course, "1").read_bytes() == OTHER and submitted(course, "2").read_bytes() == NB
    assert len(list((course / "downloaded" / LESSON / "archive").iterdir())) == 2


# -- Moodle and Blackboard downloads --------------------------------------------------------------

def test_a_moodle_download_with_a_roster_keys_students_by_email(tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", [
        ("Jane Smith_4242_assignsubmission_file/02_perceptron.ipynb", NB),
        ("John Doe_4243_assignsubmission_file_/02_perceptron.ipynb", OTHER),
        ("Ann Lee_4244_assignsubmission_onlinetext/onlinetext.html", b"<p>"),
        ("Bob Roe_4245_assignsubmission_file_02_perceptron.ipynb", NB),
        ("Weird_Name_4246_assignsubmission_file/02_perceptron.ipynb", NB),
    ])
    roster = tmp_path / "worksheet.csv"
    roster.write_text("Identifier,Full name,Email address,Status,Grade\n"
                      "Participant 4242,Jane Smith,jane@uni.example,Submitted,\n"
                      "Participant 4243,John Doe,john doe@uni.example,Submitted,\n")
    course = tmp_path / "course"
    report = collect.from_zip(archive, course, LESSON, "moodle", lms.read_roster(roster))
    assert body(report) == [
        "refused John Doe_4243_assignsubmission_file_/02_perceptron.ipynb: student id 'john doe@uni.example' "
        "is not usable as an nbgrader student id (letters A-Z, digits and . _ @ + - only, at most 100): "
        "map it with a roster",
        "refused Ann Lee_4244_assignsubmission_onlinetext/onlinetext.html: a Moodle onlinetext submission, "
        "not an uploaded file",
        "refused Weird_Name_4246_assignsubmission_file/02_perceptron.ipynb: not Moodle's <full name>_"
        "<participant id>_assignsubmission_file[_]/<file> naming",
        "collected 4245: Bob Roe_4245_assignsubmission_file_02_perceptron.ipynb -> 4245/02_perceptron/02_perceptron.ipynb",
        "collected jane@uni.example: Jane Smith_4242_assignsubmission_file/02_perceptron.ipynb -> "
        "jane@uni.example/02_perceptron/02_perceptron.ipynb",
    ]
    known = json.loads(collect.identities_path(course, LESSON).read_text())
    assert known["jane@uni.example"] == {"lms": "moodle", "key": "4242", "name": "Jane Smith", "participant": "4242"}


def test_a_blackboard_download_keeps_the_newest_attempt_and_writes_nbgraders_timestamp(tmp_path):
    from nbgrader.coursedir import CourseDirectory

    archive = make_zip(tmp_path / "bb.zip", [
        ("Lesson 02_jsmith_attempt_2024-01-30-20-30-10_02_perceptron.ipynb", NB),
        ("Lesson 02_jsmith_attempt_2024-01-31-09-00-00_02_perceptron.ipynb", OTHER),
        ("Lesson 02_jsmith_attempt_2024-01-31-09-00-00.txt",
         b"Name: Jane Smith (jsmith)\nAssignment: Lesson 02\nDate Submitted: ...\n"),
        ("Lesson 02_j_doe_attempt_2024-01-30-21-00-00_my notebook.ipynb", NB),
        ("Lesson 02_mallory_attempt_2024-02-30-25-61-61_02_perceptron.ipynb", NB),
        ("Lesson 02_mallory_attempt_20240101_02_perceptron.ipynb", NB),
        ("Lesson 02_josé_attempt_2024-01-30-20-30-10_02_perceptron.ipynb", NB),
        ("Lesson 02_$(reboot)_attempt_2024-01-30-20-30-10_02_perceptron.ipynb", NB),
        ("Lesson 02_a b_attempt_2024-01-30-20-30-10_02_perceptron.ipynb", NB),
        ("Lesson 02_ansi\x1b[31m_attempt_2024-01-30-20-30-10_02_perceptron.ipynb", NB),
        ("Other_eve_attempt_2024-01-30-20-30-10_02_perceptron.ipynb", NB),
    ])
    course = tmp_path / "course"
    report = collect.from_zip(archive, course, LESSON, "blackboard")
    unusable = "is not usable as an nbgrader student id (letters A-Z, digits and . _ @ + - only, at most 100): " \
               "map it with a roster"
    assert body(report) == [
        "refused Lesson 02_ansi\\x1b[31m_attempt_2024-01-30-20-30-10_02_perceptron.ipynb: control characters in its name",
        "refused Lesson 02_mallory_attempt_2024-02-30-25-61-61_02_perceptron.ipynb: bad timestamp "
        "'2024-02-30-25-61-61': not a real date and time",
        "refused Lesson 02_mallory_attempt_20240101_02_perceptron.ipynb: bad timestamp '20240101' "
        "(Blackboard writes YYYY-MM-DD-HH-MM-SS)",
        f"refused Lesson 02_josé_attempt_2024-01-30-20-30-10_02_perceptron.ipynb: student id 'josé' {unusable}",
        f"refused Lesson 02_$(reboot)_attempt_2024-01-30-20-30-10_02_perceptron.ipynb: student id '$(reboot)' {unusable}",
        f"refused Lesson 02_a b_attempt_2024-01-30-20-30-10_02_perceptron.ipynb: student id 'a b' {unusable}",
        "refused Other_eve_attempt_2024-01-30-20-30-10_02_perceptron.ipynb: ambiguous: it does not start with "
        "'Lesson 02', the assignment name of the rest of the download",
        "collected j_doe: Lesson 02_j_doe_attempt_2024-01-30-21-00-00_my notebook.ipynb -> j_doe/02_perceptron/02_perceptron.ipynb",
        "ignored Lesson 02_jsmith_attempt_2024-01-30-20-30-10_02_perceptron.ipynb: an older attempt than 2024-01-31 09:00:00",
        "collected jsmith: Lesson 02_jsmith_attempt_2024-01-31-09-00-00_02_perceptron.ipynb -> jsmith/02_perceptron/02_perceptron.ipynb",
    ]
    assert submitted(course, "jsmith").read_bytes() == OTHER
    stamp = course / "submitted" / "jsmith" / LESSON / "timestamp.txt"
    assert stamp.read_text() == "2024-01-31 09:00:00"
    assert CourseDirectory().get_existing_timestamp(str(stamp.parent)) == datetime(2024, 1, 31, 9, 0)
    assert json.loads(collect.identities_path(course, LESSON).read_text())["jsmith"]["name"] == "Jane Smith"


# -- a folder of submissions, with the same strictness ----------------------------------------------

def test_a_folder_collect_reports_every_name_it_cannot_use(tmp_path):
    folder = tmp_path / "incoming"
    (folder / "bo").mkdir(parents=True)
    (folder / "al.ipynb").write_bytes(NB)
    (folder / "bo" / "mine.ipynb").write_bytes(OTHER)
    (folder / "bo" / "data.zip").write_bytes(b"PK\x03\x04")
    (folder / "bo" / "timestamp.txt").write_text("not a time")
    (folder / "bo" / "link.ipynb").symlink_to(folder / "al.ipynb")
    (folder / "cy").mkdir()
    (folder / "cy" / "02_perceptron.ipynb").write_bytes(NB)
    (folder / "cy" / "timestamp.txt").write_text("2024-01-02 10:00:00.000000 UTC")
    (folder / "jo sé.ipynb").write_bytes(NB)
    (folder / "$(reboot).ipynb").write_bytes(NB)
    (folder / "README.txt").write_text("not a student")
    (folder / "dave.ipynb").symlink_to("/etc/passwd")
    (folder / ".DS_Store").write_bytes(b"junk")
    course = tmp_path / "course"
    report = collect.from_folder(folder, course, LESSON)
    unusable = "is not usable as an nbgrader student id (letters A-Z, digits and . _ @ + - only, at most 100): " \
               "map it with a roster"
    assert body(report) == [
        f"refused $(reboot).ipynb: student id '$(reboot)' {unusable}",
        "ignored .DS_Store: hidden or operating-system file",
        "ignored README.txt: neither a notebook (<student>.ipynb) nor a folder (<student>/)",
        "collected al: al.ipynb -> al/02_perceptron/02_perceptron.ipynb",
        "ignored bo/data.zip: a nested archive (not extracted)",
        "ignored bo/link.ipynb: a symbolic link or special file (not copied)",
        "refused bo/timestamp.txt: bad timestamp 'not a time' in timestamp.txt (not collected)",
        "collected bo: bo/mine.ipynb -> bo/02_perceptron/mine.ipynb",
        "collected cy: cy/02_perceptron.ipynb -> cy/02_perceptron/02_perceptron.ipynb",
        "refused dave.ipynb: a symbolic link",
        f"refused jo sé.ipynb: student id 'jo sé' {unusable}",
    ]
    assert report.students == ["al", "bo", "cy"]
    assert (course / "submitted" / "cy" / LESSON / "timestamp.txt").read_text() == "2024-01-02 10:00:00"
    assert not (course / "submitted" / "bo" / LESSON / "timestamp.txt").exists()


# -- the commands -------------------------------------------------------------------------------------

def autograder(*args, course: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "NNLAB_COURSE_DIR": str(course)}, timeout=600)


def test_the_collect_command_prints_the_report_and_writes_it_next_to_the_submissions(tmp_path):
    archive = make_zip(tmp_path / "download.zip", [("x_cy_attempt_2024-01-02-10-00-00_02_perceptron.ipynb", NB),
                                                   ("x_../../etc_attempt_2024-01-02-10-00-00_a.ipynb", NB)])
    course = tmp_path / "course"
    done = autograder("collect", LESSON, archive, course=course)    # --lms blackboard is the default
    assert done.returncode == 0, done.stderr
    report = (course / "submitted" / f"collect-{LESSON}.txt").read_text()
    assert report == ("refused x_../../etc_attempt_2024-01-02-10-00-00_a.ipynb: its path leaves the archive ('..')\n"
                      "collected cy: x_cy_attempt_2024-01-02-10-00-00_02_perceptron.ipynb -> "
                      "cy/02_perceptron/02_perceptron.ipynb\n"
                      "02_perceptron: 1 students collected from download.zip, 1 files refused, 0 ignored\n")
    assert report.rstrip() in done.stdout
    assert (course / "submitted" / "cy" / LESSON / "timestamp.txt").read_text() == "2024-01-02 10:00:00"


# -- exports, against the formats' documented columns ----------------------------------------------

@pytest.fixture(autouse=True)
def environment_bin_on_path(monkeypatch):
    """nbgrader's Gradebook runs the environment's ``alembic`` when it creates a database."""
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def graded_gradebook(course: Path, scores: dict[str, float | None], names: dict[str, tuple[str, str]] = {}):
    """A real nbgrader gradebook: lesson 02 with one 10-point cell, and each student's score."""
    from nbgrader.api import Gradebook

    with Gradebook(export.db_url(course)) as gb:
        gb.add_assignment(LESSON)
        gb.add_notebook(LESSON, LESSON)
        gb.add_grade_cell("tests", LESSON, LESSON, max_score=10, cell_type="code")
        gb.add_source_cell("tests", LESSON, LESSON, cell_type="code", source="", locked=True)
        for student, score in scores.items():
            first, last = names.get(student, ("", ""))
            gb.add_student(student, first_name=first, last_name=last)
            if score is not None:
                gb.add_submission(LESSON, student)
                grade = gb.find_grade("tests", LESSON, LESSON, student)
                grade.auto_score = score
                gb.db.commit()


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_canvas_and_moodle_exports_have_the_documented_columns(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    collect.from_zip(make_zip(tmp_path / "c.zip", [("smithjane_123456_7_02_perceptron.ipynb", NB),
                                                   ("doejohn_222_8_02_perceptron.ipynb", NB)]),
                     course, LESSON, "canvas")
    graded_gradebook(course, {"123456": 7.5, "222": 10.0, "999": None},
                     {"123456": ("Jane", "Smith"), "222": ("John", "=HYPERLINK(\"x\")")})
    roster = tmp_path / "canvas-export.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,02_perceptron (4567),Current Score\n"
                      "    Points Possible,,,,,10,\n"
                      "\"Smith, Jane\",123456,S1,jsmith,Sec A,,\n"
                      "\"Roe, Bob\",999,S9,broe,Sec B,,\n")
    log = []
    written = export.run(tmp_path / "grades.csv", course, ["canvas", "moodle"], roster=roster, log=log.append)
    assert [p.name for p in written] == ["grades.csv", "grades-canvas.csv", "grades-moodle.csv"]

    generic = read_csv(tmp_path / "grades.csv")   # nbgrader's own export
    assert generic[0] == ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                          "raw_score", "late_submission_penalty", "score", "max_score"]

    canvas = read_csv(tmp_path / "grades-canvas.csv")
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]   # Canvas's required five
    assert canvas[0][5:] == ["02_perceptron (4567)"]            # the roster's existing Canvas column
    assert canvas[1] == ["    Points Possible", "", "", "", "", "10"]
    assert canvas[2:] == [["Smith, Jane", "123456", "S1", "jsmith", "Sec A", "7.5"],
                          ["'=HYPERLINK(\"x\"), John", "222", "", "", "", "10"],
                          ["Roe, Bob", "999", "S9", "broe", "Sec B", ""]]      # no submission: left empty

    moodle = read_csv(tmp_path / "grades-moodle.csv")
    assert moodle == [["First name", "Last name", "ID number", "Email address", "02_perceptron"]]
    assert log[:3] == [f"moodle: left out {s}: no email address (give --roster: the assignment's grading worksheet "
                       "or the gradebook export)" for s in ("123456", "222", "999")]


def test_a_moodle_export_takes_emails_from_the_roster_or_the_student_id(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    graded_gradebook(course, {"jane@uni.example": 4.0, "4245": 6.0, "nobody": 1.0})
    (course / "lms").mkdir()
    collect.identities_path(course, LESSON).write_text(json.dumps(
        {"4245": {"lms": "moodle", "key": "4245", "participant": "4245", "name": "Bob Roe"}}))
    roster = tmp_path / "worksheet.csv"
    roster.write_text("Identifier,Full name,Email address\nParticipant 4245,Bob Roe,bob@uni.example\n")
    log = []
    export.run(tmp_path / "grades.csv", course, ["moodle"], lesson=LESSON, roster=roster, log=log.append)
    assert read_csv(tmp_path / "grades-moodle.csv") == [
        ["First name", "Last name", "ID number", "Email address", "02_perceptron"],
        ["Bob", "Roe", "", "bob@uni.example", "6"],
        ["", "", "", "jane@uni.example", "4"]]
    assert log[0] == "moodle: left out nobody: no email address (give --roster: the assignment's grading " \
                     "worksheet or the gradebook export)"
    with pytest.raises(GraderError, match="not in the gradebook"):
        export.run(tmp_path / "g.csv", course, ["moodle"], lesson="99_nothing", log=log.append)


# -- feedback named for the LMS's bulk upload ---------------------------------------------------------

def canvas_reupload_match(name: str) -> tuple[str, str]:
    """Canvas's rule for a re-uploaded file: the first two all-digit '_' fields are user id, attachment id."""
    user_id, attachment_id = [part for part in name.split("_") if part.isdigit()][:2]
    return user_id, attachment_id


def moodle_import_match(name: str) -> tuple[str, str, str]:
    """Moodle's importziplib rule: split on '_' into at most 5; [1] the participant id, [2:4] the plugin."""
    info = name.split("_", 4)
    assert len(info) >= 4 and info[1].isdigit()
    return info[1], f"{info[2]}_{info[3]}", info[4]


def test_feedback_zips_are_named_so_each_lms_matches_the_student(tmp_path):
    course = tmp_path / "course"
    collect.from_zip(make_zip(tmp_path / "c.zip", [("smithjane_123456_7890123_02_perceptron.ipynb", NB)]),
                     course, LESSON, "canvas")
    moodle_lesson = "03_activation_functions"
    collect.from_zip(make_zip(tmp_path / "m.zip", [(f"Jane Smith_4242_assignsubmission_file/{moodle_lesson}.ipynb", NB)]),
                     course, moodle_lesson, "moodle")
    for student, lesson in (("123456", LESSON), ("4242", moodle_lesson), ("stranger", LESSON)):
        page = course / "feedback" / student / lesson / f"{lesson}.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<html>{student}</html>")
    log = []
    names = export.feedback_zip(course, LESSON, tmp_path / "canvas-feedback.zip", "canvas", log=log.append)
    assert names == ["smithjane_123456_7890123_02_perceptron-feedback.html"]
    assert canvas_reupload_match(names[0]) == ("123456", "7890123")
    assert log == ["feedback: left out stranger: not collected from a canvas download",
                   "wrote " + str(tmp_path / "canvas-feedback.zip") + ": feedback for 1 of 2 students, "
                   "named for canvas's bulk upload"]
    with zipfile.ZipFile(tmp_path / "canvas-feedback.zip") as zipped:
        assert zipped.read(names[0]) == b"<html>123456</html>"

    names = export.feedback_zip(course, moodle_lesson, tmp_path / "moodle.zip", "moodle", log=log.append)
    assert names == [f"Jane Smith_4242_assignfeedback_file_{moodle_lesson}-feedback.html"]
    assert moodle_import_match(names[0]) == ("4242", "assignfeedback_file", f"{moodle_lesson}-feedback.html")
    with pytest.raises(GraderError, match="blackboard has no bulk upload"):
        export.feedback_zip(course, LESSON, tmp_path / "b.zip", "blackboard")


def test_rosters_read_canvas_and_moodle_exports(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes("\ufeffStudent,ID,SIS User ID,SIS Login ID,Section\n    Points Possible,,,,\n"
                     "\"Smith, Jane\",123456,S1,jsmith,A\n".encode())
    roster = lms.read_roster(path)
    assert roster.rows == [{"name": "Smith, Jane", "canvas_id": "123456", "sis_user_id": "S1",
                            "sis_login_id": "jsmith", "section": "A"}]
    assert roster.by_key("canvas") == {"123456": roster.rows[0]} and roster.find("123456") == roster.rows[0]
    path.write_text("Name,Score\nx,1\n")
    with pytest.raises(lms.BadName, match="has none of the columns"):
        lms.read_roster(path)


# -- one whole run: Canvas download -> collect -> nbgrader autograde -> export and feedback zip -----

def test_collect_grade_export_end_to_end_on_lesson_02(tmp_path):
    from support.submissions import fill_answers

    import nbformat

    course = tmp_path / "course"
    release_dir, release, model = class_release(LESSON, course)
    solved = nbformat.writes(fill_answers(release, model)).encode()
    archive = make_zip(tmp_path / "canvas.zip", [
        ("smithjane_123456_7890123_02_perceptron.ipynb", solved),
        ("doejohn_LATE_222_333_02_perceptron-1.ipynb", nbformat.writes(release).encode()),
        ("../../escape_1_1_02_perceptron.ipynb", solved)])
    done = autograder("collect", LESSON, archive, "--lms", "canvas", course=course)
    assert done.returncode == 0, done.stderr
    assert "02_perceptron: 2 students collected from canvas.zip, 1 files refused, 0 ignored" in done.stdout
    graded = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", LESSON,
                             f"--CourseDirectory.release_directory={release_dir}"], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "NNLAB_COURSE_DIR": str(course)}, timeout=600)
    assert graded.returncode == 0, graded.stderr[-3000:]
    done = autograder("export", tmp_path / "grades.csv", "--format", "canvas", course=course)
    assert done.returncode == 0, done.stderr
    canvas = read_csv(tmp_path / "grades-canvas.csv")
    assert canvas[0][:6] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LESSON]
    rows = {row[1]: row for row in canvas[2:]}
    assert float(rows["123456"][5]) == 10.0 and float(rows["222"][5]) == 0.0
    done = autograder("feedback", LESSON, "--zip", tmp_path / "fb.zip", "--lms", "canvas", course=course)
    assert done.returncode == 0, done.stderr[-3000:]
    with zipfile.ZipFile(tmp_path / "fb.zip") as zipped:
        assert sorted(zipped.namelist()) == ["doejohn_222_333_02_perceptron-feedback.html",
                                             "smithjane_123456_7890123_02_perceptron-feedback.html"]


def test_a_corrupt_entry_a_duplicate_name_and_a_roster_clash_are_refused_alone(tmp_path):
    archive = tmp_path / "c.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zipped:
        zipped.writestr("good_1_1_02_perceptron.ipynb", NB)
        zipped.writestr("twice_2_2_x.ipynb", NB)
        zipped.writestr("twice_2_3_x.ipynb", OTHER)
        zipped.writestr("twice_2_4_y.ipynb", OTHER)
        zipped.writestr("broken_3_5_02_perceptron.ipynb", b'{"cells": []}')
        zipped.writestr("alias_4_6_02_perceptron.ipynb", NB)
        zipped.writestr("alias_5_7_02_perceptron.ipynb", NB)
    data = archive.read_bytes()
    archive.write_bytes(data.replace(b'{"cells": []}', b'{"cells": ]]}', 1))   # same size, bad CRC
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,ID\nsame,4\nsame,5\n")
    report = collect.from_zip(archive, tmp_path / "course", LESSON, "canvas", lms.read_roster(roster))
    assert body(report) == [
        "refused alias_5_7_02_perceptron.ipynb: canvas ids 4 and 5 both map to student same in the roster",
        "refused alias_4_6_02_perceptron.ipynb: student same has two canvas ids in this download",
        "collected 1: good_1_1_02_perceptron.ipynb -> 1/02_perceptron/02_perceptron.ipynb",
        "refused twice_2_3_x.ipynb: a second file named 'x.ipynb' for this student",
        "collected 2: twice_2_2_x.ipynb -> 2/02_perceptron/x.ipynb",
        "collected 2: twice_2_4_y.ipynb -> 2/02_perceptron/y.ipynb",
        "refused broken_3_5_02_perceptron.ipynb: unreadable in the zip (Bad CRC-32 for file "
        "'broken_3_5_02_perceptron.ipynb')",
        "note 3: nothing collected",
    ]
    assert report.students == ["1", "2"]


def test_a_folder_over_the_size_bounds_is_refused_without_touching_the_others(tmp_path):
    folder = tmp_path / "incoming"
    for student, sizes in {"al": [10, 10], "bo": [30], "cy": [20, 20, 20]}.items():
        (folder / student).mkdir(parents=True)
        for i, size in enumerate(sizes):
            (folder / student / f"f{i}.ipynb").write_bytes(b"x" * size)
    report = collect.from_folder(folder, tmp_path / "course", LESSON,
                                 collect.Limits(file_bytes=25, total_bytes=50))
    assert body(report) == [
        "collected al: al/f0.ipynb -> al/02_perceptron/f0.ipynb",
        "collected al: al/f1.ipynb -> al/02_perceptron/f1.ipynb",
        f"refused bo/f0.ipynb: {collect._size(30)}, over the {collect._size(25)} limit for one file",
        "note bo: nothing collected",
        f"refused cy/: the folder passes {collect._size(50)}: nothing of it is collected",
    ]
