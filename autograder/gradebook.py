"""The single writer: nbgrader records each graded notebook in its gradebook and writes feedback.

nbgrader's sqlite gradebook is not safe for concurrent writers, so every write goes through one
``Recorder`` in the pipeline's main thread, one student at a time, while the kernels run in
parallel elsewhere. The recording is nbgrader's own `autograde`, configured not to execute
anything (the notebook arrives executed, from the sandbox) and not to clear outputs (they are the
verdict); its other steps are kept: overwriting test cells from the gradebook, checking metadata,
saving the grades, late penalties. `--force` semantics make a second recording replace the first.
Feedback is nbgrader's `generate_feedback`, with hidden tests cleared from the HTML. Every notebook is
sanitised (``sanitise``) on its way in, so nothing a student wrote runs in the formgrader or the feedback.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, DeduplicateIds,
                                    GetGrades, IgnorePattern, LimitOutput, OverwriteCells,
                                    OverwriteKernelspec, SaveAutoGrades)
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import sanitise
from .errors import GraderError
from .paths import REPOSITORY, Course, course_dir  # noqa: F401 (course_dir: the old home of the name)

# nbgrader's gradebook triggers SQLAlchemy's autoflush warnings on every autograde: noise, not news.
warnings.filterwarnings("ignore", category=SAWarning)


def course_config(course: Course) -> Config:
    """The repository's nbgrader_config.py, with autograde reading pre-executed notebooks from the staging folder."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPOSITORY)).load_config()
    config.CourseDirectory.submitted_directory = str(course.staged)
    config.CourseDirectory.autograded_directory = str(course.autograded)
    config.CourseDirectory.feedback_directory = str(course.feedback)
    config.CourseDirectory.db_url = course.gradebook_url
    config.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
    config.Autograde.autograde_preprocessors = [IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                                SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    config.GenerateFeedback.preprocessors = [ClearHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
    config.ClearHiddenTests.enforce_metadata = False  # the autograded copy is checked already
    return config


class Recorder:
    """Writes graded notebooks into nbgrader's gradebook, autograded and feedback folders."""

    def __init__(self, course: Course, assignment: str, notebook: str, trusted_sources: set[str] = frozenset()):
        self.course, self.assignment, self.notebook = course, assignment, notebook
        self.trusted = set(trusted_sources)  # the release's cell sources: never rewritten by the sanitiser
        self.staged = course.staged
        self.config = course_config(course)
        self.coursedir = CourseDirectory(config=self.config)
        self.api = NbGraderAPI(self.coursedir, config=self.config)

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    def test_sources(self) -> dict[str, str]:
        """Each graded/locked cell's source as the gradebook holds it (hidden tests included)."""
        with Gradebook(self.db_url) as gb:
            try:
                cells = gb.find_notebook(self.notebook, self.assignment).source_cells
            except MissingEntry:
                raise GraderError(f"{self.assignment} is not in the gradebook {self.db_url}: "
                                  f"run `python -m autograder release {self.assignment}` first") from None
            return {cell.name: cell.source for cell in cells}

    def record(self, student: str, graded, timestamp: str | None, feedback: bool) -> tuple[dict[str, float], list[str]]:
        """Record ``graded`` (a notebook, sanitised here) for ``student``; returns every graded cell's score, and notes.

        Raises ``GraderError`` when nbgrader refuses to record or to write the feedback.
        """
        notes = sanitise.notebook(graded, self.trusted)
        nbformat.validate(graded)
        folder = self.staged / student / self.assignment
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        nbformat.write(graded, folder / f"{self.notebook}.ipynb")
        if timestamp:
            (folder / "timestamp.txt").write_text(timestamp)
        self._check(self.api.autograde(self.assignment, student, force=True, create=True), "autograde", student)
        if feedback:
            self._check(self.api.generate_feedback(self.assignment, student, force=True), "feedback", student)
        return self.scores(student), notes

    def scores(self, student: str) -> dict[str, float]:
        with Gradebook(self.db_url) as gb:
            submission = gb.find_submission_notebook(self.notebook, self.assignment, student)
            return {grade.name: grade.score for grade in submission.grades}

    @staticmethod
    def _check(result: dict, step: str, student: str) -> None:
        if not result.get("success"):
            raise GraderError(f"nbgrader {step} failed for {student}:\n{str(result.get('log', ''))[-3000:]}\n"
                              f"{str(result.get('error', ''))[-3000:]}")
