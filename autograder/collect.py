"""Bring submissions into nbgrader's ``submitted/<student>/<lesson>/`` folders, strictly.

Two sources:

* an LMS download (``.zip``), its entry names read with one LMS's scheme (``lms.py``: Canvas,
  Moodle, Blackboard). We extract it ourselves instead of running nbgrader's ``zip_collect``:
  zip_collect matches its pattern against the whole extracted path, extracts archives inside the
  archive, has no bound on sizes, and stops the whole collection at the first duplicate or bad
  timestamp. Here every entry is checked on its own, before a byte is written;
* a folder of ``<student>.ipynb`` files or ``<student>/`` folders (an nbgrader exchange copy, say).

Every refusal is for that file alone, with its reason in the collect report (printed, and written
to ``submitted/collect-<lesson>.txt``); the others are collected. Refused: a name outside the
scheme, a bad timestamp, a nested archive, an absolute or ``..`` path, a symbolic link or other
non-regular entry, an encrypted entry, a file over ``Limits.file_bytes`` or compressed more than
``Limits.ratio`` to one, entries past ``Limits.total_bytes`` in all, and a student id that is not
safe as a folder name and URL (``lms.STUDENT_ID``; map such students with a roster). The bytes of
each collected file are the student's own, unchanged; the download itself is kept in
``downloaded/<lesson>/archive/``. A student's earlier submission of the lesson is replaced as a
whole; other students' folders are never touched. What the LMS said about each student (its user
id, display name, attachment or participant id) goes to ``lms/<lesson>.json`` for ``export`` and
``feedback``.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import lms
from .errors import GraderError

ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".jar", ".whl")
MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"BZh", b"\xfd7zXZ\x00")
RESERVED = {"timestamp.txt", "submission_secret.txt", ".ipynb_checkpoints"}  # nbgrader reads these
JUNK = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Limits:
    entries: int = 20_000               # entries in one download (more: not an LMS download)
    file_bytes: int = 64 << 20          # one file, uncompressed (the grader refuses big notebooks anyway)
    total_bytes: int = 2 << 30          # the whole download, uncompressed
    ratio: int = 200                    # uncompressed : compressed, for files over ratio_floor_bytes
    ratio_floor_bytes: int = 1 << 20


@dataclass
class Report:
    """What happened to every entry: one line each, in the order given, then a summary."""
    lesson: str
    source: str
    lines: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)   # collected, sorted
    refused: int = 0
    ignored: int = 0

    def collect(self, student: str, text: str) -> None:
        self.lines.append(f"collected {student}: {text}")

    def refuse(self, entry: str, reason: str) -> None:
        self.refused += 1
        self.lines.append(f"refused {lms.shown(entry)}: {reason}")

    def ignore(self, entry: str, reason: str) -> None:
        self.ignored += 1
        self.lines.append(f"ignored {lms.shown(entry)}: {reason}")

    def note(self, student: str, text: str) -> None:
        self.lines.append(f"note {student}: {text}")

    def summary(self) -> str:
        return (f"{self.lesson}: {len(self.students)} students collected from {lms.shown(self.source)}, "
                f"{self.refused} files refused, {self.ignored} ignored")

    def text(self) -> str:
        return "\n".join([*self.lines, self.summary()]) + "\n"

    def write(self, course: Path) -> Path:
        path = course / "submitted" / f"collect-{self.lesson}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text())
        return path


@dataclass
class _File:
    """One file to collect for one student, before it is written."""
    entry: str                    # its name in the download (or its path in the folder)
    target: str                   # its file name in the student's folder
    read: object                  # () -> bytes, bounded
    entry_info: lms.Entry | None = None


# -- the two sources ---------------------------------------------------------------------------------

def from_zip(archive: Path, course: Path, lesson: str, scheme: str = lms.DEFAULT,
             roster: lms.Roster | None = None, limits: Limits = Limits()) -> Report:
    """Collect ``lesson`` from an LMS download named by ``scheme`` (canvas, moodle, blackboard)."""
    report = Report(lesson, archive.name)
    try:
        zipped = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as error:
        raise GraderError(f"{archive} is not a readable zip file: {error}") from None
    with zipped:
        infos = zipped.infolist()
        if len(infos) > limits.entries:
            raise GraderError(f"{archive} has {len(infos)} entries, over the {limits.entries} an LMS download "
                              "of one lesson could hold: not collected")
        files = [info for info in infos if not info.is_dir()]
        safe, total = [], 0
        for info in files:
            if JUNK & set(info.filename.split("/")):
                report.ignore(info.filename, "operating-system metadata")
                continue
            reason = _unsafe_entry(info, limits)
            if reason is None and total + info.file_size > limits.total_bytes:
                reason = f"the download passes {_size(limits.total_bytes)} uncompressed here; nothing more is extracted"
            if reason:
                report.refuse(info.filename, reason)
                continue
            total += info.file_size
            safe.append(info)
        names = [info.filename for info in safe]
        keys = roster.by_key(scheme) if roster else None
        per_student: dict[str, list[_File]] = {}
        identities: dict[str, dict] = {}
        for info, parsed in zip(safe, lms.parse_all(scheme, names)):
            if isinstance(parsed, lms.BadName):
                report.refuse(info.filename, str(parsed))
                continue
            try:
                student = _student_id(parsed.key, scheme, keys)
            except lms.BadName as refused:
                report.refuse(info.filename, str(refused))
                continue
            known = identities.setdefault(student, {"lms": scheme, "key": parsed.key})
            if known["key"] != parsed.key:
                report.refuse(info.filename, f"{scheme} ids {known['key']} and {parsed.key} both map to "
                                             f"student {student} in the roster")
                known["clash"] = True
                continue
            _remember(known, parsed, scheme)
            if parsed.receipt:
                try:
                    text = _read(zipped, info, min(limits.file_bytes, 1 << 16)).decode("utf-8", errors="replace")
                except _Unreadable as refused:
                    report.refuse(info.filename, str(refused))
                    continue
                known.setdefault("name", lms.receipt_name(text))
                continue
            per_student.setdefault(student, []).append(
                _File(info.filename, parsed.file, lambda i=info: _read(zipped, i, limits.file_bytes), parsed))
        for student in [s for s, known in identities.items() if known.pop("clash", False)]:
            for item in per_student.pop(student, []):
                report.refuse(item.entry, f"student {student} has two {scheme} ids in this download")
        for student in sorted(per_student):
            _store(course, lesson, student, _latest(per_student[student], report), report)
    _keep_download(archive, course, lesson)
    _record_identities(course, lesson, {s: identities[s] for s in report.students})
    return report


def from_folder(folder: Path, course: Path, lesson: str, limits: Limits = Limits()) -> Report:
    """Collect ``lesson`` from a folder of ``<student>.ipynb`` files or ``<student>/`` folders."""
    report = Report(lesson, folder.name)
    if not folder.is_dir():
        raise GraderError(f"{folder} is neither a folder nor a .zip file")
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name in JUNK or entry.name.startswith("."):
            report.ignore(entry.name, "hidden or operating-system file")
            continue
        if entry.is_symlink():
            report.refuse(entry.name, "a symbolic link")
            continue
        is_file, is_dir = entry.is_file(follow_symlinks=False), entry.is_dir(follow_symlinks=False)
        if is_file and not entry.name.endswith(".ipynb"):
            report.ignore(entry.name, "neither a notebook (<student>.ipynb) nor a folder (<student>/)")
            continue
        if not (is_file or is_dir):
            report.refuse(entry.name, "not a regular file or folder")
            continue
        try:
            student = lms.check_student_id(entry.name[:-len(".ipynb")] if is_file else entry.name)
        except lms.BadName as refused:
            report.refuse(entry.name, str(refused))
            continue
        if is_file:
            size = entry.stat(follow_symlinks=False).st_size
            if size > limits.file_bytes:
                report.refuse(entry.name, f"{_size(size)}, over the {_size(limits.file_bytes)} limit for one file")
                continue
            files = [_File(entry.name, f"{lesson}.ipynb", lambda p=Path(entry.path): _read_path(p, limits.file_bytes))]
        else:
            files = _folder_files(Path(entry.path), entry.name, report, limits)
            if files is None:
                continue
        _store(course, lesson, student, files, report, keep_names=is_dir)
    return report


# -- checks -------------------------------------------------------------------------------------------

def _unsafe_entry(info: zipfile.ZipInfo, limits: Limits) -> str | None:
    """Why this zip entry must not be extracted, or None."""
    name = info.filename
    parts = name.split("/")
    mode = info.external_attr >> 16
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "control characters in its name"
    if "\\" in name:
        return "a backslash in its name (a Windows path?)"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if ".." in parts:
        return "its path leaves the archive ('..')"
    if "" in parts or "." in parts:
        return "an empty or '.' part in its path"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if info.create_system == 3 and stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return "not a regular file"
    if info.flag_bits & 0x1:
        return "encrypted"
    if name.lower().endswith(ARCHIVES):
        return "a nested archive (not extracted: ask the student for the notebook itself)"
    if info.file_size > limits.file_bytes:
        return f"{_size(info.file_size)} uncompressed, over the {_size(limits.file_bytes)} limit for one file"
    if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.ratio * max(info.compress_size, 1):
        return (f"compressed {info.file_size // max(info.compress_size, 1)}:1, over the {limits.ratio}:1 "
                "limit (a zip bomb?)")
    return None


def _file_name(name: str) -> str:
    """``name`` if it can be a file name in a student's folder; else ``BadName``."""
    if not name or name.startswith(".") or "/" in name or "\\" in name or len(name.encode()) > 200:
        raise lms.BadName(f"file name {lms.shown(name)!r} is empty, hidden, a path or too long")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise lms.BadName("control characters in its file name")
    if name.lower() in RESERVED:
        raise lms.BadName(f"{name} is nbgrader's own file: a student cannot hand it in")
    return name


def _student_id(key: str, scheme: str, keys: dict | None) -> str:
    if keys is not None and key in keys:
        row = keys[key]
        return lms.check_student_id(lms.Roster([row], []).student_of(row, scheme))
    return lms.check_student_id(key)


def _remember(known: dict, parsed: lms.Entry, scheme: str) -> None:
    if parsed.name:
        known["name"] = parsed.name
    if parsed.late:
        known["late"] = True
    # Canvas's re-upload needs one attachment id of the submission: the first notebook's, else the first
    if scheme == "canvas" and ("attachment" not in known or
                               parsed.file.endswith(".ipynb") and not known["attachment_of"].endswith(".ipynb")):
        known["attachment"], known["attachment_of"] = parsed.extra["attachment"], parsed.file
    if scheme == "moodle":
        known["participant"] = parsed.key


def _latest(files: list[_File], report: Report) -> list[_File]:
    """Blackboard may hold several attempts of one student: keep the newest attempt's files."""
    stamps = {f.entry_info.timestamp for f in files if f.entry_info and f.entry_info.timestamp}
    if len(stamps) <= 1:
        return files
    newest = max(stamps)
    for item in files:
        if item.entry_info.timestamp != newest:
            report.ignore(item.entry, f"an older attempt than {newest:%Y-%m-%d %H:%M:%S}")
    return [f for f in files if f.entry_info.timestamp == newest]


def _folder_files(root: Path, top: str, report: Report, limits: Limits) -> list[_File] | None:
    """The files of one student's folder, each checked; None when the folder as a whole is refused."""
    files, total = [], 0
    for base, dirs, names in os.walk(root, followlinks=False):
        for name in sorted(dirs):
            if os.path.islink(os.path.join(base, name)):
                report.ignore(f"{top}/{Path(base, name).relative_to(root)}", "a symbolic link (not copied)")
        for name in sorted(names):
            path = Path(base, name)
            shown_path = f"{top}/{path.relative_to(root)}"
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                report.ignore(shown_path, "a symbolic link or special file (not copied)")
                continue
            if name.lower().endswith(ARCHIVES):
                report.ignore(shown_path, "a nested archive (not extracted)")
                continue
            if info.st_size > limits.file_bytes:
                report.refuse(shown_path, f"{_size(info.st_size)}, over the {_size(limits.file_bytes)} limit for one file")
                continue
            total += info.st_size
            if total > limits.total_bytes:
                report.refuse(f"{top}/", f"the folder passes {_size(limits.total_bytes)}: nothing of it is collected")
                return None
            read = lambda p=path: _read_path(p, limits.file_bytes)  # noqa: E731
            files.append(_File(shown_path, str(path.relative_to(root)), read))
    return files


# -- reading, bounded ----------------------------------------------------------------------------------

class _Unreadable(Exception):
    pass


def _read(zipped: zipfile.ZipFile, info: zipfile.ZipInfo, bound: int) -> bytes:
    """The entry's bytes, reading at most ``min(bound, declared size)`` (a lying header is refused)."""
    limit = min(bound, info.file_size)
    try:
        with zipped.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
        raise _Unreadable(f"unreadable in the zip ({error})") from None
    if len(data) > limit:
        raise _Unreadable("holds more bytes than its header declares")
    return data


def _read_path(path: Path, bound: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as stream:
        data = stream.read(bound + 1)
    if len(data) > bound:
        raise _Unreadable(f"over the {_size(bound)} limit for one file")
    return data


# -- writing -------------------------------------------------------------------------------------------

def _store(course: Path, lesson: str, student: str, files: list[_File], report: Report,
           keep_names: bool = False) -> None:
    """Write one student's files into a fresh folder, then put it in place of their old one."""
    submitted = course / "submitted"
    submitted.mkdir(parents=True, exist_ok=True)
    home = submitted / student
    if home.is_symlink() or (home.exists() and not home.is_dir()):
        for item in files:
            report.refuse(item.entry, f"{home} is not a folder (a symbolic link?)")
        return
    staging = submitted / f".collect-{lesson}-{student}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    written, stamp = [], None
    notebooks = [f for f in files if f.target.endswith(".ipynb")]
    # the notebook to grade takes the lesson's name: the only one, or the only <lesson>[-N].ipynb
    # (Canvas appends -1, -2 to a resubmitted file's name)
    named = [f for f in notebooks if re.fullmatch(rf"{re.escape(lesson)}(-\d+)?\.ipynb", f.target)]
    graded = notebooks[0] if len(notebooks) == 1 else named[0] if len(named) == 1 else None
    for item in files:
        try:
            target = item.target if keep_names else _file_name(item.target)
            if not keep_names and not target.endswith(".ipynb"):
                report.ignore(item.entry, "not a notebook (.ipynb)")
                continue
            if not keep_names and item is graded:
                target = f"{lesson}.ipynb"
            if keep_names and target == "timestamp.txt":
                stamp = _checked_timestamp(item.read().decode("utf-8", errors="replace"))
                continue
            data = item.read()
            if target.endswith(".ipynb") and data[:8].startswith(MAGIC):
                raise _Unreadable("a nested archive (by its content)")
            path = staging / target
            if path.exists():
                raise lms.BadName(f"a second file named {lms.shown(target)!r} for this student")
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "xb") as out:  # x: never through an existing file or link
                out.write(data)
        except (lms.BadName, _Unreadable, OSError) as refused:
            report.refuse(item.entry, str(refused) if not isinstance(refused, OSError)
                          else f"unreadable ({refused.strerror})")
            continue
        written.append((item, target))
        if item.entry_info and item.entry_info.timestamp:
            stamp = item.entry_info.timestamp
    if not written:
        shutil.rmtree(staging)
        report.note(student, "nothing collected")
        return
    if stamp is not None:
        (staging / "timestamp.txt").write_text(stamp.isoformat(" "))
    replaced = (home / lesson).exists()
    home.mkdir(exist_ok=True)
    if replaced:
        shutil.rmtree(home / lesson)
    os.rename(staging, home / lesson)
    for item, target in written:
        report.collect(student, f"{lms.shown(item.entry)} -> {student}/{lesson}/{lms.shown(target)}")
    if replaced:
        report.note(student, "replaced an earlier submission of this lesson")
    report.students = sorted({*report.students, student})


def _checked_timestamp(text: str) -> datetime:
    """A student folder's timestamp.txt, parsed as nbgrader would, and sane; else ``BadName``."""
    from nbgrader.utils import parse_utc

    text = text.strip()
    try:
        if len(text) > 64:
            raise ValueError
        stamp = parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        raise lms.BadName(f"bad timestamp {lms.shown(text[:40])!r} in timestamp.txt (not collected)") from None
    if not 2000 <= stamp.year <= 2100:
        raise lms.BadName(f"bad timestamp {text[:40]!r} in timestamp.txt: year out of range (not collected)")
    return stamp


def _keep_download(archive: Path, course: Path, lesson: str) -> None:
    """Keep the download byte for byte where nbgrader's zip_collect keeps its archives."""
    kept = course / "downloaded" / lesson / "archive"
    kept.mkdir(parents=True, exist_ok=True)
    target = kept / archive.name
    if target.exists() and not filecmp.cmp(target, archive, shallow=False):
        with open(archive, "rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()[:12]
        target = kept / f"{archive.stem}-{digest}{archive.suffix}"
    if not target.exists():
        shutil.copyfile(archive, target)


def identities_path(course: Path, lesson: str) -> Path:
    return course / "lms" / f"{lesson}.json"


def _record_identities(course: Path, lesson: str, identities: dict[str, dict]) -> None:
    path = identities_path(course, lesson)
    known = json.loads(path.read_text()) if path.is_file() else {}
    known.update(identities)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, indent=1, sort_keys=True, ensure_ascii=False))


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.3g} {unit}"
    return f"{n} bytes"


# -- the command ---------------------------------------------------------------------------------------

def run(lesson: str, source: Path, course: Path, scheme: str = lms.DEFAULT, roster: Path | None = None,
        log=print) -> Report:
    """``python -m autograder collect``: collect, print the report and write it next to the submissions."""
    if not source.exists():
        raise GraderError(f"{source} does not exist")
    if source.suffix.lower() == ".zip" and source.is_file():
        try:
            table = lms.read_roster(roster) if roster else None
        except (lms.BadName, OSError) as error:
            raise GraderError(str(error)) from None
        report = from_zip(source, course, lesson, scheme, table)
    else:
        report = from_folder(source, course, lesson)
    written = report.write(course)
    log(report.text().rstrip())
    log(f"report: {written}")
    return report
