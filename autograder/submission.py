"""One student's submission folder: which notebook to grade, what else is there, and its hash.

The hash covers everything the grade depends on (the notebook's bytes, the names of the other
files, the reference notebook and the grading settings), so a rerun skips exactly the students
whose grade could not change, and regrades a student who handed in again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

IGNORED = {".ipynb_checkpoints", "timestamp.txt", "__MACOSX", ".DS_Store"}


@dataclass
class Submission:
    student: str
    folder: Path
    notebook: Path | None            # the notebook to grade, None when there is none
    notes: list[str] = field(default_factory=list)
    timestamp: str | None = None

    def data(self) -> bytes:
        return self.notebook.read_bytes() if self.notebook else b""

    def fingerprint(self, settings: str) -> str:
        digest = hashlib.sha256(settings.encode())
        digest.update(self.data())
        digest.update("\n".join(sorted(self.notes)).encode())
        return digest.hexdigest()


def find(student: str, folder: Path, notebook_name: str) -> Submission:
    """The submission of ``student`` in ``folder``, expecting ``notebook_name`` (e.g. 02_perceptron.ipynb)."""
    files = sorted(p for p in folder.rglob("*") if not (set(p.relative_to(folder).parts) & IGNORED)
                   and (p.is_file() or p.is_symlink()))
    stamp = folder / "timestamp.txt"
    submission = Submission(student, folder, None,
                            timestamp=stamp.read_text().strip() if stamp.is_file() else None)
    expected = folder / notebook_name
    notebooks = [p for p in files if p.suffix == ".ipynb" and not p.is_symlink()]
    if expected in notebooks:
        submission.notebook = expected
    elif len(notebooks) == 1:
        submission.notebook = notebooks[0]
        submission.notes.append(f"renamed notebook: graded {notebooks[0].relative_to(folder)} as {notebook_name}")
    elif notebooks:
        submission.notes.append(f"{len(notebooks)} notebooks and none named {notebook_name}: cannot tell which")
    extra = [str(p.relative_to(folder)) for p in files if p != submission.notebook]
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        submission.notes.append(f"extra files ignored (only the notebook is graded): {shown}")
    return submission


def all_in(submitted: Path, assignment: str, notebook_name: str) -> list[Submission]:
    """Every student's submission of ``assignment`` under nbgrader's submitted folder."""
    students = sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) if submitted.is_dir() else []
    return [find(student, submitted / student / assignment, notebook_name) for student in students]
