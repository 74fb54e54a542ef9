"""Grading across machines: Celery workers on a real redis-server, recording into a real PostgreSQL gradebook.

A class of lesson 02 (model answers, the blank release, half-right answers) is graded three ways and
every test cell's score compared: locally into sqlite (the pipeline as an instructor runs it alone);
locally into PostgreSQL by three processes recording at once; and through the queue into PostgreSQL
with two worker processes, one of them killed (SIGKILL, its whole process group: a machine going
down) while it executes a submission. Every student must be
recorded exactly once (one ledger row with one finished recording, one nbgrader submission), with
the local run's scores. Then the failures of issue 21.6: a broker that is down and a database that
refuses connections stop the run before anything is queued, with what to do; a worker that hangs
mid-task (SIGSTOP) and no other worker make the run stop when nothing progresses, and running the
same command again with a worker up grades the rest, while the hung worker's late recording, once
it wakes, changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import db, sandbox
from support.submissions import fill_answers, model_answers
from conftest import ROOT, run_tool, tool_env
from support.servers import PostgresServer, RedisServer, free_port, require
from test_grading_cycle import HALF_RIGHT, LESSON
from test_scale_db import release_into

VISIBILITY_S = 20


@pytest.fixture(scope="module")
def servers():
    require()
    if not sandbox.bwrap():
        message = "bubblewrap (bwrap) is not installed: the sandbox cannot be tested (apt-get install bubblewrap)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    with PostgresServer.start() as pg, RedisServer.start() as redis:
        yield pg, redis


@pytest.fixture(scope="module")
def released(servers, tmp_path_factory) -> Path:
    """The lesson released once into the PostgreSQL database "released", the template of every test's gradebook."""
    pg, _ = servers
    root = tmp_path_factory.mktemp("released")
    release_into(root, pg.create_database("released"))
    return root / "release"


def pg_class(pg, root: Path, name: str, released: Path, students: dict[str, str]) -> tuple[str, Path]:
    """A class in a gradebook copied from the released one (nbgrader's release, without releasing again)."""
    url = pg.create_database(name, template="released")
    shutil.copytree(released, root / "release")
    return url, make_class(root, url, students, released=True)


def make_class(root: Path, url: str, students: dict[str, str], released: bool = False) -> Path:
    """Release the lesson into ``url`` (unless it is) and hand in one notebook per student (model, stub, half)."""
    release_path = root / "release" / LESSON / f"{LESSON}.ipynb" if released else release_into(root, url)
    release = nbformat.read(release_path, as_version=4)
    model = model_answers(nbformat.read(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4))
    kinds = {"model": fill_answers(release, model), "stub": release,
             "half": fill_answers(release, {**{k: model[k] for k in ("net_input", "predict")}, **HALF_RIGHT})}
    for student, kind in students.items():
        folder = root / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        nbformat.write(kinds[kind], folder / f"{LESSON}.ipynb")
    return root / "release"


def env_for(root: Path, url: str) -> dict:
    return {"NNLAB_COURSE_DIR": str(root), db.ENV: url}


def worker(root: Path, url: str, broker: str, log: Path) -> subprocess.Popen:
    """``python -m autograder worker`` in a process group of its own (so it can be killed whole)."""
    return subprocess.Popen([sys.executable, "-m", "autograder", "worker", f"--broker={broker}",
                             "--concurrency=1", f"--visibility-timeout={VISIBILITY_S}", "--loglevel=INFO"],
                            cwd=ROOT, env=tool_env(env_for(root, url)), stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def grade_command(release_dir: Path, broker: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", LESSON, f"--broker={broker}",
            f"--release-dir={release_dir}", "--timeout=90", *extra]


def executing(process: subprocess.Popen) -> bool:
    """Whether the worker is running a kernel now: a warm kernel forked by its zygote (whose bwrap is below the
    worker from its start), or a cold kernel's sandbox."""
    for pid in sandbox.descendants(process.pid):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() in ("nnlab-init", "ipykernel") or \
                    b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGCONT)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def cell_scores(url: str) -> dict[str, dict[str, float]]:
    with Gradebook(url) as book:
        return {s.student.id: {g.name: g.score for g in s.notebooks[0].grades}
                for s in book.find_assignment(LESSON).submissions}


CLASS = {"ann": "model", "ben": "stub", "cat": "half"}
EXPECTED = {"ann": 10, "ben": 0, "cat": 4}


@pytest.fixture(scope="module")
def local_scores(servers, tmp_path_factory) -> dict:
    """The class graded by the pipeline alone into sqlite, as a single instructor grades: every cell's score."""
    local = tmp_path_factory.mktemp("local")
    local_release = make_class(local, db.sqlite_url(local), CLASS)
    done = run_tool("python", "-m", "autograder", "grade", LESSON, "--workers=2", "--timeout=90", "--no-feedback",
                    f"--release-dir={local_release}", env={"NNLAB_COURSE_DIR": str(local)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    scores = cell_scores(db.sqlite_url(local))
    assert {s: sum(v for v in cells.values() if v) for s, cells in scores.items()} == EXPECTED
    return scores


def ledger_of(url: str) -> dict:
    ledger = db.Ledger(url)
    entries = ledger.all(LESSON)
    ledger.close()
    return entries


def test_a_class_graded_into_postgresql_by_concurrent_recorders_matches_the_sqlite_run(servers, released, local_scores,
                                                                                       tmp_path):
    url, release_dir = pg_class(servers[0], tmp_path, "concurrent", released, CLASS)
    done = run_tool("python", "-m", "autograder", "grade", LESSON, "--processes=3", "--timeout=90",
                    f"--release-dir={release_dir}", env=env_for(tmp_path, url))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "in 3 processes recording at once" in done.stdout
    assert {s: e.recordings for s, e in ledger_of(url).items()} == {s: 1 for s in CLASS}
    assert cell_scores(url) == local_scores, "every test cell scores as in the sqlite run"


def test_a_class_graded_by_two_workers_one_killed_matches_the_local_run(servers, released, local_scores, tmp_path):
    pg, redis = servers
    expected = local_scores
    # the class through the queue, into PostgreSQL
    queued = tmp_path / "queued"
    url, release_dir = pg_class(pg, queued, "queued", released, CLASS)
    doomed = worker(queued, url, redis.url, tmp_path / "worker-a.log")
    survivor = worker(queued, url, redis.url, tmp_path / "worker-b.log")
    coordinator = subprocess.Popen(grade_command(release_dir, redis.url, "--stall=300"), cwd=ROOT,
                                   env=tool_env(env_for(queued, url)), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: executing(doomed), 120, "worker A executes a submission")
        os.killpg(doomed.pid, signal.SIGKILL)  # the whole worker, mid-task: a machine going down
        doomed.wait(30)
        output, _ = coordinator.communicate(timeout=420)
    finally:
        stop(doomed)
        stop(survivor)
        coordinator.kill() if coordinator.poll() is None else None
    assert coordinator.returncode == 0, output[-3000:] + (tmp_path / "worker-b.log").read_text()[-3000:]

    entries = ledger_of(url)
    assert {s: e.recordings for s, e in entries.items()} == {s: 1 for s in CLASS}, "each student recorded once"
    assert {s: e.result["score"] for s, e in entries.items()} == EXPECTED
    assert cell_scores(url) == expected, "every test cell scores as in the local run"
    results = {p.stem: json.loads(p.read_text()) for p in (queued / "pipeline" / "results" / LESSON).glob("*.json")}
    assert {s: r["score"] for s, r in results.items()} == EXPECTED
    assert all(e.result["worker"] for e in entries.values())
    assert "3 queued" in output and "[  3/3]" in output


def test_a_broker_or_a_database_that_does_not_answer_stops_the_run_before_anything_is_queued(servers, tmp_path):
    pg, redis = servers
    url = pg.create_database("unanswered")  # both are checked before the class is read: no class needed
    release_dir = tmp_path / "release"
    down = f"redis://:nothing@127.0.0.1:{free_port()}/0"
    result = subprocess.run(grade_command(release_dir, down), cwd=ROOT, env=tool_env(env_for(tmp_path, url)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "the broker redis://:***@127.0.0.1" in result.stderr and "Nothing was queued" in result.stderr
    refused = f"postgresql://grader:secret@127.0.0.1:{free_port()}/course"
    result = subprocess.run(grade_command(release_dir, redis.url), cwd=ROOT,
                            env=tool_env(env_for(tmp_path, refused)), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "does not answer" in result.stderr and "secret" not in result.stderr, result.stderr[-2000:]


def test_a_hung_worker_stalls_the_run_and_the_same_command_resumes_it_recording_nothing_twice(servers, released,
                                                                                             tmp_path):
    pg, redis = servers
    students = {"eve": "model"}  # one submission: the hung worker holds it
    url, release_dir = pg_class(pg, tmp_path, "hung", released, students)
    env = tool_env(env_for(tmp_path, url))
    hung = worker(tmp_path, url, redis.url, tmp_path / "worker-hung.log")
    coordinator = subprocess.Popen(grade_command(release_dir, redis.url, "--stall=8"), cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rescuer = None
    try:
        wait_until(lambda: executing(hung), 120, "the worker executes a submission")
        os.killpg(hung.pid, signal.SIGSTOP)  # hangs mid-task, its message unacknowledged
        _, stderr = coordinator.communicate(timeout=300)
        assert coordinator.returncode == 2
        assert "not graded" in stderr and "Are workers running" in stderr and "Run the same command again" in stderr

        rescuer = worker(tmp_path, url, redis.url, tmp_path / "worker-rescuer.log")
        resumed = subprocess.run(grade_command(release_dir, redis.url, f"--stall={VISIBILITY_S * 6}"), cwd=ROOT,
                                 env=env, capture_output=True, text=True, timeout=400)
        assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
        os.killpg(hung.pid, signal.SIGCONT)  # it wakes: its late delivery must change nothing
        time.sleep(5)
    finally:
        stop(hung)
        if rescuer is not None:
            stop(rescuer)
    entries = ledger_of(url)
    assert {s: e.recordings for s, e in entries.items()} == {s: 1 for s in students}
    assert {s: e.result["score"] for s, e in entries.items()} == {"eve": 10}
    assert len(cell_scores(url)) == 1
