"""The gradebook's database: where it is, whether it answers, and recording that many processes can share.

**Where.** ``NNLAB_DB_URL`` (``postgresql://user:password@host:5432/course``), else the ``db_url`` an
instructor set in ``nbgrader_config.py`` when it is not the default sqlite file, else sqlite in the
class folder (``gradebook.db``): one instructor on one machine needs nothing else. ``postgresql://``
means SQLAlchemy's psycopg 3 driver (``postgresql+psycopg://``), for nbgrader as for the pipeline.

**Many writers.** nbgrader's gradebook (SQLAlchemy, a fresh engine and session per ``Gradebook``)
records different students from several processes at once on PostgreSQL without conflict: each
student's rows (student, submission, one grade and comment per cell) are their own, and the course,
assignment and cell rows are only read once the lesson is released. What it cannot do is record
*the same* student twice at once: ``update_or_create_submission`` looks the submission up and then
inserts it, so two writers both insert and one fails on the unique constraint
``submitted_assignment(assignment_id, student_id)``, and both rewrite the same staging and
autograded folders under each other (measured: see ``tests/test_scale_db.py``). ``autograde --force``
on its own replaces a submission's grades in place (the rows are updated, never added), so a second
recording after the first has finished duplicates nothing. A queue that redelivers a task whose
worker died (Celery's acks-late) produces exactly that: two recordings of one student, perhaps at
once. Hence the ``Ledger``: one row per (assignment, student) in the same database, and

1. before executing anything, a worker asks the ledger whether this submission (its fingerprint) was
   recorded already in this run: then it returns the recorded result and does nothing else;
2. to record, it takes a PostgreSQL advisory lock on (assignment, student) inside a transaction on a
   connection of its own (a second recorder of the same student waits, bounded by ``lock_s``; a
   recorder that dies releases it with its connection), asks again, records with nbgrader, and
   writes the ledger row in that same transaction: the row exists if and only if a recording
   finished. A recorder killed half-way leaves no row, so the redelivered task records again, and
   nbgrader's forced autograde replaces what the first half-wrote.

``recordings`` counts the recordings that finished for a student (the tests assert it is 1).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import GraderError
from .paths import REPOSITORY

ENV = "NNLAB_DB_URL"
LEDGER = "nnlab_ledger"


class DatabaseUnavailable(GraderError):
    """The gradebook's database does not answer (down, refusing connections, wrong password)."""


def normalise(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean the psycopg 3 driver; every other URL is kept as it is."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_url(course_root: Path) -> str:
    return f"sqlite:///{Path(course_root) / 'gradebook.db'}"


def url(course_root: Path) -> str:
    """The gradebook URL for the class folder ``course_root`` (see the module's docstring for the order)."""
    explicit = os.environ.get(ENV, "").strip()
    if explicit:
        return normalise(explicit)
    configured = configured_url()
    if configured and not configured.startswith("sqlite"):
        return normalise(configured)
    return sqlite_url(course_root)


def configured_url() -> str | None:
    """``c.CourseDirectory.db_url`` as ``nbgrader_config.py`` sets it (None when it sets none)."""
    from traitlets.config.loader import PyFileConfigLoader
    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(REPOSITORY)).load_config()
    except Exception:  # a broken config is nbgrader's own error to report, at its own step
        return None
    value = config.get("CourseDirectory", {}).get("db_url")
    return str(value) if value else None


def is_postgres(db_url: str) -> bool:
    return db_url.startswith(("postgresql", "postgres"))


def redacted(db_url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", db_url)


def engine(db_url: str, timeout_s: float = 10):
    """A SQLAlchemy engine that gives up connecting after ``timeout_s`` (PostgreSQL's connect_timeout)."""
    import sqlalchemy
    args = {"connect_timeout": max(1, int(timeout_s))} if is_postgres(db_url) else {}
    return sqlalchemy.create_engine(db_url, connect_args=args, pool_pre_ping=True)


def explain(db_url: str, error: BaseException) -> DatabaseUnavailable:
    """The instructor's message for a database that did not answer."""
    cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300] if str(error).strip() else \
        type(error).__name__
    return DatabaseUnavailable(
        f"the gradebook database {redacted(db_url)} does not answer ({cause}). Nothing was lost: every grade "
        f"recorded so far is kept, and running the same command again when the database is back grades the "
        f"rest. Check that PostgreSQL is running and that {ENV} (or db_url in nbgrader_config.py) is right.")


def check(db_url: str, timeout_s: float = 10) -> None:
    """Connect once and run ``select 1``; raise ``DatabaseUnavailable`` with the reason when that fails."""
    import sqlalchemy
    from sqlalchemy.exc import SQLAlchemyError
    eng = engine(db_url, timeout_s)
    try:
        with eng.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
    except (SQLAlchemyError, OSError) as error:
        raise explain(db_url, error) from None
    finally:
        eng.dispose()


def transient(error: BaseException) -> bool:
    """True for a database error worth retrying later (connection lost or refused, lock wait over)."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    if isinstance(error, DatabaseUnavailable | OperationalError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    text = str(error).lower()
    return any(words in text for words in ("connection refused", "could not connect", "server closed the connection",
                                           "terminating connection", "lock timeout", "canceling statement due to"))


def lock_key(assignment: str, student: str) -> int:
    """A signed 64-bit key for ``pg_advisory_xact_lock``, the same on every machine."""
    digest = hashlib.sha256(f"nnlab-record\0{assignment}\0{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass
class Entry:
    """One ledger row: the last finished recording of a student's assignment."""
    assignment: str
    student: str
    fingerprint: str
    run: str
    result: dict
    recordings: int


class Ledger:
    """The ledger table in the gradebook's PostgreSQL database (created on first use)."""

    def __init__(self, db_url: str, *, lock_s: float = 120, timeout_s: float = 10):
        if not is_postgres(db_url):
            raise GraderError(f"grading on several workers records from several processes at once, which needs a "
                              f"PostgreSQL gradebook; this one is {redacted(db_url)}. Set {ENV}=postgresql://… "
                              f"(deploy/README.md) or grade without --broker.")
        self.db_url, self.lock_s = db_url, lock_s
        self.engine = engine(db_url, timeout_s)
        self._create()

    def _create(self) -> None:
        import sqlalchemy
        statement = sqlalchemy.text(
            f"create table if not exists {LEDGER} (assignment text not null, student text not null, "
            "fingerprint text not null, run text not null, result text not null, "
            "recordings integer not null default 1, recorded_at timestamptz not null default clock_timestamp(), "
            "primary key (assignment, student))")
        with self._connect() as connection:
            # two workers creating the table at once race in PostgreSQL's catalogue: serialise them
            connection.execute(sqlalchemy.text("select pg_advisory_xact_lock(7140001)"))
            connection.execute(statement)
            connection.commit()

    @contextlib.contextmanager
    def _connect(self):
        from sqlalchemy.exc import SQLAlchemyError
        try:
            with self.engine.connect() as connection:
                yield connection
        except (SQLAlchemyError, OSError) as error:
            if transient(error):
                raise explain(self.db_url, error) from error
            raise

    def get(self, assignment: str, student: str) -> Entry | None:
        import sqlalchemy
        with self._connect() as connection:
            row = connection.execute(sqlalchemy.text(
                f"select fingerprint, run, result, recordings from {LEDGER} where assignment = :a and student = :s"),
                {"a": assignment, "s": student}).first()
        return None if row is None else Entry(assignment, student, row[0], row[1], json.loads(row[2]), row[3])

    def all(self, assignment: str) -> dict[str, Entry]:
        import sqlalchemy
        with self._connect() as connection:
            rows = connection.execute(sqlalchemy.text(
                f"select student, fingerprint, run, result, recordings from {LEDGER} where assignment = :a"),
                {"a": assignment}).all()
        return {r[0]: Entry(assignment, r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows}

    def since(self, assignment: str, after) -> tuple[list[Entry], object]:
        """The rows recorded since ``after`` (a database timestamp, None: all) and the latest time seen:
        what a coordinator following thousands of recordings reads each time, instead of every row.

        A row's time is taken when it is written, just before its commit; the look back reaches 30 s
        before ``after``, so that a row written earlier but committed later is never missed (a caller
        sees some rows twice)."""
        import sqlalchemy
        with self._connect() as connection:
            rows = connection.execute(sqlalchemy.text(
                f"select student, fingerprint, run, result, recordings, recorded_at from {LEDGER} "
                "where assignment = :a and (cast(:t as timestamptz) is null "
                "or recorded_at >= cast(:t as timestamptz) - interval '30 seconds') order by recorded_at"),
                {"a": assignment, "t": after}).all()
        latest = rows[-1][5] if rows else after
        return [Entry(assignment, r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows], latest

    def forget(self, assignment: str) -> None:
        """Drop the assignment's rows (tests; a course starting over)."""
        import sqlalchemy
        with self._connect() as connection:
            connection.execute(sqlalchemy.text(f"delete from {LEDGER} where assignment = :a"), {"a": assignment})
            connection.commit()

    @staticmethod
    def settled(entry: Entry | None, fingerprint: str, run: str, force: bool) -> bool:
        """Whether ``entry`` already records this submission for this run (so a delivery has nothing to do)."""
        if entry is None or entry.fingerprint != fingerprint:
            return False
        return not force or entry.run == run

    def record(self, assignment: str, student: str, fingerprint: str, run: str, force: bool, recording) -> tuple[dict, bool]:
        """Record once: ``recording()`` (nbgrader's writes, returning the result dict) runs under the student's lock.

        Returns ``(result, recorded)``; ``recorded`` is False when another delivery had recorded the
        same submission already (its result is returned, and ``recording`` is not called).
        """
        import sqlalchemy
        from sqlalchemy.exc import OperationalError
        with self._connect() as connection:
            connection.execute(sqlalchemy.text(f"set local lock_timeout = '{int(self.lock_s * 1000)}ms'"))
            # a recorder that hangs (a stopped machine) gives its lock up with its connection
            connection.execute(sqlalchemy.text("set local idle_in_transaction_session_timeout = '15min'"))
            try:
                connection.execute(sqlalchemy.text("select pg_advisory_xact_lock(:k)"),
                                   {"k": lock_key(assignment, student)})
            except OperationalError as error:
                raise explain(self.db_url, error) from error
            row = connection.execute(sqlalchemy.text(
                f"select fingerprint, run, result, recordings from {LEDGER} where assignment = :a and student = :s"),
                {"a": assignment, "s": student}).first()
            entry = None if row is None else Entry(assignment, student, row[0], row[1], json.loads(row[2]), row[3])
            if self.settled(entry, fingerprint, run, force):
                connection.rollback()
                return entry.result, False
            started = time.monotonic()
            result = recording()
            result = {**result, "record_s": round(time.monotonic() - started, 3)}
            connection.execute(sqlalchemy.text(
                f"insert into {LEDGER} (assignment, student, fingerprint, run, result) values (:a, :s, :f, :r, :j) "
                f"on conflict (assignment, student) do update set fingerprint = excluded.fingerprint, "
                f"run = excluded.run, result = excluded.result, recordings = {LEDGER}.recordings + 1, "
                f"recorded_at = clock_timestamp()"),
                {"a": assignment, "s": student, "f": fingerprint, "r": run, "j": json.dumps(result)})
            connection.commit()
            return result, True

    def close(self) -> None:
        self.engine.dispose()
