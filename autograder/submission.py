"""One student's submission folder: which notebook to grade, what else is there, its timestamp, its hash.

The folder is the student's: nothing in it is followed or trusted. It is walked without following
symbolic links (a link to ``/`` or to another student is listed, never entered), at most
``MAX_ENTRIES`` entries; only a regular file can be the notebook; ``timestamp.txt`` is read only as
a small regular file and kept only when it is a real date. Nothing here writes to the folder: the
original submission stays byte for byte as it was handed in.

The hash covers everything the grade depends on (the notebook's bytes, the names of the other
files, the timestamp, the reference notebook and the grading settings), so a rerun skips exactly
the students whose grade could not change, and regrades a student who handed in again.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .intake import Refused, read_file

IGNORED = {".ipynb_checkpoints", "timestamp.txt", "__MACOSX", ".DS_Store"}
MAX_ENTRIES = 10_000          # files and folders looked at in one submission
TIMESTAMP_BYTES = 200
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)


@dataclass
class Submission:
    student: str
    folder: Path
    notebook: Path | None            # the notebook to grade, None when there is none
    notes: list[str] = field(default_factory=list)
    timestamp: str | None = None     # as nbgrader reads it, normalised; None when absent or refused

    def data(self, limit: int) -> bytes:
        """The notebook's bytes (raises ``intake.Refused`` for a file that is not one, or too large)."""
        return read_file(self.notebook, limit) if self.notebook else b""

    def fingerprint(self, settings: str) -> str:
        digest = hashlib.sha256(settings.encode())
        if self.notebook:
            _hash_file(self.notebook, digest)
        digest.update("\n".join(sorted(self.notes)).encode())
        digest.update((self.timestamp or "").encode())
        return digest.hexdigest()


def _hash_file(path: Path, digest, most: int = 64 << 20) -> None:
    """Add the file's bytes (or, past ``most``, its size and time: it is refused anyway) without following links."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        digest.update(f"unopenable {error.errno}".encode())
        return
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > most:
            digest.update(f"{info.st_mode} {info.st_size} {info.st_mtime_ns}".encode())
            return
        while chunk := os.read(descriptor, 1 << 20):
            digest.update(chunk)
    finally:
        os.close(descriptor)


def _walk(folder: Path) -> tuple[list[Path], bool]:
    """Every file and link below ``folder`` (links not followed), sorted; and whether the walk was cut short."""
    found, seen = [], 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        here = Path(root)
        for name in sorted(files) + [d for d in dirs if (here / d).is_symlink()]:
            seen += 1
            if seen > MAX_ENTRIES:
                return sorted(found), True
            if name not in IGNORED:
                found.append(here / name)
    return sorted(found), False


def read_timestamp(path: Path) -> tuple[str | None, str | None]:
    """``(timestamp, note)``: the date in ``timestamp.txt`` normalised for nbgrader, or None and why not."""
    if not os.path.lexists(path):
        return None, None
    try:
        text = read_file(path, TIMESTAMP_BYTES).decode("utf-8").strip()
    except (Refused, UnicodeDecodeError) as error:
        return None, f"timestamp.txt ignored: {error}"
    try:
        from nbgrader.utils import parse_utc
        when = parse_utc(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if not EARLIEST <= when <= LATEST:
            raise ValueError("out of range")
    except Exception as error:  # dateutil raises several types (ValueError, OverflowError, ParserError…)
        return None, f"timestamp.txt ignored: {text[:60]!r} is not a date ({type(error).__name__})"
    return when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"), None


def find(student: str, folder: Path, notebook_name: str) -> Submission:
    """The submission of ``student`` in ``folder``, expecting ``notebook_name`` (e.g. 02_perceptron.ipynb)."""
    files, cut = _walk(folder)
    timestamp, note = read_timestamp(folder / "timestamp.txt")
    submission = Submission(student, folder, None, timestamp=timestamp, notes=[note] if note else [])
    expected = folder / notebook_name
    notebooks = [p for p in files if p.suffix == ".ipynb" and not p.is_symlink() and p.is_file()]
    if expected in notebooks:
        submission.notebook = expected
    elif len(notebooks) == 1:
        submission.notebook = notebooks[0]
        submission.notes.append(f"renamed notebook: graded {notebooks[0].relative_to(folder)} as {notebook_name}")
    elif notebooks:
        submission.notes.append(f"{len(notebooks)} notebooks and none named {notebook_name}: cannot tell which")
    elif os.path.lexists(expected):
        submission.notes.append(f"{notebook_name} is not a regular file (a link, a folder or a pipe): not read")
    extra = [str(p.relative_to(folder)) for p in files if p != submission.notebook]
    if extra or cut:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        shown += f" (only the first {MAX_ENTRIES} entries were looked at)" if cut else ""
        submission.notes.append(f"extra files ignored (only the notebook is graded): {shown}")
    return submission


def all_in(submitted: Path, assignment: str, notebook_name: str) -> list[Submission]:
    """Every student's submission of ``assignment`` under nbgrader's submitted folder."""
    if not submitted.is_dir():
        return []
    students = sorted(p.name for p in submitted.iterdir()
                      if not p.is_symlink() and (p / assignment).is_dir() and not (p / assignment).is_symlink())
    return [find(student, submitted / student / assignment, notebook_name) for student in students]
