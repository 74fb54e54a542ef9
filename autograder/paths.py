"""Where everything is: the repository, the class-run folder, and inside it the gradebook and every output.

``nbgrader_config.py`` maps nbgrader's course directory onto the same folders (for plain nbgrader
commands); the pipeline reads them from here and hands nbgrader the gradebook URL explicitly. The
URL itself is ``db.url`` (sqlite in the class folder, or ``NNLAB_DB_URL``'s PostgreSQL).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def course_dir() -> Path:
    """The class-run folder: NNLAB_COURSE_DIR, or .course/ in the repository."""
    return Path(os.environ.get("NNLAB_COURSE_DIR", REPOSITORY / ".course")).resolve()


@dataclass(frozen=True)
class Course:
    """One class-run folder and the paths the pipeline uses in it."""
    root: Path

    @classmethod
    def here(cls) -> "Course":
        return cls(course_dir())

    @property
    def gradebook_url(self) -> str:
        from .db import url  # sqlite in this folder unless NNLAB_DB_URL (or nbgrader_config.py) says otherwise
        return url(self.root)

    @property
    def submitted(self) -> Path:       # <student>/<assignment>/…: the originals, never written by the grader
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def staged(self) -> Path:          # the graded notebooks handed to nbgrader's autograde
        return self.root / "pipeline" / "staged"

    def results(self, assignment: str) -> Path:  # <student>.json: score, reasons, notes, fingerprint
        return self.root / "pipeline" / "results" / assignment

    def log(self, assignment: str) -> Path:      # the instructor's log: every refusal, every traceback
        return self.root / "pipeline" / "logs" / f"{assignment}.log"
