"""Bring submissions into nbgrader's submitted folder: from a folder of notebooks or an LMS zip.

A folder may hold one notebook per student (``<student>.ipynb``) or one folder per student
(``<student>/…``, copied whole: the grader decides later what in it counts). An LMS download is
handed to nbgrader's own ``zip_collect`` with a file-name pattern; the default fits names like
``<anything>_<student>_attempt_<timestamp>_<file>.ipynb``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .gradebook import REPOSITORY

LMS_PATTERN = r".*_(?P<student_id>[A-Za-z0-9.\-]+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>.+)"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


def from_folder(folder: Path, course: Path, assignment: str) -> list[str]:
    """Copy each student's notebook (or folder) into ``course/submitted``; returns the student ids."""
    students = []
    for entry in sorted(folder.iterdir()):
        student = entry.stem if entry.is_file() else entry.name
        if not STUDENT_ID.match(student) or (entry.is_file() and entry.suffix != ".ipynb"):
            continue
        target = course / "submitted" / student / assignment
        shutil.rmtree(target, ignore_errors=True)
        if entry.is_dir():
            shutil.copytree(entry, target, symlinks=True)
        else:
            target.mkdir(parents=True)
            shutil.copy2(entry, target / f"{assignment}.ipynb")
        students.append(student)
    return students


def from_zip(archive: Path, course: Path, assignment: str, pattern: str = LMS_PATTERN) -> None:
    """Run nbgrader's zip_collect on an LMS download (a zip file) with ``pattern`` for its file names."""
    downloaded = course / "downloaded" / assignment / "archive"
    downloaded.mkdir(parents=True, exist_ok=True)
    shutil.copy2(archive, downloaded / archive.name)
    nbgrader = Path(sys.executable).parent / "nbgrader"
    # zip_collect glues its folder to the course root with a "/", so an absolute folder breaks it:
    # give it the same folder relative to the repository root instead
    relative = os.path.relpath(course / "downloaded", REPOSITORY)
    subprocess.run([str(nbgrader), "zip_collect", assignment, "--force",
                    f"--ZipCollectApp.downloaded_directory={relative}",
                    f"--FileNameCollectorPlugin.named_regexp={pattern}"], cwd=REPOSITORY, check=True)
