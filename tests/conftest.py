"""Shared paths and helpers for the test suite."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
LESSON_IDS = sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").exists())
BIN = Path(sys.executable).parent  # the environment's bin: nbgrader, jupyter, alembic


def solution_path(lesson: str) -> Path:
    return SOLUTIONS / lesson / f"{lesson}.ipynb"


def release_path(lesson: str) -> Path:
    return LESSONS / lesson / f"{lesson}.ipynb"


def tool_env(extra: dict | None = None) -> dict:
    """This process's environment with the environment's bin first on PATH, plus ``extra``."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(extra or {})}


def run_tool(*args, cwd=ROOT, env=None, timeout=600) -> subprocess.CompletedProcess:
    """Run a command of the environment (nbgrader, jupyter…) and return it; output is captured."""
    return subprocess.run([str(a) for a in args], cwd=cwd, env=tool_env(env), capture_output=True,
                          text=True, timeout=timeout)


def class_release(lesson: str, course: Path):
    """Release ``lesson`` into ``course`` (a temporary class folder, its own gradebook) as an instructor would.

    Returns ``(release_dir, release, model)``: the folder holding ``<lesson>/<lesson>.ipynb``, that release
    notebook, and the solution's model answers keyed by grade id (see support/submissions.py).
    """
    import nbformat

    from support.submissions import model_answers

    release_dir = course / "release"
    made = run_tool("nbgrader", "generate_assignment", lesson, "--force",
                    f"--CourseDirectory.release_directory={release_dir}", env={"NNLAB_COURSE_DIR": str(course)})
    assert made.returncode == 0, made.stderr[-3000:]
    release = nbformat.read(release_dir / lesson / f"{lesson}.ipynb", as_version=4)
    return release_dir, release, model_answers(nbformat.read(solution_path(lesson), as_version=4))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test (item.report_call…), so a fixture can see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(params=LESSON_IDS)
def lesson(request) -> str:
    """Each lesson id, e.g. '02_perceptron'."""
    return request.param
