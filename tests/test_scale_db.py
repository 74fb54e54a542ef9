"""The gradebook on PostgreSQL: its URL, concurrent recorders, the ledger, and a database that does not answer.

A real PostgreSQL server (a throwaway cluster on 127.0.0.1, ``support.servers``) holds a real nbgrader
gradebook with lesson 02's release. The recorders are nbgrader's own autograde (``autograder.gradebook``)
in several processes at once, recording verdict notebooks made without executing anything (each test
cell passes or fails by a rule of the student's number), so that only the recording is under test:
the class graded end to end through the pipeline into PostgreSQL is in ``test_scale_queue.py``.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import time
from pathlib import Path

import nbformat
import pytest
import sqlalchemy
from nbgrader.api import Gradebook

from autograder import db, gradebook, paths
from conftest import run_tool
from support.servers import PostgresServer, free_port, require

LESSON = "02_perceptron"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    require("initdb", "postgres")
    with PostgresServer.start() as server:
        yield server


class _Course(paths.Course):
    """A class folder whose gradebook is the given URL (the pipeline reads it from ``db.url`` in use)."""
    url: str = ""

    @property
    def gradebook_url(self) -> str:
        return self.url or super().gradebook_url


def course_at(root: Path, url: str) -> _Course:
    course = _Course(root)
    object.__setattr__(course, "url", url)
    return course


def release_into(root: Path, url: str) -> Path:
    """Release the lesson into the gradebook at ``url`` with plain nbgrader; the release notebook's path."""
    made = run_tool("nbgrader", "generate_assignment", LESSON, "--force",
                    f"--CourseDirectory.release_directory={root / 'release'}",
                    env={"NNLAB_COURSE_DIR": str(root), "NNLAB_DB_URL": url})
    assert made.returncode == 0, made.stderr[-3000:]
    return root / "release" / LESSON / f"{LESSON}.ipynb"


def graded_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


def verdict_for(release, number: int):
    """A graded notebook as the sandbox hands it back: test cell j fails when (number + j) % 3 == 0."""
    notebook = copy.deepcopy(release)
    for j, cell in enumerate(graded_cells(notebook)):
        cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="planted", traceback=[])] \
            if (number + j) % 3 == 0 else []
    return notebook


def expected_scores(release, number: int) -> dict[str, float]:
    return {c.metadata["nbgrader"]["grade_id"]: 0.0 if (number + j) % 3 == 0 else float(c.metadata["nbgrader"]["points"])
            for j, c in enumerate(graded_cells(release))}


def _recorder(root: str, url: str, release_path: str, students: list, ledger: bool, results) -> None:
    """One recording process: records ``students`` ([(name, number)]) in order, through the ledger or not."""
    recorder = gradebook.Recorder(course_at(Path(root), url), LESSON, LESSON)
    release = nbformat.read(release_path, as_version=4)
    book = db.Ledger(url) if ledger else None
    for student, number in students:
        record = lambda: {"scores": recorder.record(student, verdict_for(release, number), None, False)[0]}  # noqa: E731
        try:
            if book is None:
                results.put((student, record()["scores"], True))
            else:
                result, recorded = book.record(LESSON, student, f"fp-{number}", "run-1", False, record)
                results.put((student, result["scores"], recorded))
        except Exception as error:  # the race this test is about: reported, not raised
            results.put((student, f"{type(error).__name__}: {str(error)[:200]}", False))


def record_concurrently(root: Path, url: str, release_path: Path, plan: list[list], ledger: bool) -> list:
    """One process per entry of ``plan``, all started together; every (student, scores or error, recorded)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=_recorder, args=(str(root), url, str(release_path), part, ledger, results))
                 for part in plan]
    for process in processes:
        process.start()
    out = [results.get(timeout=300) for part in plan for _ in part]
    for process in processes:
        process.join(30)
    return out


def census(url: str) -> dict[str, int]:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        counts = {table: connection.execute(sqlalchemy.text(f"select count(*) from {table}")).scalar()
                  for table in ("submitted_assignment", "submitted_notebook", "grade")}
    engine.dispose()
    return counts


# -- the URL ------------------------------------------------------------------------------------------


def test_the_gradebook_url_is_sqlite_by_default_and_postgresql_when_configured(tmp_path, monkeypatch):
    monkeypatch.delenv(db.ENV, raising=False)
    assert db.url(tmp_path) == f"sqlite:///{tmp_path / 'gradebook.db'}"
    monkeypatch.setenv(db.ENV, "postgresql://grader:secret@db.example:5432/course")
    assert db.url(tmp_path) == "postgresql+psycopg://grader:secret@db.example:5432/course"
    assert db.redacted(db.url(tmp_path)) == "postgresql+psycopg://grader:***@db.example:5432/course"
    # nbgrader's own commands read the same variable through nbgrader_config.py
    shown = run_tool("python", "-c", "from traitlets.config.loader import PyFileConfigLoader as L; "
                     "print(L('nbgrader_config.py', path='.').load_config().CourseDirectory.db_url)",
                     env={db.ENV: "postgres://grader:secret@db.example/course", "NNLAB_COURSE_DIR": str(tmp_path)})
    assert shown.stdout.strip() == "postgresql+psycopg://grader:secret@db.example/course", shown.stderr
    with pytest.raises(db.GraderError, match="needs a PostgreSQL gradebook"):
        db.Ledger(db.sqlite_url(tmp_path))


def test_a_database_that_refuses_connections_is_a_clear_error():
    closed = f"postgresql+psycopg://grader:secret@127.0.0.1:{free_port()}/course"
    with pytest.raises(db.DatabaseUnavailable) as raised:
        db.check(closed, timeout_s=2)
    message = str(raised.value)
    assert "does not answer" in message and "refused" in message.lower() and "secret" not in message
    assert "running the same command again" in message


def test_a_database_that_hangs_is_a_clear_error_within_its_timeout(postgres):
    url = postgres.create_database("hangs")
    db.check(url)
    postgres.pause()
    try:
        started = time.monotonic()
        with pytest.raises(db.DatabaseUnavailable, match="does not answer"):
            db.check(url, timeout_s=2)
        assert time.monotonic() - started < 10
    finally:
        postgres.resume()
    db.check(url)


# -- many recorders ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def released(postgres, tmp_path_factory) -> tuple[Path, str, Path]:
    """One PostgreSQL gradebook with the lesson released: (class folder, URL, release notebook)."""
    root = tmp_path_factory.mktemp("pg")
    url = postgres.create_database("concurrent")
    return root, url, release_into(root, url)


def test_concurrent_recorders_lose_and_duplicate_nothing(released):
    """Three processes record 4 students at once into PostgreSQL, two of them also recorded twice at once
    (a redelivered task) through the ledger: one submission per student, each with the scores its verdict
    implies, and exactly one finished recording each. (A class executed and recorded by several processes,
    compared with the sqlite run of the same class: ``test_scale_queue.py``.)"""
    root, url, release_path = released
    release = nbformat.read(release_path, as_version=4)
    students = {f"s{n}": n for n in range(4)}
    plan = [[(s, n) for s, n in students.items() if n % 3 == k] for k in range(3)]
    plan[1].insert(0, ("s3", 3))  # s3 and s2 are delivered twice, to two processes at once
    plan[0].insert(0, ("s2", 2))
    outcome = record_concurrently(root, url, release_path, plan, ledger=True)

    errors = [o for o in outcome if isinstance(o[1], str)]
    assert errors == []
    recorded = [s for s, _, did in outcome if did]
    assert sorted(recorded) == sorted(students), "each student is recorded once, duplicates are skipped"
    ledger = db.Ledger(url)
    entries = ledger.all(LESSON)
    assert {s: e.recordings for s, e in entries.items()} == {s: 1 for s in students}
    with Gradebook(url) as book:
        got = {s.student.id: {g.name: g.score for g in s.notebooks[0].grades if g.name in expected_scores(release, 0)}
               for s in book.find_assignment(LESSON).submissions if s.student.id in students}
    assert got == {s: expected_scores(release, n) for s, n in students.items()}
    with Gradebook(url) as book:  # one submission each, no second row for a student delivered twice
        ours = [s.student.id for s in book.find_assignment(LESSON).submissions if s.student.id in students]
    assert sorted(ours) == sorted(students)


    # a second delivery after the run (the message was redelivered late) changes nothing
    again = record_concurrently(root, url, release_path, [[("s1", 1)]], ledger=True)
    assert again[0][2] is False and ledger.get(LESSON, "s1").recordings == 1
    ledger.close()


def test_without_the_ledger_the_same_student_recorded_twice_at_once_can_fail(released):
    """Why the ledger exists: nbgrader's look-up-then-insert races when one student is recorded twice at once.

    Without the ledger's lock the two recordings of each student step on each other (the unique
    constraint of ``submitted_assignment``, or one recorder removing the other's staged notebook);
    the outcome depends on timing, so this only checks that no student ends up with two submissions.
    """
    root, url, release_path = released
    before = census(url)["submitted_assignment"]
    plan = [[(f"r{n}", n) for n in range(3)] for _ in range(2)]  # two processes, the same three students
    outcome = record_concurrently(root, url, release_path, plan, ledger=False)
    failures = [o for o in outcome if isinstance(o[1], str)]
    counts = census(url)
    assert counts["submitted_assignment"] - before == 3, "a unique constraint keeps one submission per student"
    print(f"{len(failures)} of {len(outcome)} unguarded recordings failed: {[f[1][:80] for f in failures[:3]]}")
